//! What every family's sampler shares: the request ([`GenerateParams`]) and its checks, the
//! seeded uniform draw, the primer and kept bars on the model's grid, and the rules of
//! voice leading. The CLI and the plugin generate through `family::generate` /
//! `family::generate_variations`, which check the request here and hand it to the model's
//! family.
//!
//! Every family draws with a seeded PCG generator, its probabilities sharpened or flattened
//! by the temperature and masked by the key/scale and pitch range, and feeds back what it
//! drew, so the model hears its own phrase.

pub mod chords;
pub mod home_key;
pub mod melody;
pub mod min_p;
pub mod repeats;
pub mod setting;
pub mod span;
pub mod voice_leading;

use rand::RngCore;
use rand_pcg::Pcg64Mcg;

use crate::form::Form;
use crate::key::Key;
use crate::model::ModelConfig;
use crate::phrase::{Note, Phrase, TimeSignature};
use crate::roll::{pitch_span_mask, PianoRoll, PitchSet, Representation};
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
    /// Event models: each phrase is the most likely of this many drawn together (the
    /// highest mean log-probability per drawn event under the model), which cuts wandering
    /// at the cost of a bigger batch. 1 = the first draw.
    pub candidates: u32,
    /// Among the candidates, those whose notes sound in this key (Krumhansl–Kessler) come
    /// first: how a key-normalised model is asked for a minor key it shares notes with
    /// its relative major (set by `sample::home_key`).
    pub prefer_key: Option<Key>,
    /// Event models: an event less likely than this share of the likeliest one (after the
    /// temperature) is never drawn (min-p sampling, `sample::min_p`); `Auto` is the model's
    /// own share.
    pub min_p: min_p::MinP,
    /// Event models with several voices: harmonize this melody (its top line) instead of
    /// writing a phrase freely; the phrase is as long as `bars`, the melody's bar lines
    /// replace `time_signature`'s, and form and kept bars do not apply (`sample::melody`).
    pub melody: Option<melody::Melody>,
    /// Harmonizing: how often a melody line sung again gets its harmony back, 0 (always
    /// harmonized afresh) to 1 (always copied); Bach's share by default
    /// ([`melody::LINE_COPY_SHARE`]).
    pub line_copies: f32,
    /// Event models: play a line over these chords (`sample::chords`): chord tones on
    /// strong beats, the chord's scale elsewhere; their bar lines replace
    /// `time_signature`'s, and form and kept bars do not apply.
    pub chords: Option<chords::Chords>,
    /// Event models, free generation: how readily the phrase repeats its own bars, the
    /// network choosing which (`sample::repeats`).
    pub repeats: repeats::Repeats,
    /// Event models: no note-on spreads the phrase wider than this, lowest note to highest
    /// (`sample::span`).
    pub span: span::Span,
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
            candidates: 1,
            prefer_key: None,
            min_p: min_p::MinP::Auto,
            melody: None,
            line_copies: melody::LINE_COPY_SHARE,
            chords: None,
            repeats: repeats::Repeats::Auto,
            span: span::Span::Auto,
        }
    }
}

impl GenerateParams {
    /// The phrase asked for, still empty, on a grid of `spq` steps per quarter.
    pub fn empty_phrase(&self, spq: u32) -> Phrase {
        Phrase::empty(self.bars, spq, self.time_signature, self.tempo_bpm)
    }

    /// A drawn roll (on a grid of `spq`) as the phrase asked for, at the velocity asked for.
    pub fn phrase_of(&self, roll: &PianoRoll, spq: u32) -> Phrase {
        Phrase {
            notes: roll.to_notes(Representation::ActiveAndOnset, self.velocity.clamp(1, 127)),
            ..self.empty_phrase(spq)
        }
    }
}

/// Lowest and highest temperature accepted.
pub const TEMPERATURE_RANGE: (f32, f32) = (0.05, 3.0);
/// Longest phrase generated, in bars.
pub const MAX_BARS: u32 = 64;
/// Most candidates drawn for one phrase.
pub const MAX_CANDIDATES: u32 = 16;

/// Parameters that cannot produce a phrase.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerateError {
    #[error("temperature {0} is outside {min}..={max}", min = TEMPERATURE_RANGE.0, max = TEMPERATURE_RANGE.1)]
    Temperature(f32),
    #[error("bars must be 1..={MAX_BARS}, got {0}")]
    Bars(u32),
    #[error("min-p must be 0 (off) up to below 1, got {0}")]
    MinP(f32),
    #[error("the share of repeated lines copied must be 0..=1, got {0}")]
    LineCopies(f32),
    #[error("the chords have no notes")]
    EmptyChords,
    #[error("the model {model} is a frame model (v1); following chords or a melody needs an event model")]
    NeedsEventModel { model: String },
    #[error("give a melody to harmonize or chords to accompany, not both")]
    MelodyAndChords,
    #[error("the melody has no notes")]
    EmptyMelody,
    #[error("the model {model} writes one voice: it cannot add voices under a melody (harmonize with a model of several voices, e.g. bach-chorales)")]
    MelodyNeedsVoices { model: String },
    #[error(
        "harmonizing needs at least two voices (the melody and one under it); max voices is {0}"
    )]
    MelodyNeedsTwoVoices(usize),
    #[error("the melody spans {lo}..{hi}, which no octave of the model's range {model_lo}..{model_hi} holds")]
    MelodyRange {
        lo: u8,
        hi: u8,
        model_lo: u8,
        model_hi: u8,
    },
    #[error("the melody lasts {steps} steps; at most {MAX_BARS} bars of {steps_per_bar} steps are generated")]
    MelodyTooLong { steps: u32, steps_per_bar: u32 },
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

