//! Sampling a frame model (the prototype's family, v1): each grid step the network gives,
//! per pitch, the probability that it sounds (and, with onsets, that it starts); each is
//! drawn on its own with a seeded uniform, masked by key, scale and range, and the most
//! likely are kept up to the voice limit. What was drawn is fed back as the next frame.
//!
//! Kept bars are copied (the random stream stays in step, so re-rolled bars do not depend
//! on which bars are kept). This family's phrases do not follow a form: old model files
//! keep writing exactly the phrases they always wrote.

use rand::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::infer::{sigmoid, FastLstm, FastState};
use crate::phrase::Phrase;
use crate::roll::{PianoRoll, PitchSet, Representation};
use crate::sample::{
    kept_frame, primer_roll, regrid, uniform, variation_seed, write_step, GenerateParams,
};

/// One variation being written.
struct Draft {
    roll: PianoRoll,
    rng: Pcg64Mcg,
    /// Steps each pitch has sounded so far (0 when silent).
    held: [u32; 128],
}

/// Generates `count` variations with a frame model (see `family::generate_variations`).
pub(super) fn generate(
    model: &FastLstm,
    params: &GenerateParams,
    count: usize,
    allowed: PitchSet,
) -> Vec<Phrase> {
    let cfg = &model.config;
    let phrase = params.empty_phrase(cfg.steps_per_quarter);
    let total = phrase.total_steps() as usize;
    let steps_per_bar = phrase.steps_per_bar() as usize;
    let frame_size = model.frame_size();
    let mut state = model.state(count);
    let mut frames = vec![0.0f32; count * frame_size];
    hear_primer(model, params, &mut frames, &mut state);
    let kept = kept_roll(params, cfg.steps_per_quarter);
    let mut drafts: Vec<Draft> = (0..count)
        .map(|i| Draft {
            roll: PianoRoll::new(total),
            rng: Pcg64Mcg::seed_from_u64(variation_seed(params.seed, i)),
            held: [0; 128],
        })
        .collect();
    let mut candidates: Vec<Candidate> = Vec::with_capacity(128);
    for t in 0..total {
        let kept_here = kept.as_ref().and_then(|k| kept_frame(k, t, steps_per_bar));
        for (b, draft) in drafts.iter_mut().enumerate() {
            let (active, onset) = match kept_here {
                Some(frame) => {
                    // Keep the random stream in step so re-rolled bars do not depend on
                    // which bars are kept.
                    for _ in 0..frame_size {
                        draft.rng.next_u32();
                    }
                    frame
                }
                None => {
                    let logits = &state.logits[b * frame_size..(b + 1) * frame_size];
                    draw_step(draft, logits, params, allowed, model, t, &mut candidates)
                }
            };
            write_step(&mut draft.roll, &mut draft.held, t, active, onset);
            let row = &mut frames[b * frame_size..(b + 1) * frame_size];
            draft
                .roll
                .frame_features(t, cfg.pitch_range, cfg.representation, row);
        }
        if t + 1 < total {
            model.step(&frames, &mut state);
        }
    }
    drafts
        .iter()
        .map(|d| {
            let mut p = params.phrase_of(&d.roll, cfg.steps_per_quarter);
            p.notes.retain(|n| n.length_steps >= params.min_note_steps);
            p
        })
        .collect()
}

/// The network starts from silence, as in training, then hears the primer frame by frame.
fn hear_primer(
    model: &FastLstm,
    params: &GenerateParams,
    frames: &mut [f32],
    state: &mut FastState,
) {
    let cfg = &model.config;
    let frame_size = model.frame_size();
    model.step(frames, state);
    let Some(primer) = &params.primer else {
        return;
    };
    let roll = primer_roll(primer, cfg);
    for t in 0..roll.len() {
        for row in frames.chunks_exact_mut(frame_size) {
            roll.frame_features(t, cfg.pitch_range, cfg.representation, row);
        }
        model.step(frames, state);
    }
}

/// The earlier phrase of kept bars as a roll on the model's grid, with the mask.
fn kept_roll(params: &GenerateParams, spq: u32) -> Option<(PianoRoll, u64)> {
    params.keep_bars.as_ref().map(|(earlier, mask)| {
        let mut e = regrid(earlier, earlier.steps_per_quarter, spq);
        e.bars = params.bars;
        (PianoRoll::from_phrase(&e), *mask)
    })
}

/// A drawn step: every pitch drawn on its own, the most likely kept up to the voice limit.
fn draw_step(
    draft: &mut Draft,
    logits: &[f32],
    params: &GenerateParams,
    allowed: PitchSet,
    model: &FastLstm,
    t: usize,
    candidates: &mut Vec<Candidate>,
) -> (PitchSet, PitchSet) {
    let cfg = &model.config;
    let (range, repr) = (cfg.pitch_range, cfg.representation);
    let prev = if t > 0 { draft.roll.active[t - 1] } else { 0 };
    let n = range.len();
    let inv_t = 1.0 / params.temperature;
    candidates.clear();
    for (i, pitch) in range.pitches().enumerate() {
        let p_active = sigmoid(logits[i] * inv_t);
        let u_active = uniform(&mut draft.rng);
        let (p_onset, u_onset) = if repr == Representation::ActiveAndOnset {
            (sigmoid(logits[n + i] * inv_t), uniform(&mut draft.rng))
        } else {
            (0.0, 1.0)
        };
        if allowed & (1u128 << pitch) == 0 {
            continue;
        }
        let sounding = prev & (1u128 << pitch) != 0;
        let len = draft.held[usize::from(pitch)];
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
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.pitch.cmp(&b.pitch)));
        candidates.truncate(params.max_polyphony);
    }
    let (mut a, mut o) = (0u128, 0u128);
    for c in candidates.iter() {
        a |= 1u128 << c.pitch;
        if c.starts || prev & (1u128 << c.pitch) == 0 {
            o |= 1u128 << c.pitch;
        }
    }
    (a, o)
}

struct Candidate {
    pitch: u8,
    starts: bool,
    score: f32,
}
