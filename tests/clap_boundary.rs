//! The built plugin hosted through CLAP (`clack-host`), as a DAW hosts it: scanned,
//! instantiated, activated and played with realistic, imprecise transports (beats rounded to
//! the host's tick, seconds only, jitter, tempo ramps, loops, seeks, 3/4 and 6/8), its state
//! saved and loaded, its parameters' texts round-tripped, deactivated, rendered offline.
//!
//! Notes are judged by their lengths as well as their onsets, against the phrase the plugin
//! saves in its state.

mod clap_host;

use std::time::{Duration, Instant};

use clap_host::*;
use phrasegen::phrase::{Phrase, TimeSignature};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

const SAMPLE_RATE: f64 = 48_000.0;
const GENERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a host in another meter may play before the phrase follows it.
const METER_TIMEOUT: Duration = Duration::from_secs(5);

/// A started instance and the first phrase it generated.
fn instance(max_block: u32) -> (ClapSession, Phrase) {
    let mut s = ClapSession::started(SAMPLE_RATE, max_block);
    let phrase = wait_for_phrase(&mut s, max_block.min(512), GENERATION_TIMEOUT);
    assert!(!phrase.notes.is_empty(), "the generated phrase has notes");
    (s, phrase)
}

fn samples_per_beat(tempo_bpm: f64) -> f64 {
    60.0 / tempo_bpm * SAMPLE_RATE
}

/// Plays one phrase cycle from beat 0 (and a beat more, so every note ends), stops, and
/// checks that every note of the phrase played, starting and ending within
/// `tolerance_samples`, with nothing stuck, doubled or orphaned.
fn play_cycle_and_check(
    session: &mut ClapSession,
    phrase: &Phrase,
    style: PositionStyle,
    meter: (u16, u16),
    block: u32,
    tolerance_samples: f64,
    context: &str,
) {
    let tempo = 120.0;
    let start = session.now();
    let mut sim = HostSim::new(SAMPLE_RATE, tempo, style, start);
    sim.time_signature = meter;
    let mut tracker = NoteTracker::new();
    let len = phrase.length_beats();
    play_until_beats(session, &mut sim, &mut tracker, block, len + 1.0);
    sim.playing = false;
    play_block(session, &mut sim, &mut tracker, block);

    let expected = expected_notes(phrase, start, 0.0, tempo, SAMPLE_RATE, 0.0, len);
    // The next cycle's notes start at `len`: half a grid step before it is still this cycle.
    let half_step = 0.5 / f64::from(phrase.steps_per_quarter);
    let window_end = start + ((len - half_step) * samples_per_beat(tempo)) as u64;
    let played = tracker.notes_between(start, window_end);
    let errors = compare_notes(&expected, &played, tolerance_samples);
    assert_notes_match(
        &format!(
            "{context}: {} phrase notes, {} played",
            expected.len(),
            played.len()
        ),
        &errors,
    );
    tracker.assert_clean(context);
}

// ----- (a)-(d): steady playback under exact and imprecise positions -----

#[test]
fn the_factory_offers_phrasegen_as_a_note_effect() {
    let descriptors = scan();
    let d = descriptors
        .iter()
        .find(|d| d.id == PLUGIN_ID)
        .unwrap_or_else(|| panic!("{PLUGIN_ID} not in {descriptors:?}"));
    assert_eq!(d.name, "PhraseGen");
    assert!(!d.vendor.is_empty(), "no vendor: {d:?}");
    assert!(
        d.features.iter().any(|f| f == "note-effect"),
        "a MIDI generator is a note-effect: {:?}",
        d.features
    );
    let mut s = ClapSession::new();
    let (note_inputs, note_outputs, dialects) = s.note_ports();
    assert_eq!(note_outputs, 1, "one note output port");
    assert!(note_inputs <= 1);
    assert!(!dialects.is_empty(), "the note output speaks CLAP or MIDI");
    assert!(!s.params().is_empty());
}

#[test]
fn exact_transport_plays_every_note_with_its_length() {
    let (mut s, phrase) = instance(1024);
    for block in [256, 1024] {
        play_cycle_and_check(
            &mut s,
            &phrase,
            PositionStyle::EXACT,
            (4, 4),
            block,
            1.0,
            &format!("exact transport, {block}-sample blocks"),
        );
    }
}

