//! The plugin window (egui): every parameter, the phrase as a piano roll with a playhead,
//! Generate / Lock / Export, the model picker and a status line.
//!
//! Drawing goes through [`roll_view`] for all geometry, which is tested without a window.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use egui::{Color32, Pos2, Sense, Stroke};
use nice_plug::context::gui::{GuiContext, ParamSetter};
use nice_plug::params::Param;
use nice_plug_egui::baseview::{self, WindowSize};
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{Frame, NiceEguiApp};

use crate::plugin::export::{export_dir, export_phrase};
use crate::plugin::learn::{folder_for_drop, LearnState};
use crate::plugin::params::PhraseGenParams;
use crate::plugin::user_models::{list_models, models_dir};
use crate::plugin::worker::Shared;

#[cfg(windows)]
pub mod drag_windows;
#[cfg(target_os = "linux")]
pub mod drag_x11;
pub mod roll_view;
pub mod window;

pub use window::PhraseGenEditor;

use crate::phrase_edit::{change_note, delete_note, EditHistory};
use roll_view::{Grab, Rect, RollGeometry};

/// Height the parameter grid, bar locks, model picker, learn row and status line need below
/// the roll.
const CONTROLS_HEIGHT: f32 = 356.0;

/// Height of the strip of bar numbers above the roll (a click keeps or frees a bar).
const BAR_HEADER_HEIGHT: f32 = 16.0;

/// Editor state that lives as long as the plugin (the window may open and close).
pub struct EditorApp {
    shared: Arc<Shared>,
    gui: Option<GuiContext>,
    model_path_input: String,
    /// The folder typed for *Learn from folder…* (or the one files were dropped into).
    learn_folder_input: String,
    /// Why the last drop on the window could not be learned from.
    drop_message: Option<String>,
    /// The user's models folder as listed when the window opened, or after a learning
    /// run (not read every frame).
    user_models: Vec<std::path::PathBuf>,
    /// The learning run whose new model is already listed (by address).
    user_models_seen_done: Option<usize>,
    /// The note being dragged on the roll, what the drag changes, and where it began.
    dragging: Option<(usize, Grab, Pos2)>,
    /// Undo and redo of the edits on the roll, and [`EditorApp::epoch`] when last edited.
    edits: EditHistory,
    edits_epoch: (u64, u64, u64),
    /// Result of the last export: the path, or what went wrong.
    export_message: Option<Result<String, String>>,
    /// The phrase last exported, so a drag reuses its file instead of writing another.
    exported_phrase: Option<crate::phrase::Phrase>,
    /// How the last drag of the file out of the window ended (set by the drag's thread).
    drag_message: Arc<parking_lot::Mutex<Option<String>>>,
}

impl EditorApp {
    pub fn new(shared: Arc<Shared>) -> Self {
        let model_path_input = shared.params.model_path.read().clone().unwrap_or_default();
        Self {
            shared,
            gui: None,
            model_path_input,
            learn_folder_input: String::new(),
            drop_message: None,
            user_models: list_models(&models_dir()),
            user_models_seen_done: None,
            dragging: None,
            edits: EditHistory::default(),
            edits_epoch: (0, 0, 0),
            export_message: None,
            exported_phrase: None,
            drag_message: Arc::default(),
        }
    }

    fn choose_model(&mut self, path: Option<String>) {
        *self.shared.params.model_path.write() = path;
        self.shared.model_requests.fetch_add(1, Ordering::AcqRel);
        self.shared.wake();
    }

    /// The exported file of the current phrase, exporting it first if it changed.
    fn exported_path(&mut self) -> Option<String> {
        let current = self.shared.params.phrase.phrase();
        let exported = matches!(self.export_message, Some(Ok(_)));
        if current.is_none() || current != self.exported_phrase || !exported {
            self.export();
        }
        match &self.export_message {
            Some(Ok(path)) => Some(path.clone()),
            _ => None,
        }
    }

