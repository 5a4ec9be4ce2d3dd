//! One plugin instance hosted through `clack-host`, as a DAW hosts it: load the entry, scan
//! the factory, instantiate with host callbacks, activate, process blocks with a transport
//! and events, save and load state, enumerate and convert parameters, deactivate.
//!
//! Everything goes through the CLAP ABI of the built binary; nothing calls the plugin's Rust
//! code directly. Every instance lives on the thread that created it (the "main thread");
//! `process` runs on that thread too, as hosts do for offline work.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use clack_extensions::audio_ports::{
    AudioPortInfoBuffer, AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl, PluginAudioPorts,
};
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::note_ports::{
    HostNotePorts, HostNotePortsImpl, NoteDialect, NoteDialects, NotePortInfoBuffer,
    NotePortRescanFlags, PluginNotePorts,
};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamInfoFlags, ParamRescanFlags, PluginParams,
};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent,
};
use clack_host::events::spaces::CoreEventSpace;
use clack_host::prelude::*;
use clap_sys::process::clap_process;

use super::locate::plugin_binary;
use super::transport::HostTransport;

/// The plugin's CLAP id.
pub const PLUGIN_ID: &str = "org.phrasegen.phrasegen";

/// Largest block any session processes (buffers are sized once).
const MAX_BLOCK_SAMPLES: u32 = 8192;

/// An event the host sends into a block. `time` is the sample offset within the block.
#[derive(Clone, Debug, PartialEq)]
pub enum HostEvent {
    /// A parameter change (automation): plain value, as `clap_param_info` ranges give it.
    Param {
        time: u32,
        id: u32,
        value: f64,
    },
    NoteOn {
        time: u32,
        channel: u8,
        key: u8,
        velocity: f64,
    },
    NoteOff {
        time: u32,
        channel: u8,
        key: u8,
    },
    /// A raw MIDI 1.0 message on note port 0.
    Midi {
        time: u32,
        data: [u8; 3],
    },
    /// New transport information from `time` on (a host splitting a block, e.g. at a loop).
    Transport {
        time: u32,
        transport: HostTransport,
    },
}

impl HostEvent {
    fn time(&self) -> u32 {
        match self {
            Self::Param { time, .. }
            | Self::NoteOn { time, .. }
            | Self::NoteOff { time, .. }
            | Self::Midi { time, .. }
            | Self::Transport { time, .. } => *time,
        }
    }
}

/// What the plugin sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutKind {
    NoteOn {
        channel: u8,
        key: u8,
        velocity: f64,
    },
    NoteOff {
        channel: u8,
        key: u8,
    },
    /// Ends every note on a channel (`None`: on all channels): a CLAP note-off or choke with
    /// a wildcard key, or MIDI "all notes off" (CC 123).
    AllNotesOff {
        channel: Option<u8>,
    },
    /// A parameter change the plugin made itself.
    Param {
        id: u32,
        value: f64,
    },
    /// Anything else (choke, expression, gesture, other MIDI), by CLAP event type.
    Other {
        type_id: u16,
    },
}

/// An output event with the host's absolute sample time (`ClapSession::now()` at the block
/// start plus the event's offset).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutEvent {
    pub sample: u64,
    pub kind: OutKind,
}

/// A parameter as the host sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfoOwned {
    pub id: u32,
    pub name: String,
    pub module: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    pub stepped: bool,
    pub hidden: bool,
    pub automatable: bool,
}

/// The plugin's extensions, queried once while it initializes.
#[derive(Clone, Copy, Default)]
struct PluginExtensions {
    params: Option<PluginParams>,
    state: Option<PluginState>,
    note_ports: Option<PluginNotePorts>,
    audio_ports: Option<PluginAudioPorts>,
    render: Option<PluginRender>,
}

/// Host callbacks usable from any thread.
pub struct SharedHost {
    extensions: OnceLock<PluginExtensions>,
    restart_requested: AtomicBool,
    callback_requested: AtomicBool,
    process_requested: AtomicBool,
    flush_requested: AtomicBool,
    /// Warnings and errors the plugin logged (debug and info are dropped).
    log: Mutex<Vec<String>>,
}

