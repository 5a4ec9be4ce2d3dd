//! Host transports: a plain description of one block's transport ([`HostTransport`]), and a
//! simulated host ([`HostSim`]) that plays a timeline and reports it the way real hosts do:
//! exactly, with beats rounded to the host's tick (Ardour: 1/1920 beat), in seconds only,
//! with jitter, through tempo ramps, loops (split at the loop end or wrapped mid-block),
//! seeks, and 3/4 or 6/8 meters.

use clack_host::events::event_types::TransportEvent;
use clap_sys::events::{
    clap_event_header, clap_event_transport, CLAP_CORE_EVENT_SPACE_ID, CLAP_EVENT_TRANSPORT,
    CLAP_TRANSPORT_HAS_BEATS_TIMELINE, CLAP_TRANSPORT_HAS_SECONDS_TIMELINE,
    CLAP_TRANSPORT_HAS_TEMPO, CLAP_TRANSPORT_HAS_TIME_SIGNATURE, CLAP_TRANSPORT_IS_LOOP_ACTIVE,
    CLAP_TRANSPORT_IS_PLAYING,
};
use clap_sys::fixedpoint::{CLAP_BEATTIME_FACTOR, CLAP_SECTIME_FACTOR};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// What a host says about time at the first sample of a block. `None` fields are left out
/// of the CLAP event (their flag is not set).
#[derive(Clone, Debug, PartialEq)]
pub struct HostTransport {
    pub playing: bool,
    pub tempo_bpm: Option<f64>,
    /// Tempo change per sample within the block (a ramp), BPM per sample.
    pub tempo_inc: f64,
    pub pos_beats: Option<f64>,
    pub pos_seconds: Option<f64>,
    /// (numerator, denominator).
    pub time_signature: Option<(u16, u16)>,
    pub bar_start_beats: f64,
    pub bar_number: i32,
    pub loop_beats: Option<(f64, f64)>,
    pub loop_seconds: Option<(f64, f64)>,
}

impl Default for HostTransport {
    fn default() -> Self {
        Self {
            playing: true,
            tempo_bpm: Some(120.0),
            tempo_inc: 0.0,
            pos_beats: Some(0.0),
            pos_seconds: Some(0.0),
            time_signature: Some((4, 4)),
            bar_start_beats: 0.0,
            bar_number: 0,
            loop_beats: None,
            loop_seconds: None,
        }
    }
}

fn beat_time(beats: f64) -> i64 {
    (beats * CLAP_BEATTIME_FACTOR as f64).round() as i64
}

fn sec_time(seconds: f64) -> i64 {
    (seconds * CLAP_SECTIME_FACTOR as f64).round() as i64
}

impl HostTransport {
    /// Playing at `tempo_bpm` in 4/4 at beat `pos_beats`, both timelines exact.
    pub fn playing_at(pos_beats: f64, tempo_bpm: f64) -> Self {
        let bar = (pos_beats / 4.0).floor();
        Self {
            tempo_bpm: Some(tempo_bpm),
            pos_beats: Some(pos_beats),
            pos_seconds: Some(pos_beats * 60.0 / tempo_bpm),
            bar_start_beats: bar * 4.0,
            bar_number: bar as i32,
            ..Self::default()
        }
    }

    /// The CLAP event (fixed point 2^31 for beats and seconds).
    pub fn to_clap(&self) -> TransportEvent {
        let mut flags = 0;
        let set = |flags: &mut u32, on: bool, flag: u32| {
            if on {
                *flags |= flag;
            }
        };
        set(&mut flags, self.playing, CLAP_TRANSPORT_IS_PLAYING);
        set(
            &mut flags,
            self.tempo_bpm.is_some(),
            CLAP_TRANSPORT_HAS_TEMPO,
        );
        set(
            &mut flags,
            self.pos_beats.is_some(),
            CLAP_TRANSPORT_HAS_BEATS_TIMELINE,
        );
        set(
            &mut flags,
            self.pos_seconds.is_some(),
            CLAP_TRANSPORT_HAS_SECONDS_TIMELINE,
        );
        set(
            &mut flags,
            self.time_signature.is_some(),
            CLAP_TRANSPORT_HAS_TIME_SIGNATURE,
        );
        set(
            &mut flags,
            self.loop_beats.is_some() || self.loop_seconds.is_some(),
            CLAP_TRANSPORT_IS_LOOP_ACTIVE,
        );
        let (num, den) = self.time_signature.unwrap_or((4, 4));
        let (loop_start_beats, loop_end_beats) = self.loop_beats.unwrap_or((0.0, 0.0));
        let (loop_start_seconds, loop_end_seconds) = self.loop_seconds.unwrap_or((0.0, 0.0));
        let raw = clap_event_transport {
            header: clap_event_header {
                size: std::mem::size_of::<clap_event_transport>() as u32,
                time: 0,
                space_id: CLAP_CORE_EVENT_SPACE_ID,
                type_: CLAP_EVENT_TRANSPORT,
                flags: 0,
            },
            flags,
            song_pos_beats: beat_time(self.pos_beats.unwrap_or(0.0)),
            song_pos_seconds: sec_time(self.pos_seconds.unwrap_or(0.0)),
            tempo: self.tempo_bpm.unwrap_or(0.0),
            tempo_inc: self.tempo_inc,
            loop_start_beats: beat_time(loop_start_beats),
            loop_end_beats: beat_time(loop_end_beats),
            loop_start_seconds: sec_time(loop_start_seconds),
            loop_end_seconds: sec_time(loop_end_seconds),
            bar_start: beat_time(self.bar_start_beats),
            bar_number: self.bar_number,
            tsig_num: num,
            tsig_denom: den,
        };
        TransportEvent::from_raw(&raw)
    }
}

