#!/usr/bin/python3
"""nox-ingestor as a real process: anvil + nats-server + the contracts (spec §6, §9).

usage: ingestor_test.py NOX_INGESTOR JS_DUMP CAST CONTRACTS_DIR

Deploys NoxCompute and ConfidentialToken (contracts/deploy.py), sends transactions with
cast, and reads JetStream back with js_dump (tests/integration/js_dump.c). The expected
messages are built here, independently of the C code: from eth_getLogs answers, the event
signatures written out from spec §9 (topics by `cast keccak`) and the field table of §6;
message ids by `cast keccak "<chainId>:<txHash>"`. Checks: exactly one message per
transaction with its fields and event order, the Nats-Msg-Id, the streams' configuration,
chunked ranges, two transactions in one block, restart with no gap and no duplicate,
re-publishing without a checkpoint (dropped by JetStream's duplicate window), a NATS outage,
an unreachable RPC node, the dead letter of a malformed event, a reorganisation deeper than
`confirmations` (anvil's evm_snapshot/evm_revert), start-up refusals (nats.replicas against an existing
stream among them). NATS over TLS (tls://), the Ingestor's endpoints over https (noxtest.pki).
NOX_TEST_VERBOSE=1 prints passing checks too. Ends with "N passed, M failed".
"""
import json
import os
import shutil
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
import queue_sig  # noqa: E402  (signatures checked with cast alone)
from noxtest import http, run  # noqa: E402

if len(sys.argv) != 5:
    print("usage: ingestor_test.py NOX_INGESTOR JS_DUMP CAST CONTRACTS_DIR", file=sys.stderr)
    sys.exit(2)
NOX_INGESTOR, JS_DUMP, CAST, CONTRACTS = sys.argv[1:5]
NOXCTL = os.path.join(os.path.dirname(os.path.abspath(NOX_INGESTOR)), "noxctl")
# the streams the test's Ingestors publish to: the server's permissions name each one (scripts/nats_auth.py)
STREAMS = [(s, "nox_ingestor_consumer") for s in ("nox_ingestor", "fake_ingestor", "fake20_ingestor")]
VERBOSE = os.environ.get("NOX_TEST_VERBOSE") == "1"
CHAIN = 31337
DEPLOYER_KEY, USER1_KEY, USER2_KEY = noxtest.ANVIL_KEYS
KMS_PUBLIC_KEY = "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
TYPE_UINT64 = 11

# Spec §9 signatures and §6 field names, written out here (not taken from the C tables).
BIN = ["leftHandOperand", "rightHandOperand", "result"]
SAFE = ["leftHandOperand", "rightHandOperand", "success", "result"]
EVENTS = [
    ("PlaintextToEncrypted(address,bytes32,uint8,bytes32)", "plaintext_to_encrypted", ["value", "teeType", "handle"]),
    ("Add(address,bytes32,bytes32,bytes32)", "add", BIN), ("Sub(address,bytes32,bytes32,bytes32)", "sub", BIN),
    ("Mul(address,bytes32,bytes32,bytes32)", "mul", BIN), ("Div(address,bytes32,bytes32,bytes32)", "div", BIN),
    ("SafeAdd(address,bytes32,bytes32,bytes32,bytes32)", "safe_add", SAFE),
    ("SafeSub(address,bytes32,bytes32,bytes32,bytes32)", "safe_sub", SAFE),
    ("SafeMul(address,bytes32,bytes32,bytes32,bytes32)", "safe_mul", SAFE),
    ("SafeDiv(address,bytes32,bytes32,bytes32,bytes32)", "safe_div", SAFE),
    ("Select(address,bytes32,bytes32,bytes32,bytes32)", "select", ["condition", "ifTrue", "ifFalse", "result"]),
    ("Eq(address,bytes32,bytes32,bytes32)", "eq", BIN), ("Ne(address,bytes32,bytes32,bytes32)", "ne", BIN),
    ("Lt(address,bytes32,bytes32,bytes32)", "lt", BIN), ("Le(address,bytes32,bytes32,bytes32)", "le", BIN),
    ("Gt(address,bytes32,bytes32,bytes32)", "gt", BIN), ("Ge(address,bytes32,bytes32,bytes32)", "ge", BIN),
    ("Transfer(address,bytes32,bytes32,bytes32,bytes32,bytes32,bytes32)", "transfer",
     ["balanceFrom", "balanceTo", "amount", "success", "newBalanceFrom", "newBalanceTo"]),
    ("Mint(address,bytes32,bytes32,bytes32,bytes32,bytes32,bytes32)", "mint",
     ["balanceTo", "amount", "totalSupply", "success", "newBalanceTo", "newTotalSupply"]),
    ("Burn(address,bytes32,bytes32,bytes32,bytes32,bytes32,bytes32)", "burn",
     ["balanceFrom", "amount", "totalSupply", "success", "newBalanceFrom", "newTotalSupply"]),
]


# The output fields of §6's events (every other field is an input, value or teeType).
OUTPUT_FIELDS = {"handle", "result", "success", "newBalanceFrom", "newBalanceTo", "newTotalSupply"}