impl<'a> SharedHandler<'a> for SharedHost {
    fn initializing(&self, instance: InitializingPluginHandle<'a>) {
        let _ = self.extensions.set(PluginExtensions {
            params: instance.get_extension(),
            state: instance.get_extension(),
            note_ports: instance.get_extension(),
            audio_ports: instance.get_extension(),
            render: instance.get_extension(),
        });
    }
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {
        self.process_requested.store(true, Ordering::SeqCst);
    }
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

impl HostLogImpl for SharedHost {
    fn log(&self, severity: LogSeverity, message: &str) {
        if severity >= LogSeverity::Warning {
            if let Ok(mut log) = self.log.lock() {
                log.push(format!("[{severity:?}] {message}"));
            }
        }
    }
}

impl HostParamsImplShared for SharedHost {
    fn request_flush(&self) {
        self.flush_requested.store(true, Ordering::SeqCst);
    }
}

/// Host callbacks of the main thread.
pub struct MainThreadHost {
    state_dirty: Cell<u32>,
    param_rescans: Cell<u32>,
    port_rescans: AtomicU32,
}

impl<'a> MainThreadHandler<'a> for MainThreadHost {}

impl HostParamsImplMainThread for MainThreadHost {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.param_rescans.set(self.param_rescans.get() + 1);
    }
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostStateImpl for MainThreadHost {
    fn mark_dirty(&self) {
        self.state_dirty.set(self.state_dirty.get() + 1);
    }
}

impl HostNotePortsImpl for MainThreadHost {
    fn supported_dialects(&self) -> NoteDialects {
        NoteDialects::CLAP | NoteDialects::MIDI
    }
    fn rescan(&self, _flags: NotePortRescanFlags) {
        self.port_rescans.fetch_add(1, Ordering::SeqCst);
    }
}

impl HostAudioPortsImpl for MainThreadHost {
    fn is_rescan_flag_supported(&self, _flag: AudioPortRescanFlags) -> bool {
        true
    }
    fn rescan(&self, _flags: AudioPortRescanFlags) {
        self.port_rescans.fetch_add(1, Ordering::SeqCst);
    }
}

/// The host's handler types.
pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = SharedHost;
    type MainThread<'a> = MainThreadHost;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLog>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostNotePorts>()
            .register::<HostAudioPorts>();
    }
}

/// What the factory says about the plugin.
#[derive(Clone, Debug)]
pub struct Descriptor {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub version: String,
    pub features: Vec<String>,
}

fn cstr(s: Option<&CStr>) -> String {
    s.map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Loads the built plugin's entry (once per test process).
pub fn entry() -> &'static (PathBuf, PluginEntry) {
    static ENTRY: OnceLock<(PathBuf, PluginEntry)> = OnceLock::new();
    ENTRY.get_or_init(|| {
        let path = plugin_binary().unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: the file is the plugin this crate builds, a CLAP entry.
        let entry = unsafe { PluginEntry::load(&path) }
            .unwrap_or_else(|e| panic!("cannot load {} as a CLAP entry: {e}", path.display()));
        (path, entry)
    })
}

/// Scans the entry's plugin factory: every plugin it offers.
pub fn scan() -> Vec<Descriptor> {
    let factory = entry()
        .1
        .get_plugin_factory()
        .expect("the entry has a plugin factory");
    factory
        .plugin_descriptors()
        .map(|d| Descriptor {
            id: cstr(d.id()),
            name: cstr(d.name()),
            vendor: cstr(d.vendor()),
            version: cstr(d.version()),
            features: d
                .features()
                .map(|f| f.to_string_lossy().into_owned())
                .collect(),
        })
        .collect()
}

/// Audio buffers for the plugin's main ports (none when it declares none).
struct AudioIo {
    inputs: Vec<Vec<f32>>,
    outputs: Vec<Vec<f32>>,
    in_ports: AudioPorts,
    out_ports: AudioPorts,
}

/// One hosted plugin instance.
pub struct ClapSession {
    instance: PluginInstance<TestHost>,
    processor: Option<PluginAudioProcessor<TestHost>>,
    sample_rate: f64,
    /// Samples processed since the session began: the host's steady time.
    now_samples: u64,
    audio: AudioIo,
    in_events: EventBuffer,
    out_events: EventBuffer,
}

