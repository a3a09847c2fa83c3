/* Plaintext values: byte, word and text conversions. Decimal goes through GMP. */
#include "nox/value.h"

#include <gmp.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/types.h"

_Static_assert(sizeof(mp_limb_t) == sizeof(uint64_t), "GMP limbs must be 64-bit (nox_value limbs are)");

void nox_value_zero(nox_value *v, uint8_t type) {
    memset(v, 0, sizeof *v);
    v->type = type;
}

void nox_value_wipe(nox_value *v) { OPENSSL_cleanse(v, sizeof *v); }

static nox_status need_fixed(uint8_t type, nox_error *err) {
    nox_status st = nox_type_check_code(type, err);
    if (st) return st;
    if (!nox_type_is_fixed(type))
        return nox_error_set(err, NOX_ERR_TYPE, "type %s has no fixed size; operators take fixed-size types only",
                             nox_type_name(type));
    return NOX_OK;
}

/* limbs <- big-endian bytes (n <= 256) */
static void limbs_from_be(uint64_t *limb, const uint8_t *buf, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t bit = 8 * (n - 1 - i);
        limb[bit / 64] |= (uint64_t)buf[i] << (bit % 64);
    }
}

static void limbs_to_be(const uint64_t *limb, uint8_t *buf, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t bit = 8 * (n - 1 - i);
        buf[i] = (uint8_t)(limb[bit / 64] >> (bit % 64));
    }
}

nox_status nox_value_from_bytes(nox_value *v, uint8_t type, const uint8_t *buf, size_t len, nox_error *err) {
    nox_status st = need_fixed(type, err);
    if (st) return st;
    size_t size = nox_type_size(type);
    if (len != size)
        return nox_error_set(err, NOX_ERR_INVALID, "plaintext of %s must be exactly %zu bytes, got %zu",
                             nox_type_name(type), size, len);
    if (type == NOX_TYPE_BOOL && buf[0] > 1)
        return nox_error_set(err, NOX_ERR_INVALID, "plaintext of bool must be 0x00 or 0x01");
    nox_value_zero(v, type);
    limbs_from_be(v->limb, buf, size);
    return NOX_OK;
}

nox_status nox_value_to_bytes(const nox_value *v, uint8_t *buf, size_t cap, size_t *len, nox_error *err) {
    nox_status st = need_fixed(v->type, err);
    if (st) return st;
    size_t size = nox_type_size(v->type);
    if (cap < size)
        return nox_error_set(err, NOX_ERR_INVALID, "buffer of %zu bytes cannot hold a %s (%zu bytes)", cap,
                             nox_type_name(v->type), size);
    if (v->type == NOX_TYPE_BOOL)
        buf[0] = (uint8_t)(v->limb[0] & 1);
    else
        limbs_to_be(v->limb, buf, size);
    *len = size;
    return NOX_OK;
}

nox_status nox_value_from_word(nox_value *v, uint8_t type, const uint8_t word[32], nox_error *err) {
    nox_status st = need_fixed(type, err);
    if (st) return st;
    size_t size = nox_type_size(type);
    if (size > 32)
        return nox_error_set(err, NOX_ERR_TYPE, "type %s (%zu bytes) has no 32-byte word form",
                             nox_type_name(type), size);
    nox_value_zero(v, type);
    if (type == NOX_TYPE_BOOL) {
        uint8_t acc = 0;
        for (int i = 0; i < 32; i++) acc |= word[i];
        v->limb[0] = acc != 0;
    } else {
        limbs_from_be(v->limb, word + 32 - size, size);
    }
    return NOX_OK;
}

nox_status nox_value_to_word(const nox_value *v, uint8_t word[32], nox_error *err) {
    nox_status st = need_fixed(v->type, err);
    if (st) return st;
    size_t size = nox_type_size(v->type);
    if (size > 32)
        return nox_error_set(err, NOX_ERR_TYPE, "type %s (%zu bytes) has no 32-byte word form",
                             nox_type_name(v->type), size);
    size_t len;
    memset(word, 0, 32);
    return nox_value_to_bytes(v, word + 32 - size, size, &len, err);
}

