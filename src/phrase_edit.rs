//! Editing a phrase by hand (the plugin window's roll): a note muted or brought back,
//! deleted, moved to another pitch, made longer or shorter on the grid. Every edit gives a
//! valid phrase: notes inside its length, at least a step long, no two of one pitch
//! overlapping, in time order.

use crate::midi::quantize::resolve_overlaps;
use crate::phrase::Phrase;

/// `phrase` without note `index` (unchanged when there is no such note).
pub fn delete_note(phrase: &Phrase, index: usize) -> Phrase {
    let mut out = phrase.clone();
    if index < out.notes.len() {
        out.notes.remove(index);
    }
    out
}

/// `phrase` with note `index` muted: it stays on the roll (in [`Phrase::muted`]) but no
/// longer plays (unchanged when there is no such note).
pub fn mute_note(phrase: &Phrase, index: usize) -> Phrase {
    let mut out = phrase.clone();
    if index < out.notes.len() {
        let note = out.notes.remove(index);
        out.muted.push(note);
        out.muted.sort_unstable();
    }
    out
}

/// `phrase` with muted note `index` playing again. A note of that pitch added since and now
/// overlapped is cut short, as for a moved note.
pub fn unmute_note(phrase: &Phrase, index: usize) -> Phrase {
    let mut out = phrase.clone();
    if index < out.muted.len() {
        let note = out.muted.remove(index);
        out.notes.push(note);
        resolve_overlaps(&mut out.notes);
    }
    out
}

/// `phrase` without muted note `index`.
pub fn delete_muted_note(phrase: &Phrase, index: usize) -> Phrase {
    let mut out = phrase.clone();
    if index < out.muted.len() {
        out.muted.remove(index);
    }
    out
}

/// Gives `new` (generated with the bars in `kept_mask` kept from `before`) the notes muted in
/// those bars, so a kept bar comes back as the producer left it. Nothing is carried when
/// the grid or the meter changed (the kept bars were written anew on the new grid).
pub fn carry_muted_notes(before: &Phrase, kept_mask: u64, new: &mut Phrase) {
    if (before.steps_per_quarter, before.time_signature)
        != (new.steps_per_quarter, new.time_signature)
    {
        return;
    }
    let bar_steps = new.steps_per_bar().max(1);
    let total = new.total_steps();
    new.muted = before
        .muted
        .iter()
        .filter(|n| {
            let bar = n.start_step / bar_steps;
            crate::sample::keeps_bar(kept_mask, bar) && n.end_step() <= total
        })
        .copied()
        .collect();
}

/// `phrase` with note `index` moved to `pitch` and `length_steps` long (at least one step,
/// ending by the phrase's end). A note of that pitch it now overlaps is cut short, as a
/// second key down on a held key would.
pub fn change_note(phrase: &Phrase, index: usize, pitch: u8, length_steps: u32) -> Phrase {
    let mut out = phrase.clone();
    let total = out.total_steps();
    let Some(note) = out.notes.get_mut(index) else {
        return out;
    };
    note.pitch = pitch.min(127);
    note.length_steps = length_steps
        .max(1)
        .min(total.saturating_sub(note.start_step).max(1));
    resolve_overlaps(&mut out.notes);
    out
}

/// Undo and redo over a phrase's edits, newest last.
#[derive(Clone, Debug, Default)]
pub struct EditHistory {
    undo: Vec<Phrase>,
    redo: Vec<Phrase>,
}

impl EditHistory {
    /// Records `before`, the phrase an edit replaced (a new edit forgets what was undone).
    pub fn edited(&mut self, before: Phrase) {
        self.undo.push(before);
        self.redo.clear();
    }

    /// The phrase before the last edit, given the phrase now (which redo brings back).
    pub fn undo(&mut self, now: Phrase) -> Option<Phrase> {
        let before = self.undo.pop()?;
        self.redo.push(now);
        Some(before)
    }

