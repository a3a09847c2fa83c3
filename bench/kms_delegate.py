#!/usr/bin/python3
"""Delegation throughput and latency of a real nox-kms over loopback.

usage: bench/kms_delegate.py [--requests N] [--connections C] [--threads T] [--fresh-keys]
                             [--partials [--keys M]] [--csv FILE]

Starts build/bin/nox-kms (NOX_BIN=DIR for another build's binaries) with fresh
keys on a free port (T worker threads), signs the Gateway's authorization (with
cast), and sends N requests over C keep-alive connections from Python threads:
  default     POST /v0/delegate, one DelegateAuthorization (one key per request);
  --partials  POST /v0/delegate/partials (docs/PROTOCOL-EXTENSIONS.md §11), M
              ephemeral keys per request (default 64: a Runner batch of 32
              binary operations), one PartialDelegationAuthorization; the KMS
              runs without a group file, i.e. as the node of the 1-of-1 group
              (a node's work per request is the same whatever t is: a partial
              and a DLEQ proof per key, one AES-GCM, one RSA-OAEP). The first
              answer is opened here (RSA-OAEP, AES-GCM with the envelope's AAD)
              and its items checked against the keys sent.
Prints the client-side throughput and latency percentiles and the server's
own mean from its nox_kms_delegation_seconds (nox_kms_partials_seconds)
histogram, as a table and as CSV. --fresh-keys makes every request carry a
new RSA key (the user decryption path, where the parsed-key cache cannot
help); by default every request carries the same key, as a Runner's do.

The client runs on the same machine: on 2 cores it competes with the server
for CPU, so the client-side numbers are a floor, the server mean a ceiling.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import noxtest  # noqa: E402  (typed data and cast signing, shared with the tests)
import noxthreshold  # noqa: E402  (opening an envelope, shared with the tests)

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("NOX_BIN", os.path.join(ROOT, "build", "bin"))
CAST = os.path.join(ROOT, "build", "tools", "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast")


def sign(work, key, eph, target):
    data = noxtest.typed_data("DelegateAuthorization", [("ephemeralPubKey", "string"), ("targetPubKey", "string")],
                              noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": 31337},
                              {"ephemeralPubKey": eph, "targetPubKey": target})
    return noxtest.cast_sign(CAST, work, data, key)


def sign_partials(work, key, ephs, target):
    data = noxtest.typed_data("PartialDelegationAuthorization",
                              [("ephemeralPubKeys", "string[]"), ("targetPubKey", "string")],
                              noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": CHAIN},
                              {"ephemeralPubKeys": ephs, "targetPubKey": target})
    return noxtest.cast_sign(CAST, work, data, key)


def check_envelope(answer, rsa_key, ephs):
    """Opens one node's envelope as the Runner does and checks that item j is for ephs[j]; raises otherwise."""
    items = noxthreshold.open_envelope(rsa_key, answer, CHAIN)
    if len(items) != len(ephs):
        raise RuntimeError(f"the envelope holds {len(items)} items, {len(ephs)} were asked for")
    for j, e in enumerate(ephs):
        if items[j][0] != bytes.fromhex(e[2:]):
            raise RuntimeError(f"item {j} is for another key")


def new_eph():
    k = ec.generate_private_key(ec.SECP256K1())
    return "0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.CompressedPoint).hex()


