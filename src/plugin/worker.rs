//! Background generation: a dedicated thread owns the model, watches the parameters, and
//! hands finished phrases to the audio thread through lock-free queues.
//!
//! Rapid automation coalesces by construction: the worker compares the parameters' current
//! values with those of the last phrase every few milliseconds, so a sweep of a thousand
//! values costs at most one generation per poll, never a queue of jobs. Phrases travel to the
//! audio thread boxed in a bounded `ArrayQueue` (push and pop never allocate) and come back
//! the same way to be freed here (the `realseq` shape).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use parking_lot::{Condvar, Mutex};

use super::history::HistoryEntry;
use super::learn::Learning;
use super::live_engine::{AnswerPlayer, LiveEngine};
use super::params::{PhraseGenParams, PlayMode, SavedPhrase};
use crate::family::{generate, LiveAccompanist, LiveHarmonizer, LiveSettings};
use crate::infer::FastLstm;
use crate::phrase::{Note, Phrase, TimeSignature};
use crate::sample::repeats::Repeats;
use crate::sample::GenerateParams;
use crate::scale::Scale;
use crate::scheduler::{PlaybackPhrase, Takeover};

/// Harmonizing live never draws a note less likely than this share of the likeliest: as
/// `phrasegen harmonize`, which measured it keeps the harmony in key (models/README.md).
pub const LIVE_MIN_P: f32 = 0.2;

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
    /// A saved phrase that could not be restored (shown until the next restore).
    pub restore_error: Option<String>,
    /// Why Harmonize mode cannot harmonize with the current model and settings.
    pub live_error: Option<String>,
    pub notes: usize,
    pub bars: u32,
}

/// State shared by the plugin, its worker and its editor.
pub struct Shared {
    pub params: Arc<PhraseGenParams>,
    /// Worker -> audio: new phrases.
    pub to_audio: ArrayQueue<Box<PlaybackPhrase>>,
    /// Worker -> audio: live harmonizers (Harmonize mode; `None`: the model cannot
    /// harmonize), and back to be freed.
    pub to_audio_live: ArrayQueue<Option<Box<LiveEngine>>>,
    pub live_garbage: ArrayQueue<Box<LiveEngine>>,
    /// Audio -> worker: phrases to free.
    pub garbage: ArrayQueue<Box<PlaybackPhrase>>,
    /// Audio -> worker: notes played while recording.
    pub recorded: ArrayQueue<RecordedNote>,
    pub status: Mutex<Status>,
    /// Bumped by the editor's Generate button.
    pub regenerate_requests: AtomicU64,
    /// Bumped when the user picks a model (also the same file again, to reload it).
    pub model_requests: AtomicU64,
    /// Bumped when the user moves in the phrase history (back, forward, A/B): the history
    /// entry now current is brought back to play.
    pub history_requests: AtomicU64,
    /// Audio -> editor: whether the host's transport is playing (a click on the roll then
    /// leaves playback to the host).
    pub host_playing: AtomicBool,
    /// Editor -> worker: the phrase as the user edited it on the roll, to play at once.
    pub edited: Mutex<Option<Phrase>>,
    /// Editor -> audio: the bar (plus one; 0 = none) to audition from, clicked on the roll.
    /// The free-running clock jumps there (with the host stopped).
    pub preview_from_bar: AtomicU64,
    /// The host has activated the plugin (state restored): the worker may generate.
    pub ready: AtomicBool,
    running: AtomicBool,
    wake: (Mutex<bool>, Condvar),
    /// Offline rendering: the audio thread asks for a settled worker (`settle_asked`) and waits
    /// until the worker has looked at the parameters since (`settle_done`).
    settle_asked: AtomicU64,
    settle_done: (Mutex<u64>, Condvar),
    /// The host's time signature as `numerator << 8 | denominator` (0: not known yet).
    pub host_meter: AtomicU32,
    /// Playhead within the playing phrase, in beats (f64 bits), for the editor.
    pub playhead_beats: AtomicU64,
    /// Where the live grid is, in beats (f64 bits): the host's position, or while the
    /// transport is stopped the plugin's own clock (Answer mode times its answers by it).
    pub live_beats: AtomicU64,
    /// Id of the phrase playing, and of the newest one generated.
    pub playing_id: AtomicU64,
    pub generated_id: AtomicU64,
    /// How many phrases the model has generated (restores and re-voicing are not counted).
    pub generations: AtomicU64,
    /// The fine-tuning run the user started last (*Learn from folder…*), if any.
    pub learning: Mutex<Option<Arc<Learning>>>,
}

