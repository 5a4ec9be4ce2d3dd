//! Keys: finding a piece's key with the Krumhansl–Kessler profiles (Krumhansl, "Cognitive
//! Foundations of Musical Pitch", 1990: the key whose profile correlates best with how long
//! each pitch class sounds), and the *home* of a piece, the major tonic of its key
//! signature, which key-normalised models are trained in (every piece moved to C major /
//! A minor, as BachBot and folk-rnn do) and played back from.

use crate::phrase::{Note, Phrase};
use crate::scale::{ScaleKind, PITCH_CLASS_NAMES};

/// Probe-tone ratings of the twelve degrees of a major key, tonic first.
pub const KK_MAJOR: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
/// Probe-tone ratings of the twelve degrees of a minor key, tonic first.
pub const KK_MINOR: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Major,
    Minor,
}

/// A tonic pitch class (0 = C) and a mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub tonic: u8,
    pub mode: Mode,
}

impl Key {
    /// Whether a pitch class is "in the key": the major scale, or for minor the natural
    /// minor scale plus the raised seventh (the leading tone every minor cadence uses).
    pub fn contains_pitch_class(self, pitch_class: u8) -> bool {
        let degrees: &[u8] = match self.mode {
            Mode::Major => &[0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => &[0, 2, 3, 5, 7, 8, 10, 11],
        };
        let degree = (pitch_class % 12 + 12 - self.tonic % 12) % 12;
        degrees.contains(&degree)
    }

    /// The major tonic with the same key signature (A minor -> C).
    pub fn relative_major_tonic(self) -> u8 {
        match self.mode {
            Mode::Major => self.tonic % 12,
            Mode::Minor => (self.tonic + 3) % 12,
        }
    }

    pub fn name(self) -> String {
        let mode = match self.mode {
            Mode::Major => "major",
            Mode::Minor => "minor",
        };
        format!("{} {mode}", PITCH_CLASS_NAMES[usize::from(self.tonic % 12)])
    }
}

/// Pearson correlation of two 12-vectors; `None` when either is constant.
fn correlation(a: &[f64; 12], b: &[f64; 12]) -> Option<f64> {
    let mean = |v: &[f64; 12]| v.iter().sum::<f64>() / 12.0;
    let (ma, mb) = (mean(a), mean(b));
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    (va > 1e-12 && vb > 1e-12).then(|| cov / (va * vb).sqrt())
}

/// The best-fitting of the 24 major and minor keys for a pitch-class weight vector
/// (index 0 = C), with its correlation; `None` when every pitch class weighs the same
/// (nothing sounds, or all twelve equally). Ties go to the first key in the order
/// C major, C# major ... B major, C minor ... B minor.
pub fn find_key(weights: &[f64; 12]) -> Option<(Key, f64)> {
    let mut best: Option<(Key, f64)> = None;
    for (mode, profile) in [(Mode::Major, &KK_MAJOR), (Mode::Minor, &KK_MINOR)] {
        for tonic in 0..12u8 {
            let rotated: [f64; 12] =
                std::array::from_fn(|pc| profile[(pc + 12 - usize::from(tonic)) % 12]);
            let r = correlation(weights, &rotated)?;
            if best.is_none_or(|(_, b)| r > b) {
                best = Some((Key { tonic, mode }, r));
            }
        }
    }
    best
}

/// The mode a scale asks for, where it is major or minor.
pub fn mode_of_scale(kind: ScaleKind) -> Option<Mode> {
    match kind {
        ScaleKind::Major | ScaleKind::MajorPentatonic => Some(Mode::Major),
        ScaleKind::NaturalMinor
        | ScaleKind::HarmonicMinor
        | ScaleKind::MinorPentatonic
        | ScaleKind::Blues => Some(Mode::Minor),
        ScaleKind::Chromatic | ScaleKind::Dorian | ScaleKind::Mixolydian => None,
    }
}

/// The key of some notes, each pitch class weighed by how long it sounds.
pub fn key_of_notes(notes: &[Note]) -> Option<Key> {
    let mut weights = [0.0; 12];
    for n in notes {
        weights[usize::from(n.pitch % 12)] += f64::from(n.length_steps);
    }
    find_key(&weights).map(|(key, _)| key)
}

/// The major tonic a key signature names (2 sharps -> D, 3 flats -> Eb).
pub fn key_signature_tonic(sharps: i8) -> u8 {
    (7 * i32::from(sharps)).rem_euclid(12) as u8
}

/// A piece's home: the major tonic of its key signature, or where it has none, of the key
/// its notes sound in (a minor key's relative major). Modes written with their own
/// signature (D dorian with none) stay as written. `None` for a piece without notes.
pub fn home_tonic(phrase: &Phrase, key_signature: Option<i8>) -> Option<u8> {
    match key_signature {
        Some(sharps) => Some(key_signature_tonic(sharps)),
        None => key_of_notes(&phrase.notes).map(Key::relative_major_tonic),
    }
}

/// The nearest transposition, in semitones (-6..=5), that moves tonic `from` to `to`.
pub fn shift_between(from: u8, to: u8) -> i32 {
    (i32::from(to) - i32::from(from) + 6).rem_euclid(12) - 6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(pcs: &[(u8, f64)]) -> [f64; 12] {
        let mut w = [0.0; 12];
        for &(pc, x) in pcs {
            w[usize::from(pc)] += x;
        }
        w
    }

    #[test]
    fn scales_and_triads_find_their_keys() {
        // C major scale, tonic and dominant held longer.
        let c = weights(&[
            (0, 3.0),
            (2, 1.0),
            (4, 2.0),
            (5, 1.0),
            (7, 2.5),
            (9, 1.0),
            (11, 1.0),
        ]);
        assert_eq!(find_key(&c).unwrap().0.name(), "C major");
        // A minor: tonic triad weighted, G# leading tone.
        let a = weights(&[
            (9, 3.0),
            (0, 2.0),
            (4, 2.5),
            (2, 1.0),
            (11, 1.0),
            (5, 1.0),
            (8, 1.0),
        ]);
        assert_eq!(find_key(&a).unwrap().0.name(), "A minor");
        // The profile itself, rotated to F#, correlates perfectly.
        let fs: [f64; 12] = std::array::from_fn(|pc| KK_MAJOR[(pc + 12 - 6) % 12]);
        let (key, r) = find_key(&fs).unwrap();
        assert_eq!(key.name(), "F# major");
        assert!((r - 1.0).abs() < 1e-12);
        assert_eq!(find_key(&[0.0; 12]), None);
    }

    #[test]
    fn homes_come_from_the_signature_else_from_the_notes() {
        assert_eq!(key_signature_tonic(0), 0);
        assert_eq!(key_signature_tonic(2), 2); // D
        assert_eq!(key_signature_tonic(-3), 3); // Eb
        assert_eq!(key_signature_tonic(6), 6); // F#
        assert_eq!(key_signature_tonic(-7), 11); // Cb
        let note = |pitch, length_steps| Note::new(0, pitch, length_steps, 100);
        // A minor triad held, G# passing: A minor, whose home is C.
        let a_minor = Phrase {
            notes: vec![
                note(69, 8),
                note(72, 4),
                note(76, 6),
                note(68, 1),
                note(71, 1),
            ],
            ..Phrase::default()
        };
        assert_eq!(home_tonic(&a_minor, None), Some(0));
        assert_eq!(home_tonic(&a_minor, Some(1)), Some(7));
        assert_eq!(home_tonic(&Phrase::default(), None), None);
    }

    #[test]
    fn shifts_take_the_nearer_way() {
        assert_eq!(shift_between(0, 7), -5);
        assert_eq!(shift_between(7, 0), 5);
        assert_eq!(shift_between(2, 0), -2);
        assert_eq!(shift_between(0, 6), -6);
        assert_eq!(shift_between(6, 0), -6);
        assert_eq!(shift_between(5, 5), 0);
        for from in 0..12 {
            for to in 0..12 {
                let s = shift_between(from, to);
                assert!((-6..=5).contains(&s));
                assert_eq!((i32::from(from) + s).rem_euclid(12), i32::from(to));
            }
        }
    }

    #[test]
    fn minor_keys_hold_the_leading_tone() {
        let a_minor = Key {
            tonic: 9,
            mode: Mode::Minor,
        };
        assert!(a_minor.contains_pitch_class(8)); // G#
        assert!(a_minor.contains_pitch_class(7)); // G
        assert!(!a_minor.contains_pitch_class(1)); // C#
        let c_major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        assert!(!c_major.contains_pitch_class(10));
    }
}