/// How a host reports one timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Timeline {
    /// Not reported (its flag is clear).
    Absent,
    Exact,
    /// Rounded to a multiple of this unit (beats or seconds).
    Rounded(f64),
    /// Off by a random amount of up to this many samples (the same offset on both timelines
    /// within a block), as hosts that read a drifting clock.
    Jittered {
        max_samples: f64,
    },
}

/// How a host reports the playhead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionStyle {
    pub beats: Timeline,
    pub seconds: Timeline,
}

impl PositionStyle {
    pub const EXACT: Self = Self {
        beats: Timeline::Exact,
        seconds: Timeline::Exact,
    };
    /// Ardour: beats on a 1/1920 grid (12.5 samples at 120 BPM and 48 kHz), exact seconds.
    pub const ARDOUR: Self = Self {
        beats: Timeline::Rounded(1.0 / 1920.0),
        seconds: Timeline::Exact,
    };
    /// Beats on a 1/1920 grid and nothing else to go by.
    pub const TICKS_ONLY: Self = Self {
        beats: Timeline::Rounded(1.0 / 1920.0),
        seconds: Timeline::Absent,
    };
    /// No beat timeline: seconds rounded to the microsecond.
    pub const SECONDS_ONLY: Self = Self {
        beats: Timeline::Absent,
        seconds: Timeline::Rounded(1e-6),
    };

    /// Both timelines jittered by up to `max_samples`.
    pub fn jitter(max_samples: f64) -> Self {
        Self {
            beats: Timeline::Jittered { max_samples },
            seconds: Timeline::Jittered { max_samples },
        }
    }
}

/// One block the simulated host asks for: its length (a host that splits at the loop end
/// may shorten it) and its transport.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockPlan {
    pub len: u32,
    pub transport: HostTransport,
}

/// What the host's exact timeline did during one block (for predicting and judging notes).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockRecord {
    /// Session sample of the block's first sample.
    pub start_sample: u64,
    pub len: u32,
    pub playing: bool,
    /// Exact beat position at the first sample.
    pub start_beats: f64,
    pub tempo_bpm: f64,
    pub tempo_inc: f64,
    /// A loop wrap inside the block: (offset in samples, loop start in beats).
    pub wrap: Option<(u32, f64)>,
    /// What was reported.
    pub transport: HostTransport,
}

/// A simulated host timeline. Tempo maps are constant except for ramps set with
/// `tempo_inc`; seconds follow beats through the current tempo on seeks.
#[derive(Clone, Debug)]
pub struct HostSim {
    pub sample_rate: f64,
    pub tempo_bpm: f64,
    /// BPM per sample; the host integrates the position over the ramp.
    pub tempo_inc: f64,
    pub playing: bool,
    pub time_signature: (u16, u16),
    /// Active loop (start, end) in beats.
    pub loop_beats: Option<(f64, f64)>,
    /// At a loop end the host ends the block exactly there (true), or plays the whole block
    /// and lets the plugin wrap through the loop range (false).
    pub split_at_loop_end: bool,
    pub style: PositionStyle,
    beats: f64,
    seconds: f64,
    now: u64,
    rng: Pcg64,
    pub record: Vec<BlockRecord>,
}

impl HostSim {
    /// A host at beat 0, playing, 4/4, whose next block starts at session sample `now`.
    pub fn new(sample_rate: f64, tempo_bpm: f64, style: PositionStyle, now: u64) -> Self {
        Self {
            sample_rate,
            tempo_bpm,
            tempo_inc: 0.0,
            playing: true,
            time_signature: (4, 4),
            loop_beats: None,
            split_at_loop_end: false,
            style,
            beats: 0.0,
            seconds: 0.0,
            now,
            rng: Pcg64::seed_from_u64(0x5eed),
            record: Vec::new(),
        }
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = Pcg64::seed_from_u64(seed);
        self
    }

    /// Exact playhead in beats.
    pub fn beats(&self) -> f64 {
        self.beats
    }

    pub fn samples_per_beat(&self) -> f64 {
        60.0 / self.tempo_bpm * self.sample_rate
    }

    /// Moves the playhead (a user's click, a locate).
    pub fn seek(&mut self, beats: f64) {
        self.beats = beats;
        self.seconds = beats * 60.0 / self.tempo_bpm;
    }