CHAIN = 31337


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, help="default 4000 (400 with --partials)")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fresh-keys", action="store_true")
    ap.add_argument("--partials", action="store_true", help="POST /v0/delegate/partials")
    ap.add_argument("--keys", type=int, default=64, help="ephemeral keys per --partials request (default 64)")
    ap.add_argument("--csv")
    a = ap.parse_args()
    if a.requests is None:
        a.requests = 400 if a.partials else 4000
    if not 1 <= a.keys <= 1024:
        ap.error("--keys must be 1 to 1024")
    path = "/v0/delegate/partials" if a.partials else "/v0/delegate"
    metric = "nox_kms_partials_seconds" if a.partials else "nox_kms_delegation_seconds"

    work = tempfile.mkdtemp(prefix="nox-bench-kms-")
    subprocess.run([os.path.join(BIN, "noxctl"), "key", "new", "--out", os.path.join(work, "gw.key")],
                   check=True, capture_output=True)
    gw_key = open(os.path.join(work, "gw.key")).read().strip()
    gw_addr = subprocess.run([os.path.join(BIN, "noxctl"), "key", "address", os.path.join(work, "gw.key")],
                             check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(work, "kms.yaml"), "w") as f:
        f.write(f"listen: 127.0.0.1:0\nkey_file: k.key\nwallet_key_file: w.key\ncreate_if_missing: true\n"
                f"threads: {a.threads}\n"
                f"log_level: warn\nchains:\n  - chain_id: 31337\n    gateway_address: \"{gw_addr}\"\n")
    ready = os.path.join(work, "ready")
    kms = subprocess.Popen([os.path.join(BIN, "nox-kms"), "--config", os.path.join(work, "kms.yaml"),
                            "--ready-file", ready], stderr=open(os.path.join(work, "kms.log"), "w"))
    for _ in range(200):
        if os.path.exists(ready):
            break
        time.sleep(0.05)
    url = open(ready).read().strip()
    u = urllib.parse.urlparse(url)

    # Requests prepared up front, so the clients only send.
    n_keys = a.requests if a.fresh_keys else 1
    print(f"# preparing {n_keys} signed request(s)...", file=sys.stderr)
    requests, first = [], None
    for _ in range(min(n_keys, a.requests)):
        r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        target = "0x" + r.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).hex()
        if a.partials:
            ephs = [new_eph() for _ in range(a.keys)]
            body = json.dumps({"ephemeralPubKeys": ephs, "targetPubKey": target})
            sig = sign_partials(work, gw_key, ephs, target)
            if first is None:
                first = (r, ephs)
        else:
            eph = new_eph()
            body = json.dumps({"ephemeralPubKey": eph, "targetPubKey": target})
            sig = sign(work, gw_key, eph, target)
        requests.append((body, {"Authorization": "Bearer " + sig}))

    latencies, errors, lock = [], [0], threading.Lock()
    if a.partials:  # one request, untimed: the answer opens as the Runner opens it
        c = http.client.HTTPConnection(u.hostname, u.port)
        c.request("POST", f"{path}?chainId={CHAIN}", requests[0][0], requests[0][1])
        resp = c.getresponse()
        text = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"POST {path}: HTTP {resp.status}: {text[:300]!r}")
        check_envelope(json.loads(text), *first)
        c.close()

    def client(idx):
        c = http.client.HTTPConnection(u.hostname, u.port)
        mine = []
        for i in range(idx, a.requests, a.connections):
            body, hdr = requests[i % len(requests)]
            t0 = time.perf_counter()
            c.request("POST", f"{path}?chainId={CHAIN}", body, hdr)
            resp = c.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0

    metrics = urllib.request.urlopen(url + "/metrics").read().decode()
    value = lambda name: float(next(l for l in metrics.splitlines() if l.startswith(name)).split()[-1])
    server_mean_us = 1e6 * value(metric + "_sum") / value(metric + "_count")
    kms.terminate()
    kms.wait(timeout=10)
    subprocess.run(["rm", "-rf", work])

    latencies.sort()
    pct = lambda p: 1e3 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    row = {"requests": a.requests, "connections": a.connections, "server_threads": a.threads,
           "fresh_keys": int(a.fresh_keys), "seconds": round(elapsed, 3),
           "requests_per_s": round(a.requests / elapsed), "client_p50_ms": round(pct(0.50), 3),
           "client_p99_ms": round(pct(0.99), 3), "server_mean_us": round(server_mean_us), "errors": errors[0],
           "endpoint": path, "keys_per_request": a.keys if a.partials else 1,
           "keys_per_s": round(a.requests * (a.keys if a.partials else 1) / elapsed),
           "server_mean_us_per_key": round(server_mean_us / (a.keys if a.partials else 1), 1)}
    width = max(len(k) for k in row)
    for k, v in row.items():
        print(f"{k:<{width}}  {v}")
    header, values = ",".join(row), ",".join(str(v) for v in row.values())
    print(header)
    print(values)
    if a.csv:
        with open(a.csv, "w") as f:
            f.write(header + "\n" + values + "\n")
    return 1 if errors[0] else 0


if __name__ == "__main__":
    sys.exit(main())
