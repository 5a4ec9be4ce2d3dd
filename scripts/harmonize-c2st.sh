#!/usr/bin/env bash
# The classifier test of harmonizing (models/README.md, "Harmonizing and accompanying") over
# c2st seeds 1..5: each real 8-bar segment's top line harmonized with harmonize's defaults
# (4 candidates, min-p 0.1; MIN_P=... for another) against the same real segments, for the test split and, as a
# check that a rule is not fitted to the test split, the valid split. Prints each run and
# the means; models/bach-chorales.harmonize.c2st.txt keeps the last output.
#   bash scripts/harmonize-c2st.sh > models/bach-chorales.harmonize.c2st.txt
set -euo pipefail
cd "$(dirname "$0")/.."
P=${P:-target/release/phrasegen}
DATA=${DATA:-../shared/data}
valid=$(mktemp -d)
trap 'rm -rf "$valid"' EXIT
. scripts/lib/split-as-test.sh
split_as_test "$DATA/bach-chorales" valid "$valid"
for split in test valid; do
  data=$DATA/bach-chorales
  [ $split = valid ] && data=$valid
  for seed in ${SEEDS:-1 2 3 4 5}; do
    $P stats --model bach-chorales --data "$data" --harmonize --candidates 4 --min-p "${MIN_P:-0.1}" \
      --c2st --c2st-seed "$seed" 2>/dev/null | grep -E "^\| (logistic|random)" |
      sed "s|^|$split seed $seed: |"
  done
done > "$valid/runs"
cat "$valid/runs"
awk -F'|' '
  { split($1, where, " "); kind = $2; gsub(/^ +| +$/, "", kind)
    v = $3; sub(/%.*/, "", v); key = where[1] " " kind; sum[key] += v; n[key]++ }
  END { for (k in sum) printf "mean %s: %.1f%% over %d seeds\n", k, sum[k] / n[k], n[k] }' \
  "$valid/runs" | sort
