//! Fast inference: the LSTM step in plain f32 buffers, for generation (weights held as f16
//! when every value is one: the same numbers in half the bytes, see [`Weights`]).
//!
//! A batch-1 LSTM step is tiny, so candle's per-op overhead would dominate; here each step
//! is a few register-blocked passes over contiguous, transposed weights, with nothing
//! allocated per step. Results are bit-for-bit reproducible across platforms: every output
//! element accumulates in the same order with exactly rounded fused multiply-adds (computed
//! in software where the target has no FMA instruction: see [`fma_f32`]), and
//! exp/tanh are built from basic IEEE operations, so the AVX2+FMA path and the portable path
//! agree.
//! Several sequences (variations) step together so each weight row is read once per step.

mod int8;

use std::collections::HashMap;
use std::sync::OnceLock;

use candle_core::Tensor;
use half::f16;
use int8::{Int8Matrix, Int8Scratch};

use crate::model::{ModelConfig, ModelError};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The arithmetic a state steps in ([`FastLstm::state_in`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Precision {
    /// f32 throughout (f16-held weights widened exactly): the reference, within 1e-5 of
    /// candle, and what training's validation measures.
    #[default]
    F32,
    /// Each layer's dense rows and their inputs in int8 ([`int8`]): on the built-in models the
    /// same held-out NLL as f32 to three decimals (`phrasegen eval --precision`), and several
    /// times cheaper per step (docs/PERFORMANCE.md, "Every step in int8"). The repeats'
    /// trials step in it, and the models that draw in it (`family::events`).
    Int8,
}

/// Output columns per panel: 8 AVX registers of 8 lanes.
const PANEL: usize = 64;

/// A weight matrix for `y[c] += sum_j x[j] * w[j][c]`, stored as panels of [`PANEL`] columns
/// whose rows are contiguous (`data[p][j][k]`), so a step reads memory strictly in order and
/// the prefetcher streams it. The last panel is padded with zeros.
#[derive(Clone, Debug)]
struct Panels {
    rows: usize,
    /// Leading rows fed by piano-roll frames: mostly zero, so worth testing for zero.
    sparse_rows: usize,
    cols: usize,
    data: Weights,
}

/// A matrix's values: f32, and also f16 when every value is exactly one (a model whose
/// weights were rounded to half precision, `model::round_weights_to_f16`). The f16 copy holds
/// the same numbers in half the bytes, and f16 to f32 is exact, so both give the same bits.
/// A one-sequence step is bound by the bytes it streams from memory and reads the f16 copy;
/// several sequences share each weight read, are bound by arithmetic instead, and read the
/// f32 values, which need no conversion (measured: docs/PERFORMANCE.md).
#[derive(Clone, Debug)]
struct Weights {
    wide: Vec<f32>,
    half: Option<Vec<f16>>,
}

impl Weights {
    /// With the f16 copy when it holds every value exactly. Whole slices are converted at
    /// once (`half`'s slice conversions), which measured cheaper at load than one value at a
    /// time (docs/PERFORMANCE.md).
    fn compact(wide: Vec<f32>) -> Self {
        use half::slice::HalfFloatSliceExt;
        let mut half = vec![f16::ZERO; wide.len()];
        half.convert_from_f32_slice(&wide);
        // Checked a chunk at a time: a whole f32 copy cost a millisecond of page faults.
        let mut back = [0.0f32; 1024];
        let exact = half.chunks(1024).zip(wide.chunks(1024)).all(|(h, w)| {
            h.convert_to_f32_slice(&mut back[..h.len()]);
            back[..h.len()] == *w
        });
        Self {
            wide,
            half: exact.then_some(half),
        }
    }

    /// Bytes a one-sequence step reads.
    fn bytes(&self) -> usize {
        self.half
            .as_ref()
            .map_or(4 * self.wide.len(), |h| 2 * h.len())
    }
}

/// A stored weight: read as f32, one at a time or eight and sixteen to a register.
trait Weight: Copy {
    fn value(self) -> f32;
    /// Eight weights from `p` as f32 lanes (the caller enables AVX2, FMA and F16C).
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256;
}

impl Weight for f32 {
    #[inline(always)]
    fn value(self) -> f32 {
        self
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256 {
        // SAFETY: the caller's pointer holds eight values.
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
}

impl Weight for f16 {
    #[inline(always)]
    fn value(self) -> f32 {
        self.to_f32()
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256 {
        // SAFETY: the caller's pointer holds eight values (16 bytes).
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }
}

impl Panels {
    /// From PyTorch-layout blocks `[cols, rows_i]` stacked along the input dimension
    /// (`[W_ih | W_hh]`), checking nothing: shapes are checked by the caller.
    fn from_torch(blocks: &[(&[f32], usize)], cols: usize, sparse_rows: usize) -> Self {
        let rows: usize = blocks.iter().map(|(_, r)| r).sum();
        let panels = cols.div_ceil(PANEL);
        let mut data = vec![0.0; panels * rows * PANEL];
        let mut j0 = 0;
        for &(w, block_rows) in blocks {
            for c in 0..cols {
                let (p, k) = (c / PANEL, c % PANEL);
                for j in 0..block_rows {
                    data[(p * rows + j0 + j) * PANEL + k] = w[c * block_rows + j];
                }
            }
            j0 += block_rows;
        }
        Self {
            rows,
            sparse_rows,
            cols,
            data: Weights::compact(data),
        }
    }

    /// Columns rounded up to whole panels: the pitch of output buffers.
    fn padded_cols(&self) -> usize {
        self.cols.div_ceil(PANEL) * PANEL
    }

    /// The first `n` rows alone (all of them tested for zero).
    fn top_rows(&self, n: usize) -> Self {
        let panels = self.padded_cols() / PANEL;
        let mut data = Vec::with_capacity(panels * n * PANEL);
        for p in 0..panels {
            let start = p * self.rows * PANEL;
            data.extend_from_slice(&self.data.wide[start..start + n * PANEL]);
        }
        Self {
            rows: n,
            sparse_rows: n,
            cols: self.cols,
            data: Weights::compact(data),
        }
    }
}

/// One layer: `[W_ih | W_hh]` as one matrix over the input and the previous hidden state.
#[derive(Clone, Debug)]
struct FastLayer {
    input: usize,
    weights: Panels,
    /// `bias_ih + bias_hh`, padded to whole panels.
    bias: Vec<f32>,
}

/// The network in contiguous f32 buffers.
#[derive(Clone, Debug)]
pub struct FastLstm {
    pub config: ModelConfig,
    layers: Vec<FastLayer>,
    out_weights: Panels,
    /// Padded to whole panels.
    out_b: Vec<f32>,
    /// The int8 form of the layers, made the first time a state asks for it
    /// ([`Precision::Int8`]).
    int8: OnceLock<Int8Layers>,
}

/// The layers for int8 steps: each layer's dense rows as int8, and the first layer's frame
/// rows (mostly zero, skipped where zero) still as f32.
#[derive(Clone, Debug)]
struct Int8Layers {
    dense: Vec<Int8Matrix>,
    frame_rows: Panels,
}

/// Recurrent state and scratch space for `batch` sequences stepping together.
#[derive(Clone, Debug)]
pub struct FastState {
    pub batch: usize,
    /// Per layer, `[batch, H]`.
    h: Vec<Vec<f32>>,
    c: Vec<Vec<f32>>,
    /// `[batch, rows]`: a layer's input followed by its previous hidden state.
    x: Vec<f32>,
    /// `[batch, padded 4H]` or `[batch, padded outputs]`.
    y: Vec<f32>,
    /// `[batch, outputs]` logits of the last step.
    pub logits: Vec<f32>,
    /// Scratch space of a state that steps in int8 ([`Precision::Int8`]).
    int8: Option<Int8Scratch>,
}

impl FastState {
    /// Makes sequence `to` continue from where sequence `from_row` of `from` stands
    /// (recurrent state and last logits), as when a sampler tries continuations side by
    /// side and keeps one. Both states belong to the same network.
    pub fn copy_row(&mut self, to: usize, from: &FastState, from_row: usize) {
        for (dst, src) in self
            .h
            .iter_mut()
            .zip(&from.h)
            .chain(self.c.iter_mut().zip(&from.c))
        {
            let n = dst.len() / self.batch;
            dst[to * n..(to + 1) * n].copy_from_slice(&src[from_row * n..(from_row + 1) * n]);
        }
        let n = self.logits.len() / self.batch;
        self.logits[to * n..(to + 1) * n]
            .copy_from_slice(&from.logits[from_row * n..(from_row + 1) * n]);
    }

    /// Exchanges the recurrent state and last logits of sequences `a` and `b`.
    pub fn swap_rows(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        let (lo, hi) = (a.min(b), a.max(b));
        for buf in self.h.iter_mut().chain(self.c.iter_mut()) {
            let n = buf.len() / self.batch;
            swap_chunks(buf, n, lo, hi);
        }
        let n = self.logits.len() / self.batch;
        swap_chunks(&mut self.logits, n, lo, hi);
    }
}

/// Swaps chunks `lo < hi` of width `n` in `buf`.
fn swap_chunks(buf: &mut [f32], n: usize, lo: usize, hi: usize) {
    let (first, second) = buf.split_at_mut(hi * n);
    first[lo * n..(lo + 1) * n].swap_with_slice(&mut second[..n]);
}

/// A named tensor's values, checked for its shape (shared by the inference engine and the
/// fused trainer, which read the same model files).
pub(crate) fn tensor_values(
    tensors: &HashMap<String, Tensor>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, ModelError> {
    let t = crate::model::file::checked_tensor(tensors, name, shape)?;
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// `values` followed by zeros up to `len`.
fn padded(mut values: Vec<f32>, len: usize) -> Vec<f32> {
    values.resize(len, 0.0);
    values
}

impl FastLstm {
    /// Copies weights out of candle tensors (PyTorch names), checking every shape.
    pub fn from_tensors(
        config: &ModelConfig,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<Self, ModelError> {
        let (f, o, h) = (config.input_size(), config.output_size(), config.hidden);
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let input = if l == 0 { f } else { h };
            let w_ih = tensor_values(tensors, &format!("lstm.weight_ih_l{l}"), &[4 * h, input])?;
            let w_hh = tensor_values(tensors, &format!("lstm.weight_hh_l{l}"), &[4 * h, h])?;
            let b_ih = tensor_values(tensors, &format!("lstm.bias_ih_l{l}"), &[4 * h])?;
            let b_hh = tensor_values(tensors, &format!("lstm.bias_hh_l{l}"), &[4 * h])?;
            let weights = Panels::from_torch(
                &[(&w_ih, input), (&w_hh, h)],
                4 * h,
                if l == 0 { f } else { 0 },
            );
            let bias = b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect();
            layers.push(FastLayer {
                input,
                bias: padded(bias, weights.padded_cols()),
                weights,
            });
        }
        let out_w = tensor_values(tensors, "out.weight", &[o, h])?;
        let out_weights = Panels::from_torch(&[(&out_w, h)], o, 0);
        Ok(Self {
            config: config.clone(),
            layers,
            out_b: padded(
                tensor_values(tensors, "out.bias", &[o])?,
                out_weights.padded_cols(),
            ),
            out_weights,
            int8: OnceLock::new(),
        })
    }

    /// Loads a model file's bytes straight into the fast form.
    pub fn from_model_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let file = crate::model::read_model_bytes(bytes)?;
        Self::from_tensors(&file.config, &file.tensors)
    }

    /// Bytes of weights a step of one sequence reads: half as many when the model's weights
    /// are f16 values ([`Weights`]).
    pub fn weight_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.data.bytes())
            .chain([self.out_weights.data.bytes()])
            .sum()
    }

    /// The same network with every matrix held as f32, to show the f16 copies change nothing.
    pub fn widened(&self) -> Self {
        let widen = |p: &Panels| Panels {
            data: Weights {
                wide: p.data.wide.clone(),
                half: None,
            },
            ..p.clone()
        };
        let mut wide = self.clone();
        for layer in &mut wide.layers {
            layer.weights = widen(&layer.weights);
        }
        wide.out_weights = widen(&self.out_weights);
        wide
    }

    pub fn frame_size(&self) -> usize {
        self.config.frame_size()
    }

    /// Width of one input vector per sequence.
    pub fn input_size(&self) -> usize {
        self.config.input_size()
    }

    /// Logits per sequence and step.
    pub fn output_size(&self) -> usize {
        self.config.output_size()
    }

    /// Fresh zero state for `batch` sequences, stepping in f32 (the reference).
    pub fn state(&self, batch: usize) -> FastState {
        self.state_in(batch, Precision::F32)
    }

    /// Fresh zero state for `batch` sequences stepping in `precision`. Allocates (and, the
    /// first time a model is asked for int8, builds its int8 layers): make states off the
    /// audio thread. [`FastState::copy_row`] moves sequences between states of either
    /// precision.
    pub fn state_in(&self, batch: usize, precision: Precision) -> FastState {
        let h = self.config.hidden;
        let rows = self
            .layers
            .iter()
            .map(|l| l.weights.rows)
            .max()
            .unwrap_or(0);
        let y_pitch = self
            .layers
            .iter()
            .map(|l| l.weights.padded_cols())
            .chain([self.out_weights.padded_cols()])
            .max()
            .unwrap_or(0);
        FastState {
            batch,
            h: vec![vec![0.0; batch * h]; self.layers.len()],
            c: vec![vec![0.0; batch * h]; self.layers.len()],
            x: vec![0.0; batch * rows.max(h)],
            y: vec![0.0; batch * y_pitch],
            logits: vec![0.0; batch * self.output_size()],
            int8: (precision == Precision::Int8).then(|| {
                let layers = self.int8_layers();
                let input_pitch = layers.dense.iter().map(Int8Matrix::input_pitch).max();
                let output_pitch = layers.dense.iter().map(Int8Matrix::output_pitch).max();
                Int8Scratch::new(batch, input_pitch.unwrap_or(0), output_pitch.unwrap_or(0))
            }),
        }
    }

    fn int8_layers(&self) -> &Int8Layers {
        self.int8.get_or_init(|| Int8Layers {
            dense: self
                .layers
                .iter()
                .enumerate()
                .map(|(l, layer)| {
                    Int8Matrix::quantize(&layer.weights, if l == 0 { layer.input } else { 0 })
                })
                .collect(),
            frame_rows: self.layers[0].weights.top_rows(self.layers[0].input),
        })
    }

    /// Advances every sequence by one step. `frames` is `[batch, input_size]`; the logits
    /// of the next step (`[batch, output_size]`) are left in `state.logits`. Allocates
    /// nothing.
    pub fn step(&self, frames: &[f32], state: &mut FastState) {
        let batch = state.batch;
        self.step_with(Kernel::detect(), frames, state, batch);
    }

    /// Advances only the first `rows` sequences (`frames` is `[rows, input_size]`), as when
    /// the others have finished: a sampler keeps the sequences still running at the front
    /// ([`FastState::swap_rows`]), and each row's numbers are the same in any batch.
    pub fn step_rows(&self, frames: &[f32], state: &mut FastState, rows: usize) {
        assert!(rows <= state.batch);
        self.step_with(Kernel::detect(), frames, state, rows);
    }

    /// The names of the kernels this machine can run; [`FastLstm::step_named`] runs one.
    pub fn kernel_names() -> Vec<&'static str> {
        Kernel::available().map(|(name, _)| name).collect()
    }

    /// The step with the named kernel (from [`FastLstm::kernel_names`]), so tests can
    /// prove every compiled path gives the same bits.
    pub fn step_named(&self, kernel: &str, frames: &[f32], state: &mut FastState) {
        let (_, k) = Kernel::available()
            .find(|(name, _)| *name == kernel)
            .expect("a kernel from kernel_names()");
        let batch = state.batch;
        self.step_with(k, frames, state, batch);
    }

    fn step_with(&self, kernel: Kernel, frames: &[f32], state: &mut FastState, batch: usize) {
        assert_eq!(frames.len(), batch * self.input_size());
        if state.int8.is_some() {
            self.layers_int8(kernel, frames, state, batch);
        } else {
            self.layers_f32(kernel, frames, state, batch);
        }
        self.output_layer(kernel, state, batch);
    }

    fn layers_f32(&self, kernel: Kernel, frames: &[f32], state: &mut FastState, batch: usize) {
        let hidden = self.config.hidden;
        for (l, layer) in self.layers.iter().enumerate() {
            let rows = layer.weights.rows;
            let pitch = layer.weights.padded_cols();
            for b in 0..batch {
                let x = &mut state.x[b * rows..(b + 1) * rows];
                let input = if l == 0 {
                    &frames[b * layer.input..(b + 1) * layer.input]
                } else {
                    &state.h[l - 1][b * hidden..(b + 1) * hidden]
                };
                x[..layer.input].copy_from_slice(input);
                x[layer.input..].copy_from_slice(&state.h[l][b * hidden..(b + 1) * hidden]);
                state.y[b * pitch..(b + 1) * pitch].copy_from_slice(&layer.bias);
            }
            let y = &mut state.y[..batch * pitch];
            kernel.matmul(y, &state.x[..batch * rows], batch, &layer.weights);
            for b in 0..batch {
                kernel.cell(
                    &state.y[b * pitch..b * pitch + 4 * hidden],
                    &mut state.c[l][b * hidden..(b + 1) * hidden],
                    &mut state.h[l][b * hidden..(b + 1) * hidden],
                );
            }
        }
    }

    /// The layers of an int8 step: the frame rows in f32 as in [`Self::layers_f32`], then the
    /// dense rows' exact integer products, rescaled and added in the same order everywhere.
    fn layers_int8(&self, kernel: Kernel, frames: &[f32], state: &mut FastState, batch: usize) {
        let hidden = self.config.hidden;
        let int8 = self
            .int8
            .get()
            .expect("an int8 state's model has its int8 layers");
        let scratch = state.int8.as_mut().expect("an int8 state");
        for (l, (layer, dense)) in self.layers.iter().zip(&int8.dense).enumerate() {
            let pitch = layer.weights.padded_cols();
            for b in 0..batch {
                state.y[b * pitch..(b + 1) * pitch].copy_from_slice(&layer.bias);
            }
            let y = &mut state.y[..batch * pitch];
            if l == 0 {
                kernel.matmul(y, frames, batch, &int8.frame_rows);
            }
            for b in 0..batch {
                let own = &state.h[l][b * hidden..(b + 1) * hidden];
                let below = if l == 0 {
                    &[][..]
                } else {
                    &state.h[l - 1][b * hidden..(b + 1) * hidden]
                };
                scratch.round_inputs(b, below, own);
            }
            kernel.dot_int8(scratch, batch, dense);
            dense.add_rescaled(y, pitch, scratch, batch, 4 * hidden);
            for b in 0..batch {
                kernel.cell(
                    &state.y[b * pitch..b * pitch + 4 * hidden],
                    &mut state.c[l][b * hidden..(b + 1) * hidden],
                    &mut state.h[l][b * hidden..(b + 1) * hidden],
                );
            }
        }
    }

    /// The logits from the top layer's output, in f32 for every state.
    fn output_layer(&self, kernel: Kernel, state: &mut FastState, batch: usize) {
        let hidden = self.config.hidden;
        let outputs = self.output_size();
        let pitch = self.out_weights.padded_cols();
        for b in 0..batch {
            state.y[b * pitch..(b + 1) * pitch].copy_from_slice(&self.out_b);
        }
        let top = &state.h[self.layers.len() - 1][..batch * hidden];
        kernel.matmul(&mut state.y[..batch * pitch], top, batch, &self.out_weights);
        for b in 0..batch {
            state.logits[b * outputs..(b + 1) * outputs]
                .copy_from_slice(&state.y[b * pitch..b * pitch + outputs]);
        }
    }
}

/// `e^x` from basic IEEE operations only (exactly rounded on every platform), so results
/// are reproducible everywhere and the compiler can vectorize it: Cody-Waite range
/// reduction to `|r| <= ln 2 / 2` and a degree-6 polynomial (relative error below 2e-7).
/// It rounds with the `1.5 * 2^23` trick, not `floor`, which is a library call on baseline
/// x86-64 and would keep the cell loop from vectorizing.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0;
    // `max`/`min` rather than `clamp` and integer bit arithmetic rather than `as i32`: both
    // vectorize, where `clamp`'s and `as`'s NaN rules kept the loop scalar.
    #[allow(clippy::manual_clamp)] // measured: `clamp` keeps the loop scalar
    let x = x.max(-87.0).min(88.0);
    let shifted = x * LOG2E + ROUND;
    // The low mantissa bits of `shifted` hold n = round(x / ln 2) in two's complement.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(n_bits.wrapping_add(127) << 23)
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

/// `a * b + c` rounded once to the nearest f32 (ties to even): IEEE 754's fused
/// multiply-add, the same bits on every platform. The kernels must not rely on
/// `f32::mul_add` for this: where the target has no FMA instruction it calls the C
/// library's `fmaf`, and MinGW's (Windows GNU builds) is not correctly rounded, so a
/// Windows machine without FMA would generate other phrases than Linux. Where the compiler
/// is told the FMA instruction exists (x86-64 built with `+fma`, every AArch64) `mul_add`
/// is that instruction, which rounds correctly; elsewhere `libm::fmaf` computes it (pure
/// Rust, correctly rounded: f64 arithmetic corrected where it would round twice).
#[inline(always)]
fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(any(target_feature = "fma", target_arch = "aarch64"))]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(any(target_feature = "fma", target_arch = "aarch64")))]
    {
        libm::fmaf(a, b, c)
    }
}

