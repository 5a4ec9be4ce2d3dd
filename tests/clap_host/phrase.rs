//! The phrase a plugin instance plays, read from its saved state, and when its notes must
//! sound on a host timeline.

use std::time::{Duration, Instant};

use phrasegen::phrase::Phrase;

use super::notes::{NoteTracker, PlayedNote};
use super::session::ClapSession;
use super::transport::{HostSim, HostTransport};

/// The JSON inside a CLAP state blob (nice-plug prefixes it with its length, 8 bytes LE).
pub fn state_json(bytes: &[u8]) -> Result<String, String> {
    let body = match bytes.get(..8) {
        Some(len) if u64::from_le_bytes(len.try_into().unwrap()) == (bytes.len() - 8) as u64 => {
            &bytes[8..]
        }
        _ => bytes,
    };
    String::from_utf8(body.to_vec()).map_err(|e| format!("state is not UTF-8 JSON: {e}"))
}

/// The phrase held in a CLAP state blob, the way `phrasegen export-state` reads it.
pub fn phrase_from_state(bytes: &[u8]) -> Result<Phrase, String> {
    phrasegen::cli::export_state::phrase_from_state(&state_json(bytes)?)
        .map_err(|e| format!("{e:#}"))
}

/// The phrase history held in a CLAP state blob (a persisted field, stored as a JSON string).
pub fn history_from_state(bytes: &[u8]) -> Option<phrasegen::plugin::history::PhraseHistory> {
    let v: serde_json::Value = serde_json::from_str(&state_json(bytes).ok()?).ok()?;
    serde_json::from_str(v.pointer("/fields/history")?.as_str()?).ok()
}

/// A parameter's plain value in a saved state (nice-plug stores params by string id).
pub fn state_param(bytes: &[u8], id: &str) -> Option<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&state_json(bytes).ok()?).ok()?;
    v.pointer(&format!("/params/{id}")).cloned()
}

/// Processes stopped blocks (as a host does while idle) until the instance's state holds a
/// phrase, for at most `timeout`. Returns the phrase.
pub fn wait_for_phrase(session: &mut ClapSession, block: u32, timeout: Duration) -> Phrase {
    wait_for_phrase_where(session, block, timeout, "any phrase", |_| true)
}

