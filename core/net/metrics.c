/*
 * Counters, gauges and histograms for GET /metrics, rendered in the Prometheus text
 * exposition format 0.0.4:
 *     # HELP name help text
 *     # TYPE name counter|gauge|histogram
 *     name{label="value",...} 42
 *     name_bucket{...,le="0.5"} 3      (cumulative, ending with le="+Inf")
 *     name_sum{...} 1.25
 *     name_count{...} 4
 *
 * Concurrency: counters and gauges are C11 atomics. A histogram observation touches a
 * bucket, the sum and the count, which a scrape must see together (count
 * equal to the +Inf bucket, sum matching), so each histogram has a mutex; it
 * is held for a few instructions and contended only by its own route.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

typedef enum { KIND_COUNTER, KIND_HISTOGRAM, KIND_GAUGE } metric_kind;

struct nox_counter {
    _Atomic uint64_t value;
};

/* A gauge holds a double; C11 has no portable atomic double, so it is stored as its bit pattern. */
struct nox_gauge {
    _Atomic uint64_t bits;
};

struct nox_histogram {
    pthread_mutex_t mu;
    const double *bounds;   /* the family's, n_bounds ascending */
    size_t n_bounds;
    uint64_t *buckets;      /* n_bounds + 1 per-bucket (not cumulative) counts; the last is +Inf */
    uint64_t count;
    double sum;
};

/* One label-value tuple of a family and its value. */
typedef struct child {
    struct child *next;
    char **values;          /* one per label name */
    nox_counter counter;    /* KIND_COUNTER */
    nox_histogram hist;     /* KIND_HISTOGRAM */
    nox_gauge gauge;        /* KIND_GAUGE (bits of 0.0 after calloc) */
} child;

struct nox_metric_family {
    struct nox_metric_family *next;
    metric_kind kind;
    char *name, *help;
    char **labels;
    size_t n_labels;
    double *bounds;
    size_t n_bounds;
    pthread_mutex_t mu;     /* guards the children list (appends and walks) */
    child *children, **tail;
};

struct nox_metrics {
    nox_metric_family *head, **tail;
};

/* ---- registry ------------------------------------------------------------- */

nox_metrics *nox_metrics_new(void) {
    nox_metrics *m = calloc(1, sizeof *m);
    if (m) m->tail = &m->head;
    return m;
}

static void free_strings(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void free_child(const nox_metric_family *f, child *c) {
    free_strings(c->values, f->n_labels);
    if (f->kind == KIND_HISTOGRAM) {
        pthread_mutex_destroy(&c->hist.mu);
        free(c->hist.buckets);
    }
    free(c);
}

static void free_family(nox_metric_family *f) {
    for (child *c = f->children, *next; c; c = next) {
        next = c->next;
        free_child(f, c);
    }
    pthread_mutex_destroy(&f->mu);
    free(f->name);
    free(f->help);
    free_strings(f->labels, f->n_labels);
    free(f->bounds);
    free(f);
}

void nox_metrics_free(nox_metrics *m) {
    if (!m) return;
    for (nox_metric_family *f = m->head, *next; f; f = next) {
        next = f->next;
        free_family(f);
    }
    free(m);
}

/* Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]* */
static int valid_metric_name(const char *s) {
    if (!s || !*s || (s[0] >= '0' && s[0] <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == ':'))
            return 0;
    return 1;
}

/* Label names: [a-zA-Z_][a-zA-Z0-9_]*, and "__" prefixes are reserved by Prometheus. */
static int valid_label_name(const char *s) {
    if (!valid_metric_name(s) || strchr(s, ':') || !strncmp(s, "__", 2)) return 0;
    return 1;
}

static char **copy_strings(const char *const *v, size_t n) {
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i] ? v[i] : "");
        if (!out[i]) {
            free_strings(out, n);
            return NULL;
        }
    }
    return out;
}

