#!/usr/bin/env bash
# Retrains each shipped model for one epoch exactly as scripts/train-models.sh does and
# checks that the epoch-1 training and validation losses equal those recorded in
# scripts/epoch1-losses.txt: a refactor of the trainer must not change what it computes.
# Needs ../shared/data; a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
EPOCHS=1 OUT="$OUT" bash scripts/train-models.sh > /dev/null
status=0
for name in bach-chorales fiddle-tunes jsb-quarter-events; do
  want=$(grep "^$name " scripts/epoch1-losses.txt | cut -d' ' -f2)
  got=$(sed -n 2p "$OUT/$name.train.csv" | cut -d, -f1-4)
  if [ "$want" = "$got" ]; then
    echo "same   $name: $got"
  else
    echo "DIFFER $name: recorded $want, now $got"
    status=1
  fi
done
exit $status
