//! Where each grid step of a piece falls in its bar, and in which metre: what an event model
//! hears besides the notes. A file's time signatures can change anywhere; reading only the
//! first one and counting bars from the start puts every bar line after a change that is
//! not on that grid off the file's own bars.
//!
//! A [`MeterMap`] lists the bars as the file's time-signature map gives them (a change in
//! mid-bar starts a new bar, as MIDI defines). It does not find pickups a file leaves
//! unmarked: in our datasets most pieces open with one (67% of the chorales, 74% of the
//! fiddle tunes; `docs/data/pickups.md`), so their bar lines are a pickup's length early.

use crate::phrase::TimeSignature;

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
        let mut starts: Vec<(u32, TimeSignature)> = Vec::with_capacity(bars.len() + 1);
        if bars.first().is_none_or(|&(at, _)| at > 0) {
            starts.push((0, TimeSignature::FOUR_FOUR));
        }
        for &(at, meter) in bars {
            if starts.last().is_none_or(|&(last, _)| at > last) {
                starts.push((at, meter));
            }
        }
        let mut out: Vec<Bar> = Vec::with_capacity(starts.len());
        for &(start, meter) in &starts {
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
            bars: out,
        }
    }

    /// The metre the piece starts in.
    pub fn first_meter(&self) -> TimeSignature {
        self.bars[0].meter
    }

    /// Whether the piece keeps one metre with whole bars from its first step.
    pub fn is_constant(&self) -> bool {
        self.bars.len() == 1
    }

    /// The metre at `step` and the steps since its bar line.
    pub fn at(&self, step: u32) -> (TimeSignature, u32) {
        let i = self.bars.partition_point(|b| b.start_step <= step).max(1) - 1;
        let bar = self.bars[i];
        let full = bar.meter.steps_per_bar(self.steps_per_quarter);
        (bar.meter, (step - bar.start_step) % full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR: TimeSignature = TimeSignature::FOUR_FOUR;
    const fn ts(numerator: u8, denominator: u8) -> TimeSignature {
        TimeSignature {
            numerator,
            denominator,
        }
    }

    fn positions(map: &MeterMap, steps: u32) -> Vec<u32> {
        (0..steps).map(|s| map.at(s).1).collect()
    }

    #[test]
    fn a_constant_metre_wraps_at_its_bar_length() {
        let map = MeterMap::constant(ts(3, 4), 4);
        assert!(map.is_constant());
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
    fn bars_before_the_first_time_signature_are_four_four() {
        let map = MeterMap::from_bars(&[(32, ts(3, 4))], 4);
        assert_eq!(map.at(17), (FOUR, 1));
        assert_eq!(map.at(32), (ts(3, 4), 0));
        assert_eq!(MeterMap::from_bars(&[], 4), MeterMap::constant(FOUR, 4));
    }
}
