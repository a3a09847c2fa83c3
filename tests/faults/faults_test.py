#!/usr/bin/python3
"""Fault injection under steady load: crashes and restarts, then every result exactly once and right.

usage: faults_test.py BIN_DIR JS_PUBLISH JS_DUMP [--cluster]

On a devnet of its own (scripts/devnet.sh, NOX_DEVNET_EXTRA_RUNNERS = this test's reader key):
  1. 24 uint64 values and 2 bools are encrypted through POST /v0/secrets (known plaintexts);
  2. FAULTS_MESSAGES (3,000) TransactionMessages over them — add, sub, mul, lt, select, transfer and a
     two-event add-then-mul — are published straight to JetStream (js_publish, each message with its
     Nats-Msg-Id and signed with the devnet Ingestor's key as the Ingestor signs, a failed chunk retried:
     nats-server restarts too) at FAULTS_RATE (50) per second,
     plus a burst of 400 before each Runner crash so that the crash lands mid-batch;
  3. meanwhile, one at a time: a second Runner (`devnet.sh start runner2`) shares the load and is
     killed with SIGKILL while it has messages in flight (`kill runner2`, never restarted: the first
     Runner must take its unacked messages over after ack_wait); the Runner is killed with SIGKILL
     mid-batch and restarted; nats-server, PostgreSQL, the Gateway and the KMS are restarted;
  4. after the load drains, with no manual step: every expected result handle is stored exactly once
     (PostgreSQL: one row per output handle, none for any other transaction, no failure record),
     every value decrypts (through GET /v0/compute/operands as the reader key) to the value computed
     here, nox_dead is empty, the Gateway logged no conflicting result, results kept being stored
     throughout (no pause of STALL_LIMIT_S = 10 s: a crashed Runner's unacked batches wait out ack_wait,
     30 s, and must not hold back the rest), and every component runs.
With --cluster, on `scripts/devnet.sh up --cluster` (3 NATS JetStream nodes with the streams at 3 replicas,
two Gateways on one PostgreSQL, three Runners failing over between the Gateways), the faults are instead,
one at a time under the same load: kill -9 of each NATS node in turn (the streams' leaders among them) and
its restart, kill -9 of the second Gateway (the Runners move to the first) and its restart, kill -9 of a
Runner mid-batch and its restart. The same checks follow, and one line: messages accepted, stored, lost,
stored twice with different values, and the longest stall.
Ends with "N passed, M failed"; prints the numbers (messages, time, faults, redeliveries).
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import e2elib  # noqa: E402
from e2elib import check, http  # noqa: E402
import noxtest  # noqa: E402
import noxthreshold  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: E402

CLUSTER = sys.argv[4:] == ["--cluster"]
if len(sys.argv) != 4 and not CLUSTER:
    print("usage: faults_test.py BIN_DIR JS_PUBLISH JS_DUMP [--cluster]", file=sys.stderr)
    sys.exit(2)
BIN, JS_PUBLISH, JS_DUMP = (os.path.abspath(a) for a in sys.argv[1:4])
CAST = e2elib.cast_path()
N_MESSAGES = int(os.environ.get("FAULTS_MESSAGES", "3000"))
RATE = float(os.environ.get("FAULTS_RATE", "50"))
BURST = 400         # > workers × fetch_batch (6 × 32) of one Runner: each crash strands full batches
CHAIN = 31337
CALLER = "0x" + "11" * 20
APP = "0x" + "a1" * 20
READER_KEY = "0x" + "5a" * 32                              # test-only: listed through NOX_DEVNET_EXTRA_RUNNERS
READER_ADDRESS = "0xa8049bb68181799124f98e467dd749e120abfa64"
M64 = (1 << 64) - 1
TYPE_CODE = {"bool": 0, "uint64": 3 + 8}
OPERAND_FIELDS = [("chainId", "uint256"), ("blockNumber", "uint256"), ("caller", "address"),
                  ("transactionHash", "string"), ("operands", "string[]"), ("rsaPublicKey", "string")]


def new_handle(typ):
    return "0x" + os.urandom(26).hex() + f"{CHAIN:08x}" + f"{TYPE_CODE[typ]:02x}" + "00"


def decode(h, pt):
    return pt != b"\0" if int(h[-4:-2], 16) == 0 else int.from_bytes(pt, "big")


# ---- inputs, messages and their expected results ---------------------------------------------------

def secret(gw, typ, value):
    raw = (b"\1" if value else b"\0") if typ == "bool" else value.to_bytes(8, "big")
    body = {"value": "0x" + raw.hex(), "solidityType": typ, "owner": CALLER, "applicationContract": APP,
            "chainId": CHAIN}
    st, b, _ = http("POST", gw + "/v0/secrets", json.dumps(body), {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError(f"POST /v0/secrets {typ}: {st} {b}")
    return b["handle"]


def two(op, a, b, outs):
    return {"type": op, "leftHandOperand": a, "rightHandOperand": b, "result": outs[0]}


def build_messages(rng, ints, bools, n):
    """n messages: (message dict, {output handle: expected value}). ints/bools: [(handle, value)]."""
    out = []
    for i in range(n):
        tx = "0x" + rng.randbytes(32).hex()
        (ha, a), (hb, b), (hc, c) = rng.choice(ints), rng.choice(ints), rng.choice(ints)
        kind = ("add", "sub", "mul", "lt", "select", "transfer", "add_mul")[i % 7]
        if kind in ("add", "sub", "mul"):
            r = new_handle("uint64")
            events = [dict(two(kind, ha, hb, [r]), logIndex=0)]
            want = {r: {"add": a + b, "sub": a - b, "mul": a * b}[kind] & M64}
        elif kind == "lt":
            r = new_handle("bool")
            events, want = [dict(two("lt", ha, hb, [r]), logIndex=0)], {r: a < b}
        elif kind == "select":
            (hq, q), r = rng.choice(bools), new_handle("uint64")
            events = [{"logIndex": 0, "type": "select", "condition": hq, "ifTrue": ha, "ifFalse": hb, "result": r}]
            want = {r: a if q else b}
        elif kind == "transfer":
            s, f, t = new_handle("bool"), new_handle("uint64"), new_handle("uint64")
            events = [{"logIndex": 0, "type": "transfer", "balanceFrom": ha, "balanceTo": hb, "amount": hc,
                       "success": s, "newBalanceFrom": f, "newBalanceTo": t}]
            ok = c <= a and b + c <= M64
            want = {s: ok, f: a - c if ok else a, t: b + c if ok else b}
        else:   # two events, the second reading the first's result inside the message
            t, u = new_handle("uint64"), new_handle("uint64")
            events = [dict(two("add", ha, hb, [t]), logIndex=1), dict(two("mul", t, hc, [u]), logIndex=4)]
            want = {t: (a + b) & M64, u: ((a + b) & M64) * c & M64}
        for e in events:
            e["caller"] = CALLER
        msg = {"chainId": CHAIN, "caller": CALLER, "blockNumber": 5, "transactionHash": tx, "events": events}
        out.append((msg, want))
    return out


# ---- publishing: chunks through js_publish, retried until acked ----------------------------------

class Publisher(threading.Thread):
    """Publishes the messages at RATE per second (a fixed schedule; bursts on request), retrying a chunk
    until js_publish gets every ack (a retried chunk's duplicates are dropped by the Nats-Msg-Id)."""

    def __init__(self, nats_url, messages, work, key, creds):
        super().__init__(daemon=True)
        self.url, self.msgs, self.work = nats_url, messages, work
        self.key = key   # the devnet Ingestor's wallet: the Runners compute only what it signed
        self.creds = creds   # and its NATS identity: the only one that may publish jobs
        self.sent, self.retries, self.errors = 0, 0, []
        self.extra = 0                                   # messages brought forward by bursts
        self.lock = threading.Lock()
        self.t0 = None

    def burst(self, n):
        with self.lock:
            self.extra += n

    def publish(self, chunk):
        path = os.path.join(self.work, "chunk.jsonl")
        with open(path, "w") as f:
            for m in chunk:
                tx = m["transactionHash"]
                f.write(json.dumps({"subject": "nox_ingestor." + tx, "id": f"{CHAIN}:{tx}",
                                    "data": json.dumps(m)}) + "\n")
        try:
            r = subprocess.run([JS_PUBLISH, "--key", self.key, self.url, path], capture_output=True, text=True,
                               timeout=30, env=dict(os.environ, NOX_NATS_CREDENTIALS=self.creds))
            ok, why = r.returncode == 0, r.stderr.strip()
        except subprocess.TimeoutExpired:
            ok, why = False, "timeout"
        return ok, why

    def run(self):
        self.t0 = time.time()
        while self.sent < len(self.msgs):
            with self.lock:
                due = min(len(self.msgs), int((time.time() - self.t0) * RATE) + 1 + self.extra)
            if due <= self.sent:
                time.sleep(0.05)
                continue
            chunk = self.msgs[self.sent:min(due, self.sent + 400)]
            ok, why = self.publish(chunk)
            if ok:
                self.sent += len(chunk)
            else:
                self.retries += 1
                if len(self.errors) < 5:
                    self.errors.append(why[:200])
                time.sleep(0.2)
        self.elapsed = time.time() - self.t0


# ---- reading results back as a Runner -------------------------------------------------------------

class Reader:
    """Reads stored values through GET /v0/compute/operands with the reader key (runner_test.py's Reader)."""

    def __init__(self, work, gw, gateway_address):
        self.work, self.gw, self.gateway_address = work, gw, gateway_address
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = self.rsa.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.spki = "0x" + der.hex()

    def read(self, handles):
        nb, ex = noxtest.window()  # the bound form of docs/PROTOCOL-EXTENSIONS.md §7
        p = {"chainId": CHAIN, "blockNumber": 1, "caller": CALLER, "transactionHash": "0x" + "cd" * 32,
             "operands": handles, "rsaPublicKey": self.spki, "notBefore": nb, "expiresAt": ex}
        doc = noxtest.bound_auth(CAST, self.work, READER_KEY, self.gateway_address, "OperandAccessAuthorizationV2", p)
        st, body, _ = http("GET", self.gw + "/v0/compute/operands", None, noxtest.auth_header(doc), timeout=60)
        if st != 200:
            return None, f"{st} {str(body)[:300]}"
        out = {}
        for item in body["operands"]:  # t KMS partials per operand (docs/PROTOCOL-EXTENSIONS.md §11)
            out[item["handle"]] = decode(item["handle"], noxthreshold.decrypt(self.rsa, body, item, CHAIN))
        return out, None


# ---- the devnet's side: metrics, PostgreSQL, dead letters -------------------------------------------

def metric(url, name):
    try:
        st, body, _ = http("GET", url + "/metrics", timeout=2)
    except OSError:
        return None
    for line in str(body).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def psql(devnet, sql):
    state = json.load(open(os.path.join(devnet.dir, "state.json")))
    r = subprocess.run([os.path.join(state["postgres"]["bindir"], "psql"), devnet["NOX_DATABASE_URL"], "-At",
                        "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql: " + r.stderr)
    return [ln.split("|") for ln in r.stdout.splitlines() if ln]


def devnet_state(devnet):
    return json.load(open(os.path.join(devnet.dir, "state.json")))


def crash_mid_batch(devnet, pub, name, log):
    """A burst, then SIGKILL of `name` 0.1 s after its /metrics shows messages in flight."""
    url = devnet_state(devnet)["urls"][name]
    pub.burst(BURST)
    deadline, in_flight = time.time() + 5, 0
    while time.time() < deadline:
        in_flight = metric(url, "nox_runner_in_flight") or 0
        if in_flight > 0:
            break
        time.sleep(0.01)
    time.sleep(0.05)    # the burst fetched: every worker holds a batch
    r = devnet._run("kill", name)
    log.append(f"kill -9 {name} with {int(in_flight)} message(s) in flight")
    fault_times.append((time.time() - pub.t0, f"kill -9 {name}"))
    check(f"kill -9 {name}: killed", r.returncode == 0, r.stdout + r.stderr)
    check(f"{name} had messages in flight when killed (mid-batch)", in_flight > 0, in_flight)


fault_times = []       # (seconds since the load started, fault)
STALL_LIMIT_S = 10      # well below ack_wait (30 s): a crashed Runner's unacked messages must not stall the rest


def progress(devnet, what, before, timeout=60):
    """Waits until the Runner's ok counter moved past `before` (or the counter restarted above 0)."""
    url = devnet_state(devnet)["urls"]["runner"]
    deadline, now = time.time() + timeout, None
    while time.time() < deadline:
        now = metric(url, "nox_runner_messages_ok_total")
        if now is not None and now != before and now > 0:
            return check(f"messages are stored again after {what}", True)
        time.sleep(0.1)
    return check(f"messages are stored again after {what}", False, (before, now))


def faults(devnet, work):
    t_start = time.time()
    gw = devnet["NOX_GATEWAY_URL"]
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    values = [0, 1, 2, 3, 7, 100, 255, 1000, 65535, 1 << 32, M64, M64 - 1, 1 << 63] + \
             [rng.randrange(1 << 64) for _ in range(11)]
    ints = [(secret(gw, "uint64", v), v) for v in values]
    bools = [(secret(gw, "bool", q), q) for q in (True, False)]
    plan = build_messages(rng, ints, bools, N_MESSAGES)
    expected = {h: v for _, want in plan for h, v in want.items()}
    per_tx = {m["transactionHash"][2:]: len(want) for m, want in plan}

    # the devnet's own set-up transactions (the Ingestor publishes them at `up`): wait until they are stored
    setup = metric(devnet["NOX_INGESTOR_URL"], "nox_ingestor_messages_published_total") or 0
    deadline = time.time() + 30
    while True:
        before_load = {tx for tx, _ in psql(devnet, "SELECT DISTINCT encode(origin_tx, 'hex'), 1 FROM handles "
                                                     "WHERE origin = 'result'")}
        if len(before_load) >= setup or time.time() > deadline:
            break
        time.sleep(0.2)
    if not CLUSTER:
        r = devnet._run("start", "runner2")
        if not check("a second Runner starts on the same consumer", r.returncode == 0, r.stdout + r.stderr):
            return
    faults_log = []
    pub = Publisher(devnet["NOX_NATS_URL"], [m for m, _ in plan], work, devnet["NOX_INGESTOR_KEY"],
                    devnet["NOX_INGESTOR_NATS_CREDENTIALS"])
    pub.start()
    time.sleep(3)

    if CLUSTER:
        cluster_faults(devnet, pub, faults_log)
    else:
        single_faults(devnet, pub, faults_log)
    finish(devnet, work, t_start, pub, faults_log, plan, expected, per_tx, before_load, gw)


def cluster_faults(devnet, pub, faults_log):
    """Each NATS node killed and restarted in turn, then the second Gateway, then a Runner mid-batch."""
    for node in ("nats", "nats2", "nats3"):
        time.sleep(4)
        before = metric(devnet_state(devnet)["urls"]["runner"], "nox_runner_messages_ok_total")
        r = devnet._run("kill", node)
        check(f"kill -9 {node}", r.returncode == 0, r.stdout + r.stderr)
        faults_log.append(f"kill -9 {node}")
        fault_times.append((time.time() - pub.t0, f"kill -9 {node}"))
        progress(devnet, f"losing {node} (2 of 3 NATS nodes left)", before)
        time.sleep(2)
        r = devnet.restart(node)
        check(f"restart {node}: healthy again", r.returncode == 0, r.stdout + r.stderr)
        faults_log.append(f"restart {node}")
    time.sleep(3)
    before = metric(devnet_state(devnet)["urls"]["runner"], "nox_runner_messages_ok_total")
    r = devnet._run("kill", "gateway2")
    check("kill -9 gateway2", r.returncode == 0, r.stdout + r.stderr)
    faults_log.append("kill -9 gateway2")
    fault_times.append((time.time() - pub.t0, "kill -9 gateway2"))
    progress(devnet, "losing gateway2 (the Runners move to gateway)", before)
    r = devnet.restart("gateway2")
    check("restart gateway2: healthy again", r.returncode == 0, r.stdout + r.stderr)
    faults_log.append("restart gateway2")
    time.sleep(3)
    crash_mid_batch(devnet, pub, "runner2", faults_log)
    time.sleep(0.5)
    r = devnet.restart("runner2")
    check("restart runner2 after kill -9: healthy again", r.returncode == 0, r.stdout + r.stderr)
    faults_log.append("restart runner2")


def single_faults(devnet, pub, faults_log):
    # 1. two Runners share the load; one of them crashes and stays down
    crash_mid_batch(devnet, pub, "runner2", faults_log)
    time.sleep(3)
    # 2. the Runner crashes mid-batch and comes back
    before = metric(devnet_state(devnet)["urls"]["runner"], "nox_runner_messages_ok_total")
    crash_mid_batch(devnet, pub, "runner", faults_log)
    time.sleep(0.5)
    r = devnet.restart("runner")
    check("restart runner after kill -9: healthy again", r.returncode == 0, r.stdout + r.stderr)
    faults_log.append("restart runner")
    progress(devnet, "the Runner's crash", None)
    # 3. the others restarted one at a time
    for svc in ("nats", "postgres", "gateway", "kms"):
        time.sleep(5)
        before = metric(devnet_state(devnet)["urls"]["runner"], "nox_runner_messages_ok_total")
        r = devnet.restart(svc)
        check(f"restart {svc}: healthy again", r.returncode == 0, r.stdout + r.stderr)
        faults_log.append(f"restart {svc}")
        fault_times.append((time.time() - pub.t0, f"restart {svc}"))
        progress(devnet, f"restarting {svc}", before)


def finish(devnet, work, t_start, pub, faults_log, plan, expected, per_tx, before_load, gw):
    pub.join(timeout=300)
    check(f"all {N_MESSAGES} messages published (chunks retried: {pub.retries})", pub.sent == N_MESSAGES,
          (pub.sent, pub.errors))
    t_published = time.time()

    # drain: every expected result row present (the crashed Runners' unacked messages come back after ack_wait)
    n_expected = len(expected)
    deadline, stored = time.time() + 120, 0
    while time.time() < deadline:
        # this test's rows only: the devnet's own set-up results must not make a missing one look drained
        rows = psql(devnet, "SELECT encode(origin_tx, 'hex'), count(*) FROM handles WHERE origin = 'result' GROUP BY 1")
        stored = sum(min(int(n), per_tx[tx]) for tx, n in rows if tx in per_tx)
        if stored >= n_expected:
            break
        time.sleep(0.5)
    t_drained = time.time()
    time.sleep(2)       # anything still redelivered after the last row would show up below

    rows = psql(devnet, "SELECT encode(origin_tx, 'hex'), count(*) FROM handles WHERE origin = 'result' GROUP BY 1")
    got_tx = {tx: int(n) for tx, n in rows}
    missing = [tx for tx, n in per_tx.items() if got_tx.get(tx, 0) < n]
    extra = [tx for tx, n in per_tx.items() if got_tx.get(tx, 0) > n]
    ours = sum(got_tx.get(tx, 0) for tx in per_tx)
    foreign = [tx for tx in got_tx if tx not in per_tx and tx not in before_load]
    check(f"every one of the {n_expected} expected results is stored ({len(per_tx)} messages)", not missing,
          f"{len(missing)} messages incomplete, e.g. {missing[:3]}; {ours} result rows")
    check("exactly once: one row per output handle of each message, none more", not extra and ours == n_expected,
          f"{len(extra)} transactions with extra rows; {ours} rows for {n_expected} results")
    check(f"no other result appeared during the test (the devnet's own set-up: {len(before_load)} transaction(s))",
          not foreign, foreign[:3])
    # the longest time in which no result was stored while messages were queued
    times = [float(t) for t, in psql(devnet, "SELECT extract(epoch FROM created_at) FROM handles WHERE "
                                             "origin = 'result' ORDER BY created_at")]
    # while the load arrives: after it, only a crashed Runner's unacked messages can remain, and they wait
    # out ack_wait (30 s) by design — bounded below — without holding anything else back
    times = [t for t in times if pub.t0 <= t <= t_published]
    gap, at = max(((b - a, a) for a, b in zip(times, times[1:])), default=(0, pub.t0))
    when = [f"{name} at {t:.1f} s" for t, name in fault_times if t <= at - pub.t0 + 0.5][-1:]
    check(f"no stall: results kept being stored, the longest pause {gap:.1f} s < {STALL_LIMIT_S} s "
          f"(at {at - pub.t0:.1f} s of the load; last fault before it: {when or 'none'})", gap < STALL_LIMIT_S)
    check(f"drained within ack_wait (30 s) + 15 s of the last publish: {t_drained - t_published:.1f} s",
          t_drained - t_published <= 45, t_drained - t_published)
    fails = psql(devnet, "SELECT count(*) FROM failures")[0][0]
    check("no failure record was posted for any handle", fails == "0", fails)

    reader = Reader(work, gw, devnet["NOX_GATEWAY_ADDRESS"])
    handles, values_got, errors = list(expected), {}, []
    for i in range(0, len(handles), 500):
        got, err = reader.read(handles[i:i + 500])
        if got is None:
            errors.append(err)
        else:
            values_got.update(got)
    wrong = [(h, expected[h], values_got.get(h)) for h in handles if values_got.get(h) != expected[h]]
    check(f"all {len(handles)} results decrypt to the values computed here", not wrong and not errors,
          f"{len(wrong)} wrong or unread, e.g. {wrong[:3]}; {errors[:2]}")

    r = subprocess.run([JS_DUMP, devnet["NOX_NATS_URL"], "nox_dead"], capture_output=True, text=True, timeout=60)
    dead = [ln for ln in r.stdout.splitlines() if ln.strip()] if r.returncode == 0 else []
    check("nox_dead holds nothing (or does not exist)", r.returncode in (0, 3) and not dead,
          f"rc {r.returncode}: {r.stderr.strip()[:200]} {dead[:2]}")
    check("the Gateway logged no conflicting result", "conflicting result" not in devnet.log("gateway"),
          [ln for ln in devnet.log("gateway").splitlines() if "conflicting" in ln][:3])
    redeliveries = metric(devnet_state(devnet)["urls"]["runner"], "nox_runner_redeliveries_total")

    if not CLUSTER:
        r = devnet._run("stop", "runner2")  # the crashed extra Runner's record (it was never brought back)
        check("the crashed extra Runner's record is removed", r.returncode == 0, r.stdout + r.stderr)
    else:
        conflicts = sum(1 for ln in devnet.log("gateway2").splitlines() if "conflicting result" in ln)
        lost = len(missing)
        print(f"cluster faults: accepted {N_MESSAGES} messages ({n_expected} results); stored {ours}; lost {lost}; "
              f"stored twice with different values {conflicts + len(extra)}; longest stall {gap:.1f} s")
        check("cluster: nothing lost, nothing stored twice with different values", lost == 0 and not extra and
              conflicts == 0, (lost, len(extra), conflicts))
    st = devnet._run("status")
    check("every component runs, none needed a manual step", st.returncode == 0, st.stdout)

    print(f"faults: {N_MESSAGES} messages ({n_expected} results) at {RATE:g}/s ({2 * BURST} of them in 2 bursts), "
          f"published in {pub.elapsed:.1f} s (chunks retried {pub.retries}); drained "
          f"{t_drained - t_published:.1f} s after the last publish; {len(faults_log)} faults: "
          f"{'; '.join(faults_log)}; longest pause in storing {gap:.1f} s; redeliveries seen by the restarted Runner: {redeliveries}; "
          f"test body {time.time() - t_start:.1f} s")


def main():
    return e2elib.run_on_devnet(BIN, "faults-cluster" if CLUSTER else "faults", faults,
                                prepare=lambda work: {"NOX_DEVNET_EXTRA_RUNNERS": READER_ADDRESS}, cluster=CLUSTER)


if __name__ == "__main__":
    sys.exit(main())
