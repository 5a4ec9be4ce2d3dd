//! `phrasegen roll FILE... -o roll.png`: draw MIDI files as piano rolls, one panel each.

use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::excerpt::{excerpt_bars, Excerpt};
use crate::midi::{self, MidiFile};
use crate::roll_image::{self, Arrangement, FigureLayout, RollPanel};

/// Grid the files are read on: holds sixteenths and eighth-note triplets exactly.
pub const ROLL_STEPS_PER_QUARTER: u32 = 12;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// MIDI files to draw, one panel each (the first on top, or on the left).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write the picture (PNG).
    #[arg(short, long, default_value = "roll.png")]
    pub output: PathBuf,
    /// First bar drawn, counted from 1 along each file's time signatures (a pickup written
    /// as a short bar is bar 1).
    #[arg(long, default_value_t = 1, value_name = "BAR")]
    pub from_bar: u32,
    /// How many bars to draw (default: to the end of each file).
    #[arg(long, value_name = "N")]
    pub bars: Option<u32>,
    /// Title of a panel; give it once per file, in order (default: the file name and bars).
    #[arg(long, value_name = "TEXT")]
    pub title: Vec<String>,
    /// Width of each panel in pixels.
    #[arg(long, default_value_t = FigureLayout::default().panel_width_px)]
    pub width: u32,
    /// Height of each panel in pixels.
    #[arg(long, default_value_t = FigureLayout::default().panel_height_px)]
    pub panel_height: u32,
    /// Place panels in a row instead of one above the other.
    #[arg(long)]
    pub side_by_side: bool,
    /// Also write the drawn bars as a MIDI file (one input file only), so the passage in
    /// the picture can be played.
    #[arg(long, value_name = "FILE")]
    pub midi_out: Option<PathBuf>,
}

/// Reads and cuts one file, with the file name in any error.
fn read_excerpt(path: &std::path::Path, args: &Args) -> anyhow::Result<Excerpt> {
    // A read error already names the file.
    let bytes = midi::read_bytes(path)?;
    let file = MidiFile::parse(&bytes).with_context(|| format!("{}", path.display()))?;
    for warning in &file.warnings {
        eprintln!("{}: warning: {warning}", path.display());
    }
    excerpt_bars(&file, ROLL_STEPS_PER_QUARTER, args.from_bar, args.bars)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// "bwv253.mid, bars 1-8".
fn default_title(path: &std::path::Path, excerpt: &Excerpt) -> String {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let first = excerpt.first_bar_number;
    let last = first + excerpt.bars().max(1) - 1;
    if first == last {
        format!("{name}, bar {first}")
    } else {
        format!("{name}, bars {first}-{last}")
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.title.is_empty() && args.title.len() != args.files.len() {
        anyhow::bail!(
            "{} --title given for {} file(s): give one per file, or none",
            args.title.len(),
            args.files.len()
        );
    }
    if args.midi_out.is_some() && args.files.len() != 1 {
        anyhow::bail!(
            "--midi-out writes the bars of one file; {} files given",
            args.files.len()
        );
    }
    let is_png = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        anyhow::bail!(
            "{}: the picture is written as PNG; name the output *.png",
            args.output.display()
        );
    }
    let mut panels = Vec::with_capacity(args.files.len());
    for (i, path) in args.files.iter().enumerate() {
        let excerpt = read_excerpt(path, &args)?;
        let title = match args.title.get(i) {
            Some(t) => t.clone(),
            None => default_title(path, &excerpt),
        };
        panels.push(RollPanel { title, excerpt });
    }
    let layout = FigureLayout {
        panel_width_px: args.width,
        panel_height_px: args.panel_height,
        arrangement: if args.side_by_side {
            Arrangement::SideBySide
        } else {
            Arrangement::Stacked
        },
    };
    let image = roll_image::write_png(&args.output, &panels, layout)?;
    println!(
        "wrote {} ({}x{} pixels, {} panel(s))",
        args.output.display(),
        image.width_px,
        image.height_px,
        panels.len()
    );
    if let Some(path) = &args.midi_out {
        let panel = &panels[0];
        midi::export_file(&panel.excerpt.phrase, &panel.title, path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "wrote {} ({} bars, {} notes, {} BPM)",
            path.display(),
            panel.excerpt.bars(),
            panel.excerpt.phrase.notes.len(),
            panel.excerpt.phrase.tempo_bpm
        );
    }
    Ok(ExitCode::SUCCESS)
}
