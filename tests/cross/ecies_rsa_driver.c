/*
 * Driver of tests/cross/ecies_rsa.py: our ECIES, RSA-OAEP and delegation, one
 * command per stdin line, one answer per stdout line. Arguments and results
 * are `0x` hex ("0x" alone for empty bytes).
 *
 *   hkdf X                        -> ok KEY
 *   ecies_encrypt PUB PT          -> ok EPHEMERAL NONCE CIPHERTEXT   (PUB: 33 or 65 bytes)
 *   ecies_decrypt PRIV EPH NONCE CT -> ok PT
 *   ecies_decrypt_x X NONCE CT    -> ok PT
 *   rsa_spki                      -> ok SPKI     (this process's RSA-2048 key, made on first use)
 *   rsa_import SPKI               -> ok BITS
 *   rsa_encrypt SPKI MSG          -> ok CT
 *   rsa_decrypt CT                -> ok MSG      (with this process's key)
 *   delegate PRIV EPH SPKI        -> ok ENCRYPTED_SHARED_SECRET
 *   unwrap ESS                    -> ok X        (with this process's key)
 *   decrypt_stored ESS NONCE CT   -> ok PT       (with this process's key)
 *
 * Any failure answers "error <message>" and the driver reads on; EOF ends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/delegation.h"
#include "nox/ec.h"
#include "nox/ecies.h"
#include "nox/hex.h"
#include "nox/rsa.h"

#define MAX_ARGS 4

static nox_rsa_key *own_key;

typedef struct bytes {
    uint8_t *data;
    size_t len;
} bytes;

static nox_status decode(const char *text, bytes *out, nox_error *err) {
    size_t len = strlen(text);
    out->data = malloc(len / 2 + 1);
    out->len = 0;
    if (!out->data) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    return nox_hex_decode(text, len, out->data, len / 2 + 1, &out->len, err);
}

static nox_status decode_exact(const char *text, uint8_t *out, size_t len, nox_error *err) {
    return nox_hex_decode_exact(text, strlen(text), out, len, err);
}

/* Prints " 0x…" for each buffer. */
static void print_hex(const uint8_t *data, size_t len) {
    char *hex = malloc(2 * len + 3);
    if (!hex) exit(2);
    printf(" %s", nox_hex_encode(data, len, hex));
    free(hex);
}

static nox_status need_own_key(nox_error *err) {
    return own_key ? NOX_OK : nox_rsa_generate(2048, &own_key, err);
}

static nox_status load_priv(const char *text, nox_ec_privkey *key, nox_error *err) {
    uint8_t b[32];
    nox_status st = decode_exact(text, b, sizeof b, err);
    if (!st) st = nox_ec_key_from_bytes(key, b, err);
    return st;
}

