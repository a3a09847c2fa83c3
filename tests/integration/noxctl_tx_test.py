#!/usr/bin/python3
"""noxctl tx and the revert messages against a real devnet (scripts/devnet.sh, a 1-of-1 KMS, in a temporary
NOX_DEVNET_DIR with the binaries of this build):

  - a token mint and a transfer (noxctl token): `noxctl tx HASH --json` lists their Mint / Transfer event with
    the caller, the named input handles and the named, typed output handles the token command printed, the
    PlaintextToEncrypted and ACL events around them; after `noxctl wait` every output is "stored";
  - a Compute transaction (a probe contract compiled here: plaintextToEncrypted twice, compute(min), addViewer):
    the operator's id and name, inputs[i] = the PlaintextToEncrypted outputs, the result decrypts to the min;
  - reverted transactions sent with cast (the token's InvalidReceiver(address(0)), NoxCompute's
    UnknownOperator(999)): "reverted", the decoded error, exit 1; `noxctl token transfer` to address 0 names
    InvalidReceiver before sending; an unknown hash: exit 1; a malformed one: exit 2;
  - no Gateway configured: the statuses are skipped with a note.

usage: noxctl_tx_test.py BIN_DIR CAST      Ends with "N passed, M failed".
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import run  # noqa: E402

ROOT = noxtest.ROOT
DEVNET = os.path.join(ROOT, "scripts", "devnet.sh")
ZERO = "0x" + "00" * 20
HANDLE = re.compile(r"^0x[0-9a-f]{64}$")

PROBE = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INoxCompute} from "./INoxCompute.sol";

/// noxctl_tx_test.py: one transaction with two PlaintextToEncrypted, one Compute and one ViewerAdded.
contract NoxTxProbe {
    INoxCompute public immutable nox;

    constructor(INoxCompute nox_) {
        nox = nox_;
    }

    function run(uint16 operatorId, uint8 teeType, uint256 a, uint256 b) external returns (bytes32[] memory outputs) {
        bytes32[] memory inputs = new bytes32[](2);
        inputs[0] = nox.plaintextToEncrypted(bytes32(a), teeType);
        inputs[1] = nox.plaintextToEncrypted(bytes32(b), teeType);
        uint8[] memory types = new uint8[](1);
        types[0] = teeType;
        outputs = nox.compute(operatorId, inputs, types);
        nox.addViewer(outputs[0], msg.sender);
    }
}
"""


def check(name, ok, detail=""):
    """noxtest.check, returning whether it passed (a failed precondition skips what depends on it)."""
    ok = bool(ok)
    noxtest.check(name, ok, detail)
    return ok


def read_env(path):
    env = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            env[k] = shlex.split(v)[0] if v else v
    return env


class Ctl:
    """noxctl with the devnet's env file as $NOX_ENV and no other NOX_ variable."""

    def __init__(self, exe, env_file, cwd):
        self.exe, self.cwd = exe, cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
        self.env["NOX_ENV"] = env_file

    def __call__(self, *args, env_file=None):
        env = dict(self.env, NOX_ENV=env_file) if env_file else self.env
        return subprocess.run([self.exe, *args], capture_output=True, text=True, env=env, cwd=self.cwd, timeout=120)

    def json(self, *args, **kw):
        r = self(*args, "--json", **kw)
        try:
            return r, json.loads(r.stdout)
        except ValueError:
            return r, None


def events(doc, name):
    return [e for e in (doc or {}).get("events", []) if e.get("name") == name]


def outputs_of(doc):
    return [o for e in (doc or {}).get("events", []) for o in e.get("outputs", [])]


def wait_all(ctl, doc, what):
    handles = [o["handle"] for o in outputs_of(doc)]
    rs = [ctl("wait", h, "--timeout", "60") for h in handles]
    check(f"{what}: noxctl wait on each of its {len(handles)} outputs exits 0", handles and
          all(r.returncode == 0 for r in rs), [r.stderr for r in rs if r.returncode])


def cast_send(cast, env, key_file, *args):
    """cast send with a fixed gas limit (no estimate: a reverting call is mined); the receipt as a dict."""
    key = open(key_file).read().strip()
    r = run(cast, "send", "--rpc-url", env["NOX_RPC_URL"], "--private-key", key, "--gas-limit", "3000000", "--json",
            *args)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stderr[-2000:]}


