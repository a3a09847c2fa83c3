#!/usr/bin/python3
"""security_threshold (label "security"): the attacks of a threshold KMS (docs/PROTOCOL-EXTENSIONS.md §11,
docs/operators.md §8), each performed on a real 2-of-3 devnet (scripts/devnet.sh in a temporary directory, with
the binaries of this build) and shown to fail.

usage: threshold_test.py BIN_DIR        (NOX_CAST: the cast binary, as for the e2e tests)

The test plays the adversary who has everything but the property under test: it reads every share
(DIR/kms/share-i.key), so for every stored value (PostgreSQL's handles table: ephemeral key K, nonce, ciphertext) it
computes each partial R_i = d_i·K and the shared secret x = (d·K).x (noxthreshold: secp256k1 and Lagrange in
Python, independent of the C code).

a. The Gateway never holds t partials in clear. Values are stored (user inputs, computed balances) and decrypted
   many times through the Gateway (users' GET /v0/secrets with the test's RSA key, Runner-signed operand reads and
   the Runner's own reads under load). Then the Gateway's memory is read (/proc/PID/maps + /proc/PID/mem: root with
   CAP_SYS_PTRACE reads it although the service set PR_SET_DUMPABLE 0) and searched for every R_i and x in every
   form (33-byte compressed, 32-byte x big-endian, 64-byte x‖y, x little-endian as libsecp256k1 stores it, ASCII hex):
   none. Controls that the scan works: it finds the envelope bytes the Gateway forwarded (its last answer's
   wrappedKey, a stored ciphertext); it finds the partials a process of the test's own holds; and in the Runner,
   stopped by gdb at nox_ecies_decrypt_x (right after combining), it finds the partials and x it holds — then, once
   the Runner has finished, the same scan of the Runner is reported (it wipes them). Also: no service's memory holds
   d, each KMS node holds its own share only (found: the control), and at the end the restarted Gateway holds none
   of the reshared partials. After `down`, every devnet log is searched for every R_i and x in hex: none.
   Reading another process's memory needs root (or CAP_SYS_PTRACE): otherwise those checks are SKIPped, said so.
b. Fewer than t nodes cannot decrypt: d_i·K of one share alone decrypts no value (AES-GCM fails); any two shares
   combined with Lagrange decrypt every value.
c. A stolen share is worthless after `devnet.sh reshare`: old share-1 + new share-2 decrypts nothing; two new shares
   decrypt everything; P is unchanged; the Gateway serves the new partials.
d. No partials for another requester: a Gateway-signed PartialDelegationAuthorization replayed for another target
   key (or other keys, or another chain) -> 401; an envelope does not open with another RSA key, nor as another node
   or chain (the AAD binds them).
e. A lying node is named, not believed: `devnet.sh restart kms2 --faulty`; its partials fail their DLEQ proof
   against the group file's verification key, nodes 1 and 3's hold, the value decrypts from them (Python and
   noxctl decrypt), and the Runner still computes right.
f. The group file pins the nodes: nox-kms with a share of another group, or with a tampered group file, refuses to
   start and names the group / the tampered key.

Prints one line per check and ends with "N passed, M failed"; exit 1 on failure.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2elib  # noqa: E402
from e2elib import noxtest  # noqa: E402
import noxthreshold as th  # noqa: E402
from noxtest import http, typed_data  # noqa: E402

from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

if len(sys.argv) != 2:
    print("usage: threshold_test.py BIN_DIR", file=sys.stderr)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
NOXCTL = os.path.join(BIN, "noxctl")
NOX_KMS = os.path.join(BIN, "nox-kms")
CAST = e2elib.cast_path()
CHAIN = 31337
MINTED = 10 ** 12
TRANSFERS = [1111, 2222, 3333, 4444]          # before the load
LOAD_TRANSFERS = [555, 666]                   # during it
GDB_TRANSFER = 77                             # while gdb holds the Runner
FAULTY_TRANSFER = 88                          # with kms2 lying
N_INPUTS = 12
USER_FIELDS = [("userAddress", "address"), ("encryptionPubKey", "string"), ("notBefore", "uint256"),
               ("expiresAt", "uint256")]


def check(name, ok, detail=""):
    ok = bool(ok)
    noxtest.check(name, ok, detail, verbose=True)
    return ok


def info(msg):
    print("INFO " + msg, flush=True)


def spki_hex(key):
    return "0x" + key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).hex()


def unhex(s):
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def x_of(pt):
    return pt[0].to_bytes(32, "big")


def d_of(shares):
    """Σ λ_i s_i over {index: share scalar}: d when they are t shares of one group."""
    idx = sorted(shares)
    return sum(th.lagrange(idx, i) * shares[i] for i in idx) % th.N


def opens(x, v):
    """Whether the AES-GCM of value v opens with shared secret x (32 bytes); the plaintext or None."""
    try:
        return th.ecies_decrypt_x(x, v.iv, v.ct)
    except InvalidTag:
        return None


# ---- memory scanning ------------------------------------------------------------------------------------------

class Scanner:
    """Finds byte patterns (each >= 16 bytes) in large buffers: every occurrence of a pattern contains an 8-byte
    aligned word at one of its offsets 0..7; the buffer's aligned words are intersected (in C) with the set of those
    words, and only the few candidates are compared in full."""

    def __init__(self, patterns):
        self.patterns = patterns                     # {label: bytes}
        self.index = {}                              # 8-byte word -> [(label, offset of the word in the pattern)]
        for label, p in patterns.items():
            assert len(p) >= 16, label
            for delta in range(8):
                self.index.setdefault(p[delta:delta + 8], []).append((label, delta))
        self.words = {int.from_bytes(w, sys.byteorder) for w in self.index}

    def scan(self, data, base, where, hits):
        n = len(data) // 8 * 8
        if not n:
            return
        for word in self.words.intersection(memoryview(data)[:n].cast("Q")):
            wb = word.to_bytes(8, sys.byteorder)
            pos = data.find(wb)
            while 0 <= pos < n:
                if pos % 8 == 0:
                    for label, delta in self.index[wb]:
                        p = self.patterns[label]
                        if pos >= delta and data[pos - delta:pos - delta + len(p)] == p:
                            hits.setdefault(label, []).append((where, hex(base + pos - delta)))
                pos = data.find(wb, pos + 1)


HUGE_MAPPING = 4 << 30   # larger readable mappings are reservations (AddressSanitizer's shadow), not data: skipped
SKIPPED = []             # (pid, mapping, size) of every mapping skipped so


def scan_process(pid, scanner):
    """Reads every readable mapping of pid through /proc/PID/mem; (hits {label: [(mapping, address)]}, bytes read,
    mappings read, error or None)."""
    hits, total, regions = {}, 0, 0
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    except OSError as e:
        return hits, 0, 0, f"open /proc/{pid}/mem: {e}"
    try:
        for line in open(f"/proc/{pid}/maps"):
            f = line.split()
            lo, hi = (int(v, 16) for v in f[0].split("-"))
            name = f[5] if len(f) > 5 else "[anon]"
            if f[1][0] != "r" or name in ("[vvar]", "[vvar_vclock]", "[vsyscall]"):
                continue
            if hi - lo > HUGE_MAPPING:
                SKIPPED.append((pid, f[0], hi - lo))
                continue
            at = lo
            while at < hi:   # 64 MiB at a time, overlapping by 128 bytes (patterns are at most 128 bytes)
                size = min(hi - at, 64 << 20)
                try:
                    data = os.pread(fd, size, at)
                except OSError:
                    break
                scanner.scan(data, at, name, hits)
                total += len(data)
                if at + size >= hi:
                    break
                at += size - 128
            regions += 1
    finally:
        os.close(fd)
    if total == 0:
        return hits, 0, regions, "nothing readable"
    return hits, total, regions, None


def point_forms(label, pt):
    """The byte forms in which a point (a partial, or d·K whose x is the shared secret) could sit in memory."""
    xb, yb = pt[0].to_bytes(32, "big"), pt[1].to_bytes(32, "big")
    comp = th.compress(pt)
    return {f"{label} compressed": comp, f"{label} x": xb, f"{label} x‖y": xb + yb,
            f"{label} x little-endian": xb[::-1],                  # libsecp256k1's secp256k1_pubkey on x86-64
            f"{label} hex": comp.hex().encode(), f"{label} HEX": comp.hex().upper().encode()}


def summarize(hits):
    return "; ".join(f"{k} at {v[:2]}" for k, v in list(hits.items())[:6])


# ---- the devnet context ---------------------------------------------------------------------------------------

class Value:
    """A stored value: handle, K (33 bytes), iv, ct; R {node: point} and X = d·K computed by the test."""

    def __init__(self, handle, k, iv, ct, origin):
        self.handle, self.k, self.iv, self.ct, self.origin = handle, k, iv, ct, origin
        self.K = th.decompress(k)
        self.R, self.X, self.plain = {}, None, None


class Ctx:
    def __init__(self, devnet, work):
        self.d, self.work = devnet, work
        self.gw, self.kms_urls = devnet["NOX_GATEWAY_URL"], devnet["NOX_KMS_URLS"].split(",")
        self.compute, self.token = devnet["NOX_COMPUTE_ADDRESS"], devnet["NOX_TOKEN_ADDRESS"]
        kd = os.path.join(devnet.dir, "keys")
        self.keyfiles = {w: os.path.join(kd, w + ".key") for w in ("owner", "alice", "bob")}
        self.keyfiles["gateway"] = os.path.join(kd, "gateway-wallet.key")
        self.keyfiles["runner"] = os.path.join(kd, "runner-wallet.key")
        self.keys = {w: open(p).read().strip() for w, p in self.keyfiles.items()}
        self.addr = {w: noxtest.run(NOXCTL, "key", "address", p).stdout.strip().lower()
                     for w, p in self.keyfiles.items()}
        self.rsa_a = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_b = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.a_hex, self.b_hex = spki_hex(self.rsa_a), spki_hex(self.rsa_b)
        self.ctl = e2elib.Noxctl(NOXCTL, work, os.path.join(devnet.dir, "env"))
        self.state = json.load(open(os.path.join(devnet.dir, "state.json")))
        self.load_group()
        self.values = {}          # handle -> Value
        self.served = []          # (handle, plaintext) of every answer the test decrypted
        self.hex_secrets = {}     # label -> hex of a partial's or shared secret's x (for the log grep)
        self.sign_lock = threading.Lock()
        self.alice_balances = []  # Alice's balance handles, oldest first
        self.bob_total = 0        # Bob's balance: every transfer of the test goes to him

    def load_group(self):
        self.group = json.load(open(self.d["NOX_KMS_GROUP_FILE"]))
        self.t, self.n = self.group["threshold"], self.group["nodes"]
        self.P = unhex(self.group["publicKey"])
        self.shares = read_shares(os.path.join(self.d.dir, "kms"), self.n)

    def pid(self, name):
        with open(os.path.join(self.d.dir, "pids", name + ".pid")) as f:
            return int(f.read().split()[0])

    def sign(self, data, who):
        with self.sign_lock:   # cast_sign writes work/typed.json
            return noxtest.cast_sign(CAST, self.work, data, self.keys.get(who, who))

    # users (spec §7.2)
    def user_header(self, user, rsa_hex=None):
        now = int(time.time())
        p = {"userAddress": self.addr[user], "encryptionPubKey": rsa_hex or self.a_hex, "notBefore": now - 60,
             "expiresAt": now + 3000}
        data = typed_data("DataAccessAuthorization", USER_FIELDS, noxtest.CHAIN_DOMAIN + [("verifyingContract", "address")],
                          {"name": "Handle Gateway", "version": "1", "chainId": CHAIN, "verifyingContract": self.compute}, p)
        return noxtest.auth_header({"payload": p, "signature": self.sign(data, user)})

    def get_secret(self, handle, hdr, exclude=None):
        q = f"?excludeNodes={exclude}" if exclude else ""
        return http("GET", f"{self.gw}/v0/secrets/{handle}{q}", headers=hdr, timeout=30)[:2]

    # the Runner (spec §7.3, bound form)
    def operands(self, handles):
        nb, ex = noxtest.window()
        p = {"chainId": CHAIN, "blockNumber": 7, "caller": "0x" + "11" * 20, "transactionHash": "0x" + "ab" * 32,
             "operands": handles, "rsaPublicKey": self.a_hex, "notBefore": nb, "expiresAt": ex}
        data = typed_data("OperandAccessAuthorizationV2", noxtest.BOUND_FIELDS["OperandAccessAuthorizationV2"],
                          noxtest.BOUND_DOMAIN_FIELDS, noxtest.bound_domain(CHAIN, self.addr["gateway"]), p)
        hdr = noxtest.auth_header({"payload": p, "signature": self.sign(data, "runner")})
        return http("GET", f"{self.gw}/v0/compute/operands", headers=hdr, timeout=30)[:2]

    # a KMS node (docs/PROTOCOL-EXTENSIONS.md §11)
    def partials_sig(self, ephs, target, who="gateway", chain=CHAIN):
        data = typed_data("PartialDelegationAuthorization", [("ephemeralPubKeys", "string[]"), ("targetPubKey", "string")],
                          noxtest.CHAIN_DOMAIN, {"name": "ProtocolDelegate", "version": "1", "chainId": chain},
                          {"ephemeralPubKeys": ephs, "targetPubKey": target})
        return self.sign(data, who)

    def partials(self, node, ephs, target, sig):
        return http("POST", f"{self.kms_urls[node - 1]}/v0/delegate/partials?chainId={CHAIN}",
                    json.dumps({"ephemeralPubKeys": ephs, "targetPubKey": target}),
                    {"Content-Type": "application/json", "Authorization": "Bearer " + sig}, timeout=30)[:2]

    # PostgreSQL: every stored value
    def refresh_values(self):
        psql = os.path.join(self.state["postgres"]["bindir"], "psql")
        r = subprocess.run([psql, self.d["NOX_DATABASE_URL"], "-At", "-v", "ON_ERROR_STOP=1", "-c",
                            "SELECT encode(handle,'hex'), encode(public_key,'hex'), encode(nonce,'hex'), "
                            "encode(ciphertext,'hex'), origin FROM handles"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)
        new = []
        for line in r.stdout.splitlines():
            h, k, iv, ct, origin = line.split("|")
            h = "0x" + h
            if h not in self.values:
                v = self.values[h] = Value(h, bytes.fromhex(k), bytes.fromhex(iv), bytes.fromhex(ct), origin)
                self.compute_secrets(v)
                new.append(v)
        return new

    def compute_secrets(self, v):
        """R_i = s_i·K for every share, X = Σ λ_i R_i over nodes 1..t (= d·K), the value's plaintext from X."""
        v.R = {i: th.mul(s, v.K) for i, s in self.shares.items()}
        idx = sorted(v.R)[:self.t]
        acc = None
        for i in idx:
            acc = th.add(acc, th.mul(th.lagrange(idx, i), v.R[i]))
        v.X = acc
        v.plain = opens(x_of(v.X), v)
        for i, pt in v.R.items():
            self.hex_secrets[f"{v.handle[:10]}… R_{i}"] = "%064x" % pt[0]
        self.hex_secrets[f"{v.handle[:10]}… x"] = "%064x" % v.X[0]


