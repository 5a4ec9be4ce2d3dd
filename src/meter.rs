//! Where each grid step of a piece falls in its bar, and in which metre: what an event model
//! hears besides the notes. A file's time signatures can change anywhere (570 of the 720
//! fiddle-tune training files do); reading only the first one and counting bars from the
//! start puts every bar line after a change, or after a pickup written out as a short bar
//! (a 1/4 bar at a repeat), off the music.
//!
//! A [`MeterMap`] lists the bars as the file's time-signature map gives them. A bar at most
//! half as long as the bar after it is a pickup: it is heard as the last steps of a bar in
//! the next bar's metre (an anacrusis leads into a downbeat; it is not one).

use crate::phrase::TimeSignature;

/// One bar: where it starts, its metre, and the position in the bar its first step has
/// (0, or the steps a pickup lacks to make a whole bar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bar {
    start_step: u32,
    meter: TimeSignature,
    first_position: u32,
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
        let mut out = Vec::with_capacity(starts.len());
        for (i, &(start, meter)) in starts.iter().enumerate() {
            let full = meter.steps_per_bar(spq);
            let bar = match starts.get(i + 1) {
                Some(&(end, next_meter)) => {
                    let (length, next_full) = (end - start, next_meter.steps_per_bar(spq));
                    if 2 * length <= next_full && length < full.max(next_full) {
                        Bar {
                            start_step: start,
                            meter: next_meter,
                            first_position: next_full - length,
                        }
                    } else {
                        Bar {
                            start_step: start,
                            meter,
                            first_position: 0,
                        }
                    }
                }
                None => Bar {
                    start_step: start,
                    meter,
                    first_position: 0,
                },
            };
            // Consecutive whole bars in one metre are one entry: positions wrap by it.
            let merges = out.last().is_some_and(|last: &Bar| {
                last.meter == bar.meter
                    && last.first_position == 0
                    && bar.first_position == 0
                    && (bar.start_step - last.start_step).is_multiple_of(full)
            });
            if !merges {
                out.push(bar);
            }
        }
        Self {
            steps_per_quarter: spq,
            bars: out,
        }
    }

    /// The metre the piece starts in (after a pickup: the metre it leads into).
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
        let since = step - bar.start_step + bar.first_position;
        (bar.meter, since % full)
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
    fn a_short_bar_written_at_a_repeat_is_a_pickup_into_the_next_bar() {
        // 4/4, a 1/4 bar (4 steps) written out at the repeat, then 4/4 again: every later
        // bar line stays on the music, and the pickup is the last beat of a 4/4 bar.
        let map = MeterMap::from_bars(&[(0, FOUR), (16, ts(1, 4)), (20, FOUR), (36, FOUR)], 4);
        assert_eq!(positions(&map, 16), (0..16).collect::<Vec<_>>());
        assert_eq!(map.at(16), (FOUR, 12));
        assert_eq!(map.at(19), (FOUR, 15));
        assert_eq!(map.at(20), (FOUR, 0));
        assert_eq!(map.at(36), (FOUR, 0));
        assert_eq!(map.at(40), (FOUR, 4));
    }

    #[test]
    fn a_piece_opening_with_a_short_bar_starts_on_its_upbeat() {
        let map = MeterMap::from_bars(&[(0, ts(1, 8)), (2, ts(6, 8))], 4);
        assert_eq!(map.first_meter(), ts(6, 8));
        assert_eq!(map.at(0), (ts(6, 8), 10));
        assert_eq!(map.at(2), (ts(6, 8), 0));
    }

    #[test]
    fn a_bar_of_another_metre_longer_than_half_a_bar_is_its_own_bar() {
        // 4/4, one 3/4 bar, 4/4: a real change of metre, not a pickup.
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
