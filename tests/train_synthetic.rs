//! The trainer learns: a repeated arpeggio is learned to a low loss and then played back,
//! and the metrics match hand computations.

mod common;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use candle_core::{Device, Tensor};
use indicatif::ProgressBar;
use phrasegen::family::{evaluate, generate, train_until};
use phrasegen::infer::FastLstm;
use phrasegen::meter::MeterMap;
use phrasegen::model::ModelConfig;
use phrasegen::phrase::{Note, Phrase, TimeSignature};
use phrasegen::roll::{PianoRoll, PitchRange, Representation};
use phrasegen::sample::GenerateParams;
use phrasegen::train::{TrainData, TrainOptions};

const ARPEGGIO: [u8; 4] = [60, 64, 67, 72];

/// `bars` bars of C E G C' sixteenths, over and over.
fn arpeggio_piece(bars: u32) -> PianoRoll {
    let mut p = Phrase::empty(bars, 4, TimeSignature::FOUR_FOUR, 120.0);
    for step in 0..p.total_steps() {
        p.notes.push(Note {
            start_step: step,
            pitch: ARPEGGIO[step as usize % 4],
            length_steps: 1,
            velocity: 100,
        });
    }
    PianoRoll::from_phrase(&p)
}

#[test]
fn a_repeated_arpeggio_is_learned_and_played_back() {
    let pieces: Vec<PianoRoll> = (0..8).map(|_| arpeggio_piece(4)).collect();
    let options = TrainOptions {
        model: ModelConfig {
            name: "arpeggio".into(),
            layers: 1,
            hidden: 32,
            representation: Representation::ActiveAndOnset,
            steps_per_quarter: 4,
            pitch_range: PitchRange { lo: 58, hi: 74 },
            architecture: Default::default(),
            training: None,
            key_normalised: false,
            cut_time_as_common: false,
            onset_age_beats: false,
        },
        epochs: 150,
        batch_size: 16,
        seq_len: 16,
        learning_rate: 1e-2,
        seed: 3,
        transpose_semitones: 0,
        threads: 2,
        ..TrainOptions::default()
    };
    let mut epochs_seen = 0;
    let meters = vec![MeterMap::constant(TimeSignature::FOUR_FOUR, 4); pieces.len()];
    let result = train_until(
        TrainData {
            train: &pieces,
            train_meters: &meters,
            valid: &pieces[..2],
            valid_meters: &meters[..2],
        },
        &options,
        &ProgressBar::hidden(),
        &AtomicBool::new(false),
        |_, _| {
            epochs_seen += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(epochs_seen, 150);
    let last = result.history.last().unwrap();
    // Random guessing over 34 outputs costs 34 ln 2 = 23.6 nats per step; the pattern is
    // fully predictable after its first note.
    assert!(
        last.valid_loss < 0.5,
        "held-out loss {:.3}",
        last.valid_loss
    );
    assert!(last.train_loss < 1.0, "train loss {:.3}", last.train_loss);

    let model = FastLstm::from_tensors(&result.config, &result.tensors).unwrap();
    let phrase = generate(
        &model,
        &GenerateParams {
            temperature: 0.3,
            bars: 2,
            seed: 1,
            ..GenerateParams::default()
        },
    )
    .unwrap();
    let pitches: Vec<u8> = phrase.notes.iter().map(|n| n.pitch).collect();
    let expected: Vec<u8> = (0..32).map(|i| ARPEGGIO[i % 4]).collect();
    assert_eq!(pitches, expected);
}

#[test]
fn nll_and_frame_accuracy_match_a_hand_computation() {
    // One hidden unit, all weights zero: the logits are the output biases, ln 3 and 0,
    // so pitch 60 has p = 0.75 and pitch 61 has p = 0.5 at every step.
    let cfg = ModelConfig {
        name: "hand".into(),
        layers: 1,
        hidden: 1,
        representation: Representation::ActiveOnly,
        steps_per_quarter: 1,
        pitch_range: PitchRange { lo: 60, hi: 61 },
        architecture: Default::default(),
        training: None,
        key_normalised: false,
        cut_time_as_common: false,
        onset_age_beats: false,
    };
    let zeros =
        |shape: &[usize]| Tensor::zeros(shape, candle_core::DType::F32, &Device::Cpu).unwrap();
    let mut tensors = HashMap::new();
    for (name, shape) in phrasegen::model::file::expected_shapes(&cfg) {
        tensors.insert(name, zeros(&shape));
    }
    let bias = Tensor::new(&[3f32.ln(), 0.0], &Device::Cpu).unwrap();
    tensors.insert("out.bias".into(), bias);
    let model = FastLstm::from_tensors(&cfg, &tensors).unwrap();

    // Frame 0: pitch 60 on; frame 1: silence.
    let mut roll = PianoRoll::new(2);
    roll.add_note(60, 0, 1);
    let m = evaluate(
        &model,
        &[roll],
        &[MeterMap::constant(TimeSignature::FOUR_FOUR, 4)],
    );
    let ln2 = 2f64.ln();
    let expected = ((-(0.75f64).ln() + ln2) + (-(0.25f64).ln() + ln2)) / 2.0;
    assert!(
        (m.nats_per_prediction() - expected).abs() < 1e-6,
        "{} vs {expected}",
        m.nats_per_prediction()
    );
    // Pitch 60 predicted on in both frames (p > 0.5), pitch 61 never: TP 1, FP 1, FN 0.
    assert!((m.frame_accuracy.unwrap() - 0.5).abs() < 1e-12);
    assert_eq!(m.predictions, 2);
}
