#!/usr/bin/python3
"""Security tests (label "security") against a real devnet (scripts/devnet.sh in a temporary directory:
PostgreSQL, nats-server, anvil + contracts, nox-kms, nox-gateway, nox-runner, nox-ingestor).

usage: security_test.py BIN_DIR        (NOX_CAST: the cast binary, as for the e2e tests)

1. A flow with distinctive values: the owner mints 987654321987654321 to Alice, Alice sends a secret
   123456789123 to Bob, both balances decrypted (noxctl and by hand); a uint256 0x5ec2e75ec2e7… input
   encrypted through the Gateway and read back as the Runner.
2. Attacks on the Gateway (spec §7) and the KMS (spec §8): forged, expired, replayed, cross-chain,
   malleated (high s), bad-v and over-long authorizations; a stranger as Runner; bad handles; oversized
   headers and bodies; slow and idle connections. Each answer is the right 4xx with the JSON error shape,
   and after each attack both services still answer /health 200 and a legitimate request.
3. No core dumps: /proc/PID/limits of the KMS, the Gateway, the Runner and the Ingestor says RLIMIT_CORE 0.
4. Log scan: after `devnet.sh down`, no log of the devnet holds a test plaintext (decimal or hex) or a
   private key (owner, Alice, Bob, Gateway, Runner and Ingestor wallets, the KMS protocol and wallet keys).

Signatures are made by cast (an independent implementation); decryption by Python's cryptography.
NOX_TEST_VERBOSE=1 prints passing checks too. Ends with "N passed, M failed".
"""
import base64
import glob
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2elib  # noqa: E402
from e2elib import check, noxtest  # noqa: E402
import noxthreshold  # noqa: E402
from noxtest import http, is_error_shape, run, typed_data  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: E402

if len(sys.argv) != 2:
    print("usage: security_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
NOXCTL = os.path.join(BIN, "noxctl")
CAST = e2elib.cast_path()
CHAIN = 31337
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 group order
CONNECTION_TIMEOUT = 30  # core/src/http_server.c: nox_http_options_default
REQUEST_TIMEOUT = 30     # the same: a request must arrive within this many seconds of its connection being ready

MINTED = 987654321987654321            # public (mint amount), but distinctive
SECRET_AMOUNT = 123456789123           # Alice -> Bob, encrypted
ALICE_LEFT = MINTED - SECRET_AMOUNT
SECRET_WORD = int("5ec2e7" * 10 + "5ec2", 16)  # a uint256 input

USER_FIELDS = [("userAddress", "address"), ("encryptionPubKey", "string"), ("notBefore", "uint256"),
               ("expiresAt", "uint256")]
TX = "0x" + "ab" * 32
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


# ---- crypto helpers ---------------------------------------------------------------------------

def spki_hex(key):
    return "0x" + key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).hex()


def unwrap(rsa_key, item, answer=None):
    """One value of an answer, from t KMS partials (docs/PROTOCOL-EXTENSIONS.md §11)."""
    return noxthreshold.decrypt(rsa_key, item if answer is None else answer, item)


def compressed(k):
    return "0x" + k.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.CompressedPoint).hex()


def high_s(sig):
    """The malleated twin of a low-s signature: (r, n - s, v flipped) — also valid under plain ECDSA (EIP-2)."""
    b = bytes.fromhex(sig[2:])
    s = int.from_bytes(b[32:64], "big")
    v = b[64]
    return "0x" + (b[:32] + (N - s).to_bytes(32, "big") + bytes([27 + (1 - (v - 27))])).hex()


def with_v(sig, v):
    return sig[:-2] + "%02x" % v


def b64auth(payload, sig):
    return {"Authorization": "EIP712 " + base64.b64encode(json.dumps({"payload": payload, "signature": sig}).encode()).decode()}


# ---- raw HTTP for what urllib cannot send ------------------------------------------------------

def hostport(url):
    u = urllib.parse.urlparse(url)
    return u.hostname, u.port


def raw(url, data, timeout=20):
    """Sends bytes on a fresh connection; (status or None, parsed body or text, closed without answer)."""
    s = noxtest.connect(url, timeout)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may answer and close before it has read everything
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
    finally:
        s.close()
    if not buf.startswith(b"HTTP/1."):
        return None, buf.decode(errors="replace"), True
    head, _, body = buf.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    try:
        return status, json.loads(body), False
    except ValueError:
        return status, body.decode(errors="replace"), False


