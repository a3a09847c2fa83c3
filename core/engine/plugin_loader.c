/*
 * Plugin loading: dlopen, the ABI check (before any plugin code runs), the
 * host function table, and validation of every registered descriptor.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_internal.h"
#include "nox/operations.h"
#include "nox/types.h"

struct nox_plugin_ctx {
    nox_plugin *plugin;
};

static const char *level_name(int level) {
    switch (level) {
    case NOX_LOG_ERROR: return "error";
    case NOX_LOG_WARN: return "warning";
    case NOX_LOG_INFO: return "info";
    default: return "debug";
    }
}

static void host_log(nox_plugin_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void host_log(nox_plugin_ctx *ctx, int level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "nox plugin %s: %s: %s\n", ctx->plugin->info->name, level_name(level), msg);
}

static void record_failure(nox_plugin *p, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void record_failure(nox_plugin *p, const char *fmt, va_list ap) {
    if (p->failure[0]) return; /* keep the first cause */
    vsnprintf(p->failure, sizeof p->failure, fmt, ap);
}

static void host_fail(nox_plugin_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void host_fail(nox_plugin_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    record_failure(ctx->plugin, fmt, ap);
    va_end(ap);
}

/* A descriptor problem: normally the first one becomes the load failure; while
 * inspecting, every one goes to the caller's callback instead. Returns -1. */
static int reject(nox_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(nox_plugin *p, const char *fmt, ...) {
    char msg[NOX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->on_problem) p->on_problem(p->problem_arg, msg);
    else if (!p->failure[0]) snprintf(p->failure, sizeof p->failure, "%s", msg);
    return -1;
}

static const char *host_option(nox_plugin_ctx *ctx, const char *key) {
    nox_plugin *p = ctx->plugin;
    for (size_t i = 0; i < p->n_opts; i++) {
        if (!strcmp(p->opt_keys[i], key)) {
            p->opt_used[i] = 1;
            return p->opt_values[i];
        }
    }
    return NULL;
}

static int valid_name(const char *s) {
    if (!s || !(*s >= 'a' && *s <= 'z')) return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_')) return 0;
    return n < 64;
}

/* Checks one slot; returns 0 or rejects. */
static int check_slot(nox_plugin *p, const nox_operator *op, uint16_t slot, const char *what, unsigned i,
                      unsigned *vars_used) {
    if (NOX_SLOT_IS_VAR(slot)) {
        unsigned k = NOX_SLOT_VAR_INDEX(slot);
        if (k >= NOX_MAX_TYPEVARS)
            return reject(p, "operator %.64s: %s %u uses type variable %u; at most %d are allowed", op->name, what, i,
                          k, NOX_MAX_TYPEVARS);
        *vars_used |= 1u << k;
        return 0;
    }
    if (slot > 255 || !nox_type_is_fixed(slot))
        return reject(p, "operator %.64s: %s %u has type code %u, which is not a fixed-size type", op->name, what, i,
                      (unsigned)slot);
    return 0;
}

/* Checks a descriptor completely: every problem is reported (reject), in a
 * fixed order, so the first one — the load error — is always the same. */
static int validate(nox_plugin *p, const nox_operator *op) {
    /* With another struct size the fields below cannot be trusted: stop here. */
    if (op->struct_size != sizeof(nox_operator))
        return reject(p, "nox_operator.struct_size is %u, the host's is %zu: set it to sizeof(nox_operator)",
                      op->struct_size, sizeof(nox_operator));
    if (!op->name) return reject(p, "operator name '(null)' is invalid: use [a-z][a-z0-9_]*, at most 63 characters");
    int bad = 0;
    if (!valid_name(op->name))
        bad |= reject(p, "operator name '%.64s' is invalid: use [a-z][a-z0-9_]*, at most 63 characters", op->name);
    if (op->n_inputs > NOX_MAX_ARITY || op->n_outputs < 1 || op->n_outputs > NOX_MAX_ARITY)
        bad |= reject(p, "operator %.64s: %u inputs and %u outputs; allowed are 0..%d inputs and 1..%d outputs",
                      op->name, op->n_inputs, op->n_outputs, NOX_MAX_ARITY, NOX_MAX_ARITY);
    if (!op->eval) bad |= reject(p, "operator %.64s: eval is NULL", op->name);

    const nox_operation *proto = nox_operation_by_name(op->name);
    if (proto) {
        if (op->id != proto->id || op->n_inputs != proto->n_inputs || op->n_outputs != proto->n_outputs)
            bad |= reject(p,
                          "operator %s is a protocol operation: it must have id %u, %u inputs and %u outputs "
                          "(got id %u, %u, %u)",
                          op->name, proto->id, proto->n_inputs, proto->n_outputs, op->id, op->n_inputs,
                          op->n_outputs);
    } else if (op->id < NOX_FIRST_EXTENSION_ID) {
        bad |= reject(p, "operator %.64s: id %u is reserved for the protocol; extension operators use ids >= %d",
                      op->name, op->id, NOX_FIRST_EXTENSION_ID);
    }

    unsigned used = 0;
    unsigned n_in = op->n_inputs < NOX_MAX_ARITY ? op->n_inputs : NOX_MAX_ARITY;
    unsigned n_out = op->n_outputs < NOX_MAX_ARITY ? op->n_outputs : NOX_MAX_ARITY;
    for (unsigned i = 0; i < n_in; i++) bad |= check_slot(p, op, op->inputs[i], "input", i, &used);
    for (unsigned i = 0; i < n_out; i++) bad |= check_slot(p, op, op->outputs[i], "output", i, &used);
    for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
        if (!(used & (1u << k))) continue;
        const nox_typeset *ts = &op->typevars[k];
        int any = 0;
        for (unsigned c = 0; c < 256; c++) {
            if (!nox_typeset_has(ts, c)) continue;
            any = 1;
            if (!nox_type_is_fixed(c)) {
                bad |= reject(p, "operator %.64s: type variable %u admits code %u, which is not a fixed-size type",
                              op->name, k, c);
                break;
            }
        }
        if (!any) bad |= reject(p, "operator %.64s: type variable %u admits no type", op->name, k);
    }
    return bad ? -1 : 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_impl(nox_impl *m) {
    if (!m) return;
    for (unsigned i = 0; i < NOX_MAX_ARITY; i++) {
        free(m->in_names[i]);
        free(m->out_names[i]);
    }
    free(m->summary);
    free(m);
}

static int host_register(nox_plugin_ctx *ctx, const nox_operator *op) {
    nox_plugin *p = ctx->plugin;
    /* While inspecting, an invalid descriptor is reported and left out, but the
     * plugin is told it succeeded so that it goes on registering the rest. */
    int fail = p->on_problem ? 0 : -1;
    if (!op) return reject(p, "register_operator called with NULL"), fail;
    if (validate(p, op)) return fail;
    nox_impl *m = calloc(1, sizeof *m);
    if (!m) return reject(p, "out of memory");
    m->d = *op;
    snprintf(m->name, sizeof m->name, "%s", op->name);
    m->d.name = m->name;
    /* Protocol operations get the message field names of spec §6 unless the plugin names them. */
    const nox_operation *proto = nox_operation_by_name(op->name);
    for (unsigned i = 0; i < NOX_MAX_ARITY; i++) {
        const char *in = i < op->n_inputs ? op->input_names[i] : NULL;
        const char *out = i < op->n_outputs ? op->output_names[i] : NULL;
        if (proto && !in && i < op->n_inputs) in = proto->inputs[i];
        if (proto && !out && i < op->n_outputs) out = proto->outputs[i];
        m->in_names[i] = dup_or_null(in);
        m->out_names[i] = dup_or_null(out);
        m->d.input_names[i] = m->in_names[i];
        m->d.output_names[i] = m->out_names[i];
    }
    m->summary = dup_or_null(op->summary);
    m->d.summary = m->summary;
    m->plugin = p;
    for (size_t i = 0; i < p->n_impls; i++) {
        if (!strcmp(p->impls[i]->name, m->name) && nox_impl_overlaps(p->impls[i], m)) {
            free_impl(m);
            return reject(p, "operator %s is registered twice with overlapping types", op->name), fail;
        }
    }
    if (p->n_impls == p->cap_impls) {
        size_t cap = p->cap_impls ? 2 * p->cap_impls : 16;
        nox_impl **n = realloc(p->impls, cap * sizeof *n);
        if (!n) {
            free_impl(m);
            return reject(p, "out of memory");
        }
        p->impls = n;
        p->cap_impls = cap;
    }
    p->impls[p->n_impls++] = m;
    return 0;
}

static const nox_host host_table = {
    .abi_version = NOX_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nox_host),
    .register_operator = host_register,
    .option = host_option,
    .log = host_log,
    .fail = host_fail,
};

void nox_plugin_close(nox_plugin *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_impls; i++) free_impl(p->impls[i]);
    free(p->impls);
    for (size_t i = 0; i < p->n_opts; i++) {
        free(p->opt_keys[i]);
        free(p->opt_values[i]);
    }
    free(p->opt_keys);
    free(p->opt_values);
    free(p->opt_used);
    if (p->dl) dlclose(p->dl);
    free(p->path);
    free(p);
}

