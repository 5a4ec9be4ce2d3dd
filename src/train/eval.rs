//! The published metrics and their units, shared by every model family: `family::evaluate`
//! runs a model over whole pieces with the fast engine and each family scores its own
//! predictions into an [`Evaluation`].
//!
//! - Negative log-likelihood: frame models, the sum over outputs of the binary
//!   cross-entropy per time step (Boulanger-Lewandowski et al., ICML 2012); event models,
//!   the softmax cross-entropy of each event over the events the grammar allows (as the
//!   sampler draws them). Both are reported per prediction, per grid step and per quarter
//!   note (the frame-equivalent figure on the JSB benchmarks' grid).
//! - Frame models also: frame-level accuracy TP / (TP + FP + FN) over all frames, a pitch
//!   predicted active when its probability exceeds 0.5 (Bay, Ehmann and Downie, ISMIR 2009).
//!   Only the active plane counts, so models with and without onsets compare.

/// `-log p(y)` for a Bernoulli with logit `z`, stable for large |z|.
pub fn bce_with_logit(z: f32, y: f32) -> f64 {
    let z = f64::from(z);
    z.max(0.0) - z * f64::from(y) + (-z.abs()).exp().ln_1p()
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
