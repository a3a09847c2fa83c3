/*
 * nox/rpc.h — a small Ethereum JSON-RPC 2.0 client over HTTP(S) (libcurl):
 * the calls the Ingestor and the Gateway need, and a generic call for the
 * rest.
 *
 * Errors come in three classes, so that a caller can decide whether to retry:
 *   NOX_ERR_IO      transport: the node could not be reached, the connection
 *                   broke, timed out, or answered an HTTP error without a
 *                   JSON-RPC body (e.g. a proxy's 502 or a 429). Retryable.
 *   NOX_ERR_REMOTE  the node answered a JSON-RPC error object; its code and
 *                   message are in the error text and, when asked for, in a
 *                   nox_rpc_fault (e.g. -32005 "query returned more than
 *                   10000 results", or 3 "execution reverted" with data).
 *   NOX_ERR_INVALID the answer is not what the protocol promises: not JSON,
 *                   not a JSON-RPC 2.0 response to our request, a result of
 *                   the wrong shape (a bad quantity, a hash of the wrong
 *                   length), or larger than max_response.
 * Error messages name the method and, for the node, only scheme://host:port:
 * RPC URLs often carry an API key in their path or query, which never
 * appears in an error or a log line (see nox_url_redact).
 *
 * Threads: a client owns one libcurl handle whose connection is kept alive
 * between calls. Calls on one client are serialised by an internal mutex,
 * so a client may be shared by threads, but they then wait for each other;
 * for parallel calls use one client per thread. Creating clients is
 * thread-safe (libcurl's global initialisation runs once).
 */
#ifndef NOX_RPC_H
#define NOX_RPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h" /* NOX_ADDRESS_SIZE */
#include "nox/error.h"
#include "nox/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nox_rpc nox_rpc;

/** Client settings. Start from nox_rpc_options_default. */
typedef struct nox_rpc_options {
    const char *url;              /**< http:// or https:// URL of the node (required) */
    unsigned timeout_ms;          /**< whole-call timeout; default 10000 */
    unsigned connect_timeout_ms;  /**< TCP (+TLS) connection timeout; default 3000 */
    size_t max_response;          /**< largest accepted answer in bytes; default 64 MiB */
    const nox_tls_client *tls; /**< https: CA and client certificate (nox/tls.h); NULL: the system's trust store */
} nox_rpc_options;

/** Fills `o` with the defaults above and url = NULL. */
void nox_rpc_options_default(nox_rpc_options *o);

/**
 * Creates a client for o->url. No connection is made yet. Returns NOX_OK
 * with *out set, NOX_ERR_INVALID for a URL that is not http(s)://, or
 * NOX_ERR_NOMEM / NOX_ERR_IO when libcurl cannot be set up.
 */
nox_status nox_rpc_new(const nox_rpc_options *o, nox_rpc **out, nox_error *err);

/** Closes the connection and frees the client. NULL is fine. */
void nox_rpc_free(nox_rpc *c);

/** Most clients in one nox_rpc_pool. */
#define NOX_RPC_POOL_MAX 64u

/**
 * A pool of `size` clients (1..NOX_RPC_POOL_MAX) to one node, each a nox_rpc with options `o` (so each call
 * is bounded by o->timeout_ms): at most `size` calls in flight, each on its own kept-alive connection.
 * Thread-safe. Errors as nox_rpc_new.
 */
typedef struct nox_rpc_pool nox_rpc_pool;
nox_status nox_rpc_pool_new(const nox_rpc_options *o, unsigned size, nox_rpc_pool **out, nox_error *err);
/** Frees the pool and its clients (none may be taken). NULL is fine. */
void nox_rpc_pool_free(nox_rpc_pool *p);
/** The number of clients. */
unsigned nox_rpc_pool_size(const nox_rpc_pool *p);
/** A free client, waiting up to wait_ms for one to come back; NULL when none did (all busy). Give it back. */
nox_rpc *nox_rpc_pool_take(nox_rpc_pool *p, unsigned wait_ms);
/** Returns a client taken from p (NULL is fine). */
void nox_rpc_pool_give(nox_rpc_pool *p, nox_rpc *c);

/** The node's URL reduced to scheme://host[:port] (safe to log), as computed by nox_url_redact. */
const char *nox_rpc_display_url(const nox_rpc *c);

/** A JSON-RPC error object, as the node sent it (the message cut to fit, made printable). */
typedef struct nox_rpc_fault {
    int64_t code;          /**< the error's `code` */
    char message[256];     /**< its `message` */
    /** Its `data` when that is a `0x` hex string of at most 1024 bytes (eth_call's revert data), else "". */
    char data[2 * 1024 + 3];
} nox_rpc_fault;

