/*
 * Runners in attested TEEs (docs/PROTOCOL-EXTENSIONS.md §12, docs/operators.md §14).
 *
 * With `attestation` in gateway.yaml, a configured Runner is served only over a connection whose client
 * certificate key it has attested: it POSTs /v0/compute/attestation {"runner", "quote"} (mutual TLS, like
 * every Runner endpoint), the deployment's verifier plugin checks the quote (signature chain, collateral,
 * TCB), and this file checks the rest itself:
 *   - the Runner is one of runner_addresses;
 *   - the quote's report data is nox_attest_report_data(runner, SHA-256 of this connection's client
 *     certificate key): the quote was made for this wallet and this TLS key, so it cannot be replayed by
 *     another client, over another certificate, or for another wallet;
 *   - the measurements are one of attestation.measurements (MRTD and RTMR0..3, all equal);
 *   - it is still valid (the verifier's valid_until).
 * Who may send it: any client with a certificate of the client CA. What it lets them do: nothing more
 * than a Runner could already do, and only with a quote the TEE made for their wallet and TLS key.
 * The table holds one entry per configured Runner (the last accepted quote), in memory: a restarted
 * Gateway asks again (401 attestation_required), and the Runner's client presents a new quote.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "nox/attest.h"
#include "nox/base64.h"
#include "nox/hex.h"
#include "nox/log.h"

typedef struct attested {
    int set;
    uint8_t cert_key[32];
    uint64_t valid_until;
} attested;

struct gw_attestation {
    nox_attest_verifier *verifier;
    pthread_mutex_t lock;  /* guards runners[] */
    attested *runners;     /* [cfg.n_runners] */
    nox_counter *results[4];
};

enum { R_ACCEPTED, R_REFUSED, R_UNAVAILABLE, R_REQUIRED };
static const char *const RESULT_LABELS[] = {"accepted", "refused", "unavailable", "request_refused"};

/* ---- the endpoint --------------------------------------------------------------- */

static uint64_t now_s(void) { return (uint64_t)time(NULL); }

static int allowed(const gw_config *cfg, const nox_attestation_verdict *v) {
    for (size_t i = 0; i < cfg->attestation.n_measurements; i++) {
        const gw_measurement *m = &cfg->attestation.measurements[i];
        if (!memcmp(m->mrtd, v->mrtd, sizeof m->mrtd) && !memcmp(m->rtmr, v->rtmr, sizeof m->rtmr)) return 1;
    }
    return 0;
}

static void refuse(struct gw_attestation *a, nox_http_response *resp, const char *runner, const char *why,
                   const char *detail) {
    nox_counter_add(a->results[R_REFUSED], 1);
    nox_log(NOX_LOG_WARN, "attestation of runner %s refused: %s%s", runner, why, detail);
    nox_http_respond_error(resp, 401, "attestation_refused", "%s: %s%s", runner, why, detail);
}

