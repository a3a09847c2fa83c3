#!/usr/bin/env bash
# Checks that every tool the README's commands and the tests run is there and works, by running
# each once: the pinned npm tools (cast, anvil, solc), node, curl, nats-server, PostgreSQL's initdb,
# valgrind, Debian's python3 with cryptography, cmake and cc, and a clang libFuzzer link with the
# address and undefined-behaviour sanitizers. scripts/setup.sh runs it after installing.
# Each missing or broken piece is named with its fix. Exit status: 0 all work, 1 some do not.
# Usage: scripts/check-tools.sh      (NOX_TOOLS_DIR: the npm tools' directory, default build/tools)
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh
PATH=$PATH:/usr/sbin:/sbin        # nats-server may live in sbin on some installs

problems=() works=()
# need NAME FIX COMMAND...: runs COMMAND (quietly); a failure is recorded with FIX
need() {
  local name=$1 fix=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    works+=("$name")
  else
    problems+=("$name does not work ($*: $(printf '%s' "$out" | tail -n 1 | cut -c1-160)) — fix: $fix")
  fi
}

reinstall_npm="scripts/setup.sh (it reinstalls a pinned npm package whose tool does not run)"
if pinned=$(tools_pinned 2>&1); then
  while read -r name version; do
    if why=$(tool_package_problem "$name" "$version"); then
      works+=("${name#@foundry-rs/}@$version")
    else
      problems+=("$why — fix: $reinstall_npm")
    fi
  done <<<"$pinned"
else
  problems+=("$pinned")
fi
# The command a reader types, build/tools/node_modules/.bin/cast, must pass cast's exit status through: a
# Node wrapper that swallows it (as @foundry-rs/cast's own launcher once did) would turn a failed
# transaction into a success in every script and document that uses it.
fails_as_it_should() { ! "$@" >/dev/null 2>&1; }
need cast-exit-status "scripts/setup.sh (node_modules/.bin/cast must be a link to the platform package's binary)" \
  fails_as_it_should "$NOX_TOOLS_DIR/node_modules/.bin/cast" to-dec 0xzz
need node "apt-get install --reinstall nodejs" node --version
need curl "apt-get install --reinstall curl" curl --version
need openssl "apt-get install --reinstall openssl" openssl version
need nats-server "apt-get install --reinstall nats-server" nats-server --version
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
need initdb "apt-get install --reinstall postgresql (the server binaries under /usr/lib/postgresql/*/bin)" \
  "${initdb:-/usr/lib/postgresql/N/bin/initdb}" --version
need valgrind "apt-get install --reinstall valgrind" valgrind --version
need python3-cryptography "apt-get install --reinstall python3 python3-cryptography" \
  /usr/bin/python3 -c 'import cryptography.hazmat.primitives.asymmetric.ec'
need cmake "apt-get install --reinstall cmake" cmake --version
need cc "apt-get install --reinstall build-essential" cc --version

# libFuzzer with ASan + UBSan: clang's driver links the sanitizer runtimes of libclang-rt-14-dev
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n > 0 && d[0] == 0x7f; }' >"$tmp/f.c"
need clang-fuzzer \
  "apt-get install clang libclang-rt-14-dev (the sanitizer runtimes are only a Recommends of clang)" \
  clang -fsanitize=fuzzer,address,undefined -o "$tmp/f" "$tmp/f.c"
[ -x "$tmp/f" ] && need libfuzzer-run "apt-get install --reinstall libclang-rt-14-dev" "$tmp/f" -runs=10

if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do echo "check-tools: $p" >&2; done
  echo "check-tools: ${#problems[@]} missing or broken; ${#works[@]} work" >&2
  exit 1
fi
echo "${#works[@]} work: ${works[*]}"
