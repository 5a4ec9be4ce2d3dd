//! Where each grid step of a piece falls in its bar, and in which metre: what an event model
//! hears besides the notes. A file's time signatures can change anywhere; reading only the
//! first one and counting bars from the start puts every bar line after a change that is
//! not on that grid off the file's own bars.
//!
//! A [`MeterMap`] lists the bars as the file's time-signature map gives them (a change in
//! mid-bar starts a new bar, as MIDI defines), moved by the piece's pickup. Files rarely mark
//! one: in our datasets most pieces open with a pickup the file leaves unmarked (67% of the
//! chorales, 74% of the fiddle tunes; `docs/data/pickups.md`), and restate the time signature
//! where a repeat begins, at its pickup, so every bar line is a pickup's length early.
//! [`detect_pickup_steps`] finds it from where long notes fall (79% of the dataset pieces
//! right, against 28% for "no pickup"; `cargo run --release --example pickup_accuracy`).

use crate::phrase::{Note, TimeSignature};

/// Where a run of whole bars in one metre starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bar {
    start_step: u32,
    meter: TimeSignature,
}

/// The bars of a piece on a grid. Past the last bar listed, its metre goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterMap {
    steps_per_quarter: u32,
    /// Steps before the first downbeat: the file's bars all start this much later.
    pickup_steps: u32,
    bars: Vec<Bar>,
}

impl MeterMap {
    /// One metre throughout, bars from step 0: a generated phrase, or a file without changes.
    pub fn constant(meter: TimeSignature, steps_per_quarter: u32) -> Self {
        Self::from_bars(&[(0, meter)], steps_per_quarter)
    }

    /// The bars `(start step, metre in effect)`, in order, the first at step 0 (a list that
    /// starts later gets a 4/4 bar before it, as MIDI defines; an empty one is 4/4).
    pub fn from_bars(bars: &[(u32, TimeSignature)], steps_per_quarter: u32) -> Self {
        let spq = steps_per_quarter.max(1);
        let lead_in = bars
            .first()
            .is_none_or(|&(at, _)| at > 0)
            .then_some((0, TimeSignature::FOUR_FOUR));
        let mut out: Vec<Bar> = Vec::with_capacity(bars.len() + 1);
        let mut previous: Option<u32> = None;
        for (start, meter) in lead_in.into_iter().chain(bars.iter().copied()) {
            if previous.is_some_and(|p| start <= p) {
                continue;
            }
            previous = Some(start);
            // Consecutive whole bars in one metre are one entry: positions wrap by it.
            let merges = out.last().is_some_and(|last| {
                last.meter == meter
                    && (start - last.start_step).is_multiple_of(meter.steps_per_bar(spq))
            });
            if !merges {
                out.push(Bar {
                    start_step: start,
                    meter,
                });
            }
        }
        Self {
            steps_per_quarter: spq,
            pickup_steps: 0,
            bars: out,
        }
    }

    /// The metre the piece starts in.
    pub fn first_meter(&self) -> TimeSignature {
        self.bars[0].meter
    }

    /// The same bars, each starting `pickup_steps` later (less than the first bar), with the
    /// steps before the first downbeat heard as the end of a bar.
    pub fn with_pickup(self, pickup_steps: u32) -> Self {
        let first = self.bars[0].meter.steps_per_bar(self.steps_per_quarter);
        Self {
            pickup_steps: pickup_steps % first,
            ..self
        }
    }

    /// The grid the map counts in.
    pub fn steps_per_quarter(&self) -> u32 {
        self.steps_per_quarter
    }

    /// Steps before the first downbeat.
    pub fn pickup_steps(&self) -> u32 {
        self.pickup_steps
    }

    /// The metre at `step` and the steps since its bar line.
    pub fn at(&self, step: u32) -> (TimeSignature, u32) {
        if step < self.pickup_steps {
            let meter = self.bars[0].meter;
            let full = meter.steps_per_bar(self.steps_per_quarter);
            return (meter, full - self.pickup_steps + step);
        }
        let step = step - self.pickup_steps;
        let i = self.bars.partition_point(|b| b.start_step <= step).max(1) - 1;
        let bar = self.bars[i];
        let full = bar.meter.steps_per_bar(self.steps_per_quarter);
        (bar.meter, (step - bar.start_step) % full)
    }
}

/// Grid steps per beat: a quarter in simple metres, a dotted quarter in compound ones
/// (6/8, 9/8, 12/8), at least one step.
pub fn beat_steps(meter: TimeSignature, steps_per_quarter: u32) -> u32 {
    let compound =
        meter.denominator == 8 && meter.numerator.is_multiple_of(3) && meter.numerator > 3;
    let quarter = if compound {
        steps_per_quarter * 3 / 2
    } else {
        steps_per_quarter * 4 / u32::from(meter.denominator).max(4)
    };
    quarter.max(1)
}

