/* Structures shared by engine.c, plugin_loader.c and operators_config.c. Not installed. */
#ifndef NOX_ENGINE_INTERNAL_H
#define NOX_ENGINE_INTERNAL_H

#include "nox/engine.h"

/** Most implementations of one operator (one per plugin family, in practice 1 or 2). */
#define NOX_MAX_IMPLS 16

struct nox_impl {
    nox_operator d;          /* descriptor; strings below are owned copies */
    char name[64];
    char *in_names[NOX_MAX_ARITY];
    char *out_names[NOX_MAX_ARITY];
    char *summary;
    nox_plugin *plugin;
};

struct nox_plugin {
    void *dl;
    char *path;
    const nox_plugin_info *info;
    size_t n_opts;
    char **opt_keys, **opt_values;
    unsigned char *opt_used;
    size_t n_impls, cap_impls;
    nox_impl **impls;
    char failure[NOX_ERROR_MAX]; /* first registration error or the plugin's own fail() */
    nox_plugin_problem_fn on_problem; /* non-NULL while inspecting (nox_plugin_inspect) */
    void *problem_arg;
};

struct nox_op {
    char name[64];
    uint16_t id;
    uint8_t n_inputs, n_outputs;
    size_t n_impls;
    const nox_impl *impls[NOX_MAX_IMPLS];
};

struct nox_engine {
    size_t n_plugins;
    nox_plugin **plugins;
    size_t n_ops;
    nox_op **ops; /* sorted by id */
};

/* 1 when the two implementations' domains share at least one tuple of types (conservative). */
int nox_impl_overlaps(const nox_impl *a, const nox_impl *b);

/* Writes a compact description of a type set ("uint8..uint256, int8..int256, bool"). */
void nox_typeset_describe(const nox_typeset *set, char *buf, size_t cap);

#endif
