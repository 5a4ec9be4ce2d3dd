//! A stacked LSTM for training, in plain f32 buffers: the forward pass and the backward pass
//! through time in a few large matrix products.
//!
//! Candle's autograd runs a recurrent network as thousands of small tensor operations per
//! batch, each paying dispatch and thread-pool costs larger than its arithmetic. Here each
//! layer's input projection over a whole window is one matrix product, each time step is one
//! register-blocked product with the recurrent weights plus one fused element-wise cell, and
//! the backward pass (the gradients of the standard LSTM equations, written out) again does
//! the weight gradients as whole-window products. Whole-window products use the `gemm` crate
//! (the one candle uses), which allocates on every call; the per-step products use a
//! register-blocked kernel over weights packed once per batch into column panels, so
//! nothing is allocated per time step. Every buffer lives in an [`LstmTape`] reused from
//! batch to batch. Candle (`crate::model::lstm`) stays the source of truth: tests check these
//! outputs and gradients against its autograd.
//!
//! The module knows nothing of piano rolls or output heads: it maps an input sequence
//! `[time, batch, input]` (time-major) to the top layer's hidden states
//! `[time, batch, hidden]`, and a gradient with respect to those back to parameter gradients
//! (and, on request, to the input). Weights use PyTorch's `nn.LSTM` layout and gate order
//! (i, f, g, o); every sequence starts from a zero state.

#[cfg(target_arch = "x86_64")]
use crate::infer::{chunk, Block};
use crate::infer::{sigmoid, tanh_f32};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::__m256;

/// Sizes of a stack of LSTM layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmShape {
    /// Inputs of the first layer.
    pub input: usize,
    /// Hidden units of every layer.
    pub hidden: usize,
    pub layers: usize,
}

impl LstmShape {
    /// Inputs of `layer`: the stack's input for the first, the hidden state below otherwise.
    pub fn layer_input(&self, layer: usize) -> usize {
        if layer == 0 {
            self.input
        } else {
            self.hidden
        }
    }
}

/// One layer's parameters (or their gradients) in PyTorch's layout: `w_ih` `[4H, in]`,
/// `w_hh` `[4H, H]`, `b_ih` and `b_hh` `[4H]`, gates i, f, g, o.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmLayerParams {
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
}

/// The stack's parameters (or their gradients), layer by layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmParams {
    pub shape: LstmShape,
    pub layers: Vec<LstmLayerParams>,
}

impl LstmParams {
    /// All zeros (a gradient accumulator).
    pub fn zeros(shape: LstmShape) -> Self {
        let g4 = 4 * shape.hidden;
        let layers = (0..shape.layers)
            .map(|l| LstmLayerParams {
                w_ih: vec![0.0; g4 * shape.layer_input(l)],
                w_hh: vec![0.0; g4 * shape.hidden],
                b_ih: vec![0.0; g4],
                b_hh: vec![0.0; g4],
            })
            .collect();
        Self { shape, layers }
    }

    /// Every tensor with its PyTorch name (`weight_ih_l0`, ...) and shape, in a fixed order.
    pub fn named(&self) -> Vec<(String, Vec<usize>, &[f32])> {
        let (h, g4) = (self.shape.hidden, 4 * self.shape.hidden);
        let mut out = Vec::with_capacity(4 * self.layers.len());
        for (l, p) in self.layers.iter().enumerate() {
            let input = self.shape.layer_input(l);
            out.push((format!("weight_ih_l{l}"), vec![g4, input], &p.w_ih[..]));
            out.push((format!("weight_hh_l{l}"), vec![g4, h], &p.w_hh[..]));
            out.push((format!("bias_ih_l{l}"), vec![g4], &p.b_ih[..]));
            out.push((format!("bias_hh_l{l}"), vec![g4], &p.b_hh[..]));
        }
        out
    }

