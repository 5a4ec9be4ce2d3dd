//! Parsing a Standard MIDI File into absolute-time notes, tempos and time signatures.
//!
//! `chunks` finds the tracks, `events` walks their events
//! (midly decodes each one); this module turns events into notes and maps. Reading is
//! lenient by default: faults other readers recover from become warnings, and only a file
//! with nothing usable is an error. [`MidiFile::parse_strict`] rejects any fault.

use std::collections::{HashMap, VecDeque};

use midly::{MetaMessage, MidiMessage, TrackEventKind};

use super::chunks::{self, TrackChunk};
use super::error::{Faults, Location, MidiError, MidiWarning};
use super::events::TrackEvents;
use crate::phrase::TimeSignature;

/// Files longer than this are not turned into gigantic piano rolls (a corrupt delta time can
/// claim millions of beats): strictly they are refused, leniently the track stops there.
pub const MAX_QUARTERS: u64 = 100_000;

/// A note with absolute tick positions, before quantization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickNote {
    pub track: usize,
    /// 0-based MIDI channel (9 = General MIDI drums).
    pub channel: u8,
    pub pitch: u8,
    pub velocity: u8,
    pub start_tick: u64,
    pub end_tick: u64,
}

/// A parsed file: what PhraseGen needs of it, in ticks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MidiFile {
    /// 0, 1 or 2 (the sequences of a format 2 file are read one after another).
    pub format: u16,
    pub ticks_per_quarter: u16,
    /// Track chunks found in the file.
    pub track_count: usize,
    /// Tempo changes: (tick, beats per minute), in file order.
    pub tempos: Vec<(u64, f64)>,
    /// Time signature changes: (tick, signature), in file order.
    pub time_signatures: Vec<(u64, TimeSignature)>,
    /// Key signatures: (tick, sharps (negative: flats)), sorted by tick. The mode flag is
    /// not kept: the signature names a pitch set, and files often mark the mode wrongly.
    pub key_signatures: Vec<(u64, i8)>,
    /// Notes sorted by start tick, then pitch.
    pub notes: Vec<TickNote>,
    /// Notes still held when their track ended (closed at the track's end).
    pub unreleased_notes: usize,
    /// Tick of the last event in any track.
    pub end_tick: u64,
    /// What lenient reading skipped or repaired, in file order (empty when read strictly).
    pub warnings: Vec<MidiWarning>,
}

