//! Sampling an event model (model v2): the notes of a step are drawn one event at a time,
//! each from a softmax over the events allowed at that point, renormalised.
//!
//! Every control is a rule on which events are allowed, so it shapes the draw instead of
//! deleting notes afterwards: key/scale and range (which note-ons exist), max voices (no
//! note-on while that many sound), shortest note (no note-off before it has lasted that
//! long), longest rest (no step end while silence has lasted a beat, so no temperature
//! gives an empty phrase), longest note (a note held two bars is ended; in a single line,
//! one bar, and not struck again at once), span (no note-on widens the phrase beyond the
//! model's compass) and, unless turned off, strict voice leading (no note-on moving in
//! parallel fifths or octaves with a voice above it). Kept bars, repeats of the form and
//! the primer are fed to the network as forced events, so it hears them and what follows
//! fits them; so are the repeats the network chooses (`repeats`).

mod repeats;

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::step_precision;
use crate::events::{encode_piece, limit_voices, Event, EventCodec, EventContext};
use crate::infer::{exp_f32, FastLstm, FastState};
use crate::key::{key_of_notes, Key};
use crate::meter::{beat_steps, MeterMap};
use crate::phrase::{Note, Phrase};
use crate::roll::{PianoRoll, PitchSet, Representation};
use crate::sample::chords::ChordTrack;
use crate::sample::melody::MelodyTrack;
use crate::sample::voice_leading::makes_parallels;
use crate::sample::{
    keeps_bar, kept_frame, pitches_in, primer_roll, regrid, uniform, variation_seed, write_step,
    Frame, GenerateParams, MAX_CANDIDATES,
};

/// One variation being written.
#[derive(Clone)]
struct Draft {
    ctx: EventContext,
    /// The step being written.
    step: usize,
    roll: PianoRoll,
    /// Steps each sounding pitch has lasted so far (0 when silent).
    held: [u32; 128],
    /// Pitches struck in the step being written.
    struck: PitchSet,
    /// Every pitch struck in the phrase so far.
    played: PitchSet,
    /// Pitches sounding when the step being written began (the previous sonority).
    entering: PitchSet,
    /// Whole steps of silence just before this one.
    silent_steps: u32,
    /// Events this step must still play (kept bars, repeats, notes held too long), in order.
    forced: VecDeque<usize>,
    /// Under a melody: pitches this step must end (before anything is struck), and the
    /// melody's note it must strike first.
    must_end: PitchSet,
    must_strike: Option<u8>,
    /// In a single line, pitches the longest-note rule ended as this step began: not struck
    /// again at once.
    worn_out: PitchSet,
    rng: Pcg64Mcg,
    /// Natural log-probability under the model (temperature 1, over the events the rules
    /// allow) of the events drawn so far, and how many: how candidates are ranked.
    log_prob: f64,
    drawn: u32,
    /// A trial repeat (`repeats`): the earlier bar this bar copies, every event forced and
    /// scored as if drawn.
    trial_source: Option<u32>,
    /// A trial repeat's bar against the fresh one: it stops once it can no longer win.
    contest: Option<repeats::Contest>,
}

impl Draft {
    /// A draft at the phrase's first step, having heard the primer (`ctx`).
    fn new(ctx: EventContext, rules: &Rules, seed: u64) -> Self {
        Draft {
            ctx,
            step: 0,
            roll: PianoRoll::new(rules.total_steps),
            held: [0; 128],
            struck: 0,
            played: 0,
            entering: ctx.sounding,
            // A phrase starts on its downbeat: no rest before the first note (models learn
            // silent pickup bars at the start of pieces).
            silent_steps: rules.max_rest_steps,
            forced: VecDeque::with_capacity(2 * 128 + 1),
            must_end: 0,
            must_strike: None,
            worn_out: 0,
            rng: Pcg64Mcg::seed_from_u64(seed),
            log_prob: 0.0,
            drawn: 0,
            trial_source: None,
            contest: None,
        }
    }
}

/// Voices (the melody's included) that sound whenever a melody being harmonized does: a
/// step under it ends only when this many sound, unless nothing more may be struck.
pub(crate) const FULL_UNDER_MELODY: u8 = 3;

