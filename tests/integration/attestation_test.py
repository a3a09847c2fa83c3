#!/usr/bin/python3
"""Runners in attested TEEs (docs/PROTOCOL-EXTENSIONS.md §12): a Gateway with `attestation` serves a Runner only
over a connection whose client-certificate key it has attested, with a quote of an allowed measurement.

usage: attestation_test.py NOX_RUNNER NOX_GATEWAY NOX_KMS NOXCTL JS_PUBLISH JS_DUMP CAST CONTRACTS_DIR PLUGIN

PLUGIN is tests/attestation/test_attestation_plugin.c built: a stand-in TEE whose quotes carry TDX's fields and an
HMAC under a key that plays Intel's root (whoever lacks it cannot make a quote). The real pipeline runs with it: the
Runner (attestation.provider) attests at start and again after the Gateway restarts; and this test, as an attacker
holding a listed Runner's wallet key, tries what a quote should not allow: forged quotes, quotes for another
wallet, replays over another client certificate, unknown measurements, expired quotes, an unlisted wallet,
malformed bodies, and a verifier that cannot decide. Real nats-server, PostgreSQL, anvil, nox-kms, nox-gateway,
nox-runner (the harness of runner_test.py). Ends with "N passed, M failed".
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner_test as rt  # noqa: E402  (its argv: the first eight arguments are the same)
from runner_test import noxtest, check, http, run  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

PLUGIN = sys.argv[9]
OTHER_ABI = os.path.join(os.path.dirname(PLUGIN), "nox-attest-test-other-abi.so")   # the same, another ABI version
ROOT_KEY = bytes(range(32))                 # the stand-in for the vendor's root: the provider and verifier hold it
GOOD = {"mrtd": b"\x11" * 48, "rtmr": [b"\x20" * 48, b"\x21" * 48, b"\x22" * 48, b"\x23" * 48]}
DOMAIN = b"nox/attestation/runner/v1"


def hexs(b):
    return "0x" + b.hex()


def measurement_yaml(m):
    return (f'    - {{mrtd: "{hexs(m["mrtd"])}", ' +
            ", ".join(f'rtmr{i}: "{hexs(r)}"' for i, r in enumerate(m["rtmr"])) + "}\n")


def verifier_yaml(config="key=" + ROOT_KEY.hex(), measurements=(GOOD,)):
    return (f"attestation:\n  verifier: {PLUGIN}\n  config: \"{config}\"\n  measurements:\n" +
            "".join(measurement_yaml(m) for m in measurements))


def provider_yaml(extra=""):
    cfg = f"key={ROOT_KEY.hex()} mrtd={GOOD['mrtd'].hex()} " + \
        " ".join(f"rtmr{i}={r.hex()}" for i, r in enumerate(GOOD["rtmr"])) + extra
    return f"attestation:\n  provider: {PLUGIN}\n  config: \"{cfg}\"\n"


def cert_key(cert_file):
    """SHA-256 of the certificate's SubjectPublicKeyInfo (what the Gateway binds a quote to)."""
    cert = x509.load_pem_x509_certificate(open(cert_file, "rb").read())
    return hashlib.sha256(cert.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)).digest()


def report_data(wallet, ckey):
    """The binding, computed here independently of the C code: SHA-512(domain || wallet || cert key)."""
    return hashlib.sha512(DOMAIN + bytes.fromhex(wallet[2:]) + ckey).digest()


def quote(rd, key=ROOT_KEY, m=GOOD, issued=None, ttl=3600):
    body = b"NOXTQ1\0\0" + m["mrtd"] + b"".join(m["rtmr"]) + rd + struct.pack(">QQ", issued or int(time.time()), ttl)
    return body + hmac.new(key, body, hashlib.sha256).digest()


def attest(gw, wallet, q, client_cert=True):
    body = json.dumps({"runner": wallet, "quote": base64.b64encode(q).decode()})
    return http("POST", gw.url + "/v0/compute/attestation", body, {"Content-Type": "application/json"},
                client_cert=client_cert)


def refused(st, body, code, needle=""):
    return st == 401 and noxtest.is_error_shape(body, code) and needle in body.get("message", "")


class AttestedEnv(rt.Env):
    """runner_test's network with attestation required by the Gateway and provided by the Runner."""

    def start_gateway(self):
        path = os.path.join(self.work, "gateway.yaml")
        text = open(path).read()
        if "attestation:" not in text:
            with open(path, "a") as f:
                f.write(verifier_yaml())
        return super().start_gateway()

    def runner_config(self, **kw):
        kw["extra"] = kw.get("extra", "") + provider_yaml()
        return super().runner_config(**kw)


def metric(server, name):
    st, body, _ = http("GET", server.url + "/metrics")
    for line in str(body).splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            yield line


