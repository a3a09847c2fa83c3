/*
 * Where the online commands' endpoints come from: a flag, else the process
 * environment, else a shell-sourceable env file (--env FILE, else $NOX_ENV,
 * else build/devnet/env relative to the current directory when it exists).
 *
 * The env file is parsed here, strictly, never by a shell: each line is
 * blank, a `#` comment, or `[export ]NAME=VALUE` where VALUE is bare
 * (no blanks, quotes, `$`, backslashes or shell operators), 'single-quoted'
 * or "double-quoted" (no `$`, backquote or backslash inside: nothing is
 * expanded), optionally followed by blanks and a `# comment`. Anything else
 * is an error naming FILE:LINE.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "noxctl.h"

#define DEFAULT_ENV_FILE "build/devnet/env"
#define MAX_LINE 4096

static const struct {
    const char *flag, *var, *what;
} settings[NOXCTL_N_SETTINGS] = {
    [NOXCTL_GATEWAY] = {"--gateway URL", "NOX_GATEWAY_URL", "Gateway URL"},
    [NOXCTL_RPC] = {"--rpc URL", "NOX_RPC_URL", "JSON-RPC URL"},
    [NOXCTL_COMPUTE] = {"--compute ADDR", "NOX_COMPUTE_ADDRESS", "NoxCompute address"},
    [NOXCTL_TOKEN] = {"--token ADDR", "NOX_TOKEN_ADDRESS", "ConfidentialToken address"},
    [NOXCTL_CHAIN_ID] = {"--chain-id N", "NOX_CHAIN_ID", "chain id"},
    [NOXCTL_CA_FILE] = {"--cacert FILE", "NOX_CA_FILE", "CA file"},
    [NOXCTL_OPERATORS] = {"--operators FILE", "NOX_OPERATORS_CONFIG", "operators file"},
};

static nox_status add_var(noxctl_ctx *ctx, const char *name, size_t name_len, const char *value, size_t value_len,
                          nox_error *err) {
    for (size_t i = 0; i < ctx->env_n; i++) {
        if (strlen(ctx->env_names[i]) == name_len && !memcmp(ctx->env_names[i], name, name_len)) {
            char *v = strndup(value, value_len);
            if (!v) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
            free(ctx->env_values[i]);
            ctx->env_values[i] = v;
            return NOX_OK;
        }
    }
    char **names = realloc(ctx->env_names, (ctx->env_n + 1) * sizeof *names);
    if (names) ctx->env_names = names;
    char **values = realloc(ctx->env_values, (ctx->env_n + 1) * sizeof *values);
    if (values) ctx->env_values = values;
    char *n = strndup(name, name_len), *v = strndup(value, value_len);
    if (!names || !values || !n || !v) {
        free(n);
        free(v);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    ctx->env_names[ctx->env_n] = n;
    ctx->env_values[ctx->env_n] = v;
    ctx->env_n++;
    return NOX_OK;
}

/* Parses one line (NUL-terminated, no newline). */
static nox_status parse_line(noxctl_ctx *ctx, const char *path, unsigned lineno, const char *p, nox_error *err) {
    while (*p == ' ' || *p == '\t') p++;
    if (!*p || *p == '#') return NOX_OK;
    if (!strncmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t')) {
        p += 6;
        while (*p == ' ' || *p == '\t') p++;
    }
    const char *name = p;
    if (!(isalpha((unsigned char)*p) || *p == '_'))
        return nox_error_set(err, NOX_ERR_CONFIG, "%s:%u: expected NAME=VALUE or export NAME=VALUE", path, lineno);
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    size_t name_len = (size_t)(p - name);
    if (*p != '=')
        return nox_error_set(err, NOX_ERR_CONFIG, "%s:%u: expected '=' right after the name %.*s", path, lineno,
                             (int)name_len, name);
    p++;
    const char *value = p;
    size_t value_len;
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        value = p;
        while (*p && *p != q) {
            if (q == '"' && (*p == '$' || *p == '`' || *p == '\\'))
                return nox_error_set(err, NOX_ERR_CONFIG,
                                     "%s:%u: %c inside double quotes is not supported (nothing is expanded); use "
                                     "single quotes",
                                     path, lineno, *p);
            p++;
        }
        if (!*p) return nox_error_set(err, NOX_ERR_CONFIG, "%s:%u: unterminated %c quote", path, lineno, q);
        value_len = (size_t)(p - value);
        p++;
    } else {
        while (*p && !strchr(" \t#", *p)) {
            if (strchr("'\"$`\\;&|<>(){}*?[]~", *p))
                return nox_error_set(err, NOX_ERR_CONFIG,
                                     "%s:%u: character '%c' in an unquoted value is not supported; quote the value",
                                     path, lineno, *p);
            p++;
        }
        value_len = (size_t)(p - value);
    }
    const char *rest = p;
    while (*p == ' ' || *p == '\t') p++;
    if (*p && !(*p == '#' && p > rest))
        return nox_error_set(err, NOX_ERR_CONFIG, "%s:%u: unexpected text after the value of %.*s", path, lineno,
                             (int)name_len, name);
    return add_var(ctx, name, name_len, value, value_len, err);
}

