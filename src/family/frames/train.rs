//! Training the frame family (the prototype's, v1): random windows of piano-roll frames,
//! each frame predicting the next, binary cross-entropy per output. Batches run on the fused
//! trainer (candle's autograd, its source of truth, is in `tests/fused_training.rs`); this
//! family's network is the PyTorch reference's, hence `phrasegen bench`'s training figure.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::family::fused_trainer_for;
use crate::model::{ModelConfig, PhraseModel};
use crate::roll::PianoRoll;
use crate::train::dataset::transpose;
use crate::train::fused_model::FusedPhraseModel;
use crate::train::fused_trainer::{split_windows, FusedTrainer, Targets};
use crate::train::{TrainError, TrainOptions, TrainingFamily};

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
    trainer: FusedTrainer,
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
            trainer: fused_trainer_for(options)?,
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
        let (batch, seq) = (self.options.batch_size, self.seq);
        let width = self.options.model.frame_size();
        let (inputs, targets) = split_windows(&self.buf, batch, seq, width);
        Ok(self
            .trainer
            .step(&inputs, Targets::Frames(&targets), batch, seq, seed))
    }

    fn tensors(&self) -> Result<HashMap<String, Tensor>, TrainError> {
        Ok(self.trainer.model().to_tensors()?)
    }
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
    let mut step = || trainer.step(&inputs, Targets::Frames(&targets), batch_size, seq_len, 0);
    for _ in 0..3 {
        step();
    }
    let started = Instant::now();
    for _ in 0..batches {
        step();
    }
    Ok((batches * batch_size * seq_len) as f64 / started.elapsed().as_secs_f64())
}
