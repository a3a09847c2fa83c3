#!/usr/bin/python3
"""NoxCompute, the Nox library and ConfidentialToken on a real chain (anvil, Cancun).

Usage: test_contracts.py CAST NOXCTL   ($NOX_EVAL, $NOX_PLUGIN_DIR: default BUILD/bin/nox-eval, BUILD/lib/nox)

Deploys with contracts/deploy.py, then drives the contracts with cast and checks:
  * every operation of spec §5: its §9 event (topic, caller, fields) and its result handles,
    recomputed with `noxctl handle derive` (core's derivation) from the event's inputs, the
    block timestamp, the caller and the NoxCompute address: byte for byte, chain id, type, version;
  * the §5 type rules: each type error reverts with its named error and arguments;
  * the ACL: strangers get NotAllowed, transient access ends with the transaction, isViewer
    ignores transient access, viewers and public decryption;
  * input proofs (§7.1, signed with `cast wallet sign --data`): accepted, and each way to be
    wrong reverts with its own error (length, handle, type, owner, app, expiry, future,
    signer, domain, high s, v);
  * ConfidentialToken: mint, balanceOf viewable by its holder only, transfer with a proof, burn.
  * extension operators: the operator registry (setOperator bounds, owner only, OperatorSet),
    contracts/register_operators.py against this build's nox-eval (idempotent), compute() (the
    Compute event, outputs re-derived with the uint16-operator formula, transient ACL, every
    revert), and NoxBindingsApp using the minmax bindings of nox-plugin-check --solidity.
Revert data is compared whole: selector and arguments (`cast calldata "Error(types)" args`).
Artifacts: $NOX_CONTRACTS_DIR (default BUILD/contracts) and $NOX_TEST_CONTRACTS_DIR (default
BUILD/tests/contracts), BUILD being the directory above NOXCTL's bin/.
NOX_TEST_VERBOSE=1 prints every check, not only failures. Ends with "N passed, M failed".
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import noxtest  # noqa: E402
from noxtest import run  # noqa: E402


def check(name, ok, detail=""):
    """noxtest.check, returning whether the check passed (so a failed precondition can skip what depends on it)."""
    ok = bool(ok)
    noxtest.check(name, ok, detail, verbose=VERBOSE)
    return ok

if len(sys.argv) != 3:
    print("usage: test_contracts.py CAST NOXCTL", file=sys.stderr)
    sys.exit(2)
CAST, NOXCTL = sys.argv[1], sys.argv[2]
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(NOXCTL)))
ARTIFACTS = os.environ.get("NOX_CONTRACTS_DIR", os.path.join(BUILD, "contracts"))
TEST_ARTIFACTS = os.environ.get("NOX_TEST_CONTRACTS_DIR", os.path.join(BUILD, "tests", "contracts"))

VERBOSE = os.environ.get("NOX_TEST_VERBOSE") == "1"   # print passing checks too
CHAIN_ID = 31337
DEPLOYER_KEY, HOLDER_KEY, STRANGER_KEY = noxtest.ANVIL_KEYS
GATEWAY_KEY = "0x" + "0a" * 32          # signs input proofs; never sends a transaction
RECIPIENT_KEY = "0x" + "42" * 32        # funded by the deployer at start
KMS_PUBLIC_KEY = "0x02" + "5c" * 32     # only stored and read back here
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO = "0x" + "00" * 32
ZERO_ADDRESS = "0x" + "00" * 20

# ---- the protocol's tables (spec §3, §5, §9) ----------------------------------------------

BINARY = ["leftHandOperand", "rightHandOperand"]
# event name -> (operator id, input fields, output fields, how the outputs are typed)
EVENTS = {
    "PlaintextToEncrypted": (0, ["value"], ["handle"], "tee"),
    "Add": (1, BINARY, ["result"], "same"), "Sub": (2, BINARY, ["result"], "same"),
    "Mul": (3, BINARY, ["result"], "same"), "Div": (4, BINARY, ["result"], "same"),
    "SafeAdd": (5, BINARY, ["success", "result"], "safe"), "SafeSub": (6, BINARY, ["success", "result"], "safe"),
    "SafeMul": (7, BINARY, ["success", "result"], "safe"), "SafeDiv": (8, BINARY, ["success", "result"], "safe"),
    "Select": (9, ["condition", "ifTrue", "ifFalse"], ["result"], "select"),
    "Eq": (10, BINARY, ["result"], "bool"), "Ne": (11, BINARY, ["result"], "bool"),
    "Lt": (12, BINARY, ["result"], "bool"), "Le": (13, BINARY, ["result"], "bool"),
    "Gt": (14, BINARY, ["result"], "bool"), "Ge": (15, BINARY, ["result"], "bool"),
    "Transfer": (16, ["balanceFrom", "balanceTo", "amount"], ["success", "newBalanceFrom", "newBalanceTo"], "token"),
    "Mint": (17, ["balanceTo", "amount", "totalSupply"], ["success", "newBalanceTo", "newTotalSupply"], "token"),
    "Burn": (18, ["balanceFrom", "amount", "totalSupply"], ["success", "newBalanceFrom", "newTotalSupply"], "token"),
}
# the NoxCompute function of each event (same inputs, in order)
FUNCTIONS = {"PlaintextToEncrypted": "plaintextToEncrypted(bytes32,uint8)", "Select": "select(bytes32,bytes32,bytes32)",
             "Transfer": "transfer(bytes32,bytes32,bytes32)", "Mint": "mint(bytes32,bytes32,bytes32)",
             "Burn": "burn(bytes32,bytes32,bytes32)"}
for _name in EVENTS:
    FUNCTIONS.setdefault(_name, _name[0].lower() + _name[1:] + "(bytes32,bytes32)")


def event_signature(name):
    _, ins, outs, _ = EVENTS[name]
    fields = ["bytes32"] * (len(ins) + len(outs))
    if name == "PlaintextToEncrypted":
        fields = ["bytes32", "uint8", "bytes32"]
    return f"{name}(address,{','.join(fields)})"


def event_fields(name):
    _, ins, outs, _ = EVENTS[name]
    return ins + (["teeType"] if name == "PlaintextToEncrypted" else []) + outs


T_BOOL, T_ADDRESS, T_UINT8, T_UINT64, T_UINT256, T_INT8, T_INT256, T_BYTES32 = 0, 1, 4, 11, 35, 36, 67, 99


def type_name(code):
    if code == 0:
        return "bool"
    if code == 1:
        return "address"
    if 4 <= code <= 35:
        return f"uint{8 * (code - 3)}"
    if 36 <= code <= 67:
        return f"int{8 * (code - 35)}"
    if 68 <= code <= 99:
        return f"bytes{code - 67}"
    return {100: "uint512", 101: "uint1024", 102: "uint2048", 103: "int512", 104: "int1024", 105: "int2048"}[code]


def type_of(handle):
    return int(handle[-4:-2], 16)


def word(n):
    return "0x%064x" % (n % (1 << 256))


def make_handle(type_code, chain_id=CHAIN_ID, version=0, prehandle=None):
    """A handle as the Gateway makes them: 26 random bytes, chain id, type, version (spec §2)."""
    pre = prehandle if prehandle is not None else secrets.token_hex(26)
    return "0x%s%08x%02x%02x" % (pre, chain_id, type_code, version)


def short(h):
    return h[:10] + "…" + h[-8:] if isinstance(h, str) and len(h) > 24 else str(h)


# ---- cast -----------------------------------------------------------------------------------

class CastError(Exception):
    pass


def cast(*args):
    r = run(CAST, *[str(a) for a in args])
    if r.returncode != 0:
        raise CastError(f"cast {' '.join(str(a) for a in args[:2])}: {r.stderr.strip()}")
    return r.stdout.strip()


class Chain:
    def __init__(self, url):
        self.url = url
        self._timestamps = {}

    def send(self, key, to, sig, *args, gas=None):
        """A mined transaction's receipt (dict); CastError when cast refuses (e.g. gas estimation reverts)."""
        extra = ["--gas-limit", str(gas)] if gas else []
        return json.loads(cast("send", "--json", "--rpc-url", self.url, "--private-key", key, *extra, to, sig, *args))

    def call(self, to, sig, *args, frm=None):
        """(True, decoded output) or (False, revert data hex or the error text)."""
        extra = ["--from", frm] if frm else []
        r = run(CAST, "call", "--rpc-url", self.url, *extra, to, sig, *[str(a) for a in args])
        if r.returncode == 0:
            return True, r.stdout.strip()
        m = re.search(r'data: "(0x[0-9a-fA-F]*)"', r.stderr)
        return False, (m.group(1).lower() if m else r.stderr.strip())

    def view(self, to, sig, *args):
        ok, out = self.call(to, sig, *args)
        if not ok:
            raise CastError(f"{sig}: {out}")
        return out.split()[0] if out else out

    def timestamp(self, block_number):
        if block_number not in self._timestamps:
            block = json.loads(cast("block", block_number, "--json", "--rpc-url", self.url))
            self._timestamps[block_number] = int(block["timestamp"], 16)
        return self._timestamps[block_number]

    def latest_timestamp(self):
        block = json.loads(cast("block", "latest", "--json", "--rpc-url", self.url))
        return int(block["timestamp"], 16)

    def rpc(self, method, *params):
        return cast("rpc", "--rpc-url", self.url, method, *[str(p) for p in params])


def error_data(sig, *args):
    """The revert data of a custom error: its selector and ABI-encoded arguments, as cast makes calldata."""
    return cast("calldata", sig, *args).lower()


class Test:
    """Shared state: the chain, the deployment, accounts, and every NoxCompute log checked so far."""

    def __init__(self, chain, deployment, work):
        self.chain, self.work = chain, work
        self.compute = deployment["noxCompute"]
        self.token = deployment["confidentialToken"]
        self.deployment = deployment
        self.deployer = cast("wallet", "address", "--private-key", DEPLOYER_KEY).lower()
        self.holder = cast("wallet", "address", "--private-key", HOLDER_KEY).lower()
        self.stranger = cast("wallet", "address", "--private-key", STRANGER_KEY).lower()
        self.gateway = cast("wallet", "address", "--private-key", GATEWAY_KEY).lower()
        self.recipient = cast("wallet", "address", "--private-key", RECIPIENT_KEY).lower()
        self.app = None
        self.topics = {cast("keccak", event_signature(n)): n for n in EVENTS}
        self.verified = {}       # event name -> number of logs whose result handles matched
        self.compute_abi = load_artifact(ARTIFACTS, "NoxCompute")["abi"]
        self.token_abi = load_artifact(ARTIFACTS, "ConfidentialToken")["abi"]

    # ---- logs ----

    def decode(self, log):
        """(event name, caller, {field: value}) of a NoxCompute operation log, or None."""
        name = self.topics.get(log["topics"][0])
        if name is None or log["address"].lower() != self.compute:
            return None
        data = log["data"][2:]
        words = ["0x" + data[i:i + 64] for i in range(0, len(data), 64)]
        fields = dict(zip(event_fields(name), words))
        if "teeType" in fields:
            fields["teeType"] = int(fields["teeType"], 16)
        return name, "0x" + log["topics"][1][-40:], fields

    def derive(self, op, caller, timestamp, index, type_code, inputs):
        return cast_free_run(NOXCTL, "handle", "derive", "--op", op, "--caller", caller, "--compute", self.compute,
                             "--timestamp", timestamp, "--output-index", index, "--chain-id", CHAIN_ID,
                             "--type", type_name(type_code), *inputs)

    def verify_log(self, log):
        """Recomputes every result handle of one operation log with noxctl; returns (name, caller, fields)."""
        name, caller, fields = self.decode(log)
        op, ins, outs, typing = EVENTS[name]
        inputs = [fields[f] for f in ins]
        first = type_of(inputs[0])
        if typing == "tee":
            types = [fields["teeType"]]
        elif typing == "same":
            types = [first]
        elif typing == "bool":
            types = [T_BOOL]
        elif typing == "select":
            types = [type_of(fields["ifTrue"])]
        else:  # safe and token ops: success, then values of the operands' type
            types = [T_BOOL] + [first] * (len(outs) - 1)
        ts = self.chain.timestamp(int(log["blockNumber"], 16))
        ok = True
        for index, (field, t) in enumerate(zip(outs, types)):
            want = self.derive(op, caller, ts, index, t, inputs)
            if fields[field] != want:
                ok = False
                check(f"{name}.{field} = noxctl handle derive (output {index}, {type_name(t)})", False,
                      f"event {fields[field]}, derived {want}")
        if ok:
            self.verified[name] = self.verified.get(name, 0) + 1
            check(f"{name} by {short(caller)} in block {int(log['blockNumber'], 16)}: "
                  f"{len(outs)} result handle(s) = noxctl handle derive", True)
        return name, caller, fields

    def op_logs(self, receipt):
        """Every NoxCompute operation log of a receipt, each verified, in log order."""
        return [self.verify_log(lg) for lg in receipt["logs"] if self.decode(lg)]

    # ---- the test application ----

    def forward(self, fn, *args, key=None, transient=False):
        """Sends NoxCompute.fn(args) through the test app; returns the receipt."""
        data = cast("calldata", fn, *args)
        return self.chain.send(key or DEPLOYER_KEY, self.app,
                               "forwardTransient(bytes)" if transient else "forward(bytes)", data)

    def forward_call(self, fn, *args):
        """eth_call of NoxCompute.fn(args) through the test app: (ok, output or revert data)."""
        return self.chain.call(self.app, "forward(bytes)", cast("calldata", fn, *args))

    def run_op(self, name, *inputs, tee=None):
        """Runs one operation through the app; checks its event; returns its output handles."""
        args = list(inputs) + ([tee] if tee is not None else [])
        receipt = self.forward(FUNCTIONS[name], *args)
        logs = self.op_logs(receipt)
        mine = [x for x in logs if x[0] == name]
        shown = [short(i) if name == "PlaintextToEncrypted" else type_name(type_of(i)) for i in inputs]
        label = f"{name}({', '.join(shown)})"
        if not check(f"{label}: one {name} event", len(mine) == 1, [x[0] for x in logs]):
            return None
        _, caller, fields = mine[0]
        _, ins, outs, _ = EVENTS[name]
        check(f"{label}: caller = the app", caller == self.app, caller)
        check(f"{label}: operand fields in order", [fields[f] for f in ins] == [i.lower() for i in inputs],
              fields)
        if tee is not None:
            check(f"{label}: teeType", fields["teeType"] == tee, fields)
        log = next(lg for lg in receipt["logs"] if self.decode(lg) and self.decode(lg)[0] == name)
        check(f"{label}: topic0 = keccak({event_signature(name)})",
              log["topics"][0] == cast("keccak", event_signature(name)) and len(log["topics"]) == 2, log["topics"])
        return [fields[f] for f in outs]

    def value(self, n, type_code):
        """A handle of a plaintext n of type_code, allowed to the app persistently."""
        outs = self.run_op("PlaintextToEncrypted", word(n), tee=type_code)
        return outs[0] if outs else None

    def expect_revert(self, label, result, error_sig, *error_args, prefix_words=None):
        ok, data = result
        want = error_data(error_sig, *error_args)
        if prefix_words is not None:  # compare the selector and the first arguments only
            want, data = want[:10 + 64 * prefix_words], data[:10 + 64 * prefix_words] if not ok else data
        check(f"{label} reverts {error_sig.split('(')[0]}", not ok and data == want,
              f"got {'success ' if ok else ''}{data}, want {want}")

    # ---- input proofs ----

    def proof(self, handle, owner, app, created_at, key=GATEWAY_KEY, chain_id=CHAIN_ID, contract=None):
        """owner(20) ‖ app(20) ‖ createdAt(32) ‖ signature(65): the Gateway's HandleProof (spec §7.1)."""
        data = noxtest.typed_data(
            "HandleProof", [("handle", "bytes32"), ("owner", "address"), ("app", "address"), ("createdAt", "uint256")],
            noxtest.CHAIN_DOMAIN + [("verifyingContract", "address")],
            {"name": "NoxCompute", "version": "1", "chainId": chain_id, "verifyingContract": contract or self.compute},
            {"handle": handle, "owner": owner, "app": app, "createdAt": str(created_at)})
        sig = noxtest.cast_sign(CAST, self.work, data, key)
        return "0x" + owner[2:].lower() + app[2:].lower() + "%064x" % created_at + sig[2:].lower()