class Ctx:
    def __init__(self, devnet, work):
        self.d, self.work = devnet, work
        self.gw, self.kms, self.rpc = devnet["NOX_GATEWAY_URL"], devnet["NOX_KMS_URL"], devnet["NOX_RPC_URL"]
        self.compute, self.token = devnet["NOX_COMPUTE_ADDRESS"], devnet["NOX_TOKEN_ADDRESS"]
        kd = os.path.join(devnet.dir, "keys")
        self.keyfiles = {w: os.path.join(kd, w + ".key") for w in ("owner", "alice", "bob")}
        self.keyfiles["gateway"] = os.path.join(kd, "gateway-wallet.key")
        self.keyfiles["runner"] = os.path.join(kd, "runner-wallet.key")
        self.keyfiles["ingestor"] = os.path.join(kd, "ingestor-wallet.key")   # signs every queue message
        self.keyfiles["kms"] = os.path.join(devnet.dir, "kms", "kms.key")
        self.keyfiles["kms-wallet"] = os.path.join(devnet.dir, "kms", "kms-wallet.key")
        self.keys = {w: open(p).read().strip() for w, p in self.keyfiles.items()}
        self.addr = {w: run(CAST, "wallet", "address", "--private-key", k).stdout.strip().lower()
                     for w, k in self.keys.items()}
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_hex = spki_hex(self.rsa)
        self.ctl = e2elib.Noxctl(NOXCTL, work, os.path.join(devnet.dir, "env"))

    def sign(self, data, who):
        return noxtest.cast_sign(CAST, self.work, data, self.keys.get(who, who))

    # DataAccessAuthorization (spec §7.2)
    def user_payload(self, user, nb, ex, rsa_hex=None):
        return {"userAddress": self.addr[user], "encryptionPubKey": rsa_hex or self.rsa_hex, "notBefore": nb,
                "expiresAt": ex}

    def user_data(self, payload, chain=CHAIN, contract=None, name="Handle Gateway"):
        domain = {"name": name, "version": "1", "chainId": chain, "verifyingContract": contract or self.compute}
        message = {k: str(v) if isinstance(v, int) and v > 2 ** 53 else v for k, v in payload.items()}  # cast's JSON
        return typed_data("DataAccessAuthorization", USER_FIELDS,
                          noxtest.CHAIN_DOMAIN + [("verifyingContract", "address")], domain, message)

    def user_auth(self, user, nb, ex, signer=None, **dom):
        p = self.user_payload(user, nb, ex)
        sig = self.sign(self.user_data(p, **dom), signer or user)
        return p, sig, b64auth(p, sig)

    # Runner authorizations (spec §7.3, §7.4) in their bound forms (docs/PROTOCOL-EXTENSIONS.md §7)
    def operand_payload(self, handles, chain=CHAIN):
        nb, ex = noxtest.window()
        return {"chainId": chain, "blockNumber": 7, "caller": "0x" + "11" * 20, "transactionHash": TX,
                "operands": handles, "rsaPublicKey": self.rsa_hex, "notBefore": nb, "expiresAt": ex}

    def bound_data(self, primary, p, domain_chain):
        return typed_data(primary, noxtest.BOUND_FIELDS[primary], noxtest.BOUND_DOMAIN_FIELDS,
                          noxtest.bound_domain(domain_chain, self.addr["gateway"]), p)

    def operand_auth(self, handles, who="runner", chain=CHAIN, domain_chain=None, payload=None):
        p = self.operand_payload(handles, chain)
        sig = self.sign(self.bound_data("OperandAccessAuthorizationV2", p, domain_chain or chain), who)
        return b64auth(payload or p, sig)

    def result_auth(self, who="runner", domain_chain=CHAIN, route="results", items=None):
        """The route's bound authorization (results or failures) over items (None: a placeholder digest, for a
        body the Gateway refuses before digesting it)."""
        nb, ex = noxtest.window()
        primary, count, digest = {"results": ("ResultPublishingAuthorizationV2", "resultCount", "resultsDigest"),
                                  "failures": ("FailureRecordingAuthorization", "recordCount", "recordsDigest")}[route]
        n, d = (1, "0x" + "00" * 32) if items is None else \
            (noxtest.results_digest if route == "results" else noxtest.records_digest)(CAST, items)
        p = {"chainId": CHAIN, "blockNumber": 7, "caller": "0x" + "11" * 20, "transactionHash": TX, count: n,
             digest: d, "notBefore": nb, "expiresAt": ex}
        return b64auth(p, self.sign(self.bound_data(primary, p, domain_chain), who))

    # DelegateAuthorization (spec §8)
    def delegate(self, eph, target, who="gateway", chain=CHAIN, sig=None, body=None, query=None):
        data = typed_data("DelegateAuthorization", [("ephemeralPubKey", "string"), ("targetPubKey", "string")],
                          noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": chain},
                          {"ephemeralPubKey": eph, "targetPubKey": target})
        sig = sig or self.sign(data, who)
        text = body if body is not None else json.dumps({"ephemeralPubKey": eph, "targetPubKey": target})
        return http("POST", f"{self.kms}/v0/delegate?chainId={query or CHAIN}", text,
                    {"Content-Type": "application/json", "Authorization": "Bearer " + sig}), sig


# ---- 1. the flow with distinctive values -------------------------------------------------------