impl ClapSession {
    /// Instantiates the plugin (inactive).
    pub fn new() -> Self {
        let (path, entry) = entry();
        let descriptors = scan();
        assert!(
            descriptors.iter().any(|d| d.id == PLUGIN_ID),
            "{} offers {:?}, not {PLUGIN_ID}",
            path.display(),
            descriptors.iter().map(|d| &d.id).collect::<Vec<_>>()
        );
        let host_info = HostInfo::new(
            "PhraseGen test host",
            "PhraseGen",
            "https://example.invalid",
            "1.0",
        )
        .expect("valid host info");
        let id = CString::new(PLUGIN_ID).unwrap();
        let instance = PluginInstance::<TestHost>::new(
            |_| SharedHost {
                extensions: OnceLock::new(),
                restart_requested: AtomicBool::new(false),
                callback_requested: AtomicBool::new(false),
                process_requested: AtomicBool::new(false),
                flush_requested: AtomicBool::new(false),
                log: Mutex::new(Vec::new()),
            },
            |_| MainThreadHost {
                state_dirty: Cell::new(0),
                param_rescans: Cell::new(0),
                port_rescans: AtomicU32::new(0),
            },
            entry,
            &id,
            &host_info,
        )
        .unwrap_or_else(|e| panic!("cannot instantiate {PLUGIN_ID}: {e}"));
        Self {
            instance,
            processor: None,
            sample_rate: 48_000.0,
            now_samples: 0,
            audio: AudioIo {
                inputs: Vec::new(),
                outputs: Vec::new(),
                in_ports: AudioPorts::with_capacity(0, 0),
                out_ports: AudioPorts::with_capacity(0, 0),
            },
            in_events: EventBuffer::with_capacity(256),
            out_events: EventBuffer::with_capacity(4096),
        }
    }

    /// Instantiates, activates and starts processing.
    pub fn started(sample_rate: f64, max_block: u32) -> Self {
        let mut s = Self::new();
        s.activate(sample_rate, 1, max_block);
        s.start_processing();
        s
    }

    fn extensions(&self) -> PluginExtensions {
        self.instance
            .access_shared_handler(|h| h.extensions.get().copied())
            .unwrap_or_default()
    }

    /// The host's steady time: samples processed so far by this session.
    pub fn now(&self) -> u64 {
        self.now_samples
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    pub fn is_active(&self) -> bool {
        self.processor.is_some()
    }

    /// Warnings and errors the plugin logged through `clap.log`.
    pub fn plugin_log(&self) -> Vec<String> {
        self.instance
            .access_shared_handler(|h| h.log.lock().map(|l| l.clone()).unwrap_or_default())
    }

    /// Whether the plugin asked to be restarted (deactivated and reactivated); clears it.
    pub fn take_restart_request(&self) -> bool {
        self.instance
            .access_shared_handler(|h| h.restart_requested.swap(false, Ordering::SeqCst))
    }

    /// Runs the plugin's main-thread callback if it asked for one (as hosts do on idle).
    pub fn idle(&mut self) {
        let requested = self
            .instance
            .access_shared_handler(|h| h.callback_requested.swap(false, Ordering::SeqCst));
        if requested {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Channel counts of the plugin's main input and output audio ports (0 when none).
    pub fn audio_channels(&mut self) -> (u32, u32) {
        let Some(ports) = self.extensions().audio_ports else {
            return (0, 0);
        };
        let handle = self.instance.plugin_handle();
        let mut channels = [0u32; 2];
        for (i, is_input) in [true, false].into_iter().enumerate() {
            if ports.count(&handle, is_input) > 0 {
                let mut buffer = AudioPortInfoBuffer::new();
                if let Some(info) = ports.get(&handle, 0, is_input, &mut buffer) {
                    channels[i] = info.channel_count;
                }
            }
        }
        (channels[0], channels[1])
    }

    /// Note ports: (input count, output count, output dialects).
    pub fn note_ports(&mut self) -> (u32, u32, Vec<NoteDialect>) {
        let Some(ports) = self.extensions().note_ports else {
            return (0, 0, Vec::new());
        };
        let handle = self.instance.plugin_handle();
        let (inputs, outputs) = (ports.count(&handle, true), ports.count(&handle, false));
        let mut dialects = Vec::new();
        if outputs > 0 {
            let mut buffer = NotePortInfoBuffer::new();
            if let Some(info) = ports.get(&handle, 0, false, &mut buffer) {
                for d in [NoteDialect::Clap, NoteDialect::Midi, NoteDialect::MidiMpe] {
                    if info.supported_dialects.supports(d) {
                        dialects.push(d);
                    }
                }
            }
        }
        (inputs, outputs, dialects)
    }

    /// Activates with this sample rate and block size range, sizing the audio buffers to the
    /// plugin's main ports.
    pub fn activate(&mut self, sample_rate: f64, min_block: u32, max_block: u32) {
        assert!(self.processor.is_none(), "activate() on an active instance");
        assert!(
            max_block <= MAX_BLOCK_SAMPLES,
            "blocks up to {MAX_BLOCK_SAMPLES}"
        );
        let (ins, outs) = self.audio_channels();
        self.audio = AudioIo {
            inputs: vec![vec![0.0; max_block as usize]; ins as usize],
            outputs: vec![vec![0.0; max_block as usize]; outs as usize],
            in_ports: AudioPorts::with_capacity(ins as usize, 1),
            out_ports: AudioPorts::with_capacity(outs as usize, 1),
        };
        self.sample_rate = sample_rate;
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: min_block,
            max_frames_count: max_block,
        };
        let stopped = self
            .instance
            .activate(|_, _| (), config)
            .unwrap_or_else(|e| panic!("activate({sample_rate} Hz, {max_block}) failed: {e}"));
        self.processor = Some(stopped.into());
    }

    pub fn start_processing(&mut self) {
        self.processor
            .as_mut()
            .expect("activate() before start_processing()")
            .ensure_processing_started()
            .unwrap_or_else(|e| panic!("start_processing failed: {e}"));
    }

    pub fn stop_processing(&mut self) {
        if let Some(p) = self.processor.as_mut() {
            p.ensure_processing_stopped();
        }
    }

    /// Stops processing and deactivates (no-op when inactive).
    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            self.instance.deactivate(p.into_stopped());
        }
    }

