/*
 * Ethereum JSON-RPC 2.0 over libcurl (nox/rpc.h).
 *
 * One curl easy handle per client, reused for every call so that libcurl
 * keeps the connection alive; a mutex serialises calls on it. Answers are
 * read into a growing buffer capped at max_response and parsed with
 * jansson. Every field of a result is checked before it is used: a node is
 * a remote party and its answers are input.
 */
#include "nox/rpc.h"

#include "nox/http_body.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"

/* Longest error `message` of a node quoted in our error text. */
#define FAULT_EXCERPT 200

struct nox_rpc {
    pthread_mutex_t mu;
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    char display[256];
    size_t max_response;
    uint64_t next_id;
    char curl_error[CURL_ERROR_SIZE];
    nox_http_body body; /* the answer being read */
};

void nox_rpc_options_default(nox_rpc_options *o) {
    memset(o, 0, sizeof *o);
    o->timeout_ms = 10000;
    o->connect_timeout_ms = 3000;
    o->max_response = 64u << 20;
}

nox_status nox_rpc_new(const nox_rpc_options *o, nox_rpc **out, nox_error *err) {
    *out = NULL;
    nox_status st = nox_curl_prepare("RPC", o->url, err);
    if (st) return st;
    if (o->max_response < 1024) return nox_error_set(err, NOX_ERR_INVALID, "max_response must be at least 1024 bytes");
    nox_rpc *c = calloc(1, sizeof *c);
    if (!c) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    c->max_response = o->max_response;
    c->body.max = o->max_response;
    c->next_id = 1;
    nox_url_redact(o->url, c->display, sizeof c->display);
    c->url = strdup(o->url);
    c->curl = curl_easy_init();
    /* "Expect:" stops libcurl from waiting for a 100 Continue before larger bodies (an eth_getLogs filter). */
    static const char *const headers[] = {"Content-Type: application/json", "Accept: application/json", "Expect:"};
    int headers_ok = 1;
    for (size_t i = 0; headers_ok && i < sizeof headers / sizeof headers[0]; i++) {
        struct curl_slist *h = curl_slist_append(c->headers, headers[i]);
        if (h) c->headers = h;
        else headers_ok = 0;
    }
    if (!c->url || !c->curl || !headers_ok) {
        nox_rpc_free(c);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory setting up the RPC client");
    }
    CURL *e = c->curl;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, c->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK;
    bad |= nox_curl_defaults(e, o->timeout_ms, o->connect_timeout_ms, o->tls);
    bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK; /* whatever libcurl can decode */
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_error) != CURLE_OK;
    if (bad) {
        nox_rpc_free(c);
        return nox_error_set(err, NOX_ERR_IO, "libcurl refused an option while setting up the RPC client");
    }
    *out = c;
    return NOX_OK;
}

void nox_rpc_free(nox_rpc *c) {
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->body.buf);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *nox_rpc_display_url(const nox_rpc *c) { return c->display; }

/* ---- one HTTP exchange ---------------------------------------------------------- */

/* Fills *fault from an error object and returns NOX_ERR_REMOTE, or NOX_ERR_INVALID for a malformed one. */
static nox_status error_object(const nox_rpc *c, const char *method, const json_t *e, nox_rpc_fault *fault,
                               nox_error *err) {
    json_t *code = json_object_get(e, "code"), *msg = json_object_get(e, "message"), *data = json_object_get(e, "data");
    if (!json_is_object(e) || !json_is_integer(code) || (msg && !json_is_string(msg)))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node (%s) answered a malformed JSON-RPC error object",
                             method, c->display);
    nox_rpc_fault f;
    memset(&f, 0, sizeof f);
    f.code = (int64_t)json_integer_value(code);
    nox_printable(msg ? json_string_value(msg) : "", sizeof f.message - 4, f.message, sizeof f.message);
    if (json_is_string(data)) {
        const char *d = json_string_value(data);
        size_t dl = json_string_length(data);
        uint8_t tmp[1024];
        size_t tl;
        if (dl < sizeof f.data && nox_hex_decode(d, dl, tmp, sizeof tmp, &tl, NULL) == NOX_OK) memcpy(f.data, d, dl + 1);
    }
    if (fault) *fault = f;
    char excerpt[FAULT_EXCERPT + 4];
    nox_printable(f.message, FAULT_EXCERPT, excerpt, sizeof excerpt);
    return nox_error_set(err, NOX_ERR_REMOTE, "%s: the node (%s) answered error %" PRId64 ": %s%s%s", method,
                         c->display, f.code, excerpt, f.data[0] ? " (data " : "", f.data[0] ? "present)" : "");
}