def token_checks(ctl, env):
    alice, bob, token = env["NOX_ALICE_ADDRESS"], env["NOX_BOB_ADDRESS"], env["NOX_TOKEN_ADDRESS"].lower()
    # ---- a mint
    r, mint = ctl.json("token", "mint", "--to", alice, "--amount", "100", "--key", env["NOX_OWNER_KEY"])
    if not check("token mint exits 0", r.returncode == 0 and mint, r.stdout + r.stderr):
        return
    r, doc = ctl.json("tx", mint["txHash"])
    check("tx (mint) --json: exit 0, status success, its block", r.returncode == 0 and doc
          and (doc["tx"], doc["status"], doc["block"]) == (mint["txHash"], "success", mint["blockNumber"]),
          r.stdout + r.stderr)
    ev = events(doc, "Mint")
    if not check("tx (mint): one Mint event", len(ev) == 1, doc):
        return
    m = ev[0]
    check("Mint: the caller is the token", m.get("caller") == token, m)
    check("Mint: inputs balanceTo, amount, totalSupply (handles)",
          sorted(m["inputs"]) == ["amount", "balanceTo", "totalSupply"]
          and all(HANDLE.match(v) for v in m["inputs"].values()), m)
    check("Mint: outputs success (bool), newBalanceTo (uint64), newTotalSupply (uint64)",
          [(o["name"], o["type"]) for o in m["outputs"]]
          == [("success", "bool"), ("newBalanceTo", "uint64"), ("newTotalSupply", "uint64")], m)
    check("Mint: success and newBalanceTo are the handles `token mint` printed",
          m["outputs"][0]["handle"] == mint["success"] and m["outputs"][1]["handle"] == mint["balances"][alice],
          (m, mint))
    check("Mint: each output has a Gateway status", all(o["status"] in ("stored", "pending") for o in m["outputs"]), m)
    p2e = events(doc, "PlaintextToEncrypted")
    check("tx (mint): the amount's PlaintextToEncrypted (teeType 11 = uint64) made Mint's amount input",
          any(e["inputs"].get("teeType") == 11 and e["outputs"][0]["handle"] == m["inputs"]["amount"]
              and e["inputs"].get("value") == "0x" + "%064x" % 100 for e in p2e), p2e)
    check("tx (mint): ViewerAdded(alice) on her new balance",
          any(e["inputs"] == {"handle": mint["balances"][alice], "account": alice} for e in events(doc, "ViewerAdded")),
          doc)
    check("tx (mint): Allowed events (the token keeps its handles)", len(events(doc, "Allowed")) >= 1, doc)
    wait_all(ctl, doc, "mint")
    r, doc = ctl.json("tx", mint["txHash"])
    check("tx (mint) after wait: every output stored", outputs_of(doc)
          and all(o["status"] == "stored" for o in outputs_of(doc)), doc)
    r = ctl("tx", mint["txHash"])
    check("tx (mint) text: header, the Mint block, typed outputs with status",
          r.returncode == 0 and f"tx: {mint['txHash']}\n" in r.stdout and "status: success\n" in r.stdout
          and re.search(r"^event \d+: Mint \(log index \d+\)\n  caller: " + token + "\n", r.stdout, re.M)
          and f"  output success: {mint['success']} (bool) stored\n" in r.stdout
          and f"  output newBalanceTo: {mint['balances'][alice]} (uint64) stored\n" in r.stdout, r.stdout + r.stderr)
    print("---- noxctl tx (mint), text:\n" + r.stdout + "----")

    # ---- a transfer
    r, tr = ctl.json("token", "transfer", "--to", bob, "--amount", "30", "--key", env["NOX_ALICE_KEY"])
    if not check("token transfer exits 0", r.returncode == 0 and tr, r.stdout + r.stderr):
        return
    r, doc = ctl.json("tx", tr["txHash"])
    ev = events(doc, "Transfer")
    if not check("tx (transfer): exit 0, one Transfer event", r.returncode == 0 and len(ev) == 1, r.stdout + r.stderr):
        return
    t = ev[0]
    check("Transfer: caller the token; inputs balanceFrom, balanceTo, amount",
          t.get("caller") == token and sorted(t["inputs"]) == ["amount", "balanceFrom", "balanceTo"], t)
    check("Transfer: balanceFrom is alice's balance after the mint", t["inputs"]["balanceFrom"] == mint["balances"][alice],
          t)
    check("Transfer: outputs success, newBalanceFrom, newBalanceTo = what `token transfer` printed",
          [(o["name"], o["type"], o["handle"]) for o in t["outputs"]]
          == [("success", "bool", tr["success"]), ("newBalanceFrom", "uint64", tr["balances"][alice]),
              ("newBalanceTo", "uint64", tr["balances"][bob])], (t, tr))
    wait_all(ctl, doc, "transfer")
    r, doc = ctl.json("tx", tr["txHash"])
    check("tx (transfer) after wait: every output stored", outputs_of(doc)
          and all(o["status"] == "stored" for o in outputs_of(doc)), doc)


