#!/usr/bin/env bash
# Sets everything up: installs the Debian packages the project needs (only the
# missing ones; quiet), then configures and builds into build/.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config   # toolchain (CMake >= 3.25)
  libgmp-dev                         # wide integers, decimal conversion
  libyaml-dev                        # YAML configuration
  libssl-dev                         # OpenSSL 3 (OPENSSL_cleanse now; crypto later)
  libcunit1-dev                      # unit tests
  valgrind                           # the constant-time test (tests/ctime)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  log=$(mktemp)
  if ! { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: apt-get failed (log above)" >&2
    exit 1
  fi
  rm -f "$log"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_RULE_MESSAGES=OFF >/dev/null
cmake --build build -j"$(nproc)" -- --no-print-directory -s 2>&1 | { grep -v '] Built target' || true; }  # warnings and errors still show
echo "setup: built into build/ (tools in build/bin, plugins in build/lib/nox)"
