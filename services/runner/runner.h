/* nox-runner: shared declarations (configuration, state, pipeline, JetStream consumer). */
#ifndef NOX_RUNNER_H
#define NOX_RUNNER_H
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/engine.h"
#include "nox/error.h"
#include "nox/gateway_client.h"
#include "nox/threshold.h"
#include "nox/http_server.h"
#include "nox/kms_client.h"
#include "nox/queue_signature.h"
#include "nox/rsa.h"

/** Ingestor wallets a Runner may trust at most (ingestor_addresses). */
#define RUN_MAX_INGESTORS 16

typedef struct run_config {
    char nats_url[2048], stream[128], consumer[128], dead_subject[128]; /* nats_url: nats.url or urls, comma-separated */
    uint64_t replicas;           /* nats.replicas of the nox_dead stream it creates when missing */
    char nats_credentials[1024]; /* nats.credentials_file: the NATS user nkey seed (nox/nkey.h) */
    nox_tls_client nats_tls;     /* nats.tls: the servers' CA and this Runner's client certificate */
    nox_tls_client gateway_tls;  /* gateway_tls: the Gateway's CA and this Runner's client certificate */
    nox_tls_client kms_tls;      /* kms_tls: the KMS's CA */
    nox_tls_server tls;          /* tls of the /health and /metrics listener */
    uint64_t ack_wait_s, max_deliver, max_ack_pending, fetch_batch;
    char gateway_url[4096], kms_url[512]; /* gateway_url: gateway_url, or gateway_urls comma-separated */
    uint8_t kms_address[NOX_ADDRESS_SIZE];
    char kms_group_file[1024]; /* a threshold KMS: results are encrypted to its group's key (no KMS call); "" = kms_url */
    uint8_t gateway_address[NOX_ADDRESS_SIZE]; /* named by its authorizations (docs/PROTOCOL-EXTENSIONS.md §7) */
    uint64_t authorization_lifetime_s;         /* expiresAt = signing time + this */
    char wallet_key_file[1024], operators[1024];
    /* the Ingestor wallets whose signatures the Runner accepts on queue messages (docs/PROTOCOL-EXTENSIONS.md §8) */
    uint8_t ingestors[RUN_MAX_INGESTORS][NOX_ADDRESS_SIZE];
    size_t n_ingestors;
    uint64_t operand_wait_s; /* how long a message may wait for an operand before it is dead-lettered */
    uint64_t workers;
    char listen[128];
    char metrics_listen[64];   /* metrics_listen: /metrics on a listener of its own ("" = none) */
    int log_level;
    int log_json;               /* log_format: json (one JSON object per line) */
    char attestation_provider[1024]; /* attestation.provider: quotes for a Gateway that requires them; "" = none */
    char attestation_config[4096];   /* attestation.config: its configuration text */
} run_config;

nox_status run_config_load(const char *path, run_config *cfg, nox_error *err);

enum { RUN_STAGES = 5 }; /* fetch, decrypt, eval, encrypt, publish */

/*
 * The outcome of one message:
 *   RUN_OK       every result stored (and the failure records of a failure notice's handles posted);
 *   RUN_PARTIAL  some events could not be computed: the message's other results are stored and a
 *                failure record is posted for each output of those events and of the events that
 *                consume them (the reason summarises them); the message is then dead-lettered for
 *                inspection and replay, and acked;
 *   RUN_WAIT     an operand is not stored yet (its transaction is still in flight): nothing stored;
 *   RUN_RETRY    another transient failure: nothing more is stored (a retry recomputes, and what an
 *                earlier attempt stored is answered "unchanged");
 *   RUN_DEAD     the message as a whole can never be processed (it does not parse, a Gateway refusal of
 *                the whole request, ...).
 */
enum run_outcome { RUN_OK, RUN_PARTIAL, RUN_WAIT, RUN_RETRY, RUN_DEAD };

/* Why an event could not be computed (the label of nox_runner_failed_events_<cause>_total). */
enum run_cause {
    RUN_CAUSE_UNKNOWN_OPERATOR, /* unknown operator or id: not enabled in this Runner's operators.yaml */
    RUN_CAUSE_NAME_MISMATCH,    /* a generic event's type is not the engine's name for its id */
    RUN_CAUSE_TYPE_ERROR,       /* nox_op_resolve refused the operand / declared output types */
    RUN_CAUSE_UNSUPPORTED_TYPE, /* plaintext_to_encrypted of a type the Runner cannot encode */
    RUN_CAUSE_PLUGIN_ERROR,     /* the plugin misbehaved (nox_call_eval) */
    RUN_CAUSE_FAILED_OPERAND,   /* consumes a handle that has a failure record (or a failure notice's) */
    RUN_CAUSE_DEPENDENCY,       /* consumes an output of a failed event of the same message */
    RUN_CAUSE_MESSAGE,          /* its whole message was dead-lettered (e.g. an operand never stored) */
    RUN_CAUSES
};

