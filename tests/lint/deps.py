"""Fails when the core's file graph has a cycle other than the two
recursive-descent pairs of the validator, or its module graph has any.

Nodes are the core's C files (core/src/**/*.c). An edge a -> b means a.c
calls a function defined in b.c (read from the object files with nm) or
includes b.h, the header of b.c (except the two group headers in
SHARED). The only cycles allowed are the
schema compiler's (validate_compile <-> validate_keywords) and the runner's
(validate_run <-> validate_apply, validate_containers).

    python3 tests/lint/deps.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import subprocess
import sys

# Headers that are the internal interface of a group of files rather than
# of the file they are named after: including one is no edge to that file.
SHARED = {"validate_run", "validate_compile"}

ALLOWED = [
    {"validate_compile", "validate_keywords"},
    {"validate_run", "validate_apply", "validate_containers"},
]


def objects(build):
    """The object files of the current build: each module's object library
    (core/src/<m>/CMakeFiles/core_<m>.dir) and the binary's own files."""
    found = {}
    core = os.path.join(build, "core")
    dirs = [os.path.join(core, "CMakeFiles", "soom.dir", "src")]
    src = os.path.join(core, "src")
    for m in os.listdir(src) if os.path.isdir(src) else []:
        dirs.append(os.path.join(src, m, "CMakeFiles", "core_" + m + ".dir"))
    for d in dirs:
        for f in os.listdir(d) if os.path.isdir(d) else []:
            if f.endswith(".c.o"):
                found[f[:-4]] = os.path.join(d, f)
    return found


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def sources(src):
    found = {}
    for root, _, files in os.walk(os.path.join(src, "core", "src")):
        for f in files:
            if f.endswith(".c"):
                found[f[:-2]] = os.path.join(root, f)
    return found


def graph(src, build):
    objs = objects(build)
    srcs = sources(src)
    missing = sorted(set(srcs) - set(objs))
    if missing:
        sys.exit("deps: no object file for " + ", ".join(missing) + " (build first)")
    owner, needs = {}, {}
    for name in srcs:
        d, u = symbols(objs[name])
        for s in d:
            owner[s] = name
        needs[name] = u
    edges = {name: set() for name in srcs}
    for name, undefined in needs.items():
        for s in undefined:
            if s in owner and owner[s] != name:
                edges[name].add(owner[s])
    include = re.compile(r'^\s*#\s*include\s+"([a-z0-9_]+)\.h"', re.M)
    for name, path in srcs.items():
        with open(path) as f:
            for h in include.findall(f.read()):
                if h in srcs and h != name and h not in SHARED:
                    edges[name].add(h)
    return edges


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def modules(src, edges):
    """The same graph between modules (core/src/<module>/; the files at the
    top of core/src are the composition root, "root")."""
    where = {}
    for name, path in sources(src).items():
        rel = os.path.relpath(path, os.path.join(src, "core", "src"))
        where[name] = rel.split(os.sep)[0] if os.sep in rel else "root"
    out = {m: set() for m in where.values()}
    for a, bs in edges.items():
        for b in bs:
            if where[a] != where[b]:
                out[where[a]].add(where[b])
    return out


def main():
    src, build = sys.argv[1], sys.argv[2]
    edges = graph(src, build)
    bad = [c for c in cycles(edges) if c not in ALLOWED]
    mods = modules(src, edges)
    bad += cycles(mods)
    edges.update(mods)
    for c in bad:
        detail = "; ".join(f"{a} -> {', '.join(sorted(edges[a] & c))}" for a in sorted(c))
        print(f"deps: cycle among {', '.join(sorted(c))} ({detail})")
    n = sum(len(e) for e in edges.values())
    order = " ".join(f"{m}->{','.join(sorted(d))}" if d else m for m, d in sorted(mods.items()))
    print(f"deps: modules {order}")
    print(f"deps: {len(edges) - len(mods)} files and {len(mods)} modules, {n} edges, "
          f"{len(bad)} forbidden cycles")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