    /// Every tensor, mutable, in the order of [`Self::named`] (for optimizers).
    pub fn tensors_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.layers.iter_mut().flat_map(|p| {
            [
                &mut p.w_ih[..],
                &mut p.w_hh[..],
                &mut p.b_ih[..],
                &mut p.b_hh[..],
            ]
        })
    }

    /// Every tensor in the order of [`Self::named`].
    pub fn tensors(&self) -> impl Iterator<Item = &[f32]> {
        self.layers
            .iter()
            .flat_map(|p| [&p.w_ih[..], &p.w_hh[..], &p.b_ih[..], &p.b_hh[..]])
    }
}

/// The stack with its parameters and the copies of them the passes read: transposed
/// recurrent and input weights and the summed biases, refreshed on every parameter update.
#[derive(Clone, Debug)]
pub struct LstmStack {
    params: LstmParams,
    /// Per layer, `W_hh` transposed `[H, 4H]` in panels: the forward step's right-hand side.
    w_hh_forward: Vec<Panels>,
    /// Per layer, `W_hh` `[4H, H]` in panels: the backward step's right-hand side.
    w_hh_backward: Vec<Panels>,
    /// `W_ih` of the first layer transposed `[in, 4H]`: rows added one by one for sparse
    /// inputs.
    w_ih0_t: Vec<f32>,
    /// Per layer, `b_ih + b_hh`.
    bias: Vec<Vec<f32>>,
}

/// Inputs with at most this share of non-zeros take the sparse path in the first layer
/// (piano-roll frames are a few percent ones): one row of `W_ih` added per non-zero input
/// instead of a dense product.
const SPARSE_MAX_DENSITY: f64 = 0.25;

impl LstmStack {
    /// Panics if a tensor's length does not match `params.shape` (a programming error: the
    /// callers build parameters from checked shapes).
    pub fn new(params: LstmParams) -> Self {
        let shape = params.shape;
        assert_eq!(params.layers.len(), shape.layers);
        let g4 = 4 * shape.hidden;
        for (l, p) in params.layers.iter().enumerate() {
            assert_eq!(p.w_ih.len(), g4 * shape.layer_input(l), "weight_ih_l{l}");
            assert_eq!(p.w_hh.len(), g4 * shape.hidden, "weight_hh_l{l}");
            assert_eq!(
                (p.b_ih.len(), p.b_hh.len()),
                (g4, g4),
                "biases of layer {l}"
            );
        }
        let mut stack = Self {
            params,
            w_hh_forward: vec![Panels::default(); shape.layers],
            w_hh_backward: vec![Panels::default(); shape.layers],
            w_ih0_t: Vec::new(),
            bias: vec![Vec::new(); shape.layers],
        };
        stack.refresh();
        stack
    }

    pub fn shape(&self) -> LstmShape {
        self.params.shape
    }

    pub fn params(&self) -> &LstmParams {
        &self.params
    }

    /// Changes the parameters (an optimizer step) and refreshes the derived copies.
    pub fn update(&mut self, f: impl FnOnce(&mut LstmParams)) {
        f(&mut self.params);
        self.refresh();
    }

    fn refresh(&mut self) {
        let shape = self.params.shape;
        let (h, g4) = (shape.hidden, 4 * shape.hidden);
        for (l, p) in self.params.layers.iter().enumerate() {
            // Element (j, n) of W_hh^T is W_hh[n][j]; element (n, j) of W_hh likewise.
            self.w_hh_forward[l].pack(&p.w_hh, h, g4, 1, h);
            self.w_hh_backward[l].pack(&p.w_hh, g4, h, h, 1);
            self.bias[l].clear();
            self.bias[l].extend(p.b_ih.iter().zip(&p.b_hh).map(|(a, b)| a + b));
        }
        if let Some(p) = self.params.layers.first() {
            transpose(&p.w_ih, g4, shape.input, &mut self.w_ih0_t);
        }
    }

