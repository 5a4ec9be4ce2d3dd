//! Harmonize mode in the plugin (in-process host): the voices start in the block, at the
//! sample, of the key that calls for them, end with it, and nothing is left sounding over
//! random keys, transport starts and stops, mode changes and bypass.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use common::host::{set_normalized, Host};
use phrasegen::plugin::params::PlayMode;
use phrasegen::plugin::PhraseGen;
use rand::{Rng, SeedableRng};

/// The Mode parameter's normalized values (Generate is 0).
const HARMONIZE: f32 = 1.0 / 3.0;
const ACCOMPANY: f32 = 2.0 / 3.0;
const ANSWER: f32 = 1.0;

fn key(host: &mut Host, timing: u32, pitch: u8, on: bool) {
    host.ctx
        .input
        .push_back(common::key_event(on, timing, pitch));
}

fn harmonizing_host() -> Host {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    set_normalized(&shared.params.mode, HARMONIZE);
    assert_eq!(shared.params.mode.value(), PlayMode::Harmonize);
    host.settle();
    host.block();
    host
}

/// What sounds after `played`: (pitch, channel) -> how many note-ons are not ended. The
/// player's keys, the voices and (in Generate mode) the phrase may strike the same pitch;
/// a note-off without a note-on before it is a fault.
fn sounding(played: &[(u64, bool, u8, u8)]) -> BTreeMap<(u8, u8), i32> {
    let mut open = BTreeMap::new();
    for &(_, on, pitch, channel) in played {
        let n = open.entry((pitch, channel)).or_insert(0);
        *n += if on { 1 } else { -1 };
        assert!(*n >= 0, "{pitch} ended more often than struck");
    }
    open.retain(|_, n| *n > 0);
    open
}

#[test]
fn a_key_gets_its_voices_in_the_same_block_and_they_end_with_it() {
    let mut host = harmonizing_host();
    // The phrase of Generate mode ended when the mode changed.
    assert!(
        sounding(&host.played).is_empty(),
        "{:?}",
        sounding(&host.played)
    );
    for (i, &pitch) in [72u8, 74, 76, 71, 72].iter().enumerate() {
        let start = host.played.len();
        let at = host.pos_samples + 100;
        key(&mut host, 100, pitch, true);
        host.block();
        let ons: Vec<u8> = host.played[start..]
            .iter()
            .filter(|&&(t, on, _, _)| on && t == at)
            .map(|&(_, _, p, _)| p)
            .collect();
        assert!(ons.contains(&pitch), "the key itself goes through: {ons:?}");
        let voices: Vec<u8> = ons.iter().copied().filter(|&p| p != pitch).collect();
        if i == 0 {
            assert!(!voices.is_empty(), "no voice under the first key");
        }
        assert!(
            voices.iter().all(|&v| v < pitch),
            "{voices:?} under {pitch}"
        );
        host.blocks(3);
        let release = host.pos_samples + 7;
        let before = host.played.len();
        key(&mut host, 7, pitch, false);
        host.block();
        assert!(
            sounding(&host.played).is_empty(),
            "left sounding after release: {:?}",
            sounding(&host.played)
        );
        assert!(host.played[before..]
            .iter()
            .all(|&(t, on, _, _)| !on && t == release));
    }
}

