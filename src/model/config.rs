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
    /// Which network this is; files written before v2 have none and are frame models.
    #[serde(default)]
    pub architecture: Architecture,
    /// How the model was trained and how well it did; free-form for display.
    #[serde(default)]
    pub training: Option<TrainingInfo>,
    /// Trained with every piece moved home to C (its key signature's major tonic to C, so
    /// minor pieces to A minor): the model knows one key's grammar, and its phrases are
    /// moved to the key asked for (see `family::generate`). Older files: false.
    #[serde(default)]
    pub key_normalised: bool,
    /// Trained hearing 2/2 as 4/4 (the same bar of four quarters): reels are written in
    /// either, so the network learns their rhythm under one metre, and a 4/4 song gets it
    /// (the fiddle data has 199 tunes in 2/2 and 30 in 4/4). Older files: false.
    #[serde(default)]
    pub cut_time_as_common: bool,
    /// Event models: the input also tells how long the current note has lasted in quarter
    /// notes once it is past the per-step ages (`events::ONSET_AGE_BEATS`): on a fine grid
    /// the 17 per-step ages cover little (1.42 beats at 12 steps a quarter). Older files:
    /// false, and their input is as it was.
    #[serde(default)]
    pub onset_age_beats: bool,
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
            architecture: Architecture::Frame,
            training: None,
            key_normalised: false,
            cut_time_as_common: false,
            onset_age_beats: false,
        }
    }
}

/// The network's input and output contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Architecture {
    /// The prototype's: one piano-roll frame in, a sigmoid per pitch out (pitches drawn
    /// independently).
    #[default]
    Frame,
    /// Model v2: one event token per LSTM step (note-off, note-on, step end) with a softmax
    /// over events, so the notes of a step are drawn one after another, each conditioned on
    /// those before it; the input also says where in the bar the step is (see `events`).
    Events {
        /// At most this many notes at once; 1 makes a melody model, monophonic by
        /// construction (a note-on is impossible while a note sounds).
        max_voices: u8,
    },
}

impl Architecture {
    /// Event models: the most notes that sound at once (frame models have no such limit).
    pub fn max_voices(self) -> Option<u8> {
        match self {
            Self::Frame => None,
            Self::Events { max_voices } => Some(max_voices),
        }
    }
}

impl ModelConfig {
    /// Width of one piano-roll frame over the model's pitches.
    pub fn frame_size(&self) -> usize {
        self.pitch_range.len() * self.representation.planes()
    }
}
