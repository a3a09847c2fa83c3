/* nox-bench modes and the helpers they share. Each mode returns a process exit status. */
#ifndef NOX_BENCH_H
#define NOX_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** `nox-bench eval ...` (argv[0] is "eval"). */
int bench_eval_main(int argc, char **argv);
/** `nox-bench pipeline ...`: the Runner's per-message work in process, and the crypto floor. */
int bench_pipeline_main(int argc, char **argv);
/** `nox-bench e2e --devnet ...`: messages through a running devnet. */
int bench_e2e_main(int argc, char **argv);
/** `nox-bench queue-sig ...`: signing and verifying one queue message (nox/queue_signature.h). */
int bench_queue_sig_main(int argc, char **argv);

/* ---- helpers (bench_util.c) ------------------------------------------------------------ */

/** CLOCK_MONOTONIC in ns / in s. */
double bench_now_ns(void);
double bench_now_s(void);
/** xorshift64* on a caller-owned state (one per thread). */
uint64_t bench_rng(uint64_t *state);
/** Online processors (at least 1). */
unsigned bench_nproc(void);
/** Parses a number in [lo, hi] for option `name`; prints the error and returns -1 when it is not. */
int bench_parse_double(const char *name, const char *text, double lo, double hi, double *out);
/** "-" → stdout, else fopen(path, "w"); NULL (and a message) on failure. */
FILE *bench_csv_open(const char *path);
/** Closes what bench_csv_open returned (stdout is only flushed). */
void bench_csv_close(FILE *f);
/** Where the human-readable table goes: stderr when the CSV goes to stdout, else stdout. */
FILE *bench_table_stream(const FILE *csv);
/** qsort comparator for doubles. */
int bench_cmp_double(const void *a, const void *b);
/** The p-quantile (0..1) of sorted[0..n) (nearest rank); 0 when n is 0. */
double bench_quantile(const double *sorted, size_t n, double p);
/** Creates directory `dir` (and not its parents) unless it exists; -1 with a message on failure. */
int bench_mkdir(const char *dir);

/* ---- SVG charts (svg.c) ----------------------------------------------------------------- */

/**
 * A horizontal bar chart: one row per label, up to two series (values2 may be NULL).
 * `unit` labels the axis. Writes dir/file; 0 on success, -1 with a message.
 */
int svg_bars(const char *dir, const char *file, const char *title, const char *unit, size_t n,
             const char *const *labels, const double *values, const char *series1, const double *values2,
             const char *series2);

/**
 * A latency histogram (bars, left axis: count) with the empirical CDF (line, right
 * axis: 0..100 %) and p50/p90/p99 markers, from samples in ms (need not be sorted).
 */
int svg_latency(const char *dir, const char *file, const char *title, const double *samples_ms, size_t n);

#endif
