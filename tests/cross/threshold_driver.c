/*
 * Driver of tests/cross/threshold.py: our threshold key (nox/threshold.h), one
 * command per stdin line, one answer per stdout line. Scalars and points are
 * `0x` hex; a group is the hex of its JSON text; a list of node indices is
 * comma-separated ("1,3,5").
 *
 *   split T N SECRET              -> ok GROUP SHARE_1 … SHARE_N
 *   deal T N                      -> ok GROUP SHARE_1 … SHARE_N
 *   group_check GROUP             -> ok FINGERPRINT          (nox_th_group_from_json)
 *   share_check GROUP SHARE       -> ok INDEX
 *   lagrange INDICES I            -> ok LAMBDA
 *   partials SHARE K_1 … K_m      -> ok R_1 … R_m PROOF     (one batched proof)
 *   verify VK PROOF K_1 R_1 … K_m R_m -> ok
 *   combine INDICES R_1 … R_k     -> ok X
 *   reshare_deal GROUP SHARE OLD_SET NEW_T NEW_N
 *                                 -> ok DEALER C_0 … C_{NEW_T-1} SUBSHARE_1 … SUBSHARE_NEW_N
 *   reshare_combine GROUP OLD_SET NEW_T NEW_N J CONTRIBUTION…
 *                                 -> ok NEW_SHARE NEW_GROUP
 *       (a CONTRIBUTION is DEALER:C_0,C_1,…:SUBSHARE)
 *
 * Any failure answers "error <message>" and the driver reads on; EOF ends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/threshold.h"

#define MAX_ARGS 48

/* Prints " 0x…". */
static void print_hex(const uint8_t *data, size_t len) {
    char *hex = malloc(2 * len + 3);
    if (!hex) exit(2);
    printf(" %s", nox_hex_encode(data, len, hex));
    free(hex);
}

static nox_status decode_exact(const char *text, uint8_t *out, size_t len, nox_error *err) {
    return nox_hex_decode_exact(text, strlen(text), out, len, err);
}

static nox_status load_scalar(const char *text, nox_ec_privkey *key, nox_error *err) {
    uint8_t b[32];
    nox_status st = decode_exact(text, b, sizeof b, err);
    if (!st) st = nox_ec_key_from_bytes(key, b, err);
    return st;
}

static nox_status parse_uint(const char *text, unsigned *out, nox_error *err) {
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || v > 1000) return nox_error_set(err, NOX_ERR_INVALID, "not a small number: %s", text);
    *out = (unsigned)v;
    return NOX_OK;
}

/* "1,3,5" into indices; *k the count. */
static nox_status parse_indices(const char *text, unsigned *indices, size_t *k, nox_error *err) {
    char buf[512], *save = NULL;
    snprintf(buf, sizeof buf, "%s", text);
    *k = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*k == NOX_TH_MAX_NODES) return nox_error_set(err, NOX_ERR_INVALID, "too many indices");
        nox_status st = parse_uint(tok, &indices[(*k)++], err);
        if (st) return st;
    }
    return NOX_OK;
}

/* A group given as the hex of its JSON text. */
static nox_status load_group(const char *text, nox_th_group *g, nox_error *err) {
    size_t len = strlen(text), n = 0;
    uint8_t *json = malloc(len / 2 + 1);
    if (!json) exit(2);
    nox_status st = nox_hex_decode(text, len, json, len / 2 + 1, &n, err);
    if (!st) st = nox_th_group_from_json((const char *)json, n, g, err);
    free(json);
    return st;
}

static void print_group(const nox_th_group *g) {
    char *json = nox_th_group_to_json(g);
    if (!json) exit(2);
    print_hex((const uint8_t *)json, strlen(json));
    free(json);
}

/* DEALER:C_0,C_1,…:SUBSHARE */
static nox_status parse_contribution(char *text, unsigned new_t, nox_th_contribution *ct, nox_error *err) {
    char *save = NULL, *dealer = strtok_r(text, ":", &save), *cs = strtok_r(NULL, ":", &save),
         *sub = strtok_r(NULL, ":", &save);
    if (!dealer || !cs || !sub) return nox_error_set(err, NOX_ERR_INVALID, "a contribution is DEALER:C,…:SUBSHARE");
    nox_status st = parse_uint(dealer, &ct->dealer, err);
    unsigned m = 0;
    char *save2 = NULL;
    for (char *tok = strtok_r(cs, ",", &save2); !st && tok; tok = strtok_r(NULL, ",", &save2)) {
        if (m == new_t) return nox_error_set(err, NOX_ERR_INVALID, "more than %u commitments", new_t);
        st = decode_exact(tok, ct->commitments[m++], NOX_TH_POINT_SIZE, err);
    }
    if (!st && m != new_t) st = nox_error_set(err, NOX_ERR_INVALID, "%u commitments; expected %u", m, new_t);
    if (!st) st = load_scalar(sub, &ct->subshare, err);
    return st;
}

