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
