//! The plugin's parameters: everything a producer can automate, with stable ids, plus the
//! state saved in the host's project (`#[persist]`).

use crate::form::Form;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use parking_lot::RwLock;

use super::history::PhraseHistory;
pub use super::saved_phrase::SavedPhrase;

use crate::phrase::Phrase;
use crate::scale::ScaleKind;
use crate::scheduler::SwapAt;

/// What PhraseGen does with the music: write phrases of its own, or follow what is played
/// into it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayMode {
    /// Phrases of its own, in time with the host (the keys you play pass through with MIDI
    /// thru, or become the primer with Record).
    Generate,
    /// The key you press is the melody: voices under it start with it, drawn by the model
    /// (a model of several voices), and end when you release it.
    Harmonize,
    /// The chord you hold is accompanied: the model plays a line over it in time with the
    /// host (chord tones on strong beats), which follows your chord changes and stops
    /// when you let go.
    Accompany,
    /// Call and response: play a phrase and rest (a bar, or what *Answer after* says), and
    /// PhraseGen answers with a phrase as long, continuing yours, from the next bar line;
    /// it stops when you play again.
    Answer,
}

/// Phrase length choices.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bars {
    #[name = "1 bar"]
    One,
    #[name = "2 bars"]
    Two,
    #[name = "4 bars"]
    Four,
    #[name = "8 bars"]
    Eight,
    #[name = "16 bars"]
    Sixteen,
}

impl Bars {
    pub fn count(self) -> u32 {
        match self {
            Self::One => 1,
            Self::Two => 2,
            Self::Four => 4,
            Self::Eight => 8,
            Self::Sixteen => 16,
        }
    }
}

/// Shortest note, as a fraction of a whole note.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteLength {
    #[name = "1/16"]
    Sixteenth,
    #[name = "1/8"]
    Eighth,
    #[name = "1/4"]
    Quarter,
    #[name = "1/2"]
    Half,
}

impl NoteLength {
    /// Length in quarter notes.
    pub fn quarters(self) -> f64 {
        match self {
            Self::Sixteenth => 0.25,
            Self::Eighth => 0.5,
            Self::Quarter => 1.0,
            Self::Half => 2.0,
        }
    }
}

/// Root of the key.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRoot {
    C,
    #[name = "C#"]
    CSharp,
    D,
    #[name = "D#"]
    DSharp,
    E,
    F,
    #[name = "F#"]
    FSharp,
    G,
    #[name = "G#"]
    GSharp,
    A,
    #[name = "A#"]
    ASharp,
    B,
}

impl KeyRoot {
    pub fn pitch_class(self) -> u8 {
        self as u8
    }
}

/// Scale shape (mirrors [`ScaleKind`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleChoice {
    Chromatic,
    Major,
    Minor,
    #[name = "Harmonic minor"]
    HarmonicMinor,
    Dorian,
    Mixolydian,
    Pentatonic,
    #[name = "Minor pentatonic"]
    MinorPentatonic,
    Blues,
}

impl ScaleChoice {
    pub fn kind(self) -> ScaleKind {
        ScaleKind::ALL[self as usize]
    }
}

/// Which bars repeat earlier ones (see [`Form`]); event models only.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormChoice {
    Free,
    #[name = "AABA"]
    Aaba,
    #[name = "AA'BA"]
    AabaVaried,
    #[name = "ABAB"]
    Abab,
    #[name = "AAAB"]
    Aaab,
}

impl FormChoice {
    pub fn form(self) -> Form {
        let letters = match self {
            Self::Free => "none",
            Self::Aaba => "AABA",
            Self::AabaVaried => "AA'BA",
            Self::Abab => "ABAB",
            Self::Aaab => "AAAB",
        };
        letters.parse().unwrap_or_default()
    }
}

/// When a new phrase takes over.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapChoice {
    Immediately,
    #[name = "Next bar"]
    NextBar,
    #[name = "End of phrase"]
    EndOfPhrase,
}

