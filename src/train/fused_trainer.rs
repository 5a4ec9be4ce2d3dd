//! Training on the fused LSTM core, one trainer for every model family: the loss of a batch
//! at the network's head and its gradients, with inverted dropout between layers and
//! before the output layer, the batch split across threads, and AdamW. What differs between
//! families is only the head's loss ([`Targets`]): binary cross-entropy per output for frame
//! models (v1), softmax cross-entropy over the event vocabulary for event models (v2).
//!
//! Tests check the loss and every gradient against candle's autograd on
//! `model::lstm::PhraseModel`, for both families, with and without dropout.

use rand::{Rng, SeedableRng};

use super::adam::Adam;
use super::fused_lstm::{matmul, LstmTape, MatRef};
use super::fused_model::{run_shards, FusedPhraseModel, PhraseGrads};

/// The target of a padding position (a window running past the end of its piece): no
/// loss and no gradient.
pub const PAD: u32 = u32::MAX;

/// Inverted dropout: each hidden unit fed to the next layer or to the output layer is
/// zeroed with probability `rate` and the others scaled by `1 / (1 - rate)`, drawn anew for
/// every batch from `seed`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    pub rate: f32,
    pub seed: u64,
}

/// The dropout factors of one sequence of a batch, `[layers, time, hidden]`: slot
/// `l < layers - 1` feeds layer `l + 1`, the last slot the output layer. They depend on the seed and the
/// sequence's place in the batch only, not on how the batch is split across threads.
pub fn dropout_factors(
    dropout: Dropout,
    sequence: usize,
    layers: usize,
    time: usize,
    hidden: usize,
    out: &mut Vec<f32>,
) {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(
        dropout.seed ^ (sequence as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let keep = 1.0 / (1.0 - dropout.rate);
    out.clear();
    out.extend((0..layers * time * hidden).map(|_| {
        if rng.random::<f32>() < dropout.rate {
            0.0
        } else {
            keep
        }
    }));
}

/// What the network must predict at each position of a batch, by model family.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    /// Frame models: the next frame's bits `[batch, seq, outputs]`, each output an
    /// independent sigmoid (binary cross-entropy summed over outputs, averaged over
    /// positions).
    Frames(&'a [f32]),
    /// Event models: the next token `[batch, seq]`, a softmax over the vocabulary (cross-
    /// entropy averaged over the positions that are not [`PAD`]).
    Tokens(&'a [u32]),
}

impl Targets<'_> {
    /// How many positions the loss is averaged over (at least 1).
    fn counted(&self, positions: usize) -> usize {
        match self {
            Self::Frames(_) => positions,
            Self::Tokens(t) => t.iter().filter(|&&t| t != PAD).count(),
        }
        .max(1)
    }
}

/// Scratch space for one thread of [`FusedPhraseModel::loss_and_grads`]: the thread's share
/// of a batch and its buffers, reused from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct ShardScratch {
    /// Sequences `first..first + len` of the batch.
    first: usize,
    len: usize,
    tape: LstmTape,
    /// `[time, len, inputs]`, time-major.
    x: Vec<f32>,
    /// The targets of these positions, time-major: `[time, len, outputs]` frames or
    /// `[time, len]` tokens (the other stays empty).
    frames: Vec<f32>,
    tokens: Vec<u32>,
    /// Dropout factors: between layers `[layers - 1, time, len, H]`, before the output
    /// layer `[time, len, H]`; one sequence's `[layers, time, H]`.
    between: Vec<f32>,
    top_mask: Vec<f32>,
    sequence_mask: Vec<f32>,
    /// The top layer's output after dropout, `[time, len, H]`.
    top: Vec<f32>,
    /// `[time, len, outputs]` logits, then their gradient.
    logits: Vec<f32>,
    d_top: Vec<f32>,
    grads: Option<PhraseGrads>,
    loss_sum: f64,
}

impl FusedPhraseModel {
    /// Mean loss (see [`Targets`] for each family's) of a batch: `inputs`
    /// `[batch, seq, input_size]` (batch-first, each position's network input) and what
    /// follows each position. Its gradient goes to `grads` (overwritten). With `dropout`, the
    /// units between layers and before the output layer are dropped as [`dropout_factors`]
    /// says. The batch is split across `threads` threads; the result depends on the thread
    /// count only through floating-point summation order. A batch of padding only has loss
    /// 0 and zero gradients.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_and_grads(
        &self,
        inputs: &[f32],
        targets: Targets,
        batch: usize,
        seq: usize,
        dropout: Option<Dropout>,
        threads: usize,
        scratch: &mut Vec<ShardScratch>,
        grads: &mut PhraseGrads,
    ) -> f64 {
        let (width, outputs) = (self.config.input_size(), self.config.output_size());
        assert_eq!(inputs.len(), batch * seq * width, "inputs length");
        match targets {
            Targets::Frames(f) => assert_eq!(f.len(), batch * seq * outputs, "targets length"),
            Targets::Tokens(t) => {
                assert_eq!(t.len(), batch * seq, "targets length");
                assert!(
                    t.iter().all(|&t| t == PAD || (t as usize) < outputs),
                    "targets within the vocabulary"
                );
            }
        }
        let dropout = dropout.filter(|d| d.rate > 0.0);
        if let Some(d) = dropout {
            assert!(d.rate < 1.0, "dropout rate below 1");
        }
        let norm = targets.counted(batch * seq) as f32;
        let shards = threads.clamp(1, batch.max(1));
        scratch.resize_with(shards, ShardScratch::default);
        for (s, sh) in scratch.iter_mut().enumerate() {
            sh.first = s * batch / shards;
            sh.len = (s + 1) * batch / shards - sh.first;
        }
        run_shards(scratch, |sh: &mut ShardScratch| {
            self.shard_pass(sh, inputs, targets, seq, dropout, norm)
        });
        grads.tensors_mut().for_each(|t| t.fill(0.0));
        let mut loss = 0.0;
        for sh in scratch.iter() {
            let g = sh.grads.as_ref().expect("shard ran");
            for (a, b) in grads.tensors_mut().zip(g.tensors()) {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            }
            loss += sh.loss_sum;
        }
        loss / f64::from(norm)
    }

    /// Forward and backward for one shard's sequences; `norm` is the whole batch's number
    /// of counted positions the loss is averaged over.
    fn shard_pass(
        &self,
        sh: &mut ShardScratch,
        inputs: &[f32],
        targets: Targets,
        seq: usize,
        dropout: Option<Dropout>,
        norm: f32,
    ) {
        let cfg = &self.config;
        let (outputs, h) = (cfg.output_size(), cfg.hidden);
        gather_time_major(sh, inputs, targets, seq, cfg.input_size(), outputs);
        if let Some(d) = dropout {
            fill_dropout_masks(sh, d, seq, cfg.layers, h);
        }
        let grads = sh
            .grads
            .get_or_insert_with(|| PhraseGrads::zeros(&self.config));
        grads.tensors_mut().for_each(|t| t.fill(0.0));
        let between = (dropout.is_some() && cfg.layers > 1).then_some(&sh.between[..]);
        let top = self
            .lstm
            .forward_with_dropout(&sh.x, seq, sh.len, &mut sh.tape, between);
        sh.top.clear();
        if dropout.is_some() {
            sh.top
                .extend(top.iter().zip(&sh.top_mask).map(|(v, m)| v * m));
        } else {
            sh.top.extend_from_slice(top);
        }
        self.head_forward(&sh.top, &mut sh.logits);
        sh.loss_sum = match targets {
            Targets::Frames(_) => sigmoid_loss_and_grad(&mut sh.logits, &sh.frames, norm),
            Targets::Tokens(_) => softmax_loss_and_grad(&mut sh.logits, &sh.tokens, outputs, norm),
        };
        self.head_and_lstm_backward(sh, dropout.is_some(), seq);
    }

    /// From the logits' gradient (in `sh.logits`) to every parameter's.
    fn head_and_lstm_backward(&self, sh: &mut ShardScratch, dropout: bool, seq: usize) {
        let (outputs, h) = (self.config.output_size(), self.config.hidden);
        let rows = seq * sh.len;
        let grads = sh.grads.as_mut().expect("zeroed above");
        let d_logits = &sh.logits;
        // d W_out = dZ^T top, d b_out = column sums of dZ, d top = dZ W_out.
        let d_logits_m = MatRef::row_major(d_logits, rows, outputs);
        matmul(
            &mut grads.out_w,
            d_logits_m.t(),
            MatRef::row_major(&sh.top, rows, h),
            true,
        );
        for row in d_logits.chunks_exact(outputs) {
            grads.out_b.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        sh.d_top.clear();
        sh.d_top.resize(rows * h, 0.0);
        matmul(
            &mut sh.d_top,
            d_logits_m,
            MatRef::row_major(&self.out_w, outputs, h),
            false,
        );
        if dropout {
            sh.d_top
                .iter_mut()
                .zip(&sh.top_mask)
                .for_each(|(d, m)| *d *= m);
        }
        self.lstm
            .backward(&sh.x, &mut sh.tape, &sh.d_top, &mut grads.lstm, None);
    }
}

/// Copies the shard's sequences of the batch (batch-first) into time-major rows.
fn gather_time_major(
    sh: &mut ShardScratch,
    inputs: &[f32],
    targets: Targets,
    seq: usize,
    width: usize,
    outputs: usize,
) {
    sh.x.clear();
    sh.frames.clear();
    sh.tokens.clear();
    for t in 0..seq {
        for b in sh.first..sh.first + sh.len {
            let at = b * seq + t;
            sh.x.extend_from_slice(&inputs[at * width..(at + 1) * width]);
            match targets {
                Targets::Frames(f) => sh
                    .frames
                    .extend_from_slice(&f[at * outputs..(at + 1) * outputs]),
                Targets::Tokens(tokens) => sh.tokens.push(tokens[at]),
            }
        }
    }
}

/// The shard's dropout factors, laid out as the LSTM and the head read them.
fn fill_dropout_masks(sh: &mut ShardScratch, d: Dropout, seq: usize, layers: usize, h: usize) {
    let (first, len) = (sh.first, sh.len);
    let rows = seq * len;
    sh.between.clear();
    sh.between.resize((layers - 1) * rows * h, 0.0);
    sh.top_mask.clear();
    sh.top_mask.resize(rows * h, 0.0);
    for (i, b) in (first..first + len).enumerate() {
        dropout_factors(d, b, layers, seq, h, &mut sh.sequence_mask);
        for l in 0..layers {
            for t in 0..seq {
                let from = &sh.sequence_mask[(l * seq + t) * h..(l * seq + t + 1) * h];
                let to = if l + 1 < layers {
                    &mut sh.between[(l * rows + t * len + i) * h..][..h]
                } else {
                    &mut sh.top_mask[(t * len + i) * h..][..h]
                };
                to.copy_from_slice(from);
            }
        }
    }
}

/// Frame models' head: binary cross-entropy per output; the logits become their gradient.
fn sigmoid_loss_and_grad(logits: &mut [f32], frames: &[f32], norm: f32) -> f64 {
    let mut loss_sum = 0.0f64;
    for (z, &y) in logits.iter_mut().zip(frames) {
        loss_sum += super::eval::bce_with_logit(*z, y);
        *z = (1.0 / (1.0 + (-*z).exp()) - y) / norm;
    }
    loss_sum
}

/// Event models' head: softmax cross-entropy per position (none for [`PAD`]); the logits
/// become their gradient.
fn softmax_loss_and_grad(logits: &mut [f32], tokens: &[u32], vocab: usize, norm: f32) -> f64 {
    let mut loss_sum = 0.0f64;
    for (z, &target) in logits.chunks_exact_mut(vocab).zip(tokens) {
        if target == PAD {
            z.fill(0.0);
            continue;
        }
        let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f64 = z.iter().map(|&v| f64::from(v - max).exp()).sum();
        let log_sum = f64::from(max) + sum.ln();
        loss_sum += log_sum - f64::from(z[target as usize]);
        for v in z.iter_mut() {
            *v = ((f64::from(*v) - log_sum).exp() as f32) / norm;
        }
        z[target as usize] -= 1.0 / norm;
    }
    loss_sum
}

/// A model with its optimizer (AdamW) and scratch space: what the training loop drives,
/// for every family.
#[derive(Debug)]
pub struct FusedTrainer {
    model: FusedPhraseModel,
    adam: Adam,
    grads: PhraseGrads,
    scratch: Vec<ShardScratch>,
    threads: usize,
    dropout_rate: f32,
}

impl FusedTrainer {
    pub fn new(
        model: FusedPhraseModel,
        learning_rate: f64,
        weight_decay: f64,
        dropout_rate: f32,
        threads: usize,
    ) -> Self {
        let grads = PhraseGrads::zeros(&model.config);
        let mut adam = Adam::new(learning_rate);
        adam.weight_decay = weight_decay;
        Self {
            model,
            adam,
            grads,
            scratch: Vec::new(),
            threads: threads.max(1),
            dropout_rate,
        }
    }

    pub fn model(&self) -> &FusedPhraseModel {
        &self.model
    }

    /// The gradients of the last step.
    pub fn grads(&self) -> &PhraseGrads {
        &self.grads
    }

    /// One AdamW step on a batch (see [`FusedPhraseModel::loss_and_grads`]), its dropout
    /// drawn from `seed`; returns the loss before the step.
    pub fn step(
        &mut self,
        inputs: &[f32],
        targets: Targets,
        batch: usize,
        seq: usize,
        seed: u64,
    ) -> f64 {
        let dropout = Dropout {
            rate: self.dropout_rate,
            seed,
        };
        let loss = self.model.loss_and_grads(
            inputs,
            targets,
            batch,
            seq,
            Some(dropout),
            self.threads,
            &mut self.scratch,
            &mut self.grads,
        );
        let (adam, grads) = (&mut self.adam, &self.grads);
        self.model
            .params_mut(|params| adam.step(params, grads.tensors()));
        loss
    }
}

/// Frame windows `[batch, seq + 1, F]` (frames `0..seq` predict `1..=seq`) as the inputs
/// and targets of [`FusedTrainer::step`]: `[batch, seq, F]` each.
pub fn split_windows(windows: &[f32], batch: usize, seq: usize, f: usize) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(windows.len(), batch * (seq + 1) * f, "windows length");
    let n = batch * seq * f;
    let (mut inputs, mut targets) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for w in windows.chunks_exact((seq + 1) * f) {
        inputs.extend_from_slice(&w[..seq * f]);
        targets.extend_from_slice(&w[f..]);
    }
    (inputs, targets)
}
