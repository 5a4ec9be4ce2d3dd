//! Fast inference: the LSTM step in plain f32 buffers, for generation.
//!
//! A batch-1 LSTM step is tiny, so candle's per-op overhead would dominate; here each step
//! is a handful of `y += a * row` passes over contiguous, transposed weights, with nothing
//! allocated per step. Results are bit-for-bit reproducible across platforms: every output
//! element accumulates in the same order (no reductions to reorder, no fused multiply-add,
//! pure-Rust `libm` for exp/tanh), so the AVX2 path and the portable path agree exactly.
//! Several sequences (variations) step together so each weight row is read once per step.

use std::collections::HashMap;

use candle_core::Tensor;

use crate::model::{ModelConfig, ModelError};

/// One layer, weights transposed to `[input, 4H]` and `[H, 4H]` so a step is row updates.
#[derive(Clone, Debug)]
struct FastLayer {
    input: usize,
    w_ih_t: Vec<f32>,
    w_hh_t: Vec<f32>,
    /// `bias_ih + bias_hh`.
    bias: Vec<f32>,
}

/// The network in contiguous f32 buffers.
#[derive(Clone, Debug)]
pub struct FastLstm {
    pub config: ModelConfig,
    layers: Vec<FastLayer>,
    /// `[H, outputs]`.
    out_w_t: Vec<f32>,
    out_b: Vec<f32>,
}

/// Recurrent state and scratch space for `batch` sequences stepping together.
#[derive(Clone, Debug)]
pub struct FastState {
    pub batch: usize,
    /// Per layer, `[batch, H]`.
    h: Vec<Vec<f32>>,
    c: Vec<Vec<f32>>,
    /// `[batch, 4H]`.
    gates: Vec<f32>,
    /// `[batch, outputs]` logits of the last step.
    pub logits: Vec<f32>,
}

