#!/usr/bin/env bash
# noxctl's offline commands end to end: outputs, files, exit codes, errors.
# usage: test_noxctl.sh NOXCTL [CAST [CONTRACTS_DIR]]
#   CAST (else $NOX_CAST): the pinned cast that encodes the revert data decode-error reads;
#   CONTRACTS_DIR (else $NOX_CONTRACTS_DIR): the compiled contracts, whose every error decode-error must name.
set -u
N=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")   # absolute: one check runs elsewhere
CAST=${2:-${NOX_CAST:-}}
CONTRACTS=${3:-${NOX_CONTRACTS_DIR:-}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect RC "STDOUT" "STDERR-SUBSTRING" ARGS...
expect() {
  local want_rc=$1 want_out=$2 needle=$3; shift 3
  local out rc
  out=$("$N" "$@" 2>"$work/err"); rc=$?
  if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] && { [ -z "$needle" ] || grep -qF -- "$needle" "$work/err"; }; then ok
  else bad "noxctl $* -> rc $rc, out '$out', err '$(cat "$work/err")'; want rc $want_rc, out '$want_out', err ~ '$needle'"; fi
}

expect 0 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470 "" keccak ""
expect 0 0x17b2b7642dccae30083fc9b112a79495ed8c29be846222fabd5b4ac58a8952d7 "" keccak "421614:0x$(printf 'ab%.0s' {1..32})"
expect 0 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470 "" keccak --hex 0x
expect 1 "" "odd number of hex digits" keccak --hex 0x123
expect 2 "" "usage: noxctl keccak" keccak

H=0x$(printf '11%.0s' {1..26})0000a4b12300
expect 0 "prehandle: 0x$(printf '11%.0s' {1..26})
chain_id: 42161
type: uint256
type_code: 35
version: 0" "" handle decode "$H"
expect 0 "prehandle: 0x$(printf '11%.0s' {1..26})
chain_id: 42161
type: uint256
type_code: 35
version: 0" "" handle decode "$(tr 'a-f' 'A-F' <<<"$H" | sed 's/^0X/0x/')"
expect 1 "" "expected 0x + 64 hex digits (32 bytes), got 62 digits" handle decode "${H:0:64}"
expect 1 "" "invalid hex digit at position 3" handle decode "0xz${H:3}"
expect 1 "prehandle: 0x$(printf '11%.0s' {1..26})
chain_id: 42161
type: reserved
type_code: 200
version: 0" "type code 200 (byte 30) is reserved" handle decode "${H:0:62}c800"
expect 1 "prehandle: 0x$(printf '11%.0s' {1..26})
chain_id: 42161
type: uint256
type_code: 35
version: 1" "version 1 (byte 31) is unknown" handle decode "${H:0:64}01"
expect 1 "prehandle: 0x0000000000000000000000000000000000000000000000000000
chain_id: 0
type: bool
type_code: 0
version: 0" "bytes32(0) is the undefined handle" handle decode 0x$(printf '00%.0s' {1..32})
expect 1 "" "handle derive needs --op" handle derive --op 1
expect 1 "" "--op: expected an integer in [0, 255]" handle derive --op 256
expect 1 "" "--type: unknown type 'uint7'" handle derive --type uint7

# keys: created 0600, never overwritten, loose modes refused, address printed
addr=$("$N" key new --out "$work/a.key"); rc=$?
if [ "$rc" = 0 ] && [[ "$addr" =~ ^0x[0-9a-f]{40}$ ]] && [ "$(stat -c %a "$work/a.key")" = 600 ]; then ok; else bad "key new: rc $rc addr '$addr' mode $(stat -c %a "$work/a.key")"; fi
expect 0 "$addr" "" key address "$work/a.key"
expect 1 "" "refusing to overwrite an existing key" key new --out "$work/a.key"
chmod 644 "$work/a.key"
expect 1 "" "chmod 600" key address "$work/a.key"
if grep -qF "$(cat "$work/a.key" | cut -c3-)" "$work/err"; then bad "the key appeared in an error message"; else ok; fi
expect 1 "" "cannot open key file" key address "$work/missing.key"
expect 2 "" "usage: noxctl key new" key

