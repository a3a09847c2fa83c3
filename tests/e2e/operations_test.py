#!/usr/bin/python3
"""Every NoxCompute operation over several types, end to end on a devnet of its own.

usage: operations_test.py BIN_DIR        (NOX_E2E_CONTRACTS_DIR: where NoxOpsApp.json is)

For each case Alice encrypts a, b (one type) and c (a bool) through the Gateway for NoxOpsApp
(tests/e2e/NoxOpsApp.sol), sends one transaction that runs all 19 operations on them (the token
operations on unsigned types only) and makes her a viewer of every result; the Ingestor and the
Runner compute; each result is decrypted with `noxctl decrypt` and compared with spec §5, computed
here independently of the engine. Ends with "N passed, M failed".
"""
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
from e2elib import cast, check, http  # noqa: E402

if len(sys.argv) != 2:
    print("usage: operations_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
ARTIFACTS = os.environ.get("NOX_E2E_CONTRACTS_DIR",
                           os.path.join(os.path.dirname(BIN), "tests", "e2e"))
TYPE_CODES = {"bool": 0}
TYPE_CODES.update({f"uint{8 * k}": 3 + k for k in range(1, 33)})
TYPE_CODES.update({f"int{8 * k}": 35 + k for k in range(1, 33)})
NAMES = ["add", "sub", "mul", "div", "safe_add.success", "safe_add.result", "safe_sub.success", "safe_sub.result",
         "safe_mul.success", "safe_mul.result", "safe_div.success", "safe_div.result", "select", "eq", "ne", "lt",
         "le", "gt", "ge", "plaintext_to_encrypted(42)", "add(add, plaintext_to_encrypted)",
         "transfer.success", "transfer.newBalanceFrom", "transfer.newBalanceTo",
         "mint.success", "mint.newBalanceTo", "mint.newTotalSupply",
         "burn.success", "burn.newBalanceFrom", "burn.newTotalSupply"]


def expected(typ, a, b, c):
    """Spec §5 for NoxOpsApp.run's outputs, in its order."""
    signed = typ.startswith("int")
    bits = int(typ[3:] if signed else typ[4:])
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def wrap(v):
        v %= 1 << bits
        return v - (1 << bits) if signed and v > hi else v

    def trunc_div(x, y):
        q = abs(x) // abs(y)
        return -q if (x < 0) != (y < 0) else q

    def safe(v):
        return (True, v) if lo <= v <= hi else (False, 0)

    if b == 0:
        div, safe_div = hi, (False, 0)
    elif signed and a == lo and b == -1:
        div, safe_div = lo, (False, 0)
    else:
        div = trunc_div(a, b)
        safe_div = (True, div)
    out = [wrap(a + b), wrap(a - b), wrap(a * b), div, *safe(a + b), *safe(a - b), *safe(a * b), *safe_div,
           a if c else b, a == b, a != b, a < b, a <= b, a > b, a >= b, 42, wrap(wrap(a + b) + 42)]
    if not signed:
        ok = a >= b and b + b <= hi                      # transfer(from a, to b, amount b)
        out += [ok, a - b, b + b] if ok else [False, a, b]
        ok = a + b <= hi                                 # mint(to a, amount b, supply a)
        out += [ok, a + b, a + b] if ok else [False, a, a]
        ok = a >= b                                      # burn(from a, amount b, supply a)
        out += [ok, a - b, a - b] if ok else [False, a, a]
    return out


def text(v):
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


U256 = (1 << 256) - 1
CASES = [  # (type, a, b, c): the worked examples of §5 and the edges of each family
    ("uint8", 200, 100, True),
    ("uint16", 65535, 1, False),
    ("uint32", 10, 0, True),
    ("uint64", 1000, 7, False),
    ("uint256", 1 << 255, (1 << 255) + 1, True),
    ("int8", -128, -1, False),
    ("int32", -7, 2, True),
    ("int256", (1 << 255) - 1, 1, False),
]


def encrypt(devnet, app, typ, value):
    """POST /v0/secrets: the value in its type's exact size (two's complement for intN), owner Alice."""
    bits = 8 if typ == "bool" else int(typ.lstrip("uint"))
    plain = (int(value) % (1 << bits)).to_bytes(bits // 8, "big")
    body = {"value": "0x" + plain.hex(), "solidityType": typ, "owner": devnet["NOX_ALICE_ADDRESS"],
            "applicationContract": app, "chainId": int(devnet["NOX_CHAIN_ID"])}
    st, b, _ = http("POST", devnet["NOX_GATEWAY_URL"] + "/v0/secrets", json.dumps(body),
                    {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError(f"POST /v0/secrets {typ}: {st} {b}")
    return b["handle"], b["proof"]


def computed_outputs(receipt, app):
    """The bytes32[] of NoxOpsApp's Computed event (data: uint8, offset, length, words)."""
    topic = cast("keccak", "Computed(address,uint8,bytes32[])")
    for log in receipt["logs"]:
        if log["address"].lower() == app and log["topics"][0] == topic:
            data = bytes.fromhex(log["data"][2:])
            n = int.from_bytes(data[64:96], "big")
            return ["0x" + data[96 + 32 * i:128 + 32 * i].hex() for i in range(n)]
    return None


def operations(devnet, work):
    rpc, alice = devnet["NOX_RPC_URL"], open(devnet["NOX_ALICE_KEY"]).read().strip()
    code = json.load(open(os.path.join(ARTIFACTS, "NoxOpsApp.json")))["bytecode"]
    receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice, "--create",
                              code + cast("abi-encode", "constructor(address)", devnet["NOX_COMPUTE_ADDRESS"])[2:]))
    app = receipt["contractAddress"].lower()
    ctl = e2elib.Noxctl(os.path.join(BIN, "noxctl"), work, os.path.join(devnet.dir, "env"))
    runs = []
    for typ, a, b, c in CASES:
        ha, pa = encrypt(devnet, app, typ, a)
        hb, pb = encrypt(devnet, app, typ, b)
        hc, pc = encrypt(devnet, app, "bool", c)
        token = not typ.startswith("int")
        receipt = json.loads(cast("send", "--json", "--rpc-url", rpc, "--private-key", alice, app,
                                  "run(uint8,bool,bytes32[3],bytes[3])", TYPE_CODES[typ], str(token).lower(),
                                  f"[{ha},{hb},{hc}]", f"[{pa},{pb},{pc}]"))
        outs = computed_outputs(receipt, app)
        want = expected(typ, a, b, c)
        if check(f"{typ}: the transaction emits {len(want)} result handles", outs and len(outs) == len(want),
                 receipt.get("status")):
            runs.append((typ, a, b, c, outs, want))
    every = [h for r in runs for h in r[4]]
    pending = e2elib.wait_stored(devnet["NOX_GATEWAY_URL"], every, timeout=120)
    check(f"all {len(every)} results of {len(runs)} transactions are stored", not pending, pending[:5])

    def decrypt(h):
        out, r = ctl.json("decrypt", h, "--key", devnet["NOX_ALICE_KEY"])
        return out["value"] if out else "error: " + r.stderr.strip()

    with ThreadPoolExecutor(max_workers=4) as pool:
        values = dict(zip(every, pool.map(decrypt, every)))
    for typ, a, b, c, outs, want in runs:
        for name, h, w in zip(NAMES, outs, want):
            got = values.get(h)
            check(f"{typ} a={a} b={b} c={c}: {name} = {text(w)}", got == text(w), f"got {got}")
    e2elib.runner_clean(devnet)


def main():
    return e2elib.run_on_devnet(BIN, "operations", operations)


if __name__ == "__main__":
    sys.exit(main())
