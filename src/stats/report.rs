//! Tables: one column of passages (the real music) as the reference, other columns
//! (generated phrases, other splits) beside it with their relative difference and
//! histogram overlap, printed as a Markdown table a terminal shows aligned.

use serde::Serialize;

use super::metrics::{Metric, PassageStats};
use super::summary::{histogram_overlap, relative_difference, Summary};

/// The statistics of a set of passages under one name ("real test", "T=1.0").
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub stats: Vec<PassageStats>,
}

impl Column {
    /// The defined values of one metric, in passage order.
    pub fn values(&self, metric: Metric) -> Vec<f64> {
        self.stats.iter().filter_map(|s| metric.value(s)).collect()
    }
}

/// One column's figures for one metric, compared with the reference column.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Cell {
    pub summary: Option<Summary>,
    /// `(mean - reference mean) / |reference mean|`.
    pub relative_difference: Option<f64>,
    /// Histogram overlap with the reference (1 = the same distribution).
    pub overlap: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub metric: Metric,
    pub label: &'static str,
    pub reference: Option<Summary>,
    pub others: Vec<Cell>,
}

/// A comparison table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    pub reference: String,
    pub reference_passages: usize,
    pub others: Vec<String>,
    pub other_passages: Vec<usize>,
    pub rows: Vec<Row>,
}

impl Table {
    pub fn compare(reference: &Column, others: &[&Column], metrics: &[Metric]) -> Self {
        let rows = metrics
            .iter()
            .map(|&metric| {
                let base = reference.values(metric);
                let base_summary = Summary::of(&base);
                let others = others
                    .iter()
                    .map(|c| {
                        let values = c.values(metric);
                        let summary = Summary::of(&values);
                        Cell {
                            summary,
                            relative_difference: base_summary
                                .zip(summary)
                                .and_then(|(b, s)| relative_difference(b.mean, s.mean)),
                            overlap: histogram_overlap(&base, &values),
                        }
                    })
                    .collect();
                Row {
                    metric,
                    label: metric.label(),
                    reference: base_summary,
                    others,
                }
            })
            .collect();
        Self {
            reference: reference.name.clone(),
            reference_passages: reference.stats.len(),
            others: others.iter().map(|c| c.name.clone()).collect(),
            other_passages: others.iter().map(|c| c.stats.len()).collect(),
            rows,
        }
    }

    /// The full table: per column mean ± sd, relative difference, overlap.
    pub fn to_markdown(&self) -> String {
        let mut header = vec![
            "metric".to_string(),
            format!("{} ({})", self.reference, self.reference_passages),
        ];
        for (name, n) in self.others.iter().zip(&self.other_passages) {
            header.push(format!("{name} ({n})"));
            header.push("diff".into());
            header.push("overlap".into());
        }
        let rows = self
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![
                    row.label.to_string(),
                    format_summary(row.reference, row.metric, self.reference_passages),
                ];
                for (cell, &n) in row.others.iter().zip(&self.other_passages) {
                    cells.push(format_summary(cell.summary, row.metric, n));
                    cells.push(
                        cell.relative_difference
                            .map_or("–".into(), format_difference),
                    );
                    cells.push(cell.overlap.map_or("–".into(), |o| format!("{o:.2}")));
                }
                cells
            })
            .collect::<Vec<_>>();
        markdown(&header, &rows)
    }

    /// Only the means: one row per column (the reference first), one column per metric.
    pub fn to_markdown_transposed(&self) -> String {
        let mut header = vec!["".to_string()];
        header.extend(self.rows.iter().map(|r| r.label.to_string()));
        // One column's line: its name, then the summary `of` each row, over `n` passages.
        let line = |name: &str, n: usize, of: &dyn Fn(&Row) -> Option<Summary>| {
            std::iter::once(name.to_string())
                .chain(self.rows.iter().map(|r| format_summary(of(r), r.metric, n)))
                .collect::<Vec<_>>()
        };
        let mut rows = vec![line(&self.reference, self.reference_passages, &|r| {
            r.reference
        })];
        for (i, (name, &n)) in self.others.iter().zip(&self.other_passages).enumerate() {
            rows.push(line(name, n, &|r| r.others[i].summary));
        }
        markdown(&header, &rows)
    }
}

/// `+12%`, or `×15` once the other column is more than ten times the reference.
fn format_difference(d: f64) -> String {
    if d > 9.0 {
        format!("×{:.0}", d + 1.0)
    } else {
        format!("{:+.0}%", d * 100.0)
    }
}

/// `mean ± sd` (percentages for shares), with the count when some passages had no value.
fn format_summary(summary: Option<Summary>, metric: Metric, passages: usize) -> String {
    let Some(s) = summary else {
        return "–".into();
    };
    let text = if metric.is_share() {
        format!("{:.1}% ± {:.1}", s.mean * 100.0, s.sd * 100.0)
    } else {
        format!("{:.2} ± {:.2}", s.mean, s.sd)
    };
    if s.n < passages {
        format!("{text} (n={})", s.n)
    } else {
        text
    }
}

/// A Markdown table with padded columns.
pub(super) fn markdown(header: &[String], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain(std::iter::once(header[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header);
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
    for r in rows {
        out.push_str(&line(r));
    }
    out
}
