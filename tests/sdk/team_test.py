#!/usr/bin/python3
"""[plugin-dx] acceptance: what an outside team does, from installed files only.

usage: team_test.py BUILD_DIR       (NOX_CAST: the pinned cast; the pinned solc is build/tools')

1. `cmake --install BUILD_DIR --prefix TMP/prefix`: executables, plugins, SDK headers, template, Solidity.
2. The team copies TMP/prefix/share/nox/plugin-template and renames it as its README says (to `ratios`),
   writes a fourth operator, `is_in_range(x, lo, hi) -> bool`, with nox/ctint.h, builds it against the
   installed SDK (pkg-config) and runs its ctest (CUnit, nox-plugin-check, nox-plugin-check --ctime).
3. `nox-plugin-check --ctime --config share/nox/operators.yaml`: clean, no collision; the same operator
   written with an `if` is caught by --ctime, with the place.
4. `nox-bench eval --config` on the team's operators file: the team's operators measured, columns aligned.
5. Bindings (`nox-plugin-check --solidity`), an app contract compiled with the pinned solc against
   share/nox/solidity (no copy), deployed with cast.
6. On a devnet (the installed binaries): `scripts/devnet.sh reload-operators team.yaml`, a user encrypts
   an input for the app (noxctl encrypt), sends the transaction; `noxctl tx` finds the result handles,
   `noxctl wait`, and a viewer the app granted decrypts the right values (noxctl decrypt); a revert is
   decoded by `noxctl decode-error`.
Ends with "N passed, M failed".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import e2elib  # noqa: E402
from e2elib import cast, check  # noqa: E402

if len(sys.argv) != 2:
    print("usage: team_test.py BUILD_DIR", file=sys.stderr)
    sys.exit(2)
BUILD = os.path.abspath(sys.argv[1])
SOLC = os.path.join(ROOT, "build", "tools", "node_modules", "solc", "solc.js")
IS_IN_RANGE_ID = 1003

# The team's operator, appended to ratios.c: constant time through nox/ctint.h (the type is public, so the
# signed/unsigned choice may branch; the values never do).
IS_IN_RANGE_C = r"""
/* ---- is_in_range: the team's own operator ----------------------------------- */
#include <nox/ctint.h>

static int eval_is_in_range(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned bits = nox_type_bits(in[0].type);
    uint64_t below, above;
    if (nox_type_is_signed(in[0].type)) {
        below = nox_ct_slt(in[0].limb, in[1].limb, bits);
        above = nox_ct_slt(in[2].limb, in[0].limb, bits);
    } else {
        below = nox_ct_lt(in[0].limb, in[1].limb, bits);
        above = nox_ct_lt(in[2].limb, in[0].limb, bits);
    }
    out[0].limb[0] = 1 ^ (below | above);
    return 0;
}

static int register_is_in_range(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_operator op;
    memset(&op, 0, sizeof op);
    op.struct_size = sizeof op;
    op.name = "is_in_range";
    op.id = %d;
    op.n_inputs = 3;
    op.n_outputs = 1;
    op.inputs[0] = op.inputs[1] = op.inputs[2] = NOX_SLOT_VAR(0);
    op.outputs[0] = NOX_TYPE_BOOL;
    op.input_names[0] = "x";
    op.input_names[1] = "lo";
    op.input_names[2] = "hi";
    op.output_names[0] = "inside";
    nox_typeset_add_range(&op.typevars[0], NOX_TYPE_UINT8, NOX_TYPE_INT256);
    op.flags = NOX_OP_CONSTANT_TIME;
    op.eval = eval_is_in_range;
    op.summary = "lo <= x <= hi";
    return host->register_operator(ctx, &op);
}
""" % IS_IN_RANGE_ID

# The same comparison the way a hurried team writes it: an early exit on the first differing limb.
LEAKY_C = r"""
static uint64_t leaky_lt(const uint64_t *a, const uint64_t *b, unsigned limbs) {
    for (unsigned i = limbs; i-- > 0;)
        if (a[i] != b[i]) return a[i] < b[i];
    return 0;
}
#define nox_ct_lt(a, b, bits) leaky_lt((a), (b), ((bits) + 63) / 64)
"""

APP_SOL = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";
import {Nox, ebool, euint64, externalEuint64} from "./Nox.sol";
import {NoxRatios} from "./NoxRatios.sol";

/// A team's app: is a user's encrypted amount within a public band, and what is it scaled by 3/2?
contract BandCheck {
    using Nox for INoxCompute;
    using NoxRatios for INoxCompute;

    INoxCompute public immutable nox;

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    function check(externalEuint64 amount, bytes calldata proof, uint64 lo, uint64 hi, address auditor)
        external
        returns (ebool inside, euint64 scaled)
    {
        euint64 x = nox.fromExternal(amount, msg.sender, proof);
        inside = nox.is_in_range(x, nox.asEuint64(lo), nox.asEuint64(hi));
        scaled = nox.mul_div(x, nox.asEuint64(3), nox.asEuint64(2));
        nox.addViewer(inside, auditor);      // the auditor may decrypt both results
        nox.addViewer(scaled, auditor);
        nox.allow(inside, msg.sender);       // the user may use and decrypt them
        nox.allow(scaled, msg.sender);
    }
}
"""


