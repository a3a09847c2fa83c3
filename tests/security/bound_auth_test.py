#!/usr/bin/python3
"""[authn] attack 2 on a real devnet: a captured Runner header cannot write a forged balance or fail a handle
(docs/PROTOCOL-EXTENSIONS.md §7, label "security").

usage: bound_auth_test.py BIN_DIR        (NOX_CAST: the cast binary, as for the e2e tests)

The attack, before §7: the owner mints 500 (the total supply) to Alice; while the Runner is down, Alice sends 100
to Bob, whose new balance handle is pending; Bob, holding one Runner header captured from the wire or a proxy log,
POSTs a ciphertext of 1,000,000,000 under his pending balance handle (ECIES to the public KMS key: no secret is
needed), then spends it; or marks the handle failed through POST /v0/compute/failures.

Here the attacker holds headers, not the Runner's key: the test signs, with the devnet's Runner wallet key, exactly
what a Runner would sign for a legitimate body (the transfer's true results; an unrelated result set and failure
record), and then reuses each header as an attacker would. Every reuse is refused with 401 and the rule that
failed — another body (single and batched), the spec §4.4 form (which the devnet's Gateway no longer accepts),
a header past its window — and, as controls, each header is accepted with its own body while valid. When the
Runner comes back, Bob's balance is what the transfer computed (100), the total supply still 500, nothing
conflicted, and Bob cannot spend 1,000,000.
NOX_TEST_VERBOSE=1 prints passing checks too. Ends with "N passed, M failed".
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2elib  # noqa: E402
from e2elib import check, noxtest  # noqa: E402
from noxtest import http, is_error_shape, typed_data  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: E402

if len(sys.argv) != 2:
    print("usage: bound_auth_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
NOXCTL = os.path.join(BIN, "noxctl")
CAST = e2elib.cast_path()
CHAIN = 31337
MINTED, SENT, FORGED = 500, 100, 1_000_000_000
LEGACY_FIELDS = [("chainId", "uint256"), ("blockNumber", "uint256"), ("caller", "address"),
                 ("transactionHash", "string")]


def ecies(kms_pub, plain):
    """What anyone can make: plain ECIES-encrypted to the public KMS key (spec §4.1)."""
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), bytes.fromhex(kms_pub[2:]))
    k = ec.generate_private_key(ec.SECP256K1())
    key = HKDF(hashes.SHA256(), 32, b"\0" * 32, b"ECIES:AES_GCM:v1").derive(k.exchange(ec.ECDH(), pub))
    nonce = os.urandom(12)
    kpub = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return "0x" + AESGCM(key).encrypt(nonce, plain, None).hex(), "0x" + kpub.hex(), "0x" + nonce.hex()


def result(kms_pub, handle, plain):
    """A result as a Runner posts it: ciphertext, key, nonce and handleValueTag = keccak256(handle ‖ plaintext)."""
    ct, k, nonce = ecies(kms_pub, plain)
    tag = noxtest.cast_keccak(CAST, bytes.fromhex(handle[2:]) + plain)
    return {"handle": handle, "handleValueTag": "0x" + tag.hex(), "ciphertext": ct, "publicKey": k, "nonce": nonce}


class Runner:
    """What the devnet's Runner signs (its wallet key, read from the devnet): here only to make headers that an
    attacker then captures; the attacker's requests below reuse them and never sign anything."""

    def __init__(self, devnet, work):
        self.work = work
        self.key = open(os.path.join(devnet.dir, "keys", "runner-wallet.key")).read().strip()
        self.gateway = devnet["NOX_GATEWAY_ADDRESS"]

    def head(self, tx, win):
        nb, ex = win or noxtest.window()
        return {"chainId": CHAIN, "blockNumber": tx["block"], "caller": tx["caller"], "transactionHash": tx["hash"],
                "notBefore": nb, "expiresAt": ex}

    def results(self, tx, results, win=None):
        n, d = noxtest.results_digest(CAST, results)
        return noxtest.bound_auth(CAST, self.work, self.key, self.gateway, "ResultPublishingAuthorizationV2",
                                  dict(self.head(tx, win), resultCount=n, resultsDigest=d))

    def failures(self, tx, records, win=None):
        n, d = noxtest.records_digest(CAST, records)
        return noxtest.bound_auth(CAST, self.work, self.key, self.gateway, "FailureRecordingAuthorization",
                                  dict(self.head(tx, win), recordCount=n, recordsDigest=d))

    def legacy(self, tx):
        """Spec §4.4's ResultPublishingAuthorization (the header of the attack as first demonstrated)."""
        p = {k: v for k, v in self.head(tx, None).items() if k not in ("notBefore", "expiresAt")}
        data = typed_data("ResultPublishingAuthorization", LEGACY_FIELDS, noxtest.CHAIN_DOMAIN,
                          {"name": "Handle Gateway", "version": "1", "chainId": CHAIN}, p)
        return {"payload": p, "signature": noxtest.cast_sign(CAST, self.work, data, self.key)}


