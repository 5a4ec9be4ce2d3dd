//! The model tables of `README.md` and `models/README.md` against the files they describe, so
//! a retrained model or a re-run of `phrasegen stats` cannot leave the docs behind unnoticed.
//!
//! Checked, for every model named in backticks in a table whose first column is `model` (the
//! file `models/NAME.safetensors`, read with the library's own loader):
//! - data set (the last part of the recorded `training.data`), grid (`1/N`: steps per
//!   quarter), voices (`max_voices`), representation (active only / active + onset), pitch
//!   range and number of keys, family (v1 frame / v2 events, from the section heading, a
//!   `(v1` / `(v2` tag or a `-v1` name);
//! - epochs run (`training.epochs`, and the rows of `models/NAME.train.csv`) and the best
//!   epoch (the lowest valid loss in that CSV);
//! - test NLL per step and per quarter note (`test_nll_nats_per_step` × steps per quarter),
//!   frame accuracy, to the digits shown;
//! - which models are built in and which is the default (`BUILTIN_MODELS`, byte for byte);
//! - `README.md`'s stats columns (notes per bar, polyphony and time with four voices, onsets
//!   on the beat, empty beats, bar repeated, parallel fifths: the phrases, and in brackets the
//!   test split, also the one-metre comparison) against `models/NAME.stats.txt`, to the digits
//!   shown.
//!
//! In `models/README.md`'s "Musical statistics", for each `### NAME` section: every table is
//! rows of one table of `models/NAME.stats.txt` with the same header, cell for cell; every
//! `phrasegen stats` command shown is one recorded there; the per-metre table's rows against
//! the run made in that metre (figures and the number of test files). Each stats file's
//! `--model` loads that very model file (a path to it, or a built-in with the same bytes), and
//! its `model ... (S steps/quarter, REPR, pitches A..B)` lines match the file's config.
//!
//! Not checked, having no machine-readable source in the repository:
//! - test NLL per event (`models/README.md`, v2 table): model files record NLL per step only;
//! - the published figures (LSTM, GRU, RNN-RBM, RNN-NADE) in "Against the published figures";
//! - cells shown as `–` (`README.md`'s parallel fifths of the melody models): no claim;
//! - the 2/4 and 6/8 rows of the per-metre `fiddle-tunes` table: only the 4/4 and 2/2 run is
//!   kept in `fiddle-tunes.stats.txt`;
//! - figures in running text rather than tables (hyper-parameter comparisons, `models/sweeps`,
//!   load and generation times).

use std::collections::HashMap;
use std::path::PathBuf;

use phrasegen::builtin::BUILTIN_MODELS;
use phrasegen::model::{read_model_file, Architecture, ModelConfig};
use phrasegen::roll::Representation;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// One table (Markdown, or `phrasegen stats` output): header, body rows, and where it is.
struct Table {
    line: usize,
    h2: String,
    h3: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

fn is_separator(line: &str) -> bool {
    cells(line)
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'))
}

/// The tables of a text, with the `##` and `###` headings they are under (outside code fences).
fn tables(text: &str) -> Vec<Table> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut out, mut h2, mut h3, mut fenced) = (Vec::new(), String::new(), String::new(), false);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with("## ") {
            (h2, h3) = (line.to_string(), String::new());
        } else if !fenced && line.starts_with("### ") {
            h3 = line.to_string();
        } else if !fenced
            && line.trim_start().starts_with('|')
            && lines.get(i + 1).is_some_and(|l| is_separator(l))
        {
            let mut table = Table {
                line: i + 1,
                h2: h2.clone(),
                h3: h3.clone(),
                header: cells(line),
                rows: Vec::new(),
            };
            i += 2;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                table.rows.push(cells(lines[i]));
                i += 1;
            }
            out.push(table);
            continue;
        }
        i += 1;
    }
    out
}

