//! Harmonizing: a melody is given and the model writes the voices under it. The melody is
//! not a second engine but a rule of the event sampler (`family/events/sample.rs`): at each
//! step its note-off and note-on are the only events allowed where they fall (the grammar
//! already orders note-ons from the top, so the melody is the first note-on of its step),
//! and the voices the model draws stay below it. The network hears the melody as it hears
//! its own notes, so what it writes under a note knows that note.
//!
//! A causal model only knows the melody so far: it harmonizes as a player sight-reading
//! would, which is also what a live keyboard allows.

use crate::meter::MeterMap;
use crate::model::{Architecture, ModelConfig};
use crate::phrase::{Note, Phrase};
use crate::roll::{PianoRoll, PitchSet, Representation};
use crate::sample::{GenerateError, GenerateParams, MAX_BARS};

/// How often a melody line sung again gets its harmony back when harmonizing: of the 123
/// segments of 8 bars in the `bach-chorales` training split where the sampler finds such a
/// line (three bars or more, or the opening two, repeated), Bach's four parts repeat a bar
/// in 109 (0.89); he harmonizes the rest afresh (`scripts/harmonize-lines.sh` counts them).
pub const LINE_COPY_SHARE: f32 = 0.89;

/// A melody to harmonize: its top line, and where its bar lines fall (a pickup, metre
/// changes), both on the model's grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Melody {
    /// One voice (see [`top_line`]); as [`crate::sample::chords::Chords`], every note.
    pub phrase: Phrase,
    pub meters: MeterMap,
    /// The file's key signature (sharps; negative: flats), which names the melody's key
    /// better than its notes alone do.
    pub key_signature: Option<i8>,
}

impl Melody {
    /// The top line of `phrase`, with its bar lines and key signature.
    pub fn new(phrase: &Phrase, meters: MeterMap, key_signature: Option<i8>) -> Self {
        Self {
            phrase: top_line(phrase),
            meters,
            key_signature,
        }
    }

    /// Steps from the start to the end of the last note.
    pub fn length_steps(&self) -> u32 {
        self.phrase
            .notes
            .iter()
            .map(Note::end_step)
            .max()
            .unwrap_or(0)
    }

    /// Lowest and highest pitch, if it has a note.
    pub fn pitch_span(&self) -> Option<(u8, u8)> {
        let pitches = self.phrase.notes.iter().map(|n| n.pitch);
        Some((pitches.clone().min()?, pitches.max()?))
    }

    /// The melody moved by `semitones` (its bar lines stay; the key signature follows).
    pub fn transposed(&self, semitones: i32) -> Self {
        Self {
            phrase: self.phrase.transposed(semitones),
            meters: self.meters.clone(),
            key_signature: transposed_key_signature(self.key_signature, semitones),
        }
    }
}

/// A key signature (sharps; negative: flats) moved by `semitones`: each semitone up is 7
/// sharps more, folded into -6..=6.
pub fn transposed_key_signature(sharps: Option<i8>, semitones: i32) -> Option<i8> {
    sharps.map(|sharps| ((i32::from(sharps) + 7 * semitones + 6).rem_euclid(12) - 6) as i8)
}

/// The highest sounding note at each step, as notes: a voice that the top moves away from
/// and back to starts again. Velocities are the original notes'.
pub fn top_line(phrase: &Phrase) -> Phrase {
    let roll = crate::events::limit_voices(&PianoRoll::from_phrase(phrase), 1);
    let velocity_of = |n: &Note| {
        phrase
            .notes
            .iter()
            .filter(|o| o.pitch == n.pitch && o.start_step <= n.start_step)
            .filter(|o| o.end_step() > n.start_step)
            .map(|o| o.velocity)
            .next_back()
            .unwrap_or(n.velocity)
    };
    let mut out = phrase.clone();
    out.notes = roll
        .to_notes(Representation::ActiveAndOnset, 100)
        .into_iter()
        .map(|n| Note {
            velocity: velocity_of(&n),
            ..n
        })
        .collect();
    out
}

