/* noxctl subcommands. Each takes its own argv (argv[0] is the subcommand) and returns an exit status. */
#ifndef NOXCTL_H
#define NOXCTL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"
#include "nox/handle.h"
#include "nox/http_body.h"
#include "nox/rpc.h"

/* offline */
int noxctl_keccak(int argc, char **argv);
int noxctl_handle(int argc, char **argv);
int noxctl_key(int argc, char **argv);
int noxctl_nats_key(int argc, char **argv);
int noxctl_decode_error(int argc, char **argv); /* cmd_decode_error.c */
/* online (cmd_encrypt.c, cmd_decrypt.c, cmd_wait.c, cmd_token.c, cmd_tx.c) */
int noxctl_encrypt(int argc, char **argv);
int noxctl_decrypt(int argc, char **argv);
int noxctl_wait(int argc, char **argv);
int noxctl_token(int argc, char **argv);
int noxctl_tx(int argc, char **argv);

/** Prints "noxctl: <message>" on stderr and returns 1. */
int noxctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* noxctl_fail with a va_list. */
int noxctl_vfail(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/** Prints "noxctl: <message>" and then `usage` on stderr, and returns 2. */
int noxctl_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the online commands' shared options and endpoints (options.c, endpoints.c) ---------- */

/** The settings every online command may need. */
typedef enum noxctl_setting {
    NOXCTL_GATEWAY,  /* --gateway URL,     NOX_GATEWAY_URL */
    NOXCTL_RPC,      /* --rpc URL,         NOX_RPC_URL */
    NOXCTL_COMPUTE,  /* --compute ADDR,    NOX_COMPUTE_ADDRESS */
    NOXCTL_TOKEN,    /* --token ADDR,      NOX_TOKEN_ADDRESS */
    NOXCTL_CHAIN_ID, /* --chain-id N,      NOX_CHAIN_ID */
    NOXCTL_CA_FILE,  /* --cacert FILE,     NOX_CA_FILE: the CA that verifies https:// endpoints */
    NOXCTL_OPERATORS, /* --operators FILE, NOX_OPERATORS_CONFIG: the operators.yaml that names operator ids */
    NOXCTL_N_SETTINGS
} noxctl_setting;

/** A command's parsed common options and, once loaded, its env file. */
typedef struct noxctl_ctx {
    bool json;                             /* --json: one JSON object on stdout */
    const char *flags[NOXCTL_N_SETTINGS];  /* the flags given, or NULL */
    const char *env_flag;                  /* --env FILE, or NULL */
    bool env_loaded;                       /* the env file was looked for (and parsed when found) */
    char *env_path;                        /* the env file read, or NULL when there was none */
    char **env_names, **env_values;        /* its assignments (the last one of a name wins) */
    size_t env_n;
} noxctl_ctx;

/** A command-specific option taking a value ("--key" → *value), or a flag (value == NULL → *flag = true). */
typedef struct noxctl_opt {
    const char *name;
    const char **value;
    bool *flag;
} noxctl_opt;

/**
 * Parses argv[0..argc): the common options (--json, --gateway, --rpc,
 * --compute, --token, --chain-id, --env) anywhere, the command's opts (a
 * NULL-name-terminated array, may be NULL), and up to max_pos positional
 * arguments into pos (*n_pos receives their count). Returns 0, or 2 after
 * printing the problem and `usage`.
 */
int noxctl_parse(noxctl_ctx *ctx, int argc, char **argv, const noxctl_opt *opts, const char **pos, size_t max_pos,
                 size_t *n_pos, const char *usage);

/** Frees what ctx holds (the env file's contents). */
void noxctl_ctx_free(noxctl_ctx *ctx);

/**
 * Looks a setting up: its flag, else the process environment, else the env
 * file (--env FILE, else $NOX_ENV, else build/devnet/env when it exists).
 * *value = NULL when it is nowhere (NOX_OK). NOX_ERR_CONFIG for an env file
 * that is missing (when named) or malformed (FILE:LINE: reason).
 */
nox_status noxctl_lookup(noxctl_ctx *ctx, noxctl_setting s, const char **value, nox_error *err);

/**
 * The CA file (--cacert / NOX_CA_FILE) that verifies the https:// endpoints, or NULL for the system's trust
 * store. Set by noxctl_require and noxctl_lookup when they resolve the Gateway or RPC URL.
 */
const char *noxctl_ca_file(void);

/** As noxctl_lookup, but a missing setting is NOX_ERR_CONFIG naming the flag and the variable. */
nox_status noxctl_require(noxctl_ctx *ctx, noxctl_setting s, const char **value, nox_error *err);

/** A required address setting (--compute, --token), parsed. */
nox_status noxctl_require_address(noxctl_ctx *ctx, noxctl_setting s, uint8_t out[NOX_ADDRESS_SIZE], nox_error *err);

/** The chain id setting: *have = false when it is nowhere. */
nox_status noxctl_chain_id(noxctl_ctx *ctx, bool *have, uint64_t *chain_id, nox_error *err);

/** Parses `0x` + 40 hex digits for the option or argument `what`. */
nox_status noxctl_parse_address(const char *what, const char *text, uint8_t out[NOX_ADDRESS_SIZE], nox_error *err);

/** Parses and validates a handle (the protocol's field rules, any chain) for `what`. */
nox_status noxctl_parse_handle(const char *what, const char *text, nox_handle *h, nox_error *err);

/** Parses a decimal integer in [min, max] for the option `what`. */
nox_status noxctl_parse_u64(const char *what, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                            nox_error *err);

/** Prints o as one compact JSON line on stdout and releases it. */
void noxctl_print_json(json_t *o);

/**
 * As noxctl_print_json, with a member "value": value appended (when value is
 * not NULL). The value (a plaintext) is written straight to stdout and never
 * copied into jansson's memory, so the caller can wipe its only copy.
 */
void noxctl_print_json_value(json_t *o, const char *value);


/* ---- HTTP to the Gateway (http_client.c) ----------------------------------------------- */

/**
 * One HTTP request: method "GET" or "POST" (then `body` is sent as
 * application/json), an optional Authorization header value. On NOX_OK
 * *status is the HTTP status and *reply the parsed JSON answer (NULL when the
 * answer is not JSON). NOX_ERR_IO when the server cannot be reached.
 */
nox_status noxctl_http(const char *method, const char *url, const char *authorization, const char *body,
                       long *status, json_t **reply, nox_error *err);

/** Writes base (trailing slashes removed) + path into out; NOX_ERR_INVALID when it does not fit. */
nox_status noxctl_url(char *out, size_t cap, const char *base, const char *path, nox_error *err);

/** Writes "<error>: <message>" of a Gateway error answer (spec §7), or a generic text, into out. */
const char *noxctl_gateway_error(long status, const json_t *reply, char *out, size_t cap);

/**
 * One GET of the handle status URL ({gateway}/v0/handles/{htext}/status; cmd_wait.c): *state = "stored",
 * "pending" or "failed" (a static string), the Gateway's reason in reason[0..cap) for "failed".
 * NOX_ERR_IO when the Gateway cannot be reached or fails (5xx), NOX_ERR_REMOTE when it refuses.
 */
nox_status noxctl_handle_status(const char *url, const char *htext, const char **state, char *reason, size_t cap,
                                nox_error *err);

/* ---- the Gateway's user API (cmd_encrypt.c, cmd_decrypt.c) ------------------------------ */

/**
 * POST {gateway}/v0/secrets: encrypts the plaintext encoding plain[0..len)
 * of `type` for (owner, app) on chain_id (has_chain false: the Gateway's
 * default). On NOX_OK *handle is the new handle (checked: its type, its
 * chain when given) and proof receives `0x` + 274 hex digits + NUL.
 */
nox_status noxctl_encrypt_bytes(const char *gateway, uint8_t type, const uint8_t *plain, size_t len,
                                const uint8_t owner[NOX_ADDRESS_SIZE], const uint8_t app[NOX_ADDRESS_SIZE],
                                bool has_chain, uint64_t chain_id, nox_handle *handle, char proof[275],
                                nox_error *err);

/**
 * Decrypts handle h as the owner of `key` (spec §7.2: an ephemeral RSA-2048
 * key, a signed DataAccessAuthorization, GET {gateway}/v0/secrets/{handle},
 * delegation unwrap, AES-GCM). On NOX_OK *text is the value as text in the
 * handle's type (malloc'd; the caller prints it, then OPENSSL_cleanse's and
 * frees it). Errors never contain the value.
 */
nox_status noxctl_decrypt_text(const char *gateway, const uint8_t compute[NOX_ADDRESS_SIZE],
                               const nox_ec_privkey *key, const nox_handle *h, char **text, nox_error *err);

/** Frees a text from noxctl_decrypt_text after wiping it (NULL is fine). */
void noxctl_wipe_text(char *text);

/* ---- the chain (eth.c) -------------------------------------------------------------------- */

/**
 * Connects to the node at url and reads its chain id; when want_chain is
 * non-zero, refuses another one (NOX_ERR_INVALID naming both).
 */
nox_status noxctl_rpc_open(const char *url, uint64_t want_chain, nox_rpc **rpc, uint64_t *chain_id, nox_error *err);

/** What a mined transaction left. */
typedef struct noxctl_receipt {
    uint8_t tx_hash[32];
    uint64_t block_number;
    uint64_t inclusion_ms; /* from eth_sendRawTransaction to the receipt */
    json_t *logs;          /* the receipt's logs (a reference; json_decref) */
} noxctl_receipt;

/**
 * Sends a contract call from key's address: nonce (pending), gas price, gas
 * (eth_estimateGas × 1.2), an EIP-155 legacy transaction, then polls the
 * receipt every 100 ms for up to 60 s. A revert (in the estimate or in the
 * block) is NOX_ERR_REMOTE naming the contract's error when it is known.
 */
nox_status noxctl_send_tx(nox_rpc *rpc, uint64_t chain_id, const nox_ec_privkey *key, const uint8_t to[NOX_ADDRESS_SIZE],
                          const uint8_t *data, size_t len, noxctl_receipt *out, nox_error *err);

/**
 * Finds in logs the first log of `address` whose topics are topic0 and then
 * the given topics (n_topics of them after topic0), and copies its 32-byte
 * data word number `word` into out. NOX_ERR_NOT_FOUND when there is none.
 */
nox_status noxctl_log_word(const json_t *logs, const uint8_t address[NOX_ADDRESS_SIZE], const char *event_signature,
                           const uint8_t (*topics)[32], size_t n_topics, size_t word, uint8_t out[32],
                           nox_error *err);

/** eth_call that returns one 32-byte word (block: a tag or NULL for latest). */
nox_status noxctl_call_word(nox_rpc *rpc, const uint8_t to[NOX_ADDRESS_SIZE], const uint8_t *data, size_t len,
                            const char *block, uint8_t out[32], nox_error *err);

/**
 * Why mined transaction hash_hex (0x + 64 hex digits) reverted: re-runs it (eth_getTransactionByHash, then
 * eth_call with its from, to, input, value and gas) at block `block` (a quantity or tag). On NOX_OK why[0..cap)
 * is the decoded revert (abi.c), "no revert data (...)" or, when the call does not revert there, says so;
 * *data_hex (when data_hex is not NULL) the raw revert data (malloc'd `0x` hex; NULL when there is none).
 * Errors are the node's or the transport's.
 */
nox_status noxctl_revert_reason(nox_rpc *rpc, const char *hash_hex, const char *block, char **data_hex, char *why,
                                size_t cap, nox_error *err);

/** The 4-byte selector of a function signature such as "mint(address,uint64)". */
void noxctl_selector(const char *signature, uint8_t out[4]);

#endif
