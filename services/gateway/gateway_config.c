/* config/gateway.yaml: listen, database, KMS, wallet, Runners, chains (spec §7, issue 6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "nox/config.h"
#include "nox/config_net.h"
#include "nox/hex.h"
#include "nox/log.h"

static const char *const top_keys[] = {NOX_SERVICE_LISTEN_KEYS, "database_url", "kms_url", "kms_tls", "kms_address",
                                       "kms_group_file", "kms_nodes", "kms_hedge_ms", "wallet_key_file",
                                       "create_if_missing", "runner_addresses", "accept_legacy_authorizations", "default_chain_id",
                                       NOX_SERVICE_HTTP_KEYS,
                                       "log_level", "log_format", "chains", "viewer_rpc_connections", "viewer_timeout_ms",
                                       "attestation", NULL};
static const char *const kms_node_keys[] = {"index", "url", NULL};
static const char *const chain_keys[] = {"chain_id", "rpc_url", "rpc_tls", "nox_compute", NULL};

static nox_status load_chain(const nox_cfg_doc *doc, const nox_cfg_node *item, size_t i, gw_config *cfg,
                             nox_error *err) {
    char where[32], w[64];
    snprintf(where, sizeof where, "chains[%zu]", i);
    nox_status st = nox_cfg_expect(doc, item, NOX_CFG_MAP, where, err);
    if (!st) st = nox_cfg_check_keys(doc, item, chain_keys, where, err);
    uint64_t id = 0;
    if (!st) st = nox_cfg_get_uint(doc, item, "chain_id", 1, 1, UINT32_MAX, where, &id, err);
    gw_chain *c = &cfg->chains[i];
    if (!st) st = nox_cfg_get_text(doc, item, "rpc_url", 1, NULL, where, c->rpc_url, sizeof c->rpc_url, err);
    if (!st) st = nox_cfg_get_tls_client(doc, item, "rpc_tls", &c->rpc_tls, err);
    snprintf(w, sizeof w, "%s.nox_compute", where);
    if (!st && !nox_cfg_get(item, "nox_compute"))
        st = nox_cfg_error(doc, item, where, err, NOX_ERR_CONFIG, "missing required key 'nox_compute'");
    if (!st) st = nox_cfg_get_address(doc, item, "nox_compute", where, "an address", c->nox_compute, err);
    if (st) return st;
    c->chain_id = (uint32_t)id;
    cfg->chain_ids[i] = c->chain_id;
    for (size_t j = 0; j < i; j++)
        if (cfg->chains[j].chain_id == c->chain_id) {
            snprintf(w, sizeof w, "%s.chain_id", where);
            return nox_cfg_error(doc, nox_cfg_get(item, "chain_id"), w, err, NOX_ERR_CONFIG,
                                 "chain %u is configured twice", c->chain_id);
        }
    return NOX_OK;
}

static nox_status load_runners(const nox_cfg_doc *doc, const nox_cfg_node *root, gw_config *cfg, nox_error *err) {
    const nox_cfg_node *list = nox_cfg_get(root, "runner_addresses");
    if (!list) return nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'runner_addresses'");
    nox_status st = nox_cfg_expect(doc, list, NOX_CFG_LIST, "runner_addresses", err);
    if (!st && nox_cfg_size(list) == 0)
        st = nox_cfg_error(doc, list, "runner_addresses", err, NOX_ERR_CONFIG, "list at least one Runner address");
    if (st) return st;
    cfg->n_runners = nox_cfg_size(list);
    cfg->runners = calloc(cfg->n_runners, sizeof *cfg->runners);
    if (!cfg->runners) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < cfg->n_runners; i++) {
        char w[48];
        snprintf(w, sizeof w, "runner_addresses[%zu]", i);
        st = nox_cfg_address(doc, nox_cfg_at(list, i), w, "an address", cfg->runners[i], err);
    }
    return st;
}

/*
 * The KMS: one key (kms_url + kms_address, the spec's) or a threshold group (kms_group_file + kms_nodes, each
 * {index, url}; docs/PROTOCOL-EXTENSIONS.md §11). One or the other.
 */
