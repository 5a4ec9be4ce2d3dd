//! Training the frame family (the prototype's, v1): random windows of piano-roll frames,
//! each frame predicting the next, binary cross-entropy per output. Batches run on the fused
//! trainer; candle's autograd is kept selectable (`--engine candle`) as the source of truth
//! and for the speed comparison of `phrasegen bench` with the PyTorch reference, which is
//! this family's network.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::family::fused_trainer_for;
use crate::model::lstm::bce_nats_per_step;
use crate::model::{ModelConfig, PhraseModel};
use crate::roll::PianoRoll;
use crate::train::dataset::transpose;
use crate::train::fused_model::FusedPhraseModel;
use crate::train::fused_trainer::{split_windows, FusedTrainer, Targets};
use crate::train::{TrainEngine, TrainError, TrainOptions, TrainingFamily};

/// A frame model in training: its pieces, the window starts, and the batch being drawn.
pub struct FrameTraining<'a> {
    train: &'a [PianoRoll],
    options: TrainOptions,
    seq: usize,
    /// (piece, first frame) of every whole window.
    windows: Vec<(usize, usize)>,
    batches: usize,
    /// `[batch, seq + 1, F]`: frames `0..seq` predict `1..=seq`.
    buf: Vec<f32>,
    stepper: Stepper,
}

impl<'a> FrameTraining<'a> {
    pub fn new(train: &'a [PianoRoll], options: &TrainOptions) -> Result<Self, TrainError> {
        let seq = options.seq_len.max(1);
        // A window needs seq + 1 frames counting the silent first one.
        let windows: Vec<(usize, usize)> = train
            .iter()
            .enumerate()
            .flat_map(|(i, r)| (0..(r.len() + 1).saturating_sub(seq)).map(move |s| (i, s)))
            .collect();
        if windows.is_empty() {
            return Err(TrainError::NoData(format!(
                "no training piece is longer than {seq} steps"
            )));
        }
        let total_frames: usize = train.iter().map(PianoRoll::len).sum();
        Ok(Self {
            train,
            options: options.clone(),
            seq,
            windows,
            batches: (total_frames / (seq * options.batch_size)).max(1),
            buf: vec![0.0f32; options.batch_size * (seq + 1) * options.model.frame_size()],
            stepper: Stepper::new(options)?,
        })
    }
}

impl TrainingFamily for FrameTraining<'_> {
    fn unit(&self) -> &'static str {
        "frames"
    }

    fn batches_per_epoch(&self) -> usize {
        self.batches
    }

    fn draw_batch(&mut self, rng: &mut Pcg64Mcg) -> usize {
        let (cfg, seq) = (&self.options.model, self.seq);
        let width = cfg.frame_size();
        for chunk in self.buf.chunks_exact_mut((seq + 1) * width) {
            let (piece, start) = self.windows[rng.random_range(0..self.windows.len())];
            let k = self.options.transpose_semitones.max(0);
            let shift = if k > 0 { rng.random_range(-k..=k) } else { 0 };
            if shift == 0 {
                window_features(&self.train[piece], start, cfg, chunk);
            } else {
                window_features(&transpose(&self.train[piece], shift), start, cfg, chunk);
            }
        }
        self.options.batch_size * seq
    }

    fn step(&mut self, rng: &mut Pcg64Mcg) -> Result<f64, TrainError> {
        // The dropout seed is drawn only when there is dropout, so runs without it draw
        // the same windows as before dropout existed for this family.
        let seed = if self.options.dropout > 0.0 {
            rng.random()
        } else {
            0
        };
        self.stepper
            .step(&self.buf, self.options.batch_size, self.seq, seed)
    }

    fn tensors(&self) -> Result<HashMap<String, Tensor>, TrainError> {
        self.stepper.tensors()
    }
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
    fn new(options: &TrainOptions) -> Result<Self, TrainError> {
        Ok(match options.engine {
            TrainEngine::Fused => Self::Fused(Box::new(fused_trainer_for(options)?)),
            TrainEngine::Candle => {
                let (model, varmap) = PhraseModel::init(&options.model, options.seed)?;
                let opt = adamw(&varmap, options.learning_rate, options.weight_decay)?;
                Self::Candle(Box::new(CandleStepper { model, varmap, opt }))
            }
        })
    }

    /// One step on `windows` `[batch, seq + 1, width]`; the loss before it.
    fn step(
        &mut self,
        windows: &[f32],
        batch: usize,
        seq: usize,
        seed: u64,
    ) -> Result<f64, TrainError> {
        match self {
            Self::Fused(t) => {
                let width = t.model().config.frame_size();
                let (inputs, targets) = split_windows(windows, batch, seq, width);
                Ok(t.step(&inputs, Targets::Frames(&targets), batch, seq, seed))
            }
            Self::Candle(c) => {
                let CandleStepper { model, opt, .. } = &mut **c;
                let width = model.config.frame_size();
                let all = Tensor::from_slice(windows, (batch, seq + 1, width), &Device::Cpu)?;
                candle_train_step(model, opt, &all).map_err(TrainError::from)
            }
        }
    }

    /// The current weights (a copy).
    fn tensors(&self) -> Result<HashMap<String, Tensor>, TrainError> {
        match self {
            Self::Fused(t) => t.model().to_tensors().map_err(TrainError::from),
            Self::Candle(c) => {
                let vars = c
                    .varmap
                    .data()
                    .lock()
                    .map_err(|_| TrainError::Checkpoint("variable map lock poisoned".into()))?;
                vars.iter()
                    .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
                    .collect()
            }
        }
    }
}

