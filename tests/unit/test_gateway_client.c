/*
 * The Runner's Gateway client (nox/gateway_client.h): how it reads the Gateway's 400 operand_failed
 * answers (docs/PROTOCOL-EXTENSIONS.md §3) into nox_gateway_fetch's failed operands — the `failed`
 * list of a current Gateway, the operand named in the message of a Gateway that sends no list (the
 * answer every Gateway sent before the list existed), and anything else ignored rather than guessed —
 * on the batch endpoint, on GET /v0/compute/operands (a Gateway without the batch endpoint), and for a
 * request of more than 1024 operands, fetched in parts whose answers make one.
 *
 * The peer is an in-process nox/http_server that answers the operand requests the way the Gateway's
 * wire format says (tests/integration/gateway_test.py checks the real Gateway's answers; runner_test.py
 * the Runner against it); `answer_style` picks which Gateway it plays. It also keeps the last
 * authorizations and bodies it was sent, so that the last test checks what the client signs: the bound
 * forms of docs/PROTOCOL-EXTENSIONS.md §7 (window, content digest of the body actually sent, the
 * version-2 domain naming the Gateway) for operand reads, results and failure records, single and batched.
 * Its operands are real: one value encrypted to a 1-of-1 KMS key, whose partials it seals to the client's RSA
 * key as a KMS node would (docs/PROTOCOL-EXTENSIONS.md §11), so each fetched operand decrypts to VALUE.
 */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nox/base64.h"
#include "nox/delegation.h"
#include "nox/eip712.h"
#include "nox/gateway_client.h"
#include "nox/hex.h"
#include "nox/http_server.h"
#include "nox/runner_auth.h"
#include "test_util.h"

/* ---- the peer ------------------------------------------------------------------------------ */

enum style {
    CURRENT,        /* operand_failed with the `failed` list */
    NO_LIST,        /* operand_failed, the first failed operand named in the message only */
    BAD_LIST,       /* a `failed` list whose entries lack a reason: to be ignored */
    OTHER_HANDLES,  /* a list and a message that name handles not asked for: nothing to take */
    OTHER_CODE,     /* the same body under another error code: not a failed-operand answer */
};
static enum style answer_style;
static atomic_int no_batch_endpoint, batch_calls, get_calls;

enum { N_HANDLES = 1100 };
static nox_handle handles[N_HANDLES];
static int failed_at[N_HANDLES], missing_at[N_HANDLES]; /* per handle: has a failure record / is not stored */

/* The KMS the peer plays: a 1-of-1 group; one stored value (VALUE encrypted to it), served for every operand. */
enum { VALUE = 0x2a };
static nox_ec_privkey kms_key;
static nox_th_group kms_group;
static nox_rsa_key *requester;
static char ct_hex[2 * 17 + 3], iv_hex[2 * 12 + 3], k_hex[2 * 33 + 3];
static uint8_t k_bytes[33];
static size_t next_item; /* items handed out in the answer being built */
/* liar mode: a 2-of-3 group whose node 2 seals wrong partials; the fake asks nodes 1 and 2 unless the request
 * excludes 2 (then 1 and 3) */
static int liar_mode;
static nox_ec_privkey liar_shares[3];
static nox_th_group liar_group;
static uint64_t fake_exclude;
static uint8_t liar_ct[17], liar_iv[12], liar_k[33];

