//! `phrasegen stats`: every metric on small hand-made phrases with known answers, histogram
//! overlap, segmenting real pieces on bar lines, and the command's determinism and errors.

mod common;

use std::path::Path;
use std::process::Command;

use phrasegen::key::Mode;
use phrasegen::meter::MeterMap;
use phrasegen::phrase::{Note, Phrase, TimeSignature};
use phrasegen::stats::segment::{cut_segments, segment_file};
use phrasegen::stats::{histogram_overlap, Passage, PassageStats};

use common::*;

fn note(start: u32, pitch: u8, len: u32) -> Note {
    Note {
        start_step: start,
        pitch,
        length_steps: len,
        velocity: 90,
    }
}

/// A 4/4 phrase on the sixteenth grid.
fn phrase(bars: u32, notes: &[Note]) -> Phrase {
    let mut p = Phrase::empty(bars, 4, TimeSignature::FOUR_FOUR, 120.0);
    p.notes = notes.to_vec();
    p.sort_notes();
    p
}

fn stats(bars: u32, notes: &[Note]) -> PassageStats {
    PassageStats::of(&Passage::from_phrase(&phrase(bars, notes)))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Four-voice chords of `len` steps, one after the other from step 0.
fn chords(chords: &[[u8; 4]], len: u32) -> Vec<Note> {
    chords
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.iter().map(move |&p| note(i as u32 * len, p, len)))
        .collect()
}

#[test]
fn a_c_major_scale_in_quarter_notes() {
    let scale = [60, 62, 64, 65, 67, 69, 71, 72];
    let notes: Vec<Note> = scale
        .iter()
        .enumerate()
        .map(|(i, &p)| note(i as u32 * 4, p, 4))
        .collect();
    let s = stats(2, &notes);
    assert_eq!(s.notes, 8);
    assert!(close(s.notes_per_bar, 4.0));
    assert_eq!(s.mean_note_beats, Some(1.0));
    assert_eq!(s.pitch_range_semitones, Some(12.0));
    assert_eq!((s.distinct_pitches, s.distinct_pitch_classes), (8, 7));
    // C twice in eight notes, six classes once: 0.25*2 + 6 * 0.125*3 = 2.75 bits.
    assert!(close(s.pitch_class_entropy_bits.unwrap(), 2.75));
    assert_eq!(s.polyphony, Some(1.0));
    assert_eq!(s.voice_shares, [1.0, 0.0, 0.0, 0.0]);
    assert_eq!(s.max_polyphony, 1);
    assert_eq!((s.empty_beat_rate, s.longest_silence_beats), (0.0, 0.0));
    assert!(!s.has_silent_bar);
    assert_eq!(s.onsets_on_beat, Some(1.0));
    assert_eq!(s.onsets_on_sixteenths, Some(1.0));
    let key = s.key.unwrap();
    assert_eq!((key.tonic, key.mode), (0, Mode::Major));
    assert_eq!(s.in_key, Some(1.0));
    assert!(!s.repeats_a_bar);
    assert_eq!(s.parallel_fifths_per_change, None, "no four-voice music");

    // One chromatic note among nine: the key stays C major, 8 of 9 notes in it.
    let mut with_c_sharp = notes.clone();
    with_c_sharp.push(note(32, 61, 4));
    let s = stats(3, &with_c_sharp);
    assert_eq!(s.key.unwrap().name(), "C major");
    assert!(close(s.in_key.unwrap(), 8.0 / 9.0));
}

