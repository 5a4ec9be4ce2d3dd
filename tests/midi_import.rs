//! MIDI import: the situations real files throw at us, and each broken file's message.

mod common;

use common::*;
use phrasegen::midi::{import_bytes, ImportOptions, MidiError, MidiFile, MidiSummary};
use phrasegen::phrase::{Note, TimeSignature};

/// Records the largest single allocation made on the measuring thread: "refused, not
/// allocated" is checked by what was allocated, not by a wall-clock budget.
mod largest_allocation {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static MEASURING: Cell<bool> = const { Cell::new(false) };
        static LARGEST: Cell<usize> = const { Cell::new(0) };
    }

    pub struct Recording;

    fn note(size: usize) {
        let _ = MEASURING.try_with(|m| {
            if m.get() {
                let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
            }
        });
    }

    // SAFETY: everything is passed on to the system allocator unchanged.
    unsafe impl GlobalAlloc for Recording {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Runs `f` and returns its result with the largest allocation it made on this thread.
    pub fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
        LARGEST.with(|l| l.set(0));
        MEASURING.with(|m| m.set(true));
        let r = f();
        MEASURING.with(|m| m.set(false));
        (r, LARGEST.with(Cell::get))
    }
}

#[global_allocator]
static ALLOCATOR: largest_allocation::Recording = largest_allocation::Recording;

fn notes_of(bytes: &[u8]) -> Vec<Note> {
    import_bytes(bytes, &ImportOptions::default())
        .unwrap()
        .phrase
        .notes
}

fn note(start: u32, pitch: u8, len: u32, vel: u8) -> Note {
    Note {
        start_step: start,
        pitch,
        length_steps: len,
        velocity: vel,
    }
}

#[test]
fn running_status_and_velocity_zero_note_off() {
    // Note on C4, then (running status) C4 velocity 0 = note off one quarter later.
    let t = track(&[ev(0, &[0x90, 60, 100]), ev(96, &[60, 0])].concat());
    assert_eq!(notes_of(&smf(0, 96, &[t])), vec![note(0, 60, 4, 100)]);
}

#[test]
fn tempo_map_and_time_signatures_are_read() {
    let conductor = track(
        &[
            ev(0, &[0xff, 0x51, 0x03, 0x07, 0xa1, 0x20]), // 120 BPM
            ev(0, &[0xff, 0x58, 0x04, 6, 3, 24, 8]),      // 6/8
            ev(192, &[0xff, 0x51, 0x03, 0x0f, 0x42, 0x40]), // 60 BPM
        ]
        .concat(),
    );
    let notes = track(&[ev(0, &[0x90, 64, 80]), ev(384, &[0x80, 64, 0])].concat());
    let bytes = smf(1, 96, &[conductor, notes]);
    let file = MidiFile::parse(&bytes).unwrap();
    let summary = MidiSummary::of(&file);
    assert_eq!(summary.tempos_bpm, vec![120.0, 60.0]);
    assert_eq!(summary.time_signatures[0].numerator, 6);
    assert_eq!(summary.time_signatures[0].denominator, 8);
    // 4 quarters in 6/8 (3 quarters a bar) = 2 bars (the second partial).
    assert_eq!(summary.length_bars, 2);
    let imported = import_bytes(&bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.phrase.tempo_bpm, 120.0);
    assert_eq!(imported.phrase.time_signature.numerator, 6);
    assert_eq!(imported.phrase.bars, 2);
    assert_eq!(imported.phrase.notes, vec![note(0, 64, 16, 80)]);
}

