/*
 * metrics_internal.h — the metric registry behind nox/http_server.h: counters,
 * gauges and histograms, optionally labelled, rendered in the Prometheus text
 * exposition format 0.0.4. http_server.c owns one registry per server.
 *
 * Families are registered before the server starts (single-threaded); their
 * children (one per distinct label-value tuple) may be created and updated
 * from any thread. Children are never removed, so a child pointer stays
 * valid until the registry is freed.
 */
#ifndef NOX_METRICS_INTERNAL_H
#define NOX_METRICS_INTERNAL_H

#include <stddef.h>

#include "nox/error.h"
#include "nox/http_server.h"

typedef struct nox_metrics nox_metrics;
typedef struct nox_metric_family nox_metric_family;

/** An empty registry, or NULL when out of memory. */
nox_metrics *nox_metrics_new(void);

/** Frees the registry and every family and child in it. NULL is fine. */
void nox_metrics_free(nox_metrics *m);

/**
 * Registers a counter family `name` with `n_labels` label names (0 for a plain
 * counter, whose single child exists at once). NOX_ERR_INVALID for a bad
 * metric or label name, NOX_ERR_DUPLICATE when `name` is taken.
 */
nox_status nox_metrics_add_counter(nox_metrics *m, const char *name, const char *help, const char *const *labels,
                                   size_t n_labels, nox_metric_family **out, nox_error *err);

/** Registers a gauge family; same rules and errors as nox_metrics_add_counter. */
nox_status nox_metrics_add_gauge(nox_metrics *m, const char *name, const char *help, const char *const *labels,
                                 size_t n_labels, nox_metric_family **out, nox_error *err);

/**
 * Registers a histogram family with strictly ascending finite upper bounds
 * (the +Inf bucket is implicit). Errors as for nox_metrics_add_counter, and
 * NOX_ERR_INVALID for bad bounds.
 */
nox_status nox_metrics_add_histogram(nox_metrics *m, const char *name, const char *help, const char *const *labels,
                                     size_t n_labels, const double *bounds, size_t n_bounds,
                                     nox_metric_family **out, nox_error *err);

/**
 * The child of a counter family with these label values (one per label
 * name; NULL for a plain counter), created on first use. Thread-safe. NULL
 * when out of memory or when `f` is not a counter family.
 */
nox_counter *nox_metric_counter(nox_metric_family *f, const char *const *values);

/** As nox_metric_counter, for a histogram family. */
nox_histogram *nox_metric_histogram(nox_metric_family *f, const char *const *values);

/** As nox_metric_counter, for a gauge family. */
nox_gauge *nox_metric_gauge(nox_metric_family *f, const char *const *values);

/**
 * Renders every family in registration order (HELP, TYPE, samples) as a
 * malloc'd NUL-terminated text with its length in *len. NULL when out of
 * memory. Thread-safe against concurrent updates; each histogram is read as
 * one consistent snapshot.
 */
char *nox_metrics_render(nox_metrics *m, size_t *len);

#endif /* NOX_METRICS_INTERNAL_H */