/// Limits that make up the rules, fixed for a whole generation.
struct Rules {
    codec: EventCodec,
    total_steps: usize,
    steps_per_bar: usize,
    allowed_pitches: PitchSet,
    voices: u8,
    min_note_steps: u32,
    max_note_steps: u32,
    max_rest_steps: u32,
    strict_voice_leading: bool,
    /// Widest the phrase may spread, lowest note to highest, in semitones.
    max_span: u8,
    /// Per step, the steps left before a copied step (kept bar or repeat) or the end: a
    /// note must fit before the copy takes over, or it would be cut short.
    free_steps: Vec<u32>,
    /// The melody being harmonized, if any.
    melody: Option<MelodyTrack>,
    /// The chords being accompanied, if any.
    chords: Option<ChordTrack>,
    /// Per bar, the earlier bar it copies (form, or a melody's repeat).
    sources: Vec<Option<u32>>,
}

impl Rules {
    /// Whether a freely drawn `token` may come next in `draft`.
    fn allows(&self, draft: &Draft, token: usize) -> bool {
        if !self.codec.allows(&draft.ctx, token, self.voices) {
            return false;
        }
        if let Some(melody) = &self.melody {
            if let Some(verdict) = self.melody_decides(melody, draft, token) {
                return verdict;
            }
        }
        let remaining = self.free_steps[draft.step];
        match self.codec.event(token) {
            Event::On(p) => {
                self.allowed_pitches & (1u128 << p) != 0
                    && draft.worn_out & (1u128 << p) == 0
                    && self.chords.as_ref().is_none_or(|chords| {
                        chords.allows(draft.step, p, draft.ctx.meter, draft.ctx.step_in_bar)
                    })
                    && remaining >= self.min_note_steps
                    && within_span(draft.played, p, self.max_span)
                    && !(self.strict_voice_leading
                        && makes_parallels(draft.entering, draft.ctx.sounding, p))
            }
            Event::Off(p) => draft.held[usize::from(p)] >= self.min_note_steps,
            Event::Step => {
                draft.ctx.sounding != 0
                    || draft.silent_steps < self.max_rest_steps
                    || remaining < self.min_note_steps
            }
        }
    }

    /// Under a melody: the melody's own events where they fall, voices below it, one voice
    /// kept for it during its rests; `None` leaves a voice's event to the other rules.
    fn melody_decides(&self, melody: &MelodyTrack, draft: &Draft, token: usize) -> Option<bool> {
        let t = draft.step;
        let event = self.codec.event(token);
        if draft.must_end != 0 {
            // Offs go up in pitch: nothing above the lowest pitch that must end may end first.
            let lowest = draft.must_end.trailing_zeros() as u8;
            return match event {
                Event::Off(p) if p == lowest => Some(true),
                Event::Off(p) if p < lowest => None,
                _ => Some(false),
            };
        }
        if let Some(m) = draft.must_strike {
            if draft.struck & (1u128 << m) == 0 {
                return match event {
                    Event::On(p) => Some(p == m),
                    Event::Off(p) if melody.holds(t, p) => Some(false),
                    Event::Off(_) => None,
                    Event::Step => Some(false),
                };
            }
        }
        match event {
            Event::Off(p) => melody.holds(t, p).then_some(false),
            // Voices sound only under the melody, and below it.
            Event::On(p) => melody.pitch[t].is_none_or(|m| p >= m).then_some(false),
            // The melody decides where the music rests; while it sounds, the step ends only
            // with the voices under it filled to three (Bach's chorales never thin to one
            // or two voices: 0.0% of the time), or as many as are allowed.
            Event::Step => Some(
                melody.pitch[t].is_none()
                    || draft.ctx.sounding.count_ones()
                        >= u32::from(self.voices.min(FULL_UNDER_MELODY)),
            ),
        }
    }