/// The `phrasegen stats` commands in the code blocks under each `###` heading.
fn commands_by_h3(text: &str) -> HashMap<String, Vec<String>> {
    let (mut out, mut h3, mut fenced) =
        (HashMap::<String, Vec<String>>::new(), String::new(), false);
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with("## ") {
            h3.clear();
        } else if !fenced && line.starts_with("### ") {
            h3 = line.to_string();
        } else if fenced && line.trim_start().starts_with("phrasegen stats") {
            out.entry(h3.clone())
                .or_default()
                .push(line.trim().to_string());
        }
    }
    out
}

/// One run recorded in a stats file: its command, the lines describing it, its tables.
struct StatsRun {
    command: String,
    info: Vec<String>,
    tables: Vec<Table>,
}

fn stats_runs(text: &str) -> Vec<StatsRun> {
    let mut runs: Vec<(String, Vec<String>, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("phrasegen stats") {
            runs.push((line.trim().to_string(), Vec::new(), String::new()));
        } else if let Some((_, info, body)) = runs.last_mut() {
            if !line.starts_with('|') && !line.trim().is_empty() {
                info.push(line.to_string());
            }
            body.push_str(line);
            body.push('\n');
        }
    }
    runs.into_iter()
        .map(|(command, info, body)| StatsRun {
            command,
            info,
            tables: tables(&body),
        })
        .collect()
}

/// The numbers in a text, each with its number of decimals (`36..81` is two numbers).
fn numbers(text: &str) -> Vec<(f64, usize)> {
    let b = text.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let mut decimals = 0;
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
                decimals += 1;
            }
        }
        out.push((text[start..i].parse().unwrap(), decimals));
    }
    out
}

/// The first name in backticks.
fn backticked(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(&text[start..start + len])
}

/// The mean of a stats cell (`78.4% ± 5.9`, `0.0% ± 0.0 (n=5)`), none for `–`.
fn mean(cell: &str) -> Option<f64> {
    numbers(cell.split('±').next().unwrap())
        .first()
        .map(|n| n.0)
}

/// The mean of a stats cell as printed (`47.4%`, `7.66`).
fn mean_text(cell: &str) -> &str {
    cell.split('±').next().unwrap().trim()
}

struct Model {
    config: ModelConfig,
    bytes: Vec<u8>,
}

/// Findings: every comparison made, and the ones that failed.
#[derive(Default)]
struct Check {
    checked: usize,
    failures: Vec<String>,
}

impl Check {
    fn that(&mut self, ok: bool, message: impl FnOnce() -> String) {
        self.checked += 1;
        if !ok {
            self.failures.push(message());
        }
    }

    /// A figure shown with `decimals` digits agrees with the exact value rounded.
    fn figure(&mut self, place: &str, what: &str, shown: Option<(f64, usize)>, exact: f64) {
        match shown {
            Some((value, decimals)) => {
                let half_unit = 0.5 * 10f64.powi(-(decimals as i32)) + 1e-9;
                self.that((value - exact).abs() <= half_unit, || {
                    format!("{place}: {what} is {value} in the docs, {exact} in the source")
                });
            }
            None => self.that(false, || format!("{place}: no figure for {what}")),
        }
    }
}

struct Docs {
    models: HashMap<String, Option<Model>>,
    stats: HashMap<String, Vec<StatsRun>>,
}

impl Docs {
    fn model(&mut self, stem: &str) -> Option<&Model> {
        self.models
            .entry(stem.to_string())
            .or_insert_with(|| {
                let path = root().join("models").join(format!("{stem}.safetensors"));
                path.exists().then(|| Model {
                    config: read_model_file(&path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                        .config,
                    bytes: std::fs::read(&path).unwrap(),
                })
            })
            .as_ref()
    }

    fn stats(&mut self, stem: &str) -> &[StatsRun] {
        self.stats
            .entry(stem.to_string())
            .or_insert_with(|| stats_runs(&read(&format!("models/{stem}.stats.txt"))))
    }
}

/// The metres a run was limited to: the words after `--time-signature`, up to the next flag.
fn metres_of(command: &str) -> Vec<&str> {
    command
        .split_whitespace()
        .skip_while(|w| *w != "--time-signature")
        .skip(1)
        .take_while(|w| !w.starts_with("--"))
        .collect()
}

/// The one table with this metric's row in a run (`metric | real test | T=1.0 | diff | overlap`).
fn metric_row<'a>(run: &'a StatsRun, metric: &str) -> Option<&'a Vec<String>> {
    run.tables
        .iter()
        .find(|t| t.header.first().is_some_and(|h| h == "metric"))?
        .rows
        .iter()
        .find(|r| r[0] == metric)
}

