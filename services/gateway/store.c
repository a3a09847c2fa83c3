/*
 * gateway/store.c — PostgreSQL storage of the Handle Gateway (see store.h).
 *
 * Every statement goes out with binary parameters (paramFormats 1) and binary
 * results; arrays are sent in PostgreSQL's binary array format.
 */
#include "store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nox/log.h"

/* ---- schema ------------------------------------------------------------------------------ */

/* Numbered migrations, applied in order, each in one transaction and recorded in
 * schema_migrations. Never edit one that has shipped: append a new one. Each is
 * written to be idempotent on its own too (IF NOT EXISTS). */
typedef struct migration {
    int version;
    const char *name;
    const char *sql;
} migration;

static const migration MIGRATIONS[] = {
    {1, "handles",
     "CREATE TABLE IF NOT EXISTS handles ("
     " handle      bytea    PRIMARY KEY CHECK (octet_length(handle) = 32),"
     " chain_id    bigint   NOT NULL CHECK (chain_id BETWEEN 0 AND 4294967295),"
     " type_code   smallint NOT NULL CHECK (type_code BETWEEN 0 AND 255),"
     " ciphertext  bytea    NOT NULL CHECK (octet_length(ciphertext) BETWEEN 16 AND 4096),"
     " public_key  bytea    NOT NULL CHECK (octet_length(public_key) = 33),"
     " nonce       bytea    NOT NULL CHECK (octet_length(nonce) = 12),"
     " value_tag   bytea    NOT NULL CHECK (octet_length(value_tag) = 32),"
     /* origin: 'input' (a user input) or the hash of the transaction that produced the result */
     " origin      text     NOT NULL CHECK (origin IN ('input', 'result')),"
     " origin_tx   bytea    CHECK (octet_length(origin_tx) = 32),"
     " owner       bytea    CHECK (octet_length(owner) = 20),"
     " application bytea    CHECK (octet_length(application) = 20),"
     " created_at  timestamptz NOT NULL DEFAULT now(),"
     " CHECK ((origin = 'input' AND owner IS NOT NULL AND application IS NOT NULL AND origin_tx IS NULL)"
     "     OR (origin = 'result' AND origin_tx IS NOT NULL AND owner IS NULL AND application IS NULL)))"},
    {2, "handles_origin_tx_index",
     "CREATE INDEX IF NOT EXISTS handles_origin_tx ON handles (origin_tx) WHERE origin_tx IS NOT NULL"},
    /* Failure records (docs/PROTOCOL-EXTENSIONS.md): result handles a Runner gave up on; a stored
     * ciphertext in `handles` always wins over a row here. */
    {3, "failures",
     "CREATE TABLE IF NOT EXISTS failures ("
     " handle     bytea  PRIMARY KEY CHECK (octet_length(handle) = 32),"
     " chain_id   bigint NOT NULL CHECK (chain_id BETWEEN 0 AND 4294967295),"
     " reason     text   NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 256),"
     " origin_tx  bytea  NOT NULL CHECK (octet_length(origin_tx) = 32),"
     " created_at timestamptz NOT NULL DEFAULT now())"},
};
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

/* Serialises migrations across processes (any constant unique to this schema). */
#define MIGRATION_LOCK_KEY "4711200611"

/* Prepared on every connection. */
enum { ST_INSERT_INPUT, ST_READ, ST_PUB_INSERT, ST_PUB_TAGS, ST_VERSION, ST_FAIL_UPSERT, ST_STATUS, ST_FAILED,
       N_STATEMENTS };
static const struct {
    const char *name;
    const char *sql;
} STATEMENTS[N_STATEMENTS] = {
    [ST_INSERT_INPUT] = {"gw_insert_input",
                         "INSERT INTO handles (handle, chain_id, type_code, ciphertext, public_key, nonce,"
                         " value_tag, origin, owner, application)"
                         " VALUES ($1::bytea, $2::int8, $3::int2, $4::bytea, $5::bytea, $6::bytea, $7::bytea,"
                         " 'input', $8::bytea, $9::bytea)"
                         " RETURNING extract(epoch FROM created_at)::int8"},
    [ST_READ] = {"gw_read",
                 "SELECT handle, chain_id, type_code, ciphertext, public_key, nonce, value_tag, origin,"
                 " origin_tx, owner, application, extract(epoch FROM created_at)::int8"
                 " FROM handles WHERE handle = ANY($1::bytea[])"},
    /* Sorted by handle: concurrent publishers lock rows in one order (no deadlock). */
    [ST_PUB_INSERT] = {"gw_pub_insert",
                       "INSERT INTO handles (handle, chain_id, type_code, ciphertext, public_key, nonce,"
                       " value_tag, origin, origin_tx)"
                       " SELECT h, c, t, ct, pk, n, tag, 'result', tx FROM unnest($1::bytea[], $2::int8[],"
                       " $3::int2[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bytea[])"
                       " AS r(h, c, t, ct, pk, n, tag, tx) ORDER BY h"
                       " ON CONFLICT (handle) DO NOTHING RETURNING handle"},
    [ST_PUB_TAGS] = {"gw_pub_tags", "SELECT handle, value_tag FROM handles WHERE handle = ANY($1::bytea[])"},
    [ST_VERSION] = {"gw_version", "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations"},
    /* One row per handle (a handle repeated in the batch: one of them); the latest record wins. */
    [ST_FAIL_UPSERT] = {"gw_fail_upsert",
                        "INSERT INTO failures (handle, chain_id, reason, origin_tx)"
                        " SELECT DISTINCT ON (h) h, c, r, $4::bytea FROM unnest($1::bytea[], $2::int8[], $3::text[])"
                        " AS f(h, c, r) ORDER BY h"
                        " ON CONFLICT (handle) DO UPDATE SET reason = excluded.reason, chain_id = excluded.chain_id,"
                        " origin_tx = excluded.origin_tx, created_at = now()"},
    /* Of a list of handles, every one with a failure record and no stored row (a stored row wins). */
    [ST_FAILED] = {"gw_failed",
                   "SELECT f.handle, f.reason FROM failures f WHERE f.handle = ANY($1::bytea[])"
                   " AND NOT EXISTS (SELECT 1 FROM handles h WHERE h.handle = f.handle)"},
    [ST_STATUS] = {"gw_status",
                   "SELECT EXISTS (SELECT 1 FROM handles WHERE handle = $1::bytea),"
                   " (SELECT reason FROM failures WHERE handle = $1::bytea)"},
};