static nox_status check_abi(const nox_plugin_info *info, const char *path, nox_error *err) {
    if (info->magic != NOX_PLUGIN_MAGIC)
        return nox_error_set(err, NOX_ERR_ABI, "%s: symbol '%s' does not start with the Nox plugin magic; not a Nox plugin",
                             path, NOX_PLUGIN_SYMBOL);
    if (info->abi_version != NOX_PLUGIN_ABI_VERSION)
        return nox_error_set(err, NOX_ERR_ABI,
                             "%s: plugin was built against plugin ABI version %u, but this host implements ABI "
                             "version %u; rebuild the plugin against this release's nox/plugin.h",
                             path, info->abi_version, NOX_PLUGIN_ABI_VERSION);
    if (info->info_size != sizeof(nox_plugin_info) || info->value_size != sizeof(nox_value) ||
        info->operator_size != sizeof(nox_operator) || info->host_size != sizeof(nox_host))
        return nox_error_set(err, NOX_ERR_ABI,
                             "%s: plugin ABI version %u matches but struct sizes differ (plugin/host: "
                             "nox_plugin_info %u/%zu, nox_value %u/%zu, nox_operator %u/%zu, nox_host %u/%zu); "
                             "rebuild the plugin with the same compiler settings and nox/plugin.h",
                             path, info->abi_version, info->info_size, sizeof(nox_plugin_info), info->value_size,
                             sizeof(nox_value), info->operator_size, sizeof(nox_operator), info->host_size,
                             sizeof(nox_host));
    if (!info->init || !info->name || !info->version)
        return nox_error_set(err, NOX_ERR_ABI, "%s: nox_plugin has a NULL name, version or init", path);
    return NOX_OK;
}

