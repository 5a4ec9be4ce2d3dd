//! Rebuilds notes from a plugin's output events, as an instrument would hear them, and
//! finds what an instrument would get wrong: notes left sounding (stuck), a second note-on
//! for a key already down, a note-off for a key that is up.

use std::collections::BTreeMap;
use std::fmt;

use super::session::{OutEvent, OutKind};

/// A note as heard: from its note-on to its note-off (`None`: still sounding).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlayedNote {
    pub pitch: u8,
    pub channel: u8,
    pub on_sample: u64,
    pub off_sample: Option<u64>,
    pub velocity: f64,
}

impl PlayedNote {
    pub fn len_samples(&self) -> Option<u64> {
        self.off_sample.map(|off| off - self.on_sample)
    }
}

/// Something an instrument would get wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum NoteProblem {
    /// Still sounding where everything must be silent (after a stop, a deactivation, the end).
    Stuck {
        pitch: u8,
        channel: u8,
        on_sample: u64,
        checked_at: u64,
        why: String,
    },
    DoubleOn {
        pitch: u8,
        channel: u8,
        first_on: u64,
        second_on: u64,
    },
    OffWithoutOn {
        pitch: u8,
        channel: u8,
        sample: u64,
    },
}

impl fmt::Display for NoteProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stuck {
                pitch,
                channel,
                on_sample,
                checked_at,
                why,
            } => write!(
                f,
                "stuck: pitch {pitch} ch {channel} on at sample {on_sample} still sounding at \
                 {checked_at} ({why})"
            ),
            Self::DoubleOn {
                pitch,
                channel,
                first_on,
                second_on,
            } => write!(
                f,
                "double note-on: pitch {pitch} ch {channel} at {second_on} while on since {first_on}"
            ),
            Self::OffWithoutOn {
                pitch,
                channel,
                sample,
            } => write!(
                f,
                "note-off without note-on: pitch {pitch} ch {channel} at {sample}"
            ),
        }
    }
}

/// Follows note events block after block.
#[derive(Clone, Debug, Default)]
pub struct NoteTracker {
    /// (channel, pitch) -> index into `notes` of the sounding note.
    sounding: BTreeMap<(u8, u8), usize>,
    /// Notes already reported stuck: their late note-off is not reported again.
    reported_stuck: BTreeMap<(u8, u8), usize>,
    pub notes: Vec<PlayedNote>,
    pub problems: Vec<NoteProblem>,
}

impl NoteTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one block's events (in the order the plugin sent them).
    pub fn feed(&mut self, events: &[OutEvent]) {
        for e in events {
            match e.kind {
                OutKind::NoteOn {
                    channel,
                    key,
                    velocity,
                } => {
                    if let Some(&i) = self.sounding.get(&(channel, key)) {
                        self.problems.push(NoteProblem::DoubleOn {
                            pitch: key,
                            channel,
                            first_on: self.notes[i].on_sample,
                            second_on: e.sample,
                        });
                        // An instrument retriggers: the first note ends here.
                        self.notes[i].off_sample = Some(e.sample);
                    }
                    self.reported_stuck.remove(&(channel, key));
                    self.sounding.insert((channel, key), self.notes.len());
                    self.notes.push(PlayedNote {
                        pitch: key,
                        channel,
                        on_sample: e.sample,
                        off_sample: None,
                        velocity,
                    });
                }
                OutKind::NoteOff { channel, key } => {
                    if let Some(i) = self.sounding.remove(&(channel, key)) {
                        self.notes[i].off_sample = Some(e.sample);
                    } else if let Some(i) = self.reported_stuck.remove(&(channel, key)) {
                        self.notes[i].off_sample = Some(e.sample);
                    } else {
                        self.problems.push(NoteProblem::OffWithoutOn {
                            pitch: key,
                            channel,
                            sample: e.sample,
                        });
                    }
                }
                OutKind::AllNotesOff { channel } => {
                    let ended: Vec<(u8, u8)> = self
                        .sounding
                        .keys()
                        .filter(|(c, _)| channel.is_none_or(|ch| ch == *c))
                        .copied()
                        .collect();
                    for k in ended {
                        let i = self.sounding.remove(&k).unwrap();
                        self.notes[i].off_sample = Some(e.sample);
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether any note is sounding.
    pub fn any_sounding(&self) -> bool {
        !self.sounding.is_empty()
    }

    /// The notes sounding now.
    pub fn sounding(&self) -> Vec<PlayedNote> {
        self.sounding.values().map(|&i| self.notes[i]).collect()
    }

    /// Everything must be silent now (`at`: the session sample; `why`: for the message).
    /// Sounding notes are reported stuck once.
    pub fn expect_silence(&mut self, at: u64, why: &str) {
        for ((channel, pitch), i) in std::mem::take(&mut self.sounding) {
            self.problems.push(NoteProblem::Stuck {
                pitch,
                channel,
                on_sample: self.notes[i].on_sample,
                checked_at: at,
                why: why.to_string(),
            });
            self.reported_stuck.insert((channel, pitch), i);
        }
    }

    /// Panics listing the first problems, if there are any.
    pub fn assert_clean(&self, context: &str) {
        if !self.problems.is_empty() {
            let shown: Vec<String> = self
                .problems
                .iter()
                .take(10)
                .map(|p| p.to_string())
                .collect();
            panic!(
                "{context}: {} note problem(s), first ones:\n  {}",
                self.problems.len(),
                shown.join("\n  ")
            );
        }
    }

    /// Finished notes that started in `[from, to)`, by onset then pitch.
    pub fn notes_between(&self, from: u64, to: u64) -> Vec<PlayedNote> {
        let mut v: Vec<PlayedNote> = self
            .notes
            .iter()
            .filter(|n| n.on_sample >= from && n.on_sample < to)
            .copied()
            .collect();
        v.sort_by_key(|n| (n.on_sample, n.pitch, n.channel));
        v
    }
}
