//! Model families: the networks PhraseGen knows, each one folder that owns everything that
//! differs between them (how a piece becomes training windows, how a step is drawn under the
//! sampler's rules, how a prediction is scored), behind one trait, [`ModelFamily`]. [`of`]
//! is where a family is registered; the entry points here ([`generate`], [`evaluate`],
//! [`train_until`]) check what every family shares and hand the rest to the model's family.
//!
//! - `frames`: the prototype's network (v1), a piano-roll frame per step, a sigmoid per
//!   pitch. Kept a full member (train, evaluate, generate): old files write the same phrases
//!   bit for bit, and its network is the one the PyTorch reference times.
//! - `events`: model v2, one note event per step, a softmax over the events the rules allow.
//!
//! A new family (say, one conditioned on a melody) is a new folder implementing
//! [`ModelFamily`], its [`Architecture`] variant, and a line in [`of`] and in `shape`.

mod events;
mod frames;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use candle_core::Tensor;
use indicatif::ProgressBar;

use crate::infer::{FastLstm, Precision};
use crate::meter::MeterMap;
use crate::model::{Architecture, ModelConfig};
use crate::phrase::Phrase;
use crate::roll::{PianoRoll, PitchSet};
use crate::sample::{allowed_pitches, home_key, melody, GenerateError, GenerateParams};
use crate::train::error::CheckpointResult;
use crate::train::fused_model::FusedPhraseModel;
use crate::train::fused_trainer::FusedTrainer;
use crate::train::{
    EpochStats, Evaluation, TrainData, TrainError, TrainOptions, TrainResult, TrainingFamily,
};

pub use events::live::{LiveHarmonizer, LiveSettings, VoiceChange};
pub use events::live_line::LiveAccompanist;
pub use frames::training_throughput;

/// What differs between model families, above the network they share (a stacked LSTM and a
/// linear layer, whose input and output widths `shape` gives).
pub trait ModelFamily: Sync {
    /// The `phrasegen train` flags that make a model of this family with `architecture`'s
    /// settings (for the resolved command a training run records).
    fn train_flags(&self, architecture: Architecture) -> String;

    /// Writes `count` variations of a checked request (variation `i` seeded with
    /// [`crate::sample::variation_seed`]); `allowed` is what the key, scale and ranges
    /// leave.
    fn write_phrases(
        &self,
        model: &FastLstm,
        params: &GenerateParams,
        count: usize,
        allowed: PitchSet,
    ) -> Vec<Phrase>;

    /// Scores whole pieces from their start (`meters[i]` is where piece `i`'s bar lines fall),
    /// the network stepping in `precision`.
    fn evaluate(
        &self,
        model: &FastLstm,
        pieces: &[PianoRoll],
        meters: &[MeterMap],
        precision: Precision,
    ) -> Evaluation;

    /// The arithmetic `config`'s phrases are drawn in.
    fn precision(&self, config: &ModelConfig) -> Precision;

    /// A model of `options.model` ready to train on `data.train`.
    fn training<'a>(
        &self,
        data: &TrainData<'a>,
        options: &TrainOptions,
    ) -> Result<Box<dyn TrainingFamily + 'a>, TrainError>;
}

/// The family of an architecture: the one place a family is registered.
pub fn of(architecture: Architecture) -> &'static dyn ModelFamily {
    match architecture {
        Architecture::Frame => &frames::Frames,
        Architecture::Events { .. } => &events::Events,
    }
}

/// Generates one phrase.
pub fn generate(model: &FastLstm, params: &GenerateParams) -> Result<Phrase, GenerateError> {
    Ok(generate_variations(model, params, 1)?.remove(0))
}

/// Generates `count` phrases in one batched pass (variation `i` uses
/// [`crate::sample::variation_seed`]`(params.seed, i)`; variation 0 equals [`generate`]).
/// A key-normalised model draws at home and its phrases are moved to the key asked for
/// (`sample::home_key`).
pub fn generate_variations(
    model: &FastLstm,
    params: &GenerateParams,
    count: usize,
) -> Result<Vec<Phrase>, GenerateError> {
    let home_shift = home_key::shift_from_home(&model.config, params);
    // A melody to harmonize is also moved by whole octaves into the model's range.
    let shift = home_shift + melody::octave_into_range(&model.config, params, home_shift)?;
    let at_home = home_key::request_at_home(&model.config, params, shift);
    let allowed = allowed_pitches(&model.config, &at_home)
        .map_err(|e| home_key::error_in_users_key(e, params, shift))?;
    let family = of(model.config.architecture);
    let mut phrases = family.write_phrases(model, &at_home, count.max(1), allowed);
    if shift != 0 {
        phrases = phrases.iter().map(|p| p.transposed(shift)).collect();
    }
    if let Some(melody) = &params.melody {
        for phrase in &mut phrases {
            melody::restore_melody(phrase, &melody.phrase);
        }
    }
    Ok(phrases)
}

/// Evaluates a model on whole pieces, each from its start, in its family's units. With
/// nothing to predict `predictions` is 0 and the figures are 0, which callers must report
/// as an error rather than as a result.
pub fn evaluate(model: &FastLstm, pieces: &[PianoRoll], meters: &[MeterMap]) -> Evaluation {
    evaluate_in(model, pieces, meters, Precision::F32)
}

/// [`evaluate`] with the network stepping in `precision` (`phrasegen eval --precision`):
/// what a precision costs in held-out NLL.
pub fn evaluate_in(
    model: &FastLstm,
    pieces: &[PianoRoll],
    meters: &[MeterMap],
    precision: Precision,
) -> Evaluation {
    assert_eq!(pieces.len(), meters.len(), "a meter map per piece");
    of(model.config.architecture).evaluate(model, pieces, meters, precision)
}

/// The arithmetic a model's phrases are drawn in (its family's).
pub fn precision_of(model: &FastLstm) -> Precision {
    of(model.config.architecture).precision(&model.config)
}

/// A fused trainer of `options.model` from its first tensors, with `options`' optimiser
/// settings (what every family trains with).
fn fused_trainer_for(options: &TrainOptions) -> Result<FusedTrainer, TrainError> {
    let tensors = options.initial_tensors()?;
    let model = FusedPhraseModel::from_tensors(&options.model, &tensors)?;
    Ok(FusedTrainer::new(
        model,
        options.learning_rate,
        options.weight_decay,
        options.dropout,
        options.threads,
    ))
}

/// Trains on `data.train`, selects on `data.valid`. `on_epoch` sees each epoch's figures
/// and, when the epoch is the best so far, its tensors (to save a checkpoint). Once `stop`
/// is set (Ctrl-C) the batch under way finishes, the epoch so far is evaluated like a whole
/// one (and is the best if it beats the others), and the result is marked `interrupted`.
/// The model family comes from `options.model`.
pub fn train_until(
    data: TrainData,
    options: &TrainOptions,
    progress: &ProgressBar,
    stop: &AtomicBool,
    on_epoch: impl FnMut(&EpochStats, Option<&HashMap<String, Tensor>>) -> CheckpointResult,
) -> Result<TrainResult, TrainError> {
    if !(0.0..1.0).contains(&options.dropout) {
        return Err(TrainError::Dropout(options.dropout));
    }
    let family = of(options.model.architecture);
    let mut training = family.training(&data, options)?;
    let (held_out, held_out_meters) = data.held_out();
    let evaluate =
        |model: &FastLstm| family.evaluate(model, held_out, held_out_meters, Precision::F32);
    crate::train::trainer::run_epochs(
        training.as_mut(),
        options,
        progress,
        stop,
        evaluate,
        on_epoch,
    )
}
