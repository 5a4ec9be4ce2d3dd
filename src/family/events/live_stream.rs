//! What every live mode shares: an event model heard and drawn one event at a time on the
//! audio thread, its state and input allocated once, the host's grid position told at each
//! step. One network step per event: the network hears every event before the next is
//! drawn, as when a phrase is written offline.

use std::sync::Arc;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::sample::draw;
use super::step_precision;
use crate::events::{EventCodec, EventContext};
use crate::infer::{FastLstm, FastState};
use crate::phrase::TimeSignature;
use crate::sample::{uniform, TEMPERATURE_RANGE};

/// An event model played live.
pub struct LiveStream {
    model: Arc<FastLstm>,
    pub codec: EventCodec,
    state: FastState,
    input: Vec<f32>,
    pub ctx: EventContext,
    rng: Pcg64Mcg,
    /// At most this many notes at once (the grammar's limit).
    pub voices: u8,
    min_p: f32,
    /// Where the host's grid is: the metre and the step in the bar of the step under way.
    pub meter: TimeSignature,
    pub step_in_bar: u32,
}

impl LiveStream {
    /// A stream that has heard the start of a piece (allocates: build it off the audio
    /// thread).
    pub fn new(model: Arc<FastLstm>, seed: u64, voices: u8, min_p: f32) -> Self {
        let mut stream = Self {
            codec: EventCodec::new(&model.config),
            state: model.state_in(1, step_precision(&model.config)),
            input: vec![0.0; model.input_size()],
            ctx: EventContext::START,
            rng: Pcg64Mcg::seed_from_u64(seed),
            voices,
            min_p,
            meter: TimeSignature::FOUR_FOUR,
            step_in_bar: 0,
            model,
        };
        stream.hear(stream.ctx);
        stream
    }

    /// A grid step of the host begins at `step_in_bar` of a bar of `meter`: the network
    /// hears the step before it end.
    pub fn step(&mut self, meter: TimeSignature, step_in_bar: u32) {
        self.meter = meter;
        self.step_in_bar = step_in_bar;
        self.push(self.codec.step_token());
    }

    /// Offs must open a step: if this step already struck something, it ends here.
    pub fn start_step_if_under_way(&mut self) {
        if self.ctx.previous != self.codec.step_token() {
            self.push(self.codec.step_token());
        }
    }

    /// A token from the network's current prediction at `temperature` (clamped to
    /// [`TEMPERATURE_RANGE`]) among those the grammar and `allowed` let through.
    pub fn draw(
        &mut self,
        temperature: f32,
        allowed: impl Fn(&EventCodec, &EventContext, usize) -> bool,
    ) -> usize {
        let inv_t = 1.0 / temperature.clamp(TEMPERATURE_RANGE.0, TEMPERATURE_RANGE.1);
        let u = uniform(&mut self.rng);
        let (codec, ctx, voices) = (&self.codec, &self.ctx, self.voices);
        draw(&self.state.logits, inv_t, self.min_p, u, false, |token| {
            codec.allows(ctx, token, voices) && allowed(codec, ctx, token)
        })
        .0
    }

    /// Plays `token` into the context and lets the network hear it.
    pub fn push(&mut self, token: usize) {
        let mut next = self.codec.advance(self.ctx, token, u32::MAX);
        if token == self.codec.step_token() {
            next.meter = self.meter;
            next.step_in_bar = self.step_in_bar;
        }
        self.hear(next);
    }

    fn hear(&mut self, ctx: EventContext) {
        self.ctx = ctx;
        self.codec.write_input(&self.ctx, &mut self.input);
        self.model.step(&self.input, &mut self.state);
    }
}
