#!/usr/bin/env bash
# The README's first command: sets everything up, starts the local devnet (scripts/devnet.sh up, a 2-of-3
# threshold KMS) and tells the confidential-token story through noxctl, timing each step: chain inclusion,
# then the Runner's completion (the result stored through the Gateway); then one KMS node is killed and
# decryption goes on. Ends with `scripts/devnet.sh down`; `--keep` leaves the devnet running and says how to
# use noxctl against it.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
case "${1:-}" in
  --keep) keep=1 ;;
  "") ;;
  *) echo "usage: scripts/demo.sh [--keep]" >&2; exit 2 ;;
esac

scripts/setup.sh
devnet_dir=${NOX_DEVNET_DIR:-build/devnet}   # where scripts/devnet.sh keeps its state
echo "demo: starting the devnet (scripts/devnet.sh up: PostgreSQL, NATS, anvil + contracts, KMS nodes, Gateway, Runner, Ingestor) ..."
devnet_out=$(mktemp)
if ! scripts/devnet.sh up >"$devnet_out" 2>&1; then
  cat "$devnet_out" >&2
  rm -f "$devnet_out"
  echo "demo: the devnet did not start (its output above; logs in $devnet_dir/logs)" >&2
  exit 1
fi
sed -n 's/^devnet: up in/demo: devnet up in/p' "$devnet_out"
# e.g. "demo: KMS 2-of-3 threshold group 0x601ced68512e3958 (nodes kms, kms2, kms3), public key 0x03…"
sed -n 's/^  KMS  */demo: KMS /p' "$devnet_out"
rm -f "$devnet_out"
if [ "$keep" = 0 ]; then trap 'scripts/devnet.sh down >/dev/null' EXIT; fi
# shellcheck disable=SC1091
source "$devnet_dir/env"
ctl=build/bin/noxctl
alice=$NOX_ALICE_ADDRESS bob=$NOX_BOB_ADDRESS

field() { /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }
short() { echo "${1:0:10}…${1: -8}"; }

# tx: runs a token command with --json, prints the inclusion, waits for the Runner on every result handle.
tx() {
  local out handles h
  out=$("$ctl" token "$@" --json)
  printf '   tx %s  included in block %s after %s ms\n' "$(short "$(field txHash <<<"$out")")" \
    "$(field blockNumber <<<"$out")" "$(field inclusionMs <<<"$out")"
  handles="$(field success <<<"$out") $(/usr/bin/python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["balances"].values()))' <<<"$out")"
  local start end
  start=$(date +%s%N)
  for h in $handles; do "$ctl" wait "$h" --timeout 60 >/dev/null; done
  end=$(date +%s%N)
  printf '   every result handle stored by the Runner %s ms after the receipt (noxctl wait)\n' \
    "$(( (end - start) / 1000000 ))"
  LAST=$out
}

echo
echo "1. The owner mints 1,000 encrypted tokens to Alice"
tx mint --to "$alice" --amount 1000 --key "$NOX_OWNER_KEY"

echo "2. Alice transfers an encrypted 300 to Bob (the amount is encrypted through the Gateway first)"
tx transfer --to "$bob" --amount 300 --key "$NOX_ALICE_KEY"

echo "3. Alice tries to transfer 5,000 — more than she has"
tx transfer --to "$bob" --amount 5000 --key "$NOX_ALICE_KEY"
printf '   the transaction did not revert; its encrypted success flag, decrypted by Alice: %s (nothing moved)\n' \
  "$("$ctl" decrypt "$(field success <<<"$LAST")" --key "$NOX_ALICE_KEY")"

echo "4. Each decrypts their own balance"
printf '   Alice: %s\n' "$("$ctl" token balance "$alice" --key "$NOX_ALICE_KEY" --json | field value)"
printf '   Bob:   %s\n' "$("$ctl" token balance "$bob" --key "$NOX_BOB_KEY" --json | field value)"

echo "5. Bob asks for Alice's balance"
alice_balance=$("$ctl" token balance "$alice" --json | field handle)
if "$ctl" decrypt "$alice_balance" --key "$NOX_BOB_KEY" >/dev/null 2>/tmp/nox-demo-refusal; then
  echo "   ERROR: Bob could read Alice's balance" >&2; exit 1
fi
printf '   refused: %s\n' "$(sed 's/^noxctl: //' /tmp/nox-demo-refusal)"
rm -f /tmp/nox-demo-refusal

kms_t=${NOX_KMS_THRESHOLD%%-of-*} kms_n=${NOX_KMS_THRESHOLD##*-of-}   # e.g. 2-of-3
if [ "$kms_t" -lt "$kms_n" ]; then
  echo "6. A KMS node goes down (scripts/devnet.sh kill kms2): any $kms_t of the $kms_n key shares still decrypt"
  scripts/devnet.sh kill kms2 >/dev/null
  printf '   Alice still decrypts her balance from the other nodes'"'"' partials: %s\n' \
    "$("$ctl" token balance "$alice" --key "$NOX_ALICE_KEY" --json | field value)"
  scripts/devnet.sh restart kms2 >/dev/null
  echo "   kms2 restarted (scripts/devnet.sh restart kms2)"
fi

echo
if [ "$keep" = 1 ]; then
  cat <<EOT
The devnet keeps running. Try:
  source "$devnet_dir/env"
  build/bin/noxctl token balance \$NOX_BOB_ADDRESS --key \$NOX_BOB_KEY
  build/bin/noxctl encrypt --type uint64 --value 42 --owner \$NOX_ALICE_ADDRESS --app \$NOX_TOKEN_ADDRESS
  scripts/devnet.sh reshare     # new KMS key shares, the same public key
  scripts/devnet.sh status      # and: scripts/devnet.sh down
EOT
else
  echo "Done; stopping the devnet (scripts/demo.sh --keep leaves it running)."
fi
