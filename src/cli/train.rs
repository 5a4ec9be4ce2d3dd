//! `phrasegen train --data FOLDER --out models/NAME`: train a model with this project's trainer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use crate::infer::FastLstm;
use crate::model::{write_model_file, ModelConfig, TrainingInfo};
use crate::roll::{PitchRange, Representation};
use crate::train::trainer::train_until;
use crate::train::{
    evaluate, plot::plot_losses, Dataset, DatasetOptions, TrainEngine, TrainOptions,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of MIDI files (searched recursively). With train/, valid/ and test/ subfolders
    /// that split is used; otherwise files are split 80:20 (seeded).
    #[arg(long, value_name = "FOLDER")]
    pub data: PathBuf,
    /// Output path without extension: writes NAME.safetensors, NAME.train.csv,
    /// NAME.loss.png and NAME.command.txt.
    #[arg(long, value_name = "models/NAME")]
    pub out: PathBuf,
    /// Passes over the training data.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Windows per training batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Steps per training window.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Stacked LSTM layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// Grid: steps per quarter note (4 = sixteenths; 1 = the published benchmarks' grid).
    #[arg(long, default_value_t = 4)]
    pub steps_per_quarter: u32,
    /// `onsets` keeps repeated notes apart; `active-only` matches the published benchmarks.
    #[arg(long, default_value = "onsets", value_parser = parse_representation)]
    pub representation: Representation,
    /// Pitches the model covers, e.g. 21..108 (default: the range used in the training data).
    #[arg(long, value_parser = parse_range)]
    pub pitch_range: Option<PitchRange>,
    /// Notes shorter than this many quarter notes are dropped when reading the data.
    #[arg(long, default_value_t = 0.25)]
    pub min_note_quarters: f64,
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// Random transposition of each window by up to this many semitones (0 = off).
    #[arg(long, default_value_t = 0)]
    pub transpose: i32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CPU threads for training (default: all cores). The result is deterministic for a
    /// seed and a thread count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// `fused` (fast) or `candle` (candle's autograd step by step: the reference the fused
    /// path is tested against, several times slower).
    #[arg(long, default_value = "fused", value_parser = parse_engine)]
    pub engine: TrainEngine,
    /// Model name shown to users (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
}

pub fn parse_engine(s: &str) -> Result<TrainEngine, String> {
    match s {
        "fused" => Ok(TrainEngine::Fused),
        "candle" => Ok(TrainEngine::Candle),
        _ => Err(format!("`{s}`: use `fused` or `candle`")),
    }
}

pub fn parse_representation(s: &str) -> Result<Representation, String> {
    match s {
        "onsets" | "active-and-onset" => Ok(Representation::ActiveAndOnset),
        "active-only" | "active" => Ok(Representation::ActiveOnly),
        _ => Err(format!("`{s}`: use `onsets` or `active-only`")),
    }
}

