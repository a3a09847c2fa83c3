/*
 * nox/config.h — YAML configuration documents with source positions.
 *
 * Every service and tool reads its YAML through this layer, so every
 * configuration error reads the same way:
 *     config/operators.yaml:12:9: plugins[1].operators[2]: operator 'fooo' is not exported ...
 * Lines and columns are 1-based. Scalars may be written `${ENV_VAR}` (or
 * contain it) to take text from the environment; an unset variable is an
 * error at its position. Duplicate mapping keys are errors.
 */
#ifndef NOX_CONFIG_H
#define NOX_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed YAML document (owns every node). */
typedef struct nox_cfg_doc nox_cfg_doc;
/** A node of a document; valid until nox_cfg_free. */
typedef struct nox_cfg_node nox_cfg_node;

/** Node kinds. A plain empty scalar, `~` and `null` are NOX_CFG_NULL. */
typedef enum nox_cfg_kind { NOX_CFG_NULL, NOX_CFG_SCALAR, NOX_CFG_MAP, NOX_CFG_LIST } nox_cfg_kind;

/** Largest configuration file accepted, in bytes. */
#define NOX_CFG_MAX_FILE_SIZE (1u << 20)

/** Loads and parses the file at `path`. On error *doc is NULL and err says file:line:col: what. */
nox_status nox_cfg_load(const char *path, nox_cfg_doc **doc, nox_error *err);

/**
 * Loads `path` and checks the shape every configuration file shares: the
 * root is a mapping whose keys are all in the NULL-terminated `allowed`
 * list. On success *doc owns the document (nox_cfg_free) and *root is its root.
 */
nox_status nox_cfg_load_map(const char *path, const char *const *allowed, nox_cfg_doc **doc,
                            const nox_cfg_node **root, nox_error *err);

/** Parses YAML text; `name` stands in for the file name in messages and is the base of relative paths' directory ("." if it has no '/'). */
nox_status nox_cfg_parse(const char *name, const char *text, size_t len, nox_cfg_doc **doc, nox_error *err);

/** Frees a document (NULL is fine). */
void nox_cfg_free(nox_cfg_doc *doc);

/** The root node (a NOX_CFG_NULL node for an empty document). */
const nox_cfg_node *nox_cfg_root(const nox_cfg_doc *doc);

/** The file name the document was loaded from. */
const char *nox_cfg_file(const nox_cfg_doc *doc);

/** The directory of the file (for resolving relative paths), without a trailing '/'. */
const char *nox_cfg_dir(const nox_cfg_doc *doc);

nox_cfg_kind nox_cfg_kind_of(const nox_cfg_node *node);
/** A word for the kind, for messages: "a mapping", "a list", "a scalar", "null". */
const char *nox_cfg_kind_name(nox_cfg_kind kind);
unsigned nox_cfg_line(const nox_cfg_node *node);
unsigned nox_cfg_column(const nox_cfg_node *node);

/** Entries of a mapping or items of a list (0 for scalars and null). */
size_t nox_cfg_size(const nox_cfg_node *node);
/** The i-th list item or mapping value. */
const nox_cfg_node *nox_cfg_at(const nox_cfg_node *node, size_t i);
/** The i-th mapping key node (a scalar). */
const nox_cfg_node *nox_cfg_key_at(const nox_cfg_node *node, size_t i);
/** The value under `key` in a mapping, or NULL. */
const nox_cfg_node *nox_cfg_get(const nox_cfg_node *map, const char *key);
/** The text of a scalar (environment variables expanded), or NULL for other kinds. */
const char *nox_cfg_str(const nox_cfg_node *node);

/**
 * Records "file:line:col: where: message" for `node` and returns `code`.
 * `where` names the setting ("plugins[1].path"); may be NULL or "".
 */
nox_status nox_cfg_error(const nox_cfg_doc *doc, const nox_cfg_node *node, const char *where, nox_error *err,
                         nox_status code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/** NOX_OK when node is of `kind`, else NOX_ERR_CONFIG "expected a mapping, got a list". */
nox_status nox_cfg_expect(const nox_cfg_doc *doc, const nox_cfg_node *node, nox_cfg_kind kind, const char *where,
                          nox_error *err);

/**
 * NOX_OK when every key of `map` is in the NULL-terminated `allowed` list,
 * else NOX_ERR_CONFIG at the first unknown key, listing the allowed ones.
 */
nox_status nox_cfg_check_keys(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *const *allowed,
                              const char *where, nox_error *err);

/**
 * Reads the scalar under `key`. Missing: NOX_ERR_CONFIG at the mapping when
 * `required`, else *out = NULL and NOX_OK. Not a scalar: NOX_ERR_CONFIG.
 */
nox_status nox_cfg_get_str(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                           const char *where, const char **out, nox_error *err);

/** Like nox_cfg_get_str for an unsigned decimal integer in [min, max]; *out keeps its value when absent. */
nox_status nox_cfg_get_uint(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            uint64_t min, uint64_t max, const char *where, uint64_t *out, nox_error *err);

/**
 * Reads a file path under `key`: relative paths are relative to the file's
 * directory (nox_cfg_dir), absolute ones are kept. Absent and not required:
 * out = "". An empty value or one longer than cap is NOX_ERR_CONFIG.
 */
nox_status nox_cfg_get_path(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            const char *where, char *out, size_t cap, nox_error *err);

/** "where.key" (or "key" when where is empty or NULL) into buf[cap]: the path an error names. */
void nox_cfg_join_where(char *buf, size_t cap, const char *where, const char *key);

/**
 * Copies the scalar under `key` into out[cap]. Absent and not required: out =
 * dflt (or "" when dflt is NULL). An empty value or one that does not fit is
 * NOX_ERR_CONFIG at the value's position.
 */
nox_status nox_cfg_get_text(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            const char *dflt, const char *where, char *out, size_t cap, nox_error *err);

/**
 * Reads an Ethereum address (0x + 40 hex digits) from a scalar node; `what`
 * describes it in the error ("an address", "the NoxCompute address").
 */
nox_status nox_cfg_address(const nox_cfg_doc *doc, const nox_cfg_node *node, const char *where, const char *what,
                           uint8_t out[20], nox_error *err);

/** nox_cfg_address for the required key `key` of `map` (missing: NOX_ERR_CONFIG at the mapping). */
nox_status nox_cfg_get_address(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, const char *where,
                               const char *what, uint8_t out[20], nox_error *err);

/** The optional `log_level` key (error, warn, info, debug) as an enum nox_log_level; *level kept when absent. */
/** `log_format` (optional): "text" (default, *json = 0) or "json" (*json = 1); NOX_ERR_CONFIG otherwise. */
nox_status nox_cfg_get_log_format(const nox_cfg_doc *doc, const nox_cfg_node *map, int *json, nox_error *err);

nox_status nox_cfg_get_log_level(const nox_cfg_doc *doc, const nox_cfg_node *map, int *level, nox_error *err);

/** Like nox_cfg_get_str for true/false; *out keeps its value when absent. */
nox_status nox_cfg_get_bool(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key, int required,
                            const char *where, int *out, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_CONFIG_H */
