//! Repeats the network chooses: real tunes repeat a bar within eight bars in four phrases
//! of five, mostly four bars back (a phrase played again), and chorales in one of three;
//! a network drawing event by event almost never does (6% of fiddle phrases), because it
//! cannot recall a bar exactly. So each bar it writes freely is also tried as a repeat of
//! each of the six bars before it, all of them side by side in one batch, and
//! the network scores each try as it scores its own draws (mean log-probability per
//! event, temperature 1, over the events the rules allow). The likeliest repeat replaces
//! the fresh bar when it scores at least as well, give or take the bias. The network hears
//! the bar it keeps, so what follows fits it.

use std::ops::Range;

use super::{plan_step, Draft, Writer};
use crate::infer::FastState;

/// How many bars back a bar may be repeated from (real tunes and chorales repeat mostly
/// four bars back, some one, two, five or six). Each source tried is a row of the batch,
/// and a row costs its own multiply-adds over the weights (docs/PERFORMANCE.md, "Repeats,
/// cheaper").
pub const REPEAT_DISTANCES: [u32; 6] = [1, 2, 3, 4, 5, 6];

/// Fewest notes a bar must strike to be repeated.
const MIN_STRIKES: u32 = 2;

/// Writes every draft bar by bar, keeping a repeat of an earlier bar where the network
/// finds it likelier per event (plus `bias` nats) than the bar it drew. The fresh bars and
/// their trials are written side by side in one batch, one pass of steps over the bar
/// instead of two (each row's numbers are the same in any batch).
pub(super) fn write(writer: &Writer, drafts: &mut [Draft], state: &mut FastState, bias: f32) {
    let rules = writer.rules;
    let spb = rules.steps_per_bar;
    let width = writer.model.input_size();
    let mut inputs = vec![0.0f32; drafts.len() * width];
    for bar in 0..rules.total_steps.div_ceil(spb) {
        let end = ((bar + 1) * spb).min(rules.total_steps);
        // Bars the form or the user already fixed are not tried.
        let free = bar > 0 && rules.free_steps[bar * spb] > 0;
        let (trials, spans) = if free {
            trials_of(writer, bar, drafts)
        } else {
            (Vec::new(), Vec::new())
        };
        if trials.is_empty() {
            writer.write(drafts, &mut inputs, state, end);
            continue;
        }
        let n = drafts.len();
        let start: Vec<(f64, u32)> = drafts.iter().map(|d| (d.log_prob, d.drawn)).collect();
        let mut all: Vec<Draft> = drafts.iter().cloned().chain(trials).collect();
        let mut all_state = writer.model.state(all.len());
        for (i, span) in spans.iter().enumerate() {
            all_state.copy_row(i, state, i);
            for k in span.clone() {
                all_state.copy_row(n + k, state, i);
            }
        }
        let mut all_inputs = vec![0.0f32; all.len() * width];
        writer.write(&mut all, &mut all_inputs, &mut all_state, end);
        let trials = all.split_off(n);
        for (i, draft) in all.into_iter().enumerate() {
            drafts[i] = draft;
            state.copy_row(i, &all_state, i);
        }
        keep_likelier(
            writer, &start, &trials, &spans, drafts, state, &all_state, bias,
        );
    }
}

/// Each draft's bar `bar` as a repeat of each earlier bar in reach, from where the draft
/// stands at the bar line, and per draft where its trials sit in the list.
fn trials_of(writer: &Writer, bar: usize, start: &[Draft]) -> (Vec<Draft>, Vec<Range<usize>>) {
    let rules = writer.rules;
    let spb = rules.steps_per_bar;
    let mut trials = Vec::with_capacity(start.len() * REPEAT_DISTANCES.len());
    let mut spans = Vec::with_capacity(start.len());
    for draft in start {
        let first = trials.len();
        let mut tried: Vec<usize> = Vec::with_capacity(REPEAT_DISTANCES.len());
        for back in REPEAT_DISTANCES
            .iter()
            .filter(|&&back| back as usize <= bar)
        {
            let source = bar as u32 - back;
            // A bar that sounds like one already tried (often a repeat itself) is not
            // tried again: the network would score the same events the same way.
            let s = source as usize * spb;
            let same = |t: &usize| {
                let roll = &draft.roll;
                roll.active[s..s + spb] == roll.active[*t..*t + spb]
                    && roll.onset[s..s + spb] == roll.onset[*t..*t + spb]
            };
            // A bar of one held note scores high on few, sure events: repeated, it would
            // make a drone. Only a bar that strikes two notes or more is repeated.
            let strikes: u32 = draft.roll.onset[s..s + spb]
                .iter()
                .map(|o| o.count_ones())
                .sum();
            if strikes < MIN_STRIKES || tried.iter().any(same) {
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

/// Swaps in, per draft, its likeliest trial where that wins against the fresh bar (whose
/// log-probability and count stood at `start` at the bar line).
#[allow(clippy::too_many_arguments)]
fn keep_likelier(
    writer: &Writer,
    start: &[(f64, u32)],
    trials: &[Draft],
    spans: &[Range<usize>],
    drafts: &mut [Draft],
    state: &mut FastState,
    all_state: &FastState,
    bias: f32,
) {
    let (rules, n) = (writer.rules, drafts.len());
    let mean = |log_prob: f64, drawn: u32| log_prob / f64::from(drawn.max(1));
    for (i, draft) in drafts.iter_mut().enumerate() {
        let fresh = mean(draft.log_prob - start[i].0, draft.drawn - start[i].1);
        let (best, best_score) = spans[i]
            .clone()
            .map(|k| (k, mean(trials[k].log_prob, trials[k].drawn)))
            .fold((usize::MAX, f64::NEG_INFINITY), |a, b| {
                if b.1 > a.1 {
                    b
                } else {
                    a
                }
            });
        if best == usize::MAX || best_score + f64::from(bias) < fresh {
            continue;
        }
        let trial = &trials[best];
        let mut kept = trial.clone();
        // The fresh bar's draws are spent: what follows draws on from there.
        kept.rng = draft.rng.clone();
        kept.trial_source = None;
        kept.log_prob = start[i].0 + trial.log_prob;
        kept.drawn = start[i].1 + trial.drawn;
        if kept.step < rules.total_steps {
            plan_step(&mut kept, rules, writer.kept);
        }
        *draft = kept;
        state.copy_row(i, all_state, n + best);
    }
}
