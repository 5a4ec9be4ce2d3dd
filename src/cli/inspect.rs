//! `phrasegen inspect FILE...`: validate MIDI files and describe them.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// MIDI files or folders (searched recursively for .mid/.midi files).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(_args: Args) -> Result<ExitCode, String> {
    Err("inspect is not built yet".into())
}
