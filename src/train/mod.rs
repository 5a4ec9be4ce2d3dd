//! Training and evaluation: MIDI folders to piano-roll datasets, Adam on 32-step windows,
//! held-out loss per epoch, and the published metrics (NLL in nats per step, frame accuracy).

pub mod adam;
pub mod dataset;
pub mod error;
pub mod eval;
pub mod family;
pub mod fused_lstm;
pub mod fused_model;
pub mod fused_trainer;
pub mod plot;
pub mod trainer;

pub use dataset::{Dataset, DatasetOptions};
pub use error::TrainError;
pub use eval::Evaluation;
pub use trainer::{EpochStats, TrainData, TrainOptions, TrainResult, TrainingFamily};
