//! Fast inference: the LSTM step in plain f32 buffers, for generation.
//!
//! A batch-1 LSTM step is tiny, so candle's per-op overhead would dominate; here each step
//! is a few register-blocked passes over contiguous, transposed weights, with nothing
//! allocated per step. Results are bit-for-bit reproducible across platforms: every output
//! element accumulates in the same order with exactly rounded fused multiply-adds, and
//! exp/tanh are built from basic IEEE operations, so the AVX2+FMA path and the portable path
//! agree.
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
                let gates = &mut state.gates[b * g4..(b + 1) * g4];
                gates.copy_from_slice(&layer.bias);
                let input = if l == 0 {
                    &frames[b * layer.input..(b + 1) * layer.input]
                } else {
                    &state.h[l - 1][b * hidden..(b + 1) * hidden]
                };
                kernel.accumulate(gates, input, &layer.w_ih_t);
                kernel.accumulate(
                    gates,
                    &state.h[l][b * hidden..(b + 1) * hidden],
                    &layer.w_hh_t,
                );
            }
            for b in 0..batch {
                let g = &state.gates[b * g4..(b + 1) * g4];
                let h = &mut state.h[l][b * hidden..(b + 1) * hidden];
                let c = &mut state.c[l][b * hidden..(b + 1) * hidden];
                for k in 0..hidden {
                    let i = sigmoid(g[k]);
                    let f = sigmoid(g[hidden + k]);
                    let gg = tanh_f32(g[2 * hidden + k]);
                    let o = sigmoid(g[3 * hidden + k]);
                    c[k] = f.mul_add(c[k], i * gg);
                    h[k] = o * tanh_f32(c[k]);
                }
            }
        }
        let outputs = self.frame_size();
        let top = self.layers.len() - 1;
        for b in 0..batch {
            let logits = &mut state.logits[b * outputs..(b + 1) * outputs];
            logits.copy_from_slice(&self.out_b);
            kernel.accumulate(
                logits,
                &state.h[top][b * hidden..(b + 1) * hidden],
                &self.out_w_t,
            );
        }
    }
}

/// `e^x` from basic IEEE operations only (exactly rounded on every platform), so results
/// are reproducible everywhere and the compiler can vectorize it: Cody-Waite range
/// reduction to `|r| <= ln 2 / 2` and a degree-6 polynomial (relative error below 2e-7).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The logistic function.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// Hyperbolic tangent, `1 - 2 / (e^2x + 1)`.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    1.0 - 2.0 / (exp_f32(2.0 * x) + 1.0)
}

/// Which compiled version of the matrix kernel to run: chosen once per step.
#[derive(Clone, Copy)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Self::Avx2Fma;
        }
        Self::Portable
    }

    /// `y[c] += sum_j x[j] * w_t[j][c]` for a row-major `w_t` of `x.len()` rows.
    #[inline]
    fn accumulate(self, y: &mut [f32], x: &[f32], w_t: &[f32]) {
        match self {
            Self::Portable => accumulate_portable(y, x, w_t),
            // SAFETY: AVX2 and FMA support were checked at run time in `detect`.
            #[cfg(target_arch = "x86_64")]
            Self::Avx2Fma => unsafe { accumulate_avx2_fma(y, x, w_t) },
        }
    }
}

/// Columns kept in registers at once (8 AVX registers of 8 lanes).
const BLOCK: usize = 64;

/// `y[c] += sum_j x[j] * w_t[j * cols + c]`, accumulating over `j` in ascending order with
/// fused multiply-adds (`mul_add` is exactly rounded on every platform, so all builds agree
/// bit for bit). Zero inputs are skipped: piano-roll frames are mostly zeros, and skipping
/// `+ 0 * w` changes nothing. A block of columns stays in registers across all rows, so
/// each step reads every weight once and touches `y` only twice.
#[inline(always)]
fn accumulate_body(y: &mut [f32], x: &[f32], w_t: &[f32]) {
    let cols = y.len();
    debug_assert_eq!(w_t.len(), x.len() * cols);
    let mut c0 = 0;
    while c0 + BLOCK <= cols {
        let mut acc = [0f32; BLOCK];
        acc.copy_from_slice(&y[c0..c0 + BLOCK]);
        for (j, &xj) in x.iter().enumerate() {
            if xj == 0.0 {
                continue;
            }
            let row = &w_t[j * cols + c0..j * cols + c0 + BLOCK];
            for k in 0..BLOCK {
                acc[k] = xj.mul_add(row[k], acc[k]);
            }
        }
        y[c0..c0 + BLOCK].copy_from_slice(&acc);
        c0 += BLOCK;
    }
    for c in c0..cols {
        let mut a = y[c];
        for (j, &xj) in x.iter().enumerate() {
            if xj != 0.0 {
                a = xj.mul_add(w_t[j * cols + c], a);
            }
        }
        y[c] = a;
    }
}

fn accumulate_portable(y: &mut [f32], x: &[f32], w_t: &[f32]) {
    accumulate_body(y, x, w_t);
}

/// The same computation with AVX2 + FMA intrinsics: 8 registers of 8 columns each stay
/// live across all rows. Each lane does exactly the scalar `mul_add` sequence of
/// [`accumulate_body`], so the results are identical.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_avx2_fma(y: &mut [f32], x: &[f32], w_t: &[f32]) {
    use std::arch::x86_64::*;
    let cols = y.len();
    assert_eq!(w_t.len(), x.len() * cols);
    let mut c0 = 0;
    while c0 + BLOCK <= cols {
        // SAFETY: every pointer below stays within `y[c0..c0 + 64]` or
        // `w_t[j * cols + c0..j * cols + c0 + 64]`, checked by the loop bounds and the
        // length assertion above.
        unsafe {
            let yp = y.as_mut_ptr().add(c0);
            let mut acc = [_mm256_setzero_ps(); 8];
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm256_loadu_ps(yp.add(8 * r));
            }
            for (j, &xj) in x.iter().enumerate() {
                if xj == 0.0 {
                    continue;
                }
                let xv = _mm256_set1_ps(xj);
                let wp = w_t.as_ptr().add(j * cols + c0);
                for (r, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wp.add(8 * r)), *a);
                }
            }
            for (r, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(yp.add(8 * r), *a);
            }
        }
        c0 += BLOCK;
    }
    if c0 < cols {
        let (y_tail, x_len) = (&mut y[c0..], x.len());
        for (c, yc) in y_tail.iter_mut().enumerate() {
            let mut a = *yc;
            for j in 0..x_len {
                let xj = x[j];
                if xj != 0.0 {
                    a = xj.mul_add(w_t[j * cols + c0 + c], a);
                }
            }
            *yc = a;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_and_tanh_are_accurate() {
        let mut worst = 0.0f64;
        for i in -8000..=8000 {
            let x = i as f32 * 0.01;
            let want = f64::from(x).exp();
            let got = f64::from(exp_f32(x));
            worst = worst.max(((got - want) / want).abs());
            assert!(
                (f64::from(tanh_f32(x)) - f64::from(x).tanh()).abs() < 1e-6,
                "tanh {x}"
            );
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!((f64::from(sigmoid(x)) - s).abs() < 1e-6, "sigmoid {x}");
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert_eq!(exp_f32(-200.0), exp_f32(-87.0));
    }
}
