//! Hand-made MIDI bytes for tests: exact control over every byte, including broken ones.
#![allow(dead_code)]

pub mod candle_training;
/// The DAW-imitating host (shared with `benches/process.rs` and `examples/screenshot.rs`).
#[path = "test_host.rs"]
pub mod host;
pub mod models;
pub mod styles;
#[cfg(target_os = "linux")]
pub mod x11;

/// A key pressed (`on`) or released on MIDI channel 1, as a host sends it to the plugin.
pub fn key_event(on: bool, timing: u32, pitch: u8) -> nice_plug::midi::NoteEvent<()> {
    use nice_plug::midi::{Channel, Key, NoteEvent, VoiceID};
    let (channel, key, voice_id) = (Channel::Number(0), Key::Number(pitch), VoiceID::Wildcard);
    if on {
        NoteEvent::NoteOn {
            timing,
            voice_id,
            channel,
            key,
            velocity: 0.8,
        }
    } else {
        NoteEvent::NoteOff {
            timing,
            voice_id,
            channel,
            key,
            velocity: 0.0,
        }
    }
}

/// Checks that the allocation checker is active (an allocation inside `assert_no_alloc` is
/// counted), then clears its count: a test that proves "never allocates" can fail.
pub fn assert_alloc_checker_active() {
    use nice_assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count};
    reset_violation_count();
    assert_no_alloc(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert!(
        violation_count() > 0,
        "the allocation checker is not active"
    );
    reset_violation_count();
}

/// A variable-length quantity as MIDI writes delta times.
pub fn vlq(mut v: u32) -> Vec<u8> {
    let mut bytes = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        bytes.push(((v & 0x7f) as u8) | 0x80);
        v >>= 7;
    }
    bytes.reverse();
    bytes
}

/// A header chunk.
pub fn header(format: u16, tracks: u16, division: u16) -> Vec<u8> {
    let mut b = b"MThd".to_vec();
    b.extend(6u32.to_be_bytes());
    b.extend(format.to_be_bytes());
    b.extend(tracks.to_be_bytes());
    b.extend(division.to_be_bytes());
    b
}

/// A track chunk around raw event bytes (end-of-track appended).
pub fn track(events: &[u8]) -> Vec<u8> {
    let mut body = events.to_vec();
    body.extend([0x00, 0xff, 0x2f, 0x00]);
    let mut b = b"MTrk".to_vec();
    b.extend((body.len() as u32).to_be_bytes());
    b.extend(body);
    b
}

/// A whole file.
pub fn smf(format: u16, division: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
    let mut b = header(format, tracks.len() as u16, division);
    for t in tracks {
        b.extend(t);
    }
    b
}

/// Delta time followed by event bytes.
pub fn ev(delta: u32, bytes: &[u8]) -> Vec<u8> {
    let mut b = vlq(delta);
    b.extend_from_slice(bytes);
    b
}
