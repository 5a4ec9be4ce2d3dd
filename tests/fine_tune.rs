//! Fine-tuning (`phrasegen train --from`, the plugin's *Learn from folder…*): a model that
//! knows one style learns another from a small folder; what cannot be learned is refused
//! before any work. (Against training from scratch it is measured on real corpora:
//! `scripts/fine-tune-eval.sh`.)

mod common;

use std::process::Command;

use common::styles::{arpeggio_piece, melody_config, scale_piece, style_a_model, write_folder};
use indicatif::ProgressBar;
use phrasegen::family::evaluate;
use phrasegen::fine_tune::{FineTune, FineTuneError, Recipe};
use phrasegen::infer::FastLstm;
use phrasegen::model::read_model_file;
use phrasegen::phrase::{Note, Phrase, TimeSignature};

fn nll(model: &FastLstm, tune: &FineTune) -> f64 {
    evaluate(model, &tune.data.valid.rolls, &tune.data.valid.meters).nats_per_prediction()
}

#[test]
fn fine_tuning_on_a_small_folder_lowers_its_held_out_loss() {
    let dir = tempfile::tempdir().unwrap();
    let start_path = dir.path().join("scales.safetensors");
    style_a_model(&start_path);
    let folder = dir.path().join("my-clips");
    write_folder(&folder, 12, |i| arpeggio_piece(4, i));

    let start = read_model_file(&start_path).unwrap();
    let tune = FineTune::prepare(start, &folder, 1).unwrap();
    let report = &tune.report;
    assert_eq!(report.train_pieces + report.held_out_pieces, 12);
    assert!(
        report.held_out_pieces >= 2 && report.unfit.is_empty(),
        "{report:?}"
    );
    assert!(
        report.lines()[0].contains("seeded 80:20 split"),
        "the split is stated: {:?}",
        report.lines()
    );

    let recipe = Recipe {
        epochs: 8,
        threads: 2,
        ..Recipe::for_model(&tune.start.config)
    };
    let options = tune.options("mine", &recipe);
    let tuned = tune
        .train(&options, &ProgressBar::hidden(), &Default::default())
        .unwrap();
    let tuned = FastLstm::from_tensors(&options.model, &tuned.tensors).unwrap();
    let before = FastLstm::from_tensors(&tune.start.config, &tune.start.tensors).unwrap();

    let (b, t) = (nll(&before, &tune), nll(&tuned, &tune));
    assert!(
        t < 0.8 * b,
        "fine-tuned {t:.3} vs start {b:.3} nats per event"
    );
    assert_eq!(tuned.config.pitch_range, melody_config("x").pitch_range);
}

#[test]
fn too_few_notes_and_unfit_files_are_said_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let start_path = dir.path().join("scales.safetensors");
    style_a_model(&start_path);
    let start = || read_model_file(&start_path).unwrap();

    let tiny = dir.path().join("tiny");
    write_folder(&tiny, 3, |i| scale_piece(1, i));
    let err = FineTune::prepare(start(), &tiny, 1).err().expect("refused");
    assert!(
        matches!(err, FineTuneError::TooFewNotes { notes: 12, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("at least 100"), "{err}");

    let missing = dir.path().join("missing");
    let err = FineTune::prepare(start(), &missing, 1)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("does not exist"), "{err}");

    // Chords for a melody model, and a span no octave of its range holds: left out, named.
    let mixed = dir.path().join("mixed");
    write_folder(&mixed, 10, |i| scale_piece(4, i));
    let mut chords = Phrase::empty(2, 4, TimeSignature::FOUR_FOUR, 120.0);
    for (i, p) in [60u8, 64, 67].into_iter().enumerate() {
        chords.notes.push(Note {
            start_step: 0,
            pitch: p,
            length_steps: 32,
            velocity: 80,
        });
        chords.notes.push(Note {
            start_step: 16 + i as u32,
            pitch: p + 2,
            length_steps: 8,
            velocity: 80,
        });
    }
    phrasegen::midi::export::export_file(&chords, "chords", &mixed.join("chords.mid")).unwrap();
    let mut wide = scale_piece(2, 0);
    wide.notes.push(Note {
        start_step: 2,
        pitch: 30,
        length_steps: 2,
        velocity: 80,
    });
    wide.notes.push(Note {
        start_step: 6,
        pitch: 110,
        length_steps: 2,
        velocity: 80,
    });
    wide.notes.push(Note {
        start_step: 10,
        pitch: 105,
        length_steps: 2,
        velocity: 80,
    });
    phrasegen::midi::export::export_file(&wide, "wide", &mixed.join("wide.mid")).unwrap();
    let tune = FineTune::prepare(start(), &mixed, 1).unwrap();
    let unfit: Vec<String> = tune
        .report
        .unfit
        .iter()
        .map(|(p, why)| format!("{} {why}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    assert_eq!(unfit.len(), 2, "{unfit:?}");
    assert!(
        unfit
            .iter()
            .any(|u| u.starts_with("chords.mid") && u.contains("voice")),
        "{unfit:?}"
    );
    assert!(
        unfit
            .iter()
            .any(|u| u.starts_with("wide.mid") && u.contains("range")),
        "{unfit:?}"
    );
    assert_eq!(tune.report.train_pieces + tune.report.held_out_pieces, 10);
    let said = tune.report.lines().join("\n");
    assert!(
        said.contains("left out") && said.contains("chords.mid"),
        "{said}"
    );
}

#[test]
fn the_cli_fine_tunes_and_refuses_another_family_or_shape() {
    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("scales.safetensors");
    style_a_model(&start);
    let folder = dir.path().join("clips");
    write_folder(&folder, 10, |i| arpeggio_piece(4, i));
    let out = dir.path().join("mine");
    let phrasegen = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_phrasegen"))
            .args(args)
            .output()
            .unwrap()
    };
    let (start_s, folder_s, out_s) = (
        start.to_str().unwrap(),
        folder.to_str().unwrap(),
        out.to_str().unwrap(),
    );

    let refused = phrasegen(&[
        "train",
        "--from",
        start_s,
        "--architecture",
        "frame",
        "--data",
        folder_s,
        "--out",
        out_s,
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("`events` family") && stderr.contains("cannot start from it"),
        "{stderr}"
    );
    assert!(!dir.path().join("mine.safetensors").exists());

    let refused = phrasegen(&[
        "train",
        "--from",
        start_s,
        "--max-voices",
        "2",
        "--data",
        folder_s,
        "--out",
        out_s,
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot be used with"));

    let done = phrasegen(&[
        "train",
        "--from",
        start_s,
        "--epochs",
        "2",
        "--threads",
        "1",
        "--data",
        folder_s,
        "--out",
        out_s,
        "--name",
        "mine",
    ]);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(
        stderr.contains("to learn from") && stderr.contains("too small to judge"),
        "{stderr}"
    );
    let file = read_model_file(&dir.path().join("mine.safetensors")).unwrap();
    assert_eq!(file.config.name, "mine");
    assert_eq!(file.config.pitch_range, melody_config("x").pitch_range);
    let command = std::fs::read_to_string(dir.path().join("mine.command.txt")).unwrap();
    assert!(
        command.contains("--from") && command.contains("--learning-rate 0.0005"),
        "{command}"
    );
}