    /// Deactivates and activates again with the same sample rate and the given block range.
    pub fn reactivate(&mut self, max_block: u32) {
        self.deactivate();
        self.activate(self.sample_rate, 1, max_block);
        self.start_processing();
    }

    /// Processes one block of `block_len` samples: `transport` at its first sample (`None`:
    /// a host without transport), `input` events (sorted by time here). Starts processing if
    /// needed. Returns what the plugin sent, with absolute sample times.
    pub fn process(
        &mut self,
        block_len: u32,
        transport: Option<&HostTransport>,
        input: &[HostEvent],
    ) -> Vec<OutEvent> {
        assert!(block_len > 0, "empty blocks are not processed");
        let mut sorted: Vec<&HostEvent> = input.iter().collect();
        sorted.sort_by_key(|e| e.time());
        self.in_events.clear();
        for e in sorted {
            assert!(
                e.time() < block_len,
                "event {e:?} outside a {block_len}-sample block"
            );
            push_host_event(&mut self.in_events, e);
        }
        self.out_events.clear();
        let transport_event = transport.map(HostTransport::to_clap);
        let steady = self.now_samples;
        let len = block_len as usize;

        let processor = self
            .processor
            .as_mut()
            .expect("activate() before process()");
        processor
            .ensure_processing_started()
            .unwrap_or_else(|e| panic!("start_processing failed: {e}"));
        let AudioIo {
            inputs,
            outputs,
            in_ports,
            out_ports,
        } = &mut self.audio;
        assert!(
            inputs.iter().chain(outputs.iter()).all(|b| b.len() >= len),
            "block of {block_len} samples is larger than the activated maximum"
        );
        let audio_in = in_ports.with_input_buffers((!inputs.is_empty()).then(|| {
            AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    inputs
                        .iter_mut()
                        .map(|b| InputChannel::constant(&mut b[..len])),
                ),
            }
        }));
        let mut audio_out =
            out_ports.with_output_buffers((!outputs.is_empty()).then(|| AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    outputs.iter_mut().map(|b| &mut b[..len]),
                ),
            }));
        let in_events = InputEvents::from_buffer(&self.in_events);
        let mut out_events = OutputEvents::from_buffer(&mut self.out_events);
        // clack-host's own `process` takes the frame count from the audio buffers, which a
        // note-only plugin (no audio ports) does not have, so the CLAP call is made here.
        let in_buffers = audio_in.as_raw_buffers();
        let out_buffers = audio_out.as_raw_buffers();
        let raw = clap_process {
            steady_time: steady as i64,
            frames_count: block_len,
            transport: transport_event
                .as_ref()
                .map_or(std::ptr::null(), |t| t.as_raw()),
            audio_inputs: in_buffers.as_ptr(),
            audio_outputs: out_buffers.as_mut_ptr(),
            audio_inputs_count: in_buffers.len() as u32,
            audio_outputs_count: out_buffers.len() as u32,
            in_events: in_events.as_raw(),
            out_events: out_events.as_raw(),
        };
        let plugin = processor.plugin_handle().as_raw();
        let process = plugin.process.expect("the plugin has a process function");
        // SAFETY: the processor is started on this thread and every pointer in `raw` lives
        // until the call returns.
        let status = unsafe { process(plugin, &raw) };
        assert!(
            status != clap_sys::process::CLAP_PROCESS_ERROR,
            "process() returned CLAP_PROCESS_ERROR at sample {steady}; log: {:?}",
            self.plugin_log()
        );

        let mut out = Vec::with_capacity(self.out_events.len() as usize);
        for e in self.out_events.iter() {
            let offset = e.header().time();
            assert!(
                offset < block_len,
                "output event at offset {offset} outside a {block_len}-sample block"
            );
            out.push(OutEvent {
                sample: steady + u64::from(offset),
                kind: decode(e),
            });
        }
        self.now_samples += u64::from(block_len);
        self.idle();
        out
    }

    // ----- parameters -----

    fn params_ext(&self) -> PluginParams {
        self.extensions()
            .params
            .expect("the plugin implements clap.params")
    }

    /// Every parameter, in the plugin's order.
    pub fn params(&mut self) -> Vec<ParamInfoOwned> {
        let ext = self.params_ext();
        let handle = self.instance.plugin_handle();
        (0..ext.count(&handle))
            .filter_map(|i| {
                let mut buffer = ParamInfoBuffer::new();
                let info = ext.get_info(&handle, i, &mut buffer)?;
                Some(ParamInfoOwned {
                    id: info.id.get(),
                    name: String::from_utf8_lossy(info.name).into_owned(),
                    module: String::from_utf8_lossy(info.module).into_owned(),
                    min: info.min_value,
                    max: info.max_value,
                    default: info.default_value,
                    stepped: info.flags.contains(ParamInfoFlags::IS_STEPPED),
                    hidden: info.flags.contains(ParamInfoFlags::IS_HIDDEN),
                    automatable: info.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
                })
            })
            .collect()
    }

    /// The parameter whose name is `name` (panics with the list of names otherwise).
    pub fn param(&mut self, name: &str) -> ParamInfoOwned {
        let params = self.params();
        params
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "no parameter {name:?}; the plugin has {:?}",
                    params.iter().map(|p| &p.name).collect::<Vec<_>>()
                )
            })
    }

    pub fn param_value(&mut self, id: u32) -> Option<f64> {
        let ext = self.params_ext();
        ext.get_value(&self.instance.plugin_handle(), ClapId::new(id))
    }

    pub fn value_to_text(&mut self, id: u32, value: f64) -> Option<String> {
        let ext = self.params_ext();
        let mut buffer = [0u8; 256];
        ext.value_to_text(
            &self.instance.plugin_handle(),
            ClapId::new(id),
            value,
            &mut buffer,
        )
        .ok()
        .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    pub fn text_to_value(&mut self, id: u32, text: &str) -> Option<f64> {
        let ext = self.params_ext();
        let text = CString::new(text).ok()?;
        ext.text_to_value(&self.instance.plugin_handle(), ClapId::new(id), &text)
    }

    /// `clap_plugin_params.flush`: parameter changes outside `process` (inactive, or active
    /// but not processing). Returns what the plugin sent back.
    pub fn flush(&mut self, input: &[HostEvent]) -> Vec<OutEvent> {
        let ext = self.params_ext();
        self.in_events.clear();
        for e in input {
            push_host_event(&mut self.in_events, e);
        }
        self.out_events.clear();
        {
            let in_events = InputEvents::from_buffer(&self.in_events);
            let mut out_events = OutputEvents::from_buffer(&mut self.out_events);
            match self.processor.as_mut() {
                Some(p) => {
                    p.ensure_processing_stopped();
                    ext.flush_active(&mut p.plugin_handle(), &in_events, &mut out_events);
                }
                None => {
                    let mut handle = self
                        .instance
                        .inactive_plugin_handle()
                        .expect("an inactive instance");
                    ext.flush(&mut handle, &in_events, &mut out_events);
                }
            }
        }
        let now = self.now_samples;
        let out = self
            .out_events
            .iter()
            .map(|e| OutEvent {
                sample: now,
                kind: decode(e),
            })
            .collect();
        self.idle();
        out
    }

    // ----- state and render mode -----

    /// `clap_plugin_state.save`: the bytes a host stores in its project.
    pub fn save_state(&mut self) -> Vec<u8> {
        let ext = self
            .extensions()
            .state
            .expect("the plugin implements clap.state");
        let mut bytes = Vec::new();
        ext.save(&self.instance.plugin_handle(), &mut bytes)
            .unwrap_or_else(|e| panic!("state save failed: {e}"));
        bytes
    }

    /// `clap_plugin_state.load`, whether the instance is active or not.
    pub fn load_state(&mut self, bytes: &[u8]) {
        let ext = self
            .extensions()
            .state
            .expect("the plugin implements clap.state");
        let mut reader = bytes;
        ext.load(&self.instance.plugin_handle(), &mut reader)
            .unwrap_or_else(|e| panic!("state load failed: {e}"));
        self.idle();
    }

    /// Switches to offline (bounce) or realtime rendering with `clap.render`. `Err` when the
    /// plugin does not implement the extension or refuses.
    pub fn set_render_offline(&mut self, offline: bool) -> Result<(), String> {
        let ext = self
            .extensions()
            .render
            .ok_or("the plugin does not implement clap.render")?;
        let mode = if offline {
            RenderMode::Offline
        } else {
            RenderMode::Realtime
        };
        ext.set(&self.instance.plugin_handle(), mode)
            .map_err(|_| format!("the plugin refused render mode {mode:?}"))
    }
}