#[test]
fn bar_lines_follow_the_time_signature_map_through_a_short_bar() {
    // A 4/4 bar, a 1/4 bar, then 4/4 again (96 ticks per quarter, 4 steps per quarter):
    // the bar after the short one starts where the file says, not on the first bar's grid.
    let conductor = track(
        &[
            ev(0, &[0xff, 0x58, 0x04, 4, 2, 24, 8]),   // 4/4
            ev(384, &[0xff, 0x58, 0x04, 1, 2, 24, 8]), // 1/4
            ev(96, &[0xff, 0x58, 0x04, 4, 2, 24, 8]),  // 4/4
        ]
        .concat(),
    );
    let notes = track(&[ev(0, &[0x90, 64, 80]), ev(96 * 9, &[0x80, 64, 0])].concat());
    let imported = import_bytes(&smf(1, 96, &[conductor, notes]), &ImportOptions::default());
    let meters = imported.unwrap().meters;
    let four = TimeSignature::FOUR_FOUR;
    let quarter = TimeSignature {
        numerator: 1,
        denominator: 4,
    };
    assert_eq!(meters.at(15), (four, 15));
    assert_eq!(meters.at(16), (quarter, 0));
    assert_eq!(
        meters.at(20),
        (four, 0),
        "not step 4 of the first bar's grid"
    );
    assert_eq!(meters.at(35), (four, 15));
}

#[test]
fn overlapping_same_pitch_notes_pair_first_in_first_out() {
    // C4 on at 0, C4 on again at 1/2 quarter, offs at 1 and 2 quarters.
    let t = track(
        &[
            ev(0, &[0x90, 60, 100]),
            ev(48, &[0x90, 60, 90]),
            ev(48, &[0x80, 60, 0]),
            ev(96, &[0x80, 60, 0]),
        ]
        .concat(),
    );
    // FIFO: first note 0..4 steps, second 2..8; the second cuts the first at step 2.
    let imported = import_bytes(&smf(0, 96, &[t]), &ImportOptions::default()).unwrap();
    assert_eq!(
        imported.phrase.notes,
        vec![note(0, 60, 2, 100), note(2, 60, 6, 90)]
    );
}

#[test]
fn notes_never_released_close_at_track_end() {
    let t = track(&[ev(0, &[0x90, 60, 100]), ev(192, &[0xb0, 7, 100])].concat());
    let imported = import_bytes(&smf(0, 96, &[t]), &ImportOptions::default()).unwrap();
    assert_eq!(imported.unreleased_notes, 1);
    assert_eq!(imported.phrase.notes, vec![note(0, 60, 8, 100)]);
}

#[test]
fn several_tracks_and_channels_merge_and_drums_are_left_out_by_default() {
    let a = track(&[ev(0, &[0x90, 60, 100]), ev(96, &[0x80, 60, 0])].concat());
    let b = track(&[ev(0, &[0x93, 67, 100]), ev(96, &[0x83, 67, 0])].concat());
    let drums = track(&[ev(0, &[0x99, 36, 100]), ev(96, &[0x89, 36, 0])].concat());
    let bytes = smf(1, 96, &[a, b, drums]);
    let imported = import_bytes(&bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.skipped_drum_notes, 1);
    assert_eq!(
        imported.phrase.notes,
        vec![note(0, 60, 4, 100), note(0, 67, 4, 100)]
    );
    let keep = ImportOptions {
        keep_drums: true,
        ..ImportOptions::default()
    };
    assert_eq!(import_bytes(&bytes, &keep).unwrap().phrase.notes.len(), 3);
    let summary = MidiSummary::of(&MidiFile::parse(&bytes).unwrap());
    assert_eq!(summary.channels, vec![1, 4, 10]);
    assert_eq!(summary.tracks, 3);
    assert_eq!(summary.pitch_range, Some((36, 67)));
}

