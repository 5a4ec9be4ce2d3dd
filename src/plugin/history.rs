//! Phrase history: every phrase generated in this instance, newest last, with how it was
//! made, so the producer can go back to one they liked, star it, compare two (A/B) and
//! bring any back to play. Saved with the project, bounded: the newest [`MAX_UNSTARRED`]
//! and up to [`MAX_STARRED`] starred ones.

use serde::{Deserialize, Serialize};

use super::saved_phrase::SavedPhrase;

/// Unstarred phrases kept (older ones are dropped as new ones come).
pub const MAX_UNSTARRED: usize = 50;
/// Starred phrases kept: a star protects a phrase until this many are starred.
pub const MAX_STARRED: usize = 50;

/// One generated phrase and how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub saved: SavedPhrase,
    /// The settings it was made with, as the window shows them ("bach-chorales · C major ·
    /// creativity 1.00 · seed 12").
    pub label: String,
    #[serde(default)]
    pub starred: bool,
}

/// The history and where the producer is in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhraseHistory {
    pub entries: Vec<HistoryEntry>,
    /// The entry playing (`None`: nothing yet).
    #[serde(default)]
    pub position: Option<usize>,
    /// The entry A/B switches to: the one played before the current.
    #[serde(default)]
    pub other: Option<usize>,
}

impl PhraseHistory {
    /// Adds a newly generated phrase; it becomes the one playing.
    pub fn push(&mut self, entry: HistoryEntry) {
        self.entries.push(entry);
        self.other = self.position;
        self.position = Some(self.entries.len() - 1);
        self.trim();
    }

    /// Drops the oldest unstarred entries beyond [`MAX_UNSTARRED`] (then the oldest starred
    /// beyond [`MAX_STARRED`]), keeping the indices of the playing and the A/B entries.
    fn trim(&mut self) {
        for starred in [false, true] {
            let limit = if starred { MAX_STARRED } else { MAX_UNSTARRED };
            while self.entries.iter().filter(|e| e.starred == starred).count() > limit {
                let Some(oldest) = self.entries.iter().position(|e| e.starred == starred) else {
                    break;
                };
                self.remove(oldest);
            }
        }
    }

    fn remove(&mut self, index: usize) {
        self.entries.remove(index);
        let shift = |i: Option<usize>| match i {
            Some(i) if i == index => None,
            Some(i) if i > index => Some(i - 1),
            other => other,
        };
        self.position = shift(self.position).or_else(|| self.entries.len().checked_sub(1));
        self.other = shift(self.other);
    }

    /// The entry playing.
    pub fn current(&self) -> Option<&HistoryEntry> {
        self.position.and_then(|i| self.entries.get(i))
    }

    /// Goes to entry `index` (which then plays); the one left becomes the A/B other.
    pub fn go_to(&mut self, index: usize) -> Option<&HistoryEntry> {
        if index >= self.entries.len() || Some(index) == self.position {
            return None;
        }
        self.other = self.position;
        self.position = Some(index);
        self.current()
    }

    /// The previous (older) entry, if any.
    pub fn back(&mut self) -> Option<&HistoryEntry> {
        self.go_to(self.position?.checked_sub(1)?)
    }

    /// The next (newer) entry, if any.
    pub fn forward(&mut self) -> Option<&HistoryEntry> {
        self.go_to(self.position? + 1)
    }

    /// Switches between the entry playing and the one played before it.
    pub fn swap_ab(&mut self) -> Option<&HistoryEntry> {
        self.go_to(self.other?)
    }

    /// Stars the playing entry, or takes its star away.
    pub fn toggle_star(&mut self) {
        if let Some(e) = self.position.and_then(|i| self.entries.get_mut(i)) {
            e.starred = !e.starred;
        }
        self.trim();
    }

    /// A history read from a saved project, made consistent (positions inside, bounds
    /// kept): a damaged or hand-edited state never points outside the entries.
    pub fn repaired(mut self) -> Self {
        let len = self.entries.len();
        self.position = self.position.filter(|&i| i < len).or(len.checked_sub(1));
        self.other = self.other.filter(|&i| i < len);
        self.trim();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::{Phrase, TimeSignature};

    fn entry(n: u32) -> HistoryEntry {
        HistoryEntry {
            saved: SavedPhrase {
                phrase: Phrase::empty(n, 4, TimeSignature::FOUR_FOUR, 120.0),
                rerolls: 0,
                seed: Some(u64::from(n)),
            },
            label: format!("phrase {n}"),
            starred: false,
        }
    }

    #[test]
    fn back_forward_and_ab_move_through_the_phrases() {
        let mut h = PhraseHistory::default();
        assert!(h.back().is_none() && h.current().is_none());
        for n in 1..=3 {
            h.push(entry(n));
        }
        assert_eq!(h.current().unwrap().label, "phrase 3");
        assert_eq!(h.back().unwrap().label, "phrase 2");
        assert_eq!(h.back().unwrap().label, "phrase 1");
        assert!(h.back().is_none(), "nothing older");
        assert_eq!(h.swap_ab().unwrap().label, "phrase 2");
        assert_eq!(h.swap_ab().unwrap().label, "phrase 1");
        assert_eq!(h.forward().unwrap().label, "phrase 2");
        assert_eq!(h.forward().unwrap().label, "phrase 3");
        assert!(h.forward().is_none(), "nothing newer");
        h.push(entry(4));
        assert_eq!(
            h.swap_ab().unwrap().label,
            "phrase 3",
            "A/B: the new and the last"
        );
    }

    #[test]
    fn it_keeps_the_newest_fifty_and_the_starred() {
        let mut h = PhraseHistory::default();
        h.push(entry(1));
        h.toggle_star();
        for n in 2..=120 {
            h.push(entry(n));
        }
        assert_eq!(h.entries.len(), MAX_UNSTARRED + 1);
        assert_eq!(h.entries[0].label, "phrase 1", "the star kept it");
        assert_eq!(h.entries[1].label, "phrase 71");
        assert_eq!(h.current().unwrap().label, "phrase 120");
        assert_eq!(h.entries[h.other.unwrap()].label, "phrase 119");
        h.go_to(0);
        h.toggle_star();
        h.push(entry(121));
        assert_eq!(
            h.entries.len(),
            MAX_UNSTARRED,
            "unstarred, phrase 1 went as the oldest"
        );
        assert!(h.entries.iter().all(|e| e.label != "phrase 1"));
        assert_eq!(h.current().unwrap().label, "phrase 121");
        assert_eq!(h.entries[h.other.unwrap()].label, "phrase 120");
    }

    #[test]
    fn a_damaged_saved_history_is_repaired() {
        let mut h = PhraseHistory::default();
        for n in 1..=3 {
            h.push(entry(n));
        }
        h.position = Some(17);
        h.other = Some(9);
        let h = h.repaired();
        assert_eq!(h.current().unwrap().label, "phrase 3");
        assert_eq!(h.other, None);
    }
}
