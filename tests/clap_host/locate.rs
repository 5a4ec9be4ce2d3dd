//! Where the built plugin is.
//!
//! `cargo test` builds the library with every crate type it declares in one rustc call, so
//! the `cdylib` (`libphrasegen.so` on Linux) is written next to the rlib the tests link, in
//! `target/<profile>/deps/`, the test executable's own directory; `cargo build` also copies
//! it up to `target/<profile>/`. A CLAP bundle on Linux is that same file renamed (`cargo
//! xtask bundle` copies it to `target/bundled/PhraseGen.clap`). The freshest of these is
//! loaded, so a plain `cargo test` on a clean clone tests the code it just built. A bundle
//! built for another system (the Windows `PhraseGen.clap` that `cargo xtask test` bundles
//! into the same `target/bundled/`) is passed over.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The shared library's file name on this platform.
pub fn library_file_name() -> String {
    format!(
        "{}phrasegen{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Whether `path` starts like a shared library of this system (ELF, PE or Mach-O).
fn is_native_library(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    if read.is_err() {
        return false;
    }
    if cfg!(windows) {
        magic.starts_with(b"MZ")
    } else if cfg!(target_vendor = "apple") {
        // 64-bit Mach-O, or a universal ("fat") binary.
        u32::from_le_bytes(magic) == 0xfeed_facf || u32::from_be_bytes(magic) == 0xcafe_babe
    } else {
        magic == *b"\x7fELF"
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

/// Files that may be the plugin: the test executable's directory (`deps/`), its profile
/// directory, `$CARGO_TARGET_DIR/<profile>`, and the bundles of those target directories.
fn candidates() -> Vec<PathBuf> {
    let name = library_file_name();
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        if dir.file_name().is_some_and(|n| n == "deps") {
            dirs.extend(dir.parent().map(Path::to_path_buf));
        }
        dirs.insert(0, dir);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        let profile_dir = PathBuf::from(target).join(profile);
        dirs.push(profile_dir.join("deps"));
        dirs.push(profile_dir);
    }
    let mut files: Vec<PathBuf> = dirs.iter().map(|d| d.join(&name)).collect();
    // target/<profile>/ -> target/bundled/
    for d in &dirs {
        if d.file_name().is_some_and(|n| n != "deps") {
            files.extend(d.parent().map(|t| t.join("bundled").join("PhraseGen.clap")));
        }
    }
    files
}

/// The plugin binary to load: `$PHRASEGEN_CLAP` when set (to test a given bundle), else
/// the freshest of the profile's `cdylib` and the bundled `.clap`, or a clear error saying
/// where it looked.
pub fn plugin_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PHRASEGEN_CLAP") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("PHRASEGEN_CLAP={} is not a file", path.display()))
        };
    }
    let files = candidates();
    files
        .iter()
        .filter(|f| f.is_file() && is_native_library(f))
        .max_by_key(|f| modified(f))
        .cloned()
        .ok_or_else(|| {
            format!("no built plugin among {files:?}; `cargo test` builds it with the library")
        })
}
