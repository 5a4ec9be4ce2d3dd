//! Exporting the current phrase as a `.mid` file the user drags into a track.
//!
//! Files go to one predictable folder with unique, shell-safe names (lowercase letters,
//! digits and dashes only: a peer tool's drag-out breaks on paths with spaces). Such names
//! are valid on every file system and in Explorer too: no `<>:"/\|?*`, no trailing dot or
//! space, never a reserved device name (`CON`, `NUL`, `COM1` ...), as they all start with
//! `phrasegen-`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::phrase::Phrase;

/// Longest label kept in a file name, so names stay far below the 255-character limit of
/// file systems however long a model's name is.
const MAX_LABEL_CHARS: usize = 80;

/// Where exports go on this machine; see [`export_dir_for`]. The system temporary folder
/// when there is no home.
pub fn export_dir() -> PathBuf {
    export_dir_for(std::env::consts::OS, |name| std::env::var_os(name))
        .unwrap_or_else(|| std::env::temp_dir().join("PhraseGen"))
}

/// Where exports go on `os` (as in [`std::env::consts::OS`]) given the environment `var`:
/// `$PHRASEGEN_EXPORT_DIR` if set; otherwise `%USERPROFILE%\Music\PhraseGen` on Windows,
/// `~/Music/PhraseGen` on macOS, `$XDG_DATA_HOME/PhraseGen/exports` (or
/// `~/.local/share/...`) elsewhere; `None` when the variables needed are unset or empty.
///
/// A function of its inputs, so every platform's rule is tested on any machine.
pub fn export_dir_for(os: &str, var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("PHRASEGEN_EXPORT_DIR") {
        return Some(dir);
    }
    match os {
        // Windows sets USERPROFILE; HOME, if set at all, is a Unix-style shell's.
        "windows" => var("USERPROFILE").map(|home| home.join("Music").join("PhraseGen")),
        "macos" => var("HOME").map(|home| home.join("Music").join("PhraseGen")),
        _ => var("XDG_DATA_HOME")
            .map(|data| data.join("PhraseGen").join("exports"))
            .or_else(|| {
                var("HOME").map(|home| home.join(".local").join("share/PhraseGen/exports"))
            }),
    }
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

/// `phrasegen-<label>-<bars>bars-<n>.mid` in `dir`, with the first free `n` (the label
/// made shell-safe and shortened; left out when nothing of it is left).
pub fn unique_path(dir: &Path, label: &str, bars: u32) -> PathBuf {
    let mut label: String = shell_safe(label).chars().take(MAX_LABEL_CHARS).collect();
    label.truncate(label.trim_end_matches('-').len());
    let stem = if label.is_empty() {
        "phrasegen".to_string()
    } else {
        format!("phrasegen-{label}")
    };
    first_free(|n| dir.join(format!("{stem}-{bars}bars-{n}.mid")))
}

/// The first of the paths `name` gives for 1, 2, 3 … that nothing exists at: a file or
/// folder written there never replaces an earlier one.
pub fn first_free(name: impl Fn(u32) -> PathBuf) -> PathBuf {
    (1..)
        .map(name)
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
pub(crate) mod tests {
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
        phrase.notes.push(crate::phrase::Note::new(0, 60, 4, 90));
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

    /// An environment holding only `vars` (name, value), for the `*_dir_for` functions.
    pub(crate) fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn exports_go_to_the_music_folder_of_the_windows_profile() {
        let profile = r"C:\Users\Zoë Ångström";
        let dir = export_dir_for(
            "windows",
            env(&[("USERPROFILE", profile), ("HOME", "/home/z")]),
        );
        assert_eq!(
            dir,
            Some(Path::new(profile).join("Music").join("PhraseGen")),
            "%USERPROFILE%\\Music\\PhraseGen, not the HOME a Unix-style shell sets"
        );
        assert_eq!(export_dir_for("windows", env(&[("USERPROFILE", "")])), None);
        assert_eq!(
            export_dir_for(
                "windows",
                env(&[("PHRASEGEN_EXPORT_DIR", r"D:\x"), ("USERPROFILE", profile)])
            ),
            Some(PathBuf::from(r"D:\x"))
        );
    }

    #[test]
    fn exports_go_to_the_usual_folder_on_macos_and_linux() {
        assert_eq!(
            export_dir_for("macos", env(&[("HOME", "/Users/zoë")])),
            Some(PathBuf::from("/Users/zoë/Music/PhraseGen"))
        );
        assert_eq!(
            export_dir_for(
                "linux",
                env(&[("HOME", "/home/z"), ("XDG_DATA_HOME", "/d")])
            ),
            Some(PathBuf::from("/d/PhraseGen/exports"))
        );
        assert_eq!(
            export_dir_for("linux", env(&[("HOME", "/home/z")])),
            Some(PathBuf::from("/home/z/.local/share/PhraseGen/exports"))
        );
        assert_eq!(export_dir_for("linux", env(&[])), None);
    }

    /// What makes `name` unusable as a file name on Windows (Explorer and the shell).
    fn windows_name_problem(name: &str) -> Option<String> {
        const RESERVED: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
        if let Some(c) = name
            .chars()
            .find(|c| r#"<>:"/\|?*"#.contains(*c) || c.is_control())
        {
            return Some(format!("contains {c:?}"));
        }
        if name.ends_with('.') || name.ends_with(' ') {
            return Some("ends with a dot or a space".into());
        }
        let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
        let numbered = ["COM", "LPT"].iter().any(|p| {
            stem.strip_prefix(p)
                .is_some_and(|n| n.len() == 1 && n.chars().all(|c| c.is_ascii_digit()))
        });
        if RESERVED.contains(&stem.as_str()) || numbered {
            return Some(format!("{stem} is a reserved device name"));
        }
        (name.len() > 255).then(|| format!("{} bytes long", name.len()))
    }

    #[test]
    fn names_are_valid_windows_file_names_whatever_the_label() {
        assert!(
            windows_name_problem("con.mid").is_some(),
            "the checker sees device names"
        );
        assert!(windows_name_problem("a?.mid").is_some());
        let dir = Path::new("exports");
        let long = "very long model name ".repeat(40);
        let labels = [
            "CON",
            "nul",
            "com1",
            "LPT9",
            "aux.mid",
            "<>:\"/\\|?*",
            "trailing dot.",
            "space ",
            "",
            "---",
            "Ωμέγα 音楽",
            "\u{7}bell",
            long.as_str(),
        ];
        for label in labels {
            let path = unique_path(dir, label, 4);
            let name = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(windows_name_problem(name), None, "{label:?} gave {name:?}");
            assert!(
                name.len() <= 120,
                "{label:?} gave a {}-byte name",
                name.len()
            );
            assert!(!name.contains("--"), "{label:?} gave {name:?}");
        }
        assert_eq!(
            unique_path(dir, "", 4).file_name().unwrap(),
            "phrasegen-4bars-1.mid"
        );
    }

    #[test]
    fn exports_work_under_non_ascii_and_long_paths() {
        let root = tempfile::tempdir().unwrap();
        // A user name outside ASCII, and a folder deep enough to pass Windows' old 260
        // character limit (MAX_PATH).
        let mut dir = root
            .path()
            .join("Zoë Łukasz 音楽")
            .join("Music")
            .join("PhraseGen");
        while dir.as_os_str().len() < 300 {
            dir.push("a folder with a rather long name");
        }
        let mut phrase = Phrase::default();
        phrase.notes.push(crate::phrase::Note::new(2, 67, 2, 80));
        let path = export_phrase(&phrase, "Fiddle tunes G major seed 3", &dir).unwrap();
        assert!(path.as_os_str().len() > 300);
        assert!(path.starts_with(&dir));
        let back = crate::midi::import_file(&path, &Default::default()).unwrap();
        assert_eq!(back.phrase.notes, phrase.notes);
    }
}
