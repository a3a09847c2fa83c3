/* tests/fuzz: in-memory request/response accessors (see fake_http.h). */
#include "fake_http.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"

#define REQ(r) ((const fake_request *)(const void *)(r))
#define RESP(r) ((fake_response *)(void *)(r))

const char *__wrap_nox_http_request_method(const nox_http_request *r);
const char *__wrap_nox_http_request_path(const nox_http_request *r);
const char *__wrap_nox_http_request_param(const nox_http_request *r);
const char *__wrap_nox_http_request_id(const nox_http_request *r);
const char *__wrap_nox_http_request_query(const nox_http_request *r, const char *key);
const char *__wrap_nox_http_request_header(const nox_http_request *r, const char *name);
const char *__wrap_nox_http_request_body(const nox_http_request *r, size_t *len);
void __wrap_nox_http_respond(nox_http_response *resp, unsigned status, const char *content_type, const char *body,
                             size_t len);
void __wrap_nox_http_respond_json(nox_http_response *resp, unsigned status, const char *json);
void __wrap_nox_http_respond_error(nox_http_response *resp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void __wrap_nox_http_respond_value(nox_http_response *resp, json_t *value);
nox_http_response *__wrap_nox_http_response_new(void);
void __wrap_nox_http_response_free(nox_http_response *resp);
unsigned __wrap_nox_http_response_status(const nox_http_response *resp);
const char *__wrap_nox_http_response_body(const nox_http_response *resp, size_t *len);

const char *__wrap_nox_http_request_method(const nox_http_request *r) { return REQ(r)->method ? REQ(r)->method : "GET"; }
const char *__wrap_nox_http_request_path(const nox_http_request *r) { return REQ(r)->path ? REQ(r)->path : "/"; }
const char *__wrap_nox_http_request_param(const nox_http_request *r) { return REQ(r)->param; }
const char *__wrap_nox_http_request_id(const nox_http_request *r) { return REQ(r)->id ? REQ(r)->id : "fuzz"; }

const char *__wrap_nox_http_request_query(const nox_http_request *r, const char *key) {
    for (int i = 0; i < FAKE_HTTP_MAX_FIELDS && REQ(r)->query_names[i]; i++)
        if (!strcmp(REQ(r)->query_names[i], key)) return REQ(r)->query_values[i];
    return NULL;
}

const char *__wrap_nox_http_request_header(const nox_http_request *r, const char *name) {
    for (int i = 0; i < FAKE_HTTP_MAX_FIELDS && REQ(r)->header_names[i]; i++)
        if (!strcasecmp(REQ(r)->header_names[i], name)) return REQ(r)->header_values[i];
    return NULL;
}

const char *__wrap_nox_http_request_body(const nox_http_request *r, size_t *len) {
    *len = REQ(r)->body ? REQ(r)->body_len : 0;
    return REQ(r)->body ? REQ(r)->body : "";
}

void __wrap_nox_http_respond(nox_http_response *resp, unsigned status, const char *content_type, const char *body,
                             size_t len) {
    fake_response *r = RESP(resp);
    (void)content_type;
    free(r->body);
    r->body = malloc(len + 1);
    if (!r->body) abort();
    if (len) memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->len = len;
    r->status = status;
    r->set = 1;
}

void __wrap_nox_http_respond_json(nox_http_response *resp, unsigned status, const char *json) {
    __wrap_nox_http_respond(resp, status, "application/json", json, strlen(json));
}

void __wrap_nox_http_respond_error(nox_http_response *resp, unsigned status, const char *code, const char *fmt, ...) {
    char msg[512]; /* as http_server.c */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    FUZZ_CHECK(status >= 400 && status <= 599);
    FUZZ_CHECK(code != NULL);
    /* As http_server.c's json_pairs: a message that is not UTF-8 is sent with '?' for its high bytes. */
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", msg);
    if (!o) {
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
        o = json_pack("{s:s, s:s}", "error", code, "message", msg);
    }
    FUZZ_CHECK(o != NULL);
    char *text = json_dumps(o, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    __wrap_nox_http_respond_json(resp, status, text);
    free(text);
    json_decref(o);
}

void __wrap_nox_http_respond_value(nox_http_response *resp, json_t *value) { /* as http_server.c */
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    if (text) __wrap_nox_http_respond_json(resp, 200, text);
    else __wrap_nox_http_respond_error(resp, 500, "storage", "out of memory");
    free(text);
    json_decref(value);
}

/* Detached responses (a batch's items) are fake responses too. */
nox_http_response *__wrap_nox_http_response_new(void) { return fake_resp(calloc(1, sizeof(fake_response))); }

void __wrap_nox_http_response_free(nox_http_response *resp) {
    if (!resp) return;
    free(RESP(resp)->body);
    free(RESP(resp));
}

unsigned __wrap_nox_http_response_status(const nox_http_response *resp) {
    const fake_response *r = (const fake_response *)(const void *)resp;
    return r->set ? r->status : 0;
}

const char *__wrap_nox_http_response_body(const nox_http_response *resp, size_t *len) {
    const fake_response *r = (const fake_response *)(const void *)resp;
    *len = r->body ? r->len : 0;
    return r->body;
}

void fake_response_check(fake_response *r) {
    FUZZ_CHECK(r->set);
    FUZZ_CHECK(r->status >= 200 && r->status <= 599);
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->len, 0, &jerr);
    FUZZ_CHECK(j != NULL);
    json_decref(j);
    free(r->body);
    memset(r, 0, sizeof *r);
}
