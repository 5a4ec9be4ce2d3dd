//! Tempo-synced playback: which note events fall in this audio block, at which sample.
//!
//! Pure and host-agnostic: it takes a plain [`TransportSnapshot`] (tempo, beat position,
//! loop range, playing) so tests can play it with fake hosts. The phrase is laid on the
//! host's musical timeline: phrase position = host beat position modulo the phrase length,
//! so it stays aligned with bars through tempo changes, loops and seeks. Every path that
//! could leave a note hanging (stop, seek, loop wrap, phrase swap, reset) sends note-offs.
//! Nothing here allocates after construction.

use crate::phrase::{Phrase, TimeSignature};

/// What the host says about time for one block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransportSnapshot {
    pub playing: bool,
    pub tempo_bpm: f64,
    /// Beat (quarter note) position at the first sample of the block; `None` when the host
    /// does not say. Hosts round it (Ardour: to 1/1920 beat) or derive it from seconds.
    pub pos_beats: Option<f64>,
    /// Position in samples where the host gives it (VST3): the most precise clock there is,
    /// used to tell continuous playback from a jump.
    pub pos_samples: Option<i64>,
    pub sample_rate: f64,
    pub block_len_samples: u32,
    /// Active loop range in beats, if the host loops.
    pub loop_beats: Option<(f64, f64)>,
    /// The host's time signature, if it says.
    pub time_signature: Option<TimeSignature>,
    /// Start of the bar the block starts in (beats) and that bar's number (0 = first bar),
    /// if the host says: phrases line up with the host's bars even after a meter change.
    pub bar_start_beats: Option<f64>,
    pub bar_number: Option<i32>,
}

impl Default for TransportSnapshot {
    fn default() -> Self {
        Self {
            playing: false,
            tempo_bpm: 120.0,
            pos_beats: None,
            pos_samples: None,
            sample_rate: 48_000.0,
            block_len_samples: 512,
            loop_beats: None,
            time_signature: None,
            bar_start_beats: None,
            bar_number: None,
        }
    }
}

impl TransportSnapshot {
    /// Length of the host's bar in beats, if it gives a usable time signature.
    pub fn host_bar_beats(&self) -> Option<f64> {
        self.time_signature
            .filter(|ts| ts.numerator > 0 && ts.denominator > 0)
            .map(|ts| ts.quarters_per_bar())
    }

    /// Where bar 0 would lie on the host timeline (beats) had the whole song been in the
    /// current meter, so phrases repeat from host bars whose number is a multiple of the
    /// phrase's bar count, also after a meter change. Uses the host's bar start and number
    /// when they agree with the position (some hosts send zeros), else assumes the meter has
    /// not changed since the song start.
    pub fn phrase_origin_beats(&self) -> f64 {
        let (Some(pos), Some(bar), Some(start), Some(number)) = (
            self.pos_beats,
            self.host_bar_beats(),
            self.bar_start_beats,
            self.bar_number,
        ) else {
            return 0.0;
        };
        let consistent =
            number >= 0 && start.is_finite() && start <= pos + 1e-6 && pos < start + bar + 1e-6;
        if !consistent {
            return 0.0;
        }
        start - f64::from(number) * bar
    }
}

/// One note of a phrase in beats, ready to play.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlaybackNote {
    pub start_beats: f64,
    pub end_beats: f64,
    pub pitch: u8,
    pub velocity: f32,
}

/// A phrase converted for the audio thread: notes sorted by start, in beats.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaybackPhrase {
    pub length_beats: f64,
    /// Length of a bar in beats (for "next bar" swaps).
    pub bar_beats: f64,
    pub notes: Vec<PlaybackNote>,
    /// Output MIDI channel, 0-based.
    pub channel: u8,
    /// Increasing number identifying the phrase (shown by the editor).
    pub id: u64,
    /// How this phrase replaces the one playing.
    pub takeover: Takeover,
}

