//! How often `meter::detect_pickup_steps` finds the first downbeat of the dataset pieces,
//! against the ground truth of `docs/data/pickups.csv` (from the music21 scores), per
//! dataset and metre. Needs `../shared/data`:
//! `cargo run --release --example pickup_accuracy`.

use std::collections::BTreeMap;
use std::path::Path;

use phrasegen::midi::{import_file, ImportOptions};

fn main() {
    let truth = std::fs::read_to_string("docs/data/pickups.csv").expect("docs/data/pickups.csv");
    let mut lines = truth.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).expect(name);
    let (dataset, split, file) = (col("dataset"), col("split"), col("file"));
    let downbeat = col("true_first_downbeat_quarters");
    let options = ImportOptions::default();
    let spq = options.steps_per_quarter;
    // (dataset, metre) -> (pieces, found, found by assuming no pickup)
    let mut tally: BTreeMap<(String, String), (usize, usize, usize)> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let path = format!("../shared/data/{}/{}/{}", f[dataset], f[split], f[file]);
        let Ok(imported) = import_file(Path::new(&path), &options) else {
            eprintln!("cannot read {path}");
            continue;
        };
        let Ok(quarters) = f[downbeat].parse::<f64>() else {
            continue;
        };
        let want = (quarters * f64::from(spq)).round() as u32;
        let ts = imported.phrase.time_signature;
        let row = tally
            .entry((
                f[dataset].into(),
                format!("{}/{}", ts.numerator, ts.denominator),
            ))
            .or_default();
        row.0 += 1;
        row.1 += usize::from(imported.meters.pickup_steps() == want);
        row.2 += usize::from(want == 0);
    }
    println!("| dataset | metre | pieces | first downbeat found | assuming no pickup |");
    println!("|---|---|---|---|---|");
    let mut all = (0, 0, 0);
    for ((d, m), (n, found, none)) in &tally {
        println!("| {d} | {m} | {n} | {found} | {none} |");
        all = (all.0 + n, all.1 + found, all.2 + none);
    }
    let pct = |k: usize| 100.0 * k as f64 / all.0.max(1) as f64;
    println!(
        "| all | | {} | {} ({:.1}%) | {} ({:.1}%) |",
        all.0,
        all.1,
        pct(all.1),
        all.2,
        pct(all.2)
    );
}
