# The pinned npm tools, shared by scripts/setup.sh (which installs them) and scripts/check-tools.sh
# (which checks them). Sourced from the project's root; NOX_TOOLS_DIR (default build/tools) is where
# they live: node_modules/ under it, pinned exactly by its package.json.
NOX_TOOLS_DIR=$(realpath -m "${NOX_TOOLS_DIR:-$PWD/build/tools}")
NOX_FOUNDRY_VERSION=1.7.1     # cast (independent keccak / EIP-712 / ECDSA checks, contract calls) and anvil (the local chain)
NOX_SOLC_VERSION=0.8.28       # solcjs: the Solidity compiler ships inside the package

# The Foundry platform package suffix of this machine (linux-amd64, linux-arm64).
foundry_platform() {
  case "$(uname -m)" in
    x86_64) echo linux-amd64 ;;
    aarch64|arm64) echo linux-arm64 ;;
    *) echo "no Foundry binary package for $(uname -m) (cast and anvil ship for x86_64 and aarch64)" >&2; return 1 ;;
  esac
}

# One "NAME VERSION" line per pinned npm package.
tools_pinned() {
  local p
  p=$(foundry_platform) || return 1
  printf '%s %s\n' "@foundry-rs/cast-$p" "$NOX_FOUNDRY_VERSION" "@foundry-rs/anvil-$p" "$NOX_FOUNDRY_VERSION" \
    solc "$NOX_SOLC_VERSION"
}

# build/tools/package.json: the exact versions, nothing else.
tools_package_json() {
  local sep="" name version
  printf '{\n  "name": "nox-tools",\n  "private": true,\n  "description": "Pinned tools of the Nox build and tests, installed by scripts/setup.sh",\n  "dependencies": {'
  while read -r name version; do
    printf '%s\n    "%s": "%s"' "$sep" "$name" "$version"
    sep=","
  done < <(tools_pinned)
  printf '\n  }\n}\n'
}

# The command that runs a pinned package's tool (for --version).
tool_command() {
  local dir=$NOX_TOOLS_DIR/node_modules/$1
  case $1 in
    @foundry-rs/cast-*) echo "$dir/bin/cast" ;;
    @foundry-rs/anvil-*) echo "$dir/bin/anvil" ;;
    solc) echo "node $dir/solc.js" ;;
  esac
}

# tool_package_problem NAME VERSION: returns 0 when the package is installed at VERSION and its tool
# runs and reports VERSION; otherwise prints what is wrong and returns 1.
tool_package_problem() {
  local name=$1 version=$2 dir=$NOX_TOOLS_DIR/node_modules/$1 have cmd out
  if [ ! -f "$dir/package.json" ]; then
    echo "$name $version is not installed"; return 1
  fi
  have=$(node -p 'require(process.argv[1]).version' "$dir/package.json" 2>/dev/null)
  if [ "$have" != "$version" ]; then
    echo "$name is ${have:-of no version}, not the pinned $version"; return 1
  fi
  cmd=$(tool_command "$name")
  if [ ! -f "${cmd##* }" ]; then
    echo "$name $version is installed but its tool ${cmd##* } is missing"; return 1
  fi
  # shellcheck disable=SC2086   # "node DIR/solc.js" is two words on purpose
  if ! out=$($cmd --version 2>&1); then
    echo "$name $version is installed but its tool does not run ($cmd --version: $(printf '%s' "$out" | tail -n 1 | cut -c1-160))"
    return 1
  fi
  case $out in
    *"$version"*) return 0 ;;
    *) echo "$name $version is installed but $cmd reports '$(printf '%s' "$out" | head -n 1 | cut -c1-120)'"; return 1 ;;
  esac
}
