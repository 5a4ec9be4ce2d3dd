//! An X server for window tests (Xvfb) and a mouse driven through XTest, with ways to
//! wait for the window to draw (`drag_x11.rs`, `window_x11.rs`).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, Window};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::CURRENT_TIME;

/// The editor window (the `screenshot` example) open on `display` with `envs` set; closed
/// when dropped. It would exit on its own after ten minutes.
pub struct EditorProcess(Child);

impl EditorProcess {
    pub fn spawn(display: &str, envs: &[(&str, &std::ffi::OsStr)]) -> Self {
        let mut command = Command::new(editor_example());
        command
            .arg("600")
            .env("DISPLAY", display)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in envs {
            command.env(name, value);
        }
        Self(command.spawn().expect("the editor example starts"))
    }
}

impl Drop for EditorProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How long a test waits for another process or thread (Xvfb, the editor, the drag, the
/// target): generous for a busy machine; each wait ends as soon as its event happens.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// An Xvfb server on a display of its own, stopped when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Self {
        Self::start_sized("640x480x24")
    }

    /// A server whose screen is `size` (`WIDTHxHEIGHTxDEPTH`), on a display number the
    /// server picks among the free ones (`-displayfd`): tests running at the same time, or
    /// another program's X server, can never share it.
    pub fn start_sized(size: &str) -> Self {
        use std::io::BufRead;
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                size,
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (apt-get install xvfb; .ci/run does it)");
        // The server writes its display number once it accepts connections.
        let mut number = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut number)
            .expect("Xvfb's display number");
        let number = number.trim();
        assert!(!number.is_empty(), "Xvfb did not start");
        let display = format!(":{number}");
        let started = Instant::now();
        while RustConnection::connect(Some(&display)).is_err() {
            assert!(started.elapsed() < DEADLINE, "Xvfb did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, display }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pixels of the first top-level window in a strip around `at` (None before it is
/// mapped).
pub fn pixels_around(conn: &RustConnection, root: Window, at: (i16, i16)) -> Option<Vec<u8>> {
    use x11rb::protocol::xproto::ImageFormat;
    let tree = conn.query_tree(root).ok()?.reply().ok()?;
    let &window = tree.children.first()?;
    let (x, y) = ((at.0 - 40).max(0), (at.1 - 8).max(0));
    let image = conn
        .get_image(ImageFormat::Z_PIXMAP, window, x, y, 80, 16, !0)
        .ok()?
        .reply()
        .ok()?;
    Some(image.data)
}

/// Whether the strip around `at` shows more than one colour (the editor has drawn a frame
/// with its buttons; before that it is one flat colour). Pixels are 32-bit at depth 24.
pub fn drawn_around(conn: &RustConnection, root: Window, at: (i16, i16)) -> bool {
    pixels_around(conn, root, at).is_some_and(|data| {
        let first = data.get(..3).unwrap_or_default();
        data.chunks(4).any(|p| &p[..3.min(p.len())] != first)
    })
}

/// Waits until the strip around `at` differs from `before`: the editor has drawn the effect
/// of the last input (a hover highlight, a pressed button), the event a user's hand follows.
pub fn wait_for_redraw(
    conn: &RustConnection,
    root: Window,
    at: (i16, i16),
    before: &[u8],
    what: &str,
) {
    let started = Instant::now();
    while pixels_around(conn, root, at).as_deref() == Some(before) {
        assert!(
            started.elapsed() < DEADLINE,
            "the editor never showed {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub const BUTTON_PRESS: u8 = 4;
pub const BUTTON_RELEASE: u8 = 5;
pub const MOTION: u8 = 6;

pub const KEY_PRESS: u8 = 2;
pub const KEY_RELEASE: u8 = 3;

/// X keysyms of the keys the window tests press.
pub mod keysym {
    pub const G: u32 = 0x67;
    pub const P: u32 = 0x70;
    pub const LEFT: u32 = 0xff51;
    pub const RIGHT: u32 = 0xff53;
}

/// Synthetic mouse and keyboard input through the XTEST extension, as a user's hands. With
/// no window manager the keyboard goes to the window under the pointer.
pub struct FakeInput {
    conn: RustConnection,
    root: Window,
}

impl FakeInput {
    pub fn new(display: &str) -> Self {
        let (conn, screen) = RustConnection::connect(Some(display)).unwrap();
        let root = conn.setup().roots[screen].root;
        Self { conn, root }
    }

    pub fn input(&self, kind: u8, detail: u8, (x, y): (i16, i16)) {
        self.conn
            .xtest_fake_input(kind, detail, CURRENT_TIME, self.root, x, y, 0)
            .unwrap();
        self.conn.sync().unwrap();
    }

    /// Moves to `to` in five steps, 40 ms apart.
    pub fn glide(&self, from: (i16, i16), to: (i16, i16)) {
        for i in 1..=5 {
            let x = from.0 + (to.0 - from.0) * i / 5;
            let y = from.1 + (to.1 - from.1) * i / 5;
            self.input(MOTION, 0, (x, y));
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// The key code the server's keyboard map gives `keysym`.
    fn keycode(&self, keysym: u32) -> u8 {
        let setup = self.conn.setup();
        let (first, last) = (setup.min_keycode, setup.max_keycode);
        let map = self
            .conn
            .get_keyboard_mapping(first, last - first + 1)
            .unwrap()
            .reply()
            .unwrap();
        let per = usize::from(map.keysyms_per_keycode);
        let index = map
            .keysyms
            .iter()
            .position(|&k| k == keysym)
            .unwrap_or_else(|| panic!("no key for keysym {keysym:#x}"));
        first + (index / per) as u8
    }

    /// Presses and releases the key of `keysym`, as a finger would.
    pub fn tap(&self, keysym: u32) {
        let code = self.keycode(keysym);
        for kind in [KEY_PRESS, KEY_RELEASE] {
            self.input(kind, code, (0, 0));
            std::thread::sleep(Duration::from_millis(60));
        }
    }
}

/// The `screenshot` example (the real editor window, the plugin playing in a test host).
pub fn editor_example() -> std::path::PathBuf {
    let example = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/screenshot");
    assert!(
        example.exists(),
        "cargo test builds the examples: {example:?}"
    );
    example
}

/// Waits until the window at the top left of the screen has drawn around `at`.
pub fn wait_until_drawn(conn: &RustConnection, root: Window, at: (i16, i16)) {
    let started = Instant::now();
    while !drawn_around(conn, root, at) {
        assert!(
            started.elapsed() < DEADLINE,
            "the editor window never opened and drew around {at:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
