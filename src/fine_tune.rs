//! Fine-tuning: a trained model goes on learning from a user's own pieces (ten to fifty
//! clips), so it plays like them in minutes instead of needing hundreds of pieces from
//! scratch.
//!
//! The start model fixes everything about the network and its data contract (family, range,
//! voices, grid, key normalisation); this module reads the user's folder the way that model
//! hears music, says before any work what does not fit, and picks a small-data recipe. The
//! training loop itself is the one every model uses (`family::train_until`). Both
//! `phrasegen train --from` and the plugin's *Learn from folder…* start here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::events::limit_voices;
use crate::model::{ModelConfig, ModelFile};
use crate::roll::{pitch_span_mask, PianoRoll};
use crate::train::dataset::{transpose, Pieces};
use crate::train::family::StartWeights;
use crate::train::{Dataset, DatasetOptions, TrainOptions};

/// Fewer notes than this (all files together) cannot teach a style: about ten short clips.
pub const MIN_NOTES: usize = 100;
/// A held-out part with fewer notes than this is too small to judge the result by.
pub const MIN_HELD_OUT_NOTES: usize = 300;
/// A file that loses more than this share of its notes to the model's range (after the
/// best whole-octave move) is left out: the model would learn another piece.
pub const MAX_OUT_OF_RANGE_SHARE: f64 = 0.1;
/// A file that loses more than this share of its notes to the model's voice limit (chords
/// given to a melody model) is left out.
pub const MAX_OVER_VOICES_SHARE: f64 = 0.5;

/// Why a folder cannot fine-tune a model; said before any training starts.
#[derive(Debug, thiserror::Error)]
pub enum FineTuneError {
    /// The folder is missing, holds no MIDI, or nothing in it could be read.
    #[error("{0}")]
    Folder(String),
    #[error(
        "{folder} holds {notes} usable notes in {files} file(s); learning a style needs at \
         least {MIN_NOTES} (about ten clips of a few bars){unfit}"
    )]
    TooFewNotes {
        folder: String,
        notes: usize,
        files: usize,
        unfit: String,
    },
    #[error(
        "{model} is of the `{family}` family; --architecture {asked} cannot start from it \
         (fine-tuning keeps the start model's family, shape and vocabulary)"
    )]
    OtherFamily {
        model: String,
        family: String,
        asked: String,
    },
}

/// How one piece fits the start model, after the best whole-octave move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fit {
    /// Semitones the piece is moved (a multiple of 12) to sit in the model's range.
    pub shift_semitones: i32,
    pub notes: usize,
    /// Notes still outside the model's range.
    pub outside_range: usize,
    /// Notes in range the model's voice limit drops (the lowest of too many at once).
    pub over_voices: usize,
}

impl Fit {
    /// Why the model cannot learn this piece, if it cannot.
    pub fn unfit_reason(&self, cfg: &ModelConfig) -> Option<String> {
        let share = |n: usize| n as f64 / self.notes.max(1) as f64;
        if self.notes == 0 {
            return Some("no notes the model can read".into());
        }
        if share(self.outside_range) > MAX_OUT_OF_RANGE_SHARE {
            return Some(format!(
                "{:.0}% of its notes lie outside the model's range {}..{} in every octave",
                100.0 * share(self.outside_range),
                cfg.pitch_range.lo,
                cfg.pitch_range.hi
            ));
        }
        if share(self.over_voices) > MAX_OVER_VOICES_SHARE {
            let voices = cfg.architecture.max_voices().unwrap_or(u8::MAX);
            return Some(format!(
                "{:.0}% of its notes sound above the model's {voices} voice(s) at once",
                100.0 * share(self.over_voices)
            ));
        }
        None
    }
}

/// How `roll` fits `cfg`: the whole-octave move (−3..=3 octaves) that keeps most notes in
/// range (the smallest move among equals), and what the range and voices still drop.
pub fn fit_to_model(cfg: &ModelConfig, roll: &PianoRoll) -> Fit {
    let mask = pitch_span_mask(cfg.pitch_range.lo, cfg.pitch_range.hi);
    // Notes (onsets) in a roll, among the pitches of `mask`.
    let notes = |r: &PianoRoll, mask: u128| -> usize {
        r.onset
            .iter()
            .map(|f| (f & mask).count_ones() as usize)
            .sum()
    };
    let in_range = |r: &PianoRoll| notes(r, mask);
    let total = notes(roll, u128::MAX);
    let shift = [0, -12, 12, -24, 24, -36, 36]
        .into_iter()
        .max_by_key(|&s| (in_range(&transpose(roll, s)), -(s as i64).abs()))
        .unwrap_or(0);
    let moved = transpose(roll, shift);
    let masked = PianoRoll {
        active: moved.active.iter().map(|f| f & mask).collect(),
        onset: moved.onset.iter().map(|f| f & mask).collect(),
    };
    let kept_notes = in_range(&moved);
    let voices = cfg.architecture.max_voices().unwrap_or(u8::MAX);
    let heard = limit_voices(&masked, voices);
    let over_voices = masked
        .onset
        .iter()
        .zip(&heard.active)
        .map(|(onset, kept)| (onset & !kept).count_ones() as usize)
        .sum();
    Fit {
        shift_semitones: shift,
        notes: total,
        outside_range: total - kept_notes,
        over_voices,
    }
}

