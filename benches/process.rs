//! `cargo bench --bench process`: the cost of `process()` per 512-sample block at 48 kHz
//! with a phrase playing and nothing pending (the steady state a DAW sees), through the same
//! test host the plugin tests use.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use phrasegen::plugin::PhraseGen;
use test_host::Host;

/// The DAW-imitating host the plugin tests use.
#[allow(dead_code)]
#[path = "../tests/common/test_host.rs"]
mod test_host;

fn benches(c: &mut Criterion) {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 5000);
    host.settle();
    host.blocks(10);
    // Only the call itself is timed, not the host's bookkeeping around it.
    c.bench_function("process() per 512-sample block", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                host.block_with(|process| {
                    let started = Instant::now();
                    process();
                    total += started.elapsed();
                });
            }
            total
        })
    });
}

criterion_group!(group, benches);
criterion_main!(group);
