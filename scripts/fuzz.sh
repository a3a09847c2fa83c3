#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz (clang, -fsanitize=fuzzer,address,undefined)
# in their own build tree, build-fuzz/ (CC=clang -DNOX_FUZZ=ON -DNOX_SANITIZE=ON).
#
# Usage: scripts/fuzz.sh TARGET SECONDS    one target (fuzz_message, ... or just message, ...)
#        scripts/fuzz.sh all SECONDS       every target, FUZZ_JOBS at a time (default: nproc)
#        scripts/fuzz.sh list              the targets
#
# Each run starts from a temporary copy of tests/fuzz/corpus/TARGET (the repository is not
# touched; new interesting inputs are dropped with the copy unless FUZZ_KEEP_CORPUS=DIR, where
# they are kept per target), with tests/fuzz/dict/*.dict where one applies. A crash, leak,
# UB report, timeout (FUZZ_TIMEOUT s per input, default 25) or out-of-memory fails the run; the
# input is saved as build-fuzz/crashes/TARGET-<kind>-<sha1> and the log as build-fuzz/logs/TARGET.log.
# Reproduce with: build-fuzz/fuzz/TARGET build-fuzz/crashes/FILE
# Extra libFuzzer flags: FUZZ_ARGS="-only_ascii=1 ...". Exit status: 0 when every run finished clean.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-fuzz
src=$root/tests/fuzz

TARGETS=(fuzz_message fuzz_handle fuzz_hex fuzz_config fuzz_runner_config fuzz_gateway_config fuzz_kms_config
         fuzz_ingestor_config fuzz_gateway_auth fuzz_gateway_routes fuzz_kms_delegate fuzz_events fuzz_engine
         fuzz_operators_config fuzz_threshold)

dict_of() {
  case $1 in
    fuzz_message|fuzz_gateway_auth|fuzz_gateway_routes|fuzz_kms_delegate|fuzz_threshold) echo "$src/dict/json.dict" ;;
    fuzz_config|fuzz_runner_config|fuzz_gateway_config|fuzz_kms_config|fuzz_ingestor_config|fuzz_operators_config)
      echo "$src/dict/yaml.dict" ;;
    *) echo "" ;;
  esac
}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
if [ "$1" = list ]; then printf '%s\n' "${TARGETS[@]}"; exit 0; fi
[ $# -eq 2 ] || usage
what=$1 seconds=$2
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive integer" >&2; exit 2; }
if [ "$what" = all ]; then
  run=("${TARGETS[@]}")
else
  [[ $what == fuzz_* ]] || what=fuzz_$what
  printf '%s\n' "${TARGETS[@]}" | grep -qx -- "$what" || { echo "fuzz: unknown target $what (scripts/fuzz.sh list)" >&2; exit 2; }
  run=("$what")
fi

command -v clang >/dev/null || { echo "fuzz: clang is required (scripts/setup.sh installs it)" >&2; exit 1; }

# ---- build (configure once; the build itself is incremental) ---------------------------------
if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^NOX_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  CC=clang cmake -S . -B "$build" -DNOX_FUZZ=ON -DNOX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -O1" -DCMAKE_RULE_MESSAGES=OFF >/dev/null
fi
build_target=fuzz_all
[ ${#run[@]} -eq 1 ] && build_target=${run[0]}
cmake --build "$build" --target "$build_target" -j"$(nproc)" -- --no-print-directory -s 2>&1 |
  { grep -v 'Built target' || true; }
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: build failed" >&2; exit 1; }

# ---- run ----------------------------------------------------------------------------------------
mkdir -p "$build/crashes" "$build/logs"
work=$(mktemp -d "${TMPDIR:-/tmp}/nox-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {  # TARGET -> exit status of libFuzzer
  local t=$1 corpus=$work/$1 log=$build/logs/$1.log dict
  mkdir -p "$corpus"
  cp -r "$src/corpus/$t/." "$corpus/" 2>/dev/null || true
  dict=$(dict_of "$t")
  local args=(-max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-25}" -rss_limit_mb=2048 -max_len=65536
              -print_final_stats=1 -artifact_prefix="$build/crashes/$t-")
  [ -n "$dict" ] && args+=(-dict="$dict")
  # shellcheck disable=SC2086
  local rc=0
  (cd "$work" && exec "$build/fuzz/$t" "${args[@]}" ${FUZZ_ARGS:-} "$corpus") >"$log" 2>&1 || rc=$?
  if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then mkdir -p "$FUZZ_KEEP_CORPUS/$t"; cp -r "$corpus/." "$FUZZ_KEEP_CORPUS/$t/"; fi
  return $rc
}

report() {  # TARGET STATUS
  local t=$1 rc=$2 log=$build/logs/$1.log execs speed cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)
  cov=$({ grep -o 'cov: [0-9]*' "$log" || true; } | tail -1 | cut -d' ' -f2)
  if [ "$rc" -eq 0 ]; then
    printf 'fuzz: %-22s ok    %8s execs  %6s exec/s  cov %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}"
  else
    printf 'fuzz: %-22s FAILED (exit %s): log %s\n' "$t" "$rc" "${log#"$root"/}" >&2
    grep -E 'ERROR:|SUMMARY:|invariant failed|Test unit written|runtime error' "$log" | head -20 >&2 || true
  fi
}

jobs=${FUZZ_JOBS:-$(nproc)}
running=0
for t in "${run[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
  { rc=0; run_one "$t" || rc=$?; echo "$rc" >"$work/$t.rc"; } &
  running=$((running + 1))
done
wait || true
failed=0
for t in "${run[@]}"; do
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
  report "$t" "$rc"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
  echo "fuzz: $failed of ${#run[@]} target(s) failed; inputs in build-fuzz/crashes/" >&2
  exit 1
fi
echo "fuzz: ${#run[@]} target(s) ran ${seconds} s each without a finding"