    /// Runs `x` `[time, batch, input]` through the stack from a zero state, recording what
    /// the backward pass needs in `tape`, and returns the top layer's hidden states
    /// `[time, batch, hidden]`.
    pub fn forward<'t>(
        &self,
        x: &[f32],
        time: usize,
        batch: usize,
        tape: &'t mut LstmTape,
    ) -> &'t [f32] {
        self.forward_with_dropout(x, time, batch, tape, None)
    }

    /// [`Self::forward`] with dropout between layers: `between` holds, for each layer above
    /// the first, a factor per input `[time, batch, hidden]` (0 or `1 / (1 - rate)`,
    /// inverted dropout), layer after layer; the layer's input is the hidden state below
    /// times the factor. [`Self::backward`] then follows the same masks.
    pub fn forward_with_dropout<'t>(
        &self,
        x: &[f32],
        time: usize,
        batch: usize,
        tape: &'t mut LstmTape,
        between: Option<&[f32]>,
    ) -> &'t [f32] {
        let shape = self.params.shape;
        assert_eq!(x.len(), time * batch * shape.input, "input length");
        tape.resize(shape, time, batch);
        let per_layer = time * batch * shape.hidden;
        tape.between.clear();
        if let Some(m) = between {
            assert_eq!(
                m.len(),
                shape.layers.saturating_sub(1) * per_layer,
                "dropout mask length"
            );
            tape.between.extend_from_slice(m);
        }
        let (h, g4, rows) = (shape.hidden, 4 * shape.hidden, time * batch);
        tape.sparse.collect(x, shape.input);
        for l in 0..shape.layers {
            let p = &self.params.layers[l];
            let (below, here) = tape.layers.split_at_mut(l);
            let lt = &mut here[0];
            let input = shape.layer_input(l);
            if l > 0 && !tape.between.is_empty() {
                let mask = &tape.between[(l - 1) * per_layer..l * per_layer];
                lt.input.clear();
                lt.input.extend(
                    below[l - 1].h[batch * h..]
                        .iter()
                        .zip(mask)
                        .map(|(v, m)| v * m),
                );
            }
            let x_l: &[f32] = if l == 0 {
                x
            } else if !tape.between.is_empty() {
                &lt.input
            } else {
                &below[l - 1].h[batch * h..]
            };
            for row in lt.gates.chunks_exact_mut(g4) {
                row.copy_from_slice(&self.bias[l]);
            }
            if l == 0 && tape.sparse.active {
                for r in 0..rows {
                    let gates = &mut lt.gates[r * g4..(r + 1) * g4];
                    for (j, v) in tape.sparse.row(r) {
                        axpy(gates, v, &self.w_ih0_t[j * g4..(j + 1) * g4]);
                    }
                }
            } else {
                matmul(
                    &mut lt.gates,
                    MatRef::row_major(x_l, rows, input),
                    MatRef::row_major(&p.w_ih, g4, input).t(),
                    true,
                );
            }
            self.cells_forward(l, lt, time, batch);
        }
        &tape.layers[shape.layers - 1].h[batch * h..]
    }

    /// The backward pass of the last [`Self::forward`] recorded in `tape`: `d_top` is the
    /// gradient of the loss with respect to the top hidden states `[time, batch, hidden]`.
    /// Parameter gradients are added to `grads`; the gradient with respect to the input is
    /// written to `d_x` when given. Overwrites the tape (one backward pass per forward).
    pub fn backward(
        &self,
        x: &[f32],
        tape: &mut LstmTape,
        d_top: &[f32],
        grads: &mut LstmParams,
        mut d_x: Option<&mut [f32]>,
    ) {
        let shape = self.params.shape;
        let (time, batch) = (tape.time, tape.batch);
        let (h, g4, rows) = (shape.hidden, 4 * shape.hidden, time * batch);
        assert_eq!(grads.shape, shape, "gradient shape");
        assert_eq!(x.len(), rows * shape.input, "input length");
        assert_eq!(d_top.len(), rows * h, "output gradient length");
        tape.d_h.copy_from_slice(d_top);
        for l in (0..shape.layers).rev() {
            let p = &self.params.layers[l];
            let g = &mut grads.layers[l];
            let (below, here) = tape.layers.split_at_mut(l);
            let lt = &mut here[0];
            let input = shape.layer_input(l);
            tape.d_c.fill(0.0);
            self.cells_backward(l, lt, &mut tape.d_h, &mut tape.d_c, time, batch);
            // `lt.gates` now holds the gradient with respect to the gate pre-activations.
            let d_gates = &lt.gates[..];
            let x_l: &[f32] = if l == 0 {
                x
            } else if !tape.between.is_empty() {
                &lt.input
            } else {
                &below[l - 1].h[batch * h..]
            };
            let sparse = (l == 0 && tape.sparse.active).then_some(&tape.sparse);
            weight_grads(
                g,
                d_gates,
                &lt.h,
                x_l,
                sparse,
                (&mut tape.d_w_ih_t, &mut tape.d_bias),
                (time, batch, h, input),
            );
            // The gradient with respect to this layer's input: the layer below's output
            // gradient, or the caller's `d_x`.
            let d_input: Option<&mut [f32]> = if l > 0 {
                Some(&mut tape.d_h[..])
            } else {
                d_x.as_deref_mut()
            };
            if let Some(d_input) = d_input {
                assert_eq!(d_input.len(), rows * input, "input gradient length");
                matmul(
                    d_input,
                    MatRef::row_major(d_gates, rows, g4),
                    MatRef::row_major(&p.w_ih, g4, input),
                    false,
                );
                if l > 0 && !tape.between.is_empty() {
                    let mask = &tape.between[(l - 1) * rows * h..l * rows * h];
                    d_input.iter_mut().zip(mask).for_each(|(d, m)| *d *= m);
                }
            }
        }
    }

    /// Forward through layer `l`'s time steps, its input products already in `lt.gates`:
    /// the recurrent product, then each cell, writing `c`, `tanh_c` and `h`.
    fn cells_forward(&self, l: usize, lt: &mut LayerTape, time: usize, batch: usize) {
        let h = self.params.shape.hidden;
        let g4 = 4 * h;
        for t in 0..time {
            let gates = &mut lt.gates[t * batch * g4..(t + 1) * batch * g4];
            if t > 0 {
                let h_prev = &lt.h[t * batch * h..(t + 1) * batch * h];
                step_matmul(gates, g4, h_prev, h, batch, &self.w_hh_forward[l]);
            }
            let (c_prev, c_next) = lt.c.split_at_mut((t + 1) * batch * h);
            let c_prev = &c_prev[t * batch * h..];
            let h_out = &mut lt.h[(t + 1) * batch * h..(t + 2) * batch * h];
            let tanh_c = &mut lt.tanh_c[t * batch * h..(t + 1) * batch * h];
            for s in 0..batch {
                let span = s * h..(s + 1) * h;
                cell_forward(
                    &mut gates[s * g4..(s + 1) * g4],
                    &c_prev[span.clone()],
                    &mut c_next[span.clone()],
                    &mut tanh_c[span.clone()],
                    &mut h_out[span],
                );
            }
        }
    }

    /// Back through layer `l`'s time steps: `d_h` holds the gradient with respect to its
    /// outputs (plus, step by step, the recurrent path); the gate pre-activations'
    /// gradient is left in `lt.gates`.
    fn cells_backward(
        &self,
        l: usize,
        lt: &mut LayerTape,
        d_h_all: &mut [f32],
        d_c: &mut [f32],
        time: usize,
        batch: usize,
    ) {
        let h = self.params.shape.hidden;
        let g4 = 4 * h;
        for t in (0..time).rev() {
            let (now, later) = lt.gates.split_at_mut((t + 1) * batch * g4);
            let d_h = &mut d_h_all[t * batch * h..(t + 1) * batch * h];
            if t + 1 < time {
                // The recurrent path: d h_t += dA_{t+1} W_hh.
                let d_next = &later[..batch * g4];
                step_matmul(d_h, h, d_next, g4, batch, &self.w_hh_backward[l]);
            }
            let gates = &mut now[t * batch * g4..];
            let c_prev = &lt.c[t * batch * h..(t + 1) * batch * h];
            let tanh_c = &lt.tanh_c[t * batch * h..(t + 1) * batch * h];
            for s in 0..batch {
                let span = s * h..(s + 1) * h;
                cell_backward(
                    &mut gates[s * g4..(s + 1) * g4],
                    &c_prev[span.clone()],
                    &tanh_c[span.clone()],
                    &d_h[span.clone()],
                    &mut d_c[span],
                );
            }
        }
    }
}

