//! A passage of a MIDI file cut at bar lines: what `phrasegen roll` draws (and can write
//! back as MIDI, so the passage pictured is the passage heard).
//!
//! Bars follow the file's time-signature map, counted from 1 at the start of the file (a
//! pickup written as a short bar is bar 1), as [`bar_ticks`] lists them.

use crate::midi::{quantize::quantize, ImportOptions, MidiFile};
use crate::phrase::{Note, Phrase};
use crate::stats::segment::bar_ticks;

/// Bars of a file on a grid, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Excerpt {
    /// The notes of the passage, moved to start at step 0; notes crossing the passage's
    /// edges are clipped to it. Its time signature and tempo are those at the first bar.
    pub phrase: Phrase,
    /// Grid step at which each bar of the passage starts (the first is 0), followed by the
    /// step at which the passage ends.
    pub bar_lines_steps: Vec<u32>,
    /// Number of the first bar in the file (1 = the file's first bar).
    pub first_bar_number: u32,
}

impl Excerpt {
    /// The whole phrase, bars following its own time signature.
    pub fn of_phrase(phrase: &Phrase) -> Self {
        let per_bar = phrase.steps_per_bar();
        Self {
            phrase: phrase.clone(),
            bar_lines_steps: (0..=phrase.bars).map(|b| b * per_bar).collect(),
            first_bar_number: 1,
        }
    }

    /// Number of bars in the passage.
    pub fn bars(&self) -> u32 {
        self.bar_lines_steps.len().saturating_sub(1) as u32
    }

    /// Length of the passage in grid steps.
    pub fn length_steps(&self) -> u32 {
        self.bar_lines_steps.last().copied().unwrap_or(0)
    }
}

/// A passage the file does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExcerptError {
    #[error("bars are counted from 1; bar 0 does not exist")]
    BarZero,
    #[error("asked for 0 bars")]
    NoBars,
    #[error("the file has no complete bar")]
    NoCompleteBar,
    #[error("the file has {bars} bar(s); bar {from_bar} is past its end")]
    StartPastEnd { bars: u32, from_bar: u32 },
    #[error(
        "the file has {bars} bar(s); {wanted} bar(s) from bar {from_bar} would end at bar {}",
        from_bar + wanted - 1
    )]
    EndPastEnd {
        bars: u32,
        from_bar: u32,
        wanted: u32,
    },
}

/// Cuts bars `from_bar ..= from_bar + bars - 1` (all remaining bars when `bars` is `None`)
/// out of `file`, quantized to `steps_per_quarter` steps per quarter note.
pub fn excerpt_bars(
    file: &MidiFile,
    steps_per_quarter: u32,
    from_bar: u32,
    bars: Option<u32>,
) -> Result<Excerpt, ExcerptError> {
    if from_bar == 0 {
        return Err(ExcerptError::BarZero);
    }
    if bars == Some(0) {
        return Err(ExcerptError::NoBars);
    }
    let all_bars = bar_ticks(file);
    let total = all_bars.len() as u32;
    if total == 0 {
        return Err(ExcerptError::NoCompleteBar);
    }
    if from_bar > total {
        return Err(ExcerptError::StartPastEnd {
            bars: total,
            from_bar,
        });
    }
    let wanted = bars.unwrap_or(total - from_bar + 1);
    let last_bar = u64::from(from_bar) + u64::from(wanted) - 1;
    if last_bar > u64::from(total) {
        return Err(ExcerptError::EndPastEnd {
            bars: total,
            from_bar,
            wanted,
        });
    }
    let chosen = &all_bars[(from_bar - 1) as usize..last_bar as usize];

    let spq = steps_per_quarter.max(1);
    let options = ImportOptions {
        steps_per_quarter: spq,
        ..ImportOptions::default()
    };
    let whole = quantize(file, &options).phrase;
    // The quantizer's rounding, so bar lines and notes agree.
    let tpq = u64::from(file.ticks_per_quarter.max(1));
    let to_step = |tick: u64| ((tick * u64::from(spq) + tpq / 2) / tpq) as u32;
    let start = to_step(chosen[0].0);
    let end = to_step(chosen[chosen.len() - 1].1);
    let mut bar_lines_steps: Vec<u32> = chosen.iter().map(|b| to_step(b.0) - start).collect();
    bar_lines_steps.push(end - start);

    let mut phrase = Phrase::empty(
        1,
        spq,
        in_effect(&file.time_signatures, chosen[0].0).unwrap_or_default(),
        in_effect(&file.tempos, chosen[0].0).unwrap_or(120.0),
    );
    phrase.notes = clip_notes(&whole.notes, start, end);
    // Whole bars of the first bar's time signature that hold the passage.
    phrase.bars = (end - start).div_ceil(phrase.steps_per_bar()).max(1);
    Ok(Excerpt {
        phrase,
        bar_lines_steps,
        first_bar_number: from_bar,
    })
}

/// The value of a tempo or time-signature map in effect at tick `at`.
fn in_effect<T: Copy>(changes: &[(u64, T)], at: u64) -> Option<T> {
    changes
        .iter()
        .take_while(|(tick, _)| *tick <= at)
        .last()
        .map(|c| c.1)
}

/// The parts of `notes` sounding in steps `start..end`, moved so `start` becomes 0.
fn clip_notes(notes: &[Note], start: u32, end: u32) -> Vec<Note> {
    let mut out: Vec<Note> = notes
        .iter()
        .filter(|n| n.start_step < end && n.end_step() > start)
        .map(|n| {
            let from = n.start_step.max(start);
            let to = n.end_step().min(end);
            Note {
                start_step: from - start,
                length_steps: to - from,
                ..*n
            }
        })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_crossing_the_edges_are_clipped_to_the_passage() {
        let note = |start_step, length_steps| Note::new(start_step, 60, length_steps, 80);
        let notes = [note(0, 20), note(18, 4), note(30, 10), note(40, 2)];
        assert_eq!(
            clip_notes(&notes, 16, 32),
            vec![note(0, 4), note(2, 4), note(14, 2)]
        );
    }
}
