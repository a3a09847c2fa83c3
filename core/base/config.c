/* YAML documents with positions, on libyaml's document API. */
#include "nox/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "nox/hex.h"
#include "nox/log.h"

struct nox_cfg_node {
    nox_cfg_kind kind;
    unsigned line, col;
    char *str;             /* scalar text, expanded */
    size_t n;              /* entries / items */
    nox_cfg_node *keys;    /* mapping keys (n) */
    nox_cfg_node *items;   /* mapping values or list items (n) */
};

struct nox_cfg_doc {
    char *file;
    char *dir;
    nox_cfg_node root;
};

enum { MAX_DEPTH = 64, MAX_NODES = 100000 };

typedef struct {
    yaml_document_t *ydoc;
    const char *file;
    size_t count;
    nox_error *err;
} builder;

static nox_status at(const builder *b, const yaml_mark_t *m, nox_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static nox_status at(const builder *b, const yaml_mark_t *m, nox_status code, const char *fmt, ...) {
    char msg[NOX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nox_error_set(b->err, code, "%s:%zu:%zu: %s", b->file, m->line + 1, m->column + 1, msg);
}

static int is_null_scalar(const yaml_node_t *y) {
    if (y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)y->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* Expands ${NAME} from the environment into a fresh string. */
static nox_status expand_env(const builder *b, const yaml_node_t *y, char **out) {
    const char *s = (const char *)y->data.scalar.value;
    size_t cap = y->data.scalar.length + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) return nox_error_set(b->err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < y->data.scalar.length;) {
        const char *piece = s + i;
        size_t plen = 1;
        if (s[i] == '$' && s[i + 1] == '{') {
            const char *end = strchr(s + i + 2, '}');
            if (!end) {
                free(buf);
                return at(b, &y->start_mark, NOX_ERR_CONFIG, "unterminated ${...} (write ${NAME})");
            }
            size_t nlen = (size_t)(end - (s + i + 2));
            char name[128];
            int ok = nlen > 0 && nlen < sizeof name;
            for (size_t k = 0; ok && k < nlen; k++) {
                char c = s[i + 2 + k];
                ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (k > 0 && c >= '0' && c <= '9');
            }
            if (!ok) {
                free(buf);
                return at(b, &y->start_mark, NOX_ERR_CONFIG, "invalid environment variable reference in ${...}");
            }
            memcpy(name, s + i + 2, nlen);
            name[nlen] = '\0';
            piece = getenv(name);
            if (!piece) {
                free(buf);
                return at(b, &y->start_mark, NOX_ERR_CONFIG, "environment variable %s is not set", name);
            }
            plen = strlen(piece);
            i += nlen + 3;
        } else {
            i++;
        }
        if (len + plen + 1 > cap) {
            cap = 2 * (len + plen + 1);
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return nox_error_set(b->err, NOX_ERR_NOMEM, "out of memory");
            }
            buf = nb;
        }
        memcpy(buf + len, piece, plen);
        len += plen;
    }
    buf[len] = '\0';
    *out = buf;
    return NOX_OK;
}

static void free_node(nox_cfg_node *n) {
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys) free_node(&n->keys[i]);
        if (n->items) free_node(&n->items[i]);
    }
    free(n->keys);
    free(n->items);
    free(n->str);
    memset(n, 0, sizeof *n);
}

