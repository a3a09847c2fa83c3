/* noxctl keccak [--hex] TEXT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/keccak.h"
#include "noxctl.h"

int noxctl_keccak(int argc, char **argv) {
    int hex = argc == 3 && !strcmp(argv[1], "--hex");
    if (argc != 2 + hex) {
        fprintf(stderr, "usage: noxctl keccak [--hex] TEXT\n");
        return 2;
    }
    const char *text = argv[1 + hex];
    uint8_t digest[32];
    char out[67];
    if (!hex) {
        nox_keccak256(text, strlen(text), digest);
    } else {
        size_t len = strlen(text), n;
        uint8_t *bytes = malloc(len / 2 + 1);
        nox_error err = {0};
        if (!bytes) return noxctl_fail("out of memory");
        if (nox_hex_decode(text, len, bytes, len / 2 + 1, &n, &err)) {
            free(bytes);
            return noxctl_fail("--hex: %s", err.message);
        }
        nox_keccak256(bytes, n, digest);
        free(bytes);
    }
    puts(nox_hex_encode(digest, 32, out));
    return 0;
}
