#!/usr/bin/python3
"""nox-runner as a real process with nats-server -js, PostgreSQL, nox-kms, anvil + NoxCompute and nox-gateway.

usage: runner_test.py NOX_RUNNER NOX_GATEWAY NOX_KMS NOXCTL JS_PUBLISH JS_DUMP CAST CONTRACTS_DIR

Inputs are encrypted through the Gateway's POST /v0/secrets; TransactionMessages are published straight
to JetStream (js_publish); results are read back through GET /v0/compute/operands as a second, test-only
Runner key and decrypted here with Python's cryptography. Every hop over TLS (noxtest.pki): NATS tls://,
mutual TLS on the KMS and the Gateway's Runner endpoints. Also: gateway_urls failover between two Gateways,
a Runner started before its nats-server, nats.urls, log_format: json. Ends with "N passed, M failed".
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
import noxthreshold  # noqa: E402
from noxtest import check, http, run  # noqa: E402

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
GW = {}  # "address": the Gateway's wallet, which the Runners' authorizations name (docs/PROTOCOL-EXTENSIONS.md §7)

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
        nb, ex = noxtest.window()
        p = {"chainId": CHAIN, "blockNumber": 1, "caller": CALLER, "transactionHash": "0x" + "cd" * 32,
             "operands": handles, "rsaPublicKey": self.spki, "notBefore": nb, "expiresAt": ex}
        doc = noxtest.bound_auth(CAST, self.work, READER, GW["address"], "OperandAccessAuthorizationV2", p)
        st, body, _ = http("GET", self.gw.url + "/v0/compute/operands", None, noxtest.auth_header(doc))
        self.requests += 1
        if st != 200:
            return None
        out = {}
        for item in body["operands"]:  # t KMS partials per operand (docs/PROTOCOL-EXTENSIONS.md §11)
            pt = noxthreshold.decrypt(self.rsa, body, item, CHAIN)
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


start_ready = noxtest.start_ready
# the streams and consumers the test's nats-server lets the Runners read (scripts/nats_auth.py)
STREAMS = [("nox_ingestor", "nox_ingestor_consumer"), ("nox_plug", "plug"), ("nox_md", "md"), ("nox_fo", "fo"),
           ("nox_urls", "urls")]


def keygen(path):
    r = run(NOX_KMS, "keygen", "--out", path)
    return [ln.split()[-1] for ln in r.stdout.splitlines() if ln.startswith("address")][0]


class Env:
    """PostgreSQL + nox-kms + anvil/NoxCompute + nox-gateway + nats-server + nox-runner."""

    def __init__(self, work):
        self.work, self.servers, self.pg = work, [], None
        self.extra = []   # Runners, Gateways and NATS servers of single tests, stopped with the rest

    def start(self):
        w = self.work
        gw_addr = GW["address"] = keygen(os.path.join(w, "gateway-wallet.key"))
        self.runner_addr = keygen(os.path.join(w, "runner-wallet.key"))
        # the Ingestor wallet the Runners trust: the test's messages are signed with it (js_publish --key)
        self.ingestor_key = os.path.join(w, "ingestor-wallet.key")
        self.ingestor_addr = keygen(self.ingestor_key)
        reader_addr = run(CAST, "wallet", "address", "--private-key", READER).stdout.strip()
        # every hop over TLS, as deployed: mutual TLS on the KMS (the Gateway's client certificate) and on the
        # Gateway's Runner endpoints (the Runners', which this test's Reader presents too), NATS over tls://
        self.pki = pki = noxtest.pki(w)
        noxtest.use_tls(pki.ca, *pki.client("runner"))
        self.pg = noxtest.start_postgres(w)
        self.kms = noxtest.start_kms(w, gw_addr, pki=pki)
        self.servers.append(self.kms)
        noxtest.use_tls(pki.ca, *pki.client("runner"), by_url={self.kms.url: pki.client("gateway")})
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
{pki.server_yaml("gateway", "runner")}database_url: "{self.pg.url}"
kms_url: {self.kms.url}
{pki.client_yaml("kms_tls", "gateway")}kms_address: "{self.kms_addr}"
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
        self.nats = noxtest.start_nats(w, NOXCTL, streams=STREAMS, tls=pki)
        self.servers.append(self.nats)
        r = noxtest.run_nats(JS_DUMP, "--create", self.nats.url, "nox_ingestor", "nox_ingestor.>", "file", "86400", "600")
        if r.returncode != 0:
            raise RuntimeError("js_dump --create: " + r.stderr)
        self.runners = [self.start_runner("runner")]

    def start_gateway(self):
        return start_ready("gateway", [NOX_GATEWAY, "--config", os.path.join(self.work, "gateway.yaml")], self.work)

    def runner_config(self, workers=4, stream="nox_ingestor", consumer="nox_ingestor_consumer", max_deliver=10,
                      wallet="runner-wallet.key", operators=os.path.join(ROOT, "config", "operators.yaml"),
                      operand_wait_s=600, nats_urls=None, gateway_urls=None, extra=""):
        """A Runner's YAML: NATS over tls:// (nats_urls: a list for nats.urls instead of this test's server), the
        Gateway's Runner endpoints with the Runners' client certificate (gateway_urls: a list for gateway_urls
        instead of the test's Gateway), the KMS over https, /health and /metrics over https."""
        pki, scheme = self.pki, self.gw.url.split("://", 1)[0]
        where = f"urls: [{', '.join(nats_urls)}]" if nats_urls else f"url: {self.nats.url}"
        gateway = (f"gateway_urls: [{', '.join(gateway_urls)}]" if gateway_urls else
                   f"gateway_url: {scheme}://127.0.0.1:{self.gw_port}")
        return f"""nats: {{{where}, credentials_file: {self.nats.creds['runner']}, tls: {pki.client_flow()},
       stream: {stream}, consumer: {consumer},
       dead_letter_subject: nox_dead, ack_wait_s: 30, max_deliver: {max_deliver}, max_ack_pending: 256,
       fetch_batch: 32}}
{gateway}
{pki.client_yaml("gateway_tls", "runner")}gateway_address: "{GW['address']}"
kms_url: {self.kms.url}
{pki.client_yaml("kms_tls")}kms_address: "{self.kms_addr}"
wallet_key_file: {wallet}
ingestor_addresses: ["{self.ingestor_addr}"]
operators: {operators}
operand_wait_s: {operand_wait_s}
workers: {workers}
listen: 127.0.0.1:0
{pki.server_yaml("runner")}log_level: info
{extra}"""

    def start_runner(self, name, **kw):
        """A Runner with runner_config(**kw) as work/<name>.yaml."""
        cfg = os.path.join(self.work, name + ".yaml")
        with open(cfg, "w") as f:
            f.write(self.runner_config(**kw))
        return start_ready(name, [NOX_RUNNER, "--config", cfg], self.work)

    def stop(self):
        for r in getattr(self, "runners", []) + self.extra:
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


def publish(env, msgs, raw=None, url=None):
    path = os.path.join(env.work, "publish.jsonl")
    with open(path, "w") as f:
        for m in msgs:
            tx = m["transactionHash"]
            f.write(json.dumps({"subject": "nox_ingestor." + tx, "id": f"{CHAIN}:{tx}", "data": json.dumps(m)}) + "\n")
        for subject, data in raw or []:
            f.write(json.dumps({"subject": subject, "id": subject, "data": data}) + "\n")
    r = noxtest.run_nats(JS_PUBLISH, "--key", env.ingestor_key, url or env.nats.url, path,  # signed as the Ingestor signs, and
            env=dict(os.environ, NOX_NATS_CREDENTIALS=env.nats.creds["ingestor"]))  # published as it publishes
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
    r = noxtest.run_nats(JS_DUMP, env.nats.url, "nox_dead")
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
                                           generic(1, "min", 64, [a, b], [wrong_out])]), [wrong_out])
    unk = new_handle("uint64")
    bad["an unknown operator id"] = (message([generic(0, "operator_999", 999, [a, b], [unk])]), [unk])
    misnamed = new_handle("uint64")
    bad["a type that is not the engine's name for the id"] = (
        message([generic(0, "max", 64, [a, b], [misnamed])]), [misnamed])
    publish(env, [m_ for m_, _ in bad.values()])
    for name, (m_, outs) in bad.items():
        statuses = wait_failed(env, outs)
        dead = {d["subject"]: d for d in dead_letters(env)}.get("nox_dead." + m_["transactionHash"])
        check(f"generic event with {name}: dead-lettered (for inspection)", dead is not None and
              bool(dead.get("deadReason")), dead)
        ok = all(st.get("status") == "failed" and st.get("reason") and len(st["reason"]) <= 256
                 for st in statuses.values())
        check(f"generic event with {name}: its output handle 'failed' with a reason", ok, statuses)
        reason = next(iter(statuses.values())).get("reason", "")
        check(f"generic event with {name}: the reason names the problem",
              ("unknown operator id 999" in reason) if "unknown" in name else
              ("differs from the name min" in reason) if "engine" in name else ("events[1] (min)" in reason), reason)
    got = reader.wait([other_out], timeout=30) or {}
    check("the add beside the ill-typed min is stored all the same (failure isolation)", got.get(other_out) == 14, got)
    # a message consuming a failed handle fails at once (Gateway 400 operand_failed), not after operand_wait_s,
    # and its own outputs are recorded failed in turn, naming the handle they derive from and its reason
    after = new_handle("uint64")
    t0 = time.time()
    publish(env, [message([event(0, "add", [unk, a], [after])])])
    statuses = wait_failed(env, [after], timeout=20)
    took = time.time() - t0
    reason = statuses.get(after, {}).get("reason", "")
    check("a message consuming a failed handle fails within seconds, its output 'failed' naming the handle and "
          "its failure", statuses.get(after, {}).get("status") == "failed" and took < 15 and
          reason.startswith(f"events[0] (add): derives from failed handle {unk} (") and "unknown operator id 999"
          in reason, f"{took:.1f} s {statuses}")


