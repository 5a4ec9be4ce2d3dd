//! `cargo bench`: the generation figures of `phrasegen bench` under criterion's statistics
//! (model load, one 512-step phrase, 8 batched variations, one network step).

use criterion::{criterion_group, criterion_main, Criterion};
use phrasegen::builtin::default_model;
use phrasegen::family::{generate, generate_variations};
use phrasegen::sample::GenerateParams;

/// 32 bars of 4/4 on the default model's sixteenth grid: 512 steps.
fn phrase_params() -> GenerateParams {
    GenerateParams {
        bars: 32,
        seed: 7,
        ..GenerateParams::default()
    }
}

fn benches(c: &mut Criterion) {
    let model = default_model().unwrap();
    assert_eq!(model.config.steps_per_quarter, 4, "512 steps = 32 bars");
    c.bench_function("model load (embedded default)", |b| {
        b.iter(|| default_model().unwrap())
    });
    let params = phrase_params();
    let mut group = c.benchmark_group("generate");
    group.sample_size(20);
    group.bench_function("512-step phrase", |b| {
        b.iter(|| generate(&model, &params).unwrap())
    });
    group.bench_function("8 variations of 512 steps", |b| {
        b.iter(|| generate_variations(&model, &params, 8).unwrap())
    });
    group.finish();
    let mut state = model.state(1);
    let frame = vec![0.0f32; model.frame_size()];
    c.bench_function("one network step", |b| {
        b.iter(|| model.step(&frame, &mut state))
    });
}

criterion_group!(generation, benches);
criterion_main!(generation);
