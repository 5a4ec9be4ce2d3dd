//! `phrasegen inspect FILE...`: validate MIDI files and describe them.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::midi::{self, MidiFile, MidiSummary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// MIDI files, or folders to search for .mid/.midi files (including subfolders).
    #[arg(required = true, value_name = "FILE_OR_FOLDER")]
    pub files: Vec<PathBuf>,
    /// Reject any fault in a file instead of recovering from what other readers recover
    /// from (stray system messages, wrong track lengths, format 2, ...).
    #[arg(long)]
    pub strict: bool,
}

/// Describes each file, with what was recovered from listed under it; a bad file is reported
/// and the others still are. Fails (exit 1) when any file could not be read.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let parse = if args.strict {
        MidiFile::parse_strict
    } else {
        MidiFile::parse
    };
    let (mut ok, mut with_warnings, mut failed) = (0usize, 0usize, 0usize);
    for input in &args.files {
        let files = midi::find_midi_files(input);
        if files.is_empty() {
            eprintln!("{}: no .mid or .midi files found", input.display());
            failed += 1;
        }
        for path in files {
            match midi::read_bytes(&path).and_then(|b| parse(&b)) {
                Ok(file) => {
                    ok += 1;
                    println!("{}\n{}", path.display(), MidiSummary::of(&file));
                    if !file.warnings.is_empty() {
                        with_warnings += 1;
                    }
                    for warning in &file.warnings {
                        println!("  WARNING: {warning}");
                    }
                }
                Err(e) => {
                    failed += 1;
                    println!("{}\n  ERROR: {e}", path.display());
                }
            }
        }
    }
    if with_warnings > 0 {
        println!("{ok} file(s) read ({with_warnings} with warnings), {failed} failed");
    } else {
        println!("{ok} file(s) read, {failed} failed");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
