#!/usr/bin/env bash
# Retrains the shipped model v2 files in models/ with this project's trainer, from the
# datasets in ../shared/data (train/valid/test splits). Each run writes NAME.safetensors,
# NAME.train.csv, NAME.loss.png and NAME.command.txt (the exact command and every resolved
# hyper-parameter). The three runs go in parallel, one thread each (2-core machine: about
# 40-60 minutes in all). Then: `phrasegen stats` for models/*.stats.txt and
# `bash scripts/render-examples.sh` for the README's pictures and audio.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
[ -n "${P:-}" ] || cargo build --release --bin phrasegen
P=${P:-target/release/phrasegen}
COMMON=(--architecture events --batch-size 32 --learning-rate 2e-3 --dropout 0.2
        --weight-decay 1e-4 --transpose 5 --threads 1)
$P train "${COMMON[@]}" --max-voices 4 --epochs 24 --patience 4 \
  --data "$DATA/bach-chorales" --out models/bach-chorales --name bach-chorales \
  > /tmp/train-bach-chorales.log 2>&1 &
$P train "${COMMON[@]}" --max-voices 1 --epochs 10 --patience 3 \
  --data "$DATA/fiddle-tunes" --out models/fiddle-tunes --name fiddle-tunes \
  > /tmp/train-fiddle-tunes.log 2>&1 &
$P train "${COMMON[@]}" --max-voices 6 --epochs 40 --patience 5 \
  --steps-per-quarter 1 --representation active-only --pitch-range 21..108 \
  --data "$DATA/bach-chorales" --out models/jsb-quarter-events --name jsb-quarter-events \
  > /tmp/train-jsb-quarter-events.log 2>&1 &
wait
echo "done: see models/*.train.csv and /tmp/train-*.log"
