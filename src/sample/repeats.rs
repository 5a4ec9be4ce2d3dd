//! How readily a phrase repeats its own bars (event models, free generation): each bar the
//! network writes is also tried as a repeat of the bars before it, and a repeat it finds
//! about as likely replaces the fresh bar (`family::events::sample::repeats`). The bias is
//! in nats per event in the repeat's favour; below zero a repeat must be likelier than the
//! fresh bar by that much.
//!
//! By default (`Auto`) the network chooses its repeats when the form leaves every bar free
//! (form none); a form such as AA'BA already says what repeats, and repeats on top of it
//! measured no closer to the music (models/README.md, "Repeats").

use crate::form::Form;
use crate::model::ModelConfig;
use crate::sample::setting::{built_in, Setting, SettingValue};

/// Repeats: off, the model's own bias when the form leaves every bar free (`Auto`,
/// `Repeats::bias_for`), or a bias in nats per event given by the user, in any form.
pub type Repeats = Setting<f32>;

/// The built-in models' biases, each chosen on its data's valid split so that phrases
/// repeat a bar as often as the music does (8-bar segments: tunes 77%, chorales 33%) with
/// the classifier test lowest. Measured in models/README.md, "Loops" (the chorales' again
/// with their min-p of 0.05, which makes fresh bars likelier: "Min-p").
const BUILT_IN_BIASES: [(&str, f32); 2] = [("fiddle-tunes", 0.0), ("bach-chorales", -0.1)];

/// Any other event model's: between the two.
const OTHER_MODELS_BIAS: f32 = -0.1;

/// Where a model's bars are tried as repeats, and which winning trial it keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatSources {
    /// How many bars back, nearest first.
    pub distances: &'static [u32],
    /// Which trial a bar keeps when several beat the fresh bar.
    pub keep: Keep,
}

/// Which of the trials that beat a fresh bar is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The one the network finds likeliest.
    Likeliest,
    /// The one from furthest back: a strain played again rather than its last phrase.
    Farthest,
}

/// Each built-in model's sources: where its music repeats a bar (`scripts/bar-repeats.py`
/// over the training split: tunes four and eight bars back, a phrase or a strain played
/// again; chorales four, five and six). Neither repeats the bar before, and a trial one or
/// two bars back made loops. The network finds the nearer copy likelier, so the tunes keep
/// the farthest winner: their eight-bar strains come back as the music's do (models/README.md,
/// "Loops").
const BUILT_IN_SOURCES: [(&str, RepeatSources); 2] = [
    (
        "fiddle-tunes",
        RepeatSources {
            distances: &[4, 8],
            keep: Keep::Farthest,
        },
    ),
    (
        "bach-chorales",
        RepeatSources {
            distances: &[4, 5, 6],
            keep: Keep::Likeliest,
        },
    ),
];

/// Any other event model's: a phrase of four bars, or of eight, played again.
const OTHER_MODELS_SOURCES: RepeatSources = RepeatSources {
    distances: &[4, 8],
    keep: Keep::Likeliest,
};

/// Where `config`'s model tries its repeats.
pub fn sources_for(config: &ModelConfig) -> RepeatSources {
    built_in(&BUILT_IN_SOURCES, config).unwrap_or(OTHER_MODELS_SOURCES)
}

impl Setting<f32> {
    /// The bias this setting gives with `config`'s model and `form`, `None` when nothing is
    /// tried.
    pub fn bias_for(self, config: &ModelConfig, form: &Form) -> Option<f32> {
        match self {
            Self::Off => None,
            Self::Value(b) => Some(b),
            Self::Auto if !form.is_through_composed() => None,
            Self::Auto => Some(built_in(&BUILT_IN_BIASES, config).unwrap_or(OTHER_MODELS_BIAS)),
        }
    }
}

impl SettingValue for f32 {
    fn parse_value(text: &str) -> Result<Self, String> {
        match text.parse::<f32>() {
            Ok(b) if b.is_finite() && b.abs() <= 10.0 => Ok(b),
            _ => Err("a bias in nats per event from -10 to 10".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_the_models_own_bias_and_text_round_trips() {
        let mut cfg = ModelConfig {
            name: "fiddle-tunes".into(),
            ..ModelConfig::default()
        };
        let free = Form::through_composed();
        assert_eq!(Repeats::Auto.bias_for(&cfg, &free), Some(0.0));
        assert_eq!(sources_for(&cfg).distances, &[4, 8]);
        assert_eq!(sources_for(&cfg).keep, Keep::Farthest);
        assert_eq!(
            Repeats::Auto.bias_for(&cfg, &Form::default_for_phrases()),
            None
        );
        assert_eq!(
            Repeats::Value(0.5).bias_for(&cfg, &Form::default_for_phrases()),
            Some(0.5)
        );
        cfg.name = "my-tunes".into();
        assert_eq!(Repeats::Auto.bias_for(&cfg, &free), Some(OTHER_MODELS_BIAS));
        assert_eq!(sources_for(&cfg), OTHER_MODELS_SOURCES);
        assert_eq!(Repeats::Off.bias_for(&cfg, &free), None);
        for text in ["off", "auto", "-0.25", "0.5"] {
            assert_eq!(text.parse::<Repeats>().unwrap().to_string(), text);
        }
        assert!("often".parse::<Repeats>().is_err());
        assert!("NaN".parse::<Repeats>().is_err());
    }
}