/// How a new phrase replaces the one playing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Takeover {
    /// At the next swap point the user chose (immediately, next bar, end of phrase).
    #[default]
    AtSwapPoint,
    /// At once, with the notes that should be sounding struck again (a restored project).
    Now,
    /// The same notes with new playing settings (channel, velocity): at once, sounding notes
    /// keep sounding unless the channel changed.
    Revoice,
}

impl PlaybackPhrase {
    /// Converts a phrase. `humanize` (0..1) varies velocities by up to that fraction,
    /// deterministically from `seed`, so the same phrase always plays the same.
    pub fn from_phrase(phrase: &Phrase, channel: u8, humanize: f32, seed: u64, id: u64) -> Self {
        let mut x = seed ^ 0x5851_F42D_4C95_7F2D;
        let mut notes: Vec<PlaybackNote> = phrase
            .notes
            .iter()
            .map(|n| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
                let v = f32::from(n.velocity) / 127.0 * (1.0 + humanize.clamp(0.0, 1.0) * 0.5 * r);
                PlaybackNote {
                    start_beats: phrase.step_to_beats(n.start_step),
                    end_beats: phrase.step_to_beats(n.end_step()),
                    pitch: n.pitch.min(127),
                    velocity: v.clamp(1.0 / 127.0, 1.0),
                }
            })
            .collect();
        notes.sort_by(|a, b| {
            a.start_beats
                .total_cmp(&b.start_beats)
                .then(a.pitch.cmp(&b.pitch))
        });
        Self {
            // A phrase shorter than a sixteenth cannot come from the sampler; the floor keeps a
            // damaged one from costing the audio thread thousands of cycles per block.
            length_beats: phrase.length_beats().max(MIN_PHRASE_BEATS),
            bar_beats: phrase.time_signature.quarters_per_bar(),
            notes,
            channel: channel.min(15),
            id,
            takeover: Takeover::AtSwapPoint,
        }
    }
}

/// A note event at a sample offset within the block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoteEvent {
    pub sample: u32,
    pub on: bool,
    pub pitch: u8,
    pub channel: u8,
    pub velocity: f32,
}

impl NoteEvent {
    /// A note-on.
    pub fn on(sample: u32, pitch: u8, channel: u8, velocity: f32) -> Self {
        Self {
            sample,
            on: true,
            pitch,
            channel,
            velocity,
        }
    }

    /// A note-off (its velocity 0).
    pub fn off(sample: u32, pitch: u8, channel: u8) -> Self {
        Self {
            sample,
            on: false,
            pitch,
            channel,
            velocity: 0.0,
        }
    }
}

/// Fixed-capacity event list filled by the scheduler (no allocation while playing).
#[derive(Clone, Debug)]
pub struct EventBuffer {
    events: Vec<NoteEvent>,
}

impl EventBuffer {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            events: Vec::with_capacity(capacity),
        }
    }

    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// Adds an event unless full (note-ons are dropped first: a quarter of the capacity is
    /// kept for note-offs).
    pub fn push(&mut self, e: NoteEvent) {
        let reserve = if e.on { self.events.capacity() / 4 } else { 0 };
        if self.events.len() + reserve < self.events.capacity() {
            self.events.push(e);
        }
    }

    /// Events in time order; at the same sample, in the order they were made (an off that
    /// must precede an on was pushed first).
    pub fn events(&self) -> &[NoteEvent] {
        &self.events
    }

    fn sort(&mut self) {
        // Stable insertion sort by sample: allocation-free, and the list is nearly sorted.
        let v = &mut self.events;
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && v[j - 1].sample > v[j].sample {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
    }
}

/// When a newly generated phrase takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapAt {
    Immediately,
    NextBar,
    EndOfPhrase,
}

/// Shortest phrase the scheduler plays, in beats (a sixteenth note).
pub const MIN_PHRASE_BEATS: f64 = 0.25;