static nox_status cmd_deal(char **arg, int argc, int split, nox_error *err) {
    unsigned t = 0, n = 0;
    nox_ec_privkey secret, shares[NOX_TH_MAX_NODES];
    nox_th_group g;
    if (argc != (split ? 3 : 2)) return nox_error_set(err, NOX_ERR_INVALID, "deal T N, split T N SECRET");
    nox_status st = parse_uint(arg[0], &t, err);
    if (!st) st = parse_uint(arg[1], &n, err);
    if (!st && split) st = load_scalar(arg[2], &secret, err);
    if (!st) st = nox_th_deal(split ? &secret : NULL, t, n, &g, shares, err);
    if (st) return st;
    printf("ok");
    print_group(&g);
    for (unsigned i = 0; i < n; i++) print_hex(shares[i].d, 32);
    return NOX_OK;
}

static nox_status cmd_reshare_deal(char **arg, int argc, nox_error *err) {
    nox_th_group old;
    nox_ec_privkey share, subs[NOX_TH_MAX_NODES];
    unsigned set[NOX_TH_MAX_NODES], new_t = 0, new_n = 0, dealer = 0;
    uint8_t cs[NOX_TH_MAX_NODES][NOX_TH_POINT_SIZE];
    size_t k = 0;
    if (argc != 5) return nox_error_set(err, NOX_ERR_INVALID, "reshare_deal GROUP SHARE OLD_SET NEW_T NEW_N");
    nox_status st = load_group(arg[0], &old, err);
    if (!st) st = load_scalar(arg[1], &share, err);
    if (!st) st = parse_indices(arg[2], set, &k, err);
    if (!st) st = parse_uint(arg[3], &new_t, err);
    if (!st) st = parse_uint(arg[4], &new_n, err);
    if (!st) st = nox_th_reshare_deal(&old, &share, set, k, new_t, new_n, &dealer, cs, subs, err);
    if (st) return st;
    printf("ok %u", dealer);
    for (unsigned m = 0; m < new_t; m++) print_hex(cs[m], NOX_TH_POINT_SIZE);
    for (unsigned j = 0; j < new_n; j++) print_hex(subs[j].d, 32);
    return NOX_OK;
}

static nox_status cmd_reshare_combine(char **arg, int argc, nox_error *err) {
    nox_th_group old, g;
    static nox_th_contribution cts[NOX_TH_MAX_NODES];
    nox_ec_privkey share;
    unsigned set[NOX_TH_MAX_NODES], new_t = 0, new_n = 0, j = 0;
    size_t k = 0;
    if (argc < 6) return nox_error_set(err, NOX_ERR_INVALID, "reshare_combine GROUP OLD_SET NEW_T NEW_N J CONTRIB…");
    nox_status st = load_group(arg[0], &old, err);
    if (!st) st = parse_indices(arg[1], set, &k, err);
    if (!st) st = parse_uint(arg[2], &new_t, err);
    if (!st) st = parse_uint(arg[3], &new_n, err);
    if (!st) st = parse_uint(arg[4], &j, err);
    if (!st && (size_t)(argc - 5) != k) st = nox_error_set(err, NOX_ERR_INVALID, "%d contributions for %zu", argc - 5, k);
    if (!st && new_t > NOX_TH_MAX_NODES) st = nox_error_set(err, NOX_ERR_INVALID, "new_t too large");
    for (size_t i = 0; !st && i < k; i++) st = parse_contribution(arg[5 + i], new_t, &cts[i], err);
    if (!st) st = nox_th_reshare_combine(&old, set, k, cts, new_t, new_n, j, &share, &g, err);
    if (st) return st;
    printf("ok");
    print_hex(share.d, 32);
    print_group(&g);
    return NOX_OK;
}

