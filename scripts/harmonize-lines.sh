#!/usr/bin/env bash
# How often Bach gives a repeated melody line its harmony back (models/README.md,
# "Harmonizing and accompanying"; `sample::melody::LINE_COPY_SHARE`). Each split's 8-bar
# segments are harmonized with every line the sampler finds copied (`--line-copies 1`), so a
# harmonized segment repeats a bar where the rule found a line (a fresh harmony seldom
# repeats one by itself); the script counts, per split, those segments and how many of them
# Bach's own four parts repeat a bar in too, and the segments where only Bach's do.
#   bash scripts/harmonize-lines.sh
set -euo pipefail
cd "$(dirname "$0")/.."
P=${P:-target/release/phrasegen}
DATA=${DATA:-../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. scripts/lib/split-as-test.sh
for split in train valid test; do
  split_as_test "$DATA/bach-chorales" "$split" "$work/$split"
  $P stats --model bach-chorales --data "$work/$split" --harmonize --candidates 4 --min-p 0.1 \
    --line-copies "${LINE_COPIES:-1}" --json "$work/$split.json" > /dev/null 2>&1
done
python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
total = [0, 0, 0, 0]
for split in ["train", "valid", "test"]:
    columns = json.load(open(f"{work}/{split}.json"))["columns"]
    real, harmonized = (c["values"]["repeats_a_bar"] for c in columns)
    n = len(real)
    found = sum(1 for h in harmonized if h)
    both = sum(1 for r, h in zip(real, harmonized) if r and h)
    only_bach = sum(1 for r, h in zip(real, harmonized) if r and not h)
    for i, v in enumerate([n, found, both, only_bach]):
        total[i] += v
    print(f"{split}: {n} segments; a line found in {found}, Bach repeats a bar in {both} of them"
          f" ({both / max(found, 1):.2f}); Bach repeats a bar in {only_bach} others")
n, found, both, only_bach = total
print(f"all: {n} segments; a line found in {found}, Bach repeats a bar in {both} of them"
      f" ({both / max(found, 1):.2f}); Bach repeats a bar in {only_bach} others")
EOF
