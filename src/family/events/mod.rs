//! Model v2: one event token per LSTM step (note-off, note-on, step end; see `events` for
//! the vocabulary and what the input says besides), a softmax over the events, so the notes
//! of a step are drawn one after another, each conditioned on those before it.

pub mod live;
pub mod live_line;
pub mod live_stream;
mod sample;
mod train;

use crate::events::{encode_piece, limit_voices, EventCodec, EventContext};
use crate::infer::{FastLstm, Precision};
use crate::meter::MeterMap;
use crate::model::{Architecture, ModelConfig};
use crate::phrase::Phrase;
use crate::roll::{pitch_span_mask, PianoRoll, PitchSet};
use crate::sample::GenerateParams;
use crate::train::{Evaluation, TrainData, TrainError, TrainOptions, TrainingFamily};

use super::ModelFamily;

/// The models whose phrases are drawn in int8 steps; the others step in f32, and every
/// model's repeat trials in int8 (`sample::repeats`). Measured per model (docs/PERFORMANCE.md,
/// "Every step in int8"): both built-in models score held-out music in int8 as in f32 (NLL
/// per event 0.6078 against 0.6080 for the chorales, 0.2695 both for the tunes: `phrasegen
/// eval --precision`), and a one-sequence step reads 0.8 MB from L2 instead of 2 MB from L3.
/// But the classifier test tells the int8 chorales from Bach's a little more often (500
/// phrases: 77.1% / 75.4% against 75.5% / 72.1%), and they meet their cost targets in f32;
/// the tunes measure the same in both (71.2% / 80.1% against 71.2% / 79.2%) and need int8
/// to meet theirs.
const INT8_MODELS: &[&str] = &["fiddle-tunes"];

/// What `config`'s phrases are drawn in.
pub(crate) fn step_precision(config: &ModelConfig) -> Precision {
    if INT8_MODELS.contains(&config.name.as_str()) {
        Precision::Int8
    } else {
        Precision::F32
    }
}

/// The event family.
pub struct Events;

impl ModelFamily for Events {
    fn train_flags(&self, architecture: Architecture) -> String {
        let voices = architecture.max_voices().unwrap_or(1);
        format!("events --max-voices {voices}")
    }

    fn write_phrases(
        &self,
        model: &FastLstm,
        params: &GenerateParams,
        count: usize,
        allowed: PitchSet,
    ) -> Vec<Phrase> {
        sample::generate(model, params, count, allowed, voices(&model.config).max(1))
    }

    /// Every event of each piece from the start. Each event's probability is the softmax
    /// over the events the grammar allows at that point (as the sampler draws them), in f64.
    fn evaluate(
        &self,
        model: &FastLstm,
        pieces: &[PianoRoll],
        meters: &[MeterMap],
        precision: Precision,
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
                .map(|(roll, meters)| {
                    let kept = event_piece(cfg, roll);
                    let mask = pitch_span_mask(cfg.pitch_range.lo, cfg.pitch_range.hi);
                    m.dropped_note_steps += roll
                        .active
                        .iter()
                        .zip(&kept.active)
                        .map(|(a, k)| ((a & mask) & !k).count_ones() as usize)
                        .sum::<usize>();
                    m.steps += roll.len();
                    encode_piece(&codec, &kept, meters)
                })
                .collect();
            let batch = chunk.len();
            let longest = encoded.iter().map(Vec::len).max().unwrap_or(0);
            let mut state = model.state_in(batch, precision);
            input.clear();
            input.resize(batch * width, 0.0);
            for t in 0..longest {
                for (b, tokens) in encoded.iter().enumerate() {
                    let row = &mut input[b * width..(b + 1) * width];
                    match tokens.get(t) {
                        Some((ctx, _)) => codec.write_input(ctx, row),
                        None => row.fill(0.0),
                    }
                }
                model.step(&input, &mut state);
                for (b, tokens) in encoded.iter().enumerate() {
                    let Some((ctx, target)) = tokens.get(t) else {
                        continue;
                    };
                    let logits = &state.logits[b * vocab..(b + 1) * vocab];
                    m.nll_nats += allowed_nll(&codec, ctx, *target, voices(cfg), logits);
                    m.predictions += 1;
                }
            }
        }
        m.quarters = m.steps as f64 / f64::from(cfg.steps_per_quarter.max(1));
        m
    }

    fn precision(&self, config: &ModelConfig) -> Precision {
        step_precision(config)
    }

    fn training<'a>(
        &self,
        data: &TrainData<'a>,
        options: &TrainOptions,
    ) -> Result<Box<dyn TrainingFamily + 'a>, TrainError> {
        let training = train::EventTraining::new(data.train, data.train_meters, options)?;
        Ok(Box::new(training))
    }
}

/// The most notes an event model lets sound at once.
fn voices(cfg: &ModelConfig) -> u8 {
    cfg.architecture.max_voices().unwrap_or(u8::MAX)
}

/// Pieces evaluated together by the fast engine.
const EVAL_BATCH: usize = 16;

/// A piece as an event model sees it: pitches outside its range removed, then at most its
/// voices kept (the top ones).
fn event_piece(cfg: &ModelConfig, roll: &PianoRoll) -> PianoRoll {
    let mask = pitch_span_mask(cfg.pitch_range.lo, cfg.pitch_range.hi);
    let in_range = PianoRoll {
        active: roll.active.iter().map(|f| f & mask).collect(),
        onset: roll.onset.iter().map(|f| f & mask).collect(),
    };
    limit_voices(&in_range, voices(cfg))
}

/// `-ln p(target)` under the softmax of `logits` over the tokens the grammar allows in
/// `ctx`, in f64. A target the grammar forbids (never, for encoded pieces) is scored
/// against the allowed tokens and itself.
fn allowed_nll(
    codec: &EventCodec,
    ctx: &EventContext,
    target: usize,
    max_voices: u8,
    logits: &[f32],
) -> f64 {
    let allowed = |k: &usize| *k == target || codec.allows(ctx, *k, max_voices);
    let allowed_logits = || {
        (0..logits.len())
            .filter(allowed)
            .map(|k| f64::from(logits[k]))
    };
    let max = allowed_logits().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = allowed_logits().map(|z| (z - max).exp()).sum();
    max + sum.ln() - f64::from(logits[target])
}
