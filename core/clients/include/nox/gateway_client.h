/*
 * nox/gateway_client.h — the Runner's client of the Handle Gateway's Runner API (spec §7.3, §7.4):
 *   GET  /v0/compute/operands  (OperandAccessAuthorization) -> per operand {ciphertext, iv, publicKey, item}
 *        and the KMS nodes' sealed partials (docs/PROTOCOL-EXTENSIONS.md §11), which this client opens
 *   POST /v0/compute/results   (ResultPublishingAuthorization) -> {created, unchanged, conflicted}
 * (and POST /v0/compute/failures, the batch endpoints of docs/PROTOCOL-EXTENSIONS.md §4), authenticated
 * with "Authorization: EIP712 <base64({"payload": ..., "signature": ...})>" (a batch: per entry) signed
 * by the Runner wallet in the bound forms of docs/PROTOCOL-EXTENSIONS.md §7 — OperandAccessAuthorizationV2,
 * ResultPublishingAuthorizationV2 (the result set's count and content digest), FailureRecordingAuthorization
 * (the records' count and digest) — each valid from NOX_RUNNER_AUTH_BACKDATE_S before the signing time to
 * its lifetime after it, in the domain nox_eip712_domain_runner_gateway_v2 that names the Gateway. Every
 * request is signed when it is sent (a retry gets a fresh window).
 *
 * Error classes (as nox/kms_client.h):
 *   NOX_ERR_IO        transport failure or HTTP 5xx: retryable;
 *   NOX_ERR_NOT_FOUND HTTP 400 "not_found": operands not stored (yet): retryable later;
 *   NOX_ERR_REMOTE    any other 4xx (fault filled) — among them 400 "operand_failed": operands that have
 *                     a failure record and will never be stored (nox_gateway_fetch lists them);
 *   NOX_ERR_INVALID   an answer that breaks the protocol, or a bad argument.
 * Threads: every call may run from any number of threads (a keep-alive pool of libcurl handles).
 */
#ifndef NOX_GATEWAY_CLIENT_H
#define NOX_GATEWAY_CLIENT_H
#include <stddef.h>
#include <stdint.h>
#include "nox/ec.h"
#include "nox/ecies.h"
#include "nox/error.h"
#include "nox/handle.h"
#include "nox/http_fault.h"
#include "nox/tls.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct nox_gateway_client nox_gateway_client;

/** A refusal of the Gateway (its error body {"error", "message"}; nox/http_fault.h). */
typedef nox_http_fault nox_gateway_fault;

/** Largest ciphertext accepted from the Gateway, in bytes. */
#define NOX_GATEWAY_MAX_CIPHERTEXT 1024

/**
 * One fetched operand, already decrypted: the client opens the answer's envelopes of KMS partials (one
 * RSA decryption per node per answer, docs/PROTOCOL-EXTENSIONS.md §11), combines t partials per operand
 * and decrypts it. `plaintext` is a secret: the caller wipes it (OPENSSL_cleanse) once used.
 */
typedef struct nox_gateway_operand {
    uint8_t plaintext[NOX_GATEWAY_MAX_CIPHERTEXT];
    size_t plaintext_len;
} nox_gateway_operand;

/** One result to publish. */
typedef struct nox_gateway_result {
    nox_handle handle;
    uint8_t value_tag[32];
    uint8_t ciphertext[NOX_GATEWAY_MAX_CIPHERTEXT];
    size_t ciphertext_len;
    uint8_t public_key[NOX_ECIES_EPHEMERAL_SIZE];
    uint8_t nonce[NOX_ECIES_NONCE_SIZE];
} nox_gateway_result;

/** Who asks: the transaction the request is made for. */
typedef struct nox_gateway_tx {
    uint64_t chain_id, block_number;
    uint8_t caller[NOX_ADDRESS_SIZE];
    uint8_t tx_hash[32];
} nox_gateway_tx;

typedef struct nox_gateway_counts {
    uint64_t created, unchanged, conflicted;
} nox_gateway_counts;

/** How the client's authorizations name their verifier and bound their validity. */
typedef struct nox_gateway_signing {
    uint8_t gateway_address[NOX_ADDRESS_SIZE]; /**< the Gateway's wallet address: the domain's verifyingContract */
    unsigned lifetime_s; /**< expiresAt = signing time + lifetime_s, at most NOX_RUNNER_AUTH_MAX_LIFETIME_S; 0 = 60 */
} nox_gateway_signing;

/** Gateway URLs a client may fail over between. */
#define NOX_GATEWAY_MAX_URLS 8

