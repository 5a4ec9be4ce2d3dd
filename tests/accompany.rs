//! Accompanying chords (`sample::chords`): over progressions in several keys and metres, the
//! melody model's line strikes chord tones on strong beats, stays in each chord's scale,
//! is one voice and never falls silent for more than a beat.

use phrasegen::builtin::load_model_choice;
use phrasegen::family::generate;
use phrasegen::meter::MeterMap;
use phrasegen::phrase::{Note, Phrase, TimeSignature};
use phrasegen::roll::PianoRoll;
use phrasegen::sample::chords::{is_strong_beat, ChordTrack, Chords};
use phrasegen::sample::{GenerateError, GenerateParams};

/// Triads by scale degree of a major key (0 = I), and the dominant of vi (III#).
fn triad(tonic: u8, degree: usize) -> [u8; 3] {
    const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
    if degree == 7 {
        // V/vi: the major chord on the third degree (E major in C).
        return [tonic + 4, tonic + 8, tonic + 11];
    }
    let at = |d: usize| tonic + MAJOR[d % 7] + if d >= 7 { 12 } else { 0 };
    [at(degree), at(degree + 2), at(degree + 4)]
}

/// A progression of triads (root position, around C3) of `sixteenths` 1/16 notes each, on
/// a grid of `spq` steps per quarter (the model's, as `phrasegen accompany` reads them).
fn chords(tonic: u8, degrees: &[usize], meter: TimeSignature, sixteenths: u32, spq: u32) -> Chords {
    let steps = sixteenths * spq / 4;
    let bars = (degrees.len() as u32 * steps).div_ceil(meter.steps_per_bar(spq));
    let mut phrase = Phrase::empty(bars, spq, meter, 100.0);
    for (i, &d) in degrees.iter().enumerate() {
        for pitch in triad(48 + tonic % 12, d) {
            phrase.notes.push(Note {
                start_step: i as u32 * steps,
                pitch,
                length_steps: steps,
                velocity: 70,
            });
        }
    }
    Chords {
        phrase,
        meters: MeterMap::constant(meter, spq),
        key_signature: None,
    }
}

fn params(chords: Chords, seed: u64, t: f32) -> GenerateParams {
    let phrase = &chords.phrase;
    GenerateParams {
        seed,
        temperature: t,
        bars: phrase.bars,
        time_signature: phrase.time_signature,
        form: phrasegen::form::Form::through_composed(),
        chords: Some(chords),
        ..GenerateParams::default()
    }
}

#[derive(Default, Debug)]
struct Tally {
    strong: usize,
    strong_chord_tones: usize,
    notes: usize,
    in_scale: usize,
}

