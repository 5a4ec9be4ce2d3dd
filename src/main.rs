//! The `phrasegen` command: the same core as the plugin, driven from a shell.
fn main() -> std::process::ExitCode {
    phrasegen::cli::main()
}
