//! Dragging the exported `.mid` file out of the window on X11 (XDND, version 5), so it can be
//! dropped on a DAW track or a file manager.
//!
//! The plugin window belongs to the host's event loop, so the drag runs on its own thread with
//! its own X connection and a hidden source window: it follows the pointer by polling (the
//! protocol needs no pointer grab), talks to the window under the pointer with XDND client
//! messages, and answers the drop target's request for the file's `text/uri-list`.

use std::path::Path;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ClientMessageData, ClientMessageEvent, ConnectionExt, CreateWindowAux,
    EventMask, KeyButMask, PropMode, SelectionNotifyEvent, Window, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{CURRENT_TIME, NONE};

/// How a drag ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DragOutcome {
    /// A target accepted the drop and fetched the file.
    Dropped,
    /// Released over nothing that accepts files, or the target declined.
    NotAccepted,
}

/// Any failure of the drag: no X server, a lost connection, a timeout.
pub type DragError = Box<dyn std::error::Error + Send + Sync>;

x11rb::atom_manager! {
    /// The atoms XDND uses.
    pub Atoms: AtomsCookie {
        XdndAware,
        XdndEnter,
        XdndPosition,
        XdndStatus,
        XdndLeave,
        XdndDrop,
        XdndFinished,
        XdndSelection,
        XdndActionCopy,
        XdndTypeList,
        TARGETS,
        URI_LIST: b"text/uri-list",
    }
}

/// The protocol version spoken.
const XDND_VERSION: u32 = 5;
/// Pointer polling period: smooth enough for drop highlighting, cheap enough to ignore.
const POLL: Duration = Duration::from_millis(8);
/// How long a drop target may take to fetch the file (a busy DAW may be slow to answer).
const DROP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the release waits for the target's answer to the last position, after reading
/// what has already arrived.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);

/// `file:///...` with every byte outside the unreserved set and `/` percent-encoded.
pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for &b in path.to_string_lossy().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// Runs a whole drag of `path`, from a pressed mouse button to its release (call it when the
/// user starts dragging, on a thread of its own). `display` is an X display name or `None`
/// for `$DISPLAY`.
pub fn drag_file(path: &Path, display: Option<&str>) -> Result<DragOutcome, DragError> {
    let (conn, screen) = RustConnection::connect(display)?;
    let root = conn.setup().roots[screen].root;
    let atoms = Atoms::new(&conn)?.reply()?;
    let source = conn.generate_id()?;
    conn.create_window(
        0,
        source,
        root,
        -10,
        -10,
        1,
        1,
        0,
        WindowClass::INPUT_ONLY,
        0,
        &CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE),
    )?;
    conn.set_selection_owner(source, atoms.XdndSelection, CURRENT_TIME)?;
    conn.flush()?;
    let mut drag = Drag {
        conn: &conn,
        atoms,
        root,
        source,
        uri_list: format!("{}\r\n", file_uri(path)),
        target: None,
        accepted: false,
    };
    let outcome = drag.run();
    let _ = conn.destroy_window(source);
    let _ = conn.sync();
    outcome
}

struct Drag<'a> {
    conn: &'a RustConnection,
    atoms: Atoms,
    root: Window,
    source: Window,
    uri_list: String,
    /// The XDND-aware window under the pointer.
    target: Option<Window>,
    /// Whether that target said it would take the drop.
    accepted: bool,
}

