//! The crate's module structure stays a layered graph: no two modules import each other,
//! directly or around a circle, and the pure core never imports the plugin glue or the
//! command line. Read from the source text (`crate::`, `super::` and `self::` paths), so a
//! new circle fails here before a reviewer has to find it.
//!
//! `cargo test --test module_graph -- --nocapture` prints every import edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[path = "common/source_files.rs"]
mod source_files;
use source_files::rust_files;

/// Modules that sit on top of the core: the core must not import them.
const GLUE: &[&str] = &["plugin", "cli"];

/// A module path (`["sample", "events"]`) for every `.rs` file under `src/`.
fn module_files(src: &Path) -> Vec<(Vec<String>, PathBuf)> {
    let mut out: Vec<(Vec<String>, PathBuf)> = rust_files(src)
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            (module, path)
        })
        .collect();
    out.sort();
    out
}

/// The module paths a file names, resolved against its own module: `crate::a::b`,
/// `super::x`, `self::y` (inside `use` lists too: `use crate::{a, b::c}`).
fn referenced_paths(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Drop comments so doc text does not count as an import.
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    for (start, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue; // `$crate::`, `my_crate::`
        }
        let mut base: Vec<String> = if code[start..].starts_with("crate::") {
            Vec::new()
        } else {
            here.to_vec()
        };
        let mut rest = &code[start..];
        // Each `super::` climbs one module; the first `super` of a file `a/b.rs` is `a`.
        if rest.starts_with("crate::") {
            rest = &rest["crate::".len()..];
        }
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        for path in expand(rest) {
            let mut full = base.clone();
            full.extend(path);
            out.push(full);
        }
    }
    out
}

/// `a::b::{c, d::e}` -> `[a,b,c]`, `[a,b,d,e]` (names only; stops at anything else).
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut segs = Vec::new();
    let mut rest = text;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            if let Some(inner) = rest.strip_prefix('{') {
                let mut depth = 1;
                let end = inner
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '{' => 1,
                            '}' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map_or(inner.len(), |(i, _)| i);
                let mut out = Vec::new();
                let mut depth = 0;
                let mut item = String::new();
                for c in inner[..end].chars().chain([',']) {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if c == ',' && depth == 0 {
                        for tail in expand(item.trim()) {
                            let mut p = segs.clone();
                            p.extend(tail);
                            out.push(p);
                        }
                        item.clear();
                    } else {
                        item.push(c);
                    }
                }
                return out;
            }
            return vec![segs];
        }
        rest = &rest[name.len()..];
        if name == "self" {
            // `use crate::a::{self, b}`: the module itself.
        } else {
            segs.push(name);
        }
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => return vec![segs],
        }
    }
}

/// Edges between sibling modules: a reference from `a::x` to `a::y::z` is an edge
/// `x -> y` inside `a` (the children of the deepest common ancestor), keyed by that
/// ancestor.
type Edges = BTreeMap<Vec<String>, BTreeSet<(String, String)>>;

fn edges(src: &Path) -> (Edges, BTreeSet<Vec<String>>) {
    let files = module_files(src);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut out: Edges = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for target in referenced_paths(&text, module) {
            // Only the part of the path that names a module file of ours.
            let known = (1..=target.len())
                .rev()
                .map(|n| target[..n].to_vec())
                .find(|p| modules.contains(p));
            let Some(target) = known else { continue };
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue; // a module and its own parent or child
            }
            out.entry(module[..common].to_vec())
                .or_default()
                .insert((module[common].clone(), target[common].clone()));
        }
    }
    (out, modules)
}

/// Every circle among siblings, as the modules in it.
fn circles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let reaches = |from: &String, to: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            for (a, b) in edges {
                if a == n && seen.insert(b) {
                    if b == to {
                        return true;
                    }
                    stack.push(b);
                }
            }
        }
        false
    };
    let mut out: Vec<Vec<String>> = Vec::new();
    for n in &nodes {
        if out.iter().any(|c| c.contains(n)) || !reaches(n, n) {
            continue;
        }
        let circle: Vec<String> = nodes
            .iter()
            .filter(|m| reaches(n, m) && reaches(m, n))
            .map(|m| m.to_string())
            .collect();
        out.push(circle);
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let (edges, _) = edges(&src());
    let mut found = Vec::new();
    for (parent, sibling_edges) in &edges {
        for (a, b) in sibling_edges {
            println!("{}: {a} -> {b}", parent.join("::"));
        }
        for circle in circles(sibling_edges) {
            let ties: Vec<String> = sibling_edges
                .iter()
                .filter(|(a, b)| circle.contains(a) && circle.contains(b))
                .map(|(a, b)| format!("{a} -> {b}"))
                .collect();
            found.push(format!(
                "in crate{}{}: {}",
                if parent.is_empty() { "" } else { "::" },
                parent.join("::"),
                ties.join(", ")
            ));
        }
    }
    assert!(
        found.is_empty(),
        "import circles:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_core_never_imports_the_plugin_or_the_command_line() {
    let (edges, _) = edges(&src());
    let top = edges.get(&Vec::new()).cloned().unwrap_or_default();
    let upward: Vec<String> = top
        .iter()
        .filter(|(a, b)| !GLUE.contains(&a.as_str()) && GLUE.contains(&b.as_str()))
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(upward.is_empty(), "core modules importing glue: {upward:?}");
}

#[test]
fn the_reader_sees_circles_and_use_lists() {
    // The checker itself: a circle through a `use` list and `super::` is found.
    let mut e = BTreeSet::new();
    let here = vec!["sample".to_string(), "events".to_string()];
    for p in referenced_paths(
        "use super::{regrid, voice_leading::makes_parallels};\nuse crate::events::{Event, limit_voices};",
        &here,
    ) {
        e.insert(p);
    }
    assert!(e.contains(&vec!["sample".to_string(), "regrid".to_string()]));
    assert!(e.contains(&vec![
        "sample".to_string(),
        "voice_leading".to_string(),
        "makes_parallels".to_string()
    ]));
    assert!(e.contains(&vec!["events".to_string(), "limit_voices".to_string()]));
    let pairs: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(circles(&pairs), vec![vec!["a", "b", "c"]]);
}
