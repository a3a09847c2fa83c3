#!/usr/bin/env bash
# Sets everything up: installs the Debian and npm packages the project needs
# (only the missing ones; quiet), then configures and builds into build/.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config   # toolchain (CMake >= 3.25)
  libgmp-dev                         # wide integers, decimal conversion
  libyaml-dev                        # YAML configuration
  libssl-dev                         # OpenSSL 3: HKDF, AES-GCM, RSA-OAEP, CSPRNG
  libsecp256k1-dev                   # secp256k1: ECDH, recoverable ECDSA
  libjansson-dev                     # JSON (the queue message, HTTP bodies)
  libmicrohttpd-dev                  # HTTP server (KMS, Gateway)
  libcurl4-openssl-dev               # HTTP client (tests now; Gateway -> KMS, Runner -> Gateway later)
  libcunit1-dev                      # unit tests
  valgrind                           # the constant-time test (tests/ctime)
  python3-cryptography               # cross-implementation tests of ECIES / RSA-OAEP (Debian's python3)
  libnats-dev                        # NATS JetStream client (Ingestor, Runner)
  nats-server                        # the queue, started by the tests and the devnet (-js)
  libpq-dev                          # PostgreSQL client library (the Gateway's store)
  postgresql                         # PostgreSQL server: initdb/pg_ctl in a temporary directory by the integration tests
  clang                              # libFuzzer (-fsanitize=fuzzer) for tests/fuzz: scripts/fuzz.sh, build-fuzz/
)
# npm packages, pinned, installed into build/tools (node_modules/.bin is not used: see tests/CMakeLists.txt)
NPM_PACKAGES=(
  "@foundry-rs/cast@1.7.1"           # independent keccak / EIP-712 / ECDSA checks, contract calls
  "@foundry-rs/anvil@1.7.1"          # the local chain for contract and integration tests
  "solc@0.8.28"                      # the Solidity compiler (solcjs: the compiler ships in the package)
)

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  log=$(mktemp)
  if ! { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: apt-get failed (log above)" >&2
    exit 1
  fi
  rm -f "$log"
fi

npm_missing=()
for spec in "${NPM_PACKAGES[@]}"; do
  name=${spec%@*} version=${spec##*@}
  have=$(node -p "require('./build/tools/node_modules/$name/package.json').version" 2>/dev/null || true)
  [ "$have" = "$version" ] || npm_missing+=("$spec")
done
if [ ${#npm_missing[@]} -gt 0 ]; then
  echo "setup: installing ${npm_missing[*]} (npm) into build/tools"
  mkdir -p build/tools
  log=$(mktemp)
  if ! npm install --no-audit --no-fund --prefix build/tools "${npm_missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: npm install failed (log above)" >&2
    exit 1
  fi
  rm -f "$log"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_RULE_MESSAGES=OFF >/dev/null
cmake --build build -j"$(nproc)" -- --no-print-directory -s 2>&1 | { grep -v '] Built target' || true; }  # warnings and errors still show
echo "setup: built into build/ (tools in build/bin, plugins in build/lib/nox)"
