//! `cargo bench --bench training`: one training step of a frame model of the PyTorch
//! reference's shape (batch 64 x 32 steps, random frames with 5% of notes on) on the fused
//! trainer, 2 threads and 1, beside candle's autograd step, which the fused trainer
//! replaced (candle's CPU kernels use every core). `phrasegen bench --train-only` sets the
//! fused figure beside PyTorch's.

use criterion::{criterion_group, criterion_main, Criterion};
use phrasegen::builtin::default_model;
use phrasegen::model::{Architecture, ModelConfig, PhraseModel};
use phrasegen::roll::{PitchRange, Representation};
use phrasegen::train::fused_model::FusedPhraseModel;
use phrasegen::train::fused_trainer::{split_windows, FusedTrainer, Targets};
use rand::{Rng, SeedableRng};

/// Candle's training step (the fused trainer's source of truth in the tests).
#[path = "../tests/common/candle_training.rs"]
mod candle_training;

const BATCH: usize = 64;
const SEQ: usize = 32;

fn benches(c: &mut Criterion) {
    let config = ModelConfig {
        name: "reference-shape".into(),
        representation: Representation::ActiveOnly,
        pitch_range: PitchRange::FULL,
        architecture: Architecture::Frame,
        steps_per_quarter: 4,
        ..default_model().unwrap().config.clone()
    };
    let width = config.frame_size();
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0);
    let windows: Vec<f32> = (0..BATCH * (SEQ + 1) * width)
        .map(|_| if rng.random_bool(0.05) { 1.0 } else { 0.0 })
        .collect();
    let (inputs, targets) = split_windows(&windows, BATCH, SEQ, width);
    let mut group = c.benchmark_group("training step, batch 64 x 32");
    group.sample_size(10);
    for threads in [2, 1] {
        let tensors = PhraseModel::init_tensors(&config, 1).unwrap();
        let model = FusedPhraseModel::from_tensors(&config, &tensors).unwrap();
        let mut trainer = FusedTrainer::new(model, 1e-3, 0.0, 0.0, threads);
        group.bench_function(format!("fused, {threads} threads"), |b| {
            b.iter(|| trainer.step(&inputs, Targets::Frames(&targets), BATCH, SEQ, 0))
        });
    }
    let mut candle = candle_training::CandleTrainer::new(&config, 1, 1e-3);
    group.bench_function("candle autograd", |b| {
        b.iter(|| candle.step(&windows, BATCH, SEQ))
    });
    group.finish();
}

criterion_group!(training, benches);
criterion_main!(training);