impl SwapChoice {
    pub fn swap_at(self) -> SwapAt {
        match self {
            Self::Immediately => SwapAt::Immediately,
            Self::NextBar => SwapAt::NextBar,
            Self::EndOfPhrase => SwapAt::EndOfPhrase,
        }
    }
}

/// Most bars a phrase can have, and so the number of per-bar locks.
pub const MAX_BARS: usize = 16;

/// "Keep this bar" when the others are re-rolled.
#[derive(Params)]
pub struct BarLock {
    #[id = "keep"]
    pub keep: BoolParam,
}

/// All parameters and persisted state.
#[derive(Params)]
pub struct PhraseGenParams {
    #[id = "mode"]
    pub mode: EnumParam<PlayMode>,
    /// Answer mode: how many bars of rest after the player's phrase call for the answer.
    #[id = "answer_after"]
    pub answer_after: IntParam,
    #[id = "temperature"]
    pub temperature: FloatParam,
    #[id = "bars"]
    pub bars: EnumParam<Bars>,
    #[id = "note_length"]
    pub note_length: EnumParam<NoteLength>,
    #[id = "polyphony"]
    pub polyphony: IntParam,
    /// Each phrase is the most likely of this many drawn together (event models): less
    /// wandering, and how a minor key is asked of a key-normalised model.
    #[id = "candidates"]
    pub candidates: IntParam,
    #[id = "key"]
    pub key: EnumParam<KeyRoot>,
    #[id = "scale"]
    pub scale: EnumParam<ScaleChoice>,
    #[id = "form"]
    pub form: EnumParam<FormChoice>,
    /// With Form free, the model repeats earlier bars where it finds a repeat fits, as
    /// tunes do (event models; `sample::repeats`).
    #[id = "repeats"]
    pub repeats: BoolParam,
    /// No parallel fifths or octaves between voices (event models).
    #[id = "voice_leading"]
    pub strict_voice_leading: BoolParam,
    #[id = "low_note"]
    pub low_note: IntParam,
    #[id = "high_note"]
    pub high_note: IntParam,
    #[id = "velocity"]
    pub velocity: IntParam,
    #[id = "humanize"]
    pub humanize: FloatParam,
    #[id = "seed"]
    pub seed: IntParam,
    #[id = "channel"]
    pub channel: IntParam,
    #[id = "swap"]
    pub swap: EnumParam<SwapChoice>,
    /// Flipping this (either way) asks for a new phrase with the next seed's luck: the
    /// editor's Generate button and an automatable trigger.
    #[id = "regenerate"]
    pub regenerate: BoolParam,
    /// Freezes the current phrase: parameter moves do not replace it.
    #[id = "lock"]
    pub lock: BoolParam,
    #[id = "free_run"]
    pub free_run: BoolParam,
    #[id = "tempo"]
    pub tempo: FloatParam,
    /// Records the notes played into the plugin as the primer of the next phrase.
    #[id = "record"]
    pub record: BoolParam,
    #[id = "midi_thru"]
    pub midi_thru: BoolParam,
    /// The host's bypass: PhraseGen releases its notes and goes quiet (MIDI input still
    /// passes through when MIDI thru is on).
    #[id = "bypass"]
    pub bypass: BoolParam,
    #[nested(array, group = "Bar locks")]
    pub bar_locks: [BarLock; MAX_BARS],

    /// The phrase playing now, so a reopened project plays it without regenerating.
    #[persist = "phrase"]
    pub phrase: PhraseSlot,
    /// A user's model file; `None` is the built-in model.
    #[persist = "model_path"]
    pub model_path: Arc<RwLock<Option<String>>>,
    /// The editor window's size in logical pixels, kept with the project.
    #[persist = "editor_size"]
    pub editor_size: Arc<RwLock<(u32, u32)>>,
    /// Every phrase generated here (bounded), stars and where the producer is in it.
    #[persist = "history"]
    pub history: Arc<RwLock<PhraseHistory>>,
}

