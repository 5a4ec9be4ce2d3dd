//! The training loop of event models: random windows of event tokens, AdamW with dropout,
//! the held-out NLL (grammar-renormalised, as sampling draws) each epoch, the best epoch
//! kept, early stopping.
//!
//! Pieces are reduced to the model's range and voices before encoding (`eval::event_piece`)
//! and encoded with their own time signature, so the network learns where bars and beats
//! fall.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Tensor;
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};

use super::dataset::transpose;
use super::eval::{evaluate_events, event_piece};
use super::fused_events::{FusedEventTrainer, PAD};
use super::fused_model::FusedPhraseModel;
use super::trainer::{clock, out_of_patience, EpochStats, TrainOptions, TrainResult};
use crate::events::{encode_piece, EventCodec, EventContext};
use crate::infer::FastLstm;
use crate::model::{Architecture, PhraseModel};
use crate::phrase::TimeSignature;
use crate::roll::PianoRoll;

/// A piece's tokens, each with the context the network sees before it.
type Tokens = Vec<(EventContext, usize)>;

/// Trains an event model on `train` (piece `i` in time signature `train_meters[i]`),
/// selects on `valid`; stops early once `stop` is set (Ctrl-C) as
/// [`super::trainer::train_until`] does. `options.seq_len` is the window in tokens.
#[allow(clippy::too_many_arguments)]
pub fn train_events_until(
    train: &[PianoRoll],
    train_meters: &[TimeSignature],
    valid: &[PianoRoll],
    valid_meters: &[TimeSignature],
    options: &TrainOptions,
    progress: &ProgressBar,
    stop: &AtomicBool,
    mut on_epoch: impl FnMut(&EpochStats, Option<&HashMap<String, Tensor>>) -> Result<(), String>,
) -> Result<TrainResult, String> {
    let cfg = &options.model;
    if !matches!(cfg.architecture, Architecture::Events { .. }) {
        return Err("train_events_until needs an event model".into());
    }
    if !(0.0..1.0).contains(&options.dropout) {
        return Err(format!(
            "dropout {} is not a rate in 0..1 (0 = off)",
            options.dropout
        ));
    }
    let codec = EventCodec::new(cfg);
    let seq = options.seq_len.max(1);
    let encode = |roll: &PianoRoll, meter: TimeSignature| -> Tokens {
        encode_piece(&codec, &event_piece(cfg, roll), meter)
    };
    let pieces: Vec<Tokens> = train
        .iter()
        .zip(train_meters)
        .map(|(r, &m)| encode(r, m))
        .collect();
    // Every start of a whole window; a piece shorter than a window gives one, padded.
    let windows: Vec<(usize, usize)> = pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .flat_map(|(i, p)| (0..(p.len() + 1).saturating_sub(seq).max(1)).map(move |s| (i, s)))
        .collect();
    if windows.is_empty() {
        return Err("the training pieces have no events: nothing to train on".into());
    }
    let total_tokens: usize = pieces.iter().map(Vec::len).sum();
    let batches = (total_tokens / (seq * options.batch_size)).max(1);
    let tensors = PhraseModel::init_tensors(cfg, options.seed).map_err(|e| e.to_string())?;
    let model = FusedPhraseModel::from_tensors(cfg, &tensors).map_err(|e| e.to_string())?;
    let mut trainer = FusedEventTrainer::new(
        model,
        options.learning_rate,
        options.weight_decay,
        options.dropout,
        options.threads,
    );
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(options.seed);
    let width = cfg.input_size();
    let mut inputs = vec![0.0f32; options.batch_size * seq * width];
    let mut targets = vec![PAD; options.batch_size * seq];
    let mut history: Vec<EpochStats> = Vec::new();
    let mut best: Option<(f64, usize, HashMap<String, Tensor>)> = None;
    let mut interrupted = false;
    progress.set_length((batches * options.epochs) as u64);
    let (held_out, held_out_meters) = if valid.is_empty() {
        (train, train_meters)
    } else {
        (valid, valid_meters)
    };

    for epoch in 1..=options.epochs {
        let started = Instant::now();
        let (mut loss_sum, mut done, mut events_seen) = (0.0, 0, 0usize);
        for batch in 0..batches {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            for b in 0..options.batch_size {
                let (piece, start) = windows[rng.random_range(0..windows.len())];
                let k = options.transpose_semitones.max(0);
                let shift = if k > 0 { rng.random_range(-k..=k) } else { 0 };
                let shifted;
                let tokens = if shift == 0 {
                    &pieces[piece]
                } else {
                    shifted = encode(&transpose(&train[piece], shift), train_meters[piece]);
                    &shifted
                };
                // Transposition can drop notes off the range: the window stays inside.
                let start = start.min(tokens.len().saturating_sub(seq));
                let window = &tokens[start.min(tokens.len())..(start + seq).min(tokens.len())];
                let rows = inputs[b * seq * width..(b + 1) * seq * width].chunks_exact_mut(width);
                for (t, row) in rows.enumerate() {
                    match window.get(t) {
                        Some((ctx, token)) => {
                            codec.write_input(ctx, train_meters[piece], row);
                            targets[b * seq + t] = *token as u32;
                        }
                        None => {
                            row.fill(0.0);
                            targets[b * seq + t] = PAD;
                        }
                    }
                }
                events_seen += window.len();
            }
            let loss = trainer.step(&inputs, &targets, options.batch_size, seq, rng.random());
            loss_sum += loss;
            done = batch + 1;
            progress.inc(1);
            let elapsed = started.elapsed().as_secs_f64().max(1e-9);
            let rate = events_seen as f64 / elapsed;
            let epoch_eta = (batches - done) as f64 * elapsed / done as f64;
            let per_epoch = history
                .last()
                .map_or(batches as f64 * elapsed / done as f64, |s| s.seconds);
            let run_eta = epoch_eta + (options.epochs - epoch) as f64 * per_epoch;
            progress.set_message(format!(
                "epoch {epoch}/{} loss {loss:.3}  {rate:.0} events/s  ETA epoch {} run {}",
                options.epochs,
                clock(epoch_eta),
                clock(run_eta)
            ));
        }
        if done == 0 {
            break;
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let tensors = trainer.model().to_tensors().map_err(|e| e.to_string())?;
        let fast = FastLstm::from_tensors(cfg, &tensors).map_err(|e| e.to_string())?;
        let metrics = evaluate_events(&fast, held_out, held_out_meters);
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / done as f64,
            valid_loss: metrics.nats_per_event(),
            valid_frame_accuracy: f64::NAN,
            valid_nats_per_quarter: Some(metrics.nats_per_quarter()),
            frames_per_s: events_seen as f64 / train_seconds,
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
