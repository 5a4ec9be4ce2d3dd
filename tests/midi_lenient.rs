//! Lenient MIDI import: each fault other readers recover from, built by hand into a file that
//! holds a C major scale, must give back exactly that scale and say what was repaired, where.
//! Strict reading rejects every one of them; files with nothing usable stay errors.

mod common;

use common::*;
use phrasegen::midi::{import_bytes, ImportOptions, MidiError, MidiFile};
use phrasegen::phrase::Note;

const SCALE: [u8; 8] = [60, 62, 64, 65, 67, 69, 71, 72];
/// Where the first track's events start in a file built by `smf`: header 14 + chunk header 8.
const FIRST_TRACK_DATA: usize = 22;

/// The scale at 96 ticks per quarter, a quarter note each: note-on, then note-off.
fn scale_events(pitches: &[u8]) -> Vec<Vec<u8>> {
    pitches
        .iter()
        .flat_map(|&p| [ev(0, &[0x90, p, 100]), ev(96, &[0x80, p, 0])])
        .collect()
}

/// The scale on the grid (4 steps per quarter).
fn scale_notes() -> Vec<Note> {
    SCALE
        .iter()
        .zip(0u32..)
        .map(|(&pitch, i)| Note {
            start_step: i * 4,
            pitch,
            length_steps: 4,
            velocity: 100,
        })
        .collect()
}

/// 100 BPM in 3/4: proves a conductor track around a repaired chunk is still read.
fn conductor() -> Vec<u8> {
    track(
        &[
            ev(0, &[0xff, 0x51, 0x03, 0x09, 0x27, 0xc0]),
            ev(0, &[0xff, 0x58, 0x04, 3, 2, 24, 8]),
        ]
        .concat(),
    )
}

/// Byte offset of event `index` of a format 0 file's only track.
fn offset_of(events: &[Vec<u8>], index: usize) -> usize {
    FIRST_TRACK_DATA + events[..index].iter().map(Vec::len).sum::<usize>()
}

/// Reads leniently: the notes and the warnings as printed. Also checks strict reading
/// refuses the file, so every fault here is one `--strict` still reports.
fn read_leniently(bytes: &[u8]) -> (Vec<Note>, Vec<String>) {
    assert!(MidiFile::parse_strict(bytes).is_err(), "strict must refuse");
    let imported = import_bytes(bytes, &ImportOptions::default()).unwrap();
    let warnings = imported.warnings.iter().map(ToString::to_string).collect();
    (imported.phrase.notes, warnings)
}

#[test]
fn the_clean_scale_reads_without_warnings() {
    let bytes = smf(0, 96, &[track(&scale_events(&SCALE).concat())]);
    let imported = import_bytes(&bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.phrase.notes, scale_notes());
    assert!(imported.warnings.is_empty());
    assert!(MidiFile::parse_strict(&bytes).is_ok());
}

#[test]
fn system_messages_inside_a_track_are_skipped_with_their_data_bytes() {
    let mut events = scale_events(&SCALE);
    // Inserted back to front so earlier indices stay put.
    events.insert(12, ev(0, &[0xfe])); // active sensing
    events.insert(8, ev(0, &[0xf6])); // tune request
    events.insert(6, ev(0, &[0xf2, 0x10, 0x20])); // song position, 2 data bytes
    events.insert(4, ev(0, &[0xf1, 0x31])); // time code quarter frame, 1 data byte
    events.insert(2, ev(0, &[0xf8])); // timing clock
    let at = |i| offset_of(&events, i);
    let (notes, warnings) = read_leniently(&smf(0, 96, &[track(&events.concat())]));
    assert_eq!(notes, scale_notes());
    assert_eq!(
        warnings,
        vec![
            format!("track 0, event 2, byte {}: system real-time message 0xF8 (timing clock) does not belong in a MIDI file; skipped (2 bytes)", at(2)),
            format!("track 0, event 5, byte {}: system common message 0xF1 (time code quarter frame) does not belong in a MIDI file; skipped (3 bytes)", at(5)),
            format!("track 0, event 8, byte {}: system common message 0xF2 (song position) does not belong in a MIDI file; skipped (4 bytes)", at(8)),
            format!("track 0, event 11, byte {}: system common message 0xF6 (tune request) does not belong in a MIDI file; skipped (2 bytes)", at(11)),
            format!("track 0, event 16, byte {}: system real-time message 0xFE (active sensing) does not belong in a MIDI file; skipped (2 bytes)", at(16)),
        ]
    );
}

