//! Tempo-synced playback: which note events fall in this audio block, at which sample.
//!
//! Pure and host-agnostic: it takes a plain [`TransportSnapshot`] (tempo, beat position,
//! loop range, playing) so tests can play it with fake hosts. The phrase is laid on the
//! host's musical timeline: phrase position = host beat position modulo the phrase length,
//! so it stays aligned with bars through tempo changes, loops and seeks. Every path that
//! could leave a note hanging (stop, seek, loop wrap, phrase swap, reset) sends note-offs.
//! Nothing here allocates after construction.

use crate::phrase::Phrase;

/// What the host says about time for one block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransportSnapshot {
    pub playing: bool,
    pub tempo_bpm: f64,
    /// Beat (quarter note) position at the first sample of the block; `None` when the host
    /// does not say.
    pub pos_beats: Option<f64>,
    pub sample_rate: f64,
    pub block_len_samples: u32,
    /// Active loop range in beats, if the host loops.
    pub loop_beats: Option<(f64, f64)>,
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
            length_beats: phrase.length_beats().max(1e-6),
            bar_beats: phrase.time_signature.quarters_per_bar(),
            notes,
            channel: channel.min(15),
            id,
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
    fn push(&mut self, e: NoteEvent) {
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

/// Playback state carried from block to block.
#[derive(Clone, Debug)]
pub struct Scheduler {
    /// Per channel, the pitches we have turned on and not yet off.
    sounding: [u128; 16],
    /// Where the previous block ended, to tell a jump (seek, loop) from continuous play.
    expected_beats: Option<f64>,
    /// Beat position of the free-running clock.
    free_run_beats: f64,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    pub fn new() -> Self {
        Self {
            sounding: [0; 16],
            expected_beats: None,
            free_run_beats: 0.0,
        }
    }

    /// Whether any note is sounding.
    pub fn any_sounding(&self) -> bool {
        self.sounding.iter().any(|s| *s != 0)
    }

    /// Note-offs for everything sounding, at `sample`.
    pub fn all_notes_off(&mut self, sample: u32, out: &mut EventBuffer) {
        for (channel, set) in self.sounding.iter_mut().enumerate() {
            while *set != 0 {
                let pitch = set.trailing_zeros() as u8;
                *set &= !(1u128 << pitch);
                out.push(NoteEvent {
                    sample,
                    on: false,
                    pitch,
                    channel: channel as u8,
                    velocity: 0.0,
                });
            }
        }
    }

    /// Forgets position (after deactivation or reset) and releases everything.
    pub fn reset(&mut self, out: &mut EventBuffer) {
        self.all_notes_off(0, out);
        self.expected_beats = None;
        self.free_run_beats = 0.0;
    }

    /// Fills `out` with this block's events. `pending` is a newly generated phrase waiting to
    /// take over at `swap_at`; when it does, it is moved into `current` and the old phrase is
    /// returned (for the caller to free off the audio thread). With `free_run_tempo`, a
    /// stopped or transport-less host gets a free-running clock at that tempo; otherwise it
    /// gets silence.
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
        let len = transport.block_len_samples;
        let sr = transport.sample_rate.max(1.0);
        let host_clock = match (transport.playing, transport.pos_beats) {
            (true, Some(pos)) if transport.tempo_bpm > 0.0 && pos.is_finite() => {
                Some((pos, transport.tempo_bpm))
            }
            _ => None,
        };
        let (start, tempo) = match (host_clock, free_run_tempo) {
            (Some(c), _) => {
                self.free_run_beats = 0.0;
                c
            }
            (None, Some(tempo)) if tempo > 0.0 => (self.free_run_beats, tempo),
            _ => {
                // Stopped, or no usable transport: silence, and a fresh start next time.
                self.all_notes_off(0, out);
                self.expected_beats = None;
                let retired = pending.take().and_then(|p| current.replace(p));
                out.sort();
                return retired;
            }
        };
        let beats_per_sample = tempo / 60.0 / sr;
        let block_beats = f64::from(len) * beats_per_sample;
        if host_clock.is_none() {
            self.free_run_beats += block_beats;
        }
        // A jump (seek, loop wrap between blocks, tempo map edit): release what sounds.
        if let Some(expected) = self.expected_beats {
            if (expected - start).abs() > beats_per_sample.max(1e-9) * 1.5 {
                self.all_notes_off(0, out);
            }
        }
        // A host loop that wraps inside this block is played as two segments.
        let mut segments = [(start, start + block_beats, 0u32); 2];
        let mut n_segments = 1;
        if let Some((loop_start, loop_end)) = transport.loop_beats {
            if loop_end > loop_start && start < loop_end && start + block_beats > loop_end + 1e-9 {
                let wrap_sample = ((loop_end - start) / beats_per_sample).round() as u32;
                let rest = block_beats - (loop_end - start);
                segments[0] = (start, loop_end, 0);
                segments[1] = (loop_start, loop_start + rest, wrap_sample.min(len));
                n_segments = 2;
            }
        }
        let mut retired = None;
        for (i, &(seg_start, seg_end, seg_sample)) in segments[..n_segments].iter().enumerate() {
            if i > 0 {
                self.all_notes_off(seg_sample.min(len.saturating_sub(1)), out);
            }
            // Where in this segment a pending phrase takes over.
            let swap_beats = match (pending.as_ref(), current.as_ref()) {
                (None, _) => None,
                (Some(_), None) => Some(seg_start),
                (Some(_), Some(cur)) => {
                    let grid = match swap_at {
                        SwapAt::Immediately => 0.0,
                        SwapAt::NextBar => cur.bar_beats,
                        SwapAt::EndOfPhrase => cur.length_beats,
                    };
                    let at = if grid <= 0.0 {
                        seg_start
                    } else {
                        let k = (seg_start / grid - 1e-9).ceil();
                        k * grid
                    };
                    (at < seg_end).then_some(at.max(seg_start))
                }
            };
            let to_sample = |beats: f64| -> u32 {
                let s = seg_sample as f64 + (beats - seg_start) / beats_per_sample;
                (s.round().max(0.0) as u32).min(len.saturating_sub(1))
            };
            // An event belongs to the sample its exact time rounds to, so each segment
            // covers its beats shifted back by half a sample.
            let half = 0.5 * beats_per_sample;
            let (seg_start_w, seg_end_w) = (seg_start - half, seg_end - half);
            match swap_beats {
                Some(at) => {
                    let at_w = (at - half).max(seg_start_w);
                    if let Some(cur) = current.as_deref() {
                        self.play(cur, seg_start_w, at_w, &to_sample, out);
                    }
                    self.all_notes_off(to_sample(at), out);
                    let old = pending.take().and_then(|p| current.replace(p));
                    if old.is_some() {
                        retired = old;
                    }
                    if let Some(cur) = current.as_deref() {
                        self.play(cur, at_w, seg_end_w, &to_sample, out);
                    }
                }
                None => {
                    if let Some(cur) = current.as_deref() {
                        self.play(cur, seg_start_w, seg_end_w, &to_sample, out);
                    }
                }
            }
        }
        self.expected_beats = Some(segments[n_segments - 1].1);
        out.sort();
        retired
    }

    /// Emits the ons and offs of `phrase` (repeating every `length_beats`) that fall in
    /// `[from, to)` beats.
    fn play(
        &mut self,
        phrase: &PlaybackPhrase,
        from: f64,
        to: f64,
        to_sample: &dyn Fn(f64) -> u32,
        out: &mut EventBuffer,
    ) {
        if to <= from {
            return;
        }
        let len = phrase.length_beats;
        let ch = usize::from(phrase.channel);
        let first = (from / len).floor() as i64;
        let last = (to / len).floor() as i64;
        // Offs first (a note ending where another of its pitch starts must end first).
        for cycle in (first - 1)..=last {
            let offset = cycle as f64 * len;
            for n in &phrase.notes {
                let off = offset + n.end_beats.min(len);
                if off >= from && off < to && self.sounding[ch] & (1u128 << n.pitch) != 0 {
                    // Only the note of this cycle ends here: it started at offset + start.
                    let on = offset + n.start_beats;
                    if on < off {
                        self.sounding[ch] &= !(1u128 << n.pitch);
                        out.push(NoteEvent {
                            sample: to_sample(off),
                            on: false,
                            pitch: n.pitch,
                            channel: phrase.channel,
                            velocity: 0.0,
                        });
                    }
                }
            }
        }
        for cycle in first..=last {
            let offset = cycle as f64 * len;
            for n in &phrase.notes {
                let on = offset + n.start_beats;
                if on >= from && on < to {
                    let bit = 1u128 << n.pitch;
                    if self.sounding[ch] & bit != 0 {
                        out.push(NoteEvent {
                            sample: to_sample(on),
                            on: false,
                            pitch: n.pitch,
                            channel: phrase.channel,
                            velocity: 0.0,
                        });
                    }
                    self.sounding[ch] |= bit;
                    out.push(NoteEvent {
                        sample: to_sample(on),
                        on: true,
                        pitch: n.pitch,
                        channel: phrase.channel,
                        velocity: n.velocity,
                    });
                    // A note ending within the same segment.
                    let off = offset + n.end_beats.min(len);
                    if off < to {
                        self.sounding[ch] &= !bit;
                        out.push(NoteEvent {
                            sample: to_sample(off).max(to_sample(on)),
                            on: false,
                            pitch: n.pitch,
                            channel: phrase.channel,
                            velocity: 0.0,
                        });
                    }
                }
            }
        }
    }
}
