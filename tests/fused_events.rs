//! Event-model training (fused path) against candle's autograd, the source of truth: the
//! softmax cross-entropy and the gradient of every parameter, with and without dropout, on
//! windows encoded from piano rolls; padding; one AdamW step with weight decay; and a tiny
//! training run whose held-out loss falls.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use phrasegen::events::{encode_piece, EventCodec};
use phrasegen::family::train_until;
use phrasegen::meter::MeterMap;
use phrasegen::model::lstm::LstmLayer;
use phrasegen::model::{Architecture, ModelConfig, PhraseModel};
use phrasegen::phrase::TimeSignature;
use phrasegen::roll::{PianoRoll, PitchRange, Representation};
use phrasegen::train::fused_model::{FusedPhraseModel, PhraseGrads};
use phrasegen::train::fused_trainer::{
    dropout_factors, Dropout, FusedTrainer, ShardScratch, Targets, PAD,
};
use phrasegen::train::TrainData;
use phrasegen::train::TrainOptions;
use rand::{Rng, SeedableRng};

const WALTZ: TimeSignature = TimeSignature {
    numerator: 3,
    denominator: 4,
};

/// Hidden 20 is not a multiple of the kernels' 16 columns: both the SIMD blocks and the
/// portable tail run.
fn config(layers: usize, hidden: usize, max_voices: u8) -> ModelConfig {
    ModelConfig {
        name: "events".into(),
        layers,
        hidden,
        representation: Representation::ActiveAndOnset,
        steps_per_quarter: 2,
        pitch_range: PitchRange { lo: 60, hi: 71 },
        architecture: Architecture::Events { max_voices },
        training: None,
        key_normalised: false,
        cut_time_as_common: false,
        onset_age_beats: false,
    }
}

/// A random roll of up to three voices in the range.
fn random_roll(steps: usize, seed: u64) -> PianoRoll {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut roll = PianoRoll::new(steps);
    for _ in 0..steps {
        let start = rng.random_range(0..steps);
        let len = rng.random_range(1..4).min(steps - start);
        let pitch = rng.random_range(60..=71);
        if roll.active[start..start + len]
            .iter()
            .all(|f| f.count_ones() < 3 && f & (1u128 << pitch) == 0)
        {
            roll.add_note(pitch, start, len);
        }
    }
    roll
}

/// `batch` windows of `seq` events from encoded random rolls: inputs `[batch, seq, I]` and
/// targets `[batch, seq]`.
fn windows(cfg: &ModelConfig, batch: usize, seq: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let codec = EventCodec::new(cfg);
    let width = cfg.input_size();
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    for b in 0..batch {
        let meters = MeterMap::constant(WALTZ, cfg.steps_per_quarter);
        let tokens = encode_piece(&codec, &random_roll(40, seed + b as u64), &meters);
        assert!(tokens.len() >= seq + b, "rolls long enough");
        for (ctx, token) in &tokens[b..b + seq] {
            let mut row = vec![0.0; width];
            codec.write_input(ctx, &mut row);
            inputs.extend(row);
            targets.push(*token as u32);
        }
    }
    (inputs, targets)
}

fn var_map(tensors: &HashMap<String, Tensor>) -> VarMap {
    let varmap = VarMap::new();
    {
        let mut vars = varmap.data().lock().unwrap();
        for (name, t) in tensors {
            vars.insert(name.clone(), Var::from_tensor(t).unwrap());
        }
    }
    varmap
}

/// Candle's mean cross-entropy and the gradient of every variable by name; with
/// `dropout`, the network is run layer by layer with the same factors the fused path
/// draws.
fn candle_loss_and_grads(
    cfg: &ModelConfig,
    tensors: &HashMap<String, Tensor>,
    inputs: &[f32],
    targets: &[u32],
    batch: usize,
    seq: usize,
    dropout: Option<Dropout>,
) -> (f64, HashMap<String, Vec<f32>>) {
    let varmap = var_map(tensors);
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let x = Tensor::from_slice(inputs, (batch, seq, cfg.input_size()), &Device::Cpu).unwrap();
    let logits = match dropout {
        None => {
            let model = PhraseModel::new(cfg, vb).unwrap();
            let mut state = model.zero_state(batch).unwrap();
            model.forward(&x, &mut state).unwrap()
        }
        Some(d) => {
            let h = cfg.hidden;
            // Factors [batch, layers, seq, H], as the fused path draws them per sequence.
            let mut all = Vec::new();
            let mut one = Vec::new();
            for b in 0..batch {
                dropout_factors(d, b, cfg.layers, seq, h, &mut one);
                all.extend_from_slice(&one);
            }
            let masks = Tensor::from_vec(all, (batch, cfg.layers, seq, h), &Device::Cpu).unwrap();
            let mut hidden = x;
            for l in 0..cfg.layers {
                let input = if l == 0 { cfg.input_size() } else { h };
                let layer = LstmLayer::new(input, h, l, &vb.pp("lstm")).unwrap();
                let mut state = layer.zero_state(batch, &Device::Cpu).unwrap();
                let out = layer.forward(&hidden, &mut state).unwrap();
                let mask = masks.narrow(1, l, 1).unwrap().squeeze(1).unwrap();
                hidden = (out * mask).unwrap();
            }
            let w = vb.pp("out").get((cfg.output_size(), h), "weight").unwrap();
            let bias = vb.pp("out").get(cfg.output_size(), "bias").unwrap();
            candle_nn::Linear::new(w, Some(bias))
                .forward(&hidden)
                .unwrap()
        }
    };
    let logits = logits.reshape((batch * seq, cfg.output_size())).unwrap();
    let y = Tensor::from_slice(targets, batch * seq, &Device::Cpu).unwrap();
    let loss = candle_nn::loss::cross_entropy(&logits, &y).unwrap();
    let grads = loss.backward().unwrap();
    let vars = varmap.data().lock().unwrap();
    let named = vars
        .iter()
        .map(|(name, var)| {
            let g = grads.get(var.as_tensor()).expect("a gradient per variable");
            (
                name.clone(),
                g.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            )
        })
        .collect();
    (f64::from(loss.to_scalar::<f32>().unwrap()), named)
}

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