def flow(c):
    ctl = c.ctl
    out, r = ctl.json("token", "mint", "--to", c.addr["alice"], "--amount", str(MINTED), "--key", c.keyfiles["owner"])
    if not check("flow: the owner mints 987654321987654321 to Alice", out and out.get("txHash"), r.stdout + r.stderr):
        return False
    out, r = ctl.json("token", "transfer", "--to", c.addr["bob"], "--amount", str(SECRET_AMOUNT),
                      "--key", c.keyfiles["alice"])
    if not check("flow: Alice transfers a secret 123456789123 to Bob", out and out.get("balances"), r.stdout + r.stderr):
        return False
    handles = [out["success"]] + list(out["balances"].values())
    pending = e2elib.wait_stored(c.gw, handles, timeout=90)
    check("flow: the transfer's results are stored", not pending, pending)
    c.alice_bal = run(CAST, "call", c.token, "balanceOf(address)(bytes32)", c.addr["alice"],
                      "--rpc-url", c.rpc).stdout.strip()
    c.bob_bal = run(CAST, "call", c.token, "balanceOf(address)(bytes32)", c.addr["bob"],
                    "--rpc-url", c.rpc).stdout.strip()
    r = ctl("decrypt", c.alice_bal, "--key", c.keyfiles["alice"])
    check("flow: noxctl decrypt, Alice's balance = minted - secret", r.returncode == 0 and
          r.stdout.strip() == str(ALICE_LEFT), r.stdout + r.stderr)
    r = ctl("decrypt", c.bob_bal, "--key", c.keyfiles["bob"])
    check("flow: noxctl decrypt, Bob's balance = the secret amount", r.returncode == 0 and
          r.stdout.strip() == str(SECRET_AMOUNT), r.stdout + r.stderr)
    st, body, _ = http("POST", c.gw + "/v0/secrets", json.dumps({
        "value": "0x%064x" % SECRET_WORD, "solidityType": "uint256", "owner": c.addr["alice"],
        "applicationContract": c.token}), {"Content-Type": "application/json"})
    if not check("flow: POST /v0/secrets uint256 0x5ec2e7…", st == 200, f"{st} {body}"):
        return False
    c.word_handle = body["handle"]
    st, body, _ = http("GET", c.gw + "/v0/compute/operands", headers=c.operand_auth([c.word_handle]))
    check("flow: the Runner reads it back", st == 200 and
          unwrap(c.rsa, body["operands"][0], body) == SECRET_WORD.to_bytes(32, "big"), f"{st} {str(body)[:200]}")
    # the legitimate requests replayed after each attack
    now = int(time.time())
    _, _, c.good_user = c.user_auth("alice", now - 60, now + 3000)
    c.good_eph_key = ec.generate_private_key(ec.SECP256K1())
    c.good_eph = compressed(c.good_eph_key)
    (st, body, _), c.good_deleg_sig = c.delegate(c.good_eph, c.rsa_hex)
    check("flow: a legitimate delegation", st == 200 and len(body.get("encryptedSharedSecret", "")) == 2 + 512,
          f"{st} {body}")
    return True


def still_serving(c, after):
    """Both services answer /health 200 and a legitimate request."""
    ok = True
    for name, url in (("gateway", c.gw), ("kms", c.kms)):
        try:
            st, body, _ = http("GET", url + "/health")
        except OSError as e:
            st, body = None, str(e)
        ok = ok and st == 200 and body == {"status": "ok"}
    try:
        st, body, _ = http("GET", c.gw + "/v0/secrets/" + c.alice_bal, headers=c.good_user)
        ok = ok and st == 200 and int.from_bytes(unwrap(c.rsa, body), "big") == ALICE_LEFT
        st, body, _ = http("POST", f"{c.kms}/v0/delegate?chainId={CHAIN}",
                           json.dumps({"ephemeralPubKey": c.good_eph, "targetPubKey": c.rsa_hex}),
                           {"Authorization": "Bearer " + c.good_deleg_sig})
        ok = ok and st == 200 and c.rsa.decrypt(bytes.fromhex(body["encryptedSharedSecret"][2:]), OAEP) == \
            c.good_eph_key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256K1(), bytes.fromhex(c.d["NOX_KMS_PUBLIC_KEY"][2:])))
    except (OSError, ValueError, KeyError, TypeError) as e:
        ok, body = False, repr(e)
    check(f"after {after}: /health 200 and legitimate requests answered", ok, f"{st} {str(body)[:200]}")


def expect(c, name, resp, status, code="unauthorized"):
    st, body, _ = resp
    check(f"{name} -> {status} {code}", st == status and is_error_shape(body, code), f"{st} {str(body)[:300]}")
    still_serving(c, name)


# ---- 2. attacks on the Gateway ------------------------------------------------------------------