impl Default for ClapSession {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ClapSession {
    fn drop(&mut self) {
        self.deactivate();
    }
}

fn push_host_event(buffer: &mut EventBuffer, e: &HostEvent) {
    match e {
        HostEvent::Param { time, id, value } => buffer.push(&ParamValueEvent::new(
            *time,
            ClapId::new(*id),
            Pckn::match_all(),
            *value,
        )),
        HostEvent::NoteOn {
            time,
            channel,
            key,
            velocity,
        } => buffer.push(&NoteOnEvent::new(
            *time,
            Pckn::new(
                0u16,
                u16::from(*channel),
                u16::from(*key),
                clack_host::events::Match::All,
            ),
            *velocity,
        )),
        HostEvent::NoteOff { time, channel, key } => buffer.push(&NoteOffEvent::new(
            *time,
            Pckn::new(
                0u16,
                u16::from(*channel),
                u16::from(*key),
                clack_host::events::Match::All,
            ),
            0.0,
        )),
        HostEvent::Midi { time, data } => buffer.push(&MidiEvent::new(*time, 0, *data)),
        HostEvent::Transport { time, transport } => {
            let mut t: TransportEvent = transport.to_clap();
            t.header.set_time(*time);
            buffer.push(&t)
        }
    }
}

/// CLAP note events and MIDI 1.0 note messages (either dialect) as one kind.
fn decode(e: &UnknownEvent) -> OutKind {
    let type_id = e.header().type_id();
    // CLAP uses -1 for "any": any key ends every note of the channel.
    let ends = |channel: i16, key: i16| match (u8::try_from(channel), u8::try_from(key)) {
        (Ok(channel), Ok(key)) => OutKind::NoteOff { channel, key },
        (channel, _) => OutKind::AllNotesOff {
            channel: channel.ok(),
        },
    };
    match e.as_core_event() {
        Some(CoreEventSpace::NoteOn(n)) => {
            let raw = n.as_raw();
            OutKind::NoteOn {
                channel: raw.channel.max(0) as u8,
                key: raw.key.max(0) as u8,
                velocity: raw.velocity,
            }
        }
        Some(CoreEventSpace::NoteOff(n)) => ends(n.as_raw().channel, n.as_raw().key),
        Some(CoreEventSpace::NoteChoke(n)) => ends(n.as_raw().channel, n.as_raw().key),
        Some(CoreEventSpace::ParamValue(p)) => OutKind::Param {
            id: p.param_id().map_or(0, |id| id.get()),
            value: p.value(),
        },
        Some(CoreEventSpace::Midi(m)) => {
            let [status, data1, data2] = m.data();
            let channel = status & 0x0f;
            match status & 0xf0 {
                // A note-on with velocity 0 is a note-off in MIDI 1.0.
                0x90 if data2 > 0 => OutKind::NoteOn {
                    channel,
                    key: data1,
                    velocity: f64::from(data2) / 127.0,
                },
                0x90 | 0x80 => OutKind::NoteOff {
                    channel,
                    key: data1,
                },
                0xb0 if data1 == 123 => OutKind::AllNotesOff {
                    channel: Some(channel),
                },
                _ => OutKind::Other { type_id },
            }
        }
        _ => OutKind::Other { type_id },
    }
}
