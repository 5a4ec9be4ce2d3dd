//! `phrasegen bench`: the speed figures users feel, side by side with the prototype's PyTorch
//! network when Python with torch is available.

use anyhow::Context as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::builtin::default_model;
use crate::family::{generate, generate_variations};
use crate::infer::FastLstm;
use crate::model::ModelConfig;
use crate::roll::{PitchRange, Representation};
use crate::sample::repeats::Repeats;
use crate::sample::GenerateParams;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Python interpreter that has torch (e.g. .venv/bin/python).
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// The PyTorch reference script.
    #[arg(long, default_value = "../shared/reference/seed_lstm.py")]
    pub reference: PathBuf,
    /// Timed repetitions per figure (the median is reported).
    #[arg(long, default_value_t = 15)]
    pub reps: usize,
    /// Skip the training-throughput rows (they take the longest).
    #[arg(long)]
    pub no_train: bool,
    /// Only the training-throughput rows.
    #[arg(long, conflicts_with = "no_train")]
    pub train_only: bool,
}

/// Median wall time of `f` over `reps` runs (after one warm-up), in milliseconds.
pub fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..reps.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// The middle value (the upper one of an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A 512-step phrase on the model's grid: 32 bars of 4/4 at 4 steps per quarter.
fn phrase_params(model: &FastLstm) -> GenerateParams {
    let steps_per_bar = 4 * model.config.steps_per_quarter;
    GenerateParams {
        bars: 512 / steps_per_bar,
        seed: 7,
        ..GenerateParams::default()
    }
}

/// The built-in models (one held as f16 also held as f32, side by side: the same phrases)
/// and, when run from the repository, the v1 (frame) models kept in `models/` for comparison.
fn phrase_cost_models() -> Vec<(String, FastLstm)> {
    let mut out = Vec::new();
    for (name, bytes) in crate::builtin::BUILTIN_MODELS {
        if let Ok(m) = FastLstm::from_model_bytes(bytes) {
            let label = format!("{name} ({}", architecture_name(&m.config));
            let wide = m.widened();
            if wide.weight_bytes() > m.weight_bytes() {
                out.push((format!("{label}, f16 weights)"), m));
                out.push((format!("{label}, the same weights as f32)"), wide));
            } else {
                out.push((format!("{label})"), m));
            }
        }
    }
    for name in ["bach-chorales-v1", "fiddle-tunes-v1"] {
        let path = std::path::Path::new("models").join(format!("{name}.safetensors"));
        if let Ok(m) = crate::builtin::load_model_choice(&path.to_string_lossy()) {
            out.push((format!("{name} ({})", architecture_name(&m.config)), m));
        }
    }
    out
}

fn architecture_name(cfg: &ModelConfig) -> &'static str {
    match cfg.architecture {
        crate::model::Architecture::Frame => "v1 frame model",
        crate::model::Architecture::Events { .. } => "v2 event model",
    }
}

/// Rounds of the training comparison: ours and the reference alternate, so a change in
/// the machine's load hits both sides alike.
const TRAIN_ROUNDS: usize = 3;

/// The row of training frames/s of ours and of the reference on `threads` threads,
/// alternating [`TRAIN_ROUNDS`] times: the medians of each side (or why the reference did
/// not run) and the median of the per-round ratios.
fn training_row(args: &Args, cfg: &ModelConfig, threads: usize) -> anyhow::Result<Row> {
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut failure = None;
    for _ in 0..TRAIN_ROUNDS {
        let fps = crate::family::training_throughput(cfg, 64, 32, 20, threads)?;
        ours.push(fps);
        if failure.is_some() {
            continue;
        }
        let (layers, hidden) = (cfg.layers, cfg.hidden);
        let mode =
            format!("train --layers {layers} --hidden {hidden} --threads {threads} --batches 20");
        let torch = reference(args, &mode).and_then(|v| {
            v["frames_per_s"]
                .as_f64()
                .ok_or_else(|| anyhow::anyhow!("unexpected reference output {v}"))
        });
        match torch {
            Ok(t) => {
                theirs.push(t);
                ratios.push(fps / t);
            }
            Err(e) => failure = Some(e),
        }
    }
    let (t_col, r_col) = match (failure, ratios.is_empty()) {
        (None, false) => (
            format!("{:.0} frames/s", median(theirs)),
            format!(
                "{:.2}x the reference (target >= 1x, aim 1.5x)",
                median(ratios)
            ),
        ),
        (Some(e), _) => ("n/a".into(), format!("reference not run: {e}")),
        (None, true) => ("n/a".into(), "-".into()),
    };
    Ok(row(
        format!(
            "training, batch 64 x 32 steps, {threads} thread{}",
            if threads > 1 { "s" } else { "" }
        ),
        format!("{:.0} frames/s", median(ours)),
        t_col,
        r_col,
    ))
}