impl Drag<'_> {
    fn run(&mut self) -> Result<DragOutcome, DragError> {
        loop {
            let pointer = self.conn.query_pointer(self.root)?.reply()?;
            let held = pointer.mask.contains(KeyButMask::BUTTON1);
            let target = self.aware_window_under_pointer()?;
            if target != self.target {
                if let Some(old) = self.target {
                    self.send(old, self.atoms.XdndLeave, [0, 0, 0, 0])?;
                }
                if let Some(new) = target {
                    self.send(
                        new,
                        self.atoms.XdndEnter,
                        [XDND_VERSION << 24, self.atoms.URI_LIST, 0, 0],
                    )?;
                }
                self.target = target;
                self.accepted = false;
            }
            if let Some(t) = self.target {
                let position =
                    (u32::from(pointer.root_x as u16) << 16) | u32::from(pointer.root_y as u16);
                self.send(
                    t,
                    self.atoms.XdndPosition,
                    [0, position, CURRENT_TIME, self.atoms.XdndActionCopy],
                )?;
            }
            self.conn.flush()?;
            self.handle_events()?;
            if !held {
                return self.release();
            }
            std::thread::sleep(POLL);
        }
    }

    /// The button went up: drop on an accepting target, or leave.
    fn release(&mut self) -> Result<DragOutcome, DragError> {
        let Some(target) = self.target else {
            return Ok(DragOutcome::NotAccepted);
        };
        // A status may still be on its way for the last position.
        let waited = Instant::now();
        loop {
            self.handle_events()?;
            if self.accepted || waited.elapsed() >= STATUS_TIMEOUT {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if !self.accepted {
            self.send(target, self.atoms.XdndLeave, [0, 0, 0, 0])?;
            self.conn.sync()?;
            return Ok(DragOutcome::NotAccepted);
        }
        self.send(target, self.atoms.XdndDrop, [0, CURRENT_TIME, 0, 0])?;
        // A round trip, not just a flush: the message must be with the server before we go on.
        self.conn.sync()?;
        let started = Instant::now();
        while started.elapsed() < DROP_TIMEOUT {
            if self.handle_events()? {
                return Ok(DragOutcome::Dropped);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!(
            "the drop target did not finish within {} seconds",
            DROP_TIMEOUT.as_secs()
        )
        .into())
    }

    /// Answers what arrived; true once the target reports the drop finished.
    fn handle_events(&mut self) -> Result<bool, DragError> {
        while let Some(event) = self.conn.poll_for_event()? {
            match event {
                Event::ClientMessage(m) if m.type_ == self.atoms.XdndStatus => {
                    let d = m.data.as_data32();
                    if Some(d[0]) == self.target {
                        self.accepted = d[1] & 1 != 0;
                    }
                }
                Event::ClientMessage(m) if m.type_ == self.atoms.XdndFinished => return Ok(true),
                Event::SelectionRequest(r) => {
                    let property = if r.property == NONE {
                        r.target
                    } else {
                        r.property
                    };
                    let answered = if r.target == self.atoms.URI_LIST {
                        self.conn.change_property8(
                            PropMode::REPLACE,
                            r.requestor,
                            property,
                            self.atoms.URI_LIST,
                            self.uri_list.as_bytes(),
                        )?;
                        property
                    } else if r.target == self.atoms.TARGETS {
                        self.conn.change_property32(
                            PropMode::REPLACE,
                            r.requestor,
                            property,
                            AtomEnum::ATOM,
                            &[self.atoms.TARGETS, self.atoms.URI_LIST],
                        )?;
                        property
                    } else {
                        NONE
                    };
                    let notify = SelectionNotifyEvent {
                        response_type: x11rb::protocol::xproto::SELECTION_NOTIFY_EVENT,
                        sequence: 0,
                        time: r.time,
                        requestor: r.requestor,
                        selection: r.selection,
                        target: r.target,
                        property: answered,
                    };
                    self.conn
                        .send_event(false, r.requestor, EventMask::NO_EVENT, notify)?;
                    self.conn.flush()?;
                }
                _ => {}
            }
        }
        Ok(false)
    }

    /// Walks down from the root to the deepest window under the pointer that declares
    /// `XdndAware` with a version we speak (our own source window never does).
    fn aware_window_under_pointer(&self) -> Result<Option<Window>, DragError> {
        let mut window = self.root;
        loop {
            let child = self.conn.query_pointer(window)?.reply()?.child;
            if child == NONE {
                return Ok(None);
            }
            let aware = self
                .conn
                .get_property(false, child, self.atoms.XdndAware, AtomEnum::ATOM, 0, 1)?
                .reply()?;
            if aware
                .value32()
                .and_then(|mut v| v.next())
                .is_some_and(|v| v >= 3)
            {
                return Ok(Some(child));
            }
            window = child;
        }
    }

    /// An XDND message of `kind` to `to`: our source window (as every XDND message names
    /// it first), then `data`.
    fn send(&self, to: Window, kind: Atom, data: [u32; 4]) -> Result<(), DragError> {
        let [a, b, c, d] = data;
        let data = ClientMessageData::from([self.source, a, b, c, d]);
        let event = ClientMessageEvent::new(32, to, kind, data);
        self.conn
            .send_event(false, to, EventMask::NO_EVENT, event)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_spaces_and_non_ascii() {
        assert_eq!(
            file_uri(Path::new("/home/a b/Motif é.mid")),
            "file:///home/a%20b/Motif%20%C3%A9.mid"
        );
    }
}
