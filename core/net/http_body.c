#include "nox/http_body.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libcurl's global state: initialised once, never torn down (it is process-wide). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

int nox_curl_defaults(void *curl_handle, unsigned timeout_ms, unsigned connect_timeout_ms, const nox_tls_client *tls) {
    CURL *e = curl_handle;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK; /* threads: no SIGALRM for DNS timeouts */
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
    if (tls && tls->ca_file[0]) bad |= curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca_file) != CURLE_OK;
    if (tls && tls->cert_file[0]) {
        bad |= curl_easy_setopt(e, CURLOPT_SSLCERT, tls->cert_file) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_SSLKEY, tls->key_file) != CURLE_OK;
    }
    return bad;
}

nox_status nox_curl_prepare(const char *name, const char *url, nox_error *err) {
    if (!url || !(strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0))
        return nox_error_set(err, NOX_ERR_INVALID, "%s URL must start with http:// or https://", name);
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return nox_error_set(err, NOX_ERR_IO, "libcurl initialisation failed: %s", curl_easy_strerror(curl_init_result));
    return NOX_OK;
}

size_t nox_http_body_write(char *ptr, size_t size, size_t nmemb, void *user) {
    nox_http_body *b = user;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->too_large = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p) {
            b->out_of_memory = 1;
            return 0;
        }
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, ptr, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

void nox_http_body_reset(nox_http_body *b) {
    b->len = 0;
    b->too_large = b->out_of_memory = 0;
    if (b->buf) b->buf[0] = '\0';
}

void nox_printable(const char *s, size_t max, char *out, size_t cap) {
    size_t n = 0;
    for (; s[n] && n < max && n + 4 < cap; n++) {
        unsigned char ch = (unsigned char)s[n];
        out[n] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (s[n] && n + 4 <= cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

char *nox_url_redact(const char *url, char *out, size_t cap) {
    if (cap == 0) return out;
    const char *p = strstr(url, "://");
    if (!p) {
        snprintf(out, cap, "(not a URL)");
        return out;
    }
    const char *host = p + 3;
    size_t auth_len = strcspn(host, "/?#");     /* [userinfo@]host[:port] */
    const char *at = memchr(host, '@', auth_len);
    if (at) {
        auth_len -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    snprintf(out, cap, "%.*s://%.*s", (int)(p - url), url, (int)auth_len, host);
    return out;
}