def compute_checks(ctl, env, cast, work):
    src = os.path.join(work, "probe", "NoxTxProbe.sol")
    os.makedirs(os.path.dirname(src))
    with open(src, "w") as f:
        f.write(PROBE)
    r = run(shutil.which("node") or "node", os.path.join(ROOT, "contracts", "build.js"), "--out",
            os.path.join(work, "probe"), src)
    if not check("the probe contract compiles", r.returncode == 0, r.stdout + r.stderr):
        return
    code = json.load(open(os.path.join(work, "probe", "NoxTxProbe.json")))["bytecode"]
    ctor = run(cast, "abi-encode", "f(address)", env["NOX_COMPUTE_ADDRESS"]).stdout.strip()[2:]
    d = cast_send(cast, env, env["NOX_ALICE_KEY"], "--create", code + ctor)
    probe = d.get("contractAddress")
    if not check("the probe deploys", d.get("status") == "0x1" and probe, d):
        return
    rc = cast_send(cast, env, env["NOX_ALICE_KEY"], probe, "run(uint16,uint8,uint256,uint256)", "64", "11", "7", "5")
    if not check("probe.run(min, uint64, 7, 5) mined", rc.get("status") == "0x1", rc):
        return
    r, doc = ctl.json("tx", rc["transactionHash"])
    ev = events(doc, "Compute")
    if not check("tx (compute): exit 0, one Compute event", r.returncode == 0 and len(ev) == 1, r.stdout + r.stderr):
        return
    c = ev[0]
    p2e = [e["outputs"][0]["handle"] for e in events(doc, "PlaintextToEncrypted")]
    check("Compute: operatorId 64, operator min, caller the probe",
          (c.get("operatorId"), c.get("operator"), c.get("caller")) == (64, "min", probe.lower()), c)
    # the name comes from the operators file the devnet loads (NOX_OPERATORS_CONFIG in its env file): one that
    # does not load leaves the id, and says why
    r2, doc2 = ctl.json("tx", rc["transactionHash"], "--operators", "/nonexistent/operators.yaml")
    c2 = events(doc2, "Compute")[0] if doc2 and events(doc2, "Compute") else {}
    check("tx --operators MISSING: exit 0, operatorId 64 without a name, operatorsNote says why",
          r2.returncode == 0 and c2.get("operatorId") == 64 and "operator" not in c2
          and "operator names unknown" in (doc2 or {}).get("operatorsNote", ""), (r2.stdout + r2.stderr)[-800:])
    check("Compute: inputs[0], inputs[1] = the two PlaintextToEncrypted outputs",
          c["inputs"] == {"inputs[0]": p2e[0], "inputs[1]": p2e[1]} if len(p2e) == 2 else False, (c, p2e))
    check("Compute: one output, outputs[0], uint64",
          [(o["name"], o["type"]) for o in c["outputs"]] == [("outputs[0]", "uint64")], c)
    wait_all(ctl, doc, "compute")
    r, doc = ctl.json("tx", rc["transactionHash"])
    check("tx (compute) after wait: every output stored", outputs_of(doc)
          and all(o["status"] == "stored" for o in outputs_of(doc)), doc)
    out = events(doc, "Compute")[0]["outputs"][0]["handle"] if events(doc, "Compute") else ""
    r = ctl("decrypt", out, "--key", env["NOX_ALICE_KEY"])
    check("Compute's output decrypts to min(7, 5) = 5", r.returncode == 0 and r.stdout.split()[-1:] == ["5"],
          r.stdout + r.stderr)
    r = ctl("tx", rc["transactionHash"])
    check("tx (compute) text: 'Compute operator 64 (min)', inputs[i], outputs[0]",
          re.search(r"^event \d+: Compute operator 64 \(min\) \(log index \d+\)$", r.stdout, re.M)
          and f"  input inputs[0]: {p2e[0] if p2e else '?'}\n" in r.stdout
          and f"  output outputs[0]: {out} (uint64) stored\n" in r.stdout, r.stdout)
    # no Gateway: the statuses are not looked up, and the output says so
    no_gw = os.path.join(work, "env-no-gateway")
    with open(no_gw, "w") as f:
        f.writelines(ln for ln in open(env["NOX_DEVNET_DIR"] + "/env") if "NOX_GATEWAY_URL" not in ln)
    r, doc = ctl.json("tx", rc["transactionHash"], env_file=no_gw)
    check("tx without a Gateway (--json): exit 0, statuses null, a note", r.returncode == 0 and doc and outputs_of(doc)
          and all(o["status"] is None for o in outputs_of(doc)) and "no Gateway configured" in doc.get("note", ""),
          r.stdout + r.stderr)
    r = ctl("tx", rc["transactionHash"], env_file=no_gw)
    check("tx without a Gateway (text): the note, outputs without status",
          "note: no Gateway configured" in r.stdout and f"  output outputs[0]: {out} (uint64)\n" in r.stdout, r.stdout)


