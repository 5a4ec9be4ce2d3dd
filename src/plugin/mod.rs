//! Plugin glue: the nice-plug `Plugin` on top of the pure core.
//!
//! `process()` only moves boxed phrases in and out of lock-free queues, asks the
//! [`Scheduler`] for this block's notes and sends them; generation, model loading and
//! freeing happen on the [`worker`] thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

pub mod export;
pub mod params;
pub mod test_host;
pub mod worker;

use crate::scheduler::{EventBuffer, PlaybackPhrase, Scheduler, TransportSnapshot};
pub use params::PhraseGenParams;
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
    sample_rate: f32,
    /// Send note-offs for everything at the next block (after reset or deactivation).
    release_all: bool,
}

impl Default for PhraseGen {
    fn default() -> Self {
        let params = Arc::new(PhraseGenParams::default());
        let shared = Shared::new(params.clone());
        let model = crate::model::default::default_model()
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
            sample_rate: 44_100.0,
            release_all: false,
        }
    }
}

impl Drop for PhraseGen {
    fn drop(&mut self) {
        self.shared.shut_down();
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

    /// Sends our notes and the passed-through input in time order.
    fn send_events(&mut self, context: &mut impl ProcessContext<Self>) {
        let mut thru = self.thru.iter().peekable();
        for e in self.events.events() {
            while let Some(t) = thru.next_if(|t| t.timing() <= e.sample) {
                let _ = context.try_send_event(*t);
            }
            let (channel, key) = (Channel::Number(e.channel), Key::Number(e.pitch));
            let event = if e.on {
                NoteEvent::NoteOn {
                    timing: e.sample,
                    voice_id: VoiceID::Wildcard,
                    channel,
                    key,
                    velocity: e.velocity,
                }
            } else {
                NoteEvent::NoteOff {
                    timing: e.sample,
                    voice_id: VoiceID::Wildcard,
                    channel,
                    key,
                    velocity: 0.0,
                }
            };
            let _ = context.try_send_event(event);
        }
        for t in thru {
            let _ = context.try_send_event(*t);
        }
        self.thru.clear();
    }
}

impl Plugin for PhraseGen {
    const NAME: &'static str = "PhraseGen";
    const VENDOR: &'static str = "PhraseGen";
    const URL: &'static str = "https://example.invalid/phrasegen";
    const EMAIL: &'static str = "phrasegen@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    // A MIDI generator: stereo pass-through so every host accepts it in an instrument's
    // chain, or no audio at all where the host allows it.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout::const_default(),
    ];
    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = nice_plug_egui::EguiEditor<crate::editor::EditorApp>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let (width, height) = *self.params.editor_size.read();
        nice_plug_egui::create_egui_editor(
            nice_plug_egui::EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(
                    width.max(600) as f32,
                    height.max(400) as f32,
                ),
                1.0,
            ),
            nice_plug_egui::RepaintNotifier::new(),
            nice_plug_egui::EguiNiceSettings::new().with_tile("PhraseGen"),
            crate::editor::EditorApp::new(self.shared.clone()),
        )
    }

    fn activate(
        &mut self,
        _layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.sample_rate = buffer_config.sample_rate;
        // A phrase saved in the project plays as it was, without regenerating.
        if self.current.is_none() {
            if let Some(phrase) = self.params.phrase.read().as_ref() {
                let channel = (self.params.channel.value().clamp(1, 16) - 1) as u8;
                let seed = self.params.seed.value() as u64;
                self.current = Some(Box::new(PlaybackPhrase::from_phrase(
                    phrase,
                    channel,
                    self.params.humanize.value(),
                    seed,
                    0,
                )));
                self.shared.restored.store(true, Ordering::Release);
            }
        }
        self.shared.ready.store(true, Ordering::Release);
        self.shared.wake();
        true
    }

    fn reset(&mut self) {
        self.release_all = true;
    }

    fn deactivate(&mut self) {
        self.release_all = true;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // Return what we could not before, then take the newest phrase (only with room to
        // hand the one it replaces back to the worker).
        if let Some(r) = self.retired.take() {
            if let Err(r) = self.shared.garbage.push(r) {
                self.retired = Some(r);
            }
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

        let t = context.transport();
        let snapshot = TransportSnapshot {
            playing: t.playing,
            tempo_bpm: t.tempo.unwrap_or(0.0),
            pos_beats: t.pos_beats(),
            sample_rate: f64::from(self.sample_rate),
            block_len_samples: buffer.samples() as u32,
            loop_beats: t.loop_range_beats(),
        };
        let free_run = self
            .params
            .free_run
            .value()
            .then(|| f64::from(self.params.tempo.value()));

        if self.release_all {
            self.release_all = false;
            self.scheduler.reset(&mut self.events);
            self.send_events(context);
        }
        let retired = self.scheduler.process(
            &snapshot,
            &mut self.current,
            &mut self.pending,
            self.params.swap.value().swap_at(),
            free_run,
            &mut self.events,
        );
        if let Some(r) = retired {
            if let Err(r) = self.shared.garbage.push(r) {
                self.retired = Some(r);
            }
        }

        let recording = self.params.record.value();
        let thru = self.params.midi_thru.value();
        let beats_per_sample = snapshot.tempo_bpm / 60.0 / snapshot.sample_rate.max(1.0);
        while let Some(event) = context.next_event() {
            if recording {
                let at = |timing: u32| {
                    snapshot.pos_beats.unwrap_or(0.0) + f64::from(timing) * beats_per_sample
                };
                let note = match event {
                    NoteEvent::NoteOn {
                        timing,
                        key: Key::Number(pitch),
                        velocity,
                        ..
                    } => Some(RecordedNote {
                        pitch,
                        velocity,
                        on: true,
                        beats: at(timing),
                    }),
                    NoteEvent::NoteOff {
                        timing,
                        key: Key::Number(pitch),
                        ..
                    } => Some(RecordedNote {
                        pitch,
                        velocity: 0.0,
                        on: false,
                        beats: at(timing),
                    }),
                    _ => None,
                };
                if let Some(n) = note {
                    let _ = self.shared.recorded.push(n);
                }
            }
            if thru && self.thru.len() < self.thru.capacity() {
                self.thru.push(event);
            }
        }
        self.send_events(context);

        if let (Some(cur), Some(pos)) = (self.current.as_deref(), snapshot.pos_beats) {
            let playhead = pos.rem_euclid(cur.length_beats);
            self.shared
                .playhead_beats
                .store(playhead.to_bits(), Ordering::Relaxed);
            self.shared.playing_id.store(cur.id, Ordering::Relaxed);
        }
        ProcessStatus::KeepAlive
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
