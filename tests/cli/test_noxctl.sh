#!/usr/bin/env bash
# noxctl's offline commands end to end: outputs, files, exit codes, errors.
# usage: test_noxctl.sh NOXCTL
set -u
N=$1
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

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
