/*
 * nox_hex_decode / nox_hex_decode_exact / nox_hex_encode (core/base/hex.c), and
 * nox_base64_decode / encode (core/base/base64.c, under the Gateway's EIP712 header).
 * Invariants: decoded bytes encode back to the input (lowercased), never more
 * than cap bytes are written (ASan sees the exact-size buffer), round trips.
 */
#include <ctype.h>

#include "fuzz_util.h"
#include "nox/base64.h"
#include "nox/hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reader r = {data, size};
    size_t cap = fuzz_u8(&r); /* 0..255: the output buffer, exactly that big */
    const char *text = (const char *)r.p;
    size_t len = r.n;
    nox_error err = {0};
    uint8_t *out = malloc(cap ? cap : 1);
    size_t n = 0;
    if (nox_hex_decode(text, len, out, cap, &n, &err) == NOX_OK) {
        FUZZ_CHECK(n <= cap && len == 2 + 2 * n);
        char *back = malloc(2 * n + 3);
        nox_hex_encode(out, n, back);
        for (size_t i = 2; i < len; i++) FUZZ_CHECK(back[i] == (char)tolower((unsigned char)text[i]));
        free(back);
    }
    if (nox_hex_decode_exact(text, len, out, cap, &err) == NOX_OK) FUZZ_CHECK(len == 2 + 2 * cap);
    for (size_t i = 0; i < 4 && i < len; i++) (void)nox_hex_digit(text[i]);
    free(out);

    /* base64: decode into exactly the size the Gateway allocates, re-encode, decode again. */
    size_t bcap = len / 4 * 3 + 3, blen = 0;
    uint8_t *raw = malloc(bcap);
    if (nox_base64_decode(text, len, raw, bcap, &blen, &err) == NOX_OK) {
        FUZZ_CHECK(blen <= bcap);
        char *enc = malloc((blen + 2) / 3 * 4 + 1);
        nox_base64_encode(raw, blen, enc);
        uint8_t *again = malloc(blen + 3);
        size_t alen = 0;
        FUZZ_CHECK(nox_base64_decode(enc, strlen(enc), again, blen + 3, &alen, &err) == NOX_OK);
        FUZZ_CHECK(alen == blen && (blen == 0 || !memcmp(raw, again, blen)));
        free(again);
        free(enc);
    }
    free(raw);
    return 0;
}