#[test]
fn nothing_hangs_over_random_keys_transport_modes_and_bypass() {
    let mut host = harmonizing_host();
    let shared = host.plugin.shared();
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(9);
    let mut held: Vec<u8> = Vec::new();
    let mut voiced = 0;
    let mut history: Vec<String> = Vec::new();
    for i in 0..3000 {
        let timing = rng.random_range(0..512u32);
        match rng.random_range(0..20) {
            0..=5 => {
                let pitch = rng.random_range(48..90u8);
                if !held.contains(&pitch) {
                    held.push(pitch);
                    key(&mut host, timing, pitch, true);
                }
            }
            6..=10 if !held.is_empty() => {
                let pitch = held.remove(rng.random_range(0..held.len()));
                key(&mut host, timing, pitch, false);
            }
            11 => host.playing = !host.playing,
            12 if i % 7 == 0 => {
                // Generate, Harmonize, Accompany, Answer.
                set_normalized(
                    &shared.params.mode,
                    [0.0, HARMONIZE, ACCOMPANY, ANSWER][i % 4],
                );
            }
            13 if i % 11 == 0 => {
                let bypass = !shared.params.bypass.value();
                set_normalized(&shared.params.bypass, if bypass { 1.0 } else { 0.0 });
            }
            _ => {}
        }
        let before = host.played.len();
        let state = format!(
            "{:?} bypass {} playing {}",
            shared.params.mode.value(),
            shared.params.bypass.value(),
            host.playing
        );
        host.block();
        history.push(format!(
            "block {i}: {state}: held {held:?} {:?}",
            &host.played[before..]
        ));
        // Harmonizing with no key down, nothing may sound.
        if shared.params.mode.value() == PlayMode::Harmonize
            && !shared.params.bypass.value()
            && held.is_empty()
        {
            let open = sounding(&host.played);
            assert!(
                open.is_empty(),
                "block {i}: no key down, yet sounding {open:?}; history:\n{}",
                history[history.len().saturating_sub(20)..].join("\n")
            );
        }
        voiced += host.played[before..].iter().filter(|e| e.1).count();
        if i % 500 == 0 {
            host.settle();
        }
    }
    assert!(voiced > 500, "it played ({voiced} note-ons)");
    // Every key up, Harmonize mode, no bypass: silence.
    for pitch in held.drain(..) {
        key(&mut host, 0, pitch, false);
    }
    set_normalized(&shared.params.bypass, 0.0);
    set_normalized(&shared.params.mode, HARMONIZE);
    host.settle();
    host.blocks(3);
    assert!(
        sounding(&host.played).is_empty(),
        "stuck: {:?}",
        sounding(&host.played)
    );
    assert!(shared.generations.load(Ordering::Acquire) >= 1);
}

#[test]
fn a_melody_model_says_it_cannot_harmonize_and_the_keys_pass_through() {
    let mut host = harmonizing_host();
    let shared = host.plugin.shared();
    *shared.params.model_path.write() = Some("fiddle-tunes".into());
    shared.model_requests.fetch_add(1, Ordering::AcqRel);
    host.settle();
    let error = shared.status.lock().live_error.clone().unwrap_or_default();
    assert!(
        error.contains("Harmonize") && error.contains("one voice"),
        "{error}"
    );
    // The audio thread dropped its harmonizer: the key passes through alone.
    host.block();
    let start = host.played.len();
    key(&mut host, 10, 70, true);
    host.block();
    key(&mut host, 10, 70, false);
    host.block();
    let ons: Vec<u8> = host.played[start..]
        .iter()
        .filter(|e| e.1)
        .map(|e| e.2)
        .collect();
    assert_eq!(ons, [70]);
    assert!(sounding(&host.played).is_empty());
}

#[test]
fn a_held_chord_gets_a_line_over_it_that_stops_when_let_go() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    *shared.params.model_path.write() = Some("fiddle-tunes".into());
    shared.model_requests.fetch_add(1, Ordering::AcqRel);
    set_normalized(&shared.params.mode, ACCOMPANY);
    assert_eq!(shared.params.mode.value(), PlayMode::Accompany);
    host.settle();
    host.block();
    assert!(sounding(&host.played).is_empty());
    // G major held for two bars (a 16th is 6,000 samples at 120 BPM).
    let chord = [55u8, 59, 62];
    for &k in &chord {
        key(&mut host, 0, k, true);
    }
    let start = host.played.len();
    host.blocks(2 * 16 * 6000 / 512);
    let line: Vec<u8> = host.played[start..]
        .iter()
        .filter(|e| e.1 && !chord.contains(&e.2))
        .map(|e| e.2)
        .collect();
    // A reel's pace: about eight notes a bar (on a grid of the wrong size it would be slower
    // or faster by its ratio).
    assert!(
        line.len() >= 8,
        "a line that moves over the chord: {line:?}"
    );
    assert!(line.iter().all(|&p| p > 62), "above the chord: {line:?}");
    // On the model's own grid: twelve steps a quarter note (2,000 samples), so its triplets
    // fall where it plays them, not rounded to 16ths.
    let spq = phrasegen::builtin::load_model_choice("fiddle-tunes")
        .unwrap()
        .config
        .steps_per_quarter;
    assert_eq!(spq, 12);
    let onsets: Vec<u64> = host.played[start..]
        .iter()
        .filter(|e| e.1 && !chord.contains(&e.2))
        .map(|e| e.0)
        .collect();
    assert!(
        onsets.iter().all(|s| s % 2_000 == 0),
        "on the 1/12 grid: {onsets:?}"
    );
    let open = sounding(&host.played);
    let over: Vec<_> = open.keys().filter(|(p, _)| !chord.contains(p)).collect();
    assert!(over.len() <= 1, "one voice: {over:?}");
    for &k in &chord {
        key(&mut host, 0, k, false);
    }
    // The line ends at the next grid step.
    host.blocks(6000 / 512 + 2);
    assert!(
        sounding(&host.played).is_empty(),
        "{:?}",
        sounding(&host.played)
    );
}

