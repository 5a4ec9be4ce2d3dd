//! Repeats the network chooses: real tunes repeat a bar within eight bars in four phrases
//! of five, mostly four or eight bars back (a phrase or a strain played again), and chorales
//! in one of three, four to six bars back; a network drawing event by event almost never
//! does (6% of fiddle phrases), because it cannot recall a bar exactly. So each bar it
//! writes freely is also tried as a repeat of the bars its model's music repeats
//! (`sample::repeats::sources_for`), all of them side by side in one batch, and the
//! network scores each try as it scores its own draws (mean log-probability per event,
//! temperature 1, over the events the rules allow). A repeat that scores at least as well as
//! the fresh bar, give or take the bias, replaces it: the likeliest such, or for the tunes the
//! one from furthest back (a strain played again). The network hears the bar it
//! keeps, so what follows fits it. No trial plays the bar before again, nor a passage a
//! third time in a row: the music almost never does, and a network that hears a bar or a
//! phrase twice tends to play it on and on (a loop).

use std::ops::Range;

use super::{mean_log_prob, plan_step, play, Draft, Writer};
use crate::infer::{FastState, Precision};
use crate::roll::PianoRoll;
use crate::sample::repeats::{sources_for, Keep};

/// Fewest moments (steps) a bar must strike at to be repeated.
const MIN_STRIKING_STEPS: usize = 2;

/// Writes every draft bar by bar, keeping a repeat of a bar `distances` back (its model's
/// `sources_for`) where the network finds it likelier per event (plus `bias` nats) than the
/// bar it drew. Each source tried is a row of a batch that steps in int8 (`Precision::Int8`):
/// a row costs its own multiply-adds, four to an instruction in int8 (docs/PERFORMANCE.md,
/// "Trials in int8"). The fresh bars are written first; then their trials, side by side,
/// each stopping as soon as it can no longer beat its fresh bar (`Contest`), and the kept
/// bars are the same as if every trial ran to its end.
pub(super) fn write(writer: &Writer, drafts: &mut [Draft], state: &mut FastState, bias: f32) {
    let sources = sources_for(&writer.model.config);
    let distances = sources.distances;
    let rules = writer.rules;
    let spb = rules.steps_per_bar;
    let width = writer.model.input_size();
    let mut inputs = vec![0.0f32; drafts.len() * width];
    // Room for every draft's trials, sized once for the phrase when the first bar is tried
    // (a phrase too short for any trial never makes the int8 layers).
    let most_trials = drafts.len() * distances.len();
    let mut trial_room: Option<(FastState, Vec<f32>)> = None;
    for bar in 0..rules.total_steps.div_ceil(spb) {
        let end = ((bar + 1) * spb).min(rules.total_steps);
        // Bars the form or the user already fixed are not tried.
        let free = bar > 0 && rules.free_steps[bar * spb] > 0;
        let (mut trials, spans) = if free {
            trials_of(writer, bar, drafts, distances)
        } else {
            (Vec::new(), Vec::new())
        };
        if trials.is_empty() {
            writer.write(drafts, &mut inputs, state, end);
            continue;
        }
        let (trial_state, trial_inputs) = trial_room.get_or_insert_with(|| {
            let state = writer.model.state_in(most_trials, Precision::Int8);
            (state, vec![0.0f32; most_trials * width])
        });
        let start: Vec<(f64, u32)> = drafts.iter().map(|d| (d.log_prob, d.drawn)).collect();
        for (i, span) in spans.iter().enumerate() {
            for k in span.clone() {
                trial_state.copy_row(k, state, i);
            }
        }
        writer.write(drafts, &mut inputs, state, end);
        // Each trial now contests the fresh bar its draft wrote.
        for (i, span) in spans.iter().enumerate() {
            let fresh_mean = mean_log_prob(
                drafts[i].log_prob - start[i].0,
                drafts[i].drawn - start[i].1,
            );
            for trial in &mut trials[span.clone()] {
                trial.contest = Some(contest_of(trial, writer, end, fresh_mean, bias));
            }
        }
        writer.write(&mut trials, trial_inputs, trial_state, end);
        let tried = TriedBar {
            trials: &trials,
            spans: &spans,
            state: trial_state,
        };
        keep_winner(writer, sources.keep, &start, &tried, drafts, state);
    }
}

