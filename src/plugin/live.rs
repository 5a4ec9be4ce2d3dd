//! Harmonize and Accompany modes on the audio thread: the keys played into the plugin and
//! the host's grid steps, in time order within the block, drive the live engine the worker
//! built. A harmonizer's voices go out at the sample of the key that called for them; an
//! accompanist's line at the sample of the grid step it is drawn at.
//!
//! With the transport stopped the grid runs on at the host's tempo, so the player can
//! harmonize while the song is not playing. Nothing here allocates: the harmonizer comes
//! and goes boxed through the worker's queues.

use crate::family::VoiceChange;
use crate::phrase::TimeSignature;
use crate::scheduler::{rounding_tolerance_beats, EventBuffer, NoteEvent, TransportSnapshot};

use super::live_engine::LiveEngine;
use super::params::PlayMode;
use super::worker::Shared;

/// A key pressed or released, as the block's input gave it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyEvent {
    pub sample: u32,
    pub pitch: u8,
    pub velocity: f32,
    pub on: bool,
}

/// The audio thread's side of the live modes.
#[derive(Default)]
pub struct LivePlayer {
    harmonizer: Option<Box<LiveEngine>>,
    /// Where the grid is when the host does not say (transport stopped): beats.
    clock_beats: f64,
    /// Where the host's timeline should be at the next block's start, after a block that
    /// played on it: the grid runs on this clock while the host's positions stay within
    /// their rounding of it (hosts round positions to their tick, or jitter), so steps and
    /// note lengths stay sample-exact; beyond that the host's position wins.
    host_clock_beats: Option<f64>,
    /// The last grid step the harmonizer heard begin.
    last_step: Option<i64>,
    /// Velocity of the melody key, given to the voices under it.
    velocity: f32,
    /// The channel the sounding voices were sent on (their offs go there too).
    channel: u8,
    /// The keys the player holds (no voice doubles one).
    held: u128,
}

impl LivePlayer {
    /// Takes the newest harmonizer from the worker (only with room to hand the old one
    /// back), its predecessor's voices ended first.
    pub fn exchange(&mut self, shared: &Shared, out: &mut EventBuffer) {
        while shared.live_garbage.len() + 1 < shared.live_garbage.capacity() {
            let Some(new) = shared.to_audio_live.pop() else {
                break;
            };
            self.release_all(0, out);
            if let Some(old) = std::mem::replace(&mut self.harmonizer, new) {
                let _ = shared.live_garbage.push(old);
            }
        }
    }

    /// Ends every voice at `sample` (mode change, bypass, reset).
    pub fn release_all(&mut self, sample: u32, out: &mut EventBuffer) {
        let channel = self.channel;
        if let Some(h) = self.harmonizer.as_mut() {
            h.release_all(&mut |change| emit(change, sample, channel, 0.0, out));
        }
    }

    /// One block of `mode`: grid steps and keys in time order; the voices into `out`. An
    /// engine of another mode (the worker has not replaced it yet) stays silent.
    /// `keys_sounding`: the player's keys sounding at the block's start (MIDI thru), so no
    /// voice doubles a key held since before (a bypass, another mode). The channel and the
    /// temperature are the parameters'.
    pub fn process(
        &mut self,
        shared: &Shared,
        mode: PlayMode,
        keys_sounding: u128,
        snapshot: &TransportSnapshot,
        keys: &[KeyEvent],
        out: &mut EventBuffer,
    ) {
        let (start_beats, beats_per_sample) = self.advance_clock(snapshot);
        self.held = keys_sounding;
        shared
            .live_beats
            .store(start_beats.to_bits(), std::sync::atomic::Ordering::Release);
        if mode == PlayMode::Answer {
            record_for_answer(shared, keys, start_beats, beats_per_sample);
        }
        // The engine is taken out for the block (a pointer moved, nothing allocated) so it
        // and the player's state can be borrowed together.
        let mut engine = self.harmonizer.take();
        if let Some(h) = engine.as_mut().filter(|h| h.plays(mode)) {
            if !h.is_sounding() {
                self.channel = shared.params.channel_index();
            }
            let meter = snapshot.time_signature.unwrap_or(TimeSignature::FOUR_FOUR);
            let grid = Grid {
                steps_per_quarter: f64::from(h.steps_per_quarter()),
                meter,
                bar_beats: meter.quarters_per_bar(),
                bar_start_beats: snapshot.bar_start_beats.unwrap_or(0.0),
            };
            let block = Block {
                start_beats,
                beats_per_sample,
                len_samples: snapshot.block_len_samples,
                grid,
                temperature: shared.params.temperature.value(),
            };
            self.play_block(h, &block, keys, out);
        }
        self.harmonizer = engine;
    }

