//! The scheduler against fake hosts: notes land on the right sample at any tempo and block
//! size, every note-on gets its note-off, and stops, seeks, loops and swaps never leave a
//! note hanging.

use phrasegen::phrase::{Note, Phrase, TimeSignature};
use phrasegen::scheduler::{
    EventBuffer, NoteEvent, PlaybackPhrase, Scheduler, SwapAt, TransportSnapshot,
};
use proptest::prelude::*;

fn phrase(notes: &[(u32, u8, u32)], bars: u32) -> Phrase {
    let mut p = Phrase::empty(bars, 4, TimeSignature::FOUR_FOUR, 120.0);
    p.notes = notes
        .iter()
        .map(|&(start_step, pitch, length_steps)| Note {
            start_step,
            pitch,
            length_steps,
            velocity: 100,
        })
        .collect();
    p
}

fn playback(p: &Phrase, id: u64) -> Option<Box<PlaybackPhrase>> {
    Some(Box::new(PlaybackPhrase::from_phrase(p, 0, 0.0, 1, id)))
}

/// A host that plays from `start_beats` at a constant tempo.
struct FakeHost {
    sample_rate: f64,
    tempo: f64,
    block: u32,
    pos_samples: u64,
    start_beats: f64,
}

impl FakeHost {
    fn transport(&self, playing: bool) -> TransportSnapshot {
        TransportSnapshot {
            playing,
            tempo_bpm: self.tempo,
            pos_beats: Some(
                self.start_beats + self.pos_samples as f64 * self.tempo / 60.0 / self.sample_rate,
            ),
            sample_rate: self.sample_rate,
            block_len_samples: self.block,
            loop_beats: None,
        }
    }
}

/// Runs `blocks` blocks and returns (absolute sample, event) pairs.
fn run(
    host: &mut FakeHost,
    sched: &mut Scheduler,
    current: &mut Option<Box<PlaybackPhrase>>,
    blocks: usize,
) -> Vec<(u64, NoteEvent)> {
    let mut out = EventBuffer::with_capacity(1024);
    let mut pending = None;
    let mut all = Vec::new();
    for _ in 0..blocks {
        let t = host.transport(true);
        sched.process(&t, current, &mut pending, SwapAt::NextBar, None, &mut out);
        for e in out.events() {
            assert!(e.sample < host.block, "event outside the block: {e:?}");
            all.push((host.pos_samples + u64::from(e.sample), *e));
        }
        host.pos_samples += u64::from(host.block);
    }
    all
}

/// A scheduler with its phrase slots and output buffer, as `process()` holds them.
struct Deck {
    sched: Scheduler,
    current: Option<Box<PlaybackPhrase>>,
    pending: Option<Box<PlaybackPhrase>>,
    out: EventBuffer,
}

impl Deck {
    fn new(current: Option<Box<PlaybackPhrase>>, capacity: usize) -> Self {
        Self {
            sched: Scheduler::new(),
            current,
            pending: None,
            out: EventBuffer::with_capacity(capacity),
        }
    }

    /// One block, new phrases taking over at the next bar; returns a retired phrase.
    fn block(
        &mut self,
        transport: &TransportSnapshot,
        free_run_tempo: Option<f64>,
    ) -> Option<Box<PlaybackPhrase>> {
        self.sched.process(
            transport,
            &mut self.current,
            &mut self.pending,
            SwapAt::NextBar,
            free_run_tempo,
            &mut self.out,
        )
    }
}