static nox_status build(builder *b, yaml_node_t *y, nox_cfg_node *out, int depth, int is_key) {
    memset(out, 0, sizeof *out);
    out->line = (unsigned)y->start_mark.line + 1;
    out->col = (unsigned)y->start_mark.column + 1;
    if (depth > MAX_DEPTH) return at(b, &y->start_mark, NOX_ERR_CONFIG, "nesting deeper than %d levels", MAX_DEPTH);
    if (++b->count > MAX_NODES)
        return at(b, &y->start_mark, NOX_ERR_CONFIG, "more than %d nodes (alias expansion?)", MAX_NODES);
    switch (y->type) {
    case YAML_SCALAR_NODE:
        /* A "\0" escape would silently cut the text short (every reader sees a C string): refuse it. */
        if (memchr(y->data.scalar.value, '\0', y->data.scalar.length))
            return at(b, &y->start_mark, NOX_ERR_CONFIG, "a %s must not contain a NUL character (\\0)",
                      is_key ? "key" : "value");
        if (!is_key && is_null_scalar(y)) {
            out->kind = NOX_CFG_NULL;
            return NOX_OK;
        }
        out->kind = NOX_CFG_SCALAR;
        if (is_key) {
            out->str = strndup((const char *)y->data.scalar.value, y->data.scalar.length);
            return out->str ? NOX_OK : nox_error_set(b->err, NOX_ERR_NOMEM, "out of memory");
        }
        return expand_env(b, y, &out->str);
    case YAML_SEQUENCE_NODE: {
        out->kind = NOX_CFG_LIST;
        size_t n = (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
        out->items = calloc(n ? n : 1, sizeof *out->items);
        if (!out->items) return nox_error_set(b->err, NOX_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            out->n = i + 1;
            yaml_node_t *c = yaml_document_get_node(b->ydoc, y->data.sequence.items.start[i]);
            nox_status st = build(b, c, &out->items[i], depth + 1, 0);
            if (st) return st;
        }
        return NOX_OK;
    }
    case YAML_MAPPING_NODE: {
        out->kind = NOX_CFG_MAP;
        size_t n = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
        out->keys = calloc(n ? n : 1, sizeof *out->keys);
        out->items = calloc(n ? n : 1, sizeof *out->items);
        if (!out->keys || !out->items) return nox_error_set(b->err, NOX_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            out->n = i + 1;
            yaml_node_pair_t *p = &y->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(b->ydoc, p->key);
            if (k->type != YAML_SCALAR_NODE)
                return at(b, &k->start_mark, NOX_ERR_CONFIG, "mapping keys must be plain words");
            nox_status st = build(b, k, &out->keys[i], depth + 1, 1);
            if (st) return st;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(out->keys[j].str, out->keys[i].str))
                    return at(b, &k->start_mark, NOX_ERR_CONFIG, "duplicate key '%.64s' (first at line %u)",
                              out->keys[i].str, out->keys[j].line);
            st = build(b, yaml_document_get_node(b->ydoc, p->value), &out->items[i], depth + 1, 0);
            if (st) return st;
        }
        return NOX_OK;
    }
    default:
        return at(b, &y->start_mark, NOX_ERR_CONFIG, "empty node");
    }
}

static char *dir_of(const char *file) {
    const char *slash = strrchr(file, '/');
    if (!slash) return strdup(".");
    if (slash == file) return strdup("/");
    return strndup(file, (size_t)(slash - file));
}

/*
 * Streams the events once and stops at the first collection nested deeper
 * than MAX_DEPTH. libyaml's composer slows down sharply with deep flow
 * nesting (100,000 '[' take over half a minute), so the limit must hold
 * before the document is composed, not after.
 */
static nox_status check_depth(const char *file, const char *text, size_t len, nox_error *err) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    nox_status st = NOX_OK;
    int depth = 0, done = 0;
    while (!done && !st) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) break; /* syntax errors are reported by the real parse */
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH)
                st = nox_error_set(err, NOX_ERR_CONFIG, "%s:%zu:%zu: nesting deeper than %d levels", file,
                                   ev.start_mark.line + 1, ev.start_mark.column + 1, MAX_DEPTH);
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return st;
}