def accepted(gw):
    return sum(float(l.split()[-1]) for l in metric(gw, "nox_gateway_attestations_total") if 'result="accepted"' in l)


def test_pipeline(env, reader, reader_addr):
    """The real Runner attests at start; results arrive; the Gateway restarts (its table is gone) and the Runner,
    answered attestation_required, presents a fresh quote and goes on: nothing lost."""
    runner_log = open(env.runners[0].log_path).read()
    check("the Runner attested to the Gateway at start", "attested to" in runner_log, runner_log[-1500:])
    check("the Gateway logged the accepted quote with its MRTD",
          f"runner {env.runner_addr} attested (MRTD {hexs(GOOD['mrtd'])})".lower() in open(env.gw.log_path).read().lower(),
          (env.runner_addr, [l for l in open(env.gw.log_path).read().splitlines() if "attest" in l]))
    ck = cert_key(env.pki.client("runner")[0])
    st, body, _ = attest(env.gw, reader_addr, quote(report_data(reader_addr, ck)))
    check("the test's reader key attests over the Runners' certificate -> 200 with validUntil and the MRTD",
          st == 200 and body.get("mrtd") == hexs(GOOD["mrtd"]) and body.get("validUntil", 0) > time.time(), (st, body))
    ins = [(rt.secret(env, "uint64", v), v) for v in (5, 7)]
    outs = [rt.new_handle("uint64")]
    rt.publish(env, [rt.message([rt.event(1, "add", [h for h, _ in ins], outs)])])
    got = reader.wait(outs, timeout=60) or {}
    check("an attested Runner computes: 5 + 7 = 12 stored and read back", got.get(outs[0]) == 12, got)

    env.gw.stop()
    env.gw = env.start_gateway()
    reader.gw = env.gw
    st, body, _ = attest(env.gw, reader_addr, quote(report_data(reader_addr, ck)))
    check("after the Gateway's restart the reader attests again -> 200", st == 200, (st, body))
    before = open(env.runners[0].log_path).read().count("attested to")
    ins = [(rt.secret(env, "uint64", v), v) for v in (30, 12)]
    outs = [rt.new_handle("uint64")]
    rt.publish(env, [rt.message([rt.event(1, "sub", [h for h, _ in ins], outs)])])
    got = reader.wait(outs, timeout=90) or {}
    check("after the restart the Runner's result arrives (30 - 12 = 18)", got.get(outs[0]) == 18, got)
    after = open(env.runners[0].log_path).read().count("attested to")
    check("... because the Runner, answered attestation_required, presented a fresh quote", after > before,
          (before, after))
    check("the restarted Gateway counted the Runner's and the reader's quotes (nox_gateway_attestations_total)",
          accepted(env.gw) >= 2, list(metric(env.gw, "nox_gateway_attestations_total")))


def operands_request(env, reader, key=rt.READER, client_cert=True):
    nb, ex = noxtest.window()
    p = {"chainId": rt.CHAIN, "blockNumber": 1, "caller": rt.CALLER, "transactionHash": "0x" + "cd" * 32,
         "operands": [rt.new_handle("uint64")], "rsaPublicKey": reader.spki, "notBefore": nb, "expiresAt": ex}
    doc = noxtest.bound_auth(rt.CAST, env.work, key, rt.GW["address"], "OperandAccessAuthorizationV2", p)
    return http("GET", env.gw.url + "/v0/compute/operands", None, noxtest.auth_header(doc), client_cert=client_cert)


