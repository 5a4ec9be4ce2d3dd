//! The fused training path against candle's autograd, the source of truth: gradients of
//! every parameter tensor (random and shipped models), the gradient with respect to the
//! input, forward parity with the inference engine, one Adam step, a 200-step loss curve,
//! and determinism.

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use phrasegen::infer::FastLstm;
use phrasegen::model::lstm::bce_nats_per_step;
use phrasegen::model::{read_model_file, ModelConfig, PhraseModel};
use phrasegen::roll::{PitchRange, Representation};
use phrasegen::train::fused_lstm::{LstmLayerParams, LstmParams, LstmShape, LstmStack, LstmTape};
use phrasegen::train::fused_model::{FusedPhraseModel, PhraseGrads};
use phrasegen::train::fused_trainer::{split_windows, FusedTrainer, ShardScratch, Targets};
use rand::{Rng, SeedableRng};

use common::candle_training::CandleTrainer;

/// Hidden 20 is not a multiple of the kernels' 16 columns: both the SIMD blocks and the
/// portable tail run.
fn small_config(layers: usize, hidden: usize) -> ModelConfig {
    ModelConfig {
        name: "small".into(),
        layers,
        hidden,
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

/// `[batch, seq + 1, width]` windows of 0/1 frames with `density` ones.
fn random_windows(batch: usize, seq: usize, width: usize, density: f64, seed: u64) -> Vec<f32> {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    (0..batch * (seq + 1) * width)
        .map(|_| if rng.random_bool(density) { 1.0 } else { 0.0 })
        .collect()
}

/// A candle model whose variables are the given tensors.
fn candle_model(config: &ModelConfig, tensors: &HashMap<String, Tensor>) -> (PhraseModel, VarMap) {
    let varmap = VarMap::new();
    {
        let mut vars = varmap.data().lock().unwrap();
        for (name, t) in tensors {
            vars.insert(name.clone(), Var::from_tensor(t).unwrap());
        }
    }
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    (PhraseModel::new(config, vb).unwrap(), varmap)
}

/// Candle's loss and the gradient of every variable, by name.
fn candle_loss_and_grads(
    config: &ModelConfig,
    tensors: &HashMap<String, Tensor>,
    windows: &[f32],
    batch: usize,
    seq: usize,
) -> (f64, HashMap<String, Vec<f32>>) {
    let (model, varmap) = candle_model(config, tensors);
    let all =
        Tensor::from_slice(windows, (batch, seq + 1, config.frame_size()), &Device::Cpu).unwrap();
    let x = all.narrow(1, 0, seq).unwrap();
    let y = all.narrow(1, 1, seq).unwrap();
    let mut state = model.zero_state(batch).unwrap();
    let loss = bce_nats_per_step(&model.forward(&x, &mut state).unwrap(), &y).unwrap();
    let grads = loss.backward().unwrap();
    let vars = varmap.data().lock().unwrap();
    let named = vars
        .iter()
        .map(|(name, var)| {
            let g = grads
                .get(var.as_tensor())
                .expect("every variable has a gradient");
            (
                name.clone(),
                g.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            )
        })
        .collect();
    (f64::from(loss.to_scalar::<f32>().unwrap()), named)
}

/// `|a - b| / |b|` in the Euclidean norm.
fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let diff: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let norm: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (diff / norm.max(1e-30)).sqrt()
}

/// Checks the fused loss and every parameter gradient against candle, with `threads`
/// shards; returns the worst relative error.
fn check_against_candle(
    config: &ModelConfig,
    tensors: &HashMap<String, Tensor>,
    windows: &[f32],
    batch: usize,
    seq: usize,
    threads: usize,
) -> f64 {
    let (candle_loss, candle_grads) = candle_loss_and_grads(config, tensors, windows, batch, seq);
    let fused = FusedPhraseModel::from_tensors(config, tensors).unwrap();
    let mut grads = PhraseGrads::zeros(config);
    let mut scratch: Vec<ShardScratch> = Vec::new();
    let (inputs, targets) = split_windows(windows, batch, seq, config.frame_size());
    let loss = fused.loss_and_grads(
        &inputs,
        Targets::Frames(&targets),
        batch,
        seq,
        None,
        threads,
        &mut scratch,
        &mut grads,
    );
    assert!(
        (loss - candle_loss).abs() <= 1e-5 * candle_loss.abs().max(1.0),
        "loss {loss} vs candle {candle_loss}"
    );
    let ours = grads.named();
    assert_eq!(ours.len(), candle_grads.len());
    let mut worst = 0.0f64;
    for (name, expected) in &candle_grads {
        let err = relative_error(&ours[name], expected);
        assert!(err <= 1e-4, "{name}: relative error {err:.2e}");
        worst = worst.max(err);
    }
    worst
}

#[test]
fn gradients_match_candle_on_random_models() {
    // Sparse frames (the first layer's sparse path) and dense ones (its matrix product),
    // one thread and a batch split across three.
    for (layers, hidden, density, threads) in [(2, 20, 0.1, 1), (1, 16, 0.5, 3), (3, 8, 0.05, 2)] {
        let cfg = small_config(layers, hidden);
        let tensors = PhraseModel::init_tensors(&cfg, 11).unwrap();
        let windows = random_windows(5, 9, cfg.frame_size(), density, 4);
        check_against_candle(&cfg, &tensors, &windows, 5, 9, threads);
    }
}

#[test]
fn gradients_match_candle_on_the_shipped_v1_model() {
    let file = read_model_file(std::path::Path::new("models/fiddle-tunes-v1.safetensors")).unwrap();
    let windows = random_windows(4, 12, file.config.frame_size(), 0.03, 9);
    let worst = check_against_candle(&file.config, &file.tensors, &windows, 4, 12, 2);
    eprintln!("shipped model: worst relative gradient error {worst:.2e}");
}

#[test]
fn the_input_gradient_matches_candle() {
    // Dense real-valued inputs, as a model with embeddings or extra features would feed the
    // stack. Loss: sum(logits * r), so d logits = r.
    let cfg = small_config(2, 20);
    let (f, h) = (cfg.frame_size(), cfg.hidden);
    let (batch, seq) = (3, 6);
    let tensors = PhraseModel::init_tensors(&cfg, 5).unwrap();
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2);
    let x_bf: Vec<f32> = (0..batch * seq * f)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let r_bf: Vec<f32> = (0..batch * seq * f)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();

    let (model, varmap) = candle_model(&cfg, &tensors);
    let x_var =
        Var::from_tensor(&Tensor::from_slice(&x_bf, (batch, seq, f), &Device::Cpu).unwrap())
            .unwrap();
    let r = Tensor::from_slice(&r_bf, (batch, seq, f), &Device::Cpu).unwrap();
    let mut state = model.zero_state(batch).unwrap();
    let logits = model.forward(x_var.as_tensor(), &mut state).unwrap();
    let loss = (logits * &r).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let candle_dx: Vec<f32> = grads
        .get(x_var.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();

    // The stack alone, time-major.
    let values = |name: &str| {
        tensors[name]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let shape = LstmShape {
        input: f,
        hidden: h,
        layers: cfg.layers,
    };
    let layers = (0..cfg.layers)
        .map(|l| LstmLayerParams {
            w_ih: values(&format!("lstm.weight_ih_l{l}")),
            w_hh: values(&format!("lstm.weight_hh_l{l}")),
            b_ih: values(&format!("lstm.bias_ih_l{l}")),
            b_hh: values(&format!("lstm.bias_hh_l{l}")),
        })
        .collect();
    let stack = LstmStack::new(LstmParams { shape, layers });
    let to_time_major = |v: &[f32], width: usize| {
        let mut out = Vec::with_capacity(v.len());
        for t in 0..seq {
            for b in 0..batch {
                out.extend_from_slice(&v[(b * seq + t) * width..(b * seq + t + 1) * width]);
            }
        }
        out
    };
    let x = to_time_major(&x_bf, f);
    let r_tm = to_time_major(&r_bf, f);
    let w_out = values("out.weight");
    let mut tape = LstmTape::default();
    stack.forward(&x, seq, batch, &mut tape);
    // d top = r W_out.
    let mut d_top = vec![0.0f32; seq * batch * h];
    for row in 0..seq * batch {
        for k in 0..h {
            d_top[row * h + k] = (0..f).map(|o| r_tm[row * f + o] * w_out[o * h + k]).sum();
        }
    }
    let mut g = LstmParams::zeros(shape);
    let mut d_x = vec![0.0f32; x.len()];
    stack.backward(&x, &mut tape, &d_top, &mut g, Some(&mut d_x));
    let err = relative_error(&d_x, &to_time_major(&candle_dx, f));
    assert!(err <= 1e-4, "input gradient: relative error {err:.2e}");
    let vars = varmap.data().lock().unwrap();
    for (name, _, ours) in g.named() {
        let var = &vars[&format!("lstm.{name}")];
        let expected: Vec<f32> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let err = relative_error(ours, &expected);
        assert!(err <= 1e-4, "{name}: relative error {err:.2e}");
    }
}

#[test]
fn the_forward_pass_matches_the_inference_engine() {
    let cfg = small_config(2, 20);
    let f = cfg.frame_size();
    let tensors = PhraseModel::init_tensors(&cfg, 8).unwrap();
    let fused = FusedPhraseModel::from_tensors(&cfg, &tensors).unwrap();
    let fast = FastLstm::from_tensors(&cfg, &tensors).unwrap();
    let (batch, seq) = (3, 20);
    let windows = random_windows(batch, seq, f, 0.1, 3);
    // Time-major inputs for the fused model.
    let mut x = Vec::new();
    for t in 0..seq {
        for b in 0..batch {
            let start = (b * (seq + 1) + t) * f;
            x.extend_from_slice(&windows[start..start + f]);
        }
    }
    let logits = fused.logits(&x, seq, batch);
    let mut state = fast.state(batch);
    let mut worst = 0.0f32;
    for t in 0..seq {
        fast.step(&x[t * batch * f..(t + 1) * batch * f], &mut state);
        for (a, b) in state
            .logits
            .iter()
            .zip(&logits[t * batch * f..(t + 1) * batch * f])
        {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(worst < 1e-4, "largest logit difference {worst:.2e}");
}

/// The fused trainer on frame windows `[batch, seq + 1, F]`, as the frame family drives it.
struct FrameTrainer(FusedTrainer);

impl FrameTrainer {
    fn step(&mut self, windows: &[f32], batch: usize, seq: usize) -> f64 {
        let f = self.0.model().config.frame_size();
        let (inputs, targets) = split_windows(windows, batch, seq, f);
        self.0
            .step(&inputs, Targets::Frames(&targets), batch, seq, 0)
    }

    fn model(&self) -> &FusedPhraseModel {
        self.0.model()
    }
}

fn fused_trainer(cfg: &ModelConfig, seed: u64, lr: f64, threads: usize) -> FrameTrainer {
    let tensors = PhraseModel::init_tensors(cfg, seed).unwrap();
    FrameTrainer(FusedTrainer::new(
        FusedPhraseModel::from_tensors(cfg, &tensors).unwrap(),
        lr,
        0.0,
        0.0,
        threads,
    ))
}

#[test]
fn one_adam_step_lowers_the_loss_as_candle_does() {
    // A toy problem: a fixed batch; the loss after one step, evaluated by candle on each
    // path's new weights.
    let cfg = small_config(2, 20);
    let (batch, seq, lr) = (6, 10, 1e-2);
    let windows = random_windows(batch, seq, cfg.frame_size(), 0.1, 21);
    let mut candle = CandleTrainer::new(&cfg, 3, lr);
    let before = candle.step(&windows, batch, seq);
    let model = &candle.model;
    let mut state = model.zero_state(batch).unwrap();
    let all =
        Tensor::from_slice(&windows, (batch, seq + 1, cfg.frame_size()), &Device::Cpu).unwrap();
    let logits = model
        .forward(&all.narrow(1, 0, seq).unwrap(), &mut state)
        .unwrap();
    let candle_after = f64::from(
        bce_nats_per_step(&logits, &all.narrow(1, 1, seq).unwrap())
            .unwrap()
            .to_scalar::<f32>()
            .unwrap(),
    );

    let mut fused = fused_trainer(&cfg, 3, lr, 2);
    let fused_before = fused.step(&windows, batch, seq);
    let tensors = fused.model().to_tensors().unwrap();
    let (fused_after, _) = candle_loss_and_grads(&cfg, &tensors, &windows, batch, seq);
    assert!(
        (before - fused_before).abs() < 1e-5,
        "{before} vs {fused_before}"
    );
    let (candle_drop, fused_drop) = (before - candle_after, before - fused_after);
    assert!(
        candle_drop > 0.0 && fused_drop > 0.0,
        "{candle_drop} {fused_drop}"
    );
    assert!(
        (candle_drop - fused_drop).abs() <= 1e-3 * candle_drop,
        "loss fell by {fused_drop} (fused) vs {candle_drop} (candle)"
    );
}

/// `steps` steps on random windows drawn from a fixed set of synthetic pieces.
fn loss_curves(steps: usize) -> (Vec<f64>, Vec<f64>) {
    let cfg = small_config(2, 16);
    let (batch, seq, lr) = (8, 12, 3e-3);
    let f = cfg.frame_size();
    // A pool of windows: a rising scale with a random start, so there is something to learn.
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let pool: Vec<Vec<f32>> = (0..64)
        .map(|_| {
            let start = rng.random_range(0..12);
            let mut w = vec![0.0f32; (seq + 1) * f];
            for t in 0..=seq {
                let p = (start + t) % 12;
                w[t * f + p] = 1.0;
                w[t * f + 12 + p] = 1.0;
            }
            w
        })
        .collect();
    let mut candle = CandleTrainer::new(&cfg, 7, lr);
    let mut fused = fused_trainer(&cfg, 7, lr, 2);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..steps {
        let windows: Vec<f32> = (0..batch)
            .flat_map(|_| pool[rng.random_range(0..pool.len())].clone())
            .collect();
        theirs.push(candle.step(&windows, batch, seq));
        ours.push(fused.step(&windows, batch, seq));
    }
    (ours, theirs)
}

#[test]
fn a_200_step_loss_curve_matches_candle() {
    let (ours, theirs) = loss_curves(200);
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs() / b)
        .fold(0.0, f64::max);
    eprintln!(
        "loss {:.4} -> {:.4} (candle {:.4} -> {:.4}); worst relative difference {worst:.2e}",
        ours[0], ours[199], theirs[0], theirs[199]
    );
    assert!(ours[199] < 0.5 * ours[0], "the fused path learned");
    assert!(worst <= 1e-4, "worst relative loss difference {worst:.2e}");
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let cfg = small_config(2, 20);
    let windows = random_windows(7, 8, cfg.frame_size(), 0.1, 5);
    let run = || {
        let mut t = fused_trainer(&cfg, 4, 1e-2, 2);
        for _ in 0..3 {
            t.step(&windows, 7, 8);
        }
        t.model().to_tensors().unwrap()
    };
    let (a, b) = (run(), run());
    for (name, t) in &a {
        let (x, y): (Vec<f32>, Vec<f32>) = (
            t.flatten_all().unwrap().to_vec1().unwrap(),
            b[name].flatten_all().unwrap().to_vec1().unwrap(),
        );
        assert!(
            x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()),
            "{name} differs"
        );
    }
}
