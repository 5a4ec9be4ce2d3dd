//! The controls around the roll, grouped by what the producer is deciding: *Music* (what it
//! plays), *Rhythm* (how long and on which grid), *Performance* (how it reaches the
//! instrument) and *Phrase* (when a new one comes), plus the mode, the history, Preview and
//! the status line. Every control says in its tooltip what it does, in a musician's words.

use std::sync::atomic::Ordering;

use egui::Color32;
use nice_plug::context::gui::ParamSetter;
use nice_plug::params::{BoolParam, Param};
use nice_plug_egui::widgets::ParamSlider;

use super::shortcuts::{tip_with_key, Shortcut};
use crate::plugin::history::PhraseHistory;
use crate::plugin::params::{PhraseGenParams, PlayMode};
use crate::plugin::worker::Shared;

/// Sets a parameter as one gesture (begin, set, end), as a host expects from a click.
pub fn set_param<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

/// `widget` showing whether `param` is on (a button lit while it is, a check box); a click
/// on it flips `param` (one gesture).
fn flip(
    setter: &ParamSetter,
    param: &BoolParam,
    widget: impl FnOnce(&mut bool) -> egui::Response,
) -> egui::Response {
    let mut on = param.value();
    let response = widget(&mut on);
    if response.changed() {
        set_param(setter, param, on);
    }
    response
}

/// The rows of one group: a parameter's name in a column of its own, then its slider with
/// the value beside it, sized from the width the group has.
pub struct Rows<'a, 'b> {
    ui: &'a mut egui::Ui,
    setter: &'a ParamSetter<'b>,
    label_width: f32,
    slider_width: f32,
}

impl<'a, 'b> Rows<'a, 'b> {
    /// Draws `rows` headed `name` in `ui` (a column of the window, or part of one).
    pub fn group(
        ui: &mut egui::Ui,
        name: &str,
        setter: &ParamSetter<'b>,
        rows: impl FnOnce(&mut Rows<'_, 'b>),
    ) {
        ui.label(
            egui::RichText::new(name)
                .strong()
                .color(Color32::from_gray(230)),
        );
        let width = ui.available_width();
        let spacing = &mut ui.spacing_mut().item_spacing.y;
        *spacing = (*spacing * 0.6).round();
        rows(&mut Rows {
            ui,
            setter,
            label_width: (width * 0.36).round(),
            slider_width: (width * 0.32).round().max(30.0),
        });
        ui.add_space((ui.spacing().item_spacing.y * 3.0).round());
    }

    /// The name column of a row, then `add` in what is left of it (a slider, or other
    /// widgets: the model choice, the bar toggles).
    pub fn row(&mut self, label: &str, tip: &str, add: impl FnOnce(&mut egui::Ui)) {
        let height = self.ui.spacing().interact_size.y;
        let label_width = self.label_width;
        self.ui.horizontal(|ui| {
            ui.allocate_ui_with_layout(
                egui::vec2(label_width, height),
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_min_width(label_width);
                    ui.add(egui::Label::new(label).truncate())
                        .on_hover_text(tip);
                },
            );
            add(ui);
        });
    }

    pub fn slider<P: Param>(&mut self, label: &str, tip: &str, param: &P) {
        let (setter, width) = (self.setter, self.slider_width);
        self.row(label, tip, |ui| {
            ui.add(ParamSlider::for_param(param, setter).with_width(width))
                .on_hover_text(tip);
        });
    }

    pub fn checkbox(&mut self, label: &str, tip: &str, param: &BoolParam) {
        flip(self.setter, param, |on| {
            self.ui.checkbox(on, label).on_hover_text(tip)
        });
    }
}