#[test]
fn every_note_lands_on_its_sample_at_several_tempos_and_block_sizes() {
    let p = phrase(
        &[
            (0, 60, 2),
            (2, 64, 2),
            (4, 67, 3),
            (8, 60, 1),
            (9, 60, 1),
            (15, 72, 1),
        ],
        1,
    );
    for tempo in [90.0, 120.0, 173.5] {
        for block in [64u32, 441, 512, 2048] {
            let mut host = FakeHost {
                sample_rate: 44_100.0,
                tempo,
                block,
                pos_samples: 0,
                start_beats: 0.0,
            };
            let mut sched = Scheduler::new();
            let mut current = playback(&p, 1);
            let samples_per_beat = 60.0 / tempo * 44_100.0;
            // Three passes of the one-bar phrase.
            let blocks = (12.0 * samples_per_beat / f64::from(block)).ceil() as usize;
            let events = run(&mut host, &mut sched, &mut current, blocks);
            // (exact time in samples, pitch) of every note-on.
            let mut expected: Vec<(f64, u8)> = Vec::new();
            for cycle in 0..4 {
                for n in &p.notes {
                    let on = cycle as f64 * 4.0 + f64::from(n.start_step) / 4.0;
                    expected.push((on * samples_per_beat, n.pitch));
                }
            }
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut ons: Vec<(u64, u8)> = events
                .iter()
                .filter(|(_, e)| e.on)
                .map(|(s, e)| (*s, e.pitch))
                .collect();
            ons.sort();
            let end = (blocks as u64 * u64::from(block)) as f64 - 1.0;
            expected.retain(|(t, _)| t.round() < end);
            ons.retain(|(s, _)| (*s as f64) < end);
            assert_eq!(ons.len(), expected.len(), "tempo {tempo}, block {block}");
            for ((got, gp), (time, wp)) in ons.iter().zip(&expected) {
                assert_eq!(gp, wp);
                // On the sample the exact time rounds to; a time exactly half-way between
                // two samples may go to either (floating point cannot promise which).
                let tie =
                    (time.fract() - 0.5).abs() < 1e-6 && (*got as f64 - time).abs() <= 0.5 + 1e-6;
                assert!(
                    *got as f64 == time.round() || tie,
                    "tempo {tempo}, block {block}: note {gp} at {got}, exact time {time}"
                );
            }
            // Offs: every on is followed by an off of its pitch before the pitch starts again.
            let mut sounding = [false; 128];
            for (_, e) in &events {
                let p = usize::from(e.pitch);
                if e.on {
                    assert!(!sounding[p], "pitch {p} started twice without an off");
                }
                sounding[p] = e.on;
            }
        }
    }
}

#[test]
fn repeated_notes_are_released_before_they_restart() {
    // Two sixteenths of C4 back to back.
    let p = phrase(&[(8, 60, 1), (9, 60, 1)], 1);
    let mut host = FakeHost {
        sample_rate: 48_000.0,
        tempo: 120.0,
        block: 256,
        pos_samples: 0,
        start_beats: 0.0,
    };
    let mut sched = Scheduler::new();
    let events = run(&mut host, &mut sched, &mut playback(&p, 1), 300);
    let c4: Vec<(u64, bool)> = events
        .iter()
        .filter(|(_, e)| e.pitch == 60)
        .map(|(s, e)| (*s, e.on))
        .take(4)
        .collect();
    // 2 beats = 48000 samples; a sixteenth = 6000 samples at 120 BPM.
    assert_eq!(
        c4,
        vec![
            (48_000, true),
            (54_000, false),
            (54_000, true),
            (60_000, false)
        ]
    );
}

#[test]
fn stop_seek_and_loop_wrap_release_everything() {
    let p = phrase(&[(0, 60, 16)], 1); // a whole-bar note
    let mut deck = Deck::new(playback(&p, 1), 256);
    let t = |playing, pos: f64, loop_beats| TransportSnapshot {
        playing,
        tempo_bpm: 120.0,
        pos_beats: Some(pos),
        sample_rate: 48_000.0,
        block_len_samples: 480, // 0.02 beats
        loop_beats,
    };
    deck.block(&t(true, 0.0, None), None);
    assert_eq!(deck.out.events().len(), 1);
    assert!(deck.out.events()[0].on);
    // Stop: the note is released at once, and nothing plays while stopped.
    deck.block(&t(false, 0.02, None), None);
    assert_eq!(
        deck.out.events(),
        &[NoteEvent {
            sample: 0,
            on: false,
            pitch: 60,
            channel: 0,
            velocity: 0.0
        }]
    );
    deck.block(&t(false, 0.02, None), None);
    assert!(deck.out.events().is_empty());
    // Restart, then seek into the middle of the note: released, not restarted mid-note.
    deck.block(&t(true, 0.0, None), None);
    deck.block(&t(true, 2.5, None), None);
    assert_eq!(deck.out.events().len(), 1);
    assert!(!deck.out.events()[0].on);
    assert!(!deck.sched.any_sounding());
    // A loop 0..0.99 beats, played continuously: the wrap falls inside the block at 0.98,
    // and the sounding note is released and restarted exactly there.
    for i in 0..=49 {
        let tr = t(true, f64::from(i) * 0.02, Some((0.0, 0.99)));
        deck.block(&tr, None);
    }
    let ev: Vec<(u32, bool)> = deck.out.events().iter().map(|e| (e.sample, e.on)).collect();
    assert_eq!(ev, vec![(240, false), (240, true)]);
}

