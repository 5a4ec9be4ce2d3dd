//! Model v2's vocabulary: a piano roll as a stream of events, and what the network sees
//! before each event.
//!
//! Each grid step is written as its note-offs (ascending pitch), then its note-ons
//! (descending pitch, so the top voice is chosen first and the others under it), then one
//! `Step` token that moves to the next step. A note that goes on is simply not mentioned,
//! so most steps are a lone `Step`. Drawing the events of a step one after another, each
//! conditioned on those before it, is what lets the notes of a chord agree with each other
//! (the prototype drew every pitch independently).
//!
//! Before each event the network sees the previous event, the pitches sounding at that
//! point, and where the step lies in the bar and in the beat under the piece's time
//! signature, so it can learn the metre instead of drifting off the beat.

use crate::meter::{beat_steps, MeterMap};
use crate::model::ModelConfig;
use crate::phrase::TimeSignature;
use crate::roll::{PianoRoll, PitchRange, PitchSet, Representation};

/// One event of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The pitch stops sounding (before this step).
    Off(u8),
    /// The pitch starts at this step.
    On(u8),
    /// End of this step: move to the next one.
    Step,
}

/// Positions in the bar the input tells apart, in grid steps (12/8 at 4 steps per quarter
/// is 24); later positions share the last slot.
pub const BAR_POSITIONS: usize = 48;

/// Time signatures the input names; any other shares the last slot.
pub const METERS: [(u8, u8); 8] = [
    (4, 4),
    (3, 4),
    (2, 4),
    (2, 2),
    (6, 8),
    (9, 8),
    (12, 8),
    (3, 8),
];

/// Features after the bar position and metre slots: on a beat, on an eighth-note.
const BEAT_FEATURES: usize = 2;

/// Steps since the last note-on the input tells apart (later ones share the last slot):
/// how long the current chord or note has lasted, which decides when it changes.
pub const ONSET_AGES: usize = 17;

/// With `ModelConfig::onset_age_beats`, ages past [`ONSET_AGES`] steps are also told apart
/// by whole quarter notes, this many (later ones share the last).
pub const ONSET_AGE_BEATS: usize = 8;

/// The event vocabulary and input layout of one model (its pitch range and grid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventCodec {
    pub range: PitchRange,
    pub steps_per_quarter: u32,
    pub representation: Representation,
    /// The network hears 2/2 as 4/4 (see `ModelConfig::cut_time_as_common`).
    pub cut_time_as_common: bool,
    /// Onset ages past the per-step ones in quarter notes (`ModelConfig::onset_age_beats`).
    pub onset_age_beats: bool,
}

/// What the network is told before one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventContext {
    /// The event before (a `Step` at the start of a piece).
    pub previous: usize,
    /// Pitches sounding now: the last step's, with this step's offs and ons applied so far.
    pub sounding: PitchSet,
    /// Grid steps since the last bar line.
    pub step_in_bar: u32,
    /// The metre of the bar.
    pub meter: TimeSignature,
    /// Step ends since the last note-on (0 right after one).
    pub steps_since_onset: u32,
}

impl EventContext {
    /// Before the first event of a piece: as if a step had just ended, long after any note.
    pub const START: Self = Self {
        previous: usize::MAX,
        sounding: 0,
        step_in_bar: 0,
        meter: TimeSignature::FOUR_FOUR,
        // Longer than any age the input tells apart (the last slot), with room to count on.
        steps_since_onset: u32::MAX / 2,
    };
}

impl EventCodec {
    pub fn new(config: &ModelConfig) -> Self {
        Self {
            range: config.pitch_range,
            steps_per_quarter: config.steps_per_quarter,
            representation: config.representation,
            cut_time_as_common: config.cut_time_as_common,
            onset_age_beats: config.onset_age_beats,
        }
    }

    fn pitches(&self) -> usize {
        self.range.len()
    }

    /// `Off` per pitch, `On` per pitch, `Step`.
    pub fn vocab_size(&self) -> usize {
        2 * self.pitches() + 1
    }

    /// Previous event (one-hot), sounding pitches, bar position, metre, beat features, steps
    /// since the last note-on.
    pub fn input_size(&self) -> usize {
        self.vocab_size()
            + self.pitches()
            + BAR_POSITIONS
            + METERS.len()
            + 1
            + BEAT_FEATURES
            + ONSET_AGES
            + usize::from(self.onset_age_beats) * ONSET_AGE_BEATS
    }