/// One layer's weight and bias gradients from its gate gradients `d_gates`: `W_hh` from the
/// previous hidden states `h`, `W_ih` from the inputs `x_l` (through the sparse rows of the
/// first layer when its input is sparse), both biases from the column sums.
fn weight_grads(
    g: &mut LstmLayerParams,
    d_gates: &[f32],
    h_states: &[f32],
    x_l: &[f32],
    sparse: Option<&SparseRows>,
    (acc, d_bias): (&mut Vec<f32>, &mut Vec<f32>),
    (time, batch, h, input): (usize, usize, usize, usize),
) {
    let (g4, rows) = (4 * h, time * batch);
    if time > 1 {
        // h_{t-1} is in slot t of `lt.h`: steps 1.. pair with slots 1..time.
        matmul(
            &mut g.w_hh,
            MatRef::row_major(&d_gates[batch * g4..], rows - batch, g4).t(),
            MatRef::row_major(&h_states[batch * h..time * batch * h], rows - batch, h),
            true,
        );
    }
    if let Some(sparse) = sparse {
        acc.clear();
        acc.resize(input * g4, 0.0);
        for r in 0..rows {
            let d_row = &d_gates[r * g4..(r + 1) * g4];
            for (j, v) in sparse.row(r) {
                axpy(&mut acc[j * g4..(j + 1) * g4], v, d_row);
            }
        }
        for (n, w_row) in g.w_ih.chunks_exact_mut(input).enumerate() {
            for (j, w) in w_row.iter_mut().enumerate() {
                *w += acc[j * g4 + n];
            }
        }
    } else {
        matmul(
            &mut g.w_ih,
            MatRef::row_major(d_gates, rows, g4).t(),
            MatRef::row_major(x_l, rows, input),
            true,
        );
    }
    d_bias.clear();
    d_bias.resize(g4, 0.0);
    for row in d_gates.chunks_exact(g4) {
        d_bias.iter_mut().zip(row).for_each(|(a, b)| *a += b);
    }
    for b in [&mut g.b_ih, &mut g.b_hh] {
        b.iter_mut().zip(d_bias.iter()).for_each(|(b, d)| *b += d);
    }
}

