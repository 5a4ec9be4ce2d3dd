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
            ..Default::default()
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
        ..Default::default()
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
    // Restart, then seek into the middle of the note: released, and struck again there
    // (chase), as a DAW does for a MIDI clip.
    deck.block(&t(true, 0.0, None), None);
    deck.block(&t(true, 2.5, None), None);
    let ev: Vec<(u32, bool)> = deck.out.events().iter().map(|e| (e.sample, e.on)).collect();
    assert_eq!(ev, vec![(0, false), (0, true)]);
    assert!(deck.sched.any_sounding());
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
            ..Default::default()
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
        ..Default::default()
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
            let t = TransportSnapshot { playing, tempo_bpm: tempo, pos_beats: Some(pos), sample_rate: 44_100.0, block_len_samples: block, loop_beats, ..Default::default() };
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
        let stop = TransportSnapshot { playing: false, tempo_bpm: 120.0, pos_beats: Some(pos), sample_rate: 44_100.0, block_len_samples: 64, loop_beats: None, ..Default::default() };
        sched.process(&stop, &mut current, &mut pending, SwapAt::Immediately, None, &mut out);
        for e in out.events() {
            prop_assert!(!e.on);
            sounding[usize::from(e.pitch)] = false;
        }
        prop_assert!(sounding.iter().all(|s| !s), "stuck notes after stop");
        prop_assert!(!sched.any_sounding());
    }
}

/// A played note: pitch, absolute on and off samples.
type Heard = (u8, u64, u64);

/// Plays `p` for `blocks` blocks of `block` samples at 48 kHz, asking `host` for the transport
/// of each block (given the block's exact start in samples), and pairs ons with offs. Panics
/// on a double note-on or an off without an on.
fn listen(
    p: &PlaybackPhrase,
    block: u32,
    blocks: u64,
    mut host: impl FnMut(u64) -> TransportSnapshot,
) -> Vec<Heard> {
    let mut deck = Deck::new(Some(Box::new(p.clone())), 1024);
    let mut open: [Option<u64>; 128] = [None; 128];
    let mut heard = Vec::new();
    for b in 0..blocks {
        let at = b * u64::from(block);
        let mut t = host(at);
        t.block_len_samples = block;
        deck.block(&t, None);
        for e in deck.out.events() {
            let abs = at + u64::from(e.sample);
            let slot = &mut open[usize::from(e.pitch)];
            if e.on {
                assert!(slot.is_none(), "double note-on {e:?} at {abs}");
                *slot = Some(abs);
            } else {
                let on = slot
                    .take()
                    .unwrap_or_else(|| panic!("off without on {e:?} at {abs}"));
                heard.push((e.pitch, on, abs));
            }
        }
    }
    heard.sort();
    heard
}

/// What an exact host hears: every note of the phrase over `beats`, at 120 BPM / 48 kHz.
fn expected_notes(p: &PlaybackPhrase, beats: f64) -> Vec<Heard> {
    let samples_per_beat = 24_000.0;
    let mut v = Vec::new();
    let mut cycle = 0.0;
    while cycle < beats {
        for n in &p.notes {
            let (on, off) = (cycle + n.start_beats, cycle + n.end_beats);
            if off < beats {
                v.push((
                    n.pitch,
                    (on * samples_per_beat).round() as u64,
                    (off * samples_per_beat).round() as u64,
                ));
            }
        }
        cycle += p.length_beats;
    }
    v.sort();
    v
}

/// Each expected note is heard with its onset within `onset_tol` samples and its length
/// within `length_tol` samples.
fn assert_heard(heard: &[Heard], expected: &[Heard], onset_tol: i64, length_tol: i64) {
    for &(pitch, on, off) in expected {
        let m = heard
            .iter()
            .find(|h| h.0 == pitch && (h.1 as i64 - on as i64).abs() <= onset_tol)
            .unwrap_or_else(|| panic!("note {pitch} at sample {on} never started"));
        let (len, want) = (m.2 as i64 - m.1 as i64, off as i64 - on as i64);
        assert!(
            (len - want).abs() <= length_tol,
            "note {pitch} at {on}: lasted {len} samples, should last {want}"
        );
    }
}

fn chord_phrase() -> PlaybackPhrase {
    // Long chord tones, a moving line and repeated sixteenths.
    let p = phrase(
        &[
            (0, 48, 16),
            (0, 55, 8),
            (8, 57, 8),
            (0, 64, 1),
            (1, 64, 1),
            (2, 65, 2),
            (4, 67, 4),
            (12, 72, 3),
        ],
        1,
    );
    PlaybackPhrase::from_phrase(&p, 0, 0.0, 1, 1)
}

fn at_120(at: u64) -> TransportSnapshot {
    TransportSnapshot {
        playing: true,
        tempo_bpm: 120.0,
        pos_beats: Some(at as f64 / 24_000.0),
        sample_rate: 48_000.0,
        ..Default::default()
    }
}