/// The best epoch (lowest valid loss, first of equals) and the number of epochs in a CSV log.
fn best_epoch(stem: &str) -> (usize, usize) {
    let csv = read(&format!("models/{stem}.train.csv"));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let valid = header
        .iter()
        .position(|h| h.starts_with("valid_"))
        .expect("a valid_ column");
    let losses: Vec<f64> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').nth(valid).unwrap().parse().unwrap())
        .collect();
    let best = (0..losses.len())
        .min_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b)))
        .unwrap();
    (best + 1, losses.len())
}

/// `README.md`'s stats columns and the stats metrics they show, in the order they show them.
fn stats_columns(header: &str) -> Option<&'static [&'static str]> {
    Some(match header {
        "notes per bar" => &["notes per bar"],
        "voices" => &["polyphony (while sounding)", "time with 4+ voices"],
        "onsets on the beat" => &["onsets on the beat"],
        "empty beats" => &["empty beats"],
        "bar repeated" => &["phrases repeating a bar"],
        "parallel 5ths" => &["parallel 5ths per chord change"],
        _ => return None,
    })
}

/// A stats column of `README.md`: `G (R)`, `G, four P% (R, Q%)`, `G (R; 4/4 and 2/2 tunes X)`
/// or `–`, against the main run of the model's stats file (and the run in that metre).
fn check_stats_cell(
    docs: &mut Docs,
    ck: &mut Check,
    place: &str,
    stem: &str,
    metrics: &[&str],
    cell: &str,
) {
    let runs = docs.stats(stem);
    let main = &runs[0];
    if cell == "–" {
        return; // not shown (parallel fifths of a melody model)
    }
    let (outside, inside) = match cell.find('(') {
        Some(i) => (&cell[..i], cell[i + 1..].trim_end_matches(')')),
        None => (cell, ""),
    };
    let mut parts = inside.split(';');
    let real = parts.next().unwrap_or("");
    for (column, text) in [(2, outside), (1, real)] {
        let shown = numbers(text);
        ck.that(shown.len() <= metrics.len(), || {
            format!("{place}: more figures than metrics in {cell:?}")
        });
        for (metric, figure) in metrics.iter().zip(shown) {
            let what = format!(
                "{metric} ({})",
                if column == 2 { "phrases" } else { "test" }
            );
            match metric_row(main, metric).and_then(|r| mean(&r[column])) {
                Some(exact) => ck.figure(place, &what, Some(figure), exact),
                None => ck.that(false, || format!("{place}: {what} not in {stem}.stats.txt")),
            }
        }
    }
    // `4/4 and 2/2 tunes 7.7`: the test split of the run in those metres.
    for extra in parts {
        let metres: Vec<&str> = extra
            .split_whitespace()
            .filter(|w| w.contains('/'))
            .collect();
        let run = runs.iter().find(|r| metres_of(&r.command) == metres);
        let exact = run
            .and_then(|r| metric_row(r, metrics[0]))
            .and_then(|r| mean(&r[1]));
        match exact {
            Some(exact) => ck.figure(place, extra.trim(), numbers(extra).last().copied(), exact),
            None => ck.that(false, || {
                format!("{place}: no run in {metres:?} for {extra:?}")
            }),
        }
    }
}

