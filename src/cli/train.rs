//! `phrasegen train --data FOLDER --out models/NAME`: train a model with this project's trainer.

use anyhow::Context as _;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use candle_core::Tensor;
use indicatif::{ProgressBar, ProgressStyle};

use super::value_name;
use crate::family::{evaluate, train_until};
use crate::fine_tune::{FineTune, FineTuneError, Recipe};
use crate::infer::FastLstm;
use crate::model::{write_model_file, Architecture, ModelConfig, TrainingInfo};
use crate::roll::{PitchRange, Representation};
use crate::train::{
    plot::plot_losses, Dataset, DatasetOptions, EpochStats, TrainOptions, TrainResult,
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
    /// Fine-tune: start from this model (a built-in model's name or a .safetensors file)
    /// instead of random weights. Its family, shape, range, voices and grid are kept; the
    /// folder is read as it hears music, and the small-data recipe is the default.
    #[arg(long, value_name = "MODEL",
          conflicts_with_all = ["max_voices", "layers", "hidden", "steps_per_quarter",
                                "representation", "pitch_range", "normalise_key",
                                "cut_time_as_common", "onset_age_beats"])]
    pub from: Option<String>,
    /// Passes over the training data [default: 40; fine-tuning 20].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Windows per training batch [default: 32; fine-tuning 16].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Steps per training window (events for event models) [default: 32 steps for frame
    /// models, 128 events for event models].
    #[arg(long)]
    pub window: Option<usize>,
    /// Model family [default: events]: `events` (model v2, the better one: a softmax over
    /// note-off / note-on / step-end events, the notes of a step drawn one after another,
    /// the input knows the bar and the beat) or `frame` (the prototype's network: a sigmoid
    /// per pitch, pitches drawn independently). Fine-tuning keeps the start model's.
    #[arg(long, value_enum)]
    pub architecture: Option<ArchitectureName>,
    /// Event models: at most this many notes at once (1 = a melody model, monophonic by
    /// construction). Pieces with more keep their top voices.
    #[arg(long, default_value_t = 4)]
    pub max_voices: u8,
    /// Inverted dropout between LSTM layers and before the output layer [default: 0.2 for
    /// event models, 0 for frame models; fine-tuning 0.3].
    #[arg(long)]
    pub dropout: Option<f32>,
    /// AdamW's decoupled weight decay: each step scales the weights by
    /// 1 - learning-rate x weight-decay (0 = plain Adam) [default: 0.01 for event models,
    /// 0 for frame models].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Stop after this many epochs without a better held-out loss; the best epoch is saved
    /// either way (0 = run every epoch) [default: 6 for event models, 0 for frame models;
    /// fine-tuning 3].
    #[arg(long)]
    pub patience: Option<usize>,
    /// An epoch is at least this many batches (windows are drawn at random), so a small
    /// folder gets enough steps between held-out checks [default: 16 for event models, 1
    /// for frame models].
    #[arg(long)]
    pub min_batches_per_epoch: Option<usize>,
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
    #[arg(long, value_enum, default_value_t = Representation::ActiveAndOnset)]
    pub representation: Representation,
    /// Pitches the model covers, e.g. 21..108 (default: the range used in the training data).
    #[arg(long)]
    pub pitch_range: Option<PitchRange>,
    /// Notes shorter than this many quarter notes are dropped when reading the data.
    #[arg(long, default_value_t = 0.25)]
    pub min_note_quarters: f64,
    /// [default: 0.002 for event models, 0.001 for frame models; fine-tuning 0.0005]
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Random transposition of each window by up to this many semitones (0 = off)
    /// [default: 5 for event models, 0 for frame models and key-normalised models].
    #[arg(long)]
    pub transpose: Option<i32>,
    /// Move every piece home to C (its key signature's major tonic, else its found key's)
    /// before training: the model learns one key, and plays in the key asked for.
    #[arg(long)]
    pub normalise_key: bool,
    /// The network hears 2/2 as 4/4, in training and when it plays (event models): tunes
    /// written in either share one metre's rhythm.
    #[arg(long)]
    pub cut_time_as_common: bool,
    /// The network also hears how long the current note has lasted in quarter notes, past
    /// the 17 per-step ages (event models; for fine grids, where 17 steps are short).
    #[arg(long)]
    pub onset_age_beats: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CPU threads for training (default: all cores). The result is deterministic for a
    /// seed and a thread count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Model name shown to users (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
}

/// The `--architecture` choice (its settings come from other options).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ArchitectureName {
    Frame,
    Events,
}

impl ArchitectureName {
    fn of(architecture: Architecture) -> Self {
        match architecture {
            Architecture::Frame => Self::Frame,
            Architecture::Events { .. } => Self::Events,
        }
    }

