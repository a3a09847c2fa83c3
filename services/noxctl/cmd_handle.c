/* noxctl handle decode | derive */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/types.h"
#include "noxctl.h"

static int decode(const char *text) {
    nox_handle h;
    nox_error err = {0};
    if (nox_handle_parse(&h, text, strlen(text), &err)) return noxctl_fail("%s", err.message);
    char pre[2 * NOX_PREHANDLE_SIZE + 3];
    const char *name = nox_type_name(nox_handle_type(&h));
    printf("prehandle: %s\n", nox_hex_encode(h.bytes, NOX_PREHANDLE_SIZE, pre));
    printf("chain_id: %u\n", nox_handle_chain_id(&h));
    printf("type: %s\n", name ? name : "reserved");
    printf("type_code: %u\n", nox_handle_type(&h));
    printf("version: %u\n", nox_handle_version(&h));
    /* Print what the bytes say, then refuse a handle the protocol rejects. */
    if (nox_handle_validate(&h, NULL, 0, &err)) return noxctl_fail("%s", err.message);
    return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!(*s >= '0' && *s <= '9') || *end || errno || v > max)
        return noxctl_fail("%s: expected an integer in [0, %llu]", opt, (unsigned long long)max);
    *out = v;
    return 0;
}

static int parse_address(const char *opt, const char *s, uint8_t out[20]) {
    nox_error err = {0};
    if (nox_hex_decode_exact(s, strlen(s), out, 20, &err)) return noxctl_fail("%s: %s", opt, err.message);
    return 0;
}

static int derive(int argc, char **argv) {
    uint64_t op = 256, ts = 0, index = 256, chain = 0;
    uint8_t caller[20], compute[20], type = 0;
    int have_caller = 0, have_compute = 0, have_type = 0, have_ts = 0, have_chain = 0;
    nox_handle inputs[16];
    size_t n_inputs = 0;
    nox_error err = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-') {
            if (i + 1 >= argc) return noxctl_fail("%s needs a value", a);
            const char *v = argv[++i];
            int rc = 0;
            if (!strcmp(a, "--op")) rc = parse_u64(a, v, 255, &op);
            else if (!strcmp(a, "--timestamp")) rc = parse_u64(a, v, UINT64_MAX, &ts), have_ts = 1;
            else if (!strcmp(a, "--output-index")) rc = parse_u64(a, v, 255, &index);
            else if (!strcmp(a, "--chain-id")) rc = parse_u64(a, v, UINT32_MAX, &chain), have_chain = 1;
            else if (!strcmp(a, "--caller")) rc = parse_address(a, v, caller), have_caller = 1;
            else if (!strcmp(a, "--compute")) rc = parse_address(a, v, compute), have_compute = 1;
            else if (!strcmp(a, "--type")) {
                if (nox_type_from_name(v, &type, &err)) return noxctl_fail("--type: %s", err.message);
                have_type = 1;
            } else return noxctl_fail("handle derive: unknown option %s", a);
            if (rc) return rc;
        } else {
            if (n_inputs == sizeof inputs / sizeof inputs[0]) return noxctl_fail("too many input handles");
            if (nox_handle_parse(&inputs[n_inputs], a, strlen(a), &err))
                return noxctl_fail("input %zu: %s", n_inputs + 1, err.message);
            n_inputs++;
        }
    }
    if (op > 255 || index > 255 || !have_ts || !have_chain || !have_caller || !have_compute || !have_type)
        return noxctl_fail("handle derive needs --op, --caller, --compute, --timestamp, --output-index, --chain-id "
                           "and --type");
    nox_handle out;
    nox_handle_derive(&out, (uint8_t)op, inputs, n_inputs, compute, caller, ts, (uint8_t)index, (uint32_t)chain, type);
    char text[NOX_HANDLE_TEXT_LEN + 1];
    puts(nox_handle_format(&out, text));
    return 0;
}

int noxctl_handle(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "decode")) return decode(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "derive")) return derive(argc - 2, argv + 2);
    fprintf(stderr, "usage: noxctl handle decode HANDLE\n"
                    "       noxctl handle derive --op N --caller ADDR --compute ADDR --timestamp T --output-index I "
                    "--chain-id C --type TYPE [HANDLE...]\n");
    return 2;
}
