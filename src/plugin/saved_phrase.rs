//! What a project keeps of a phrase (the phrase playing, and each one in the history).

use serde::{Deserialize, Serialize};

use crate::phrase::Phrase;

/// What the project keeps of the playing phrase: the notes, and how they were rolled, so
/// touching a knob after reopening continues from the same luck and humanized velocities
/// come out the same. Older projects stored a bare phrase; those fields default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPhrase {
    #[serde(flatten)]
    pub phrase: Phrase,
    /// How many times Generate was pressed before this phrase (it shifts the seed).
    #[serde(default)]
    pub rerolls: u64,
    /// The seed the phrase was generated with (seed plus re-roll shift), which also seeds
    /// its humanized velocities.
    #[serde(default)]
    pub seed: Option<u64>,
}