impl Default for PhraseGenParams {
    fn default() -> Self {
        Self {
            mode: EnumParam::new("Mode", PlayMode::Generate),
            answer_after: IntParam::new("Answer after", 1, IntRange::Linear { min: 1, max: 4 })
                .with_unit(" bars"),
            temperature: FloatParam::new(
                "Creativity",
                1.0,
                FloatRange::Skewed {
                    min: 0.05,
                    max: 3.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_step_size(0.01)
            .with_value_to_string(formatters::v2s_f32_rounded(2)),
            bars: EnumParam::new("Bars", Bars::Four),
            note_length: EnumParam::new("Shortest note", NoteLength::Sixteenth),
            polyphony: IntParam::new("Max voices", 4, IntRange::Linear { min: 1, max: 8 })
                .with_unit(" voices"),
            candidates: IntParam::new(
                "Candidates",
                1,
                IntRange::Linear {
                    min: 1,
                    max: crate::sample::MAX_CANDIDATES as i32,
                },
            ),
            key: EnumParam::new("Key", KeyRoot::C),
            scale: EnumParam::new("Scale", ScaleChoice::Chromatic),
            form: EnumParam::new("Form", FormChoice::AabaVaried),
            repeats: BoolParam::new("Repeats", true),
            strict_voice_leading: BoolParam::new("Strict voice leading", true),
            low_note: IntParam::new("Lowest note", 36, IntRange::Linear { min: 0, max: 127 })
                .with_value_to_string(Arc::new(note_name))
                .with_string_to_value(Arc::new(parse_note_name)),
            high_note: IntParam::new("Highest note", 96, IntRange::Linear { min: 0, max: 127 })
                .with_value_to_string(Arc::new(note_name))
                .with_string_to_value(Arc::new(parse_note_name)),
            velocity: IntParam::new("Velocity", 96, IntRange::Linear { min: 1, max: 127 }),
            humanize: FloatParam::new("Humanize", 0.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_unit("%")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            seed: IntParam::new("Seed", 1, IntRange::Linear { min: 1, max: 9999 }),
            channel: IntParam::new("MIDI channel", 1, IntRange::Linear { min: 1, max: 16 }),
            swap: EnumParam::new("New phrase starts", SwapChoice::NextBar),
            regenerate: BoolParam::new("Generate", false),
            lock: BoolParam::new("Lock phrase", false),
            free_run: BoolParam::new("Play when stopped", false),
            tempo: FloatParam::new(
                "Free-run tempo",
                120.0,
                FloatRange::Linear {
                    min: 40.0,
                    max: 240.0,
                },
            )
            .with_unit(" BPM")
            .with_step_size(0.1),
            record: BoolParam::new("Record primer", false),
            midi_thru: BoolParam::new("MIDI thru", false),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            bar_locks: std::array::from_fn(|i| BarLock {
                keep: BoolParam::new(format!("Keep bar {}", i + 1), false),
            }),
            phrase: PhraseSlot::default(),
            model_path: Arc::new(RwLock::new(None)),
            editor_size: Arc::new(RwLock::new((900, 600))),
            history: Arc::default(),
        }
    }
}

/// Note name for a MIDI pitch ("C4" = 60).
fn note_name(pitch: i32) -> String {
    crate::midi::summary::pitch_name(pitch.clamp(0, 127) as u8)
}

/// Reads what a host or user types for a note: a name as displayed ("C-1", "F#4"), a flat
/// ("Bb3"), lower case, or a MIDI number ("60").
pub fn parse_note_name(text: &str) -> Option<i32> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i32>() {
        return (0..=127).contains(&n).then_some(n);
    }
    let mut chars = t.chars();
    let letter = chars.next()?.to_ascii_uppercase();
    let mut pc: i32 = match letter {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let rest = chars.as_str();
    let octave_text = if let Some(r) = rest.strip_prefix(['#', '\u{266f}']) {
        pc += 1;
        r
    } else if let Some(r) = rest.strip_prefix(['b', '\u{266d}']) {
        pc -= 1;
        r
    } else {
        rest
    };
    let octave: i32 = octave_text.trim().parse().ok()?;
    let pitch = (octave + 1) * 12 + pc;
    (0..=127).contains(&pitch).then_some(pitch)
}

/// The persisted phrase: always the one playing. The worker offers each phrase it makes
/// (with its id); the audio thread says which id plays (one atomic store); what the editor
/// shows and the host saves is the offered phrase with that id, so a state saved the
/// moment after a swap already holds the new phrase, and one saved while a new phrase waits
/// for its bar still holds the old.
///
/// A host restoring a project or preset calls `set` (through [`PersistentField`]), which
/// bumps [`PhraseSlot::restore_count`]: that is how the worker tells a restore (adopt the
/// saved phrase, also into a running instance) from its own offers.
#[derive(Debug, Default)]
pub struct PhraseSlot {
    /// The phrase restored from the project (plays until an offered one takes over).
    restored: RwLock<Option<SavedPhrase>>,
    /// Recently offered phrases by id, newest last.
    offered: RwLock<Vec<(u64, SavedPhrase)>>,
    playing_id: AtomicU64,
    restores: AtomicU64,
}

/// How many offered phrases the slot keeps (one plays, one waits, a few were replaced
/// before they played).
const OFFERED: usize = 8;

impl PhraseSlot {
    /// The playing phrase and how it was rolled.
    pub fn saved(&self) -> Option<SavedPhrase> {
        let id = self.playing_id.load(Ordering::Acquire);
        self.offered(id).or_else(|| self.restored.read().clone())
    }

    /// The phrase playing (what the editor shows and exports).
    pub fn phrase(&self) -> Option<Phrase> {
        self.saved().map(|s| s.phrase)
    }

    /// Offers a phrase the worker made, under the id it will play with.
    pub fn offer(&self, id: u64, saved: SavedPhrase) {
        let playing = self.playing_id.load(Ordering::Acquire);
        let mut offered = self.offered.write();
        if offered.len() >= OFFERED {
            if let Some(i) = offered.iter().position(|(i, _)| *i != playing) {
                offered.remove(i);
            }
        }
        offered.push((id, saved));
    }

    /// An offered phrase by id (the worker re-voices the newest).
    pub fn offered(&self, id: u64) -> Option<SavedPhrase> {
        self.offered
            .read()
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, s)| s.clone())
    }

    /// Forgets everything (a damaged restore).
    pub fn clear(&self) {
        *self.restored.write() = None;
        self.offered.write().clear();
    }

    /// Called by the audio thread with the id of the phrase it plays (one atomic store).
    pub fn set_playing(&self, id: u64) {
        self.playing_id.store(id, Ordering::Release);
    }

    /// How many times the host has restored a state into this instance.
    pub fn restore_count(&self) -> u64 {
        self.restores.load(Ordering::Acquire)
    }
}

impl<'a> PersistentField<'a, Option<SavedPhrase>> for PhraseSlot {
    fn set(&self, new_value: Option<SavedPhrase>) {
        *self.restored.write() = new_value;
        self.offered.write().clear();
        self.restores.fetch_add(1, Ordering::AcqRel);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&Option<SavedPhrase>) -> R,
    {
        f(&self.saved())
    }
}

impl PhraseGenParams {
    /// The MIDI channel notes are sent on, 0-based.
    pub fn channel_index(&self) -> u8 {
        (self.channel.value().clamp(1, 16) - 1) as u8
    }

    /// Bit `b` set when bar `b + 1` is kept.
    pub fn kept_bars_mask(&self) -> u64 {
        self.bar_locks
            .iter()
            .enumerate()
            .filter(|(_, l)| l.keep.value())
            .fold(0, |m, (i, _)| m | (1 << i))
    }
}