    /// The phrase the last undo replaced, given the phrase now.
    pub fn redo(&mut self, now: Phrase) -> Option<Phrase> {
        let after = self.redo.pop()?;
        self.undo.push(now);
        Some(after)
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Forgets every edit (another phrase plays now).
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::{Note, TimeSignature};

    fn phrase() -> Phrase {
        let mut p = Phrase::empty(1, 4, TimeSignature::FOUR_FOUR, 120.0);
        for (start, pitch) in [(0, 60), (4, 64), (8, 67)] {
            p.notes.push(Note::new(start, pitch, 4, 90));
        }
        p
    }

    #[test]
    fn notes_are_deleted_moved_and_resized_within_the_phrase() {
        let p = phrase();
        assert_eq!(delete_note(&p, 1).notes.len(), 2);
        assert_eq!(delete_note(&p, 9), p);
        let moved = change_note(&p, 1, 65, 2);
        assert_eq!((moved.notes[1].pitch, moved.notes[1].length_steps), (65, 2));
        let long = change_note(&p, 2, 67, 100);
        assert_eq!(long.notes[2].end_step(), 16, "ends with the phrase");
        assert_eq!(change_note(&p, 0, 60, 0).notes[0].length_steps, 1);
        // Onto the pitch of the next note, longer than the gap: the earlier is cut short.
        let onto = change_note(&p, 0, 64, 8);
        let at = |step| onto.notes.iter().find(|n| n.start_step == step).unwrap();
        assert_eq!((at(0).pitch, at(0).length_steps), (64, 4));
        assert_eq!(at(4).pitch, 64);
    }

    #[test]
    fn a_muted_note_stops_playing_stays_listed_and_comes_back() {
        let p = phrase();
        let muted = mute_note(&p, 1);
        assert_eq!(muted.notes.len(), 2);
        assert_eq!(muted.muted, vec![p.notes[1]]);
        assert_eq!(mute_note(&p, 9), p);
        let back = unmute_note(&muted, 0);
        assert_eq!(back, p, "unmuted, the phrase is as before");
        assert!(delete_muted_note(&muted, 0).muted.is_empty());
        assert_eq!(delete_muted_note(&muted, 0).notes, muted.notes);
        // Brought back over a note of its pitch written since: the earlier is cut short.
        let over = change_note(&muted, 0, 64, 8);
        let back = unmute_note(&over, 0);
        let at = |step| back.notes.iter().find(|n| n.start_step == step).unwrap();
        assert_eq!((at(0).pitch, at(0).length_steps), (64, 4));
        assert_eq!((at(4).pitch, at(4).length_steps), (64, 4));
    }

    #[test]
    fn muted_notes_of_kept_bars_are_carried_into_the_new_phrase() {
        let mut before = phrase();
        before.bars = 2;
        before.notes.push(Note::new(20, 72, 2, 90));
        let before = mute_note(&mute_note(&before, 3), 0);
        assert_eq!(before.muted.len(), 2, "one in bar 1, one in bar 2");
        let mut new = Phrase::empty(2, 4, TimeSignature::FOUR_FOUR, 120.0);
        carry_muted_notes(&before, 0b10, &mut new);
        assert_eq!(new.muted, vec![before.muted[1]], "bar 2 only");
        carry_muted_notes(&before, 0b11, &mut new);
        assert_eq!(new.muted, before.muted);
        let mut other_grid = Phrase::empty(2, 2, TimeSignature::FOUR_FOUR, 120.0);
        carry_muted_notes(&before, 0b11, &mut other_grid);
        assert!(other_grid.muted.is_empty());
    }

    #[test]
    fn undo_and_redo_walk_the_edits() {
        let p0 = phrase();
        let p1 = delete_note(&p0, 0);
        let p2 = change_note(&p1, 0, 70, 2);
        let mut h = EditHistory::default();
        assert!(!h.can_undo());
        h.edited(p0.clone());
        h.edited(p1.clone());
        assert_eq!(h.undo(p2.clone()), Some(p1.clone()));
        assert_eq!(h.undo(p1.clone()), Some(p0.clone()));
        assert_eq!(h.undo(p0.clone()), None);
        assert_eq!(h.redo(p0.clone()), Some(p1.clone()));
        assert_eq!(h.redo(p1.clone()), Some(p2.clone()));
        assert!(!h.can_redo());
        h.undo(p2);
        h.edited(p1);
        assert!(!h.can_redo(), "a new edit forgets what was undone");
    }
}
