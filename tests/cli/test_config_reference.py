#!/usr/bin/python3
"""docs/configuration.md against the YAML loaders: every accepted key documented, nothing else.

    test_config_reference.py SOURCE_DIR [--doc FILE] [--bin-dir DIR]

The keys each loader accepts come from its C source, read the way the compiler would see them:

  * the loaders are the files of services/*/ and core/*/ that call nox_cfg_load_map(path, LIST,
    &doc, &ROOT, err): LIST is the top level, ROOT its map;
  * every nox_cfg_check_keys(doc, MAP, LIST, WHERE, err) adds a section: WHERE is a literal
    ("nats") or a variable filled by snprintf(VAR, sizeof VAR, "chains[%zu]", i) -> "chains[]";
  * LIST is a `static const char *const LIST[] = {...}` of the same file (the nearest one above
    the call), its NOX_*_KEYS macros expanded from core/*/include/nox/*.h;
  * nox_cfg_get_tls_server / nox_cfg_get_tls_client(doc, MAP, "key", ...) add key.<field> for the
    fields of those helpers' lists in core/net/config_net.c; so do the helpers of core/net/service.c
    that call them (nox_service_load_listener: tls.*).

With --bin-dir, each service binary (and nox-eval for operators.yaml) is then asked too: it is fed a
YAML with an unknown key in a section, and the "(allowed: ...)" list of its error must be the list
read from the source (a list cut at 255 characters by nox_cfg_check_keys: its complete entries).

docs/configuration.md: the tables under "## nox-kms", "## nox-gateway", "## nox-runner",
"## nox-ingestor" and "## operators.yaml"; the first cell of a row names keys in backticks
(`chains[].rpc_url`, `nats.url` / `nats.urls`). `X.*` stands for the keys X.<field> of the shared
blocks' tables; a row whose values cell says "client TLS block" stands for K.<field> of each of the
"Client TLS blocks" table's fields. A key's parents (`nats` of `nats.url`) count as documented.
The shared blocks' own tables are checked too: each key in them is accepted by some service.

The test fails with one line per key, in both directions; then, to show it can fail, it checks
that dropping a documented row and adding a bogus one are both caught.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

DOC_SECTIONS = {  # loader source -> (service name in messages, the doc's "## " heading)
    'services/kms/kms_config.c': ('kms', 'nox-kms'),
    'services/gateway/gateway_config.c': ('gateway', 'nox-gateway'),
    'services/runner/runner_config.c': ('runner', 'nox-runner'),
    'services/ingestor/ingestor_config.c': ('ingestor', 'nox-ingestor'),
    'core/engine/operators_config.c': ('operators.yaml', 'operators.yaml'),
}
DOC_NAME = 'docs/configuration.md'
KEY_RE = re.compile(r'^[a-z_][a-z0-9_]*(\[\])?(\.[a-z_][a-z0-9_]*(\[\])?)*(\.\*)?$')


class Fail(Exception):
    pass


# ---- the C sources ---------------------------------------------------------------------------

def strip_comments(text):
    """Comments become blanks (newlines kept); string literals are left alone."""
    def repl(m):
        s = m.group(0)
        return s if s[0] in '"\'' else re.sub(r'[^\n]', ' ', s)
    return re.sub(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*', repl, text, flags=re.S)


def read_c(root, rel):
    with open(os.path.join(root, rel), encoding='utf-8') as f:
        return strip_comments(f.read())


def key_macros(root):
    """#define NOX_..._KEYS "a", "b" of core/*/include/nox/*.h."""
    macros = {}
    for group in core_groups(root):
        inc = group + '/include/nox'
        if not os.path.isdir(os.path.join(root, inc)):
            continue
        for name in sorted(os.listdir(os.path.join(root, inc))):
            if not name.endswith('.h'):
                continue
            text = read_c(root, inc + '/' + name).replace('\\\n', ' ')
            for m in re.finditer(r'^#define\s+(NOX_\w*KEYS)\s+(.*)$', text, re.M):
                macros[m.group(1)] = (inc + '/' + name, re.findall(r'"([^"]*)"', m.group(2)))
    return macros


def core_groups(root):
    """core/<group> folders (one static library each, core/CMakeLists.txt)."""
    return ['core/' + d for d in sorted(os.listdir(os.path.join(root, 'core')))
            if os.path.isdir(os.path.join(root, 'core', d))]


