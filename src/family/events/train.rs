//! Training the event family (v2): random windows of event tokens, each predicting the
//! next, softmax cross-entropy over the vocabulary, dropout.
//!
//! Pieces are reduced to the model's range and voices before encoding (`event_piece`)
//! and encoded with their own time signature, so the network learns where bars and beats
//! fall.

use std::collections::HashMap;

use candle_core::Tensor;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::event_piece;
use crate::events::{encode_piece, EventCodec, EventContext};
use crate::family::fused_trainer_for;
use crate::meter::MeterMap;
use crate::model::ModelConfig;
use crate::roll::PianoRoll;
use crate::train::dataset::transpose;
use crate::train::fused_trainer::{FusedTrainer, Targets, PAD};
use crate::train::{TrainError, TrainOptions, TrainingFamily};

/// A piece's tokens, each with the context the network sees before it.
type Tokens = Vec<(EventContext, usize)>;

/// An event model in training: its encoded pieces, the window starts, and the batch being
/// drawn. `options.seq_len` is the window in tokens.
pub struct EventTraining<'a> {
    train: &'a [PianoRoll],
    meters: &'a [MeterMap],
    options: TrainOptions,
    codec: EventCodec,
    seq: usize,
    pieces: Vec<Tokens>,
    /// (piece, first token) of every whole window; a piece shorter than a window gives
    /// one, padded.
    windows: Vec<(usize, usize)>,
    batches: usize,
    /// `[batch, seq, input_size]` and `[batch, seq]`.
    inputs: Vec<f32>,
    targets: Vec<u32>,
    trainer: FusedTrainer,
}

/// A piece as the model hears it, with its own bar lines.
fn encode(codec: &EventCodec, cfg: &ModelConfig, roll: &PianoRoll, meters: &MeterMap) -> Tokens {
    encode_piece(codec, &event_piece(cfg, roll), meters)
}

impl<'a> EventTraining<'a> {
    pub fn new(
        train: &'a [PianoRoll],
        meters: &'a [MeterMap],
        options: &TrainOptions,
    ) -> Result<Self, TrainError> {
        let cfg = &options.model;
        let codec = EventCodec::new(cfg);
        let seq = options.seq_len.max(1);
        let pieces: Vec<Tokens> = train
            .iter()
            .zip(meters)
            .map(|(r, m)| encode(&codec, cfg, r, m))
            .collect();
        let windows: Vec<(usize, usize)> = pieces
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .flat_map(|(i, p)| (0..(p.len() + 1).saturating_sub(seq).max(1)).map(move |s| (i, s)))
            .collect();
        if windows.is_empty() {
            return Err(TrainError::NoData(
                "the training pieces have no events".into(),
            ));
        }
        let total_tokens: usize = pieces.iter().map(Vec::len).sum();
        Ok(Self {
            train,
            meters,
            options: options.clone(),
            codec,
            seq,
            pieces,
            windows,
            batches: (total_tokens / (seq * options.batch_size)).max(1),
            inputs: vec![0.0f32; options.batch_size * seq * cfg.input_size()],
            targets: vec![PAD; options.batch_size * seq],
            trainer: fused_trainer_for(options)?,
        })
    }
}

/// Writes one window of a batch (`inputs` `[seq, width]`, `targets` `[seq]`) from `tokens`
/// starting at `start`, padded past the piece's end; returns the events it holds.
fn write_window(
    codec: &EventCodec,
    (tokens, start): (&Tokens, usize),
    inputs: &mut [f32],
    targets: &mut [u32],
) -> usize {
    let seq = targets.len();
    // Transposition can drop notes off the range: the window stays inside.
    let start = start.min(tokens.len().saturating_sub(seq));
    let window = &tokens[start.min(tokens.len())..(start + seq).min(tokens.len())];
    let rows = inputs.chunks_exact_mut(inputs.len() / seq.max(1));
    for ((row, target), event) in rows
        .zip(targets.iter_mut())
        .zip(window.iter().map(Some).chain(std::iter::repeat(None)))
    {
        match event {
            Some((ctx, token)) => {
                codec.write_input(ctx, row);
                *target = *token as u32;
            }
            None => {
                row.fill(0.0);
                *target = PAD;
            }
        }
    }
    window.len()
}

impl TrainingFamily for EventTraining<'_> {
    fn unit(&self) -> &'static str {
        "events"
    }

    fn batches_per_epoch(&self) -> usize {
        self.batches
    }

    fn draw_batch(&mut self, rng: &mut Pcg64Mcg) -> usize {
        let mut seen = 0;
        for b in 0..self.options.batch_size {
            let (piece, start) = self.windows[rng.random_range(0..self.windows.len())];
            let k = self.options.transpose_semitones.max(0);
            let shift = if k > 0 { rng.random_range(-k..=k) } else { 0 };
            let meters = &self.meters[piece];
            let transposed;
            let tokens = if shift == 0 {
                &self.pieces[piece]
            } else {
                let roll = transpose(&self.train[piece], shift);
                transposed = encode(&self.codec, &self.options.model, &roll, meters);
                &transposed
            };
            let width = self.inputs.len() / self.options.batch_size;
            seen += write_window(
                &self.codec,
                (tokens, start),
                &mut self.inputs[b * width..(b + 1) * width],
                &mut self.targets[b * self.seq..(b + 1) * self.seq],
            );
        }
        seen
    }

    fn step(&mut self, rng: &mut Pcg64Mcg) -> Result<f64, TrainError> {
        let (batch, seq) = (self.options.batch_size, self.seq);
        let targets = Targets::Tokens(&self.targets);
        Ok(self
            .trainer
            .step(&self.inputs, targets, batch, seq, rng.random()))
    }

    fn tensors(&self) -> Result<HashMap<String, Tensor>, TrainError> {
        self.trainer.model().to_tensors().map_err(TrainError::from)
    }
}