    /// Starts an operating-system drag of the exported file (X11 on Linux, OLE on Windows;
    /// elsewhere the path shown beside the button is the way to the file). The drag runs
    /// on a thread of its own and reports how it ended in `drag_message`.
    #[cfg(any(target_os = "linux", windows))]
    fn drag_out(&mut self) {
        #[cfg(windows)]
        use drag_windows as drag;
        #[cfg(target_os = "linux")]
        use drag_x11 as drag;

        let Some(path) = self.exported_path() else {
            return;
        };
        let message = self.drag_message.clone();
        *message.lock() = None;
        std::thread::spawn(move || {
            let path = std::path::Path::new(&path);
            #[cfg(windows)]
            let outcome = drag::drag_file(path);
            #[cfg(target_os = "linux")]
            let outcome = drag::drag_file(path, None);
            *message.lock() = Some(match outcome {
                Ok(drag::DragOutcome::Dropped) => "dropped".into(),
                Ok(drag::DragOutcome::NotAccepted) => {
                    "not dropped: release it over a track or a folder".into()
                }
                Err(e) => format!("drag failed ({e}); drag the file from its folder"),
            });
        });
    }

    fn export(&mut self) {
        let params = &self.shared.params;
        let phrase = params.phrase.phrase();
        self.exported_phrase = phrase.clone();
        self.export_message = Some(match phrase {
            None => Err("nothing to export yet: no phrase has been generated".into()),
            Some(p) => {
                let status = self.shared.status.lock().clone();
                let label = format!(
                    "{} {:?} {:?} seed {}",
                    status.model_name,
                    params.key.value(),
                    params.scale.value(),
                    params.seed.value()
                );
                export_phrase(&p, &label, &export_dir()).map(|path| path.display().to_string())
            }
        });
    }

    /// The roll: bar numbers above it (a click keeps or frees that bar), the notes (a drag
    /// moves a note's pitch, or from its end its length; a right click deletes it), the
    /// playhead; a click elsewhere plays from that bar (Preview).
    fn draw_roll(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        // The controls below need about 356 px; the roll takes the rest of the window.
        let size = egui::vec2(
            ui.available_width(),
            (ui.available_height() - CONTROLS_HEIGHT).max(120.0),
        );
        let (response, painter) = ui.allocate_painter(size, Sense::click_and_drag());
        let r = response.rect;
        painter.rect_filled(r, 0.0, Color32::from_rgb(24, 26, 32));
        let Some(phrase) = self.shared.params.phrase.phrase() else {
            painter.text(
                r.center(),
                egui::Align2::CENTER_CENTER,
                "generating...",
                egui::FontId::proportional(16.0),
                Color32::GRAY,
            );
            return;
        };
        let area = Rect {
            left: r.left() + 28.0,
            top: r.top() + BAR_HEADER_HEIGHT,
            right: r.right(),
            bottom: r.bottom(),
        };
        let g = RollGeometry::fit(&phrase, area);
        let kept = |bar: u32| {
            let locks = &self.shared.params.bar_locks;
            locks.get(bar as usize).is_some_and(|l| l.keep.value())
        };
        draw_bar_header(&painter, &g, r, &kept);
        draw_keyboard(&painter, &g, r, area.left);
        draw_grid(&painter, &g, r);
        draw_notes(&painter, &g, &phrase);
        self.draw_playhead(&painter, &g, r);
        self.draw_drag(ui, &painter, &g, &phrase);
        self.edit_on_roll(ui, &response, &g, &phrase, setter);
        if let Some(pos) = response.hover_pos() {
            if let Some(i) = g.hit_test(&phrase, pos.x, pos.y) {
                response.on_hover_text(note_description(&phrase, i));
            }
        }
    }

    /// While a note is dragged: where it will go, outlined.
    fn draw_drag(
        &self,
        ui: &egui::Ui,
        painter: &egui::Painter,
        g: &RollGeometry,
        phrase: &crate::phrase::Phrase,
    ) {
        let Some((i, grab, origin)) = self.dragging else {
            return;
        };
        let (Some(note), Some(now)) = (phrase.notes.get(i), ui.input(|i| i.pointer.latest_pos()))
        else {
            return;
        };
        let (pitch, length_steps) = g.dragged(note, grab, now.x - origin.x, now.y - origin.y);
        let moved = crate::phrase::Note {
            pitch,
            length_steps,
            ..*note
        };
        if let Some(nr) = g.note_rect(&moved) {
            let rect = egui::Rect::from_min_max(
                Pos2::new(nr.left, nr.top),
                Pos2::new(nr.right, nr.bottom),
            );
            painter.rect_filled(rect, 1.0, Color32::from_rgb(255, 200, 60));
        }
    }

