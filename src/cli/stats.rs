//! `phrasegen stats --model M --data D`: musical statistics of generated phrases beside the
//! same statistics of real music cut into phrases of the same length.

use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::generate;
use crate::family::generate_variations;
use crate::sample::{MAX_BARS, TEMPERATURE_RANGE};
use crate::stats::c2st::{self, C2stReport};
use crate::stats::{
    load_segments, Column, Metric, Passage, PassageStats, RealSegments, Split, Table,
};

/// Separating statistics the classifier test prints.
const C2ST_TOP: usize = 8;

/// The temperatures `--sweep` visits.
pub const SWEEP_TEMPERATURES: [f32; 8] = [0.1, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0];

/// What the sweep shows per temperature.
pub const SWEEP_METRICS: [Metric; 4] = [
    Metric::NotesPerBar,
    Metric::Polyphony,
    Metric::EmptyBeatRate,
    Metric::FewerThanFourNotes,
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model file (.safetensors) or a built-in model by name (`bach-chorales`, the
    /// default, or `fiddle-tunes`), as for `generate`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Folder of MIDI files; its test/ subfolder is the reference (without train/, valid/
    /// and test/ subfolders, the test part of the trainer's seeded 80:20 split).
    #[arg(long, value_name = "FOLDER")]
    pub data: PathBuf,
    /// Phrases generated per temperature, with seeds 1..N.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub phrases: u32,
    /// Length of each phrase in bars (of 4/4 unless `--time-signature`); real music is cut
    /// to the same length.
    #[arg(long, default_value_t = 8)]
    pub bars: u32,
    /// Temperatures to generate at (several allowed: `--temperature 0.7 1.0`).
    #[arg(short, long, num_args = 1.., default_values_t = [1.0])]
    pub temperature: Vec<f32>,
    /// Also print notes per bar, polyphony and empty beats for temperatures 0.1 to 3.0.
    #[arg(long)]
    pub sweep: bool,
    /// Also measure the train and valid splits of the data against its test split.
    #[arg(long)]
    pub all_splits: bool,
    /// Write every figure, and every phrase's values, to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Notes shorter than this many quarter notes are dropped when reading the data
    /// (as the trainer does).
    #[arg(long, default_value_t = 0.25)]
    pub min_note_quarters: f64,
    /// Generate with this form instead of `generate`'s default (`none`: no repeats).
    #[arg(long)]
    pub form: Option<crate::form::Form>,
    /// How the phrases are drawn, as `generate` draws them.
    #[command(flatten)]
    pub sampler: generate::SamplerArgs,
    /// Reduce the real music to its N highest notes at each step, as `train --max-voices N`
    /// reduces it: the music such a model learned from (a melody model: `--top-voices 1`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=16))]
    pub top_voices: Option<u8>,
    /// Compare like with like in metre: generate the phrases in the first time signature
    /// given and keep only the pieces written in the ones given (`--time-signature 4/4 2/2`:
    /// 4/4 phrases against the tunes in 4/4 and 2/2). Default: 4/4 phrases, every piece.
    #[arg(long, num_args = 1.., value_parser = generate::parse_time_signature)]
    pub time_signature: Vec<crate::phrase::TimeSignature>,
    /// Also run a classifier two-sample test: can a logistic regression and a random
    /// forest, cross-validated, tell the phrases from the real segments by their
    /// statistics? 50% accuracy: indistinguishable; 100%: told apart every time.
    #[arg(long)]
    pub c2st: bool,
    /// Folds of the classifier test's cross-validation.
    #[arg(long, requires = "c2st", default_value_t = c2st::DEFAULT_FOLDS as u32,
          value_parser = clap::value_parser!(u32).range(2..=20))]
    pub folds: u32,
    /// Seed of the classifier test (balancing, folds, forest): the same seed, the same figures.
    #[arg(long, requires = "c2st", default_value_t = 1)]
    pub c2st_seed: u64,
    /// The classifier test's real side: the valid split's segments too, not only the test
    /// split's (more real phrases; the same metre selection).
    #[arg(long, requires = "c2st")]
    pub c2st_with_valid: bool,
    /// Harmonize instead of generating freely: each real segment's top line is given to
    /// the model (seed = the segment's number) and the voices it writes under it are
    /// measured against the real segments, one for one (`phrasegen harmonize`).
    #[arg(long, conflicts_with_all = ["sweep", "form", "top_voices"])]
    pub harmonize: bool,
    /// With `--harmonize`: how often a melody line that comes back gets its harmony back
    /// (as `harmonize --line-copies`).
    #[arg(long, requires = "harmonize", default_value_t = crate::sample::melody::LINE_COPY_SHARE,
          value_parser = super::harmonize::parse_share)]
    pub line_copies: f32,
}