static nox_status copy_options(nox_plugin *p, const char *const *keys, const char *const *values, size_t n,
                               nox_error *err) {
    if (!n) return NOX_OK;
    p->opt_keys = calloc(n, sizeof *p->opt_keys);
    p->opt_values = calloc(n, sizeof *p->opt_values);
    p->opt_used = calloc(n, 1);
    if (!p->opt_keys || !p->opt_values || !p->opt_used) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    p->n_opts = n;
    for (size_t i = 0; i < n; i++) {
        p->opt_keys[i] = strdup(keys[i]);
        p->opt_values[i] = strdup(values[i]);
        if (!p->opt_keys[i] || !p->opt_values[i]) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    return NOX_OK;
}

static nox_status open_plugin(const char *path, const char *const *opt_keys, const char *const *opt_values,
                              size_t n_opts, nox_plugin_problem_fn on_problem, void *problem_arg, nox_plugin **out,
                              nox_error *err) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "plugin file %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return nox_error_set(err, NOX_ERR_NOT_FOUND, "plugin file %s: not a regular file", path);

    nox_plugin *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    p->on_problem = on_problem;
    p->problem_arg = problem_arg;
    nox_status st = copy_options(p, opt_keys, opt_values, n_opts, err);
    if (st) goto fail;

    /* A bare name would make dlopen search the library path; make it a path. */
    char buf[4096];
    const char *dlpath = path;
    if (!strchr(path, '/')) {
        snprintf(buf, sizeof buf, "./%s", path);
        dlpath = buf;
    }
    dlerror();
    p->dl = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        const char *why = dlerror();
        st = nox_error_set(err, NOX_ERR_PLUGIN, "cannot load plugin %s: %s", path, why ? why : "unknown error");
        goto fail;
    }
    p->info = dlsym(p->dl, NOX_PLUGIN_SYMBOL);
    if (!p->info) {
        st = nox_error_set(err, NOX_ERR_ABI,
                           "%s is not a Nox operator plugin: it exports no symbol '%s' (define it with "
                           "NOX_PLUGIN_DEFINE from nox/plugin.h)",
                           path, NOX_PLUGIN_SYMBOL);
        goto fail;
    }
    st = check_abi(p->info, path, err);
    if (st) goto fail;

    nox_plugin_ctx ctx = {p};
    int rc = p->info->init(&host_table, &ctx);
    if (rc != 0 || p->failure[0]) {
        st = nox_error_set(err, NOX_ERR_PLUGIN, "plugin %s (%s) refused to load: %s", p->info->name, path,
                           p->failure[0] ? p->failure : "its init returned an error without a reason");
        goto fail;
    }
    if (p->n_impls == 0 && !on_problem) {
        st = nox_error_set(err, NOX_ERR_PLUGIN, "plugin %s (%s) registers no operators", p->info->name, path);
        goto fail;
    }
    for (size_t i = 0; i < p->n_opts; i++) {
        if (!p->opt_used[i]) {
            st = nox_error_set(err, NOX_ERR_CONFIG, "plugin %s does not use option '%s'", p->info->name,
                               p->opt_keys[i]);
            goto fail;
        }
    }
    p->on_problem = NULL; /* inspection ends with init */
    p->problem_arg = NULL;
    *out = p;
    return NOX_OK;
fail:
    nox_plugin_close(p);
    return st;
}

nox_status nox_plugin_open(const char *path, const char *const *opt_keys, const char *const *opt_values,
                           size_t n_opts, nox_plugin **out, nox_error *err) {
    return open_plugin(path, opt_keys, opt_values, n_opts, NULL, NULL, out, err);
}

nox_status nox_plugin_inspect(const char *path, const char *const *opt_keys, const char *const *opt_values,
                              size_t n_opts, nox_plugin_problem_fn on_problem, void *arg, nox_plugin **out,
                              nox_error *err) {
    if (!on_problem) return nox_error_set(err, NOX_ERR_INVALID, "nox_plugin_inspect needs a problem callback");
    return open_plugin(path, opt_keys, opt_values, n_opts, on_problem, arg, out, err);
}

const char *nox_plugin_name(const nox_plugin *p) { return p->info->name; }
const char *nox_plugin_version(const nox_plugin *p) { return p->info->version; }
const char *nox_plugin_path(const nox_plugin *p) { return p->path; }
size_t nox_plugin_impl_count(const nox_plugin *p) { return p->n_impls; }
const nox_impl *nox_plugin_impl_at(const nox_plugin *p, size_t i) { return i < p->n_impls ? p->impls[i] : NULL; }
