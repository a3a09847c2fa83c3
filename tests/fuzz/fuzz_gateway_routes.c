/*
 * The Gateway's request parsing (services/gateway/secrets_routes.c,
 * compute_routes.c, auth.c), through the real handlers with the store, the
 * KMS, the chain and signature recovery replaced (fuzz_services_stubs.c).
 *
 * Input (text; sections separated by a line "--"):
 *   ROUTE\n--\nPARAM\n--\nAUTH\n--\nBODY
 * ROUTE: post_secret, get_secret, status, operands, results or failures;
 * PARAM: the path's {handle}; AUTH: the JSON of the EIP712 Authorization header
 * (sent base64-encoded; "-" for none); BODY: the request body (may hold NULs).
 * A "signature" starting with 0x00 is accepted as the configured Runner's (chain
 * 31337) or, for GET /v0/secrets, the user's (the userAddress must be 0x0000...01
 * for it to match: fuzz_trusted_signer).
 * Invariants: every request gets exactly one well-formed JSON answer; the store
 * only sees validated rows; no leak.
 */
#include "fake_http.h"
#include "fuzz_services_stubs.h"
#include "fuzz_util.h"
#include "gateway.h"
#include "nox/base64.h"
#include "nox/log.h"

static gw_state state;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nox_log_init("fuzz", NOX_LOG_ERROR);
    nox_error err = {0};
    static gw_chain chains[2];
    static uint32_t ids[2] = {31337, 1};
    static uint8_t runners[1][NOX_ADDRESS_SIZE];
    nox_ec_privkey kms;
    for (int i = 0; i < 2; i++) {
        chains[i].chain_id = ids[i];
        memset(chains[i].nox_compute, 0xc0 + i, NOX_ADDRESS_SIZE);
        FUZZ_CHECK(nox_ec_key_generate(&kms, &err) == NOX_OK);
        FUZZ_CHECK(nox_ec_pubkey_of(&kms, &chains[i].kms_key, &err) == NOX_OK);
        nox_ec_pubkey_compressed(&chains[i].kms_key, chains[i].kms_public_key);
        chains[i].kms_check = GW_KMS_MATCH; /* as NoxCompute.kmsPublicKey() matched: POST /v0/secrets encrypts */
        nox_rpc_options ro; /* isViewer's pool: its calls are wrapped (fuzz_services_stubs.c), nothing connects */
        nox_rpc_options_default(&ro);
        ro.url = "http://127.0.0.1:9/";
        FUZZ_CHECK(nox_rpc_pool_new(&ro, 2, &chains[i].viewers, &err) == NOX_OK);
    }
    fuzz_trusted_signer[19] = 1;
    memcpy(runners[0], fuzz_trusted_signer, NOX_ADDRESS_SIZE);
    state.cfg.chains = chains;
    state.cfg.chain_ids = ids;
    state.cfg.n_chains = 2;
    state.cfg.runners = runners;
    state.cfg.n_runners = 1;
    state.cfg.default_chain_id = 31337;
    pthread_mutex_init(&state.check_lock, NULL);
    /* both Runner forms: the spec 4.4 seeds reach the body parsers with any body, the bound ones (corpus
     * bound-*, window around FUZZ_NOW, right digests) the window and content checks (PROTOCOL-EXTENSIONS §7) */
    state.cfg.accept_legacy_authorizations = 1;
    FUZZ_CHECK(nox_ec_key_generate(&state.wallet, &err) == NOX_OK);
    return 0;
}

static const uint8_t *section(const uint8_t *p, const uint8_t *end, const uint8_t **next) {
    static const char sep[] = "\n--\n";
    const uint8_t *at = memmem(p, (size_t)(end - p), sep, 4);
    *next = at ? at + 4 : NULL;
    return at ? at : end;
}

/*
 * POST /v0/secrets: an error answer (which the access log also records) must not quote the
 * plaintext `value`. Checked when the value has at least 16 hex digits, one of them a letter
 * (so that no decimal number the answer may quote, such as a chain id, can match by chance).
 */
static void check_no_plaintext(const char *body, size_t len, const char *answer) {
    json_error_t jerr;
    json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
    const char *v = j ? json_string_value(json_object_get(j, "value")) : NULL;
    if (v && (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))) {
        const char *digits = v + 2;
        size_t n = strspn(digits, "0123456789abcdefABCDEF");
        int letter = 0;
        for (size_t i = 0; i < n; i++) letter |= (digits[i] | 0x20) >= 'a' && (digits[i] | 0x20) <= 'f';
        if (n >= 16 && letter) {
            char *needle = fuzz_strndup((const uint8_t *)digits, n);
            if (strcasestr(answer, needle)) {
                fprintf(stderr, "plaintext quoted in an error answer: %s\n", answer);
                abort();
            }
            free(needle);
        }
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *end = data + size, *p = data, *next;
    const uint8_t *route_end = section(p, end, &next);
    char *route = fuzz_strndup(p, (size_t)(route_end - p));
    char *param = NULL, *auth = NULL, *body = NULL;
    size_t body_len = 0;
    if (next) {
        p = next;
        const uint8_t *e = section(p, end, &next);
        param = fuzz_strndup(p, (size_t)(e - p));
    }
    if (next) {
        p = next;
        const uint8_t *e = section(p, end, &next);
        if (!(e - p == 1 && *p == '-')) {
            auth = malloc(7 + NOX_BASE64_ENCODED_SIZE((size_t)(e - p)));
            if (!auth) abort();
            memcpy(auth, "EIP712 ", 7);
            nox_base64_encode(p, (size_t)(e - p), auth + 7);
        }
    }
    if (next) {
        body_len = (size_t)(end - next);
        body = fuzz_strndup(next, body_len);
    }
    fake_request req = {.method = "POST", .param = param ? param : "x", .body = body, .body_len = body_len};
    if (auth) {
        req.header_names[0] = "Authorization";
        req.header_values[0] = auth;
    }
    fake_response resp = {0};
    nox_http_handler h = NULL;
    if (!strcmp(route, "post_secret")) h = gw_handle_post_secret;
    else if (!strcmp(route, "get_secret")) h = gw_handle_get_secret;
    else if (!strcmp(route, "status")) h = gw_handle_status;
    else if (!strcmp(route, "operands")) h = gw_handle_operands;
    else if (!strcmp(route, "results")) h = gw_handle_results;
    else if (!strcmp(route, "failures")) h = gw_handle_failures;
    else if (!strcmp(route, "operands_batch")) h = gw_handle_operands_batch;
    else if (!strcmp(route, "results_batch")) h = gw_handle_results_batch;
    if (h && *req.param) { /* the router never hands over an empty {handle} */
        h(&state, fake_req(&req), fake_resp(&resp));
        if (h == gw_handle_post_secret && resp.status >= 400) check_no_plaintext(body, body_len, resp.body);
        fake_response_check(&resp);
    }
    free(route);
    free(param);
    free(auth);
    free(body);
    return 0;
}
