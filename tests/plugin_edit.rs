//! Edits on the roll, driven like a host: the edited phrase (as the window submits it: a
//! note deleted, another moved and lengthened, a third muted) plays at once, is what the
//! project saves and the history keeps, and is what the model hears when its bars are kept
//! (the muted note not at all).

mod common;

use std::sync::atomic::Ordering;

use common::host::{restore_state, save_state, set_normalized, Host};
use phrasegen::phrase::Phrase;
use phrasegen::phrase_edit::{change_note, delete_note, mute_note};
use phrasegen::plugin::PhraseGen;

fn playing(h: &Host) -> Option<Phrase> {
    h.plugin.shared().params.phrase.phrase()
}

#[test]
fn an_edited_phrase_plays_is_saved_kept_in_the_history_and_heard_in_kept_bars() {
    let mut h = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    h.run_until_playing(1, 2000);
    let shared = h.plugin.shared();
    let original = playing(&h).unwrap();
    let first_bar = original.steps_per_bar();
    let in_bar_1 = original
        .notes
        .iter()
        .position(|n| n.start_step < first_bar)
        .unwrap();
    let note = original.notes[in_bar_1];
    let changed = change_note(
        &delete_note(&original, original.notes.len() - 1),
        in_bar_1,
        note.pitch.saturating_sub(5),
        note.length_steps + 2,
    );
    // Another note of bar 1 muted: it stays in the phrase's muted notes only.
    let other_in_bar_1 = (0..changed.notes.len())
        .find(|&i| {
            changed.notes[i].start_step < first_bar && changed.notes[i] != changed.notes[in_bar_1]
        })
        .expect("test setup: two notes in bar 1");
    let muted_note = changed.notes[other_in_bar_1];
    let edited = mute_note(&changed, other_in_bar_1);
    assert_ne!(edited, original);
    assert_eq!(edited.muted, vec![muted_note]);
    let generations = shared.generations.load(Ordering::Acquire);
    *shared.edited.lock() = Some(edited.clone());
    shared.wake();
    h.run_until(
        |h| playing(h).as_ref() == Some(&edited),
        "the edited phrase plays",
    );
    h.blocks(100);
    h.settle();
    assert_eq!(
        shared.generations.load(Ordering::Acquire),
        generations,
        "an edit generates nothing"
    );
    assert_eq!(playing(&h).as_ref(), Some(&edited), "and it stays");
    assert_eq!(
        shared.params.history.read().current().unwrap().saved.phrase,
        edited,
        "the history keeps the edit"
    );

    // Saved with the project.
    let state = save_state(&h.plugin);
    let reopened = PhraseGen::default();
    restore_state(&reopened, &state);
    let mut h2 = Host::new(reopened, 48_000.0, 512, 120.0);
    h2.run_until(
        |h| playing(h).as_ref() == Some(&edited),
        "the reopened project plays the edit",
    );

    // Bar 1 kept, the rest generated anew: bar 1 is the edited bar.
    set_normalized(&shared.params.bar_locks[0].keep, 1.0);
    let id = shared.generated_id.load(Ordering::Acquire);
    shared.regenerate_requests.fetch_add(1, Ordering::AcqRel);
    shared.wake();
    h.run_until_playing(id + 1, 2000);
    let next = playing(&h).unwrap();
    let bar_1 = |p: &Phrase| -> Vec<_> {
        p.notes
            .iter()
            .filter(|n| n.start_step < first_bar)
            .map(|n| (n.start_step, n.pitch))
            .collect()
    };
    assert_eq!(
        bar_1(&next),
        bar_1(&edited),
        "the kept bar is the edited one, without the muted note"
    );
    assert_eq!(
        next.muted,
        vec![muted_note],
        "and its muted note is still there to bring back"
    );
    assert_ne!(next, edited, "the other bars are new");
}
