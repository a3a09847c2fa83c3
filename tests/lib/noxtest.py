"""Helpers shared by the Python cross and integration tests.

Checks count into a tally and never raise; `summary()` prints the closing
line "N passed, M failed" that CI reads and returns the exit status.
HTTP helpers never raise on HTTP errors. EIP-712 signing goes through cast,
an independent implementation.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import nats_auth  # noqa: E402  (scripts/nats_auth.py: the nats-server users and permissions)

passed = failed = 0


def check(name, ok, detail="", verbose=os.environ.get("NOX_TEST_VERBOSE") == "1"):
    """Counts one check; prints failures (and passes when verbose)."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    if verbose or not ok:
        print("%s %s%s" % ("PASS" if ok else "FAIL", name, "" if ok or not detail else " -- " + str(detail)))


def stop_all(servers, pg=None):
    """Stops a test's servers, last started first, then its PostgreSQL (when any)."""
    for srv in reversed(servers):
        srv.stop()
    if pg:
        pg.stop()


def keep_or_remove(work, what="logs"):
    """The end of a test: its work directory kept (and said so) when a check failed, else removed."""
    import shutil
    if failed:
        print(f"({what} kept in {work})")
    else:
        shutil.rmtree(work, ignore_errors=True)


def summary():
    """Prints 'N passed, M failed'; returns the process exit status (1 when anything failed or nothing ran)."""
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def run_nats(*args, attempts=5, **kw):
    """run() for a tool that makes one NATS connection (js_dump, js_publish), run again when the server refused that
    connection's authentication, i.e. before anything was sent: nats.c 3.4 (Debian 12's libnats3.4) leaves the nkey
    signature out of CONNECT when its first byte is 0 (_base64Encode stops at a leading NUL), so 1 connection in 256
    is refused ("Authentication Violation", or "No server available" when the server closed the connection before
    the client read why); fixed in nats.c 3.8 (nats-io/nats.c#705). Our services reconnect on their own; these tools
    connect once. Any other failure is returned at once."""
    import time
    for _ in range(attempts):
        r = run(*args, **kw)
        if r.returncode == 0 or not any(t in r.stderr for t in ("Authentication Violation", "No server available")):
            return r
        time.sleep(0.1)
    return r


TLS = {"ca": None, "cert": None, "key": None, "by_url": {}}   # what https:// verifies and presents (use_tls)
_ssl_contexts = {}


def use_tls(ca, cert=None, key=None, by_url=None):
    """From now on, https:// requests verify servers with `ca` and present a client certificate: by_url's
    (cert, key) for a URL that starts with one of its keys (the Gateway's certificate towards the KMS), else
    cert/key (a Runner's, for the Gateway's Runner endpoints under mutual TLS) when given. Also exported as
    NOX_CA_FILE to the tools the tests run (noxctl, js_dump, nox-bench)."""
    TLS.update(ca=ca, cert=cert, key=key, by_url=dict(by_url or {}))
    _ssl_contexts.clear()
    if ca:
        os.environ["NOX_CA_FILE"] = ca
    else:
        os.environ.pop("NOX_CA_FILE", None)


def ssl_context(client_cert=True, url=""):
    """The SSLContext of use_tls's settings for `url` (client_cert=False: without a client certificate; a
    (cert_file, key_file) pair: that certificate instead, e.g. one of another CA)."""
    import ssl
    cert, key_file = next((v for k, v in TLS["by_url"].items() if url.startswith(k)), (TLS["cert"], TLS["key"]))
    if isinstance(client_cert, tuple):
        cert, key_file = client_cert
    key = (TLS["ca"], cert if client_cert else None, key_file if client_cert else None)
    if key not in _ssl_contexts:
        ctx = ssl.create_default_context(cafile=key[0])
        if key[1]:
            ctx.load_cert_chain(key[1], key[2])
        _ssl_contexts[key] = ctx
    return _ssl_contexts[key]


def http(method, url, body=None, headers=None, timeout=10, client_cert=True):
    """(status, parsed JSON or text, headers). https:// is verified with use_tls's CA and presents its client
    certificate (client_cert=False: none; a (cert_file, key_file) pair: that one)."""
    data = body if isinstance(body, (bytes, type(None))) else body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    ctx = ssl_context(client_cert, url) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            status, raw, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, hdrs = e.code, e.read(), e.headers
    try:
        return status, json.loads(raw), hdrs
    except ValueError:
        return status, raw.decode(errors="replace"), hdrs


