/*
 * The ABI decoder behind `noxctl decode-error`, `noxctl tx` and every message that carries a revert: the
 * values of the types gen_abi.py lets through (elementary types, their one-level arrays, bytes, string),
 * decoded strictly, and the revert data of the contracts' errors, Error(string) and Panic(uint256).
 */
#include "abi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/value.h"

/* Larger offsets and lengths cannot be in revert data or a log we hold in memory. */
#define MAX_SIZE ((size_t)1 << 40)

void noxctl_text_add(noxctl_text *t, const char *fmt, ...) {
    if (t->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if (t->p && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 128;
        while (cap <= t->len + (size_t)n) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = true;
            return;
        }
        if (!t->p) p[0] = 0;
        t->p = p;
        t->cap = cap;
    }
}

const char *noxctl_text_str(const noxctl_text *t) { return t->p && !t->oom ? t->p : ""; }

void noxctl_text_free(noxctl_text *t) {
    free(t->p);
    memset(t, 0, sizeof *t);
}

const noxctl_abi_entry *noxctl_abi_event(const uint8_t topic0[32]) {
    for (size_t i = 0; i < noxctl_abi_n_events; i++) {
        uint8_t h[32];
        nox_keccak256(noxctl_abi_events[i].signature, strlen(noxctl_abi_events[i].signature), h);
        if (!memcmp(h, topic0, 32)) return &noxctl_abi_events[i];
    }
    return NULL;
}

/* ---- types ------------------------------------------------------------------------------------ */

typedef enum { T_ADDRESS, T_BOOL, T_UINT, T_INT, T_BYTES_N, T_BYTES, T_STRING } base_kind;

typedef struct abi_type {
    base_kind kind;
    unsigned size;   /* bits of uintN/intN, N of bytesN */
    int array;       /* 0: none, 1: T[], 2: T[k] */
    size_t k;
} abi_type;

/* Parses a decimal number of at most 4 digits at *p (advancing it); 0 when there is none. */
static unsigned small_number(const char **p) {
    unsigned v = 0, digits = 0;
    while (**p >= '0' && **p <= '9' && digits < 5) v = v * 10 + (unsigned)(*(*p)++ - '0'), digits++;
    return v;
}

static bool parse_type(const char *type, abi_type *t) {
    memset(t, 0, sizeof *t);
    const char *p = type;
    if (!strncmp(p, "address", 7)) t->kind = T_ADDRESS, p += 7;
    else if (!strncmp(p, "bool", 4)) t->kind = T_BOOL, p += 4;
    else if (!strncmp(p, "string", 6)) t->kind = T_STRING, p += 6;
    else if (!strncmp(p, "uint", 4) || !strncmp(p, "int", 3)) {
        t->kind = *p == 'u' ? T_UINT : T_INT;
        p += *p == 'u' ? 4 : 3;
        t->size = small_number(&p);
        if (!t->size) t->size = 256;
        if (t->size % 8 || t->size > 256) return false;
    } else if (!strncmp(p, "bytes", 5)) {
        p += 5;
        t->size = small_number(&p);
        t->kind = t->size ? T_BYTES_N : T_BYTES;
        if (t->size > 32) return false;
    } else return false;
    if (*p == '[') {
        if (t->kind == T_BYTES || t->kind == T_STRING) return false; /* dynamic elements: not supported */
        p++;
        t->array = *p == ']' ? 1 : 2;
        if (t->array == 2 && !(t->k = small_number(&p))) return false;
        if (*p++ != ']') return false;
    }
    return *p == 0;
}

size_t noxctl_abi_head_size(const char *type) {
    abi_type t;
    return parse_type(type, &t) && t.array == 2 ? 32 * t.k : 32;
}

/* ---- elementary values ------------------------------------------------------------------------ */

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

/* An integer's decimal text as JSON: a number when below 2^53 in magnitude (exact in every JSON reader), else
 * the text. */
static json_t *json_decimal(const char *digits) {
    errno = 0;
    char *end;
    long long v = strtoll(digits, &end, 10);
    if (!errno && !*end && v > -(1LL << 53) && v < (1LL << 53)) return json_integer((json_int_t)v);
    return json_string(digits);
}

