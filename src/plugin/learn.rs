//! *Learn from folder…*: fine-tunes the model playing on a folder of the user's own MIDI, on
//! a background thread of its own at the lowest priority, one core, so the host, the audio
//! thread and the phrase worker keep theirs. The result is written only when training
//! finishes (a cancelled run leaves no file), into the user's models folder, and becomes the
//! model playing, chosen by path like any model file (so it is saved with the project).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::ProgressBar;
use parking_lot::Mutex;

use crate::fine_tune::{FineTune, Recipe};
use crate::model::{write_model_file, TrainingInfo};
use crate::plugin::export::{first_free, shell_safe};

/// Where a learning run is.
#[derive(Clone, Debug, PartialEq)]
pub enum LearnState {
    /// Reading and checking the folder.
    Preparing,
    Training,
    /// Written to this file, now the model playing.
    Done(PathBuf),
    Cancelled,
    /// Why it failed (the model playing is unchanged).
    Failed(String),
}

impl LearnState {
    /// True until the run has ended (done, cancelled or failed).
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Preparing | Self::Training)
    }
}

/// What the window shows of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnView {
    pub state: LearnState,
    /// Batches done of all planned (early stopping may end it sooner).
    pub fraction: f32,
    pub eta: Option<Duration>,
    /// The folder report, then the epochs' figures.
    pub lines: Vec<String>,
}

/// One run of fine-tuning in the background.
pub struct Learning {
    progress: ProgressBar,
    cancel: AtomicBool,
    state: Mutex<LearnState>,
    lines: Mutex<Vec<String>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Learning {
    /// Starts fine-tuning `start` (a model file or a built-in model's name) on `folder`,
    /// writing the result into `models_dir`; `adopt` is called with the new file once it
    /// is written (the plugin makes it the model playing). `tweak` changes the recipe
    /// (after the plugin's one-core setting), e.g. for a longer run; the plugin leaves it.
    pub fn start_with(
        start: String,
        folder: PathBuf,
        models_dir: PathBuf,
        tweak: impl FnOnce(&mut Recipe) + Send + 'static,
        adopt: impl FnOnce(&Path) + Send + 'static,
    ) -> Arc<Self> {
        let learning = Arc::new(Self {
            progress: ProgressBar::hidden(),
            cancel: AtomicBool::new(false),
            state: Mutex::new(LearnState::Preparing),
            lines: Mutex::new(Vec::new()),
            thread: Mutex::new(None),
        });
        let run = Arc::clone(&learning);
        let handle = std::thread::Builder::new()
            .name("PhraseGen learning".into())
            .spawn(move || {
                lower_this_threads_priority();
                let outcome = run.run(&start, &folder, &models_dir, tweak);
                let state = match outcome {
                    Ok(Some(path)) => {
                        adopt(&path);
                        LearnState::Done(path)
                    }
                    Ok(None) => LearnState::Cancelled,
                    Err(e) => LearnState::Failed(e),
                };
                *run.state.lock() = state;
            });
        match handle {
            Ok(h) => *learning.thread.lock() = Some(h),
            Err(e) => *learning.state.lock() = LearnState::Failed(format!("cannot start: {e}")),
        }
        learning
    }

    /// Stops after the batch under way; nothing is written.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }

    /// True until the run has ended (done, cancelled or failed).
    pub fn is_running(&self) -> bool {
        self.state.lock().is_running()
    }

    /// Waits for the run's thread to end.
    pub fn join(&self) {
        if let Some(h) = self.thread.lock().take() {
            let _ = h.join();
        }
    }

    pub fn view(&self) -> LearnView {
        let pos = self.progress.position();
        let len = self.progress.length().unwrap_or(0);
        LearnView {
            state: self.state.lock().clone(),
            fraction: if len == 0 {
                0.0
            } else {
                (pos as f32 / len as f32).min(1.0)
            },
            eta: (pos > 0).then(|| self.progress.eta()),
            lines: self.lines.lock().clone(),
        }
    }

    fn say(&self, line: String) {
        self.lines.lock().push(line);
    }

    /// Prepares, trains and saves; `Ok(None)` when cancelled.
    fn run(
        &self,
        start: &str,
        folder: &Path,
        models_dir: &Path,
        tweak: impl FnOnce(&mut Recipe),
    ) -> Result<Option<PathBuf>, String> {
        let start_file = crate::builtin::read_model_choice(start).map_err(|e| e.to_string())?;
        let start_name = start_file.config.name.clone();
        let tune = FineTune::prepare(start_file, folder, 1).map_err(|e| e.to_string())?;
        for line in tune.report.lines() {
            self.say(line);
        }
        let folder_name = folder
            .file_name()
            .map_or("my-folder".into(), |n| n.to_string_lossy().into_owned());
        let name = format!("{folder_name} (from {start_name})");
        let mut recipe = Recipe::for_model(&tune.start.config);
        // One core: the host and the phrase worker keep the others.
        recipe.threads = 1;
        tweak(&mut recipe);
        let options = tune.options(&name, &recipe);
        *self.state.lock() = LearnState::Training;
        let result = tune.train(&options, &self.progress, &self.cancel);
        // Cancelled, also before the first batch (then there is nothing to save either).
        if self.cancel.load(Ordering::Acquire) {
            return Ok(None);
        }
        let result = result.map_err(|e| e.to_string())?;
        let best = &result.history[result.best_epoch - 1];
        self.say(format!(
            "best epoch {} of {}: held-out {:.3} nats per event",
            result.best_epoch,
            result.history.len(),
            best.valid_loss
        ));
        let mut config = options.model.clone();
        config.training = Some(TrainingInfo {
            data: folder.display().to_string(),
            command: format!(
                "PhraseGen plugin: Learn from folder {} (from {start}; recipe {recipe:?})",
                folder.display()
            ),
            epochs: result.history.len(),
            test_nll_nats_per_step: None,
            test_frame_accuracy: None,
        });
        std::fs::create_dir_all(models_dir)
            .map_err(|e| format!("cannot create {}: {e}", models_dir.display()))?;
        let stem = format!("{}-{}", shell_safe(&folder_name), shell_safe(&start_name));
        let path = unique_path(models_dir, &stem);
        write_model_file(&path, &config, &result.tensors).map_err(|e| e.to_string())?;
        Ok(Some(path))
    }
}

/// The folder to learn from when `paths` are dropped on the window: a dropped folder itself;
/// dropped MIDI files are copied into a new folder under `clips_dir` (kept beside the models,
/// so what a model learned from stays at hand).
pub fn folder_for_drop(paths: &[PathBuf], clips_dir: &Path) -> Result<PathBuf, String> {
    if let [only] = paths {
        if only.is_dir() {
            return Ok(only.clone());
        }
    }
    let is_midi = |p: &&PathBuf| {
        p.is_file()
            && p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("mid") || x.eq_ignore_ascii_case("midi"))
    };
    let files: Vec<&PathBuf> = paths.iter().filter(is_midi).collect();
    if files.is_empty() {
        return Err("drop MIDI files (.mid) or one folder of them to learn from".into());
    }
    let stem = files[0]
        .parent()
        .and_then(Path::file_name)
        .map_or("dropped".into(), |n| shell_safe(&n.to_string_lossy()));
    let folder = first_free(|i| clips_dir.join(format!("{stem}-clips-{i}")));
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    for (i, file) in files.iter().enumerate() {
        let name = file
            .file_name()
            .map_or(format!("{i}.mid"), |n| n.to_string_lossy().into());
        // Two dropped files of the same name from different folders both stay.
        let target = match folder.join(&name).exists() {
            true => folder.join(format!("{i}-{name}")),
            false => folder.join(&name),
        };
        std::fs::copy(file, &target).map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
    }
    Ok(folder)
}