/// One column's per-phrase values, for scripts: metric name -> one value per phrase
/// (`null` where the metric is not defined for that phrase).
#[derive(Serialize)]
struct ColumnValues {
    name: String,
    values: serde_json::Map<String, serde_json::Value>,
}

impl ColumnValues {
    fn of(column: &Column) -> Self {
        let values = Metric::ALL
            .iter()
            .map(|&m| {
                let key = serde_json::to_value(m)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| format!("{m:?}"));
                let per_phrase: Vec<Option<f64>> =
                    column.stats.iter().map(|s| m.value(s)).collect();
                (key, serde_json::json!(per_phrase))
            })
            .collect();
        Self {
            name: column.name.clone(),
            values,
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    model: &'a crate::model::ModelConfig,
    data: String,
    /// True when the folder had no split of its own and the trainer's seeded split was used.
    seeded_split: bool,
    phrases: u32,
    bars: u32,
    segment_quarters: f64,
    seeds: String,
    table: &'a Table,
    splits: Option<&'a Table>,
    sweep: Option<&'a Table>,
    /// The classifier test per temperature (`--c2st`; left out without it).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    c2st: &'a [C2stJson],
    columns: Vec<ColumnValues>,
}

/// One classifier test with the names of the two sets it compared.
#[derive(Serialize)]
struct C2stJson {
    generated: String,
    real: String,
    #[serde(flatten)]
    report: C2stReport,
}

/// "test split: 50 files, 93 segments (2 unreadable, 3 too short)".
fn describe(real: &RealSegments) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut s = format!(
        "{} split: {}, {}",
        real.split.name(),
        plural(real.files.len(), "file"),
        plural(real.passages.len(), "segment")
    );
    if !real.unreadable.is_empty() || real.too_short > 0 {
        s.push_str(&format!(
            " ({} unreadable, {} shorter than a segment)",
            real.unreadable.len(),
            real.too_short
        ));
    }
    if real.other_meter > 0 {
        s.push_str(&format!(
            ", {} left out (other time signatures)",
            plural(real.other_meter, "file")
        ));
    }
    s
}

