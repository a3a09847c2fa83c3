/* config/kms.yaml: listen, key files, threads, chains with their Gateway addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms.h"
#include "nox/config.h"
#include "nox/hex.h"
#include "nox/log.h"

static const char *const top_keys[] = {NOX_SERVICE_LISTEN_KEYS, "key_file", "group_file", "wallet_key_file", "create_if_missing", NOX_SERVICE_HTTP_KEYS,
                                       "log_level", "log_format", "chains", NULL};
static const char *const chain_keys[] = {"chain_id", "gateway_address", NULL};

static nox_status load_chain(const nox_cfg_doc *doc, const nox_cfg_node *item, size_t i, kms_config *cfg,
                             nox_error *err) {
    char where[32];
    snprintf(where, sizeof where, "chains[%zu]", i);
    nox_status st = nox_cfg_expect(doc, item, NOX_CFG_MAP, where, err);
    if (!st) st = nox_cfg_check_keys(doc, item, chain_keys, where, err);
    uint64_t id = 0;
    if (!st) st = nox_cfg_get_uint(doc, item, "chain_id", 1, 1, UINT32_MAX, where, &id, err);
    const char *gw = NULL;
    if (!st) st = nox_cfg_get_str(doc, item, "gateway_address", 1, where, &gw, err);
    if (st) return st;
    kms_chain *c = &cfg->chains[i];
    c->chain_id = (uint32_t)id;
    char w[64];
    snprintf(w, sizeof w, "%s.gateway_address", where);
    nox_status ast = nox_cfg_address(doc, nox_cfg_get(item, "gateway_address"), w, "an address", c->gateway, err);
    if (ast) return ast;
    for (size_t j = 0; j < i; j++)
        if (cfg->chains[j].chain_id == c->chain_id) {
            snprintf(w, sizeof w, "%s.chain_id", where);
            return nox_cfg_error(doc, nox_cfg_get(item, "chain_id"), w, err, NOX_ERR_CONFIG,
                                 "chain %u is configured twice", c->chain_id);
        }
    return NOX_OK;
}

nox_status kms_config_load(const char *path, kms_config *cfg, nox_error *err) {
    memset(cfg, 0, sizeof *cfg);
    nox_service_http_limits_default(&cfg->http);
    cfg->http.threads = 4;
    cfg->http.max_body = 256 * 1024; /* a POST /v0/delegate/partials of 1024 keys is ~75 KiB */
    cfg->log_level = NOX_LOG_INFO;
    nox_cfg_doc *doc;
    const nox_cfg_node *root;
    nox_status st = nox_cfg_load_map(path, top_keys, &doc, &root, err);
    if (st) return st;
    st = nox_service_load_listener(doc, root, NULL, cfg->listen, sizeof cfg->listen, &cfg->tls, err);
    if (!st) st = nox_service_load_metrics_listen(doc, root, &cfg->tls, cfg->metrics_listen, sizeof cfg->metrics_listen, err);
    if (!st) st = nox_cfg_get_path(doc, root, "key_file", 1, "", cfg->key_file, sizeof cfg->key_file, err);
    if (!st && nox_cfg_get(root, "group_file"))
        st = nox_cfg_get_path(doc, root, "group_file", 1, "", cfg->group_file, sizeof cfg->group_file, err);
    if (!st) st = nox_cfg_get_path(doc, root, "wallet_key_file", 1, "", cfg->wallet_key_file, sizeof cfg->wallet_key_file, err);
    if (!st) st = nox_cfg_get_bool(doc, root, "create_if_missing", 0, "", &cfg->create_if_missing, err);
    if (!st) st = nox_service_load_http_limits(doc, root, &cfg->http, err);
    if (!st) st = nox_cfg_get_log_level(doc, root, &cfg->log_level, err);
    if (!st) st = nox_cfg_get_log_format(doc, root, &cfg->log_json, err);
    const nox_cfg_node *chains = st ? NULL : nox_cfg_get(root, "chains");
    if (!st && !chains) st = nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'chains'");
    if (!st) st = nox_cfg_expect(doc, chains, NOX_CFG_LIST, "chains", err);
    if (!st && nox_cfg_size(chains) == 0)
        st = nox_cfg_error(doc, chains, "chains", err, NOX_ERR_CONFIG, "list at least one chain");
    if (!st) {
        cfg->n_chains = nox_cfg_size(chains);
        cfg->chains = calloc(cfg->n_chains, sizeof *cfg->chains);
        if (!cfg->chains) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; !st && i < cfg->n_chains; i++) st = load_chain(doc, nox_cfg_at(chains, i), i, cfg, err);
    nox_cfg_free(doc);
    if (st) kms_config_free(cfg);
    return st;
}

void kms_config_free(kms_config *cfg) {
    for (size_t i = 0; i < cfg->n_chains && cfg->chains; i++) free(cfg->chains[i].public_key_json);
    free(cfg->chains);
    cfg->chains = NULL;
    cfg->n_chains = 0;
}
