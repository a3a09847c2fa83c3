#include "nox/base64.h"

#include <openssl/evp.h>
#include <string.h>

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

char *nox_base64_encode(const uint8_t *in, size_t len, char *out) {
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

nox_status nox_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len, nox_error *err) {
    if (len % 4)
        return nox_error_set(err, NOX_ERR_INVALID, "base64 length %zu is not a multiple of 4", len);
    size_t pad = 0;
    if (len >= 1 && text[len - 1] == '=') pad++;
    if (len >= 2 && text[len - 2] == '=') pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (b64_value(text[i]) < 0)
            return nox_error_set(err, NOX_ERR_INVALID, "invalid base64 character at position %zu", i + 1);
    /* canonical: the bits the padding leaves over must be zero */
    if (pad == 1 && (b64_value(text[len - 2]) & 0x3))
        return nox_error_set(err, NOX_ERR_INVALID, "non-canonical base64 (trailing bits set)");
    if (pad == 2 && (b64_value(text[len - 3]) & 0xf))
        return nox_error_set(err, NOX_ERR_INVALID, "non-canonical base64 (trailing bits set)");
    size_t n = len / 4 * 3 - pad;
    if (n > cap) return nox_error_set(err, NOX_ERR_INVALID, "base64 data too long: %zu bytes, at most %zu", n, cap);
    if (len == 0) {
        *out_len = 0;
        return NOX_OK;
    }
    /* EVP_DecodeBlock writes whole 3-byte groups (padding decodes as zeros) */
    uint8_t tail[3];
    size_t whole = (len / 4 - 1) * 3;
    if (whole && EVP_DecodeBlock(out, (const unsigned char *)text, (int)(len - 4)) != (int)whole)
        return nox_error_set(err, NOX_ERR_INVALID, "invalid base64");
    if (EVP_DecodeBlock(tail, (const unsigned char *)text + len - 4, 4) != 3)
        return nox_error_set(err, NOX_ERR_INVALID, "invalid base64");
    memcpy(out + whole, tail, 3 - pad);
    *out_len = n;
    return NOX_OK;
}
