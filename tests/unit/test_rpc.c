/*
 * The JSON-RPC client (nox/rpc.h) against a fake node served by
 * nox_http_server on loopback: each call's result, the request it sends
 * (eth_getLogs' filter), and the three error classes — transport (a closed
 * port, a timeout, HTTP 502), the node's error object (code, message, revert
 * data), malformed answers (not JSON, wrong id, bad fields, too large) — and
 * that the URL's path (where API keys live) never reaches an error message.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nox/http_server.h"
#include "nox/http_body.h"
#include "nox/rpc.h"
#include "test_util.h"

/* What the fake node answers; set by each test before its calls. */
static const char *mode = "ok";
static char last_request[65536];
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;

#define H32(c) "0x" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define A20(c) "0x" c c c c c c c c c c c c c c c c c c c c

static void answer(nox_http_response *resp, json_t *id, json_t *result) {
    json_t *o = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
    char *text = json_dumps(o, JSON_COMPACT);
    nox_http_respond_json(resp, 200, text);
    free(text);
    json_decref(o);
}

static void answer_error(nox_http_response *resp, unsigned status, json_t *id, json_t *error) {
    json_t *o = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "error", error);
    char *text = json_dumps(o, JSON_COMPACT);
    nox_http_respond_json(resp, status, text);
    free(text);
    json_decref(o);
}

static json_t *a_log(const char *block_hash, const char *index) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s,s], s:s, s:b}", "blockNumber", "0x10", "blockHash", block_hash,
                     "transactionHash", H32("ab"), "logIndex", index, "address", A20("c0"), "topics", H32("11"),
                     H32("00"), "data", "0x0102ff", "removed", 0);
}