impl Shared {
    pub fn new(params: Arc<PhraseGenParams>) -> Arc<Self> {
        Arc::new(Self {
            params,
            to_audio: ArrayQueue::new(4),
            to_audio_live: ArrayQueue::new(2),
            live_garbage: ArrayQueue::new(8),
            garbage: ArrayQueue::new(32),
            recorded: ArrayQueue::new(1024),
            status: Mutex::new(Status::default()),
            regenerate_requests: AtomicU64::new(0),
            model_requests: AtomicU64::new(0),
            history_requests: AtomicU64::new(0),
            preview_from_bar: AtomicU64::new(0),
            edited: Mutex::new(None),
            host_playing: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            running: AtomicBool::new(true),
            wake: (Mutex::new(false), Condvar::new()),
            settle_asked: AtomicU64::new(0),
            settle_done: (Mutex::new(0), Condvar::new()),
            host_meter: AtomicU32::new(0),
            playhead_beats: AtomicU64::new(0),
            live_beats: AtomicU64::new(0),
            playing_id: AtomicU64::new(0),
            generated_id: AtomicU64::new(0),
            generations: AtomicU64::new(0),
            learning: Mutex::new(None),
        })
    }

    /// Wakes the worker now instead of at its next poll (not for the audio thread).
    pub fn wake(&self) {
        *self.wake.0.lock() = true;
        self.wake.1.notify_one();
    }

    /// Plays the model file at `path` (`None`: the built-in model), loading it again if it
    /// is the one playing.
    pub fn choose_model(&self, path: Option<String>) {
        *self.params.model_path.write() = path;
        self.model_requests.fetch_add(1, Ordering::AcqRel);
        self.wake();
    }

    /// Starts fine-tuning the model playing on `folder` (see [`Learning`]); its result
    /// becomes the model playing. A run under way is cancelled first.
    pub fn learn_from(self: &Arc<Self>, folder: PathBuf, models_dir: PathBuf) {
        self.stop_learning();
        let start = self
            .params
            .model_path
            .read()
            .clone()
            .unwrap_or_else(|| crate::builtin::builtin_names()[0].to_string());
        let shared = Arc::downgrade(self);
        let adopt = move |path: &std::path::Path| {
            if let Some(shared) = shared.upgrade() {
                shared.choose_model(Some(path.display().to_string()));
            }
        };
        let learning = Learning::start_with(start, folder, models_dir, |_| {}, adopt);
        *self.learning.lock() = Some(learning);
    }

    /// Cancels the run under way, if any, and waits for its thread.
    pub fn stop_learning(&self) {
        let running = self.learning.lock().clone();
        if let Some(l) = running {
            l.cancel();
            l.join();
        }
    }

    /// Asks the worker to stop (it finishes its current job first).
    pub fn shut_down(&self) {
        self.running.store(false, Ordering::Release);
        self.wake();
        self.settle_done.1.notify_all();
    }

    fn sleep(&self) {
        let mut woken = self.wake.0.lock();
        if !*woken {
            self.wake.1.wait_for(&mut woken, POLL_INTERVAL);
        }
        *woken = false;
    }

    /// Blocks until the worker has looked at the current parameters (and generated and
    /// delivered what they ask for). Never on the audio thread in real time: for activation,
    /// offline rendering and tests, where waiting is allowed and the outcome must not depend
    /// on how fast the worker happened to be scheduled. Gives up after `timeout`.
    pub fn settle(&self, timeout: Duration) -> bool {
        let ticket = self.settle_asked.fetch_add(1, Ordering::AcqRel) + 1;
        self.wake();
        let deadline = Instant::now() + timeout;
        let (done, settled) = &self.settle_done;
        let mut done = done.lock();
        while *done < ticket && self.running.load(Ordering::Acquire) {
            if settled.wait_until(&mut done, deadline).timed_out() {
                return false;
            }
        }
        *done >= ticket
    }

    /// The host's time signature, once the audio thread has seen one.
    pub fn host_meter(&self) -> Option<TimeSignature> {
        let v = self.host_meter.load(Ordering::Relaxed);
        (v != 0).then_some(TimeSignature::new((v >> 8) as u8, (v & 0xff) as u8))
    }

