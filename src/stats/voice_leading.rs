//! Parallel fifths and octaves: the voice-leading fault four-part writing avoids, counted
//! between consecutive four-voice sonorities.
//!
//! Voices are assigned by rank (lowest sounding pitch = bass ... highest = soprano), as a
//! piano roll does not say which voice plays which note. A *chord change* is a step where
//! the set of sounding pitches changes from one four-note set to another four-note set (a
//! re-struck identical chord is not a change; a rest or a moment with fewer or more voices
//! breaks the chain). Two voices move in *parallel fifths* (octaves) when both move, in the
//! same direction, from a perfect fifth (octave) to a perfect fifth (octave), compound
//! intervals included.

use crate::roll::{PianoRoll, PitchSet};

/// Counts over one passage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parallels {
    pub chord_changes: usize,
    /// Voice pairs moving in parallel fifths, summed over chord changes.
    pub fifths: usize,
    /// Voice pairs moving in parallel octaves, summed over chord changes.
    pub octaves: usize,
}

/// The pitches of a set, lowest first.
fn voices(set: PitchSet) -> Vec<i32> {
    (0..128).filter(|p| set & (1u128 << p) != 0).collect()
}

/// Counts parallel fifths and octaves between consecutive four-voice sonorities of a roll.
pub fn parallels(roll: &PianoRoll) -> Parallels {
    let mut out = Parallels::default();
    let mut previous: Option<PitchSet> = None;
    for &set in &roll.active {
        if previous == Some(set) {
            continue;
        }
        if let Some(prev) = previous.filter(|p| p.count_ones() == 4 && set.count_ones() == 4) {
            out.chord_changes += 1;
            let (a, b) = (voices(prev), voices(set));
            for lo in 0..4 {
                for hi in lo + 1..4 {
                    let (move_lo, move_hi) = (b[lo] - a[lo], b[hi] - a[hi]);
                    let same_direction = move_lo != 0 && move_lo.signum() == move_hi.signum();
                    let (before, after) = ((a[hi] - a[lo]) % 12, (b[hi] - b[lo]) % 12);
                    if same_direction && before == after {
                        match before {
                            7 => out.fifths += 1,
                            0 => out.octaves += 1,
                            _ => {}
                        }
                    }
                }
            }
        }
        previous = Some(set);
    }
    out
}
