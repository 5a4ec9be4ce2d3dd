#!/usr/bin/env python3
"""Note lengths in the MIDI PhraseGen sent inside Ardour (scripts/ardour-check.sh).

Reads events.txt written by scripts/ardour-check.lua ("sample transport status note
velocity" per line), pairs note-ons with note-offs and compares each note's length
with (a) the phrase PhraseGen saved in the session (exact expected length) and
(b) the sixteenth grid (a whole number of sixteenths). Prints a summary and exits
non-zero when a note is off by more than the tolerance.
"""

import argparse
import base64
import json
import re
import statistics
import sys


def phrase_from_session(path):
    """The phrase in PhraseGen's VST3 state inside an .ardour session file, or None."""
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        print(f"cannot read session {path}: {e}", file=sys.stderr)
        return None
    # VST3 state is stored base64-encoded; nice-plug writes plain JSON into it.
    for blob in re.findall(r">([A-Za-z0-9+/=\s]{64,})<", text):
        try:
            raw = base64.b64decode("".join(blob.split()), validate=False)
        except ValueError:
            continue
        start = raw.find(b"{")
        if start < 0 or b'"phrase"' not in raw:
            continue
        try:
            state, _ = json.JSONDecoder().raw_decode(raw[start:].decode("utf-8", "replace"))
        except ValueError:
            continue
        inner = state.get("fields", {}).get("phrase")
        if isinstance(inner, str):
            phrase = json.loads(inner)
            if phrase:
                return phrase
    return None


def read_events(path):
    events = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        sample, transport, status, note, velocity = (int(x) for x in line.split())
        events.append((sample, transport, status, note, velocity))
    return events


def pair_notes(events):
    """(on_sample, on_transport, off_sample, off_transport, channel, pitch) per note."""
    sounding = {}
    notes, unmatched_offs = [], 0
    for sample, transport, status, note, velocity in events:
        kind, channel = status & 0xF0, status & 0x0F
        key = (channel, note)
        if kind == 0x90 and velocity > 0:
            sounding.setdefault(key, []).append((sample, transport))
        elif kind == 0x80 or (kind == 0x90 and velocity == 0):
            if sounding.get(key):
                on_sample, on_transport = sounding[key].pop(0)
                notes.append((on_sample, on_transport, sample, transport, channel, note))
            else:
                unmatched_offs += 1
    still_on = sum(len(v) for v in sounding.values())
    return notes, unmatched_offs, still_on


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("events")
    ap.add_argument("--session", help=".ardour file holding PhraseGen's saved phrase")
    ap.add_argument("--rate", type=float, default=48000.0)
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--tolerance-ms", type=float, default=2.0)
    args = ap.parse_args()

    events = read_events(args.events)
    notes, unmatched_offs, still_on = pair_notes(events)
    # Notes cut by the transport stop (off sent while stopped) are not judged.
    played = [n for n in notes if n[1] >= 0 and n[3] >= 0]
    cut_by_stop = len(notes) - len(played)

    phrase = phrase_from_session(args.session) if args.session else None
    step_quarters = 1.0 / (phrase["steps_per_quarter"] if phrase else 4)
    step_samples = args.rate * 60.0 / args.bpm * step_quarters
    step_ms = step_samples / args.rate * 1000.0
    tol = args.tolerance_ms

    expected = {}
    phrase_steps = None
    if phrase:
        ts = phrase["time_signature"]
        steps_per_bar = -(-ts["numerator"] * 4 * phrase["steps_per_quarter"] // ts["denominator"])
        phrase_steps = phrase["bars"] * steps_per_bar
        for n in phrase["notes"]:
            expected[(n["start_step"], n["pitch"])] = n["length_steps"]

    lengths_ms, grid_ok, phrase_ok, ratios, unmatched, off_grid_starts = [], 0, 0, [], 0, 0
    worst_error_ms = 0.0
    rows = []
    for on_s, on_t, off_s, off_t, ch, pitch in played:
        length_ms = (off_s - on_s) / args.rate * 1000.0
        lengths_ms.append(length_ms)
        k = max(1, round(length_ms / step_ms))
        if abs(length_ms - k * step_ms) <= tol:
            grid_ok += 1
        start_steps = on_t / step_samples
        if abs(start_steps - round(start_steps)) * step_ms > tol:
            off_grid_starts += 1
        want = None
        if phrase:
            want = expected.get((round(start_steps) % phrase_steps, pitch))
            if want is None:
                unmatched += 1
            else:
                want_ms = want * step_ms
                ratios.append(length_ms / want_ms)
                worst_error_ms = max(worst_error_ms, abs(length_ms - want_ms))
                if abs(length_ms - want_ms) <= tol:
                    phrase_ok += 1
        rows.append((on_t / args.rate, pitch, length_ms, want))

    print(f"events {len(events)}, notes played {len(played)}, cut by the stop {cut_by_stop}, "
          f"note-offs without a note-on {unmatched_offs}, still sounding at the end {still_on}")
    if not played:
        print("NO NOTES CAPTURED")
        return 2
    print(f"length ms: min {min(lengths_ms):.2f}, median {statistics.median(lengths_ms):.2f}, "
          f"max {max(lengths_ms):.2f}")
    print(f"whole grid steps ({step_ms:.1f} ms at {args.bpm:g} BPM) within {tol} ms: {grid_ok}/{len(played)}; "
          f"starts off the grid by more than {tol} ms: {off_grid_starts}")
    if phrase:
        print(f"phrase: {phrase['bars']} bars, {len(phrase['notes'])} notes; "
              f"captured notes not in the phrase: {unmatched}")
        if ratios:
            print(f"length as saved in the phrase within {tol} ms: {phrase_ok}/{len(ratios)}; "
                  f"ratio measured/phrase: min {min(ratios):.3f}, median {statistics.median(ratios):.3f}, "
                  f"max {max(ratios):.3f}; largest error {worst_error_ms:.3f} ms")
    else:
        print("phrase: not found in the session (grid check only)")
    for t, pitch, length_ms, want in rows:
        wanted = f" (phrase {want * step_ms:.1f})" if want is not None else ""
        print(f"  {t:8.3f} s  note {pitch:3d}  {length_ms:8.2f} ms{wanted}")
    good = phrase_ok == len(played) if phrase else grid_ok == len(played)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
