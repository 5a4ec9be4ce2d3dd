//! The training loop: random 32-step windows, Adam, held-out loss each epoch, best kept.
//!
//! Batches run on the fused LSTM path (`fused_model`), whose gradients and steps tests
//! check against candle's autograd; the candle path is kept for the speed comparison of
//! `phrasegen bench`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};

use super::dataset::transpose;
use super::eval::evaluate;
use super::fused_model::{FusedPhraseModel, FusedTrainer};
use crate::infer::FastLstm;
use crate::model::lstm::bce_nats_per_step;
use crate::model::{ModelConfig, PhraseModel};
use crate::roll::PianoRoll;

/// Training settings; defaults follow the prototype (Adam, 32-step windows, 30 epochs).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    pub model: ModelConfig,
    pub epochs: usize,
    pub batch_size: usize,
    pub seq_len: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// Each window is transposed by a random amount in `-n..=n` semitones (0 = off).
    pub transpose_semitones: i32,
    /// Threads a batch is split across. Results are deterministic for a seed and a thread
    /// count (the count changes only the order of floating-point sums).
    pub threads: usize,
    pub engine: TrainEngine,
    /// AdamW's decoupled weight decay (0 = plain Adam, the prototype's).
    pub weight_decay: f64,
    /// Inverted dropout rate between LSTM layers and before the output layer (event models
    /// only; 0 = off).
    pub dropout: f32,
    /// Stop after this many epochs without a better held-out loss (0 = run every epoch).
    /// The best epoch is what is kept either way.
    pub patience: usize,
}

/// Which implementation computes the gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrainEngine {
    /// The fused LSTM path (`fused_model`): the fast one.
    #[default]
    Fused,
    /// Candle's autograd one step at a time: the source of truth the fused path is checked
    /// against, kept selectable for comparisons (`phrasegen train --engine candle`).
    Candle,
}

/// A model being trained, by either engine.
enum Stepper {
    Fused(Box<FusedTrainer>),
    Candle(Box<CandleStepper>),
}

struct CandleStepper {
    model: PhraseModel,
    varmap: candle_nn::VarMap,
    opt: AdamW,
}

impl Stepper {
    fn new(options: &TrainOptions) -> Result<Self, String> {
        let cfg = &options.model;
        Ok(match options.engine {
            TrainEngine::Fused => {
                let tensors =
                    PhraseModel::init_tensors(cfg, options.seed).map_err(|e| e.to_string())?;
                let model =
                    FusedPhraseModel::from_tensors(cfg, &tensors).map_err(|e| e.to_string())?;
                Self::Fused(Box::new(FusedTrainer::with_weight_decay(
                    model,
                    options.learning_rate,
                    options.weight_decay,
                    options.threads,
                )))
            }
            TrainEngine::Candle => {
                let (model, varmap) =
                    PhraseModel::init(cfg, options.seed).map_err(|e| e.to_string())?;
                let opt = AdamW::new(
                    varmap.all_vars(),
                    ParamsAdamW {
                        lr: options.learning_rate,
                        weight_decay: options.weight_decay,
                        ..ParamsAdamW::default()
                    },
                )
                .map_err(|e| e.to_string())?;
                Self::Candle(Box::new(CandleStepper { model, varmap, opt }))
            }
        })
    }

    /// One step on `windows` `[batch, seq + 1, width]`; the loss before it.
    fn step(&mut self, windows: &[f32], batch: usize, seq: usize) -> Result<f64, String> {
        match self {
            Self::Fused(t) => Ok(t.step(windows, batch, seq)),
            Self::Candle(c) => {
                let CandleStepper { model, opt, .. } = &mut **c;
                let width = model.config.frame_size();
                let all = Tensor::from_slice(windows, (batch, seq + 1, width), &Device::Cpu)
                    .map_err(|e| e.to_string())?;
                candle_train_step(model, opt, &all).map_err(|e| e.to_string())
            }
        }
    }

    /// The current weights (a copy).
    fn tensors(&self) -> Result<HashMap<String, Tensor>, String> {
        match self {
            Self::Fused(t) => t.model().to_tensors().map_err(|e| e.to_string()),
            Self::Candle(c) => {
                let vars = c
                    .varmap
                    .data()
                    .lock()
                    .map_err(|_| "variable map lock poisoned".to_string())?;
                vars.iter()
                    .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy().map_err(|e| e.to_string())?)))
                    .collect()
            }
        }
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            model: ModelConfig::default(),
            epochs: 30,
            batch_size: 64,
            seq_len: 32,
            learning_rate: 1e-3,
            seed: 1,
            transpose_semitones: 0,
            threads: default_threads(),
            engine: TrainEngine::Fused,
            weight_decay: 0.0,
            dropout: 0.0,
            patience: 0,
        }
    }
}

/// All cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One epoch's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches, nats per step.
    pub train_loss: f64,
    /// Held-out NLL, nats per step (per event for event models), whole pieces.
    pub valid_loss: f64,
    /// Frame models only (NaN for event models).
    pub valid_frame_accuracy: f64,
    /// Event models: held-out NLL per quarter note, the frame-equivalent figure.
    pub valid_nats_per_quarter: Option<f64>,
    /// Training speed: frames (events, for event models) per second.
    pub frames_per_s: f64,
    pub seconds: f64,
}

