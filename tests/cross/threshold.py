#!/usr/bin/python3
"""Cross-check of the t-of-n threshold key (nox/threshold.h): Shamir shares over
the secp256k1 order, Feldman commitments, Lagrange coefficients, Chaum–Pedersen
(DLEQ) partials, their combination, and proactive resharing.

Usage: threshold.py PATH/TO/threshold_driver

secp256k1 is written here from its definition with Python integers (Jacobian
coordinates), checked first against Python's `cryptography`; the protocol is
written independently from the header. The driver (threshold_driver.c) runs our
C code, one command per line. Prints one line per check and ends with
"N passed, M failed"; exits 1 when anything failed.
"""
import hashlib
import itertools
import json
import os
import random
import secrets
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402

# ---- secp256k1 from its definition: tests/lib/noxthreshold.py (Python integers, Jacobian coordinates) -------
from noxthreshold import G, N, P, add, compress, decompress, dleq_prove, dleq_verify, lagrange, mul, neg, on_curve  # noqa: E402,F401

# ---- the protocol, from the header -------------------------------------------------------------------


def poly_eval(coeffs, x):
    return sum(a * pow(x, k, N) for k, a in enumerate(coeffs)) % N


def deal(coeffs, n):
    """Shares f(1..n), commitments a_k·G and verification keys f(i)·G of the polynomial `coeffs` (a_0 = secret)."""
    shares = [poly_eval(coeffs, i) for i in range(1, n + 1)]
    return shares, [mul(a) for a in coeffs], [mul(s) for s in shares]


def feldman(commitments, i):
    """Σ_k i^k·C_k."""
    return add(*(mul(pow(i, k, N), c) for k, c in enumerate(commitments)))


def combine(indices, partials):
    return add(*(mul(lagrange(indices, i), r) for i, r in zip(indices, partials)))


# ---- the driver ---------------------------------------------------------------------------------------------


class Driver:
    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def call(self, *words):
        """Returns the result fields of an "ok" answer, or raises DriverError with the message."""
        self.p.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit("the driver died (exit status %s)" % self.p.wait())
        line = line.rstrip("\n")
        if line == "ok" or line.startswith("ok "):
            return line.split()[1:]
        if line.startswith("error "):
            raise DriverError(line[6:])
        raise SystemExit("unexpected driver answer: %r" % line)

    def close(self):
        self.p.stdin.close()
        return self.p.wait()


class DriverError(Exception):
    pass


def check(name, ok, detail=""):
    noxtest.check(name, ok, detail, verbose=True)


def refused(name, fn, why):
    """Checks that fn() makes the driver answer an error whose message contains `why`."""
    try:
        fn()
    except DriverError as e:
        check(name, why in str(e), "message: %s" % e)
    else:
        check(name, False, "accepted")


def h(b):
    return "0x" + b.hex()


def hs(k):
    return "0x%064x" % k


def unhex(s):
    assert s.startswith("0x"), s
    return bytes.fromhex(s[2:])


def ints(s):
    return int(s, 16)


def csv(indices):
    return ",".join(str(i) for i in indices)


def group_of(json_hex):
    """The group JSON text the driver printed (hex of the text), parsed."""
    text = unhex(json_hex).decode()
    g = json.loads(text)
    return text, g


def rand_scalar():
    return secrets.randbelow(N - 1) + 1


# ---- the checks ---------------------------------------------------------------------------------------------


