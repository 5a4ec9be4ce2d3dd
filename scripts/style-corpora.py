#!/usr/bin/env python3
"""Build two small "style corpora" of Standard MIDI Files from the music21 corpus.

Used to measure fine-tuning of PhraseGen models on styles they never saw:

  OUT_DIR/palestrina/{train,test}/*.mid  four-part Palestrina mass movements (Humdrum **kern)
  OUT_DIR/essen/{train,test}/*.mid       German folk songs from the Essen collection (ABC), monophonic

Usage:
  /work/pickup-truth/venv/bin/python scripts/style-corpora.py OUT_DIR

The MIDI files are written by music21's own MIDI translation, the same way as the datasets in
/work/shared/data (format 1, 10080 ticks per quarter, a conductor track with tempo, key and time
signature(s), then one track per voice). Neither source uses repeat signs, so nothing is expanded.

Splits are by piece: the candidates are grouped (Palestrina: by mass, so movements and sections of one
mass never straddle the split; Essen: by song, joining variants that share a title or an Essen number),
the groups are shuffled with random.Random(1), and train is filled first (40 files), then test (60).
Palestrina takes at most PAL_PER_MASS movements from one mass, Essen one tune per song, so each
split covers many pieces. Files that fail to parse or fail the checks are skipped and counted.
"""
import collections
import copy
import os
import random
import re
import statistics
import sys
import time
import warnings

import mido
import music21
from music21 import converter, midi

CORPUS = os.path.dirname(music21.corpus.__file__)
SPLITS = (('train', 40), ('test', 60))
SEED = 1
PAL_PER_MASS = 2
ESSEN_FILES = ('altdeu', 'ballad', 'boehme', 'erk', 'kinder', 'fink', 'zuccal')

warnings.filterwarnings('ignore')


def safe_name(s):
    return re.sub(r'[^A-Za-z0-9]+', '_', s).strip('_')[:60] or 'untitled'


def unshare_time_signatures(score):
    """music21's ABC reader gives irregular bars their own meter (e.g. 1/8, 8/4) and then puts the *same*
    TimeSignature object back into every later bar of the main meter; streamToMidiFile then fails with
    'object ... is already found in this Stream'. Give every bar its own copy."""
    seen = set()
    for m in score.recurse().getElementsByClass('Measure'):
        for ts in list(m.getElementsByClass('TimeSignature')):
            if id(ts) in seen:
                m.replace(ts, copy.deepcopy(ts))
            else:
                seen.add(id(ts))


def write_midi(score, path):
    unshare_time_signatures(score)
    mf = midi.translate.streamToMidiFile(score)
    mf.open(path, 'wb')
    try:
        mf.write()
    finally:
        mf.close()


def read_back(path):
    """Read a written file with mido; return a dict of facts about it."""
    m = mido.MidiFile(path)
    tracks = []  # per track: list of (start, end, pitch)
    ts, ks = [], []
    for tr in m.tracks:
        t, on, notes = 0, {}, []
        for msg in tr:
            t += msg.time
            if msg.type == 'time_signature':
                ts.append((t, '%d/%d' % (msg.numerator, msg.denominator)))
            elif msg.type == 'key_signature':
                ks.append((t, msg.key))
            elif msg.type == 'note_on' and msg.velocity > 0:
                on.setdefault((msg.channel, msg.note), []).append(t)
            elif msg.type in ('note_off', 'note_on'):
                starts = on.get((msg.channel, msg.note))
                if starts:
                    notes.append((starts.pop(0), t, msg.note))
        tracks.append(sorted(notes))
    note_tracks = [n for n in tracks if n]
    overlaps = 0
    for n in note_tracks:
        overlaps += sum(1 for a, b in zip(n, n[1:]) if b[0] < a[1])
    allnotes = [x for n in note_tracks for x in n]
    return dict(type=m.type, tpq=m.ticks_per_beat, n_note_tracks=len(note_tracks),
                notes=len(allnotes), overlaps=overlaps,
                pitches=[x[2] for x in allnotes],
                length_q=max((x[1] for x in allnotes), default=0) / m.ticks_per_beat,
                ts=ts, ks=ks, conductor_has_ts=any(msg.type == 'time_signature' for msg in m.tracks[0]))


