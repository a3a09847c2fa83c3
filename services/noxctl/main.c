/*
 * noxctl — the command-line client for users and scripts.
 * Offline subcommands (no service needed): keccak, handle, key.
 * Exit status: 0 ok, 1 the operation failed (message on stderr), 2 bad usage.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "noxctl.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: noxctl COMMAND ...\n"
            "  keccak [--hex] TEXT             keccak256 of TEXT's UTF-8 bytes (--hex: of the 0x bytes)\n"
            "  handle decode HANDLE            the fields of a handle, one 'key: value' per line\n"
            "  handle derive --op N --caller ADDR --compute ADDR --timestamp T --output-index I\n"
            "                --chain-id C --type TYPE [HANDLE...]\n"
            "                                  the result handle NoxCompute derives (spec §2)\n"
            "  key new --out FILE              a new secp256k1 key in FILE (mode 0600); prints its address\n"
            "  key address FILE                the Ethereum address of the key in FILE\n");
}

int noxctl_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("noxctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "keccak")) return noxctl_keccak(argc - 1, argv + 1);
    if (!strcmp(cmd, "handle")) return noxctl_handle(argc - 1, argv + 1);
    if (!strcmp(cmd, "key")) return noxctl_key(argc - 1, argv + 1);
    fprintf(stderr, "noxctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