def cast_free_run(*args):
    r = run(*[str(a) for a in args])
    if r.returncode != 0:
        raise CastError(f"{os.path.basename(str(args[0]))}: {r.stderr.strip()}")
    return r.stdout.strip()


def load_artifact(directory, name):
    with open(os.path.join(directory, name + ".json")) as f:
        return json.load(f)


# =============================================================================================
# The checks
# =============================================================================================

def test_artifacts_and_abi(t):
    for name in ["NoxCompute", "ConfidentialToken", "Nox", "INoxCompute", "NoxACL"]:
        art = load_artifact(ARTIFACTS, name)
        check(f"artifact {name}.json has abi and 0x bytecode",
              isinstance(art.get("abi"), list) and re.fullmatch(r"0x([0-9a-f]{2})*", art.get("bytecode", "")))
    r = run(sys.executable, os.path.join(ROOT, "contracts", "scripts", "gen_nox.py"), "--check")
    check("contracts/src/Nox.sol is what contracts/scripts/gen_nox.py generates", r.returncode == 0, r.stderr)

    events = {e["name"]: e for e in t.compute_abi if e["type"] == "event"}
    for name in EVENTS:
        e = events.get(name)
        want = [("caller", "address", True)] + [(f, "uint8" if f == "teeType" else "bytes32", False)
                                                  for f in event_fields(name)]
        got = [(i["name"], i["type"], i["indexed"]) for i in e["inputs"]] if e else None
        check(f"ABI event {name}: (address indexed caller, {', '.join(event_fields(name))})", got == want, got)
    check("topic of PlaintextToEncrypted is the spec's",
          cast("keccak", event_signature("PlaintextToEncrypted"))
          == "0x1c2e021f86083d2d6daf74c4a1016ac3e4b55e0f4328137bfb5091a1e05add49")
    check("topic of Add is the spec's",
          cast("keccak", event_signature("Add")) == "0x39e9fe4ef5775b41f10d058c793455cec69e7f83b0f806228a43907cc9791839")
    functions = {f["name"] for f in t.compute_abi if f["type"] == "function"}
    for sig in FUNCTIONS.values():
        check(f"NoxCompute has {sig}", sig.split("(")[0] in functions)


def test_deployment(t):
    d = t.deployment
    check("deployment file: keys", sorted(d) == sorted(["chainId", "rpcUrl", "deployer", "noxCompute",
                                                      "confidentialToken", "deployBlock"]), sorted(d))
    check("deployment file: chainId", d["chainId"] == CHAIN_ID, d["chainId"])
    check("deployment file: rpcUrl", d["rpcUrl"] == t.chain.url, d["rpcUrl"])
    check("deployment file: deployer", d["deployer"] == t.deployer, d["deployer"])
    for k in ["noxCompute", "confidentialToken", "deployer"]:
        check(f"deployment file: {k} is a lowercase 0x address", re.fullmatch(r"0x[0-9a-f]{40}", d[k]), d[k])
    check("deployment file: deployBlock is a block number", isinstance(d["deployBlock"], int) and d["deployBlock"] > 0)
    check("NoxCompute has code", len(cast("code", "--rpc-url", t.chain.url, t.compute)) > 2)
    check("ConfidentialToken has code", len(cast("code", "--rpc-url", t.chain.url, t.token)) > 2)
    c = t.compute
    check("gateway()", t.chain.view(c, "gateway()(address)").lower() == t.gateway)
    check("kmsPublicKey()", t.chain.view(c, "kmsPublicKey()(bytes)") == KMS_PUBLIC_KEY)
    check("proofExpiration() = 3600", t.chain.view(c, "proofExpiration()(uint256)") == "3600")
    check("owner() = deployer", t.chain.view(c, "owner()(address)").lower() == t.deployer)
    check("MAX_CLOCK_SKEW() = 300", t.chain.view(c, "MAX_CLOCK_SKEW()(uint256)") == "300")
    # EIP-712 domain separator (spec §4.4), recomputed with cast
    typehash = cast("keccak", "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    check("EIP712Domain typehash is the spec's",
          typehash == "0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f")
    check("HandleProof typehash is the spec's",
          cast("keccak", "HandleProof(bytes32 handle,address owner,address app,uint256 createdAt)")
          == "0x2597adb2c310b2d50ad6e27bef4fe33de1a27945ba8d078d20d7c41d47010a0a")
    encoded = cast("abi-encode", "f(bytes32,bytes32,bytes32,uint256,address)", typehash, cast("keccak", "NoxCompute"),
                   cast("keccak", "1"), CHAIN_ID, c)
    check("domainSeparator() = keccak(EIP712Domain(NoxCompute, 1, chain, this))",
          t.chain.view(c, "domainSeparator()(bytes32)") == cast("keccak", encoded))


def test_admin(t):
    c, ch = t.compute, t.chain
    t.expect_revert("setGateway by a stranger", ch.call(c, "setGateway(address)", t.stranger, frm=t.stranger),
                    "NotOwner(address)", t.stranger)
    t.expect_revert("setKmsPublicKey by a stranger",
                    ch.call(c, "setKmsPublicKey(bytes)", KMS_PUBLIC_KEY, frm=t.stranger), "NotOwner(address)",
                    t.stranger)
    t.expect_revert("setProofExpiration by a stranger", ch.call(c, "setProofExpiration(uint256)", 1, frm=t.stranger),
                    "NotOwner(address)", t.stranger)
    t.expect_revert("setGateway(0)", ch.call(c, "setGateway(address)", "0x" + "00" * 20, frm=t.deployer),
                    "ZeroAddress()")
    for bad in ["0x04" + "11" * 32, "0x02" + "11" * 31, "0x"]:
        t.expect_revert(f"setKmsPublicKey({short(bad)})", ch.call(c, "setKmsPublicKey(bytes)", bad, frm=t.deployer),
                        "InvalidKmsPublicKey()")
    t.expect_revert("setProofExpiration(0)", ch.call(c, "setProofExpiration(uint256)", 0, frm=t.deployer),
                    "InvalidProofExpiration()")
    r = ch.send(DEPLOYER_KEY, c, "setProofExpiration(uint256)", 7200)
    check("setProofExpiration(7200) by the owner", ch.view(c, "proofExpiration()(uint256)") == "7200")
    check("ProofExpirationUpdated event",
          r["logs"][0]["topics"][0] == cast("keccak", "ProofExpirationUpdated(uint256)")
          and int(r["logs"][0]["data"], 16) == 7200)
    ch.send(DEPLOYER_KEY, c, "setProofExpiration(uint256)", 3600)
    key2 = "0x03" + "77" * 32
    ch.send(DEPLOYER_KEY, c, "setKmsPublicKey(bytes)", key2)
    check("setKmsPublicKey by the owner", ch.view(c, "kmsPublicKey()(bytes)") == key2)
    ch.send(DEPLOYER_KEY, c, "setKmsPublicKey(bytes)", KMS_PUBLIC_KEY)


def make_values(t):
    """Operands of every kind, allowed to the app (each one a PlaintextToEncrypted event, checked)."""
    v = {}
    v["u8a"], v["u8b"] = t.value(200, T_UINT8), t.value(100, T_UINT8)
    v["u64a"], v["u64b"], v["u64c"] = t.value(100, T_UINT64), t.value(50, T_UINT64), t.value(30, T_UINT64)
    v["u256a"], v["u256b"] = t.value(2**255, T_UINT256), t.value(2**255 + 1, T_UINT256)
    v["i8a"], v["i8b"] = t.value(0xff, T_INT8), t.value(2, T_INT8)          # -1 (not sign-extended, §3), 2
    v["i256a"], v["i256b"] = t.value(-7, T_INT256), t.value(2, T_INT256)
    v["true"], v["false"] = t.value(1, T_BOOL), t.value(0, T_BOOL)
    v["addr1"], v["addr2"] = t.value(int(t.holder, 16), T_ADDRESS), t.value(int(t.stranger, 16), T_ADDRESS)
    v["b32a"], v["b32b"] = t.value(int("ab" * 32, 16), T_BYTES32), t.value(int("cd" * 32, 16), T_BYTES32)
    v["b1"] = t.value(0x7f, 68)                                                # bytes1
    v["u16"] = t.value(65535, 5)
    for name, h in v.items():
        check(f"value {name} has a handle", h is not None)
    # the handle's fields as core decodes them
    out = cast_free_run(NOXCTL, "handle", "decode", v["u64a"])
    check("noxctl handle decode of a result: chain id, type, version",
          "chain_id: 31337" in out and "type: uint64" in out and "version: 0" in out, out)
    return v