def gateway_user_attacks(c):
    url = c.gw + "/v0/secrets/" + c.alice_bal
    now = int(time.time())
    get = lambda hdr: http("GET", url, headers=hdr)
    # a token for Alice signed by Bob
    _, _, hdr = c.user_auth("alice", now - 10, now + 600, signer="bob")
    expect(c, "GET secret: Alice's token signed by Bob", get(hdr), 401)
    # Bob's own valid token on Alice's handle: authenticated, not a viewer
    _, _, hdr = c.user_auth("bob", now - 10, now + 600)
    expect(c, "GET secret: Bob (valid token) on Alice's balance", get(hdr), 403, "forbidden")
    # Bob's token with userAddress swapped to Alice after signing
    p, sig, _ = c.user_auth("bob", now - 10, now + 600)
    expect(c, "GET secret: Bob's signature, userAddress changed to Alice", get(b64auth(dict(p, userAddress=c.addr["alice"]), sig)), 401)
    # the RSA key swapped after signing (the delegation would go to the attacker's key)
    p, sig, _ = c.user_auth("alice", now - 10, now + 600)
    other = spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    expect(c, "GET secret: encryptionPubKey swapped after signing", get(b64auth(dict(p, encryptionPubKey=other), sig)), 401)
    expect(c, "GET secret: expiresAt extended after signing", get(b64auth(dict(p, expiresAt=p["expiresAt"] + 60), sig)), 401)
    # replay after expiry: accepted while valid, refused after
    p, sig, hdr = c.user_auth("alice", now - 10, int(time.time()) + 3)
    st, body, _ = get(hdr)
    check("GET secret: a short-lived token works while valid", st == 200, f"{st} {body}")
    while time.time() < p["expiresAt"] + 0.2:
        time.sleep(0.2)
    expect(c, "GET secret: the same token replayed after expiry", get(hdr), 401)
    # domain: another chain id, another contract, another name
    _, _, hdr = c.user_auth("alice", now - 10, now + 600, chain=1)
    expect(c, "GET secret: signed for chain id 1", get(hdr), 401)
    _, _, hdr = c.user_auth("alice", now - 10, now + 600, chain=421614)
    expect(c, "GET secret: signed for chain id 421614", get(hdr), 401)
    _, _, hdr = c.user_auth("alice", now - 10, now + 600, contract=c.token)
    expect(c, "GET secret: signed for another verifyingContract", get(hdr), 401)
    _, _, hdr = c.user_auth("alice", now - 10, now + 600, name="NoxCompute")
    expect(c, "GET secret: signed under another domain name", get(hdr), 401)
    # EIP-2: the high-s twin of a valid signature
    p, sig, hdr = c.user_auth("alice", now - 10, now + 600)
    st, _, _ = get(hdr)
    check("GET secret: the low-s original is accepted", st == 200, st)
    expect(c, "GET secret: its high-s twin (s' = n - s, v flipped)", get(b64auth(p, high_s(sig))), 401)
    # v: 27/28 (and 0/1) are the only values
    v = int(sig[-2:], 16)
    st, _, _ = get(b64auth(p, with_v(sig, v - 27)))
    check("GET secret: v as 0/1 accepted (documented)", st == 200, st)
    for bad_v in (v + 2, 2, 26, 29, 30, 35, 36, 255):
        expect(c, f"GET secret: v = {bad_v}", get(b64auth(p, with_v(sig, bad_v))), 401)
    b = bytes.fromhex(sig[2:])
    expect(c, "GET secret: r = 0", get(b64auth(p, "0x" + (bytes(32) + b[32:]).hex())), 401)
    expect(c, "GET secret: s = 0", get(b64auth(p, "0x" + (b[:32] + bytes(32) + b[64:]).hex())), 401)
    expect(c, "GET secret: s = n", get(b64auth(p, "0x" + (b[:32] + N.to_bytes(32, "big") + b[64:]).hex())), 401)
    expect(c, "GET secret: r = n + 1", get(b64auth(p, "0x" + ((N + 1).to_bytes(32, "big") + b[32:]).hex())), 401)
    expect(c, "GET secret: 64-byte signature", get(b64auth(p, sig[:-2])), 401)
    expect(c, "GET secret: 66-byte signature", get(b64auth(p, sig + "1b")), 401)
    # the window
    _, _, hdr = c.user_auth("alice", now - 10, now - 10 + 3601)
    expect(c, "GET secret: window of 3601 s", get(hdr), 401)
    _, _, hdr = c.user_auth("alice", 0, 2 ** 63 - 1)
    expect(c, "GET secret: window from 0 to 2^63-1", get(hdr), 401)
    _, _, hdr = c.user_auth("alice", now - 10, 2 ** 256 - 1)
    expect(c, "GET secret: expiresAt = 2^256-1", get(hdr), 401)
    _, _, hdr = c.user_auth("alice", now - 10, now - 10 + 3600)
    st, _, _ = get(hdr)
    check("GET secret: a window of exactly 3600 s is accepted", st == 200, st)
    p, sig, _ = c.user_auth("alice", now - 10, now + 600)
    expect(c, "GET secret: notBefore negative", get(b64auth(dict(p, notBefore=-1), sig)), 401)
    expect(c, "GET secret: expiresAt as a string", get(b64auth(dict(p, expiresAt=str(p["expiresAt"])), sig)), 401)
    expect(c, "GET secret: expiresAt fractional", get(b64auth(dict(p, expiresAt=p["expiresAt"] + 0.5), sig)), 401)
    for kname, key in (("not a key", "0x1234"), ("40 KB of hex", "0x30" + "ab" * 20000),
                       ("an RSA-1024 SPKI", spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=1024)))):
        q = c.user_payload("alice", now - 10, now + 600, rsa_hex=key)
        sq = c.sign(c.user_data(q), "alice")
        expect(c, f"GET secret: Alice's signed token with encryptionPubKey {kname}", get(b64auth(q, sq)), 400,
               "bad_request")
    dup = base64.b64encode(('{"payload": %s, "payload": %s, "signature": "%s"}' % (
        json.dumps(dict(p, userAddress=c.addr["bob"])), json.dumps(p), sig)).encode()).decode()
    expect(c, "GET secret: duplicate payload keys", get({"Authorization": "EIP712 " + dup}), 401)
    expect(c, "GET secret: lower-case scheme 'eip712'", get({"Authorization": "eip712 " + b64auth(p, sig)["Authorization"][7:]}), 401)


