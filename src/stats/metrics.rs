//! The statistics of one passage, and the list of metrics a report shows.
//!
//! Definitions (a *beat* is a quarter note, as hosts count beats; *notes* are the notes that
//! start in the passage; *sounding* pitches include notes held in from before it):
//! - notes per bar: notes per 4 quarter notes (one 4/4 bar), so pieces in 2/4 or 6/8
//!   compare with 4/4 phrases;
//! - mean note length: mean length of the notes in beats, cut at the passage's end;
//! - pitch range: highest minus lowest sounding pitch, in semitones;
//! - pitches / pitch classes used: how many distinct ones sound;
//! - pitch-class entropy: Shannon entropy (bits, 0..3.58) of the pitch classes of the
//!   sounding notes, each note counted once;
//! - polyphony: mean number of sounding pitches over the grid steps where anything sounds;
//! - 1 / 2 / 3 / 4+ voices: share of the passage's steps with exactly that many sounding
//!   (with the silent share, they sum to 1); highest polyphony: the most at any step;
//! - empty beats: share of beats (quarter notes counted from the passage start) in which
//!   nothing sounds at all; longest silence: the longest run with nothing sounding, in beats;
//!   silent bar: whether some whole notated bar has nothing sounding;
//! - onsets on the beat / 8th / 16th grid: share of notes whose start, measured from the
//!   start of its own bar, is a whole number of quarter / eighth / sixteenth notes;
//! - in key: share of sounding notes whose pitch class belongs to the best-fitting
//!   Krumhansl–Kessler key (see [`crate::key`]), found from each pitch class's total
//!   sounding time;
//! - repeats a bar: whether two bars of equal length have exactly the same piano roll
//!   (same pitches sounding and starting at the same steps), not silent; bars repeating
//!   the bar before: share of the sounding bars after the first, of the same length as the
//!   one before, that are that bar again (the music almost never does it: a loop);
//! - parallel fifths / octaves per chord change: see [`super::voice_leading`]; only defined
//!   for passages with at least one change between four-voice sonorities;
//! - fewer than 4 notes: whether the passage has almost nothing in it.
//!
//! A metric that cannot be defined for a passage (a pitch range with no notes) is `None`
//! and left out of means and histograms.

use serde::Serialize;

use super::passage::Passage;
use super::voice_leading::parallels;
use crate::key::{find_key, Key};
use crate::phrase::Note;
use crate::roll::PianoRoll;

/// Everything measured on one passage.
#[derive(Clone, Debug, PartialEq)]
pub struct PassageStats {
    pub notes: usize,
    pub notes_per_bar: f64,
    pub mean_note_beats: Option<f64>,
    pub pitch_range_semitones: Option<f64>,
    pub distinct_pitches: usize,
    pub distinct_pitch_classes: usize,
    pub pitch_class_entropy_bits: Option<f64>,
    pub polyphony: Option<f64>,
    /// Share of steps with exactly 1, 2, 3, and 4 or more sounding pitches.
    pub voice_shares: [f64; 4],
    pub max_polyphony: usize,
    pub empty_beat_rate: f64,
    pub longest_silence_beats: f64,
    pub has_silent_bar: bool,
    pub onsets_on_beat: Option<f64>,
    pub onsets_on_eighths: Option<f64>,
    pub onsets_on_sixteenths: Option<f64>,
    pub key: Option<Key>,
    pub in_key: Option<f64>,
    pub repeats_a_bar: bool,
    pub repeats_bar_before: Option<f64>,
    pub parallel_fifths_per_change: Option<f64>,
    pub parallel_octaves_per_change: Option<f64>,
}

fn share(count: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| count as f64 / of as f64)
}

