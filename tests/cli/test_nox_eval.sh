#!/usr/bin/env bash
# nox-eval end to end: worked examples of spec §5, output format, exit codes,
# --batch, --list and configuration errors, against the plugins of a build tree.
# usage: test_nox_eval.sh NOX_EVAL PLUGIN_DIR
set -u
EVAL=$1
PLUGINS=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cfg=$work/operators.yaml
cat >"$cfg" <<YAML
plugins:
  - path: $PLUGINS/arithmetic.so
  - path: $PLUGINS/safe.so
  - path: $PLUGINS/comparison.so
  - path: $PLUGINS/select.so
  - path: $PLUGINS/token.so
  - path: $PLUGINS/wide.so
YAML
export NOX_OPERATORS_CONFIG=$cfg
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect "OUTPUT" ARGS... : stdout must equal OUTPUT and the exit status be 0
expect() {
    local want=$1; shift
    local got rc
    got=$("$EVAL" "$@" 2>"$work/err"); rc=$?
    if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then ok; else bad "nox-eval $* -> '$got' (rc $rc, stderr: $(cat "$work/err")), want '$want'"; fi
}

# expect_error RC "STDERR SUBSTRING" ARGS...
expect_error() {
    local want_rc=$1 needle=$2; shift 2
    local got rc
    got=$("$EVAL" "$@" 2>"$work/err"); rc=$?
    if [ "$rc" = "$want_rc" ] && grep -qF -- "$needle" "$work/err" && [ -z "$got" ]; then ok
    else bad "nox-eval $* -> rc $rc, stdout '$got', stderr '$(cat "$work/err")'; want rc $want_rc and '$needle'"; fi
}

MAX256=115792089237316195423570985008687907853269984665640564039457584007913129639935
I256MAX=57896044618658097711785492504343953926634992332820282019728792003956564819967
I256MIN=-57896044618658097711785492504343953926634992332820282019728792003956564819968
P255=57896044618658097711785492504343953926634992332820282019728792003956564819968

# Worked examples of spec §5
expect 44 add uint8 200 100
expect 66 sub uint8 10 200
expect 44 mul uint8 3 100
expect 255 div uint8 10 0
expect 127 div int8 10 0
expect -128 div int8 -128 -1
expect -3 div int8 -7 2
expect "false 0" safe_div int8 -128 -1
expect 0 add uint16 65535 1
expect "$I256MIN" add int256 "$I256MAX" 1
expect 1 add uint256 "$P255" 57896044618658097711785492504343953926634992332820282019728792003956564819969
expect "true 70 80" transfer uint256 100 50 30
expect "false 10 50" transfer uint256 10 50 50
expect "false 100 $MAX256" transfer uint256 100 "$MAX256" 1
expect "false 0 1" mint uint256 0 "$MAX256" 1
expect "false 100 30" burn uint256 100 50 30

# Output format and argument forms
expect "true 300" safe_add uint16 100 200
expect "false 0" safe_add uint8 200 100
expect true lt int8 -1 0
expect false lt uint8 255 0
expect 0 add int8 0xff 0x01          # hex is the raw bit pattern: int8 0xff is -1
expect 0 add int8 0xFF 1
expect 7 select int16 false -5 7
expect -5 select int16 true -5 7
expect 0x00000000000000000000000000000000000000aa select address 1 0x00000000000000000000000000000000000000aa 0x00000000000000000000000000000000000000bb
expect true eq address 0x00000000000000000000000000000000000000AA 0x00000000000000000000000000000000000000aa
expect true ne bool true false
expect 4294967295 mul uint2048 0xffff 0x10001
expect -3 div int512 -7 2
expect "true 6" safe_mul uint1024 2 3

