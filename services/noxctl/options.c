/* The online commands' command line: common options anywhere, command options, positionals; small parsers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"
#include "noxctl.h"

static const char *const common_flags[NOXCTL_N_SETTINGS] = {"--gateway", "--rpc", "--compute", "--token",
                                                            "--chain-id", "--cacert", "--operators"};

int noxctl_usage(const char *usage, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    noxctl_vfail(fmt, ap);
    va_end(ap);
    fputs(usage, stderr);
    return 2;
}

int noxctl_parse(noxctl_ctx *ctx, int argc, char **argv, const noxctl_opt *opts, const char **pos, size_t max_pos,
                 size_t *n_pos, const char *usage) {
    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !strcmp(a, "--")) {
            if (!strcmp(a, "--")) return noxctl_usage(usage, "unexpected '--'");
            if (*n_pos == max_pos) return noxctl_usage(usage, "unexpected argument '%s'", a);
            pos[(*n_pos)++] = a;
            continue;
        }
        if (!strcmp(a, "--json")) {
            ctx->json = true;
            continue;
        }
        const char **slot = NULL;
        bool *flag = NULL;
        for (int s = 0; s < NOXCTL_N_SETTINGS && !slot; s++)
            if (!strcmp(a, common_flags[s])) slot = &ctx->flags[s];
        if (!slot && !strcmp(a, "--env")) slot = &ctx->env_flag;
        for (const noxctl_opt *o = opts; o && o->name && !slot && !flag; o++)
            if (!strcmp(a, o->name)) {
                slot = o->value;
                flag = o->flag;
            }
        if (flag) {
            *flag = true;
            continue;
        }
        if (!slot) return noxctl_usage(usage, "unknown option %s", a);
        if (i + 1 >= argc) return noxctl_usage(usage, "%s needs a value", a);
        if (*slot) return noxctl_usage(usage, "%s given twice", a);
        *slot = argv[++i];
    }
    return 0;
}

void noxctl_ctx_free(noxctl_ctx *ctx) {
    for (size_t i = 0; i < ctx->env_n; i++) {
        free(ctx->env_names[i]);
        free(ctx->env_values[i]);
    }
    free(ctx->env_names);
    free(ctx->env_values);
    free(ctx->env_path);
    ctx->env_names = ctx->env_values = NULL;
    ctx->env_path = NULL;
    ctx->env_n = 0;
}

nox_status noxctl_parse_address(const char *what, const char *text, uint8_t out[NOX_ADDRESS_SIZE], nox_error *err) {
    if (nox_hex_decode_exact(text, strlen(text), out, NOX_ADDRESS_SIZE, err))
        return nox_error_prefix(err, "%s: an address is 0x + 40 hex digits: ", what);
    return NOX_OK;
}

nox_status noxctl_parse_handle(const char *what, const char *text, nox_handle *h, nox_error *err) {
    if (nox_handle_parse(h, text, strlen(text), err) || nox_handle_validate(h, NULL, 0, err))
        return nox_error_prefix(err, "%s: ", what);
    return NOX_OK;
}

nox_status noxctl_parse_u64(const char *what, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                            nox_error *err) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!(*text >= '0' && *text <= '9') || *end || errno || v < min || v > max)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: expected a decimal integer in [%llu, %llu]", what,
                             (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return NOX_OK;
}

void noxctl_print_json(json_t *o) { noxctl_print_json_value(o, NULL); }

/* Writes s as a JSON string literal (quotes, backslashes and control characters escaped; UTF-8 passed through). */
static void put_json_string(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

void noxctl_print_json_value(json_t *o, const char *value) {
    /* json_dumpb into our buffer: jansson's allocator may not be free()'s */
    size_t size = o ? json_dumpb(o, NULL, 0, JSON_COMPACT) : 0;
    char *text = size ? malloc(size + 1) : NULL;
    if (!text || json_dumpb(o, text, size, JSON_COMPACT) != size || size < 2 || text[size - 1] != '}') {
        fputs("noxctl: out of memory\n", stderr);
    } else if (!value) {
        printf("%.*s\n", (int)size, text);
    } else {
        /* the value is written here, never through jansson, whose freed copies could not be wiped */
        printf("%.*s%s\"value\":", (int)size - 1, text, size > 2 ? "," : "");
        put_json_string(value);
        puts("}");
    }
    free(text);
    json_decref(o);
}
