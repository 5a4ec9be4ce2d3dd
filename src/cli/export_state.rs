//! `phrasegen export-state STATE.json -o clip.mid`: the phrase saved in a plugin state, as MIDI.
//!
//! Accepts the plugin's state JSON as nice-plug writes it (`{"params": ..., "fields":
//! {"phrase": "<phrase JSON>"}}`, what hosts store in their projects), or a bare phrase JSON.

use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::phrase::Phrase;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin state (JSON) or a phrase saved as JSON.
    pub state: PathBuf,
    /// The MIDI file to write.
    #[arg(short, long, default_value = "phrase.mid")]
    pub output: PathBuf,
}

/// Finds the phrase in a state document.
pub fn phrase_from_state(text: &str) -> anyhow::Result<Phrase> {
    let value: serde_json::Value = serde_json::from_str(text).context("not JSON")?;
    let phrase_value = match value.pointer("/fields/phrase") {
        Some(serde_json::Value::String(inner)) => {
            serde_json::from_str(inner).context("the saved phrase is damaged")?
        }
        Some(_) => anyhow::bail!("the state's `phrase` field is not a string"),
        None => value,
    };
    serde_json::from_value::<Option<Phrase>>(phrase_value)
        .map_err(|e| anyhow::anyhow!("no phrase found in the state: {e}"))?
        .context("the state holds no phrase yet (the plugin never generated one)")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.state)
        .with_context(|| format!("cannot read {}", args.state.display()))?;
    let phrase = phrase_from_state(&text).with_context(|| format!("{}", args.state.display()))?;
    crate::midi::export_file(&phrase, "PhraseGen", &args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "wrote {} ({} bars, {} notes)",
        args.output.display(),
        phrase.bars,
        phrase.notes.len()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plugin_state_and_a_bare_phrase() {
        let mut p = Phrase::default();
        p.notes.push(crate::phrase::Note::new(2, 62, 3, 80));
        let inner = serde_json::to_string(&Some(p.clone())).unwrap();
        let state =
            serde_json::json!({"version": "0.1.0", "params": {}, "fields": {"phrase": inner}});
        assert_eq!(phrase_from_state(&state.to_string()).unwrap(), p);
        assert_eq!(
            phrase_from_state(&serde_json::to_string(&p).unwrap()).unwrap(),
            p
        );
        let error = |text: &str| phrase_from_state(text).unwrap_err().to_string();
        let empty = serde_json::json!({"fields": {"phrase": "null"}});
        assert!(error(&empty.to_string()).contains("no phrase yet"));
        assert!(error("{").starts_with("not JSON"));
    }
}
