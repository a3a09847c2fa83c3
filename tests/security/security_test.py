#!/usr/bin/python3
"""Security tests (label "security") against a real devnet (scripts/devnet.sh in a temporary directory:
PostgreSQL, nats-server, anvil + contracts, the KMS — the default 2-of-3 threshold group of nox-kms nodes kms, kms2,
kms3, as production runs it (docs/PROTOCOL-EXTENSIONS.md §11) — nox-gateway, nox-runner, nox-ingestor).

usage: security_test.py BIN_DIR        (NOX_CAST: the cast binary, as for the e2e tests)

1. A flow with distinctive values: the owner mints 987654321987654321 to Alice, Alice sends a secret
   123456789123 to Bob, both balances decrypted (noxctl and by hand); a uint256 0x5ec2e75ec2e7… input
   encrypted through the Gateway and read back as the Runner.
2. Attacks on the Gateway (spec §7) and on every KMS node's POST /v0/delegate/partials (§11): forged, absent and
   garbled Bearer signatures, expired, replayed (another target key, other ephemeral keys), cross-chain, malleated
   (high s), bad-v and over-long authorizations; bad points and RSA keys; a stranger as Runner; bad handles;
   oversized headers and bodies; slow and idle connections. Each answer is the right 4xx with the JSON error
   shape, and after each attack the Gateway and every KMS node still answer /health 200 and legitimate requests:
   a user's GET /v0/secrets (decrypted from t partials), and a Gateway-signed PartialDelegationAuthorization to
   every node whose envelope opens with the test's RSA key, holds R_i = d_i·K (d_i read from DIR/kms/share-i.key)
   and combines, from any t nodes (Lagrange), to the x of the test's own ECDH with P. The spec §8 endpoints
   POST /v0/delegate and /v0/delegate/batch of a 2-of-3 node answer a genuine request 409 threshold_share (and a
   forged one 401).
3. No core dumps: /proc/PID/limits of every KMS node, the Gateway, the Runner and the Ingestor says RLIMIT_CORE 0.
4. Log scan: after `devnet.sh down`, no log of the devnet holds a test plaintext (decimal or hex), a private key
   (owner, Alice, Bob, Gateway, Runner and Ingestor wallets, every KMS share and node wallet) or the partials and
   shared secret of the test's delegation.
5. The single key (spec §8, `devnet.sh up --kms 1-of-1`, a second devnet, ~10 s): its one node still serves
   /v0/delegate and /v0/delegate/batch — the x it wraps is the ECDH of DIR/kms/kms.key, and forged, malleated and
   replayed signatures get 401 there — and /v0/delegate/partials with t = 1; the Gateway's answers carry threshold 1;
   its logs hold neither kms.key nor a plaintext.

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

from cryptography.exceptions import InvalidTag  # noqa: E402
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
CONNECTION_TIMEOUT = 30  # core/net/http_server.c: nox_http_options_default
REQUEST_TIMEOUT = 30     # the same: a request must arrive within this many seconds of its connection being ready

MINTED = 987654321987654321            # public (mint amount), but distinctive
SECRET_AMOUNT = 123456789123           # Alice -> Bob, encrypted
ALICE_LEFT = MINTED - SECRET_AMOUNT
SECRET_WORD = int("5ec2e7" * 10 + "5ec2", 16)  # a uint256 input

USER_FIELDS = [("userAddress", "address"), ("encryptionPubKey", "string"), ("notBefore", "uint256"),
               ("expiresAt", "uint256")]
TX = "0x" + "ab" * 32
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
PARTIAL_FIELDS = [("ephemeralPubKeys", "string[]"), ("targetPubKey", "string")]
KMS_DOMAIN = lambda chain: {"name": "ProtocolDelegate", "version": "1", "chainId": chain}  # noqa: E731


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
        self.gw, self.rpc = devnet["NOX_GATEWAY_URL"], devnet["NOX_RPC_URL"]
        # every KMS node, in node order (NOX_KMS_URL is node 1's)
        self.kms_urls = (devnet.env.get("NOX_KMS_URLS") or devnet["NOX_KMS_URL"]).split(",")
        self.kms = self.kms_urls[0]
        self.group = json.load(open(devnet["NOX_KMS_GROUP_FILE"]))
        self.t = self.group["threshold"]
        self.compute, self.token = devnet["NOX_COMPUTE_ADDRESS"], devnet["NOX_TOKEN_ADDRESS"]
        kd = os.path.join(devnet.dir, "keys")
        self.keyfiles = {w: os.path.join(kd, w + ".key") for w in ("owner", "alice", "bob")}
        self.keyfiles["gateway"] = os.path.join(kd, "gateway-wallet.key")
        self.keyfiles["runner"] = os.path.join(kd, "runner-wallet.key")
        self.keyfiles["ingestor"] = os.path.join(kd, "ingestor-wallet.key")   # signs every queue message
        # the KMS: each node's share (a threshold group) or the single key (1-of-1: the share of node 1 is d), and
        # each node's wallet (kms-wallet.key, kms2-wallet.key, ...)
        kd = os.path.join(devnet.dir, "kms")
        self.share_files = {i: os.path.join(kd, f"share-{i}.key") for i in range(1, len(self.kms_urls) + 1)}
        if not os.path.exists(self.share_files[1]):
            self.share_files = {1: os.path.join(kd, "kms.key")}
        for i, path in self.share_files.items():
            self.keyfiles[f"kms share {i}"] = path
        for i in range(1, len(self.kms_urls) + 1):
            self.keyfiles["kms-wallet" if i == 1 else f"kms{i}-wallet"] = os.path.join(
                kd, ("kms" if i == 1 else f"kms{i}") + "-wallet.key")
        self.keys = {w: open(p).read().strip() for w, p in self.keyfiles.items()}
        self.shares = {i: int(self.keys[f"kms share {i}"], 16) for i in self.share_files}
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

    # DelegateAuthorization (spec §8: served by a 1-of-1 node only; 409 threshold_share on a t > 1 node)
    def delegate(self, eph, target, who="gateway", chain=CHAIN, sig=None, body=None, query=None, url=None):
        data = typed_data("DelegateAuthorization", [("ephemeralPubKey", "string"), ("targetPubKey", "string")],
                          noxtest.CHAIN_DOMAIN, KMS_DOMAIN(chain), {"ephemeralPubKey": eph, "targetPubKey": target})
        sig = sig or self.sign(data, who)
        text = body if body is not None else json.dumps({"ephemeralPubKey": eph, "targetPubKey": target})
        return http("POST", f"{url or self.kms}/v0/delegate?chainId={query or CHAIN}", text,
                    {"Content-Type": "application/json", "Authorization": "Bearer " + sig}), sig

    # DelegateBatchAuthorization (PROTOCOL-EXTENSIONS §4; a 1-of-1 node only)
    def delegate_batch(self, ephs, target, who="gateway", url=None):
        data = typed_data("DelegateBatchAuthorization", PARTIAL_FIELDS, noxtest.CHAIN_DOMAIN, KMS_DOMAIN(CHAIN),
                          {"ephemeralPubKeys": ephs, "targetPubKey": target})
        return http("POST", f"{url or self.kms}/v0/delegate/batch?chainId={CHAIN}",
                    json.dumps({"ephemeralPubKeys": ephs, "targetPubKey": target}),
                    {"Content-Type": "application/json", "Authorization": "Bearer " + self.sign(data, who)})

    # PartialDelegationAuthorization (PROTOCOL-EXTENSIONS §11): one signature serves every node
    def partials_sig(self, ephs, target, who="gateway", chain=CHAIN):
        data = typed_data("PartialDelegationAuthorization", PARTIAL_FIELDS, noxtest.CHAIN_DOMAIN, KMS_DOMAIN(chain),
                          {"ephemeralPubKeys": ephs, "targetPubKey": target})
        return self.sign(data, who)

    def post_partials(self, url, ephs, target, sig, body=None, query=None, auth=None, timeout=10):
        text = body if body is not None else json.dumps({"ephemeralPubKeys": ephs, "targetPubKey": target})
        hdr = {"Content-Type": "application/json"}
        if auth is None:
            hdr["Authorization"] = "Bearer " + sig
        elif auth:                 # auth="": no Authorization header at all
            hdr["Authorization"] = auth
        return http("POST", f"{url}/v0/delegate/partials?chainId={query or CHAIN}", text, hdr, timeout=timeout)

    def partials(self, ephs, target, who="gateway", chain=CHAIN, sig=None, body=None, query=None, auth=None):
        """The same request (one signature) to every node: ([(status, body, headers)] in node order, sig)."""
        sig = sig or (None if auth is not None else self.partials_sig(ephs, target, who, chain))
        return [self.post_partials(u, ephs, target, sig, body, query, auth) for u in self.kms_urls], sig


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
    # what a legitimate delegation must give: the x of the test's own ECDH with P, and each node's R_i = d_i·K
    c.good_x = c.good_eph_key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256K1(), bytes.fromhex(c.d["NOX_KMS_PUBLIC_KEY"][2:])))
    k = noxthreshold.decompress(bytes.fromhex(c.good_eph[2:]))
    c.good_r = {i: noxthreshold.compress(noxthreshold.mul(s, k)) for i, s in c.shares.items()}
    check("flow: d·K from t shares (Lagrange over DIR/kms/share-i.key) has the x of the test's ECDH with P",
          noxthreshold.combine({i: c.good_r[i] for i in sorted(c.good_r)[:c.t]}) == c.good_x)
    # the spec §8 endpoints of a t > 1 node: a genuine request authenticates, then 409 (its d_i·K is not x)
    for i, url in enumerate(c.kms_urls, 1):
        (st, body, _), c.good_deleg_sig = c.delegate(c.good_eph, c.rsa_hex, url=url)
        check(f"flow: KMS node {i}: a genuine POST /v0/delegate -> 409 threshold_share",
              st == 409 and is_error_shape(body, "threshold_share"), f"{st} {body}")
        st, body, _ = c.delegate_batch([c.good_eph], c.rsa_hex, url=url)
        check(f"flow: KMS node {i}: a genuine POST /v0/delegate/batch -> 409 threshold_share",
              st == 409 and is_error_shape(body, "threshold_share"), f"{st} {body}")
    answers, c.good_partials_sig = c.partials([c.good_eph], c.rsa_hex)
    check("flow: a legitimate partials request to every node: each envelope opens with the test's RSA key, holds "
          "R_i = d_i·K with a DLEQ proof that holds, and t of them combine to x", partials_ok(c, answers, proofs=True),
          str(answers)[:300])
    return True


def partials_ok(c, answers, proofs=False):
    """Every node answered 200 with an envelope that opens with the test's RSA key and holds R_i = d_i·K for the good
    ephemeral key; the first t combine (Lagrange) to the x of the test's own ECDH."""
    got = {}
    for i, (st, body, _) in enumerate(answers, 1):
        if st != 200 or body.get("node") != i:
            return False
        items = noxthreshold.open_envelope(c.rsa, body, CHAIN)
        (k, r), = items
        if k.hex() != c.good_eph[2:] or r != c.good_r[i]:
            return False
        if proofs and not noxthreshold.dleq_verify(bytes.fromhex(c.group["verificationKeys"][i - 1][2:]), items,
                                                   items.proof):
            return False
        got[i] = r
    return noxthreshold.combine({i: got[i] for i in sorted(got)[:c.t]}) == c.good_x