/// Where the first downbeat of `notes` in `meter` most likely is, in steps from the start:
/// the offset whose bar lines, half bars and beats best catch the onsets of long notes (each
/// weighted by its length, up to two quarters), folded into the first half bar (pickups are
/// short; a half bar and a whole one are what this cue cannot tell apart).
pub fn detect_pickup_steps(notes: &[Note], meter: TimeSignature, steps_per_quarter: u32) -> u32 {
    let spq = steps_per_quarter.max(1);
    let bar = meter.steps_per_bar(spq);
    let beat = beat_steps(meter, spq).min(bar);
    let half = bar / 2;
    let halves = bar.is_multiple_of(2) && half.is_multiple_of(beat);
    let weight = |pos: u32| {
        if pos == 0 {
            1.0
        } else if halves && pos == half {
            0.5
        } else if pos.is_multiple_of(beat) {
            0.25
        } else if pos.is_multiple_of((spq / 2).max(1)) {
            0.1
        } else {
            0.0
        }
    };
    let longest = f64::from(2 * spq);
    let scores: Vec<f64> = (0..bar)
        .map(|offset| {
            notes
                .iter()
                .map(|n| {
                    let pos = (n.start_step % bar + bar - offset) % bar;
                    f64::from(n.length_steps).min(longest) * weight(pos)
                })
                .sum()
        })
        .collect();
    // The first of the best offsets (the shortest pickup on a tie).
    let best = (0..bar).fold(0, |best, o| {
        if scores[o as usize] > scores[best as usize] {
            o
        } else {
            best
        }
    });
    if halves {
        best % half
    } else {
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR: TimeSignature = TimeSignature::FOUR_FOUR;
    const fn ts(numerator: u8, denominator: u8) -> TimeSignature {
        TimeSignature::new(numerator, denominator)
    }

    #[test]
    fn a_constant_metre_wraps_at_its_bar_length() {
        let map = MeterMap::constant(ts(3, 4), 4);
        assert_eq!(map.bars.len(), 1, "one metre from the first step");
        assert_eq!(map.at(11), (ts(3, 4), 11));
        assert_eq!(map.at(12), (ts(3, 4), 0));
        assert_eq!(map.at(1000), (ts(3, 4), 1000 % 12));
    }

    #[test]
    fn a_change_restarts_the_bar_in_the_new_metre() {
        // Two bars of 4/4 (sixteenths), then 6/8 bars of 12 steps.
        let map = MeterMap::from_bars(&[(0, FOUR), (16, FOUR), (32, ts(6, 8)), (44, ts(6, 8))], 4);
        assert_eq!(map.first_meter(), FOUR);
        assert_eq!(map.at(31), (FOUR, 15));
        assert_eq!(map.at(32), (ts(6, 8), 0));
        assert_eq!(map.at(43), (ts(6, 8), 11));
        assert_eq!(map.at(44), (ts(6, 8), 0));
    }

    #[test]
    fn a_short_bar_restarts_the_count_where_the_file_says() {
        // 4/4, a 1/4 bar, then 4/4 again: later bar lines follow the file's bars.
        let map = MeterMap::from_bars(&[(0, FOUR), (16, ts(1, 4)), (20, FOUR), (36, FOUR)], 4);
        assert_eq!(map.at(16), (ts(1, 4), 0));
        assert_eq!(map.at(19), (ts(1, 4), 3));
        assert_eq!(map.at(20), (FOUR, 0));
        assert_eq!(map.at(36), (FOUR, 0));
        assert_eq!(map.at(40), (FOUR, 4));
    }

    #[test]
    fn a_bar_of_another_metre_is_its_own_bar() {
        // 4/4, one 3/4 bar, 4/4.
        let map = MeterMap::from_bars(&[(0, FOUR), (16, ts(3, 4)), (28, FOUR)], 4);
        assert_eq!(map.at(16), (ts(3, 4), 0));
        assert_eq!(map.at(27), (ts(3, 4), 11));
        assert_eq!(map.at(28), (FOUR, 0));
    }

    #[test]
    fn a_pickup_moves_every_bar_line_and_is_heard_as_the_end_of_a_bar() {
        // A 4/4 piece with a one-quarter upbeat, its repeat restated at the pickup (step 16).
        let map = MeterMap::from_bars(&[(0, FOUR), (16, FOUR), (36, FOUR)], 4).with_pickup(4);
        assert_eq!(map.pickup_steps(), 4);
        assert_eq!(map.at(0), (FOUR, 12));
        assert_eq!(map.at(3), (FOUR, 15));
        assert_eq!(map.at(4), (FOUR, 0));
        assert_eq!(map.at(19), (FOUR, 15));
        assert_eq!(map.at(20), (FOUR, 0));
        assert_eq!(map.at(40), (FOUR, 0));
    }

    fn note(start_step: u32, length_steps: u32) -> Note {
        Note::new(start_step, 60, length_steps, 100)
    }

    #[test]
    fn a_chorale_upbeat_is_found_from_where_its_long_notes_fall() {
        // Quarter notes on every beat, half notes on beats 1 and 3: once from the downbeat,
        // once after a one-quarter upbeat.
        let piece = |upbeat: u32| {
            let mut notes = vec![note(0, 4); upbeat.min(1) as usize];
            for bar in 0..8 {
                let start = upbeat + 16 * bar;
                notes.extend([note(start, 8), note(start + 8, 4), note(start + 12, 4)]);
            }
            notes
        };
        assert_eq!(detect_pickup_steps(&piece(0), FOUR, 4), 0);
        assert_eq!(detect_pickup_steps(&piece(4), FOUR, 4), 4);
        // A jig (6/8, 12 steps) with an eighth-note pickup and dotted quarters on the beats.
        let mut jig = vec![note(0, 2)];
        for bar in 0..8 {
            let start = 2 + 12 * bar;
            jig.extend([
                note(start, 6),
                note(start + 6, 2),
                note(start + 8, 2),
                note(start + 10, 2),
            ]);
        }
        assert_eq!(detect_pickup_steps(&jig, ts(6, 8), 4), 2);
    }

    #[test]
    fn bars_before_the_first_time_signature_are_four_four() {
        let map = MeterMap::from_bars(&[(32, ts(3, 4))], 4);
        assert_eq!(map.at(17), (FOUR, 1));
        assert_eq!(map.at(32), (ts(3, 4), 0));
        assert_eq!(MeterMap::from_bars(&[], 4), MeterMap::constant(FOUR, 4));
    }
}