# NATS credentials: a user nkey seed, 0600, never overwritten; the public key printed and read back
pub=$("$N" nats-key new --out "$work/a.nk"); rc=$?
if [ "$rc" = 0 ] && [[ "$pub" =~ ^U[A-Z2-7]{55}$ ]] && [ "$(stat -c %a "$work/a.nk")" = 600 ] && grep -qE '^SU[A-Z2-7]{56}$' "$work/a.nk"; then ok
else bad "nats-key new: rc $rc pub '$pub' mode $(stat -c %a "$work/a.nk")"; fi
expect 0 "$pub" "" nats-key public "$work/a.nk"
expect 1 "" "refusing to overwrite an existing key" nats-key new --out "$work/a.nk"
printf 'SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY\n' >"$work/doc.nk"; chmod 600 "$work/doc.nk"
expect 0 UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4 "" nats-key public "$work/doc.nk"
chmod 640 "$work/a.nk"
expect 1 "" "chmod 600" nats-key public "$work/a.nk"
if grep -qF "$(cat "$work/a.nk")" "$work/err"; then bad "the seed appeared in an error message"; else ok; fi
printf '%s\n' "$pub" >"$work/pub.nk"; chmod 600 "$work/pub.nk"
expect 1 "" "no user nkey seed" nats-key public "$work/pub.nk"
expect 2 "" "usage: noxctl nats-key new" nats-key
expect 2 "" "unknown command 'frobnicate'" frobnicate
expect 2 "" "usage: noxctl COMMAND"

