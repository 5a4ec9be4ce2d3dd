//! The prototype's family (v1): one piano-roll frame in per grid step (each pitch's active
//! and, with onsets, struck bit), a sigmoid per output, the pitches of a step drawn
//! independently. Old model files keep writing exactly the phrases they always wrote.

mod sample;
mod train;

pub use train::training_throughput;

use crate::infer::{FastLstm, Precision};
use crate::meter::MeterMap;
use crate::model::{Architecture, ModelConfig};
use crate::phrase::Phrase;
use crate::roll::{PianoRoll, PitchSet};
use crate::sample::GenerateParams;
use crate::train::dataset::piece_features;
use crate::train::eval::bce_with_logit;
use crate::train::{Evaluation, TrainData, TrainError, TrainOptions, TrainingFamily};

use super::ModelFamily;

/// The frame family.
pub struct Frames;

impl ModelFamily for Frames {
    fn train_flags(&self, _: Architecture) -> String {
        "frame".into()
    }

    fn write_phrases(
        &self,
        model: &FastLstm,
        params: &GenerateParams,
        count: usize,
        allowed: PitchSet,
    ) -> Vec<Phrase> {
        sample::generate(model, params, count, allowed)
    }

    /// Each piece from silence, predicting every frame: the sum of the outputs' binary
    /// cross-entropies per frame, and frame accuracy.
    fn evaluate(
        &self,
        model: &FastLstm,
        pieces: &[PianoRoll],
        _: &[MeterMap],
        precision: Precision,
    ) -> Evaluation {
        let cfg = &model.config;
        let (range, repr) = (cfg.pitch_range, cfg.representation);
        let width = model.frame_size();
        let n = range.len();
        let (mut nll, mut frames) = (0.0f64, 0usize);
        let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
        for roll in pieces {
            let feats = piece_features(roll, range, repr);
            let mut state = model.state_in(1, precision);
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

    /// f32: the prototype's network keeps its phrases bit for bit.
    fn precision(&self, _: &ModelConfig) -> Precision {
        Precision::F32
    }

    fn training<'a>(
        &self,
        data: &TrainData<'a>,
        options: &TrainOptions,
    ) -> Result<Box<dyn TrainingFamily + 'a>, TrainError> {
        Ok(Box::new(train::FrameTraining::new(data.train, options)?))
    }
}