    /// What the pointer does on the roll (see [`EditorApp::draw_roll`]).
    fn edit_on_roll(
        &mut self,
        ui: &egui::Ui,
        response: &egui::Response,
        g: &RollGeometry,
        phrase: &crate::phrase::Phrase,
        setter: &ParamSetter,
    ) {
        if response.drag_started() {
            let origin = ui.input(|i| i.pointer.press_origin());
            self.dragging = origin.and_then(|o| {
                let i = g.hit_test(phrase, o.x, o.y)?;
                Some((i, g.grab_at(&phrase.notes[i], o.x), o))
            });
        }
        if response.drag_stopped() {
            // Where the button was released (the pointer may have moved on in this frame).
            let end = ui.input(|i| {
                i.events
                    .iter()
                    .rev()
                    .find_map(|e| match e {
                        egui::Event::PointerButton {
                            pos,
                            pressed: false,
                            ..
                        } => Some(*pos),
                        _ => None,
                    })
                    .or(i.pointer.latest_pos())
            });
            if let (Some((i, grab, o)), Some(end)) = (self.dragging.take(), end) {
                if let Some(note) = phrase.notes.get(i) {
                    let (pitch, length) = g.dragged(note, grab, end.x - o.x, end.y - o.y);
                    if (pitch, length) != (note.pitch, note.length_steps) {
                        self.edit(phrase, change_note(phrase, i, pitch, length));
                    }
                }
            }
            return;
        }
        let Some(pos) = response.interact_pointer_pos() else {
            return;
        };
        if response.secondary_clicked() {
            if let Some(i) = g.hit_test(phrase, pos.x, pos.y) {
                self.edit(phrase, delete_note(phrase, i));
            }
        } else if response.clicked() {
            let Some(bar) = g.bar_at(pos.x) else { return };
            if pos.y < g.area.top {
                if let Some(lock) = self.shared.params.bar_locks.get(bar as usize) {
                    set_param(setter, &lock.keep, !lock.keep.value());
                }
            } else if g.hit_test(phrase, pos.x, pos.y).is_none()
                && !self.shared.host_playing.load(Ordering::Relaxed)
            {
                self.audition_from(bar, setter);
            }
        }
    }

    /// Plays `edited` in place of `before` (the worker publishes it at once), undoable.
    fn edit(&mut self, before: &crate::phrase::Phrase, edited: crate::phrase::Phrase) {
        self.forget_edits_of_other_phrases();
        self.edits.edited(before.clone());
        self.submit_edit(edited);
    }

    fn submit_edit(&mut self, phrase: crate::phrase::Phrase) {
        *self.shared.edited.lock() = Some(phrase);
        self.shared.wake();
        self.edits_epoch = self.epoch();
    }

    /// Undo and redo apply to the phrase they were made on: a new phrase or a move in the
    /// history starts afresh.
    fn forget_edits_of_other_phrases(&mut self) {
        if self.edits_epoch != self.epoch() {
            self.edits.clear();
            self.edits_epoch = self.epoch();
        }
    }

    /// Counts of what replaces the phrase playing other than an edit.
    fn epoch(&self) -> (u64, u64, u64) {
        (
            self.shared.generations.load(Ordering::Acquire),
            self.shared.history_requests.load(Ordering::Acquire),
            self.shared.params.phrase.restore_count(),
        )
    }

    /// Undo and Redo of the edits on the roll.
    fn undo_redo(&mut self, ui: &mut egui::Ui) {
        self.forget_edits_of_other_phrases();
        let now = self.shared.params.phrase.phrase();
        let undo = ui
            .add_enabled(self.edits.can_undo(), egui::Button::new("Undo"))
            .on_hover_text("Take back the last edit on the roll")
            .clicked();
        let redo = ui
            .add_enabled(self.edits.can_redo(), egui::Button::new("Redo"))
            .on_hover_text("Do again the edit just taken back")
            .clicked();
        let Some(now) = now else { return };
        let replaced = if undo {
            self.edits.undo(now)
        } else if redo {
            self.edits.redo(now)
        } else {
            None
        };
        if let Some(phrase) = replaced {
            self.submit_edit(phrase);
        }
    }

    /// A click on bar `bar` of the roll with the song stopped: Preview on, playing from that
    /// bar (a playing song keeps its own position: the click does nothing then).
    fn audition_from(&self, bar: u32, setter: &ParamSetter) {
        let preview = &self.shared.params.free_run;
        if !preview.value() {
            set_param(setter, preview, true);
        }
        self.shared
            .preview_from_bar
            .store(u64::from(bar) + 1, Ordering::Release);
    }