static void kms_setup(void) {
    nox_error err = {0};
    nox_ec_pubkey pub;
    uint8_t p[33], ct[17], iv[12], plain[1] = {VALUE};
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(&kms_key, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ec_pubkey_of(&kms_key, &pub, &err), NOX_OK);
    nox_ec_pubkey_compressed(&pub, p);
    CU_ASSERT_EQUAL_FATAL(nox_th_group_single(p, &kms_group, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&pub, plain, 1, ct, k_bytes, iv, &err), NOX_OK);
    nox_hex_encode(ct, sizeof ct, ct_hex);
    nox_hex_encode(iv, sizeof iv, iv_hex);
    nox_hex_encode(k_bytes, sizeof k_bytes, k_hex);
    if (!requester) CU_ASSERT_EQUAL_FATAL(nox_rsa_generate(2048, &requester, &err), NOX_OK);
    /* the 2-of-3 group and VALUE encrypted to its key; node 2's share made wrong (+1) */
    nox_ec_pubkey gp;
    CU_ASSERT_EQUAL_FATAL(nox_th_deal(NULL, 2, 3, &liar_group, liar_shares, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ec_pubkey_parse_compressed(&gp, liar_group.public_key, 33, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&gp, plain, 1, liar_ct, liar_k, liar_iv, &err), NOX_OK);
    for (int i = 31, carry = 1; i >= 0 && carry; i--) { /* share 2 + 1 (no wrap: a share is < n - 1 here) */
        int v = liar_shares[1].d[i] + carry;
        liar_shares[1].d[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

/* "0x" + hex as a JSON string. */
static json_t *hex_json(const uint8_t *b, size_t n) {
    char *t = malloc(2 * n + 3);
    json_t *v = json_string(nox_hex_encode(b, n, t));
    free(t);
    return v;
}

/* One node's envelope of next_item copies of K as a "delegations" entry. */
static json_t *envelope(const nox_ec_privkey *share, unsigned node, const uint8_t vk[33], const uint8_t k[33]) {
    uint8_t(*eph)[33] = calloc(next_item, sizeof *eph);
    for (size_t i = 0; i < next_item; i++) memcpy(eph[i], k, 33);
    nox_sealed_partials s;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_delegation_seal_partials(share, node, 31337, (const uint8_t(*)[33])eph, next_item,
                                                       requester, NULL, &s, &err), NOX_OK);
    json_t *o = json_pack("{s:i, s:o, s:o, s:o, s:o}", "node", (int)node, "verificationKey", hex_json(vk, 33),
                          "wrappedKey", hex_json(s.wrapped_key, s.wrapped_key_len), "iv", hex_json(s.iv, sizeof s.iv),
                          "ciphertext", hex_json(s.ciphertext, s.ciphertext_len));
    nox_sealed_partials_free(&s);
    free(eph);
    return o;
}

/* Adds "threshold" and "delegations" to an answer that served operands: node 1's envelope (1-of-1), or, in liar
 * mode, nodes 1 and 2 (2 lying) unless the request excluded node 2 (then 1 and 3). */
static void add_delegations(json_t *answer) {
    if (!next_item) return;
    if (!liar_mode) {
        json_object_set_new(answer, "threshold", json_integer(1));
        json_object_set_new(answer, "delegations",
                            json_pack("[o]", envelope(&kms_key, 1, kms_group.verification_keys[0], k_bytes)));
        return;
    }
    unsigned second = fake_exclude & 2 ? 3 : 2;
    json_object_set_new(answer, "threshold", json_integer(2));
    json_object_set_new(answer, "delegations",
                        json_pack("[o, o]", envelope(&liar_shares[0], 1, liar_group.verification_keys[0], liar_k),
                                  envelope(&liar_shares[second - 1], second, liar_group.verification_keys[second - 1],
                                           liar_k)));
}

static int position(const char *text) {
    nox_handle h;
    nox_error err = {0};
    if (nox_hex_decode_exact(text, strlen(text), h.bytes, NOX_HANDLE_SIZE, &err)) return -1;
    for (int i = 0; i < N_HANDLES; i++)
        if (!memcmp(h.bytes, handles[i].bytes, NOX_HANDLE_SIZE)) return i;
    return -1;
}

static const char *reason_of(int i) {
    static char reasons[N_HANDLES][40];
    snprintf(reasons[i], sizeof reasons[i], "handle %d failed upstream", i);
    return reasons[i];
}

/* What the Gateway answers for one request's operand list: {"operands"} or an error object (status in *status). */
static json_t *answer(json_t *ops, int *status) {
    size_t n = json_array_size(ops);
    json_t *failed = json_array(), *list = json_array();
    size_t first_failed = SIZE_MAX, n_missing = 0;
    for (size_t k = 0; k < n; k++) {
        const char *t = json_string_value(json_array_get(ops, k));
        int i = t ? position(t) : -1;
        if (i >= 0 && failed_at[i]) {
            if (first_failed == SIZE_MAX) first_failed = k;
            json_array_append_new(failed, answer_style == BAD_LIST ? json_pack("{s:s}", "handle", t)
                                                                    : json_pack("{s:s, s:s}", "handle", t, "reason",
                                                                                reason_of(i)));
        } else if (i < 0 || missing_at[i]) {
            n_missing++;
        } else {
            char lc[2 * 17 + 3], li[2 * 12 + 3], lk[2 * 33 + 3];
            if (liar_mode) nox_hex_encode(liar_ct, 17, lc), nox_hex_encode(liar_iv, 12, li), nox_hex_encode(liar_k, 33, lk);
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I}", "handle", t, "ciphertext",
                                                  liar_mode ? lc : ct_hex, "iv", liar_mode ? li : iv_hex, "publicKey",
                                                  liar_mode ? lk : k_hex, "item", (json_int_t)next_item++));
        }
    }
    *status = 400;
    json_t *out;
    if (first_failed != SIZE_MAX || n_missing) next_item -= json_array_size(list); /* not served */
    if (first_failed != SIZE_MAX) {
        char msg[300], other[67];
        const char *named = json_string_value(json_array_get(ops, first_failed));
        size_t index = first_failed;
        if (answer_style == OTHER_HANDLES) { /* another handle, at a position that exists */
            memset(other, 'e', sizeof other - 1);
            other[0] = '0', other[1] = 'x', other[66] = '\0';
            named = other;
            json_decref(failed);
            failed = json_pack("[{s:s, s:s}]", "handle", other, "reason", "not yours");
        }
        snprintf(msg, sizeof msg, "operands[%zu] %s failed and will not be stored: %s", index, named,
                 reason_of(position(json_string_value(json_array_get(ops, first_failed)))));
        out = json_pack("{s:s, s:s}", "error", answer_style == OTHER_CODE ? "bad_request" : "operand_failed",
                        "message", msg);
        if (answer_style != NO_LIST) json_object_set(out, "failed", failed);
    } else if (n_missing) {
        out = json_pack("{s:s, s:s}", "error", "not_found", "message", "operand(s) not found");
    } else {
        *status = 200;
        out = json_pack("{s:O}", "operands", list);
    }
    json_decref(failed);
    json_decref(list);
    return out;
}

