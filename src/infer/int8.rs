//! Int8 steps ([`super::Precision::Int8`]: the repeats' trials, and the models that draw in
//! it, `family::events`): each layer's dense rows
//! (its hidden state, and the layer below's output) are held as 8-bit integers with one scale
//! per output column, and the inputs to them are rounded to 8 bits per sequence and step.
//!
//! Why: one sequence's f32 step streams 2 MB of f16 weights from L3 and is bound by widening
//! them; the int8 rows (0.8 MB) stay in a 1 MiB L2. Several sequences stepping together are
//! bound by arithmetic, and an int8 dot product does four multiply-adds where an f32 FMA does
//! one (AVX-512 VNNI; two with AVX2's 16-bit multiply-adds). On the built-in models the
//! held-out NLL equals f32's to three decimals (docs/PERFORMANCE.md, "Every step in int8").
//!
//! Reproducible: rounding and rescaling are the same IEEE operations in every build, and the
//! integer dot products are exact in any order, so every kernel gives the same bits, as the
//! f32 kernels do.

use super::{Panels, PANEL};

/// Rows per group: the four bytes one VNNI lane multiplies and adds at once.
const GROUP: usize = 4;

/// The largest int8 magnitude used: symmetric, so `-x` rounds to `-q`.
const LEVELS: f32 = 127.0;

/// A matrix's dense rows as int8 with one scale per output column, laid out so that a
/// 64-byte load holds four rows of 16 columns: `data[panel][group][column][row in group]`.
#[derive(Clone, Debug)]
pub(super) struct Int8Matrix {
    groups: usize,
    panels: usize,
    data: Vec<i8>,
    /// Per padded column: what one unit of its int8 weights stands for.
    scale: Vec<f32>,
    /// Per padded column: 128 times the sum of its int8 weights. VNNI multiplies unsigned
    /// bytes by signed ones, so its inputs are offset by 128 and this takes the offset off.
    offset: Vec<i32>,
}

impl Int8Matrix {
    /// Rows `first_row..` of `w`, rounded to int8 (to nearest, ties to even) per column.
    /// Reads the panels in order, row by row: two passes, the columns' largest magnitudes and
    /// then the values.
    pub(super) fn quantize(w: &Panels, first_row: usize) -> Self {
        let rows = w.rows - first_row;
        let groups = rows.div_ceil(GROUP);
        let panels = w.padded_cols() / PANEL;
        let mut m = Self {
            groups,
            panels,
            data: vec![0; panels * groups * PANEL * GROUP],
            scale: vec![0.0; panels * PANEL],
            offset: vec![0; panels * PANEL],
        };
        for p in 0..panels {
            let start = (p * w.rows + first_row) * PANEL;
            let panel = &w.data.wide[start..start + rows * PANEL];
            let mut max = [0.0f32; PANEL];
            for row in panel.chunks_exact(PANEL) {
                for (m, &v) in max.iter_mut().zip(row) {
                    *m = m.max(v.abs());
                }
            }
            let inv = max.map(|m| if m > 0.0 { LEVELS / m } else { 0.0 });
            let mut sum = [0i32; PANEL];
            for (j, row) in panel.chunks_exact(PANEL).enumerate() {
                let at = ((p * groups + j / GROUP) * PANEL) * GROUP + j % GROUP;
                for (k, &v) in row.iter().enumerate() {
                    let q = to_int8(v * inv[k]);
                    sum[k] += i32::from(q);
                    m.data[at + k * GROUP] = q;
                }
            }
            for k in 0..PANEL {
                m.scale[p * PANEL + k] = max[k] / LEVELS;
                m.offset[p * PANEL + k] = 128 * sum[k];
            }
        }
        m
    }

    /// Input bytes per sequence: the rows rounded up to whole groups.
    pub(super) fn input_pitch(&self) -> usize {
        self.groups * GROUP
    }

    /// Output columns per sequence: whole panels.
    pub(super) fn output_pitch(&self) -> usize {
        self.panels * PANEL
    }

    /// What the SIMD kernels' pointer arithmetic relies on: `batch` sequences of inputs and
    /// products fit `s`, and the weights are whole groups of whole panels.
    fn check_fits(&self, s: &Int8Scratch, batch: usize) {
        assert!(
            s.input.len() >= batch * s.input_pitch && s.dot.len() >= batch * self.output_pitch()
        );
        assert!(s.input_pitch >= self.input_pitch());
        assert_eq!(self.data.len(), self.panels * self.groups * PANEL * GROUP);
        assert_eq!(self.offset.len(), self.panels * PANEL);
    }

