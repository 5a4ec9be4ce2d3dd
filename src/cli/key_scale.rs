//! The values `--key` and `--scale` take, as clap value enums: `--help` lists them, and a
//! wrong one is refused with the list before anything runs. Matched ignoring case (the
//! options set `ignore_case`) and surrounding blanks ([`trimmed_enum`]), with every spelling
//! [`parse_key`] and `ScaleKind::from_str` accept (the tests below hold the two to the same
//! answers).
//!
//! [`parse_key`]: crate::scale::parse_key

use std::ffi::OsStr;

use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};

use crate::scale::ScaleKind;

/// A key (root note) as `--key` takes it. Sharps and flats are shown both (`C#`, `Db`);
/// the other spellings of a note (`C♯`, `Cs`, `Csharp`, `B#` ...) are hidden aliases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyName {
    #[value(name = "C", aliases = ["B#", "B♯", "Bs", "Bsharp"])]
    C,
    #[value(name = "C#", aliases = ["C♯", "Cs", "Csharp"])]
    CSharp,
    #[value(name = "Db", aliases = ["D♭", "Dflat"])]
    DFlat,
    #[value(name = "D")]
    D,
    #[value(name = "D#", aliases = ["D♯", "Ds", "Dsharp"])]
    DSharp,
    #[value(name = "Eb", aliases = ["E♭", "Eflat"])]
    EFlat,
    #[value(name = "E", aliases = ["Fb", "F♭", "Fflat"])]
    E,
    #[value(name = "F", aliases = ["E#", "E♯", "Es", "Esharp"])]
    F,
    #[value(name = "F#", aliases = ["F♯", "Fs", "Fsharp"])]
    FSharp,
    #[value(name = "Gb", aliases = ["G♭", "Gflat"])]
    GFlat,
    #[value(name = "G")]
    G,
    #[value(name = "G#", aliases = ["G♯", "Gs", "Gsharp"])]
    GSharp,
    #[value(name = "Ab", aliases = ["A♭", "Aflat"])]
    AFlat,
    #[value(name = "A")]
    A,
    #[value(name = "A#", aliases = ["A♯", "As", "Asharp"])]
    ASharp,
    #[value(name = "Bb", aliases = ["B♭", "Bflat"])]
    BFlat,
    #[value(name = "B", aliases = ["Cb", "C♭", "Cflat"])]
    B,
}

impl KeyName {
    /// The root's pitch class, 0 = C .. 11 = B.
    pub fn pitch_class(self) -> u8 {
        match self {
            Self::C => 0,
            Self::CSharp | Self::DFlat => 1,
            Self::D => 2,
            Self::DSharp | Self::EFlat => 3,
            Self::E => 4,
            Self::F => 5,
            Self::FSharp | Self::GFlat => 6,
            Self::G => 7,
            Self::GSharp | Self::AFlat => 8,
            Self::A => 9,
            Self::ASharp | Self::BFlat => 10,
            Self::B => 11,
        }
    }
}

/// `--scale` takes the core's scale kinds by the names users already see
/// ([`ScaleKind::name`]), so this is implemented here by hand rather than derived: the core
/// stays free of clap, and the names have one source. The aliases are those of
/// `ScaleKind::from_str`, with `_` or a space for `-` as it allows.
impl clap::ValueEnum for ScaleKind {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let aliases: &[&str] = match self {
            Self::Chromatic => &["all", "none"],
            Self::Major => &["ionian", "maj"],
            Self::NaturalMinor => &[
                "aeolian",
                "min",
                "natural-minor",
                "natural_minor",
                "natural minor",
            ],
            Self::HarmonicMinor => &["harmonic_minor", "harmonic minor"],
            Self::MajorPentatonic => &["major-pentatonic", "major_pentatonic", "major pentatonic"],
            Self::MinorPentatonic => &["minor_pentatonic", "minor pentatonic"],
            Self::Dorian | Self::Mixolydian | Self::Blues => &[],
        };
        Some(PossibleValue::new(self.name()).aliases(aliases.iter().copied()))
    }
}

/// The value parser of a [`clap::ValueEnum`] option that first trims surrounding
/// whitespace, as the hand parsers it replaces did (`--key " F#"` kept working).
pub fn trimmed_enum<E: clap::ValueEnum + Clone + Send + Sync + 'static>(
) -> Trimmed<EnumValueParser<E>> {
    Trimmed(EnumValueParser::new())
}

/// Parses with the inner parser after trimming surrounding whitespace; `--help` and errors
/// list the inner parser's possible values.
#[derive(Clone)]
pub struct Trimmed<P>(P);

impl<P: TypedValueParser> TypedValueParser for Trimmed<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        match value.to_str() {
            Some(text) => self.0.parse_ref(cmd, arg, OsStr::new(text.trim())),
            None => self.0.parse_ref(cmd, arg, value),
        }
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        self.0.possible_values()
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;
    use crate::scale::parse_key;

    #[test]
    fn every_key_spelling_parse_key_takes_means_the_same_here() {
        let accidentals = ["", "#", "♯", "s", "sharp", "b", "♭", "flat"];
        for letter in [
            "C", "D", "E", "F", "G", "A", "B", "c", "d", "e", "f", "g", "a", "b",
        ] {
            for accidental in accidentals {
                let s = format!("{letter}{accidental}");
                let here = KeyName::from_str(&s, true).map(KeyName::pitch_class);
                assert_eq!(here.ok(), parse_key(&s).ok(), "{s}");
            }
        }
        for s in ["H", "Cx", "C##", "", "Bbb"] {
            assert!(KeyName::from_str(s, true).is_err(), "{s}");
        }
    }

    #[test]
    fn every_key_name_and_alias_agrees_with_parse_key() {
        for key in KeyName::value_variants() {
            let value = key.to_possible_value().unwrap();
            for s in value.get_name_and_aliases() {
                assert_eq!(parse_key(s), Ok(key.pitch_class()), "{s}");
            }
        }
    }

    #[test]
    fn every_scale_spelling_from_str_takes_means_the_same_here() {
        let mut spellings = vec![
            "ionian",
            "maj",
            "aeolian",
            "natural-minor",
            "min",
            "major-pentatonic",
            "all",
            "none",
        ];
        spellings.extend(ScaleKind::ALL.iter().map(|k| k.name()));
        for s in spellings {
            for variant in [
                s.to_string(),
                s.replace('-', "_"),
                s.replace('-', " "),
                s.to_uppercase(),
            ] {
                let here = <ScaleKind as ValueEnum>::from_str(&variant, true).ok();
                assert!(here.is_some(), "{variant}");
                assert_eq!(here, variant.parse::<ScaleKind>().ok(), "{variant}");
            }
        }
        assert!(<ScaleKind as ValueEnum>::from_str("lydian", true).is_err());
    }

    #[test]
    fn every_scale_name_and_alias_agrees_with_from_str() {
        for kind in ScaleKind::value_variants() {
            let value = kind.to_possible_value().unwrap();
            assert_eq!(value.get_name(), kind.name());
            for s in value.get_name_and_aliases() {
                assert_eq!(s.parse::<ScaleKind>(), Ok(*kind), "{s}");
            }
        }
    }
}
