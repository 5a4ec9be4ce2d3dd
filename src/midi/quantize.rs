//! From ticks to the grid: snapping notes to steps, dropping the too-short ones, and making
//! each pitch a clean sequence of non-overlapping notes (what a piano roll can hold).

use super::read::MidiFile;
use super::{ImportOptions, ImportedPhrase};
use crate::meter::{detect_pickup_steps, MeterMap};
use crate::phrase::{Note, Phrase, TimeSignature};

/// General MIDI drums, 0-based.
pub const DRUM_CHANNEL: u8 = 9;

/// Quantizes a parsed file into a phrase.
pub fn quantize(file: &MidiFile, options: &ImportOptions) -> ImportedPhrase {
    let spq = u64::from(options.steps_per_quarter.max(1));
    let tpq = u64::from(file.ticks_per_quarter.max(1));
    let to_step = |tick: u64| ((tick * spq + tpq / 2) / tpq).min(u64::from(u32::MAX)) as u32;
    let min_ticks = options.min_note_quarters.max(0.0) * tpq as f64;

    let bars: Vec<(u32, TimeSignature)> = file
        .bars()
        .into_iter()
        .map(|(start, _, ts)| (to_step(start), ts))
        .collect();
    let mut report = ImportedPhrase {
        phrase: Phrase::default(),
        // A file shorter than a bar still has its metre.
        meters: match file.time_signatures.first() {
            Some(&(_, first)) if bars.is_empty() => MeterMap::constant(first, spq as u32),
            _ => MeterMap::from_bars(&bars, spq as u32),
        },
        key_signature: file.main_key_signature(),
        dropped_short_notes: 0,
        skipped_drum_notes: 0,
        merged_overlapping_notes: 0,
        unreleased_notes: file.unreleased_notes,
        warnings: file.warnings.clone(),
    };
    let mut notes = Vec::with_capacity(file.notes.len());
    for n in &file.notes {
        if n.channel == DRUM_CHANNEL && !options.keep_drums {
            report.skipped_drum_notes += 1;
            continue;
        }
        if ((n.end_tick - n.start_tick) as f64) < min_ticks - 1e-9 {
            report.dropped_short_notes += 1;
            continue;
        }
        let start_step = to_step(n.start_tick);
        let end_step = to_step(n.end_tick).max(start_step + 1);
        notes.push(Note {
            start_step,
            pitch: n.pitch,
            length_steps: end_step - start_step,
            velocity: n.velocity.clamp(1, 127),
        });
    }
    report.merged_overlapping_notes = resolve_overlaps(&mut notes);
    // Files rarely mark an opening pickup (see `meter`): it is found from the notes.
    let pickup = detect_pickup_steps(&notes, report.meters.first_meter(), spq as u32);
    report.meters = report.meters.clone().with_pickup(pickup);

    let tempo_bpm = file.tempos.first().map_or(120.0, |t| t.1);
    let time_signature = file
        .time_signatures
        .first()
        .map_or(TimeSignature::FOUR_FOUR, |t| t.1);
    let mut phrase = Phrase::empty(1, spq as u32, time_signature, tempo_bpm);
    phrase.notes = notes;
    let file_steps = to_step(file.end_tick);
    phrase.bars = phrase
        .bars_needed()
        .max(file_steps.div_ceil(phrase.steps_per_bar()));
    report.phrase = phrase;
    report
}

/// Makes notes of one pitch non-overlapping: a note that starts while another of the same
/// pitch sounds cuts the earlier one short; two starting on the same step become one (the
/// longer). Returns how many notes were merged away. Leaves `notes` sorted.
pub fn resolve_overlaps(notes: &mut Vec<Note>) -> usize {
    notes.sort_by_key(|n| (n.pitch, n.start_step, std::cmp::Reverse(n.length_steps)));
    let before = notes.len();
    let mut out: Vec<Note> = Vec::with_capacity(notes.len());
    for note in notes.drain(..) {
        if let Some(prev) = out.last_mut() {
            if prev.pitch == note.pitch && note.start_step < prev.end_step() {
                if note.start_step == prev.start_step {
                    continue;
                }
                prev.length_steps = note.start_step - prev.start_step;
            }
        }
        out.push(note);
    }
    let merged = before - out.len();
    out.sort_unstable();
    *notes = out;
    merged
}
