#!/usr/bin/env bash
# Measures fine-tuning (`phrasegen train --from`) on two style corpora the built-in models never
# saw, built from music21's corpus by scripts/style-corpora.py (40 training pieces each, a
# held-out test set): Palestrina mass movements (4 voices) from `bach-chorales`, German folk
# songs from the Essen collection (1 voice) from `fiddle-tunes`.
#
# For each: the fine-tuned model (the small-data recipe, defaults), a model of the same shape
# trained from scratch on the same 40 pieces with the same epoch budget (the from-scratch
# recipe), and the built-in model, each scored on the test set (`phrasegen eval`), with wall
# times; then `phrasegen stats` of the built-in and the fine-tuned model against the test set.
# Writes docs/fine-tuning/*.txt. Usage: bash scripts/fine-tune-eval.sh  (about 15 minutes on
# 2 cores; CORPORA=/path reuses built corpora).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${P:-}" ] || cargo build --release --bin phrasegen
P=${P:-target/release/phrasegen}
PY=${PY:-python3}
CORPORA=${CORPORA:-target/style-corpora}
OUT=${OUT:-target/fine-tune-eval}
DOCS=docs/fine-tuning
[ -d "$CORPORA/palestrina" ] || "$PY" scripts/style-corpora.py "$CORPORA"
mkdir -p "$OUT" "$DOCS"
{
  echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# command: bash scripts/fine-tune-eval.sh ($(date -u +%F))"
} > "$DOCS/summary.txt"

run() { # name start corpus scratch-shape-flags...
  local name=$1 start=$2 corpus=$3; shift 3
  local t0 t1 t2
  t0=$(date +%s.%N)
  $P train --from "$start" --data "$CORPORA/$corpus/train" --out "$OUT/$name-fine-tuned" \
    > "$OUT/$name-fine-tuned.log" 2>&1
  t1=$(date +%s.%N)
  # The same shape, range and voices as the start model, random weights; the same budget as
  # the fine-tune (epochs, batches per epoch, batch size, patience), the from-scratch
  # recipe's learning rate and dropout.
  $P train "$@" --epochs 20 --patience 3 --batch-size 16 --min-batches-per-epoch 16 \
    --data "$CORPORA/$corpus/train" \
    --out "$OUT/$name-scratch" > "$OUT/$name-scratch.log" 2>&1
  t2=$(date +%s.%N)
  {
    echo
    echo "## $name: 40 pieces of $corpus, start model $start"
    printf 'fine-tune wall time: %.0f s (%s)\n' "$(echo "$t1 - $t0" | bc)" \
      "$(grep -m1 'best epoch' "$OUT/$name-fine-tuned.log")"
    printf 'from scratch wall time: %.0f s (%s)\n' "$(echo "$t2 - $t1" | bc)" \
      "$(grep -m1 'best epoch' "$OUT/$name-scratch.log")"
    echo "held-out NLL on $corpus/test (nats per event; lower is better):"
    for m in "$start" "$OUT/$name-fine-tuned.safetensors" "$OUT/$name-scratch.safetensors"; do
      printf '  %-50s %s\n' "$(basename "$m")" \
        "$($P eval --model "$m" --data "$CORPORA/$corpus" 2>/dev/null | grep -m1 'per event')"
    done
  } >> "$DOCS/summary.txt"
}

run palestrina bach-chorales palestrina --max-voices 4 --pitch-range 31..84 --normalise-key
run essen fiddle-tunes essen --max-voices 1 --pitch-range 53..93

for pair in "palestrina bach-chorales" "essen fiddle-tunes"; do
  set -- $pair
  # An empty valid/ makes train/ and test/ the corpus's own split: stats measures against
  # test/ only, never the pieces the model learned from.
  mkdir -p "$CORPORA/$1/valid"
  for m in "$2" "$OUT/$1-fine-tuned.safetensors"; do
    echo "# $P stats --model $m --data $CORPORA/$1 --phrases 100 --form none"
    $P stats --model "$m" --data "$CORPORA/$1" --phrases 100 --form none 2>&1
  done > "$DOCS/$1.stats.txt"
done
cat "$DOCS/summary.txt"
