//! A passage: a stretch of music on a grid with its bar lines, the unit every statistic is
//! computed on. Generated phrases and cut-out segments of real pieces both become passages,
//! so the two are measured by the same code.

use crate::phrase::{Note, Phrase, TimeSignature};
use crate::roll::{PianoRoll, Representation};

/// Notes on a grid, with where the bars begin.
#[derive(Clone, Debug, PartialEq)]
pub struct Passage {
    pub steps_per_quarter: u32,
    pub length_steps: u32,
    /// Steps at which bars begin, ascending, the first at 0. Bars may differ in length
    /// (real pieces change time signature, pickup bars are short).
    pub bar_starts: Vec<u32>,
    /// The metre in effect where it starts (a phrase's own; a segment's from its file's
    /// time-signature map): what a model given the passage's music follows.
    pub meter: TimeSignature,
    /// Notes that start inside the passage, cut at its end.
    pub notes: Vec<Note>,
    /// Notes begun before the passage and still sounding at its start, as notes from
    /// step 0: they sound (polyphony, silence, pitch content) but are not onsets.
    pub held_in: Vec<Note>,
}

impl Passage {
    /// A generated phrase as a passage: bars of its time signature, every note its own.
    pub fn from_phrase(phrase: &Phrase) -> Self {
        let length_steps = phrase.total_steps();
        let steps_per_bar = phrase.steps_per_bar();
        let notes = phrase
            .notes
            .iter()
            .filter(|n| n.start_step < length_steps)
            .map(|n| Note {
                length_steps: n.length_steps.min(length_steps - n.start_step),
                ..*n
            })
            .collect();
        Self {
            steps_per_quarter: phrase.steps_per_quarter,
            length_steps,
            bar_starts: (0..phrase.bars.max(1)).map(|b| b * steps_per_bar).collect(),
            meter: phrase.time_signature,
            notes,
            held_in: Vec::new(),
        }
    }

    /// Cuts `[start, end)` out of a piece's notes; `bar_starts` are the piece's bar lines
    /// (those inside the window are kept, moved to the window's start), `meter` the metre
    /// in effect at `start`.
    pub fn cut(
        notes: &[Note],
        steps_per_quarter: u32,
        bar_starts: &[u32],
        meter: TimeSignature,
        (start, end): (u32, u32),
    ) -> Self {
        let mut inside = Vec::new();
        let mut held_in = Vec::new();
        for n in notes {
            if (start..end).contains(&n.start_step) {
                inside.push(Note {
                    start_step: n.start_step - start,
                    length_steps: n.end_step().min(end) - n.start_step,
                    ..*n
                });
            } else if n.start_step < start && n.end_step() > start {
                held_in.push(Note {
                    start_step: 0,
                    length_steps: n.end_step().min(end) - start,
                    ..*n
                });
            }
        }
        inside.sort_unstable();
        held_in.sort_unstable();
        let mut bars: Vec<u32> = bar_starts
            .iter()
            .filter(|b| (start..end).contains(*b))
            .map(|b| b - start)
            .collect();
        if bars.first() != Some(&0) {
            bars.insert(0, 0);
        }
        Self {
            steps_per_quarter,
            length_steps: end - start,
            bar_starts: bars,
            meter,
            notes: inside,
            held_in,
        }
    }

    /// Length in quarter notes (the beats hosts count).
    pub fn length_quarters(&self) -> f64 {
        f64::from(self.length_steps) / f64::from(self.steps_per_quarter.max(1))
    }

    /// The passage as a piano roll; held-in notes are active from step 0 without an onset.
    pub fn roll(&self) -> PianoRoll {
        let mut roll = PianoRoll::new(self.length_steps as usize);
        for n in &self.notes {
            roll.add_note(n.pitch, n.start_step as usize, n.length_steps as usize);
        }
        for n in &self.held_in {
            let end = (n.length_steps as usize).min(roll.len());
            for frame in &mut roll.active[..end] {
                *frame |= 1u128 << n.pitch.min(127);
            }
        }
        roll
    }

