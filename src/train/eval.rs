//! The published metrics, computed on whole pieces with the fast engine.
//!
//! - Negative log-likelihood in nats per time step: the sum over outputs of the binary
//!   cross-entropy, averaged over frames (Boulanger-Lewandowski et al., ICML 2012).
//! - Frame-level accuracy TP / (TP + FP + FN) over all frames, a pitch predicted active when
//!   its probability exceeds 0.5 (Bay, Ehmann and Downie, ISMIR 2009). Only the active plane
//!   counts, so models with and without onsets compare.

use crate::infer::FastLstm;
use crate::roll::PianoRoll;

use super::dataset::piece_features;

/// Held-out figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    pub nll_nats_per_step: f64,
    pub frame_accuracy: f64,
    pub frames: usize,
}

/// `-log p(y)` for a Bernoulli with logit `z`, stable for large |z|.
pub fn bce_with_logit(z: f32, y: f32) -> f64 {
    let z = f64::from(z);
    z.max(0.0) - z * f64::from(y) + (-z.abs()).exp().ln_1p()
}

/// Evaluates the model on pieces (each from silence, predicting every frame). With no
/// frames at all nothing is measured: `frames` is 0 and the figures are 0, which callers
/// must report as an error rather than as a result.
pub fn evaluate(model: &FastLstm, pieces: &[PianoRoll]) -> Metrics {
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
    Metrics {
        nll_nats_per_step: if frames > 0 { nll / frames as f64 } else { 0.0 },
        frame_accuracy: if denom > 0.0 { tp as f64 / denom } else { 0.0 },
        frames,
    }
}
