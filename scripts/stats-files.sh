#!/usr/bin/env bash
# Re-runs every `phrasegen stats` command recorded in models/*.stats.txt (a file is its
# commands, each followed by what it printed; `#` lines are kept where they are) with the
# binary P, and rewrites the files. Then `python3 scripts/sync-stats-tables.py` copies the
# new rows into models/README.md's tables.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${P:-target/release/phrasegen}
for file in ${FILES:-models/*.stats.txt}; do
  out=$(mktemp)
  first=1
  while IFS= read -r line; do
    case "$line" in
      "#"*) echo "$line" >> "$out" ;;
      "phrasegen stats "*)
        [ $first = 1 ] || echo >> "$out"
        first=0
        echo "$line" >> "$out"
        echo >> "$out"
        # shellcheck disable=SC2086
        $P ${line#phrasegen } 2>/dev/null >> "$out" ;;
    esac
  done < "$file"
  mv "$out" "$file"
  echo "rewrote $file"
done