/* ---- the store --------------------------------------------------------------------------- */

typedef struct gw_conn {
    PGconn *pg;    /* NULL until first use, and after it broke */
    bool busy;
    bool prepared; /* the statements above are prepared on pg */
} gw_conn;

struct gw_store {
    char *url;          /* with the password */
    char *url_redacted; /* for messages */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned size;
    gw_conn *conns;
};

/* The URL with any password replaced by "***" (postgresql://user:***@host/db, or password=*** in conninfo). */
static char *redact_url(const char *url) {
    size_t len = strlen(url);
    char *out = malloc(len + 8);
    if (!out) return NULL;
    const char *scheme = strstr(url, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        const char *end = auth + strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *p = auth; p < end; p++)
            if (*p == '@') at = p;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            size_t head = (size_t)(colon + 1 - url);
            memcpy(out, url, head);
            strcpy(out + head, "***");
            strcat(out, at);
        } else {
            memcpy(out, url, len + 1);
        }
        /* a password may also come as a query parameter */
        char *q = strstr(out, "password=");
        if (q) {
            q += strlen("password=");
            size_t rest = strcspn(q, "&");
            if (rest) {
                memmove(q + 3, q + rest, strlen(q + rest) + 1);
                memcpy(q, "***", 3);
            }
        }
        return out;
    }
    /* keyword=value conninfo: hide the value of password= */
    memcpy(out, url, len + 1);
    char *q = strstr(out, "password");
    while (q) {
        char *eq = q + strlen("password");
        while (*eq == ' ') eq++;
        if (*eq == '=') {
            eq++;
            while (*eq == ' ') eq++;
            size_t rest = *eq == '\'' ? strcspn(eq + 1, "'") + 2 : strcspn(eq, " ");
            if (rest > strlen(eq)) rest = strlen(eq);
            memmove(eq + 3, eq + rest, strlen(eq + rest) + 1);
            memcpy(eq, "***", 3);
            q = strstr(eq + 3, "password");
        } else {
            q = strstr(eq, "password");
        }
    }
    return out;
}

/* libpq's message, one line, without any password (libpq does not print it, but be sure). */
static void pg_message(const gw_store *st, const char *msg, char *out, size_t cap) {
    snprintf(out, cap, "%s", msg ? msg : "(no message)");
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t n = strlen(out);
    while (n && out[n - 1] == ' ') out[--n] = 0;
    (void)st;
}

/* SQLSTATEs meaning the connection is gone: class 08, and the server shutting down or starting. */
static bool sqlstate_is_connection(const char *state) {
    if (!state) return false;
    return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
           strcmp(state, "57P03") == 0;
}

/* One operation's view of its connection. */
typedef struct op {
    gw_store *st;
    gw_conn *c;
    bool broken; /* the connection failed: drop it */
} op;

/*
 * Checks a result. Returns NOX_OK for `want`; otherwise sets err (NOX_ERR_IO for
 * connection problems and server errors, NOX_ERR_DUPLICATE for a unique
 * violation, NOX_ERR_INVALID for a check violation), marks the connection
 * broken when it is, and clears res.
 */
static nox_status check_result(op *o, PGresult **res, ExecStatusType want, const char *what, nox_error *err) {
    PGresult *r = *res;
    if (r && PQresultStatus(r) == want) return NOX_OK;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char msg[300];
    pg_message(o->st, r ? PQresultErrorMessage(r) : PQerrorMessage(o->c->pg), msg, sizeof msg);
    if (!msg[0]) pg_message(o->st, PQerrorMessage(o->c->pg), msg, sizeof msg);
    nox_status code = NOX_ERR_IO;
    if (!r || PQstatus(o->c->pg) != CONNECTION_OK || sqlstate_is_connection(state)) {
        o->broken = true;
    } else if (state && strcmp(state, "23505") == 0) {
        code = NOX_ERR_DUPLICATE;
    } else if (state && strncmp(state, "23", 2) == 0) {
        code = NOX_ERR_INVALID;
    }
    PQclear(r);
    *res = NULL;
    return nox_error_set(err, code, "database %s: %s: %s", o->st->url_redacted, what, msg[0] ? msg : "failed");
}

static nox_status exec_simple(op *o, const char *sql, ExecStatusType want, const char *what, nox_error *err) {
    PGresult *r = PQexec(o->c->pg, sql);
    nox_status s = check_result(o, &r, want, what, err);
    PQclear(r);
    return s;
}

