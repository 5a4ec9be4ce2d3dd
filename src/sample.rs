//! Sampling phrases from a model: temperature, seed, constraints. Shared by CLI and plugin.
//!
//! CONTRACT (skeleton): the sampler work fills in the bodies and may add fields.

use crate::phrase::{Phrase, TimeSignature};
use crate::scale::Scale;

/// Everything that decides a generated phrase besides the model.
/// Same model + same params (incl. seed) => the same phrase, bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateParams {
    /// Creativity: 0.05 (safe) ..= 3.0 (wild).
    pub temperature: f32,
    pub seed: u64,
    pub bars: u32,
    pub time_signature: TimeSignature,
    pub tempo_bpm: f64,
    /// Notes shorter than this many grid steps are removed (1 = a sixteenth at 4 steps/quarter).
    pub min_note_steps: u32,
    /// Pitches outside the scale never sound.
    pub scale: Scale,
    /// Inclusive pitch limits.
    pub pitch_lo: u8,
    pub pitch_hi: u8,
    /// At most this many notes sound at once.
    pub max_polyphony: usize,
    /// Velocity of generated notes.
    pub velocity: u8,
    /// Music to continue from: the model hears it before generating.
    pub primer: Option<Phrase>,
    /// Bars to keep from an earlier phrase while the others are re-rolled:
    /// (the earlier phrase, bit `b` set = keep bar `b`).
    pub keep_bars: Option<(Phrase, u64)>,
}

impl Default for GenerateParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            seed: 1,
            bars: 4,
            time_signature: TimeSignature::FOUR_FOUR,
            tempo_bpm: 120.0,
            min_note_steps: 1,
            scale: Scale::default(),
            pitch_lo: 0,
            pitch_hi: 127,
            max_polyphony: 8,
            velocity: 100,
            primer: None,
            keep_bars: None,
        }
    }
}
