//! Harmonizing a melody (`sample::melody`): the melody comes back note for note, the voices
//! stay under it and within the model's voices, whatever the model draws.

mod common;

use phrasegen::builtin::load_model_choice;
use phrasegen::family::generate;
use phrasegen::meter::MeterMap;
use phrasegen::phrase::{Note, Phrase, TimeSignature};
use phrasegen::roll::PianoRoll;
use phrasegen::sample::melody::Melody;
use phrasegen::sample::{GenerateError, GenerateParams};
use rand::{Rng, SeedableRng};

fn note(start_step: u32, pitch: u8, length_steps: u32) -> Note {
    Note {
        start_step,
        pitch,
        length_steps,
        velocity: 77,
    }
}

/// A random melody of `bars` bars of `meter` on the 16th grid: notes of 1 to 8 steps,
/// sometimes a rest, sometimes the same pitch again, pitches in `lo..=hi`.
fn random_melody(seed: u64, bars: u32, meter: TimeSignature, lo: u8, hi: u8) -> Phrase {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut phrase = Phrase::empty(bars, 4, meter, 100.0);
    let end = phrase.total_steps();
    let mut t = rng.random_range(0..4);
    let mut pitch = rng.random_range(lo..=hi);
    while t < end {
        let length = rng.random_range(1..=8).min(end - t);
        if rng.random_bool(0.85) {
            phrase.notes.push(note(t, pitch, length));
        }
        t += length;
        if rng.random_bool(0.8) {
            pitch = (i32::from(pitch) + rng.random_range(-4..=4)).clamp(lo.into(), hi.into()) as u8;
        }
    }
    phrase
}

fn harmonize_params(melody: &Phrase, meters: MeterMap, seed: u64, t: f32) -> GenerateParams {
    GenerateParams {
        seed,
        temperature: t,
        bars: melody.bars,
        time_signature: melody.time_signature,
        form: phrasegen::form::Form::through_composed(),
        max_polyphony: 4,
        melody: Some(Melody::new(melody, meters, None)),
        ..GenerateParams::default()
    }
}

/// Checks a harmonization of `melody`: every melody note is in it as it was; while the
/// melody sounds, nothing sounds at or above it; while it rests (and before its first
/// note) nothing sounds; at most `voices` sound.
fn check(harmonized: &Phrase, melody: &Phrase, voices: u32) {
    for m in &melody.notes {
        assert!(
            harmonized.notes.contains(m),
            "melody note {m:?} lost: {:?}",
            harmonized.notes
        );
    }
    let roll = PianoRoll::from_phrase(harmonized);
    let tune = PianoRoll::from_phrase(melody);
    let first = melody.notes.iter().map(|n| n.start_step).min().unwrap() as usize;
    for t in 0..roll.len() {
        let sounding = roll.active[t];
        let m = tune.active.get(t).copied().unwrap_or(0);
        if t < first {
            assert_eq!(sounding, 0, "a voice before the melody begins, step {t}");
        }
        assert!(sounding.count_ones() <= voices, "step {t}: too many voices");
        if m != 0 {
            assert_eq!(sounding & m, m, "step {t}: the melody is not sounding");
            let under = sounding & !m;
            assert!(under < m, "step {t}: a voice at or above the melody");
        } else {
            assert_eq!(
                sounding, 0,
                "step {t}: the voices go on while the melody rests"
            );
        }
    }
}

#[test]
fn the_chorale_model_keeps_every_melody_note_and_stays_under_it() {
    let model = load_model_choice("bach-chorales").unwrap();
    for seed in 0..6u64 {
        let meter = if seed % 2 == 0 {
            TimeSignature::FOUR_FOUR
        } else {
            TimeSignature {
                numerator: 3,
                denominator: 4,
            }
        };
        let melody = random_melody(seed, 4, meter, 60, 76);
        for t in [0.05, 1.0, 3.0] {
            let params = harmonize_params(&melody, MeterMap::constant(meter, 4), seed, t);
            let harmonized = generate(&model, &params).unwrap();
            check(&harmonized, &melody, 4);
            assert!(
                harmonized.notes.len() > melody.notes.len(),
                "seed {seed} T {t}: nothing written under the melody"
            );
            // While the melody sounds, at least three voices do (Bach's never thin to one
            // or two).
            let (roll, tune) = (
                PianoRoll::from_phrase(&harmonized),
                PianoRoll::from_phrase(&melody),
            );
            for step in 0..tune.len() {
                if tune.active[step] != 0 {
                    assert!(
                        roll.active[step].count_ones() >= 3,
                        "seed {seed} T {t} step {step}: {} voices",
                        roll.active[step].count_ones()
                    );
                }
            }
        }
    }
}

