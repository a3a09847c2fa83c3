/* config/runner.yaml (see docs/operators.md, "nox-runner"). */
#include <stdio.h>
#include <string.h>

#include "nox/config.h"
#include "nox/config_net.h"
#include "nox/service.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/runner_auth.h"
#include "runner.h"

/*
 * ingestor_addresses (required): the Ingestor wallets whose signed messages are computed, 1..RUN_MAX_INGESTORS
 * distinct non-zero addresses. Without it a Runner would compute whatever anyone who can publish to NATS sends.
 */
static nox_status load_ingestors(const nox_cfg_doc *doc, const nox_cfg_node *root, run_config *cfg, nox_error *err) {
    static const uint8_t zero[NOX_ADDRESS_SIZE];
    const nox_cfg_node *list = nox_cfg_get(root, "ingestor_addresses");
    if (!list)
        return nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'ingestor_addresses' (the "
                             "Ingestor wallet addresses whose signed messages this Runner computes: `noxctl key "
                             "address` of the Ingestor's wallet_key_file)");
    nox_status s = nox_cfg_expect(doc, list, NOX_CFG_LIST, "ingestor_addresses", err);
    if (!s && (nox_cfg_size(list) == 0 || nox_cfg_size(list) > RUN_MAX_INGESTORS))
        s = nox_cfg_error(doc, list, "ingestor_addresses", err, NOX_ERR_CONFIG, "list 1 to %d Ingestor addresses, "
                          "got %zu", RUN_MAX_INGESTORS, nox_cfg_size(list));
    for (size_t i = 0; !s && i < nox_cfg_size(list); i++) {
        char w[48];
        snprintf(w, sizeof w, "ingestor_addresses[%zu]", i);
        const nox_cfg_node *item = nox_cfg_at(list, i);
        s = nox_cfg_address(doc, item, w, "an Ingestor's wallet address", cfg->ingestors[i], err);
        if (!s && !memcmp(cfg->ingestors[i], zero, NOX_ADDRESS_SIZE))
            s = nox_cfg_error(doc, item, w, err, NOX_ERR_CONFIG, "the zero address signs nothing; put the Ingestor's "
                              "wallet address (noxctl key address FILE)");
        for (size_t j = 0; !s && j < i; j++)
            if (!memcmp(cfg->ingestors[j], cfg->ingestors[i], NOX_ADDRESS_SIZE))
                s = nox_cfg_error(doc, item, w, err, NOX_ERR_CONFIG, "listed twice (also ingestor_addresses[%zu])", j);
        cfg->n_ingestors = i + 1;
    }
    return s;
}

/* gateway_url, or gateway_urls (failover between the URLs of one Gateway), into cfg->gateway_url comma-separated. */
static nox_status load_gateway_urls(const nox_cfg_doc *doc, const nox_cfg_node *root, run_config *cfg, nox_error *err) {
    const nox_cfg_node *one = nox_cfg_get(root, "gateway_url"), *list = nox_cfg_get(root, "gateway_urls");
    if (one && list)
        return nox_cfg_error(doc, list, "gateway_urls", err, NOX_ERR_CONFIG, "give gateway_url or gateway_urls, not both");
    if (!list) return nox_cfg_get_text(doc, root, "gateway_url", 1, NULL, "", cfg->gateway_url, sizeof cfg->gateway_url, err);
    nox_status s = nox_cfg_expect(doc, list, NOX_CFG_LIST, "gateway_urls", err);
    size_t n = nox_cfg_size(list), len = 0;
    if (!s && (n == 0 || n > NOX_GATEWAY_MAX_URLS))
        s = nox_cfg_error(doc, list, "gateway_urls", err, NOX_ERR_CONFIG, "list 1 to %d URLs", NOX_GATEWAY_MAX_URLS);
    for (size_t i = 0; !s && i < n; i++) {
        const nox_cfg_node *u = nox_cfg_at(list, i);
        const char *v = nox_cfg_str(u); /* NULL when not a scalar */
        char w[48];
        snprintf(w, sizeof w, "gateway_urls[%zu]", i);
        if (!v || (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) || strchr(v, ','))
            s = nox_cfg_error(doc, u, w, err, NOX_ERR_CONFIG, "expected an http:// or https:// URL");
        else if (len + strlen(v) + 2 > sizeof cfg->gateway_url)
            s = nox_cfg_error(doc, u, w, err, NOX_ERR_CONFIG, "the URLs are too long together");
        else len += (size_t)snprintf(cfg->gateway_url + len, sizeof cfg->gateway_url - len, "%s%s", len ? "," : "", v);
    }
    return s;
}

