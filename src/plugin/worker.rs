//! Background generation: a dedicated thread owns the model, watches the parameters, and
//! hands finished phrases to the audio thread through lock-free queues.
//!
//! Rapid automation coalesces by construction: the worker compares the parameters' current
//! values with those of the last phrase every few milliseconds, so a sweep of a thousand
//! values costs at most one generation per poll, never a queue of jobs. Phrases travel to the
//! audio thread boxed in a bounded `ArrayQueue` (push and pop never allocate) and come back
//! the same way to be freed here (the `realseq` shape).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use parking_lot::{Condvar, Mutex};

use super::params::PhraseGenParams;
use crate::infer::FastLstm;
use crate::phrase::{Note, Phrase};
use crate::sample::{generate, GenerateParams};
use crate::scale::Scale;
use crate::scheduler::PlaybackPhrase;

/// How often the worker looks at the parameters.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A note played into the plugin while recording the primer (beats on the host timeline).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecordedNote {
    pub pitch: u8,
    pub velocity: f32,
    pub on: bool,
    pub beats: f64,
}

/// What the editor shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub model_name: String,
    pub last_generation_ms: f64,
    pub generating: bool,
    /// The last failed generation, shown until the next success.
    pub error: Option<String>,
    /// The last model file that could not be loaded (the previous model stays in use).
    pub model_error: Option<String>,
    pub notes: usize,
    pub bars: u32,
}

/// State shared by the plugin, its worker and its editor.
pub struct Shared {
    pub params: Arc<PhraseGenParams>,
    /// Worker -> audio: new phrases.
    pub to_audio: ArrayQueue<Box<PlaybackPhrase>>,
    /// Audio -> worker: phrases to free.
    pub garbage: ArrayQueue<Box<PlaybackPhrase>>,
    /// Audio -> worker: notes played while recording.
    pub recorded: ArrayQueue<RecordedNote>,
    pub status: Mutex<Status>,
    /// Bumped by the editor's Generate button.
    pub regenerate_requests: AtomicU64,
    /// Bumped when the user picks another model file.
    pub model_requests: AtomicU64,
    /// The host has activated the plugin (state restored): the worker may generate.
    pub ready: AtomicBool,
    /// The plugin started from a phrase saved in the project: keep it until a parameter moves.
    pub restored: AtomicBool,
    running: AtomicBool,
    wake: (Mutex<bool>, Condvar),
    /// Playhead within the playing phrase, in beats (f64 bits), for the editor.
    pub playhead_beats: AtomicU64,
    /// Id of the phrase playing, and of the newest one generated.
    pub playing_id: AtomicU64,
    pub generated_id: AtomicU64,
}

impl Shared {
    pub fn new(params: Arc<PhraseGenParams>) -> Arc<Self> {
        Arc::new(Self {
            params,
            to_audio: ArrayQueue::new(4),
            garbage: ArrayQueue::new(32),
            recorded: ArrayQueue::new(1024),
            status: Mutex::new(Status::default()),
            regenerate_requests: AtomicU64::new(0),
            model_requests: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            restored: AtomicBool::new(false),
            running: AtomicBool::new(true),
            wake: (Mutex::new(false), Condvar::new()),
            playhead_beats: AtomicU64::new(0),
            playing_id: AtomicU64::new(0),
            generated_id: AtomicU64::new(0),
        })
    }

    /// Wakes the worker now instead of at its next poll (not for the audio thread).
    pub fn wake(&self) {
        *self.wake.0.lock() = true;
        self.wake.1.notify_one();
    }

    /// Asks the worker to stop (it finishes its current job first).
    pub fn shut_down(&self) {
        self.running.store(false, Ordering::Release);
        self.wake();
    }

    fn sleep(&self) {
        let mut woken = self.wake.0.lock();
        if !*woken {
            self.wake.1.wait_for(&mut woken, POLL_INTERVAL);
        }
        *woken = false;
    }

    pub fn playhead(&self) -> f64 {
        f64::from_bits(self.playhead_beats.load(Ordering::Relaxed))
    }
}

