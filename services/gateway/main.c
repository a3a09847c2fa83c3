/*
 * nox-gateway — the Handle Gateway (spec §7): encrypted inputs, PostgreSQL
 * storage, the Runner operand/result API and user decryption.
 *
 *   nox-gateway --config FILE [--ready-file FILE]   serve until SIGTERM/SIGINT
 *
 * At start-up the KMS public key of every chain is fetched and its proof
 * checked against kms_address, then against NoxCompute.kmsPublicKey(): a
 * chain holding another key stops start-up, and inputs are encrypted only
 * while the chain's last answer is the KMS key (see check_chain). The wallet
 * key is loaded from wallet_key_file (`noxctl key new` makes it); a missing
 * file stops start-up unless create_if_missing: true. Neither key nor any
 * plaintext ever appears in a log line.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gateway.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/log.h"
#include "nox/service.h"

static void usage(FILE *f) {
    fprintf(f, "usage: nox-gateway --config FILE [--ready-file FILE]\n"
               "Serves POST /v0/secrets, GET /v0/secrets/{handle}, GET /v0/handles/{handle}/status,\n"
               "GET /v0/compute/operands, "
               "POST /v0/compute/results (spec §7), /health and /metrics.\n"
               "--ready-file receives the service URL once it accepts requests.\n");
}

static nox_status load_wallet(gw_state *st, nox_error *err) {
    const char *path = st->cfg.wallet_key_file;
    struct stat sb;
    /* never a new wallet by surprise: NoxCompute.gateway() and the KMS's gateway_address name this one */
    if (stat(path, &sb) != 0 && errno == ENOENT && !st->cfg.create_if_missing)
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "wallet_key_file %s does not exist; create it with `noxctl key "
                             "new --out %s` or set create_if_missing: true", path, path);
    int created = 0;
    nox_status s = st->cfg.create_if_missing ? nox_ec_key_load_or_create(&st->wallet, path, &created, err)
                                             : nox_ec_key_load(&st->wallet, path, err);
    if (!s && created)
        nox_log(NOX_LOG_WARN, "wallet_key_file %s did not exist: created a new wallet key there (mode 0600, "
                "create_if_missing: true)", path);
    uint8_t addr[NOX_ADDRESS_SIZE];
    char text[2 * NOX_ADDRESS_SIZE + 3];
    if (!s) s = nox_ec_key_address(&st->wallet, addr, err);
    if (!s) nox_log(NOX_LOG_INFO, "wallet address %s", nox_hex_encode(addr, sizeof addr, text));
    if (!s) memcpy(st->address, addr, sizeof addr); /* the Runners' authorizations name it */
    return s;
}

/* ---- NoxCompute's gateway() and kmsPublicKey() against ours ---------------------------------------------------
 *
 * The invariant: an input is never encrypted to a key the chain does not know. So POST /v0/secrets encrypts only
 * while the last answer of NoxCompute.kmsPublicKey() was the KMS's key (gw_chain.kms_check == GW_KMS_MATCH):
 *   - at start, a chain that answers another key stops start-up (exit 1);
 *   - a chain that does not answer at start leaves the chain GW_KMS_UNCHECKED: /health 503, POST /v0/secrets 503;
 *   - every GW_CHAIN_CHECK_INTERVAL_S seconds the chains are checked again: a match (the chain reachable again,
 *     or the owner's setKmsPublicKey) opens inputs, a mismatch closes them (503) until a check matches again;
 *     a check that gets no answer keeps the last answer (the key changes on-chain only by setKmsPublicKey).
 * NoxCompute.gateway() not being this Gateway's wallet is logged (at start and when it changes), not enforced:
 * it leaks nothing (the chain refuses the HandleProofs), and a Gateway migration (setGateway) has the old
 * and the new Gateway running with one of them not named.
 */

/* A public key's short fingerprint for messages: 0x + its first 4 bytes .. its last 3. */
static const char *fingerprint(const uint8_t *key, size_t len, char out[32]) {
    char head[2 * 4 + 3], tail[2 * 3 + 3];
    if (len != NOX_EC_PUBKEY_COMPRESSED_SIZE)
        snprintf(out, 32, "(%zu bytes, not a key)", len);
    else
        snprintf(out, 32, "%s..%s", nox_hex_encode(key, 4, head), nox_hex_encode(key + len - 3, 3, tail) + 2);
    return out;
}

