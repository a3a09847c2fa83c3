#!/usr/bin/python3
"""NoxCompute's type rules = the engine's: what the contract accepts, the Runner can compute.

Usage: test_type_conformance.py CAST NOX_EVAL   ($NOX_CONTRACTS_DIR, $NOX_TEST_CONTRACTS_DIR, $NOX_PLUGIN_DIR)
Options (environment): NOX_CONFORMANCE_CASES (random cases per extension operator, default 10000),
NOX_CONFORMANCE_SEED (default: random, printed), NOX_TEST_VERBOSE=1.

The oracle is the real engine: `nox-eval --check-types` resolves every combination through
nox_op_resolve with the plugins of config/operators.yaml (this build's). The contract side is
NoxCompute on anvil, with the operators registered by contracts/register_operators.py from
`nox-eval --signatures`: NoxTypeHarness obtains a handle of every type code 0..255 inside one
eth_call per batch and tries each combination in a sub-call that reverts (so neither events nor
the per-transaction budget accumulate), reporting accepted/refused, the error, and the returned
handles' type bytes.

  * every extension operator of config/operators.yaml (ids 64..76): NOX_CONFORMANCE_CASES random
    (input types, output types) combinations, biased so that at least 20% are valid (a signature
    instantiated from the descriptors, as is or with one type changed; arities 0..8 now and then),
    plus every type code 0..255 at every position of a valid combination (bool, address,
    bytes32, the wide types 100..105, bytes/string 2/3, reserved 106..255 among them);
    The unary ones (neg, not, cast) also on every (input type, output type) pair, 65,536 each.
  * every protocol operation of spec §5 with operands (ids 1..18; their entry points derive the
    output types): the binary ones on every pair of input types among 0..105 and the reserved
    106, 200, 255; select, transfer, mint and burn on every triple among 0..105, 106 and 255.
    Accepted exactly when the engine's resolve accepts, and the returned handles' types = the
    engine's inferred output types.
Each refusal must be a type error (never NotAllowed, InvalidHandle, TransactionBudgetExceeded: the
harness would be wrong). Required: 0 differences. Ends with "N passed, M failed".
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import noxtest  # noqa: E402
from noxtest import run  # noqa: E402

if len(sys.argv) != 3:
    print("usage: test_type_conformance.py CAST NOX_EVAL", file=sys.stderr)
    sys.exit(2)
CAST, NOX_EVAL = sys.argv[1], sys.argv[2]
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(NOX_EVAL)))
ARTIFACTS = os.environ.get("NOX_CONTRACTS_DIR", os.path.join(BUILD, "contracts"))
TEST_ARTIFACTS = os.environ.get("NOX_TEST_CONTRACTS_DIR", os.path.join(BUILD, "tests", "contracts"))
PLUGIN_DIR = os.environ.get("NOX_PLUGIN_DIR", os.path.join(BUILD, "lib", "nox"))
CASES = int(os.environ.get("NOX_CONFORMANCE_CASES", "10000"))
SEED = int(os.environ.get("NOX_CONFORMANCE_SEED", str(random.randrange(1 << 32))))
VERBOSE = os.environ.get("NOX_TEST_VERBOSE") == "1"

CHAIN_ID = 31337
DEPLOYER_KEY = noxtest.ANVIL_KEYS[0]
GATEWAY_KEY = "0x" + "0a" * 32
OWNER = "0x" + "77" * 20
KMS_PUBLIC_KEY = "0x02" + "5c" * 32
GAS = 3_000_000_000            # one eth_call; anvil runs with this block gas limit
BATCH = 1500                   # cases per eth_call
RUN_SIG = "run(uint16,bytes32[2],address,bytes[2],bytes)"
EDGE_TYPES = [0, 1, 2, 3, 4, 5, 11, 35, 36, 43, 67, 68, 99, 100, 101, 102, 103, 104, 105, 106, 200, 255]
# §5 operations with operands: NoxCompute function -> operator id (spec §5)
PROTOCOL = {"add": 1, "sub": 2, "mul": 3, "div": 4, "safeAdd": 5, "safeSub": 6, "safeMul": 7, "safeDiv": 8,
            "select": 9, "eq": 10, "ne": 11, "lt": 12, "le": 13, "gt": 14, "ge": 15,
            "transfer": 16, "mint": 17, "burn": 18}
COMPUTE_REFUSALS = ["NoMatchingImplementation(uint16,uint8[],uint8[])", "UnsupportedType(uint8)",
                    "UnknownType(uint8)", "WrongArity(uint16,uint256,uint256)"]
PROTOCOL_REFUSALS = ["UnsupportedType(uint8)", "UnknownType(uint8)", "TypeMismatch(bytes32,bytes32)",
                     "NotBool(bytes32)", "NotUnsigned(bytes32)"]


def check(name, ok, detail=""):
    ok = bool(ok)
    noxtest.check(name, ok, detail, verbose=VERBOSE)
    return ok


def cast(*args):
    r = run(CAST, *[str(a) for a in args])
    if r.returncode != 0:
        raise RuntimeError(f"cast {' '.join(str(a) for a in args[:2])}: {r.stderr.strip()}")
    return r.stdout.strip()


def selector(sig):
    return bytes.fromhex(cast("sig", sig)[2:])


def rpc(url, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as f:
        reply = json.load(f)
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def members(typeset_hex):
    v = int(typeset_hex, 16)
    return [c for c in range(256) if v >> c & 1]


# ---- the cases ----------------------------------------------------------------------------------

class Case:
    """One combination: a compute call (op >= 64: inputs and declared outputs) or a §5 operation (inputs only)."""
    __slots__ = ("fn", "op", "ins", "outs")

    def __init__(self, fn, op, ins, outs):
        self.fn, self.op, self.ins, self.outs = fn, op, list(ins), list(outs)

    def engine_line(self, n_out):
        ins = ",".join(map(str, self.ins)) or "-"
        outs = ",".join(map(str, self.outs)) if self.fn == "compute" else ",".join(["?"] * n_out)
        return f"{self.op} {ins} -> {outs or '-'}"

    def encode(self, sel):
        if self.fn == "compute":
            return sel + self.op.to_bytes(2, "big") + bytes([len(self.ins), len(self.outs)]) + bytes(self.ins + self.outs)
        return sel + bytes([len(self.ins)]) + bytes(self.ins)

    def __repr__(self):
        return f"{self.fn}({self.op}, in {self.ins}, out {self.outs})"


def random_type(rng):
    return rng.choice(EDGE_TYPES) if rng.random() < 0.35 else rng.randrange(256)


def instantiate(rng, impl):
    """A valid (inputs, outputs) of one implementation: each variable bound to a member of its set."""
    bound = {}

    def pick(slot):
        if slot < 256:
            return slot
        k = slot - 256
        if k not in bound:
            bound[k] = rng.choice(members(impl["typeSets"][k]))
        return bound[k]
    return [pick(s) for s in impl["inputs"]], [pick(s) for s in impl["outputs"]]


def extension_cases(rng, op):
    """NOX_CONFORMANCE_CASES biased random cases, then every code at every position of a valid case."""
    impls, nin, nout = op["implementations"], op["nInputs"], op["nOutputs"]
    cases = []
    for _ in range(CASES):
        r = rng.random()
        if r < 0.45:
            ins, outs = instantiate(rng, rng.choice(impls))
        elif r < 0.65:
            ins, outs = instantiate(rng, rng.choice(impls))
            pos = rng.randrange(nin + nout)
            if pos < nin:
                ins[pos] = random_type(rng)
            else:
                outs[pos - nin] = random_type(rng)
        elif r < 0.70:
            ins = [random_type(rng) for _ in range(rng.randrange(9))]
            outs = [random_type(rng) for _ in range(rng.randrange(9))]
        else:
            ins = [random_type(rng) for _ in range(nin)]
            outs = [random_type(rng) for _ in range(nout)]
        cases.append(Case("compute", op["id"], ins, outs))
    if nin + nout == 2:  # neg, not, cast: every (input type, output type) pair
        cases += [Case("compute", op["id"], [a], [b]) for a in range(256) for b in range(256)]
        return cases
    for pos in range(nin + nout):
        for code in range(256):
            ins, outs = instantiate(rng, rng.choice(impls))
            if pos < nin:
                ins[pos] = code
            else:
                outs[pos - nin] = code
            cases.append(Case("compute", op["id"], ins, outs))
    return cases


def protocol_cases(fn, op_id, nin):
    """Every pair (triple) of input types among the known codes 0..105 and reserved ones."""
    if nin == 2:
        universe = list(range(106)) + [106, 200, 255]
        return [Case(fn, op_id, (a, b), ()) for a in universe for b in universe]
    universe = list(range(106)) + [106, 255]
    return [Case(fn, op_id, (a, b, c), ()) for a in universe for b in universe for c in universe]


# ---- the two sides ------------------------------------------------------------------------------

def engine_answers(config, cases, n_outputs):
    """nox-eval --check-types: per case (accepted, output types or the reason)."""
    text = "".join(c.engine_line(n_outputs.get(c.op, 0)) + "\n" for c in cases)
    r = subprocess.run([NOX_EVAL, "--config", config, "--check-types"], input=text, capture_output=True, text=True)
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != len(cases):
        raise RuntimeError(f"nox-eval --check-types: exit {r.returncode}, {len(lines)} answers for {len(cases)} lines: "
                           f"{r.stderr.strip() or [x for x in lines if x.startswith('error')][:3]}")
    out = []
    for line in lines:
        if line.startswith("ok "):
            out.append((True, [int(x) for x in line[3:].split(",")]))
        elif line.startswith("refused: "):
            out.append((False, line[9:]))
        else:
            raise RuntimeError(f"nox-eval --check-types: unexpected answer {line!r}")
    return out


class Contract:
    def __init__(self, url, harness, cast_id, dynamic, proofs, selectors):
        self.url, self.harness, self.cast_id = url, harness, cast_id
        self.dynamic, self.proofs, self.selectors = dynamic, proofs, selectors
        self.calls = 0

    def answers(self, cases):
        """Per case (accepted, output types or the error selector), BATCH cases per eth_call."""
        out = []
        for at in range(0, len(cases), BATCH):
            batch = cases[at:at + BATCH]
            blob = b"".join(c.encode(self.selectors[c.fn]) for c in batch)
            data = cast("calldata", RUN_SIG, self.cast_id, f"[{self.dynamic[0]},{self.dynamic[1]}]", OWNER,
                        f"[{self.proofs[0]},{self.proofs[1]}]", "0x" + blob.hex())
            call = {"from": noxtest_address(), "to": self.harness, "data": data, "gas": hex(GAS)}
            ret = bytes.fromhex(rpc(self.url, "eth_call", [call, "latest"])[2:])
            self.calls += 1
            length = int.from_bytes(ret[32:64], "big")
            res = ret[64:64 + length]
            i = 0
            for _ in batch:
                accepted, err, n = res[i] == 1, res[i + 1:i + 5], res[i + 5]
                types = list(res[i + 6:i + 6 + n])
                i += 6 + n
                out.append((True, types) if accepted else (False, "0x" + err.hex()))
            if i != len(res):
                raise RuntimeError(f"harness results: {len(res)} bytes, parsed {i}")
        return out


_DEPLOYER = []


def noxtest_address():
    if not _DEPLOYER:
        _DEPLOYER.append(cast("wallet", "address", "--private-key", DEPLOYER_KEY))
    return _DEPLOYER[0]


def compare(label, cases, engine, contract, allowed_errors, error_names):
    """Checks every case; returns (cases, valid, differences)."""
    diffs, bad_errors, valid = [], [], 0
    refusals = {}
    for c, (e_ok, e_val), (k_ok, k_val) in zip(cases, engine, contract):
        valid += e_ok
        if e_ok != k_ok or (e_ok and c.fn != "compute" and e_val != k_val):
            diffs.append(f"{c}: engine {'ok ' + str(e_val) if e_ok else 'refused (' + e_val + ')'}, contract "
                         f"{'accepted ' + str(k_val) if k_ok else 'refused ' + error_names.get(k_val, k_val)}")
        if k_ok and c.fn == "compute" and k_val != c.outs:
            diffs.append(f"{c}: the returned handles' types {k_val} are not the declared ones")
        if not k_ok:
            name = error_names.get(k_val, k_val)
            refusals[name] = refusals.get(name, 0) + 1
            if k_val not in allowed_errors:
                bad_errors.append(f"{c}: {name}")
    check(f"{label}: {len(cases)} combinations, {valid} valid ({100 * valid / max(1, len(cases)):.1f}%), "
          f"{len(diffs)} differences between NoxCompute and the engine", not diffs, "\n  ".join(diffs[:20]))
    check(f"{label}: every refusal is a type error ({', '.join(f'{k} {v}' for k, v in sorted(refusals.items()))})",
          not bad_errors, "\n  ".join(bad_errors[:20]))
    return len(cases), valid, len(diffs)


def main():
    work = tempfile.mkdtemp(prefix="nox-conformance-")
    print(f"seed {SEED} (NOX_CONFORMANCE_SEED={SEED} repeats this run), {CASES} random cases per extension operator")
    rng = random.Random(SEED)
    anvil = noxtest._start([noxtest.ANVIL, "--host", "127.0.0.1", "--port", "0", "--hardfork", "cancun",
                            "--chain-id", str(CHAIN_ID), "--gas-limit", str(GAS)],
                           os.path.join(work, "anvil.log"), r"Listening on", "http")
    try:
        url = anvil.url
        config = os.path.join(work, "operators.yaml")
        with open(os.path.join(ROOT, "config", "operators.yaml")) as f:
            text = f.read().replace("../build/lib/nox/", PLUGIN_DIR.rstrip("/") + "/")
        with open(config, "w") as f:
            f.write(text)
        gateway = cast("wallet", "address", "--private-key", GATEWAY_KEY)
        deployment = os.path.join(work, "deployment.json")
        r = run(sys.executable, os.path.join(ROOT, "contracts", "deploy.py"), "--rpc-url", url, "--private-key",
                DEPLOYER_KEY, "--gateway", gateway, "--kms-public-key", KMS_PUBLIC_KEY, "--out", deployment,
                "--artifacts", ARTIFACTS, "--cast", CAST)
        if not check("deploy.py", r.returncode == 0, r.stderr):
            return noxtest.summary()
        with open(deployment) as f:
            compute = json.load(f)["noxCompute"]
        r = run(sys.executable, os.path.join(ROOT, "contracts", "register_operators.py"), "--rpc-url", url,
                "--private-key", DEPLOYER_KEY, "--compute", compute, "--nox-eval", NOX_EVAL, "--config", config,
                "--cast", CAST)
        if not check("register_operators.py registers the configuration's extension operators", r.returncode == 0,
                     r.stdout + r.stderr):
            return noxtest.summary()
        with open(os.path.join(TEST_ARTIFACTS, "NoxTypeHarness.json")) as f:
            code = json.load(f)["bytecode"]
        receipt = json.loads(cast("send", "--json", "--rpc-url", url, "--private-key", DEPLOYER_KEY, "--create",
                                  code + cast("abi-encode", "constructor(address)", compute)[2:]))
        harness = receipt["contractAddress"]

        doc = json.loads(run(NOX_EVAL, "--config", config, "--signatures").stdout)
        ops = {op["id"]: op for op in doc["operators"]}
        extension = [ops[i] for i in sorted(ops) if i >= 64]
        check("the extension operators of config/operators.yaml are ids 64..76 "
              "(min max neg rem and or xor not shl shr rotl rotr cast)",
              [(o["id"], o["name"]) for o in extension] == list(zip(range(64, 77), "min max neg rem and or xor not shl "
                                                                   "shr rotl rotr cast".split())), extension)
        n_outputs = {i: o["nOutputs"] for i, o in ops.items()}
        cast_id = next(o["id"] for o in extension if o["name"] == "cast")

        # the Gateway's inputs of the dynamic types, as it would sign them for this harness
        now = int(json.loads(cast("block", "latest", "--json", "--rpc-url", url))["timestamp"], 16)
        dynamic, proofs = [], []
        for t in (2, 3):
            h = "0x" + os.urandom(26).hex() + "%08x%02x00" % (CHAIN_ID, t)
            data = noxtest.typed_data(
                "HandleProof", [("handle", "bytes32"), ("owner", "address"), ("app", "address"),
                                ("createdAt", "uint256")],
                noxtest.CHAIN_DOMAIN + [("verifyingContract", "address")],
                {"name": "NoxCompute", "version": "1", "chainId": CHAIN_ID, "verifyingContract": compute},
                {"handle": h, "owner": OWNER, "app": harness, "createdAt": str(now)})
            sig = noxtest.cast_sign(CAST, work, data, GATEWAY_KEY)
            dynamic.append(h)
            proofs.append("0x" + OWNER[2:] + harness[2:].lower() + "%064x" % now + sig[2:])
        selectors = {fn: selector(f"{fn}(bytes32,bytes32" + (",bytes32)" if PROTOCOL[fn] in (9, 16, 17, 18) else ")"))
                     for fn in PROTOCOL}
        selectors["compute"] = selector("compute(uint16,bytes32[],uint8[])")
        error_names = {"0x" + selector(e).hex(): e.split("(")[0] for e in COMPUTE_REFUSALS + PROTOCOL_REFUSALS +
                       ["NotAllowed(bytes32,address)", "InvalidHandle(bytes32)", "TransactionBudgetExceeded(uint256)"]}
        contract = Contract(url, harness, cast_id, dynamic, proofs, selectors)
        compute_errors = {"0x" + selector(e).hex() for e in COMPUTE_REFUSALS}
        protocol_errors = {"0x" + selector(e).hex() for e in PROTOCOL_REFUSALS}

        # the harness itself: its handles are what they claim (one case per type, through eq on itself)
        probe = [Case("select", 9, (0, t, t), ()) for t in list(range(106))]
        got = contract.answers(probe)
        want = [(True, [t]) if t not in (2, 3) else (False, None) for t in range(106)]
        check("harness: select(bool, T, T) returns a T for every T but bytes/string: every handle has its type",
              [(ok, v if ok else None) for ok, v in got] == want, got)

        totals = []
        started = time.time()
        for op in extension:
            cases = extension_cases(rng, op)
            t0 = time.time()
            engine = engine_answers(config, cases, n_outputs)
            t1 = time.time()
            chain = contract.answers(cases)
            t2 = time.time()
            n, valid, diffs = compare(f"compute({op['id']} {op['name']})", cases, engine, chain, compute_errors,
                                      error_names)
            random_valid = sum(ok for ok, _ in engine[:CASES])
            check(f"compute({op['id']} {op['name']}): at least 20% of the {CASES} random combinations are valid",
                  random_valid >= 0.2 * CASES, f"{random_valid} of {CASES}")
            print(f"  {op['name']:<6} {n} combinations ({CASES} random, {100 * random_valid / CASES:.1f}% of them "
                  f"valid), {valid} valid, {diffs} differences (engine {t1 - t0:.1f} s, chain {t2 - t1:.1f} s)")
            totals.append((n, valid, diffs))
        for fn, op_id in PROTOCOL.items():
            nin = 3 if op_id in (9, 16, 17, 18) else 2
            cases = protocol_cases(fn, op_id, nin)
            engine = engine_answers(config, cases, n_outputs)
            chain = contract.answers(cases)
            n, valid, diffs = compare(f"{fn} (§5 id {op_id})", cases, engine, chain, protocol_errors, error_names)
            check(f"{fn}: some combinations are valid", valid > 0, valid)
            print(f"  {fn:<8} {n} combinations, {valid} valid, {diffs} differences")
            totals.append((n, valid, diffs))
        n = sum(x[0] for x in totals)
        print(f"conformance: {n} combinations in {contract.calls} eth_calls ({time.time() - started:.0f} s), "
              f"{sum(x[1] for x in totals)} valid, {sum(x[2] for x in totals)} differences")
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        check("test ran to the end", False, e)
    finally:
        anvil.stop()
    status = noxtest.summary()
    if status == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} (anvil.log)")
    return status


if __name__ == "__main__":
    sys.exit(main())
