//! The network: a stacked LSTM with a linear output layer, in one of two families
//! ([`Architecture`]). The v1 frame models read one piano-roll frame per step and give a
//! sigmoid per output (each pitch's active / onset bit, drawn independently). The v2 event
//! models read one event per step (note-off, note-on or step end, with the bar position and
//! the sounding pitches; see `events`) and give a softmax over the event vocabulary, so the
//! notes of a step are drawn one after another.
//!
//! Weights use PyTorch's names so files and golden numbers line up with the reference:
//! `lstm.weight_ih_l{k}` `[4H, in]`, `lstm.weight_hh_l{k}` `[4H, H]`, `lstm.bias_ih_l{k}`
//! `[4H]`, `lstm.bias_hh_l{k}` `[4H]` (gate order i, f, g, o), `out.weight` `[outputs, H]`,
//! `out.bias` `[outputs]`. A model file is one safetensors file whose metadata key
//! `phrasegen` holds the [`ModelConfig`] as JSON.

pub mod config;
pub mod error;
pub mod file;
pub mod lstm;

pub use config::{Architecture, ModelConfig, TrainingInfo};
pub use error::ModelError;
pub use file::{
    read_model_bytes, read_model_file, round_weights_to_f16, write_model_file, ModelFile,
};
pub use lstm::PhraseModel;
