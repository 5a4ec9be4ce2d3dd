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
/// How long a test waits for the plugin's worker thread to do something (generate, follow
/// the meter, adopt a loaded state). Generous: a busy machine may give the worker little CPU.
/// Every wait ends as soon as the event is seen, so a quiet machine never waits this long.
const GENERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a host in another meter may play before the phrase follows it.
const METER_TIMEOUT: Duration = GENERATION_TIMEOUT;

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

/// Plays one phrase cycle from beat 0 (and a beat more, so every note ends) and stops.
/// Returns what is wrong: phrase notes missing, or not starting and ending within
/// `tolerance_samples`, and notes stuck, doubled or orphaned.
fn cycle_errors(
    session: &mut ClapSession,
    phrase: &Phrase,
    style: PositionStyle,
    meter: (u16, u16),
    block: u32,
    tolerance_samples: f64,
) -> Vec<String> {
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
    let mut errors = compare_notes(&expected, &played, tolerance_samples);
    if !errors.is_empty() {
        errors.insert(
            0,
            format!(
                "{} phrase notes, {} played, {} wrong",
                expected.len(),
                played.len(),
                errors.len()
            ),
        );
    }
    errors.extend(tracker.problems.iter().map(|p| p.to_string()));
    errors
}

/// [`cycle_errors`], asserted.
fn play_cycle_and_check(
    session: &mut ClapSession,
    phrase: &Phrase,
    style: PositionStyle,
    meter: (u16, u16),
    block: u32,
    tolerance_samples: f64,
    context: &str,
) {
    let errors = cycle_errors(session, phrase, style, meter, block, tolerance_samples);
    assert_notes_match(context, &errors);
}

/// Plays cycles (4/4, exact transport) until one is exactly `phrase`: for a change the
/// worker thread makes on its own time (adopting a state loaded into an active instance),
/// which a busy machine may delay by a cycle or two. Panics with the last cycle's errors
/// after [`GENERATION_TIMEOUT`].
fn eventually_plays(session: &mut ClapSession, phrase: &Phrase, context: &str) {
    let started = Instant::now();
    loop {
        let errors = cycle_errors(session, phrase, PositionStyle::EXACT, (4, 4), 512, 1.0);
        if errors.is_empty() {
            return;
        }
        if started.elapsed() > GENERATION_TIMEOUT {
            assert_notes_match(
                &format!("{context} (after {GENERATION_TIMEOUT:?})"),
                &errors,
            );
        }
    }
}

/// Plays a phrase cycle in 4/4 for each (style, description, tolerance) and block size on
/// one instance; asserts at the end, one line per failing case.
fn check_styles(cases: &[(PositionStyle, String, f64)], blocks: &[u32]) {
    let (mut s, phrase) = instance(*blocks.iter().max().unwrap());
    let mut failures = Vec::new();
    for (style, name, tolerance) in cases {
        for &block in blocks {
            let context = format!("{name}, {block}-sample blocks");
            let errors = cycle_errors(&mut s, &phrase, *style, (4, 4), block, *tolerance);
            failures.extend(errors.into_iter().map(|e| (context.clone(), e)));
        }
    }
    assert_grouped("phrase cycles", &failures);
}

