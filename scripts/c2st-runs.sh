#!/usr/bin/env bash
# The classifier tests of models/README.md ("Can a classifier tell them apart?") for the
# models given (a name or a .safetensors path for each dataset): form none and the default
# form, 100 phrases of 8 bars at T = 1.0 against the test split, c2st seeds 1..5.
#   BACH=bach-chorales FIDDLE=fiddle-tunes bash scripts/c2st-runs.sh [extra stats flags]
set -euo pipefail
cd "$(dirname "$0")/.."
P=${P:-target/release/phrasegen}
DATA=${DATA:-../shared/data}
BACH=${BACH:-bach-chorales}
FIDDLE=${FIDDLE:-fiddle-tunes}
run() { # model data metres form seed extra...
  local model=$1 data=$2 metres=$3 form=$4 seed=$5; shift 5
  # shellcheck disable=SC2086
  $P stats --model "$model" --data "$DATA/$data" --phrases 100 --bars 8 --temperature 1.0 \
    --time-signature $metres $form --c2st --c2st-seed "$seed" "$@" 2>/dev/null |
    grep -E "^\| (logistic|random)" | sed "s|^|$data ${form:-default-form} seed $seed: |"
}
for seed in ${SEEDS:-1 2 3 4 5}; do
  for form in "--form none" ""; do
    run "$BACH" bach-chorales "4/4" "$form" "$seed" "$@"
    run "$FIDDLE" fiddle-tunes "4/4 2/2" "$form" "$seed" "$@"
  done
done