    /// Quarter notes per bar of the current meter.
    pub fn bar_beats(&self) -> f64 {
        let (num, den) = self.time_signature;
        f64::from(num) * 4.0 / f64::from(den)
    }

    /// Beats advanced over `n` samples from the current tempo along the ramp.
    fn advance_beats(&self, n: f64) -> f64 {
        (self.tempo_bpm * n + self.tempo_inc * n * n / 2.0) / 60.0 / self.sample_rate
    }

    /// The transport the host reports for the current exact position.
    fn report(&mut self) -> HostTransport {
        let jitter_samples = match (self.style.beats, self.style.seconds) {
            (Timeline::Jittered { max_samples }, _) | (_, Timeline::Jittered { max_samples }) => {
                self.rng.random_range(-max_samples..=max_samples)
            }
            _ => 0.0,
        };
        let beats_per_sample = self.tempo_bpm / 60.0 / self.sample_rate;
        let report = |timeline: Timeline, exact: f64, per_sample: f64| match timeline {
            Timeline::Absent => None,
            Timeline::Exact => Some(exact),
            Timeline::Rounded(unit) => Some((exact / unit).round() * unit),
            Timeline::Jittered { .. } => Some(exact + jitter_samples * per_sample),
        };
        let bar_len = self.bar_beats();
        let bar = (self.beats / bar_len + 1e-9).floor();
        let loop_seconds = self
            .loop_beats
            .map(|(s, e)| (s * 60.0 / self.tempo_bpm, e * 60.0 / self.tempo_bpm));
        HostTransport {
            playing: self.playing,
            tempo_bpm: Some(self.tempo_bpm),
            tempo_inc: self.tempo_inc,
            pos_beats: report(self.style.beats, self.beats, beats_per_sample),
            pos_seconds: report(self.style.seconds, self.seconds, 1.0 / self.sample_rate),
            time_signature: Some(self.time_signature),
            bar_start_beats: bar * bar_len,
            bar_number: bar as i32,
            loop_beats: self
                .loop_beats
                .filter(|_| self.style.beats != Timeline::Absent),
            loop_seconds: loop_seconds.filter(|_| self.style.seconds != Timeline::Absent),
        }
    }

    /// Plans the next block of (at most) `requested` samples and advances the timeline past
    /// it. The returned length is what to process.
    pub fn next_block(&mut self, requested: u32) -> BlockPlan {
        let mut len = requested.max(1);
        let beats_per_sample = self.tempo_bpm / 60.0 / self.sample_rate;
        // A host that splits blocks at the loop end.
        if let (true, true, Some((_, end))) =
            (self.playing, self.split_at_loop_end, self.loop_beats)
        {
            if self.beats < end && self.beats + self.advance_beats(f64::from(len)) > end {
                len = (((end - self.beats) / beats_per_sample).round() as u32).clamp(1, len);
            }
        }
        let transport = self.report();
        let mut record = BlockRecord {
            start_sample: self.now,
            len,
            playing: self.playing,
            start_beats: self.beats,
            tempo_bpm: self.tempo_bpm,
            tempo_inc: self.tempo_inc,
            wrap: None,
            transport: transport.clone(),
        };
        if self.playing {
            let before = self.beats;
            self.beats += self.advance_beats(f64::from(len));
            self.seconds += f64::from(len) / self.sample_rate;
            self.tempo_bpm += self.tempo_inc * f64::from(len);
            if let Some((start, end)) = self.loop_beats {
                // Within a tolerance of a micro-beat, the block that reaches the loop end
                // exactly wraps too.
                if before < end && self.beats >= end - 1e-9 && end > start {
                    let offset = ((end - before) / beats_per_sample).round() as u32;
                    if offset < len {
                        record.wrap = Some((offset, start));
                    }
                    // A loop shorter than the rest of the block wraps again.
                    self.beats = start + (self.beats - end).max(0.0) % (end - start);
                    self.seconds = self.beats * 60.0 / self.tempo_bpm;
                }
            }
        }
        self.now += u64::from(len);
        self.record.push(record);
        BlockPlan { len, transport }
    }

    /// The exact host beat position at session sample `sample`, if a recorded playing block
    /// covers it.
    pub fn beats_at(&self, sample: u64) -> Option<f64> {
        let i = self
            .record
            .partition_point(|r| r.start_sample + u64::from(r.len) <= sample);
        let r = self.record.get(i)?;
        if sample < r.start_sample || !r.playing {
            return None;
        }
        let offset = (sample - r.start_sample) as f64;
        let along =
            |n: f64| (r.tempo_bpm * n + r.tempo_inc * n * n / 2.0) / 60.0 / self.sample_rate;
        Some(match r.wrap {
            Some((wrap, loop_start)) if offset >= f64::from(wrap) => {
                loop_start + along(offset) - along(f64::from(wrap))
            }
            _ => r.start_beats + along(offset),
        })
    }
}
