//! Where things go in the piano-roll view: notes to rectangles, bar and beat lines, the
//! playhead, and which note is under the mouse. Pure geometry, so it is tested without a
//! window.

use crate::phrase::{Note, Phrase};

/// A screen rectangle (left, top, right, bottom), y growing downwards.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl Rect {
    pub fn contains(&self, x: f32, y: f32) -> bool {
        (self.left..self.right).contains(&x) && (self.top..self.bottom).contains(&y)
    }
}

/// What a drag on a note changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grab {
    Pitch,
    Length,
}

/// Maps a phrase onto an area: time left to right, pitch bottom to top, with a margin of a
/// few pitches around the notes so they never touch the edges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RollGeometry {
    pub area: Rect,
    pub total_steps: u32,
    pub steps_per_quarter: u32,
    pub steps_per_bar: u32,
    pub pitch_lo: u8,
    pub pitch_hi: u8,
}

impl RollGeometry {
    /// Fits `phrase` into `area` (an empty phrase shows the octaves around middle C).
    pub fn fit(phrase: &Phrase, area: Rect) -> Self {
        // Muted notes are drawn too (greyed), so they count.
        let pitches = || phrase.notes.iter().chain(&phrase.muted).map(|n| n.pitch);
        let (lo, hi) = pitches().min().zip(pitches().max()).unwrap_or((60, 72));
        let (lo, hi) = (lo.saturating_sub(2), hi.saturating_add(2).min(127));
        // At least an octave tall, so a single note is not a full-height block.
        let (lo, hi) = if hi - lo < 12 {
            (lo.saturating_sub((12 - (hi - lo)) / 2), (lo + 12).min(127))
        } else {
            (lo, hi)
        };
        Self {
            area,
            total_steps: phrase.total_steps().max(1),
            steps_per_quarter: phrase.steps_per_quarter.max(1),
            steps_per_bar: phrase.steps_per_bar().max(1),
            pitch_lo: lo,
            pitch_hi: hi.max(lo),
        }
    }

    fn step_width(&self) -> f32 {
        (self.area.right - self.area.left) / self.total_steps as f32
    }

    fn row_height(&self) -> f32 {
        (self.area.bottom - self.area.top) / f32::from(self.pitch_hi - self.pitch_lo + 1)
    }

    /// x of a grid step.
    pub fn step_x(&self, step: u32) -> f32 {
        self.area.left + step as f32 * self.step_width()
    }

    /// The top and bottom of `pitch`'s row, or `None` if it is outside the view.
    pub fn row(&self, pitch: u8) -> Option<(f32, f32)> {
        if pitch < self.pitch_lo || pitch > self.pitch_hi {
            return None;
        }
        let top = self.area.top + f32::from(self.pitch_hi - pitch) * self.row_height();
        Some((top, top + self.row_height()))
    }

    /// The pitch whose row is at y, if y is over the roll (the note name under the pointer).
    pub fn pitch_at(&self, y: f32) -> Option<u8> {
        if y < self.area.top || y >= self.area.bottom {
            return None;
        }
        let rows_down = ((y - self.area.top) / self.row_height()) as u8;
        Some(self.pitch_hi.saturating_sub(rows_down).max(self.pitch_lo))
    }

    /// The rectangle of a note, or `None` if its pitch is outside the view.
    pub fn note_rect(&self, note: &Note) -> Option<Rect> {
        let (top, bottom) = self.row(note.pitch)?;
        Some(Rect {
            left: self.step_x(note.start_step),
            top,
            right: self.step_x(note.end_step().min(self.total_steps)),
            bottom,
        })
    }

    /// Vertical lines: (x, is a bar line) for every beat.
    pub fn grid_lines(&self) -> Vec<(f32, bool)> {
        (0..=self.total_steps)
            .step_by(self.steps_per_quarter as usize)
            .map(|s| (self.step_x(s), s % self.steps_per_bar == 0))
            .collect()
    }

    /// x of the playhead at `beats` into the phrase (wrapped into its length).
    pub fn playhead_x(&self, beats: f64) -> f32 {
        let length = f64::from(self.total_steps) / f64::from(self.steps_per_quarter);
        let b = beats.rem_euclid(length.max(1e-9));
        self.area.left + (b / length) as f32 * (self.area.right - self.area.left)
    }

    /// The bar under x, if x is over the roll.
    pub fn bar_at(&self, x: f32) -> Option<u32> {
        if x < self.area.left || x >= self.area.right {
            return None;
        }
        let step = ((x - self.area.left) / self.step_width()) as u32;
        Some(step.min(self.total_steps - 1) / self.steps_per_bar)
    }

    /// What dragging `note` from x changes: its length from near its right end (the last
    /// quarter, at least 4 px), else its pitch.
    pub fn grab_at(&self, note: &Note, x: f32) -> Grab {
        match self.note_rect(note) {
            Some(r) if x >= r.right - ((r.right - r.left) * 0.25).max(4.0) => Grab::Length,
            _ => Grab::Pitch,
        }
    }

    /// `note`'s (pitch, length in steps) after a drag of (dx, dy) pixels holding `grab`:
    /// whole rows and whole grid steps.
    pub fn dragged(&self, note: &Note, grab: Grab, dx: f32, dy: f32) -> (u8, u32) {
        match grab {
            Grab::Pitch => {
                let rows = (-dy / self.row_height()).round() as i32;
                let pitch = (i32::from(note.pitch) + rows).clamp(0, 127) as u8;
                (pitch, note.length_steps)
            }
            Grab::Length => {
                let steps = (dx / self.step_width()).round() as i64;
                let length = (i64::from(note.length_steps) + steps).max(1) as u32;
                (note.pitch, length)
            }
        }
    }

