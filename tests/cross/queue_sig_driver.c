/*
 * queue_sig_driver — signs one queue message with our code (nox/queue_signature.h) for
 * tests/cross/queue_signature.sh, which rebuilds the digest and the signature with cast alone.
 *
 *   queue_sig_driver KEY_FILE STREAM SUBJECT REASON|- BODY_FILE
 *
 * REASON "-": no Nox-Dead-Reason. Prints "<chainId> <digest> <Nox-Signature> <Nox-Signer>" and verifies its
 * own signature (nox_queue_verify) before printing; exit 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/queue_signature.h"

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: queue_sig_driver KEY_FILE STREAM SUBJECT REASON|- BODY_FILE\n");
        return 2;
    }
    const char *reason = strcmp(argv[4], "-") ? argv[4] : NULL;
    FILE *f = fopen(argv[5], "rb");
    static char body[1 << 20];
    size_t len = f ? fread(body, 1, sizeof body, f) : 0;
    if (!f || ferror(f)) {
        perror(argv[5]);
        return 1;
    }
    fclose(f);
    nox_ec_privkey key;
    nox_error err = {0};
    if (nox_ec_key_load(&key, argv[1], &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    nox_queue_message m = nox_queue_message_of(argv[2], argv[3], reason, body, len);
    char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1], dhex[67];
    uint8_t digest[32], addr[NOX_ADDRESS_SIZE];
    nox_queue_digest(&m, digest);
    nox_status st = nox_queue_sign(&key, &m, sig, signer, &err);
    if (!st) st = nox_ec_key_address(&key, addr, &err);
    nox_ec_key_wipe(&key);
    if (st) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    if (nox_queue_verify(sig, signer, addr, 1, argv[2], argv[3], reason, body, len, NULL, &err) != NOX_QUEUE_OK) {
        fprintf(stderr, "our own signature does not verify: %s\n", err.message);
        return 1;
    }
    printf("%llu %s %s %s\n", (unsigned long long)m.chain_id, nox_hex_encode(digest, 32, dhex), sig, signer);
    return 0;
}
