/* noxctl key new | address, noxctl nats-key new | public */
#include <stdio.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/nkey.h"
#include "noxctl.h"

static int print_address(const nox_ec_privkey *key) {
    uint8_t addr[NOX_ADDRESS_SIZE];
    char text[2 * NOX_ADDRESS_SIZE + 3];
    nox_error err = {0};
    if (nox_ec_key_address(key, addr, &err)) return noxctl_fail("%s", err.message);
    puts(nox_hex_encode(addr, sizeof addr, text));
    return 0;
}

int noxctl_key(int argc, char **argv) {
    nox_ec_privkey key;
    nox_error err = {0};
    int rc;
    if (argc == 4 && !strcmp(argv[1], "new") && !strcmp(argv[2], "--out")) {
        if (nox_ec_key_generate(&key, &err) || nox_ec_key_save(&key, argv[3], &err)) {
            nox_ec_key_wipe(&key);
            return noxctl_fail("%s", err.message);
        }
    } else if (argc == 3 && !strcmp(argv[1], "address")) {
        if (nox_ec_key_load(&key, argv[2], &err)) return noxctl_fail("%s", err.message);
    } else {
        fprintf(stderr, "usage: noxctl key new --out FILE\n       noxctl key address FILE\n");
        return 2;
    }
    rc = print_address(&key);
    nox_ec_key_wipe(&key);
    return rc;
}

/* NATS credentials (nox/nkey.h): the seed file a service's nats.credentials_file names, its public key for nats-server. */
int noxctl_nats_key(int argc, char **argv) {
    char pub[NOX_NKEY_PUBLIC_LEN + 1];
    nox_error err = {0};
    nox_status st;
    if (argc == 4 && !strcmp(argv[1], "new") && !strcmp(argv[2], "--out")) st = nox_nkey_file_create(argv[3], pub, &err);
    else if (argc == 3 && !strcmp(argv[1], "public")) st = nox_nkey_file_public(argv[2], pub, &err);
    else {
        fprintf(stderr, "usage: noxctl nats-key new --out FILE\n       noxctl nats-key public FILE\n");
        return 2;
    }
    if (st) return noxctl_fail("%s", err.message);
    puts(pub);
    return 0;
}
