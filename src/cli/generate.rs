//! `phrasegen generate -o generated.mid`: the main job, with the embedded model by default.

use crate::form::Form;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crate::cli::key_scale;
use crate::family::generate_variations;
use crate::infer::FastLstm;
use crate::midi::{self, ImportOptions};
use crate::phrase::{Phrase, TimeSignature};
use crate::roll::PitchRange;
use crate::sample::min_p::MinP;
use crate::sample::repeats::Repeats;
use crate::sample::span::Span;
use crate::sample::{variation_seed, GenerateParams};
use crate::scale::{Scale, ScaleKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the MIDI file (with --variations N: NAME-1.mid ... NAME-N.mid).
    #[arg(short, long, default_value = "generated.mid")]
    pub output: PathBuf,
    /// A model file (.safetensors) made by `phrasegen train`, or a built-in model by name:
    /// `bach-chorales` (the default, four-part harmony) or `fiddle-tunes` (melodies).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Creativity: low values (0.3) play it safe, 1.0 follows the model, high values (2.0)
    /// take risks. Range 0.05 to 3.
    #[arg(short, long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Length of the phrase in bars.
    #[arg(short, long, default_value_t = 4)]
    pub bars: u32,
    /// Tempo written into the file, in BPM.
    #[arg(long, default_value_t = 120.0)]
    pub tempo: f64,
    /// Time signature, e.g. 4/4, 3/4, 6/8.
    #[arg(long, default_value = "4/4", value_parser = parse_time_signature)]
    pub time_signature: TimeSignature,
    /// Random seed: the same seed and settings give the same phrase. Default: a new one
    /// each run (printed, so you can get it back).
    #[arg(short, long)]
    pub seed: Option<u64>,
    /// Shortest note allowed, as a fraction of a whole note: 1/16, 1/8, 1/4 ...
    #[arg(long, default_value = "1/16", value_parser = parse_fraction)]
    pub note_length: (u32, u32),
    /// Key (root note) of the scale: C, F#, Bb ...
    #[arg(long, value_parser = key_scale::key(), default_value = "C")]
    pub key: u8,
    /// Scale whose notes may sound: chromatic (all), major, minor, harmonic-minor, dorian,
    /// mixolydian, pentatonic, minor-pentatonic, blues.
    #[arg(long, value_parser = key_scale::scale(), default_value = "chromatic")]
    pub scale: ScaleKind,
    /// Lowest and highest MIDI note, e.g. 48..84 (60 is middle C).
    #[arg(long)]
    pub pitch_range: Option<PitchRange>,
    /// At most this many notes at once.
    #[arg(long, default_value_t = 4)]
    pub max_polyphony: usize,
    /// Velocity of the notes (1-127).
    #[arg(long, default_value_t = 96, value_parser = clap::value_parser!(u8).range(1..=127))]
    pub velocity: u8,
    /// A MIDI file to continue from: the model listens to it first.
    #[arg(long, value_name = "FILE")]
    pub primer: Option<PathBuf>,
    /// Form: which bars repeat earlier ones, as letters over equal sections of the phrase:
    /// AABA, ABAB, AA'BA (a prime repeats with a new last bar), or none. Event models
    /// (v2) only.
    #[arg(long, default_value = "AA'BA")]
    pub form: Form,
    /// Write this many different phrases (seeds seed, seed+1 ...), generated together.
    #[arg(long, default_value_t = 1)]
    pub variations: usize,
    #[command(flatten)]
    pub sampler: SamplerArgs,
}