/// Runs the reference script with `mode_args` (split at blanks) and returns its JSON line.
fn reference(args: &Args, mode_args: &str) -> anyhow::Result<serde_json::Value> {
    let out = Command::new(&args.python)
        .arg(&args.reference)
        .args(mode_args.split_whitespace())
        .output()
        .with_context(|| format!("cannot run {}", args.python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!("{}", err.lines().last().unwrap_or("failed"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| anyhow::anyhow!("unexpected output `{line}`: {e}"))
}

/// One row of the printed table: measure, PhraseGen, PyTorch reference, ratio / target.
type Row = [String; 4];

/// A row from anything printable.
fn row(
    measure: impl Into<String>,
    ours: impl Into<String>,
    reference: impl Into<String>,
    ratio: impl Into<String>,
) -> Row {
    [measure.into(), ours.into(), reference.into(), ratio.into()]
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let model = default_model()?;
    let cfg = model.config.clone();
    println!(
        "default model: {} ({} x {}, {} inputs), {} repetitions, 1 thread unless stated",
        cfg.name,
        cfg.layers,
        cfg.hidden,
        cfg.input_size(),
        args.reps
    );
    let ref_cfg = reference_config(&cfg);
    let mut rows = Vec::new();
    let reference_missing =
        !args.train_only && generation_rows(&args, &model, &ref_cfg, &mut rows)?;
    if !args.no_train {
        // Training throughput on 2 and 1 threads beside the reference's.
        for threads in [2, 1] {
            rows.push(training_row(&args, &ref_cfg, threads)?);
        }
    }
    print_table(&rows, reference_missing);
    Ok(ExitCode::SUCCESS)
}

/// The reference's network: 128 pitches in and out, same layers and hidden size as `cfg`,
/// so the side-by-side figures compare like with like.
fn reference_config(cfg: &ModelConfig) -> ModelConfig {
    ModelConfig {
        name: "reference-shape".into(),
        representation: Representation::ActiveOnly,
        pitch_range: PitchRange::FULL,
        architecture: crate::model::Architecture::Frame,
        steps_per_quarter: 4,
        ..cfg.clone()
    }
}

/// The generation rows (load, phrase, variations, per-model costs, network only,
/// process()); returns whether the reference could not be run, for the hint at the end.
fn generation_rows(
    args: &Args,
    model: &FastLstm,
    ref_cfg: &ModelConfig,
    rows: &mut Vec<Row>,
) -> anyhow::Result<bool> {
    let load_ms = median_ms(args.reps, || {
        std::hint::black_box(default_model().unwrap());
    });
    rows.push(row(
        "model load (embedded default)",
        format!("{load_ms:.2} ms"),
        "-",
        "target < 50 ms",
    ));
    let reference_missing = phrase_rows(args, model, ref_cfg, rows)?;
    model_cost_rows(args, rows);
    harmonize_rows(rows)?;
    network_rows(args, model, rows);
    // process() is timed by `cargo bench --bench process`: it needs the test host,
    // which is not part of the shipped library.
    rows.push(row(
        "process() per 512-sample block",
        "cargo bench --bench process",
        "-",
        "target < 5 us",
    ));
    Ok(reference_missing)
}

/// A 512-step phrase from the default model, from a network of the reference's shape
/// (beside the reference's own time when it runs) and 8 batched variations; returns
/// whether the reference could not be run.
fn phrase_rows(
    args: &Args,
    model: &FastLstm,
    ref_cfg: &ModelConfig,
    rows: &mut Vec<Row>,
) -> anyhow::Result<bool> {
    let params = phrase_params(model);
    let one_ms = median_ms(args.reps, || {
        std::hint::black_box(generate(model, &params).unwrap());
    });
    let ref_tensors = crate::model::PhraseModel::init_tensors(ref_cfg, 1)?;
    let ref_model = FastLstm::from_tensors(ref_cfg, &ref_tensors)?;
    let ref_shape_ms = median_ms(args.reps, || {
        std::hint::black_box(generate(&ref_model, &phrase_params(&ref_model)).unwrap());
    });
    let eight_ms = median_ms(args.reps, || {
        std::hint::black_box(generate_variations(model, &params, 8).unwrap());
    });
    let torch_gen = reference_generation(args, &model.config);
    let (torch_col, ratio_col) = match &torch_gen {
        Ok(ms) => (
            format!("{ms:.2} ms"),
            format!("{:.1}x faster (target >= 4x)", ms / ref_shape_ms),
        ),
        Err(e) => ("n/a".into(), format!("reference not run: {e}")),
    };
    rows.push(row(
        "512-step phrase, default model",
        format!("{one_ms:.2} ms"),
        "-",
        "target < 25 ms",
    ));
    rows.push(row(
        "512-step phrase, reference shape (128 pitches)",
        format!("{ref_shape_ms:.2} ms"),
        torch_col,
        ratio_col,
    ));
    rows.push(row(
        "8 variations of 512 steps, batched",
        format!("{eight_ms:.2} ms"),
        "-",
        format!("{:.2}x one phrase (target < 2x)", eight_ms / one_ms),
    ));
    Ok(torch_gen.is_err())
}

/// The reference's milliseconds per 512-step phrase on one thread, for a network of
/// `cfg`'s layers and hidden size (NaN when its output lacks the figure).
fn reference_generation(args: &Args, cfg: &ModelConfig) -> anyhow::Result<f64> {
    let (layers, hidden, reps) = (cfg.layers, cfg.hidden, args.reps);
    let mode = format!(
        "gen --steps 512 --layers {layers} --hidden {hidden} --threads 1 --no-mkldnn --reps {reps}"
    );
    let v = reference(args, &mode)?;
    Ok(v["ms_per_phrase"].as_f64().unwrap_or(f64::NAN))
}

/// Model v2 against the prototype's architecture, as users get them (8 and 32 bars with the
/// default form), then with every bar drawn afresh through the network (form none, repeats
/// off), with candidates, and with the repeats the network chooses (form none's default).
fn model_cost_rows(args: &Args, rows: &mut Vec<Row>) {
    let through = crate::form::Form::through_composed();
    let (off, auto) = (Repeats::Off, Repeats::Auto);
    for (name, candidate) in phrase_cost_models() {
        let cases = [
            (8u32, None, 1, off, 20.0),
            (32, None, 1, off, 80.0),
            (8, Some(&through), 1, off, 20.0),
            (32, Some(&through), 1, off, 80.0),
            (8, Some(&through), 4, off, 50.0),
            (8, Some(&through), 1, auto, 50.0),
            // No target was set for this one; the 80 ms is for every bar drawn.
            (32, Some(&through), 1, auto, f64::NAN),
        ];
        // Frame models (v1) draw one phrase whatever the candidates: no row for them.
        let events = candidate.config.architecture.max_voices().is_some();
        for (bars, form, candidates, repeats, target_ms) in cases {
            if (candidates > 1 || repeats != off) && !events {
                continue;
            }
            let defaults = GenerateParams::default();
            let p = GenerateParams {
                bars,
                seed: 7,
                candidates,
                repeats,
                form: form.cloned().unwrap_or(defaults.form.clone()),
                ..defaults
            };
            let ms = median_ms(args.reps, || {
                std::hint::black_box(generate(&candidate, &p).unwrap());
            });
            let how = match (form, candidates, repeats) {
                (None, _, _) => String::new(),
                (Some(_), 1, Repeats::Off) => " (form none, repeats off)".into(),
                (Some(_), 1, _) => " (form none, repeats the network chooses)".into(),
                (Some(_), n, _) => format!(" (form none, repeats off, best of {n} candidates)"),
            };
            rows.push(row(
                format!("{bars}-bar phrase{how}, {name}"),
                format!("{ms:.2} ms"),
                "-",
                if target_ms.is_nan() {
                    "-".to_string()
                } else {
                    format!("target <= {target_ms} ms")
                },
            ));
        }
    }
}

/// Harmonize mode's cost as a player feels it: the CPU time of one key press (the voices
/// under it drawn, one network step per event) over 10,000 presses of a random melody with
/// grid steps between them, and of one grid step.
fn harmonize_rows(rows: &mut Vec<Row>) -> anyhow::Result<()> {
    use crate::family::{LiveHarmonizer, LiveSettings};
    use rand::{Rng, SeedableRng};
    let model = std::sync::Arc::new(crate::builtin::load_model_choice("bach-chorales")?);
    let settings = LiveSettings {
        min_p: crate::plugin::worker::LIVE_MIN_P,
        ..LiveSettings::default()
    };
    let mut harmonizer = LiveHarmonizer::new(model, settings)?;
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let meter = crate::phrase::TimeSignature::FOUR_FOUR;
    let (mut presses, mut steps) = (Vec::with_capacity(10_000), Vec::with_capacity(40_000));
    let mut key = 67u8;
    let mut changes = 0usize;
    for i in 0..10_000u32 {
        for s in 0..rng.random_range(1..=4u32) {
            let started = Instant::now();
            harmonizer.step(meter, (i * 4 + s) % 16);
            steps.push(started.elapsed().as_secs_f64() * 1e6);
        }
        let previous = key;
        key = (i32::from(key) + rng.random_range(-4..=4)).clamp(60, 79) as u8;
        let started = Instant::now();
        harmonizer.key_down(key, 0, 1.0, &mut |_| changes += 1);
        presses.push(started.elapsed().as_secs_f64() * 1e6);
        harmonizer.key_up(previous, &mut |_| changes += 1);
        if i % 8 == 7 {
            harmonizer.key_up(key, &mut |_| changes += 1);
        }
    }
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let (press_worst, step_worst) = (worst(&presses), worst(&steps));
    rows.push(row(
        "Harmonize: one key press, bach-chorales (median / worst of 10,000)",
        format!("{:.1} / {press_worst:.0} us", median(presses)),
        "-",
        "a 512-sample block at 48 kHz is 10,667 us",
    ));
    rows.push(row(
        "Harmonize: one grid step heard (median / worst)",
        format!("{:.1} / {step_worst:.0} us", median(steps)),
        "-",
        format!("{changes} voice changes drawn"),
    ));
    accompany_row(rows)
}

/// Accompany mode's cost: one grid step of the line over a held chord (the step heard,
/// the line's events drawn), over 10,000 steps of a chord changing every bar.
fn accompany_row(rows: &mut Vec<Row>) -> anyhow::Result<()> {
    use crate::family::{LiveAccompanist, LiveSettings};
    let model = std::sync::Arc::new(crate::builtin::load_model_choice("fiddle-tunes")?);
    let settings = LiveSettings {
        voices: 1,
        ..LiveSettings::default()
    };
    let mut line = LiveAccompanist::new(model, settings)?;
    let meter = crate::phrase::TimeSignature::FOUR_FOUR;
    let mut steps = Vec::with_capacity(10_000);
    let mut notes = 0usize;
    for i in 0..10_000u32 {
        let root = [0u8, 9, 5, 7][(i / 16 % 4) as usize];
        let chord = [48 + root, 52 + root, 55 + root]
            .iter()
            .fold(0u128, |set, &p| set | 1 << p);
        let started = Instant::now();
        line.step(meter, i % 16, chord, 1.0, &mut |_| notes += 1);
        steps.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let worst = steps.iter().copied().fold(0.0, f64::max);
    rows.push(row(
        "Accompany: one grid step, fiddle-tunes (median / worst of 10,000)",
        format!("{:.1} / {worst:.0} us", median(steps)),
        "-",
        format!("{notes} line changes drawn"),
    ));
    Ok(())
}

/// Where the time goes: the network alone, without sampling, for 1 and 8 streams.
fn network_rows(args: &Args, model: &FastLstm, rows: &mut Vec<Row>) {
    for batch in [1, 8] {
        let mut state = model.state(batch);
        let frames = vec![0.0f32; batch * model.input_size()];
        let net_ms = median_ms(args.reps, || {
            for _ in 0..512 {
                model.step(&frames, &mut state);
            }
            std::hint::black_box(&state.logits);
        });
        rows.push(row(
            format!("  of which network only, 512 steps x {batch}"),
            format!("{net_ms:.2} ms"),
            "-",
            "-",
        ));
    }
}

/// The Markdown table of every row, and how to get the side-by-side figures when the
/// reference could not run.
fn print_table(rows: &[Row], reference_missing: bool) {
    println!("\n| measure | PhraseGen | PyTorch reference | ratio / target |\n|---|---|---|---|");
    for [a, b, c, d] in rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
    if reference_missing {
        println!(
            "\nFor the side-by-side figures: python3 -m venv .venv && .venv/bin/pip install torch, \
             then phrasegen bench --python .venv/bin/python"
        );
    }
}