static void respond(nox_http_response *resp, int status, json_t *body) {
    char *text = json_dumps(body, JSON_COMPACT);
    nox_http_respond_json(resp, (unsigned)status, text);
    free(text);
    json_decref(body);
}

/* What the peer was sent last (each exchange completes before the client returns): replaced, never freed early. */
static json_t *seen_auth, *seen_body; /* the decoded Authorization header's JSON, the body's JSON */

static void keep(json_t **slot, json_t *v) {
    json_decref(*slot);
    *slot = v;
}

/* The JSON inside "Authorization: EIP712 <base64>", or NULL. */
static json_t *auth_json(const nox_http_request *req) {
    const char *auth = nox_http_request_header(req, "Authorization");
    size_t raw_len = 0, cap = auth ? strlen(auth) : 0;
    uint8_t *raw = malloc(cap + 1);
    nox_error err = {0};
    json_t *doc = NULL;
    json_error_t jerr;
    if (raw && auth && !strncmp(auth, "EIP712 ", 7) &&
        !nox_base64_decode(auth + 7, strlen(auth + 7), raw, cap, &raw_len, &err))
        doc = json_loadb((const char *)raw, raw_len, 0, &jerr);
    free(raw);
    return doc;
}

static json_t *body_json(const nox_http_request *req) {
    size_t len;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    return text ? json_loadb(text, len, 0, &jerr) : NULL;
}

/* POST /v0/compute/results and /v0/compute/failures: kept, answered as stored. */
static void publish_one(void *user, const nox_http_request *req, nox_http_response *resp) {
    keep(&seen_auth, auth_json(req));
    keep(&seen_body, body_json(req));
    json_int_t n = (json_int_t)json_array_size(seen_body);
    respond(resp, 200, user ? json_pack("{s:I}", "recorded", n)
                            : json_pack("{s:I, s:I, s:I}", "created", n, "unchanged", (json_int_t)0, "conflicted",
                                        (json_int_t)0));
}

static void publish_batch(void *user, const nox_http_request *req, nox_http_response *resp) {
    (void)user;
    keep(&seen_body, body_json(req));
    json_t *responses = json_array();
    for (size_t i = 0; i < json_array_size(json_object_get(seen_body, "transactions")); i++)
        json_array_append_new(responses, json_pack("{s:i, s:i, s:i}", "created", 1, "unchanged", 0, "conflicted", 0));
    respond(resp, 200, json_pack("{s:o}", "responses", responses));
}

static void batch(void *user, const nox_http_request *req, nox_http_response *resp) {
    (void)user;
    if (atomic_load(&no_batch_endpoint)) {
        nox_http_respond_error(resp, 404, "not_found", "no route");
        return;
    }
    atomic_fetch_add(&batch_calls, 1);
    size_t len;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, 0, &jerr), *responses = json_array();
    keep(&seen_body, json_incref(body));
    json_t *requests = json_object_get(body, "requests"), *ex = json_object_get(body, "excludeNodes"), *v;
    size_t xi;
    next_item = 0;
    fake_exclude = 0;
    json_array_foreach(ex, xi, v) fake_exclude |= (uint64_t)1 << (json_integer_value(v) - 1);
    for (size_t r = 0; r < json_array_size(requests); r++) {
        int status;
        json_t *a = answer(json_object_get(json_object_get(json_array_get(requests, r), "payload"), "operands"),
                           &status);
        if (status != 200) json_object_set_new(a, "status", json_integer(status));
        json_array_append_new(responses, a);
    }
    json_decref(body);
    json_t *whole = json_pack("{s:o}", "responses", responses);
    add_delegations(whole);
    respond(resp, 200, whole);
}

