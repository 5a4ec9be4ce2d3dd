//! The published metrics, computed on whole pieces with the fast engine: one evaluator for
//! every model family ([`evaluate`]), each family scoring its own predictions.
//!
//! - Negative log-likelihood: frame models, the sum over outputs of the binary
//!   cross-entropy per time step (Boulanger-Lewandowski et al., ICML 2012); event models,
//!   the softmax cross-entropy of each event over the events the grammar allows (as the
//!   sampler draws them). Both are reported per prediction, per grid step and per quarter
//!   note (the frame-equivalent figure on the JSB benchmarks' grid).
//! - Frame models also: frame-level accuracy TP / (TP + FP + FN) over all frames, a pitch
//!   predicted active when its probability exceeds 0.5 (Bay, Ehmann and Downie, ISMIR 2009).
//!   Only the active plane counts, so models with and without onsets compare.

use crate::events::{encode_piece, EventCodec};
use crate::infer::FastLstm;
use crate::model::Architecture;
use crate::phrase::TimeSignature;
use crate::roll::PianoRoll;

use super::dataset::piece_features;

/// `-log p(y)` for a Bernoulli with logit `z`, stable for large |z|.
pub fn bce_with_logit(z: f32, y: f32) -> f64 {
    let z = f64::from(z);
    z.max(0.0) - z * f64::from(y) + (-z.abs()).exp().ln_1p()
}

/// Evaluates a model on whole pieces (`meters[i]` is piece `i`'s time signature, which
/// event models hear), each from its start, predicting everything. With nothing to predict
/// `predictions` is 0 and the figures are 0, which callers must report as an error rather
/// than as a result.
pub fn evaluate(model: &FastLstm, pieces: &[PianoRoll], meters: &[TimeSignature]) -> Evaluation {
    assert_eq!(pieces.len(), meters.len(), "a time signature per piece");
    match model.config.architecture {
        Architecture::Frame => evaluate_frames(model, pieces),
        Architecture::Events { max_voices } => evaluate_events(model, pieces, meters, max_voices),
    }
}

/// Frame models: each piece from silence, predicting every frame.
fn evaluate_frames(model: &FastLstm, pieces: &[PianoRoll]) -> Evaluation {
    let cfg = &model.config;
    let (range, repr) = (cfg.pitch_range, cfg.representation);
    let width = model.frame_size();
    let n = range.len();
    let (mut nll, mut frames) = (0.0f64, 0usize);
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for roll in pieces {
        let feats = piece_features(roll, range, repr);
        let mut state = model.state(1);
        for t in 0..roll.len() {
            model.step(&feats[t * width..(t + 1) * width], &mut state);
            let target = &feats[(t + 1) * width..(t + 2) * width];
            for (k, (&z, &y)) in state.logits.iter().zip(target).enumerate() {
                nll += bce_with_logit(z, y);
                if k < n {
                    match (z > 0.0, y > 0.5) {
                        (true, true) => tp += 1,
                        (true, false) => fp += 1,
                        (false, true) => fn_ += 1,
                        (false, false) => {}
                    }
                }
            }
            frames += 1;
        }
    }
    let denom = (tp + fp + fn_) as f64;
    Evaluation {
        nll_nats: nll,
        predictions: frames,
        steps: frames,
        quarters: frames as f64 / f64::from(cfg.steps_per_quarter.max(1)),
        frame_accuracy: Some(if denom > 0.0 { tp as f64 / denom } else { 0.0 }),
        dropped_note_steps: 0,
    }
}

/// Held-out figures of a model, in its family's units.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Total negative log-likelihood of the pieces, nats.
    pub nll_nats: f64,
    /// What was predicted: frames (frame models) or events, step ends included (event
    /// models).
    pub predictions: usize,
    /// Grid steps of the pieces.
    pub steps: usize,
    /// Quarter notes of the pieces (steps / steps per quarter).
    pub quarters: f64,
    /// Frame models: frame-level accuracy.
    pub frame_accuracy: Option<f64>,
    /// Event models: notes left out because more than the model's voices sounded at once
    /// (the top voices are kept), counted at each step they sound.
    pub dropped_note_steps: usize,
}

impl Evaluation {
    /// Nats per frame (frame models) or per event (event models).
    pub fn nats_per_prediction(&self) -> f64 {
        if self.predictions > 0 {
            self.nll_nats / self.predictions as f64
        } else {
            0.0
        }
    }

