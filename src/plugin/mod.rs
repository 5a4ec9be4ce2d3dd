//! Plugin glue: the nice-plug `Plugin` on top of the pure core.
//!
//! `process()` only moves boxed phrases in and out of lock-free queues, asks the
//! [`Scheduler`] for this block's notes and sends them; generation, model loading and
//! freeing happen on the [`worker`] thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

pub mod editor;
pub mod export;
pub mod history;
pub mod learn;
pub mod live;
pub mod live_engine;
pub mod params;
pub mod saved_phrase;
pub mod user_models;
pub mod worker;

use crate::phrase::TimeSignature;
use crate::scheduler::{EventBuffer, PlaybackPhrase, Scheduler, TransportSnapshot};
use live::{KeyEvent, LivePlayer};
pub use params::PhraseGenParams;
use params::PlayMode;
use worker::{RecordedNote, Shared, Worker};

/// Largest number of events one block can carry.
const EVENT_CAPACITY: usize = 2048;

/// The PhraseGen plugin: a MIDI note generator placed in front of an instrument.
pub struct PhraseGen {
    params: Arc<PhraseGenParams>,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    scheduler: Scheduler,
    current: Option<Box<PlaybackPhrase>>,
    pending: Option<Box<PlaybackPhrase>>,
    /// A retired phrase the garbage queue had no room for (freed on a later block).
    retired: Option<Box<PlaybackPhrase>>,
    events: EventBuffer,
    /// MIDI input passed through, merged with our notes in time order.
    thru: Vec<PluginNoteEvent<Self>>,
    /// Per channel, the keys passed through and not yet released, so switching MIDI thru
    /// off (or bypassing) releases them instead of leaving them stuck in the instrument.
    thru_held: [u128; 16],
    sample_rate: f32,
    /// Rendering offline: wait for the phrase the parameters ask for (deterministic bounces).
    offline: bool,
    /// Send note-offs for everything at the next block (after reset or deactivation).
    release_all: bool,
    /// Harmonize mode: the live harmonizer, and this block's keys for it.
    live: LivePlayer,
    keys: Vec<KeyEvent>,
    /// The mode of the last block (a change releases what the other mode played).
    mode_was: PlayMode,
}

/// How long an offline render waits for the worker before playing on without it.
const OFFLINE_SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long activation waits for the worker's first phrase (or a restored one) before
/// returning without it. Generating takes milliseconds; the bound only matters when the
/// machine starves the worker, and then the phrase simply arrives a little later.
const ACTIVATE_SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for PhraseGen {
    fn default() -> Self {
        let params = Arc::new(PhraseGenParams::default());
        let shared = Shared::new(params.clone());
        let model = crate::builtin::default_model()
            .expect("the built-in model is checked by the test suite");
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("phrasegen-worker".into())
            .spawn(move || Worker::new(worker_shared, model).run())
            .ok();
        Self {
            params,
            shared,
            worker,
            scheduler: Scheduler::new(),
            current: None,
            pending: None,
            retired: None,
            events: EventBuffer::with_capacity(EVENT_CAPACITY),
            thru: Vec::with_capacity(512),
            thru_held: [0; 16],
            sample_rate: 44_100.0,
            offline: false,
            release_all: false,
            live: LivePlayer::default(),
            keys: Vec::with_capacity(512),
            mode_was: PlayMode::Generate,
        }
    }
}