/// Candle's AdamW over every variable of `varmap`.
fn adamw(varmap: &candle_nn::VarMap, lr: f64, weight_decay: f64) -> candle_core::Result<AdamW> {
    let params = ParamsAdamW {
        lr,
        weight_decay,
        ..ParamsAdamW::default()
    };
    AdamW::new(varmap.all_vars(), params)
}

/// Predictions per second of `step` on batches of `batch_size x seq_len`: `batches` timed
/// steps after 3 warm-up steps.
fn steps_per_s<E>(
    batches: usize,
    batch_size: usize,
    seq_len: usize,
    mut step: impl FnMut() -> Result<(), E>,
) -> Result<f64, E> {
    for _ in 0..3 {
        step()?;
    }
    let started = Instant::now();
    for _ in 0..batches {
        step()?;
    }
    Ok((batches * batch_size * seq_len) as f64 / started.elapsed().as_secs_f64())
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
) -> Result<f64, TrainError> {
    let tensors = PhraseModel::init_tensors(config, 1)?;
    let model = FusedPhraseModel::from_tensors(config, &tensors)?;
    let mut trainer = FusedTrainer::new(model, 1e-3, 0.0, 0.0, threads);
    let data = random_windows(config, batch_size, seq_len);
    let width = config.frame_size();
    let (inputs, targets) = split_windows(&data, batch_size, seq_len, width);
    let targets = Targets::Frames(&targets);
    steps_per_s(batches, batch_size, seq_len, || {
        trainer.step(&inputs, targets, batch_size, seq_len, 0);
        Ok::<_, TrainError>(())
    })
}

/// The same figure for the candle autograd path the fused one replaced (its threads come
/// from `RAYON_NUM_THREADS`).
pub fn candle_training_throughput(
    config: &ModelConfig,
    batch_size: usize,
    seq_len: usize,
    batches: usize,
) -> Result<f64, TrainError> {
    let (model, varmap) = PhraseModel::init(config, 1)?;
    let mut opt = adamw(&varmap, 1e-3, 0.0)?;
    let batch = Tensor::from_vec(
        random_windows(config, batch_size, seq_len),
        (batch_size, seq_len + 1, config.frame_size()),
        &Device::Cpu,
    )?;
    steps_per_s(batches, batch_size, seq_len, || {
        candle_train_step(&model, &mut opt, &batch).map(drop)
    })
    .map_err(TrainError::from)
}
