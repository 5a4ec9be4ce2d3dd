//! Small models for tests: random weights, or hand-set ones.
#![allow(dead_code)]

use std::collections::HashMap;

use candle_core::Tensor;
use phrasegen::infer::FastLstm;
use phrasegen::model::{ModelConfig, PhraseModel};
use phrasegen::roll::{PitchRange, Representation};

pub fn tiny_config(repr: Representation) -> ModelConfig {
    ModelConfig {
        name: "tiny".into(),
        layers: 2,
        hidden: 24,
        representation: repr,
        steps_per_quarter: 4,
        pitch_range: PitchRange { lo: 48, hi: 84 },
        architecture: Default::default(),
        training: None,
        key_normalised: false,
        cut_time_as_common: false,
        onset_age_beats: false,
    }
}

pub fn random_tensors(config: &ModelConfig, seed: u64) -> HashMap<String, Tensor> {
    PhraseModel::init_tensors(config, seed).unwrap()
}

/// A random model whose output biases are raised so it plays plenty of notes.
pub fn busy_model(repr: Representation, seed: u64) -> FastLstm {
    let cfg = tiny_config(repr);
    let mut tensors = random_tensors(&cfg, seed);
    let bias = (tensors["out.bias"].clone() * 3.0).unwrap();
    let bias = (bias - 0.5).unwrap();
    tensors.insert("out.bias".into(), bias);
    let w = (tensors["out.weight"].clone() * 4.0).unwrap();
    tensors.insert("out.weight".into(), w);
    FastLstm::from_tensors(&cfg, &tensors).unwrap()
}

/// A tiny event model (model v2) with `max_voices` voices and random weights, its output
/// weights scaled up so its choices are decided (not near uniform).
pub fn random_event_model(max_voices: u8, seed: u64) -> FastLstm {
    sharp_event_model(max_voices, seed, 4.0)
}

/// [`random_event_model`] with its output weights scaled by `sharpness`.
pub fn sharp_event_model(max_voices: u8, seed: u64, sharpness: f64) -> FastLstm {
    let cfg = ModelConfig {
        architecture: phrasegen::model::Architecture::Events { max_voices },
        ..tiny_config(Representation::ActiveAndOnset)
    };
    let mut tensors = random_tensors(&cfg, seed);
    let w = (tensors["out.weight"].clone() * sharpness).unwrap();
    tensors.insert("out.weight".into(), w);
    FastLstm::from_tensors(&cfg, &tensors).unwrap()
}