/// Everything in the parameters that changes what is generated or how it plays.
#[derive(Clone, Debug, PartialEq)]
struct Request {
    generate: GenerateParams,
    channel: u8,
    humanize: f32,
    regenerate: (bool, u64),
    model: u64,
    primer_version: u64,
}

/// Reads the current parameter values into a generation request.
pub fn generate_params(params: &PhraseGenParams, model: &FastLstm) -> GenerateParams {
    let spq = model.config.steps_per_quarter;
    let (lo, hi) = (params.low_note.value(), params.high_note.value());
    GenerateParams {
        temperature: params.temperature.value(),
        seed: params.seed.value() as u64,
        bars: params.bars.value().count(),
        min_note_steps: ((params.note_length.value().quarters() * f64::from(spq)).round() as u32)
            .max(1),
        scale: Scale::new(
            params.key.value().pitch_class(),
            params.scale.value().kind(),
        ),
        pitch_lo: lo.min(hi).clamp(0, 127) as u8,
        pitch_hi: lo.max(hi).clamp(0, 127) as u8,
        max_polyphony: params.polyphony.value().max(1) as usize,
        velocity: params.velocity.value().clamp(1, 127) as u8,
        ..GenerateParams::default()
    }
}

/// Builds a primer phrase from recorded notes, starting at the bar of the first note.
pub fn primer_from_recording(notes: &[RecordedNote], steps_per_quarter: u32) -> Option<Phrase> {
    let first = notes.iter().find(|n| n.on)?.beats;
    let origin = (first / 4.0).floor() * 4.0;
    let step = |b: f64| {
        ((b - origin) * f64::from(steps_per_quarter))
            .round()
            .max(0.0) as u32
    };
    let mut phrase = Phrase::empty(1, steps_per_quarter, Default::default(), 120.0);
    let mut open: Vec<(u8, f64, f32)> = Vec::new();
    for n in notes {
        if n.on {
            open.push((n.pitch, n.beats, n.velocity));
        } else if let Some(i) = open.iter().position(|o| o.0 == n.pitch) {
            let (pitch, start, velocity) = open.remove(i);
            let (s, e) = (step(start), step(n.beats));
            phrase.notes.push(Note {
                start_step: s,
                pitch,
                length_steps: e.saturating_sub(s).max(1),
                velocity: (velocity * 127.0).round().clamp(1.0, 127.0) as u8,
            });
        }
    }
    crate::midi::quantize::resolve_overlaps(&mut phrase.notes);
    phrase.bars = phrase.bars_needed();
    (!phrase.notes.is_empty()).then_some(phrase)
}