/// Checks that `params.melody` (if any) can be harmonized by the model, once moved down by
/// `home_shift` (to the model's home key), and returns the whole octaves to move it by so it
/// sits in the model's range: none if it fits, else the fewest (upwards on a tie).
pub fn octave_into_range(
    cfg: &ModelConfig,
    params: &GenerateParams,
    home_shift: i32,
) -> Result<i32, GenerateError> {
    if params.chords.is_some() {
        check_chords(cfg, params)?;
    }
    let Some(melody) = &params.melody else {
        return Ok(0);
    };
    harmonizing_voices(cfg)?;
    if params.max_polyphony < 2 {
        return Err(GenerateError::MelodyNeedsTwoVoices(params.max_polyphony));
    }
    let (lo, hi) = melody.pitch_span().ok_or(GenerateError::EmptyMelody)?;
    let steps_per_bar = melody
        .phrase
        .time_signature
        .steps_per_bar(cfg.steps_per_quarter);
    if melody.length_steps() > MAX_BARS * steps_per_bar {
        return Err(GenerateError::MelodyTooLong {
            steps: melody.length_steps(),
            steps_per_bar,
        });
    }
    let range = cfg.pitch_range;
    let fits = |octave: i32| {
        let moved = |p: u8| i32::from(p) - home_shift + octave;
        moved(lo) >= i32::from(range.lo) && moved(hi) <= i32::from(range.hi)
    };
    [0, 12, -12, 24, -24, 36, -36, 48, -48]
        .into_iter()
        .find(|&octave| fits(octave))
        .map(|octave| -octave)
        .ok_or(GenerateError::MelodyRange {
            lo,
            hi,
            model_lo: range.lo,
            model_hi: range.hi,
        })
}

/// The most voices `cfg`'s model writes, if it can add voices under a melody (an event
/// model of two voices or more).
pub fn harmonizing_voices(cfg: &ModelConfig) -> Result<u8, GenerateError> {
    cfg.architecture
        .max_voices()
        .filter(|&voices| voices >= 2)
        .ok_or_else(|| GenerateError::MelodyNeedsVoices {
            model: cfg.name.clone(),
        })
}

/// Chords to accompany need an event model, notes, and no melody beside them.
fn check_chords(cfg: &ModelConfig, params: &GenerateParams) -> Result<(), GenerateError> {
    if params.melody.is_some() {
        return Err(GenerateError::MelodyAndChords);
    }
    if !matches!(cfg.architecture, Architecture::Events { .. }) {
        return Err(GenerateError::NeedsEventModel {
            model: cfg.name.clone(),
        });
    }
    match &params.chords {
        Some(chords) if chords.phrase.notes.is_empty() => Err(GenerateError::EmptyChords),
        _ => Ok(()),
    }
}

/// The melody step by step, as the sampler's rules read it.
#[derive(Clone, Debug)]
pub struct MelodyTrack {
    /// The melody's pitch sounding at each step.
    pub pitch: Vec<Option<u8>>,
    /// Whether the melody strikes its pitch at the step.
    pub strikes: Vec<bool>,
    pub meters: MeterMap,
}

impl MelodyTrack {
    /// The track of `melody` over `total_steps` steps (past its end: silence).
    pub fn new(melody: &Melody, total_steps: usize) -> Self {
        let mut roll = PianoRoll::from_phrase(&melody.phrase);
        roll.active.resize(total_steps, 0);
        roll.onset.resize(total_steps, 0);
        let pitch_of = |set: PitchSet| (set != 0).then(|| 127 - set.leading_zeros() as u8);
        let mut track = Self {
            pitch: Vec::with_capacity(total_steps),
            strikes: Vec::with_capacity(total_steps),
            meters: melody.meters.clone(),
        };
        for t in 0..total_steps {
            let pitch = pitch_of(roll.active[t]);
            let strikes = pitch.is_some_and(|p| {
                roll.onset[t] & (1u128 << p) != 0
                    || t == 0
                    || roll.active[t - 1] & (1u128 << p) == 0
            });
            track.pitch.push(pitch);
            track.strikes.push(strikes);
        }
        track
    }

    /// What the step must end and strike for the melody, given what sounds as it begins:
    /// the melody's previous note if it ends or is struck again, every voice under it at or
    /// above its new pitch (voices never cross it), everything when the melody rests (the
    /// voices rest with it, as at a chorale's fermata); and the new note if it is struck.
    pub fn step_demands(&self, t: usize, sounding: PitchSet) -> (PitchSet, Option<u8>) {
        let Some(m) = self.pitch[t] else {
            return (sounding, None);
        };
        let previous = if t > 0 { self.pitch[t - 1] } else { None };
        let mut must_end: PitchSet = 0;
        if let Some(p) = previous {
            if m != p || self.strikes[t] {
                must_end |= sounding & (1u128 << p);
            }
        }
        let at_or_above = !((1u128 << m) - 1);
        must_end |= sounding & at_or_above & !previous.map_or(0, |p| 1u128 << p);
        (must_end, self.strikes[t].then_some(m))
    }

