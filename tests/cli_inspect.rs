//! `phrasegen inspect` over a folder: every file reported, bad ones don't stop the others.

mod common;

use std::process::Command;

use common::*;

fn good_file() -> Vec<u8> {
    let t = track(
        &[
            ev(0, &[0x90, 60, 100]),
            ev(0, &[0x90, 67, 100]),
            ev(96, &[0x80, 60, 0]),
        ]
        .concat(),
    );
    smf(0, 96, &[t])
}

#[test]
fn a_folder_with_good_and_bad_files_reports_each_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("a_good.mid"), good_file()).unwrap();
    std::fs::write(
        dir.path().join("b_bad.mid"),
        b"MThd\0\0\0\x06\0\x02\0\x01\0\x60",
    )
    .unwrap();
    std::fs::write(dir.path().join("sub/c_good.MIDI"), good_file()).unwrap();
    std::fs::write(dir.path().join("sub/d_empty.mid"), b"").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not midi, not looked at").unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .arg("inspect")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "must fail when a file is bad");
    assert!(
        stdout.contains("a_good.mid\n  format:          0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("c_good.MIDI\n  format:          0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("b_bad.mid\n  ERROR: the header is followed by no track chunk"),
        "{stdout}"
    );
    assert!(
        stdout.contains("d_empty.mid\n  ERROR: not a Standard MIDI File: the file is empty"),
        "{stdout}"
    );
    assert!(!stdout.contains("notes.txt"));
    assert!(stdout.contains("2 file(s) read, 2 failed"), "{stdout}");
    assert!(
        stdout.contains("pitch range:     C4..G4 (MIDI 60..67)"),
        "{stdout}"
    );
}

#[test]
fn good_files_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.mid");
    std::fs::write(&path, good_file()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .args(["inspect"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tracks:          1"), "{stdout}");
    assert!(
        stdout.contains("notes:           2 (1 never released)"),
        "{stdout}"
    );
}

/// The good file with a timing clock byte (`F8`) after its first note-on.
fn file_with_a_clock_byte() -> Vec<u8> {
    let t = track(
        &[
            ev(0, &[0x90, 60, 100]),
            ev(0, &[0xf8]),
            ev(0, &[0x90, 67, 100]),
            ev(96, &[0x80, 60, 0]),
        ]
        .concat(),
    );
    smf(0, 96, &[t])
}

fn inspect(args: &[&str], path: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .arg("inspect")
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn warnings_are_listed_under_the_summary_and_strict_turns_them_into_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clock.mid");
    std::fs::write(&path, file_with_a_clock_byte()).unwrap();

    let (ok, stdout) = inspect(&[], &path);
    assert!(ok, "a file read with warnings is read: {stdout}");
    assert!(
        stdout.contains(
            "channels:        1\n  WARNING: track 0, event 1, byte 26: system real-time message \
             0xF8 (timing clock) does not belong in a MIDI file; skipped (2 bytes)\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("notes:           2 (1 never released)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 file(s) read (1 with warnings), 0 failed"),
        "{stdout}"
    );

    let (ok, stdout) = inspect(&["--strict"], &path);
    assert!(!ok, "--strict fails on the fault: {stdout}");
    assert!(
        stdout.contains(
            "clock.mid\n  ERROR: track 0, event 1, byte 26: cannot decode event: system \
             real-time message 0xF8 (timing clock) does not belong in a MIDI file"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("0 file(s) read, 1 failed"), "{stdout}");
}
