/*
 * nox-ingestor: NoxCompute events -> one JetStream message per transaction
 * (spec §6, §9). main.c wires the pieces: configuration (ingestor_config.c),
 * the checkpoint file (checkpoint.c), JetStream (publisher.c), the polling
 * loop (ingest_loop.c), backoff and outage logging (backoff.c).
 */
#ifndef NOX_INGESTOR_H
#define NOX_INGESTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/engine.h"
#include "nox/events.h"
#include "nox/error.h"
#include "nox/http_server.h"
#include "nox/rpc.h"

/* ---- configuration (config/ingestor.yaml) -------------------------------------------------- */

/** The dead-letter stream and subject prefix (spec §6): fixed by the protocol. */
#define ING_DEAD_STREAM "nox_dead"
#define ING_DEAD_SUBJECT "nox_dead"

typedef struct ing_config {
    char rpc_url[2048];
    uint32_t chain_id;
    uint8_t nox_compute[NOX_ADDRESS_SIZE];
    uint64_t start_block;       /* first block to scan when there is no checkpoint */
    uint64_t confirmations;     /* blocks kept between the head and what is processed */
    uint64_t poll_interval_ms;
    uint64_t max_block_range;   /* blocks per eth_getLogs */
    char state_file[4096];      /* the checkpoint */
    char nats_url[2048];         /* nats.url, or nats.urls comma-separated (nats.c's form) */
    uint64_t replicas;           /* nats.replicas: of the streams it creates, and checked on those it finds */
    char nats_credentials[4096]; /* nats.credentials_file: the NATS user nkey seed (nox/nkey.h) */
    nox_tls_client nats_tls;     /* nats.tls: the servers' CA and this Ingestor's client certificate */
    nox_tls_client rpc_tls;      /* rpc_tls: for an https:// rpc_url */
    nox_tls_server tls;          /* tls of the /health and /metrics listener */
    char stream[64];            /* default nox_ingestor */
    char subject[128];          /* subject prefix; messages go to <subject>.<txHash>, default nox_ingestor */
    char listen[64];            /* /health and /metrics */
    char metrics_listen[64];   /* metrics_listen: /metrics on a listener of its own ("" = none) */
    char operators[4096];       /* optional operators.yaml naming generic (Compute) events; "" = none */
    char wallet_key_file[4096]; /* the wallet that signs every published message (docs/PROTOCOL-EXTENSIONS.md §8) */
    int log_level;
    int log_json;               /* log_format: json (one JSON object per line) */
} ing_config;

/** Loads and validates the configuration; errors carry file:line:col. */
nox_status ing_config_load(const char *path, ing_config *cfg, nox_error *err);

/* ---- checkpoint (the state file) ----------------------------------------------------------- */

/** The last block whose messages are all published (acked), with its hash. */
typedef struct ing_checkpoint {
    int present;                /* 0: nothing published yet, start at start_block */
    uint64_t block_number;
    uint8_t block_hash[32];
} ing_checkpoint;

/**
 * Reads the state file. A missing file gives cp->present = 0 and NOX_OK. A
 * file that does not parse, or that belongs to another chain or NoxCompute
 * address, is NOX_ERR_CONFIG with what to do; a read error NOX_ERR_IO.
 */
nox_status ing_checkpoint_load(const char *path, uint32_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE],
                               ing_checkpoint *cp, nox_error *err);

/**
 * Creates the state file's directory when missing and checks that files can
 * be written there, so that a wrong path stops start-up instead of the first
 * checkpoint. NOX_ERR_IO with the reason.
 */
nox_status ing_checkpoint_prepare(const char *path, nox_error *err);

/**
 * Writes the state file atomically: a temporary file in the same directory,
 * fsync, rename over the old one, fsync of the directory. NOX_ERR_IO on failure
 * (the old file is then intact).
 */
nox_status ing_checkpoint_save(const char *path, uint32_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE],
                               const ing_checkpoint *cp, nox_error *err);

/* ---- JetStream ------------------------------------------------------------------------------ */

typedef struct ing_nats ing_nats; /* opaque: the connection and its JetStream context */