    /// `y[b][c] += dot[b][c] * scale[c] * input_scale[b]` for the first `cols` columns: the
    /// integer products back to f32, the same operations in every build.
    pub(super) fn add_rescaled(
        &self,
        y: &mut [f32],
        y_pitch: usize,
        s: &Int8Scratch,
        batch: usize,
        cols: usize,
    ) {
        let a_pitch = self.output_pitch();
        for b in 0..batch {
            let yb = &mut y[b * y_pitch..b * y_pitch + cols];
            let dot = &s.dot[b * a_pitch..b * a_pitch + cols];
            let unit = s.input_scale[b];
            for ((y, &d), &w) in yb.iter_mut().zip(dot).zip(&self.scale) {
                *y += d as f32 * (w * unit);
            }
        }
    }
}

/// `v` rounded to the nearest integer, ties to even, as int8 (|v| <= 127.5 here). Adding and
/// taking away 1.5 * 2^23 rounds in every build the same way, with no library call.
#[inline(always)]
fn to_int8(v: f32) -> i8 {
    const ROUND: f32 = 12_582_912.0;
    ((v + ROUND) - ROUND).clamp(-LEVELS, LEVELS) as i8
}

/// Per sequence, its dense inputs rounded to int8 with their scale, and the exact integer dot
/// products: scratch space of a state that steps in int8.
#[derive(Clone, Debug)]
pub(super) struct Int8Scratch {
    /// `[batch, input pitch]`.
    pub input: Vec<i8>,
    pub input_scale: Vec<f32>,
    /// `[batch, output pitch]`.
    pub dot: Vec<i32>,
    pub input_pitch: usize,
}

impl Int8Scratch {
    pub(super) fn new(batch: usize, input_pitch: usize, output_pitch: usize) -> Self {
        Self {
            input: vec![0; batch * input_pitch],
            input_scale: vec![0.0; batch],
            dot: vec![0; batch * output_pitch],
            input_pitch,
        }
    }

    /// Rounds sequence `b`'s dense inputs, `first` then `second`, to int8 with one scale (the
    /// largest magnitude maps to 127); the rest of its row stays zero.
    pub(super) fn round_inputs(&mut self, b: usize, first: &[f32], second: &[f32]) {
        let row = &mut self.input[b * self.input_pitch..(b + 1) * self.input_pitch];
        let max = first
            .iter()
            .chain(second)
            .fold(0.0f32, |m, x| m.max(x.abs()));
        if max == 0.0 {
            row.fill(0);
            self.input_scale[b] = 0.0;
            return;
        }
        let inv = LEVELS / max;
        for (q, &x) in row.iter_mut().zip(first.iter().chain(second)) {
            *q = to_int8(x * inv);
        }
        self.input_scale[b] = max / LEVELS;
    }
}

/// Exact `dot[b][c] = sum_j input[b][j] * w[j][c]` (reference).
pub(super) fn dot_portable(s: &mut Int8Scratch, batch: usize, m: &Int8Matrix) {
    let (x_pitch, a_pitch) = (s.input_pitch, m.output_pitch());
    for b in 0..batch {
        let x = &s.input[b * x_pitch..b * x_pitch + m.input_pitch()];
        for p in 0..m.panels {
            let mut acc = [0i32; PANEL];
            for (g, xs) in x.chunks_exact(GROUP).enumerate() {
                let start = (p * m.groups + g) * PANEL * GROUP;
                let w = &m.data[start..start + PANEL * GROUP];
                for (a, wc) in acc.iter_mut().zip(w.chunks_exact(GROUP)) {
                    *a += wc
                        .iter()
                        .zip(xs)
                        .map(|(&w, &x)| i32::from(w) * i32::from(x))
                        .sum::<i32>();
                }
            }
            s.dot[b * a_pitch + p * PANEL..b * a_pitch + (p + 1) * PANEL].copy_from_slice(&acc);
        }
    }
}