    /// The playhead line and, while the next phrase waits for its boundary (or is being
    /// generated), a notice saying when it starts.
    fn draw_playhead(&self, painter: &egui::Painter, g: &RollGeometry, r: egui::Rect) {
        let playing = self.shared.playing_id.load(Ordering::Relaxed);
        let generated = self.shared.generated_id.load(Ordering::Relaxed);
        let x = g.playhead_x(self.shared.playhead());
        painter.line_segment(
            [Pos2::new(x, r.top()), Pos2::new(x, r.bottom())],
            Stroke::new(2.0, Color32::from_rgb(255, 200, 60)),
        );
        if generated > playing && playing > 0 || self.shared.status.lock().generating {
            painter.text(
                r.right_top() + egui::vec2(-8.0, 8.0),
                egui::Align2::RIGHT_TOP,
                "next phrase ready: starts at the chosen boundary",
                egui::FontId::proportional(13.0),
                Color32::from_rgb(255, 200, 60),
            );
        }
    }

    /// Export MIDI, the drag handle (where the platform has one) and what the last export
    /// and drag did: the file's path to drag from a file manager, or the error.
    fn export_controls(&mut self, ui: &mut egui::Ui) {
        if ui.button("Export MIDI").clicked() {
            self.export();
        }
        #[cfg(any(target_os = "linux", windows))]
        {
            let handle = ui
                .add(egui::Button::new("Drag .mid").sense(Sense::drag()))
                .on_hover_text("Drag the current phrase onto a track or into a folder");
            if handle.drag_started() {
                self.drag_out();
            }
            if let Some(m) = self.drag_message.lock().clone() {
                ui.label(m);
            }
        }
        match &self.export_message {
            // Long texts are cut to the window (the whole path on hover, and copied by the
            // button): a row wider than the window would widen the roll past its edge.
            Some(Ok(path)) => {
                if ui.small_button("copy path").clicked() {
                    ui.ctx().copy_text(path.clone());
                }
                ui.add(
                    egui::Label::new(egui::RichText::new(path).monospace())
                        .truncate()
                        .selectable(true),
                )
                .on_hover_text(format!("drag this file from your file manager: {path}"));
            }
            Some(Err(e)) => {
                ui.add(
                    egui::Label::new(egui::RichText::new(e).color(Color32::LIGHT_RED)).truncate(),
                )
                .on_hover_text(e);
            }
            None => {}
        }
    }

    /// The built-in models and the user's own (their models folder) to pick from, a field
    /// to load any model file, and *Learn from folder…*.
    fn model_picker(&mut self, ui: &mut egui::Ui) {
        ui.label("Model:");
        let current = self.shared.params.model_path.read().clone();
        for (i, name) in crate::builtin::builtin_names().into_iter().enumerate() {
            // The default is stored as "no choice" so old projects keep working.
            let selected = match &current {
                None => i == 0,
                Some(c) => c == name,
            };
            if ui.selectable_label(selected, name).clicked() {
                self.model_path_input.clear();
                self.choose_model((i > 0).then(|| name.to_string()));
            }
        }
        for path in self.user_models.clone() {
            let path = path.display().to_string();
            let label = std::path::Path::new(&path)
                .file_stem()
                .map_or(path.clone(), |s| s.to_string_lossy().into_owned());
            let selected = current.as_deref() == Some(path.as_str());
            if ui
                .selectable_label(selected, label)
                .on_hover_text(&path)
                .clicked()
            {
                self.model_path_input.clear();
                self.choose_model(Some(path));
            }
        }
        ui.add(
            egui::TextEdit::singleline(&mut self.model_path_input)
                .hint_text("or a .safetensors file of your own")
                .desired_width(240.0),
        );
        if ui.button("Load").clicked() && !self.model_path_input.trim().is_empty() {
            let path = self.model_path_input.trim().to_string();
            self.choose_model(Some(path));
        }
    }

    /// Files or a folder dropped on the window: learning from them starts at once.
    fn take_dropped_files(&mut self, ui: &egui::Ui) {
        let dropped: Vec<std::path::PathBuf> = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if dropped.is_empty() {
            return;
        }
        let models = models_dir();
        match folder_for_drop(&dropped, &models.join("clips")) {
            Ok(folder) => {
                self.learn_folder_input = folder.display().to_string();
                self.drop_message = None;
                self.shared.learn_from(folder, models);
            }
            Err(why) => self.drop_message = Some(why),
        }
    }

