//! The built plugin hosted through CLAP (`clack-host`), as a DAW hosts it: scanned,
//! instantiated, activated and played with realistic, imprecise transports.

mod clap_host;

use std::time::Duration;

use clap_host::*;

const SAMPLE_RATE: f64 = 48_000.0;
const GENERATION_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn the_factory_offers_phrasegen_as_a_note_effect() {
    let descriptors = scan();
    let d = descriptors
        .iter()
        .find(|d| d.id == PLUGIN_ID)
        .unwrap_or_else(|| panic!("{PLUGIN_ID} not in {descriptors:?}"));
    assert_eq!(d.name, "PhraseGen");
    assert!(!d.vendor.is_empty(), "no vendor: {d:?}");
    assert!(
        d.features.iter().any(|f| f == "note-effect"),
        "a MIDI generator is a note-effect: {:?}",
        d.features
    );
    let mut s = ClapSession::new();
    let (note_inputs, note_outputs, dialects) = s.note_ports();
    assert_eq!(note_outputs, 1, "one note output port");
    assert!(note_inputs <= 1);
    assert!(!dialects.is_empty(), "the note output speaks CLAP or MIDI");
    assert!(!s.params().is_empty());
}

#[test]
fn smoke() {
    let t = std::time::Instant::now();
    let mut s = ClapSession::started(SAMPLE_RATE, 1024);
    let phrase = wait_for_phrase(&mut s, 512, GENERATION_TIMEOUT);
    eprintln!(
        "phrase after {:?}: {} notes",
        t.elapsed(),
        phrase.notes.len()
    );
}
