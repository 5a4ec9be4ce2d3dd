//! Harmonizing live: the voices under the key the player presses, drawn in the same call
//! (so in the same audio block) by the event model, one network step per event, with no
//! allocation and no lock. The rules are the offline harmonizer's (`sample::melody`): the
//! melody's note-off and note-on where they fall, voices below it, offs rising and ons
//! falling within a step; the network hears every key and every grid step, so what it adds
//! knows the melody so far and where the bar is.
//!
//! A player's next note is unknown, so the voices change only when the melody does: a new
//! key may end some of them (the model chooses which, and those it would cross must end),
//! then strikes new ones under it; releasing the melody's key ends them all.

use std::sync::Arc;

use super::live_stream::LiveStream;
use crate::events::Event;
use crate::infer::FastLstm;
use crate::phrase::TimeSignature;
use crate::roll::PitchSet;
use crate::sample::melody::harmonizing_voices;
use crate::sample::voice_leading::makes_parallels;
use crate::sample::{pitches_in, GenerateError};

/// A voice starting or ending, in the player's pitches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoiceChange {
    On(u8),
    Off(u8),
}

/// How the harmonizer plays, fixed until it is rebuilt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveSettings {
    pub seed: u64,
    /// Voices in all, the melody included (2 to the model's).
    pub voices: u8,
    pub strict_voice_leading: bool,
    /// Semitones from the model's home key to the player's (a key-normalised model plays
    /// at home): the plugin's Key setting.
    pub home_shift: i32,
    pub min_p: f32,
    /// The pitches (the player's) the voices may take: the Scale and the note range.
    pub allowed: PitchSet,
}

impl Default for LiveSettings {
    /// Four voices in strict voice leading, seed 1, at home, every pitch, no min-p.
    fn default() -> Self {
        Self {
            seed: 1,
            voices: 4,
            strict_voice_leading: true,
            home_shift: 0,
            min_p: 0.0,
            allowed: PitchSet::MAX,
        }
    }
}

/// The event model harmonizing the keys a player presses, step by step in real time.
pub struct LiveHarmonizer {
    s: LiveStream,
    /// As asked; the voices drawn are `s.voices` (at most the model's).
    settings: LiveSettings,
    /// The key being harmonized (as the player pressed it) and its pitch for the model.
    melody: Option<(u8, u8)>,
    /// Voices under the melody (model pitches) and the player's pitch each was sent as.
    lower: PitchSet,
    sent_as: [u8; 128],
    /// The pitches sent for those voices (two model pitches never sound as one).
    sent: PitchSet,
}

impl LiveHarmonizer {
    /// A harmonizer for an event model of at least two voices (allocates: build it off
    /// the audio thread).
    pub fn new(model: Arc<FastLstm>, settings: LiveSettings) -> Result<Self, GenerateError> {
        let model_voices = harmonizing_voices(&model.config)?;
        if settings.voices < 2 {
            return Err(GenerateError::MelodyNeedsTwoVoices(settings.voices.into()));
        }
        let voices = settings.voices.min(model_voices);
        Ok(Self {
            s: LiveStream::new(model, settings.seed, voices, settings.min_p),
            settings,
            melody: None,
            lower: 0,
            sent_as: [0; 128],
            sent: 0,
        })
    }

    /// Grid steps per quarter note the harmonizer is stepped at: its model's.
    pub fn steps_per_quarter(&self) -> u32 {
        self.s.codec.steps_per_quarter
    }

