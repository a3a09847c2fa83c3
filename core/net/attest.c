/* Attestation plugins, host side (nox/attest.h): dlopen, the ABI check, the report data. */
#include "nox/attest.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nox_attest_provider {
    void *dl;
    const nox_attestation_provider *abi;
    void *state;
};

struct nox_attest_verifier {
    void *dl;
    const nox_attestation_verifier *abi;
    void *state;
};

void nox_attest_report_data(const uint8_t wallet[20], const uint8_t cert_key[32],
                            uint8_t out[NOX_ATTESTATION_REPORT_DATA_SIZE]) {
    uint8_t buf[sizeof NOX_ATTEST_DOMAIN - 1 + 20 + 32];
    memcpy(buf, NOX_ATTEST_DOMAIN, sizeof NOX_ATTEST_DOMAIN - 1);
    memcpy(buf + sizeof NOX_ATTEST_DOMAIN - 1, wallet, 20);
    memcpy(buf + sizeof NOX_ATTEST_DOMAIN - 1 + 20, cert_key, 32);
    unsigned n = 0;
    if (!EVP_Digest(buf, sizeof buf, out, &n, EVP_sha512(), NULL) || n != NOX_ATTESTATION_REPORT_DATA_SIZE)
        memset(out, 0, NOX_ATTESTATION_REPORT_DATA_SIZE); /* never matches a quote's: the Gateway refuses */
}

/* Replaces what is not printable ASCII (a plugin's text reaches logs and HTTP answers). */
static void printable(char *s, size_t cap) {
    s[cap - 1] = '\0';
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e) *s = '?';
}

/* dlopen(path) and the symbol `sym`: the function returning the plugin's table. */
static void *open_plugin(const char *path, const char *sym, const char *role, void **dl, nox_error *err) {
    char buf[4096];
    const char *dlpath = path;
    if (!strchr(path, '/')) { /* a bare name would make dlopen search the library path */
        snprintf(buf, sizeof buf, "./%s", path);
        dlpath = buf;
    }
    dlerror();
    *dl = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
    if (!*dl) {
        const char *why = dlerror();
        nox_error_set(err, NOX_ERR_PLUGIN, "cannot load attestation %s %s: %s", role, path, why ? why : "unknown");
        return NULL;
    }
    void *fn = dlsym(*dl, sym);
    if (!fn) {
        nox_error_set(err, NOX_ERR_ABI, "%s is not an attestation %s: it exports no symbol '%s' (nox/attestation.h)",
                      path, role, sym);
        dlclose(*dl);
        *dl = NULL;
    }
    return fn;
}

typedef int (*init_fn)(const char *config, void **state, char *err, size_t err_cap);

/* The ABI check (version, every function present) and init(config): what both roles share. */
static nox_status start_plugin(const char *path, const char *role, const char *host, uint32_t abi_version,
                               int complete, init_fn init, const char *config, void **state, nox_error *err) {
    if (abi_version != NOX_ATTESTATION_ABI_VERSION || !complete)
        return nox_error_set(err, NOX_ERR_ABI, "attestation %s %s: ABI version %u, this %s speaks %u (or a function "
                             "is missing)", role, path, abi_version, host, NOX_ATTESTATION_ABI_VERSION);
    char why[256] = "";
    if (init(config ? config : "", state, why, sizeof why)) {
        printable(why, sizeof why);
        return nox_error_set(err, NOX_ERR_PLUGIN, "attestation %s %s refused to start: %s", role, path,
                             why[0] ? why : "no reason given");
    }
    return NOX_OK;
}

