import sys, os, glob, re, csv, json, time, traceback
from fractions import Fraction
from multiprocessing import Pool
import mido

DATA = os.environ.get('DATA', '../shared/data')
OUT = os.environ.get('OUT', 'target/pickup-truth')
os.makedirs(OUT, exist_ok=True)
EPS = 1e-6

def F(x):
    return Fraction(x).limit_denominator(10080 * 4)

def midi_info(path):
    m = mido.MidiFile(path)
    tpq = m.ticks_per_beat
    tss = []
    tick = 0
    for msg in m.tracks[0]:
        tick += msg.time
        if msg.type == 'time_signature':
            tss.append((tick, msg.numerator, msg.denominator))
    # also look in other tracks just in case
    for tr in m.tracks[1:]:
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type == 'time_signature':
                tss.append((tick, msg.numerator, msg.denominator))
    # dedupe: for identical tick keep the last one
    d = {}
    for t, n, dd in sorted(tss, key=lambda x: x[0]):
        d[t] = (n, dd)
    tss = sorted((t, n, dd) for t, (n, dd) in d.items())
    onsets_all = []
    onsets_t1 = []
    end = 0
    for i, tr in enumerate(m.tracks):
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type == 'note_on' and msg.velocity > 0:
                onsets_all.append(tick)
                if i == 1:
                    onsets_t1.append(tick)
        end = max(end, tick)
    last_note_end = 0
    for tr in m.tracks[1:]:
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type in ('note_off',) or (msg.type == 'note_on' and msg.velocity == 0):
                last_note_end = max(last_note_end, tick)
    # bar grid
    bars = []
    for i, (t, n, dd) in enumerate(tss):
        nxt = tss[i + 1][0] if i + 1 < len(tss) else last_note_end
        blen = n * tpq * 4 // dd
        x = t
        while x < nxt or (x == t):
            bars.append(x)
            x += blen
            if x >= nxt:
                break
    return dict(tpq=tpq, tss=tss, first_onset=min(onsets_all) if onsets_all else None,
                onsets_t1=sorted(set(onsets_t1)), bars=sorted(set(bars)), last_note_end=last_note_end)


def abc_title(path):
    with open(path, encoding='latin-1') as f:
        for line in f:
            if line.startswith('T:'):
                return line[2:].strip()
    return None

def norm(s):
    return re.sub(r'[^a-z0-9]', '', s.lower())


def measure_downbeats(part):
    """Classify every measure of the (expanded) part.
    full measure (duration == bar of its current time signature, incl. music21-inserted
    TS for overfull ABC bars): downbeat at its start.
    short measure: 'pickup' type (downbeat at its END, not start) if it is followed by a full bar and
    it is the first measure, or numbered 0, or has paddingLeft, or follows another short measure,
    or starts a section (own left barline / previous right barline is a repeat/double/final bar,
    or previous measure has the same number = split bar); otherwise 'completion' type
    (end of a section; downbeat at its start).
    Returns (measures, downbeat offsets, irregularities)."""
    from music21 import meter, bar as m21bar
    ms = list(part.getElementsByClass('Measure'))
    info = []
    ts = None
    for m in ms:
        if m.timeSignature is not None:
            ts = m.timeSignature
        if ts is None:
            ts = m.getContextByClass('TimeSignature') or meter.TimeSignature('4/4')
        info.append(dict(num=m.number, off=F(m.offset), dur=F(m.duration.quarterLength),
                         bar=F(ts.barDuration.quarterLength), padL=F(m.paddingLeft or 0), ts=ts.ratioString,
                         lb=m.leftBarline, rb=m.rightBarline))
    def boundary(bl):
        if bl is None:
            return False
        return isinstance(bl, m21bar.Repeat) or getattr(bl, 'type', None) in ('double', 'final', 'light-heavy', 'heavy-light', 'light-light')
    downs = []
    irregular = []
    phase = Fraction(0)
    for k, d in enumerate(info):
        full = d['dur'] >= d['bar']
        if full:
            kind = 'full' if d['dur'] == d['bar'] else 'overfull'
        else:
            nxt_full = k + 1 < len(info) and info[k + 1]['dur'] >= info[k + 1]['bar']
            prev = info[k - 1] if k > 0 else None
            starts_section = (k == 0 or d['num'] == 0 or d['padL'] > 0 or
                              (prev is not None and (prev['dur'] < prev['bar'] or boundary(prev['rb']) or prev['num'] == d['num']))
                              or boundary(d['lb']))
            kind = 'pickup' if (k == len(info) - 1 and False) or (nxt_full and starts_section) else 'completion'
            if k == 0:
                kind = 'pickup'
        d['kind'] = kind
        d['down'] = kind in ('full', 'overfull', 'completion')
        if d['down']:
            if phase != 0 and k > 0:
                irregular.append((float(d['off']), '%s bar at phase %s' % (kind, phase)))
            downs.append(d['off'])
            phase = d['dur'] % d['bar']
        else:
            if k > 0 and phase != 0 and (phase + d['dur']) != d['bar']:
                irregular.append((float(d['off']), 'pickup of %s after phase %s' % (d['dur'], phase)))
            phase = Fraction(0)  # pickup ends on a downbeat
    return info, downs, irregular