fn tensor_values(
    tensors: &HashMap<String, Tensor>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, ModelError> {
    let t = tensors
        .get(name)
        .ok_or_else(|| ModelError::MissingTensor(name.to_string()))?;
    if t.dims() != shape {
        return Err(ModelError::WrongShape {
            name: name.to_string(),
            expected: shape.to_vec(),
            found: t.dims().to_vec(),
        });
    }
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// `[rows, cols]` row-major to `[cols, rows]`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

impl FastLstm {
    /// Copies weights out of candle tensors (PyTorch names), checking every shape.
    pub fn from_tensors(
        config: &ModelConfig,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<Self, ModelError> {
        let (f, h) = (config.frame_size(), config.hidden);
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let input = if l == 0 { f } else { h };
            let w_ih = tensor_values(tensors, &format!("lstm.weight_ih_l{l}"), &[4 * h, input])?;
            let w_hh = tensor_values(tensors, &format!("lstm.weight_hh_l{l}"), &[4 * h, h])?;
            let b_ih = tensor_values(tensors, &format!("lstm.bias_ih_l{l}"), &[4 * h])?;
            let b_hh = tensor_values(tensors, &format!("lstm.bias_hh_l{l}"), &[4 * h])?;
            layers.push(FastLayer {
                input,
                w_ih_t: transpose(&w_ih, 4 * h, input),
                w_hh_t: transpose(&w_hh, 4 * h, h),
                bias: b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect(),
            });
        }
        let out_w = tensor_values(tensors, "out.weight", &[f, h])?;
        Ok(Self {
            config: config.clone(),
            layers,
            out_w_t: transpose(&out_w, f, h),
            out_b: tensor_values(tensors, "out.bias", &[f])?,
        })
    }

    /// Loads a model file's bytes straight into the fast form.
    pub fn from_model_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let file = crate::model::read_model_bytes(bytes)?;
        Self::from_tensors(&file.config, &file.tensors)
    }

    pub fn frame_size(&self) -> usize {
        self.config.frame_size()
    }

    /// Fresh zero state for `batch` sequences.
    pub fn state(&self, batch: usize) -> FastState {
        let h = self.config.hidden;
        FastState {
            batch,
            h: vec![vec![0.0; batch * h]; self.layers.len()],
            c: vec![vec![0.0; batch * h]; self.layers.len()],
            gates: vec![0.0; batch * 4 * h],
            logits: vec![0.0; batch * self.frame_size()],
        }
    }

    /// Advances every sequence by one frame. `frames` is `[batch, frame_size]`; the logits
    /// of the next frame are left in `state.logits`. Allocates nothing.
    pub fn step(&self, frames: &[f32], state: &mut FastState) {
        self.step_with(Kernel::detect(), frames, state);
    }

    /// The same step with the portable kernel only: tests prove both paths agree exactly.
    pub fn step_portable(&self, frames: &[f32], state: &mut FastState) {
        self.step_with(Kernel::Portable, frames, state);
    }

    fn step_with(&self, kernel: Kernel, frames: &[f32], state: &mut FastState) {
        let hidden = self.config.hidden;
        let batch = state.batch;
        let g4 = 4 * hidden;
        debug_assert_eq!(frames.len(), batch * self.frame_size());
        for (l, layer) in self.layers.iter().enumerate() {
            for b in 0..batch {
                state.gates[b * g4..(b + 1) * g4].copy_from_slice(&layer.bias);
            }
            // Input contribution: zero inputs are skipped (piano-roll frames are sparse);
            // adding 0 * w would change nothing, so this is exact.
            for j in 0..layer.input {
                let row = &layer.w_ih_t[j * g4..(j + 1) * g4];
                for b in 0..batch {
                    let x = if l == 0 {
                        frames[b * layer.input + j]
                    } else {
                        state.h[l - 1][b * hidden + j]
                    };
                    if x != 0.0 {
                        kernel.axpy(&mut state.gates[b * g4..(b + 1) * g4], x, row);
                    }
                }
            }
            for j in 0..hidden {
                let row = &layer.w_hh_t[j * g4..(j + 1) * g4];
                for b in 0..batch {
                    let x = state.h[l][b * hidden + j];
                    if x != 0.0 {
                        kernel.axpy(&mut state.gates[b * g4..(b + 1) * g4], x, row);
                    }
                }
            }
            for b in 0..batch {
                let g = &state.gates[b * g4..(b + 1) * g4];
                let h = &mut state.h[l][b * hidden..(b + 1) * hidden];
                let c = &mut state.c[l][b * hidden..(b + 1) * hidden];
                for k in 0..hidden {
                    let i = sigmoid(g[k]);
                    let f = sigmoid(g[hidden + k]);
                    let gg = libm::tanhf(g[2 * hidden + k]);
                    let o = sigmoid(g[3 * hidden + k]);
                    c[k] = f * c[k] + i * gg;
                    h[k] = o * libm::tanhf(c[k]);
                }
            }
        }
        let outputs = self.frame_size();
        let top = self.layers.len() - 1;
        for b in 0..batch {
            state.logits[b * outputs..(b + 1) * outputs].copy_from_slice(&self.out_b);
        }
        for j in 0..hidden {
            let row = &self.out_w_t[j * outputs..(j + 1) * outputs];
            for b in 0..batch {
                let x = state.h[top][b * hidden + j];
                kernel.axpy(&mut state.logits[b * outputs..(b + 1) * outputs], x, row);
            }
        }
    }
}

/// The logistic function, via pure-Rust `expf` so every platform rounds alike.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// Which compiled version of `y += a * x` to run: chosen once per step.
#[derive(Clone, Copy)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Self::Avx2;
        }
        Self::Portable
    }

    #[inline]
    fn axpy(self, y: &mut [f32], a: f32, x: &[f32]) {
        match self {
            Self::Portable => axpy_portable(y, a, x),
            // SAFETY: AVX2 support was checked at run time in `detect`.
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => unsafe { axpy_avx2(y, a, x) },
        }
    }
}

/// `y += a * x`, element by element (mul then add: no fused multiply-add, so every
/// instruction set rounds the same way).
#[inline]
pub fn axpy_portable(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The same loop compiled for AVX2 (8 lanes); identical results to [`axpy_portable`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn axpy_avx2(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}
