#!/usr/bin/python3
"""nox-kms as a real process over loopback (spec §4.2, §8).

usage: kms_test.py NOX_KMS NOXCTL CAST

The Gateway's EIP-712 signatures are made by cast (an independent
implementation), the expected shared secret by Python's cryptography. The KMS serves over
mutual TLS (noxtest.pki: this test presents the Gateway's client certificate); the listener
rule (loopback or tls, allow_plaintext), the TLS key checks and log_format are checked too.
Prints one line per failed check and ends with "N passed, M failed".
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
from noxtest import check, http, is_error_shape, run, typed_data  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

NOX_KMS, NOXCTL, CAST = sys.argv[1:4]
CHAIN = 31337


def cast_sign(work, data, key):
    return noxtest.cast_sign(CAST, work, data, key)


def cast_verify(work, data, address, sig):
    return noxtest.cast_verify(CAST, work, data, address, sig)


def delegate_auth(eph_hex, target_hex):
    return typed_data("DelegateAuthorization", [("ephemeralPubKey", "string"), ("targetPubKey", "string")],
                      noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": CHAIN},
                      {"ephemeralPubKey": eph_hex, "targetPubKey": target_hex})


def delegate_batch_auth(ephs, target_hex):
    return typed_data("DelegateBatchAuthorization", [("ephemeralPubKeys", "string[]"), ("targetPubKey", "string")],
                      noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": CHAIN},
                      {"ephemeralPubKeys": ephs, "targetPubKey": target_hex})


def spki_hex(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "0x" + der.hex()


def start_kms(work, config_text, name="kms"):
    cfg = os.path.join(work, f"{name}.yaml")
    with open(cfg, "w") as f:
        f.write(config_text)
    ready = os.path.join(work, f"{name}.ready")
    log = open(os.path.join(work, f"{name}.log"), "w")
    proc = subprocess.Popen([NOX_KMS, "--config", cfg, "--ready-file", ready], stdout=log, stderr=log)
    for _ in range(200):
        if os.path.exists(ready) or proc.poll() is not None:
            break
        time.sleep(0.05)
    url = open(ready).read().strip() if os.path.exists(ready) else None
    return proc, url


def missing_keys(work, config, key_file, wallet_file):
    """A key file that does not exist stops start-up (exit 1) naming the file, its configuration key and the command
    that creates it, and nothing is created: a KMS replica that lost its key_file never serves a new key."""
    proc, url = start_kms(work, config, "nokey")
    rc = proc.wait(timeout=10)
    log = open(os.path.join(work, "nokey.log")).read()
    want = (f"key_file {key_file} does not exist; create it with `nox-kms keygen --out {key_file}` "
            "or set create_if_missing: true")
    check("a missing key_file stops start-up (exit 1) naming the file, the key and keygen",
          rc == 1 and url is None and want in log, log)
    check("... and creates no key file", not os.path.exists(key_file) and not os.path.exists(wallet_file),
          os.listdir(work))
    r = run(NOX_KMS, "keygen", "--out", key_file)
    proc, url = start_kms(work, config, "nowallet")
    rc = proc.wait(timeout=10)
    log = open(os.path.join(work, "nowallet.log")).read()
    check("a missing wallet_key_file stops start-up (exit 1) naming it",
          r.returncode == 0 and rc == 1 and url is None and
          f"wallet_key_file {wallet_file} does not exist; create it with `nox-kms keygen --out {wallet_file}`" in log, log)
    check("... and creates no wallet key file", not os.path.exists(wallet_file))
    os.remove(key_file)   # the next start creates both (create_if_missing: true)
    for name, value in [("a quoted boolean", '"yes"'), ("a number", "1")]:
        proc, url = start_kms(work, config + f"create_if_missing: {value}\n", "badbool")
        rc = proc.wait(timeout=10)
        log = open(os.path.join(work, "badbool.log")).read()
        check(f"create_if_missing: {name} stops start-up with file:line:col",
              rc == 1 and f"badbool.yaml:{config.count(chr(10)) + 1}:20: create_if_missing: expected true or false"
              in log
              and not os.path.exists(key_file), log)


def main():
    work = tempfile.mkdtemp(prefix="nox-kms-test-")
    gw_key_file, other_key_file = os.path.join(work, "gateway.key"), os.path.join(work, "other.key")
    run(NOXCTL, "key", "new", "--out", gw_key_file)
    run(NOXCTL, "key", "new", "--out", other_key_file)
    gw_key, other_key = open(gw_key_file).read().strip(), open(other_key_file).read().strip()
    gw_addr = run(NOXCTL, "key", "address", gw_key_file).stdout.strip()
    # over mutual TLS, as deployed: the KMS admits only the Gateway's client certificate (kms-clients/), which this
    # test, acting as the Gateway, presents
    pki = noxtest.pki(work)
    noxtest.use_tls(pki.ca, *pki.client("gateway"))
    base = (f"listen: 127.0.0.1:0\nkey_file: kms.key\nwallet_key_file: kms-wallet.key\nthreads: 4\n"
            f"chains:\n  - chain_id: {CHAIN}\n    gateway_address: \"{gw_addr}\"\n")
    tls_line = pki.server_yaml("kms", "gateway")
    config = base + tls_line

    key_file, wallet_file = os.path.join(work, "kms.key"), os.path.join(work, "kms-wallet.key")
    missing_keys(work, config, key_file, wallet_file)

    # create_if_missing: true: both keys created 0600 at the first start, said once, reused at the next
    proc, url = start_kms(work, config + "create_if_missing: true\n", "create")
    log = open(os.path.join(work, "create.log")).read()
    check("create_if_missing: true: starts", url is not None and proc.poll() is None, log[-2000:])
    if url is None:
        return
    check("create_if_missing: true: creates the protocol key file 0600",
          os.path.exists(key_file) and os.stat(key_file).st_mode & 0o777 == 0o600)
    check("create_if_missing: true: creates the wallet key file 0600",
          os.path.exists(wallet_file) and os.stat(wallet_file).st_mode & 0o777 == 0o600)
    check("create_if_missing: true: says so once per key, naming the file",
          log.count(f"key_file {key_file} did not exist: created a new protocol key") == 1 and
          log.count(f"wallet_key_file {wallet_file} did not exist: created a new wallet key") == 1, log[-2000:])
    _, first, _ = http("GET", f"{url}/v0/public-key?chainId={CHAIN}")
    proc.terminate()
    proc.wait(timeout=10)

    proc, url = start_kms(work, config)
    check("starts and writes its ready file (an https:// URL)", url is not None and proc.poll() is None and
          url.startswith("https://127.0.0.1:"), url)
    if url is None:
        print(open(os.path.join(work, "kms.log")).read())
        return
    _, again, _ = http("GET", f"{url}/v0/public-key?chainId={CHAIN}")
    check("the next start loads the created keys (same public key, nothing created)",
          first.get("publicKey") == again.get("publicKey") and "did not exist" not in
          open(os.path.join(work, "kms.log")).read(), f"{first} {again}")

    # /health and the public key with its proof, verified by cast against the KMS wallet address
    status, body, hdrs = http("GET", url + "/health")
    check("/health", status == 200 and body == {"status": "ok"}, f"{status} {body}")
    check("responses carry X-Request-Id", bool(hdrs.get("X-Request-Id")))
    status, body, _ = http("GET", f"{url}/v0/public-key?chainId={CHAIN}")
    check("public key answers", status == 200 and set(body) == {"publicKey", "proof"}, f"{status} {body}")
    pub_hex, proof = body["publicKey"], body["proof"]
    check("public key is compressed", len(pub_hex) == 68 and pub_hex[:4] in ("0x02", "0x03"), pub_hex)
    wallet_addr = run(NOXCTL, "key", "address", os.path.join(work, "kms-wallet.key")).stdout.strip()
    proof_data = typed_data("PublicKeyProof", [("publicKey", "string")],
                            noxtest.CHAIN_DOMAIN, {"name": "ProtocolPublicKey", "version": "1", "chainId": CHAIN},
                            {"publicKey": pub_hex})
    check("proof verifies (cast) for the KMS wallet", cast_verify(work, proof_data, wallet_addr, proof))
    check("proof does not verify for another address", not cast_verify(work, proof_data, gw_addr, proof))
    status, body, _ = http("GET", f"{url}/v0/public-key?chainId=5")
    check("unknown chain -> 400 unknown_chain", status == 400 and is_error_shape(body, "unknown_chain"), f"{status} {body}")

    # A real delegation: the x RSA-decrypted from the answer equals k·P computed independently
    kms_point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), bytes.fromhex(pub_hex[2:]))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    target = spki_hex(rsa_key)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)

    def delegation(eph_hex, target_hex, key=gw_key, chain=CHAIN, body=None, auth=None):
        sig = cast_sign(work, delegate_auth(eph_hex, target_hex), key)
        text = body if body is not None else json.dumps({"ephemeralPubKey": eph_hex, "targetPubKey": target_hex})
        headers = {"Content-Type": "application/json", "Authorization": auth if auth is not None else "Bearer " + sig}
        return http("POST", f"{url}/v0/delegate?chainId={chain}", text, headers)

    for i in range(3):
        k = ec.generate_private_key(ec.SECP256K1())
        eph = "0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.CompressedPoint).hex()
        status, body, _ = delegation(eph, target)
        ok = status == 200 and set(body) == {"encryptedSharedSecret"}
        x = rsa_key.decrypt(bytes.fromhex(body["encryptedSharedSecret"][2:]), oaep) if ok else b""
        check(f"delegation {i} returns RSA-OAEP(x) with x = k·P", ok and x == k.exchange(ec.ECDH(), kms_point),
              f"{status} {body}")
        check(f"delegation {i} answer is one RSA block", ok and len(body["encryptedSharedSecret"]) == 2 + 512)

    k = ec.generate_private_key(ec.SECP256K1())
    eph = "0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.CompressedPoint).hex()
    eph_uncompressed = "0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint).hex()
    small = spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    ec_spki = "0x" + k.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).hex()

    # Authentication
    status, body, _ = delegation(eph, target, key=other_key)
    check("signature by another key -> 401", status == 401 and is_error_shape(body, "unauthorized"), f"{status} {body}")
    status, body, _ = delegation(eph, target, auth="")
    check("no Authorization -> 401", status == 401 and is_error_shape(body, "unauthorized"), f"{status} {body}")
    status, body, _ = delegation(eph, target, auth="Bearer 0x1234")
    check("malformed Bearer -> 401", status == 401 and is_error_shape(body, "unauthorized"), f"{status} {body}")
    sig = cast_sign(work, delegate_auth(eph, target), gw_key)
    status, body, _ = http("POST", f"{url}/v0/delegate?chainId={CHAIN}",
                           json.dumps({"ephemeralPubKey": eph, "targetPubKey": target + "00"}),
                           {"Authorization": "Bearer " + sig})
    check("signature over other strings -> 401", status == 401 and is_error_shape(body, "unauthorized"), f"{status} {body}")

    # Each malformed input class gets its 4xx with the error shape (signed correctly, so validation is reached)
    cases = [
        ("uncompressed ephemeral key", eph_uncompressed, target),
        ("ephemeral key not on the curve", "0x02" + "00" * 31 + "05", target),
        ("ephemeral key not hex", "0x02" + "zz" * 32, target),
        ("RSA key under 2048 bits", eph, small),
        ("target not RSA (EC SPKI)", eph, ec_spki),
        ("target not SPKI", eph, "0x3082" + "00" * 20),
    ]
    for name, e, t in cases:
        status, body, _ = delegation(e, t)
        check(name + " -> 400", status == 400 and is_error_shape(body, "bad_request"), f"{status} {body}")
    for name, text in [("bad JSON", "{"), ("not an object", "[]"), ("missing targetPubKey", json.dumps({"ephemeralPubKey": eph})),
                       ("field not a string", json.dumps({"ephemeralPubKey": 5, "targetPubKey": target}))]:
        status, body, _ = delegation(eph, target, body=text)
        check(name + " -> 400", status == 400 and is_error_shape(body, "bad_request"), f"{status} {body}")
    for name, query in [("missing chainId", ""), ("chainId not a number", "?chainId=abc"), ("chainId 0", "?chainId=0")]:
        status, body, _ = http("POST", f"{url}/v0/delegate{query}", "{}", {"Authorization": "Bearer 0x" + "11" * 65})
        check(name + " -> 400", status == 400 and is_error_shape(body, "bad_request"), f"{status} {body}")
    status, body, _ = delegation(eph, target, chain=5)
    check("unknown chain -> 400 unknown_chain", status == 400 and is_error_shape(body, "unknown_chain"), f"{status} {body}")
    # the default max_body, 256 KiB: a POST /v0/delegate/partials of 1024 keys is ~75 KiB
    status, body, _ = http("POST", f"{url}/v0/delegate?chainId={CHAIN}", "x" * (256 * 1024 + 1), {"Authorization": "Bearer 0x"})
    check("body over 256 KiB (the default max_body) -> 413", status == 413 and "error" in body, f"{status}")
    status, body, _ = http("POST", f"{url}/v0/delegate/partials?chainId={CHAIN}", "x" * (256 * 1024 + 1),
                           {"Authorization": "Bearer 0x"})
    check("partials: body over 256 KiB -> 413", status == 413 and "error" in body, f"{status}")
    status, body, _ = http("GET", f"{url}/v0/delegate?chainId={CHAIN}")
    check("wrong method -> 405", status == 405 and "error" in body, f"{status} {body}")
    status, body, _ = http("GET", f"{url}/v0/nothing")
    check("unknown path -> 404", status == 404 and is_error_shape(body, "not_found"), f"{status} {body}")

    # POST /v0/delegate/batch (docs/PROTOCOL-EXTENSIONS.md §4), signed by cast over DelegateBatchAuthorization
    def batch(ephs, target_hex, key=gw_key, body=None, signed=None):
        sig = cast_sign(work, delegate_batch_auth(signed if signed is not None else ephs, target_hex), key)
        text = body if body is not None else json.dumps({"ephemeralPubKeys": ephs, "targetPubKey": target_hex})
        return http("POST", f"{url}/v0/delegate/batch?chainId={CHAIN}", text,
                    {"Content-Type": "application/json", "Authorization": "Bearer " + sig})

    ks = [ec.generate_private_key(ec.SECP256K1()) for _ in range(4)]
    ephs = ["0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.CompressedPoint).hex() for k in ks]
    status, body, _ = batch(ephs, target)
    secrets = body.get("encryptedSharedSecrets") if status == 200 and isinstance(body, dict) else None
    check("batch of 4 answers 4 secrets in order", isinstance(secrets, list) and len(secrets) == 4, f"{status} {body}")
    xs = [rsa_key.decrypt(bytes.fromhex(e[2:]), oaep) for e in secrets] if isinstance(secrets, list) else []
    check("batch: each secret is RSA-OAEP(x) with x = k_i·P", xs == [k.exchange(ec.ECDH(), kms_point) for k in ks])
    status, body, _ = batch(ephs, target, key=other_key)
    check("batch signed by another key -> 401", status == 401 and is_error_shape(body, "unauthorized"), f"{status} {body}")
    status, body, _ = batch(ephs, target, signed=list(reversed(ephs)))
    check("batch signed over another order -> 401", status == 401 and is_error_shape(body, "unauthorized"),
          f"{status} {body}")
    status, body, _ = batch([ephs[0], eph_uncompressed], target)
    check("batch with a bad key -> 400 naming it", status == 400 and is_error_shape(body, "bad_request")
          and "ephemeralPubKeys[1]" in body.get("message", ""), f"{status} {body}")
    status, body, _ = batch(ephs, small)
    check("batch to an RSA key under 2048 bits -> 400", status == 400 and is_error_shape(body, "bad_request"),
          f"{status} {body}")
    for name, text in [("empty list", json.dumps({"ephemeralPubKeys": [], "targetPubKey": target})),
                       ("not a list", json.dumps({"ephemeralPubKeys": ephs[0], "targetPubKey": target})),
                       ("a key not a string", json.dumps({"ephemeralPubKeys": [5], "targetPubKey": target})),
                       ("over 1024 keys", json.dumps({"ephemeralPubKeys": ["0x02"] * 1025, "targetPubKey": target}))]:
        status, body, _ = batch([], target, body=text)
        check(f"batch: {name} -> 400", status == 400 and is_error_shape(body, "bad_request"), f"{status} {body}")

    # Metrics: requests by route and status, the delegation latency histogram
    status, text, _ = http("GET", url + "/metrics")
    check("/metrics answers", status == 200 and isinstance(text, str), f"{status}")
    text = text if isinstance(text, str) else ""
    check("/metrics counts delegations by status",
          'nox_kms_http_requests_total{route="/v0/delegate",method="POST",status="200"} 3' in text, text[:2000])
    check("/metrics has the delegation histogram", "nox_kms_delegation_seconds_bucket{le=" in text
          and "nox_kms_delegation_seconds_count" in text)
    check("/metrics has the batch histogram", "nox_kms_delegation_batch_seconds_count 9" in text, text[-3000:])

    # Graceful shutdown, and no secret in the log
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    check("SIGTERM stops it cleanly", rc == 0, f"rc {rc}")
    log = open(os.path.join(work, "kms.log")).read()
    secrets = [open(key_file).read().strip()[2:], open(os.path.join(work, "kms-wallet.key")).read().strip()[2:]]
    logs = log + "".join(open(os.path.join(work, f)).read() for f in ("create.log", "nokey.log", "nowallet.log"))
    check("no private key in the logs", not any(s in logs for s in secrets))
    check("access log lines were written", "/v0/delegate" in log and "shutting down" in log)

    # Start-up refusals: a loose key file mode, a malformed key, a bad configuration
    os.chmod(key_file, 0o644)
    proc, url = start_kms(work, config, "loose")
    rc = proc.wait(timeout=10)
    log = open(os.path.join(work, "loose.log")).read()
    check("a key file readable by others stops start-up", rc != 0 and "chmod 600" in log and url is None, log)
    os.chmod(key_file, 0o600)
    with open(os.path.join(work, "bad.key"), "w") as f:
        f.write("0x1234\n")
    os.chmod(os.path.join(work, "bad.key"), 0o600)
    proc, url = start_kms(work, config.replace("key_file: kms.key", "key_file: bad.key"), "badkey")
    rc = proc.wait(timeout=10)
    check("a malformed key stops start-up", rc != 0 and "64 hex digits" in open(os.path.join(work, "badkey.log")).read())
    proc, url = start_kms(work, config + "colour: red\n", "badcfg")
    rc = proc.wait(timeout=10)
    log = open(os.path.join(work, "badcfg.log")).read()
    check("an unknown config key stops start-up with file:line:col",
          rc != 0 and f"badcfg.yaml:{config.count(chr(10)) + 1}:1: unknown key 'colour'" in log, log)
    for name, text, needle in [
        ("a chain configured twice", base + f"  - chain_id: {CHAIN}\n    gateway_address: \"{gw_addr}\"\n" + tls_line,
         "dup.yaml:8:15: chains[1].chain_id: chain 31337 is configured twice"),
        ("a bad gateway address", config.replace(gw_addr, "0x1234"), "addr.yaml:7:22: chains[0].gateway_address"),
        ("an unset ${VAR}", config.replace(f'"{gw_addr}"', '"${NOX_TEST_UNSET_GATEWAY}"'),
         "env.yaml:7:22: environment variable NOX_TEST_UNSET_GATEWAY is not set"),
        ("threads out of range", config.replace("threads: 4", "threads: 0"), "range.yaml:4:10: threads: expected an integer in [1, 256]"),
        ("request_timeout_s out of range", config.replace("threads: 4", "threads: 4\nrequest_timeout_s: 0"),
         "rto.yaml:5:20: request_timeout_s: expected an integer in [1, 3600]"),
    ]:
        tag = needle.split(".yaml")[0]
        proc, url = start_kms(work, text, tag)
        rc = proc.wait(timeout=10)
        log = open(os.path.join(work, f"{tag}.log")).read()
        check(f"{name} stops start-up with file:line:col", rc != 0 and needle in log, log)
    # request_timeout_s from the YAML: a client trickling its header (never idle for a second) is closed after 2 s
    proc, url = start_kms(work, config.replace("threads: 4", "threads: 4\nrequest_timeout_s: 2"), "trickle")
    closed_after = None
    if url:
        closed_after, _ = noxtest.trickle(url, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: "
                                          + b"a" * 40 + b"\r\n\r\n", 0.25)
    check("request_timeout_s: 2 closes a trickling client after 2 s", closed_after is not None and 1.9 <= closed_after <= 3.5,
          closed_after)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)
    r = run(NOX_KMS, "keygen", "--out", os.path.join(work, "made.key"))
    check("keygen writes a 0600 key and prints its public key",
          r.returncode == 0 and r.stdout.startswith("public key: 0x0")
          and os.stat(os.path.join(work, "made.key")).st_mode & 0o777 == 0o600, r.stdout + r.stderr)
    listener_rules(work, base, pki)
    json_log(work, config, gw_key)
    noxtest.keep_or_remove(work)


def refused_start(work, text, tag):
    """Starts the KMS with configuration `text` as work/<tag>.yaml, expecting a refusal: (exit status, log)."""
    proc, url = start_kms(work, text, tag)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    return (rc if url is None else f"started ({url}), rc {rc}"), open(os.path.join(work, f"{tag}.log")).read()


def started(work, text, tag):
    """Starts the KMS with `text`; (proc, url, GET /health on 127.0.0.1 of its port); the caller stops proc."""
    proc, url = start_kms(work, text, tag)
    health = None
    if url:
        scheme = url.split(":", 1)[0]
        health = http("GET", f"{scheme}://127.0.0.1:{noxtest.url_port(url)}/health")[:2]
    return proc, url, health


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def listener_rules(work, base, pki):
    """The listener rule (core/net/service.c): a listen address off loopback needs tls, unless allow_plaintext: true
    says it knowingly; a tls key file readable by others, or one that is not the certificate's, stops start-up."""
    line_of = lambda text, key: text[:text.index(key)].count("\n") + 1
    open_base = base.replace("listen: 127.0.0.1:0", "listen: 0.0.0.0:0")
    rc, log = refused_start(work, open_base, "open")
    check("listen: 0.0.0.0:0 without tls stops start-up (exit 1) at file:line:col, naming the fix",
          rc == 1 and "open.yaml:1:9: listen: 0.0.0.0:0 is not a loopback address and there is no tls" in log
          and "allow_plaintext: true" in log, (rc, log[-800:]))
    proc, url, health = started(work, base, "loopback")
    check("... while a loopback listen without tls starts, in plaintext (http://)",
          url is not None and url.startswith("http://127.0.0.1:") and health == (200, {"status": "ok"}), (url, health))
    stop(proc)
    proc, url, health = started(work, open_base.replace("listen: 0.0.0.0:0\n", "listen: 0.0.0.0:0\nallow_plaintext: true\n"),
                                "plaintext")
    check("listen: 0.0.0.0:0 with allow_plaintext: true starts, in plaintext",
          url is not None and url.startswith("http://0.0.0.0:") and health == (200, {"status": "ok"}), (url, health))
    stop(proc)
    proc, url, health = started(work, open_base + pki.server_yaml("kms", "gateway"), "open-tls")
    check("listen: 0.0.0.0:0 with tls starts, over https", url is not None and url.startswith("https://0.0.0.0:")
          and health == (200, {"status": "ok"}), (url, health))
    stop(proc)
    proc, url, health = started(work, open_base + "allow_plaintext: yes\n", "badplain")
    stop(proc)
    log = open(os.path.join(work, "badplain.log")).read()
    check("allow_plaintext: not a boolean stops start-up at file:line:col", url is None and
          f"badplain.yaml:{open_base.count(chr(10)) + 1}:18: allow_plaintext: expected true or false" in log, log[-600:])

    cert, key = pki.server("kms")
    loose = os.path.join(work, "loose-tls.key")
    with open(key) as f, open(loose, "w") as g:
        g.write(f.read())
    os.chmod(loose, 0o644)
    text = base + f"tls: {{cert_file: {cert}, key_file: {loose}}}\n"
    rc, log = refused_start(work, text, "loose-tls")
    check("a tls key file of mode 0644 stops start-up at file:line:col, naming the file and chmod 600",
          rc == 1 and f"loose-tls.yaml:{line_of(text, 'tls:')}:6: tls.key_file: TLS key file {loose} has mode 0644"
          in log and f"chmod 600 {loose}" in log, (rc, log[-800:]))
    os.chmod(loose, 0o600)
    proc, url, health = started(work, text, "tight-tls")
    check("... the same key file at mode 0600 starts", url is not None and health == (200, {"status": "ok"}),
          (url, health, open(os.path.join(work, "tight-tls.log")).read()[-600:]))
    stop(proc)
    other_cert = pki.server("gateway")[0]
    text = base + f"tls: {{cert_file: {other_cert}, key_file: {key}}}\n"
    rc, log = refused_start(work, text, "mismatch")
    check("a tls key that is not the certificate's stops start-up at file:line:col: 'does not match'",
          rc == 1 and f"mismatch.yaml:{line_of(text, 'tls:')}:6: tls.key_file {key} does not match the certificate in "
          f"tls.cert_file {other_cert}" in log, (rc, log[-800:]))
    text = base + f"tls: {{key_file: {key}}}\n"
    rc, log = refused_start(work, text, "halftls")
    check("tls with a key_file but no cert_file stops start-up at file:line:col",
          rc == 1 and f"halftls.yaml:{line_of(text, 'tls:')}:6: " in log and "go together" in log, (rc, log[-800:]))


