//! Model v2 trained on toy music by the real trainer, then sampled: it learns the metre it
//! was shown, a melody model stays one line, and a low temperature plays, not rests.

use std::sync::atomic::AtomicBool;

use phrasegen::family::generate_variations;
use phrasegen::family::train_until;
use phrasegen::infer::FastLstm;
use phrasegen::meter::MeterMap;
use phrasegen::model::{Architecture, ModelConfig};
use phrasegen::phrase::{Phrase, TimeSignature};
use phrasegen::roll::{PianoRoll, PitchRange, Representation};
use phrasegen::sample::GenerateParams;
use phrasegen::train::TrainData;
use phrasegen::train::TrainOptions;
use rand::{Rng, SeedableRng};

const WALTZ: TimeSignature = TimeSignature {
    numerator: 3,
    denominator: 4,
};

fn config(max_voices: u8) -> ModelConfig {
    ModelConfig {
        name: "toy".into(),
        layers: 1,
        hidden: 32,
        representation: Representation::ActiveAndOnset,
        steps_per_quarter: 4,
        pitch_range: PitchRange { lo: 55, hi: 79 },
        architecture: Architecture::Events { max_voices },
        training: None,
        key_normalised: false,
        cut_time_as_common: false,
        onset_age_beats: false,
    }
}

/// Waltz accompaniment on a sixteenth grid: a bass note on each downbeat, a two-note chord
/// on beats two and three, pitches drawn from a few chords so the model cannot memorise one
/// bar; nothing ever starts between beats.
fn waltz(bars: usize, rng: &mut impl Rng) -> PianoRoll {
    let chords: [[u8; 3]; 4] = [[60, 64, 67], [57, 60, 64], [62, 65, 69], [55, 59, 62]];
    let mut roll = PianoRoll::new(bars * 12);
    for bar in 0..bars {
        let [root, third, fifth] = chords[rng.random_range(0..chords.len())];
        let at = bar * 12;
        roll.add_note(root, at, 4);
        for beat in [1, 2] {
            roll.add_note(third + 12, at + 4 * beat, 3);
            roll.add_note(fifth + 12, at + 4 * beat, 3);
        }
    }
    roll
}

/// A melody in crotchets and quavers, with a few two-note moments the melody model must
/// reduce to its top line.
fn tune(bars: usize, rng: &mut impl Rng) -> PianoRoll {
    let mut roll = PianoRoll::new(bars * 16);
    let mut pitch = 67i32;
    let mut t = 0;
    while t < roll.len() {
        let len = if rng.random_bool(0.5) { 2 } else { 4 };
        pitch = (pitch + rng.random_range(-2..=2)).clamp(60, 76);
        roll.add_note(pitch as u8, t, len);
        if rng.random_bool(0.1) {
            roll.add_note((pitch - 4) as u8, t, len);
        }
        t += len;
    }
    roll
}

fn train(cfg: ModelConfig, pieces: Vec<PianoRoll>, meter: TimeSignature) -> FastLstm {
    let meters = vec![MeterMap::constant(meter, cfg.steps_per_quarter); pieces.len()];
    let options = TrainOptions {
        model: cfg.clone(),
        epochs: 25,
        batch_size: 8,
        seq_len: 48,
        learning_rate: 1e-2,
        seed: 2,
        threads: 2,
        dropout: 0.0,
        weight_decay: 0.0,
        patience: 0,
        ..TrainOptions::default()
    };
    let result = train_until(
        TrainData {
            train: &pieces,
            train_meters: &meters,
            valid: &pieces[..2],
            valid_meters: &meters[..2],
        },
        &options,
        &indicatif::ProgressBar::hidden(),
        &AtomicBool::new(false),
        |_, _| Ok(()),
    )
    .unwrap();
    FastLstm::from_tensors(&result.config, &result.tensors).unwrap()
}

fn sample(model: &FastLstm, meter: TimeSignature, temperature: f32) -> Vec<Phrase> {
    let params = GenerateParams {
        bars: 8,
        time_signature: meter,
        temperature,
        max_polyphony: 4,
        seed: 11,
        ..GenerateParams::default()
    };
    generate_variations(model, &params, 16).unwrap()
}

#[test]
fn a_model_trained_on_a_waltz_puts_its_onsets_on_the_beats_of_3_4() {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let pieces: Vec<PianoRoll> = (0..12).map(|_| waltz(16, &mut rng)).collect();
    let model = train(config(4), pieces, WALTZ);
    for temperature in [1.0, 0.1] {
        let phrases = sample(&model, WALTZ, temperature);
        let onsets: Vec<u32> = phrases
            .iter()
            .flat_map(|p| p.notes.iter().map(|n| n.start_step))
            .collect();
        let on_beat = onsets.iter().filter(|&&s| s % 4 == 0).count();
        let share = on_beat as f64 / onsets.len() as f64;
        assert!(
            share >= 0.9,
            "T={temperature}: {share:.2} of onsets on the beat"
        );
        // And it plays the waltz's downbeat bass: a note starts on most bar lines.
        let downbeats = phrases
            .iter()
            .flat_map(|p| (0..8u32).map(move |bar| (p, bar)))
            .filter(|(p, bar)| p.notes.iter().any(|n| n.start_step == bar * 12))
            .count();
        assert!(
            downbeats >= 16 * 8 * 8 / 10,
            "T={temperature}: {downbeats} of 128 bars"
        );
    }
}

#[test]
fn a_melody_model_plays_one_line_and_a_low_temperature_is_not_silent() {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2);
    let pieces: Vec<PianoRoll> = (0..12).map(|_| tune(16, &mut rng)).collect();
    let model = train(config(1), pieces, TimeSignature::FOUR_FOUR);
    for temperature in [0.05, 0.1, 0.3, 1.0, 3.0] {
        for phrase in sample(&model, TimeSignature::FOUR_FOUR, temperature) {
            let roll = PianoRoll::from_phrase(&phrase);
            assert!(
                roll.active.iter().all(|f| f.count_ones() <= 1),
                "T={temperature}"
            );
            assert!(
                phrase.notes.len() >= 8,
                "T={temperature}: {} notes",
                phrase.notes.len()
            );
            // The toy tune never rests: a model that learned it barely does, up to T = 1.
            let silent = roll.active.iter().filter(|f| **f == 0).count();
            if temperature <= 1.0 {
                assert!(
                    silent * 10 <= roll.len(),
                    "T={temperature}: {silent} silent steps"
                );
            }
        }
    }
}
