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
#include "nox/http_server.h"
#include "nox/kms_client.h"
#include "nox/rsa.h"

typedef struct run_config {
    char nats_url[512], stream[128], consumer[128], dead_subject[128];
    uint64_t ack_wait_s, max_deliver, max_ack_pending, fetch_batch;
    char gateway_url[512], kms_url[512];
    uint8_t kms_address[NOX_ADDRESS_SIZE];
    char wallet_key_file[1024], operators[1024];
    uint64_t operand_wait_s; /* how long a message may wait for an operand before it is dead-lettered */
    uint64_t workers;
    char listen[128];
    int log_level;
} run_config;

nox_status run_config_load(const char *path, run_config *cfg, nox_error *err);

enum { RUN_STAGES = 5 }; /* fetch, decrypt, eval, encrypt, publish */
enum run_outcome { RUN_OK, RUN_WAIT, RUN_RETRY, RUN_DEAD };

typedef struct run_metrics {
    nox_counter *ok, *waited, *retried, *dead, *redeliveries;
    nox_counter **events_by_op; /* indexed by engine op position */
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
    nox_kms_client *kms;
    run_metrics m;
    atomic_int stop, gateway_ok, kms_ok, in_flight; /* health: the last probes */
    natsConnection *nc;
    jsCtx *js;
} run_state;

/*
 * Processes one TransactionMessage: RUN_OK when its results are stored,
 * RUN_WAIT when an operand is not stored yet (its transaction is still in flight),
 * RUN_RETRY for another transient failure, RUN_DEAD for a permanent one (reason filled).
 */
enum run_outcome run_process(run_state *st, const char *data, size_t len, char *reason, size_t cap);

enum { RUN_REASON_MAX = 512 };

/*
 * Processes messages data[i] (lens[i] bytes), i < n, as run_process would each, but with the operand
 * requests of all of them in batched Gateway exchanges (docs/PROTOCOL-EXTENSIONS.md §4): outcomes[i]
 * and reasons[i] are message i's.
 */
void run_process_batch(run_state *st, const char *const *data, const size_t *lens, size_t n,
                       enum run_outcome *outcomes, char (*reasons)[RUN_REASON_MAX]);

/*
 * Before a message is dead-lettered: when it parses, records `reason` at the Gateway
 * (POST /v0/compute/failures) for every output handle of the message, so that GET
 * /v0/handles/{h}/status answers "failed" instead of "pending" forever. A failure to record
 * is logged (WARN) and otherwise ignored: the dead letter goes out anyway.
 */
void run_report_failures(run_state *st, const char *data, size_t len, const char *reason);

/* The KMS public key for chain_id (fetched and proof-checked once per chain); NOX_ERR_IO etc. from the KMS. */
nox_status run_kms_key(run_state *st, uint32_t chain_id, nox_ec_pubkey *out, nox_error *err);

/* JetStream: connect, ensure the consumer and the dead-letter stream, run the workers until stop. */
nox_status run_nats_start(run_state *st, nox_error *err);
void run_nats_wait(run_state *st);
void run_nats_close(run_state *st);

#endif