/// Position error that is the host's rounding, not a move: hosts report beats rounded to
/// their tick (1/960 or 1/1920 beat) or derive them from rounded seconds. Within this the
/// scheduler keeps its own sample-exact clock.
pub const ROUNDING_TOLERANCE_BEATS: f64 = 1.0 / 960.0;
pub const ROUNDING_TOLERANCE_MS: f64 = 1.0;
/// Position error above which the host has really jumped (seek, loop, tempo-map edit).
/// Between the two tolerances (jitter, tempo ramps inside a block) playback re-syncs to the
/// host without releasing anything.
pub const JUMP_TOLERANCE_BEATS: f64 = 1.0 / 96.0;
pub const JUMP_TOLERANCE_MS: f64 = 10.0;
/// When the host's sample counter is continuous, a beat position this far off is still only
/// the host's beat rounding (or a tempo ramp), not a jump.
pub const SAMPLE_CONTINUOUS_BEATS: f64 = 0.125;
/// A note chased after a jump must still have this much to sound (beats): striking a note
/// for its last few milliseconds is a click, not a chase.
pub const MIN_CHASE_BEATS: f64 = 1.0 / 32.0;

/// How this block's start relates to where the last one ended.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Continuity {
    /// Within the host's rounding: play on from our own clock.
    Exact,
    /// Close but drifting (jitter, tempo ramp): play on, re-synced to the host.
    Resync,
    /// A seek, a loop start, a start of playback: release and chase.
    Jump,
}

/// The clock a block plays by.
#[derive(Clone, Copy, Debug)]
struct Clock {
    /// Beat position at the block's first sample.
    beats: f64,
    /// Tempo at the block's first sample (BPM).
    tempo: f64,
    /// Where the phrase timeline starts on this clock (beats).
    origin: f64,
    /// The host's transport, rather than the free-running clock.
    on_host: bool,
}

/// One block's timing and swap rule, worked out once and shared by its segments.
#[derive(Clone, Copy, Debug)]
struct Block {
    len: u32,
    beats_per_sample: f64,
    /// The host's bar length while it drives the clock (for "next bar" swaps).
    host_bar_beats: Option<f64>,
    swap_at: SwapAt,
}

impl Block {
    /// The block sample at which `beats` falls when sample 0 lies at `anchor`, clamped into
    /// the block: an event is never sent outside the block it belongs to.
    fn sample(&self, anchor: f64, beats: f64) -> u32 {
        let s = (beats - anchor) / self.beats_per_sample;
        (s.round().max(0.0) as u32).min(self.len.saturating_sub(1))
    }

    fn half_sample_beats(&self) -> f64 {
        0.5 * self.beats_per_sample
    }
}

/// A stretch of a block played without a jump: `[from, to)` on the phrase timeline, with
/// sample 0 of the block at `anchor`. A block is one segment, or two when the host's loop
/// wraps inside it.
#[derive(Clone, Copy, Debug)]
struct Segment {
    from: f64,
    to: f64,
    anchor: f64,
    /// Starts after a jump: release everything, then chase.
    jumped: bool,
}

/// Playback state carried from block to block.
#[derive(Clone, Debug, Default)]
pub struct Scheduler {
    /// Per channel, the pitches we have turned on and not yet off.
    sounding: [u128; 16],
    /// Where the previous block ended on the phrase timeline (beats), to tell a jump (seek,
    /// loop) from continuous play; `None` when stopped.
    expected_beats: Option<f64>,
    /// Where the previous block ended in host samples, where the host counts samples.
    expected_samples: Option<i64>,
    /// Beat position of the free-running clock.
    free_run_beats: f64,
    /// Phrase-timeline position (beats) at the start of the last block played, for the editor.
    playhead_beats: f64,
    /// Tempo at the last block's start and its length, to see a tempo ramp coming: hosts
    /// give the tempo at each block's start, and a ramp inside a block would otherwise make
    /// our clock drift from the host's by up to the rounding tolerance.
    last_tempo: Option<(f64, u32)>,
    /// Tempo change per sample seen between the last two blocks (BPM per sample).
    last_slope: f64,
}

