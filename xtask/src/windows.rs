//! The Windows stage of `cargo xtask test`: builds the Windows bundles with the MinGW-w64
//! cross compiler and tests them under Wine, on the Linux machine CI runs on.
//!
//! 1. `cargo xtask bundle phrasegen --target x86_64-pc-windows-gnu`: the bundles users build
//!    with `--release`, here in the dev profile (already optimised) so the tests below reuse
//!    its build instead of compiling everything a second time (`PHRASEGEN_WINDOWS_RELEASE=1`
//!    builds and tests the release profile instead);
//! 2. `phrasegen.exe generate` against the Linux build, byte for byte, over seeds, both
//!    built-in models and the generation options (the README promises the same phrase on
//!    every platform);
//! 3. `cargo test --target x86_64-pc-windows-gnu` with Wine as the runner, the plugin-boundary
//!    host tests loading the bundled Windows `PhraseGen.clap`.
//!
//! Wine runs in a prefix of its own under `target/wine/`, so the user's `~/.wine` is left
//! alone, on an Xvfb display of its own (Wine needs an X server to create windows: the
//! plugin's drag test opens one). Debian's Wine 8 lacks `bcryptprimitives.dll`, whose `ProcessPrng` every Rust
//! program imports; a stand-in built from `tests/wine/bcryptprimitives.c` goes into that
//! prefix only, never into a bundle.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TARGET: &str = "x86_64-pc-windows-gnu";

/// Debian packages the Windows stage needs (the `wine` package provides the `wine` command
/// that starts 64-bit programs through `wine64`).
pub const PACKAGES: &[&str] = &["gcc-mingw-w64-x86-64", "wine", "wine64"];

/// The MinGW-w64 C compiler (for the `ProcessPrng` stand-in).
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// `phrasegen generate` settings whose output must be identical on Linux and Windows: seeds,
/// both built-in models, creativity, length, meter, grid, key and scale, range, voices,
/// velocity, tempo, variations and a primer.
#[rustfmt::skip]
const PARITY_CASES: &[&[&str]] = &[
    &["--seed", "1"],
    &["--seed", "2", "--model", "fiddle-tunes"],
    &["--seed", "3", "--model", "bach-chorales", "--temperature", "0.6", "--bars", "8", "--key", "G", "--scale", "major"],
    &["--seed", "4", "--model", "fiddle-tunes", "--temperature", "1.7", "--time-signature", "6/8", "--note-length", "1/8", "--tempo", "96.5"],
    &["--seed", "5", "--pitch-range", "48..72", "--max-polyphony", "2", "--velocity", "70", "--key", "Bb", "--scale", "dorian"],
    &["--seed", "6", "--model", "fiddle-tunes", "--bars", "2", "--time-signature", "3/4", "--scale", "pentatonic", "--key", "D", "--variations", "3"],
    &["--seed", "7", "--temperature", "0.8", "--bars", "8", "--key", "F#", "--scale", "minor"],
    &["--seed", "18446744073709551615", "--temperature", "2.5", "--scale", "blues", "--key", "A"],
];

/// Runs the whole Windows stage; `cargo_test_args` go to the Windows `cargo test`. Returns
/// every failure (a failed parity check does not stop the tests under Wine).
pub fn test(workspace: &Path, target_dir: &Path, cargo_test_args: &[String]) -> Vec<String> {
    let stage = Instant::now();
    let profile: &[&str] = if std::env::var_os("PHRASEGEN_WINDOWS_RELEASE").is_some() {
        &["--release"]
    } else {
        &[]
    };
    if let Err(e) = add_rust_target() {
        return vec![e];
    }
    let mut wine = match timed("Wine prefix", || Wine::prepare(workspace, target_dir)) {
        Ok(w) => w,
        Err(e) => return vec![e],
    };
    let mut failures = Vec::new();
    if let Err(e) = timed("Windows bundles", || bundle(workspace, profile)) {
        failures.push(e);
    } else {
        if let Err(e) = timed("Linux/Windows generate parity", || {
            check_generate_parity(workspace, target_dir, &wine)
        }) {
            failures.push(e);
        }
        let failed = timed("Windows cargo test under Wine", || {
            let args: Vec<String> = profile.iter().map(|s| s.to_string()).collect();
            let failed = windows_cargo_test(
                workspace,
                target_dir,
                &wine,
                &[&args, cargo_test_args].concat(),
            );
            if failed.is_empty() {
                Ok(())
            } else {
                Err(failed)
            }
        });
        failures.extend(failed.err().unwrap_or_default());
    }
    wine.stop();
    eprintln!(
        "xtask: Windows stage {} after {:.0} s",
        if failures.is_empty() {
            "passed"
        } else {
            "failed"
        },
        stage.elapsed().as_secs_f64()
    );
    failures
}

