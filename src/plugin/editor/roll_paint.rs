//! Painting the roll: bar numbers, the keyboard strip with note names, the grid, the notes
//! (muted ones greyed) and the pointer's pitch. All geometry comes from [`RollGeometry`];
//! `scale` is the window's text scale.

use egui::{Color32, Pos2, Stroke};

use super::roll_view::{Rect, RollGeometry};
use crate::midi::summary::pitch_name;
use crate::phrase::Phrase;

/// Height of the strip of bar numbers above the roll at scale 1 (a click keeps or frees a
/// bar).
pub const BAR_HEADER_HEIGHT: f32 = 16.0;

impl From<Rect> for egui::Rect {
    fn from(r: Rect) -> Self {
        Self::from_min_max(Pos2::new(r.left, r.top), Pos2::new(r.right, r.bottom))
    }
}

/// The bar numbers above the roll, kept bars marked (a click there keeps or frees one).
pub fn bar_header(
    painter: &egui::Painter,
    g: &RollGeometry,
    r: egui::Rect,
    scale: f32,
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
            Pos2::new(right, r.top() + BAR_HEADER_HEIGHT * scale),
        );
        let keep = kept(bar);
        if keep {
            painter.rect_filled(cell.shrink(1.0), 2.0, Color32::from_rgb(40, 90, 140));
        }
        painter.text(
            Pos2::new(left + 4.0 * scale, cell.center().y),
            egui::Align2::LEFT_CENTER,
            format!("{}{}", bar + 1, if keep { " kept" } else { "" }),
            egui::FontId::proportional(11.0 * scale),
            Color32::from_gray(190),
        );
    }
}

/// The keyboard strip left of the roll, one key per pitch row, black keys darker, so a
/// note's pitch reads at a glance; each C named (C4 is middle C), and the row under the
/// pointer (`hovered`) named and lit across the roll.
pub fn keyboard(
    painter: &egui::Painter,
    g: &RollGeometry,
    r: egui::Rect,
    scale: f32,
    hovered: Option<u8>,
) {
    let roll_left = g.area.left;
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
    if let Some(&key @ (_, top, bottom)) = keys.iter().find(|k| Some(k.0) == hovered) {
        let row = egui::Rect::from_min_max(Pos2::new(roll_left, top), Pos2::new(r.right(), bottom));
        painter.rect_filled(row, 0.0, Color32::from_white_alpha(10));
        name_tag(painter, roll_left, key, scale, true);
    }
    // Drawn after the keys, which would cover them.
    for &key in keys.iter().filter(|k| k.0 % 12 == 0) {
        if Some(key.0) != hovered {
            name_tag(painter, roll_left, key, scale, false);
        }
    }
}

/// The name of the pitch of `key` (its pitch, row top and bottom) on a tag over the keys'
/// right end, lit for the pointer's row.
fn name_tag(
    painter: &egui::Painter,
    roll_left: f32,
    (pitch, top, bottom): (u8, f32, f32),
    scale: f32,
    lit: bool,
) {
    let (y, w, h) = ((top + bottom) / 2.0, 18.0 * scale, 5.0 * scale);
    let tag = egui::Rect::from_min_max(
        Pos2::new(roll_left - 2.0 - w, y - h),
        Pos2::new(roll_left - 2.0, y + h),
    );
    let (fill, text) = if lit {
        (Color32::from_rgb(255, 200, 60), Color32::BLACK)
    } else {
        (Color32::from_gray(30), Color32::from_gray(220))
    };
    painter.rect_filled(tag, 2.0, fill);
    painter.text(
        tag.center(),
        egui::Align2::CENTER_CENTER,
        pitch_name(pitch),
        egui::FontId::proportional(8.0 * scale),
        text,
    );
}

/// Bar lines (lighter) and beat lines across the whole height of the roll.
pub fn grid(painter: &egui::Painter, g: &RollGeometry, r: egui::Rect) {
    for (x, bar) in g.grid_lines() {
        let color = Color32::from_gray(if bar { 110 } else { 55 });
        painter.line_segment(
            [Pos2::new(x, r.top()), Pos2::new(x, r.bottom())],
            Stroke::new(1.0, color),
        );
    }
}

/// The notes, inset by a pixel so neighbours stay apart, brighter the louder they are;
/// muted notes as grey outlines under them.
pub fn notes(painter: &egui::Painter, g: &RollGeometry, phrase: &Phrase) {
    let inset = |nr: Rect| egui::Rect::from(nr).shrink(1.0);
    for n in &phrase.muted {
        if let Some(nr) = g.note_rect(n) {
            painter.rect_stroke(
                inset(nr),
                2.0,
                Stroke::new(1.0, Color32::from_gray(130)),
                egui::StrokeKind::Inside,
            );
        }
    }
    for n in &phrase.notes {
        if let Some(nr) = g.note_rect(n) {
            let shade = 120 + (u16::from(n.velocity) * 135 / 127) as u8;
            painter.rect_filled(inset(nr), 2.0, Color32::from_rgb(70, shade, 230));
        }
    }
}

/// The tooltip of a note under the pointer: its name, place and length, and what a click
/// does to it.
pub fn note_description(phrase: &Phrase, note: &crate::phrase::Note, muted: bool) -> String {
    let place = format!(
        "{} (MIDI {}), bar {} step {}, {} steps, velocity {}",
        pitch_name(note.pitch),
        note.pitch,
        note.start_step / phrase.steps_per_bar() + 1,
        note.start_step % phrase.steps_per_bar() + 1,
        note.length_steps,
        note.velocity
    );
    if muted {
        format!("{place}\nmuted: click to hear it again, right-click to delete")
    } else {
        format!("{place}\nclick to mute, right-click to delete, drag to move or (from its end) to lengthen")
    }
}