#[test]
fn a_held_four_voice_chord_struck_again_in_the_next_bar() {
    let notes = chords(&[[48, 55, 64, 72], [48, 55, 64, 72]], 16);
    let s = stats(2, &notes);
    assert!(close(s.notes_per_bar, 4.0));
    assert_eq!(s.mean_note_beats, Some(4.0));
    assert_eq!(s.pitch_range_semitones, Some(24.0));
    assert_eq!(s.polyphony, Some(4.0));
    assert_eq!(s.voice_shares, [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(s.max_polyphony, 4);
    assert!(s.repeats_a_bar, "bar 2 is bar 1 again");
    assert_eq!(s.repeats_bar_before, Some(1.0));
    // Striking the same chord again is not a chord change.
    assert_eq!(s.parallel_fifths_per_change, None);
    // Held through instead of struck again: bar 2 has no onsets, so it is not bar 1.
    let held = stats(2, &chords(&[[48, 55, 64, 72]], 32));
    assert!(!held.repeats_a_bar);
    assert_eq!(held.repeats_bar_before, Some(0.0));
    assert_eq!(held.polyphony, Some(4.0));
    // A A B A: bar 2 repeats the bar before; bar 4 repeats bar 1, but not the bar before.
    let aaba = chords(
        &[
            [48, 55, 64, 72],
            [48, 55, 64, 72],
            [50, 57, 65, 74],
            [48, 55, 64, 72],
        ],
        16,
    );
    let s = stats(4, &aaba);
    assert!(s.repeats_a_bar);
    assert!(close(s.repeats_bar_before.unwrap(), 1.0 / 3.0));
}

#[test]
fn a_syncopated_line_sits_off_the_beat() {
    // Eighth, then notes tied over the beats, the last a sixteenth late.
    let notes = [
        note(0, 60, 2),
        note(2, 62, 4),
        note(6, 64, 4),
        note(10, 65, 3),
        note(13, 67, 3),
    ];
    let s = stats(1, &notes);
    assert_eq!(s.onsets_on_beat, Some(1.0 / 5.0));
    assert_eq!(s.onsets_on_eighths, Some(4.0 / 5.0));
    assert_eq!(s.onsets_on_sixteenths, Some(1.0));
    assert!(close(s.mean_note_beats.unwrap(), 16.0 / 5.0 / 4.0));
    assert_eq!(s.empty_beat_rate, 0.0);
    assert_eq!(s.polyphony, Some(1.0));
}

#[test]
fn a_bar_of_rest_and_a_half_bar_of_rest() {
    let s = stats(3, &[note(0, 60, 16), note(32, 67, 16)]);
    assert!(close(s.empty_beat_rate, 4.0 / 12.0));
    assert_eq!(s.longest_silence_beats, 4.0);
    assert!(s.has_silent_bar);
    assert!(close(s.voice_shares[0], 2.0 / 3.0));
    assert_eq!(s.polyphony, Some(1.0), "silence does not lower polyphony");

    // Silence that crosses the bar line but fills no bar.
    let s = stats(2, &[note(0, 60, 8), note(24, 60, 8)]);
    assert!(close(s.empty_beat_rate, 0.5));
    assert_eq!(s.longest_silence_beats, 4.0);
    assert!(!s.has_silent_bar);
    // A silent phrase: nothing defined that needs notes, everything empty.
    let s = stats(2, &[]);
    assert_eq!((s.empty_beat_rate, s.longest_silence_beats), (1.0, 8.0));
    assert_eq!(
        (s.polyphony, s.pitch_range_semitones, s.in_key),
        (None, None, None)
    );
    assert!(!s.repeats_a_bar, "two silent bars are not a repeat");
    assert_eq!(
        s.repeats_bar_before, None,
        "no sounding bar follows another"
    );
}

#[test]
fn parallel_fifths_and_octaves_are_counted_and_a_clean_cadence_has_none() {
    // C-G-E-C up a whole tone: bass and tenor in fifths, bass and soprano in octaves.
    let s = stats(1, &chords(&[[48, 55, 64, 72], [50, 57, 65, 74]], 8));
    assert_eq!(s.parallel_fifths_per_change, Some(1.0));
    assert_eq!(s.parallel_octaves_per_change, Some(1.0));
    // I - IV - V - I in C, textbook voice leading: three changes, no parallels.
    let cadence = [
        [48, 64, 67, 72],
        [53, 65, 69, 72],
        [55, 62, 67, 71],
        [48, 64, 67, 72],
    ];
    let s = stats(1, &chords(&cadence, 4));
    assert_eq!(s.parallel_fifths_per_change, Some(0.0));
    assert_eq!(s.parallel_octaves_per_change, Some(0.0));
    // Fifths by contrary motion (C3-G3 to F2-C4) are not parallel.
    let s = stats(1, &chords(&[[48, 55, 64, 72], [41, 60, 65, 69]], 8));
    assert_eq!(s.parallel_fifths_per_change, Some(0.0));
}

#[test]
fn histogram_overlap_of_identical_disjoint_and_half_shared_samples() {
    let a = [1.0, 2.0, 2.0, 3.5, 7.0];
    assert!(close(histogram_overlap(&a, &a).unwrap(), 1.0));
    assert!(close(histogram_overlap(&[5.0; 4], &[5.0; 9]).unwrap(), 1.0));
    assert_eq!(
        histogram_overlap(&[1.0, 2.0, 3.0], &[10.0, 11.0]),
        Some(0.0)
    );
    assert!(close(
        histogram_overlap(&[0.0, 1.0], &[0.0, 0.0]).unwrap(),
        0.5
    ));
    assert_eq!(histogram_overlap(&[], &a), None);
}

/// A format-1 file at 96 ticks per quarter: a conductor track with these time signatures
/// `(tick, numerator, denominator power)` and one quarter note on every beat up to `ticks`.
fn metered_file(signatures: &[(u32, u8, u8)], ticks: u32) -> Vec<u8> {
    let mut conductor = Vec::new();
    let mut at = 0;
    for &(tick, num, den_pow) in signatures {
        conductor.extend(ev(tick - at, &[0xff, 0x58, 0x04, num, den_pow, 24, 8]));
        at = tick;
    }
    conductor.extend(ev(ticks - at, &[0xff, 0x01, 0x01, b'x']));
    let mut notes = Vec::new();
    for _ in 0..ticks / 96 {
        notes.extend(ev(0, &[0x90, 60, 100]));
        notes.extend(ev(96, &[0x80, 60, 0]));
    }
    smf(1, 96, &[track(&conductor), track(&notes)])
}

#[test]
fn real_pieces_are_cut_into_whole_bars_closest_to_the_phrase_length() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    // 6/8 (3 quarters a bar), 40 bars: 11 bars (33 quarters) are closest to 32.
    let six_eight = write("jig.mid", metered_file(&[(0, 6, 3)], 40 * 3 * 96));
    let segments = segment_file(&six_eight, 32.0, 0.25).unwrap();
    assert_eq!(segments.len(), 3, "40 bars hold three segments of 11");
    for s in &segments {
        assert_eq!(s.length_steps, 33 * 12);
        assert_eq!(s.bar_starts.len(), 11);
        assert_eq!(s.notes.len(), 33);
        assert_eq!(
            s.meter,
            TimeSignature {
                numerator: 6,
                denominator: 8
            },
            "each segment knows its metre"
        );
    }
    // 2/4, 33 bars: two segments of 16 bars, the last bar left over.
    let two_four = write("reel.mid", metered_file(&[(0, 2, 2)], 33 * 2 * 96));
    let segments = segment_file(&two_four, 32.0, 0.25).unwrap();
    assert_eq!(segments.len(), 2);
    assert!(segments.iter().all(|s| s.bar_starts.len() == 16));
    assert!(segments.iter().all(|s| s.meter
        == TimeSignature {
            numerator: 2,
            denominator: 4
        }));
    // A one-eighth pickup, then 4/4: the pickup is a bar of its own.
    let pickup = write(
        "pickup.mid",
        metered_file(&[(0, 1, 3), (48, 4, 2)], 48 + 8 * 4 * 96),
    );
    let segments = segment_file(&pickup, 32.0, 0.25).unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0].bar_starts[..2], [0, 6]);
    assert_eq!(
        segments[0].length_steps,
        6 + 8 * 48,
        "pickup + 8 bars is closest"
    );
    // Too short for one segment: nothing.
    let short = write("short.mid", metered_file(&[(0, 4, 2)], 4 * 4 * 96));
    assert!(segment_file(&short, 32.0, 0.25).unwrap().is_empty());
}