def string_arrays(text, rel, macros):
    """[(position, name, [(key, origin)])] for every `static const char *const NAME[] = {...};`."""
    out = []
    for m in re.finditer(r'static\s+const\s+char\s*\*\s*const\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\}\s*;', text, re.S):
        keys = []
        for item in (i.strip() for i in m.group(2).split(',')):
            if item == 'NULL' or not item:
                continue
            if item.startswith('"'):
                keys.append((item.strip('"'), rel))
            elif item in macros:
                hdr, names = macros[item]
                keys += [(k, '%s (%s) via %s' % (hdr, item, rel)) for k in names]
            else:
                raise Fail('%s: cannot read the item %r of the key list %s' % (rel, item, m.group(1)))
        out.append((m.start(), m.group(1), keys))
    return out


def nearest_before(items, pos, pred):
    """The last of items (tuples starting with a position, or regex matches) before pos for which pred holds."""
    best = None
    for it in items:
        start = it.start() if hasattr(it, 'start') else it[0]
        if start < pos and pred(it):
            best = it
    return best


def functions(text):
    """{name: body} of the functions defined in a C file."""
    out = {}
    for m in re.finditer(r'^[A-Za-z][^;{}=\n]*?\b(\w+)\s*\([^;{}]*\)\s*\{', text, re.M):
        depth, i = 0, m.end() - 1
        while True:
            depth += {'{': 1, '}': -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        out[m.group(1)] = text[m.end():i]
    return out


def tls_fields(root, macros):
    """{'server': [fields], 'client': [fields]} from nox_cfg_get_tls_server/client in core/net/config_net.c."""
    fns = functions(read_c(root, 'core/net/config_net.c'))
    out = {}
    for kind in ('server', 'client'):
        body = fns.get('nox_cfg_get_tls_' + kind)
        arrays = string_arrays(body or '', 'core/net/config_net.c', macros)
        if len(arrays) != 1:
            raise Fail('core/net/config_net.c: expected one key list in nox_cfg_get_tls_%s, found %d' % (kind, len(arrays)))
        out[kind] = [k for k, _ in arrays[0][2]]
    return out


TLS_CALL = r'nox_cfg_get_tls_(server|client)\(\s*\w+\s*,\s*(\w+)\s*,\s*"(\w+)"'


def tls_helpers(root):
    """{function of core/net/service.c: [(kind, key)]} for the helpers that read a TLS block."""
    out = {}
    for name, body in functions(read_c(root, 'core/net/service.c')).items():
        calls = [(m.group(1), m.group(3)) for m in re.finditer(TLS_CALL, body)]
        if calls:
            out[name] = calls
    return out


def loader_files(root):
    found = []
    for d in core_groups(root) + ['services/' + s for s in sorted(os.listdir(os.path.join(root, 'services')))]:
        full = os.path.join(root, d)
        if not os.path.isdir(full):
            continue
        for name in sorted(os.listdir(full)):
            rel = d + '/' + name
            if name.endswith('.c') and rel != 'core/base/config.c' and 'nox_cfg_load_map(' in read_c(root, rel):
                found.append(rel)
    return found


def accepted_keys(root):
    """{loader file: {key path: origin}} and the client TLS fields."""
    macros = key_macros(root)
    tls = tls_fields(root, macros)
    helpers = tls_helpers(root)
    result = {}
    for rel in loader_files(root):
        if rel not in DOC_SECTIONS:
            raise Fail('%s loads a YAML file (nox_cfg_load_map) but this test does not know which section of %s '
                       'documents it: add it to DOC_SECTIONS' % (rel, DOC_NAME))
        text = read_c(root, rel)
        # the files of the loader's folder that read sections of its document (nox_cfg_check_keys without a
        # nox_cfg_load_map of their own, e.g. services/gateway/attestation_config.c): their sections are the loader's
        folder = os.path.dirname(rel)
        for name in sorted(os.listdir(os.path.join(root, folder))):
            other = folder + '/' + name
            if name.endswith('.c') and other != rel and not folder.startswith('core/'):
                t = read_c(root, other)
                if 'nox_cfg_check_keys(' in t and 'nox_cfg_load_map(' not in t:
                    text += '\n' + t
        arrays = string_arrays(text, rel, macros)

        def array(name, pos):
            a = nearest_before(arrays, pos, lambda it: it[1] == name)
            if not a:
                raise Fail('%s: key list %s not found above its use' % (rel, name))
            return a[2]

        keys = {}
        sections = []  # (position, map variable, section prefix)
        loads = list(re.finditer(r'nox_cfg_load_map\(\s*\w+\s*,\s*(\w+)\s*,\s*&\w+\s*,\s*&(\w+)', text))
        if len(loads) != 1:
            raise Fail('%s: expected one nox_cfg_load_map(path, LIST, &doc, &root, err) call, found %d' % (rel, len(loads)))
        root_var = loads[0].group(2)
        for k, origin in array(loads[0].group(1), loads[0].start()):
            keys[k] = origin
        for m in re.finditer(r'nox_cfg_check_keys\(\s*\w+\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*([^,]+?)\s*,\s*\w+\s*\)', text):
            var, lst, where = m.groups()
            if where.startswith('"'):
                prefix = where.strip('"')
            else:
                fmt = nearest_before(list(re.finditer(r'snprintf\(\s*(\w+)\s*,\s*sizeof\s*\(?\s*\w+\s*\)?\s*,\s*"([^"]*)"',
                                                      text)), m.start(), lambda s: s.group(1) == where)
                if not fmt:
                    raise Fail('%s: cannot tell which section nox_cfg_check_keys(..., %s, %s, ...) checks' % (rel, lst, where))
                prefix = fmt.group(2).replace('[%zu]', '[]')
            if '%' in prefix or not KEY_RE.match(prefix):
                raise Fail('%s: cannot read the section %r of nox_cfg_check_keys(..., %s, ...)' % (rel, prefix, lst))
            sections.append((m.start(), var, prefix))
            for k, origin in array(lst, m.start()):
                keys[prefix + '.' + k] = origin

        def section_of(var, pos):
            if var == root_var:
                return ''
            s = nearest_before(sections, pos, lambda it: it[1] == var)
            if not s:
                raise Fail('%s: cannot tell which section the map %s is' % (rel, var))
            return s[2] + '.'

        for m in re.finditer(TLS_CALL, text):
            kind, var, key = m.groups()
            base = section_of(var, m.start()) + key
            for f in tls[kind]:
                keys[base + '.' + f] = 'core/net/config_net.c (nox_cfg_get_tls_%s) via %s' % (kind, rel)
        for name, calls in helpers.items():
            for m in re.finditer(r'\b%s\(\s*\w+\s*,\s*(\w+)' % name, text):
                base = section_of(m.group(1), m.start())
                for kind, key in calls:
                    for f in tls[kind]:
                        keys[base + key + '.' + f] = 'core/net/config_net.c (nox_cfg_get_tls_%s) via %s in %s' % (kind, name, rel)
        result[rel] = keys
    for rel in DOC_SECTIONS:
        if rel not in result:
            raise Fail('%s: no nox_cfg_load_map call found (moved? update DOC_SECTIONS)' % rel)
    return result, tls


# ---- docs/configuration.md --------------------------------------------------------------------

def split_row(line):
    cells, cur, tick = [], '', False
    for ch in line.strip().strip('|'):
        if ch == '`':
            tick = not tick
        if ch == '|' and not tick:
            cells.append(cur.strip())
            cur = ''
        else:
            cur += ch
    cells.append(cur.strip())
    return cells


def read_doc(lines):
    """[(h2, h3, line number, [keys], values cell)] of every table row."""
    rows, h2, h3 = [], None, None
    for no, line in enumerate(lines, 1):
        if line.startswith('## '):
            h2, h3 = line[3:].strip(), None
        elif line.startswith('### '):
            h3 = line[4:].strip()
        elif line.startswith('|'):
            cells = split_row(line)
            if cells[0] == 'key' or re.match(r'^-+$', cells[0]):
                continue
            names = re.findall(r'`([^`]+)`', cells[0])
            if not names:
                raise Fail('%s:%d: a table row without a `key` in its first cell' % (DOC_NAME, no))
            for n in names:
                if not KEY_RE.match(n):
                    raise Fail('%s:%d: cannot read the key `%s`' % (DOC_NAME, no, n))
            rows.append((h2, h3, no, names, cells[2] if len(cells) > 2 else ''))
    return rows


def normal(keys):
    """The keys and their parents: `chains[].x` also names `chains`, `nats.tls.ca_file` `nats` and `nats.tls`."""
    out = set(keys)
    for k in keys:
        parts = k.split('.')
        for i in range(1, len(parts)):
            p = '.'.join(parts[:i])
            out.add(p[:-2] if p.endswith('[]') else p)
    return out


def compare(accepted, tls, lines):
    errors = []
    rows = read_doc(lines)
    shared = [r for r in rows if r[0] == 'Shared blocks']
    client_tls = [n for r in shared if r[1] and r[1].startswith('Client TLS') for n in r[3]]
    block_keys = [n for r in shared if not (r[1] and r[1].startswith('Client TLS')) for n in r[3]]
    if not client_tls:
        errors.append('%s: no "### Client TLS blocks" table under "## Shared blocks"' % DOC_NAME)
    all_accepted = set(k for keys in accepted.values() for k in keys)
    for r in shared:
        for n in r[3]:
            if r[1] and r[1].startswith('Client TLS'):
                if n not in tls['client']:
                    errors.append('%s:%d (### %s): `%s` is not a field of a client TLS block (core/net/config_net.c, '
                                  'nox_cfg_get_tls_client: %s)' % (DOC_NAME, r[2], r[1], n, ', '.join(tls['client'])))
            elif n not in all_accepted:
                errors.append('%s:%d (### %s): `%s` is accepted by no loader' % (DOC_NAME, r[2], r[1], n))
    for f in tls['client']:
        if client_tls and f not in client_tls:
            errors.append('client TLS blocks: %s is accepted by core/net/config_net.c (nox_cfg_get_tls_client) but missing '
                          'from the "Client TLS blocks" table of %s' % (f, DOC_NAME))

    for rel, (service, heading) in DOC_SECTIONS.items():
        documented = {}  # key -> line
        mine = [r for r in rows if r[0] == heading]
        if not mine:
            errors.append('%s: no "## %s" section with a key table (%s)' % (DOC_NAME, heading, rel))
            continue
        for _, _, no, names, values in mine:
            for n in names:
                expanded = [n]
                if n.endswith('.*'):
                    expanded = [k for k in block_keys if k.startswith(n[:-1])]
                    if not expanded:
                        errors.append('%s:%d: `%s` stands for no key of the shared blocks' % (DOC_NAME, no, n))
                if 'client TLS block' in values:
                    expanded = [k + '.' + f for k in expanded for f in client_tls]
                for k in expanded:
                    documented.setdefault(k, no)
        keys = accepted[rel]
        have = normal(documented)
        for k in sorted(keys):
            if k not in have:
                errors.append('%s: %s is accepted by %s but missing from %s (## %s)' % (service, k, keys[k], DOC_NAME, heading))
        ok = normal(keys)
        for k in sorted(documented):
            if k not in ok:
                errors.append('%s: %s is named in %s:%d (## %s) but no loader accepts it (%s)'
                              % (service, k, DOC_NAME, documented[k], heading, rel))
    return errors


# ---- the binaries ------------------------------------------------------------------------------

ADDR = '"0x' + '11' * 20 + '"'
PROBE = 'zz_not_a_key'
# (loader, section, binary, YAML reaching that section with an unknown key in it)
PROBES = [
    ('services/kms/kms_config.c', '', 'nox-kms', PROBE + ': 1\n'),
    ('services/kms/kms_config.c', 'tls', 'nox-kms', 'listen: 127.0.0.1:0\ntls: {%s: 1}\n' % PROBE),
    ('services/kms/kms_config.c', 'chains[]', 'nox-kms',
     'listen: 127.0.0.1:0\nkey_file: k\nwallet_key_file: w\nchains: [{%s: 1}]\n' % PROBE),
    ('services/gateway/gateway_config.c', '', 'nox-gateway', PROBE + ': 1\n'),
    ('services/gateway/gateway_config.c', 'kms_tls', 'nox-gateway',
     'listen: 127.0.0.1:0\ndatabase_url: x\nkms_tls: {%s: 1}\n' % PROBE),
    ('services/gateway/gateway_config.c', 'kms_nodes[]', 'nox-gateway',
     'listen: 127.0.0.1:0\ndatabase_url: x\nkms_group_file: g\nkms_nodes: [{%s: 1}]\n' % PROBE),
    ('services/gateway/gateway_config.c', 'chains[]', 'nox-gateway',
     'listen: 127.0.0.1:0\ndatabase_url: x\nkms_url: http://127.0.0.1:1\nkms_address: %s\nwallet_key_file: w\n'
     'runner_addresses: [%s]\nchains: [{%s: 1}]\n' % (ADDR, ADDR, PROBE)),
    ('services/gateway/gateway_config.c', 'chains[].rpc_tls', 'nox-gateway',
     'listen: 127.0.0.1:0\ndatabase_url: x\nkms_url: http://127.0.0.1:1\nkms_address: %s\nwallet_key_file: w\n'
     'runner_addresses: [%s]\nchains: [{chain_id: 1, rpc_url: "http://127.0.0.1:1", rpc_tls: {%s: 1}}]\n'
     % (ADDR, ADDR, PROBE)),
    ('services/runner/runner_config.c', '', 'nox-runner', PROBE + ': 1\n'),
    ('services/runner/runner_config.c', 'nats', 'nox-runner', 'nats: {%s: 1}\n' % PROBE),
    ('services/ingestor/ingestor_config.c', '', 'nox-ingestor', PROBE + ': 1\n'),
    ('services/ingestor/ingestor_config.c', 'nats', 'nox-ingestor',
     'rpc_url: http://127.0.0.1:1\nchain_id: 1\nnox_compute: %s\nstate_file: s\nwallet_key_file: w\nnats: {%s: 1}\n'
     % (ADDR, PROBE)),
    ('core/engine/operators_config.c', '', 'nox-eval', PROBE + ': 1\n'),
    ('core/engine/operators_config.c', 'plugins[]', 'nox-eval', 'plugins: [{%s: 1}]\n' % PROBE),
]


def ask_binaries(bin_dir, accepted):
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (rel, section, binary, yaml) in enumerate(PROBES):
            path = os.path.join(tmp, 'probe%d.yaml' % i)
            with open(path, 'w') as f:
                f.write(yaml)
            cmd = [os.path.join(bin_dir, binary), '--config', path]
            if binary == 'nox-eval':
                cmd.append('--list')
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
            except subprocess.TimeoutExpired:
                errors.append('%s with %s did not stop: the probe of %s reached no error' % (binary, path, section or 'the top level'))
                continue
            out = p.stdout + p.stderr
            m = re.search(r"unknown key '%s' \(allowed: ([^)\n]*)(\))?" % PROBE, out)
            if p.returncode == 0 or not m:
                errors.append('%s: the probe of section %r got no "unknown key" error (exit %d): %s'
                              % (binary, section or '(top)', p.returncode, out.strip()[-400:]))
                continue
            listed = [k.strip() for k in m.group(1).split(',')]
            prefix = section + '.' if section else ''
            from_source = [k[len(prefix):] for k in accepted[rel] if k.startswith(prefix) and '.' not in k[len(prefix):]]
            # nox_cfg_check_keys writes at most 255 characters of the list, the error at most NOX_ERROR_MAX: when
            # the list may be cut, its last entry may be partial and later ones missing
            cut = len(m.group(1)) >= 255 or not m.group(2)
            if cut:
                listed = listed[:-1]
            section_name = section or '(top level)'
            for k in listed:
                if k not in from_source:
                    errors.append('%s: %s%s is accepted by %s but this test did not find it in %s'
                                  % (binary, prefix, k, binary, rel))
            if not cut:
                for k in from_source:
                    if k not in listed:
                        errors.append('%s: %s%s, read from %s, is refused by %s (section %s)'
                                      % (binary, prefix, k, rel, binary, section_name))
            print('  %-13s %-18s %2d keys agree with the source%s' % (binary, section_name, len(listed),
                                                                      ' (list cut by the binary)' if cut else ''))
    return errors


# ---- main --------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('source_dir')
    ap.add_argument('--doc')
    ap.add_argument('--bin-dir')
    a = ap.parse_args()
    doc = a.doc or os.path.join(a.source_dir, DOC_NAME)
    try:
        accepted, tls = accepted_keys(a.source_dir)
        with open(doc, encoding='utf-8') as f:
            lines = f.read().split('\n')
        errors = compare(accepted, tls, lines)
    except Fail as e:
        print('FAIL: %s' % e)
        return 1
    total = sum(len(k) for k in accepted.values())
    for rel, keys in accepted.items():
        print('%-15s %3d keys from %s' % (DOC_SECTIONS[rel][0], len(keys), rel))
    if a.bin_dir:
        errors += ask_binaries(a.bin_dir, accepted)
    if errors:
        for e in errors:
            print('FAIL: ' + e)
        print('%d problem(s) between the loaders and %s' % (len(errors), doc))
        return 1

    # The check can fail: drop a documented row, then add a bogus key to a service's table.
    victim = next(i for i, l in enumerate(lines) if l.startswith('| `chains[].rpc_url`'))
    dropped = compare(accepted, tls, lines[:victim] + lines[victim + 1:])
    expect = 'gateway: chains[].rpc_url is accepted by services/gateway/gateway_config.c but missing from'
    if not any(e.startswith(expect) for e in dropped):
        print('FAIL: dropping the chains[].rpc_url row went unnoticed: %s' % dropped)
        return 1
    bogus = lines[:victim] + ['| `chains[].rpc_timeout_ms` | 5000 | 1..60000 | not a key |'] + lines[victim:]
    extra = compare(accepted, tls, bogus)
    if not any(e.startswith('gateway: chains[].rpc_timeout_ms is named in') for e in extra):
        print('FAIL: a bogus chains[].rpc_timeout_ms row went unnoticed: %s' % extra)
        return 1
    print('%d keys of %d loaders, each documented in %s, and nothing else; a dropped row and a bogus one are '
          'caught' % (total, len(accepted), doc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
