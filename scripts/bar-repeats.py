#!/usr/bin/env python3
"""Where MIDI files repeat a bar, as the ear hears it: for each bar (4/4 and 2/2 files only,
bars of four quarters from the file's start, notes on a 1/48-quarter grid), the nearest
earlier bar within eight that is note for note the same, the bars heard a third time at one
spacing (bar i the same as i - d and i - 2d: a loop), and the runs of one bar played again
and again. Run it over a dataset split and over generated phrases side by side:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install mido
    /tmp/venv/bin/python scripts/bar-repeats.py "../shared/data/fiddle-tunes/train/*.mid" "out/*.mid"
"""
import collections
import glob
import sys

import mido


def notes_of(path):
    m = mido.MidiFile(path)
    tpq = m.ticks_per_beat
    on, notes, ts = {}, [], None
    for track in m.tracks:
        t = 0
        for msg in track:
            t += msg.time
            if msg.type == "time_signature" and ts is None:
                ts = (msg.numerator, msg.denominator)
            if msg.type == "note_on" and msg.velocity > 0:
                on[(msg.channel, msg.note)] = t
            elif msg.type in ("note_off", "note_on"):
                key = (msg.channel, msg.note)
                if key in on:
                    start = on.pop(key)
                    notes.append((round(start * 48 / tpq), round(t * 48 / tpq), msg.note))
    return notes, ts or (4, 4)


def bars_of(path):
    notes, ts = notes_of(path)
    if ts not in ((4, 4), (2, 2)) or not notes:
        return None
    bar = 4 * 48
    count = max(n[1] for n in notes) // bar
    return [
        tuple(sorted((s - b * bar, e - s, p) for s, e, p in notes if b * bar <= s < (b + 1) * bar))
        for b in range(count)
    ]


for pattern in sys.argv[1:]:
    nearest, runs, longest = collections.Counter(), collections.Counter(), collections.Counter()
    # Bars heard a third time at one spacing (bar i == i - d == i - 2d), per spacing d.
    thrice = collections.Counter()
    # Over each file's first 32 bars (a phrase's length), runs of bars repeating the bar d
    # back: files with a whole d-bar passage repeated, and with a run past that (a loop).
    passage_twice, past_twice = collections.Counter(), collections.Counter()
    files = bars = repeated = 0
    for path in sorted(glob.glob(pattern)):
        b = bars_of(path)
        if not b:
            continue
        files += 1
        run, file_longest = 1, 1
        for i, this in enumerate(b):
            if i > 0 and this and this == b[i - 1]:
                run += 1
            elif i > 0:
                runs[min(run, 6)] += 1
                run = 1
            file_longest = max(file_longest, run)
            if not this:
                continue
            bars += 1
            back = [k for k in range(1, 9) if i - k >= 0 and b[i - k] == this]
            if back:
                repeated += 1
                nearest[back[0]] += 1
            for d in range(1, 9):
                if i - 2 * d >= 0 and b[i - d] == this and b[i - 2 * d] == this:
                    thrice[d] += 1
        runs[min(run, 6)] += 1
        longest[min(file_longest, 6)] += 1
        for d in (4, 8):
            chain = best = 0
            for i in range(min(len(b), 32)):
                chain = chain + 1 if i >= d and b[i] and b[i] == b[i - d] else 0
                best = max(best, chain)
            passage_twice[d] += best >= d
            past_twice[d] += best > d
    print(f"{pattern}: {files} files, {bars} bars")
    print(f"  bars repeating one of the 8 before: {100 * repeated / max(bars, 1):.1f}%; nearest, bars back:",
          ", ".join(f"{k}: {100 * v / max(bars, 1):.1f}%" for k, v in sorted(nearest.items())))
    print("  bars heard a third time at one spacing, by spacing:",
          ", ".join(f"{k}: {100 * v / max(bars, 1):.1f}%" for k, v in sorted(thrice.items())) or "none")
    print("  first 32 bars, files with a 4- / 8-bar passage played twice in a row:",
          f"{passage_twice[4]} / {passage_twice[8]}; a third time (past one full repeat): {past_twice[4]} / {past_twice[8]}")
    print("  runs of one bar played n times (6 = 6 or more):", dict(sorted(runs.items())))
    print("  files by their longest run:", dict(sorted(longest.items())))