/* A uintN / intN word (its padding already checked) in decimal, through the protocol's value codec. */
static nox_status integer(const abi_type *t, const uint8_t w[32], char *digits, size_t cap, nox_error *err) {
    nox_value v;
    uint8_t code = (uint8_t)(t->size / 8 + (t->kind == T_UINT ? NOX_TYPE_UINT8 - 1 : NOX_TYPE_INT8 - 1));
    nox_status st = nox_value_from_word(&v, code, w, err);
    if (!st) st = nox_value_format(&v, digits, cap, err);
    return st;
}

static json_t *json_hex(const uint8_t *p, size_t n) {
    char *hex = malloc(2 * n + 3);
    json_t *j = hex ? json_string(nox_hex_encode(p, n, hex)) : NULL;
    free(hex);
    return j;
}

static void add_hex(noxctl_text *t, const uint8_t *p, size_t n) {
    noxctl_text_add(t, "0x");
    for (size_t i = 0; i < n; i++) noxctl_text_add(t, "%02x", p[i]);
}

static nox_status elementary(const abi_type *t, const uint8_t w[32], noxctl_text *text, json_t **json,
                             nox_error *err) {
    char digits[NOX_VALUE_TEXT_MAX];
    switch (t->kind) {
    case T_ADDRESS:
        if (!all_bytes(w, 12, 0))
            return nox_error_set(err, NOX_ERR_INVALID, "an address has 12 zero bytes before its 20");
        add_hex(text, w + 12, 20);
        if (json) *json = json_hex(w + 12, 20);
        return NOX_OK;
    case T_BOOL:
        if (!all_bytes(w, 31, 0) || w[31] > 1)
            return nox_error_set(err, NOX_ERR_INVALID, "a bool is the word 0 or 1");
        noxctl_text_add(text, "%s", w[31] ? "true" : "false");
        if (json) *json = json_boolean(w[31]);
        return NOX_OK;
    case T_BYTES_N:
        if (!all_bytes(w + t->size, 32 - t->size, 0))
            return nox_error_set(err, NOX_ERR_INVALID, "a bytes%u has %u zero bytes after its %u", t->size,
                                 32 - t->size, t->size);
        add_hex(text, w, t->size);
        if (json) *json = json_hex(w, t->size);
        return NOX_OK;
    case T_UINT:
    case T_INT: {
        size_t pad = 32 - t->size / 8;
        bool negative = t->kind == T_INT && (w[pad] & 0x80);
        if (!all_bytes(w, pad, negative ? 0xff : 0))
            return nox_error_set(err, NOX_ERR_INVALID, t->kind == T_UINT ? "the word does not fit a uint%u"
                                 : "the word is not an int%u sign-extended", t->size);
        nox_status st = integer(t, w, digits, sizeof digits, err);
        if (st) return st;
        noxctl_text_add(text, "%s", digits);
        if (json) *json = json_decimal(digits);
        return NOX_OK;
    }
    default:
        return nox_error_set(err, NOX_ERR_INVALID, "not an elementary type");
    }
}

/* ---- values ----------------------------------------------------------------------------------- */

/* A word that must be an offset or a length. */
static bool word_size(const uint8_t w[32], size_t *out) {
    if (!all_bytes(w, 24, 0)) return false;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++) v = v << 8 | w[i];
    if (v > MAX_SIZE) return false;
    *out = (size_t)v;
    return true;
}

/* The tail of a dynamic value: *at is where its count elements of elem bytes start. */
static nox_status tail(const uint8_t *args, size_t len, size_t head, size_t elem, size_t *at, size_t *count,
                       nox_error *err) {
    size_t off;
    if (!word_size(args + head, &off))
        return nox_error_set(err, NOX_ERR_INVALID, "its offset word is not an offset");
    if (off > len || len - off < 32)
        return nox_error_set(err, NOX_ERR_INVALID, "its offset %zu leaves no length word in the %zu bytes of "
                             "arguments", off, len);
    if (!word_size(args + off, count))
        return nox_error_set(err, NOX_ERR_INVALID, "its length word (at offset %zu) is not a length", off);
    if (*count > (len - off - 32) / elem)
        return nox_error_set(err, NOX_ERR_INVALID, "its length %zu (at offset %zu) needs %zu bytes, only %zu follow",
                             *count, off, *count * elem, len - off - 32);
    *at = off + 32;
    return NOX_OK;
}

