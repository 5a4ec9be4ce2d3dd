//! How far a phrase may spread from its lowest note to its highest (event models): no
//! note-on widens the phrase beyond the span. The network writes four-part chorales three
//! semitones wider than Bach (36.9 against 33.0 over 8 bars; its voices stray to the edges
//! of their registers), which was the first thing a classifier told them apart by once they
//! repeated their bars; three octaves (the compass of a choir's four voices) brings them in
//! (models/README.md, "Span").

use crate::model::ModelConfig;
use crate::sample::setting::{built_in, Setting, SettingValue};

/// Span: no limit, the model's own (`Auto`, `Span::semitones_for`; none for most), or a
/// limit in semitones given by the user.
pub type Span = Setting<u8>;

/// The built-in models' limits, chosen against the training split (the valid split holds
/// too few chorales to tell settings apart). A melody model keeps to its tunes' range by
/// itself, so `fiddle-tunes` has none.
const BUILT_IN_SPANS: [(&str, u8); 1] = [("bach-chorales", 36)];

impl Setting<u8> {
    /// The limit this setting gives with `config`'s model, `None` for no limit.
    pub fn semitones_for(self, config: &ModelConfig) -> Option<u8> {
        match self {
            Self::Off => None,
            Self::Value(s) => Some(s),
            Self::Auto => built_in(&BUILT_IN_SPANS, config),
        }
    }
}

impl SettingValue for u8 {
    fn parse_value(text: &str) -> Result<Self, String> {
        match text.parse::<u8>() {
            Ok(n) if (12..=127).contains(&n) => Ok(n),
            _ => Err("a span in semitones from 12 to 127".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_the_models_own_limit_and_text_round_trips() {
        let mut cfg = ModelConfig {
            name: "bach-chorales".into(),
            ..ModelConfig::default()
        };
        assert_eq!(Span::Auto.semitones_for(&cfg), Some(36));
        cfg.name = "fiddle-tunes".into();
        assert_eq!(Span::Auto.semitones_for(&cfg), None);
        assert_eq!(Span::Value(24).semitones_for(&cfg), Some(24));
        for text in ["off", "auto", "30"] {
            assert_eq!(text.parse::<Span>().unwrap().to_string(), text);
        }
        assert!("7".parse::<Span>().is_err());
        assert!("wide".parse::<Span>().is_err());
    }

    #[test]
    fn describe_names_what_auto_resolved_to() {
        assert_eq!(Span::Auto.describe(Some(36), "none"), "auto (36)");
        assert_eq!(Span::Auto.describe(None::<u8>, "none"), "auto (none)");
        assert_eq!(Span::Off.describe(Some(36), "none"), "off");
        assert_eq!(Span::Value(30).describe(Some(30), "none"), "30");
    }
}