static void node(void *user, const nox_http_request *req, nox_http_response *resp) {
    (void)user;
    size_t len;
    const char *body = nox_http_request_body(req, &len);
    pthread_mutex_lock(&last_mu);
    snprintf(last_request, sizeof last_request, "%s", body);
    pthread_mutex_unlock(&last_mu);
    json_t *rq = json_loads(body, 0, NULL);
    json_t *id = json_object_get(rq, "id");
    const char *method = json_string_value(json_object_get(rq, "method"));
    json_t *params = json_object_get(rq, "params");
    if (!strcmp(mode, "error")) {
        answer_error(resp, 200, id, json_pack("{s:i, s:s}", "code", -32005, "message", "query returned more than 10000 results"));
    } else if (!strcmp(mode, "error500")) {
        answer_error(resp, 500, id, json_pack("{s:i, s:s}", "code", -32000, "message", "line\nbreak \x01 here"));
    } else if (!strcmp(mode, "http502")) {
        nox_http_respond(resp, 502, "text/plain", "bad gateway", 11);
    } else if (!strcmp(mode, "nulerror")) { /* anvil: revert data that is valid UTF-8, NULs and all, in the message */
        static const char text[] = "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":3,\"message\":\"execution "
                                   "reverted: custom error 0x9cfea583: \\u0000\\u0000x\",\"data\":\"0x9cfea583"
                                   "0000000000000000000000000000000000000000000000000000000000000000\"}}";
        char buf[512], *idt = json_dumps(id, JSON_ENCODE_ANY);
        int n = snprintf(buf, sizeof buf, text, idt ? idt : "0");
        free(idt);
        nox_http_respond(resp, 200, "application/json", buf, (size_t)n);
    } else if (!strcmp(mode, "nulresult")) { /* a NUL in a result is still refused */
        char buf[256], *idt = json_dumps(id, JSON_ENCODE_ANY);
        int n = snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":\"0x1\\u0000\"}", idt ? idt : "0");
        free(idt);
        nox_http_respond(resp, 200, "application/json", buf, (size_t)n);
    } else if (!strcmp(mode, "notjson")) {
        nox_http_respond(resp, 200, "application/json", "hello", 5);
    } else if (!strcmp(mode, "empty")) {
        nox_http_respond(resp, 200, "application/json", "", 0);
    } else if (!strcmp(mode, "wrongid")) {
        json_t *other = json_integer(json_integer_value(id) + 1);
        answer(resp, other, json_string("0x1"));
        json_decref(other);
    } else if (!strcmp(mode, "noversion")) {
        nox_http_respond_json(resp, 200, "{\"id\":1,\"result\":\"0x1\"}");
    } else if (!strcmp(mode, "big")) {
        char *big = malloc(100000);
        memset(big, 'a', 99999);
        big[99999] = '\0';
        answer(resp, id, json_string(big));
        free(big);
    } else if (!strcmp(mode, "slow")) {
        usleep(600 * 1000);
        answer(resp, id, json_string("0x1"));
    } else if (!strcmp(mode, "badquantity")) {
        answer(resp, id, json_string("0xzz"));
    } else if (!strcmp(mode, "bignumber")) {
        answer(resp, id, json_string("0x10000000000000000"));
    } else if (!strcmp(mode, "badlog")) {
        answer(resp, id, json_pack("[o,o]", a_log(H32("bb"), "0x0"), a_log("0xbbbb", "0x1")));
    } else if (!strcmp(mode, "nullblock")) {
        answer(resp, id, json_null());
    } else if (!strcmp(mode, "otherblock")) {
        answer(resp, id, json_pack("{s:s, s:s, s:s}", "number", "0x5", "hash", H32("cd"), "timestamp", "0x64"));
    } else if (!strcmp(method, "eth_chainId")) {
        answer(resp, id, json_string("0x7a69"));
    } else if (!strcmp(method, "eth_blockNumber")) {
        answer(resp, id, json_string("0x0000ABC"));
    } else if (!strcmp(method, "eth_getBlockByNumber")) {
        answer(resp, id, json_pack("{s:O, s:s, s:s, s:s}", "number", json_array_get(params, 0), "hash", H32("cd"),
                                   "timestamp", "0x6553f100", "parentHash", H32("00")));
    } else if (!strcmp(method, "eth_getLogs")) {
        answer(resp, id, json_pack("[o,o]", a_log(H32("bb"), "0x0"), a_log(H32("bb"), "0x1")));
    } else if (!strcmp(method, "eth_call")) {
        const char *data = json_string_value(json_object_get(json_array_get(params, 0), "data"));
        if (data && !strcmp(data, "0xdead"))
            answer_error(resp, 200, id, json_pack("{s:i, s:s, s:s}", "code", 3, "message", "execution reverted",
                                                  "data", "0x08c379a0"));
        else
            answer(resp, id, json_string("0x00000000000000000000000000000000000000000000000000000000000000ff"));
    } else {
        answer_error(resp, 200, id, json_pack("{s:i, s:s}", "code", -32601, "message", "the method does not exist"));
    }
    json_decref(rq);
}

static nox_http_server *server;
static char url[128];

static nox_rpc *client(unsigned timeout_ms, size_t max_response) {
    nox_rpc_options o;
    nox_rpc_options_default(&o);
    o.url = url;
    if (timeout_ms) o.timeout_ms = timeout_ms;
    if (max_response) o.max_response = max_response;
    nox_rpc *c = NULL;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_rpc_new(&o, &c, &err), NOX_OK);
    return c;
}