def test_operations(t, v):
    """Every operation of spec §5 once or more; each event's result handles are re-derived."""
    ops = [
        ("Add", "u8a", "u8b"), ("Sub", "u8a", "u8b"), ("Mul", "u8a", "u8b"), ("Div", "u8a", "u8b"),
        ("Add", "i256a", "i256b"), ("Add", "u256a", "u256b"), ("Add", "u16", "u16"), ("Div", "i8a", "i8b"),
        ("SafeAdd", "u64a", "u64b"), ("SafeSub", "u64b", "u64a"), ("SafeMul", "i8a", "i8b"),
        ("SafeDiv", "i256a", "i256b"),
        ("Eq", "u64a", "u64b"), ("Ne", "true", "false"), ("Eq", "addr1", "addr2"), ("Ne", "addr1", "addr1"),
        ("Eq", "true", "true"), ("Lt", "i8a", "i8b"), ("Le", "u256a", "u256b"), ("Gt", "u8a", "u8b"),
        ("Ge", "i256a", "i256b"),
        ("Select", "true", "u64a", "u64b"), ("Select", "false", "addr1", "addr2"),
        ("Select", "true", "b32a", "b32b"), ("Select", "false", "true", "false"), ("Select", "true", "b1", "b1"),
        ("Select", "true", "i8a", "i8b"),
        ("Transfer", "u64a", "u64b", "u64c"), ("Mint", "u64b", "u64c", "u64a"), ("Burn", "u64a", "u64b", "u64c"),
        ("Transfer", "u256a", "u256b", "u256a"),
    ]
    results = {}
    for name, *operands in ops:
        outs = t.run_op(name, *[v[o] for o in operands])
        if outs:
            _, _, out_names, _ = EVENTS[name]
            results[(name, *operands)] = dict(zip(out_names, outs))
    # result types, spelled out (the derivation check already binds them)
    r = results.get(("SafeAdd", "u64a", "u64b"), {})
    check("safeAdd: success is a bool, result a uint64",
          type_of(r.get("success", ZERO)) == T_BOOL and type_of(r.get("result", ZERO)) == T_UINT64, r)
    r = results.get(("Lt", "i8a", "i8b"), {})
    check("lt on int8 gives a bool", type_of(r.get("result", "0xffff")) == T_BOOL, r)
    r = results.get(("Select", "false", "addr1", "addr2"), {})
    check("select on addresses gives an address", type_of(r.get("result", "0xffff")) == T_ADDRESS, r)
    r = results.get(("Transfer", "u64a", "u64b", "u64c"), {})
    check("transfer: (bool, uint64, uint64)",
          [type_of(r.get(k, "0xffff")) for k in ["success", "newBalanceFrom", "newBalanceTo"]]
          == [T_BOOL, T_UINT64, T_UINT64], r)
    # results are usable later by the app (forward allowed them): chain them
    r = results.get(("Add", "u8a", "u8b"), {})
    if r:
        t.run_op("Mul", r["result"], v["u8b"])
    # the typed library: asEuint64, safeAdd, select, asEint8, lt in one transaction
    receipt = t.chain.send(DEPLOYER_KEY, t.app, "typed(uint64,uint64,int8)", 7, 2**64 - 1, -5)
    logs = t.op_logs(receipt)
    check("Nox library: typed() emits PTE, PTE, SafeAdd, Select, PTE, PTE, Lt",
          [x[0] for x in logs] == ["PlaintextToEncrypted", "PlaintextToEncrypted", "SafeAdd", "Select",
                                   "PlaintextToEncrypted", "PlaintextToEncrypted", "Lt"], [x[0] for x in logs])
    if len(logs) == 7:
        check("Nox library: asEint8(-5) is the word 0x…fb, not sign-extended (§3)",
              logs[4][2]["value"] == word(0xfb) and logs[4][2]["teeType"] == T_INT8, logs[4][2])
        check("Nox library: asEuint64(2^64-1)", logs[1][2]["value"] == word(2**64 - 1), logs[1][2])
        check("Nox library: select(success, sum, a)",
              [logs[3][2][k] for k in ["condition", "ifTrue", "ifFalse"]]
              == [logs[2][2]["success"], logs[2][2]["result"], logs[0][2]["handle"]], logs[3][2])
    return results


def test_type_errors(t, v):
    f = t.forward_call
    t.expect_revert("add(uint8, uint64)", f("add(bytes32,bytes32)", v["u8a"], v["u64a"]),
                    "TypeMismatch(bytes32,bytes32)", v["u8a"], v["u64a"])
    t.expect_revert("add(bool, bool)", f("add(bytes32,bytes32)", v["true"], v["false"]), "UnsupportedType(uint8)", 0)
    t.expect_revert("sub(address, address)", f("sub(bytes32,bytes32)", v["addr1"], v["addr2"]),
                    "UnsupportedType(uint8)", 1)
    t.expect_revert("mul(bytes32, bytes32)", f("mul(bytes32,bytes32)", v["b32a"], v["b32b"]),
                    "UnsupportedType(uint8)", T_BYTES32)
    t.expect_revert("safeDiv(bool, bool)", f("safeDiv(bytes32,bytes32)", v["true"], v["true"]),
                    "UnsupportedType(uint8)", 0)
    t.expect_revert("safeAdd(int8, int256)", f("safeAdd(bytes32,bytes32)", v["i8a"], v["i256a"]),
                    "TypeMismatch(bytes32,bytes32)", v["i8a"], v["i256a"])
    t.expect_revert("lt(bool, bool)", f("lt(bytes32,bytes32)", v["true"], v["false"]), "UnsupportedType(uint8)", 0)
    t.expect_revert("ge(address, address)", f("ge(bytes32,bytes32)", v["addr1"], v["addr2"]),
                    "UnsupportedType(uint8)", 1)
    t.expect_revert("eq(bytes32, bytes32)", f("eq(bytes32,bytes32)", v["b32a"], v["b32b"]),
                    "UnsupportedType(uint8)", T_BYTES32)
    t.expect_revert("eq(bool, address)", f("eq(bytes32,bytes32)", v["true"], v["addr1"]),
                    "TypeMismatch(bytes32,bytes32)", v["true"], v["addr1"])
    t.expect_revert("select(uint8 condition, …)", f("select(bytes32,bytes32,bytes32)", v["u8a"], v["u64a"], v["u64b"]),
                    "NotBool(bytes32)", v["u8a"])
    t.expect_revert("select(bool, uint8, uint64)", f("select(bytes32,bytes32,bytes32)", v["true"], v["u8a"], v["u64a"]),
                    "TypeMismatch(bytes32,bytes32)", v["u8a"], v["u64a"])
    t.expect_revert("transfer(int8, int8, int8)", f("transfer(bytes32,bytes32,bytes32)", v["i8a"], v["i8b"], v["i8a"]),
                    "NotUnsigned(bytes32)", v["i8a"])
    t.expect_revert("burn(bool, bool, bool)", f("burn(bytes32,bytes32,bytes32)", v["true"], v["true"], v["false"]),
                    "NotUnsigned(bytes32)", v["true"])
    t.expect_revert("transfer(uint64, uint64, uint8)",
                    f("transfer(bytes32,bytes32,bytes32)", v["u64a"], v["u64b"], v["u8a"]),
                    "TypeMismatch(bytes32,bytes32)", v["u64a"], v["u8a"])
    t.expect_revert("mint(uint64, uint8, uint64)", f("mint(bytes32,bytes32,bytes32)", v["u64a"], v["u8a"], v["u64b"]),
                    "TypeMismatch(bytes32,bytes32)", v["u64a"], v["u8a"])
    # invalid handles (spec §2): checked before the ACL, so the error says what is wrong
    t.expect_revert("add(bytes32(0), …)", f("add(bytes32,bytes32)", ZERO, v["u8a"]), "InvalidHandle(bytes32)", ZERO)
    for label, h in [("version 1", make_handle(T_UINT8, version=1)), ("chain id 1", make_handle(T_UINT8, chain_id=1))]:
        t.expect_revert(f"add(a handle of {label}, …)", f("add(bytes32,bytes32)", v["u8a"], h),
                        "InvalidHandle(bytes32)", h)
    h = make_handle(200)
    t.expect_revert("add(a handle of reserved type 200, …)", f("add(bytes32,bytes32)", h, h), "UnknownType(uint8)", 200)
    # plaintextToEncrypted: types that fit a word only
    for code, err in [(2, "UnsupportedType(uint8)"), (3, "UnsupportedType(uint8)"), (100, "UnsupportedType(uint8)"),
                      (105, "UnsupportedType(uint8)"), (106, "UnknownType(uint8)"), (255, "UnknownType(uint8)")]:
        t.expect_revert(f"plaintextToEncrypted(…, {code})", f("plaintextToEncrypted(bytes32,uint8)", word(1), code),
                        err, code)
    for code in [T_BOOL, T_ADDRESS, 4, 35, 36, 67, 68, 99]:
        ok, out = f("plaintextToEncrypted(bytes32,uint8)", word(1), code)
        check(f"plaintextToEncrypted(…, {type_name(code)}) accepted", ok, out)


def test_acl(t, v):
    c, ch = t.compute, t.chain
    # a stranger cannot use, nor manage, the app's handles
    t.expect_revert("stranger: add(app's handles)", ch.call(c, "add(bytes32,bytes32)", v["u8a"], v["u8b"], frm=t.stranger),
                    "NotAllowed(bytes32,address)", v["u8a"], t.stranger)
    t.expect_revert("stranger: transfer(app's handles)",
                    ch.call(c, "transfer(bytes32,bytes32,bytes32)", v["u64a"], v["u64b"], v["u64c"], frm=t.stranger),
                    "NotAllowed(bytes32,address)", v["u64a"], t.stranger)
    for fn, args in [("allow(bytes32,address)", [v["u8a"], t.stranger]),
                     ("allowTransient(bytes32,address)", [v["u8a"], t.stranger]),
                     ("addViewer(bytes32,address)", [v["u8a"], t.stranger]),
                     ("allowPublicDecryption(bytes32)", [v["u8a"]])]:
        t.expect_revert(f"stranger: {fn.split('(')[0]}", ch.call(c, fn, *args, frm=t.stranger),
                        "NotAllowed(bytes32,address)", v["u8a"], t.stranger)
    # a real transaction from the stranger is refused too (sent without estimation, so it is mined)
    r = ch.send(STRANGER_KEY, c, "add(bytes32,bytes32)", v["u8a"], v["u8b"], gas=300000)
    check("stranger's add transaction is mined reverted, no event", r["status"] == "0x0" and not r["logs"], r["status"])

    # persistent state of the app's own handles
    check("isAllowed(app's handle, app)", ch.view(c, "isAllowed(bytes32,address)(bool)", v["u8a"], t.app) == "true")
    check("isViewer(app's handle, app): allowed counts", ch.view(c, "isViewer(bytes32,address)(bool)", v["u8a"], t.app)
          == "true")
    check("isViewer(app's handle, stranger) is false",
          ch.view(c, "isViewer(bytes32,address)(bool)", v["u8a"], t.stranger) == "false")

    # allow: the app lets the stranger use a handle
    r = t.forward("allow(bytes32,address)", v["u16"], t.stranger)
    lg = [x for x in r["logs"] if x["topics"][0] == cast("keccak", "Allowed(address,bytes32,address)")]
    check("allow: Allowed(caller = app, handle, account) event",
          len(lg) == 1 and lg[0]["topics"][1:] == [word(int(t.app, 16)), v["u16"], word(int(t.stranger, 16))], lg)
    check("allow: the stranger is allowed", ch.view(c, "isAllowed(bytes32,address)(bool)", v["u16"], t.stranger) == "true")
    ok, out = ch.call(c, "add(bytes32,bytes32)(bytes32)", v["u16"], v["u16"], frm=t.stranger)
    check("allow: the stranger may now compute with it", ok, out)
    check("allow: the stranger is also a viewer", ch.view(c, "isViewer(bytes32,address)(bool)", v["u16"], t.stranger)
          == "true")

    # transient access: good within the transaction, gone after it
    r = t.chain.send(DEPLOYER_KEY, t.app, "addTwice(bytes32,bytes32)", v["u8a"], v["u8b"])
    logs = t.op_logs(r)
    check("transient: sum + sum in the same transaction works (two Add events)",
          [x[0] for x in logs] == ["Add", "Add"] and logs[1][2]["leftHandOperand"] == logs[0][2]["result"],
          [x[0] for x in logs])
    if logs:
        s = logs[0][2]["result"]
        check("transient: after the transaction, isAllowed(sum, app) is false",
              ch.view(c, "isAllowed(bytes32,address)(bool)", s, t.app) == "false")
        t.expect_revert("transient: using the sum in a later transaction", t.forward_call("add(bytes32,bytes32)", s, s),
                        "NotAllowed(bytes32,address)", s, t.app)
    r = t.forward("add(bytes32,bytes32)", v["u8a"], v["u8a"], transient=True)
    logs = t.op_logs(r)
    if check("forwardTransient: one Add event", [x[0] for x in logs] == ["Add"]):
        s = logs[0][2]["result"]
        t.expect_revert("a result never allowed persistently is unusable next transaction",
                        t.forward_call("sub(bytes32,bytes32)", s, v["u8a"]), "NotAllowed(bytes32,address)", s, t.app)
    # inside the transaction: allowed, but not a viewer
    r = t.chain.send(DEPLOYER_KEY, t.app, "probe(bytes32,bytes32)", v["u8a"], v["u8b"])
    probed = [x for x in r["logs"] if x["topics"][0] == cast("keccak", "Probed(bytes32,bool,bool)")]
    if check("probe: one Probed event", len(probed) == 1):
        d = probed[0]["data"][2:]
        check("probe: inside the transaction the fresh result is allowed (transient)", int(d[64:128], 16) == 1, d)
        check("probe: ... but isViewer excludes transient access", int(d[128:192], 16) == 0, d)
    t.op_logs(r)

    # viewers: may decrypt, may not compute
    r = t.forward("addViewer(bytes32,address)", v["u8b"], t.holder)
    lg = [x for x in r["logs"] if x["topics"][0] == cast("keccak", "ViewerAdded(address,bytes32,address)")]
    check("addViewer: ViewerAdded(caller = app, handle, account) event",
          len(lg) == 1 and lg[0]["topics"][1:] == [word(int(t.app, 16)), v["u8b"], word(int(t.holder, 16))], lg)
    check("addViewer: isViewer", ch.view(c, "isViewer(bytes32,address)(bool)", v["u8b"], t.holder) == "true")
    check("addViewer: not allowed", ch.view(c, "isAllowed(bytes32,address)(bool)", v["u8b"], t.holder) == "false")
    t.expect_revert("a viewer cannot compute", ch.call(c, "add(bytes32,bytes32)", v["u8b"], v["u8b"], frm=t.holder),
                    "NotAllowed(bytes32,address)", v["u8b"], t.holder)
    # public decryption
    check("isPubliclyDecryptable before", ch.view(c, "isPubliclyDecryptable(bytes32)(bool)", v["b32a"]) == "false")
    r = t.forward("allowPublicDecryption(bytes32)", v["b32a"])
    lg = [x for x in r["logs"] if x["topics"][0] == cast("keccak", "PublicDecryptionAllowed(address,bytes32)")]
    check("allowPublicDecryption: PublicDecryptionAllowed(caller = app, handle) event",
          len(lg) == 1 and lg[0]["topics"][1:] == [word(int(t.app, 16)), v["b32a"]], lg)
    check("isPubliclyDecryptable after", ch.view(c, "isPubliclyDecryptable(bytes32)(bool)", v["b32a"]) == "true")
    check("public: anybody is a viewer", ch.view(c, "isViewer(bytes32,address)(bool)", v["b32a"], t.stranger) == "true")
    check("public: nobody new is allowed", ch.view(c, "isAllowed(bytes32,address)(bool)", v["b32a"], t.stranger)
          == "false")
    # allowTransient: a third contract could use it within the transaction only; afterwards nothing remains
    t.forward("allowTransient(bytes32,address)", v["u8a"], t.stranger)
    check("allowTransient leaves nothing after the transaction",
          ch.view(c, "isAllowed(bytes32,address)(bool)", v["u8a"], t.stranger) == "false")


