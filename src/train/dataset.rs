//! From a folder of MIDI files to training, validation and test piano rolls.
//!
//! A folder with `train/`, `valid/` and `test/` subfolders uses that split; any other folder
//! gets a seeded 80:20 split of files (as the prototype did), the 20% serving both for model
//! selection and for the reported figures.

use std::path::{Path, PathBuf};

use crate::key::{home_tonic, shift_between};
use crate::meter::MeterMap;
use crate::midi::{self, ImportOptions, MidiWarning};
use crate::roll::{PianoRoll, PitchRange, Representation};
use crate::train::TrainData;

pub use crate::corpus::{split_files, FileSplit};

/// Seed of the 80:20 split of a folder without its own split (training and `stats` agree).
pub const SPLIT_SEED: u64 = crate::corpus::SPLIT_SEED;

/// How files become rolls.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetOptions {
    pub steps_per_quarter: u32,
    pub min_note_quarters: f64,
    /// Seed of the 80:20 split (when the folder has no split of its own).
    pub split_seed: u64,
    /// Move every piece home to C by its key signature (or found key): see
    /// [`crate::key::home_tonic`].
    pub normalise_key: bool,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        Self {
            steps_per_quarter: 4,
            min_note_quarters: 0.25,
            split_seed: SPLIT_SEED,
            normalise_key: false,
        }
    }
}

/// One part of the split: its pieces as rolls, where each piece's bar lines fall (from its
/// file's time-signature map: event models learn the metre) and the file it was read from,
/// index for index.
#[derive(Clone, Debug, Default)]
pub struct Pieces {
    pub rolls: Vec<PianoRoll>,
    pub meters: Vec<MeterMap>,
    pub paths: Vec<PathBuf>,
}

/// Pieces as rolls, with what could not be read.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub train: Pieces,
    pub valid: Pieces,
    pub test: Pieces,
    /// Files that failed, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Files read (and used) despite faults, with what was recovered from.
    pub read_with_warnings: Vec<(PathBuf, Vec<MidiWarning>)>,
    pub split: FileSplit,
}

impl Dataset {
    /// Reads every file of the split; bad files are skipped and listed, files read with
    /// warnings are used and listed apart.
    pub fn load(root: &Path, options: &DatasetOptions) -> Self {
        let split = split_files(root, options.split_seed);
        let import = ImportOptions {
            steps_per_quarter: options.steps_per_quarter,
            min_note_quarters: options.min_note_quarters,
            keep_drums: false,
        };
        let mut skipped = Vec::new();
        let mut read_with_warnings = Vec::new();
        let mut read = |files: &[PathBuf]| {
            let mut pieces = Pieces::default();
            for f in files {
                match midi::import_file(f, &import) {
                    Ok(imported) => {
                        let roll = PianoRoll::from_phrase(&imported.phrase);
                        pieces.rolls.push(match options.normalise_key {
                            true => transpose(&roll, shift_home(&imported)),
                            false => roll,
                        });
                        pieces.meters.push(imported.meters);
                        pieces.paths.push(f.clone());
                        if !imported.warnings.is_empty() {
                            read_with_warnings.push((f.clone(), imported.warnings));
                        }
                    }
                    Err(e) => skipped.push((f.clone(), e.to_string())),
                }
            }
            pieces
        };
        let train = read(&split.train);
        let test = read(&split.test);
        // Without a folder split the validation files are the test files: read them once,
        // so each bad file is listed once.
        let valid = match split.predefined {
            true => read(&split.valid),
            false => test.clone(),
        };
        Self {
            train,
            valid,
            test,
            skipped,
            read_with_warnings,
            split,
        }
    }

    /// The pieces to train and select on, with their metres.
    pub fn train_data(&self) -> TrainData<'_> {
        TrainData {
            train: &self.train.rolls,
            train_meters: &self.train.meters,
            valid: &self.valid.rolls,
            valid_meters: &self.valid.meters,
        }
    }

    /// Lowest and highest pitch used in the training rolls.
    pub fn pitch_range(&self) -> Option<PitchRange> {
        let used = self
            .train
            .rolls
            .iter()
            .flat_map(|r| r.active.iter())
            .fold(0u128, |m, f| m | f);
        (used != 0).then(|| PitchRange {
            lo: used.trailing_zeros() as u8,
            hi: 127 - used.leading_zeros() as u8,
        })
    }

    pub fn train_frames(&self) -> usize {
        self.train.rolls.iter().map(PianoRoll::len).sum()
    }

    /// Why the data read from `root` cannot train a model, if it cannot: checked before any
    /// work starts, so a wrong folder fails at once with a reason.
    pub fn unusable_reason(&self, root: &Path) -> Option<String> {
        let folder = root.display();
        // Without a folder split the validation files are the test files: count each once.
        let distinct = |paths: &mut dyn Iterator<Item = &PathBuf>| {
            paths.collect::<std::collections::HashSet<_>>().len()
        };
        let split = &self.split;
        let files = distinct(&mut split.train.iter().chain(&split.valid).chain(&split.test));
        let skipped = distinct(&mut self.skipped.iter().map(|(p, _)| p));
        if !root.exists() {
            return Some(format!("{folder} does not exist"));
        }
        if files == 0 {
            return Some(format!("no MIDI files (.mid, .midi) in {folder}"));
        }
        let read = files.saturating_sub(skipped);
        if read == 0 {
            return Some(format!(
                "none of the {files} MIDI files in {folder} could be read (reasons above)"
            ));
        }
        if self.split.train.is_empty() {
            return Some(format!("the training split of {folder} has no MIDI files"));
        }
        if self.pitch_range().is_none() {
            return Some(format!(
                "no usable notes in the training files of {folder} ({} read, {} skipped): \
                 they are empty, drums only, or every note is shorter than the minimum length",
                self.train.rolls.len(),
                self.split.train.len() - self.train.rolls.len()
            ));
        }
        None
    }
}