/// The worker's own state.
pub struct Worker {
    shared: Arc<Shared>,
    model: FastLstm,
    last: Option<Request>,
    rerolls: u64,
    recording: Vec<RecordedNote>,
    was_recording: bool,
    primer: Option<Phrase>,
    primer_version: u64,
    next_id: u64,
    /// A phrase that did not fit in the queue yet.
    waiting: Option<Box<PlaybackPhrase>>,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, model: FastLstm) -> Self {
        shared.status.lock().model_name = model.config.name.clone();
        Self {
            shared,
            model,
            last: None,
            rerolls: 0,
            recording: Vec::new(),
            was_recording: false,
            primer: None,
            primer_version: 0,
            next_id: 1,
            waiting: None,
        }
    }

    /// Runs until `Shared::shut_down`.
    pub fn run(mut self) {
        while self.shared.running.load(Ordering::Acquire) {
            self.poll();
            self.shared.sleep();
        }
    }

    /// Accepts a phrase restored from the host's project as the one already playing, so it is
    /// not replaced until a parameter changes.
    pub fn adopt_current_parameters(&mut self) {
        self.last = Some(self.request());
    }

    fn request(&self) -> Request {
        let p = &self.shared.params;
        Request {
            generate: generate_params(p, &self.model),
            channel: (p.channel.value().clamp(1, 16) - 1) as u8,
            humanize: p.humanize.value(),
            regenerate: (
                p.regenerate.value(),
                self.shared.regenerate_requests.load(Ordering::Acquire),
            ),
            model: self.shared.model_requests.load(Ordering::Acquire),
            primer_version: self.primer_version,
        }
    }

    /// One look at the world: free returned phrases, load a new model, collect recorded
    /// notes, and generate if the parameters moved.
    pub fn poll(&mut self) {
        while let Some(old) = self.shared.garbage.pop() {
            drop(old);
        }
        if let Some(p) = self.waiting.take() {
            self.deliver(p);
        }
        if !self.shared.ready.load(Ordering::Acquire) {
            return;
        }
        if self.shared.restored.swap(false, Ordering::AcqRel) {
            self.adopt_current_parameters();
        }
        self.collect_recording();
        let request = self.request();
        if self.last.as_ref().is_some_and(|l| l.model != request.model) {
            self.load_model();
        }
        let request = self.request();
        let changed = self.last.as_ref() != Some(&request);
        if !changed || self.shared.params.lock.value() {
            return;
        }
        if let Some(last) = &self.last {
            if last.regenerate != request.regenerate {
                self.rerolls += 1;
            }
        }
        self.generate(&request);
        self.last = Some(request);
    }

    fn collect_recording(&mut self) {
        let recording = self.shared.params.record.value();
        while let Some(n) = self.shared.recorded.pop() {
            if recording {
                self.recording.push(n);
            }
        }
        if self.was_recording && !recording {
            if let Some(primer) =
                primer_from_recording(&self.recording, self.model.config.steps_per_quarter)
            {
                self.primer = Some(primer);
                self.primer_version += 1;
            }
            self.recording.clear();
        }
        self.was_recording = recording;
    }

    fn load_model(&mut self) {
        let path = self.shared.params.model_path.read().clone();
        let loaded = match &path {
            None => crate::model::default::default_model().map_err(|e| e.to_string()),
            Some(p) => crate::model::default::load_model_choice(p),
        };
        let mut status = self.shared.status.lock();
        match loaded {
            Ok(model) => {
                status.model_name = model.config.name.clone();
                status.model_error = None;
                self.model = model;
            }
            Err(e) => {
                // The previous model stays in use.
                status.model_error = Some(format!(
                    "could not load {}: {e}; still using {}",
                    path.as_deref().unwrap_or("the built-in model"),
                    self.model.config.name
                ));
            }
        }
    }

    fn generate(&mut self, request: &Request) {
        let started = Instant::now();
        self.shared.status.lock().generating = true;
        let params = &self.shared.params;
        let mut gp = request.generate.clone();
        gp.seed = gp.seed.wrapping_add(self.rerolls.wrapping_mul(7919));
        gp.primer = self.primer.clone();
        let mask = params.kept_bars_mask();
        if mask != 0 {
            gp.keep_bars = params.phrase.read().clone().map(|p| (p, mask));
        }
        let result = generate(&self.model, &gp);
        let mut status = self.shared.status.lock();
        status.generating = false;
        match result {
            Ok(phrase) => {
                let id = self.next_id;
                self.next_id += 1;
                let playback = PlaybackPhrase::from_phrase(
                    &phrase,
                    request.channel,
                    request.humanize,
                    gp.seed,
                    id,
                );
                status.last_generation_ms = started.elapsed().as_secs_f64() * 1e3;
                status.error = None;
                status.notes = phrase.notes.len();
                status.bars = phrase.bars;
                drop(status);
                *params.phrase.write() = Some(phrase);
                self.shared.generated_id.store(id, Ordering::Release);
                self.deliver(Box::new(playback));
            }
            Err(e) => status.error = Some(format!("generation failed: {e}")),
        }
    }

    /// Queues a phrase for the audio thread, replacing any not yet picked up.
    fn deliver(&mut self, phrase: Box<PlaybackPhrase>) {
        if self.shared.to_audio.is_full() {
            if let Some(stale) = self.shared.to_audio.pop() {
                drop(stale);
            }
        }
        if let Err(p) = self.shared.to_audio.push(phrase) {
            self.waiting = Some(p);
        }
    }
}