int nox_value_is_canonical(const nox_value *v) {
    unsigned bits = nox_type_bits(v->type);
    if (bits == 0) return 0;
    unsigned n = nox_type_limbs(v->type);
    if (bits % 64 && (v->limb[n - 1] >> (bits % 64)) != 0) return 0;
    return 1;
}

int nox_value_equal(const nox_value *a, const nox_value *b) {
    if (a->type != b->type) return 0;
    return memcmp(a->limb, b->limb, nox_type_limbs(a->type) * sizeof a->limb[0]) == 0;
}

/* ---- text ---------------------------------------------------------------- */

static nox_status parse_hex_bits(nox_value *v, uint8_t type, const char *text, size_t len, nox_error *err) {
    const char *d = text + 2;
    size_t n = len - 2;
    if (n == 0) return nox_error_set(err, NOX_ERR_INVALID, "0x must be followed by hex digits");
    while (n > 1 && *d == '0') d++, n--; /* leading zeros do not count against the width */
    unsigned bits = nox_type_bits(type);
    nox_value_zero(v, type);
    for (size_t i = 0; i < n; i++) {
        int x = nox_hex_digit(d[n - 1 - i]);
        if (x < 0)
            return nox_error_set(err, NOX_ERR_INVALID, "invalid hex digit at position %zu", (size_t)(d - text) + n - i);
        if (4 * i >= bits) {
            if (x) goto too_wide;
            continue;
        }
        v->limb[(4 * i) / 64] |= (uint64_t)x << ((4 * i) % 64);
    }
    if (nox_value_is_canonical(v)) return NOX_OK;
too_wide:
    return nox_error_set(err, NOX_ERR_INVALID, "hex value is wider than %s (%u bits)", nox_type_name(type), bits);
}

static nox_status parse_decimal(nox_value *v, uint8_t type, const char *text, size_t len, nox_error *err) {
    unsigned bits = nox_type_bits(type);
    int sign = nox_type_is_signed(type);
    size_t i = 0;
    int neg = text[0] == '-';
    if (neg) {
        if (!sign)
            return nox_error_set(err, NOX_ERR_INVALID, "negative value for unsigned type %s", nox_type_name(type));
        i = 1;
    }
    if (i == len) return nox_error_set(err, NOX_ERR_INVALID, "expected decimal digits after '-'");
    if (len - i > 700)
        return nox_error_set(err, NOX_ERR_INVALID, "decimal value too long (%zu digits)", len - i);
    for (size_t k = i; k < len; k++)
        if (text[k] < '0' || text[k] > '9')
            return nox_error_set(err, NOX_ERR_INVALID,
                                 "invalid character at position %zu: expected a decimal integer or 0x hex", k + 1);

    mpz_t z, lim;
    mpz_init(z);
    mpz_init(lim);
    mpz_set_str(z, text + i, 10); /* digits validated above */
    if (neg) mpz_neg(z, z);
    nox_status st = NOX_OK;
    /* unsigned: 0 <= z < 2^bits; signed: -2^(bits-1) <= z < 2^(bits-1) */
    mpz_setbit(lim, sign ? bits - 1 : bits);
    if (mpz_cmp(z, lim) >= 0) st = NOX_ERR_INVALID;
    mpz_neg(lim, lim);
    if (sign && mpz_cmp(z, lim) < 0) st = NOX_ERR_INVALID;
    if (st == NOX_OK) {
        if (mpz_sgn(z) < 0) mpz_mul_2exp(lim, lim, 1), mpz_sub(z, z, lim); /* z + 2^bits */
        nox_value_zero(v, type);
        mpz_export(v->limb, NULL, -1, sizeof v->limb[0], 0, 0, z);
    } else {
        nox_error_set(err, NOX_ERR_INVALID, "value out of range for %s", nox_type_name(type));
    }
    mpz_clear(z);
    mpz_clear(lim);
    return st;
}

