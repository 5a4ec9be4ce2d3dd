//! Key-normalised models: training data moved home to C by each file's key signature, and
//! phrases drawn at home and moved to the key asked for.

mod common;

use common::{ev, smf, track};
use phrasegen::family::{generate, generate_variations};
use phrasegen::midi::{import_bytes, MidiFile};
use phrasegen::phrase::{Note, Phrase};
use phrasegen::sample::home_key::shift_from_home;
use phrasegen::sample::GenerateParams;
use phrasegen::scale::{Scale, ScaleKind};
use phrasegen::train::{Dataset, DatasetOptions};

/// A one-track file: a key signature of `sharps` (as written, two's complement), then
/// quarter notes.
fn file_in(sharps: i8, pitches: &[u8]) -> Vec<u8> {
    let mut events = ev(0, &[0xff, 0x59, 0x02, sharps as u8, 0x00]);
    for &p in pitches {
        events.extend(ev(0, &[0x90, p, 90]));
        events.extend(ev(480, &[0x80, p, 0]));
    }
    smf(0, 480, &[track(&events)])
}

fn normalised_model(seed: u64) -> phrasegen::infer::FastLstm {
    let mut model = common::models::random_event_model(1, seed);
    model.config.key_normalised = true;
    model
}

fn params(root: u8, kind: ScaleKind, seed: u64) -> GenerateParams {
    GenerateParams {
        seed,
        bars: 2,
        scale: Scale::new(root, kind),
        form: phrasegen::form::Form::through_composed(),
        ..GenerateParams::default()
    }
}

#[test]
fn the_main_key_signature_is_the_one_in_force_longest() {
    let mut events = ev(0, &[0xff, 0x59, 0x02, 0xfd, 0x00]); // 3 flats
    events.extend(ev(0, &[0x90, 60, 90]));
    events.extend(ev(480, &[0xff, 0x59, 0x02, 0x02, 0x00])); // 2 sharps, then 3 beats
    events.extend(ev(1440, &[0x80, 60, 0]));
    let file = MidiFile::parse(&smf(0, 480, &[track(&events)])).unwrap();
    assert_eq!(file.key_signatures, vec![(0, -3), (480, 2)]);
    assert_eq!(file.main_key_signature(), Some(2));
    let plain = MidiFile::parse(&smf(0, 480, &[track(&ev(0, &[0x90, 60, 9]))])).unwrap();
    assert_eq!(plain.main_key_signature(), None);
    let imported = import_bytes(&file_in(-2, &[70]), &Default::default()).unwrap();
    assert_eq!(imported.key_signature, Some(-2));
}

#[test]
fn normalising_moves_each_piece_home_by_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    // D major (2 sharps) is moved down 2; Bb major (2 flats) up 2; F# (6 sharps) down 6.
    std::fs::write(dir.path().join("d.mid"), file_in(2, &[62, 66, 69])).unwrap();
    std::fs::write(dir.path().join("bb.mid"), file_in(-2, &[58, 62, 65])).unwrap();
    std::fs::write(dir.path().join("fs.mid"), file_in(6, &[66, 70, 73])).unwrap();
    let options = |normalise_key| DatasetOptions {
        normalise_key,
        ..DatasetOptions::default()
    };
    let lowest = |data: &Dataset| -> Vec<u32> {
        let mut rolls: Vec<_> = data.train.rolls.iter().chain(&data.test.rolls).collect();
        rolls.sort_by_key(|r| r.active[0].trailing_zeros());
        rolls.iter().map(|r| r.active[0].trailing_zeros()).collect()
    };
    let as_written = Dataset::load(dir.path(), &options(false));
    assert_eq!(lowest(&as_written), vec![58, 62, 66]);
    let home = Dataset::load(dir.path(), &options(true));
    assert_eq!(lowest(&home), vec![60, 60, 60]);
}