    /// The rules of one generation, with the steps left before each copied step.
    fn new(
        model: &FastLstm,
        params: &GenerateParams,
        allowed_pitches: PitchSet,
        model_voices: u8,
    ) -> Self {
        let cfg = &model.config;
        let spq = cfg.steps_per_quarter;
        let meter = params.time_signature;
        let phrase = params.empty_phrase(spq);
        let steps_per_bar = phrase.steps_per_bar() as usize;
        let total_steps = phrase.total_steps() as usize;
        let melody = params
            .melody
            .as_ref()
            .map(|m| MelodyTrack::new(m, total_steps));
        let chords = params
            .chords
            .as_ref()
            .map(|c| ChordTrack::new(c, total_steps));
        let follows = melody.is_some() || chords.is_some();
        let sources = repeat_sources(params, melody.as_ref(), chords.is_some(), steps_per_bar);
        let free_steps = steps_before_copies(params, &sources, follows, total_steps, steps_per_bar);
        let voices = model_voices.min(params.max_polyphony.clamp(1, 128) as u8);
        Self {
            codec: EventCodec::new(cfg),
            total_steps,
            steps_per_bar,
            allowed_pitches,
            voices,
            min_note_steps: params.min_note_steps.max(1),
            // A line holds no note longer than a bar (the tunes do in 3% of 8-bar segments,
            // the cut-time fiddle network drew drones in 15% of its phrases); chords may
            // hold for two.
            max_note_steps: (if voices == 1 { 1 } else { 2 } * steps_per_bar as u32)
                .max(params.min_note_steps),
            // A line over chords never rests a whole beat (it accompanies); free phrases
            // may rest up to a beat.
            max_rest_steps: beat_steps(meter, spq).saturating_sub(u32::from(chords.is_some())),
            strict_voice_leading: params.strict_voice_leading,
            // Free phrases only: a melody or chords being followed set the compass.
            max_span: (!follows)
                .then(|| params.span.semitones_for(cfg))
                .flatten()
                .unwrap_or(127),
            free_steps,
            melody,
            chords,
            sources,
        }
    }

    /// Where the bar lines of the music followed fall (a melody's or chords'), if any.
    fn given_meters(&self) -> Option<&MeterMap> {
        self.melody
            .as_ref()
            .map(|m| &m.meters)
            .or(self.chords.as_ref().map(|c| &c.meters))
    }

    /// From here to the end every step is copied: nothing is drawn any more, so the
    /// network need not hear those steps (a quarter of an AA'BA phrase).
    fn copied_tail_start(&self) -> usize {
        self.free_steps[..self.total_steps]
            .iter()
            .rposition(|&free| free > 0)
            .map_or(0, |last_free| last_free + 1)
    }
}

/// The bar each bar repeats: the form's, or under a melody the earlier bar whose melody it
/// repeats in a line sung again (its harmony comes back with it, as a chorale's usually
/// does: [`repeated_lines`]).
fn repeat_sources(
    params: &GenerateParams,
    melody: Option<&MelodyTrack>,
    follows_chords: bool,
    steps_per_bar: usize,
) -> Vec<Option<u32>> {
    let sources: Vec<Option<u32>> = (0..params.bars)
        .map(|bar| match melody {
            Some(m) => m.repeats_bar(bar, steps_per_bar),
            None if follows_chords => None,
            None => params.form.source_bar(bar, params.bars),
        })
        .collect();
    if melody.is_some() {
        // Its own stream, so the drafts draw as they would without the choice.
        let mut rng = Pcg64Mcg::seed_from_u64(params.seed ^ LINE_COPY_SEED);
        repeated_lines(&sources, || uniform(&mut rng) < params.line_copies)
    } else {
        sources
    }
}

/// For each step, how many steps are drawn from it before the next copied one (a kept bar
/// or a repeat's); 0 on a copied step.
fn steps_before_copies(
    params: &GenerateParams,
    sources: &[Option<u32>],
    follows: bool,
    total_steps: usize,
    steps_per_bar: usize,
) -> Vec<u32> {
    let copied_bar = |bar: u32| {
        let kept = matches!(params.keep_bars, Some((_, mask)) if keeps_bar(mask, bar));
        (kept && !follows) || sources.get(bar as usize).copied().flatten().is_some()
    };
    let mut free_steps = vec![0u32; total_steps + 1];
    for t in (0..total_steps).rev() {
        free_steps[t] = if copied_bar((t / steps_per_bar) as u32) {
            0
        } else {
            free_steps[t + 1] + 1
        };
    }
    free_steps
}

/// Whether striking `p` keeps the phrase's pitches (`played`) within `max_span` semitones
/// (a pitch inside what has sounded always may: kept bars can be wider than the span).
fn within_span(played: PitchSet, p: u8, max_span: u8) -> bool {
    let (lo, hi) = (
        played.trailing_zeros(),
        127u32.saturating_sub(played.leading_zeros()),
    );
    let p = u32::from(p);
    played == 0 || (lo..=hi).contains(&p) || hi.max(p) - lo.min(p) <= u32::from(max_span)
}

