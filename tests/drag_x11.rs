//! The X11 drag of the exported file against a real X server (Xvfb, started here) and a drop
//! target written to the XDND specification: the target sees enter/position, accepts, gets
//! the file as `text/uri-list` and finishes; a declining target and empty space get nothing.
#![cfg(target_os = "linux")]

mod common;

use common::x11::*;

use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use phrasegen::plugin::editor::drag_x11::{drag_file, file_uri, Atoms, DragOutcome};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageData, ClientMessageEvent, ConnectionExt, CreateWindowAux, EventMask,
    PropMode, Window, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::CURRENT_TIME;

/// How long the drop test waits for a small model to be fine-tuned in the background.
const LEARNING_DEADLINE: Duration = Duration::from_secs(600);

/// What the drop target saw.
#[derive(Debug, Default)]
struct Seen {
    entered: bool,
    positions: usize,
    dropped_data: Option<String>,
    left: bool,
}

/// A drop target running on its own thread.
struct Target {
    thread: std::thread::JoinHandle<Seen>,
    /// Gets a message when the target has answered its first position (the drag is over it).
    answered: Receiver<()>,
}

impl Target {
    /// Waits until a drag has reached the target and been answered (the event a user's
    /// release waits for: the drop highlight).
    fn wait_answered(&self) {
        self.answered
            .recv_timeout(DEADLINE)
            .expect("the drag never reached the drop target");
    }

    fn join(self) -> Seen {
        self.thread.join().unwrap()
    }
}

/// Starts a drop target at `at` (200 x 200, above every other window) on its own thread and
/// returns once its window is mapped.
fn spawn_target(display: &str, at: (i16, i16), accept: bool) -> Target {
    let (ready, mapped) = channel();
    let (answer, answered) = channel();
    let display = display.to_string();
    let thread = std::thread::spawn(move || run_target_at(&display, at, accept, ready, answer));
    mapped.recv().unwrap();
    Target { thread, answered }
}

/// A window at `at` of 200 x 200 that speaks XDND 5 and accepts or declines drops.
fn run_target_at(
    display: &str,
    at: (i16, i16),
    accept: bool,
    ready: Sender<()>,
    answered: Sender<()>,
) -> Seen {
    let (conn, screen) = RustConnection::connect(Some(display)).unwrap();
    let root = conn.setup().roots[screen].root;
    let atoms = Atoms::new(&conn).unwrap().reply().unwrap();
    let win: Window = conn.generate_id().unwrap();
    conn.create_window(
        0,
        win,
        root,
        at.0,
        at.1,
        200,
        200,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new()
            .override_redirect(1)
            .event_mask(EventMask::PROPERTY_CHANGE),
    )
    .unwrap();
    conn.change_property32(
        PropMode::REPLACE,
        win,
        atoms.XdndAware,
        AtomEnum::ATOM,
        &[5],
    )
    .unwrap();
    conn.map_window(win).unwrap();
    conn.sync().unwrap();
    ready.send(()).unwrap();
    let mut seen = Seen::default();
    let mut source = 0;
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        let Some(event) = conn.poll_for_event().unwrap() else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        match event {
            Event::ClientMessage(m) if m.type_ == atoms.XdndEnter => {
                let d = m.data.as_data32();
                source = d[0];
                assert_eq!(d[1] >> 24, 5, "protocol version");
                assert_eq!(d[2], atoms.URI_LIST, "offers a file list");
                seen.entered = true;
            }
            Event::ClientMessage(m) if m.type_ == atoms.XdndPosition => {
                seen.positions += 1;
                let status = [win, u32::from(accept), 0, 0, atoms.XdndActionCopy];
                let e = ClientMessageEvent::new(
                    32,
                    source,
                    atoms.XdndStatus,
                    ClientMessageData::from(status),
                );
                conn.send_event(false, source, EventMask::NO_EVENT, e)
                    .unwrap();
                conn.sync().unwrap();
                if seen.positions == 1 {
                    let _ = answered.send(());
                }
            }
            Event::ClientMessage(m) if m.type_ == atoms.XdndLeave => {
                seen.left = true;
                return seen;
            }
            Event::ClientMessage(m) if m.type_ == atoms.XdndDrop => {
                conn.convert_selection(
                    win,
                    atoms.XdndSelection,
                    atoms.URI_LIST,
                    atoms.XdndSelection,
                    CURRENT_TIME,
                )
                .unwrap();
                conn.flush().unwrap();
            }
            Event::SelectionNotify(n) => {
                assert_eq!(n.property, atoms.XdndSelection, "the source answered");
                let data = conn
                    .get_property(true, win, n.property, AtomEnum::ANY, 0, 4096)
                    .unwrap()
                    .reply()
                    .unwrap();
                seen.dropped_data = Some(String::from_utf8(data.value).unwrap());
                let finished = [win, 1, atoms.XdndActionCopy, 0, 0];
                let e = ClientMessageEvent::new(
                    32,
                    source,
                    atoms.XdndFinished,
                    ClientMessageData::from(finished),
                );
                conn.send_event(false, source, EventMask::NO_EVENT, e)
                    .unwrap();
                // A round trip before closing: a message sent just before a disconnect can
                // be lost.
                conn.sync().unwrap();
                return seen;
            }
            _ => {}
        }
    }
    seen
}