/// What a forward pass records for the backward pass, and the backward pass's scratch
/// space. Sized on first use for a (time, batch) and reused: nothing is allocated per step,
/// nor per batch once the sizes are stable.
#[derive(Clone, Debug, Default)]
pub struct LstmTape {
    time: usize,
    batch: usize,
    layers: Vec<LayerTape>,
    /// Gradient with respect to the current layer's outputs `[time, batch, H]`.
    d_h: Vec<f32>,
    /// Gradient with respect to the cell state flowing back one step `[batch, H]`.
    d_c: Vec<f32>,
    d_bias: Vec<f32>,
    /// `[in, 4H]` accumulator of the first layer's input-weight gradient (sparse inputs).
    d_w_ih_t: Vec<f32>,
    sparse: SparseRows,
    /// Dropout factors between layers of the last forward pass (empty: no dropout).
    between: Vec<f32>,
}

#[derive(Clone, Debug, Default)]
struct LayerTape {
    /// `[time, batch, 4H]`: gate activations i, f, g, o after the forward pass; gradients
    /// with respect to the pre-activations after the backward pass.
    gates: Vec<f32>,
    /// `[time + 1, batch, H]`: slot 0 is the initial (zero) cell state, slot t + 1 step t's.
    c: Vec<f32>,
    /// `[time, batch, H]`: tanh of step t's cell state.
    tanh_c: Vec<f32>,
    /// `[time + 1, batch, H]`: slot 0 is the initial (zero) hidden state, slot t + 1 step t's.
    h: Vec<f32>,
    /// `[time, batch, H]`: this layer's input after dropout (layers above the first, when
    /// dropout is on).
    input: Vec<f32>,
}

