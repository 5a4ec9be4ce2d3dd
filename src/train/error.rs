//! What can go wrong while training, as one type for the whole layer: the command line
//! turns it into a message at its edge.

use crate::model::ModelError;

/// A training run that cannot start or cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The data has nothing a window can be made of.
    #[error("{0}: nothing to train on")]
    NoData(String),
    #[error("dropout {0} is not a rate in 0..1 (0 = off)")]
    Dropout(f32),
    #[error("stopped before the first batch finished: nothing to save")]
    NothingSaved,
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A tensor operation (weights in and out of candle's tensors).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("cannot draw {path}: {reason}")]
    Plot { path: String, reason: String },
    /// The caller's checkpoint (saving a model, a log or a plot) failed.
    #[error(transparent)]
    Checkpoint(Box<dyn std::error::Error + Send + Sync>),
}

/// What a training run's caller returns when saving a checkpoint fails.
pub type CheckpointResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
