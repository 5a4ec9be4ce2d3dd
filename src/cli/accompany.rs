//! `phrasegen accompany chords.mid -o line.mid`: a line over chords, played by a melody
//! model (`sample::chords`): chord tones on strong beats, the chord's scale elsewhere. The
//! line has the chords' tempo, time signature and bar lines.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::generate::{self, import_given};
use crate::cli::harmonize::{follow_shape, write_following, FollowArgs};
use crate::sample::chords::Chords;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The chords: a MIDI file (any voicing; what sounds at each step is the chord).
    pub chords: PathBuf,
    /// Where to write the line (with --variations N: NAME-1.mid ...).
    #[arg(short, long, default_value = "line.mid")]
    pub output: PathBuf,
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Lowest and highest MIDI note of the line, e.g. 60..84.
    #[arg(long)]
    pub pitch_range: Option<crate::roll::PitchRange>,
    /// Also write the chords into the file, under the line (to listen to both).
    #[arg(long)]
    pub with_chords: bool,
    /// Velocity of the line (1-127).
    #[arg(long, default_value_t = 96, value_parser = clap::value_parser!(u8).range(1..=127))]
    pub velocity: u8,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let model = args.follow.load_model("fiddle-tunes")?;
    let spq = model.config.steps_per_quarter;
    let imported = import_given(&args.chords, "chords", spq)?;
    let chords = Chords {
        phrase: imported.phrase.clone(),
        meters: imported.meters.clone(),
        key_signature: imported.key_signature,
    };
    let mut gen_args = generate::Args::defaults();
    gen_args.temperature = args.follow.temperature;
    gen_args.velocity = args.velocity;
    gen_args.pitch_range = args.pitch_range;
    let mut params = generate::generate_params(&gen_args, spq, args.follow.seed)?;
    let phrase = &imported.phrase;
    let end = phrase.notes.iter().map(|n| n.end_step()).max().unwrap_or(0);
    follow_shape(&mut params, phrase, end);
    params.chords = Some(chords);
    if args.with_chords {
        return write_with_chords(&args, &model, &params, phrase);
    }
    write_following(
        &model,
        &params,
        &args.chords,
        &args.output,
        args.follow.variations,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Writes each line with the chords under it.
fn write_with_chords(
    args: &Args,
    model: &crate::infer::FastLstm,
    params: &crate::sample::GenerateParams,
    chords: &crate::phrase::Phrase,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    let lines = crate::family::generate_variations(model, params, args.follow.variations.max(1))
        .with_context(|| format!("cannot follow {}", args.chords.display()))?;
    for (i, mut both) in lines.into_iter().enumerate() {
        both.notes.extend(chords.notes.iter().copied());
        both.sort_notes();
        let path = generate::output_path(&args.output, i, args.follow.variations.max(1));
        crate::midi::export_file(&both, &format!("PhraseGen {}", model.config.name), &path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {} (the line and the chords)", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