    /// The longest onset age the context counts, in steps: past it, all ages look alike.
    fn max_onset_age(&self) -> u32 {
        let beats = u32::from(self.onset_age_beats) * ONSET_AGE_BEATS as u32;
        ONSET_AGES as u32 + beats * self.steps_per_quarter
    }

    /// The input slot (after the onset-age base) of `steps` since the last note-on.
    fn onset_age_slot(&self, steps: u32) -> usize {
        let fine = ONSET_AGES as u32 - 1;
        if !self.onset_age_beats || steps <= fine {
            return steps.min(fine) as usize;
        }
        let beats = (steps - ONSET_AGES as u32) / self.steps_per_quarter.max(1);
        ONSET_AGES + (beats as usize).min(ONSET_AGE_BEATS - 1)
    }

    /// The token of the step end.
    pub fn step_token(&self) -> usize {
        2 * self.pitches()
    }

    /// The token of an event. Pitches outside the model's range have none.
    pub fn token(&self, event: Event) -> Option<usize> {
        let index = |p: u8| {
            self.range
                .contains(p)
                .then(|| usize::from(p - self.range.lo))
        };
        match event {
            Event::Off(p) => index(p),
            Event::On(p) => index(p).map(|i| self.pitches() + i),
            Event::Step => Some(self.step_token()),
        }
    }

    /// The event of a token (`token < vocab_size()`).
    pub fn event(&self, token: usize) -> Event {
        let n = self.pitches();
        if token < n {
            Event::Off(self.range.lo + token as u8)
        } else if token < 2 * n {
            Event::On(self.range.lo + (token - n) as u8)
        } else {
            Event::Step
        }
    }

    /// The events of step `t` of a roll: what stops, what starts, then the step end.
    /// Pitches outside the model's range are left out.
    pub fn step_events(&self, roll: &PianoRoll, t: usize, out: &mut Vec<Event>) {
        let mask = crate::roll::pitch_span_mask(self.range.lo, self.range.hi);
        let prev = if t > 0 { roll.active[t - 1] & mask } else { 0 };
        let cur = roll.active[t] & mask;
        let continuing = match self.representation {
            Representation::ActiveOnly => prev & cur,
            Representation::ActiveAndOnset => prev & cur & !roll.onset[t],
        };
        let offs = prev & !continuing;
        let ons = cur & !continuing;
        let has = |set: PitchSet| move |&p: &u8| set & (1u128 << p) != 0;
        out.extend(self.range.pitches().filter(has(offs)).map(Event::Off));
        out.extend(self.range.pitches().rev().filter(has(ons)).map(Event::On));
        out.push(Event::Step);
    }

    /// The context after `token`; `steps_per_bar` wraps the bar position at a step end.
    pub fn advance(&self, ctx: EventContext, token: usize, steps_per_bar: u32) -> EventContext {
        let mut next = EventContext {
            previous: token,
            ..ctx
        };
        match self.event(token) {
            Event::Off(p) => next.sounding &= !(1u128 << p),
            Event::On(p) => {
                next.sounding |= 1u128 << p;
                next.steps_since_onset = 0;
            }
            Event::Step => {
                next.step_in_bar = (ctx.step_in_bar + 1) % steps_per_bar.max(1);
                next.steps_since_onset = (ctx.steps_since_onset + 1).min(self.max_onset_age());
            }
        }
        next
    }

    /// Whether `token` may follow in `ctx`: offs ascending then ons descending within a
    /// step, an off only for a sounding pitch, an on only for a silent one and while fewer
    /// than `max_voices` sound. Every encoded piece obeys it (after [`limit_voices`]); the
    /// sampler and the evaluator renormalise the softmax over the tokens it allows.
    pub fn allows(&self, ctx: &EventContext, token: usize, max_voices: u8) -> bool {
        let previous = self.event(ctx.previous);
        match self.event(token) {
            Event::Step => true,
            Event::Off(p) => {
                let in_order = match previous {
                    Event::Step => true,
                    Event::Off(q) => p > q,
                    Event::On(_) => false,
                };
                in_order && ctx.sounding & (1u128 << p) != 0
            }
            Event::On(p) => {
                let in_order = match previous {
                    Event::Step | Event::Off(_) => true,
                    Event::On(q) => p < q,
                };
                in_order
                    && ctx.sounding & (1u128 << p) == 0
                    && ctx.sounding.count_ones() < u32::from(max_voices)
            }
        }
    }