def read_shares(kms_dir, n):
    return {i: int(open(os.path.join(kms_dir, f"share-{i}.key")).read().strip(), 16) for i in range(1, n + 1)}


def envelope_nodes(answer):
    return sorted(d["node"] for d in answer.get("delegations", []))


def wait_stored(c, handles, timeout=90):
    pending = e2elib.wait_stored(c.gw, handles, timeout)
    return check(f"the {len(handles)} result handles are stored", not pending, pending)


def transfer(c, amount, frm="alice", to="bob"):
    out, r = c.ctl.json("token", "transfer", "--to", c.addr[to], "--amount", str(amount), "--key", c.keyfiles[frm])
    if not out or not out.get("balances"):
        raise RuntimeError(f"transfer {amount}: {r.stdout} {r.stderr}")
    c.bob_total += amount if to == "bob" else 0
    c.alice_balances.append(out["balances"][c.addr["alice"]])
    return out


def tx_handles(out):
    return [h for h in [out.get("amount"), out.get("success")] + list(out.get("balances", {}).values()) if h]


# ---- a. the Gateway never holds t partials in clear -----------------------------------------------------------

def store_and_load(c):
    """User inputs and computed balances, then many decryptions through the Gateway under load."""
    import secrets as rnd
    inputs = []
    for i in range(N_INPUTS):
        word = rnd.token_bytes(32)
        st, body = http("POST", c.gw + "/v0/secrets", json.dumps({
            "value": "0x" + word.hex(), "solidityType": "uint256", "owner": c.addr["alice"],
            "applicationContract": c.token}), {"Content-Type": "application/json"})[:2]
        if st == 200:
            inputs.append((body["handle"], word))
    check(f"a: {N_INPUTS} uint256 inputs stored (POST /v0/secrets as Alice)", len(inputs) == N_INPUTS, len(inputs))
    out, r = c.ctl.json("token", "mint", "--to", c.addr["alice"], "--amount", str(MINTED), "--key", c.keyfiles["owner"])
    if not check("a: the owner mints to Alice", out and out.get("balances"), r.stdout + r.stderr):
        return None
    results = tx_handles(out)
    for amount in TRANSFERS:
        results += tx_handles(transfer(c, amount))
    if not wait_stored(c, results):
        return None
    hdrs = {"alice": c.user_header("alice"), "bob": c.user_header("bob")}
    # who may view which result (isViewer): found by asking
    viewable = []
    for h in results:
        for user in ("alice", "bob"):
            st, body = c.get_secret(h, hdrs[user])
            if st == 200:
                viewable.append((h, user))
                break
    check(f"a: users view {len(viewable)} of the {len(results)} results", len(viewable) >= len(TRANSFERS) * 2,
          len(viewable))
    errors, counts = [], {"user": 0, "runner": 0}
    input_handles = [h for h, _ in inputs]

    def user_reads():
        for _ in range(4):
            for h, user in viewable:
                st, body = c.get_secret(h, hdrs[user])
                try:
                    c.served.append((h, th.decrypt(c.rsa_a, body, body)))
                    counts["user"] += 1
                except Exception as e:  # noqa: BLE001 (recorded, checked below)
                    errors.append(f"user GET {h[:10]}: {st} {repr(e)[:100]} {str(body)[:100]}")

    def runner_reads():
        for _ in range(6):
            handles = input_handles + [h for h, _ in viewable]
            st, body = c.operands(handles)
            try:
                for v in body["operands"]:
                    c.served.append((v["handle"], th.decrypt(c.rsa_a, body, v)))
                    counts["runner"] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(f"operands: {st} {repr(e)[:100]} {str(body)[:100]}")

    threads = [threading.Thread(target=f) for f in (user_reads, runner_reads, runner_reads)]
    for t in threads:
        t.start()
    for amount in LOAD_TRANSFERS:   # the Runner reads its operands meanwhile
        results += tx_handles(transfer(c, amount))
    for t in threads:
        t.join()
    check(f"a: decrypted through the Gateway under load: {counts['user']} user reads, {counts['runner']} Runner-signed "
          f"operand reads, {len(TRANSFERS) + len(LOAD_TRANSFERS) + 1} transactions of the Runner", not errors and
          counts["user"] >= 4 * len(viewable) and counts["runner"] >= 12 * N_INPUTS, errors[:3])
    wait_stored(c, results)
    return inputs, viewable, hdrs