# Errors: message on stderr, nothing on stdout, exit 1 (evaluation/config) or 2 (usage)
expect_error 1 "unknown operator 'fooo'" fooo uint8 1 2
expect_error 1 "unknown type 'uint7'" add uint7 1 2
expect_error 1 "value out of range for uint8" add uint8 256 1
expect_error 1 "negative value for unsigned type uint8" add uint8 -1 1
expect_error 1 "add takes 2 arguments, got 1" add uint8 1
expect_error 1 "leftHandOperand cannot be bool" add bool true false
expect_error 1 "cannot be int64" transfer int64 1 2 3
expect_error 1 "invalid character" add uint8 12a 1
expect_error 2 "unknown option --frobnicate" --frobnicate
expect_error 2 "usage:"
expect_error 1 "cannot open" --config "$work/missing.yaml" add uint8 1 2
printf 'plugins:\n  - path: %s/arithmetic.so\n    operators: [add, fooo]\n' "$PLUGINS" >"$work/bad.yaml"
expect_error 1 "bad.yaml:3:22: plugins[0].operators[1]: operator 'fooo' is not exported" --config "$work/bad.yaml" add uint8 1 2

# --list
list=$("$EVAL" --list)
if grep -q '^transfer   id=16  3->3  transfer(T balanceFrom, T balanceTo, T amount) -> (bool success, T newBalanceFrom, T newBalanceTo) where T in {uint8..uint256}  \[token 1.0.0\]$' <<<"$list" \
   && [ "$(grep -c . <<<"$list")" = 33 ]; then ok; else bad "--list output unexpected: $list"; fi

# --batch: one output line per input line, errors inline, exit 1 when any failed
got=$(printf 'add uint8 1 2\nfooo uint8 1\n\nlt int8 -1 0\nselect uint8 true 1 2 3\nsafe_sub uint8 1 2\n' | "$EVAL" --batch); rc=$?
want=$'3\nerror: unknown operator \'fooo\' (loaded: add, sub, mul, div, safe_add, safe_sub, safe_mul, safe_div, select, eq, ne, lt, le, gt, ge, transfer, mint, burn)\nerror: expected OP TYPE ARG...\ntrue\nerror: select takes 3 arguments, got 4\nfalse 0'
if [ "$rc" = 1 ] && [ "$got" = "$want" ]; then ok; else bad "--batch -> rc $rc, got:
$got
want:
$want"; fi
got=$(printf 'add uint8 1 2\nmul int8 -2 3\n' | "$EVAL" --batch); rc=$?
if [ "$rc" = 0 ] && [ "$got" = $'3\n-6' ]; then ok; else bad "--batch all good -> rc $rc: $got"; fi

# The extension families (ids >= 64) through the shipped config, and --out for cast
cat >"$work/ext.yaml" <<YAML
plugins:
  - path: $PLUGINS/bitwise.so
  - path: $PLUGINS/shift.so
  - path: $PLUGINS/minmax.so
  - path: $PLUGINS/cast.so
YAML
ext=(--config "$work/ext.yaml")
expect 8 "${ext[@]}" and uint8 12 10
expect 14 "${ext[@]}" or uint8 12 10
expect -6 "${ext[@]}" xor int8 -1 5
expect false "${ext[@]}" not bool true
expect 255 "${ext[@]}" not uint8 0
expect -1 "${ext[@]}" min int8 -1 1
expect 65535 "${ext[@]}" max uint16 7 65535
expect -128 "${ext[@]}" neg int8 -128
expect 255 "${ext[@]}" neg uint8 1
expect -1 "${ext[@]}" rem int8 -7 2
expect 0 "${ext[@]}" rem int8 -128 -1
expect 7 "${ext[@]}" rem uint8 7 0
expect -1 "${ext[@]}" rem int512 -7 2
expect 1 "${ext[@]}" shl uint8 1 8
expect 128 "${ext[@]}" shl uint8 1 7
expect -16 "${ext[@]}" shr int8 -128 3
expect -1 "${ext[@]}" shr int8 -128 -1
expect 3 "${ext[@]}" rotl uint8 0x81 1
expect 2147483648 "${ext[@]}" rotr uint32 1 1
expect 65535 "${ext[@]}" cast int8 -1 --out uint16
expect 44 "${ext[@]}" cast uint16 300 --out uint8
expect 127 "${ext[@]}" cast int16 -129 --out int8
expect 1 "${ext[@]}" cast bool true --out uint256
expect_error 1 "shl: value cannot be bool" "${ext[@]}" shl bool true true
expect_error 1 "cannot be inferred; declare it" "${ext[@]}" cast int8 -1
expect_error 1 "--out: unknown type 'uint9'" "${ext[@]}" cast uint8 1 --out uint9
expect_error 1 "output result has type uint16, but the operation produces uint8" add uint8 1 2 --out uint16
got=$(printf 'cast int8 -1 --out uint8\nmin uint8 3 4\n' | "$EVAL" "${ext[@]}" --batch)
if [ "$got" = "$(printf '255\n3')" ]; then ok; else bad "--batch with --out: got '$got'"; fi

