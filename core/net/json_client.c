/*
 * The JSON-over-HTTP client shared by the KMS and Gateway clients (json_client.h).
 * Answers are input from a remote party: every field is checked before it is used.
 */
#include "nox/json_client.h"

#include "nox/http_body.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nox/http_body.h" /* nox_url_redact */

struct nox_json_client {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    CURL **idle; /* max_connections slots */
    size_t n_idle;
    size_t n_created;
    size_t max_connections;
    char *url; /* without a trailing '/' */
    char display[256];
    char name[32];
    unsigned timeout_ms, connect_timeout_ms;
    size_t max_response;
    nox_tls_client tls;
};

nox_status nox_json_client_new(const nox_json_client_options *o, nox_json_client **out, nox_error *err) {
    *out = NULL;
    nox_status st = nox_curl_prepare(o->name, o->url, err);
    if (st) return st;
    if (o->max_response < 1024) return nox_error_set(err, NOX_ERR_INVALID, "max_response must be at least 1024 bytes");
    if (o->max_connections == 0 || o->max_connections > 1024)
        return nox_error_set(err, NOX_ERR_INVALID, "max_connections must be in [1, 1024]");
    nox_json_client *c = calloc(1, sizeof *c);
    if (!c) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->freed, NULL);
    c->max_connections = o->max_connections;
    c->timeout_ms = o->timeout_ms;
    c->connect_timeout_ms = o->connect_timeout_ms;
    c->max_response = o->max_response;
    if (o->tls) c->tls = *o->tls;
    snprintf(c->name, sizeof c->name, "%s", o->name);
    nox_url_redact(o->url, c->display, sizeof c->display);
    c->url = strdup(o->url);
    c->idle = calloc(o->max_connections, sizeof *c->idle);
    if (!c->url || !c->idle) {
        nox_json_client_free(c);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory setting up the %s client", o->name);
    }
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/') c->url[--n] = '\0';
    *out = c;
    return NOX_OK;
}

void nox_json_client_free(nox_json_client *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_idle; i++) curl_easy_cleanup(c->idle[i]);
    free(c->idle);
    free(c->url);
    pthread_cond_destroy(&c->freed);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *nox_json_client_display_url(const nox_json_client *c) { return c->display; }

size_t nox_json_client_max_connections(const nox_json_client *c) { return c->max_connections; }

size_t nox_json_client_max_response(const nox_json_client *c) { return c->max_response; }

/* ---- the pool ------------------------------------------------------------------ */