/// Which compiled version of the kernels to run: chosen once per step.
#[derive(Clone, Copy)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    /// AVX2 + FMA, with AVX-512 for several sequences: 32 registers hold 16 accumulators.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// As `Avx512`, with VNNI's byte dot products for int8 steps.
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

/// AVX-512 VNNI and BW on top of AVX-512F: what the int8 kernel needs.
#[cfg(target_arch = "x86_64")]
fn vnni_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512vnni")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

/// AVX2 with FMA and F16C (every AVX2 processor has F16C): what the SIMD kernels need.
#[cfg(target_arch = "x86_64")]
fn simd_available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
}

impl Kernel {
    /// The fastest kernel this machine can run.
    fn detect() -> Self {
        Self::available().last().map_or(Self::Portable, |(_, k)| k)
    }

    /// Every kernel this machine can run, by name, the fastest last (for tests and
    /// benchmarks).
    fn available() -> impl Iterator<Item = (&'static str, Self)> {
        #[cfg(target_arch = "x86_64")]
        let simd = {
            let avx2 = simd_available();
            let avx512 = avx2 && std::arch::is_x86_feature_detected!("avx512f");
            [
                ("avx2", Self::Avx2Fma, avx2),
                ("avx512", Self::Avx512, avx512),
                ("avx512vnni", Self::Avx512Vnni, avx512 && vnni_available()),
            ]
        };
        #[cfg(not(target_arch = "x86_64"))]
        let simd: [(&'static str, Self, bool); 0] = [];
        let simd = simd.into_iter().filter(|&(_, _, can)| can);
        std::iter::once(("portable", Self::Portable)).chain(simd.map(|(name, k, _)| (name, k)))
    }

    /// `y[b][c] += sum_j x[b][j] * w[j][c]` for `batch` sequences; `y` rows have the
    /// padded pitch of `w`.
    #[inline]
    fn matmul(self, y: &mut [f32], x: &[f32], batch: usize, w: &Panels) {
        assert_eq!(x.len(), batch * w.rows);
        assert_eq!(y.len(), batch * w.padded_cols());
        assert_eq!(w.data.wide.len(), w.rows * w.padded_cols());
        let wide = &w.data.wide;
        match (self, &w.data.half) {
            (Self::Portable, Some(half)) if batch == 1 => matmul_portable(y, x, 1, w, half),
            (Self::Portable, _) => matmul_portable(y, x, batch, w, wide),
            // SAFETY: AVX2, FMA and F16C support were checked at run time in `detect`; the
            // buffer lengths the kernels rely on are asserted above.
            #[cfg(target_arch = "x86_64")]
            (Self::Avx2Fma | Self::Avx512 | Self::Avx512Vnni, Some(half)) if batch == 1 => unsafe {
                matmul_one_avx2(y, x, w, half)
            },
            #[cfg(target_arch = "x86_64")]
            (Self::Avx2Fma, _) => unsafe { matmul_avx2_fma(y, x, batch, w, wide) },
            // SAFETY: as above, with AVX-512F also checked in `detect`.
            #[cfg(target_arch = "x86_64")]
            (Self::Avx512 | Self::Avx512Vnni, _) if batch > 1 => unsafe {
                matmul_avx512(y, x, batch, w, wide)
            },
            #[cfg(target_arch = "x86_64")]
            (Self::Avx512 | Self::Avx512Vnni, _) => unsafe {
                matmul_avx2_fma(y, x, batch, w, wide)
            },
        }
    }

    /// The exact integer products of an int8 step, `scratch.dot = scratch.input * m`.
    #[inline]
    fn dot_int8(self, scratch: &mut Int8Scratch, batch: usize, m: &Int8Matrix) {
        match self {
            Self::Portable => int8::dot_portable(scratch, batch, m),
            // SAFETY: AVX2 support was checked at run time in `detect`; the kernel asserts
            // the buffer lengths it relies on.
            #[cfg(target_arch = "x86_64")]
            Self::Avx2Fma | Self::Avx512 => unsafe { int8::dot_avx2(scratch, batch, m) },
            // SAFETY: as above, with AVX-512 VNNI and BW checked in `detect`.
            #[cfg(target_arch = "x86_64")]
            Self::Avx512Vnni => unsafe { int8::dot_vnni(scratch, batch, m) },
        }
    }

    /// The LSTM cell: gates `[i f g o]` to new `c` and `h`.
    #[inline]
    fn cell(self, gates: &[f32], c: &mut [f32], h: &mut [f32]) {
        match self {
            Self::Portable => cell_body(gates, c, h, fma_f32),
            // SAFETY: AVX2 and FMA support were checked at run time in `detect`.
            #[cfg(target_arch = "x86_64")]
            Self::Avx2Fma | Self::Avx512 | Self::Avx512Vnni => unsafe {
                cell_avx2_fma(gates, c, h)
            },
        }
    }
}

/// The cell's arithmetic, written once: the compiler vectorizes it in the AVX2 build and
/// the results are the same IEEE operations in every build. `fma` is a correctly rounded
/// fused multiply-add: [`fma_f32`] in the portable build, the FMA instruction in the AVX2
/// one (the same bits, one instruction).
#[inline(always)]
fn cell_body(gates: &[f32], c: &mut [f32], h: &mut [f32], fma: impl Fn(f32, f32, f32) -> f32) {
    let hidden = c.len();
    let (i, rest) = gates[..4 * hidden].split_at(hidden);
    let (f, rest) = rest.split_at(hidden);
    let (g, o) = rest.split_at(hidden);
    for k in 0..hidden {
        let ck = fma(sigmoid(f[k]), c[k], sigmoid(i[k]) * tanh_f32(g[k]));
        c[k] = ck;
        h[k] = sigmoid(o[k]) * tanh_f32(ck);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn cell_avx2_fma(gates: &[f32], c: &mut [f32], h: &mut [f32]) {
    // `mul_add` is the FMA instruction here (this function is compiled with `fma`).
    cell_body(gates, c, h, f32::mul_add);
}

/// Reference matrix product: every output accumulates its terms in ascending input order
/// with fused multiply-adds ([`fma_f32`]: exactly rounded everywhere), skipping zero inputs (piano-roll
/// frames are mostly zeros, and `+ 0 * w` changes nothing). The SIMD kernel does exactly
/// these operations per output, so the two agree bit for bit.
fn matmul_portable<W: Weight>(y: &mut [f32], x: &[f32], batch: usize, w: &Panels, data: &[W]) {
    let (rows, pitch) = (w.rows, w.padded_cols());
    for b in 0..batch {
        let xb = &x[b * rows..(b + 1) * rows];
        let yb = &mut y[b * pitch..(b + 1) * pitch];
        for (p, y_panel) in yb.chunks_exact_mut(PANEL).enumerate() {
            let panel = &data[p * rows * PANEL..(p + 1) * rows * PANEL];
            for (j, &xj) in xb.iter().enumerate() {
                if xj == 0.0 {
                    continue;
                }
                let row = &panel[j * PANEL..(j + 1) * PANEL];
                for (acc, &wk) in y_panel.iter_mut().zip(row) {
                    *acc = fma_f32(xj, wk.value(), *acc);
                }
            }
        }
    }
}

/// Sequences that share one pass over the weights in the batched kernel.
#[cfg(target_arch = "x86_64")]
const CHUNK: usize = 4;

/// AVX2 + FMA matrix product. One sequence: a panel's 64 columns stay in 8 registers while
/// its rows stream by. Several: 16 columns for up to [`CHUNK`] sequences stay in registers,
/// so each weight row is fetched from memory once per step for the whole batch (the other
/// chunks re-read it from cache).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn matmul_avx2_fma(y: &mut [f32], x: &[f32], batch: usize, w: &Panels, data: &[f32]) {
    // SAFETY: as the caller's.
    unsafe {
        if batch == 1 {
            return matmul_one_avx2(y, x, w, data);
        }
        matmul_chunks::<__m256>(y, x, batch, w, data, CHUNK);
    }
}

/// One sequence, with weights of either kind: each panel's 64 columns in 8 registers,
/// `y[p * 64..][..64] += sum_j x[j] * panel_p[j][0..64]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn matmul_one_avx2<W: Weight>(y: &mut [f32], x: &[f32], w: &Panels, data: &[W]) {
    let rows = w.rows;
    for p in 0..w.padded_cols() / PANEL {
        let panel = &data[p * rows * PANEL..(p + 1) * rows * PANEL];
        let y = &mut y[p * PANEL..(p + 1) * PANEL];
        debug_assert!(panel.len() == x.len() * PANEL);
        // SAFETY: row `j` of the panel is `panel[j * 64..j * 64 + 64]` with `j < x.len()`
        // (`x` holds `rows` values), and `y` holds the panel's 64 columns (lengths asserted
        // by the caller).
        unsafe {
            let yp = y.as_mut_ptr();
            let mut acc = [_mm256_setzero_ps(); 8];
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm256_loadu_ps(yp.add(8 * r));
            }
            for (j, &xj) in x.iter().enumerate() {
                if xj == 0.0 {
                    continue;
                }
                let xv = _mm256_set1_ps(xj);
                let wp = panel.as_ptr().add(j * PANEL);
                for (r, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(xv, W::load8(wp.add(8 * r)), *a);
                }
            }
            for (r, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(yp.add(8 * r), *a);
            }
        }
    }
}

/// AVX-512 matrix product for several sequences: 32 columns of up to 8 sequences stay in
/// 16 registers, so the FMA latency is hidden and each weight row is loaded once per step
/// for the whole batch. Same per-output operations as [`matmul_portable`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn matmul_avx512(y: &mut [f32], x: &[f32], batch: usize, w: &Panels, data: &[f32]) {
    // SAFETY: as the caller's.
    unsafe { matmul_chunks::<__m512>(y, x, batch, w, data, 8) }
}