#[test]
fn beats_rounded_to_the_hosts_tick_keep_note_lengths() {
    // Ardour reports beats on a 1/1920 grid: 12.5 samples at 120 BPM and 48 kHz.
    let (mut s, phrase) = instance(1024);
    let tick_samples = samples_per_beat(120.0) / 1920.0;
    for (style, name, tolerance) in [
        (PositionStyle::ARDOUR, "ticks and exact seconds", 1.0),
        // Nothing more precise to go by: within half a tick.
        (
            PositionStyle::TICKS_ONLY,
            "ticks only",
            tick_samples / 2.0 + 1.0,
        ),
    ] {
        for block in [256, 1024] {
            play_cycle_and_check(
                &mut s,
                &phrase,
                style,
                (4, 4),
                block,
                tolerance,
                &format!("beats rounded to 1/1920 ({name}), {block}-sample blocks"),
            );
        }
    }
}

#[test]
fn a_host_giving_only_seconds_is_followed() {
    let (mut s, phrase) = instance(1024);
    for block in [256, 1024] {
        play_cycle_and_check(
            &mut s,
            &phrase,
            PositionStyle::SECONDS_ONLY,
            (4, 4),
            block,
            1.0,
            &format!("seconds only (1 µs resolution), {block}-sample blocks"),
        );
    }
}

#[test]
fn position_jitter_does_not_chop_notes() {
    let (mut s, phrase) = instance(1024);
    let jitter = 4.0;
    for block in [256, 1024] {
        play_cycle_and_check(
            &mut s,
            &phrase,
            PositionStyle::jitter(jitter),
            (4, 4),
            block,
            jitter + 1.0,
            &format!("position jitter of ±{jitter} samples, {block}-sample blocks"),
        );
    }
}

// ----- (e): tempo ramps -----

#[test]
fn notes_keep_their_length_in_beats_through_a_tempo_ramp() {
    let (mut s, phrase) = instance(2048);
    let len = phrase.length_beats();
    let (from_bpm, to_bpm) = (80.0, 160.0);
    // Linear in samples: the ramp lasts len beats at the mean tempo.
    let ramp_samples = len * 60.0 * SAMPLE_RATE / ((from_bpm + to_bpm) / 2.0);
    // Eight samples at the fastest tempo.
    let tolerance_beats = 8.0 / samples_per_beat(to_bpm);
    for block in [256, 2048] {
        let start = s.now();
        let mut sim = HostSim::new(SAMPLE_RATE, from_bpm, PositionStyle::EXACT, start);
        sim.tempo_inc = (to_bpm - from_bpm) / ramp_samples;
        let mut tracker = NoteTracker::new();
        play_until_beats(&mut s, &mut sim, &mut tracker, block, len + 0.5);
        sim.playing = false;
        play_block(&mut s, &mut sim, &mut tracker, block);
        let context = format!("tempo ramp {from_bpm}→{to_bpm} BPM, {block}-sample blocks");
        tracker.assert_clean(&context);

        let played: Vec<(PlayedNote, f64, f64)> = tracker
            .notes
            .iter()
            .filter_map(|n| {
                let on = sim.beats_at(n.on_sample)?;
                let off = sim.beats_at(n.off_sample?)?;
                Some((*n, on, off))
            })
            .collect();
        let mut errors = Vec::new();
        for (i, n) in phrase.notes.iter().enumerate() {
            let want_on = phrase.step_to_beats(n.start_step);
            let want_len = phrase.step_to_beats(n.end_step()).min(len) - want_on;
            let nearest = played
                .iter()
                .filter(|p| p.0.pitch == n.pitch)
                .min_by(|a, b| (a.1 - want_on).abs().total_cmp(&(b.1 - want_on).abs()));
            match nearest {
                Some((p, on, off)) if (on - want_on).abs() <= tolerance_beats => {
                    if ((off - on) - want_len).abs() > tolerance_beats {
                        errors.push(format!(
                            "note #{i} (pitch {}) at beat {want_on}: lasts {:.4} beats instead of \
                             {want_len} (samples {}..{:?})",
                            n.pitch,
                            off - on,
                            p.on_sample,
                            p.off_sample
                        ));
                    }
                }
                Some((p, on, _)) => errors.push(format!(
                    "note #{i} (pitch {}): expected at beat {want_on}, nearest at beat {on:.4} \
                     (sample {})",
                    n.pitch, p.on_sample
                )),
                None => errors.push(format!(
                    "note #{i} (pitch {}) at beat {want_on}: never played",
                    n.pitch
                )),
            }
        }
        assert_notes_match(&context, &errors);
    }
}

