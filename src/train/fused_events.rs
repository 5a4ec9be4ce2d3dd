//! Event models (Model v2) on the fused LSTM core, for training: the softmax cross-entropy
//! over the event vocabulary of a batch of token windows and its gradients, with inverted
//! dropout between layers and before the output layer, the batch split across threads,
//! and AdamW.
//!
//! The parameters are [`FusedPhraseModel`]'s (the same network, with the event input and
//! output sizes); tests check the loss and every gradient against candle's autograd on
//! `model::lstm::PhraseModel`, with and without dropout.

use rand::{Rng, SeedableRng};

use super::adam::Adam;
use super::fused_lstm::LstmTape;
use super::fused_model::{matmul_acc, FusedPhraseModel, PhraseGrads};

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

/// One thread's share of a batch and its scratch space, reused from batch to batch.
#[derive(Clone, Debug, Default)]
struct Shard {
    /// Sequences `first..first + len` of the batch.
    first: usize,
    len: usize,
    tape: LstmTape,
    /// `[time, len, inputs]` and `[time, len]`, time-major.
    x: Vec<f32>,
    targets: Vec<u32>,
    /// Dropout factors: between layers `[layers - 1, time, len, H]`, before the output
    /// layer `[time, len, H]`; one sequence's `[layers, time, H]`.
    between: Vec<f32>,
    top_mask: Vec<f32>,
    sequence_mask: Vec<f32>,
    /// The top layer's output after dropout, `[time, len, H]`.
    top: Vec<f32>,
    /// `[time, len, vocab]` logits, then their gradient.
    logits: Vec<f32>,
    d_top: Vec<f32>,
    grads: Option<PhraseGrads>,
    loss_sum: f64,
}

/// Scratch space for one thread of [`FusedPhraseModel::event_loss_and_grads`].
#[derive(Clone, Debug, Default)]
pub struct EventScratch(Shard);

impl FusedPhraseModel {
    /// Mean loss in nats per event (softmax cross-entropy over the vocabulary, averaged
    /// over the positions whose target is not [`PAD`]) of token windows: `inputs`
    /// `[batch, seq, input_size]` (batch-first, each position's network input) and
    /// `targets` `[batch, seq]` (the token that follows). Its gradient goes to `grads`
    /// (overwritten). With `dropout`, the units between layers and before the output layer
    /// are dropped as [`dropout_factors`] says. The batch is split across `threads`
    /// threads; the result depends on the thread count only through floating-point
    /// summation order. A batch of padding only has loss 0 and zero gradients.
    #[allow(clippy::too_many_arguments)]
    pub fn event_loss_and_grads(
        &self,
        inputs: &[f32],
        targets: &[u32],
        batch: usize,
        seq: usize,
        dropout: Option<Dropout>,
        threads: usize,
        scratch: &mut Vec<EventScratch>,
        grads: &mut PhraseGrads,
    ) -> f64 {
        let width = self.config.input_size();
        assert_eq!(inputs.len(), batch * seq * width, "inputs length");
        assert_eq!(targets.len(), batch * seq, "targets length");
        let vocab = self.config.output_size() as u32;
        assert!(
            targets.iter().all(|&t| t == PAD || t < vocab),
            "targets within the vocabulary"
        );
        let dropout = dropout.filter(|d| d.rate > 0.0);
        if let Some(d) = dropout {
            assert!(d.rate < 1.0, "dropout rate below 1");
        }
        let counted = targets.iter().filter(|&&t| t != PAD).count();
        let norm = counted.max(1) as f32;
        let shards = threads.clamp(1, batch.max(1));
        scratch.resize_with(shards, EventScratch::default);
        for (s, sh) in scratch.iter_mut().enumerate() {
            sh.0.first = s * batch / shards;
            sh.0.len = (s + 1) * batch / shards - sh.0.first;
        }
        super::fused_model::run_shards(scratch, |sh: &mut EventScratch| {
            self.event_shard_pass(&mut sh.0, inputs, targets, seq, dropout, norm)
        });
        grads.tensors_mut().for_each(|t| t.fill(0.0));
        let mut loss = 0.0;
        for sh in scratch.iter() {
            let g = sh.0.grads.as_ref().expect("shard ran");
            for (a, b) in grads.tensors_mut().zip(g.tensors()) {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            }
            loss += sh.0.loss_sum;
        }
        loss / f64::from(norm)
    }

