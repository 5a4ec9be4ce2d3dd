//! What `phrasegen inspect` reports about a file: the facts a musician checks before using it.

use std::fmt;

use super::read::MidiFile;
use crate::phrase::TimeSignature;
use crate::scale::PITCH_CLASS_NAMES;

/// A description of one MIDI file.
#[derive(Clone, Debug, PartialEq)]
pub struct MidiSummary {
    pub format: u16,
    pub tracks: usize,
    pub ticks_per_quarter: u16,
    /// Distinct tempos in order of appearance, in BPM.
    pub tempos_bpm: Vec<f64>,
    /// Distinct time signatures in order of appearance.
    pub time_signatures: Vec<TimeSignature>,
    /// Length in bars, following time signature changes (a partial last bar counts).
    pub length_bars: u64,
    pub notes: usize,
    pub pitch_range: Option<(u8, u8)>,
    /// 1-based MIDI channels that carry notes.
    pub channels: Vec<u8>,
    pub unreleased_notes: usize,
}

impl MidiSummary {
    pub fn of(file: &MidiFile) -> Self {
        let mut tempos_bpm: Vec<f64> = Vec::new();
        for &(_, bpm) in &file.tempos {
            if !tempos_bpm.iter().any(|t| (t - bpm).abs() < 1e-6) {
                tempos_bpm.push(bpm);
            }
        }
        let mut time_signatures = Vec::new();
        for &(_, ts) in &file.time_signatures {
            if !time_signatures.contains(&ts) {
                time_signatures.push(ts);
            }
        }
        let mut channels: Vec<u8> = file.notes.iter().map(|n| n.channel + 1).collect();
        channels.sort_unstable();
        channels.dedup();
        let pitches = file.notes.iter().map(|n| n.pitch);
        let pitch_range = pitches.clone().min().zip(pitches.max());
        Self {
            format: file.format,
            tracks: file.track_count,
            ticks_per_quarter: file.ticks_per_quarter,
            tempos_bpm,
            time_signatures,
            length_bars: length_bars(file),
            notes: file.notes.len(),
            pitch_range,
            channels,
            unreleased_notes: file.unreleased_notes,
        }
    }
}

/// Walks the time signature map and counts bars up to the last event.
fn length_bars(file: &MidiFile) -> u64 {
    let tpq = f64::from(file.ticks_per_quarter);
    let mut bars = 0.0;
    let mut tick = 0u64;
    let mut ts = TimeSignature::FOUR_FOUR;
    for &(at, next) in &file.time_signatures {
        let at = at.min(file.end_tick);
        bars += (at - tick.min(at)) as f64 / tpq / ts.quarters_per_bar();
        tick = tick.max(at);
        ts = next;
    }
    bars += file.end_tick.saturating_sub(tick) as f64 / tpq / ts.quarters_per_bar();
    (bars - 1e-9).ceil().max(0.0) as u64
}

/// Note name such as `C4` (MIDI 60) or `F#5`.
pub fn pitch_name(pitch: u8) -> String {
    let name = PITCH_CLASS_NAMES[usize::from(pitch % 12)];
    format!("{name}{}", i32::from(pitch / 12) - 1)
}

impl fmt::Display for MidiSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: Vec<String>| {
            if v.is_empty() {
                "none (default)".to_string()
            } else {
                v.join(", ")
            }
        };
        writeln!(f, "  format:          {}", self.format)?;
        writeln!(f, "  tracks:          {}", self.tracks)?;
        writeln!(f, "  ticks/quarter:   {}", self.ticks_per_quarter)?;
        let tempos = self.tempos_bpm.iter().map(|t| format!("{t:.1} BPM"));
        writeln!(f, "  tempo:           {}", list(tempos.collect()))?;
        let meter = |t: &TimeSignature| format!("{}/{}", t.numerator, t.denominator);
        let meters = self.time_signatures.iter().map(meter);
        writeln!(f, "  time signature:  {}", list(meters.collect()))?;
        writeln!(f, "  length:          {} bars", self.length_bars)?;
        write!(f, "  notes:           {}", self.notes)?;
        if self.unreleased_notes > 0 {
            write!(f, " ({} never released)", self.unreleased_notes)?;
        }
        writeln!(f)?;
        match self.pitch_range {
            Some((lo, hi)) => writeln!(
                f,
                "  pitch range:     {}..{} (MIDI {lo}..{hi})",
                pitch_name(lo),
                pitch_name(hi)
            )?,
            None => writeln!(f, "  pitch range:     -")?,
        }
        let channels = self.channels.iter().map(u8::to_string);
        write!(f, "  channels:        {}", list(channels.collect()))
    }
}