    /// The recipe for training a model of this family from scratch: the settings the
    /// shipped v2 models were trained with (see `models/*.command.txt`).
    fn recipe(self, key_normalised: bool) -> Recipe {
        let threads = crate::train::trainer::default_threads();
        match self {
            Self::Frame => Recipe {
                epochs: 30,
                batch_size: 64,
                window_events: 32,
                learning_rate: 1e-3,
                weight_decay: 0.0,
                dropout: 0.0,
                patience: 0,
                min_batches_per_epoch: 1,
                transpose_semitones: 0,
                seed: 1,
                threads,
            },
            Self::Events => Recipe {
                epochs: 40,
                batch_size: 32,
                window_events: 128,
                learning_rate: 2e-3,
                weight_decay: 1e-2,
                dropout: 0.2,
                patience: 6,
                // A small folder still gets steps between held-out checks (a large one
                // has far more batches than this).
                min_batches_per_epoch: 16,
                transpose_semitones: if key_normalised { 0 } else { 5 },
                seed: 1,
                threads,
            },
        }
    }
}

fn with_ext(out: &Path, ext: &str) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let command = std::iter::once("phrasegen".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let (data, options) = match &args.from {
        // A run from scratch.
        None => {
            let data = load_data(&args)?;
            let config = model_config(&args, &data)?;
            let architecture = ArchitectureName::of(config.architecture);
            let recipe = with_overrides(&args, architecture.recipe(config.key_normalised));
            (data, recipe.options(config))
        }
        Some(from) => fine_tune_setup(&args, from)?,
    };
    check_options(&options)?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::fsutil::write_atomically(
        &with_ext(&args.out, ".command.txt"),
        format!("{command}\n{}\n", resolved_settings(&options, &args)).as_bytes(),
    )?;
    let result = train_with_progress(&data, &options, &args.out)?;
    let model_path = with_ext(&args.out, ".safetensors");
    let summary = save_with_test_figures(&data, &options.model, &result, &args, command)?;
    println!(
        "best epoch {} of {}; {summary}\nwrote {}",
        result.best_epoch,
        result.history.len(),
        model_path.display()
    );
    if result.interrupted {
        println!(
            "interrupted after {} of {} epochs: {} holds the best epoch so far ({})",
            result.history.len(),
            options.epochs,
            model_path.display(),
            result.best_epoch
        );
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

/// Fine-tuning: the start model, the folder read as it hears music (what does not fit is
/// said before any work), and the small-data recipe with the options given.
fn fine_tune_setup(args: &Args, from: &str) -> anyhow::Result<(Dataset, TrainOptions)> {
    let start = crate::builtin::read_model_choice(from)
        .map_err(|e| anyhow::anyhow!("cannot load the model to start from: {e}"))?;
    let family = ArchitectureName::of(start.config.architecture);
    if let Some(asked) = args.architecture.filter(|a| *a != family) {
        return Err(FineTuneError::OtherFamily {
            model: from.to_string(),
            family: value_name(family),
            asked: value_name(asked),
        }
        .into());
    }
    let tune = FineTune::prepare(start, &args.data, args.seed)?;
    for line in tune.report.lines() {
        eprintln!("{line}");
    }
    let recipe = with_overrides(args, Recipe::for_model(&tune.start.config));
    let options = tune.options(&model_name(args), &recipe);
    Ok((tune.data, options))
}

/// Reads the data folder, saying what was skipped or read with warnings.
fn load_data(args: &Args) -> anyhow::Result<Dataset> {
    if !args.data.exists() {
        anyhow::bail!("{} does not exist", args.data.display());
    }
    let data = Dataset::load(
        &args.data,
        &DatasetOptions {
            steps_per_quarter: args.steps_per_quarter,
            min_note_quarters: args.min_note_quarters,
            split_seed: args.seed,
            normalise_key: args.normalise_key,
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
        data.train.rolls.len(),
        data.valid.rolls.len(),
        data.test.rolls.len(),
        if data.split.predefined {
            "folder split"
        } else {
            "seeded 80:20 split"
        },
        data.read_with_warnings.len(),
        data.skipped.len(),
        data.train_frames()
    );
    if let Some(reason) = data.unusable_reason(&args.data) {
        anyhow::bail!(reason);
    }
    Ok(data)
}

/// The name users see: `--name`, else the output file's name.
fn model_name(args: &Args) -> String {
    args.name.clone().unwrap_or_else(|| {
        args.out
            .file_name()
            .map_or("model".into(), |n| n.to_string_lossy().into_owned())
    })
}

/// The model's shape and data contract from the options and the data.
fn model_config(args: &Args, data: &Dataset) -> anyhow::Result<ModelConfig> {
    let pitch_range = args
        .pitch_range
        .or_else(|| data.pitch_range())
        .context("the training data has no notes")?;
    let config = ModelConfig {
        name: model_name(args),
        layers: args.layers,
        hidden: args.hidden,
        representation: args.representation,
        steps_per_quarter: args.steps_per_quarter,
        pitch_range,
        architecture: match args.architecture.unwrap_or(ArchitectureName::Events) {
            ArchitectureName::Frame => Architecture::Frame,
            ArchitectureName::Events => Architecture::Events {
                max_voices: args.max_voices,
            },
        },
        training: None,
        key_normalised: args.normalise_key,
        cut_time_as_common: args.cut_time_as_common,
        onset_age_beats: args.onset_age_beats,
    };
    crate::model::file::validate_config(&config)?;
    if matches!(config.architecture, Architecture::Events { max_voices: 0 }) {
        anyhow::bail!("--max-voices must be at least 1");
    }
    Ok(config)
}

/// `recipe` with the options the command line gives in its place.
fn with_overrides(args: &Args, recipe: Recipe) -> Recipe {
    Recipe {
        epochs: args.epochs.unwrap_or(recipe.epochs),
        batch_size: args.batch_size.unwrap_or(recipe.batch_size),
        window_events: args.window.unwrap_or(recipe.window_events),
        learning_rate: args.learning_rate.unwrap_or(recipe.learning_rate),
        weight_decay: args.weight_decay.unwrap_or(recipe.weight_decay),
        dropout: args.dropout.unwrap_or(recipe.dropout),
        patience: args.patience.unwrap_or(recipe.patience),
        min_batches_per_epoch: args
            .min_batches_per_epoch
            .unwrap_or(recipe.min_batches_per_epoch),
        transpose_semitones: args.transpose.unwrap_or(recipe.transpose_semitones),
        seed: args.seed,
        threads: args.threads.unwrap_or(recipe.threads),
    }
}

/// Settings no run can use, refused before any work.
fn check_options(options: &TrainOptions) -> anyhow::Result<()> {
    if options.batch_size == 0 || options.epochs == 0 {
        anyhow::bail!("--batch-size and --epochs must be at least 1");
    }
    let dropout = options.dropout;
    if !(0.0..1.0).contains(&dropout) {
        anyhow::bail!("--dropout {dropout}: use a rate from 0 up to (not including) 1");
    }
    if !(0.0..=1.0 / options.learning_rate).contains(&options.weight_decay) {
        anyhow::bail!(
            "--weight-decay {}: use 0 or more, at most 1 / learning rate",
            options.weight_decay
        );
    }
    if options.seq_len == 0 {
        anyhow::bail!("--window must be at least 1");
    }
    Ok(())
}

/// Trains with a progress bar, writing the CSV log, the loss plot and the best checkpoint
/// after every epoch (Ctrl-C stops after the batch under way).
fn train_with_progress(
    data: &Dataset,
    options: &TrainOptions,
    out: &Path,
) -> anyhow::Result<TrainResult> {
    let config = &options.model;
    let model_path = with_ext(out, ".safetensors");
    let (csv_path, png_path) = (with_ext(out, ".train.csv"), with_ext(out, ".loss.png"));
    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} batches  {msg}")?
            .progress_chars("=> "),
    );
    let events = matches!(config.architecture, Architecture::Events { .. });
    let mut csv = String::from(csv_header(events));
    let mut history = Vec::new();
    let mut plot_failed = false;
    let stop = stop_on_ctrl_c(progress.clone(), model_path.clone());
    let on_epoch = |stats: &EpochStats, best: Option<&HashMap<String, Tensor>>| {
        let saved = best.map_or("", |_| "  (best, saved)");
        let _ = writeln!(csv, "{}", csv_line(stats));
        say(&progress, format!("{}{saved}", epoch_line(stats)));
        crate::fsutil::write_atomically(&csv_path, csv.as_bytes())?;
        history.push(*stats);
        let unit = if events { "event" } else { "step" };
        // The plot is a picture of the log: a system without fonts for it (a bare Wine
        // prefix, a minimal container) still trains, with the reason said once.
        let plotted = plot_losses(
            &png_path,
            &format!("{} training", config.name),
            unit,
            &history,
        );
        if let (Err(e), false) = (plotted, plot_failed) {
            plot_failed = true;
            say(
                &progress,
                format!(
                    "warning: no loss plot ({e}); the log is in {}",
                    csv_path.display()
                ),
            );
        }
        if let Some(tensors) = best {
            write_model_file(&model_path, config, tensors)?;
        }
        Ok(())
    };
    let result = train_until(data.train_data(), options, &progress, &stop, on_epoch)?;
    progress.finish_and_clear();
    Ok(result)
}

/// The CSV log's columns, in the family's units.
fn csv_header(events: bool) -> &'static str {
    if events {
        "epoch,train_nats_per_event,valid_nats_per_event,valid_nats_per_quarter,events_per_s,seconds\n"
    } else {
        "epoch,train_loss,valid_loss,valid_frame_accuracy,frames_per_s,seconds\n"
    }
}