def gateway_runner_attacks(c):
    ops = c.gw + "/v0/compute/operands"
    h = [c.alice_bal, c.word_handle]
    for who in ("alice", "bob", "gateway", "owner"):
        expect(c, f"operands signed by {who} (not the Runner)", http("GET", ops, headers=c.operand_auth(h, who)), 401)
    expect(c, "operands without Authorization", http("GET", ops), 401)
    expect(c, "operands: Runner signature for chain 1's domain", http(
        "GET", ops, headers=c.operand_auth(h, domain_chain=1)), 401)
    # the Runner signed one handle; the stranger adds Alice's balance
    signed = c.operand_payload([c.word_handle])
    hdr = c.operand_auth([c.word_handle], payload=dict(signed, operands=[c.word_handle, c.alice_bal]))
    expect(c, "operands: a handle added to a Runner-signed list", http("GET", ops, headers=hdr), 401)
    hdr = c.operand_auth([c.word_handle], payload=dict(signed, rsaPublicKey=spki_hex(
        rsa.generate_private_key(public_exponent=65537, key_size=2048))))
    expect(c, "operands: rsaPublicKey swapped in a Runner-signed payload", http("GET", ops, headers=hdr), 401)
    hdr = c.operand_auth([c.word_handle])
    p = json.loads(base64.b64decode(hdr["Authorization"][7:]))
    expect(c, "operands: the Runner's high-s twin", http("GET", ops, headers=b64auth(p["payload"], high_s(p["signature"]))), 401)
    expect(c, "operands: the Runner's signature with v = 29", http(
        "GET", ops, headers=b64auth(p["payload"], with_v(p["signature"], 29))), 401)
    items = [{"handle": c.alice_bal[:-6] + "aa0b00", "handleValueTag": "0x" + "01" * 32,
              "ciphertext": "0x" + "00" * 40, "publicKey": "0x02" + "11" * 32, "nonce": "0x" + "00" * 12}]
    fails = [{"handle": c.alice_bal, "reason": "forged"}]
    for route, its in (("results", items), ("failures", fails)):
        url, b = c.gw + "/v0/compute/" + route, json.dumps(its)
        for who in ("alice", "gateway"):
            expect(c, f"POST {route} signed by {who}", http("POST", url, b, c.result_auth(who, route=route, items=its)),
                   401)
        expect(c, f"POST {route} without Authorization", http("POST", url, b), 401)
        expect(c, f"POST {route}: Runner signature for chain 5's domain", http(
            "POST", url, b, c.result_auth(domain_chain=5, route=route, items=its)), 401)
        hdr = c.result_auth(route=route, items=its)
        p = json.loads(base64.b64decode(hdr["Authorization"][7:]))
        expect(c, f"POST {route}: the Runner's high-s twin", http("POST", url, b, b64auth(p["payload"], high_s(p["signature"]))), 401)
    st, body, _ = http("GET", c.gw + "/v0/handles/" + c.alice_bal + "/status")
    check("the forged failure was not recorded: Alice's balance still stored", st == 200 and body.get("status") == "stored", body)


def json_bombs(c):
    """Deeply nested JSON in the Authorization header and in bodies: a clean 4xx, no crash (stack)."""
    deep = "[" * 90000 + "]" * 90000
    hdr = {"Authorization": "EIP712 " + base64.b64encode(deep[:45000].encode() + deep[-45000:].encode()).decode()}
    expect(c, "GET secret: 90,000-deep JSON in the Authorization header", http(
        "GET", c.gw + "/v0/secrets/" + c.alice_bal, headers=hdr), 401)
    expect(c, "operands: 90,000-deep JSON in the Authorization header", http(
        "GET", c.gw + "/v0/compute/operands", headers=hdr), 401)
    expect(c, "POST /v0/secrets: 500,000-deep JSON body", http(
        "POST", c.gw + "/v0/secrets", "[" * 500000 + "]" * 500000, {"Content-Type": "application/json"}), 400, "bad_request")
    expect(c, "POST results: 500,000-deep JSON body (Runner-signed)", http(
        "POST", c.gw + "/v0/compute/results", "[" * 500000 + "]" * 500000, c.result_auth()), 400, "bad_request")
    (r, _) = c.delegate(c.good_eph, c.rsa_hex, body='{"a":' * 10000 + "1" + "}" * 10000)
    expect(c, "KMS: 10,000-deep JSON body", r, 400, "bad_request")


def gateway_bad_handles(c):
    h = c.alice_bal
    bad = {"version 1": h[:-2] + "01", "version 255": h[:-2] + "ff", "type 106 (reserved)": h[:-4] + "6a" + h[-2:],
           "type 255": h[:-4] + "ff" + h[-2:], "63 hex digits": h[:-1], "65 hex digits": h + "0", "no 0x": h[2:],
           "non-hex": h[:-6] + "zz0b00", "zero handle": "0x" + "00" * 32}
    for name, b in bad.items():
        expect(c, f"GET secret: handle with {name}", http("GET", c.gw + "/v0/secrets/" + b, headers=c.good_user), 400, "bad_request")
        expect(c, f"status: handle with {name}", http("GET", c.gw + "/v0/handles/" + b + "/status"), 400, "bad_request")
    for name in ("version 1", "type 106 (reserved)", "type 255"):
        expect(c, f"operands: handle with {name}", http("GET", c.gw + "/v0/compute/operands",
                                                         headers=c.operand_auth([bad[name]])), 400, "bad_request")
        body = json.dumps([{"handle": bad[name], "handleValueTag": "0x" + "01" * 32, "ciphertext": "0x" + "00" * 40,
                            "publicKey": "0x02" + "11" * 32, "nonce": "0x" + "00" * 12}])
        expect(c, f"results: handle with {name}", http("POST", c.gw + "/v0/compute/results", body, c.result_auth()),
               400, "bad_request")