def connect(url, timeout=20, client_cert=True):
    """A TCP connection to url's host and port, inside TLS (its handshake done) when url is https:// — what a
    raw HTTP test writes its bytes on."""
    import socket
    import urllib.parse
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    if u.scheme == "https":
        s = ssl_context(client_cert, url).wrap_socket(s, server_hostname=u.hostname)
    return s


def trickle(url, data, every_s, connect_timeout=60):
    """Sends `data` one byte at a time on connect(url), waiting up to every_s for the peer between bytes (a
    slow client); returns (seconds until the peer closed the connection, or None when it never did; bytes
    sent). Over TLS the clock starts after the handshake: the HTTP request is what trickles."""
    import socket
    import time
    s = connect(url, connect_timeout)
    t0, sent, closed_after = time.time(), 0, None
    try:
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            sent += 1
            s.settimeout(every_s)
            try:
                if s.recv(1) == b"":
                    closed_after = time.time() - t0
                    break
            except socket.timeout:
                pass
    except OSError:
        closed_after = time.time() - t0
    finally:
        s.close()
    return closed_after, sent


def is_error_shape(body, code):
    """The protocol's error body: {"error": code, "message": text} (spec §7)."""
    return isinstance(body, dict) and body.get("error") == code and isinstance(body.get("message"), str)


def typed_data(primary, fields, domain_fields, domain, message):
    """EIP-712 typed data as cast reads it; fields and domain_fields are (name, type) pairs."""
    return {"types": {"EIP712Domain": [{"name": n, "type": t} for n, t in domain_fields],
                      primary: [{"name": n, "type": t} for n, t in fields]},
            "primaryType": primary, "domain": domain, "message": message}


CHAIN_DOMAIN = [("name", "string"), ("version", "string"), ("chainId", "uint256")]


def cast_sign(cast, work, data, key):
    """cast wallet sign --data: the 65-byte signature as 0x hex."""
    path = os.path.join(work, "typed.json")
    with open(path, "w") as f:
        json.dump(data, f)
    r = run(cast, "wallet", "sign", "--data", "--from-file", path, "--private-key", key)
    if r.returncode != 0:
        raise RuntimeError("cast wallet sign: " + r.stderr)
    return r.stdout.strip()


def eip712_header(cast, work, data, payload, key):
    """{"Authorization": "EIP712 <base64(JSON {payload, signature})>"} with cast's signature of the typed data."""
    import base64
    sig = cast_sign(cast, work, data, key)
    return {"Authorization": "EIP712 " + base64.b64encode(json.dumps({"payload": payload, "signature": sig})
                                                           .encode()).decode()}


def cast_verify(cast, work, data, address, sig):
    """True when cast accepts sig as address's signature over the typed data."""
    path = os.path.join(work, "typed.json")
    with open(path, "w") as f:
        json.dump(data, f)
    r = run(cast, "wallet", "verify", "--data", "--from-file", path, "--address", address, sig)
    return r.returncode == 0 and "Validation succeeded" in r.stdout


# ---- the Runner's bound authorizations (docs/PROTOCOL-EXTENSIONS.md §7), signed and digested with cast ------

RUNNER_HEAD_FIELDS = [("chainId", "uint256"), ("blockNumber", "uint256"), ("caller", "address"),
                      ("transactionHash", "string")]
WINDOW_FIELDS = [("notBefore", "uint256"), ("expiresAt", "uint256")]
BOUND_FIELDS = {
    "OperandAccessAuthorizationV2": RUNNER_HEAD_FIELDS + [("operands", "string[]"), ("rsaPublicKey", "string")]
    + WINDOW_FIELDS,
    "ResultPublishingAuthorizationV2": RUNNER_HEAD_FIELDS + [("resultCount", "uint256"), ("resultsDigest", "bytes32")]
    + WINDOW_FIELDS,
    "FailureRecordingAuthorization": RUNNER_HEAD_FIELDS + [("recordCount", "uint256"), ("recordsDigest", "bytes32")]
    + WINDOW_FIELDS,
}
BOUND_DOMAIN_FIELDS = CHAIN_DOMAIN + [("verifyingContract", "address")]