    /// The earliest bar before `bar` (bars of `steps_per_bar` from the start) whose melody
    /// `bar` repeats exactly, if `bar` strikes a note at all and no melody note is held into
    /// it (a copied bar strikes its first notes afresh).
    pub fn repeats_bar(&self, bar: u32, steps_per_bar: usize) -> Option<u32> {
        let steps = |b: u32| {
            let start = b as usize * steps_per_bar;
            (start + steps_per_bar <= self.pitch.len()).then(|| start..start + steps_per_bar)
        };
        let this = steps(bar)?;
        let held_in = self.pitch[this.start].is_some() && !self.strikes[this.start];
        if held_in || !self.strikes[this.clone()].contains(&true) {
            return None;
        }
        (0..bar).find(|&earlier| {
            steps(earlier).is_some_and(|e| {
                self.pitch[e.clone()] == self.pitch[this.clone()]
                    && self.strikes[e] == self.strikes[this.clone()]
            })
        })
    }

    /// Whether pitch `p` is the melody's note continuing through step `t` (its note-off is
    /// the melody's, not the model's, to decide).
    pub fn holds(&self, t: usize, p: u8) -> bool {
        self.pitch[t] == Some(p) && !self.strikes[t]
    }
}

/// Replaces the notes of `harmonized` that are the melody's (same start and pitch) with the
/// melody's own, so its velocities come back too.
pub fn restore_melody(harmonized: &mut Phrase, melody: &Phrase) {
    for note in &mut harmonized.notes {
        if let Some(m) = melody
            .notes
            .iter()
            .find(|m| m.start_step == note.start_step && m.pitch == note.pitch)
        {
            *note = *m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::TimeSignature;

    fn phrase(notes: &[(u32, u8, u32)]) -> Phrase {
        let mut p = Phrase::empty(1, 4, TimeSignature::FOUR_FOUR, 120.0);
        p.notes = notes
            .iter()
            .map(|&(start_step, pitch, length_steps)| {
                Note::new(start_step, pitch, length_steps, 90)
            })
            .collect();
        p
    }

    #[test]
    fn the_top_line_is_the_highest_note_at_each_step() {
        let chord_under_tune = phrase(&[(0, 60, 8), (0, 64, 8), (2, 72, 2), (6, 67, 6)]);
        let top = top_line(&chord_under_tune);
        let got: Vec<(u32, u8, u32)> = top
            .notes
            .iter()
            .map(|n| (n.start_step, n.pitch, n.length_steps))
            .collect();
        assert_eq!(got, [(0, 64, 2), (2, 72, 2), (4, 64, 2), (6, 67, 6)]);
        assert!(top.notes.iter().all(|n| n.velocity == 90));
    }

    #[test]
    fn a_step_ends_the_old_note_and_voices_at_or_above_the_new_one() {
        let melody = Melody::new(
            &phrase(&[(0, 72, 2), (2, 67, 2), (4, 67, 1)]),
            MeterMap::constant(TimeSignature::FOUR_FOUR, 4),
            None,
        );
        let track = MelodyTrack::new(&melody, 8);
        // Step 2: 72 ends, the voice on 69 would cross the new 67, the one on 60 stays.
        let sounding = (1u128 << 72) | (1 << 69) | (1 << 60);
        assert_eq!(
            track.step_demands(2, sounding),
            ((1 << 72) | (1 << 69), Some(67))
        );
        // Step 3: 67 goes on; nothing to do.
        assert_eq!(track.step_demands(3, (1 << 67) | (1 << 60)), (0, None));
        assert!(track.holds(3, 67));
        // Step 4: 67 struck again.
        assert_eq!(track.step_demands(4, 1 << 67), (1 << 67, Some(67)));
        // Step 5: the melody rests; step 0 strikes.
        assert_eq!(track.step_demands(5, 1 << 67), (1 << 67, None));
        assert_eq!(track.step_demands(0, 0), (0, Some(72)));
    }
}