    /// Records the host's time signature (audio thread: one atomic store).
    pub fn set_host_meter(&self, ts: TimeSignature) {
        let v = u32::from(ts.numerator) << 8 | u32::from(ts.denominator);
        self.host_meter.store(v, Ordering::Relaxed);
    }

    pub fn playhead(&self) -> f64 {
        f64::from_bits(self.playhead_beats.load(Ordering::Relaxed))
    }
}

/// Everything in the parameters that changes which notes are generated.
#[derive(Clone, Debug, PartialEq)]
struct Request {
    generate: GenerateParams,
    regenerate: (bool, u64),
    primer_version: u64,
}

/// Settings that change how the notes play, not which notes: applied to the playing phrase
/// without generating a new one (also while the phrase is locked).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Voicing {
    channel: u8,
    humanize: f32,
    velocity: u8,
}

/// The longest phrase a restored state may hold (bars) and the most notes.
const MAX_RESTORED_BARS: u32 = 256;
const MAX_RESTORED_NOTES: usize = 100_000;

/// Checks a phrase restored from a project before it reaches the audio thread: a damaged
/// or hand-edited state must give a message, not a stalled or silent plugin.
pub fn validate_restored(phrase: &Phrase) -> Result<(), String> {
    let ts = phrase.time_signature;
    if phrase.bars == 0 || phrase.bars > MAX_RESTORED_BARS {
        return Err(format!(
            "it has {} bars (1 to {MAX_RESTORED_BARS} allowed)",
            phrase.bars
        ));
    }
    if !(1..=96).contains(&phrase.steps_per_quarter) {
        return Err(format!(
            "its grid has {} steps per quarter (1 to 96 allowed)",
            phrase.steps_per_quarter
        ));
    }
    if TimeSignature::from_host(i32::from(ts.numerator), i32::from(ts.denominator)).is_none() {
        return Err(format!(
            "its time signature {}/{} is not one a host uses",
            ts.numerator, ts.denominator
        ));
    }
    if phrase.notes.len() > MAX_RESTORED_NOTES {
        return Err(format!("it has {} notes", phrase.notes.len()));
    }
    let total = u64::from(phrase.total_steps());
    for n in &phrase.notes {
        if n.pitch > 127 || n.length_steps == 0 || u64::from(n.end_step()) > total {
            return Err(format!(
                "a note (pitch {}, step {}, length {}) lies outside the phrase",
                n.pitch, n.start_step, n.length_steps
            ));
        }
    }
    Ok(())
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
        form: params.form.value().form(),
        strict_voice_leading: params.strict_voice_leading.value(),
        candidates: params.candidates.value().max(1) as u32,
        repeats: if params.repeats.value() {
            Repeats::Auto
        } else {
            Repeats::Off
        },
        ..GenerateParams::default()
    }
}