/* Runs one command; on success prints "ok" and its results (without the newline). */
static nox_status run(const char *cmd, char **arg, int argc, nox_error *err) {
#define ARGS(n)                                                                                      \
    do {                                                                                             \
        if (argc != (n)) return nox_error_set(err, NOX_ERR_INVALID, "%s takes %d arguments", cmd, n); \
    } while (0)
    bytes a = {0}, b = {0};
    uint8_t *out = NULL;
    nox_status st = NOX_OK;
    if (!strcmp(cmd, "hkdf")) {
        ARGS(1);
        uint8_t x[32], key[32];
        if (!(st = decode_exact(arg[0], x, 32, err)) && !(st = nox_ecies_derive_key(x, key, err))) {
            printf("ok");
            print_hex(key, 32);
        }
    } else if (!strcmp(cmd, "ecies_encrypt")) {
        ARGS(2);
        nox_ec_pubkey pub;
        uint8_t eph[33], nonce[12];
        if (!(st = decode(arg[0], &a, err)) && !(st = nox_ec_pubkey_parse(&pub, a.data, a.len, err)) &&
            !(st = decode(arg[1], &b, err))) {
            out = malloc(b.len + 16);
            if (!out) exit(2);
            if (!(st = nox_ecies_encrypt(&pub, b.data, b.len, out, eph, nonce, err))) {
                printf("ok");
                print_hex(eph, 33);
                print_hex(nonce, 12);
                print_hex(out, b.len + 16);
            }
        }
    } else if (!strcmp(cmd, "ecies_decrypt") || !strcmp(cmd, "ecies_decrypt_x")) {
        int with_x = cmd[13] == '_';
        ARGS(with_x ? 3 : 4);
        nox_ec_privkey key;
        uint8_t x[32], nonce[12];
        st = with_x ? decode_exact(arg[0], x, 32, err) : load_priv(arg[0], &key, err);
        if (!st && !with_x) st = decode(arg[1], &a, err);
        if (!st) st = decode_exact(arg[argc - 2], nonce, 12, err);
        if (!st) st = decode(arg[argc - 1], &b, err);
        if (!st) {
            out = malloc(b.len + 1);
            if (!out) exit(2);
            st = with_x ? nox_ecies_decrypt_x(x, nonce, b.data, b.len, out, err)
                        : nox_ecies_decrypt(&key, a.data, a.len, nonce, b.data, b.len, out, err);
            if (!st) {
                printf("ok");
                print_hex(out, b.len - 16);
            }
        }
    } else if (!strcmp(cmd, "rsa_spki")) {
        ARGS(0);
        char hex[2 * NOX_RSA_MAX_SPKI_SIZE + 3];
        if (!(st = need_own_key(err)) && !(st = nox_rsa_spki_hex(own_key, hex, sizeof hex, err))) printf("ok %s", hex);
    } else if (!strcmp(cmd, "rsa_import") || !strcmp(cmd, "rsa_encrypt")) {
        int encrypt = cmd[4] == 'e';
        ARGS(encrypt ? 2 : 1);
        nox_rsa_key *key = NULL;
        if (!(st = nox_rsa_from_spki_hex(arg[0], strlen(arg[0]), &key, err))) {
            if (!encrypt) {
                printf("ok %u", nox_rsa_bits(key));
            } else if (!(st = decode(arg[1], &a, err))) {
                size_t cap = nox_rsa_size(key), len = 0;
                out = malloc(cap);
                if (!out) exit(2);
                if (!(st = nox_rsa_encrypt(key, a.data, a.len, out, cap, &len, err))) {
                    printf("ok");
                    print_hex(out, len);
                }
            }
        }
        nox_rsa_free(key);
    } else if (!strcmp(cmd, "rsa_decrypt")) {
        ARGS(1);
        size_t len = 0;
        if (!(st = need_own_key(err)) && !(st = decode(arg[0], &a, err))) {
            out = malloc(nox_rsa_size(own_key));
            if (!out) exit(2);
            if (!(st = nox_rsa_decrypt(own_key, a.data, a.len, out, nox_rsa_size(own_key), &len, err))) {
                printf("ok");
                print_hex(out, len);
            }
        }
    } else if (!strcmp(cmd, "delegate")) {
        ARGS(3);
        nox_ec_privkey key;
        nox_rsa_key *target = NULL;
        if (!(st = load_priv(arg[0], &key, err)) && !(st = decode(arg[1], &a, err)) &&
            !(st = nox_rsa_from_spki_hex(arg[2], strlen(arg[2]), &target, err))) {
            size_t cap = nox_rsa_size(target), len = 0;
            out = malloc(cap);
            if (!out) exit(2);
            if (!(st = nox_delegation_delegate(&key, a.data, a.len, target, out, cap, &len, err))) {
                printf("ok");
                print_hex(out, len);
            }
        }
        nox_rsa_free(target);
    } else if (!strcmp(cmd, "unwrap")) {
        ARGS(1);
        uint8_t x[32];
        if (!(st = need_own_key(err)) && !(st = decode(arg[0], &a, err)) &&
            !(st = nox_delegation_unwrap(own_key, a.data, a.len, x, err))) {
            printf("ok");
            print_hex(x, 32);
        }
    } else if (!strcmp(cmd, "decrypt_stored")) {
        ARGS(3);
        uint8_t nonce[12];
        if (!(st = need_own_key(err)) && !(st = decode(arg[0], &a, err)) &&
            !(st = decode_exact(arg[1], nonce, 12, err)) && !(st = decode(arg[2], &b, err))) {
            out = malloc(b.len + 1);
            if (!out) exit(2);
            if (!(st = nox_delegation_decrypt(own_key, a.data, a.len, nonce, b.data, b.len, out, err))) {
                printf("ok");
                print_hex(out, b.len - 16);
            }
        }
    } else {
        st = nox_error_set(err, NOX_ERR_INVALID, "unknown command %s", cmd);
    }
    free(a.data);
    free(b.data);
    free(out);
    return st;
#undef ARGS
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *arg[MAX_ARGS + 1], *save = NULL;
        char *cmd = strtok_r(line, " \t\r\n", &save);
        if (!cmd) continue;
        int argc = 0;
        char *tok;
        while ((tok = strtok_r(NULL, " \t\r\n", &save)) && argc <= MAX_ARGS) arg[argc++] = tok;
        nox_error err = {0};
        nox_status st = argc > MAX_ARGS ? nox_error_set(&err, NOX_ERR_INVALID, "too many arguments")
                                        : run(cmd, arg, argc, &err);
        if (st) printf("error %s", err.message);
        printf("\n");
        fflush(stdout);
    }
    free(line);
    nox_rsa_free(own_key);
    return 0;
}
