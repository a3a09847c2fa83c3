/*
 * nox/kms_client.h — the Handle Gateway's client of the KMS API (spec §8):
 *   GET  /v0/public-key?chainId=N  -> {"publicKey", "proof"}   (proof checked, §4.4 PublicKeyProof)
 *   POST /v0/delegate?chainId=N    -> {"encryptedSharedSecret"} (signed, §4.4 DelegateAuthorization)
 *   GET  /health                   (nox_kms_ping)
 * over libcurl, with a pool of keep-alive connections.
 *
 * Errors come in the classes of nox/rpc.h, so that a caller can decide whether to retry:
 *   NOX_ERR_IO      transport: the KMS could not be reached, the connection
 *                   broke or timed out, or it answered 5xx. Retryable.
 *   NOX_ERR_REMOTE  the KMS refused the request with a 4xx; its HTTP status,
 *                   error code and message are in the error text and, when
 *                   asked for, in a nox_kms_fault (e.g. 401 "unauthorized").
 *   NOX_ERR_INVALID the answer is not what the protocol promises (a 2xx that
 *                   is not JSON or lacks a well-formed field, an unexpected
 *                   status, larger than max_response), or a bad argument.
 *   NOX_ERR_AUTH    (public key only) the proof does not come from the
 *                   expected KMS wallet; the message names both addresses.
 * Error messages name the KMS by scheme://host[:port] only (nox_url_redact)
 * and never contain the Gateway's key; signatures are not quoted.
 *
 * Threads: every function taking a client may be called from any number of
 * threads at once. Each request borrows a libcurl easy handle from the
 * client's pool (a mutex-protected free list); handles are created on
 * demand up to max_connections, after which a request waits for a free one.
 * A handle keeps its connection alive between requests. nox_kms_client_free
 * must only be called once no request is running.
 */
#ifndef NOX_KMS_CLIENT_H
#define NOX_KMS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"
#include "nox/tls.h"
#include "nox/http_fault.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nox_kms_client nox_kms_client;

/** Client settings. Start from nox_kms_options_default. */
typedef struct nox_kms_options {
    const char *url;             /**< http:// or https:// base URL of the KMS, e.g. "http://127.0.0.1:8600" (required) */
    unsigned timeout_ms;         /**< whole-request timeout; default 10000 */
    unsigned connect_timeout_ms; /**< TCP (+TLS) connection timeout; default 3000 */
    unsigned max_connections;    /**< most pooled handles (parallel requests); default 16 */
    size_t max_response;         /**< largest accepted answer in bytes; default 64 KiB */
    const nox_tls_client *tls; /**< https: CA and client certificate (nox/tls.h; copied); NULL: system trust, none */
} nox_kms_options;

/** Fills `o` with the defaults above and url = NULL. */
void nox_kms_options_default(nox_kms_options *o);

/**
 * Creates a client for o->url (a trailing '/' is dropped). No connection is
 * made yet. NOX_OK with *out set, NOX_ERR_INVALID for a URL that is not
 * http(s):// or bad options, NOX_ERR_NOMEM / NOX_ERR_IO when libcurl cannot be set up.
 */
nox_status nox_kms_client_new(const nox_kms_options *o, nox_kms_client **out, nox_error *err);

/** Closes every pooled connection and frees the client. NULL is fine. No request may be running. */
void nox_kms_client_free(nox_kms_client *c);

/** The KMS URL reduced to scheme://host[:port] (safe to log). */
const char *nox_kms_client_display_url(const nox_kms_client *c);

/**
 * A refusal of the KMS (its error body {"error", "message"}, spec §7; cut to fit, made printable):
 * http_status (e.g. 400, 401), code (the body's `error`, e.g. "unauthorized"; "" when the body
 * lacks one) and message (the body's `message`; "" when absent). See nox/http_fault.h.
 */
typedef nox_http_fault nox_kms_fault;

/**
 * GET /health: NOX_OK when the KMS answers a 2xx with a JSON object, else the
 * error classes above (NOX_ERR_IO when it is down or answers 5xx, e.g. 503
 * when it is not ready). For readiness probes.
 */
nox_status nox_kms_ping(nox_kms_client *c, nox_error *err);

/**
 * GET /v0/public-key?chainId=chain_id. Checks that `proof` is an EIP-712
 * PublicKeyProof signature (domain ProtocolPublicKey/1/chain_id) over the
 * `publicKey` string exactly as sent, made by expected_kms_wallet, else
 * NOX_ERR_AUTH naming both addresses; then that publicKey is a compressed
 * secp256k1 point (NOX_ERR_INVALID otherwise). On NOX_OK, public_key holds
 * its 33 bytes. `fault` (may be NULL) is filled on NOX_ERR_REMOTE.
 */
