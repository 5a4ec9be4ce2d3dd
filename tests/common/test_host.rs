//! A host that drives the `Plugin` the way a DAW does: activate, then `process()` block after
//! block with a transport, collecting the note events the plugin sends. Used by the
//! integration tests, `benches/process.rs` and `examples/screenshot.rs` (through `#[path]`),
//! on the crate's public API only.

use std::collections::{BTreeMap, VecDeque};

use nice_plug::context::process::SendEventError;
use nice_plug::prelude::*;
use phrasegen::plugin::PhraseGen;

pub struct FakeActivate;

impl ActivateContext<PhraseGen> for FakeActivate {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute(&self, _task: ()) {}
    fn set_latency_samples(&self, _samples: u32) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

pub struct FakeContext {
    pub transport: Transport,
    pub input: VecDeque<PluginNoteEvent<PhraseGen>>,
    /// Pre-reserved so sending never allocates inside `process()`.
    pub sent: Vec<PluginNoteEvent<PhraseGen>>,
}

impl ProcessContext<PhraseGen> for FakeContext {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute_background(&self, _task: ()) {}
    fn execute_gui(&self, _task: ()) {}
    fn transport(&self) -> &Transport {
        &self.transport
    }
    fn next_event(&mut self) -> Option<PluginNoteEvent<PhraseGen>> {
        self.input.pop_front()
    }
    fn try_send_event(
        &mut self,
        event: PluginNoteEvent<PhraseGen>,
    ) -> Result<(), (PluginNoteEvent<PhraseGen>, SendEventError)> {
        if self.sent.len() == self.sent.capacity() {
            return Err((event, SendEventError::HostBufferFull));
        }
        self.sent.push(event);
        Ok(())
    }
    fn set_latency_samples(&self, _samples: u32) {}
    fn request_restart(&self) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

/// A note event as (absolute sample, on?, pitch, channel).
pub type Played = (u64, bool, u8, u8);

/// A host session around one plugin instance.
pub struct Host {
    pub plugin: PhraseGen,
    pub sample_rate: f32,
    pub block: usize,
    pub tempo: f64,
    pub playing: bool,
    pub pos_samples: u64,
    pub loop_beats: Option<(f64, f64)>,
    /// The host's time signature (numerator, denominator).
    pub meter: (i32, i32),
    pub process_mode: ProcessMode,
    pub ctx: FakeContext,
    pub played: Vec<Played>,
    /// Velocity of each note-on in `played` order: (absolute sample, pitch, velocity).
    pub velocities: Vec<(u64, u8, f32)>,
    channels: Vec<Vec<f32>>,
}

impl Host {
    /// Activates `plugin` and prepares blocks of `block` samples (at most 8192).
    pub fn new(plugin: PhraseGen, sample_rate: f32, block: usize, tempo: f64) -> Self {
        let mut host = Self {
            plugin,
            sample_rate,
            block,
            tempo,
            playing: true,
            pos_samples: 0,
            loop_beats: None,
            meter: (4, 4),
            process_mode: ProcessMode::Realtime,
            ctx: FakeContext {
                transport: Transport::new(sample_rate),
                input: VecDeque::new(),
                sent: Vec::with_capacity(8192),
            },
            played: Vec::new(),
            velocities: Vec::new(),
            channels: vec![vec![0.0; 8192]; 2],
        };
        host.activate();
        host
    }

    /// Activates the plugin again (after `deactivate`, or with another `process_mode`).
    pub fn activate(&mut self) {
        let layout = PhraseGen::AUDIO_IO_LAYOUTS[0];
        let config = BufferConfig {
            sample_rate: self.sample_rate,
            min_buffer_size: None,
            max_buffer_size: self.block as u32,
            process_mode: self.process_mode,
        };
        assert!(self.plugin.activate(&layout, &config, &mut FakeActivate));
    }

    pub fn pos_beats(&self) -> f64 {
        self.pos_samples as f64 / f64::from(self.sample_rate) * self.tempo / 60.0
    }