pub fn parse_range(s: &str) -> Result<PitchRange, String> {
    let (lo, hi) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}`: write a pitch range as LOW..HIGH, e.g. 36..96"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= 127)
            .ok_or_else(|| format!("`{v}` is not a MIDI pitch 0..127"))
    };
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo > hi {
        return Err(format!("pitch range {lo}..{hi} is empty"));
    }
    Ok(PitchRange { lo, hi })
}

fn with_ext(out: &Path, ext: &str) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    if let Some(t) = args.threads {
        // candle's CPU kernels size their pool from this.
        std::env::set_var("RAYON_NUM_THREADS", t.to_string());
    }
    let command = std::iter::once("phrasegen".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    if !args.data.exists() {
        return Err(format!("{} does not exist", args.data.display()));
    }
    let data = Dataset::load(
        &args.data,
        &DatasetOptions {
            steps_per_quarter: args.steps_per_quarter,
            min_note_quarters: args.min_note_quarters,
            split_seed: args.seed,
        },
    );
    for (path, reason) in &data.skipped {
        eprintln!("skipped {}: {reason}", path.display());
    }
    for (path, warnings) in &data.read_with_warnings {
        eprintln!(
            "read {} with {} warning(s), first: {}",
            path.display(),
            warnings.len(),
            warnings[0]
        );
    }
    eprintln!(
        "{} train / {} valid / {} test pieces ({}), {} read with warnings, {} skipped, {} training frames",
        data.train.len(),
        data.valid.len(),
        data.test.len(),
        if data.split.predefined {
            "folder split"
        } else {
            "seeded 80:20 split"
        },
        data.read_with_warnings.len(),
        data.skipped.len(),
        data.train_frames()
    );
    if args.batch_size == 0 || args.epochs == 0 {
        return Err("--batch-size and --epochs must be at least 1".into());
    }
    if let Some(reason) = data.unusable_reason(&args.data) {
        return Err(reason);
    }
    let pitch_range = args
        .pitch_range
        .or_else(|| data.pitch_range())
        .ok_or("the training data has no notes")?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_name()
            .map_or("model".into(), |n| n.to_string_lossy().into_owned())
    });
    let mut config = ModelConfig {
        name,
        layers: args.layers,
        hidden: args.hidden,
        representation: args.representation,
        steps_per_quarter: args.steps_per_quarter,
        pitch_range,
        architecture: crate::model::Architecture::Frame,
        training: None,
    };
    crate::model::file::validate_config(&config).map_err(|e| e.to_string())?;
    let options = TrainOptions {
        model: config.clone(),
        epochs: args.epochs,
        batch_size: args.batch_size,
        seq_len: args.window,
        learning_rate: args.learning_rate,
        seed: args.seed,
        transpose_semitones: args.transpose,
        threads: args
            .threads
            .unwrap_or_else(crate::train::trainer::default_threads),
        engine: args.engine,
    };
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let model_path = with_ext(&args.out, ".safetensors");
    let csv_path = with_ext(&args.out, ".train.csv");
    let png_path = with_ext(&args.out, ".loss.png");
    crate::midi::write_atomically(
        &with_ext(&args.out, ".command.txt"),
        format!("{command}\n").as_bytes(),
    )
    .map_err(|e| e.to_string())?;

    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} batches  {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let mut csv =
        String::from("epoch,train_loss,valid_loss,valid_frame_accuracy,frames_per_s,seconds\n");
    let mut history = Vec::new();
    let stop = stop_on_ctrl_c(progress.clone(), model_path.clone());
    let result = train_until(
        &data.train,
        &data.valid,
        &options,
        &progress,
        &stop,
        |stats, best| {
            let _ = writeln!(
                csv,
                "{},{:.6},{:.6},{:.6},{:.1},{:.2}",
                stats.epoch,
                stats.train_loss,
                stats.valid_loss,
                stats.valid_frame_accuracy,
                stats.frames_per_s,
                stats.seconds
            );
            say(
                &progress,
                format!(
            "epoch {:>3}: train {:.4}  held-out {:.4} nats/step  acc {:.3}  {:.0} frames/s{}",
            stats.epoch, stats.train_loss, stats.valid_loss, stats.valid_frame_accuracy,
            stats.frames_per_s, if best.is_some() { "  (best, saved)" } else { "" }
        ),
            );
            crate::midi::write_atomically(&csv_path, csv.as_bytes()).map_err(|e| e.to_string())?;
            history.push(*stats);
            plot_losses(&png_path, &format!("{} training", config.name), &history)?;
            if let Some(tensors) = best {
                write_model_file(&model_path, &config, tensors).map_err(|e| e.to_string())?;
            }
            Ok(())
        },
    )?;
    progress.finish_and_clear();

    // Final figures on the test split, recorded in the model file.
    let fast = FastLstm::from_tensors(&config, &result.tensors).map_err(|e| e.to_string())?;
    let test = evaluate(
        &fast,
        if data.test.is_empty() {
            &data.valid
        } else {
            &data.test
        },
    );
    config.training = Some(TrainingInfo {
        data: args.data.display().to_string(),
        command,
        epochs: result.history.len(),
        test_nll_nats_per_step: Some(test.nll_nats_per_step),
        test_frame_accuracy: Some(test.frame_accuracy),
    });
    write_model_file(&model_path, &config, &result.tensors).map_err(|e| e.to_string())?;
    println!(
        "best epoch {} of {}; test NLL {:.4} nats/step, frame accuracy {:.4} over {} frames\nwrote {}",
        result.best_epoch, result.history.len(), test.nll_nats_per_step, test.frame_accuracy,
        test.frames, model_path.display()
    );
    if result.interrupted {
        println!(
            "interrupted after {} of {} epochs: {} holds the best epoch so far ({})",
            result.history.len(),
            args.epochs,
            model_path.display(),
            result.best_epoch
        );
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

/// A line above the progress bar, or on stderr when there is no bar (output not a
/// terminal).
fn say(progress: &ProgressBar, line: String) {
    if progress.is_hidden() {
        eprintln!("{line}");
    } else {
        progress.println(line);
    }
}

/// A flag Ctrl-C sets: training stops after the batch under way, evaluates, and saves the
/// best model so far to `model_path` (atomically, as every checkpoint). A second Ctrl-C
/// quits at once; the last checkpoint on disk stays whole.
fn stop_on_ctrl_c(progress: ProgressBar, model_path: PathBuf) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let installed = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!(
                "\nquitting; {} holds the last saved checkpoint",
                model_path.display()
            );
            std::process::exit(130);
        }
        say(
            &progress,
            format!(
                "Ctrl-C: stopping after this batch and saving the best model so far to {} \
             (Ctrl-C again to quit at once)",
                model_path.display()
            ),
        );
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will not save a checkpoint: {e}");
    }
    stop
}
