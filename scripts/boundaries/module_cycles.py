#!/usr/bin/env python3
"""Report import circles between the modules of one crate.

Usage: module_cycles.py <crate>/src

A module is a file (`foo.rs`, `foo/mod.rs`); an edge is a `crate::...` or
`super::...` path in its code (comments and `#[cfg(test)] mod tests` are
skipped; a child naming its own parent does not count, since the parent
declares it). Prints every strongly connected component of more than one
module with its edges, and exits 1 if there is any.
"""
import os,re,sys
root=sys.argv[1]
mods={}
for dp,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p=os.path.join(dp,f); rel=os.path.relpath(p,root)[:-3]
            parts=rel.split('/')
            if parts[-1]=='mod': parts=parts[:-1]
            if parts in (['lib'],['main']): parts=[]
            mods['::'.join(parts)]=p
def resolve(path):
    # longest prefix that is a module
    parts=path.split('::')
    for i in range(len(parts),-1,-1):
        m='::'.join(parts[:i])
        if m in mods: return m
    return None
edges={m:set() for m in mods}
for m,p in mods.items():
    src=open(p).read()
    src=re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*','',src,flags=re.S)
    src=re.sub(r'//[^\n]*','',src)
    for mm in re.finditer(r'\bcrate((?:::[A-Za-z_][A-Za-z0-9_]*)+)',src):
        t=resolve(mm.group(1)[2:])
        if t is not None and t!=m and not m.startswith(t+'::') and t!='' : edges[m].add(t)
    for mm in re.finditer(r'\bsuper((?:::[A-Za-z_][A-Za-z0-9_]*)+)',src):
        base=m.split('::')[:-1] if m else []
        # file mod.rs: super is parent of the module
        t=resolve('::'.join(base+mm.group(1)[2:].split('::')) if base else mm.group(1)[2:])
        if t is not None and t!=m and not m.startswith(t+'::') and t!='': edges[m].add(t)
# tarjan
idx={};low={};st=[];on=set();out=[];c=[0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        if len(comp)>1: out.append(comp)
for v in edges:
    if v not in idx: sc(v)
for comp in out:
    print('cycle:',sorted(comp))
    for a in sorted(comp):
        print('  ',a,'->',sorted(x for x in edges[a] if x in comp))
sys.exit(1 if out else 0)
