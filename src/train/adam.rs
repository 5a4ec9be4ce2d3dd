//! Adam over plain f32 tensors, with the same arithmetic as candle's `AdamW` (decoupled
//! weight decay, 0 by default), so the fused training path takes the same steps as the
//! candle path it replaces.

/// Adam's settings and moments; the moments are sized on the first step.
#[derive(Clone, Debug)]
pub struct Adam {
    pub learning_rate: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled weight decay (AdamW): each step first scales every parameter by
    /// `1 - learning_rate * weight_decay`, a pull towards zero apart from the gradient.
    pub weight_decay: f64,
    steps: i32,
    first_moment: Vec<Vec<f32>>,
    second_moment: Vec<Vec<f32>>,
}

impl Adam {
    /// candle's `ParamsAdamW` defaults (beta 0.9 / 0.999, eps 1e-8) without weight decay.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            steps: 0,
            first_moment: Vec::new(),
            second_moment: Vec::new(),
        }
    }

    /// One update of every tensor in `params` by its gradient in `grads` (same order and
    /// lengths on every call). Element by element the same operations, in the same f32
    /// rounding, as candle's `AdamW::step`.
    pub fn step<'p, 'g>(
        &mut self,
        params: impl IntoIterator<Item = &'p mut [f32]>,
        grads: impl IntoIterator<Item = &'g [f32]>,
    ) {
        self.steps += 1;
        let b1 = self.beta1 as f32;
        let b2 = self.beta2 as f32;
        let one_minus_b1 = (1.0 - self.beta1) as f32;
        let one_minus_b2 = (1.0 - self.beta2) as f32;
        let scale_m = (1.0 / (1.0 - self.beta1.powi(self.steps))) as f32;
        let scale_v = (1.0 / (1.0 - self.beta2.powi(self.steps))) as f32;
        let (lr, eps) = (self.learning_rate as f32, self.eps as f32);
        let decay = (1.0 - self.learning_rate * self.weight_decay) as f32;
        for (n, (theta, g)) in params.into_iter().zip(grads).enumerate() {
            assert_eq!(theta.len(), g.len(), "gradient {n} length");
            if self.first_moment.len() <= n {
                self.first_moment.push(vec![0.0; g.len()]);
                self.second_moment.push(vec![0.0; g.len()]);
            }
            let (m, v) = (&mut self.first_moment[n], &mut self.second_moment[n]);
            assert_eq!(m.len(), g.len(), "tensor {n} changed size");
            for (((t, &g), m), v) in theta.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = *m * b1 + g * one_minus_b1;
                *v = *v * b2 + (g * g) * one_minus_b2;
                let m_hat = *m * scale_m;
                let v_hat = *v * scale_v;
                if decay != 1.0 {
                    *t *= decay;
                }
                *t -= (m_hat / (v_hat.sqrt() + eps)) * lr;
            }
        }
    }
}