def m21_onsets(part):
    res = set()
    for n in part.recurse().notes:
        if n.duration.isGrace:
            continue
        if n.tie is not None and n.tie.type in ('stop', 'continue'):
            continue
        res.add(F(n.getOffsetInHierarchy(part)))
    return sorted(res)


def process(job):
    dataset, split, fname = job
    path = os.path.join(DATA, dataset, split, fname)
    stem = fname[:-4]
    row = dict(dataset=dataset, split=split, file=fname, meter='', pickup_quarters_truth='',
               true_first_downbeat_quarters='', midi_first_onset_quarters='', midi_marks_pickup='',
               matched='no', notes='')
    extra = {}
    notes = []
    try:
        mi = midi_info(path)
    except Exception as e:
        row['notes'] = 'midi read error: %r' % e
        return row, extra
    tpq = mi['tpq']
    row['midi_first_onset_quarters'] = fmt(F(mi['first_onset'] / tpq)) if mi['first_onset'] is not None else ''
    extra['midi_ts'] = ['%g:%d/%d' % (t / tpq, n, d) for t, n, d in mi['tss']]
    from music21 import corpus
    try:
        if dataset == 'bach-chorales':
            work = 'bach/' + stem
            cands = corpus.search(stem, field='') if False else None
            s = corpus.parse(work)
            extra['corpus_work'] = work
        else:
            p = corpus.getWorkList('ryansMammoth/' + stem + '.abc') if False else None
            import music21
            abcpath = os.path.join(os.path.dirname(music21.__file__), 'corpus', 'ryansMammoth', stem + '.abc')
            if not os.path.exists(abcpath):
                row['notes'] = 'no ABC file ryansMammoth/%s.abc' % stem
                return row, extra
            title = abc_title(abcpath)
            extra['abc_title'] = title
            if title is None or norm(title) != norm(stem):
                notes.append('title %r != filename (normalised)' % title)
            s = corpus.parse('ryansMammoth/' + stem + '.abc')
            extra['corpus_work'] = 'ryansMammoth/' + stem + '.abc'
    except Exception as e:
        row['notes'] = 'music21 parse failed: %r' % e
        return row, extra
    row['matched'] = 'yes'
    parts = list(s.parts) if hasattr(s, 'parts') and len(s.parts) else [s]
    p0 = parts[0]
    ms = list(p0.getElementsByClass('Measure'))
    m0 = ms[0]
    ts = m0.timeSignature or m0.getContextByClass('TimeSignature')
    row['meter'] = ts.ratioString if ts else '?'
    bar = F(ts.barDuration.quarterLength)
    dur0 = F(m0.duration.quarterLength)
    padL = F(m0.paddingLeft or 0)
    pickup = dur0 if dur0 < bar else Fraction(0)
    if padL != ((bar - dur0) if dur0 < bar else 0):
        notes.append('m0.paddingLeft=%s but shortfall=%s' % (fmt(padL), fmt(bar - dur0)))
    if (m0.number == 0) != (pickup > 0):
        notes.append('first measure number %s' % m0.number)
    # first note offset in score
    first_note_off = min([F(n.getOffsetInHierarchy(p)) for p in parts for n in p.recurse().notes] or [Fraction(0)])
    if first_note_off != 0:
        notes.append('score first note at %s (rest at start)' % fmt(first_note_off))
    row['pickup_quarters_truth'] = fmt(pickup)
    row['true_first_downbeat_quarters'] = fmt(pickup)  # score offset 0 == tick 0 (checked below)
    # expanded repeats
    try:
        e = s.expandRepeats()
        eparts = list(e.parts) if hasattr(e, 'parts') and len(e.parts) else [e]
        expanded = True
    except Exception as ex:
        notes.append('expandRepeats failed (%s); unexpanded used' % type(ex).__name__)
        eparts = parts
        expanded = False
    ep0 = eparts[0]
    meas, downs, irregular = measure_downbeats(ep0)
    edur = F(ep0.duration.quarterLength)
    # alignment check: score onsets vs midi track-1 onsets
    so = m21_onsets(ep0)
    mo = set(F(t / tpq) for t in mi['onsets_t1'])
    hit = sum(1 for x in so if x in mo)
    onset_match = hit / max(1, len(so))
    extra['onset_match'] = round(onset_match, 4)
    extra['n_onsets_score'] = len(so)
    extra['n_onsets_midi_t1'] = len(mo)
    extra['score_expanded_len'] = float(edur)
    extra['midi_len'] = mi['last_note_end'] / tpq
    if onset_match < 0.98 or len(so) != len(mo):
        notes.append('onset alignment score/midi %d/%d matched %.3f' % (len(so), len(mo), onset_match))
    if abs(float(edur) - mi['last_note_end'] / tpq) > 1e-3:
        extra['trailing_rest'] = float(edur) - mi['last_note_end'] / tpq
    # midi grid vs true downbeats (over the midi span)
    mbars = set(F(b / tpq) for b in mi['bars'] if b < mi['last_note_end'])
    tdowns = set(d for d in downs if d < edur)
    common = mbars & tdowns
    extra['n_true_downbeats'] = len(tdowns)
    extra['n_midi_barlines'] = len(mbars)
    extra['midi_barlines_on_true_downbeats'] = len(common)
    extra['true_downbeats_on_midi_barlines_frac'] = round(len(common) / max(1, len(tdowns)), 4)
    extra['grid_consistent'] = 'yes' if mbars == tdowns else 'no'
    extra['irregular_bars'] = [(o, w) for o, w in irregular][:5]
    extra['n_irregular'] = len(irregular)
    # short measures in expanded score (mid-piece pickups / split bars) and whether midi marks them
    shorts = [m for m in meas if m['dur'] < m['bar']]
    extra['n_short_measures'] = len(shorts)
    midi_ts_ticks = set(F(t / tpq) for t, n, d in mi['tss'])
    midi_ts_map = {F(t / tpq): '%d/%d' % (n, d) for t, n, d in mi['tss']}
    def marked(m):
        # the short measure is its own MIDI bar: a TS event at its start whose bar length == its duration
        ts = midi_ts_map.get(m['off'])
        if ts is None:
            return False
        n, d = map(int, ts.split('/'))
        return F(Fraction(4 * n, d)) == m['dur']
    mid_pick = [m for k, m in enumerate(meas) if k > 0 and m.get('kind') == 'pickup']
    mid_comp = [m for k, m in enumerate(meas) if k > 0 and m.get('kind') == 'completion']
    extra['n_mid_pickups'] = len(mid_pick)
    extra['n_mid_pickups_marked'] = sum(marked(m) for m in mid_pick)
    extra['n_mid_completions'] = len(mid_comp)
    extra['n_mid_completions_marked'] = sum(marked(m) for m in mid_comp)
    extra['mid_pickups'] = ['%s@%s' % (fmt(m['dur']), fmt(m['off'])) for m in mid_pick][:12]
    extra['mid_completions'] = ['%s@%s' % (fmt(m['dur']), fmt(m['off'])) for m in mid_comp][:12]
    # score-side time-signature objects (music21 inserts e.g. 1/16 for overfull ABC bars)
    score_ts = []
    for m in ep0.getElementsByClass('Measure'):
        if m.timeSignature is not None:
            score_ts.append((F(m.offset), m.timeSignature.ratioString))
    extra['score_ts'] = ['%s:%s' % (fmt(o), r) for o, r in score_ts]
    extra['midi_ts_equals_score_ts'] = sorted(set((o, r) for o, r in score_ts)) == sorted(set(midi_ts_map.items()))
    extra['n_overfull'] = sum(1 for m in meas if m['dur'] > m['bar'])
    # first downbeat in midi grid terms
    first_true = min(tdowns) if tdowns else None
    if pickup > 0:
        row['midi_marks_pickup'] = 'yes' if (pickup in mbars and first_true == pickup) else 'no'
    else:
        row['midi_marks_pickup'] = 'n/a'
    if first_true is not None and first_true != pickup:
        notes.append('first true downbeat in expanded score at %s' % fmt(first_true))
    if not expanded:
        pass
    row['notes'] = '; '.join(notes)
    return row, extra