/// Semitones that move a piece home to C (0 for a piece without notes).
fn shift_home(imported: &midi::ImportedPhrase) -> i32 {
    home_tonic(&imported.phrase, imported.key_signature).map_or(0, |tonic| shift_between(tonic, 0))
}

/// A piece as model features with a silent first frame, `[1 + len, width]` row-major: the
/// model learns to start from silence, as generation does.
pub fn piece_features(roll: &PianoRoll, range: PitchRange, repr: Representation) -> Vec<f32> {
    let width = range.len() * repr.planes();
    let mut out = vec![0.0; width];
    out.extend(roll.features(range, repr));
    out
}

/// Shifts every pitch of a roll by `semitones`; pitches pushed off the keyboard are dropped.
pub fn transpose(roll: &PianoRoll, semitones: i32) -> PianoRoll {
    let shift = |f: &u128| {
        if semitones >= 0 {
            f.checked_shl(semitones as u32).unwrap_or(0)
        } else {
            f.checked_shr((-semitones) as u32).unwrap_or(0)
        }
    };
    PianoRoll {
        active: roll.active.iter().map(shift).collect(),
        onset: roll.onset.iter().map(shift).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_split_is_used_and_plain_folders_split_80_20_reproducibly() {
        let dir = tempfile::tempdir().unwrap();
        for s in ["train", "valid", "test"] {
            std::fs::create_dir(dir.path().join(s)).unwrap();
            std::fs::write(dir.path().join(s).join("a.mid"), b"x").unwrap();
        }
        let split = split_files(dir.path(), 1);
        assert!(split.predefined);
        assert_eq!(
            (split.train.len(), split.valid.len(), split.test.len()),
            (1, 1, 1)
        );

        let flat = tempfile::tempdir().unwrap();
        for i in 0..10 {
            std::fs::write(flat.path().join(format!("{i}.mid")), b"x").unwrap();
        }
        let a = split_files(flat.path(), 7);
        assert!(!a.predefined);
        assert_eq!((a.train.len(), a.test.len()), (8, 2));
        assert_eq!(a, split_files(flat.path(), 7));
        assert_ne!(a.test, split_files(flat.path(), 8).test);
    }

    #[test]
    fn unusable_folders_are_explained() {
        let load = |p: &Path| Dataset::load(p, &DatasetOptions::default());
        let missing = Path::new("/no/such/folder");
        let reason = load(missing).unusable_reason(missing).unwrap();
        assert!(reason.contains("does not exist"), "{reason}");

        let empty = tempfile::tempdir().unwrap();
        let reason = load(empty.path()).unusable_reason(empty.path()).unwrap();
        assert!(reason.contains("no MIDI files"), "{reason}");

        let broken = tempfile::tempdir().unwrap();
        std::fs::write(broken.path().join("a.mid"), b"not midi").unwrap();
        std::fs::write(broken.path().join("b.mid"), b"MThd").unwrap();
        let data = load(broken.path());
        for name in ["a.mid", "b.mid"] {
            let reason = data.skipped.iter().find(|(p, _)| p.ends_with(name));
            assert!(
                reason.is_some_and(|(_, r)| !r.is_empty()),
                "{name} skipped with a reason"
            );
        }
        let reason = data.unusable_reason(broken.path()).unwrap();
        assert!(reason.contains("none of the 2"), "{reason}");
    }

    #[test]
    fn transposition_moves_bits() {
        let mut roll = PianoRoll::new(2);
        roll.add_note(60, 0, 2);
        let up = transpose(&roll, 2);
        assert_eq!(up.active[1], 1u128 << 62);
        assert_eq!(transpose(&roll, -61).active[0], 0);
    }
}
