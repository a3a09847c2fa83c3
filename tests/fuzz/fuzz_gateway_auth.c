/*
 * gw_auth_decode (services/gateway/auth.c): the "Authorization: EIP712
 * <base64(JSON)>" header of every authenticated Gateway request. The input is
 * the header value as the server hands it over (a NUL-terminated string); an
 * input starting with '{' is taken as the JSON itself and sent base64-encoded
 * behind "EIP712 ", so that the fuzzer also explores the JSON inside.
 * Invariants: 1 exactly when *doc and *payload are set (payload an object of doc);
 * 0 exactly when a 401 (or 500) was answered; no leak either way.
 */
#include "fake_http.h"
#include "fuzz_util.h"
#include "gateway.h"
#include "nox/base64.h"
#include "nox/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nox_log_init("fuzz", NOX_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *header;
    if (size && data[0] == '{') {
        header = malloc(7 + NOX_BASE64_ENCODED_SIZE(size));
        if (!header) abort();
        memcpy(header, "EIP712 ", 7);
        nox_base64_encode(data, size, header + 7);
    } else {
        header = fuzz_strndup(data, size);
    }
    fake_request req = {.method = "GET", .path = "/v0/compute/operands"};
    req.header_names[0] = "Authorization";
    req.header_values[0] = header;
    fake_response resp = {0};
    json_t *doc = (json_t *)1, *payload = (json_t *)1;
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    int ok = gw_auth_decode(fake_req(&req), fake_resp(&resp), &doc, &payload, sig);
    if (ok) {
        FUZZ_CHECK(!resp.set);
        FUZZ_CHECK(doc && json_is_object(doc) && payload && json_is_object(payload));
        FUZZ_CHECK(json_object_get(doc, "payload") == payload);
        json_decref(doc);
    } else {
        FUZZ_CHECK(resp.set && (resp.status == 401 || resp.status == 500));
        FUZZ_CHECK(doc == NULL && payload == NULL);
        fake_response_check(&resp);
    }
    free(resp.body);
    free(header);
    return 0;
}