    pub fn nats_per_step(&self) -> f64 {
        self.nll_nats / self.steps.max(1) as f64
    }

    /// The frame-equivalent figure on a one-step-per-quarter grid (the JSB benchmarks').
    pub fn nats_per_quarter(&self) -> f64 {
        if self.quarters > 0.0 {
            self.nll_nats / self.quarters
        } else {
            0.0
        }
    }
}

/// Pieces evaluated together by the fast engine.
const EVAL_BATCH: usize = 16;

/// A piece as an event model sees it: pitches outside its range removed, then at most its
/// voices kept (the top ones).
pub fn event_piece(model: &crate::model::ModelConfig, roll: &PianoRoll) -> PianoRoll {
    let mask = crate::roll::pitch_span_mask(model.pitch_range.lo, model.pitch_range.hi);
    let in_range = PianoRoll {
        active: roll.active.iter().map(|f| f & mask).collect(),
        onset: roll.onset.iter().map(|f| f & mask).collect(),
    };
    match model.architecture {
        crate::model::Architecture::Events { max_voices } => {
            crate::events::limit_voices(&in_range, max_voices)
        }
        crate::model::Architecture::Frame => in_range,
    }
}

/// Event models: every event of each piece from the start. Each event's probability is the
/// softmax over the events the grammar allows at that point (as the sampler draws them), in
/// f64.
fn evaluate_events(
    model: &FastLstm,
    pieces: &[PianoRoll],
    meters: &[TimeSignature],
    max_voices: u8,
) -> Evaluation {
    let cfg = &model.config;
    let codec = EventCodec::new(cfg);
    let (width, vocab) = (model.input_size(), model.output_size());
    let mut m = Evaluation::default();
    let mut input = Vec::new();
    for (chunk, chunk_meters) in pieces.chunks(EVAL_BATCH).zip(meters.chunks(EVAL_BATCH)) {
        let encoded: Vec<_> = chunk
            .iter()
            .zip(chunk_meters)
            .map(|(roll, &meter)| {
                let kept = event_piece(cfg, roll);
                let mask = crate::roll::pitch_span_mask(cfg.pitch_range.lo, cfg.pitch_range.hi);
                m.dropped_note_steps += roll
                    .active
                    .iter()
                    .zip(&kept.active)
                    .map(|(a, k)| ((a & mask) & !k).count_ones() as usize)
                    .sum::<usize>();
                m.steps += roll.len();
                encode_piece(&codec, &kept, meter)
            })
            .collect();
        let batch = chunk.len();
        let longest = encoded.iter().map(Vec::len).max().unwrap_or(0);
        let mut state = model.state(batch);
        input.clear();
        input.resize(batch * width, 0.0);
        for t in 0..longest {
            for (b, tokens) in encoded.iter().enumerate() {
                let row = &mut input[b * width..(b + 1) * width];
                match tokens.get(t) {
                    Some((ctx, _)) => codec.write_input(ctx, chunk_meters[b], row),
                    None => row.fill(0.0),
                }
            }
            model.step(&input, &mut state);
            for (b, tokens) in encoded.iter().enumerate() {
                let Some((ctx, target)) = tokens.get(t) else {
                    continue;
                };
                let logits = &state.logits[b * vocab..(b + 1) * vocab];
                m.nll_nats += allowed_nll(&codec, ctx, *target, max_voices, logits);
                m.predictions += 1;
            }
        }
    }
    m.quarters = m.steps as f64 / f64::from(cfg.steps_per_quarter.max(1));
    m
}

/// `-ln p(target)` under the softmax of `logits` over the tokens the grammar allows in
/// `ctx`, in f64. A target the grammar forbids (never, for encoded pieces) is scored
/// against the allowed tokens and itself.
pub fn allowed_nll(
    codec: &crate::events::EventCodec,
    ctx: &crate::events::EventContext,
    target: usize,
    max_voices: u8,
    logits: &[f32],
) -> f64 {
    let allowed = |k: usize| k == target || codec.allows(ctx, k, max_voices);
    let max = (0..logits.len())
        .filter(|&k| allowed(k))
        .map(|k| f64::from(logits[k]))
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = (0..logits.len())
        .filter(|&k| allowed(k))
        .map(|k| (f64::from(logits[k]) - max).exp())
        .sum();
    max + sum.ln() - f64::from(logits[target])
}
