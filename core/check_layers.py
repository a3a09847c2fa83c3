#!/usr/bin/env python3
"""Fails when a group of core/ calls a group it may not use.

layers.txt (written by core/CMakeLists.txt) has one line per group:
    <library> <archive> <groups it uses, comma-separated>
Every symbol an archive leaves undefined that another group defines must be
defined by one of the groups it uses, or by one of theirs (the layers are
transitive: clients uses net, net uses crypto, so clients may call crypto).
Symbols no group defines (libc, OpenSSL, ...) are not core's business here.

Usage: check_layers.py layers.txt   (exit 0: clean; 1: each violation printed)
"""
import subprocess
import sys


def symbols(archive):
    """(defined, undefined) global symbol names of an archive."""
    out = subprocess.run(['nm', '-g', '--defined-only', archive], capture_output=True, text=True, check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3}
    out = subprocess.run(['nm', '-g', '--undefined-only', archive], capture_output=True, text=True, check=True).stdout
    undefined = {(l.split()[-1]) for l in out.splitlines() if l.strip() and not l.endswith(':')}
    return defined, undefined - defined


def main(path):
    groups = {}
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        name, archive = parts[0], parts[1]
        uses = parts[2].split(',') if len(parts) > 2 else []
        groups[name] = (archive, uses)
    allowed = {}

    def closure(g, seen=()):
        if g in seen:
            raise SystemExit('%s: the groups use each other in a cycle: %s' % (path, ' -> '.join(seen + (g,))))
        if g not in allowed:
            s = set()
            for u in groups[g][1]:
                if u not in groups:
                    raise SystemExit('%s: %s uses %s, which is not a group' % (path, g, u))
                s |= {u} | closure(u, seen + (g,))
            allowed[g] = s
        return allowed[g]

    syms = {g: symbols(a) for g, (a, _) in groups.items()}
    owner = {}
    for g, (defined, _) in syms.items():
        for s in defined:
            owner.setdefault(s, g)
    bad = 0
    for g in sorted(groups):
        ok = closure(g)
        for s in sorted(syms[g][1]):
            o = owner.get(s)
            if o and o != g and o not in ok:
                print('core layers: %s calls %s, defined by %s, a group it may not use (it uses: %s); '
                      'move the code down, or name the group in USES of core/%s/CMakeLists.txt if that is the design'
                      % (g, s, o, ', '.join(sorted(ok)) or 'nothing', g[3:]), file=sys.stderr)
                bad += 1
    if bad:
        return 1
    print('core layers: %d groups, no call upward or sideways' % len(groups))
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
