//! `phrasegen eval --model M --data D`: held-out NLL (nats per step) and frame accuracy.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::infer::FastLstm;
use crate::train::{evaluate, Dataset, DatasetOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file (.safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Folder of MIDI files; its test/ subfolder is used when present, else every file.
    #[arg(long, value_name = "FOLDER")]
    pub data: PathBuf,
    /// Notes shorter than this many quarter notes are dropped when reading the data.
    #[arg(long, default_value_t = 0.25)]
    pub min_note_quarters: f64,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let file = crate::model::read_model_file(&args.model).map_err(|e| e.to_string())?;
    let model = FastLstm::from_tensors(&file.config, &file.tensors).map_err(|e| e.to_string())?;
    let folder = if args.data.join("test").is_dir() {
        args.data.join("test")
    } else {
        args.data.clone()
    };
    let data = Dataset::load(
        &folder,
        &DatasetOptions {
            steps_per_quarter: file.config.steps_per_quarter,
            min_note_quarters: args.min_note_quarters,
            split_seed: 0,
        },
    );
    // A plain folder is split 80:20 by `Dataset::load`; evaluation wants every file.
    let pieces: Vec<_> = data.train.into_iter().chain(data.test).collect();
    for (path, reason) in &data.skipped {
        eprintln!("skipped {}: {reason}", path.display());
    }
    let m = evaluate(&model, &pieces);
    let cfg = &file.config;
    println!(
        "model {} ({} x {}, {} steps/quarter, {:?}, pitches {}..{})\ndata {} ({} pieces, {} frames)\nNLL {:.4} nats per step\nframe accuracy {:.4}",
        cfg.name, cfg.layers, cfg.hidden, cfg.steps_per_quarter, cfg.representation,
        cfg.pitch_range.lo, cfg.pitch_range.hi, folder.display(), pieces.len(), m.frames,
        m.nll_nats_per_step, m.frame_accuracy
    );
    Ok(ExitCode::SUCCESS)
}
