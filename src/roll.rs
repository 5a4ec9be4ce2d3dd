//! Piano roll: one frame per grid step, 128 pitches, an `active` and an `onset` bit per pitch.
//!
//! The onset bit is what keeps two repeated eighth notes from collapsing into one quarter
//! note on a round trip. Datasets that only carry active pitches (the published JSB tables)
//! use [`Representation::ActiveOnly`], where onsets are ignored.

use serde::{Deserialize, Serialize};

use crate::phrase::{Note, Phrase};

/// Which bits of a frame a model sees and predicts.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Representation {
    /// Active pitches only: a held note and a repeated note look the same (the published
    /// benchmarks' representation).
    #[value(name = "active-only", alias = "active")]
    ActiveOnly,
    /// Active and onset bits: repeated notes survive.
    #[default]
    #[value(name = "onsets", alias = "active-and-onset")]
    ActiveAndOnset,
}

impl Representation {
    /// Feature planes per pitch (1 or 2).
    pub fn planes(self) -> usize {
        match self {
            Self::ActiveOnly => 1,
            Self::ActiveAndOnset => 2,
        }
    }
}

/// An inclusive MIDI pitch range, the pitches a model covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PitchRange {
    pub lo: u8,
    pub hi: u8,
}

impl PitchRange {
    /// All 128 MIDI pitches.
    pub const FULL: Self = Self { lo: 0, hi: 127 };

    pub fn len(&self) -> usize {
        usize::from(self.hi.saturating_sub(self.lo)) + 1
    }

    pub fn is_empty(&self) -> bool {
        self.hi < self.lo
    }

    pub fn contains(&self, pitch: u8) -> bool {
        (self.lo..=self.hi).contains(&pitch)
    }

    pub fn pitches(&self) -> impl DoubleEndedIterator<Item = u8> {
        self.lo..=self.hi
    }
}

/// `LOW..HIGH` as the command line writes a pitch range, e.g. `36..96`.
impl std::str::FromStr for PitchRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (lo, hi) = s
            .split_once("..")
            .ok_or_else(|| format!("`{s}`: write a pitch range as LOW..HIGH, e.g. 36..96"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= 127)
                .ok_or_else(|| format!("`{v}` is not a MIDI pitch 0..127"))
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(format!("pitch range {lo}..{hi} is empty"));
        }
        Ok(PitchRange { lo, hi })
    }
}

/// One bit per MIDI pitch.
pub type PitchSet = u128;

/// Frames of active and onset bits.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PianoRoll {
    /// Bit `p` of `active[t]` is set when pitch `p` sounds during step `t`.
    pub active: Vec<PitchSet>,
    /// Bit `p` of `onset[t]` is set when pitch `p` starts at step `t` (implies active).
    pub onset: Vec<PitchSet>,
}

impl PianoRoll {
    /// An empty roll of `steps` frames.
    pub fn new(steps: usize) -> Self {
        Self {
            active: vec![0; steps],
            onset: vec![0; steps],
        }
    }