impl PassageStats {
    pub fn of(passage: &Passage) -> Self {
        let spq = passage.steps_per_quarter.max(1);
        let roll = passage.roll();
        let sounding_notes: Vec<&Note> = passage.notes.iter().chain(&passage.held_in).collect();
        let pitches = PitchContent::of(&sounding_notes, spq);
        let counts: Vec<usize> = roll
            .active
            .iter()
            .map(|f| f.count_ones() as usize)
            .collect();
        let texture = Texture::of(passage, &counts, spq);
        let par = parallels(&roll);
        let repeats = BarRepeats::of(passage, &roll);
        Self {
            notes: passage.notes.len(),
            notes_per_bar: passage.notes.len() as f64 / (passage.length_quarters() / 4.0).max(1e-9),
            mean_note_beats: mean_note_beats(passage, spq),
            pitch_range_semitones: pitches.range_semitones,
            distinct_pitches: pitches.distinct_pitches,
            distinct_pitch_classes: pitches.distinct_pitch_classes,
            pitch_class_entropy_bits: pitches.entropy_bits,
            polyphony: texture.polyphony,
            voice_shares: texture.voice_shares,
            max_polyphony: counts.iter().copied().max().unwrap_or(0),
            empty_beat_rate: texture.empty_beat_rate,
            longest_silence_beats: texture.longest_silence_beats,
            has_silent_bar: texture.has_silent_bar,
            onsets_on_beat: onsets_on_grid(passage, 1, spq),
            onsets_on_eighths: onsets_on_grid(passage, 2, spq),
            onsets_on_sixteenths: onsets_on_grid(passage, 4, spq),
            key: pitches.key,
            in_key: pitches.in_key,
            repeats_a_bar: repeats.any,
            repeats_bar_before: repeats.bar_before,
            parallel_fifths_per_change: share(par.fifths, par.chord_changes),
            parallel_octaves_per_change: share(par.octaves, par.chord_changes),
        }
    }
}

/// Mean length in beats of the notes that start in the passage (`None` without notes).
fn mean_note_beats(passage: &Passage, spq: u32) -> Option<f64> {
    (!passage.notes.is_empty()).then(|| {
        passage
            .notes
            .iter()
            .map(|n| f64::from(n.length_steps))
            .sum::<f64>()
            / passage.notes.len() as f64
            / f64::from(spq)
    })
}

/// What the sounding notes' pitches say: range, variety, pitch-class entropy and key. Each
/// note counts once (entropy, in key); the key is found from each class's sounding time.
struct PitchContent {
    range_semitones: Option<f64>,
    distinct_pitches: usize,
    distinct_pitch_classes: usize,
    entropy_bits: Option<f64>,
    key: Option<Key>,
    in_key: Option<f64>,
}

impl PitchContent {
    fn of(sounding_notes: &[&Note], spq: u32) -> Self {
        let lo = sounding_notes.iter().map(|n| n.pitch).min();
        let hi = sounding_notes.iter().map(|n| n.pitch).max();
        let mut pitch_set = 0u128;
        let mut class_counts = [0usize; 12];
        let mut class_beats = [0.0f64; 12];
        for n in sounding_notes {
            pitch_set |= 1u128 << n.pitch.min(127);
            class_counts[usize::from(n.pitch % 12)] += 1;
            class_beats[usize::from(n.pitch % 12)] += f64::from(n.length_steps) / f64::from(spq);
        }
        let entropy_bits = (!sounding_notes.is_empty()).then(|| {
            let total = sounding_notes.len() as f64;
            class_counts
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| {
                    let p = c as f64 / total;
                    -p * p.log2()
                })
                .sum::<f64>()
        });
        let key = find_key(&class_beats).map(|(k, _)| k);
        let in_key = key.and_then(|k| {
            let inside = sounding_notes
                .iter()
                .filter(|n| k.contains_pitch_class(n.pitch % 12))
                .count();
            share(inside, sounding_notes.len())
        });
        Self {
            range_semitones: lo.zip(hi).map(|(l, h)| f64::from(h - l)),
            distinct_pitches: pitch_set.count_ones() as usize,
            distinct_pitch_classes: class_counts.iter().filter(|&&c| c > 0).count(),
            entropy_bits,
            key,
            in_key,
        }
    }
}

