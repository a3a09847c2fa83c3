#include "nox/hex.h"

int nox_hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static nox_status check_prefix(const char *text, size_t len, nox_error *err) {
    if (len < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return nox_error_set(err, NOX_ERR_INVALID, "expected a hex string starting with 0x");
    return NOX_OK;
}

static nox_status decode_digits(const char *digits, size_t n_digits, uint8_t *out, nox_error *err) {
    for (size_t i = 0; i < n_digits; i += 2) {
        int hi = nox_hex_digit(digits[i]), lo = nox_hex_digit(digits[i + 1]);
        if (hi < 0 || lo < 0)
            return nox_error_set(err, NOX_ERR_INVALID, "invalid hex digit at position %zu",
                                 i + 3 + (hi >= 0)); /* 1-based, counting the 0x */
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return NOX_OK;
}

nox_status nox_hex_decode_exact(const char *text, size_t len, uint8_t *out, size_t out_len, nox_error *err) {
    nox_status st = check_prefix(text, len, err);
    if (st) return st;
    if (len - 2 != 2 * out_len)
        return nox_error_set(err, NOX_ERR_INVALID, "expected 0x + %zu hex digits (%zu bytes), got %zu digits",
                             2 * out_len, out_len, len - 2);
    return decode_digits(text + 2, len - 2, out, err);
}

nox_status nox_hex_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                          nox_error *err) {
    nox_status st = check_prefix(text, len, err);
    if (st) return st;
    size_t digits = len - 2;
    if (digits % 2)
        return nox_error_set(err, NOX_ERR_INVALID, "odd number of hex digits (%zu); bytes need two each", digits);
    if (digits / 2 > cap)
        return nox_error_set(err, NOX_ERR_INVALID, "hex string too long: %zu bytes, at most %zu", digits / 2, cap);
    *out_len = digits / 2;
    return decode_digits(text + 2, digits, out, err);
}

char *nox_hex_encode(const uint8_t *in, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[in[i] >> 4];
        out[3 + 2 * i] = digits[in[i] & 15];
    }
    out[2 + 2 * len] = '\0';
    return out;
}