/* Runs one command; on success prints "ok" and its results (without the newline). */
static nox_status run(const char *cmd, char **arg, int argc, nox_error *err) {
#define ARGS(n)                                                                                      \
    do {                                                                                             \
        if (argc != (n)) return nox_error_set(err, NOX_ERR_INVALID, "%s takes %d arguments", cmd, n); \
    } while (0)
    nox_status st = NOX_OK;
    if (!strcmp(cmd, "split") || !strcmp(cmd, "deal")) return cmd_deal(arg, argc, cmd[0] == 's', err);
    if (!strcmp(cmd, "reshare_deal")) return cmd_reshare_deal(arg, argc, err);
    if (!strcmp(cmd, "reshare_combine")) return cmd_reshare_combine(arg, argc, err);
    if (!strcmp(cmd, "group_check")) {
        ARGS(1);
        nox_th_group g;
        char fp[19];
        if (!(st = load_group(arg[0], &g, err))) {
            nox_th_group_fingerprint(&g, fp);
            printf("ok %s", fp);
        }
    } else if (!strcmp(cmd, "share_check")) {
        ARGS(2);
        nox_th_group g;
        nox_ec_privkey share;
        unsigned index = 0;
        if (!(st = load_group(arg[0], &g, err)) && !(st = load_scalar(arg[1], &share, err)) &&
            !(st = nox_th_share_check(&g, &share, &index, err)))
            printf("ok %u", index);
    } else if (!strcmp(cmd, "lagrange")) {
        ARGS(2);
        unsigned indices[NOX_TH_MAX_NODES], i = 0;
        size_t k = 0;
        uint8_t lambda[32];
        if (!(st = parse_indices(arg[0], indices, &k, err)) && !(st = parse_uint(arg[1], &i, err)) &&
            !(st = nox_th_lagrange(indices, k, i, lambda, err))) {
            printf("ok");
            print_hex(lambda, 32);
        }
    } else if (!strcmp(cmd, "partials")) {
        nox_ec_privkey share;
        uint8_t k[MAX_ARGS][33], pairs[MAX_ARGS][NOX_TH_PAIR_SIZE], proof[64];
        size_t m = argc > 1 ? (size_t)argc - 1 : 0;
        if (m < 1) return nox_error_set(err, NOX_ERR_INVALID, "partials SHARE K…");
        st = load_scalar(arg[0], &share, err);
        for (size_t j = 0; !st && j < m; j++) st = decode_exact(arg[1 + j], k[j], 33, err);
        if (!st && !(st = nox_th_partials(&share, (const uint8_t(*)[33])k, m, pairs, proof, err))) {
            printf("ok");
            for (size_t j = 0; j < m; j++) print_hex(pairs[j] + 33, 33);
            print_hex(proof, 64);
        }
    } else if (!strcmp(cmd, "verify")) {
        uint8_t vk[33], proof[64], pairs[MAX_ARGS / 2][NOX_TH_PAIR_SIZE];
        size_t m = argc > 2 ? ((size_t)argc - 2) / 2 : 0;
        if (argc < 4 || argc % 2) return nox_error_set(err, NOX_ERR_INVALID, "verify VK PROOF K R…");
        if (!(st = decode_exact(arg[0], vk, 33, err))) st = decode_exact(arg[1], proof, 64, err);
        for (size_t j = 0; !st && j < m; j++)
            if (!(st = decode_exact(arg[2 + 2 * j], pairs[j], 33, err))) st = decode_exact(arg[3 + 2 * j], pairs[j] + 33, 33, err);
        if (!st && !(st = nox_th_verify_partials(vk, (const uint8_t(*)[NOX_TH_PAIR_SIZE])pairs, m, proof, err)))
            printf("ok");
    } else if (!strcmp(cmd, "combine")) {
        unsigned indices[NOX_TH_MAX_NODES];
        uint8_t partials[NOX_TH_MAX_NODES][33], x[32];
        size_t k = 0;
        if (argc < 1) return nox_error_set(err, NOX_ERR_INVALID, "combine INDICES R…");
        st = parse_indices(arg[0], indices, &k, err);
        if (!st && (size_t)(argc - 1) != k) st = nox_error_set(err, NOX_ERR_INVALID, "%d partials for %zu", argc - 1, k);
        for (size_t j = 0; !st && j < k; j++) st = decode_exact(arg[1 + j], partials[j], 33, err);
        if (!st && !(st = nox_th_combine(indices, (const uint8_t(*)[33])partials, k, x, err))) {
            printf("ok");
            print_hex(x, 32);
        }
    } else {
        st = nox_error_set(err, NOX_ERR_INVALID, "unknown command %s", cmd);
    }
    return st;
#undef ARGS
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *arg[MAX_ARGS + 1], *save = NULL;
        char *cmd = strtok_r(line, " \t\r\n", &save);
        if (!cmd) continue;
        int argc = 0;
        char *tok;
        while ((tok = strtok_r(NULL, " \t\r\n", &save)) && argc <= MAX_ARGS) arg[argc++] = tok;
        nox_error err = {0};
        nox_status st = argc > MAX_ARGS ? nox_error_set(&err, NOX_ERR_INVALID, "too many arguments")
                                        : run(cmd, arg, argc, &err);
        if (st) printf("error %s", err.message);
        printf("\n");
        fflush(stdout);
    }
    free(line);
    return 0;
}
