#!/usr/bin/python3
"""nox-gateway as a real process (spec §7) with a real PostgreSQL, a real nox-kms and anvil + NoxCompute.

usage: gateway_test.py NOX_GATEWAY NOX_KMS NOXCTL CAST CONTRACTS_DIR

Runner and user EIP-712 authorizations are signed by cast (an independent implementation); the test
decrypts what the Gateway hands out with Python's cryptography (RSA-OAEP, HKDF, AES-GCM, spec §4.1-4.2).
Every hop over TLS (noxtest.pki): the KMS admits the Gateway's client certificate, the Gateway's Runner
endpoints the Runners' (which this test presents); mutual_tls() attacks both without, or with the wrong,
certificate.
Prints one line per failed check and ends with "N passed, M failed".
"""
import base64
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402
import noxthreshold  # noqa: E402
from noxtest import check, http, is_error_shape, run, typed_data  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NOX_GATEWAY, NOX_KMS, NOXCTL, CAST, CONTRACTS = sys.argv[1:6]
noxtest.NOX_KMS = NOX_KMS
CHAIN = 31337
ROOT = noxtest.ROOT
DEPLOYER, RUNNER, STRANGER = noxtest.ANVIL_KEYS


def address_of(key):
    return run(CAST, "wallet", "address", "--private-key", key).stdout.strip()


def spki_hex(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "0x" + der.hex()


def hkdf(x):
    return HKDF(hashes.SHA256(), 32, b"\0" * 32, b"ECIES:AES_GCM:v1").derive(x)


def unwrap(rsa_key, item, answer=None):
    """Decrypts one value of an answer from t KMS partials (docs/PROTOCOL-EXTENSIONS.md §11)."""
    return noxthreshold.decrypt(rsa_key, item if answer is None else answer, item)


def ecies_encrypt(kms_pub_hex, plain):
    """ECIES to the KMS key as a Runner would (spec §4.1): (ciphertext, K, nonce) as 0x hex."""
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), bytes.fromhex(kms_pub_hex[2:]))
    k = ec.generate_private_key(ec.SECP256K1())
    x = k.exchange(ec.ECDH(), pub)
    nonce = os.urandom(12)
    ct = AESGCM(hkdf(x)).encrypt(nonce, plain, None)
    kpub = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return "0x" + ct.hex(), "0x" + kpub.hex(), "0x" + nonce.hex()


def eip712_header(work, data, payload, key):
    sig = noxtest.cast_sign(CAST, work, data, key)
    return {"Authorization": "EIP712 " + base64.b64encode(json.dumps({"payload": payload, "signature": sig}).encode()).decode()}


OPERAND_FIELDS = [("chainId", "uint256"), ("blockNumber", "uint256"), ("caller", "address"),
                  ("transactionHash", "string"), ("operands", "string[]"), ("rsaPublicKey", "string")]
RESULT_FIELDS = OPERAND_FIELDS[:4]
RUNNER_DOMAIN = {"name": "Handle Gateway", "version": "1", "chainId": CHAIN}  # spec §4.4 (legacy forms)
TX = "0x" + "ab" * 32
GW = {}            # "address": the Gateway's wallet, which the bound authorizations name (set by main)
ZERO_DIGEST = (1, "0x" + "00" * 32)  # for a body the Gateway refuses before it digests it (400)

# ---- the Runner's authorizations: the bound forms of docs/PROTOCOL-EXTENSIONS.md §7 (cast signs, cast digests)


def head(tx=TX, win=None):
    nb, ex = win or noxtest.window()
    return {"chainId": CHAIN, "blockNumber": 7, "caller": "0x" + "11" * 20, "transactionHash": tx,
            "notBefore": nb, "expiresAt": ex}


def operand_doc(work, handles, rsa_hex, key=RUNNER, tx=TX, win=None, gateway=None):
    p = dict(head(tx, win), operands=handles, rsaPublicKey=rsa_hex)
    return noxtest.bound_auth(CAST, work, key, gateway or GW["address"], "OperandAccessAuthorizationV2", p)


def operand_auth(work, handles, rsa_hex, key=RUNNER, **kw):
    return noxtest.auth_header(operand_doc(work, handles, rsa_hex, key, **kw))


def operand_entry(work, handles, rsa_hex, key=RUNNER, tx=TX, **kw):
    """One {payload, signature} of POST /v0/compute/operands/batch (docs/PROTOCOL-EXTENSIONS.md §4)."""
    return operand_doc(work, handles, rsa_hex, key, tx, **kw)


def result_doc(work, results=None, key=RUNNER, tx=TX, win=None, gateway=None, counted=None):
    """ResultPublishingAuthorizationV2 over `results` (count and digest by cast), or `counted` = (count, digest)."""
    n, d = counted or (noxtest.results_digest(CAST, results) if results is not None else ZERO_DIGEST)
    p = dict(head(tx, win), resultCount=n, resultsDigest=d)
    return noxtest.bound_auth(CAST, work, key, gateway or GW["address"], "ResultPublishingAuthorizationV2", p)


def result_auth(work, results=None, key=RUNNER, **kw):
    return noxtest.auth_header(result_doc(work, results, key, **kw))


def failure_doc(work, records=None, key=RUNNER, tx=TX, win=None, gateway=None, counted=None):
    """FailureRecordingAuthorization over `records` (count and digest by cast), or `counted`."""
    n, d = counted or (noxtest.records_digest(CAST, records) if records is not None else ZERO_DIGEST)
    p = dict(head(tx, win), recordCount=n, recordsDigest=d)
    return noxtest.bound_auth(CAST, work, key, gateway or GW["address"], "FailureRecordingAuthorization", p)


def failure_auth(work, records=None, key=RUNNER, **kw):
    return noxtest.auth_header(failure_doc(work, records, key, **kw))


# ---- spec §4.4's forms: accepted only with accept_legacy_authorizations: true


def legacy_operand_doc(work, handles, rsa_hex, key=RUNNER, tx=TX):
    p = {"chainId": CHAIN, "blockNumber": 7, "caller": "0x" + "11" * 20, "transactionHash": tx,
         "operands": handles, "rsaPublicKey": rsa_hex}
    sig = noxtest.cast_sign(CAST, work, typed_data("OperandAccessAuthorization", OPERAND_FIELDS, noxtest.CHAIN_DOMAIN,
                                                   RUNNER_DOMAIN, p), key)
    return {"payload": p, "signature": sig}


def legacy_result_doc(work, key=RUNNER, tx=TX):
    p = {"chainId": CHAIN, "blockNumber": 7, "caller": "0x" + "11" * 20, "transactionHash": tx}
    sig = noxtest.cast_sign(CAST, work, typed_data("ResultPublishingAuthorization", RESULT_FIELDS,
                                                   noxtest.CHAIN_DOMAIN, RUNNER_DOMAIN, p), key)
    return {"payload": p, "signature": sig}


def user_auth(work, nox_compute, user_key, rsa_hex, not_before, expires_at, signer=None):
    p = {"userAddress": address_of(user_key), "encryptionPubKey": rsa_hex, "notBefore": not_before,
         "expiresAt": expires_at}
    domain = {"name": "Handle Gateway", "version": "1", "chainId": CHAIN, "verifyingContract": nox_compute}
    data = typed_data("DataAccessAuthorization", [("userAddress", "address"), ("encryptionPubKey", "string"),
                                                  ("notBefore", "uint256"), ("expiresAt", "uint256")],
                      noxtest.CHAIN_DOMAIN + [("verifyingContract", "address")], domain, p)
    return eip712_header(work, data, p, signer or user_key)


def start_gateway(work, cfg_text, name="gateway"):
    cfg = os.path.join(work, name + ".yaml")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    return noxtest.start_ready(name, [NOX_GATEWAY, "--config", cfg], work, timeout=30)