    /// The voices sounding under the melody, as sent (the player's pitches).
    pub fn sounding(&self) -> impl Iterator<Item = u8> + '_ {
        pitches_in(self.lower).map(|p| self.sent_as[usize::from(p)])
    }

    /// A grid step of the host begins at `step_in_bar` of a bar of `meter`: the network
    /// hears the step before it end.
    pub fn step(&mut self, meter: TimeSignature, step_in_bar: u32) {
        self.s.step(meter, step_in_bar);
    }

    /// The player pressed `key` (velocity is the caller's): it becomes the melody, and
    /// `out` receives the voices that end and start under it, in order. No voice strikes a
    /// pitch in `held` (the keys the player holds, which sound already). A key the model's
    /// range cannot hold in any octave is ignored.
    pub fn key_down(
        &mut self,
        key: u8,
        held: PitchSet,
        temperature: f32,
        out: &mut impl FnMut(VoiceChange),
    ) {
        let Some(pitch) = self.model_pitch(key) else {
            return;
        };
        self.s.start_step_if_under_way();
        let entering = self.s.ctx.sounding;
        // The old melody ends; voices the new one would cross must end.
        let old = self.melody.take().map_or(0, |(_, p)| 1u128 << p);
        let mut must_end = old | (self.lower & !((1u128 << pitch) - 1));
        // Voices sent from another octave or key than this note's would not sit under it.
        let offset = i32::from(key) - i32::from(pitch);
        if pitches_in(self.lower)
            .any(|p| i32::from(self.sent_as[usize::from(p)]) != i32::from(p) + offset)
        {
            must_end |= self.lower;
        }
        loop {
            let lowest = must_end.trailing_zeros() as u8;
            let token = self
                .s
                .draw(temperature, |codec, ctx, token| match codec.event(token) {
                    Event::Off(p) if must_end != 0 => p <= lowest,
                    Event::Off(_) => true,
                    // Striking the melody is how the model says "no more offs".
                    Event::On(p) => must_end == 0 && p == pitch && ctx.sounding & (1 << p) == 0,
                    Event::Step => false,
                });
            let Event::Off(p) = self.s.codec.event(token) else {
                break;
            };
            self.s.push(token);
            must_end &= !(1u128 << p);
            if self.lower & (1u128 << p) != 0 {
                self.lower &= !(1u128 << p);
                let sent = self.sent_as[usize::from(p)];
                self.sent &= !(1u128 << sent);
                out(VoiceChange::Off(sent));
            }
        }
        let silent = self.s.ctx.sounding & (1u128 << pitch) == 0;
        let Some(on) = self.s.codec.token(Event::On(pitch)).filter(|_| silent) else {
            return;
        };
        self.s.push(on);
        self.melody = Some((key, pitch));
        self.strike_voices_under(pitch, entering, temperature, key, held, out);
    }

    /// The player released `key`: if it is the melody's, the melody and its voices end.
    pub fn key_up(&mut self, key: u8, out: &mut impl FnMut(VoiceChange)) {
        let Some((_, pitch)) = self.melody.filter(|&(k, _)| k == key) else {
            return;
        };
        self.s.start_step_if_under_way();
        for p in pitches_in(self.lower | (1u128 << pitch)) {
            if let Some(off) = self.s.codec.token(Event::Off(p)) {
                self.s.push(off);
            }
        }
        self.release_all(out);
    }

    /// Ends every voice (mode change, bypass, transport reset): `out` gets their note-offs.
    /// The network is not told; the next key starts afresh from what it last heard.
    pub fn release_all(&mut self, out: &mut impl FnMut(VoiceChange)) {
        for sent in self.sounding() {
            out(VoiceChange::Off(sent));
        }
        self.lower = 0;
        self.sent = 0;
        self.melody = None;
        self.s.ctx.sounding = 0;
    }

    /// Draws the voices under a new melody note until the model ends the step or no voice
    /// is left.
    fn strike_voices_under(
        &mut self,
        melody: u8,
        entering: PitchSet,
        temperature: f32,
        key: u8,
        held: PitchSet,
        out: &mut impl FnMut(VoiceChange),
    ) {
        let voices = u32::from(self.s.voices);
        let full = u32::from(super::sample::FULL_UNDER_MELODY);
        let strict = self.settings.strict_voice_leading;
        let sent_as =
            |p: u8| (i32::from(key) - i32::from(melody) + i32::from(p)).clamp(0, 127) as u8;
        while self.s.ctx.sounding.count_ones() < voices {
            let taken = self.sent | held | (1u128 << key) | !self.settings.allowed;
            let token = self
                .s
                .draw(temperature, |codec, ctx, token| match codec.event(token) {
                    Event::On(p) => {
                        p < melody
                            && ctx.sounding & (1u128 << p) == 0
                            && taken & (1u128 << sent_as(p)) == 0
                            && !(strict && makes_parallels(entering, ctx.sounding, p))
                    }
                    // As offline: the voices under the melody fill to three first.
                    Event::Step => ctx.sounding.count_ones() >= voices.min(full),
                    Event::Off(_) => false,
                });
            let Event::On(p) = self.s.codec.event(token) else {
                // The model is done with this step; the host's next step tells it so.
                break;
            };
            self.s.push(token);
            self.lower |= 1u128 << p;
            let sent = sent_as(p);
            self.sent_as[usize::from(p)] = sent;
            self.sent |= 1u128 << sent;
            out(VoiceChange::On(sent));
        }
    }

    /// The key's pitch for the model: moved home, then by octaves until it and a voice
    /// under it fit the model's range.
    fn model_pitch(&self, key: u8) -> Option<u8> {
        let range = self.s.codec.range;
        let mut p = i32::from(key) - self.settings.home_shift;
        let (lo, hi) = (i32::from(range.lo) + 12, i32::from(range.hi));
        while p > hi {
            p -= 12;
        }
        while p < lo {
            p += 12;
        }
        (p <= hi).then_some(p as u8)
    }
}