static CURL *new_handle(const nox_json_client *c) {
    CURL *e = curl_easy_init();
    if (!e) return NULL;
    if (nox_curl_defaults(e, c->timeout_ms, c->connect_timeout_ms, &c->tls)) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

/* An idle handle, a new one, or (at the cap) the next one freed. NULL when none can be made. */
static CURL *take_handle(nox_json_client *c) {
    pthread_mutex_lock(&c->mu);
    CURL *e = NULL;
    for (;;) {
        if (c->n_idle > 0) {
            e = c->idle[--c->n_idle];
            break;
        }
        if (c->n_created < c->max_connections) {
            c->n_created++;
            pthread_mutex_unlock(&c->mu);
            e = new_handle(c);
            pthread_mutex_lock(&c->mu);
            if (!e) c->n_created--;
            break;
        }
        pthread_cond_wait(&c->freed, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return e;
}

/* Back to the pool, or (healthy = 0: its transfer failed) closed, making room for a new one. */
static void give_handle(nox_json_client *c, CURL *e, int healthy) {
    if (!healthy) curl_easy_cleanup(e);
    pthread_mutex_lock(&c->mu);
    if (healthy)
        c->idle[c->n_idle++] = e;
    else
        c->n_created--;
    pthread_cond_signal(&c->freed);
    pthread_mutex_unlock(&c->mu);
}

/* ---- one HTTP exchange ------------------------------------------------------------ */

nox_status nox_json_refusal(const nox_json_client *c, const char *what, long http, json_t *doc, nox_http_fault *fault,
                            nox_error *err) {
    const char *peer = c->name;
    nox_http_fault f;
    memset(&f, 0, sizeof f);
    f.http_status = http;
    json_t *code = json_object_get(doc, "error"), *msg = json_object_get(doc, "message");
    if (json_is_string(code)) nox_printable(json_string_value(code), sizeof f.code - 4, f.code, sizeof f.code);
    if (json_is_string(msg)) nox_printable(json_string_value(msg), sizeof f.message - 4, f.message, sizeof f.message);
    if (http >= 400 && http < 500) {
        if (fault) *fault = f;
        char excerpt[160 + 4];
        nox_printable(f.message, 160, excerpt, sizeof excerpt);
        return nox_error_set(err, NOX_ERR_REMOTE, "%s: the %s (%s) refused: HTTP %ld %s%s%s", what, peer, c->display,
                             http, f.code[0] ? f.code : "(no error code)", excerpt[0] ? ": " : "", excerpt);
    }
    if (http >= 500 && http < 600) {
        if (fault) *fault = f;
        return nox_error_set(err, NOX_ERR_IO, "%s: the %s (%s) failed: HTTP %ld%s%s", what, peer, c->display, http,
                             f.code[0] ? " " : "", f.code);
    }
    return nox_error_set(err, NOX_ERR_INVALID, "%s: the %s (%s) answered an unexpected HTTP status %ld", what, peer,
                         c->display, http);
}

nox_status nox_json_exchange(nox_json_client *c, const char *what, const char *path_query, const char *body,
                             const char *header, json_t **json, nox_http_fault *fault, nox_error *err) {
    *json = NULL;
    const char *peer = c->name;
    char url[1024];
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, path_query) >= sizeof url)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the %s URL is too long", what, peer);
    struct curl_slist *headers = NULL, *h;
    const char *fixed[] = {"Accept: application/json", body ? "Content-Type: application/json" : NULL,
                           body ? "Expect:" : NULL, header};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i]) continue;
        if (!(h = curl_slist_append(headers, fixed[i]))) {
            curl_slist_free_all(headers);
            return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory", what);
        }
        headers = h;
    }
    CURL *e = take_handle(c);
    if (!e) {
        curl_slist_free_all(headers);
        return nox_error_set(err, NOX_ERR_NOMEM, "%s: cannot create a libcurl handle", what);
    }
    nox_http_body a = {.max = c->max_response};
    char curl_error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, nox_http_body_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(e);
    long http = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
    /* leave nothing pointing at this frame in the pooled handle */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    give_handle(c, e, rc == CURLE_OK);
    curl_slist_free_all(headers);

    nox_status st = NOX_OK;
    if (a.too_large) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the %s's (%s) answer is larger than %zu bytes", what, peer,
                           c->display, c->max_response);
        goto out;
    }
    if (rc != CURLE_OK) {
        st = nox_error_set(err, rc == CURLE_OUT_OF_MEMORY || a.out_of_memory ? NOX_ERR_NOMEM : NOX_ERR_IO,
                           "%s: cannot reach the %s (%s): %s", what, peer, c->display,
                           curl_error[0] ? curl_error : curl_easy_strerror(rc));
        goto out;
    }
    json_error_t jerr;
    json_t *doc = a.len ? json_loadb(a.buf, a.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (http >= 200 && http < 300) {
        if (!json_is_object(doc)) {
            st = nox_error_set(err, NOX_ERR_INVALID, "%s: the %s's (%s) HTTP %ld answer is not a JSON object", what,
                               peer, c->display, http);
            json_decref(doc);
        } else {
            *json = doc;
        }
        goto out;
    }
    st = nox_json_refusal(c, what, http, doc, fault, err);
    json_decref(doc);
out:
    free(a.buf);
    return st;
}