/// Runs `step`, printing how long it took (CI's time budget is watched per step).
fn timed<T, E>(name: &str, step: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    eprintln!("xtask: {name} ...");
    let start = Instant::now();
    let result = step();
    eprintln!(
        "xtask: {name} {} in {:.0} s",
        if result.is_ok() { "done" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    result
}

/// `rustup target add x86_64-pc-windows-gnu` unless the standard library for it is there.
fn add_rust_target() -> Result<(), String> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", TARGET])).map_err(|e| {
        format!("{e}\nthe Windows build needs the Rust target: rustup target add {TARGET}")
    })
}

/// `cargo xtask bundle phrasegen [--release] --target x86_64-pc-windows-gnu`, by running
/// this very xtask again.
fn bundle(workspace: &Path, profile: &[&str]) -> Result<(), String> {
    let xtask = std::env::current_exe().map_err(|e| format!("cannot find the xtask: {e}"))?;
    run(Command::new(xtask)
        .current_dir(workspace)
        .args(["bundle", "phrasegen", "--target", TARGET])
        .args(profile))
}

/// Generates every [`PARITY_CASES`] phrase with the Linux build and with the bundled
/// `phrasegen.exe` under Wine, and compares the files byte for byte.
fn check_generate_parity(workspace: &Path, target_dir: &Path, wine: &Wine) -> Result<(), String> {
    // The binary `cargo test` builds (the same features as the tests: nothing to rebuild
    // after the Linux suite ran).
    run(cargo()
        .current_dir(workspace)
        .args(["build", "--bins", "--tests"]))?;
    let linux_exe = target_dir.join("debug").join("phrasegen");
    let windows_exe = target_dir.join("bundled").join("phrasegen.exe");
    let dir = target_dir.join("windows-parity");
    let _ = std::fs::remove_dir_all(&dir);
    for side in ["linux", "windows"] {
        std::fs::create_dir_all(dir.join(side))
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // A primer made by one side and read by both: MIDI import must agree too.
    let primed = [
        "--seed",
        "8",
        "--bars",
        "2",
        "--model",
        "fiddle-tunes",
        "--primer",
        "linux/case-2.mid",
    ];
    let cases = PARITY_CASES
        .iter()
        .map(|c| c.to_vec())
        .chain([primed.to_vec()]);
    let log = dir.join("generate.log");
    let mut compared = 0;
    for (i, case) in cases.enumerate() {
        let name = format!("case-{}.mid", i + 1);
        let mut linux = Command::new(&linux_exe);
        linux
            .current_dir(&dir)
            .args(["generate", "-o", &format!("linux/{name}")])
            .args(&case);
        run_logged(&mut linux, &log)?;
        let mut windows = wine.command(&windows_exe);
        windows
            .current_dir(&dir)
            .args(["generate", "-o", &format!("windows/{name}")])
            .args(&case);
        run_logged(&mut windows, &log)?;
        let mut outputs: Vec<String> = std::fs::read_dir(dir.join("linux"))
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&format!("case-{}", i + 1)))
            .filter(|n| n == &name || n.starts_with(&format!("case-{}-", i + 1)))
            .collect();
        outputs.sort();
        if outputs.is_empty() {
            return Err(format!("the Linux build wrote no {name} for {case:?}"));
        }
        for file in outputs {
            let linux = std::fs::read(dir.join("linux").join(&file)).map_err(|e| e.to_string())?;
            let windows = std::fs::read(dir.join("windows").join(&file))
                .map_err(|e| format!("phrasegen.exe wrote no {file} for {case:?}: {e}"))?;
            if linux != windows {
                let at = linux
                    .iter()
                    .zip(&windows)
                    .take_while(|(a, b)| a == b)
                    .count();
                return Err(format!(
                    "`phrasegen generate {}` differs on Windows: {file} is {} bytes on Linux, \
                     {} on Windows, first difference at byte {at} (both in {})",
                    case.join(" "),
                    linux.len(),
                    windows.len(),
                    dir.display()
                ));
            }
            compared += 1;
        }
    }
    eprintln!("xtask: {compared} generated files are identical on Linux and Windows");
    Ok(())
}

/// `cargo test --target x86_64-pc-windows-gnu` with Wine as the runner and the bundled
/// `PhraseGen.clap` as the plugin the host tests load.
fn windows_cargo_test(
    workspace: &Path,
    target_dir: &Path,
    wine: &Wine,
    args: &[String],
) -> Vec<String> {
    let clap = target_dir.join("bundled").join("PhraseGen.clap");
    let mut command = cargo();
    command
        .current_dir(workspace)
        .args(["test", "--no-fail-fast", "--target", TARGET])
        .args(args)
        .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", "wine")
        .env("PHRASEGEN_CLAP", windows_path(&clap));
    wine.set_env(&mut command);
    crate::suite::run_tests(&mut command, &target_dir.join("xtask-test-windows.log"))
}