impl Drop for PhraseGen {
    fn drop(&mut self) {
        self.shared.shut_down();
        self.shared.stop_learning();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl PhraseGen {
    /// State shared with the worker and the editor.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Sends our notes and the passed-through input in time order. At the same sample our
    /// note-offs go first and our note-ons last, so a key that takes over a pitch we were
    /// playing (a voice becoming the melody) is not ended by our note-off.
    fn send_events(&mut self, context: &mut impl ProcessContext<Self>) {
        let mut thru = self.thru.iter().peekable();
        for e in self.events.events() {
            while let Some(t) =
                thru.next_if(|t| t.timing() < e.sample || (e.on && t.timing() == e.sample))
            {
                let _ = context.try_send_event(*t);
            }
            let event = if e.on {
                NoteEvent::NoteOn {
                    timing: e.sample,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(e.channel),
                    key: Key::Number(e.pitch),
                    velocity: e.velocity,
                }
            } else {
                note_off(e.sample, e.channel, e.pitch)
            };
            let _ = context.try_send_event(event);
        }
        for t in thru {
            let _ = context.try_send_event(*t);
        }
        self.thru.clear();
        self.events.clear();
    }

    /// Keys passed through and still held, released at `timing` (thru switched off, bypass).
    fn release_thru(&mut self, timing: u32) {
        for (channel, held) in self.thru_held.iter_mut().enumerate() {
            while *held != 0 && self.thru.len() < self.thru.capacity() {
                let pitch = held.trailing_zeros() as u8;
                *held &= !(1u128 << pitch);
                self.thru.push(note_off(timing, channel as u8, pitch));
            }
        }
    }

    /// Takes the host's input: notes to the primer recording, everything to MIDI thru.
    fn take_input(
        &mut self,
        context: &mut impl ProcessContext<Self>,
        snapshot: &TransportSnapshot,
        recording: bool,
        thru: bool,
        harmonizing: bool,
    ) {
        if !thru {
            self.release_thru(0);
        }
        let beats_per_sample = snapshot.tempo_bpm / 60.0 / snapshot.sample_rate.max(1.0);
        while let Some(event) = context.next_event() {
            let note = match event {
                NoteEvent::NoteOn {
                    timing,
                    channel,
                    key: Key::Number(pitch),
                    velocity,
                    ..
                } => Some((pitch, velocity, true, timing, channel)),
                NoteEvent::NoteOff {
                    timing,
                    channel,
                    key: Key::Number(pitch),
                    ..
                } => Some((pitch, 0.0, false, timing, channel)),
                _ => None,
            };
            if let Some((pitch, velocity, on, sample, _)) = note.filter(|_| harmonizing) {
                if self.keys.len() < self.keys.capacity() {
                    self.keys.push(KeyEvent {
                        sample,
                        pitch,
                        velocity,
                        on,
                    });
                }
            }
            if let Some((pitch, velocity, on, timing, _)) = note.filter(|_| recording) {
                let beats =
                    snapshot.pos_beats.unwrap_or(0.0) + f64::from(timing) * beats_per_sample;
                let _ = self.shared.recorded.push(RecordedNote {
                    pitch,
                    velocity,
                    on,
                    beats,
                });
            }
            if thru && self.thru.len() < self.thru.capacity() {
                if let Some((pitch @ 0..128, _, on, _, Channel::Number(c @ 0..16))) = note {
                    let held = &mut self.thru_held[usize::from(c)];
                    let bit = 1u128 << pitch;
                    if on {
                        *held |= bit;
                    } else if *held & bit != 0 {
                        *held &= !bit;
                    } else {
                        // Its note-on never went through (thru was off, or it was
                        // released by bypass): an orphan note-off, not sent.
                        continue;
                    }
                }
                self.thru.push(event);
            }
        }
    }

    /// Returns what we could not before, then takes the newest phrase (only with room to
    /// hand the one it replaces back to the worker, which frees it: never the audio thread).
    fn exchange_phrases(&mut self) {
        if let Some(r) = self.retired.take() {
            self.retire(r);
        }
        while self.retired.is_none()
            && self.shared.garbage.len() + 2 < self.shared.garbage.capacity()
        {
            let Some(p) = self.shared.to_audio.pop() else {
                break;
            };
            if let Some(old) = self.pending.replace(p) {
                let _ = self.shared.garbage.push(old);
            }
        }
    }

    /// A bar clicked on the roll: the free-running clock (Preview) plays from there.
    fn audition_from_clicked_bar(&mut self) {
        let bar = self.shared.preview_from_bar.swap(0, Ordering::AcqRel);
        if let (Some(bar), Some(cur)) = (bar.checked_sub(1), self.current.as_deref()) {
            self.scheduler.seek_free_run(bar as f64 * cur.bar_beats);
        }
    }

    /// This block's notes from the scheduler; a phrase it retires goes back to the worker
    /// (or waits in `retired` when the queue is full).
    fn schedule(&mut self, snapshot: &TransportSnapshot, free_run: Option<f64>) {
        let retired = self.scheduler.process(
            snapshot,
            &mut self.current,
            &mut self.pending,
            self.params.swap.value().swap_at(),
            free_run,
            &mut self.events,
        );
        if let Some(r) = retired {
            self.retire(r);
        }
    }

    /// Hands a replaced phrase back to the worker to free, or keeps it for a later block
    /// when the queue is full.
    fn retire(&mut self, phrase: Box<PlaybackPhrase>) {
        if let Err(phrase) = self.shared.garbage.push(phrase) {
            self.retired = Some(phrase);
        }
    }

    /// Tells the worker and the editor the host's meter and whether it plays.
    fn share_transport(&self, snapshot: &TransportSnapshot) {
        if let Some(ts) = snapshot.time_signature {
            self.shared.set_host_meter(ts);
        }
        self.shared
            .host_playing
            .store(snapshot.playing, Ordering::Relaxed);
    }

    /// On a change of mode, what the other mode played ends where this one begins.
    fn follow_mode(&mut self, mode: PlayMode) {
        if mode != self.mode_was {
            if self.mode_was == PlayMode::Generate {
                self.scheduler.reset(&mut self.events);
            } else {
                self.live.release_all(0, &mut self.events);
            }
            self.mode_was = mode;
        }
    }

    /// Tells the editor where playback is and which phrase is playing.
    fn publish_playhead(&self) {
        if let Some(cur) = self.current.as_deref() {
            self.shared
                .playhead_beats
                .store(self.scheduler.playhead_beats().to_bits(), Ordering::Relaxed);
            self.shared.playing_id.store(cur.id, Ordering::Release);
            self.params.phrase.set_playing(cur.id);
        }
    }
}

impl Plugin for PhraseGen {
    const NAME: &'static str = "PhraseGen";
    const VENDOR: &'static str = "PhraseGen contributors";
    const URL: &'static str = "";
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    // A MIDI generator: notes in and out, no audio. Hosts that insist on audio get a stereo
    // pass-through (the track's audio goes through unchanged).
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout::const_default(),
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
    ];
    // Control changes, pitch bend and sustain pass through with MIDI thru.
    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = editor::PhraseGenEditor;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        Some(editor::PhraseGenEditor::new(self.shared.clone()))
    }