/// The batched product of [`matmul_avx2_fma`] and [`matmul_avx512`]: `2 * V::WIDTH` columns
/// at a time, for up to `most` sequences at once ([`chunk`]). The caller enables `V`'s
/// features and asserted the buffers' lengths (this is inlined into its kernel).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn matmul_chunks<V: Lanes>(
    y: &mut [f32],
    x: &[f32],
    batch: usize,
    w: &Panels,
    data: &[f32],
    most: usize,
) {
    for col in (0..w.padded_cols()).step_by(2 * V::WIDTH) {
        let mut b0 = 0;
        while b0 < batch {
            let n = (batch - b0).min(most);
            let (a, w_col) = w.block(data, b0, col);
            // SAFETY: sequences `b0..b0 + n` and columns `col..col + 2 * V::WIDTH` lie inside
            // the buffers whose lengths the caller asserted.
            unsafe { chunk::<V>(n, y, x, w_col, a) };
            b0 += n;
        }
    }
}

/// A SIMD register of f32 lanes for [`chunk`]: AVX's 8 or AVX-512's 16. Each method is the
/// intrinsic of its name, so the caller enables the register's features.
#[cfg(target_arch = "x86_64")]
pub(crate) trait Lanes: Copy {
    const WIDTH: usize;
    unsafe fn splat(v: f32) -> Self;
    unsafe fn load(p: *const f32) -> Self;
    unsafe fn store(self, p: *mut f32);
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self;
}

