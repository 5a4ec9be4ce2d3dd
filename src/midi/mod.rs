//! MIDI files (midly): import with validation and quantization, export of phrases.
//!
//! CONTRACT (skeleton): the signatures below are what the rest of PhraseGen calls.
//! The MIDI work fills in the bodies and may add fields and functions.

use std::path::Path;

use crate::phrase::{Phrase, DEFAULT_STEPS_PER_QUARTER};

/// How a file is read into a phrase.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    /// Grid resolution of the resulting phrase.
    pub steps_per_quarter: u32,
    /// Notes shorter than this many quarter notes are dropped (0.25 = a sixteenth).
    pub min_note_quarters: f64,
    /// Keep channel 10 (General MIDI drums); left out by default.
    pub keep_drums: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            steps_per_quarter: DEFAULT_STEPS_PER_QUARTER,
            min_note_quarters: 0.25,
            keep_drums: false,
        }
    }
}

/// A file read into a phrase, with what was lost on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedPhrase {
    pub phrase: Phrase,
    /// Notes dropped for being shorter than the minimum length.
    pub dropped_short_notes: usize,
}

/// Anything wrong with a MIDI file, said precisely (where and what).
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    #[error("{0}")]
    Invalid(String),
}

/// Reads a Standard MIDI File from bytes.
pub fn import_bytes(_bytes: &[u8], _options: &ImportOptions) -> Result<ImportedPhrase, MidiError> {
    todo!("MIDI import")
}

/// Reads a Standard MIDI File from disk (a missing file is an error, not a panic).
pub fn import_file(_path: &Path, _options: &ImportOptions) -> Result<ImportedPhrase, MidiError> {
    todo!("MIDI import")
}

/// Writes a phrase as a format-1 file: tempo, time signature, track name, end of track.
pub fn export_bytes(_phrase: &Phrase, _track_name: &str) -> Vec<u8> {
    todo!("MIDI export")
}

/// Writes a phrase to disk atomically (temporary file, then rename).
pub fn export_file(_phrase: &Phrase, _track_name: &str, _path: &Path) -> std::io::Result<()> {
    todo!("MIDI export")
}
