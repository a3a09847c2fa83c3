#include "http_body.h"

#include <stdlib.h>
#include <string.h>

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
