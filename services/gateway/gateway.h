/* nox-gateway: configuration, shared state and request handlers (main.c wires them to the HTTP server). */
#ifndef NOX_GATEWAY_H
#define NOX_GATEWAY_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/attestation.h"
#include "nox/config.h"
#include "nox/ec.h"
#include "nox/error.h"
#include "nox/service.h"
#include "nox/http_server.h"
#include "nox/kms_client.h"
#include "nox/kms_group.h"
#include "nox/rpc.h"
#include "store.h"

/**
 * NoxCompute.kmsPublicKey() against the KMS key the Gateway encrypts inputs to (gw_chain.kms_check): inputs are
 * encrypted only in GW_KMS_MATCH, so never to a key the chain does not know. Checked at start (a mismatch stops
 * start-up) and every GW_CHAIN_CHECK_INTERVAL_S seconds after (main.c).
 */
enum { GW_KMS_UNCHECKED = 0, GW_KMS_MATCH = 1, GW_KMS_MISMATCH = 2 };
#define GW_CHAIN_CHECK_INTERVAL_S 5

/** One chain the Gateway serves. */
typedef struct gw_chain {
    uint32_t chain_id;
    char rpc_url[1024];
    nox_tls_client rpc_tls;     /* rpc_tls: the node's CA (and a client certificate) for an https:// rpc_url */
    uint8_t nox_compute[NOX_ADDRESS_SIZE];
    nox_rpc *rpc;                                           /* the start-up cross-check */
    nox_rpc_pool *viewers;                                  /* isViewer eth_calls: viewer_rpc_connections */
    uint8_t kms_public_key[NOX_EC_PUBKEY_COMPRESSED_SIZE]; /* fetched and proof-checked at start */
    nox_ec_pubkey kms_key;
    _Atomic int kms_check;      /* GW_KMS_*: whether NoxCompute holds kms_public_key (POST /v0/secrets needs MATCH) */
    char kms_check_reason[512]; /* why not GW_KMS_MATCH (no secret); read and written under gw_state.check_lock */
    int gateway_check;          /* the checker's last NoxCompute.gateway() verdict (1, 0, -1 unknown), to log changes */
} gw_chain;

/** A TD's measurements the Gateway accepts (gateway.yaml attestation.measurements[]). */
typedef struct gw_measurement {
    uint8_t mrtd[NOX_ATTESTATION_MEASUREMENT_SIZE];
    uint8_t rtmr[NOX_ATTESTATION_RTMRS][NOX_ATTESTATION_MEASUREMENT_SIZE];
} gw_measurement;

/** gateway.yaml `attestation` (attestation_config.c): when set, every Runner endpoint needs an attested Runner. */
typedef struct gw_attestation_config {
    char verifier[4096];   /* the verifier plugin (nox/attestation.h); "" = attestation off */
    char config[4096];     /* its configuration text */
    size_t n_measurements;
    gw_measurement *measurements;
} gw_attestation_config;

/** config/gateway.yaml */
typedef struct gw_config {
    char listen[64];
    char metrics_listen[64];   /* metrics_listen: /metrics on a listener of its own ("" = none) */
    nox_tls_server tls;    /* tls; with client_ca_file, the Runner endpoints need a Runner's client certificate */
    char database_url[1024];
    char kms_url[1024];
    nox_tls_client kms_tls; /* kms_tls: the KMS's CA and this Gateway's client certificate (the KMS's mutual TLS) */
    uint8_t kms_address[NOX_ADDRESS_SIZE];
    char kms_group_file[4096];  /* a threshold KMS (docs/PROTOCOL-EXTENSIONS.md §11); "" = the single key of kms_url */
    struct {
        unsigned index;
        char url[1024];
    } kms_nodes[NOX_TH_MAX_NODES];
    size_t n_kms_nodes;
    unsigned kms_hedge_ms;      /* ask more nodes when t have not answered by then (0: the client's default) */
    char wallet_key_file[4096];
    int create_if_missing; /* create a missing wallet_key_file at start (default false: noxctl key new makes it) */
    size_t n_runners;
    uint8_t (*runners)[NOX_ADDRESS_SIZE];
    int accept_legacy_authorizations; /* the spec §4.4 Runner forms too (docs/PROTOCOL-EXTENSIONS.md §7) */
    uint32_t default_chain_id;
    nox_service_http_limits http; /* threads (also the PostgreSQL pool), limits, timeouts */
    int log_level;
    int log_json;               /* log_format: json (one JSON object per line) */
    unsigned viewer_rpc_connections; /* isViewer calls in flight per chain, below threads */
    unsigned viewer_timeout_ms;      /* bound of one isViewer call (503 past it) */
    size_t n_chains;
    gw_chain *chains;
    uint32_t *chain_ids; /* chains[i].chain_id, for nox_handle_validate */
    gw_attestation_config attestation;
} gw_config;

nox_status gw_config_load(const char *path, gw_config *cfg, nox_error *err);
void gw_config_free(gw_config *cfg);

/** What the handlers share (read-only while serving, except the thread-safe clients). */
typedef struct gw_state {
    gw_config cfg;
    nox_ec_privkey wallet; /* signs HandleProofs and KMS delegation requests */
    uint8_t address[NOX_ADDRESS_SIZE]; /* the wallet's: verifyingContract of the Runners' domain, version 2 */
    /* bound Runner authorizations (docs/PROTOCOL-EXTENSIONS.md §7); NULL counters count nothing */
    nox_counter *legacy_accepted, *legacy_refused, *window_refused, *content_refused;
    gw_store *store;
    nox_kms_group_client *kms;  /* the group (1-of-1 for a single key: the same path) */
    pthread_mutex_t check_lock; /* guards gw_chain.kms_check_reason */
    struct gw_attestation *attestation; /* attestation.c; NULL when gateway.yaml has none */
} gw_state;

