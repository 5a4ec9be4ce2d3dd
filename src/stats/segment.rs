//! Real music cut into passages as long as the generated phrases, starting on bar lines.
//!
//! Files are read with the project's MIDI reader and quantizer on a fine grid (12 steps per
//! quarter holds sixteenths and eighth-note triplets exactly, so rhythm statistics see the
//! data as written, not as a model's grid). Bar lines follow the file's time-signature map,
//! moved by the opening pickup the importer finds (`meter::detect_pickup_steps`).
//! A piece is cut from its first bar line into consecutive segments of the whole number of
//! bars closest to the target length (8 bars of 4/4 = 32 quarters; 2/4 gives 16 bars, 6/8
//! gives 11); a last segment the piece cannot fill is left out.

use std::path::{Path, PathBuf};

use crate::corpus::{split_files, SPLIT_SEED};
use crate::meter::MeterMap;
use crate::midi::{self, quantize::quantize, ImportOptions, MidiFile};
use crate::phrase::{Note, TimeSignature};

use super::passage::Passage;

/// Grid of real music read for statistics.
pub const STATS_STEPS_PER_QUARTER: u32 = 12;

/// One of a dataset's three parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Valid => "valid",
            Self::Test => "test",
        }
    }
}

/// A data folder that cannot give any segment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("cannot read the data folder {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the data folder {0} holds no .mid or .midi files")]
    NoMidiFiles(PathBuf),
    #[error(
        "the data folder {path} has no train/valid/test subfolders and only {files} MIDI \
         file(s), too few for the seeded split to set any aside for `{split}`"
    )]
    SplitTooSmall {
        path: PathBuf,
        files: usize,
        split: &'static str,
    },
    #[error(
        "no usable pieces in {path} ({split} split): {files} file(s), {unreadable} unreadable, \
         {other_meter} in other time signatures, {too_short} shorter than one segment of \
         {segment_quarters} quarter notes"
    )]
    NoSegments {
        path: PathBuf,
        split: &'static str,
        files: usize,
        unreadable: usize,
        other_meter: usize,
        too_short: usize,
        segment_quarters: f64,
    },
}

/// The segments of one split, with what was read and what was not.
#[derive(Clone, Debug)]
pub struct RealSegments {
    pub split: Split,
    /// True when the folder has no train/valid/test subfolders and the trainer's seeded
    /// 80:20 split was used instead.
    pub seeded_split: bool,
    pub files: Vec<PathBuf>,
    /// Files that could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Files read but shorter than one segment.
    pub too_short: usize,
    /// Files left out because they are in a time signature not asked for.
    pub other_meter: usize,
    pub passages: Vec<Passage>,
}

/// Whether every bar of `file` is in one of `meters` (4/4 before the first time
/// signature, as MIDI defines). An empty list takes every file.
pub fn in_meters(file: &MidiFile, meters: &[TimeSignature]) -> bool {
    let starts_later = file.time_signatures.first().is_none_or(|&(at, _)| at > 0);
    meters.is_empty()
        || file
            .time_signatures
            .iter()
            .map(|&(_, ts)| ts)
            .chain(starts_later.then_some(TimeSignature::FOUR_FOUR))
            .all(|ts| meters.contains(&ts))
}

/// Bars as `(start, end)` ticks, following the time-signature map (4/4 until the first
/// one, as MIDI defines); a change in mid-bar ends that bar early. Only bars that end by
/// the file's last event are listed.
pub fn bar_ticks(file: &MidiFile) -> Vec<(u64, u64)> {
    file.bars()
        .into_iter()
        .map(|(start, end, _)| (start, end))
        .collect()
}

/// Cuts a piece (notes and bars in steps, its metres in `meters`) into consecutive
/// segments, each the whole number of bars whose total length is closest to
/// `target_steps` (the shorter on a tie). A segment the remaining bars cannot complete is
/// dropped.
pub fn cut_segments(
    notes: &[Note],
    meters: &MeterMap,
    bars: &[(u32, u32)],
    target_steps: u32,
) -> Vec<Passage> {
    let starts: Vec<u32> = bars.iter().map(|b| b.0).collect();
    let mut out = Vec::new();
    let mut first = 0;
    while first < bars.len() {
        let start = bars[first].0;
        let mut last = first; // bars[first..=last] so far
        let distance = |end: u32| (i64::from(end - start) - i64::from(target_steps)).abs();
        let complete = loop {
            let end = bars[last].1;
            let Some(&(_, longer)) = bars.get(last + 1) else {
                // Out of bars: complete only if one more bar like the last would not have
                // come closer.
                let bar = bars[last].1 - bars[last].0;
                break distance(end + bar) >= distance(end);
            };
            if distance(longer) < distance(end) {
                last += 1;
            } else {
                break true;
            }
        };
        if !complete {
            break;
        }
        out.push(Passage::cut(
            notes,
            meters.steps_per_quarter(),
            &starts,
            meters.at(start).0,
            (start, bars[last].1),
        ));
        first = last + 1;
    }
    out
}