// ----- (f): loops and seeks -----

/// Notes of the phrase (repeating from beat 0) sounding strictly inside at beat `at`:
/// (pitch, beats left until the note ends).
fn sounding_at(phrase: &Phrase, at: f64) -> Vec<(u8, f64)> {
    let len = phrase.length_beats();
    let pos = at.rem_euclid(len);
    phrase
        .notes
        .iter()
        .filter_map(|n| {
            let on = phrase.step_to_beats(n.start_step);
            let off = phrase.step_to_beats(n.end_step()).min(len);
            (on + 1e-9 < pos && pos < off - 1e-9).then_some((n.pitch, off - pos))
        })
        .collect()
}

/// A position inside the phrase's longest note (where a chase must re-strike it).
fn inside_longest_note(phrase: &Phrase) -> f64 {
    let n = phrase
        .notes
        .iter()
        .max_by_key(|n| (n.length_steps, std::cmp::Reverse(n.start_step)))
        .expect("a phrase with notes");
    phrase.step_to_beats(n.start_step) + phrase.step_to_beats(n.length_steps) / 2.0
}

/// Jumps of the host's timeline: (session sample, beat jumped to), from loop wraps inside
/// blocks and from blocks that start somewhere else than where the previous one ended.
fn jumps(sim: &HostSim) -> Vec<(u64, f64)> {
    let mut out = Vec::new();
    for (i, r) in sim.record.iter().enumerate() {
        if let Some((offset, to)) = r.wrap {
            out.push((r.start_sample + u64::from(offset), to));
        }
        if let Some(prev) = i.checked_sub(1).map(|j| &sim.record[j]) {
            let continued = match prev.wrap {
                Some((offset, to)) => {
                    to + f64::from(prev.len - offset) * prev.tempo_bpm / 60.0 / SAMPLE_RATE
                }
                None => {
                    prev.start_beats + f64::from(prev.len) * prev.tempo_bpm / 60.0 / SAMPLE_RATE
                }
            };
            if r.playing && (r.start_beats - continued).abs() > 1e-4 {
                out.push((r.start_sample, r.start_beats));
            }
        }
    }
    out
}

/// At every jump, each phrase note sounding at the new position must be struck again there
/// and end where the note ends (or at `cut_beats` from the jump target, e.g. the loop end).
fn check_chase(
    phrase: &Phrase,
    tracker: &NoteTracker,
    jumps: &[(u64, f64)],
    cut_beats: Option<f64>,
    spb: f64,
    errors: &mut Vec<String>,
) {
    for &(at, to_beats) in jumps {
        for (pitch, left) in sounding_at(phrase, to_beats) {
            let left = cut_beats.map_or(left, |cut| left.min(cut - to_beats));
            let want_off = at as f64 + left * spb;
            let struck = tracker
                .notes
                .iter()
                .find(|n| n.pitch == pitch && n.on_sample.abs_diff(at) <= 1);
            match struck {
                None => errors.push(format!(
                    "no chase: pitch {pitch} sounds at beat {to_beats:.4} (jumped to at sample \
                     {at}) but is not struck there (its note-ons near: {:?})",
                    tracker
                        .notes
                        .iter()
                        .filter(|n| n.pitch == pitch && n.on_sample.abs_diff(at) < spb as u64)
                        .map(|n| n.on_sample)
                        .collect::<Vec<_>>()
                )),
                Some(n) => match n.off_sample {
                    Some(off) if (off as f64 - want_off).abs() <= 1.5 => {}
                    off => errors.push(format!(
                        "chased pitch {pitch} at sample {at} (beat {to_beats:.4}) ends at {off:?}, \
                         expected {want_off:.1} ({left:.4} beats later)"
                    )),
                },
            }
        }
    }
}

