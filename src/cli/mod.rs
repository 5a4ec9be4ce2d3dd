//! Command-line interface: one module per subcommand, each with its own `Args` and `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod accompany;
pub mod bench;
pub mod eval;
pub mod export_state;
pub mod generate;
pub mod half_weights;
pub mod harmonize;
pub mod inspect;
pub mod key_scale;
pub mod roll;
pub mod stats;
pub mod train;

/// PhraseGen: generate musical phrases with a neural network, as MIDI files.
#[derive(Debug, Parser)]
#[command(name = "phrasegen", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a phrase and write it as a MIDI file (the built-in model needs no files).
    Generate(generate::Args),
    /// Write the voices under a melody (a MIDI file; its top line) with a model of several
    /// voices: four-part harmony under a tune with the built-in bach-chorales.
    Harmonize(harmonize::Args),
    /// Play a line over chords (a MIDI file) with a melody model: chord tones on strong
    /// beats, the chord's scale elsewhere.
    Accompany(accompany::Args),
    /// Check MIDI files and describe them: tempo, time signature, length, notes, channels.
    Inspect(inspect::Args),
    /// Measure generation speed, model loading and process() cost (and the PyTorch
    /// reference side by side when Python with torch is available).
    Bench(bench::Args),
    /// Write the phrase saved in a plugin state (JSON) as a MIDI file.
    ExportState(export_state::Args),
    /// Train a model on a folder of MIDI files (writes the model, a loss log and a loss plot).
    Train(train::Args),
    /// Round a model's weights to half precision (f16): a step then reads half the bytes.
    HalfWeights(half_weights::Args),
    /// Measure a model on held-out MIDI files: NLL in nats per step and frame accuracy.
    Eval(eval::Args),
    /// Musical statistics of generated phrases beside real music of the same length: notes
    /// per bar, voices, silence, rhythm, key, repetition, parallel fifths.
    Stats(stats::Args),
    /// Draw MIDI files as piano rolls (PNG), one panel each, e.g. real music beside
    /// generated phrases.
    Roll(roll::Args),
}

/// How the command line spells an option's value.
fn value_name(v: impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_string())
}

/// Parses the command line and runs the subcommand; errors are printed, never panicked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Harmonize(args) => harmonize::run(args),
        Command::Accompany(args) => accompany::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Train(args) => train::run(args),
        Command::ExportState(args) => export_state::run(args),
        Command::Bench(args) => bench::run(args),
        Command::HalfWeights(args) => half_weights::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Roll(args) => roll::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // `{:#}`: what the command was doing, then each cause.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
