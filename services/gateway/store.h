/*
 * gateway/store.h — the Handle Gateway's storage (spec §7.4, §7.6) over
 * PostgreSQL (libpq).
 *
 * One row per handle in the table `handles`; bytea columns throughout, no hex
 * text. The store only ever sees ciphertexts, never plaintexts, and its error
 * messages never contain the database password (the URL is redacted).
 *
 * Thread-safe: a small pool of connections, created lazily; a connection that
 * broke (server restart, network) is dropped and re-created on next use, so a
 * PostgreSQL outage yields NOX_ERR_IO errors while it lasts and success after.
 * A call that fails on a pooled connection that turned out to be stale is
 * retried once on a fresh connection.
 */
#ifndef NOX_GATEWAY_STORE_H
#define NOX_GATEWAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"
#include "nox/handle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GW_PUBKEY_SIZE 33  /* ephemeral ECIES key K, SEC1 compressed (spec §4.1) */
#define GW_NONCE_SIZE 12   /* AES-GCM nonce */
#define GW_TAG_SIZE 32     /* handleValueTag = keccak256(handle || plaintext) */
#define GW_TXHASH_SIZE 32
#define GW_ADDRESS_SIZE 20
/** Largest ciphertext accepted (plaintext of uint2048 + GCM tag, with room). */
#define GW_CIPHERTEXT_MAX 4096

/** The store: a connection pool and the migrated schema. */
typedef struct gw_store gw_store;

/** One stored handle. chain_id and type_code are derived from the handle on write. */
typedef struct gw_row {
    nox_handle handle;
    uint32_t chain_id;
    uint8_t type_code;
    uint8_t *ciphertext; /* ct || GCM tag; on read, allocated by the store (gw_rows_free) */
    size_t ciphertext_len;
    uint8_t public_key[GW_PUBKEY_SIZE];
    uint8_t nonce[GW_NONCE_SIZE];
    uint8_t value_tag[GW_TAG_SIZE];
    int is_input;                       /* 1: origin 'input' (owner, application set); 0: a result */
    uint8_t tx_hash[GW_TXHASH_SIZE];    /* results: the transaction that produced it */
    uint8_t owner[GW_ADDRESS_SIZE];     /* inputs only */
    uint8_t application[GW_ADDRESS_SIZE];
    int64_t created_at;                 /* unix seconds; set by the database on write */
} gw_row;

/** Outcome of gw_store_publish (spec §7.4). */
typedef struct gw_publish_counts {
    size_t created, unchanged, conflicted;
} gw_publish_counts;

/**
 * Opens the store for `url` (a libpq URL or conninfo; a password in it never
 * appears in messages) with at most `pool_size` connections (1..64), and
 * applies the pending migrations (each in one transaction, under a
 * pg_advisory_lock, so two processes may start at once). NOX_ERR_IO when the
 * database is unreachable, NOX_ERR_INVALID for a bad pool size.
 */
nox_status gw_store_open(gw_store **out, const char *url, unsigned pool_size, nox_error *err);

/** Closes every connection and frees the store (NULL is fine). No call may be in flight. */
void gw_store_close(gw_store *st);

/** The highest applied migration number (from schema_migrations). */
nox_status gw_store_schema_version(gw_store *st, int *version, nox_error *err);

/** The number of migrations this build knows. */
int gw_store_migrations_known(void);

/** Stores an input row (row->is_input must be 1). NOX_ERR_DUPLICATE when the handle exists. */
nox_status gw_store_insert_input(gw_store *st, const gw_row *row, nox_error *err);

/**
 * Reads handles[0..n) with one query. rows[i] receives handles[i]'s row
 * (request order); missing handles leave rows[i] zeroed and their indices are
 * written to missing[0..*n_missing) (missing has room for n). Returns NOX_OK
 * when all are present, NOX_ERR_NOT_FOUND (message naming the first missing
 * handles) when some are missing — found rows are filled in either case.
 * Free with gw_rows_free(rows, n), also after an error.
 */
nox_status gw_store_read(gw_store *st, const nox_handle *handles, size_t n, gw_row *rows,
                         size_t *missing, size_t *n_missing, nox_error *err);

/** Frees the ciphertexts of rows[0..n) filled by gw_store_read and zeroes them. */
void gw_rows_free(gw_row *rows, size_t n);

/**
 * Publishes results rows[0..n) (is_input 0, tx_hash set) in one database
 * transaction: per handle, absent → inserted (created), present with the same
 * value_tag → unchanged, present with another tag → conflicted (logged,
 * nothing overwritten). All or nothing: on error nothing is stored.
 */
nox_status gw_store_publish(gw_store *st, const gw_row *rows, size_t n, gw_publish_counts *counts,
                            nox_error *err);

/** Longest failure reason, in characters (printable ASCII). */
#define GW_REASON_MAX 256

/** A failure record (docs/PROTOCOL-EXTENSIONS.md): a result handle a Runner gave up on, and why. */
typedef struct gw_failure {
    nox_handle handle;
    const char *reason; /* 1..GW_REASON_MAX characters */
} gw_failure;

/**
 * Records failures[0..n) (table `failures`), all produced by transaction tx_hash, in one statement:
 * per handle, inserted, or its reason, origin and time replaced (the latest record wins).
 */
nox_status gw_store_record_failures(gw_store *st, const gw_failure *failures, size_t n,
                                    const uint8_t tx_hash[GW_TXHASH_SIZE], nox_error *err);

/** What GET /v0/handles/{h}/status reports: a stored ciphertext wins over a failure record. */
typedef struct gw_status_info {
    int stored;                       /* a row in `handles` */
    int failed;                       /* a row in `failures` */
    char reason[GW_REASON_MAX + 1];   /* its reason when failed */
} gw_status_info;

/** Looks both tables up for one handle in one query. */
nox_status gw_store_status(gw_store *st, const nox_handle *h, gw_status_info *out, nox_error *err);

/** A handle that has a failure record and no stored row: its position in a lookup, and the record's reason. */
typedef struct gw_failed_handle {
    size_t index;
    char reason[GW_REASON_MAX + 1];
} gw_failed_handle;

/**
 * Of handles[0..n), every one that has a failure record and no stored row (a stored ciphertext wins),
 * found with a single query: out[0..*n_out) in ascending index order (a handle listed twice is
 * reported at each of its positions); out has room for n. NOX_OK also when there is none (*n_out 0).
 */
nox_status gw_store_failed(gw_store *st, const nox_handle *handles, size_t n, gw_failed_handle *out, size_t *n_out,
                           nox_error *err);

/** Checks the database answers (SELECT 1) — for /health. */
nox_status gw_store_ping(gw_store *st, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_GATEWAY_STORE_H */