def reason_of(env, h):
    return handle_status(env, h).get("reason", "")


def test_isolation(env, reader):
    """An event that cannot be computed fails only its own outputs and those derived from them (transitively, in
    logIndex order); every other result of the message is stored. Bad events: an unknown operator id, a type
    error; a handle produced twice (the latest earlier producer wins)."""
    a, b = secret(env, "uint64", 5), secret(env, "uint64", 9)
    cases = {}
    for bad_name in ("an unknown operator id", "a type error"):
        A, X, Y, Z, B = (new_handle("uint64") for _ in range(5))
        if bad_name == "a type error":
            bad = event(1, "lt", [a, b], [X])  # declared uint64: lt produces a bool
            cause = "events[1] (lt): lt: output result has type uint64, but the operation produces bool"
        else:
            bad = generic(1, "operator_4000", 4000, [a], [X])
            cause = "events[1]: unknown operator id 4000 (type operator_4000): not enabled on this Runner"
        msg = message([event(0, "add", [a, b], [A]),             # A = 14            independent
                       bad,                                       # X                 cannot be computed
                       event(2, "add", [X, b], [Y]),              # Y = X + b         derives from X
                       event(3, "mul", [Y, a], [Z]),              # Z = Y * a         derives from Y
                       event(4, "sub", [A, b], [B])])             # B = A - b = 5     independent, reads A
        cases[bad_name] = (msg, A, X, Y, Z, B, cause)
    # the latest earlier producer wins: H produced by a failed event, then again by a good one; W reads the good H,
    # V (before the second producer) reads the failed one
    H, V, W = new_handle("uint64"), new_handle("uint64"), new_handle("uint64")
    twice = message([generic(0, "operator_4001", 4001, [a], [H]),  # H: cannot be computed here
                     event(1, "add", [H, a], [V]),                 # V derives from the failed H
                     event(2, "add", [a, b], [H]),                 # H = 14 (the same handle, computed)
                     event(3, "add", [H, a], [W])])                # W = 19 from the computed H
    before = {c: metric(env.runners[0], f"nox_runner_failed_events_{c}_total") or 0
              for c in ("unknown_operator", "type_error", "dependency")}
    publish(env, [m_[0] for m_ in cases.values()] + [twice])
    for name, (msg, A, X, Y, Z, B, cause) in cases.items():
        got = reader.wait([A, B], timeout=60) or {}
        check(f"{name}: the independent results are stored and right (A = 14, B = A - 9 = 5)",
              got.get(A) == 14 and got.get(B) == 5, got)
        statuses = wait_failed(env, [X, Y, Z])
        check(f"{name}: its output and the two derived from it are 'failed'",
              all(st.get("status") == "failed" for st in statuses.values()), statuses)
        check(f"{name}: the bad event's output names the cause", reason_of(env, X) == cause, reason_of(env, X))
        check(f"{name}: the consumer of X names the failed handle it derives from",
              reason_of(env, Y) == f"events[2] (add): derives from failed handle {X} (events[1])", reason_of(env, Y))
        check(f"{name}: transitively: the consumer of Y names Y",
              reason_of(env, Z) == f"events[3] (mul): derives from failed handle {Y} (events[2])", reason_of(env, Z))
        dead = {d["subject"]: d for d in dead_letters(env)}.get("nox_dead." + msg["transactionHash"]) or {}
        reason = str(dead.get("deadReason"))
        check(f"{name}: the message is dead-lettered for inspection, its reason listing the failed events",
              reason.startswith("3 of 5 event(s) failed (3 output handle(s) recorded failed, 2 result(s) stored):")
              and cause in reason, reason)
    got = reader.wait([H, W], timeout=60) or {}
    check("a handle produced twice: the later good producer's value is stored, and read by the event after it",
          got.get(H) == 14 and got.get(W) == 19, got)
    check("... and no failure record for it (a computed result wins)", handle_status(env, H).get("status") == "stored")
    st_v = wait_failed(env, [V]).get(V, {})
    check("... the event between the two producers read the failed one: 'failed', naming it",
          st_v.get("status") == "failed" and st_v.get("reason", "").startswith(
              f"events[1] (add): derives from failed handle {H} (events[0])"), st_v)
    want = {"unknown_operator": 2, "type_error": 1, "dependency": 5}
    after = {c: (wait_metric(env.runners[0], f"nox_runner_failed_events_{c}_total", before[c] + n) or 0) - before[c]
             for c, n in want.items()}
    check("failed events are counted by cause in /metrics (unknown operator 2, type error 1, dependency 5)",
          after == want, after)