/// The same products with AVX2's 16-bit multiply-adds: each weight byte and input byte
/// widened to 16 bits, pairs summed into 32-bit lanes (exact), one sequence at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn dot_avx2(s: &mut Int8Scratch, batch: usize, m: &Int8Matrix) {
    use std::arch::x86_64::*;
    m.check_fits(s, batch);
    let (x_pitch, a_pitch) = (s.input_pitch, m.output_pitch());
    for b in 0..batch {
        // SAFETY: sequence `b` reads `input[b * x_pitch + 4 * g..+4]` (`g < groups`), weights
        // `data[((p * groups + g) * 64 + 32 * half + 4 * r) * 4..+16]` inside the panel, and
        // writes `dot[b * a_pitch + p * 64..+64]`: all inside the lengths `check_fits` asserted.
        unsafe {
            let xp = s.input.as_ptr().add(b * x_pitch);
            for p in 0..m.panels {
                for half in 0..2 {
                    let mut acc = [_mm256_setzero_si256(); 8];
                    for g in 0..m.groups {
                        let x4 = std::ptr::read_unaligned(xp.add(GROUP * g).cast::<i32>());
                        let xv = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(x4)));
                        let wp = m
                            .data
                            .as_ptr()
                            .add(((p * m.groups + g) * PANEL + 32 * half) * GROUP);
                        for (r, a) in acc.iter_mut().enumerate() {
                            let w = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(16 * r).cast()));
                            *a = _mm256_add_epi32(*a, _mm256_madd_epi16(w, xv));
                        }
                    }
                    // Lanes 2i and 2i + 1 of register r hold column 4r + i's two halves.
                    let out = s.dot.as_mut_ptr().add(b * a_pitch + p * PANEL + 32 * half);
                    for (r, a) in acc.iter().enumerate() {
                        let mut lanes = [0i32; 8];
                        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), *a);
                        for i in 0..4 {
                            *out.add(4 * r + i) = lanes[2 * i] + lanes[2 * i + 1];
                        }
                    }
                }
            }
        }
    }
}

/// The same products with AVX-512 VNNI: four byte products summed per 32-bit lane in one
/// instruction, up to four sequences sharing each weight load.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn dot_vnni(s: &mut Int8Scratch, batch: usize, m: &Int8Matrix) {
    m.check_fits(s, batch);
    let mut b0 = 0;
    while b0 < batch {
        let n = (batch - b0).min(4);
        // SAFETY: sequences `b0..b0 + n` lie inside the buffers asserted above.
        unsafe {
            match n {
                1 => dot_vnni_chunk::<1>(s, b0, m),
                2 => dot_vnni_chunk::<2>(s, b0, m),
                3 => dot_vnni_chunk::<3>(s, b0, m),
                _ => dot_vnni_chunk::<4>(s, b0, m),
            }
        }
        b0 += n;
    }
}

/// `N` sequences from `b0`, a whole panel (64 columns, four registers) per sequence.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dot_vnni_chunk<const N: usize>(s: &mut Int8Scratch, b0: usize, m: &Int8Matrix) {
    use std::arch::x86_64::*;
    let (x_pitch, a_pitch) = (s.input_pitch, m.output_pitch());
    // SAFETY: sequence `b0 + n` reads `input[(b0 + n) * x_pitch + 4 * g..+4]` and writes
    // `dot[(b0 + n) * a_pitch + p * 64..+64]`; group `g` of panel `p` is 256 bytes at
    // `data[(p * groups + g) * 256]`; `offset` has every padded column (the caller asserted).
    unsafe {
        for p in 0..m.panels {
            let mut acc = [[_mm512_setzero_si512(); 4]; N];
            let base = m.data.as_ptr().add(p * m.groups * PANEL * GROUP);
            for g in 0..m.groups {
                let wp = base.add(g * PANEL * GROUP);
                let w = [0, 1, 2, 3].map(|k| _mm512_loadu_si512(wp.add(64 * k).cast()));
                for (n, a) in acc.iter_mut().enumerate() {
                    let at = s.input.as_ptr().add((b0 + n) * x_pitch + GROUP * g);
                    // Signed bytes to unsigned ones offset by 128 (the sign bit flipped).
                    let x4 = std::ptr::read_unaligned(at.cast::<i32>()) ^ 0x8080_8080u32 as i32;
                    let xv = _mm512_set1_epi32(x4);
                    for k in 0..4 {
                        a[k] = _mm512_dpbusd_epi32(a[k], xv, w[k]);
                    }
                }
            }
            for (n, a) in acc.iter().enumerate() {
                let out = s.dot.as_mut_ptr().add((b0 + n) * a_pitch + p * PANEL);
                for (k, ak) in a.iter().enumerate() {
                    let off = _mm512_loadu_si512(m.offset.as_ptr().add(p * PANEL + 16 * k).cast());
                    _mm512_storeu_si512(out.add(16 * k).cast(), _mm512_sub_epi32(*ak, off));
                }
            }
        }
    }
}