/// A table whose first column names models: every column checked against the model's file,
/// its training log and its stats.
fn check_model_table(docs: &mut Docs, ck: &mut Check, file: &str, table: &Table) {
    for row in &table.rows {
        let Some(stem) = backticked(&row[0]) else {
            continue; // a published figure
        };
        let place = format!("{file}:{} `{stem}`", table.line);
        let Some(model) = docs.model(stem) else {
            ck.that(false, || format!("{place}: no models/{stem}.safetensors"));
            continue;
        };
        let config = model.config.clone();
        let builtin = BUILTIN_MODELS
            .iter()
            .position(|(_, bytes)| *bytes == model.bytes.as_slice());
        if let Some(i) = builtin {
            ck.that(BUILTIN_MODELS[i].0 == stem, || {
                format!("{place}: built in as {}", BUILTIN_MODELS[i].0)
            });
        }
        let Some(training) = config.training.clone() else {
            ck.that(false, || format!("{place}: the file records no training"));
            continue;
        };
        let events = matches!(config.architecture, Architecture::Events { .. });
        let v2 = row[0].contains("(v2") || table.h2.contains(" v2");
        let v1 = row[0].contains("(v1") || table.h2.contains(" v1") || stem.ends_with("-v1");
        if v1 || v2 {
            ck.that(v2 == events && v1 != events, || {
                format!(
                    "{place}: shown as v{}, the file is a {:?} model",
                    if v2 { 2 } else { 1 },
                    config.architecture
                )
            });
        }
        if row[0].contains("built in") {
            ck.that(builtin.is_some(), || format!("{place}: not built in"));
        }
        if row[0].contains("default") {
            ck.that(builtin == Some(0), || format!("{place}: not the default"));
        }
        let per_step = training.test_nll_nats_per_step.unwrap_or(f64::NAN);
        for (header, cell) in table.header.iter().zip(row).skip(1) {
            let cell = cell.replace("**", "");
            let cell = cell.as_str();
            let place = format!("{place}, {header}");
            match header.as_str() {
                "data" => {
                    let data = training.data.rsplit('/').next().unwrap_or("");
                    ck.that(data == cell, || {
                        format!("{place}: {cell}, the file says {data}")
                    });
                }
                h if h.starts_with("grid") => check_grid(ck, &place, &config, cell),
                "epochs run (best)" => {
                    let shown = numbers(cell);
                    let (best, logged) = best_epoch(stem);
                    ck.figure(
                        &place,
                        "epochs",
                        shown.first().copied(),
                        training.epochs as f64,
                    );
                    ck.figure(
                        &place,
                        "epochs in the CSV",
                        shown.first().copied(),
                        logged as f64,
                    );
                    ck.figure(&place, "best epoch", shown.get(1).copied(), best as f64);
                }
                h if h.contains("nats/step") => ck.figure(
                    &place,
                    "NLL per step",
                    numbers(cell).first().copied(),
                    per_step,
                ),
                h if h.contains("nats/quarter") || h.contains("JSB Chorales test NLL") => {
                    let per_quarter = per_step * f64::from(config.steps_per_quarter);
                    ck.figure(
                        &place,
                        "NLL per quarter",
                        numbers(cell).first().copied(),
                        per_quarter,
                    )
                }
                "frame accuracy" => {
                    let exact = training.test_frame_accuracy.unwrap_or(f64::NAN);
                    ck.figure(
                        &place,
                        "frame accuracy",
                        numbers(cell).first().copied(),
                        exact,
                    )
                }
                "built in" => {
                    let yes = cell.starts_with("yes");
                    ck.that(yes == builtin.is_some(), || format!("{place}: {cell}"));
                    if yes && cell.contains("default") {
                        ck.that(builtin == Some(0), || format!("{place}: not the default"));
                    }
                }
                h if h.contains("nats/event") => {} // not recorded in the model file
                h => match stats_columns(h) {
                    Some(metrics) => check_stats_cell(docs, ck, &place, stem, metrics, cell),
                    None => ck.that(false, || {
                        format!("{place}: a column this test does not know")
                    }),
                },
            }
        }
    }
}

