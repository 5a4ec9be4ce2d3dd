//! `phrasegen inspect FILE...`: validate MIDI files and describe them.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::midi::{self, MidiFile, MidiSummary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// MIDI files, or folders to search for .mid/.midi files (including subfolders).
    #[arg(required = true, value_name = "FILE_OR_FOLDER")]
    pub files: Vec<PathBuf>,
}

/// Describes each file; a bad file is reported and the others still are. Fails (exit 1)
/// when any file could not be read.
pub fn run(args: Args) -> Result<ExitCode, String> {
    let (mut ok, mut failed) = (0usize, 0usize);
    for input in &args.files {
        let files = midi::find_midi_files(input);
        if files.is_empty() {
            eprintln!("{}: no .mid or .midi files found", input.display());
            failed += 1;
        }
        for path in files {
            match midi::read_bytes(&path).and_then(|b| MidiFile::parse(&b)) {
                Ok(file) => {
                    ok += 1;
                    println!("{}\n{}", path.display(), MidiSummary::of(&file));
                }
                Err(e) => {
                    failed += 1;
                    println!("{}\n  ERROR: {e}", path.display());
                }
            }
        }
    }
    println!("{ok} file(s) read, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