static nox_status load_kms(const nox_cfg_doc *doc, const nox_cfg_node *root, gw_config *cfg, nox_error *err) {
    const nox_cfg_node *file = nox_cfg_get(root, "kms_group_file"), *nodes = nox_cfg_get(root, "kms_nodes");
    nox_status st = nox_cfg_get_tls_client(doc, root, "kms_tls", &cfg->kms_tls, err);
    uint64_t hedge = 0;
    if (!st) st = nox_cfg_get_uint(doc, root, "kms_hedge_ms", 0, 1, 60000, "", &hedge, err);
    cfg->kms_hedge_ms = (unsigned)hedge;
    if (st) return st;
    if (!file) {
        if (nodes) return nox_cfg_error(doc, nodes, "kms_nodes", err, NOX_ERR_CONFIG, "kms_nodes needs kms_group_file");
        st = nox_cfg_get_text(doc, root, "kms_url", 1, NULL, "", cfg->kms_url, sizeof cfg->kms_url, err);
        if (!st && !nox_cfg_get(root, "kms_address"))
            st = nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'kms_address' (or "
                               "kms_group_file and kms_nodes for a threshold KMS)");
        if (!st) st = nox_cfg_get_address(doc, root, "kms_address", "", "an address", cfg->kms_address, err);
        return st;
    }
    const char *other = nox_cfg_get(root, "kms_url") ? "kms_url" : nox_cfg_get(root, "kms_address") ? "kms_address" : NULL;
    if (other)
        return nox_cfg_error(doc, nox_cfg_get(root, other), other, err, NOX_ERR_CONFIG, "%s is for a single-key KMS; "
                             "with kms_group_file, list the nodes in kms_nodes", other);
    st = nox_cfg_get_path(doc, root, "kms_group_file", 1, "", cfg->kms_group_file, sizeof cfg->kms_group_file, err);
    if (!st && !nodes) st = nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'kms_nodes'");
    if (!st) st = nox_cfg_expect(doc, nodes, NOX_CFG_LIST, "kms_nodes", err);
    if (!st && (nox_cfg_size(nodes) == 0 || nox_cfg_size(nodes) > NOX_TH_MAX_NODES))
        st = nox_cfg_error(doc, nodes, "kms_nodes", err, NOX_ERR_CONFIG, "list 1 to %d nodes", NOX_TH_MAX_NODES);
    for (size_t i = 0; !st && i < nox_cfg_size(nodes); i++) {
        const nox_cfg_node *item = nox_cfg_at(nodes, i);
        char where[32];
        uint64_t index = 0;
        snprintf(where, sizeof where, "kms_nodes[%zu]", i);
        st = nox_cfg_expect(doc, item, NOX_CFG_MAP, where, err);
        if (!st) st = nox_cfg_check_keys(doc, item, kms_node_keys, where, err);
        if (!st) st = nox_cfg_get_uint(doc, item, "index", 1, 1, NOX_TH_MAX_NODES, where, &index, err);
        if (!st) st = nox_cfg_get_text(doc, item, "url", 1, NULL, where, cfg->kms_nodes[i].url, sizeof cfg->kms_nodes[i].url, err);
        for (size_t j = 0; !st && j < i; j++)
            if (cfg->kms_nodes[j].index == index)
                st = nox_cfg_error(doc, nox_cfg_get(item, "index"), where, err, NOX_ERR_CONFIG, "node %llu is listed twice",
                                   (unsigned long long)index);
        cfg->kms_nodes[i].index = (unsigned)index;
        cfg->n_kms_nodes = i + 1;
    }
    return st;
}

/*
 * The isViewer checks of GET /v0/secrets: at most viewer_rpc_connections in flight per chain (default
 * half the request threads, at most 16), each bounded by viewer_timeout_ms (default 2000), so that a
 * slow RPC node holds at most that many threads and the others keep serving the Runners.
 */
static nox_status load_viewer_limits(const nox_cfg_doc *doc, const nox_cfg_node *root, gw_config *cfg,
                                     nox_error *err) {
    uint64_t n = 0, ms = 0;
    unsigned threads = cfg->http.threads;
    nox_status st = nox_cfg_get_uint(doc, root, "viewer_rpc_connections", 0, 1, NOX_RPC_POOL_MAX, "", &n, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "viewer_timeout_ms", 0, 100, 60000, "", &ms, err);
    if (st) return st;
    if (n && n >= threads)
        return nox_cfg_error(doc, nox_cfg_get(root, "viewer_rpc_connections"), "viewer_rpc_connections", err,
                             NOX_ERR_CONFIG, "%llu is not below threads (%u): a slow RPC node could then hold every "
                             "request thread, the Runners' too", (unsigned long long)n, threads);
    cfg->viewer_rpc_connections = n ? (unsigned)n : threads / 2 < 1 ? 1 : threads / 2 > 16 ? 16 : threads / 2;
    cfg->viewer_timeout_ms = ms ? (unsigned)ms : 2000;
    return NOX_OK;
}