def json_log(work, config, gw_key):
    """log_format: json: every line of the log one JSON object {time, service, level, message} (quotes, backslashes
    and control characters escaped); log_format: yaml refused at file:line:col."""
    text = config + "log_format: yaml\n"
    rc, log = refused_start(work, text, "yamllog")
    check("log_format: yaml stops start-up at file:line:col", rc == 1 and
          f"yamllog.yaml:{config.count(chr(10)) + 1}:13: log_format: expected text or json" in log, (rc, log[-600:]))
    proc, url = start_kms(work, config + "log_format: json\n", "jsonlog")
    check("log_format: json starts", url is not None, open(os.path.join(work, "jsonlog.log")).read()[-800:])
    if url is None:
        return
    # some traffic that logs: answers, refusals, a path with a quote, a backslash and a tab (escaped by the log)
    http("GET", url + "/health")
    http("GET", f"{url}/v0/public-key?chainId={CHAIN}")
    http("POST", f"{url}/v0/delegate?chainId={CHAIN}", "{}", {"Authorization": "Bearer 0x12"})
    http("POST", f"{url}/v0/delegate?chainId={CHAIN}", "{}", client_cert=False)
    s = noxtest.connect(url)
    s.sendall(b'GET /v0/a"b\\c\td HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
    stop(proc)
    lines = open(os.path.join(work, "jsonlog.log")).read().splitlines()
    bad, objs = [], []
    for ln in lines:
        try:
            o = json.loads(ln)
        except ValueError:
            bad.append(ln)
            continue
        if not (isinstance(o, dict) and set(o) == {"time", "service", "level", "message"} and
                all(isinstance(v, str) for v in o.values())):
            bad.append(ln)
        else:
            objs.append(o)
    check(f"log_format: json: every one of the {len(lines)} lines is a JSON object with exactly time, service, level "
          "and message", len(lines) >= 5 and not bad, bad[:5] or lines)
    check("log_format: json: service 'kms', levels of the four, times ISO 8601 UTC",
          objs and all(o["service"] == "kms" and o["level"] in ("error", "warn", "info", "debug") and
                       o["time"].endswith("Z") and "T" in o["time"] for o in objs), objs[:3])
    msgs = [o["message"] for o in objs]
    check("log_format: json: the start-up, the access log and the shutdown are in it",
          any(m.startswith("listening on https://") for m in msgs) and any("/v0/delegate" in m for m in msgs) and
          any("shutting down" in m for m in msgs), msgs)
    # the access log writes the path's quote, backslash and tab as \\xNN, and quotes its message: the JSON layer
    # must escape those backslashes and quotes for the line to come back as written
    check("log_format: json: an access log line with backslashes and quotes comes back intact from the JSON",
          any('path=/v0/a\\x22b\\x5cc\\x09d status=404' in m and 'message="no such path"' in m for m in msgs),
          [m for m in msgs if "/v0/a" in m])


try:
    main()
finally:
    status = noxtest.summary()
sys.exit(status)
