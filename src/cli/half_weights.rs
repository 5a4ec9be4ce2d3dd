//! `phrasegen half-weights MODEL -o OUT`: round a model's weights to half precision.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::infer::FastLstm;
use crate::model::{read_model_file, round_weights_to_f16, write_model_file};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model file (.safetensors) to round.
    pub model: PathBuf,
    /// Where to write the rounded model (may be the same file).
    #[arg(short, long)]
    pub out: PathBuf,
}

/// Rounds every weight to the nearest f16 value and writes the model; the phrases change a
/// little, so measure the result (`phrasegen stats`) as a new model.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = read_model_file(&args.model)
        .with_context(|| format!("reading {}", args.model.display()))?;
    let rounded = round_weights_to_f16(&file)?;
    write_model_file(&args.out, &rounded.config, &rounded.tensors)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let bytes = |f: &crate::model::ModelFile| {
        FastLstm::from_tensors(&f.config, &f.tensors).map(|m| m.weight_bytes())
    };
    println!(
        "{}: weights rounded to f16; a step reads {} KiB of weights (was {} KiB)",
        args.out.display(),
        bytes(&rounded)? / 1024,
        bytes(&file)? / 1024
    );
    Ok(ExitCode::SUCCESS)
}