def bound_domain(chain, gateway):
    """{"Handle Gateway", "2", chain, verifyingContract = the Gateway's wallet address}."""
    return {"name": "Handle Gateway", "version": "2", "chainId": chain, "verifyingContract": gateway}


def window(before=5, after=60, now=None):
    """(notBefore, expiresAt) as a Runner signs them: now - before .. now + after."""
    now = int(time.time()) if now is None else now
    return now - before, now + after


def cast_keccak(cast, data):
    """keccak256 of bytes, by cast: 32 bytes."""
    r = run(cast, "keccak", "0x" + data.hex())
    if r.returncode != 0:
        raise RuntimeError("cast keccak: " + r.stderr)
    return bytes.fromhex(r.stdout.strip()[2:])


def _unhex(text):
    return bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)


def results_digest(cast, results):
    """(resultCount, resultsDigest) of a result set [{handle, handleValueTag, ciphertext, publicKey, nonce}]."""
    leaves = b"".join(cast_keccak(cast, b"".join(_unhex(r[k]) for k in
                                                  ("handle", "handleValueTag", "publicKey", "nonce", "ciphertext")))
                      for r in results)
    return len(results), "0x" + cast_keccak(cast, leaves).hex()


def records_digest(cast, records):
    """(recordCount, recordsDigest) of failure records [{handle, reason}]."""
    leaves = b"".join(cast_keccak(cast, _unhex(r["handle"]) + r["reason"].encode()) for r in records)
    return len(records), "0x" + cast_keccak(cast, leaves).hex()


def bound_auth(cast, work, key, gateway, primary, payload):
    """{"payload", "signature"}: payload signed by key as `primary` (a BOUND_FIELDS type) for Gateway `gateway`."""
    data = typed_data(primary, BOUND_FIELDS[primary], BOUND_DOMAIN_FIELDS,
                      bound_domain(payload["chainId"], gateway), payload)
    return {"payload": payload, "signature": cast_sign(cast, work, data, key)}


def auth_header(doc):
    """{"Authorization": "EIP712 <base64(JSON doc)>"}."""
    import base64
    return {"Authorization": "EIP712 " + base64.b64encode(json.dumps(doc).encode()).decode()}


# ---- servers for integration tests: real processes on free loopback ports ------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "build", "tools", "node_modules", "@foundry-rs")
ANVIL = os.path.join(TOOLS, "anvil-linux-amd64", "bin", "anvil")
# anvil's first funded development accounts (deterministic for its default mnemonic)
ANVIL_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]


class Server:
    """A child process started on a free port; stop() ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, proc, url, log_path):
        self.proc, self.url, self.log_path = proc, url, log_path

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def _start(args, log_path, pattern, scheme, timeout=30):
    """Starts args, waits for a log line `pattern` + 'HOST:PORT', returns a Server."""
    import re
    import time
    log = open(log_path, "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(log_path) as f:
            m = re.search(pattern + r"\s*(127\.0\.0\.1:\d+)", f.read())
        if m:
            return Server(proc, f"{scheme}://{m.group(1)}", log_path)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    with open(log_path) as f:
        raise RuntimeError(f"{args[0]} did not start: {f.read()[-2000:]}")


def start_ready(name, args, work, timeout=60, must_start=True):
    """Starts one of our services (args: the command without --ready-file) with --ready-file work/<name>.ready,
    logging to work/<name>.log, and returns a Server once the ready file holds its URL. When it exits first:
    RuntimeError with its log's tail, or (must_start=False) a Server with url None and the exit status reaped."""
    import time
    ready, log_path = os.path.join(work, name + ".ready"), os.path.join(work, name + ".log")
    if os.path.exists(ready):
        os.unlink(ready)
    log = open(log_path, "a")
    proc = subprocess.Popen(args + ["--ready-file", ready], stdout=log, stderr=log)
    log.close()
    for _ in range(timeout * 20):
        if os.path.exists(ready) and open(ready).read().strip():
            return Server(proc, open(ready).read().strip(), log_path)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if not must_start:
        return Server(proc, None, log_path)
    with open(log_path) as f:
        raise RuntimeError(f"{name} did not start: " + f.read()[-3000:])


