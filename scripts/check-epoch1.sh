#!/usr/bin/env bash
# Retrains each shipped model for one epoch exactly as scripts/train-models.sh does and
# checks that the epoch-1 training and validation losses equal those in the shipped
# models/*.train.csv: a refactor of the trainer must not change what it computes. Needs
# ../shared/data; about 2-3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
EPOCHS=1 OUT="$OUT" bash scripts/train-models.sh > /dev/null
status=0
for name in bach-chorales fiddle-tunes jsb-quarter-events; do
  want=$(sed -n 2p "models/$name.train.csv" | cut -d, -f1-4)
  got=$(sed -n 2p "$OUT/$name.train.csv" | cut -d, -f1-4)
  if [ "$want" = "$got" ]; then
    echo "same   $name: $got"
  else
    echo "DIFFER $name: shipped $want, now $got"
    status=1
  fi
done
exit $status
