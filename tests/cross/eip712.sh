#!/usr/bin/env bash
# EIP-712 and keccak256 against cast (spec §4.4): for sample messages of each
# of the six primary types, cast signs the typed-data JSON and our code (through
# eip712_driver) signs the same values. Both are RFC 6979 deterministic, so
# byte-identical signatures prove the digests agree; cast must also accept
# ours. The same for the bound Runner authorizations of
# docs/PROTOCOL-EXTENSIONS.md §7 (version-2 domain naming the Gateway), whose
# content digests are also rebuilt here from their documented byte layout with
# `cast keccak`. Then `cast keccak` against ours, across the 136-byte block size.
#
# usage: eip712.sh CAST DRIVER
# Prints one line per check and ends with "N passed, M failed"; exits 1 on any failure.
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 CAST DRIVER" >&2
  exit 2
fi
CAST=$1
DRIVER=$2
work=$(mktemp -d /tmp/nox-cross-eip712-XXXXXX)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
# same LABEL EXPECTED ACTUAL
same() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }

KEY=0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318 # a fixed test key, not a secret
CHAIN=421614
NOX=0xd464B198f06756a1d00be223634b85E0a731c229
ZERO=0x0000000000000000000000000000000000000000
OTHER=0x7e5f4552091a69125d5dfcb7b8c2659029395bdf # address of private key 1
MAX64=18446744073709551615                      # 2^64 - 1: the largest uint256 the C API takes
rep() { local s="" i; for ((i = 0; i < $2; i++)); do s+=$1; done; printf '%s' "$s"; }
TX=0x$(rep ab 32)
H1=0x$(rep 11 32)
H2=0x$(rep 22 32)
H3=0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
# an RSA-2048 SPKI-shaped hex string: a 590-character string, hashed over several keccak blocks
RSA=0x30820122300d06092a864886f70d01010105000382010f003082010a0282010100$(rep c3 256)0203010001
EPH=0x02$(rep 5a 32)
UNICODE='0xclé 🔑 ключ — 鍵'

ADDR=$("$CAST" wallet address --private-key "$KEY")
same "address of the test key: ours = cast's" "$(echo "$ADDR" | tr A-F a-f)" "$("$DRIVER" address "$KEY")"

# ---- typed data ---------------------------------------------------------------

# domain FIELD=VALUE... (spec order) sets DOM_TYPES / DOM_VALUES (JSON) and DOM_ARGS (driver options).
domain() {
  local types="" values="" sep="" f k v t q
  DOM_ARGS=()
  for f in "$@"; do
    k=${f%%=*}
    v=${f#*=}
    case $k in
      name) t=string; q="\"$v\""; DOM_ARGS+=(--name "$v") ;;
      version) t=string; q="\"$v\""; DOM_ARGS+=(--version "$v") ;;
      chainId) t=uint256; q=$v; DOM_ARGS+=(--chain-id "$v") ;;
      verifyingContract) t=address; q="\"$v\""; DOM_ARGS+=(--contract "$v") ;;
      salt) t=bytes32; q="\"$v\""; DOM_ARGS+=(--salt "$v") ;;
      *) echo "bad domain field $k" >&2; exit 2 ;;
    esac
    types+="$sep{\"name\":\"$k\",\"type\":\"$t\"}"
    values+="$sep\"$k\":$q"
    sep=,
  done
  DOM_TYPES="[$types]"
  DOM_VALUES="{$values}"
}