    /// Writes the network's input for `ctx` under `meter` into `out` (`input_size()` long).
    pub fn write_input(&self, ctx: &EventContext, out: &mut [f32]) {
        let meter = ctx.meter;
        out.fill(0.0);
        let v = self.vocab_size();
        let n = self.pitches();
        out[ctx.previous.min(v - 1)] = 1.0;
        let sounding = ctx.sounding >> self.range.lo;
        for i in (0..n).filter(|&i| (sounding >> i) & 1 != 0) {
            out[v + i] = 1.0;
        }
        let base = v + n;
        out[base + (ctx.step_in_bar as usize).min(BAR_POSITIONS - 1)] = 1.0;
        let heard = match (meter.numerator, meter.denominator) {
            (2, 2) if self.cut_time_as_common => (4, 4),
            other => other,
        };
        let meter_slot = METERS
            .iter()
            .position(|&m| m == heard)
            .unwrap_or(METERS.len());
        out[base + BAR_POSITIONS + meter_slot] = 1.0;
        let beats = base + BAR_POSITIONS + METERS.len() + 1;
        let beat_steps = beat_steps(meter, self.steps_per_quarter);
        let eighth_steps = (self.steps_per_quarter / 2).max(1);
        if ctx.step_in_bar.is_multiple_of(beat_steps) {
            out[beats] = 1.0;
        }
        if ctx.step_in_bar.is_multiple_of(eighth_steps) {
            out[beats + 1] = 1.0;
        }
        let ages = beats + BEAT_FEATURES;
        out[ages + self.onset_age_slot(ctx.steps_since_onset)] = 1.0;
    }
}

/// Keeps at most `voices` notes sounding at each step, the highest ones (the melody of a
/// lead sheet is its top line), so a piece fits a model with that many voices.
pub fn limit_voices(roll: &PianoRoll, voices: u8) -> PianoRoll {
    let mut out = PianoRoll::new(roll.len());
    for t in 0..roll.len() {
        let kept = (0..128u8)
            .rev()
            .filter(|&p| roll.active[t] & (1u128 << p) != 0)
            .take(usize::from(voices))
            .fold(0u128, |kept, p| kept | (1u128 << p));
        out.active[t] = kept;
        // A note that lost its place and gets it back starts again.
        let was = if t > 0 { out.active[t - 1] } else { 0 };
        out.onset[t] = kept & (roll.onset[t] | !was);
    }
    out
}