/// Mixed into the seed for the choice of which lines are copied.
const LINE_COPY_SEED: u64 = 0x6c69_6e65_636f_7079;

/// Keeps the repeats that make a line sung again: three bars or more in a row, or two
/// from the opening (a chorale's repeated first lines); each such line kept when `copies`
/// says so (drawn with `GenerateParams::line_copies`). A single bar that happens to repeat, or a two-bar figure from later on, is
/// harmonized afresh, as Bach mostly does (in the training split's segments with only such
/// a figure his parts repeat a bar in 1 of 3).
fn repeated_lines(sources: &[Option<u32>], mut copies: impl FnMut() -> bool) -> Vec<Option<u32>> {
    let mut kept = vec![None; sources.len()];
    let mut bar = 0;
    while bar < sources.len() {
        let Some(first_source) = sources[bar] else {
            bar += 1;
            continue;
        };
        let mut end = bar + 1;
        while end < sources.len()
            && sources[end].is_some()
            && sources[end] == sources[end - 1].map(|s| s + 1)
        {
            end += 1;
        }
        let bars = end - bar;
        if (bars >= 3 || (bars == 2 && first_source == 0)) && copies() {
            kept[bar..end].copy_from_slice(&sources[bar..end]);
        }
        bar = end;
    }
    kept
}

/// Generates `count` variations with an event model (see `family::generate_variations`).
pub(super) fn generate(
    model: &FastLstm,
    params: &GenerateParams,
    count: usize,
    allowed_pitches: PitchSet,
    model_voices: u8,
) -> Vec<Phrase> {
    let cfg = &model.config;
    let rules = Rules::new(model, params, allowed_pitches, model_voices);
    let free = params.melody.is_none() && params.chords.is_none();
    let kept = params
        .keep_bars
        .as_ref()
        .filter(|_| free)
        .map(|(earlier, mask)| {
            (
                kept_roll(earlier, params, &rules, cfg.steps_per_quarter),
                *mask,
            )
        });
    // Candidate `j` of variation `i` is draft `i * candidates + j`, seeded by its index.
    let candidates = params.candidates.clamp(1, MAX_CANDIDATES) as usize;
    let batch = count * candidates;
    let mut state = model.state_in(batch, step_precision(&model.config));
    let mut inputs = vec![0.0f32; batch * model.input_size()];
    let ctx = hear_primer(model, params, &rules, &mut inputs, &mut state);
    let mut drafts: Vec<Draft> = (0..batch)
        .map(|i| Draft::new(ctx, &rules, variation_seed(params.seed, i)))
        .collect();
    for draft in &mut drafts {
        plan_step(draft, &rules, kept.as_ref());
    }
    let repeat_bias = params.repeats.bias_for(cfg, &params.form).filter(|_| free);
    let writer = Writer {
        model,
        params,
        rules: &rules,
        kept: kept.as_ref(),
        scored: params.candidates > 1 || repeat_bias.is_some(),
        min_p: params.min_p.share_for(&model.config),
    };
    match repeat_bias {
        Some(bias) => repeats::write(&writer, &mut drafts, &mut state, bias),
        None => writer.write(&mut drafts, &mut inputs, &mut state, rules.total_steps),
    }
    drafts
        .chunks(candidates)
        .map(|c| most_likely(c, params.prefer_key))
        .map(|d| params.phrase_of(&d.roll, cfg.steps_per_quarter))
        .collect()
}

/// The candidate with the highest mean log-probability per drawn event (the first on a
/// tie), among those in the preferred key if any is.
fn most_likely(candidates: &[Draft], prefer_key: Option<Key>) -> &Draft {
    let mean = |d: &Draft| mean_log_prob(d.log_prob, d.drawn);
    let in_key = |d: &Draft| {
        prefer_key.is_some_and(|key| {
            key_of_notes(&d.roll.to_notes(Representation::ActiveAndOnset, 100)) == Some(key)
        })
    };
    // Each candidate ranked once: the key check decodes its whole roll.
    let rank = |d: &Draft| (in_key(d), mean(d));
    candidates
        .iter()
        .map(|d| (rank(d), d))
        .reduce(|best, next| if next.0 > best.0 { next } else { best })
        .expect("at least one candidate")
        .1
}