/* The metric label of each cause ("unknown_operator", ...). */
extern const char *const run_cause_names[RUN_CAUSES];

typedef struct run_metrics {
    nox_counter *ok, *waited, *retried, *dead, *redeliveries;
    nox_counter **events_by_op; /* indexed by engine op position */
    nox_counter *failed_events[RUN_CAUSES]; /* events whose outputs were recorded failed, by cause */
    nox_counter *rejected[NOX_QUEUE_VERDICTS]; /* messages refused before any work, by verdict ([0] unused) */
    nox_counter *results_created, *results_unchanged, *results_conflicted; /* the Gateway's answers per result */
    nox_counter *bad_partials[NOX_TH_MAX_NODES]; /* operands whose partial from KMS node i+1 failed its DLEQ proof */
    nox_histogram *stage[RUN_STAGES];
    nox_gauge *in_flight;
} run_metrics;

typedef struct run_state {
    run_config cfg;
    nox_engine *engine;
    nox_rsa_key *rsa;
    char rsa_spki_hex[1200];
    nox_ec_privkey wallet;
    pthread_mutex_t kms_mu; /* guards the KMS key cache */
    nox_ec_pubkey kms_key;
    uint32_t kms_chain; /* chain of kms_key, 0 = none yet */
    nox_gateway_client *gw;
    struct nox_attest_provider *attest; /* attestation.provider, loaded (NULL when none) */
    nox_kms_client *kms;
    run_metrics m;
    atomic_int stop, gateway_ok, kms_ok, in_flight; /* health: the last probes */
    atomic_int stream_ok;        /* the work stream has a leader (or does not exist yet): nox_nats_stream_ready */
    atomic_int nats_ready;       /* nc and js are set (the health check reads them only then) */
    char stream_why[256];        /* why not, for /health (written by the prober under its lock) */
    natsConnection *nc;
    jsCtx *js;
} run_state;

/* Processes one TransactionMessage (see enum run_outcome); reason filled unless RUN_OK. */
enum run_outcome run_process(run_state *st, const char *data, size_t len, char *reason, size_t cap);

enum { RUN_REASON_MAX = 512 };

/*
 * Processes messages data[i] (lens[i] bytes), i < n, as run_process would each, but with the operand
 * requests and the result sets of all of them in batched Gateway exchanges (docs/PROTOCOL-EXTENSIONS.md
 * §4): outcomes[i] and reasons[i] are message i's.
 */
void run_process_batch(run_state *st, const char *const *data, const size_t *lens, size_t n,
                       enum run_outcome *outcomes, char (*reasons)[RUN_REASON_MAX]);

/*
 * Before a message is dead-lettered as a whole (RUN_DEAD, or given up on): when it parses, records a
 * failure at the Gateway (POST /v0/compute/failures) for every output handle of the message — with its
 * event's own reason when the event itself cannot be computed, else `reason` — and for the handles of
 * its failure notice, so that GET /v0/handles/{h}/status answers "failed" instead of "pending" forever.
 * A failure to record is logged (WARN) and otherwise ignored: the dead letter goes out anyway.
 */
void run_report_failures(run_state *st, const char *data, size_t len, const char *reason);

/* The KMS public key for chain_id (fetched and proof-checked once per chain); NOX_ERR_IO etc. from the KMS. */
nox_status run_kms_key(run_state *st, uint32_t chain_id, nox_ec_pubkey *out, nox_error *err);

/*
 * Checks a delivered message's signature before anything else is done with it (docs/PROTOCOL-EXTENSIONS.md
 * §8): the Nox-Signature and Nox-Signer headers (each exactly once), the signer among ingestor_addresses,
 * then the signature over the stream that stored it (JetStream metadata), its subject, its Nox-Dead-Reason
 * (none on a work message) and its body, under the chain id of the body. NOX_QUEUE_OK, or the verdict with
 * why[] saying what is wrong (never the body).
 */
nox_queue_verdict run_authenticate(const run_state *st, natsMsg *m, char *why, size_t cap);

/* JetStream: connect, ensure the consumer and the dead-letter stream, run the workers until stop. */
nox_status run_nats_start(run_state *st, nox_error *err);
void run_nats_wait(run_state *st);
void run_nats_close(run_state *st);

#endif