/// Whether the `back` bars before `bar` are each the bar `back` before them: the passage
/// has been heard twice, and a third time would make a loop. Tunes play a phrase a third
/// time in a row in 1.6% of bars, chorales never (models/README.md, "Loops").
fn heard_twice(roll: &PianoRoll, bar: usize, back: usize, spb: usize) -> bool {
    bar >= 2 * back
        && (1..=back).all(|k| roll.same_steps((bar - k) * spb, (bar - k - back) * spb, spb))
}

/// Most a scored event may add to a log-probability: an event the rules allow scores
/// `ln p <= 0`, give or take rounding far below this.
const ROUNDING_SLACK: f64 = 1e-6;

/// A trial repeat against the fresh bar it would replace. The trial wins only if its mean
/// log-probability per event, plus the bias, reaches the fresh bar's; every event it has
/// yet to score adds at most `ln 1 = 0`, so once even a perfect rest of the bar could not
/// get it there, it has lost and need not be written on.
#[derive(Clone, Copy, Debug)]
pub(super) struct Contest {
    fresh_mean: f64,
    bias: f64,
    /// Events the trial scores in its bar (all forced, so known before it is written).
    events: u32,
    /// How many of them have been scored when every event left is one the rules allow
    /// (a forced event the rules forbid can score above 0, so no bound holds before).
    bounded_after: u32,
    pub lost: bool,
}

impl Contest {
    /// Whether the trial, `log_prob` over `drawn` of its events so far, can no longer win.
    pub fn cannot_win(&self, log_prob: f64, drawn: u32) -> bool {
        drawn >= self.bounded_after && {
            let left = f64::from(self.events.saturating_sub(drawn));
            let best = (log_prob + ROUNDING_SLACK * left) / f64::from(self.events);
            best + self.bias < self.fresh_mean
        }
    }
}

/// A trial's contest against a fresh bar scoring `fresh_mean` per event: how many events
/// the trial's bar forces (to `end`), and after how many of them only events the rules
/// allow remain, found by playing them without the network.
fn contest_of(trial: &Draft, writer: &Writer, end: usize, fresh_mean: f64, bias: f32) -> Contest {
    let mut d = trial.clone();
    let (mut events, mut bounded_after) = (0, 0);
    while d.step < end {
        let Some(token) = d.forced.pop_front() else {
            // Not every event forced: no bound (never the case for a trial).
            bounded_after = u32::MAX;
            break;
        };
        events += 1;
        if !writer.rules.allows(&d, token) {
            bounded_after = events;
        }
        play(&mut d, token, writer.rules, writer.kept);
    }
    Contest {
        fresh_mean,
        bias: f64::from(bias),
        events,
        bounded_after,
        lost: false,
    }
}

/// Each draft's bar `bar` as a repeat of the bar each of `distances` back, from where the
/// draft stands at the bar line, and per draft where its trials sit in the list.
fn trials_of(
    writer: &Writer,
    bar: usize,
    start: &[Draft],
    distances: &[u32],
) -> (Vec<Draft>, Vec<Range<usize>>) {
    let rules = writer.rules;
    let spb = rules.steps_per_bar;
    let mut trials = Vec::with_capacity(start.len() * distances.len());
    let mut spans = Vec::with_capacity(start.len());
    for draft in start {
        let first = trials.len();
        // The bar before is never played again, nor a passage heard twice at any of the
        // distances a third time (from that distance, or from another source that sounds the
        // same); nor a bar that sounds like one already tried (often a repeat itself): the
        // network would score the same events the same way.
        let reach = distances.iter().filter(|&&back| back as usize <= bar);
        let mut tried: Vec<usize> = std::iter::once(bar - 1)
            .chain(
                reach
                    .clone()
                    .filter(|&&back| heard_twice(&draft.roll, bar, back as usize, spb))
                    .map(|&back| bar - back as usize),
            )
            .map(|source| source * spb)
            .collect();
        for back in reach {
            let source = bar as u32 - back;
            let s = source as usize * spb;
            let same = |&t: &usize| draft.roll.same_steps(s, t, spb);
            if tried.iter().any(same) {
                continue;
            }
            // A bar that strikes once and holds (one note, or one chord) scores high on few,
            // sure events: repeated, it would make a drone, which the music never does
            // (no chorale repeats a held chord in the next bar). Only a bar that strikes at
            // two moments or more is repeated; for one line, two notes or more.
            let striking_steps = draft.roll.onset[s..s + spb]
                .iter()
                .filter(|&&o| o != 0)
                .count();
            if striking_steps < MIN_STRIKING_STEPS {
                continue;
            }
            tried.push(s);
            let mut trial = draft.clone();
            trial.trial_source = Some(source);
            (trial.log_prob, trial.drawn) = (0.0, 0);
            plan_step(&mut trial, rules, writer.kept);
            trials.push(trial);
        }
        spans.push(first..trials.len());
    }
    (trials, spans)
}

