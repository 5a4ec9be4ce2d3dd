//! Model files: exact round trip, one clear error per kind of broken file, and the fast
//! engine agreeing with the candle network.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use phrasegen::infer::{FastLstm, FastState, Precision};
use phrasegen::model::file::{model_bytes, CONFIG_KEY};
use phrasegen::model::{
    read_model_bytes, round_weights_to_f16, ModelConfig, ModelError, ModelFile, PhraseModel,
};
use phrasegen::roll::{PitchRange, Representation};

fn small_config() -> ModelConfig {
    ModelConfig {
        name: "tiny".into(),
        layers: 2,
        hidden: 8,
        representation: Representation::ActiveAndOnset,
        steps_per_quarter: 4,
        pitch_range: PitchRange { lo: 60, hi: 71 },
        architecture: Default::default(),
        training: None,
        key_normalised: false,
        cut_time_as_common: false,
        onset_age_beats: false,
    }
}

fn random_model(config: &ModelConfig, seed: u64) -> HashMap<String, Tensor> {
    PhraseModel::init_tensors(config, seed).unwrap()
}

#[test]
fn save_then_load_is_exact() {
    let cfg = small_config();
    let tensors = random_model(&cfg, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    phrasegen::model::write_model_file(&path, &cfg, &tensors).unwrap();
    let back = phrasegen::model::read_model_file(&path).unwrap();
    assert_eq!(back.config, cfg);
    assert_eq!(back.tensors.len(), tensors.len());
    for (name, t) in &tensors {
        let a = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = back.tensors[name]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name}"
        );
    }
}

/// Serializes tensors with arbitrary metadata, bypassing our own checks.
fn raw_file(
    tensors: &HashMap<String, Tensor>,
    metadata: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let mut v: Vec<_> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    safetensors::serialize(v, metadata).unwrap()
}

fn meta(cfg: &ModelConfig) -> Option<HashMap<String, String>> {
    Some(HashMap::from([(
        CONFIG_KEY.to_string(),
        serde_json::to_string(cfg).unwrap(),
    )]))
}

#[test]
fn missing_tensor_is_named() {
    let cfg = small_config();
    let mut tensors = random_model(&cfg, 1);
    tensors.remove("lstm.weight_hh_l1");
    let e = read_model_bytes(&raw_file(&tensors, meta(&cfg))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "model file is missing tensor `lstm.weight_hh_l1`"
    );
}

#[test]
fn wrong_shape_names_tensor_and_shapes() {
    let cfg = small_config();
    let mut tensors = random_model(&cfg, 1);
    tensors.insert(
        "out.bias".into(),
        Tensor::zeros(5, DType::F32, &Device::Cpu).unwrap(),
    );
    let e = read_model_bytes(&raw_file(&tensors, meta(&cfg))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor `out.bias` has shape [5], the config needs [24]"
    );
}

#[test]
fn config_that_disagrees_with_tensors_is_reported() {
    let cfg = small_config();
    let tensors = random_model(&cfg, 1);
    let mut wrong = cfg.clone();
    wrong.hidden = 16;
    let e = read_model_bytes(&raw_file(&tensors, meta(&wrong))).unwrap_err();
    assert!(matches!(e, ModelError::WrongShape { .. }), "{e}");
    assert!(e.to_string().contains("lstm.weight_ih_l0"), "{e}");
}

#[test]
fn truncated_file_is_reported() {
    let cfg = small_config();
    let bytes = model_bytes(&cfg, &random_model(&cfg, 1)).unwrap();
    let e = read_model_bytes(&bytes[..bytes.len() - 10]).unwrap_err();
    assert!(matches!(e, ModelError::NotSafetensors(_)), "{e}");
}

#[test]
fn not_safetensors_is_reported() {
    let e = read_model_bytes(b"MThd this is a MIDI file, not a model").unwrap_err();
    assert!(
        e.to_string().starts_with("not a safetensors model file"),
        "{e}"
    );
    let e = read_model_bytes(b"").unwrap_err();
    assert!(matches!(e, ModelError::NotSafetensors(_)), "{e}");
}

#[test]
fn missing_and_invalid_config_are_reported() {
    let cfg = small_config();
    let tensors = random_model(&cfg, 1);
    let e = read_model_bytes(&raw_file(&tensors, None)).unwrap_err();
    assert!(matches!(e, ModelError::MissingConfig), "{e}");
    let bad = Some(HashMap::from([(
        CONFIG_KEY.to_string(),
        "{\"layers\": 2".to_string(),
    )]));
    let e = read_model_bytes(&raw_file(&tensors, bad)).unwrap_err();
    assert!(matches!(e, ModelError::BadConfig(_)), "{e}");
    let mut zero = cfg.clone();
    zero.layers = 0;
    let e = read_model_bytes(&raw_file(&tensors, meta(&zero))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "model config is not valid: layers is 0, must be 1..=8"
    );
}