def test_input_proofs(t, v):
    c, ch = t.compute, t.chain
    user = t.holder                         # calls NoxCompute directly: app = the user
    fn = "validateInputProof(bytes32,address,bytes,uint8)"
    now = ch.latest_timestamp()

    def validate(h, owner, proof, tee, frm=user):
        return ch.call(c, fn + "(bytes32)", h, owner, proof, tee, frm=frm)

    h = make_handle(T_UINT64)
    good = t.proof(h, user, user, now - 10)
    check("a cast-signed proof is 137 bytes with v 27/28", len(good) == 2 + 274 and good[-2:] in ("1b", "1c"), good)
    ok, out = validate(h, user, good, T_UINT64)
    check("valid proof: returns the handle", ok and out == h, out)
    r = ch.send(HOLDER_KEY, c, fn, h, user, good, T_UINT64)
    check("valid proof: the transaction succeeds", r["status"] == "0x1", r["status"])
    v_low = good[:-2] + ("00" if good[-2:] == "1b" else "01")
    ok, out = validate(h, user, v_low, T_UINT64)
    check("v as 0/1 is accepted (spec §4.3)", ok and out == h, out)
    ok, out = validate(h, user, t.proof(h, user, user, now + 100), T_UINT64)
    check("createdAt within MAX_CLOCK_SKEW ahead is accepted", ok and out == h, out)
    # wide extension types are valid inputs (operations on them are refused later)
    hw = make_handle(100)
    ok, out = validate(hw, user, t.proof(hw, user, user, now), 100)
    check("a uint512 input proof is accepted", ok and out == hw, out)

    # each way to be wrong, in the order NoxCompute checks them
    for n in [0, 136, 138]:
        bad = (good + "00")[:2 + 2 * n] if n <= 137 else good + "00"
        t.expect_revert(f"proof of {n} bytes", validate(h, user, bad, T_UINT64), "InvalidProofLength(uint256)", n)
    t.expect_revert("zero handle", validate(ZERO, user, t.proof(ZERO, user, user, now), T_UINT64),
                    "InvalidHandle(bytes32)", ZERO)
    for label, bad_h in [("chain id 1", make_handle(T_UINT64, chain_id=1)),
                         ("chain id 421614", make_handle(T_UINT64, chain_id=421614)),
                         ("version 1", make_handle(T_UINT64, version=1))]:
        t.expect_revert(f"handle with {label}", validate(bad_h, user, t.proof(bad_h, user, user, now), T_UINT64),
                        "InvalidHandle(bytes32)", bad_h)
    h8 = make_handle(T_UINT8)
    t.expect_revert("handle type uint8, teeType uint64", validate(h8, user, t.proof(h8, user, user, now), T_UINT64),
                    "HandleTypeMismatch(bytes32,uint8)", h8, T_UINT64)
    hr = make_handle(200)
    t.expect_revert("handle of reserved type 200", validate(hr, user, t.proof(hr, user, user, now), 200),
                    "UnknownType(uint8)", 200)
    t.expect_revert("owner argument is not the proof's owner", validate(h, t.stranger, good, T_UINT64),
                    "ProofOwnerMismatch(address,address)", user, t.stranger)
    t.expect_revert("presented by another app (the stranger)", validate(h, user, good, T_UINT64, frm=t.stranger),
                    "ProofAppMismatch(address,address)", user, t.stranger)
    old = now - 3600 - 600
    t.expect_revert("expired proof", validate(h, user, t.proof(h, user, user, old), T_UINT64),
                    "ProofExpired(uint256,uint256)", old, 0, prefix_words=1)
    future = now + 3000
    t.expect_revert("proof from the future", validate(h, user, t.proof(h, user, user, future), T_UINT64),
                    "ProofFromFuture(uint256,uint256)", future, 0, prefix_words=1)
    huge = 2**256 - 1
    t.expect_revert("createdAt = 2^256-1 (no overflow)", validate(h, user, t.proof(h, user, user, huge), T_UINT64),
                    "ProofFromFuture(uint256,uint256)", huge, 0, prefix_words=1)
    t.expect_revert("signed by the stranger", validate(h, user, t.proof(h, user, user, now, key=STRANGER_KEY), T_UINT64),
                    "InvalidSigner(address)", t.stranger)
    t.expect_revert("signed for chain 1", validate(h, user, t.proof(h, user, user, now, chain_id=1), T_UINT64),
                    "InvalidSigner(address)", ZERO_ADDRESS, prefix_words=0)
    t.expect_revert("signed for another verifyingContract",
                    validate(h, user, t.proof(h, user, user, now, contract=t.token), T_UINT64),
                    "InvalidSigner(address)", ZERO_ADDRESS, prefix_words=0)
    tampered = good[:2 + 80] + "%064x" % (now - 11) + good[2 + 144:]
    t.expect_revert("createdAt changed after signing", validate(h, user, tampered, T_UINT64),
                    "InvalidSigner(address)", ZERO_ADDRESS, prefix_words=0)
    r_hex, s_int, v_int = good[146:210], int(good[210:274], 16), int(good[274:276], 16)
    high_s = SECP256K1_N - s_int
    malleable = good[:146] + r_hex + "%064x" % high_s + "%02x" % (55 - v_int)
    t.expect_revert("high-s twin of a valid signature", validate(h, user, malleable, T_UINT64),
                    "InvalidSignatureS(bytes32)", "0x%064x" % high_s)
    for bad_v in [2, 26, 29, 255]:
        t.expect_revert(f"v = {bad_v}", validate(h, user, good[:-2] + "%02x" % bad_v, T_UINT64),
                        "InvalidSignatureV(uint8)", bad_v)
    zero_sig = good[:146] + "00" * 64 + "1b"
    t.expect_revert("r = s = 0", validate(h, user, zero_sig, T_UINT64), "InvalidSigner(address)", "0x" + "00" * 20)

    # exact expiry boundary in mined blocks: createdAt + proofExpiration == block.timestamp passes, one less fails
    t1 = ch.latest_timestamp() + 20
    ch.rpc("evm_setNextBlockTimestamp", t1)
    r = ch.send(HOLDER_KEY, c, fn, h, user, t.proof(h, user, user, t1 - 3600), T_UINT64, gas=300000)
    check("createdAt = block.timestamp - 3600 is accepted (mined)", r["status"] == "0x1" and
          t.chain.timestamp(int(r["blockNumber"], 16)) == t1, r["status"])
    t2 = t1 + 20
    ch.rpc("evm_setNextBlockTimestamp", t2)
    r = ch.send(HOLDER_KEY, c, fn, h, user, t.proof(h, user, user, t2 - 3601), T_UINT64, gas=300000)
    check("createdAt = block.timestamp - 3601 is refused (mined, reverted)", r["status"] == "0x0" and
          t.chain.timestamp(int(r["blockNumber"], 16)) == t2, r["status"])

    # a gateway change takes effect at once
    ch.send(DEPLOYER_KEY, c, "setGateway(address)", t.stranger)
    now = ch.latest_timestamp()
    t.expect_revert("after setGateway(stranger), the old gateway's proof",
                    validate(h, user, t.proof(h, user, user, now), T_UINT64), "InvalidSigner(address)", t.gateway)
    ok, out = validate(h, user, t.proof(h, user, user, now, key=STRANGER_KEY), T_UINT64)
    check("after setGateway(stranger), the stranger's proof is accepted", ok and out == h, out)
    ch.send(DEPLOYER_KEY, c, "setGateway(address)", t.gateway)

    # through an application: the app validates, keeps the input, computes with it next transaction
    hin = make_handle(T_UINT64)
    now = ch.latest_timestamp()
    r = t.forward(fn, hin, user, t.proof(hin, user, t.app, now), T_UINT64)
    check("app validates an input proof (transaction succeeds, no event)", r["status"] == "0x1" and
          not [lg for lg in r["logs"] if t.decode(lg)], r["status"])
    outs = t.run_op("Add", hin, v["u64a"])
    check("the validated input is an operand in a later transaction", outs is not None)
    t.expect_revert("a proof issued for the app, presented by the user",
                    validate(hin, user, t.proof(hin, user, t.app, now), T_UINT64), "ProofAppMismatch(address,address)",
                    t.app, user)
    hw = make_handle(100)
    t.forward(fn, hw, user, t.proof(hw, user, t.app, now), 100)
    outs = t.run_op("Add", hw, hw)
    check("add on a validated uint512 input: a uint512 result (the engine's wide plugin computes it)",
          outs and type_of(outs[0]) == 100, outs)