static int start_node(void) {
    nox_http_options o;
    nox_http_options_default(&o);
    o.service = "fakenode";
    o.access_log = 0;
    o.max_body = 1 << 20;
    nox_error err = {0};
    if (nox_http_server_new(&o, &server, &err) || nox_http_route(server, "POST", "/v3/{key}", node, NULL, &err) ||
        nox_http_server_start(server, &err)) {
        fprintf(stderr, "fake node: %s\n", err.message);
        return -1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v3/SECRETKEY", nox_http_server_port(server));
    return 0;
}

static void test_calls(void) {
    mode = "ok";
    nox_rpc *c = client(0, 0);
    nox_error err = {0};
    uint64_t v = 0;
    CU_ASSERT_EQUAL(nox_rpc_chain_id(c, &v, &err), NOX_OK);
    CU_ASSERT_EQUAL(v, 31337);
    CU_ASSERT_EQUAL(nox_rpc_block_number(c, &v, &err), NOX_OK);
    CU_ASSERT_EQUAL(v, 0xabc);
    ASSERT_CONTAINS(last_request, "\"jsonrpc\":\"2.0\"");
    ASSERT_CONTAINS(last_request, "\"method\":\"eth_blockNumber\"");
    ASSERT_CONTAINS(last_request, "\"params\":[]");

    nox_rpc_block b;
    CU_ASSERT_EQUAL(nox_rpc_get_block(c, 4660, &b, &err), NOX_OK);
    CU_ASSERT_EQUAL(b.number, 4660);
    CU_ASSERT_EQUAL(b.timestamp, 0x6553f100);
    CU_ASSERT_EQUAL(b.hash[0], 0xcd);
    CU_ASSERT_EQUAL(b.hash[31], 0xcd);
    ASSERT_CONTAINS(last_request, "\"params\":[\"0x1234\",false]");

    uint8_t topics[2][32];
    memset(topics[0], 0x11, 32);
    memset(topics[1], 0x22, 32);
    nox_rpc_log_filter f;
    memset(&f, 0, sizeof f);
    memset(f.address, 0xc0, sizeof f.address);
    f.topic0 = (const uint8_t(*)[32])topics;
    f.n_topic0 = 2;
    f.from_block = 16;
    f.to_block = 255;
    nox_rpc_log *logs;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(nox_rpc_get_logs(c, &f, &logs, &n, &err), NOX_OK);
    ASSERT_CONTAINS(last_request, "\"address\":\"0xc0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0\"");
    ASSERT_CONTAINS(last_request, "\"fromBlock\":\"0x10\"");
    ASSERT_CONTAINS(last_request, "\"toBlock\":\"0xff\"");
    ASSERT_CONTAINS(last_request, "\"topics\":[[\"0x1111");
    ASSERT_CONTAINS(last_request, "\",\"0x2222");
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(logs[0].block_number, 16);
    CU_ASSERT_EQUAL(logs[0].block_hash[0], 0xbb);
    CU_ASSERT_EQUAL(logs[0].tx_hash[31], 0xab);
    CU_ASSERT_EQUAL(logs[0].log_index, 0);
    CU_ASSERT_EQUAL(logs[1].log_index, 1);
    CU_ASSERT_EQUAL(logs[1].address[19], 0xc0);
    CU_ASSERT_EQUAL(logs[1].n_topics, 2);
    CU_ASSERT_EQUAL(logs[1].topics[0][0], 0x11);
    CU_ASSERT_EQUAL(logs[1].data_len, 3);
    CU_ASSERT_EQUAL(logs[1].data[2], 0xff);
    CU_ASSERT_EQUAL(logs[1].removed, 0);
    nox_rpc_logs_free(logs, n);
    f.from_block = 300;
    CU_ASSERT_EQUAL(nox_rpc_get_logs(c, &f, &logs, &n, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "fromBlock 300 is after toBlock 255");

    uint8_t to[20] = {0}, *out = NULL;
    size_t out_len = 0;
    const uint8_t call[4] = {0x12, 0x34, 0x56, 0x78}, revert[2] = {0xde, 0xad};
    CU_ASSERT_EQUAL(nox_rpc_eth_call(c, to, call, sizeof call, NULL, &out, &out_len, NULL, &err), NOX_OK);
    CU_ASSERT_EQUAL(out_len, 32);
    CU_ASSERT_EQUAL(out[31], 0xff);
    free(out);
    ASSERT_CONTAINS(last_request, "\"data\":\"0x12345678\"");
    ASSERT_CONTAINS(last_request, "\"latest\"");
    nox_rpc_fault fault;
    CU_ASSERT_EQUAL(nox_rpc_eth_call(c, to, revert, sizeof revert, "safe", &out, &out_len, &fault, &err),
                    NOX_ERR_REMOTE);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(fault.code, 3);
    CU_ASSERT_STRING_EQUAL(fault.message, "execution reverted");
    CU_ASSERT_STRING_EQUAL(fault.data, "0x08c379a0");
    ASSERT_CONTAINS(err.message, "eth_call: the node (http://127.0.0.1:");
    ASSERT_CONTAINS(err.message, "answered error 3: execution reverted");

    /* the generic call */
    json_t *r = NULL;
    CU_ASSERT_EQUAL(nox_rpc_call(c, "net_nothing", json_pack("[i]", 1), &r, &fault, &err), NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(fault.code, -32601);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(nox_rpc_call(c, "eth_chainId", NULL, &r, NULL, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(r), "0x7a69");
    json_decref(r);
    CU_ASSERT_EQUAL(nox_rpc_call(c, "eth_chainId", json_string("x"), &r, NULL, &err), NOX_ERR_INVALID);
    nox_rpc_free(c);
}

static void expect(nox_status got, nox_status want, const nox_error *err, const char *frag) {
    CU_ASSERT_EQUAL(got, want);
    ASSERT_CONTAINS(err->message, frag);
    CU_ASSERT_PTR_NULL(strstr(err->message, "SECRETKEY"));
}

static void test_errors(void) {
    nox_rpc *c = client(300, 4096);
    nox_error err = {0};
    uint64_t v;
    nox_rpc_fault fault;
    json_t *r;

    mode = "error";
    expect(nox_rpc_call(c, "eth_getLogs", NULL, &r, &fault, &err), NOX_ERR_REMOTE, &err,
           "answered error -32005: query returned more than 10000 results");
    CU_ASSERT_EQUAL(fault.code, -32005);
    CU_ASSERT_STRING_EQUAL(fault.data, "");
    mode = "error500"; /* an error object wins over the HTTP status; its text is made printable */
    expect(nox_rpc_call(c, "eth_x", NULL, &r, &fault, &err), NOX_ERR_REMOTE, &err, "error -32000: line?break ? here");
    mode = "http502";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_IO, &err, "answered HTTP 502 without a JSON-RPC result");
    mode = "slow";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_IO, &err, "eth_blockNumber: cannot reach the node");
    mode = "nulerror"; /* NULs in an error object's message: the error still comes through, with its data */
    expect(nox_rpc_call(c, "eth_estimateGas", NULL, &r, &fault, &err), NOX_ERR_REMOTE, &err,
           "answered error 3: execution reverted: custom error 0x9cfea583: ");
    CU_ASSERT_EQUAL(fault.code, 3);
    CU_ASSERT_STRING_EQUAL(fault.data, "0x9cfea5830000000000000000000000000000000000000000000000000000000000000000");
    mode = "nulresult";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_INVALID, &err, "answer is not JSON");
    mode = "notjson";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_INVALID, &err, "answer is not JSON");
    mode = "empty";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_INVALID, &err, "empty body");
    mode = "wrongid";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_INVALID, &err, "not a JSON-RPC 2.0 response to request");
    mode = "noversion";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_INVALID, &err, "not a JSON-RPC 2.0 response");
    mode = "big";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_INVALID, &err, "larger than 4096 bytes");
    mode = "badquantity";
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_INVALID, &err, "result: invalid hex digit at position 2");
    mode = "bignumber";
    expect(nox_rpc_chain_id(c, &v, &err), NOX_ERR_INVALID, &err, "larger than 2^64-1");
    nox_rpc_block b;
    mode = "nullblock";
    expect(nox_rpc_get_block(c, 9, &b, &err), NOX_ERR_NOT_FOUND, &err, "has no block 9");
    mode = "otherblock";
    expect(nox_rpc_get_block(c, 9, &b, &err), NOX_ERR_INVALID, &err, "asked for block 9");
    mode = "badlog";
    nox_rpc_log_filter f;
    memset(&f, 0, sizeof f);
    nox_rpc_log *logs = (nox_rpc_log *)1;
    size_t n = 7;
    expect(nox_rpc_get_logs(c, &f, &logs, &n, &err), NOX_ERR_INVALID, &err, "logs[1].blockHash: ");
    CU_ASSERT_PTR_NULL(logs);
    CU_ASSERT_EQUAL(n, 0);
    ASSERT_CONTAINS(last_request, "\"fromBlock\":\"0x0\"");
    CU_ASSERT_PTR_NULL(strstr(last_request, "topics")); /* no topic0 list: any event */

    /* the connection survives errors: the next call works */
    mode = "ok";
    CU_ASSERT_EQUAL(nox_rpc_block_number(c, &v, &err), NOX_OK);
    nox_rpc_free(c);
}

