#include "nox/handle.h"

#include <string.h>

#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/types.h"

nox_status nox_handle_parse(nox_handle *h, const char *text, size_t len, nox_error *err) {
    nox_status st = nox_hex_decode_exact(text, len, h->bytes, NOX_HANDLE_SIZE, err);
    if (st) return nox_error_prefix(err, "bad handle: ");
    return NOX_OK;
}

char *nox_handle_format(const nox_handle *h, char out[NOX_HANDLE_TEXT_LEN + 1]) {
    return nox_hex_encode(h->bytes, NOX_HANDLE_SIZE, out);
}

void nox_handle_make(nox_handle *h, const uint8_t prehandle[NOX_PREHANDLE_SIZE], uint32_t chain_id, uint8_t type) {
    memcpy(h->bytes, prehandle, NOX_PREHANDLE_SIZE);
    h->bytes[26] = (uint8_t)(chain_id >> 24);
    h->bytes[27] = (uint8_t)(chain_id >> 16);
    h->bytes[28] = (uint8_t)(chain_id >> 8);
    h->bytes[29] = (uint8_t)chain_id;
    h->bytes[30] = type;
    h->bytes[31] = NOX_HANDLE_VERSION;
}

uint32_t nox_handle_chain_id(const nox_handle *h) {
    return (uint32_t)h->bytes[26] << 24 | (uint32_t)h->bytes[27] << 16 | (uint32_t)h->bytes[28] << 8 | h->bytes[29];
}

int nox_handle_is_zero(const nox_handle *h) {
    uint8_t acc = 0;
    for (size_t i = 0; i < NOX_HANDLE_SIZE; i++) acc |= h->bytes[i];
    return acc == 0;
}

nox_status nox_handle_validate(const nox_handle *h, const uint32_t *chain_ids, size_t n_chains, nox_error *err) {
    if (nox_handle_is_zero(h))
        return nox_error_set(err, NOX_ERR_INVALID, "bad handle: bytes32(0) is the undefined handle, never an operand");
    if (nox_handle_version(h) != NOX_HANDLE_VERSION)
        return nox_error_set(err, NOX_ERR_INVALID, "bad handle: version %u (byte 31) is unknown; only 0 is defined",
                             nox_handle_version(h));
    if (!nox_type_is_known(nox_handle_type(h)))
        return nox_error_set(err, NOX_ERR_TYPE, "bad handle: type code %u (byte 30) is reserved",
                             nox_handle_type(h));
    if (n_chains > 0) {
        uint32_t chain = nox_handle_chain_id(h);
        for (size_t i = 0; i < n_chains; i++)
            if (chain_ids[i] == chain) return NOX_OK;
        return nox_error_set(err, NOX_ERR_INVALID, "bad handle: chain id %u (bytes 26..29) is not configured",
                             chain);
    }
    return NOX_OK;
}

void nox_handle_derive(nox_handle *out, uint8_t op, const nox_handle *inputs, size_t n_inputs,
                       const uint8_t nox_compute[20], const uint8_t caller[20], uint64_t timestamp,
                       uint8_t output_index, uint32_t chain_id, uint8_t type) {
    nox_keccak256_ctx ctx;
    nox_keccak256_init(&ctx);
    nox_keccak256_update(&ctx, &op, 1);
    for (size_t i = 0; i < n_inputs; i++) nox_keccak256_update(&ctx, inputs[i].bytes, NOX_HANDLE_SIZE);
    nox_keccak256_update(&ctx, nox_compute, 20);
    nox_keccak256_update(&ctx, caller, 20);
    uint8_t ts[32] = {0}; /* uint256, big-endian */
    for (int i = 0; i < 8; i++) ts[31 - i] = (uint8_t)(timestamp >> (8 * i));
    nox_keccak256_update(&ctx, ts, sizeof ts);
    nox_keccak256_update(&ctx, &output_index, 1);
    uint8_t digest[32];
    nox_keccak256_final(&ctx, digest);
    nox_handle_make(out, digest, chain_id, type);
}

void nox_handle_value_tag(const nox_handle *h, const uint8_t *plaintext, size_t len, uint8_t out[32]) {
    nox_keccak256_ctx ctx; /* final() wipes the state, which held the plaintext */
    nox_keccak256_init(&ctx);
    nox_keccak256_update(&ctx, h->bytes, NOX_HANDLE_SIZE);
    nox_keccak256_update(&ctx, plaintext, len);
    nox_keccak256_final(&ctx, out);
}