#[cfg(target_arch = "x86_64")]
impl Lanes for __m256 {
    const WIDTH: usize = 8;
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        unsafe { _mm256_set1_ps(v) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm256_storeu_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for __m512 {
    const WIDTH: usize = 16;
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        unsafe { _mm512_set1_ps(v) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm512_storeu_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
}

/// Where [`chunk`] finds its sequences' inputs and outputs and its weight rows (distances
/// in f32 values).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Block {
    /// The first sequence and the first output column.
    pub b0: usize,
    pub col: usize,
    pub x_stride: usize,
    pub y_stride: usize,
    /// Weight rows (inputs per sequence) and the distance between two of them.
    pub rows: usize,
    pub w_stride: usize,
    /// Leading rows tested for zero (mostly zero frame rows); the others are dense and
    /// testing would only cost time.
    pub sparse_rows: usize,
}

#[cfg(target_arch = "x86_64")]
impl Panels {
    /// The [`Block`] of a step's sequences from `b0` and columns from `col`, with its weights
    /// in `data` (this matrix's values) from row 0 of column `col`.
    fn block<'d>(&self, data: &'d [f32], b0: usize, col: usize) -> (Block, &'d [f32]) {
        let block = Block {
            b0,
            col,
            x_stride: self.rows,
            y_stride: self.padded_cols(),
            rows: self.rows,
            w_stride: PANEL,
            sparse_rows: self.sparse_rows,
        };
        (
            block,
            &data[col / PANEL * self.rows * PANEL + col % PANEL..],
        )
    }
}

/// [`chunk_of`] for the `n` (at most 8) sequences from `a.b0`: the same contract.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn chunk<V: Lanes>(n: usize, y: &mut [f32], x: &[f32], w: &[f32], a: Block) {
    // SAFETY: the caller's contract.
    unsafe {
        match n {
            1 => chunk_of::<V, 1>(y, x, w, a),
            2 => chunk_of::<V, 2>(y, x, w, a),
            3 => chunk_of::<V, 3>(y, x, w, a),
            4 => chunk_of::<V, 4>(y, x, w, a),
            5 => chunk_of::<V, 5>(y, x, w, a),
            6 => chunk_of::<V, 6>(y, x, w, a),
            7 => chunk_of::<V, 7>(y, x, w, a),
            _ => chunk_of::<V, 8>(y, x, w, a),
        }
    }
}

