#!/usr/bin/env bash
# Signed queue messages (docs/PROTOCOL-EXTENSIONS.md §8) against cast: for random keys and random
# stream, subject, reason and body (lengths around keccak's 136-byte rate, bodies with and without a
# chainId), cast rebuilds the digest from its definition with `cast keccak` alone, signs it with
# `cast wallet sign --no-hash` and checks ours with `cast wallet verify --no-hash`; both sign with
# RFC 6979, so the signatures must be byte-identical.
#
# usage: queue_signature.sh CAST DRIVER NOXCTL
# Ends with "N passed, M failed"; exits 1 on any failure.
set -u
if [ $# -ne 3 ]; then
  echo "usage: $0 CAST DRIVER NOXCTL" >&2
  exit 2
fi
CAST=$1
DRIVER=$2
NOXCTL=$3
work=$(mktemp -d /tmp/nox-cross-queue-XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
same() { if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: cast '$2', ours '$3'"; fi; }
hexof() { od -An -tx1 -v | tr -d ' \n'; }
word() { printf '%064x' "$1"; }
k() { printf '0x%s' "$(cat)" | "$CAST" keccak; }   # keccak256 of the hex bytes on stdin (no argument-length limit)
randtext() { head -c "$1" /dev/urandom | base64 -w0 | tr -d '=+/' | head -c "$1"; }

tag=$("$CAST" keccak nox-queue-message)
for i in $(seq 1 12); do
  "$NOXCTL" key new --out "$work/k$i.key" >/dev/null
  key=$(cat "$work/k$i.key")
  stream="s_$(randtext $((RANDOM % 20 + 1)))"
  subject="$stream.0x$(head -c 32 /dev/urandom | hexof)"
  case $((i % 3)) in
    0) reason=- ;;
    1) reason="log $i: $(randtext $((RANDOM % 300 + 1)))" ;;
    2) reason="" ;;
  esac
  chain=$((RANDOM * 32768 + RANDOM + 1))
  if [ $((i % 4)) -eq 0 ]; then   # no chainId: chain 0
    printf '{"x":"%s"}' "$(randtext $((i * 23)))" >"$work/body"
  else
    printf '{"chainId":%d,"pad":"%s","events":[]}' "$chain" "$(randtext $((i * 37)))" >"$work/body"
  fi
  want_chain=$chain
  [ $((i % 4)) -eq 0 ] && want_chain=0
  read -r got_chain digest sig signer < <("$DRIVER" "$work/k$i.key" "$stream" "$subject" "$reason" "$work/body")
  r=$reason; [ "$r" = - ] && r=""
  pre="${tag:2}$(word 1)$(word "$want_chain")"
  for field in "$stream" "$subject" "$r"; do
    h=$(printf '%s' "$field" | hexof | k); pre+=${h:2}
  done
  h=$(hexof <"$work/body" | k); pre+=${h:2}
  want_digest=$(printf '%s' "$pre" | k)
  same "message $i: chain id" "$want_chain" "$got_chain"
  same "message $i: digest" "$want_digest" "$digest"
  same "message $i: signature (RFC 6979, byte for byte)" "$("$CAST" wallet sign --no-hash --private-key "$key" "$want_digest")" "$sig"
  same "message $i: Nox-Signer" "$("$CAST" wallet address --private-key "$key" | tr A-F a-f)" "$signer"
  out=$("$CAST" wallet verify --no-hash --address "$signer" "$want_digest" "$sig" 2>&1)
  case $out in *"Validation succeeded"*) same "message $i: cast verifies ours" ok ok ;; *) same "message $i: cast verifies ours" ok "$out" ;; esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
