//! What can be wrong with a MIDI file, said so a user can find it: which track, which byte,
//! which event.

use std::fmt;

/// Where in a file a problem was found.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Location {
    /// 0-based track (chunk) index, if the problem is inside a track.
    pub track: Option<usize>,
    /// Byte offset from the start of the file.
    pub byte_offset: Option<usize>,
    /// 0-based event index within the track.
    pub event: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(t) = self.track {
            parts.push(format!("track {t}"));
        }
        if let Some(e) = self.event {
            parts.push(format!("event {e}"));
        }
        if let Some(b) = self.byte_offset {
            parts.push(format!("byte {b}"));
        }
        if parts.is_empty() {
            write!(f, "file")
        } else {
            write!(f, "{}", parts.join(", "))
        }
    }
}

/// Why a MIDI file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a Standard MIDI File: {0}")]
    NotMidi(String),
    #[error("{location}: {message}")]
    Malformed { location: Location, message: String },
    #[error(
        "MIDI format 2 (independent sequences) is not supported; save the file as format 0 or 1"
    )]
    Format2,
    #[error(
        "SMPTE time division ({fps} frames/s, {subframes} ticks/frame) is not supported; \
         save the file with ticks per quarter note"
    )]
    SmpteTiming { fps: u8, subframes: u8 },
    #[error("header says 0 ticks per quarter note: note positions cannot be computed")]
    ZeroTicksPerQuarter,
    #[error(
        "file is {quarters} quarter notes long (at tick {tick}); PhraseGen reads at most \
         {max_quarters} (check for a corrupt delta time)"
    )]
    TooLong {
        quarters: u64,
        tick: u64,
        max_quarters: u64,
    },
}