#[test]
fn short_notes_are_dropped_and_counted_with_a_configurable_minimum() {
    // A 32nd note (12 ticks at 96/quarter) and an eighth.
    let t = track(
        &[
            ev(0, &[0x90, 60, 100]),
            ev(0, &[0x90, 62, 100]),
            ev(12, &[0x80, 60, 0]),
            ev(36, &[0x80, 62, 0]),
        ]
        .concat(),
    );
    let bytes = smf(0, 96, &[t]);
    let imported = import_bytes(&bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.dropped_short_notes, 1);
    assert_eq!(imported.phrase.notes, vec![note(0, 62, 2, 100)]);
    let eighth_min = ImportOptions {
        min_note_quarters: 0.5,
        ..ImportOptions::default()
    };
    assert_eq!(
        import_bytes(&bytes, &eighth_min)
            .unwrap()
            .dropped_short_notes,
        1
    );
    let quarter_min = ImportOptions {
        min_note_quarters: 1.0,
        ..ImportOptions::default()
    };
    assert_eq!(
        import_bytes(&bytes, &quarter_min)
            .unwrap()
            .dropped_short_notes,
        2
    );
}

#[test]
fn off_grid_notes_snap_to_the_nearest_step() {
    // Starts a triplet-eighth in (32 ticks at 96/quarter = 1.33 steps), lasts a quarter.
    let t = track(&[ev(32, &[0x90, 60, 100]), ev(96, &[0x80, 60, 0])].concat());
    assert_eq!(notes_of(&smf(0, 96, &[t])), vec![note(1, 60, 4, 100)]);
}

/// The error of strict reading (what `inspect --strict` says); lenient reading recovers from
/// the faults below that leave something usable (tests/midi_lenient.rs).
fn err(bytes: &[u8]) -> String {
    let e = MidiFile::parse_strict(bytes).unwrap_err();
    e.to_string()
}

#[test]
fn empty_file_is_rejected_with_a_message() {
    assert_eq!(err(&[]), "not a Standard MIDI File: the file is empty");
    assert!(MidiFile::parse(&[]).is_err());
}

#[test]
fn header_only_file_is_rejected_as_holding_no_music() {
    for e in [
        MidiFile::parse(&header(1, 0, 96)).unwrap_err(),
        MidiFile::parse_strict(&header(1, 0, 96)).unwrap_err(),
    ] {
        assert!(matches!(e, MidiError::NoTracks), "{e}");
    }
}

#[test]
fn truncated_header_says_how_short() {
    let msg = err(&header(1, 1, 96)[..10]);
    assert!(msg.contains("header is cut short"), "{msg}");
    assert!(MidiFile::parse(&header(1, 1, 96)[..10]).is_err());
}