class Pki:
    """The certificates of pki(work) (absolute paths, scripts/pki.sh): `ca` signs every server's certificate
    (server(name): kms, gateway, runner, ingestor, nats); kms-clients/ is the CA the KMS admits clients of, with the
    Gateway's client certificate; runner-clients/ the one the Gateway's Runner endpoints admit, with the Runners'."""
    SERVERS = ("kms", "gateway", "runner", "ingestor", "nats")
    CLIENT_CAS = {"gateway": "kms-clients", "runner": "runner-clients"}   # client name -> the CA directory

    def __init__(self, d):
        self.dir, self.ca = d, os.path.join(d, "ca.pem")

    def server(self, name):
        """(cert_file, key_file) of server `name`."""
        return os.path.join(self.dir, name + ".pem"), os.path.join(self.dir, name + ".key")

    def client(self, name):
        """(cert_file, key_file) of the client certificate `name` ("gateway" or "runner")."""
        d = os.path.join(self.dir, self.CLIENT_CAS[name])
        return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")

    def client_ca(self, name):
        """The CA file that admits client `name`'s certificate (a server's tls.client_ca_file)."""
        return os.path.join(self.dir, self.CLIENT_CAS[name], "ca.pem")

    def make_client(self, ca_dir, name):
        """A client certificate `name` from another CA, ca_dir under this one (made when missing): (cert, key)."""
        d = os.path.join(self.dir, ca_dir)
        r = run(os.path.join(ROOT, "scripts", "pki.sh"), d, "client", name)
        if r.returncode != 0:
            raise RuntimeError(f"scripts/pki.sh {d} client {name}: {r.stderr}")
        return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")

    def server_yaml(self, name, clients=None):
        """A server's `tls: {cert_file, key_file}` line; clients ("gateway" or "runner"): + client_ca_file, the
        CA of that client's certificate (mutual TLS)."""
        cert, key = self.server(name)
        ca = f", client_ca_file: {self.client_ca(clients)}" if clients else ""
        return f"tls: {{cert_file: {cert}, key_file: {key}{ca}}}\n"

    def client_flow(self, cert=None):
        """A client's `{ca_file[, cert_file, key_file]}` (cert: "gateway" or "runner", its client certificate)."""
        c = ", cert_file: %s, key_file: %s" % self.client(cert) if cert else ""
        return f"{{ca_file: {self.ca}{c}}}"

    def client_yaml(self, key, cert=None):
        """A client's `<key>: {ca_file[, cert_file, key_file]}` line (gateway_tls, kms_tls, ...)."""
        return f"{key}: {self.client_flow(cert)}\n"


def pki(work):
    """A throwaway PKI under work/tls (scripts/pki.sh): the servers' CA and a server certificate for 127.0.0.1 of
    each of Pki.SERVERS, kms-clients/ (a CA and the Gateway's client certificate `gateway`) and runner-clients/ (a
    CA and the Runners' `runner`). Made once per directory (pki.sh keeps what exists). Returns a Pki."""
    d = os.path.join(os.path.abspath(work), "tls")
    script = os.path.join(ROOT, "scripts", "pki.sh")
    steps = [[d]] + [[d, "server", n] for n in Pki.SERVERS] + \
        [[os.path.join(d, ca), "client", name] for name, ca in Pki.CLIENT_CAS.items()]
    for args in steps:
        r = run(script, *args)
        if r.returncode != 0:
            raise RuntimeError(f"scripts/pki.sh {' '.join(args)}: {r.stdout}{r.stderr}")
    return Pki(d)


def start_anvil(work, block_time=None):
    """anvil on a free port (Cancun: EIP-1153 transient storage), chain id 31337; returns a Server (url = RPC URL)."""
    args = [ANVIL, "--host", "127.0.0.1", "--port", "0", "--hardfork", "cancun", "--chain-id", "31337"]
    if block_time:
        args += ["--block-time", str(block_time)]
    return _start(args, os.path.join(work, "anvil.log"), r"Listening on", "http")


def nats_identities(work, noxctl):
    """The NATS identities of a test's services, shared by every nats-server it starts in `work`: a dict
    role -> {"path": credentials file (0600, work/nats-keys/<role>.nk), "nkey": public key} for ingestor, runner,
    admin and attacker (a valid nkey that no server lists). Created on first use (noxctl nats-key new)."""
    keys = os.path.join(work, "nats-keys")
    os.makedirs(keys, mode=0o700, exist_ok=True)
    out = {}
    for role in ("ingestor", "runner", "admin", "attacker"):
        path = os.path.join(keys, role + ".nk")
        out[role] = {"path": path, "nkey": nats_auth.identity(noxctl, path)}
    return out


