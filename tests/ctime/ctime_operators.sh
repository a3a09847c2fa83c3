#!/usr/bin/env bash
# Nox's own plugins are constant time: `nox-plugin-check --ctime` (valgrind, inputs marked secret, every type
# combination) on each, with no leak, and at least one flagged implementation in all (the suite checks
# something). What the pass catches is shown by tests/sdk (the LEAKY plugin) and ctime_ctint_detects_leak.
# usage: ctime_operators.sh NOX_PLUGIN_CHECK PLUGIN.so...
set -uo pipefail
checker=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 flagged=0 evaluations=0
for so in "$@"; do
    name=$(basename "$so" .so)
    "$checker" "$so" --ctime --iterations 1 --json >"$tmp/$name.json" 2>"$tmp/$name.err"
    rc=$?
    line=$(/usr/bin/python3 - "$tmp/$name.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["ctime"]
ops = [o for o in c["operators"] if o["constant_time"]]
leaks = [f'{o["name"]} on {l["types"]}: {l["what"]}' for o in ops for l in o["leaks"]]
print(len(ops), c["evaluations"], c["leaks"], "; ".join(leaks[:5]))
PY
    ) || { echo "FAIL: $name: no --ctime report (exit $rc): $(tail -n 5 "$tmp/$name.err")"; failures=$((failures + 1)); continue; }
    read -r n evals leaks what <<<"$line"
    if [ "$rc" -ne 0 ] || [ "$leaks" -ne 0 ]; then
        echo "FAIL: $name: exit $rc, $leaks type combinations leaking: $what"
        failures=$((failures + 1))
    else
        echo "ok: $name: $n implementations flagged constant-time, $evals evaluations, no leak"
    fi
    flagged=$((flagged + n)) evaluations=$((evaluations + evals))
done
[ "$flagged" -gt 0 ] || { echo "FAIL: no implementation flagged constant-time was checked"; failures=$((failures + 1)); }
echo "$flagged implementations flagged constant-time checked ($evaluations evaluations), $failures failure(s)"
[ "$failures" -eq 0 ]
