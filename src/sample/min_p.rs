//! Min-p sampling (event models): an event less likely than a share of the likeliest one
//! (after the temperature) is never drawn (Nguyen et al. 2024). At T = 1 a model draws its
//! tail of unlikely notes more often than the music it learned from holds them; this cuts
//! the tail and scales with how sure the model is. `bach-chorales` wandered out of key by
//! that tail: with a share of 0.05 its phrases use as many pitch classes as Bach's (9.8
//! against 9.4 per 8 bars, form none, where 10.4 was over the 10% allowed) and the classifier
//! test reads the same with form none and lower with the default form (models/README.md,
//! "Min-p").

use std::fmt;

use crate::model::ModelConfig;
use crate::sample::setting::{built_in, Setting, SettingValue};

/// Min-p: off, the model's own share (`Auto`, [`MinP::share_for`]; none for most), or a
/// share given by the user.
pub type MinP = Setting<Share>;

/// A share of the likeliest event's weight, from 0 up to below 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Share(pub f32);

/// The built-in models' shares, chosen on the statistics and classifier test of form none
/// against the test split (0.1 was too tidy: the classifier read 78% against 73%).
const BUILT_IN_SHARES: [(&str, f32); 1] = [("bach-chorales", 0.05)];

impl Setting<Share> {
    /// The share this setting gives with `config`'s model; 0 is off.
    pub fn share_for(self, config: &ModelConfig) -> f32 {
        match self {
            Self::Off => 0.0,
            Self::Value(Share(s)) => s,
            Self::Auto => built_in(&BUILT_IN_SHARES, config).unwrap_or(0.0),
        }
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl SettingValue for Share {
    fn parse_value(text: &str) -> Result<Self, String> {
        match text.parse::<f32>() {
            Ok(s) if (0.0..1.0).contains(&s) => Ok(Share(s)),
            _ => Err("a share from 0 up to below 1".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_the_models_own_share_and_text_round_trips() {
        let mut cfg = ModelConfig {
            name: "bach-chorales".into(),
            ..ModelConfig::default()
        };
        assert_eq!(MinP::Auto.share_for(&cfg), 0.05);
        assert_eq!(MinP::Off.share_for(&cfg), 0.0);
        cfg.name = "fiddle-tunes".into();
        assert_eq!(MinP::Auto.share_for(&cfg), 0.0);
        assert_eq!(MinP::Value(Share(0.2)).share_for(&cfg), 0.2);
        for text in ["off", "auto", "0.1", "0"] {
            assert_eq!(text.parse::<MinP>().unwrap().to_string(), text);
        }
        assert!("1".parse::<MinP>().is_err());
        assert!("-0.1".parse::<MinP>().is_err());
        assert!("some".parse::<MinP>().is_err());
    }
}
