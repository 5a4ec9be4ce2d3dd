//! A CLAP host for tests: loads the built plugin binary the way a DAW does and drives it
//! through the CLAP ABI only (no Rust calls into the plugin), with transports that imitate
//! real, imprecise hosts.
//!
//! - [`locate`] finds the `.so`/`.clap` that `cargo test` built.
//! - [`session::ClapSession`] scans, instantiates, activates and processes one instance.
//! - [`transport`] describes a host's transport and simulates hosts that round, jitter,
//!   ramp, loop and seek.
//! - [`notes`] rebuilds notes from output events and finds stuck, doubled and orphan notes.
//! - [`phrase`] reads the phrase from a saved state and predicts when its notes must sound.
//!
//! A typical test:
//!
//! ```ignore
//! let mut s = ClapSession::started(48_000.0, 1024);             // scan, instantiate, activate
//! let phrase = wait_for_phrase(&mut s, 512, Duration::from_secs(60));
//! let mut sim = HostSim::new(48_000.0, 120.0, PositionStyle::ARDOUR, s.now());
//! let mut tracker = NoteTracker::new();
//! play_until_beats(&mut s, &mut sim, &mut tracker, 256, phrase.length_beats() + 1.0);
//! sim.playing = false;
//! play_block(&mut s, &mut sim, &mut tracker, 256);              // checks silence
//! let expected = expected_notes(&phrase, start, 0.0, 120.0, 48_000.0, 0.0, len);
//! assert_notes_match("...", &compare_notes(&expected, &tracker.notes_between(a, b), 1.0));
//! tracker.assert_clean("...");
//! ```
#![allow(dead_code, unused_imports)]

pub mod locate;
pub mod notes;
pub mod phrase;
pub mod session;
pub mod transport;

pub use notes::{NoteProblem, NoteTracker, PlayedNote};
pub use phrase::{
    assert_notes_match, compare_notes, expected_notes, history_from_state, phrase_from_state, play,
    play_block, play_until_beats, state_json, state_param, wait_for_phrase, wait_for_phrase_where,
    ExpectedNote,
};
pub use session::{scan, ClapSession, HostEvent, OutEvent, OutKind, ParamInfoOwned, PLUGIN_ID};
pub use transport::{BlockPlan, BlockRecord, HostSim, HostTransport, PositionStyle, Timeline};
