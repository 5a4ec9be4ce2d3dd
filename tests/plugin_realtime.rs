//! `process()` never allocates or frees: checked by an allocator that counts any
//! (de)allocation on the audio thread, across regeneration, transport changes, parameter
//! automation, loops, seeks and MIDI input.

mod common;

use common::host::{set_normalized, Host};
use nice_assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;
use phrasegen::plugin::PhraseGen;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[test]
fn process_never_allocates() {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 2000);
    let shared = host.plugin.shared();
    set_normalized(&shared.params.midi_thru, 1.0);
    set_normalized(&shared.params.record, 1.0);
    // The checker itself works: an allocation inside is counted.
    common::assert_alloc_checker_active();
    let mut phrases_seen = 1;
    let mut generations_driven = 0;
    for i in 0..3000u64 {
        // Automation every block, new phrases arriving, seeks, loops, stops, input notes,
        // previews from clicked bars.
        set_normalized(&shared.params.temperature, (i % 100) as f32 / 100.0);
        if i % 500 == 250 {
            set_normalized(&shared.params.swap, 0.0); // immediately
        }
        if i % 400 == 0 {
            host.pos_samples = (i * 3331) % 500_000;
        }
        host.playing = i % 700 < 650;
        host.loop_beats = (i % 1000 > 800).then_some((0.0, 3.0));
        // Preview while stopped, with bars clicked on the roll.
        set_normalized(
            &shared.params.free_run,
            if i % 700 >= 660 { 1.0 } else { 0.0 },
        );
        if i % 700 == 670 || i % 700 == 690 {
            shared
                .preview_from_bar
                .store(1 + i % 4, std::sync::atomic::Ordering::Release);
        }
        if i % 50 == 0 {
            host.ctx.input.push_back(NoteEvent::NoteOn {
                timing: 3,
                voice_id: VoiceID::Wildcard,
                channel: Channel::Number(0),
                key: Key::Number(60),
                velocity: 0.5,
            });
            host.ctx.input.push_back(NoteEvent::NoteOff {
                timing: 200,
                voice_id: VoiceID::Wildcard,
                channel: Channel::Number(0),
                key: Key::Number(60),
                velocity: 0.0,
            });
        }
        host.block_with(|process| assert_no_alloc(process));
        if i % 300 == 150 {
            // An edit on the roll (a note deleted, another muted), played at once; waited
            // for outside.
            if let Some(p) = shared.params.phrase.phrase() {
                use phrasegen::phrase_edit::{delete_note, mute_note};
                let edited = mute_note(&delete_note(&p, 0), 0);
                *shared.edited.lock() = Some(edited);
                shared.wake();
                host.settle();
            }
        }
        if i % 300 == 299 {
            // Drive regeneration: a new seed, and wait (outside `process()`) until the
            // worker has made that phrase, so new phrases arrive during the run however
            // little CPU the worker gets.
            generations_driven += 1;
            set_normalized(&shared.params.seed, generations_driven as f32 * 0.05);
            host.settle();
        }
        phrases_seen =
            phrases_seen.max(shared.playing_id.load(std::sync::atomic::Ordering::Relaxed));
    }
    assert_eq!(generations_driven, 10);
    assert!(
        phrases_seen >= 3,
        "new phrases took over during the run ({phrases_seen} phrases played)"
    );
    assert!(host.played.len() > 100);
    assert_eq!(violation_count(), 0, "process() allocated or freed memory");

    // Harmonize, Accompany and Answer modes: keys pressed and released, the live engine
    // arriving and replaced (a new seed rebuilds it), the mode switched between them all.
    let played_before = host.played.len();
    set_normalized(&shared.params.mode, 1.0 / 3.0);
    host.settle();
    for i in 0..2000u64 {
        if i % 400 == 200 {
            set_normalized(&shared.params.seed, (i % 7) as f32 * 0.1);
            host.settle();
        }
        if i % 700 == 650 {
            set_normalized(&shared.params.mode, 0.0);
        }
        if i % 700 == 660 {
            // Harmonize, Accompany, then Answer.
            set_normalized(
                &shared.params.mode,
                [1.0 / 3.0, 2.0 / 3.0, 1.0][(i / 700) as usize % 3],
            );
            host.settle();
        }
        host.playing = i % 300 < 250;
        let key = Key::Number(55 + (i * 5 % 24) as u8);
        if i % 3 == 0 {
            host.ctx.input.push_back(NoteEvent::NoteOn {
                timing: (i * 37 % 500) as u32,
                voice_id: VoiceID::Wildcard,
                channel: Channel::Number(0),
                key,
                velocity: 0.7,
            });
        } else if i % 3 == 2 {
            let key = Key::Number(55 + ((i - 2) * 5 % 24) as u8);
            host.ctx.input.push_back(NoteEvent::NoteOff {
                timing: 11,
                voice_id: VoiceID::Wildcard,
                channel: Channel::Number(0),
                key,
                velocity: 0.0,
            });
        }
        host.block_with(|process| assert_no_alloc(process));
    }
    assert!(
        host.played.len() > played_before + 1500,
        "keys and voices were played ({} events)",
        host.played.len() - played_before
    );
    assert_eq!(
        violation_count(),
        0,
        "process() allocated or freed memory harmonizing"
    );
}