nox_status nox_cfg_parse(const char *name, const char *text, size_t len, nox_cfg_doc **doc, nox_error *err) {
    *doc = NULL;
    nox_status depth_st = check_depth(name, text, len, err);
    if (depth_st) return depth_st;
    *doc = NULL;
    nox_cfg_doc *d = calloc(1, sizeof *d);
    if (!d) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    d->file = strdup(name);
    d->dir = dir_of(name);
    if (!d->file || !d->dir) {
        nox_cfg_free(d);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    d->root.kind = NOX_CFG_NULL;
    d->root.line = d->root.col = 1;

    yaml_parser_t parser;
    yaml_document_t ydoc;
    if (!yaml_parser_initialize(&parser)) {
        nox_cfg_free(d);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    builder b = {.ydoc = &ydoc, .file = d->file, .err = err};
    nox_status st = NOX_OK;
    if (!yaml_parser_load(&parser, &ydoc)) {
        const yaml_mark_t *m = &parser.problem_mark;
        st = nox_error_set(err, NOX_ERR_CONFIG, "%s:%zu:%zu: YAML syntax error: %s%s%s", d->file, m->line + 1,
                           m->column + 1, parser.problem ? parser.problem : "unknown problem",
                           parser.context ? " " : "", parser.context ? parser.context : "");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&ydoc);
        if (root) st = build(&b, root, &d->root, 0, 0);
        yaml_document_delete(&ydoc);
        if (!st && root) { /* a second document is an error, not silently ignored */
            if (!yaml_parser_load(&parser, &ydoc)) {
                const yaml_mark_t *m = &parser.problem_mark;
                st = nox_error_set(err, NOX_ERR_CONFIG, "%s:%zu:%zu: YAML syntax error: %s", d->file, m->line + 1,
                                   m->column + 1, parser.problem ? parser.problem : "unknown problem");
            } else {
                yaml_node_t *second = yaml_document_get_root_node(&ydoc);
                if (second)
                    st = at(&b, &second->start_mark, NOX_ERR_CONFIG, "only one YAML document is allowed per file");
                yaml_document_delete(&ydoc);
            }
        }
    }
    yaml_parser_delete(&parser);
    if (st) {
        nox_cfg_free(d);
        return st;
    }
    *doc = d;
    return NOX_OK;
}

nox_status nox_cfg_load(const char *path, nox_cfg_doc **doc, nox_error *err) {
    *doc = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return nox_error_set(err, NOX_ERR_NOT_FOUND, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(NOX_CFG_MAX_FILE_SIZE + 1);
    if (!buf) {
        fclose(f);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, NOX_CFG_MAX_FILE_SIZE + 1, f);
    int failed = ferror(f);
    fclose(f);
    nox_status st;
    if (failed)
        st = nox_error_set(err, NOX_ERR_IO, "%s: read error", path);
    else if (n > NOX_CFG_MAX_FILE_SIZE)
        st = nox_error_set(err, NOX_ERR_CONFIG, "%s: larger than %u bytes; is this really a config file?", path,
                           NOX_CFG_MAX_FILE_SIZE);
    else
        st = nox_cfg_parse(path, buf, n, doc, err);
    free(buf);
    return st;
}

nox_status nox_cfg_load_map(const char *path, const char *const *allowed, nox_cfg_doc **doc,
                            const nox_cfg_node **root, nox_error *err) {
    nox_status st = nox_cfg_load(path, doc, err);
    if (st) return st;
    *root = nox_cfg_root(*doc);
    st = nox_cfg_expect(*doc, *root, NOX_CFG_MAP, "", err);
    if (!st) st = nox_cfg_check_keys(*doc, *root, allowed, "", err);
    if (st) {
        nox_cfg_free(*doc);
        *doc = NULL;
    }
    return st;
}

void nox_cfg_free(nox_cfg_doc *doc) {
    if (!doc) return;
    free_node(&doc->root);
    free(doc->file);
    free(doc->dir);
    free(doc);
}

const nox_cfg_node *nox_cfg_root(const nox_cfg_doc *doc) { return &doc->root; }
const char *nox_cfg_file(const nox_cfg_doc *doc) { return doc->file; }
const char *nox_cfg_dir(const nox_cfg_doc *doc) { return doc->dir; }
nox_cfg_kind nox_cfg_kind_of(const nox_cfg_node *node) { return node->kind; }
unsigned nox_cfg_line(const nox_cfg_node *node) { return node->line; }
unsigned nox_cfg_column(const nox_cfg_node *node) { return node->col; }

const char *nox_cfg_kind_name(nox_cfg_kind kind) {
    switch (kind) {
    case NOX_CFG_NULL: return "null";
    case NOX_CFG_SCALAR: return "a scalar";
    case NOX_CFG_MAP: return "a mapping";
    case NOX_CFG_LIST: return "a list";
    }
    return "?";
}

size_t nox_cfg_size(const nox_cfg_node *node) {
    return node->kind == NOX_CFG_MAP || node->kind == NOX_CFG_LIST ? node->n : 0;
}

const nox_cfg_node *nox_cfg_at(const nox_cfg_node *node, size_t i) {
    return i < nox_cfg_size(node) ? &node->items[i] : NULL;
}

const nox_cfg_node *nox_cfg_key_at(const nox_cfg_node *node, size_t i) {
    return node->kind == NOX_CFG_MAP && i < node->n ? &node->keys[i] : NULL;
}

const nox_cfg_node *nox_cfg_get(const nox_cfg_node *map, const char *key) {
    if (map->kind != NOX_CFG_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i].str, key)) return &map->items[i];
    return NULL;
}

