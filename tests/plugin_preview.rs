//! Audition without the transport, driven like a host: with the song stopped, Preview plays
//! the phrase at the free-run tempo, and a bar clicked on the roll plays from there (the
//! notes sounding at its start struck at once, then the rest in time).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use common::host::{set_normalized, Host};
use phrasegen::plugin::PhraseGen;

fn note_ons(played: &[(u64, bool, u8, u8)]) -> BTreeSet<u8> {
    played.iter().filter(|e| e.1).map(|e| e.2).collect()
}

#[test]
fn preview_plays_with_the_song_stopped_and_a_clicked_bar_plays_from_there() {
    let mut h = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    h.run_until_playing(1, 2000);
    let shared = h.plugin.shared();
    let phrase = shared.params.phrase.phrase().unwrap();
    h.playing = false;
    h.blocks(4);
    let before = h.played.len();
    h.blocks(200);
    assert!(
        note_ons(&h.played[before..]).is_empty(),
        "stopped, without Preview: silence"
    );

    // The window's click on bar 3: Preview on, from bar 3's first step.
    set_normalized(&shared.params.free_run, 1.0);
    shared.preview_from_bar.store(3, Ordering::Release);
    let (before, block_start) = (h.played.len(), h.pos_samples);
    h.block();
    let bar_start = 2 * phrase.steps_per_bar();
    let sounding: BTreeSet<u8> = phrase
        .notes
        .iter()
        .filter(|n| n.start_step <= bar_start && bar_start < n.end_step())
        .map(|n| n.pitch)
        .collect();
    assert!(
        !sounding.is_empty(),
        "bar 3 has notes sounding at its start"
    );
    let first_block: Vec<_> = h.played[before..].to_vec();
    assert!(
        first_block
            .iter()
            .filter(|e| e.1)
            .all(|e| e.0 == block_start),
        "struck at the block's start: {first_block:?}"
    );
    assert_eq!(
        note_ons(&first_block),
        sounding,
        "the notes of bar 3's start"
    );

    // Then the bar plays on in time: the next notes starting in bar 3 come.
    let next: BTreeSet<u8> = phrase
        .notes
        .iter()
        .filter(|n| n.start_step > bar_start && n.start_step < bar_start + 4)
        .map(|n| n.pitch)
        .collect();
    let before = h.played.len();
    h.blocks(48); // one beat at 120 BPM and 48 kHz is 24,000 samples
    let later = note_ons(&h.played[before..]);
    assert!(
        next.is_subset(&later),
        "{next:?} within the beat: {later:?}"
    );

    // Preview off: what sounds ends, and the stopped song is silent again.
    set_normalized(&shared.params.free_run, 0.0);
    h.blocks(2);
    let before = h.played.len();
    h.blocks(100);
    assert!(note_ons(&h.played[before..]).is_empty());
    let mut down = BTreeSet::new();
    for e in &h.played {
        if e.1 {
            down.insert((e.2, e.3));
        } else {
            down.remove(&(e.2, e.3));
        }
    }
    assert!(down.is_empty(), "nothing left sounding: {down:?}");
}
