#!/usr/bin/python3
"""NoxCompute refuses on-chain what the Runners could not process (label "security"), on a real devnet.

usage: chain_guards_test.py BIN_DIR        (NOX_CAST: the cast binary; NOX_NODE: node, for contracts/build.js)

An attacker contract (tests/security/NoxAttacker.sol, compiled here with the project's solc) holds tokens and, in
ONE transaction each:
  (a) transfers 1 token to Bob, then calls compute(66 /*neg*/, [a uint64], [bool]) — a type the engine refuses:
      the transaction reverts NoMatchingImplementation(66, [11], [0]) (decoded from the revert data);
  (b) transfers 1 token to Bob, then makes 1,030 plaintextToEncrypted: reverts TransactionBudgetExceeded(256);
  (c) makes 3,000 plaintextToEncrypted: reverts TransactionBudgetExceeded(256).
Each is also sent with a fixed gas limit (no estimate): mined, status 0, no NoxCompute log. Afterwards a normal
transfer Alice -> Bob lands and Bob decrypts the right sum (noxctl), the attacker's tokens did not move, and a
legitimate mint sent right after the attacks is `stored` (GET /v0/handles/{h}/status) within 10 s: the
Ingestor's checkpoint and the Runner kept going. Ends with "N passed, M failed".
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2elib  # noqa: E402
from e2elib import cast, check, http  # noqa: E402

if len(sys.argv) != 2:
    print("usage: chain_guards_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
NEG, T_BOOL, T_UINT64 = 66, 0, 11
BUDGET = 256
GAS = 29_000_000  # under anvil's default 30M block gas limit


def compile_attacker(work):
    node = os.environ.get("NOX_NODE") or shutil.which("node")
    out = os.path.join(work, "attacker")
    r = subprocess.run([node, os.path.join(e2elib.ROOT, "contracts", "build.js"), "--out", out, "--include", HERE,
                        os.path.join(HERE, "NoxAttacker.sol")], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"build.js: {r.stdout}{r.stderr}")
    return json.load(open(os.path.join(out, "NoxAttacker.json")))["bytecode"]


def encrypt(devnet, owner, app, value):
    body = {"value": "0x" + value.to_bytes(8, "big").hex(), "solidityType": "uint64", "owner": owner,
            "applicationContract": app, "chainId": int(devnet["NOX_CHAIN_ID"])}
    st, b, _ = http("POST", devnet["NOX_GATEWAY_URL"] + "/v0/secrets", json.dumps(body),
                    {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError(f"POST /v0/secrets: {st} {b}")
    return b["handle"], b["proof"]


def revert_data(rpc, key, to, sig, *args):
    """The revert data of an eth_call of the transaction (None when it does not revert)."""
    r = subprocess.run([e2elib.cast_path(), "call", "--rpc-url", rpc, "--private-key", key, "--gas-limit", str(GAS), to,
                        sig, *[str(a) for a in args]], capture_output=True, text=True, timeout=300)
    if r.returncode == 0:
        return None
    import re
    m = re.search(r'data: "(0x[0-9a-fA-F]*)"', r.stderr)
    return m.group(1).lower() if m else r.stderr.strip()


def send_anyway(rpc, key, to, sig, *args):
    """Sends with a fixed gas limit (no estimate, which would refuse): the mined receipt."""
    r = subprocess.run([e2elib.cast_path(), "send", "--json", "--rpc-url", rpc, "--private-key", key, "--gas-limit",
                        str(GAS), to, sig, *[str(a) for a in args]], capture_output=True, text=True, timeout=300)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"status": None, "error": r.stderr.strip()}


def nox_logs(receipt, compute):
    return [lg for lg in receipt.get("logs", []) if lg["address"].lower() == compute.lower()]


def status(devnet, h):
    st, body, _ = http("GET", f"{devnet['NOX_GATEWAY_URL']}/v0/handles/{h}/status")
    return body.get("status") if st == 200 else f"HTTP {st}"


def balance_handle(rpc, token, who):
    return cast("call", token, "balanceOf(address)(bytes32)", who, "--rpc-url", rpc)


def guards(devnet, work):
    rpc, compute, token = devnet["NOX_RPC_URL"], devnet["NOX_COMPUTE_ADDRESS"], devnet["NOX_TOKEN_ADDRESS"]
    key_files = {who: devnet[f"NOX_{who.upper()}_KEY"] for who in ("owner", "alice", "bob")}  # for noxctl
    keys = {who: open(path).read().strip() for who, path in key_files.items()}                 # for cast
    addrs = {who: cast("wallet", "address", "--private-key", k).lower() for who, k in keys.items()}
    ctl = e2elib.Noxctl(os.path.join(BIN, "noxctl"), work, os.path.join(devnet.dir, "env"))
    info = cast("call", compute, "operatorInfo(uint16)(uint8,uint8,bool,bool)", NEG, "--rpc-url", rpc).split()
    if not check("devnet up registered neg (id 66), enabled", info == ["1", "1", "true", "true"], info):
        return

    # the attacker contract, holding 50 tokens; Alice holds 1000 and has sent Bob 300
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", keys["alice"], "--create",
                              compile_attacker(work) + cast("abi-encode", "constructor(address,address)", compute,
                                                            token)[2:]))
    attacker = receipt["contractAddress"].lower()
    for to, amount in ((attacker, 50), (addrs["alice"], 1000)):
        r = ctl("token", "mint", "--to", to, "--amount", amount, "--key", key_files["owner"])
        check(f"mint {amount} to {to[:10]}…", r.returncode == 0, r.stdout + r.stderr)
    r = ctl("token", "transfer", "--to", addrs["bob"], "--amount", "300", "--key", key_files["alice"])
    check("Alice transfers 300 to Bob", r.returncode == 0, r.stdout + r.stderr)
    attacker_balance = balance_handle(rpc, token, attacker)
    bob_before = balance_handle(rpc, token, addrs["bob"])
    pending = e2elib.wait_stored(devnet["NOX_GATEWAY_URL"], [attacker_balance, bob_before], timeout=60)
    check("the attacker's and Bob's balances are stored before the attacks", not pending, pending)
    ko = keys["alice"]  # any funded account may send the attacker's transactions

    # (a) a transfer, then a call the engine refuses (neg declared bool)
    h, proof = encrypt(devnet, attacker, token, 1)
    args = ("transferThenCompute(address,bytes32,bytes,uint16,uint8)", addrs["bob"], h, proof, NEG, T_BOOL)
    want = cast("calldata", "NoMatchingImplementation(uint16,uint8[],uint8[])", NEG, f"[{T_UINT64}]",
                f"[{T_BOOL}]").lower()
    got = revert_data(rpc, ko, attacker, *args)
    check("(a) transfer + compute(66 neg, [uint64], [bool]) in one transaction: reverts "
          "NoMatchingImplementation(66, [11], [0])", got == want, f"got {got}, want {want}")
    rc = send_anyway(rpc, ko, attacker, *args)
    check("(a) sent anyway: mined with status 0, no NoxCompute event", rc.get("status") == "0x0"
          and not nox_logs(rc, compute), rc.get("status") or rc)
    okay_args = ("transferThenCompute(address,bytes32,bytes,uint16,uint8)", addrs["bob"], h, proof, NEG, T_UINT64)
    check("(a) the same transaction with the output declared uint64 would be accepted (eth_call)",
          revert_data(rpc, ko, attacker, *okay_args) is None)

    # (b) a transfer, then 1,030 events; (c) 3,000 events
    over = cast("calldata", "TransactionBudgetExceeded(uint256)", BUDGET).lower()
    h, proof = encrypt(devnet, attacker, token, 1)
    for label, call in [("(b) transfer + 1,030 plaintextToEncrypted",
                         ("transferThenFlood(address,bytes32,bytes,uint256)", addrs["bob"], h, proof, 1030)),
                        ("(c) 3,000 plaintextToEncrypted", ("flood(uint256)", 3000))]:
        got = revert_data(rpc, ko, attacker, *call)
        check(f"{label} in one transaction: reverts TransactionBudgetExceeded({BUDGET})", got == over,
              f"got {got}, want {over}")
        rc = send_anyway(rpc, ko, attacker, *call)
        check(f"{label} sent anyway: mined with status 0, no NoxCompute event", rc.get("status") == "0x0"
              and not nox_logs(rc, compute), rc.get("status") or rc)
    check("the budget's edge: flood(256) would be accepted, flood(257) not (eth_call)",
          revert_data(rpc, ko, attacker, "flood(uint256)", 256) is None
          and revert_data(rpc, ko, attacker, "flood(uint256)", 257) == over)

    # nothing moved; a legitimate mint right after is stored within 10 s; the token still works
    check("the attacker's balance handle did not change", balance_handle(rpc, token, attacker) == attacker_balance)
    check("Bob's balance handle did not change", balance_handle(rpc, token, addrs["bob"]) == bob_before)
    out, r = ctl.json("token", "mint", "--to", addrs["bob"], "--amount", "5", "--key", key_files["owner"])
    if check("a legitimate mint right after the attacks", out, r.stdout + r.stderr):
        started = time.time()
        handles = [out["success"], *out["balances"].values()]
        pending = e2elib.wait_stored(devnet["NOX_GATEWAY_URL"], handles, timeout=10)
        check(f"the mint's results are stored within 10 s ({time.time() - started:.1f} s): the Ingestor's "
              "checkpoint and the Runner kept going", not pending, {p: status(devnet, p) for p in pending})
    r = ctl("token", "transfer", "--to", addrs["bob"], "--amount", "200", "--key", key_files["alice"])
    check("a normal transfer Alice -> Bob of 200 lands", r.returncode == 0, r.stdout + r.stderr)
    bob_now = balance_handle(rpc, token, addrs["bob"])
    check("Bob's new balance is stored", not e2elib.wait_stored(devnet["NOX_GATEWAY_URL"], [bob_now], timeout=60))
    out, r = ctl.json("token", "balance", addrs["bob"], "--key", key_files["bob"])
    check("Bob decrypts 505 = 300 + 5 + 200 (none of the attacker's transfers landed)",
          out and out.get("value") == "505", r.stdout + r.stderr)
    out, r = ctl.json("token", "balance", addrs["alice"], "--key", key_files["alice"])
    check("Alice decrypts 500", out and out.get("value") == "500", r.stdout + r.stderr)
    runner_log = devnet.log("runner")
    check("the Runner dead-lettered nothing", "dead-lettered" not in runner_log, runner_log[-1500:])


if __name__ == "__main__":
    sys.exit(e2elib.run_on_devnet(BIN, "chain-guards", guards))