static nox_status prepare_all(op *o, nox_error *err) {
    for (int i = 0; i < N_STATEMENTS; i++) {
        PGresult *r = PQprepare(o->c->pg, STATEMENTS[i].name, STATEMENTS[i].sql, 0, NULL);
        nox_status s = check_result(o, &r, PGRES_COMMAND_OK, "prepare", err);
        PQclear(r);
        if (s) {
            o->broken = true; /* half-prepared: start again on a new connection */
            return s;
        }
    }
    o->c->prepared = true;
    return NOX_OK;
}

/* Server notices ("relation ... already exists, skipping") go to the debug log, not stderr. */
static void on_notice(void *arg, const char *message) {
    (void)arg;
    char line[300];
    pg_message(NULL, message, line, sizeof line);
    nox_log(NOX_LOG_DEBUG, "database notice: %s", line);
}

static PGconn *connect_db(const gw_store *st) {
    /* Defaults first: the URL's own settings override them.
     * Every statement of ours reads or writes by primary key. A generic plan, chosen by PostgreSQL
     * after five executions while the table is still small, may be a sequential scan that then
     * stays for the connection's life (every read O(table): found by nox-bench e2e, PostgreSQL at a
     * fifth of the CPU at 6,000 rows); a custom plan per execution avoids that but replans every
     * statement (a third of PostgreSQL's CPU). enable_seqscan=off makes the one generic plan use the
     * index whatever the table's size, so it is planned once per connection. */
    const char *keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
    const char *vals[] = {"5", "nox-gateway", "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off", st->url,
                          NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg) PQsetNoticeProcessor(pg, on_notice, NULL);
    return pg;
}

/*
 * Takes a free connection (waits while all are busy), connecting it when
 * needed and preparing the statements when `prepare`. *fresh tells whether it
 * was just created (a failure on it is not a stale-connection failure).
 */
static nox_status checkout(gw_store *st, op *o, bool prepare, bool *fresh, nox_error *err) {
    pthread_mutex_lock(&st->mu);
    gw_conn *c = NULL;
    for (;;) {
        /* prefer a connected one */
        for (unsigned i = 0; i < st->size && !c; i++)
            if (!st->conns[i].busy && st->conns[i].pg) c = &st->conns[i];
        for (unsigned i = 0; i < st->size && !c; i++)
            if (!st->conns[i].busy) c = &st->conns[i];
        if (c) break;
        pthread_cond_wait(&st->cv, &st->mu);
    }
    c->busy = true;
    pthread_mutex_unlock(&st->mu);

    o->st = st;
    o->c = c;
    o->broken = false;
    *fresh = false;
    if (c->pg && PQstatus(c->pg) != CONNECTION_OK) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    if (!c->pg) {
        *fresh = true;
        c->prepared = false;
        c->pg = connect_db(st);
        if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
            char msg[300];
            pg_message(st, c->pg ? PQerrorMessage(c->pg) : "out of memory", msg, sizeof msg);
            o->broken = true;
            return nox_error_set(err, NOX_ERR_IO, "database %s: cannot connect: %s", st->url_redacted, msg);
        }
    }
    if (prepare && !c->prepared) return prepare_all(o, err);
    return NOX_OK;
}

/* Returns the connection to the pool; drops it when broken or left inside a transaction. */
static void checkin(op *o) {
    gw_conn *c = o->c;
    if (c->pg && !o->broken && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) o->broken = true;
    }
    if (o->broken || (c->pg && PQstatus(c->pg) != CONNECTION_OK)) {
        PQfinish(c->pg);
        c->pg = NULL;
        c->prepared = false;
    }
    pthread_mutex_lock(&o->st->mu);
    c->busy = false;
    pthread_cond_signal(&o->st->cv);
    pthread_mutex_unlock(&o->st->mu);
}

typedef nox_status (*op_fn)(op *o, void *ctx, nox_error *err);

/* Runs fn on a pooled connection; once more on a new connection when a stale one broke. */
static nox_status run(gw_store *st, op_fn fn, void *ctx, nox_error *err) {
    for (int attempt = 0;; attempt++) {
        op o;
        bool fresh;
        nox_status s = checkout(st, &o, true, &fresh, err);
        if (!s) s = fn(&o, ctx, err);
        bool retry = s != NOX_OK && o.broken && !fresh && attempt == 0;
        checkin(&o);
        if (!retry) return s;
        nox_log(NOX_LOG_WARN, "database %s: a pooled connection broke; retrying on a new one", st->url_redacted);
    }
}

/* ---- binary parameters ------------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v) {
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_TEXT 25

/* A one-dimensional array in PostgreSQL's binary format. */
typedef struct pgarray {
    uint8_t *buf;
    size_t len, cap;
} pgarray;

static bool arr_begin(pgarray *a, uint32_t oid, size_t n, size_t payload) {
    a->cap = 20 + n * 4 + payload;
    a->buf = malloc(a->cap);
    if (!a->buf) return false;
    put32(a->buf, 1);             /* ndim */
    put32(a->buf + 4, 0);         /* no NULLs */
    put32(a->buf + 8, oid);       /* element type */
    put32(a->buf + 12, (uint32_t)n);
    put32(a->buf + 16, 1);        /* lower bound */
    a->len = 20;
    return true;
}

static void arr_add(pgarray *a, const void *data, size_t len) {
    put32(a->buf + a->len, (uint32_t)len);
    memcpy(a->buf + a->len + 4, data, len);
    a->len += 4 + len;
}