def self_test():
    """This file's secp256k1 against OpenSSL's (via `cryptography`): k·G and ECDH x."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    ok = mul(N) is None and mul(N - 1) == neg(G) and add(G, neg(G)) is None and add(G, G) == mul(2)
    for _ in range(4):
        k = rand_scalar()
        key = ec.derive_private_key(k, ec.SECP256K1())
        pub = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        other = ec.generate_private_key(ec.SECP256K1())
        opub = other.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.CompressedPoint)
        ok = ok and compress(mul(k)) == pub and decompress(pub) == mul(k) and on_curve(mul(k))
        ok = ok and key.exchange(ec.ECDH(), other.public_key()) == mul(k, decompress(opub))[0].to_bytes(32, "big")
    check("Python secp256k1 agrees with OpenSSL's (k·G, compression, ECDH x, n·G = O)", ok)


def check_group(name, g, t, n, shares, secret=None):
    """Feldman consistency of a group the driver made, and that its shares are the polynomial's."""
    check("%s: version, threshold, nodes, member counts" % name,
          g["version"] == 1 and g["threshold"] == t and g["nodes"] == n and len(g["commitments"]) == t
          and len(g["verificationKeys"]) == n and set(g) == {"version", "threshold", "nodes", "publicKey",
                                                               "commitments", "verificationKeys"})
    cs = [decompress(unhex(c)) for c in g["commitments"]]
    vks = [decompress(unhex(v)) for v in g["verificationKeys"]]
    pub = decompress(unhex(g["publicKey"]))
    check("%s: C_0 = P" % name, cs[0] == pub)
    check("%s: every P_i = Σ_k i^k·C_k" % name, all(feldman(cs, i) == vks[i - 1] for i in range(1, n + 1)))
    check("%s: every share·G = P_i" % name, all(mul(s) == vks[i] for i, s in enumerate(shares)))
    d = sum(lagrange(range(1, t + 1), i) * shares[i - 1] for i in range(1, t + 1)) % N
    check("%s: the first t shares interpolate to d with d·G = P" % name, mul(d) == pub)
    if secret is not None:
        check("%s: d is the secret split" % name, d == secret)
    if t > 1:
        wrong = sum(lagrange(range(1, t), i) * shares[i - 1] for i in range(1, t)) % N
        check("%s: t-1 shares do not interpolate to d" % name, mul(wrong) != pub)
    return pub, vks, d


def check_lagrange(d):
    for indices in ([1, 2], [1, 2, 3], [3, 7, 32], random.sample(range(1, 33), 9), list(range(1, 33))):
        ok = True
        for i in indices:
            (got,) = d.call("lagrange", csv(indices), i)
            ok = ok and ints(got) == lagrange(indices, i)
        check("λ over %s matches Python" % csv(indices), ok)
    refused("λ with a repeated index refused", lambda: d.call("lagrange", "1,2,2", 1), "twice")
    refused("λ with index 0 refused", lambda: d.call("lagrange", "0,2", 2), "1..32")
    refused("λ with index 33 refused", lambda: d.call("lagrange", "1,33", 1), "1..32")
    refused("λ for an absent index refused", lambda: d.call("lagrange", "1,2", 3), "not among")


def check_partials(d, name, t, n, shares, vks, secret):
    m = random.choice([1, 2, 5])
    k_pts = [mul(rand_scalar()) for _ in range(m)]
    ks = [compress(k) for k in k_pts]
    partials = []  # node i's R for the first key, at [i-1]
    ok_r, ok_proof = True, True
    for i, s in enumerate(shares, start=1):
        out = d.call("partials", hs(s), *(h(k) for k in ks))
        rs, proof = [unhex(r) for r in out[:m]], unhex(out[m])
        partials.append(h(rs[0]))
        ok_r = ok_r and all(decompress(r) == mul(s, k) for r, k in zip(rs, k_pts))
        ok_proof = ok_proof and len(proof) == 64 and dleq_verify(compress(vks[i - 1]), list(zip(ks, rs)), proof)
    check("%s: every partial R_i = d_i·K (a batch of %d)" % (name, m), ok_r)
    check("%s: every C batch proof verifies in Python (own hashes)" % name, ok_proof)
    k_pt, k_hex = k_pts[0], h(ks[0])
    want = mul(secret, k_pt)[0].to_bytes(32, "big")
    subsets = list(itertools.combinations(range(1, n + 1), t))
    random.shuffle(subsets)
    ok = True
    for sub in subsets[:6]:
        sub = list(sub)
        random.shuffle(sub)
        (x,) = d.call("combine", csv(sub), *(partials[i - 1] for i in sub))
        py = combine(sub, [decompress(unhex(partials[i - 1])) for i in sub])
        ok = ok and unhex(x) == want and py[0].to_bytes(32, "big") == want
    check("%s: combine of t partials = x of d·K (C and Python)" % name, ok)
    if t > 1:
        sub = list(range(1, t))
        (x,) = d.call("combine", csv(sub), *(partials[i - 1] for i in sub))
        check("%s: t-1 partials give another x" % name, unhex(x) != want)

    # Python proves, C verifies; forgeries refused
    i = random.randrange(1, n + 1)
    vk = compress(vks[i - 1])
    pairs, proof = dleq_prove(shares[i - 1], ks, rand_scalar())

    def verify(pairs, proof):
        return d.call("verify", h(vk), h(proof), *(h(x) for pair in pairs for x in pair))

    try:
        verify(pairs, proof)
        check("%s: a Python batch proof verifies in C" % name, True)
    except DriverError as e:
        check("%s: a Python batch proof verifies in C" % name, False, e)
    # forged: one wrong R (the last), the proof of the honest batch
    wrong = pairs[:-1] + [(pairs[-1][0], compress(add(decompress(pairs[-1][1]), G)))]
    refused("%s: one wrong partial in a batch refused" % name, lambda: verify(wrong, proof), "does not verify")
    # forged: R for another share, proved by a prover that knows only that share (wrong statement)
    other_pairs, other_proof = dleq_prove((shares[i - 1] + 1) % N, ks, rand_scalar())
    refused("%s: a proof for another key refused" % name, lambda: verify(other_pairs, other_proof), "does not verify")
    # forged: a wrong R with a proof made by guessing c first (the simulator without the hash)
    fake = rand_scalar().to_bytes(32, "big") + rand_scalar().to_bytes(32, "big")
    refused("%s: a simulated proof (c chosen first) refused" % name, lambda: verify(wrong, fake), "does not verify")
    if m > 1:  # the pairs reordered: each still right, the weights follow them
        try:
            verify(pairs[::-1], dleq_prove(shares[i - 1], ks[::-1], rand_scalar())[1])
            check("%s: a batch in another order verifies with its own proof" % name, True)
        except DriverError as e:
            check("%s: a batch in another order verifies with its own proof" % name, False, e)
        refused("%s: the proof of one order refused for another" % name, lambda: verify(pairs[::-1], proof),
                "does not verify")
    refused("%s: z = n refused as out of range" % name,
            lambda: verify(pairs, proof[:32] + N.to_bytes(32, "big")), "not below the group order")