    /// Index of the first of `notes` whose rectangle holds (x, y): the note under the mouse
    /// among a phrase's playing notes, or its muted ones ([`Phrase::muted`]); a playing note
    /// is drawn over a muted one, so the playing notes are searched first.
    pub fn hit_test(&self, notes: &[Note], x: f32, y: f32) -> Option<usize> {
        notes
            .iter()
            .position(|n| self.note_rect(n).is_some_and(|r| r.contains(x, y)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::TimeSignature;

    fn phrase() -> Phrase {
        let mut p = Phrase::empty(2, 4, TimeSignature::FOUR_FOUR, 120.0);
        p.notes = vec![Note::new(0, 60, 4, 100), Note::new(16, 72, 16, 100)];
        p
    }

    const AREA: Rect = Rect {
        left: 0.0,
        top: 0.0,
        right: 320.0,
        bottom: 170.0,
    };

    #[test]
    fn dragging_a_note_moves_its_pitch_or_from_its_end_its_length() {
        let p = phrase();
        let g = RollGeometry::fit(&p, AREA);
        let n = &p.notes[1]; // steps 16..32: x 160..320
        assert_eq!(g.grab_at(n, 200.0), Grab::Pitch);
        assert_eq!(g.grab_at(n, 300.0), Grab::Length);
        let row = g.row_height();
        assert_eq!(g.dragged(n, Grab::Pitch, 37.0, -2.0 * row - 1.0), (74, 16));
        assert_eq!(g.dragged(n, Grab::Pitch, 0.0, 0.4 * row), (72, 16));
        assert_eq!(g.dragged(n, Grab::Length, -4.0 * 10.0, 0.0), (72, 12));
        assert_eq!(g.dragged(n, Grab::Length, -1000.0, 0.0), (72, 1));
    }

    #[test]
    fn a_click_names_the_bar_under_it() {
        let g = RollGeometry::fit(&phrase(), AREA);
        assert_eq!(g.bar_at(0.0), Some(0));
        assert_eq!(g.bar_at(159.9), Some(0));
        assert_eq!(g.bar_at(160.0), Some(1));
        assert_eq!(g.bar_at(319.9), Some(1));
        assert_eq!(g.bar_at(320.0), None);
        assert_eq!(g.bar_at(-1.0), None);
    }

    #[test]
    fn notes_map_to_rectangles_in_time_and_pitch() {
        let p = phrase();
        let g = RollGeometry::fit(&p, AREA);
        // Pitches 58..=74 (two of margin): 17 rows of 10 px; 32 steps of 10 px.
        assert_eq!((g.pitch_lo, g.pitch_hi), (58, 74));
        let rect = |left, top, right, bottom| {
            Some(Rect {
                left,
                top,
                right,
                bottom,
            })
        };
        assert_eq!(g.note_rect(&p.notes[0]), rect(0.0, 140.0, 40.0, 150.0));
        assert_eq!(g.note_rect(&p.notes[1]), rect(160.0, 20.0, 320.0, 30.0));
        let outside = Note::new(0, 90, 1, 1);
        assert_eq!(g.note_rect(&outside), None);
    }

    #[test]
    fn grid_marks_beats_and_bars() {
        let g = RollGeometry::fit(&phrase(), AREA);
        let lines = g.grid_lines();
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[0], (0.0, true));
        assert_eq!(lines[1], (40.0, false));
        assert_eq!(lines[4], (160.0, true));
    }

    #[test]
    fn playhead_follows_and_wraps() {
        let g = RollGeometry::fit(&phrase(), AREA);
        assert_eq!(g.playhead_x(0.0), 0.0);
        assert_eq!(g.playhead_x(4.0), 160.0);
        assert_eq!(g.playhead_x(10.0), 80.0); // 8 beats long: 10 wraps to 2
    }

    #[test]
    fn the_pitch_under_the_pointer_is_its_row() {
        let g = RollGeometry::fit(&phrase(), AREA);
        for pitch in g.pitch_lo..=g.pitch_hi {
            let (top, bottom) = g.row(pitch).unwrap();
            assert_eq!(g.pitch_at(top + 0.1), Some(pitch));
            assert_eq!(g.pitch_at((top + bottom) / 2.0), Some(pitch));
        }
        assert_eq!(g.pitch_at(AREA.top - 1.0), None);
        assert_eq!(g.pitch_at(AREA.bottom), None);
    }

    #[test]
    fn hit_testing_finds_the_note_under_the_mouse() {
        let p = phrase();
        let g = RollGeometry::fit(&p, AREA);
        let (lo, hi) = (g.pitch_lo, g.pitch_hi);
        assert_eq!(g.hit_test(&p.notes, 10.0, 145.0), Some(0));
        assert_eq!(g.hit_test(&p.notes, 200.0, 25.0), Some(1));
        assert_eq!(g.hit_test(&p.notes, 100.0, 100.0), None);
        let muted = crate::phrase_edit::mute_note(&p, 1);
        let g = RollGeometry::fit(&muted, AREA);
        assert_eq!(
            (g.pitch_lo, g.pitch_hi),
            (lo, hi),
            "muted notes stay in view"
        );
        assert_eq!(g.hit_test(&muted.notes, 200.0, 25.0), None);
        assert_eq!(g.hit_test(&muted.muted, 200.0, 25.0), Some(0));
    }
}