impl MidiFile {
    /// Reads a file leniently: what other readers recover from is recovered from and listed
    /// in `warnings`; only a file with nothing usable is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, MidiError> {
        Self::parse_with(bytes, Faults::new(false))
    }

    /// Reads a file strictly: any fault is an error.
    pub fn parse_strict(bytes: &[u8]) -> Result<Self, MidiError> {
        Self::parse_with(bytes, Faults::new(true))
    }

    fn parse_with(bytes: &[u8], mut faults: Faults) -> Result<Self, MidiError> {
        let header = read_header(bytes)?;
        if header.format == 2 && faults.is_strict() {
            return Err(MidiError::Format2);
        }
        let mut file = MidiFile {
            format: header.format,
            ticks_per_quarter: header.ticks_per_quarter,
            ..MidiFile::default()
        };
        let tracks = chunks::find_tracks(bytes, header.chunks_start, &mut faults)?;
        if tracks.is_empty() {
            return Err(MidiError::NoTracks);
        }
        if header.format == 2 {
            faults.warn(
                Location {
                    byte_offset: Some(8),
                    ..Location::default()
                },
                format!(
                    "format 2 (independent sequences): the {} sequences are read one after another",
                    tracks.len()
                ),
            );
        }
        let mut decoded_events = 0;
        for (index, chunk) in tracks.iter().enumerate() {
            // Format 2 sequences follow each other; tracks of other formats play together.
            let start_tick = if header.format == 2 { file.end_tick } else { 0 };
            decoded_events += file.read_track(index, chunk, bytes, start_tick, &mut faults)?;
            file.track_count += 1;
        }
        if decoded_events == 0 {
            return Err(MidiError::NoDecodableTrack {
                tracks: tracks.len(),
                first_problem: faults
                    .first()
                    .map_or_else(|| "the tracks are empty".into(), ToString::to_string),
            });
        }
        file.notes
            .sort_by_key(|n| (n.start_tick, n.pitch, n.track, n.channel));
        file.tempos.sort_by_key(|t| t.0);
        file.time_signatures.sort_by_key(|t| t.0);
        file.key_signatures.sort_by_key(|k| k.0);
        file.warnings = faults.into_warnings();
        Ok(file)
    }

    /// The key signature in force longest (sharps; negative: flats), the first of equals;
    /// the first one counts from tick 0. `None` when the file has none.
    pub fn main_key_signature(&self) -> Option<i8> {
        let signatures = &self.key_signatures;
        let end = |i: usize| signatures.get(i + 1).map_or(self.end_tick, |k| k.0);
        let start = |i: usize| if i == 0 { 0 } else { signatures[i].0 };
        (0..signatures.len())
            .max_by_key(|&i| (end(i).saturating_sub(start(i)), std::cmp::Reverse(i)))
            .map(|i| signatures[i].1)
    }

    /// Bars as `(start, end, time signature)` ticks, following the time-signature map (4/4
    /// until the first one, as MIDI defines); a change in mid-bar ends that bar early. Only
    /// bars that end by the file's last event are listed.
    pub fn bars(&self) -> Vec<(u64, u64, TimeSignature)> {
        let tpq = f64::from(self.ticks_per_quarter.max(1));
        let changes = &self.time_signatures;
        let (mut bars, mut tick, mut next) = (Vec::new(), 0u64, 0usize);
        let mut ts = TimeSignature::FOUR_FOUR;
        loop {
            while next < changes.len() && changes[next].0 <= tick {
                ts = changes[next].1;
                next += 1;
            }
            let mut end = tick + ((ts.quarters_per_bar() * tpq).round() as u64).max(1);
            if let Some(&(at, _)) = changes.get(next) {
                end = end.min(at);
            }
            if end > self.end_tick {
                return bars;
            }
            bars.push((tick, end, ts));
            tick = end;
        }
    }

    /// Length in quarter notes (from the last event).
    pub fn length_quarters(&self) -> f64 {
        self.end_tick as f64 / f64::from(self.ticks_per_quarter)
    }

    /// Reads one track's events from `start_tick` on; returns how many decoded.
    fn read_track(
        &mut self,
        track: usize,
        chunk: &TrackChunk,
        bytes: &[u8],
        start_tick: u64,
        faults: &mut Faults,
    ) -> Result<usize, MidiError> {
        let tpq = u64::from(self.ticks_per_quarter);
        let mut tick = start_tick;
        let mut open = OpenNotes::new();
        let mut events =
            TrackEvents::new(track, &bytes[chunk.data.clone()], chunk.data.start, faults);
        let mut decoded = 0usize;
        while let Some(event) = events.next() {
            let event = event?;
            decoded += 1;
            let location = Location::in_track(track, event.byte_offset, Some(event.index));
            let event_tick = tick + event.delta_ticks;
            if event_tick / tpq > MAX_QUARTERS {
                let error = MidiError::TooLong {
                    quarters: event_tick / tpq,
                    tick: event_tick,
                    max_quarters: MAX_QUARTERS,
                };
                events
                    .faults()
                    .recover(location, error, "the rest of the track is skipped")?;
                break;
            }
            tick = event_tick;
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    self.note_message(&mut open, track, u8::from(channel), message, tick);
                }
                TrackEventKind::Meta(MetaMessage::Tempo(us_per_quarter)) => {
                    let us = u32::from(us_per_quarter);
                    self.tempo_change(us, tick, location, events.faults())?;
                }
                TrackEventKind::Meta(MetaMessage::TimeSignature(num, den_pow, _, _)) => {
                    self.time_signature_change(num, den_pow, tick, location, events.faults())?;
                }
                // More than 7 sharps or flats names no key: ignored, as other readers do.
                TrackEventKind::Meta(MetaMessage::KeySignature(sharps, _minor))
                    if (-7..=7).contains(&sharps) =>
                {
                    self.key_signatures.push((tick, sharps));
                }
                _ => {}
            }
        }
        self.close_unreleased(open, track, tick);
        self.end_tick = self.end_tick.max(tick);
        Ok(decoded)
    }

    /// Starts or ends a note at `tick`; other channel messages do not matter here.
    fn note_message(
        &mut self,
        open: &mut OpenNotes,
        track: usize,
        channel: u8,
        message: MidiMessage,
        tick: u64,
    ) {
        match message {
            MidiMessage::NoteOn { key, vel } if u8::from(vel) > 0 => open
                .entry((channel, u8::from(key)))
                .or_default()
                .push_back((tick, u8::from(vel))),
            // Note-on with velocity 0 is a note-off. Overlapping notes of one
            // pitch are paired first-in, first-out.
            MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                let key = (channel, u8::from(key));
                if let Some(start) = open.get_mut(&key).and_then(VecDeque::pop_front) {
                    self.push_note(track, key, start, tick);
                }
            }
            _ => {}
        }
    }

    /// Records a tempo change; a tempo of 0 µs per quarter (which would mean infinite
    /// speed) is a fault, recovered from by ignoring the change.
    fn tempo_change(
        &mut self,
        us: u32,
        tick: u64,
        location: Location,
        faults: &mut Faults,
    ) -> Result<(), MidiError> {
        if us == 0 {
            let message = "tempo of 0 microseconds per quarter note".into();
            faults.malformed(location, message, "the tempo change is ignored")?;
        } else {
            self.tempos.push((tick, 60_000_000.0 / f64::from(us)));
        }
        Ok(())
    }

    /// Records a time signature change (the denominator comes as a power of two); an
    /// impossible one is a fault, recovered from by ignoring it.
    fn time_signature_change(
        &mut self,
        num: u8,
        den_pow: u8,
        tick: u64,
        location: Location,
        faults: &mut Faults,
    ) -> Result<(), MidiError> {
        if num == 0 || den_pow > 6 {
            let message = format!(
                "impossible time signature {num}/2^{den_pow}: the numerator must be at least 1 \
                 and the denominator at most 64"
            );
            faults.malformed(location, message, "the time signature is ignored")?;
        } else {
            self.time_signatures
                .push((tick, TimeSignature::new(num, 1 << den_pow)));
        }
        Ok(())
    }

    /// Closes the notes never released where their track ends (`tick`), and counts them.
    fn close_unreleased(&mut self, open: OpenNotes, track: usize, tick: u64) {
        for (key, starts) in open {
            self.unreleased_notes += starts.len();
            for start in starts {
                self.push_note(track, key, start, tick);
            }
        }
    }

    /// Records a note of `track` on `(channel, pitch)`, begun at `(start tick, velocity)`
    /// and ended at `end_tick`.
    fn push_note(
        &mut self,
        track: usize,
        (channel, pitch): (u8, u8),
        (start_tick, velocity): (u64, u8),
        end_tick: u64,
    ) {
        self.notes.push(TickNote {
            track,
            channel,
            pitch,
            velocity,
            start_tick,
            end_tick,
        });
    }
}