#[test]
fn a_melody_model_over_chords_in_several_keys() {
    let model = load_model_choice("fiddle-tunes").unwrap();
    let spq = model.config.steps_per_quarter;
    let four = TimeSignature::FOUR_FOUR;
    let three = TimeSignature {
        numerator: 3,
        denominator: 4,
    };
    let progressions: [(&[usize], TimeSignature, u32); 3] = [
        (&[0, 5, 3, 4, 0, 5, 1, 4], four, 16), // I vi IV V I vi ii V, a bar each
        (&[1, 4, 0, 0, 7, 5, 1, 4, 0], four, 8), // ii V I I V/vi vi ii V I, half bars
        (&[0, 3, 4, 0, 5, 1, 4, 0], three, 12), // a waltz, a bar each
    ];
    let mut tally = Tally::default();
    for (k, tonic) in [0u8, 7, 2, 5, 10, 9, 4].into_iter().enumerate() {
        for (p, &(degrees, meter, steps)) in progressions.iter().enumerate() {
            for t in [0.7f32, 1.0, 1.5] {
                let chords = chords(tonic, degrees, meter, steps, spq);
                let track = ChordTrack::new(&chords, chords.phrase.total_steps() as usize);
                let seed = (k * 10 + p) as u64;
                let line = generate(&model, &params(chords.clone(), seed, t)).unwrap();
                let roll = PianoRoll::from_phrase(&line);
                for (step, active) in roll.active.iter().enumerate() {
                    assert!(active.count_ones() <= 1, "the line is one voice");
                    let beat = phrasegen::meter::beat_steps(meter, spq) as usize;
                    if step >= beat {
                        let silent = roll.active[step + 1 - beat..=step].iter().all(|a| *a == 0);
                        assert!(
                            !silent,
                            "key {tonic} T {t}: a beat of silence at step {step}"
                        );
                    }
                }
                for n in &line.notes {
                    let s = n.start_step as usize;
                    let pc = 1u16 << (n.pitch % 12);
                    tally.notes += 1;
                    tally.in_scale += usize::from(track.scale[s] & pc != 0);
                    let in_bar = n.start_step % meter.steps_per_bar(spq);
                    if is_strong_beat(meter, in_bar, spq) {
                        tally.strong += 1;
                        tally.strong_chord_tones += usize::from(track.tones[s] & pc != 0);
                    }
                }
            }
        }
    }
    let share = |a: usize, b: usize| a as f64 / b.max(1) as f64;
    println!("{tally:?}");
    assert!(tally.notes > 2000, "{tally:?}");
    assert!(
        share(tally.strong_chord_tones, tally.strong) >= 0.90,
        "{tally:?}"
    );
    assert!(share(tally.in_scale, tally.notes) >= 0.98, "{tally:?}");
}

#[test]
fn what_cannot_be_accompanied_says_why() {
    let fiddle = load_model_choice("fiddle-tunes").unwrap();
    let c = chords(0, &[0, 4], TimeSignature::FOUR_FOUR, 16, 4);
    let mut empty = c.clone();
    empty.phrase.notes.clear();
    assert_eq!(
        generate(&fiddle, &params(empty, 1, 1.0)).unwrap_err(),
        GenerateError::EmptyChords
    );
    let frames = load_model_choice("models/fiddle-tunes-v1.safetensors").unwrap();
    let err = generate(&frames, &params(c.clone(), 1, 1.0)).unwrap_err();
    assert!(err.to_string().contains("event model"), "{err}");
    let mut both = params(c.clone(), 1, 1.0);
    both.melody = Some(phrasegen::sample::melody::Melody::new(
        &c.phrase,
        c.meters.clone(),
        None,
    ));
    assert_eq!(
        generate(&load_model_choice("bach-chorales").unwrap(), &both).unwrap_err(),
        GenerateError::MelodyAndChords
    );
}

#[test]
fn the_accompany_command_writes_a_line_over_a_chord_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = chords(7, &[0, 5, 3, 4], TimeSignature::FOUR_FOUR, 16, 4);
    let input = dir.path().join("chords.mid");
    std::fs::write(&input, phrasegen::midi::export_bytes(&c.phrase, "chords")).unwrap();
    let output = dir.path().join("line.mid");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_phrasegen"))
            .args([
                "accompany",
                input.to_str().unwrap(),
                "-o",
                output.to_str().unwrap(),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = phrasegen::midi::import_file(&output, &Default::default()).unwrap();
    assert_eq!(line.phrase.bars, 4);
    assert!(line.phrase.notes.len() >= 8);
    assert!(PianoRoll::from_phrase(&line.phrase)
        .active
        .iter()
        .all(|a| a.count_ones() <= 1));
    let out = run(&["--with-chords"]);
    assert!(out.status.success());
    let both = phrasegen::midi::import_file(&output, &Default::default()).unwrap();
    // The chords' notes under the line (a line note on a chord's pitch merges with it).
    let chord_notes = both
        .phrase
        .notes
        .iter()
        .filter(|n| n.velocity == 70)
        .count();
    assert!(chord_notes >= 8, "{:?}", both.phrase.notes);
}
