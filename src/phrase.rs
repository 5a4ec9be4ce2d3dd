//! A phrase: notes on a musical grid. The unit every other part of PhraseGen exchanges.
//!
//! Positions and lengths are whole grid steps (`steps_per_quarter` steps per quarter note),
//! so a phrase is exact and hashable; seconds and samples only appear at the edges
//! (MIDI export, the scheduler).

use serde::{Deserialize, Serialize};

/// Sixteenth notes: the prototype's grid.
pub const DEFAULT_STEPS_PER_QUARTER: u32 = 4;

/// A time signature such as 4/4 or 6/8. The denominator is a power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeSignature {
    pub numerator: u8,
    pub denominator: u8,
}

impl TimeSignature {
    pub const FOUR_FOUR: Self = Self::new(4, 4);

    /// `numerator`/`denominator`, e.g. `new(6, 8)`.
    pub const fn new(numerator: u8, denominator: u8) -> Self {
        Self {
            numerator,
            denominator,
        }
    }

    /// `numerator/denominator` as a time signature, if it is one a host uses: 1..=32 over 1,
    /// 2, 4, .. 32 (the check for a restored phrase and for the host's transport).
    pub fn from_host(numerator: i32, denominator: i32) -> Option<Self> {
        let usable =
            (1..=32).contains(&numerator) && matches!(denominator, 1 | 2 | 4 | 8 | 16 | 32);
        usable.then(|| Self::new(numerator as u8, denominator as u8))
    }

    /// Length of one bar in quarter notes (6/8 is 3.0).
    pub fn quarters_per_bar(&self) -> f64 {
        f64::from(self.numerator) * 4.0 / f64::from(self.denominator.max(1))
    }

    /// Length of one bar in grid steps, rounded up so a bar is never empty.
    pub fn steps_per_bar(&self, steps_per_quarter: u32) -> u32 {
        let num = u64::from(self.numerator) * 4 * u64::from(steps_per_quarter);
        let den = u64::from(self.denominator.max(1));
        (num.div_ceil(den)).max(1) as u32
    }
}

impl Default for TimeSignature {
    fn default() -> Self {
        Self::FOUR_FOUR
    }
}

/// One note: MIDI pitch, start and length in grid steps, MIDI velocity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Note {
    /// Grid step at which the note starts (first field, so notes sort by time).
    pub start_step: u32,
    /// MIDI pitch, 0..=127.
    pub pitch: u8,
    /// Length in grid steps, at least 1.
    pub length_steps: u32,
    /// MIDI velocity, 1..=127.
    pub velocity: u8,
}

impl Note {
    /// A note in the order of the fields: start and length in grid steps.
    pub const fn new(start_step: u32, pitch: u8, length_steps: u32, velocity: u8) -> Self {
        Self {
            start_step,
            pitch,
            length_steps,
            velocity,
        }
    }

    /// First step after the note.
    pub fn end_step(&self) -> u32 {
        self.start_step.saturating_add(self.length_steps)
    }
}

/// Notes on a grid with a length in bars, a time signature and a tempo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phrase {
    pub steps_per_quarter: u32,
    pub time_signature: TimeSignature,
    pub bars: u32,
    /// Tempo written into exported files; playback in a host follows the host's tempo.
    pub tempo_bpm: f64,
    /// Sorted by start step, then pitch.
    pub notes: Vec<Note>,
    /// Notes muted by hand on the roll: shown greyed so they can be brought back, but not
    /// played, exported or heard by the model (they are not in `notes`). Sorted likewise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub muted: Vec<Note>,
}

impl Default for Phrase {
    fn default() -> Self {
        Self::empty(
            4,
            DEFAULT_STEPS_PER_QUARTER,
            TimeSignature::FOUR_FOUR,
            120.0,
        )
    }
}

impl Phrase {
    /// Every note moved by `semitones`; notes pushed off the keyboard (0..=127) are dropped.
    pub fn transposed(&self, semitones: i32) -> Phrase {
        let moved = |notes: &[Note]| -> Vec<Note> {
            notes
                .iter()
                .filter_map(|n| {
                    let pitch = u8::try_from(i32::from(n.pitch) + semitones).ok()?;
                    (pitch <= 127).then_some(Note { pitch, ..*n })
                })
                .collect()
        };
        Phrase {
            notes: moved(&self.notes),
            muted: moved(&self.muted),
            ..self.clone()
        }
    }

    /// An empty phrase of `bars` bars.
    pub fn empty(
        bars: u32,
        steps_per_quarter: u32,
        time_signature: TimeSignature,
        tempo_bpm: f64,
    ) -> Self {
        Self {
            steps_per_quarter,
            time_signature,
            bars,
            tempo_bpm,
            notes: Vec::new(),
            muted: Vec::new(),
        }
    }

    pub fn steps_per_bar(&self) -> u32 {
        self.time_signature.steps_per_bar(self.steps_per_quarter)
    }

    /// Length of the phrase in grid steps.
    pub fn total_steps(&self) -> u32 {
        self.bars.saturating_mul(self.steps_per_bar())
    }

    /// Length of the phrase in quarter notes (beats as hosts count them).
    pub fn length_beats(&self) -> f64 {
        f64::from(self.total_steps()) / f64::from(self.steps_per_quarter.max(1))
    }

    /// Converts a grid step to a position in quarter notes.
    pub fn step_to_beats(&self, step: u32) -> f64 {
        f64::from(step) / f64::from(self.steps_per_quarter.max(1))
    }

    /// Sorts notes by start step, then pitch: the order the scheduler and exporters expect.
    pub fn sort_notes(&mut self) {
        self.notes.sort_unstable();
    }

    /// The smallest number of bars that holds every note (at least one).
    pub fn bars_needed(&self) -> u32 {
        let end = self.notes.iter().map(Note::end_step).max().unwrap_or(0);
        end.div_ceil(self.steps_per_bar()).max(1)
    }

    /// Lowest and highest pitch, if any note exists.
    pub fn pitch_range(&self) -> Option<(u8, u8)> {
        let pitches = self.notes.iter().map(|n| n.pitch);
        pitches.clone().min().zip(pitches.max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_lengths_follow_the_time_signature() {
        let six_eight = TimeSignature::new(6, 8);
        assert_eq!(six_eight.steps_per_bar(4), 12);
        assert_eq!(six_eight.quarters_per_bar(), 3.0);
        assert_eq!(TimeSignature::FOUR_FOUR.steps_per_bar(4), 16);
        // A 1/16 pickup bar at one step per quarter still gets one step.
        let pickup = TimeSignature::new(1, 16);
        assert_eq!(pickup.steps_per_bar(1), 1);
    }

    #[test]
    fn phrase_length_and_bars_needed() {
        let mut p = Phrase::empty(2, 4, TimeSignature::FOUR_FOUR, 100.0);
        assert_eq!(p.total_steps(), 32);
        assert_eq!(p.length_beats(), 8.0);
        p.notes.push(Note::new(40, 60, 2, 90));
        assert_eq!(p.bars_needed(), 3);
        assert_eq!(p.pitch_range(), Some((60, 60)));
    }
}