HP='[{"name":"handle","type":"bytes32"},{"name":"owner","type":"address"},{"name":"app","type":"address"},{"name":"createdAt","type":"uint256"}]'
DAA='[{"name":"userAddress","type":"address"},{"name":"encryptionPubKey","type":"string"},{"name":"notBefore","type":"uint256"},{"name":"expiresAt","type":"uint256"}]'
OAA='[{"name":"chainId","type":"uint256"},{"name":"blockNumber","type":"uint256"},{"name":"caller","type":"address"},{"name":"transactionHash","type":"string"},{"name":"operands","type":"string[]"},{"name":"rsaPublicKey","type":"string"}]'
RPA='[{"name":"chainId","type":"uint256"},{"name":"blockNumber","type":"uint256"},{"name":"caller","type":"address"},{"name":"transactionHash","type":"string"}]'
DA='[{"name":"ephemeralPubKey","type":"string"},{"name":"targetPubKey","type":"string"}]'
DBA='[{"name":"ephemeralPubKeys","type":"string[]"},{"name":"targetPubKey","type":"string"}]'
PKP='[{"name":"publicKey","type":"string"}]'
OAA2='[{"name":"chainId","type":"uint256"},{"name":"blockNumber","type":"uint256"},{"name":"caller","type":"address"},{"name":"transactionHash","type":"string"},{"name":"operands","type":"string[]"},{"name":"rsaPublicKey","type":"string"},{"name":"notBefore","type":"uint256"},{"name":"expiresAt","type":"uint256"}]'
RPA2='[{"name":"chainId","type":"uint256"},{"name":"blockNumber","type":"uint256"},{"name":"caller","type":"address"},{"name":"transactionHash","type":"string"},{"name":"resultCount","type":"uint256"},{"name":"resultsDigest","type":"bytes32"},{"name":"notBefore","type":"uint256"},{"name":"expiresAt","type":"uint256"}]'
FRA='[{"name":"chainId","type":"uint256"},{"name":"blockNumber","type":"uint256"},{"name":"caller","type":"address"},{"name":"transactionHash","type":"string"},{"name":"recordCount","type":"uint256"},{"name":"recordsDigest","type":"bytes32"},{"name":"notBefore","type":"uint256"},{"name":"expiresAt","type":"uint256"}]'

# cast_verify FILE ADDRESS SIGNATURE prints "yes" when cast says ADDRESS signed
# the typed data, else cast's output. The output is read, not the exit status:
# the npm package's wrapper (bin.mjs of @foundry-rs/cast 1.7.1) spawns the
# real binary without passing on its exit code, so `cast` exits 0 even when
# validation fails.
cast_verify() {
  local out
  out=$("$CAST" wallet verify --data --from-file "$1" --address "$2" "$3" 2>&1)
  if printf '%s' "$out" | grep -qix "Validation succeeded\. Address $2 signed this message\."; then
    echo yes
  else
    printf '%s\n' "$out"
  fi
}

