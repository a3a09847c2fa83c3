#!/usr/bin/env bash
# Sets everything up and evaluates a few operations through the operator
# plugins declared in config/operators.yaml, the way the Runner will.
# (The devnet issue turns this into the full end-to-end demo.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null

EVAL="build/bin/nox-eval --config config/operators.yaml"
echo "== Operators loaded from config/operators.yaml"
$EVAL --list | awk '{
    plugin = $(NF - 1); sub(/^\[/, "", plugin)
    if (!($1 in from)) { order[++n] = $1; id[$1] = substr($2, 4) }
    from[$1] = from[$1] (from[$1] ? ", " : "") plugin
  } END { for (i = 1; i <= n; i++) printf "  %-9s id=%-3s from %s\n", order[i], id[order[i]], from[order[i]] }'
echo
echo "== Evaluations (spec §5 semantics: wrapping, div by zero gives MAX, all-or-nothing tokens)"
while read -r line; do
  [ -z "$line" ] && continue
  printf '  %-44s -> %s\n' "$line" "$($EVAL $line 2>&1)"
done <<'OPS'
add uint8 200 100
sub uint8 10 200
div uint8 10 0
div int8 -128 -1
safe_mul uint64 4294967296 4294967296
lt int32 -5 3
select uint256 true 1 2
transfer uint64 100 50 30
transfer uint64 10 50 50
mint uint8 250 10 100
mul uint2048 340282366920938463463374607431768211456 340282366920938463463374607431768211456
add bool true false
OPS
echo
echo "== A batch through stdin (one output line per input line)"
printf 'add uint32 4294967295 1\neq address 0x00000000000000000000000000000000000000aa 0x00000000000000000000000000000000000000aa\nburn uint128 100 50 30\n' \
  | $EVAL --batch | sed 's/^/  /'
echo
echo "== Speed through the engine (type check + plugin call), one core"
build/bin/nox-bench eval --config config/operators.yaml --type uint256 --seconds 0.05 | grep -E '^(op|add|mul|div|lt|select|transfer) ' | sed 's/^/  /'
