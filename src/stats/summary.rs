//! Comparing two samples of one metric: mean ± standard deviation, relative difference and
//! histogram overlap.

use serde::Serialize;

/// Mean and sample standard deviation of the values that are defined.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// How many values were defined.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single value.
    pub sd: f64,
}

impl Summary {
    /// `None` when no value is defined.
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Self {
            n,
            mean,
            sd: var.sqrt(),
        })
    }
}

/// `(other - reference) / |reference|`; `None` when the reference mean is 0.
pub fn relative_difference(reference: f64, other: f64) -> Option<f64> {
    (reference.abs() > 1e-12).then(|| (other - reference) / reference.abs())
}

/// Equal-width bins over the pooled range of both samples.
pub const OVERLAP_BINS: usize = 20;

/// How much two distributions share: the sum over bins of the smaller of the two
/// proportions, with [`OVERLAP_BINS`] equal-width bins spanning both samples. 1 means the
/// same histogram, 0 means no bin in common. `None` when either sample is empty.
pub fn histogram_overlap(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let lo = a.iter().chain(b).copied().fold(f64::INFINITY, f64::min);
    let hi = a.iter().chain(b).copied().fold(f64::NEG_INFINITY, f64::max);
    let width = (hi - lo) / OVERLAP_BINS as f64;
    let histogram = |values: &[f64]| {
        let mut h = [0.0f64; OVERLAP_BINS];
        for v in values {
            let bin = if width > 0.0 {
                (((v - lo) / width) as usize).min(OVERLAP_BINS - 1)
            } else {
                0
            };
            h[bin] += 1.0 / values.len() as f64;
        }
        h
    };
    let (ha, hb) = (histogram(a), histogram(b));
    Some(
        ha.iter()
            .zip(&hb)
            .map(|(x, y)| x.min(*y))
            .sum::<f64>()
            .min(1.0),
    )
}