/// What the folder gave, for the user to read before training starts.
#[derive(Clone, Debug, Default)]
pub struct DataReport {
    /// Pieces and notes the model learns from, and the held-out part it is judged by.
    pub train_pieces: usize,
    pub train_notes: usize,
    pub held_out_pieces: usize,
    pub held_out_notes: usize,
    /// True when the folder brought its own train/valid split; else a seeded 80:20 one.
    pub folder_split: bool,
    pub split_seed: u64,
    /// Files moved by whole octaves into the model's range, with the move.
    pub moved: Vec<(PathBuf, i32)>,
    /// Files left out, with why.
    pub unfit: Vec<(PathBuf, String)>,
    /// Files that could not be read, with why.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Notes dropped by the model's voice limit in the files kept.
    pub over_voices_notes: usize,
}

impl DataReport {
    /// True when the held-out part is too small for its loss to say much.
    pub fn held_out_too_small(&self) -> bool {
        self.held_out_pieces < 2 || self.held_out_notes < MIN_HELD_OUT_NOTES
    }

    /// The report as lines a user reads (CLI output, the plugin's status).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} pieces ({} notes) to learn from, {} held out ({} notes) to judge by: {}",
            self.train_pieces,
            self.train_notes,
            self.held_out_pieces,
            self.held_out_notes,
            if self.folder_split {
                "the folder's own split".to_string()
            } else {
                format!(
                    "a seeded 80:20 split of the files (seed {})",
                    self.split_seed
                )
            }
        )];
        for (path, reason) in &self.unreadable {
            out.push(format!("skipped {}: {reason}", path.display()));
        }
        for (path, reason) in &self.unfit {
            out.push(format!("left out {}: {reason}", path.display()));
        }
        if !self.moved.is_empty() {
            out.push(format!(
                "{} file(s) moved by whole octaves into the model's range",
                self.moved.len()
            ));
        }
        if self.over_voices_notes > 0 {
            out.push(format!(
                "{} notes above the model's voice limit are left out (it keeps the top voices)",
                self.over_voices_notes
            ));
        }
        if self.held_out_too_small() {
            out.push(format!(
                "the held-out part ({} pieces, {} notes) is too small to judge the result \
                 reliably: early stopping follows it anyway; more files give a surer model",
                self.held_out_pieces, self.held_out_notes
            ));
        }
        out
    }
}

/// A start model and a user's folder, read and checked: ready to train.
pub struct FineTune {
    pub start: ModelFile,
    pub data: Dataset,
    pub report: DataReport,
}

/// The small-data recipe: the settings `phrasegen train --from` and the plugin use unless
/// told otherwise (chosen by measurement: `docs/FINE-TUNING.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    pub epochs: usize,
    pub batch_size: usize,
    pub window_events: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub dropout: f32,
    pub patience: usize,
    /// See [`TrainOptions::min_batches_per_epoch`].
    pub min_batches_per_epoch: usize,
    pub transpose_semitones: i32,
    pub seed: u64,
    pub threads: usize,
}

impl Recipe {
    /// Training options for a model of `config` with this recipe, from random weights.
    pub fn options(&self, config: ModelConfig) -> TrainOptions {
        TrainOptions {
            model: config,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seq_len: self.window_events,
            learning_rate: self.learning_rate,
            seed: self.seed,
            transpose_semitones: self.transpose_semitones,
            threads: self.threads,
            weight_decay: self.weight_decay,
            dropout: self.dropout,
            patience: self.patience,
            min_batches_per_epoch: self.min_batches_per_epoch,
            start: None,
        }
    }

    /// The recipe for fine-tuning `start`. A key-normalised model hears every piece at
    /// home, so it gets no transposition (that would teach it other keys again).
    pub fn for_model(start: &ModelConfig) -> Self {
        Self {
            epochs: 20,
            batch_size: 16,
            window_events: 128,
            learning_rate: 5e-4,
            weight_decay: 1e-2,
            dropout: 0.3,
            patience: 3,
            min_batches_per_epoch: 16,
            transpose_semitones: if start.key_normalised { 0 } else { 5 },
            seed: 1,
            threads: crate::train::trainer::default_threads(),
        }
    }
}