#[test]
fn the_delta_time_of_a_skipped_message_is_kept() {
    // A clock byte half-way through the first note: the note-off must stay at one quarter.
    let mut events = scale_events(&SCALE);
    events.splice(1..2, [ev(48, &[0xf8]), ev(48, &[0x80, SCALE[0], 0])]);
    let (notes, warnings) = read_leniently(&smf(0, 96, &[track(&events.concat())]));
    assert_eq!(notes, scale_notes());
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("track 0, event 1, byte 26: system real-time message 0xF8"));
}

#[test]
fn running_status_continued_across_a_meta_or_sysex_event_applies_the_last_channel_status() {
    let mut events = scale_events(&SCALE);
    // The note-offs of E4 and A4 as bare data bytes after a text meta event and a SysEx:
    // velocity-0 note-ons under the running status 0x90.
    events[11] = ev(96, &[SCALE[5], 0]);
    events.insert(11, ev(0, &[0xf0, 0x03, 0x7e, 0x09, 0xf7]));
    events[5] = ev(96, &[SCALE[2], 0]);
    events.insert(5, ev(0, &[0xff, 0x01, 0x03, b'a', b'b', b'c']));
    let at = |i| offset_of(&events, i);
    let (notes, warnings) = read_leniently(&smf(0, 96, &[track(&events.concat())]));
    assert_eq!(notes, scale_notes());
    assert_eq!(
        warnings,
        vec![
            format!("track 0, event 6, byte {}: data byte 0x40 without a status byte after a meta or SysEx event; the last channel status 0x90 applied", at(6)),
            format!("track 0, event 13, byte {}: data byte 0x45 without a status byte after a meta or SysEx event; the last channel status 0x90 applied", at(13)),
        ]
    );
}

/// A format 1 file: the conductor, then the scale; `edit` changes the bytes.
fn two_track_file(edit: impl FnOnce(&mut Vec<u8>, usize, usize)) -> Vec<u8> {
    let conductor = conductor();
    let notes = track(&scale_events(&SCALE).concat());
    let (conductor_len, notes_len) = (conductor.len() - 8, notes.len() - 8);
    let mut bytes = smf(1, 96, &[conductor, notes]);
    edit(&mut bytes, conductor_len, notes_len);
    bytes
}

fn set_chunk_len(bytes: &mut [u8], chunk_offset: usize, len: usize) {
    bytes[chunk_offset + 4..chunk_offset + 8].copy_from_slice(&(len as u32).to_be_bytes());
}

fn assert_scale_at_100_bpm_in_3_4(bytes: &[u8]) -> Vec<String> {
    assert!(MidiFile::parse_strict(bytes).is_err(), "strict must refuse");
    let imported = import_bytes(bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.phrase.notes, scale_notes());
    assert_eq!(imported.phrase.tempo_bpm, 100.0);
    assert_eq!(imported.phrase.time_signature.numerator, 3);
    imported.warnings.iter().map(ToString::to_string).collect()
}

#[test]
fn a_track_length_one_byte_too_long_or_too_short_is_read_to_its_end_of_track() {
    for wrong in [1isize, -1] {
        // The conductor chunk (the first, at byte 14), then the last chunk.
        let bytes =
            two_track_file(|b, len, _| set_chunk_len(b, 14, (len as isize + wrong) as usize));
        let real_end = FIRST_TRACK_DATA + conductor().len() - 8;
        let declared = (conductor().len() - 8) as isize + wrong;
        assert_eq!(
            assert_scale_at_100_bpm_in_3_4(&bytes),
            vec![format!(
                "track 0, byte 14: track chunk declares {declared} bytes, but its end-of-track ends after {} (at byte {real_end}); read as {} bytes",
                conductor().len() - 8,
                conductor().len() - 8
            )]
        );

        let notes_chunk = 14 + conductor().len();
        let bytes = two_track_file(|b, _, len| {
            set_chunk_len(b, notes_chunk, (len as isize + wrong) as usize)
        });
        let notes_len = bytes.len() - notes_chunk - 8;
        assert_eq!(
            assert_scale_at_100_bpm_in_3_4(&bytes),
            vec![format!(
                "track 1, byte {notes_chunk}: track chunk declares {} bytes, but its end-of-track ends after {notes_len} (at byte {}); read as {notes_len} bytes",
                notes_len as isize + wrong,
                bytes.len()
            )]
        );
    }
}

