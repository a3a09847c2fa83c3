#!/usr/bin/python3
"""Cross-check of ECIES (spec §4.1), RSA-OAEP/SPKI and decryption delegation
(spec §4.2, refusals of §8) against Python's `cryptography`, in both directions.

Usage: ecies_rsa.py PATH/TO/ecies_rsa_driver

The driver runs as one long-lived process (it keeps one RSA key pair, like a
Runner) and answers one line per command; see ecies_rsa_driver.c. Python
implements the spec independently here. Prints one line per check and ends
with "N passed, M failed"; exits 1 when anything failed.
"""
import os
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noxtest  # noqa: E402

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIZES = [1, 20, 32, 256]  # bool, address, uint256, uint2048 (spec §3)
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


# ---- the spec, written independently ---------------------------------------------

def hkdf(x):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"\0" * 32, info=b"ECIES:AES_GCM:v1").derive(x)


def compressed(pub):
    return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def ecies_encrypt(pub, m):
    k = ec.generate_private_key(ec.SECP256K1())
    x = k.exchange(ec.ECDH(), pub)  # the raw x-coordinate
    nonce = os.urandom(12)
    return compressed(k.public_key()), nonce, AESGCM(hkdf(x)).encrypt(nonce, m, None)


def shared_x(priv, eph):
    if len(eph) != 33 or eph[0] not in (2, 3):
        raise ValueError("ephemeral key is not 33-byte compressed")
    return priv.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), eph))


def ecies_decrypt(priv, eph, nonce, ct):
    return AESGCM(hkdf(shared_x(priv, eph))).decrypt(nonce, ct, None)