nox_status nox_rpc_call(nox_rpc *c, const char *method, json_t *params, json_t **result, nox_rpc_fault *fault,
                        nox_error *err) {
    *result = NULL;
    if (!params && !(params = json_array())) return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory", method);
    if (!json_is_array(params) && !json_is_object(params)) {
        json_decref(params);
        return nox_error_set(err, NOX_ERR_INVALID, "%s: params must be an array or an object", method);
    }
    pthread_mutex_lock(&c->mu);
    uint64_t id = c->next_id++;
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method,
                            "params", params); /* "o" steals params, even on failure */
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    nox_status st = NOX_OK;
    if (!body) {
        st = nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory building the request", method);
        goto out;
    }
    nox_http_body_reset(&c->body);
    c->curl_error[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, nox_http_body_write);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->body);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
    free(body);
    if (c->body.too_large) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer is larger than %zu bytes; ask for less "
                           "(e.g. a smaller block range)", method, c->display, c->max_response);
        goto out;
    }
    if (rc != CURLE_OK) {
        st = nox_error_set(err, rc == CURLE_OUT_OF_MEMORY || c->body.out_of_memory ? NOX_ERR_NOMEM : NOX_ERR_IO,
                           "%s: cannot reach the node (%s): %s", method, c->display,
                           c->curl_error[0] ? c->curl_error : curl_easy_strerror(rc));
        goto out;
    }
    long http = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
    json_error_t jerr;
    json_t *answer = c->body.len ? json_loadb(c->body.buf, c->body.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!answer && c->body.len) {
        /* anvil copies revert data into its error messages, NULs included ("\u0000"), whenever that data happens
         * to be valid UTF-8 (InvalidReceiver(address(0))): an error object may hold them (nox_printable cuts the
         * message there; `data` keeps the revert data); a result may not. */
        json_t *lax = json_loadb(c->body.buf, c->body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
        if (json_is_object(lax) && json_is_object(json_object_get(lax, "error")) && !json_object_get(lax, "result"))
            answer = lax;
        else
            json_decref(lax);
    }
    json_t *error = json_is_object(answer) ? json_object_get(answer, "error") : NULL;
    if (error && !json_is_null(error)) {
        /* an error object is the node's word, whatever the HTTP status says */
        st = error_object(c, method, error, fault, err);
    } else if (http != 200) {
        st = nox_error_set(err, NOX_ERR_IO, "%s: the node (%s) answered HTTP %ld without a JSON-RPC result", method,
                           c->display, http);
    } else if (!answer) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer is not JSON (line %d, column %d: %.80s)",
                           method, c->display, c->body.len ? jerr.line : 0, c->body.len ? jerr.column : 0,
                           c->body.len ? jerr.text : "empty body");
    } else {
        json_t *ver = json_object_get(answer, "jsonrpc"), *rid = json_object_get(answer, "id");
        json_t *res = json_object_get(answer, "result");
        if (!json_is_object(answer) || !json_is_string(ver) || strcmp(json_string_value(ver), "2.0") ||
            !json_is_integer(rid) || (uint64_t)json_integer_value(rid) != id || !res)
            st = nox_error_set(err, NOX_ERR_INVALID,
                               "%s: the node's (%s) answer is not a JSON-RPC 2.0 response to request %" PRIu64
                               " (jsonrpc, id or result missing or wrong)", method, c->display, id);
        else
            *result = json_incref(res);
    }
    json_decref(answer);
out:
    pthread_mutex_unlock(&c->mu);
    return st;
}

/* ---- result fields --------------------------------------------------------------- */

nox_status nox_rpc_parse_quantity(const char *text, uint64_t *out, nox_error *err) {
    if (!text || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return nox_error_set(err, NOX_ERR_INVALID, "expected a quantity (0x + hex digits), got no 0x prefix");
    size_t n = strlen(text + 2);
    if (n == 0) return nox_error_set(err, NOX_ERR_INVALID, "expected a quantity (0x + hex digits), got no digits");
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = nox_hex_digit(text[2 + i]);
        if (d < 0) return nox_error_set(err, NOX_ERR_INVALID, "invalid hex digit at position %zu of a quantity", i + 2);
        if (v >> 60) return nox_error_set(err, NOX_ERR_INVALID, "quantity larger than 2^64-1");
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return NOX_OK;
}

/* "0x%" PRIx64 into out (19 bytes). */
static const char *quantity(uint64_t v, char out[19]) {
    snprintf(out, 19, "0x%" PRIx64, v);
    return out;
}

/*
 * Checks a field of an answer: where names it ("logs[3].blockHash") for the
 * message. Quantities and fixed-size hex go through these helpers.
 */
static nox_status field_quantity(const nox_rpc *c, const char *method, const char *where, const json_t *v,
                                 uint64_t *out, nox_error *err) {
    nox_error e;
    if (!json_is_string(v))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: %s: expected a quantity string",
                             method, c->display, where);
    if (nox_rpc_parse_quantity(json_string_value(v), out, &e))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: %s: %s", method, c->display, where,
                             e.message);
    return NOX_OK;
}

