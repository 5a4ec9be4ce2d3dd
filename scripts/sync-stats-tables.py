#!/usr/bin/env python3
"""Copies re-measured rows from models/*.stats.txt into models/README.md's tables.

Each table under a `### `NAME`` heading of "Musical statistics" is rows of one table of
models/NAME.stats.txt (tests/docs_tables.rs checks it cell for cell). Run after
scripts/stats-files.sh rewrote the stats files: each README table is matched to the table
of the *old* stats file (git HEAD, or --old-rev) it copies most cells from, and its header
and rows are replaced by that table's in the new file (same position, same first cells).
"""
import re
import subprocess
import sys

README = "models/README.md"
OLD_REV = sys.argv[sys.argv.index("--old-rev") + 1] if "--old-rev" in sys.argv else "HEAD"


def tables(text):
    """[(start_line, [rows])] of the markdown tables in text (separator row dropped)."""
    out, cur, start = [], [], None
    for i, line in enumerate(text.split("\n")):
        if line.startswith("|"):
            if start is None:
                start = i
            cur.append(line)
        else:
            if cur:
                out.append((start, cur))
            cur, start = [], None
    if cur:
        out.append((start, cur))
    return out


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def rows_by_key(table):
    return {cells(r)[0]: r for r in table[2:]}


def main():
    readme = open(README).read().split("\n")
    section = None
    new_lines = list(readme)
    replaced = 0
    text = "\n".join(readme)
    for start, table in tables(text):
        # the nearest ### heading above
        for j in range(start, -1, -1):
            m = re.match(r"^### `([^`]+)`", readme[j])
            if m:
                section = m.group(1)
                break
            if readme[j].startswith("## ") and "Musical statistics" not in readme[j]:
                section = None
                break
        if section is None:
            continue
        path = f"models/{section}.stats.txt"
        try:
            old = subprocess.run(["git", "show", f"{OLD_REV}:{path}"], capture_output=True,
                                 text=True, check=True).stdout
        except subprocess.CalledProcessError:
            continue
        new = open(path).read()
        old_tables = [t for _, t in tables(old)]
        new_tables = [t for _, t in tables(new)]
        # Runs appended to a stats file add tables after the old ones, which keep their place.
        if len(old_tables) > len(new_tables):
            sys.exit(f"{path}: {len(old_tables)} tables before, {len(new_tables)} now")
        best, best_score = None, 0
        for k, t in enumerate(old_tables):
            if cells(t[0]) != cells(table[0]):
                continue
            known = {cells(r)[0]: r for r in t[2:]}
            score = sum(1 for r in table[2:] if known.get(cells(r)[0], "").split() == r.split())
            if score > best_score:
                best, best_score = k, score
        if best is None:
            print(f"{README}:{start + 1}: no table of {path} matches; left as it is")
            continue
        fresh = new_tables[best]
        fresh_rows = rows_by_key(fresh)
        new_lines[start] = fresh[0]
        new_lines[start + 1] = fresh[1]
        for k, row in enumerate(table[2:]):
            key = cells(row)[0]
            if key not in fresh_rows:
                sys.exit(f"{README}:{start + 3 + k}: row {key!r} is gone from {path}")
            new_lines[start + 2 + k] = fresh_rows[key]
        replaced += 1
    open(README, "w").write("\n".join(new_lines))
    print(f"{replaced} tables refreshed")


main()