static nox_status check_family(const nox_metrics *m, const char *name, const char *const *labels, size_t n_labels,
                               metric_kind kind, nox_error *err) {
    if (!valid_metric_name(name))
        return nox_error_set(err, NOX_ERR_INVALID, "metric name \"%s\" is not [a-zA-Z_:][a-zA-Z0-9_:]*",
                             name ? name : "(null)");
    for (const nox_metric_family *f = m->head; f; f = f->next)
        if (!strcmp(f->name, name))
            return nox_error_set(err, NOX_ERR_DUPLICATE, "metric %s is registered twice", name);
    for (size_t i = 0; i < n_labels; i++) {
        if (!valid_label_name(labels[i]))
            return nox_error_set(err, NOX_ERR_INVALID, "metric %s: label name \"%s\" is not [a-zA-Z_][a-zA-Z0-9_]*",
                                 name, labels[i] ? labels[i] : "(null)");
        if (kind == KIND_HISTOGRAM && !strcmp(labels[i], "le"))
            return nox_error_set(err, NOX_ERR_INVALID, "histogram %s: the label \"le\" is reserved for buckets",
                                 name);
    }
    return NOX_OK;
}

static nox_status add_family(nox_metrics *m, metric_kind kind, const char *name, const char *help,
                             const char *const *labels, size_t n_labels, nox_metric_family **out, nox_error *err) {
    nox_status st = check_family(m, name, labels, n_labels, kind, err);
    if (st) return st;
    nox_metric_family *f = calloc(1, sizeof *f);
    if (!f) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    f->kind = kind;
    f->n_labels = n_labels;
    f->tail = &f->children;
    pthread_mutex_init(&f->mu, NULL);
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->labels = copy_strings(labels, n_labels);
    if (!f->name || !f->help || !f->labels) {
        free_family(f);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    *out = f;
    return NOX_OK;
}

/* Appends a complete family; a plain (unlabelled) one gets its only child now, so it renders as 0 at once. */
static nox_status link_family(nox_metrics *m, nox_metric_family *f, nox_error *err) {
    if (f->n_labels == 0) {
        int ok = f->kind == KIND_COUNTER     ? nox_metric_counter(f, NULL) != NULL
                 : f->kind == KIND_HISTOGRAM ? nox_metric_histogram(f, NULL) != NULL
                                             : nox_metric_gauge(f, NULL) != NULL;
        if (!ok) {
            free_family(f);
            return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        }
    }
    *m->tail = f;
    m->tail = &f->next;
    return NOX_OK;
}

nox_status nox_metrics_add_counter(nox_metrics *m, const char *name, const char *help, const char *const *labels,
                                   size_t n_labels, nox_metric_family **out, nox_error *err) {
    nox_metric_family *f;
    nox_status st = add_family(m, KIND_COUNTER, name, help, labels, n_labels, &f, err);
    if (st) return st;
    st = link_family(m, f, err);
    if (!st) *out = f;
    return st;
}

nox_status nox_metrics_add_gauge(nox_metrics *m, const char *name, const char *help, const char *const *labels,
                                 size_t n_labels, nox_metric_family **out, nox_error *err) {
    nox_metric_family *f;
    nox_status st = add_family(m, KIND_GAUGE, name, help, labels, n_labels, &f, err);
    if (st) return st;
    st = link_family(m, f, err);
    if (!st) *out = f;
    return st;
}

nox_status nox_metrics_add_histogram(nox_metrics *m, const char *name, const char *help, const char *const *labels,
                                     size_t n_labels, const double *bounds, size_t n_bounds,
                                     nox_metric_family **out, nox_error *err) {
    for (size_t i = 0; i < n_bounds; i++) {
        if (!isfinite(bounds[i]))
            return nox_error_set(err, NOX_ERR_INVALID, "histogram %s: bound %zu is not finite (+Inf is implicit)",
                                 name ? name : "(null)", i);
        if (i > 0 && !(bounds[i] > bounds[i - 1]))
            return nox_error_set(err, NOX_ERR_INVALID, "histogram %s: bounds must be strictly ascending (bound %zu)",
                                 name ? name : "(null)", i);
    }
    nox_metric_family *f;
    nox_status st = add_family(m, KIND_HISTOGRAM, name, help, labels, n_labels, &f, err);
    if (st) return st;
    f->n_bounds = n_bounds;
    f->bounds = malloc((n_bounds ? n_bounds : 1) * sizeof *f->bounds);
    if (!f->bounds) {
        free_family(f);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    if (n_bounds) memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
    st = link_family(m, f, err);
    if (!st) *out = f;
    return st;
}

/* ---- children --------------------------------------------------------------- */

static int same_values(const child *c, const char *const *values, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->values[i], values[i] ? values[i] : "")) return 0;
    return 1;
}