    /// *Learn from folder…*: a folder of one's own MIDI teaches the model playing its style
    /// in the background; progress, ETA and Cancel while it runs, then what came of it.
    fn learn_row(&mut self, ui: &mut egui::Ui) {
        let learning = self.shared.learning.lock().clone();
        let view = learning.as_ref().map(|l| l.view());
        ui.label("Learn my style:");
        if ui.ctx().input(|i| !i.raw.hovered_files.is_empty()) {
            ui.colored_label(Color32::LIGHT_GREEN, "drop here to learn from these files");
            return;
        }
        if let Some(why) = &self.drop_message {
            ui.colored_label(Color32::LIGHT_RED, why);
        }
        if let Some(view) = view.as_ref().filter(|v| v.state.is_running()) {
            let eta = view.eta.map_or(String::new(), |d| {
                format!(" · about {} s left", d.as_secs())
            });
            ui.add(
                egui::ProgressBar::new(view.fraction)
                    .desired_width(220.0)
                    .text(format!("learning {:.0}%{eta}", 100.0 * view.fraction)),
            );
            if ui.button("Cancel").clicked() {
                if let Some(l) = &learning {
                    l.cancel();
                }
            }
            return;
        }
        if matches!(view.as_ref().map(|v| &v.state), Some(LearnState::Done(_)))
            && self.user_models_seen_done != learning.as_ref().map(|l| Arc::as_ptr(l) as usize)
        {
            // A new model was written: the picker lists it.
            self.user_models_seen_done = learning.as_ref().map(|l| Arc::as_ptr(l) as usize);
            self.user_models = list_models(&models_dir());
        }
        ui.add(
            egui::TextEdit::singleline(&mut self.learn_folder_input)
                .hint_text("a folder of your MIDI clips")
                .desired_width(240.0),
        )
        .on_hover_text(
            "Ten to fifty of your own MIDI files teach the model playing your style, in the \
             background while it keeps playing. Type a folder, or drop MIDI files or a \
             folder on the window. The result goes to your models folder.",
        );
        let folder = self.learn_folder_input.trim().to_string();
        if ui
            .add_enabled(!folder.is_empty(), egui::Button::new("Learn from folder"))
            .clicked()
        {
            self.shared.learn_from(folder.into(), models_dir());
        }
        match view.map(|v| v.state) {
            Some(LearnState::Done(path)) => {
                ui.label(format!("learned: {} (playing)", path.display()));
            }
            Some(LearnState::Cancelled) => {
                ui.label("cancelled; nothing was saved");
            }
            Some(LearnState::Failed(why)) => {
                ui.colored_label(Color32::LIGHT_RED, format!("could not learn: {why}"));
            }
            _ => {}
        }
    }
}

/// The keyboard strip left of the roll, one key per pitch row, black keys darker, so a
/// note's pitch reads at a glance.
fn draw_keyboard(painter: &egui::Painter, g: &RollGeometry, r: egui::Rect, roll_left: f32) {
    let keys: Vec<(u8, f32, f32)> = (g.pitch_lo..=g.pitch_hi)
        .filter_map(|pitch| g.row(pitch).map(|(top, bottom)| (pitch, top, bottom)))
        .collect();
    for &(pitch, top, bottom) in &keys {
        let black = matches!(pitch % 12, 1 | 3 | 6 | 8 | 10);
        let rect =
            egui::Rect::from_min_max(Pos2::new(r.left(), top), Pos2::new(roll_left - 2.0, bottom));
        let shade = if black { 40 } else { 200 };
        painter.rect_filled(rect, 0.0, Color32::from_gray(shade));
    }
    // Each C named (C4 is middle C) on a dark tag over the keys, so octaves read at a
    // glance; drawn after the keys, which would cover it.
    for &(pitch, top, bottom) in keys.iter().filter(|k| k.0 % 12 == 0) {
        let y = (top + bottom) / 2.0;
        let tag = egui::Rect::from_min_max(
            Pos2::new(roll_left - 18.0, y - 5.0),
            Pos2::new(roll_left - 2.0, y + 5.0),
        );
        painter.rect_filled(tag, 2.0, Color32::from_gray(30));
        painter.text(
            tag.center(),
            egui::Align2::CENTER_CENTER,
            crate::midi::summary::pitch_name(pitch),
            egui::FontId::proportional(8.0),
            Color32::from_gray(220),
        );
    }
}

