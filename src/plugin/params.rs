//! The plugin's parameters: everything a producer can automate, with stable ids, plus the
//! state saved in the host's project (`#[persist]`).

use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::RwLock;

use crate::phrase::Phrase;
use crate::scale::ScaleKind;
use crate::scheduler::SwapAt;

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
    #[id = "temperature"]
    pub temperature: FloatParam,
    #[id = "bars"]
    pub bars: EnumParam<Bars>,
    #[id = "note_length"]
    pub note_length: EnumParam<NoteLength>,
    #[id = "polyphony"]
    pub polyphony: IntParam,
    #[id = "key"]
    pub key: EnumParam<KeyRoot>,
    #[id = "scale"]
    pub scale: EnumParam<ScaleChoice>,
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
    #[nested(array, group = "Bar locks")]
    pub bar_locks: [BarLock; MAX_BARS],

    /// The phrase playing now, so a reopened project plays it without regenerating.
    #[persist = "phrase"]
    pub phrase: Arc<RwLock<Option<Phrase>>>,
    /// A user's model file; `None` is the built-in model.
    #[persist = "model_path"]
    pub model_path: Arc<RwLock<Option<String>>>,
    /// The editor window's size in logical pixels, kept with the project.
    #[persist = "editor_size"]
    pub editor_size: Arc<RwLock<(u32, u32)>>,
}

impl Default for PhraseGenParams {
    fn default() -> Self {
        Self {
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
            key: EnumParam::new("Key", KeyRoot::C),
            scale: EnumParam::new("Scale", ScaleChoice::Chromatic),
            low_note: IntParam::new("Lowest note", 36, IntRange::Linear { min: 0, max: 127 })
                .with_value_to_string(Arc::new(note_name)),
            high_note: IntParam::new("Highest note", 96, IntRange::Linear { min: 0, max: 127 })
                .with_value_to_string(Arc::new(note_name)),
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
            bar_locks: std::array::from_fn(|i| BarLock {
                keep: BoolParam::new(format!("Keep bar {}", i + 1), false),
            }),
            phrase: Arc::new(RwLock::new(None)),
            model_path: Arc::new(RwLock::new(None)),
            editor_size: Arc::new(RwLock::new((900, 600))),
        }
    }
}

/// Note name for a MIDI pitch ("C4" = 60).
fn note_name(pitch: i32) -> String {
    crate::midi::summary::pitch_name(pitch.clamp(0, 127) as u8)
}

impl PhraseGenParams {
    /// Bit `b` set when bar `b + 1` is kept.
    pub fn kept_bars_mask(&self) -> u64 {
        self.bar_locks
            .iter()
            .enumerate()
            .filter(|(_, l)| l.keep.value())
            .fold(0, |m, (i, _)| m | (1 << i))
    }
}
