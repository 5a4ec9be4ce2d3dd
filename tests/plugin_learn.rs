//! *Learn from folder…* in the plugin, driven like a host: training runs beside the worker
//! (phrases keep coming), its result becomes the model playing, is listed in the user's
//! models folder and reopens with the project; Cancel leaves no file; a bad folder is
//! reported and the model playing stays.

mod common;

use std::sync::atomic::Ordering;

use common::host::{restore_state, save_state, Host};
use common::styles::{arpeggio_piece, style_a_model, write_folder};
use phrasegen::plugin::learn::{LearnState, Learning};
use phrasegen::plugin::user_models::list_models;
use phrasegen::plugin::PhraseGen;

/// A host playing with the small style-A model file chosen.
fn host_with_start_model(dir: &std::path::Path) -> Host {
    let start = dir.join("scales.safetensors");
    style_a_model(&start);
    let mut h = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    let shared = h.plugin.shared();
    *shared.params.model_path.write() = Some(start.display().to_string());
    shared.model_requests.fetch_add(1, Ordering::AcqRel);
    h.run_until(
        |h| h.plugin.shared().status.lock().model_name == "scales",
        "the start model loaded",
    );
    h
}

#[test]
fn the_learned_model_plays_is_listed_and_reopens_with_the_project() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = host_with_start_model(dir.path());
    let folder = dir.path().join("my-clips");
    write_folder(&folder, 12, |i| arpeggio_piece(4, i));
    let models = dir.path().join("models");
    let shared = h.plugin.shared();
    shared.learn_from(folder, models.clone());
    // However long training takes on a busy machine: the run's end is the event waited for.
    let learning = shared.learning.lock().clone().expect("a run");
    learning.join();
    let view = learning.view();
    let LearnState::Done(path) = &view.state else {
        panic!("learning ended as {:?}: {:?}", view.state, view.lines)
    };
    assert!(
        view.lines.iter().any(|l| l.contains("to learn from")),
        "{:?}",
        view.lines
    );
    assert_eq!(list_models(&models), vec![path.clone()]);
    h.run_until(
        |h| h.plugin.shared().status.lock().model_name == "my-clips (from scales)",
        "the learned model playing",
    );
    assert_eq!(
        shared.params.model_path.read().as_deref(),
        Some(path.display().to_string().as_str())
    );

    let state = save_state(&h.plugin);
    let reopened = PhraseGen::default();
    restore_state(&reopened, &state);
    let mut h2 = Host::new(reopened, 48_000.0, 512, 120.0);
    h2.run_until(
        |h| h.plugin.shared().status.lock().model_name == "my-clips (from scales)",
        "the reopened project plays the learned model",
    );
    assert!(h2.plugin.shared().status.lock().model_error.is_none());
}

#[test]
fn phrases_keep_coming_while_it_learns_and_cancel_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = host_with_start_model(dir.path());
    let folder = dir.path().join("clips");
    write_folder(&folder, 12, |i| arpeggio_piece(4, i));
    let models = dir.path().join("models");
    let start = h.plugin.shared().params.model_path.read().clone().unwrap();
    // A run far longer than the test: it is still training when cancelled.
    let learning = Learning::start_with(
        start,
        folder,
        models.clone(),
        |r| {
            r.epochs = 100_000;
            r.patience = 0;
        },
        |_| panic!("a cancelled run adopts nothing"),
    );
    h.run_until(|_| learning.view().fraction > 0.0, "training under way");
    let view = learning.view();
    assert_eq!(view.state, LearnState::Training);
    assert!(
        view.eta.is_some(),
        "the progress bar has a time left: {view:?}"
    );

    let shared = h.plugin.shared();
    let before = shared.generated_id.load(Ordering::Acquire);
    shared.regenerate_requests.fetch_add(1, Ordering::AcqRel);
    shared.wake();
    h.run_until_playing(before + 1, 2_000);
    assert!(
        learning.is_running(),
        "the new phrase came while training went on"
    );

    learning.cancel();
    learning.join();
    assert_eq!(learning.view().state, LearnState::Cancelled);
    assert!(list_models(&models).is_empty());
    assert!(!models.exists() || std::fs::read_dir(&models).unwrap().next().is_none());
}

#[test]
fn a_folder_it_cannot_learn_from_is_reported_and_the_model_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = host_with_start_model(dir.path());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let shared = h.plugin.shared();
    shared.learn_from(empty, dir.path().join("models"));
    let learning = shared.learning.lock().clone().expect("a run");
    learning.join();
    let state = learning.view().state;
    let LearnState::Failed(why) = state else {
        panic!("{state:?}")
    };
    assert!(why.contains("no MIDI files"), "{why}");
    h.blocks(4);
    assert_eq!(shared.status.lock().model_name, "scales");
}
