import json, re, os, glob, collections, difflib, hashlib
import music21
R=os.path.join(os.path.dirname(music21.__file__),'corpus','ryansMammoth')
def titles(p):
    return [re.sub(r'^T:\s*','',l[2:].strip()) for l in open(p,encoding='latin-1') if l.startswith('T:')]
def norm(s): return re.sub(r'[^a-z0-9]','',s.lower())
def variants(t):
    t=re.sub(r'\s--\s',' ',t)
    wl=re.sub(r"[^A-Za-z0-9 ]",'',t).lower().split()
    out={''.join(wl)}
    if wl and wl[0] in ('the','a','an'): out.add(''.join(wl[1:]+wl[:1])); out.add(''.join(wl[1:]))
    out |= {v.replace('or','',0) for v in list(out)}
    if len(wl)>1 and wl[-1] in ('the',): out.add(''.join(wl[-1:]+wl[:-1]))
    return out
idx=collections.defaultdict(set); T={}; body={}
for p in sorted(glob.glob(R+'/*.abc')):
    st=os.path.basename(p)[:-4]; T[st]=titles(p)
    lines=[l for l in open(p,encoding='latin-1') if not re.match(r'^[A-Za-z]:',l)]
    body[st]=hashlib.md5(''.join(l.strip() for l in lines).encode()).hexdigest()
    for t in T[st]:
        for v in variants(t): idx[v].add(st)
mids={os.path.basename(p)[:-4]:p for p in glob.glob(os.path.join(os.environ.get('DATA', '../shared/data'), 'fiddle-tunes/*/*.mid'))}
out={}
for m in sorted(mids):
    key=norm(m.split('_')[0]) if re.search(r'_[A-Z]$',m) else norm(m)
    hits=idx.get(key,set())
    if hits=={m}: status='title-unique'
    elif m in hits: status='title-ambiguous(%s)'%'|'.join(sorted(hits-{m}))
    elif hits: status='title-points-elsewhere(%s)'%'|'.join(sorted(hits))
    else:
        best=max(((difflib.SequenceMatcher(None,key,v).ratio(),st) for v,sts in idx.items() for st in sts), default=(0,None))
        status='title-fuzzy(%.2f->%s%s)'%(best[0],best[1],'' if best[1]==m else ' MISMATCH')
    out[m]=dict(status=status, titles=T.get(m), abc_exists=m in T)
dup=collections.defaultdict(list)
for st,h in body.items(): dup[h].append(st)
dups=[sorted(v) for v in dup.values() if len(v)>1]
json.dump(dict(match=out, dup_groups=dups), open(os.path.join(os.environ.get('OUT', 'target/pickup-truth'), 'title_match.json'),'w'), indent=1)
print(collections.Counter(v['status'].split('(')[0] for v in out.values()))
for k,v in out.items():
    if v['status']!='title-unique': print(k, v['status'], v['titles'])
print('duplicate ABC bodies:', dups)
