//! The user's models folder: where *Learn from folder…* writes the models it trains, and
//! where the model picker finds them again (a project stores the chosen file's path).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The user's models folder on this machine; see [`models_dir_for`]. A folder under the
/// system temporary folder when there is no home.
pub fn models_dir() -> PathBuf {
    models_dir_for(std::env::consts::OS, |name| std::env::var_os(name))
        .unwrap_or_else(|| std::env::temp_dir().join("PhraseGen").join("models"))
}

/// The models folder on `os` (as in [`std::env::consts::OS`]) given the environment `var`:
/// `$PHRASEGEN_MODELS_DIR` if set; otherwise `%APPDATA%\PhraseGen\models` on Windows,
/// `~/Library/Application Support/PhraseGen/models` on macOS, `$XDG_DATA_HOME/PhraseGen/models`
/// (or `~/.local/share/...`) elsewhere; `None` when the variables needed are unset or empty.
pub fn models_dir_for(os: &str, var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("PHRASEGEN_MODELS_DIR") {
        return Some(dir);
    }
    match os {
        "windows" => var("APPDATA").map(|d| d.join("PhraseGen").join("models")),
        "macos" => var("HOME").map(|h| h.join("Library/Application Support/PhraseGen/models")),
        _ => var("XDG_DATA_HOME")
            .map(|d| d.join("PhraseGen").join("models"))
            .or_else(|| var("HOME").map(|h| h.join(".local/share/PhraseGen/models"))),
    }
}

/// The model files in `dir` (`*.safetensors`), by name; none when it does not exist.
pub fn list_models(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::export::tests::env;

    #[test]
    fn every_platform_has_its_folder_and_the_override_wins() {
        let dir = |os, vars| models_dir_for(os, env(vars));
        assert_eq!(
            dir("windows", &[("APPDATA", r"C:\Users\a\AppData\Roaming")]),
            Some(
                PathBuf::from(r"C:\Users\a\AppData\Roaming")
                    .join("PhraseGen")
                    .join("models")
            )
        );
        assert_eq!(
            dir("macos", &[("HOME", "/Users/a")]),
            Some(PathBuf::from(
                "/Users/a/Library/Application Support/PhraseGen/models"
            ))
        );
        assert_eq!(
            dir("linux", &[("HOME", "/home/a")]),
            Some(PathBuf::from("/home/a/.local/share/PhraseGen/models"))
        );
        assert_eq!(
            dir("linux", &[("HOME", "/home/a"), ("XDG_DATA_HOME", "/d")]),
            Some(PathBuf::from("/d/PhraseGen/models"))
        );
        assert_eq!(
            dir(
                "linux",
                &[("PHRASEGEN_MODELS_DIR", "/m"), ("HOME", "/home/a")]
            ),
            Some(PathBuf::from("/m"))
        );
        assert_eq!(dir("linux", &[("HOME", "")]), None);
    }

    #[test]
    fn only_model_files_are_listed_in_name_order() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.safetensors", "a.safetensors", "notes.txt"] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        let names: Vec<_> = list_models(d.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.safetensors", "b.safetensors"]);
        assert!(list_models(&d.path().join("missing")).is_empty());
    }
}