#[test]
fn random_models_and_melodies_with_rests_never_break_the_rules() {
    for seed in 0..40u64 {
        let model = common::models::random_event_model(4, seed);
        let melody = random_melody(1000 + seed, 3, TimeSignature::FOUR_FOUR, 64, 84);
        let mut params = harmonize_params(
            &melody,
            MeterMap::constant(TimeSignature::FOUR_FOUR, 4).with_pickup(3),
            seed,
            1.5,
        );
        params.min_note_steps = 1 + (seed % 3) as u32;
        params.candidates = 1 + (seed % 2) as u32;
        let harmonized = generate(&model, &params).unwrap();
        check(&harmonized, &melody, 4);
        params.max_polyphony = 2;
        check(&generate(&model, &params).unwrap(), &melody, 2);
    }
}

#[test]
fn a_melody_in_d_is_harmonized_as_in_c_moved_up_a_tone() {
    let model = load_model_choice("bach-chorales").unwrap();
    let c = random_melody(7, 4, TimeSignature::FOUR_FOUR, 64, 74);
    let d = c.transposed(2);
    let meters = MeterMap::constant(TimeSignature::FOUR_FOUR, 4);
    let mut in_c = harmonize_params(&c, meters.clone(), 3, 1.0);
    let mut in_d = harmonize_params(&d, meters, 3, 1.0);
    // The key signature names the key: none and two sharps.
    in_c.melody.as_mut().unwrap().key_signature = Some(0);
    in_d.melody.as_mut().unwrap().key_signature = Some(2);
    let from_c = generate(&model, &in_c).unwrap();
    let from_d = generate(&model, &in_d).unwrap();
    assert_eq!(from_c.transposed(2).notes, from_d.notes);
}

#[test]
fn a_melody_outside_the_models_range_is_moved_by_octaves_and_comes_back() {
    let model = load_model_choice("bach-chorales").unwrap();
    let high = random_melody(5, 2, TimeSignature::FOUR_FOUR, 96, 104);
    let params = harmonize_params(
        &high,
        MeterMap::constant(TimeSignature::FOUR_FOUR, 4),
        1,
        1.0,
    );
    let harmonized = generate(&model, &params).unwrap();
    check(&harmonized, &high, 4);
    assert!(harmonized.notes.iter().any(|n| n.pitch < 96));
}