def gw_batch_requests(env):
    return gateway_requests(env, "/v0/compute/operands/batch")


def test_failed_operands(env, reader):
    """Operands that have failure records: only the events that consume them (and what derives from those) fail,
    named with the failed handle and its reason; the Gateway lists every failed operand in one answer, so the
    Runner needs one more request only; messages fetched together (the batch path) each get their own outcome."""
    a, b = secret(env, "uint64", 5), secret(env, "uint64", 9)
    f1, f2 = new_handle("uint64"), new_handle("uint64")
    publish(env, [message([generic(0, "operator_4002", 4002, [a], [f1]), generic(1, "operator_4003", 4003, [b], [f2])])])
    check("two handles get failure records", all(s_.get("status") == "failed" for s_ in wait_failed(env, [f1, f2]).values()))
    r1, r2 = reason_of(env, f1), reason_of(env, f2)
    P, Q, R, S = (new_handle("uint64") for _ in range(4))
    msg = message([event(0, "add", [f1, a], [P]),   # P derives from f1 (an operand with a failure record)
                   event(1, "add", [a, b], [Q]),    # Q = 14: independent
                   event(2, "mul", [P, b], [R]),    # R derives from P
                   event(3, "sub", [f2, Q], [S])])  # S derives from f2
    before = gw_batch_requests(env)
    publish(env, [msg])
    got = reader.wait([Q], timeout=60) or {}
    check("a message consuming two failed operands: the independent event's result is stored", got.get(Q) == 14, got)
    statuses = wait_failed(env, [P, R, S])
    check("... the events consuming them, and the one derived, are 'failed'",
          all(st.get("status") == "failed" for st in statuses.values()), statuses)
    check("... naming the failed handle and its stored reason",
          reason_of(env, P) == f"events[0] (add): derives from failed handle {f1} ({r1})" and
          reason_of(env, S) == f"events[3] (sub): derives from failed handle {f2} ({r2})",
          (reason_of(env, P), reason_of(env, S), r1, r2))
    check("... and the one derived names P", reason_of(env, R) == f"events[2] (mul): derives from failed handle {P} "
          "(events[0])", reason_of(env, R))
    check("the Runner needed 2 operand requests in all (both failed operands named in the first answer)",
          gw_batch_requests(env) - before == 2, gw_batch_requests(env) - before)
    # several messages fetched and stored together (one worker's batch): each its own outcome
    msgs, want_ok, want_failed = [], {}, {}
    for i in range(12):
        good, bad, derived = new_handle("uint64"), new_handle("uint64"), new_handle("uint64")
        if i % 3 == 0:    # a failed operand
            evs = [event(0, "add", [a, b], [good]), event(1, "add", [f1, b], [bad]), event(2, "add", [bad, a], [derived])]
        elif i % 3 == 1:  # an unknown operator
            evs = [event(0, "add", [a, b], [good]), generic(1, "operator_4004", 4004, [b], [bad]),
                   event(2, "add", [bad, a], [derived])]
        else:             # nothing wrong
            evs = [event(0, "add", [a, b], [good]), event(1, "mul", [a, b], [bad]), event(2, "add", [bad, a], [derived])]
        msgs.append(message(evs))
        want_ok[good] = 14
        if i % 3 == 2:
            want_ok.update({bad: 45, derived: 50})
        else:
            want_failed[bad], want_failed[derived] = i, i
    publish(env, msgs)
    got = reader.wait(list(want_ok), timeout=90) or {}
    check("12 messages published at once (fetched in batches): every computable result stored and right",
          all(got.get(h) == v for h, v in want_ok.items()), f"{sum(got.get(h) == v for h, v in want_ok.items())} of "
          f"{len(want_ok)}")
    statuses = wait_failed(env, list(want_failed), timeout=60)
    check("... and every output of a bad event, and what derives from it, 'failed' with a reason",
          all(st.get("status") == "failed" and st.get("reason") for st in statuses.values()),
          [st for st in statuses.values() if st.get("status") != "failed"][:3])