static nox_status load_env_file(noxctl_ctx *ctx, nox_error *err) {
    if (ctx->env_loaded) return NOX_OK;
    ctx->env_loaded = true;
    const char *path = ctx->env_flag;
    const char *source = "--env";
    if (!path && getenv("NOX_ENV") && *getenv("NOX_ENV")) path = getenv("NOX_ENV"), source = "$NOX_ENV";
    if (!path) {
        struct stat st;
        if (stat(DEFAULT_ENV_FILE, &st) != 0) return NOX_OK; /* no env file: fine */
        path = DEFAULT_ENV_FILE;
        source = NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        if (source)
            return nox_error_set(err, NOX_ERR_CONFIG, "env file %s (%s): %s", path, source, strerror(errno));
        return nox_error_set(err, NOX_ERR_CONFIG, "env file %s: %s", path, strerror(errno));
    }
    if (!(ctx->env_path = strdup(path))) {
        fclose(f);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    char line[MAX_LINE + 2];
    unsigned lineno = 0;
    nox_status s = NOX_OK;
    while (!s && fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        else if (!feof(f)) s = nox_error_set(err, NOX_ERR_CONFIG, "%s:%u: line longer than %d bytes", path, lineno,
                                             MAX_LINE);
        if (!s && n && line[n - 1] == '\r') line[--n] = 0;
        if (!s && memchr(line, 0, n) != NULL && strlen(line) != n)
            s = nox_error_set(err, NOX_ERR_CONFIG, "%s:%u: NUL byte", path, lineno);
        if (!s) s = parse_line(ctx, path, lineno, line, err);
    }
    if (!s && ferror(f)) s = nox_error_set(err, NOX_ERR_CONFIG, "%s: read error", path);
    fclose(f);
    return s;
}

static char *ca_path; /* resolved with the first URL: the process runs one command */

const char *noxctl_ca_file(void) { return ca_path; }

static nox_status lookup(noxctl_ctx *ctx, noxctl_setting s, const char **value, nox_error *err);

nox_status noxctl_lookup(noxctl_ctx *ctx, noxctl_setting s, const char **value, nox_error *err) {
    nox_status st = lookup(ctx, s, value, err);
    if (st || (s != NOXCTL_GATEWAY && s != NOXCTL_RPC) || ca_path) return st;
    const char *ca = NULL;
    if ((st = lookup(ctx, NOXCTL_CA_FILE, &ca, err))) return st;
    if (ca && !(ca_path = strdup(ca))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    return NOX_OK;
}

static nox_status lookup(noxctl_ctx *ctx, noxctl_setting s, const char **value, nox_error *err) {
    *value = NULL;
    if (ctx->flags[s]) {
        *value = ctx->flags[s];
        return NOX_OK;
    }
    const char *env = getenv(settings[s].var);
    if (env && *env) {
        *value = env;
        return NOX_OK;
    }
    nox_status st = load_env_file(ctx, err);
    if (st) return st;
    for (size_t i = ctx->env_n; i-- > 0;)
        if (!strcmp(ctx->env_names[i], settings[s].var) && *ctx->env_values[i]) {
            *value = ctx->env_values[i];
            break;
        }
    return NOX_OK;
}

nox_status noxctl_require(noxctl_ctx *ctx, noxctl_setting s, const char **value, nox_error *err) {
    nox_status st = noxctl_lookup(ctx, s, value, err);
    if (st) return st;
    if (!*value)
        return nox_error_set(err, NOX_ERR_CONFIG, "no %s: pass %s or set %s (in the environment or an env file: --env "
                             "FILE, $NOX_ENV, %s)",
                             settings[s].what, settings[s].flag, settings[s].var, DEFAULT_ENV_FILE);
    return NOX_OK;
}

/* The name of a setting for messages: its flag or variable, whichever gave the value. */
static const char *source_name(const noxctl_ctx *ctx, noxctl_setting s) {
    return ctx->flags[s] ? settings[s].flag : settings[s].var;
}

nox_status noxctl_require_address(noxctl_ctx *ctx, noxctl_setting s, uint8_t out[NOX_ADDRESS_SIZE], nox_error *err) {
    const char *v;
    nox_status st = noxctl_require(ctx, s, &v, err);
    if (st) return st;
    return noxctl_parse_address(source_name(ctx, s), v, out, err);
}

nox_status noxctl_chain_id(noxctl_ctx *ctx, bool *have, uint64_t *chain_id, nox_error *err) {
    const char *v;
    *have = false;
    nox_status st = noxctl_lookup(ctx, NOXCTL_CHAIN_ID, &v, err);
    if (st || !v) return st;
    if ((st = noxctl_parse_u64(source_name(ctx, NOXCTL_CHAIN_ID), v, 1, UINT32_MAX, chain_id, err))) return st;
    *have = true;
    return NOX_OK;
}