def all_fixed_types():
    """(type name, plaintext hex) for every fixed-size type of spec §3, values from a fixed seed."""
    import random
    rnd = random.Random(7)
    hexof = lambda n: bytes(rnd.getrandbits(8) for _ in range(n)).hex()
    out = [("bool", "01"), ("address", hexof(20))]
    out += [(f"uint{8 * k}", hexof(k)) for k in range(1, 33)]
    out += [(f"int{8 * k}", hexof(k)) for k in range(1, 33)]
    out += [(f"bytes{k}", hexof(k)) for k in range(1, 33)]
    out += [(f"{s}{b}", hexof(b // 8)) for s in ("uint", "int") for b in (512, 1024, 2048)]
    return out


SAMPLES = all_fixed_types()  # 104 types: encrypted one by one, read back in ONE operands request


def main():
    work = tempfile.mkdtemp(prefix="gateway-test-")
    servers, pg = [], None
    try:
        # every hop over TLS, as deployed: the KMS admits the Gateway's client certificate (kms-clients/), the
        # Gateway's Runner endpoints the Runners' (runner-clients/), which this test, acting as the Runner, presents
        pki = noxtest.pki(work)
        noxtest.use_tls(pki.ca, *pki.client("runner"))
        b = noxtest.gateway_backends(work, servers, NOXCTL, CAST, CONTRACTS, DEPLOYER, CHAIN, pki=pki)
        gw_addr, pg, kms, kms_addr, anvil = b["gw_addr"], b["pg"], b["kms"], b["kms_addr"], b["anvil"]
        noxtest.use_tls(pki.ca, *pki.client("runner"), by_url={kms.url: pki.client("gateway")})
        pk = {"publicKey": b["kms_public_key"]}
        dep = b["deployment"]
        nox, token = dep["noxCompute"], dep["confidentialToken"]
        GW["address"] = gw_addr
        gw_cfg = f"""listen: 127.0.0.1:0
{pki.server_yaml("gateway", "runner")}database_url: "{pg.url}"
kms_url: {kms.url}
{pki.client_yaml("kms_tls", "gateway")}kms_address: "{kms_addr}"
wallet_key_file: gateway-wallet.key
runner_addresses: ["{address_of(RUNNER)}"]
default_chain_id: {CHAIN}
threads: 4
max_body: 65536
log_level: info
chains:
  - chain_id: {CHAIN}
    rpc_url: {anvil.url}
    nox_compute: "{nox}"
"""
        gw = start_gateway(work, gw_cfg)
        servers.append(gw)
        check("the Gateway serves https:// (its ready file)", gw.url.startswith("https://127.0.0.1:"), gw.url)
        bad_config(work, gw_cfg)
        run_tests(work, gw, gw_addr, nox, token, anvil, pk["publicKey"])
        mutual_tls(work, gw, kms, pki, gw_cfg, nox, token, anvil, servers)
        bound_authorizations(work, gw, gw_cfg, pk["publicKey"], servers)
        survive_postgres_restart(gw, pg)
        log = open(gw.log_path).read()
        check("start-up cross-check of NoxCompute found no mismatch", "MISMATCH" not in log and "not checked" not in log, log[-1000:])
        check("no plaintext in the log", all(v not in log.lower() for _, v in SAMPLES if len(v) >= 16))
        check("nox-gateway exits cleanly on SIGTERM", gw.stop() == 0, open(gw.log_path).read()[-2000:])
    finally:
        for s in reversed(servers):
            s.stop()
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    return noxtest.summary()


def no_http_answer(url):
    """What a plaintext HTTP/1.1 request to url's host and port gets back within 5 s (bytes; b"" when it is closed)."""
    import socket
    import urllib.parse
    u = urllib.parse.urlparse(url)
    got = b""
    with socket.create_connection((u.hostname, u.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        try:
            while len(got) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
    return got


def mutual_tls(work, gw, kms, pki, gw_cfg, nox, token, anvil, servers):
    """Mutual TLS in front of the signatures (the [transport] issue): the Gateway's Runner endpoints and the KMS's
    delegation answer 401 `unauthorized` to a client without a certificate of their client CA, whatever its
    Authorization; with one, the usual signature checks follow; the user endpoints need none; plaintext HTTP to a TLS
    port gets no HTTP answer."""
    mtls = "this endpoint requires mutual TLS"
    other = pki.make_client("other-clients", "runner")     # same name, another CA
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rk_hex = spki_hex(rk)
    st, body, _ = post_secret(gw, {"value": "0x05", "solidityType": "uint8", "owner": "0x" + "33" * 20,
                                   "applicationContract": "0x" + "44" * 20})
    stored = body.get("handle") if isinstance(body, dict) else None
    check("mutual TLS: a user input stored for the checks", st == 200 and stored, (st, body))
    good_auth = operand_auth(work, [stored], rk_hex)       # a valid Runner authorization, signed by the Runner's key
    ops = lambda hdr, cert=True: http("GET", gw.url + "/v0/compute/operands", headers=hdr, client_cert=cert)
    st, body, _ = ops(good_auth)
    check("mutual TLS: the Runner's certificate and a valid authorization -> 200 (the control)",
          st == 200 and [unwrap(rk, o, body) for o in body.get("operands", [])] == [b"\x05"], f"{st} {body}"[:300])
    for name, hdr in [("a valid authorization", good_auth), ("no Authorization", {}),
                      ("a malformed Authorization", {"Authorization": "EIP712 !!!"})]:
        st, body, _ = ops(hdr, cert=False)
        check(f"mutual TLS: GET /v0/compute/operands without a client certificate, {name} -> 401 naming mutual TLS "
              "(the signature is not looked at)", st == 401 and is_error_shape(body, "unauthorized") and
              mtls in body["message"], f"{st} {body}"[:300])
        st, body, _ = ops(hdr, cert=other)
        check(f"mutual TLS: GET /v0/compute/operands with a certificate of another CA, {name} -> 401 naming mutual "
              "TLS", st == 401 and is_error_shape(body, "unauthorized") and mtls in body["message"], f"{st} {body}"[:300])
    st, body, _ = http("POST", gw.url + "/v0/compute/results", "[]", result_auth(work), client_cert=False)
    check("mutual TLS: POST /v0/compute/results without a client certificate -> 401 naming mutual TLS",
          st == 401 and is_error_shape(body, "unauthorized") and mtls in body["message"], f"{st} {body}"[:300])
    st, body, _ = ops({})
    check("mutual TLS: the Runner's certificate without Authorization -> the usual 401 about the signature",
          st == 401 and is_error_shape(body, "unauthorized") and mtls not in body["message"] and
          "Authorization" in body["message"], f"{st} {body}"[:300])
    st, body, _ = ops({"Authorization": "EIP712 !!!"})
    check("mutual TLS: the Runner's certificate with a malformed Authorization -> the usual 401 (TLS is in addition "
          "to the signature)", st == 401 and is_error_shape(body, "unauthorized") and mtls not in body["message"],
          f"{st} {body}"[:300])
    st, body, _ = ops(operand_auth(work, [stored], rk_hex, STRANGER))
    check("mutual TLS: the Runner's certificate with a stranger's signature -> 401 not from a configured Runner",
          st == 401 and "not from a configured Runner" in body.get("message", ""), f"{st} {body}"[:300])

    # the user endpoints need no client certificate
    st, body, _ = http("POST", gw.url + "/v0/secrets", json.dumps({"value": "0x06", "solidityType": "uint8",
                                                                    "owner": "0x" + "33" * 20,
                                                                    "applicationContract": "0x" + "44" * 20}),
                       {"Content-Type": "application/json"}, client_cert=False)
    check("mutual TLS: POST /v0/secrets without a client certificate -> 200 (a user endpoint)",
          st == 200 and "handle" in body, f"{st} {body}"[:300])
    st, body, _ = http("GET", gw.url + f"/v0/handles/{stored}/status", client_cert=False)
    check("mutual TLS: GET /v0/handles/{h}/status and /health without a client certificate -> 200",
          st == 200 and body.get("status") == "stored" and http("GET", gw.url + "/health", client_cert=False)[0] == 200,
          f"{st} {body}")
    st, body, _ = http("GET", gw.url + f"/v0/secrets/{stored}", client_cert=False)
    check("mutual TLS: GET /v0/secrets/{h} without a client certificate reaches its own check (401 about the user's "
          "authorization, not mutual TLS)", st == 401 and mtls not in body.get("message", ""), f"{st} {body}"[:300])

    # the KMS: delegation only for the Gateway's certificate (kms-clients/), even signed by the Gateway's wallet
    gw_key = open(os.path.join(work, "gateway-wallet.key")).read().strip()
    k = ec.generate_private_key(ec.SECP256K1())
    eph = "0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.CompressedPoint).hex()
    auth = typed_data("DelegateAuthorization", [("ephemeralPubKey", "string"), ("targetPubKey", "string")],
                      noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": CHAIN},
                      {"ephemeralPubKey": eph, "targetPubKey": rk_hex})
    hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + noxtest.cast_sign(CAST, work, auth, gw_key)}
    delegate = lambda cert: http("POST", f"{kms.url}/v0/delegate?chainId={CHAIN}",
                                 json.dumps({"ephemeralPubKey": eph, "targetPubKey": rk_hex}), hdr, client_cert=cert)
    st, body, _ = delegate(pki.client("gateway"))
    check("mutual TLS: the KMS's POST /v0/delegate with the Gateway's certificate and signature -> 200 (the control)",
          st == 200 and "encryptedSharedSecret" in body, f"{st} {body}"[:300])
    for name, cert in [("the Runner's certificate (another CA's)", pki.client("runner")), ("no certificate", False)]:
        st, body, _ = delegate(cert)
        check(f"mutual TLS: the KMS's POST /v0/delegate with {name}, signed by the Gateway's wallet -> 401 naming "
              "mutual TLS", st == 401 and is_error_shape(body, "unauthorized") and mtls in body["message"],
              f"{st} {body}"[:300])
    st, body, _ = http("GET", f"{kms.url}/v0/public-key?chainId={CHAIN}", client_cert=False)
    check("mutual TLS: the KMS's GET /v0/public-key without a client certificate -> 200 (public)",
          st == 200 and "publicKey" in body, f"{st} {body}"[:300])

    # a Gateway whose kms_tls has no client certificate cannot have users' values delegated
    user = address_of(STRANGER)
    bal = run(CAST, "call", token, "balanceOf(address)(bytes32)", user, "--rpc-url", anvil.url).stdout.strip()
    now = int(time.time())
    uk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hdr = user_auth(work, nox, STRANGER, spki_hex(uk), now - 10, now + 600)
    st, body, _ = http("GET", gw.url + "/v0/secrets/" + bal, headers=hdr)
    check("mutual TLS: a viewer decrypts through the Gateway (its certificate admitted by the KMS: the control)",
          st == 200 and unwrap(uk, body) == (1234).to_bytes(8, "big"), f"{st} {body}"[:300])
    nocert = start_gateway(work, gw_cfg.replace(pki.client_yaml("kms_tls", "gateway"), pki.client_yaml("kms_tls")),
                           "gateway-nocert")
    servers.append(nocert)
    st, body, _ = http("GET", nocert.url + "/v0/secrets/" + bal, headers=hdr)
    check("mutual TLS: a Gateway without its client certificate for the KMS gets no delegation (5xx, nothing "
          "decrypted)", st >= 500 and "delegations" not in body, f"{st} {body}"[:300])
    check("... the KMS's refusal is in that Gateway's log", "mutual TLS" in nocert.log() or "401" in nocert.log(),
          nocert.log()[-1500:])
    nocert.stop()

    # plaintext HTTP to a TLS port: no HTTP answer (a TLS alert or a closed connection)
    for name, url in (("the Gateway", gw.url), ("the KMS", kms.url)):
        got = no_http_answer(url)
        check(f"plaintext http:// to {name}'s TLS port gets no HTTP answer", not got.startswith(b"HTTP/"), got[:80])
        try:
            st = http("GET", "http://" + url.split("://", 1)[1] + "/health", timeout=5)[0]
        except Exception as e:  # noqa: BLE001 (a closed connection, a reset, a bad status line)
            st = type(e).__name__
        check(f"... urllib over http:// to {name} gets no status", not isinstance(st, int), st)


def bad_config(work, good):
    cfg = os.path.join(work, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("listen: 127.0.0.1:0\nthreads: lots\n")
    r = run(NOX_GATEWAY, "--config", cfg)
    check("a bad configuration stops start-up with file:line:col", r.returncode == 1 and
          re.search(r"bad\.yaml:\d+:\d+: ", r.stderr + r.stdout) is not None,
          r.stderr)
    with open(cfg, "w") as f:
        f.write(good + "accept_legacy_authorizations: sometimes\n")
    r = run(NOX_GATEWAY, "--config", cfg)
    want = f"bad.yaml:{good.count(chr(10)) + 1}:31: accept_legacy_authorizations: expected true or false"
    check("accept_legacy_authorizations: not a boolean -> start-up refused at file:line:col", r.returncode == 1 and
          want in r.stderr + r.stdout, r.stderr + r.stdout)


def metric(url, name):
    st, body, _ = http("GET", url + "/metrics")
    for line in str(body).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def refused(name, resp, *needles):
    """A 401 unauthorized whose message holds every needle (the rule that failed)."""
    st, body, _ = resp
    return check(f"{name} -> 401 naming the rule", st == 401 and is_error_shape(body, "unauthorized") and
                 all(n in body["message"] for n in needles), f"{st} {body}"[:500])


def bound_authorizations(work, gw, gw_cfg, kms_pub, servers):
    """The Runner's authorizations bound to their content and to time (docs/PROTOCOL-EXTENSIONS.md §7): every
    refusal with its 401 reason, single and batched; a replay inside the window is `unchanged`; the spec §4.4
    forms only at a Gateway with accept_legacy_authorizations: true; a header for this Gateway is refused by
    another Gateway (another wallet) that trusts the same Runner."""
    post = lambda route, body, hdr: http("POST", gw.url + "/v0/compute/" + route, json.dumps(body), hdr)
    status = lambda h: http("GET", gw.url + "/v0/handles/" + h + "/status")[1].get("status")
    st, body, _ = post_secret(gw, {"value": "0x2a", "solidityType": "uint8", "owner": "0x" + "33" * 20,
                                   "applicationContract": "0x" + "44" * 20})
    stored = body["handle"]
    new = lambda b: stored[:2] + b * 26 + stored[-12:]

    def item(h, plain, tag):
        ct, k, nonce = ecies_encrypt(kms_pub, plain)
        return {"handle": h, "handleValueTag": "0x" + tag * 32, "ciphertext": ct, "publicKey": k, "nonce": nonce}
    r1, r2, r3 = item(new("b1"), b"\x01", "b1"), item(new("b2"), b"\x02", "b2"), item(new("b3"), b"\x03", "b3")
    now = int(time.time())

    # results: the spec §4.4 form refused, by default
    hdr = noxtest.auth_header(legacy_result_doc(work))
    refused("results: the spec 4.4 ResultPublishingAuthorization", post("results", [r1], hdr),
            "ResultPublishingAuthorization of spec 4.4", "accept_legacy_authorizations: false",
            "sign a ResultPublishingAuthorizationV2")
    # a header captured for [r1, r2] reused with another body
    hdr = result_auth(work, [r1, r2])
    refused("results: one byte of one ciphertext changed", post("results", [flipped_ct(r1), r2], hdr),
            "the body's content digest", "differs from the signed resultsDigest")
    refused("results: a result added", post("results", [r1, r2, r3], hdr),
            "the body holds 3 results, the ResultPublishingAuthorizationV2 signs resultCount 2")
    refused("results: a result dropped", post("results", [r1], hdr), "the body holds 1 results", "resultCount 2")
    refused("results: a handle swapped (the same bytes under another handle)",
            post("results", [dict(r1, handle=r3["handle"]), r2], hdr), "differs from the signed resultsDigest")
    refused("results: reordered", post("results", [r2, r1], hdr), "differs from the signed resultsDigest")
    refused("results: the tag changed", post("results", [dict(r1, handleValueTag="0x" + "ee" * 32), r2], hdr),
            "differs from the signed resultsDigest")
    # the window
    for name, win, needle in [("expired", (now - 100, now - 40), "authorization expired at %d" % (now - 40)),
                              ("starting 100 s in the future", (now + 100, now + 160),
                               "authorization not valid before %d" % (now + 100)),
                              ("301 s long", (now - 10, now + 291), "authorization window of 301 s"),
                              ("empty", (now, now), "authorization window is empty")]:
        refused(f"results: a window {name}", post("results", [r1, r2], result_auth(work, [r1, r2], win=win)),
                "ResultPublishingAuthorizationV2: ", needle)
    doc = result_doc(work, [r1, r2])
    hdr = noxtest.auth_header(dict(doc, payload=dict(doc["payload"], expiresAt=doc["payload"]["expiresAt"] + 100)))
    refused("results: expiresAt extended after signing", post("results", [r1, r2], hdr),
            "not from a configured Runner")
    refused("results: signed for another Gateway (verifyingContract)",
            post("results", [r1, r2], result_auth(work, [r1, r2], gateway="0x" + "5e" * 20)),
            "not from a configured Runner")
    refused("results: a FailureRecordingAuthorization on POST results",
            post("results", [r1], failure_auth(work, counted=noxtest.results_digest(CAST, [r1]))),
            "missing field resultCount")
    check("results: nothing of the refused bodies was stored",
          [status(r["handle"]) for r in (r1, r2, r3)] == ["pending"] * 3)
    # accepted: starting in the future within the 30 s clock-skew allowance, then replayed inside its window
    hdr = result_auth(work, [r1, r2], win=(now + 20, now + 80))
    st, body, _ = post("results", [r1, r2], hdr)
    check("results: a window starting 20 s ahead (within the 30 s skew) -> created",
          st == 200 and body == {"created": 2, "unchanged": 0, "conflicted": 0}, f"{st} {body}")
    st, body, _ = post("results", [r1, r2], hdr)
    check("results: the same header and body replayed inside the window -> unchanged",
          st == 200 and body == {"created": 0, "unchanged": 2, "conflicted": 0}, f"{st} {body}")
    st, body, _ = post("results", [r1, r2], result_auth(work, [r1, r2], win=(now - 10, now + 290)))
    check("results: a window of exactly 300 s -> accepted (unchanged)", st == 200 and body.get("unchanged") == 2,
          f"{st} {body}")

    # failure records
    f1 = {"handle": new("c1"), "reason": "events[0]: unknown operator id 999 (type operator_999)"}
    f2 = {"handle": new("c2"), "reason": "gave up after 10 attempts"}
    refused("failures: the spec 4.4 ResultPublishingAuthorization", post("failures", [f1], noxtest.auth_header(
        legacy_result_doc(work))), "accept_legacy_authorizations: false", "sign a FailureRecordingAuthorization")
    hdr = failure_auth(work, [f1])
    refused("failures: a reason changed", post("failures", [dict(f1, reason="forged")], hdr),
            "differs from the signed recordsDigest")
    refused("failures: another (pending) handle marked with a captured header",
            post("failures", [dict(f1, handle=new("c3"))], hdr), "differs from the signed recordsDigest")
    refused("failures: a record added", post("failures", [f1, f2], hdr),
            "the body holds 2 failure records, the FailureRecordingAuthorization signs recordCount 1")
    refused("failures: a ResultPublishingAuthorizationV2 on POST failures",
            post("failures", [f1], result_auth(work, counted=noxtest.records_digest(CAST, [f1]))),
            "missing field recordCount")
    refused("failures: expired", post("failures", [f1], failure_auth(work, [f1], win=(now - 100, now - 40))),
            "FailureRecordingAuthorization: authorization expired at")
    check("failures: nothing recorded by the refused ones", [status(f["handle"]) for f in (f1, f2)] == ["pending"] * 2)
    st, body, _ = post("failures", [f1], hdr)
    st2, body2, _ = post("failures", [f1], hdr)
    check("failures: recorded, and the replay inside the window recorded again (idempotent)",
          (st, body, st2, body2) == (200, {"recorded": 1}, 200, {"recorded": 1}) and status(f1["handle"]) == "failed",
          f"{st} {body} {st2} {body2}")

    # operand reads
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rk_hex = spki_hex(rk)
    ops = lambda hdr: http("GET", gw.url + "/v0/compute/operands", headers=hdr)
    refused("operands: the spec 4.4 OperandAccessAuthorization",
            ops(noxtest.auth_header(legacy_operand_doc(work, [stored], rk_hex))),
            "OperandAccessAuthorization of spec 4.4", "sign a OperandAccessAuthorizationV2")
    refused("operands: expired", ops(operand_auth(work, [stored], rk_hex, win=(now - 100, now - 1))),
            "OperandAccessAuthorizationV2: authorization expired at")
    refused("operands: starting 60 s ahead", ops(operand_auth(work, [stored], rk_hex, win=(now + 60, now + 120))),
            "authorization not valid before")
    refused("operands: 600 s long", ops(operand_auth(work, [stored], rk_hex, win=(now - 300, now + 300))),
            "authorization window of 600 s")
    refused("operands: signed for another Gateway", ops(operand_auth(work, [stored], rk_hex, gateway="0x" + "5e" * 20)),
            "not from a configured Runner")
    st, body, _ = ops(operand_auth(work, [stored, r1["handle"]], rk_hex))
    check("operands: the bound form is served", st == 200 and [unwrap(rk, o, body) for o in body.get("operands", [])] ==
          [b"\x2a", b"\x01"], f"{st} {body}"[:300])

    # batches: each entry checked on its own; one refused entry is a 401 for all, naming it, nothing stored
    batch = lambda route, b: http("POST", gw.url + "/v0/compute/" + route, json.dumps(b))
    good = operand_entry(work, [stored], rk_hex)
    refused("operands batch: an expired entry", batch("operands/batch", {"requests": [
        good, operand_entry(work, [stored], rk_hex, win=(now - 100, now - 40))]}),
        "requests[1]: OperandAccessAuthorizationV2: authorization expired at")
    refused("operands batch: a spec 4.4 entry", batch("operands/batch", {"requests": [
        legacy_operand_doc(work, [stored], rk_hex), good]}), "requests[0]: a OperandAccessAuthorization of spec 4.4")
    st, body, _ = batch("operands/batch", {"requests": [good, good]})
    check("operands batch: bound entries served", st == 200 and len(body.get("responses", [])) == 2 and
          all(unwrap(rk, r["operands"][0], body) == b"\x2a" for r in body["responses"]), f"{st} {body}"[:300])
    r4, r5 = item(new("b4"), b"\x04", "b4"), item(new("b5"), b"\x05", "b5")
    set_a = {"authorization": result_doc(work, [r4], tx="0x" + "a4" * 32), "results": [r4]}
    set_b = {"authorization": result_doc(work, [r5], tx="0x" + "a5" * 32), "results": [r5]}
    refused("results batch: a set whose ciphertext changed after signing", batch("results/batch", {"transactions": [
        set_a, dict(set_b, results=[flipped_ct(r5)])]}),
        "transactions[1]: the body's content digest", "differs from the signed resultsDigest")
    refused("results batch: a set with a result added", batch("results/batch", {"transactions": [
        set_a, dict(set_b, results=[r5, r3])]}), "transactions[1]: the body holds 2 results")
    refused("results batch: an expired set", batch("results/batch", {"transactions": [
        set_a, {"authorization": result_doc(work, [r5], win=(now - 100, now - 40)), "results": [r5]}]}),
        "transactions[1]: ResultPublishingAuthorizationV2: authorization expired at")
    refused("results batch: a spec 4.4 set", batch("results/batch", {"transactions": [
        {"authorization": legacy_result_doc(work), "results": [r5]}, set_a]}),
        "transactions[0]: a ResultPublishingAuthorization of spec 4.4")
    check("results batch: nothing of the refused batches was stored", [status(r4["handle"]), status(r5["handle"])] ==
          ["pending", "pending"])
    st, body, _ = batch("results/batch", {"transactions": [set_a, set_b]})
    check("results batch: bound sets stored", st == 200 and body.get("responses") == [
        {"created": 1, "unchanged": 0, "conflicted": 0}] * 2, f"{st} {body}")
    st, body, _ = batch("results/batch", {"transactions": [set_a, set_b]})
    check("results batch: replayed inside the window -> unchanged", st == 200 and body.get("responses") == [
        {"created": 0, "unchanged": 1, "conflicted": 0}] * 2, f"{st} {body}")
    check("metrics: legacy, window and content refusals counted",
          (metric(gw.url, "nox_gateway_runner_auth_legacy_refused_total") or 0) >= 5 and
          (metric(gw.url, "nox_gateway_runner_auth_window_refused_total") or 0) >= 9 and
          (metric(gw.url, "nox_gateway_runner_auth_content_refused_total") or 0) >= 10 and
          metric(gw.url, "nox_gateway_runner_auth_legacy_accepted_total") == 0,
          [metric(gw.url, f"nox_gateway_runner_auth_{k}_total") for k in
           ("legacy_refused", "window_refused", "content_refused", "legacy_accepted")])

    # a Gateway with accept_legacy_authorizations: true (same database, same wallet): both forms
    legacy_gw = start_gateway(work, gw_cfg + "accept_legacy_authorizations: true\n", "gateway-legacy")
    servers.append(legacy_gw)
    lpost = lambda route, b, hdr: http("POST", legacy_gw.url + "/v0/compute/" + route, json.dumps(b), hdr)
    r6 = item(new("b6"), b"\x06", "b6")
    st, body, _ = lpost("results", [r6], noxtest.auth_header(legacy_result_doc(work)))
    check("accept_legacy_authorizations: true: a spec 4.4 ResultPublishingAuthorization stores results",
          st == 200 and body.get("created") == 1, f"{st} {body}")
    st, body, _ = lpost("failures", [dict(f2, handle=new("c4"))], noxtest.auth_header(legacy_result_doc(work)))
    check("... records failures", st == 200 and body == {"recorded": 1}, f"{st} {body}")
    st, body, _ = http("GET", legacy_gw.url + "/v0/compute/operands",
                       headers=noxtest.auth_header(legacy_operand_doc(work, [r6["handle"]], rk_hex)))
    check("... serves operands", st == 200 and unwrap(rk, body["operands"][0], body) == b"\x06", f"{st} {body}"[:300])
    st, body, _ = lpost("results", [r6], result_auth(work, [r6]))
    check("... and still takes the bound forms (replay: unchanged)", st == 200 and body.get("unchanged") == 1,
          f"{st} {body}")
    refused("... but not a bound form whose body was changed", lpost("results", [r6], result_auth(work, [r5])),
            "differs from the signed resultsDigest")
    check("... legacy acceptances counted", metric(legacy_gw.url, "nox_gateway_runner_auth_legacy_accepted_total") == 3,
          metric(legacy_gw.url, "nox_gateway_runner_auth_legacy_accepted_total"))
    check("... and warned about at start", "accept_legacy_authorizations: true" in open(legacy_gw.log_path).read())
    check("the legacy Gateway exits cleanly", legacy_gw.stop() == 0)

    # another Gateway (another wallet) that trusts the same Runner: this Gateway's headers are refused there
    other_key = os.path.join(work, "other-gateway-wallet.key")
    r = run(NOX_KMS, "keygen", "--out", other_key)
    other_addr = [ln.split()[-1] for ln in r.stdout.splitlines() if ln.startswith("address")][0]
    other_gw = start_gateway(work, gw_cfg.replace("wallet_key_file: gateway-wallet.key",
                                                  "wallet_key_file: other-gateway-wallet.key"), "gateway-other")
    servers.append(other_gw)
    r7 = item(new("b7"), b"\x07", "b7")
    hdr = result_auth(work, [r7])
    refused("another Gateway trusting the same Runner: a header signed for this one",
            http("POST", other_gw.url + "/v0/compute/results", json.dumps([r7]), hdr), "not from a configured Runner")
    st, body, _ = http("POST", other_gw.url + "/v0/compute/results", json.dumps([r7]),
                       result_auth(work, [r7], gateway=other_addr))
    check("... the same body signed for it (its verifyingContract) -> created", st == 200 and body.get("created") == 1,
          f"{st} {body}")
    check("the other Gateway exits cleanly", other_gw.stop() == 0)


def flipped_ct(r):
    """r with the last byte of its ciphertext flipped."""
    return dict(r, ciphertext=r["ciphertext"][:-2] + "%02x" % (int(r["ciphertext"][-2:], 16) ^ 1))


def survive_postgres_restart(gw, pg):
    good = {"value": "0x07", "solidityType": "uint8", "owner": "0x" + "33" * 20, "applicationContract": "0x" + "44" * 20}
    pg.stop()
    st, body, _ = post_secret(gw, good)
    check("PostgreSQL down: POST /v0/secrets fails cleanly (500 storage)", st == 500 and is_error_shape(body, "storage"),
          f"{st} {body}")
    st, body, _ = http("GET", gw.url + "/health")
    check("PostgreSQL down: /health 503", st == 503, f"{st} {body}")
    pg.start()
    ok = False
    for _ in range(50):
        st, body, _ = post_secret(gw, good)
        if st == 200:
            ok = True
            break
        time.sleep(0.2)
    check("PostgreSQL back: POST /v0/secrets succeeds again", ok, f"{st} {body}")
    st, body, _ = http("GET", gw.url + "/health")
    check("PostgreSQL back: /health 200", st == 200, f"{st} {body}")


def post_secret(gw, body):
    return http("POST", gw.url + "/v0/secrets", json.dumps(body) if not isinstance(body, (str, bytes)) else body,
                {"Content-Type": "application/json"})


def run_tests(work, gw, gw_addr, nox, token, anvil, kms_pub):
    owner, app = address_of(STRANGER), "0x" + "a1" * 20
    st, body, _ = http("GET", gw.url + "/health")
    check("/health 200", st == 200 and body.get("status") == "ok", body)
    st, body, _ = http("GET", gw.url + "/metrics")
    check("/metrics", st == 200 and "nox_gateway_http_requests_total" in body, str(body)[:300])

    # (1) POST /v0/secrets for every fixed-size type
    handles = []
    for typ, hexv in SAMPLES:
        st, body, _ = post_secret(gw, {"value": "0x" + hexv, "solidityType": typ, "owner": owner,
                                       "applicationContract": app, "chainId": CHAIN})
        ok = st == 200 and len(body.get("handle", "")) == 66 and len(body.get("proof", "")) == 2 + 2 * 137
        check(f"POST /v0/secrets {typ}", ok, body)
        if ok:
            handles.append(body["handle"])
    h0, proof0 = None, None
    st, body, _ = post_secret(gw, {"value": "0x" + "00" * 31 + "2a", "solidityType": "uint256", "owner": owner,
                                   "applicationContract": app})
    check("POST /v0/secrets without chainId uses the default chain", st == 200 and body["handle"][-12:-4] == "00007a69",
          body)
    h0, proof0 = body["handle"], body["proof"]
    p = bytes.fromhex(proof0[2:])
    check("proof = owner || app || createdAt || sig", p[:20].hex() == owner[2:].lower() and p[20:40].hex() == "a1" * 20
          and abs(int.from_bytes(p[40:72], "big") - time.time()) < 60)
    data = typed_data("HandleProof", [("handle", "bytes32"), ("owner", "address"), ("app", "address"),
                                      ("createdAt", "uint256")],
                      noxtest.CHAIN_DOMAIN + [("verifyingContract", "address")],
                      {"name": "NoxCompute", "version": "1", "chainId": CHAIN, "verifyingContract": nox},
                      {"handle": h0, "owner": owner, "app": "0x" + "a1" * 20,
                       "createdAt": int.from_bytes(p[40:72], "big")})
    gw_onchain = run(CAST, "call", nox, "gateway()(address)", "--rpc-url", anvil.url).stdout.strip()
    check("HandleProof verifies with cast against the Gateway wallet", gw_onchain.lower() == gw_addr.lower() and
          noxtest.cast_verify(CAST, work, data, gw_addr, "0x" + p[72:].hex()), gw_onchain)
    r = run(CAST, "call", nox, "validateInputProof(bytes32,address,bytes,uint8)(bytes32)", h0, owner, proof0, str(int(h0[-4:-2], 16)),
            "--from", "0x" + "a1" * 20, "--rpc-url", anvil.url)
    check("NoxCompute.validateInputProof accepts the proof from the app", r.returncode == 0 and
          r.stdout.strip().lower() == h0, r.stdout + r.stderr)

    good = {"value": "0x01", "solidityType": "uint8", "owner": owner, "applicationContract": app}
    bad_cases = [
        ("not JSON", "{nope", 400, "bad_request"),
        ("not an object", "[1]", 400, "bad_request"),
        ("missing value", {k: v for k, v in good.items() if k != "value"}, 400, "bad_request"),
        ("value not a string", dict(good, value=1), 400, "bad_request"),
        ("unknown type", dict(good, solidityType="uint7"), 400, "invalid_type"),
        ("dynamic type", dict(good, solidityType="bytes"), 400, "invalid_type"),
        ("too short", dict(good, solidityType="uint16"), 400, "invalid_value"),
        ("too long", dict(good, value="0x0102"), 400, "invalid_value"),
        ("bad hex", dict(good, value="0xzz"), 400, "invalid_value"),
        ("bad bool", dict(good, solidityType="bool", value="0x02"), 400, "invalid_value"),
        ("bad owner", dict(good, owner="0x1234"), 400, "bad_request"),
        ("bad app", dict(good, applicationContract=5), 400, "bad_request"),
        ("unknown chain", dict(good, chainId=5), 400, "unknown_chain"),
        ("negative chain", dict(good, chainId=-1), 400, "bad_request"),
        ("oversized body", "x" * (64 * 1024 + 1), 413, None),
    ]
    for name, b, code, err in bad_cases:
        st, body, _ = post_secret(gw, b)
        check(f"POST /v0/secrets {name} -> {code}", st == code and (err is None or is_error_shape(body, err)),
              f"{st} {body}"[:300])

    # (2) operands as the Runner, decrypted here
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rk_hex = spki_hex(rk)
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, handles, rk_hex))
    ok = st == 200 and [o["handle"] for o in body.get("operands", [])] == handles
    check("operands in request order", ok, str(body)[:300])
    if ok:
        for (typ, hexv), o in zip(SAMPLES, body["operands"]):
            check(f"operand {typ} decrypts to the input", unwrap(rk, o, body).hex() == hexv)
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, handles, rk_hex, STRANGER))
    check("operands: a stranger gets 401", st == 401 and is_error_shape(body, "unauthorized"), body)
    missing = handles[0][:2] + "77" * 26 + handles[0][-12:]
    st, body, _ = http("GET", gw.url + "/v0/compute/operands",
                       headers=operand_auth(work, [handles[0], missing], rk_hex))
    check("operands: a missing handle is named in the 400", st == 400 and is_error_shape(body, "not_found") and
          missing in body["message"], body)
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, ["0x12"], rk_hex))
    check("operands: a malformed handle -> 400", st == 400 and is_error_shape(body, "bad_request"), body)
    other = handles[0][:-12] + "00000001" + handles[0][-4:]
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, [other], rk_hex))
    check("operands: a handle of another chain -> 400", st == 400 and is_error_shape(body, "bad_request"), body)
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, handles[:1], "0x1234"))
    check("operands: a bad RSA key -> 400", st == 400 and is_error_shape(body, "bad_request"), body)
    for name, hdr in [("no header", {}), ("wrong scheme", {"Authorization": "Bearer x"}),
                      ("bad base64", {"Authorization": "EIP712 !!!"}),
                      ("not JSON", {"Authorization": "EIP712 " + base64.b64encode(b"{").decode()}),
                      ("no payload", {"Authorization": "EIP712 " + base64.b64encode(b'{"signature":"0x"}').decode()})]:
        st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=hdr)
        check(f"operands: {name} -> 401", st == 401 and is_error_shape(body, "unauthorized"), body)

    # results: created, replay unchanged, other tag conflicted and not overwritten
    new_handle = handles[0][:2] + "55" * 26 + handles[0][-12:]
    plain = bytes.fromhex("01")
    ct, k, nonce = ecies_encrypt(kms_pub, plain)
    res = [{"handle": new_handle, "handleValueTag": "0x" + "01" * 32, "ciphertext": ct, "publicKey": k, "nonce": nonce}]
    st, body, _ = http("POST", gw.url + "/v0/compute/results", json.dumps(res), result_auth(work, res))
    check("results: created", st == 200 and body == {"created": 1, "unchanged": 0, "conflicted": 0}, body)
    st, body, _ = http("POST", gw.url + "/v0/compute/results", json.dumps(res), result_auth(work, res))
    check("results: replay unchanged", st == 200 and body == {"created": 0, "unchanged": 1, "conflicted": 0}, body)
    ct2, k2, nonce2 = ecies_encrypt(kms_pub, b"\x00")
    res2 = [{"handle": new_handle, "handleValueTag": "0x" + "02" * 32, "ciphertext": ct2, "publicKey": k2,
             "nonce": nonce2}]
    st, body, _ = http("POST", gw.url + "/v0/compute/results", json.dumps(res2), result_auth(work, res2))
    check("results: other tag conflicted", st == 200 and body == {"created": 0, "unchanged": 0, "conflicted": 1}, body)
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, [new_handle], rk_hex))
    check("results: the conflict did not overwrite", st == 200 and unwrap(rk, body["operands"][0], body) == plain, body)
    # result sets batched (docs/PROTOCOL-EXTENSIONS.md §4): each stored on its own, answered in order
    def result_entry(results, key=RUNNER, tx=TX):
        try:
            auth = result_doc(work, results, key, tx)
        except ValueError:  # a malformed result (its 400 comes before any digest)
            auth = result_doc(work, None, key, tx)
        return {"authorization": auth, "results": results}
    bh = handles[0][:2] + "56" * 26 + handles[0][-12:]
    ct3, k3, nonce3 = ecies_encrypt(kms_pub, b"\x05")
    res3 = [{"handle": bh, "handleValueTag": "0x" + "05" * 32, "ciphertext": ct3, "publicKey": k3, "nonce": nonce3}]
    results_batch = gw.url + "/v0/compute/results/batch"
    st, body, _ = http("POST", results_batch, json.dumps({"transactions": [
        result_entry(res3, tx="0x" + "ce" * 32), result_entry(res), result_entry([dict(res3[0], handle="0x12")]),
        result_entry(res2)]}))
    rs = body.get("responses") if st == 200 and isinstance(body, dict) else None
    check("results batch: 200 with one response per transaction", isinstance(rs, list) and len(rs) == 4,
          f"{st} {body}"[:300])
    if isinstance(rs, list) and len(rs) == 4:
        check("results batch: [0] created, [1] a replay unchanged",
              rs[0] == {"created": 1, "unchanged": 0, "conflicted": 0} and
              rs[1] == {"created": 0, "unchanged": 1, "conflicted": 0}, rs)
        check("results batch: [2] a bad handle -> its own 400, the others stored",
              rs[2].get("status") == 400 and rs[2].get("error") == "bad_request", rs[2])
        check("results batch: [3] another tag -> conflicted", rs[3] == {"created": 0, "unchanged": 0, "conflicted": 1},
              rs[3])
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, [bh], rk_hex))
    check("results batch: the stored result is served", st == 200 and unwrap(rk, body["operands"][0], body) == b"\x05",
          f"{st} {body}"[:300])
    st, body, _ = http("POST", results_batch, json.dumps({"transactions": [result_entry(res),
                                                                           result_entry(res, STRANGER)]}))
    check("results batch: a stranger's set -> 401 for the whole batch, naming it",
          st == 401 and is_error_shape(body, "unauthorized") and "transactions[1]" in body["message"], f"{st} {body}"[:300])
    for name, b in [("not JSON", "{"), ("no transactions", "{}"), ("empty", json.dumps({"transactions": []})),
                    ("65 transactions", json.dumps({"transactions": [result_entry(res)] * 65}))]:
        st, body, _ = http("POST", results_batch, b)
        check(f"results batch: {name} -> 400", st == 400 and is_error_shape(body, "bad_request"), f"{st} {body}"[:300])
    st, body, _ = http("POST", gw.url + "/v0/compute/results", json.dumps(res), result_auth(work, res, STRANGER))
    check("results: a stranger gets 401", st == 401 and is_error_shape(body, "unauthorized"), body)
    r0 = res[0]
    for name, b in [("not JSON", "{"), ("not an array", "{}"), ("empty array", "[]"), ("item not object", "[1]"),
                    ("missing handle", [{k: v for k, v in r0.items() if k != "handle"}]),
                    ("bad handle", [dict(r0, handle="0x12")]),
                    ("unconfigured chain", [dict(r0, handle=other)]),
                    ("short tag", [dict(r0, handleValueTag="0x01")]),
                    ("bad publicKey", [dict(r0, publicKey="0x02")]),
                    ("bad nonce", [dict(r0, nonce="0x" + "00" * 11)]),
                    ("short ciphertext", [dict(r0, ciphertext="0x00")]),
                    ("bad hex ciphertext", [dict(r0, ciphertext="0xzz" * 20)])]:
        st, body, _ = http("POST", gw.url + "/v0/compute/results", b if isinstance(b, str) else json.dumps(b),
                           result_auth(work))
        check(f"results: {name} -> 400", st == 400 and is_error_shape(body, "bad_request"), f"{st} {body}"[:300])

    # failure records (docs/PROTOCOL-EXTENSIONS.md): pending -> failed (latest reason wins) -> stored
    fh = handles[0][:2] + "66" * 26 + handles[0][-12:]
    fh2 = handles[0][:2] + "67" * 26 + handles[0][-12:]
    url_status = gw.url + "/v0/handles/" + fh + "/status"
    st, body, _ = http("GET", url_status)
    check("failures: no record yet -> pending", st == 200 and body == {"handle": fh.lower(), "status": "pending"}, body)
    fail = [{"handle": fh, "reason": "events[0]: unknown operator id 999 (type operator_999)"}]
    st, body, _ = http("POST", gw.url + "/v0/compute/failures", json.dumps(fail), failure_auth(work, fail))
    check("failures: recorded", st == 200 and body == {"recorded": 1}, body)
    st, body, _ = http("GET", url_status)
    check("failures: status failed with the reason", st == 200 and body == {
        "handle": fh.lower(), "status": "failed", "reason": fail[0]["reason"]}, body)
    two = [{"handle": fh, "reason": "gave up after 10 attempts: Gateway unreachable"},
           {"handle": fh2, "reason": "x"}, {"handle": fh2.upper().replace("0X", "0x"), "reason": "y"}]
    st, body, _ = http("POST", gw.url + "/v0/compute/failures", json.dumps(two), failure_auth(work, two))
    check("failures: a second record (and a handle twice in one body) accepted", st == 200 and body == {"recorded": 3},
          body)
    st, body, _ = http("GET", url_status)
    check("failures: the latest reason wins", st == 200 and body.get("status") == "failed" and
          body.get("reason") == two[0]["reason"], body)
    st, body, _ = http("POST", gw.url + "/v0/compute/failures", json.dumps(fail), failure_auth(work, fail, STRANGER))
    check("failures: a stranger gets 401", st == 401 and is_error_shape(body, "unauthorized"), body)
    st, body, _ = http("POST", gw.url + "/v0/compute/failures", json.dumps(fail))
    check("failures: no Authorization -> 401", st == 401 and is_error_shape(body, "unauthorized"), body)
    f0 = fail[0]
    for name, b in [("not JSON", "{"), ("not an array", "{}"), ("empty array", "[]"), ("item not object", "[1]"),
                    ("missing handle", [{"reason": "r"}]), ("bad handle", [dict(f0, handle="0x12")]),
                    ("unconfigured chain", [dict(f0, handle=other)]),
                    ("missing reason", [{"handle": fh}]), ("empty reason", [dict(f0, reason="")]),
                    ("reason not a string", [dict(f0, reason=5)]), ("reason of 257 characters", [dict(f0, reason="r" * 257)]),
                    ("reason with a newline", [dict(f0, reason="a\nb")]),
                    ("reason not ASCII", [dict(f0, reason="caf\u00e9")]),
                    ("1025 records", [{"handle": fh, "reason": "r"}] * 1025)]:
        st, body, _ = http("POST", gw.url + "/v0/compute/failures", b if isinstance(b, str) else json.dumps(b),
                           failure_auth(work))
        ok = st == 400 and is_error_shape(body, "bad_request")
        if name == "1025 records":  # this test's Gateway has a 64 KiB max_body: 413 before the count is read
            ok = ok or st == 413
        check(f"failures: {name} -> 400", ok, f"{st} {body}"[:300])
    st, body, _ = http("POST", gw.url + "/v0/compute/failures", json.dumps([dict(f0, reason="r" * 256)]),
                       failure_auth(work, [dict(f0, reason="r" * 256)]))
    check("failures: a reason of 256 characters is accepted", st == 200 and body == {"recorded": 1}, body)
    # an operand with a failure record will never be stored: 400 operand_failed with its reason, not not_found;
    # the message names the first, "failed" lists every one (docs/PROTOCOL-EXTENSIONS.md §3)
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, [handles[0], fh], rk_hex))
    check("operands: a failed operand -> 400 operand_failed naming it, with its reason",
          st == 400 and is_error_shape(body, "operand_failed") and fh.lower() in body["message"].lower()
          and "operands[1]" in body["message"] and "r" * 256 in body["message"], f"{st} {body}"[:300])
    check("operands: ... and listing it in 'failed' with its whole reason",
          st == 400 and body.get("failed") == [{"handle": fh, "reason": "r" * 256}], f"{st} {body}"[:600])
    missing2 = handles[0][:2] + "68" * 26 + handles[0][-12:]
    fh_any_case = fh2.upper().replace("0X", "0x")
    r2 = http("GET", gw.url + "/v0/handles/" + fh2 + "/status")[1].get("reason")  # x or y: one body held both
    asked = [missing2, fh2, handles[1], fh, fh_any_case]
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, asked, rk_hex))
    check("operands: several failed operands (and a missing one without a record, a stored one, one asked twice) "
          "-> 400 operand_failed, the message naming the first failed one",
          st == 400 and is_error_shape(body, "operand_failed") and body["message"].startswith(
              f"operands[1] {fh2} failed and will not be stored: {r2}"), f"{st} {body}"[:300])
    check("operands: 'failed' lists every failed operand in request order, as asked, each with its own reason",
          st == 400 and r2 in ("x", "y") and body.get("failed") == [
              {"handle": fh2, "reason": r2}, {"handle": fh, "reason": "r" * 256},
              {"handle": fh_any_case, "reason": r2}], f"{st} {body}"[:800])
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, [missing2], rk_hex))
    check("operands: a missing operand without a record -> still 400 not_found", st == 400 and
          is_error_shape(body, "not_found"), f"{st} {body}"[:300])
    # the same requests batched (docs/PROTOCOL-EXTENSIONS.md §4): each answered on its own, in order
    batch_url = gw.url + "/v0/compute/operands/batch"
    entries = [operand_entry(work, handles, rk_hex), operand_entry(work, [handles[0], missing2], rk_hex, tx="0x" + "cd" * 32),
               operand_entry(work, [fh], rk_hex), operand_entry(work, ["0x12"], rk_hex),
               operand_entry(work, handles[:2], rk_hex), operand_entry(work, [fh2, handles[0], fh], rk_hex)]
    st, body, _ = http("POST", batch_url, json.dumps({"requests": entries}))
    rs = body.get("responses") if st == 200 and isinstance(body, dict) else None
    check("operands batch: 200 with one response per request", isinstance(rs, list) and len(rs) == 6, f"{st} {body}"[:300])
    if isinstance(rs, list) and len(rs) == 6:
        check("operands batch: each request with failed operands gets its own 'failed' list",
              rs[2].get("failed") == [{"handle": fh, "reason": "r" * 256}] and
              rs[5].get("failed") == [{"handle": fh2, "reason": r2}, {"handle": fh, "reason": "r" * 256}] and
              rs[5].get("message", "").startswith(f"operands[0] {fh2} failed"), (rs[2], rs[5]))
        check("operands batch: a request with a missing operand and no failed one has no 'failed' list",
              "failed" not in rs[1], rs[1])
        ok = [o.get("handle") for o in rs[0].get("operands", [])] == handles
        check("operands batch: [0] in request order and decrypts to the inputs", ok and all(
            unwrap(rk, o, body).hex() == hexv for (typ, hexv), o in zip(SAMPLES, rs[0]["operands"])), str(rs[0])[:300])
        check("operands batch: [1] a missing handle -> its own 400 not_found naming it",
              rs[1].get("status") == 400 and rs[1].get("error") == "not_found" and missing2 in rs[1].get("message", ""),
              rs[1])
        check("operands batch: [2] a failed operand -> its own 400 operand_failed",
              rs[2].get("status") == 400 and rs[2].get("error") == "operand_failed", rs[2])
        check("operands batch: [3] a malformed handle -> its own 400 bad_request",
              rs[3].get("status") == 400 and rs[3].get("error") == "bad_request", rs[3])
        check("operands batch: [4] answered after the failed ones",
              [o.get("handle") for o in rs[4].get("operands", [])] == handles[:2] and
              unwrap(rk, rs[4]["operands"][1], body).hex() == SAMPLES[1][1], str(rs[4])[:300])
    st, body, _ = http("POST", batch_url, json.dumps({"requests": [entries[0], operand_entry(work, handles, rk_hex, STRANGER)]}))
    check("operands batch: a request not from a Runner -> 401 for the whole batch, naming it",
          st == 401 and is_error_shape(body, "unauthorized") and "requests[1]" in body["message"], f"{st} {body}"[:300])
    forged = dict(entries[0], payload=dict(entries[0]["payload"], blockNumber=8))
    st, body, _ = http("POST", batch_url, json.dumps({"requests": [forged]}))
    check("operands batch: a payload changed after signing -> 401", st == 401 and is_error_shape(body, "unauthorized"),
          f"{st} {body}"[:300])
    for name, b in [("not JSON", "{"), ("no requests", "{}"), ("empty", json.dumps({"requests": []})),
                    ("65 requests", json.dumps({"requests": [{"payload": {}, "signature": "0x"}] * 65}))]:
        st, body, _ = http("POST", batch_url, b)
        check(f"operands batch: {name} -> 400", st == 400 and is_error_shape(body, "bad_request"), f"{st} {body}"[:300])
    st, body, _ = http("POST", batch_url, json.dumps({"requests": [{"payload": 5, "signature": "0x"}]}))
    check("operands batch: an entry without a payload object -> 401", st == 401 and is_error_shape(body, "unauthorized"),
          f"{st} {body}"[:300])
    # found by fuzz_gateway_routes: a refused entry, then one without a payload (was a double free)
    st, body, _ = http("POST", batch_url, json.dumps({"requests": [entries[3], {"payload": 5, "signature": "0x"}]}))
    check("operands batch: a bad entry, then one without a payload -> 401 naming it", st == 401 and
          is_error_shape(body, "unauthorized") and "requests[1]" in body["message"], f"{st} {body}"[:300])

    ct, k, nonce = ecies_encrypt(kms_pub, b"\x07")
    later = [{"handle": fh, "handleValueTag": "0x" + "07" * 32, "ciphertext": ct, "publicKey": k, "nonce": nonce}]
    st, body, _ = http("POST", gw.url + "/v0/compute/results", json.dumps(later), result_auth(work, later))
    check("failures: a later successful publication", st == 200 and body.get("created") == 1, body)
    st, body, _ = http("GET", url_status)
    check("failures: a stored ciphertext wins -> stored", st == 200 and body == {"handle": fh.lower(), "status": "stored"},
          body)
    st, body, _ = http("GET", gw.url + "/v0/compute/operands", headers=operand_auth(work, [fh], rk_hex))
    check("operands: once stored, a formerly failed operand is served", st == 200 and len(body.get("operands", [])) == 1,
          f"{st} {body}"[:300])

    # (3) user decryption: the token's balance handle (addViewer'd to the user on mint)
    user_key = STRANGER
    user = address_of(user_key)
    r = run(CAST, "send", token, "mint(address,uint64)", user, "1234", "--private-key", DEPLOYER,
            "--rpc-url", anvil.url)
    check("mint", r.returncode == 0, r.stderr)
    bal = run(CAST, "call", token, "balanceOf(address)(bytes32)", user, "--rpc-url", anvil.url).stdout.strip()
    now = int(time.time())
    uk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    uk_hex = spki_hex(uk)
    url = gw.url + "/v0/secrets/" + bal
    st, body, _ = http("GET", url, headers=user_auth(work, nox, user_key, uk_hex, now - 10, now + 600))
    check("GET secret: viewer but not stored -> 404", st == 404 and is_error_shape(body, "not_found"), body)
    st, body, _ = http("GET", gw.url + "/v0/handles/" + bal + "/status")
    check("status: not stored yet -> pending", st == 200 and body == {"handle": bal.lower(), "status": "pending"}, body)
    ct, k, nonce = ecies_encrypt(kms_pub, (1234).to_bytes(8, "big"))
    bal_res = [{"handle": bal, "handleValueTag": "0x" + "03" * 32, "ciphertext": ct, "publicKey": k, "nonce": nonce}]
    st, body, _ = http("POST", gw.url + "/v0/compute/results", json.dumps(bal_res), result_auth(work, bal_res))
    check("results: the balance stored", st == 200 and body.get("created") == 1, body)
    st, body, _ = http("GET", gw.url + "/v0/handles/" + bal.upper().replace("0X", "0x") + "/status")
    check("status: stored (handle hex in any case)", st == 200 and body == {"handle": bal.lower(), "status": "stored"},
          body)
    for name, h, code in (("malformed", "0x1234", "bad_request"), ("bad version", bal[:-2] + "ff", "bad_request"),
                          ("unserved chain", bal[:-12] + "00000005" + bal[-4:], "unknown_chain")):
        st, body, _ = http("GET", gw.url + "/v0/handles/" + h + "/status")
        check(f"status: {name} handle -> 400 {code}", st == 400 and is_error_shape(body, code), body)
    st, body, _ = http("GET", gw.url + "/v0/handles/" + bal + "/status/x")
    check("status: a longer path -> 404", st == 404, body)
    st, body, _ = http("GET", url, headers=user_auth(work, nox, user_key, uk_hex, now - 10, now + 600))
    check("GET secret: a viewer decrypts", st == 200 and body["handle"] == bal.lower() and
          unwrap(uk, body) == (1234).to_bytes(8, "big"), body)
    st, body, _ = http("GET", url, headers=user_auth(work, nox, RUNNER, uk_hex, now - 10, now + 600))
    check("GET secret: not a viewer -> 403", st == 403 and is_error_shape(body, "forbidden"), body)
    for name, nb, ex, signer in [("expired", now - 100, now - 50, None), ("future", now + 100, now + 200, None),
                                 ("over-long", now - 10, now + 3600, None), ("wrongly signed", now - 10, now + 60, RUNNER)]:
        st, body, _ = http("GET", url, headers=user_auth(work, nox, user_key, uk_hex, nb, ex, signer))
        check(f"GET secret: {name} token -> 401", st == 401 and is_error_shape(body, "unauthorized"), body)
    st, body, _ = http("GET", url)
    check("GET secret: no header -> 401", st == 401 and is_error_shape(body, "unauthorized"), body)
    st, body, _ = http("GET", gw.url + "/v0/secrets/0x1234",
                       headers=user_auth(work, nox, user_key, uk_hex, now - 10, now + 60))
    check("GET secret: malformed handle -> 400", st == 400 and is_error_shape(body, "bad_request"), body)


if __name__ == "__main__":
    sys.exit(main())