#[test]
fn a_normalised_model_plays_in_the_key_asked_for() {
    let model = normalised_model(3);
    for seed in 1..4 {
        let at_home = generate(&model, &params(0, ScaleKind::Chromatic, seed)).unwrap();
        assert!(!at_home.notes.is_empty());
        // D is C moved up 2; G is C moved down 5 (the nearer way); A minor is C major's notes.
        for (root, kind, shift) in [
            (2, ScaleKind::Chromatic, 2),
            (7, ScaleKind::Chromatic, -5),
            (9, ScaleKind::NaturalMinor, 0),
            (4, ScaleKind::NaturalMinor, -5),
        ] {
            let phrase = generate(&model, &params(root, kind, seed)).unwrap();
            let home_scale = ScaleKind::Major;
            let expected = if kind == ScaleKind::Chromatic {
                at_home.transposed(shift)
            } else {
                generate(&model, &params(0, home_scale, seed))
                    .unwrap()
                    .transposed(shift)
            };
            assert_eq!(phrase, expected, "root {root} {kind:?} seed {seed}");
        }
    }
    // Variations move together.
    let three = generate_variations(&model, &params(2, ScaleKind::Chromatic, 5), 3).unwrap();
    let home = generate_variations(&model, &params(0, ScaleKind::Chromatic, 5), 3).unwrap();
    for (v, h) in three.iter().zip(&home) {
        assert_eq!(*v, h.transposed(2));
    }
}

#[test]
fn a_primer_keeps_its_own_key() {
    let model = normalised_model(4);
    let note = |start_step, pitch| Note {
        start_step,
        pitch,
        length_steps: 4,
        velocity: 90,
    };
    // E major arpeggio and scale: its home is E, whatever the Key setting says.
    let primer = Phrase {
        bars: 1,
        notes: [64, 68, 71, 76, 73, 71, 68, 66]
            .iter()
            .enumerate()
            .map(|(i, &p)| note(i as u32 * 2, p))
            .collect(),
        ..Phrase::default()
    };
    let with_primer = GenerateParams {
        primer: Some(primer),
        ..params(2, ScaleKind::Chromatic, 1)
    };
    assert_eq!(shift_from_home(&model.config, &with_primer), 4);
    assert_eq!(
        shift_from_home(&model.config, &params(2, ScaleKind::Chromatic, 1)),
        2
    );
    // A model trained as written is not moved.
    let plain = common::models::random_event_model(1, 4);
    assert_eq!(shift_from_home(&plain.config, &with_primer), 0);
    assert!(generate(&model, &with_primer).is_ok());
}

#[test]
fn an_impossible_range_is_told_in_the_users_key() {
    let model = normalised_model(5);
    // The model's range 48..84 at home is 50..86 in D; ask for 100..110.
    let request = GenerateParams {
        pitch_lo: 100,
        pitch_hi: 110,
        ..params(2, ScaleKind::Chromatic, 1)
    };
    let message = generate(&model, &request).unwrap_err().to_string();
    assert!(message.contains("100..110"), "{message}");
    assert!(message.contains("50..86"), "{message}");
}

#[test]
fn a_minor_scale_prefers_candidates_that_sound_minor() {
    use phrasegen::key::{key_of_notes, Key, Mode};
    let model = normalised_model(6);
    let a_minor = Key {
        tonic: 9,
        mode: Mode::Minor,
    };
    let mut steered = 0;
    for seed in (1..200).step_by(8) {
        // The 8 candidates of a phrase are the single draws of seeds seed..seed+8.
        let singles: Vec<Phrase> = (0..8)
            .map(|j| generate(&model, &params(9, ScaleKind::NaturalMinor, seed + j)).unwrap())
            .collect();
        let minor: Vec<&Phrase> = singles
            .iter()
            .filter(|p| key_of_notes(&p.notes) == Some(a_minor))
            .collect();
        let chosen = generate(
            &model,
            &GenerateParams {
                candidates: 8,
                ..params(9, ScaleKind::NaturalMinor, seed)
            },
        )
        .unwrap();
        assert!(singles.contains(&chosen));
        if !minor.is_empty() {
            assert!(
                minor.contains(&&chosen),
                "seed {seed}: a minor candidate was drawn"
            );
            steered += usize::from(minor.len() < singles.len());
        }
    }
    assert!(
        steered > 0,
        "no seed had both kinds of candidate: the test proves nothing"
    );
}
