//! The plugin window (egui): the mode, the history, Preview and Export on top; the phrase
//! as a piano roll to edit (with a playhead); the controls grouped by what the producer is
//! deciding ([`controls`]); the model file and *Learn my style*; a status line. Keyboard
//! shortcuts ([`shortcuts`]) and a scale that follows the window's size ([`scale`]).
//!
//! Drawing goes through [`roll_view`] for all geometry, which is tested without a window.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use egui::{Color32, Pos2, Sense, Stroke};
use nice_plug::context::gui::{GuiContext, ParamSetter};
use nice_plug_egui::baseview::{self, WindowSize};
use nice_plug_egui::{Frame, KeyCapture, NiceEguiApp};

use crate::plugin::export::{export_dir, export_phrase};
use crate::plugin::learn::{folder_for_drop, LearnState};
use crate::plugin::user_models::{list_models, models_dir};
use crate::plugin::worker::Shared;

pub mod controls;
#[cfg(windows)]
pub mod drag_windows;
#[cfg(target_os = "linux")]
pub mod drag_x11;
pub mod roll_paint;
pub mod roll_view;
pub mod scale;
pub mod shortcuts;
pub mod window;

pub use window::PhraseGenEditor;

use crate::phrase::{Note, Phrase};
use crate::phrase_edit::{
    change_note, delete_muted_note, delete_note, mute_note, unmute_note, EditHistory,
};
use controls::set_param;
use roll_paint::BAR_HEADER_HEIGHT;
use roll_view::{Grab, Rect, RollGeometry};
use shortcuts::Shortcut;

