//! Piano-roll pictures: `phrasegen roll` writes a PNG of the right size that shows the
//! notes where they are, cuts bars along the file's time signatures, and rejects bad input
//! with a message.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use phrasegen::excerpt::{excerpt_bars, Excerpt, ExcerptError};
use phrasegen::midi::{self, ImportOptions, MidiFile};
use phrasegen::phrase::{Note, Phrase, TimeSignature};
use phrasegen::roll_image::{note_fill_rgb, render_rgb, FigureLayout, RgbImage, RollPanel};

fn note(start_step: u32, pitch: u8, length_steps: u32) -> Note {
    Note {
        start_step,
        pitch,
        length_steps,
        velocity: 127,
    }
}

/// Two bars of 4/4 on a sixteenth grid.
fn two_bars(notes: &[Note]) -> Phrase {
    let mut p = Phrase::empty(2, 4, TimeSignature::FOUR_FOUR, 120.0);
    p.notes = notes.to_vec();
    p
}

fn panel(phrase: &Phrase) -> RollPanel {
    RollPanel {
        title: "test".into(),
        excerpt: Excerpt::of_phrase(phrase),
    }
}

fn roll(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .arg("roll")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn decode_png(path: &Path) -> RgbImage {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    rgb.truncate(info.buffer_size());
    RgbImage {
        width_px: info.width,
        height_px: info.height,
        rgb,
    }
}

/// Columns holding at least one pixel of a loud note's fill.
fn note_columns(image: &RgbImage) -> Vec<u32> {
    columns_of(image, note_fill_rgb(127))
}

fn columns_of(image: &RgbImage, fill: [u8; 3]) -> Vec<u32> {
    (0..image.width_px)
        .filter(|&x| (0..image.height_px).any(|y| image.pixel(x, y) == fill))
        .collect()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "draws text: Wine's fresh prefix has no system font for plotters' sans-serif"
)]
fn notes_are_drawn_where_they_sound_and_nowhere_else() {
    let layout = FigureLayout::default();
    let empty = render_rgb(&[panel(&two_bars(&[]))], layout).unwrap();
    let in_bar_1 = render_rgb(&[panel(&two_bars(&[note(0, 60, 4)]))], layout).unwrap();
    let in_bar_2 = render_rgb(&[panel(&two_bars(&[note(16, 60, 4)]))], layout).unwrap();

    // Without notes: no note colour, but not blank (grid, labels).
    assert!(note_columns(&empty).is_empty());
    assert!(
        empty.rgb.iter().any(|&c| c < 128),
        "an empty roll still has its grid"
    );
    // A quarter note is a quarter of a bar wide: in the left half for bar 1, the right half
    // for bar 2.
    let (a, b) = (note_columns(&in_bar_1), note_columns(&in_bar_2));
    assert!(!a.is_empty() && !b.is_empty());
    let half = layout.panel_width_px / 2;
    assert!(a.iter().all(|&x| x < half), "{a:?}");
    assert!(b.iter().all(|&x| x > half), "{b:?}");
    let width_ratio = a.len() as f64 / b.len() as f64;
    assert!(
        (0.9..1.1).contains(&width_ratio),
        "{} vs {}",
        a.len(),
        b.len()
    );
    // Drawing is deterministic.
    assert_eq!(
        render_rgb(&[panel(&two_bars(&[note(0, 60, 4)]))], layout).unwrap(),
        in_bar_1
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "draws text: Wine's fresh prefix has no system font for plotters' sans-serif"
)]
fn higher_notes_are_drawn_higher() {
    let image = render_rgb(
        &[panel(&two_bars(&[note(0, 48, 4), note(16, 72, 4)]))],
        FigureLayout::default(),
    )
    .unwrap();
    let fill = note_fill_rgb(127);
    let rows_at = |x: u32| -> Vec<u32> {
        (0..image.height_px)
            .filter(|&y| image.pixel(x, y) == fill)
            .collect()
    };
    let columns = note_columns(&image);
    let (low, high) = (rows_at(columns[0]), rows_at(*columns.last().unwrap()));
    assert!(high.iter().max() < low.iter().min(), "{high:?} vs {low:?}");
}

/// One quarter of pickup (1/4), then two bars of 4/4; division 96. A note from the pickup
/// into bar 2, one inside bar 2, one filling bar 3.
fn pickup_file() -> Vec<u8> {
    let events = [
        ev(0, &[0xff, 0x58, 4, 1, 2, 24, 8]),
        ev(0, &[0x90, 60, 100]),
        ev(96, &[0xff, 0x58, 4, 4, 2, 24, 8]),
        ev(96, &[0x90, 64, 100]),
        ev(96, &[0x80, 60, 0]),
        ev(0, &[0x80, 64, 0]),
        ev(192, &[0x90, 67, 100]),
        ev(384, &[0x80, 67, 0]),
    ]
    .concat();
    smf(0, 96, &[track(&events)])
}