/// Processes stopped blocks until the state's phrase satisfies `wanted` (described by
/// `what` in the failure message), for at most `timeout`.
pub fn wait_for_phrase_where(
    session: &mut ClapSession,
    block: u32,
    timeout: Duration,
    what: &str,
    wanted: impl Fn(&Phrase) -> bool,
) -> Phrase {
    let started = Instant::now();
    let stopped = HostTransport {
        playing: false,
        ..HostTransport::default()
    };
    loop {
        let events = session.process(block, Some(&stopped), &[]);
        assert!(
            events
                .iter()
                .all(|e| !matches!(e.kind, super::OutKind::NoteOn { .. })),
            "a note-on while the transport is stopped: {events:?}"
        );
        if let Ok(p) = phrase_from_state(&session.save_state()) {
            if wanted(&p) {
                return p;
            }
        }
        assert!(
            started.elapsed() < timeout,
            "no phrase ({what}) in the state within {timeout:?}; log: {:?}",
            session.plugin_log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Plays `blocks` blocks of `block_len` (the host may shorten some) from `sim`, feeding the
/// tracker. Returns the session sample after the last block.
pub fn play(
    session: &mut ClapSession,
    sim: &mut HostSim,
    tracker: &mut NoteTracker,
    block_len: u32,
    blocks: usize,
) -> u64 {
    for _ in 0..blocks {
        play_block(session, sim, tracker, block_len);
    }
    session.now()
}

/// Plays one block from `sim` and feeds the tracker; a stopped block must end every note.
pub fn play_block(
    session: &mut ClapSession,
    sim: &mut HostSim,
    tracker: &mut NoteTracker,
    block_len: u32,
) {
    assert_eq!(
        sim.record
            .last()
            .map_or(session.now(), |r| r.start_sample + u64::from(r.len)),
        session.now(),
        "the simulated host and the session disagree on time"
    );
    let plan = sim.next_block(block_len);
    let events = session.process(plan.len, Some(&plan.transport), &[]);
    tracker.feed(&events);
    if !plan.transport.playing {
        let at = session.now();
        tracker.expect_silence(at, "after a stopped block");
    }
}

/// Plays until `sim` has reached beat `until_beats` (constant forward play).
pub fn play_until_beats(
    session: &mut ClapSession,
    sim: &mut HostSim,
    tracker: &mut NoteTracker,
    block_len: u32,
    until_beats: f64,
) {
    let mut guard = 0;
    while sim.beats() < until_beats {
        play_block(session, sim, tracker, block_len);
        guard += 1;
        assert!(
            guard < 1_000_000,
            "the host never reached beat {until_beats}"
        );
    }
}

/// A phrase note's occurrence on the timeline, in exact (fractional) session samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpectedNote {
    /// Index of the note in the phrase.
    pub index: usize,
    /// Which repetition of the phrase.
    pub cycle: i64,
    pub pitch: u8,
    pub on_sample: f64,
    pub off_sample: f64,
    pub velocity: u8,
}

/// Every phrase note (repeating every phrase length from host beat 0) whose onset falls in
/// beats `[from_beats, to_beats)`, for a host playing at constant `tempo_bpm` that was at
/// beat `anchor_beats` at session sample `anchor_sample`.
pub fn expected_notes(
    phrase: &Phrase,
    anchor_sample: u64,
    anchor_beats: f64,
    tempo_bpm: f64,
    sample_rate: f64,
    from_beats: f64,
    to_beats: f64,
) -> Vec<ExpectedNote> {
    let len = phrase.length_beats();
    let spb = 60.0 / tempo_bpm * sample_rate;
    let to_sample = |beats: f64| anchor_sample as f64 + (beats - anchor_beats) * spb;
    let mut out = Vec::new();
    let first = (from_beats / len).floor() as i64 - 1;
    let last = (to_beats / len).ceil() as i64;
    for cycle in first..=last {
        for (index, n) in phrase.notes.iter().enumerate() {
            let on = cycle as f64 * len + phrase.step_to_beats(n.start_step);
            let off = cycle as f64 * len + phrase.step_to_beats(n.end_step()).min(len);
            if on >= from_beats && on < to_beats {
                out.push(ExpectedNote {
                    index,
                    cycle,
                    pitch: n.pitch,
                    on_sample: to_sample(on),
                    off_sample: to_sample(off),
                    velocity: n.velocity,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.on_sample
            .total_cmp(&b.on_sample)
            .then(a.pitch.cmp(&b.pitch))
    });
    out
}

/// Compares played notes with expected ones: the same notes, each starting and ending within
/// `tolerance_samples`, at the phrase's velocity (humanize off). Returns every mismatch,
/// worded for a failure message.
pub fn compare_notes(
    expected: &[ExpectedNote],
    played: &[PlayedNote],
    tolerance_samples: f64,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut used = vec![false; played.len()];
    for e in expected {
        // The played note of this pitch whose onset is nearest.
        let best = played
            .iter()
            .enumerate()
            .filter(|(i, p)| !used[*i] && p.pitch == e.pitch)
            .min_by(|a, b| {
                (a.1.on_sample as f64 - e.on_sample)
                    .abs()
                    .total_cmp(&(b.1.on_sample as f64 - e.on_sample).abs())
            });
        let want_len = e.off_sample - e.on_sample;
        match best {
            Some((i, p)) if (p.on_sample as f64 - e.on_sample).abs() <= tolerance_samples => {
                used[i] = true;
                let want_velocity = f64::from(e.velocity) / 127.0;
                if (p.velocity - want_velocity).abs() > 0.6 / 127.0 {
                    errors.push(format!(
                        "note #{} (cycle {}, pitch {}) at {}: velocity {:.4} instead of {:.4}",
                        e.index, e.cycle, e.pitch, p.on_sample, p.velocity, want_velocity
                    ));
                }
                match p.off_sample {
                    Some(off) if (off as f64 - e.off_sample).abs() <= tolerance_samples => {}
                    Some(off) => errors.push(format!(
                        "note #{} (cycle {}, pitch {}): on at {} ok, off at {off} but expected \
                         {:.1}: length {} samples instead of {:.1} ({:.0}%)",
                        e.index,
                        e.cycle,
                        e.pitch,
                        p.on_sample,
                        e.off_sample,
                        off - p.on_sample,
                        want_len,
                        100.0 * (off - p.on_sample) as f64 / want_len
                    )),
                    None => errors.push(format!(
                        "note #{} (cycle {}, pitch {}): on at {}, never ended (expected off at {:.1})",
                        e.index, e.cycle, e.pitch, p.on_sample, e.off_sample
                    )),
                }
            }
            Some((_, p)) => errors.push(format!(
                "note #{} (cycle {}, pitch {}): expected on at {:.1}, nearest played on at {}",
                e.index, e.cycle, e.pitch, e.on_sample, p.on_sample
            )),
            None => errors.push(format!(
                "note #{} (cycle {}, pitch {}): expected on at {:.1}, never played",
                e.index, e.cycle, e.pitch, e.on_sample
            )),
        }
    }
    for (p, used) in played.iter().zip(&used) {
        if !used {
            errors.push(format!(
                "unexpected note: pitch {} on at {} off at {:?}",
                p.pitch, p.on_sample, p.off_sample
            ));
        }
    }
    errors
}

/// Panics with the first mismatches (and their count) if any.
pub fn assert_notes_match(context: &str, errors: &[String]) {
    if !errors.is_empty() {
        panic!(
            "{context}: {} mismatch(es):\n  {}",
            errors.len(),
            errors
                .iter()
                .take(12)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
}
