#!/usr/bin/python3
"""[authn] Signed jobs, on a real devnet (label "security"): the Runner computes only what a trusted Ingestor
signed, over exactly what it delivers (docs/PROTOCOL-EXTENSIONS.md, "Signed queue messages").

usage: signed_jobs_test.py BIN_DIR JS_PUBLISH JS_DUMP        (NOX_CAST: the cast binary)

The attack: anyone who can publish to NATS queues a TransactionMessage
    {"type": "max", "operatorId": 65, "inputs": [bobBalance, bobBalance], "outputs": [r]}
where r is a handle the attacker may view; a Runner that computes it stores max(bob, bob) — Bob's balance —
under r, and the attacker decrypts it. After a genuine flow (the owner mints to Alice, Alice sends Bob a secret
amount) the test first tries the queue's door (docs/PROTOCOL-EXTENSIONS.md §9): the forged message, signed with the
Ingestor's very key, published with no NATS credentials, with an nkey the server does not list, and with the Runner's
genuine credentials, is refused and never reaches the stream (its r stays pending, the Runner sees nothing, and
nats-server's log names each offender's key); the Runner's credentials cannot delete the stream, read it through a
consumer of their own or create a stream, and the Ingestor's cannot consume. Then, as the Ingestor's NATS identity
(an attacker who stole its NATS credentials, so that what is tested is the signature), it publishes:
  a. the forged message unsigned;
  b. signed by the attacker's own key;
  c. a genuine Ingestor-signed message taken from the stream (js_dump) with its outputs swapped for the
     attacker's handle, under its own headers; the genuine message re-published under another subject; and
     messages signed with the Ingestor's very key but over another stream, another subject, another chain;
  d. malformed signatures: the high-s twin of a valid Ingestor signature (made by cast), v = 29, the signature
     header twice, a signature without Nox-Signer; and an unsigned failure notice that would mark a pending
     handle failed.
Each computes and stores nothing (its r stays `pending` at the Gateway: GET /v0/handles/{h}/status), makes no
Gateway request (its compute routes' counters do not move), leaves a dead letter on nox_dead that the Runner
signed (checked with cast) naming the reason, increments nox_runner_rejected_messages_<reason>_total, and is
logged once at WARN without its body. A positive control — the same forged message signed by cast with the
Ingestor's key, which only the Ingestor holds — is computed (its r becomes `stored`): the refusals are the
signatures' doing. A replay of a genuine signed message is computed again and stores nothing new: the Gateway
answers `unchanged` (nox_runner_results_unchanged_total), PostgreSQL holds the same rows and the same
ciphertext, and Bob's balance still decrypts to the secret. Then no log holds the Ingestor's key or a plaintext.
NOX_TEST_VERBOSE=1 prints passing checks too. Ends with "N passed, M failed".
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import e2elib  # noqa: E402
from e2elib import check, http  # noqa: E402
import noxtest  # noqa: E402
import queue_sig  # noqa: E402  (tests/lib: digests and signatures checked with cast alone)

if len(sys.argv) != 4:
    print("usage: signed_jobs_test.py BIN_DIR JS_PUBLISH JS_DUMP", file=sys.stderr)
    sys.exit(2)
BIN, JS_PUBLISH, JS_DUMP = (os.path.abspath(a) for a in sys.argv[1:4])
CAST = e2elib.cast_path()
CHAIN = 31337
MINTED, SECRET = 7777777000001, 5552223334441   # distinctive: the log scan looks for them
MAX_ID = 65                                      # minmax plugin's `max` (config/operators.yaml)
COMPUTE_ROUTES = ("/v0/compute/operands", "/v0/compute/operands/batch", "/v0/compute/results",
                  "/v0/compute/results/batch", "/v0/compute/failures")
VERDICTS = ("unsigned", "malformed", "unknown_signer", "mismatch")


def rand_tx():
    return "0x" + os.urandom(32).hex()


def handle_like(h):
    """A fresh handle of h's chain and type: the attacker's r."""
    return "0x" + os.urandom(26).hex() + h[54:]


def metric(url, name):
    st, body, _ = http("GET", url + "/metrics")
    for ln in str(body).splitlines():
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    return None


def rejected(url):
    return {v: metric(url, f"nox_runner_rejected_messages_{v}_total") for v in VERDICTS}


def compute_requests(gateway):
    st, body, _ = http("GET", gateway + "/metrics")
    return sum(float(ln.split()[-1]) for ln in str(body).splitlines()
               if ln.startswith("nox_gateway_http_requests_total{") and
               any(f'route="{r}"' in ln for r in COMPUTE_ROUTES))


def status(gateway, h):
    st, body, _ = http("GET", f"{gateway}/v0/handles/{h}/status")
    return body.get("status") if st == 200 and isinstance(body, dict) else f"HTTP {st}"


def js_dump(nats, stream):
    r = subprocess.run([JS_DUMP, nats, stream], capture_output=True, text=True, timeout=60)
    return [json.loads(ln) for ln in r.stdout.splitlines()] if r.returncode == 0 else []


NATS_AS = {}   # role -> NATS credentials file: "ingestor" (the devnet's), set by body()


def publish(work, nats, lines, creds=None, must=True):
    """js_publish the lines as the NATS identity `creds` (default: the Ingestor's, i.e. an attacker who got past
    NATS with its stolen credentials, so that what is tested is the signature; "" for none)."""
    path = os.path.join(work, "attack.jsonl")
    with open(path, "w") as f:
        for ln in lines:
            f.write(json.dumps(ln) + "\n")
    env = dict(os.environ, NOX_NATS_CREDENTIALS=NATS_AS["ingestor"] if creds is None else creds)
    r = subprocess.run([JS_PUBLISH, nats, path], capture_output=True, text=True, timeout=60, env=env)
    if must and r.returncode != 0:
        raise RuntimeError("js_publish: " + r.stderr)
    return r


def js_as(creds, *args):
    """js_dump ARGS as the NATS identity `creds`."""
    return subprocess.run([JS_DUMP, *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, NOX_NATS_CREDENTIALS=creds))


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def cast_sign_digest(key_hex, digest):
    r = subprocess.run([CAST, "wallet", "sign", "--no-hash", "--private-key", key_hex, digest], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("cast wallet sign: " + r.stderr)
    return r.stdout.strip()


def high_s(sig):
    """The malleated twin (r, n - s, v flipped) of a low-s signature: valid under plain ECDSA, refused by EIP-2."""
    b = bytes.fromhex(sig[2:])
    s = int.from_bytes(b[32:64], "big")
    return "0x" + (b[:32] + (queue_sig.N - s).to_bytes(32, "big") + bytes([55 - b[64]])).hex()


def psql(devnet, sql):
    """One value from the devnet's PostgreSQL (the Gateway's store), read as an operator would."""
    exe = shutil.which("psql") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or [None])[-1]
    r = subprocess.run([exe, devnet["NOX_DATABASE_URL"], "-Atc", sql], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql: " + r.stderr)
    return r.stdout.strip()


def forged_max(bob, r, tx):
    """The attacker's TransactionMessage: max(bob, bob) into r."""
    return {"chainId": CHAIN, "caller": "0x" + "a7" * 20, "blockNumber": 1, "transactionHash": tx,
            "events": [{"logIndex": 0, "caller": "0x" + "a7" * 20, "type": "max", "operatorId": MAX_ID,
                        "inputs": [bob, bob], "outputs": [r]}]}


