#!/usr/bin/python3
"""nox/kms_client.h against a real nox-kms over loopback (spec §8).

usage: kms_client_test.py NOX_KMS NOXCTL KMS_CLIENT_TEST

Runs the CUnit program twice against one KMS configuration: the main suite
(on a free port), then the restart phase on a fixed free port: the program
signals "@@stop", the KMS is stopped, it checks NOX_ERR_IO; it signals
"@@start", the KMS is started again on the same port (same keys), it checks
that the same client works again.
Plaintext on loopback (the one integration test that is): kms_client_test.c builds its client from NOX_KMS_URL
alone, with no nox_tls_client, so it cannot verify an https:// KMS or present the Gateway's client certificate;
mutual TLS between the Gateway and the KMS is exercised by gateway_test.py.
Prints one line per failed check and ends with "N passed, M failed".
"""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import check, run  # noqa: E402

NOX_KMS, NOXCTL, PROGRAM = sys.argv[1:4]
noxtest.NOX_KMS = NOX_KMS


def env_for(url, wallet, gw_key_file):
    env = dict(os.environ)
    env.update(NOX_KMS_URL=url, NOX_KMS_WALLET=wallet, NOX_GATEWAY_KEY_FILE=gw_key_file)
    return env


class FakeKms(http.server.BaseHTTPRequestHandler):
    """Answers by chainId: 1 not JSON, 2 JSON of the wrong shape, 3 a 503, 4 a redirect, 5 a bare 429,
    6 a well-formed public key whose proof is a valid signature by some other key, 7 no batch endpoint
    (404) but POST /v0/delegate answers a fixed 256-byte secret (counted in FAKE_CALLS)."""

    def answer(self):
        chain = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("chainId", ["0"])[0]
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        status, body, extra = {
            "1": (200, b"<html>not json</html>", {}),
            "2": (200, b'{"encryptedSharedSecret": 5, "publicKey": "0x02"}', {}),
            "3": (503, b'{"error":"storage","message":"unavailable"}', {}),
            "4": (302, b"", {"Location": "http://127.0.0.1:9/"}),
            "5": (429, b"slow down", {}),
            "6": (200, json.dumps(FAKE_KEY_ANSWER).encode(), {}),
        }.get(chain, (404, b'{"error":"not_found","message":"no"}', {}))
        if chain == "7" and urllib.parse.urlparse(self.path).path == "/v0/delegate":
            status, body = 200, json.dumps({"encryptedSharedSecret": "0x" + "ab" * 256}).encode()
        if chain == "7":
            FAKE_CALLS.append(urllib.parse.urlparse(self.path).path)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass


FAKE_KEY_ANSWER = {}
FAKE_CALLS = []


def main():
    work = tempfile.mkdtemp(prefix="nox-kms-client-test-")
    gw_key_file = os.path.join(work, "gateway.key")
    run(NOXCTL, "key", "new", "--out", gw_key_file)
    gw_addr = run(NOXCTL, "key", "address", gw_key_file).stdout.strip()

    kms = noxtest.start_kms(work, gw_addr, threads=4)
    wallet = run(NOXCTL, "key", "address", os.path.join(work, "kms-wallet.key")).stdout.strip()
    check("KMS wallet address", wallet.startswith("0x") and len(wallet) == 42, wallet)
    status, body, _ = noxtest.http("GET", f"{kms.url}/v0/public-key?chainId=31337")
    check("public key for the fake KMS", status == 200 and isinstance(body, dict), f"{status} {body}")
    FAKE_KEY_ANSWER.update(body if isinstance(body, dict) else {})
    try:
        r = subprocess.run([PROGRAM], env=env_for(kms.url, wallet, gw_key_file), capture_output=True, text=True,
                           timeout=240)
        check("main suite passes", r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:])
        # the batches went out as POST /v0/delegate/batch: the good ones answered 200, the one with a
        # malformed key 400 (then one request per item)
        status, text, _ = noxtest.http("GET", kms.url + "/metrics")
        text = text if isinstance(text, str) else ""
        batch_ok = 'route="/v0/delegate/batch",method="POST",status="200"'
        batch_bad = 'route="/v0/delegate/batch",method="POST",status="400"'
        check("batches used POST /v0/delegate/batch", batch_ok in text and batch_bad in text,
              "\n".join(l for l in text.splitlines() if "delegate" in l)[:2000])
    finally:
        kms.stop()

    # The restart phase, on a fixed port so the client's URL stays valid
    kms = noxtest.start_kms(work, gw_addr, threads=4)         # port 0: the port it bound is then reused
    port = noxtest.url_port(kms.url)
    proc = subprocess.Popen([PROGRAM, "restart"], env=env_for(kms.url, wallet, gw_key_file), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = []
    watchdog = threading.Timer(120, proc.kill)  # never hang the suite on a lost handshake
    watchdog.start()
    try:
        for line in proc.stdout:
            out.append(line)
            if line.rstrip().endswith("@@stop"):  # CUnit's "Test: ..." has no newline yet
                check("KMS stops", kms.stop() is not None)
                proc.stdin.write("stopped\n")
                proc.stdin.flush()
            elif line.rstrip().endswith("@@start"):
                kms = noxtest.start_kms(work, gw_addr, threads=4, port=port)
                check("KMS restarts on the same port", kms.url.endswith(f":{port}"), kms.url)
                proc.stdin.write("started\n")
                proc.stdin.flush()
        proc.wait(timeout=120)
        err = proc.stderr.read()
        check("restart phase passes", proc.returncode == 0, "".join(out)[-4000:] + err[-2000:])
        check("KMS down is reported", "KMS down: " in err and "cannot reach the KMS" in err, err[-2000:])
        print("".join(l for l in err.splitlines(True) if l.startswith("KMS down: "))[:600], end="")
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kms.stop()

    # Odd answers from a fake KMS; for chain 6, the real KMS's proof for chain 31337 over its key: a valid
    # signature, but over another domain, so it recovers to some other address
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeKms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = env_for(f"http://127.0.0.1:{server.server_address[1]}", wallet, gw_key_file)
        env["NOX_KMS_FAKE"] = "1"
        r = subprocess.run([PROGRAM, "fake"], env=env, capture_output=True, text=True, timeout=120)
        check("fake KMS suite passes", r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:])
        check("without the batch endpoint: one 404, then one request per item",
              FAKE_CALLS[:6] == ["/v0/delegate/batch"] + ["/v0/delegate"] * 5 and
              "no POST /v0/delegate/batch (404)" in r.stderr, f"{FAKE_CALLS} {r.stderr[-1000:]}")
    finally:
        server.shutdown()
    return noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