    /// Forward and backward for one shard's sequences; `norm` is the whole batch's number
    /// of counted positions the loss is averaged over.
    fn event_shard_pass(
        &self,
        sh: &mut Shard,
        inputs: &[f32],
        targets: &[u32],
        seq: usize,
        dropout: Option<Dropout>,
        norm: f32,
    ) {
        let cfg = &self.config;
        let (width, vocab, h, layers) =
            (cfg.input_size(), cfg.output_size(), cfg.hidden, cfg.layers);
        let (first, len) = (sh.first, sh.len);
        let rows = seq * len;
        sh.x.clear();
        sh.targets.clear();
        for t in 0..seq {
            for b in first..first + len {
                let at = b * seq + t;
                sh.x.extend_from_slice(&inputs[at * width..(at + 1) * width]);
                sh.targets.push(targets[at]);
            }
        }
        if let Some(d) = dropout {
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
        let grads = sh
            .grads
            .get_or_insert_with(|| PhraseGrads::zeros(&self.config));
        grads.tensors_mut().for_each(|t| t.fill(0.0));
        let between = (dropout.is_some() && layers > 1).then_some(&sh.between[..]);
        let top = self
            .lstm
            .forward_with_dropout(&sh.x, seq, len, &mut sh.tape, between);
        sh.top.clear();
        if dropout.is_some() {
            sh.top
                .extend(top.iter().zip(&sh.top_mask).map(|(v, m)| v * m));
        } else {
            sh.top.extend_from_slice(top);
        }
        self.head_forward(&sh.top, &mut sh.logits);
        // Softmax cross-entropy and its gradient with respect to the logits, in place.
        let mut loss_sum = 0.0f64;
        for (z, &target) in sh.logits.chunks_exact_mut(vocab).zip(&sh.targets) {
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
        sh.loss_sum = loss_sum;
        let d_logits = &sh.logits;
        // d W_out = dZ^T top, d b_out = column sums of dZ, d top = dZ W_out.
        matmul_acc(
            &mut grads.out_w,
            d_logits,
            rows,
            vocab,
            &sh.top,
            h,
            true,
            true,
        );
        for row in d_logits.chunks_exact(vocab) {
            grads.out_b.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        sh.d_top.clear();
        sh.d_top.resize(rows * h, 0.0);
        matmul_acc(
            &mut sh.d_top,
            d_logits,
            rows,
            vocab,
            &self.out_w,
            h,
            false,
            false,
        );
        if dropout.is_some() {
            sh.d_top
                .iter_mut()
                .zip(&sh.top_mask)
                .for_each(|(d, m)| *d *= m);
        }
        self.lstm
            .backward(&sh.x, &mut sh.tape, &sh.d_top, &mut grads.lstm, None);
    }
}

/// An event model with its optimizer (AdamW) and scratch space: what the training loop
/// drives.
#[derive(Debug)]
pub struct FusedEventTrainer {
    model: FusedPhraseModel,
    adam: Adam,
    grads: PhraseGrads,
    scratch: Vec<EventScratch>,
    threads: usize,
    dropout_rate: f32,
}

impl FusedEventTrainer {
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

    /// One AdamW step on a batch (see [`FusedPhraseModel::event_loss_and_grads`]), its
    /// dropout drawn from `seed`; returns the loss before the step.
    pub fn step(
        &mut self,
        inputs: &[f32],
        targets: &[u32],
        batch: usize,
        seq: usize,
        seed: u64,
    ) -> f64 {
        let dropout = Dropout {
            rate: self.dropout_rate,
            seed,
        };
        let loss = self.model.event_loss_and_grads(
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