def run(name, cmd, cwd=None, env=None, timeout=600, want=0):
    """Runs cmd; a check that it exits `want`; returns the CompletedProcess."""
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    check(f"{name} (exit {want})", r.returncode == want, f"{' '.join(cmd)} -> {r.returncode}\n{r.stdout[-3000:]}\n"
                                                          f"{r.stderr[-3000:]}")
    return r


def readme_rename_commands(readme):
    """The copy-and-rename commands of the template's README (its first sh block that copies the template)."""
    text = open(readme).read()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        if "plugin-template" in block and "cp -r" in block:
            return block
    raise RuntimeError(f"{readme}: no sh block that copies the plugin template")


def build_team_plugin(prefix, work, env):
    """Steps 2-3: the team's copy of the template, its operator, its build, its checks. Returns ratios.so."""
    team = os.path.join(work, "ratios")
    block = readme_rename_commands(os.path.join(prefix, "share", "nox", "plugin-template", "README.md"))
    # the README's commands, with its example paths pointing at this prefix and this work directory
    script = block.replace("/opt/nox", prefix).replace("~/src/ratios", team)
    r = run("the README's copy-and-rename commands", ["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env)
    if r.returncode != 0:
        return None
    left = subprocess.run(["grep", "-ril", "template", "."], cwd=team, capture_output=True, text=True).stdout.split()
    check("after the documented rename no file of the copy says 'template'", not left, left)
    src = os.path.join(team, "ratios.c")
    text = open(src).read()
    m = re.search(r"static int ratios_init\(const nox_host \*host, nox_plugin_ctx \*ctx\) \{.*?\n    return 0;\n\}",
                  text, re.S)
    if not check("ratios.c has ratios_init ending in `return 0;`", m, text[-1500:]):
        return None
    init = m.group(0)
    text = text.replace(init, init.replace("\n    return 0;\n}",
                                           "\n    if (register_is_in_range(host, ctx) != 0) return -1;\n    return 0;\n}"))
    text = text.replace("static int ratios_init(", IS_IN_RANGE_C + "\nstatic int ratios_init(", 1)
    open(src, "w").write(text)
    # its CUnit test counts the operators the plugin registers: one more now
    test_src = os.path.join(team, "test_ratios.c")
    ttext = open(test_src).read()
    check("test_ratios.c asserts the number of operators (3)", "CU_ASSERT_EQUAL(registry.n_ops, 3);" in ttext)
    open(test_src, "w").write(ttext.replace("CU_ASSERT_EQUAL(registry.n_ops, 3);", "CU_ASSERT_EQUAL(registry.n_ops, 4);"))
    run("the team's plugin configures against the installed SDK (pkg-config)",
        ["cmake", "-S", team, "-B", os.path.join(team, "build"), "-DCMAKE_BUILD_TYPE=Release"], env=env)
    r = run("the team's plugin builds (-Werror, -O2 -Wmaybe-uninitialized)", ["cmake", "--build",
                                                                             os.path.join(team, "build")], env=env)
    so = os.path.join(team, "build", "ratios.so")
    if r.returncode != 0 or not os.path.isfile(so):
        return None
    r = run("the team's ctest (CUnit, nox-plugin-check, nox-plugin-check --ctime)",
            ["ctest", "--test-dir", os.path.join(team, "build"), "--output-on-failure"], env=env)
    check("its ctest ran the checker with --ctime", "plugin_check_ctime" in r.stdout, r.stdout[-1500:])

    checker = os.path.join(prefix, "bin", "nox-plugin-check")
    builtins = os.path.join(prefix, "share", "nox", "operators.yaml")
    r = run("nox-plugin-check --ctime --config share/nox/operators.yaml: clean",
            [checker, so, "--ctime", "--iterations", "32", "--config", builtins], env=env)
    check("is_in_range is constant time on its 64 types", re.search(
        r"is_in_range +id 1003 +ok on 64 type combinations", r.stdout), r.stdout[-2500:])
    check("mul_div is constant time too", re.search(r"mul_div +id 1002 +ok on \d+ type combinations", r.stdout),
          r.stdout[-2500:])

    # the same operator written with an `if`: --ctime catches it and says where and what to do
    leaky_dir = os.path.join(work, "leaky")
    shutil.copytree(team, leaky_dir, ignore=shutil.ignore_patterns("build"))
    leaky_src = os.path.join(leaky_dir, "ratios.c")
    text = open(leaky_src).read().replace("#include <nox/ctint.h>\n", "#include <nox/ctint.h>\n" + LEAKY_C, 1)
    open(leaky_src, "w").write(text)
    run("the leaky variant builds", ["cmake", "-S", leaky_dir, "-B", os.path.join(leaky_dir, "build"),
                                     "-DRATIOS_BUILD_TESTS=OFF"], env=env)
    run("the leaky variant builds", ["cmake", "--build", os.path.join(leaky_dir, "build")], env=env)
    r = run("nox-plugin-check --ctime on the leaky is_in_range: exit 1",
            [checker, os.path.join(leaky_dir, "build", "ratios.so"), "--ctime", "--iterations", "8"], env=env, want=1)
    check("--ctime names the operator, the types, the branch and the fix",
          re.search(r"is_in_range +id 1003 +LEAK on 32 of 64 type combinations", r.stdout)
          and "a branch depends on a secret input, at leaky_lt" in r.stdout and "(on uint8, uint16," in r.stdout
          and "fix: choose with masks" in r.stdout, r.stdout[-2500:])
    return so


def team_operators_file(prefix, so, work):
    """The deployment's operators file, copied, plus the team's plugin."""
    path = os.path.join(work, "team-operators.yaml")
    text = open(os.path.join(prefix, "share", "nox", "operators.yaml")).read()
    with open(path, "w") as f:
        f.write(text + f"  - path: {so}\n    operators: [mul_div, is_in_range]\n")
    return path


def benchmark(prefix, yaml, env):
    r = run("nox-bench eval --config (the team's file) --type uint64", [os.path.join(prefix, "bin", "nox-bench"),
            "eval", "--config", yaml, "--type", "uint64", "--seconds", "0.02"], env=env)
    rows = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith("#")]
    ours = [ln for ln in rows if ln.split()[0] in ("mul_div", "is_in_range")]
    check("nox-bench eval measures the team's operators", len(ours) == 2 and all(ln.split()[2] == "ratios"
                                                                                 for ln in ours), r.stdout[-2000:])
    cols = {ln.index(ln.split()[3]) + len(ln.split()[3]) for ln in rows if len(ln.split()) >= 4}
    check("the eval table's columns stay aligned with is_in_range's long name", len(cols) == 1, rows[:6])


def compile_app(prefix, so, work, env):
    app = os.path.join(work, "app")
    os.makedirs(app)
    checker = os.path.join(prefix, "bin", "nox-plugin-check")
    run("nox-plugin-check --solidity NoxRatios.sol", [checker, "--solidity", os.path.join(app, "NoxRatios.sol"), so],
        env=env)
    open(os.path.join(app, "BandCheck.sol"), "w").write(APP_SOL)
    r = run("the app compiles with the pinned solc against share/nox/solidity",
            ["node", SOLC, "--bin", "--abi", "--base-path", ".", "--include-path",
             os.path.join(prefix, "share", "nox", "solidity"), "-o", "out", "BandCheck.sol"], cwd=app, env=env)
    binf = os.path.join(app, "out", "BandCheck_sol_BandCheck.bin")
    return open(binf).read().strip() if r.returncode == 0 and os.path.isfile(binf) else None


def on_devnet(devnet, work, prefix, yaml, bytecode):
    env = {k: v for k, v in os.environ.items()}
    env.update(devnet.proc_env)
    r = run("scripts/devnet.sh reload-operators team-operators.yaml", [e2elib.DEVNET, "reload-operators", yaml],
            env=env, timeout=300)
    check("reload-operators says it added mul_div and is_in_range", "mul_div" in r.stdout and "is_in_range" in
          r.stdout and "added" in r.stdout, r.stdout[-2000:])
    rpc, compute = devnet["NOX_RPC_URL"], devnet["NOX_COMPUTE_ADDRESS"]
    alice_key = open(devnet["NOX_ALICE_KEY"]).read().strip()
    info = cast("call", compute, "operatorInfo(uint16)(uint8,uint8,bool,bool)", IS_IN_RANGE_ID, "--rpc-url", rpc).split()
    check("is_in_range is registered in NoxCompute (3 -> 1, enabled)", info == ["3", "1", "true", "true"], info)
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice_key, "--create",
                              bytecode + cast("abi-encode", "constructor(address)", compute)[2:]))
    app = receipt.get("contractAddress", "").lower()
    if not check("the app deploys", receipt.get("status") == "0x1" and app, receipt):
        return
    ctl = e2elib.Noxctl(os.path.join(prefix, "bin", "noxctl"), work, os.path.join(devnet.dir, "env"))
    alice, bob = devnet["NOX_ALICE_ADDRESS"], devnet["NOX_BOB_ADDRESS"]
    enc, r = ctl.json("encrypt", "--type", "uint64", "--value", "42", "--owner", alice, "--app", app)
    if not check("noxctl encrypt 42 for alice and the app", enc, r.stderr):
        return
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice_key, app,
                              "check(bytes32,bytes,uint64,uint64,address)", enc["handle"], enc["proof"], 10, 50, bob))
    if not check("alice's transaction is mined", receipt.get("status") == "0x1", receipt):
        return
    doc, r = ctl.json("tx", receipt["transactionHash"])
    computes = [e for e in (doc or {}).get("events", []) if e.get("name") == "Compute"]
    by_op = {e.get("operator"): e for e in computes}
    if not check("noxctl tx lists the two Compute events, named is_in_range and mul_div",
                 set(by_op) == {"is_in_range", "mul_div"}, (r.stdout + r.stderr)[-2500:]):
        return
    inside = by_op["is_in_range"]["outputs"][0]
    scaled = by_op["mul_div"]["outputs"][0]
    check("is_in_range's output is a bool handle, mul_div's a uint64", (inside["type"], scaled["type"]) ==
          ("bool", "uint64"), (inside, scaled))
    for h in (inside["handle"], scaled["handle"]):
        r = ctl("wait", h, "--timeout", "60")
        check("noxctl wait: stored", r.returncode == 0, r.stdout + r.stderr)
    for who, key in (("bob (a viewer the app added)", devnet["NOX_BOB_KEY"]), ("alice", devnet["NOX_ALICE_KEY"])):
        got, r = ctl.json("decrypt", inside["handle"], "--key", key)
        check(f"{who} decrypts is_in_range(42, 10, 50) = true", got and got.get("value") == "true",
              got or r.stderr)
        got, r = ctl.json("decrypt", scaled["handle"], "--key", key)
        check(f"{who} decrypts mul_div(42, 3, 2) = 63", got and got.get("value") == "63", got or r.stderr)
    got, r = ctl.json("decrypt", inside["handle"], "--key", devnet["NOX_OWNER_KEY"])
    check("the devnet's owner, never granted, cannot decrypt (the Gateway refuses: ACL)",
          got is None and r.returncode != 0 and "is not a viewer of" in r.stderr, r.stdout + r.stderr)
    # a revert, decoded: bob presents alice's proof
    r = subprocess.run([e2elib.cast_path(), "call", "--rpc-url", rpc, "--private-key",
                        open(devnet["NOX_BOB_KEY"]).read().strip(), app, "check(bytes32,bytes,uint64,uint64,address)",
                        enc["handle"], enc["proof"], "10", "50", bob], capture_output=True, text=True, timeout=120)
    data = re.search(r'data: "(0x[0-9a-fA-F]+)"', r.stderr)
    if check("bob's call with alice's proof reverts with data", r.returncode != 0 and data, r.stderr[-1000:]):
        d = ctl("decode-error", data.group(1))
        check("noxctl decode-error names it: ProofOwnerMismatch(alice, bob)",
              d.returncode == 0 and d.stdout.strip().lower() == f"proofownermismatch({alice}, {bob})".lower(),
              d.stdout + d.stderr)
    e2elib.runner_clean(devnet)