def test_failures_redelivered(env, reader):
    """Results stored, then recording the failures fails (the Gateway's database refuses them for a while): the
    message is retried; the retry recomputes, its results are 'unchanged' (never conflicting) and the failure records
    arrive once the database takes them. A replay of the whole message later changes nothing either."""
    a, b = secret(env, "uint64", 5), secret(env, "uint64", 9)
    G, K, L = new_handle("uint64"), new_handle("uint64"), new_handle("uint64")
    msg = message([event(0, "add", [a, b], [G]), generic(1, "operator_4242", 4242, [a], [K]),
                   event(2, "add", [K, a], [L])])
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", env.pg.url, "-c"]
    r = run(*psql, "ALTER TABLE failures ADD CONSTRAINT runner_test_block CHECK (reason NOT LIKE '%operator_4242%')")
    check("the failures table refuses this message's records for now (a CHECK constraint)", r.returncode == 0,
          r.stderr)
    retried0 = metric(env.runners[0], "nox_runner_messages_retried_total") or 0
    publish(env, [msg])
    got = reader.wait([G], timeout=30) or {}
    check("the results are stored before the failure records", got.get(G) == 14, got)
    deadline = time.time() + 20
    while time.time() < deadline and (metric(env.runners[0], "nox_runner_messages_retried_total") or 0) < retried0 + 2:
        time.sleep(0.1)
    retried = (metric(env.runners[0], "nox_runner_messages_retried_total") or 0) - retried0
    check("recording the failures failed: the message is retried (at least twice so far)", retried >= 2, retried)
    check("... and meanwhile the failed handles are still 'pending', not lost",
          [handle_status(env, h).get("status") for h in (K, L)] == ["pending", "pending"])
    r = run(*psql, "ALTER TABLE failures DROP CONSTRAINT runner_test_block")
    check("the database takes failure records again", r.returncode == 0, r.stderr)
    statuses = wait_failed(env, [K, L], timeout=60)
    check("the retried message records both failures",
          all(st.get("status") == "failed" for st in statuses.values()) and "unknown operator id 4242" in
          reason_of(env, K) and reason_of(env, L).startswith(f"events[2] (add): derives from failed handle {K}"),
          statuses)
    check("its result, stored by the first attempt, is still the one and right; nothing conflicted",
          (reader.read([G]) or {}).get(G) == 14 and "conflicting result" not in open(env.gw.log_path).read())
    # a replay (the same message again, e.g. from nox_dead): recomputed, nothing changes, nothing conflicts
    dead_before = sum(d["subject"] == "nox_dead." + msg["transactionHash"] for d in dead_letters(env))
    publish(env, [], raw=[("nox_ingestor." + msg["transactionHash"], json.dumps(msg))])
    deadline = time.time() + 30
    while time.time() < deadline and sum(d["subject"] == "nox_dead." + msg["transactionHash"]
                                         for d in dead_letters(env)) == dead_before:
        time.sleep(0.3)
    check("a replay of the message is processed again (dead-lettered again for its failed event)",
          sum(d["subject"] == "nox_dead." + msg["transactionHash"] for d in dead_letters(env)) == dead_before + 1)
    check("... its result unchanged, its failures the same, nothing conflicting",
          (reader.read([G]) or {}).get(G) == 14 and handle_status(env, K).get("status") == "failed" and
          handle_status(env, G).get("status") == "stored" and "unknown operator id 4242" in reason_of(env, K)
          and "conflicting result" not in open(env.gw.log_path).read())