def check_values(c, inputs):
    new = c.refresh_values()
    vals = list(c.values.values())
    check(f"a: PostgreSQL holds {len(vals)} values; each decrypts with d·K computed from the shares "
          "(Lagrange over nodes 1..t)", vals and all(v.plain is not None for v in vals),
          [v.handle for v in vals if v.plain is None][:3])
    check("a: the inputs' plaintexts are the words posted", all(c.values[h].plain == w for h, w in inputs if h in c.values)
          and all(h in c.values for h, _ in inputs))
    bad = [(h, p.hex()) for h, p in c.served if h in c.values and c.values[h].plain != p]
    check(f"a: every one of the {len(c.served)} answers decrypted by the test matches d·K's plaintext",
          c.served and not bad and all(h in c.values for h, _ in c.served), bad[:3])
    return new


def envelope_check(c, v, hdr):
    """One user answer opened by hand: each node's R equals s_i·K, and t of them combine to d·K's x."""
    st, body = c.get_secret(v.handle, hdr)
    if not check("a: a user answer carries t envelopes", st == 200 and body.get("threshold") == c.t and
                 len(body.get("delegations", [])) >= c.t, f"{st} {str(body)[:200]}"):
        return None
    parts = {}
    for d in body["delegations"]:
        items = th.open_envelope(c.rsa_a, d, CHAIN)
        k, r = items[body["item"]]
        parts[d["node"]] = r
        check(f"a: node {d['node']}'s envelope opens with the test's RSA key: K matches, R = s_{d['node']}·K, "
              "its batch DLEQ proof holds", k == v.k and r == th.compress(v.R[d["node"]]) and
              th.dleq_verify(unhex(d["verificationKey"]), items, items.proof))
    check("a: combining t nodes' partials (Lagrange) gives x = (d·K).x", th.combine(parts) == x_of(v.X))
    return body


