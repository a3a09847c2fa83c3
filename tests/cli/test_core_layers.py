#!/usr/bin/env python3
"""core/'s layers: the build's check passes on the real archives, and fails on planted violations.

core/CMakeLists.txt builds one static library per group and runs core/check_layers.py over them
on every build. This test proves that check can fail: it copies a group's archive, adds an object
that calls upward (base -> clients) or sideways (net -> wire), and expects the check to name the
group, the symbol and its owner; a cycle in the declared USES is refused too; and an upward
#include does not compile with a group's own include path.

Usage: test_core_layers.py SOURCE_DIR BUILD_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

SRC, BUILD = sys.argv[1], sys.argv[2]
CHECK = os.path.join(SRC, 'core/check_layers.py')
LAYERS = os.path.join(BUILD, 'core/layers.txt')
failures = []
checks = 0


def expect(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print('FAIL:', what)


def run_check(layers_text, tmp):
    path = os.path.join(tmp, 'layers.txt')
    with open(path, 'w') as f:
        f.write(layers_text)
    return subprocess.run([sys.executable, CHECK, path], capture_output=True, text=True)


def planted(tmp, lib, calls):
    """layers.txt with lib's archive replaced by a copy holding an object that calls `calls`."""
    lines = open(LAYERS).read().splitlines()
    out = []
    for line in lines:
        name, archive, *rest = line.split()
        if name == lib:
            copy = os.path.join(tmp, os.path.basename(archive))
            shutil.copy(archive, copy)
            c = os.path.join(tmp, 'planted.c')
            with open(c, 'w') as f:
                f.write('extern void %s(void);\nvoid nox_planted_call(void) { %s(); }\n' % (calls, calls))
            subprocess.run(['cc', '-c', c, '-o', os.path.join(tmp, 'planted.o')], check=True)
            subprocess.run(['ar', 'rs', copy, os.path.join(tmp, 'planted.o')], check=True, capture_output=True)
            archive = copy
        out.append(' '.join([name, archive] + rest))
    return '\n'.join(out) + '\n'


with tempfile.TemporaryDirectory() as tmp:
    text = open(LAYERS).read()
    groups = [l.split()[0] for l in text.splitlines()]
    expect(groups == ['noxbase', 'noxcrypto', 'noxwire', 'noxengine', 'noxnet', 'noxchain', 'noxclients'],
           'layers.txt lists the seven groups in layer order: %s' % groups)

    r = run_check(text, tmp)
    expect(r.returncode == 0 and 'no call upward or sideways' in r.stdout,
           'the real archives pass: %s %s' % (r.stdout, r.stderr))

    # Upward: base calls the Gateway client.
    r = run_check(planted(tmp, 'noxbase', 'nox_gateway_client_failovers'), tmp)
    expect(r.returncode == 1, 'an upward call (base -> clients) fails the check (exit %d)' % r.returncode)
    expect('noxbase calls nox_gateway_client_failovers, defined by noxclients' in r.stderr,
           'the upward call is named with its owner: %s' % r.stderr)

    # Sideways: net calls wire (neither uses the other).
    r = run_check(planted(tmp, 'noxnet', 'nox_handle_derive'), tmp)
    expect(r.returncode == 1 and 'noxnet calls nox_handle_derive, defined by noxwire' in r.stderr,
           'a sideways call (net -> wire) fails the check: %s' % r.stderr)

    # Down the layers is allowed, directly (clients -> wire) and through a group used (engine -> wire -> crypto).
    r = run_check(planted(tmp, 'noxclients', 'nox_handle_derive'), tmp)
    expect(r.returncode == 0, 'a call down the layers (clients -> wire) passes: %s' % r.stderr)
    r = run_check(planted(tmp, 'noxengine', 'nox_keccak256'), tmp)
    expect(r.returncode == 0, 'a call through a used group (engine -> wire -> crypto) passes: %s' % r.stderr)

    # A cycle in USES is refused.
    cyc = '\n'.join(l + (' noxcrypto' if l.startswith('noxbase ') and len(l.split()) == 2 else '')
                    for l in text.splitlines()) + '\n'
    r = run_check(cyc, tmp)
    expect(r.returncode != 0 and 'cycle' in (r.stdout + r.stderr), 'a cycle in USES is refused: %s' % r.stderr)

    # An upward #include does not compile with base's include path; a header of its own does.
    c = os.path.join(tmp, 'inc.c')
    flags = ['cc', '-fsyntax-only', '-I', os.path.join(SRC, 'core/base/include'),
             '-I', os.path.join(SRC, 'plugins/include'), c]
    for header, ok in (('nox/config.h', True), ('nox/ec.h', False), ('nox/http_server.h', False)):
        with open(c, 'w') as f:
            f.write('#include "%s"\n' % header)
        r = subprocess.run(flags, capture_output=True, text=True)
        expect((r.returncode == 0) == ok, '#include "%s" with base\'s include path %s' %
               (header, 'compiles' if ok else 'does not compile'))

print('%d checks, %d failed' % (checks, len(failures)))
sys.exit(1 if failures else 0)
