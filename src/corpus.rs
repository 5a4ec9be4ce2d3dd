//! A folder of MIDI files as a corpus: its train / valid / test split. Training and the
//! statistics both read pieces this way, so `stats` compares with exactly the files a model
//! was tested on.
//!
//! A folder with `train/`, `valid/` and `test/` subfolders uses that split; any other folder
//! gets a seeded 80:20 split of files (as the prototype did), the 20% serving both for model
//! selection and for the reported figures.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::midi;

/// Seed of the 80:20 split used unless a caller asks for another.
pub const SPLIT_SEED: u64 = 1;

/// Which files go where.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileSplit {
    pub train: Vec<PathBuf>,
    pub valid: Vec<PathBuf>,
    pub test: Vec<PathBuf>,
    /// True when the folder's own train/valid/test folders were used.
    pub predefined: bool,
}

/// Splits the MIDI files under `root`.
pub fn split_files(root: &Path, seed: u64) -> FileSplit {
    let sub = |name: &str| root.join(name);
    if ["train", "valid", "test"].iter().all(|n| sub(n).is_dir()) {
        return FileSplit {
            train: midi::find_midi_files(&sub("train")),
            valid: midi::find_midi_files(&sub("valid")),
            test: midi::find_midi_files(&sub("test")),
            predefined: true,
        };
    }
    let mut files = midi::find_midi_files(root);
    files.shuffle(&mut rand_pcg::Pcg64Mcg::seed_from_u64(seed));
    let n_test = (files.len() as f64 * 0.2).round() as usize;
    let n_test = if files.len() >= 2 { n_test.max(1) } else { 0 };
    let test = files.split_off(files.len() - n_test);
    FileSplit {
        train: files,
        valid: test.clone(),
        test,
        predefined: false,
    }
}