def test_attacks(env, reader, reader_addr):
    """What a listed Runner's wallet key, a client certificate of the Runners' CA and the network give an attacker
    without a TEE of an allowed measurement: nothing."""
    env.gw.stop()
    env.gw = gw = env.start_gateway()           # a fresh table: no one is attested
    reader.gw = gw
    ck = cert_key(env.pki.client("runner")[0])
    other_cert = env.pki.make_client("runner-clients", "runner2")     # same CA, another key
    ck2 = cert_key(other_cert[0])

    st, body, _ = operands_request(env, reader)
    check("attack: a listed Runner's valid authorization without an attestation -> 401 attestation_required",
          refused(st, body, "attestation_required", "has presented no quote"), (st, body))
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck), key=b"\x99" * 32))
    check("attack: a forged quote (not signed by the root) -> 401 attestation_refused naming the signature",
          refused(st, body, "attestation_refused", "signature does not verify"), (st, body))
    st, body, _ = attest(gw, reader_addr, quote(report_data(env.runner_addr, ck)))
    check("attack: a genuine quote made for another wallet, presented for this one -> 401 (report data)",
          refused(st, body, "attestation_refused", "report data does not bind"), (st, body))
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck)), client_cert=other_cert)
    check("attack: a genuine quote replayed over a connection with another client certificate -> 401 (report data)",
          refused(st, body, "attestation_refused", "report data does not bind"), (st, body))
    bad = {"mrtd": b"\x66" * 48, "rtmr": GOOD["rtmr"]}
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck), m=bad))
    check("attack: a genuine quote of an image not in attestation.measurements -> 401 naming its MRTD",
          refused(st, body, "attestation_refused", hexs(bad["mrtd"])), (st, body))
    rtmr = {"mrtd": GOOD["mrtd"], "rtmr": GOOD["rtmr"][:3] + [b"\x77" * 48]}
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck), m=rtmr))
    check("attack: the allowed MRTD with another RTMR3 (a different runtime: another plugin) -> 401",
          refused(st, body, "attestation_refused", "measurements not in"), (st, body))
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck), issued=int(time.time()) - 7200))
    check("attack: an old quote whose validity has passed -> 401", refused(st, body, "attestation_refused",
          "validity has passed"), (st, body))
    stranger = "0x" + "5a" * 20
    st, body, _ = attest(gw, stranger, quote(report_data(stranger, ck)))
    check("attack: a genuine quote for a wallet not in runner_addresses -> 401 not a configured Runner",
          refused(st, body, "attestation_refused", "not a configured Runner"), (st, body))
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck)), client_cert=False)
    check("attack: attestation without a client certificate -> 401 naming mutual TLS",
          st == 401 and "mutual TLS" in str(body), (st, body))
    for name, raw, want in (("not JSON", "{", 400), ("no quote", json.dumps({"runner": reader_addr}), 400),
                            ("quote not base64", json.dumps({"runner": reader_addr, "quote": "***"}), 400),
                            ("runner not an address", json.dumps({"runner": "0x12", "quote": "AAAA"}), 400),
                            ("a quote that is not a quote", json.dumps({"runner": reader_addr, "quote": "AAAA"}), 401),
                            ("a quote of 16 KiB + 3", json.dumps({"runner": reader_addr,
                                                                  "quote": base64.b64encode(b"q" * 16387).decode()}),
                             400)):
        st, body, _ = http("POST", gw.url + "/v0/compute/attestation", raw, {"Content-Type": "application/json"})
        check(f"malformed attestation ({name}) -> {want}, the Gateway still serving", st == want, (st, body))
    st, body, _ = operands_request(env, reader)
    check("after every refused attempt the wallet is still not served -> 401 attestation_required",
          refused(st, body, "attestation_required"), (st, body))

    # A genuine quote over certificate A, then requests over certificate B with the same wallet.
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck)))
    check("the control: a genuine quote bound to this wallet and certificate -> 200", st == 200, (st, body))
    st, body, _ = operands_request(env, reader)
    check("the control: the attested wallet over the attested certificate is served (not a 401)", st != 401,
          (st, body))
    st, body, _ = operands_request(env, reader, client_cert=other_cert)
    check("attack: the attested wallet over another client certificate of the same CA -> 401 attestation_required",
          refused(st, body, "attestation_required", "another client certificate"), (st, body))
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck2)), client_cert=other_cert)
    check("re-attesting over certificate B (a quote bound to B) moves the binding to B -> 200", st == 200, (st, body))
    st, body, _ = operands_request(env, reader)
    check("... and certificate A is no longer served -> 401", refused(st, body, "attestation_required"), (st, body))
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck), ttl=2))
    check("a quote valid for 2 s -> 200", st == 200, (st, body))
    time.sleep(3)
    st, body, _ = operands_request(env, reader)
    check("... 3 s later the wallet is refused again (no longer valid) -> 401", refused(
        st, body, "attestation_required", "no longer valid"), (st, body))
    refusals = sum(float(l.split()[-1]) for l in metric(gw, "nox_gateway_attestations_total") if 'refused"' in l)
    check("the refusals are counted (nox_gateway_attestations_total{result=refused|request_refused})",
          refusals >= 10, list(metric(gw, "nox_gateway_attestations_total")))
    st, body, _ = attest(gw, reader_addr, quote(report_data(reader_addr, ck)))   # leave the reader attested
    check("the reader attests again", st == 200, (st, body))