/* ---- attestation.c, attestation_config.c: Runners in attested TEEs (docs/PROTOCOL-EXTENSIONS.md §12) ---- */

/** The error code of a Runner request refused for want of a valid attestation (401). */
#define GW_ATTESTATION_REQUIRED "attestation_required"

/** Reads gateway.yaml's optional `attestation` map into cfg->attestation (file:line:col errors). */
nox_status gw_attestation_load_config(const nox_cfg_doc *doc, const nox_cfg_node *root, gw_config *cfg, nox_error *err);
void gw_attestation_config_free(gw_attestation_config *c);
/** With attestation configured: loads the verifier, registers POST /v0/compute/attestation and the metrics. */
nox_status gw_attestation_start(gw_state *st, nox_http_server *server, nox_error *err);
void gw_attestation_stop(gw_state *st);
/**
 * Whether configured Runner `runner` (its index in runner_addresses) may be served on this request's
 * connection: 1 when attestation is off, or when the Runner presented a quote that is still valid over a
 * connection with the same client-certificate key; else 0 after answering 401 attestation_required.
 */
int gw_attestation_check(gw_state *st, const nox_http_request *req, size_t runner, nox_http_response *resp);

/**
 * Whether inputs of chain c may be encrypted to its KMS key now (NoxCompute holds that key): 1, or 0 after
 * answering 503 {"error": "kms_key_mismatch" or "kms_key_unchecked", "message": why}.
 */
int gw_kms_key_usable(gw_state *st, const gw_chain *c, nox_http_response *resp);

/** The configured chain `id`, or NULL. */
gw_chain *gw_chain_of(const gw_state *st, uint64_t id);

/* ---- auth.c: "Authorization: EIP712 <base64(JSON)>" -------------------------- */

/**
 * Decodes the request's Authorization header into its JSON object {payload, signature}:
 * on success *payload is the payload object (owned by *doc, json_decref(*doc) when done)
 * and sig holds the 65 signature bytes. Returns 0 after answering 401.
 */
int gw_auth_decode(const nox_http_request *req, nox_http_response *resp, json_t **doc, json_t **payload,
                   uint8_t sig[NOX_EC_SIGNATURE_SIZE]);

/** The {payload, signature} object j (borrowed) checked as gw_auth_decode does; 0 after answering 401. */
int gw_auth_parts(json_t *j, json_t **payload, uint8_t sig[NOX_EC_SIGNATURE_SIZE], nox_http_response *resp);

/** A string member of obj, refused when absent, not a string or holding a NUL; NULL after answering `status`. */
const char *gw_json_string(json_t *obj, const char *name, unsigned status, const char *code, nox_http_response *resp);

/** An unsigned integer member (JSON integer >= 0); 0 after answering `status`. */
int gw_json_uint(json_t *obj, const char *name, unsigned status, const char *code, nox_http_response *resp,
                 uint64_t *out);

/** A 20-byte address member; 0 after answering `status`. */
int gw_json_address(json_t *obj, const char *name, unsigned status, const char *code, nox_http_response *resp,
                    uint8_t out[NOX_ADDRESS_SIZE]);


/**
 * Answers a KMS failure: 400 when the KMS refused the requester's key, 503 kms_unavailable when fewer than t
 * nodes answered (naming them), else 502 kms.
 */
void gw_respond_kms_error(nox_http_response *resp, nox_status s, const nox_kms_fault *fault, const nox_error *err);

/**
 * The partials of eph[0..m) from t nodes of the KMS group, sealed to `target` (docs/PROTOCOL-EXTENSIONS.md
 * §11), skipping the nodes in `exclude`: on NOX_OK *delegations is the JSON array
 * [{"node", "verificationKey", "wrappedKey", "iv", "ciphertext"}, …] (a new reference). The envelopes are
 * opaque here: the Gateway never holds a partial in clear. Errors as nox_kms_group_partials.
 */
nox_status gw_kms_partials(gw_state *st, uint32_t chain_id, const char *const *eph, size_t m, const char *target,
                           uint64_t exclude, json_t **delegations, nox_kms_fault *fault, nox_error *err);

/** Sets "threshold" and "delegations" (borrowed) on obj; 0 when out of memory. */
int gw_add_delegations(json_t *obj, const gw_state *st, json_t *delegations);

/* ---- routes ---------------------------------------------------------------- */
void gw_handle_post_secret(void *state, const nox_http_request *req, nox_http_response *resp);
void gw_handle_get_secret(void *state, const nox_http_request *req, nox_http_response *resp);
void gw_handle_status(void *state, const nox_http_request *req, nox_http_response *resp);
void gw_handle_operands(void *state, const nox_http_request *req, nox_http_response *resp);
void gw_handle_operands_batch(void *state, const nox_http_request *req, nox_http_response *resp);
void gw_handle_results(void *state, const nox_http_request *req, nox_http_response *resp);
void gw_handle_results_batch(void *state, const nox_http_request *req, nox_http_response *resp);
void gw_handle_failures(void *state, const nox_http_request *req, nox_http_response *resp);

#endif