/// `y[b][c] += sum_j x[b][j] * w[j][c]` for the `N` sequences `b` from `a.b0` and the
/// `2 * V::WIDTH` columns from `a.col`, accumulated in `2N` registers while the weight rows
/// stream by; `w` starts at row 0 of the first of those columns. A sparse row is skipped
/// when it is zero for all `N`; otherwise a zero input adds `0 * w`, which changes no value.
/// The caller enables `V`'s features (this is inlined into its kernel).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn chunk_of<V: Lanes, const N: usize>(y: &mut [f32], x: &[f32], w: &[f32], a: Block) {
    let width = 2 * V::WIDTH;
    debug_assert!((a.b0 + N - 1) * a.x_stride + a.rows <= x.len());
    debug_assert!((a.b0 + N - 1) * a.y_stride + a.col + width <= y.len());
    debug_assert!(a.rows == 0 || (a.rows - 1) * a.w_stride + width <= w.len());
    // SAFETY: sequence `b0 + n` reads `x[(b0 + n) * x_stride + j]` (`j < rows`) and writes
    // `y[(b0 + n) * y_stride + col..+width]`; row `j` is `w[j * w_stride..+width]` (the
    // caller's contract, checked above in debug builds).
    unsafe {
        let mut acc = [[V::splat(0.0); 2]; N];
        for (n, acc) in acc.iter_mut().enumerate() {
            let yp = y.as_ptr().add((a.b0 + n) * a.y_stride + a.col);
            *acc = [V::load(yp), V::load(yp.add(V::WIDTH))];
        }
        let xp = x.as_ptr().add(a.b0 * a.x_stride);
        macro_rules! row {
            ($j:expr) => {{
                let wp = w.as_ptr().add($j * a.w_stride);
                let (w0, w1) = (V::load(wp), V::load(wp.add(V::WIDTH)));
                for (n, acc) in acc.iter_mut().enumerate() {
                    let xv = V::splat(*xp.add(n * a.x_stride + $j));
                    acc[0] = V::fmadd(xv, w0, acc[0]);
                    acc[1] = V::fmadd(xv, w1, acc[1]);
                }
            }};
        }
        for j in 0..a.sparse_rows {
            if (0..N).any(|n| *xp.add(n * a.x_stride + j) != 0.0) {
                row!(j);
            }
        }
        for j in a.sparse_rows..a.rows {
            row!(j);
        }
        for (n, acc) in acc.iter().enumerate() {
            let yp = y.as_mut_ptr().add((a.b0 + n) * a.y_stride + a.col);
            acc[0].store(yp);
            acc[1].store(yp.add(V::WIDTH));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64: the test inputs, the same on every run.
    struct Bits(u64);

    impl Bits {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// A random sign and significand times `2^e`, `e` (the leading bit's exponent) drawn
        /// from `lowest..lowest + span`.
        fn scaled(&mut self, lowest: i32, span: u64) -> f32 {
            let exponent = lowest + self.below(span) as i32;
            let sign = if self.next() & 1 == 0 { 1.0 } else { -1.0 };
            let m = (self.next() >> 40) as f64 / (1u64 << 24) as f64 + 1.0;
            (sign * m * 2f64.powi(exponent)) as f32
        }

        /// A random sign times an integer of `bits` bits (leading bit set) times `2^shift`,
        /// `shift` drawn from `lowest..lowest + span`.
        fn short(&mut self, bits: u32, lowest: i32, span: u64) -> f32 {
            let shift = lowest + self.below(span) as i32;
            let m = (self.next() >> (64 - bits)) | (1 << (bits - 1));
            let sign = if self.next() & 1 == 0 { 1.0 } else { -1.0 };
            (sign * m as f64 * 2f64.powi(shift)) as f32
        }
    }

    /// Values where fused multiply-adds go wrong: zeros, subnormals, the normal range's ends,
    /// neighbours of 1, infinities and NaN, with both signs.
    fn edge_values() -> Vec<f32> {
        let positive = [
            0.0,
            f32::from_bits(1),
            f32::from_bits(2),
            f32::from_bits(0x007F_FFFF),
            f32::MIN_POSITIVE,
            f32::from_bits(0x0080_0001),
            2f32.powi(-75),
            f32::EPSILON,
            0.1,
            1.0 - f32::EPSILON / 2.0,
            1.0,
            1.0 + f32::EPSILON,
            1.5,
            3.0,
            2f32.powi(64),
            f32::from_bits(0x7F7F_FFFE),
            f32::MAX,
            f32::INFINITY,
        ];
        let mut values: Vec<f32> = positive.iter().flat_map(|&v| [v, -v]).collect();
        values.push(f32::NAN);
        values
    }

    type Fma = fn(f32, f32, f32) -> f32;

    /// Fused multiply-adds known to be correctly rounded here: the FMA instruction where the
    /// CPU has it, and `f32::mul_add` (the instruction, or the C library's `fmaf`) except on
    /// Windows, whose MinGW `fmaf` is what `libm::fmaf` replaces.
    fn reference_fmas() -> Vec<(&'static str, Fma)> {
        let mut references: Vec<(&'static str, Fma)> = Vec::new();
        if !cfg!(windows) {
            references.push(("f32::mul_add", f32::mul_add));
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") {
            #[target_feature(enable = "fma")]
            unsafe fn instruction(a: f32, b: f32, c: f32) -> f32 {
                use std::arch::x86_64::*;
                _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)))
            }
            // SAFETY: the CPU has FMA (checked just above).
            references.push(("vfmadd", |a, b, c| unsafe { instruction(a, b, c) }));
        }
        references
    }

    /// The test inputs: every triple of edge values, random bit patterns, and random values
    /// aimed at the hard cases (cancellation, ties met by double rounding, subnormal and
    /// overflowing results).
    fn fma_inputs() -> Vec<[f32; 3]> {
        let mut inputs = Vec::new();
        let edges = edge_values();
        for &a in &edges {
            for &b in &edges {
                for &c in &edges {
                    inputs.push([a, b, c]);
                }
            }
        }
        let mut r = Bits(0x5EED);
        for _ in 0..300_000 {
            let [a, b, c] = [0; 3].map(|_| f32::from_bits(r.next() as u32));
            inputs.push([a, b, c]);
        }
        for _ in 0..150_000 {
            // Anything from subnormal to overflowing, products and addends of any size.
            let [a, b, c] = [0; 3].map(|_| r.scaled(-160, 300));
            inputs.push([a, b, c]);
        }
        for _ in 0..200_000 {
            // The addend cancels the product to within a few ulps.
            let (a, b) = (r.scaled(-20, 40), r.scaled(-20, 40));
            let near = -((f64::from(a) * f64::from(b)) as f32);
            let c = f32::from_bits(
                near.to_bits()
                    .wrapping_add(r.below(9) as u32)
                    .wrapping_sub(4),
            );
            inputs.push([a, b, c]);
        }
        for _ in 0..250_000 {
            // Short significands make products of 25 or 26 bits, often exactly an f32 tie; an
            // addend far below the product's last bit moves it just off the tie.
            let (a, b) = (r.short(13, -10, 20), r.short(13, 0, 1));
            let p = f64::from(a) * f64::from(b);
            let below = 24 + r.below(60) as i32;
            let c = r.scaled(p.abs().log2().floor() as i32 - below, 1);
            inputs.push([a, b, c]);
        }
        for _ in 0..100_000 {
            // Subnormal results.
            let (a, b) = (r.scaled(-90, 30), r.scaled(-70, 30));
            let c = f32::from_bits(r.next() as u32 & 0x807F_FFFF);
            inputs.push([a, b, c]);
        }
        for _ in 0..50_000 {
            // Results about the overflow threshold.
            let (a, b) = (r.scaled(64, 1), r.scaled(63, 1));
            let c = r.scaled(126, 2);
            inputs.push([a, b, c]);
        }
        inputs
    }

    #[test]
    fn fma_f32_is_a_correctly_rounded_fused_multiply_add() {
        let references = reference_fmas();
        assert!(
            !references.is_empty() || cfg!(windows),
            "no correctly rounded reference"
        );
        let inputs = fma_inputs();
        assert!(inputs.len() >= 1_000_000, "{} inputs", inputs.len());
        let same = |x: f32, y: f32| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
        let mut naive_wrong = 0;
        for (name, reference) in &references {
            for &[a, b, c] in &inputs {
                let (got, want) = (fma_f32(a, b, c), reference(a, b, c));
                assert!(
                    same(got, want),
                    "fma_f32({a:e}, {b:e}, {c:e}) = {got:e}, {name} gives {want:e}"
                );
                let naive = (f64::from(a) * f64::from(b) + f64::from(c)) as f32;
                naive_wrong += usize::from(!same(naive, want));
            }
        }
        // The inputs reach the double rounding a correctly rounded fma must avoid.
        assert!(
            references.is_empty() || naive_wrong > 1000,
            "only {naive_wrong} inputs are rounded twice by plain f64 arithmetic"
        );
        eprintln!(
            "{} inputs against {:?}; plain f64 arithmetic got {naive_wrong} wrong",
            inputs.len(),
            references.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
    }

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
