//! Model v2 (event model) in the fast engine: the same numbers as candle, the same bits
//! from every kernel, and old model files still loading as frame models.

mod common;

use candle_core::{Device, Tensor};
use common::models::{random_tensors, tiny_config};
use phrasegen::events::{encode_piece, EventCodec};
use phrasegen::infer::{FastLstm, FastState, Precision};
use phrasegen::meter::MeterMap;
use phrasegen::model::{Architecture, ModelConfig, PhraseModel};
use phrasegen::phrase::TimeSignature;
use phrasegen::roll::{PianoRoll, Representation};

fn event_config(layers: usize, hidden: usize, max_voices: u8) -> ModelConfig {
    ModelConfig {
        layers,
        hidden,
        architecture: Architecture::Events { max_voices },
        ..tiny_config(Representation::ActiveAndOnset)
    }
}

/// Inputs of a small chorale-like piece: chords, held notes, a repeated note, in 3/4.
fn piece_inputs(cfg: &ModelConfig) -> Vec<f32> {
    let mut roll = PianoRoll::new(24);
    for (pitch, start, len) in [
        (60, 0, 4),
        (64, 0, 2),
        (67, 0, 6),
        (72, 2, 2),
        (64, 4, 4),
        (62, 8, 1),
        (62, 9, 3),
        (55, 12, 12),
        (71, 12, 6),
    ] {
        roll.add_note(pitch, start, len);
    }
    let codec = EventCodec::new(cfg);
    let meter = TimeSignature {
        numerator: 3,
        denominator: 4,
    };
    let width = cfg.input_size();
    let mut inputs = Vec::new();
    let meters = MeterMap::constant(meter, cfg.steps_per_quarter);
    for (ctx, _) in encode_piece(&codec, &roll, &meters) {
        let mut x = vec![0.0; width];
        codec.write_input(&ctx, &mut x);
        inputs.extend(x);
    }
    inputs
}