    /// Where the block starts on the live grid, and beats per sample; moves the clock to
    /// the block's end. The grid keeps its own clock while the host's position stays within
    /// its rounding of it (see `host_clock_beats`), and runs on at the host's tempo when the
    /// transport is stopped.
    fn advance_clock(&mut self, snapshot: &TransportSnapshot) -> (f64, f64) {
        let tempo = if snapshot.tempo_bpm > 0.0 {
            snapshot.tempo_bpm
        } else {
            120.0
        };
        let beats_per_sample = tempo / 60.0 / snapshot.sample_rate.max(1.0);
        let host = match (snapshot.playing, snapshot.pos_beats) {
            (true, Some(beats)) if beats.is_finite() => Some(beats),
            _ => None,
        };
        let start_beats = match (host, self.host_clock_beats) {
            (Some(beats), Some(ours))
                if (beats - ours).abs() <= rounding_tolerance_beats(tempo) =>
            {
                ours
            }
            (Some(beats), _) => beats,
            (None, _) => self.clock_beats,
        };
        self.clock_beats = start_beats + f64::from(snapshot.block_len_samples) * beats_per_sample;
        self.host_clock_beats = host.map(|_| self.clock_beats);
        (start_beats, beats_per_sample)
    }

    /// The grid steps beginning in the block and the keys, in time order (a step before a
    /// key at the same sample), into `engine`.
    fn play_block(
        &mut self,
        engine: &mut LiveEngine,
        block: &Block,
        keys: &[KeyEvent],
        out: &mut EventBuffer,
    ) {
        // The step under way at the block's start, then each step beginning in the block.
        let first = block.grid.step_at(block.start_beats);
        let mut step_samples = (first..).map_while(|step| {
            let sample = if step == first {
                0
            } else {
                // A hair early counts, as in `step_at`: a twelfth of a beat is not exact.
                let samples =
                    (block.grid.beats_at(step) - block.start_beats) / block.beats_per_sample;
                (samples - 1e-6).ceil() as u32
            };
            (sample < block.len_samples.max(1)).then_some((step, sample))
        });
        let mut next_step = step_samples.next();
        let mut keys = keys.iter().peekable();
        loop {
            match (next_step, keys.peek().copied()) {
                (Some((step, sample)), key) if key.is_none_or(|k| sample <= k.sample) => {
                    self.play_step(engine, block, step, sample, out);
                    next_step = step_samples.next();
                }
                (_, Some(&key)) => {
                    keys.next();
                    self.play_key(engine, block.temperature, key, out);
                }
                // Nothing left: a step with no key after it took the first arm.
                (_, None) => break,
            }
        }
    }