/// The `Z:` drive path Wine gives a Unix path (Wine maps `Z:` to `/`).
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// A Wine prefix of our own with the stand-in DLLs the tests need, its server and its X
/// display.
pub struct Wine {
    prefix: PathBuf,
    display: String,
    xvfb: Child,
}

impl Wine {
    /// Creates the prefix under `target/wine/` (once), installs the `ProcessPrng` stand-in
    /// when Wine has no `bcryptprimitives.dll`, and starts a persistent `wineserver` so the
    /// many short Wine runs do not each pay for its start.
    fn prepare(workspace: &Path, target_dir: &Path) -> Result<Self, String> {
        let (xvfb, display) = start_xvfb()?;
        let mut wine = Self {
            prefix: target_dir.join("wine").join("prefix"),
            display,
            xvfb,
        };
        if let Err(e) = wine.install(workspace, target_dir) {
            wine.stop();
            return Err(e);
        }
        Ok(wine)
    }

    fn install(&self, workspace: &Path, target_dir: &Path) -> Result<(), String> {
        let wine = self;
        let system32 = wine.prefix.join("drive_c/windows/system32");
        if !system32.is_dir() {
            std::fs::create_dir_all(&wine.prefix).map_err(|e| e.to_string())?;
            run(wine.command_named("wineboot").arg("--init"))?;
            run(wine.command_named("wineserver").arg("--wait"))?;
        }
        let installed = system32.join("bcryptprimitives.dll");
        let standin = target_dir.join("wine").join("bcryptprimitives.dll");
        if !installed.exists() || is_our_standin(&installed) {
            let source = workspace.join("tests/wine/bcryptprimitives.c");
            run(Command::new(MINGW_GCC)
                .args(["-shared", "-O2", "-s", "-o"])
                .arg(&standin)
                .arg(&source)
                .arg("-ladvapi32"))?;
            std::fs::copy(&standin, &installed)
                .map_err(|e| format!("cannot install {}: {e}", installed.display()))?;
        }
        // Fails harmlessly when a server already runs for the prefix.
        let _ = wine
            .command_named("wineserver")
            .arg("--persistent")
            .status();
        Ok(())
    }

    /// The environment every Wine program of the stage runs in.
    fn set_env(&self, command: &mut Command) {
        command
            .env("DISPLAY", &self.display)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
    }

    fn command_named(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        self.set_env(&mut command);
        command
    }

    /// `wine <exe>` in this prefix.
    fn command(&self, exe: &Path) -> Command {
        let mut command = self.command_named("wine");
        command.arg(exe);
        command
    }

    /// Stops the prefix's `wineserver`, every Wine process still running in it, and Xvfb.
    fn stop(&mut self) {
        let _ = self.command_named("wineserver").arg("--kill").status();
        // SIGTERM, so Xvfb removes its socket and lock file.
        let _ = Command::new("kill")
            .arg(self.xvfb.id().to_string())
            .status();
        let _ = self.xvfb.wait();
    }
}

/// Starts Xvfb on the first free display from :70 and waits for its socket.
fn start_xvfb() -> Result<(Child, String), String> {
    let free = (70..90).find(|n| {
        !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
    });
    let n = free.ok_or("no free X display between :70 and :89 for Xvfb")?;
    let display = format!(":{n}");
    let mut child = Command::new("Xvfb")
        .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start Xvfb (apt-get install xvfb): {e}"))?;
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    // Generous for a busy machine; the wait ends as soon as the socket appears.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !socket.exists() {
        if Instant::now() > deadline || child.try_wait().is_ok_and(|s| s.is_some()) {
            let _ = child.kill();
            return Err(format!("Xvfb did not start on {display}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((child, display))
}

/// Whether a `bcryptprimitives.dll` in the prefix is the stand-in (reinstalled each time, as
/// its source may change) rather than Wine's own (which carries Wine's builtin mark).
fn is_our_standin(dll: &Path) -> bool {
    const WINE_MARK: &[u8] = b"Wine builtin DLL";
    std::fs::read(dll).is_ok_and(|bytes| !bytes.windows(WINE_MARK.len()).any(|w| w == WINE_MARK))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs a command to completion; a failure names the command.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{shown} failed ({status})")),
        Err(e) => Err(format!("cannot run {shown}: {e}")),
    }
}

/// Runs a command to completion with its output in `log`, shown only when it fails. (A file,
/// not a pipe: Wine's background processes would hold a pipe open.)
fn run_logged(command: &mut Command, log: &Path) -> Result<(), String> {
    let shown = format!("{command:?}");
    let file =
        std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let status = command.stdout(file).stderr(err).status();
    let output = || std::fs::read_to_string(log).unwrap_or_default();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{shown} failed ({status}):\n{}", output())),
        Err(e) => Err(format!("cannot run {shown}: {e}")),
    }
}