/// Panics if there are failures, grouped by context: how many, and the first three.
fn assert_grouped(what: &str, failures: &[(String, String)]) {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (context, failure) in failures {
        match groups.iter_mut().find(|g| g.0 == context) {
            Some(g) => g.1.push(failure),
            None => groups.push((context, vec![failure])),
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n{}",
        failures.len(),
        groups
            .iter()
            .map(|(context, list)| format!(
                "  {context}: {}\n      {}",
                list.len(),
                list.iter()
                    .take(3)
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n      ")
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
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
    check_styles(
        &[(PositionStyle::EXACT, "exact transport".into(), 1.0)],
        &[256, 1024],
    );
}

#[test]
fn beats_rounded_to_the_hosts_tick_keep_note_lengths() {
    // Ardour reports beats on a 1/1920 grid: 12.5 samples at 120 BPM and 48 kHz.
    let tick_samples = samples_per_beat(120.0) / 1920.0;
    check_styles(
        &[
            (
                PositionStyle::ARDOUR,
                "beats rounded to 1/1920, exact seconds".into(),
                1.0,
            ),
            // Nothing more precise to go by: within half a tick.
            (
                PositionStyle::TICKS_ONLY,
                "beats rounded to 1/1920 only".into(),
                tick_samples / 2.0 + 1.0,
            ),
        ],
        &[256, 1024],
    );
}

#[test]
fn a_host_giving_only_seconds_is_followed() {
    check_styles(
        &[(
            PositionStyle::SECONDS_ONLY,
            "seconds only (1 µs resolution)".into(),
            1.0,
        )],
        &[256, 1024],
    );
}

#[test]
fn position_jitter_does_not_chop_notes() {
    let jitter = 4.0;
    check_styles(
        &[(
            PositionStyle::jitter(jitter),
            format!("position jitter of ±{jitter} samples"),
            jitter + 1.0,
        )],
        &[256, 1024],
    );
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
            let mut found = Vec::new();
            let cut = Some(inside + 3.0);
            check_chase(&phrase, &tracker, &jumps, cut, spb, &mut found);
            errors.extend(found.into_iter().map(|e| (context.clone(), e)));
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
        // The stop ends a chased note that would sound longer.
        let stopped_at = sim.beats();
        sim.playing = false;
        play_block(&mut s, &mut sim, &mut tracker, 512);
        tracker.assert_clean(&context);
        let mut found = Vec::new();
        check_chase(
            &phrase,
            &tracker,
            &jumps(&sim),
            Some(stopped_at),
            spb,
            &mut found,
        );
        errors.extend(found.into_iter().map(|e| (context.clone(), e)));
    }
    {
        let context = format!("transport started at beat {inside:.3}");
        let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, s.now());
        sim.seek(inside);
        let start = s.now();
        let mut tracker = NoteTracker::new();
        play_until_beats(&mut s, &mut sim, &mut tracker, 512, inside + 1.0);
        let stopped_at = sim.beats();
        sim.playing = false;
        play_block(&mut s, &mut sim, &mut tracker, 512);
        tracker.assert_clean(&context);
        let mut found = Vec::new();
        check_chase(
            &phrase,
            &tracker,
            &[(start, inside)],
            Some(stopped_at),
            spb,
            &mut found,
        );
        errors.extend(found.into_iter().map(|e| (context.clone(), e)));
    }
    assert_grouped("loops and seeks", &errors);
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
    // Play on until the new phrase takes over: the state holds the playing phrase, so it
    // changes in the block where the swap happens. The worker may be slow on a busy machine,
    // so the swap may come a few bars later; it must come on a bar line after the request.
    let wait = Instant::now();
    let swap_beats = loop {
        play_block(&mut s, &mut sim, &mut tracker, 256);
        if phrase_from_state(&s.save_state()).expect("a phrase") != phrase {
            // The bar line inside the block just played: the last one before its end (a
            // swap at the block's very end would belong to the next block).
            break (sim.beats() / bar).floor() * bar;
        }
        assert!(
            wait.elapsed() < GENERATION_TIMEOUT,
            "{meter}: no new phrase took over within {GENERATION_TIMEOUT:?} of the seed change"
        );
    };
    assert!(
        swap_beats >= 5.0 * bar,
        "{meter}: the new phrase took over at beat {swap_beats}, before the next bar line"
    );
    let end_beats = swap_beats + 3.0 * bar;
    play_until_beats(&mut s, &mut sim, &mut tracker, 256, end_beats);
    // The last block ends past `end_beats`: what still sounds is released where play stops.
    let stop_beats = sim.beats();
    sim.playing = false;
    play_block(&mut s, &mut sim, &mut tracker, 256);
    let new_phrase = phrase_from_state(&s.save_state()).expect("a phrase");
    assert_ne!(new_phrase, phrase, "no new phrase after the seed changed");
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
        .map(|e| cut(e, stop_beats)),
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

/// The control case: the meter phrases are generated in.
#[test]
fn phrases_follow_a_four_four_host() {
    follows_the_host_meter(4, 4);
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
    let (mut blocks, mut wraps) = (0usize, 0usize);
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
        match sim.loop_beats {
            // Mostly start inside the loop or just before its end, so it wraps.
            Some((start, end)) if rng.random_bool(0.8) => {
                sim.seek((end - rng.random_range(0.0..1.0)).max(start));
            }
            _ if rng.random_bool(0.6) => sim.seek(rng.random_range(0.0..64.0)),
            _ => {}
        }
        sim.playing = true;
        for _ in 0..rng.random_range(1..=40) {
            let block = if rng.random_bool(0.2) {
                rng.random_range(1..=2048)
            } else {
                block_sizes[rng.random_range(0..block_sizes.len())]
            };
            let before = sim.beats();
            play_block(&mut s, &mut sim, &mut tracker, block);
            blocks += 1;
            wraps += usize::from(sim.beats() < before);
            if rng.random_bool(0.02) {
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
    eprintln!(
        "10000 random transport sequences: {blocks} blocks, {wraps} loop wraps, \
         {} notes, no stuck notes",
        tracker.notes.len()
    );
    assert!(
        tracker.notes.len() > 10_000 && wraps > 1_000,
        "only {} notes and {wraps} loop wraps over {blocks} blocks: the test did not exercise \
         playback",
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
    assert_grouped(
        &format!("parameter values that do not round-trip through their text (of {checked})"),
        &failures,
    );
}

// ----- (j): state -----

/// Also the phrase history: saved with the project, loaded back with it.
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
    let saved = a.save_state();
    assert_eq!(phrase_from_state(&saved).unwrap(), phrase);
    // The phrase history goes with it: the first phrase and both re-rolls, the last playing.
    let history = history_from_state(&saved).expect("a history in the state");
    let kept: Vec<_> = history.entries.iter().map(|e| &e.saved.phrase).collect();
    assert_eq!(kept.len(), 3);
    assert_eq!((kept[0], kept[2]), (&first, &phrase));
    assert_eq!(history.position, Some(2));
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
    // Activation waits for the worker to adopt the loaded phrase: it plays from block one.
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
    assert_eq!(
        history_from_state(&fresh.save_state()),
        Some(history),
        "and the history it loaded"
    );

    // Into an instance that is already active and playing its own phrase (a preset load).
    let (mut active, own) = instance(1024);
    assert_ne!(own, phrase, "test setup: the re-rolled phrase must differ");
    active.load_state(&saved);
    eventually_plays(&mut active, &phrase, "state loaded into an active instance");
    assert_eq!(
        phrase_from_state(&active.save_state()).unwrap(),
        phrase,
        "an active instance saves the phrase it loaded"
    );
}

/// A project saved after edits on the roll (a note muted, one deleted) and a star in the
/// history: reopened, it plays the edited notes (not the muted one), shows the muted note
/// again, and keeps the star. The state is the one the instance wrote, edited as the window
/// edits it (`plugin_edit` checks that the window's edit is what the instance saves).
#[test]
fn edits_and_a_starred_phrase_survive_a_project_reopen() {
    use phrasegen::phrase_edit::{delete_note, mute_note};
    use phrasegen::plugin::saved_phrase::SavedPhrase;

    let (mut a, first) = instance(1024);
    assert!(first.notes.len() > 3, "test setup: a phrase of a few notes");
    let edited = delete_note(&mute_note(&first, 0), 1);
    let saved = a.save_state();
    let mut state: serde_json::Value = serde_json::from_str(&state_json(&saved).unwrap()).unwrap();
    let field = |state: &serde_json::Value, name: &str| -> String {
        state["fields"][name].as_str().unwrap().to_string()
    };
    let mut phrase: SavedPhrase = serde_json::from_str(&field(&state, "phrase")).unwrap();
    phrase.phrase = edited.clone();
    let mut history: phrasegen::plugin::history::PhraseHistory =
        serde_json::from_str(&field(&state, "history")).unwrap();
    let at = history.position.unwrap();
    history.entries[at].saved = phrase.clone();
    history.entries[at].starred = true;
    state["fields"]["phrase"] = serde_json::to_string(&phrase).unwrap().into();
    state["fields"]["history"] = serde_json::to_string(&history).unwrap().into();
    let json = state.to_string();
    let mut reopened_state = (json.len() as u64).to_le_bytes().to_vec();
    reopened_state.extend_from_slice(json.as_bytes());

    let mut reopened = ClapSession::new();
    reopened.load_state(&reopened_state);
    reopened.activate(SAMPLE_RATE, 1, 1024);
    reopened.start_processing();
    let mut played = edited.clone();
    played.muted.clear();
    play_cycle_and_check(
        &mut reopened,
        &played,
        PositionStyle::EXACT,
        (4, 4),
        512,
        1.0,
        "the reopened project with its edits",
    );
    let resaved = reopened.save_state();
    let back = phrase_from_state(&resaved).unwrap();
    assert_eq!(back, edited, "the muted note is still there to bring back");
    assert_eq!(back.muted, vec![first.notes[0]]);
    let history = history_from_state(&resaved).unwrap();
    assert!(history.entries[at].starred, "the star survives");
    assert_eq!(history.entries[at].saved.phrase, edited);
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

// ----- the harness itself (no plugin): checks that the checks can fail -----

mod harness {
    use super::*;

    #[test]
    fn transports_convert_to_clap_fixed_point_and_flags() {
        let t = HostTransport {
            pos_beats: Some(1.5),
            pos_seconds: None,
            loop_beats: Some((2.0, 6.0)),
            ..HostTransport::default()
        };
        let raw = *t.to_clap().as_raw();
        assert_eq!(raw.song_pos_beats, 3 << 30);
        assert_eq!(raw.loop_end_beats, 6 << 31);
        use clap_sys::events::*;
        assert_ne!(raw.flags & CLAP_TRANSPORT_HAS_BEATS_TIMELINE, 0);
        assert_eq!(raw.flags & CLAP_TRANSPORT_HAS_SECONDS_TIMELINE, 0);
        assert_ne!(raw.flags & CLAP_TRANSPORT_IS_LOOP_ACTIVE, 0);
        assert_ne!(raw.flags & CLAP_TRANSPORT_IS_PLAYING, 0);
    }

    #[test]
    fn simulated_hosts_round_jitter_ramp_and_loop() {
        // Ticks: on the 1/1920 grid, within half a tick of the truth, no seconds.
        let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::TICKS_ONLY, 0);
        let mut off_grid = 0;
        for _ in 0..200 {
            let p = sim.next_block(256);
            let reported = p.transport.pos_beats.unwrap();
            let exact = sim.record.last().unwrap().start_beats;
            assert!((reported * 1920.0 - (reported * 1920.0).round()).abs() < 1e-6);
            assert!((reported - exact).abs() <= 0.5 / 1920.0 + 1e-12);
            off_grid += usize::from((reported - exact).abs() > 1e-9);
            assert!(p.transport.pos_seconds.is_none());
        }
        assert!(off_grid > 100, "rounding must actually move the position");
        // Jitter: within bounds, and not zero.
        let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::jitter(4.0), 0);
        let spb = samples_per_beat(120.0);
        let errors: Vec<f64> = (0..200)
            .map(|_| {
                let p = sim.next_block(512);
                (p.transport.pos_beats.unwrap() - sim.record.last().unwrap().start_beats) * spb
            })
            .collect();
        assert!(errors.iter().all(|e| e.abs() <= 4.0 + 1e-6));
        assert!(errors.iter().any(|e| e.abs() > 2.0));
        // Seconds only.
        let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::SECONDS_ONLY, 0);
        sim.next_block(480);
        let p = sim.next_block(480);
        assert_eq!(p.transport.pos_beats, None);
        assert!((p.transport.pos_seconds.unwrap() - 0.01).abs() < 1e-9);
        // A ramp: 60 -> 120 BPM over 48000 samples covers 1.5 beats.
        let mut sim = HostSim::new(SAMPLE_RATE, 60.0, PositionStyle::EXACT, 0);
        sim.tempo_inc = 60.0 / 48_000.0;
        for _ in 0..48_000 / 480 {
            sim.next_block(480);
        }
        assert!((sim.beats() - 1.5).abs() < 1e-9, "{}", sim.beats());
        assert!((sim.tempo_bpm - 120.0).abs() < 1e-9);
        assert!((sim.beats_at(24_000).unwrap() - (0.5 + 0.125)).abs() < 1e-9);
        // A loop wrapped mid-block, then split at the loop end.
        let mut sim = HostSim::new(SAMPLE_RATE, 120.0, PositionStyle::EXACT, 0);
        sim.loop_beats = Some((1.0, 2.0));
        sim.next_block(40_000); // 0 .. 1.6667
        sim.next_block(10_000); // wraps at 2.0 = sample 48000, 8000 into the block
        let r = sim.record.last().unwrap();
        assert_eq!(r.wrap, Some((8_000, 1.0)));
        assert!((sim.beats_at(48_000 + 1_000).unwrap() - (1.0 + 1_000.0 / spb)).abs() < 1e-9);
        assert!((sim.beats() - (1.0 + 2_000.0 / spb)).abs() < 1e-9);
        sim.split_at_loop_end = true;
        let p = sim.next_block(40_000);
        assert_eq!(p.len, 22_000);
        assert!((sim.beats() - 1.0).abs() < 1e-9);
    }

    fn on(sample: u64, key: u8) -> OutEvent {
        OutEvent {
            sample,
            kind: OutKind::NoteOn {
                channel: 0,
                key,
                velocity: 0.5,
            },
        }
    }

    fn off(sample: u64, key: u8) -> OutEvent {
        OutEvent {
            sample,
            kind: OutKind::NoteOff { channel: 0, key },
        }
    }

    #[test]
    fn the_note_tracker_finds_stuck_doubled_and_orphan_notes() {
        let mut t = NoteTracker::new();
        t.feed(&[on(0, 60), on(0, 64), off(10, 60), off(10, 61), on(20, 64)]);
        t.expect_silence(30, "stopped");
        t.feed(&[off(40, 64)]); // a late off for a note already reported stuck
        assert_eq!(t.problems.len(), 3, "{:?}", t.problems);
        assert!(matches!(
            t.problems[0],
            NoteProblem::OffWithoutOn { pitch: 61, .. }
        ));
        assert!(matches!(
            t.problems[1],
            NoteProblem::DoubleOn {
                pitch: 64,
                first_on: 0,
                second_on: 20,
                ..
            }
        ));
        assert!(matches!(
            t.problems[2],
            NoteProblem::Stuck {
                pitch: 64,
                on_sample: 20,
                ..
            }
        ));
        assert_eq!(t.notes[0].len_samples(), Some(10));
        let mut clean = NoteTracker::new();
        clean.feed(&[on(0, 60), off(5, 60), on(5, 60), off(9, 60)]);
        clean.feed(&[on(10, 61), on(10, 62)]);
        clean.feed(&[OutEvent {
            sample: 12,
            kind: OutKind::AllNotesOff { channel: Some(0) },
        }]);
        assert_eq!(clean.notes[3].off_sample, Some(12));
        clean.expect_silence(10, "end");
        assert!(clean.problems.is_empty());
    }

    #[test]
    fn note_comparison_accepts_the_phrase_and_rejects_chopped_notes() {
        use phrasegen::phrase::Note;
        let mut phrase = Phrase::empty(1, 4, TimeSignature::FOUR_FOUR, 120.0);
        phrase.notes = vec![
            Note {
                start_step: 0,
                pitch: 60,
                length_steps: 4,
                velocity: 127,
            },
            Note {
                start_step: 8,
                pitch: 64,
                length_steps: 8,
                velocity: 127,
            },
        ];
        let expected = expected_notes(&phrase, 100, 0.0, 120.0, SAMPLE_RATE, 0.0, 4.0);
        assert_eq!(expected.len(), 2);
        assert_eq!(expected[1].on_sample, 100.0 + 2.0 * 24_000.0);
        assert_eq!(expected[1].off_sample, 100.0 + 4.0 * 24_000.0);
        let played = |second_off: u64| {
            vec![
                PlayedNote {
                    pitch: 60,
                    channel: 0,
                    on_sample: 100,
                    off_sample: Some(24_100),
                    velocity: 1.0,
                },
                PlayedNote {
                    pitch: 64,
                    channel: 0,
                    on_sample: 48_101,
                    off_sample: Some(second_off),
                    velocity: 1.0,
                },
            ]
        };
        assert!(compare_notes(&expected, &played(96_100), 1.0).is_empty());
        let chopped = compare_notes(&expected, &played(48_357), 1.0);
        assert_eq!(chopped.len(), 1, "{chopped:?}");
        assert!(chopped[0].contains("length 256 samples"), "{chopped:?}");
        assert_eq!(compare_notes(&expected, &played(96_100)[..1], 1.0).len(), 1);
    }
}
