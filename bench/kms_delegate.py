#!/usr/bin/python3
"""Delegation throughput and latency of a real nox-kms over loopback.

usage: bench/kms_delegate.py [--requests N] [--connections C] [--threads T] [--fresh-keys] [--csv FILE]

Starts build/bin/nox-kms with fresh keys on a free port (T worker threads),
signs one DelegateAuthorization as the Gateway (with cast), and sends N
POST /v0/delegate over C keep-alive connections from Python threads.
Prints the client-side throughput and latency percentiles and the server's
own mean from its nox_kms_delegation_seconds histogram, as a table and as
CSV. --fresh-keys makes every request carry a new RSA key (the user
decryption path, where the parsed-key cache cannot help); by default every
request carries the same key, as a Runner's do.

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

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
CAST = os.path.join(ROOT, "build", "tools", "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast")


def sign(work, key, eph, target):
    data = noxtest.typed_data("DelegateAuthorization", [("ephemeralPubKey", "string"), ("targetPubKey", "string")],
                              noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": 31337},
                              {"ephemeralPubKey": eph, "targetPubKey": target})
    return noxtest.cast_sign(CAST, work, data, key)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fresh-keys", action="store_true")
    ap.add_argument("--csv")
    a = ap.parse_args()

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
    requests = []
    for _ in range(min(n_keys, a.requests)):
        k = ec.generate_private_key(ec.SECP256K1())
        eph = "0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.CompressedPoint).hex()
        r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        target = "0x" + r.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).hex()
        body = json.dumps({"ephemeralPubKey": eph, "targetPubKey": target})
        requests.append((body, {"Authorization": "Bearer " + sign(work, gw_key, eph, target)}))

    latencies, errors, lock = [], [0], threading.Lock()

    def client(idx):
        c = http.client.HTTPConnection(u.hostname, u.port)
        mine = []
        for i in range(idx, a.requests, a.connections):
            body, hdr = requests[i % len(requests)]
            t0 = time.perf_counter()
            c.request("POST", "/v0/delegate?chainId=31337", body, hdr)
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
    server_mean_us = 1e6 * value("nox_kms_delegation_seconds_sum") / value("nox_kms_delegation_seconds_count")
    kms.terminate()
    kms.wait(timeout=10)
    subprocess.run(["rm", "-rf", work])

    latencies.sort()
    pct = lambda p: 1e3 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    row = {"requests": a.requests, "connections": a.connections, "server_threads": a.threads,
           "fresh_keys": int(a.fresh_keys), "seconds": round(elapsed, 3),
           "requests_per_s": round(a.requests / elapsed), "client_p50_ms": round(pct(0.50), 3),
           "client_p99_ms": round(pct(0.99), 3), "server_mean_us": round(server_mean_us), "errors": errors[0]}
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
