/*
 * gateway.yaml's `attestation` map (attestation.c does the rest): the verifier plugin, its configuration, and
 * the Runner images (MRTD and RTMR0..3) the Gateway trusts. Its own file so that fuzz_gateway_config reads it
 * with the rest of the Gateway's configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "nox/hex.h"

static const char *const attestation_keys[] = {"verifier", "config", "measurements", NULL};
static const char *const measurement_keys[] = {"mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", NULL};

static nox_status get_measurement(const nox_cfg_doc *doc, const nox_cfg_node *item, const char *where,
                                  const char *key, uint8_t out[NOX_ATTESTATION_MEASUREMENT_SIZE], nox_error *err) {
    const nox_cfg_node *v = nox_cfg_get(item, key);
    char w[96];
    nox_cfg_join_where(w, sizeof w, where, key);
    if (!v) return nox_cfg_error(doc, item, where, err, NOX_ERR_CONFIG, "missing required key '%s'", key);
    const char *s = nox_cfg_str(v);
    nox_error herr = {0};
    if (!s || nox_hex_decode_exact(s, strlen(s), out, NOX_ATTESTATION_MEASUREMENT_SIZE, &herr))
        return nox_cfg_error(doc, v, w, err, NOX_ERR_CONFIG, "expected a 48-byte measurement (0x + 96 hex digits)%s%s",
                             s ? ": " : "", s ? herr.message : "");
    return NOX_OK;
}

nox_status gw_attestation_load_config(const nox_cfg_doc *doc, const nox_cfg_node *root, gw_config *cfg, nox_error *err) {
    gw_attestation_config *c = &cfg->attestation;
    const nox_cfg_node *map = nox_cfg_get(root, "attestation");
    if (!map) return NOX_OK;
    nox_status st = nox_cfg_expect(doc, map, NOX_CFG_MAP, "attestation", err);
    if (!st) st = nox_cfg_check_keys(doc, map, attestation_keys, "attestation", err);
    if (!st) st = nox_cfg_get_path(doc, map, "verifier", 1, "attestation", c->verifier, sizeof c->verifier, err);
    if (!st) st = nox_cfg_get_text(doc, map, "config", 0, "", "attestation", c->config, sizeof c->config, err);
    const nox_cfg_node *list = st ? NULL : nox_cfg_get(map, "measurements");
    if (!st && !list)
        st = nox_cfg_error(doc, map, "attestation", err, NOX_ERR_CONFIG, "missing required key 'measurements' "
                           "(the MRTD and RTMR0..3 of each Runner image this Gateway trusts)");
    if (!st) st = nox_cfg_expect(doc, list, NOX_CFG_LIST, "attestation.measurements", err);
    if (!st && (nox_cfg_size(list) == 0 || nox_cfg_size(list) > 64))
        st = nox_cfg_error(doc, list, "attestation.measurements", err, NOX_ERR_CONFIG, "list 1 to 64 measurements");
    if (!st && !(c->measurements = calloc(nox_cfg_size(list), sizeof *c->measurements)))
        st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < nox_cfg_size(list); i++) {
        const nox_cfg_node *item = nox_cfg_at(list, i);
        char where[48];
        snprintf(where, sizeof where, "attestation.measurements[%zu]", i);
        st = nox_cfg_expect(doc, item, NOX_CFG_MAP, where, err);
        if (!st) st = nox_cfg_check_keys(doc, item, measurement_keys, where, err);
        if (!st) st = get_measurement(doc, item, where, "mrtd", c->measurements[i].mrtd, err);
        for (unsigned r = 0; !st && r < NOX_ATTESTATION_RTMRS; r++)
            st = get_measurement(doc, item, where, measurement_keys[1 + r], c->measurements[i].rtmr[r], err);
        c->n_measurements = i + 1;
    }
    if (!st && !cfg->tls.client_ca_file[0])
        st = nox_cfg_error(doc, map, "attestation", err, NOX_ERR_CONFIG, "attestation binds a quote to the Runner's "
                           "client certificate: it needs mutual TLS (tls.client_ca_file)");
    return st;
}

void gw_attestation_config_free(gw_attestation_config *c) {
    free(c->measurements);
    c->measurements = NULL;
    c->n_measurements = 0;
}
