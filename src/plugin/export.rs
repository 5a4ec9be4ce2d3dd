//! Exporting the current phrase as a `.mid` file the user drags into a track.
//!
//! Files go to one predictable folder with unique, shell-safe names (lowercase letters,
//! digits and dashes only: a peer tool's drag-out breaks on paths with spaces).

use std::path::{Path, PathBuf};

use crate::phrase::Phrase;

/// Where exports go: `$PHRASEGEN_EXPORT_DIR` if set; otherwise `~/Music/PhraseGen` on macOS
/// and Windows, `$XDG_DATA_HOME/PhraseGen/exports` (or `~/.local/share/...`) on Linux; the
/// system temporary folder when there is no home.
pub fn export_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PHRASEGEN_EXPORT_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        if let Some(h) = home {
            return Path::new(&h).join("Music").join("PhraseGen");
        }
    } else if let Some(data) = std::env::var_os("XDG_DATA_HOME") {
        return Path::new(&data).join("PhraseGen").join("exports");
    } else if let Some(h) = home {
        return Path::new(&h).join(".local/share/PhraseGen/exports");
    }
    std::env::temp_dir().join("PhraseGen")
}

/// Keeps `[a-z0-9-]`, turning anything else into single dashes.
pub fn shell_safe(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// `phrasegen-<label>-<bars>bars-<n>.mid` in `dir`, with the first free `n`.
pub fn unique_path(dir: &Path, label: &str, bars: u32) -> PathBuf {
    let label = shell_safe(label);
    (1..)
        .map(|n| dir.join(format!("phrasegen-{label}-{bars}bars-{n}.mid")))
        .find(|p| !p.exists())
        .expect("an unused file name exists")
}

/// Writes `phrase` into `dir` under a fresh name and returns the path.
pub fn export_phrase(phrase: &Phrase, label: &str, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = unique_path(dir, label, phrase.bars);
    crate::midi::export_file(phrase, &format!("PhraseGen {label}"), &path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shell_safe_and_unique() {
        assert_eq!(
            shell_safe("Bach Chorales / C# minor!"),
            "bach-chorales-c-minor"
        );
        let dir = tempfile::tempdir().unwrap();
        let dir_with_space = dir.path().join("My Exports");
        let mut phrase = Phrase::default();
        phrase.notes.push(crate::phrase::Note {
            start_step: 0,
            pitch: 60,
            length_steps: 4,
            velocity: 90,
        });
        let a = export_phrase(&phrase, "Bach chorales C major seed 7", &dir_with_space).unwrap();
        let b = export_phrase(&phrase, "Bach chorales C major seed 7", &dir_with_space).unwrap();
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, "phrasegen-bach-chorales-c-major-seed-7-4bars-1.mid");
        assert!(name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'));
        let back = crate::midi::import_file(&b, &Default::default()).unwrap();
        assert_eq!(back.phrase.notes, phrase.notes);
    }
}