static void add_quoted(noxctl_text *t, const uint8_t *s, size_t n) {
    noxctl_text_add(t, "\"");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') noxctl_text_add(t, "\\%c", s[i]);
        else if (s[i] < 0x20 || s[i] == 0x7f) noxctl_text_add(t, "\\x%02x", s[i]);
        else noxctl_text_add(t, "%c", s[i]);
    }
    noxctl_text_add(t, "\"");
}

nox_status noxctl_abi_value(const char *type, const uint8_t *args, size_t len, size_t head, noxctl_text *text,
                            json_t **json, nox_error *err) {
    abi_type t;
    if (json) *json = NULL;
    if (!parse_type(type, &t)) return nox_error_set(err, NOX_ERR_INVALID, "type %s is not supported", type);
    size_t need = t.array == 2 ? 32 * t.k : 32;
    if (head > len || len - head < need)
        return nox_error_set(err, NOX_ERR_INVALID, "truncated: its %zu bytes at %zu end past the %zu bytes of "
                             "arguments", need, head, len);
    if (!t.array && t.kind != T_BYTES && t.kind != T_STRING) return elementary(&t, args + head, text, json, err);
    size_t at, count;
    nox_status s;
    if (t.kind == T_BYTES || t.kind == T_STRING) {
        if ((s = tail(args, len, head, 1, &at, &count, err))) return s;
        if (t.kind == T_BYTES) {
            add_hex(text, args + at, count);
            if (json) *json = json_hex(args + at, count);
        } else {
            add_quoted(text, args + at, count);
            /* not UTF-8: the bytes in hex */
            if (json && !(*json = json_stringn((const char *)args + at, count))) *json = json_hex(args + at, count);
        }
        return NOX_OK;
    }
    if (t.array == 1) {
        if ((s = tail(args, len, head, 32, &at, &count, err))) return s;
    } else {
        at = head;
        count = t.k;
    }
    json_t *arr = json ? json_array() : NULL;
    noxctl_text_add(text, "[");
    for (size_t i = 0; i < count; i++) {
        json_t *v = NULL;
        noxctl_text_add(text, "%s", i ? ", " : "");
        if ((s = elementary(&t, args + at + 32 * i, text, json ? &v : NULL, err))) {
            json_decref(arr);
            return nox_error_prefix(err, "element %zu: ", i);
        }
        if (arr) json_array_append_new(arr, v);
    }
    noxctl_text_add(text, "]");
    if (json) *json = arr;
    return NOX_OK;
}

/* ---- revert data ------------------------------------------------------------------------------ */

static const noxctl_abi_param error_string_params[] = {{"message", "string", 0, 0}};
static const noxctl_abi_entry error_string = {"Error", "Error(string)", 1, error_string_params};
static const noxctl_abi_param panic_params[] = {{"code", "uint256", 0, 0}};
static const noxctl_abi_entry panic = {"Panic", "Panic(uint256)", 1, panic_params};

/* Solidity's panic codes (docs: "Panic via assert and Error via require"). */
static const char *panic_meaning(const uint8_t w[32]) {
    if (!all_bytes(w, 31, 0)) return "unknown panic code";
    switch (w[31]) {
    case 0x00: return "generic compiler panic";
    case 0x01: return "assert failed";
    case 0x11: return "arithmetic overflow or underflow";
    case 0x12: return "division or modulo by zero";
    case 0x21: return "conversion to an invalid enum value";
    case 0x22: return "incorrectly encoded storage byte array";
    case 0x31: return "pop() on an empty array";
    case 0x32: return "array index out of bounds";
    case 0x41: return "out of memory (too much memory allocated)";
    case 0x51: return "call to a zero-initialized internal function";
    default: return "unknown panic code";
    }
}

static bool has_selector(const char *signature, const uint8_t sel[4]) {
    uint8_t h[32];
    nox_keccak256(signature, strlen(signature), h);
    return !memcmp(h, sel, 4);
}

