#!/usr/bin/python3
"""NoxCompute, the Nox library and ConfidentialToken on a real chain (anvil, Cancun).

Usage: test_contracts.py CAST NOXCTL

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
    t.expect_revert("add on a validated uint512 input", t.forward_call("add(bytes32,bytes32)", hw, hw),
                    "UnsupportedType(uint8)", 100)


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