/// `1/16, 4 voices, pitches 36..81`, `1/4, active only, 88 keys (21..108)`.
fn check_grid(ck: &mut Check, place: &str, config: &ModelConfig, cell: &str) {
    let figures = numbers(cell);
    ck.that(cell.starts_with("1/"), || format!("{place}: no 1/N grid"));
    ck.figure(
        place,
        "grid",
        figures.get(1).copied(),
        4.0 * f64::from(config.steps_per_quarter),
    );
    let repr = config.representation;
    if cell.contains("active only") {
        ck.that(repr == Representation::ActiveOnly, || {
            format!("{place}: the file has {repr:?}")
        });
    }
    if cell.contains("active + onset") {
        ck.that(repr == Representation::ActiveAndOnset, || {
            format!("{place}: the file has {repr:?}")
        });
    }
    let words: Vec<&str> = cell
        .split([' ', ',', '(', ')'])
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        let n = pair[0].parse::<f64>().ok().map(|v| (v, 0));
        if pair[1].starts_with("voice") {
            let voices = match config.architecture {
                Architecture::Events { max_voices } => f64::from(max_voices),
                Architecture::Frame => f64::NAN,
            };
            ck.figure(place, "voices", n, voices);
        } else if pair[1] == "keys" {
            ck.figure(place, "keys", n, config.pitch_range.len() as f64);
        }
    }
    if let Some(range) = words.iter().find(|w| w.contains("..")) {
        let r = config.pitch_range;
        ck.that(*range == format!("{}..{}", r.lo, r.hi), || {
            format!("{place}: pitches {range}, the file has {}..{}", r.lo, r.hi)
        });
    }
}

/// A `### NAME` section of `models/README.md`'s "Musical statistics" against `NAME.stats.txt`.
fn check_stats_table(docs: &mut Docs, ck: &mut Check, table: &Table) {
    let stem = backticked(&table.h3).expect("a model name in the heading");
    let place = format!("models/README.md:{} ({stem})", table.line);
    let runs = docs.stats(stem);
    if table.header[0] == "metric" || table.header[0].is_empty() {
        let found = runs
            .iter()
            .flat_map(|r| &r.tables)
            .any(|t| t.header == table.header && table.rows.iter().all(|row| t.rows.contains(row)));
        // One comparison per cell copied from the stats file.
        ck.checked += table
            .rows
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            .saturating_sub(1);
        ck.that(found, || {
            let near = runs.iter().flat_map(|r| &r.tables).filter(|t| t.header == table.header);
            let missing: Vec<String> = near
                .flat_map(|t| table.rows.iter().filter(move |row| !t.rows.contains(row)))
                .map(|row| row.join(" | "))
                .collect();
            format!("{place}: no table of {stem}.stats.txt has these rows (not in each table with this header: {missing:#?})")
        });
    } else if table.header[0].starts_with("time signature") {
        let mut compared = 0;
        for row in &table.rows {
            let metres: Vec<&str> = row[0]
                .split_whitespace()
                .filter(|w| w.contains('/'))
                .collect();
            let Some(run) = runs.iter().find(|r| metres_of(&r.command) == metres) else {
                continue; // that metre's run is not kept
            };
            compared += 1;
            let files = test_files(run);
            ck.figure(
                &place,
                &row[0],
                numbers(&row[0]).last().copied(),
                files as f64,
            );
            for (metric, cell) in table.header.iter().zip(row).skip(1) {
                let stats = metric_row(run, metric);
                let (gen, rest) = cell.split_once(" (").unwrap_or((cell, ""));
                let (real, diff) = rest
                    .trim_end_matches(')')
                    .split_once(", ")
                    .unwrap_or((rest, ""));
                ck.that(
                    stats.is_some_and(|s| {
                        mean_text(&s[2]) == gen && mean_text(&s[1]) == real && s[3] == diff
                    }),
                    || format!("{place}: {} {metric} {cell:?} against {stats:?}", row[0]),
                );
            }
        }
        ck.that(compared > 0, || {
            format!("{place}: no row of the per-metre table has its run")
        });
    } else {
        ck.that(false, || {
            format!(
                "{place}: a table this test does not know: {:?}",
                table.header
            )
        });
    }
}