def revert_checks(ctl, env, cast):
    rc = cast_send(cast, env, env["NOX_OWNER_KEY"], env["NOX_TOKEN_ADDRESS"], "mint(address,uint64)", ZERO, "5")
    if check("a token mint to address 0 is mined reverted (cast, no estimate)", rc.get("status") == "0x0", rc):
        h = rc["transactionHash"]
        r = ctl("tx", h)
        check("tx (reverted mint): exit 1, status reverted, InvalidReceiver(0x0…0)", r.returncode == 1
              and "status: reverted\n" in r.stdout and f"revert: InvalidReceiver({ZERO})\n" in r.stdout
              and f"transaction {h} reverted in block" in r.stderr, r.stdout + r.stderr)
        r, doc = ctl.json("tx", h)
        check("tx (reverted mint) --json: exit 1, revert reason and data, no events", r.returncode == 1 and doc
              and doc["status"] == "reverted" and doc["revert"]["reason"] == f"InvalidReceiver({ZERO})"
              and doc["revert"]["data"] == "0x9cfea583" + "00" * 32 and doc["events"] == [], r.stdout + r.stderr)
    rc = cast_send(cast, env, env["NOX_ALICE_KEY"], env["NOX_COMPUTE_ADDRESS"], "compute(uint16,bytes32[],uint8[])",
                   "999", "[]", "[]")
    if check("compute(999, [], []) is mined reverted", rc.get("status") == "0x0", rc):
        r = ctl("tx", rc["transactionHash"])
        check("tx (reverted compute): exit 1, UnknownOperator(999)", r.returncode == 1
              and "revert: UnknownOperator(999)\n" in r.stdout and "UnknownOperator(999)" in r.stderr,
              r.stdout + r.stderr)
    r = ctl("token", "transfer", "--to", ZERO, "--amount", "1", "--key", env["NOX_ALICE_KEY"])
    check("token transfer to address 0: exit 1, 'would revert: InvalidReceiver(0x0…0)'", r.returncode == 1
          and f"the transaction would revert: InvalidReceiver({ZERO})" in r.stderr, r.stderr)
    r = ctl("token", "mint", "--to", env["NOX_BOB_ADDRESS"], "--amount", "1", "--key", env["NOX_ALICE_KEY"])
    check("token mint by alice: exit 1 naming NotOwner(alice)", r.returncode == 1
          and f"NotOwner({env['NOX_ALICE_ADDRESS']})" in r.stderr, r.stderr)
    unknown = "0x" + "ab" * 32
    r = ctl("tx", unknown)
    check("tx of an unknown hash: exit 1, 'unknown transaction'", r.returncode == 1
          and f"unknown transaction {unknown}" in r.stderr and not r.stdout, r.stdout + r.stderr)
    r = ctl("tx", "0x" + "ab" * 31)
    check("tx of a malformed hash: exit 2", r.returncode == 2 and "TXHASH:" in r.stderr, r.stderr)


def main():
    bin_dir, cast = os.path.abspath(sys.argv[1]), sys.argv[2]
    work = tempfile.mkdtemp(prefix="nox-noxctl-tx-test-")
    d = os.path.join(work, "devnet")
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith("NOX_")}
    proc_env.update(NOX_DEVNET_DIR=d, NOX_BIN_DIR=bin_dir)
    try:
        r = subprocess.run([DEVNET, "up", "--kms", "1-of-1"], capture_output=True, text=True, env=proc_env,
                           timeout=600, stdin=subprocess.DEVNULL)
        if not check("devnet up", r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]):
            return
        env = read_env(os.path.join(d, "env"))
        env["NOX_DEVNET_DIR"] = d
        ctl = Ctl(os.path.join(bin_dir, "noxctl"), os.path.join(d, "env"), work)
        token_checks(ctl, env)
        compute_checks(ctl, env, cast, work)
        revert_checks(ctl, env, cast)
    finally:
        subprocess.run([DEVNET, "down"], capture_output=True, text=True, env=proc_env, timeout=300)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(noxtest.summary())
