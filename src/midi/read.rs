//! Parsing a Standard MIDI File into absolute-time notes, tempos and time signatures.
//!
//! midly does the event decoding (running status included, `strict` so nothing is silently
//! skipped); a small chunk scan in front of it finds the byte offset of every track so errors
//! can say where they are.

use std::collections::{HashMap, VecDeque};

use midly::{MetaMessage, MidiMessage, TrackEventKind};

use super::error::{Location, MidiError};
use crate::phrase::TimeSignature;

/// Files longer than this are refused rather than turned into gigantic piano rolls
/// (a corrupt delta time can claim millions of beats).
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
#[derive(Clone, Debug, PartialEq)]
pub struct MidiFile {
    /// 0 or 1.
    pub format: u16,
    pub ticks_per_quarter: u16,
    /// Track chunks found in the file.
    pub track_count: usize,
    /// Tempo changes: (tick, beats per minute), in file order.
    pub tempos: Vec<(u64, f64)>,
    /// Time signature changes: (tick, signature), in file order.
    pub time_signatures: Vec<(u64, TimeSignature)>,
    /// Notes sorted by start tick, then pitch.
    pub notes: Vec<TickNote>,
    /// Notes still held when their track ended (closed at the track's end).
    pub unreleased_notes: usize,
    /// Tick of the last event in any track.
    pub end_tick: u64,
}

impl MidiFile {
    /// Parses and validates a whole file.
    pub fn parse(bytes: &[u8]) -> Result<Self, MidiError> {
        let header = read_header(bytes)?;
        let mut file = MidiFile {
            format: header.format,
            ticks_per_quarter: header.ticks_per_quarter,
            track_count: 0,
            tempos: Vec::new(),
            time_signatures: Vec::new(),
            notes: Vec::new(),
            unreleased_notes: 0,
            end_tick: 0,
        };
        for (index, chunk) in scan_tracks(bytes, header.chunks_start)?
            .into_iter()
            .enumerate()
        {
            file.read_track(index, chunk.offset, &bytes[chunk.data.clone()])?;
            file.track_count += 1;
        }
        file.notes
            .sort_by_key(|n| (n.start_tick, n.pitch, n.track, n.channel));
        file.tempos.sort_by_key(|t| t.0);
        file.time_signatures.sort_by_key(|t| t.0);
        Ok(file)
    }

    /// Length in quarter notes (from the last event).
    pub fn length_quarters(&self) -> f64 {
        self.end_tick as f64 / f64::from(self.ticks_per_quarter)
    }

