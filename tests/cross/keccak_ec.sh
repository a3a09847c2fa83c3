#!/usr/bin/env bash
# keccak256, Ethereum addresses and result-handle derivation (spec §2, §4.3):
# noxctl against cast, on random inputs and keys.
# usage: keccak_ec.sh NOXCTL CAST
set -u
NOXCTL=$1
CAST=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { # check NAME WANT GOT
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: cast '$2', noxctl '$3'"; fi
}
lower() { tr 'A-F' 'a-f'; }

# keccak of text, including lengths around the 136-byte rate and multi-block inputs
for len in 0 1 55 135 136 137 271 272 1000 5000; do
  text=$(head -c "$len" /dev/urandom | base64 -w0 | head -c "$len")
  check "keccak text len $len" "$("$CAST" keccak "$text")" "$("$NOXCTL" keccak "$text")"
done
for len in 1 32 136 300; do
  hex=0x$(head -c "$len" /dev/urandom | od -An -tx1 -v | tr -d ' \n')
  check "keccak bytes len $len" "$("$CAST" keccak "$hex")" "$("$NOXCTL" keccak --hex "$hex")"
done

# addresses of fresh keys
for i in 1 2 3 4 5; do
  "$NOXCTL" key new --out "$work/k$i.key" >/dev/null
  check "address of key $i" "$("$CAST" wallet address --private-key "$(cat "$work/k$i.key")" | lower)" \
        "$("$NOXCTL" key address "$work/k$i.key")"
done

# result handles: keccak(abi.encodePacked(uint8, bytes32[], address, address, uint256, uint8))[0..26) || chain || type || 0
rand32() { echo "0x$(head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n')"; }
rand20() { echo "0x$(head -c 20 /dev/urandom | od -An -tx1 -v | tr -d ' \n')"; }
for n in 0 1 2 3; do
  inputs=() ; for ((k = 0; k < n; k++)); do inputs+=("$(rand32)"); done
  list=$(IFS=,; echo "[${inputs[*]}]")
  op=$((RANDOM % 19)); idx=$((RANDOM % 3)); ts=$((1700000000 + RANDOM)); caller=$(rand20); compute=$(rand20)
  packed=$("$CAST" abi-encode --packed "f(uint8,bytes32[],address,address,uint256,uint8)" "$op" "$list" "$compute" "$caller" "$ts" "$idx")
  digest=$("$CAST" keccak "$packed")
  want="${digest:0:54}0000a4b12300"
  got=$("$NOXCTL" handle derive --op "$op" --caller "$caller" --compute "$compute" --timestamp "$ts" \
        --output-index "$idx" --chain-id 42161 --type uint256 "${inputs[@]}")
  check "handle derive with $n inputs" "$want" "$got"
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
