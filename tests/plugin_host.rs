//! The real plugin, driven by a test host that imitates a DAW: notes in time at several
//! tempos and block sizes, note-offs for every note, silence when stopped, loops, seeks,
//! regeneration after a parameter change, and a save/restore round trip.

mod common;

use std::sync::atomic::Ordering;

use common::host::{restore_state, save_state, set_normalized, Host, Played};
use nice_plug::prelude::*;
use phrasegen::plugin::PhraseGen;
use phrasegen::scheduler::PlaybackPhrase;

/// Every on has a matching off later (or is still sounding at the end), never two ons.
fn check_pairs(played: &[Played]) -> usize {
    let mut sounding = std::collections::HashSet::new();
    for &(_, on, pitch, ch) in played {
        if on {
            assert!(sounding.insert((pitch, ch)), "pitch {pitch} started twice");
        } else {
            sounding.remove(&(pitch, ch));
        }
    }
    sounding.len()
}

#[test]
fn notes_play_on_the_beat_at_several_tempos_and_block_sizes() {
    for (tempo, block) in [(90.0, 64), (120.0, 441), (173.5, 512), (120.0, 2048)] {
        let mut host = Host::new(PhraseGen::default(), 48_000.0, block, tempo);
        host.run_until_playing(1, 2000);
        let shared = host.plugin.shared();
        let phrase = shared
            .params
            .phrase
            .phrase()
            .expect("a phrase was generated");
        assert!(!phrase.notes.is_empty());
        // Play two full passes of the phrase from the start of the timeline.
        let mut host2 = Host::new(PhraseGen::default(), 48_000.0, block, tempo);
        host2.run_until_playing(1, 2000);
        host2.pos_samples = 0;
        host2.played.clear();
        host2.playing = false;
        host2.block(); // a stop between: releases anything
        host2.playing = true;
        host2.played.clear();
        let samples_per_beat = 60.0 / tempo * 48_000.0;
        let phrase = host2.plugin.shared().params.phrase.phrase().unwrap();
        let length = phrase.length_beats();
        let blocks = (2.0 * length * samples_per_beat / block as f64) as usize;
        host2.blocks(blocks);
        let playback = PlaybackPhrase::from_phrase(&phrase, 0, 0.0, 1, 0);
        let end = (blocks * block) as f64;
        let mut expected: Vec<(u64, u8)> = Vec::new();
        for cycle in 0..3 {
            for n in &playback.notes {
                let t = (cycle as f64 * length + n.start_beats) * samples_per_beat;
                if t.round() < end - 1.0 {
                    expected.push((t.round() as u64, n.pitch));
                }
            }
        }
        expected.sort();
        let mut ons: Vec<(u64, u8)> = host2
            .played
            .iter()
            .filter(|p| p.1 && (p.0 as f64) < end - 1.0)
            .map(|p| (p.0, p.2))
            .collect();
        ons.sort();
        assert_eq!(ons.len(), expected.len(), "tempo {tempo} block {block}");
        for (got, want) in ons.iter().zip(&expected) {
            assert_eq!(got.1, want.1);
            // The scheduler's own tests check the exact sample; here the host's position
            // goes through seconds-to-beats conversions, so a half-way tie may land either side.
            assert!(
                got.0.abs_diff(want.0) <= 1,
                "tempo {tempo} block {block}: {got:?} vs {want:?}"
            );
        }
        check_pairs(&host2.played);
    }
}

#[test]
fn stopping_releases_everything_and_stays_silent() {
    let mut host = Host::new(PhraseGen::default(), 44_100.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    host.blocks(400);
    host.playing = false;
    host.block();
    assert_eq!(
        check_pairs(&host.played),
        0,
        "a note was left hanging after stop"
    );
    let before = host.played.len();
    host.blocks(100);
    assert_eq!(host.played.len(), before, "events while stopped");
}

#[test]
fn seeks_and_loops_never_leave_a_note_hanging() {
    let mut host = Host::new(PhraseGen::default(), 44_100.0, 256, 128.0);
    host.run_until_playing(1, 2000);
    for i in 0..600u64 {
        if i % 97 == 0 {
            host.pos_samples = (i * 7919) % 400_000; // seek
        }
        host.loop_beats = if i > 300 { Some((4.0, 6.0)) } else { None };
        if host.loop_beats.is_some() && host.pos_beats() >= 6.0 {
            host.pos_samples = (4.0 / 128.0 * 60.0 * 44_100.0) as u64;
        }
        host.block();
    }
    host.playing = false;
    host.block();
    assert_eq!(check_pairs(&host.played), 0);
    assert!(
        host.played.len() > 20,
        "expected music, got {} events",
        host.played.len()
    );
}

#[test]
fn a_temperature_change_brings_a_new_phrase_within_bounded_blocks() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    let first = shared.params.phrase.phrase().unwrap();
    // A sweep: one change per block, as automation does. Generation must coalesce.
    for i in 0..50 {
        set_normalized(&shared.params.temperature, 0.3 + i as f32 * 0.004);
        host.block();
    }
    // Wait until the worker has looked at the last value (the event, however busy the
    // machine is).
    host.settle();
    let generated = shared.generated_id.load(Ordering::Acquire);
    assert!(generated >= 2, "the change was not picked up");
    assert!(
        generated < 40,
        "{generated} generations for 50 automation steps: not coalesced"
    );
    // It takes over at the next bar: within a bar's worth of blocks (2 s at 120 BPM).
    let blocks = host.run_until_playing(generated, 200);
    assert!(blocks <= 200);
    let second = shared.params.phrase.phrase().unwrap();
    assert_ne!(first, second);
    check_pairs(&host.played);
}

