/*
 * nox_handle_parse / nox_handle_validate / nox_handle_format (core/wire/handle.c).
 * Invariants: what parses formats back to the input (lowercased), validation
 * never crashes on any 32 bytes, the chain id and type accessors agree with the bytes.
 */
#include <ctype.h>

#include "fuzz_util.h"
#include "nox/handle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nox_handle h;
    nox_error err = {0};
    const char *text = (const char *)data;
    if (nox_handle_parse(&h, text, size, &err) == NOX_OK) {
        FUZZ_CHECK(size == NOX_HANDLE_TEXT_LEN);
        char out[NOX_HANDLE_TEXT_LEN + 1];
        nox_handle_format(&h, out);
        for (size_t i = 0; i < size; i++) FUZZ_CHECK(out[i] == (char)tolower((unsigned char)text[i]) || i == 1);
        static const uint32_t chains[] = {1, 31337, 4294967295u};
        nox_status v = nox_handle_validate(&h, chains, 3, &err);
        FUZZ_CHECK(v == NOX_OK || v == NOX_ERR_INVALID || v == NOX_ERR_TYPE);
        v = nox_handle_validate(&h, NULL, 0, &err);
        FUZZ_CHECK(v == NOX_OK || v == NOX_ERR_INVALID || v == NOX_ERR_TYPE);
        uint32_t c = nox_handle_chain_id(&h);
        FUZZ_CHECK(c == ((uint32_t)h.bytes[26] << 24 | (uint32_t)h.bytes[27] << 16 | (uint32_t)h.bytes[28] << 8 | h.bytes[29]));
    } else {
        FUZZ_CHECK(err.message[0] != '\0');
    }
    /* Any 32 raw bytes as a handle. */
    if (size >= 32) {
        memcpy(h.bytes, data, 32);
        nox_status v = nox_handle_validate(&h, NULL, 0, &err);
        FUZZ_CHECK(v == NOX_OK || v == NOX_ERR_INVALID || v == NOX_ERR_TYPE);
        char out[NOX_HANDLE_TEXT_LEN + 1];
        nox_handle h2;
        nox_handle_format(&h, out);
        FUZZ_CHECK(nox_handle_parse(&h2, out, strlen(out), &err) == NOX_OK && !memcmp(h.bytes, h2.bytes, 32));
    }
    return 0;
}