/// Reads one file and cuts it into segments of `target_quarters`.
pub fn segment_file(
    path: &Path,
    target_quarters: f64,
    min_note_quarters: f64,
) -> Result<Vec<Passage>, midi::MidiError> {
    let file = MidiFile::parse(&midi::read_bytes(path)?)?;
    Ok(segment_parsed(&file, target_quarters, min_note_quarters))
}

/// Cuts a parsed file into segments of `target_quarters`.
fn segment_parsed(file: &MidiFile, target_quarters: f64, min_note_quarters: f64) -> Vec<Passage> {
    let spq = STATS_STEPS_PER_QUARTER;
    let imported = quantize(
        file,
        &ImportOptions {
            steps_per_quarter: spq,
            min_note_quarters,
            keep_drums: false,
        },
    );
    // The same rounding as the quantizer's, so bar lines and notes agree; every bar line
    // moved by the pickup the importer found (the notes before the first downbeat are in
    // no segment), as the models are trained.
    let tpq = u64::from(file.ticks_per_quarter.max(1));
    let pickup = imported.meters.pickup_steps();
    let to_step = |tick: u64| ((tick * u64::from(spq) + tpq / 2) / tpq) as u32 + pickup;
    let bars: Vec<(u32, u32)> = bar_ticks(file)
        .into_iter()
        .map(|(s, e)| (to_step(s), to_step(e)))
        .filter(|(s, e)| e > s)
        .collect();
    let target_steps = (target_quarters * f64::from(spq)).round() as u32;
    cut_segments(
        &imported.phrase.notes,
        &imported.meters,
        &bars,
        target_steps,
    )
}

/// The files of one split of `root`: its own `train/valid/test` folders, or else the
/// seeded 80:20 split the trainer uses (`valid` and `test` are then the same files).
pub fn split_of(root: &Path, split: Split) -> Result<(Vec<PathBuf>, bool), DataError> {
    std::fs::read_dir(root).map_err(|e| DataError::Unreadable {
        path: root.to_path_buf(),
        reason: e.to_string(),
    })?;
    let files = split_files(root, SPLIT_SEED);
    // Without a folder split, `valid` repeats `test`.
    let total = files.train.len()
        + files.test.len()
        + if files.predefined {
            files.valid.len()
        } else {
            0
        };
    if total == 0 {
        return Err(DataError::NoMidiFiles(root.to_path_buf()));
    }
    let predefined = files.predefined;
    let chosen = match split {
        Split::Train => files.train,
        Split::Valid => files.valid,
        Split::Test => files.test,
    };
    if predefined {
        return Ok((chosen, false));
    }
    if chosen.is_empty() {
        return Err(DataError::SplitTooSmall {
            path: root.to_path_buf(),
            files: total,
            split: split.name(),
        });
    }
    Ok((chosen, true))
}

/// Every segment of one split of `root` from the files in `meters` (empty: all); an error
/// when there is none.
pub fn load_segments(
    root: &Path,
    split: Split,
    target_quarters: f64,
    min_note_quarters: f64,
    meters: &[TimeSignature],
) -> Result<RealSegments, DataError> {
    let (files, seeded_split) = split_of(root, split)?;
    let mut out = RealSegments {
        split,
        seeded_split,
        files: files.clone(),
        unreadable: Vec::new(),
        too_short: 0,
        other_meter: 0,
        passages: Vec::new(),
    };
    for path in &files {
        let file = match midi::read_bytes(path).and_then(|bytes| MidiFile::parse(&bytes)) {
            Ok(file) => file,
            Err(e) => {
                out.unreadable.push((path.clone(), e.to_string()));
                continue;
            }
        };
        if !in_meters(&file, meters) {
            out.other_meter += 1;
            continue;
        }
        match segment_parsed(&file, target_quarters, min_note_quarters) {
            p if p.is_empty() => out.too_short += 1,
            p => out.passages.extend(p),
        }
    }
    if out.passages.is_empty() {
        return Err(DataError::NoSegments {
            path: root.to_path_buf(),
            split: split.name(),
            files: files.len(),
            unreadable: out.unreadable.len(),
            other_meter: out.other_meter,
            too_short: out.too_short,
            segment_quarters: target_quarters,
        });
    }
    Ok(out)
}
