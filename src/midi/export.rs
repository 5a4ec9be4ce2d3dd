//! Writing phrases as format-1 Standard MIDI Files: a conductor track (name, tempo, time
//! signature) and one note track, with an end-of-track at the end of the phrase's last bar
//! so the clip a DAW shows is exactly the phrase.

use std::path::Path;

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::phrase::Phrase;

/// Ticks per quarter note of exported files, when the grid divides it.
pub const EXPORT_TICKS_PER_QUARTER: u16 = 480;

/// Ticks per quarter for a grid: 480 when it divides evenly, else a multiple of the grid.
fn ticks_per_quarter(steps_per_quarter: u32) -> u16 {
    let spq = steps_per_quarter.clamp(1, 273) as u16;
    if EXPORT_TICKS_PER_QUARTER.is_multiple_of(spq) {
        EXPORT_TICKS_PER_QUARTER
    } else {
        spq * 120
    }
}

/// Writes `phrase` as MIDI bytes on `channel` (0-based, 0..=15).
pub fn export_bytes_on_channel(phrase: &Phrase, track_name: &str, channel: u8) -> Vec<u8> {
    let tpq = ticks_per_quarter(phrase.steps_per_quarter);
    let ticks_per_step = u64::from(tpq) / u64::from(phrase.steps_per_quarter.clamp(1, 273));
    let name = track_name.as_bytes();
    let us_per_quarter = (60_000_000.0 / phrase.tempo_bpm.clamp(1.0, 1000.0)).round() as u32;
    let ts = phrase.time_signature;
    let den_pow = ts.denominator.max(1).trailing_zeros() as u8;

    let meta = |kind| TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(kind),
    };
    let conductor = vec![
        meta(MetaMessage::TrackName(name)),
        meta(MetaMessage::Tempo(u24::new(us_per_quarter.min(0xFF_FFFF)))),
        meta(MetaMessage::TimeSignature(
            ts.numerator.max(1),
            den_pow,
            24,
            8,
        )),
        meta(MetaMessage::EndOfTrack),
    ];

    // (tick, is_on, pitch, velocity (64 for an off)); offs sort before ons at the same tick so
    // a repeated note is released before it starts again.
    let mut timed: Vec<(u64, bool, u8, u8)> = Vec::with_capacity(phrase.notes.len() * 2);
    for n in &phrase.notes {
        let start = u64::from(n.start_step) * ticks_per_step;
        let end = u64::from(n.end_step()) * ticks_per_step;
        timed.push((start, true, n.pitch.min(127), n.velocity.clamp(1, 127)));
        timed.push((end, false, n.pitch.min(127), 64));
    }
    timed.sort_unstable();
    let channel = u4::new(channel.min(15));
    let mut notes = vec![meta(MetaMessage::TrackName(name))];
    let mut last = 0u64;
    for (tick, on, pitch, velocity) in timed {
        let (key, vel) = (u7::new(pitch), u7::new(velocity));
        let message = if on {
            MidiMessage::NoteOn { key, vel }
        } else {
            MidiMessage::NoteOff { key, vel }
        };
        notes.push(TrackEvent {
            delta: u28::new((tick - last).min(0x0FFF_FFFF) as u32),
            kind: TrackEventKind::Midi { channel, message },
        });
        last = tick;
    }
    let phrase_end = u64::from(phrase.total_steps()) * ticks_per_step;
    notes.push(TrackEvent {
        delta: u28::new(phrase_end.saturating_sub(last).min(0x0FFF_FFFF) as u32),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });

    let mut smf = Smf::new(Header::new(
        Format::Parallel,
        Timing::Metrical(u15::new(tpq)),
    ));
    smf.tracks = vec![conductor, notes];
    let mut out = Vec::new();
    smf.write_std(&mut out)
        .expect("writing MIDI to memory cannot fail");
    out
}

/// Writes `phrase` as MIDI bytes on channel 1.
///
/// ```
/// use phrasegen::phrase::{Note, Phrase};
/// let mut phrase = Phrase::default();
/// phrase.notes.push(Note::new(0, 60, 4, 100));
/// let bytes = phrasegen::midi::export_bytes(&phrase, "melody");
/// let back = phrasegen::midi::import_bytes(&bytes, &Default::default()).unwrap();
/// assert_eq!(back.phrase, phrase);
/// ```
pub fn export_bytes(phrase: &Phrase, track_name: &str) -> Vec<u8> {
    export_bytes_on_channel(phrase, track_name, 0)
}

/// Writes `phrase` to `path` atomically: a temporary file beside it, then a rename, so a
/// crash never leaves half a file where a DAW might pick it up.
pub fn export_file(phrase: &Phrase, track_name: &str, path: &Path) -> std::io::Result<()> {
    crate::fsutil::write_atomically(path, &export_bytes(phrase, track_name))
}
