//! Harmonize mode through the plugin boundary: the built plugin hosted with `clack-host`,
//! keys sent in as a DAW sends them, under imprecise transports. The voices under a key
//! start at the key's sample in the block that carries it and end when it is released;
//! over random keys, transport starts and stops, tempo changes and mode changes no note is
//! stuck, doubled or ended without starting.

mod clap_host;

use std::time::{Duration, Instant};

use clap_host::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

const SAMPLE_RATE: f64 = 48_000.0;
/// How long to wait for the worker to hand the harmonizer over (the event ends the wait).
const HARMONIZER_TIMEOUT: Duration = Duration::from_secs(60);

fn key_on(time: u32, key: u8) -> HostEvent {
    HostEvent::NoteOn {
        time,
        channel: 0,
        key,
        velocity: 0.8,
    }
}

fn key_off(time: u32, key: u8) -> HostEvent {
    HostEvent::NoteOff {
        time,
        channel: 0,
        key,
    }
}

/// A started instance switched to Harmonize, once a key is seen to get voices.
fn harmonizing(tracker: &mut NoteTracker, sim: &mut HostSim) -> (ClapSession, u32) {
    let mut s = ClapSession::started(SAMPLE_RATE, 2048);
    let mode = s.param("Mode");
    assert_eq!(
        (mode.min, mode.max),
        (0.0, 3.0),
        "Generate, Harmonize, Accompany, Answer"
    );
    let deadline = Instant::now() + HARMONIZER_TIMEOUT;
    sim.playing = true;
    loop {
        let plan = sim.next_block(512);
        let input = [
            HostEvent::Param {
                time: 0,
                id: mode.id,
                value: 1.0,
            },
            key_on(100, 72),
        ];
        let out = s.process(plan.len, Some(&plan.transport), &input);
        tracker.feed(&out);
        let plan = sim.next_block(512);
        let off = s.process(plan.len, Some(&plan.transport), &[key_off(0, 72)]);
        tracker.feed(&off);
        let voiced = out
            .iter()
            .any(|e| matches!(e.kind, OutKind::NoteOn { key, .. } if key < 72));
        if voiced {
            return (s, mode.id);
        }
        assert!(
            Instant::now() < deadline,
            "no voices under a key within {HARMONIZER_TIMEOUT:?}"
        );
        s.idle();
    }
}

#[test]
fn voices_start_with_their_key_and_end_with_it_under_imprecise_transports() {
    let styles = [
        PositionStyle::EXACT,
        PositionStyle::ARDOUR,
        PositionStyle::SECONDS_ONLY,
        PositionStyle::jitter(20.0),
    ];
    for (n, style) in styles.into_iter().enumerate() {
        let mut sim =
            HostSim::new(SAMPLE_RATE, 100.0 + 20.0 * n as f64, style, 0).with_seed(n as u64);
        let mut tracker = NoteTracker::new();
        let (mut s, _) = harmonizing(&mut tracker, &mut sim);
        sim.tempo_inc = if n == 3 { 1e-5 } else { 0.0 };
        let mut rng = Pcg64::seed_from_u64(n as u64);
        let (mut presses, mut voiced) = (0, 0);
        let mut melody = 70u8;
        for _ in 0..300 {
            let len = [64u32, 256, 441, 512, 1024][rng.random_range(0..5)];
            let plan = sim.next_block(len);
            let at = rng.random_range(0..plan.len);
            let next = (i32::from(melody) + rng.random_range(-5..=5)).clamp(60, 84) as u8;
            let input = if next == melody {
                vec![]
            } else {
                vec![key_on(at, next), key_off(at, melody)]
            };
            let start = s.now();
            let out = s.process(plan.len, Some(&plan.transport), &input);
            tracker.feed(&out);
            if next == melody {
                continue;
            }
            presses += 1;
            let sample = start + u64::from(at);
            let ons: Vec<u8> = out
                .iter()
                .filter_map(|e| match e.kind {
                    OutKind::NoteOn { key, .. } if e.sample == sample => Some(key),
                    _ => None,
                })
                .collect();
            assert!(
                ons.contains(&next),
                "the key goes through at its sample: {out:?}"
            );
            assert!(
                ons.iter().all(|&k| k <= next),
                "a voice above the melody: {ons:?}"
            );
            voiced += usize::from(ons.len() > 1);
            // Everything sounding is the melody or under it.
            assert!(tracker.sounding().iter().all(|n| n.pitch <= next));
            melody = next;
        }
        let plan = sim.next_block(256);
        let release = s.now() + 5;
        tracker.feed(&s.process(plan.len, Some(&plan.transport), &[key_off(5, melody)]));
        tracker.expect_silence(release + 1, "after the melody's key was released");
        tracker.assert_clean(&format!("style {style:?}"));
        assert!(
            voiced * 4 >= presses,
            "style {style:?}: only {voiced} of {presses} keys got new voices"
        );
    }
}