def fill_splits(groups, convert, per_group, out_dir, stats):
    """groups: list of (key, [candidates]) already shuffled. convert(cand, path) -> (ok, reason, info).
    Fills train then test; a group is used by one split only."""
    rng = random.Random(SEED)
    result = {name: [] for name, _ in SPLITS}
    gi = 0
    for name, want in SPLITS:
        os.makedirs(os.path.join(out_dir, name), exist_ok=True)
        while len(result[name]) < want and gi < len(groups):
            key, cands = groups[gi]
            gi += 1
            cands = list(cands)
            rng.shuffle(cands)
            taken = 0
            for cand in cands:
                if taken >= per_group or len(result[name]) >= want:
                    break
                path = os.path.join(out_dir, name, cand['name'] + '.mid')
                ok, reason, info = convert(cand, path)
                if ok:
                    taken += 1
                    info.update(group=key, src=cand['src'], file=os.path.basename(path))
                    result[name].append(info)
                else:
                    stats[reason] += 1
                    if os.path.exists(path):
                        os.remove(path)
    return result


# ----------------------------------------------------------------------------- Palestrina

def palestrina_groups(stats):
    d = os.path.join(CORPUS, 'palestrina')
    by_mass = collections.defaultdict(list)
    for fn in sorted(os.listdir(d)):
        if not fn.endswith('.krn'):
            continue
        with open(os.path.join(d, fn), encoding='utf-8', errors='replace') as f:
            text = f.read()
        spines = next((l for l in text.splitlines() if l.startswith('**')), '')
        n_kern = spines.split('\t').count('**kern')
        stats['candidates (.krn files)'] += 1
        if n_kern != 4:  # quick pre-filter; the parsed part count is checked again below
            stats['not 4 **kern spines (pre-filter)'] += 1
            continue
        mass = re.search(r'^!!!OPR:\s*(.*)$', text, re.M)
        mass = mass.group(1).strip() if mass else fn
        by_mass[mass].append(dict(src='palestrina/' + fn, path=os.path.join(d, fn),
                                  name=safe_name(mass) + '__' + fn[:-4]))
    masses = sorted(by_mass)
    random.Random(SEED).shuffle(masses)
    stats['masses with a 4-spine movement'] = len(masses)
    return [(m, sorted(by_mass[m], key=lambda c: c['src'])) for m in masses]


def palestrina_convert(cand, path):
    try:
        s = converter.parse(cand['path'], format='humdrum')
    except Exception:
        return False, 'parse failure', None
    if len(s.parts) != 4:
        return False, 'parsed part count != 4', None
    try:
        write_midi(s, path)
        info = read_back(path)
    except Exception:
        return False, 'MIDI write/read failure', None
    if info['notes'] == 0 or info['n_note_tracks'] != 4:
        return False, 'check failed: not 4 note-bearing tracks', None
    if not info['ts'] or not info['ks']:
        return False, 'check failed: no time or key signature', None
    return True, None, info


# ----------------------------------------------------------------------------- Essen

