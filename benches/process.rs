//! `cargo bench --bench process`: the cost of `process()` per 512-sample block at 48 kHz
//! with a phrase playing and nothing pending (the steady state a DAW sees), through the same
//! test host the plugin tests use; then the same while *Learn from folder…* fine-tunes the
//! default model in the background (it must not change).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use phrasegen::plugin::PhraseGen;
use test_host::Host;

/// The DAW-imitating host the plugin tests use.
#[allow(dead_code)]
#[path = "../tests/common/test_host.rs"]
mod test_host;

/// Made-up clips to learn from.
#[path = "../tests/common/styles.rs"]
mod styles;

fn benches(c: &mut Criterion) {
    let mut host = Host::new(PhraseGen::default(), 48_000.0, 512, 120.0);
    host.run_until_playing(1, 5000);
    host.settle();
    host.blocks(10);
    time_blocks(c, &mut host, "process() per 512-sample block");

    let dir = tempfile::tempdir().unwrap();
    styles::write_folder(&dir.path().join("clips"), 12, |i| {
        styles::arpeggio_piece(4, i)
    });
    let learning = phrasegen::plugin::learn::Learning::start_with(
        "bach-chorales".into(),
        dir.path().join("clips"),
        dir.path().join("models"),
        |r| {
            r.epochs = 1_000_000;
            r.patience = 0;
        },
        |_| {},
    );
    while learning.view().fraction == 0.0 {
        assert!(learning.is_running(), "{:?}", learning.view());
        host.blocks(10);
    }
    time_blocks(
        c,
        &mut host,
        "process() per 512-sample block while learning",
    );
    learning.cancel();
    learning.join();
}

/// Times `process()` alone, not the host's bookkeeping around it.
fn time_blocks(c: &mut Criterion, host: &mut Host, name: &str) {
    c.bench_function(name, |b| {
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
