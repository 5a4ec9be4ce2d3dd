import csv, collections
R=list(csv.DictReader(open('truth.csv')))
C=collections.Counter
L=[]
for ds in ('bach-chorales','fiddle-tunes'):
    D=[r for r in R if r['dataset']==ds]
    pk=[r for r in D if r['pickup_quarters_truth']!='0']
    L.append(f"### {ds}: {len(D)} files, matched {sum(r['matched']=='yes' for r in D)}, onsets aligned {sum(r['onsets_aligned']=='yes' for r in D)}")
    L.append(f"- opening anacrusis: **{len(pk)}/{len(D)}** ({100*len(pk)/len(D):.1f}%); marked in the MIDI by a short first bar: **{sum(r['midi_marks_pickup']=='yes' for r in D)}**; so {len(pk)} files have an unmarked pickup.")
    sp=C((r['split']) for r in pk); tot=C(r['split'] for r in D)
    L.append('- by split: ' + ', '.join(f"{s} {sp[s]}/{tot[s]}" for s in ('train','valid','test')))
    L.append(f"- MIDI first note-on at tick 0 in {sum(r['midi_first_onset_quarters']=='0' for r in D)} files; others: " + ', '.join(f"{r['file']}={r['midi_first_onset_quarters']}q" for r in D if r['midi_first_onset_quarters']!='0'))
    fr=[float(r['frac_true_downbeats_on_midi_barlines']) for r in pk]
    L.append(f"- pickup files where NO true downbeat is on a MIDI bar line: {sum(f==0 for f in fr)}/{len(pk)}; the rest re-sync partially after a mid-piece meter change or irregular bar. No-pickup files whose MIDI grid still disagrees somewhere later: {sum(r['midi_grid_on_true_downbeats']=='no' for r in D if r['pickup_quarters_truth']=='0')}/{len(D)-len(pk)}")
    L.append('')
    L.append('| meter | files | no pickup | pickup lengths in quarters (count) |')
    L.append('|---|---|---|---|')
    for m in sorted(set(r['meter'] for r in D), key=lambda m:-sum(r['meter']==m for r in D)):
        M=[r for r in D if r['meter']==m]
        c=C(r['pickup_quarters_truth'] for r in M if r['pickup_quarters_truth']!='0')
        L.append(f"| {m} | {len(M)} | {sum(r['pickup_quarters_truth']=='0' for r in M)} | " + ', '.join(f"{k} ({v})" for k,v in sorted(c.items(), key=lambda kv: float(kv[0]))) + ' |')
    L.append('')
    mp=sum(int(r['n_mid_pickups']) for r in D); mpm=sum(int(r['n_mid_pickups_marked']) for r in D)
    mc=sum(int(r['n_mid_completions']) for r in D); mcm=sum(int(r['n_mid_completions_marked']) for r in D)
    L.append(f"- mid-piece short bars in the repeat-expanded score: {mp} pickup-type (in {sum(int(r['n_mid_pickups'])>0 for r in D)} files) of which {mpm} marked with their own time signature in the MIDI; {mc} completion-type (short bar closing a section), {mcm} marked.")
    L.append(f"- files with a meter change in the MIDI: {sum(len(r['midi_time_signatures'].split())>1 and len(set(x.split(':')[1] for x in r['midi_time_signatures'].split()))>1 for r in D)}; files flagged source_irregular: {sum(bool(r['source_irregular']) for r in D)}")
    L.append('')
open('summary_numbers.md','w').write('\n'.join(L)+'\n')
print('\n'.join(L))
