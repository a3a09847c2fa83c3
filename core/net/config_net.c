/*
 * The configuration blocks every networked service shares, on the YAML layer of
 * nox/config.h: the NATS servers and credentials, and the TLS maps (each file
 * checked at load, so a wrong one stops start-up at its position).
 */
#include "nox/config_net.h"

#include <stdio.h>
#include <string.h>

#include "nox/nkey.h"
#include "nox/tls.h"

static int nats_scheme(const char *u) { return !strncmp(u, "nats://", 7) || !strncmp(u, "tls://", 6); }

nox_status nox_cfg_get_nats_urls(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *where, const char *dflt,
                                 char *out, size_t cap, nox_error *err) {
    const nox_cfg_node *one = nox_cfg_get(map, "url"), *list = nox_cfg_get(map, "urls");
    char path[256];
    out[0] = '\0';
    if (one && list)
        return nox_cfg_error(doc, list, where, err, NOX_ERR_CONFIG, "url and urls: give one of them, not both");
    if (!one && !list) {
        if (!dflt) return nox_cfg_error(doc, map, where, err, NOX_ERR_CONFIG, "missing required key 'url' (or 'urls')");
        snprintf(out, cap, "%s", dflt);
        return NOX_OK;
    }
    if (one) {
        nox_cfg_join_where(path, sizeof path, where, "url");
        nox_status st = nox_cfg_get_text(doc, map, "url", 1, NULL, where, out, cap, err);
        if (!st && !nats_scheme(out))
            st = nox_cfg_error(doc, one, path, err, NOX_ERR_CONFIG, "expected a nats:// or tls:// URL");
        return st;
    }
    nox_cfg_join_where(path, sizeof path, where, "urls");
    nox_status st = nox_cfg_expect(doc, list, NOX_CFG_LIST, path, err);
    if (!st && nox_cfg_size(list) == 0) st = nox_cfg_error(doc, list, path, err, NOX_ERR_CONFIG, "list at least one URL");
    if (!st && nox_cfg_size(list) > 16) st = nox_cfg_error(doc, list, path, err, NOX_ERR_CONFIG, "at most 16 URLs");
    size_t len = 0;
    for (size_t i = 0; !st && i < nox_cfg_size(list); i++) {
        const nox_cfg_node *u = nox_cfg_at(list, i);
        char w[300];
        snprintf(w, sizeof w, "%s[%zu]", path, i);
        const char *s = nox_cfg_kind_of(u) == NOX_CFG_SCALAR ? nox_cfg_str(u) : NULL;
        if (!s || !nats_scheme(s) || strchr(s, ','))
            st = nox_cfg_error(doc, u, w, err, NOX_ERR_CONFIG, "expected a nats:// or tls:// URL");
        else if (len + strlen(s) + 2 > cap)
            st = nox_cfg_error(doc, u, w, err, NOX_ERR_CONFIG, "the URLs are too long together");
        else len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", s);
    }
    if (st) out[0] = '\0';
    return st;
}

nox_status nox_cfg_get_nats_credentials(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key,
                                        const char *where, char *out, size_t cap, nox_error *err) {
    nox_status st = nox_cfg_get_path(doc, map, key, 1, where, out, cap, err);
    char pub[NOX_NKEY_PUBLIC_LEN + 1], path[256];
    nox_error e = {0};
    if (st || !nox_nkey_file_public(out, pub, &e)) return st;
    nox_cfg_join_where(path, sizeof path, where, key);
    return nox_cfg_error(doc, nox_cfg_get(map, key), path, err, NOX_ERR_CONFIG, "%s", e.message);
}

/* Reads the optional map `key` of file paths: names[i] into outs[i] (cap each), then runs check. */
static nox_status get_tls_map(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key,
                              const char *const *names, char *const *outs, size_t cap, nox_error *err) {
    for (size_t i = 0; names[i]; i++) outs[i][0] = '\0';
    const nox_cfg_node *n = nox_cfg_get(map, key);
    if (!n) return NOX_OK;
    nox_status st = nox_cfg_expect(doc, n, NOX_CFG_MAP, key, err);
    if (!st) st = nox_cfg_check_keys(doc, n, names, key, err);
    for (size_t i = 0; !st && names[i]; i++) st = nox_cfg_get_path(doc, n, names[i], 0, key, outs[i], cap, err);
    return st;
}

nox_status nox_cfg_get_tls_server(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key,
                                  nox_tls_server *out, nox_error *err) {
    static const char *const names[] = {"cert_file", "key_file", "client_ca_file", NULL};
    char *const outs[] = {out->cert_file, out->key_file, out->client_ca_file};
    nox_status st = get_tls_map(doc, map, key, names, outs, NOX_TLS_PATH_MAX, err);
    nox_error e = {0};
    if (st || !nox_cfg_get(map, key) || !nox_tls_check_server(out, key, &e)) return st;
    return nox_cfg_error(doc, nox_cfg_get(map, key), "", err, NOX_ERR_CONFIG, "%s", e.message);
}

nox_status nox_cfg_get_tls_client(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key,
                                  nox_tls_client *out, nox_error *err) {
    static const char *const names[] = {"ca_file", "cert_file", "key_file", NULL};
    char *const outs[] = {out->ca_file, out->cert_file, out->key_file};
    nox_status st = get_tls_map(doc, map, key, names, outs, NOX_TLS_PATH_MAX, err);
    nox_error e = {0};
    if (st || !nox_cfg_get(map, key) || !nox_tls_check_client(out, key, &e)) return st;
    return nox_cfg_error(doc, nox_cfg_get(map, key), "", err, NOX_ERR_CONFIG, "%s", e.message);
}
