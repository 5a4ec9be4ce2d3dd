//! The network in candle: the source of truth for training and for loading weights.
//!
//! Frame in -> stacked LSTM -> linear -> one logit per output (sigmoid gives the probability
//! that a pitch is active / starts). Recurrent state is passed in explicitly so callers can
//! run a long sequence in pieces.

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Init, Linear, VarBuilder, VarMap};

use super::{ModelConfig, ModelError};

/// One LSTM layer with PyTorch's weight layout (gates i, f, g, o).
#[derive(Clone, Debug)]
pub struct LstmLayer {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    hidden: usize,
}

/// Hidden and cell state of one layer, `[batch, hidden]` each.
#[derive(Clone, Debug)]
pub struct LstmState {
    pub h: Tensor,
    pub c: Tensor,
}

impl LstmLayer {
    /// Weights `weight_ih_l{layer}` etc. under `vb` (PyTorch's uniform init when created).
    pub fn new(
        input: usize,
        hidden: usize,
        layer: usize,
        vb: &VarBuilder,
    ) -> candle_core::Result<Self> {
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Init::Uniform { lo: -k, up: k };
        Ok(Self {
            w_ih: vb.get_with_hints((4 * hidden, input), &format!("weight_ih_l{layer}"), init)?,
            w_hh: vb.get_with_hints((4 * hidden, hidden), &format!("weight_hh_l{layer}"), init)?,
            b_ih: vb.get_with_hints(4 * hidden, &format!("bias_ih_l{layer}"), init)?,
            b_hh: vb.get_with_hints(4 * hidden, &format!("bias_hh_l{layer}"), init)?,
            hidden,
        })
    }

    pub fn zero_state(&self, batch: usize, device: &Device) -> candle_core::Result<LstmState> {
        let z = Tensor::zeros((batch, self.hidden), DType::F32, device)?;
        Ok(LstmState { h: z.clone(), c: z })
    }

    /// Runs `x` `[batch, time, input]` and returns `[batch, time, hidden]`. The input
    /// projection of every step is one matrix product; only the recurrence is per step.
    pub fn forward(&self, x: &Tensor, state: &mut LstmState) -> candle_core::Result<Tensor> {
        let (b, t, input) = x.dims3()?;
        let xw = x
            .reshape((b * t, input))?
            .matmul(&self.w_ih.t()?)?
            .broadcast_add(&(&self.b_ih + &self.b_hh)?)?
            .reshape((b, t, 4 * self.hidden))?;
        let w_hh_t = self.w_hh.t()?;
        let mut outputs = Vec::with_capacity(t);
        for step in 0..t {
            let gates = (xw.narrow(1, step, 1)?.squeeze(1)? + state.h.matmul(&w_hh_t)?)?;
            let chunks = gates.chunk(4, D::Minus1)?;
            let i = candle_nn::ops::sigmoid(&chunks[0])?;
            let f = candle_nn::ops::sigmoid(&chunks[1])?;
            let g = chunks[2].tanh()?;
            let o = candle_nn::ops::sigmoid(&chunks[3])?;
            state.c = ((f * &state.c)? + (i * g)?)?;
            state.h = (o * state.c.tanh()?)?;
            outputs.push(state.h.clone());
        }
        Tensor::stack(&outputs, 1)
    }
}

/// The whole network.
#[derive(Clone, Debug)]
pub struct PhraseModel {
    pub config: ModelConfig,
    layers: Vec<LstmLayer>,
    out: Linear,
}

impl PhraseModel {
    /// Builds the network from `vb` (`lstm.*` and `out.*` tensors).
    pub fn new(config: &ModelConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let lstm_vb = vb.pp("lstm");
        let mut layers = Vec::with_capacity(config.layers);
        for layer in 0..config.layers {
            let input = if layer == 0 {
                config.input_size()
            } else {
                config.hidden
            };
            layers.push(LstmLayer::new(input, config.hidden, layer, &lstm_vb)?);
        }
        let k = 1.0 / (config.hidden as f64).sqrt();
        let out_vb = vb.pp("out");
        let init = Init::Uniform { lo: -k, up: k };
        let w = out_vb.get_with_hints((config.output_size(), config.hidden), "weight", init)?;
        let b = out_vb.get_with_hints(config.output_size(), "bias", init)?;
        Ok(Self {
            config: config.clone(),
            layers,
            out: Linear::new(w, Some(b)),
        })
    }

    /// A freshly initialized model whose variables live in the returned `VarMap` (for
    /// training). Initialization is PyTorch's uniform(-1/sqrt(H), 1/sqrt(H)), drawn from a
    /// seeded generator so training runs are repeatable.
    pub fn init(config: &ModelConfig, seed: u64) -> candle_core::Result<(Self, VarMap)> {
        use rand::{RngCore, SeedableRng};
        let device = Device::Cpu;
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let k = 1.0 / (config.hidden as f32).sqrt();
        let varmap = VarMap::new();
        {
            let mut vars = varmap.data().lock().expect("fresh VarMap lock");
            for (name, shape) in super::file::expected_shapes(config) {
                let count: usize = shape.iter().product();
                let values: Vec<f32> = (0..count)
                    .map(|_| ((rng.next_u32() >> 8) as f32 / 16_777_216.0 * 2.0 - 1.0) * k)
                    .collect();
                let t = Tensor::from_vec(values, shape, &device)?;
                vars.insert(name, candle_core::Var::from_tensor(&t)?);
            }
        }
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        Ok((Self::new(config, vb)?, varmap))
    }

    /// Freshly initialized weights as plain tensors (see [`Self::init`]).
    pub fn init_tensors(
        config: &ModelConfig,
        seed: u64,
    ) -> candle_core::Result<HashMap<String, Tensor>> {
        let (_, varmap) = Self::init(config, seed)?;
        let vars = varmap.data().lock().expect("fresh VarMap lock");
        Ok(vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect())
    }

    /// A model over loaded tensors.
    pub fn from_tensors(
        config: &ModelConfig,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<Self, ModelError> {
        let vb = VarBuilder::from_tensors(tensors.clone(), DType::F32, &Device::Cpu);
        Ok(Self::new(config, vb)?)
    }

    pub fn zero_state(&self, batch: usize) -> candle_core::Result<Vec<LstmState>> {
        self.layers
            .iter()
            .map(|l| l.zero_state(batch, &Device::Cpu))
            .collect()
    }

    /// Logits `[batch, time, output_size]` for inputs `x` `[batch, time, input_size]`.
    pub fn forward(&self, x: &Tensor, state: &mut [LstmState]) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (layer, s) in self.layers.iter().zip(state.iter_mut()) {
            h = layer.forward(&h, s)?;
        }
        self.out.forward(&h)
    }
}

/// Binary cross-entropy of `logits` against 0/1 `targets`, summed over the last dimension and
/// averaged over everything else: nats per time step. Numerically stable form
/// `max(z, 0) - z*y + ln(1 + e^-|z|)`.
pub fn bce_nats_per_step(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let per = ((logits.relu()? - (logits * targets)?)?
        + logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?;
    let summed = per.sum(D::Minus1)?;
    summed.mean_all()
}
