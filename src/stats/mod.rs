//! Musical statistics of phrases, generated and real alike: how many notes, how many voices,
//! how much silence, where the onsets fall, how tonal, how repetitive, how clean the voice
//! leading. NLL says how well a model predicts the next frame; these say whether its phrases
//! look like the music it learned from. Pure: no model, no plugin; `cli::stats` drives it.

pub mod c2st;
pub mod metrics;
pub mod passage;
pub mod report;
pub mod segment;
pub mod summary;
pub mod voice_leading;

pub use c2st::{classifier_test, C2stError, C2stReport};
pub use metrics::{Metric, PassageStats};
pub use passage::Passage;
pub use report::{Column, Table};
pub use segment::{load_segments, DataError, RealSegments, Split};
pub use summary::{histogram_overlap, Summary};