static nox_status field_bytes(const nox_rpc *c, const char *method, const char *where, const json_t *v, uint8_t *out,
                              size_t n, nox_error *err) {
    nox_error e;
    if (!json_is_string(v))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: %s: expected 0x + %zu hex digits",
                             method, c->display, where, 2 * n);
    if (nox_hex_decode_exact(json_string_value(v), json_string_length(v), out, n, &e))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: %s: %s", method, c->display, where,
                             e.message);
    return NOX_OK;
}

/* Variable-length `0x` hex into a malloc'd buffer (NULL when empty). */
static nox_status field_data(const nox_rpc *c, const char *method, const char *where, const json_t *v, uint8_t **out,
                             size_t *out_len, nox_error *err) {
    *out = NULL;
    *out_len = 0;
    if (!json_is_string(v))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: %s: expected 0x + hex digits", method,
                             c->display, where);
    size_t len = json_string_length(v);
    size_t cap = len >= 2 ? (len - 2) / 2 : 0;
    uint8_t *buf = cap ? malloc(cap) : NULL;
    if (cap && !buf) return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory", method);
    nox_error e;
    if (nox_hex_decode(json_string_value(v), len, buf, cap, out_len, &e)) {
        free(buf);
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: %s: %s", method, c->display, where,
                             e.message);
    }
    *out = buf;
    return NOX_OK;
}

/* A call whose result is one quantity. */
static nox_status call_quantity(nox_rpc *c, const char *method, json_t *params, uint64_t *out, nox_error *err) {
    json_t *r;
    nox_status st = nox_rpc_call(c, method, params, &r, NULL, err);
    if (!st) st = field_quantity(c, method, "result", r, out, err);
    json_decref(r);
    return st;
}

nox_status nox_rpc_chain_id(nox_rpc *c, uint64_t *chain_id, nox_error *err) {
    return call_quantity(c, "eth_chainId", NULL, chain_id, err);
}

nox_status nox_rpc_block_number(nox_rpc *c, uint64_t *number, nox_error *err) {
    return call_quantity(c, "eth_blockNumber", NULL, number, err);
}

nox_status nox_rpc_get_block(nox_rpc *c, uint64_t number, nox_rpc_block *out, nox_error *err) {
    static const char method[] = "eth_getBlockByNumber";
    char q[19];
    json_t *r;
    nox_status st = nox_rpc_call(c, method, json_pack("[sb]", quantity(number, q), 0), &r, NULL, err);
    if (st) return st;
    if (json_is_null(r)) {
        json_decref(r);
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "%s: the node (%s) has no block %" PRIu64, method, c->display,
                             number);
    }
    nox_rpc_block b;
    if (!json_is_object(r))
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer is not a block object", method,
                           c->display);
    if (!st) st = field_quantity(c, method, "number", json_object_get(r, "number"), &b.number, err);
    if (!st) st = field_bytes(c, method, "hash", json_object_get(r, "hash"), b.hash, sizeof b.hash, err);
    if (!st) st = field_quantity(c, method, "timestamp", json_object_get(r, "timestamp"), &b.timestamp, err);
    if (!st && b.number != number)
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: asked for block %" PRIu64 ", the node (%s) answered block %" PRIu64,
                           method, number, c->display, b.number);
    json_decref(r);
    if (!st) *out = b;
    return st;
}

/* ---- eth_getLogs --------------------------------------------------------------------- */

static nox_status parse_log(const nox_rpc *c, const json_t *v, size_t i, nox_rpc_log *l, nox_error *err) {
    static const char method[] = "eth_getLogs";
    char w[64];
    if (!json_is_object(v))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: logs[%zu]: expected an object",
                             method, c->display, i);