def test_token(t):
    ch, tok, c = t.chain, t.token, t.compute
    check("token: owner() = deployer", ch.view(tok, "owner()(address)").lower() == t.deployer)
    check("token: nox() = NoxCompute", ch.view(tok, "nox()(address)").lower() == c)
    check("token: name, symbol, decimals",
          [ch.call(tok, "name()(string)")[1], ch.view(tok, "symbol()(string)"), ch.view(tok, "decimals()(uint8)")]
          == ['"Nox Confidential Token"', '"NCT"', "6"])
    supply = ch.view(tok, "totalSupply()(bytes32)")
    check("token: totalSupply() is a uint64 handle of this chain",
          type_of(supply) == T_UINT64 and int(supply[-12:-4], 16) == CHAIN_ID and supply[-2:] == "00", supply)
    check("token: the owner may decrypt the supply", ch.view(c, "isViewer(bytes32,address)(bool)", supply, t.deployer)
          == "true")
    check("token: the stranger may not decrypt the supply",
          ch.view(c, "isViewer(bytes32,address)(bool)", supply, t.stranger) == "false")
    # the constructor's PlaintextToEncrypted(0) is in the logs from deployBlock on
    logs = json.loads(cast("logs", "--json", "--rpc-url", ch.url, "--from-block", t.deployment["deployBlock"],
                           "--address", c, cast("keccak", event_signature("PlaintextToEncrypted"))))
    mine = [t.verify_log(lg) for lg in logs if ("0x" + lg["topics"][1][-40:]) == tok]
    check("token constructor: PlaintextToEncrypted(0, uint64) by the token, after deployBlock",
          len(mine) == 1 and mine[0][2]["value"] == ZERO and mine[0][2]["teeType"] == T_UINT64
          and mine[0][2]["handle"] == supply, mine)
    check("token: balanceOf(holder) is undefined before any mint",
          ch.view(tok, "balanceOf(address)(bytes32)", t.holder) == ZERO)

    # mint
    t.expect_revert("token: mint by a stranger", ch.call(tok, "mint(address,uint64)", t.holder, 5, frm=t.stranger),
                    "NotOwner(address)", t.stranger)
    r = ch.send(DEPLOYER_KEY, tok, "mint(address,uint64)", t.holder, 1000)
    logs = t.op_logs(r)
    names = [x[0] for x in logs]
    check("mint: events PTE(zero balance), PTE(amount), Mint", names == ["PlaintextToEncrypted"] * 2 + ["Mint"], names)
    bal = ch.view(tok, "balanceOf(address)(bytes32)", t.holder)
    new_supply = ch.view(tok, "totalSupply()(bytes32)")
    if len(logs) == 3:
        zero, amount, mint = logs[0][2], logs[1][2], logs[2][2]
        check("mint: the holder's first balance is an encrypted 0", zero["value"] == ZERO and zero["teeType"] == T_UINT64)
        check("mint: the amount 1000 made public as a uint64", amount["value"] == word(1000)
              and amount["teeType"] == T_UINT64, amount)
        check("mint: Mint(balanceTo = zero, amount, totalSupply = old supply)",
              [mint["balanceTo"], mint["amount"], mint["totalSupply"]] == [zero["handle"], amount["handle"], supply], mint)
        check("mint: balanceOf = newBalanceTo, totalSupply = newTotalSupply",
              mint["newBalanceTo"] == bal and mint["newTotalSupply"] == new_supply, mint)
        check("mint: caller of every event is the token", all(x[1] == tok for x in logs))
        minted = [x for x in r["logs"] if x["address"].lower() == tok
                  and x["topics"][0] == cast("keccak", "Minted(address,uint64,bytes32)")]
        check("mint: the token's Minted(to, 1000, success)", len(minted) == 1
              and minted[0]["topics"][1] == word(int(t.holder, 16))
              and minted[0]["data"] == "0x" + "%064x" % 1000 + mint["success"][2:], minted)
        check("mint: the owner may decrypt success",
              ch.view(c, "isViewer(bytes32,address)(bool)", mint["success"], t.deployer) == "true")
    check("mint: the holder may decrypt the balance", ch.view(c, "isViewer(bytes32,address)(bool)", bal, t.holder)
          == "true")
    check("mint: the stranger may not", ch.view(c, "isViewer(bytes32,address)(bool)", bal, t.stranger) == "false")
    check("mint: the token owner may not", ch.view(c, "isViewer(bytes32,address)(bool)", bal, t.deployer) == "false")
    check("mint: the token keeps using the balance", ch.view(c, "isAllowed(bytes32,address)(bool)", bal, tok) == "true")
    check("mint: the holder may not compute with it", ch.view(c, "isAllowed(bytes32,address)(bool)", bal, t.holder)
          == "false")
    r = ch.send(DEPLOYER_KEY, tok, "mint(address,uint64)", t.holder, 500)
    logs = t.op_logs(r)
    check("second mint: no new zero balance; Mint(balanceTo = previous balance)",
          [x[0] for x in logs] == ["PlaintextToEncrypted", "Mint"] and logs[-1][2]["balanceTo"] == bal,
          [x[0] for x in logs])
    bal = ch.view(tok, "balanceOf(address)(bytes32)", t.holder)

    # transfer with a Gateway input proof
    fn = "transfer(address,bytes32,bytes)"
    now = ch.latest_timestamp()
    amount = make_handle(T_UINT64)
    proof = t.proof(amount, t.holder, tok, now)
    t.expect_revert("transfer: proof for another app", ch.call(tok, fn, t.recipient, amount,
                                                               t.proof(amount, t.holder, c, now), frm=t.holder),
                    "ProofAppMismatch(address,address)", c, tok)
    t.expect_revert("transfer: proof owned by someone else",
                    ch.call(tok, fn, t.recipient, amount, t.proof(amount, t.stranger, tok, now), frm=t.holder),
                    "ProofOwnerMismatch(address,address)", t.stranger, t.holder)
    t.expect_revert("transfer: the holder's proof presented by the stranger",
                    ch.call(tok, fn, t.recipient, amount, proof, frm=t.stranger),
                    "ProofOwnerMismatch(address,address)", t.holder, t.stranger)
    a8 = make_handle(T_UINT8)
    t.expect_revert("transfer: a uint8 amount", ch.call(tok, fn, t.recipient, a8, t.proof(a8, t.holder, tok, now),
                                                        frm=t.holder),
                    "HandleTypeMismatch(bytes32,uint8)", a8, T_UINT64)
    t.expect_revert("transfer: to self", ch.call(tok, fn, t.holder, amount, proof, frm=t.holder),
                    "InvalidReceiver(address)", t.holder)
    t.expect_revert("transfer: to 0", ch.call(tok, fn, "0x" + "00" * 20, amount, proof, frm=t.holder),
                    "InvalidReceiver(address)", "0x" + "00" * 20)
    r = ch.send(HOLDER_KEY, tok, fn, t.recipient, amount, proof)
    logs = t.op_logs(r)
    check("transfer: events PTE(recipient's zero), Transfer", [x[0] for x in logs] == ["PlaintextToEncrypted", "Transfer"],
          [x[0] for x in logs])
    new_bal = ch.view(tok, "balanceOf(address)(bytes32)", t.holder)
    rcpt_bal = ch.view(tok, "balanceOf(address)(bytes32)", t.recipient)
    if len(logs) == 2:
        tr = logs[1][2]
        check("transfer: Transfer(balanceFrom = holder's, balanceTo = zero, amount = the input)",
              [tr["balanceFrom"], tr["balanceTo"], tr["amount"]] == [bal, logs[0][2]["handle"], amount], tr)
        check("transfer: new balances stored", tr["newBalanceFrom"] == new_bal and tr["newBalanceTo"] == rcpt_bal, tr)
        check("transfer: the sender may decrypt success",
              ch.view(c, "isViewer(bytes32,address)(bool)", tr["success"], t.holder) == "true")
        ct = [x for x in r["logs"] if x["address"].lower() == tok
              and x["topics"][0] == cast("keccak", "ConfidentialTransfer(address,address,bytes32,bytes32)")]
        check("transfer: the token's ConfidentialTransfer(from, to, amount, success)", len(ct) == 1
              and ct[0]["topics"][1:] == [word(int(t.holder, 16)), word(int(t.recipient, 16))]
              and ct[0]["data"] == "0x" + amount[2:] + tr["success"][2:], ct)
    check("transfer: the recipient may decrypt its balance",
          ch.view(c, "isViewer(bytes32,address)(bool)", rcpt_bal, t.recipient) == "true")
    check("transfer: the sender may not decrypt the recipient's balance",
          ch.view(c, "isViewer(bytes32,address)(bool)", rcpt_bal, t.holder) == "false")
    check("transfer: the sender may decrypt its new balance",
          ch.view(c, "isViewer(bytes32,address)(bool)", new_bal, t.holder) == "true")
    check("transfer: the recipient may not decrypt the sender's balance",
          ch.view(c, "isViewer(bytes32,address)(bool)", new_bal, t.recipient) == "false")
    # and back: both balances exist now, so no zero is made
    back = make_handle(T_UINT64)
    r = ch.send(RECIPIENT_KEY, tok, fn, t.holder, back, t.proof(back, t.recipient, tok, ch.latest_timestamp()))
    logs = t.op_logs(r)
    check("transfer back: one Transfer(balanceFrom = recipient's, balanceTo = holder's)",
          [x[0] for x in logs] == ["Transfer"] and logs[0][2]["balanceFrom"] == rcpt_bal
          and logs[0][2]["balanceTo"] == new_bal, [x[0] for x in logs])

    # burn
    bal = ch.view(tok, "balanceOf(address)(bytes32)", t.holder)
    supply = ch.view(tok, "totalSupply()(bytes32)")
    t.expect_revert("token: burn by a stranger", ch.call(tok, "burn(address,uint64)", t.holder, 5, frm=t.stranger),
                    "NotOwner(address)", t.stranger)
    r = ch.send(DEPLOYER_KEY, tok, "burn(address,uint64)", t.holder, 100)
    logs = t.op_logs(r)
    check("burn: events PTE(amount), Burn", [x[0] for x in logs] == ["PlaintextToEncrypted", "Burn"],
          [x[0] for x in logs])
    if len(logs) == 2:
        b = logs[1][2]
        check("burn: Burn(balanceFrom, amount = PTE(100), totalSupply)",
              [b["balanceFrom"], b["amount"], b["totalSupply"]] == [bal, logs[0][2]["handle"], supply]
              and logs[0][2]["value"] == word(100), b)
        check("burn: new balance and supply stored",
              b["newBalanceFrom"] == ch.view(tok, "balanceOf(address)(bytes32)", t.holder)
              and b["newTotalSupply"] == ch.view(tok, "totalSupply()(bytes32)"), b)
        check("burn: the holder may decrypt the new balance",
              ch.view(c, "isViewer(bytes32,address)(bool)", b["newBalanceFrom"], t.holder) == "true")
        check("burn: the owner may decrypt the new supply",
              ch.view(c, "isViewer(bytes32,address)(bool)", b["newTotalSupply"], t.deployer) == "true")


# =============================================================================================
# Extension operators: the registry, compute(), register_operators.py, generated bindings
# =============================================================================================

COMPUTE_SIG = "compute(uint16,bytes32[],uint8[])"
COMPUTE_EVENT = "Compute(address,uint16,bytes32[],bytes32[])"
OPERATOR_SET_EVENT = "OperatorSet(uint16,uint8,uint8,bool)"
NOX_EVAL = os.environ.get("NOX_EVAL", os.path.join(BUILD, "bin", "nox-eval"))
PLUGIN_DIR = os.environ.get("NOX_PLUGIN_DIR", os.path.join(BUILD, "lib", "nox"))


def derive_packed(op, op_bytes, inputs, compute, caller, timestamp, index, type_code):
    """The result handle of spec §2, computed here: keccak256(abi.encodePacked(op as op_bytes bytes, inputs,
    compute, caller, uint256 timestamp, uint8 index)), first 26 bytes, chain id, type, version 0."""
    packed = ("%0*x" % (2 * op_bytes, op) + "".join(h[2:] for h in inputs) + compute[2:].lower()
              + caller[2:].lower() + "%064x" % timestamp + "%02x" % index)
    digest = cast("keccak", "0x" + packed)
    return "0x" + digest[2:54] + "%08x%02x00" % (CHAIN_ID, type_code)


def arr(items):
    return "[" + ",".join(str(i) for i in items) + "]"


# The operator registry's signatures (INoxCompute.Signature): slots are type codes or 256 + k (type variable k).
SIGNATURE_TUPLE = "(uint16[],uint16[],uint256[4])"
SET_OPERATOR = f"setOperator(uint16,{SIGNATURE_TUPLE}[],bool)"
SET_OPERATOR_ENABLED = "setOperatorEnabled(uint16,bool)"
OPERATOR_SIGNATURES = f"operatorSignatures(uint16)({SIGNATURE_TUPLE}[])"
V0, V1, V2, V3 = 256, 257, 258, 259
FIXED_TYPES = ((1 << 106) - 1) & ~0xc     # bool, address, 4..105


def tset(*codes):
    """A type set (nox_typeset as a 256-bit number) of these codes."""
    return sum(1 << c for c in set(codes))


def sig_arg(sigs):
    """Signature[] for cast: sigs = [(inputs, outputs, [set0, set1, set2, set3]), ...]."""
    return arr("(" + arr(ins) + "," + arr(outs) + "," + arr(hex(x) for x in sets) + ")" for ins, outs, sets in sigs)


def signatures_of(t, op_id):
    """operatorSignatures(op_id) as [(inputs, outputs, sets)] of ints."""
    out = cast("call", "--json", "--rpc-url", t.chain.url, t.compute, OPERATOR_SIGNATURES, op_id)
    (sigs,) = json.loads(out)
    return [(tuple(int(str(x), 0) for x in a), tuple(int(str(x), 0) for x in b), tuple(int(str(x), 0) for x in c))
            for a, b, c in sigs]


def unary(*codes):
    """One signature T -> T with T in {codes}."""
    return ([V0], [V0], [tset(*codes), 0, 0, 0])


