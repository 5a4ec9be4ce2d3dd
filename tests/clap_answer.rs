//! Answer mode through the plugin boundary: the built plugin hosted with `clack-host`, a
//! call played in as a DAW sends keys, a bar's rest, and the answer, under transports as
//! imprecise as real hosts' (beats rounded to the tick, seconds only, jitter). The answer
//! comes after a bar's rest and is placed from a bar line of the host's timeline; its notes
//! start and end on the grid (their lengths exact, not chopped by the host's rounding); it
//! is no longer than the call (in whole bars, though its first key is played a hair
//! early), in 4/4 and 3/4; and nothing is left sounding.

mod clap_host;

use std::time::{Duration, Instant};

use clap_host::*;

const SAMPLE_RATE: f64 = 48_000.0;
/// How long to wait for the worker to write the answer (the answer's first note ends it).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// The call: four quarter notes, each held 0.8 of a beat, from a bar line (beats, key).
const CALL: [(f64, u8); 4] = [(0.0, 67), (1.0, 69), (2.0, 71), (3.0, 72)];

fn key(time: u32, key: u8, on: bool) -> HostEvent {
    if on {
        HostEvent::NoteOn {
            time,
            channel: 0,
            key,
            velocity: 0.8,
        }
    } else {
        HostEvent::NoteOff {
            time,
            channel: 0,
            key,
        }
    }
}

/// Plays 256-sample blocks until the host is at `until` beats, sending each key of `keys`
/// (beats, key, on) at the sample its beat falls on.
fn play_to(
    s: &mut ClapSession,
    sim: &mut HostSim,
    tracker: &mut NoteTracker,
    keys: &[(f64, u8, bool)],
    until: f64,
) {
    while sim.beats() < until {
        let start = sim.beats();
        let per_sample = 1.0 / sim.samples_per_beat();
        let plan = sim.next_block(256);
        let end = start + f64::from(plan.len) * per_sample;
        let input: Vec<HostEvent> = keys
            .iter()
            .filter(|(beats, _, _)| (start..end).contains(beats))
            .map(|&(beats, k, on)| key(((beats - start) / per_sample) as u32, k, on))
            .collect();
        tracker.feed(&s.process(plan.len, Some(&plan.transport), &input));
    }
}

/// How far `beats` is from the nearest multiple of `unit`, in samples.
fn off_grid_samples(beats: f64, unit: f64, samples_per_beat: f64) -> f64 {
    (beats - (beats / unit).round() * unit).abs() * samples_per_beat
}

#[test]
fn an_answer_follows_the_call_on_the_hosts_bars_with_exact_note_lengths() {
    // (style, what, tolerance in samples), as the phrase-playback tests allow.
    let tick_samples = SAMPLE_RATE * 60.0 / 120.0 / 1920.0;
    let cases = [
        (PositionStyle::EXACT, "exact", 1.0),
        (PositionStyle::ARDOUR, "beats rounded to 1/1920", 1.0),
        (
            PositionStyle::TICKS_ONLY,
            "beats rounded to 1/1920 only",
            tick_samples / 2.0 + 1.0,
        ),
        (PositionStyle::SECONDS_ONLY, "seconds only", 1.0),
        (PositionStyle::jitter(4.0), "jitter of ±4 samples", 5.0),
        (PositionStyle::ARDOUR, "3/4, beats rounded to 1/1920", 1.0),
    ];
    let mut failures = Vec::new();
    for (n, (style, what, tolerance)) in cases.into_iter().enumerate() {
        let tempo = 96.0 + 12.0 * n as f64;
        let mut sim = HostSim::new(SAMPLE_RATE, tempo, style, 0).with_seed(n as u64);
        sim.playing = true;
        if what.starts_with("3/4") {
            sim.time_signature = (3, 4);
        }
        let spb = sim.samples_per_beat();
        let bar = sim.bar_beats();
        // The call's length in whole bars (four beats: two bars of 3/4).
        let call_bars = (CALL.len() as f64 / bar).ceil();
        let mut s = ClapSession::started(SAMPLE_RATE, 2048);
        let mode = s.param("Mode");
        let mut tracker = NoteTracker::new();
        let plan = sim.next_block(256);
        let answer_mode = HostEvent::Param {
            time: 0,
            id: mode.id,
            value: 3.0,
        };
        tracker.feed(&s.process(plan.len, Some(&plan.transport), &[answer_mode]));

        // The call, from the second bar line on.
        let call_start = ((sim.beats() / bar).floor() + 2.0) * bar;
        let keys: Vec<(f64, u8, bool)> = CALL
            .iter()
            .flat_map(|&(at, k)| {
                [
                    (call_start + at, k, true),
                    (call_start + at + 0.8, k, false),
                ]
            })
            .collect();
        play_to(
            &mut s,
            &mut sim,
            &mut tracker,
            &keys,
            call_start + call_bars * bar,
        );
        let called = tracker.notes.len();

        // The rest, then blocks in step with the clock until the answer's first note.
        let started = Instant::now();
        let first = loop {
            let until = sim.beats() + 0.05;
            play_to(&mut s, &mut sim, &mut tracker, &[], until);
            if let Some(note) = tracker.notes.get(called) {
                break *note;
            }
            assert!(
                started.elapsed() < ANSWER_TIMEOUT,
                "{what}: no answer within {ANSWER_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        };
        let answer_start = sim.beats_at(first.on_sample).expect("the host was playing");
        // The answer is placed from a bar line (its first note may come after a rest).
        let bar_line = ((answer_start + 0.01) / bar).floor() * bar;
        play_to(
            &mut s,
            &mut sim,
            &mut tracker,
            &[],
            bar_line + (call_bars + 1.0) * bar,
        );

        let answer = &tracker.notes[called..];
        let mut errors = Vec::new();
        if bar_line < call_start + (call_bars + 1.0) * bar - 1e-9 {
            errors.push(format!(
                "it began before a bar's rest: beat {answer_start:.4}"
            ));
        }
        if answer.len() < 2 {
            errors.push(format!("an answer of {} note(s)", answer.len()));
        }
        for note in answer {
            let on = sim.beats_at(note.on_sample).unwrap();
            let Some(off) = note.off_sample.and_then(|o| sim.beats_at(o)) else {
                errors.push(format!("{note:?} never ended"));
                continue;
            };
            // On the grid of sixteenths, so whole sixteenths long.
            for (edge, beats) in [("start", on), ("end", off)] {
                if off_grid_samples(beats, 0.25, spb) > tolerance {
                    errors.push(format!("{edge} of {note:?} off the grid: beat {beats:.5}"));
                }
            }
            if on >= bar_line + call_bars * bar - 1e-9 {
                errors.push(format!(
                    "{note:?} after the call's length ({call_bars} bars)"
                ));
            }
        }
        tracker.expect_silence(s.now(), "after the answer");
        if !tracker.problems.is_empty() {
            errors.push(format!("{:?}", tracker.problems));
        }
        failures.extend(
            errors
                .into_iter()
                .map(|e| format!("{what} at {tempo} BPM: {e}")),
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