/// One epoch's row of the CSV log (the family's own held-out figure in the fourth column).
fn csv_line(stats: &EpochStats) -> String {
    let own = stats
        .valid_nats_per_quarter
        .or(stats.valid_frame_accuracy)
        .unwrap_or(f64::NAN);
    format!(
        "{},{:.6},{:.6},{:.6},{:.1},{:.2}",
        stats.epoch,
        stats.train_loss,
        stats.valid_loss,
        own,
        stats.predictions_per_s,
        stats.seconds
    )
}

/// One epoch's line on the terminal.
fn epoch_line(stats: &EpochStats) -> String {
    match (stats.valid_nats_per_quarter, stats.valid_frame_accuracy) {
        (Some(per_quarter), _) => format!(
            "epoch {:>3}: train {:.4}  held-out {:.4} nats/event {:.3} nats/quarter  {:.0} events/s  {:.0} s",
            stats.epoch, stats.train_loss, stats.valid_loss, per_quarter,
            stats.predictions_per_s, stats.seconds
        ),
        (None, accuracy) => format!(
            "epoch {:>3}: train {:.4}  held-out {:.4} nats/step  acc {:.3}  {:.0} frames/s",
            stats.epoch,
            stats.train_loss,
            stats.valid_loss,
            accuracy.unwrap_or(f64::NAN),
            stats.predictions_per_s
        ),
    }
}