def test_failure_notice(env, reader):
    """A failure notice (docs/PROTOCOL-EXTENSIONS.md §5: a message with a `failed` list, which the Ingestor sends for
    handles of a transaction it cannot queue): each listed handle gets a record with the notice's reason; an event of
    the same message consuming one fails as derived from it; the others are stored; a notice alone is simply acked."""
    a, b = secret(env, "uint64", 5), secret(env, "uint64", 9)
    n1, n2, n3, G, D = (new_handle("uint64") for _ in range(5))
    why = "the Ingestor could not queue the transaction: log 2 (Add): data is 64 bytes, expected 96"
    mixed = message([event(0, "add", [a, b], [G]), event(1, "add", [n1, a], [D])])
    mixed["failed"] = {"reason": why, "outputs": [n1, n2]}
    alone = message([])
    alone["failed"] = {"reason": why, "outputs": [n3]}
    dead_before, ok_before = len(dead_letters(env)), metric(env.runners[0], "nox_runner_messages_ok_total") or 0
    publish(env, [mixed, alone])
    got = reader.wait([G], timeout=60) or {}
    check("failure notice: the message's computable result is stored", got.get(G) == 14, got)
    statuses = wait_failed(env, [n1, n2, n3, D])
    check("failure notice: every listed handle 'failed' with the notice's reason",
          all(statuses.get(h, {}).get("reason") == why for h in (n1, n2, n3)), statuses)
    check("failure notice: the event consuming a listed handle fails, naming it and the reason",
          statuses.get(D, {}).get("reason") == f"events[1] (add): derives from failed handle {n1} ({why})", statuses.get(D))
    deadline = time.time() + 10
    while time.time() < deadline and (metric(env.runners[0], "nox_runner_messages_ok_total") or 0) < ok_before + 1:
        time.sleep(0.1)
    dead = [d["subject"] for d in dead_letters(env)[dead_before:]]
    check("failure notice: a notice alone is acked (ok), not dead-lettered; the mixed one is, for its failed event",
          "nox_dead." + alone["transactionHash"] not in dead and "nox_dead." + mixed["transactionHash"] in dead and
          (metric(env.runners[0], "nox_runner_messages_ok_total") or 0) >= ok_before + 1, dead)