static bool handles_array(pgarray *a, const nox_handle *h, size_t stride, size_t n) {
    if (!arr_begin(a, OID_BYTEA, n, n * NOX_HANDLE_SIZE)) return false;
    for (size_t i = 0; i < n; i++) arr_add(a, ((const uint8_t *)h + i * stride), NOX_HANDLE_SIZE);
    return true;
}

/* ---- migrations ------------------------------------------------------------------------- */

static nox_status migrate(op *o, nox_error *err) {
    nox_status s = exec_simple(o, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", PGRES_TUPLES_OK,
                               "migration lock", err);
    if (s) return s;
    s = exec_simple(o,
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                    " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                    PGRES_COMMAND_OK, "create schema_migrations", err);
    for (int i = 0; !s && i < N_MIGRATIONS; i++) {
        const migration *m = &MIGRATIONS[i];
        s = exec_simple(o, "BEGIN", PGRES_COMMAND_OK, "begin", err);
        if (s) break;
        char q[160];
        snprintf(q, sizeof q, "SELECT 1 FROM schema_migrations WHERE version = %d", m->version);
        PGresult *r = PQexec(o->c->pg, q);
        s = check_result(o, &r, PGRES_TUPLES_OK, "read schema_migrations", err);
        bool applied = !s && PQntuples(r) > 0;
        PQclear(r);
        if (!s && !applied) {
            char what[96];
            snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
            s = exec_simple(o, m->sql, PGRES_COMMAND_OK, what, err);
            if (!s) {
                const char *params[2];
                char v[16];
                snprintf(v, sizeof v, "%d", m->version);
                params[0] = v;
                params[1] = m->name;
                r = PQexecParams(o->c->pg, "INSERT INTO schema_migrations (version, name) VALUES ($1::int4, $2)", 2,
                                 NULL, params, NULL, NULL, 0);
                s = check_result(o, &r, PGRES_COMMAND_OK, "record migration", err);
                PQclear(r);
            }
        }
        if (!s) s = exec_simple(o, "COMMIT", PGRES_COMMAND_OK, "commit migration", err);
        if (!s && !applied) nox_log(NOX_LOG_INFO, "database: applied migration %d (%s)", m->version, m->name);
        if (s) {
            PGresult *rb = PQexec(o->c->pg, "ROLLBACK");
            PQclear(rb);
        }
    }
    /* Always release the lock (session-level); a broken connection releases it by closing. */
    if (!o->broken) {
        PGresult *r = PQexec(o->c->pg, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) o->broken = true;
        PQclear(r);
    }
    return s;
}

/* ---- public API --------------------------------------------------------------------------- */

int gw_store_migrations_known(void) { return MIGRATIONS[N_MIGRATIONS - 1].version; }

nox_status gw_store_open(gw_store **out, const char *url, unsigned pool_size, nox_error *err) {
    *out = NULL;
    if (!url || !*url) return nox_error_set(err, NOX_ERR_INVALID, "database URL is empty");
    if (pool_size < 1 || pool_size > 64)
        return nox_error_set(err, NOX_ERR_INVALID, "database pool size %u is not in 1..64", pool_size);
    gw_store *st = calloc(1, sizeof *st);
    if (!st) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    st->url = strdup(url);
    st->url_redacted = redact_url(url);
    st->conns = calloc(pool_size, sizeof *st->conns);
    st->size = pool_size;
    if (!st->url || !st->url_redacted || !st->conns) {
        free(st->url);
        free(st->url_redacted);
        free(st->conns);
        free(st);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);

    op o;
    bool fresh;
    nox_status s = checkout(st, &o, false, &fresh, err);
    if (!s) s = migrate(&o, err);
    checkin(&o);
    if (s) {
        gw_store_close(st);
        return s;
    }
    *out = st;
    return NOX_OK;
}

void gw_store_close(gw_store *st) {
    if (!st) return;
    for (unsigned i = 0; i < st->size; i++) PQfinish(st->conns[i].pg);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    /* the URL holds the password: wipe it */
    if (st->url) memset(st->url, 0, strlen(st->url));
    free(st->url);
    free(st->url_redacted);
    free(st->conns);
    free(st);
}

static nox_status op_version(op *o, void *ctx, nox_error *err) {
    PGresult *r = PQexecPrepared(o->c->pg, STATEMENTS[ST_VERSION].name, 0, NULL, NULL, NULL, 1);
    nox_status s = check_result(o, &r, PGRES_TUPLES_OK, "schema version", err);
    if (s) return s;
    *(int *)ctx = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 8 ? (int)get64((const uint8_t *)PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return NOX_OK;
}

nox_status gw_store_schema_version(gw_store *st, int *version, nox_error *err) {
    return run(st, op_version, version, err);
}

static nox_status op_ping(op *o, void *ctx, nox_error *err) {
    (void)ctx;
    return exec_simple(o, "SELECT 1", PGRES_TUPLES_OK, "ping", err);
}

nox_status gw_store_ping(gw_store *st, nox_error *err) { return run(st, op_ping, NULL, err); }

static nox_status check_row(const gw_row *row, size_t i, nox_error *err) {
    if (nox_handle_is_zero(&row->handle))
        return nox_error_set(err, NOX_ERR_INVALID, "row %zu: the zero handle cannot be stored", i);
    if (!row->ciphertext || row->ciphertext_len < 16 || row->ciphertext_len > GW_CIPHERTEXT_MAX)
        return nox_error_set(err, NOX_ERR_INVALID, "row %zu: ciphertext of %zu bytes (16..%d expected)", i,
                             row->ciphertext_len, GW_CIPHERTEXT_MAX);
    return NOX_OK;
}

static nox_status op_insert_input(op *o, void *ctx, nox_error *err) {
    gw_row *row = ctx; /* created_at written back */
    uint8_t chain[8], type[2];
    put64(chain, nox_handle_chain_id(&row->handle));
    type[0] = 0;
    type[1] = nox_handle_type(&row->handle);
    const char *vals[9] = {(const char *)row->handle.bytes, (const char *)chain, (const char *)type,
                           (const char *)row->ciphertext, (const char *)row->public_key, (const char *)row->nonce,
                           (const char *)row->value_tag, (const char *)row->owner, (const char *)row->application};
    int lens[9] = {NOX_HANDLE_SIZE, 8, 2, (int)row->ciphertext_len, GW_PUBKEY_SIZE, GW_NONCE_SIZE, GW_TAG_SIZE,
                   GW_ADDRESS_SIZE, GW_ADDRESS_SIZE};
    int fmts[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    PGresult *r = PQexecPrepared(o->c->pg, STATEMENTS[ST_INSERT_INPUT].name, 9, vals, lens, fmts, 1);
    nox_status s = check_result(o, &r, PGRES_TUPLES_OK, "insert input", err);
    if (s == NOX_ERR_DUPLICATE) {
        char text[NOX_HANDLE_TEXT_LEN + 1];
        return nox_error_set(err, s, "handle %s is already stored", nox_handle_format(&row->handle, text));
    }
    if (s) return s;
    if (PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 8) row->created_at = (int64_t)get64((const uint8_t *)PQgetvalue(r, 0, 0));
    PQclear(r);
    return NOX_OK;
}

nox_status gw_store_insert_input(gw_store *st, const gw_row *row, nox_error *err) {
    if (!row->is_input) return nox_error_set(err, NOX_ERR_INVALID, "insert_input: the row is not an input");
    nox_status s = check_row(row, 0, err);
    if (s) return s;
    gw_row copy = *row;
    return run(st, op_insert_input, &copy, err);
}

/* ---- batch read ---------------------------------------------------------------------------- */

typedef struct read_ctx {
    const nox_handle *handles;
    size_t n;
    gw_row *rows;
    bool *found;
} read_ctx;

/* Indices of a result sorted by handle bytes, for the request-order lookup. */
typedef struct sorted_ref {
    const uint8_t *handle;
    int row;
} sorted_ref;

static int cmp_ref(const void *a, const void *b) {
    return memcmp(((const sorted_ref *)a)->handle, ((const sorted_ref *)b)->handle, NOX_HANDLE_SIZE);
}

static bool col_is(const PGresult *r, int row, int col, int len) {
    return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == len;
}

/*
 * Runs the prepared statement `stmt` over handles[0..n) (one bytea[] parameter) and indexes the rows by
 * their column 0 (a handle; rows where it is not one are left out): *r and *refs (sorted, *nr of them),
 * both for the caller to free (PQclear, free). For the lookups that answer in request order.
 */
static nox_status query_by_handles(op *o, int stmt, const char *what, const nox_handle *handles, size_t n,
                                   PGresult **r, sorted_ref **refs, int *nr, nox_error *err) {
    pgarray a;
    if (!handles_array(&a, handles, sizeof(nox_handle), n)) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    const char *vals[1] = {(const char *)a.buf};
    int lens[1] = {(int)a.len}, fmts[1] = {1};
    *r = PQexecPrepared(o->c->pg, STATEMENTS[stmt].name, 1, vals, lens, fmts, 1);
    free(a.buf);
    nox_status s = check_result(o, r, PGRES_TUPLES_OK, what, err);
    if (s) return s;
    int nt = PQntuples(*r);
    *refs = malloc(sizeof **refs * (size_t)(nt ? nt : 1));
    if (!*refs) {
        PQclear(*r);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    *nr = 0;
    for (int i = 0; i < nt; i++)
        if (col_is(*r, i, 0, NOX_HANDLE_SIZE)) (*refs)[(*nr)++] = (sorted_ref){(const uint8_t *)PQgetvalue(*r, i, 0), i};
    qsort(*refs, (size_t)*nr, sizeof **refs, cmp_ref);
    return NOX_OK;
}

static nox_status fill_row(gw_row *out, const PGresult *r, int i, nox_error *err) {
    if (!col_is(r, i, 1, 8) || !col_is(r, i, 2, 2) || !col_is(r, i, 4, GW_PUBKEY_SIZE) ||
        !col_is(r, i, 5, GW_NONCE_SIZE) || !col_is(r, i, 6, GW_TAG_SIZE) || PQgetisnull(r, i, 3) ||
        !col_is(r, i, 11, 8))
        return nox_error_set(err, NOX_ERR_IO, "database: a stored row has unexpected column sizes");
    memcpy(out->handle.bytes, PQgetvalue(r, i, 0), NOX_HANDLE_SIZE);
    out->chain_id = (uint32_t)get64((const uint8_t *)PQgetvalue(r, i, 1));
    out->type_code = (uint8_t)get16((const uint8_t *)PQgetvalue(r, i, 2));
    size_t ct_len = (size_t)PQgetlength(r, i, 3);
    out->ciphertext = malloc(ct_len ? ct_len : 1);
    if (!out->ciphertext) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    memcpy(out->ciphertext, PQgetvalue(r, i, 3), ct_len);
    out->ciphertext_len = ct_len;
    memcpy(out->public_key, PQgetvalue(r, i, 4), GW_PUBKEY_SIZE);
    memcpy(out->nonce, PQgetvalue(r, i, 5), GW_NONCE_SIZE);
    memcpy(out->value_tag, PQgetvalue(r, i, 6), GW_TAG_SIZE);
    out->is_input = PQgetlength(r, i, 7) == 5 && memcmp(PQgetvalue(r, i, 7), "input", 5) == 0;
    if (col_is(r, i, 8, GW_TXHASH_SIZE)) memcpy(out->tx_hash, PQgetvalue(r, i, 8), GW_TXHASH_SIZE);
    if (col_is(r, i, 9, GW_ADDRESS_SIZE)) memcpy(out->owner, PQgetvalue(r, i, 9), GW_ADDRESS_SIZE);
    if (col_is(r, i, 10, GW_ADDRESS_SIZE)) memcpy(out->application, PQgetvalue(r, i, 10), GW_ADDRESS_SIZE);
    out->created_at = (int64_t)get64((const uint8_t *)PQgetvalue(r, i, 11));
    return NOX_OK;
}

static nox_status op_read(op *o, void *vctx, nox_error *err) {
    read_ctx *ctx = vctx;
    PGresult *r;
    sorted_ref *refs;
    int nr;
    nox_status s = query_by_handles(o, ST_READ, "read handles", ctx->handles, ctx->n, &r, &refs, &nr, err);
    if (s) return s;
    for (size_t i = 0; !s && i < ctx->n; i++) {
        sorted_ref key = {ctx->handles[i].bytes, 0};
        const sorted_ref *hit = bsearch(&key, refs, (size_t)nr, sizeof *refs, cmp_ref);
        if (!hit) continue;
        s = fill_row(&ctx->rows[i], r, hit->row, err);
        if (!s) ctx->found[i] = true;
    }
    free(refs);
    PQclear(r);
    return s;
}

nox_status gw_store_read(gw_store *st, const nox_handle *handles, size_t n, gw_row *rows, size_t *missing,
                         size_t *n_missing, nox_error *err) {
    *n_missing = 0;
    if (n) memset(rows, 0, n * sizeof *rows);
    if (n == 0) return NOX_OK;
    if (n > 1000000) return nox_error_set(err, NOX_ERR_INVALID, "read of %zu handles: too many", n);
    read_ctx ctx = {handles, n, rows, calloc(n, sizeof(bool))};
    if (!ctx.found) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    nox_status s = run(st, op_read, &ctx, err);
    if (s) {
        gw_rows_free(rows, n);
        free(ctx.found);
        return s;
    }
    for (size_t i = 0; i < n; i++)
        if (!ctx.found[i]) missing[(*n_missing)++] = i;
    free(ctx.found);
    if (*n_missing) {
        char list[NOX_ERROR_MAX - 64] = "";
        size_t shown = 0;
        for (size_t k = 0; k < *n_missing && shown < 5; k++, shown++) {
            char text[NOX_HANDLE_TEXT_LEN + 1];
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", nox_handle_format(&handles[missing[k]], text));
        }
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "%zu handle(s) not stored: %s%s", *n_missing, list,
                             *n_missing > shown ? ", ..." : "");
    }
    return NOX_OK;
}

void gw_rows_free(gw_row *rows, size_t n) {
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].ciphertext);
        memset(&rows[i], 0, sizeof rows[i]);
    }
}

