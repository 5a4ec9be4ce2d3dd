//! Errors a user can cause by handing PhraseGen a model file: each names what is wrong.

/// Why a model could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a safetensors model file: {0}")]
    NotSafetensors(String),
    #[error("model file has no PhraseGen config (metadata key `phrasegen`)")]
    MissingConfig,
    #[error("model config is not valid: {0}")]
    BadConfig(String),
    #[error("model file is missing tensor `{0}`")]
    MissingTensor(String),
    #[error("tensor `{name}` has shape {found:?}, the config needs {expected:?}")]
    WrongShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("tensor `{name}` is {found}, PhraseGen needs F32")]
    WrongDtype { name: String, found: String },
    #[error(
        "tensor `{name}` holds {value} at index {index}: every weight must be a finite number"
    )]
    NonFinite {
        name: String,
        index: usize,
        value: f32,
    },
    #[error(
        "tensor `{name}` holds {value} at index {index}: beyond half precision's range (65504)"
    )]
    BeyondHalf {
        name: String,
        index: usize,
        value: f32,
    },
    #[error("model computation failed: {0}")]
    Compute(String),
    #[error("{choice}: no such file (built-in models: {builtins})")]
    NoSuchModel { choice: String, builtins: String },
    /// What is wrong, with the file it is wrong in.
    #[error("{path}: {source}")]
    InFile {
        path: String,
        source: Box<ModelError>,
    },
}

impl From<candle_core::Error> for ModelError {
    fn from(e: candle_core::Error) -> Self {
        Self::Compute(e.to_string())
    }
}
