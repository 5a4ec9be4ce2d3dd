//! `phrasegen eval --model M --data D`: held-out NLL (nats per step) and frame accuracy;
//! for event models NLL per event, per grid step and per quarter note.

use std::path::PathBuf;
use std::process::ExitCode;

use super::value_name;
use crate::family::{evaluate_in, precision_of};
use crate::infer::Precision;
use crate::model::Architecture;
use crate::train::{Dataset, DatasetOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file (.safetensors), or a built-in model by name (`bach-chorales`,
    /// `fiddle-tunes`).
    #[arg(long)]
    pub model: PathBuf,
    /// Folder of MIDI files; its test/ subfolder is used when present, else every file.
    #[arg(long, value_name = "FOLDER")]
    pub data: PathBuf,
    /// Notes shorter than this many quarter notes are dropped when reading the data.
    #[arg(long, default_value_t = 0.25)]
    pub min_note_quarters: f64,
    /// The arithmetic the network steps in: f32 (the reference, as training's validation) or
    /// int8 (what `fiddle-tunes` draws its phrases in, and every model its repeat trials).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let model = crate::builtin::load_model_choice(&args.model.to_string_lossy())
        .map_err(|e| anyhow::anyhow!("cannot load the model: {e}"))?;
    if let Err(e) = std::fs::read_dir(&args.data) {
        anyhow::bail!("cannot read the data folder {}: {e}", args.data.display());
    }
    let folder = if args.data.join("test").is_dir() {
        args.data.join("test")
    } else {
        args.data.clone()
    };
    let data = Dataset::load(
        &folder,
        &DatasetOptions {
            steps_per_quarter: model.config.steps_per_quarter,
            min_note_quarters: args.min_note_quarters,
            split_seed: 0,
            normalise_key: model.config.key_normalised,
        },
    );
    // A plain folder is split 80:20 by `Dataset::load`; evaluation wants every file.
    let (mut pieces, mut meters) = (data.train.rolls, data.train.meters);
    pieces.extend(data.test.rolls);
    meters.extend(data.test.meters);
    for (path, reason) in &data.skipped {
        eprintln!("skipped {}: {reason}", path.display());
    }
    let frames: usize = pieces.iter().map(|p| p.len()).sum();
    if frames == 0 {
        let files = data.split.train.len() + data.split.test.len();
        anyhow::bail!(if files == 0 {
            format!("no .mid or .midi files in {}", folder.display())
        } else {
            format!(
                "no usable pieces in {}: none of its {files} MIDI file(s) could be read",
                folder.display()
            )
        });
    }
    let cfg = &model.config;
    let m = evaluate_in(&model, &pieces, &meters, args.precision);
    let generates_in = precision_of(&model);
    println!(
        "precision {}{}",
        value_name(args.precision),
        if args.precision == generates_in {
            " (what its phrases are drawn in)".to_string()
        } else {
            format!(" (its phrases are drawn in {})", value_name(generates_in))
        }
    );
    match (cfg.architecture, m.frame_accuracy) {
        (Architecture::Events { max_voices }, _) => {
            println!(
                "model {} (events, up to {max_voices} voices, {} x {}, {} steps/quarter, {:?}, pitches {}..{})\n\
                 data {} ({} pieces, {} events, {} steps, {:.1} quarter notes)\n\
                 NLL {:.4} nats per event\nNLL {:.4} nats per step\nNLL {:.4} nats per quarter note (frame-equivalent)",
                cfg.name, cfg.layers, cfg.hidden, cfg.steps_per_quarter, cfg.representation,
                cfg.pitch_range.lo, cfg.pitch_range.hi, folder.display(), pieces.len(), m.predictions,
                m.steps, m.quarters, m.nats_per_prediction(), m.nats_per_step(), m.nats_per_quarter()
            );
            if m.dropped_note_steps > 0 {
                println!(
                    "note: {} note-steps above the model's {max_voices} voices were left out (top voices kept)",
                    m.dropped_note_steps
                );
            }
        }
        (Architecture::Frame, accuracy) => println!(
            "model {} ({} x {}, {} steps/quarter, {:?}, pitches {}..{})\ndata {} ({} pieces, {} frames)\nNLL {:.4} nats per step\nframe accuracy {:.4}",
            cfg.name, cfg.layers, cfg.hidden, cfg.steps_per_quarter, cfg.representation,
            cfg.pitch_range.lo, cfg.pitch_range.hi, folder.display(), pieces.len(), m.predictions,
            m.nats_per_prediction(), accuracy.unwrap_or(0.0)
        ),
    }
    Ok(ExitCode::SUCCESS)
}