def memory_scan(c, viewable, hdrs):
    vals = list(c.values.values())
    patterns = {}
    for v in vals:
        for i, pt in v.R.items():
            patterns.update(point_forms(f"{v.handle[:10]} R_{i}", pt))
        patterns.update(point_forms(f"{v.handle[:10]} d·K", v.X))
    # the controls: what the Gateway did hold — the envelopes of its very last answer, a stored ciphertext
    h, user = viewable[-1]
    st, last = c.get_secret(h, hdrs[user])
    controls = {}
    if st == 200:
        for d in last["delegations"]:
            w = unhex(d["wrappedKey"])
            controls[f"node {d['node']} wrappedKey"] = w
            controls[f"node {d['node']} wrappedKey hex"] = d["wrappedKey"][2:].encode()
        controls["stored ciphertext"] = c.values[h].ct
        controls["stored ciphertext hex"] = c.values[h].ct.hex().encode()
    scanner = Scanner({**patterns, **controls})
    pid = c.pid("gateway")
    t0 = time.time()
    hits, total, regions, err = scan_process(pid, scanner)
    if err and ("Permission denied" in err or "not permitted" in err) and os.geteuid() != 0:
        print(f"SKIP a: the Gateway's memory cannot be read ({err}): it is non-dumpable (PR_SET_DUMPABLE 0), so "
              "/proc/PID/mem and ptrace (gdb, gcore) need root or CAP_SYS_PTRACE; run this test as root", flush=True)
        return False
    if not check(f"a: the Gateway's memory is readable (pid {pid}: {regions} mappings, {total >> 20} MiB in "
                 f"{time.time() - t0:.1f} s; root with CAP_SYS_PTRACE, although it set PR_SET_DUMPABLE 0)",
                 err is None and total > (1 << 20), err):
        return False
    secret_hits = {k: v for k, v in hits.items() if k in patterns}
    n_partials = sum(len(v.R) for v in vals)
    check(f"a: none of the {n_partials} partials R_i = d_i·K of the {len(vals)} values in the Gateway's memory "
          "(compressed, x, x‖y, x little-endian, hex)", not any(" R_" in k for k in secret_hits),
          summarize(secret_hits))
    check(f"a: none of the {len(vals)} shared secrets x = (d·K).x in the Gateway's memory",
          not any(" d·K" in k for k in secret_hits), summarize(secret_hits))
    found = sorted(k for k in hits if k in controls)
    check("control: the scan finds in the Gateway the envelopes it forwarded (its last answer's wrappedKey)",
          any("wrappedKey" in k for k in found), found)
    check("control: the scan finds in the Gateway a stored ciphertext it served", any("ciphertext" in k for k in found),
          found)
    info(f"Gateway memory: control forms found: {', '.join(found)}")
    return True


