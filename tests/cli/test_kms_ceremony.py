#!/usr/bin/env python3
"""nox-kms key ceremonies end to end, only through the CLI: split, deal, share-info, reshare-deal, reshare-combine.

The shares are checked without the library: pure-integer secp256k1 and Lagrange interpolation mod n rebuild the
key from every t-subset of share files. Every command's stdout and stderr is searched for every secret.
usage: test_kms_ceremony.py NOX_KMS
"""
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile

KMS = os.path.abspath(sys.argv[1])
work = tempfile.mkdtemp(prefix="kms-ceremony-")
outputs = []  # (command, stdout + stderr) of every run
failures = []
passes = 0

# ---- secp256k1, pure integers -----------------------------------------------------------------------------------
FP = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % FP == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], -1, FP) % FP
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, FP) % FP
    x = (lam * lam - a[0] - b[0]) % FP
    return (x, (lam * (a[0] - x) - a[1]) % FP)


def mul(k, p=G):
    r = None
    while k:
        if k & 1:
            r = add(r, p)
        p = add(p, p)
        k >>= 1
    return r


def compress(p):
    return "0x%02x%064x" % (2 + (p[1] & 1), p[0])


def on_curve_x(x):
    y2 = (x * x * x + 7) % FP
    return pow(y2, (FP - 1) // 2, FP) == 1


def lagrange(i, S):
    num = den = 1
    for j in S:
        if j != i:
            num = num * j % N
            den = den * (j - i) % N
    return num * pow(den, -1, N) % N


def interpolate(shares):  # {index: scalar} -> f(0)
    S = list(shares)
    return sum(lagrange(i, S) * d for i, d in shares.items()) % N


# ---- harness ----------------------------------------------------------------------------------------------------
def ok():
    global passes
    passes += 1


def bad(msg):
    failures.append(msg)
    print("FAIL:", msg)


def check(cond, msg):
    ok() if cond else bad(msg)


def run(*args, rc=0, err=None):
    """Runs nox-kms ARGS; checks the exit code and (when given) a substring of stderr. Returns (stdout, stderr)."""
    p = subprocess.run([KMS, *args], capture_output=True, text=True, cwd=work)
    outputs.append((" ".join(args), p.stdout + p.stderr))
    if p.returncode != rc or (err is not None and err not in p.stderr):
        bad("nox-kms %s -> rc %d, out %r, err %r; want rc %d, err ~ %r"
            % (" ".join(args), p.returncode, p.stdout, p.stderr, rc, err))
    else:
        ok()
    return p.stdout, p.stderr


def fields(out):
    d = {}
    for line in out.splitlines():
        k, _, v = line.partition(": ")
        d[k] = v
    return d


def path(*parts):
    return os.path.join(work, *parts)


def read_key(p):
    return int(open(p).read().strip(), 16)


def mode(p):
    return os.stat(p).st_mode & 0o777


secret_files = []  # every file holding a secret, read at the end


def keygen(name):
    out, _ = run("keygen", "--out", path(name))
    secret_files.append(path(name))
    return fields(out)["public key"]


def check_reconstructs(shares, t, P, what):
    """Every t-subset of shares {i: d_i} gives d with d·G = P; every (t-1)-subset does not."""
    for S in itertools.combinations(sorted(shares), t):
        d = interpolate({i: shares[i] for i in S})
        check(compress(mul(d)) == P, "%s: shares %s do not reconstruct P" % (what, S))
    if t > 1:
        S = sorted(shares)[: t - 1]
        d = interpolate({i: shares[i] for i in S})
        check(compress(mul(d)) != P, "%s: %d < t shares reconstruct P" % (what, t - 1))


def deal(t, n, d, *extra, rc=0, err=None):
    out, e = run("deal", "--threshold", str(t), "--nodes", str(n), "--out-dir", path(d), *extra, rc=rc, err=err)
    if rc == 0:
        secret_files.extend(path(d, "share-%d.key" % i) for i in range(1, n + 1))
    return fields(out)


def load_shares(fmt, indices):
    return {i: read_key(path(fmt % i)) for i in indices}


try:
    # ---- deal 2-of-3 ------------------------------------------------------------------------------------------------
    f = deal(2, 3, "d1")
    P = f.get("public key", "")
    group = json.load(open(path("d1", "group.json")))
    check(f.get("threshold") == "2" and f.get("nodes") == "3" and f.get("group fingerprint", "").startswith("0x"),
          "deal output: %r" % f)
    check(group["publicKey"] == P and group["threshold"] == 2 and group["nodes"] == 3
          and len(group["commitments"]) == 2 and len(group["verificationKeys"]) == 3, "deal group.json: %r" % group)
    check(all(f.get("share %d" % i) == path("d1", "share-%d.key" % i) for i in (1, 2, 3)), "deal files: %r" % f)
    check(f.get("group file") == path("d1", "group.json"), "deal group file: %r" % f)
    check(all(mode(path("d1", "share-%d.key" % i)) == 0o600 for i in (1, 2, 3)), "share files are not 0600")
    check(mode(path("d1", "group.json")) == 0o644, "group.json is not 0644")
    fp1 = f["group fingerprint"]
    for i in (1, 2, 3):
        out, _ = run("share-info", "--group", path("d1", "group.json"), "--share", path("d1", "share-%d.key" % i))
        s = fields(out)
        check(s.get("node index") == str(i) and s.get("public key") == P and s.get("threshold") == "2"
              and s.get("nodes") == "3" and s.get("group fingerprint") == fp1
              and s.get("verification key") == group["verificationKeys"][i - 1], "share-info %d: %r" % (i, s))
        check(compress(mul(read_key(path("d1", "share-%d.key" % i)))) == group["verificationKeys"][i - 1],
              "share %d is not its verification key's" % i)
    old = load_shares("d1/share-%d.key", (1, 2, 3))
    check_reconstructs(old, 2, P, "deal 2-of-3")

    # ---- reshare 2-of-3 -> 3-of-5, old set 1,3 ----------------------------------------------------------------------
    tk = {j: keygen("transport-%d.key" % j) for j in range(1, 6)}
    recipients = {"nodes": [{"index": j, "transportKey": tk[j]} for j in (3, 1, 2, 5, 4)]}  # any order
    json.dump(recipients, open(path("r5.json"), "w"))
    for i in (1, 3):
        out, _ = run("reshare-deal", "--group", path("d1", "group.json"), "--share", path("d1", "share-%d.key" % i),
                     "--old-set", "3,1", "--threshold", "3", "--recipients", path("r5.json"),
                     "--out", path("c%d.json" % i))
        c = fields(out)
        check(c.get("dealer") == str(i) and c.get("old group fingerprint") == fp1 and c.get("public key") == P
              and c.get("old set") == "1,3" and c.get("threshold") == "3" and c.get("nodes") == "5"
              and c.get("contribution file") == path("c%d.json" % i), "reshare-deal %d: %r" % (i, c))
    contrib = json.load(open(path("c1.json")))
    check(contrib["version"] == 1 and contrib["oldGroup"] == fp1 and contrib["publicKey"] == P
          and contrib["oldSet"] == [1, 3] and contrib["dealer"] == 1 and contrib["threshold"] == 3
          and contrib["nodes"] == 5 and len(contrib["commitments"]) == 3 and len(contrib["subshares"]) == 5
          and all(s["transportKey"] == tk[s["index"]] and len(s["ciphertext"]) == 2 + 2 * 48
                  and len(s["nonce"]) == 2 + 24 and len(s["ephemeralPubKey"]) == 2 + 66 for s in contrib["subshares"]),
          "contribution file: %r" % contrib)
    # commitments[0] = λ_1·P_1 over the old set {1, 3}
    P1 = group["verificationKeys"][0]
    check(contrib["commitments"][0] == compress(mul(lagrange(1, [1, 3]) * old[1] % N)),
          "commitments[0] of dealer 1 is not λ_1·P_1")
    cfiles = path("c1.json") + "," + path("c3.json")
    for j in range(1, 6):
        out, _ = run("reshare-combine", "--group", path("d1", "group.json"), "--transport-key",
                     path("transport-%d.key" % j), "--contributions", cfiles if j % 2 else path("c3.json") + "," +
                     path("c1.json"), "--out-share", path("n-share-%d.key" % j), "--out-group", path("n-group-%d.json" % j))
        secret_files.append(path("n-share-%d.key" % j))
        c = fields(out)
        check(c.get("node index") == str(j) and c.get("public key") == P and c.get("threshold") == "3"
              and c.get("nodes") == "5" and c.get("old group fingerprint") == fp1, "reshare-combine %d: %r" % (j, c))
        check(mode(path("n-share-%d.key" % j)) == 0o600, "new share %d is not 0600" % j)
    texts = [open(path("n-group-%d.json" % j), "rb").read() for j in range(1, 6)]
    check(all(t == texts[0] for t in texts), "the 5 new group files differ")
    g2 = json.loads(texts[0])
    check(g2["publicKey"] == P and g2["threshold"] == 3 and g2["nodes"] == 5, "new group: %r" % g2)
    fp2 = fields(out).get("group fingerprint")
    check(fp2 != fp1, "the new group has the old fingerprint")
    for j in range(1, 6):
        out, _ = run("share-info", "--group", path("n-group-1.json"), "--share", path("n-share-%d.key" % j))
        check(fields(out).get("node index") == str(j) and fields(out).get("group fingerprint") == fp2,
              "share-info of new share %d: %r" % (j, out))
    new = load_shares("n-share-%d.key", range(1, 6))
    check_reconstructs(new, 3, P, "reshared 3-of-5")
    for i in (1, 2, 3):  # an old share among new ones reconstructs nothing
        mixed = {1: new[1], 2: new[2], 3: new[3]}
        mixed[i] = old[i]
        check(compress(mul(interpolate(mixed))) != P, "old share %d mixed with new ones reconstructs P" % i)
    run("share-info", "--group", path("n-group-1.json"), "--share", path("d1", "share-1.key"), rc=1,
        err="not any node")

    # ---- reshare 3-of-5 -> 2-of-3, old set 2,4,5 --------------------------------------------------------------------
    tk3 = {j: keygen("t3-%d.key" % j) for j in range(1, 4)}
    json.dump({"nodes": [{"index": j, "transportKey": tk3[j]} for j in (1, 2, 3)]}, open(path("r3.json"), "w"))
    for i in (2, 4, 5):
        run("reshare-deal", "--group", path("n-group-%d.json" % i), "--share", path("n-share-%d.key" % i),
            "--old-set", "2,4,5", "--threshold", "2", "--recipients", path("r3.json"), "--out", path("e%d.json" % i))
    efiles = ",".join(path("e%d.json" % i) for i in (5, 2, 4))
    for j in (1, 2, 3):
        out, _ = run("reshare-combine", "--group", path("n-group-1.json"), "--transport-key", path("t3-%d.key" % j),
                     "--contributions", efiles, "--out-share", path("m-share-%d.key" % j),
                     "--out-group", path("m-group-%d.json" % j))
        secret_files.append(path("m-share-%d.key" % j))
        check(fields(out).get("public key") == P and fields(out).get("node index") == str(j), "back to 2-of-3: %r" % out)
    texts = [open(path("m-group-%d.json" % j), "rb").read() for j in (1, 2, 3)]
    check(all(t == texts[0] for t in texts) and json.loads(texts[0])["publicKey"] == P, "2-of-3 groups differ")
    check_reconstructs(load_shares("m-share-%d.key", (1, 2, 3)), 2, P, "reshared back to 2-of-3")

    # ---- split of a keygen key --------------------------------------------------------------------------------------
    KP = keygen("single.key")
    k = read_key(path("single.key"))
    out, _ = run("split", "--key", path("single.key"), "--threshold", "3", "--nodes", "4", "--out-dir", path("s"))
    secret_files.extend(path("s", "share-%d.key" % i) for i in range(1, 5))
    check(fields(out).get("public key") == KP and json.load(open(path("s", "group.json")))["publicKey"] == KP,
          "split: the group's public key is not keygen's %s: %r" % (KP, out))
    split = load_shares("s/share-%d.key", range(1, 5))
    for S in itertools.combinations(range(1, 5), 3):
        check(interpolate({i: split[i] for i in S}) == k, "split: shares %s do not give the key" % (S,))
    check(read_key(path("single.key")) == k, "split changed the key file")
    run("share-info", "--group", path("d1", "group.json"), "--share", path("s", "share-1.key"), rc=1,
        err="not any node")

    # ---- refusals -----------------------------------------------------------------------------------------------------
    os.chmod(path("d1", "share-1.key"), 0o644)
    _, e = run("share-info", "--group", path("d1", "group.json"), "--share", path("d1", "share-1.key"), rc=1,
               err="chmod 600")
    os.chmod(path("d1", "share-1.key"), 0o600)
    deal(2, 3, "d1", rc=1, err="already exists")
    check(read_key(path("d1", "share-1.key")) == old[1], "a refused deal changed a share")
    f2 = deal(2, 3, "d2")
    f3 = deal(2, 2, "d2", "--force")
    check(f3.get("public key") and f3["public key"] != f2.get("public key")
          and mode(path("d2", "share-1.key")) == 0o600 and json.load(open(path("d2", "group.json")))["nodes"] == 2,
          "deal --force did not replace the files")
    check(not [n for n in os.listdir(path("d2")) if n.startswith(".")], "deal --force left temporary files")
    run("split", "--key", path("single.key"), "--threshold", "2", "--nodes", "2", "--out-dir", path("s"), rc=1,
        err="already exists")
    deal(4, 3, "x", rc=2, err="--threshold 4 exceeds --nodes 3")
    deal(2, 33, "x", rc=2, err="--nodes: expected a decimal integer in [1, 32]")
    deal(0, 3, "x", rc=2, err="--threshold: expected a decimal integer in [1, 32]")
    deal("two", 3, "x", rc=2, err="--threshold: expected a decimal integer")
    run("deal", "--threshold", "2", "--out-dir", path("x"), rc=2, err="--nodes is required")
    run("deal", "--threshold", "2", "--nodes", "3", "--out-dir", path("x"), "--bogus", rc=2, err="unknown option --bogus")
    run("share-info", "--group", path("d1", "group.json"), rc=2, err="--share is required")
    run("split", "--key", path("missing.key"), "--threshold", "2", "--nodes", "3", "--out-dir", path("x"), rc=1,
        err="missing.key")
    check(not os.path.exists(path("x", "share-1.key")), "a failed split wrote a share")
    rd = ["reshare-deal", "--group", path("d1", "group.json"), "--share", path("d1", "share-1.key"),
          "--threshold", "3", "--recipients", path("r5.json")]
    run(*rd, "--old-set", "1", "--out", path("y.json"), rc=2, err="needs exactly 2")
    run(*rd, "--old-set", "1,2,3", "--out", path("y.json"), rc=2, err="needs exactly 2")
    run(*rd, "--old-set", "1,4", "--out", path("y.json"), rc=2, err="4 is not a node of the old group")
    run(*rd, "--old-set", "1,1", "--out", path("y.json"), rc=2, err="node 1 given twice")
    run(*rd, "--old-set", "1,x", "--out", path("y.json"), rc=2, err="'x' is not a node index")
    run(*rd, "--old-set", "2,3", "--out", path("y.json"), rc=2, err="does not include node 1")
    run(*rd, "--old-set", "1,3", "--out", path("c1.json"), rc=1, err="already exists")
    rd6 = [a if a != "3" else "6" for a in rd]
    run(*rd6, "--old-set", "1,3", "--out", path("y.json"), rc=2, err="--threshold 6 exceeds the 5 nodes")
    json.dump({"nodes": [{"index": 1, "transportKey": tk[1]}, {"index": 3, "transportKey": tk[2]}]},
              open(path("rbad.json"), "w"))
    run("reshare-deal", "--group", path("d1", "group.json"), "--share", path("d1", "share-1.key"), "--old-set", "1,3",
        "--threshold", "2", "--recipients", path("rbad.json"), "--out", path("y.json"), rc=1,
        err="indices are exactly 1..2")
    check(not os.path.exists(path("y.json")), "a refused reshare-deal wrote its output")

    rc_args = ["reshare-combine", "--group", path("d1", "group.json"), "--transport-key", path("transport-2.key")]

    def combine_with(contribs, rc=1, err=None, group=None):
        args = list(rc_args)
        if group:
            args[2] = group
        return run(*args, "--contributions", ",".join(contribs), "--out-share", path("z.key"), "--out-group",
                   path("z.json"), rc=rc, err=err)

    def tampered(name, edit):
        c = json.load(open(path("c1.json")))
        edit(c)
        json.dump(c, open(path(name), "w"))
        return path(name)

    def flip(h, pos, valid=None):
        """h with the hex digit at pos changed; with valid set, until the result's x is (not) on the curve."""
        for d in "0123456789abcdef":
            if d == h[pos]:
                continue
            g = h[:pos] + d + h[pos + 1:]
            if valid is None or on_curve_x(int(g[4:], 16)) == valid:
                return g
        raise AssertionError("no digit")

    t1 = tampered("t-com-bad.json", lambda c: c["commitments"].__setitem__(1, flip(c["commitments"][1], 40, False)))
    combine_with([t1, path("c3.json")], err="(dealer 1)")
    t2 = tampered("t-com.json", lambda c: c["commitments"].__setitem__(1, flip(c["commitments"][1], 40, True)))
    combine_with([t2, path("c3.json")], err="dealer 1")
    t0 = tampered("t-com0.json", lambda c: c["commitments"].__setitem__(0, flip(c["commitments"][0], 30, True)))
    combine_with([t0, path("c3.json")], err="dealer 1")

    def flip_ct(c):
        s = [s for s in c["subshares"] if s["index"] == 2][0]
        s["ciphertext"] = flip(s["ciphertext"], 20)
    t3 = tampered("t-ct.json", flip_ct)
    combine_with([path("c3.json"), t3], err="contribution %s (dealer 1): the sub-share for node 2 does not decrypt" % t3)
    combine_with([path("c1.json")], err="no contribution from old node 3")
    combine_with([path("c1.json"), path("c1.json")], rc=2, err="given twice")
    combine_with([path("c1.json"), path("e2.json")], err="another old group")
    combine_with([path("e2.json"), path("e4.json"), path("e5.json")], err="dealer")  # group d1 is not their old group
    t4 = tampered("t-set.json", lambda c: c.__setitem__("oldSet", [1, 2]))
    combine_with([t4, path("c3.json")], err="old set")
    t5 = tampered("t-t.json", lambda c: c.__setitem__("threshold", 2) or c["commitments"].pop())
    combine_with([path("c3.json"), t5], err="(dealer 1): it reshares to 2-of-5")
    run("reshare-combine", "--group", path("d1", "group.json"), "--transport-key", path("t3-1.key"), "--contributions",
        cfiles, "--out-share", path("z.key"), "--out-group", path("z.json"), rc=1, err="is not among its recipients")
    check(not os.path.exists(path("z.key")) and not os.path.exists(path("z.json")), "a refused combine wrote output")
    run(*rc_args, "--contributions", cfiles, "--out-share", path("n-share-2.key"), "--out-group", path("zz.json"),
        rc=1, err="already exists")
    run(*rc_args, "--contributions", cfiles, "--out-share", path("n-share-2.key"), "--out-group", path("n-group-2.json"),
        "--force")
    check(read_key(path("n-share-2.key")) == new[2] and mode(path("n-share-2.key")) == 0o600,
          "combine --force did not rewrite the same share 0600")

    # ---- no secret in any output --------------------------------------------------------------------------------------
    secrets = {"%064x" % read_key(p) for p in secret_files if os.path.exists(p)}
    check(len(secrets) >= 20, "only %d secrets collected" % len(secrets))
    for cmd, text in outputs:
        for s in secrets:
            if s in text.lower():
                bad("a secret appeared in the output of: nox-kms %s" % cmd)
    for name in os.listdir(work):
        if name.endswith(".json"):
            text = open(path(name)).read().lower()
            check(not any(s in text for s in secrets), "a secret appears in %s" % name)
finally:
    shutil.rmtree(work, ignore_errors=True)

print("%d passed, %d failed" % (passes, len(failures)))
sys.exit(1 if failures else 0)
