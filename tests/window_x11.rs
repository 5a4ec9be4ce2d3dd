//! The real editor window driven by a mouse and a keyboard (XTest on Xvfb), checked by what
//! the plugin then exports: Generate makes a new phrase, Back brings the first back (and the
//! arrow keys walk the history), a click on a bar number keeps that bar through the next
//! Generate (pressed as G), a right click deletes a note, a click mutes one and a second
//! brings it back, and a drag moves one up; P lights Preview. Each result is read from the
//! file the window's Export button writes, which is the phrase playing.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::x11::*;
use phrasegen::phrase::Phrase;
use phrasegen::phrase_edit::{change_note, delete_note};
use phrasegen::plugin::editor::roll_view::{Rect, RollGeometry};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, ImageFormat, Window};
use x11rb::rust_connection::RustConnection;

/// Buttons of the window at its default size (see docs/screenshot.png).
const GENERATE: (i16, i16) = (338, 456);
const EXPORT: (i16, i16) = (165, 34);
const BACK: (i16, i16) = (492, 10);
const PREVIEW: (i16, i16) = (738, 10);
/// The keyboard strip's keys, as the window paints them.
const KEY_COLOURS: [[u8; 3]; 2] = [[200, 200, 200], [40, 40, 40]];

/// The window (the first child of the root) and a way to read its pixels.
struct Screen {
    conn: RustConnection,
    root: Window,
}

impl Screen {
    fn pixel(&self, (x, y): (i16, i16)) -> [u8; 3] {
        let tree = self.conn.query_tree(self.root).unwrap().reply().unwrap();
        let window = tree.children[0];
        let image = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, window, x, y, 1, 1, !0)
            .unwrap()
            .reply()
            .unwrap();
        // 32-bit pixels, blue first.
        [image.data[2], image.data[1], image.data[0]]
    }

    fn window_width(&self) -> u16 {
        let tree = self.conn.query_tree(self.root).unwrap().reply().unwrap();
        let geometry = self
            .conn
            .get_geometry(tree.children[0])
            .unwrap()
            .reply()
            .unwrap();
        geometry.width
    }

    /// Where the roll's notes are: the keyboard strip's keys span its rows exactly (the bar
    /// numbers sit above them), from the keyboard to the window's right edge.
    fn roll_area(&self) -> Rect {
        // Left of the C tags drawn over the keys.
        let key = |y| KEY_COLOURS.contains(&self.pixel((3, y)));
        let top = (30..400).find(|&y| key(y)).expect("the keyboard strip");
        let bottom = (top..500).take_while(|&y| key(y)).last().unwrap() + 1;
        // The roll spans the window's width (it is drawn without a margin).
        let right = self.window_width();
        Rect {
            left: 28.0,
            top: f32::from(top),
            right: f32::from(right),
            bottom: f32::from(bottom),
        }
    }
}

/// Clicks with `button` (1 left, 3 right) at `at`.
fn click(mouse: &FakeInput, button: u8, at: (i16, i16)) {
    mouse.input(MOTION, 0, at);
    std::thread::sleep(Duration::from_millis(60));
    mouse.input(BUTTON_PRESS, button, at);
    std::thread::sleep(Duration::from_millis(60));
    mouse.input(BUTTON_RELEASE, button, at);
    std::thread::sleep(Duration::from_millis(60));
}

/// Presses Export and reads the file it writes (the phrase playing).
fn export(mouse: &FakeInput, dir: &std::path::Path) -> Phrase {
    export_at(mouse, dir, EXPORT)
}