def refused(name, resp, *needles):
    st, body, _ = resp
    return check(f"{name} -> 401 naming the rule", st == 401 and is_error_shape(body, "unauthorized") and
                 all(n in body["message"] for n in needles), f"{st} {str(body)[:400]}")


def body(devnet, work):
    gw, kms_pub = devnet["NOX_GATEWAY_URL"], devnet["NOX_KMS_PUBLIC_KEY"]
    token = devnet["NOX_TOKEN_ADDRESS"]
    keys = {w: devnet[f"NOX_{w.upper()}_KEY"] for w in ("owner", "alice", "bob")}
    addr = {w: devnet[f"NOX_{w.upper()}_ADDRESS"].lower() for w in ("owner", "alice", "bob")}
    ctl = e2elib.Noxctl(NOXCTL, work, os.path.join(devnet.dir, "env"))
    runner = Runner(devnet, work)
    post = lambda route, b, doc: http("POST", gw + "/v0/compute/" + route, json.dumps(b), noxtest.auth_header(doc))
    status = lambda h: http("GET", gw + "/v0/handles/" + h + "/status")[1].get("status")
    decrypt = lambda h, who: ctl("decrypt", h, "--key", keys[who]).stdout.strip()

    out, r = ctl.json("token", "mint", "--to", addr["alice"], "--amount", str(MINTED), "--key", keys["owner"])
    if not check("the owner mints 500 (the whole supply) to Alice", out and out.get("txHash"), r.stdout + r.stderr):
        return
    mint_tx = {"hash": out["txHash"], "block": out.get("blockNumber", 1), "caller": token.lower()}
    pending = e2elib.wait_stored(gw, [out["success"]] + list(out["balances"].values()), timeout=90)
    if not check("the mint's results are stored", not pending, pending):
        return
    r = devnet._run("kill", "runner")
    check("the Runner is down (its results of the next transaction stay pending)", r.returncode == 0, r.stdout + r.stderr)
    out, r = ctl.json("token", "transfer", "--to", addr["bob"], "--amount", str(SENT), "--key", keys["alice"])
    if not check("Alice transfers 100 to Bob", out and out.get("balances"), r.stdout + r.stderr):
        return
    tx = {"hash": out["txHash"], "block": out.get("blockNumber", 2), "caller": token.lower()}
    success, alice_h, bob_h = out["success"], out["balances"][addr["alice"]], out["balances"][addr["bob"]]
    check("Bob's new balance handle is pending", status(bob_h) == "pending", status(bob_h))

    # the transfer's true results, as the Runner will post them; the header it signs for them is captured
    true = [result(kms_pub, success, b"\x01"), result(kms_pub, alice_h, (MINTED - SENT).to_bytes(8, "big")),
            result(kms_pub, bob_h, SENT.to_bytes(8, "big"))]
    forged = [true[0], true[1], result(kms_pub, bob_h, FORGED.to_bytes(8, "big"))]
    captured = runner.results(tx, true)
    refused("a captured results header with Bob's balance forged to 1,000,000,000",
            post("results", forged, captured), "the body's content digest", "differs from the signed resultsDigest")
    refused("... with only Bob's forged balance", post("results", [forged[2]], captured),
            "the body holds 1 results", "resultCount 3")
    refused("... through POST /v0/compute/results/batch", http("POST", gw + "/v0/compute/results/batch", json.dumps(
        {"transactions": [{"authorization": captured, "results": forged}]})),
        "transactions[0]: the body's content digest")
    # a header captured for another transaction's results (signed by the Runner), reused for Bob's handle
    other = [result(kms_pub, "0x" + os.urandom(26).hex() + "00007a690b00", (7).to_bytes(8, "big"))]
    captured_other = runner.results(mint_tx, other)
    refused("a header captured for another result set, reused for Bob's handle", post("results", [forged[2]],
                                                                                       captured_other),
            "differs from the signed resultsDigest")
    # the header of the attack as first demonstrated: spec §4.4's form, signed by the Runner
    refused("the spec 4.4 ResultPublishingAuthorization (Runner-signed)", post("results", forged, runner.legacy(tx)),
            "ResultPublishingAuthorization of spec 4.4", "accept_legacy_authorizations: false")
    # a header past its window, with its own body and with the forged one
    short = runner.results(mint_tx, other, win=noxtest.window(5, 2))
    time.sleep(max(0.0, short["payload"]["expiresAt"] - time.time()) + 0.3)
    refused("a captured header past its window, with its own body", post("results", other, short),
            "ResultPublishingAuthorizationV2: authorization expired at")
    refused("a captured header past its window, with the forged body", post("results", [forged[2]], short),
            "authorization expired at")
    # failure records: mark Bob's pending balance failed
    rec_other = [{"handle": other[0]["handle"], "reason": "events[0]: unknown operator id 999 (type operator_999)"}]
    captured_fail = runner.failures(mint_tx, rec_other)
    forged_fail = [{"handle": bob_h, "reason": "events[0]: unknown operator id 999 (type operator_999)"}]
    refused("a captured failure-record header, reused to mark Bob's balance failed", post(
        "failures", forged_fail, captured_fail), "differs from the signed recordsDigest")
    refused("... with a record added", post("failures", rec_other + forged_fail, captured_fail),
            "the body holds 2 failure records")
    refused("... a results header on POST failures", post("failures", forged_fail, captured),
            "missing field recordCount")
    refused("... the spec 4.4 form (Runner-signed)", post("failures", forged_fail, runner.legacy(tx)),
            "accept_legacy_authorizations: false", "FailureRecordingAuthorization")
    short_fail = runner.failures(mint_tx, rec_other, win=noxtest.window(5, 2))
    time.sleep(max(0.0, short_fail["payload"]["expiresAt"] - time.time()) + 0.3)
    refused("... a failure-record header past its window", post("failures", rec_other, short_fail),
            "FailureRecordingAuthorization: authorization expired at")
    check("after every attempt Bob's balance handle is still pending (neither forged nor failed)",
          status(bob_h) == "pending", status(bob_h))
    # controls: the captured headers are genuine, accepted with their own bodies inside their windows
    st, b, _ = post("results", other, captured_other)
    check("control: the captured header with its own body -> created", st == 200 and b.get("created") == 1, f"{st} {b}")
    st, b, _ = post("failures", rec_other, captured_fail)
    check("control: the captured failure header with its own body -> recorded", st == 200 and b == {"recorded": 1},
          f"{st} {b}")

    # the Runner comes back: the balance is what the transfer computed
    r = devnet.restart("runner")
    check("the Runner restarts", r.returncode == 0, r.stdout + r.stderr)
    pending = e2elib.wait_stored(gw, [success, alice_h, bob_h], timeout=90)
    check("the transfer's results are stored", not pending, pending)
    check("Bob's balance decrypts to 100, not 1,000,000,000", decrypt(bob_h, "bob") == str(SENT), decrypt(bob_h, "bob"))
    check("Alice's balance decrypts to 400", decrypt(alice_h, "alice") == str(MINTED - SENT))
    supply = e2elib.cast("call", token, "totalSupply()(bytes32)", "--rpc-url", devnet["NOX_RPC_URL"])
    check("the total supply still decrypts to 500", decrypt(supply, "owner") == str(MINTED), decrypt(supply, "owner"))
    check("the Gateway logged no conflicted result", "conflicted" not in devnet.log("gateway"),
          [ln for ln in devnet.log("gateway").splitlines() if "conflicted" in ln][:3])
    # ... and it cannot be spent beyond what it holds
    out, r = ctl.json("token", "transfer", "--to", addr["alice"], "--amount", str(1_000_000), "--key", keys["bob"])
    if check("Bob tries to send 1,000,000", out and out.get("balances"), r.stdout + r.stderr):
        hs = [out["success"]] + list(out["balances"].values())
        pending = e2elib.wait_stored(gw, hs, timeout=90)
        check("its results are stored", not pending, pending)
        check("the transfer failed (success decrypts to false)", decrypt(out["success"], "bob") == "false",
              decrypt(out["success"], "bob"))
        check("Bob still holds 100", decrypt(out["balances"][addr["bob"]], "bob") == str(SENT))
    bad = [ln for ln in devnet.log("runner").splitlines()
           if re.match(r"^\S+ runner error:", ln) or ("dead-letter" in ln and "unprocessed" not in ln)]
    check("the Runner dead-lettered nothing and logged no error", not bad, bad[:5])


if __name__ == "__main__":
    sys.exit(e2elib.run_on_devnet(BIN, "bound-auth", body))