#[allow(clippy::too_many_arguments)] // a test helper mirroring the trainer's inputs
fn fused_loss_and_grads(
    cfg: &ModelConfig,
    tensors: &HashMap<String, Tensor>,
    inputs: &[f32],
    targets: &[u32],
    batch: usize,
    seq: usize,
    dropout: Option<Dropout>,
    threads: usize,
) -> (f64, HashMap<String, Vec<f32>>) {
    let fused = FusedPhraseModel::from_tensors(cfg, tensors).unwrap();
    let mut grads = PhraseGrads::zeros(cfg);
    let mut scratch: Vec<ShardScratch> = Vec::new();
    let loss = fused.loss_and_grads(
        inputs,
        Targets::Tokens(targets),
        batch,
        seq,
        dropout,
        threads,
        &mut scratch,
        &mut grads,
    );
    (loss, grads.named())
}

#[test]
fn event_loss_and_gradients_match_candle_with_and_without_dropout() {
    for (layers, hidden, threads, rate) in [
        (2, 20, 1, 0.0),
        (1, 16, 3, 0.0),
        (2, 20, 2, 0.3),
        (3, 8, 3, 0.5),
    ] {
        let cfg = config(layers, hidden, 3);
        let tensors = PhraseModel::init_tensors(&cfg, 5).unwrap();
        let (batch, seq) = (5, 11);
        let (inputs, targets) = windows(&cfg, batch, seq, 40);
        let dropout = (rate > 0.0).then_some(Dropout { rate, seed: 9 });
        let (expected_loss, expected) =
            candle_loss_and_grads(&cfg, &tensors, &inputs, &targets, batch, seq, dropout);
        let (loss, ours) = fused_loss_and_grads(
            &cfg, &tensors, &inputs, &targets, batch, seq, dropout, threads,
        );
        assert!(
            (loss - expected_loss).abs() <= 1e-5 * expected_loss.abs().max(1.0),
            "loss {loss} vs candle {expected_loss} ({layers} layers, dropout {rate})"
        );
        assert_eq!(ours.len(), expected.len());
        for (name, g) in &expected {
            let err = relative_error(&ours[name], g);
            assert!(
                err <= 1e-4,
                "{name}: relative error {err:.2e} ({layers} layers, dropout {rate})"
            );
        }
    }
}

#[test]
fn dropout_changes_the_loss_and_is_the_same_for_a_seed() {
    let cfg = config(2, 16, 3);
    let tensors = PhraseModel::init_tensors(&cfg, 2).unwrap();
    let (inputs, targets) = windows(&cfg, 4, 10, 7);
    let run = |d: Option<Dropout>, threads| {
        fused_loss_and_grads(&cfg, &tensors, &inputs, &targets, 4, 10, d, threads).0
    };
    let d = Some(Dropout { rate: 0.4, seed: 3 });
    assert_ne!(run(None, 1), run(d, 1));
    // The factors follow the sequence, not the thread that runs it.
    assert!((run(d, 1) - run(d, 2)).abs() < 1e-6);
    assert_ne!(run(d, 1), run(Some(Dropout { rate: 0.4, seed: 4 }), 1));
}

#[test]
fn padding_counts_for_nothing() {
    let cfg = config(2, 12, 3);
    let tensors = PhraseModel::init_tensors(&cfg, 3).unwrap();
    let width = cfg.input_size();
    let (inputs, targets) = windows(&cfg, 1, 10, 11);
    let (short_loss, short) = fused_loss_and_grads(
        &cfg,
        &tensors,
        &inputs[..6 * width],
        &targets[..6],
        1,
        6,
        None,
        1,
    );
    let mut padded_targets = targets.clone();
    padded_targets[6..].fill(PAD);
    let (loss, grads) =
        fused_loss_and_grads(&cfg, &tensors, &inputs, &padded_targets, 1, 10, None, 1);
    assert!((loss - short_loss).abs() < 1e-6, "{loss} vs {short_loss}");
    for (name, g) in &short {
        assert!(relative_error(&grads[name], g) < 1e-5, "{name}");
    }
}

