//! Keys and scales: which pitch classes may sound.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A scale's shape, independent of its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScaleKind {
    /// Every pitch allowed.
    #[default]
    Chromatic,
    Major,
    NaturalMinor,
    HarmonicMinor,
    Dorian,
    Mixolydian,
    MajorPentatonic,
    MinorPentatonic,
    Blues,
}

impl ScaleKind {
    pub const ALL: [ScaleKind; 9] = [
        Self::Chromatic,
        Self::Major,
        Self::NaturalMinor,
        Self::HarmonicMinor,
        Self::Dorian,
        Self::Mixolydian,
        Self::MajorPentatonic,
        Self::MinorPentatonic,
        Self::Blues,
    ];

    /// Semitones above the root that belong to the scale.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            Self::Chromatic => &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            Self::Major => &[0, 2, 4, 5, 7, 9, 11],
            Self::NaturalMinor => &[0, 2, 3, 5, 7, 8, 10],
            Self::HarmonicMinor => &[0, 2, 3, 5, 7, 8, 11],
            Self::Dorian => &[0, 2, 3, 5, 7, 9, 10],
            Self::Mixolydian => &[0, 2, 4, 5, 7, 9, 10],
            Self::MajorPentatonic => &[0, 2, 4, 7, 9],
            Self::MinorPentatonic => &[0, 3, 5, 7, 10],
            Self::Blues => &[0, 3, 5, 6, 7, 10],
        }
    }

    /// Semitones from the root up to the major tonic whose notes the scale uses (A minor ->
    /// C: 3; D dorian -> C: 10); the major tonic itself for the others.
    pub fn major_tonic_offset(self) -> u8 {
        match self {
            Self::Chromatic | Self::Major | Self::MajorPentatonic => 0,
            Self::NaturalMinor | Self::HarmonicMinor | Self::MinorPentatonic | Self::Blues => 3,
            Self::Dorian => 10,
            Self::Mixolydian => 5,
        }
    }

    /// The name users type and see.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chromatic => "chromatic",
            Self::Major => "major",
            Self::NaturalMinor => "minor",
            Self::HarmonicMinor => "harmonic-minor",
            Self::Dorian => "dorian",
            Self::Mixolydian => "mixolydian",
            Self::MajorPentatonic => "pentatonic",
            Self::MinorPentatonic => "minor-pentatonic",
            Self::Blues => "blues",
        }
    }
}

impl FromStr for ScaleKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        let alias = match s.as_str() {
            "ionian" | "maj" => "major",
            "aeolian" | "natural-minor" | "min" => "minor",
            "major-pentatonic" => "pentatonic",
            "all" | "none" => "chromatic",
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|k| k.name() == alias)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!("unknown scale `{s}`; choose one of: {}", names.join(", "))
            })
    }
}

/// A root pitch class (0 = C .. 11 = B) and a scale shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Scale {
    pub root: u8,
    pub kind: ScaleKind,
}

/// Pitch-class names with sharps, as shown to users.
pub const PITCH_CLASS_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// Parses a key name such as `C`, `F#`, `Bb`, `eb` into a pitch class.
pub fn parse_key(name: &str) -> Result<u8, String> {
    let name = name.trim();
    let unknown = || format!("unknown key `{name}`; use a note name like C, F#, Bb");
    let mut chars = name.chars();
    let letter = chars.next().map(|c| c.to_ascii_uppercase().to_string());
    // A natural's pitch class is where its letter stands among the names.
    let base = PITCH_CLASS_NAMES
        .iter()
        .position(|n| Some(*n) == letter.as_deref())
        .ok_or_else(unknown)? as i32;
    let accidental: i32 = match chars.as_str() {
        "" => 0,
        "#" | "♯" | "s" | "sharp" => 1,
        "b" | "♭" | "flat" => -1,
        _ => return Err(unknown()),
    };
    Ok((base + accidental).rem_euclid(12) as u8)
}

impl Scale {
    pub fn new(root: u8, kind: ScaleKind) -> Self {
        Self {
            root: root % 12,
            kind,
        }
    }

    /// Whether a MIDI pitch belongs to the scale.
    pub fn contains(&self, pitch: u8) -> bool {
        let degree = (pitch % 12 + 12 - self.root % 12) % 12;
        self.kind.intervals().contains(&degree)
    }

    /// Bit `p` set when MIDI pitch `p` belongs to the scale.
    pub fn pitch_mask(&self) -> u128 {
        (0..128u8)
            .filter(|p| self.contains(*p))
            .fold(0u128, |m, p| m | (1u128 << p))
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == ScaleKind::Chromatic {
            return write!(f, "chromatic");
        }
        let root = PITCH_CLASS_NAMES[usize::from(self.root % 12)];
        write!(f, "{root} {}", self.kind.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_with_sharps_and_flats() {
        assert_eq!(parse_key("C"), Ok(0));
        assert_eq!(parse_key("f#"), Ok(6));
        assert_eq!(parse_key("Bb"), Ok(10));
        assert_eq!(parse_key("Cb"), Ok(11));
        assert!(parse_key("H").is_err());
    }

    #[test]
    fn scales_contain_the_right_pitches() {
        let a_minor = Scale::new(9, "minor".parse().unwrap());
        let naturals = [60, 62, 64, 65, 67, 69, 71];
        for p in 48..84u8 {
            assert_eq!(
                a_minor.contains(p),
                naturals.contains(&(60 + (p % 12))),
                "{p}"
            );
        }
        assert_eq!(
            Scale::new(2, ScaleKind::MajorPentatonic)
                .pitch_mask()
                .count_ones(),
            53
        );
        assert!("lydian"
            .parse::<ScaleKind>()
            .unwrap_err()
            .contains("choose one of"));
        assert_eq!(a_minor.to_string(), "A minor");
    }
}
