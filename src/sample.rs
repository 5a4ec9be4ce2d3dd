//! Sampling phrases from a model: temperature, seed, constraints. The CLI and the plugin both
//! generate through [`generate`] / [`generate_variations`].
//!
//! Each step the network predicts, per pitch, the probability that it sounds (and, with
//! onsets, that it starts); probabilities are sharpened or flattened by the temperature,
//! masked by the key/scale and pitch range, and drawn with a seeded PCG generator. What was
//! drawn is fed back as the next input, so the model hears its own phrase.

mod events;
mod voice_leading;

use rand::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::form::Form;
use crate::infer::{sigmoid, FastLstm};
use crate::model::Architecture;
use crate::phrase::{Note, Phrase, TimeSignature};
use crate::roll::{pitch_span_mask, PianoRoll, Representation};
use crate::scale::Scale;

/// Everything that decides a generated phrase besides the model.
/// Same model + same params (incl. seed) => the same phrase, bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateParams {
    /// Creativity: 0.05 (safe) ..= 3.0 (wild).
    pub temperature: f32,
    pub seed: u64,
    pub bars: u32,
    pub time_signature: TimeSignature,
    pub tempo_bpm: f64,
    /// Notes are held at least this many grid steps (1 = a sixteenth at 4 steps/quarter).
    pub min_note_steps: u32,
    /// Pitches outside the scale never sound.
    pub scale: Scale,
    /// Inclusive pitch limits.
    pub pitch_lo: u8,
    pub pitch_hi: u8,
    /// At most this many notes sound at once.
    pub max_polyphony: usize,
    /// Velocity of generated notes.
    pub velocity: u8,
    /// Music to continue from: the model hears it before generating.
    pub primer: Option<Phrase>,
    /// Bars to keep from an earlier phrase while the others are re-rolled:
    /// (the earlier phrase, bit `b` set = keep bar `b`).
    pub keep_bars: Option<(Phrase, u64)>,
    /// Which bars repeat earlier ones (event models; the frame model ignores it).
    pub form: Form,
    /// Event models: no note-on that moves in parallel fifths or octaves with a voice
    /// above it (the rule of four-part writing; see `sample::voice_leading`).
    pub strict_voice_leading: bool,
}

impl Default for GenerateParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            seed: 1,
            bars: 4,
            time_signature: TimeSignature::FOUR_FOUR,
            tempo_bpm: 120.0,
            min_note_steps: 1,
            scale: Scale::default(),
            pitch_lo: 0,
            pitch_hi: 127,
            max_polyphony: 8,
            velocity: 100,
            primer: None,
            keep_bars: None,
            form: Form::default_for_phrases(),
            strict_voice_leading: true,
        }
    }
}

/// Lowest and highest temperature accepted.
pub const TEMPERATURE_RANGE: (f32, f32) = (0.05, 3.0);
/// Longest phrase generated, in bars.
pub const MAX_BARS: u32 = 64;

/// Parameters that cannot produce a phrase.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerateError {
    #[error("temperature {0} is outside {min}..={max}", min = TEMPERATURE_RANGE.0, max = TEMPERATURE_RANGE.1)]
    Temperature(f32),
    #[error("bars must be 1..={MAX_BARS}, got {0}")]
    Bars(u32),
    #[error("no pitch can sound: the scale {scale} and the range {lo}..{hi} leave nothing in the model's range {model_lo}..{model_hi}")]
    NoPitches {
        scale: Scale,
        lo: u8,
        hi: u8,
        model_lo: u8,
        model_hi: u8,
    },
}

/// The seed of variation `index`: `seed + index`, so `--seed` of any variation alone
/// reproduces it exactly.
pub fn variation_seed(seed: u64, index: usize) -> u64 {
    seed.wrapping_add(index as u64)
}

/// Generates one phrase.
pub fn generate(model: &FastLstm, params: &GenerateParams) -> Result<Phrase, GenerateError> {
    Ok(generate_variations(model, params, 1)?.remove(0))
}

