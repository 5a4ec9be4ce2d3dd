//! The phrase history, driven like a host: every phrase generated is kept with how it was
//! made; back, next and A/B bring one back to play (and so to be saved and exported); a
//! star keeps it; the history, the stars and the phrase brought back reopen with the
//! project.

mod common;

use std::sync::atomic::Ordering;

use common::host::{restore_state, save_state, Host};
use phrasegen::phrase::Phrase;
use phrasegen::plugin::history::PhraseHistory;
use phrasegen::plugin::PhraseGen;

fn host() -> Host {
    Host::new(PhraseGen::default(), 48_000.0, 512, 120.0)
}

/// Presses Generate and waits until the new phrase plays.
fn generate_next(h: &mut Host) {
    let shared = h.plugin.shared();
    let id = shared.generated_id.load(Ordering::Acquire);
    shared.regenerate_requests.fetch_add(1, Ordering::AcqRel);
    shared.wake();
    h.run_until_playing(id + 1, 2000);
}

fn playing(h: &Host) -> Option<Phrase> {
    h.plugin.shared().params.phrase.phrase()
}

/// Moves in the history as the window's buttons do, then waits until `expected` plays.
fn move_in_history(h: &mut Host, step: impl FnOnce(&mut PhraseHistory), expected: &Phrase) {
    let shared = h.plugin.shared();
    step(&mut shared.params.history.write());
    shared.history_requests.fetch_add(1, Ordering::AcqRel);
    shared.wake();
    h.run_until(
        |h| playing(h).as_ref() == Some(expected),
        "the phrase brought back plays",
    );
}

#[test]
fn back_next_and_ab_bring_phrases_back_and_the_history_reopens_with_the_project() {
    let mut h = host();
    h.run_until_playing(1, 2000);
    generate_next(&mut h);
    generate_next(&mut h);
    let shared = h.plugin.shared();
    let phrases: Vec<Phrase> = shared
        .params
        .history
        .read()
        .entries
        .iter()
        .map(|e| e.saved.phrase.clone())
        .collect();
    assert_eq!(phrases.len(), 3, "every phrase generated is kept");
    assert!(phrases[0] != phrases[1] && phrases[1] != phrases[2]);
    assert_eq!(playing(&h).as_ref(), Some(&phrases[2]));
    let label = shared.params.history.read().entries[2].label.clone();
    assert!(
        label.contains("bach-chorales") && label.contains("seed"),
        "{label}"
    );

    move_in_history(
        &mut h,
        |hist| {
            hist.back();
        },
        &phrases[1],
    );
    move_in_history(
        &mut h,
        |hist| {
            hist.swap_ab();
        },
        &phrases[2],
    );
    move_in_history(
        &mut h,
        |hist| {
            hist.swap_ab();
        },
        &phrases[1],
    );
    move_in_history(
        &mut h,
        |hist| {
            hist.forward();
        },
        &phrases[2],
    );
    move_in_history(
        &mut h,
        |hist| {
            hist.go_to(0);
            hist.toggle_star();
        },
        &phrases[0],
    );
    // It stays: the settings of the moment count as its own (no regeneration).
    let generations = shared.generations.load(Ordering::Acquire);
    h.blocks(200);
    h.settle();
    assert_eq!(shared.generations.load(Ordering::Acquire), generations);
    assert_eq!(playing(&h).as_ref(), Some(&phrases[0]));

    let state = save_state(&h.plugin);
    let reopened = PhraseGen::default();
    restore_state(&reopened, &state);
    let mut h2 = Host::new(reopened, 48_000.0, 512, 120.0);
    h2.run_until(
        |h| playing(h).as_ref() == Some(&phrases[0]),
        "the reopened project plays the phrase brought back",
    );
    let history = h2.plugin.shared().params.history.read().clone();
    assert_eq!(history.entries.len(), 3);
    assert!(history.entries[0].starred, "the star is kept");
    assert_eq!(history.position, Some(0));
    assert_eq!(history.entries[2].saved.phrase, phrases[2]);

    // Going on from there: a new phrase joins the history, and A/B compares it with the
    // starred one.
    generate_next(&mut h2);
    let newest = playing(&h2).unwrap();
    assert_eq!(h2.plugin.shared().params.history.read().entries.len(), 4);
    move_in_history(
        &mut h2,
        |hist| {
            hist.swap_ab();
        },
        &phrases[0],
    );
    move_in_history(
        &mut h2,
        |hist| {
            hist.swap_ab();
        },
        &newest,
    );
}