/* Decodes the arguments of e into text ("Name(a, b)") and, when args_json is not NULL, [{name, type, value}]. */
static nox_status decode_entry(const noxctl_abi_entry *e, const uint8_t *args, size_t len, noxctl_text *text,
                               json_t *args_json, nox_error *err) {
    size_t head = 0;
    for (size_t i = 0; i < e->n_params; i++) head += noxctl_abi_head_size(e->params[i].type);
    if (len < head)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: truncated arguments: %zu bytes, fewer than the %zu of its "
                             "head", e->signature, len, head);
    noxctl_text_add(text, "%s(", e->name);
    for (size_t i = 0, at = 0; i < e->n_params; at += noxctl_abi_head_size(e->params[i].type), i++) {
        const noxctl_abi_param *p = &e->params[i];
        json_t *v = NULL;
        noxctl_text_add(text, "%s", i ? ", " : "");
        nox_status s = noxctl_abi_value(p->type, args, len, at, text, args_json ? &v : NULL, err);
        if (s) return nox_error_prefix(err, "%s: argument %zu (%s %s): ", e->signature, i + 1, p->type, p->name);
        if (args_json) json_array_append_new(args_json, json_pack("{s:s, s:s, s:o*}", "name", p->name, "type", p->type,
                                                                 "value", v));
    }
    noxctl_text_add(text, ")");
    return NOX_OK;
}

nox_status noxctl_abi_decode_error(const uint8_t *data, size_t len, noxctl_text *text, json_t **json,
                                   nox_error *err) {
    if (json) *json = NULL;
    if (len < 4)
        return nox_error_set(err, NOX_ERR_INVALID, "%zu byte%s: revert data starts with a 4-byte selector", len,
                             len == 1 ? "" : "s");
    const uint8_t *args = data + 4;
    size_t n = len - 4;
    const noxctl_abi_entry *e = NULL;
    if (has_selector(error_string.signature, data)) e = &error_string;
    else if (has_selector(panic.signature, data)) e = &panic;
    for (size_t i = 0; !e && i < noxctl_abi_n_errors; i++)
        if (has_selector(noxctl_abi_errors[i].signature, data)) e = &noxctl_abi_errors[i];
    char sel[11];
    nox_hex_encode(data, 4, sel);
    if (!e) {
        noxctl_text_add(text, "unknown error %s (%zu byte%s of arguments)", sel, n, n == 1 ? "" : "s");
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "unknown error %s (%zu byte%s of arguments)", sel, n,
                             n == 1 ? "" : "s");
    }
    json_t *args_json = json ? json_array() : NULL;
    nox_status s;
    if (e == &panic) { /* Panic(0x11: arithmetic overflow or underflow) */
        noxctl_text scratch = {0};
        s = decode_entry(e, args, n, &scratch, args_json, err);
        noxctl_text_free(&scratch);
        if (!s) {
            size_t first = 0; /* the code in as few bytes as it takes: 0x11 */
            while (first < 31 && !args[first]) first++;
            noxctl_text_add(text, "Panic(");
            add_hex(text, args + first, 32 - first);
            noxctl_text_add(text, ": %s)", panic_meaning(args));
        }
    } else {
        s = decode_entry(e, args, n, text, args_json, err);
    }
    if (s) {
        json_decref(args_json);
        return s;
    }
    if (json) {
        *json = json_pack("{s:s, s:s, s:s, s:o}", "selector", sel, "error", e->name, "signature", e->signature,
                          "args", args_json);
        if (*json && e == &panic) json_object_set_new(*json, "meaning", json_string(panic_meaning(args)));
    }
    return NOX_OK;
}

void noxctl_describe_revert(const char *data_hex, char *out, size_t cap) {
    size_t n = data_hex ? strlen(data_hex) : 0;
    if (n <= 2) {
        snprintf(out, cap, "no revert data");
        return;
    }
    uint8_t *data = malloc(n / 2);
    size_t len = 0;
    nox_error err = {0};
    noxctl_text text = {0};
    if (!data) {
        snprintf(out, cap, "revert data (out of memory)");
        return;
    }
    if (nox_hex_decode(data_hex, n, data, n / 2, &len, &err)) {
        snprintf(out, cap, "unreadable revert data: %s", err.message);
    } else {
        nox_status s = noxctl_abi_decode_error(data, len, &text, NULL, &err);
        if (s == NOX_OK || s == NOX_ERR_NOT_FOUND) snprintf(out, cap, "%s", noxctl_text_str(&text));
        else snprintf(out, cap, "malformed revert data: %s", err.message);
    }
    noxctl_text_free(&text);
    free(data);
}