/// Generates `count` phrases in one batched pass (variation `i` uses
/// [`variation_seed`]`(params.seed, i)`; variation 0 equals [`generate`]).
pub fn generate_variations(
    model: &FastLstm,
    params: &GenerateParams,
    count: usize,
) -> Result<Vec<Phrase>, GenerateError> {
    let (t_min, t_max) = TEMPERATURE_RANGE;
    if !(t_min..=t_max).contains(&params.temperature) {
        return Err(GenerateError::Temperature(params.temperature));
    }
    if !(1..=MAX_BARS).contains(&params.bars) {
        return Err(GenerateError::Bars(params.bars));
    }
    let cfg = &model.config;
    let range = cfg.pitch_range;
    let allowed = params.scale.pitch_mask()
        & pitch_span_mask(params.pitch_lo, params.pitch_hi)
        & pitch_span_mask(range.lo, range.hi);
    if allowed == 0 {
        return Err(GenerateError::NoPitches {
            scale: params.scale,
            lo: params.pitch_lo,
            hi: params.pitch_hi,
            model_lo: range.lo,
            model_hi: range.hi,
        });
    }
    let count = count.max(1);
    if let Architecture::Events { max_voices } = cfg.architecture {
        return Ok(events::generate(
            model,
            params,
            count,
            allowed,
            max_voices.max(1),
        ));
    }
    let spq = cfg.steps_per_quarter;
    let repr = cfg.representation;
    let frame_size = model.frame_size();
    let phrase = Phrase::empty(params.bars, spq, params.time_signature, params.tempo_bpm);
    let total = phrase.total_steps() as usize;
    let steps_per_bar = phrase.steps_per_bar() as usize;

    let mut state = model.state(count);
    let mut frames = vec![0.0f32; count * frame_size];
    // The network starts from silence, as in training.
    model.step(&frames, &mut state);
    if let Some(primer) = &params.primer {
        let roll = primer_roll(primer, spq, range.lo, range.hi);
        for t in 0..roll.len() {
            for b in 0..count {
                roll.frame_features(
                    t,
                    range,
                    repr,
                    &mut frames[b * frame_size..(b + 1) * frame_size],
                );
            }
            model.step(&frames, &mut state);
        }
    }
    let kept = params.keep_bars.as_ref().map(|(earlier, mask)| {
        let mut e = earlier.clone();
        e.bars = params.bars;
        e.steps_per_quarter = spq;
        (
            PianoRoll::from_phrase(&regrid(&e, earlier.steps_per_quarter, spq)),
            *mask,
        )
    });

    let mut rolls = vec![PianoRoll::new(total); count];
    let mut rngs: Vec<Pcg64Mcg> = (0..count)
        .map(|i| Pcg64Mcg::seed_from_u64(variation_seed(params.seed, i)))
        .collect();
    let mut held = vec![[0u32; 128]; count];
    let mut candidates: Vec<Candidate> = Vec::with_capacity(128);
    let n = range.len();
    let inv_t = 1.0 / params.temperature;
    for t in 0..total {
        let bar = (t / steps_per_bar) as u64;
        let kept_frame = kept
            .as_ref()
            .filter(|(_, mask)| bar < 64 && mask & (1 << bar) != 0);
        for b in 0..count {
            let roll = &mut rolls[b];
            let prev = if t > 0 { roll.active[t - 1] } else { 0 };
            let (active, onset) = if let Some((earlier, _)) = kept_frame {
                // Kept bars are copied; a kept run of bars starts its own notes, separate
                // from the re-rolled bar before it.
                let previous_kept = bar > 0
                    && params
                        .keep_bars
                        .as_ref()
                        .is_some_and(|(_, m)| m & (1 << (bar - 1)) != 0);
                let bar_start = t % steps_per_bar == 0 && !previous_kept;
                let a = earlier.active[t];
                let o = earlier.onset[t] | if bar_start { a } else { 0 };
                // Keep the random stream in step so re-rolled bars do not depend on the mask.
                for _ in 0..frame_size {
                    rngs[b].next_u32();
                }
                (a, o)
            } else {
                let logits = &state.logits[b * frame_size..(b + 1) * frame_size];
                candidates.clear();
                for (i, pitch) in range.pitches().enumerate() {
                    let p_active = sigmoid(logits[i] * inv_t);
                    let u_active = unit(&mut rngs[b]);
                    let (p_onset, u_onset) = if repr == Representation::ActiveAndOnset {
                        (sigmoid(logits[n + i] * inv_t), unit(&mut rngs[b]))
                    } else {
                        (0.0, 1.0)
                    };
                    if allowed & (1u128 << pitch) == 0 {
                        continue;
                    }
                    let sounding = prev & (1u128 << pitch) != 0;
                    let len = held[b][usize::from(pitch)];
                    let candidate = if sounding && len < params.min_note_steps {
                        Some((false, f32::INFINITY))
                    } else if repr == Representation::ActiveAndOnset {
                        if u_onset < p_onset {
                            Some((true, p_onset))
                        } else if sounding && u_active < p_active {
                            Some((false, p_active))
                        } else {
                            None
                        }
                    } else if u_active < p_active {
                        Some((!sounding, p_active))
                    } else {
                        None
                    };
                    if let Some((starts, score)) = candidate {
                        candidates.push(Candidate {
                            pitch,
                            starts,
                            score,
                        });
                    }
                }
                if candidates.len() > params.max_polyphony {
                    candidates
                        .sort_by(|a, b| b.score.total_cmp(&a.score).then(a.pitch.cmp(&b.pitch)));
                    candidates.truncate(params.max_polyphony);
                }
                let (mut a, mut o) = (0u128, 0u128);
                for c in &candidates {
                    a |= 1u128 << c.pitch;
                    if c.starts || prev & (1u128 << c.pitch) == 0 {
                        o |= 1u128 << c.pitch;
                    }
                }
                (a, o)
            };
            roll.active[t] = active;
            roll.onset[t] = onset;
            for (pitch, len) in held[b].iter_mut().enumerate() {
                let bit = 1u128 << pitch;
                *len = if onset & bit != 0 {
                    1
                } else if active & bit != 0 {
                    *len + 1
                } else {
                    0
                };
            }
            roll.frame_features(
                t,
                range,
                repr,
                &mut frames[b * frame_size..(b + 1) * frame_size],
            );
        }
        if t + 1 < total {
            model.step(&frames, &mut state);
        }
    }

    Ok(rolls
        .iter()
        .map(|roll| {
            let mut p = phrase.clone();
            p.notes = roll
                .to_notes(
                    Representation::ActiveAndOnset,
                    params.velocity.clamp(1, 127),
                )
                .into_iter()
                .filter(|n| n.length_steps >= params.min_note_steps)
                .collect();
            p
        })
        .collect())
}

