//! Accompanying: chords are given and the model plays a line over them. Like a melody to
//! harmonize, the chords are a rule of the event sampler, not a second engine: a note
//! struck on a strong beat is a tone of the chord sounding then, any other note a tone of
//! the chord's scale (the key's scale with the chord's own tones; an altered tone, such
//! as the G# of E major in C, pushes out its neighbours in the key). The line follows a
//! chord change at the step it happens.

use crate::key::{key_of_notes, Key};
use crate::meter::{beat_steps, MeterMap};
use crate::phrase::TimeSignature;
use crate::roll::PianoRoll;
use crate::sample::melody::Melody;
use crate::sample::pitches_in;

/// Chords to play over (any voicing; what sounds at each step is the chord), where their
/// bar lines fall, and the file's key signature: the parts of a melody to harmonize, and
/// moved the same way ([`Melody::transposed`]), but every note kept.
pub type Chords = Melody;

/// A set of pitch classes, bit `pc` set for each.
pub type PitchClasses = u16;

/// The chords step by step, as the sampler's rules read them.
#[derive(Clone, Debug)]
pub struct ChordTrack {
    /// The chord's pitch classes at each step (between chords, the last one; before the
    /// first, the first).
    pub tones: Vec<PitchClasses>,
    /// The chord's scale at each step.
    pub scale: Vec<PitchClasses>,
    pub meters: MeterMap,
    pub steps_per_quarter: u32,
}

impl ChordTrack {
    /// The track of `chords` over `total_steps` steps.
    pub fn new(chords: &Chords, total_steps: usize) -> Self {
        let roll = PianoRoll::from_phrase(&chords.phrase);
        let key = key_of_notes(&chords.phrase.notes);
        let mut tones = Vec::with_capacity(total_steps);
        let mut last = 0;
        for t in 0..total_steps {
            let now = roll.active.get(t).map_or(0, |&set| pitch_classes(set));
            if now != 0 {
                last = now;
            }
            tones.push(last);
        }
        let first = tones.iter().copied().find(|&c| c != 0).unwrap_or(0);
        for c in tones.iter_mut().take_while(|c| **c == 0) {
            *c = first;
        }
        let scale = tones.iter().map(|&c| chord_scale(key, c)).collect();
        Self {
            tones,
            scale,
            meters: chords.meters.clone(),
            steps_per_quarter: chords.meters.steps_per_quarter(),
        }
    }

    /// Whether pitch `p` may be struck at step `t`, `step_in_bar` steps into a bar of
    /// `meter`.
    pub fn allows(&self, t: usize, p: u8, meter: TimeSignature, step_in_bar: u32) -> bool {
        let (Some(&tones), Some(&scale)) = (self.tones.get(t), self.scale.get(t)) else {
            return true;
        };
        let pc = 1 << (p % 12);
        let wanted = if is_strong_beat(meter, step_in_bar, self.steps_per_quarter) {
            tones
        } else {
            scale
        };
        wanted == 0 || wanted & pc != 0
    }
}

/// The pitch classes of a set of pitches.
pub fn pitch_classes(pitches: u128) -> PitchClasses {
    pitches_in(pitches).fold(0, |set, p| set | 1 << (p % 12))
}

/// The scale over a chord: the key's degrees and the chord's tones; a chord tone outside
/// the key removes the key's tones a semitone from it (they would rub against it). With no
/// key known, the chord's tones and the whole tones between them are left chromatic.
pub fn chord_scale(key: Option<Key>, chord: PitchClasses) -> PitchClasses {
    let Some(key) = key else {
        return 0xfff;
    };
    let in_key: PitchClasses = (0..12u8)
        .filter(|&pc| key.contains_pitch_class(pc))
        .fold(0, |set, pc| set | 1 << pc);
    let mut scale = in_key | chord;
    for pc in 0..12u16 {
        if chord & (1 << pc) != 0 && in_key & (1 << pc) == 0 {
            for neighbour in [(pc + 1) % 12, (pc + 11) % 12] {
                if chord & (1 << neighbour) == 0 {
                    scale &= !(1 << neighbour);
                }
            }
        }
    }
    scale
}