def essen_groups(stats):
    d = os.path.join(CORPUS, 'essenFolksong')
    tunes = []
    for fn in sorted(os.listdir(d)):
        if not (fn.endswith('.abc') and fn.startswith(ESSEN_FILES)):
            continue
        with open(os.path.join(d, fn), encoding='latin-1') as f:
            text = f.read()
        for chunk in re.split(r'(?m)^(?=X:)', text):
            if not chunk.startswith('X:'):
                continue
            head = dict(re.findall(r'(?m)^([A-Z]):\s*(.*?)\s*$', chunk))
            stats['candidates (tunes)'] += 1
            if 'Deutschland' not in head.get('O', ''):
                stats['origin not Deutschland'] += 1
                continue
            if not re.fullmatch(r'\d+/\d+', head.get('M', '')):  # 'none', 'FREI4/4': no usable meter
                stats['no regular meter (M: none / FREI)'] += 1
                continue
            num = head.get('X', '0')
            tunes.append(dict(src='essenFolksong/%s#%s' % (fn, num), abc=chunk,
                              title=head.get('T', ''), essen=head.get('N', ''),
                              name='%s_%s__%s' % (fn[:-4], num, safe_name(head.get('T', '')))))
    # union-find: variants of one song share a normalised title or an Essen number (A0004A/B/C)
    parent = list(range(len(tunes)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    first = {}
    for i, t in enumerate(tunes):
        keys = ['T:' + re.sub(r'\W+', ' ', t['title'].split('(')[0]).strip().lower()]
        if t['essen']:
            keys.append('N:' + re.sub(r'[A-Za-z]+$', '', t['essen'].strip()))
        for k in keys:
            if k in first:
                parent[find(i)] = find(first[k])
            else:
                first[k] = i
    groups = collections.defaultdict(list)
    for i, t in enumerate(tunes):
        groups[find(i)].append(t)
    keys = sorted(groups, key=lambda g: tunes[g]['src'])
    random.Random(SEED).shuffle(keys)
    stats['songs (variant groups)'] = len(keys)
    return [(tunes[k]['title'] or tunes[k]['src'], groups[k]) for k in keys]


def essen_convert(cand, path):
    try:
        s = converter.parse(cand['abc'], format='abc')
    except Exception:
        return False, 'parse failure', None
    if len(s.parts) != 1:
        return False, 'parsed part count != 1', None
    if any(len(c.pitches) > 1 for c in s.recurse().getElementsByClass('Chord')):
        return False, 'has chords', None
    try:
        write_midi(s, path)
        info = read_back(path)
    except Exception:
        return False, 'MIDI write/read failure', None
    if info['notes'] == 0 or info['n_note_tracks'] != 1:
        return False, 'check failed: not 1 note-bearing track', None
    if info['overlaps']:
        return False, 'check failed: overlapping notes', None
    if not info['ts'] or not info['ks']:
        return False, 'check failed: no time or key signature', None
    return True, None, info


# ----------------------------------------------------------------------------- summary

def summarise(name, result, stats):
    print('== %s' % name)
    allinfo = [i for split, _ in SPLITS for i in result[split]]
    print('  files: ' + ', '.join('%s %d (%d pieces)' % (s, len(result[s]), len({i['group'] for i in result[s]}))
                                  for s, _ in SPLITS))
    shared = {i['group'] for i in result['train']} & {i['group'] for i in result['test']}
    print('  pieces in both splits: %d' % len(shared))
    for s, _ in SPLITS:
        r = result[s]
        if r:
            print('  %-5s notes %d, pitch %d..%d, median length %.1f q' % (
                s, sum(i['notes'] for i in r), min(min(i['pitches']) for i in r),
                max(max(i['pitches']) for i in r), statistics.median(i['length_q'] for i in r)))
    if allinfo:
        print('  all   notes %d, pitch %d..%d, median length %.1f q (min %.1f, max %.1f)' % (
            sum(i['notes'] for i in allinfo), min(min(i['pitches']) for i in allinfo),
            max(max(i['pitches']) for i in allinfo), statistics.median(i['length_q'] for i in allinfo),
            min(i['length_q'] for i in allinfo), max(i['length_q'] for i in allinfo)))
        tsc = collections.Counter(t for i in allinfo for t in sorted({x[1] for x in i['ts']}))
        print('  time signatures (files containing each): ' +
              ', '.join('%s %d' % kv for kv in sorted(tsc.items(), key=lambda kv: -kv[1])))
        multi = sum(1 for i in allinfo if len({x[1] for x in i['ts']}) > 1)
        print('  files with more than one time signature: %d' % multi)
        first_ts = collections.Counter(i['ts'][0][1] for i in allinfo)
        print('  opening time signature: ' + ', '.join('%s %d' % kv for kv in first_ts.most_common()))
        print('  format/tpq: %s; conductor track holds TS in %d/%d files; overlapping notes (same track): %d' % (
            sorted({(i['type'], i['tpq']) for i in allinfo}),
            sum(i['conductor_has_ts'] for i in allinfo), len(allinfo), sum(i['overlaps'] for i in allinfo)))
    print('  skipped/filtered: ' + (', '.join('%s %d' % kv for kv in stats.items()) or 'none'))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    t0 = time.time()
    for name, groups_fn, convert, per_group in (
            ('palestrina', palestrina_groups, palestrina_convert, PAL_PER_MASS),
            ('essen', essen_groups, essen_convert, 1)):
        stats = collections.Counter()
        d = os.path.join(out, name)
        for split, _ in SPLITS:  # start clean so reruns are reproducible
            sd = os.path.join(d, split)
            if os.path.isdir(sd):
                for fn in os.listdir(sd):
                    if fn.endswith('.mid'):
                        os.remove(os.path.join(sd, fn))
        result = fill_splits(groups_fn(stats), convert, per_group, d, stats)
        summarise(name, result, stats)
        with open(os.path.join(d, 'sources.tsv'), 'w') as f:
            f.write('split\tfile\tsource\tpiece\n')
            for split, _ in SPLITS:
                for i in result[split]:
                    f.write('%s\t%s\t%s\t%s\n' % (split, i['file'], i['src'], i['group']))
    print('done in %.1f s (music21 %s, seed %d)' % (time.time() - t0, music21.VERSION_STR, SEED))


if __name__ == '__main__':
    main()
