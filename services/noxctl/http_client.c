/*
 * A small libcurl client for the Gateway's user API (GET/POST, JSON answers).
 * One easy handle per process, reset between requests, so `noxctl wait`
 * polls over one kept-alive connection. URLs in messages are reduced to
 * scheme://host:port (nox_url_redact).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noxctl.h"

#define MAX_REPLY (4u << 20)

typedef struct reply_buf {
    char *data;
    size_t len, cap;
    bool too_big;
} reply_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user) {
    reply_buf *b = user;
    size_t n = size * nmemb;
    if (b->len + n > MAX_REPLY) {
        b->too_big = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = 0;
    return n;
}

static bool append(struct curl_slist **list, const char *line) {
    struct curl_slist *n = curl_slist_append(*list, line);
    if (!n) return false;
    *list = n;
    return true;
}

static CURL *curl_handle(void) {
    static CURL *curl;
    static bool initialised;
    if (!initialised) {
        initialised = true;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        curl = curl_easy_init();
    }
    if (curl) curl_easy_reset(curl);
    return curl;
}

nox_status noxctl_http(const char *method, const char *url, const char *authorization, const char *body,
                       long *status, json_t **reply, nox_error *err) {
    *status = 0;
    *reply = NULL;
    char shown[256];
    nox_url_redact(url, shown, sizeof shown);
    CURL *curl = curl_handle();
    if (!curl) return nox_error_set(err, NOX_ERR_IO, "libcurl could not be initialised");
    struct curl_slist *headers = NULL;
    char *auth_line = NULL;
    reply_buf b = {0};
    char curl_err[CURL_ERROR_SIZE] = "";
    nox_status s = NOX_OK;
    bool ok = append(&headers, "Accept: application/json");
    if (ok && body) ok = append(&headers, "Content-Type: application/json");
    if (ok && authorization) {
        size_t n = strlen(authorization) + sizeof "Authorization: ";
        ok = (auth_line = malloc(n)) != NULL;
        if (ok) snprintf(auth_line, n, "Authorization: %s", authorization);
        if (ok) ok = append(&headers, auth_line);
    }
    if (!ok) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto done;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (noxctl_ca_file()) curl_easy_setopt(curl, CURLOPT_CAINFO, noxctl_ca_file()); /* verification stays on */
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
    CURLcode rc = curl_easy_perform(curl);
    /* The request body may hold a plaintext: libcurl read it from `body`, which the caller wipes. */
    if (rc != CURLE_OK) {
        if (b.too_big)
            s = nox_error_set(err, NOX_ERR_INVALID, "%s answered more than %u bytes", shown, MAX_REPLY);
        else
            s = nox_error_set(err, NOX_ERR_IO, "cannot reach %s: %s", shown,
                              curl_err[0] ? curl_err : curl_easy_strerror(rc));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (b.data) *reply = json_loadb(b.data, b.len, 0, NULL);

done:
    curl_slist_free_all(headers);
    free(auth_line);
    free(b.data);
    return s;
}

nox_status noxctl_url(char *out, size_t cap, const char *base, const char *path, nox_error *err) {
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    if ((size_t)snprintf(out, cap, "%.*s%s", (int)n, base, path) >= cap)
        return nox_error_set(err, NOX_ERR_INVALID, "the Gateway URL is too long");
    return NOX_OK;
}

const char *noxctl_gateway_error(long status, const json_t *reply, char *out, size_t cap) {
    const char *code = json_string_value(json_object_get(reply, "error"));
    const char *message = json_string_value(json_object_get(reply, "message"));
    if (message)
        snprintf(out, cap, "%s (HTTP %ld%s%s)", message, status, code ? ", " : "", code ? code : "");
    else
        snprintf(out, cap, "the Gateway answered HTTP %ld without an error message", status);
    return out;
}