/// Strong beats: the bar line, and the middle of a bar of an even number of beats (beats
/// 1 and 3 of 4/4; both beats of 2/4 and 6/8; only the first of 3/4).
pub fn is_strong_beat(meter: TimeSignature, step_in_bar: u32, steps_per_quarter: u32) -> bool {
    let bar = meter.steps_per_bar(steps_per_quarter);
    let beat = beat_steps(meter, steps_per_quarter);
    let beats = (bar / beat.max(1)).max(1);
    let strong = if beats.is_multiple_of(2) {
        bar / 2
    } else {
        bar
    };
    step_in_bar.is_multiple_of(strong.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Mode;
    use crate::phrase::Phrase;

    const C_MAJOR: Option<Key> = Some(Key {
        tonic: 0,
        mode: Mode::Major,
    });

    fn set(pcs: &[u16]) -> PitchClasses {
        pcs.iter().fold(0, |s, pc| s | 1 << pc)
    }

    #[test]
    fn a_diatonic_chords_scale_is_the_key() {
        for chord in [set(&[0, 4, 7]), set(&[2, 5, 9])] {
            assert_eq!(chord_scale(C_MAJOR, chord), set(&[0, 2, 4, 5, 7, 9, 11]));
        }
    }

    #[test]
    fn an_altered_tone_pushes_out_its_neighbours() {
        // E major in C: G# in, G and A out.
        assert_eq!(
            chord_scale(C_MAJOR, set(&[4, 8, 11])),
            set(&[0, 2, 4, 5, 8, 11])
        );
        assert_eq!(chord_scale(None, set(&[0, 4, 7])), 0xfff);
    }

    #[test]
    fn strong_beats_by_metre() {
        let ts = TimeSignature::new;
        let strong = |meter: TimeSignature, spq| {
            (0..meter.steps_per_bar(spq))
                .filter(|&s| is_strong_beat(meter, s, spq))
                .collect::<Vec<u32>>()
        };
        assert_eq!(strong(ts(4, 4), 4), [0, 8]);
        assert_eq!(strong(ts(3, 4), 4), [0]);
        assert_eq!(strong(ts(2, 4), 4), [0, 4]);
        assert_eq!(strong(ts(6, 8), 4), [0, 6]);
    }

    #[test]
    fn between_chords_the_last_one_holds() {
        let mut phrase = Phrase::empty(1, 4, TimeSignature::FOUR_FOUR, 120.0);
        for (start, pitches) in [(2u32, [48u8, 52, 55]), (10, [50, 53, 57])] {
            for pitch in pitches {
                phrase
                    .notes
                    .push(crate::phrase::Note::new(start, pitch, 4, 80));
            }
        }
        let chords = Chords {
            phrase,
            meters: MeterMap::constant(TimeSignature::FOUR_FOUR, 4),
            key_signature: None,
        };
        let track = ChordTrack::new(&chords, 16);
        let c = set(&[0, 4, 7]);
        let d_minor = set(&[2, 5, 9]);
        assert_eq!(track.tones[0], c, "before the first chord: the first");
        assert_eq!(track.tones[7], c, "after it ends: it holds");
        assert_eq!(track.tones[10], d_minor);
        assert_eq!(track.tones[15], d_minor);
        // Step 8 is beat 3: a chord tone only; step 9 is off the beat: the scale.
        let four = TimeSignature::FOUR_FOUR;
        assert!(!track.allows(8, 62, four, 8));
        assert!(track.allows(8, 64, four, 8));
        assert!(track.allows(9, 62, four, 9));
        assert!(!track.allows(9, 61, four, 9));
    }
}
