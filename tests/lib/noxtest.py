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