#[test]
fn a_new_phrase_takes_over_at_the_next_bar_with_note_offs() {
    let old = phrase(&[(0, 60, 64)], 4);
    // The new phrase is aligned to the host's bars: its second bar starts at beat 4.
    let new = phrase(&[(0, 72, 4), (16, 74, 4)], 4);
    let mut deck = Deck::new(playback(&old, 1), 256);
    let block = 4800u32; // 0.2 beats at 120 BPM, 48 kHz
    let mut swapped_at = None;
    for i in 0..40u32 {
        if i == 7 {
            deck.pending = playback(&new, 2); // arrives during beat 1.4
        }
        let t = TransportSnapshot {
            playing: true,
            tempo_bpm: 120.0,
            pos_beats: Some(f64::from(i) * 0.2),
            sample_rate: 48_000.0,
            block_len_samples: block,
            loop_beats: None,
        };
        let retired = deck.block(&t, None);
        if let Some(r) = retired {
            assert_eq!(r.id, 1);
            let ev: Vec<(u32, bool, u8)> = deck
                .out
                .events()
                .iter()
                .map(|e| (e.sample, e.on, e.pitch))
                .collect();
            // Beat 4.0 is 0.0 beats into block 20: old note off, new note on, same sample.
            assert_eq!(ev, vec![(0, false, 60), (0, true, 74)]);
            swapped_at = Some(i);
        }
    }
    assert_eq!(swapped_at, Some(20));
    assert_eq!(deck.current.unwrap().id, 2);
}

#[test]
fn free_run_plays_without_a_host_clock_and_silence_otherwise() {
    let p = phrase(&[(0, 60, 2)], 1);
    let mut deck = Deck::new(playback(&p, 1), 64);
    let none = TransportSnapshot {
        playing: false,
        tempo_bpm: 0.0,
        pos_beats: None,
        sample_rate: 48_000.0,
        block_len_samples: 512,
        loop_beats: None,
    };
    deck.block(&none, None);
    assert!(deck.out.events().is_empty());
    deck.block(&none, Some(120.0));
    assert_eq!(deck.out.events().len(), 1);
    assert!(deck.out.events()[0].on);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random hosts: seeks, stops, tempo changes, loops, swaps. Every on gets an off, no
    /// event leaves its block, and after a final stop nothing sounds.
    #[test]
    fn random_transports_never_leave_a_note_hanging(
        moves in prop::collection::vec((0u8..6, 0.0f64..32.0, 40.0f64..240.0, 16u32..2048), 1..60),
        notes in prop::collection::vec((0u32..32, 0u8..128, 1u32..20), 1..12),
    ) {
        let p = phrase(&notes, 2);
        let mut sched = Scheduler::new();
        let mut current = playback(&p, 1);
        let mut pending = None;
        let mut out = EventBuffer::with_capacity(1024);
        let mut sounding = [false; 128];
        let mut pos = 0.0f64;
        let mut playing = true;
        for (i, (kind, where_, tempo, block)) in moves.into_iter().enumerate() {
            match kind {
                0 => pos = where_,                 // seek
                1 => playing = !playing,           // start/stop
                2 => pending = playback(&phrase(&notes[..notes.len() / 2 + 1], 1), i as u64 + 2),
                _ => {}
            }
            let loop_beats = (kind == 3).then_some((0.0, 1.0 + where_ / 8.0));
            let t = TransportSnapshot { playing, tempo_bpm: tempo, pos_beats: Some(pos), sample_rate: 44_100.0, block_len_samples: block, loop_beats };
            sched.process(&t, &mut current, &mut pending, SwapAt::Immediately, None, &mut out);
            for e in out.events() {
                prop_assert!(e.sample < block);
                let s = &mut sounding[usize::from(e.pitch)];
                if e.on { prop_assert!(!*s, "double on {:?}", e); }
                *s = e.on;
            }
            if playing {
                pos += f64::from(block) * tempo / 60.0 / 44_100.0;
                if let Some((a, b)) = loop_beats { if pos >= b { pos = a + (pos - b); } }
            }
        }
        let stop = TransportSnapshot { playing: false, tempo_bpm: 120.0, pos_beats: Some(pos), sample_rate: 44_100.0, block_len_samples: 64, loop_beats: None };
        sched.process(&stop, &mut current, &mut pending, SwapAt::Immediately, None, &mut out);
        for e in out.events() {
            prop_assert!(!e.on);
            sounding[usize::from(e.pitch)] = false;
        }
        prop_assert!(sounding.iter().all(|s| !s), "stuck notes after stop");
        prop_assert!(!sched.any_sounding());
    }
}
