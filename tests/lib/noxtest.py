"""Helpers shared by the Python cross and integration tests.

Checks count into a tally and never raise; `summary()` prints the closing
line "N passed, M failed" that CI reads and returns the exit status.
HTTP helpers never raise on HTTP errors. EIP-712 signing goes through cast,
an independent implementation.
"""
import json
import os
import subprocess
import urllib.error
import urllib.request

passed = failed = 0


def check(name, ok, detail="", verbose=False):
    """Counts one check; prints failures (and passes when verbose)."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    if verbose or not ok:
        print("%s %s%s" % ("PASS" if ok else "FAIL", name, "" if ok or not detail else " -- " + str(detail)))


def summary():
    """Prints 'N passed, M failed'; returns the process exit status (1 when anything failed or nothing ran)."""
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def http(method, url, body=None, headers=None, timeout=10):
    """(status, parsed JSON or text, headers)."""
    data = body if isinstance(body, (bytes, type(None))) else body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, hdrs = e.code, e.read(), e.headers
    try:
        return status, json.loads(raw), hdrs
    except ValueError:
        return status, raw.decode(errors="replace"), hdrs


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


def cast_verify(cast, work, data, address, sig):
    """True when cast accepts sig as address's signature over the typed data."""
    path = os.path.join(work, "typed.json")
    with open(path, "w") as f:
        json.dump(data, f)
    r = run(cast, "wallet", "verify", "--data", "--from-file", path, "--address", address, sig)
    return r.returncode == 0 and "Validation succeeded" in r.stdout


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


def start_anvil(work, block_time=None):
    """anvil on a free port (Cancun: EIP-1153 transient storage), chain id 31337; returns a Server (url = RPC URL)."""
    args = [ANVIL, "--host", "127.0.0.1", "--port", "0", "--hardfork", "cancun", "--chain-id", "31337"]
    if block_time:
        args += ["--block-time", str(block_time)]
    return _start(args, os.path.join(work, "anvil.log"), r"Listening on", "http")


def start_nats(work):
    """nats-server with JetStream on a free port, storage under work; returns a Server (url = nats://...)."""
    store = os.path.join(work, "nats-store")
    os.makedirs(store, exist_ok=True)
    return _start(["nats-server", "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", store],
                  os.path.join(work, "nats.log"), r"Listening for client connections on", "nats")
