//! What a model family must provide to be trained (see `trainer` for the loop that drives
//! it) and the settings every family shares.

use super::error::TrainError;
use std::collections::HashMap;
use std::sync::Arc;

use candle_core::Tensor;
use rand_pcg::Pcg64Mcg;

use crate::model::ModelConfig;

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
    /// AdamW's decoupled weight decay (0 = plain Adam, the prototype's).
    pub weight_decay: f64,
    /// Inverted dropout rate between LSTM layers and before the output layer (event models
    /// only; 0 = off).
    pub dropout: f32,
    /// Stop after this many epochs without a better held-out loss (0 = run every epoch).
    /// The best epoch is what is kept either way.
    pub patience: usize,
    /// An epoch is at least this many batches (1 = one pass over the data). Windows are
    /// drawn at random, so a folder of ten short clips still gets enough steps between two
    /// held-out checks for early stopping to mean something.
    pub min_batches_per_epoch: usize,
    /// Weights to start from instead of random ones (fine-tuning). They
    /// must fit `model`: same family, shape and vocabulary.
    pub start: Option<StartWeights>,
}

/// A model's weights as the start of a run (shared: options are cloned per run).
#[derive(Clone, Debug)]
pub struct StartWeights(pub Arc<HashMap<String, Tensor>>);

impl PartialEq for StartWeights {
    /// The same weights, not equal numbers: options compare without reading tensors.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl TrainOptions {
    /// The weights the run starts from: the given ones, else seeded random ones.
    pub fn initial_tensors(&self) -> Result<HashMap<String, Tensor>, TrainError> {
        Ok(match &self.start {
            Some(w) => (*w.0).clone(),
            None => crate::model::PhraseModel::init_tensors(&self.model, self.seed)?,
        })
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
            weight_decay: 0.0,
            dropout: 0.0,
            patience: 0,
            min_batches_per_epoch: 1,
            start: None,
        }
    }
}

/// All cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What differs between model families in training; the loop, checkpoints, early stopping,
/// Ctrl-C and progress are `trainer::run_epochs`'s, once for all; each family in
/// `family` provides one.
pub trait TrainingFamily {
    /// What the model predicts, for progress and speed ("frames", "events").
    fn unit(&self) -> &'static str;
    /// Batches in one epoch.
    fn batches_per_epoch(&self) -> usize;
    /// Draws the next batch's windows from `rng`; returns the predictions it holds.
    fn draw_batch(&mut self, rng: &mut Pcg64Mcg) -> usize;
    /// One optimizer step on the batch drawn last (`rng` for its dropout); the loss
    /// before the step, nats per prediction.
    fn step(&mut self, rng: &mut Pcg64Mcg) -> Result<f64, TrainError>;
    /// The current weights (a copy).
    fn tensors(&self) -> Result<HashMap<String, Tensor>, TrainError>;
}