/// Builds a primer phrase from recorded notes, starting at the bar of the first note.
pub fn primer_from_recording(
    notes: &[RecordedNote],
    steps_per_quarter: u32,
    bar_beats: f64,
) -> Option<Phrase> {
    let first = notes.iter().find(|n| n.on)?.beats;
    let bar_beats = if bar_beats > 0.0 { bar_beats } else { 4.0 };
    // On the grid first: a downbeat played a hair early belongs to its bar, not the one
    // before (the phrase would start with an empty bar).
    let spq = f64::from(steps_per_quarter.max(1));
    let first_on_grid = (first * spq).round() / spq;
    let origin = (first_on_grid / bar_beats + 1e-9).floor() * bar_beats;
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
    /// Shared with the live harmonizer on the audio thread, which never holds the last
    /// reference (it hands its harmonizer back here to be freed).
    model: Arc<FastLstm>,
    /// Bumped at each model load: a live harmonizer is built for one model.
    model_version: u64,
    /// What the live harmonizer sent to the audio thread was built from.
    live_built: Option<(u64, PlayMode, LiveSettings)>,
    /// The model file loaded (`None`: the built-in model) and the request count it answered.
    loaded_path: Option<String>,
    loaded_request: u64,
    last: Option<Request>,
    voicing: Option<Voicing>,
    rerolls: u64,
    recording: Vec<RecordedNote>,
    /// Answer mode: the player's phrase so far, the keys down and when it last moved.
    call: Vec<RecordedNote>,
    call_keys_down: u32,
    call_last_beats: f64,
    was_recording: bool,
    primer: Option<Phrase>,
    primer_version: u64,
    next_id: u64,
    /// Restores of the host's state already handled.
    restores_seen: u64,
    /// History moves already played.
    history_seen: u64,
    playing_seen: u64,
    /// A phrase that did not fit in the queue yet.
    waiting: Option<Box<PlaybackPhrase>>,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, model: FastLstm) -> Self {
        shared.status.lock().model_name = model.config.name.clone();
        Self {
            shared,
            model: Arc::new(model),
            model_version: 0,
            live_built: None,
            loaded_path: None,
            loaded_request: 0,
            last: None,
            voicing: None,
            rerolls: 0,
            recording: Vec::new(),
            call: Vec::new(),
            call_keys_down: 0,
            call_last_beats: 0.0,
            was_recording: false,
            primer: None,
            primer_version: 0,
            next_id: 1,
            restores_seen: 0,
            history_seen: 0,
            playing_seen: 0,
            waiting: None,
        }
    }

    /// Runs until `Shared::shut_down`. A panic inside one look at the world (a bug, or a
    /// model file that trips the engine) is reported in the editor and the worker goes on.
    pub fn run(mut self) {
        while self.shared.running.load(Ordering::Acquire) {
            let ticket = self.shared.settle_asked.load(Ordering::Acquire);
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.poll())) {
                let what = panic_message(&panic);
                let mut status = self.shared.status.lock();
                status.generating = false;
                status.error = Some(format!(
                    "generation failed: {what}; the phrase keeps playing"
                ));
            }
            {
                let mut done = self.shared.settle_done.0.lock();
                *done = (*done).max(ticket);
                self.shared.settle_done.1.notify_all();
            }
            if self.shared.settle_asked.load(Ordering::Acquire) == ticket {
                self.shared.sleep();
            }
        }
    }

    fn request(&self) -> Request {
        let p = &self.shared.params;
        let mut generate = generate_params(p, &self.model);
        // Velocity is voicing, not generation (see `Voicing`).
        generate.velocity = 0;
        generate.time_signature = self
            .shared
            .host_meter()
            .or_else(|| self.last.as_ref().map(|l| l.generate.time_signature))
            .unwrap_or_default();
        Request {
            generate,
            regenerate: (
                p.regenerate.value(),
                self.shared.regenerate_requests.load(Ordering::Acquire),
            ),
            primer_version: self.primer_version,
        }
    }

    fn voicing_now(&self) -> Voicing {
        let p = &self.shared.params;
        Voicing {
            channel: p.channel_index(),
            humanize: p.humanize.value(),
            velocity: p.velocity.value().clamp(1, 127) as u8,
        }
    }

    /// One look at the world: free returned phrases, follow a restored state, load another
    /// model, collect recorded notes, record which phrase plays, and generate or re-voice if
    /// the parameters moved.
    pub fn poll(&mut self) {
        #[cfg(test)]
        if tests::PANIC_ON_NEXT_POLL.swap(false, Ordering::AcqRel) {
            panic!("an injected failure");
        }
        // Frees here, off the audio thread.
        while self.shared.garbage.pop().is_some() {}
        while self.shared.live_garbage.pop().is_some() {}
        if let Some(p) = self.waiting.take() {
            self.deliver(p);
        }
        self.note_playing();
        if !self.shared.ready.load(Ordering::Acquire) {
            return;
        }
        self.follow_model_choice();
        let restores = self.shared.params.phrase.restore_count();
        if restores != self.restores_seen {
            self.restores_seen = restores;
            let history = self.shared.params.history.read().clone().repaired();
            *self.shared.params.history.write() = history;
            if self.restore() {
                return;
            }
        }
        if self.bring_back_from_history() || self.play_edit() {
            return;
        }
        if self.shared.params.mode.value() == PlayMode::Answer {
            self.listen_for_answer();
        } else {
            self.collect_recording();
        }
        let request = self.request();
        self.update_live(&request.generate);
        let voicing = self.voicing_now();
        let changed = self.last.as_ref() != Some(&request);
        if changed && !self.shared.params.lock.value() {
            if matches!(&self.last, Some(l) if l.regenerate != request.regenerate) {
                self.rerolls += 1;
            }
            self.generate(&request, voicing);
            self.last = Some(request);
            self.voicing = Some(voicing);
        } else if self.voicing.is_some_and(|v| v != voicing) {
            self.revoice(voicing);
        }
    }

    /// In Harmonize and Accompany modes, hands the audio thread a live engine built for the
    /// mode, the current model and settings (again whenever they change); a model that
    /// cannot play the mode is reported in the editor, and the keys then only pass through.
    fn update_live(&mut self, asked: &GenerateParams) {
        let mode = self.shared.params.mode.value();
        if mode == PlayMode::Generate {
            self.live_built = None;
            self.shared.status.lock().live_error = None;
            return;
        }
        let settings = LiveSettings {
            seed: asked.seed,
            voices: asked.max_polyphony.clamp(1, 16) as u8,
            strict_voice_leading: asked.strict_voice_leading,
            home_shift: crate::sample::home_key::shift_from_home(&self.model.config, asked),
            // Harmonizing, min-p keeps the voices in key; a line needs the model's whole
            // tail (with it, the likeliest event, holding the note, would win every step).
            min_p: if mode == PlayMode::Harmonize {
                LIVE_MIN_P
            } else {
                0.0
            },
            allowed: asked.scale.pitch_mask()
                & crate::roll::pitch_span_mask(asked.pitch_lo, asked.pitch_hi),
        };
        let wanted = (self.model_version, mode, settings);
        if self.live_built == Some(wanted) || self.shared.to_audio_live.is_full() {
            return;
        }
        self.live_built = Some(wanted);
        let engine = match mode {
            PlayMode::Accompany => {
                LiveAccompanist::new(self.model.clone(), settings).map(LiveEngine::Accompany)
            }
            PlayMode::Answer => Ok(LiveEngine::Answer(AnswerPlayer::default())),
            _ => LiveHarmonizer::new(self.model.clone(), settings).map(LiveEngine::Harmonize),
        };
        let live_error = engine.as_ref().err().map(|e| format!("{mode:?}: {e}"));
        let _ = self.shared.to_audio_live.push(engine.ok().map(Box::new));
        self.shared.status.lock().live_error = live_error;
    }

    /// Loads the model the parameters name when it is not the one loaded: after the user
    /// picks one, and after a project that uses a model file is reopened.
    fn follow_model_choice(&mut self) {
        let requested = self.shared.model_requests.load(Ordering::Acquire);
        let path_differs = *self.shared.params.model_path.read() != self.loaded_path;
        if !path_differs && requested == self.loaded_request {
            return;
        }
        self.loaded_request = requested;
        let path = self.shared.params.model_path.read().clone();
        let loaded = match &path {
            None => crate::builtin::default_model(),
            Some(p) => crate::builtin::load_model_choice(p),
        };
        let mut status = self.shared.status.lock();
        match loaded {
            Ok(model) => {
                status.model_name = model.config.name.clone();
                status.model_error = None;
                self.model = Arc::new(model);
                self.model_version += 1;
                self.loaded_path = path;
                // A new model means new phrases (unless a restored one is about to be adopted).
                if self.restores_seen == self.shared.params.phrase.restore_count() {
                    self.last = None;
                }
            }
            Err(e) => {
                // The previous model stays in use; the path stays chosen so the editor shows
                // which file failed, and a later Load retries it.
                self.loaded_path = path.clone();
                status.model_error = Some(format!(
                    "could not load {}: {e}; still using {}",
                    path.as_deref().unwrap_or("the built-in model"),
                    self.model.config.name
                ));
            }
        }
    }

    /// Adopts the phrase of a state the host just restored (a reopened project, a preset,
    /// also into a running instance): it plays at once, exactly as saved, and the current
    /// parameters count as the ones it was made with. Returns false when there was nothing
    /// usable to adopt (then the parameters decide, as for a new instance).
    fn restore(&mut self) -> bool {
        let Some(saved) = self.shared.params.phrase.saved() else {
            self.last = None;
            return false;
        };
        if let Err(why) = validate_restored(&saved.phrase) {
            self.shared.status.lock().restore_error = Some(format!(
                "the saved phrase is damaged ({why}); a new one was generated"
            ));
            self.shared.params.phrase.clear();
            self.last = None;
            return false;
        }
        self.rerolls = saved.rerolls;
        let mut request = self.request();
        if self.shared.host_meter().is_none() {
            request.generate.time_signature = saved.phrase.time_signature;
        }
        let voicing = self.voicing_now();
        let fallback_seed = request.generate.seed;
        {
            let mut status = self.shared.status.lock();
            status.notes = saved.phrase.notes.len();
            status.bars = saved.phrase.bars;
            status.restore_error = None;
        }
        self.publish(saved, voicing, fallback_seed, Takeover::Now);
        self.last = Some(request);
        self.voicing = Some(voicing);
        true
    }

    /// Keeps the status line on the phrase playing.
    fn note_playing(&mut self) {
        let playing = self.shared.playing_id.load(Ordering::Acquire);
        if playing == self.playing_seen {
            return;
        }
        self.playing_seen = playing;
        if let Some(p) = self.shared.params.phrase.phrase() {
            let mut status = self.shared.status.lock();
            status.notes = p.notes.len();
            status.bars = p.bars;
        }
    }

    /// After a move in the history (back, forward, A/B), plays the entry now current, as a
    /// new phrase would take over. Returns whether it did.
    fn bring_back_from_history(&mut self) -> bool {
        let requests = self.shared.history_requests.load(Ordering::Acquire);
        if requests == self.history_seen {
            return false;
        }
        self.history_seen = requests;
        let Some(entry) = self.shared.params.history.read().current().cloned() else {
            return false;
        };
        self.rerolls = entry.saved.rerolls;
        self.adopt(entry.saved, Takeover::AtSwapPoint);
        true
    }

    /// Plays the phrase the user edited on the roll at once (what sounds is struck again as
    /// edited). It is what is saved, exported and kept from now on, and it replaces its
    /// entry in the history. Returns whether there was an edit.
    fn play_edit(&mut self) -> bool {
        let Some(phrase) = self.shared.edited.lock().take() else {
            return false;
        };
        let mut saved = self.shared.params.phrase.saved().unwrap_or(SavedPhrase {
            phrase: phrase.clone(),
            rerolls: self.rerolls,
            seed: None,
        });
        saved.phrase = phrase;
        {
            let mut history = self.shared.params.history.write();
            if let Some(i) = history.position {
                history.entries[i].saved = saved.clone();
            }
        }
        self.adopt(saved, Takeover::Now);
        true
    }

    /// Plays `saved` (the user chose it: from the history, or edited) as if the settings of
    /// the moment had made it, so it plays until they change.
    fn adopt(&mut self, saved: SavedPhrase, takeover: Takeover) {
        let voicing = self.voicing_now();
        self.publish(saved, voicing, 1, takeover);
        self.last = Some(self.request());
        self.voicing = Some(voicing);
    }

    /// Offers `saved` under a fresh id (played with `voicing`, its velocities humanized from
    /// its seed, or from `fallback_seed` when it has none) and queues it for the audio thread.
    fn publish(
        &mut self,
        saved: SavedPhrase,
        voicing: Voicing,
        fallback_seed: u64,
        takeover: Takeover,
    ) {
        let seed = saved.seed.unwrap_or(fallback_seed);
        let id = self.next_id;
        self.next_id += 1;
        let (channel, humanize) = (voicing.channel, voicing.humanize);
        let mut playback = PlaybackPhrase::from_phrase(&saved.phrase, channel, humanize, seed, id);
        playback.takeover = takeover;
        self.shared.params.phrase.offer(id, saved);
        self.shared.generated_id.store(id, Ordering::Release);
        self.deliver(Box::new(playback));
    }

    /// Length of the host's bar in beats (4/4 until the host says).
    fn bar_beats(&self) -> f64 {
        self.shared
            .host_meter()
            .unwrap_or_default()
            .quarters_per_bar()
    }

    /// Answer mode: collects the player's phrase; once every key is up and the rest has
    /// lasted *Answer after* bars, writes the answer (the model continuing the phrase, as
    /// long as it) and hands it to the audio thread to play from the next bar line.
    fn listen_for_answer(&mut self) {
        while let Some(n) = self.shared.recorded.pop() {
            if n.on {
                self.call_keys_down += 1;
            } else {
                self.call_keys_down = self.call_keys_down.saturating_sub(1);
            }
            self.call_last_beats = n.beats;
            self.call.push(n);
        }
        let now = f64::from_bits(self.shared.live_beats.load(Ordering::Acquire));
        let bar = self.bar_beats();
        let rest = f64::from(self.shared.params.answer_after.value().max(1)) * bar;
        let resting = !self.call.is_empty() && self.call_keys_down == 0;
        if !resting || now < self.call_last_beats + rest || self.shared.to_audio_live.is_full() {
            return;
        }
        let call = std::mem::take(&mut self.call);
        let spq = self.model.config.steps_per_quarter;
        let Some(mut primer) = primer_from_recording(&call, spq, bar) else {
            return;
        };
        let meter = self.shared.host_meter().unwrap_or_default();
        primer.time_signature = meter;
        primer.bars = primer.bars_needed().max(1);
        let mut gp = generate_params(&self.shared.params, &self.model);
        gp.bars = primer.bars.min(16);
        gp.time_signature = meter;
        gp.form = crate::form::Form::through_composed();
        gp.seed = gp.seed.wrapping_add(self.next_id);
        gp.primer = Some(primer);
        let answer = match generate(&self.model, &gp) {
            Ok(phrase) => phrase,
            Err(e) => {
                self.shared.status.lock().live_error = Some(format!("Answer: {e}"));
                return;
            }
        };
        self.next_id += 1;
        // From the next bar line after the answer is written, with an eighth of a beat's
        // grace (the worker's latency); the audio thread moves it on if it is late anyway.
        let now = f64::from_bits(self.shared.live_beats.load(Ordering::Acquire));
        let start_beats = ((now + 0.125) / bar).ceil() * bar;
        let player = AnswerPlayer::new(&answer, start_beats, bar);
        let _ = self
            .shared
            .to_audio_live
            .push(Some(Box::new(LiveEngine::Answer(player))));
        self.shared.status.lock().live_error = None;
    }

    fn collect_recording(&mut self) {
        let recording = self.shared.params.record.value();
        while let Some(n) = self.shared.recorded.pop() {
            if recording {
                self.recording.push(n);
            }
        }
        if self.was_recording && !recording {
            if let Some(primer) = primer_from_recording(
                &self.recording,
                self.model.config.steps_per_quarter,
                self.bar_beats(),
            ) {
                self.primer = Some(primer);
                self.primer_version += 1;
            }
            self.recording.clear();
        }
        self.was_recording = recording;
    }

    fn generate(&mut self, request: &Request, voicing: Voicing) {
        let started = Instant::now();
        self.shared.status.lock().generating = true;
        let params = &self.shared.params;
        let mut gp = request.generate.clone();
        gp.velocity = voicing.velocity;
        gp.seed = gp.seed.wrapping_add(self.rerolls.wrapping_mul(7919));
        gp.primer = self.primer.clone();
        let mask = params.kept_bars_mask();
        if mask != 0 {
            gp.keep_bars = params.phrase.phrase().map(|p| (p, mask));
        }
        let result = generate(&self.model, &gp);
        self.shared.generations.fetch_add(1, Ordering::AcqRel);
        let mut status = self.shared.status.lock();
        status.generating = false;
        match result {
            Ok(mut phrase) => {
                if let Some((before, mask)) = &gp.keep_bars {
                    crate::phrase_edit::carry_muted_notes(before, *mask, &mut phrase);
                }
                status.last_generation_ms = started.elapsed().as_secs_f64() * 1e3;
                status.error = None;
                drop(status);
                let saved = SavedPhrase {
                    phrase,
                    rerolls: self.rerolls,
                    seed: Some(gp.seed),
                };
                let label = format!(
                    "{} · {:?} {:?} · creativity {:.2} · seed {}",
                    self.model.config.name,
                    params.key.value(),
                    params.scale.value(),
                    gp.temperature,
                    gp.seed
                );
                self.shared.params.history.write().push(HistoryEntry {
                    saved: saved.clone(),
                    label,
                    starred: false,
                });
                self.publish(saved, voicing, gp.seed, Takeover::AtSwapPoint);
            }
            Err(e) => status.error = Some(format!("generation failed: {e}")),
        }
    }

    /// Plays the current phrase with new playing settings: same notes, new channel, velocity
    /// or humanize, taking over at once.
    fn revoice(&mut self, voicing: Voicing) {
        let old = self.voicing.replace(voicing);
        let newest = self.shared.generated_id.load(Ordering::Acquire);
        let Some(mut saved) = self.shared.params.phrase.offered(newest) else {
            return;
        };
        if let Some(old) = old.filter(|o| o.velocity != voicing.velocity) {
            let scale = f32::from(voicing.velocity) / f32::from(old.velocity.max(1));
            for n in &mut saved.phrase.notes {
                n.velocity = (f32::from(n.velocity) * scale).round().clamp(1.0, 127.0) as u8;
            }
        }
        // The playing phrase changes at once; a new one still waiting keeps its swap point.
        let takeover = if newest == self.shared.playing_id.load(Ordering::Acquire) {
            Takeover::Revoice
        } else {
            Takeover::AtSwapPoint
        };
        self.publish(saved, voicing, 1, takeover);
    }

    /// Queues a phrase for the audio thread, replacing any not yet picked up.
    fn deliver(&mut self, phrase: Box<PlaybackPhrase>) {
        if self.shared.to_audio.is_full() {
            self.shared.to_audio.pop();
        }
        if let Err(p) = self.shared.to_audio.push(phrase) {
            self.waiting = Some(p);
        }
    }
}