#[test]
fn one_adamw_step_matches_candle() {
    let cfg = config(2, 16, 3);
    let tensors = PhraseModel::init_tensors(&cfg, 8).unwrap();
    let (batch, seq) = (3, 9);
    let (inputs, targets) = windows(&cfg, batch, seq, 21);
    let (lr, decay) = (1e-2, 0.5);
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    // Copied now: candle's optimizer updates the variables built from `tensors` in place.
    let initial: HashMap<String, Vec<f32>> =
        tensors.iter().map(|(k, t)| (k.clone(), flat(t))).collect();
    let model = FusedPhraseModel::from_tensors(&cfg, &tensors).unwrap();
    let mut trainer = FusedTrainer::new(model, lr, decay, 0.0, 2);
    trainer.step(&inputs, Targets::Tokens(&targets), batch, seq, 0);
    let ours = trainer.model().to_tensors().unwrap();

    let varmap = var_map(&tensors);
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let model = PhraseModel::new(&cfg, vb).unwrap();
    let mut opt = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW {
            lr,
            weight_decay: decay,
            ..ParamsAdamW::default()
        },
    )
    .unwrap();
    let x = Tensor::from_slice(&inputs, (batch, seq, cfg.input_size()), &Device::Cpu).unwrap();
    let mut state = model.zero_state(batch).unwrap();
    let logits = model.forward(&x, &mut state).unwrap();
    let logits = logits.reshape((batch * seq, cfg.output_size())).unwrap();
    let y = Tensor::from_slice(&targets, batch * seq, &Device::Cpu).unwrap();
    opt.backward_step(&candle_nn::loss::cross_entropy(&logits, &y).unwrap())
        .unwrap();
    let vars = varmap.data().lock().unwrap();
    let fused_grads = trainer.grads().named();
    let decay_factor = (1.0 - lr * decay) as f32;
    let mut decay_only = 0;
    for (name, var) in vars.iter() {
        let (expected, got) = (flat(var.as_tensor()), flat(&ours[name]));
        let before = &initial[name];
        let moved =
            |after: &[f32]| -> Vec<f32> { after.iter().zip(before).map(|(a, b)| a - b).collect() };
        let err = relative_error(&moved(&got), &moved(&expected));
        assert!(
            err <= 1e-3,
            "{name}: update differs from candle's by {err:.2e}"
        );
        // Weights without a gradient (inputs that never occur) only decay.
        for ((g, a), b) in fused_grads[name].iter().zip(&got).zip(before) {
            if *g == 0.0 {
                assert_eq!(*a, b * decay_factor, "{name}");
                decay_only += 1;
            }
        }
    }
    assert!(decay_only > 0, "some weights see no gradient");
}

/// A waltz: a low note on each downbeat, two high notes on beats two and three.
fn waltz(bars: usize) -> PianoRoll {
    let spq = 2;
    let mut roll = PianoRoll::new(bars * 3 * spq);
    for bar in 0..bars {
        let at = bar * 3 * spq;
        roll.add_note(60 + (bar % 3) as u8, at, spq);
        roll.add_note(67, at + spq, spq);
        roll.add_note(71, at + 2 * spq, spq);
    }
    roll
}

#[test]
fn a_tiny_event_model_learns_a_waltz() {
    let cfg = config(1, 24, 2);
    let pieces: Vec<PianoRoll> = (0..6).map(|_| waltz(12)).collect();
    let meters = vec![MeterMap::constant(WALTZ, cfg.steps_per_quarter); pieces.len()];
    let options = TrainOptions {
        model: cfg,
        epochs: 30,
        batch_size: 8,
        seq_len: 24,
        learning_rate: 2e-2,
        seed: 4,
        threads: 2,
        dropout: 0.1,
        weight_decay: 1e-3,
        patience: 0,
        ..TrainOptions::default()
    };
    let result = train_until(
        TrainData {
            train: &pieces,
            train_meters: &meters,
            valid: &pieces[..2],
            valid_meters: &meters[..2],
        },
        &options,
        &indicatif::ProgressBar::hidden(),
        &AtomicBool::new(false),
        |_, _| Ok(()),
    )
    .unwrap();
    let first = result.history.first().unwrap();
    let best = &result.history[result.best_epoch - 1];
    // Uniform over the 25 tokens is ln 25 = 3.2 nats per event.
    assert!(first.valid_loss > 1.0, "{first:?}");
    assert!(best.valid_loss < 0.4, "held-out loss fell only to {best:?}");
    assert!(best.valid_nats_per_quarter.unwrap() < first.valid_nats_per_quarter.unwrap() / 3.0);
}