impl LstmTape {
    fn resize(&mut self, shape: LstmShape, time: usize, batch: usize) {
        let (h, g4) = (shape.hidden, 4 * shape.hidden);
        self.time = time;
        self.batch = batch;
        self.layers.resize_with(shape.layers, LayerTape::default);
        let fit = |v: &mut Vec<f32>, len: usize| {
            v.clear();
            v.resize(len, 0.0);
        };
        for lt in &mut self.layers {
            fit(&mut lt.gates, time * batch * g4);
            fit(&mut lt.c, (time + 1) * batch * h);
            fit(&mut lt.tanh_c, time * batch * h);
            fit(&mut lt.h, (time + 1) * batch * h);
        }
        fit(&mut self.d_h, time * batch * h);
        fit(&mut self.d_c, batch * h);
    }
}

/// The non-zero inputs of each row when they are few (compressed rows).
#[derive(Clone, Debug, Default)]
struct SparseRows {
    active: bool,
    row_start: Vec<usize>,
    cols: Vec<usize>,
    values: Vec<f32>,
}

impl SparseRows {
    /// Records the non-zeros of `x` (rows of `width`) if there are few enough.
    fn collect(&mut self, x: &[f32], width: usize) {
        let nonzero = x.iter().filter(|v| **v != 0.0).count();
        self.active = width > 0 && (nonzero as f64) <= SPARSE_MAX_DENSITY * x.len() as f64;
        self.row_start.clear();
        self.cols.clear();
        self.values.clear();
        if !self.active {
            return;
        }
        self.row_start.push(0);
        for row in x.chunks_exact(width) {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    self.cols.push(j);
                    self.values.push(v);
                }
            }
            self.row_start.push(self.cols.len());
        }
    }

    fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let span = self.row_start[r]..self.row_start[r + 1];
        self.cols[span.clone()]
            .iter()
            .copied()
            .zip(self.values[span].iter().copied())
    }
}

/// `out` = `w` `[rows, cols]` transposed to `[cols, rows]`, in tiles so both sides stay in
/// cache.
fn transpose(w: &[f32], rows: usize, cols: usize, out: &mut Vec<f32>) {
    const TILE: usize = 32;
    out.clear();
    out.resize(rows * cols, 0.0);
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = w[r * cols + c];
                }
            }
        }
    }
}

/// `y += a * x`.
#[inline]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

/// A strided matrix view inside a slice, for the `gemm` crate.
#[derive(Clone, Copy)]
pub(super) struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    pub(super) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    pub(super) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Panics unless every element lies inside `data`.
    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// `dst` (row-major `a.rows x b.cols`) `= a b`, or `+= a b` when `accumulate`: a