#[test]
fn truncated_track_names_track_and_byte() {
    let mut bytes = smf(0, 96, &[track(&ev(0, &[0x90, 60, 100]))]);
    bytes.truncate(bytes.len() - 3);
    let msg = err(&bytes);
    assert!(msg.contains("track 0"), "{msg}");
    assert!(msg.contains("byte 14"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    // Leniently the note-on before the cut is read, closed where the track ends.
    let file = MidiFile::parse(&bytes).unwrap();
    assert_eq!(file.notes.len(), 1);
    assert_eq!(file.unreleased_notes, 1);
    assert!(file.warnings[0].to_string().contains("truncated"));
}

#[test]
fn garbage_inside_a_track_names_the_event() {
    // A system common message, then data bytes that decode as nothing.
    let t = track(&[ev(0, &[0x90, 60, 100]), ev(0, &[0xf4, 0x01])].concat());
    let msg = err(&smf(0, 96, &[t]));
    assert!(msg.contains("track 0"), "{msg}");
    assert!(msg.contains("event 1"), "{msg}");
    assert!(
        msg.contains("system common message 0xF4 (undefined)"),
        "{msg}"
    );
}

#[test]
fn zero_ticks_per_quarter_is_rejected() {
    for e in [
        MidiFile::parse(&smf(0, 0, &[track(&[])])).unwrap_err(),
        MidiFile::parse_strict(&smf(0, 0, &[track(&[])])).unwrap_err(),
    ] {
        assert!(matches!(e, MidiError::ZeroTicksPerQuarter), "{e}");
    }
}

#[test]
fn format_2_strictly_and_smpte_are_rejected_clearly() {
    let e = MidiFile::parse_strict(&smf(2, 96, &[track(&[])])).unwrap_err();
    assert!(matches!(e, MidiError::Format2));
    // -25 fps, 40 ticks per frame.
    let division = ((-25i8 as u8 as u16) << 8) | 40;
    let e = MidiFile::parse(&smf(1, division, &[track(&[])])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "SMPTE time division (25 frames/s, 40 ticks/frame) is not supported; save the file with ticks per quarter note"
    );
}

#[test]
fn huge_delta_times_are_refused_not_allocated() {
    // The largest delta MIDI allows, at 24 ticks per quarter: ~11 million quarters.
    let t = track(&[ev(0, &[0x90, 60, 100]), ev(0x0fff_ffff, &[0x80, 60, 0])].concat());
    let bytes = smf(0, 24, &[t]);
    let (e, largest) = largest_allocation::measure(|| MidiFile::parse_strict(&bytes).unwrap_err());
    assert!(matches!(e, MidiError::TooLong { .. }), "{e}");
    assert!(largest < 1 << 20, "{largest} bytes allocated at once");
    // Leniently the track stops before the corrupt delta; the note is closed there.
    let (file, largest) = largest_allocation::measure(|| MidiFile::parse(&bytes).unwrap());
    assert!(largest < 1 << 20, "{largest} bytes allocated at once");
    assert_eq!(file.end_tick, 0);
    assert_eq!(file.unreleased_notes, 1);
    assert_eq!(
        file.warnings[0].to_string(),
        "track 0, event 1, byte 26: file is 11184810 quarter notes long (at tick 268435455); \
         PhraseGen reads at most 100000 (check for a corrupt delta time); the rest of the track \
         is skipped"
    );
    // A large but plausible delta at a fine resolution is read.
    let t = track(&[ev(0, &[0x90, 60, 100]), ev(0x0fff_ffff, &[0x80, 60, 0])].concat());
    let imported = import_bytes(&smf(0, 10080, &[t]), &ImportOptions::default()).unwrap();
    assert_eq!(imported.phrase.notes.len(), 1);
}

#[test]
fn a_file_with_zero_notes_reads_as_an_empty_phrase() {
    let t = track(&ev(0, &[0xff, 0x51, 0x03, 0x07, 0xa1, 0x20]));
    let imported = import_bytes(&smf(0, 96, &[t]), &ImportOptions::default()).unwrap();
    assert!(imported.phrase.notes.is_empty());
    assert_eq!(imported.phrase.bars, 1);
}

#[test]
fn ten_thousand_simultaneous_notes() {
    // 10,000 note-ons at tick 0 over the 128 pitches and 16 channels, all released at 1 quarter.
    let mut events = Vec::new();
    for i in 0..10_000u32 {
        events.extend(ev(0, &[0x90 | (i % 16) as u8, (i % 128) as u8, 100]));
    }
    for i in 0..10_000u32 {
        let delta = if i == 0 { 96 } else { 0 };
        events.extend(ev(delta, &[0x80 | (i % 16) as u8, (i % 128) as u8, 0]));
    }
    let bytes = smf(0, 96, &[track(&events)]);
    let file = MidiFile::parse(&bytes).unwrap();
    assert_eq!(file.notes.len(), 10_000);
    let keep = ImportOptions {
        keep_drums: true,
        ..ImportOptions::default()
    };
    let imported = import_bytes(&bytes, &keep).unwrap();
    // One note per pitch survives: a piano roll holds one note per pitch at a time.
    assert_eq!(imported.phrase.notes.len(), 128);
    assert_eq!(imported.merged_overlapping_notes, 10_000 - 128);
}

#[test]
fn missing_file_is_an_error_naming_the_path() {
    let e = phrasegen::midi::import_file(
        std::path::Path::new("/nonexistent/song.mid"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/song.mid"), "{e}");
}
