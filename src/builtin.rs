//! The models built into the binary, so `phrasegen generate` and the plugin work with no files.
//!
//! The default is the four-part harmony model trained on J. S. Bach's chorales (`models/`):
//! chords and moving inner voices make a richer starting point in front of an instrument than
//! a single melody line. The melody model (`fiddle-tunes`) is built in too, so a producer can
//! switch to a lead line without finding a file. Each is about 3.6 MB and loads in milliseconds.

use std::path::Path;

use crate::infer::FastLstm;
use crate::model::file::{read_model_bytes, read_model_file, ModelFile};
use crate::model::ModelError;

/// The embedded default model file.
pub static DEFAULT_MODEL_BYTES: &[u8] = include_bytes!("../models/bach-chorales.safetensors");

/// The built-in models by name; the first is the default.
pub static BUILTIN_MODELS: &[(&str, &[u8])] = &[
    ("bach-chorales", DEFAULT_MODEL_BYTES),
    (
        "fiddle-tunes",
        include_bytes!("../models/fiddle-tunes.safetensors"),
    ),
];

/// Loads the embedded default model into the fast engine.
pub fn default_model() -> Result<FastLstm, ModelError> {
    FastLstm::from_model_bytes(DEFAULT_MODEL_BYTES)
}

/// The names of the built-in models, for messages and pickers.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN_MODELS.iter().map(|(name, _)| *name).collect()
}

/// Loads a model chosen by the user: a file path, or the name of a built-in model when no
/// such file exists. The message names the file and what is wrong with it.
pub fn load_model_choice(choice: &str) -> Result<FastLstm, ModelError> {
    let file = read_model_choice(choice)?;
    FastLstm::from_tensors(&file.config, &file.tensors)
}

/// A model chosen by the user as its file (settings and weights): what fine-tuning starts
/// from.
pub fn read_model_choice(choice: &str) -> Result<ModelFile, ModelError> {
    let path = Path::new(choice);
    if !path.exists() {
        if let Some((_, bytes)) = BUILTIN_MODELS.iter().find(|(name, _)| *name == choice) {
            return read_model_bytes(bytes);
        }
        return Err(ModelError::NoSuchModel {
            choice: choice.to_string(),
            builtins: builtin_names().join(", "),
        });
    }
    read_model_file(path).map_err(|e| ModelError::InFile {
        path: path.display().to_string(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_model_loads_by_name() {
        for name in builtin_names() {
            let model = load_model_choice(name).unwrap();
            assert_eq!(model.config.name, name);
        }
    }

    #[test]
    fn unknown_choice_names_the_builtins() {
        let err = load_model_choice("no-such-model")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
        assert!(err.contains("fiddle-tunes"), "{err}");
    }
}