/// Mean log-probability per event of `drawn` events scoring `log_prob` in all: how
/// candidates and trial repeats are ranked.
fn mean_log_prob(log_prob: f64, drawn: u32) -> f64 {
    log_prob / f64::from(drawn.max(1))
}

/// The primer: every variation hears it, event by event. Returns the context after it.
fn hear_primer(
    model: &FastLstm,
    params: &GenerateParams,
    rules: &Rules,
    inputs: &mut [f32],
    state: &mut FastState,
) -> EventContext {
    let cfg = &model.config;
    let (codec, meter, width) = (&rules.codec, params.time_signature, model.input_size());
    let mut ctx = EventContext {
        meter,
        ..EventContext::START
    };
    if let Some(primer) = &params.primer {
        let roll = limit_voices(&primer_roll(primer, cfg), rules.voices);
        let meters = MeterMap::constant(meter, cfg.steps_per_quarter);
        for (c, token) in encode_piece(codec, &roll, &meters) {
            for row in inputs.chunks_exact_mut(width) {
                codec.write_input(&c, row);
            }
            model.step(inputs, state);
            ctx = codec.advance(c, token, u32::MAX);
        }
        ctx.step_in_bar = 0;
    }
    if let Some(meters) = rules.given_meters() {
        (ctx.meter, ctx.step_in_bar) = meters.at(0);
    }
    ctx
}

/// What every draft of one generation is written with.
struct Writer<'a> {
    model: &'a FastLstm,
    params: &'a GenerateParams,
    rules: &'a Rules,
    kept: Option<&'a (PianoRoll, u64)>,
    /// Whether drawn events are scored (candidates and repeats are ranked by the score).
    scored: bool,
    /// The min-p share drawn with (`sample::min_p`), resolved for the model.
    min_p: f32,
}

impl Writer<'_> {
    /// Steps the network and draws (or plays forced) events until every draft has written
    /// the steps before `end`. A draft that gets there first waits (as does a trial repeat
    /// that has lost, `repeats::Contest`), and the network steps only the drafts still
    /// writing: a finished one costs nothing, and its recurrent state
    /// stays as it was when it arrived, so stopping at a bar line and going on gives the
    /// same phrase as writing straight through.
    fn write(&self, drafts: &mut [Draft], inputs: &mut [f32], state: &mut FastState, end: usize) {
        let (model, params, rules) = (self.model, self.params, self.rules);
        let codec = &rules.codec;
        let (width, vocab) = (model.input_size(), codec.vocab_size());
        let copied_tail_start = rules.copied_tail_start();
        let inv_t = 1.0 / params.temperature;
        let active = |d: &Draft| d.step < end && !d.contest.is_some_and(|c| c.lost);
        // The drafts still writing sit at the front, the network steps only them, and a
        // finished draft's state stays as it was when it reached `end` (where the next
        // write goes on from). `order[r]` is the draft now in row `r`.
        let mut order: Vec<usize> = (0..drafts.len()).collect();
        let mut live = drafts.len();
        let mut compact = |drafts: &mut [Draft], state: &mut FastState, live: &mut usize| {
            let mut r = 0;
            while r < *live {
                if active(&drafts[r]) {
                    r += 1;
                } else {
                    *live -= 1;
                    drafts.swap(r, *live);
                    state.swap_rows(r, *live);
                    order.swap(r, *live);
                }
            }
        };
        compact(drafts, state, &mut live);
        while live > 0 {
            let only_copies_left = drafts[..live].iter().all(|d| d.step >= copied_tail_start);
            if !only_copies_left {
                for (b, draft) in drafts[..live].iter().enumerate() {
                    codec.write_input(&draft.ctx, &mut inputs[b * width..(b + 1) * width]);
                }
                model.step_rows(&inputs[..live * width], state, live);
            }
            for (b, draft) in drafts[..live].iter_mut().enumerate() {
                let logits = &state.logits[b * vocab..(b + 1) * vocab];
                let token = if let Some(token) = draft.forced.pop_front() {
                    if draft.trial_source.is_some() {
                        let log_prob = score(logits, token, |t| rules.allows(draft, t));
                        draft.log_prob += log_prob;
                        draft.drawn += 1;
                        if let Some(contest) = &mut draft.contest {
                            contest.lost = contest.cannot_win(draft.log_prob, draft.drawn);
                        }
                    }
                    token
                } else {
                    debug_assert!(!only_copies_left, "a copied step forces all its tokens");
                    let u = uniform(&mut draft.rng);
                    let (token, log_prob) =
                        draw(logits, inv_t, self.min_p, u, self.scored, |token| {
                            rules.allows(draft, token)
                        });
                    draft.log_prob += log_prob;
                    draft.drawn += 1;
                    token
                };
                play(draft, token, rules, self.kept);
            }
            compact(drafts, state, &mut live);
        }
        // Back in the caller's order.
        for r in 0..order.len() {
            while order[r] != r {
                let to = order[r];
                drafts.swap(r, to);
                state.swap_rows(r, to);
                order.swap(r, to);
            }
        }
    }
}

