#!/usr/bin/python3
"""A new operator plugin end to end with no code change: YAML, generated bindings, the generic entry point.

usage: extend_test.py BIN_DIR TEMPLATE_SO     (NOX_E2E_CONTRACTS_DIR: where NoxExtendApp.json is)

The devnet's operators.yaml is config/operators.yaml plus the template plugin of plugins/template —
its only change. `scripts/devnet.sh up` registers every extension operator it loads in NoxCompute
(contracts/register_operators.py). NoxExtendApp (tests/e2e/NoxExtendApp.sol) calls min (the minmax
family) and average and clamp (the template) on euint64 through the Solidity libraries that
`nox-plugin-check --solidity` wrote, plus one min whose declared result type (uint8) the operator
cannot produce. The Ingestor names the Compute events from the YAML, the Runner runs them by id, the
results decrypt to the expected values, and the ill-typed one reverts on-chain with
NoMatchingImplementation (the registry holds the operators' signatures): nothing reaches the Runner,
nothing is dead-lettered. Ends with "N passed, M failed".
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
from e2elib import cast, check, http  # noqa: E402

if len(sys.argv) != 3:
    print("usage: extend_test.py BIN_DIR TEMPLATE_SO", file=sys.stderr)
    sys.exit(2)
BIN, TEMPLATE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ARTIFACTS = os.environ.get("NOX_E2E_CONTRACTS_DIR", os.path.join(os.path.dirname(BIN), "tests", "e2e"))
A, B = 1000, 37


def prepare(work):
    """config/operators.yaml with this build's plugins, plus the template plugin: YAML only."""
    libdir = os.path.normpath(os.path.join(BIN, "..", "lib", "nox"))
    with open(os.path.join(e2elib.ROOT, "config", "operators.yaml")) as f:
        text = f.read().replace("../build/lib/nox/", libdir + "/")
    path = os.path.join(work, "operators.yaml")
    with open(path, "w") as f:
        f.write(text + f"  - path: {TEMPLATE}          # a team's plugin: average, clamp (ids 1000, 1001)\n")
    return {"NOX_DEVNET_OPERATORS": path}


def encrypt(devnet, app, value):
    body = {"value": "0x" + value.to_bytes(8, "big").hex(), "solidityType": "uint64",
            "owner": devnet["NOX_ALICE_ADDRESS"], "applicationContract": app, "chainId": int(devnet["NOX_CHAIN_ID"])}
    st, b, _ = http("POST", devnet["NOX_GATEWAY_URL"] + "/v0/secrets", json.dumps(body),
                    {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError(f"POST /v0/secrets: {st} {b}")
    return b["handle"], b["proof"]


def extend(devnet, work):
    rpc, alice = devnet["NOX_RPC_URL"], open(devnet["NOX_ALICE_KEY"]).read().strip()
    compute = devnet["NOX_COMPUTE_ADDRESS"]
    for name, op_id, arity in (("min", 64, "2 1"), ("average", 1000, "2 1"), ("clamp", 1001, "3 1")):
        info = cast("call", compute, "operatorInfo(uint16)(uint8,uint8,bool,bool)", op_id, "--rpc-url", rpc).split()
        check(f"devnet up registered {name} (id {op_id}) from operators.yaml", info == arity.split() + ["true", "true"],
              info)
    code = json.load(open(os.path.join(ARTIFACTS, "NoxExtendApp.json")))["bytecode"]
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice, "--create",
                              code + cast("abi-encode", "constructor(address)", compute)[2:]))
    app = receipt["contractAddress"].lower()
    (ha, pa), (hb, pb) = encrypt(devnet, app, A), encrypt(devnet, app, B)
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice, app,
                              "run(bytes32,bytes,bytes32,bytes)", ha, pa, hb, pb))
    topic = cast("keccak", "Computed(address,bytes32,bytes32,bytes32)")
    data = next((lg["data"] for lg in receipt["logs"] if lg["topics"][0] == topic), None)
    if not check("the app's transaction went through the bindings", data, receipt.get("status")):
        return
    m, avg, clamped = ("0x" + data[2 + 64 * i:66 + 64 * i] for i in range(3))
    compute_topic = cast("keccak", "Compute(address,uint16,bytes32[],bytes32[])")
    check("NoxCompute emitted 3 Compute events",
          sum(lg["topics"][0] == compute_topic for lg in receipt["logs"]) == 3, receipt["logs"])
    hw, pw = encrypt(devnet, app, 5)
    r = e2elib.subprocess.run([e2elib.cast_path(), "call", "--rpc-url", rpc, "--private-key", alice, app,
                               "wrongType(bytes32,bytes)", hw, pw], capture_output=True, text=True, timeout=120)
    want = cast("calldata", "NoMatchingImplementation(uint16,uint8[],uint8[])", 64, "[11,11]", "[4]").lower()
    check("the ill-typed call (min of two uint64 declared uint8) reverts NoMatchingImplementation(64, [11, 11], [4])",
          r.returncode != 0 and f'data: "{want}"' in r.stderr.lower(), r.stdout + r.stderr)
    ctl = e2elib.Noxctl(os.path.join(BIN, "noxctl"), work, os.path.join(devnet.dir, "env"))
    for name, h, want in (("min", m, min(A, B)), ("average", avg, (A + B) // 2), ("clamp", clamped, B)):
        r = ctl("wait", h, "--timeout", "60")
        check(f"{name}: the Runner stored its result (noxctl wait)", r.returncode == 0, r.stderr)
        out, r = ctl.json("decrypt", h, "--key", devnet["NOX_ALICE_KEY"])
        check(f"{name}({A}, {B}) decrypts to {want}", out and out["value"] == str(want), out or r.stderr)
    check("nothing was dead-lettered", devnet.log("runner").count("dead-lettered") == 0, devnet.log("runner")[-1500:])


def main():
    return e2elib.run_on_devnet(BIN, "extend", extend, prepare)


if __name__ == "__main__":
    sys.exit(main())
