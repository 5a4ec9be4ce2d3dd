//! The training loop, one for every model family: batches of random windows, AdamW, the
//! held-out loss each epoch, the best epoch kept, early stopping, Ctrl-C, progress with ETA.
//! What differs between families (how windows are drawn, the loss at the head, the
//! held-out figures) is a [`TrainingFamily`], which each family in `family` provides.

use super::error::{CheckpointResult, TrainError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Tensor;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::eval::Evaluation;
pub use super::family::{default_threads, TrainOptions, TrainingFamily};
use crate::infer::FastLstm;
use crate::meter::MeterMap;
use crate::model::ModelConfig;
use crate::roll::PianoRoll;

/// One epoch's figures, in the family's units (a frame model predicts frames, an event
/// model events).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches, nats per prediction.
    pub train_loss: f64,
    /// Held-out NLL, nats per prediction, whole pieces.
    pub valid_loss: f64,
    /// Frame models: held-out frame accuracy.
    pub valid_frame_accuracy: Option<f64>,
    /// Event models: held-out NLL per quarter note, the frame-equivalent figure.
    pub valid_nats_per_quarter: Option<f64>,
    /// Training speed: predictions (frames or events) per second.
    pub predictions_per_s: f64,
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

/// Pieces to train on and to select on, each with its time signature (event models hear
/// where bars and beats fall).
#[derive(Clone, Copy, Debug)]
pub struct TrainData<'a> {
    pub train: &'a [PianoRoll],
    pub train_meters: &'a [MeterMap],
    pub valid: &'a [PianoRoll],
    pub valid_meters: &'a [MeterMap],
}

impl<'a> TrainData<'a> {
    /// The pieces to select on: the valid ones, or the training ones when there are none.
    pub fn held_out(&self) -> (&'a [PianoRoll], &'a [MeterMap]) {
        if self.valid.is_empty() {
            (self.train, self.train_meters)
        } else {
            (self.valid, self.valid_meters)
        }
    }
}

/// The epochs of one run of `family`, each scored on held-out pieces by `evaluate`
/// (`family::train_until` sets it up for a model's family).
pub fn run_epochs(
    family: &mut dyn TrainingFamily,
    options: &TrainOptions,
    progress: &ProgressBar,
    stop: &AtomicBool,
    evaluate: impl Fn(&FastLstm) -> Evaluation,
    mut on_epoch: impl FnMut(&EpochStats, Option<&HashMap<String, Tensor>>) -> CheckpointResult,
) -> Result<TrainResult, TrainError> {
    let cfg = &options.model;
    let batches = family
        .batches_per_epoch()
        .max(options.min_batches_per_epoch);
    let mut rng = Pcg64Mcg::seed_from_u64(options.seed);
    let mut history: Vec<EpochStats> = Vec::new();
    let mut best: Option<(f64, usize, HashMap<String, Tensor>)> = None;
    let mut interrupted = false;
    progress.set_length((batches * options.epochs) as u64);
    for epoch in 1..=options.epochs {
        let started = Instant::now();
        let (mut loss_sum, mut done, mut seen) = (0.0, 0, 0usize);
        for batch in 0..batches {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            seen += family.draw_batch(&mut rng);
            let loss = family.step(&mut rng)?;
            loss_sum += loss;
            done = batch + 1;
            progress.inc(1);
            show_progress(
                progress,
                family.unit(),
                (epoch, options.epochs),
                (done, batches),
                seen,
                loss,
                started,
                &history,
            );
        }
        if done == 0 {
            break;
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let tensors = family.tensors()?;
        let fast = FastLstm::from_tensors(cfg, &tensors)?;
        let held_out = evaluate(&fast);
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / done as f64,
            valid_loss: held_out.nats_per_prediction(),
            valid_frame_accuracy: held_out.frame_accuracy,
            valid_nats_per_quarter: held_out
                .frame_accuracy
                .is_none()
                .then(|| held_out.nats_per_quarter()),
            predictions_per_s: seen as f64 / train_seconds,
            seconds: started.elapsed().as_secs_f64(),
        };
        let improved = best.as_ref().is_none_or(|b| stats.valid_loss < b.0);
        on_epoch(&stats, improved.then_some(&tensors)).map_err(TrainError::Checkpoint)?;
        if improved {
            best = Some((stats.valid_loss, epoch, tensors));
        }
        history.push(stats);
        if interrupted || out_of_patience(&history, best.as_ref().map(|b| b.1), options) {
            break;
        }
    }
    let (_, best_epoch, tensors) = best.ok_or(TrainError::NothingSaved)?;
    Ok(TrainResult {
        config: cfg.clone(),
        tensors,
        history,
        best_epoch,
        interrupted: interrupted || stop.load(Ordering::Relaxed),
    })
}

/// The progress line: loss, speed, and when the epoch and the run will end (later epochs
/// take as long as the last whole one, training and evaluation, or this one's training pace
/// before one has finished).
#[allow(clippy::too_many_arguments)]
fn show_progress(
    progress: &ProgressBar,
    unit: &str,
    (epoch, epochs): (usize, usize),
    (done, batches): (usize, usize),
    seen: usize,
    loss: f64,
    started: Instant,
    history: &[EpochStats],
) {
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let rate = seen as f64 / elapsed;
    let epoch_eta = (batches - done) as f64 * elapsed / done as f64;
    let per_epoch = history
        .last()
        .map_or(batches as f64 * elapsed / done as f64, |s| s.seconds);
    let run_eta = epoch_eta + (epochs - epoch) as f64 * per_epoch;
    progress.set_message(format!(
        "epoch {epoch}/{epochs} loss {loss:.3}  {rate:.0} {unit}/s  ETA epoch {} run {}",
        clock(epoch_eta),
        clock(run_eta)
    ));
}

/// Whether `options.patience` epochs have passed since the best one.
fn out_of_patience(
    history: &[EpochStats],
    best_epoch: Option<usize>,
    options: &TrainOptions,
) -> bool {
    let last = history.last().map_or(0, |s| s.epoch);
    options.patience > 0 && best_epoch.is_some_and(|b| last >= b + options.patience)
}

/// Seconds as `m:ss` or `h:mm:ss`.
fn clock(seconds: f64) -> String {
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
