#!/usr/bin/python3
"""nox-gateway's start-up safety: its wallet key, and the KMS key it encrypts inputs to against NoxCompute's.

usage: gateway_keys_test.py NOX_GATEWAY NOX_KMS NOXCTL CAST CONTRACTS_DIR

A real PostgreSQL, anvil + the contracts deployed with KMS A's public key (noxtest.gateway_backends), and the
Gateway under these conditions:
  - wallet_key_file missing: exit 1 naming the file, the key, `noxctl key new` and create_if_missing, and no file;
    with create_if_missing: true it is created 0600, said once, and reused by the next start;
  - the attack: a KMS B with a fresh protocol key (and KMS A's wallet, so its proof verifies against kms_address),
    i.e. a KMS replica that came up without its key_file. A Gateway pointed at B:
      * chain reachable at start: exit 1, an ERROR naming the chain id, both keys' fingerprints and the fixes;
      * chain unreachable at start (an RPC port that refuses): it starts, but /health is 503 and POST /v0/secrets
        503 kms_key_unchecked; once the chain answers (checked every 5 s): still 503, now kms_key_mismatch;
    and nothing is ever stored in PostgreSQL. A Gateway pointed at A behind the same unreachable chain is 503 at
    first and serves inputs once the chain answers (the re-check opens them);
  - NoxCompute's owner changes kmsPublicKey to B's: a running Gateway turns 503 (health and inputs) within the
    check interval, stores nothing meanwhile, and serves again once the key is set back;
  - its KMS replaced by one with another key on the same URL: /health 503 naming both keys.
Ends with "N passed, M failed".
"""
import http.server as http_server
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import http, is_error_shape, run  # noqa: E402

NOX_GATEWAY, NOX_KMS, NOXCTL, CAST, CONTRACTS = sys.argv[1:6]
noxtest.NOX_KMS = NOX_KMS
CHAIN = 31337
DEPLOYER, RUNNER, _ = noxtest.ANVIL_KEYS
CHECK_INTERVAL_S = 5    # GW_CHAIN_CHECK_INTERVAL_S (services/gateway/gateway.h)
INPUT = {"value": "0x2a", "solidityType": "uint8", "owner": "0x" + "22" * 20, "applicationContract": "0x" + "33" * 20}


def check(name, ok, detail=""):
    """noxtest.check, returning whether it passed (a failed precondition skips what depends on it)."""
    noxtest.check(name, bool(ok), detail)
    return bool(ok)


def fingerprint(pub_hex):
    """The Gateway's short form of a 33-byte public key: 0x + its first 4 bytes .. its last 3."""
    return pub_hex[:10].lower() + ".." + pub_hex[-6:].lower()