/* eth_call of a no-argument view of NoxCompute: NOX_OK with *out (malloc'd, NULL when empty), or err. */
static nox_status call_view(gw_chain *c, const char *signature, uint8_t **out, size_t *len, nox_error *err) {
    uint8_t sel[32];
    nox_rpc_fault fault;
    nox_keccak256(signature, strlen(signature), sel);
    return nox_rpc_eth_call(c->rpc, c->nox_compute, sel, 4, NULL, out, len, &fault, err);
}

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/*
 * NoxCompute.kmsPublicKey() against c->kms_public_key: 1 the same; 0 another (why: both fingerprints); -1 no
 * answer (why: the RPC error).
 */
static int check_kms_key(gw_chain *c, char *why, size_t cap) {
    uint8_t *out = NULL;
    size_t len = 0;
    nox_error err = {0};
    if (call_view(c, "kmsPublicKey()", &out, &len, &err)) {
        snprintf(why, cap, "NoxCompute.kmsPublicKey() not checked yet: %.400s", err.message);
        return -1;
    }
    /* ABI bytes: offset 32 (32 bytes) || length n (32) || n bytes */
    const uint8_t *key = NULL;
    size_t n = 0;
    if (len >= 64 && all_zero(out, 31) && out[31] == 32 && all_zero(out + 32, 24)) {
        uint64_t v = 0;
        for (int i = 56; i < 64; i++) v = v << 8 | out[i];
        if (v <= len - 64) key = out + 64, n = (size_t)v;
    }
    int same = key && n == NOX_EC_PUBKEY_COMPRESSED_SIZE && memcmp(key, c->kms_public_key, n) == 0;
    char theirs[64], ours[32];
    fingerprint(c->kms_public_key, sizeof c->kms_public_key, ours);
    if (!len) snprintf(theirs, sizeof theirs, "empty (is nox_compute NoxCompute's address?)");
    else if (!key) snprintf(theirs, sizeof theirs, "(%zu bytes, not ABI bytes)", len);
    else fingerprint(key, n, theirs);
    if (!same) snprintf(why, cap, "NoxCompute.kmsPublicKey() is %s, the KMS serves %s", theirs, ours);
    else snprintf(why, cap, "NoxCompute.kmsPublicKey() is the KMS key %s", ours);
    free(out);
    return same;
}

/* NoxCompute.gateway() against this Gateway's wallet: 1 the same, 0 another, -1 no answer (why). */
static int check_gateway(const gw_state *st, gw_chain *c, char *why, size_t cap) {
    uint8_t *out = NULL;
    size_t len = 0;
    nox_error err = {0};
    if (call_view(c, "gateway()", &out, &len, &err)) {
        snprintf(why, cap, "NoxCompute.gateway() not checked: %.400s", err.message);
        return -1;
    }
    int same = len == 32 && all_zero(out, 12) && memcmp(out + 12, st->address, NOX_ADDRESS_SIZE) == 0;
    char theirs[2 * NOX_ADDRESS_SIZE + 3], ours[2 * NOX_ADDRESS_SIZE + 3];
    if (len == 32) nox_hex_encode(out + 12, NOX_ADDRESS_SIZE, theirs);
    else snprintf(theirs, sizeof theirs, "(%zu bytes)", len);
    snprintf(why, cap, "NoxCompute.gateway() is %s, this Gateway's wallet %s", theirs,
             nox_hex_encode(st->address, NOX_ADDRESS_SIZE, ours));
    free(out);
    return same;
}

static void set_reason(gw_state *st, gw_chain *c, const char *why) {
    pthread_mutex_lock(&st->check_lock);
    snprintf(c->kms_check_reason, sizeof c->kms_check_reason, "%s", why);
    pthread_mutex_unlock(&st->check_lock);
}

static int reason_is(gw_state *st, const gw_chain *c, const char *why) {
    pthread_mutex_lock(&st->check_lock);
    int same = strcmp(c->kms_check_reason, why) == 0;
    pthread_mutex_unlock(&st->check_lock);
    return same;
}