def still_serving(c, after):
    """The Gateway and every KMS node answer /health 200 and legitimate requests: a user's GET /v0/secrets, and a
    Gateway-signed partials request to every node (opened, checked against d_i·K, t of them combined to x)."""
    ok, st, body = True, None, None
    for name, url in [("gateway", c.gw)] + [(f"kms node {i}", u) for i, u in enumerate(c.kms_urls, 1)]:
        try:
            st, body, _ = http("GET", url + "/health")
        except OSError as e:
            st, body = None, f"{name}: {e}"
        ok = ok and st == 200 and body == {"status": "ok"}
    try:
        st, body, _ = http("GET", c.gw + "/v0/secrets/" + c.alice_bal, headers=c.good_user)
        ok = ok and st == 200 and int.from_bytes(unwrap(c.rsa, body), "big") == ALICE_LEFT
        answers, _ = c.partials([c.good_eph], c.rsa_hex, sig=c.good_partials_sig)
        body = [a[:2] for a in answers if a[0] != 200] or body
        ok = ok and partials_ok(c, answers)
    except (OSError, ValueError, KeyError, TypeError, InvalidTag) as e:
        ok, body = False, repr(e)
    check(f"after {after}: /health 200 and legitimate requests answered", ok, f"{st} {str(body)[:200]}")