nox_status run_config_load(const char *path, run_config *cfg, nox_error *err) {
    static const char *const top[] = {"nats", "gateway_url", "gateway_urls", "gateway_tls", "gateway_address", "authorization_lifetime_s",
                                      "kms_url", "kms_tls", "kms_address", "kms_group_file", "wallet_key_file", "ingestor_addresses",
                                      "operators", "operand_wait_s", "workers", NOX_SERVICE_LISTEN_KEYS, "log_level", "log_format",
                                      "attestation", NULL};
    static const char *const attestation_keys[] = {"provider", "config", NULL};
    static const char *const nats_keys[] = {"url", "urls", "credentials_file", "tls", "replicas", "stream", "consumer", "dead_letter_subject", "ack_wait_s",
                                            "max_deliver", "max_ack_pending", "fetch_batch", NULL};
    memset(cfg, 0, sizeof *cfg);
    cfg->ack_wait_s = 30;
    cfg->max_deliver = 10;
    cfg->max_ack_pending = 256;
    cfg->fetch_batch = 32;
    cfg->workers = 2;
    cfg->operand_wait_s = 600;
    cfg->log_level = NOX_LOG_INFO;
    nox_cfg_doc *doc = NULL;
    const nox_cfg_node *root;
    nox_status s = nox_cfg_load_map(path, top, &doc, &root, err);
    if (s) return s;
    const nox_cfg_node *n = nox_cfg_get(root, "nats");
    if (!n) s = nox_cfg_error(doc, root, "nats", err, NOX_ERR_CONFIG, "missing");
    if (!s) s = nox_cfg_expect(doc, n, NOX_CFG_MAP, "nats", err);
    if (!s) s = nox_cfg_check_keys(doc, n, nats_keys, "nats", err);
    if (!s) s = nox_cfg_get_nats_urls(doc, n, "nats", "nats://127.0.0.1:4222", cfg->nats_url, sizeof cfg->nats_url, err);
    cfg->replicas = 1;
    if (!s) s = nox_cfg_get_uint(doc, n, "replicas", 0, 1, 5, "nats", &cfg->replicas, err);
    if (!s) s = nox_cfg_get_nats_credentials(doc, n, "credentials_file", "nats", cfg->nats_credentials,
                                             sizeof cfg->nats_credentials, err);
    if (!s) s = nox_cfg_get_tls_client(doc, n, "tls", &cfg->nats_tls, err);
    if (!s) s = nox_cfg_get_text(doc, n, "stream", 0, "nox_ingestor", "nats", cfg->stream, sizeof cfg->stream, err);
    if (!s) s = nox_cfg_get_text(doc, n, "consumer", 0, "nox_ingestor_consumer", "nats", cfg->consumer, sizeof cfg->consumer, err);
    if (!s) s = nox_cfg_get_text(doc, n, "dead_letter_subject", 0, "nox_dead", "nats", cfg->dead_subject, sizeof cfg->dead_subject, err);
    if (!s) s = nox_cfg_get_uint(doc, n, "ack_wait_s", 0, 1, 3600, "nats", &cfg->ack_wait_s, err);
    if (!s) s = nox_cfg_get_uint(doc, n, "max_deliver", 0, 1, 1000000, "nats", &cfg->max_deliver, err);
    if (!s) s = nox_cfg_get_uint(doc, n, "max_ack_pending", 0, 1, 1000000, "nats",
                                 &cfg->max_ack_pending, err);
    if (!s) s = nox_cfg_get_uint(doc, n, "fetch_batch", 0, 1, 1024, "nats", &cfg->fetch_batch, err);
    if (!s) s = load_gateway_urls(doc, root, cfg, err);
    /* the Gateway's wallet: its authorizations name it (docs/PROTOCOL-EXTENSIONS.md §7) */
    if (!s && !nox_cfg_get(root, "gateway_address"))
        s = nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'gateway_address' (the Gateway's "
                          "wallet address, which the Runner's authorizations name)");
    if (!s) s = nox_cfg_get_address(doc, root, "gateway_address", "", "the Gateway's wallet address",
                                    cfg->gateway_address, err);
    cfg->authorization_lifetime_s = NOX_RUNNER_AUTH_DEFAULT_LIFETIME_S;
    if (!s) s = nox_cfg_get_uint(doc, root, "authorization_lifetime_s", 0, 10, NOX_RUNNER_AUTH_MAX_LIFETIME_S, "",
                                 &cfg->authorization_lifetime_s, err);
    if (!s) s = nox_cfg_get_tls_client(doc, root, "gateway_tls", &cfg->gateway_tls, err);
    /* a TEE quote provider (nox/attestation.h) for a Gateway that requires attestation: bound to the client
     * certificate of gateway_tls, which it therefore needs */
    const nox_cfg_node *att = s ? NULL : nox_cfg_get(root, "attestation");
    if (att) {
        s = nox_cfg_expect(doc, att, NOX_CFG_MAP, "attestation", err);
        if (!s) s = nox_cfg_check_keys(doc, att, attestation_keys, "attestation", err);
        if (!s) s = nox_cfg_get_path(doc, att, "provider", 1, "attestation", cfg->attestation_provider,
                                     sizeof cfg->attestation_provider, err);
        if (!s) s = nox_cfg_get_text(doc, att, "config", 0, "", "attestation", cfg->attestation_config,
                                     sizeof cfg->attestation_config, err);
        if (!s && !cfg->gateway_tls.cert_file[0])
            s = nox_cfg_error(doc, att, "attestation", err, NOX_ERR_CONFIG, "a quote is bound to the Runner's client "
                              "certificate: attestation needs gateway_tls.cert_file");
    }
    /* the key results are encrypted to: a threshold group's (its file, pinned: no KMS call) or a single KMS's */
    if (!s && nox_cfg_get(root, "kms_group_file")) {
        const char *other = nox_cfg_get(root, "kms_url") ? "kms_url" : nox_cfg_get(root, "kms_address") ? "kms_address" : NULL;
        if (other)
            s = nox_cfg_error(doc, nox_cfg_get(root, other), other, err, NOX_ERR_CONFIG, "%s is for a single-key KMS; "
                              "with kms_group_file the Runner takes the key from the group file", other);
        if (!s) s = nox_cfg_get_path(doc, root, "kms_group_file", 1, "", cfg->kms_group_file, sizeof cfg->kms_group_file, err);
    } else {
        if (!s) s = nox_cfg_get_text(doc, root, "kms_url", 1, NULL, "", cfg->kms_url, sizeof cfg->kms_url, err);
        if (!s) s = nox_cfg_get_address(doc, root, "kms_address", "", "the KMS wallet address", cfg->kms_address, err);
    }
    if (!s) s = nox_cfg_get_tls_client(doc, root, "kms_tls", &cfg->kms_tls, err);
    if (!s) s = nox_cfg_get_path(doc, root, "wallet_key_file", 1, "", cfg->wallet_key_file,
                                 sizeof cfg->wallet_key_file, err);
    if (!s) s = load_ingestors(doc, root, cfg, err);
    if (!s) s = nox_cfg_get_path(doc, root, "operators", 1, "", cfg->operators, sizeof cfg->operators, err);
    if (!s) s = nox_cfg_get_uint(doc, root, "operand_wait_s", 0, 1, 7 * 24 * 3600, "", &cfg->operand_wait_s,
                                 err);
    if (!s) s = nox_cfg_get_uint(doc, root, "workers", 0, 1, 256, "", &cfg->workers, err);
    if (!s) s = nox_service_load_listener(doc, root, "127.0.0.1:8081", cfg->listen, sizeof cfg->listen, &cfg->tls, err);
    if (!s) s = nox_service_load_metrics_listen(doc, root, &cfg->tls, cfg->metrics_listen, sizeof cfg->metrics_listen, err);
    if (!s) s = nox_cfg_get_log_level(doc, root, &cfg->log_level, err);
    if (!s) s = nox_cfg_get_log_format(doc, root, &cfg->log_json, err);
    nox_cfg_free(doc);
    return s;
}
