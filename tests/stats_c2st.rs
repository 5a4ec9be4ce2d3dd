//! `phrasegen stats --c2st`: the classifier two-sample test at the command line: its tables
//! and JSON, the same figures for the same command, a clear refusal with too few phrases, and
//! the report unchanged without the flag.

use std::path::Path;
use std::process::Command;

use phrasegen::phrase::{Note, Phrase, TimeSignature};

fn note(start: u32, pitch: u8, len: u32) -> Note {
    Note {
        start_step: start,
        pitch,
        length_steps: len,
        velocity: 90,
    }
}

/// `test/` with six 4/4 pieces of 8 bars (a quarter-note line each, transposed), empty
/// `train/` and `valid/`: 24 segments of 2 bars.
fn fixture_folder(root: &Path) {
    for split in ["train", "valid", "test"] {
        std::fs::create_dir_all(root.join(split)).unwrap();
    }
    let line = [60u8, 62, 64, 65, 67, 65, 64, 62];
    for piece in 0..6u8 {
        let mut p = Phrase::empty(8, 4, TimeSignature::FOUR_FOUR, 120.0);
        p.notes = (0..32u32)
            .map(|i| note(i * 4, line[i as usize % 8] + piece, 4))
            .collect();
        let bytes = phrasegen::midi::export_bytes(&p, "fixture");
        std::fs::write(root.join("test").join(format!("piece{piece}.mid")), bytes).unwrap();
    }
}

fn phrasegen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .args(args)
        .output()
        .unwrap()
}

fn stats_args<'a>(data: &'a str, phrases: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "stats",
        "--model",
        "fiddle-tunes",
        "--data",
        data,
        "--phrases",
        phrases,
        "--bars",
        "2",
    ];
    args.extend(extra);
    args
}

#[test]
fn the_classifier_test_is_printed_the_same_twice_and_written_to_json() {
    let dir = tempfile::tempdir().unwrap();
    fixture_folder(dir.path());
    let data = dir.path().to_str().unwrap();
    let json = dir.path().join("stats.json");
    let json_arg = json.to_str().unwrap();
    let args = stats_args(data, "20", &["--c2st", "--folds", "4", "--json", json_arg]);
    let first = phrasegen(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(out.contains("test split: 6 files, 24 segments"), "{out}");
    for wanted in [
        "Can a classifier tell them apart? T=1.0 against real test: 20 of each",
        "4-fold cross-validation",
        "| logistic regression ",
        "| random forest ",
        "| chance ",
        "| statistic ",
    ] {
        assert!(out.contains(wanted), "{wanted}: {out}");
    }
    // A fiddle model's phrases against a plain quarter-note line: told apart.
    let accuracy = |name: &str| -> f64 {
        let row = out.lines().find(|l| l.starts_with(name)).unwrap();
        let cell = row.split('|').nth(2).unwrap().trim();
        cell.split('%').next().unwrap().parse().unwrap()
    };
    assert!(accuracy("| random forest ") >= 90.0, "{out}");
    assert_eq!(String::from_utf8_lossy(&phrasegen(&args).stdout), out);

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let c2st = &report["c2st"][0];
    assert_eq!(c2st["generated"], "T=1.0");
    assert_eq!(c2st["real"], "real test");
    assert_eq!(c2st["rows_per_class"], 20);
    assert_eq!(c2st["folds"], 4);
    assert_eq!(
        c2st["scores"][1]["fold_accuracies"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(c2st["separations"].as_array().unwrap().len(), 24);
}

#[test]
fn too_few_phrases_are_refused_clearly_and_without_the_flag_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    fixture_folder(dir.path());
    let data = dir.path().to_str().unwrap();
    let few = phrasegen(&stats_args(data, "6", &["--c2st"]));
    assert!(!few.status.success());
    let stderr = String::from_utf8_lossy(&few.stderr);
    assert!(
        stderr.contains("too few phrases for a 5-fold classifier test")
            && stderr.contains("at least 10"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let json = dir.path().join("plain.json");
    let plain = phrasegen(&stats_args(data, "6", &["--json", json.to_str().unwrap()]));
    assert!(plain.status.success());
    let out = String::from_utf8_lossy(&plain.stdout);
    assert!(!out.contains("classifier"), "{out}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(report.get("c2st").is_none());
    // --folds belongs to the test.
    let stray = phrasegen(&stats_args(data, "6", &["--folds", "3"]));
    assert!(!stray.status.success());
}
