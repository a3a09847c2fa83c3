#!/usr/bin/env bash
# scripts/check-tools.sh names a missing or broken tool and its fix; it passes on the installed tools.
# The broken environments are copies of build/tools (symlinks: nothing of the real one is touched).
# usage: test_check_tools.sh
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=../../scripts/tools.sh
source scripts/tools.sh
real=$NOX_TOOLS_DIR
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect NAME WANT_RC NEEDLE... : runs check-tools on NOX_TOOLS_DIR=$dir; every NEEDLE must be in its output
expect() {
  local name=$1 want_rc=$2 out rc n; shift 2
  out=$(NOX_TOOLS_DIR=$dir scripts/check-tools.sh 2>&1); rc=$?
  [ "$rc" = "$want_rc" ] || { bad "$name: exit $rc, want $want_rc: $out"; return; }
  for n in "$@"; do
    printf '%s' "$out" | grep -qF -- "$n" || { bad "$name: no '$n' in: $out"; return; }
  done
  ok
}

# a copy of the real tools: each package a symlink, except those a case breaks
copy_tools() {
  rm -rf "$work/tools"; mkdir -p "$work/tools/node_modules/@foundry-rs"
  local name version
  while read -r name version; do ln -s "$real/node_modules/$name" "$work/tools/node_modules/$name"; done < <(tools_pinned)
  dir=$work/tools
}
platform=$(foundry_platform)
cast_pkg=@foundry-rs/cast-$platform

dir=$real
expect "the installed tools" 0 "work: " "cast-$platform@$NOX_FOUNDRY_VERSION" "solc@$NOX_SOLC_VERSION" clang-fuzzer

dir=$work/empty; mkdir -p "$dir"
expect "no npm tools at all" 1 "$cast_pkg $NOX_FOUNDRY_VERSION is not installed — fix: scripts/setup.sh" \
  "solc $NOX_SOLC_VERSION is not installed" "3 missing or broken"

copy_tools   # the cast binary deleted after setup
rm "$dir/node_modules/$cast_pkg"; mkdir -p "$dir/node_modules/$cast_pkg"
cp "$real/node_modules/$cast_pkg/package.json" "$dir/node_modules/$cast_pkg/"
expect "the cast binary deleted" 1 "$cast_pkg $NOX_FOUNDRY_VERSION is installed but its tool" "bin/cast is missing" \
  "fix: scripts/setup.sh" "1 missing or broken"

copy_tools   # a cast that does not run
rm "$dir/node_modules/$cast_pkg"; mkdir -p "$dir/node_modules/$cast_pkg/bin"
cp "$real/node_modules/$cast_pkg/package.json" "$dir/node_modules/$cast_pkg/"
printf '#!/bin/sh\necho "cast: cannot execute: wrong ELF class" >&2\nexit 126\n' >"$dir/node_modules/$cast_pkg/bin/cast"
chmod +x "$dir/node_modules/$cast_pkg/bin/cast"
expect "a cast that does not run" 1 "its tool does not run" "wrong ELF class" "fix: scripts/setup.sh"

copy_tools   # another version than the pinned one
rm "$dir/node_modules/solc"; mkdir -p "$dir/node_modules/solc"
printf '{\n  "name": "solc",\n  "version": "0.8.19"\n}\n' >"$dir/node_modules/solc/package.json"
expect "solc of another version" 1 "solc is 0.8.19, not the pinned $NOX_SOLC_VERSION" "fix: scripts/setup.sh"

copy_tools   # a .bin/cast launcher that swallows cast's exit status (what the Node launcher of @foundry-rs/cast did)
mkdir -p "$dir/node_modules/.bin"
printf '#!/bin/sh\n"%s" "$@"\nexit 0\n' "$real/node_modules/$cast_pkg/bin/cast" >"$dir/node_modules/.bin/cast"
chmod +x "$dir/node_modules/.bin/cast"
expect "a .bin/cast that exits 0 when cast fails" 1 "cast-exit-status does not work" \
  "node_modules/.bin/cast must be a link to the platform package's binary" "1 missing or broken"

# a tool from Debian that does not run: the fix names its package
mkdir -p "$work/bin"
printf '#!/bin/sh\necho "curl: error while loading shared libraries: libcurl.so.4" >&2\nexit 127\n' >"$work/bin/curl"
chmod +x "$work/bin/curl"
dir=$real
out=$(PATH=$work/bin:$PATH NOX_TOOLS_DIR=$dir scripts/check-tools.sh 2>&1); rc=$?
if [ "$rc" = 1 ] && printf '%s' "$out" | grep -qF "curl does not work (curl --version: curl: error while loading shared" &&
   printf '%s' "$out" | grep -qF "fix: apt-get install --reinstall curl" && printf '%s' "$out" | grep -qF "1 missing or broken"
then ok
else bad "a broken curl: exit $rc: $out"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
