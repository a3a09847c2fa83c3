/* nox-kms: configuration and request handling (main.c wires them to the HTTP server). */
#ifndef NOX_KMS_H
#define NOX_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "nox/delegation.h"
#include "nox/ec.h"
#include "nox/error.h"
#include "nox/service.h"
#include "nox/http_server.h"
#include "nox/rsa_cache.h"
#include "nox/threshold.h"

/** One chain the KMS serves. */
typedef struct kms_chain {
    uint32_t chain_id;
    uint8_t gateway[NOX_ADDRESS_SIZE]; /* the only signer allowed to delegate on this chain */
    char *public_key_json;             /* the precomputed GET /v0/public-key answer */
} kms_chain;

/** config/kms.yaml */
typedef struct kms_config {
    char listen[64];
    char metrics_listen[64];   /* metrics_listen: /metrics on a listener of its own ("" = none) */
    nox_tls_server tls;         /* tls: with client_ca_file, delegation needs the Gateway's client certificate */
    char key_file[4096];        /* the protocol secp256k1 key, or this node's share of it (group_file) */
    char group_file[4096];      /* the threshold group (docs/PROTOCOL-EXTENSIONS.md §11); "" = single key, a 1-of-1 group */
    char wallet_key_file[4096]; /* signs PublicKeyProof */
    int create_if_missing;      /* create a missing key file at start (default false: keygen makes them) */
    nox_service_http_limits http; /* threads, limits, timeouts */
    int log_level;
    int log_json;               /* log_format: json (one JSON object per line) */
    size_t n_chains;
    kms_chain *chains;
} kms_config;

/** Loads and validates the configuration; errors carry file:line:col. */
nox_status kms_config_load(const char *path, kms_config *cfg, nox_error *err);
void kms_config_free(kms_config *cfg);

/* A node seals a requester's envelopes under one key for this long (the requester keeps it twice as long). */
enum { KMS_ENVELOPE_KEY_TTL_S = 60, KMS_ENVELOPE_KEYS = 256 };

/** What the handlers share (read-only while serving). */
typedef struct kms_state {
    kms_config cfg;
    nox_ec_privkey key;         /* protocol key, or this node's share of it: performs the delegation ECDH */
    nox_th_group group;         /* the group (1-of-1 for a single key) */
    unsigned index;             /* this node's index in it */
    char *group_json;           /* GET /v0/group */
    nox_ec_privkey wallet;      /* signs the public-key proof */
    uint8_t public_key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
    nox_histogram *delegation_seconds, *batch_seconds, *partials_seconds;
    nox_rsa_cache *target_keys; /* parsed requester keys: a Runner sends the same one every time */
    nox_envelope_keys *envelope_keys; /* one envelope key per requester for KMS_ENVELOPE_KEY_TTL_S (nox/delegation.h) */
} kms_state;

/** Precomputes each chain's public-key answer (the proof is deterministic). */
nox_status kms_prepare_public_keys(kms_state *st, nox_error *err);

/** GET /v0/public-key?chainId=N (spec §8). */
void kms_handle_public_key(void *state, const nox_http_request *req, nox_http_response *resp);

/** POST /v0/delegate?chainId=N (spec §8). */
void kms_handle_delegate(void *state, const nox_http_request *req, nox_http_response *resp);

/** Most delegations in one POST /v0/delegate/batch. */
enum { KMS_MAX_BATCH = 1024 };

/** POST /v0/delegate/batch?chainId=N (docs/PROTOCOL-EXTENSIONS.md §4). */
void kms_handle_delegate_batch(void *state, const nox_http_request *req, nox_http_response *resp);

/** POST /v0/delegate/partials?chainId=N (docs/PROTOCOL-EXTENSIONS.md §11). */
void kms_handle_delegate_partials(void *state, const nox_http_request *req, nox_http_response *resp);

/** GET /v0/group (docs/PROTOCOL-EXTENSIONS.md §11). */
void kms_handle_group(void *state, const nox_http_request *req, nox_http_response *resp);

#endif