    fn read_track(
        &mut self,
        track: usize,
        chunk_offset: usize,
        data: &[u8],
    ) -> Result<(), MidiError> {
        let data_offset = chunk_offset + 8;
        let mut events = midly::EventIter::new(data);
        let mut tick: u64 = 0;
        let mut open: HashMap<(u8, u8), VecDeque<(u64, u8)>> = HashMap::new();
        let mut index = 0usize;
        loop {
            let at = data_offset + (data.len() - events.unread().len());
            let Some(event) = events.next() else { break };
            let event = event.map_err(|e| MidiError::Malformed {
                location: Location {
                    track: Some(track),
                    byte_offset: Some(at),
                    event: Some(index),
                },
                message: format!("cannot decode event: {}", e.kind().message()),
            })?;
            tick += u64::from(u32::from(event.delta));
            if tick / u64::from(self.ticks_per_quarter) > MAX_QUARTERS {
                return Err(MidiError::TooLong {
                    quarters: tick / u64::from(self.ticks_per_quarter),
                    tick,
                    max_quarters: MAX_QUARTERS,
                });
            }
            let location = || Location {
                track: Some(track),
                byte_offset: Some(at),
                event: Some(index),
            };
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    let channel = u8::from(channel);
                    match message {
                        MidiMessage::NoteOn { key, vel } if u8::from(vel) > 0 => open
                            .entry((channel, u8::from(key)))
                            .or_default()
                            .push_back((tick, u8::from(vel))),
                        // Note-on with velocity 0 is a note-off. Overlapping notes of one
                        // pitch are paired first-in, first-out.
                        MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                            let pitch = u8::from(key);
                            if let Some((start, velocity)) = open
                                .get_mut(&(channel, pitch))
                                .and_then(VecDeque::pop_front)
                            {
                                self.notes.push(TickNote {
                                    track,
                                    channel,
                                    pitch,
                                    velocity,
                                    start_tick: start,
                                    end_tick: tick,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                TrackEventKind::Meta(MetaMessage::Tempo(us_per_quarter)) => {
                    let us = u32::from(us_per_quarter);
                    if us == 0 {
                        return Err(MidiError::Malformed {
                            location: location(),
                            message: "tempo of 0 microseconds per quarter note".into(),
                        });
                    }
                    self.tempos.push((tick, 60_000_000.0 / f64::from(us)));
                }
                TrackEventKind::Meta(MetaMessage::TimeSignature(num, den_pow, _, _)) => {
                    if num == 0 || den_pow > 6 {
                        return Err(MidiError::Malformed {
                            location: location(),
                            message: format!(
                                "impossible time signature {num}/2^{den_pow}: the numerator must be \
                                 at least 1 and the denominator at most 64"
                            ),
                        });
                    }
                    self.time_signatures.push((
                        tick,
                        TimeSignature {
                            numerator: num,
                            denominator: 1 << den_pow,
                        },
                    ));
                }
                _ => {}
            }
            index += 1;
        }
        // Notes never released are closed where their track ends.
        for ((channel, pitch), starts) in open {
            for (start, velocity) in starts {
                self.unreleased_notes += 1;
                self.notes.push(TickNote {
                    track,
                    channel,
                    pitch,
                    velocity,
                    start_tick: start,
                    end_tick: tick,
                });
            }
        }
        self.end_tick = self.end_tick.max(tick);
        Ok(())
    }
}

struct Header {
    format: u16,
    ticks_per_quarter: u16,
    chunks_start: usize,
}

fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
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
    let header_len = be_u32(&bytes[4..8]) as usize;
    if header_len < 6 {
        return Err(MidiError::NotMidi(format!(
            "the header chunk is {header_len} bytes long, it must be at least 6"
        )));
    }
    let format = be_u16(&bytes[8..10]);
    let division = be_u16(&bytes[12..14]);
    match format {
        0 | 1 => {}
        2 => return Err(MidiError::Format2),
        other => {
            return Err(MidiError::NotMidi(format!(
                "unknown MIDI format {other} (byte 8); only 0 and 1 are supported"
            )))
        }
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

struct TrackChunk {
    offset: usize,
    data: std::ops::Range<usize>,
}

/// Finds the `MTrk` chunks after the header, checking each fits in the file.
fn scan_tracks(bytes: &[u8], mut pos: usize) -> Result<Vec<TrackChunk>, MidiError> {
    let mut tracks = Vec::new();
    while pos < bytes.len() {
        let remaining = bytes.len() - pos;
        if remaining < 8 {
            // A few trailing padding bytes are common and harmless.
            if bytes[pos..].iter().all(|b| *b == 0) {
                break;
            }
            return Err(MidiError::Malformed {
                location: Location {
                    track: Some(tracks.len()),
                    byte_offset: Some(pos),
                    event: None,
                },
                message: format!(
                    "{remaining} stray bytes where a chunk header (8 bytes) should be"
                ),
            });
        }
        let id = &bytes[pos..pos + 4];
        let len = be_u32(&bytes[pos + 4..pos + 8]) as usize;
        let data_start = pos + 8;
        if len > bytes.len() - data_start {
            return Err(MidiError::Malformed {
                location: Location {
                    track: Some(tracks.len()),
                    byte_offset: Some(pos),
                    event: None,
                },
                message: format!(
                    "chunk declares {len} bytes but only {} remain: the file is truncated",
                    bytes.len() - data_start
                ),
            });
        }
        if id == b"MTrk" {
            tracks.push(TrackChunk {
                offset: pos,
                data: data_start..data_start + len,
            });
        } else if !id.iter().all(|b| b.is_ascii_graphic()) {
            return Err(MidiError::Malformed {
                location: Location {
                    track: Some(tracks.len()),
                    byte_offset: Some(pos),
                    event: None,
                },
                message: format!("expected a track chunk (`MTrk`), found bytes {id:02x?}"),
            });
        }
        pos = data_start + len;
    }
    Ok(tracks)
}
