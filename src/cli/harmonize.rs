//! `phrasegen harmonize melody.mid -o out.mid`: the voices under a melody, written by a
//! model of several voices (`sample::melody`). The melody comes back note for note (on the
//! model's grid), with its tempo, time signature and bar lines.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;

use crate::cli::generate;
use crate::family::generate_variations;
use crate::infer::FastLstm;
use crate::phrase::Phrase;
use crate::sample::melody::Melody;
use crate::sample::melody::LINE_COPY_SHARE;
use crate::sample::min_p::MinP;
use crate::sample::GenerateParams;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The melody: a MIDI file; with several voices, its top line is the melody.
    pub melody: PathBuf,
    /// Where to write the harmonized MIDI file (with --variations N: NAME-1.mid ...).
    #[arg(short, long, default_value = "harmonized.mid")]
    pub output: PathBuf,
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Voices in all, the melody included (2 to the model's).
    #[arg(long, default_value_t = 4)]
    pub max_polyphony: usize,
    /// Let voices move in parallel fifths and octaves.
    #[arg(long)]
    pub allow_parallels: bool,
    /// Draw this many harmonies and keep the one the model finds most likely. 1 to 16.
    /// With `--min-p 0.1`, four keep the harmony in key as Bach does (models/README.md,
    /// "Harmonizing").
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub candidates: u32,
    /// Never draw a note less likely than this share of the likeliest (min-p): a share below
    /// 1, `off`, or `auto` (the model's own, as `generate`).
    #[arg(long, default_value = "0.1")]
    pub min_p: MinP,
    /// How often a melody line that comes back (three bars or more, or the opening two)
    /// gets its harmony back: 0 (always harmonized afresh) to 1 (always the same); by
    /// default Bach's share, 0.89.
    #[arg(long, default_value_t = LINE_COPY_SHARE, value_parser = parse_share)]
    pub line_copies: f32,
    /// Velocity of the added voices (1-127); the melody keeps its own.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=127))]
    pub velocity: u8,
}

/// What `harmonize` and `accompany` share: the model and how it draws.
#[derive(Debug, clap::Args)]
pub struct FollowArgs {
    /// The model (a file or a built-in model's name). Default: `bach-chorales` to
    /// harmonize (it needs several voices), `fiddle-tunes` to accompany (a melody model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Creativity (0.05 to 3).
    #[arg(short, long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Random seed: the same seed and settings give the same result.
    #[arg(short, long, default_value_t = 1)]
    pub seed: u64,
    /// Write this many different results (seeds seed, seed+1 ...).
    #[arg(long, default_value_t = 1)]
    pub variations: usize,
}

impl FollowArgs {
    /// The model asked for, or `default` (a built-in model's name).
    pub fn load_model(&self, default: &str) -> anyhow::Result<FastLstm> {
        let name = self.model.clone().unwrap_or_else(|| PathBuf::from(default));
        generate::load_model(Some(&name))
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let model = args.follow.load_model("bach-chorales")?;
    let imported = generate::import_given(&args.melody, "melody", model.config.steps_per_quarter)?;
    let melody = Melody::new(
        &imported.phrase,
        imported.meters.clone(),
        imported.key_signature,
    );
    let melody_notes = melody.phrase.notes.len();
    let params = harmonize_params(&args, melody, model.config.steps_per_quarter)?;
    write_following(
        &model,
        &params,
        &args.melody,
        &args.output,
        args.follow.variations,
    )?;
    println!("{melody_notes} of the notes are the melody's");
    Ok(ExitCode::SUCCESS)
}

/// Generates `variations` phrases that follow `given` and writes them to `output`.
pub fn write_following(
    model: &FastLstm,
    params: &GenerateParams,
    given: &Path,
    output: &Path,
    variations: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let phrases = generate_variations(model, params, variations.max(1))
        .with_context(|| format!("cannot follow {}", given.display()))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    generate::write_phrases(model, params, &phrases, output, &model.config.name)?;
    eprintln!("written in {ms:.1} ms");
    Ok(())
}

/// `generate`'s defaults with this command's settings and the melody's length, metre and
/// tempo.
pub fn harmonize_params(
    args: &Args,
    melody: Melody,
    steps_per_quarter: u32,
) -> anyhow::Result<GenerateParams> {
    let mut gen_args = generate::Args::defaults();
    gen_args.temperature = args.follow.temperature;
    gen_args.max_polyphony = args.max_polyphony;
    gen_args.sampler.allow_parallels = args.allow_parallels;
    gen_args.sampler.candidates = args.candidates;
    gen_args.sampler.min_p = args.min_p;
    gen_args.velocity = args.velocity;
    let mut params = generate::generate_params(&gen_args, steps_per_quarter, args.follow.seed)?;
    follow_shape(&mut params, &melody.phrase, melody.length_steps());
    params.line_copies = args.line_copies;
    params.melody = Some(melody);
    Ok(params)
}

/// What follows `given` takes its metre, tempo and length (`length_steps`, on the model's
/// grid, in whole bars) and repeats nothing of its own: the music followed has its form.
pub fn follow_shape(params: &mut GenerateParams, given: &Phrase, length_steps: u32) {
    params.time_signature = given.time_signature;
    params.tempo_bpm = given.tempo_bpm;
    let steps_per_bar = given.time_signature.steps_per_bar(given.steps_per_quarter);
    params.bars = length_steps.div_ceil(steps_per_bar).max(1);
    params.form = crate::form::Form::through_composed();
}

/// A share from 0 to 1 (`--line-copies`).
pub fn parse_share(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(s) if (0.0..=1.0).contains(&s) => Ok(s),
        _ => Err("a share from 0 to 1".into()),
    }
}
