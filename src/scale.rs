//! Keys and scales: which pitch classes may sound.
//!
//! CONTRACT (skeleton): the sampler work completes this module.

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

/// A root pitch class (0 = C .. 11 = B) and a scale shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Scale {
    pub root: u8,
    pub kind: ScaleKind,
}