/// Largest vocabulary: `Off` and `On` for 128 pitches, and `Step`.
const MAX_VOCAB: usize = 2 * 128 + 1;

/// The tokens `allowed` keeps (it runs once per token, into a mask the passes share), their
/// largest logit, and the token that has it (the last token when none is allowed).
fn allowed_mask(
    logits: &[f32],
    allowed: impl Fn(usize) -> bool,
) -> ([bool; MAX_VOCAB], f32, usize) {
    debug_assert!(logits.len() <= MAX_VOCAB);
    let mut mask = [false; MAX_VOCAB];
    let mut best = f32::NEG_INFINITY;
    let mut likeliest = logits.len() - 1;
    for (token, &z) in logits.iter().enumerate().take(MAX_VOCAB) {
        mask[token] = allowed(token);
        if mask[token] && z > best {
            best = z;
            likeliest = token;
        }
    }
    (mask, best, likeliest)
}

/// Draws a token from `softmax(logits / T)` over the tokens `allowed` keeps and whose
/// weight is at least `min_p` of the likeliest's, with the uniform draw `u` (one per token;
/// exp from basic IEEE operations: the same on every platform). With `score`, also the
/// token's log-probability at temperature 1 over the allowed tokens (else 0).
pub(super) fn draw(
    logits: &[f32],
    inv_t: f32,
    min_p: f32,
    u: f32,
    score: bool,
    allowed: impl Fn(usize) -> bool,
) -> (usize, f64) {
    let (mask, best, fallback) = allowed_mask(logits, allowed);
    // The likeliest weighs exp(0) = 1, so min-p is a floor on each weight.
    let weight = |token: usize| {
        let w = exp_f32((logits[token] - best) * inv_t);
        f64::from(if w >= min_p { w } else { 0.0 })
    };
    let allowed_tokens = || (0..logits.len()).filter(|&token| mask[token]);
    let target = f64::from(u) * allowed_tokens().map(weight).sum::<f64>();
    let mut acc = 0.0f64;
    let token = allowed_tokens()
        .find(|&token| {
            acc += weight(token);
            acc > target
        })
        .unwrap_or(fallback);
    let log_p = if score {
        log_prob(logits, &mask, best, token)
    } else {
        0.0
    };
    (token, log_p)
}

/// `ln p(token)` under the softmax of `logits` over the `allowed` tokens (`best` is their
/// largest logit), from exp_f32 and libm's log: the same on every platform, so the
/// candidate kept is too.
fn log_prob(logits: &[f32], allowed: &[bool], best: f32, token: usize) -> f64 {
    let total: f64 = logits
        .iter()
        .zip(allowed)
        .filter(|(_, &ok)| ok)
        .map(|(&z, _)| f64::from(exp_f32(z - best)))
        .sum();
    f64::from(logits[token] - best) - libm::log(total)
}

/// `ln p(token)` at temperature 1 over the tokens `allowed` keeps: how a forced token is
/// scored as if it had been drawn.
fn score(logits: &[f32], token: usize, allowed: impl Fn(usize) -> bool) -> f64 {
    let (mask, best, _) = allowed_mask(logits, allowed);
    let best = if best == f32::NEG_INFINITY {
        logits[token]
    } else {
        best
    };
    log_prob(logits, &mask, best, token)
}