static void test_transport_and_urls(void) {
    nox_rpc_options o;
    nox_rpc_options_default(&o);
    nox_rpc *c = NULL;
    nox_error err = {0};
    o.url = "ftp://example.com/";
    CU_ASSERT_EQUAL(nox_rpc_new(&o, &c, &err), NOX_ERR_INVALID);
    o.url = NULL;
    CU_ASSERT_EQUAL(nox_rpc_new(&o, &c, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(c);

    /* a port nobody listens on: stop a server and use its port */
    nox_http_options ho;
    nox_http_options_default(&ho);
    ho.access_log = 0;
    nox_http_server *s;
    CU_ASSERT_EQUAL_FATAL(nox_http_server_new(&ho, &s, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_http_server_start(s, &err), NOX_OK);
    char closed[128];
    snprintf(closed, sizeof closed, "http://user:pw@127.0.0.1:%u/key/SECRETKEY?apikey=SECRETKEY",
             nox_http_server_port(s));
    nox_http_server_stop(s);
    nox_http_server_free(s);
    o.url = closed;
    CU_ASSERT_EQUAL_FATAL(nox_rpc_new(&o, &c, &err), NOX_OK);
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%s", strrchr(strstr(closed, "@"), ':') + 1);
    *strchr(want + 7, '/') = '\0';
    CU_ASSERT_STRING_EQUAL(nox_rpc_display_url(c), want);
    uint64_t v;
    expect(nox_rpc_block_number(c, &v, &err), NOX_ERR_IO, &err, "cannot reach the node (http://127.0.0.1:");
    CU_ASSERT_PTR_NULL(strstr(err.message, "pw@"));
    nox_rpc_free(c);

    char out[64];
    CU_ASSERT_STRING_EQUAL(nox_url_redact("https://mainnet.example.io/v3/abc?x=1", out, sizeof out),
                           "https://mainnet.example.io");
    CU_ASSERT_STRING_EQUAL(nox_url_redact("http://a:b@h:8545", out, sizeof out), "http://h:8545");
    CU_ASSERT_STRING_EQUAL(nox_url_redact("http://h#frag", out, sizeof out), "http://h");
    CU_ASSERT_STRING_EQUAL(nox_url_redact("nothing", out, sizeof out), "(not a URL)");

    uint64_t q;
    CU_ASSERT_EQUAL(nox_rpc_parse_quantity("0x0", &q, NULL), NOX_OK);
    CU_ASSERT_EQUAL(q, 0);
    CU_ASSERT_EQUAL(nox_rpc_parse_quantity("0xffffffffffffffff", &q, NULL), NOX_OK);
    CU_ASSERT_EQUAL(q, UINT64_MAX);
    CU_ASSERT_EQUAL(nox_rpc_parse_quantity("0x", &q, NULL), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_rpc_parse_quantity("12", &q, NULL), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_rpc_parse_quantity("0x1g", &q, NULL), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_rpc_parse_quantity(NULL, &q, NULL), NOX_ERR_INVALID);
}

/* One client shared by threads: calls are serialised, every answer goes to its own caller. */
static nox_rpc *shared;

static void *hammer(void *arg) {
    (void)arg;
    long bad = 0;
    for (int i = 0; i < 50; i++) {
        nox_rpc_block b;
        uint64_t want = (uint64_t)i * 7 + 1;
        if (nox_rpc_get_block(shared, want, &b, NULL) || b.number != want) bad++;
    }
    return (void *)bad;
}

static void test_threads(void) {
    mode = "ok";
    shared = client(0, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CU_ASSERT_PTR_NULL(bad);
    }
    nox_rpc_free(shared);
}

int main(void) {
    if (start_node()) return 2;
    CU_TestInfo tests[] = {
        {"every call: results and requests", test_calls},
        {"error classes: remote, transport, malformed", test_errors},
        {"unreachable node, URL redaction, quantities", test_transport_and_urls},
        {"one client, four threads", test_threads},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("rpc", tests);
    nox_http_server_stop(server);
    nox_http_server_free(server);
    return rc;
}