/// The bar numbers above the roll, kept bars marked (a click there keeps or frees one).
fn draw_bar_header(
    painter: &egui::Painter,
    g: &RollGeometry,
    r: egui::Rect,
    kept: &dyn Fn(u32) -> bool,
) {
    let bars = g.total_steps.div_ceil(g.steps_per_bar);
    for bar in 0..bars {
        let (left, right) = (
            g.step_x(bar * g.steps_per_bar),
            g.step_x(((bar + 1) * g.steps_per_bar).min(g.total_steps)),
        );
        let cell = egui::Rect::from_min_max(
            Pos2::new(left, r.top()),
            Pos2::new(right, r.top() + BAR_HEADER_HEIGHT),
        );
        let keep = kept(bar);
        if keep {
            painter.rect_filled(cell.shrink(1.0), 2.0, Color32::from_rgb(40, 90, 140));
        }
        painter.text(
            Pos2::new(left + 4.0, cell.center().y),
            egui::Align2::LEFT_CENTER,
            if keep {
                format!("{} kept", bar + 1)
            } else {
                format!("{}", bar + 1)
            },
            egui::FontId::proportional(11.0),
            Color32::from_gray(190),
        );
    }
}

/// Bar lines (lighter) and beat lines across the whole height of the roll.
fn draw_grid(painter: &egui::Painter, g: &RollGeometry, r: egui::Rect) {
    for (x, bar) in g.grid_lines() {
        let color = if bar {
            Color32::from_gray(110)
        } else {
            Color32::from_gray(55)
        };
        painter.line_segment(
            [Pos2::new(x, r.top()), Pos2::new(x, r.bottom())],
            Stroke::new(1.0, color),
        );
    }
}

/// The notes, inset by a pixel so neighbours stay apart, brighter the louder they are.
fn draw_notes(painter: &egui::Painter, g: &RollGeometry, phrase: &crate::phrase::Phrase) {
    for n in &phrase.notes {
        if let Some(nr) = g.note_rect(n) {
            let rect = egui::Rect::from_min_max(
                Pos2::new(nr.left + 1.0, nr.top + 1.0),
                Pos2::new(nr.right - 1.0, nr.bottom - 1.0),
            );
            let shade = 120 + (u16::from(n.velocity) * 135 / 127) as u8;
            painter.rect_filled(rect, 2.0, Color32::from_rgb(70, shade, 230));
        }
    }
}

/// The tooltip of the note under the pointer: its name, place and length.
fn note_description(phrase: &crate::phrase::Phrase, i: usize) -> String {
    let n = phrase.notes[i];
    format!(
        "{} (MIDI {}), bar {} step {}, {} steps, velocity {}",
        crate::midi::summary::pitch_name(n.pitch),
        n.pitch,
        n.start_step / phrase.steps_per_bar() + 1,
        n.start_step % phrase.steps_per_bar() + 1,
        n.length_steps,
        n.velocity
    )
}

/// Sets a parameter as one gesture (begin, set, end), as a host expects from a click.
fn set_param<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

/// A parameter's name above its slider.
fn labelled_slider<P: Param>(
    ui: &mut egui::Ui,
    (label, tip): (&str, &str),
    param: &P,
    setter: &ParamSetter,
) {
    ui.label(label).on_hover_text(tip);
    ui.add(ParamSlider::for_param(param, setter))
        .on_hover_text(tip);
}

/// The phrase history: back, next, a star, A/B between this phrase and the one before, and
/// where in the history the phrase playing is (its settings on hover). A move brings the
/// phrase back to play, as a new phrase would take over.
fn history_controls(ui: &mut egui::Ui, shared: &Shared) {
    let mut history = shared.params.history.write();
    let len = history.entries.len();
    let at = history.position.map_or(0, |p| p + 1);
    ui.label("History");
    let mut moved = false;
    if ui
        .add_enabled(at > 1, egui::Button::new("Back"))
        .on_hover_text("Play the phrase before this one")
        .clicked()
    {
        moved |= history.back().is_some();
    }
    if ui
        .add_enabled(at < len, egui::Button::new("Next"))
        .on_hover_text("Play the phrase after this one")
        .clicked()
    {
        moved |= history.forward().is_some();
    }
    let starred = history.current().is_some_and(|e| e.starred);
    if ui
        .add_enabled(len > 0, egui::Button::selectable(starred, "Star"))
        .on_hover_text("A starred phrase stays in the history (the newest 50 others do)")
        .clicked()
    {
        history.toggle_star();
    }
    if ui
        .add_enabled(history.other.is_some(), egui::Button::new("A/B"))
        .on_hover_text("Switch between this phrase and the one you played before it")
        .clicked()
    {
        moved |= history.swap_ab().is_some();
    }
    let label = history
        .current()
        .map_or("nothing generated yet".into(), |e| e.label.clone());
    drop(history);
    ui.label(format!("{at}/{len}")).on_hover_text(label);
    if moved {
        shared.history_requests.fetch_add(1, Ordering::AcqRel);
        shared.wake();
    }
}

