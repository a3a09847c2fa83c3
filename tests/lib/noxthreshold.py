"""Threshold delegation (docs/PROTOCOL-EXTENSIONS.md §11), written independently in Python for the tests:
secp256k1 from its definition (Python integers; tests/cross/threshold.py checks it against Python's
`cryptography` and the C code against it), Lagrange coefficients, the batched Chaum–Pedersen (DLEQ) proof,
and the requester's side — open each KMS node's envelope (RSA-OAEP, then AES-256-GCM with the §11 AAD),
combine t partials, decrypt the value as in spec §4.1.

    plain = decrypt(rsa_private_key, answer, value, chain_id)

`answer` holds "threshold" and "delegations"; `value` holds "ciphertext", "iv", "publicKey" and "item"
(for GET /v0/secrets both are the same object).
"""
import hashlib
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
PROOF = 64  # the batch's DLEQ proof, first in an envelope
ITEM = 33 + 33  # K ‖ R
AAD_LABEL = b"nox/partials/v2"
BATCH_DOMAIN = b"nox/threshold/dleq-batch/v1"
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


# ---- secp256k1 from its definition (Jacobian coordinates inside; None is the point at infinity) --------


def on_curve(pt):
    return pt is None or (pt[1] * pt[1] - pt[0] ** 3 - 7) % P == 0


def _jdouble(a):
    x, y, z = a
    if y == 0 or z == 0:
        return (0, 1, 0)
    s = 4 * x * y * y % P
    m = 3 * x * x % P  # a = 0
    x3 = (m * m - 2 * s) % P
    return (x3, (m * (s - x3) - 8 * y ** 4) % P, 2 * y * z % P)