def fmt(x):
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    v = float(x)
    s = ('%.6f' % v).rstrip('0').rstrip('.')
    return s


def safe(job):
    try:
        return process(job)
    except Exception as e:
        d, s, f = job
        return dict(dataset=d, split=s, file=f, matched='error', notes='error: %r' % e), {'tb': traceback.format_exc()}


if __name__ == '__main__':
    jobs = []
    for ds in ('bach-chorales', 'fiddle-tunes'):
        for sp in ('train', 'valid', 'test'):
            for f in sorted(os.listdir(os.path.join(DATA, ds, sp))):
                if f.endswith('.mid'):
                    jobs.append((ds, sp, f))
    if len(sys.argv) > 1 and sys.argv[1] != 'all':
        pats = sys.argv[1:]
        jobs = [j for j in jobs if any(p in j[2] for p in pats)]
    t0 = time.time()
    out = []
    nproc = int(os.environ.get('NPROC', '2'))
    with Pool(nproc) as pool:
        for i, r in enumerate(pool.imap(safe, jobs, chunksize=4)):
            out.append(r)
            if i % 100 == 0:
                print(i, len(jobs), round(time.time() - t0, 1), flush=True)
    tag = os.environ.get('TAG', 'out')
    with open(os.path.join(OUT, f'{tag}.jsonl'), 'w') as f:
        for row, extra in out:
            f.write(json.dumps(dict(row=row, extra=extra), default=str) + '\n')
    print('done', len(out), round(time.time() - t0, 1))