n=0
last_file=""
last_sig=""
# sign_case LABEL PROTOCOL PRIMARY FIELDS_JSON MESSAGE_JSON DRIVER_FIELD...
# Signs under the domain last set by domain(); PROTOCOL names the driver's
# constructor for that same domain ("-" when it is not a protocol domain).
sign_case() {
  local label=$1 protocol=$2 primary=$3 fields=$4 message=$5
  shift 5
  n=$((n + 1))
  local file=$work/case$n.json theirs ours
  printf '{"types":{"EIP712Domain":%s,"%s":%s},"primaryType":"%s","domain":%s,"message":%s}\n' \
    "$DOM_TYPES" "$primary" "$fields" "$primary" "$DOM_VALUES" "$message" >"$file"
  theirs=$("$CAST" wallet sign --data --from-file "$file" --private-key "$KEY" 2>&1)
  ours=$("$DRIVER" sign "$KEY" "${DOM_ARGS[@]}" "$primary" "$@" 2>&1)
  same "$label: our signature = cast's" "$theirs" "$ours"
  if [ "$protocol" != - ]; then
    local chain="" contract="" i
    for ((i = 0; i < ${#DOM_ARGS[@]}; i += 2)); do
      case ${DOM_ARGS[i]} in
        --chain-id) chain=${DOM_ARGS[i + 1]} ;;
        --contract) contract=${DOM_ARGS[i + 1]} ;;
      esac
    done
    local args=(--protocol "$protocol" --chain-id "$chain")
    [ -n "$contract" ] && args+=(--contract "$contract")
    same "$label: same with the $protocol domain constructor" "$theirs" \
      "$("$DRIVER" sign "$KEY" "${args[@]}" "$primary" "$@" 2>&1)"
  fi
  local out
  out=$(cast_verify "$file" "$ADDR" "$ours")
  if [ "$out" = yes ]; then ok "$label: cast wallet verify accepts ours"; else fail "$label: cast wallet verify: $out"; fi
  last_file=$file
  last_sig=$ours
}

domain name=NoxCompute version=1 chainId=$CHAIN verifyingContract=$NOX
sign_case "HandleProof (zero owner, all-ones handle, createdAt 2^64-1)" input-proof HandleProof "$HP" \
  "{\"handle\":\"0x$(rep ff 32)\",\"owner\":\"$ZERO\",\"app\":\"$NOX\",\"createdAt\":\"$MAX64\"}" \
  "0x$(rep ff 32)" "$ZERO" "$NOX" "$MAX64"
sign_case "HandleProof (typical)" input-proof HandleProof "$HP" \
  "{\"handle\":\"$H3\",\"owner\":\"$OTHER\",\"app\":\"$NOX\",\"createdAt\":1700000000}" \
  "$H3" "$OTHER" "$NOX" 1700000000

domain "name=Handle Gateway" version=1 chainId=$CHAIN verifyingContract=$NOX
sign_case "DataAccessAuthorization (unicode key string, expiresAt 2^64-1)" user-decryption \
  DataAccessAuthorization "$DAA" \
  "{\"userAddress\":\"$OTHER\",\"encryptionPubKey\":\"$UNICODE\",\"notBefore\":1700000000,\"expiresAt\":\"$MAX64\"}" \
  "$OTHER" "$UNICODE" 1700000000 "$MAX64"
sign_case "DataAccessAuthorization (RSA SPKI hex)" user-decryption DataAccessAuthorization "$DAA" \
  "{\"userAddress\":\"$ADDR\",\"encryptionPubKey\":\"$RSA\",\"notBefore\":1700000000,\"expiresAt\":1700003600}" \
  "$ADDR" "$RSA" 1700000000 1700003600

domain "name=Handle Gateway" version=1 chainId=$CHAIN
sign_case "OperandAccessAuthorization (three operands, block 2^64-1)" runner-gateway OperandAccessAuthorization "$OAA" \
  "{\"chainId\":$CHAIN,\"blockNumber\":\"$MAX64\",\"caller\":\"$OTHER\",\"transactionHash\":\"$TX\",\"operands\":[\"$H1\",\"$H2\",\"$H3\"],\"rsaPublicKey\":\"$RSA\"}" \
  "$CHAIN" "$MAX64" "$OTHER" "$TX" "$RSA" "$H1" "$H2" "$H3"
sign_case "OperandAccessAuthorization (same operands reordered)" runner-gateway OperandAccessAuthorization "$OAA" \
  "{\"chainId\":$CHAIN,\"blockNumber\":123,\"caller\":\"$OTHER\",\"transactionHash\":\"$TX\",\"operands\":[\"$H3\",\"$H1\",\"$H2\"],\"rsaPublicKey\":\"$RSA\"}" \
  "$CHAIN" 123 "$OTHER" "$TX" "$RSA" "$H3" "$H1" "$H2"
sign_case "OperandAccessAuthorization (no operands, unicode)" runner-gateway OperandAccessAuthorization "$OAA" \
  "{\"chainId\":$CHAIN,\"blockNumber\":0,\"caller\":\"$ZERO\",\"transactionHash\":\"$UNICODE\",\"operands\":[],\"rsaPublicKey\":\"\"}" \
  "$CHAIN" 0 "$ZERO" "$UNICODE" ""
sign_case "ResultPublishingAuthorization (zero caller)" runner-gateway ResultPublishingAuthorization "$RPA" \
  "{\"chainId\":$CHAIN,\"blockNumber\":987654,\"caller\":\"$ZERO\",\"transactionHash\":\"$TX\"}" \
  "$CHAIN" 987654 "$ZERO" "$TX"

domain "name=Handle Gateway" version=1 chainId=$MAX64
sign_case "ResultPublishingAuthorization (chain id 2^64-1)" runner-gateway ResultPublishingAuthorization "$RPA" \
  "{\"chainId\":\"$MAX64\",\"blockNumber\":\"$MAX64\",\"caller\":\"$ADDR\",\"transactionHash\":\"$TX\"}" \
  "$MAX64" "$MAX64" "$ADDR" "$TX"

# ---- the bound Runner authorizations (docs/PROTOCOL-EXTENSIONS.md §7) --------------

# content digests: keccak256(leaf_0 ‖ leaf_1 ‖ …), each leaf keccak256 of the item's fields, built with cast
strip() { printf '%s' "${1#0x}"; }
leaf_result() { "$CAST" keccak "0x$(strip "$1")$(strip "$2")$(strip "$3")$(strip "$4")$(strip "$5")"; }
leaf_record() { "$CAST" keccak "0x$(strip "$1")$(printf '%s' "$2" | od -An -v -tx1 | tr -d ' \n')"; }
TAG1=0x$(rep 07 32) PK1=0x02$(rep 33 32) N1=0x$(rep 99 12) CT1=0x$(rep 5a 20)
TAG2=0x$(rep 08 32) PK2=0x03$(rep 44 32) N2=0x$(rep 98 12) CT2=0x$(pattern_ct=; for ((i = 0; i < 300; i++)); do pattern_ct+=$(printf '%02x' $(((i * 13 + 1) & 255))); done; printf '%s' "$pattern_ct")
L1=$(leaf_result "$H3" "$TAG1" "$PK1" "$N1" "$CT1")
L2=$(leaf_result "$H1" "$TAG2" "$PK2" "$N2" "$CT2")
RD=$("$CAST" keccak "0x$(strip "$L1")$(strip "$L2")")
same "results digest of two results (a 300-byte ciphertext): ours = cast keccak of the layout" "$RD" \
  "$("$DRIVER" results-digest "$H3" "$TAG1" "$PK1" "$N1" "$CT1" "$H1" "$TAG2" "$PK2" "$N2" "$CT2")"
same "results digest of one result = cast keccak(leaf)" "$("$CAST" keccak "$L1")" \
  "$("$DRIVER" results-digest "$H3" "$TAG1" "$PK1" "$N1" "$CT1")"
same "results digest, upper-case hex in: the bytes count, not the text" "$RD" \
  "$("$DRIVER" results-digest "$H3" "$TAG1" "$PK1" "$N1" "0x$(strip "$CT1" | tr a-f A-F)" "$H1" "$TAG2" "$PK2" "$N2" "$CT2")"
same "results digest of nothing = keccak256(\"\")" "$("$CAST" keccak 0x)" "$("$DRIVER" results-digest)"
R1="events[0]: unknown operator id 999 (type operator_999)"
R2="gave up after 10 attempts: Gateway unreachable ~!@#\$%^&*()_+{}|:<>?"
FD=$("$CAST" keccak "0x$(strip "$(leaf_record "$H3" "$R1")")$(strip "$(leaf_record "$H2" "$R2")")")
same "records digest of two failure records: ours = cast keccak of the layout" "$FD" \
  "$("$DRIVER" failures-digest "$H3" "$R1" "$H2" "$R2")"
RD_OTHER=$("$DRIVER" results-digest "$H1" "$TAG2" "$PK2" "$N2" "$CT2" "$H3" "$TAG1" "$PK1" "$N1" "$CT1")
if [ "$RD_OTHER" != "$RD" ]; then ok "results digest: the order counts"; else fail "results digest: the order does not count"; fi

GW=0x70997970C51812dc3A010C7d01b50e0d17dc79C8 # the Gateway's wallet: the domain's verifyingContract
domain "name=Handle Gateway" version=2 chainId=$CHAIN verifyingContract=$GW
sign_case "OperandAccessAuthorizationV2 (three operands, a 60 s window)" runner-gateway-v2 OperandAccessAuthorizationV2 \
  "$OAA2" \
  "{\"chainId\":$CHAIN,\"blockNumber\":123,\"caller\":\"$OTHER\",\"transactionHash\":\"$TX\",\"operands\":[\"$H1\",\"$H2\",\"$H3\"],\"rsaPublicKey\":\"$RSA\",\"notBefore\":1700000000,\"expiresAt\":1700000060}" \
  "$CHAIN" 123 "$OTHER" "$TX" "$RSA" 1700000000 1700000060 "$H1" "$H2" "$H3"
sign_case "ResultPublishingAuthorizationV2 (the two results' digest, computed by cast)" runner-gateway-v2 \
  ResultPublishingAuthorizationV2 "$RPA2" \
  "{\"chainId\":$CHAIN,\"blockNumber\":987654,\"caller\":\"$OTHER\",\"transactionHash\":\"$TX\",\"resultCount\":2,\"resultsDigest\":\"$RD\",\"notBefore\":1700000000,\"expiresAt\":1700000065}" \
  "$CHAIN" 987654 "$OTHER" "$TX" 2 "$RD" 1700000000 1700000065
rpa_file=$last_file rpa_sig=$last_sig
sign_case "FailureRecordingAuthorization (the two records' digest, computed by cast; 2^64-1 bounds)" runner-gateway-v2 \
  FailureRecordingAuthorization "$FRA" \
  "{\"chainId\":$CHAIN,\"blockNumber\":\"$MAX64\",\"caller\":\"$ZERO\",\"transactionHash\":\"$TX\",\"recordCount\":2,\"recordsDigest\":\"$FD\",\"notBefore\":\"$MAX64\",\"expiresAt\":\"$MAX64\"}" \
  "$CHAIN" "$MAX64" "$ZERO" "$TX" 2 "$FD" "$MAX64" "$MAX64"
# the same results message for another Gateway (verifyingContract) or under the spec's domain: another signature
domain "name=Handle Gateway" version=2 chainId=$CHAIN verifyingContract=$NOX
other_gw=$("$DRIVER" sign "$KEY" "${DOM_ARGS[@]}" ResultPublishingAuthorizationV2 "$CHAIN" 987654 "$OTHER" "$TX" 2 "$RD" 1700000000 1700000065)
legacy=$("$DRIVER" sign "$KEY" --protocol runner-gateway --chain-id "$CHAIN" ResultPublishingAuthorizationV2 "$CHAIN" 987654 "$OTHER" "$TX" 2 "$RD" 1700000000 1700000065)
if [ "$other_gw" != "$rpa_sig" ] && [ "$legacy" != "$rpa_sig" ]; then
  ok "ResultPublishingAuthorizationV2: another Gateway's domain or the spec's domain signs differently"
else
  fail "ResultPublishingAuthorizationV2: the signature does not depend on the Gateway named in the domain"
fi
out=$(cast_verify "$rpa_file" "$ADDR" "$other_gw")
if printf '%s' "$out" | grep -q "Validation failed"; then
  ok "cast wallet verify refuses the signature made for another Gateway"
else
  fail "cast wallet verify, for another Gateway's signature, said: $out"
fi

domain name=ProtocolDelegate version=1 chainId=$CHAIN
sign_case "DelegateAuthorization" kms-delegate DelegateAuthorization "$DA" \
  "{\"ephemeralPubKey\":\"$EPH\",\"targetPubKey\":\"$RSA\"}" "$EPH" "$RSA"
EPH2=0x03$(rep a5 32)
sign_case "DelegateBatchAuthorization (extension, two keys)" kms-delegate DelegateBatchAuthorization "$DBA" \
  "{\"ephemeralPubKeys\":[\"$EPH\",\"$EPH2\"],\"targetPubKey\":\"$RSA\"}" "$RSA" "$EPH" "$EPH2"
sign_case "DelegateBatchAuthorization (extension, one key)" kms-delegate DelegateBatchAuthorization "$DBA" \
  "{\"ephemeralPubKeys\":[\"$EPH2\"],\"targetPubKey\":\"$RSA\"}" "$RSA" "$EPH2"

domain name=ProtocolPublicKey version=1 chainId=1
sign_case "PublicKeyProof" kms-public-key PublicKeyProof "$PKP" "{\"publicKey\":\"$EPH\"}" "$EPH"
sign_case "PublicKeyProof (unicode)" kms-public-key PublicKeyProof "$PKP" "{\"publicKey\":\"$UNICODE\"}" "$UNICODE"

# cast must not accept just anything: the same signature for another address is refused
out=$(cast_verify "$last_file" "$OTHER" "$last_sig")
if [ "$out" = yes ]; then
  fail "cast wallet verify accepted our signature for another address"
elif printf '%s' "$out" | grep -q "Validation failed"; then
  ok "cast wallet verify refuses our signature for another address"
else
  fail "cast wallet verify, for another address, said: $out"
fi

# domain subsets outside the protocol's four shapes
domain
sign_case "empty domain" - PublicKeyProof "$PKP" "{\"publicKey\":\"$EPH\"}" "$EPH"
domain "salt=0x$(rep ab 32)"
sign_case "salt-only domain" - PublicKeyProof "$PKP" "{\"publicKey\":\"$EPH\"}" "$EPH"
domain name=Nox
sign_case "name-only domain" - PublicKeyProof "$PKP" "{\"publicKey\":\"$EPH\"}" "$EPH"
domain name=Nox version=2 chainId=$MAX64 verifyingContract=$NOX "salt=0x$(rep 01 32)"
sign_case "all five domain fields" - PublicKeyProof "$PKP" "{\"publicKey\":\"$EPH\"}" "$EPH"

# ---- keccak256 ----------------------------------------------------------------

# bytes i*7+3 mod 256, as hex
pattern() { local s="" i; for ((i = 0; i < $1; i++)); do s+=$(printf '%02x' $(((i * 7 + 3) & 255))); done; printf '%s' "$s"; }
for len in 0 1 135 136 137 272 1000; do
  data=0x$(pattern $len)
  same "keccak of $len bytes: ours = cast's" "$("$CAST" keccak "$data")" "$("$DRIVER" keccak-hex "$data")"
done
# (cast reads an argument starting with 0x as hex, so these do not)
for text in "hello" "clé 🔑 ключ — 鍵" "$(rep a 200)"; do
  same "keccak of the text '${text:0:24}' (${#text} chars): ours = cast's" \
    "$("$CAST" keccak "$text")" "$("$DRIVER" keccak-text "$text")"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
