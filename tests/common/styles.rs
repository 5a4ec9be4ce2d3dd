//! Two made-up melodic styles as MIDI folders, and a small melody model that knows the
//! first: material for fine-tuning tests (`fine_tune.rs`, `plugin_learn.rs`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use phrasegen::meter::MeterMap;
use phrasegen::model::{Architecture, ModelConfig};
use phrasegen::phrase::{Note, Phrase, TimeSignature};
use phrasegen::roll::{PianoRoll, PitchRange, Representation};
use phrasegen::train::{TrainData, TrainOptions};

/// A small melody model's shape (one voice, two octaves from C4).
pub fn melody_config(name: &str) -> ModelConfig {
    ModelConfig {
        name: name.into(),
        layers: 1,
        hidden: 32,
        representation: Representation::ActiveAndOnset,
        steps_per_quarter: 4,
        pitch_range: PitchRange { lo: 60, hi: 84 },
        architecture: Architecture::Events { max_voices: 1 },
        training: None,
        key_normalised: false,
        cut_time_as_common: false,
        onset_age_beats: false,
    }
}

/// Style A: stepwise quarter notes up and down a C major scale, `bars` bars from `offset`.
pub fn scale_piece(bars: u32, offset: usize) -> Phrase {
    const SCALE: [u8; 8] = [60, 62, 64, 65, 67, 69, 71, 72];
    let mut p = Phrase::empty(bars, 4, TimeSignature::FOUR_FOUR, 120.0);
    for (i, start) in (0..p.total_steps()).step_by(4).enumerate() {
        let k = (i + offset) % 14;
        let degree = if k < 8 { k } else { 14 - k };
        p.notes.push(Note {
            start_step: start,
            pitch: SCALE[degree],
            length_steps: 4,
            velocity: 90,
        });
    }
    p
}

/// Style B: leaping eighth-note arpeggios (dotted rhythm: long, short) over G major and
/// D minor chords, `bars` bars, beginning on chord `offset`.
pub fn arpeggio_piece(bars: u32, offset: usize) -> Phrase {
    const CHORDS: [[u8; 3]; 2] = [[67, 71, 74], [62, 65, 69]];
    let mut p = Phrase::empty(bars, 4, TimeSignature::FOUR_FOUR, 120.0);
    for bar in 0..bars {
        let chord = CHORDS[(bar as usize + offset) % 2];
        for (i, start) in (0..16).step_by(2).enumerate() {
            p.notes.push(Note {
                start_step: bar * 16 + start,
                pitch: chord[i % 3] + if i >= 6 { 12 } else { 0 },
                length_steps: 2,
                velocity: 90,
            });
        }
    }
    p
}

/// Writes `count` pieces made by `piece(i)` into `dir` as MIDI files; returns the paths.
pub fn write_folder(dir: &Path, count: usize, piece: impl Fn(usize) -> Phrase) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..count)
        .map(|i| {
            let path = dir.join(format!("clip-{i:02}.mid"));
            phrasegen::midi::export::export_file(&piece(i), "clip", &path).unwrap();
            path
        })
        .collect()
}

/// A small melody model trained on style A, written to `path` (the start of fine-tuning).
pub fn style_a_model(path: &Path) {
    let cfg = melody_config("scales");
    let pieces: Vec<PianoRoll> = (0..8)
        .map(|i| PianoRoll::from_phrase(&scale_piece(4, i)))
        .collect();
    let meters = vec![MeterMap::constant(TimeSignature::FOUR_FOUR, 4); pieces.len()];
    let options = TrainOptions {
        model: cfg.clone(),
        epochs: 20,
        batch_size: 8,
        seq_len: 32,
        learning_rate: 1e-2,
        seed: 1,
        threads: 2,
        // As the shipped models are trained (fine-tuning keeps some dropout).
        dropout: 0.2,
        ..TrainOptions::default()
    };
    let data = TrainData {
        train: &pieces,
        train_meters: &meters,
        valid: &pieces,
        valid_meters: &meters,
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let result = phrasegen::family::train_until(
        data,
        &options,
        &ProgressBar::hidden(),
        &stop,
        |_, _| Ok(()),
    )
    .unwrap();
    phrasegen::model::write_model_file(path, &cfg, &result.tensors).unwrap();
}