/* ---- publish ------------------------------------------------------------------------------- */

typedef struct pub_ctx {
    const gw_row *rows;
    size_t n;
    gw_publish_counts counts;
} pub_ctx;

static nox_status op_publish(op *o, void *vctx, nox_error *err) {
    pub_ctx *ctx = vctx;
    size_t n = ctx->n, ct_total = 0;
    for (size_t i = 0; i < n; i++) ct_total += ctx->rows[i].ciphertext_len;
    pgarray arr[8] = {{0}};
    bool ok = handles_array(&arr[0], &ctx->rows[0].handle, sizeof(gw_row), n) &&
              arr_begin(&arr[1], OID_INT8, n, n * 8) && arr_begin(&arr[2], OID_INT2, n, n * 2) &&
              arr_begin(&arr[3], OID_BYTEA, n, ct_total) && arr_begin(&arr[4], OID_BYTEA, n, n * GW_PUBKEY_SIZE) &&
              arr_begin(&arr[5], OID_BYTEA, n, n * GW_NONCE_SIZE) && arr_begin(&arr[6], OID_BYTEA, n, n * GW_TAG_SIZE) &&
              arr_begin(&arr[7], OID_BYTEA, n, n * GW_TXHASH_SIZE);
    nox_status s = NOX_OK;
    PGresult *r = NULL;
    bool *created = NULL;
    sorted_ref *refs = NULL;
    if (!ok) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const gw_row *row = &ctx->rows[i];
        uint8_t chain[8], type[2] = {0, nox_handle_type(&row->handle)};
        put64(chain, nox_handle_chain_id(&row->handle));
        arr_add(&arr[1], chain, 8);
        arr_add(&arr[2], type, 2);
        arr_add(&arr[3], row->ciphertext, row->ciphertext_len);
        arr_add(&arr[4], row->public_key, GW_PUBKEY_SIZE);
        arr_add(&arr[5], row->nonce, GW_NONCE_SIZE);
        arr_add(&arr[6], row->value_tag, GW_TAG_SIZE);
        arr_add(&arr[7], row->tx_hash, GW_TXHASH_SIZE);
    }
    const char *vals[8];
    int lens[8], fmts[8];
    for (int k = 0; k < 8; k++) {
        vals[k] = (const char *)arr[k].buf;
        lens[k] = (int)arr[k].len;
        fmts[k] = 1;
    }

    /* One statement: one database transaction, all or nothing (spec §7.4). */
    r = PQexecPrepared(o->c->pg, STATEMENTS[ST_PUB_INSERT].name, 8, vals, lens, fmts, 1);
    if ((s = check_result(o, &r, PGRES_TUPLES_OK, "insert results", err))) goto out;
    /* The handles this transaction inserted. */
    created = calloc(n, sizeof *created);
    int nt = PQntuples(r);
    refs = malloc(sizeof *refs * (size_t)(nt ? nt : 1));
    if (!created || !refs) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto out;
    }
    int nr = 0;
    size_t n_created = 0;
    for (int i = 0; i < nt; i++)
        if (col_is(r, i, 0, NOX_HANDLE_SIZE)) refs[nr++] = (sorted_ref){(const uint8_t *)PQgetvalue(r, i, 0), 0};
    qsort(refs, (size_t)nr, sizeof *refs, cmp_ref);
    for (size_t i = 0; i < n; i++) {
        sorted_ref key = {ctx->rows[i].handle.bytes, 0};
        sorted_ref *hit = bsearch(&key, refs, (size_t)nr, sizeof *refs, cmp_ref);
        if (hit && hit->row == 0) {
            created[i] = true;
            n_created++;
            hit->row = 1; /* a handle repeated in the batch is created once */
        }
    }
    PQclear(r);
    r = NULL;
    free(refs);
    refs = NULL;
    gw_publish_counts c = {n_created, 0, 0};
    if (n_created == n) goto done; /* the usual case: nothing was there */

    /* The stored tags of the others: committed rows (ON CONFLICT waited for any in progress), and
     * handles are never deleted, so each one not created is found here. */
    r = PQexecPrepared(o->c->pg, STATEMENTS[ST_PUB_TAGS].name, 1, vals, lens, fmts, 1);
    if ((s = check_result(o, &r, PGRES_TUPLES_OK, "read stored tags", err))) goto out;
    nt = PQntuples(r);
    refs = malloc(sizeof *refs * (size_t)(nt ? nt : 1));
    if (!refs) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto out;
    }
    nr = 0;
    for (int i = 0; i < nt; i++)
        if (col_is(r, i, 0, NOX_HANDLE_SIZE) && col_is(r, i, 1, GW_TAG_SIZE))
            refs[nr++] = (sorted_ref){(const uint8_t *)PQgetvalue(r, i, 0), i};
    qsort(refs, (size_t)nr, sizeof *refs, cmp_ref);
    for (size_t i = 0; i < n; i++) {
        if (created[i]) continue;
        sorted_ref key = {ctx->rows[i].handle.bytes, 0};
        const sorted_ref *hit = bsearch(&key, refs, (size_t)nr, sizeof *refs, cmp_ref);
        if (!hit) { /* not inserted and not there: cannot happen, rows are never deleted */
            s = nox_error_set(err, NOX_ERR_IO, "database: result row vanished during publication");
            goto out;
        }
        if (memcmp(PQgetvalue(r, hit->row, 1), ctx->rows[i].value_tag, GW_TAG_SIZE) == 0) {
            c.unchanged++;
        } else {
            char text[NOX_HANDLE_TEXT_LEN + 1];
            c.conflicted++;
            nox_log(NOX_LOG_WARN, "conflicting result for handle %s: another value is stored; not overwritten",
                    nox_handle_format(&ctx->rows[i].handle, text));
        }
    }