nox_status gw_config_load(const char *path, gw_config *cfg, nox_error *err) {
    memset(cfg, 0, sizeof *cfg);
    nox_service_http_limits_default(&cfg->http);
    cfg->http.threads = 8;
    cfg->http.max_body = 1024 * 1024;
    cfg->http.max_header = 128 * 1024;
    cfg->log_level = NOX_LOG_INFO;
    nox_cfg_doc *doc;
    const nox_cfg_node *root;
    nox_status st = nox_cfg_load_map(path, top_keys, &doc, &root, err);
    if (st) return st;
    st = nox_service_load_listener(doc, root, NULL, cfg->listen, sizeof cfg->listen, &cfg->tls, err);
    if (!st) st = nox_service_load_metrics_listen(doc, root, &cfg->tls, cfg->metrics_listen, sizeof cfg->metrics_listen, err);
    if (!st) st = nox_cfg_get_text(doc, root, "database_url", 1, NULL, "", cfg->database_url, sizeof cfg->database_url, err);
    if (!st) st = load_kms(doc, root, cfg, err);
    if (!st) st = nox_cfg_get_path(doc, root, "wallet_key_file", 1, "", cfg->wallet_key_file, sizeof cfg->wallet_key_file, err);
    if (!st) st = nox_cfg_get_bool(doc, root, "create_if_missing", 0, "", &cfg->create_if_missing, err);
    if (!st) st = load_runners(doc, root, cfg, err);
    /* false by default: only the bound Runner authorizations (docs/PROTOCOL-EXTENSIONS.md §7) */
    if (!st)
        st = nox_cfg_get_bool(doc, root, "accept_legacy_authorizations", 0, "", &cfg->accept_legacy_authorizations, err);
    uint64_t def = 0;
    if (!st) st = nox_service_load_http_limits(doc, root, &cfg->http, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "default_chain_id", 0, 1, UINT32_MAX, "", &def, err);
    if (!st) st = nox_cfg_get_log_level(doc, root, &cfg->log_level, err);
    if (!st) st = nox_cfg_get_log_format(doc, root, &cfg->log_json, err);
    if (!st) st = load_viewer_limits(doc, root, cfg, err);
    if (!st) st = gw_attestation_load_config(doc, root, cfg, err);
    const nox_cfg_node *chains = st ? NULL : nox_cfg_get(root, "chains");
    if (!st && !chains) st = nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'chains'");
    if (!st) st = nox_cfg_expect(doc, chains, NOX_CFG_LIST, "chains", err);
    if (!st && nox_cfg_size(chains) == 0)
        st = nox_cfg_error(doc, chains, "chains", err, NOX_ERR_CONFIG, "list at least one chain");
    if (!st) {
        cfg->n_chains = nox_cfg_size(chains);
        cfg->chains = calloc(cfg->n_chains, sizeof *cfg->chains);
        cfg->chain_ids = calloc(cfg->n_chains, sizeof *cfg->chain_ids);
        if (!cfg->chains || !cfg->chain_ids) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; !st && i < cfg->n_chains; i++) st = load_chain(doc, nox_cfg_at(chains, i), i, cfg, err);
    if (!st) {
        cfg->default_chain_id = def ? (uint32_t)def : cfg->chains[0].chain_id;
        int found = 0;
        for (size_t i = 0; i < cfg->n_chains; i++) found |= cfg->chains[i].chain_id == cfg->default_chain_id;
        if (!found)
            st = nox_cfg_error(doc, nox_cfg_get(root, "default_chain_id"), "default_chain_id", err, NOX_ERR_CONFIG,
                               "chain %u is not in chains", cfg->default_chain_id);
    }
    nox_cfg_free(doc);
    if (st) gw_config_free(cfg);
    return st;
}

void gw_config_free(gw_config *cfg) {
    for (size_t i = 0; i < cfg->n_chains && cfg->chains; i++) {
        nox_rpc_free(cfg->chains[i].rpc);
        nox_rpc_pool_free(cfg->chains[i].viewers);
    }
    free(cfg->chains);
    free(cfg->chain_ids);
    free(cfg->runners);
    gw_attestation_config_free(&cfg->attestation);
    cfg->chains = NULL;
    cfg->chain_ids = NULL;
    cfg->runners = NULL;
    cfg->n_chains = cfg->n_runners = 0;
}
