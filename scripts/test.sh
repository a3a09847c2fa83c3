#!/usr/bin/env bash
# Sets everything up and runs every test: the whole ctest suite on the normal
# build, then the unit, CLI, integration, e2e and security tests again in a second build tree
# compiled with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/),
# LeakSanitizer on — so the services themselves run sanitized too; then every libFuzzer
# target of tests/fuzz for FUZZ_SECONDS (default 20) each in build-fuzz/ (scripts/fuzz.sh).
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
t0=$(date +%s)
stage() { echo "== test: $* [$(( $(date +%s) - t0 )) s]"; }

scripts/setup.sh

stage "ctest (build/)"
ctest --test-dir build --output-on-failure -j"$jobs"

stage "sanitizers (build-asan/, -fsanitize=address,undefined -fno-sanitize-recover=all)"
cmake -S . -B build-asan -DNOX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_RULE_MESSAGES=OFF >/dev/null
cmake --build build-asan -j"$jobs" -- --no-print-directory -s 2>&1 | { grep -v '] Built target' || true; }  # warnings and errors still show
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L 'unit|cli|integration|e2e|security' --output-on-failure -j"$jobs"

stage "fuzzing (build-fuzz/, clang -fsanitize=fuzzer,address,undefined; ${FUZZ_SECONDS:-20} s per target)"
scripts/fuzz.sh all "${FUZZ_SECONDS:-20}"
echo "== test: all stages passed in $(( $(date +%s) - t0 )) s"