static child *new_child(const nox_metric_family *f, const char *const *values) {
    child *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->values = copy_strings(values, f->n_labels);
    if (f->kind == KIND_HISTOGRAM) {
        c->hist.buckets = calloc(f->n_bounds + 1, sizeof *c->hist.buckets);
        c->hist.bounds = f->bounds;
        c->hist.n_bounds = f->n_bounds;
        pthread_mutex_init(&c->hist.mu, NULL);
    }
    if (!c->values || (f->kind == KIND_HISTOGRAM && !c->hist.buckets)) {
        free_child(f, c);
        return NULL;
    }
    return c;
}

/* The child for `values`, appended when new. Linear: families have few children (routes x methods x statuses). */
static child *find_or_add_child(nox_metric_family *f, const char *const *values) {
    pthread_mutex_lock(&f->mu);
    child *c = f->children;
    while (c && !same_values(c, values, f->n_labels)) c = c->next;
    if (!c && (c = new_child(f, values)) != NULL) {
        *f->tail = c;
        f->tail = &c->next;
    }
    pthread_mutex_unlock(&f->mu);
    return c;
}

nox_counter *nox_metric_counter(nox_metric_family *f, const char *const *values) {
    if (!f || f->kind != KIND_COUNTER) return NULL;
    child *c = find_or_add_child(f, values);
    return c ? &c->counter : NULL;
}

nox_histogram *nox_metric_histogram(nox_metric_family *f, const char *const *values) {
    if (!f || f->kind != KIND_HISTOGRAM) return NULL;
    child *c = find_or_add_child(f, values);
    return c ? &c->hist : NULL;
}

nox_gauge *nox_metric_gauge(nox_metric_family *f, const char *const *values) {
    if (!f || f->kind != KIND_GAUGE) return NULL;
    child *c = find_or_add_child(f, values);
    return c ? &c->gauge : NULL;
}

/* ---- updates (public, nox/http_server.h) ----------------------------------- */

void nox_counter_add(nox_counter *c, uint64_t n) {
    if (c) atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void nox_gauge_set(nox_gauge *g, double value) {
    if (!g) return;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    atomic_store_explicit(&g->bits, bits, memory_order_relaxed);
}

double nox_gauge_get(const nox_gauge *g) {
    if (!g) return 0;
    uint64_t bits = atomic_load_explicit(&((nox_gauge *)g)->bits, memory_order_relaxed);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

void nox_histogram_observe(nox_histogram *h, double value) {
    if (!h) return;
    /* Buckets are "less than or equal": the first bound >= value. NaN fails every
     * comparison and lands in +Inf, as in the reference Go client. */
    size_t i = 0;
    while (i < h->n_bounds && !(value <= h->bounds[i])) i++;
    pthread_mutex_lock(&h->mu);
    h->buckets[i]++;
    h->count++;
    h->sum += value;
    pthread_mutex_unlock(&h->mu);
}

/* ---- rendering ------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Label values escape backslash, double quote and newline; HELP text only backslash and newline. */
static void sb_escaped(sbuf *b, const char *s, int quote) {
    for (const char *run = s;; s++) {
        const char *rep = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : (quote && *s == '"') ? "\\\"" : NULL;
        if (!rep && *s) continue;
        sb_put(b, run, (size_t)(s - run));
        if (!*s) return;
        sb_puts(b, rep);
        run = s + 1;
    }
}

/* Shortest text that reads back as the same double ("0.0005", not "0.00050000000000000001"). */
static void format_double(double v, char out[40]) {
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, 40, "%.15g", v);
        if (strtod(out, NULL) != v) snprintf(out, 40, "%.17g", v);
    }
}

