//! MIDI files (midly): import with validation and quantization, export of phrases.
//!
//! `read` turns bytes into ticks (and precise errors or warnings), with `chunks` finding the
//! tracks and `events` walking them; `quantize` turns ticks into a [`Phrase`] on the grid,
//! `export` writes phrases back, `summary` describes files.

use std::path::Path;

use crate::meter::MeterMap;
use crate::phrase::{Phrase, DEFAULT_STEPS_PER_QUARTER};

mod chunks;
pub mod error;
mod events;
pub mod export;
pub mod quantize;
pub mod read;
pub mod summary;

pub use error::{Location, MidiError, MidiWarning};
pub use export::{export_bytes, export_bytes_on_channel, export_file};
pub use read::MidiFile;
pub use summary::MidiSummary;

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
    /// Where the bar lines fall, from the file's time-signature map (the phrase states only
    /// the first time signature).
    pub meters: MeterMap,
    /// The file's main key signature (sharps; negative: flats), if it has one.
    pub key_signature: Option<i8>,
    /// Notes dropped for being shorter than the minimum length.
    pub dropped_short_notes: usize,
    /// Notes on channel 10 left out.
    pub skipped_drum_notes: usize,
    /// Same-pitch notes starting on the same step, merged into one.
    pub merged_overlapping_notes: usize,
    /// Notes never released, closed at the end of their track.
    pub unreleased_notes: usize,
    /// Faults in the file that reading recovered from (see [`MidiFile::warnings`]).
    pub warnings: Vec<MidiWarning>,
}

/// Reads a Standard MIDI File from bytes, leniently (faults other readers recover from are
/// recovered from and listed in `warnings`).
///
/// ```
/// let err = phrasegen::midi::import_bytes(b"RIFF....", &Default::default()).unwrap_err();
/// assert!(err.to_string().contains("MThd"));
/// ```
pub fn import_bytes(bytes: &[u8], options: &ImportOptions) -> Result<ImportedPhrase, MidiError> {
    Ok(quantize::quantize(&MidiFile::parse(bytes)?, options))
}

/// Reads a file from disk into bytes, with the path in the error.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, MidiError> {
    std::fs::read(path).map_err(|source| MidiError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads a Standard MIDI File from disk (a missing file is an error, not a panic).
pub fn import_file(path: &Path, options: &ImportOptions) -> Result<ImportedPhrase, MidiError> {
    import_bytes(&read_bytes(path)?, options)
}

/// Every `.mid`/`.midi` file under `path` (or `path` itself if it is a file), sorted, so
/// folders are processed file by file in a stable order. Unreadable folders are skipped.
pub fn find_midi_files(path: &Path) -> Vec<std::path::PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_midi_name(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn is_midi_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}
