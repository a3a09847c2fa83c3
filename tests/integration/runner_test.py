#!/usr/bin/python3
"""nox-runner as a real process with nats-server -js, PostgreSQL, nox-kms, anvil + NoxCompute and nox-gateway.

usage: runner_test.py NOX_RUNNER NOX_GATEWAY NOX_KMS NOXCTL JS_PUBLISH JS_DUMP CAST CONTRACTS_DIR

Inputs are encrypted through the Gateway's POST /v0/secrets; TransactionMessages are published straight
to JetStream (js_publish); results are read back through GET /v0/compute/operands as a second, test-only
Runner key and decrypted here with Python's cryptography. Ends with "N passed, M failed".
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import check, http, run, typed_data  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NOX_RUNNER, NOX_GATEWAY, NOX_KMS, NOXCTL, JS_PUBLISH, JS_DUMP, CAST, CONTRACTS = sys.argv[1:9]
noxtest.NOX_KMS = NOX_KMS
CHAIN = 31337
ROOT = noxtest.ROOT
DEPLOYER, _, READER = noxtest.ANVIL_KEYS
CALLER = "0x" + "11" * 20
RUNNER_DOMAIN = {"name": "Handle Gateway", "version": "1", "chainId": CHAIN}
OPERAND_FIELDS = [("chainId", "uint256"), ("blockNumber", "uint256"), ("caller", "address"),
                  ("transactionHash", "string"), ("operands", "string[]"), ("rsaPublicKey", "string")]

TYPES = {"bool": 0, "address": 1}
TYPES.update({f"uint{8 * k}": 3 + k for k in range(1, 33)})
TYPES.update({f"int{8 * k}": 35 + k for k in range(1, 33)})


def size_of(typ):
    return 1 if typ == "bool" else 20 if typ == "address" else int(typ.lstrip("uint")) // 8


def encode(typ, v):
    n = size_of(typ)
    if typ == "bool":
        return b"\1" if v else b"\0"
    return (v % (1 << (8 * n))).to_bytes(n, "big")


def decode(typ, b):
    if typ == "bool":
        return b != b"\0"
    v = int.from_bytes(b, "big")
    if typ.startswith("int") and v >> (8 * len(b) - 1):
        v -= 1 << (8 * len(b))
    return v


def new_handle(typ):
    return "0x" + os.urandom(26).hex() + f"{CHAIN:08x}" + f"{TYPES[typ]:02x}" + "00"


def handle_type(h):
    code = int(h[-4:-2], 16)
    return [t for t, c in TYPES.items() if c == code][0]


def hkdf(x):
    return HKDF(hashes.SHA256(), 32, b"\0" * 32, b"ECIES:AES_GCM:v1").derive(x)


class Reader:
    """Reads stored values through the Runner API with a test-only Runner key."""

    def __init__(self, work, gw):
        self.work, self.gw = work, gw
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = self.rsa.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.spki = "0x" + der.hex()
        self.requests = 0  # GET /v0/compute/operands sent

    def read(self, handles):
        """{handle: value} when every handle is stored, else None."""
        p = {"chainId": CHAIN, "blockNumber": 1, "caller": CALLER, "transactionHash": "0x" + "cd" * 32,
             "operands": handles, "rsaPublicKey": self.spki}
        data = typed_data("OperandAccessAuthorization", OPERAND_FIELDS, noxtest.CHAIN_DOMAIN, RUNNER_DOMAIN, p)
        sig = noxtest.cast_sign(CAST, self.work, data, READER)
        auth = "EIP712 " + base64.b64encode(json.dumps({"payload": p, "signature": sig}).encode()).decode()
        st, body, _ = http("GET", self.gw.url + "/v0/compute/operands", None, {"Authorization": auth})
        self.requests += 1
        if st != 200:
            return None
        out = {}
        for item in body["operands"]:
            x = self.rsa.decrypt(bytes.fromhex(item["encryptedSharedSecret"][2:]),
                                 padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
            pt = AESGCM(hkdf(x)).decrypt(bytes.fromhex(item["iv"][2:]), bytes.fromhex(item["ciphertext"][2:]), None)
            out[item["handle"]] = decode(handle_type(item["handle"]), pt)
        return out

    def wait(self, handles, timeout=60):
        """Reads in chunks of 500 (the whole request travels in one header) until all are stored."""
        deadline, out = time.time() + timeout, {}
        while time.time() < deadline:
            todo = [h for h in handles if h not in out]
            for i in range(0, len(todo), 500):
                got = self.read(todo[i:i + 500])
                if got is not None:
                    out.update(got)
            if all(h in out for h in handles):
                return out
            time.sleep(0.5)
        return None


def start_ready(name, args, work, timeout=60):
    ready, log_path = os.path.join(work, name + ".ready"), os.path.join(work, name + ".log")
    if os.path.exists(ready):
        os.unlink(ready)
    log = open(log_path, "a")
    proc = subprocess.Popen(args + ["--ready-file", ready], stdout=log, stderr=log)
    log.close()
    for _ in range(timeout * 20):
        if os.path.exists(ready) and open(ready).read().strip():
            return noxtest.Server(proc, open(ready).read().strip(), log_path)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{name} did not start: " + open(log_path).read()[-3000:])


def keygen(path):
    r = run(NOX_KMS, "keygen", "--out", path)
    return [ln.split()[-1] for ln in r.stdout.splitlines() if ln.startswith("address")][0]


class Env:
    """PostgreSQL + nox-kms + anvil/NoxCompute + nox-gateway + nats-server + nox-runner."""

    def __init__(self, work):
        self.work, self.servers, self.pg = work, [], None

    def start(self):
        w = self.work
        gw_addr = keygen(os.path.join(w, "gateway-wallet.key"))
        self.runner_addr = keygen(os.path.join(w, "runner-wallet.key"))
        reader_addr = run(CAST, "wallet", "address", "--private-key", READER).stdout.strip()
        self.pg = noxtest.start_postgres(w)
        self.kms = noxtest.start_kms(w, gw_addr)
        self.servers.append(self.kms)
        self.kms_addr = run(NOXCTL, "key", "address", os.path.join(w, "kms-wallet.key")).stdout.strip().split()[-1]
        _, pk, _ = http("GET", self.kms.url + f"/v0/public-key?chainId={CHAIN}")
        anvil = noxtest.start_anvil(w)
        self.servers.append(anvil)
        dep_path = os.path.join(w, "deployment.json")
        r = run(sys.executable, os.path.join(ROOT, "contracts", "deploy.py"), "--rpc-url", anvil.url,
                "--private-key", DEPLOYER, "--gateway", gw_addr, "--kms-public-key", pk["publicKey"],
                "--out", dep_path, "--artifacts", CONTRACTS, "--cast", CAST)
        if r.returncode != 0:
            raise RuntimeError("deploy.py: " + r.stdout + r.stderr)
        nox = json.load(open(dep_path))["noxCompute"]
        with open(os.path.join(w, "gateway.yaml"), "w") as f:
            f.write(f"""listen: 127.0.0.1:0