# --signatures: every operator's implementations as JSON (what contracts/register_operators.py registers)
{ cat "$cfg"; tail -n +2 "$work/ext.yaml"; } >"$work/all.yaml"
all=(--config "$work/all.yaml")
if "$EVAL" "${all[@]}" --signatures | python3 -c '
import json, sys
d = json.load(sys.stdin)
ops = {o["id"]: o for o in d["operators"]}
add, cast, rem = ops[1], ops[76], ops[67]
arith = (((1 << 64) - 1) << 4)  # uint8..int256: codes 4..67
wide = 0x3f << 100              # uint512..int2048
assert add["name"] == "add" and (add["nInputs"], add["nOutputs"]) == (2, 1), add
assert [(m["plugin"], m["inputs"], m["outputs"], [int(x, 16) for x in m["typeSets"]]) for m in add["implementations"]] \
    == [("arithmetic", [256, 256], [256], [arith, 0, 0, 0]), ("wide", [256, 256], [256], [wide, 0, 0, 0])], add
assert cast["implementations"][0]["inputs"] == [256] and cast["implementations"][0]["outputs"] == [257], cast
assert all(len(x) == 66 for m in cast["implementations"] for x in m["typeSets"]), cast
assert int(cast["implementations"][0]["typeSets"][1], 16) == 1 | arith | wide, cast
assert len(rem["implementations"]) == 2 and sorted(ops) == sorted(set(ops)) and sorted(ops)[-1] == 76
'; then ok; else bad "--signatures: unexpected JSON"; fi
# --check-types: nox_op_resolve on type codes or names, one answer per line
want=$(cat <<'TXT'
ok 4
refused: add: operands must share one type: leftHandOperand is uint8, rightHandOperand is uint16
ok 100
ok 0,4,4
refused: add: input 0 has type bytes, which no operator accepts
refused: add: input 0 has type (reserved code), which no operator accepts
refused: no operator has id 999
refused: output 0 has a reserved type code, which no handle carries
refused: add: output result has type uint16, but the operation produces uint8
refused: add takes 2 inputs (leftHandOperand, rightHandOperand), got 3
ok 5
refused: cast: the type of output result cannot be inferred; declare it
refused: neg: output result has type bool, but the operation produces uint64
ok 4
error: expected 'ID IN,IN,... -> OUT,OUT,...'
error: unknown type 'uint9'
TXT
)
got=$(printf '%s\n' '1 uint8,uint8 -> ?' '1 4,5 -> ?' '9 bool,uint512,uint512 -> ?' '16 4,4,4 -> ?,?,?' '1 2,2 -> ?' \
      '1 200,200 -> ?' '999 4 -> ?' '1 4,4 -> 255' '1 4,4 -> 5' '1 4,4,4 -> ?' '76 int8 -> uint16' '76 36 -> ?' \
      '66 11 -> 0' '67 4,4 -> 4' 'garbage' '1 uint9,uint8 -> ?' | "$EVAL" "${all[@]}" --check-types); rc=$?
if [ "$rc" = 1 ] && [ "$got" = "$want" ]; then ok; else bad "--check-types: rc $rc, got '$got'"; fi
got=$(printf '1 4,4 -> ?\n' | "$EVAL" "${all[@]}" --check-types); rc=$?
if [ "$rc" = 0 ] && [ "$got" = "ok 4" ]; then ok; else bad "--check-types without an error line: rc $rc, '$got'"; fi
expect_error 2 "usage" --signatures --list

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