def body(devnet, work):
    nats, gw, runner = devnet["NOX_NATS_URL"], devnet["NOX_GATEWAY_URL"], devnet["NOX_RUNNER_URL"]
    ingestor_addr, runner_addr = devnet["NOX_INGESTOR_ADDRESS"], devnet["NOX_RUNNER_ADDRESS"]
    ingestor_key_file = devnet["NOX_INGESTOR_KEY"]
    ingestor_key = open(ingestor_key_file).read().strip()
    NATS_AS["ingestor"] = devnet["NOX_INGESTOR_NATS_CREDENTIALS"]
    ctl = e2elib.Noxctl(os.path.join(BIN, "noxctl"), work, os.path.join(devnet.dir, "env"))
    mode = os.stat(ingestor_key_file).st_mode & 0o777
    check("the devnet gives the Ingestor a wallet of its own, mode 0600", mode == 0o600 and
          ingestor_addr not in (runner_addr, devnet["NOX_GATEWAY_ADDRESS"]), (oct(mode), ingestor_addr))
    runner_yaml = open(os.path.join(devnet.dir, "runner.yaml")).read()
    check("the devnet's Runner trusts exactly the Ingestor's address",
          re.search(r'^ingestor_addresses: \["' + ingestor_addr + r'"\]', runner_yaml, re.M), runner_yaml)

    # ---- the genuine flow: Bob's balance is a stored handle ----
    keys = os.path.join(devnet.dir, "keys")
    out, r = ctl.json("token", "mint", "--to", devnet["NOX_ALICE_ADDRESS"], "--amount", str(MINTED),
                      "--key", os.path.join(keys, "owner.key"))
    if not check("flow: the owner mints to Alice", out and out.get("txHash"), r.stdout + r.stderr):
        return
    out, r = ctl.json("token", "transfer", "--to", devnet["NOX_BOB_ADDRESS"], "--amount", str(SECRET),
                      "--key", os.path.join(keys, "alice.key"))
    if not check("flow: Alice sends Bob a secret amount", out and out.get("balances"), r.stdout + r.stderr):
        return
    pending = e2elib.wait_stored(gw, [out["success"]] + list(out["balances"].values()), timeout=90)
    if not check("flow: the transfer's results are stored", not pending, pending):
        return
    bob = e2elib.cast("call", devnet["NOX_TOKEN_ADDRESS"], "balanceOf(address)(bytes32)", devnet["NOX_BOB_ADDRESS"],
                      "--rpc-url", devnet["NOX_RPC_URL"])
    r = ctl("decrypt", bob, "--key", os.path.join(keys, "bob.key"))
    check("flow: Bob's balance decrypts to the secret amount", r.stdout.strip() == str(SECRET), r.stdout + r.stderr)

    # ---- what the Ingestor published: every message signed by its wallet (cast) ----
    genuine = js_dump(nats, "nox_ingestor")
    bad = [(m["subject"], why) for m in genuine
           for ok, why in [queue_sig.check_message(CAST, m, "nox_ingestor", ingestor_addr)] if not ok]
    check(f"the Ingestor's {len(genuine)} message(s) are signed by its wallet over what was published (cast)",
          genuine and not bad, bad[:3])
    transfer = next((m for m in genuine for e in json.loads(m["data"])["events"]
                     if e.get("type") == "transfer" and e.get("newBalanceTo") == bob), None)
    if not check("the transfer's genuine message is in the stream", transfer, [m["subject"] for m in genuine]):
        return

    # ---- the queue's door (NATS authentication and permissions): a job from anyone but the Ingestor's NATS
    #      identity never reaches the stream; the server refuses it and logs who tried ----
    attacker_nk = os.path.join(work, "attacker.nk")
    r = subprocess.run([os.path.join(BIN, "noxctl"), "nats-key", "new", "--out", attacker_nk], capture_output=True,
                       text=True, timeout=60)
    attacker_nkey = r.stdout.strip()
    runner_creds = devnet["NOX_RUNNER_NATS_CREDENTIALS"]
    runner_nkey = subprocess.run([os.path.join(BIN, "noxctl"), "nats-key", "public", runner_creds],
                                 capture_output=True, text=True, timeout=60).stdout.strip()
    check("the attacker has an nkey of its own, the Runner another", attacker_nkey.startswith("U") and
          runner_nkey.startswith("U") and attacker_nkey != runner_nkey, (attacker_nkey, runner_nkey))
    stream0 = js_dump(nats, "nox_ingestor")
    nats_log = os.path.join(devnet.dir, "logs", "nats.log")
    nats_log0 = noxtest.file_size(nats_log)
    rdead0, rmsgs0 = metric(runner, "nox_runner_messages_dead_total"), rejected(runner)
    door = []
    for who, creds, refusal in (("no credentials", "", "Authorization Violation"),
                                ("an nkey the server does not list (the attacker's own)", attacker_nk,
                                 "Authorization Violation"),
                                ("the Runner's genuine credentials (a compromised Runner host)", runner_creds,
                                 "Permissions Violation for Publish to \"nox_ingestor.")):
        rr, tx = handle_like(bob), rand_tx()
        res = publish(work, nats, [{"subject": "nox_ingestor." + tx, "id": "door-" + tx,
                                    "data": compact(forged_max(bob, rr, tx)), "key": ingestor_key_file}],
                      creds=creds, must=False)
        door.append((who, rr))
        check(f"NATS door, {who}: a job signed with the Ingestor's very key is refused ({refusal.split(' for')[0]})",
              res.returncode != 0 and refusal in res.stderr, res.stderr[-400:])
    for what, args in (("delete the work stream", ("--delete", nats, "nox_ingestor")),
                       ("read the work stream through a consumer of its own", (nats, "nox_ingestor")),
                       ("create a stream", ("--create", nats, "evil", "nox_ingestor_evil.>", "file", "60", "60"))):
        res = js_as(runner_creds, *args)
        check(f"NATS door: the Runner's credentials cannot {what}", res.returncode != 0 and
              "Permissions Violation" in res.stderr and not res.stdout.strip(), res.stderr[-300:])
    res = js_as(NATS_AS["ingestor"], nats, "nox_ingestor")
    check("NATS door: the Ingestor's credentials cannot consume the work stream", res.returncode != 0 and
          "Permissions Violation" in res.stderr, res.stderr[-300:])
    time.sleep(1)
    check("NATS door: the work stream is unchanged (nothing refused reached it)",
          js_dump(nats, "nox_ingestor") == stream0, len(js_dump(nats, "nox_ingestor")) - len(stream0))
    for who, rr in door:
        check(f"NATS door, {who}: nothing computed, its output stays pending", status(gw, rr) == "pending")
    check("NATS door: the Runner saw nothing (no dead letter, no rejection: the queue never held them)",
          metric(runner, "nox_runner_messages_dead_total") == rdead0 and rejected(runner) == rmsgs0)
    nlog = noxtest.log_since(nats_log, nats_log0)
    check("NATS door: nats-server logged each refused connection with the nkey it offered (authentication error)",
          f'authentication error - Nkey "{attacker_nkey}"' in nlog and 'authentication error - Nkey ""' in nlog,
          nlog[-1500:])
    check("NATS door: nats-server logged the Runner's attempts, naming its nkey and the subject (Publish Violation)",
          f'Publish Violation - Nkey "{runner_nkey}", Subject "nox_ingestor.' in nlog and
          f'Publish Violation - Nkey "{runner_nkey}", Subject "$JS.API.STREAM.DELETE.nox_ingestor"' in nlog,
          nlog[-1500:])

    # ---- the attacks ----
    attacker_key = os.path.join(work, "attacker.key")
    r = subprocess.run([os.path.join(BIN, "noxctl"), "key", "new", "--out", attacker_key], capture_output=True,
                       text=True, timeout=60)
    check("the attacker has a key of its own", r.returncode == 0, r.stderr)
    ok0, dead0, rej0 = metric(runner, "nox_runner_messages_ok_total"), metric(runner, "nox_runner_messages_dead_total"), \
        rejected(runner)
    gw0 = compute_requests(gw)
    log0 = noxtest.file_size(os.path.join(devnet.dir, "logs", "runner.log"))

    attacks = []   # (name, verdict, subject, r or None, js_publish line)

    def attack(name, verdict, msg, r_handle, subject=None, **line):
        tx = msg["transactionHash"] if isinstance(msg, dict) else rand_tx()
        subject = subject or "nox_ingestor." + tx
        data = msg if isinstance(msg, str) else compact(msg)
        ln = {"subject": subject, "id": "attack-" + os.urandom(8).hex(), "data": data}
        ln.update(line)
        attacks.append((name, verdict, subject, r_handle, ln))

    # a. unsigned
    r_a = handle_like(bob)
    attack("a. the forged max(bob, bob), unsigned", "unsigned", forged_max(bob, r_a, rand_tx()), r_a)
    # b. signed by the attacker's own key
    r_b = handle_like(bob)
    attack("b. the forged message signed by the attacker's key", "unknown_signer", forged_max(bob, r_b, rand_tx()), r_b,
           key=attacker_key)
    # c1. the genuine transfer message, its outputs swapped for the attacker's handle, under its own signature
    r_c = handle_like(bob)
    swapped = json.loads(transfer["data"])
    for e in swapped["events"]:
        if e.get("type") == "transfer":
            e["newBalanceTo"] = r_c
    h = transfer["headers"]
    attack("c1. a genuine signed message with its outputs swapped for r, with its own headers", "mismatch",
           compact(swapped), r_c, subject=transfer["subject"],
           headers={"Nox-Signature": h["Nox-Signature"], "Nox-Signer": h["Nox-Signer"]})
    # c2. the genuine message, unchanged, re-published under another subject
    attack("c2. the genuine message re-published under another subject", "mismatch", transfer["data"], None,
           subject="nox_ingestor." + rand_tx(),
           headers={"Nox-Signature": h["Nox-Signature"], "Nox-Signer": h["Nox-Signer"]})
    # c3..c5. signed with the Ingestor's own key, but over another stream, subject or chain than delivered
    for name, sign_as in (("stream nox_dead", {"stream": "nox_dead"}), ("another subject",
                                                                        {"subject": "nox_ingestor." + rand_tx()}),
                          ("chain 1", {"chainId": 1})):
        rr = handle_like(bob)
        attack(f"c. the forged message signed with the Ingestor's key over {name}", "mismatch",
               forged_max(bob, rr, rand_tx()), rr, key=ingestor_key_file, signAs=sign_as)
    # d. malformed signatures, made from a valid Ingestor signature of the forged message (cast signs it)
    for name, mangle in (("the high-s twin of a valid Ingestor signature", high_s),
                         ("v = 29", lambda s: s[:-2] + "1d")):
        rr, tx = handle_like(bob), rand_tx()
        msg = compact(forged_max(bob, rr, tx))
        sig = cast_sign_digest(ingestor_key, queue_sig.digest(CAST, "nox_ingestor", "nox_ingestor." + tx, None,
                                                              msg.encode()))
        attack(f"d. {name}", "malformed", msg, rr, subject="nox_ingestor." + tx,
               headers={"Nox-Signature": mangle(sig), "Nox-Signer": ingestor_addr})
    for name, headers, added in (("Nox-Signature twice", True, True), ("no Nox-Signer", False, False)):
        rr, tx = handle_like(bob), rand_tx()
        msg = compact(forged_max(bob, rr, tx))
        sig = cast_sign_digest(ingestor_key, queue_sig.digest(CAST, "nox_ingestor", "nox_ingestor." + tx, None,
                                                              msg.encode()))
        attack(f"d. a valid Ingestor signature, but {name}", "malformed", msg, rr, subject="nox_ingestor." + tx,
               headers={"Nox-Signature": sig, **({"Nox-Signer": ingestor_addr} if headers else {})},
               **({"addHeaders": {"Nox-Signature": sig}} if added else {}))
    # e. an unsigned failure notice: it would mark a pending handle failed
    r_e = handle_like(bob)
    notice = {"chainId": CHAIN, "caller": "0x" + "a7" * 20, "blockNumber": 1, "transactionHash": rand_tx(),
              "events": [], "failed": {"reason": "planted", "outputs": [r_e]}}
    attack("e. an unsigned failure notice", "unsigned", notice, r_e)

    publish(work, nats, [a[4] for a in attacks])
    want_dead = {"nox_dead." + a[2].rsplit(".", 1)[1] for a in attacks}
    deadline, letters = time.time() + 60, []
    while time.time() < deadline:
        letters = [d for d in js_dump(nats, "nox_dead") if d["subject"] in want_dead]
        if {d["subject"] for d in letters} >= want_dead and sum(rejected(runner).values()) - sum(rej0.values()) >= \
                len(attacks):
            break
        time.sleep(0.3)
    time.sleep(1)   # anything else the Runner would still do with them
    log = noxtest.log_since(os.path.join(devnet.dir, "logs", "runner.log"), log0)
    by_token = {}
    for d in letters:
        by_token.setdefault(d["subject"], []).append(d)
    for name, verdict, subject, r_handle, ln in attacks:
        token = subject.rsplit(".", 1)[1]
        mine = [d for d in by_token.get("nox_dead." + token, [])
                if (d["headers"] or {}).get("Nox-Original-Subject") == subject and
                d["data"] == ln["data"]]
        if r_handle:
            check(f"{name}: nothing computed, its output stays pending", status(gw, r_handle) == "pending",
                  status(gw, r_handle))
        reason = mine[0]["deadReason"] if mine else ""
        check(f"{name}: dead-lettered on nox_dead, the reason naming '{verdict}'",
              mine and reason.startswith(f"refused before any work ({verdict}): "), [d.get("deadReason") for d in mine])
        ok, why = queue_sig.check_message(CAST, mine[0], "nox_dead", runner_addr) if mine else (False, "none")
        check(f"{name}: its dead letter is signed by the Runner (cast), so an operator can tell it from a planted one",
              ok, why)
        lines = [x for x in log.splitlines() if f"refused message {subject} " in x]
        check(f"{name}: one WARN line naming the reason, never the body",
              len(lines) == 1 and all(" warn: " in x and f": {verdict}: " in x for x in lines) and
              not any('"events"' in x or (r_handle and r_handle[2:] in x) for x in lines), lines)
    got = rejected(runner)
    counts = {v: sum(1 for a in attacks if a[1] == v) for v in VERDICTS}
    check(f"nox_runner_rejected_messages_<reason>_total counted each: {counts}",
          all((got[v] or 0) - (rej0[v] or 0) == counts[v] for v in VERDICTS), (rej0, got))
    check("no refused message reached the Gateway (its compute routes served no request)",
          compute_requests(gw) == gw0, (gw0, compute_requests(gw)))
    check("no refused message was processed (nox_runner_messages_ok_total unchanged)",
          metric(runner, "nox_runner_messages_ok_total") == ok0, (ok0, metric(runner, "nox_runner_messages_ok_total")))
    check("each refused message is one dead letter (nox_runner_messages_dead_total)",
          metric(runner, "nox_runner_messages_dead_total") - dead0 == len(attacks),
          (dead0, metric(runner, "nox_runner_messages_dead_total")))
    txs = {json.loads(a[4]["data"])["transactionHash"] for a in attacks if a[4]["data"] != transfer["data"]}
    gw_log = devnet.log("gateway").lower()
    check("the Gateway never heard of the attackers' transactions (no authorization, no failure record names one)",
          not [t for t in txs if t[2:] in gw_log], [t for t in txs if t[2:] in gw_log])
    check("failure notice planted unsigned: its handle is not 'failed'", status(gw, r_e) == "pending")
    planted = {"subject": "nox_dead.x", "data": transfer["data"], "headers": {"Nox-Dead-Reason": "planted"}}
    check("an operator's check tells a planted dead letter (unsigned) from the Runner's",
          not queue_sig.check_message(CAST, planted, "nox_dead", runner_addr)[0])

    # ---- the positive control: the same forgery signed (by cast) with the Ingestor's key is computed ----
    r_ctl, tx = handle_like(bob), rand_tx()
    msg = compact(forged_max(bob, r_ctl, tx))
    sig = cast_sign_digest(ingestor_key, queue_sig.digest(CAST, "nox_ingestor", "nox_ingestor." + tx, None,
                                                          msg.encode()))
    publish(work, nats, [{"subject": "nox_ingestor." + tx, "id": "control-" + tx, "data": msg,
                          "headers": {"Nox-Signature": sig, "Nox-Signer": ingestor_addr}}])
    pending = e2elib.wait_stored(gw, [r_ctl], timeout=30)
    check("control: signed with the Ingestor's key (here by cast), the same message is computed and stored — the "
          "refusals above are the signatures' doing (and only the Ingestor's key can queue work)", not pending)
    check("control: it went through the Gateway", compute_requests(gw) > gw0)

    # ---- a replay of a genuine signed message: computed again, nothing new stored ----
    rows0 = psql(devnet, "SELECT count(*) FROM handles")
    ct0 = psql(devnet, f"SELECT encode(ciphertext, 'hex') FROM handles WHERE handle = decode('{bob[2:]}', 'hex')")
    ok1 = metric(runner, "nox_runner_messages_ok_total")
    created1, unchanged1 = metric(runner, "nox_runner_results_created_total"), \
        metric(runner, "nox_runner_results_unchanged_total")
    n_outputs = sum(len([k for k in e if k in ("success", "newBalanceFrom", "newBalanceTo", "result", "handle",
                                                "newTotalSupply")])
                    for e in json.loads(transfer["data"])["events"])
    publish(work, nats, [{"subject": transfer["subject"], "id": "replay-" + os.urandom(8).hex(),
                          "data": transfer["data"], "sign": False,
                          "headers": {"Nox-Signature": h["Nox-Signature"], "Nox-Signer": h["Nox-Signer"]}}])
    deadline = time.time() + 30
    while time.time() < deadline and metric(runner, "nox_runner_messages_ok_total") == ok1:
        time.sleep(0.2)
    check("replay: the genuine signed message is accepted and processed again",
          metric(runner, "nox_runner_messages_ok_total") == ok1 + 1)
    check(f"replay: the Gateway answers its {n_outputs} result(s) 'unchanged', creates none",
          metric(runner, "nox_runner_results_unchanged_total") - unchanged1 == n_outputs and
          metric(runner, "nox_runner_results_created_total") == created1,
          (created1, unchanged1, metric(runner, "nox_runner_results_created_total"),
           metric(runner, "nox_runner_results_unchanged_total")))
    check("replay: PostgreSQL holds the same rows, and Bob's balance the same ciphertext (nothing overwritten)",
          psql(devnet, "SELECT count(*) FROM handles") == rows0 and
          psql(devnet, f"SELECT encode(ciphertext, 'hex') FROM handles WHERE handle = decode('{bob[2:]}', 'hex')") ==
          ct0 and ct0, (rows0, ct0[:16]))
    r = ctl("decrypt", bob, "--key", os.path.join(keys, "bob.key"))
    check("replay: Bob's balance still decrypts to the secret amount", r.stdout.strip() == str(SECRET), r.stdout)
    check("the Runner logged no error", " error: " not in devnet.log("runner"), devnet.log("runner")[-1500:])

    # ---- no log holds the Ingestor's key or a plaintext ----
    res = devnet.down()
    check("devnet down", res.returncode == 0, res.stdout + res.stderr)
    needles = {"the Ingestor's private key": ingestor_key[2:].lower()}
    for what, v in (("the secret amount", SECRET), ("Alice's balance", MINTED - SECRET)):
        needles[f"{what} in decimal"], needles[f"{what} in hex"] = str(v), "%x" % v
    for p in glob.glob(os.path.join(devnet.dir, "logs", "*.log")):
        text = open(p, errors="replace").read().lower()
        for what, needle in needles.items():
            check(f"log scan: {what} not in {os.path.basename(p)}", needle not in text)


if __name__ == "__main__":
    sys.exit(e2elib.run_on_devnet(BIN, "signed-jobs", body))