def expect(c, name, resp, status, code="unauthorized", says=None):
    """resp: one answer, or a list of every KMS node's answers to the same attack; then still_serving once."""
    for i, (st, body, _) in enumerate(resp if isinstance(resp, list) else [resp], 1):
        node = f" (node {i})" if isinstance(resp, list) else ""
        check(f"{name}{node} -> {status} {code}", st == status and is_error_shape(body, code) and
              (says is None or says in body.get("message", "")), f"{st} {str(body)[:300]}")
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
    expect(c, "KMS partials: 10,000-deep JSON body", c.partials([c.good_eph], c.rsa_hex, sig=c.good_partials_sig,
                                                             body='{"a":' * 10000 + "1" + "}" * 10000)[0],
           400, "bad_request")


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
    path = "/v0/secrets" if name == "gateway" else f"/v0/delegate/partials?chainId={CHAIN}"
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


def services(c):
    """(name, url) of the Gateway and of every KMS node."""
    return [("gateway", c.gw)] + [("kms" if i == 1 else f"kms{i}", u) for i, u in enumerate(c.kms_urls, 1)]


def request_ids(c):
    """A client's X-Request-Id is echoed only when it is a short token: no header or log injection through it."""
    for name, url in services(c):
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

    for _, url in services(c):
        for _ in range(200):
            try:
                sk = noxtest.connect(url, 5)
                sk.sendall(b"GET /hea")  # and then nothing
                idle.append(sk)
            except OSError:
                break
    n_idle = 200 * len(services(c))
    check(f"{n_idle} idle half-sent connections opened (200 per service)", len(idle) == n_idle, len(idle))
    threads = [threading.Thread(target=f, args=(n, u)) for n, u in services(c) for f in (slow, trickle)]
    for t in threads:
        t.start()
    served = rounds = 0
    while any(t.is_alive() for t in threads):
        st1, _, _ = http("GET", c.gw + "/health")
        st2, body, _ = http("GET", c.gw + "/v0/secrets/" + c.alice_bal, headers=c.good_user)
        st3 = [http("GET", u + "/health")[0] for u in c.kms_urls]
        rounds += 1
        served += st1 == 200 and st2 == 200 and st3 == [200] * len(c.kms_urls) and \
            int.from_bytes(unwrap(c.rsa, body), "big") == ALICE_LEFT
        time.sleep(0.5)
    for name, _ in services(c):
        closed_after, sent = results.get(name, (None, 0))
        check(f"{name}: a client sending one header byte per {CONNECTION_TIMEOUT + 5} s is closed after the timeout",
              closed_after is not None and CONNECTION_TIMEOUT - 1 <= closed_after <= CONNECTION_TIMEOUT + 10 and sent == 1,
              f"closed after {closed_after} s, {sent} bytes sent")
    for name, _ in services(c):
        closed_after, sent = results.get("trickle " + name, (None, 0))
        check(f"{name}: a client trickling one header byte per 5 s is closed after the {REQUEST_TIMEOUT} s request "
              "timeout", closed_after is not None and REQUEST_TIMEOUT - 1 <= closed_after <= REQUEST_TIMEOUT + 7
              and 5 <= sent < 80, f"closed after {closed_after} s, {sent} bytes sent")
    check(f"every legitimate request meanwhile answered ({rounds} rounds, with {n_idle} idle connections)",
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
    """Every attack on POST /v0/delegate/partials goes to every KMS node (one signature serves them all)."""
    eph, target, good = c.good_eph, c.rsa_hex, c.good_partials_sig
    for who in ("alice", "runner", "kms-wallet", "owner"):
        expect(c, f"KMS partials: signed by {who} (not the Gateway)", c.partials([eph], target, who=who)[0], 401)
    expect(c, "KMS partials: no Authorization header", c.partials([eph], target, auth="")[0], 401)
    for name, auth in (("'Bearer' and nothing", "Bearer "), ("'Bearer' + non-hex", "Bearer 0x" + "zz" * 65),
                       ("'Bearer' + 64 bytes", "Bearer " + good[:-2]), ("'Bearer' + 66 bytes", "Bearer " + good + "1b"),
                       ("the signature without 0x", "Bearer " + good[2:]), ("scheme 'Basic'", "Basic " + good),
                       ("scheme 'bearer' twice", "Bearer Bearer " + good), ("a 4 KB Bearer", "Bearer 0x" + "ab" * 2000)):
        expect(c, f"KMS partials: Authorization {name}", c.partials([eph], target, auth=auth)[0], 401)
    expect(c, "KMS partials: the Gateway's signature for chain 1's domain, sent for 31337",
           c.partials([eph], target, chain=1)[0], 401)
    expect(c, "KMS partials: the high-s twin of the Gateway's signature", c.partials([eph], target, sig=high_s(good))[0],
           401)
    for v in (29, 2, 255):
        expect(c, f"KMS partials: the Gateway's signature with v = {v}", c.partials([eph], target, sig=with_v(good, v))[0],
               401)
    other = spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    expect(c, "KMS partials: a Gateway signature replayed for another target key", c.partials([eph], other, sig=good)[0],
           401)
    k2 = compressed(ec.generate_private_key(ec.SECP256K1()))
    expect(c, "KMS partials: a Gateway signature replayed with one more ephemeral key",
           c.partials([eph, k2], target, sig=good)[0], 401)
    expect(c, "KMS partials: a Gateway signature replayed as the spec's DelegateAuthorization body",
           c.partials([eph], target, sig=good, body=json.dumps({"ephemeralPubKey": eph, "targetPubKey": target}))[0],
           400, "bad_request")
    expect(c, "KMS partials: an all-zero signature", c.partials([eph], target, sig="0x" + "00" * 65)[0], 401)
    # the spec §8 endpoints of a t > 1 node: the signature first (401), then 409
    if c.t > 1:
        expect(c, "KMS /v0/delegate: signed by Alice", [c.delegate(eph, target, who="alice", url=u)[0]
                                                        for u in c.kms_urls], 401)
        expect(c, "KMS /v0/delegate: the Gateway's genuine signature on a 2-of-3 node",
               [c.delegate(eph, target, sig=c.good_deleg_sig, url=u)[0] for u in c.kms_urls], 409, "threshold_share")

    k = ec.generate_private_key(ec.SECP256K1())
    unc = "0x" + k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint).hex()
    c_hex = compressed(k)
    bad_eph = {"uncompressed point": unc, "prefix 04 with 33 bytes": "0x04" + c_hex[4:],
               "prefix 05": "0x05" + c_hex[4:], "x not on the curve": "0x02" + "00" * 31 + "05",
               "x = p (not a field element)": "0x02" + "ff" * 27 + "fefffffc2f", "32 bytes": c_hex[:-2],
               "34 bytes": c_hex + "00", "not hex": "0x02" + "zz" * 32, "no 0x": c_hex[2:], "empty": "",
               "the point at infinity": "0x00"}
    for name, e in bad_eph.items():   # the bad key second: the 400 names it
        expect(c, f"KMS partials: ephemeral key [1] {name}", c.partials([eph, e], target)[0], 400, "bad_request",
               says="ephemeralPubKeys[1]")
    for name, keys in (("an empty list", []), ("1025 keys (over the maximum)", [eph] * 1025)):
        expect(c, f"KMS partials: ephemeralPubKeys {name}", c.partials(keys, target, sig=good)[0], 400, "bad_request")
    for name, b in (("a number in ephemeralPubKeys", {"ephemeralPubKeys": [eph, 5], "targetPubKey": target}),
                    ("ephemeralPubKeys a string", {"ephemeralPubKeys": eph, "targetPubKey": target}),
                    ("no targetPubKey", {"ephemeralPubKeys": [eph]}),
                    ("targetPubKey an array", {"ephemeralPubKeys": [eph], "targetPubKey": [target]}),
                    ("a JSON array body", [eph, target])):
        expect(c, f"KMS partials: {name}", c.partials([eph], target, sig=good, body=json.dumps(b))[0], 400,
               "bad_request")
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
        expect(c, f"KMS partials: target {name}", c.partials([eph], t)[0], 400, "bad_request")
    body = json.dumps({"ephemeralPubKeys": [eph], "targetPubKey": target, "x": "\u0000"})[:-1]
    expect(c, "KMS partials: a truncated JSON body", c.partials([eph], target, sig=good, body=body)[0], 400,
           "bad_request")
    nul = json.dumps({"ephemeralPubKeys": [eph + "\u0000"], "targetPubKey": target})
    expect(c, "KMS partials: a NUL inside an ephemeral key", c.partials([eph], target, sig=good, body=nul)[0], 400,
           "bad_request")
    for q in ("31337&chainId=1", "1&chainId=31337", "31337&chainId=5"):
        answers, _ = c.partials([eph], target, sig=good, query=q)
        for i, (st, body, _) in enumerate(answers, 1):
            # the signature binds the chain it is checked against: 200 only when that chain is 31337
            check(f"KMS partials: chainId={q} (node {i}): 200 (chain 31337 used) or 4xx with the error shape",
                  st == 200 or (st in (400, 401) and "error" in body), f"{st} {body}")
        still_serving(c, f"KMS partials: chainId={q}")
    # the largest legitimate request: 1024 keys, one envelope of 1024 items, one RSA-OAEP
    keys = [compressed(ec.generate_private_key(ec.SECP256K1())) for _ in range(1024)]
    st, body, _ = c.post_partials(c.kms, keys, target, c.partials_sig(keys, target), timeout=60)
    try:
        items = noxthreshold.open_envelope(c.rsa, body, CHAIN) if st == 200 else []
    except (ValueError, InvalidTag) as e:
        items, body = [], repr(e)
    check("KMS partials: 1024 keys (the maximum) -> 200, one envelope of 1024 items in request order",
          len(items) == 1024 and [it[0].hex() for it in items] == [k[2:] for k in keys], f"{st} {str(body)[:200]}")
    still_serving(c, "KMS partials: 1024 keys")


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
    # the test's delegation: each node's partial and the shared secret (x-coordinates in hex: also covers the
    # compressed and x‖y forms)
    for i, r in getattr(c, "good_r", {}).items():
        secrets[f"node {i}'s partial of the test's delegation"] = r[1:].hex()
    if getattr(c, "good_x", None):
        secrets["the shared secret of the test's delegation"] = c.good_x.hex()
    files = [p for p in glob.glob(os.path.join(log_dir, "**", "*"), recursive=True) if os.path.isfile(p)]
    files += [p for p in glob.glob(os.path.join(c.d.dir, "*.log"))]
    check("log scan: the devnet wrote its service logs", {"gateway.log", "runner.log", "ingestor.log"} |
          {name + ".log" for name, _ in services(c)[1:]} <=
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


def no_core_dumps(devnet, kms_nodes):
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
    for svc in kms_nodes + ["gateway", "runner", "ingestor"]:
        got = core_limit(svc)
        check(f"{svc}: no core dump (RLIMIT_CORE 0 0 in /proc/PID/limits)", got == ["0", "0"], got)
    nats = core_limit("nats")
    if CORE_RAISED:
        check("control: nats-server (not ours) keeps the raised limit it inherited from the test",
              nats is not None and nats != ["0", "0"], nats)


def body(devnet, work):
    c = Ctx(devnet, work)
    check(f"the devnet runs the default threshold KMS ({devnet['NOX_KMS_THRESHOLD']}: nodes "
          f"{', '.join(n for n, _ in services(c)[1:])})", c.t > 1 and len(c.kms_urls) >= c.t and len(c.shares) ==
          len(c.kms_urls), devnet.env.get("NOX_KMS_THRESHOLD"))
    no_core_dumps(devnet, [n for n, _ in services(c)[1:]])
    if not flow(c):
        return
    still_serving(c, "the flow")
    gateway_user_attacks(c)
    gateway_runner_attacks(c)
    gateway_bad_handles(c)
    json_bombs(c)
    limits(c, "gateway", c.gw, 128 * 1024, 1 << 20)
    for name, url in services(c)[1:]:   # the KMS default (a 1024-key partials request is ~75 KiB)
        limits(c, name, url, 16 * 1024, 256 * 1024)
    kms_attacks(c)
    request_ids(c)
    slow_clients(c)
    for svc, _ in services(c):
        log = devnet.log(svc)
        check(f"{svc}: nothing crashed or logged an internal error", "AddressSanitizer" not in log and
              "runtime error" not in log and "set no response" not in log, log[-1500:])
    r = devnet.down()
    check("devnet down", r.returncode == 0, r.stdout + r.stderr)
    log_scan(c, os.path.join(devnet.dir, "logs"))
    single_key(work)


# ---- 5. the single key (spec §8) -----------------------------------------------------------------------------

def single_key(work):
    """A second devnet, `up --kms 1-of-1`: what only a single-key node does — the spec §8 endpoints — with the x
    checked against DIR/kms/kms.key, the signature attacks on them, and partials with t = 1."""
    devnet = e2elib.Devnet(BIN, os.path.join(work, "single"), NOX_DEVNET_KMS="1-of-1")
    os.makedirs(devnet.work, exist_ok=True)
    try:
        devnet.up()
        c = Ctx(devnet, devnet.work)
        if not check("1-of-1: a second devnet with the single key (--kms 1-of-1)", devnet["NOX_KMS_THRESHOLD"] ==
                     "1-of-1" and c.t == 1 and len(c.kms_urls) == 1 and c.share_files[1].endswith("kms.key"),
                     devnet.env.get("NOX_KMS_THRESHOLD")):
            return
        d = c.shares[1]
        eph_key = ec.generate_private_key(ec.SECP256K1())
        eph = compressed(eph_key)
        k = noxthreshold.decompress(bytes.fromhex(eph[2:]))
        x = noxthreshold.mul(d, k)[0].to_bytes(32, "big")
        check("1-of-1: d·K from kms.key is the x of the test's ECDH with P", x == eph_key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), bytes.fromhex(
                devnet["NOX_KMS_PUBLIC_KEY"][2:]))))
        (st, body, _), sig = c.delegate(eph, c.rsa_hex)
        got = c.rsa.decrypt(bytes.fromhex(body["encryptedSharedSecret"][2:]), OAEP) if st == 200 else None
        check("1-of-1: POST /v0/delegate (spec §8) -> 200, encryptedSharedSecret opens to (d·K).x", got == x,
              f"{st} {str(body)[:200]}")
        others = [compressed(ec.generate_private_key(ec.SECP256K1())) for _ in range(3)]
        st, body, _ = c.delegate_batch([eph] + others, c.rsa_hex)
        got = [c.rsa.decrypt(bytes.fromhex(e[2:]), OAEP) for e in body.get("encryptedSharedSecrets", [])] \
            if st == 200 else []
        want = [noxthreshold.mul(d, noxthreshold.decompress(bytes.fromhex(e[2:])))[0].to_bytes(32, "big")
                for e in [eph] + others]
        check("1-of-1: POST /v0/delegate/batch -> 200, each secret = (d·K).x in order", got == want,
              f"{st} {str(body)[:200]}")
        for name, (r, _) in (("signed by Alice", c.delegate(eph, c.rsa_hex, who="alice")),
                             ("the high-s twin of the Gateway's signature", c.delegate(eph, c.rsa_hex, sig=high_s(sig))),
                             ("the Gateway's signature replayed for another target key",
                              c.delegate(eph, spki_hex(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                                         sig=sig)),
                             ("the Gateway's signature for chain 1's domain", c.delegate(eph, c.rsa_hex, chain=1))):
            st, body, _ = r
            check(f"1-of-1: /v0/delegate {name} -> 401", st == 401 and is_error_shape(body, "unauthorized"),
                  f"{st} {body}")
        answers, _ = c.partials([eph], c.rsa_hex)
        st, body, _ = answers[0]
        items = noxthreshold.open_envelope(c.rsa, body, CHAIN) if st == 200 else []
        check("1-of-1: POST /v0/delegate/partials -> 200, its one partial is d·K itself (t = 1, λ = 1)",
              len(items) == 1 and items[0][1] == noxthreshold.compress(noxthreshold.mul(d, k)), f"{st} {str(body)[:200]}")
        st, body, _ = http("POST", c.gw + "/v0/secrets", json.dumps({
            "value": "0x%064x" % SECRET_WORD, "solidityType": "uint256", "owner": c.addr["alice"],
            "applicationContract": c.token}), {"Content-Type": "application/json"})
        if check("1-of-1: POST /v0/secrets", st == 200, f"{st} {body}"):
            st, body, _ = http("GET", c.gw + "/v0/compute/operands", headers=c.operand_auth([body["handle"]]))
            check("1-of-1: the Gateway's answer carries threshold 1 and one envelope; the value decrypts",
                  st == 200 and body.get("threshold") == 1 and len(body.get("delegations", [])) == 1 and
                  unwrap(c.rsa, body["operands"][0], body) == SECRET_WORD.to_bytes(32, "big"), f"{st} {str(body)[:200]}")
        r = devnet.down()
        check("1-of-1: devnet down", r.returncode == 0, r.stdout + r.stderr)
        logs = {p: open(p, errors="replace").read().lower()
                for p in glob.glob(os.path.join(devnet.dir, "logs", "*.log"))}
        leaks = [(w, os.path.basename(p)) for w in ("kms share 1", "kms-wallet", "gateway")
                 for p, t in logs.items() if c.keys[w].lower().removeprefix("0x") in t]
        leaks += [("x", os.path.basename(p)) for p, t in logs.items() if x.hex() in t]
        leaks += [("the uint256 input", os.path.basename(p)) for p, t in logs.items() if "%x" % SECRET_WORD in t]
        check(f"1-of-1: no log ({len(logs)}) holds kms.key, the KMS or Gateway wallet key, the test's x or plaintext",
              len(logs) >= 4 and not leaks, leaks)
    finally:
        devnet.down()


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