database_url: "{self.pg.url}"
kms_url: {self.kms.url}
kms_address: "{self.kms_addr}"
wallet_key_file: gateway-wallet.key
runner_addresses: ["{self.runner_addr}", "{reader_addr}"]
default_chain_id: {CHAIN}
threads: 4
log_level: info
chains:
  - chain_id: {CHAIN}
    rpc_url: {anvil.url}
    nox_compute: "{nox}"
""")
        self.gw = self.start_gateway()
        # a restart comes back on the port it bound (port 0 first: no other program can take it in between)
        self.gw_port = noxtest.url_port(self.gw.url)
        path = os.path.join(w, "gateway.yaml")
        with open(path) as f:
            text = f.read().replace("listen: 127.0.0.1:0\n", f"listen: 127.0.0.1:{self.gw_port}\n", 1)
        with open(path, "w") as f:
            f.write(text)
        self.nats = noxtest.start_nats(w)
        self.servers.append(self.nats)
        r = run(JS_DUMP, "--create", self.nats.url, "nox_ingestor", "nox_ingestor.>", "file", "86400", "600")
        if r.returncode != 0:
            raise RuntimeError("js_dump --create: " + r.stderr)
        self.runners = [self.start_runner("runner")]

    def start_gateway(self):
        return start_ready("gateway", [NOX_GATEWAY, "--config", os.path.join(self.work, "gateway.yaml")], self.work)

    def start_runner(self, name, workers=4, stream="nox_ingestor", consumer="nox_ingestor_consumer", max_deliver=10,
                     wallet="runner-wallet.key", operators=os.path.join(ROOT, "config", "operators.yaml"),
                     operand_wait_s=600):
        cfg = os.path.join(self.work, name + ".yaml")
        with open(cfg, "w") as f:
            f.write(f"""nats: {{url: {self.nats.url}, stream: {stream}, consumer: {consumer},
       dead_letter_subject: nox_dead, ack_wait_s: 30, max_deliver: {max_deliver}, max_ack_pending: 256,
       fetch_batch: 32}}