/// The roll is never shorter than this (at scale 1), however small the window.
const MIN_ROLL_HEIGHT: f32 = 120.0;

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
    exported_phrase: Option<Phrase>,
    /// How the last drag of the file out of the window ended (set by the drag's thread).
    drag_message: Arc<parking_lot::Mutex<Option<String>>>,
    /// egui's own style, which [`scale::scaled_style`] scales, and the scale last applied.
    base_style: Option<egui::Style>,
    scale: f32,
    /// Height the controls below the roll took in the last frame (the roll takes the rest).
    controls_height: f32,
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
            base_style: None,
            scale: 1.0,
            controls_height: 300.0,
        }
    }

    /// The exported file of the current phrase, exporting it first if it changed.
    fn exported_path(&mut self) -> Option<String> {
        let current = self.shared.params.phrase.phrase();
        let exported = matches!(self.export_message, Some(Ok(_)));
        if current.is_none() || current != self.exported_phrase || !exported {
            self.export();
        }
        self.export_message.clone()?.ok()
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

    /// The roll: bar numbers above it (a click keeps or frees that bar), the notes (a click
    /// mutes a note or brings a muted one back, a right click deletes it, a drag moves its
    /// pitch or from its end its length), the playhead; a click elsewhere plays from that
    /// bar (Preview). The name of the pitch under the pointer is lit on the keyboard.
    fn draw_roll(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        // The controls below took `controls_height` last frame; the roll takes the rest.
        let size = egui::vec2(
            ui.available_width(),
            (ui.available_height() - self.controls_height).max(MIN_ROLL_HEIGHT * self.scale),
        );
        let (response, painter) = ui.allocate_painter(size, Sense::click_and_drag());
        let r = response.rect;
        painter.rect_filled(r, 0.0, Color32::from_rgb(24, 26, 32));
        let Some(phrase) = self.shared.params.phrase.phrase() else {
            painter.text(
                r.center(),
                egui::Align2::CENTER_CENTER,
                "generating...",
                egui::FontId::proportional(16.0 * self.scale),
                Color32::GRAY,
            );
            return;
        };
        let area = Rect {
            left: r.left() + 28.0 * self.scale,
            top: r.top() + BAR_HEADER_HEIGHT * self.scale,
            right: r.right(),
            bottom: r.bottom(),
        };
        let g = RollGeometry::fit(&phrase, area);
        let kept = |bar: u32| {
            let locks = &self.shared.params.bar_locks;
            locks.get(bar as usize).is_some_and(|l| l.keep.value())
        };
        let hover = response.hover_pos();
        roll_paint::bar_header(&painter, &g, r, self.scale, &kept);
        let hovered_pitch = hover
            .filter(|p| p.x >= area.left)
            .and_then(|p| g.pitch_at(p.y));
        roll_paint::keyboard(&painter, &g, r, self.scale, hovered_pitch);
        roll_paint::grid(&painter, &g, r);
        roll_paint::notes(&painter, &g, &phrase);
        self.draw_playhead(&painter, &g, r);
        self.draw_drag(ui, &painter, &g, &phrase);
        self.edit_on_roll(ui, &response, &g, &phrase, setter);
        if let Some(pos) = hover {
            let under = [(&phrase.notes, false), (&phrase.muted, true)]
                .into_iter()
                .find_map(|(notes, muted)| Some((notes[g.hit_test(notes, pos.x, pos.y)?], muted)));
            if let Some((note, muted)) = under {
                response.on_hover_text(roll_paint::note_description(&phrase, &note, muted));
            }
        }
    }

    /// While a note is dragged: where it will go, outlined.
    fn draw_drag(&self, ui: &egui::Ui, painter: &egui::Painter, g: &RollGeometry, phrase: &Phrase) {
        let Some((i, grab, origin)) = self.dragging else {
            return;
        };
        let (Some(note), Some(now)) = (phrase.notes.get(i), ui.input(|i| i.pointer.latest_pos()))
        else {
            return;
        };
        let (pitch, length_steps) = g.dragged(note, grab, now.x - origin.x, now.y - origin.y);
        let moved = Note {
            pitch,
            length_steps,
            ..*note
        };
        if let Some(nr) = g.note_rect(&moved) {
            painter.rect_filled(nr.into(), 1.0, Color32::from_rgb(255, 200, 60));
        }
    }

    /// What the pointer does on the roll (see [`EditorApp::draw_roll`]).
    fn edit_on_roll(
        &mut self,
        ui: &egui::Ui,
        response: &egui::Response,
        g: &RollGeometry,
        phrase: &Phrase,
        setter: &ParamSetter,
    ) {
        if response.drag_started() {
            let origin = ui.input(|i| i.pointer.press_origin());
            self.dragging = origin.and_then(|o| {
                let i = g.hit_test(&phrase.notes, o.x, o.y)?;
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
        let playing = g.hit_test(&phrase.notes, pos.x, pos.y);
        let muted = g.hit_test(&phrase.muted, pos.x, pos.y);
        if response.secondary_clicked() {
            if let Some(i) = playing {
                self.edit(phrase, delete_note(phrase, i));
            } else if let Some(i) = muted {
                self.edit(phrase, delete_muted_note(phrase, i));
            }
        } else if response.clicked() {
            if let Some(i) = playing {
                self.edit(phrase, mute_note(phrase, i));
            } else if let Some(i) = muted {
                self.edit(phrase, unmute_note(phrase, i));
            } else if let Some(bar) = g.bar_at(pos.x) {
                if pos.y < g.area.top {
                    if let Some(lock) = self.shared.params.bar_locks.get(bar as usize) {
                        set_param(setter, &lock.keep, !lock.keep.value());
                    }
                } else if !self.shared.host_playing.load(Ordering::Relaxed) {
                    self.audition_from(bar, setter);
                }
            }
        }
    }

    /// Plays `edited` in place of `before` (the worker publishes it at once), undoable.
    fn edit(&mut self, before: &Phrase, edited: Phrase) {
        self.forget_edits_of_other_phrases();
        self.edits.edited(before.clone());
        self.submit_edit(edited);
    }

    fn submit_edit(&mut self, phrase: Phrase) {
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
        let (can_undo, can_redo) = (self.edits.can_undo(), self.edits.can_redo());
        let undo_tip = "Take back the last edit on the roll";
        if controls::shortcut_button(ui, can_undo, "Undo", undo_tip, Shortcut::Undo) {
            self.undo_or_redo(true);
        }
        let redo_tip = "Do again the edit just taken back";
        if controls::shortcut_button(ui, can_redo, "Redo", redo_tip, Shortcut::Redo) {
            self.undo_or_redo(false);
        }
    }

    fn undo_or_redo(&mut self, undo: bool) {
        self.forget_edits_of_other_phrases();
        let Some(now) = self.shared.params.phrase.phrase() else {
            return;
        };
        let replaced = if undo {
            self.edits.undo(now)
        } else {
            self.edits.redo(now)
        };
        if let Some(phrase) = replaced {
            self.submit_edit(phrase);
        }
    }

    /// The keyboard shortcuts pressed in this frame (none while a text field is typed in).
    fn shortcuts(&mut self, ui: &egui::Ui, setter: &ParamSetter) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let shared = self.shared.clone();
        for action in ui.input(shortcuts::pressed) {
            match action {
                Shortcut::Generate => controls::generate(&shared, setter),
                Shortcut::Back => controls::move_in_history(&shared, |h| h.back().is_some()),
                Shortcut::Next => controls::move_in_history(&shared, |h| h.forward().is_some()),
                Shortcut::Preview => controls::toggle_preview(&shared.params, setter),
                Shortcut::Star => shared.params.history.write().toggle_star(),
                Shortcut::Undo => self.undo_or_redo(true),
                Shortcut::Redo => self.undo_or_redo(false),
            }
        }
    }

    /// Text and controls scaled to the window (see [`scale`]), set again when it changes.
    fn apply_scale(&mut self, ctx: &egui::Context) {
        let base = self
            .base_style
            .get_or_insert_with(|| (*ctx.global_style()).clone());
        let size = ctx.content_rect().size();
        let scale = scale::ui_scale(size.x, size.y);
        if scale != self.scale {
            let scaled = scale::scaled_style(base, scale);
            ctx.all_styles_mut(|style| *style = scaled.clone());
            self.scale = scale;
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
                egui::FontId::proportional(13.0 * self.scale),
                Color32::from_rgb(255, 200, 60),
            );
        }
    }

    /// Export MIDI, the drag handle (where the platform has one) and what the last export
    /// and drag did: the file's path to drag from a file manager, or the error.
    fn export_controls(&mut self, ui: &mut egui::Ui) {
        if ui
            .button("Export MIDI")
            .on_hover_text("Write the phrase playing (with your edits) to a .mid file")
            .clicked()
        {
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
                if ui
                    .small_button("copy path")
                    .on_hover_text("Copy the exported file's path, to paste into a file dialog")
                    .clicked()
                {
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

    /// The built-in models and the user's own (their models folder) to pick from.
    fn model_choice(&mut self, ui: &mut egui::Ui) {
        let current = self.shared.params.model_path.read().clone();
        let builtins = crate::builtin::builtin_names();
        let user: Vec<(String, String)> = self
            .user_models
            .iter()
            .map(|path| {
                let path = path.display().to_string();
                (file_label(&path), path)
            })
            .collect();
        // The default is stored as "no choice" so old projects keep working.
        let shown = match &current {
            None => builtins[0].to_string(),
            Some(c) => user
                .iter()
                .find(|(_, path)| path == c)
                .map_or_else(|| file_label(c), |(label, _)| label.clone()),
        };
        let mut chosen = None;
        egui::ComboBox::from_id_salt("model")
            .selected_text(shown)
            .width(ui.available_width().max(60.0))
            .show_ui(ui, |ui| {
                for (i, name) in builtins.iter().enumerate() {
                    let selected = current.as_deref().map_or(i == 0, |c| c == *name);
                    if ui.selectable_label(selected, *name).clicked() {
                        chosen = Some((i > 0).then(|| name.to_string()));
                    }
                }
                for (label, path) in &user {
                    let selected = current.as_deref() == Some(path.as_str());
                    if ui
                        .selectable_label(selected, label)
                        .on_hover_text(path)
                        .clicked()
                    {
                        chosen = Some(Some(path.clone()));
                    }
                }
            });
        if let Some(choice) = chosen {
            self.model_path_input.clear();
            self.shared.choose_model(choice);
        }
    }

    /// A field to load any model file by its path.
    fn model_file_row(&mut self, ui: &mut egui::Ui) {
        let tip = "A model you trained (phrasegen train) or were given: type its .safetensors \
                   path and Load; it is loaded again when the project opens";
        ui.label("Model file").on_hover_text(tip);
        ui.add(
            egui::TextEdit::singleline(&mut self.model_path_input)
                .hint_text("or a .safetensors file of your own")
                .desired_width(240.0 * self.scale),
        )
        .on_hover_text(tip);
        if ui.button("Load").on_hover_text(tip).clicked()
            && !self.model_path_input.trim().is_empty()
        {
            let path = self.model_path_input.trim().to_string();
            self.shared.choose_model(Some(path));
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
                    .desired_width(220.0 * self.scale)
                    .text(format!("learning {:.0}%{eta}", 100.0 * view.fraction)),
            );
            if ui
                .button("Cancel")
                .on_hover_text("Stop learning; nothing is saved")
                .clicked()
            {
                if let Some(l) = &learning {
                    l.cancel();
                }
            }
            return;
        }
        let run = learning.as_ref().map(|l| Arc::as_ptr(l) as usize);
        let done = matches!(view.as_ref().map(|v| &v.state), Some(LearnState::Done(_)));
        if done && self.user_models_seen_done != run {
            // A new model was written: the picker lists it.
            self.user_models_seen_done = run;
            self.user_models = list_models(&models_dir());
        }
        ui.add(
            egui::TextEdit::singleline(&mut self.learn_folder_input)
                .hint_text("a folder of your MIDI clips")
                .desired_width(240.0 * self.scale),
        )
        .on_hover_text(
            "Ten to fifty of your own MIDI files teach the model playing your style, in the \
             background while it keeps playing. Type a folder, or drop MIDI files or a \
             folder on the window. The result goes to your models folder.",
        );
        let folder = self.learn_folder_input.trim().to_string();
        if ui
            .add_enabled(!folder.is_empty(), egui::Button::new("Learn from folder"))
            .on_hover_text(
                "Teach the model playing the style of the MIDI files in this folder; it keeps \
                 playing meanwhile",
            )
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

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        _ctx: egui::Context,
        gui: GuiContext,
        frame: &mut Frame,
    ) -> Result<(), baseview::HandlerError> {
        self.gui = Some(gui);
        // A new window has egui's own style: scale it afresh.
        self.base_style = None;
        self.scale = 1.0;
        frame.set_key_capture(KeyCapture::CaptureKeys(shortcuts::captured_keys()));
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
        self.apply_scale(ui.ctx());
        self.shortcuts(ui, &setter);
        ui.horizontal(|ui| {
            ui.heading("PhraseGen");
            controls::mode_buttons(ui, p, &setter);
            ui.separator();
            controls::history_controls(ui, &shared);
            ui.separator();
            controls::preview_button(ui, p, &setter);
        });
        ui.horizontal(|ui| {
            self.undo_redo(ui);
            ui.separator();
            self.export_controls(ui);
        });
        self.draw_roll(ui, &setter);
        let below_roll = ui.cursor().top();
        // Four groups in three columns: Rhythm is short and sits above Phrase.
        ui.columns(3, |cols| {
            controls::music_group(&mut cols[0], p, &setter, |ui| self.model_choice(ui));
            controls::rhythm_group(&mut cols[1], p, &setter);
            controls::phrase_group(&mut cols[1], &shared, &setter);
            controls::performance_group(&mut cols[2], p, &setter);
        });
        ui.horizontal(|ui| {
            self.model_file_row(ui);
            ui.separator();
            self.learn_row(ui);
        });
        self.take_dropped_files(ui);
        controls::status_line(ui, &shared);
        self.controls_height = ui.cursor().top() - below_roll;
    }
}

/// A model file's name without its folder and extension.
fn file_label(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map_or(path.to_string(), |s| s.to_string_lossy().into_owned())
}