def start_nats(work, noxctl, name="nats", max_payload=None, streams=(("nox_ingestor", "nox_ingestor_consumer"),),
               tls=None, port=None):
    """nats-server with JetStream on a free port, storage under work/<name>-store, and authentication on
    (scripts/nats_auth.py): the Ingestor may publish to <stream>.> of each (stream, consumer) in `streams`, the
    Runner may read each durable `consumer`, the admin may do anything, and nothing else may connect.
    Returns a Server (url = nats://...) with .creds: role -> credentials file (nats_identities).
    NOX_NATS_CREDENTIALS is set to the admin's file, so that js_dump and js_publish connect as the admin
    unless a test names another identity. max_payload (bytes): the server's limit on one message (default 1 MiB).
    tls (a Pki): every client over TLS with the Pki's `nats` server certificate; the URL is then tls://... (clients
    verify it with the Pki's CA: nats.tls.ca_file, NOX_CA_FILE for js_dump and js_publish). port: that port
    (e.g. one nothing listened on while a client was already trying it) instead of a free one."""
    store = os.path.join(work, f"{name}-store" if name != "nats" else "nats-store")
    os.makedirs(store, exist_ok=True)
    ids = nats_identities(work, noxctl)
    users = [nats_auth.ingestor(ids["ingestor"]["nkey"], [(s, s) for s, _ in streams]),
             nats_auth.runner(ids["runner"]["nkey"], list(streams)), nats_auth.admin(ids["admin"]["nkey"])]
    conf = os.path.join(work, f"{name}.conf")
    with open(conf, "w") as f:
        if max_payload is not None:
            f.write(f"max_payload: {int(max_payload)}\n")
        if tls:   # timeout: a handshake on a loaded machine (2 cores, sanitizers) may take over the 0.5 s default
            cert, key = tls.server("nats")
            f.write(f'tls {{\n  cert_file: "{cert}"\n  key_file: "{key}"\n  timeout: 5\n}}\n')
        f.write(nats_auth.authorization(users))
    os.environ["NOX_NATS_CREDENTIALS"] = ids["admin"]["path"]
    args = ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port or -1), "-sd", store, "-c", conf]
    srv = _start(args, os.path.join(work, f"{name}.log"), r"Listening for client connections on",
                 "tls" if tls else "nats")
    srv.creds = {role: v["path"] for role, v in ids.items()}
    srv.conf = conf
    return srv


# ---- nox-kms (spec §8) ---------------------------------------------------------------------

# Path of the nox-kms binary for start_kms; a test script sets it (e.g. from its argv).
NOX_KMS = os.environ.get("NOX_KMS", os.path.join(ROOT, "build", "bin", "nox-kms"))


def free_port():
    """A loopback TCP port that was free a moment ago. Another program may take it before a server binds it:
    start a server on port 0 instead and reuse the port it bound (its ready file or log) for a restart."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url_port(url):
    """The port of a URL such as http://127.0.0.1:PORT."""
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


# ---- who listens on a port: /proc, so that a health check counts only our own process's answer ----------

def listening_inodes(port):
    """Inodes of the TCP sockets listening on `port` (any local address, IPv4 or IPv6) in this network namespace."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            pass
    return inodes


def _socket_inodes(pid):
    """Inodes of the sockets process pid holds; None when its descriptors cannot be read (gone, or not ours)."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    out = set()
    for n in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{n}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def port_holder(pid, port):
    """Who listens on `port`, as seen from process pid: 'self' (pid does), 'none' (nobody yet),
    ('other', pid2 or None) (another process: the one found, or None when it is not readable), or
    'unknown' (pid's descriptors cannot be read). pid None: is it anybody's, and whose."""
    inodes = listening_inodes(port)
    if not inodes:
        return "none"
    if pid is not None:
        mine = _socket_inodes(pid)
        if mine is None:
            return "unknown"
        if inodes & mine:
            return "self"
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != pid:
            theirs = _socket_inodes(int(d))
            if theirs and inodes & theirs:
                return ("other", int(d))
    return ("other", None)