#[test]
fn bars_follow_the_time_signatures_and_notes_are_clipped_to_the_passage() {
    let file = MidiFile::parse(&pickup_file()).unwrap();
    let whole = excerpt_bars(&file, 12, 1, None).unwrap();
    assert_eq!(whole.bar_lines_steps, vec![0, 12, 60, 108]);

    let bar_2 = excerpt_bars(&file, 12, 2, Some(1)).unwrap();
    assert_eq!(bar_2.first_bar_number, 2);
    assert_eq!(bar_2.bar_lines_steps, vec![0, 48]);
    assert_eq!(bar_2.phrase.time_signature, TimeSignature::FOUR_FOUR);
    let expected = vec![
        Note {
            start_step: 0,
            pitch: 60,
            length_steps: 24,
            velocity: 100,
        },
        Note {
            start_step: 12,
            pitch: 64,
            length_steps: 12,
            velocity: 100,
        },
    ];
    assert_eq!(bar_2.phrase.notes, expected);

    assert_eq!(
        excerpt_bars(&file, 12, 4, None),
        Err(ExcerptError::StartPastEnd {
            bars: 3,
            from_bar: 4
        })
    );
    assert!(matches!(
        excerpt_bars(&file, 12, 2, Some(3)),
        Err(ExcerptError::EndPastEnd { .. })
    ));
}

#[test]
#[cfg_attr(
    windows,
    ignore = "draws text: Wine's fresh prefix has no system font for plotters' sans-serif"
)]
fn roll_writes_one_panel_per_file_at_the_asked_size_and_the_passage_as_midi() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pickup.mid"), pickup_file()).unwrap();
    let phrase = two_bars(&[note(0, 60, 4), note(4, 67, 8)]);
    std::fs::write(
        dir.path().join("two.mid"),
        midi::export_bytes(&phrase, "two"),
    )
    .unwrap();

    let out = roll(&["pickup.mid", "two.mid", "-o", "stacked.png"], dir.path());
    assert!(out.status.success(), "{out:?}");
    let stacked = decode_png(&dir.path().join("stacked.png"));
    let layout = FigureLayout::default();
    assert_eq!(
        (stacked.width_px, stacked.height_px),
        (layout.panel_width_px, 2 * layout.panel_height_px)
    );
    // The PNG holds exactly what the core draws for the same passages and titles.
    let excerpt = |bytes: &[u8]| excerpt_bars(&MidiFile::parse(bytes).unwrap(), 12, 1, None);
    let panels = [
        RollPanel {
            title: "pickup.mid, bars 1-3".into(),
            excerpt: excerpt(&pickup_file()).unwrap(),
        },
        RollPanel {
            title: "two.mid, bars 1-2".into(),
            excerpt: excerpt(&midi::export_bytes(&phrase, "two")).unwrap(),
        },
    ];
    assert_eq!(render_rgb(&panels, layout).unwrap(), stacked);

    let out = roll(
        &[
            "pickup.mid",
            "--from-bar",
            "2",
            "--bars",
            "1",
            "--side-by-side",
            "--width",
            "300",
            "--panel-height",
            "200",
            "--title",
            "bar two",
            "-o",
            "bar2.png",
            "--midi-out",
            "bar2.mid",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let small = decode_png(&dir.path().join("bar2.png"));
    assert_eq!((small.width_px, small.height_px), (300, 200));
    // The pickup file's notes have velocity 100: a lighter fill.
    assert!(!columns_of(&small, note_fill_rgb(100)).is_empty());
    assert!(note_columns(&small).is_empty());
    // The written passage is the drawn one: bar 2 alone, moved to the start.
    let back = midi::import_file(
        &dir.path().join("bar2.mid"),
        &ImportOptions {
            steps_per_quarter: 12,
            ..ImportOptions::default()
        },
    )
    .unwrap()
    .phrase;
    let file = MidiFile::parse(&pickup_file()).unwrap();
    assert_eq!(
        back.notes,
        excerpt_bars(&file, 12, 2, Some(1)).unwrap().phrase.notes
    );
    assert_eq!(back.total_steps(), 48);

    let out = roll(
        &["two.mid", "pickup.mid", "--side-by-side", "-o", "row.png"],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let row = decode_png(&dir.path().join("row.png"));
    assert_eq!(
        (row.width_px, row.height_px),
        (2 * layout.panel_width_px, layout.panel_height_px)
    );
}

#[test]
fn bad_input_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pickup.mid"), pickup_file()).unwrap();
    std::fs::write(dir.path().join("text.mid"), b"hello").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["missing.mid"], "missing.mid"),
        (&["text.mid"], "text.mid: not a Standard MIDI File"),
        (
            &["pickup.mid", "--from-bar", "9"],
            "pickup.mid: the file has 3 bar(s); bar 9 is past its end",
        ),
        (
            &["pickup.mid", "--from-bar", "2", "--bars", "5"],
            "5 bar(s) from bar 2 would end at bar 6",
        ),
        (&["pickup.mid", "--from-bar", "0"], "bar 0 does not exist"),
        (
            &["pickup.mid", "--title", "a", "--title", "b"],
            "give one per file",
        ),
        (&["pickup.mid", "-o", "roll.jpg"], "name the output *.png"),
        (&["pickup.mid", "--width", "20"], "at least 240x160 pixels"),
        (
            &["pickup.mid", "pickup.mid", "--midi-out", "x.mid"],
            "--midi-out writes the bars of one file",
        ),
    ];
    for (args, message) in cases {
        let out = roll(args, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} must fail");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("roll.png").exists());
}