gateway_url: http://127.0.0.1:{self.gw_port}
kms_url: {self.kms.url}
kms_address: "{self.kms_addr}"
wallet_key_file: {wallet}
operators: {operators}
operand_wait_s: {operand_wait_s}
workers: {workers}
listen: 127.0.0.1:0
log_level: info
""")
        return start_ready(name, [NOX_RUNNER, "--config", cfg], self.work)

    def stop(self):
        for r in getattr(self, "runners", []):
            r.stop()
        if hasattr(self, "gw"):
            self.gw.stop()
        for s in reversed(self.servers):
            s.stop()
        if self.pg:
            self.pg.stop()


def secret(env, typ, value):
    body = {"value": "0x" + encode(typ, value).hex(), "solidityType": typ, "owner": CALLER,
            "applicationContract": "0x" + "a1" * 20, "chainId": CHAIN}
    st, b, _ = http("POST", env.gw.url + "/v0/secrets", json.dumps(body), {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError(f"POST /v0/secrets {typ}: {st} {b}")
    return b["handle"]


FIELDS = {"plaintext_to_encrypted": ([], ["handle"]),
          "select": (["condition", "ifTrue", "ifFalse"], ["result"]),
          "transfer": (["balanceFrom", "balanceTo", "amount"], ["success", "newBalanceFrom", "newBalanceTo"]),
          "mint": (["balanceTo", "amount", "totalSupply"], ["success", "newBalanceTo", "newTotalSupply"]),
          "burn": (["balanceFrom", "amount", "totalSupply"], ["success", "newBalanceFrom", "newTotalSupply"])}
for _op in ("add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge"):
    FIELDS[_op] = (["leftHandOperand", "rightHandOperand"], ["result"])
for _op in ("safe_add", "safe_sub", "safe_mul", "safe_div"):
    FIELDS[_op] = (["leftHandOperand", "rightHandOperand"], ["success", "result"])


def event(i, op, ins, outs, extra=None):
    e = {"logIndex": i, "caller": CALLER, "type": op}
    names_in, names_out = FIELDS[op]
    e.update(dict(zip(names_in, ins)))
    e.update(dict(zip(names_out, outs)))
    e.update(extra or {})
    return e


def message(events, tx=None):
    tx = tx or "0x" + os.urandom(32).hex()
    return {"chainId": CHAIN, "caller": CALLER, "blockNumber": 5, "transactionHash": tx, "events": events}


def publish(env, msgs, raw=None):
    path = os.path.join(env.work, "publish.jsonl")
    with open(path, "w") as f:
        for m in msgs:
            tx = m["transactionHash"]
            f.write(json.dumps({"subject": "nox_ingestor." + tx, "id": f"{CHAIN}:{tx}", "data": json.dumps(m)}) + "\n")
        for subject, data in raw or []:
            f.write(json.dumps({"subject": subject, "id": subject, "data": data}) + "\n")
    r = run(JS_PUBLISH, env.nats.url, path)
    if r.returncode != 0:
        raise RuntimeError("js_publish: " + r.stderr)


U256 = (1 << 256) - 1
# (op, [(type, value) inputs], [output types], [expected outputs])
CASES = [
    ("add", [("uint8", 200), ("uint8", 100)], ["uint8"], [44]),
    ("sub", [("uint8", 10), ("uint8", 200)], ["uint8"], [66]),
    ("mul", [("uint8", 3), ("uint8", 100)], ["uint8"], [44]),
    ("div", [("uint8", 10), ("uint8", 0)], ["uint8"], [255]),
    ("div", [("int8", 10), ("int8", 0)], ["int8"], [127]),
    ("div", [("int8", -128), ("int8", -1)], ["int8"], [-128]),
    ("div", [("int8", -7), ("int8", 2)], ["int8"], [-3]),
    ("add", [("uint16", 65535), ("uint16", 1)], ["uint16"], [0]),
    ("add", [("int256", (1 << 255) - 1), ("int256", 1)], ["int256"], [-(1 << 255)]),
    ("add", [("uint256", 1 << 255), ("uint256", (1 << 255) + 1)], ["uint256"], [1]),
    ("sub", [("int64", -5), ("int64", 7)], ["int64"], [-12]),
    ("mul", [("uint32", 70000), ("uint32", 70000)], ["uint32"], [(70000 * 70000) % (1 << 32)]),
    ("safe_div", [("int8", -128), ("int8", -1)], ["bool", "int8"], [False, 0]),
    ("safe_add", [("uint8", 200), ("uint8", 100)], ["bool", "uint8"], [False, None]),
    ("safe_add", [("uint8", 20), ("uint8", 100)], ["bool", "uint8"], [True, 120]),
    ("safe_sub", [("uint64", 5), ("uint64", 7)], ["bool", "uint64"], [False, None]),
    ("safe_mul", [("int16", -300), ("int16", 100)], ["bool", "int16"], [True, -30000]),
    ("eq", [("uint32", 7), ("uint32", 7)], ["bool"], [True]),
    ("ne", [("uint32", 7), ("uint32", 7)], ["bool"], [False]),
    ("lt", [("int8", -1), ("int8", 1)], ["bool"], [True]),
    ("le", [("uint128", 5), ("uint128", 4)], ["bool"], [False]),
    ("gt", [("int256", -1), ("int256", -2)], ["bool"], [True]),
    ("ge", [("uint8", 9), ("uint8", 9)], ["bool"], [True]),
    ("select", [("bool", True), ("uint64", 11), ("uint64", 22)], ["uint64"], [11]),
    ("select", [("bool", False), ("int32", -1), ("int32", 5)], ["int32"], [5]),
    ("transfer", [("uint256", 100), ("uint256", 50), ("uint256", 30)], ["bool", "uint256", "uint256"], [True, 70, 80]),
    ("transfer", [("uint256", 10), ("uint256", 50), ("uint256", 50)], ["bool", "uint256", "uint256"], [False, 10, 50]),
    ("transfer", [("uint256", 100), ("uint256", U256), ("uint256", 1)], ["bool", "uint256", "uint256"],
     [False, 100, U256]),
    ("mint", [("uint256", 0), ("uint256", U256), ("uint256", 1)], ["bool", "uint256", "uint256"], [False, 0, 1]),
    ("mint", [("uint64", 5), ("uint64", 10), ("uint64", 100)], ["bool", "uint64", "uint64"], [True, 15, 110]),
    ("burn", [("uint256", 100), ("uint256", 50), ("uint256", 30)], ["bool", "uint256", "uint256"], [False, 100, 30]),
    ("burn", [("uint256", 100), ("uint256", 30), ("uint256", 50)], ["bool", "uint256", "uint256"], [True, 70, 20]),
]


def test_operations(env, reader):
    msgs, expect = [], []
    for op, ins, out_types, want in CASES:
        hs = [secret(env, t, v) for t, v in ins]
        outs = [new_handle(t) for t in out_types]
        msgs.append(message([event(3, op, hs, outs)]))
        expect.append((f"{op}{tuple(v for _, v in ins)} {ins[0][0]}", outs, want))
    # plaintext_to_encrypted: no fetch
    h = new_handle("uint32")
    msgs.append(message([event(0, "plaintext_to_encrypted", [], [h],
                               {"value": "0x" + (123456).to_bytes(32, "big").hex(), "teeType": TYPES["uint32"]})]))
    expect.append(("plaintext_to_encrypted uint32 123456", [h], [123456]))
    # a multi-event message: t = a + b; u = t * c; s = (u > a); v = select(s, u, a)
    a, b, c = secret(env, "uint64", 5), secret(env, "uint64", 7), secret(env, "uint64", 3)
    t, u, s, v = new_handle("uint64"), new_handle("uint64"), new_handle("bool"), new_handle("uint64")
    msgs.append(message([event(1, "add", [a, b], [t]), event(2, "mul", [t, c], [u]),
                         event(4, "gt", [u, a], [s]), event(9, "select", [s, u, a], [v])]))
    expect.append(("multi-event message ((5+7)*3, gt, select)", [t, u, s, v], [12, 36, True, 36]))
    publish(env, msgs)
    all_handles = [x for _, outs, _ in expect for x in outs]
    got = reader.wait(all_handles, timeout=90)
    check("every result of the operations arrives", got is not None)
    got = got or {}
    for name, outs, want in expect:
        vals = [got.get(x) for x in outs]
        ok = all(w is None or g == w for g, w in zip(vals, want)) and all(g is not None for g in vals)
        check(f"{name} = {want}", ok, f"got {vals}")


def dead_letters(env):
    r = run(JS_DUMP, env.nats.url, "nox_dead")
    return [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]


def test_dead_letters(env, reader):
    bad_tx = "0x" + "ee" * 32
    unk_tx = "0x" + os.urandom(32).hex()
    a = secret(env, "uint8", 1)
    unk = message([event(0, "add", [a, a], [new_handle("uint8")])], unk_tx)
    unk["events"][0]["type"] = "pow"
    type_tx = "0x" + os.urandom(32).hex()
    type_msg = message([event(0, "add", [a, a], [new_handle("uint16")])], type_tx)  # declared output type wrong
    publish(env, [], raw=[("nox_ingestor." + bad_tx, "{not json"),
                          ("nox_ingestor." + unk_tx, json.dumps(unk)),
                          ("nox_ingestor." + type_tx, json.dumps(type_msg))])
    deadline, dead = time.time() + 30, []
    while time.time() < deadline:
        dead = dead_letters(env)
        if len(dead) >= 3:
            break
        time.sleep(0.5)
    by = {d["subject"]: d for d in dead}
    for name, tx in (("a malformed message", bad_tx), ("an unknown operator", unk_tx), ("a type error", type_tx)):
        d = by.get("nox_dead." + tx)
        check(f"{name} lands in nox_dead with a Nox-Dead-Reason", d is not None and bool(d.get("deadReason")), dead)
    st, body, _ = http("GET", env.runners[0].url + "/metrics")
    check("dead letters are acked and counted", "nox_runner_messages_dead_total 3" in str(body), str(body)[:2000])


def generic(i, name, op_id, ins, outs):
    """A generic event (docs/PROTOCOL-EXTENSIONS.md)."""
    return {"logIndex": i, "caller": CALLER, "type": name, "operatorId": op_id, "inputs": ins, "outputs": outs}


def handle_status(env, h):
    st, body, _ = http("GET", env.gw.url + "/v0/handles/" + h + "/status")
    return body if st == 200 else {"status": f"HTTP {st}"}


def wait_failed(env, handles, timeout=30):
    deadline, got = time.time() + timeout, {}
    while time.time() < deadline:
        got = {h: handle_status(env, h) for h in handles}
        if all(b.get("status") == "failed" for b in got.values()):
            break
        time.sleep(0.3)
    return got


def test_generic(env, reader):
    """Generic events of plugin operators (min = 64, max = 65 from config/operators.yaml's minmax plugin) mixed with
    protocol events in one message; a wrong output type, an unknown id and a wrong name: dead-lettered and every
    output handle of the message reported "failed" with a reason."""
    a, b, c = secret(env, "uint64", 5), secret(env, "uint64", 9), secret(env, "int8", -3)
    t, m, x, s, n = (new_handle("uint64"), new_handle("uint64"), new_handle("uint64"), new_handle("bool"),
                     new_handle("int8"))
    msg = message([event(0, "add", [a, b], [t]),                 # t = 14
                   generic(1, "min", 64, [t, a], [m]),            # m = min(14, 5) = 5
                   generic(2, "max", 65, [b, t], [x]),            # x = 14
                   event(3, "lt", [m, x], [s]),                   # s = 5 < 14
                   generic(5, "min", 64, [c, c], [n])])           # int8: -3
    publish(env, [msg])
    got = reader.wait([t, m, x, s, n], timeout=60) or {}
    check("generic min/max mixed with add and lt in one message: results right",
          [got.get(h) for h in (t, m, x, s, n)] == [14, 5, 14, True, -3], got)
    check("a stored generic result reads 'stored'", handle_status(env, m).get("status") == "stored")
    bad = {}
    wrong_out = new_handle("uint16")
    other_out = new_handle("uint64")
    bad["a wrong output type"] = (message([event(0, "add", [a, b], [other_out]),
                                           generic(1, "min", 64, [a, b], [wrong_out])]), [other_out, wrong_out])
    unk = new_handle("uint64")
    bad["an unknown operator id"] = (message([generic(0, "operator_999", 999, [a, b], [unk])]), [unk])
    misnamed = new_handle("uint64")
    bad["a type that is not the engine's name for the id"] = (
        message([generic(0, "max", 64, [a, b], [misnamed])]), [misnamed])
    publish(env, [m_ for m_, _ in bad.values()])
    for name, (m_, outs) in bad.items():
        statuses = wait_failed(env, outs)
        dead = {d["subject"]: d for d in dead_letters(env)}.get("nox_dead." + m_["transactionHash"])
        check(f"generic event with {name}: dead-lettered", dead is not None and bool(dead.get("deadReason")), dead)
        ok = all(st.get("status") == "failed" and st.get("reason") and len(st["reason"]) <= 256
                 for st in statuses.values())
        check(f"generic event with {name}: every output handle of the message 'failed' with a reason", ok, statuses)
        reason = next(iter(statuses.values())).get("reason", "")
        check(f"generic event with {name}: the reason names the problem",
              ("unknown operator id 999" in reason) if "unknown" in name else
              ("differs from the name min" in reason) if "engine" in name else ("events[1] (min)" in reason), reason)
    # a message consuming a failed handle fails at once (Gateway 400 operand_failed), not after operand_wait_s,
    # and its own outputs are recorded failed in turn
    after = new_handle("uint64")
    t0 = time.time()
    publish(env, [message([event(0, "add", [unk, a], [after])])])
    statuses = wait_failed(env, [after], timeout=20)
    took = time.time() - t0
    reason = statuses.get(after, {}).get("reason", "")
    check("a message consuming a failed handle fails within seconds, its output 'failed' naming the cause",
          statuses.get(after, {}).get("status") == "failed" and "operand_failed" in reason and took < 15,
          f"{took:.1f} s {statuses}")


def test_retry(env, reader):
    """A message whose operand is produced by another message published later: retried, then completes."""
    a = secret(env, "uint16", 1000)
    mid, out = new_handle("uint16"), new_handle("uint16")
    second = message([event(0, "add", [mid, a], [out])])
    first = message([event(0, "add", [a, a], [mid])])
    publish(env, [second])
    time.sleep(2)
    check("the dependent message is not done before its operand exists", reader.read([out]) is None)
    publish(env, [first])
    got = reader.wait([mid, out], timeout=60) or {}
    check("the dependent message completes once the other is processed", got.get(out) == 3000, got)
    st, body, _ = http("GET", env.runners[0].url + "/metrics")
    check("the wait shows in /metrics (waiting, not retried)", "nox_runner_messages_waiting_total 0" not in str(body)
          and "nox_runner_messages_retried_total 0" in str(body), str(body)[:800])


def metric(server, name):
    st, body, _ = http("GET", server.url + "/metrics")
    for ln in str(body).splitlines():
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    return None


def add_batch(env, n, ins):
    """n one-event messages out_i = ins[i % len] + i-th input; returns (messages, [(handle, expected)])."""
    msgs, want = [], []
    for i in range(n):
        (ha, va), (hb, vb) = ins[i % len(ins)], ins[(i * 7 + 1) % len(ins)]
        out = new_handle("uint64")
        msgs.append(message([event(0, "add", [ha, hb], [out])]))
        want.append((out, va + vb))
    return msgs, want


def wait_health(server, want_status, timeout=15):
    deadline, st, body = time.time() + timeout, None, None
    while time.time() < deadline:
        st, body, _ = http("GET", server.url + "/health")
        if st == want_status:
            break
        time.sleep(0.2)
    return st, body


def test_gateway_restart(env, reader):
    """The Gateway stopped and restarted mid-run: every result still arrives, exactly once."""
    ins = [(secret(env, "uint64", v), v) for v in (1, 20, 300, 4000)]
    msgs, want = add_batch(env, 60, ins)
    env.gw.stop()
    st, body = wait_health(env.runners[0], 503)
    check("/health 503 naming the Gateway while it is down", st == 503 and "Gateway" in str(body), (st, body))
    publish(env, msgs[:30])
    time.sleep(2)
    env.gw = env.start_gateway()
    st, body = wait_health(env.runners[0], 200)
    check("/health 200 again once the Gateway is back", st == 200, (st, body))
    publish(env, msgs[30:])
    got = reader.wait([h for h, _ in want], timeout=120) or {}
    check("Gateway restarted mid-run: all 60 results arrive and are right", all(got.get(h) == v for h, v in want),
          f"{sum(got.get(h) == v for h, v in want)} of 60")
    check("the Runner retried while the Gateway was down", (metric(env.runners[0], "nox_runner_messages_retried_total") or 0) > 0)
    check("nothing conflicted in the Gateway's log", "conflicted" not in open(env.gw.log_path).read())


def gateway_requests(env, route):
    st, body, _ = http("GET", env.gw.url + "/metrics")
    return sum(float(ln.split()[-1]) for ln in str(body).splitlines()
               if ln.startswith("nox_gateway_http_requests_total{") and f'route="{route}"' in ln)


def test_many_operands(env, reader, n_events=520):
    """One message with 1,040 external operands: fetched in 2 requests (1,024 per request), all results right."""
    vals = [(i * 7919) % 100000 for i in range(2 * n_events)]
    hs = [secret(env, "uint32", v) for v in vals]
    outs = [new_handle("uint32") for _ in range(n_events)]
    events = [event(i, "add", [hs[2 * i], hs[2 * i + 1]], [outs[i]]) for i in range(n_events)]
    before, reads = gateway_requests(env, "/v0/compute/operands"), reader.requests
    publish(env, [message(events)])
    got = reader.wait(outs, timeout=120) or {}
    good = sum(got.get(outs[i]) == (vals[2 * i] + vals[2 * i + 1]) % (1 << 32) for i in range(n_events))
    check(f"a message of {n_events} events and {2 * n_events} operands: every result right", good == n_events,
          f"{good} of {n_events}")
    used = gateway_requests(env, "/v0/compute/operands") - before - (reader.requests - reads)
    check("the Runner fetched its operands in 2 Gateway requests (1,024 handles per request)", used == 2, used)


def test_shutdown_in_flight(env, reader, n=400):
    """SIGTERM while messages are in flight: exits 0 promptly; a restarted Runner finishes the rest; none lost."""
    ins = [(secret(env, "uint64", v), v) for v in (5, 60, 700, 8000)]
    msgs, want = add_batch(env, n, ins)
    r = env.runners[0]
    ok0 = metric(r, "nox_runner_messages_ok_total") or 0
    publish(env, msgs)
    deadline = time.time() + 30
    while time.time() < deadline and (metric(r, "nox_runner_messages_ok_total") or 0) < ok0 + 10:
        time.sleep(0.02)
    t0 = time.time()
    rc = r.stop()
    took = time.time() - t0
    log = open(r.log_path).read()
    check("SIGTERM with messages in flight: exit 0 within 10 s", rc == 0 and took < 10, (rc, took))
    check("the Runner said it was finishing the messages in hand", "stopping: finishing the messages in hand" in log)
    env.runners[0] = env.start_runner("runner", operand_wait_s=4)
    got = reader.wait([h for h, _ in want], timeout=180) or {}
    good = sum(got.get(h) == v for h, v in want)
    check(f"after the restart all {n} results arrive and are right", good == n, f"{good} of {n}")
    check("nothing conflicted", "conflicted" not in open(env.gw.log_path).read())


def test_chain(env, reader, n=200):
    """n messages published at once, each using the previous one's result (a token's balance does this):
    they wait for each other (RUN_WAIT), none is dead-lettered, every value is right."""
    one = secret(env, "uint64", 1)
    start = secret(env, "uint64", 1000)
    outs = [new_handle("uint64") for _ in range(n)]
    msgs = [message([event(0, "add", [outs[i - 1] if i else start, one], [outs[i]])]) for i in range(n)]
    dead_before = len(dead_letters(env))
    publish(env, msgs)
    got = reader.wait(outs, timeout=180) or {}
    good = sum(got.get(outs[i]) == 1001 + i for i in range(n))
    check(f"a chain of {n} dependent messages: every result right", good == n, f"{good} of {n}")
    check("none of the chain was dead-lettered", len(dead_letters(env)) == dead_before)


def test_operand_timeout(env, reader):
    """A message whose operand never comes is dead-lettered after operand_wait_s (4 s here), saying why."""
    a = secret(env, "uint64", 3)
    tx = "0x" + os.urandom(32).hex()
    publish(env, [message([event(0, "add", [new_handle("uint64"), a], [new_handle("uint64")])], tx)])
    deadline, d = time.time() + 30, None
    while time.time() < deadline and d is None:
        d = {x["subject"]: x for x in dead_letters(env)}.get("nox_dead." + tx)
        time.sleep(0.3)
    reason = str((d or {}).get("deadReason"))
    check("an operand that never comes: dead-lettered after operand_wait_s, saying so",
          "still not stored" in reason and "not found" in reason, reason)


def test_refusals(env, reader):
    """A Runner started before its stream exists, whose key the Gateway does not know (401 every time) and whose operators.yaml lacks the token
    plugin, on its own stream with max_deliver 3: the add is retried then dead-lettered after 3 deliveries; the
    transfer is dead-lettered at once, naming the operator."""
    keygen(os.path.join(env.work, "stranger-wallet.key"))
    ops = os.path.join(env.work, "arith-only.yaml")
    with open(ops, "w") as f:
        f.write(f"plugins:\n  - path: {os.path.join(os.path.dirname(NOX_RUNNER), '..', 'lib', 'nox', 'arithmetic.so')}\n")
    md = env.start_runner("runner-md", workers=1, stream="nox_md", consumer="md", max_deliver=3,
                          wallet="stranger-wallet.key", operators=ops)
    time.sleep(0.5)
    check("a Runner started before its stream exists waits for it (and says so)",
          md.proc.poll() is None and "retrying every 0.25 s" in open(md.log_path).read(), open(md.log_path).read()[-800:])
    r = run(JS_DUMP, "--create", env.nats.url, "nox_md", "nox_md.>", "file", "86400", "600")
    check("its stream created afterwards", r.returncode == 0, r.stderr)
    a = secret(env, "uint64", 9)
    add_tx, tr_tx = "0x" + os.urandom(32).hex(), "0x" + os.urandom(32).hex()
    add = message([event(0, "add", [a, a], [new_handle("uint64")])], add_tx)
    tr = message([event(0, "transfer", [a, a, a], [new_handle("bool"), new_handle("uint64"), new_handle("uint64")])],
                 tr_tx)
    publish(env, [], raw=[("nox_md." + add_tx, json.dumps(add)), ("nox_md." + tr_tx, json.dumps(tr))])
    deadline, by = time.time() + 60, {}
    while time.time() < deadline:
        by = {d["subject"]: d for d in dead_letters(env)}
        if "nox_dead." + add_tx in by and "nox_dead." + tr_tx in by:
            break
        time.sleep(0.3)
    d = by.get("nox_dead." + add_tx) or {}
    reason = str(d.get("deadReason"))
    check("a 401 from the Gateway is retried, then dead-lettered after max_deliver (3) deliveries",
          "gave up after 3 attempts" in reason and "401" in reason, reason)
    d = by.get("nox_dead." + tr_tx) or {}
    check("an operator not enabled in operators.yaml is dead-lettered, named",
          "unknown operator transfer" in str(d.get("deadReason")), d)
    check("the 401 was retried (2 naks) before giving up", (metric(md, "nox_runner_messages_retried_total") or 0) == 2,
          metric(md, "nox_runner_messages_retried_total"))
    check("that Runner exits cleanly", md.stop() == 0)


def test_two_runners(env, reader, n=300):
    """Two Runner processes on one durable consumer: none lost, none conflicting."""
    env.runners.append(env.start_runner("runner2"))
    ins = [(secret(env, "uint64", v), v) for v in (3, 50, 700, 9000, 11)]
    ok_before = [metric(r, "nox_runner_messages_ok_total") or 0 for r in env.runners]
    msgs, want = add_batch(env, n, ins)
    publish(env, msgs)
    got = reader.wait([h for h, _ in want], timeout=180) or {}
    good = sum(got.get(h) == v for h, v in want)
    check(f"two Runners: all {n} results arrive and are right", good == n, f"{good} of {n}")
    done = [(metric(r, "nox_runner_messages_ok_total") or 0) - b for r, b in zip(env.runners, ok_before)]
    check("both Runners took a share of the work", all(d > 0 for d in done) and sum(done) >= n, done)
    check("no conflicting result", "conflicted" not in open(env.gw.log_path).read())


def main():
    work = tempfile.mkdtemp(prefix="runner-test-")
    env = Env(work)
    try:
        env.start()
        reader = Reader(work, env.gw)
        st, body, _ = http("GET", env.runners[0].url + "/health")
        check("/health 200 with NATS, Gateway and KMS up", st == 200, body)
        test_operations(env, reader)
        test_dead_letters(env, reader)
        test_generic(env, reader)
        test_retry(env, reader)
        test_gateway_restart(env, reader)
        reader.gw = env.gw
        test_many_operands(env, reader)
        test_chain(env, reader)
        test_shutdown_in_flight(env, reader)
        test_operand_timeout(env, reader)
        test_refusals(env, reader)
        test_two_runners(env, reader, n=3000)
        check("the second Runner exits cleanly on SIGTERM", env.runners[1].stop() == 0)
        log = open(env.runners[0].log_path).read()
        check("nox-runner exits cleanly on SIGTERM", env.runners[0].stop() == 0, log[-2000:])
        check("no error in the Runner's log", "ERROR" not in open(env.runners[0].log_path).read(), log[-2000:])
    finally:
        env.stop()
        shutil.rmtree(work, ignore_errors=True)
    return noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
