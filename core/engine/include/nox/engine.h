/*
 * nox/engine.h — the computation engine: loads operator plugins, keeps the
 * registry of operators, checks arity and types, and evaluates.
 *
 * Model. An *operator* is a message `type` name with an id and an arity
 * (`add`, id 1, 2 -> 1). It has one or more *implementations*, each from one
 * plugin and each over its own set of types: `add` on uint8..int256 comes
 * from the arithmetic plugin, `add` on uint512.. from the wide plugin. The
 * domains of two implementations of one operator may not overlap. A call
 * picks the implementation whose signature accepts the input types.
 *
 * Threads. Loading is single-threaded. Once loaded, the engine is immutable:
 * lookups and evaluation may run from any number of threads at once.
 *
 * Typical use:
 *     nox_engine *e = nox_engine_new();
 *     if (nox_engine_load_config(e, "config/operators.yaml", &err)) ...
 *     const nox_op *add = nox_engine_find(e, "add");
 *     nox_value in[2] = ..., out[1];
 *     out[0].type = NOX_TYPE_INFER;
 *     if (nox_op_eval(add, in, 2, out, 1, &err)) ...
 */
#ifndef NOX_ENGINE_H
#define NOX_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"
#include "nox/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Declared-output marker: "infer this output's type from the inputs". (255 is a reserved type code.) */
#define NOX_TYPE_INFER 255

typedef struct nox_engine nox_engine;
/** An operator: name, id, arity and its implementations. Owned by the engine. */
typedef struct nox_op nox_op;
/** One plugin's implementation of an operator. Owned by the engine. */
typedef struct nox_impl nox_impl;
/** A loaded plugin. Owned by the engine once added. */
typedef struct nox_plugin nox_plugin;

/** A resolved call: the implementation and the type of every output. Plain data; copy freely. */
typedef struct nox_call {
    const nox_impl *impl;
    uint8_t n_inputs, n_outputs;
    uint8_t out_types[NOX_MAX_ARITY];
} nox_call;

/** Creates an empty engine. NULL when out of memory. */
nox_engine *nox_engine_new(void);

/** Unloads every plugin and frees the engine (NULL is fine). */
void nox_engine_free(nox_engine *engine);

/**
 * Loads config/operators.yaml-style configuration: the plugins to load, the
 * operators each enables, per-plugin options. Plugin paths are relative to the
 * file's directory unless absolute. Every error names file:line:col and the
 * offending key. The engine must be empty; on error it stays empty.
 */
nox_status nox_engine_load_config(nox_engine *engine, const char *path, nox_error *err);

/**
 * Opens a plugin: dlopen, reads `nox_plugin`, refuses it when its magic, ABI
 * version or struct sizes differ from the host's (naming both versions), then
 * runs its init, which registers operators. Messages a plugin logs go to
 * stderr as "nox plugin NAME: LEVEL: text". `opt_keys`/`opt_values` are its
 * `options:` (n_opts pairs); an option the plugin never asks for is an
 * error (a likely typo). The plugin is not yet part of any engine.
 */
nox_status nox_plugin_open(const char *path, const char *const *opt_keys, const char *const *opt_values,
                           size_t n_opts, nox_plugin **plugin, nox_error *err);

/** Receives one problem found by nox_plugin_inspect (a complete sentence naming the operator). */
typedef void (*nox_plugin_problem_fn)(void *arg, const char *message);

/**
 * Opens a plugin for inspection (nox-plugin-check): the same dlopen, ABI check
 * and descriptor validation as nox_plugin_open, but a descriptor problem does
 * not stop loading. Every problem of every descriptor (not only the first) is
 * passed to `on_problem`; the invalid descriptor is left out; and the plugin's
 * register_operator call returns 0 so that it goes on registering the others
 * (nox_plugin_open would have refused the plugin at the first one). A plugin
 * that registers nothing is not an error here. ABI errors, an init failure and
 * unused options fail as in nox_plugin_open.
 */
nox_status nox_plugin_inspect(const char *path, const char *const *opt_keys, const char *const *opt_values,
                              size_t n_opts, nox_plugin_problem_fn on_problem, void *arg, nox_plugin **plugin,
                              nox_error *err);

/** Closes a plugin that was not added to an engine. */
void nox_plugin_close(nox_plugin *plugin);

/** The plugin's own name and version, and the path it was loaded from. */
const char *nox_plugin_name(const nox_plugin *plugin);
const char *nox_plugin_version(const nox_plugin *plugin);
const char *nox_plugin_path(const nox_plugin *plugin);