#[test]
fn a_missing_last_byte_keeps_the_events_before_it() {
    let mut bytes = two_track_file(|_, _, _| {});
    bytes.pop(); // the length byte of the end-of-track event
    let notes_chunk = 14 + conductor().len();
    let notes_len = bytes.len() + 1 - notes_chunk - 8;
    let end_of_track = bytes.len() - 3;
    assert_eq!(
        assert_scale_at_100_bpm_in_3_4(&bytes),
        vec![
            format!("track 1, byte {notes_chunk}: chunk declares {notes_len} bytes but only {} remain: the file is truncated; reading what is there", notes_len - 1),
            format!("track 1, event 16, byte {end_of_track}: cannot decode event: meta event 0x2F has no complete length (cut off, or longer than 4 bytes); the rest of the track (3 bytes) is skipped"),
        ]
    );
}

#[test]
fn a_missing_end_of_track_keeps_the_events() {
    let events = scale_events(&SCALE).concat();
    let mut bytes = header(0, 1, 96);
    bytes.extend(b"MTrk");
    bytes.extend((events.len() as u32).to_be_bytes());
    bytes.extend(&events);
    let (notes, warnings) = read_leniently_allowing_strict(&bytes);
    assert_eq!(notes, scale_notes());
    assert_eq!(
        warnings,
        vec![format!(
            "track 0, event 16, byte {}: the track ends without an end-of-track event; its events are read",
            bytes.len()
        )]
    );
}

/// Strict reading has always accepted a track without an end-of-track event.
fn read_leniently_allowing_strict(bytes: &[u8]) -> (Vec<Note>, Vec<String>) {
    let strict = MidiFile::parse_strict(bytes).unwrap();
    assert!(strict.warnings.is_empty());
    let imported = import_bytes(bytes, &ImportOptions::default()).unwrap();
    let warnings = imported.warnings.iter().map(ToString::to_string).collect();
    (imported.phrase.notes, warnings)
}

#[test]
fn stray_bytes_between_chunks_or_at_the_end_are_skipped() {
    let stray_at = 14 + conductor().len();
    let bytes = two_track_file(|b, _, _| {
        b.splice(stray_at..stray_at, [0xde, 0xad, 0x00]);
    });
    assert_eq!(
        assert_scale_at_100_bpm_in_3_4(&bytes),
        vec![format!(
            "track 1, byte {stray_at}: expected a track chunk (`MTrk`), found bytes [de, ad, 00, 4d]; 3 stray byte(s) skipped up to the track chunk at byte {}",
            stray_at + 3
        )]
    );

    let mut bytes = two_track_file(|_, _, _| {});
    let end = bytes.len();
    bytes.extend([0x12, 0x34]);
    assert_eq!(
        assert_scale_at_100_bpm_in_3_4(&bytes),
        vec![format!(
            "track 2, byte {end}: 2 stray bytes where a chunk header (8 bytes) should be; the last 2 byte(s) of the file are ignored"
        )]
    );
}

#[test]
fn format_2_sequences_are_read_one_after_another() {
    let first = track(&scale_events(&SCALE[..4]).concat());
    let second = track(&scale_events(&SCALE[4..]).concat());
    let bytes = smf(2, 96, &[first, second]);
    let e = MidiFile::parse_strict(&bytes).unwrap_err();
    assert!(matches!(e, MidiError::Format2), "{e}");
    let imported = import_bytes(&bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.phrase.notes, scale_notes());
    assert_eq!(
        imported
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![
            "byte 8: format 2 (independent sequences): the 2 sequences are read one after another"
        ]
    );
    assert_eq!(MidiFile::parse(&bytes).unwrap().format, 2);
}