#[test]
fn wrong_dtype_is_reported() {
    let cfg = small_config();
    let mut tensors = random_model(&cfg, 1);
    let t = tensors["out.bias"].to_dtype(DType::F64).unwrap();
    tensors.insert("out.bias".into(), t);
    let e = read_model_bytes(&raw_file(&tensors, meta(&cfg))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor `out.bias` is F64, PhraseGen needs F32"
    );
}

/// Random sparse 0/1 frames, like piano-roll input.
fn random_frames(steps: usize, width: usize, seed: u64) -> Vec<f32> {
    let mut x = seed;
    (0..steps * width)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if (x >> 33).is_multiple_of(7) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// Runs both engines over `frames` (one sequence) and returns the largest difference between
/// their predicted probabilities.
fn rounded_to_f16(cfg: &ModelConfig, tensors: &HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    let file = ModelFile {
        config: cfg.clone(),
        tensors: tensors.clone(),
    };
    round_weights_to_f16(&file).unwrap().tensors
}

#[test]
fn half_weights_take_half_the_bytes_and_give_the_same_bits() {
    let cfg = ModelConfig {
        hidden: 40,
        ..small_config()
    };
    let tensors = random_model(&cfg, 13);
    let full = FastLstm::from_tensors(&cfg, &tensors).unwrap();
    let halves = rounded_to_f16(&cfg, &tensors);
    let half = FastLstm::from_tensors(&cfg, &halves).unwrap();
    assert_eq!(2 * half.weight_bytes(), full.weight_bytes());
    let wide = half.widened();
    assert_eq!(wide.weight_bytes(), full.weight_bytes());
    let f = cfg.frame_size();
    for batch in [1, 3, 8] {
        let frames = random_frames(25, f * batch, 21);
        let (mut a, mut b) = (half.state(batch), wide.state(batch));
        for t in 0..25 {
            let x = &frames[t * batch * f..(t + 1) * batch * f];
            half.step(x, &mut a);
            wide.step(x, &mut b);
            assert!(
                a.logits
                    .iter()
                    .zip(&b.logits)
                    .all(|(p, q)| p.to_bits() == q.to_bits()),
                "batch {batch}, step {t}"
            );
        }
    }
    // The candle network, reading the same rounded values, agrees as it does with f32.
    let candle = PhraseModel::from_tensors(&cfg, &halves).unwrap();
    let frames = random_frames(40, f, 3);
    let worst = max_probability_difference(&candle, &half, &frames);
    assert!(worst < 1e-5, "max difference {worst}");
    // Rounding moves the network itself only a little.
    let before = PhraseModel::from_tensors(&cfg, &tensors).unwrap();
    let moved = max_probability_difference(&before, &half, &frames);
    assert!(
        moved > 0.0 && moved < 1e-2,
        "rounding moved probabilities by {moved}"
    );
}

#[test]
fn a_weight_beyond_half_precision_is_reported() {
    let cfg = small_config();
    let mut tensors = random_model(&cfg, 4);
    let name = "lstm.weight_hh_l1";
    let mut values: Vec<f32> = tensors[name].flatten_all().unwrap().to_vec1().unwrap();
    values[5] = 1e5;
    let dims = tensors[name].dims().to_vec();
    tensors.insert(
        name.into(),
        Tensor::from_vec(values, dims, &Device::Cpu).unwrap(),
    );
    let file = ModelFile {
        config: cfg,
        tensors,
    };
    let err = round_weights_to_f16(&file).unwrap_err();
    assert!(
        matches!(&err, ModelError::BeyondHalf { name: n, index: 5, .. } if n == name),
        "{err}"
    );
}

fn max_probability_difference(candle: &PhraseModel, fast: &FastLstm, frames: &[f32]) -> f32 {
    let f = fast.frame_size();
    let steps = frames.len() / f;
    let x = Tensor::from_vec(frames.to_vec(), (1, steps, f), &Device::Cpu).unwrap();
    let mut cstate = candle.zero_state(1).unwrap();
    let probs = candle_nn::ops::sigmoid(&candle.forward(&x, &mut cstate).unwrap())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let mut state = fast.state(1);
    let mut worst = 0.0f32;
    for t in 0..steps {
        fast.step(&frames[t * f..(t + 1) * f], &mut state);
        for k in 0..f {
            let p = phrasegen::infer::sigmoid(state.logits[k]);
            worst = worst.max((p - probs[t * f + k]).abs());
        }
    }
    worst
}

#[test]
fn fast_engine_matches_candle_within_1e5() {
    for (layers, hidden, repr) in [
        (1, 16, Representation::ActiveOnly),
        (2, 32, Representation::ActiveAndOnset),
        (3, 8, Representation::ActiveAndOnset),
    ] {
        let cfg = ModelConfig {
            layers,
            hidden,
            representation: repr,
            ..small_config()
        };
        let tensors = random_model(&cfg, 7 + layers as u64);
        let candle = PhraseModel::from_tensors(&cfg, &tensors).unwrap();
        let fast = FastLstm::from_tensors(&cfg, &tensors).unwrap();
        let frames = random_frames(40, cfg.frame_size(), layers as u64);
        let worst = max_probability_difference(&candle, &fast, &frames);
        assert!(worst < 1e-5, "layers {layers}: max difference {worst}");
    }
}

#[test]
fn every_kernel_agrees_with_the_portable_one_bit_for_bit() {
    let kernels = FastLstm::kernel_names();
    assert_eq!(kernels[0], "portable");
    // Hidden sizes that fill panels exactly and that leave a padded panel; batch sizes that
    // use the one-sequence kernel, partial chunks, and whole chunks of 4 and 8; 18 leaves the
    // int8 rows a partial group of four.
    for (hidden, batch) in [(40, 1), (40, 3), (64, 8), (16, 5), (24, 11), (18, 6)] {
        let cfg = ModelConfig {
            hidden,
            ..small_config()
        };
        // With f32 weights, and rounded to f16 (which the engine holds as f16).
        let tensors = random_model(&cfg, 11);
        for tensors in [rounded_to_f16(&cfg, &tensors), tensors] {
            let fast = FastLstm::from_tensors(&cfg, &tensors).unwrap();
            all_kernels_agree(&fast, &kernels, hidden, batch);
        }
    }
}

fn all_kernels_agree(fast: &FastLstm, kernels: &[&str], hidden: usize, batch: usize) {
    let f = fast.config.frame_size();
    let frames = random_frames(30, f * batch, 5);
    type MakeState = fn(&FastLstm, usize) -> FastState;
    let precisions: [(&str, MakeState); 2] = [("f32", FastLstm::state), ("int8", int8_state)];
    for (kernel, (precision, state)) in kernels[1..].iter().flat_map(|k| precisions.map(|p| (k, p)))
    {
        let (mut a, mut b) = (state(fast, batch), state(fast, batch));
        for t in 0..30 {
            let x = &frames[t * batch * f..(t + 1) * batch * f];
            fast.step_named(kernel, x, &mut a);
            fast.step_named("portable", x, &mut b);
            let same = a
                .logits
                .iter()
                .zip(&b.logits)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{kernel}, {precision}: hidden {hidden}, batch {batch}, step {t}"
            );
        }
    }
}