nox_status nox_value_parse(nox_value *v, uint8_t type, const char *text, nox_error *err) {
    nox_status st = need_fixed(type, err);
    if (st) return st;
    size_t len = strlen(text);
    if (len == 0) return nox_error_set(err, NOX_ERR_INVALID, "empty value");
    int hex = len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');

    if (type == NOX_TYPE_BOOL) {
        nox_value_zero(v, type);
        /* a closed list: the plaintext encoding of bool is exactly one byte 0x00 or 0x01 */
        const char *digits = hex ? text + 2 : NULL;
        if (!strcmp(text, "true") || !strcmp(text, "1") || (hex && (!strcmp(digits, "1") || !strcmp(digits, "01"))))
            v->limb[0] = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0") || (hex && (!strcmp(digits, "0") || !strcmp(digits, "00"))))
            v->limb[0] = 0;
        else
            return nox_error_set(err, NOX_ERR_INVALID, "bool must be true, false, 0, 1, 0x0, 0x1, 0x00 or 0x01");
        return NOX_OK;
    }
    if (!nox_type_is_integer(type)) { /* address, bytesN: exact raw bytes */
        uint8_t buf[32];
        size_t size = nox_type_size(type);
        st = nox_hex_decode_exact(text, len, buf, size, err);
        if (st) return nox_error_prefix(err, "%s: ", nox_type_name(type));
        st = nox_value_from_bytes(v, type, buf, size, err);
        OPENSSL_cleanse(buf, sizeof buf);
        return st;
    }
    return hex ? parse_hex_bits(v, type, text, len, err) : parse_decimal(v, type, text, len, err);
}

nox_status nox_value_format(const nox_value *v, char *buf, size_t cap, nox_error *err) {
    nox_status st = need_fixed(v->type, err);
    if (st) return st;
    if (v->type == NOX_TYPE_BOOL) {
        if (cap < sizeof "false") return nox_error_set(err, NOX_ERR_INVALID, "format buffer too small (%zu bytes)", cap);
        snprintf(buf, cap, "%s", v->limb[0] ? "true" : "false");
        return NOX_OK;
    }
    if (!nox_type_is_integer(v->type)) return nox_value_format_hex(v, buf, cap, err);

    unsigned bits = nox_type_bits(v->type);
    mpz_t z;
    mpz_init(z);
    mpz_import(z, nox_type_limbs(v->type), -1, sizeof v->limb[0], 0, 0, v->limb);
    if (nox_type_is_signed(v->type) && mpz_tstbit(z, bits - 1)) {
        mpz_t m;
        mpz_init(m);
        mpz_setbit(m, bits);
        mpz_sub(z, z, m);
        mpz_clear(m);
    }
    if (mpz_sizeinbase(z, 10) + 2 > cap) {
        mpz_clear(z);
        return nox_error_set(err, NOX_ERR_INVALID, "format buffer too small (%zu bytes)", cap);
    }
    mpz_get_str(buf, 10, z);
    mpz_clear(z);
    return NOX_OK;
}

nox_status nox_value_format_hex(const nox_value *v, char *buf, size_t cap, nox_error *err) {
    uint8_t bytes[NOX_VALUE_MAX_BITS / 8];
    size_t len;
    nox_status st = nox_value_to_bytes(v, bytes, sizeof bytes, &len, err);
    if (st) return st;
    if (cap < 2 * len + 3) {
        OPENSSL_cleanse(bytes, sizeof bytes);
        return nox_error_set(err, NOX_ERR_INVALID, "format buffer too small (%zu bytes)", cap);
    }
    nox_hex_encode(bytes, len, buf);
    OPENSSL_cleanse(bytes, sizeof bytes);
    return NOX_OK;
}