def decode_compute(log):
    """(operatorId, inputs, outputs, well-formed) of a Compute log's data."""
    data = bytes.fromhex(log["data"][2:])
    def w(i):
        return int.from_bytes(data[32 * i:32 * i + 32], "big")
    def handles(at):
        return ["0x" + data[32 * (at + 1 + k):32 * (at + 2 + k)].hex() for k in range(w(at))]
    ins, outs = handles(w(1) // 32), handles(w(2) // 32)
    shape = (w(1) == 0x60 and w(2) == 0x60 + 32 * (1 + len(ins))
             and len(data) == 32 * (3 + 1 + len(ins) + 1 + len(outs)))
    return w(0), ins, outs, shape


def compute_logs(t, receipt):
    topic = cast("keccak", COMPUTE_EVENT)
    return [lg for lg in receipt["logs"] if lg["address"].lower() == t.compute and lg["topics"][0] == topic]


def check_compute_log(t, label, log, caller, op, inputs, types):
    """Checks one Compute log (topics, data, every output re-derived); returns its outputs."""
    got_op, ins, outs, shape = decode_compute(log)
    check(f"{label}: Compute topics = (keccak({COMPUTE_EVENT}), caller)",
          log["topics"] == [cast("keccak", COMPUTE_EVENT), word(int(caller, 16))], log["topics"])
    check(f"{label}: Compute data = (operatorId, inputs, outputs), ABI-encoded", shape and got_op == op
          and ins == [i.lower() for i in inputs] and len(outs) == len(types), (got_op, ins, outs))
    ts = t.chain.timestamp(int(log["blockNumber"], 16))
    want = [derive_packed(op, 2, inputs, t.compute, caller, ts, i, ty) for i, ty in enumerate(types)]
    check(f"{label}: {len(outs)} output(s) = first 26 bytes of keccak256(abi.encodePacked(uint16 {op}, inputs, "
          f"noxCompute, caller, timestamp, uint8 i)) ‖ chain ‖ type ‖ 0", outs == want, f"got {outs}, want {want}")
    check(f"{label}: output types are the declared ones", [type_of(o) for o in outs] == list(types))
    return outs


def test_python_derivation(t, v):
    """The Python derivation used for compute() agrees with core's (noxctl) on a protocol operation."""
    ts = t.chain.latest_timestamp()
    ins = [v["u64a"], v["u64b"]]
    check("derive_packed(op 1 as uint8) = noxctl handle derive",
          derive_packed(1, 1, ins, t.compute, t.app, ts, 0, T_UINT64) == t.derive(1, t.app, ts, 0, T_UINT64, ins))


def test_extension_abi(t):
    abi = t.compute_abi
    def entry(kind, name):
        e = [x for x in abi if x["type"] == kind and x.get("name") == name]
        return e[0] if len(e) == 1 else None
    def types(params):
        return [(p["name"], p["type"]) + ((p["indexed"],) if "indexed" in p else ()) for p in params]
    f = entry("function", "compute")
    check("ABI: compute(uint16 operatorId, bytes32[] inputs, uint8[] outputTypes) returns (bytes32[] outputs)",
          f and types(f["inputs"]) == [("operatorId", "uint16"), ("inputs", "bytes32[]"), ("outputTypes", "uint8[]")]
          and types(f["outputs"]) == [("outputs", "bytes32[]")] and f["stateMutability"] == "nonpayable", f)
    f = entry("function", "setOperator")
    sig_components = [{"name": "inputs", "type": "uint16[]", "internalType": "uint16[]"},
                      {"name": "outputs", "type": "uint16[]", "internalType": "uint16[]"},
                      {"name": "typeSets", "type": "uint256[4]", "internalType": "uint256[4]"}]
    check("ABI: setOperator(uint16 operatorId, Signature[] signatures, bool enabled), "
          "Signature = (uint16[] inputs, uint16[] outputs, uint256[4] typeSets)",
          f and types(f["inputs"]) == [("operatorId", "uint16"), ("signatures", "tuple[]"), ("enabled", "bool")]
          and f["inputs"][1]["components"] == sig_components and f["outputs"] == [], f)
    f = entry("function", "setOperatorEnabled")
    check("ABI: setOperatorEnabled(uint16 operatorId, bool enabled)",
          f and types(f["inputs"]) == [("operatorId", "uint16"), ("enabled", "bool")] and f["outputs"] == [], f)
    f = entry("function", "operatorSignatures")
    check("ABI: operatorSignatures(uint16) view returns (Signature[])",
          f and f["stateMutability"] == "view" and [o["type"] for o in f["outputs"]] == ["tuple[]"]
          and f["outputs"][0]["components"] == sig_components, f)
    f = entry("function", "MAX_EVENTS_PER_TRANSACTION")
    check("ABI: MAX_EVENTS_PER_TRANSACTION() view returns (uint256)",
          f and f["stateMutability"] == "view" and [o["type"] for o in f["outputs"]] == ["uint256"], f)
    f = entry("function", "operatorInfo")
    check("ABI: operatorInfo(uint16) view returns (uint8 nInputs, uint8 nOutputs, bool enabled, bool registered)",
          f and f["stateMutability"] == "view" and types(f["outputs"]) == [("nInputs", "uint8"), ("nOutputs", "uint8"),
                                                                           ("enabled", "bool"), ("registered", "bool")])
    e = entry("event", "Compute")
    check("ABI: event Compute(address indexed caller, uint16 operatorId, bytes32[] inputs, bytes32[] outputs)",
          e and types(e["inputs"]) == [("caller", "address", True), ("operatorId", "uint16", False),
                                       ("inputs", "bytes32[]", False), ("outputs", "bytes32[]", False)], e)
    e = entry("event", "OperatorSet")
    check("ABI: event OperatorSet(uint16 operatorId, uint8 nInputs, uint8 nOutputs, bool enabled)",
          e and types(e["inputs"]) == [("operatorId", "uint16", False), ("nInputs", "uint8", False),
                                       ("nOutputs", "uint8", False), ("enabled", "bool", False)], e)
    for sig in ["ReservedOperator(uint16)", "UnknownOperator(uint16)", "OperatorDisabled(uint16)",
                "WrongArity(uint16,uint256,uint256)", "InvalidArity(uint16,uint256,uint256)",
                "InvalidSignatureCount(uint16,uint256)", "InvalidSlot(uint16,uint256,uint256,uint16)",
                "InvalidTypeSet(uint16,uint256,uint256,uint256)", "NoMatchingImplementation(uint16,uint8[],uint8[])",
                "TransactionBudgetExceeded(uint256)"]:
        e = entry("error", sig.split("(")[0])
        check(f"ABI: error {sig}", e and sig == e["name"] + "(" + ",".join(i["type"] for i in e["inputs"]) + ")", e)


# the 8 -> 8 operator 200 of test_registry and test_compute: two signatures of concrete types, the second
# with the inputs reversed
INS8_TYPES = [T_UINT64, T_UINT64, T_UINT8, T_BOOL, T_ADDRESS, T_BYTES32, T_INT8, T_UINT256]
OUTS8_TYPES = [T_BOOL, T_ADDRESS, T_UINT8, T_UINT64, T_UINT256, T_INT8, T_INT256, 100]
SIGS_200 = [(INS8_TYPES, OUTS8_TYPES, [0] * 4), (INS8_TYPES[::-1], OUTS8_TYPES, [0] * 4)]


def test_registry(t):
    c, ch = t.compute, t.chain
    info = "operatorInfo(uint16)(uint8,uint8,bool,bool)"
    er = t.expect_revert
    check("operatorInfo of an id never registered: (0, 0, false, false)",
          ch.call(c, info, 300)[1].split() == ["0", "0", "false", "false"])
    check("operatorSignatures of an id never registered: []", signatures_of(t, 300) == [])
    one = [unary(T_UINT8)]
    er("setOperator by a stranger", ch.call(c, SET_OPERATOR, 200, sig_arg(one), "true", frm=t.stranger),
       "NotOwner(address)", t.stranger)
    for op in [0, 18, 63]:
        er(f"setOperator({op}) (a protocol id)", ch.call(c, SET_OPERATOR, op, sig_arg(one), "true", frm=t.deployer),
           "ReservedOperator(uint16)", op)

    def bad(label, sigs, error, *args):
        er(f"setOperator(200, {label})", ch.call(c, SET_OPERATOR, 200, sig_arg(sigs), "true", frm=t.deployer),
           error, *args)

    bad("no signature", [], "InvalidSignatureCount(uint16,uint256)", 200, 0)
    bad("17 signatures", [unary(4 + i) for i in range(17)], "InvalidSignatureCount(uint16,uint256)", 200, 17)
    for nin, nout in [(0, 1), (9, 1), (1, 0), (1, 9), (0, 0)]:
        bad(f"{nin} -> {nout}", [([T_UINT8] * nin, [T_UINT8] * nout, [0] * 4)], "InvalidArity(uint16,uint256,uint256)",
            200, nin, nout)
    bad("a second signature of another arity", [unary(T_UINT8), ([V0, V0], [V0], [tset(5), 0, 0, 0])],
        "InvalidArity(uint16,uint256,uint256)", 200, 2, 1)
    for label, sig, pos, slot in [("input slot 2 (bytes)", ([2], [T_UINT8], [0] * 4), 0, 2),
                                  ("output slot 3 (string)", ([T_UINT8], [3], [0] * 4), 8, 3),
                                  ("input slot 106 (reserved)", ([T_UINT8, 106], [T_UINT8], [0] * 4), 1, 106),
                                  ("output slot 255", ([T_UINT8], [T_UINT8, 255], [0] * 4), 9, 255),
                                  ("type variable 4 (slot 260)", ([V0, 260], [V0], [tset(4), 0, 0, 0]), 1, 260),
                                  ("slot 65535", ([T_UINT8], [65535], [0] * 4), 8, 65535)]:
        bad(label, [sig], "InvalidSlot(uint16,uint256,uint256,uint16)", 200, 0, pos, slot)
    bad("a bad slot in signature 1", [unary(T_UINT8), ([V0], [2], [tset(5), 0, 0, 0])],
        "InvalidSlot(uint16,uint256,uint256,uint16)", 200, 1, 8, 2)
    for label, sets, k in [("a used variable admitting nothing", [0, 0, 0, 0], 0),
                           ("a variable admitting bytes", [tset(4, 2), 0, 0, 0], 0),
                           ("a variable admitting string", [tset(3), 0, 0, 0], 0),
                           ("a variable admitting reserved 106", [tset(4, 106), 0, 0, 0], 0),
                           ("a variable admitting 255", [tset(255), 0, 0, 0], 0),
                           ("an unused variable 1 that is not 0", [tset(4), tset(4), 0, 0], 1),
                           ("an unused variable 3 that is not 0", [tset(4), 0, 0, 1], 3)]:
        bad(label, [([V0], [V0], sets)], "InvalidTypeSet(uint16,uint256,uint256,uint256)", 200, 0, k, sets[k])
    bad("cast's U with an empty set", [([V0], [V1], [tset(4), 0, 0, 0])],
        "InvalidTypeSet(uint16,uint256,uint256,uint256)", 200, 0, 1, 0)
    check("nothing was registered by the refused calls", ch.call(c, info, 200)[1].split() == ["0", "0", "false", "false"])

    r = ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 200, sig_arg(SIGS_200), "true")
    logs = [lg for lg in r["logs"] if lg["address"].lower() == c]
    check("setOperator(200, two 8 -> 8 signatures, true): one OperatorSet(uint16,uint8,uint8,bool) event, "
          "nothing indexed", len(logs) == 1 and logs[0]["topics"] == [cast("keccak", OPERATOR_SET_EVENT)]
          and logs[0]["data"] == "0x" + "%064x%064x%064x%064x" % (200, 8, 8, 1), logs)
    check("operatorInfo(200) = (8, 8, true, true)", ch.call(c, info, 200)[1].split() == ["8", "8", "true", "true"])
    check("operatorSignatures(200) = what was registered",
          signatures_of(t, 200) == [(tuple(a), tuple(b), tuple(x)) for a, b, x in SIGS_200], signatures_of(t, 200))
    # every slot kind and all four variables, round trip; then a re-registration replaces everything
    four = [([V0, V1, V2, V3, T_BOOL], [V3, V0, T_BYTES32], [tset(4, 5), tset(100, 105), tset(0), tset(1, 99)]),
            ([V0, V0, V1, V1, V2], [V2, V1, V3], [tset(35), tset(67, 36), FIXED_TYPES, tset(105)])]
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 201, sig_arg(four), "true")
    check("operatorSignatures(201): four type variables (bit 0 and bit 105 included), two signatures, round trip",
          signatures_of(t, 201) == [(tuple(a), tuple(b), tuple(x)) for a, b, x in four], signatures_of(t, 201))
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 201, sig_arg([([V0, V0, V0, V0, V0], [V0, V0, V0], [tset(4), 0, 0, 0])]),
            "false")
    check("re-registered 201 with one signature using variable 0 only: the earlier variables' words are not "
          "returned", signatures_of(t, 201) == [((V0,) * 5, (V0,) * 3, (tset(4), 0, 0, 0))], signatures_of(t, 201))
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 65535, sig_arg([unary(T_UINT64)]), "false")
    check("setOperator(65535, [uint64 -> uint64], false): registered, disabled",
          ch.call(c, info, 65535)[1].split() == ["1", "1", "false", "true"])
    er("setOperatorEnabled by a stranger", ch.call(c, SET_OPERATOR_ENABLED, 65535, "true", frm=t.stranger),
       "NotOwner(address)", t.stranger)
    er("setOperatorEnabled(300) (never registered)", ch.call(c, SET_OPERATOR_ENABLED, 300, "true", frm=t.deployer),
       "UnknownOperator(uint16)", 300)
    r = ch.send(DEPLOYER_KEY, c, SET_OPERATOR_ENABLED, 201, "true")
    logs = [lg for lg in r["logs"] if lg["address"].lower() == c]
    check("setOperatorEnabled(201, true): enabled, signatures kept, OperatorSet(201, 5, 3, true)",
          ch.call(c, info, 201)[1].split() == ["5", "3", "true", "true"] and len(logs) == 1
          and logs[0]["data"] == "0x" + "%064x%064x%064x%064x" % (201, 5, 3, 1)
          and signatures_of(t, 201) == [((V0,) * 5, (V0,) * 3, (tset(4), 0, 0, 0))], logs)

    # contracts/register_operators.py against this build's nox-eval and plugins
    work_cfg = os.path.join(t.work, "operators.yaml")
    with open(os.path.join(ROOT, "config", "operators.yaml")) as f:
        text = f.read().replace("../build/lib/nox/", PLUGIN_DIR.rstrip("/") + "/")
    with open(work_cfg, "w") as f:
        f.write(text)
    listing = run(NOX_EVAL, "--config", work_cfg, "--list").stdout
    want = {}
    for line in listing.splitlines():
        m = re.match(r"(\w+)\s+id=(\d+)\s+(\d+)->(\d+)", line)
        if m and int(m.group(2)) >= 64:
            want[int(m.group(2))] = (m.group(1), int(m.group(3)), int(m.group(4)))
    check("nox-eval --list: the 13 extension operators 64..76", sorted(want) == list(range(64, 77)), want)
    doc = json.loads(run(NOX_EVAL, "--config", work_cfg, "--signatures").stdout)
    want_sigs = {op["id"]: [(tuple(m["inputs"]), tuple(m["outputs"]), tuple(int(x, 16) for x in m["typeSets"]))
                            for m in op["implementations"]] for op in doc["operators"] if op["id"] >= 64}
    check("nox-eval --signatures: the same operators, names and arities as --list",
          {op["id"]: (op["name"], op["nInputs"], op["nOutputs"]) for op in doc["operators"] if op["id"] >= 64} == want,
          doc)
    check("nox-eval --signatures: rem has two implementations (narrow, wide), cast's result is its own variable U",
          len(want_sigs.get(67, [])) == 2 and want_sigs.get(76, [((), (), ())])[0][:2] == ((V0,), (V1,)), want_sigs)
    script = os.path.join(ROOT, "contracts", "register_operators.py")

    def register(key=DEPLOYER_KEY, config=work_cfg, compute=c):
        return run(sys.executable, script, "--rpc-url", ch.url, "--private-key", key, "--compute", compute,
                   "--nox-eval", NOX_EVAL, "--config", config, "--cast", CAST)

    r = register(key=STRANGER_KEY)
    check("register_operators.py with a key that is not the owner: exit 1, nothing registered",
          r.returncode == 1 and ch.call(c, info, 64)[1].split()[3] == "false", r.stdout + r.stderr)
    r = register(compute="0x1234")
    check("register_operators.py --compute 0x1234: exit 2", r.returncode == 2, r.stderr)
    bad = os.path.join(t.work, "bad.yaml")
    with open(bad, "w") as f:
        f.write("plugins:\n  - path: /nonexistent/plugin.so\n")
    r = register(config=bad)
    check("register_operators.py with a configuration nox-eval refuses: exit 1, nox-eval's reason",
          r.returncode == 1 and "nonexistent" in r.stderr, r.stderr)

    first = int(cast("block-number", "--rpc-url", ch.url))
    r = register()
    check("register_operators.py: exit 0, 13 registered", r.returncode == 0 and
          "13 registered, 0 already registered, 0 left disabled" in r.stdout, r.stdout + r.stderr)
    check("register_operators.py: one line per operator, with its transaction",
          all(re.search(rf"^{name}\s+id={i}\s+{nin}->{nout}\s+registered in transaction 0x", r.stdout, re.M)
              for i, (name, nin, nout) in want.items()), r.stdout)
    check("register_operators.py: the protocol's ids are not registered",
          ch.call(c, info, 1)[1].split() == ["0", "0", "false", "false"] and "add " not in r.stdout)
    got = {i: ch.call(c, info, i)[1].split() for i in want}
    check("operatorInfo of 64..76 = the arity nox-eval lists, enabled",
          all(got[i] == [str(nin), str(nout), "true", "true"] for i, (_, nin, nout) in want.items()), got)
    got = {i: signatures_of(t, i) for i in want}
    check("operatorSignatures of 64..76 = nox-eval --signatures (every implementation, in order)",
          got == want_sigs, got)
    logs = json.loads(cast("logs", "--json", "--rpc-url", ch.url, "--from-block", first + 1, "--address", c,
                           cast("keccak", OPERATOR_SET_EVENT)))
    check("13 OperatorSet events", sorted(int(lg["data"][2:66], 16) for lg in logs) == sorted(want), len(logs))
    block = int(cast("block-number", "--rpc-url", ch.url))
    r = register()
    check("register_operators.py again: exit 0, nothing sent (idempotent)", r.returncode == 0 and
          "0 registered, 13 already registered" in r.stdout and int(cast("block-number", "--rpc-url", ch.url)) == block,
          r.stdout + r.stderr)
    # an operator the owner disabled stays disabled; another arity or other signatures are re-registered
    # (a disabled one stays disabled)
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR_ENABLED, 71, "false")
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 65, sig_arg([([V0] * 3, [V0] * 2, [tset(T_UINT8), 0, 0, 0])]), "true")
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 69, sig_arg([([V0, V0], [V0], [tset(T_UINT8), 0, 0, 0])]), "true")
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 70, sig_arg([([V0, V0], [V0], [tset(T_UINT8), 0, 0, 0])]), "false")
    r = register()
    check("register_operators.py: a disabled operator is left disabled, another arity re-registered, other "
          "signatures re-registered (enabled, or left disabled)",
          r.returncode == 0 and re.search(r"^not\s+id=71\s+1->1\s+registered but disabled by the owner", r.stdout, re.M)
          and re.search(r"^max\s+id=65\s+2->1\s+registered \(was 3->2\) in transaction", r.stdout, re.M)
          and re.search(r"^or\s+id=69\s+2->1\s+registered \(its signatures changed\) in transaction", r.stdout, re.M)
          and re.search(r"^xor\s+id=70\s+2->1\s+registered \(its signatures changed\), left disabled", r.stdout, re.M)
          and "3 registered, 9 already registered, 1 left disabled" in r.stdout
          and ch.call(c, info, 71)[1].split() == ["1", "1", "false", "true"]
          and ch.call(c, info, 65)[1].split() == ["2", "1", "true", "true"]
          and ch.call(c, info, 69)[1].split() == ["2", "1", "true", "true"]
          and ch.call(c, info, 70)[1].split() == ["2", "1", "false", "true"]
          and all(signatures_of(t, i) == want_sigs[i] for i in [65, 69, 70, 71]), r.stdout + r.stderr)
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR_ENABLED, 70, "true")