def key_scan(c):
    """No running service holds d (the whole key: the devnet dealt it, then forgot it); each KMS node holds its own
    share and no other (control: the scan finds a node's own share); the Gateway and the Runner hold no share."""
    d = d_of({1: c.shares[1], 2: c.shares[2]})
    patterns = {"d": d.to_bytes(32, "big"), "d little-endian": d.to_bytes(32, "little")}
    for i, s in c.shares.items():
        patterns[f"share {i}"] = s.to_bytes(32, "big")
        patterns[f"share {i} little-endian"] = s.to_bytes(32, "little")
    scanner = Scanner(patterns)
    for name in ["kms"] + [f"kms{i}" for i in range(2, c.n + 1)] + ["gateway", "runner"]:
        hits, total, _, err = scan_process(c.pid(name), scanner)
        found = sorted(hits)
        own = f"share {name[3:] or 1}" if name.startswith("kms") else None
        bad = [k for k in found if not own or k not in (own, own + " little-endian")]
        check(f"a: {name}'s memory ({total >> 20} MiB) holds neither d nor " +
              ("another node's share" if own else "any share"), err is None and not bad, f"{err} {found}")
        if own:
            check(f"control: the scan finds {name}'s own share in its memory", any(k.startswith(own) for k in found),
                  found)


def gateway_rescan(c):
    """At the end (after the reshare restarted it and kms2 lied to it): the Gateway's memory holds none of the
    current partials s'_i·K nor any x of every stored value."""
    c.refresh_values()
    patterns = {}
    for v in c.values.values():
        for i, s in c.shares.items():
            patterns.update(point_forms(f"{v.handle[:10]} R'_{i}", th.mul(s, v.K)))
        patterns.update(point_forms(f"{v.handle[:10]} d·K", v.X))
    hits, total, _, err = scan_process(c.pid("gateway"), Scanner(patterns))
    check(f"a: at the end, the restarted Gateway's memory ({total >> 20} MiB) holds none of the new partials "
          f"s'_i·K nor x of the {len(c.values)} values", err is None and total and not hits, f"{err} {summarize(hits)}")


