#!/usr/bin/python3
"""Failure isolation on a real devnet (label "security"): an operator that is enabled on-chain but missing from
the Runner's operators.yaml must not fail the other values of the transaction that calls it.

usage: isolation_test.py BIN_DIR        (NOX_CAST: the cast binary; NOX_NODE: node, for contracts/build.js)

The devnet (scripts/devnet.sh in a temporary directory) gets an operators.yaml without the minmax plugin's `min`
(NOX_DEVNET_OPERATORS: the Runner's and the Ingestor's), so `devnet up` does not register it; the test then
registers it on-chain with contracts/register_operators.py and a configuration that has it, as the owner would
who enables an operator before every Runner loads it. One transaction of NoxIsolationApp (tests/security/
NoxIsolationApp.sol, compiled here with the project's solc) computes s = a + b, m = min(a, b) (the missing
operator), t = m + b (consumes m) and d = s - b. The Ingestor, which does not know id 64 either, names the event
`operator_64` and still queues the transaction; the Runner stores s and d (decrypted by the user: right values) and
records m and t `failed`, with reasons naming the cause and the failed handle t derives from; the Runner's
metrics count the failed events by cause. Then no log of the devnet holds the test's plaintexts.
Ends with "N passed, M failed".
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2elib  # noqa: E402
from e2elib import cast, check, http  # noqa: E402

if len(sys.argv) != 2:
    print("usage: isolation_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
MIN_ID = 64
A, B = 918273645546372819, 6451827364  # distinctive (the log scan looks for them); s = A + B < 2^64
FULL_YAML = os.path.join(e2elib.ROOT, "config", "operators.yaml")


def operators_yaml(path, with_min):
    """config/operators.yaml with this build's plugins; with_min False: minmax without min."""
    libdir = os.path.normpath(os.path.join(BIN, "..", "lib", "nox"))
    with open(FULL_YAML) as f:
        text = f.read().replace("../build/lib/nox/", libdir + "/")
    if not with_min:
        text, n = re.subn(r"(minmax\.so\n\s+operators: \[)min, ", r"\1", text)
        if n != 1:
            raise RuntimeError("config/operators.yaml: cannot find the minmax plugin's operator list")
    with open(path, "w") as f:
        f.write(text)
    return path


def prepare(work):
    return {"NOX_DEVNET_OPERATORS": operators_yaml(os.path.join(work, "operators-without-min.yaml"), False)}


def compile_app(work):
    node = os.environ.get("NOX_NODE") or shutil.which("node")
    out = os.path.join(work, "app")
    r = subprocess.run([node, os.path.join(e2elib.ROOT, "contracts", "build.js"), "--out", out, "--include", HERE,
                        os.path.join(HERE, "NoxIsolationApp.sol")], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"build.js: {r.stdout}{r.stderr}")
    return json.load(open(os.path.join(out, "NoxIsolationApp.json")))["bytecode"]