#[test]
fn segments_start_on_the_first_downbeat_after_an_unmarked_pickup() {
    // 4/4 from tick 0 as written, but the tune opens with a quarter-note pickup: each bar
    // after it is a half note and two quarters, 9 of them, then the pickup's missing beats.
    let mut notes = ev(0, &[0x90, 67, 100]);
    notes.extend(ev(96, &[0x80, 67, 0]));
    for _ in 0..9 {
        for (pitch, ticks) in [(72u8, 192u32), (71, 96), (69, 96)] {
            notes.extend(ev(0, &[0x90, pitch, 100]));
            notes.extend(ev(ticks, &[0x80, pitch, 0]));
        }
    }
    notes.extend(ev(0, &[0x90, 67, 100]));
    notes.extend(ev(288, &[0x80, 67, 0]));
    let conductor = ev(0, &[0xff, 0x58, 0x04, 4, 2, 24, 8]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pickup.mid");
    std::fs::write(&path, smf(1, 96, &[track(&conductor), track(&notes)])).unwrap();
    let segments = segment_file(&path, 32.0, 0.25).unwrap();
    assert_eq!(segments.len(), 1);
    let first = &segments[0];
    assert_eq!(first.bar_starts[..3], [0, 48, 96]);
    // The segment opens on the downbeat's half note, not on the pickup.
    assert_eq!(
        (first.notes[0].pitch, first.notes[0].length_steps),
        (72, 24)
    );
    assert!(first.held_in.is_empty());
    // Every half note is on a bar line.
    assert!(first
        .notes
        .iter()
        .filter(|n| n.length_steps == 24)
        .all(|n| first.bar_starts.contains(&n.start_step)));
}

#[test]
fn cutting_prefers_fewer_bars_on_a_tie_and_keeps_only_complete_segments() {
    let notes = [note(0, 60, 4)];
    // Bars of 3 steps, target 6: two bars exactly.
    let bars: Vec<(u32, u32)> = (0..7).map(|b| (b * 3, b * 3 + 3)).collect();
    let segs = cut_segments(
        &notes,
        &MeterMap::constant(TimeSignature::FOUR_FOUR, 4),
        &bars,
        6,
    );
    assert_eq!(segs.len(), 3, "7 bars of 3 hold three segments of 2 bars");
    // Bars of 2 and target 3: 1 bar (2) and 2 bars (4) are both 1 off; the shorter wins.
    let bars: Vec<(u32, u32)> = (0..3).map(|b| (b * 2, b * 2 + 2)).collect();
    let segs = cut_segments(
        &notes,
        &MeterMap::constant(TimeSignature::FOUR_FOUR, 4),
        &bars,
        3,
    );
    assert_eq!(segs.len(), 3);
    assert!(segs.iter().all(|s| s.length_steps == 2));
}

/// A folder the stats command can read: `test/` with two 4/4 pieces of 4 bars each (and
/// empty `train/` and `valid/`).
fn fixture_folder(root: &Path) {
    for split in ["train", "valid"] {
        std::fs::create_dir_all(root.join(split)).unwrap();
    }
    let test = root.join("test");
    std::fs::create_dir_all(&test).unwrap();
    let pieces = [
        vec![
            note(0, 60, 4),
            note(4, 64, 4),
            note(8, 67, 8),
            note(16, 72, 16),
        ],
        vec![
            note(0, 62, 8),
            note(8, 65, 2),
            note(10, 69, 6),
            note(16, 62, 16),
        ],
    ];
    for (i, notes) in pieces.iter().enumerate() {
        let mut p = phrase(4, notes);
        p.notes.extend(notes.iter().map(|n| Note {
            start_step: n.start_step + 32,
            ..*n
        }));
        let bytes = phrasegen::midi::export_bytes(&p, "fixture");
        std::fs::write(test.join(format!("piece{i}.mid")), bytes).unwrap();
    }
}

fn phrasegen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_same_command_prints_the_same_table() {
    let dir = tempfile::tempdir().unwrap();
    fixture_folder(dir.path());
    let data = dir.path().to_str().unwrap();
    let json = dir.path().join("stats.json");
    let args = [
        "stats",
        "--model",
        "fiddle-tunes",
        "--data",
        data,
        "--phrases",
        "4",
        "--bars",
        "2",
        "--temperature",
        "0.8",
        "1.2",
        "--json",
        json.to_str().unwrap(),
    ];
    let first = phrasegen(&args);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    let table = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(table.contains("test split: 2 files, 4 segments"), "{table}");
    for wanted in [
        "| notes per bar",
        "real test (4)",
        "T=0.8 (4)",
        "T=1.2 (4)",
        "overlap",
    ] {
        assert!(table.contains(wanted), "{wanted}: {table}");
    }
    // Every real segment has 4 notes in 2 bars.
    let row = table
        .lines()
        .find(|l| l.starts_with("| notes per bar "))
        .unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "2.00 ± 0.00", "{row}");
    let again = phrasegen(&args);
    assert_eq!(String::from_utf8_lossy(&again.stdout), table);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["phrases"], 4);
    assert_eq!(report["columns"].as_array().unwrap().len(), 3);
    let real = &report["columns"][0];
    assert_eq!(real["name"], "real test");
    assert_eq!(
        real["values"]["notes_per_bar"],
        serde_json::json!([2.0, 2.0, 2.0, 2.0])
    );
    assert_eq!(report["table"]["rows"][0]["metric"], "notes_per_bar");
}

