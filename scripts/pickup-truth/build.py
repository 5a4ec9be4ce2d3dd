import json, csv, collections, hashlib
from fractions import Fraction
rows=[json.loads(l) for l in open('all.jsonl')]
tm=json.load(open('title_match.json'))
dupmap={}
for g in tm['dup_groups']:
    for x in g: dupmap[x]=[y for y in g if y!=x]
cols=['dataset','split','file','meter','pickup_quarters_truth','true_first_downbeat_quarters','midi_first_onset_quarters','midi_marks_pickup','matched','notes',
      'corpus_work','title_check','midi_grid_on_true_downbeats','frac_true_downbeats_on_midi_barlines','onsets_aligned','midi_time_signatures','n_mid_pickups','n_mid_pickups_marked','n_mid_completions','n_mid_completions_marked','source_irregular']
splitof={}
for r in rows: splitof[r['row']['file'][:-4]]=r['row']['split']
out=[]
for r in sorted(rows, key=lambda r:(r['row']['dataset'], ['train','valid','test'].index(r['row']['split']), r['row']['file'])):
    row=dict(r['row']); e=r['extra']; stem=row['file'][:-4]
    notes=[n for n in row['notes'].split('; ') if n and not n.startswith('first true downbeat') and not n.startswith('first measure number') and not n.startswith('title ')]
    row['corpus_work']=e.get('corpus_work','')
    if row['dataset']=='fiddle-tunes':
        st=tm['match'].get(stem,{}).get('status','')
        row['title_check']=st
        if stem in dupmap:
            notes.append('same ABC tune as %s' % ', '.join('%s(%s)'%(d,splitof.get(d,'not in dataset')) for d in dupmap[stem]))
    else:
        row['title_check']='n/a (BWV from file name)'
    row['midi_grid_on_true_downbeats']=e.get('grid_consistent','')
    row['frac_true_downbeats_on_midi_barlines']=e.get('true_downbeats_on_midi_barlines_frac','')
    row['onsets_aligned']='yes' if e.get('onset_match')==1.0 and e.get('n_onsets_score')==e.get('n_onsets_midi_t1') else 'no'
    row['midi_time_signatures']=' '.join(e.get('midi_ts',[]))
    for k in ['n_mid_pickups','n_mid_pickups_marked','n_mid_completions','n_mid_completions_marked']: row[k]=e.get(k,'')
    irr=[]
    if e.get('n_irregular'): irr.append('%d irregular bar(s), first at q%s' % (e['n_irregular'], e['irregular_bars'][0][0]))
    if e.get('n_overfull'): irr.append('%d overfull bar(s)' % e['n_overfull'])
    extra_ts=[t for t in e.get('score_ts',[]) if t.split(':')[1]!=row['meter']]
    if extra_ts: irr.append('music21 meter changes %s' % ' '.join(extra_ts[:6]))
    row['source_irregular']='; '.join(irr)
    fd=[n for n in r['row']['notes'].split('; ') if n.startswith('first true downbeat')]
    if fd: notes.append('phase heuristic puts first full-bar downbeat at q%s (bar after pickup is itself short; source irregular)' % fd[0].split(' at ')[1])
    if e.get('trailing_rest'): notes.append('score ends with %g q of rest after last MIDI note' % e['trailing_rest'])
    row['notes']='; '.join(notes)
    out.append(row)
with open('truth.csv','w',newline='') as f:
    w=csv.DictWriter(f, fieldnames=cols); w.writeheader(); w.writerows(out)
print(len(out))
# stats
C=collections.Counter
for ds in ('bach-chorales','fiddle-tunes'):
    R=[r for r in out if r['dataset']==ds]
    print('==',ds,len(R),'matched',sum(r['matched']=='yes' for r in R),'aligned',sum(r['onsets_aligned']=='yes' for r in R))
    print(' pickup>0', sum(r['pickup_quarters_truth'] not in ('0','') for r in R), 'marked', sum(r['midi_marks_pickup']=='yes' for r in R))
    print(' by split', C((r['split'], r['pickup_quarters_truth']!='0') for r in R))
    print(' meter x pickup', sorted(C((r['meter'], r['pickup_quarters_truth']) for r in R).items()))
    print(' grid ok', C(r['midi_grid_on_true_downbeats'] for r in R), 'grid ok & pickup', C((r['pickup_quarters_truth']!='0', r['midi_grid_on_true_downbeats']) for r in R))
    print(' midi first onset', C(r['midi_first_onset_quarters'] for r in R))
    print(' mid pickups', sum(r['n_mid_pickups'] for r in R), 'marked', sum(r['n_mid_pickups_marked'] for r in R), 'files with mid pickups', sum(r['n_mid_pickups']>0 for r in R))
    print(' mid completions', sum(r['n_mid_completions'] for r in R), 'marked', sum(r['n_mid_completions_marked'] for r in R))
    print(' source irregular', sum(bool(r['source_irregular']) for r in R), ' meterchanges', sum('music21 meter' in r['source_irregular'] for r in R))
    print(' pickup multiple of beat?', C((r['meter'], r['pickup_quarters_truth']) for r in R if r['pickup_quarters_truth']!='0' and r['midi_grid_on_true_downbeats']=='yes'))
    # fraction of pickup files where pickup is a grid line anyway (offset multiple of bar) 
