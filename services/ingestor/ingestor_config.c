/* config/ingestor.yaml: the chain and contract, polling, the checkpoint, the signing wallet, NATS, listen address. */
#include <stdio.h>
#include <string.h>

#include "ingestor.h"
#include "nox/config.h"
#include "nox/config_net.h"
#include "nox/service.h"
#include "nox/hex.h"
#include "nox/log.h"

static const char *const top_keys[] = {"rpc_url", "chain_id", "nox_compute", "start_block", "confirmations",
                                       "poll_interval_ms", "max_block_range", "state_file", "nats", NOX_SERVICE_LISTEN_KEYS, "rpc_tls",
                                       "log_level", "log_format", "operators", "wallet_key_file", NULL};
static const char *const nats_keys[] = {"url", "urls", "credentials_file", "tls", "replicas", "stream", "subject", NULL};

/* A stream name: letters, digits, '_' and '-' (JetStream forbids '.', '*', '>' and whitespace). */
static int valid_stream(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

/* A subject prefix: non-empty dot-separated tokens of printable ASCII without wildcards. */
static int valid_subject(const char *s) {
    if (*s == '.') return 0;
    for (const char *p = s; *p; p++) {
        if (*p <= ' ' || *p > '~' || *p == '*' || *p == '>') return 0;
        if (*p == '.' && (p[1] == '.' || p[1] == '\0')) return 0;
    }
    return 1;
}

static nox_status load_nats(const nox_cfg_doc *doc, const nox_cfg_node *root, ing_config *cfg, nox_error *err) {
    const nox_cfg_node *n = nox_cfg_get(root, "nats");
    if (!n) return nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'nats'");
    nox_status st = nox_cfg_expect(doc, n, NOX_CFG_MAP, "nats", err);
    if (!st) st = nox_cfg_check_keys(doc, n, nats_keys, "nats", err);
    if (!st) st = nox_cfg_get_nats_urls(doc, n, "nats", NULL, cfg->nats_url, sizeof cfg->nats_url, err);
    cfg->replicas = 1;
    if (!st) st = nox_cfg_get_uint(doc, n, "replicas", 0, 1, 5, "nats", &cfg->replicas, err);
    if (!st) st = nox_cfg_get_nats_credentials(doc, n, "credentials_file", "nats", cfg->nats_credentials,
                                               sizeof cfg->nats_credentials, err);
    if (!st) st = nox_cfg_get_tls_client(doc, n, "tls", &cfg->nats_tls, err);
    if (!st) st = nox_cfg_get_text(doc, n, "stream", 0, "nox_ingestor", "nats", cfg->stream, sizeof cfg->stream, err);
    if (!st && !valid_stream(cfg->stream))
        st = nox_cfg_error(doc, nox_cfg_get(n, "stream"), "nats.stream", err, NOX_ERR_CONFIG,
                           "a stream name has only letters, digits, '_' and '-'");
    if (!st) st = nox_cfg_get_text(doc, n, "subject", 0, "nox_ingestor", "nats", cfg->subject, sizeof cfg->subject, err);
    if (!st && !valid_subject(cfg->subject))
        st = nox_cfg_error(doc, nox_cfg_get(n, "subject"), "nats.subject", err, NOX_ERR_CONFIG,
                           "expected a subject prefix such as nox_ingestor: dot-separated tokens without "
                           "spaces, '*' or '>' (messages go to <prefix>.<txHash>)");
    if (!st && !strcmp(cfg->stream, ING_DEAD_STREAM))
        st = nox_cfg_error(doc, nox_cfg_get(n, "stream"), "nats.stream", err, NOX_ERR_CONFIG,
                           "%s is the dead-letter stream (spec §6); choose another name", ING_DEAD_STREAM);
    if (!st && (!strcmp(cfg->subject, ING_DEAD_SUBJECT) || !strncmp(cfg->subject, ING_DEAD_SUBJECT ".", 9)))
        st = nox_cfg_error(doc, nox_cfg_get(n, "subject"), "nats.subject", err, NOX_ERR_CONFIG,
                           "%s.> holds the dead letters (spec §6); choose another prefix", ING_DEAD_SUBJECT);
    return st;
}

nox_status ing_config_load(const char *path, ing_config *cfg, nox_error *err) {
    memset(cfg, 0, sizeof *cfg);
    cfg->confirmations = 2;
    cfg->poll_interval_ms = 1000;
    cfg->max_block_range = 1000;
    cfg->log_level = NOX_LOG_INFO;
    nox_cfg_doc *doc;
    const nox_cfg_node *root;
    nox_status st = nox_cfg_load_map(path, top_keys, &doc, &root, err);
    if (st) return st;

    st = nox_cfg_get_text(doc, root, "rpc_url", 1, NULL, "", cfg->rpc_url, sizeof cfg->rpc_url, err);
    if (!st && strncmp(cfg->rpc_url, "http://", 7) && strncmp(cfg->rpc_url, "https://", 8))
        st = nox_cfg_error(doc, nox_cfg_get(root, "rpc_url"), "rpc_url", err, NOX_ERR_CONFIG,
                           "expected an http:// or https:// URL of the chain's JSON-RPC endpoint");
    uint64_t chain = 0;
    if (!st) st = nox_cfg_get_uint(doc, root, "chain_id", 1, 1, UINT32_MAX, "", &chain, err);
    cfg->chain_id = (uint32_t)chain;
    if (!st) st = nox_cfg_get_address(doc, root, "nox_compute", "", "the NoxCompute address", cfg->nox_compute, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "start_block", 0, 0, INT64_MAX, "", &cfg->start_block, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "confirmations", 0, 0, 10000, "", &cfg->confirmations, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "poll_interval_ms", 0, 10, 3600000, "", &cfg->poll_interval_ms, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "max_block_range", 0, 1, 100000, "", &cfg->max_block_range, err);

    /* the state file: relative paths are relative to the configuration file */
    if (!st) st = nox_cfg_get_path(doc, root, "state_file", 1, "", cfg->state_file, sizeof cfg->state_file, err);
    /* the signing wallet, relative to this file like state_file (created 0600 when missing) */
    if (!st) st = nox_cfg_get_path(doc, root, "wallet_key_file", 1, "", cfg->wallet_key_file,
                                   sizeof cfg->wallet_key_file, err);
    if (!st) st = load_nats(doc, root, cfg, err);
    if (!st) st = nox_service_load_listener(doc, root, NULL, cfg->listen, sizeof cfg->listen, &cfg->tls, err);
    if (!st) st = nox_service_load_metrics_listen(doc, root, &cfg->tls, cfg->metrics_listen, sizeof cfg->metrics_listen, err);
    if (!st) st = nox_cfg_get_tls_client(doc, root, "rpc_tls", &cfg->rpc_tls, err);
    if (!st) st = nox_cfg_get_log_level(doc, root, &cfg->log_level, err);
    if (!st) st = nox_cfg_get_log_format(doc, root, &cfg->log_json, err);
    /* optional: the operator table naming generic events (relative to this file) */
    if (!st) st = nox_cfg_get_path(doc, root, "operators", 0, "", cfg->operators, sizeof cfg->operators, err);
    nox_cfg_free(doc);
    return st;
}
