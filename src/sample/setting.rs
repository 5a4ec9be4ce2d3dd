//! A sampler setting a user can turn off, leave to the model, or give a value (`--repeats`,
//! `--span`): written and parsed as `off`, `auto` or the value.

use std::fmt;
use std::str::FromStr;

use crate::model::ModelConfig;

/// Off, the model's own choice, or a value given by the user.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Setting<T> {
    Off,
    #[default]
    Auto,
    Value(T),
}

/// The value `table` lists for `config`'s model (a built-in model's own choice, measured for
/// it), if it is listed: what `Auto` resolves to.
pub fn built_in<T: Copy>(table: &[(&str, T)], config: &ModelConfig) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| *name == config.name)
        .map(|&(_, value)| value)
}

/// A value a `Setting` can hold, read from the command line.
pub trait SettingValue: Sized + fmt::Display {
    /// The value `text` names, or what a value must be.
    fn parse_value(text: &str) -> Result<Self, String>;
}

impl<T: fmt::Display> Setting<T> {
    /// How the setting reads once resolved for a model: `auto (<value>)` where the model's
    /// own choice is a value, `auto (<when_none>)` where it is none, else as written.
    pub fn describe(&self, resolved: Option<impl fmt::Display>, when_none: &str) -> String {
        match (self, resolved) {
            (Self::Auto, Some(value)) => format!("auto ({value})"),
            (Self::Auto, None) => format!("auto ({when_none})"),
            _ => self.to_string(),
        }
    }
}

impl<T: SettingValue> FromStr for Setting<T> {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Self::Off),
            "auto" => Ok(Self::Auto),
            _ => T::parse_value(s)
                .map(Self::Value)
                .map_err(|what| format!("`{s}`: write auto, off, or {what}")),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Setting<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::Off => write!(f, "off"),
            Self::Auto => write!(f, "auto"),
            Self::Value(v) => write!(f, "{v}"),
        }
    }
}
