#!/usr/bin/python3
"""nox-plugin-check --solidity: the generated Solidity bindings, checked and compiled.

Usage: test_bindings.py NOX_PLUGIN_CHECK NODE TEMPLATE.so AWKWARD.so BROKEN_IDS.so BUILTIN.so...

For every plugin: `--solidity` exits 0 and writes library Nox<PluginName>; the content is checked
(ids, overloads, type codes, names of the SDK template and of tests/contracts/plugins/awkward.c,
which stresses keywords, duplicate and missing names, caller-bound output types and skipped
operators); generating twice gives the same bytes. Then every generated library is compiled with
contracts/build.js together with a harness contract that calls each generated function through
`using Nox<Name> for INoxCompute` (so solc type-checks AND generates code for all of them).
Also: usage errors (exit 2), a plugin with descriptor problems (exit 1, no file), --check.
Ends with "N passed, M failed".
"""
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import noxtest  # noqa: E402
from noxtest import run  # noqa: E402

VERBOSE = os.environ.get("NOX_TEST_VERBOSE") == "1"


def check(name, ok, detail=""):
    ok = bool(ok)
    noxtest.check(name, ok, detail, verbose=VERBOSE)
    return ok


if len(sys.argv) < 6:
    print("usage: test_bindings.py NOX_PLUGIN_CHECK NODE TEMPLATE.so AWKWARD.so BROKEN_IDS.so BUILTIN.so...",
          file=sys.stderr)
    sys.exit(2)
CHECKER, NODE, TEMPLATE, AWKWARD, BROKEN = sys.argv[1:6]
BUILTIN = sys.argv[6:]

FUNC = re.compile(r"function (\w+)\((INoxCompute nox(?:, \w+ \w+)*)\)\s+internal\s+returns \(([\w, ]+)\)")


def functions(text):
    """[(name, [(type, param)], [return types])] of a generated library."""
    out = []
    for m in FUNC.finditer(text):
        params = [tuple(p.split()) for p in m.group(2).split(", ")[1:]]
        out.append((m.group(1), params, [r.strip() for r in m.group(3).split(",")]))
    return out


def library_name(text):
    m = re.search(r"^library (\w+) \{", text, re.M)
    return m.group(1) if m else None


def harness(lib, fns):
    """A contract calling every function of `lib` through `using lib for INoxCompute`."""
    lines = ["// SPDX-License-Identifier: MIT", "pragma solidity 0.8.28;", "",
             'import {INoxCompute} from "./INoxCompute.sol";',
             "import {ebool, eaddress, euint8, euint16, euint32, euint64, euint128, euint256, eint8, eint16, eint32,",
             '    eint64, eint128, eint256} from "./Nox.sol";',
             f'import {{{lib}}} from "./{lib}.sol";', "",
             f"contract Use{lib} {{", f"    using {lib} for INoxCompute;", ""]
    for i, (name, params, rets) in enumerate(fns):
        ps = "".join(f", {t} p{j}" for j, (t, _) in enumerate(params))
        args = ", ".join(f"p{j}" for j in range(len(params)))
        lines.append(f"    function f{i}(INoxCompute nox{ps}) external returns ({', '.join(rets)}) {{")
        lines.append(f"        return nox.{name}({args});")
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def generate(plugin, out, *extra):
    return run(CHECKER, "--solidity", out, plugin, *extra)