/* name<suffix>{l1="v1",...[,le="x"]} value */
static void sb_sample(sbuf *b, const nox_metric_family *f, const child *c, const char *suffix, const char *le,
                      const char *value) {
    sb_puts(b, f->name);
    sb_puts(b, suffix);
    if (f->n_labels || le) {
        sb_puts(b, "{");
        for (size_t i = 0; i < f->n_labels; i++) {
            if (i) sb_puts(b, ",");
            sb_puts(b, f->labels[i]);
            sb_puts(b, "=\"");
            sb_escaped(b, c->values[i], 1);
            sb_puts(b, "\"");
        }
        if (le) {
            sb_puts(b, f->n_labels ? ",le=\"" : "le=\"");
            sb_puts(b, le);
            sb_puts(b, "\"");
        }
        sb_puts(b, "}");
    }
    sb_puts(b, " ");
    sb_puts(b, value);
    sb_puts(b, "\n");
}

static void render_counter(sbuf *b, const nox_metric_family *f, const child *c) {
    char v[32];
    snprintf(v, sizeof v, "%llu",
             (unsigned long long)atomic_load_explicit(&c->counter.value, memory_order_relaxed));
    sb_sample(b, f, c, "", NULL, v);
}

static void render_gauge(sbuf *b, const nox_metric_family *f, const child *c) {
    char v[40];
    format_double(nox_gauge_get(&c->gauge), v);
    sb_sample(b, f, c, "", NULL, v);
}

static void render_histogram(sbuf *b, const nox_metric_family *f, child *c) {
    /* Snapshot under the lock, format outside it. */
    uint64_t *buckets = malloc((f->n_bounds + 1) * sizeof *buckets);
    if (!buckets) {
        b->oom = 1;
        return;
    }
    pthread_mutex_lock(&c->hist.mu);
    memcpy(buckets, c->hist.buckets, (f->n_bounds + 1) * sizeof *buckets);
    uint64_t count = c->hist.count;
    double sum = c->hist.sum;
    pthread_mutex_unlock(&c->hist.mu);

    char le[40], v[40];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= f->n_bounds; i++) {
        cumulative += buckets[i];
        if (i < f->n_bounds)
            format_double(f->bounds[i], le);
        else
            strcpy(le, "+Inf");
        snprintf(v, sizeof v, "%llu", (unsigned long long)cumulative);
        sb_sample(b, f, c, "_bucket", le, v);
    }
    format_double(sum, v);
    sb_sample(b, f, c, "_sum", NULL, v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)count);
    sb_sample(b, f, c, "_count", NULL, v);
    free(buckets);
}

static void render_family(sbuf *b, nox_metric_family *f) {
    if (*f->help) {
        sb_puts(b, "# HELP ");
        sb_puts(b, f->name);
        sb_puts(b, " ");
        sb_escaped(b, f->help, 0);
        sb_puts(b, "\n");
    }
    sb_puts(b, "# TYPE ");
    sb_puts(b, f->name);
    sb_puts(b, f->kind == KIND_COUNTER ? " counter\n" : f->kind == KIND_GAUGE ? " gauge\n" : " histogram\n");
    /* Children are only appended, and appends take f->mu: walk under it. */
    pthread_mutex_lock(&f->mu);
    for (child *c = f->children; c; c = c->next) {
        if (f->kind == KIND_COUNTER)
            render_counter(b, f, c);
        else if (f->kind == KIND_GAUGE)
            render_gauge(b, f, c);
        else
            render_histogram(b, f, c);
    }
    pthread_mutex_unlock(&f->mu);
}

char *nox_metrics_render(nox_metrics *m, size_t *len) {
    sbuf b = {0};
    sb_put(&b, "", 0); /* an empty registry still renders "" */
    for (nox_metric_family *f = m->head; f; f = f->next) render_family(&b, f);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