def test_misbehaving_plugin(env, reader):
    """A plugin that misbehaves (tests/unit/plugins/test_plugin.c, good.so: broken_rc returns 7, non_canonical writes
    bits above its uint8 output): only its event, and what derives from it, fails; twice on the add beside it works."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(NOX_RUNNER)))
    plugins, good = os.path.join(build, "lib", "nox"), os.path.join(build, "tests", "plugins", "good.so")
    ops = os.path.join(env.work, "misbehaving.yaml")
    with open(ops, "w") as f:
        f.write(f"plugins:\n  - path: {os.path.join(plugins, 'arithmetic.so')}\n"
                f"  - path: {good}\n    operators: [twice, broken_rc, non_canonical]\n")
    r = noxtest.run_nats(JS_DUMP, "--create", env.nats.url, "nox_plug", "nox_plug.>", "file", "86400", "600")
    check("a stream for the Runner with the misbehaving plugin", r.returncode == 0, r.stderr)
    plug = env.start_runner("runner-plug", workers=1, stream="nox_plug", consumer="plug", operators=ops)
    try:
        a, b = secret(env, "uint8", 100), secret(env, "uint8", 20)
        S, E, T, N, U = (new_handle("uint8") for _ in range(5))
        msg = message([event(0, "add", [a, b], [S]),                    # S = 120
                       generic(1, "broken_rc", 65, [a], [E]),            # the plugin returns 7
                       generic(2, "twice", 64, [E], [T]),                # derives from E
                       generic(3, "non_canonical", 66, [a], [N]),        # a non-canonical uint8
                       generic(4, "twice", 64, [S], [U])])               # U = 240
        publish(env, [], raw=[("nox_plug." + msg["transactionHash"], json.dumps(msg))])
        got = reader.wait([S, U], timeout=60) or {}
        check("misbehaving plugin: the other events' results are stored and right", got.get(S) == 120 and
              got.get(U) == 240, got)
        statuses = wait_failed(env, [E, T, N])
        check("misbehaving plugin: its events' outputs and the one derived are 'failed'",
              all(st.get("status") == "failed" for st in statuses.values()), statuses)
        check("misbehaving plugin: the public reasons name the plugin's fault (not what it returned) and the "
              "handle derived from",
              reason_of(env, E) == "events[1] (broken_rc): the operator's plugin failed on it (a bug in the plugin: "
                                   "see the Runner's log)" and
              reason_of(env, N).startswith("events[3] (non_canonical): the operator's plugin failed on it") and
              reason_of(env, T) == f"events[2] (twice): derives from failed handle {E} (events[1])",
              [reason_of(env, h) for h in (E, N, T)])
        check("misbehaving plugin: the Runner's log has the engine's words (for the operator)",
              "operator broken_rc returned 7" in plug.log() and "non-canonical uint8" in plug.log(), plug.log()[-2000:])
        n = wait_metric(plug, "nox_runner_failed_events_plugin_error_total", 2)
        check("misbehaving plugin: counted as plugin errors in /metrics", n == 2, n)
    finally:
        check("the Runner with the misbehaving plugin exits cleanly", plug.stop() == 0)


def test_retry(env, reader):
    """A message whose operand is produced by another message published later: retried, then completes."""
    a = secret(env, "uint16", 1000)
    mid, out = new_handle("uint16"), new_handle("uint16")
    waited0 = metric(env.runners[0], "nox_runner_messages_waiting_total") or 0
    retried0 = metric(env.runners[0], "nox_runner_messages_retried_total") or 0
    second = message([event(0, "add", [mid, a], [out])])
    first = message([event(0, "add", [a, a], [mid])])
    publish(env, [second])
    time.sleep(2)
    check("the dependent message is not done before its operand exists", reader.read([out]) is None)
    publish(env, [first])
    got = reader.wait([mid, out], timeout=60) or {}
    check("the dependent message completes once the other is processed", got.get(out) == 3000, got)
    waited = (metric(env.runners[0], "nox_runner_messages_waiting_total") or 0) - waited0
    retried = (metric(env.runners[0], "nox_runner_messages_retried_total") or 0) - retried0
    check("the wait shows in /metrics (waiting, not retried)", waited > 0 and retried == 0, (waited, retried))


def metric(server, name):
    st, body, _ = http("GET", server.url + "/metrics")
    for ln in str(body).splitlines():
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    return None


def wait_metric(server, name, want, timeout=10):
    """The metric once it equals want (it is counted just after the Gateway answers), or its last value."""
    deadline, v = time.time() + timeout, None
    while time.time() < deadline:
        v = metric(server, name)
        if v == want:
            break
        time.sleep(0.1)
    return v


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
    """One message with 1,040 external operands: fetched in 2 requests (1,024 per request: each a batch of one, so
    that an operand_failed answer would list every failed operand), all results right."""
    vals = [(i * 7919) % 100000 for i in range(2 * n_events)]
    hs = [secret(env, "uint32", v) for v in vals]
    outs = [new_handle("uint32") for _ in range(n_events)]
    events = [event(i, "add", [hs[2 * i], hs[2 * i + 1]], [outs[i]]) for i in range(n_events)]
    before, gets = gw_batch_requests(env), gateway_requests(env, "/v0/compute/operands")
    reads = reader.requests
    publish(env, [message(events)])
    got = reader.wait(outs, timeout=120) or {}
    good = sum(got.get(outs[i]) == (vals[2 * i] + vals[2 * i + 1]) % (1 << 32) for i in range(n_events))
    check(f"a message of {n_events} events and {2 * n_events} operands: every result right", good == n_events,
          f"{good} of {n_events}")
    used = gw_batch_requests(env) - before
    others = gateway_requests(env, "/v0/compute/operands") - gets - (reader.requests - reads)
    check("the Runner fetched its operands in 2 Gateway requests (1,024 handles per request)", (used, others) == (2, 0),
          (used, others))


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


def test_gateway_failover(env, reader, n=4000):
    """gateway_urls: two Gateways of one deployment (the same PostgreSQL, KMS and wallet) and a Runner configured with
    both; the first stopped while messages are being computed: the Runner moves to the second (a transport error
    moves it, saying "moving to"), every result is stored through it, each once, none conflicting. The messages
    are published while the Runner computes, so it is still computing when the first Gateway stops."""
    w = env.work
    base = open(os.path.join(w, "gateway.yaml")).read().replace(f"listen: 127.0.0.1:{env.gw_port}\n",
                                                                "listen: 127.0.0.1:0\n", 1)
    gws = []
    for name in ("gateway-a", "gateway-b"):
        with open(os.path.join(w, name + ".yaml"), "w") as f:
            f.write(base)
        gws.append(start_ready(name, [NOX_GATEWAY, "--config", os.path.join(w, name + ".yaml")], w))
        env.extra.append(gws[-1])
    r = noxtest.run_nats(JS_DUMP, "--create", env.nats.url, "nox_fo", "nox_fo.>", "file", "86400", "600")
    check("failover: a stream for the Runner with two Gateway URLs", r.returncode == 0, r.stderr)
    fo = env.start_runner("runner-fo", stream="nox_fo", consumer="fo", gateway_urls=[g.url for g in gws])
    env.extra.append(fo)
    ins = [(secret(env, "uint64", v), v) for v in (7, 80, 900, 10000)]
    msgs, want = add_batch(env, n + 100, ins)
    as_raw = lambda ms: [("nox_fo." + m["transactionHash"], json.dumps(m)) for m in ms]
    # published from a thread while the Runner computes: the Runner cannot finish before the publisher has, so the
    # first Gateway stops mid-run whatever the machine's speed (publishing first let a fast Runner finish all n)
    publisher = threading.Thread(target=publish, args=(env, []), kwargs={"raw": as_raw(msgs[:n])})
    publisher.start()
    deadline = time.time() + 60
    while time.time() < deadline and (metric(fo, "nox_runner_messages_ok_total") or 0) < 50:
        time.sleep(0.02)
    done = metric(fo, "nox_runner_messages_ok_total") or 0
    stopped = gws[0].stop()
    publisher.join()
    check("failover: the first Gateway stops while the Runner computes (it has some results, not all)",
          stopped == 0 and 0 < done < n, (done, n))
    publish(env, [], raw=as_raw(msgs[n:]))   # and more after it is gone
    got = reader.wait([h for h, _ in want], timeout=180) or {}
    good = sum(got.get(h) == v for h, v in want)
    check(f"failover: all {n + 100} results stored and right (through the second Gateway)", good == n + 100,
          f"{good} of {n + 100}")
    log = fo.log()
    check("failover: the Runner's log says it moved to the second Gateway", f"moving to {gws[1].url}" in log,
          [ln for ln in log.splitlines() if "moving" in ln or "warn" in ln][:5])
    stored_b = sum(gateway_requests_at(gws[1], route) for route in ("/v0/compute/results", "/v0/compute/results/batch"))
    check("failover: the second Gateway took results", stored_b > 0, stored_b)
    created, unchanged, conflicted = (metric(fo, f"nox_runner_results_{k}_total") or 0
                                      for k in ("created", "unchanged", "conflicted"))
    check("failover: nothing stored twice with different values (0 conflicted; each result created once, a retry "
          "of one the first Gateway stored answered unchanged)", conflicted == 0 and created <= n + 100 and
          created + unchanged >= n + 100, (created, unchanged, conflicted))
    check("failover: no conflict in either Gateway's log", not any("conflicted" in g.log() for g in gws))
    check("failover: that Runner exits cleanly", fo.stop() == 0, fo.log()[-1500:])
    gws[1].stop()


def gateway_requests_at(gw, route):
    st, body, _ = http("GET", gw.url + "/metrics")
    return sum(float(ln.split()[-1]) for ln in str(body).splitlines()
               if ln.startswith("nox_gateway_http_requests_total{") and f'route="{route}"' in ln)


def test_nats_transport(env, reader):
    """NATS: a Runner started before its nats-server (a port nothing listens on yet) starts all the same, connects
    once the server is there and computes; nats.urls with a dead server first works; nats.url and nats.urls together
    are refused at file:line:col. log_format: json on that Runner: every line is one JSON object."""
    w = env.work
    port = noxtest.free_port()
    late = env.start_runner("runner-late", stream="nox_late", consumer="late", nats_urls=[f"tls://127.0.0.1:{port}"],
                            extra="log_format: json\n")
    env.extra.append(late)
    time.sleep(1.5)
    st, body, _ = http("GET", late.url + "/health")
    check("NATS not there yet: the Runner runs, /health 503 naming NATS", late.proc.poll() is None and st == 503 and
          "NATS" in str(body), (st, body))
    srv = noxtest.start_nats(w, NOXCTL, name="nats-late", streams=[("nox_late", "late")], tls=env.pki, port=port)
    env.extra.append(srv)
    r = noxtest.run_nats(JS_DUMP, "--create", srv.url, "nox_late", "nox_late.>", "file", "86400", "600")
    check("nats-server started on that port afterwards, the stream created", r.returncode == 0 and
          srv.url == f"tls://127.0.0.1:{port}", (srv.url, r.stderr))
    a = secret(env, "uint64", 40)
    out = new_handle("uint64")
    m = message([event(0, "add", [a, a], [out])])
    publish(env, [], raw=[("nox_late." + m["transactionHash"], json.dumps(m))], url=srv.url)
    got = reader.wait([out], timeout=60) or {}
    check("the Runner connected to the late server and computed a published message", got.get(out) == 80, got)
    st, body = wait_health(late, 200)
    check("... its /health 200 once connected and the stream has a leader", st == 200, (st, body))
    check("... and it exits cleanly", late.stop() == 0, late.log()[-1500:])
    lines = late.log().splitlines()
    bad = []
    for ln in lines:
        try:
            o = json.loads(ln)
            if set(o) != {"time", "service", "level", "message"} or o["service"] != "runner":
                bad.append(ln)
        except ValueError:
            bad.append(ln)
    check(f"log_format: json: every one of the Runner's {len(lines)} log lines is a JSON object "
          "{time, service: runner, level, message}", len(lines) >= 5 and not bad, bad[:5])
    msgs = [json.loads(ln)["message"] for ln in lines if ln not in bad]
    check("log_format: json: its NATS warning and its connection are in it",
          any(x.get("level") == "warn" for x in map(json.loads, (ln for ln in lines if ln not in bad))) and
          any("NATS" in x for x in msgs), msgs[:12])
    srv.stop()

    # nats.urls: a dead server first, then the live one
    dead = noxtest.free_port()
    r = noxtest.run_nats(JS_DUMP, "--create", env.nats.url, "nox_urls", "nox_urls.>", "file", "86400", "600")
    two = env.start_runner("runner-urls", stream="nox_urls", consumer="urls",
                           nats_urls=[f"tls://127.0.0.1:{dead}", env.nats.url])
    env.extra.append(two)
    out = new_handle("uint64")
    m = message([event(0, "add", [a, a], [out])])
    publish(env, [], raw=[("nox_urls." + m["transactionHash"], json.dumps(m))])
    got = reader.wait([out], timeout=60) or {}
    check("nats.urls [a dead server, the live one]: the Runner computes a published message",
          r.returncode == 0 and got.get(out) == 80, (r.stderr, got))
    check("... and exits cleanly", two.stop() == 0, two.log()[-1500:])

    # refusals at file:line:col
    text = env.runner_config().replace(f"url: {env.nats.url},", f"url: {env.nats.url}, urls: [{env.nats.url}],", 1)
    first = text.splitlines()[0]
    want = f"both-nats.yaml:1:{first.index('urls: [') + 7}: nats: url and urls: give one of them, not both"
    cfg = os.path.join(w, "both-nats.yaml")
    with open(cfg, "w") as f:
        f.write(text)
    r = run(NOX_RUNNER, "--config", cfg, timeout=30)
    check("nats.url and nats.urls together: the Runner does not start, naming file:line:col",
          r.returncode == 1 and want in r.stdout + r.stderr, (want, (r.stdout + r.stderr)[-400:]))
    text = env.runner_config()
    line = text.splitlines().index(f"gateway_url: https://127.0.0.1:{env.gw_port}") + 1
    text = text.replace("gateway_url: ", f"gateway_urls: [{env.gw.url}]\ngateway_url: ", 1)
    cfg = os.path.join(w, "both-gw.yaml")
    with open(cfg, "w") as f:
        f.write(text)
    r = run(NOX_RUNNER, "--config", cfg, timeout=30)
    check("gateway_url and gateway_urls together: the Runner does not start, naming file:line:col",
          r.returncode == 1 and f"both-gw.yaml:{line}:15: gateway_urls: give gateway_url or gateway_urls, not both"
          in r.stdout + r.stderr, (r.stdout + r.stderr)[-400:])


def test_refusals(env, reader):
    """A Runner started before its stream exists, whose key the Gateway does not know (401 every time) and whose operators.yaml lacks the token
    plugin, on its own stream with max_deliver 3: the add is retried then dead-lettered after 3 deliveries; so is
    the transfer (the Gateway refuses its failure records too), naming the operator."""
    keygen(os.path.join(env.work, "stranger-wallet.key"))
    ops = os.path.join(env.work, "arith-only.yaml")
    with open(ops, "w") as f:
        f.write(f"plugins:\n  - path: {os.path.join(os.path.dirname(NOX_RUNNER), '..', 'lib', 'nox', 'arithmetic.so')}\n")
    md = env.start_runner("runner-md", workers=1, stream="nox_md", consumer="md", max_deliver=3,
                          wallet="stranger-wallet.key", operators=ops)
    time.sleep(0.5)
    check("a Runner started before its stream exists waits for it (and says so)",
          md.proc.poll() is None and "retrying every 0.25 s" in open(md.log_path).read(), open(md.log_path).read()[-800:])
    r = noxtest.run_nats(JS_DUMP, "--create", env.nats.url, "nox_md", "nox_md.>", "file", "86400", "600")
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
    check("an operator not enabled in operators.yaml: its failure cannot be recorded either (401), so retried, "
          "then dead-lettered naming the operator", "gave up after 3 attempts" in str(d.get("deadReason")) and
          "unknown operator transfer" in str(d.get("deadReason")) and "401" in str(d.get("deadReason")), d)
    check("the 401s were retried (2 naks for each message) before giving up",
          (metric(md, "nox_runner_messages_retried_total") or 0) == 4, metric(md, "nox_runner_messages_retried_total"))
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


def test_ingestor_addresses(env):
    """ingestor_addresses is required (PROTOCOL-EXTENSIONS, "Signed queue messages"): without it, or with a zero,
    malformed or repeated address, the Runner does not start, naming file:line:col."""
    good = open(os.path.join(env.work, "runner.yaml")).read()
    line = f'ingestor_addresses: ["{env.ingestor_addr}"]\n'
    n = good[:good.index(line)].count("\n") + 1  # its line number
    cases = [("missing", good.replace(line, ""), "no-ingestors.yaml:1:1: missing required key 'ingestor_addresses'"),
             ("empty", good.replace(line, "ingestor_addresses: []\n"),
              f"empty-ingestors.yaml:{n}:21: ingestor_addresses: list 1 to 16 Ingestor addresses, got 0"),
             ("the zero address", good.replace(line, 'ingestor_addresses: ["0x' + "00" * 20 + '"]\n'),
              f"zero-ingestors.yaml:{n}:22: ingestor_addresses[0]: the zero address signs nothing"),
             ("a malformed address", good.replace(line, 'ingestor_addresses: ["0x1234"]\n'),
              f"bad-ingestors.yaml:{n}:22: ingestor_addresses[0]: expected"),
             ("an address twice", good.replace(line, f'ingestor_addresses: ["{env.ingestor_addr}", '
                                                     f'"{env.ingestor_addr.upper().replace("0X", "0x")}"]\n'),
              f"twice-ingestors.yaml:{n}:68: ingestor_addresses[1]: listed twice (also ingestor_addresses[0])")]
    for name, text, want in cases:
        cfg = os.path.join(env.work, want.split(":", 1)[0])
        with open(cfg, "w") as f:
            f.write(text)
        r = run(NOX_RUNNER, "--config", cfg, timeout=30)
        check(f"ingestor_addresses {name}: the Runner does not start, naming the place", r.returncode == 1 and
              want in r.stdout + r.stderr, (r.returncode, (r.stdout + r.stderr)[-400:]))


def test_gateway_address(env):
    """gateway_address is required and authorization_lifetime_s bounded (docs/PROTOCOL-EXTENSIONS.md §7: the
    Runner's authorizations name the Gateway and must fit its 300 s window): else the Runner does not start."""
    good = open(os.path.join(env.work, "runner.yaml")).read()
    line = f'gateway_address: "{GW["address"]}"\n'
    n = good[:good.index(line)].count("\n") + 1
    cases = [("missing", good.replace(line, ""), "no-gw.yaml:1:1: missing required key 'gateway_address'"),
             ("malformed", good.replace(line, 'gateway_address: "0x1234"\n'),
              f"bad-gw.yaml:{n}:18: gateway_address: expected the Gateway's wallet address"),
             ("a lifetime of 296 s", good.replace(line, line + "authorization_lifetime_s: 296\n"),
              f"long-life.yaml:{n + 1}:27: authorization_lifetime_s: expected an integer in [10, 295]"),
             ("a lifetime of 9 s", good.replace(line, line + "authorization_lifetime_s: 9\n"),
              f"short-life.yaml:{n + 1}:27: authorization_lifetime_s: expected an integer in [10, 295]")]
    for name, text, want in cases:
        cfg = os.path.join(env.work, want.split(":", 1)[0])
        with open(cfg, "w") as f:
            f.write(text)
        r = run(NOX_RUNNER, "--config", cfg, timeout=30)
        check(f"gateway_address / authorization_lifetime_s {name}: the Runner does not start, naming the place",
              r.returncode == 1 and want in r.stdout + r.stderr, (r.returncode, (r.stdout + r.stderr)[-400:]))


def main():
    work = tempfile.mkdtemp(prefix="runner-test-")
    env = Env(work)
    try:
        env.start()
        reader = Reader(work, env.gw)
        st, body, _ = http("GET", env.runners[0].url + "/health")
        check("/health 200 with NATS, Gateway and KMS up", st == 200, body)
        check("the Runner names the Ingestor wallet it trusts", f"signed by the Ingestor wallet(s) {env.ingestor_addr}"
              in open(env.runners[0].log_path).read(), open(env.runners[0].log_path).read()[-1000:])
        test_ingestor_addresses(env)
        test_gateway_address(env)
        test_operations(env, reader)
        test_dead_letters(env, reader)
        test_generic(env, reader)
        test_isolation(env, reader)
        test_failed_operands(env, reader)
        test_failures_redelivered(env, reader)
        test_failure_notice(env, reader)
        test_misbehaving_plugin(env, reader)
        test_retry(env, reader)
        test_gateway_restart(env, reader)
        reader.gw = env.gw
        test_many_operands(env, reader)
        test_chain(env, reader)
        test_shutdown_in_flight(env, reader)
        test_operand_timeout(env, reader)
        test_refusals(env, reader)
        test_gateway_failover(env, reader)
        test_nats_transport(env, reader)
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