fn real_column(real: &RealSegments) -> Column {
    Column {
        name: format!("real {}", real.split.name()),
        stats: real.passages.iter().map(PassageStats::of).collect(),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    check_ranges(&args)?;
    let model = generate::load_model(args.model.as_deref()).context("cannot load the model")?;
    let cfg = &model.config;
    let mut gen_args = generate_args(&args);
    let segment_quarters = f64::from(args.bars) * gen_args.time_signature.quarters_per_bar();
    let test = load_split(&args, Split::Test, segment_quarters)?;
    for (path, reason) in &test.unreadable {
        eprintln!("skipped {}: {reason}", path.display());
    }
    let notes = data_notes(&args, test.seeded_split);
    let reference = real_column(&test);
    let generated = if args.harmonize {
        harmonize_columns(&args, &model, &mut gen_args, &test)?
    } else {
        generate_columns(&args, &model, &mut gen_args)?
    };

    let main: Vec<&Column> = args
        .temperature
        .iter()
        .map(|&t| column_at(&generated, t))
        .collect();
    let table = Table::compare(&reference, &main, &Metric::ALL);
    if args.harmonize {
        println!(
            "harmonized: each of the {} real segments' top line given to the model, in the \
             segment's own metre (seed = the segment's number), a melody line that comes back \
             given its harmony back {} of the time; the other settings as below\n",
            test.passages.len(),
            args.line_copies
        );
    }
    print_header(&args, cfg, &gen_args, &test, segment_quarters, &notes);
    print!("{}", table.to_markdown());
    let c2st = if args.c2st {
        classifier_tests(&args, &reference, &main, segment_quarters)?
    } else {
        Vec::new()
    };

    let split_columns = if args.all_splits {
        other_split_columns(&args, segment_quarters)?
    } else {
        Vec::new()
    };
    let splits = args
        .all_splits
        .then(|| splits_table(&reference, &split_columns));
    let sweep = args.sweep.then(|| sweep_table(&reference, &generated));

    if let Some(path) = &args.json {
        let report = JsonReport {
            model: cfg,
            data: args.data.display().to_string(),
            seeded_split: test.seeded_split,
            phrases: args.phrases,
            bars: args.bars,
            segment_quarters,
            seeds: format!("1..={}", args.phrases),
            table: &table,
            splits: splits.as_ref(),
            sweep: sweep.as_ref(),
            c2st: &c2st,
            columns: every_column_values(&reference, &generated, &split_columns),
        };
        write_json(path, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints and returns the classifier test of each generated column against the real
/// segments (`--c2st`): the test split's, and the valid split's with `--c2st-with-valid`.
/// Each report comes with the names of its generated and real sides.
fn classifier_tests(
    args: &Args,
    reference: &Column,
    generated: &[&Column],
    segment_quarters: f64,
) -> anyhow::Result<Vec<C2stJson>> {
    let rows = |c: &Column| -> Vec<Vec<f64>> { c.stats.iter().map(c2st::feature_row).collect() };
    let mut real = rows(reference);
    let real_name = if args.c2st_with_valid {
        let valid = load_split(args, Split::Valid, segment_quarters)?;
        println!("\n{} {}", args.data.display(), describe(&valid));
        real.extend(rows(&real_column(&valid)));
        "real test+valid".to_string()
    } else {
        reference.name.clone()
    };
    let names = c2st::feature_names();
    let mut reports = Vec::new();
    for column in generated {
        let report = c2st::classifier_test(
            &rows(column),
            &real,
            &names,
            args.folds as usize,
            args.c2st_seed,
        )
        .with_context(|| format!("classifier test of {} against {real_name}", column.name))?;
        println!(
            "\nCan a classifier tell them apart? {} against {real_name}: {} of each (the larger \
             side drawn down), {}-fold cross-validation, seed {}, features: the {} statistics \
             above\n",
            column.name,
            report.rows_per_class,
            report.folds,
            report.seed,
            names.len()
        );
        print!("{}", report.to_markdown(&column.name, &real_name, C2ST_TOP));
        reports.push(C2stJson {
            generated: column.name.clone(),
            real: real_name.clone(),
            report,
        });
    }
    Ok(reports)
}

/// Refuses temperatures and lengths the sampler would refuse, before the slow work starts.
fn check_ranges(args: &Args) -> anyhow::Result<()> {
    let (t_min, t_max) = TEMPERATURE_RANGE;
    if let Some(t) = args
        .temperature
        .iter()
        .find(|t| !(t_min..=t_max).contains(*t))
    {
        anyhow::bail!("temperature {t} is outside {t_min}..={t_max}");
    }
    if !(1..=MAX_BARS).contains(&args.bars) {
        anyhow::bail!("--bars must be 1..={MAX_BARS}, got {}", args.bars);
    }
    Ok(())
}

/// `generate`'s defaults with this command's bars, sampler options, form and metre, so
/// the phrases measured are the ones `generate` would write.
fn generate_args(args: &Args) -> generate::Args {
    let mut gen_args = generate::Args::defaults();
    gen_args.bars = args.bars;
    gen_args.sampler = args.sampler;
    if let Some(form) = &args.form {
        gen_args.form = form.clone();
    }
    if let Some(&meter) = args.time_signature.first() {
        gen_args.time_signature = meter;
    }
    gen_args
}

/// One split of the data cut into segments of `segment_quarters`, reduced to its top
/// voices when `--top-voices` asks, so it compares with what such a model learned.
fn load_split(args: &Args, split: Split, segment_quarters: f64) -> anyhow::Result<RealSegments> {
    let mut real = load_segments(
        &args.data,
        split,
        segment_quarters,
        args.min_note_quarters,
        &args.time_signature,
    )?;
    if let Some(voices) = args.top_voices {
        for p in &mut real.passages {
            *p = p.top_voices(voices);
        }
    }
    Ok(real)
}

/// What the header adds after the data's description: the voices kept and, when the folder
/// has no splits of its own, that the seeded split is used (also told on stderr at once).
fn data_notes(args: &Args, seeded_split: bool) -> String {
    let top_note = match args.top_voices {
        Some(1) => " (its top voice only, as a melody model learns it)".to_string(),
        Some(n) => format!(" (its {n} highest voices only, as a {n}-voice model learns it)"),
        None => String::new(),
    };
    let seeded_note = if seeded_split {
        let note = format!(
            "note: {} has no train/valid/test subfolders; using the test part of the trainer's \
             seeded 80:20 split",
            args.data.display()
        );
        eprintln!("{note}");
        format!("\n{note}")
    } else {
        String::new()
    };
    format!("{top_note}{seeded_note}")
}

/// Every temperature asked for (then the sweep's), in order, each generated once.
fn generate_columns(
    args: &Args,
    model: &crate::infer::FastLstm,
    gen_args: &mut generate::Args,
) -> anyhow::Result<Vec<(f32, Column)>> {
    let mut temperatures: Vec<f32> = args.temperature.clone();
    if args.sweep {
        temperatures.extend(SWEEP_TEMPERATURES);
    }
    per_temperature(&temperatures, |t| {
        gen_args.temperature = t;
        let params = generate::generate_params(gen_args, model.config.steps_per_quarter, 1)?;
        let phrases = generate_variations(model, &params, args.phrases as usize)?;
        Ok(Column {
            name: format!("T={t:?}"),
            stats: phrases
                .iter()
                .map(|p| PassageStats::of(&Passage::from_phrase(p)))
                .collect(),
        })
    })
}

/// One column for each distinct temperature, in order, each measured once by `column`.
fn per_temperature(
    temperatures: &[f32],
    mut column: impl FnMut(f32) -> anyhow::Result<Column>,
) -> anyhow::Result<Vec<(f32, Column)>> {
    let mut generated: Vec<(f32, Column)> = Vec::new();
    for &t in temperatures {
        if !generated.iter().any(|(g, _)| *g == t) {
            generated.push((t, column(t)?));
        }
    }
    Ok(generated)
}

/// Each real segment's top line harmonized, per temperature asked for (`--harmonize`), and
/// how many came back with their melody note for note (printed).
fn harmonize_columns(
    args: &Args,
    model: &crate::infer::FastLstm,
    gen_args: &mut generate::Args,
    real: &RealSegments,
) -> anyhow::Result<Vec<(f32, Column)>> {
    let spq = model.config.steps_per_quarter;
    per_temperature(&args.temperature, |t| {
        gen_args.temperature = t;
        gen_args.form = crate::form::Form::through_composed();
        let mut stats = Vec::with_capacity(real.passages.len());
        let mut kept = 0;
        for (i, passage) in real.passages.iter().enumerate() {
            let mut params = generate::generate_params(gen_args, spq, i as u64 + 1)?;
            let (melody, length_steps) = melody_of(passage, spq);
            super::harmonize::follow_shape(&mut params, &melody.phrase, length_steps);
            params.line_copies = args.line_copies;
            params.melody = Some(melody.clone());
            let phrase = crate::family::generate(model, &params)
                .with_context(|| format!("harmonizing segment {}", i + 1))?;
            let sounds = |m: &crate::phrase::Note| {
                phrase.notes.iter().any(|n| {
                    (n.start_step, n.pitch, n.length_steps)
                        == (m.start_step, m.pitch, m.length_steps)
                })
            };
            if melody.phrase.notes.iter().all(sounds) {
                kept += 1;
            }
            stats.push(PassageStats::of(&Passage::from_phrase(&phrase)));
        }
        println!(
            "T={t:?}: {kept} of {} harmonized segments have every melody note back (pitch, \
             start, length)",
            real.passages.len()
        );
        Ok(Column {
            name: format!("harmonized T={t:?}"),
            stats,
        })
    })
}

/// A real segment's top line as a melody on the model's grid, in the segment's own metre
/// and bar lines (a 3/4 chorale is harmonized in 3/4, as `phrasegen harmonize` follows
/// its file's), and the segment's length in the model's steps.
fn melody_of(passage: &Passage, spq: u32) -> (crate::sample::melody::Melody, u32) {
    let meter = passage.meter;
    let to_model = |s: u32| crate::sample::regrid_step(s, passage.steps_per_quarter, spq);
    let length_steps = to_model(passage.length_steps);
    let bars = length_steps
        .div_ceil(meter.steps_per_bar(spq).max(1))
        .max(1);
    let top = passage.top_voices(1);
    let mut phrase = crate::phrase::Phrase::empty(bars, passage.steps_per_quarter, meter, 120.0);
    phrase.notes = top.notes.iter().chain(&top.held_in).copied().collect();
    phrase.notes.sort_unstable();
    let phrase = crate::sample::regrid(&phrase, passage.steps_per_quarter, spq);
    let bar_lines: Vec<(u32, crate::phrase::TimeSignature)> = passage
        .bar_starts
        .iter()
        .map(|&s| (to_model(s), meter))
        .collect();
    let meters = crate::meter::MeterMap::from_bars(&bar_lines, spq);
    (
        crate::sample::melody::Melody::new(&phrase, meters, None),
        length_steps,
    )
}

/// The column generated at temperature `t` (every temperature used was generated).
fn column_at(generated: &[(f32, Column)], t: f32) -> &Column {
    &generated
        .iter()
        .find(|(g, _)| *g == t)
        .expect("generated")
        .1
}

/// What was measured against what: the model, the phrases' settings and the data.
fn print_header(
    args: &Args,
    cfg: &crate::model::ModelConfig,
    gen_args: &generate::Args,
    test: &RealSegments,
    segment_quarters: f64,
    notes: &str,
) {
    println!(
        "model {} ({} steps/quarter, {:?}, pitches {}..{}); {} phrases of {} bars of {}/{} per \
         temperature, seeds 1..{}, form {}, {}, {} candidate(s), min-p {}, repeats {}, span {}, other generate \
         settings default\ndata {}: {}, \
         segments of {} quarter notes starting on bar lines{notes}\n",
        cfg.name,
        cfg.steps_per_quarter,
        cfg.representation,
        cfg.pitch_range.lo,
        cfg.pitch_range.hi,
        args.phrases,
        args.bars,
        gen_args.time_signature.numerator,
        gen_args.time_signature.denominator,
        args.phrases,
        gen_args.form,
        if args.sampler.allow_parallels {
            "parallels allowed"
        } else {
            "strict voice leading"
        },
        args.sampler.candidates,
        {
            let share = args.sampler.min_p.share_for(cfg);
            args.sampler.min_p.describe((share > 0.0).then_some(share), "off")
        },
        if args.harmonize {
            // The melody sets the form and the compass.
            "off (a melody is followed)".into()
        } else {
            args.sampler.repeats.describe(
                args.sampler.repeats.bias_for(cfg, &gen_args.form),
                "off: the form decides",
            )
        },
        if args.harmonize {
            "off (a melody is followed)".into()
        } else {
            args.sampler.span.describe(args.sampler.span.semitones_for(cfg), "none")
        },
        args.data.display(),
        describe(test),
        segment_quarters
    );
}

/// The train and valid splits (`--all-splits`), each described as it is read.
fn other_split_columns(args: &Args, segment_quarters: f64) -> anyhow::Result<Vec<Column>> {
    let mut columns = Vec::new();
    for split in [Split::Train, Split::Valid] {
        let real = load_split(args, split, segment_quarters)?;
        println!("\n{} {}", args.data.display(), describe(&real));
        columns.push(real_column(&real));
    }
    Ok(columns)
}

/// Prints and returns the table of the data's other splits against its test split.
fn splits_table(reference: &Column, split_columns: &[Column]) -> Table {
    let others: Vec<&Column> = split_columns.iter().collect();
    let t = Table::compare(reference, &others, &Metric::ALL);
    println!("\nThe data's splits against its test split:\n");
    print!("{}", t.to_markdown());
    t
}

/// Prints and returns the temperature sweep's table (`--sweep`).
fn sweep_table(reference: &Column, generated: &[(f32, Column)]) -> Table {
    let others: Vec<&Column> = SWEEP_TEMPERATURES
        .iter()
        .map(|&t| column_at(generated, t))
        .collect();
    let t = Table::compare(reference, &others, &SWEEP_METRICS);
    println!("\nTemperature sweep (mean ± sd over the phrases):\n");
    print!("{}", t.to_markdown_transposed());
    t
}

/// Per-phrase values of every column measured: the reference, each temperature, the splits.
fn every_column_values(
    reference: &Column,
    generated: &[(f32, Column)],
    split_columns: &[Column],
) -> Vec<ColumnValues> {
    std::iter::once(reference)
        .chain(generated.iter().map(|(_, c)| c))
        .chain(split_columns)
        .map(ColumnValues::of)
        .collect()
}

/// Writes the `--json` report atomically (a reader never sees half a file).
fn write_json(path: &std::path::Path, report: &JsonReport) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    crate::fsutil::write_atomically(path, json.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