/// How an event model's sampler draws: the options `generate` and `stats` share.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct SamplerArgs {
    /// Let voices move in parallel fifths and octaves (by default an event model's
    /// sampler avoids them, as four-part writing does); `stats --allow-parallels` measures
    /// what the network does on its own.
    #[arg(long)]
    pub allow_parallels: bool,
    /// Draw this many candidates for each phrase and keep the one the model finds most
    /// likely (event models): less wandering, at the cost of a bigger batch. 1 to 16.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub candidates: u32,
    /// Event models: never draw an event less likely than this share of the likeliest
    /// (min-p sampling): `auto` (the model's own: 0.05 for bach-chorales, off for the others),
    /// `off`, or a share below 1.
    #[arg(long, default_value = "auto")]
    pub min_p: MinP,
    /// Event models: each free bar is also tried as a repeat of the bars its model's music
    /// repeats (4 and 8 bars back for fiddle-tunes and other models, 4 to 6 for
    /// bach-chorales), and a repeat the network finds about as likely per event as the bar
    /// it drew is kept (for fiddle-tunes the one from furthest back, else the likeliest);
    /// never the bar before, nor a phrase a third time in a row. auto = the
    /// model's own setting with `--form none` (other forms decide the repeats themselves),
    /// off, or a bias in nats per event in the repeat's favour, in any form (below 0: a
    /// repeat must be likelier by that much).
    #[arg(long, default_value = "auto", allow_hyphen_values = true)]
    pub repeats: Repeats,
    /// Event models: no note widens the phrase beyond this many semitones, lowest note to
    /// highest. auto = the model's own limit (36 for bach-chorales, none for the others),
    /// off, or a number of semitones (12 to 127).
    #[arg(long, default_value = "auto")]
    pub span: Span,
}

pub fn parse_time_signature(s: &str) -> Result<TimeSignature, String> {
    let (n, d) = s.split_once('/').ok_or("write a time signature as 4/4")?;
    let part = |text: &str, name: &str| {
        text.trim()
            .parse::<u8>()
            .map_err(|_| format!("bad {name} `{text}`"))
    };
    let (numerator, denominator) = (part(n, "numerator")?, part(d, "denominator")?);
    if numerator == 0 || !matches!(denominator, 1 | 2 | 4 | 8 | 16 | 32) {
        return Err(format!("{s} is not a time signature PhraseGen can write"));
    }
    Ok(TimeSignature::new(numerator, denominator))
}

fn parse_fraction(s: &str) -> Result<(u32, u32), String> {
    let (n, d) = s
        .split_once('/')
        .ok_or("write a note length as 1/16, 1/8 ...")?;
    let bad = |_| format!("bad note length `{s}`");
    let n: u32 = n.trim().parse().map_err(bad)?;
    let d: u32 = d.trim().parse().map_err(bad)?;
    if n == 0 || d == 0 {
        return Err(format!("note length `{s}` must be positive"));
    }
    Ok((n, d))
}

/// Loads `--model` (a file or a built-in name) or the default built-in model.
pub fn load_model(path: Option<&Path>) -> anyhow::Result<FastLstm> {
    match path {
        Some(p) => Ok(crate::builtin::load_model_choice(&p.to_string_lossy())?),
        None => Ok(crate::builtin::default_model()?),
    }
}

/// Reads a MIDI file given to follow or continue (a melody, chords, a primer) on the
/// model's grid, its warnings told; `what` names it in messages.
pub fn import_given(
    path: &Path,
    what: &str,
    steps_per_quarter: u32,
) -> anyhow::Result<midi::ImportedPhrase> {
    let imported = midi::import_file(
        path,
        &ImportOptions {
            steps_per_quarter,
            ..ImportOptions::default()
        },
    )
    .with_context(|| format!("{what} {}", path.display()))?;
    for warning in &imported.warnings {
        eprintln!("{what} {}: warning: {warning}", path.display());
    }
    Ok(imported)
}

/// `NAME.mid` or, for variation `i` of several, `NAME-i.mid`.
pub fn output_path(base: &Path, index: usize, count: usize) -> PathBuf {
    if count == 1 {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map_or("generated".into(), |s| s.to_string_lossy().into_owned());
    let ext = base
        .extension()
        .map_or("mid".into(), |e| e.to_string_lossy().into_owned());
    base.with_file_name(format!("{stem}-{}.{ext}", index + 1))
}

impl Args {
    /// The options `phrasegen generate` runs with when none are given on the command line,
    /// so other commands (`stats`) generate exactly as a plain `generate` does.
    pub fn defaults() -> Self {
        Self::parse_options(&[]).expect("every generate option has a default")
    }

    /// `phrasegen generate`'s own options, as the command line reaches them.
    fn parse_options(options: &[&str]) -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Generate {
            #[command(flatten)]
            args: Args,
        }
        let argv = std::iter::once("generate").chain(options.iter().copied());
        <Generate as clap::Parser>::try_parse_from(argv).map(|g| g.args)
    }
}