    fn activate(
        &mut self,
        _layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.sample_rate = buffer_config.sample_rate;
        self.offline = buffer_config.process_mode == ProcessMode::Offline;
        // The worker adopts a phrase restored from the project (see `Worker::restore`) or
        // generates the first one. Activation runs on the main thread, where waiting is
        // allowed: waiting here means a reopened project plays its phrase from the first
        // block, however busy the machine is.
        self.shared.ready.store(true, Ordering::Release);
        self.shared.settle(ACTIVATE_SETTLE_TIMEOUT);
        true
    }

    fn reset(&mut self) {
        self.release_all = true;
    }

    fn deactivate(&mut self) {
        // No events can be sent while deactivated: everything is released on the first
        // block after reactivation.
        self.release_all = true;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        if self.offline {
            // Offline only: waiting is allowed, and a bounce must not depend on timing.
            self.shared.settle(OFFLINE_SETTLE_TIMEOUT);
        }
        self.exchange_phrases();
        let snapshot = transport_snapshot(
            context.transport(),
            self.sample_rate,
            buffer.samples() as u32,
        );
        self.share_transport(&snapshot);
        let free_run = self
            .params
            .free_run
            .value()
            .then(|| f64::from(self.params.tempo.value()));

        let bypassed = self.params.bypass.value();
        self.live.exchange(&self.shared, &mut self.events);
        let mode = self.params.mode.value();
        self.follow_mode(mode);
        // Sent now: the scheduler starts its block from an empty buffer.
        self.send_events(context);
        if self.release_all || bypassed {
            self.release_all = false;
            self.scheduler.reset(&mut self.events);
            self.live.release_all(0, &mut self.events);
            if bypassed {
                self.release_thru(0);
            }
            self.send_events(context);
        }
        let harmonizing = mode != PlayMode::Generate && !bypassed;
        let recording = self.params.record.value() && !bypassed && !harmonizing;
        // Harmonizing, the melody is the player's: it goes through with its voices.
        let thru = self.params.midi_thru.value() || bypassed || harmonizing;
        if !bypassed && !harmonizing {
            self.audition_from_clicked_bar();
            self.schedule(&snapshot, free_run);
        }
        let keys_sounding = self.thru_held.iter().fold(0, |all, channel| all | channel);
        // While bypassed the input goes through untouched, as a bypassed plugin should.
        self.take_input(context, &snapshot, recording, thru, harmonizing);
        if harmonizing {
            self.live.process(
                &self.shared,
                mode,
                keys_sounding,
                &snapshot,
                &self.keys,
                &mut self.events,
            );
        }
        self.keys.clear();
        self.send_events(context);
        self.publish_playhead();
        ProcessStatus::KeepAlive
    }
}

/// A note-off of `pitch` on `channel` (0 to 15) at sample `timing` of the block.
fn note_off(timing: u32, channel: u8, pitch: u8) -> PluginNoteEvent<PhraseGen> {
    NoteEvent::NoteOff {
        timing,
        voice_id: VoiceID::Wildcard,
        channel: Channel::Number(channel),
        key: Key::Number(pitch),
        velocity: 0.0,
    }
}

/// What the scheduler needs of the host's transport for one block; a time signature the
/// host reports outside 1..=32 over 1, 2, 4, .. 32 counts as none.
fn transport_snapshot(
    t: &Transport,
    sample_rate: f32,
    block_len_samples: u32,
) -> TransportSnapshot {
    TransportSnapshot {
        playing: t.playing,
        tempo_bpm: t.tempo.unwrap_or(0.0),
        pos_beats: t.pos_beats(),
        pos_samples: t.pos_samples,
        sample_rate: f64::from(sample_rate),
        block_len_samples,
        loop_beats: t.loop_range_beats(),
        time_signature: (t.time_sig_numerator.zip(t.time_sig_denominator))
            .and_then(|(n, d)| TimeSignature::from_host(n, d)),
        bar_start_beats: t.bar_start_pos_beats(),
        bar_number: t.bar_number(),
    }
}

impl ClapPlugin for PhraseGen {
    const CLAP_ID: &'static str = "org.phrasegen.phrasegen";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Generates musical phrases with an LSTM, in time with the host");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::NoteEffect, ClapFeature::Utility];
}

impl Vst3Plugin for PhraseGen {
    const VST3_CLASS_ID: [u8; 16] = *b"PhraseGenLSTMGen";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Generator];
}

nice_export_clap!(PhraseGen);
nice_export_vst3!(PhraseGen);