def describe_pid(pid):
    """'pid N (command line)' for a message, as far as /proc tells."""
    if pid is None:
        return "a process this user cannot see"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = "?"
    return f"pid {pid} ({cmd[:100]})"


def bind_failed(text):
    """True when a server's log says that its port was taken (ours, nats-server, anvil and PostgreSQL all say so)."""
    return "address already in use" in text.lower()


def log_since(path, offset):
    """The text appended to a log file after `offset` bytes ("" when there is none)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def start_kms(work, gateway_address, threads=4, port=0, chain_id=31337, name="kms", timeout=30, pki=None):
    """nox-kms serving chain_id for gateway_address, with the KMS test's configuration; returns a Server.

    Its keys are kms.key and kms-wallet.key in work (made by nox-kms keygen on the first call, as an operator
    would: the KMS never creates a missing key without create_if_missing; reused after: a restart keeps the same
    public key). port=0 takes a free port; pass a fixed one to restart on the same URL.
    Its wallet address: run(NOXCTL, "key", "address", os.path.join(work, "kms-wallet.key")).
    pki (a Pki): over TLS (https://) with the Pki's `kms` certificate, admitting to its protected routes only
    clients with a certificate of kms-clients/ (the Gateway's): mutual TLS, as deployed.
    """
    import time
    for key in ("kms.key", "kms-wallet.key"):
        if not os.path.exists(os.path.join(work, key)):
            r = run(NOX_KMS, "keygen", "--out", os.path.join(work, key))
            if r.returncode != 0:
                raise RuntimeError(f"{NOX_KMS} keygen: {r.stderr}")
    cfg = os.path.join(work, f"{name}.yaml")
    with open(cfg, "w") as f:
        f.write(f"listen: 127.0.0.1:{port}\nkey_file: kms.key\nwallet_key_file: kms-wallet.key\nthreads: {threads}\n"
                f"chains:\n  - chain_id: {chain_id}\n    gateway_address: \"{gateway_address}\"\n")
        if pki:
            f.write(pki.server_yaml("kms", "gateway"))
    ready, log_path = os.path.join(work, f"{name}.ready"), os.path.join(work, f"{name}.log")
    if os.path.exists(ready):
        os.remove(ready)
    log = open(log_path, "a")
    proc = subprocess.Popen([NOX_KMS, "--config", cfg, "--ready-file", ready], stdout=log, stderr=log)
    log.close()
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(ready):
            with open(ready) as f:
                url = f.read().strip()
            if url:
                return Server(proc, url, log_path)
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    with open(log_path) as f:
        raise RuntimeError(f"{NOX_KMS} did not start: {f.read()[-2000:]}")


def let_others_traverse(path):
    """Gives others search permission (x, not read) on `path` and each directory above it, up to and including /,
    where it lacks it: PostgreSQL, run as the postgres user when we are root, must reach its data directory under
    ours and its own binaries (a root made by mktemp, such as a chroot's, has mode 0700)."""
    d = os.path.abspath(path)
    while True:
        st = os.stat(d)
        if not st.st_mode & 0o001:
            os.chmod(d, st.st_mode | 0o001)
        if d == os.path.dirname(d):
            return
        d = os.path.dirname(d)


def gateway_backends(work, servers, noxctl, cast, contracts, deployer_key, chain_id=31337, pki=None):
    """What a Gateway under test needs, started in work: its wallet (work/gateway-wallet.key, made by nox-kms
    keygen), PostgreSQL, nox-kms for that wallet, anvil with the contracts deployed (contracts/deploy.py).
    PostgreSQL, the KMS and anvil are appended to `servers` as they start (each has stop()), so that a caller
    stopping `servers` stops them also when this fails half-way. Returns a dict: gw_addr, pg, kms, kms_addr,
    kms_public_key, anvil, deployment (deploy.py's JSON). RuntimeError when the deployment fails.
    pki (a Pki): the KMS over mutual TLS (start_kms); call use_tls with its CA first."""
    r = run(NOX_KMS, "keygen", "--out", os.path.join(work, "gateway-wallet.key"))
    gw_addr = [ln.split()[-1] for ln in r.stdout.splitlines() if ln.startswith("address")][0]
    pg = start_postgres(work)
    servers.append(pg)
    out = {"gw_addr": gw_addr, "pg": pg}
    kms = start_kms(work, gw_addr, chain_id=chain_id, pki=pki)
    servers.append(kms)
    out["kms"] = kms
    out["kms_addr"] = run(noxctl, "key", "address", os.path.join(work, "kms-wallet.key")).stdout.strip().split()[-1]
    _, pk, _ = http("GET", kms.url + f"/v0/public-key?chainId={chain_id}")
    out["kms_public_key"] = pk["publicKey"]
    anvil = start_anvil(work)
    servers.append(anvil)
    out["anvil"] = anvil
    dep_path = os.path.join(work, "deployment.json")
    import sys
    r = run(sys.executable, os.path.join(ROOT, "contracts", "deploy.py"), "--rpc-url", anvil.url,
            "--private-key", deployer_key, "--gateway", gw_addr, "--kms-public-key", pk["publicKey"],
            "--out", dep_path, "--artifacts", contracts, "--cast", cast)
    if r.returncode != 0:
        raise RuntimeError("deploy.py: " + r.stdout + r.stderr)
    with open(dep_path) as f:
        out["deployment"] = json.load(f)
    return out


class Postgres:
    """A PostgreSQL cluster under work/pg started by start_postgres: url, stop(), start(), restart()."""

    def __init__(self, bindir, datadir, port, url, run_as):
        self.bindir, self.datadir, self.port, self.url, self.run_as = bindir, datadir, port, url, run_as
        self.log_path = os.path.join(datadir, "..", "postgres.log")

    def _pg_ctl(self, *args):
        r = run(*self.run_as, os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, *args)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[0]}: {r.stdout}{r.stderr}")

    def start(self):
        sock = os.path.dirname(self.datadir)
        self._pg_ctl("start", "-w", "-t", "60", "-l", self.log_path,
                     "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sock} -c fsync=off")

    def stop(self):
        """Fast shutdown (open sessions are terminated); harmless when already stopped."""
        r = run(*self.run_as, os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "status")
        if r.returncode == 0:
            self._pg_ctl("stop", "-w", "-t", "60", "-m", "fast")

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def start_postgres(work, user="nox", password="nox-test-pw"):
    """initdb into work/pg, start PostgreSQL on 127.0.0.1 (free port, unix socket in work/pg),
    create role `user` (password auth over TCP) and its database `nox`. As root, the server
    runs as the `postgres` system user (initdb refuses root). Returns a Postgres (url, stop, restart)."""
    import glob
    import shutil
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not bins:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (scripts/setup.sh installs them)")
    bindir = os.path.dirname(bins[-1])
    base = os.path.join(os.path.abspath(work), "pg")
    datadir = os.path.join(base, "data")
    if os.path.exists(base):
        shutil.rmtree(base)
    os.makedirs(base)
    run_as = []
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chmod(base, 0o700)
        let_others_traverse(os.path.dirname(base))
        run_as = ["runuser", "-u", "postgres", "--"]
    pwfile = os.path.join(base, "pw")
    with open(pwfile, "w") as f:
        f.write("postgres-" + password + "\n")
    if run_as:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    r = run(*run_as, os.path.join(bindir, "initdb"), "-D", datadir, "-U", "postgres", "--pwfile", pwfile,
            "-E", "UTF8", "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
    os.remove(pwfile)
    if r.returncode != 0:
        raise RuntimeError("initdb: " + r.stdout + r.stderr)
    # PostgreSQL cannot bind port 0: a port free a moment ago may be taken before it starts; then take another
    for attempt in range(5):
        port = free_port()
        url = f"postgresql://{user}:{password}@127.0.0.1:{port}/nox"
        pg = Postgres(bindir, datadir, port, url, run_as)
        offset = file_size(pg.log_path)
        try:
            pg.start()
            break
        except RuntimeError:
            if attempt == 4 or not bind_failed(log_since(pg.log_path, offset)):
                raise
    psql = [*run_as, os.path.join(bindir, "psql"), "-h", base, "-p", str(port), "-U", "postgres", "-d", "postgres",
            "-v", "ON_ERROR_STOP=1", "-q"]
    r = run(*psql, "-c", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'", "-c", f"CREATE DATABASE nox OWNER {user}")
    if r.returncode != 0:
        pg.stop()
        raise RuntimeError("psql: " + r.stdout + r.stderr)
    return pg
