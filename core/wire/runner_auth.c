/* Content digests and validity windows of the bound Runner authorizations (docs/PROTOCOL-EXTENSIONS.md §7). */
#include "nox/runner_auth.h"

void nox_content_digest_init(nox_content_digest *d) {
    nox_keccak256_init(&d->ctx);
    d->count = 0;
}

void nox_content_digest_add_result(nox_content_digest *d, const uint8_t handle[NOX_RUNNER_AUTH_HANDLE_SIZE],
                                   const uint8_t value_tag[NOX_RUNNER_AUTH_TAG_SIZE],
                                   const uint8_t public_key[NOX_RUNNER_AUTH_PUBKEY_SIZE],
                                   const uint8_t nonce[NOX_RUNNER_AUTH_NONCE_SIZE], const uint8_t *ciphertext,
                                   size_t ciphertext_len) {
    nox_keccak256_ctx leaf;
    uint8_t h[NOX_KECCAK256_SIZE];
    nox_keccak256_init(&leaf);
    nox_keccak256_update(&leaf, handle, NOX_RUNNER_AUTH_HANDLE_SIZE);
    nox_keccak256_update(&leaf, value_tag, NOX_RUNNER_AUTH_TAG_SIZE);
    nox_keccak256_update(&leaf, public_key, NOX_RUNNER_AUTH_PUBKEY_SIZE);
    nox_keccak256_update(&leaf, nonce, NOX_RUNNER_AUTH_NONCE_SIZE);
    nox_keccak256_update(&leaf, ciphertext, ciphertext_len);
    nox_keccak256_final(&leaf, h);
    nox_keccak256_update(&d->ctx, h, sizeof h);
    d->count++;
}

void nox_content_digest_add_failure(nox_content_digest *d, const uint8_t handle[NOX_RUNNER_AUTH_HANDLE_SIZE],
                                    const char *reason, size_t reason_len) {
    nox_keccak256_ctx leaf;
    uint8_t h[NOX_KECCAK256_SIZE];
    nox_keccak256_init(&leaf);
    nox_keccak256_update(&leaf, handle, NOX_RUNNER_AUTH_HANDLE_SIZE);
    nox_keccak256_update(&leaf, reason, reason_len);
    nox_keccak256_final(&leaf, h);
    nox_keccak256_update(&d->ctx, h, sizeof h);
    d->count++;
}

void nox_content_digest_final(nox_content_digest *d, uint8_t out[NOX_KECCAK256_SIZE]) {
    nox_keccak256_final(&d->ctx, out);
}

nox_status nox_runner_auth_check_window(uint64_t not_before, uint64_t expires_at, uint64_t now, nox_error *err) {
    unsigned long long nb = not_before, ex = expires_at, t = now;
    if (expires_at <= not_before)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "authorization window is empty: expiresAt %llu is not after notBefore %llu", ex, nb);
    if (expires_at - not_before > NOX_RUNNER_AUTH_MAX_WINDOW_S)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "authorization window of %llu s (notBefore %llu, expiresAt %llu) is longer than the "
                             "%u s allowed",
                             ex - nb, nb, ex, NOX_RUNNER_AUTH_MAX_WINDOW_S);
    if (now >= expires_at)
        return nox_error_set(err, NOX_ERR_INVALID, "authorization expired at %llu (now %llu)", ex, t);
    if (not_before > now && not_before - now > NOX_RUNNER_AUTH_CLOCK_SKEW_S)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "authorization not valid before %llu (now %llu: %llu s ahead, more than the %u s of "
                             "clock skew allowed)",
                             nb, t, nb - t, NOX_RUNNER_AUTH_CLOCK_SKEW_S);
    return NOX_OK;
}