const char *nox_cfg_str(const nox_cfg_node *node) { return node->kind == NOX_CFG_SCALAR ? node->str : NULL; }

nox_status nox_cfg_error(const nox_cfg_doc *doc, const nox_cfg_node *node, const char *where, nox_error *err,
                         nox_status code, const char *fmt, ...) {
    char msg[NOX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nox_error_set(err, code, "%s:%u:%u: %s%s%s", doc->file, node->line, node->col, where ? where : "",
                         where && *where ? ": " : "", msg);
}

nox_status nox_cfg_expect(const nox_cfg_doc *doc, const nox_cfg_node *node, nox_cfg_kind kind, const char *where,
                          nox_error *err) {
    if (node->kind == kind) return NOX_OK;
    return nox_cfg_error(doc, node, where, err, NOX_ERR_CONFIG, "expected %s, got %s", nox_cfg_kind_name(kind),
                         nox_cfg_kind_name(node->kind));
}

nox_status nox_cfg_check_keys(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *const *allowed,
                              const char *where, nox_error *err) {
    for (size_t i = 0; i < nox_cfg_size(map) && map->kind == NOX_CFG_MAP; i++) {
        const char *key = map->keys[i].str;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, key);
        if (ok) continue;
        char list[256] = "";
        for (const char *const *a = allowed; *a; a++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
        }
        return nox_cfg_error(doc, &map->keys[i], where, err, NOX_ERR_CONFIG, "unknown key '%.64s' (allowed: %s)",
                             key, list);
    }
    return NOX_OK;
}

void nox_cfg_join_where(char *buf, size_t cap, const char *where, const char *key) {
    snprintf(buf, cap, "%s%s%s", where && *where ? where : "", where && *where ? "." : "", key);
}

nox_status nox_cfg_get_str(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                           const char *where, const char **out, nox_error *err) {
    const nox_cfg_node *v = nox_cfg_get(map, key);
    *out = NULL;
    char path[256];
    nox_cfg_join_where(path, sizeof path, where, key);
    if (!v) {
        if (!required) return NOX_OK;
        return nox_cfg_error(doc, map, where, err, NOX_ERR_CONFIG, "missing required key '%s'", key);
    }
    if (v->kind != NOX_CFG_SCALAR)
        return nox_cfg_error(doc, v, path, err, NOX_ERR_CONFIG, "expected a scalar, got %s",
                             nox_cfg_kind_name(v->kind));
    *out = v->str;
    return NOX_OK;
}

nox_status nox_cfg_get_uint(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            uint64_t min, uint64_t max, const char *where, uint64_t *out, nox_error *err) {
    const char *s;
    nox_status st = nox_cfg_get_str(doc, map, key, required, where, &s, err);
    if (st || !s) return st;
    char path[256];
    nox_cfg_join_where(path, sizeof path, where, key);
    const nox_cfg_node *v = nox_cfg_get(map, key);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    /* strtoull would skip leading blanks and take a sign after them: demand a digit first */
    if (!(*s >= '0' && *s <= '9') || *end || errno || x < min || x > max)
        return nox_cfg_error(doc, v, path, err, NOX_ERR_CONFIG, "expected an integer in [%llu, %llu]",
                             (unsigned long long)min, (unsigned long long)max);
    *out = x;
    return NOX_OK;
}

nox_status nox_cfg_get_bool(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            const char *where, int *out, nox_error *err) {
    const char *s;
    nox_status st = nox_cfg_get_str(doc, map, key, required, where, &s, err);
    if (st || !s) return st;
    if (!strcmp(s, "true")) *out = 1;
    else if (!strcmp(s, "false")) *out = 0;
    else {
        char path[256];
        nox_cfg_join_where(path, sizeof path, where, key);
        return nox_cfg_error(doc, nox_cfg_get(map, key), path, err, NOX_ERR_CONFIG, "expected true or false");
    }
    return NOX_OK;
}

