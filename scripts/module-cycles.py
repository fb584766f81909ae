#!/usr/bin/env python3
"""Import circles between the files of one crate.

    scripts/module-cycles.py [CRATE_SRC_DIR]    (default: dataplane/pipeline/src)

Reads every .rs file under CRATE_SRC_DIR (test modules excluded: files named tests.rs or
under a tests/ folder, and everything after a `#[cfg(test)]` line), maps each file to its
module path, collects the modules each file names in `use crate::...` and `use super::...`
items (grouped imports included), and prints every strongly connected component of more
than one file: files that import each other, directly or round a circle. Exits 1 if there
is one, 0 if the files form a DAG.

A module is the file that declares it (`flow/mod.rs` for `crate::flow`, `flow/client.rs`
for `crate::flow::client`); an import of an item names the deepest module the path reaches
(`crate::flow::client::Seg` -> `flow/client.rs`, `crate::flow::FlowTable` -> `flow/mod.rs`).
"""

import os
import re
import sys


def module_files(src):
    files = {}
    for root, dirs, names in os.walk(src):
        dirs[:] = [d for d in dirs if d != "tests"]
        for n in names:
            if not n.endswith(".rs") or n == "tests.rs":
                continue
            path = os.path.join(root, n)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            files[tuple(rel)] = path
    return files


USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)


def expand(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']"""
    tree = tree.strip()
    i = tree.find("{")
    if i < 0:
        return [tree.split(" as ")[0].strip()]
    prefix, inner = tree[:i], tree[i + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            out += [prefix + q if q != "self" else prefix.rstrip(":") for q in expand(p)]
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "dataplane/pipeline/src"
    files = module_files(src)
    edges = {m: set() for m in files}
    for mod, path in files.items():
        text = open(path, encoding="utf-8").read()
        cut = text.find("#[cfg(test)]")
        if cut >= 0:
            text = text[:cut]
        for m in USE.finditer(text):
            for item in expand(" ".join(m.group(1).split())):
                segs = [s for s in item.split("::") if s]
                if not segs:
                    continue
                if segs[0] == "crate":
                    base, rest = [], segs[1:]
                elif segs[0] == "super":
                    # `super` of a/b/c.rs (module a::b::c) and of a/b/c/mod.rs (also
                    # a::b::c) is a::b.
                    base, rest = list(mod[:-1]), segs[1:]
                    while rest and rest[0] == "super":
                        base, rest = base[:-1], rest[1:]
                elif segs[0] == "self":
                    base, rest = list(mod), segs[1:]
                else:
                    continue
                target = tuple(base)
                for s in rest:
                    if target + (s,) in files:
                        target = target + (s,)
                    else:
                        break
                if target in files and target != mod:
                    edges[mod].add(target)
    # Tarjan's strongly connected components.
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in files:
        if v not in index:
            visit(v)
    name = lambda m: os.path.relpath(files[m], src)
    circles = [c for c in comps if len(c) > 1]
    for c in circles:
        members = sorted(name(m) for m in c)
        print("circle: " + ", ".join(members))
        for m in sorted(c, key=name):
            inside = sorted(name(t) for t in edges[m] if t in c)
            print(f"  {name(m)} -> {', '.join(inside)}")
    print(f"{len(files)} files, {sum(len(e) for e in edges.values())} imports, {len(circles)} circle(s)")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