/// Presses the Export button at `button` and reads the file it writes.
fn export_at(mouse: &FakeInput, dir: &std::path::Path, button: (i16, i16)) -> Phrase {
    let files = |d: &std::path::Path| -> BTreeSet<PathBuf> {
        std::fs::read_dir(d)
            .map(|r| r.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    let before = files(dir);
    click(mouse, 1, button);
    let started = Instant::now();
    loop {
        if let Some(new) = files(dir).difference(&before).next() {
            let bytes = std::fs::read(new).unwrap();
            return phrasegen::midi::import_bytes(&bytes, &Default::default())
                .unwrap()
                .phrase;
        }
        assert!(started.elapsed() < DEADLINE, "Export wrote no file");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Exports until the phrase playing satisfies `wanted` (a new phrase takes over at the next
/// bar line).
fn export_until(
    mouse: &FakeInput,
    dir: &std::path::Path,
    what: &str,
    wanted: impl Fn(&Phrase) -> bool,
) -> Phrase {
    let started = Instant::now();
    loop {
        let p = export(mouse, dir);
        if wanted(&p) {
            return p;
        }
        assert!(started.elapsed() < DEADLINE, "never exported {what}");
    }
}

/// Notes as (start, pitch, length): what a round trip through a MIDI file keeps exactly.
fn notes(p: &Phrase) -> Vec<(u32, u8, u32)> {
    let mut n: Vec<_> = p
        .notes
        .iter()
        .map(|n| (n.start_step, n.pitch, n.length_steps))
        .collect();
    n.sort_unstable();
    n
}

#[test]
fn generate_go_back_keep_a_bar_delete_mute_and_move_a_note_with_mouse_and_keys() {
    let x = Xvfb::start_sized("1000x700x24");
    let exports = tempfile::tempdir().unwrap();
    let _editor = EditorProcess::spawn(
        &x.display,
        &[("PHRASEGEN_EXPORT_DIR", exports.path().as_os_str())],
    );
    let (conn, screen) = RustConnection::connect(Some(&x.display)).unwrap();
    let root = conn.setup().roots[screen].root;
    wait_until_drawn(&conn, root, EXPORT);
    let screen = Screen { conn, root };
    let mouse = FakeInput::new(&x.display);
    let dir = exports.path();

    let first = export(&mouse, dir);
    assert!(!first.notes.is_empty());
    click(&mouse, 1, GENERATE);
    let second = export_until(&mouse, dir, "a new phrase", |p| notes(p) != notes(&first));
    click(&mouse, 1, BACK);
    export_until(&mouse, dir, "the first phrase again", |p| {
        notes(p) == notes(&first)
    });
    // The arrow keys walk the history too.
    mouse.tap(keysym::RIGHT);
    export_until(&mouse, dir, "the second phrase (Right arrow)", |p| {
        notes(p) == notes(&second)
    });
    mouse.tap(keysym::LEFT);
    export_until(&mouse, dir, "the first phrase (Left arrow)", |p| {
        notes(p) == notes(&first)
    });

    // Bar 2 kept (a click on its number), then Generate: bar 2 stays, the rest is new.
    let g = RollGeometry::fit(&first, screen.roll_area());
    let bar = first.steps_per_bar();
    let header = (g.step_x(bar) as i16 + 12, g.area.top as i16 - 8);
    click(&mouse, 1, header);
    mouse.tap(keysym::G);
    // What sounds in bar 2: a note held over the next bar line is kept up to it (the next
    // bar is drawn afresh).
    let in_bar_2 = |p: &Phrase| -> Vec<_> {
        notes(p)
            .into_iter()
            .filter(|n| (bar..2 * bar).contains(&n.0))
            .map(|(start, pitch, length)| (start, pitch, length.min(2 * bar - start)))
            .collect()
    };
    let kept = export_until(&mouse, dir, "a phrase with bar 2 kept", |p| {
        notes(p) != notes(&first) && notes(p) != notes(&second)
    });
    assert_eq!(in_bar_2(&kept), in_bar_2(&first), "bar 2 was kept");

    // A right click on the longest note deletes it.
    let g = RollGeometry::fit(&kept, screen.roll_area());
    let longest = (0..kept.notes.len())
        .max_by_key(|&i| kept.notes[i].length_steps)
        .unwrap();
    let r = g.note_rect(&kept.notes[longest]).unwrap();
    let centre = (
        ((r.left + r.right) / 2.0) as i16,
        ((r.top + r.bottom) / 2.0) as i16,
    );
    click(&mouse, 3, centre);
    let without = delete_note(&kept, longest);
    let deleted = export_until(&mouse, dir, "the phrase without the note", |p| {
        notes(p) != notes(&kept)
    });
    assert_eq!(notes(&deleted), notes(&without));

    // A drag from the middle of a note two rows up moves it up two semitones.
    let g = RollGeometry::fit(&deleted, screen.roll_area());
    // The longest note away from the roll's edges (the redraw is watched around it).
    let inside = |n: &&phrasegen::phrase::Note| {
        g.note_rect(n).is_some_and(|r| {
            r.left > 60.0 && r.right < 840.0 && r.top - 3.0 * (r.bottom - r.top) > g.area.top
        })
    };
    let (i, note) = deleted
        .notes
        .iter()
        .enumerate()
        .filter(|(_, n)| inside(n))
        .max_by_key(|(_, n)| n.length_steps)
        .expect("a note away from the edges");
    let r = g.note_rect(note).unwrap();
    let centre = (
        ((r.left + r.right) / 2.0) as i16,
        ((r.top + r.bottom) / 2.0) as i16,
    );

    // A click mutes the note: it no longer plays (nor exports); a second brings it back.
    click(&mouse, 1, centre);
    let muted = export_until(&mouse, dir, "the phrase with the note muted", |p| {
        notes(p) != notes(&deleted)
    });
    assert_eq!(notes(&muted), notes(&delete_note(&deleted, i)));
    click(&mouse, 1, centre);
    export_until(&mouse, dir, "the muted note back", |p| {
        notes(p) == notes(&deleted)
    });

    let from = (
        (r.left + (r.right - r.left) * 0.4) as i16,
        ((r.top + r.bottom) / 2.0) as i16,
    );
    let rows = 2.0 * (r.bottom - r.top);
    let to = (from.0, from.1 - rows as i16);
    mouse.input(MOTION, 0, from);
    std::thread::sleep(Duration::from_millis(60));
    let before = pixels_around(&screen.conn, screen.root, to).unwrap();
    mouse.input(BUTTON_PRESS, 1, from);
    mouse.glide(from, to);
    // The window outlines where the note will go: the drag is under way.
    wait_for_redraw(&screen.conn, screen.root, to, &before, "the dragged note");
    mouse.input(BUTTON_RELEASE, 1, to);
    let moved = export_until(&mouse, dir, "the phrase with the note moved", |p| {
        notes(p) != notes(&deleted)
    });
    let expected = change_note(&deleted, i, note.pitch + 2, note.length_steps);
    assert_eq!(notes(&moved), notes(&expected));

    // P lights the Preview button.
    mouse.input(MOTION, 0, (450, 200));
    let before = pixels_around(&screen.conn, screen.root, PREVIEW).unwrap();
    mouse.tap(keysym::P);
    wait_for_redraw(
        &screen.conn,
        screen.root,
        PREVIEW,
        &before,
        "Preview lit by P",
    );
}

/// A project saved with the window at twice the default size opens at that size with text
/// and controls twice as large (Export is where it was, doubled), and the note name of the
/// row under the pointer is lit on the keyboard.
#[test]
fn a_window_twice_the_size_scales_its_controls_and_names_the_pitch_under_the_pointer() {
    let x = Xvfb::start_sized("2000x1300x24");
    let exports = tempfile::tempdir().unwrap();
    let _editor = EditorProcess::spawn(
        &x.display,
        &[
            ("PHRASEGEN_EXPORT_DIR", exports.path().as_os_str()),
            ("PHRASEGEN_EDITOR_SIZE", std::ffi::OsStr::new("1800x1200")),
        ],
    );
    let (conn, screen) = RustConnection::connect(Some(&x.display)).unwrap();
    let root = conn.setup().roots[screen].root;
    let export_button = (EXPORT.0 * 2, EXPORT.1 * 2);
    wait_until_drawn(&conn, root, export_button);
    let screen = Screen { conn, root };
    assert_eq!(screen.window_width(), 1800, "the saved size");
    let mouse = FakeInput::new(&x.display);
    let phrase = export_at(&mouse, exports.path(), export_button);
    assert!(!phrase.notes.is_empty());

    // The pointer over the roll: the key strip shows the pitch's name on a lit tag.
    const LIT: [u8; 3] = [255, 200, 60];
    let y = 400;
    // The tag sits on the centre of the pitch row under the pointer, which can be a few
    // pixels from the pointer itself (rows are about 15 px high at this size).
    let tag_lit = |screen: &Screen| {
        (y - 10..=y + 10).any(|row| (20..52).any(|x| screen.pixel((x, row)) == LIT))
    };
    assert!(!tag_lit(&screen), "no tag lit before the pointer comes");
    mouse.input(MOTION, 0, (900, y));
    let started = Instant::now();
    while !tag_lit(&screen) {
        assert!(
            started.elapsed() < DEADLINE,
            "the pitch under the pointer was never named"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