fn softmax(z: &[f32]) -> Vec<f64> {
    let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = z.iter().map(|&v| f64::from(v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Largest difference between candle's and the fast engine's event probabilities over a
/// sequence of inputs (`[steps, input_size]`), fed one step at a time to the fast engine.
fn worst_probability_difference(
    cfg: &ModelConfig,
    tensors: &std::collections::HashMap<String, Tensor>,
    inputs: &[f32],
) -> f64 {
    let candle = PhraseModel::from_tensors(cfg, tensors).unwrap();
    let fast = FastLstm::from_tensors(cfg, tensors).unwrap();
    let (width, vocab) = (cfg.input_size(), cfg.output_size());
    let steps = inputs.len() / width;
    let x = Tensor::from_vec(inputs.to_vec(), (1, steps, width), &Device::Cpu).unwrap();
    let mut state = candle.zero_state(1).unwrap();
    let logits: Vec<f32> = candle
        .forward(&x, &mut state)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let mut fast_state = fast.state(1);
    let mut worst = 0.0f64;
    for t in 0..steps {
        fast.step(&inputs[t * width..(t + 1) * width], &mut fast_state);
        let (a, b) = (
            softmax(&fast_state.logits),
            softmax(&logits[t * vocab..(t + 1) * vocab]),
        );
        for (p, q) in a.iter().zip(&b) {
            worst = worst.max((p - q).abs());
        }
    }
    worst
}

#[test]
fn fast_engine_matches_candle_within_1e5() {
    for (layers, hidden) in [(1, 16), (2, 32), (2, 70)] {
        let cfg = event_config(layers, hidden, 4);
        let tensors = random_tensors(&cfg, 3 + layers as u64);
        let inputs = piece_inputs(&cfg);
        assert!(inputs.len() / cfg.input_size() > 30);
        let worst = worst_probability_difference(&cfg, &tensors, &inputs);
        assert!(worst < 1e-5, "layers {layers}, hidden {hidden}: {worst}");
    }
}

#[test]
fn every_kernel_gives_the_same_bits_for_batched_event_inputs() {
    let cfg = event_config(2, 64, 4);
    let fast = FastLstm::from_tensors(&cfg, &random_tensors(&cfg, 9)).unwrap();
    let inputs = piece_inputs(&cfg);
    let width = cfg.input_size();
    let steps = inputs.len() / width;
    let batch = 5;
    for (kernel, state) in FastLstm::kernel_names()[1..]
        .iter()
        .flat_map(both_precisions)
    {
        let (mut a, mut b) = (state(&fast, batch), state(&fast, batch));
        let mut x = vec![0.0; batch * width];
        for t in 0..steps {
            for s in 0..batch {
                // Each sequence of the batch at its own point of the piece.
                let u = (t + 3 * s) % steps;
                x[s * width..(s + 1) * width].copy_from_slice(&inputs[u * width..(u + 1) * width]);
            }
            fast.step_named(kernel, &x, &mut a);
            fast.step_named("portable", &x, &mut b);
            assert!(
                a.logits
                    .iter()
                    .zip(&b.logits)
                    .all(|(p, q)| p.to_bits() == q.to_bits()),
                "{kernel}, step {t}"
            );
        }
    }
}

/// A state of each precision: f32 (the reference), and int8 (repeat trials, `fiddle-tunes`).
type MakeState = fn(&FastLstm, usize) -> FastState;

/// `kernel` with each kind of state.
fn both_precisions(kernel: &&'static str) -> [(&'static str, MakeState); 2] {
    [(*kernel, FastLstm::state), (*kernel, int8_state)]
}

/// A sampler steps only the sequences still running (`step_rows`), kept at the front of
/// the batch by swapping rows (`swap_rows`): every sequence must get the same bits as when
/// it is stepped alone, however the rows move and the batch shrinks.
#[test]
fn stepping_the_front_rows_of_a_shuffled_batch_matches_each_sequence_alone() {
    let cfg = event_config(2, 64, 4);
    let fast = FastLstm::from_tensors(&cfg, &random_tensors(&cfg, 11)).unwrap();
    let inputs = piece_inputs(&cfg);
    let width = cfg.input_size();
    let steps = inputs.len() / width;
    let batch = 6;
    // Sequence `s` reads the piece from `3 * s` and runs for `steps - 4 * s` steps.
    let input_of = |s: usize, t: usize| {
        let u = (t + 3 * s) % steps;
        &inputs[u * width..(u + 1) * width]
    };
    let lengths: Vec<usize> = (0..batch).map(|s| steps - 4 * s).collect();
    for (precision, make_state) in [("f32", FastLstm::state as MakeState), ("int8", int8_state)] {
        front_rows_match_alone(&fast, make_state, &lengths, &input_of, precision);
    }
}

fn front_rows_match_alone<'a>(
    fast: &FastLstm,
    make_state: MakeState,
    lengths: &[usize],
    input_of: &dyn Fn(usize, usize) -> &'a [f32],
    precision: &str,
) {
    let (batch, width) = (lengths.len(), fast.input_size());
    let alone: Vec<Vec<f32>> = (0..batch)
        .map(|s| {
            let mut state = make_state(fast, 1);
            for t in 0..lengths[s] {
                fast.step(input_of(s, t), &mut state);
            }
            state.logits.clone()
        })
        .collect();
    let mut state = make_state(fast, batch);
    // `order[r]`: the sequence in row `r` (every row starts from the same zero state, so
    // any order will do); the rows before `live` are still running.
    let mut order: Vec<usize> = (0..batch).rev().collect();
    let mut live = batch;
    let mut x = vec![0.0; batch * width];
    for t in 0.. {
        let mut r = 0;
        while r < live {
            if t < lengths[order[r]] {
                r += 1;
            } else {
                live -= 1;
                state.swap_rows(r, live);
                order.swap(r, live);
            }
        }
        if live == 0 {
            break;
        }
        for (r, &s) in order[..live].iter().enumerate() {
            x[r * width..(r + 1) * width].copy_from_slice(input_of(s, t));
        }
        fast.step_rows(&x[..live * width], &mut state, live);
    }
    let outputs = state.logits.len() / batch;
    for (r, &s) in order.iter().enumerate() {
        let got = &state.logits[r * outputs..(r + 1) * outputs];
        assert!(
            got.iter()
                .zip(&alone[s])
                .all(|(p, q)| p.to_bits() == q.to_bits()),
            "{precision}: sequence {s} (row {r})"
        );
    }
}

#[test]
fn a_model_file_without_an_architecture_is_a_frame_model() {
    let cfg = tiny_config(Representation::ActiveAndOnset);
    let mut json: serde_json::Value = serde_json::to_value(&cfg).unwrap();
    json.as_object_mut().unwrap().remove("architecture");
    let old: ModelConfig = serde_json::from_value(json).unwrap();
    assert_eq!(old.architecture, Architecture::Frame);
    let events = event_config(2, 8, 1);
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        text.contains(r#""architecture":{"type":"events","max_voices":1}"#),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<ModelConfig>(&text).unwrap(), events);
}

/// The prototype's architecture still loads and generates exactly as before model v2:
/// the phrase below was recorded from the shipped v1 default (`bach-chorales`, now kept as
/// `models/bach-chorales-v1.safetensors`) before the v2 work began.
#[test]
fn an_old_model_file_generates_as_before() {
    let bytes = include_bytes!("../models/bach-chorales-v1.safetensors");
    let model = FastLstm::from_model_bytes(bytes).unwrap();
    assert_eq!(model.config.architecture, Architecture::Frame);
    let params = phrasegen::sample::GenerateParams {
        seed: 5,
        bars: 2,
        ..Default::default()
    };
    let phrase = phrasegen::family::generate(&model, &params).unwrap();
    let notes: Vec<(u32, u8, u32)> = phrase
        .notes
        .iter()
        .map(|n| (n.start_step, n.pitch, n.length_steps))
        .collect();
    assert_eq!(notes, RECORDED_V1_PHRASE);
}

/// (start step, pitch, length in steps).
const RECORDED_V1_PHRASE: &[(u32, u8, u32)] = &[
    (0, 42, 8),
    (0, 55, 1),
    (0, 61, 5),
    (4, 62, 4),
    (8, 43, 6),
    (10, 61, 2),
    (12, 57, 8),
    (12, 61, 2),
    (14, 59, 2),
    (16, 58, 4),
    (20, 52, 12),
    (20, 59, 4),
    (20, 61, 2),
    (20, 71, 4),
    (28, 69, 2),
];

/// Real weights on real music: every built-in model (all v2 event models) fed the events of
/// a phrase it generated itself gives candle's probabilities within 1e-5.
#[test]
fn fast_engine_matches_candle_on_every_builtin_model() {
    for (name, bytes) in phrasegen::builtin::BUILTIN_MODELS {
        let file = phrasegen::model::read_model_bytes(bytes).unwrap();
        let cfg = file.config.clone();
        assert!(
            matches!(cfg.architecture, Architecture::Events { .. }),
            "{name} is a v2 event model"
        );
        let fast = FastLstm::from_tensors(&cfg, &file.tensors).unwrap();
        let params = phrasegen::sample::GenerateParams {
            bars: 2,
            seed: 3,
            ..Default::default()
        };
        let phrase = phrasegen::family::generate(&fast, &params).unwrap();
        assert!(phrase.notes.len() >= 4, "{name}: a real phrase has notes");
        let roll = PianoRoll::from_phrase(&phrase);
        let codec = EventCodec::new(&cfg);
        let width = cfg.input_size();
        let mut inputs = Vec::new();
        let meters = MeterMap::constant(phrase.time_signature, phrase.steps_per_quarter);
        for (ctx, _) in encode_piece(&codec, &roll, &meters) {
            let mut x = vec![0.0; width];
            codec.write_input(&ctx, &mut x);
            inputs.extend(x);
        }
        let worst = worst_probability_difference(&cfg, &file.tensors, &inputs);
        assert!(worst < 1e-5, "{name}: {worst}");
    }
}

mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ARMED: Cell<bool> = const { Cell::new(false) };
        static COUNT: Cell<usize> = const { Cell::new(0) };
    }

    /// Counts allocations made by the current thread while armed.
    pub struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = ARMED.try_with(|armed| {
                if armed.get() {
                    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
                }
            });
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// Allocations `f` makes on this thread.
    pub fn allocations(f: impl FnOnce()) -> usize {
        COUNT.with(|c| c.set(0));
        ARMED.with(|a| a.set(true));
        f();
        ARMED.with(|a| a.set(false));
        COUNT.with(|c| c.get())
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[test]
fn an_event_step_allocates_nothing() {
    let file = phrasegen::model::read_model_bytes(phrasegen::builtin::DEFAULT_MODEL_BYTES).unwrap();
    let cfg = file.config.clone();
    let fast = FastLstm::from_tensors(&cfg, &file.tensors).unwrap();
    let codec = EventCodec::new(&cfg);
    let width = cfg.input_size();
    let mut inputs = vec![0.0; 4 * width];
    let meters = MeterMap::constant(TimeSignature::FOUR_FOUR, cfg.steps_per_quarter);
    let tokens = encode_piece(&codec, &PianoRoll::new(4), &meters);
    let (ctx, _) = tokens[0];
    for (precision, make_state) in [("f32", FastLstm::state as MakeState), ("int8", int8_state)] {
        let mut state = make_state(&fast, 4);
        let n = counting::allocations(|| {
            for _ in 0..200 {
                for b in 0..4 {
                    codec.write_input(&ctx, &mut inputs[b * width..(b + 1) * width]);
                }
                fast.step(&inputs, &mut state);
            }
        });
        assert_eq!(n, 0, "allocations in 200 batched event steps ({precision})");
    }
    // The counter works: a Vec allocates.
    assert!(counting::allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) > 0);
}

/// The int8 step (repeat trials, `fiddle-tunes`) stays close to the f32 step on the built-in models,
/// step after step of a piece: it only rounds, it does not drift.
#[test]
fn int8_steps_stay_close_to_f32_on_the_built_in_models() {
    for name in ["bach-chorales", "fiddle-tunes"] {
        let fast = phrasegen::builtin::load_model_choice(name).unwrap();
        let inputs = piece_inputs(&fast.config);
        let width = fast.input_size();
        let (mut wide, mut int8) = (fast.state(1), fast.state_in(1, Precision::Int8));
        let (mut worst_p, mut worst_logit) = (0.0f64, 0.0f32);
        for x in inputs.chunks_exact(width) {
            fast.step(x, &mut wide);
            fast.step(x, &mut int8);
            let (a, b) = (softmax(&wide.logits), softmax(&int8.logits));
            for (p, q) in a.iter().zip(&b) {
                worst_p = worst_p.max((p - q).abs());
            }
            for (p, q) in wide.logits.iter().zip(&int8.logits) {
                worst_logit = worst_logit.max((p - q).abs());
            }
        }
        eprintln!("{name}: {} steps, worst probability difference {worst_p:.4}, worst logit difference {worst_logit:.4}", inputs.len() / width);
        assert!(
            worst_p < 0.03 && worst_logit < 0.2,
            "{name}: {worst_p}, {worst_logit}"
        );
    }
}

/// A state that steps in int8.
fn int8_state(model: &FastLstm, batch: usize) -> FastState {
    model.state_in(batch, Precision::Int8)
}
