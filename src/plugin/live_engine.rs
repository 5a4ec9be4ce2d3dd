//! The engines of the live modes, as the worker builds them and the audio thread plays
//! them: the harmonizer, the accompanist, and Answer mode's playback of an answer placed on
//! the timeline.

use crate::family::{LiveAccompanist, LiveHarmonizer, VoiceChange};
use crate::sample::pitches_in;
use crate::scheduler::{EventBuffer, NoteEvent};

use super::params::PlayMode;

/// What plays live: one per mode that follows the player.
// Engines travel boxed through the worker's queues: the sizes of the variants never move.
#[allow(clippy::large_enum_variant)]
pub enum LiveEngine {
    Harmonize(LiveHarmonizer),
    Accompany(LiveAccompanist),
    Answer(AnswerPlayer),
}

impl LiveEngine {
    pub fn release_all(&mut self, out: &mut impl FnMut(VoiceChange)) {
        match self {
            Self::Harmonize(h) => h.release_all(out),
            Self::Accompany(a) => a.release_all(out),
            Self::Answer(a) => a.stop(out),
        }
    }

    /// Whether this engine is the one `mode` plays.
    pub fn plays(&self, mode: PlayMode) -> bool {
        matches!(
            (self, mode),
            (Self::Harmonize(_), PlayMode::Harmonize)
                | (Self::Accompany(_), PlayMode::Accompany)
                | (Self::Answer(_), PlayMode::Answer)
        )
    }

    /// Grid steps per quarter note this engine is stepped at: its model's grid (16ths, or
    /// twelfths of a quarter for a model that plays triplets), or its answer's.
    pub fn steps_per_quarter(&self) -> u32 {
        match self {
            Self::Harmonize(h) => h.steps_per_quarter(),
            Self::Accompany(a) => a.steps_per_quarter(),
            Self::Answer(a) => a.steps_per_quarter,
        }
        .max(1)
    }

    pub fn is_sounding(&mut self) -> bool {
        match self {
            Self::Harmonize(h) => h.sounding().next().is_some(),
            Self::Accompany(a) => a.sounding().is_some(),
            Self::Answer(a) => a.sounding != 0,
        }
    }
}

/// A note of an answer on the live grid: its phrase's steps counted from beat 0 of the
/// timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnswerNote {
    pub start_step: i64,
    pub end_step: i64,
    pub pitch: u8,
    pub velocity: f32,
}

/// Answer mode's playback: the answer the worker wrote, played once from where it was
/// placed on the timeline, stopped for good when the player plays again.
#[derive(Debug)]
pub struct AnswerPlayer {
    notes: Vec<AnswerNote>,
    next: usize,
    sounding: u128,
    ends: [i64; 128],
    last_step: Option<i64>,
    /// The step the worker placed the answer's start on, a bar line of the timeline.
    origin: i64,
    /// A bar in steps: an answer that arrives after its start moves to the next bar line.
    bar_steps: i64,
    /// The grid the answer is stepped at: its phrase's.
    pub steps_per_quarter: u32,
}

impl Default for AnswerPlayer {
    /// Nothing to answer yet.
    fn default() -> Self {
        Self {
            notes: Vec::new(),
            next: 0,
            sounding: 0,
            ends: [0; 128],
            last_step: None,
            origin: 0,
            bar_steps: 1,
            steps_per_quarter: crate::phrase::DEFAULT_STEPS_PER_QUARTER,
        }
    }
}

impl AnswerPlayer {
    /// `phrase` placed to start at `start_beats`, a bar line of the timeline whose bars are
    /// `bar_beats` long (allocates: the worker's side).
    pub fn new(phrase: &crate::phrase::Phrase, start_beats: f64, bar_beats: f64) -> Self {
        let spq = phrase.steps_per_quarter.max(1);
        let origin = (start_beats * f64::from(spq)).round() as i64;
        let at = |step: u32| origin + i64::from(step);
        let mut notes: Vec<AnswerNote> = phrase
            .notes
            .iter()
            .map(|n| AnswerNote {
                start_step: at(n.start_step),
                end_step: at(n.end_step()).max(at(n.start_step) + 1),
                pitch: n.pitch,
                velocity: f32::from(n.velocity) / 127.0,
            })
            .collect();
        notes.sort_by_key(|n| (n.start_step, n.pitch));
        Self {
            notes,
            origin,
            bar_steps: ((bar_beats * f64::from(spq)).round() as i64).max(1),
            steps_per_quarter: spq,
            ..Self::default()
        }
    }