#[test]
fn what_cannot_be_harmonized_says_why() {
    let melody = random_melody(2, 2, TimeSignature::FOUR_FOUR, 60, 72);
    let meters = MeterMap::constant(TimeSignature::FOUR_FOUR, 4);
    let params = harmonize_params(&melody, meters.clone(), 1, 1.0);
    let fiddle = load_model_choice("fiddle-tunes").unwrap();
    let err = generate(&fiddle, &params).unwrap_err();
    assert!(
        matches!(err, GenerateError::MelodyNeedsVoices { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("one voice"), "{err}");

    let frames = load_model_choice("models/bach-chorales-v1.safetensors").unwrap();
    assert!(matches!(
        generate(&frames, &params).unwrap_err(),
        GenerateError::MelodyNeedsVoices { .. }
    ));

    let chorales = load_model_choice("bach-chorales").unwrap();
    let one_voice = GenerateParams {
        max_polyphony: 1,
        ..params.clone()
    };
    assert_eq!(
        generate(&chorales, &one_voice).unwrap_err(),
        GenerateError::MelodyNeedsTwoVoices(1)
    );

    let empty = Phrase::empty(2, 4, TimeSignature::FOUR_FOUR, 100.0);
    assert_eq!(
        generate(&chorales, &harmonize_params(&empty, meters.clone(), 1, 1.0)).unwrap_err(),
        GenerateError::EmptyMelody
    );

    let mut wide = empty.clone();
    wide.notes = vec![note(0, 20, 4), note(4, 110, 4)];
    let err = generate(&chorales, &harmonize_params(&wide, meters, 1, 1.0)).unwrap_err();
    assert!(
        matches!(
            err,
            GenerateError::MelodyRange {
                lo: 20,
                hi: 110,
                ..
            }
        ),
        "{err}"
    );
}

fn phrasegen(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .args(args)
        .output()
        .unwrap()
}

/// A file with a tune over a held bass; its top line (the melody) is the tune, and the
/// bass where the tune rests.
fn two_voice_file(dir: &std::path::Path) -> (std::path::PathBuf, Phrase) {
    let mut file = random_melody(11, 4, TimeSignature::FOUR_FOUR, 65, 77);
    file.notes.push(note(0, 48, 64));
    file.sort_notes();
    let path = dir.join("tune.mid");
    std::fs::write(&path, phrasegen::midi::export_bytes(&file, "tune")).unwrap();
    (path, phrasegen::sample::melody::top_line(&file))
}

#[test]
fn the_harmonize_command_writes_the_melody_with_voices_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let (input, tune) = two_voice_file(dir.path());
    let output = dir.path().join("out.mid");
    let out = phrasegen(&[
        "harmonize",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--seed",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = phrasegen::midi::import_file(&output, &Default::default()).unwrap();
    check(&written.phrase, &tune, 4);
    // The bass under the tune was the file's, not the melody's: only its top-line parts
    // come back.
    assert!(!written
        .phrase
        .notes
        .iter()
        .any(|n| n.pitch == 48 && n.length_steps == 64));

    let missing = phrasegen(&["harmonize", "no-such.mid"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such.mid"));
    let fiddle = phrasegen(&[
        "harmonize",
        input.to_str().unwrap(),
        "--model",
        "fiddle-tunes",
    ]);
    assert!(String::from_utf8_lossy(&fiddle.stderr).contains("one voice"));
    let share = phrasegen(&["harmonize", input.to_str().unwrap(), "--line-copies", "2"]);
    assert!(!share.status.success());
    assert!(String::from_utf8_lossy(&share.stderr).contains("a share from 0 to 1"));
}

#[test]
fn stats_harmonize_measures_each_real_segment_harmonized() {
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("test");
    std::fs::create_dir_all(&test).unwrap();
    for i in 0..3u64 {
        let mut p = random_melody(20 + i, 4, TimeSignature::FOUR_FOUR, 62, 76);
        p.notes.extend([note(0, 43, 32), note(32, 45, 32)]);
        p.sort_notes();
        std::fs::write(
            test.join(format!("p{i}.mid")),
            phrasegen::midi::export_bytes(&p, "p"),
        )
        .unwrap();
    }
    let out = phrasegen(&[
        "stats",
        "--harmonize",
        "--data",
        dir.path().to_str().unwrap(),
        "--bars",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let segments = stdout
        .split("real segments")
        .next()
        .and_then(|s| s.rsplit("each of the ").next())
        .and_then(|n| n.trim().parse::<usize>().ok())
        .expect("the number of segments");
    assert!(segments >= 2, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{segments} of {segments} harmonized segments have every melody note back"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("harmonized T=1.0 ({segments})")),
        "{stdout}"
    );
}

/// `stats --harmonize` on one data folder: the harmonized segments' "repeats a bar" values.
fn harmonized_repeats(data: &std::path::Path, args: &[&str]) -> Vec<f64> {
    let json = data.join("stats.json");
    let mut all = vec!["stats", "--harmonize", "--data", data.to_str().unwrap()];
    all.extend(args);
    all.extend(["--json", json.to_str().unwrap()]);
    let out = phrasegen(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    report["columns"][1]["values"]["repeats_a_bar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn stats_harmonize_reads_each_segment_in_its_own_metre() {
    // 8 bars of 3/4 whose first three bars come back as bars 4-6: in 3/4 a line sung again,
    // whose harmony comes back with `--line-copies 1`; on a 4/4 grid no bar would repeat.
    let dir = tempfile::tempdir().unwrap();
    for split in ["train", "valid", "test"] {
        std::fs::create_dir_all(dir.path().join(split)).unwrap();
    }
    let test = dir.path().join("test");
    let meter = TimeSignature {
        numerator: 3,
        denominator: 4,
    };
    let (a, b, c, d, e) = (
        [67, 69, 71],
        [72, 71, 69],
        [67, 66, 67],
        [69, 71, 72],
        [74, 72, 71],
    );
    let mut piece = Phrase::empty(8, 4, meter, 100.0);
    for (bar, pitches) in [a, b, c, a, b, c, d, e].into_iter().enumerate() {
        let start = 12 * bar as u32;
        piece.notes.push(note(start, 48, 12));
        for (beat, pitch) in pitches.into_iter().enumerate() {
            piece.notes.push(note(start + 4 * beat as u32, pitch, 4));
        }
    }
    piece.sort_notes();
    let bytes = phrasegen::midi::export_bytes(&piece, "three-four");
    std::fs::write(test.join("three-four.mid"), bytes).unwrap();
    // Segments of 24 quarters: the piece's 8 bars of 3/4.
    let copied = harmonized_repeats(dir.path(), &["--bars", "6", "--line-copies", "1"]);
    assert_eq!(copied, [1.0], "the 3/4 line comes back with its harmony");
}

#[test]
fn a_repeated_melody_line_gets_its_harmony_back() {
    let model = load_model_choice("bach-chorales").unwrap();
    let meter = TimeSignature::FOUR_FOUR;
    let bar = |start: u32, pitches: [u8; 4]| {
        pitches
            .into_iter()
            .enumerate()
            .map(move |(i, p)| note(start + 4 * i as u32, p, 4))
    };
    let (a, b, c) = ([67, 69, 71, 72], [74, 72, 71, 69], [71, 69, 67, 67]);
    // A B C A B: the two-bar line A B comes back in bars 3-4.
    let mut line = Phrase::empty(5, 4, meter, 100.0);
    for (i, pitches) in [a, b, c, a, b].into_iter().enumerate() {
        line.notes.extend(bar(16 * i as u32, pitches));
    }
    // A B A C: a single bar comes back, harmonized afresh.
    let mut single = Phrase::empty(4, 4, meter, 100.0);
    for (i, pitches) in [a, b, a, c].into_iter().enumerate() {
        single.notes.extend(bar(16 * i as u32, pitches));
    }
    // The line comes back with its harmony as often as Bach's do (0.89 of the time), the
    // single bar afresh.
    let (mut copied, mut afresh) = (0, 0);
    let seeds = 1..=20;
    for seed in seeds.clone() {
        let params = harmonize_params(&line, MeterMap::constant(meter, 4), seed, 1.0);
        let harmonized = generate(&model, &params).unwrap();
        check(&harmonized, &line, 4);
        let roll = PianoRoll::from_phrase(&harmonized);
        copied += usize::from(roll.active[0..32] == roll.active[48..80]);
        let params = harmonize_params(&single, MeterMap::constant(meter, 4), seed, 1.0);
        let harmonized = generate(&model, &params).unwrap();
        check(&harmonized, &single, 4);
        let roll = PianoRoll::from_phrase(&harmonized);
        afresh += usize::from(roll.active[0..16] != roll.active[32..48]);
    }
    assert!(
        (14..seeds.count()).contains(&copied),
        "the line came back with its harmony for {copied} of 20 seeds"
    );
    assert!(afresh > 0, "a single repeated bar is drawn again");
    // `line_copies` 1: always the same harmony; 0: always afresh.
    for seed in 1..=20 {
        let mut params = harmonize_params(&line, MeterMap::constant(meter, 4), seed, 1.0);
        params.line_copies = 1.0;
        let roll = PianoRoll::from_phrase(&generate(&model, &params).unwrap());
        assert_eq!(
            roll.active[0..32],
            roll.active[48..80],
            "seed {seed}, always"
        );
        params.line_copies = 0.0;
        let roll = PianoRoll::from_phrase(&generate(&model, &params).unwrap());
        assert_ne!(
            roll.active[0..32],
            roll.active[48..80],
            "seed {seed}, never"
        );
    }
    let mut params = harmonize_params(&line, MeterMap::constant(meter, 4), 1, 1.0);
    params.line_copies = 1.5;
    assert!(
        generate(&model, &params).is_err(),
        "a share above 1 is refused"
    );
}