/// Presses the button at `from`, starts the drag, glides to `to` and releases there: once
/// `target` (the window at `to`, if any) has answered the drag, as a user waits for the drop
/// highlight.
fn drag_with_fake_mouse(
    display: &str,
    path: &Path,
    from: (i16, i16),
    to: (i16, i16),
    target: Option<&Target>,
) -> DragOutcome {
    let mouse = FakeInput::new(display);
    mouse.input(MOTION, 0, from);
    mouse.input(BUTTON_PRESS, 1, from);
    let (display_name, file) = (display.to_string(), path.to_path_buf());
    let drag = std::thread::spawn(move || drag_file(&file, Some(&display_name)));
    mouse.glide(from, to);
    if let Some(target) = target {
        target.wait_answered();
    }
    mouse.input(BUTTON_RELEASE, 1, to);
    drag.join().unwrap().expect("the drag runs to its end")
}

#[test]
fn dropping_on_an_accepting_target_hands_over_the_file() {
    let x = Xvfb::start();
    let target = spawn_target(&x.display, (100, 100), true);
    let path = Path::new("/tmp/PhraseGen exports/phrasegen-bach-chorales-seed-7.mid");
    let outcome = drag_with_fake_mouse(&x.display, path, (20, 20), (180, 200), Some(&target));
    let seen = target.join();
    assert_eq!(outcome, DragOutcome::Dropped);
    assert!(seen.entered && seen.positions > 0, "{seen:?}");
    assert_eq!(
        seen.dropped_data.as_deref(),
        Some(format!("{}\r\n", file_uri(path)).as_str())
    );
    assert!(
        file_uri(path).contains("PhraseGen%20exports"),
        "shell- and URI-safe"
    );
}

#[test]
fn a_declining_target_or_empty_space_gets_nothing() {
    let x = Xvfb::start();
    let target = spawn_target(&x.display, (100, 100), false);
    let path = Path::new("/tmp/clip.mid");
    let outcome = drag_with_fake_mouse(&x.display, path, (20, 20), (180, 200), Some(&target));
    let seen = target.join();
    assert_eq!(outcome, DragOutcome::NotAccepted);
    assert!(
        seen.entered && seen.left && seen.dropped_data.is_none(),
        "{seen:?}"
    );
    // Released where no window takes drops.
    let outcome = drag_with_fake_mouse(&x.display, path, (20, 20), (500, 400), None);
    assert_eq!(outcome, DragOutcome::NotAccepted);
}

