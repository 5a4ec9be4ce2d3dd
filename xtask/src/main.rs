//! Project tasks that need more than cargo:
//! - `cargo xtask bundle phrasegen --release [--target x86_64-pc-windows-gnu]` builds the
//!   CLAP and VST3 bundles and the command-line tool into `target/bundled/`;
//! - `cargo xtask run <phrasegen arguments>` and `cargo xtask test [cargo test arguments]`
//!   first install the system libraries the build needs (the plugin window links X11 and
//!   OpenGL, the loss plots FreeType and Fontconfig) and Xvfb for the window tests, so a
//!   fresh machine with only Rust passes the README's two commands;
//! - `cargo xtask test` runs `cargo test --no-fail-fast`; with no arguments (CI) it then runs
//!   the Windows stage ([`windows`]) whether or not a Linux test failed: the Windows bundles,
//!   built with MinGW-w64 and tested under Wine; at the end it lists every failure.
//!   `cargo xtask test-windows [cargo test arguments]` runs that stage alone;
//!   `PHRASEGEN_SKIP_WINDOWS=1` skips it. `--under-load` runs two busy threads beside the
//!   suite (the tests must hold on a busy machine).

mod suite;
mod windows;

use std::path::{Path, PathBuf};
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
    let with_windows = |also: bool| {
        let mut all = PACKAGES.to_vec();
        if also {
            all.extend_from_slice(windows::PACKAGES);
        }
        all
    };
    match args.first().map(String::as_str) {
        Some("test") => {
            let under_load = args.iter().any(|a| a == "--under-load");
            let cargo_args: Vec<String> = args[1..]
                .iter()
                .filter(|a| *a != "--under-load")
                .cloned()
                .collect();
            // Cross-building and Wine need Linux; a focused run (with arguments) skips it.
            let windows_too = cfg!(target_os = "linux")
                && cargo_args.is_empty()
                && std::env::var_os("PHRASEGEN_SKIP_WINDOWS").is_none();
            with_system_packages(&with_windows(windows_too), || {
                let _load = under_load.then(|| {
                    eprintln!("xtask: two busy threads compete with the tests (--under-load)");
                    suite::Load::start(2)
                });
                test_everything(&cargo_args, windows_too)
            })
        }
        Some("test-windows") => {
            with_system_packages(&with_windows(true), || windows_stage(&args[1..]))
        }
        Some("run") => {
            with_system_packages(PACKAGES, || cargo(&["run", "--release", "--"], &args[1..]))
        }
        Some("setup") => with_system_packages(&with_windows(true), || ExitCode::SUCCESS),
        _ => match nice_plug_xtask::main()
            .map_err(|e| e.to_string())
            .and_then(|()| name_windows_tool(&args))
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The workspace root (this crate's parent directory).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` or `target/` in the workspace.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace().join(dir),
        None => workspace().join("target"),
    }
}

fn windows_stage(cargo_test_args: &[String]) -> ExitCode {
    report(&windows::test(&workspace(), &target_dir(), cargo_test_args))
}

/// The Linux suite with `--no-fail-fast`, then (even when it failed) the Windows stage, then
/// one summary of every failure: one flaky test never hides the rest.
fn test_everything(cargo_args: &[String], windows_too: bool) -> ExitCode {
    let log = target_dir().join("xtask-test-linux.log");
    let _ = std::fs::create_dir_all(target_dir());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut failures: Vec<String> = suite::run_tests(
        Command::new(cargo)
            .current_dir(workspace())
            .args(["test", "--no-fail-fast"])
            .args(cargo_args),
        &log,
    )
    .into_iter()
    .map(|f| format!("Linux: {f}"))
    .collect();
    if cargo_args.is_empty() {
        // This tool's own tests (how failures are read back from a log).
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        failures.extend(
            suite::run_tests(
                Command::new(cargo)
                    .current_dir(workspace())
                    .args(["test", "-p", "xtask"]),
                &target_dir().join("xtask-test-xtask.log"),
            )
            .into_iter()
            .map(|f| format!("xtask: {f}")),
        );
    }
    if windows_too {
        failures.extend(
            windows::test(&workspace(), &target_dir(), &[])
                .into_iter()
                .map(|f| format!("Windows: {f}")),
        );
    }
    report(&failures)
}

/// Prints every failure (or that all passed) and gives the exit code.
fn report(failures: &[String]) -> ExitCode {
    if failures.is_empty() {
        eprintln!("xtask: all tests passed");
        return ExitCode::SUCCESS;
    }
    eprintln!("\nxtask: {} failure(s):", failures.len());
    for f in failures {
        eprintln!("  - {f}");
    }
    eprintln!("(PHRASEGEN_SKIP_WINDOWS=1 skips the Windows stage)");
    ExitCode::FAILURE
}

/// After a Windows bundle: nice-plug names the command-line tool after the bundle
/// (`PhraseGen.exe`); it is `phrasegen.exe`, as the README and `--help` call it.
fn name_windows_tool(args: &[String]) -> Result<(), String> {
    let windows = args
        .windows(2)
        .any(|w| w[0] == "--target" && w[1].contains("-windows-"))
        || args
            .iter()
            .any(|a| a.starts_with("--target=") && a.contains("-windows-"));
    if args.first().map(String::as_str) != Some("bundle") || !windows {
        return Ok(());
    }
    let bundled = target_dir().join("bundled");
    let (from, to) = (bundled.join("PhraseGen.exe"), bundled.join("phrasegen.exe"));
    if !from.exists() {
        return Ok(());
    }
    std::fs::rename(&from, &to)
        .map_err(|e| format!("cannot rename {} to {}: {e}", from.display(), to.display()))?;
    eprintln!("Renamed the command-line tool to '{}'", to.display());
    Ok(())
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
fn with_system_packages(packages: &[&str], then: impl FnOnce() -> ExitCode) -> ExitCode {
    if !cfg!(target_os = "linux") || !succeeds("dpkg", &["--version"]) {
        if cfg!(target_os = "linux") {
            eprintln!(
                "note: not a Debian/Ubuntu system; make sure the equivalents of these are \
                 installed: {}",
                packages.join(" ")
            );
        }
        return then();
    }
    let missing: Vec<&str> = packages
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
