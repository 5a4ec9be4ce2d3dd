#!/usr/bin/env python3
"""Writes a chord progression as a MIDI file (standard library only), one chord a bar of 4/4
at 120 BPM, each a bass note and a close triad above it, with a key signature.

    python3 scripts/chords-midi.py OUT.mid [KEY_SHARPS] [CHORD ...]

A chord is its notes as MIDI numbers joined by `-`; the default is G major's I vi IV V
twice (G, Em, C, D; one sharp), the progression scripts/render-examples.sh accompanies.
"""
import struct
import sys

TPQ = 480
DEFAULT = ["43-59-62-67", "40-59-64-67", "48-60-64-67", "50-57-62-66"] * 2


def var_len(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, (n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out)


def main():
    out = sys.argv[1]
    sharps = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    chords = [[int(p) for p in c.split("-")] for c in (sys.argv[3:] or DEFAULT)]
    events = bytearray()
    events += var_len(0) + b"\xff\x51\x03" + (500000).to_bytes(3, "big")  # 120 BPM
    events += var_len(0) + b"\xff\x58\x04\x04\x02\x18\x08"  # 4/4
    events += var_len(0) + b"\xff\x59\x02" + struct.pack("bB", sharps, 0)  # key, major
    bar = 4 * TPQ
    for chord in chords:
        for p in chord:
            events += var_len(0) + bytes([0x90, p, 80])
        for i, p in enumerate(chord):
            events += var_len(bar if i == 0 else 0) + bytes([0x80, p, 0])
    events += var_len(0) + b"\xff\x2f\x00"
    data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TPQ)
    data += b"MTrk" + struct.pack(">I", len(events)) + bytes(events)
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