/// How full and how silent the passage is, from the number of pitches sounding at each
/// step (`counts`): polyphony, the voice shares and the silences by beat, run and bar.
struct Texture {
    polyphony: Option<f64>,
    voice_shares: [f64; 4],
    empty_beat_rate: f64,
    longest_silence_beats: f64,
    has_silent_bar: bool,
}

impl Texture {
    fn of(passage: &Passage, counts: &[usize], spq: u32) -> Self {
        let steps = counts.len();
        let sounding_steps = counts.iter().filter(|&&c| c > 0).count();
        let polyphony = (sounding_steps > 0)
            .then(|| counts.iter().sum::<usize>() as f64 / sounding_steps as f64);
        let voice_shares = std::array::from_fn(|k| {
            let with_k = counts
                .iter()
                .filter(|&&c| if k == 3 { c >= 4 } else { c == k + 1 })
                .count();
            share(with_k, steps).unwrap_or(0.0)
        });
        let spq_usize = spq as usize;
        let beats = steps.div_ceil(spq_usize);
        let empty_beats = (0..beats)
            .filter(|b| {
                counts[b * spq_usize..((b + 1) * spq_usize).min(steps)]
                    .iter()
                    .all(|&c| c == 0)
            })
            .count();
        let (mut longest, mut run) = (0usize, 0usize);
        for &c in counts {
            run = if c == 0 { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        let has_silent_bar = passage
            .bars()
            .any(|(s, e)| e > s && counts[s as usize..e as usize].iter().all(|&c| c == 0));
        Self {
            polyphony,
            voice_shares,
            empty_beat_rate: share(empty_beats, beats).unwrap_or(0.0),
            longest_silence_beats: longest as f64 / f64::from(spq),
            has_silent_bar,
        }
    }
}

/// Share of the notes whose start, measured from its own bar's start, falls on a grid of
/// `per_quarter` divisions of the quarter note (1: beats, 2: eighths, 4: sixteenths).
fn onsets_on_grid(passage: &Passage, per_quarter: u32, spq: u32) -> Option<f64> {
    let on = passage
        .notes
        .iter()
        .filter(|n| {
            let offset = n.start_step - passage.bar_start_of(n.start_step);
            (offset * per_quarter).is_multiple_of(spq)
        })
        .count();
    share(on, passage.notes.len())
}

/// Where a passage repeats its bars exactly (same piano roll: active and onsets).
struct BarRepeats {
    /// Whether two bars of equal length, not silent, are the same: the plainest sign of a
    /// repeat.
    any: bool,
    /// Share of the sounding bars after the first (of the same length as the one before)
    /// that repeat it: a bar played twice in a row, or a loop.
    bar_before: Option<f64>,
}

impl BarRepeats {
    fn of(passage: &Passage, roll: &PianoRoll) -> Self {
        let bars: Vec<(u32, u32)> = passage.bars().filter(|(s, e)| e > s).collect();
        let same = |a: (u32, u32), b: (u32, u32)| {
            b.1 - b.0 == a.1 - a.0
                && roll.same_steps(a.0 as usize, b.0 as usize, (a.1 - a.0) as usize)
        };
        let sounds =
            |(s, e): (u32, u32)| roll.active[s as usize..e as usize].iter().any(|&f| f != 0);
        let any = bars
            .iter()
            .enumerate()
            .any(|(i, &a)| sounds(a) && bars[i + 1..].iter().any(|&b| same(a, b)));
        let pairs: Vec<bool> = bars
            .windows(2)
            .filter(|w| w[0].1 - w[0].0 == w[1].1 - w[1].0 && sounds(w[1]))
            .map(|w| same(w[0], w[1]))
            .collect();
        let again = pairs.iter().filter(|&&p| p).count();
        Self {
            any,
            bar_before: share(again, pairs.len()),
        }
    }
}

/// Declares [`Metric`] from one row per metric, in report order: its name, its label in
/// tables, whether it is a share of something (shown as a percentage) or an amount, and
/// its value for one passage (`None` when it is not defined there).
macro_rules! metrics {
    ($($name:ident, $label:literal, $kind:ident, $value:expr;)*) => {
        /// One row of a report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Metric {
            $($name,)*
        }

        impl Metric {
            /// Every metric, in report order.
            pub const ALL: [Metric; [$(stringify!($name)),*].len()] = [$(Self::$name),*];

            /// The name in tables.
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$name => $label,)*
                }
            }