/// Encodes a piece as tokens, each with the context the network sees before it, which
/// knows its bar position and metre from `meters`.
pub fn encode_piece(
    codec: &EventCodec,
    roll: &PianoRoll,
    meters: &MeterMap,
) -> Vec<(EventContext, usize)> {
    let mut out = Vec::with_capacity(roll.len() * 2);
    let mut events = Vec::new();
    let mut ctx = EventContext::START;
    for t in 0..roll.len() {
        events.clear();
        codec.step_events(roll, t, &mut events);
        for &e in &events {
            let token = codec.token(e).expect("events of the model's range");
            (ctx.meter, ctx.step_in_bar) = meters.at(t as u32);
            out.push((ctx, token));
            // The bar position is set from `meters` before each token.
            ctx = codec.advance(ctx, token, u32::MAX);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;

    fn codec(repr: Representation) -> EventCodec {
        let config = ModelConfig {
            pitch_range: PitchRange { lo: 60, hi: 72 },
            representation: repr,
            architecture: Architecture::Events { max_voices: 4 },
            ..ModelConfig::default()
        };
        EventCodec::new(&config)
    }

    #[test]
    fn a_cut_time_model_hears_two_two_as_four_four_and_others_do_not() {
        let input = |codec: &EventCodec, numerator, denominator| {
            let ctx = EventContext {
                meter: TimeSignature::new(numerator, denominator),
                ..EventContext::START
            };
            let mut out = vec![0.0; codec.input_size()];
            codec.write_input(&ctx, &mut out);
            out
        };
        let plain = codec(Representation::ActiveAndOnset);
        let cut = EventCodec {
            cut_time_as_common: true,
            ..plain
        };
        assert_ne!(input(&plain, 2, 2), input(&plain, 4, 4));
        assert_eq!(input(&cut, 2, 2), input(&cut, 4, 4));
        assert_eq!(
            input(&cut, 3, 4),
            input(&plain, 3, 4),
            "other metres as before"
        );
        assert_eq!(input(&cut, 2, 4), input(&plain, 2, 4));
    }

    #[test]
    fn a_step_is_offs_then_ons_from_the_top_then_step() {
        let c = codec(Representation::ActiveAndOnset);
        let mut roll = PianoRoll::new(3);
        roll.add_note(60, 0, 2);
        roll.add_note(64, 0, 1);
        roll.add_note(67, 1, 2);
        roll.add_note(64, 2, 1);
        let mut ev = Vec::new();
        c.step_events(&roll, 0, &mut ev);
        assert_eq!(ev, [Event::On(64), Event::On(60), Event::Step]);
        ev.clear();
        c.step_events(&roll, 1, &mut ev);
        assert_eq!(ev, [Event::Off(64), Event::On(67), Event::Step]);
        ev.clear();
        c.step_events(&roll, 2, &mut ev);
        assert_eq!(ev, [Event::Off(60), Event::On(64), Event::Step]);
    }

    #[test]
    fn a_repeated_note_is_off_then_on_unless_active_only() {
        let mut roll = PianoRoll::new(2);
        roll.add_note(62, 0, 1);
        roll.add_note(62, 1, 1);
        let mut ev = Vec::new();
        codec(Representation::ActiveAndOnset).step_events(&roll, 1, &mut ev);
        assert_eq!(ev, [Event::Off(62), Event::On(62), Event::Step]);
        ev.clear();
        codec(Representation::ActiveOnly).step_events(&roll, 1, &mut ev);
        assert_eq!(ev, [Event::Step]);
    }

    #[test]
    fn tokens_and_events_round_trip() {
        let c = codec(Representation::ActiveAndOnset);
        for token in 0..c.vocab_size() {
            assert_eq!(c.token(c.event(token)), Some(token));
        }
        assert_eq!(c.token(Event::On(59)), None);
    }

    #[test]
    fn contexts_track_sounding_pitches_and_bar_position() {
        let c = codec(Representation::ActiveAndOnset);
        let mut roll = PianoRoll::new(4);
        roll.add_note(60, 0, 3);
        roll.add_note(65, 2, 2);
        let meter = TimeSignature::new(3, 8);
        let tokens = encode_piece(&c, &roll, &MeterMap::constant(meter, 4));
        let steps: Vec<u32> = tokens.iter().map(|(ctx, _)| ctx.step_in_bar).collect();
        // On(60) Step | Step | On(65) Step | Off(60) Step ; 3/8 at 4 steps/quarter is 6 steps.
        assert_eq!(steps, [0, 0, 1, 2, 2, 3, 3]);
        let (ctx, token) = tokens[5];
        assert_eq!(c.event(token), Event::Off(60));
        assert_eq!(ctx.sounding, (1 << 60) | (1 << 65));
        let mut input = vec![0.0; c.input_size()];
        assert_eq!(ctx.meter, meter);
        c.write_input(&ctx, &mut input);
        // Previous event, two sounding pitches, bar position, metre, onset age; step 3 of
        // 3/8 is off the beat.
        assert_eq!(
            input.iter().filter(|&&x| x == 1.0).count(),
            1 + 2 + 1 + 1 + 1
        );
        assert_eq!(ctx.steps_since_onset, 1, "65 struck one step before");
    }

    #[test]
    fn bar_positions_follow_the_pieces_time_signature_map() {
        let c = codec(Representation::ActiveAndOnset);
        let mut roll = PianoRoll::new(24);
        for t in 0..24 {
            roll.add_note(60 + (t % 2) as u8, t, 1);
        }
        let four = TimeSignature::FOUR_FOUR;
        let quarter = TimeSignature::new(1, 4);
        // A 4/4 bar, a 1/4 bar, a 4/4 bar.
        let meters = MeterMap::from_bars(&[(0, four), (16, quarter), (20, four)], 4);
        let at_steps: Vec<(u32, u32)> = encode_piece(&c, &roll, &meters)
            .iter()
            .filter(|(_, token)| *token == c.step_token())
            .map(|(ctx, _)| (ctx.step_in_bar, ctx.meter.numerator.into()))
            .collect();
        let want: Vec<(u32, u32)> = (0..16)
            .map(|p| (p, 4))
            .chain((0..4).map(|p| (p, 1)))
            .chain((0..4).map(|p| (p, 4)))
            .collect();
        assert_eq!(at_steps, want);
    }

    #[test]
    fn every_encoded_step_obeys_the_grammar() {
        let c = codec(Representation::ActiveAndOnset);
        let mut roll = PianoRoll::new(6);
        roll.add_note(60, 0, 4);
        roll.add_note(64, 0, 2);
        roll.add_note(67, 1, 5);
        roll.add_note(64, 2, 1);
        roll.add_note(64, 3, 3);
        roll.add_note(72, 4, 1);
        let melody = limit_voices(&roll, 1);
        assert!(melody.active.iter().all(|a| a.count_ones() <= 1));
        assert_eq!(melody.active[0], 1 << 64);
        assert_eq!(melody.active[4], 1 << 72);
        let four_four = MeterMap::constant(TimeSignature::FOUR_FOUR, 4);
        for (piece, voices) in [(&roll, 4), (&melody, 1)] {
            for (ctx, token) in encode_piece(&c, piece, &four_four) {
                assert!(
                    c.allows(&ctx, token, voices),
                    "{:?} after {:?}",
                    c.event(token),
                    ctx
                );
            }
        }
        // Out of order, off of a silent pitch, a second voice in a melody: refused.
        let ctx = EventContext {
            previous: c.token(Event::On(64)).unwrap(),
            sounding: 1 << 64,
            ..EventContext::START
        };
        assert!(!c.allows(&ctx, c.token(Event::On(67)).unwrap(), 4));
        assert!(c.allows(&ctx, c.token(Event::On(60)).unwrap(), 4));
        assert!(!c.allows(&ctx, c.token(Event::On(60)).unwrap(), 1));
        assert!(!c.allows(&ctx, c.token(Event::Off(64)).unwrap(), 4));
        assert!(c.allows(&ctx, c.step_token(), 1));
    }

    #[test]
    fn beats_are_quarters_or_dotted_quarters() {
        let ts = TimeSignature::new;
        assert_eq!(beat_steps(ts(4, 4), 4), 4);
        assert_eq!(beat_steps(ts(6, 8), 4), 6);
        assert_eq!(beat_steps(ts(3, 8), 4), 2);
        assert_eq!(beat_steps(ts(2, 2), 4), 4);
        assert_eq!(beat_steps(ts(4, 4), 1), 1);
    }

    #[test]
    fn onset_ages_in_beats_tell_long_notes_apart_and_older_models_hear_what_they_did() {
        let base = ModelConfig {
            pitch_range: PitchRange { lo: 60, hi: 72 },
            representation: Representation::ActiveAndOnset,
            architecture: Architecture::Events { max_voices: 1 },
            steps_per_quarter: 12,
            ..ModelConfig::default()
        };
        let old = EventCodec::new(&base);
        let new = EventCodec::new(&ModelConfig {
            onset_age_beats: true,
            ..base
        });
        assert_eq!(new.input_size(), old.input_size() + ONSET_AGE_BEATS);
        // The onset-age slot the input sets for a note held `steps` steps.
        let slot = |codec: &EventCodec, steps: u32| {
            let ctx = EventContext {
                steps_since_onset: steps,
                ..EventContext::START
            };
            let mut input = vec![0.0; codec.input_size()];
            codec.write_input(&ctx, &mut input);
            // The per-step ages end the old layout; the new one adds its beat ages after them.
            let ages = old.input_size() - ONSET_AGES;
            let set: Vec<usize> = (ages..input.len()).filter(|&i| input[i] == 1.0).collect();
            assert_eq!(set.len(), 1);
            set[0] - ages
        };
        for steps in [0, 5, 16, 17, 40, 500] {
            assert_eq!(slot(&old, steps), (steps as usize).min(16));
        }
        assert_eq!(slot(&new, 16), 16);
        assert_eq!(slot(&new, 17), 17); // past the per-step ages, under a quarter more
        assert_eq!(slot(&new, 28), 17);
        assert_eq!(slot(&new, 29), 18); // a quarter note more
        assert_eq!(slot(&new, 48), 19); // a bar of 4/4
        assert_eq!(slot(&new, 10_000), 17 + ONSET_AGE_BEATS - 1);
        assert_eq!(slot(&new, EventContext::START.steps_since_onset), 24);
        // A held note's age counts on as far as the input can tell, and no further.
        let on = new.token(Event::On(64)).unwrap();
        let (mut a, mut b) = (
            new.advance(EventContext::START, on, 48),
            old.advance(EventContext::START, on, 48),
        );
        for _ in 0..200 {
            a = new.advance(a, new.step_token(), 48);
            b = old.advance(b, old.step_token(), 48);
        }
        assert_eq!(a.steps_since_onset, 17 + 8 * 12);
        assert_eq!(b.steps_since_onset, 17);
    }
}
