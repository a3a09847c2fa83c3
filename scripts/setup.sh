#!/usr/bin/env bash
# Sets everything up, one line per stage with its time: installs the Debian and npm packages the
# project needs (only the missing ones), checks that every tool the commands and tests run works
# (scripts/check-tools.sh), then configures and builds into build/. Idempotent: on a machine that
# has everything it installs nothing and only rebuilds what changed. A failed stage prints its log.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

PACKAGES=(
  build-essential cmake pkg-config   # toolchain (CMake >= 3.25)
  libgmp-dev                         # wide integers, decimal conversion
  libyaml-dev                        # YAML configuration
  libssl-dev                         # OpenSSL 3: HKDF, AES-GCM, RSA-OAEP, CSPRNG
  libsecp256k1-dev                   # secp256k1: ECDH, recoverable ECDSA
  libjansson-dev                     # JSON (the queue message, HTTP bodies)
  libmicrohttpd-dev                  # HTTP server (KMS, Gateway), with TLS over GnuTLS
  libgnutls28-dev                    # the verified client certificate of a TLS session (mutual TLS)
  libcurl4-openssl-dev               # HTTP client (Gateway -> KMS, Runner -> Gateway, noxctl)
  curl                               # the curl command (scripts/soak.sh)
  openssl                            # the openssl command: scripts/pki.sh makes the devnet's and the tests' certificates
  libcunit1-dev                      # unit tests
  valgrind                           # the constant-time test (tests/ctime)
  python3 python3-cryptography       # Debian's python3: test drivers, cross tests of ECIES / RSA-OAEP
  libnats-dev                        # NATS JetStream client (Ingestor, Runner)
  nats-server                        # the queue, started by the tests and the devnet (-js)
  libpq-dev                          # PostgreSQL client library (the Gateway's store)
  postgresql                         # PostgreSQL server: initdb/pg_ctl in a temporary directory by the tests and the devnet
  clang libclang-rt-14-dev           # libFuzzer + sanitizer runtimes for tests/fuzz (the runtimes are only a Recommends of clang)
)
# Node itself is Debian's (nodejs 18 on Debian 12; a newer one already on the machine is kept).
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
setup_t0=$(date +%s)
stage_t0=0 stage_name="" stage_log=""

# stage NAME: starts a stage (its output goes to a log shown only when the stage fails)
stage() {
  stage_name=$1 stage_t0=$(date +%s)
  stage_log=$(mktemp /tmp/nox-setup.XXXXXX)
}
# done_stage TEXT: the stage's one line
done_stage() {
  printf 'setup: %-13s %s (%s s)\n' "$stage_name:" "$1" "$(( $(date +%s) - stage_t0 ))"
  rm -f "$stage_log"
}
# fail_stage TEXT: the stage's log, then what failed, and exit 1
fail_stage() {
  if [ -s "$stage_log" ]; then
    echo "---- log of the $stage_name stage ----" >&2
    tail -n 200 "$stage_log" >&2
    echo "----" >&2
  fi
  rm -f "$stage_log"
  echo "setup: $stage_name failed: $1" >&2
  exit 1
}

# 1. Debian packages
stage "apt packages"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: $stage_name: installing ${#missing[@]}: ${missing[*]} ..."
  { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    >"$stage_log" 2>&1 || fail_stage "apt-get install ${missing[*]} (log above)"
  done_stage "installed ${#missing[@]}"
else
  done_stage "all ${#PACKAGES[@]} present"
fi

# 2. npm packages, pinned in build/tools/package.json. The Foundry platform packages are named
# directly: they declare engines node >= 20 and npm silently drops them as optional dependencies of
# @foundry-rs/cast on Debian 12's Node 18, while as direct dependencies it installs them with a
# warning (EBADENGINE) — the binaries are native and do not use Node at all.
stage "npm packages"
tools_pinned >"$stage_log" 2>&1 || fail_stage "$(tail -n 1 "$stage_log")"
mkdir -p "$NOX_TOOLS_DIR"
tools_package_json >"$NOX_TOOLS_DIR/package.json.new"
if cmp -s "$NOX_TOOLS_DIR/package.json.new" "$NOX_TOOLS_DIR/package.json"; then
  rm "$NOX_TOOLS_DIR/package.json.new"
else
  mv "$NOX_TOOLS_DIR/package.json.new" "$NOX_TOOLS_DIR/package.json"
fi
broken=()
while read -r name version; do
  why=$(tool_package_problem "$name" "$version") || { broken+=("$name"); echo "setup: $stage_name: $why"; }
done < <(tools_pinned)
if [ ${#broken[@]} -gt 0 ]; then
  echo "setup: $stage_name: installing ${broken[*]} into ${NOX_TOOLS_DIR#"$PWD/"} ..."
  for name in "${broken[@]}"; do rm -rf "${NOX_TOOLS_DIR:?}/node_modules/$name"; done
  (cd "$NOX_TOOLS_DIR" && npm install --no-audit --no-fund --engine-strict=false) >"$stage_log" 2>&1 \
    || fail_stage "npm install in ${NOX_TOOLS_DIR#"$PWD/"} (log above); check that the npm registry is reachable"
  while read -r name version; do
    why=$(tool_package_problem "$name" "$version") || fail_stage "after npm install, $why"
  done < <(tools_pinned)
  done_stage "installed ${#broken[@]}"
else
  done_stage "all $(tools_pinned | wc -l) present ($(tools_pinned | tr ' ' '@' | tr '\n' ' ' | sed 's/ $//'))"
fi

# 3. every tool the commands and tests run, run once
stage "tools"
scripts/check-tools.sh >"$stage_log" 2>&1 || { cat "$stage_log" >&2; rm -f "$stage_log"; exit 1; }
done_stage "$(tail -n 1 "$stage_log")"

# 4. configure, 5. build
stage "configure"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_RULE_MESSAGES=OFF >"$stage_log" 2>&1 \
  || fail_stage "cmake -S . -B build (log above)"
done_stage "build/ (RelWithDebInfo)"
stage "build"
cmake --build build -j"$(nproc)" -- --no-print-directory -s >"$stage_log" 2>&1 \
  || fail_stage "cmake --build build (log above)"
done_stage "tools in build/bin, plugins in build/lib/nox"
echo "setup: ready in $(( $(date +%s) - setup_t0 )) s"
