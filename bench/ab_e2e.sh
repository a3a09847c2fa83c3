#!/usr/bin/env bash
# A/B of nox-bench e2e: each variant on a private devnet of its own, alternating, same machine, same run.
#
#   bench/ab_e2e.sh [--rounds N] [--messages N] [--mix MIX] LABEL=TREE[,VAR=VALUE...] LABEL=TREE[,...] ...
#
# TREE is a built source tree (a git worktree of another commit: `git worktree add /tmp/before REV`, then
# `cmake -S /tmp/before -B /tmp/before/build && make -C /tmp/before/build -j2`); each VAR=VALUE is put in
# the environment of that variant's devnet (e.g. NOX_DEVNET_TLS=0). Prints one line per run and the
# full nox-bench output into $AB_OUT (default /tmp/nox-ab). Examples:
#   bench/ab_e2e.sh before=/tmp/before after=.
#   bench/ab_e2e.sh plaintext=.,NOX_DEVNET_TLS=0 tls=.
set -euo pipefail
rounds=2 messages=6000 mix=add:1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: bench/ab_e2e.sh [--rounds N] [--messages N] [--mix MIX] LABEL=TREE[,VAR=VALUE...] ..." >&2; exit 2; }
out=${AB_OUT:-/tmp/nox-ab}
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
    (cd "$tree" && build/bin/nox-bench e2e --devnet --env "$dir/env" --messages "$messages" --mix "$mix" >"$log" 2>&1) || true
    run=$(awk '/^throughput/ {print $(NF-3)}' "$log")
    runner=$(awk '/nox_runner_messages_ok_total/ {print $1}' "$log")
    lat=$(awk '/^latency/ {print $3 " / " $9 " ms"}' "$log")
    echo "round $round $label: stored/s over the run ${run:-?}, Runner rate ${runner:-?}, p50 / p99 ${lat:-?}"
    (cd "$tree" && NOX_DEVNET_DIR="$dir" scripts/devnet.sh down >/dev/null 2>&1 || true)
  done
done