    pub fn len(&self) -> usize {
        self.active.len()
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// Whether the `len` steps from `a` and from `b` sound the same: the same pitches held
    /// and struck at the same steps (a bar repeated note for note).
    pub fn same_steps(&self, a: usize, b: usize, len: usize) -> bool {
        self.active[a..a + len] == self.active[b..b + len]
            && self.onset[a..a + len] == self.onset[b..b + len]
    }

    /// Draws a phrase's notes into `phrase.total_steps()` frames (notes past the end are cut).
    pub fn from_phrase(phrase: &Phrase) -> Self {
        let steps = phrase.total_steps() as usize;
        let mut roll = Self::new(steps);
        for note in &phrase.notes {
            roll.add_note(
                note.pitch,
                note.start_step as usize,
                note.length_steps as usize,
            );
        }
        roll
    }

    /// Marks `pitch` active from `start` for `length` steps with an onset at `start`.
    pub fn add_note(&mut self, pitch: u8, start: usize, length: usize) {
        if pitch > 127 || length == 0 || start >= self.len() {
            return;
        }
        let bit = 1u128 << pitch;
        self.onset[start] |= bit;
        let end = (start + length).min(self.len());
        for frame in &mut self.active[start..end] {
            *frame |= bit;
        }
    }

    /// Reads the notes back. With `ActiveOnly`, onsets are ignored and a run of active
    /// frames is one note. Every note gets `velocity`.
    pub fn to_notes(&self, representation: Representation, velocity: u8) -> Vec<Note> {
        let mut notes = Vec::new();
        for pitch in 0..128u8 {
            let bit = 1u128 << pitch;
            let mut start: Option<usize> = None;
            for t in 0..=self.len() {
                let active = t < self.len() && self.active[t] & bit != 0;
                let onset = representation == Representation::ActiveAndOnset
                    && t < self.len()
                    && self.onset[t] & bit != 0;
                if let Some(s) = start {
                    if !active || onset {
                        notes.push(Note::new(s as u32, pitch, (t - s) as u32, velocity));
                        start = None;
                    }
                }
                if active && start.is_none() {
                    start = Some(t);
                }
            }
        }
        notes.sort_unstable();
        notes
    }

    /// Writes the model features of frame `t` into `out`: `range.len()` active values, then
    /// (with onsets) `range.len()` onset values, each 0.0 or 1.0.
    pub fn frame_features(
        &self,
        t: usize,
        range: PitchRange,
        representation: Representation,
        out: &mut [f32],
    ) {
        let n = range.len();
        debug_assert_eq!(out.len(), n * representation.planes());
        let (active, onset) = (self.active[t], self.onset[t]);
        for (i, pitch) in range.pitches().enumerate() {
            out[i] = ((active >> pitch) & 1) as f32;
            if representation == Representation::ActiveAndOnset {
                out[n + i] = ((onset >> pitch) & 1) as f32;
            }
        }
    }

    /// Features for every frame, row-major `[len, range.len() * planes]`.
    pub fn features(&self, range: PitchRange, representation: Representation) -> Vec<f32> {
        let width = range.len() * representation.planes();
        let mut out = vec![0.0; self.len() * width];
        for (t, frame) in out.chunks_mut(width).enumerate() {
            self.frame_features(t, range, representation, frame);
        }
        out
    }
}

/// Bit mask of the pitches `lo..=hi`.
pub fn pitch_span_mask(lo: u8, hi: u8) -> u128 {
    (lo.min(127)..=hi.min(127)).fold(0u128, |m, p| m | (1u128 << p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::TimeSignature;
    use proptest::prelude::*;

    fn note(start: u32, pitch: u8, len: u32) -> Note {
        Note::new(start, pitch, len, 100)
    }

    #[test]
    fn repeated_eighths_stay_two_notes_with_onsets() {
        let mut p = Phrase::empty(1, 4, TimeSignature::FOUR_FOUR, 120.0);
        p.notes = vec![note(0, 60, 2), note(2, 60, 2)];
        let roll = PianoRoll::from_phrase(&p);
        assert_eq!(roll.to_notes(Representation::ActiveAndOnset, 100), p.notes);
        // Without onsets they merge into one quarter note: the loss the onset bit prevents.
        assert_eq!(
            roll.to_notes(Representation::ActiveOnly, 100),
            vec![note(0, 60, 4)]
        );
    }

    /// Grid-aligned notes that do not overlap on the same pitch.
    fn phrase_strategy() -> impl Strategy<Value = Phrase> {
        (1u32..5, prop::sample::select(vec![1u32, 2, 4, 12]))
            .prop_flat_map(|(bars, spq)| {
                let total = bars * 4 * spq;
                let notes = prop::collection::vec((0u8..128, 0..total, 1..=total), 0..40);
                (Just(bars), Just(spq), notes)
            })
            .prop_map(|(bars, spq, raw)| {
                let mut p = Phrase::empty(bars, spq, TimeSignature::FOUR_FOUR, 120.0);
                let total = p.total_steps();
                let mut busy = vec![vec![false; total as usize]; 128];
                for (pitch, start, len) in raw {
                    let end = (start + len).min(total);
                    let lane = &mut busy[pitch as usize];
                    if lane[start as usize..end as usize].iter().any(|b| *b) {
                        continue;
                    }
                    lane[start as usize..end as usize].fill(true);
                    p.notes.push(note(start, pitch, end - start));
                }
                p.sort_notes();
                p
            })
    }

    proptest! {
        #[test]
        fn phrase_roll_phrase_is_exact(p in phrase_strategy()) {
            let roll = PianoRoll::from_phrase(&p);
            prop_assert_eq!(roll.to_notes(Representation::ActiveAndOnset, 100), p.notes);
        }

        #[test]
        fn active_only_keeps_every_sounding_frame(p in phrase_strategy()) {
            let roll = PianoRoll::from_phrase(&p);
            let notes = roll.to_notes(Representation::ActiveOnly, 100);
            let mut q = p.clone();
            q.notes = notes;
            let again = PianoRoll::from_phrase(&q);
            prop_assert_eq!(again.active, roll.active);
        }
    }
}