def spki(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def priv_hex(priv):
    return "0x%064x" % priv.private_numbers().private_value


def h(b):
    return "0x" + b.hex()


def unhex(s):
    assert s.startswith("0x"), s
    return bytes.fromhex(s[2:])


# ---- the driver -----------------------------------------------------------------------

class Driver:
    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def call(self, *words):
        """Returns the result fields of an "ok" answer, or raises DriverError with the message."""
        self.p.stdin.write(" ".join(words) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit("the driver died (exit status %s)" % self.p.wait())
        line = line.rstrip("\n")
        if line.startswith("ok"):
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


def checks(d):
    # HKDF
    for i in range(4):
        x = os.urandom(32) if i else bytes(32)
        (key,) = d.call("hkdf", h(x))
        check("HKDF-SHA256 of x #%d" % i, unhex(key) == hkdf(x))

    kms = ec.generate_private_key(ec.SECP256K1())
    kms_pub = compressed(kms.public_key())

    # Python encrypts, we decrypt (with the private key, and with x alone)
    for n in SIZES + [0, 1000]:
        m = os.urandom(n)
        eph, nonce, ct = ecies_encrypt(kms.public_key(), m)
        (pt,) = d.call("ecies_decrypt", priv_hex(kms), h(eph), h(nonce), h(ct))
        check("ECIES python -> nox, %d bytes" % n, unhex(pt) == m)
        (pt,) = d.call("ecies_decrypt_x", h(shared_x(kms, eph)), h(nonce), h(ct))
        check("ECIES python -> nox with x only, %d bytes" % n, unhex(pt) == m)

    # We encrypt, Python decrypts
    for n in SIZES + [0, 1000]:
        m = os.urandom(n)
        eph, nonce, ct = (unhex(f) for f in d.call("ecies_encrypt", h(kms_pub), h(m)))
        shape = len(eph) == 33 and eph[0] in (2, 3) and len(nonce) == 12 and len(ct) == n + 16
        try:
            ok = shape and ecies_decrypt(kms, eph, nonce, ct) == m
        except (InvalidTag, ValueError):
            ok = False
        check("ECIES nox -> python, %d bytes (K compressed, ciphertext len + 16)" % n, ok)
    # to a key given uncompressed, the ephemeral key is still compressed
    full = kms.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    eph, nonce, ct = (unhex(f) for f in d.call("ecies_encrypt", h(full), h(b"x" * 32)))
    check("ECIES nox -> python, recipient key given uncompressed", ecies_decrypt(kms, eph, nonce, ct) == b"x" * 32)

    # Tampering and wrong keys, on a Python ciphertext
    eph, nonce, ct = ecies_encrypt(kms.public_key(), os.urandom(32))
    bad = bytearray(ct)
    bad[5] ^= 1
    refused("ECIES altered ciphertext refused",
            lambda: d.call("ecies_decrypt", priv_hex(kms), h(eph), h(nonce), h(bytes(bad))), "did not authenticate")
    bad = bytearray(ct)
    bad[-1] ^= 0x80
    refused("ECIES altered tag refused",
            lambda: d.call("ecies_decrypt", priv_hex(kms), h(eph), h(nonce), h(bytes(bad))), "did not authenticate")
    refused("ECIES altered nonce refused",
            lambda: d.call("ecies_decrypt", priv_hex(kms), h(eph), h(bytes([nonce[0] ^ 1]) + nonce[1:]), h(ct)),
            "did not authenticate")
    other = ec.generate_private_key(ec.SECP256K1())
    refused("ECIES wrong private key refused",
            lambda: d.call("ecies_decrypt", priv_hex(other), h(eph), h(nonce), h(ct)), "did not authenticate")
    eph_full = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), eph).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    refused("ECIES uncompressed ephemeral key refused",
            lambda: d.call("ecies_decrypt", priv_hex(kms), h(eph_full), h(nonce), h(ct)), "compressed")

    # RSA: our SPKI in Python
    (our_spki_hex,) = d.call("rsa_spki")
    our_spki = unhex(our_spki_hex)
    our_pub = serialization.load_der_public_key(our_spki)
    check("our SPKI is 294 bytes, lowercase hex, and loads in Python as RSA-2048 e=65537",
          len(our_spki) == 294 and our_spki_hex == our_spki_hex.lower() and isinstance(our_pub, rsa.RSAPublicKey)
          and our_pub.key_size == 2048 and our_pub.public_numbers().e == 65537 and spki(our_pub) == our_spki)
    for n in (0, 1, 32, 190):
        m = os.urandom(n)
        (got,) = d.call("rsa_decrypt", h(our_pub.encrypt(m, OAEP)))
        check("RSA-OAEP python -> nox, %d bytes" % n, unhex(got) == m)

    # RSA: Python's keys in our code
    py_keys = {bits: rsa.generate_private_key(public_exponent=65537, key_size=bits) for bits in (2048, 3072)}
    for bits, key in py_keys.items():
        (got_bits,) = d.call("rsa_import", h(spki(key.public_key())))
        check("Python RSA-%d SPKI imported" % bits, got_bits == str(bits))
        for n in (1, 32, bits // 8 - 66):
            m = os.urandom(n)
            (ct,) = d.call("rsa_encrypt", h(spki(key.public_key())), h(m))
            check("RSA-OAEP nox -> python, RSA-%d, %d bytes" % (bits, n),
                  len(unhex(ct)) == bits // 8 and key.decrypt(unhex(ct), OAEP) == m)

    # RSA: refusals of spec §8 (and of the exponent rule of §4.2)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    refused("RSA-1024 SPKI refused", lambda: d.call("rsa_import", h(spki(small.public_key()))), "at least 2048")
    e3 = rsa.generate_private_key(public_exponent=3, key_size=2048)
    refused("RSA-2048 with e = 3 refused", lambda: d.call("rsa_import", h(spki(e3.public_key()))), "exponent")
    pkcs1 = py_keys[2048].public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    refused("PKCS#1 RSAPublicKey (not SPKI) refused", lambda: d.call("rsa_import", h(pkcs1)), "SubjectPublicKeyInfo")
    refused("EC (secp256k1) SPKI refused", lambda: d.call("rsa_import", h(spki(kms.public_key()))), "not an RSA key")
    refused("SPKI with a trailing byte refused",
            lambda: d.call("rsa_import", h(spki(py_keys[2048].public_key()) + b"\0")), "trailing")
    refused("truncated SPKI refused",
            lambda: d.call("rsa_import", h(spki(py_keys[2048].public_key())[:-1])), "SubjectPublicKeyInfo")

    # Delegation A: Python is the user and the Runner (RSA key), we are the KMS
    runner = py_keys[2048]
    runner_spki = h(spki(runner.public_key()))
    for n in SIZES:
        m = os.urandom(n)
        eph, nonce, ct = ecies_encrypt(kms.public_key(), m)
        (ess,) = d.call("delegate", priv_hex(kms), h(eph), runner_spki)
        x = runner.decrypt(unhex(ess), OAEP)
        ok = len(unhex(ess)) == 256 and len(x) == 32 and x == shared_x(kms, eph)
        check("delegation, nox KMS -> python Runner, %d bytes" % n,
              ok and AESGCM(hkdf(x)).decrypt(nonce, ct, None) == m)
    # the KMS refusals of spec §8
    eph, nonce, ct = ecies_encrypt(kms.public_key(), b"\1")
    refused("delegate refuses an uncompressed ephemeral key",
            lambda: d.call("delegate", priv_hex(kms), h(eph_full), runner_spki), "compressed")
    refused("delegate refuses an off-curve ephemeral key (x = 5)",
            lambda: d.call("delegate", priv_hex(kms), h(b"\2" + (5).to_bytes(32, "big")), runner_spki),
            "not a point on secp256k1")
    refused("delegate refuses an RSA-1024 target",
            lambda: d.call("delegate", priv_hex(kms), h(eph), h(spki(small.public_key()))), "at least 2048")
    refused("delegate refuses an EC target",
            lambda: d.call("delegate", priv_hex(kms), h(eph), h(spki(kms.public_key()))), "not an RSA key")

    # Delegation B: Python is the KMS, we are the user and the Runner
    for n in SIZES:
        m = os.urandom(n)
        eph, nonce, ct = d.call("ecies_encrypt", h(kms_pub), h(m))
        x = shared_x(kms, unhex(eph))
        ess = our_pub.encrypt(x, OAEP)
        (got_x,) = d.call("unwrap", h(ess))
        (pt,) = d.call("decrypt_stored", h(ess), nonce, ct)
        check("delegation, python KMS -> nox Runner, %d bytes" % n, unhex(got_x) == x and unhex(pt) == m)
    # an encryptedSharedSecret that is not 32 bytes of plaintext
    for n in (31, 33):
        ess = our_pub.encrypt(os.urandom(n), OAEP)
        refused("unwrap refuses a secret of %d bytes" % n, lambda: d.call("unwrap", h(ess)),
                "decrypts to %d bytes" % n)
    refused("unwrap refuses a ciphertext for another key",
            lambda: d.call("unwrap", h(runner.public_key().encrypt(os.urandom(32), OAEP))),
            "RSA-OAEP decryption failed")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ecies_rsa.py PATH/TO/ecies_rsa_driver")
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