/**
 * Calls `method` with `params` (a JSON array or object; NULL means []),
 * which the call takes over (it is released even on failure). On NOX_OK
 * *result receives the `result` member (a new reference: json_decref it; it
 * may be JSON null). On NOX_ERR_REMOTE, *fault (when not NULL) receives the
 * error object. See the top of this file for the error classes.
 */
nox_status nox_rpc_call(nox_rpc *c, const char *method, json_t *params, json_t **result, nox_rpc_fault *fault,
                        nox_error *err);

/**
 * Parses an Ethereum quantity: `0x` + 1..16 hex digits (any case; leading
 * zeros tolerated), at most 2^64-1. Returns NOX_OK or NOX_ERR_INVALID.
 */
nox_status nox_rpc_parse_quantity(const char *text, uint64_t *out, nox_error *err);

/** eth_chainId. NOX_OK with *chain_id set, or one of the error classes. */
nox_status nox_rpc_chain_id(nox_rpc *c, uint64_t *chain_id, nox_error *err);

/** eth_blockNumber: the number of the most recent block. */
nox_status nox_rpc_block_number(nox_rpc *c, uint64_t *number, nox_error *err);

/** What the Ingestor needs of a block header. */
typedef struct nox_rpc_block {
    uint64_t number;
    uint8_t hash[32];
    uint64_t timestamp;
} nox_rpc_block;

/**
 * eth_getBlockByNumber(number, false). NOX_OK with *out filled;
 * NOX_ERR_NOT_FOUND when the node has no such block (it answered null);
 * NOX_ERR_INVALID when the answer's number differs from the one asked for.
 */
nox_status nox_rpc_get_block(nox_rpc *c, uint64_t number, nox_rpc_block *out, nox_error *err);

/** eth_getLogs filter: one contract, a list of accepted topic0 values, an inclusive block range. */
typedef struct nox_rpc_log_filter {
    uint8_t address[NOX_ADDRESS_SIZE];
    const uint8_t (*topic0)[32]; /**< n_topic0 event topics, any of which matches; NULL/0 = any event */
    size_t n_topic0;
    uint64_t from_block, to_block;
} nox_rpc_log_filter;

/** Most topics a log can have (LOG0..LOG4). */
#define NOX_RPC_MAX_TOPICS 4

/** One log of eth_getLogs. */
typedef struct nox_rpc_log {
    uint64_t block_number;
    uint8_t block_hash[32];
    uint8_t tx_hash[32];
    uint64_t log_index;
    uint8_t address[NOX_ADDRESS_SIZE];
    size_t n_topics;
    uint8_t topics[NOX_RPC_MAX_TOPICS][32];
    uint8_t *data;    /**< data_len bytes (malloc'd; NULL when empty) */
    size_t data_len;
    int removed;      /**< 1 when the node flags the log as removed by a reorganisation */
} nox_rpc_log;

/**
 * eth_getLogs with filter f. On NOX_OK *logs receives an array of *n_logs
 * logs in the node's order (block, then logIndex), to release with
 * nox_rpc_logs_free; *logs is NULL when there are none. Every field is
 * checked (hex lengths, quantities, at most four topics); a malformed log
 * makes the whole answer NOX_ERR_INVALID, naming the index of the log and
 * the field. Nodes refuse ranges that would return too much with
 * NOX_ERR_REMOTE: ask for a smaller range.
 */
nox_status nox_rpc_get_logs(nox_rpc *c, const nox_rpc_log_filter *f, nox_rpc_log **logs, size_t *n_logs,
                            nox_error *err);

/** Frees an array returned by nox_rpc_get_logs (NULL is fine). */
void nox_rpc_logs_free(nox_rpc_log *logs, size_t n);

/**
 * eth_call({to, data}, block): calls a contract read-only. `block` is a
 * block tag ("latest", "safe", "finalized") or NULL for "latest". On NOX_OK
 * *out receives the returned bytes (malloc'd, NULL when empty; free()) and
 * *out_len their count. A revert is NOX_ERR_REMOTE with the node's error
 * object in *fault (its revert data in fault->data when the node sends it).
 */
nox_status nox_rpc_eth_call(nox_rpc *c, const uint8_t to[NOX_ADDRESS_SIZE], const uint8_t *data, size_t len,
                            const char *block, uint8_t **out, size_t *out_len, nox_rpc_fault *fault, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_RPC_H */