/**
 * A publisher for cfg (not connected yet) that signs every message with wallet (kept by reference: it
 * must outlive the publisher). NOX_ERR_NOMEM when out of memory.
 */
nox_status ing_nats_new(const ing_config *cfg, const nox_ec_privkey *wallet, ing_nats **out, nox_error *err);

/**
 * Connects when not connected, and checks both streams (creating them when
 * missing) when they have not been checked since the last failure. Returns
 * NOX_OK; NOX_ERR_IO when NATS or JetStream does not answer (retry later);
 * NOX_ERR_CONFIG when a stream exists with a configuration that contradicts
 * spec §6 (the message says which setting and how to fix it).
 */
nox_status ing_nats_ready(ing_nats *n, nox_error *err);

/**
 * 1 when the connection is up (natsConnection_Status), the streams were
 * checked since the last failure, and the work stream had a leader at the
 * loop's last check (once a second), else 0 with the reason in why.
 * Thread-safe: the health check calls it while the loop uses the publisher.
 */
int ing_nats_healthy(ing_nats *n, char *why, size_t cap);

/** Header bytes a signed publish adds at most (NATS/1.0 line, Nats-Msg-Id, Nox-Signature, Nox-Signer, the blank
 * line; Nox-Dead-Reason not included): what a message sized to max_payload must leave room for. */
#define ING_SIGNED_HEADERS_MAX 512

/**
 * Publishes data to `subject` in `stream` with header Nats-Msg-Id = msg_id
 * (and Nox-Dead-Reason = dead_reason when not NULL, made a safe header value
 * by nox_queue_header_text), signed with the publisher's wallet (headers
 * Nox-Signature and Nox-Signer over stream, subject, that reason and data:
 * docs/PROTOCOL-EXTENSIONS.md §8), and waits for the stream's ack; the
 * publish names `stream` as the one expected to store it, so the stream
 * signed is the stream that stores it. *duplicate is set to 1 when JetStream already had a message
 * with that id (the publish is then a no-op). NOX_ERR_INVALID when the
 * message is refused for good, whatever the retries: larger than the
 * server's max_payload, or than the stream's max message size;
 * NOX_ERR_IO on any other failure (the publish may be retried: the id
 * makes it idempotent); NOX_ERR_CONFIG when the ack comes from another stream.
 */
nox_status ing_nats_publish(ing_nats *n, const char *stream, const char *subject, const char *msg_id,
                            const char *dead_reason, const char *data, size_t len, int *duplicate, nox_error *err);

/** The server's max_payload (bytes) of the current connection, or 1 MiB (NATS's default) when not connected. */
int64_t ing_nats_max_payload(ing_nats *n);

/** Closes the connection and frees the publisher (NULL is fine). */
void ing_nats_free(ing_nats *n);

/** Releases the NATS library's global resources; call once at exit, after ing_nats_free. */
void ing_nats_shutdown(void);

/* ---- backoff and outage logging ---------------------------------------------------------- */

/** Capped exponential backoff: 200 ms, 400 ms, ... 30 s. */
typedef struct ing_backoff {
    unsigned next_ms;
} ing_backoff;

/** The delay to wait now (and doubles the next one, up to the cap). */
unsigned ing_backoff_next(ing_backoff *b);
/** Back to the first delay. */
void ing_backoff_reset(ing_backoff *b);

/**
 * One dependency's outage (the RPC node, NATS, the state file): the first
 * failure is logged at WARN (ERROR for malformed answers, which retrying
 * rarely fixes), the following ones at DEBUG, the recovery at INFO with
 * the number of failures and the duration.
 */
typedef struct ing_outage {
    const char *what;   /* "RPC node", "NATS", "state file" */
    int down;
    uint64_t failures;
    double since;       /* monotonic seconds */
} ing_outage;

void ing_outage_fail(ing_outage *o, nox_status st, const char *message);
void ing_outage_ok(ing_outage *o);

/* ---- the loop ------------------------------------------------------------------------------ */

