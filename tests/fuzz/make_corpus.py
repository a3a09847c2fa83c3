#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ (run once; the files are committed).

Seeds are valid inputs (the spec's TransactionMessage shapes, the shipped configs, real headers
and bodies) plus edge cases. Regression inputs found by fuzzing are added by hand as
corpus/<target>/regress-*. Usage: tests/fuzz/make_corpus.py  (needs python3-cryptography)."""
import base64, json, os, shutil, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")

def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

CHAIN = 31337
def handle(tag, typ=0x23, chain=CHAIN, version=0):
    return "0x" + ("%02x" % tag) * 26 + "%08x" % chain + "%02x" % typ + "%02x" % version
def hb(tag, typ=0x23, chain=CHAIN):
    return bytes.fromhex(handle(tag, typ, chain)[2:])
CALLER = "0x" + "11" * 20
ECALLER = "0x" + "22" * 20
TXH = "0x" + "ab" * 32
WORD42 = "0x" + "00" * 31 + "2a"

# ---- fuzz_message ----------------------------------------------------------------------------
def ev(idx, typ, **fields):
    e = {"logIndex": idx, "caller": ECALLER, "type": typ}
    e.update(fields)
    return e
def msg(events, **top):
    m = {"chainId": CHAIN, "caller": CALLER, "blockNumber": 123, "transactionHash": TXH, "events": events}
    m.update(top)
    return json.dumps(m, separators=(",", ":"))
HA, HB, HC, HD, HE, HP = (handle(t) for t in (0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6))
HS, HS2 = handle(0x5a, 0), handle(0x5b, 0)
multi = [ev(3, "plaintext_to_encrypted", value=WORD42, teeType=35, handle=HP),
         ev(5, "add", leftHandOperand=HP, rightHandOperand=HA, result=HC),
         ev(7, "safe_add", leftHandOperand=HC, rightHandOperand=HP, success=HS, result=HD),
         ev(8, "select", condition=HS, ifTrue=HC, ifFalse=HD, result=HE)]
put("fuzz_message", "multi.json", msg(multi))
put("fuzz_message", "multi-pretty.json", json.dumps(json.loads(msg(multi)), indent=2))
put("fuzz_message", "transfer.json", msg([ev(0, "transfer", balanceFrom=HA, balanceTo=HB, amount=HC, success=HS,
                                                newBalanceFrom=HD, newBalanceTo=HE)]))
put("fuzz_message", "mint.json", msg([ev(1, "mint", balanceTo=HA, amount=HB, totalSupply=HC, success=HS,
                                            newBalanceTo=HD, newTotalSupply=HE)]))
put("fuzz_message", "burn.json", msg([ev(1, "burn", balanceFrom=HA, amount=HB, totalSupply=HC, success=HS,
                                            newBalanceFrom=HD, newTotalSupply=HE)]))
put("fuzz_message", "compare.json", msg([ev(i, op, leftHandOperand=HA, rightHandOperand=HB, result=HS)
                                         for i, op in enumerate(["eq", "ne", "lt", "le", "gt", "ge"])]))
put("fuzz_message", "arith.json", msg([ev(i, op, leftHandOperand=HA, rightHandOperand=HB, result=HC)
                                       for i, op in enumerate(["add", "sub", "mul", "div"])]))
put("fuzz_message", "generic.json", msg([ev(2, "operator_1000", operatorId=1000, inputs=[HA, HB], outputs=[HC]),
                                         ev(4, "xor", operatorId=66, inputs=[HA], outputs=[HC, HD])]))
put("fuzz_message", "unknown-keys.json", msg(multi[:1], extra={"a": [1, 2.5, None, True]}))
put("fuzz_message", "dup-key.json", '{"chainId":1,"chainId":2}')
put("fuzz_message", "bad-chain.json", msg(multi[:1], chainId=0))
put("fuzz_message", "big-int.json", msg(multi[:1], blockNumber=9223372036854775807))
put("fuzz_message", "real-int.json", msg(multi[:1], blockNumber=1.0))
put("fuzz_message", "order.json", msg([multi[1], multi[0]]))
put("fuzz_message", "empty.json", msg([]))
put("fuzz_message", "not-object.json", "[1,2,3]")
put("fuzz_message", "broken.json", msg(multi)[:100])
put("fuzz_message", "unicode.json", msg([ev(1, "a\u00e9\u0000b", leftHandOperand=HA)]))

# ---- fuzz_handle / fuzz_hex ----------------------------------------------------------------
put("fuzz_handle", "uint256", handle(0xa1))
put("fuzz_handle", "bool", handle(0x5a, 0))
put("fuzz_handle", "upper", handle(0xab).upper().replace("0X", "0x"))
put("fuzz_handle", "upper-prefix", "0X" + handle(0xab)[2:])
put("fuzz_handle", "version1", handle(0xa1, version=1))
put("fuzz_handle", "reserved-type", handle(0xa1, 0xff))
put("fuzz_handle", "zero", "0x" + "00" * 32)
put("fuzz_handle", "short", handle(0xa1)[:-1])
put("fuzz_handle", "no-prefix", handle(0xa1)[2:] + "00")
put("fuzz_handle", "raw32", hb(0xa1))
for i, (cap, text) in enumerate([(20, "0x" + "ab" * 20), (32, TXH), (0, "0x"), (3, "0xABCDEF"), (2, "0xabc"),
                                 (65, "0x" + "1b" * 65), (10, "0x" + "zz" * 10), (4, "AAECAw=="), (40, "eyJwYXlsb2FkIjp7fX0=")]):
    put("fuzz_hex", "seed%02d" % i, bytes([cap]) + text.encode())

# ---- fuzz_config and the services' loaders ----------------------------------------------------
cfgdir = os.path.join(ROOT, "config")
for name in sorted(os.listdir(cfgdir)):
    if name.endswith(".yaml"):
        text = open(os.path.join(cfgdir, name), "rb").read()
        put("fuzz_config", name, text)
        svc = {"runner.yaml": "fuzz_runner_config", "gateway.yaml": "fuzz_gateway_config",
               "kms.yaml": "fuzz_kms_config", "ingestor.yaml": "fuzz_ingestor_config"}.get(name)
        if svc:
            put(svc, name, text)
            # The shipped files use ${VARS}: a variant with the values written out loads fully.
            t = text.decode()
            for var in ("${NOX_GATEWAY_ADDRESS}", "${NOX_KMS_ADDRESS}", "${NOX_RUNNER_ADDRESS}",
                        "${NOX_COMPUTE_ADDRESS}", "${NOX_NOX_COMPUTE}"):
                t = t.replace(var, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
            import re
            t = re.sub(r"\$\{[A-Z_]+\}", "${NOX_FUZZ_ADDR}", t)
            put(svc, "expanded-" + name, t)
import re  # noqa: E402
# the Gateway's attestation block (services/gateway/attestation_config.c), on the expanded file
_att = open(os.path.join(cfgdir, "gateway.yaml")).read()
_att = re.sub(r"\$\{[A-Z_]+\}", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", _att)
put("fuzz_gateway_config", "attestation.yaml", _att + "attestation:\n  verifier: verifier.so\n  config: \"k=v\"\n"
    "  measurements:\n    - {mrtd: \"0x" + "11" * 48 + "\", rtmr0: \"0x" + "20" * 48 + "\", rtmr1: \"0x" + "21" * 48 +
    "\", rtmr2: \"0x" + "22" * 48 + "\", rtmr3: \"0x" + "23" * 48 + "\"}\n")
put("fuzz_config", "anchors.yaml", "a: &x {k: [1, 2, ~]}\nb: *x\nc: !!str 3\nd: |\n  text\n  more\n")
put("fuzz_config", "env.yaml", "listen: ${NOX_FUZZ_VAR}\nempty: ${NOX_FUZZ_EMPTY}\nunset: ${NOX_FUZZ_UNSET}\npart: x${NOX_FUZZ_VAR}y${\n")
put("fuzz_config", "dup.yaml", "a: 1\na: 2\n")
put("fuzz_config", "deep.yaml", "a: " + "[" * 40 + "]" * 40 + "\n")
put("fuzz_config", "multi-doc.yaml", "a: 1\n---\nb: 2\n")
put("fuzz_config", "flow.yaml", "{chains: [{chain_id: 1, gateway_address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'}], "
    "threads: 18446744073709551616, max_body: -1, log_level: debug, on: true, off: no}\n")
put("fuzz_config", "complex-key.yaml", "? [a, b]\n: c\n? {x: y}\n: z\n")

# ---- fuzz_operators_config ------------------------------------------------------------------
ops = open(os.path.join(cfgdir, "operators.yaml")).read().replace("../build/lib/nox/", "")
put("fuzz_operators_config", "operators.yaml", ops)
put("fuzz_operators_config", "one.yaml", "plugins:\n  - path: arithmetic.so\n    operators: [add]\n")
put("fuzz_operators_config", "overlap.yaml", "plugins:\n  - path: arithmetic.so\n  - path: arithmetic.so\n")
put("fuzz_operators_config", "options.yaml", "plugins:\n  - path: wide.so\n    options: {bits: 512}\n")
put("fuzz_operators_config", "missing.yaml", "plugins:\n  - path: nothere.so\n  - {}\n")
put("fuzz_operators_config", "unknown-op.yaml", "plugins:\n  - path: safe.so\n    operators: [safe_add, fooo, safe_add]\n")

# ---- fuzz_engine: op index, type code, mode, value bytes --------------------------------------
types = [0, 1, 4, 5, 7, 11, 19, 35, 36, 43, 67, 68, 99, 2, 3, 200, 255]
i = 0
for op in range(0, 40, 3):
    for t in types[(op % 5)::5]:
        put("fuzz_engine", "seed%03d" % i, bytes([op, t, i % 8]) + bytes(range(i, i + 64)) + b"\xff" * 64)
        i += 1
put("fuzz_engine", "div-zero", bytes([3, 35, 0]) + b"\x00" * 128)
put("fuzz_engine", "max", bytes([1, 35, 0]) + b"\xff" * 128)

# ---- fuzz_events: per log u8 event, u8 flags, u8 block, u8 tx, u8 logIndex, u8 caller, u16 len, data --
def log(event, flags, block, tx, idx, caller, data):
    return bytes([event, flags, block, tx, idx, caller]) + struct.pack(">H", len(data)) + data
def hwords(*pairs):  # with flag bit 6: 2 bytes per word
    return b"".join(bytes(p) for p in pairs)
def hlog(event, n_words, block, tx, idx, tags):
    return bytes([event, 0x42, block, tx, idx, 0x22]) + struct.pack(">H", 32 * n_words) + hwords(*tags)
p2e = b"\x00" * 31 + b"\x2a" + b"\x00" * 31 + b"\x23" + hb(0xf6)
add = hlog(1, 3, 5, 1, 1, [(0xf6, 0x23), (0xa1, 0x23), (0xc3, 0x23)])
safe = hlog(5, 4, 5, 1, 2, [(0xc3, 0x23), (0xf6, 0x23), (0x5a, 0), (0xd4, 0x23)])
sel = hlog(9, 4, 5, 1, 3, [(0x5a, 0), (0xc3, 0x23), (0xd4, 0x23), (0xe5, 0x23)])
tr = hlog(16, 6, 6, 2, 0, [(0xa1, 0x23), (0xb2, 0x23), (0xc3, 0x23), (0x5a, 0), (0xd4, 0x23), (0xe5, 0x23)])
def compute(op_id, ins, outs):
    w = lambda n: n.to_bytes(32, "big")
    head = w(op_id) + w(0x60) + w(0x60 + 32 + 32 * len(ins))
    return head + w(len(ins)) + b"".join(hb(t) for t in ins) + w(len(outs)) + b"".join(hb(t) for t in outs)
put("fuzz_events", "p2e", log(0, 2, 5, 1, 0, 0x22, p2e))
put("fuzz_events", "tx-four", log(0, 2, 5, 1, 0, 0x22, p2e) + add + safe + sel)
put("fuzz_events", "two-tx", tr + log(0, 2, 5, 1, 0, 0x22, p2e) + add)
put("fuzz_events", "compute", log(19, 2, 7, 3, 4, 0x22, compute(1000, [0xa1, 0xb2], [0xc3])))
put("fuzz_events", "compute-bad-offset", log(19, 2, 7, 3, 4, 0x22, compute(1000, [0xa1], [0xc3])[:32] + (2**255).to_bytes(32, "big") + compute(1000, [0xa1], [0xc3])[64:]))
put("fuzz_events", "removed", bytes([1, 0x4a, 5, 1, 1, 0x22]) + struct.pack(">H", 96) + hwords((1, 0x23), (2, 0x23), (3, 0x23)))
put("fuzz_events", "other-address", bytes([1, 0x52, 5, 1, 1, 0x22]) + struct.pack(">H", 96) + hwords((1, 0x23), (2, 0x23), (3, 0x23)))
put("fuzz_events", "same-index", add + add)
put("fuzz_events", "raw-topic", bytes([20, 2, 5, 1, 1, 0x22]) + b"\x77" * 32 + b"\x00\x00")

# ---- fuzz_gateway_auth / fuzz_gateway_routes ----------------------------------------------------
SIG0 = "0x" + "00" * 65
SIGR = "0x" + "1b" * 32 + "2c" * 32 + "1b"
def auth_json(payload, sig=SIG0):
    return json.dumps({"payload": payload, "signature": sig}, separators=(",", ":"))
head = {"chainId": CHAIN, "blockNumber": 5, "caller": ECALLER, "transactionHash": TXH}
user = {"userAddress": "0x" + "00" * 19 + "02", "encryptionPubKey": "0x30820122", "notBefore": 1700000000 - 60,
        "expiresAt": 1700000000 + 600}
opa = dict(head, operands=[HA, HB], rsaPublicKey="0x30820122" + "00" * 8)
for name, j in [("operands", auth_json(opa)), ("user", auth_json(user)), ("results", auth_json(head)),
                ("badsig", auth_json(head, SIGR)), ("no-payload", '{"signature":"%s"}' % SIG0)]:
    put("fuzz_gateway_auth", name + ".json", j)
    put("fuzz_gateway_auth", name + ".hdr", "EIP712 " + base64.b64encode(j.encode()).decode())
put("fuzz_gateway_auth", "bearer.hdr", "Bearer " + SIG0)
put("fuzz_gateway_auth", "bad-b64.hdr", "EIP712 eyJwYXlsb2Fk=x")
put("fuzz_gateway_auth", "empty.hdr", "EIP712 ")

def route(name, param="x", auth="-", body=""):
    return "\n--\n".join([name, param, auth, body])
secret = {"value": WORD42, "solidityType": "uint256", "owner": ECALLER, "applicationContract": CALLER, "chainId": CHAIN}
put("fuzz_gateway_routes", "post_secret", route("post_secret", body=json.dumps(secret)))
put("fuzz_gateway_routes", "post_secret-bool", route("post_secret", body=json.dumps(dict(secret, value="0x01", solidityType="bool"))))
put("fuzz_gateway_routes", "post_secret-address", route("post_secret", body=json.dumps(dict(secret, value=CALLER, solidityType="address", chainId=1))))
put("fuzz_gateway_routes", "post_secret-int8", route("post_secret", body=json.dumps(dict(secret, value="0xff", solidityType="int8"))))
put("fuzz_gateway_routes", "post_secret-bytes", route("post_secret", body=json.dumps(dict(secret, value="0x" + "ab" * 32, solidityType="bytes32"))))
put("fuzz_gateway_routes", "get_secret", route("get_secret", HA, auth_json(user)))
put("fuzz_gateway_routes", "get_secret-missing", route("get_secret", handle(0xee), auth_json(user)))
put("fuzz_gateway_routes", "status", route("status", HA))
put("fuzz_gateway_routes", "status-failed", route("status", handle(0x01)))
put("fuzz_gateway_routes", "operands", route("operands", "x", auth_json(opa)))
put("fuzz_gateway_routes", "operands-missing", route("operands", "x", auth_json(dict(opa, operands=[handle(0xee), HA]))))
res = {"handle": HC, "handleValueTag": "0x" + "77" * 32, "ciphertext": "0x" + "5a" * 48,
       "publicKey": "0x02" + "33" * 32, "nonce": "0x" + "99" * 12}
put("fuzz_gateway_routes", "results", route("results", "x", auth_json(head), json.dumps([res, dict(res, handle=HD)])))
put("fuzz_gateway_routes", "failures", route("failures", "x", auth_json(head),
                                             json.dumps([{"handle": HC, "reason": "operand missing"}])))
entry = lambda payload, sig=SIG0: {"payload": payload, "signature": sig}
put("fuzz_gateway_routes", "operands_batch", route("operands_batch", body=json.dumps({"requests": [
    entry(opa), entry(dict(opa, operands=[handle(0xee)])), entry(dict(opa, operands=["0x12"]))]})))
put("fuzz_gateway_routes", "operands_batch-badsig", route("operands_batch", body=json.dumps({"requests": [
    entry(opa), entry(opa, SIGR)]})))
put("fuzz_gateway_routes", "results_batch", route("results_batch", body=json.dumps({"transactions": [
    {"authorization": entry(head), "results": [res]}, {"authorization": entry(head), "results": [dict(res, handle="0x")]}]})))
put("fuzz_gateway_routes", "failures-badsig", route("failures", "x", auth_json(head, SIGR), "[]"))

# the bound Runner authorizations (docs/PROTOCOL-EXTENSIONS.md §7): a window around the fuzzers' clock
# (FUZZ_NOW) and the right content digests, so that the fuzzer starts past the window and digest checks.
# Python has no keccak256: cast computes it (NOX_CAST, else the pinned one of build/tools).
def keccak(data):
    import subprocess
    cast = os.environ.get("NOX_CAST", os.path.join(ROOT, "build", "tools", "node_modules", "@foundry-rs",
                                                   "cast-linux-amd64", "bin", "cast"))
    return bytes.fromhex(subprocess.run([cast, "keccak", "0x" + data.hex()], capture_output=True, text=True,
                                        check=True).stdout.strip()[2:])
def digest(leaves):
    return "0x" + keccak(b"".join(keccak(x) for x in leaves)).hex()
def result_leaf(r):
    return b"".join(bytes.fromhex(r[k][2:]) for k in ("handle", "handleValueTag", "publicKey", "nonce", "ciphertext"))
bhead = dict(head, notBefore=1700000000 - 5, expiresAt=1700000000 + 60)
bres = [res, dict(res, handle=HD)]
bfail = [{"handle": HC, "reason": "operand missing"}]
bopa = dict(opa, notBefore=bhead["notBefore"], expiresAt=bhead["expiresAt"])
bpub = dict(bhead, resultCount=2, resultsDigest=digest([result_leaf(r) for r in bres]))
bpub1 = dict(bhead, resultCount=1, resultsDigest=digest([result_leaf(res)]))
brec = dict(bhead, recordCount=1, recordsDigest=digest([bytes.fromhex(HC[2:]) + b"operand missing"]))
put("fuzz_gateway_routes", "bound-operands", route("operands", "x", auth_json(bopa)))
put("fuzz_gateway_routes", "bound-results", route("results", "x", auth_json(bpub), json.dumps(bres)))
put("fuzz_gateway_routes", "bound-results-changed", route("results", "x", auth_json(bpub),
                                                          json.dumps([dict(res, nonce="0x" + "98" * 12), bres[1]])))
put("fuzz_gateway_routes", "bound-results-expired", route("results", "x", auth_json(
    dict(bpub, notBefore=1700000000 - 120, expiresAt=1700000000 - 60)), json.dumps(bres)))
put("fuzz_gateway_routes", "bound-failures", route("failures", "x", auth_json(brec), json.dumps(bfail)))
put("fuzz_gateway_routes", "bound-operands_batch", route("operands_batch", body=json.dumps({"requests": [
    entry(bopa), entry(dict(bopa, operands=[handle(0xee)]))]})))
put("fuzz_gateway_routes", "bound-results_batch", route("results_batch", body=json.dumps({"transactions": [
    {"authorization": entry(bpub1), "results": [res]}, {"authorization": entry(bpub), "results": bres}]})))
for name, j in [("bound-operands", auth_json(bopa)), ("bound-results", auth_json(bpub))]:
    put("fuzz_gateway_auth", name + ".json", j)

# ---- fuzz_kms_delegate -----------------------------------------------------------------------------
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from cryptography.hazmat.primitives import serialization
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
spki = rsa_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
eck = ec.generate_private_key(ec.SECP256K1())
point = eck.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
body = json.dumps({"ephemeralPubKey": "0x" + point.hex(), "targetPubKey": "0x" + spki.hex()})
def kms(chain, auth, body):
    return "\n--\n".join([chain, auth, body])
put("fuzz_kms_delegate", "delegate", kms("31337", "Bearer " + SIG0, body))
put("fuzz_kms_delegate", "delegate-realsig", kms("31337", "Bearer " + SIGR, body))
put("fuzz_kms_delegate", "other-chain", kms("1", "Bearer " + SIG0, body))
put("fuzz_kms_delegate", "not-on-curve", kms("31337", "Bearer " + SIG0, json.dumps({"ephemeralPubKey": "0x02" + "ff" * 32, "targetPubKey": "0x" + spki.hex()})))
put("fuzz_kms_delegate", "small-rsa", kms("31337", "Bearer " + SIG0, json.dumps({"ephemeralPubKey": "0x" + point.hex(),
    "targetPubKey": "0x" + rsa.generate_private_key(public_exponent=3, key_size=1024).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo).hex()})))
put("fuzz_kms_delegate", "batch", kms("31337", "Bearer " + SIG0, json.dumps({
    "ephemeralPubKeys": ["0x" + point.hex(), "0x02" + "ff" * 32], "targetPubKey": "0x" + spki.hex()})))
put("fuzz_kms_delegate", "no-query", kms("-", "-", "{}"))
put("fuzz_kms_delegate", "bad-chain", kms("0x10", "Bearer 0x", "[]"))