#[test]
fn thousands_of_faults_keep_a_bounded_list_of_warnings() {
    let mut events = vec![ev(0, &[0xf8]); 5000];
    events.extend(scale_events(&SCALE));
    let imported = import_bytes(
        &smf(0, 96, &[track(&events.concat())]),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(imported.phrase.notes, scale_notes());
    assert_eq!(
        imported.warnings.len(),
        phrasegen::midi::error::MAX_WARNINGS + 1
    );
    assert_eq!(
        imported.warnings.last().unwrap().to_string(),
        format!(
            "file: {} more warnings not listed",
            5000 - phrasegen::midi::error::MAX_WARNINGS
        )
    );
}

fn lenient_err(bytes: &[u8]) -> MidiError {
    MidiFile::parse(bytes).unwrap_err()
}

#[test]
fn files_with_nothing_usable_are_still_rejected() {
    assert_eq!(
        lenient_err(b"RIFF\0\0\0\0RMIDdata").to_string(),
        "not a Standard MIDI File: the file does not start with the `MThd` header chunk"
    );
    assert_eq!(
        lenient_err(&[]).to_string(),
        "not a Standard MIDI File: the file is empty"
    );
    assert!(matches!(
        lenient_err(&header(1, 0, 96)),
        MidiError::NoTracks
    ));
    assert!(matches!(
        lenient_err(&smf(0, 0, &[track(&scale_events(&SCALE).concat())])),
        MidiError::ZeroTicksPerQuarter
    ));
    // A track of bare data bytes: nothing decodes.
    let mut bytes = header(0, 1, 96);
    bytes.extend(b"MTrk\0\0\0\x03\x3c\x40\x00");
    assert_eq!(
        lenient_err(&bytes).to_string(),
        "none of the 1 track chunk(s) holds an event that decodes (first problem: track 0, \
         event 0, byte 22: cannot decode event: data byte 0x40 without a status byte and no \
         running status; the rest of the track (3 bytes) is skipped)"
    );
}

#[test]
fn the_trainer_uses_files_read_with_warnings_and_counts_them_apart() {
    let dir = tempfile::tempdir().unwrap();
    let clean = smf(0, 96, &[track(&scale_events(&SCALE).concat())]);
    let mut events = scale_events(&SCALE);
    events.insert(2, ev(0, &[0xf8]));
    let repaired = smf(0, 96, &[track(&events.concat())]);
    for (name, bytes) in [
        ("a.mid", &clean),
        ("b.mid", &repaired),
        ("c.mid", &Vec::new()),
    ] {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let data = phrasegen::train::Dataset::load(dir.path(), &Default::default());
    assert_eq!(data.train.rolls.len() + data.test.rolls.len(), 2);
    assert_eq!(data.skipped.len(), 1);
    assert!(data.skipped[0].0.ends_with("c.mid"));
    assert_eq!(data.read_with_warnings.len(), 1);
    assert!(data.read_with_warnings[0].0.ends_with("b.mid"));
    assert!(data.read_with_warnings[0].1[0]
        .to_string()
        .contains("0xF8 (timing clock)"));
}

#[test]
fn generate_uses_a_primer_read_with_warnings_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = scale_events(&SCALE);
    events.insert(2, ev(0, &[0xf8]));
    let primer = dir.path().join("primer.mid");
    std::fs::write(&primer, smf(0, 96, &[track(&events.concat())])).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .args(["generate", "--bars", "2", "--seed", "1", "-o"])
        .arg(dir.path().join("out.mid"))
        .arg("--primer")
        .arg(&primer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "primer {}: warning: track 0, event 2, byte 30: system real-time message 0xF8",
            primer.display()
        )),
        "{stderr}"
    );
    assert!(dir.path().join("out.mid").exists());
}

#[test]
fn warnings_are_listed_in_file_order() {
    // A clock byte in the first track, stray bytes after it: the chunk scan finds the stray
    // bytes first, but the list follows the file.
    let mut events = scale_events(&SCALE[..4]);
    events.insert(2, ev(0, &[0xf8]));
    let first = track(&events.concat());
    let stray_at = 14 + first.len();
    let second = track(&scale_events(&SCALE[4..]).concat());
    let mut bytes = smf(2, 96, &[first, second]);
    bytes.splice(stray_at..stray_at, [0x01]);
    let imported = import_bytes(&bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.phrase.notes, scale_notes());
    let offsets: Vec<_> = imported
        .warnings
        .iter()
        .map(|w| w.location.byte_offset.unwrap())
        .collect();
    assert_eq!(offsets, vec![8, FIRST_TRACK_DATA + 8, stray_at]);
}