def main():
    work = tempfile.mkdtemp(prefix="sdk-team-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
    prefix = os.path.join(work, "prefix")
    env["PKG_CONFIG_PATH"] = os.path.join(prefix, "lib", "pkgconfig")
    devnet = None
    try:
        r = run("cmake --install BUILD --prefix TMP/prefix", ["cmake", "--install", BUILD, "--prefix", prefix])
        if r.returncode != 0:
            return e2elib.noxtest.summary()
        for f in ("include/nox/plugin.h", "include/nox/ctint.h", "share/nox/solidity/Nox.sol",
                  "share/nox/solidity/INoxCompute.sol", "share/nox/operators.yaml"):
            check(f"installed: {f}", os.path.isfile(os.path.join(prefix, f)), f)
        so = build_team_plugin(prefix, work, env)
        if not so:
            return e2elib.noxtest.summary()
        yaml = team_operators_file(prefix, so, work)
        benchmark(prefix, yaml, env)
        bytecode = compile_app(prefix, so, work, env)
        if not bytecode:
            return e2elib.noxtest.summary()
        devnet = e2elib.Devnet(os.path.join(prefix, "bin"), work, NOX_DEVNET_KMS="1-of-1")
        devnet.up()
        on_devnet(devnet, work, prefix, yaml, bytecode)
    finally:
        if devnet:
            devnet.down()
        e2elib.noxtest.keep_or_remove(work, "the team's tree, the prefix, devnet state and logs")
    return e2elib.noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
