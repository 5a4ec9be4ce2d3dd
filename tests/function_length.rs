//! No function in `src/` runs over [`MAX_LINES`] lines (issue 22: a long function is split
//! by concern, so each can be read on one screen). Read from the source text as `rustfmt`
//! writes it: a function's body closes on a line holding only `}` at the indentation its
//! `fn` line has. Unit tests (`#[cfg(test)]` modules, at the end of a file) are left out.
//!
//! `cargo test --test function_length -- --nocapture` prints the longest functions.

use std::path::Path;

#[path = "common/source_files.rs"]
mod source_files;
use source_files::rust_files;

/// The longest a function may be, from its `fn` line to its closing brace.
const MAX_LINES: usize = 80;

/// One function as read: where it starts and how many lines it spans.
#[derive(Debug, PartialEq)]
struct Function {
    name: String,
    line: usize,
    lines: usize,
}

/// The name of the function a line declares, if it declares one (`pub(crate) unsafe fn x`).
fn declared_name(line: &str) -> Option<&str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let fn_at = words.iter().position(|w| *w == "fn")?;
    let qualifiers_only = words[..fn_at].iter().all(|w| {
        w.starts_with("pub") || matches!(*w, "const" | "unsafe" | "async" | "extern" | "\"C\"")
    });
    let name = words.get(fn_at + 1)?;
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (qualifiers_only && end > 0).then(|| &name[..end])
}

/// Every function with a body in `text`, up to the first `#[cfg(test)]`.
fn functions(text: &str) -> Vec<Function> {
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = declared_name(line) else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        // The signature ends at the first line ending in `{` (a body) or `;` (none).
        let Some(open) = (i..lines.len()).find(|&j| {
            let l = lines[j].trim_end();
            l.ends_with('{') || l.ends_with(';') || (j == i && l.ends_with('}'))
        }) else {
            continue;
        };
        let opened = lines[open].trim_end();
        let close = if opened.ends_with(';') {
            continue;
        } else if opened.ends_with('}') {
            open
        } else {
            match (open + 1..lines.len()).find(|&k| {
                lines[k].trim() == "}" && lines[k].len() - lines[k].trim_start().len() == indent
            }) {
                Some(k) => k,
                None => continue,
            }
        };
        out.push(Function {
            name: name.to_string(),
            line: i + 1,
            lines: close - i + 1,
        });
    }
    out
}

#[test]
fn no_function_in_src_runs_over_80_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all: Vec<(usize, String)> = Vec::new();
    for path in rust_files(&src) {
        let text = std::fs::read_to_string(&path).unwrap();
        let rel = path.strip_prefix(&src).unwrap().display().to_string();
        for f in functions(&text) {
            all.push((f.lines, format!("src/{rel}:{} {}", f.line, f.name)));
        }
    }
    all.sort_unstable_by(|a, b| b.cmp(a));
    assert!(all.len() > 500, "only {} functions read", all.len());
    for (lines, at) in all.iter().take(10) {
        println!("{lines:4} {at}");
    }
    let long: Vec<_> = all.iter().filter(|(n, _)| *n > MAX_LINES).collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines: {long:?}"
    );
}

#[test]
fn the_reader_measures_bodies_signatures_and_one_liners() {
    let text = "\
pub(crate) fn short(a: u8) -> u8 { a }

impl X {
    /// Doc.
    pub unsafe fn method(
        &self,
        b: u8,
    ) -> u8
    where
        u8: Copy,
    {
        let c = {
            b
        };
        c
    }

    fn declared(&self);
}
// fn in a comment
let text = \"fn not_code\";

#[cfg(test)]
mod tests {
    fn hidden() {}
}
";
    let found = functions(text);
    assert_eq!(
        found,
        vec![
            Function {
                name: "short".into(),
                line: 1,
                lines: 1
            },
            Function {
                name: "method".into(),
                line: 5,
                lines: 12
            },
        ]
    );
}