/// The mode first: one button per mode, the current one lit.
fn mode_buttons(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
    use super::params::PlayMode;
    ui.label("Mode");
    for (mode, label, tip) in [
        (
            PlayMode::Generate,
            "Phrases",
            "PhraseGen plays phrases of its own (Generate mode)",
        ),
        (
            PlayMode::Harmonize,
            "Harmonize",
            "The key you play is the melody: voices start under it with each key and end \
             when you let go (a model of several voices, e.g. bach-chorales)",
        ),
        (
            PlayMode::Accompany,
            "Accompany",
            "Hold chords: the model plays a line over them in time with the song, chord \
             tones on strong beats, and stops when you let go (e.g. fiddle-tunes)",
        ),
        (
            PlayMode::Answer,
            "Answer",
            "Play a phrase and rest: PhraseGen answers with a phrase as long, continuing \
             yours, from the next bar; it stops when you play again",
        ),
    ] {
        if ui
            .selectable_label(p.mode.value() == mode, label)
            .on_hover_text(tip)
            .clicked()
        {
            set_param(setter, &p.mode, mode);
        }
    }
    if p.mode.value() == PlayMode::Answer {
        ui.separator();
        ui.label("Answer after");
        ui.add(ParamSlider::for_param(&p.answer_after, setter));
    }
}

/// Generate (flips the regenerate parameter, so hosts can automate it) and Lock.
/// **Preview**: the phrase plays with the host stopped, at the free-run tempo (the *Play
/// when stopped* parameter, here where a producer looks for it); a click on a bar of the
/// roll plays from there.
fn preview_button(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
    let mut on = p.free_run.value();
    if ui
        .toggle_value(&mut on, "Preview")
        .on_hover_text(
            "Hear the phrase with the song stopped, at the free-run tempo. Click a bar on \
             the roll to play from there.",
        )
        .changed()
    {
        set_param(setter, &p.free_run, on);
    }
}

fn phrase_buttons(ui: &mut egui::Ui, shared: &Shared, setter: &ParamSetter) {
    let p = &shared.params;
    if ui.button("Generate").clicked() {
        set_param(setter, &p.regenerate, !p.regenerate.value());
        shared.wake();
    }
    let mut locked = p.lock.value();
    if ui.toggle_value(&mut locked, "Lock").changed() {
        set_param(setter, &p.lock, locked);
    }
}