nox_status nox_cfg_get_path(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            const char *where, char *out, size_t cap, nox_error *err) {
    const char *s;
    out[0] = '\0';
    nox_status st = nox_cfg_get_str(doc, map, key, required, where, &s, err);
    if (st || !s) return st;
    int n = s[0] == '/' ? snprintf(out, cap, "%s", s) : snprintf(out, cap, "%s/%s", doc->dir, s);
    if (!*s || n < 0 || (size_t)n >= cap) {
        char path[256];
        nox_cfg_join_where(path, sizeof path, where, key);
        out[0] = '\0';
        return nox_cfg_error(doc, nox_cfg_get(map, key), path, err, NOX_ERR_CONFIG,
                             *s ? "file path too long" : "expected a file path");
    }
    return NOX_OK;
}

nox_status nox_cfg_get_log_format(const nox_cfg_doc *doc, const nox_cfg_node *map, int *json, nox_error *err) {
    const char *s;
    *json = 0;
    nox_status st = nox_cfg_get_str(doc, map, "log_format", 0, "", &s, err);
    if (st || !s) return st;
    if (strcmp(s, "text") && strcmp(s, "json"))
        return nox_cfg_error(doc, nox_cfg_get(map, "log_format"), "log_format", err, NOX_ERR_CONFIG,
                             "expected text or json");
    *json = !strcmp(s, "json");
    return NOX_OK;
}

nox_status nox_cfg_get_log_level(const nox_cfg_doc *doc, const nox_cfg_node *map, int *level, nox_error *err) {
    const char *s;
    nox_status st = nox_cfg_get_str(doc, map, "log_level", 0, "", &s, err);
    if (st || !s) return st;
    int l = nox_log_level_from_name(s);
    if (l < 0)
        return nox_cfg_error(doc, nox_cfg_get(map, "log_level"), "log_level", err, NOX_ERR_CONFIG,
                             "expected error, warn, info or debug");
    *level = l;
    return NOX_OK;
}

nox_status nox_cfg_get_text(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            const char *dflt, const char *where, char *out, size_t cap, nox_error *err) {
    const char *s;
    nox_status st = nox_cfg_get_str(doc, map, key, required, where, &s, err);
    if (st) return st;
    if (!s) {
        snprintf(out, cap, "%s", dflt ? dflt : "");
        return NOX_OK;
    }
    char path[256];
    nox_cfg_join_where(path, sizeof path, where, key);
    if (!*s) return nox_cfg_error(doc, nox_cfg_get(map, key), path, err, NOX_ERR_CONFIG, "must not be empty");
    if (strlen(s) >= cap)
        return nox_cfg_error(doc, nox_cfg_get(map, key), path, err, NOX_ERR_CONFIG, "longer than %zu characters",
                             cap - 1);
    memcpy(out, s, strlen(s) + 1);
    return NOX_OK;
}

nox_status nox_cfg_address(const nox_cfg_doc *doc, const nox_cfg_node *node, const char *where, const char *what,
                           uint8_t out[20], nox_error *err) {
    const char *s = nox_cfg_str(node);
    nox_error herr = {0};
    if (!s) return nox_cfg_error(doc, node, where, err, NOX_ERR_CONFIG, "expected %s (0x + 40 hex digits)", what);
    if (nox_hex_decode_exact(s, strlen(s), out, 20, &herr))
        return nox_cfg_error(doc, node, where, err, NOX_ERR_CONFIG, "expected %s (0x + 40 hex digits): %s", what,
                             herr.message);
    return NOX_OK;
}

nox_status nox_cfg_get_address(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, const char *where,
                               const char *what, uint8_t out[20], nox_error *err) {
    const nox_cfg_node *v = nox_cfg_get(map, key);
    if (!v) return nox_cfg_error(doc, map, where, err, NOX_ERR_CONFIG, "missing required key '%s'", key);
    char path[256];
    nox_cfg_join_where(path, sizeof path, where, key);
    return nox_cfg_address(doc, v, path, what, out, err);
}
