//! The values `--key` and `--scale` take: every spelling [`parse_key`] and
//! `ScaleKind::from_str` accept (`F#`, `F♯`, `Fs`, `Fsharp`, `natural minor` ...), in any
//! case and with surrounding blanks. `--help` lists the usual names, and a wrong value is
//! refused with that list before anything runs.
//!
//! [`parse_key`]: crate::scale::parse_key

use std::ffi::OsStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::scale::{parse_key, ScaleKind};

/// The key names `--help` lists: sharps and flats both.
const KEY_NAMES: [&str; 17] = [
    "C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#", "Bb", "B",
];

/// `--key`: a root pitch class (0 = C .. 11 = B).
pub fn key() -> Spelled<u8> {
    Spelled {
        parse: |s| parse_key(&s.to_ascii_lowercase()),
        shown: KEY_NAMES.to_vec(),
    }
}

/// `--scale`: a scale kind, listed by [`ScaleKind::name`].
pub fn scale() -> Spelled<ScaleKind> {
    Spelled {
        parse: str::parse,
        shown: ScaleKind::ALL.map(ScaleKind::name).to_vec(),
    }
}

/// A value parser around one of the core's parsers: accepts what `parse` accepts (after
/// trimming); `--help` lists `shown`, and a refused value gets clap's own error with that
/// list (and a suggestion).
#[derive(Clone)]
pub struct Spelled<T> {
    parse: fn(&str) -> Result<T, String>,
    shown: Vec<&'static str>,
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Spelled<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_str().map(str::trim);
        if let Some(Ok(parsed)) = text.map(self.parse) {
            return Ok(parsed);
        }
        let refused = text.map_or(value, OsStr::new);
        let listed = PossibleValuesParser::new(self.shown.iter().copied());
        Err(listed
            .parse_ref(cmd, arg, refused)
            .expect_err("every listed name parses"))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.shown.iter().copied().map(PossibleValue::new)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: Clone + Send + Sync + 'static>(
        parser: Spelled<T>,
        value: &str,
    ) -> Result<T, clap::Error> {
        parser.parse_ref(&clap::Command::new("test"), None, OsStr::new(value))
    }

    #[test]
    fn keys_in_every_spelling_and_case_and_wrong_ones_refused_with_the_list() {
        for (i, name) in KEY_NAMES.iter().enumerate() {
            let class = [0, 1, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 8, 9, 10, 10, 11][i];
            assert_eq!(parse(key(), name).unwrap(), class, "{name}");
            assert_eq!(parse(key(), &name.to_lowercase()).unwrap(), class, "{name}");
        }
        for (s, class) in [
            (" F# ", 6),
            ("BB", 10),
            ("C♯", 1),
            ("Csharp", 1),
            ("CFLAT", 11),
            ("e#", 5),
            ("Gs", 8),
            ("D♭", 1),
            ("fb", 4),
        ] {
            assert_eq!(parse(key(), s).unwrap(), class, "{s}");
        }
        for s in ["H", "Cx", "C##", "", "Bbb"] {
            let error = parse(key(), s).unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue, "{s}");
            assert!(error.to_string().contains("C, C#, Db, D, D#"), "{error}");
        }
    }

    #[test]
    fn scales_by_name_and_alias_in_any_case_and_wrong_ones_refused_with_the_list() {
        for kind in ScaleKind::ALL {
            assert_eq!(parse(scale(), kind.name()).unwrap(), kind);
            assert_eq!(parse(scale(), &kind.name().to_uppercase()).unwrap(), kind);
        }
        for (s, kind) in [
            ("Harmonic minor", ScaleKind::HarmonicMinor),
            ("natural_minor", ScaleKind::NaturalMinor),
            ("AEOLIAN", ScaleKind::NaturalMinor),
            ("Ionian", ScaleKind::Major),
            (" major pentatonic ", ScaleKind::MajorPentatonic),
            ("none", ScaleKind::Chromatic),
        ] {
            assert_eq!(parse(scale(), s).unwrap(), kind, "{s}");
        }
        let error = parse(scale(), "lydian").unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(
            error.to_string().contains("harmonic-minor, dorian"),
            "{error}"
        );
    }
}