#[test]
fn a_folder_without_a_split_uses_the_trainers_seeded_split_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    fixture_folder(dir.path());
    // Move the pieces up: no train/valid/test folders any more, and add more files.
    for split in ["train", "valid"] {
        std::fs::remove_dir(dir.path().join(split)).unwrap();
    }
    for i in 0..2 {
        std::fs::rename(
            dir.path().join(format!("test/piece{i}.mid")),
            dir.path().join(format!("piece{i}.mid")),
        )
        .unwrap();
        std::fs::copy(
            dir.path().join(format!("piece{i}.mid")),
            dir.path().join(format!("copy{i}.mid")),
        )
        .unwrap();
    }
    let out = phrasegen(&[
        "stats",
        "--data",
        dir.path().to_str().unwrap(),
        "--phrases",
        "2",
        "--bars",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("seeded 80:20 split"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("seeded 80:20 split"));
}

#[test]
fn stats_and_eval_fail_clearly_without_usable_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("a.mid"), b"not midi at all").unwrap();
    std::fs::write(bad.join("b.mid"), b"MThd").unwrap();
    std::fs::write(bad.join("notes.txt"), b"hello").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("missing");
    let path = |p: &Path| p.to_str().unwrap().to_string();

    let cases = [
        (&bad, "no usable pieces"),
        (&empty, "no .mid or .midi files"),
        (&missing, "cannot read the data folder"),
    ];
    for (folder, message) in cases {
        let folder_arg = path(folder);
        let common = ["--model", "bach-chorales", "--data", &folder_arg];
        for command in ["stats", "eval"] {
            let mut args = vec![command];
            args.extend(common);
            if command == "stats" {
                args.extend(["--phrases", "1"]);
            }
            let out = phrasegen(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{command} {folder:?} must fail");
            assert!(stderr.contains(message), "{command} {folder:?}: {stderr}");
            assert!(!String::from_utf8_lossy(&out.stdout).contains("NLL"));
        }
    }

    let data = tempfile::tempdir().unwrap();
    fixture_folder(data.path());
    let out = phrasegen(&[
        "stats",
        "--model",
        &path(&dir.path().join("nope.safetensors")),
        "--data",
        &path(data.path()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot load the model"), "{stderr}");
}

#[test]
fn time_signature_compares_phrases_with_pieces_in_that_metre() {
    let dir = tempfile::tempdir().unwrap();
    for split in ["train", "valid", "test"] {
        std::fs::create_dir_all(dir.path().join(split)).unwrap();
    }
    let test = dir.path().join("test");
    // One jig (6/8), one reel (2/4) and one piece without a time signature (4/4), each
    // with a quarter note on every beat.
    std::fs::write(test.join("jig.mid"), metered_file(&[(0, 6, 3)], 8 * 3 * 96)).unwrap();
    std::fs::write(
        test.join("reel.mid"),
        metered_file(&[(0, 2, 2)], 8 * 2 * 96),
    )
    .unwrap();
    std::fs::write(test.join("plain.mid"), metered_file(&[], 8 * 4 * 96)).unwrap();
    let data = dir.path().to_str().unwrap();
    let stats = |meters: &[&str]| {
        let mut args = vec![
            "stats",
            "--model",
            "fiddle-tunes",
            "--data",
            data,
            "--phrases",
            "2",
            "--bars",
            "4",
            "--time-signature",
        ];
        args.extend(meters);
        phrasegen(&args)
    };

    let out = stats(&["6/8"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 phrases of 4 bars of 6/8"), "{stdout}");
    // Only the jig: 8 bars of 6/8 cut into two segments of 4 bars (12 quarters).
    assert!(
        stdout.contains("3 files, 2 segments, 2 files left out"),
        "{stdout}"
    );
    assert!(stdout.contains("segments of 12 quarter notes"), "{stdout}");

    // Several metres: phrases in the first, pieces in any of them.
    let out = stats(&["4/4", "2/4"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bars of 4/4"), "{stdout}");
    assert!(stdout.contains("1 file left out"), "{stdout}");

    // No piece in the metre asked for: a clear error, not an empty table.
    let out = stats(&["3/4"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("3 in other time signatures"), "{stderr}");
}