def test_compute(t, v):
    c, ch = t.compute, t.chain
    fwd = t.forward_call
    a, b = v["u64a"], v["u64b"]

    # happy path: min on two uint64, outputs kept by the app
    r = ch.send(DEPLOYER_KEY, t.app, "computeKeep(uint16,bytes32[],uint8[])", 64, arr([a, b]), arr([T_UINT64]))
    logs = compute_logs(t, r)
    outs = []
    if check("compute(64 min, [u64, u64], [uint64]): one Compute event, no §9 event",
             r["status"] == "0x1" and len(logs) == 1 and not [lg for lg in r["logs"] if t.decode(lg)], r["status"]):
        outs = check_compute_log(t, "compute(min)", logs[0], t.app, 64, [a, b], [T_UINT64])
        ts = ch.timestamp(int(logs[0]["blockNumber"], 16))
        check("compute(min): the uint16 preimage differs from the uint8 one of §2",
              outs and outs[0] != derive_packed(64, 1, [a, b], c, t.app, ts, 0, T_UINT64))
        check("compute(min): the result is a valid handle of this chain, version 0",
              outs and int(outs[0][-12:-4], 16) == CHAIN_ID and outs[0][-2:] == "00")
    if outs:
        check("the app keeps the output (allow after compute)",
              ch.view(c, "isAllowed(bytes32,address)(bool)", outs[0], t.app) == "true")
        check("nobody else may use it", ch.view(c, "isAllowed(bytes32,address)(bool)", outs[0], t.stranger) == "false")
    # 71 (not) was disabled by the owner in test_registry
    t.expect_revert("compute(71) (disabled by the owner)", fwd(COMPUTE_SIG, 71, arr([a]), arr([T_UINT64])),
                    "OperatorDisabled(uint16)", 71)
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR_ENABLED, 71, "true")
    if outs:
        r = ch.send(DEPLOYER_KEY, t.app, "computeKeep(uint16,bytes32[],uint8[])", 71, arr([outs[0]]), arr([T_UINT64]))
        lg = compute_logs(t, r)
        if check("re-enabled not: a compute output is an operand of a later compute", len(lg) == 1, r["status"]):
            check_compute_log(t, "compute(not)", lg[0], t.app, 71, [outs[0]], [T_UINT64])

    # eight inputs, eight outputs of eight types (id 200, registered 8 -> 8 above)
    ins8 = [v["u64a"], v["u64b"], v["u8a"], v["true"], v["addr1"], v["b32a"], v["i8a"], v["u256a"]]
    types8 = OUTS8_TYPES
    r = ch.send(DEPLOYER_KEY, t.app, "computeKeep(uint16,bytes32[],uint8[])", 200, arr(ins8), arr(types8))
    lg = compute_logs(t, r)
    if check("compute(200, 8 inputs of 8 types, 8 outputs incl. uint512): one Compute event", len(lg) == 1,
             r["status"]):
        check_compute_log(t, "compute(200, 8 -> 8)", lg[0], t.app, 200, ins8, types8)

    # transient ACL: inside the transaction the app may use every output, but is no viewer; after it, nothing
    # (reversed inputs: the kept outputs above may share this call's timestamp, and so its handles)
    ok, out = ch.call(t.app, "computeProbe(uint16,bytes32[],uint8[])(bytes32[],bool[],bool[])", 200,
                      arr(ins8[::-1]), arr(types8))
    lines = out.splitlines() if ok else []
    check("compute: every output transiently allowed to the caller, not viewable (inside the transaction)",
          ok and len(lines) == 3 and lines[1] == "[" + ", ".join(["true"] * 8) + "]"
          and lines[2] == "[" + ", ".join(["false"] * 8) + "]", repr(out))
    # (b, a): not the inputs of the kept min above, which may share its block timestamp and so its handle
    r = t.forward(COMPUTE_SIG, 64, arr([b, a]), arr([T_UINT64]), transient=True)
    lg = compute_logs(t, r)
    if check("compute through forwardTransient: one Compute event", len(lg) == 1, r["status"]):
        o = check_compute_log(t, "compute(min) transient", lg[0], t.app, 64, [b, a], [T_UINT64])
        check("compute: the transient access ended with the transaction",
              o and ch.view(c, "isAllowed(bytes32,address)(bool)", o[0], t.app) == "false")

    # every revert, with its named error and arguments
    er = t.expect_revert
    for op in [0, 1, 18, 63]:
        er(f"compute({op}) (a protocol id)", fwd(COMPUTE_SIG, op, arr([a, b]), arr([T_UINT64])),
           "ReservedOperator(uint16)", op)
    er("compute(999) (never registered)", fwd(COMPUTE_SIG, 999, arr([a, b]), arr([T_UINT64])),
       "UnknownOperator(uint16)", 999)
    er("compute(65535) (registered disabled)", fwd(COMPUTE_SIG, 65535, arr([a]), arr([T_UINT64])),
       "OperatorDisabled(uint16)", 65535)
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR_ENABLED, 68, "false")
    er("compute(68) after setOperatorEnabled(68, false)", fwd(COMPUTE_SIG, 68, arr([a, b]), arr([T_UINT64])),
       "OperatorDisabled(uint16)", 68)
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR_ENABLED, 68, "true")
    ok, _ = ch.call(t.app, "computeProbe(uint16,bytes32[],uint8[])(bytes32[],bool[],bool[])", 68, arr([a, b]),
                    arr([T_UINT64]))
    check("compute(68) after re-enabling", ok)
    for ins, types in [([a], [T_UINT64]), ([a, b, a], [T_UINT64]), ([a, b], [T_UINT64, T_UINT64]), ([a, b], []),
                       ([], [T_UINT64]), ([], [])]:
        er(f"compute(64, {len(ins)} inputs, {len(types)} outputs)", fwd(COMPUTE_SIG, 64, arr(ins), arr(types)),
           "WrongArity(uint16,uint256,uint256)", 64, len(ins), len(types))
    er("compute(64) wrong arity is checked before the inputs", fwd(COMPUTE_SIG, 64, arr([ZERO]), arr([T_UINT64])),
       "WrongArity(uint16,uint256,uint256)", 64, 1, 1)
    for bad in [106, 255]:
        er(f"compute(64, output type {bad})", fwd(COMPUTE_SIG, 64, arr([a, b]), arr([bad])), "UnknownType(uint8)", bad)
    for bad in [2, 3]:
        er(f"compute(64, output type {bad}: dynamic)", fwd(COMPUTE_SIG, 64, arr([a, b]), arr([bad])),
           "UnsupportedType(uint8)", bad)
    er("compute(64, [0, b])", fwd(COMPUTE_SIG, 64, arr([ZERO, b]), arr([T_UINT64])), "InvalidHandle(bytes32)", ZERO)
    other_chain = make_handle(T_UINT64, chain_id=1)
    er("compute(64, [a, handle of chain 1])", fwd(COMPUTE_SIG, 64, arr([a, other_chain]), arr([T_UINT64])),
       "InvalidHandle(bytes32)", other_chain)
    v1 = make_handle(T_UINT64, version=1)
    er("compute(64, [version 1, b])", fwd(COMPUTE_SIG, 64, arr([v1, b]), arr([T_UINT64])), "InvalidHandle(bytes32)",
       v1)
    t106 = make_handle(106)
    er("compute(64, [a, type 106])", fwd(COMPUTE_SIG, 64, arr([a, t106]), arr([T_UINT64])), "UnknownType(uint8)", 106)
    stranger_h = make_handle(T_UINT64)
    er("compute(64, [a, a handle the app may not use])",
       fwd(COMPUTE_SIG, 64, arr([a, stranger_h]), arr([T_UINT64])), "NotAllowed(bytes32,address)", stranger_h, t.app)
    er("compute(64, [a, b]) by the stranger (the app's handles)",
       ch.call(c, COMPUTE_SIG, 64, arr([a, b]), arr([T_UINT64]), frm=t.stranger), "NotAllowed(bytes32,address)", a,
       t.stranger)
    er("compute: inputs are checked before output types", fwd(COMPUTE_SIG, 64, arr([ZERO, b]), arr([255])),
       "InvalidHandle(bytes32)", ZERO)


