//! The sampler: reproducible, temperature-sensitive, and every constraint always holds.

mod common;

use common::models::busy_model;
use phrasegen::family::{generate, generate_variations};
use phrasegen::phrase::{Note, Phrase};
use phrasegen::roll::{PianoRoll, Representation};
use phrasegen::sample::{GenerateError, GenerateParams};
use phrasegen::scale::{Scale, ScaleKind};
use proptest::prelude::*;

fn params(seed: u64) -> GenerateParams {
    GenerateParams {
        seed,
        bars: 2,
        max_polyphony: 6,
        ..GenerateParams::default()
    }
}

#[test]
fn a_fixed_seed_gives_the_same_phrase_and_other_seeds_differ() {
    let model = busy_model(Representation::ActiveAndOnset, 1);
    let a = generate(&model, &params(42)).unwrap();
    let b = generate(&model, &params(42)).unwrap();
    assert_eq!(a, b);
    assert!(!a.notes.is_empty());
    assert_ne!(a, generate(&model, &params(43)).unwrap());
}

#[test]
fn variations_equal_single_runs_with_consecutive_seeds() {
    let model = busy_model(Representation::ActiveAndOnset, 2);
    let batch = generate_variations(&model, &params(10), 4).unwrap();
    for (i, phrase) in batch.iter().enumerate() {
        assert_eq!(
            phrase,
            &generate(&model, &params(10 + i as u64)).unwrap(),
            "variation {i}"
        );
    }
}

/// Mean entropy (bits) per pitch and step of what was sampled, estimated across many
/// variations: how unpredictable each note decision is.
fn note_entropy(model: &phrasegen::infer::FastLstm, temperature: f32) -> f64 {
    let p = GenerateParams {
        temperature,
        ..params(5)
    };
    let phrases = generate_variations(model, &p, 64).unwrap();
    let rolls: Vec<PianoRoll> = phrases.iter().map(PianoRoll::from_phrase).collect();
    let steps = rolls[0].len();
    let n = rolls.len() as f64;
    let h = |q: f64| {
        if q <= 0.0 || q >= 1.0 {
            0.0
        } else {
            -(q * q.log2() + (1.0 - q) * (1.0 - q).log2())
        }
    };
    let mut total = 0.0;
    for t in 0..steps {
        for pitch in 0..128 {
            let on = rolls
                .iter()
                .filter(|r| r.active[t] >> pitch & 1 == 1)
                .count() as f64;
            total += h(on / n);
        }
    }
    total / steps as f64
}

#[test]
fn lower_temperature_gives_lower_entropy() {
    let model = busy_model(Representation::ActiveAndOnset, 3);
    let cold = note_entropy(&model, 0.2);
    let warm = note_entropy(&model, 1.0);
    let hot = note_entropy(&model, 2.5);
    assert!(cold + 0.5 < warm, "cold {cold:.3} vs warm {warm:.3}");
    assert!(warm < hot, "warm {warm:.3} vs hot {hot:.3}");
}

#[test]
fn pitch_range_polyphony_and_note_length_hold() {
    let model = busy_model(Representation::ActiveAndOnset, 4);
    for seed in 0..20 {
        let p = GenerateParams {
            pitch_lo: 55,
            pitch_hi: 72,
            max_polyphony: 2,
            min_note_steps: 3,
            ..params(seed)
        };
        let phrase = generate(&model, &p).unwrap();
        let roll = PianoRoll::from_phrase(&phrase);
        for n in &phrase.notes {
            assert!((55..=72).contains(&n.pitch), "{n:?}");
            assert!(n.length_steps >= 3, "{n:?}");
            assert!(n.end_step() <= phrase.total_steps());
        }
        assert!(roll.active.iter().all(|f| f.count_ones() <= 2));
    }
}

#[test]
fn keep_bars_keeps_those_bars_exactly() {
    let model = busy_model(Representation::ActiveAndOnset, 5);
    let mut p = params(1);
    p.bars = 4;
    let first = generate(&model, &p).unwrap();
    let keep_mask = 0b0011; // keep bars 1-2, re-roll 3-4
    p.seed = 99;
    p.keep_bars = Some((first.clone(), keep_mask));
    let second = generate(&model, &p).unwrap();
    let in_bars_12 = |ph: &Phrase| -> Vec<Note> {
        ph.notes
            .iter()
            .filter(|n| n.start_step < 32)
            .map(|n| Note {
                length_steps: n.length_steps.min(32 - n.start_step),
                ..*n
            })
            .collect()
    };
    assert!(
        in_bars_12(&first) == in_bars_12(&second),
        "kept bars changed"
    );
    let later = |ph: &Phrase| -> Vec<Note> {
        ph.notes
            .iter()
            .filter(|n| n.start_step >= 32)
            .copied()
            .collect()
    };
    assert_ne!(later(&first), later(&second), "bars 3-4 must be re-rolled");
}

#[test]
fn a_primer_changes_what_follows() {
    let model = busy_model(Representation::ActiveAndOnset, 6);
    let mut primer = Phrase {
        bars: 1,
        ..Default::default()
    };
    for (i, pitch) in [60u8, 64, 67, 72].iter().enumerate() {
        primer.notes.push(Note {
            start_step: i as u32 * 4,
            pitch: *pitch,
            length_steps: 4,
            velocity: 100,
        });
    }
    let plain = generate(&model, &params(7)).unwrap();
    let primed = generate(
        &model,
        &GenerateParams {
            primer: Some(primer),
            ..params(7)
        },
    )
    .unwrap();
    assert_ne!(plain, primed);
}

#[test]
fn active_only_models_generate_too() {
    let model = busy_model(Representation::ActiveOnly, 8);
    let phrase = generate(&model, &params(3)).unwrap();
    assert!(!phrase.notes.is_empty());
}

#[test]
fn impossible_parameters_are_errors() {
    let model = busy_model(Representation::ActiveAndOnset, 9);
    let e = generate(
        &model,
        &GenerateParams {
            temperature: 0.0,
            ..params(1)
        },
    )
    .unwrap_err();
    assert_eq!(e, GenerateError::Temperature(0.0));
    assert!(generate(
        &model,
        &GenerateParams {
            bars: 0,
            ..params(1)
        }
    )
    .is_err());
    let e = generate(
        &model,
        &GenerateParams {
            pitch_lo: 100,
            pitch_hi: 110,
            ..params(1)
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("model's range 48..84"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_scale_is_never_violated(
        root in 0u8..12,
        kind in prop::sample::select(ScaleKind::ALL.to_vec()),
        seed in any::<u64>(),
        temperature in 0.05f32..3.0,
    ) {
        let model = busy_model(Representation::ActiveAndOnset, 10);
        let scale = Scale::new(root, kind);
        let p = GenerateParams { scale, temperature, ..params(seed) };
        for phrase in generate_variations(&model, &p, 4).unwrap() {
            for n in &phrase.notes {
                prop_assert!(scale.contains(n.pitch), "{:?} outside {}", n, scale);
            }
        }
    }
}