/* POST /v0/compute/attestation {"runner": "0x…", "quote": "<base64>"} */
static void handle_attestation(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    struct gw_attestation *a = st->attestation;
    size_t len;
    const char *body = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *doc = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    const char *runner_text = NULL, *quote_text = NULL;
    uint8_t runner[NOX_ADDRESS_SIZE], cert_key[32], expected[NOX_ATTESTATION_REPORT_DATA_SIZE];
    uint8_t *quote = NULL;
    size_t quote_len = 0, idx = st->cfg.n_runners;
    nox_error err = {0};
    if (!json_is_object(doc)) {
        nox_http_respond_error(resp, 400, "bad_request", "the body must be a JSON object {\"runner\", \"quote\"}");
        goto out;
    }
    if (!(runner_text = gw_json_string(doc, "runner", 400, "bad_request", resp)) ||
        !(quote_text = gw_json_string(doc, "quote", 400, "bad_request", resp)))
        goto out;
    if (nox_hex_decode_exact(runner_text, strlen(runner_text), runner, sizeof runner, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "runner must be an address (0x + 40 hex digits)");
        goto out;
    }
    if (!(quote = malloc(NOX_ATTESTATION_MAX_QUOTE)) ||
        nox_base64_decode(quote_text, strlen(quote_text), quote, NOX_ATTESTATION_MAX_QUOTE, &quote_len, &err) ||
        quote_len == 0) {
        nox_http_respond_error(resp, 400, "bad_request", "quote must be base64 of 1 to %u bytes%s%s",
                               NOX_ATTESTATION_MAX_QUOTE, err.message[0] ? ": " : "", err.message);
        goto out;
    }
    for (size_t i = 0; i < st->cfg.n_runners && idx == st->cfg.n_runners; i++)
        if (!memcmp(runner, st->cfg.runners[i], NOX_ADDRESS_SIZE)) idx = i;
    if (idx == st->cfg.n_runners) {
        refuse(a, resp, runner_text, "not a configured Runner", "");
        goto out;
    }
    if (!nox_http_request_peer_key(req, cert_key)) { /* the server already required a verified certificate */
        refuse(a, resp, runner_text, "no verified client certificate on this connection", "");
        goto out;
    }
    nox_attestation_verdict v;
    if (nox_attest_verify(a->verifier, quote, quote_len, now_s(), &v, &err)) {
        nox_counter_add(a->results[R_UNAVAILABLE], 1);
        nox_log(NOX_LOG_WARN, "attestation of runner %s not decided: %s", runner_text, err.message);
        nox_http_respond_error(resp, 503, "attestation_unavailable", "%s", err.message);
        goto out;
    }
    nox_attest_report_data(runner, cert_key, expected);
    char mrtd[2 * NOX_ATTESTATION_MEASUREMENT_SIZE + 3];
    nox_hex_encode(v.mrtd, sizeof v.mrtd, mrtd);
    if (!v.ok) {
        refuse(a, resp, runner_text, "the verifier refused the quote: ", v.reason);
    } else if (CRYPTO_memcmp(v.report_data, expected, sizeof expected) != 0) {
        refuse(a, resp, runner_text, "the quote's report data does not bind this Runner and this connection's "
               "client certificate (a quote made for another wallet or TLS key, or replayed)", "");
    } else if (!allowed(&st->cfg, &v)) {
        refuse(a, resp, runner_text, "measurements not in attestation.measurements: MRTD ", mrtd);
    } else if (v.valid_until <= now_s()) {
        refuse(a, resp, runner_text, "the quote's validity has passed", "");
    } else {
        pthread_mutex_lock(&a->lock);
        a->runners[idx].set = 1;
        memcpy(a->runners[idx].cert_key, cert_key, sizeof cert_key);
        a->runners[idx].valid_until = v.valid_until;
        pthread_mutex_unlock(&a->lock);
        nox_counter_add(a->results[R_ACCEPTED], 1);
        nox_log(NOX_LOG_INFO, "runner %s attested (MRTD %s) until %llu", runner_text, mrtd,
                (unsigned long long)v.valid_until);
        json_t *out = json_pack("{s:s, s:I, s:s}", "runner", runner_text, "validUntil", (json_int_t)v.valid_until,
                                "mrtd", mrtd);
        if (out) nox_http_respond_value(resp, out); /* takes the reference */
        else nox_http_respond_error(resp, 500, "internal", "out of memory");
    }
out:
    if (quote) OPENSSL_cleanse(quote, NOX_ATTESTATION_MAX_QUOTE);
    free(quote);
    json_decref(doc);
}

int gw_attestation_check(gw_state *st, const nox_http_request *req, size_t runner, nox_http_response *resp) {
    struct gw_attestation *a = st->attestation;
    if (!a) return 1;
    uint8_t key[32];
    int have_key = nox_http_request_peer_key(req, key);
    pthread_mutex_lock(&a->lock);
    attested e = a->runners[runner];
    pthread_mutex_unlock(&a->lock);
    const char *why = !e.set                               ? "has presented no quote"
                      : e.valid_until <= now_s()           ? "presented a quote that is no longer valid"
                      : !have_key || memcmp(key, e.cert_key, sizeof key)
                          ? "attested another client certificate than this connection's"
                          : NULL;
    if (!why) return 1;
    char addr[2 * NOX_ADDRESS_SIZE + 3];
    nox_counter_add(a->results[R_REQUIRED], 1);
    nox_http_respond_error(resp, 401, GW_ATTESTATION_REQUIRED,
                           "Runner %s %s: POST /v0/compute/attestation first (docs/PROTOCOL-EXTENSIONS.md §12)",
                           nox_hex_encode(st->cfg.runners[runner], NOX_ADDRESS_SIZE, addr), why);
    return 0;
}

nox_status gw_attestation_start(gw_state *st, nox_http_server *server, nox_error *err) {
    const gw_attestation_config *c = &st->cfg.attestation;
    if (!c->verifier[0]) return NOX_OK;
    struct gw_attestation *a = calloc(1, sizeof *a);
    if (!a || !(a->runners = calloc(st->cfg.n_runners, sizeof *a->runners))) {
        free(a);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&a->lock, NULL);
    st->attestation = a;
    nox_status s = nox_attest_verifier_load(c->verifier, c->config, &a->verifier, err);
    if (!s)
        s = nox_http_counters(server, "nox_gateway_attestations_total",
                              "Runner attestations: quotes accepted, refused, undecided (the verifier could not "
                              "decide), and Runner requests refused for want of one",
                              "result", RESULT_LABELS, 4, a->results, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/compute/attestation", handle_attestation, st, err);
    if (!s)
        nox_log(NOX_LOG_INFO, "attestation required of every Runner: verifier %s, %zu measurement(s) allowed",
                nox_attest_verifier_name(a->verifier), c->n_measurements);
    return s;
}

void gw_attestation_stop(gw_state *st) {
    struct gw_attestation *a = st->attestation;
    if (!a) return;
    nox_attest_verifier_free(a->verifier);
    pthread_mutex_destroy(&a->lock);
    free(a->runners);
    free(a);
    st->attestation = NULL;
}