/**
 * Creates a client for url (http:// or https://, or several comma-separated: the same Gateway — one
 * database, one wallet — behind several URLs; a transport failure or a 5xx moves the client to the next,
 * and the request is retried there, every Runner request being idempotent; tls: its CA and the Runner's client certificate, which a
 * Gateway's Runner endpoints require under mutual TLS — NULL for none); timeout_ms 0 = 10000. Keeps a copy
 * of wallet, of signing and of tls. NOX_ERR_INVALID for a lifetime longer than a Gateway accepts.
 */
nox_status nox_gateway_client_new(const char *url, const nox_tls_client *tls, const nox_ec_privkey *wallet, const nox_gateway_signing *signing,
                                  unsigned timeout_ms, nox_gateway_client **out, nox_error *err);
void nox_gateway_client_free(nox_gateway_client *c);
/**
 * The requester's key pair (the rsaPublicKey of the operand requests), which opens the KMS nodes' envelopes;
 * required before fetching operands (borrowed: it must outlive the client). bad_partials (may be NULL):
 * NOX_TH_MAX_NODES counters, [i-1] counting the operands whose partial from KMS node i failed its DLEQ proof.
 * Such a node is logged, left out of the operand's combination when enough others answered, and excluded
 * from the next requests for NOX_GATEWAY_BAD_NODE_S seconds ("excludeNodes").
 */
#define NOX_GATEWAY_BAD_NODE_S 60
struct nox_rsa_key;
struct nox_counter;
void nox_gateway_client_set_requester(nox_gateway_client *c, const struct nox_rsa_key *rsa,
                                      struct nox_counter *const *bad_partials);

struct nox_attest_provider;
/**
 * For a Gateway that requires attestation (docs/PROTOCOL-EXTENSIONS.md §12): quotes from p (borrowed: it
 * must outlive the client) over nox_attest_report_data(this client's wallet, the key of cert_file, the
 * client certificate of gateway_tls). A request answered 401 attestation_required makes the client present
 * a fresh quote to that Gateway URL and send the request once more.
 */
nox_status nox_gateway_client_set_attestation(nox_gateway_client *c, struct nox_attest_provider *p,
                                              const char *cert_file, nox_error *err);
/** Presents a quote to every Gateway URL now (at start); the first failure is returned, each is logged. */
nox_status nox_gateway_client_attest(nox_gateway_client *c, nox_error *err);
/** Quotes the Gateways accepted so far. */
uint64_t nox_gateway_client_attestations(const nox_gateway_client *c);

/** How many times the client moved to another Gateway URL. */
uint64_t nox_gateway_client_failovers(const nox_gateway_client *c);
/** scheme://host[:port] (safe to log). */
const char *nox_gateway_client_display_url(const nox_gateway_client *c);

/**
 * Operands per GET /v0/compute/operands: the Gateway's own limit. The whole
 * list travels base64-encoded in the Authorization header (about 92 bytes a
 * handle), so a full request is about 96 KiB: the Gateway's `max_header`
 * (default 128 KiB) must hold it.
 */
#define NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST 1024u

/** Transactions per POST /v0/compute/operands/batch (docs/PROTOCOL-EXTENSIONS.md §4): the Gateway's limit. */
#define NOX_GATEWAY_MAX_BATCH 64u

/**
 * GET /v0/compute/operands for handles[0..n); out[i] receives handle i.
 * rsa_spki_hex: the Runner's key. One request when n <= NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST
 * (every message of 341 events or fewer), else one per that many handles.
 */
nox_status nox_gateway_fetch_operands(nox_gateway_client *c, const nox_gateway_tx *tx, const nox_handle *handles,
                                      size_t n, const char *rsa_spki_hex, nox_gateway_operand *out,
                                      nox_gateway_fault *fault, nox_error *err);

/** Longest failure reason the Gateway accepts, in characters. */
#define NOX_GATEWAY_MAX_REASON 256

/**
 * An operand the Gateway will never serve because it has a failure record (400 "operand_failed",
 * docs/PROTOCOL-EXTENSIONS.md §3): its position in the request and the record's reason.
 */
typedef struct nox_gateway_failed_operand {
    size_t index;                            /**< in the request's handles */
    char reason[NOX_GATEWAY_MAX_REASON + 4]; /**< printable ASCII, cut ("...") at NOX_GATEWAY_MAX_REASON */
} nox_gateway_failed_operand;

/** One transaction's operand request in a batch: inputs, output, and its own outcome. */
typedef struct nox_gateway_fetch {
    /* in */
    nox_gateway_tx tx;
    const nox_handle *handles;
    size_t n;
    nox_gateway_operand *out;           /**< n entries */
    nox_gateway_failed_operand *failed; /**< room for n entries, or NULL: failed operands are not listed */
    /* out */
    nox_status status;       /**< as nox_gateway_fetch_operands would return for this request alone */
    nox_gateway_fault fault; /**< on NOX_ERR_REMOTE (and a 5xx) */
    nox_error error;
    /**
     * With status NOX_ERR_REMOTE and fault.code "operand_failed": failed[0..n_failed) are the operands
     * of the request that have a failure record, in request order, each index once — every one the
     * answer's `failed` list names, or, from a Gateway that sends no list, the one its message names.
     * 0 otherwise, and when no operand can be identified (then treat it as any other refusal).
     */
    size_t n_failed;
} nox_gateway_fetch;