/// The best model by held-out loss and the whole history.
#[derive(Clone, Debug)]
pub struct TrainResult {
    pub config: ModelConfig,
    pub tensors: HashMap<String, Tensor>,
    pub history: Vec<EpochStats>,
    pub best_epoch: usize,
    /// True when the run was stopped early (its last epoch may be partial).
    pub interrupted: bool,
}

/// Fills `out` (`[seq_len + 1, width]`) with a window of `roll` starting at `start - 1`
/// (frame -1 is the silent frame every piece starts from).
fn window_features(roll: &PianoRoll, start: usize, cfg: &ModelConfig, out: &mut [f32]) {
    let width = cfg.frame_size();
    for (i, chunk) in out.chunks_exact_mut(width).enumerate() {
        let t = start + i;
        if t == 0 {
            chunk.fill(0.0);
        } else {
            roll.frame_features(t - 1, cfg.pitch_range, cfg.representation, chunk);
        }
    }
}

/// One candle optimizer step on `batch` `[batch, seq + 1, width]`: frames `0..seq` predict
/// `1..=seq`. Returns the loss in nats per step.
fn candle_train_step(
    model: &PhraseModel,
    opt: &mut AdamW,
    batch: &Tensor,
) -> candle_core::Result<f64> {
    let (b, t, _) = batch.dims3()?;
    let x = batch.narrow(1, 0, t - 1)?;
    let y = batch.narrow(1, 1, t - 1)?;
    let mut state = model.zero_state(b)?;
    let logits = model.forward(&x, &mut state)?;
    let loss = bce_nats_per_step(&logits, &y)?;
    opt.backward_step(&loss)?;
    loss.to_scalar::<f32>().map(f64::from)
}

/// Random frames (5% of notes on) `[batch, seq + 1, width]`, as the PyTorch reference
/// times training.
fn random_windows(config: &ModelConfig, batch_size: usize, seq_len: usize) -> Vec<f32> {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0);
    let n = batch_size * (seq_len + 1) * config.frame_size();
    (0..n)
        .map(|_| if rng.random_bool(0.05) { 1.0 } else { 0.0 })
        .collect()
}

/// Training speed of the fused path in frames per second on random frames, as the PyTorch
/// reference measures it: `batches` timed steps after 3 warm-up steps.
pub fn training_throughput(
    config: &ModelConfig,
    batch_size: usize,
    seq_len: usize,
    batches: usize,
    threads: usize,
) -> Result<f64, String> {
    let tensors = PhraseModel::init_tensors(config, 1).map_err(|e| e.to_string())?;
    let model = FusedPhraseModel::from_tensors(config, &tensors).map_err(|e| e.to_string())?;
    let mut trainer = FusedTrainer::new(model, 1e-3, threads);
    let data = random_windows(config, batch_size, seq_len);
    for _ in 0..3 {
        trainer.step(&data, batch_size, seq_len);
    }
    let started = Instant::now();
    for _ in 0..batches {
        trainer.step(&data, batch_size, seq_len);
    }
    Ok((batches * batch_size * seq_len) as f64 / started.elapsed().as_secs_f64())
}