#[test]
fn a_phrase_and_a_bars_rest_get_an_answer_as_long_that_stops_when_played_over() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    set_normalized(&shared.params.mode, ANSWER);
    assert_eq!(shared.params.mode.value(), PlayMode::Answer);
    host.settle();
    host.block();
    let samples_per_beat = 24_000.0;
    // Runs blocks (the worker looking between them) until beat `until`.
    let run_to = |host: &mut Host, until: f64| {
        while host.pos_beats() < until {
            host.block();
            host.settle();
        }
    };
    for round in 0..2 {
        // A one-bar call from the next bar line: four quarter notes.
        let bar = (host.pos_beats() / 4.0).ceil() * 4.0 + 4.0;
        run_to(&mut host, bar - 0.05);
        let call = [67u8, 69, 71, 72];
        for (i, &k) in call.iter().enumerate() {
            run_to(&mut host, bar + i as f64);
            key(&mut host, 0, k, true);
            host.block();
            run_to(&mut host, bar + i as f64 + 0.8);
            key(&mut host, 0, k, false);
            host.block();
        }
        let rest_ends = bar + 3.8 + 4.0;
        let answered_from = host.played.len();
        let answer_start = (rest_ends / 4.0).ceil() * 4.0;
        if round == 0 {
            // The whole answer: from the bar line after the rest, one bar long, then silence.
            run_to(&mut host, answer_start + 6.0);
            let answer: Vec<_> = host.played[answered_from..].to_vec();
            let ons: Vec<_> = answer.iter().filter(|e| e.1).collect();
            assert!(ons.len() >= 2, "an answer: {answer:?}");
            let first = ons[0].0 as f64 / samples_per_beat;
            let last = ons.last().unwrap().0 as f64 / samples_per_beat;
            assert!(
                (first - answer_start).abs() < 0.01,
                "it starts on the bar line after the rest ({answer_start}): {first}"
            );
            assert!(last < answer_start + 4.0, "as long as the call: {last}");
            assert!(sounding(&host.played).is_empty(), "it ended: {answer:?}");
        } else {
            // Played over: the answer stops at the key.
            run_to(&mut host, answer_start + 0.3);
            let before = host.played.len();
            key(&mut host, 100, 60, true);
            host.block();
            let stopped_at = host.played[before..]
                .iter()
                .find(|e| e.1 && e.2 == 60)
                .expect("the key goes through")
                .0;
            let open = sounding(&host.played);
            assert_eq!(
                open.keys().collect::<Vec<_>>(),
                [&(60, 0)],
                "only the key sounds"
            );
            assert!(host.played[before..]
                .iter()
                .all(|e| e.1 || e.0 == stopped_at));
            run_to(&mut host, answer_start + 4.0);
            let after: Vec<_> = host.played[before..].iter().filter(|e| e.1).collect();
            assert_eq!(after.len(), 1, "no more of the answer: {after:?}");
            key(&mut host, 0, 60, false);
            host.block();
        }
    }
}