done:
    ctx->counts = c;
out:
    PQclear(r);
    free(refs);
    free(created);
    for (int k = 0; k < 8; k++) free(arr[k].buf);
    return s;
}

nox_status gw_store_publish(gw_store *st, const gw_row *rows, size_t n, gw_publish_counts *counts, nox_error *err) {
    *counts = (gw_publish_counts){0, 0, 0};
    if (n == 0) return NOX_OK;
    if (n > 1000000) return nox_error_set(err, NOX_ERR_INVALID, "publish of %zu results: too many", n);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].is_input) return nox_error_set(err, NOX_ERR_INVALID, "result %zu is marked as an input", i);
        nox_status s = check_row(&rows[i], i, err);
        if (s) return s;
    }
    pub_ctx ctx = {rows, n, {0, 0, 0}};
    nox_status s = run(st, op_publish, &ctx, err);
    if (!s) *counts = ctx.counts;
    return s;
}

/* ---- failure records ------------------------------------------------------------------------ */

typedef struct fail_ctx {
    const gw_failure *f;
    size_t n;
    const uint8_t *tx_hash;
} fail_ctx;

static nox_status op_failures(op *o, void *vctx, nox_error *err) {
    fail_ctx *ctx = vctx;
    size_t n = ctx->n, text_total = 0;
    for (size_t i = 0; i < n; i++) text_total += strlen(ctx->f[i].reason);
    pgarray arr[3] = {{0}};
    nox_status s = NOX_OK;
    if (!handles_array(&arr[0], &ctx->f[0].handle, sizeof(gw_failure), n) || !arr_begin(&arr[1], OID_INT8, n, n * 8) ||
        !arr_begin(&arr[2], OID_TEXT, n, text_total)) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t chain[8];
        put64(chain, nox_handle_chain_id(&ctx->f[i].handle));
        arr_add(&arr[1], chain, 8);
        arr_add(&arr[2], ctx->f[i].reason, strlen(ctx->f[i].reason));
    }
    const char *vals[4] = {(const char *)arr[0].buf, (const char *)arr[1].buf, (const char *)arr[2].buf,
                           (const char *)ctx->tx_hash};
    int lens[4] = {(int)arr[0].len, (int)arr[1].len, (int)arr[2].len, GW_TXHASH_SIZE}, fmts[4] = {1, 1, 1, 1};
    PGresult *r = PQexecPrepared(o->c->pg, STATEMENTS[ST_FAIL_UPSERT].name, 4, vals, lens, fmts, 1);
    s = check_result(o, &r, PGRES_COMMAND_OK, "record failures", err);
    PQclear(r);