/// Notes begun and not yet ended, per (channel, pitch): start tick and velocity, oldest
/// first.
type OpenNotes = HashMap<(u8, u8), VecDeque<(u64, u8)>>;

struct Header {
    format: u16,
    ticks_per_quarter: u16,
    chunks_start: usize,
}

fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn read_header(bytes: &[u8]) -> Result<Header, MidiError> {
    if bytes.is_empty() {
        return Err(MidiError::NotMidi("the file is empty".into()));
    }
    if bytes.len() < 4 || &bytes[..4] != b"MThd" {
        return Err(MidiError::NotMidi(
            "the file does not start with the `MThd` header chunk".into(),
        ));
    }
    if bytes.len() < 14 {
        return Err(MidiError::NotMidi(format!(
            "the header is cut short: the file has {} bytes, a header needs 14",
            bytes.len()
        )));
    }
    let header_len = chunks::be_u32(&bytes[4..8]) as usize;
    if header_len < 6 {
        return Err(MidiError::NotMidi(format!(
            "the header chunk is {header_len} bytes long, it must be at least 6"
        )));
    }
    let format = be_u16(&bytes[8..10]);
    let division = be_u16(&bytes[12..14]);
    if format > 2 {
        return Err(MidiError::NotMidi(format!(
            "unknown MIDI format {format} (byte 8); formats are 0, 1 and 2"
        )));
    }
    if division & 0x8000 != 0 {
        return Err(MidiError::SmpteTiming {
            fps: ((division >> 8) as u8 as i8).unsigned_abs(),
            subframes: (division & 0xff) as u8,
        });
    }
    if division == 0 {
        return Err(MidiError::ZeroTicksPerQuarter);
    }
    Ok(Header {
        format,
        ticks_per_quarter: division,
        chunks_start: 8usize.saturating_add(header_len),
    })
}
