//! Candle's autograd training step for frame models: the source of truth the fused trainer
//! is checked against (`tests/fused_training.rs`) and the speed it is measured against
//! (`benches/training.rs`). It was `phrasegen train --engine candle` until one engine was
//! kept in the product.

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use phrasegen::model::lstm::bce_nats_per_step;
use phrasegen::model::{ModelConfig, PhraseModel};

/// A candle frame model and its AdamW (no weight decay), seeded as the trainer seeds.
pub struct CandleTrainer {
    pub model: PhraseModel,
    opt: AdamW,
}

impl CandleTrainer {
    pub fn new(cfg: &ModelConfig, seed: u64, lr: f64) -> Self {
        let (model, varmap) = PhraseModel::init(cfg, seed).unwrap();
        let params = ParamsAdamW {
            lr,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        };
        let opt = AdamW::new(varmap.all_vars(), params).unwrap();
        Self { model, opt }
    }

    /// One optimizer step on `windows` `[batch, seq + 1, F]` (frames `0..seq` predict
    /// `1..=seq`); the loss before it, nats per step.
    pub fn step(&mut self, windows: &[f32], batch: usize, seq: usize) -> f64 {
        let width = self.model.config.frame_size();
        let all = Tensor::from_slice(windows, (batch, seq + 1, width), &Device::Cpu).unwrap();
        let x = all.narrow(1, 0, seq).unwrap();
        let y = all.narrow(1, 1, seq).unwrap();
        let mut state = self.model.zero_state(batch).unwrap();
        let loss = bce_nats_per_step(&self.model.forward(&x, &mut state).unwrap(), &y).unwrap();
        self.opt.backward_step(&loss).unwrap();
        f64::from(loss.to_scalar::<f32>().unwrap())
    }
}