    /// The passage reduced to its `voices` highest notes at each step (the skyline), as
    /// the trainer reduces pieces for an event model with that many voices: the music
    /// such a model learned from. Velocities become 100 (no statistic reads them).
    pub fn top_voices(&self, voices: u8) -> Self {
        let full = self.roll();
        let roll = crate::events::limit_voices(&full, voices);
        let mut notes = Vec::new();
        let mut held_in = Vec::new();
        for n in roll.to_notes(Representation::ActiveAndOnset, 100) {
            let bit = 1u128 << n.pitch;
            // `limit_voices` starts every kept note at step 0; the full roll knows which
            // of them were held in from before the passage.
            if n.start_step == 0 && full.onset[0] & bit == 0 {
                held_in.push(n);
            } else {
                notes.push(n);
            }
        }
        notes.sort_unstable();
        held_in.sort_unstable();
        Self {
            notes,
            held_in,
            ..self.clone()
        }
    }

    /// `(start, end)` of every bar in steps.
    pub fn bars(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let ends = self.bar_starts.iter().skip(1).chain([&self.length_steps]);
        self.bar_starts.iter().copied().zip(ends.copied())
    }

    /// The start of the bar holding `step`.
    pub fn bar_start_of(&self, step: u32) -> u32 {
        let i = self.bar_starts.partition_point(|&b| b <= step);
        self.bar_starts[i.saturating_sub(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const FOUR_FOUR: TimeSignature = TimeSignature::FOUR_FOUR;

    fn note(start: u32, pitch: u8, len: u32) -> Note {
        Note::new(start, pitch, len, 100)
    }

    #[test]
    fn cutting_keeps_held_notes_as_sound_not_onsets() {
        let notes = [note(0, 60, 20), note(4, 64, 4), note(18, 67, 10)];
        let p = Passage::cut(&notes, 4, &[0, 16, 32], FOUR_FOUR, (16, 32));
        assert_eq!(p.length_steps, 16);
        assert_eq!(p.bar_starts, vec![0]);
        assert_eq!(p.notes, vec![note(2, 67, 10)]);
        assert_eq!(p.held_in, vec![note(0, 60, 4)]);
        let roll = p.roll();
        assert_eq!(roll.active[1], 1u128 << 60);
        assert_eq!(roll.active[4], 1u128 << 67, "the held note ends at step 4");
        assert_eq!(roll.onset[0], 0);
    }

    #[test]
    fn top_voices_keeps_the_highest_line() {
        // A chord C-E-G held under a melody; one voice keeps the top of each step.
        let notes = [
            note(0, 60, 8),
            note(0, 64, 8),
            note(2, 72, 2),
            note(6, 67, 6),
        ];
        let p = Passage::cut(&notes, 4, &[0], FOUR_FOUR, (0, 16)).top_voices(1);
        assert_eq!(
            p.notes,
            vec![
                note(0, 64, 2),
                note(2, 72, 2),
                note(4, 64, 2),
                note(6, 67, 6)
            ]
        );
        assert!(p.held_in.is_empty());
        let two = Passage::cut(&notes, 4, &[0], FOUR_FOUR, (0, 16)).top_voices(2);
        assert!(two.roll().active.iter().all(|f| f.count_ones() <= 2));
        // A held-in note stays held in.
        let held = Passage::cut(&[note(0, 60, 8)], 4, &[0, 4], FOUR_FOUR, (4, 8)).top_voices(1);
        assert_eq!(held.held_in, vec![note(0, 60, 4)]);
        assert!(held.notes.is_empty());
    }

    #[test]
    fn phrases_get_bar_lines_from_their_time_signature() {
        let mut phrase = Phrase::empty(3, 4, TimeSignature::FOUR_FOUR, 120.0);
        phrase.notes = vec![note(40, 60, 20)];
        let p = Passage::from_phrase(&phrase);
        assert_eq!(p.bar_starts, vec![0, 16, 32]);
        assert_eq!(p.notes, vec![note(40, 60, 8)]);
        assert_eq!(p.bar_start_of(40), 32);
        assert_eq!(p.bars().last(), Some((32, 48)));
    }
}