#[test]
fn lock_freezes_the_phrase() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    set_normalized(&shared.params.lock, 1.0);
    set_normalized(&shared.params.seed, 0.7);
    host.blocks(20);
    // The worker has seen the new seed while locked, and made nothing of it.
    host.settle();
    host.blocks(5);
    assert_eq!(shared.generated_id.load(Ordering::Acquire), 1);
    set_normalized(&shared.params.lock, 0.0);
    host.run_until_playing(2, 2000);
}

#[test]
fn saving_and_reopening_plays_the_same_phrase_without_regenerating() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    set_normalized(&host.plugin.shared().params.seed, 0.3);
    host.run_until_playing(1, 2000);
    host.settle();
    host.blocks(2);
    let state = save_state(&host.plugin);
    let saved = host.plugin.shared().params.phrase.phrase().unwrap();

    // Reopen: a new instance gets the state before activation, as hosts do.
    let reopened = PhraseGen::default();
    restore_state(&reopened, &state);
    let mut host2 = Host::new(reopened, 48_000.0, 512, 120.0);
    host2.blocks(50);
    host2.settle();
    host2.blocks(50);
    let shared2 = host2.plugin.shared();
    assert_eq!(
        shared2.generations.load(Ordering::Acquire),
        0,
        "regenerated on reopen"
    );
    assert_eq!(shared2.params.phrase.phrase().unwrap(), saved);
    assert!(
        host2.played.iter().any(|p| p.1),
        "the restored phrase plays"
    );
}

#[test]
fn a_corrupt_saved_phrase_falls_back_to_generating() {
    let plugin = PhraseGen::default();
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("phrase".to_string(), "{not json".to_string());
    plugin.params().deserialize_fields(&fields);
    let mut host = Host::new(plugin, 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    assert!(host.plugin.shared().params.phrase.phrase().is_some());
}

#[test]
fn a_bad_model_file_is_reported_and_the_old_model_stays() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    *shared.params.model_path.write() = Some("/nonexistent/model.safetensors".into());
    shared.model_requests.fetch_add(1, Ordering::AcqRel);
    host.settle();
    host.blocks(5);
    let status = shared.status.lock().clone();
    let error = status.model_error.expect("the failure is reported");
    assert!(error.contains("/nonexistent/model.safetensors"), "{error}");
    assert!(error.contains("still using bach-chorales"), "{error}");
    assert_eq!(status.model_name, "bach-chorales");
    host.blocks(100);
    assert!(host.played.iter().any(|p| p.1), "still playing");
}

#[test]
fn played_notes_are_recorded_as_the_primer_and_passed_through() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    set_normalized(&shared.params.midi_thru, 1.0);
    set_normalized(&shared.params.record, 1.0);
    host.block();
    use nice_plug::midi::{Channel, Key, VoiceID};
    for (i, pitch) in [60u8, 64, 67].iter().enumerate() {
        host.ctx.input.push_back(NoteEvent::NoteOn {
            timing: 10 * i as u32,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(0),
            key: Key::Number(*pitch),
            velocity: 0.8,
        });
    }
    host.played.clear();
    host.block();
    assert!(
        host.played
            .iter()
            .filter(|p| p.1 && [60, 64, 67].contains(&p.2))
            .count()
            >= 3,
        "input passed through"
    );
    for pitch in [60u8, 64, 67] {
        host.ctx.input.push_back(NoteEvent::NoteOff {
            timing: 5,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(0),
            key: Key::Number(pitch),
            velocity: 0.0,
        });
    }
    host.blocks(10);
    host.settle(); // the worker has collected the recorded notes
    set_normalized(&shared.params.record, 0.0);
    // Stopping the recording makes a new phrase that continues what was played.
    host.run_until_playing(2, 2000);
}

#[test]
fn the_cli_exports_the_phrase_of_a_saved_plugin_state() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let (_, fields) = save_state(&host.plugin);
    let state = serde_json::json!({"version": "0.1.0", "params": {}, "fields": fields});
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    std::fs::write(&state_path, state.to_string()).unwrap();
    let out_path = dir.path().join("clip.mid");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_phrasegen"))
        .args(["export-state"])
        .arg(&state_path)
        .arg("-o")
        .arg(&out_path)
        .status()
        .unwrap();
    assert!(status.success());
    let saved = host.plugin.shared().params.phrase.phrase().unwrap();
    let back = phrasegen::midi::import_file(&out_path, &Default::default()).unwrap();
    assert_eq!(back.phrase.notes, saved.notes);
    assert_eq!(back.phrase.bars, saved.bars);
}
