//! Playing a key-normalised model in the key asked for: the request is moved to the model's
//! home (C), drawn there, and the phrases moved back. The model was trained on pieces moved
//! home by their key signature (see [`crate::key::home_tonic`]), so it knows one key's
//! grammar, and the key is a transposition rather than a mask that fights the model.

use crate::key::{home_tonic, mode_of_scale, shift_between, Key};
use crate::model::ModelConfig;
use crate::sample::{GenerateError, GenerateParams};
use crate::scale::Scale;

/// Semitones from the model's home to the phrase's key (-6..=5): a melody's or primer's
/// own key wins (what is drawn must agree with it), else the Key and Scale settings name it (A minor
/// and D dorian play from C's notes). 0 for models not trained key-normalised.
pub fn shift_from_home(cfg: &ModelConfig, params: &GenerateParams) -> i32 {
    if !cfg.key_normalised {
        return 0;
    }
    // A melody to harmonize is the music the phrase must agree with, as a primer is.
    let primer_home = match params.melody.as_ref().or(params.chords.as_ref()) {
        Some(given) => home_tonic(&given.phrase, given.key_signature),
        None => params
            .primer
            .as_ref()
            .and_then(|primer| home_tonic(primer, None)),
    };
    let asked = (params.scale.root + params.scale.kind.major_tonic_offset()) % 12;
    shift_between(0, primer_home.unwrap_or(asked))
}

/// The request as the model hears it at home: scale, range, primer and kept bars moved
/// down by `shift`; without a primer, a major or minor scale's key is preferred among the
/// candidates (A minor and C major share their notes: only the draw tells them apart).
pub fn request_at_home(cfg: &ModelConfig, params: &GenerateParams, shift: i32) -> GenerateParams {
    let root_at_home = (i32::from(params.scale.root) - shift).rem_euclid(12) as u8;
    let given_music = params.primer.is_some() || params.melody.is_some() || params.chords.is_some();
    let prefer_key = match (
        cfg.key_normalised,
        given_music,
        mode_of_scale(params.scale.kind),
    ) {
        (true, false, Some(mode)) => Some(Key {
            tonic: root_at_home,
            mode,
        }),
        _ => params.prefer_key,
    };
    if shift == 0 {
        return GenerateParams {
            prefer_key,
            ..params.clone()
        };
    }
    let pitch = |p: u8| (i32::from(p) - shift).clamp(0, 127) as u8;
    GenerateParams {
        scale: Scale::new(root_at_home, params.scale.kind),
        prefer_key,
        pitch_lo: pitch(params.pitch_lo),
        pitch_hi: pitch(params.pitch_hi),
        primer: params.primer.as_ref().map(|p| p.transposed(-shift)),
        melody: params.melody.as_ref().map(|m| m.transposed(-shift)),
        chords: params.chords.as_ref().map(|c| c.transposed(-shift)),
        keep_bars: params
            .keep_bars
            .as_ref()
            .map(|(phrase, bars)| (phrase.transposed(-shift), *bars)),
        ..params.clone()
    }
}

/// An error found at home, told in the user's key.
pub fn error_in_users_key(
    error: GenerateError,
    params: &GenerateParams,
    shift: i32,
) -> GenerateError {
    let moved = |p: u8| (i32::from(p) + shift).clamp(0, 127) as u8;
    match error {
        GenerateError::NoPitches {
            model_lo, model_hi, ..
        } => GenerateError::NoPitches {
            scale: params.scale,
            lo: params.pitch_lo,
            hi: params.pitch_hi,
            model_lo: moved(model_lo),
            model_hi: moved(model_hi),
        },
        other => other,
    }
}