def test_config(env):
    """Configuration: a wrong attestation block stops start-up with file:line:col; a verifier that cannot decide
    answers 503 rather than letting anyone in."""
    good = open(os.path.join(env.work, "gateway.yaml")).read()
    base = good[:good.index("attestation:")]
    n = base.count("\n") + 1
    not_one = os.path.join(os.path.dirname(rt.NOX_RUNNER), "..", "lib", "nox", "arithmetic.so")  # an operator plugin
    no_mtls = base.replace(", client_ca_file: " + env.pki.client_ca("runner"), "")
    cases = [
        ("without mutual TLS", no_mtls + verifier_yaml(), f"{n + 1}:3: attestation: attestation binds a quote"),
        ("a measurement of 47 bytes", base + verifier_yaml().replace(hexs(GOOD["mrtd"]), hexs(b"\x11" * 47)),
         f"{n + 4}:14: attestation.measurements[0].mrtd: expected a 48-byte measurement"),
        ("no measurements", base + f"attestation:\n  verifier: {PLUGIN}\n",
         f"{n + 1}:3: attestation: missing required key 'measurements'"),
        ("an unknown key", base + verifier_yaml() + "  policy: lax\n", "attestation: unknown key 'policy'"),
        ("rtmr3 missing", base + verifier_yaml().replace(f', rtmr3: "{hexs(GOOD["rtmr"][3])}"', ""),
         "attestation.measurements[0]: missing required key 'rtmr3'"),
        ("a verifier that is not one", base + verifier_yaml().replace(PLUGIN, not_one),
         "is not an attestation verifier"),
        ("a verifier of another ABI version", base + verifier_yaml().replace(PLUGIN, OTHER_ABI),
         "ABI version 2, this Gateway speaks 1"),
        ("a verifier that refuses its config", base + verifier_yaml(config="nonsense"),
         "refused to start: expected key=value"),
    ]
    for name, text, want in cases:
        path = os.path.join(env.work, "gw-bad.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = run(rt.NOX_GATEWAY, "--config", path, timeout=30)
        out = r.stdout + r.stderr
        check(f"gateway.yaml attestation {name}: the Gateway does not start, naming it", r.returncode == 1 and
              want in out, (r.returncode, out[-500:]))
    # a verifier that cannot decide (collateral unreachable): 503, and nobody is let in
    path = os.path.join(env.work, "gw-undecided.yaml")
    with open(path, "w") as f:
        f.write(base.replace(f"listen: 127.0.0.1:{env.gw_port}", "listen: 127.0.0.1:0") +
                verifier_yaml(config=f"key={ROOT_KEY.hex()} undecided=1"))
    gw = noxtest.start_ready("gw-undecided", [rt.NOX_GATEWAY, "--config", path], env.work)
    try:
        ck = cert_key(env.pki.client("runner")[0])
        st, body, _ = attest(gw, env.runner_addr, quote(report_data(env.runner_addr, ck)))
        check("a verifier that cannot decide -> 503 attestation_unavailable (never a pass)",
              st == 503 and noxtest.is_error_shape(body, "attestation_unavailable"), (st, body))
    finally:
        gw.stop()
    # the Runner: attestation needs its client certificate; a provider that is not one stops it
    not_one = os.path.join(os.path.dirname(rt.NOX_RUNNER), "..", "lib", "nox", "arithmetic.so")
    good_runner = open(os.path.join(env.work, "runner.yaml")).read()
    for name, text, want in (
            ("without gateway_tls.cert_file", good_runner.replace(
                env.pki.client_yaml("gateway_tls", "runner"), env.pki.client_yaml("gateway_tls")),
             "attestation: a quote is bound to the Runner's client certificate"),
            ("a provider that is not one", good_runner.replace(f"provider: {PLUGIN}", f"provider: {not_one}"),
             "is not an attestation provider"),
            ("a provider of another ABI version", good_runner.replace(f"provider: {PLUGIN}", f"provider: {OTHER_ABI}"),
             "ABI version 2, this Runner speaks 1"),
            ("a provider without its measurement", good_runner.replace(f"mrtd={GOOD['mrtd'].hex()} ", ""),
             "refused to start: mrtd=<96 hex digits> is required")):
        path = os.path.join(env.work, "runner-bad.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = run(rt.NOX_RUNNER, "--config", path, timeout=30)
        out = r.stdout + r.stderr
        check(f"runner.yaml attestation {name}: the Runner does not start, naming it", r.returncode == 1 and
              want in out, (r.returncode, out[-500:]))


def main():
    work = tempfile.mkdtemp(prefix="attestation-test-")
    env = AttestedEnv(work)
    try:
        env.start()
        reader_addr = run(rt.CAST, "wallet", "address", "--private-key", rt.READER).stdout.strip().lower()
        reader = rt.Reader(work, env.gw)
        test_pipeline(env, reader, reader_addr)
        test_attacks(env, reader, reader_addr)
        test_config(env)
        log = open(env.runners[0].log_path).read()
        check("nox-runner exits cleanly on SIGTERM", env.runners[0].stop() == 0, log[-2000:])
        check("no error in the Runner's log", "ERROR" not in log, log[-2000:])
    finally:
        env.stop()
        shutil.rmtree(work, ignore_errors=True)
    return noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