/// `dir/stem.safetensors`, or `stem-2`, `stem-3` … when taken: an earlier model is never
/// overwritten (a saved project may use it).
fn unique_path(dir: &Path, stem: &str) -> PathBuf {
    first_free(|i| match i {
        1 => dir.join(format!("{stem}.safetensors")),
        i => dir.join(format!("{stem}-{i}.safetensors")),
    })
}

/// The lowest priority the OS gives a thread: training uses idle time only.
fn lower_this_threads_priority() {
    #[cfg(unix)]
    // SAFETY: setpriority has no memory effects. On Linux, `who = 0` with PRIO_PROCESS
    // names the calling thread (the nice value is per thread there).
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
    #[cfg(windows)]
    // SAFETY: the pseudo-handle of the current thread is always valid.
    unsafe {
        use windows::Win32::System::Threading::{
            GetCurrentThread, SetThreadPriority, THREAD_PRIORITY_LOWEST,
        };
        let _ = SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_LOWEST);
    }
}

#[cfg(test)]
mod tests {
    use super::folder_for_drop;

    #[test]
    fn a_dropped_folder_is_used_and_dropped_files_are_gathered_into_a_new_one() {
        let d = tempfile::tempdir().unwrap();
        let mine = d.path().join("My Clips");
        std::fs::create_dir(&mine).unwrap();
        for f in ["a.mid", "b.MIDI", "notes.txt"] {
            std::fs::write(mine.join(f), f).unwrap();
        }
        let clips = d.path().join("models/clips");
        assert_eq!(
            folder_for_drop(std::slice::from_ref(&mine), &clips).unwrap(),
            mine
        );

        let dropped: Vec<_> = ["a.mid", "b.MIDI", "notes.txt"]
            .map(|f| mine.join(f))
            .into();
        let folder = folder_for_drop(&dropped, &clips).unwrap();
        assert_eq!(folder, clips.join("my-clips-clips-1"));
        let mut copied: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        copied.sort();
        assert_eq!(copied, ["a.mid", "b.MIDI"]);
        assert_eq!(
            folder_for_drop(&dropped, &clips).unwrap(),
            clips.join("my-clips-clips-2"),
            "an earlier drop's folder is never reused"
        );
        let err = folder_for_drop(&[mine.join("notes.txt")], &clips).unwrap_err();
        assert!(err.contains("drop MIDI files"), "{err}");
    }

    #[test]
    fn names_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = super::unique_path(dir.path(), "clips-bach");
        assert!(first.ends_with("clips-bach.safetensors"));
        std::fs::write(&first, b"x").unwrap();
        assert!(super::unique_path(dir.path(), "clips-bach").ends_with("clips-bach-2.safetensors"));
    }
}