impl Scheduler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any note is sounding.
    pub fn any_sounding(&self) -> bool {
        self.sounding.iter().any(|s| *s != 0)
    }

    /// Position in the playing phrase (beats from its start) at the last block's start.
    pub fn playhead_beats(&self) -> f64 {
        self.playhead_beats
    }

    /// Note-offs for everything sounding, at `sample`.
    pub fn all_notes_off(&mut self, sample: u32, out: &mut EventBuffer) {
        for (channel, set) in (0..16u8).zip(&mut self.sounding) {
            while *set != 0 {
                let pitch = set.trailing_zeros() as u8;
                *set &= !(1u128 << pitch);
                out.push(NoteEvent::off(sample, pitch, channel));
            }
        }
    }

    /// Forgets position (after deactivation or reset) and releases everything.
    pub fn reset(&mut self, out: &mut EventBuffer) {
        self.all_notes_off(0, out);
        self.expected_beats = None;
        self.expected_samples = None;
        self.free_run_beats = 0.0;
    }

    /// How far apart two positions may be before they are a move, not rounding (beats).
    fn tolerances(tempo_bpm: f64) -> (f64, f64) {
        let beats_per_ms = tempo_bpm / 60_000.0;
        (
            rounding_tolerance_beats(tempo_bpm),
            JUMP_TOLERANCE_BEATS.max(JUMP_TOLERANCE_MS * beats_per_ms),
        )
    }

    /// Judges continuity on the most precise clock the host gives: its sample counter where
    /// it has one, else its beat position with room for its rounding.
    fn continuity(&self, host_beats: f64, transport: &TransportSnapshot, tempo: f64) -> Continuity {
        let Some(expected) = self.expected_beats else {
            return Continuity::Jump;
        };
        let (rounding, jump) = Self::tolerances(tempo);
        let error = (host_beats - expected).abs();
        if !error.is_finite() {
            return Continuity::Jump;
        }
        let (exact, resync) = match (transport.pos_samples, self.expected_samples) {
            (Some(at), Some(expected_at)) => {
                let ms = (at - expected_at).abs() as f64 * 1e3 / transport.sample_rate.max(1.0);
                if ms <= ROUNDING_TOLERANCE_MS {
                    // The sample counter runs on: the beat position is only as precise as
                    // the host's beat rounding, so trust our clock further.
                    (jump, SAMPLE_CONTINUOUS_BEATS.max(jump))
                } else {
                    (rounding, rounding)
                }
            }
            _ => (rounding, jump),
        };
        if error <= exact {
            Continuity::Exact
        } else if error <= resync {
            Continuity::Resync
        } else {
            Continuity::Jump
        }
    }

    /// Fills `out` with this block's events. `pending` is a newly generated phrase waiting to
    /// take over at `swap_at` (or as its [`Takeover`] says); when it does, it is moved into
    /// `current` and the old phrase is returned (for the caller to free off the audio thread).
    /// With `free_run_tempo`, a stopped or transport-less host gets a free-running clock at
    /// that tempo; otherwise it gets silence.
    ///
    /// The phrase repeats on the host's bar timeline (see
    /// [`TransportSnapshot::phrase_origin_beats`]). Between blocks of continuous play the
    /// scheduler runs on its own clock, so a host's rounded positions neither cut notes nor
    /// repeat them; after a real jump it releases everything and strikes again the notes that
    /// should be sounding at the new position (chase), as DAWs do for MIDI clips.
    pub fn process(
        &mut self,
        transport: &TransportSnapshot,
        current: &mut Option<Box<PlaybackPhrase>>,
        pending: &mut Option<Box<PlaybackPhrase>>,
        swap_at: SwapAt,
        free_run_tempo: Option<f64>,
        out: &mut EventBuffer,
    ) -> Option<Box<PlaybackPhrase>> {
        out.clear();
        let Some(clock) = self.clock(transport, free_run_tempo) else {
            return self.stop(current, pending, out);
        };
        let len = transport.block_len_samples;
        let beats_per_sample =
            self.block_tempo(&clock, len) / 60.0 / transport.sample_rate.max(1.0);
        let block = Block {
            len,
            beats_per_sample,
            host_bar_beats: transport.host_bar_beats().filter(|_| clock.on_host),
            swap_at,
        };
        let block_beats = f64::from(len) * beats_per_sample;
        self.advance_free_run(&clock, block_beats);
        // Everything below is on the phrase timeline: host beats less the phrase's origin.
        let host_t = clock.beats - clock.origin;
        let continuity = self.block_continuity(host_t, transport, &clock);
        let whole = self.block_segment(host_t, continuity, block_beats);
        let (first, wrapped) = split_at_loop(whole, transport, &clock);
        let mut retired = None;
        for segment in [Some(first), wrapped].into_iter().flatten() {
            if let Some(old) = self.play_segment(&segment, &block, current, pending, out) {
                retired = Some(old);
            }
        }
        self.remember(
            &first,
            &wrapped.unwrap_or(first),
            transport,
            &clock,
            current,
        );
        out.sort();
        retired
    }

    /// Picks the clock this block plays by: the host's while it plays and says where it is,
    /// else the free-running clock at `free_run_tempo`, else none (silence).
    fn clock(&self, transport: &TransportSnapshot, free_run_tempo: Option<f64>) -> Option<Clock> {
        match (host_position(transport), free_run_tempo) {
            (Some((beats, tempo)), _) => Some(Clock {
                beats,
                tempo,
                origin: transport.phrase_origin_beats(),
                on_host: true,
            }),
            (None, Some(tempo)) if tempo > 0.0 && tempo.is_finite() => Some(Clock {
                beats: self.free_run_beats,
                tempo,
                origin: 0.0,
                on_host: false,
            }),
            _ => None,
        }
    }

    /// Stopped, or no usable transport: nothing may keep sounding, the next block that plays
    /// starts afresh (a jump), and a pending phrase takes over at once (there is no swap
    /// point to wait for). Returns the phrase it replaced.
    fn stop(
        &mut self,
        current: &mut Option<Box<PlaybackPhrase>>,
        pending: &mut Option<Box<PlaybackPhrase>>,
        out: &mut EventBuffer,
    ) -> Option<Box<PlaybackPhrase>> {
        self.all_notes_off(0, out);
        self.expected_beats = None;
        self.expected_samples = None;
        self.last_tempo = None;
        let retired = pending.take().and_then(|p| current.replace(p));
        out.sort();
        retired
    }

    /// The tempo to play this block at. Hosts give the tempo at each block's start, so a
    /// steady ramp (the same tempo change per sample as between the last blocks) is played
    /// at its mean tempo over the block, or our clock would drift from the host's; a one-off
    /// tempo step is not a ramp. Records this block's tempo to see the next ramp coming.
    fn block_tempo(&mut self, clock: &Clock, len: u32) -> f64 {
        let tempo = clock.tempo;
        let slope = match self
            .last_tempo
            .filter(|_| clock.on_host && self.expected_beats.is_some())
        {
            Some((last, last_len)) if last_len > 0 => (tempo - last) / f64::from(last_len),
            _ => 0.0,
        };
        let steady = slope != 0.0 && (slope - self.last_slope).abs() <= 0.25 * slope.abs();
        self.last_slope = slope;
        self.last_tempo = Some((tempo, len));
        if steady {
            (tempo + 0.5 * slope * f64::from(len)).max(tempo * 0.5)
        } else {
            tempo
        }
    }

    /// Moves the free-running clock to `beats` (an audition from a bar the user clicked):
    /// the next block it plays starts there like a jump, releasing what sounds and striking
    /// what sounds there.
    pub fn seek_free_run(&mut self, beats: f64) {
        if beats.is_finite() {
            self.free_run_beats = beats.max(0.0);
            self.expected_beats = None;
        }
    }

    /// Runs the free-running clock on by this block, or restarts it from zero while the host
    /// drives playback (so it starts from the top when the host stops).
    fn advance_free_run(&mut self, clock: &Clock, block_beats: f64) {
        if clock.on_host {
            self.free_run_beats = 0.0;
        } else {
            self.free_run_beats += block_beats;
        }
    }

    /// How this block follows the last (`host_t` is its start on the phrase timeline): on
    /// the host's clock, as [`Scheduler::continuity`] judges it; free-running, our own clock
    /// runs on by construction, so only its first block is a jump.
    fn block_continuity(
        &self,
        host_t: f64,
        transport: &TransportSnapshot,
        clock: &Clock,
    ) -> Continuity {
        if clock.on_host {
            self.continuity(host_t, transport, clock.tempo)
        } else if self.expected_beats.is_some() {
            Continuity::Exact
        } else {
            Continuity::Jump
        }
    }

    /// The beats this block covers on the phrase timeline, before any loop wrap. Continuous
    /// play starts where the last block ended, so no event is lost or played twice to the
    /// host's rounding; its sample 0 lies there too (exact) or where the host says (re-sync).
    /// After a jump, both are the host's position.
    fn block_segment(&self, host_t: f64, continuity: Continuity, block_beats: f64) -> Segment {
        let (from, anchor) = match (continuity, self.expected_beats) {
            (Continuity::Exact, Some(expected)) => (expected, expected),
            (Continuity::Resync, Some(expected)) => (expected, host_t),
            _ => (host_t, host_t),
        };
        Segment {
            from,
            to: (anchor + block_beats).max(from),
            anchor,
            jumped: continuity == Continuity::Jump,
        }
    }

    /// Plays one segment of the block: after a jump, releases everything and chases the
    /// notes that should be sounding; then the current phrase's events, with a pending
    /// phrase taking over where [`swap_point`] says. Returns the phrase replaced, if any.
    fn play_segment(
        &mut self,
        segment: &Segment,
        block: &Block,
        current: &mut Option<Box<PlaybackPhrase>>,
        pending: &mut Option<Box<PlaybackPhrase>>,
        out: &mut EventBuffer,
    ) -> Option<Box<PlaybackPhrase>> {
        let to_sample = |beats: f64| block.sample(segment.anchor, beats);
        // An event belongs to the sample its exact time rounds to, so each segment covers
        // its beats shifted back by half a sample.
        let half = block.half_sample_beats();
        let (from_w, to_w) = (segment.from - half, segment.to - half);
        if segment.jumped {
            self.all_notes_off(to_sample(segment.from), out);
            if let Some(cur) = current.as_deref() {
                self.chase(cur, from_w, to_sample(segment.from), out);
            }
        }
        let Some(at) = swap_point(segment, block, pending.as_deref(), current.as_deref()) else {
            self.play(current.as_deref(), from_w, to_w, &to_sample, out);
            return None;
        };
        let at_w = (at - half).max(from_w);
        self.play(current.as_deref(), from_w, at_w, &to_sample, out);
        let retired = self.take_over(at, at_w, current, pending, &to_sample, out);
        self.play(current.as_deref(), at_w, to_w, &to_sample, out);
        retired
    }

    /// Moves `pending` into `current` at `at` beats (`at_w` shifted back by half a sample)
    /// and returns the phrase it replaced. The old phrase's notes are released and the new
    /// one's chased, so no note of either hangs or goes missing; only a revoice on the same
    /// channel lets what sounds go on sounding (same notes, new velocities).
    fn take_over(
        &mut self,
        at: f64,
        at_w: f64,
        current: &mut Option<Box<PlaybackPhrase>>,
        pending: &mut Option<Box<PlaybackPhrase>>,
        to_sample: &dyn Fn(f64) -> u32,
        out: &mut EventBuffer,
    ) -> Option<Box<PlaybackPhrase>> {
        let takeover = pending
            .as_deref()
            .map_or(Takeover::AtSwapPoint, |p| p.takeover);
        let old_channel = current.as_deref().map(|c| c.channel);
        let retired = pending.take().and_then(|p| current.replace(p));
        let new_channel = current.as_deref().map(|c| c.channel);
        if takeover != Takeover::Revoice || old_channel != new_channel {
            self.all_notes_off(to_sample(at), out);
            if let Some(cur) = current.as_deref() {
                self.chase(cur, at_w, to_sample(at), out);
            }
        }
        retired
    }

    /// Remembers where this block ended, on the phrase timeline and in host samples, so the
    /// next block can tell continuous play from a jump; and the playhead, for the editor.
    fn remember(
        &mut self,
        first: &Segment,
        last: &Segment,
        transport: &TransportSnapshot,
        clock: &Clock,
        current: &Option<Box<PlaybackPhrase>>,
    ) {
        self.expected_beats = Some(last.to);
        self.expected_samples = transport
            .pos_samples
            .filter(|_| clock.on_host)
            .map(|s| s + i64::from(transport.block_len_samples));
        if let Some(cur) = current.as_deref() {
            self.playhead_beats = first.from.rem_euclid(cur.length_beats);
        }
    }

    /// Strikes the notes of `phrase` that started before `at` (beats) and are still meant to
    /// sound there with at least [`MIN_CHASE_BEATS`] to go.
    fn chase(&mut self, phrase: &PlaybackPhrase, at: f64, sample: u32, out: &mut EventBuffer) {
        let len = phrase.length_beats;
        let pos = at.rem_euclid(len);
        let ch = usize::from(phrase.channel);
        for n in &phrase.notes {
            let end = n.end_beats.min(len);
            if n.start_beats < pos && pos + MIN_CHASE_BEATS <= end {
                let bit = 1u128 << n.pitch;
                if self.sounding[ch] & bit == 0 {
                    self.sounding[ch] |= bit;
                    out.push(NoteEvent::on(sample, n.pitch, phrase.channel, n.velocity));
                }
            }
        }
    }

    /// Emits the ons and offs of `phrase` (if any; it repeats every `length_beats`) that fall
    /// in `[from, to)` beats. Offs come first: a note ending where another of its pitch
    /// starts must end first.
    fn play(
        &mut self,
        phrase: Option<&PlaybackPhrase>,
        from: f64,
        to: f64,
        to_sample: &dyn Fn(f64) -> u32,
        out: &mut EventBuffer,
    ) {
        let Some(phrase) = phrase else {
            return;
        };
        if to <= from {
            return;
        }
        self.release_ending(phrase, from, to, to_sample, out);
        self.strike_starting(phrase, from, to, to_sample, out);
    }

    /// The phrase cycles (repeats) that overlap `[from, to)` beats: `(first, last)`.
    fn cycles(phrase: &PlaybackPhrase, from: f64, to: f64) -> (i64, i64) {
        let len = phrase.length_beats;
        ((from / len).floor() as i64, (to / len).floor() as i64)
    }

    /// Note-offs for the sounding notes of `phrase` that end in `[from, to)`, including
    /// notes of the cycle before `from` that ring into it.
    fn release_ending(
        &mut self,
        phrase: &PlaybackPhrase,
        from: f64,
        to: f64,
        to_sample: &dyn Fn(f64) -> u32,
        out: &mut EventBuffer,
    ) {
        let len = phrase.length_beats;
        let ch = usize::from(phrase.channel);
        let (first, last) = Self::cycles(phrase, from, to);
        for cycle in (first - 1)..=last {
            let offset = cycle as f64 * len;
            for n in &phrase.notes {
                let off = offset + n.end_beats.min(len);
                if off >= from && off < to && self.sounding[ch] & (1u128 << n.pitch) != 0 {
                    // Only the note of this cycle ends here: it started at offset + start.
                    let on = offset + n.start_beats;
                    if on < off {
                        self.sounding[ch] &= !(1u128 << n.pitch);
                        out.push(NoteEvent::off(to_sample(off), n.pitch, phrase.channel));
                    }
                }
            }
        }
    }

    /// Note-ons for the notes of `phrase` that start in `[from, to)` (a pitch already
    /// sounding is first released, so it is struck again rather than lost), and the offs of
    /// those that also end before `to`.
    fn strike_starting(
        &mut self,
        phrase: &PlaybackPhrase,
        from: f64,
        to: f64,
        to_sample: &dyn Fn(f64) -> u32,
        out: &mut EventBuffer,
    ) {
        let len = phrase.length_beats;
        let ch = usize::from(phrase.channel);
        let (first, last) = Self::cycles(phrase, from, to);
        for cycle in first..=last {
            let offset = cycle as f64 * len;
            for n in &phrase.notes {
                let on = offset + n.start_beats;
                // Negated rather than inverted, so a NaN position plays nothing.
                if !(on >= from && on < to) {
                    continue;
                }
                let bit = 1u128 << n.pitch;
                let event = NoteEvent::off(to_sample(on), n.pitch, phrase.channel);
                if self.sounding[ch] & bit != 0 {
                    out.push(event);
                }
                self.sounding[ch] |= bit;
                out.push(NoteEvent {
                    on: true,
                    velocity: n.velocity,
                    ..event
                });
                // A note ending within the same segment.
                let off = offset + n.end_beats.min(len);
                if off < to {
                    self.sounding[ch] &= !bit;
                    out.push(NoteEvent {
                        sample: to_sample(off).max(event.sample),
                        ..event
                    });
                }
            }
        }
    }
}