/// Measures the best epoch on the test split (the valid one when there is none), records
/// it in the model file and writes it. Returns the summary line.
fn save_with_test_figures(
    data: &Dataset,
    config: &ModelConfig,
    result: &TrainResult,
    args: &Args,
    command: String,
) -> anyhow::Result<String> {
    let fast = FastLstm::from_tensors(config, &result.tensors)?;
    let test = match data.test.rolls.is_empty() {
        true => &data.valid,
        false => &data.test,
    };
    let m = evaluate(&fast, &test.rolls, &test.meters);
    let summary = match m.frame_accuracy {
        None => format!(
            "test NLL {:.4} nats/event, {:.4} nats/step, {:.4} nats/quarter over {} events, {} steps",
            m.nats_per_prediction(),
            m.nats_per_step(),
            m.nats_per_quarter(),
            m.predictions,
            m.steps
        ),
        Some(accuracy) => format!(
            "test NLL {:.4} nats/step, frame accuracy {accuracy:.4} over {} frames",
            m.nats_per_prediction(),
            m.predictions
        ),
    };
    let mut config = config.clone();
    config.training = Some(TrainingInfo {
        data: args.data.display().to_string(),
        command,
        epochs: result.history.len(),
        test_nll_nats_per_step: Some(m.nats_per_step()),
        test_frame_accuracy: m.frame_accuracy,
    });
    let model_path = with_ext(&args.out, ".safetensors");
    write_model_file(&model_path, &config, &result.tensors)?;
    Ok(summary)
}

/// Every setting of the run, defaults included, as one comment line for the command file:
/// the command alone leaves the defaults of its day unsaid.
fn resolved_settings(options: &TrainOptions, args: &Args) -> String {
    let m = &options.model;
    let architecture = crate::family::of(m.architecture).train_flags(m.architecture);
    let flag = |on: bool, text: &'static str| if on { text } else { "" };
    format!(
        "# resolved: --architecture {architecture} --layers {} --hidden {} --steps-per-quarter {} \
         --representation {} --pitch-range {}..{} --min-note-quarters {} --epochs {} \
         --batch-size {} --window {} --learning-rate {} --weight-decay {} --dropout {} \
         --patience {} --min-batches-per-epoch {} --transpose {}{}{}{}{} --seed {} --threads {}",
        m.layers,
        m.hidden,
        m.steps_per_quarter,
        value_name(m.representation),
        m.pitch_range.lo,
        m.pitch_range.hi,
        args.min_note_quarters,
        options.epochs,
        options.batch_size,
        options.seq_len,
        options.learning_rate,
        options.weight_decay,
        options.dropout,
        options.patience,
        options.min_batches_per_epoch,
        options.transpose_semitones,
        flag(m.key_normalised, " --normalise-key"),
        flag(m.cut_time_as_common, " --cut-time-as-common"),
        flag(m.onset_age_beats, " --onset-age-beats"),
        args.from
            .as_ref()
            .map_or(String::new(), |f| format!(" --from {f}")),
        options.seed,
        options.threads,
    )
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