#define W(field) (snprintf(w, sizeof w, "logs[%zu].%s", i, field), w)
    nox_status st;
    if ((st = field_quantity(c, method, W("blockNumber"), json_object_get(v, "blockNumber"), &l->block_number, err)) ||
        (st = field_bytes(c, method, W("blockHash"), json_object_get(v, "blockHash"), l->block_hash, 32, err)) ||
        (st = field_bytes(c, method, W("transactionHash"), json_object_get(v, "transactionHash"), l->tx_hash, 32,
                          err)) ||
        (st = field_quantity(c, method, W("logIndex"), json_object_get(v, "logIndex"), &l->log_index, err)) ||
        (st = field_bytes(c, method, W("address"), json_object_get(v, "address"), l->address, NOX_ADDRESS_SIZE,
                          err)))
        return st;
    json_t *topics = json_object_get(v, "topics");
    if (!json_is_array(topics) || json_array_size(topics) > NOX_RPC_MAX_TOPICS)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: logs[%zu].topics: expected an array "
                             "of at most %d topics", method, c->display, i, NOX_RPC_MAX_TOPICS);
    l->n_topics = json_array_size(topics);
    for (size_t t = 0; t < l->n_topics; t++) {
        char tw[64];
        snprintf(tw, sizeof tw, "logs[%zu].topics[%zu]", i, t);
        if ((st = field_bytes(c, method, tw, json_array_get(topics, t), l->topics[t], 32, err))) return st;
    }
    json_t *removed = json_object_get(v, "removed");
    if (removed && !json_is_boolean(removed))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer: logs[%zu].removed: expected a boolean",
                             method, c->display, i);
    l->removed = json_is_true(removed);
    return field_data(c, method, W("data"), json_object_get(v, "data"), &l->data, &l->data_len, err);
#undef W
}

nox_status nox_rpc_get_logs(nox_rpc *c, const nox_rpc_log_filter *f, nox_rpc_log **logs, size_t *n_logs,
                            nox_error *err) {
    static const char method[] = "eth_getLogs";
    *logs = NULL;
    *n_logs = 0;
    if (f->from_block > f->to_block)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: fromBlock %" PRIu64 " is after toBlock %" PRIu64, method,
                             f->from_block, f->to_block);
    char addr[2 * NOX_ADDRESS_SIZE + 3], from[19], to[19], topic[67];
    json_t *filter = json_pack("{s:s, s:s, s:s}", "address", nox_hex_encode(f->address, NOX_ADDRESS_SIZE, addr),
                               "fromBlock", quantity(f->from_block, from), "toBlock", quantity(f->to_block, to));
    if (filter && f->n_topic0) {
        json_t *any = json_array();
        for (size_t i = 0; any && i < f->n_topic0; i++)
            if (json_array_append_new(any, json_string(nox_hex_encode(f->topic0[i], 32, topic)))) {
                json_decref(any);
                any = NULL;
            }
        json_t *topics = any ? json_pack("[o]", any) : NULL; /* [[t0 | t0' | ...]]: position 0, any of them */
        if (!topics || json_object_set_new(filter, "topics", topics)) {
            json_decref(filter);
            filter = NULL;
        }
    }
    json_t *params = filter ? json_pack("[o]", filter) : NULL;
    if (!params) return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory building the filter", method);
    json_t *r;
    nox_status st = nox_rpc_call(c, method, params, &r, NULL, err);
    if (st) return st;
    if (!json_is_array(r)) {
        json_decref(r);
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the node's (%s) answer is not an array of logs", method,
                             c->display);
    }
    size_t n = json_array_size(r);
    nox_rpc_log *out = n ? calloc(n, sizeof *out) : NULL;
    if (n && !out) st = nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory for %zu logs", method, n);
    for (size_t i = 0; !st && i < n; i++) st = parse_log(c, json_array_get(r, i), i, &out[i], err);
    json_decref(r);
    if (st) {
        nox_rpc_logs_free(out, n);
        return st;
    }
    *logs = out;
    *n_logs = n;
    return NOX_OK;
}

void nox_rpc_logs_free(nox_rpc_log *logs, size_t n) {
    if (!logs) return;
    for (size_t i = 0; i < n; i++) free(logs[i].data);
    free(logs);
}

/* ---- eth_call ---------------------------------------------------------------------- */

nox_status nox_rpc_eth_call(nox_rpc *c, const uint8_t to[NOX_ADDRESS_SIZE], const uint8_t *data, size_t len,
                            const char *block, uint8_t **out, size_t *out_len, nox_rpc_fault *fault, nox_error *err) {
    static const char method[] = "eth_call";
    *out = NULL;
    *out_len = 0;
    char addr[2 * NOX_ADDRESS_SIZE + 3];
    char *hex = malloc(2 * len + 3);
    if (!hex) return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory", method);
    nox_hex_encode(data, len, hex);
    json_t *params = json_pack("[{s:s, s:s}, s]", "to", nox_hex_encode(to, NOX_ADDRESS_SIZE, addr), "data", hex,
                               block ? block : "latest");
    free(hex);
    if (!params) return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory building the request", method);
    json_t *r;
    nox_status st = nox_rpc_call(c, method, params, &r, fault, err);
    if (st) return st;
    st = field_data(c, method, "result", r, out, out_len, err);
    json_decref(r);
    return st;
}
