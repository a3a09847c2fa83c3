/*
 * noxctl decode-error DATA [--json] — ABI revert data as Name(arg, ...): the contracts' custom errors
 * (the table gen_abi.py generates from the compiled ABIs), Error(string) and Panic(uint256).
 * Exit status: 0 decoded, 1 an unknown selector, 2 bad usage or data that is not revert data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "nox/hex.h"
#include "noxctl.h"

static const char USAGE[] = "usage: noxctl decode-error DATA [--json]    (DATA: revert data in hex, 0x optional)\n";

/* Parses DATA strictly; returns 0 or 2 after saying precisely what is wrong. */
static int parse_data(const char *text, uint8_t **data, size_t *len) {
    size_t skip = (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) ? 2 : 0, n = strlen(text) - skip;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[skip + i];
        if (nox_hex_digit((char)c) < 0) {
            if (c > 0x20 && c < 0x7f)
                return noxctl_usage(USAGE, "DATA: '%c' at position %zu is not a hex digit", c, skip + i + 1);
            return noxctl_usage(USAGE, "DATA: byte 0x%02x at position %zu is not a hex digit", c, skip + i + 1);
        }
    }
    if (n % 2) return noxctl_usage(USAGE, "DATA: odd number of hex digits (%zu)", n);
    if (n < 8)
        return noxctl_usage(USAGE, "DATA: %zu byte%s: revert data starts with a 4-byte selector", n / 2,
                            n == 2 ? "" : "s");
    if (!(*data = malloc(n / 2))) return noxctl_fail("out of memory");
    for (size_t i = 0; i < n / 2; i++)
        (*data)[i] = (uint8_t)(nox_hex_digit(text[skip + 2 * i]) << 4 | nox_hex_digit(text[skip + 2 * i + 1]));
    *len = n / 2;
    return 0;
}

int noxctl_decode_error(int argc, char **argv) {
    const char *arg = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strncmp(argv[i], "--", 2)) return noxctl_usage(USAGE, "unknown option %s", argv[i]);
        else if (arg) return noxctl_usage(USAGE, "unexpected argument '%s'", argv[i]);
        else arg = argv[i];
    }
    if (!arg) return noxctl_usage(USAGE, "decode-error needs DATA");
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = parse_data(arg, &data, &len);
    if (rc) return rc;
    noxctl_text text = {0};
    json_t *o = NULL;
    nox_error err = {0};
    nox_status s = noxctl_abi_decode_error(data, len, &text, json ? &o : NULL, &err);
    if (s == NOX_OK && text.oom) s = nox_error_set(&err, NOX_ERR_NOMEM, "out of memory");
    if (s == NOX_OK) {
        if (json) noxctl_print_json(o);
        else puts(noxctl_text_str(&text));
    } else if (s == NOX_ERR_NOT_FOUND) {
        if (json) {
            char sel[11];
            noxctl_print_json(json_pack("{s:s, s:n, s:I}", "selector", nox_hex_encode(data, 4, sel), "error",
                                        "argumentBytes", (json_int_t)(len - 4)));
        }
        rc = noxctl_fail("%s", err.message);
    } else {
        noxctl_fail("%s", err.message);
        rc = s == NOX_ERR_INVALID ? 2 : 1;
    }
    noxctl_text_free(&text);
    free(data);
    return rc;
}
