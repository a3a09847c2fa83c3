/*
 * nox-gateway — the Handle Gateway (spec §7): encrypted inputs, PostgreSQL
 * storage, the Runner operand/result API and user decryption.
 *
 *   nox-gateway --config FILE [--ready-file FILE]   serve until SIGTERM/SIGINT
 *
 * At start-up the KMS public key of every chain is fetched and its proof
 * checked against kms_address; the wallet key is created when its file is
 * missing. Neither key nor any plaintext ever appears in a log line.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int created;
    nox_status s = nox_ec_key_load_or_create(&st->wallet, path, &created, err);
    if (!s && created) nox_log(NOX_LOG_INFO, "created the wallet key file %s (mode 0600)", path);
    uint8_t addr[NOX_ADDRESS_SIZE];
    char text[2 * NOX_ADDRESS_SIZE + 3];
    if (!s) s = nox_ec_key_address(&st->wallet, addr, err);
    if (!s) nox_log(NOX_LOG_INFO, "wallet address %s", nox_hex_encode(addr, sizeof addr, text));
    if (!s) memcpy(st->address, addr, sizeof addr); /* the Runners' authorizations name it */
    return s;
}

/* eth_call of a no-argument view function; NULL when the node or the contract does not answer. */
static uint8_t *call_view(gw_chain *c, const char *signature, size_t *len) {
    uint8_t sel[32], *out = NULL;
    nox_rpc_fault fault;
    nox_error err = {0};
    nox_keccak256(signature, strlen(signature), sel);
    if (nox_rpc_eth_call(c->rpc, c->nox_compute, sel, 4, NULL, &out, len, &fault, &err)) {
        nox_log(NOX_LOG_WARN, "chain %u: NoxCompute.%s not checked: %s", c->chain_id, signature, err.message);
        return NULL;
    }
    return out;
}

/* Cross-checks NoxCompute's gateway() and kmsPublicKey() with ours when the chain answers; a mismatch is logged loudly. */
static void cross_check(gw_state *st, gw_chain *c) {
    uint8_t addr[NOX_ADDRESS_SIZE], *out;
    size_t len = 0;
    nox_error err = {0};
    if (nox_ec_key_address(&st->wallet, addr, &err)) return;
    if ((out = call_view(c, "gateway()", &len)) != NULL) {
        if (len != 32 || memcmp(out + 12, addr, NOX_ADDRESS_SIZE) != 0)
            nox_log(NOX_LOG_ERROR, "chain %u: MISMATCH: NoxCompute.gateway() is not this Gateway's wallet; its input "
                    "proofs will be refused on-chain", c->chain_id);
        free(out);
    }
    if ((out = call_view(c, "kmsPublicKey()", &len)) != NULL) {
        /* ABI bytes: offset(32) || length(32) || data */
        if (len < 64 + NOX_EC_PUBKEY_COMPRESSED_SIZE || out[63] != NOX_EC_PUBKEY_COMPRESSED_SIZE ||
            memcmp(out + 64, c->kms_public_key, NOX_EC_PUBKEY_COMPRESSED_SIZE) != 0)
            nox_log(NOX_LOG_ERROR, "chain %u: MISMATCH: NoxCompute.kmsPublicKey() differs from the KMS's public key",
                    c->chain_id);
        free(out);
    }
}

static nox_status connect_all(gw_state *st, nox_error *err) {
    nox_kms_options ko;
    nox_kms_options_default(&ko);
    ko.url = st->cfg.kms_url;
    nox_status s = nox_kms_client_new(&ko, &st->kms, err);
    for (size_t i = 0; !s && i < st->cfg.n_chains; i++) {
        gw_chain *c = &st->cfg.chains[i];
        nox_rpc_options ro;
        nox_rpc_options_default(&ro);
        ro.url = c->rpc_url;
        s = nox_rpc_new(&ro, &c->rpc, err);
        ro.timeout_ms = st->cfg.viewer_timeout_ms;
        ro.connect_timeout_ms = ro.timeout_ms < ro.connect_timeout_ms ? ro.timeout_ms : ro.connect_timeout_ms;
        if (!s) s = nox_rpc_pool_new(&ro, st->cfg.viewer_rpc_connections, &c->viewers, err);
        if (!s) s = nox_kms_fetch_public_key(st->kms, c->chain_id, st->cfg.kms_address, c->kms_public_key, NULL, err);
        if (!s) s = nox_ec_pubkey_parse_compressed(&c->kms_key, c->kms_public_key, sizeof c->kms_public_key, err);
        if (s) nox_error_prefix(err, "chain %u: KMS public key: ", c->chain_id);
        else cross_check(st, c);
    }
    if (!s) s = gw_store_open(&st->store, st->cfg.database_url, st->cfg.http.threads < 64 ? st->cfg.http.threads : 64, err);
    return s;
}

static int health(void *user, char *reason, size_t cap) {
    gw_state *st = user;
    nox_error err = {0};
    uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
    if (gw_store_ping(st->store, &err)) {
        snprintf(reason, cap, "PostgreSQL: %s", err.message);
        return 0;
    }
    if (nox_kms_fetch_public_key(st->kms, st->cfg.chains[0].chain_id, st->cfg.kms_address, key, NULL, &err)) {
        snprintf(reason, cap, "KMS: %s", err.message);
        return 0;
    }
    return 1;
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
    nox_service_http_apply(&st->cfg.http, &o);
    nox_http_server *server = NULL;
    nox_status s = nox_http_server_new(&o, &server, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/secrets", gw_handle_post_secret, st, err);
    if (!s) s = nox_http_route(server, "GET", "/v0/secrets/{handle}", gw_handle_get_secret, st, err);
    if (!s) s = nox_http_route(server, "GET", "/v0/handles/{handle}/status", gw_handle_status, st, err);
    if (!s) s = nox_http_route(server, "GET", "/v0/compute/operands", gw_handle_operands, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/operands/batch", gw_handle_operands_batch, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/results", gw_handle_results, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/results/batch", gw_handle_results_batch, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/failures", gw_handle_failures, st, err);
    if (!s) s = runner_auth_setup(st, server, err);
    if (!s) nox_http_set_health(server, health, st);
    if (!s) {
        nox_log(NOX_LOG_INFO, "%u threads, %zu chain(s)", st->cfg.http.threads, st->cfg.n_chains);
        s = nox_service_serve(server, st->cfg.listen, ready_file, err);
    }
    nox_http_server_free(server);
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
    nox_error err = {0};
    nox_log_init("gateway", NOX_LOG_INFO);
    nox_status s = gw_config_load(config, &st.cfg, &err);
    if (!s) {
        nox_log_init("gateway", st.cfg.log_level);
        s = load_wallet(&st, &err);
    }
    if (!s) s = connect_all(&st, &err);
    if (!s) s = serve(&st, ready_file, &err);
    if (s) nox_log(NOX_LOG_ERROR, "%s", err.message);
    gw_store_close(st.store);
    nox_kms_client_free(st.kms);
    nox_ec_key_wipe(&st.wallet);
    gw_config_free(&st.cfg);
    return s ? 1 : 0;
}