def check(name, ok, detail=""):
    ok = bool(ok)
    noxtest.check(name, ok, detail, verbose=VERBOSE)
    return ok


def cast(*args):
    r = run(CAST, *args)
    if r.returncode != 0:
        raise RuntimeError(f"cast {' '.join(args[:2])}: {r.stderr.strip()}")
    return r.stdout.strip()


TOPICS = {cast("keccak", sig): (name, fields) for sig, name, fields in EVENTS}


class Chain:
    def __init__(self, url):
        self.url = url

    def rpc(self, method, params):
        status, body, _ = http("POST", self.url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                             "params": params}),
                               {"Content-Type": "application/json"})
        if status != 200 or "result" not in body:
            raise RuntimeError(f"{method}: {status} {body}")
        return body["result"]

    def head(self):
        return int(self.rpc("eth_blockNumber", []), 16)

    def block_hash(self, n):
        return self.rpc("eth_getBlockByNumber", [hex(n), False])["hash"]

    def send(self, key, to, sig, *args):
        """cast send; returns the receipt."""
        r = json.loads(cast("send", "--json", "--rpc-url", self.url, "--private-key", key, to, sig, *args))
        if int(r["status"], 16) != 1:
            raise RuntimeError(f"{sig} reverted: {r}")
        return r

    def expected(self, compute, from_block, to_block):
        """{txHash: the TransactionMessage spec §6 says the logs of NoxCompute make}, built from eth_getLogs."""
        logs = self.rpc("eth_getLogs", [{"address": compute, "fromBlock": hex(from_block), "toBlock": hex(to_block)}])
        txs = {}
        for log in sorted(logs, key=lambda l: (int(l["blockNumber"], 16), int(l["logIndex"], 16))):
            if not log["topics"] or log["topics"][0] not in TOPICS:
                continue  # ACL events of the same contract
            name, fields = TOPICS[log["topics"][0]]
            words = [log["data"][2 + 64 * i: 2 + 64 * (i + 1)] for i in range((len(log["data"]) - 2) // 64)]
            event = {"logIndex": int(log["logIndex"], 16), "caller": "0x" + log["topics"][1][-40:], "type": name}
            for f, w in zip(fields, words):
                event[f] = int(w, 16) if f == "teeType" else "0x" + w
            m = txs.setdefault(log["transactionHash"], {
                "chainId": CHAIN, "caller": event["caller"], "blockNumber": int(log["blockNumber"], 16),
                "transactionHash": log["transactionHash"], "events": []})
            m["events"].append(event)
        return txs


def js(*args):
    """js_dump's JSON lines (or None when it fails)."""
    r = noxtest.run_nats(JS_DUMP, *args)
    if r.returncode != 0:
        return None
    return [json.loads(line) for line in r.stdout.splitlines()]


def msg_id(tx):
    return cast("keccak", f"{CHAIN}:{tx}")


class Ingestor:
    def __init__(self, work, name, config):
        self.work, self.name = work, name
        self.cfg = os.path.join(work, f"{name}.yaml")
        with open(self.cfg, "w") as f:
            f.write(config)
        self.ready = os.path.join(work, f"{name}.ready")
        self.log_path = os.path.join(work, f"{name}.log")
        self.proc = self.url = None

    def start(self, expect_ready=True):
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([NOX_INGESTOR, "--config", self.cfg, "--ready-file", self.ready],
                                     stdout=log, stderr=log)
        log.close()
        for _ in range(400):
            if os.path.exists(self.ready) or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.url = open(self.ready).read().strip() if os.path.exists(self.ready) else None
        if expect_ready and not self.url:
            raise RuntimeError(f"{self.name} did not start: {self.log()[-3000:]}")
        return self

    def log(self):
        return open(self.log_path).read()

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def metrics(self):
        status, text, _ = http("GET", self.url + "/metrics")
        out = {}
        for line in text.splitlines() if status == 200 else []:
            m = re.match(r"^(nox_ingestor_[a-z_]+) (\S+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def wait_for(self, what, pred, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            m = self.metrics()
            if pred(m):
                return m
            time.sleep(0.1)
        check(f"{self.name}: {what}", False, f"metrics {self.metrics() if self.proc.poll() is None else 'exited'}; "
                                              f"log: {self.log()[-3000:]}")
        return None

    def caught_up(self, block, timeout=60):
        return self.wait_for(f"reaches block {block}", lambda m: m.get("nox_ingestor_checkpoint_block", -1) >= block,
                             timeout)


WALLET = {}  # "path" and "address" of the wallet every Ingestor of the test signs with (set by body())
PKI = {}     # "pki": the test's noxtest.Pki (set by main): NATS over tls://, /health and /metrics over https


def config(rpc, nats, compute, start, state, extra="", stream="nox_ingestor", subject="nox_ingestor",
           chain=CHAIN, range_=3):
    pki = PKI["pki"]
    return (f"rpc_url: {rpc}\nchain_id: {chain}\nnox_compute: \"{compute}\"\nstart_block: {start}\n"
            f"confirmations: 0\npoll_interval_ms: 100\nmax_block_range: {range_}\nstate_file: {state}\n"
            f"nats:\n  url: {nats}\n  credentials_file: {WALLET['nats']}\n  stream: {stream}\n  subject: {subject}\n"
            f"  tls: {pki.client_flow()}\n"
            f"listen: 127.0.0.1:0\n{pki.server_yaml('ingestor')}"
            f"log_level: info\nwallet_key_file: {WALLET['path']}\n{extra}")


def check_signed(label, msgs, stream):
    """Every message carries Nox-Signature and Nox-Signer by the Ingestor's wallet, over its stream, subject,
    Nox-Dead-Reason and body (docs/PROTOCOL-EXTENSIONS.md): the digest rebuilt and the signature recovered by cast."""
    bad = []
    for m in msgs:
        ok, why = queue_sig.check_message(CAST, m, stream, WALLET["address"])
        if not ok:
            bad.append((m["subject"], why))
    check(f"{label}: all {len(msgs)} message(s) signed by the Ingestor's wallet over what was published (cast)",
          msgs and not bad, bad[:3])


def check_stream(nats_url, chain, compute, deploy_block, head, label):
    """The stream holds exactly one message per transaction, each as spec §6 says."""
    msgs = js(nats_url, "nox_ingestor")
    if not check(f"{label}: js_dump reads the stream", msgs is not None):
        return []
    want = chain.expected(compute, deploy_block, head)
    subjects = [m["subject"] for m in msgs]
    check(f"{label}: one message per transaction ({len(want)})",
          sorted(subjects) == sorted("nox_ingestor." + tx for tx in want) and len(set(subjects)) == len(subjects),
          f"got {subjects}, want {sorted(want)}")
    ids = [m["msgId"] for m in msgs]
    check(f"{label}: no two messages share a Nats-Msg-Id", len(set(ids)) == len(ids), ids)
    check(f"{label}: sequence numbers have no gap", [m["seq"] for m in msgs] == list(range(1, len(msgs) + 1)),
          [m["seq"] for m in msgs])
    blocks = []
    for m in msgs:
        tx = m["subject"].split(".", 1)[1]
        body = json.loads(m["data"])
        blocks.append(body["blockNumber"])
        check(f"{label}: {tx[:10]}: the message is spec §6's, events in logIndex order", body == want.get(tx),
              f"\n  got  {body}\n  want {want.get(tx)}")
        check(f"{label}: {tx[:10]}: compact JSON", ", " not in m["data"] and ": " not in m["data"])
        check(f"{label}: {tx[:10]}: Nats-Msg-Id = keccak256(\"{CHAIN}:<txHash>\")", m["msgId"] == msg_id(tx),
              m["msgId"])
    check(f"{label}: messages in chain order", blocks == sorted(blocks), blocks)
    check_signed(label, msgs, "nox_ingestor")
    return msgs


def main():
    work = tempfile.mkdtemp(prefix="nox-ingestor-test-")
    # NATS over TLS (tls://, the Ingestor verifies it with the test's CA), the Ingestor's own endpoints over https;
    # anvil has no TLS (loopback only)
    pki = PKI["pki"] = noxtest.pki(work)
    noxtest.use_tls(pki.ca)
    anvil = noxtest.start_anvil(work)
    nats = noxtest.start_nats(work, NOXCTL, streams=STREAMS, tls=pki)
    WALLET["nats"] = nats.creds["ingestor"]   # the Ingestor's NATS identity: may publish to the streams only
    servers = [anvil, nats]
    ingestors = []
    try:
        body(work, anvil, nats, servers, ingestors)
    finally:
        for i in ingestors:
            i.stop()
        for s in servers:
            s.stop()
        # every nox-ingestor process of the test, refusals included (under ASan: no report anywhere)
        logs = {f: open(os.path.join(work, f), errors="replace").read() for f in os.listdir(work)
                if f.endswith(".log") and f not in ("anvil.log", "nats.log", "nats2.log", "nats-small.log")}
        bad = [f for f, text in logs.items() if "Sanitizer" in text or "runtime error:" in text]
        check(f"no sanitizer report in {len(logs)} Ingestor logs", not bad, bad)
        noxtest.keep_or_remove(work)


def body(work, anvil, nats, servers, ingestors):
    chain = Chain(anvil.url)
    gateway = cast("wallet", "address", "--private-key", USER2_KEY)
    deployment = os.path.join(work, "deployment.json")
    r = run(sys.executable, os.path.join(noxtest.ROOT, "contracts", "deploy.py"), "--rpc-url", anvil.url,
            "--private-key", DEPLOYER_KEY, "--gateway", gateway, "--kms-public-key", KMS_PUBLIC_KEY,
            "--out", deployment, "--artifacts", CONTRACTS, "--cast", CAST)
    if not check("contracts/deploy.py deploys", r.returncode == 0, r.stderr):
        return
    d = json.load(open(deployment))
    compute, token, start = d["noxCompute"], d["confidentialToken"], d["deployBlock"]
    user1 = cast("wallet", "address", "--private-key", USER1_KEY)
    state = os.path.join(work, "state", "checkpoint.json")  # its directory is created at start-up
    WALLET["path"] = os.path.join(work, "keys", "ingestor-wallet.key")  # created by the first Ingestor that starts
    os.makedirs(os.path.dirname(WALLET["path"]), mode=0o700)

    # ---- start-up refusals (before anything is published) ----
    def refused(name, text, needle, tag):
        ing = Ingestor(work, tag, text)
        ing.start(expect_ready=False)
        rc = ing.proc.wait(timeout=30)
        check(f"{name} stops start-up", rc == 1 and needle in ing.log(), f"rc={rc} log: {ing.log()[-1500:]}")

    good = config(anvil.url, nats.url, compute, start, state)
    refused("an unknown key", good + "colour: red\n", f"bad-key.yaml:{good.count(chr(10)) + 1}:1: unknown key 'colour'",
            "bad-key")
    refused("no wallet_key_file (nothing would be signed)", good.replace(f"wallet_key_file: {WALLET['path']}\n", ""),
            "no-wallet.yaml:1:1: missing required key 'wallet_key_file'", "no-wallet")
    loose = os.path.join(work, "keys", "loose.key")
    with open(loose, "w") as f:
        f.write("0x" + "42" * 32 + "\n")
    os.chmod(loose, 0o644)
    refused("a wallet key file readable by others", good.replace(WALLET["path"], loose), "chmod 600", "loose-wallet")
    refused("no nats.credentials_file (NATS refuses anonymous clients)",
            good.replace(f"  credentials_file: {WALLET['nats']}\n", ""),
            "no-creds.yaml:10:3: nats: missing required key 'credentials_file'", "no-creds")
    loose_nk = os.path.join(work, "keys", "loose.nk")
    shutil.copy(WALLET["nats"], loose_nk)
    os.chmod(loose_nk, 0o644)
    refused("NATS credentials readable by others", good.replace(WALLET["nats"], loose_nk),
            f"nats.credentials_file: NATS credentials file {loose_nk} has mode 0644", "loose-creds")
    not_nk = os.path.join(work, "keys", "not-a-seed.nk")
    with open(not_nk, "w") as f:
        f.write("SUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n")   # the right shape, a bad checksum
    os.chmod(not_nk, 0o600)
    refused("NATS credentials with a damaged seed", good.replace(WALLET["nats"], not_nk),
            f"NATS credentials file {not_nk}: nkey seed checksum mismatch", "bad-creds")
    log = open(os.path.join(work, "bad-creds.log")).read()
    check("a damaged seed is not quoted in the log", "SUAAAAAAAA" not in log, log)
    refused("a bad address", good.replace(compute, "0x1234"), "bad-addr.yaml:3:14: nox_compute: expected the "
            "NoxCompute address", "bad-addr")
    refused("a wildcard subject", good.replace("subject: nox_ingestor", "subject: nox.*"),
            "bad-subject.yaml:13:12: nats.subject: expected a subject prefix", "bad-subject")
    refused("an unset ${VAR}", good.replace(nats.url, "${NOX_TEST_UNSET_NATS}"),
            "bad-env.yaml:10:8: environment variable NOX_TEST_UNSET_NATS is not set", "bad-env")
    refused("confirmations out of range", good.replace("confirmations: 0", "confirmations: -1"),
            "bad-range.yaml:5:16: confirmations", "bad-range")
    check("configuration refusals created no wallet", not os.path.exists(WALLET["path"]))
    refused("a node of another chain", config(anvil.url, nats.url, compute, start, state, chain=5),
            "serves chain 31337, the configuration says chain_id 5", "bad-chain")
    noxtest.run_nats(JS_DUMP, "--create", nats.url, "nox_ingestor", "nox_ingestor.>", "memory", "86400", "600")
    refused("an existing stream with memory storage", good, "JetStream stream nox_ingestor has memory storage, "
            "spec §6 requires file storage", "bad-stream")
    noxtest.run_nats(JS_DUMP, "--delete", nats.url, "nox_ingestor")
    noxtest.run_nats(JS_DUMP, "--create", nats.url, "nox_ingestor", "nox_ingestor.>", "file", "3600", "600")
    refused("an existing stream with a 1-hour max age", good, "has max age 3600 s, spec §6 requires 86400 s",
            "bad-age")
    noxtest.run_nats(JS_DUMP, "--delete", nats.url, "nox_ingestor")
    # nats.replicas against an existing stream of another replica count: refused by the check of that stream (a
    # single server could not create a 3-replica stream either, but the stream exists, as spec §6 wants it otherwise)
    r = noxtest.run_nats(JS_DUMP, "--create", nats.url, "nox_ingestor", "nox_ingestor.>", "file", "86400", "600")
    three = good.replace("  subject: nox_ingestor\n", "  subject: nox_ingestor\n  replicas: 3\n", 1)
    refused("nats.replicas: 3 against an existing 1-replica stream", three,
            "JetStream stream nox_ingestor has 1 replica(s), the configuration (nats.replicas) says 3; change one of "
            "them (nats stream edit nox_ingestor --replicas 3", "bad-replicas")
    check("... (the stream was there, 1 replica)", r.returncode == 0 and (js("--info", nats.url, "nox_ingestor") or
                                                                         [{}])[0].get("subjects") == ["nox_ingestor.>"],
          r.stderr)
    noxtest.run_nats(JS_DUMP, "--delete", nats.url, "nox_ingestor")
    refused("nats.replicas: 0 stops start-up at file:line:col",
            good.replace("  subject: nox_ingestor\n", "  subject: nox_ingestor\n  replicas: 0\n", 1),
            "bad-replicas0.yaml:14:13: nats.replicas", "bad-replicas0")   # (it says nats.replicas.replicas today)
    both = good.replace(f"  url: {nats.url}\n", f"  url: {nats.url}\n  urls: [{nats.url}]\n", 1)
    refused("nats.url and nats.urls together stop start-up at file:line:col", both,
            "bad-urls.yaml:11:9: nats: url and urls: give one of them, not both", "bad-urls")
    check("refusals published nothing and wrote no checkpoint", not os.path.exists(state))

    # ---- transactions before the Ingestor starts, then while it runs ----
    pte = "plaintextToEncrypted(bytes32,uint8)"
    txs = [chain.send(USER1_KEY, compute, pte, "0x" + "00" * 31 + "2a", str(TYPE_UINT64))["transactionHash"]]
    ing = Ingestor(work, "ingestor", good).start()
    ingestors.append(ing)
    mode = os.stat(WALLET["path"]).st_mode & 0o777 if os.path.exists(WALLET["path"]) else None
    check("the wallet key file is created at first start, mode 0600", mode == 0o600, oct(mode or 0))
    WALLET["address"] = cast("wallet", "address", "--private-key", open(WALLET["path"]).read().strip()).lower()
    check("its address is logged (the Runners' ingestor_addresses), never the key",
          f"wallet address {WALLET['address']}" in ing.log() and
          open(WALLET["path"]).read().strip()[2:] not in ing.log().lower(), ing.log()[-1500:])
    status, hb, _ = http("GET", ing.url + "/health")
    txs.append(chain.send(USER2_KEY, compute, pte, "0x" + "00" * 31 + "07", str(TYPE_UINT64))["transactionHash"])
    mint = chain.send(DEPLOYER_KEY, token, "mint(address,uint64)", user1, "1000")
    txs.append(mint["transactionHash"])
    head = chain.head()
    m = ing.caught_up(head)
    want = chain.expected(compute, start, head)
    check("the mint is one message with several events",
          len(want.get(mint["transactionHash"], {}).get("events", [])) >= 2, want.get(mint["transactionHash"]))
    check("every NoxCompute transaction sent is expected", all(tx in want for tx in txs), (txs, list(want)))
    msgs = check_stream(nats.url, chain, compute, start, head, "first run")
    if m:
        check("metrics: published = transactions", m.get("nox_ingestor_messages_published_total") == len(want), m)
        check("metrics: head, checkpoint, lag", m.get("nox_ingestor_head_block") == head
              and m.get("nox_ingestor_lag_blocks") == 0, m)
        check("metrics: no errors, no dead letters", m.get("nox_ingestor_publish_errors_total") == 0
              and m.get("nox_ingestor_dead_letters_total") == 0 and m.get("nox_ingestor_reorgs_total") == 0, m)
    status, hb, _ = http("GET", ing.url + "/health")
    check("/health is 200 with RPC and NATS up", status == 200 and hb == {"status": "ok"}, f"{status} {hb}")
    info = js("--info", nats.url, "nox_ingestor")
    check("stream nox_ingestor as spec §6 says", info and info[0]["subjects"] == ["nox_ingestor.>"]
          and info[0]["storage"] == "file" and info[0]["retention"] == "limits"
          and info[0]["maxAgeSeconds"] == 86400 and info[0]["duplicatesSeconds"] == 600, info)
    info = js("--info", nats.url, "nox_dead")
    check("stream nox_dead created (nox_dead.>, file)", info and info[0]["subjects"] == ["nox_dead.>"]
          and info[0]["storage"] == "file" and info[0]["messages"] == 0, info)
    check("ranges are chunked (max_block_range 3)", head - start + 1 > 3 and f"blocks {start}..{start + 2}: " in ing.log()
          and f"blocks {start + 3}.." in ing.log(), ing.log()[-800:])

    # ---- SIGTERM: exit 0, checkpoint = last block with its hash ----
    rc = ing.stop()
    check("SIGTERM: exits 0", rc == 0 and "stopped" in ing.log(), f"rc={rc}")
    try:
        cp = json.load(open(state))
    except (OSError, ValueError) as e:
        cp = {"error": str(e)}
    check("checkpoint: last block and its hash", cp == {"chainId": CHAIN, "noxCompute": compute, "blockNumber": head,
                                                        "blockHash": chain.block_hash(head)}, cp)

    # ---- while stopped: two transactions in one block, and a burn ----
    cast("rpc", "--rpc-url", anvil.url, "evm_setAutomine", "false")
    a = cast("send", "--async", "--rpc-url", anvil.url, "--private-key", USER1_KEY, compute, pte,
             "0x" + "00" * 31 + "01", str(TYPE_UINT64))
    b = cast("send", "--async", "--rpc-url", anvil.url, "--private-key", USER2_KEY, compute, pte,
             "0x" + "00" * 31 + "02", str(TYPE_UINT64))
    cast("rpc", "--rpc-url", anvil.url, "evm_mine")
    cast("rpc", "--rpc-url", anvil.url, "evm_setAutomine", "true")
    ra, rb = chain.rpc("eth_getTransactionReceipt", [a]), chain.rpc("eth_getTransactionReceipt", [b])
    check("two transactions mined in one block", ra and rb and ra["blockNumber"] == rb["blockNumber"], (ra, rb))
    chain.send(DEPLOYER_KEY, token, "burn(address,uint64)", user1, "10")

    ing.start()
    head2 = chain.head()
    m = ing.caught_up(head2)
    check("restart: resumes after the checkpoint", f"resuming after the checkpoint: block {head}" in ing.log())
    msgs2 = check_stream(nats.url, chain, compute, start, head2, "after restart")
    check("restart: the first run's messages unchanged", msgs2[:len(msgs)] == msgs)
    check("restart: the new transactions, nothing twice", len(msgs2) == len(msgs) + 3, len(msgs2))
    if m:
        check("restart: published only the new ones", m.get("nox_ingestor_messages_published_total") == 3
              and m.get("nox_ingestor_duplicates_total") == 0, m)

    # ---- without its checkpoint it publishes everything again: JetStream drops the repeats by id ----
    ing.stop()
    os.unlink(state)
    ing.start()
    m = ing.caught_up(head2)
    check("no checkpoint: every repeat acked as a duplicate", m and m.get("nox_ingestor_duplicates_total") == len(msgs2)
          and m.get("nox_ingestor_messages_published_total") == len(msgs2), m)
    check("no checkpoint: the stream is unchanged", js(nats.url, "nox_ingestor") == msgs2)

    # ---- NATS outage: a transaction meanwhile is published once NATS is back ----
    nats_port = nats.url.rsplit(":", 1)[1]
    nats.stop()
    tx_out = chain.send(USER1_KEY, compute, pte, "0x" + "00" * 31 + "03", str(TYPE_UINT64))["transactionHash"]
    time.sleep(2.5)
    status, hb, _ = http("GET", ing.url + "/health")
    check("NATS down: /health 503 names NATS", status == 503 and "NATS" in str(hb), f"{status} {hb}")
    check("NATS down: the Ingestor keeps running", ing.proc.poll() is None)
    nats2 = noxtest._start(["nats-server", "-js", "-a", "127.0.0.1", "-p", nats_port, "-sd",
                            os.path.join(work, "nats-store"), "-c", os.path.join(work, "nats.conf")],
                           os.path.join(work, "nats2.log"),
                           r"Listening for client connections on", nats.url.split("://", 1)[0])
    servers.append(nats2)
    head3 = chain.head()
    m = ing.caught_up(head3, timeout=90)
    msgs3 = check_stream(nats2.url, chain, compute, start, head3, "after the NATS outage")
    check("NATS outage: the transaction sent meanwhile is there", any(tx_out in x["subject"] for x in msgs3))
    outage_lines = [l for l in ing.log().splitlines()[-400:] if " warn: NATS" in l or " error: NATS" in l]
    check("NATS outage: one WARN for the outage, not one per retry", len(outage_lines) == 1,
          outage_lines)
    check("NATS outage: recovery logged", "NATS: available again after" in ing.log())
    status, hb, _ = http("GET", ing.url + "/health")
    check("NATS back: /health 200", status == 200, f"{status} {hb}")
    rc = ing.stop()
    check("SIGTERM after the outage: exits 0", rc == 0, rc)

    # ---- a malformed event: the whole transaction goes to nox_dead with its reason ----
    add_topic = cast("keccak", EVENTS[1][0])[2:]
    runtime = "33" + "7f" + add_topic + "6040" + "6000" + "a2" + "00"  # LOG2(0, 64, Add topic, caller): 2 words, not 3
    initcode = "0x" + "6028" + "600c" + "6000" + "39" + "6028" + "6000" + "f3" + runtime
    fake = json.loads(cast("send", "--json", "--rpc-url", anvil.url, "--private-key", DEPLOYER_KEY, "--create",
                           initcode))
    fake_addr, fake_block = fake["contractAddress"], int(fake["blockNumber"], 16)
    bad = chain.send(USER1_KEY, fake_addr, "0x")["transactionHash"]
    fake_ing = Ingestor(work, "fake", config(anvil.url, nats2.url, fake_addr, fake_block,
                                             os.path.join(work, "fake-state.json"), stream="fake_ingestor",
                                             subject="fake_ingestor")).start()
    ingestors.append(fake_ing)
    m = fake_ing.caught_up(chain.head())
    dead = js(nats2.url, "nox_dead") or []
    check("dead letter: one message on nox_dead.<txHash>", [x["subject"] for x in dead] == ["nox_dead." + bad], dead)
    if dead:
        x = dead[0]
        check("dead letter: Nox-Dead-Reason says what is wrong",
              "data is 64 bytes, expected 96" in (x["deadReason"] or ""), x["deadReason"])
        check("dead letter: Nats-Msg-Id of the transaction", x["msgId"] == msg_id(bad), x["msgId"])
        check_signed("dead letter", [x], "nox_dead")
        letter = json.loads(x["data"])
        check("dead letter: carries the raw log for an operator", letter["transactionHash"] == bad
              and letter["chainId"] == CHAIN and len(letter["logs"]) == 1
              and letter["logs"][0]["data"] == "0x" + "00" * 64 and letter["logs"][0]["topics"][0] == "0x" + add_topic,
              letter)
    check("dead letter: nothing on the fake stream", js(nats2.url, "fake_ingestor") == [])
    check("dead letter: logged as an ERROR with the transaction",
          re.search(r"error: transaction " + bad + r" .*cannot become a queue message", fake_ing.log()),
          fake_ing.log()[-1500:])
    if m:
        check("dead letter: counted", m.get("nox_ingestor_dead_letters_total") == 1
              and m.get("nox_ingestor_messages_published_total") == 0, m)
    check("dead letter: SIGTERM exits 0", fake_ing.stop() == 0)

    # ---- an unreachable RPC node: keeps trying, one WARN, /health 503, SIGTERM still exits 0 ----
    dead_rpc = Ingestor(work, "norpc", config("http://127.0.0.1:9/", nats2.url, compute, start,
                                              os.path.join(work, "norpc-state.json"))).start()
    ingestors.append(dead_rpc)
    time.sleep(2)
    status, hb, _ = http("GET", dead_rpc.url + "/health")
    check("RPC down: /health 503 names the RPC node", status == 503 and "RPC" in str(hb), f"{status} {hb}")
    warns = [l for l in dead_rpc.log().splitlines() if " warn: RPC node" in l]
    check("RPC down: one WARN for the outage", len(warns) == 1 and "cannot reach the node" in warns[0], warns)
    check("RPC down: still running", dead_rpc.proc.poll() is None)
    rc = dead_rpc.stop(timeout=15)
    check("RPC down: SIGTERM exits 0", rc == 0, rc)

    # ---- a reorganisation deeper than confirmations (0 here): one loud ERROR, then on after the checkpoint ----
    snap = cast("rpc", "--rpc-url", anvil.url, "evm_snapshot").strip('"')
    old = chain.send(USER1_KEY, compute, pte, "0x" + "00" * 31 + "04", str(TYPE_UINT64))
    fork_block = int(old["blockNumber"], 16)
    old_hash = chain.block_hash(fork_block)
    ing = Ingestor(work, "reorg", config(anvil.url, nats2.url, compute, start, state)).start()
    ingestors.append(ing)
    ing.caught_up(fork_block)
    ing.stop()
    cast("rpc", "--rpc-url", anvil.url, "evm_revert", snap)
    replaced = chain.send(USER2_KEY, compute, pte, "0x" + "00" * 31 + "05", str(TYPE_UINT64))["transactionHash"]
    after = chain.send(USER2_KEY, compute, pte, "0x" + "00" * 31 + "06", str(TYPE_UINT64))
    new_hash = chain.block_hash(fork_block)
    check("reorg: block replaced", new_hash != old_hash and chain.head() == fork_block + 1, (old_hash, new_hash))
    ing.start()
    m = ing.caught_up(fork_block + 1)
    log = ing.log()
    check("reorg: one loud ERROR naming the block and both hashes",
          log.count("REORGANISATION DEEPER THAN 0 CONFIRMATIONS") == 1
          and f"block {fork_block} (the checkpoint) is now {new_hash}, it was {old_hash}" in log, log[-2000:])
    check("reorg: counted", m and m.get("nox_ingestor_reorgs_total") == 1, m)
    subjects = [x["subject"] for x in js(nats2.url, "nox_ingestor") or []]
    check("reorg: continues after the checkpoint (the next block is published)",
          "nox_ingestor." + after["transactionHash"] in subjects, subjects)
    check("reorg: the replaced block is not re-scanned (documented)", "nox_ingestor." + replaced not in subjects)
    check("reorg: the checkpoint adopts the new chain", json.load(open(state))["blockHash"] == chain.block_hash(
        fork_block + 1))
    check("reorg: SIGTERM exits 0", ing.stop() == 0)

    # ---- a dead letter is bounded: 20 undecodable logs in one transaction, 16 carried, 4 counted ----
    log2 = "33" + "7f" + add_topic + "6040" + "6000" + "a2"
    runtime20 = log2 * 20 + "00"
    size20 = len(runtime20) // 2
    initcode20 = "0x" + f"61{size20:04x}" + "600e" + "6000" + "39" + f"61{size20:04x}" + "6000" + "f3" + runtime20
    fake20 = json.loads(cast("send", "--json", "--rpc-url", anvil.url, "--private-key", DEPLOYER_KEY, "--create",
                             initcode20))
    bad20 = chain.send(USER1_KEY, fake20["contractAddress"], "0x")["transactionHash"]
    ing = Ingestor(work, "fake20", config(anvil.url, nats2.url, fake20["contractAddress"],
                                          int(fake20["blockNumber"], 16), os.path.join(work, "fake20-state.json"),
                                          stream="fake20_ingestor", subject="fake20_ingestor")).start()
    ingestors.append(ing)
    ing.caught_up(chain.head())
    letters = [x for x in js(nats2.url, "nox_dead") or [] if x["subject"] == "nox_dead." + bad20]
    if check("bounded dead letter: published", len(letters) == 1, letters):
        letter = json.loads(letters[0]["data"])
        check("bounded dead letter: the first 16 logs, logCount 20, logsOmitted 4",
              len(letter["logs"]) == 16 and letter["logCount"] == 20 and letter["logsOmitted"] == 4
              and [x["logIndex"] for x in letter["logs"]] == list(range(16)), {k: v for k, v in letter.items()
                                                                              if k != "logs"})
    check("bounded dead letter: nothing on the work stream (no output is known)",
          js(nats2.url, "fake20_ingestor") == [])
    check("bounded dead letter: SIGTERM exits 0", ing.stop() == 0)

    # ---- a message NATS refuses for good (max_payload 1 KiB): never retried forever; the transaction's
    #      outputs go to the Runners as failed (failure notices), and the next transaction is published ----
    small = noxtest.start_nats(work, NOXCTL, name="nats-small", max_payload=1024, tls=PKI["pki"])
    servers.append(small)
    big = chain.send(DEPLOYER_KEY, token, "mint(address,uint64)", user1, "5")
    nxt = chain.send(USER1_KEY, compute, pte, "0x" + "00" * 31 + "08", str(TYPE_UINT64))
    big_tx, big_block = big["transactionHash"], int(big["blockNumber"], 16)
    want = chain.expected(compute, big_block, chain.head())
    big_size = len(json.dumps(want.get(big_tx), separators=(",", ":")))
    check("max_payload: the mint's message is over 1 KiB (the test's premise)", big_size > 1024, big_size)
    outputs = sorted({e[f] for e in want.get(big_tx, {}).get("events", []) for f in e if f in OUTPUT_FIELDS})
    ing = Ingestor(work, "small", config(anvil.url, small.url, compute, big_block,
                                         os.path.join(work, "small-state.json"))).start()
    ingestors.append(ing)
    m = ing.caught_up(int(nxt["blockNumber"], 16), timeout=60)
    msgs = js(small.url, "nox_ingestor") or []
    notices = [x for x in msgs if x["subject"] == "nox_ingestor." + big_tx]
    bodies = [json.loads(x["data"]) for x in notices]
    failed = sorted(h for b in bodies for h in b.get("failed", {}).get("outputs", []))
    check("max_payload: the refused message's outputs are all in failure notices, once each",
          outputs and failed == outputs, (failed, outputs))
    check("max_payload: each notice is a message of the transaction with no event and the reason",
          bodies and all(b["events"] == [] and b["transactionHash"] == big_tx and b["chainId"] == CHAIN
                         and b["blockNumber"] == big_block and "NATS refuses its message" in b["failed"]["reason"]
                         and "max_payload is 1024 bytes" in b["failed"]["reason"] for b in bodies), bodies)
    check("max_payload: each notice fits (<= 1 KiB)", all(len(x["data"]) <= 1024 for x in notices),
          [len(x["data"]) for x in notices])
    check_signed("max_payload: failure notices", notices, "nox_ingestor")
    check("max_payload: the notices' ids are the transaction's, then <id>/k",
          [x["msgId"] for x in notices] == [msg_id(big_tx)] + [f"{msg_id(big_tx)}/{k}" for k in range(1, len(notices))],
          [x["msgId"] for x in notices])
    later = [json.loads(x["data"]) for x in msgs if x["subject"] == "nox_ingestor." + nxt["transactionHash"]]
    check("max_payload: the next transaction is published as usual", later == [want.get(nxt["transactionHash"])],
          later)
    if m:
        check("max_payload: counted (nox_ingestor_refusals_total, nox_ingestor_failure_notices_total)",
              m.get("nox_ingestor_refusals_total", 0) >= 1
              and m.get("nox_ingestor_failure_notices_total") == len(notices)
              and m.get("nox_ingestor_messages_published_total") == 1, m)
    check("max_payload: logged as an ERROR, with the transaction",
          re.search(r"error: transaction " + big_tx + r": its message refused for good, skipped", ing.log()),
          ing.log()[-2000:])
    check("max_payload: the checkpoint moved past it", json.load(open(os.path.join(work, "small-state.json")))
          ["blockNumber"] >= int(nxt["blockNumber"], 16))
    check("max_payload: SIGTERM exits 0", ing.stop() == 0)


try:
    main()
finally:
    status = noxtest.summary()
sys.exit(status)