nox_status nox_attest_provider_load(const char *path, const char *config, nox_attest_provider **out, nox_error *err) {
    *out = NULL;
    nox_attest_provider *p = calloc(1, sizeof *p);
    if (!p) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    void *fn = open_plugin(path, "nox_attestation_provider_v1", "provider", &p->dl, err);
    nox_status st = fn ? NOX_OK : err->code;
    if (!st) {
        nox_attestation_provider_fn get;
        memcpy(&get, &fn, sizeof get);
        const nox_attestation_provider *abi = get();
        st = abi ? start_plugin(path, "provider", "Runner", abi->abi_version, abi->init && abi->quote && abi->fini,
                                abi->init, config, &p->state, err)
                 : nox_error_set(err, NOX_ERR_ABI, "attestation provider %s: its table is NULL", path);
        if (!st) p->abi = abi; /* set once init succeeded: only then is fini owed */
    }
    if (st) {
        nox_attest_provider_free(p);
        return st;
    }
    *out = p;
    return NOX_OK;
}

nox_status nox_attest_quote(nox_attest_provider *p, const uint8_t report_data[NOX_ATTESTATION_REPORT_DATA_SIZE],
                            uint8_t **quote, size_t *len, nox_error *err) {
    *quote = malloc(NOX_ATTESTATION_MAX_QUOTE);
    *len = 0;
    if (!*quote) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    char why[256] = "";
    if (p->abi->quote(p->state, report_data, *quote, NOX_ATTESTATION_MAX_QUOTE, len, why, sizeof why) ||
        *len == 0 || *len > NOX_ATTESTATION_MAX_QUOTE) {
        printable(why, sizeof why);
        free(*quote);
        *quote = NULL;
        *len = 0;
        return nox_error_set(err, NOX_ERR_PLUGIN, "attestation provider %s gave no quote: %s", p->abi->name,
                             why[0] ? why : "no reason given (or a length of 0 or over the maximum)");
    }
    return NOX_OK;
}

const char *nox_attest_provider_name(const nox_attest_provider *p) { return p->abi->name ? p->abi->name : "?"; }

void nox_attest_provider_free(nox_attest_provider *p) {
    if (!p) return;
    if (p->abi) p->abi->fini(p->state);
    if (p->dl) dlclose(p->dl);
    free(p);
}

nox_status nox_attest_verifier_load(const char *path, const char *config, nox_attest_verifier **out, nox_error *err) {
    *out = NULL;
    nox_attest_verifier *v = calloc(1, sizeof *v);
    if (!v) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    void *fn = open_plugin(path, "nox_attestation_verifier_v1", "verifier", &v->dl, err);
    nox_status st = fn ? NOX_OK : err->code;
    if (!st) {
        nox_attestation_verifier_fn get;
        memcpy(&get, &fn, sizeof get);
        const nox_attestation_verifier *abi = get();
        st = abi ? start_plugin(path, "verifier", "Gateway", abi->abi_version, abi->init && abi->verify && abi->fini,
                                abi->init, config, &v->state, err)
                 : nox_error_set(err, NOX_ERR_ABI, "attestation verifier %s: its table is NULL", path);
        if (!st) v->abi = abi;
    }
    if (st) {
        nox_attest_verifier_free(v);
        return st;
    }
    *out = v;
    return NOX_OK;
}

nox_status nox_attest_verify(nox_attest_verifier *v, const uint8_t *quote, size_t len, uint64_t now,
                             nox_attestation_verdict *out, nox_error *err) {
    memset(out, 0, sizeof *out);
    int rc = v->abi->verify(v->state, quote, len, now, out);
    printable(out->reason, sizeof out->reason);
    if (rc) {
        out->ok = 0;
        return nox_error_set(err, NOX_ERR_REMOTE, "attestation verifier %s could not decide: %s", v->abi->name,
                             out->reason[0] ? out->reason : "no reason given");
    }
    if (out->ok != 1) out->ok = 0; /* only 1 accepts */
    if (!out->ok && !out->reason[0]) snprintf(out->reason, sizeof out->reason, "refused without a reason");
    return NOX_OK;
}

const char *nox_attest_verifier_name(const nox_attest_verifier *v) { return v->abi->name ? v->abi->name : "?"; }

void nox_attest_verifier_free(nox_attest_verifier *v) {
    if (!v) return;
    if (v->abi) v->abi->fini(v->state);
    if (v->dl) dlclose(v->dl);
    free(v);
}
