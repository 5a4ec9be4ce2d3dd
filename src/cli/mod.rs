//! Command-line interface: one module per subcommand, each with its own `Args` and `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod inspect;

/// PhraseGen: generate musical phrases with a neural network, as MIDI files.
#[derive(Debug, Parser)]
#[command(name = "phrasegen", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check MIDI files and describe them: tempo, time signature, length, notes, channels.
    Inspect(inspect::Args),
}

/// Parses the command line and runs the subcommand; errors are printed, never panicked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
