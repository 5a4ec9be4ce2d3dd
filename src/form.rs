//! Form: which bars of a phrase repeat earlier ones, written as letters ("AABA").
//!
//! Real tunes and chorales repeat their own material; a sampler left alone rarely does.
//! A form splits the phrase into equal sections; a section whose letter came before plays
//! that earlier section again (the model hears the repeat, so what follows fits it). A
//! letter with a prime (`A'`) repeats with variation: its last bar is generated afresh.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest form accepted, in sections.
pub const MAX_SECTIONS: usize = 16;

/// Sections of a phrase, each a letter and whether its repeat is varied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Form {
    sections: Vec<(char, bool)>,
}

/// A form string that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("form `{0}`: use letters A-Z, each optionally followed by ' (e.g. AABA or AA'BA)")]
    Syntax(String),
    #[error("form `{0}` has more than {MAX_SECTIONS} sections")]
    TooLong(String),
}

impl Form {
    /// The default: AA'BA, the song form, with the second A ending differently. Real
    /// tunes and chorales repeat their material; a loop that never does sounds aimless.
    pub fn default_for_phrases() -> Self {
        Self {
            sections: vec![('A', false), ('A', true), ('B', false), ('A', false)],
        }
    }

    /// No repeats: every bar is new.
    pub fn through_composed() -> Self {
        Self::default()
    }

    pub fn is_through_composed(&self) -> bool {
        let mut seen = std::collections::HashSet::new();
        self.sections.iter().all(|(letter, _)| seen.insert(*letter))
    }

    /// The earlier bar that `bar` repeats in a phrase of `bars` bars, if any. Sections are
    /// `bars / sections` long (the last takes the remainder); with fewer bars than
    /// sections, there are no repeats.
    pub fn source_bar(&self, bar: u32, bars: u32) -> Option<u32> {
        let n = self.sections.len() as u32;
        if n == 0 || bars < n {
            return None;
        }
        let len = bars / n;
        let section = (bar / len).min(n - 1);
        let offset = bar - section * len;
        let section_len = if section == n - 1 {
            bars - section * len
        } else {
            len
        };
        let (letter, varied) = self.sections[section as usize];
        let first = self.sections.iter().position(|(l, _)| *l == letter)? as u32;
        if first == section || offset >= len || (varied && offset + 1 == section_len) {
            return None;
        }
        Some(first * len + offset)
    }
}

impl FromStr for Form {
    type Err = FormError;

    fn from_str(s: &str) -> Result<Self, FormError> {
        let text = s.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("none") {
            return Ok(Self::default());
        }
        let mut sections: Vec<(char, bool)> = Vec::new();
        for c in text.chars() {
            match c {
                'A'..='Z' | 'a'..='z' => sections.push((c.to_ascii_uppercase(), false)),
                '\'' => match sections.last_mut() {
                    Some(last) if !last.1 => last.1 = true,
                    _ => return Err(FormError::Syntax(s.to_string())),
                },
                _ => return Err(FormError::Syntax(s.to_string())),
            }
        }
        if sections.len() > MAX_SECTIONS {
            return Err(FormError::TooLong(s.to_string()));
        }
        Ok(Self { sections })
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sections.is_empty() {
            return f.write_str("none");
        }
        for (letter, varied) in &self.sections {
            write!(f, "{letter}{}", if *varied { "'" } else { "" })?;
        }
        Ok(())
    }
}

impl From<Form> for String {
    fn from(form: Form) -> Self {
        form.to_string()
    }
}

impl TryFrom<String> for Form {
    type Error = FormError;

    fn try_from(s: String) -> Result<Self, FormError> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(form: &str, bars: u32) -> Vec<Option<u32>> {
        let form: Form = form.parse().unwrap();
        (0..bars).map(|b| form.source_bar(b, bars)).collect()
    }

    #[test]
    fn aaba_over_eight_bars_repeats_the_first_two() {
        assert_eq!(
            sources("AABA", 8),
            [None, None, Some(0), Some(1), None, None, Some(0), Some(1)]
        );
    }

    #[test]
    fn a_prime_regenerates_its_last_bar() {
        assert_eq!(
            sources("AA'BA", 8),
            [None, None, Some(0), None, None, None, Some(0), Some(1)]
        );
    }

    #[test]
    fn the_last_section_takes_the_remainder_and_short_phrases_do_not_repeat() {
        assert_eq!(sources("AB", 5), [None, None, None, None, None]);
        assert_eq!(sources("AA", 5), [None, None, Some(0), Some(1), None]);
        assert_eq!(sources("AABA", 2), [None, None]);
        assert_eq!(sources("none", 4), [None; 4]);
    }

    #[test]
    fn forms_parse_and_print() {
        let f: Form = "aa'ba".parse().unwrap();
        assert_eq!(f.to_string(), "AA'BA");
        assert!(!f.is_through_composed());
        assert!("ABCD".parse::<Form>().unwrap().is_through_composed());
        assert!("A''".parse::<Form>().is_err());
        assert!("A-B".parse::<Form>().is_err());
        assert!("'A".parse::<Form>().is_err());
        assert!("ABABABABABABABABA".parse::<Form>().is_err());
    }
}
