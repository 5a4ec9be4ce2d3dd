#!/usr/bin/env bash
# How the small-data recipe of `phrasegen train --from` was chosen: learning rate, epochs and
# patience, dropout and batch size on the two style corpora of scripts/fine-tune-eval.sh, each
# judged by the held-out 20% of its 40 training pieces (never by their test sets). Writes
# docs/fine-tuning/sweep.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${P:-}" ] || cargo build --release --bin phrasegen
P=${P:-target/release/phrasegen}
CORPORA=${CORPORA:-target/style-corpora}
OUT=${OUT:-target/fine-tune-sweep}
mkdir -p "$OUT" docs/fine-tuning
[ -d "$CORPORA/palestrina" ] || python3 scripts/style-corpora.py "$CORPORA"
echo "# held-out NLL (nats/event) of the 40 training pieces' seeded 20%, wall time; $(nproc) cores" \
  > docs/fine-tuning/sweep.txt
for pair in "essen fiddle-tunes" "palestrina bach-chorales"; do
  set -- $pair
  while read -r flags; do
    t0=$(date +%s.%N)
    name=$1-$(echo "$flags" | tr -d ' -' | tr '.' 'p')
    $P train --from "$2" --data "$CORPORA/$1/train" --out "$OUT/$name" $flags > "$OUT/$name.log" 2>&1
    t1=$(date +%s.%N)
    printf '%-12s %-58s %s  %.0f s\n' "$1" "$flags" \
      "$(grep -o 'best epoch [0-9]* of [0-9]*; test NLL [0-9.]*' "$OUT/$name.log")" \
      "$(echo "$t1 - $t0" | bc)" | tee -a docs/fine-tuning/sweep.txt
  done <<'FLAGS'
--learning-rate 5e-4 --epochs 20 --patience 3
--learning-rate 1e-3 --epochs 20 --patience 3
--learning-rate 2e-3 --epochs 20 --patience 3
--learning-rate 5e-4 --epochs 60 --patience 8
--learning-rate 1e-3 --epochs 60 --patience 8
--learning-rate 5e-4 --epochs 20 --patience 3 --dropout 0.45
--learning-rate 5e-4 --epochs 20 --patience 3 --batch-size 8
--learning-rate 1e-3 --epochs 20 --patience 3 --batch-size 8
--learning-rate 5e-4 --epochs 20 --patience 3 --min-batches-per-epoch 1
--learning-rate 5e-4 --epochs 20 --patience 3 --transpose 0
FLAGS
done