#[test]
fn beats_rounded_to_the_hosts_tick_keep_every_note_whole() {
    // Ardour reports beats rounded to 1/1920: 12.5 samples at 120 BPM and 48 kHz.
    let p = chord_phrase();
    let expected = expected_notes(&p, 8.0);
    for block in [256u32, 1024, 64, 1000] {
        let heard = listen(&p, block, 8 * 24_000 / u64::from(block), |at| {
            let mut t = at_120(at);
            t.pos_beats = t.pos_beats.map(|b| (b * 1920.0).round() / 1920.0);
            t
        });
        assert_heard(&heard, &expected, 13, 1);
        assert_eq!(heard.len(), expected.len(), "block {block}: {heard:?}");
    }
}

#[test]
fn seconds_only_hosts_and_jitter_keep_every_note_whole() {
    let p = chord_phrase();
    let expected = expected_notes(&p, 8.0);
    // Seconds rounded to the microsecond, converted to beats as nice-plug does.
    let heard = listen(&p, 512, 8 * 24_000 / 512, |at| {
        let mut t = at_120(at);
        let seconds = (at as f64 / 48_000.0 * 1e6).round() / 1e6;
        t.pos_beats = Some(seconds * 2.0);
        t
    });
    assert_heard(&heard, &expected, 1, 1);
    // Jitter of up to ±3 ms around the true position, deterministic.
    let mut x = 12345u64;
    let heard = listen(&p, 480, 400, |at| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        let jitter_ms = ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 6.0;
        let mut t = at_120(at);
        t.pos_beats = Some((at as f64 / 48_000.0 + jitter_ms / 1e3) * 2.0);
        t
    });
    // Onsets move with the jitter (it is the host's clock), lengths within the jitter; notes
    // ending exactly at the last sample may or may not have ended, nothing else is extra.
    assert_heard(&heard, &expected, 150, 300);
    let at_most = expected_notes(&p, 8.01).len();
    assert!(
        heard.len() >= expected.len() && heard.len() <= at_most,
        "{heard:?}"
    );
}

#[test]
fn a_tempo_ramp_inside_blocks_neither_cuts_nor_repeats_notes() {
    // Tempo rises from 120 to 132 BPM over 8 beats; the host reports the tempo at each
    // block start and the exact integrated position.
    let p = chord_phrase();
    let block = 512u32;
    let mut beats = 0.0f64;
    let mut last_at = 0u64;
    let heard = listen(&p, block, 400, |at| {
        let tempo = 120.0 + 12.0 * (beats / 8.0).min(1.0);
        beats += (at - last_at) as f64 / 48_000.0 * tempo / 60.0;
        last_at = at;
        TransportSnapshot {
            playing: true,
            tempo_bpm: 120.0 + 12.0 * (beats / 8.0).min(1.0),
            pos_beats: Some(beats),
            sample_rate: 48_000.0,
            ..Default::default()
        }
    });
    // Every note of the first 8 beats sounds once, with a positive length close to its
    // length at the tempo of the moment (within 10%).
    let c4s: Vec<_> = heard.iter().filter(|h| h.0 == 48).collect();
    assert!(c4s.len() >= 2, "{heard:?}");
    for h in &heard {
        let len = (h.2 - h.1) as f64;
        let want = p
            .notes
            .iter()
            .find(|n| n.pitch == h.0)
            .map(|n| (n.end_beats - n.start_beats) * 24_000.0)
            .unwrap();
        assert!(
            len > want * 0.88 && len < want * 1.02,
            "{h:?}: {len} vs {want}"
        );
    }
}

#[test]
fn after_a_seek_or_a_start_mid_phrase_sounding_notes_are_struck_again() {
    let p = chord_phrase(); // pitch 48 sounds the whole bar, 55 for the first half
    let mut deck = Deck::new(Some(Box::new(p.clone())), 256);
    // Start at beat 1.0: 48 and 55 are chased at sample 0; 67 starts exactly there.
    let mut t = at_120(24_000);
    t.block_len_samples = 256;
    deck.block(&t, None);
    let ons: Vec<u8> = deck
        .out
        .events()
        .iter()
        .filter(|e| e.on && e.sample == 0)
        .map(|e| e.pitch)
        .collect();
    assert_eq!(ons, vec![48, 55, 67]);
    // Seek to beat 2.5: everything released at sample 0, then 48 and 57 chased.
    let mut t = at_120(60_000);
    t.block_len_samples = 256;
    deck.block(&t, None);
    let ev: Vec<(u32, bool, u8)> = deck
        .out
        .events()
        .iter()
        .map(|e| (e.sample, e.on, e.pitch))
        .collect();
    assert!(
        ev.contains(&(0, false, 48)) && ev.contains(&(0, false, 67)),
        "{ev:?}"
    );
    let chased: Vec<u8> = ev.iter().filter(|e| e.1).map(|e| e.2).collect();
    assert_eq!(chased, vec![48, 57]);
    // A note with less than 1/32 beat left is not struck: jump to 3.99 beats.
    let mut t = at_120((3.99 * 24_000.0) as u64);
    t.block_len_samples = 64;
    deck.block(&t, None);
    assert!(
        deck.out.events().iter().all(|e| !e.on),
        "{:?}",
        deck.out.events()
    );
}