def main():
    work = tempfile.mkdtemp(prefix="nox-bindings-")
    srcs = os.path.join(work, "src")
    os.makedirs(srcs)
    libs = {}   # library name -> (file, text)
    try:
        for plugin in BUILTIN + [TEMPLATE, AWKWARD]:
            base = os.path.basename(plugin)
            out = os.path.join(work, base + ".sol")
            r = generate(plugin, out)
            if not check(f"{base}: --solidity exits 0 and says what it wrote",
                         r.returncode == 0 and "wrote " + out in r.stdout and os.path.exists(out),
                         r.stderr + r.stdout):
                continue
            with open(out) as f:
                text = f.read()
            lib = library_name(text)
            check(f"{base}: one library Nox<CamelName> ({lib})", lib and lib.startswith("Nox") and
                  text.count("\nlibrary ") == 1, lib)
            check(f"{base}: imports ./INoxCompute.sol and ./Nox.sol, pragma 0.8.28",
                  'from "./INoxCompute.sol";' in text and 'from "./Nox.sol";' in text
                  and "pragma solidity 0.8.28;" in text)
            r2 = generate(plugin, out + ".again")
            with open(out + ".again") as f:
                check(f"{base}: generating twice gives the same file", r2.returncode == 0 and f.read() == text)
            check(f"{base}: no temporary file left", not os.path.exists(out + ".tmp"))
            shutil.copy(out, os.path.join(srcs, lib + ".sol"))
            libs[lib] = text

        # ---- content ----
        mm = libs.get("NoxMinmax", "")
        fns = functions(mm)
        check("minmax: ids MIN_ID 64, MAX_ID 65, NEG_ID 66, REM_ID 67",
              all(f"uint16 internal constant {n}_ID = {i};" in mm
                  for n, i in [("MIN", 64), ("MAX", 65), ("NEG", 66), ("REM", 67)]))
        check("minmax: 12 overloads each of min, max, neg, rem (uint/int 8..256; not the wide types)",
              [sum(1 for f in fns if f[0] == n) for n in ["min", "max", "neg", "rem"]] == [12] * 4,
              [f[0] for f in fns])
        check("minmax: min(INoxCompute nox, euint64 a, euint64 b) returns (euint64)",
              ("min", [("euint64", "a"), ("euint64", "b")], ["euint64"]) in fns)
        body = mm[mm.find("function min(INoxCompute nox, euint64 a"):]
        body = body[:body.find("}")]
        check("minmax: min on euint64 unwraps, declares type 11, calls compute(MIN_ID), wraps",
              "ins_[0] = euint64.unwrap(a);" in body and "ins_[1] = euint64.unwrap(b);" in body
              and "types_[0] = 11; // uint64" in body and "nox.compute(MIN_ID, ins_, types_)" in body
              and "return euint64.wrap(outs_[0]);" in body, body)
        check("minmax: rem has bindings (its 8..256-bit implementation), so no 'No binding' line",
              "No binding" not in mm)
        check("minmax: eint8 neg(INoxCompute nox, eint8 value)", ("neg", [("eint8", "value")], ["eint8"]) in fns)

        bw = functions(libs.get("NoxBitwise", ""))
        check("bitwise: and/or/xor/not on ebool too (13 types each)",
              ("and", [("ebool", "a"), ("ebool", "b")], ["ebool"]) in bw and
              [sum(1 for f in bw if f[0] == n) for n in ["and", "or", "xor", "not"]] == [13] * 4)
        cast_fns = functions(libs.get("NoxCast", ""))
        check("cast: one function per (input, declared output) pair: 13 x 13, named castTo<Type>",
              len(cast_fns) == 169 and all(re.fullmatch(r"castTo(Ebool|Euint\d+|Eint\d+)", f[0]) for f in cast_fns),
              len(cast_fns))
        check("cast: castToEuint16(INoxCompute nox, euint8 value) returns (euint16), declaring type 5",
              ("castToEuint16", [("euint8", "value")], ["euint16"]) in cast_fns
              and "types_[0] = 5; // uint16" in libs["NoxCast"])
        ar = libs.get("NoxArithmetic", "")
        check("arithmetic: no functions; 'No binding: add (id 1): a protocol operation'",
              not functions(ar) and "No binding: add (id 1): a protocol operation (ids 0..63): use Nox.sol" in ar,
              ar[:2000])

        tp = libs.get("NoxTemplate", "")
        tf = functions(tp)
        check("template: AVERAGE_ID 1000, CLAMP_ID 1001",
              "uint16 internal constant AVERAGE_ID = 1000;" in tp and "uint16 internal constant CLAMP_ID = 1001;" in tp)
        check("template: clamp(INoxCompute nox, euint64 value, euint64 low, euint64 high) returns (euint64)",
              ("clamp", [("euint64", "value"), ("euint64", "low"), ("euint64", "high")], ["euint64"]) in tf)
        check("template: mul_div(INoxCompute nox, euint256 a, euint256 b, euint256 c) returns (euint256), MUL_DIV_ID 1002",
              ("mul_div", [("euint256", "a"), ("euint256", "b"), ("euint256", "c")], ["euint256"]) in tf
              and "uint16 internal constant MUL_DIV_ID = 1002;" in tp, [f for f in tf if f[0] == "mul_div"][:2])
        check("template: 12 average + 12 clamp + 6 mul_div (unsigned)", len(tf) == 30, len(tf))

        aw = libs.get("NoxAwkwardNamesV2", "")
        af = functions(aw)
        check("awkward: plugin name 'awkward-names_v2' -> library NoxAwkwardNamesV2", bool(aw))
        check("awkward: keyword operator/field names get '_', duplicates a number, a missing name input<i>",
              ("delete_", [("euint8", "nox_"), ("euint8", "nox_2"), ("ebool", "return_"), ("eaddress", "input3")],
               ["ebool", "euint8", "euint256"]) in af, [f for f in af if f[0].startswith("delete")])
        check("awkward: delete_ only on Nox.sol's types of T (uint8, int16; not uint24)",
              sorted(f[1][0][0] for f in af if f[0] == "delete_") == ["eint16", "euint8"])
        check("awkward: three outputs returned as a tuple, fixed output types 0 and 35",
              "return (ebool.wrap(outs_[0]), euint8.wrap(outs_[1]), euint256.wrap(outs_[2]));" in aw
              and "types_[0] = 0; // bool" in aw and "types_[2] = 35; // uint256" in aw)
        check("awkward: DELETE_ID = 2000 (the constant keeps the operator's own name)",
              "uint16 internal constant DELETE_ID = 2000;" in aw)
        widen = sorted((f[0], f[1][0][0]) for f in af if f[0].startswith("widen"))
        check("awkward: caller-bound output type -> widenTo<Type> per (input, output) type, 2 x 3 (no uint512)",
              widen == sorted((f"widenTo{o}", i) for o in ["Ebool", "Eaddress", "Euint64"] for i in ["euint8", "eint16"]),
              widen)
        check("awkward: a parameter named like its function is renamed (widen_)",
              all(f[1][0][1] == "widen_" for f in af if f[0].startswith("widen")))
        check("awkward: no bindings for wide_only, constant (no inputs) and the protocol's add, each said once",
              "wide_only (id 2002): an input type Nox.sol does not define" in aw
              and "constant (id 2003): no inputs" in aw and "add (id 1): a protocol operation" in aw
              and "function wide_only" not in aw and "function constant" not in aw
              and "CONSTANT_ID" not in aw and aw.count("add (id 1)") == 1)

        # ---- compile: every library and a harness calling every function ----
        for lib, text in libs.items():
            with open(os.path.join(srcs, f"Use{lib}.sol"), "w") as f:
                f.write(harness(lib, functions(text)))
        files = [os.path.join(srcs, f) for f in sorted(os.listdir(srcs))]
        r = run(NODE, os.path.join(ROOT, "contracts", "build.js"), "--out", os.path.join(work, "out"),
                "--include", srcs, *files)
        check(f"solc compiles the {len(libs)} generated libraries and their harnesses "
              f"({sum(len(functions(t)) for t in libs.values())} functions called)", r.returncode == 0,
              r.stderr[-4000:])
        errs = [ln for ln in r.stderr.splitlines() if re.match(r"(Error|Warning)", ln)
                and "tstore" not in ln and "code size" not in ln.lower() and "transient storage" not in ln.lower()]
        check("solc: no warning about the generated code (shadowing, unused, ...)",
              not [e for e in errs if "Warning" in e and "exceeds" not in e], errs)
        for lib in libs:
            check(f"harness Use{lib} has bytecode", os.path.exists(os.path.join(work, "out", f"Use{lib}.json")))

        # ---- errors and --check ----
        out = os.path.join(work, "broken.sol")
        if os.path.exists(BROKEN):
            r = generate(BROKEN, out)
            check("a plugin with descriptor problems: exit 1, the problems on stderr, no file",
                  r.returncode == 1 and "PROBLEM" in r.stderr and not os.path.exists(out), r.stderr)
        r = generate(os.path.join(work, "nothere.so"), out)
        check("a missing plugin: exit 2", r.returncode == 2 and not os.path.exists(out), r.stderr)
        r = run(CHECKER, BUILTIN[0], "--check")
        check("--check without --solidity: exit 2", r.returncode == 2, r.stderr)
        r = run(CHECKER, BUILTIN[0], "--solidity")
        check("--solidity without a file: exit 2", r.returncode == 2, r.stderr)
        r = run(CHECKER, "--help")
        check("--help documents --solidity and --check", r.returncode == 0 and "--solidity OUT.sol" in r.stdout
              and "--check" in r.stdout and "evaluation is skipped" in r.stdout, r.stdout)
        r = run(CHECKER, "--solidity", os.path.join(work, "x", "y", "z.sol"), TEMPLATE)
        check("an unwritable output path: exit 1", r.returncode == 1 and "z.sol" in r.stderr, r.stderr)
        out = os.path.join(work, "checked.sol")
        r = run(CHECKER, "--solidity", out, TEMPLATE, "--check", "--iterations", "8")
        check("--solidity --check: the full report (evaluations, CLEAN), exit 0, the file written",
              r.returncode == 0 and "CLEAN" in r.stdout and "evaluations" in r.stdout and os.path.exists(out)
              and open(out).read() == libs.get("NoxTemplate"), r.stdout[-1500:] + r.stderr)
        r = run(CHECKER, "--solidity", out + "2", TEMPLATE)
        check("--solidity alone: no evaluation report", r.returncode == 0 and "evaluations" not in r.stdout
              and "CLEAN" not in r.stdout, r.stdout)
    finally:
        status = noxtest.summary()
        if status == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return status


if __name__ == "__main__":
    sys.exit(main())