nox_status nox_kms_fetch_public_key(nox_kms_client *c, uint64_t chain_id,
                                    const uint8_t expected_kms_wallet[NOX_ADDRESS_SIZE],
                                    uint8_t public_key[NOX_EC_PUBKEY_COMPRESSED_SIZE], nox_kms_fault *fault,
                                    nox_error *err);

/**
 * POST /v0/delegate?chainId=chain_id: signs DelegateAuthorization(ephemeral_pub_key,
 * target_pub_key) (domain ProtocolDelegate/1/chain_id) with gateway_key, sends
 * {"ephemeralPubKey", "targetPubKey"} (the strings as given: the KMS validates
 * them) with "Authorization: Bearer 0x<signature>". On NOX_OK the decoded
 * encryptedSharedSecret is in out[0..*out_len) (NOX_ERR_INVALID when it does
 * not fit in cap). `fault` (may be NULL) is filled on NOX_ERR_REMOTE and, with
 * whatever the body said, on an HTTP 5xx.
 */
nox_status nox_kms_delegate(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                            const char *ephemeral_pub_key, const char *target_pub_key, uint8_t *out, size_t cap,
                            size_t *out_len, nox_kms_fault *fault, nox_error *err);

/** One item of a batch: inputs, output buffer, and its own outcome. */
typedef struct nox_kms_delegation {
    /* in */
    const char *ephemeral_pub_key;
    const char *target_pub_key;
    uint8_t *out; /**< receives the encryptedSharedSecret */
    size_t cap;
    /* out */
    size_t out_len;
    nox_status status;   /**< this item's outcome */
    nox_kms_fault fault; /**< on NOX_ERR_REMOTE */
    nox_error error;     /**< this item's error text */
} nox_kms_delegation;

/** Most delegations the client puts in one POST /v0/delegate/batch (fewer when max_response is small). */
#define NOX_KMS_MAX_BATCH 256u

/**
 * Delegates items[0..n). When they share one target_pub_key (a Runner's
 * operands), in POST /v0/delegate/batch requests of up to NOX_KMS_MAX_BATCH
 * items (docs/PROTOCOL-EXTENSIONS.md §4: one DelegateBatchAuthorization
 * signature each); a transport failure or 5xx there is the answer for every
 * item. When that request is refused with a 4xx (a bad key in the lot, or a
 * KMS without the endpoint: 404, logged once), or the targets differ: in
 * parallel, min(n, parallelism, max_connections) worker threads (parallelism
 * 0 = max_connections) take items in order and call nox_kms_delegate for
 * each. Every item gets its own status, fault and error, and results stay
 * with their items (request order). Returns NOX_OK
 * when every item succeeded, else the status of the first failed item (in
 * request order), with *err saying how many failed and the first one's error;
 * NOX_ERR_NOMEM / NOX_ERR_IO when the workers cannot be started (no item is
 * then attempted and each item's status says so).
 */
nox_status nox_kms_delegate_batch(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                  nox_kms_delegation *items, size_t n, unsigned parallelism, nox_error *err);

/**
 * POST /v0/delegate/partials?chainId=chain_id (docs/PROTOCOL-EXTENSIONS.md §11) with a prepared
 * `authorization` header line ("Authorization: Bearer 0x…", a PartialDelegationAuthorization: one
 * signature serves every node) and JSON `body`. On NOX_OK, *out holds the node's sealed envelope, whose
 * `node` must be expected_node (NOX_ERR_INVALID otherwise: a URL that serves another node). Errors and
 * `fault` as for nox_kms_delegate. Used by nox/kms_group.h.
 */
#include "nox/delegation.h"
nox_status nox_kms_partials(nox_kms_client *c, uint64_t chain_id, const char *authorization, const char *body,
                            unsigned expected_node, nox_sealed_partials *out, nox_kms_fault *fault, nox_error *err);

/** "Authorization: Bearer 0x<signature>" for a ProtocolDelegate struct hash, signed with gateway_key (cap ≥ 160). */
nox_status nox_kms_bearer(const nox_ec_privkey *gateway_key, uint64_t chain_id, const uint8_t hash[32], char *auth,
                          size_t cap, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_KMS_CLIENT_H */
