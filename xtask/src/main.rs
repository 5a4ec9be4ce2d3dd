//! Project tasks that need more than cargo:
//! - `cargo xtask bundle phrasegen --release` builds the CLAP and VST3 bundles;
//! - `cargo xtask run <phrasegen arguments>` and `cargo xtask test [cargo test arguments]`
//!   first install the system libraries the build needs (the plugin window links X11 and
//!   OpenGL, the loss plots FreeType and Fontconfig) and Xvfb for the window tests, so a
//!   fresh machine with only Rust passes the README's two commands.

use std::process::{Command, ExitCode};

/// Debian/Ubuntu packages the build and the tests need.
const PACKAGES: &[&str] = &[
    "pkg-config",
    "libx11-dev",
    "libx11-xcb-dev",
    "libxcb1-dev",
    "libxcb-dri2-0-dev",
    "libxcb-icccm4-dev",
    "libxcursor-dev",
    "libgl-dev",
    "libgl1-mesa-dev",
    "libgl1-mesa-dri",
    "libfontconfig1-dev",
    "libfreetype-dev",
    "xvfb",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => with_system_packages(|| cargo(&["test"], &args[1..])),
        Some("run") => with_system_packages(|| cargo(&["run", "--release", "--"], &args[1..])),
        Some("setup") => with_system_packages(|| ExitCode::SUCCESS),
        _ => match nice_plug_xtask::main() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Runs `cargo <fixed> <rest>` and passes its exit code on.
fn cargo(fixed: &[&str], rest: &[String]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    match Command::new(cargo).args(fixed).args(rest).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8),
        Err(e) => {
            eprintln!("error: could not run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the missing system packages (on Debian and Ubuntu, as root or through
/// password-less sudo), then runs `then`. Elsewhere it says what is needed and goes on.
fn with_system_packages(then: impl FnOnce() -> ExitCode) -> ExitCode {
    if !cfg!(target_os = "linux") || !succeeds("dpkg", &["--version"]) {
        if cfg!(target_os = "linux") {
            eprintln!(
                "note: not a Debian/Ubuntu system; make sure the equivalents of these are \
                 installed: {}",
                PACKAGES.join(" ")
            );
        }
        return then();
    }
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| !succeeds("dpkg", &["-s", p]))
        .collect();
    if missing.is_empty() {
        return then();
    }
    eprintln!("installing system packages: {}", missing.join(" "));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let sudo: &[&str] = if root { &[] } else { &["sudo", "-n"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        Command::new(all[0])
            .args(&all[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let mut install = vec!["install", "-y", "-qq"];
    install.extend_from_slice(&missing);
    if apt(&["update", "-qq"]) && apt(&install) {
        return then();
    }
    eprintln!(
        "error: could not install the system packages; as root, run:\n  apt-get install {}",
        missing.join(" ")
    );
    ExitCode::FAILURE
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
