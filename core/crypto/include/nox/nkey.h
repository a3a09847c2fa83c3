/*
 * nox/nkey.h — NATS user nkeys: the Ed25519 identities with which the services
 * authenticate to nats-server (docs/PROTOCOL-EXTENSIONS.md, "Authenticated queue").
 *
 * A user nkey is a seed ("SU" + 56 base32 characters: prefix, 32-byte Ed25519
 * seed, CRC-16) kept in a credentials file of mode 0600, and a public key ("U" +
 * 55 characters: prefix, 32-byte Ed25519 public key, CRC-16) named in the
 * nats-server configuration. The server sends a nonce, the client signs it with
 * the seed (nats.c does, reading the file at each connect); no secret crosses
 * the wire. The encoding is NATS's (github.com/nats-io/nkeys): RFC 4648 base32
 * without padding, CRC-16/XMODEM little-endian.
 *
 * Seeds are secrets: they never appear in a message, and buffers that held one
 * are wiped (OPENSSL_cleanse).
 */
#ifndef NOX_NKEY_H
#define NOX_NKEY_H

#include <stddef.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Characters of an encoded user public key ("U…") and of a user seed ("SU…"), without the NUL. */
#define NOX_NKEY_PUBLIC_LEN 56
#define NOX_NKEY_SEED_LEN 58

/** Generates a user nkey from the OS CSPRNG; seed and pub are NUL-terminated. Wipe seed after use. */
nox_status nox_nkey_generate(char seed[NOX_NKEY_SEED_LEN + 1], char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err);

/**
 * The public key of the user seed seed[0..len). NOX_ERR_INVALID, without quoting
 * the seed, when it is not a user seed: wrong length, a character outside base32,
 * a wrong checksum, or the seed of another kind of nkey (account, operator, …).
 */
nox_status nox_nkey_public_of_seed(const char *seed, size_t len, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err);

/** 1 when text is a well-formed user public key (prefix "U", base32, checksum), else 0. */
int nox_nkey_public_valid(const char *text);

/**
 * Reads a NATS credentials file as nats.c does (the first line that starts with
 * "SU", after optional indentation: a bare seed file or the seed block of a
 * .creds file) and gives its public key. The file must be a 0600 regular file
 * (nox/secret_file.h); a file without a valid user seed is refused with its path.
 */
nox_status nox_nkey_file_public(const char *path, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err);

/** Creates the credentials file `path` (mode 0600, atomically, never overwriting) with a new seed; gives its public key. */
nox_status nox_nkey_file_create(const char *path, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err);

#ifdef __cplusplus
}
#endif

#endif