def _jadd(a, b):
    if a[2] == 0:
        return b
    if b[2] == 0:
        return a
    z1z1, z2z2 = a[2] * a[2] % P, b[2] * b[2] % P
    u1, u2 = a[0] * z2z2 % P, b[0] * z1z1 % P
    s1, s2 = a[1] * b[2] * z2z2 % P, b[1] * a[2] * z1z1 % P
    if u1 == u2:
        return _jdouble(a) if s1 == s2 else (0, 1, 0)
    h, r = (u2 - u1) % P, (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    x3 = (r * r - hhh - 2 * u1 * hh) % P
    return (x3, (r * (u1 * hh - x3) - s1 * hhh) % P, h * a[2] * b[2] % P)


def _affine(j):
    if j[2] == 0:
        return None
    zi = pow(j[2], -1, P)
    return (j[0] * zi * zi % P, j[1] * zi * zi * zi % P)


def _jac(pt):
    return (0, 1, 0) if pt is None else (pt[0], pt[1], 1)


def add(*pts):
    acc = (0, 1, 0)
    for pt in pts:
        acc = _jadd(acc, _jac(pt))
    return _affine(acc)


def neg(pt):
    return None if pt is None else (pt[0], (-pt[1]) % P)


def mul(k, pt=G):
    k %= N
    acc, base = (0, 1, 0), _jac(pt)
    while k:
        if k & 1:
            acc = _jadd(acc, base)
        base = _jdouble(base)
        k >>= 1
    return _affine(acc)


def compress(pt):
    assert pt is not None, "the point at infinity has no encoding"
    return bytes([2 + (pt[1] & 1)]) + pt[0].to_bytes(32, "big")


def decompress(b):
    """The point of a 33-byte compressed encoding; ValueError when it is none."""
    if len(b) != 33 or b[0] not in (2, 3):
        raise ValueError("not a compressed encoding")
    x = int.from_bytes(b[1:], "big")
    if x >= P:
        raise ValueError("x >= p")
    y = pow((x ** 3 + 7) % P, (P + 1) // 4, P)
    if (y * y - x ** 3 - 7) % P:
        raise ValueError("not on the curve")
    if (y & 1) != (b[0] & 1):
        y = P - y
    return (x, y)


# ---- the protocol --------------------------------------------------------------------------------------

def lagrange(indices, i):
    """λ_i at 0 over the set `indices`, mod N."""
    num, den = 1, 1
    for j in indices:
        if j != i:
            num = num * j % N
            den = den * (j - i) % N
    return num * pow(den, -1, N) % N


def batch_seed(vk, pairs):
    """SHA-512(domain ‖ P_i ‖ m ‖ K_1 ‖ R_1 ‖ …) over the pairs [(K, R), …] (compressed bytes)."""
    return hashlib.sha512(BATCH_DOMAIN + vk + len(pairs).to_bytes(4, "big") + b"".join(k + r for k, r in pairs)).digest()


def batch_weight(seed, j):
    e = int.from_bytes(hashlib.sha512(seed + j.to_bytes(4, "big")).digest()[:16], "big")
    return e or 1


def batch_composites(vk, pairs):
    """(seed, M = Σ e_j·K_j, Z = Σ e_j·R_j) of a batch."""
    seed = batch_seed(vk, pairs)
    es = [batch_weight(seed, j) for j in range(len(pairs))]
    m_pt = add(*(mul(e, decompress(k)) for e, (k, _) in zip(es, pairs)))
    z_pt = add(*(mul(e, decompress(r)) for e, (_, r) in zip(es, pairs)))
    return seed, m_pt, z_pt


def batch_challenge(seed, m_pt, z_pt, a_pt, b_pt):
    h = hashlib.sha512(BATCH_DOMAIN + seed + b"".join(compress(p) for p in (m_pt, z_pt, a_pt, b_pt))).digest()
    return int.from_bytes(h, "big") % N


def dleq_prove(share, ks, r):
    """(pairs, proof) of node `share` for the ephemeral keys ks (compressed bytes), with the nonce r."""
    vk = compress(mul(share))
    pairs = [(k, compress(mul(share, decompress(k)))) for k in ks]
    seed, m_pt, z_pt = batch_composites(vk, pairs)
    c = batch_challenge(seed, m_pt, z_pt, mul(r), mul(r, m_pt))
    return pairs, c.to_bytes(32, "big") + ((r + c * share) % N).to_bytes(32, "big")


def dleq_verify(vk, pairs, proof):
    """Whether the batch's proof (c ‖ z) shows log_G vk = log_K R for every (K, R) of pairs (compressed bytes)."""
    c, z = int.from_bytes(proof[:32], "big"), int.from_bytes(proof[32:], "big")
    if not (0 < c < N and 0 < z < N) or not pairs:
        return False
    seed, m_pt, z_pt = batch_composites(vk, pairs)
    if m_pt is None or z_pt is None:
        return False
    a = add(mul(z, G), neg(mul(c, decompress(vk))))
    b = add(mul(z, m_pt), neg(mul(c, z_pt)))
    if a is None or b is None:
        return False
    return batch_challenge(seed, m_pt, z_pt, a, b) == c


class Items(list):
    """An opened envelope: [(K, R), …], with the batch's proof as .proof."""
    proof = b""


def open_envelope(rsa_key, d, chain_id):
    """Items [(K, R), …] (.proof: the batch's DLEQ proof) of one node's envelope {node, wrappedKey, iv, ciphertext}
    (raises when it does not open)."""
    key = rsa_key.decrypt(bytes.fromhex(d["wrappedKey"][2:]), OAEP)
    aad = AAD_LABEL + struct.pack(">IQ", d["node"], chain_id)
    plain = AESGCM(key).decrypt(bytes.fromhex(d["iv"][2:]), bytes.fromhex(d["ciphertext"][2:]), aad)
    assert len(plain) > PROOF and (len(plain) - PROOF) % ITEM == 0, len(plain)
    items = Items((plain[i:i + 33], plain[i + 33:i + ITEM]) for i in range(PROOF, len(plain), ITEM))
    items.proof = plain[:PROOF]
    return items


def combine(partials):
    """x-coordinate (32 bytes) of Σ λ_i R_i over {node index: R (compressed)}."""
    idx = sorted(partials)
    acc = None
    for i in idx:
        acc = add(acc, mul(lagrange(idx, i), decompress(partials[i])))
    return acc[0].to_bytes(32, "big")


def ecies_decrypt_x(x, iv, ciphertext):
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"\0" * 32, info=b"ECIES:AES_GCM:v1").derive(x)
    return AESGCM(key).decrypt(iv, ciphertext, None)


def chain_of(handle):
    """The chain id of a handle (0x + 64 hex): bytes 26..29 (spec §2)."""
    return int(handle[2 + 52:2 + 60], 16)


def decrypt(rsa_key, answer, value, chain_id=None, use=None):
    """The plaintext of `value`, from the first t envelopes of `answer` (or the nodes in `use`); the chain
    defaults to the value's handle's."""
    chain_id = chain_of(value["handle"]) if chain_id is None else chain_id
    t = answer["threshold"]
    envelopes = {d["node"]: d for d in answer["delegations"]}
    nodes = use if use is not None else sorted(envelopes)[:t]
    k = bytes.fromhex(value["publicKey"][2:])
    partials = {}
    for n in nodes:
        item = open_envelope(rsa_key, envelopes[n], chain_id)[value["item"]]
        assert item[0] == k, "the item is for another ephemeral key"
        partials[n] = item[1]
    x = combine(partials)
    return ecies_decrypt_x(x, bytes.fromhex(value["iv"][2:]), bytes.fromhex(value["ciphertext"][2:]))