    /// Runs one block (the caller may wrap `process` to check it, e.g. for allocations).
    pub fn block_with(&mut self, run: impl FnOnce(&mut dyn FnMut())) {
        let mut t = Transport::new(self.sample_rate);
        t.playing = self.playing;
        t.tempo = Some(self.tempo);
        t.pos_beats = Some(self.pos_beats());
        t.time_sig_numerator = Some(self.meter.0);
        t.time_sig_denominator = Some(self.meter.1);
        t.loop_range_beats = self.loop_beats;
        self.ctx.transport = t;
        self.ctx.sent.clear();
        let block = self.block;
        let mut buffer = Buffer::default();
        let [left, right] = &mut self.channels[..] else {
            unreachable!()
        };
        // SAFETY: the slices live in `self.channels` for the whole call and are `block` long.
        unsafe {
            buffer.set_slices(block, |slices| {
                slices.clear();
                slices.push(&mut left[..block]);
                slices.push(&mut right[..block]);
            });
        }
        let plugin = &mut self.plugin;
        let ctx = &mut self.ctx;
        run(&mut || {
            let mut aux = AuxiliaryBuffers {
                inputs: &mut [],
                outputs: &mut [],
            };
            plugin.process(&mut buffer, &mut aux, ctx);
        });
        for e in &self.ctx.sent {
            let at = self.pos_samples + u64::from(e.timing());
            match *e {
                NoteEvent::NoteOn {
                    key,
                    channel,
                    velocity,
                    ..
                } => {
                    let pitch = key.number().unwrap();
                    self.played
                        .push((at, true, pitch, channel.number().unwrap()));
                    self.velocities.push((at, pitch, velocity));
                }
                NoteEvent::NoteOff { key, channel, .. } => {
                    self.played
                        .push((at, false, key.number().unwrap(), channel.number().unwrap()))
                }
                _ => {}
            }
        }
        if self.playing {
            self.pos_samples += block as u64;
        }
    }

    pub fn block(&mut self) {
        self.block_with(|process| process());
    }

    pub fn blocks(&mut self, n: usize) {
        for _ in 0..n {
            self.block();
        }
    }

    /// Runs blocks (advancing time) until phrase `id` (or a later one) plays. Waits for the
    /// worker to have generated it (the event itself, up to [`WORKER_DEADLINE`]), then allows
    /// `max_blocks` blocks for it to take over (at the next bar, say). Returns the blocks run.
    pub fn run_until_playing(&mut self, id: u64, max_blocks: usize) -> usize {
        use std::sync::atomic::Ordering;
        let shared = self.plugin.shared();
        let deadline = std::time::Instant::now() + WORKER_DEADLINE;
        let mut blocks = 0;
        let mut since_generated = 0;
        loop {
            if shared.generated_id.load(Ordering::Acquire) < id {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                assert!(
                    !left.is_zero(),
                    "phrase {id} was never generated within {WORKER_DEADLINE:?}"
                );
                shared.settle(left);
            } else {
                since_generated += 1;
            }
            self.block();
            blocks += 1;
            if shared.playing_id.load(Ordering::Acquire) >= id {
                return blocks;
            }
            assert!(
                since_generated < max_blocks,
                "phrase {id} was generated but did not start playing within {max_blocks} blocks"
            );
        }
    }

    /// Waits until the worker has looked at the current parameters and delivered what they
    /// ask for (the event, not a sleep); panics after [`WORKER_DEADLINE`].
    pub fn settle(&self) {
        assert!(
            self.plugin.shared().settle(WORKER_DEADLINE),
            "the worker did not settle within {WORKER_DEADLINE:?}"
        );
    }

    /// Runs blocks until `what` holds, letting the worker settle between them; panics after
    /// [`WORKER_DEADLINE`] with `why`.
    pub fn run_until(&mut self, what: impl Fn(&Self) -> bool, why: &str) {
        let deadline = std::time::Instant::now() + WORKER_DEADLINE;
        loop {
            self.block();
            if what(self) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out after {WORKER_DEADLINE:?} waiting for: {why}"
            );
            self.settle();
        }
    }
}

/// How long a test waits for the worker thread: generous, because a busy machine may give
/// it little CPU; waits end as soon as the event happens, so a quiet machine never waits it.
pub const WORKER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// Sets a parameter as a host's automation does, by normalized value.
pub fn set_normalized(param: &impl Param, normalized: f32) {
    // SAFETY: the parameter outlives this call.
    unsafe {
        param.as_ptr()._internal_set_normalized_value(normalized);
    }
}

/// The plugin's whole saved state: normalized parameter values and persisted fields.
pub fn save_state(plugin: &PhraseGen) -> (BTreeMap<String, f32>, BTreeMap<String, String>) {
    let params = plugin.params();
    let values = params
        .param_map()
        .into_iter()
        .map(|(id, ptr, _)| (id, unsafe { ptr.unmodulated_normalized_value() }))
        .collect();
    (values, params.serialize_fields())
}

/// Loads a saved state into a fresh plugin, as a host does before activating it.
pub fn restore_state(
    plugin: &PhraseGen,
    state: &(BTreeMap<String, f32>, BTreeMap<String, String>),
) {
    let params = plugin.params();
    for (id, ptr, _) in params.param_map() {
        if let Some(v) = state.0.get(&id) {
            unsafe {
                ptr._internal_set_normalized_value(*v);
            }
        }
    }
    params.deserialize_fields(&state.1);
}