/// *Music*: what it plays (the model's choice is drawn by `model_choice`).
pub fn music_group(
    ui: &mut egui::Ui,
    p: &PhraseGenParams,
    setter: &ParamSetter,
    model_choice: impl FnOnce(&mut egui::Ui),
) {
    Rows::group(ui, "Music", setter, |rows| {
        rows.row(
            "Model",
            "Whose music it has learned: the built-in models, and the ones you taught it",
            model_choice,
        );
        rows.slider("Creativity", "How adventurous the phrase is: low plays the model's safest, most likely continuation; high takes risks (the sampling temperature)", &p.temperature);
        rows.slider("Key", "The key it plays in (bach-chorales plays in it; other models keep to its notes with the Scale)", &p.key);
        rows.slider("Scale", "Which notes of the key it may play (Chromatic: every note); major or minor also asks for that mode", &p.scale);
        rows.slider(
            "Form",
            "Which bars come back: AA'BA (the last A' with a new ending), AABA, ABAB, AAAB, or free",
            &p.form,
        );
        rows.slider(
            "Voices",
            "At most this many notes at once (1: a single line)",
            &p.polyphony,
        );
        rows.checkbox(
            "Repeats",
            "With Form free: the model repeats an earlier bar where it finds the repeat fits, as tunes do (off: every bar new)",
            &p.repeats,
        );
        rows.slider("Candidates", "Draw this many phrases together and keep the one the model finds most likely: less wandering, a few ms more", &p.candidates);
        rows.checkbox(
            "Strict voice leading",
            "No two voices move in parallel fifths or octaves, as in Bach's chorales",
            &p.strict_voice_leading,
        );
    });
}

/// *Rhythm*: how long the phrase is, its grid, and how evenly it is played.
pub fn rhythm_group(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
    Rows::group(ui, "Rhythm", setter, |rows| {
        rows.slider("Bars", "How long the phrase is", &p.bars);
        rows.slider(
            "Shortest note",
            "The shortest note it may write: the grid it plays on",
            &p.note_length,
        );
        rows.slider(
            "Humanize",
            "Varies how hard each note is played, a little, as a player would",
            &p.humanize,
        );
    });
}

/// *Performance*: how the notes reach the instrument.
pub fn performance_group(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
    Rows::group(ui, "Performance", setter, |rows| {
        rows.slider("Velocity", "How hard the notes are played", &p.velocity);
        rows.slider(
            "Channel",
            "The MIDI channel its notes go out on",
            &p.channel,
        );
        rows.slider("Lowest note", "No note below this", &p.low_note);
        rows.slider("Highest note", "No note above this", &p.high_note);
        rows.slider(
            "Preview tempo",
            "The tempo it plays at with the song stopped (Preview)",
            &p.tempo,
        );
        rows.checkbox(
            "MIDI thru",
            "Your keys go through to the instrument too",
            &p.midi_thru,
        );
    });
}

/// *Phrase*: a new phrase now, keeping this one, when a new one takes over, the dice, and
/// which bars a new one keeps.
pub fn phrase_group(ui: &mut egui::Ui, shared: &Shared, setter: &ParamSetter) {
    let p = &shared.params;
    Rows::group(ui, "Phrase", setter, |rows| {
        // The Generate button and Lock on a row of their own, without a name.
        rows.ui.horizontal(|ui| {
            if ui
                .button(egui::RichText::new("Generate").strong())
                .on_hover_text(tip_with_key(
                    "Make a new phrase with these settings (a host can automate it too)",
                    Shortcut::Generate,
                ))
                .clicked()
            {
                generate(shared, setter);
            }
            flip(setter, &p.lock, |on| ui.toggle_value(on, "Lock"))
                .on_hover_text("Keep this phrase: turning knobs makes no new one");
        });
        rows.slider(
            "New phrase starts",
            "When a new phrase takes over: at once, at the next bar, or when this one ends",
            &p.swap,
        );
        rows.slider(
            "Seed",
            "The dice: the same seed and settings give the same phrase",
            &p.seed,
        );
        rows.checkbox(
            "Record primer",
            "What you play while this is on becomes the start of the next phrase",
            &p.record,
        );
        rows.row(
            "Keep bars",
            "A kept bar survives the next Generate (or click its number above the roll)",
            |ui| bar_lock_toggles(ui, p, setter),
        );
    });
}

/// Generate: flips the regenerate parameter (so hosts can automate it) and wakes the worker.
pub fn generate(shared: &Shared, setter: &ParamSetter) {
    let p = &shared.params;
    set_param(setter, &p.regenerate, !p.regenerate.value());
    shared.wake();
}