def own_process_control(c):
    """A process of the test's own that holds a partial (its compressed and x‖y forms) and a shared secret x."""
    v = next(iter(c.values.values()))
    held = th.compress(v.R[1]) + b"\0" * 7 + x_of(v.R[2]) + v.R[2][1].to_bytes(32, "big") + b"\0" * 5 + x_of(v.X)
    child = subprocess.Popen([sys.executable, "-c", "import sys, time\nheld = bytes(sys.stdin.buffer.read())\n"
                              "print(len(held), flush=True)\ntime.sleep(120)\n"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    try:
        child.stdin.write(held)
        child.stdin.close()
        child.stdout.readline()
        patterns = {**point_forms("R_1", v.R[1]), **point_forms("R_2", v.R[2]), **point_forms("d·K", v.X)}
        hits, total, _, err = scan_process(child.pid, Scanner(patterns))
        want = {"R_1 compressed", "R_1 x", "R_2 x‖y", "R_2 x", "d·K x"}
        check("control: the scan finds in a test process holding them a partial (compressed; x‖y) and x",
              err is None and want <= set(hits), f"{err} found {sorted(hits)}")
    finally:
        child.kill()
        child.wait()


def runner_control(c):
    """gdb stops the Runner at nox_ecies_decrypt_x — right after it combined t partials — and the scan reads it
    there; then again once it has finished (it wipes what it combined)."""
    gdb = shutil.which("gdb")
    if not gdb:
        info("Runner control skipped: gdb is not installed")
        return
    pid = c.pid("runner")
    flags = {n: os.path.join(c.work, "gdb-" + n) for n in ("armed", "stopped", "resume")}
    wait_resume = (f"shell touch {flags['stopped']}; i=0; while [ ! -e {flags['resume']} ] && [ $i -lt 1200 ]; "
                   f"do sleep 0.1; i=$((i+1)); done")
    gdb_log = open(os.path.join(c.work, "gdb.log"), "w")
    proc = subprocess.Popen([gdb, "-p", str(pid), "-batch", "-nx", "-ex", "set pagination off", "-ex",
                             "set confirm off", "-ex", "break nox_ecies_decrypt_x", "-ex", f"shell touch {flags['armed']}",
                             "-ex", "continue", "-ex", wait_resume, "-ex", "detach"],
                            stdout=gdb_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not os.path.exists(flags["armed"]) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        if not check("control: gdb attached to the Runner with a breakpoint at nox_ecies_decrypt_x",
                     os.path.exists(flags["armed"]), open(gdb_log.name).read()[-800:]):
            return
        time.sleep(0.5)
        out = transfer(c, GDB_TRANSFER)
        deadline = time.time() + 60
        while not os.path.exists(flags["stopped"]) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        if not check("control: the Runner stopped there when decrypting the transfer's operands",
                     os.path.exists(flags["stopped"]), open(gdb_log.name).read()[-800:]):
            return
        # the operands it is decrypting are stored values (balances, the amount input): scan for every value's
        vals = list(c.values.values())
        patterns = {}
        for v in vals:
            for i, pt in v.R.items():
                patterns.update(point_forms(f"{v.handle[:10]} R_{i}", pt))
            patterns.update(point_forms(f"{v.handle[:10]} d·K", v.X))
        scanner = Scanner(patterns)
        hits, total, _, err = scan_process(pid, scanner)
        part = sorted(k for k in hits if " R_" in k)
        xs = sorted(k for k in hits if " d·K" in k)
        check("control: the scan finds in the stopped Runner the partials it opened and the x it combined",
              err is None and any(k.endswith("compressed") for k in part) and any(k.endswith(" x") for k in xs),
              f"{err} {part[:4]} {xs[:4]}")
        info(f"Runner at nox_ecies_decrypt_x ({total >> 20} MiB): {len(part)} partial forms, {len(xs)} x forms found, "
             f"e.g. {(part + xs)[:3]}")
    finally:
        open(flags["resume"], "w").close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
        gdb_log.close()
    check("control: gdb detached; the Runner goes on and stores the transfer", wait_stored(c, tx_handles(out)))
    time.sleep(1)
    c.refresh_values()
    patterns = {}
    for v in c.values.values():
        for i, pt in v.R.items():
            patterns.update(point_forms(f"{v.handle[:10]} R_{i}", pt))
        patterns.update(point_forms(f"{v.handle[:10]} d·K", v.X))
    hits, total, _, err = scan_process(pid, Scanner(patterns))
    info(f"Runner after the batch ({total >> 20} MiB): {sum(' R_' in k for k in hits)} partial forms and "
         f"{sum(' d·K' in k for k in hits)} x forms left in memory{': ' + summarize(hits) if hits else ' (wiped)'}")
    return out


# ---- b. fewer than t -------------------------------------------------------------------------------------------

def fewer_than_t(c):
    vals = list(c.values.values())
    for i in sorted(c.shares):
        check(f"b: share {i} alone is not d (s_{i}·G != P)", th.compress(th.mul(c.shares[i], th.G)) != c.P)
        opened = [v.handle for v in vals if opens(x_of(v.R[i]), v) is not None]
        check(f"b: node {i}'s partial alone (x of d_{i}·K) decrypts none of the {len(vals)} values (AES-GCM fails)",
              not opened, opened[:3])
    for pair in ((1, 2), (1, 3), (2, 3)):
        ok = [v for v in vals if opens(th.combine({i: th.compress(v.R[i]) for i in pair}), v) == v.plain]
        check(f"b: control: nodes {pair[0]} and {pair[1]} combined (Lagrange) decrypt all {len(vals)} values",
              len(ok) == len(vals), f"{len(ok)}/{len(vals)}")


# ---- d. no partials for another requester -----------------------------------------------------------------------

def replay_and_binding(c):
    vals = list(c.values.values())[:2]
    ephs = ["0x" + v.k.hex() for v in vals]
    sig = c.partials_sig(ephs, c.a_hex)
    answers = {}
    for node in range(1, c.n + 1):
        st, body = c.partials(node, ephs, c.a_hex, sig)
        items = None
        try:
            items = th.open_envelope(c.rsa_a, body, CHAIN)
        except Exception:  # noqa: BLE001
            pass
        check(f"d: node {node}: a Gateway-signed request for target A -> 200, opens with A, R = s_{node}·K",
              st == 200 and items and [it[1] for it in items] == [th.compress(v.R[node]) for v in vals],
              f"{st} {str(body)[:200]}")
        answers[node] = body
        st, body = c.partials(node, ephs, c.b_hex, sig)
        check(f"d: node {node}: the same signature replayed with target B -> 401",
              st == 401 and noxtest.is_error_shape(body, "unauthorized"), f"{st} {body}")
        st, body = c.partials(node, ephs + ["0x" + list(c.values.values())[2].k.hex()], c.a_hex, sig)
        check(f"d: node {node}: the same signature with one more ephemeral key -> 401", st == 401, f"{st} {body}")
        st, body = c.partials(node, ephs[:1], c.a_hex, sig)
        check(f"d: node {node}: the same signature with fewer keys -> 401", st == 401, f"{st} {body}")
    st, body = c.partials(1, ephs, c.a_hex, c.partials_sig(ephs, c.a_hex, chain=1))
    check("d: the Gateway's signature in chain 1's domain, sent for 31337 -> 401", st == 401, f"{st} {body}")
    st, body = c.partials(1, ephs, c.b_hex, c.partials_sig(ephs, c.b_hex, who="alice"))
    check("d: a requester's own signature for its key B -> 401 (only the Gateway's wallet)", st == 401, f"{st} {body}")

    def fails(env, key=c.rsa_a, chain=CHAIN):
        try:
            th.open_envelope(key, env, chain)
            return False
        except Exception:  # noqa: BLE001  (RSA-OAEP or AES-GCM refusing is the point)
            return True
    one, two = answers.get(1), answers.get(2)
    if one and two and "wrappedKey" in one and "wrappedKey" in two:
        check("d: node 1's envelope for A does not open with B's RSA key", fails(one, c.rsa_b))
        check("d: node 1's envelope presented as node 2's (\"node\": 2) does not open (AAD binds the node)",
              fails(dict(one, node=2)))
        check("d: node 1's envelope opened for chain 1 does not open (AAD binds the chain)", fails(one, chain=1))
        check("d: node 2's wrappedKey with node 1's iv and ciphertext does not open", fails(dict(one, wrappedKey=two["wrappedKey"]))
              and fails(dict(one, wrappedKey=two["wrappedKey"], node=2)))
        check("d: control: the untouched envelope opens", not fails(one))


# ---- f. the group file pins the nodes -------------------------------------------------------------------------

def start_node(c, name, key_file=None, group_file=None, timeout=20):
    """nox-kms with a copy of DIR/kms2.yaml on another port and key_file / group_file replaced; (started, output)."""
    cfg = open(os.path.join(c.d.dir, "kms2.yaml")).read().splitlines()
    out = []
    for line in cfg:
        if line.startswith("listen:"):
            line = "listen: 127.0.0.1:0"
        elif line.startswith("key_file:") and key_file:
            line = f"key_file: {key_file}"
        elif line.startswith("group_file:") and group_file:
            line = f"group_file: {group_file}"
        out.append(line)
    path, ready = os.path.join(c.work, name + ".yaml"), os.path.join(c.work, name + ".ready")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    log_path = os.path.join(c.work, name + ".log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([NOX_KMS, "--config", path, "--ready-file", ready], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
    deadline, started = time.time() + timeout, False
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(ready) and open(ready).read().strip():
            started = True
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return started, proc.returncode, open(log_path, errors="replace").read()


def group_pinning(c):
    started, rc, log = start_node(c, "node2-copy")
    check("f: control: a copy of kms2.yaml (its own share and group file, another port) starts", started, log[-600:])
    other = os.path.join(c.work, "other-group")
    r = noxtest.run(NOX_KMS, "deal", "--threshold", "2", "--nodes", "3", "--out-dir", other)
    if not check("f: nox-kms deal: a second 2-of-3 group", r.returncode == 0, r.stderr):
        return
    fp = c.state.get("kms", {}).get("fingerprint") or ""
    started, rc, log = start_node(c, "node2-other-share", key_file=os.path.join(other, "share-2.key"))
    check(f"f: kms2 with share 2 of another group refuses to start, naming the group ({fp})",
          not started and rc not in (0, None) and "not any node's of group" in log and fp and fp in log, log[-600:])
    g = json.load(open(os.path.join(c.d.dir, "kms", "group.json")))
    for k, replacement, why in ((2, g["verificationKeys"][0], "node 3's key replaced by node 1's"),
                                (1, "0x" + th.compress(th.mul(12345, th.G)).hex(), "node 2's own key replaced")):
        bad = json.loads(json.dumps(g))
        bad["verificationKeys"][k] = replacement
        path = os.path.join(c.work, f"group-tampered-{k}.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        started, rc, log = start_node(c, f"node2-tampered-{k}", group_file=path)
        check(f"f: kms2 with a tampered group file ({why}) refuses to start, naming verificationKeys[{k}]",
              not started and rc not in (0, None) and f"verificationKeys[{k}]" in log, log[-600:])


# ---- c. reshare ------------------------------------------------------------------------------------------------

def reshare(c, hdr, probe):
    old_shares, old_group = dict(c.shares), dict(c.group)
    r = c.d._run("reshare", timeout=300)
    if not check("c: scripts/devnet.sh reshare", r.returncode == 0, r.stdout[-800:] + r.stderr[-800:]):
        return
    c.load_group()
    new = c.shares
    check("c: P unchanged, the shares and verification keys all new",
          c.P == unhex(old_group["publicKey"]) and all(new[i] != old_shares[i] for i in new) and
          not set(c.group["verificationKeys"]) & set(old_group["verificationKeys"]))
    vals = list(c.values.values())
    for mix, label in (({1: old_shares[1], 2: new[2]}, "old share-1 + new share-2"),
                       ({1: new[1], 3: old_shares[3]}, "new share-1 + old share-3")):
        dm = d_of(mix)
        opened = [v.handle for v in vals if opens(x_of(th.mul(dm, v.K)), v) is not None]
        check(f"c: {label} (Lagrange) is not d and decrypts none of the {len(vals)} values",
              th.compress(th.mul(dm, th.G)) != c.P and not opened, opened[:3])
    for pair in ((1, 2), (2, 3)):
        dn = d_of({i: new[i] for i in pair})
        ok = [v for v in vals if opens(x_of(th.mul(dn, v.K)), v) == v.plain]
        check(f"c: control: new shares {pair[0]} and {pair[1]} give d (d·G = P) and decrypt all {len(vals)} values",
              th.compress(th.mul(dn, th.G)) == c.P and len(ok) == len(vals), f"{len(ok)}/{len(vals)}")
    dold = d_of({1: old_shares[1], 2: old_shares[2]})
    info("old shares 1 and 2 together still give d (d·G = P: %s): a refresh protects against fewer than t stolen "
         "shares, which is why the old ones are destroyed" % (th.compress(th.mul(dold, th.G)) == c.P))
    # the Gateway asks the new nodes: their partials are the new shares'
    for v in vals:
        for i, s in new.items():
            pt = th.mul(s, v.K)
            c.hex_secrets[f"{v.handle[:10]}… R'_{i}"] = "%064x" % pt[0]
    st, body = c.get_secret(probe.handle, hdr)
    ok = st == 200
    if ok:
        for d in body["delegations"]:
            k, rr = th.open_envelope(c.rsa_a, d, CHAIN)[0]
            ok = ok and rr == th.compress(th.mul(new[d["node"]], probe.K)) and \
                rr != th.compress(th.mul(old_shares[d["node"]], probe.K))
    check("c: after the reshare the Gateway serves the new nodes' partials (s'_i·K, not s_i·K) and the value decrypts",
          ok and th.decrypt(c.rsa_a, body, body) == probe.plain, f"{st} {str(body)[:200]}")


# ---- e. a lying node ---------------------------------------------------------------------------------------------

def faulty_node(c, hdr, probe):
    r = c.d._run("restart", "kms2", "--faulty")
    if not check("e: scripts/devnet.sh restart kms2 --faulty", r.returncode == 0, r.stdout[-600:] + r.stderr[-600:]):
        return
    vk = {i + 1: unhex(k) for i, k in enumerate(c.group["verificationKeys"])}
    for exclude, nodes in (("3", [1, 2]), ("1", [2, 3]), ("2", [1, 3])):
        st, body = c.get_secret(probe.handle, hdr, exclude=exclude)
        if not check(f"e: GET /v0/secrets?excludeNodes={exclude} -> envelopes of nodes {nodes}",
                     st == 200 and envelope_nodes(body) == nodes, f"{st} {str(body)[:200]}"):
            continue
        proofs = {}
        for d in body["delegations"]:
            items = th.open_envelope(c.rsa_a, d, CHAIN)
            check(f"e: node {d['node']}'s verificationKey in the answer is the group file's",
                  unhex(d["verificationKey"]) == vk[d["node"]])
            proofs[d["node"]] = th.dleq_verify(vk[d["node"]], items, items.proof)
        try:
            plain = th.decrypt(c.rsa_a, body, body)
        except InvalidTag:
            plain = None
        if 2 in nodes:
            other = [n for n in nodes if n != 2][0]
            check(f"e: with node 2's partial the value does not decrypt; node 2's DLEQ proof fails, node {other}'s "
                  "holds", plain is None and proofs == {2: False, other: True}, proofs)
        else:
            check("e: from nodes 1 and 3 the value decrypts right; both proofs hold",
                  plain == probe.plain and proofs == {1: True, 3: True}, proofs)
    warned = 0
    for _ in range(3):
        rr = c.ctl("decrypt", probe.handle, "--key", c.keyfiles["alice"])
        want = str(int.from_bytes(probe.plain, "big"))
        check("e: noxctl decrypt (Alice) still gives the right value", rr.returncode == 0 and rr.stdout.strip() == want,
              rr.stdout + rr.stderr)
        warned += "KMS node 2" in rr.stderr
    info(f"noxctl named node 2 in {warned} of 3 decryptions (only when the Gateway happened to ask it)")
    out = transfer(c, FAULTY_TRANSFER)
    wait_stored(c, tx_handles(out))
    bob = out["balances"][c.addr["bob"]]
    rr = c.ctl("decrypt", bob, "--key", c.keyfiles["bob"])
    check("e: the Runner computes right with kms2 lying (Bob's new balance)", rr.returncode == 0 and
          rr.stdout.strip() == str(c.bob_total), rr.stdout + rr.stderr)
    named = [ln for ln in c.d.log("runner").splitlines() if "node" in ln and "2" in ln and
             ("DLEQ" in ln or "wrong partial" in ln or "bad partial" in ln)]
    info(f"the Runner logged {len(named)} line(s) naming node 2's bad partials" +
         (f": {named[0][:200]}" if named else " (the Gateway did not ask it for the Runner's reads)"))


# ---- the log grep ---------------------------------------------------------------------------------------------

def log_grep(c):
    files = [p for p in sorted(os.listdir(os.path.join(c.d.dir, "logs")))]
    texts = {p: open(os.path.join(c.d.dir, "logs", p), errors="replace").read().lower() for p in files}
    check("logs: the devnet wrote the logs of every KMS node, the Gateway and the Runner",
          {"kms.log", "kms2.log", "kms3.log", "gateway.log", "runner.log"} <= set(files), files)
    found = [(label, p) for label, hx in c.hex_secrets.items() for p, t in texts.items() if hx in t]
    check(f"logs: none of the {len(c.hex_secrets)} partials (old and reshared groups) and shared secrets in any of the "
          f"{len(files)} logs (hex, either case)", not found, found[:5])
    fp = (c.state.get("kms", {}).get("fingerprint") or "?")[2:].lower()
    check("logs: control: the grep finds what is logged (the group fingerprint in kms.log)", fp in texts.get("kms.log", ""))


# ---- main ------------------------------------------------------------------------------------------------------

def body(devnet, work):
    t0 = time.time()
    c = Ctx(devnet, work)
    if not check("the devnet's KMS is 2-of-3 with its three shares", devnet["NOX_KMS_THRESHOLD"] == "2-of-3" and
                 len(c.shares) == 3 and c.t == 2, devnet["NOX_KMS_THRESHOLD"]):
        return
    check("each share matches its verification key (s_i·G = P_i) and two give d (d·G = P)",
          all(th.compress(th.mul(s, th.G)) == unhex(c.group["verificationKeys"][i - 1]) for i, s in c.shares.items())
          and th.compress(th.mul(d_of({1: c.shares[1], 2: c.shares[2]}), th.G)) == c.P)
    loaded = store_and_load(c)
    if not loaded:
        return
    inputs, viewable, hdrs = loaded
    check_values(c, inputs)
    h, user = viewable[0]
    envelope_check(c, c.values[h], hdrs[user])
    readable = memory_scan(c, viewable, hdrs)
    own_process_control(c)
    if readable:
        key_scan(c)
        runner_control(c)
    if SKIPPED:
        info(f"skipped {len(SKIPPED)} readable mappings over 4 GiB (sanitizer shadow reservations), e.g. {SKIPPED[:2]}")
    info(f"a: done in {time.time() - t0:.0f} s")
    fewer_than_t(c)
    replay_and_binding(c)
    group_pinning(c)
    alice_probe = c.values[c.alice_balances[0]]
    reshare(c, hdrs["alice"], alice_probe)
    faulty_node(c, hdrs["alice"], alice_probe)
    if readable:
        gateway_rescan(c)
    r = devnet.down()
    check("devnet down", r.returncode == 0, r.stdout + r.stderr)
    log_grep(c)
    info(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(e2elib.run_on_devnet(BIN, "threshold", body))