#[test]
fn batched_sequences_equal_single_ones() {
    for (hidden, batch) in [(8, 2), (40, 5), (64, 8)] {
        let cfg = ModelConfig {
            hidden,
            ..small_config()
        };
        let fast = FastLstm::from_tensors(&cfg, &random_model(&cfg, 2)).unwrap();
        let f = cfg.frame_size();
        let frames = random_frames(20, f * batch, 9);
        let mut all = fast.state(batch);
        let mut alone: Vec<_> = (0..batch).map(|_| fast.state(1)).collect();
        for t in 0..20 {
            let x = &frames[t * batch * f..(t + 1) * batch * f];
            fast.step(x, &mut all);
            for (b, state) in alone.iter_mut().enumerate() {
                fast.step(&x[b * f..(b + 1) * f], state);
                assert_eq!(
                    &all.logits[b * f..(b + 1) * f],
                    &state.logits[..],
                    "hidden {hidden}, sequence {b} of {batch}, step {t}"
                );
            }
        }
    }
}

#[test]
fn non_finite_weight_is_reported() {
    let cfg = small_config();
    let mut tensors = random_model(&cfg, 1);
    let mut w = tensors["lstm.weight_hh_l0"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    w[5] = f32::NAN;
    let shape = tensors["lstm.weight_hh_l0"].dims().to_vec();
    tensors.insert(
        "lstm.weight_hh_l0".into(),
        Tensor::from_vec(w, shape, &Device::Cpu).unwrap(),
    );
    let e = read_model_bytes(&raw_file(&tensors, meta(&cfg))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor `lstm.weight_hh_l0` holds NaN at index 5: every weight must be a finite number"
    );
}

/// Real weights on real music: the v1 default model (the prototype's architecture, kept in
/// `models/`), fed a phrase it generated itself (chords, held notes and repeated onsets, as
/// in its training data). The v2 built-ins have their own test in `event_model.rs`.
#[test]
fn fast_engine_matches_candle_on_the_v1_default_model() {
    let file = read_model_bytes(include_bytes!("../models/bach-chorales-v1.safetensors")).unwrap();
    let cfg = file.config.clone();
    let candle = PhraseModel::from_tensors(&cfg, &file.tensors).unwrap();
    let fast = FastLstm::from_tensors(&cfg, &file.tensors).unwrap();
    let params = phrasegen::sample::GenerateParams {
        bars: 4,
        seed: 3,
        ..Default::default()
    };
    let phrase = phrasegen::family::generate(&fast, &params).unwrap();
    assert!(phrase.notes.len() > 10, "a real phrase has notes");
    let roll = phrasegen::roll::PianoRoll::from_phrase(&phrase);
    let frames = roll.features(cfg.pitch_range, cfg.representation);
    let worst = max_probability_difference(&candle, &fast, &frames);
    assert!(worst < 1e-5, "max difference {worst}");
}

/// A state that steps in int8.
fn int8_state(model: &FastLstm, batch: usize) -> FastState {
    model.state_in(batch, Precision::Int8)
}
