/*
 * The KMS's POST /v0/delegate?chainId=N, POST /v0/delegate/batch and /v0/delegate/partials (the same input), GET
 * /v0/public-key?chainId=N, through the real handlers: the query, the Bearer
 * header, the JSON body, the point and the RSA SPKI key (the real ECDH and
 * RSA-OAEP run). A Bearer signature starting with 0x00 is accepted as the
 * configured Gateway's (fuzz_services_stubs.c).
 *
 * Input (text; sections separated by a line "--"): CHAINID\n--\nAUTHORIZATION\n--\nBODY
 * ("-" for an absent query parameter or header).
 * Invariants: one well-formed JSON answer per request; a 200 carries an
 * encryptedSharedSecret (a partials 200: an envelope of this node); no leak. The node holds a 1-of-1 group.
 */
#include "fake_http.h"
#include "fuzz_services_stubs.h"
#include "fuzz_util.h"
#include "kms.h"
#include "nox/log.h"

static kms_state state;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nox_log_init("fuzz", NOX_LOG_ERROR);
    nox_error err = {0};
    static kms_chain chains[2] = {{.chain_id = 31337}, {.chain_id = 1}};
    fuzz_trusted_signer[19] = 2;
    memcpy(chains[0].gateway, fuzz_trusted_signer, NOX_ADDRESS_SIZE);
    memset(chains[1].gateway, 0x11, NOX_ADDRESS_SIZE);
    state.cfg.chains = chains;
    state.cfg.n_chains = 2;
    FUZZ_CHECK(nox_ec_key_generate(&state.key, &err) == NOX_OK);
    FUZZ_CHECK(nox_ec_key_generate(&state.wallet, &err) == NOX_OK);
    nox_ec_pubkey pub;
    FUZZ_CHECK(nox_ec_pubkey_of(&state.key, &pub, &err) == NOX_OK);
    nox_ec_pubkey_compressed(&pub, state.public_key);
    FUZZ_CHECK(nox_th_group_single(state.public_key, &state.group, &err) == NOX_OK);
    state.index = 1;
    FUZZ_CHECK(kms_prepare_public_keys(&state, &err) == NOX_OK);
    state.target_keys = nox_rsa_cache_new(8);
    FUZZ_CHECK(state.target_keys != NULL);
    return 0;
}

static char *section(const uint8_t **p, const uint8_t *end, int *last) {
    const uint8_t *at = memmem(*p, (size_t)(end - *p), "\n--\n", 4);
    const uint8_t *e = at ? at : end;
    char *s = fuzz_strndup(*p, (size_t)(e - *p));
    *p = at ? at + 4 : end;
    *last = !at;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *p = data, *end = data + size;
    int last = 0;
    char *chain = section(&p, end, &last);
    char *auth = last ? fuzz_strndup((const uint8_t *)"-", 1) : section(&p, end, &last);
    size_t body_len = last ? 0 : (size_t)(end - p);
    char *body = fuzz_strndup(p, body_len);
    fake_request req = {.method = "POST", .path = "/v0/delegate", .body = body, .body_len = body_len};
    if (strcmp(chain, "-")) {
        req.query_names[0] = "chainId";
        req.query_values[0] = chain;
    }
    if (strcmp(auth, "-")) {
        req.header_names[0] = "Authorization";
        req.header_values[0] = auth;
    }
    fake_response resp = {0};
    kms_handle_delegate(&state, fake_req(&req), fake_resp(&resp));
    if (resp.status == 200) FUZZ_CHECK(strstr(resp.body, "\"encryptedSharedSecret\"") != NULL);
    fake_response_check(&resp);
    kms_handle_delegate_batch(&state, fake_req(&req), fake_resp(&resp)); /* the same input as a batch */
    if (resp.status == 200) FUZZ_CHECK(strstr(resp.body, "\"encryptedSharedSecrets\"") != NULL);
    fake_response_check(&resp);
    kms_handle_delegate_partials(&state, fake_req(&req), fake_resp(&resp)); /* and as a partials request */
    if (resp.status == 200) FUZZ_CHECK(strstr(resp.body, "\"wrappedKey\"") != NULL && strstr(resp.body, "\"node\":1"));
    fake_response_check(&resp);
    kms_handle_public_key(&state, fake_req(&req), fake_resp(&resp));
    fake_response_check(&resp);
    free(chain);
    free(auth);
    free(body);
    return 0;
}