/// A folder dragged from elsewhere (PhraseGen's own XDND drag is the source, as a file
/// manager's would be) and dropped on the real editor window: the window shows that it will
/// take it, accepts the drop, and learns from the folder: a model fine-tuned on it appears in
/// the user's models folder.
#[test]
fn a_folder_dropped_on_the_editor_window_is_learned_from() {
    use common::styles::{arpeggio_piece, style_a_model, write_folder};
    let x = Xvfb::start_sized("1280x800x24");
    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("scales.safetensors");
    style_a_model(&start);
    let clips = dir.path().join("my-clips");
    write_folder(&clips, 12, |i| arpeggio_piece(4, i));
    let models = dir.path().join("models");
    let editor = EditorProcess::spawn(
        &x.display,
        &[
            ("PHRASEGEN_MODEL", start.as_os_str()),
            ("PHRASEGEN_MODELS_DIR", models.as_os_str()),
        ],
    );
    // The "Learn my style" row's folder field (see docs/screenshot.png): it turns into a
    // green "drop here" while files hover over the window.
    let learn_row = (560, 567);
    let (conn, screen) = RustConnection::connect(Some(&x.display)).unwrap();
    let root = conn.setup().roots[screen].root;
    wait_until_drawn(&conn, root, learn_row);
    let idle = pixels_around(&conn, root, learn_row).unwrap();

    let mouse = FakeInput::new(&x.display);
    let outside = (1100, 700);
    mouse.input(MOTION, 0, outside);
    mouse.input(BUTTON_PRESS, 1, outside);
    let (display, folder) = (x.display.clone(), clips.clone());
    let drag = std::thread::spawn(move || drag_file(&folder, Some(&display)));
    mouse.glide(outside, learn_row);
    wait_for_redraw(&conn, root, learn_row, &idle, "the drop hint");
    mouse.input(BUTTON_RELEASE, 1, learn_row);
    assert_eq!(drag.join().unwrap().unwrap(), DragOutcome::Dropped);

    let started = Instant::now();
    let learned = loop {
        let found = phrasegen::plugin::user_models::list_models(&models);
        if let Some(f) = found.first() {
            break f.clone();
        }
        // Training takes what a busy machine gives it: a long bound, ended by the file.
        assert!(
            started.elapsed() < LEARNING_DEADLINE,
            "no model was learned from the drop"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(editor);
    let file = phrasegen::model::read_model_file(&learned).unwrap();
    assert_eq!(file.config.name, "my-clips (from scales)");
    assert!(file.config.training.unwrap().data.ends_with("my-clips"));
}

/// The whole path a user takes: the real editor window (the `screenshot` example, with the
/// plugin playing in a test host), a press on its "Drag .mid" button, a drag onto a drop
/// target; the target receives a `.mid` file that exists and holds the current phrase.
#[test]
fn the_editor_drag_button_hands_the_current_phrase_to_a_drop_target() {
    let x = Xvfb::start();
    let exports = tempfile::tempdir().unwrap();
    let editor = EditorProcess::spawn(
        &x.display,
        &[("PHRASEGEN_EXPORT_DIR", exports.path().as_os_str())],
    );
    // The "Drag .mid" button, right of "Export MIDI" in the row under the mode buttons (see
    // docs/screenshot.png).
    let button = (252, 34);
    // Wait for the window (top left, no window manager) to open and draw its top row.
    let (conn, screen) = RustConnection::connect(Some(&x.display)).unwrap();
    let root = conn.setup().roots[screen].root;
    wait_until_drawn(&conn, root, button);
    let target = spawn_target(&x.display, (600, 400), true);
    let mouse = FakeInput::new(&x.display);
    let idle = pixels_around(&conn, root, button).unwrap();
    mouse.input(MOTION, 0, button);
    wait_for_redraw(&conn, root, button, &idle, "the button hovered");
    let hovered = pixels_around(&conn, root, button).unwrap();
    mouse.input(BUTTON_PRESS, 1, button);
    wait_for_redraw(&conn, root, button, &hovered, "the button pressed");
    mouse.glide(button, (700, 500));
    target.wait_answered();
    mouse.input(BUTTON_RELEASE, 1, (700, 500));
    let seen = target.join();
    drop(editor);
    let uri_list = seen.dropped_data.expect("the drop target received a file");
    let uri = uri_list.trim_end();
    let written: Vec<_> = std::fs::read_dir(exports.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(written.len(), 1, "one export: {written:?}");
    assert_eq!(uri, file_uri(&written[0]));
    let bytes = std::fs::read(&written[0]).unwrap();
    let file = phrasegen::midi::import_bytes(&bytes, &Default::default()).unwrap();
    assert!(
        !file.phrase.notes.is_empty(),
        "the exported phrase has notes"
    );
}