# ---- decode-error: revert data encoded by cast, decoded by noxctl
if [ -x "$CAST" ]; then ok; else bad "no cast (argument 2 or NOX_CAST): decode-error untested"; CAST=false; fi
cd_() { "$CAST" calldata "$@"; }   # selector + ABI-encoded arguments, as a revert carries them
expect 0 "UnknownOperator(1234)" "" decode-error "$(cd_ 'UnknownOperator(uint16)' 1234)"
d=$(cd_ 'UnknownOperator(uint16)' 1234)
expect 0 "UnknownOperator(1234)" "" decode-error "${d#0x}"   # without 0x
expect 0 "UnknownOperator(1234)" "" decode-error "$(tr 'a-f' 'A-F' <<<"${d#0x}")"
NMI=$(cd_ 'NoMatchingImplementation(uint16,uint8[],uint8[])' 66 '[11,4]' '[0]')
expect 0 "NoMatchingImplementation(66, [11, 4], [0])" "" decode-error "$NMI"
expect 0 "NoMatchingImplementation(66, [], [])" "" decode-error "$(cd_ 'NoMatchingImplementation(uint16,uint8[],uint8[])' 66 '[]' '[]')"
expect 0 "WrongArity(64, 3, 1)" "" decode-error "$(cd_ 'WrongArity(uint16,uint256,uint256)' 64 3 1)"
expect 0 "TransactionBudgetExceeded(115792089237316195423570985008687907853269984665640564039457584007913129639935)" "" \
  decode-error "$(cd_ 'TransactionBudgetExceeded(uint256)' 115792089237316195423570985008687907853269984665640564039457584007913129639935)"
expect 0 "NotAllowed(0x$(printf 'ab%.0s' {1..32}), 0x70997970c51812dc3a010c7d01b50e0d17dc79c8)" "" \
  decode-error "$(cd_ 'NotAllowed(bytes32,address)' 0x$(printf 'ab%.0s' {1..32}) 0x70997970C51812dc3A010C7d01b50e0d17dc79C8)"
expect 0 "InvalidReceiver(0x0000000000000000000000000000000000000000)" "" \
  decode-error "$(cd_ 'InvalidReceiver(address)' 0x0000000000000000000000000000000000000000)"
expect 0 "InvalidSlot(64, 1, 9, 999)" "" decode-error "$(cd_ 'InvalidSlot(uint16,uint256,uint256,uint16)' 64 1 9 999)"
expect 0 "ZeroAddress()" "" decode-error "$(cd_ 'ZeroAddress()')"
expect 0 'Error("not \"enough\" balance")' "" decode-error "$(cd_ 'Error(string)' 'not "enough" balance')"
expect 0 'Error("")' "" decode-error "$(cd_ 'Error(string)' '')"
expect 0 "Panic(0x11: arithmetic overflow or underflow)" "" decode-error "$(cd_ 'Panic(uint256)' 17)"
expect 0 "Panic(0x12: division or modulo by zero)" "" decode-error "$(cd_ 'Panic(uint256)' 18)"
expect 0 "Panic(0x01: assert failed)" "" decode-error "$(cd_ 'Panic(uint256)' 1)"
expect 0 "Panic(0x32: array index out of bounds)" "" decode-error "$(cd_ 'Panic(uint256)' 50)"
expect 0 "Panic(0x99: unknown panic code)" "" decode-error "$(cd_ 'Panic(uint256)' 153)"
expect 0 '{"selector":"0x82989b87","error":"NoMatchingImplementation","signature":"NoMatchingImplementation(uint16,uint8[],uint8[])","args":[{"name":"operatorId","type":"uint16","value":66},{"name":"inputTypes","type":"uint8[]","value":[11,4]},{"name":"outputTypes","type":"uint8[]","value":[0]}]}' \
  "" decode-error "$NMI" --json
expect 1 "" "unknown error 0x1176bd96 (32 bytes of arguments)" decode-error "$(cd_ 'Foo(uint256)' 5)"
expect 1 "" "unknown error 0x12345678 (0 bytes of arguments)" decode-error 0x12345678
expect 1 '{"selector":"0x12345678","error":null,"argumentBytes":3}' "unknown error 0x12345678 (3 bytes of arguments)" \
  decode-error 0x12345678aabbcc --json
# malformed: exit 2, saying precisely what
expect 2 "" "DATA: odd number of hex digits (73)" decode-error "${d}f"
expect 2 "" "DATA: 'g' at position 7 is not a hex digit" decode-error "0xebe4g"
expect 2 "" "DATA: byte 0x20 at position 3 is not a hex digit" decode-error "0x ebe46a22"
expect 2 "" "DATA: 3 bytes: revert data starts with a 4-byte selector" decode-error 0xebe46a
expect 2 "" "DATA: 0 bytes: revert data starts with a 4-byte selector" decode-error 0x
expect 2 "" "UnknownOperator(uint16): truncated arguments: 16 bytes, fewer than the 32 of its head" decode-error "${d:0:42}"
expect 2 "" "Panic(uint256): truncated arguments: 0 bytes, fewer than the 32 of its head" decode-error 0x4e487b71
expect 2 "" "argument 2 (uint8[] inputTypes): its length 2 (at offset 96) needs 64 bytes, only 32 follow" \
  decode-error "${NMI:0:330}"
expect 2 "" "argument 3 (uint8[] outputTypes): its offset 192 leaves no length word in the 192 bytes of arguments" \
  decode-error "${NMI:0:330}$(printf '0%.0s' {1..64})"
expect 2 "" "argument 1 (uint16 operatorId): the word does not fit a uint16" decode-error "${d:0:68}010000"
expect 2 "" "argument 2 (address account): an address has 12 zero bytes before its 20" \
  decode-error "0xb87a12a9$(printf 'ab%.0s' {1..32})ff$(printf '00%.0s' {1..31})"
expect 2 "" "usage: noxctl decode-error DATA" decode-error
expect 2 "" "unexpected argument" decode-error "$d" "$d"

# every error of every compiled contract is in noxctl's table (generated from these ABIs), arguments decoded
if [ -d "$CONTRACTS" ] && ls "$CONTRACTS"/*.json >/dev/null 2>&1; then
  n_errors=0
  while IFS=$'\t' read -r sig expected args; do
    n_errors=$((n_errors + 1))
    # shellcheck disable=SC2086
    expect 0 "$expected" "" decode-error "$(cd_ "$sig" $args)"
  done < <(python3 - "$CONTRACTS" <<'PY'
import glob, json, sys
VALUES = {"address": ("0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000a1"),
          "bool": ("true", "true"), "bytes32": ("0x" + "5a" * 32, "0x" + "5a" * 32), "string": ("x", '"x"'),
          "bytes": ("0x0102", "0x0102")}
seen = set()
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    for e in json.load(open(path))["abi"]:
        if e.get("type") != "error":
            continue
        types = [i["type"] for i in e["inputs"]]
        sig = e["name"] + "(" + ",".join(types) + ")"
        if sig in seen:
            continue
        seen.add(sig)
        args, shown = [], []
        for k, t in enumerate(types):
            if t.endswith("[]"):
                args.append(f"[{k + 1},{k + 2}]"); shown.append(f"[{k + 1}, {k + 2}]")
            elif t in VALUES:
                args.append(VALUES[t][0]); shown.append(VALUES[t][1])
            else:   # uintN, intN
                args.append(str(k + 7)); shown.append(str(k + 7))
        print(f"{sig}\t{e['name']}({', '.join(shown)})\t{' '.join(args)}")
PY
)
  if [ "$n_errors" -ge 30 ]; then ok; else bad "only $n_errors errors found in $CONTRACTS"; fi
else
  bad "no compiled contracts (argument 3 or NOX_CONTRACTS_DIR): the error table is untested"
fi

# ---- tx: usage errors before any connection; --help lists the new commands
expect 2 "" "TXHASH: a transaction hash is 0x + 64 hex digits: expected 0x + 64 hex digits (32 bytes), got 4 digits" \
  tx 0x1234
expect 2 "" "usage: noxctl tx TXHASH" tx
expect 2 "" "unexpected argument" tx "0x$(printf '11%.0s' {1..32})" "0x$(printf '22%.0s' {1..32})"
out=$(cd "$work" && env -u NOX_ENV -u NOX_RPC_URL "$N" tx "0x$(printf '11%.0s' {1..32})" 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -qF "no JSON-RPC URL: pass --rpc URL or set NOX_RPC_URL" <<<"$out"; then ok; else bad "tx without a node: rc $rc, '$out'"; fi
help=$("$N" --help)
for c in "tx TXHASH" "decode-error DATA [--json]"; do
  if grep -qF -- "  $c" <<<"$help"; then ok; else bad "--help does not list '$c'"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
