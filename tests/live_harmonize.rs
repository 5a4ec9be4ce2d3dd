//! Harmonizing live (`family::LiveHarmonizer`): over random key presses, releases and grid
//! steps, the voices start in the call that presses the melody's key, stay under it, never
//! exceed the voices asked for, end with it, and nothing is left sounding; no call
//! allocates.

mod common;

use std::sync::Arc;

use nice_assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use phrasegen::builtin::load_model_choice;
use phrasegen::family::{LiveHarmonizer, LiveSettings, VoiceChange};
use phrasegen::phrase::TimeSignature;
use phrasegen::sample::GenerateError;
use rand::{Rng, SeedableRng};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

fn settings(seed: u64, voices: u8) -> LiveSettings {
    LiveSettings {
        seed,
        voices,
        ..LiveSettings::default()
    }
}

/// What the harmonizer has sent, checked as it arrives.
#[derive(Default)]
struct Voices {
    sounding: u128,
    ons: usize,
}

impl Voices {
    fn apply(&mut self, change: VoiceChange) {
        match change {
            VoiceChange::On(p) => {
                assert_eq!(self.sounding & (1 << p), 0, "{p} struck twice");
                self.sounding |= 1 << p;
                self.ons += 1;
            }
            VoiceChange::Off(p) => {
                assert_ne!(self.sounding & (1 << p), 0, "{p} ended but not sounding");
                self.sounding &= !(1 << p);
            }
        }
    }
}

#[test]
fn random_playing_leaves_nothing_hanging_and_voices_stay_under_the_melody() {
    let model = Arc::new(load_model_choice("bach-chorales").unwrap());
    for seed in 0..8u64 {
        let voices = 2 + (seed % 3) as u8;
        let mut h = LiveHarmonizer::new(model.clone(), settings(seed, voices)).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let mut sent = Voices::default();
        let mut held: Vec<u8> = Vec::new();
        let mut melody: Option<u8> = None;
        let mut step = 0u32;
        let mut with_voices = 0;
        for _ in 0..600 {
            match rng.random_range(0..10) {
                0..=3 => {
                    step = (step + 1) % 16;
                    h.step(TimeSignature::FOUR_FOUR, step);
                }
                4..=6 => {
                    let key = rng.random_range(40..100u8);
                    if held.contains(&key) {
                        continue;
                    }
                    held.push(key);
                    let before = sent.ons;
                    h.key_down(key, 0, rng.random_range(0.3..2.0), &mut |c| sent.apply(c));
                    melody = Some(key);
                    with_voices += usize::from(sent.ons > before);
                    assert!(
                        sent.sounding < (1u128 << key),
                        "seed {seed}: a voice at or above the melody {key}"
                    );
                    assert!(sent.sounding.count_ones() < u32::from(voices));
                }
                _ => {
                    if held.is_empty() {
                        continue;
                    }
                    let key = held.remove(rng.random_range(0..held.len()));
                    h.key_up(key, &mut |c| sent.apply(c));
                    if melody == Some(key) {
                        melody = None;
                        assert_eq!(sent.sounding, 0, "seed {seed}: voices outlive the melody");
                    }
                }
            }
            let from_harmonizer: u128 = h.sounding().fold(0, |s, p| s | 1 << p);
            assert_eq!(from_harmonizer, sent.sounding);
        }
        h.release_all(&mut |c| sent.apply(c));
        assert_eq!(sent.sounding, 0);
        assert!(
            with_voices > 50,
            "seed {seed}: few presses got voices ({with_voices})"
        );
    }
}

#[test]
fn a_press_a_step_and_a_release_never_allocate() {
    let model = Arc::new(load_model_choice("bach-chorales").unwrap());
    let mut h = LiveHarmonizer::new(model, settings(1, 4)).unwrap();
    common::assert_alloc_checker_active();
    let mut changes = [None; 64];
    let mut n = 0;
    assert_no_alloc(|| {
        for i in 0..400u32 {
            let mut out = |c| {
                changes[n % 64] = Some(c);
                n += 1;
            };
            h.step(TimeSignature::FOUR_FOUR, i % 16);
            let key = 60 + (i * 7 % 17) as u8;
            h.key_down(key, 0, 1.0, &mut out);
            h.step(TimeSignature::FOUR_FOUR, (i + 1) % 16);
            if i % 3 == 0 {
                h.key_up(key, &mut out);
            }
        }
        h.release_all(&mut |c| {
            changes[n % 64] = Some(c);
            n += 1;
        });
    });
    assert_eq!(violation_count(), 0, "the harmonizer allocated");
    assert!(n > 400, "it played ({n} changes)");
}

#[test]
fn a_key_in_any_octave_is_harmonized_in_the_players_octave() {
    let model = Arc::new(load_model_choice("bach-chorales").unwrap());
    let mut h = LiveHarmonizer::new(model, settings(3, 4)).unwrap();
    for key in [108u8, 24, 72] {
        let mut sent = Voices::default();
        h.key_down(key, 0, 1.0, &mut |c| sent.apply(c));
        // At least two voices under the key: three sound with it, as in Bach's chorales.
        assert!(sent.ons >= 2, "{key}: {} voices under it", sent.ons);
        assert!(sent.sounding < 1 << key);
        // The chorale model spans 31..84: nothing further under the key than that.
        assert!(
            sent.sounding.trailing_zeros() + 53 >= u32::from(key),
            "{key}: voices further under it than the model's range"
        );
        h.key_up(key, &mut |c| sent.apply(c));
        assert_eq!(sent.sounding, 0);
    }
}

#[test]
fn a_melody_model_cannot_harmonize() {
    let fiddle = Arc::new(load_model_choice("fiddle-tunes").unwrap());
    assert!(matches!(
        LiveHarmonizer::new(fiddle, settings(1, 4)),
        Err(GenerateError::MelodyNeedsVoices { .. })
    ));
    let chorales = Arc::new(load_model_choice("bach-chorales").unwrap());
    assert!(matches!(
        LiveHarmonizer::new(chorales, settings(1, 1)),
        Err(GenerateError::MelodyNeedsTwoVoices(1))
    ));
}

#[test]
fn voices_keep_to_the_scale_and_range_asked_for() {
    let model = Arc::new(load_model_choice("bach-chorales").unwrap());
    let c_major_in_range: u128 = (48..=72u8)
        .filter(|p| [0, 2, 4, 5, 7, 9, 11].contains(&(p % 12)))
        .fold(0, |set, p| set | 1 << p);
    let mut h = LiveHarmonizer::new(
        model,
        LiveSettings {
            allowed: c_major_in_range,
            ..settings(4, 4)
        },
    )
    .unwrap();
    let mut sent = Voices::default();
    for (i, key) in [76u8, 74, 72, 77, 79, 81, 78, 76, 74, 72]
        .into_iter()
        .cycle()
        .take(60)
        .enumerate()
    {
        h.step(TimeSignature::FOUR_FOUR, (i % 16) as u32);
        h.key_down(key, 0, 1.2, &mut |c| sent.apply(c));
        assert_eq!(
            sent.sounding & !c_major_in_range,
            0,
            "a voice outside C major 48..72"
        );
        h.key_up(key, &mut |c| sent.apply(c));
    }
    assert!(sent.ons > 60, "voices were played ({})", sent.ons);
}