/// One toggle per bar of the phrase: a kept bar survives the next Generate.
fn bar_lock_toggles(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
    ui.spacing_mut().item_spacing.x *= 0.5;
    let bars = p.bars.value().count() as usize;
    for (i, lock) in p.bar_locks.iter().take(bars).enumerate() {
        flip(setter, &lock.keep, |on| {
            ui.toggle_value(on, format!("{}", i + 1))
        });
    }
}

/// A button saying its shortcut in its tooltip (`tip`); whether it was clicked.
pub fn shortcut_button(
    ui: &mut egui::Ui,
    enabled: bool,
    text: &str,
    tip: &str,
    key: Shortcut,
) -> bool {
    ui.add_enabled(enabled, egui::Button::new(text))
        .on_hover_text(tip_with_key(tip, key))
        .clicked()
}

/// A move in the history (back, next, A/B): the phrase it lands on plays, as a new phrase
/// would take over. Nothing happens where there is nowhere to go.
pub fn move_in_history(shared: &Shared, step: impl FnOnce(&mut PhraseHistory) -> bool) {
    let moved = step(&mut shared.params.history.write());
    if moved {
        shared.history_requests.fetch_add(1, Ordering::AcqRel);
        shared.wake();
    }
}

/// The phrase history: back, next, a star, A/B between this phrase and the one before, and
/// where in the history the phrase playing is (its settings on hover).
pub fn history_controls(ui: &mut egui::Ui, shared: &Shared) {
    let history = shared.params.history.read();
    let len = history.entries.len();
    let at = history.position.map_or(0, |p| p + 1);
    let starred = history.current().is_some_and(|e| e.starred);
    let has_other = history.other.is_some();
    let label = history
        .current()
        .map_or("nothing generated yet".into(), |e| e.label.clone());
    drop(history);
    ui.label("History");
    let back_tip = "Play the phrase before this one";
    if shortcut_button(ui, at > 1, "Back", back_tip, Shortcut::Back) {
        move_in_history(shared, |h| h.back().is_some());
    }
    let next_tip = "Play the phrase after this one";
    if shortcut_button(ui, at < len, "Next", next_tip, Shortcut::Next) {
        move_in_history(shared, |h| h.forward().is_some());
    }
    if ui
        .add_enabled(len > 0, egui::Button::selectable(starred, "Star"))
        .on_hover_text(tip_with_key(
            "A starred phrase stays in the history (the newest 50 others do)",
            Shortcut::Star,
        ))
        .clicked()
    {
        shared.params.history.write().toggle_star();
    }
    if ui
        .add_enabled(has_other, egui::Button::new("A/B"))
        .on_hover_text("Switch between this phrase and the one you played before it")
        .clicked()
    {
        move_in_history(shared, |h| h.swap_ab().is_some());
    }
    ui.label(format!("{at}/{len}")).on_hover_text(label);
}

/// The mode first: one button per mode, the current one lit.
pub fn mode_buttons(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
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

/// **Preview**: the phrase plays with the host stopped, at the preview tempo (the *Play
/// when stopped* parameter, here where a producer looks for it); a click on a bar of the
/// roll plays from there.
pub fn preview_button(ui: &mut egui::Ui, p: &PhraseGenParams, setter: &ParamSetter) {
    flip(setter, &p.free_run, |on| ui.toggle_value(on, "Preview")).on_hover_text(tip_with_key(
        "Hear the phrase with the song stopped, at the preview tempo. Click a bar on the \
         roll to play from there.",
        Shortcut::Preview,
    ));
}

/// Preview on or off (its shortcut).
pub fn toggle_preview(p: &PhraseGenParams, setter: &ParamSetter) {
    set_param(setter, &p.free_run, !p.free_run.value());
}

/// The model, key, length and the last generation's time, and any error in red.
pub fn status_line(ui: &mut egui::Ui, shared: &Shared) {
    let status = shared.status.lock().clone();
    let p = &shared.params;
    ui.horizontal(|ui| {
        let mode = match p.mode.value() {
            PlayMode::Generate => String::new(),
            other => format!("{other:?} mode · "),
        };
        ui.label(format!(
            "{mode}{} · {:?} {:?} · {} bars, {} notes · made in {:.0} ms",
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
