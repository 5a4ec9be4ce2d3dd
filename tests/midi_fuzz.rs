//! No input makes the MIDI reader panic or hang, and export -> import is the identity.

mod common;

use common::*;
use phrasegen::midi::{export_bytes, import_bytes, ImportOptions, MidiFile, MidiSummary};
use phrasegen::phrase::{Note, Phrase, TimeSignature};
use proptest::prelude::*;

/// The events of a valid two-track file with a bit of everything: a conductor (name, tempo,
/// time signature) and notes (running status, drums, a controller).
fn seed_events() -> [Vec<Vec<u8>>; 2] {
    let conductor = vec![
        ev(0, &[0xff, 0x03, 0x04, b'S', b'o', b'n', b'g']),
        ev(0, &[0xff, 0x51, 0x03, 0x07, 0xa1, 0x20]),
        ev(0, &[0xff, 0x58, 0x04, 3, 2, 24, 8]),
    ];
    let notes = vec![
        ev(0, &[0x90, 60, 100]),
        ev(0, &[64, 90]),
        ev(48, &[60, 0]),
        ev(48, &[0x80, 64, 0]),
        ev(0, &[0x99, 36, 100]),
        ev(24, &[0xb0, 64, 127]),
        ev(24, &[0x89, 36, 0]),
    ];
    [conductor, notes]
}

fn seed_file() -> Vec<u8> {
    let [conductor, notes] = seed_events();
    smf(1, 96, &[track(&conductor.concat()), track(&notes.concat())])
}

/// Reading must end in a value or an error, and everything derived from a value must work.
fn read_everything(bytes: &[u8]) {
    if let Ok(file) = MidiFile::parse(bytes) {
        let _ = MidiSummary::of(&file).to_string();
        for w in &file.warnings {
            let _ = w.to_string();
        }
    }
    let _ = MidiFile::parse_strict(bytes);
    let _ = import_bytes(bytes, &ImportOptions::default());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        read_everything(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = header(1, 2, 96);
        bytes.extend(b"MTrk");
        bytes.extend((body.len() as u32).to_be_bytes());
        bytes.extend(body);
        read_everything(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_valid_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = seed_file();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        read_everything(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Insertions and deletions shift everything after them: chunk lengths stop matching,
    /// which exercises the lenient chunk repair; inserted status bytes exercise the event
    /// repairs.
    #[test]
    fn inserted_and_deleted_bytes_never_panic(
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), any::<bool>(), prop::sample::select(vec![0x00u8, 0x2f, 0x4d, 0x7f, 0x80, 0x90, 0xf0, 0xf1, 0xf2, 0xf7, 0xf8, 0xfe, 0xff])),
            1..6,
        ),
    ) {
        let mut bytes = seed_file();
        for (at, insert, value) in edits {
            let i = at.index(bytes.len() + 1);
            if insert {
                bytes.insert(i, value);
            } else if i < bytes.len() {
                bytes.remove(i);
            }
        }
        read_everything(&bytes);
    }

    /// Real-time bytes between events change nothing but the warnings.
    #[test]
    fn real_time_bytes_between_events_are_skipped(
        inserts in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(vec![0xf8u8, 0xfa, 0xfb, 0xfc, 0xfe])),
            1..6,
        ),
    ) {
        let clean = MidiFile::parse(&seed_file()).unwrap();
        let [conductor, mut notes] = seed_events();
        for (at, status) in &inserts {
            let i = at.index(notes.len() + 1);
            notes.insert(i, ev(0, &[*status]));
        }
        let bytes = smf(1, 96, &[track(&conductor.concat()), track(&notes.concat())]);
        let file = MidiFile::parse(&bytes).unwrap();
        prop_assert_eq!(&file.notes, &clean.notes);
        prop_assert_eq!(&file.tempos, &clean.tempos);
        prop_assert_eq!(file.warnings.len(), inserts.len());
    }
}

/// A track length off by one, in either track, changes nothing but the warnings.
#[test]
fn a_track_length_off_by_one_is_repaired() {
    let clean = MidiFile::parse(&seed_file()).unwrap();
    for chunk in [14, 14 + track(&seed_events()[0].concat()).len()] {
        for wrong in [1i64, -1] {
            let mut bytes = seed_file();
            let len = u32::from_be_bytes(bytes[chunk + 4..chunk + 8].try_into().unwrap());
            let wrong = (i64::from(len) + wrong) as u32;
            bytes[chunk + 4..chunk + 8].copy_from_slice(&wrong.to_be_bytes());
            let file = MidiFile::parse(&bytes).unwrap();
            assert_eq!(file.notes, clean.notes);
            assert_eq!(file.time_signatures, clean.time_signatures);
            assert_eq!(file.warnings.len(), 1, "{:?}", file.warnings);
        }
    }
}

fn phrase_strategy() -> impl Strategy<Value = Phrase> {
    (
        1u32..9,
        prop::sample::select(vec![1u32, 2, 3, 4, 8, 12]),
        prop::sample::select(vec![(4u8, 4u8), (3, 4), (6, 8), (7, 8), (5, 4)]),
        30.0f64..240.0,
    )
        .prop_flat_map(|(bars, spq, (num, den), tempo)| {
            let ts = TimeSignature {
                numerator: num,
                denominator: den,
            };
            let total = bars * ts.steps_per_bar(spq);
            let notes = prop::collection::vec((0u8..128, 0..total, 1..=total, 1u8..128), 0..60);
            (Just(bars), Just(spq), Just(ts), Just(tempo), notes)
        })
        .prop_map(|(bars, spq, ts, tempo, raw)| {
            let mut p = Phrase::empty(bars, spq, ts, tempo);
            p.notes = raw
                .into_iter()
                .map(|(pitch, start, len, velocity)| Note {
                    start_step: start,
                    pitch,
                    length_steps: len.min(p.total_steps() - start),
                    velocity,
                })
                .collect();
            phrasegen::midi::quantize::resolve_overlaps(&mut p.notes);
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn export_then_import_is_the_identity(p in phrase_strategy()) {
        let options = ImportOptions {
            steps_per_quarter: p.steps_per_quarter,
            min_note_quarters: 0.0,
            keep_drums: false,
        };
        let back = import_bytes(&export_bytes(&p, "test"), &options).unwrap();
        // Tempo is stored in whole microseconds per quarter note.
        prop_assert!((back.phrase.tempo_bpm - p.tempo_bpm).abs() < 1e-3);
        let mut expected = p.clone();
        expected.tempo_bpm = back.phrase.tempo_bpm;
        prop_assert_eq!(back.phrase, expected);
        prop_assert_eq!(back.dropped_short_notes, 0);
    }
}
