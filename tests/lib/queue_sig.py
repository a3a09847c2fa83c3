"""Signed queue messages (docs/PROTOCOL-EXTENSIONS.md, "Signed queue messages") checked with cast alone.

The digest is rebuilt here from its definition with `cast keccak`, and the signature checked with
`cast wallet verify --no-hash`: nothing of the C code under test is used, so a test that verifies the
services' headers this way cross-checks the implementation.

    digest = keccak256(keccak256("nox-queue-message") ‖ uint256(1) ‖ uint256(chainId) ‖ keccak256(stream)
                       ‖ keccak256(subject) ‖ keccak256(reason) ‖ keccak256(body))

chainId: the body's top-level "chainId" when the body is a JSON object (no duplicate keys) whose chainId is an
integer in 1..2^32-1, else 0. reason: the Nox-Dead-Reason header, "" when there is none.
"""
import json
import subprocess

_cache = {}


def keccak(cast, data):
    """keccak256 of bytes (or str, as UTF-8) by cast, as 0x + 64 hex digits; the input goes through stdin as hex."""
    if isinstance(data, str):
        data = data.encode()
    if data in _cache:
        return _cache[data]
    r = subprocess.run([cast, "keccak"], input="0x" + data.hex(), capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not r.stdout.startswith("0x"):
        raise RuntimeError("cast keccak: " + r.stderr)
    out = r.stdout.strip()
    if len(data) < 256:
        _cache[data] = out
    return out


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def chain_id(body):
    """The rule of the spec: the body's top-level chainId, or 0."""
    try:
        obj = json.loads(body, object_pairs_hook=_no_duplicates)
    except ValueError:
        return 0
    c = obj.get("chainId") if isinstance(obj, dict) else None
    return c if isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= 0xFFFFFFFF else 0


def digest(cast, stream, subject, reason, body, chain=None, version=1):
    """The digest a publisher signs (chain: the body's rule when None)."""
    body = body.encode() if isinstance(body, str) else body
    chain = chain_id(body) if chain is None else chain
    pre = keccak(cast, "nox-queue-message")[2:] + "%064x" % version + "%064x" % chain
    for field in (stream, subject, reason or ""):
        pre += keccak(cast, field)[2:]
    pre += keccak(cast, body)[2:]
    return keccak(cast, bytes.fromhex(pre))


def recovered_by_cast(cast, dig, sig, address):
    """True when cast says `address` made signature `sig` over the raw 32-byte digest."""
    r = subprocess.run([cast, "wallet", "verify", "--no-hash", "--address", address, dig, sig], capture_output=True,
                       text=True, timeout=60)
    return r.returncode == 0 and "Validation succeeded" in r.stdout


def check_message(cast, msg, stream, address):
    """A js_dump line `msg` (with its headers) stored in `stream`: (True, "") when it carries Nox-Signature and
    Nox-Signer = address and cast accepts the signature over the message's own subject, reason and body;
    else (False, why)."""
    h = msg.get("headers") or {}
    sig, signer = h.get("Nox-Signature"), h.get("Nox-Signer")
    if not isinstance(sig, str) or not isinstance(signer, str):
        return False, f"headers {h}"
    if signer.lower() != address.lower():
        return False, f"Nox-Signer {signer}, expected {address}"
    if len(sig) != 132 or int(sig[-2:], 16) not in (27, 28) or int(sig[66:130], 16) > N // 2:
        return False, f"not a low-s, v 27/28 signature: {sig}"
    d = digest(cast, stream, msg["subject"], h.get("Nox-Dead-Reason"), msg["data"].encode())
    if not recovered_by_cast(cast, d, sig, address):
        return False, f"cast does not recover {address} from {sig} over {d}"
    return True, ""


N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 group order
