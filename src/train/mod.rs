//! Training and evaluation: MIDI folders to piano-roll datasets, Adam on 32-step windows,
//! held-out loss per epoch, and the published metrics (NLL in nats per step, frame accuracy).

pub mod adam;
pub mod dataset;
pub mod eval;
pub mod event_trainer;
pub mod fused_events;
pub mod fused_lstm;
pub mod fused_model;
pub mod plot;
pub mod trainer;

pub use dataset::{Dataset, DatasetOptions};
pub use eval::{evaluate, evaluate_events, EventMetrics, Metrics};
pub use trainer::{train, EpochStats, TrainEngine, TrainOptions, TrainResult};