#[test]
fn loops_and_seeks_leave_nothing_hanging_and_chase_sounding_notes() {
    let (mut s, phrase) = instance(1024);
    let spb = samples_per_beat(120.0);
    let inside = inside_longest_note(&phrase);
    let mut errors = Vec::new();

    // A loop starting inside a note, wrapped by the plugin mid-block, then by a host that
    // splits its blocks at the loop end.
    for split in [false, true] {
        for block in [256, 1000] {
            let context = format!(
                "loop {inside:.3}..{:.3} beats, {}, {block}-sample blocks",
                inside + 3.0,
                if split {
                    "host splits blocks at the loop end"
                } else {
                    "wrapped mid-block"
                }
            );
            let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, s.now());
            sim.loop_beats = Some((inside, inside + 3.0));
            sim.split_at_loop_end = split;
            let mut tracker = NoteTracker::new();
            // From the start through three wraps.
            play_until_beats(&mut s, &mut sim, &mut tracker, block, inside + 2.0);
            for _ in 0..(3.0 * 3.0 * spb / f64::from(block)) as usize {
                play_block(&mut s, &mut sim, &mut tracker, block);
            }
            sim.playing = false;
            play_block(&mut s, &mut sim, &mut tracker, block);
            tracker.assert_clean(&context);
            let jumps = jumps(&sim);
            assert!(
                jumps.len() >= 2,
                "{context}: the loop wrapped {} times",
                jumps.len()
            );
            let before = errors.len();
            check_chase(
                &phrase,
                &tracker,
                &jumps,
                Some(inside + 3.0),
                spb,
                &mut errors,
            );
            for e in &mut errors[before..] {
                *e = format!("{context}: {e}");
            }
        }
    }

    // Seeks while playing, backwards and forwards, into a sounding note; and starting the
    // transport there.
    let len = phrase.length_beats();
    for (from, to) in [(len * 0.75, inside), (0.1, inside + len)] {
        let context = format!("seek from beat {from:.3} to {to:.3} while playing");
        let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, s.now());
        let mut tracker = NoteTracker::new();
        play_until_beats(&mut s, &mut sim, &mut tracker, 512, from);
        sim.seek(to);
        play_until_beats(&mut s, &mut sim, &mut tracker, 512, to + 1.0);
        sim.playing = false;
        play_block(&mut s, &mut sim, &mut tracker, 512);
        tracker.assert_clean(&context);
        let before = errors.len();
        check_chase(&phrase, &tracker, &jumps(&sim), None, spb, &mut errors);
        for e in &mut errors[before..] {
            *e = format!("{context}: {e}");
        }
    }
    {
        let context = format!("transport started at beat {inside:.3}");
        let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, s.now());
        sim.seek(inside);
        let start = s.now();
        let mut tracker = NoteTracker::new();
        play_until_beats(&mut s, &mut sim, &mut tracker, 512, inside + 1.0);
        sim.playing = false;
        play_block(&mut s, &mut sim, &mut tracker, 512);
        tracker.assert_clean(&context);
        let before = errors.len();
        check_chase(
            &phrase,
            &tracker,
            &[(start, inside)],
            None,
            spb,
            &mut errors,
        );
        for e in &mut errors[before..] {
            *e = format!("{context}: {e}");
        }
    }
    assert_notes_match("loops and seeks", &errors);
}

// ----- (g): the host's meter -----