impl FineTune {
    /// Reads `folder` as `start` hears music (its grid, its key normalisation), moves each
    /// piece by whole octaves into its range and leaves out (and lists) pieces it cannot
    /// hold. Fails before any training when too little is left.
    pub fn prepare(
        start: ModelFile,
        folder: &Path,
        split_seed: u64,
    ) -> Result<Self, FineTuneError> {
        let cfg = &start.config;
        let mut data = Dataset::load(
            folder,
            &DatasetOptions {
                steps_per_quarter: cfg.steps_per_quarter,
                split_seed,
                normalise_key: cfg.key_normalised,
                ..DatasetOptions::default()
            },
        );
        if let Some(reason) = data.unusable_reason(folder) {
            return Err(FineTuneError::Folder(reason));
        }
        let mut report = DataReport {
            folder_split: data.split.predefined,
            split_seed,
            unreadable: data.skipped.clone(),
            ..DataReport::default()
        };
        let [(train_notes, train_pieces), (held_notes, held_pieces)] =
            [&mut data.train, &mut data.valid].map(|part| fit_part(cfg, &mut report, part));
        if !data.split.predefined {
            // The held-out files serve as the test files too (see `Dataset::load`).
            data.test = data.valid.clone();
        }
        (report.train_notes, report.train_pieces) = (train_notes, train_pieces);
        (report.held_out_notes, report.held_out_pieces) = (held_notes, held_pieces);
        report.unfit.sort();
        report.unfit.dedup();
        let notes = train_notes + held_notes;
        if notes < MIN_NOTES || train_pieces == 0 {
            let unfit = match report.unfit.len() {
                0 => String::new(),
                n => format!(
                    "; {n} file(s) left out, e.g. {}: {}",
                    report.unfit[0].0.display(),
                    report.unfit[0].1
                ),
            };
            return Err(FineTuneError::TooFewNotes {
                folder: folder.display().to_string(),
                notes,
                files: train_pieces + held_pieces,
                unfit,
            });
        }
        Ok(Self {
            start,
            data,
            report,
        })
    }

    /// Training options for `recipe`: the start model's settings under a new `name`,
    /// starting from its weights.
    pub fn options(&self, name: &str, recipe: &Recipe) -> TrainOptions {
        let mut model = self.start.config.clone();
        model.name = name.to_string();
        model.training = None;
        TrainOptions {
            start: Some(StartWeights(Arc::new(self.start.tensors.clone()))),
            ..recipe.options(model)
        }
    }

    /// Trains with `options` (from [`FineTune::options`]) until done, out of patience or
    /// `stop`; nothing is written (the caller saves the result).
    pub fn train(
        &self,
        options: &TrainOptions,
        progress: &indicatif::ProgressBar,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<crate::train::TrainResult, crate::train::TrainError> {
        let data = self.data.train_data();
        crate::family::train_until(data, options, progress, stop, |_, _| Ok(()))
    }
}

/// Fits every piece of one part of the split in place, dropping the unfit ones into the
/// report; returns (notes, pieces) kept.
fn fit_part(cfg: &ModelConfig, report: &mut DataReport, part: &mut Pieces) -> (usize, usize) {
    let Pieces {
        rolls,
        meters,
        paths,
    } = std::mem::take(part);
    let mut notes_kept = 0;
    for ((roll, meter), path) in rolls.into_iter().zip(meters).zip(paths) {
        let fit = fit_to_model(cfg, &roll);
        if let Some(reason) = fit.unfit_reason(cfg) {
            report.unfit.push((path, reason));
            continue;
        }
        if fit.shift_semitones != 0 && !report.moved.iter().any(|(p, _)| *p == path) {
            report.moved.push((path.clone(), fit.shift_semitones));
        }
        notes_kept += fit.notes - fit.outside_range - fit.over_voices;
        report.over_voices_notes += fit.over_voices;
        part.rolls.push(transpose(&roll, fit.shift_semitones));
        part.meters.push(meter);
        part.paths.push(path);
    }
    (notes_kept, part.rolls.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;
    use crate::roll::PitchRange;

    fn melody_model(lo: u8, hi: u8) -> ModelConfig {
        ModelConfig {
            pitch_range: PitchRange { lo, hi },
            architecture: Architecture::Events { max_voices: 1 },
            ..ModelConfig::default()
        }
    }

    #[test]
    fn a_low_piece_moves_up_by_octaves_and_chords_count_against_a_melody_model() {
        let cfg = melody_model(60, 84);
        let mut roll = PianoRoll::new(8);
        for (i, p) in [40u8, 43, 45, 47].into_iter().enumerate() {
            roll.add_note(p, i * 2, 2);
        }
        let fit = fit_to_model(&cfg, &roll);
        assert_eq!(fit.shift_semitones, 24);
        assert_eq!((fit.notes, fit.outside_range, fit.over_voices), (4, 0, 0));
        assert!(fit.unfit_reason(&cfg).is_none());

        // A chord held under the line: the top voice is all a melody model hears.
        roll.add_note(44, 0, 8);
        roll.add_note(47, 0, 8);
        let fit = fit_to_model(&cfg, &roll);
        assert_eq!(
            (fit.notes, fit.shift_semitones, fit.outside_range),
            (6, 24, 0)
        );
        assert_eq!(fit.over_voices, 4, "{fit:?}");
        assert!(fit.unfit_reason(&cfg).unwrap().contains("voice"));
    }

    #[test]
    fn a_span_wider_than_the_range_is_unfit() {
        let cfg = melody_model(60, 72);
        let mut roll = PianoRoll::new(4);
        roll.add_note(40, 0, 1);
        roll.add_note(60, 1, 1);
        roll.add_note(90, 2, 1);
        let fit = fit_to_model(&cfg, &roll);
        assert_eq!(fit.outside_range, 2);
        assert!(fit.unfit_reason(&cfg).unwrap().contains("range 60..72"));
    }
}
