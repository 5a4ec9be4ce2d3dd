#!/usr/bin/env bash
# Retrains the shipped model v2 files in models/ with this project's trainer, from the
# datasets in ../shared/data (train/valid/test splits). Each run writes NAME.safetensors,
# NAME.train.csv, NAME.loss.png and NAME.command.txt (the exact command and every resolved
# hyper-parameter). The three runs go in parallel, one thread each (2-core machine: about
# 60-80 minutes in all). Weight decay 1e-2 was chosen over 1e-4 on the valid split. Then:
# `phrasegen stats` for models/*.stats.txt and `bash scripts/render-examples.sh` for the
# README's pictures and audio.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
[ -n "${P:-}" ] || cargo build --release --bin phrasegen
P=${P:-target/release/phrasegen}
OUT=${OUT:-models}   # another folder to compare runs before replacing the shipped files
# EPOCHS=1 runs one epoch of each (scripts/check-epoch1.sh compares them with the shipped logs)
mkdir -p "$OUT"
# (One pass per epoch, as when these were trained: the default is now at least 16 batches.)
COMMON=(--architecture events --batch-size 32 --learning-rate 2e-3 --weight-decay 1e-2
        --min-batches-per-epoch 1)
# The chorales are learnt in one key (every piece moved home to C by its key signature, no
# transposition; more dropout against the smaller data): models/README.md, "One key".
$P train "${COMMON[@]}" --threads 1 --max-voices 4 --epochs ${EPOCHS:-80} --patience 8 \
  --normalise-key --transpose 0 --dropout 0.45 \
  --data "$DATA/bach-chorales" --out "$OUT/bach-chorales" --name bach-chorales \
  > /tmp/train-bach-chorales.log 2>&1 &
# Reels are written in 2/2 or 4/4 for the same music: the network hears cut time as common time
# (models/README.md, "Cut time heard as common time"). A 1/12 grid holds the triplets, a
# window of 256 events the same music as 128 on the 1/4 grid, and two threads keep it to
# about 30 minutes alone (the weights depend on the thread count through the order of sums,
# so it stays 2) (models/README.md, "A 1/12 grid for the triplets").
$P train "${COMMON[@]}" --dropout 0.2 --transpose 5 --max-voices 1 --epochs ${EPOCHS:-40} --patience 6 \
  --cut-time-as-common --steps-per-quarter 12 --min-note-quarters 0.15 --window 256 --threads 2 \
  --data "$DATA/fiddle-tunes" --out "$OUT/fiddle-tunes" --name fiddle-tunes \
  > /tmp/train-fiddle-tunes.log 2>&1 &
$P train "${COMMON[@]}" --threads 1 --dropout 0.2 --transpose 5 --max-voices 6 --epochs ${EPOCHS:-200} --patience 10 \
  --steps-per-quarter 1 --representation active-only --pitch-range 21..108 \
  --data "$DATA/bach-chorales" --out "$OUT/jsb-quarter-events" --name jsb-quarter-events \
  > /tmp/train-jsb-quarter-events.log 2>&1 &
wait
# The built-in models' weights are rounded to f16: a step streams half the bytes
# (models/README.md, "Half-precision weights").
for name in fiddle-tunes bach-chorales; do
  $P half-weights "$OUT/$name.safetensors" -o "$OUT/$name.safetensors"
done
echo "done: see $OUT/*.train.csv and /tmp/train-*.log"