def test_type_rules(t, v):
    """compute() applies the registered signatures: what the engine (nox_op_resolve) refuses reverts
    NoMatchingImplementation; tests/contracts/test_type_conformance.py checks every operator exhaustively."""
    c, ch, fwd, er = t.compute, t.chain, t.forward_call, t.expect_revert
    nm = "NoMatchingImplementation(uint16,uint8[],uint8[])"
    u64a, u64b, u8a = v["u64a"], v["u64b"], v["u8a"]
    er("compute(66 neg, [uint64], [bool]): the output must be the input's type",
       fwd(COMPUTE_SIG, 66, arr([u64a]), arr([T_BOOL])), nm, 66, arr([T_UINT64]), arr([T_BOOL]))
    er("compute(64 min, [uint64, uint8], [uint64]): operands share one type",
       fwd(COMPUTE_SIG, 64, arr([u64a, u8a]), arr([T_UINT64])), nm, 64, arr([T_UINT64, T_UINT8]), arr([T_UINT64]))
    er("compute(64 min, [bool, bool], [bool]): min takes no bool",
       fwd(COMPUTE_SIG, 64, arr([v["true"], v["false"]]), arr([T_BOOL])), nm, 64, arr([T_BOOL, T_BOOL]),
       arr([T_BOOL]))
    er("compute(72 shl, [address, address], [address])",
       fwd(COMPUTE_SIG, 72, arr([v["addr1"], v["addr2"]]), arr([T_ADDRESS])), nm, 72, arr([T_ADDRESS, T_ADDRESS]),
       arr([T_ADDRESS]))
    er("compute(76 cast, [uint64], [address]): address is not in cast's U",
       fwd(COMPUTE_SIG, 76, arr([u64a]), arr([T_ADDRESS])), nm, 76, arr([T_UINT64]), arr([T_ADDRESS]))
    er("compute(76 cast, [bytes32], [uint8]): bytes32 is not in cast's T",
       fwd(COMPUTE_SIG, 76, arr([v["b32a"]]), arr([T_UINT8])), nm, 76, arr([T_BYTES32]), arr([T_UINT8]))
    er("compute(66, [uint64], [bytes]): the output type check (UnsupportedType) comes first",
       fwd(COMPUTE_SIG, 66, arr([u64a]), arr([2])), "UnsupportedType(uint8)", 2)
    er("compute(66, [uint64], [reserved 200]): UnknownType comes first",
       fwd(COMPUTE_SIG, 66, arr([u64a]), arr([200])), "UnknownType(uint8)", 200)
    for label, op, ins, outs in [("70 xor, [bool, bool] -> bool", 70, [v["true"], v["false"]], [T_BOOL]),
                                 ("76 cast, uint64 -> int8 (an output-only variable)", 76, [u64a], [T_INT8]),
                                 ("76 cast, uint64 -> uint2048", 76, [u64a], [102]),
                                 ("76 cast, bool -> int256", 76, [v["true"]], [T_INT256]),
                                 ("67 rem, narrow implementation", 67, [u64a, u64b], [T_UINT64])]:
        ok, out = ch.call(t.app, "computeProbe(uint16,bytes32[],uint8[])(bytes32[],bool[],bool[])", op, arr(ins),
                          arr(outs))
        check(f"compute({label}) accepted", ok, out)
    # a wide handle made on-chain (cast to uint512), then rem's second (wide) implementation
    r = ch.send(DEPLOYER_KEY, t.app, "computeKeep(uint16,bytes32[],uint8[])", 76, arr([v["u256a"]]), arr([100]))
    lg = compute_logs(t, r)
    if check("cast(uint256 -> uint512) kept by the app", len(lg) == 1, r["status"]):
        w = check_compute_log(t, "compute(cast -> uint512)", lg[0], t.app, 76, [v["u256a"]], [100])[0]
        ok, out = ch.call(t.app, "computeProbe(uint16,bytes32[],uint8[])(bytes32[],bool[],bool[])", 67, arr([w, w]),
                          arr([100]))
        check("compute(67 rem, [uint512, uint512], [uint512]): the wide implementation accepts", ok, out)
        er("compute(67 rem, [uint512, uint64], [uint512])", fwd(COMPUTE_SIG, 67, arr([w, u64a]), arr([100])), nm, 67,
           arr([100, T_UINT64]), arr([100]))
        er("compute(67 rem, [uint512, uint512], [uint1024])", fwd(COMPUTE_SIG, 67, arr([w, w]), arr([101])), nm, 67,
           arr([100, 100]), arr([101]))
        for name in ["Add", "SafeMul", "Lt", "Eq"]:
            outs = t.run_op(name, w, w)
            check(f"{name}(uint512, uint512) accepted, as the engine's wide plugin", outs is not None)
        outs = t.run_op("Select", v["true"], w, w)
        check("Select(bool, uint512, uint512) gives a uint512", outs and type_of(outs[0]) == 100, outs)
        er("transfer(uint512 x3): token operations take uint8..uint256",
           fwd("transfer(bytes32,bytes32,bytes32)", w, w, w), "NotUnsigned(bytes32)", w)
    # the owner narrows an operator: compute follows the registry at once
    ch.send(DEPLOYER_KEY, c, SET_OPERATOR, 66, sig_arg([unary(T_UINT8)]), "true")
    er("compute(66, [uint64]) once neg is registered for uint8 only", fwd(COMPUTE_SIG, 66, arr([u64a]),
                                                                          arr([T_UINT64])),
       nm, 66, arr([T_UINT64]), arr([T_UINT64]))
    ok, out = ch.call(t.app, "computeProbe(uint16,bytes32[],uint8[])(bytes32[],bool[],bool[])", 66, arr([u8a]),
                      arr([T_UINT8]))
    check("compute(66, [uint8]) still accepted", ok, out)


def test_budget(t, v):
    """MAX_EVENTS_PER_TRANSACTION: 256 events accepted, the 257th reverts, whichever operation it is."""
    ch, app = t.chain, t.app
    check("MAX_EVENTS_PER_TRANSACTION() = 256", ch.view(t.compute, "MAX_EVENTS_PER_TRANSACTION()(uint256)") == "256")
    over = ("TransactionBudgetExceeded(uint256)", 256)
    sig = "emitMany(uint256,uint256,bytes)"
    r = ch.send(DEPLOYER_KEY, app, sig, 0, 256, "0x", gas=20_000_000)
    n = len([lg for lg in r["logs"] if t.decode(lg)])
    check("256 plaintextToEncrypted in one transaction: mined, 256 events", r["status"] == "0x1" and n == 256,
          (r["status"], n))
    r = ch.send(DEPLOYER_KEY, app, sig, 0, 256, "0x", gas=20_000_000)
    check("another 256 in the next transaction: the count starts again at 0", r["status"] == "0x1", r["status"])
    t.expect_revert("257 plaintextToEncrypted", ch.call(app, sig, 0, 257, "0x"), *over)
    r = run(CAST, "send", "--json", "--rpc-url", ch.url, "--private-key", DEPLOYER_KEY, "--gas-limit", "20000000",
            app, sig, "0", "257", "0x")
    check("257 plaintextToEncrypted sent anyway (no estimate): mined, reverted",
          r.returncode != 0 or json.loads(r.stdout)["status"] == "0x0", r.stdout + r.stderr)
    ok, out = ch.call(app, sig, 40, 256, "0x")
    check("40 reverted (caught) operations do not count: 256 more are accepted", ok, out)
    u8a, u8b, u64a, u64b, u64c = v["u8a"], v["u8b"], v["u64a"], v["u64b"], v["u64c"]
    for label, data in [("add", cast("calldata", "add(bytes32,bytes32)", u8a, u8b)),
                        ("safeAdd", cast("calldata", "safeAdd(bytes32,bytes32)", u8a, u8b)),
                        ("eq", cast("calldata", "eq(bytes32,bytes32)", u8a, u8b)),
                        ("select", cast("calldata", "select(bytes32,bytes32,bytes32)", v["true"], u8a, u8b)),
                        ("transfer", cast("calldata", "transfer(bytes32,bytes32,bytes32)", u64a, u64b, u64c)),
                        ("mint", cast("calldata", "mint(bytes32,bytes32,bytes32)", u64a, u64b, u64c)),
                        ("burn", cast("calldata", "burn(bytes32,bytes32,bytes32)", u64a, u64b, u64c)),
                        ("compute(min)", cast("calldata", COMPUTE_SIG, 64, arr([u64a, u64b]), arr([T_UINT64]))),
                        ("plaintextToEncrypted", cast("calldata", "plaintextToEncrypted(bytes32,uint8)", word(1), 4))]:
        ok, out = ch.call(app, sig, 0, 255, data)
        check(f"255 plaintextToEncrypted + {label} = 256 events: accepted", ok, out)
        t.expect_revert(f"256 plaintextToEncrypted + {label} = 257 events", ch.call(app, sig, 0, 256, data), *over)


def test_bindings_app(t):
    """NoxBindingsApp: the minmax bindings generated by nox-plugin-check --solidity, against anvil."""
    ch, c = t.chain, t.compute
    art = load_artifact(TEST_ARTIFACTS, "NoxBindingsApp")
    receipt = json.loads(cast("send", "--json", "--rpc-url", ch.url, "--private-key", DEPLOYER_KEY, "--create",
                              art["bytecode"] + cast("abi-encode", "constructor(address)", c)[2:]))
    app = receipt["contractAddress"].lower()
    r = ch.send(DEPLOYER_KEY, app, "minOf(uint64,uint64)", 7, 3)
    ptes = [x for x in t.op_logs(r) if x[0] == "PlaintextToEncrypted"]
    lg = compute_logs(t, r)
    if check("bindings: minOf(7, 3) -> two PlaintextToEncrypted, one Compute", len(ptes) == 2 and len(lg) == 1,
             r["status"]):
        a, b = ptes[0][2]["handle"], ptes[1][2]["handle"]
        outs = check_compute_log(t, "bindings NoxMinmax.min(euint64, euint64)", lg[0], app, 64, [a, b], [T_UINT64])
        check("bindings: the result is kept by the app",
              outs and ch.view(c, "isAllowed(bytes32,address)(bool)", outs[0], app) == "true")
    r = ch.send(DEPLOYER_KEY, app, "clampedMin(uint64,uint64,uint64)", 5, 9, 7)
    ptes = [x for x in t.op_logs(r) if x[0] == "PlaintextToEncrypted"]
    lg = compute_logs(t, r)
    if check("bindings: clampedMin -> three PlaintextToEncrypted, two Compute", len(ptes) == 3 and len(lg) == 2,
             r["status"]):
        x, y, z = (p[2]["handle"] for p in ptes)
        low = check_compute_log(t, "bindings min", lg[0], app, 64, [x, y], [T_UINT64])
        if low:
            res = check_compute_log(t, "bindings max(min result, z)", lg[1], app, 65, [low[0], z], [T_UINT64])
            check("bindings: the transient min result was not kept; the max result was",
                  ch.view(c, "isAllowed(bytes32,address)(bool)", low[0], app) == "false"
                  and res and ch.view(c, "isAllowed(bytes32,address)(bool)", res[0], app) == "true")


def main():
    work = tempfile.mkdtemp(prefix="nox-contracts-")
    anvil = noxtest.start_anvil(work)
    try:
        chain = Chain(anvil.url)
        out = os.path.join(work, "deployment.json")
        gateway = cast("wallet", "address", "--private-key", GATEWAY_KEY)
        r = run(sys.executable, os.path.join(ROOT, "contracts", "deploy.py"), "--rpc-url", anvil.url,
                "--private-key", DEPLOYER_KEY, "--gateway", gateway, "--kms-public-key", KMS_PUBLIC_KEY,
                "--out", out, "--artifacts", ARTIFACTS, "--cast", CAST)
        if not check("deploy.py exits 0", r.returncode == 0, r.stderr):
            return noxtest.summary()
        with open(out) as f:
            deployment = json.load(f)
        t = Test(chain, deployment, work)
        r = run(sys.executable, os.path.join(ROOT, "contracts", "deploy.py"), "--rpc-url", anvil.url,
                "--private-key", DEPLOYER_KEY, "--gateway", gateway, "--kms-public-key", "0x1234",
                "--out", os.path.join(work, "bad.json"))
        check("deploy.py refuses a malformed KMS key (exit 2)", r.returncode == 2 and "kms-public-key" in r.stderr,
              r.stderr)
        cast("send", "--rpc-url", anvil.url, "--private-key", DEPLOYER_KEY, "--value", "1ether", t.recipient)
        app_code = load_artifact(TEST_ARTIFACTS, "NoxTestApp")["bytecode"]
        receipt = json.loads(cast("send", "--json", "--rpc-url", anvil.url, "--private-key", DEPLOYER_KEY, "--create",
                                  app_code + cast("abi-encode", "constructor(address)", t.compute)[2:]))
        t.app = receipt["contractAddress"].lower()

        test_artifacts_and_abi(t)
        test_deployment(t)
        test_admin(t)
        values = make_values(t)
        test_operations(t, values)
        test_python_derivation(t, values)
        test_extension_abi(t)
        test_registry(t)
        test_compute(t, values)
        test_type_rules(t, values)
        test_budget(t, values)
        test_bindings_app(t)
        test_type_errors(t, values)
        test_acl(t, values)
        test_input_proofs(t, values)
        test_token(t)

        missing = [n for n in EVENTS if not t.verified.get(n)]
        check(f"every one of the 19 operations had its result handles re-derived "
              f"({sum(t.verified.values())} events)", not missing, missing)
    except (CastError, OSError, ValueError, KeyError) as e:
        check("test ran to the end", False, e)
    finally:
        anvil.stop()
    status = noxtest.summary()
    if status == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} (anvil.log, typed.json)")
    return status


if __name__ == "__main__":
    sys.exit(main())
