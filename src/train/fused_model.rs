//! The network (stacked LSTM, a linear layer) on the fused LSTM core, for training: its
//! parameters in plain buffers, the output layer, and the batch split across threads.
//! `fused_trainer` adds each family's loss at the head and the optimizer.
//!
//! The output layer and the loss are a few whole-batch products, so they are done here by
//! hand too rather than through candle; the network's definition stays `model::lstm`, and
//! tests check this module's loss, gradients and steps against candle's autograd.

use crate::infer::tensor_values;
use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::fused_lstm::{matmul, LstmParams, LstmShape, LstmStack, LstmTape, MatRef};
use crate::model::{ModelConfig, ModelError};

/// The network's parameters in plain buffers.
#[derive(Clone, Debug)]
pub struct FusedPhraseModel {
    pub config: ModelConfig,
    pub(super) lstm: LstmStack,
    /// `[outputs, H]`.
    pub(super) out_w: Vec<f32>,
    pub(super) out_b: Vec<f32>,
}

/// Gradients of every parameter of [`FusedPhraseModel`].
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseGrads {
    pub lstm: LstmParams,
    pub out_w: Vec<f32>,
    pub out_b: Vec<f32>,
}

impl PhraseGrads {
    pub fn zeros(config: &ModelConfig) -> Self {
        let f = config.output_size();
        Self {
            lstm: LstmParams::zeros(lstm_shape(config)),
            out_w: vec![0.0; f * config.hidden],
            out_b: vec![0.0; f],
        }
    }

    pub(super) fn tensors(&self) -> impl Iterator<Item = &[f32]> {
        self.lstm
            .tensors()
            .chain([&self.out_w[..], &self.out_b[..]])
    }

    pub(super) fn tensors_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.lstm
            .tensors_mut()
            .chain([&mut self.out_w[..], &mut self.out_b[..]])
    }

    /// Every gradient by its parameter's name in a model file (`lstm.weight_ih_l0`, ...).
    pub fn named(&self) -> HashMap<String, Vec<f32>> {
        named_tensors(&self.lstm, &self.out_w, &self.out_b)
            .map(|(name, _, values)| (name, values.to_vec()))
            .collect()
    }
}

/// Every tensor of the network (`lstm`'s, then the output layer's) with its name in a
/// model file and its shape.
fn named_tensors<'a>(
    lstm: &'a LstmParams,
    out_w: &'a [f32],
    out_b: &'a [f32],
) -> impl Iterator<Item = (String, Vec<usize>, &'a [f32])> {
    let (f, h) = (out_b.len(), lstm.shape.hidden);
    let lstm = lstm.named().into_iter();
    lstm.map(|(name, shape, values)| (format!("lstm.{name}"), shape, values))
        .chain([
            ("out.weight".into(), vec![f, h], out_w),
            ("out.bias".into(), vec![f], out_b),
        ])
}

fn lstm_shape(config: &ModelConfig) -> LstmShape {
    LstmShape {
        input: config.input_size(),
        hidden: config.hidden,
        layers: config.layers,
    }
}

impl FusedPhraseModel {
    /// From tensors named as in a model file, checking every shape.
    pub fn from_tensors(
        config: &ModelConfig,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<Self, ModelError> {
        let mut lstm = LstmParams::zeros(lstm_shape(config));
        let names: Vec<_> = lstm.named().into_iter().map(|(n, s, _)| (n, s)).collect();
        for ((name, shape), values) in names.into_iter().zip(lstm.tensors_mut()) {
            values.copy_from_slice(&tensor_values(tensors, &format!("lstm.{name}"), &shape)?);
        }
        let (f, h) = (config.output_size(), config.hidden);
        Ok(Self {
            config: config.clone(),
            lstm: LstmStack::new(lstm),
            out_w: tensor_values(tensors, "out.weight", &[f, h])?,
            out_b: tensor_values(tensors, "out.bias", &[f])?,
        })
    }

    /// The parameters as candle tensors named as in a model file.
    pub fn to_tensors(&self) -> Result<HashMap<String, Tensor>, ModelError> {
        named_tensors(self.lstm.params(), &self.out_w, &self.out_b)
            .map(|(name, shape, values)| {
                Ok((name, Tensor::from_slice(values, shape, &Device::Cpu)?))
            })
            .collect()
    }

    pub(super) fn params_mut(&mut self, f: impl FnOnce(&mut dyn Iterator<Item = &mut [f32]>)) {
        let (out_w, out_b) = (&mut self.out_w, &mut self.out_b);
        self.lstm.update(|lstm| {
            let mut all = lstm.tensors_mut().chain([&mut out_w[..], &mut out_b[..]]);
            f(&mut all);
        });
    }

    /// Logits `[time, batch, F]` (time-major) for inputs `x` `[time, batch, F]` from a zero
    /// state: the forward pass alone, for tests and evaluation.
    pub fn logits(&self, x: &[f32], time: usize, batch: usize) -> Vec<f32> {
        let mut tape = LstmTape::default();
        let top = self.lstm.forward(x, time, batch, &mut tape);
        let mut logits = Vec::new();
        self.head_forward(top, &mut logits);
        logits
    }

    /// `logits = top W_out^T + b_out`, rows of `F` (the output size).
    pub(super) fn head_forward(&self, top: &[f32], logits: &mut Vec<f32>) {
        let (f, h) = (self.config.output_size(), self.config.hidden);
        let rows = top.len() / h;
        logits.clear();
        for _ in 0..rows {
            logits.extend_from_slice(&self.out_b);
        }
        matmul(
            logits,
            MatRef::row_major(top, rows, h),
            MatRef::row_major(&self.out_w, f, h).t(),
            true,
        );
    }
}

/// Runs `run` on every shard, the first on this thread and the others on scoped threads
/// (none when there is one shard).
pub(crate) fn run_shards<S: Send>(scratch: &mut [S], run: impl Fn(&mut S) + Sync) {
    let run = &run;
    match scratch.split_first_mut() {
        None => {}
        Some((first, [])) => run(first),
        Some((first, rest)) => std::thread::scope(|scope| {
            for sh in rest {
                scope.spawn(move || run(sh));
            }
            run(first);
        }),
    }
}
