//! Model families: what differs between the prototype's frame models (v1) and the event
//! models (v2) for everything built on top of a [`ModelConfig`]: the width of the network's
//! input and output. Kept here, above both `model` (plain data) and `events` (the v2 codec),
//! so neither imports the other.

use crate::events::EventCodec;
use crate::model::{Architecture, ModelConfig};

impl ModelConfig {
    /// Width of one input vector of the network.
    pub fn input_size(&self) -> usize {
        match self.architecture {
            Architecture::Frame => self.frame_size(),
            Architecture::Events { .. } => EventCodec::new(self).input_size(),
        }
    }

    /// Number of logits the network outputs per step.
    pub fn output_size(&self) -> usize {
        match self.architecture {
            Architecture::Frame => self.frame_size(),
            Architecture::Events { .. } => EventCodec::new(self).vocab_size(),
        }
    }
}
