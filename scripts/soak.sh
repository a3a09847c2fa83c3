#!/usr/bin/env bash
# The devnet under steady load for MINUTES, watching every component's memory and file descriptors.
#
#   scripts/soak.sh [--dir DIR] [--rate R] [--interval S] [--warmup S] MINUTES
#
# Load: `nox-bench e2e --devnet --rate R --messages 15·R --mix add:1,transfer:1` in a loop (R = 100
# messages/s by default: a sixth of what the devnet sustains), each run waiting until all its messages
# are stored. Every S seconds (30) it prints the throughput — results stored per second by the Runner's
# nox_runner_messages_ok_total — and, for each component (postgres is its postmaster; anvil included),
# the RSS (/proc/PID/status VmRSS) and the open file descriptors (ls /proc/PID/fd | wc -l).
#
# Bound (the baseline is taken at the end of the warm-up, 15 s by default, so that thread stacks,
# connection pools, allocator arenas and caches are in place): exit 1 when, at the end, a component's
#   RSS grew by more than SOAK_RSS_PCT % (25) AND by more than SOAK_RSS_MIB MiB (64) over its baseline
#   (both: a small process's noise and a big one's caches do not trip it, a leak does), or its
#   open file descriptors grew by more than SOAK_FD_GROWTH (32),
# and also when a component died, a finished nox-bench run did not get all its results stored, or
# nothing was stored after the warm-up. Exit 0 otherwise, 2 on bad usage.
#
# Devnet: with --dir DIR (or NOX_DEVNET_DIR) the devnet there (`devnet.sh up` first: nothing changes if it
# is up; stopped at the end only if this script started it); without, a devnet of its own in a temporary
# directory, brought down at the end (its state and logs kept when the soak failed). NOX_BIN_DIR as for
# scripts/devnet.sh (default build/bin; nox-bench is taken from there too).
# ctest runs `scripts/soak.sh 1` as soak_1min (label soak).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEVNET="$ROOT/scripts/devnet.sh"

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
dir=${NOX_DEVNET_DIR:-} rate=100 interval=30 warmup=15 minutes=
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --interval) interval=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "soak: unknown option $1" >&2; usage ;;
    *) [ -z "$minutes" ] || usage; minutes=$1; shift ;;
  esac
done
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 ]] || { echo "soak: MINUTES must be a whole number >= 1" >&2; usage; }
[[ $rate =~ ^[0-9]+$ && $rate -ge 1 && $interval =~ ^[0-9]+$ && $interval -ge 1 && $warmup =~ ^[0-9]+$ ]] ||
  { echo "soak: --rate, --interval and --warmup take whole numbers" >&2; usage; }
RSS_PCT=${SOAK_RSS_PCT:-25} RSS_MIB=${SOAK_RSS_MIB:-64} FD_GROWTH=${SOAK_FD_GROWTH:-32}
total=$((minutes * 60))
[ "$warmup" -lt "$total" ] || { echo "soak: the warm-up must be shorter than the run" >&2; exit 2; }
BIN_DIR=$(cd "${NOX_BIN_DIR:-$ROOT/build/bin}" 2>/dev/null && pwd) || { echo "soak: no ${NOX_BIN_DIR:-build/bin}" >&2; exit 1; }
BENCH="$BIN_DIR/nox-bench"
[ -x "$BENCH" ] || { echo "soak: $BENCH not found (build first, or set NOX_BIN_DIR)" >&2; exit 1; }
export NOX_BIN_DIR=$BIN_DIR

own=0 started=0 work=
if [ -z "$dir" ]; then
  work=$(mktemp -d /tmp/nox-soak.XXXXXX); dir=$work/devnet; own=1
fi
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
export NOX_DEVNET_DIR=$dir
COMPONENTS="postgres nats anvil kms gateway runner ingestor"
failed=0 load_pid=