class Forward(http_server.BaseHTTPRequestHandler):
    """Forwards JSON-RPC to anvil (Forward.upstream)."""
    upstream = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        up = urllib.request.Request(Forward.upstream, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(up, timeout=10) as r:
                answer = r.read()
        except OSError:
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def start_gateway(work, text, name):
    """The Gateway with configuration `text`; url None when it refused to start (proc.returncode, log())."""
    cfg = os.path.join(work, name + ".yaml")
    with open(cfg, "w") as f:
        f.write(text)
    return noxtest.start_ready(name, [NOX_GATEWAY, "--config", cfg], work, timeout=30, must_start=False)


def post(gw):
    return http("POST", gw.url + "/v0/secrets", json.dumps(INPUT), {"Content-Type": "application/json"})


def wait_for(fn, seconds):
    """Calls fn until it returns something true or `seconds` pass; returns its last value."""
    deadline = time.time() + seconds
    while True:
        out = fn()
        if out or time.time() > deadline:
            return out
        time.sleep(0.25)


class Rows:
    """SELECT count(*) FROM handles, by psql over the Gateway's database URL."""

    def __init__(self, pg):
        self.psql = os.path.join(pg.bindir, "psql")
        self.url = pg.url

    def __call__(self):
        r = run(self.psql, self.url, "-tAc", "SELECT count(*) FROM handles")
        return int(r.stdout.strip()) if r.returncode == 0 else f"psql: {r.stderr}"


PKI = {}   # "pki": the test's noxtest.Pki (set by main): every KMS and Gateway over TLS, mutual where deployed so


def config(pg, kms_url, kms_addr, rpc_url, nox, wallet="gateway-wallet.key", extra=""):
    pki = PKI["pki"]
    return f"""listen: 127.0.0.1:0
{pki.server_yaml("gateway", "runner")}database_url: "{pg.url}"
kms_url: {kms_url}
{pki.client_yaml("kms_tls", "gateway")}kms_address: "{kms_addr}"
wallet_key_file: {wallet}
runner_addresses: ["{run(CAST, "wallet", "address", "--private-key", RUNNER).stdout.strip()}"]
default_chain_id: {CHAIN}
threads: 4
log_level: info
chains:
  - chain_id: {CHAIN}
    rpc_url: {rpc_url}
    nox_compute: "{nox}"
{extra}"""


def wallet_key(work, base):
    """wallet_key_file missing: refused (nothing created); create_if_missing: true creates it once."""
    path = os.path.join(work, "new-wallet.key")
    text = base.replace("wallet_key_file: gateway-wallet.key", "wallet_key_file: new-wallet.key")
    gw = start_gateway(work, text, "nowallet")
    want = (f"wallet_key_file {path} does not exist; create it with `noxctl key new --out {path}` "
            "or set create_if_missing: true")
    check("a missing wallet_key_file stops start-up (exit 1) naming the file, the key and `noxctl key new`",
          gw.url is None and gw.proc.returncode == 1 and want in gw.log(), gw.log()[-1500:])
    check("... and creates no wallet key file", not os.path.exists(path))

    gw = start_gateway(work, text + "create_if_missing: true\n", "createwallet")
    log = gw.log()
    if check("create_if_missing: true: the Gateway starts", gw.url, log[-2000:]):
        gw.stop()
    check("create_if_missing: true: creates the wallet key file 0600",
          os.path.exists(path) and os.stat(path).st_mode & 0o777 == 0o600)
    check("create_if_missing: true: says so once, naming the file",
          log.count(f"wallet_key_file {path} did not exist: created a new wallet key there") == 1, log[-2000:])
    check("... and, its address not being NoxCompute.gateway(), logs that mismatch (an ERROR, not a refusal)",
          re.search(r"gateway error: chain 31337: MISMATCH: NoxCompute.gateway\(\) is 0x[0-9a-f]{40}, this "
                    r"Gateway's wallet 0x[0-9a-f]{40}", log) is not None, log[-2000:])
    address = re.search(r"wallet address (0x[0-9a-f]{40})", log)
    gw = start_gateway(work, text + "create_if_missing: true\n", "createwallet2")
    log2 = gw.log()
    if gw.url:
        gw.stop()
    check("the next start loads it: same address, nothing created",
          gw.url and address and f"wallet address {address.group(1)}" in log2 and "did not exist" not in log2,
          log2[-1500:])
    for name, value, col in [("a quoted word", '"yes"', 20), ("a number", "1", 20)]:
        gw = start_gateway(work, base + f"create_if_missing: {value}\n", "badbool")
        line = base.count("\n") + 1
        check(f"create_if_missing: {name} stops start-up with file:line:col", gw.url is None and
              f"badbool.yaml:{line}:{col}: create_if_missing: expected true or false" in gw.log(), gw.log()[-800:])


def main():
    work = tempfile.mkdtemp(prefix="gateway-keys-test-")
    servers, pg, proxy, serving = [], None, None, []
    try:
        pki = PKI["pki"] = noxtest.pki(work)
        # the test calls the KMSes' public key and the Gateways' user endpoints: no client certificate needed,
        # the Runners' presented anyway (as everywhere in the integration tests)
        noxtest.use_tls(pki.ca, *pki.client("runner"))
        try:
            b = noxtest.gateway_backends(work, servers, NOXCTL, CAST, CONTRACTS, DEPLOYER, CHAIN, pki=pki)
        except RuntimeError as e:
            check("PostgreSQL, the KMS and anvil + the contracts start", False, e)
            return noxtest.summary()
        pg, kms_a, kms_addr, anvil, gw_addr = b["pg"], b["kms"], b["kms_addr"], b["anvil"], b["gw_addr"]
        nox = b["deployment"]["noxCompute"]
        key_a = b["kms_public_key"]
        rows = Rows(pg)
        base = config(pg, kms_a.url, kms_addr, anvil.url, nox)

        # the Gateway as deployed: KMS A, the chain holds A's key
        good = start_gateway(work, base, "gateway")
        if not check("the Gateway starts with KMS A (NoxCompute holds A's key)", good.url, good.log()[-2000:]):
            return noxtest.summary()
        servers.append(good)
        st, body, _ = post(good)
        check("... POST /v0/secrets -> 200", st == 200 and "handle" in body, (st, body))
        check("... logs that the chain holds the KMS key",
              f"chain 31337: NoxCompute.kmsPublicKey() is the KMS key {fingerprint(key_a)}: inputs accepted"
              in good.log(), good.log()[-1500:])
        stored = rows()
        check("... one row stored", stored == 1, stored)

        wallet_key(work, base)

        # KMS B: a fresh protocol key (what a replica that lost its key_file would serve) with A's wallet,
        # so its PublicKeyProof verifies against kms_address: only NoxCompute can tell the keys apart
        work_b = os.path.join(work, "kms-b")
        os.makedirs(work_b)
        shutil.copy(os.path.join(work, "kms-wallet.key"), os.path.join(work_b, "kms-wallet.key"))
        os.chmod(os.path.join(work_b, "kms-wallet.key"), 0o600)
        kms_b = noxtest.start_kms(work_b, gw_addr, pki=pki)
        servers.append(kms_b)
        _, pk, _ = http("GET", kms_b.url + f"/v0/public-key?chainId={CHAIN}")
        key_b = pk["publicKey"]
        check("KMS B serves another key than A (and NoxCompute)", key_b != key_a, key_b)

        # chain reachable at start: no start
        bad = start_gateway(work, config(pg, kms_b.url, kms_addr, anvil.url, nox), "gateway-b")
        log = bad.log()
        err = [ln for ln in log.splitlines() if " error: " in ln]
        check("a Gateway pointed at KMS B does not start (exit 1)", bad.url is None and bad.proc.returncode == 1,
              log[-2000:])
        check("... its ERROR names the chain, both keys' fingerprints and what to fix",
              any(f"chain 31337: NoxCompute.kmsPublicKey() is {fingerprint(key_a)}, the KMS serves "
                  f"{fingerprint(key_b)}: inputs would be encrypted to a key the chain does not know" in ln
                  and "Point kms_url at the KMS whose key_file holds the chain's key" in ln
                  and "setKmsPublicKey" in ln for ln in err), err or log[-2000:])
        check("... and stored nothing", rows() == stored, rows())

        # chain unreachable at start: an RPC port bound but not listening (connections refused) until told
        Forward.upstream = anvil.url
        proxy = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Forward, bind_and_activate=False)
        proxy.daemon_threads = True
        proxy.server_bind()
        dark = f"http://127.0.0.1:{proxy.server_address[1]}"
        gw_b = start_gateway(work, config(pg, kms_b.url, kms_addr, dark, nox), "gateway-b-dark")
        gw_a = start_gateway(work, config(pg, kms_a.url, kms_addr, dark, nox), "gateway-a-dark")
        servers += [g for g in (gw_b, gw_a) if g.url]
        if not check("with the chain unreachable, Gateways pointed at KMS B and at KMS A start", gw_b.url and gw_a.url,
                     gw_b.log()[-1500:] + gw_a.log()[-1500:]):
            return noxtest.summary()
        for name, gw in [("B", gw_b), ("A", gw_a)]:
            st, body, _ = http("GET", gw.url + "/health")
            check(f"chain unreachable, KMS {name}: /health 503 naming the chain and why",
                  st == 503 and "chain 31337: NoxCompute.kmsPublicKey() not checked yet" in body.get("reason", ""),
                  (st, body))
            st, body, _ = post(gw)
            check(f"chain unreachable, KMS {name}: POST /v0/secrets -> 503 kms_key_unchecked",
                  st == 503 and is_error_shape(body, "kms_key_unchecked") and "chain 31337" in body["message"],
                  (st, body))
        check("... a WARN says so at start", "NoxCompute.kmsPublicKey() not checked yet" in gw_b.log(), gw_b.log())
        check("... nothing stored", rows() == stored, rows())

        proxy.server_activate()   # the chain answers from now on
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        serving.append(proxy)
        t0 = time.time()
        st_a = wait_for(lambda: http("GET", gw_a.url + "/health")[0] == 200, 4 * CHECK_INTERVAL_S)
        check(f"chain reachable again: the Gateway with KMS A turns healthy ({time.time() - t0:.1f} s)", st_a,
              http("GET", gw_a.url + "/health"))
        st, body, _ = post(gw_a)
        check("... and takes inputs (POST /v0/secrets -> 200)", st == 200 and "handle" in body, (st, body))
        stored += 1
        mism = wait_for(lambda: "MISMATCH: NoxCompute.kmsPublicKey()" in gw_b.log(), 4 * CHECK_INTERVAL_S)
        check("chain reachable again: the Gateway with KMS B logs the MISMATCH (chain id, both fingerprints)",
              mism and f"chain 31337: MISMATCH: NoxCompute.kmsPublicKey() is {fingerprint(key_a)}, the KMS serves "
              f"{fingerprint(key_b)}" in gw_b.log(), gw_b.log()[-2000:])
        st, body, _ = http("GET", gw_b.url + "/health")
        check("... /health 503 with the mismatch", st == 503 and
              f"NoxCompute.kmsPublicKey() is {fingerprint(key_a)}, the KMS serves {fingerprint(key_b)}"
              in body.get("reason", ""), (st, body))
        for i in range(3):
            st, body, _ = post(gw_b)
            check(f"... POST /v0/secrets -> 503 kms_key_mismatch ({i + 1})",
                  st == 503 and is_error_shape(body, "kms_key_mismatch") and fingerprint(key_b) in body["message"],
                  (st, body))
        check("... and nothing of it in PostgreSQL", rows() == stored, rows())
        for gw in (gw_b, gw_a):
            check(f"{gw.log_path.split('/')[-1]}: exits cleanly on SIGTERM", gw.stop() == 0)

        # NoxCompute's owner switches kmsPublicKey to B's: the running Gateway (KMS A) closes inputs, then reopens
        def set_key(key):
            return run(CAST, "send", nox, "setKmsPublicKey(bytes)", key, "--private-key", DEPLOYER, "--rpc-url",
                       anvil.url)

        r = set_key(key_b)
        check("setKmsPublicKey(B's key) by the owner", r.returncode == 0, r.stdout + r.stderr)
        t0 = time.time()
        turned = wait_for(lambda: http("GET", good.url + "/health")[0] == 503, 4 * CHECK_INTERVAL_S)
        st, body, _ = http("GET", good.url + "/health")
        check(f"a running Gateway turns 503 within the check interval ({time.time() - t0:.1f} s), naming both keys",
              turned and f"is {fingerprint(key_b)}, the KMS serves {fingerprint(key_a)}" in body.get("reason", ""),
              (st, body))
        st, body, _ = post(good)
        check("... POST /v0/secrets -> 503 kms_key_mismatch", st == 503 and is_error_shape(body, "kms_key_mismatch"),
              (st, body))
        check("... nothing stored", rows() == stored, rows())
        check("... the MISMATCH logged", f"MISMATCH: NoxCompute.kmsPublicKey() is {fingerprint(key_b)}" in good.log())
        r = set_key(key_a)
        check("setKmsPublicKey(A's key) back", r.returncode == 0, r.stdout + r.stderr)
        back = wait_for(lambda: http("GET", good.url + "/health")[0] == 200, 4 * CHECK_INTERVAL_S)
        st, body, _ = post(good)
        check("... the Gateway serves inputs again", back and st == 200 and "handle" in body, (st, body))

        # its KMS replaced on the same URL by one with another key: /health says so
        work_c = os.path.join(work, "kms-c")
        os.makedirs(work_c)
        for f in ("kms.key", "kms-wallet.key"):
            shutil.copy(os.path.join(work, f), os.path.join(work_c, f))
            os.chmod(os.path.join(work_c, f), 0o600)
        kms_c = noxtest.start_kms(work_c, gw_addr, pki=pki)
        port = noxtest.url_port(kms_c.url)
        gw_c = start_gateway(work, config(pg, kms_c.url, kms_addr, anvil.url, nox), "gateway-c")
        if check("a Gateway with KMS C (A's keys) starts and is healthy", gw_c.url and
                 http("GET", gw_c.url + "/health")[0] == 200, gw_c.log()[-1500:]):
            servers.append(gw_c)
            kms_c.stop()
            os.remove(os.path.join(work_c, "kms.key"))
            kms_c = noxtest.start_kms(work_c, gw_addr, port=port, pki=pki)   # keygen: a new protocol key
            servers.append(kms_c)
            _, pk, _ = http("GET", kms_c.url + f"/v0/public-key?chainId={CHAIN}")
            st, body, _ = http("GET", gw_c.url + "/health")
            check("KMS C restarted with a new key on the same URL: the Gateway's /health 503 naming both keys",
                  st == 503 and f"is now {fingerprint(pk['publicKey'])}, not {fingerprint(key_a)}"
                  in body.get("reason", ""), (st, body))
            check("... the Gateway exits cleanly", gw_c.stop() == 0)

        log = good.log()
        check("the logs hold no private key", not any(
            open(os.path.join(d, f)).read().strip()[2:] in log + gw_b.log() + bad.log()
            for d, f in [(work, "gateway-wallet.key"), (work, "kms.key"), (work_b, "kms.key")]))
        check("nox-gateway exits cleanly on SIGTERM", good.stop() == 0, good.log()[-2000:])
    finally:
        for p in serving:
            p.shutdown()
        if proxy:
            proxy.server_close()
        noxtest.stop_all(servers, pg)
        noxtest.keep_or_remove(work)
    return noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