#[test]
fn a_loop_start_chases_the_notes_sounding_there() {
    // Loop beats 1..3: at each wrap, 48 (whole bar) is released and struck again, 55 (first
    // half) too; nothing hangs.
    let p = chord_phrase();
    let block = 500u32;
    let heard = listen(&p, block, 600, |at| {
        let beats = 1.0 + (at as f64 / 24_000.0) % 2.0;
        let mut t = at_120(0);
        t.pos_beats = Some(beats);
        t.loop_beats = Some((1.0, 3.0));
        t
    });
    let c3: Vec<_> = heard.iter().filter(|h| h.0 == 48).collect();
    // 600 blocks of 500 samples = 12.5 beats = 6 loop passes: 48 sounds once per pass.
    assert!(c3.len() >= 6, "{c3:?}");
    for h in &c3 {
        assert!(
            (h.2 - h.1) as i64 >= 47_000,
            "48 cut short in the loop: {h:?}"
        );
    }
}

#[test]
fn phrases_follow_the_hosts_meter_and_bar_numbers() {
    use phrasegen::scheduler::Takeover;
    // A 3/4 phrase of 2 bars (6 beats) with a note on each downbeat.
    let mut p = Phrase::empty(
        2,
        4,
        TimeSignature {
            numerator: 3,
            denominator: 4,
        },
        120.0,
    );
    for (i, pitch) in [(0u32, 60u8), (12, 62)] {
        p.notes.push(Note {
            start_step: i,
            pitch,
            length_steps: 2,
            velocity: 100,
        });
    }
    let pb = PlaybackPhrase::from_phrase(&p, 0, 0.0, 1, 1);
    assert_eq!(pb.length_beats, 6.0);
    // The host is in 3/4 since bar 10 which started at beat 37 (after 4/4 and 5/4 bars):
    // phrases repeat from even bar numbers, so bar 10 (beat 37) plays the phrase's bar 1.
    let mut deck = Deck::new(Some(Box::new(pb)), 64);
    let t = |beats: f64| TransportSnapshot {
        playing: true,
        tempo_bpm: 120.0,
        pos_beats: Some(beats),
        sample_rate: 48_000.0,
        block_len_samples: 480,
        time_signature: Some(TimeSignature {
            numerator: 3,
            denominator: 4,
        }),
        bar_start_beats: Some(37.0 + ((beats - 37.0) / 3.0).floor() * 3.0),
        bar_number: Some(10 + ((beats - 37.0) / 3.0).floor() as i32),
        ..Default::default()
    };
    deck.block(&t(37.0), None);
    assert_eq!(
        deck.out
            .events()
            .iter()
            .filter(|e| e.on)
            .map(|e| e.pitch)
            .collect::<Vec<_>>(),
        vec![60]
    );
    deck.block(&t(40.0), None);
    assert_eq!(
        deck.out
            .events()
            .iter()
            .filter(|e| e.on)
            .map(|e| e.pitch)
            .collect::<Vec<_>>(),
        vec![62]
    );
    // A new phrase waiting at beat 40.5 takes over at the host's next bar line, beat 43.
    let mut next = PlaybackPhrase::from_phrase(&p, 0, 0.0, 1, 2);
    next.takeover = Takeover::AtSwapPoint;
    deck.pending = Some(Box::new(next));
    let mut swapped = None;
    for i in 0..175 {
        let beats = 40.5 + f64::from(i) * 0.02;
        if deck.block(&t(beats), None).is_some() {
            let ons: Vec<(u32, u8)> = deck
                .out
                .events()
                .iter()
                .filter(|e| e.on)
                .map(|e| (e.sample, e.pitch))
                .collect();
            swapped = Some((beats, ons));
        }
    }
    // The block starting at beat 43 (within float error) swaps at its first sample and
    // plays the new phrase's first downbeat.
    let (at, ons) = swapped.expect("never swapped");
    assert!(
        (at - 43.0).abs() < 1e-6,
        "swapped in the block starting at {at}"
    );
    assert_eq!(ons, vec![(0, 60)]);
}

#[test]
fn a_host_sample_counter_tells_rounding_from_a_jump() {
    // VST3 hosts give samples: beats rounded coarsely (1/64 beat) are not seeks while the
    // sample counter runs on.
    let p = chord_phrase();
    let expected = expected_notes(&p, 8.0);
    let heard = listen(&p, 256, 8 * 24_000 / 256, |at| {
        let mut t = at_120(at);
        t.pos_beats = t.pos_beats.map(|b| (b * 64.0).round() / 64.0);
        t.pos_samples = Some(at as i64);
        t
    });
    assert_heard(&heard, &expected, 190, 1);
    assert_eq!(heard.len(), expected.len());
}
