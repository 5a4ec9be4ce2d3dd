//! Accompanying live: while the player holds a chord, the event model plays a line over it,
//! one voice, drawn at each step of the host's grid under the rules of `sample::chords`
//! (chord tones on strong beats, the chord's scale elsewhere; the key is the one the
//! chords played so far sound in). A chord change is followed at the next step; letting
//! go of every key ends the line there. No allocation, no lock, one network step per event.

use std::sync::Arc;

use super::live_stream::LiveStream;
use crate::events::Event;
use crate::infer::FastLstm;
use crate::key::find_key;
use crate::meter::beat_steps;
use crate::model::Architecture;
use crate::phrase::TimeSignature;
use crate::roll::PitchSet;
use crate::sample::chords::{chord_scale, is_strong_beat, pitch_classes, PitchClasses};
use crate::sample::GenerateError;

use super::live::{LiveSettings, VoiceChange};

/// How much the chords of the last few bars outweigh older ones when the key is judged:
/// each step keeps this share of the weight before it (about four bars at 16ths).
const KEY_MEMORY: f64 = 0.985;

/// A melody line over the chords a player holds.
pub struct LiveAccompanist {
    s: LiveStream,
    home_shift: i32,
    /// The pitches the line may take (model pitches): the Scale and the note range.
    allowed: PitchSet,
    /// The line's note (model pitch) and the pitch it was sent as.
    note: Option<(u8, u8)>,
    /// Steps the note has lasted, and steps of silence while a chord is held.
    held_steps: u32,
    silent_steps: u32,
    /// The chord held (pitch classes) and how long each pitch class has sounded, lately.
    chord: PitchClasses,
    key_weights: [f64; 12],
}

impl LiveAccompanist {
    /// An accompanist playing one voice of an event model (allocates: build it off the
    /// audio thread).
    pub fn new(model: Arc<FastLstm>, settings: LiveSettings) -> Result<Self, GenerateError> {
        if !matches!(model.config.architecture, Architecture::Events { .. }) {
            return Err(GenerateError::NeedsEventModel {
                model: model.config.name.clone(),
            });
        }
        Ok(Self {
            s: LiveStream::new(model, settings.seed, 1, settings.min_p),
            home_shift: settings.home_shift,
            allowed: shift_set(settings.allowed, -settings.home_shift),
            note: None,
            held_steps: 0,
            silent_steps: 0,
            chord: 0,
            key_weights: [0.0; 12],
        })
    }

    /// Grid steps per quarter note the line is stepped at: its model's.
    pub fn steps_per_quarter(&self) -> u32 {
        self.s.codec.steps_per_quarter
    }

    /// The line's note sounding, as sent.
    pub fn sounding(&self) -> Option<u8> {
        self.note.map(|(_, sent)| sent)
    }

    /// A grid step begins with `held` (the keys the player holds) as the chord: the line
    /// ends, goes on or moves, and `out` gets what changes.
    pub fn step(
        &mut self,
        meter: TimeSignature,
        step_in_bar: u32,
        held: PitchSet,
        temperature: f32,
        out: &mut impl FnMut(VoiceChange),
    ) {
        self.s.step(meter, step_in_bar);
        if self.note.is_some() {
            self.held_steps += 1;
        }
        self.chord = pitch_classes(shift_set(held, -self.home_shift));
        for (pc, w) in self.key_weights.iter_mut().enumerate() {
            *w = *w * KEY_MEMORY + f64::from((self.chord >> pc) & 1);
        }
        if held == 0 {
            self.release_all(out);
            self.silent_steps = 0;
            return;
        }
        self.play_step(held, temperature, out);
    }

    /// Ends the line's note if it is `pitch` (as sent): the player is taking that pitch.
    pub fn yield_pitch(&mut self, pitch: u8, out: &mut impl FnMut(VoiceChange)) {
        if self.sounding() == Some(pitch) {
            self.release_all(out);
        }
    }

    /// Ends the line's note (mode change, bypass, no chord held).
    pub fn release_all(&mut self, out: &mut impl FnMut(VoiceChange)) {
        if let Some((pitch, sent)) = self.note.take() {
            self.s.start_step_if_under_way();
            if let Some(off) = self.s.codec.token(Event::Off(pitch)) {
                self.s.push(off);
            }
            out(VoiceChange::Off(sent));
        }
    }

    /// Draws this step's events: maybe an off, maybe an on, under the chord's rules.
    fn play_step(&mut self, held: PitchSet, temperature: f32, out: &mut impl FnMut(VoiceChange)) {
        let (meter, step_in_bar) = (self.s.meter, self.s.step_in_bar);
        let key = find_key(&self.key_weights).map(|(key, _)| key);
        let strong = is_strong_beat(meter, step_in_bar, self.s.codec.steps_per_quarter);
        let scale = chord_scale(key, self.chord);
        let wanted = if strong { self.chord } else { scale };
        // Over the chord: the line stays above the highest key held where the range allows.
        let top_held = 127 - held.leading_zeros() as i32;
        let floor =
            (top_held - self.home_shift + 1).clamp(0, i32::from(self.s.codec.range.hi) - 12);
        let beat = beat_steps(meter, self.s.codec.steps_per_quarter);
        let must_sound = self.silent_steps + 1 >= beat;
        // A line over held chords moves: no note outlasts a bar (the network, never having
        // heard a tune hold one longer, would hold it on and on).
        let too_long = self.held_steps >= meter.steps_per_bar(self.s.codec.steps_per_quarter);
        let current = self.note.map(|(p, _)| p);
        let keys = shift_set(held, -self.home_shift) | !self.allowed;
        // A note the new chord's scale does not hold moves at once.
        let clashes = current.is_some_and(|p| scale & (1 << (p % 12)) == 0);
        loop {
            let token = self
                .s
                .draw(temperature, |codec, ctx, token| match codec.event(token) {
                    Event::Off(p) => Some(p) == current,
                    Event::On(p) => {
                        i32::from(p) >= floor
                            && keys & (1u128 << p) == 0
                            && wanted & (1 << (p % 12)) != 0
                            && ctx.sounding == 0
                    }
                    Event::Step => {
                        !((too_long || clashes) && ctx.sounding != 0)
                            && !(must_sound && ctx.sounding == 0)
                    }
                });
            match self.s.codec.event(token) {
                Event::Off(p) => {
                    self.s.push(token);
                    if let Some((_, sent)) = self.note.take().filter(|(q, _)| *q == p) {
                        out(VoiceChange::Off(sent));
                    }
                }
                Event::On(p) => {
                    self.s.push(token);
                    let sent = (i32::from(p) + self.home_shift).clamp(0, 127) as u8;
                    self.note = Some((p, sent));
                    self.held_steps = 0;
                    out(VoiceChange::On(sent));
                    break;
                }
                // The model ends the step (the host's next step tells it so).
                Event::Step => break,
            }
        }
        self.silent_steps = if self.note.is_some() {
            0
        } else {
            self.silent_steps + 1
        };
    }
}

/// The pitches of `set` moved by `semitones` (those pushed off the keyboard dropped).
fn shift_set(set: PitchSet, semitones: i32) -> PitchSet {
    if semitones >= 0 {
        set << semitones.min(127)
    } else {
        set >> (-semitones).min(127)
    }
}