/** Number of operator implementations the plugin registered, and the i-th. */
size_t nox_plugin_impl_count(const nox_plugin *plugin);
const nox_impl *nox_plugin_impl_at(const nox_plugin *plugin, size_t i);

/**
 * Transfers `plugin` to the engine and enables some of its implementations:
 * those named in enable[0..n_enable), or all when enable is NULL. Errors:
 * a name the plugin does not export (NOX_ERR_NOT_FOUND), an implementation
 * whose operator already exists with another id or arity, or whose types
 * overlap another plugin's implementation (NOX_ERR_DUPLICATE). On error,
 * *bad_index (when non-NULL) is the index in `enable` at fault (or SIZE_MAX),
 * nothing was added, and the plugin still belongs to the caller.
 */
nox_status nox_engine_add_plugin(nox_engine *engine, nox_plugin *plugin, const char *const *enable,
                                 size_t n_enable, size_t *bad_index, nox_error *err);

/** Convenience: nox_plugin_open + nox_engine_add_plugin (all operators, no options). */
nox_status nox_engine_load_plugin(nox_engine *engine, const char *path, nox_error *err);

/** Number of operators in the registry, and the i-th (sorted by id). */
size_t nox_engine_op_count(const nox_engine *engine);
const nox_op *nox_engine_op_at(const nox_engine *engine, size_t i);

/** The operator called `name`, or NULL. */
const nox_op *nox_engine_find(const nox_engine *engine, const char *name);

/** The operator with id `id`, or NULL. */
const nox_op *nox_engine_find_id(const nox_engine *engine, unsigned id);

/** Same as nox_engine_find, but NOX_ERR_NOT_FOUND with a helpful message when absent. */
nox_status nox_engine_lookup(const nox_engine *engine, const char *name, const nox_op **op, nox_error *err);

const char *nox_op_name(const nox_op *op);
unsigned nox_op_id(const nox_op *op);
unsigned nox_op_n_inputs(const nox_op *op);
unsigned nox_op_n_outputs(const nox_op *op);
size_t nox_op_impl_count(const nox_op *op);
const nox_impl *nox_op_impl_at(const nox_op *op, size_t i);

/** The implementation's descriptor, as registered (strings owned by the engine). */
const nox_operator *nox_impl_descriptor(const nox_impl *impl);
/** The plugin an implementation comes from. */
const nox_plugin *nox_impl_plugin(const nox_impl *impl);

/**
 * Human-readable signature, e.g. "add(T leftHandOperand, T rightHandOperand) -> (T result)
 * where T in {uint8..uint256, int8..int256}". Returns buf.
 */
char *nox_impl_signature(const nox_impl *impl, char *buf, size_t cap);

/**
 * The input types of `op` when its (first) type variable T is `type`: slots
 * of a fixed type (select's condition) keep theirs. Uses the first
 * implementation that accepts `type`; NOX_ERR_TYPE when none does.
 */
nox_status nox_op_instantiate(const nox_op *op, uint8_t type, uint8_t in_types[NOX_MAX_ARITY], nox_error *err);

/**
 * Checks a call before evaluation: arity, that every input type is accepted,
 * that inputs sharing a type variable share a type, and — for outputs whose
 * declared type is not NOX_TYPE_INFER — that the declared type is what the
 * operator produces. Picks the implementation and fills `call`.
 * `declared_out` may be NULL (all inferred). NOX_ERR_TYPE with a precise message.
 */
nox_status nox_op_resolve(const nox_op *op, const uint8_t *in_types, size_t n_in, const uint8_t *declared_out,
                          size_t n_out, nox_call *call, nox_error *err);

/**
 * nox_op_resolve against one implementation only — for a plugin that is not
 * (or cannot be) added to an engine, e.g. in nox-plugin-check.
 */
nox_status nox_impl_resolve(const nox_impl *impl, const uint8_t *in_types, size_t n_in, const uint8_t *declared_out,
                            size_t n_out, nox_call *call, nox_error *err);

/**
 * Evaluates a resolved call: sets out[i].type and runs the plugin. The inputs
 * must have the types given to nox_op_resolve and be canonical. Fails only
 * when the plugin misbehaves (non-zero return, an output whose type it
 * changed, or a non-canonical output): NOX_ERR_PLUGIN.
 */
nox_status nox_call_eval(const nox_call *call, const nox_value *in, nox_value *out, nox_error *err);

/**
 * Resolve + evaluate in one step. Output types are taken from out[i].type
 * (NOX_TYPE_INFER to infer). Inputs must be canonical (NOX_ERR_INVALID otherwise).
 */
nox_status nox_op_eval(const nox_op *op, const nox_value *in, size_t n_in, nox_value *out, size_t n_out,
                       nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_ENGINE_H */
