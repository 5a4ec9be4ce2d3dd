//! What a model file says about itself: shape, representation, grid, and how it was trained.

use serde::{Deserialize, Serialize};

use crate::roll::{PitchRange, Representation};

/// Shape and data contract of a model. Stored as JSON in the safetensors metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// A short name shown to users ("bach-chorales").
    pub name: String,
    /// Stacked LSTM layers.
    pub layers: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    pub representation: Representation,
    /// Grid the model was trained on.
    pub steps_per_quarter: u32,
    pub pitch_range: PitchRange,
    /// How the model was trained and how well it did; free-form for display.
    #[serde(default)]
    pub training: Option<TrainingInfo>,
}

/// Provenance and held-out metrics, recorded by the trainer.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub data: String,
    pub command: String,
    pub epochs: usize,
    pub test_nll_nats_per_step: Option<f64>,
    pub test_frame_accuracy: Option<f64>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            name: "untrained".into(),
            layers: 2,
            hidden: 256,
            representation: Representation::ActiveAndOnset,
            steps_per_quarter: crate::phrase::DEFAULT_STEPS_PER_QUARTER,
            pitch_range: PitchRange { lo: 36, hi: 96 },
            training: None,
        }
    }
}

impl ModelConfig {
    /// Width of one input frame (and of one output frame).
    pub fn frame_size(&self) -> usize {
        self.pitch_range.len() * self.representation.planes()
    }
}