/// Checks a request against a model: the pitches the key, scale and both ranges leave.
pub fn allowed_pitches(
    cfg: &ModelConfig,
    params: &GenerateParams,
) -> Result<PitchSet, GenerateError> {
    let (t_min, t_max) = TEMPERATURE_RANGE;
    if !(t_min..=t_max).contains(&params.temperature) {
        return Err(GenerateError::Temperature(params.temperature));
    }
    if !(1..=MAX_BARS).contains(&params.bars) {
        return Err(GenerateError::Bars(params.bars));
    }
    let share = params.min_p.share_for(cfg);
    if !(0.0..1.0).contains(&share) {
        return Err(GenerateError::MinP(share));
    }
    if !(0.0..=1.0).contains(&params.line_copies) {
        return Err(GenerateError::LineCopies(params.line_copies));
    }
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
    Ok(allowed)
}

/// A frame every family plays as it is: its sounding and its struck pitches.
pub type Frame = (PitchSet, PitchSet);

/// Whether a kept-bar mask (bit `b` set = keep bar `b`, as in `GenerateParams::keep_bars`)
/// keeps `bar`; bars from 64 on are never kept.
pub fn keeps_bar(mask: u64, bar: u32) -> bool {
    bar < 64 && mask & (1 << bar) != 0
}

/// The frame step `t` copies from the earlier phrase when its bar is kept (`kept`: that
/// phrase on the model's grid, and bit `b` set = keep bar `b`). A kept run of bars strikes
/// its notes afresh where it begins, separate from the re-rolled bar before it.
pub fn kept_frame(kept: &(PianoRoll, u64), t: usize, steps_per_bar: usize) -> Option<Frame> {
    let (earlier, mask) = (&kept.0, kept.1);
    let bar = (t / steps_per_bar) as u32;
    if !keeps_bar(mask, bar) {
        return None;
    }
    let restart = t.is_multiple_of(steps_per_bar) && !(bar > 0 && keeps_bar(mask, bar - 1));
    let active = earlier.active[t];
    Some((active, earlier.onset[t] | if restart { active } else { 0 }))
}

/// The pitches of `set`, lowest first.
pub fn pitches_in(set: PitchSet) -> impl DoubleEndedIterator<Item = u8> {
    (0..128u8).filter(move |&p| set & (1u128 << p) != 0)
}

/// Writes step `t` of a drawn roll, and how long each pitch has sounded by its end
/// (`held`: 1 when struck, one more when held, 0 when silent).
pub fn write_step(
    roll: &mut PianoRoll,
    held: &mut [u32; 128],
    t: usize,
    active: PitchSet,
    onset: PitchSet,
) {
    roll.active[t] = active;
    roll.onset[t] = onset;
    for (p, len) in held.iter_mut().enumerate() {
        let bit = 1u128 << p;
        *len = if onset & bit != 0 {
            1
        } else if active & bit != 0 {
            *len + 1
        } else {
            0
        };
    }
}

/// A uniform draw in [0, 1) from the top 24 bits: the same on every platform.
pub fn uniform(rng: &mut Pcg64Mcg) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A step of a grid of `from_spq` steps per quarter on one of `to_spq`, to the nearest.
pub fn regrid_step(step: u32, from_spq: u32, to_spq: u32) -> u32 {
    ((u64::from(step) * u64::from(to_spq) + u64::from(from_spq) / 2) / u64::from(from_spq.max(1)))
        as u32
}

/// Moves a phrase from one grid to another (rounding to the nearest step, at least 1 long).
pub fn regrid(phrase: &Phrase, from_spq: u32, to_spq: u32) -> Phrase {
    if from_spq == to_spq {
        return phrase.clone();
    }
    let conv = |s: u32| regrid_step(s, from_spq, to_spq);
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

/// The primer as a roll on `cfg`'s grid, moved by whole octaves so as many notes as
/// possible fall in the model's pitch range (the rest are left out).
pub fn primer_roll(primer: &Phrase, cfg: &ModelConfig) -> PianoRoll {
    let mut p = regrid(primer, primer.steps_per_quarter, cfg.steps_per_quarter);
    let (lo, hi) = (cfg.pitch_range.lo, cfg.pitch_range.hi);
    let in_range = |pitch: i32| (i32::from(lo)..=i32::from(hi)).contains(&pitch);
    let fits = |shift: i32| {
        p.notes
            .iter()
            .filter(|n| in_range(i32::from(n.pitch) + shift))
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
            in_range(pitch).then_some(Note {
                pitch: pitch as u8,
                ..*n
            })
        })
        .collect();
    p.bars = p.bars_needed().max(p.bars);
    PianoRoll::from_phrase(&p)
}