/**
 * The operand requests of several transactions (reqs[0..n), one Runner key) in POST
 * /v0/compute/operands/batch exchanges (docs/PROTOCOL-EXTENSIONS.md §4) of up to
 * NOX_GATEWAY_MAX_BATCH consecutive requests of one chain, NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST
 * operands in all; a request with more operands goes alone, in exchanges of that many operands,
 * whose answers make one (an error other than not_found / operand_failed first, then operand_failed
 * with the failed operands of every part, then not_found). Each request gets its own status
 * (NOX_ERR_NOT_FOUND for operands not stored yet, NOX_ERR_REMOTE with its fault and, for
 * operand_failed, its failed operands, ...); a failed exchange (transport, 5xx, 401) is the status of
 * every request in it. A Gateway that answers 404 (no batch endpoint) is asked one request at a time
 * (GET /v0/compute/operands) from then on. Returns the first failed batch exchange's status, NOX_OK
 * when every batch exchange was answered (check each request's status).
 */
nox_status nox_gateway_fetch_operands_batch(nox_gateway_client *c, nox_gateway_fetch *reqs, size_t n,
                                            const char *rsa_spki_hex, nox_error *err);

/** POST /v0/compute/results with results[0..n) in one call. */
nox_status nox_gateway_post_results(nox_gateway_client *c, const nox_gateway_tx *tx,
                                    const nox_gateway_result *results, size_t n, nox_gateway_counts *counts,
                                    nox_gateway_fault *fault, nox_error *err);

/** Results per POST /v0/compute/results (and in all per batch): the Gateway's own limit. */
#define NOX_GATEWAY_MAX_RESULTS_PER_REQUEST 1024u

/** One transaction's result set in a batch: inputs, and its own outcome. */
typedef struct nox_gateway_publish {
    /* in */
    nox_gateway_tx tx;
    const nox_gateway_result *results;
    size_t n;
    /* out */
    nox_gateway_counts counts;
    nox_status status;       /**< as nox_gateway_post_results would return for this set alone */
    nox_gateway_fault fault; /**< on NOX_ERR_REMOTE (and a 5xx) */
    nox_error error;
} nox_gateway_publish;

/**
 * The result sets of several transactions (reqs[0..n)) in POST /v0/compute/results/batch exchanges
 * (docs/PROTOCOL-EXTENSIONS.md §4) of up to NOX_GATEWAY_MAX_BATCH consecutive sets,
 * NOX_GATEWAY_MAX_RESULTS_PER_REQUEST results in all; each set is still stored in its own database
 * transaction and gets its own counts and status. A failed exchange (transport, 5xx, 401) is the
 * status of every set in it; a Gateway that answers 404 is sent one set at a time from then on.
 * Returns the first failed exchange's status, NOX_OK when every exchange was answered.
 */
nox_status nox_gateway_post_results_batch(nox_gateway_client *c, nox_gateway_publish *reqs, size_t n,
                                          nox_error *err);

/** One failure record: a result handle that will never be stored, and why. */
typedef struct nox_gateway_failure {
    nox_handle handle;
    const char *reason; /**< sent as printable ASCII (other bytes become '?'), cut at NOX_GATEWAY_MAX_REASON */
} nox_gateway_failure;

/** Failure records per POST /v0/compute/failures: the Gateway's own limit. */
#define NOX_GATEWAY_MAX_FAILURES_PER_REQUEST 1024u

/**
 * POST /v0/compute/failures (docs/PROTOCOL-EXTENSIONS.md) with failures[0..n), in requests of at
 * most NOX_GATEWAY_MAX_FAILURES_PER_REQUEST, each authorized by a FailureRecordingAuthorization for tx
 * over its records. *recorded (may be NULL) receives the sum of the answers' `recorded`. Reasons must
 * never hold a plaintext.
 */
nox_status nox_gateway_post_failures(nox_gateway_client *c, const nox_gateway_tx *tx,
                                     const nox_gateway_failure *failures, size_t n, uint64_t *recorded,
                                     nox_gateway_fault *fault, nox_error *err);

/** GET <path> (e.g. "/health"): NOX_OK on a 2xx. */
nox_status nox_gateway_ping(nox_gateway_client *c, const char *path, nox_error *err);

#ifdef __cplusplus
}
#endif
#endif /* NOX_GATEWAY_CLIENT_H */