static void single(void *user, const nox_http_request *req, nox_http_response *resp) {
    (void)user;
    atomic_fetch_add(&get_calls, 1);
    keep(&seen_auth, auth_json(req));
    const char *auth = nox_http_request_header(req, "Authorization");
    size_t raw_len = 0, cap = auth ? strlen(auth) : 0;
    uint8_t *raw = malloc(cap + 1);
    nox_error err = {0};
    if (!raw || !auth || strncmp(auth, "EIP712 ", 7) ||
        nox_base64_decode(auth + 7, strlen(auth + 7), raw, cap, &raw_len, &err)) {
        free(raw);
        nox_http_respond_error(resp, 401, "unauthorized", "no authorization");
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)raw, raw_len, 0, &jerr);
    free(raw);
    int status;
    next_item = 0;
    json_t *a = answer(json_object_get(json_object_get(doc, "payload"), "operands"), &status);
    json_decref(doc);
    if (status == 200) add_delegations(a);
    respond(resp, status, a);
}

static nox_http_server *server;
static nox_gateway_client *client;
static uint8_t wallet_address[NOX_ADDRESS_SIZE], gateway_address[NOX_ADDRESS_SIZE];

static void start(void) {
    nox_http_options o;
    nox_http_options_default(&o);
    o.service = "fakegateway";
    o.listen = "127.0.0.1:0";
    o.max_body = 4u << 20;
    o.max_header = 256u << 10;
    nox_error err = {0};
    nox_status st = nox_http_server_new(&o, &server, &err);
    if (!st) st = nox_http_route(server, "POST", "/v0/compute/operands/batch", batch, NULL, &err);
    if (!st) st = nox_http_route(server, "GET", "/v0/compute/operands", single, NULL, &err);
    if (!st) st = nox_http_route(server, "POST", "/v0/compute/results", publish_one, NULL, &err);
    if (!st) st = nox_http_route(server, "POST", "/v0/compute/failures", publish_one, (void *)1, &err);
    if (!st) st = nox_http_route(server, "POST", "/v0/compute/results/batch", publish_batch, NULL, &err);
    if (!st) st = nox_http_server_start(server, &err);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", nox_http_server_port(server));
    nox_ec_privkey wallet;
    if (!st) st = nox_ec_key_generate(&wallet, &err);
    nox_gateway_signing signing = {.lifetime_s = 0}; /* the default: 60 s */
    memset(gateway_address, 0x6a, NOX_ADDRESS_SIZE);
    memcpy(signing.gateway_address, gateway_address, NOX_ADDRESS_SIZE);
    if (!st) st = nox_ec_key_address(&wallet, wallet_address, &err);
    if (!st) st = nox_gateway_client_new(url, NULL, &wallet, &signing, 10000, &client, &err);
    nox_ec_key_wipe(&wallet);
    kms_setup();
    if (!st) nox_gateway_client_set_requester(client, requester, NULL);
    if (st) fprintf(stderr, "\n  cannot start: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(st, NOX_OK);
}

static void stop(void) {
    nox_gateway_client_free(client);
    nox_http_server_stop(server);
    nox_http_server_free(server);
    client = NULL;
    server = NULL;
    keep(&seen_auth, NULL);
    keep(&seen_body, NULL);
}

static void reset(enum style s) {
    answer_style = s;
    memset(failed_at, 0, sizeof failed_at);
    memset(missing_at, 0, sizeof missing_at);
    atomic_store(&batch_calls, 0);
    atomic_store(&get_calls, 0);
}

/* Fetches handles[first..first+n) as one request of a batch; the request is left in *r (out, failed: caller's). */
static void fetch(nox_gateway_fetch *r, size_t first, size_t n, nox_gateway_operand *out,
                  nox_gateway_failed_operand *failed) {
    memset(r, 0, sizeof *r);
    r->tx.chain_id = 31337;
    r->tx.block_number = 5;
    r->handles = handles + first;
    r->n = n;
    r->out = out;
    r->failed = failed;
    nox_error err = {0};
    nox_gateway_fetch_operands_batch(client, r, 1, "0x00", &err);
}

static int is_operand_failed(const nox_gateway_fetch *r) {
    return r->status == NOX_ERR_REMOTE && r->fault.http_status == 400 && !strcmp(r->fault.code, "operand_failed");
}

/* ---- tests ------------------------------------------------------------------------------------ */

static nox_gateway_operand outs[N_HANDLES];
static nox_gateway_failed_operand failed[N_HANDLES];

/* A KMS node whose partials are wrong: named, excluded from the next request (sent at once), value right. */
static void test_lying_node(void) {
    start();
    reset(CURRENT);
    liar_mode = 1;
    nox_gateway_fetch r;
    fetch(&r, 0, 3, outs, failed);
    CU_ASSERT_EQUAL(r.status, NOX_OK);
    CU_ASSERT_EQUAL(atomic_load(&batch_calls), 2); /* the first answer named node 2; asked again without it */
    json_t *ex = json_object_get(seen_body, "excludeNodes");
    CU_ASSERT(json_is_array(ex) && json_array_size(ex) == 1 && json_integer_value(json_array_get(ex, 0)) == 2);
    for (int i = 0; i < 3; i++) CU_ASSERT(outs[i].plaintext_len == 1 && outs[i].plaintext[0] == VALUE);
    /* remembered: the next fetch excludes node 2 from the start (one request) */
    reset(CURRENT);
    fetch(&r, 0, 2, outs, failed);
    CU_ASSERT_EQUAL(r.status, NOX_OK);
    CU_ASSERT_EQUAL(atomic_load(&batch_calls), 1);
    liar_mode = 0;
    stop();
}

static void test_failed_list(void) {
    start();
    reset(CURRENT);
    failed_at[1] = failed_at[3] = 1;
    missing_at[2] = 1; /* not stored, no record: does not count as failed */
    nox_gateway_fetch r;
    fetch(&r, 0, 5, outs, failed);
    CU_ASSERT(is_operand_failed(&r));
    CU_ASSERT_EQUAL_FATAL(r.n_failed, 2);
    CU_ASSERT_EQUAL(failed[0].index, 1);
    CU_ASSERT_STRING_EQUAL(failed[0].reason, "handle 1 failed upstream");
    CU_ASSERT_EQUAL(failed[1].index, 3);
    CU_ASSERT_STRING_EQUAL(failed[1].reason, "handle 3 failed upstream");
    CU_ASSERT_EQUAL(atomic_load(&batch_calls), 1);
    /* no room given: nothing listed (and nothing written) */
    fetch(&r, 0, 5, outs, NULL);
    CU_ASSERT(is_operand_failed(&r));
    CU_ASSERT_EQUAL(r.n_failed, 0);
    /* the operands asked again without the failed ones: not_found for the missing one, then served */
    nox_handle again[3] = {handles[0], handles[2], handles[4]};
    memset(&r, 0, sizeof r);
    r.tx.chain_id = 31337;
    r.handles = again;
    r.n = 3;
    r.out = outs;
    r.failed = failed;
    nox_error err = {0};
    nox_gateway_fetch_operands_batch(client, &r, 1, "0x00", &err);
    CU_ASSERT_EQUAL(r.status, NOX_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(r.n_failed, 0);
    missing_at[2] = 0;
    nox_gateway_fetch_operands_batch(client, &r, 1, "0x00", &err);
    CU_ASSERT_EQUAL(r.status, NOX_OK);
    CU_ASSERT_EQUAL(outs[2].plaintext_len, 1);
    CU_ASSERT_EQUAL(outs[2].plaintext[0], VALUE);
    stop();
}

static void test_gateway_without_list(void) {
    start();
    reset(NO_LIST);
    failed_at[2] = failed_at[4] = 1;
    nox_gateway_fetch r;
    fetch(&r, 0, 6, outs, failed);
    CU_ASSERT(is_operand_failed(&r));
    CU_ASSERT_EQUAL_FATAL(r.n_failed, 1); /* the one the message names */
    CU_ASSERT_EQUAL(failed[0].index, 2);
    CU_ASSERT_STRING_EQUAL(failed[0].reason, "handle 2 failed upstream");
    /* a list whose entries lack their reason is not used: the message still names one */
    reset(BAD_LIST);
    failed_at[2] = failed_at[4] = 1;
    fetch(&r, 0, 6, outs, failed);
    CU_ASSERT_EQUAL_FATAL(r.n_failed, 1);
    CU_ASSERT_EQUAL(failed[0].index, 2);
    stop();
}

static void test_nothing_to_take(void) {
    start();
    /* a list and a message about handles that were not asked for: no failed operand, the refusal stays */
    reset(OTHER_HANDLES);
    failed_at[1] = 1;
    nox_gateway_fetch r;
    fetch(&r, 0, 3, outs, failed);
    CU_ASSERT(is_operand_failed(&r));
    CU_ASSERT_EQUAL(r.n_failed, 0);
    /* the same body under another error code is no failed-operand answer */
    reset(OTHER_CODE);
    failed_at[1] = 1;
    fetch(&r, 0, 3, outs, failed);
    CU_ASSERT_EQUAL(r.status, NOX_ERR_REMOTE);
    CU_ASSERT_STRING_EQUAL(r.fault.code, "bad_request");
    CU_ASSERT_EQUAL(r.n_failed, 0);
    stop();
}

static void test_get_fallback(void) {
    start();
    reset(CURRENT);
    atomic_store(&no_batch_endpoint, 1); /* a Gateway without the batch endpoint: GET, message only */
    failed_at[0] = failed_at[2] = 1;
    nox_gateway_fetch r;
    fetch(&r, 0, 3, outs, failed);
    CU_ASSERT(is_operand_failed(&r));
    CU_ASSERT_EQUAL(atomic_load(&get_calls), 1);
    CU_ASSERT_EQUAL_FATAL(r.n_failed, 1);
    CU_ASSERT_EQUAL(failed[0].index, 0);
    CU_ASSERT_STRING_EQUAL(failed[0].reason, "handle 0 failed upstream");
    atomic_store(&no_batch_endpoint, 0);
    stop();
}

static void test_parts(void) {
    start();
    reset(CURRENT);
    /* 1100 operands: two parts of 1024 and 76; a failed operand in each, a missing one in the first */
    failed_at[3] = failed_at[1050] = 1;
    missing_at[7] = 1;
    nox_gateway_fetch r;
    fetch(&r, 0, N_HANDLES, outs, failed);
    CU_ASSERT_EQUAL(atomic_load(&batch_calls), 2);
    CU_ASSERT(is_operand_failed(&r)); /* operand_failed wins over not_found: those will never come */
    CU_ASSERT_EQUAL_FATAL(r.n_failed, 2);
    CU_ASSERT_EQUAL(failed[0].index, 3);
    CU_ASSERT_EQUAL(failed[1].index, 1050); /* the second part's position, in the whole request */
    CU_ASSERT_STRING_EQUAL(failed[1].reason, "handle 1050 failed upstream");
    /* only a missing one: not_found; none: every part served */
    reset(CURRENT);
    missing_at[1099] = 1;
    fetch(&r, 0, N_HANDLES, outs, failed);
    CU_ASSERT_EQUAL(r.status, NOX_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(r.n_failed, 0);
    reset(CURRENT);
    fetch(&r, 0, N_HANDLES, outs, failed);
    CU_ASSERT_EQUAL(r.status, NOX_OK);
    CU_ASSERT_EQUAL(outs[1099].plaintext_len, 1);
    CU_ASSERT_EQUAL(outs[1099].plaintext[0], VALUE);
    stop();
}

/* ---- what the client signs (docs/PROTOCOL-EXTENSIONS.md §7) ----------------------------------- */

enum kind { OPERANDS, RESULTS, FAILURES };

static void hex_of(json_t *o, const char *name, uint8_t *out, size_t cap, size_t *len) {
    json_t *v = json_object_get(o, name);
    size_t got = 0;
    nox_error err = {0};
    CU_ASSERT_FATAL(json_is_string(v));
    CU_ASSERT_EQUAL_FATAL(nox_hex_decode(json_string_value(v), json_string_length(v), out, cap, &got, &err), NOX_OK);
    if (len) *len = got;
    else CU_ASSERT_EQUAL(got, cap);
}

/* The content digest of a body's items, from the JSON the peer received (the bytes the Gateway will see). */
static void digest_of_items(enum kind k, json_t *items, uint8_t out[32], uint64_t *count) {
    nox_content_digest d;
    nox_content_digest_init(&d);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *o = json_array_get(items, i);
        uint8_t h[32], tag[32], pk[33], nonce[12], ct[NOX_GATEWAY_MAX_CIPHERTEXT];
        size_t ct_len;
        hex_of(o, "handle", h, 32, NULL);
        if (k == FAILURES) {
            const char *r = json_string_value(json_object_get(o, "reason"));
            CU_ASSERT_PTR_NOT_NULL_FATAL(r);
            nox_content_digest_add_failure(&d, h, r, strlen(r));
            continue;
        }
        hex_of(o, "handleValueTag", tag, 32, NULL);
        hex_of(o, "publicKey", pk, 33, NULL);
        hex_of(o, "nonce", nonce, 12, NULL);
        hex_of(o, "ciphertext", ct, sizeof ct, &ct_len);
        nox_content_digest_add_result(&d, h, tag, pk, nonce, ct, ct_len);
    }
    nox_content_digest_final(&d, out);
    *count = d.count;
}

static uint64_t member_uint(json_t *p, const char *name) {
    json_t *v = json_object_get(p, name);
    CU_ASSERT_FATAL(json_is_integer(v) && json_integer_value(v) >= 0);
    return (uint64_t)json_integer_value(v);
}

/*
 * Checks one {payload, signature} the client made for a request of kind k with body items `items`
 * (results, records; operands: NULL): the window it was signed with, the count and digest of the
 * items actually sent, and a signature by the wallet under the version-2 domain naming the Gateway
 * (and under no other). Returns 1 when all hold.
 */
static int check_signed(json_t *doc, enum kind k, json_t *items) {
    json_t *p = json_object_get(doc, "payload");
    const char *sig_hex = json_string_value(json_object_get(doc, "signature"));
    int failures_before = (int)CU_get_number_of_failures();
    CU_ASSERT_FATAL(json_is_object(p) && sig_hex);
    nox_eip712_runner_scope s = {.chain_id = member_uint(p, "chainId"),
                                 .block_number = member_uint(p, "blockNumber"),
                                 .transaction_hash = json_string_value(json_object_get(p, "transactionHash")),
                                 .not_before = member_uint(p, "notBefore"),
                                 .expires_at = member_uint(p, "expiresAt")};
    hex_of(p, "caller", s.caller, 20, NULL);
    uint64_t now = (uint64_t)time(NULL);
    CU_ASSERT(s.not_before + NOX_RUNNER_AUTH_BACKDATE_S <= now && now <= s.not_before + NOX_RUNNER_AUTH_BACKDATE_S + 5);
    CU_ASSERT_EQUAL(s.expires_at - s.not_before, NOX_RUNNER_AUTH_BACKDATE_S + NOX_RUNNER_AUTH_DEFAULT_LIFETIME_S);
    CU_ASSERT_EQUAL(nox_runner_auth_check_window(s.not_before, s.expires_at, now, NULL), NOX_OK);
    uint8_t hash[32], digest[32], signed_digest[32];
    uint64_t count = 0;
    if (k == OPERANDS) {
        json_t *ops = json_object_get(p, "operands");
        size_t n = json_array_size(ops);
        const char **texts = calloc(n ? n : 1, sizeof *texts);
        CU_ASSERT_PTR_NOT_NULL_FATAL(texts);
        for (size_t i = 0; i < n; i++) texts[i] = json_string_value(json_array_get(ops, i));
        nox_eip712_hash_operand_access_authorization_v2(&s, texts, n,
                                                        json_string_value(json_object_get(p, "rsaPublicKey")), hash);
        free(texts);
    } else {
        digest_of_items(k, items, digest, &count);
        CU_ASSERT(count > 0);
        CU_ASSERT_EQUAL(member_uint(p, k == RESULTS ? "resultCount" : "recordCount"), count);
        hex_of(p, k == RESULTS ? "resultsDigest" : "recordsDigest", signed_digest, 32, NULL);
        CU_ASSERT_EQUAL(memcmp(signed_digest, digest, 32), 0);
        if (k == RESULTS) nox_eip712_hash_result_publishing_authorization_v2(&s, count, digest, hash);
        else nox_eip712_hash_failure_recording_authorization(&s, count, digest, hash);
    }
    uint8_t sig[65];
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_hex_decode_exact(sig_hex, strlen(sig_hex), sig, 65, &err), NOX_OK);
    nox_eip712_domain d = nox_eip712_domain_runner_gateway_v2(s.chain_id, gateway_address);
    CU_ASSERT_EQUAL(nox_eip712_verify(&d, hash, sig, 65, wallet_address, &err), NOX_OK);
    nox_eip712_domain legacy = nox_eip712_domain_runner_gateway(s.chain_id), other = d;
    other.verifying_contract[0] ^= 1;
    CU_ASSERT_EQUAL(nox_eip712_verify(&legacy, hash, sig, 65, wallet_address, NULL), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_eip712_verify(&other, hash, sig, 65, wallet_address, NULL), NOX_ERR_INVALID);
    return (int)CU_get_number_of_failures() == failures_before;
}

static void sample_results(nox_gateway_result *r, size_t n) {
    memset(r, 0, n * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        r[i].handle = handles[i];
        memset(r[i].value_tag, (int)(0x10 + i), 32);
        r[i].ciphertext_len = 17 + i;
        memset(r[i].ciphertext, (int)(0xc0 + i), r[i].ciphertext_len);
        r[i].public_key[0] = 0x02;
        memset(r[i].public_key + 1, (int)(0x30 + i), 32);
        memset(r[i].nonce, (int)(0x90 + i), 12);
    }
}

static void test_signs_bound_forms(void) {
    start();
    reset(CURRENT);
    nox_error err = {0};
    /* operands: batched (each entry), then one GET (the header) */
    nox_gateway_fetch r[2];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 2; i++) {
        r[i].tx.chain_id = 31337;
        r[i].tx.block_number = 7 + (uint64_t)i;
        r[i].tx.caller[19] = (uint8_t)i;
        r[i].tx.tx_hash[0] = (uint8_t)(0xa0 + i);
        r[i].handles = handles + 3 * i;
        r[i].n = 3;
        r[i].out = outs + 3 * i;
    }
    nox_gateway_fetch_operands_batch(client, r, 2, "0x3082", &err);
    CU_ASSERT_EQUAL(r[0].status, NOX_OK);
    json_t *reqs = json_object_get(seen_body, "requests");
    CU_ASSERT_EQUAL_FATAL(json_array_size(reqs), 2);
    CU_ASSERT(check_signed(json_array_get(reqs, 0), OPERANDS, NULL));
    CU_ASSERT(check_signed(json_array_get(reqs, 1), OPERANDS, NULL));
    nox_gateway_fault fault = {0};
    CU_ASSERT_EQUAL(nox_gateway_fetch_operands(client, &r[0].tx, handles, 2, "0x3082", outs, &fault, &err), NOX_OK);
    CU_ASSERT(check_signed(seen_auth, OPERANDS, NULL));

    /* results: one set (the header over the body sent), then two sets batched (each entry over its results) */
    nox_gateway_result res[3];
    sample_results(res, 3);
    nox_gateway_counts counts;
    CU_ASSERT_EQUAL(nox_gateway_post_results(client, &r[0].tx, res, 3, &counts, &fault, &err), NOX_OK);
    CU_ASSERT_EQUAL(counts.created, 3);
    CU_ASSERT(check_signed(seen_auth, RESULTS, seen_body));
    nox_gateway_publish pubs[2] = {{.tx = r[0].tx, .results = res, .n = 1}, {.tx = r[1].tx, .results = res + 1, .n = 2}};
    CU_ASSERT_EQUAL(nox_gateway_post_results_batch(client, pubs, 2, &err), NOX_OK);
    json_t *txs = json_object_get(seen_body, "transactions");
    CU_ASSERT_EQUAL_FATAL(json_array_size(txs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *t = json_array_get(txs, i);
        CU_ASSERT(check_signed(json_object_get(t, "authorization"), RESULTS, json_object_get(t, "results")));
    }
    /* ... and the first set's authorization is not the second's: its digest is of its own results */
    CU_ASSERT(!json_equal(json_object_get(json_object_get(json_object_get(json_array_get(txs, 0), "authorization"),
                                                           "payload"), "resultsDigest"),
                          json_object_get(json_object_get(json_object_get(json_array_get(txs, 1), "authorization"),
                                                          "payload"), "resultsDigest")));

    /* failure records: the digest is over the reasons as sent (cut, non-printable bytes as '?') */
    char long_reason[400];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    nox_gateway_failure f[3] = {{handles[0], "events[0]: bad\ttab"}, {handles[1], long_reason}, {handles[2], ""}};
    uint64_t recorded = 0;
    CU_ASSERT_EQUAL(nox_gateway_post_failures(client, &r[0].tx, f, 3, &recorded, &fault, &err), NOX_OK);
    CU_ASSERT_EQUAL(recorded, 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(seen_body, 0), "reason")),
                           "events[0]: bad?tab");
    CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(json_array_get(seen_body, 1), "reason"))),
                    NOX_GATEWAY_MAX_REASON);
    CU_ASSERT(check_signed(seen_auth, FAILURES, seen_body));
    stop();

    /* a lifetime no Gateway accepts is refused when the client is made */
    nox_ec_privkey k;
    nox_gateway_client *c = NULL;
    nox_gateway_signing sg = {.lifetime_s = NOX_RUNNER_AUTH_MAX_LIFETIME_S + 1};
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(&k, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_gateway_client_new("http://127.0.0.1:9", NULL, &k, &sg, 0, &c, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "longer than the 295 s a Gateway accepts");
    CU_ASSERT_PTR_NULL(c);
    sg.lifetime_s = NOX_RUNNER_AUTH_MAX_LIFETIME_S;
    CU_ASSERT_EQUAL(nox_gateway_client_new("http://127.0.0.1:9", NULL, &k, &sg, 0, &c, &err), NOX_OK);
    nox_gateway_client_free(c);
    nox_ec_key_wipe(&k);
}