out:
    for (int k = 0; k < 3; k++) free(arr[k].buf);
    return s;
}

nox_status gw_store_record_failures(gw_store *st, const gw_failure *failures, size_t n,
                                    const uint8_t tx_hash[GW_TXHASH_SIZE], nox_error *err) {
    if (n == 0) return NOX_OK;
    if (n > 1000000) return nox_error_set(err, NOX_ERR_INVALID, "%zu failure records: too many", n);
    for (size_t i = 0; i < n; i++) {
        size_t len = failures[i].reason ? strlen(failures[i].reason) : 0;
        if (nox_handle_is_zero(&failures[i].handle))
            return nox_error_set(err, NOX_ERR_INVALID, "failure %zu: the zero handle cannot be stored", i);
        if (len < 1 || len > GW_REASON_MAX)
            return nox_error_set(err, NOX_ERR_INVALID, "failure %zu: a reason of %zu characters (1..%d expected)", i,
                                 len, GW_REASON_MAX);
    }
    fail_ctx ctx = {failures, n, tx_hash};
    return run(st, op_failures, &ctx, err);
}

typedef struct status_ctx {
    const nox_handle *h;
    gw_status_info *out;
} status_ctx;

static nox_status op_status(op *o, void *vctx, nox_error *err) {
    status_ctx *ctx = vctx;
    const char *vals[1] = {(const char *)ctx->h->bytes};
    int lens[1] = {NOX_HANDLE_SIZE}, fmts[1] = {1};
    PGresult *r = PQexecPrepared(o->c->pg, STATEMENTS[ST_STATUS].name, 1, vals, lens, fmts, 1);
    nox_status s = check_result(o, &r, PGRES_TUPLES_OK, "handle status", err);
    if (s) return s;
    if (PQntuples(r) != 1 || !col_is(r, 0, 0, 1)) {
        PQclear(r);
        return nox_error_set(err, NOX_ERR_IO, "database: unexpected answer to the status query");
    }
    gw_status_info *out = ctx->out;
    memset(out, 0, sizeof *out);
    out->stored = PQgetvalue(r, 0, 0)[0] != 0;
    if (!PQgetisnull(r, 0, 1)) {
        int len = PQgetlength(r, 0, 1);
        if (len > GW_REASON_MAX) len = GW_REASON_MAX;
        out->failed = 1;
        memcpy(out->reason, PQgetvalue(r, 0, 1), (size_t)len);
        out->reason[len] = '\0';
    }
    PQclear(r);
    return NOX_OK;
}