/*
 * Checks chain c's NoxCompute and records the verdict (see above). At start (at_start) a kmsPublicKey() that is
 * not the KMS's key is an error: start-up stops. Later a change of verdict is logged once.
 */
static nox_status check_chain(gw_state *st, gw_chain *c, int at_start, nox_error *err) {
    char why[sizeof c->kms_check_reason];
    int g = check_gateway(st, c, why, sizeof why);
    if (g == 0 && c->gateway_check != 0)
        nox_log(NOX_LOG_ERROR, "chain %u: MISMATCH: %s: the chain refuses its HandleProofs (inputs made here cannot "
                "be used) until the NoxCompute owner calls setGateway with this wallet's address, or wallet_key_file "
                "names the registered Gateway's key", c->chain_id, why);
    else if (g == 1 && c->gateway_check == 0)
        nox_log(NOX_LOG_INFO, "chain %u: NoxCompute.gateway() is now this Gateway's wallet", c->chain_id);
    else if (g < 0 && at_start)
        nox_log(NOX_LOG_WARN, "chain %u: %s", c->chain_id, why);
    if (g >= 0) c->gateway_check = g;

    int k = check_kms_key(c, why, sizeof why), was = c->kms_check;
    if (k == 1) {
        if (was != GW_KMS_MATCH || at_start)
            nox_log(NOX_LOG_INFO, "chain %u: %s: inputs accepted", c->chain_id, why);
        else if (!reason_is(st, c, ""))
            nox_log(NOX_LOG_INFO, "chain %u: NoxCompute answers again: its kmsPublicKey() is still the KMS key",
                    c->chain_id);
        set_reason(st, c, "");
        c->kms_check = GW_KMS_MATCH;
    } else if (k == 0) {
        if (at_start)
            return nox_error_set(err, NOX_ERR_INVALID, "chain %u: %s: inputs would be encrypted to a key the chain "
                                 "does not know, so the Gateway does not start. Point kms_url at the KMS whose "
                                 "key_file holds the chain's key, or, if the KMS's key is the right one, have the "
                                 "NoxCompute owner call setKmsPublicKey with it", c->chain_id, why);
        if (was != GW_KMS_MISMATCH || !reason_is(st, c, why))
            nox_log(NOX_LOG_ERROR, "chain %u: MISMATCH: %s: POST /v0/secrets answers 503 until it matches (point "
                    "kms_url at the KMS holding the chain's key and restart, or have the NoxCompute owner call "
                    "setKmsPublicKey)", c->chain_id, why);
        set_reason(st, c, why);
        c->kms_check = GW_KMS_MISMATCH;
    } else if (was == GW_KMS_UNCHECKED) {
        if (at_start || !reason_is(st, c, why))
            nox_log(NOX_LOG_WARN, "chain %u: %s: /health and POST /v0/secrets answer 503 until it answers with the "
                    "KMS key (checked every %d s)", c->chain_id, why, GW_CHAIN_CHECK_INTERVAL_S);
        set_reason(st, c, why);
    } else if (was == GW_KMS_MATCH && reason_is(st, c, "")) { /* the last answer stands: logged once */
        nox_log(NOX_LOG_WARN, "chain %u: %s (the last answer, the KMS key, stands)", c->chain_id, why);
        set_reason(st, c, why);
    }
    return NOX_OK;
}

/* The re-check thread: every GW_CHAIN_CHECK_INTERVAL_S seconds until stopped. */
typedef struct chain_checker {
    gw_state *st;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int stop, running;
} chain_checker;

