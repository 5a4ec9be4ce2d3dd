//! The model built into the binary, so `phrasegen generate` and the plugin work with no files.
//!
//! It is the four-part harmony model trained on J. S. Bach's chorales (`models/`): chords and
//! moving inner voices make a richer starting point in front of an instrument than a single
//! melody line, and it is small enough to load in milliseconds.

use crate::infer::FastLstm;
use crate::model::ModelError;

/// The embedded model file.
pub static DEFAULT_MODEL_BYTES: &[u8] = include_bytes!("../../models/bach-chorales.safetensors");

/// Loads the embedded model into the fast engine.
pub fn default_model() -> Result<FastLstm, ModelError> {
    FastLstm::from_model_bytes(DEFAULT_MODEL_BYTES)
}