def check_json_refusals(d, text):
    g = json.loads(text)
    refused("group JSON with a duplicate key refused",
            lambda: d.call("group_check", h(text.replace('"nodes"', '"nodes": 3, "nodes"', 1).encode())), "duplicate")
    bad = dict(g)
    bad["verificationKeys"] = list(g["verificationKeys"])
    vk = decompress(unhex(bad["verificationKeys"][-1]))
    bad["verificationKeys"][-1] = h(compress(add(vk, G)))
    refused("group JSON with a tampered verification key refused",
            lambda: d.call("group_check", h(json.dumps(bad).encode())), "not on the commitments' polynomial")
    bad = dict(g)
    bad["publicKey"] = h(b"\x02" + (5).to_bytes(32, "big"))  # x = 5: x^3 + 7 = 132 is not a square mod p
    refused("group JSON with a point off the curve refused",
            lambda: d.call("group_check", h(json.dumps(bad).encode())), "publicKey")


def check_reshare(d, name, old_text, old_g, old_shares, new_t, new_n, secret):
    t = old_g["threshold"]
    old_set = sorted(random.sample(range(1, old_g["nodes"] + 1), t))
    old_vks = [decompress(unhex(v)) for v in old_g["verificationKeys"]]
    contributions = []
    ok_c0, ok_feldman = True, True
    for i in old_set:
        out = d.call("reshare_deal", h(old_text.encode()), hs(old_shares[i - 1]), csv(old_set), new_t, new_n)
        dealer, cs, subs = int(out[0]), out[1:1 + new_t], out[1 + new_t:]
        assert dealer == i and len(subs) == new_n, out
        cps = [decompress(unhex(c)) for c in cs]
        ok_c0 = ok_c0 and cps[0] == mul(lagrange(old_set, i), old_vks[i - 1])
        ok_feldman = ok_feldman and all(mul(ints(s)) == feldman(cps, j) for j, s in enumerate(subs, start=1))
        contributions.append((dealer, cs, subs))
    check("%s: every contribution's C_0 = λ_i·P_i" % name, ok_c0)
    check("%s: every sub-share is on its dealer's commitments" % name, ok_feldman)
    new_shares = [sum(ints(c[2][j - 1]) for c in contributions) % N for j in range(1, new_n + 1)]
    new_cs = [add(*(decompress(unhex(c[1][m])) for c in contributions)) for m in range(new_t)]
    random.shuffle(contributions)  # any order
    ok_share, ok_group, groups = True, True, set()
    for j in range(1, new_n + 1):
        args = ["%d:%s:%s" % (dealer, ",".join(cs), subs[j - 1]) for dealer, cs, subs in contributions]
        out = d.call("reshare_combine", h(old_text.encode()), csv(old_set), new_t, new_n, j, *args)
        ok_share = ok_share and ints(out[0]) == new_shares[j - 1]
        text, g = group_of(out[1])
        groups.add(text)
        ok_group = ok_group and [decompress(unhex(c)) for c in g["commitments"]] == new_cs
    check("%s: every new share is Σ_i g_i(j) (Python)" % name, ok_share)
    check("%s: every new node computes the same group, C'_m = Σ_i C_i,m" % name, ok_group and len(groups) == 1)
    text = groups.pop()
    g = json.loads(text)
    check("%s: P unchanged" % name, g["publicKey"] == old_g["publicKey"])
    check_group(name + " (new group)", g, new_t, new_n, new_shares, secret)
    # a tampered sub-share is refused naming its dealer
    dealer, cs, subs = contributions[0]
    args = ["%d:%s:%s" % (dl, ",".join(c), hs((ints(s[0]) + 1) % N) if dl == dealer else s[0])
            for dl, c, s in contributions]
    refused("%s: a tampered sub-share refused naming old node %d" % (name, dealer),
            lambda: d.call("reshare_combine", h(old_text.encode()), csv(old_set), new_t, new_n, 1, *args),
            "old node %d" % dealer)
    return text, g, new_shares