static void *checker_main(void *arg) {
    chain_checker *k = arg;
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += GW_CHAIN_CHECK_INTERVAL_S;
        while (!k->stop && pthread_cond_timedwait(&k->cv, &k->mu, &until) != ETIMEDOUT) {
        }
        if (k->stop) break;
        pthread_mutex_unlock(&k->mu);
        for (size_t i = 0; i < k->st->cfg.n_chains; i++) check_chain(k->st, &k->st->cfg.chains[i], 0, NULL);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

static nox_status checker_start(chain_checker *k, gw_state *st, nox_error *err) {
    memset(k, 0, sizeof *k);
    k->st = st;
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (!rc) rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (!rc) rc = pthread_cond_init(&k->cv, &a);
    pthread_condattr_destroy(&a);
    if (!rc && (rc = pthread_mutex_init(&k->mu, NULL)) != 0) pthread_cond_destroy(&k->cv);
    if (!rc && (rc = pthread_create(&k->thread, NULL, checker_main, k)) != 0) {
        pthread_mutex_destroy(&k->mu);
        pthread_cond_destroy(&k->cv);
    }
    if (rc) return nox_error_set(err, NOX_ERR_IO, "cannot start the NoxCompute check thread: %s", strerror(rc));
    k->running = 1;
    return NOX_OK;
}

static void checker_stop(chain_checker *k) {
    if (!k->running) return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    k->running = 0;
}

/*
 * The KMS as a group (nox/kms_group.h): the group file's, or, for a single key, the 1-of-1 group of the key that
 * kms_url serves (its proof checked against kms_address) — one code path either way.
 */
static nox_status connect_kms(gw_state *st, nox_error *err) {
    nox_kms_group_options go = {.hedge_ms = st->cfg.kms_hedge_ms};
    nox_kms_options_default(&go.client);
    go.client.tls = &st->cfg.kms_tls;
    go.client.max_response = 1u << 20; /* an envelope of NOX_KMS_MAX_BATCH items */
    nox_th_group group;
    nox_kms_node nodes[NOX_TH_MAX_NODES];
    nox_status s = NOX_OK;
    if (st->cfg.kms_group_file[0]) {
        s = nox_th_group_load(st->cfg.kms_group_file, &group, err);
        for (size_t i = 0; i < st->cfg.n_kms_nodes; i++)
            nodes[i] = (nox_kms_node){st->cfg.kms_nodes[i].index, st->cfg.kms_nodes[i].url};
        go.n_nodes = st->cfg.n_kms_nodes;
    } else {
        nox_kms_options ko = go.client;
        ko.url = st->cfg.kms_url;
        nox_kms_client *one = NULL;
        uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
        s = nox_kms_client_new(&ko, &one, err);
        if (!s) s = nox_kms_fetch_public_key(one, st->cfg.chains[0].chain_id, st->cfg.kms_address, key, NULL, err);
        if (s) nox_error_prefix(err, "KMS public key: ");
        nox_kms_client_free(one);
        if (!s) s = nox_th_group_single(key, &group, err);
        nodes[0] = (nox_kms_node){1, st->cfg.kms_url};
        go.n_nodes = 1;
    }
    go.group = &group;
    go.nodes = nodes;
    if (!s) s = nox_kms_group_new(&go, &st->kms, err);
    if (!s) {
        char fp[19];
        nox_th_group_fingerprint(&group, fp);
        nox_log(NOX_LOG_INFO, "KMS: a %u-of-%u group %s, %zu node(s) configured", group.threshold, group.nodes, fp,
                go.n_nodes);
    }
    return s;
}

static nox_status connect_all(gw_state *st, nox_error *err) {
    nox_status s = connect_kms(st, err);
    const nox_th_group *g = s ? NULL : nox_kms_group_group(st->kms);
    for (size_t i = 0; !s && i < st->cfg.n_chains; i++) {
        gw_chain *c = &st->cfg.chains[i];
        nox_rpc_options ro;
        nox_rpc_options_default(&ro);
        ro.url = c->rpc_url;
        ro.tls = &c->rpc_tls;
        s = nox_rpc_new(&ro, &c->rpc, err);
        ro.timeout_ms = st->cfg.viewer_timeout_ms;
        ro.connect_timeout_ms = ro.timeout_ms < ro.connect_timeout_ms ? ro.timeout_ms : ro.connect_timeout_ms;
        if (!s) s = nox_rpc_pool_new(&ro, st->cfg.viewer_rpc_connections, &c->viewers, err);
        if (!s) memcpy(c->kms_public_key, g->public_key, sizeof c->kms_public_key);
        if (!s) s = nox_ec_pubkey_parse_compressed(&c->kms_key, c->kms_public_key, sizeof c->kms_public_key, err);
        if (s) {
            nox_error_prefix(err, "chain %u: KMS public key: ", c->chain_id);
        } else {
            c->gateway_check = -1;
            s = check_chain(st, c, 1, err); /* a chain answering another KMS key stops start-up here */
        }
    }
    if (!s) s = gw_store_open(&st->store, st->cfg.database_url, st->cfg.http.threads < 64 ? st->cfg.http.threads : 64, err);
    return s;
}

/*
 * The KMS part of /health: single key — its public key is still the one inputs are encrypted to; a group — at
 * least t nodes answer /health.
 */
static int kms_health(gw_state *st, char *reason, size_t cap) {
    nox_error err = {0};
    const nox_th_group *g = nox_kms_group_group(st->kms);
    if (!st->cfg.kms_group_file[0]) {
        uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
        if (nox_kms_fetch_public_key(nox_kms_group_node_client(st->kms, 1), st->cfg.chains[0].chain_id,
                                     st->cfg.kms_address, key, NULL, &err)) {
            snprintf(reason, cap, "KMS: %s", err.message);
            return 0;
        }
        if (memcmp(key, st->cfg.chains[0].kms_public_key, sizeof key) != 0) { /* a KMS replaced under us */
            char now[32], then[32];
            snprintf(reason, cap, "KMS: its key for chain %u is now %s, not %s, the key inputs are encrypted to: it "
                     "cannot decrypt them (restore its key_file)", st->cfg.chains[0].chain_id,
                     fingerprint(key, sizeof key, now), fingerprint(st->cfg.chains[0].kms_public_key, sizeof key, then));
            return 0;
        }
        return 1;
    }
    unsigned up = 0;
    size_t at = (size_t)snprintf(reason, cap, "KMS: fewer than %u of %u nodes answer:", g->threshold, g->nodes);
    for (size_t i = 0; i < st->cfg.n_kms_nodes; i++) {
        nox_kms_client *k = nox_kms_group_node_client(st->kms, st->cfg.kms_nodes[i].index);
        if (!nox_kms_ping(k, &err)) up++;
        else if (at < cap) at += (size_t)snprintf(reason + at, cap - at, " node %u: %.120s;", st->cfg.kms_nodes[i].index,
                                                  err.message);
    }
    return up >= g->threshold;
}

static int health(void *user, char *reason, size_t cap) {
    gw_state *st = user;
    nox_error err = {0};
    for (size_t i = 0; i < st->cfg.n_chains; i++) { /* inputs refused on a chain: not healthy */
        const gw_chain *c = &st->cfg.chains[i];
        if (c->kms_check == GW_KMS_MATCH) continue;
        pthread_mutex_lock(&st->check_lock);
        snprintf(reason, cap, "chain %u: %s (POST /v0/secrets refused)", c->chain_id,
                 c->kms_check_reason[0] ? c->kms_check_reason : "NoxCompute.kmsPublicKey() not checked yet");
        pthread_mutex_unlock(&st->check_lock);
        return 0;
    }
    if (gw_store_ping(st->store, &err)) {
        snprintf(reason, cap, "PostgreSQL: %s", err.message);
        return 0;
    }
    return kms_health(st, reason, cap);
}

/* How the Runners' authorizations fare (docs/PROTOCOL-EXTENSIONS.md §7): counters, and a warning for the legacy forms. */
static nox_status runner_auth_setup(gw_state *st, nox_http_server *server, nox_error *err) {
    nox_status s = nox_http_counter(server, "nox_gateway_runner_auth_legacy_accepted_total",
                                    "Spec 4.4 Runner authorizations accepted (accept_legacy_authorizations: true).",
                                    &st->legacy_accepted, err);
    if (!s) s = nox_http_counter(server, "nox_gateway_runner_auth_legacy_refused_total",
                                 "Spec 4.4 Runner authorizations refused (accept_legacy_authorizations: false).",
                                 &st->legacy_refused, err);
    if (!s) s = nox_http_counter(server, "nox_gateway_runner_auth_window_refused_total",
                                 "Runner authorizations refused for their validity window (expired, not yet "
                                 "valid, empty or too long).",
                                 &st->window_refused, err);
    if (!s) s = nox_http_counter(server, "nox_gateway_runner_auth_content_refused_total",
                                 "Runner authorizations whose signed count or digest differs from the body.",
                                 &st->content_refused, err);
    if (!s && st->cfg.accept_legacy_authorizations)
        nox_log(NOX_LOG_WARN, "accept_legacy_authorizations: true: the spec 4.4 Runner authorizations, bound neither "
                "to the request's content nor to time, are accepted; set it to false once every Runner signs the "
                "bound forms (nox_gateway_runner_auth_legacy_accepted_total stays 0)");
    return s;
}

static nox_status serve(gw_state *st, const char *ready_file, nox_error *err) {
    nox_http_options o;
    nox_http_options_default(&o);
    o.service = "gateway";
    o.listen = st->cfg.listen;
    o.tls = &st->cfg.tls;
    o.metrics_listen = st->cfg.metrics_listen[0] ? st->cfg.metrics_listen : NULL;
    nox_service_http_apply(&st->cfg.http, &o);
    nox_http_server *server = NULL;
    nox_status s = nox_http_server_new(&o, &server, err);
    /* Users' endpoints: server TLS only. The Runner endpoints below (and /metrics) need a client certificate
     * from tls.client_ca_file when it is set: mutual TLS on top of the Runners' signed authorizations. */
    if (!s) s = nox_http_route_public(server, "POST", "/v0/secrets", gw_handle_post_secret, st, err);
    if (!s) s = nox_http_route_public(server, "GET", "/v0/secrets/{handle}", gw_handle_get_secret, st, err);
    if (!s) s = nox_http_route_public(server, "GET", "/v0/handles/{handle}/status", gw_handle_status, st, err);
    if (!s) s = nox_http_route(server, "GET", "/v0/compute/operands", gw_handle_operands, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/operands/batch", gw_handle_operands_batch, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/results", gw_handle_results, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/results/batch", gw_handle_results_batch, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/failures", gw_handle_failures, st, err);
    if (!s) s = gw_attestation_start(st, server, err); /* POST /v0/compute/attestation, when configured */
    if (!s) s = runner_auth_setup(st, server, err);
    if (!s) s = nox_kms_group_metrics(st->kms, server, "nox_gateway", err);
    if (!s) nox_http_set_health(server, health, st);
    chain_checker checker = {0};
    if (!s) s = checker_start(&checker, st, err);
    if (!s) {
        nox_log(NOX_LOG_INFO, "%u threads, %zu chain(s)", st->cfg.http.threads, st->cfg.n_chains);
        s = nox_service_serve(server, st->cfg.listen, ready_file, err);
    }
    checker_stop(&checker);
    nox_http_server_free(server);
    gw_attestation_stop(st);
    return s;
}

int main(int argc, char **argv) {
    nox_service_block_signals(); /* before any thread exists */
    { /* it holds keys or plaintexts: never in a core dump, never traceable by another process */
        nox_error core_err = {0};
        if (nox_service_no_core_dumps(&core_err)) {
            fprintf(stderr, "nox-gateway: %s\n", core_err.message);
            return 1;
        }
    }
    const char *config, *ready_file;
    switch (nox_service_parse_args(argc, argv, &config, &ready_file)) {
    case NOX_ARGS_HELP: usage(stdout); return 0;
    case NOX_ARGS_USAGE: usage(stderr); return 2;
    case NOX_ARGS_RUN: break;
    }
    gw_state st;
    memset(&st, 0, sizeof st);
    pthread_mutex_init(&st.check_lock, NULL);
    nox_error err = {0};
    nox_log_init("gateway", NOX_LOG_INFO);
    nox_status s = gw_config_load(config, &st.cfg, &err);
    if (!s) {
        nox_log_init("gateway", st.cfg.log_level);
        nox_log_set_json(st.cfg.log_json);
        s = load_wallet(&st, &err);
    }
    if (!s) s = connect_all(&st, &err);
    if (!s) s = serve(&st, ready_file, &err);
    if (s) nox_log(NOX_LOG_ERROR, "%s", err.message);
    gw_store_close(st.store);
    nox_kms_group_free(st.kms);
    nox_ec_key_wipe(&st.wallet);
    gw_config_free(&st.cfg);
    pthread_mutex_destroy(&st.check_lock);
    return s ? 1 : 0;
}