/// Test files of a run: `test split: 153 files, 194 segments, 98 files left out (...)`.
fn test_files(run: &StatsRun) -> usize {
    let line = run
        .info
        .iter()
        .find_map(|l| l.split_once("test split:"))
        .unwrap()
        .1;
    let files = numbers(line)[0].0 as usize;
    let left_out = line
        .split(',')
        .find(|part| part.contains("left out"))
        .map_or(0, |part| numbers(part)[0].0 as usize);
    files - left_out
}

/// Each run of a stats file loads the model it is filed under, described as its config says.
fn check_stats_file(docs: &mut Docs, ck: &mut Check, stem: &str) {
    let model = docs.model(stem).expect("the model file");
    let (config, bytes) = (model.config.clone(), model.bytes.clone());
    let r = config.pitch_range;
    let described = format!(
        "model {} ({} steps/quarter, {:?}, pitches {}..{})",
        config.name, config.steps_per_quarter, config.representation, r.lo, r.hi
    );
    for run in docs.stats(stem) {
        let place = format!("models/{stem}.stats.txt: {}", run.command);
        let words: Vec<&str> = run.command.split_whitespace().collect();
        let chosen = words
            .windows(2)
            .find(|w| w[0] == "--model")
            .map(|w| w[1])
            .unwrap_or(BUILTIN_MODELS[0].0);
        let loads_it = if chosen.ends_with(".safetensors") {
            chosen == format!("models/{stem}.safetensors")
        } else {
            BUILTIN_MODELS
                .iter()
                .any(|(name, b)| *name == chosen && *b == bytes.as_slice())
        };
        ck.that(loads_it, || {
            format!("{place}: --model {chosen} does not load models/{stem}.safetensors")
        });
        ck.that(run.info.iter().any(|l| l.starts_with(&described)), || {
            format!("{place}: no line starting {described:?}")
        });
    }
}

#[test]
fn model_tables_agree_with_model_files_and_stats() {
    let mut docs = Docs {
        models: HashMap::new(),
        stats: HashMap::new(),
    };
    let mut ck = Check::default();
    let (mut model_tables, mut stats_tables) = (0, 0);
    for file in ["README.md", "models/README.md"] {
        let text = read(file);
        for table in tables(&text) {
            if table.header[0] == "model" {
                model_tables += 1;
                check_model_table(&mut docs, &mut ck, file, &table);
            } else if file == "models/README.md"
                && table.h2.starts_with("## Musical statistics")
                && !table.h3.is_empty()
            {
                stats_tables += 1;
                check_stats_table(&mut docs, &mut ck, &table);
            }
        }
        if file == "models/README.md" {
            for (h3, commands) in commands_by_h3(&text) {
                if h3.is_empty() {
                    continue;
                }
                let stem = backticked(&h3).expect("a model name in the heading");
                for command in commands {
                    let recorded = docs.stats(stem).iter().any(|r| r.command == command);
                    ck.that(recorded, || {
                        format!("models/README.md {h3}: `{command}` is not in {stem}.stats.txt")
                    });
                }
            }
        }
    }
    let mut stems: Vec<String> = docs.stats.keys().cloned().collect();
    stems.sort();
    for stem in &stems {
        check_stats_file(&mut docs, &mut ck, stem);
    }
    assert!(
        ck.failures.is_empty(),
        "{} of {} figures disagree with their source:\n{}",
        ck.failures.len(),
        ck.checked,
        ck.failures.join("\n")
    );
    // The tables were found and read, not skipped: 3 model tables in models/README.md, 1 in
    // README.md, a stats section per shipped model with its stats file.
    assert!(model_tables >= 4, "{model_tables} model tables found");
    assert!(stats_tables >= 10, "{stats_tables} stats tables found");
    assert!(stems.len() >= 5, "stats files checked: {stems:?}");
    eprintln!(
        "{} figures compared, {model_tables} model tables, {stats_tables} stats tables, stats files {stems:?}",
        ck.checked
    );
    assert!(ck.checked >= 1000, "only {} comparisons made", ck.checked);
}