    /// Grid step `step` begins at `sample`: the engine hears it (once, however often a
    /// block boundary repeats it).
    fn play_step(
        &mut self,
        engine: &mut LiveEngine,
        block: &Block,
        step: i64,
        sample: u32,
        out: &mut EventBuffer,
    ) {
        if self.last_step == Some(step) {
            return;
        }
        self.last_step = Some(step);
        let in_bar = block.grid.step_in_bar(block.grid.beats_at(step));
        let (meter, held, velocity, channel) =
            (block.grid.meter, self.held, self.velocity, self.channel);
        match engine {
            LiveEngine::Harmonize(h) => h.step(meter, in_bar),
            LiveEngine::Accompany(a) => a.step(meter, in_bar, held, block.temperature, &mut |c| {
                emit(c, sample, channel, velocity, out)
            }),
            LiveEngine::Answer(a) => a.step(step, sample, channel, out),
        }
    }

    /// A key pressed or released: a harmonizer answers it at once; an accompanist hears the
    /// chord at the next step, but gives up at once a pitch the player strikes; an answer
    /// stops when the player plays again.
    fn play_key(
        &mut self,
        engine: &mut LiveEngine,
        temperature: f32,
        key: KeyEvent,
        out: &mut EventBuffer,
    ) {
        let bit = 1u128 << key.pitch.min(127);
        if key.on {
            self.held |= bit;
            self.velocity = key.velocity;
        } else {
            self.held &= !bit;
        }
        let (held, velocity, channel) = (self.held, self.velocity, self.channel);
        let mut off = |change| emit(change, key.sample, channel, 0.0, out);
        match (engine, key.on) {
            (LiveEngine::Accompany(a), true) => a.yield_pitch(key.pitch, &mut off),
            (LiveEngine::Answer(a), true) => a.stop(&mut off),
            (LiveEngine::Harmonize(h), true) => {
                h.key_down(key.pitch, held, temperature, &mut |c| {
                    emit(c, key.sample, channel, velocity, out)
                })
            }
            (LiveEngine::Harmonize(h), false) => h.key_up(key.pitch, &mut off),
            _ => {}
        }
    }
}

/// What a block of the live modes plays against: where it starts on the grid, its length,
/// the host's bars and the temperature.
struct Block {
    start_beats: f64,
    beats_per_sample: f64,
    len_samples: u32,
    grid: Grid,
    temperature: f32,
}

/// The player's phrase for Answer mode, timed on the live grid, to the worker.
fn record_for_answer(shared: &Shared, keys: &[KeyEvent], start_beats: f64, beats_per_sample: f64) {
    for key in keys {
        let _ = shared.recorded.push(super::worker::RecordedNote {
            pitch: key.pitch,
            velocity: key.velocity,
            on: key.on,
            beats: start_beats + f64::from(key.sample) * beats_per_sample,
        });
    }
}

/// The host's bars on the live grid, which has the engine's steps per quarter note.
struct Grid {
    steps_per_quarter: f64,
    meter: TimeSignature,
    bar_beats: f64,
    bar_start_beats: f64,
}

impl Grid {
    /// The grid step at `beats` (a hair early counts: hosts round positions).
    fn step_at(&self, beats: f64) -> i64 {
        (beats * self.steps_per_quarter + 1e-6).floor() as i64
    }

    /// Where grid step `step` begins, in beats.
    fn beats_at(&self, step: i64) -> f64 {
        step as f64 / self.steps_per_quarter
    }

    /// Steps since the bar line of the step beginning at `beats`.
    fn step_in_bar(&self, beats: f64) -> u32 {
        let in_bar = (beats - self.bar_start_beats).rem_euclid(self.bar_beats);
        let steps_per_bar = self.meter.steps_per_bar(self.steps_per_quarter as u32);
        ((in_bar * self.steps_per_quarter + 1e-6).floor() as u32).min(steps_per_bar - 1)
    }
}

fn emit(change: VoiceChange, sample: u32, channel: u8, velocity: f32, out: &mut EventBuffer) {
    out.push(match change {
        VoiceChange::On(pitch) => NoteEvent::on(sample, pitch, channel, velocity),
        VoiceChange::Off(pitch) => NoteEvent::off(sample, pitch, channel),
    });
}
