//! The width of a network's input and output, which its family's encoding decides. Kept
//! apart from the rest of a family (`family`) because the layers below it need it: the
//! network code (`infer`, `model`, the fused trainer) builds and checks weights by it. Above
//! both `model` (plain data) and `events` (the v2 codec), so neither imports the other.

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
