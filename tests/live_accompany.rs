//! Accompanying live (`family::LiveAccompanist`): over chords held in several keys, the line
//! strikes chord tones on strong beats and stays in each chord's scale, is one voice, never
//! rests a beat while a chord is held, stops when the keys are let go, and no step
//! allocates.

mod common;

use std::sync::Arc;

use nice_assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use phrasegen::builtin::load_model_choice;
use phrasegen::family::{LiveAccompanist, LiveSettings, VoiceChange};
use phrasegen::key::{Key, Mode};
use phrasegen::phrase::TimeSignature;
use phrasegen::sample::chords::{chord_scale, is_strong_beat, pitch_classes};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

fn settings(seed: u64) -> LiveSettings {
    LiveSettings {
        seed,
        voices: 1,
        ..LiveSettings::default()
    }
}

/// A major triad's pitches in the octave under middle C (root `pc`), or its minor.
fn triad(pc: u8, minor: bool) -> u128 {
    let root = 48 + pc;
    (1u128 << root) | (1u128 << (root + if minor { 3 } else { 4 })) | (1u128 << (root + 7))
}

#[test]
fn the_line_follows_the_chords_held() {
    let four = TimeSignature::FOUR_FOUR;
    let mut strong = (0, 0);
    let mut in_scale = (0, 0);
    for model_name in ["fiddle-tunes", "bach-chorales"] {
        let model = Arc::new(load_model_choice(model_name).unwrap());
        // The line is stepped on its model's grid (the plugin's live grid follows it).
        let spq = model.config.steps_per_quarter;
        let (bar_steps, beat) = (4 * spq as usize, spq as usize);
        for (k, tonic) in [0u8, 7, 2, 5, 9].into_iter().enumerate() {
            let mut line = LiveAccompanist::new(model.clone(), settings(k as u64)).unwrap();
            assert_eq!(line.steps_per_quarter(), spq);
            // I vi IV V, a bar each, twice, then the keys let go.
            let chords = [(0, false), (9, true), (5, false), (7, false)];
            let key = Key {
                tonic,
                mode: Mode::Major,
            };
            let mut sounding: Option<u8> = None;
            let mut silent = 0;
            for step in 0..(8 * bar_steps + beat) {
                let bar = step / bar_steps;
                let held = if bar < 8 {
                    let (degree, minor) = chords[bar % 4];
                    triad((tonic + degree) % 12, minor)
                } else {
                    0
                };
                let in_bar = (step % bar_steps) as u32;
                let mut changes = Vec::new();
                line.step(four, in_bar, held, 1.0, &mut |c| changes.push(c));
                for c in changes {
                    match c {
                        VoiceChange::On(p) => {
                            assert_eq!(sounding, None, "{model_name}: one voice");
                            sounding = Some(p);
                            assert!(u128::from(1u8) << p > held, "{p} under the chord {held:b}");
                            let pc = 1u16 << (p % 12);
                            let chord = pitch_classes(held);
                            in_scale.0 += usize::from(chord_scale(Some(key), chord) & pc != 0);
                            in_scale.1 += 1;
                            if is_strong_beat(four, in_bar, spq) {
                                strong.0 += usize::from(chord & pc != 0);
                                strong.1 += 1;
                            }
                        }
                        VoiceChange::Off(p) => {
                            assert_eq!(sounding, Some(p));
                            sounding = None;
                        }
                    }
                }
                assert_eq!(line.sounding(), sounding);
                silent = if sounding.is_none() { silent + 1 } else { 0 };
                if bar < 8 && step >= beat {
                    assert!(
                        silent < beat,
                        "{model_name} key {tonic}: a beat of silence at {step}"
                    );
                }
            }
            assert_eq!(sounding, None, "{model_name}: the line stops with the keys");
        }
    }
    let share = |(a, b): (usize, usize)| a as f64 / b.max(1) as f64;
    println!("strong-beat chord tones {strong:?}, notes in the chord's scale {in_scale:?}");
    assert!(in_scale.1 > 200, "{in_scale:?}");
    assert!(share(strong) >= 0.9, "{strong:?}");
    assert!(share(in_scale) >= 0.98, "{in_scale:?}");
}

#[test]
fn a_step_never_allocates() {
    let model = Arc::new(load_model_choice("fiddle-tunes").unwrap());
    let bar_steps = 4 * model.config.steps_per_quarter;
    let mut line = LiveAccompanist::new(model, settings(2)).unwrap();
    common::assert_alloc_checker_active();
    let mut changes = 0;
    assert_no_alloc(|| {
        for step in 0..2000u32 {
            let held = if step % 200 < 180 {
                triad((step / 32 % 12) as u8, false)
            } else {
                0
            };
            line.step(
                TimeSignature::FOUR_FOUR,
                step % bar_steps,
                held,
                1.2,
                &mut |_| changes += 1,
            );
        }
        line.release_all(&mut |_| changes += 1);
    });
    assert_eq!(violation_count(), 0, "the accompanist allocated");
    assert!(changes > 200, "it played ({changes} changes)");
}