/// The sampling parameters these options ask for, on the grid of a model with
/// `steps_per_quarter` steps per quarter note.
pub fn generate_params(
    args: &Args,
    steps_per_quarter: u32,
    seed: u64,
) -> anyhow::Result<GenerateParams> {
    let spq = steps_per_quarter;
    let (n, d) = args.note_length;
    let min_note_steps = ((f64::from(n) / f64::from(d)) * 4.0 * f64::from(spq))
        .round()
        .max(1.0) as u32;
    let primer = match &args.primer {
        Some(p) => Some(import_given(p, "primer", spq)?.phrase),
        None => None,
    };
    let range = args.pitch_range.unwrap_or(PitchRange::FULL);
    Ok(GenerateParams {
        temperature: args.temperature,
        seed,
        bars: args.bars,
        time_signature: args.time_signature,
        tempo_bpm: args.tempo,
        min_note_steps,
        scale: Scale::new(args.key, args.scale),
        pitch_lo: range.lo,
        pitch_hi: range.hi,
        max_polyphony: args.max_polyphony,
        velocity: args.velocity,
        primer,
        keep_bars: None,
        form: args.form.clone(),
        strict_voice_leading: !args.sampler.allow_parallels,
        candidates: args.sampler.candidates,
        prefer_key: None,
        min_p: args.sampler.min_p,
        repeats: args.sampler.repeats,
        span: args.sampler.span,
        ..GenerateParams::default()
    })
}

/// Writes `phrases` (drawn with `params`) to `output`, numbered when several, each told
/// with its bars, notes, seed, temperature and `what`.
pub fn write_phrases(
    model: &FastLstm,
    params: &GenerateParams,
    phrases: &[Phrase],
    output: &Path,
    what: &dyn std::fmt::Display,
) -> anyhow::Result<()> {
    for (i, phrase) in phrases.iter().enumerate() {
        let path = output_path(output, i, phrases.len());
        midi::export_file(phrase, &format!("PhraseGen {}", model.config.name), &path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "wrote {} ({} bars, {} notes, seed {}, temperature {}, {what})",
            path.display(),
            phrase.bars,
            phrase.notes.len(),
            variation_seed(params.seed, i),
            params.temperature,
        );
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let model = load_model(args.model.as_deref())?;
    let cfg = &model.config;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() % 100_000)
    });
    let params = generate_params(&args, cfg.steps_per_quarter, seed)?;
    let started = Instant::now();
    let phrases = generate_variations(&model, &params, args.variations.max(1))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    write_phrases(&model, &params, &phrases, &args.output, &params.scale)?;
    eprintln!("generated with model `{}` in {ms:.1} ms", cfg.name);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_takes_keys_and_scales_as_before_and_lists_them() {
        let args = Args::parse_options(&["--key", " F# ", "--scale", "Harmonic minor"]).unwrap();
        assert_eq!((args.key, args.scale), (6, ScaleKind::HarmonicMinor));
        let args = Args::parse_options(&["--key", "bb", "--scale", "MAJOR_PENTATONIC"]).unwrap();
        assert_eq!((args.key, args.scale), (10, ScaleKind::MajorPentatonic));
        let args = Args::parse_options(&[]).unwrap();
        assert_eq!((args.key, args.scale), (0, ScaleKind::Chromatic));

        let error = Args::parse_options(&["--key", "H"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(error.to_string().contains("C#, Db, D"), "{error}");
        let error = Args::parse_options(&["--scale", "lydian"]).unwrap_err();
        assert!(error.to_string().contains("harmonic-minor"), "{error}");
    }
}
