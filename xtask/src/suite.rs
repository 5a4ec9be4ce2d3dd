//! Running a `cargo test` so that one failure never hides the others: `--no-fail-fast`, the
//! output shown as it comes and kept in a log, and every failing test (with its test binary)
//! read back from that log for the summary at the end of `cargo xtask test`.
//!
//! Also the load for `cargo xtask test --under-load`: busy threads beside the suite, the way a
//! user's DAW or a CI neighbour competes for the cores.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs `command` (a `cargo test ...`) with its output in `log` and on our stdout as it
/// arrives. (A file, not a pipe: Wine's background processes would hold a pipe open.)
/// Returns the failures, one line each, or nothing when it passed.
pub fn run_tests(command: &mut Command, log: &Path) -> Vec<String> {
    let shown = format!("{command:?}");
    let file = match std::fs::File::create(log) {
        Ok(f) => f,
        Err(e) => return vec![format!("cannot create {}: {e}", log.display())],
    };
    let err = match file.try_clone() {
        Ok(f) => f,
        Err(e) => return vec![format!("cannot share {}: {e}", log.display())],
    };
    let done = Arc::new(AtomicBool::new(false));
    let tail = {
        let (log, done) = (log.to_path_buf(), done.clone());
        std::thread::spawn(move || follow(&log, &done))
    };
    let status = command.stdout(file).stderr(err).status();
    done.store(true, Ordering::Release);
    let _ = tail.join();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut failures = failures_in(&text);
    match status {
        Ok(s) if s.success() => Vec::new(),
        Ok(s) => {
            if failures.is_empty() {
                failures.push(format!("{shown} failed ({s}); see {}", log.display()));
            }
            failures
        }
        Err(e) => vec![format!("cannot run {shown}: {e}")],
    }
}

/// Copies what is appended to `log` to stdout until `done` and the end is reached.
fn follow(log: &Path, done: &AtomicBool) {
    let Ok(mut file) = std::fs::File::open(log) else {
        return;
    };
    let mut at = 0;
    let mut buf = vec![0; 1 << 16];
    loop {
        let finished = done.load(Ordering::Acquire);
        let _ = file.seek(SeekFrom::Start(at));
        let n = file.read(&mut buf).unwrap_or(0);
        if n > 0 {
            at += n as u64;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&buf[..n]);
            let _ = out.flush();
            continue;
        }
        if finished {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The failing tests in a `cargo test` log, each named with its test binary, and what did
/// not compile.
pub fn failures_in(log: &str) -> Vec<String> {
    let mut binary = String::from("?");
    let mut out = Vec::new();
    for line in log.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            // "Running tests/foo.rs (target/debug/deps/foo-123)" or "Running unittests src/lib.rs (...)"
            binary = rest.split(" (").next().unwrap_or(rest).to_string();
        } else if let Some(rest) = trimmed.strip_prefix("Doc-tests ") {
            binary = format!("doc-tests {rest}");
        } else if let Some(name) = trimmed
            .strip_prefix("test ")
            .and_then(|t| t.strip_suffix(" ... FAILED"))
        {
            out.push(format!("{binary}: {name}"));
        } else if trimmed.starts_with("error: could not compile")
            || trimmed.starts_with("error: test failed")
                && !out.iter().any(|o| o.starts_with(&binary))
        {
            out.push(format!("{binary}: {trimmed}"));
        }
    }
    out
}

/// Busy threads that compete with the test suite for the cores until dropped.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    pub fn start(threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|i| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = i as u64 + 1;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..100_000 {
                            x = std::hint::black_box(
                                x.wrapping_mul(6364136223846793005).wrapping_add(1),
                            );
                        }
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::failures_in;

    #[test]
    fn failures_are_named_with_their_binary() {
        let log = "\
     Running tests/plugin_realtime.rs (target/debug/deps/plugin_realtime-1)
test process_never_allocates ... FAILED
error: test failed, to rerun pass `--test plugin_realtime`
     Running tests/stats.rs (target/debug/deps/stats-2)
test a ... ok
   Doc-tests phrasegen
test src/lib.rs - x (line 3) ... FAILED
";
        assert_eq!(
            failures_in(log),
            [
                "tests/plugin_realtime.rs: process_never_allocates",
                "doc-tests phrasegen: src/lib.rs - x (line 3)"
            ]
        );
    }

    #[test]
    fn a_binary_that_failed_without_a_failing_test_is_named() {
        let log = "\
     Running tests/crash.rs (target/debug/deps/crash-1)
error: test failed, to rerun pass `--test crash`
error: could not compile `phrasegen` (lib) due to 1 previous error
";
        assert_eq!(
            failures_in(log),
            [
                "tests/crash.rs: error: test failed, to rerun pass `--test crash`",
                "tests/crash.rs: error: could not compile `phrasegen` (lib) due to 1 previous error"
            ]
        );
    }
}
