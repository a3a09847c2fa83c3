#!/usr/bin/env bash
# A/B of nox-bench e2e: each variant on a private devnet of its own, alternating, same machine, same run.
#
#   bench/ab_e2e.sh [--rounds N] [--messages N] [--mix MIX] [--sample K] LABEL=TREE[,VAR=VALUE...] LABEL=TREE[,...] ...
#
# TREE is a built source tree (a git worktree of another commit: `git worktree add /tmp/before REV`, then
# `cmake -S /tmp/before -B /tmp/before/build && make -C /tmp/before/build -j2`); each VAR=VALUE is put in
# the environment of that variant's devnet (e.g. NOX_DEVNET_TLS=0). Prints one line per run and the
# full nox-bench output into $AB_OUT (default /tmp/nox-ab). Examples:
#   bench/ab_e2e.sh before=/tmp/before after=.
#   bench/ab_e2e.sh plaintext=.,NOX_DEVNET_TLS=0 tls=.
set -euo pipefail
rounds=2 messages=6000 mix=add:1 sample=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --sample) sample=(--sample "$2"); shift 2 ;;  # nox-bench e2e's: track every K-th message (fewer status polls)
    --messages) messages=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: bench/ab_e2e.sh [--rounds N] [--messages N] [--mix MIX] [--sample K] LABEL=TREE[,VAR=VALUE...] ..." >&2; exit 2; }
out=${AB_OUT:-/tmp/nox-ab}
tick=$(getconf CLK_TCK)
# "component utime+stime(ticks)" for every process of a devnet (its pids/*.pid).
cpu_snapshot() {
  for f in "$1"/pids/*.pid; do
    pid=$(head -1 "$f" 2>/dev/null) || continue
    [ -r "/proc/$pid/stat" ] || continue
    # the fields after the command name's closing parenthesis: utime and stime are the 12th and 13th
    echo "$(basename "$f" .pid) $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')"
  done
}
# CPU per message between the two snapshots, per kind of component (runner, gateway, kms, nats, ...) and summed.
cpu_per_message() {
  join <(sort "$1.cpu0") <(sort "$1.cpu1") | awk -v n="$2" -v tick="$tick" '
    { kind = $1; sub(/[0-9]+$/, "", kind); ms[kind] += ($3 - $2) * 1000 / tick / n }
    END { for (k in ms) { printf "%s%s %.2f", sep, k, ms[k]; sep = ", "; total += ms[k] } printf ", sum %.2f", total }'
}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for variant in "$@"; do
    label=${variant%%=*} rest=${variant#*=}
    IFS=, read -r -a parts <<<"$rest"
    tree=$(cd "${parts[0]}" && pwd) envs=("${parts[@]:1}")
    dir=$out/devnet-$label log=$out/$label-$round.txt
    (cd "$tree" && env "${envs[@]}" NOX_DEVNET_DIR="$dir" scripts/devnet.sh down >/dev/null 2>&1 || true)
    rm -rf "$dir"
    if ! (cd "$tree" && env "${envs[@]}" NOX_DEVNET_DIR="$dir" scripts/devnet.sh up >"$out/$label-up.txt" 2>&1); then
      echo "round $round $label: devnet up failed (see $out/$label-up.txt)"; continue
    fi
    cpu_snapshot "$dir" >"$out/$label-$round.cpu0"
    (cd "$tree" && build/bin/nox-bench e2e --devnet --env "$dir/env" --messages "$messages" --mix "$mix" "${sample[@]}" >"$log" 2>&1) || true
    cpu_snapshot "$dir" >"$out/$label-$round.cpu1"
    run=$(awk '/^throughput/ {print $(NF-3)}' "$log")
    runner=$(awk '/nox_runner_messages_ok_total/ {print $1}' "$log")
    lat=$(awk '/^latency/ {print $3 " / " $9 " ms"}' "$log")
    echo "round $round $label: stored/s over the run ${run:-?}, Runner rate ${runner:-?}, p50 / p99 ${lat:-?}"
    echo "round $round $label: CPU ms per message (set-up included): $(cpu_per_message "$out/$label-$round" "$messages")"
    (cd "$tree" && NOX_DEVNET_DIR="$dir" scripts/devnet.sh down >/dev/null 2>&1 || true)
  done
done