#[test]
fn nothing_hangs_over_random_keys_transports_and_mode_changes() {
    let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::ARDOUR, 0).with_seed(21);
    let mut tracker = NoteTracker::new();
    let (mut s, mode) = harmonizing(&mut tracker, &mut sim);
    let mut rng = Pcg64::seed_from_u64(21);
    let mut held: Vec<u8> = Vec::new();
    let mut ons = 0;
    for sequence in 0..400 {
        sim.tempo_bpm = rng.random_range(60.0..200.0);
        sim.time_signature = [(4, 4), (3, 4), (6, 8), (7, 8)][rng.random_range(0..4)];
        if rng.random_bool(0.3) {
            sim.seek(rng.random_range(0.0..64.0));
        }
        sim.playing = rng.random_bool(0.7);
        for _ in 0..rng.random_range(1..=12) {
            let plan = sim.next_block(rng.random_range(16..=1024));
            let mut input = Vec::new();
            // Keys in time order, as a player plays them.
            let mut times: Vec<u32> = (0..rng.random_range(0..=3))
                .map(|_| rng.random_range(0..plan.len))
                .collect();
            times.sort_unstable();
            for at in times {
                if !held.is_empty() && rng.random_bool(0.5) {
                    let k = held.remove(rng.random_range(0..held.len()));
                    input.push(key_off(at, k));
                } else {
                    let k = rng.random_range(48..90u8);
                    if !held.contains(&k) {
                        held.push(k);
                        input.push(key_on(at, k));
                    }
                }
            }
            if rng.random_bool(0.03) {
                // Generate, Harmonize, Accompany or Answer.
                input.push(HostEvent::Param {
                    time: 0,
                    id: mode,
                    value: f64::from(rng.random_range(0..4u8)),
                });
            }
            let out = s.process(plan.len, Some(&plan.transport), &input);
            ons += out
                .iter()
                .filter(|e| matches!(e.kind, OutKind::NoteOn { .. }))
                .count();
            tracker.feed(&out);
        }
        if !tracker.problems.is_empty() {
            tracker.assert_clean(&format!("sequence {sequence}"));
        }
    }
    // Every key up, Harmonize mode, transport stopped: silence.
    let plan = sim.next_block(256);
    let mut input: Vec<HostEvent> = held.iter().map(|&k| key_off(0, k)).collect();
    input.push(HostEvent::Param {
        time: 0,
        id: mode,
        value: 1.0,
    });
    sim.playing = false;
    tracker.feed(&s.process(plan.len, Some(&plan.transport), &input));
    let plan = sim.next_block(256);
    tracker.feed(&s.process(plan.len, Some(&plan.transport), &[]));
    let now = s.now();
    tracker.expect_silence(now, "every key released, harmonizing, transport stopped");
    tracker.assert_clean("the end");
    assert!(ons > 1000, "only {ons} note-ons: the test did not play");
}
