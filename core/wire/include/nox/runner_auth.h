/*
 * nox/runner_auth.h — what binds a Runner's authorization to the request it authorizes and to time
 * (docs/PROTOCOL-EXTENSIONS.md §7): the content digests that ResultPublishingAuthorizationV2 and
 * FailureRecordingAuthorization sign (nox/eip712.h), and the validity-window rules the Gateway applies
 * to those two and to OperandAccessAuthorizationV2.
 *
 * Content digest of a list of n items (results or failure records), in body order:
 *
 *   leaf(result)  = keccak256(handle (32) ‖ handleValueTag (32) ‖ publicKey (33) ‖ nonce (12) ‖ ciphertext)
 *   leaf(failure) = keccak256(handle (32) ‖ reason (its ASCII bytes, 1..256))
 *   digest        = keccak256(leaf_0 ‖ leaf_1 ‖ … ‖ leaf_{n-1})        (n = 0: keccak256 of nothing)
 *
 * All fields are the raw bytes the body's hex strings decode to (so the hex case does not matter) and
 * that the Gateway stores. Every part of a leaf but its last has a fixed size, and every leaf is 32
 * bytes, so no two different lists have the same byte string under the outer keccak.
 *
 * Nothing here allocates; every function may run in any thread.
 */
#ifndef NOX_RUNNER_AUTH_H
#define NOX_RUNNER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"
#include "nox/keccak.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The longest validity window the Gateway accepts: expiresAt - notBefore, in seconds. */
#define NOX_RUNNER_AUTH_MAX_WINDOW_S 300u
/** How far in the future of the Gateway's clock notBefore may lie (clock skew between hosts), in seconds. */
#define NOX_RUNNER_AUTH_CLOCK_SKEW_S 30u
/** The Runner signs notBefore = now - NOX_RUNNER_AUTH_BACKDATE_S (its clock may be a little ahead). */
#define NOX_RUNNER_AUTH_BACKDATE_S 5u
/** The Runner signs expiresAt = now + its lifetime (YAML authorization_lifetime_s); this by default. */
#define NOX_RUNNER_AUTH_DEFAULT_LIFETIME_S 60u
/** The longest lifetime a Runner may sign: the window (backdate + lifetime) must fit the Gateway's bound. */
#define NOX_RUNNER_AUTH_MAX_LIFETIME_S (NOX_RUNNER_AUTH_MAX_WINDOW_S - NOX_RUNNER_AUTH_BACKDATE_S)

/** Sizes of a result's fixed fields in its leaf (spec §4.1, §3). */
#define NOX_RUNNER_AUTH_HANDLE_SIZE 32
#define NOX_RUNNER_AUTH_TAG_SIZE 32
#define NOX_RUNNER_AUTH_PUBKEY_SIZE 33
#define NOX_RUNNER_AUTH_NONCE_SIZE 12

/** A content digest under construction: init, one add per item in body order, final. */
typedef struct nox_content_digest {
    nox_keccak256_ctx ctx;
    uint64_t count; /**< items added so far: the resultCount / recordCount to sign */
} nox_content_digest;

/** Starts an empty list. */
void nox_content_digest_init(nox_content_digest *d);

/** Appends the leaf of one result (see above); ciphertext may be NULL when ciphertext_len is 0. */
void nox_content_digest_add_result(nox_content_digest *d, const uint8_t handle[NOX_RUNNER_AUTH_HANDLE_SIZE],
                                   const uint8_t value_tag[NOX_RUNNER_AUTH_TAG_SIZE],
                                   const uint8_t public_key[NOX_RUNNER_AUTH_PUBKEY_SIZE],
                                   const uint8_t nonce[NOX_RUNNER_AUTH_NONCE_SIZE], const uint8_t *ciphertext,
                                   size_t ciphertext_len);

/** Appends the leaf of one failure record: its handle and reason[0..reason_len) (the bytes sent). */
void nox_content_digest_add_failure(nox_content_digest *d, const uint8_t handle[NOX_RUNNER_AUTH_HANDLE_SIZE],
                                    const char *reason, size_t reason_len);

/** Writes the digest of the list into out (d->count keeps the number of items); d must be re-initialised to reuse. */
void nox_content_digest_final(nox_content_digest *d, uint8_t out[NOX_KECCAK256_SIZE]);

/**
 * The Gateway's window rules for a bound Runner authorization, at time `now` (seconds since the epoch):
 * the window is not empty (notBefore < expiresAt), not longer than NOX_RUNNER_AUTH_MAX_WINDOW_S, has not
 * expired (now < expiresAt) and does not start more than NOX_RUNNER_AUTH_CLOCK_SKEW_S in the future.
 * Returns NOX_OK, or NOX_ERR_INVALID with a message that names the rule and the values, e.g.
 * "authorization expired at 1700000060 (now 1700000100)".
 */
nox_status nox_runner_auth_check_window(uint64_t not_before, uint64_t expires_at, uint64_t now, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_RUNNER_AUTH_H */