/// How far a host's position may be from a clock that ran on from the last block and still
/// be that clock, rounded (beats, at `tempo_bpm`): [`ROUNDING_TOLERANCE_BEATS`] or
/// [`ROUNDING_TOLERANCE_MS`], whichever is more.
pub fn rounding_tolerance_beats(tempo_bpm: f64) -> f64 {
    ROUNDING_TOLERANCE_BEATS.max(ROUNDING_TOLERANCE_MS * tempo_bpm / 60_000.0)
}

/// The host's position and tempo, if it is playing and gives both as usable numbers.
fn host_position(transport: &TransportSnapshot) -> Option<(f64, f64)> {
    match (transport.playing, transport.pos_beats) {
        (true, Some(pos))
            if transport.tempo_bpm > 0.0 && transport.tempo_bpm.is_finite() && pos.is_finite() =>
        {
            Some((pos, transport.tempo_bpm))
        }
        _ => None,
    }
}

/// Splits `segment` where the host's loop wraps inside it. The part after the wrap starts at
/// the loop start like a jump (release, then chase), with its sample 0 placed so its samples
/// continue those of the part before.
fn split_at_loop(
    segment: Segment,
    transport: &TransportSnapshot,
    clock: &Clock,
) -> (Segment, Option<Segment>) {
    let Some((loop_start, loop_end)) = transport.loop_beats.filter(|_| clock.on_host) else {
        return (segment, None);
    };
    let (ls, le) = (loop_start - clock.origin, loop_end - clock.origin);
    // Negated rather than inverted, so a NaN loop range plays as no loop.
    if !(le > ls && segment.from < le && segment.to > le + 1e-9) {
        return (segment, None);
    }
    let wrapped = Segment {
        from: ls,
        to: ls + (segment.to - le),
        anchor: ls - (le - segment.anchor),
        jumped: true,
    };
    (Segment { to: le, ..segment }, Some(wrapped))
}

/// Where in `segment` a pending phrase takes over (beats), if it does in this segment: at
/// once when nothing plays or the phrase says so, else at the first swap point (bar or
/// phrase boundary) the user's [`SwapAt`] chose.
fn swap_point(
    segment: &Segment,
    block: &Block,
    pending: Option<&PlaybackPhrase>,
    current: Option<&PlaybackPhrase>,
) -> Option<f64> {
    let pending = pending?;
    let Some(cur) = current.filter(|_| pending.takeover == Takeover::AtSwapPoint) else {
        return Some(segment.from);
    };
    let grid = match block.swap_at {
        SwapAt::Immediately => 0.0,
        SwapAt::NextBar => block.host_bar_beats.unwrap_or(cur.bar_beats),
        SwapAt::EndOfPhrase => cur.length_beats,
    };
    let at = if grid <= 0.0 {
        segment.from
    } else {
        (segment.from / grid - 1e-9).ceil() * grid
    };
    // The same half-sample rule as for notes: a swap at the block's last half sample
    // belongs to the next block.
    (at < segment.to - block.half_sample_beats()).then_some(at.max(segment.from))
}