def checks(d):
    self_test()
    check_lagrange(d)
    for t, n in ((1, 1), (1, 3), (2, 3), (3, 5), (5, 5), (4, 32)):
        name = "%d-of-%d" % (t, n)
        secret = rand_scalar()
        out = d.call("split", t, n, hs(secret))
        text, g = group_of(out[0])
        shares = [ints(s) for s in out[1:]]
        pub, vks, _ = check_group(name + " split", g, t, n, shares, secret)
        (fp,) = d.call("group_check", out[0])
        check("%s: the group JSON passes from_json (fingerprint %s)" % (name, fp), fp.startswith("0x") and len(fp) == 18)
        check_partials(d, name, t, n, shares, vks, secret)
        out = d.call("deal", t, n)
        _, g2 = group_of(out[0])
        check_group(name + " deal", g2, t, n, [ints(s) for s in out[1:]])
        if (t, n) == (3, 5):
            check_json_refusals(d, text)

    # Python's own group, in C
    coeffs = [rand_scalar() for _ in range(3)]
    shares, cs, vks = deal(coeffs, 4)
    g = {"version": 1, "threshold": 3, "nodes": 4, "publicKey": h(compress(cs[0])),
         "commitments": [h(compress(c)) for c in cs], "verificationKeys": [h(compress(v)) for v in vks]}
    text = json.dumps(g, indent=1)
    try:
        d.call("group_check", h(text.encode()))
        check("a Python-made 3-of-4 group passes from_json", True)
    except DriverError as e:
        check("a Python-made 3-of-4 group passes from_json", False, e)
    ok = True
    for i, s in enumerate(shares, start=1):
        (idx,) = d.call("share_check", h(text.encode()), hs(s))
        ok = ok and int(idx) == i
    check("share_check finds every Python share's index", ok)
    refused("share_check refuses share + 1", lambda: d.call("share_check", h(text.encode()), hs(shares[0] + 1)),
            "not any node's")

    # resharing 2-of-3 -> 3-of-5 -> 2-of-3
    secret = rand_scalar()
    out = d.call("split", 2, 3, hs(secret))
    text, g = group_of(out[0])
    shares = [ints(s) for s in out[1:]]
    for new_t, new_n in ((3, 5), (2, 3), (1, 2)):
        name = "reshare %d-of-%d -> %d-of-%d" % (g["threshold"], g["nodes"], new_t, new_n)
        text, g, shares = check_reshare(d, name, text, g, shares, new_t, new_n, secret)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: threshold.py PATH/TO/threshold_driver")
    d = Driver(sys.argv[1])
    try:
        checks(d)
    except Exception as e:  # an error answer where a result was due, or a bug here: report, do not hide
        traceback.print_exc()
        check("the checks ran to the end", False, "%s: %s" % (type(e).__name__, e))
    status = d.close()
    check("driver exits cleanly", status == 0, "exit status %d" % status)
    return noxtest.summary()


if __name__ == "__main__":
    sys.exit(main())