/// Plays `token` in `draft`; a step end writes the step into the roll and, unless it was
/// the last, plans the next one.
fn play(draft: &mut Draft, token: usize, rules: &Rules, kept: Option<&(PianoRoll, u64)>) {
    let codec = &rules.codec;
    match codec.event(token) {
        Event::On(p) => {
            draft.struck |= 1u128 << p;
            draft.played |= 1u128 << p;
        }
        Event::Off(p) => draft.must_end &= !(1u128 << p),
        Event::Step => {}
    }
    draft.ctx = codec.advance(draft.ctx, token, rules.steps_per_bar as u32);
    if token != codec.step_token() {
        return;
    }
    let sounding = draft.ctx.sounding;
    write_step(
        &mut draft.roll,
        &mut draft.held,
        draft.step,
        sounding,
        draft.struck,
    );
    draft.silent_steps = if sounding == 0 {
        draft.silent_steps + 1
    } else {
        0
    };
    draft.struck = 0;
    draft.step += 1;
    if let Some(meters) = rules.given_meters() {
        (draft.ctx.meter, draft.ctx.step_in_bar) = meters.at(draft.step as u32);
    }
    if draft.step < rules.total_steps {
        plan_step(draft, rules, kept);
    }
}

/// Decides what the new step must play: a copied frame (kept bar or repeat), or else the
/// note-offs of notes held too long and of primer notes the phrase does not own.
fn plan_step(draft: &mut Draft, rules: &Rules, kept: Option<&(PianoRoll, u64)>) {
    draft.forced.clear();
    let t = draft.step;
    let sounding = draft.ctx.sounding;
    draft.entering = sounding;
    let codec = &rules.codec;
    let offs_of = |set| pitches_in(set).filter_map(|p| codec.token(Event::Off(p)));
    draft.must_end = 0;
    draft.must_strike = None;
    if let Some((active, struck)) = copied_frame(draft, t, rules, kept) {
        let continuing = sounding & active & !struck;
        let offs = sounding & !continuing;
        let ons = active & !continuing;
        draft.forced.extend(offs_of(offs));
        draft.forced.extend(
            pitches_in(ons)
                .rev()
                .filter_map(|p| codec.token(Event::On(p))),
        );
        draft.forced.push_back(codec.step_token());
        return;
    }
    let owned = if t > 0 { draft.roll.active[t - 1] } else { 0 };
    let mut must_end: PitchSet = 0;
    draft.worn_out = 0;
    for p in pitches_in(sounding) {
        let bit = 1u128 << p;
        let too_long = draft.held[usize::from(p)] >= rules.max_note_steps;
        if owned & bit == 0 || too_long {
            must_end |= bit;
        }
        // A single line may not hold one pitch on and on by striking it again.
        if too_long && rules.voices == 1 {
            draft.worn_out |= bit;
        }
    }
    if let Some(melody) = &rules.melody {
        // The melody's notes last as long as the melody says, however long that is.
        let (melody_ends, strike) = melody.step_demands(t, sounding);
        let melody_now = melody.pitch[t].map_or(0, |m| 1u128 << m);
        draft.must_end = (must_end & !melody_now) | melody_ends;
        draft.must_strike = strike;
        return;
    }
    draft.forced.extend(offs_of(must_end));
}

/// The frame step `t` copies, if its bar is kept or repeats an earlier bar of the form.
/// A copied run of bars strikes its notes afresh where it begins.
fn copied_frame(
    draft: &Draft,
    t: usize,
    rules: &Rules,
    kept: Option<&(PianoRoll, u64)>,
) -> Option<Frame> {
    let spb = rules.steps_per_bar;
    if let Some(frame) = kept.and_then(|k| kept_frame(k, t, spb)) {
        return Some(frame);
    }
    let bar = (t / spb) as u32;
    let is_kept = |b: u32| kept.is_some_and(|&(_, mask)| keeps_bar(mask, b));
    let source_of = |b: u32| rules.sources.get(b as usize).copied().flatten();
    let source = draft.trial_source.or_else(|| source_of(bar))?;
    let s = source as usize * spb + t % spb;
    // A trial repeat strikes its notes afresh, or a held note could outlast every limit.
    let continues = draft.trial_source.is_none()
        && bar > 0
        && !is_kept(bar - 1)
        && source > 0
        && source_of(bar - 1) == Some(source - 1);
    let restart = t.is_multiple_of(spb) && !continues;
    let active = draft.roll.active[s];
    Some((
        active,
        draft.roll.onset[s] | if restart { active } else { 0 },
    ))
}