def encrypt(devnet, app, value):
    body = {"value": "0x" + value.to_bytes(8, "big").hex(), "solidityType": "uint64",
            "owner": devnet["NOX_ALICE_ADDRESS"], "applicationContract": app, "chainId": int(devnet["NOX_CHAIN_ID"])}
    st, b, _ = http("POST", devnet["NOX_GATEWAY_URL"] + "/v0/secrets", json.dumps(body),
                    {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError(f"POST /v0/secrets: {st} {b}")
    return b["handle"], b["proof"]


def status(devnet, h):
    st, body, _ = http("GET", f"{devnet['NOX_GATEWAY_URL']}/v0/handles/{h}/status")
    return body if st == 200 else {"status": f"HTTP {st}"}


def wait_status(devnet, handles, want, timeout=60):
    deadline, got = time.time() + timeout, {}
    while time.time() < deadline:
        got = {h: status(devnet, h) for h in handles}
        if all(s.get("status") == want for s in got.values()):
            break
        time.sleep(0.3)
    return got


def metric(url, name):
    st, body, _ = http("GET", url + "/metrics")
    for ln in str(body).splitlines():
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    return None


def isolation(devnet, work):
    rpc, compute = devnet["NOX_RPC_URL"], devnet["NOX_COMPUTE_ADDRESS"]
    info = cast("call", compute, "operatorInfo(uint16)(uint8,uint8,bool,bool)", MIN_ID, "--rpc-url", rpc).split()
    if not check("devnet up did not register min (id 64): its operators.yaml lacks it", info[3:] == ["false"], info):
        return
    owner = open(devnet["NOX_OWNER_KEY"]).read().strip()
    r = subprocess.run([sys.executable, os.path.join(e2elib.ROOT, "contracts", "register_operators.py"), "--rpc-url",
                        rpc, "--private-key", owner, "--compute", compute, "--nox-eval", os.path.join(BIN, "nox-eval"),
                        "--config", operators_yaml(os.path.join(work, "operators-with-min.yaml"), True)],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "NOX_CAST": e2elib.cast_path()})
    check("register_operators.py registers min from a configuration that has it",
          r.returncode == 0 and re.search(r"^min\s+id=64\s+2->1\s+registered", r.stdout, re.M), r.stdout + r.stderr)
    info = cast("call", compute, "operatorInfo(uint16)(uint8,uint8,bool,bool)", MIN_ID, "--rpc-url", rpc).split()
    if not check("min (id 64) is now enabled on-chain, 2 inputs, 1 output", info == ["2", "1", "true", "true"], info):
        return

    alice = open(devnet["NOX_ALICE_KEY"]).read().strip()
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice, "--create",
                              compile_app(work) + cast("abi-encode", "constructor(address)", compute)[2:]))
    app = receipt["contractAddress"].lower()
    (ha, pa), (hb, pb) = encrypt(devnet, app, A), encrypt(devnet, app, B)
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice, app,
                              "run(uint16,bytes32,bytes,bytes32,bytes)", MIN_ID, ha, pa, hb, pb))
    topic = cast("keccak", "Computed(address,bytes32,bytes32,bytes32,bytes32)")
    data = next((lg["data"] for lg in receipt["logs"] if lg["topics"][0] == topic), None)
    if not check("one transaction: add, min (through compute), add consuming min's result, sub", data,
                 receipt.get("status")):
        return
    s, m, t, d = ("0x" + data[2 + 64 * i:66 + 64 * i] for i in range(4))
    tx = receipt["transactionHash"]

    stored = wait_status(devnet, [s, d], "stored")
    check("the ordinary operations of the transaction are stored", all(v.get("status") == "stored"
                                                                        for v in stored.values()), stored)
    failed = wait_status(devnet, [m, t], "failed")
    check("the call to the missing operator and the add consuming it end 'failed'",
          all(v.get("status") == "failed" for v in failed.values()), failed)
    rm, rt = failed.get(m, {}).get("reason", ""), failed.get(t, {}).get("reason", "")
    check("min's reason names the cause: operator id 64 is not enabled on this Runner (the Ingestor named it "
          "operator_64)", re.fullmatch(r"events\[\d+\]: unknown operator id 64 \(type operator_64\): not enabled on "
                                       r"this Runner", rm), rm)
    check("the consumer's reason names the failed handle it derives from and its event",
          re.fullmatch(rf"events\[\d+\] \(add\): derives from failed handle {m} \(events\[\d+\]\)", rt), rt)

    ctl = e2elib.Noxctl(os.path.join(BIN, "noxctl"), work, os.path.join(devnet.dir, "env"))
    for name, h, want in (("s = a + b", s, A + B), ("d = s - b", d, A)):
        out, r = ctl.json("decrypt", h, "--key", devnet["NOX_ALICE_KEY"])
        check(f"{name} decrypts to its value", out and out["value"] == str(want), out or r.stderr)
    r = ctl("wait", t, "--timeout", "10")
    check("noxctl wait on the derived handle: exit 1, showing why", r.returncode == 1 and "failed" in r.stderr and
          m in r.stderr, r.stderr)

    ingestor = devnet.log("ingestor")
    counts = re.findall(r"(\d+) transaction\(s\) published, (\d+) dead-lettered", ingestor)
    check("the Ingestor queued the transaction (an operator id it does not know dead-letters nothing)",
          counts and all(dead == "0" for _, dead in counts) and sum(int(p) for p, _ in counts) >= 2, ingestor[-1500:])
    runner = devnet.log("runner")
    lines = [ln for ln in runner.splitlines() if "dead-lettered" in ln]
    check("the Runner dead-lettered the transaction once, for inspection, saying 2 of its 4 events failed",
          len(lines) == 1 and tx[2:] in lines[0] and "2 of 4 event(s) failed (2 output handle(s) recorded failed, "
          "2 result(s) stored)" in lines[0], lines)
    runner_url = devnet["NOX_RUNNER_URL"]
    check("/metrics counts the failed events by cause (1 unknown operator, 1 dependency)",
          (metric(runner_url, "nox_runner_failed_events_unknown_operator_total"),
           metric(runner_url, "nox_runner_failed_events_dependency_total")) == (1, 1),
          (metric(runner_url, "nox_runner_failed_events_unknown_operator_total"),
           metric(runner_url, "nox_runner_failed_events_dependency_total")))
    check("the Runner logged no error", "ERROR" not in runner, runner[-1500:])

    r = devnet.down()
    check("devnet down", r.returncode == 0, r.stdout + r.stderr)
    secrets = {}
    for v, what in ((A, "a"), (B, "b"), (A + B, "s = a + b")):
        secrets[f"{what} in decimal"] = str(v)
        secrets[f"{what} in hex"] = "%x" % v
    files = [p for p in glob.glob(os.path.join(devnet.dir, "logs", "**", "*"), recursive=True) if os.path.isfile(p)]
    check("log scan: the devnet wrote the Runner's log", "runner.log" in {os.path.basename(p) for p in files}, files)
    for p in files:
        low = open(p, "rb").read().decode(errors="replace").lower()
        for name, sv in secrets.items():
            idx = low.find(sv)
            check(f"log scan: {name} not in {os.path.basename(p)}", idx < 0, low[max(0, idx - 100):idx + 60])


if __name__ == "__main__":
    sys.exit(e2elib.run_on_devnet(BIN, "isolation", isolation, prepare))