struct Candidate {
    pitch: u8,
    starts: bool,
    score: f32,
}

/// A uniform draw in [0, 1) from the top 24 bits: the same on every platform.
fn unit(rng: &mut Pcg64Mcg) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Moves a phrase from one grid to another (rounding to the nearest step, at least 1 long).
pub fn regrid(phrase: &Phrase, from_spq: u32, to_spq: u32) -> Phrase {
    if from_spq == to_spq {
        return phrase.clone();
    }
    let conv = |s: u32| {
        ((u64::from(s) * u64::from(to_spq) + u64::from(from_spq) / 2) / u64::from(from_spq.max(1)))
            as u32
    };
    let mut p = phrase.clone();
    p.steps_per_quarter = to_spq;
    p.notes = phrase
        .notes
        .iter()
        .map(|n| {
            let start = conv(n.start_step);
            Note {
                start_step: start,
                length_steps: conv(n.end_step()).saturating_sub(start).max(1),
                ..*n
            }
        })
        .collect();
    crate::midi::quantize::resolve_overlaps(&mut p.notes);
    p
}

/// The primer as a roll on the model's grid, moved by whole octaves so as many notes as
/// possible fall in the model's pitch range (the rest are left out).
fn primer_roll(primer: &Phrase, spq: u32, lo: u8, hi: u8) -> PianoRoll {
    let mut p = regrid(primer, primer.steps_per_quarter, spq);
    let fits = |shift: i32| {
        p.notes
            .iter()
            .filter(|n| (i32::from(lo)..=i32::from(hi)).contains(&(i32::from(n.pitch) + shift)))
            .count()
    };
    let best = (-10..=10)
        .map(|o| o * 12)
        .max_by_key(|&s| (fits(s), -s.abs()))
        .unwrap_or(0);
    p.notes = p
        .notes
        .iter()
        .filter_map(|n| {
            let pitch = i32::from(n.pitch) + best;
            (i32::from(lo)..=i32::from(hi))
                .contains(&pitch)
                .then_some(Note {
                    pitch: pitch as u8,
                    ..*n
                })
        })
        .collect();
    p.bars = p.bars_needed().max(p.bars);
    PianoRoll::from_phrase(&p)
}
