//! Strict voice leading for the event sampler: a note-on that would move in parallel
//! fifths or octaves with a voice above it is not allowed.
//!
//! Voices are ranked from the top, as in [`crate::stats::voice_leading`]: the highest note
//! of a sonority is the first voice, the next one down the second, and so on. The event
//! codec writes the note-ons of a step from the top down, so when a note-on is drawn every
//! note above it in the new sonority is already known and its rank is final. Each pair with
//! a struck note is checked when the later of its struck notes is drawn. Not covered: a
//! held note whose rank changes when a later note-on lands above it.

use crate::roll::PitchSet;

/// The `rank`-th highest pitch of `set` (0 = the highest).
fn nth_from_top(mut set: PitchSet, rank: u32) -> Option<i32> {
    for _ in 0..rank {
        if set == 0 {
            return None;
        }
        set &= !(1u128 << (127 - set.leading_zeros()));
    }
    (set != 0).then(|| 127 - set.leading_zeros() as i32)
}

/// How many pitches of `set` lie above `pitch`.
fn above(set: PitchSet, pitch: i32) -> u32 {
    if pitch >= 127 {
        0
    } else {
        (set >> (pitch + 1)).count_ones()
    }
}

/// Whether striking `pitch` into the notes sounding `now` moves it in parallel fifths or
/// octaves (compound intervals too) with another voice, against the sonority `before` that
/// sounded on the previous step. Both voices must move, in the same direction, from a
/// perfect fifth (octave) to the same interval. Voices are ranked in `now` plus `pitch`,
/// which is exact for the notes above `pitch` (the codec strikes from the top down) and
/// for held notes below it unless a later note-on lands between them.
pub fn makes_parallels(before: PitchSet, now: PitchSet, pitch: u8) -> bool {
    let p = i32::from(pitch);
    let chord = now | (1u128 << pitch);
    let p_rank = above(chord, p);
    let Some(p_before) = nth_from_top(before, p_rank) else {
        return false;
    };
    let p_move = p - p_before;
    if p_move == 0 {
        return false;
    }
    let mut rest = chord & !(1u128 << pitch);
    while rest != 0 {
        let x = 127 - rest.leading_zeros() as i32;
        rest &= !(1u128 << x);
        let Some(x_before) = nth_from_top(before, above(chord, x)) else {
            break;
        };
        let x_move = x - x_before;
        if x_move == 0 || x_move.signum() != p_move.signum() {
            continue;
        }
        let (was, is) = if x > p {
            (x_before - p_before, x - p)
        } else {
            (p_before - x_before, p - x)
        };
        let (was, is) = (was.rem_euclid(12), is.rem_euclid(12));
        if was == is && (is == 0 || is == 7) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pitches: &[u8]) -> PitchSet {
        pitches.iter().fold(0, |s, &p| s | 1u128 << p)
    }

    #[test]
    fn parallel_fifth_and_octave_are_caught() {
        // C3-G3 to D3-A3: the upper voice moved, striking D3 makes a parallel fifth.
        assert!(makes_parallels(set(&[48, 55]), set(&[57]), 50));
        // Octaves C4-C5 to D4-D5, compound: C3-C5 to D3-D5.
        assert!(makes_parallels(set(&[60, 72]), set(&[74]), 62));
        assert!(makes_parallels(set(&[48, 72]), set(&[74]), 50));
    }

    #[test]
    fn other_motion_is_allowed() {
        // Oblique: the upper voice holds G3 while C3 moves to D3.
        assert!(!makes_parallels(set(&[48, 55]), set(&[55]), 50));
        // C3-G3 to B2-A3: contrary motion, and a ninth, not a fifth.
        assert!(!makes_parallels(set(&[48, 55]), set(&[57]), 47));
        // C3-G3 to F2-C4: fifth to compound fifth in contrary motion.
        assert!(!makes_parallels(set(&[48, 55]), set(&[60]), 41));
        // The lower voice repeats its note.
        assert!(!makes_parallels(set(&[48, 55]), set(&[57]), 48));
        // A third to a fifth.
        assert!(!makes_parallels(set(&[48, 52]), set(&[57]), 50));
        // Nothing before: no voice to move from.
        assert!(!makes_parallels(0, set(&[57]), 50));
        // A new voice under the old lowest one has no voice to move from.
        assert!(!makes_parallels(set(&[55]), set(&[57]), 50));
    }

    #[test]
    fn ranks_count_from_the_top_in_four_voices() {
        // S A T B = 72 67 64 48 -> 74 69 64 50: S and A move up a tone (fourth to
        // fourth, fine), B moves up a tone: B-S was C3-C5 (octave), now D3-D5 -> octaves.
        let before = set(&[72, 67, 64, 48]);
        assert!(makes_parallels(before, set(&[74, 69, 64]), 50));
        // Bass to B2 instead: contrary to the soprano.
        assert!(!makes_parallels(before, set(&[74, 69, 64]), 47));
        // Alto: striking 69 under 74 with before A = 67, S = 72: fourth to fourth.
        assert!(!makes_parallels(before, set(&[74]), 69));
        // Alto to 67 under S 74 (fifth), from 67 under 72 (fourth): not parallel.
        assert!(!makes_parallels(before, set(&[74]), 67));
    }
}