fn follows_the_host_meter(numerator: u16, denominator: u16) {
    let meter = format!("{numerator}/{denominator}");
    let wanted = TimeSignature {
        numerator: numerator as u8,
        denominator: denominator as u8,
    };
    let (mut s, _first) = instance(512);
    let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, s.now());
    sim.time_signature = (numerator, denominator);
    let bar = sim.bar_beats();
    let mut tracker = NoteTracker::new();
    // Play in the host's meter until the saved phrase is in it.
    let started = Instant::now();
    let phrase = loop {
        play(&mut s, &mut sim, &mut tracker, 512, 8);
        let p = phrase_from_state(&s.save_state()).expect("a phrase");
        if p.time_signature == wanted {
            break p;
        }
        assert!(
            started.elapsed() < METER_TIMEOUT,
            "after {:.0} beats played in {meter}, the phrase is still in {}/{}",
            sim.beats(),
            p.time_signature.numerator,
            p.time_signature.denominator
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let bars = phrase.length_beats() / bar;
    assert!(
        (bars - bars.round()).abs() < 1e-9,
        "a {meter} phrase of {} beats is not whole {meter} bars",
        phrase.length_beats()
    );
    // Let it take over, then play it through from the top.
    let until = sim.beats() + phrase.length_beats() + bar;
    play_until_beats(&mut s, &mut sim, &mut tracker, 512, until);
    sim.playing = false;
    play_block(&mut s, &mut sim, &mut tracker, 512);
    tracker.assert_clean(&format!("{meter}: getting the phrase"));
    play_cycle_and_check(
        &mut s,
        &phrase,
        PositionStyle::EXACT,
        (numerator, denominator),
        512,
        1.0,
        &format!("{meter} phrase played in {meter}"),
    );

    // A new phrase asked for mid-bar starts on the host's next bar line (the default swap).
    let seed = s.param("Seed");
    let old_seed = s.param_value(seed.id).expect("seed value");
    let start = s.now();
    let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, start);
    sim.time_signature = (numerator, denominator);
    let mut tracker = NoteTracker::new();
    let asked_at = 4.0 * bar + 0.5; // mid-bar; the next bar line is 5 bars in
    play_until_beats(&mut s, &mut sim, &mut tracker, 256, asked_at);
    let plan = sim.next_block(256);
    let events = s.process(
        plan.len,
        Some(&plan.transport),
        &[HostEvent::Param {
            time: 0,
            id: seed.id,
            value: old_seed + 1.0,
        }],
    );
    tracker.feed(&events);
    // The host holds still (no audio processed) until the worker has the new phrase.
    let wait = Instant::now();
    let new_phrase = loop {
        let p = phrase_from_state(&s.save_state()).expect("a phrase");
        if p != phrase {
            break p;
        }
        assert!(
            wait.elapsed() < GENERATION_TIMEOUT,
            "no new phrase after the seed changed"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let swap_beats = 5.0 * bar;
    let end_beats = 8.0 * bar;
    play_until_beats(&mut s, &mut sim, &mut tracker, 256, end_beats);
    sim.playing = false;
    play_block(&mut s, &mut sim, &mut tracker, 256);
    let context = format!("{meter}: new phrase asked for at beat {asked_at}");
    tracker.assert_clean(&context);

    let spb = samples_per_beat(120.0);
    let at = |beats: f64| start as f64 + beats * spb;
    let cut = |mut e: ExpectedNote, end: f64| {
        e.off_sample = e.off_sample.min(at(end));
        e
    };
    let mut expected: Vec<ExpectedNote> =
        expected_notes(&phrase, start, 0.0, 120.0, SAMPLE_RATE, 0.0, swap_beats)
            .into_iter()
            .map(|e| cut(e, swap_beats))
            .collect();
    expected.extend(
        expected_notes(
            &new_phrase,
            start,
            0.0,
            120.0,
            SAMPLE_RATE,
            swap_beats,
            end_beats,
        )
        .into_iter()
        .map(|e| cut(e, end_beats)),
    );
    // Notes struck exactly at the swap that the new phrase holds over it (a chase) are
    // allowed; everything else must be as expected.
    let swap_sample = at(swap_beats);
    let chased: Vec<u8> = sounding_at(&new_phrase, swap_beats)
        .iter()
        .map(|c| c.0)
        .collect();
    let played: Vec<PlayedNote> = tracker
        .notes_between(start, at(end_beats) as u64)
        .into_iter()
        .filter(|n| !(chased.contains(&n.pitch) && (n.on_sample as f64 - swap_sample).abs() <= 1.0))
        .collect();
    let errors = compare_notes(&expected, &played, 1.0);
    assert_notes_match(
        &format!("{context}: old phrase until beat {swap_beats} (the {meter} bar line), new after"),
        &errors,
    );
}

#[test]
fn phrases_follow_a_three_four_host() {
    follows_the_host_meter(3, 4);
}

#[test]
fn phrases_follow_a_six_eight_host() {
    follows_the_host_meter(6, 8);
}

// ----- (h): randomized transports -----

#[test]
fn no_stuck_notes_over_ten_thousand_random_transport_sequences() {
    let (mut s, _phrase) = instance(2048);
    let mut rng = Pcg64::seed_from_u64(15);
    let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, s.now()).with_seed(15);
    let mut tracker = NoteTracker::new();
    let styles = [
        PositionStyle::EXACT,
        PositionStyle::ARDOUR,
        PositionStyle::TICKS_ONLY,
        PositionStyle::SECONDS_ONLY,
        PositionStyle::jitter(3.0),
        PositionStyle::jitter(20.0),
    ];
    let meters = [(4, 4), (3, 4), (6, 8), (5, 4), (7, 8)];
    let block_sizes = [16, 64, 128, 256, 441, 512, 1000, 1024, 2048];
    let mut blocks = 0usize;
    for sequence in 0..10_000 {
        sim.style = styles[rng.random_range(0..styles.len())];
        sim.tempo_bpm = rng.random_range(60.0..200.0);
        sim.tempo_inc = if rng.random_bool(0.2) {
            rng.random_range(-2e-4..2e-4)
        } else {
            0.0
        };
        sim.time_signature = meters[rng.random_range(0..meters.len())];
        sim.loop_beats = rng.random_bool(0.3).then(|| {
            let start = rng.random_range(0.0..32.0);
            (start, start + rng.random_range(0.25..8.0))
        });
        sim.split_at_loop_end = rng.random_bool(0.5);
        if rng.random_bool(0.6) {
            sim.seek(rng.random_range(0.0..64.0));
        }
        sim.playing = true;
        for _ in 0..rng.random_range(1..=12) {
            let block = if rng.random_bool(0.2) {
                rng.random_range(1..=2048)
            } else {
                block_sizes[rng.random_range(0..block_sizes.len())]
            };
            play_block(&mut s, &mut sim, &mut tracker, block);
            blocks += 1;
            if rng.random_bool(0.05) {
                sim.seek(rng.random_range(0.0..64.0));
            }
        }
        sim.playing = false;
        play_block(&mut s, &mut sim, &mut tracker, 256);
        blocks += 1;
        if !tracker.problems.is_empty() {
            tracker.assert_clean(&format!(
                "random transport sequence {sequence} (seed 15, {blocks} blocks so far, style \
                 {:?}, loop {:?})",
                sim.style, sim.loop_beats
            ));
        }
    }
    assert!(
        tracker.notes.len() > 2_000,
        "only {} notes played over {blocks} blocks: the test did not exercise playback",
        tracker.notes.len()
    );
}

// ----- (i): parameter texts -----

#[test]
fn every_parameter_text_round_trips() {
    let mut s = ClapSession::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for p in s.params() {
        let values: Vec<f64> = if p.stepped {
            let steps = (p.max - p.min).round() as i64;
            let stride = (steps / 200).max(1);
            let mut v: Vec<f64> = (0..=steps)
                .step_by(stride as usize)
                .map(|i| p.min + i as f64)
                .collect();
            if v.last() != Some(&p.max) {
                v.push(p.max);
            }
            v
        } else {
            (0..=20)
                .map(|i| p.min + (p.max - p.min) * f64::from(i) / 20.0)
                .collect()
        };
        for v in values {
            checked += 1;
            let Some(text) = s.value_to_text(p.id, v) else {
                failures.push((p.name.clone(), format!("value_to_text({v}) failed")));
                continue;
            };
            let Some(back) = s.text_to_value(p.id, &text) else {
                failures.push((
                    p.name.clone(),
                    format!("{v} is shown as {text:?}, which text_to_value rejects"),
                ));
                continue;
            };
            let again = s.value_to_text(p.id, back);
            // Plain values of stepped parameters travel as normalized f32 inside the plugin (a
            // host rounds them to the step).
            if p.stepped && (back - v).abs() > 0.01 {
                failures.push((
                    p.name.clone(),
                    format!("{v} is shown as {text:?}, which reads back as {back}"),
                ));
            } else if again.as_deref() != Some(text.as_str()) {
                failures.push((
                    p.name.clone(),
                    format!("{v} → {text:?} → {back} → {again:?}"),
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} values checked");
    // One line per parameter: how many of its values fail, and the first.
    let mut by_param: Vec<(String, usize, String)> = Vec::new();
    for (name, failure) in &failures {
        match by_param.iter_mut().find(|(n, _, _)| n == name) {
            Some(entry) => entry.1 += 1,
            None => by_param.push((name.clone(), 1, failure.clone())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} parameter values do not round-trip through their text:\n  {}",
        failures.len(),
        by_param
            .iter()
            .map(|(name, n, first)| format!("{name:?}: {n} value(s), e.g. {first}"))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

// ----- (j): state -----

#[test]
fn a_saved_state_plays_the_same_phrase_in_a_fresh_and_in_an_active_instance() {
    // A phrase that the parameters alone do not reproduce: re-rolled twice.
    let (mut a, first) = instance(1024);
    let generate = a.param("Generate");
    let stopped = HostTransport {
        playing: false,
        ..HostTransport::default()
    };
    let mut phrase = first.clone();
    for value in [1.0, 0.0] {
        a.process(
            256,
            Some(&stopped),
            &[HostEvent::Param {
                time: 0,
                id: generate.id,
                value,
            }],
        );
        let previous = phrase.clone();
        phrase = wait_for_phrase_where(&mut a, 256, GENERATION_TIMEOUT, "a re-roll", |p| {
            *p != previous
        });
    }
    idle_for(&mut a, 256, Duration::from_millis(50));
    let saved = a.save_state();
    assert_eq!(phrase_from_state(&saved).unwrap(), phrase);
    play_cycle_and_check(
        &mut a,
        &phrase,
        PositionStyle::EXACT,
        (4, 4),
        512,
        1.0,
        "the instance that saved the state",
    );

    // Into a fresh instance, before activation (a project being opened).
    let mut fresh = ClapSession::new();
    fresh.load_state(&saved);
    fresh.activate(SAMPLE_RATE, 1, 1024);
    fresh.start_processing();
    idle_for(&mut fresh, 256, Duration::from_millis(200));
    play_cycle_and_check(
        &mut fresh,
        &phrase,
        PositionStyle::EXACT,
        (4, 4),
        512,
        1.0,
        "state loaded into a fresh instance",
    );
    assert_eq!(
        phrase_from_state(&fresh.save_state()).unwrap(),
        phrase,
        "a fresh instance saves the phrase it loaded"
    );

    // Into an instance that is already active and playing its own phrase (a preset load).
    let (mut active, own) = instance(1024);
    assert_ne!(own, phrase, "test setup: the re-rolled phrase must differ");
    active.load_state(&saved);
    idle_for(&mut active, 256, Duration::from_millis(200));
    play_cycle_and_check(
        &mut active,
        &phrase,
        PositionStyle::EXACT,
        (4, 4),
        512,
        1.0,
        "state loaded into an active instance",
    );
    assert_eq!(
        phrase_from_state(&active.save_state()).unwrap(),
        phrase,
        "an active instance saves the phrase it loaded"
    );
}

// ----- (k): deactivation -----

#[test]
fn deactivation_leaves_no_note_hanging() {
    let (mut s, phrase) = instance(512);
    assert!(!phrase.notes.is_empty());
    let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, s.now());
    let mut tracker = NoteTracker::new();
    for (round, keep_playing) in [(0, true), (1, false)] {
        // Play until notes are sounding at a block end.
        let mut guard = 0;
        while !tracker.any_sounding() {
            play_block(&mut s, &mut sim, &mut tracker, 512);
            guard += 1;
            assert!(guard < 10_000, "no note ever sounded");
        }
        let hanging = tracker.sounding();
        s.deactivate();
        s.activate(SAMPLE_RATE, 1, 512);
        s.start_processing();
        let first = s.now();
        sim.playing = keep_playing;
        play_block(&mut s, &mut sim, &mut tracker, 512);
        for h in &hanging {
            let note = tracker
                .notes
                .iter()
                .find(|n| {
                    n.pitch == h.pitch && n.channel == h.channel && n.on_sample == h.on_sample
                })
                .unwrap();
            assert!(
                note.off_sample
                    .is_some_and(|off| off >= first && off < first + 512),
                "round {round}: pitch {} (on at {}) sounding at deactivation got no note-off in \
                 the first block after reactivation (samples {first}..{}); off at {:?}",
                h.pitch,
                h.on_sample,
                first + 512,
                note.off_sample
            );
        }
        sim.playing = true;
    }
    sim.playing = false;
    play_block(&mut s, &mut sim, &mut tracker, 512);
    tracker.assert_clean("deactivate and reactivate");
}

// ----- (l): offline rendering -----

/// Renders `beats` beats from the top, offline, right after activation (as a bounce does),
/// from a fresh instance given `state` or a seed. Returns the events (samples from the
/// render's start) and the phrase saved afterwards, if there is one.
fn render(state: Option<&[u8]>, seed: Option<f64>, beats: f64) -> (Vec<OutEvent>, Option<Phrase>) {
    let mut s = ClapSession::new();
    if let Some(state) = state {
        s.load_state(state);
    }
    if let Err(e) = s.set_render_offline(true) {
        eprintln!("offline rendering unavailable ({e}): rendering in realtime mode");
    }
    if let Some(seed) = seed {
        let id = s.param("Seed").id;
        s.flush(&[HostEvent::Param {
            time: 0,
            id,
            value: seed,
        }]);
    }
    s.activate(SAMPLE_RATE, 1, 1024);
    s.start_processing();
    let start = s.now();
    let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, start);
    let mut events = Vec::new();
    while sim.beats() < beats {
        let plan = sim.next_block(1024);
        events.extend(s.process(plan.len, Some(&plan.transport), &[]));
    }
    sim.playing = false;
    let plan = sim.next_block(1024);
    events.extend(s.process(plan.len, Some(&plan.transport), &[]));
    for e in &mut events {
        e.sample -= start;
    }
    (events, phrase_from_state(&s.save_state()).ok())
}

fn first_difference(a: &[OutEvent], b: &[OutEvent]) -> String {
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    format!(
        "{} vs {} events; first difference at #{i}: {:?} vs {:?}",
        a.len(),
        b.len(),
        a.get(i),
        b.get(i)
    )
}

fn note_ons(events: &[OutEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.kind, OutKind::NoteOn { .. }))
        .count()
}

#[test]
fn offline_renders_are_identical_and_complete() {
    // A bounce right after a parameter change: the plugin must wait for its phrase.
    let (first, phrase) = render(None, Some(77.0), 20.0);
    let phrase = phrase.unwrap_or_else(|| {
        panic!(
            "an offline render of 20 beats right after activation ended before any phrase was \
             generated ({} note-ons rendered): offline processing must wait for the phrase",
            note_ons(&first)
        )
    });
    let mut tracker = NoteTracker::new();
    tracker.feed(&first);
    let len = phrase.length_beats();
    let expected = expected_notes(&phrase, 0, 0.0, 120.0, SAMPLE_RATE, 0.0, len);
    let played = tracker.notes_between(0, ((len - 0.125) * samples_per_beat(120.0)) as u64);
    assert_notes_match(
        "offline render from the first sample",
        &compare_notes(&expected, &played, 1.0),
    );
    let (second, phrase2) = render(None, Some(77.0), 20.0);
    assert_eq!(Some(phrase), phrase2, "the same seed gives the same phrase");
    assert!(
        first == second,
        "two offline renders with the same settings differ: {}",
        first_difference(&first, &second)
    );

    // The same again from a saved state.
    let mut source = ClapSession::started(SAMPLE_RATE, 1024);
    wait_for_phrase(&mut source, 256, GENERATION_TIMEOUT);
    let saved = source.save_state();
    let (a, _) = render(Some(&saved), None, 20.0);
    let (b, _) = render(Some(&saved), None, 20.0);
    assert!(
        note_ons(&a) > 0,
        "the render of a saved state played nothing"
    );
    assert!(
        a == b,
        "two offline renders of one saved state differ: {}",
        first_difference(&a, &b)
    );
}
