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

impl Location {
    /// At byte `byte_offset` of track `track`, at its event `event` when known.
    pub fn in_track(track: usize, byte_offset: usize, event: Option<usize>) -> Self {
        Self {
            track: Some(track),
            byte_offset: Some(byte_offset),
            event,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            ("track", self.track),
            ("event", self.event),
            ("byte", self.byte_offset),
        ]
        .into_iter()
        .filter_map(|(name, n)| Some(format!("{name} {}", n?)))
        .collect();
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
    #[error("the header is followed by no track chunk (`MTrk`): the file holds no music")]
    NoTracks,
    #[error("none of the {tracks} track chunk(s) holds an event that decodes (first problem: {first_problem})")]
    NoDecodableTrack {
        tracks: usize,
        first_problem: String,
    },
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

/// Something wrong with a file that reading recovered from, and what was done about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MidiWarning {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for MidiWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// At most this many warnings are kept per file (a file of clock bytes could make millions);
/// the rest are counted in one last warning.
pub const MAX_WARNINGS: usize = 100;

/// The reading policy for faults other readers recover from: strictly, the fault is the error;
/// leniently, reading goes on and the fault becomes a warning.
#[derive(Debug)]
pub(crate) struct Faults {
    strict: bool,
    warnings: Vec<MidiWarning>,
    unlisted: usize,
}

impl Faults {
    pub fn new(strict: bool) -> Self {
        Self {
            strict,
            warnings: Vec::new(),
            unlisted: 0,
        }
    }

    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Strictly, returns `error`; leniently, notes it with what was done (`repair`) and goes on.
    pub fn recover(
        &mut self,
        location: Location,
        error: MidiError,
        repair: &str,
    ) -> Result<(), MidiError> {
        if self.strict {
            return Err(error);
        }
        let problem = match error {
            MidiError::Malformed { message, .. } => message,
            other => other.to_string(),
        };
        self.warn(location, format!("{problem}; {repair}"));
        Ok(())
    }

    /// [`Self::recover`] from a [`MidiError::Malformed`] `message` at `location`.
    pub fn malformed(
        &mut self,
        location: Location,
        message: String,
        repair: &str,
    ) -> Result<(), MidiError> {
        let error = MidiError::Malformed {
            location: location.clone(),
            message,
        };
        self.recover(location, error, repair)
    }

    /// Notes a repair that only lenient reading makes.
    pub fn warn(&mut self, location: Location, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(MidiWarning { location, message });
        } else {
            self.unlisted += 1;
        }
    }

    pub fn first(&self) -> Option<&MidiWarning> {
        self.warnings.first()
    }

    /// The warnings in file order (chunks are checked before their events are read).
    pub fn into_warnings(mut self) -> Vec<MidiWarning> {
        self.warnings
            .sort_by_key(|w| w.location.byte_offset.unwrap_or(usize::MAX));
        if self.unlisted > 0 {
            self.warnings.push(MidiWarning {
                location: Location::default(),
                message: format!("{} more warnings not listed", self.unlisted),
            });
        }
        self.warnings
    }
}
