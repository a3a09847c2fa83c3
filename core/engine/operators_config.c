/*
 * config/operators.yaml: which plugins to load, which operators each enables,
 * and per-plugin options.
 *
 *   plugins:
 *     - path: ../build/lib/nox/arithmetic.so   # relative to this file, or absolute
 *       operators: [add, sub]                  # optional; default: all it exports
 *       options: {key: value}                  # optional; passed to the plugin
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "nox/config.h"

static const char *const top_keys[] = {"plugins", NULL};
static const char *const plugin_keys[] = {"path", "operators", "options", NULL};

static nox_status load_one(nox_engine *e, const nox_cfg_doc *doc, const nox_cfg_node *item, size_t idx,
                           nox_error *err) {
    char where[64];
    snprintf(where, sizeof where, "plugins[%zu]", idx);
    nox_status st = nox_cfg_expect(doc, item, NOX_CFG_MAP, where, err);
    if (st) return st;
    st = nox_cfg_check_keys(doc, item, plugin_keys, where, err);
    if (st) return st;

    const char *path;
    st = nox_cfg_get_str(doc, item, "path", 1, where, &path, err);
    if (st) return st;
    const nox_cfg_node *path_node = nox_cfg_get(item, "path");
    char path_where[80];
    snprintf(path_where, sizeof path_where, "%s.path", where);
    if (!*path) return nox_cfg_error(doc, path_node, path_where, err, NOX_ERR_CONFIG, "empty plugin path");

    char full[4096];
    int n = path[0] == '/' ? snprintf(full, sizeof full, "%s", path)
                           : snprintf(full, sizeof full, "%s/%s", nox_cfg_dir(doc), path);
    if (n < 0 || (size_t)n >= sizeof full)
        return nox_cfg_error(doc, path_node, path_where, err, NOX_ERR_CONFIG, "plugin path too long");

    /* operators: list of names */
    const nox_cfg_node *ops = nox_cfg_get(item, "operators");
    const char **enable = NULL;
    size_t n_enable = 0;
    char ops_where[80];
    snprintf(ops_where, sizeof ops_where, "%s.operators", where);
    if (ops) {
        st = nox_cfg_expect(doc, ops, NOX_CFG_LIST, ops_where, err);
        if (st) return st;
        n_enable = nox_cfg_size(ops);
        if (n_enable == 0)
            return nox_cfg_error(doc, ops, ops_where, err, NOX_ERR_CONFIG,
                                 "empty operator list: omit the key to enable every operator, or list at least one");
        enable = calloc(n_enable, sizeof *enable);
        if (!enable) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n_enable; i++) {
            const nox_cfg_node *op = nox_cfg_at(ops, i);
            enable[i] = nox_cfg_str(op);
            if (!enable[i]) {
                char w[128];
                snprintf(w, sizeof w, "%s[%zu]", ops_where, i);
                free(enable);
                return nox_cfg_error(doc, op, w, err, NOX_ERR_CONFIG, "expected an operator name, got %s",
                                     nox_cfg_kind_name(nox_cfg_kind_of(op)));
            }
        }
    }

    /* options: mapping of scalars */
    const nox_cfg_node *opts = nox_cfg_get(item, "options");
    const char **keys = NULL, **values = NULL;
    size_t n_opts = 0;
    if (opts) {
        char w[80];
        snprintf(w, sizeof w, "%s.options", where);
        st = nox_cfg_expect(doc, opts, NOX_CFG_MAP, w, err);
        n_opts = nox_cfg_size(opts);
        keys = calloc(n_opts + 1, sizeof *keys);
        values = calloc(n_opts + 1, sizeof *values);
        if (!st && (!keys || !values)) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n_opts && !st; i++) {
            keys[i] = nox_cfg_str(nox_cfg_key_at(opts, i));
            values[i] = nox_cfg_str(nox_cfg_at(opts, i));
            if (!values[i]) {
                char w2[160];
                snprintf(w2, sizeof w2, "%s.%s", w, keys[i]);
                st = nox_cfg_error(doc, nox_cfg_at(opts, i), w2, err, NOX_ERR_CONFIG,
                                   "option values must be scalars, got %s",
                                   nox_cfg_kind_name(nox_cfg_kind_of(nox_cfg_at(opts, i))));
            }
        }
    }

    nox_plugin *p = NULL;
    if (!st) {
        st = nox_plugin_open(full, keys, values, n_opts, &p, err);
        if (st) {
            char msg[NOX_ERROR_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            st = nox_cfg_error(doc, st == NOX_ERR_CONFIG && opts ? opts : path_node,
                               st == NOX_ERR_CONFIG && opts ? "" : path_where, err, st, "%s", msg);
        }
    }
    if (!st) {
        size_t bad = SIZE_MAX;
        st = nox_engine_add_plugin(e, p, enable, n_enable, &bad, err);
        if (st) {
            char msg[NOX_ERROR_MAX], w[128];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            const nox_cfg_node *at = path_node;
            const char *aw = path_where;
            if (bad != SIZE_MAX && ops) {
                at = nox_cfg_at(ops, bad);
                snprintf(w, sizeof w, "%s[%zu]", ops_where, bad);
                aw = w;
            }
            st = nox_cfg_error(doc, at, aw, err, st, "%s", msg);
            nox_plugin_close(p);
        }
    }
    free(enable);
    free(keys);
    free(values);
    return st;
}

nox_status nox_engine_load_config(nox_engine *e, const char *path, nox_error *err) {
    nox_cfg_doc *doc;
    const nox_cfg_node *root;
    nox_status st = nox_cfg_load_map(path, top_keys, &doc, &root, err);
    if (st) return st;
    const nox_cfg_node *plugins = nox_cfg_get(root, "plugins");
    if (!st && !plugins)
        st = nox_cfg_error(doc, root, "", err, NOX_ERR_CONFIG, "missing required key 'plugins'");
    if (!st) st = nox_cfg_expect(doc, plugins, NOX_CFG_LIST, "plugins", err);
    if (!st && nox_cfg_size(plugins) == 0)
        st = nox_cfg_error(doc, plugins, "plugins", err, NOX_ERR_CONFIG, "no plugins listed: nothing to evaluate with");

    if (!st && e->n_plugins)
        st = nox_error_set(err, NOX_ERR_CONFIG, "%s: load a configuration into an empty engine", path);
    /* Load into a scratch engine so a failure leaves `e` as it was. */
    nox_engine *scratch = st ? NULL : nox_engine_new();
    if (!st && !scratch) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < nox_cfg_size(plugins); i++) st = load_one(scratch, doc, nox_cfg_at(plugins, i), i, err);
    if (!st) { /* move everything from scratch into e */
        free(e->ops);
        free(e->plugins);
        *e = *scratch;
        free(scratch);
        scratch = NULL;
    }
    nox_engine_free(scratch);
    nox_cfg_free(doc);
    return st;
}