/// A bar's trial repeats once written: the trials, per draft where its trials sit among
/// them, and the state they were stepped in.
struct TriedBar<'a> {
    trials: &'a [Draft],
    spans: &'a [Range<usize>],
    state: &'a FastState,
}

/// Swaps in, per draft, the trial `keep` chooses among those that win against the fresh bar
/// (whose log-probability and count stood at `start` at the bar line): a trial that lost its
/// contest scores below the fresh bar, so it could not have been one of them.
fn keep_winner(
    writer: &Writer,
    keep: Keep,
    start: &[(f64, u32)],
    tried: &TriedBar,
    drafts: &mut [Draft],
    state: &mut FastState,
) {
    let (trials, spans) = (tried.trials, tried.spans);
    let rules = writer.rules;
    for (i, draft) in drafts.iter_mut().enumerate() {
        let score = |k: usize| mean_log_prob(trials[k].log_prob, trials[k].drawn);
        let wins = |&k: &usize| {
            trials[k]
                .contest
                .is_some_and(|c| !c.lost && score(k) + c.bias >= c.fresh_mean)
        };
        let winners = spans[i].clone().filter(wins);
        let chosen = match keep {
            // The first of the likeliest, as trials are tried nearest first.
            Keep::Likeliest => winners.fold(None, |best: Option<usize>, k| match best {
                Some(b) if score(b) >= score(k) => Some(b),
                _ => Some(k),
            }),
            Keep::Farthest => winners.min_by_key(|&k| trials[k].trial_source),
        };
        let Some(best) = chosen else {
            continue;
        };
        let trial = &trials[best];
        debug_assert_eq!(Some(trial.drawn), trial.contest.map(|c| c.events));
        let mut kept = trial.clone();
        // The fresh bar's draws are spent: what follows draws on from there.
        kept.rng = draft.rng.clone();
        kept.trial_source = None;
        kept.contest = None;
        kept.log_prob = start[i].0 + trial.log_prob;
        kept.drawn = start[i].1 + trial.drawn;
        if kept.step < rules.total_steps {
            plan_step(&mut kept, rules, writer.kept);
        }
        *draft = kept;
        state.copy_row(i, tried.state, best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_loses_once_a_perfect_rest_of_its_bar_could_not_win() {
        // A bias of -0.25 asks the trial for a mean of -0.75 over its 10 events: -7.5.
        let contest = Contest {
            fresh_mean: -1.0,
            bias: -0.25,
            events: 10,
            bounded_after: 0,
            lost: false,
        };
        assert!(!contest.cannot_win(-7.0, 5));
        assert!(contest.cannot_win(-7.6, 5));
        // A tie wins.
        assert!(!contest.cannot_win(-7.5, 10));
        // An event the rules forbid, still ahead, can score above 0: no bound before it.
        let ahead = Contest {
            bounded_after: 7,
            ..contest
        };
        assert!(!ahead.cannot_win(-20.0, 6));
        assert!(ahead.cannot_win(-20.0, 7));
    }
}