/// whole-window product, single-threaded (callers split the batch across threads).
pub(super) fn matmul(dst: &mut [f32], a: MatRef, b: MatRef, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions");
    assert_eq!(dst.len(), m * n, "destination size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    a.check();
    b.check();
    // SAFETY: every element of `a`, `b` and `dst` that the product touches lies inside its
    // slice (checked above), and `dst` does not alias the inputs (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Output columns per panel of the per-step kernel: two AVX registers.
const STEP_COLS: usize = 16;
/// Sequences whose accumulators stay in registers together (2 x 6 of 16 AVX registers).
const STEP_ROWS: usize = 6;

/// A `[k, n]` matrix for the per-step product, stored as panels of [`STEP_COLS`] columns
/// whose `k` rows are contiguous (`data[p][r][c]`, the last panel padded with zeros). Read
/// in place, a row-major matrix whose rows are a power of two apart maps every row of a
/// column block to the same few cache sets; the panels stream in order instead.
#[derive(Clone, Debug, Default)]
struct Panels {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

impl Panels {
    /// Packs the matrix whose element (r, c) is `src[r * row_stride + c * col_stride]`.
    fn pack(&mut self, src: &[f32], k: usize, n: usize, row_stride: usize, col_stride: usize) {
        let panels = n.div_ceil(STEP_COLS);
        self.k = k;
        self.n = n;
        self.data.clear();
        self.data.resize(panels * k * STEP_COLS, 0.0);
        let mut put = |r: usize, c: usize| {
            let (p, cc) = (c / STEP_COLS, c % STEP_COLS);
            self.data[(p * k + r) * STEP_COLS + cc] = src[r * row_stride + c * col_stride];
        };
        // Read the source in order.
        if row_stride < col_stride {
            (0..n).for_each(|c| (0..k).for_each(|r| put(r, c)));
        } else {
            (0..k).for_each(|r| (0..n).for_each(|c| put(r, c)));
        }
    }
}

/// The per-step product `y[b][c] += sum_r x[b][r] w[r][c]` for `b < batch`, `r < w.k`,
/// `c < w.n`, with rows of `y` `y_stride` apart and rows of `x` `x_stride` apart.
/// Register-blocked and allocation-free: called once per time step.
fn step_matmul(
    y: &mut [f32],
    y_stride: usize,
    x: &[f32],
    x_stride: usize,
    batch: usize,
    w: &Panels,
) {
    let (k, n) = (w.k, w.n);
    if batch == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(n <= y_stride && k <= x_stride, "strides");
    assert!((batch - 1) * y_stride + n <= y.len(), "y too short");
    assert!((batch - 1) * x_stride + k <= x.len(), "x too short");
    assert_eq!(
        w.data.len(),
        n.div_ceil(STEP_COLS) * k * STEP_COLS,
        "panels"
    );
    let full = n / STEP_COLS * STEP_COLS;
    #[cfg(target_arch = "x86_64")]
    if full > 0
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: AVX2 and FMA were detected; the bounds the kernel relies on are asserted
        // above.
        unsafe { step_matmul_avx2(y, y_stride, x, x_stride, batch, w, full) };
        step_matmul_portable(y, y_stride, x, x_stride, batch, w, full);
        return;
    }
    step_matmul_portable(y, y_stride, x, x_stride, batch, w, 0);
}

/// Columns `from..w.n`, panel by panel.
fn step_matmul_portable(
    y: &mut [f32],
    y_stride: usize,
    x: &[f32],
    x_stride: usize,
    batch: usize,
    w: &Panels,
    from: usize,
) {
    let k = w.k;
    for c0 in (from..w.n).step_by(STEP_COLS) {
        let width = STEP_COLS.min(w.n - c0);
        let panel = &w.data[c0 / STEP_COLS * k * STEP_COLS..][..k * STEP_COLS];
        for b in 0..batch {
            let yb = &mut y[b * y_stride + c0..b * y_stride + c0 + width];
            for (r, &xr) in x[b * x_stride..b * x_stride + k].iter().enumerate() {
                axpy(yb, xr, &panel[r * STEP_COLS..r * STEP_COLS + width]);
            }
        }
    }
}

/// AVX2 kernel for the first `n` (a multiple of 16) columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn step_matmul_avx2(
    y: &mut [f32],
    y_stride: usize,
    x: &[f32],
    x_stride: usize,
    batch: usize,
    w: &Panels,
    n: usize,
) {
    // Blocks of nearly equal size (32 sequences: 6 6 5 5 5 5, not 6 6 6 6 6 2): a small
    // block has too few accumulators to hide the FMA latency.
    let blocks = batch.div_ceil(STEP_ROWS);
    for c0 in (0..n).step_by(STEP_COLS) {
        let panel = &w.data[c0 / STEP_COLS * w.k * STEP_COLS..][..w.k * STEP_COLS];
        for block in 0..blocks {
            let b0 = block * batch / blocks;
            let rows = (block + 1) * batch / blocks - b0;
            let a = Block {
                b0,
                col: c0,
                x_stride,
                y_stride,
                rows: w.k,
                w_stride: STEP_COLS,
                sparse_rows: 0,
            };
            // SAFETY: rows b0..b0 + rows and columns c0..c0 + 16 lie inside the buffers
            // (the caller asserted the bounds for all rows and the first n columns), and
            // the panel holds k rows of 16.
            unsafe { chunk::<__m256>(rows, y, x, panel, a) };
        }
    }
}

/// Defines `fn $name`, which runs `$body` compiled for AVX2 and FMA when the CPU has them
/// and as it is otherwise: the body is written once and the compiler vectorizes it in the
/// AVX2 build.
macro_rules! with_avx2_fma {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[inline]
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: AVX2 and FMA were detected.
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

with_avx2_fma! {
    /// The cell: pre-activations `[i f g o]` in, activations out (kept for the backward pass),
    /// new cell state, its tanh and the hidden state.
    fn cell_forward(
        gates: &mut [f32],
        c_prev: &[f32],
        c: &mut [f32],
        tanh_c: &mut [f32],
        h: &mut [f32],
    ) {
        let hd = c.len();
        assert!(gates.len() == 4 * hd && c_prev.len() == hd && tanh_c.len() == hd && h.len() == hd);
        let (i, rest) = gates.split_at_mut(hd);
        let (f, rest) = rest.split_at_mut(hd);
        let (g, o) = rest.split_at_mut(hd);
        for k in 0..hd {
            let (ik, fk, gk, ok) = (sigmoid(i[k]), sigmoid(f[k]), tanh_f32(g[k]), sigmoid(o[k]));
            let ck = fk * c_prev[k] + ik * gk;
            let tc = tanh_f32(ck);
            (i[k], f[k], g[k], o[k]) = (ik, fk, gk, ok);
            c[k] = ck;
            tanh_c[k] = tc;
            h[k] = ok * tc;
        }
    }
}

with_avx2_fma! {
    /// The cell's backward step: activations in `gates`, replaced by the gradient with respect
    /// to the pre-activations; `d_c` carries the cell-state gradient from step t + 1 to step t.
    fn cell_backward(
        gates: &mut [f32],
        c_prev: &[f32],
        tanh_c: &[f32],
        d_h: &[f32],
        d_c: &mut [f32],
    ) {
        let hd = d_c.len();
        assert!(
            gates.len() == 4 * hd && c_prev.len() == hd && tanh_c.len() == hd && d_h.len() == hd
        );
        let (i, rest) = gates.split_at_mut(hd);
        let (f, rest) = rest.split_at_mut(hd);
        let (g, o) = rest.split_at_mut(hd);
        for k in 0..hd {
            let (ik, fk, gk, ok, tc, dh) = (i[k], f[k], g[k], o[k], tanh_c[k], d_h[k]);
            let dc = d_c[k] + dh * ok * (1.0 - tc * tc);
            i[k] = dc * gk * ik * (1.0 - ik);
            f[k] = dc * c_prev[k] * fk * (1.0 - fk);
            g[k] = dc * ik * (1.0 - gk * gk);
            o[k] = dh * tc * ok * (1.0 - ok);
            d_c[k] = dc * fk;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], w: &[f32], batch: usize, k: usize, n: usize) -> Vec<f32> {
        let mut y = vec![0.5; batch * n];
        for b in 0..batch {
            for c in 0..n {
                for r in 0..k {
                    y[b * n + c] += x[b * k + r] * w[r * n + c];
                }
            }
        }
        y
    }

    #[test]
    fn the_step_kernel_matches_a_naive_product_for_every_block_shape() {
        for (batch, k, n) in [(1, 3, 16), (7, 5, 37), (13, 9, 48), (6, 1, 15)] {
            let x: Vec<f32> = (0..batch * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut y = vec![0.5; batch * n];
            let mut panels = Panels::default();
            panels.pack(&w, k, n, n, 1);
            step_matmul(&mut y, n, &x, k, batch, &panels);
            for (a, b) in y.iter().zip(naive(&x, &w, batch, k, n)) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b} at {batch}x{k}x{n}");
            }
        }
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        let w: Vec<f32> = (0..35 * 3).map(|i| i as f32).collect();
        let mut t = Vec::new();
        transpose(&w, 35, 3, &mut t);
        for r in 0..35 {
            for c in 0..3 {
                assert_eq!(t[c * 35 + r], w[r * 3 + c]);
            }
        }
    }
}