/// Every other parameter in three columns: what is generated, its pitches and form, and
/// how it is played.
fn parameter_columns(cols: &mut [egui::Ui], p: &PhraseGenParams, setter: &ParamSetter) {
    let c = |label, tip| (label, tip);
    labelled_slider(&mut cols[0], c("Creativity", "How adventurous the phrase is: low plays the model's safest, most likely continuation; high takes risks (the sampling temperature)"), &p.temperature, setter);
    labelled_slider(
        &mut cols[0],
        c("Bars", "How long the phrase is"),
        &p.bars,
        setter,
    );
    labelled_slider(
        &mut cols[0],
        c(
            "Shortest note",
            "The shortest note it may write: the grid it plays on",
        ),
        &p.note_length,
        setter,
    );
    labelled_slider(
        &mut cols[0],
        c(
            "Max voices",
            "At most this many notes at once (1: a single line)",
        ),
        &p.polyphony,
        setter,
    );
    labelled_slider(
        &mut cols[0],
        c(
            "Seed",
            "The dice: the same seed and settings give the same phrase",
        ),
        &p.seed,
        setter,
    );
    labelled_slider(&mut cols[0], c("Candidates", "Draw this many phrases together and keep the one the model finds most likely: less wandering, a few ms more"), &p.candidates, setter);
    labelled_slider(&mut cols[1], c("Key", "The key it plays in (bach-chorales plays in it; other models keep to its notes with the Scale)"), &p.key, setter);
    labelled_slider(&mut cols[1], c("Scale", "Which notes of the key it may play (Chromatic: every note); major or minor also asks for that mode"), &p.scale, setter);
    labelled_slider(
        &mut cols[1],
        c("Lowest note", "No note below this"),
        &p.low_note,
        setter,
    );
    labelled_slider(
        &mut cols[1],
        c("Highest note", "No note above this"),
        &p.high_note,
        setter,
    );
    labelled_slider(&mut cols[1], c("Form", "Which bars come back: AA'BA (the last A' with a new ending), AABA, ABAB, AAAB, or free"), &p.form, setter);
    labelled_slider(
        &mut cols[1],
        c(
            "New phrase starts",
            "When a new phrase takes over: at once, at the next bar, or when this one ends",
        ),
        &p.swap,
        setter,
    );
    labelled_slider(
        &mut cols[2],
        c("Velocity", "How hard the notes are played"),
        &p.velocity,
        setter,
    );
    labelled_slider(
        &mut cols[2],
        c(
            "Humanize",
            "Varies how hard each note is played, a little, as a player would",
        ),
        &p.humanize,
        setter,
    );
    labelled_slider(
        &mut cols[2],
        c("MIDI channel", "The channel its notes go out on"),
        &p.channel,
        setter,
    );
    labelled_slider(
        &mut cols[2],
        c("Free-run tempo", "The tempo of Preview (Play when stopped)"),
        &p.tempo,
        setter,
    );
    for (label, param, tip) in [
        (
            "Play when stopped",
            &p.free_run,
            "Play the phrase with the song stopped, at the free-run tempo (the Preview button)",
        ),
        (
            "Record primer",
            &p.record,
            "What you play while this is on becomes the start of the next phrase",
        ),
        (
            "MIDI thru",
            &p.midi_thru,
            "Your keys go through to the instrument too",
        ),
        (
            "Strict voice leading",
            &p.strict_voice_leading,
            "No two voices move in parallel fifths or octaves, as in Bach's chorales",
        ),
    ] {
        let mut on = param.value();
        if cols[2]
            .checkbox(&mut on, label)
            .on_hover_text(tip)
            .changed()
        {
            set_param(setter, param, on);
        }
    }
}

/// One toggle per bar of the phrase: a kept bar survives the next Generate.
fn bar_lock_toggles(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
    ui.label("Keep bars:");
    let bars = p.bars.value().count() as usize;
    for (i, lock) in p.bar_locks.iter().take(bars).enumerate() {
        let mut keep = lock.keep.value();
        if ui.toggle_value(&mut keep, format!("{}", i + 1)).changed() {
            set_param(setter, &lock.keep, keep);
        }
    }
}

/// The model, the last generation's time and size, and any error in red.
fn status_line(ui: &mut egui::Ui, shared: &Shared) {
    let status = shared.status.lock().clone();
    let p = &shared.params;
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} · {:?} {:?} · {} bars · {} notes · made in {:.0} ms",
            status.model_name,
            p.key.value(),
            p.scale.value(),
            status.bars,
            status.notes,
            status.last_generation_ms
        ));
        // Cut to the window (whole on hover): a long message must not widen the layout.
        for e in [
            status.model_error,
            status.restore_error,
            status.error,
            status.live_error,
        ]
        .into_iter()
        .flatten()
        {
            ui.add(egui::Label::new(egui::RichText::new(&e).color(Color32::LIGHT_RED)).truncate())
                .on_hover_text(e);
        }
    });
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        _ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), baseview::HandlerError> {
        self.gui = Some(gui);
        Ok(())
    }

    fn resized(&mut self, new_size: WindowSize) {
        let logical = new_size.logical;
        *self.shared.params.editor_size.write() =
            (logical.width.round() as u32, logical.height.round() as u32);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        let Some(gui) = self.gui.clone() else { return };
        let setter = gui.param_setter();
        let shared = self.shared.clone();
        let p = &shared.params;
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(33));
        ui.horizontal(|ui| {
            mode_buttons(ui, p, &setter);
            ui.separator();
            history_controls(ui, &shared);
            ui.separator();
            preview_button(ui, p, &setter);
            ui.separator();
            self.undo_redo(ui);
        });
        ui.horizontal(|ui| {
            ui.heading("PhraseGen");
            phrase_buttons(ui, &shared, &setter);
            self.export_controls(ui);
        });
        self.draw_roll(ui, &setter);
        ui.columns(3, |cols| parameter_columns(cols, p, &setter));
        ui.horizontal(|ui| bar_lock_toggles(ui, p, &setter));
        ui.horizontal(|ui| self.model_picker(ui));
        self.take_dropped_files(ui);
        ui.horizontal(|ui| self.learn_row(ui));
        status_line(ui, &shared);
    }
}