/// The text of a caught panic.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "an internal error".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::prelude::Param;

    pub static PANIC_ON_NEXT_POLL: AtomicBool = AtomicBool::new(false);

    #[test]
    fn a_downbeat_played_a_hair_early_starts_its_own_bar() {
        let key = |pitch, on, beats| RecordedNote {
            pitch,
            velocity: 0.8,
            on,
            beats,
        };
        // A one-bar call from beat 8, its first key a sample early (at 48 kHz, 120 BPM).
        let early = 8.0 - 1.0 / 24_000.0;
        let call = [
            key(67, true, early),
            key(67, false, 8.8),
            key(72, true, 11.0),
            key(72, false, 11.8),
        ];
        let primer = primer_from_recording(&call, 4, 4.0).unwrap();
        assert_eq!(primer.bars, 1, "{primer:?}");
        assert_eq!(primer.notes[0].start_step, 0);
        assert_eq!(primer.notes[1].start_step, 12);
        // Played a sixteenth and more early, the note is in the bar before.
        let call = [key(67, true, 7.7), key(67, false, 8.8)];
        let primer = primer_from_recording(&call, 4, 4.0).unwrap();
        assert_eq!(primer.notes[0].start_step, 15);
    }

    fn wait_for(what: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if what() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    #[test]
    fn a_panic_in_the_worker_is_shown_and_generation_goes_on() {
        let params = Arc::new(PhraseGenParams::default());
        let shared = Shared::new(params.clone());
        let model = crate::builtin::default_model().unwrap();
        let worker_shared = shared.clone();
        let thread = std::thread::spawn(move || Worker::new(worker_shared, model).run());
        shared.ready.store(true, Ordering::Release);
        shared.wake();
        assert!(wait_for(|| shared.generated_id.load(Ordering::Acquire) == 1));
        PANIC_ON_NEXT_POLL.store(true, Ordering::Release);
        shared.wake();
        assert!(wait_for(|| shared.status.lock().error.is_some()));
        let error = shared.status.lock().error.clone().unwrap();
        assert!(error.contains("an injected failure"), "{error}");
        // The worker lives on: a parameter change still brings a new phrase.
        unsafe {
            params.seed.as_ptr()._internal_set_normalized_value(0.5);
        }
        shared.wake();
        assert!(wait_for(|| shared.generated_id.load(Ordering::Acquire) == 2));
        shared.shut_down();
        thread.join().unwrap();
    }

    #[test]
    fn restored_phrases_are_checked_before_they_play() {
        let mut p = Phrase::empty(2, 4, TimeSignature::default(), 120.0);
        p.notes.push(Note::new(0, 60, 4, 90));
        assert!(validate_restored(&p).is_ok());
        let mut zero = p.clone();
        zero.bars = 0;
        assert!(validate_restored(&zero).unwrap_err().contains("0 bars"));
        let mut outside = p.clone();
        outside.notes[0].start_step = 40;
        assert!(validate_restored(&outside).unwrap_err().contains("outside"));
        let mut meter = p.clone();
        meter.time_signature.denominator = 3;
        assert!(validate_restored(&meter).is_err());
        let mut grid = p;
        grid.steps_per_quarter = 0;
        assert!(validate_restored(&grid).is_err());
    }
}