nox_status gw_store_status(gw_store *st, const nox_handle *h, gw_status_info *out, nox_error *err) {
    status_ctx ctx = {h, out};
    return run(st, op_status, &ctx, err);
}

typedef struct failed_ctx {
    const nox_handle *handles;
    size_t n;
    gw_failed_handle *out;
    size_t n_out;
} failed_ctx;

static nox_status op_failed(op *o, void *vctx, nox_error *err) {
    failed_ctx *ctx = vctx;
    PGresult *r;
    sorted_ref *refs;
    int nr;
    nox_status s = query_by_handles(o, ST_FAILED, "failed handles", ctx->handles, ctx->n, &r, &refs, &nr, err);
    if (s) return s;
    ctx->n_out = 0;
    for (size_t i = 0; i < ctx->n; i++) { /* request order; a handle asked twice is reported twice */
        sorted_ref key = {ctx->handles[i].bytes, 0};
        const sorted_ref *hit = bsearch(&key, refs, (size_t)nr, sizeof *refs, cmp_ref);
        if (!hit) continue;
        gw_failed_handle *f = &ctx->out[ctx->n_out++];
        int len = PQgetlength(r, hit->row, 1);
        if (len > GW_REASON_MAX) len = GW_REASON_MAX;
        f->index = i;
        memcpy(f->reason, PQgetvalue(r, hit->row, 1), (size_t)len);
        f->reason[len] = '\0';
    }
    free(refs);
    PQclear(r);
    return NOX_OK;
}

nox_status gw_store_failed(gw_store *st, const nox_handle *handles, size_t n, gw_failed_handle *out, size_t *n_out,
                           nox_error *err) {
    *n_out = 0;
    if (n == 0) return NOX_OK;
    if (n > 1000000) return nox_error_set(err, NOX_ERR_INVALID, "lookup of %zu handles: too many", n);
    failed_ctx ctx = {handles, n, out, 0};
    nox_status s = run(st, op_failed, &ctx, err);
    *n_out = s ? 0 : ctx.n_out;
    return s;
}