/// The same figure for the candle autograd path the fused one replaced (its threads come
/// from `RAYON_NUM_THREADS`).
pub fn candle_training_throughput(
    config: &ModelConfig,
    batch_size: usize,
    seq_len: usize,
    batches: usize,
) -> Result<f64, String> {
    let (model, varmap) = PhraseModel::init(config, 1).map_err(|e| e.to_string())?;
    let mut opt = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW {
            lr: 1e-3,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let batch = Tensor::from_vec(
        random_windows(config, batch_size, seq_len),
        (batch_size, seq_len + 1, config.frame_size()),
        &Device::Cpu,
    )
    .map_err(|e| e.to_string())?;
    for _ in 0..3 {
        candle_train_step(&model, &mut opt, &batch).map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    for _ in 0..batches {
        candle_train_step(&model, &mut opt, &batch).map_err(|e| e.to_string())?;
    }
    Ok((batches * batch_size * seq_len) as f64 / started.elapsed().as_secs_f64())
}

/// Trains on `train`, selects on `valid`. `on_epoch` sees each epoch's figures and, when the
/// epoch is the best so far, its tensors (to save a checkpoint).
pub fn train(
    train: &[PianoRoll],
    valid: &[PianoRoll],
    options: &TrainOptions,
    progress: &ProgressBar,
    on_epoch: impl FnMut(&EpochStats, Option<&HashMap<String, Tensor>>) -> Result<(), String>,
) -> Result<TrainResult, String> {
    train_until(
        train,
        valid,
        options,
        progress,
        &AtomicBool::new(false),
        on_epoch,
    )
}

/// [`train`], stopping early once `stop` is set (Ctrl-C): the batch under way finishes, the
/// epoch so far is evaluated like a whole one (and is the best if it beats the others), and
/// the result is marked `interrupted`.
pub fn train_until(
    train: &[PianoRoll],
    valid: &[PianoRoll],
    options: &TrainOptions,
    progress: &ProgressBar,
    stop: &AtomicBool,
    mut on_epoch: impl FnMut(&EpochStats, Option<&HashMap<String, Tensor>>) -> Result<(), String>,
) -> Result<TrainResult, String> {
    let cfg = &options.model;
    let seq = options.seq_len.max(1);
    // A window needs seq + 1 frames counting the silent first one.
    let windows: Vec<(usize, usize)> = train
        .iter()
        .enumerate()
        .flat_map(|(i, r)| (0..(r.len() + 1).saturating_sub(seq)).map(move |s| (i, s)))
        .collect();
    if windows.is_empty() {
        return Err(format!(
            "no training piece is longer than {seq} steps: nothing to train on"
        ));
    }
    let total_frames: usize = train.iter().map(PianoRoll::len).sum();
    let batches = (total_frames / (seq * options.batch_size)).max(1);
    let mut trainer = Stepper::new(options)?;
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(options.seed);
    let width = cfg.frame_size();
    let mut buf = vec![0.0f32; options.batch_size * (seq + 1) * width];
    let mut history: Vec<EpochStats> = Vec::new();
    let mut best: Option<(f64, usize, HashMap<String, Tensor>)> = None;
    let mut interrupted = false;
    progress.set_length((batches * options.epochs) as u64);
    let frames_per_batch = (options.batch_size * seq) as f64;

    for epoch in 1..=options.epochs {
        let started = Instant::now();
        let mut loss_sum = 0.0;
        let mut done = 0;
        for batch in 0..batches {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            for chunk in buf.chunks_exact_mut((seq + 1) * width) {
                let (piece, start) = windows[rng.random_range(0..windows.len())];
                let k = options.transpose_semitones.max(0);
                let shift = if k > 0 { rng.random_range(-k..=k) } else { 0 };
                if shift == 0 {
                    window_features(&train[piece], start, cfg, chunk);
                } else {
                    window_features(&transpose(&train[piece], shift), start, cfg, chunk);
                }
            }
            let loss = trainer.step(&buf, options.batch_size, seq)?;
            loss_sum += loss;
            done = batch + 1;
            progress.inc(1);
            let elapsed = started.elapsed().as_secs_f64().max(1e-9);
            let fps = done as f64 * frames_per_batch / elapsed;
            let epoch_eta = (batches - done) as f64 * elapsed / done as f64;
            // Later epochs take as long as the last whole one (training and evaluation), or
            // this one's training pace before one has finished.
            let per_epoch = history
                .last()
                .map_or(batches as f64 * elapsed / done as f64, |s| s.seconds);
            let run_eta = epoch_eta + (options.epochs - epoch) as f64 * per_epoch;
            progress.set_message(format!(
                "epoch {epoch}/{} loss {loss:.3}  {fps:.0} frames/s  ETA epoch {} run {}",
                options.epochs,
                clock(epoch_eta),
                clock(run_eta)
            ));
        }
        if done == 0 {
            break;
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let tensors = trainer.tensors()?;
        let fast = FastLstm::from_tensors(cfg, &tensors).map_err(|e| e.to_string())?;
        let held_out = if valid.is_empty() { train } else { valid };
        let metrics = evaluate(&fast, held_out);
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / done as f64,
            valid_loss: metrics.nll_nats_per_step,
            valid_frame_accuracy: metrics.frame_accuracy,
            valid_nats_per_quarter: None,
            frames_per_s: done as f64 * frames_per_batch / train_seconds,
            seconds: started.elapsed().as_secs_f64(),
        };
        let improved = best.as_ref().is_none_or(|b| stats.valid_loss < b.0);
        on_epoch(&stats, improved.then_some(&tensors))?;
        if improved {
            best = Some((stats.valid_loss, epoch, tensors));
        }
        history.push(stats);
        if interrupted || out_of_patience(&history, best.as_ref().map(|b| b.1), options) {
            break;
        }
    }
    let (_, best_epoch, tensors) =
        best.ok_or("stopped before the first batch finished: nothing to save")?;
    Ok(TrainResult {
        config: cfg.clone(),
        tensors,
        history,
        best_epoch,
        interrupted: interrupted || stop.load(Ordering::Relaxed),
    })
}

/// Whether `options.patience` epochs have passed since the best one.
pub(super) fn out_of_patience(
    history: &[EpochStats],
    best_epoch: Option<usize>,
    options: &TrainOptions,
) -> bool {
    let last = history.last().map_or(0, |s| s.epoch);
    options.patience > 0 && best_epoch.is_some_and(|b| last >= b + options.patience)
}

/// Seconds as `m:ss` or `h:mm:ss`.
pub(super) fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_reads_like_a_clock() {
        assert_eq!(super::clock(0.4), "0:00");
        assert_eq!(super::clock(75.0), "1:15");
        assert_eq!(super::clock(3725.0), "1:02:05");
    }
}