int main(void) {
    for (int i = 0; i < N_HANDLES; i++) { /* distinct valid handles of chain 31337, type uint64 */
        memset(handles[i].bytes, 0, NOX_HANDLE_SIZE);
        handles[i].bytes[0] = (uint8_t)(i >> 8);
        handles[i].bytes[1] = (uint8_t)i;
        handles[i].bytes[2] = 0x5a;
        handles[i].bytes[28] = 0x7a;
        handles[i].bytes[29] = 0x69;
        handles[i].bytes[30] = 11;
    }
    CU_TestInfo tests[] = {
        {"operand_failed with a failed list: every failed operand, in request order", test_failed_list},
        {"a Gateway without the list: the operand its message names", test_gateway_without_list},
        {"a list or message about other handles, another code: nothing taken", test_nothing_to_take},
        {"GET /v0/compute/operands (no batch endpoint): the named operand", test_get_fallback},
        {"more than 1024 operands: the parts' answers make one", test_parts},
        {"the bound forms: window, content digest of the body sent, the Gateway's domain", test_signs_bound_forms},
        {"a KMS node with wrong partials: named, excluded, asked again at once, the value right", test_lying_node},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("gateway_client", tests);
    nox_rsa_free(requester);
    nox_ec_key_wipe(&kms_key);
    for (int i = 0; i < 3; i++) nox_ec_key_wipe(&liar_shares[i]);
    return rc;
}