def limits(c, name, url, max_header, max_body):
    """Oversized headers (431 or closed) and bodies (413)."""
    host = "Host: x\r\n"
    pad = "X-Pad: " + "a" * (max_header + 1024) + "\r\n"
    st, body, closed = raw(url, f"GET /health HTTP/1.1\r\n{host}{pad}Connection: close\r\n\r\n".encode())
    check(f"{name}: one header over max_header -> 431 with the error shape",
          st == 431 and is_error_shape(body, "bad_request"), f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: header over max_header")
    many = "".join(f"X-H{i}: {'b' * 60}\r\n" for i in range(max_header // 64 + 200))
    st, body, closed = raw(url, f"GET /health HTTP/1.1\r\n{host}{many}Connection: close\r\n\r\n".encode())
    check(f"{name}: many headers over max_header -> 431 or closed", closed or (st == 431), f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: many headers")
    huge = "X-Pad: " + "c" * (8 << 20) + "\r\n"
    st, body, closed = raw(url, f"GET /health HTTP/1.1\r\n{host}{huge}\r\n".encode(), timeout=40)
    check(f"{name}: an 8 MiB header -> 431 or closed", closed or st == 431, f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: 8 MiB header")
    path = "/v0/secrets" if name == "gateway" else f"/v0/delegate?chainId={CHAIN}"
    st, body, _ = http("POST", url + path, "x" * (max_body + 1), {"Content-Type": "application/json"})
    check(f"{name}: a body of max_body + 1 -> 413 with the error shape", st == 413 and is_error_shape(body, "bad_request"),
          f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: body over max_body")
    st, body, _ = http("POST", url + path, "y" * (4 * max_body), {"Content-Type": "application/json"}, timeout=60)
    check(f"{name}: a body of 4 x max_body -> 413 with the error shape (the client reads the answer)",
          st == 413 and is_error_shape(body, "bad_request"), f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: body of 4 x max_body")
    t0 = time.time()
    st, body, _ = raw(url, f"POST {path} HTTP/1.1\r\n{host}Content-Length: {max_body + 1}\r\nExpect: 100-continue\r\n"
                           f"Connection: close\r\n\r\n".encode())
    check(f"{name}: Expect: 100-continue with a body over max_body -> 413 before any body byte",
          st == 413 and is_error_shape(body, "bad_request") and time.time() - t0 < 5, f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: Expect: 100-continue")
    t0 = time.time()
    st, body, _ = raw(url, f"POST {path} HTTP/1.1\r\n{host}Content-Length: 1000000000000\r\nConnection: close\r\n\r\n".encode())
    check(f"{name}: a declared Content-Length of 10^12 -> 413 at once", st == 413 and is_error_shape(body, "bad_request")
          and time.time() - t0 < 5, f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: Content-Length 10^12")
    st, body, _ = raw(url, f"POST {path} HTTP/1.1\r\n{host}Content-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n".encode())
    check(f"{name}: a Content-Length over 2^64 -> 4xx or closed", st is None or 400 <= st < 500, f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: Content-Length over 2^64")
    chunk = b"x" * 65536
    data = f"POST {path} HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
    data += b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(max_body // 65536 + 2)) + b"0\r\n\r\n"
    st, body, _ = raw(url, data, timeout=40)
    check(f"{name}: a chunked body over max_body -> 413 with the error shape",
          st == 413 and is_error_shape(body, "bad_request"), f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: chunked body over max_body")
    st, body, _ = raw(url, f"POST {path} HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nfffffffffffffffffff\r\n".encode())
    check(f"{name}: a chunk size over 2^64 -> 4xx or closed", st is None or 400 <= st < 500, f"{st} {str(body)[:200]}")
    still_serving(c, f"{name}: chunk size over 2^64")


def request_ids(c):
    """A client's X-Request-Id is echoed only when it is a short token: no header or log injection through it."""
    for name, url in (("gateway", c.gw), ("kms", c.kms)):
        for bad in ("a" * 200, "id with spaces", "x\tinjected=1", "\u00e9t\u00e9"):
            st, body, hdrs = http("GET", url + "/health", headers={"X-Request-Id": bad})
            rid = hdrs.get("X-Request-Id", "")
            check(f"{name}: X-Request-Id {bad[:12]!r}… replaced by a generated id", st == 200 and rid and rid != bad and
                  len(rid) <= 64 and rid.replace("-", "").replace("_", "").replace(".", "").isalnum(), f"{st} {rid!r}")
        st, body, _ = raw(url, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\n injected: 1\r\nConnection: close\r\n\r\n")
        check(f"{name}: a folded (obs-fold) header line -> 400 or a 200 without injection", st in (200, 400) or st is None,
              f"{st} {str(body)[:200]}")
        still_serving(c, f"{name}: request ids")


def slow_clients(c):
    """Connections that send their headers slower than the connection timeout, or trickle them faster but take
    longer than the request timeout, are closed; meanwhile, and with
    200 idle connections open on each service, every legitimate request is answered."""
    results, idle = {}, []

    def trickle(name, url):
        """One header byte every 5 s: never idle long enough for connection_timeout."""
        req = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 64 + b"\r\n\r\n"
        results["trickle " + name] = noxtest.trickle(url, req, 5)

    def slow(name, url):
        """One header byte per CONNECTION_TIMEOUT + 5 s: idle longer than the timeout."""
        results[name] = noxtest.trickle(url, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                                        CONNECTION_TIMEOUT + 5)

    for url in (c.gw, c.kms):
        for _ in range(200):
            try:
                sk = noxtest.connect(url, 5)
                sk.sendall(b"GET /hea")  # and then nothing
                idle.append(sk)
            except OSError:
                break
    check("400 idle half-sent connections opened", len(idle) == 400, len(idle))
    threads = [threading.Thread(target=f, args=(n, u)) for n, u in (("gateway", c.gw), ("kms", c.kms))
               for f in (slow, trickle)]
    for t in threads:
        t.start()
    served = rounds = 0
    while any(t.is_alive() for t in threads):
        st1, _, _ = http("GET", c.gw + "/health")
        st2, body, _ = http("GET", c.gw + "/v0/secrets/" + c.alice_bal, headers=c.good_user)
        st3, _, _ = http("GET", c.kms + "/health")
        rounds += 1
        served += st1 == 200 and st2 == 200 and st3 == 200 and int.from_bytes(unwrap(c.rsa, body), "big") == ALICE_LEFT
        time.sleep(0.5)
    for name in ("gateway", "kms"):
        closed_after, sent = results.get(name, (None, 0))
        check(f"{name}: a client sending one header byte per {CONNECTION_TIMEOUT + 5} s is closed after the timeout",
              closed_after is not None and CONNECTION_TIMEOUT - 1 <= closed_after <= CONNECTION_TIMEOUT + 10 and sent == 1,
              f"closed after {closed_after} s, {sent} bytes sent")
    for name in ("gateway", "kms"):
        closed_after, sent = results.get("trickle " + name, (None, 0))
        check(f"{name}: a client trickling one header byte per 5 s is closed after the {REQUEST_TIMEOUT} s request "
              "timeout", closed_after is not None and REQUEST_TIMEOUT - 1 <= closed_after <= REQUEST_TIMEOUT + 7
              and 5 <= sent < 80, f"closed after {closed_after} s, {sent} bytes sent")
    check(f"every legitimate request meanwhile answered ({rounds} rounds, with 400 idle connections)",
          rounds > 10 and served == rounds, f"{served}/{rounds}")
    gone = 0
    for sk in idle:
        try:
            sk.settimeout(1)
            gone += sk.recv(1) == b""
        except OSError:
            gone += 1
        sk.close()
    check("the idle connections were closed by the services too", gone == len(idle), f"{gone}/{len(idle)}")
    still_serving(c, "slow and idle clients")


# ---- attacks on the KMS -----------------------------------------------------------------------------

def kms_attacks(c):
    eph, target = c.good_eph, c.rsa_hex
    for who in ("alice", "runner", "kms-wallet", "owner"):
        (r, _) = c.delegate(eph, target, who=who)
        expect(c, f"KMS: delegation signed by {who} (not the Gateway)", r, 401)
    (r, _) = c.delegate(eph, target, chain=1)
    expect(c, "KMS: the Gateway's signature for chain 1's domain, sent for 31337", r, 401)
    (r, _) = c.delegate(eph, target, sig=high_s(c.good_deleg_sig))
    expect(c, "KMS: the high-s twin of the Gateway's signature", r, 401)
    for v in (29, 2, 255):
        (r, _) = c.delegate(eph, target, sig=with_v(c.good_deleg_sig, v))
        expect(c, f"KMS: the Gateway's signature with v = {v}", r, 401)
    other = spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    (r, _) = c.delegate(eph, other, sig=c.good_deleg_sig)
    expect(c, "KMS: a Gateway signature replayed for another target key", r, 401)
    (r, _) = c.delegate(eph, target, sig="0x" + "00" * 65)
    expect(c, "KMS: an all-zero signature", r, 401)

    k = ec.generate_private_key(ec.SECP256K1())
    unc = "0x" + k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint).hex()
    c_hex = compressed(k)
    bad_eph = {"uncompressed point": unc, "prefix 04 with 33 bytes": "0x04" + c_hex[4:],
               "prefix 05": "0x05" + c_hex[4:], "x not on the curve": "0x02" + "00" * 31 + "05",
               "x = p (not a field element)": "0x02" + "ff" * 27 + "fefffffc2f", "32 bytes": c_hex[:-2],
               "34 bytes": c_hex + "00", "not hex": "0x02" + "zz" * 32, "no 0x": c_hex[2:], "empty": "",
               "the point at infinity": "0x00"}
    for name, e in bad_eph.items():
        (r, _) = c.delegate(e, target)
        expect(c, f"KMS: ephemeral key {name}", r, 400, "bad_request")
    pkcs1 = "0x" + c.rsa.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1).hex()
    pem = c.rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    ec_spki = "0x" + k.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).hex()
    der = bytes.fromhex(target[2:])
    bad_targets = {"PKCS#1 RSAPublicKey (not SPKI)": pkcs1, "PEM text": pem, "EC SPKI": ec_spki,
                   "SPKI with trailing bytes": target + "00", "truncated SPKI": target[:-20],
                   "random DER-looking bytes": "0x3082010a" + "41" * 266,
                   "RSA 1024": spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
                   "RSA 2040": spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=2040)),
                   "RSA 2048 with e = 3": spki_hex(rsa.generate_private_key(public_exponent=3, key_size=2048)),
                   "SPKI with a corrupted algorithm OID": "0x" + der.replace(bytes.fromhex("2a864886f70d010101"),
                                                                               bytes.fromhex("2a864886f70d010102")).hex(),
                   "empty": "", "0x only": "0x"}
    for name, t in bad_targets.items():
        (r, _) = c.delegate(eph, t)
        expect(c, f"KMS: target {name}", r, 400, "bad_request")
    (r, _) = c.delegate(eph, target, body=json.dumps({"ephemeralPubKey": eph, "targetPubKey": target, "x": "\u0000"})[:-1])
    expect(c, "KMS: a truncated JSON body", r, 400, "bad_request")
    nul = json.dumps({"ephemeralPubKey": eph + "\u0000", "targetPubKey": target})
    (r, _) = c.delegate(eph, target, body=nul)
    expect(c, "KMS: a NUL inside ephemeralPubKey", r, 400, "bad_request")
    for q in ("31337&chainId=1", "1&chainId=31337", "31337&chainId=5"):
        (r, _) = c.delegate(eph, target, query=q)
        st, body, _ = r
        # the signature binds the chain it is checked against: 200 only when that chain is 31337
        check(f"KMS: chainId={q}: 200 (chain 31337 used) or 4xx with the error shape", st == 200 or
              (st in (400, 401) and "error" in body), f"{st} {body}")
        still_serving(c, f"KMS: chainId={q}")


# ---- 3. the log scan --------------------------------------------------------------------------------

def log_scan(c, log_dir):
    secrets = {}
    for v, what in ((MINTED, "the minted amount"), (SECRET_AMOUNT, "the secret transfer amount"),
                    (ALICE_LEFT, "Alice's balance"), (SECRET_WORD, "the uint256 input")):
        secrets[f"{what} in decimal"] = str(v)
        secrets[f"{what} in hex"] = "%x" % v
    signed = SECRET_WORD - (1 << 256)
    secrets["the uint256 input as int256 decimal"] = str(signed)
    for who, k in c.keys.items():
        secrets[f"the {who} private key"] = k.lower().removeprefix("0x")
        secrets[f"the {who} private key in base64"] = base64.b64encode(bytes.fromhex(k[2:])).decode()
    files = [p for p in glob.glob(os.path.join(log_dir, "**", "*"), recursive=True) if os.path.isfile(p)]
    files += [p for p in glob.glob(os.path.join(c.d.dir, "*.log"))]
    check("log scan: the devnet wrote its service logs", {"gateway.log", "kms.log", "runner.log", "ingestor.log"} <=
          {os.path.basename(p) for p in files}, files)
    total = 0
    for p in files:
        text = open(p, "rb").read().decode(errors="replace")
        if os.path.basename(p) == "anvil.log":
            # anvil's start-up banner lists the public, well-known development keys of its default mnemonic
            # (owner, Alice and Bob are accounts 0..2): scan what it logs after it
            banner_end = text.find("Listening on")
            check("log scan: anvil.log has its banner", banner_end > 0)
            text = text[banner_end:]
        total += len(text)
        low = text.lower()
        check(f"log scan: no sanitizer report in {os.path.basename(p)}", not any(
            m in text for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")), text[-1500:])
        for name, s in secrets.items():
            hay = text if "base64" in name else low
            idx = hay.find(s if "base64" in name else s.lower())
            check(f"log scan: {name} not in {os.path.relpath(p, c.d.dir)}", idx < 0,
                  "…" + text[max(0, idx - 120):idx + len(s) + 40] + "…")
    check("log scan: the logs are not empty", total > 10000, total)
    # a control: the scanner finds what the services do log (the Gateway logs its own, public, address)
    gw_log = open(os.path.join(log_dir, "gateway.log"), errors="replace").read().lower()
    check("log scan control: the Gateway's public address is found in gateway.log", c.addr["gateway"][2:] in gw_log)


def no_core_dumps(devnet):
    """Every service that holds keys or plaintexts runs with RLIMIT_CORE 0 (soft and hard), read from
    /proc/PID/limits; a control: PostgreSQL, started by the devnet itself, has its own (non-zero or unlimited)."""
    def core_limit(name):
        with open(os.path.join(devnet.dir, "pids", name + ".pid")) as f:
            pid = int(f.read().split()[0])
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max core file size"):
                    return line.split()[4:6]
        return None
    for svc in ("kms", "gateway", "runner", "ingestor"):
        got = core_limit(svc)
        check(f"{svc}: no core dump (RLIMIT_CORE 0 0 in /proc/PID/limits)", got == ["0", "0"], got)
    nats = core_limit("nats")
    if CORE_RAISED:
        check("control: nats-server (not ours) keeps the raised limit it inherited from the test",
              nats is not None and nats != ["0", "0"], nats)


def body(devnet, work):
    c = Ctx(devnet, work)
    no_core_dumps(devnet)
    if not flow(c):
        return
    still_serving(c, "the flow")
    gateway_user_attacks(c)
    gateway_runner_attacks(c)
    gateway_bad_handles(c)
    json_bombs(c)
    limits(c, "gateway", c.gw, 128 * 1024, 1 << 20)
    limits(c, "kms", c.kms, 16 * 1024, 256 * 1024)   # the KMS default (a 1024-key partials request is ~75 KiB)
    kms_attacks(c)
    request_ids(c)
    slow_clients(c)
    for svc in ("gateway", "kms"):
        log = devnet.log(svc)
        check(f"{svc}: nothing crashed or logged an internal error", "AddressSanitizer" not in log and
              "runtime error" not in log and "set no response" not in log, log[-1500:])
    r = devnet.down()
    check("devnet down", r.returncode == 0, r.stdout + r.stderr)
    log_scan(c, os.path.join(devnet.dir, "logs"))


def raise_core_limit():
    """Raises this process's RLIMIT_CORE (inherited by the devnet) so that a service that forgot to drop it
    would show it: unlimited as root, else the hard limit. True when the soft limit is then above 0."""
    import resource
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_CORE)[0] != 0


if __name__ == "__main__":
    CORE_RAISED = raise_core_limit()
    sys.exit(e2elib.run_on_devnet(BIN, "security", body))