/// The earlier phrase of kept bars on the model's grid, moved into the current key and
/// range (each note to the nearest allowed pitch) and cut to the allowed voices.
fn kept_roll(earlier: &Phrase, params: &GenerateParams, rules: &Rules, spq: u32) -> PianoRoll {
    let mut e = regrid(earlier, earlier.steps_per_quarter, spq);
    e.bars = params.bars;
    e.time_signature = params.time_signature;
    e.notes = e
        .notes
        .iter()
        .filter_map(|n| {
            nearest_allowed(n.pitch, rules.allowed_pitches).map(|pitch| Note { pitch, ..*n })
        })
        .collect();
    crate::midi::quantize::resolve_overlaps(&mut e.notes);
    limit_voices(&PianoRoll::from_phrase(&e), rules.voices)
}

/// The allowed pitch closest to `pitch` (the lower one on a tie).
fn nearest_allowed(pitch: u8, allowed: PitchSet) -> Option<u8> {
    (0..128i32)
        .flat_map(|d| [i32::from(pitch) - d, i32::from(pitch) + d])
        .find(|&p| (0..128).contains(&p) && allowed & (1u128 << p) != 0)
        .map(|p| p as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_three_bars_or_two_from_the_opening_are_copied_when_chosen() {
        let always = || true;
        let none = |n: usize| vec![None; n];
        // A B C A B: two bars from the opening come back.
        let opening = [None, None, None, Some(0), Some(1)];
        assert_eq!(repeated_lines(&opening, always), opening);
        // X A B Y A B: a two-bar figure from later on is harmonized afresh.
        let later = [None, None, None, None, Some(1), Some(2)];
        assert_eq!(repeated_lines(&later, always), none(6));
        // X A B C A B C: three bars from later on are a line.
        let three = [None, None, None, None, Some(1), Some(2), Some(3)];
        assert_eq!(repeated_lines(&three, always), three);
        // A B A C: a single bar.
        assert_eq!(
            repeated_lines(&[None, None, Some(0), None], always),
            none(4)
        );
        // A B A B C A B: two lines, one choice each, in order.
        let two = [None, None, Some(0), Some(1), None, Some(0), Some(1)];
        let mut answers = [true, false].into_iter();
        assert_eq!(
            repeated_lines(&two, || answers.next().unwrap()),
            [None, None, Some(0), Some(1), None, None, None]
        );
        assert_eq!(answers.next(), None, "one choice per line");
    }

    #[test]
    fn nearest_allowed_prefers_the_closest_then_the_lower() {
        let c_major = crate::scale::Scale::new(0, crate::scale::ScaleKind::Major).pitch_mask();
        assert_eq!(nearest_allowed(61, c_major), Some(60));
        assert_eq!(nearest_allowed(62, c_major), Some(62));
        assert_eq!(nearest_allowed(66, 1 << 70), Some(70));
        assert_eq!(nearest_allowed(66, 0), None);
    }

    #[test]
    fn min_p_never_draws_what_is_far_less_likely_than_the_likeliest() {
        // Weights at T = 1: 1, e^-1 = 0.37, e^-3 = 0.05, e^-5 = 0.007.
        let logits = [0.0f32, -1.0, -3.0, -5.0];
        let drawn = |min_p: f32, inv_t: f32| {
            let mut seen = [false; 4];
            for i in 0..1000 {
                let u = (i as f32 + 0.5) / 1000.0;
                seen[draw(&logits, inv_t, min_p, u, false, |_| true).0] = true;
            }
            seen
        };
        assert_eq!(drawn(0.0, 1.0), [true; 4]);
        assert_eq!(drawn(0.01, 1.0), [true, true, true, false]);
        assert_eq!(drawn(0.1, 1.0), [true, true, false, false]);
        // A hotter draw flattens the weights: more pass the same floor.
        assert_eq!(drawn(0.1, 0.5), [true, true, true, false]);
        // The likeliest allowed token always passes, even when it is not the likeliest.
        assert_eq!(draw(&logits, 1.0, 0.9, 0.99, false, |t| t >= 2).0, 2);
    }
}
