#!/usr/bin/env bash
# The plugin SDK the way a team uses it:
#   1. cmake --install BUILD --prefix TMP/prefix   (headers, .pc, executables, plugins, template)
#      nox/plugin.h and nox/ctint.h must each compile alone with strict flags
#   2. copy TMP/prefix/share/nox/plugin-template, configure it out of tree with
#      PKG_CONFIG_PATH=TMP/prefix/lib/pkgconfig, build, run its ctest; again
#      as a Release build (-O3: GCC's optimisation-only warnings)
#   3. nox-plugin-check on the built template.so
#   4. nox-eval --config (a YAML naming template.so) OP TYPE ARGS, answers compared
#   5. the README's copy-and-rename commands, run as written (extracted from
#      README.md): no file of the copy mentions "template" any more, and the
#      renamed plugin builds, passes its ctest and evaluates
# Usage: test_template.sh BUILD_DIR SOURCE_DIR PROJECT_VERSION
set -uo pipefail
build=$1 src=$2 version=$3
tmp=$(mktemp -d /tmp/nox-sdk-template-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
die() { echo "FAIL: $*"; echo "test_template: stopped"; exit 1; }
# step NAME CMD...: runs CMD with its output in $tmp/NAME.log, shown on failure
step() {
    local name=$1
    shift
    if "$@" >"$tmp/$name.log" 2>&1; then pass "$name"; return 0; fi
    echo "---- $name: $* failed; its output:"
    tail -n 60 "$tmp/$name.log" | sed 's/^/    /'
    return 1
}

# 1. install
step install cmake --install "$build" --prefix "$prefix" || die "cmake --install $build --prefix $prefix failed"
for f in include/nox/plugin.h include/nox/ctint.h lib/pkgconfig/noxplugin.pc \
         bin/nox-eval bin/noxctl bin/nox-bench bin/nox-plugin-check bin/nox-kms bin/nox-gateway bin/nox-ingestor \
         bin/nox-runner lib/nox/arithmetic.so lib/nox/wide.so \
         share/nox/plugin-template/CMakeLists.txt share/nox/plugin-template/template.c \
         share/nox/plugin-template/test_template.c share/nox/plugin-template/operators.yaml \
         share/nox/plugin-template/README.md; do
    [ -e "$prefix/$f" ] || fail "install: $prefix/$f is missing"
done
n_built=$(ls "$build"/lib/nox/*.so | wc -l)
n_inst=$(ls "$prefix"/lib/nox/*.so | wc -l)
[ "$n_built" = "$n_inst" ] && pass "install: all $n_inst built-in plugins in lib/nox" \
    || fail "install: $n_built plugins built, $n_inst installed"
diff -r "$src/plugins/template" "$prefix/share/nox/plugin-template" >/dev/null \
    && pass "install: share/nox/plugin-template is plugins/template" || fail "install: installed template differs from plugins/template"

# 2. pkg-config
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
got=$(pkg-config --modversion noxplugin) || die "pkg-config cannot find noxplugin in $PKG_CONFIG_PATH"
[ "$got" = "$version" ] && pass "pkg-config: Version $got" || fail "pkg-config: Version is '$got', expected $version"
read -r cflags <<<"$(pkg-config --cflags noxplugin)"   # trims the trailing space
incdir=${cflags#-I}
[ -f "$incdir/nox/plugin.h" ] && pass "pkg-config: Cflags $cflags finds nox/plugin.h" || fail "pkg-config: Cflags '$cflags' does not lead to nox/plugin.h"
libs=$(pkg-config --libs noxplugin)
[ -z "$libs" ] && pass "pkg-config: no Libs (plugins link against nothing of ours)" || fail "pkg-config: Libs is '$libs', expected empty"
[ "$(pkg-config --variable=abi_version noxplugin)" = 1 ] || fail "pkg-config: abi_version variable is not 1"
# plugin.h alone must compile, strictly (self-contained)
printf '#include <nox/plugin.h>\nint main(void) { nox_typeset s = {{0}}; nox_typeset_add(&s, NOX_TYPE_UINT8);\n  return nox_typeset_has(&s, NOX_TYPE_UINT8) && nox_type_bits(NOX_TYPE_INT256) == 256 ? 0 : 1; }\n' >"$tmp/hdr.c"
step header_self_contained cc -std=c17 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wundef $cflags \
    "$tmp/hdr.c" -o "$tmp/hdr" && { "$tmp/hdr" || fail "header: nox/plugin.h helpers misbehave"; } \
    || fail "nox/plugin.h does not compile on its own"
# ctint.h alone, with -Wconversion too, at -O0 and -O2 (-Wmaybe-uninitialized needs optimisation):
# a uint8 mul_div through the double width (200 * 200 / 100 = 400 -> 144) and (2^256-1)^2 / (2^256-1)
cat >"$tmp/ctint.c" <<'C'
#include <nox/ctint.h>
int main(void) {
    uint64_t a[NOX_CT_LIMBS(512)] = {0}, c[NOX_CT_LIMBS(512)] = {0};
    uint64_t p[NOX_CT_LIMBS(512)] = {0}, q[NOX_CT_LIMBS(512)] = {0}, r[NOX_CT_LIMBS(512)] = {0};
    nox_value v;
    v.type = NOX_TYPE_UINT8;
    nox_ct_set_u64(a, 200, 8);
    nox_ct_set_u64(c, 100, 16);
    nox_ct_mul_wide(p, a, a, 8);
    nox_ct_divrem(q, r, p, c, 16);
    nox_ct_store(&v, q, 16);
    if (v.limb[0] != 144) return 1;
    nox_ct_max(a, 256, 0);
    nox_ct_mul_wide(p, a, a, 256);
    nox_ct_extend(c, 512, a, 256, 0);
    nox_ct_divrem(q, r, p, c, 512);
    return nox_ct_eq(q, c, 512) && nox_ct_is_zero(r, 512) ? 0 : 2;
}
C
for opt in -O0 -O2; do
    step "ctint_self_contained$opt" cc -std=c17 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wundef \
        -Wconversion $opt $cflags "$tmp/ctint.c" -o "$tmp/ctint" && { "$tmp/ctint" || fail "nox/ctint.h ($opt): wrong answers (exit $?)"; } \
        || fail "nox/ctint.h does not compile on its own with strict flags ($opt)"
done

# 3. the team's copy of the template, built out of tree against the installed SDK
cp -r "$prefix/share/nox/plugin-template" "$tmp/myplugin"
step template_configure cmake -S "$tmp/myplugin" -B "$tmp/myplugin/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    || die "the template does not configure against the installed SDK"
step template_build cmake --build "$tmp/myplugin/build" || die "the template does not build against the installed SDK"
so=$tmp/myplugin/build/template.so
[ -f "$so" ] || die "no $so after the build"
step template_ctest ctest --test-dir "$tmp/myplugin/build" --output-on-failure || fail "the template's ctest failed"
grep -q '100% tests passed, 0 tests failed out of 3' "$tmp/template_ctest.log" && grep -q 'plugin_check_ctime' "$tmp/template_ctest.log" \
    && pass "template ctest: test_template, plugin_check and plugin_check_ctime ran" || fail "template ctest: expected 3 tests (test_template, plugin_check, plugin_check_ctime)"
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[A-Z]$/ {print $3}' | sort | tr '\n' ' ')
[ "$exported" = "nox_plugin " ] && pass "template.so exports only nox_plugin" || fail "template.so exports: $exported"
# Release (-O3 with GCC): the warnings that only optimisation brings (-Wmaybe-uninitialized) under -Werror
step template_release_configure cmake -S "$tmp/myplugin" -B "$tmp/myplugin/build-release" -DCMAKE_BUILD_TYPE=Release \
    && step template_release_build cmake --build "$tmp/myplugin/build-release" \
    && step template_release_ctest ctest --test-dir "$tmp/myplugin/build-release" --output-on-failure \
    || fail "the template does not build and pass its tests as a Release build"
# ...with -Wmaybe-uninitialized among the template's flags (GCC only: clang has no such option)
flags=$tmp/myplugin/build-release/CMakeFiles/template.dir/flags.make
if grep -qs -- '-Wmaybe-uninitialized' "$flags"; then pass "template: built with -Wmaybe-uninitialized -Werror"
elif ! grep -qs 'CMAKE_C_COMPILER_ID "GNU"' "$tmp/myplugin/build-release"/CMakeFiles/*/CMakeCCompiler.cmake; then
    pass "template: not GCC, no -Wmaybe-uninitialized"
else fail "template: -Wmaybe-uninitialized missing from $flags"; fi

# 4. nox-plugin-check on the result
if "$prefix/bin/nox-plugin-check" "$so" >"$tmp/check.out" 2>&1; then
    grep -q 'CLEAN$' "$tmp/check.out" && pass "nox-plugin-check: template.so is clean" || fail "nox-plugin-check: exit 0 without CLEAN"
else
    fail "nox-plugin-check $so exited $?:"; sed 's/^/    /' "$tmp/check.out" | grep -v ' ok (' | head -40
fi

# 5. nox-eval through a YAML that names the built template.so, alone and beside the built-ins
cat >"$tmp/template.yaml" <<YAML
plugins:
  - path: $so
YAML
{
    echo "plugins:"
    for p in "$prefix"/lib/nox/*.so; do echo "  - path: $p"; done
    echo "  - path: $so"
} >"$tmp/all.yaml"
# eval CONFIG OP TYPE ARGS... EXPECTED
eval_case() {
    local config=$1
    shift
    local want=${*: -1}
    local args=("${@:1:$#-1}")
    local got
    got=$("$prefix/bin/nox-eval" --config "$config" "${args[@]}" 2>&1)
    local rc=$?
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then pass "nox-eval ${args[*]} = $want"
    else fail "nox-eval --config $(basename "$config") ${args[*]}: got '$got' (exit $rc), expected '$want'"; fi
}
y=$tmp/template.yaml
eval_case "$y" average uint8 255 253 254
eval_case "$y" average uint8 255 255 255
eval_case "$y" average uint256 \
    115792089237316195423570985008687907853269984665640564039457584007913129639935 \
    115792089237316195423570985008687907853269984665640564039457584007913129639934 \
    115792089237316195423570985008687907853269984665640564039457584007913129639934
eval_case "$y" average int8 -128 127 0
eval_case "$y" average int8 -128 -128 -128
eval_case "$y" average int64 -7 -8 -7
eval_case "$y" average int256 -3 0 -1
eval_case "$y" clamp uint32 5 10 20 10
eval_case "$y" clamp uint32 25 10 20 20
eval_case "$y" clamp int16 -300 -100 100 -100
eval_case "$y" clamp int16 50 -100 100 50
eval_case "$y" clamp int128 7 9 1 1
max256=115792089237316195423570985008687907853269984665640564039457584007913129639935
eval_case "$y" mul_div uint8 200 200 100 144                      # 400 mod 256
eval_case "$y" mul_div uint16 200 200 100 400
eval_case "$y" mul_div uint32 4000000000 4000000000 4000000000 4000000000
eval_case "$y" mul_div uint256 $max256 $max256 $max256 $max256     # the 512-bit product does not overflow
eval_case "$y" mul_div uint256 $max256 $max256 1 1                  # (2^256-1)^2 mod 2^256
eval_case "$y" mul_div uint256 1000000000000000000000000000000 1000000000000000000000000000000 7 \
    142857142857142857142857142857142857142857142857142857142857
eval_case "$y" mul_div uint64 7 5 0 18446744073709551615           # c = 0: MAX
eval_case "$y" mul_div uint256 0 0 0 $max256
eval_case "$tmp/all.yaml" average uint64 18446744073709551615 1 9223372036854775808
eval_case "$tmp/all.yaml" add uint8 200 100 44
if "$prefix/bin/nox-eval" --config "$y" --list >"$tmp/list.out" 2>&1 &&
    grep -q '^average .*id=1000 .*average(T a, T b) -> (T result) where T in {uint8..uint256, int8..int256}' "$tmp/list.out" &&
    grep -q '^clamp .*id=1001 ' "$tmp/list.out" &&
    grep -q '^mul_div .*id=1002 .*mul_div(T a, T b, T c) -> (T result) where T in {uint8..uint256}' "$tmp/list.out"; then
    pass "nox-eval --list shows average (1000), clamp (1001) and mul_div (1002)"
else
    fail "nox-eval --list:"; sed 's/^/    /' "$tmp/list.out"
fi
got=$("$prefix/bin/nox-eval" --config "$y" average uint512 1 2 2>&1)
case "$got" in *"average: a cannot be uint512 (accepted: uint8..uint256, int8..int256)"*) pass "nox-eval: uint512 refused by the signature";;
     *) fail "nox-eval average uint512: '$got'";; esac
got=$("$prefix/bin/nox-eval" --config "$y" mul_div int8 1 1 1 2>&1)
case "$got" in *"mul_div: a cannot be int8 (accepted: uint8..uint256)"*) pass "nox-eval: mul_div refuses int8";;
     *) fail "nox-eval mul_div int8: '$got'";; esac

# 6. the README's copy-and-rename, as written: the sh block under "## 1. Copy and rename",
#    with /opt/nox as this prefix and HOME in the temporary directory (for ~/src/ratios)
readme=$prefix/share/nox/plugin-template/README.md
rename=$(awk '/^## 1\. Copy and rename/ {sec = 1; next} sec && /^```sh$/ {code = 1; next}
              code && /^```$/ {exit} code {print}' "$readme")
echo "$rename" | grep -q "sed -i" || die "README.md: no sh block with the rename (sed -i) under '## 1. Copy and rename'"
echo "---- the README's rename commands:"; echo "$rename" | sed 's/^/    /'
rename=${rename//\/opt\/nox/$prefix}
mkdir -p "$tmp/home/src"
copy=$tmp/home/src/ratios
if (cd "$tmp" && HOME=$tmp/home bash -euo pipefail -c "$rename") >"$tmp/rename.log" 2>&1; then
    pass "README rename commands ran"
else
    fail "README rename commands failed:"; sed 's/^/    /' "$tmp/rename.log"
fi
[ -f "$copy/ratios.c" ] && [ -f "$copy/test_ratios.c" ] && [ ! -e "$copy/template.c" ] \
    && pass "rename: ratios.c and test_ratios.c, no template.c" || fail "rename: unexpected files in $copy: $(ls "$copy" 2>&1 | tr '\n' ' ')"
left=$(grep -rin template "$copy" 2>&1)
[ -z "$left" ] && pass "rename: grep -ri template finds nothing in the copy" \
    || { fail "rename: the copy still says template:"; echo "$left" | head -20 | sed 's/^/    /'; }
step ratios_configure cmake -S "$copy" -B "$copy/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    && step ratios_build cmake --build "$copy/build" \
    && step ratios_ctest ctest --test-dir "$copy/build" --output-on-failure \
    || fail "the renamed copy does not configure, build and pass its ctest"
grep -q '100% tests passed, 0 tests failed out of 3' "$tmp/ratios_ctest.log" 2>/dev/null \
    && pass "renamed copy ctest: test_ratios, plugin_check and plugin_check_ctime ran" || fail "renamed copy ctest: expected 3 tests"
printf 'plugins:\n  - path: %s\n' "$copy/build/ratios.so" >"$tmp/ratios.yaml"
eval_case "$tmp/ratios.yaml" mul_div uint8 200 200 100 144

if [ "$failures" -ne 0 ]; then
    echo "test_template: $failures failure(s)"
    exit 1
fi
echo "test_template: all passed"