            /// Whether the value is a share (shown as a percentage).
            pub fn is_share(self) -> bool {
                match self {
                    $(Self::$name => matches!(Kind::$kind, Kind::Share),)*
                }
            }

            /// The metric's value for one passage (`None` when it is not defined there).
            pub fn value(self, s: &PassageStats) -> Option<f64> {
                let value: fn(&PassageStats) -> Option<f64> = match self {
                    $(Self::$name => $value,)*
                };
                value(s)
            }
        }
    };
}

/// What a metric's value is: a share of something (0..1) or an amount.
enum Kind {
    Share,
    Amount,
}

/// A yes/no property as a share of passages.
fn flag(b: bool) -> Option<f64> {
    Some(if b { 1.0 } else { 0.0 })
}

metrics! {
    NotesPerBar, "notes per bar", Amount, |s| Some(s.notes_per_bar);
    MeanNoteBeats, "mean note length (beats)", Amount, |s| s.mean_note_beats;
    PitchRangeSemitones, "pitch range (semitones)", Amount, |s| s.pitch_range_semitones;
    DistinctPitches, "pitches used", Amount, |s| Some(s.distinct_pitches as f64);
    DistinctPitchClasses, "pitch classes used", Amount, |s| Some(s.distinct_pitch_classes as f64);
    PitchClassEntropyBits, "pitch-class entropy (bits)", Amount, |s| s.pitch_class_entropy_bits;
    Polyphony, "polyphony (while sounding)", Amount, |s| s.polyphony;
    OneVoiceShare, "time with 1 voice", Share, |s| Some(s.voice_shares[0]);
    TwoVoicesShare, "time with 2 voices", Share, |s| Some(s.voice_shares[1]);
    ThreeVoicesShare, "time with 3 voices", Share, |s| Some(s.voice_shares[2]);
    FourPlusVoicesShare, "time with 4+ voices", Share, |s| Some(s.voice_shares[3]);
    MaxPolyphony, "highest polyphony", Amount, |s| Some(s.max_polyphony as f64);
    EmptyBeatRate, "empty beats", Share, |s| Some(s.empty_beat_rate);
    LongestSilenceBeats, "longest silence (beats)", Amount, |s| Some(s.longest_silence_beats);
    HasSilentBar, "phrases with a silent bar", Share, |s| flag(s.has_silent_bar);
    OnsetsOnBeat, "onsets on the beat", Share, |s| s.onsets_on_beat;
    OnsetsOnEighths, "onsets on the 8th grid", Share, |s| s.onsets_on_eighths;
    OnsetsOnSixteenths, "onsets on the 16th grid", Share, |s| s.onsets_on_sixteenths;
    InKey, "notes in the best key (KK)", Share, |s| s.in_key;
    RepeatsABar, "phrases repeating a bar", Share, |s| flag(s.repeats_a_bar);
    RepeatsBarBefore, "bars repeating the bar before", Share, |s| s.repeats_bar_before;
    ParallelFifthsPerChange, "parallel 5ths per chord change", Share,
        |s| s.parallel_fifths_per_change;
    ParallelOctavesPerChange, "parallel 8ves per chord change", Share,
        |s| s.parallel_octaves_per_change;
    FewerThanFourNotes, "phrases with < 4 notes", Share, |s| flag(s.notes < 4);
}