stop_load() {
  [ -n "$load_pid" ] || return 0
  touch "$work_dir/stop"
  local b; b=$(cat "$work_dir/bench.pid" 2>/dev/null)
  [ -n "$b" ] && kill "$b" 2>/dev/null
  wait "$load_pid" 2>/dev/null
  load_pid=
}
finish() {
  stop_load
  if [ "$started" = 1 ]; then "$DEVNET" down >/dev/null; fi
  if [ "$own" = 1 ]; then
    if [ "$failed" = 0 ]; then rm -rf "$work"; else echo "soak: devnet state and logs kept in $work"; fi
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM

if "$DEVNET" status >/dev/null 2>&1; then
  echo "soak: using the running devnet in $dir"
else
  echo "soak: bringing up a devnet in $dir"
  started=1
  out=$("$DEVNET" up 2>&1) || { echo "$out"; echo "soak: devnet up failed"; failed=1; exit 1; }
fi
work_dir=${work:-$(mktemp -d /tmp/nox-soak-load.XXXXXX)}
[ -n "$work" ] || trap 'finish; rm -rf "$work_dir"' EXIT
runner_url=$(. "$dir/env" && echo "$NOX_RUNNER_URL")
ca_file=$(. "$dir/env" && echo "${NOX_CA_FILE:-}")   # the devnet's CA: its services speak TLS

pid_of() { cat "$dir/pids/$1.pid" 2>/dev/null | head -1; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
ok_total() {  # the Runner's stored-message counter (a restart of the Runner would reset it: none happens here)
  curl -s --max-time 2 ${ca_file:+--cacert "$ca_file"} "$runner_url/metrics" | awk '$1 == "nox_runner_messages_ok_total" {printf "%d", $2; f=1} END {if (!f) print 0}'
}
declare -A pid base_rss base_fd
for extra in kms2 kms3 kms4 kms5 kms6 kms7 kms8 kms9; do   # the other nodes of a threshold KMS (devnet default 2-of-3)
  [ -e "$dir/pids/$extra.pid" ] && COMPONENTS="$COMPONENTS $extra"
done
for c in $COMPONENTS; do pid[$c]=$(pid_of "$c"); done

# the load: nox-bench e2e --rate in a loop; one line per run in $work_dir/runs
load() {
  local n=$((rate * 15)) i=0
  while [ ! -e "$work_dir/stop" ]; do
    i=$((i + 1))
    "$BENCH" e2e --devnet --env "$dir/env" --messages "$n" --rate "$rate" --mix add:1,transfer:1 --pool 16 \
      --timeout 120 >"$work_dir/bench.out" 2>"$work_dir/bench.err" &
    echo $! >"$work_dir/bench.pid"
    wait $!
    local rc=$?
    [ -e "$work_dir/stop" ] && break       # the run cut short at the end does not count
    echo "$i $rc" >>"$work_dir/runs"
    if [ $rc != 0 ]; then
      { echo "== nox-bench run $i: exit $rc"; tail -5 "$work_dir/bench.err"; cat "$work_dir/bench.out"; } >>"$work_dir/bench-failures"
      sleep 1
    fi
  done
}
rm -f "$work_dir/stop" "$work_dir/runs" "$work_dir/bench-failures"
load &
load_pid=$!

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
line() {  # line LABEL ELAPSED STORED_PER_S
  local s="" c
  for c in $COMPONENTS; do s+=" $c $(mib "$(rss_kib "${pid[$c]}")")M/$(fds "${pid[$c]}")fd"; done
  printf 'soak: %-8s t=%4ss  stored %6s/s |%s\n' "$1" "$2" "$3" "$s"
}
echo "soak: $minutes min at $rate messages/s (nox-bench e2e --rate $rate, add + transfer, uint64); warm-up ${warmup} s,"
echo "soak: bound: RSS +${RSS_PCT} % and +${RSS_MIB} MiB over the warm-up value (both), open fds +${FD_GROWTH}; per component RSS/fds:"
t0=$(date +%s)
sleep "$warmup"
ok0=$(ok_total) tw=$(date +%s)
for c in $COMPONENTS; do base_rss[$c]=$(rss_kib "${pid[$c]}") base_fd[$c]=$(fds "${pid[$c]}"); done
line baseline $((tw - t0)) "$(awk -v o="$ok0" -v t=$((tw - t0)) 'BEGIN {printf "%.0f", o / (t > 0 ? t : 1)}')"
prev_ok=$ok0 prev_t=$tw
next=$((t0 + interval))
while :; do
  now=$(date +%s)
  [ "$now" -ge $((t0 + total)) ] && break
  target=$(( next < t0 + total ? next : t0 + total ))
  [ "$target" -gt "$now" ] && sleep $((target - now))
  now=$(date +%s)
  [ "$now" -lt "$tw" ] && { next=$((next + interval)); continue; }   # still in the warm-up
  ok=$(ok_total)
  line "" $((now - t0)) "$(awk -v a="$ok" -v b="$prev_ok" -v t=$((now - prev_t)) 'BEGIN {printf "%.0f", (a - b) / (t > 0 ? t : 1)}')"
  prev_ok=$ok prev_t=$now next=$((next + interval))
  for c in $COMPONENTS; do
    [ -d "/proc/${pid[$c]}" ] || { echo "soak: FAIL $c (pid ${pid[$c]}) died"; failed=1; }
  done
  [ "$failed" = 1 ] && break
done
tend=$(date +%s) ok_end=$(ok_total)
stop_load
runs=$(wc -l <"$work_dir/runs" 2>/dev/null || echo 0)
bad_runs=$(awk '$2 != 0' "$work_dir/runs" 2>/dev/null | wc -l)
stored=$((ok_end - ok0))
echo "soak: after the warm-up: $stored messages stored in $((tend - tw)) s ($(awk -v s="$stored" -v t=$((tend - tw)) 'BEGIN {printf "%.0f", s / (t > 0 ? t : 1)}')/s);" \
     "$runs nox-bench run(s) finished, $bad_runs with results missing"
if [ "$bad_runs" -gt 0 ]; then cat "$work_dir/bench-failures"; failed=1; fi
[ "$stored" -gt 0 ] || { echo "soak: FAIL nothing was stored after the warm-up"; failed=1; }
printf 'soak: %-9s %12s %12s %10s %8s %8s %6s  %s\n' component "RSS warm" "RSS end" growth "fd warm" "fd end" growth verdict
for c in $COMPONENTS; do
  p=${pid[$c]}
  if [ ! -d "/proc/$p" ]; then echo "soak: $c (pid $p) is not running: FAIL"; failed=1; continue; fi
  r0=${base_rss[$c]} r1=$(rss_kib "$p") f0=${base_fd[$c]} f1=$(fds "$p")
  verdict=ok
  if awk -v a="$r0" -v b="$r1" -v pct="$RSS_PCT" -v mib="$RSS_MIB" \
       'BEGIN {exit !(b - a > a * pct / 100 && b - a > mib * 1024)}'; then verdict="FAIL (RSS)"; failed=1; fi
  if [ $((f1 - f0)) -gt "$FD_GROWTH" ]; then verdict="FAIL (fds)"; failed=1; fi
  printf 'soak: %-9s %10sMi %10sMi %9sMi %8s %8s %+6d  %s\n' "$c" "$(mib "$r0")" "$(mib "$r1")" "$(mib $((r1 - r0)))" \
    "$f0" "$f1" $((f1 - f0)) "$verdict"
done
if [ "$failed" = 0 ]; then
  echo "soak: ok — no component grew beyond RSS +${RSS_PCT} % and +${RSS_MIB} MiB or fds +${FD_GROWTH} in $minutes min"
  exit 0
fi
echo "soak: FAILED (bound: RSS +${RSS_PCT} % and +${RSS_MIB} MiB, fds +${FD_GROWTH}, every run's results stored)"
exit 1