/** Metrics, all registered on the HTTP server before it starts. */
typedef struct ing_metrics {
    nox_gauge *head_block, *checkpoint_block, *lag_blocks;
    nox_counter *published, *duplicates, *dead_letters, *publish_errors, *rpc_errors, *reorgs;
    nox_counter *refusals, *failure_notices;
} ing_metrics;

/** Everything the loop needs; the health check reads rpc_ok and nats. */
typedef struct ing_state {
    ing_config cfg;
    nox_ec_privkey wallet;      /* signs every published message; wiped at exit */
    nox_engine *engine;         /* operators.yaml's operators (names of generic events), or NULL */
    nox_rpc *rpc;
    ing_nats *nats;
    ing_checkpoint cp;
    ing_metrics m;
    atomic_int rpc_ok;          /* the node answered the last RPC call (a transport failure clears it) */
    atomic_int stop;            /* set by the signal thread */
    pthread_mutex_t mu;         /* with cv: interruptible sleeps */
    pthread_cond_t cv;
    ing_backoff backoff;
    ing_outage rpc_outage, nats_outage, state_outage;
    uint64_t range;             /* current eth_getLogs range (shrinks when the node refuses) */
    int head_behind;            /* the node's head is below the checkpoint (warned once) */
} ing_state;

/* ---- what is published for a transaction that cannot be queued as it is (dead_letter.c) ------------ */

/** Raw logs a dead letter carries at most (the rest are counted in logsOmitted). */
#define ING_DEAD_LETTER_MAX_LOGS 16
/** Data bytes of one raw log a dead letter carries at most (dataLength gives the whole size). */
#define ING_DEAD_LETTER_MAX_DATA 2048

/**
 * The dead letter of tx (compact JSON to free, or NULL when out of memory): chainId, blockNumber,
 * blockHash, transactionHash, reason, logCount, logsOmitted, and the first ING_DEAD_LETTER_MAX_LOGS
 * raw logs, each one's data cut at ING_DEAD_LETTER_MAX_DATA bytes: at most ~75 KiB, whatever tx holds.
 */
char *ing_dead_letter_body(uint32_t chain_id, const nox_event_tx *tx, const char *reason);

/**
 * The output handles of tx that the Ingestor knows of, sorted and distinct, valid handles of chain_id:
 * its message's outputs, or for a transaction that did not become a message those of the logs that
 * decode. *out is set to an array to free (NULL when out of memory: then 0 is returned).
 */
size_t ing_known_outputs(const nox_event_tx *tx, uint32_t chain_id, nox_handle **out);

/**
 * A failure notice (docs/PROTOCOL-EXTENSIONS.md §5): tx's message with no event and failed =
 * {reason (made printable, cut at NOX_MESSAGE_MAX_REASON), outputs[0..n)}, n in 1..NOX_MESSAGE_MAX_FAILED.
 * *json receives the compact JSON to free.
 */
nox_status ing_failure_notice(uint32_t chain_id, const nox_event_tx *tx, const char *reason, const nox_handle *outs,
                              size_t n, char **json, nox_error *err);

/**
 * Names the generic (Compute) events of the transactions that became messages: `type` = the name the
 * engine gives the operator id, else the default "operator_<id>" the decoder set. Each renamed message is
 * validated again; one that fails then (cannot happen with engine names) is turned into a dead letter.
 */
void ing_name_generic_events(const nox_engine *engine, nox_event_tx *txs, size_t n);

/** Initialises st's mutex, condition variable (monotonic clock) and outage names; st must be zeroed. */
nox_status ing_state_init(ing_state *st, nox_error *err);

/** Destroys what ing_state_init created. */
void ing_state_destroy(ing_state *st);

/**
 * Runs until st->stop is set (returns NOX_OK) or a fatal error (a chain id
 * or stream configuration that contradicts the configuration: NOX_ERR_CONFIG
 * with the reason). Transient failures never end it.
 */
nox_status ing_run(ing_state *st, nox_error *err);

/** Asks the loop to stop and wakes it from any sleep. Thread-safe. */
void ing_request_stop(ing_state *st);

#endif