    /// Grid step `step` begins at `sample`: notes end and start. An answer first stepped
    /// after its start (the worker was slow: a busy machine) moves whole to the next bar
    /// line, rather than losing its opening. A jump on the timeline (loop, seek) ends what
    /// sounds; notes whose start has passed are not played late.
    pub fn step(&mut self, step: i64, sample: u32, channel: u8, out: &mut EventBuffer) {
        if self.last_step.is_none() && step > self.origin {
            let next_bar = (step + self.bar_steps - 1).div_euclid(self.bar_steps) * self.bar_steps;
            for n in &mut self.notes {
                n.start_step += next_bar - self.origin;
                n.end_step += next_bar - self.origin;
            }
            self.origin = next_bar;
        }
        if self.last_step.is_some_and(|last| step != last + 1) {
            self.stop_sounding(|p| out.push(NoteEvent::off(sample, p, channel)));
        }
        self.last_step = Some(step);
        for p in pitches_in(self.sounding) {
            if self.ends[usize::from(p)] <= step {
                self.sounding &= !(1u128 << p);
                out.push(NoteEvent::off(sample, p, channel));
            }
        }
        while let Some(n) = self.notes.get(self.next).copied() {
            if n.start_step > step {
                break;
            }
            self.next += 1;
            let bit = 1u128 << n.pitch.min(127);
            if n.start_step == step && self.sounding & bit == 0 {
                self.sounding |= bit;
                self.ends[usize::from(n.pitch.min(127))] = n.end_step;
                out.push(NoteEvent::on(sample, n.pitch, channel, n.velocity));
            }
        }
    }

    /// Ends every note sounding, calling `off` with each pitch.
    fn stop_sounding(&mut self, off: impl FnMut(u8)) {
        pitches_in(self.sounding).for_each(off);
        self.sounding = 0;
    }

    /// Ends the answer for good (the player plays again, mode change, bypass).
    pub fn stop(&mut self, out: &mut impl FnMut(VoiceChange)) {
        self.stop_sounding(|p| out(VoiceChange::Off(p)));
        self.next = self.notes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::{Note, Phrase, TimeSignature};

    /// (step, on, pitch) of every event from stepping `player` through `steps`.
    fn play(player: &mut AnswerPlayer, steps: std::ops::Range<i64>) -> Vec<(i64, bool, u8)> {
        let mut out = EventBuffer::with_capacity(64);
        for step in steps {
            player.step(step, step as u32, 0, &mut out);
        }
        let events = out.events().iter();
        events
            .map(|e| (i64::from(e.sample), e.on, e.pitch))
            .collect()
    }

    #[test]
    fn a_late_answer_moves_whole_to_the_next_bar_line() {
        let mut answer = Phrase::empty(1, 4, TimeSignature::FOUR_FOUR, 120.0);
        answer.notes = vec![Note::new(0, 60, 4, 100), Note::new(4, 62, 4, 100)];
        let played = [(0, true, 60), (4, false, 60), (4, true, 62), (8, false, 62)];
        // On time: from its bar line (beat 4 = step 16).
        let mut on_time = AnswerPlayer::new(&answer, 4.0, 4.0);
        let want: Vec<_> = played.iter().map(|&(s, on, p)| (16 + s, on, p)).collect();
        assert_eq!(play(&mut on_time, 16..40), want);
        // First stepped at step 21, past its start: the next bar line (step 32), whole.
        let mut late = AnswerPlayer::new(&answer, 4.0, 4.0);
        let want: Vec<_> = played.iter().map(|&(s, on, p)| (32 + s, on, p)).collect();
        assert_eq!(play(&mut late, 21..48), want);
    }
}
