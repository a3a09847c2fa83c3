/*
 * Proactive resharing t-of-n → t'-of-n' (nox/threshold.h), with no machine ever holding d:
 *
 *   1. every new node j makes a transport key: `nox-kms keygen --out transport-j.key`;
 *   2. the operator writes the recipients file (public):
 *        {"nodes": [{"index": 1, "transportKey": "0x02…"}, …]}   indices exactly 1..n';
 *   3. each old node i of an old set of t indices runs reshare-deal and publishes its contribution file:
 *        {"version": 1, "oldGroup": "0x<fingerprint>", "publicKey": "0x…", "oldSet": [1, 2], "dealer": i,
 *         "threshold": t', "nodes": n', "commitments": ["0x…" × t'],
 *         "subshares": [{"index": j, "transportKey": "0x…", "ephemeralPubKey": "0x…", "nonce": "0x…",
 *                        "ciphertext": "0x…"}, …]}
 *      each 32-byte sub-share g_i(j) ECIES-encrypted (nox/ecies.h) to node j's transport key;
 *   4. each new node j runs reshare-combine over all the contributions: it checks that they agree and cover the
 *      old set, decrypts its sub-shares, and nox_th_reshare_combine checks them against the commitments and
 *      writes its new share (0600) and the new group, the same file on every new node.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nox/ec.h"
#include "nox/ecies.h"
#include "nox/hex.h"
#include "nox/threshold.h"

#include "ceremony_internal.h"

#define MAXN NOX_TH_MAX_NODES
#define CT_SIZE (NOX_TH_SCALAR_SIZE + NOX_ECIES_TAG_SIZE)
#define PT NOX_TH_POINT_SIZE

/* ---- JSON ----------------------------------------------------------------------------------------------------- */

/* A JSON object from a public file; messages start with `what` and the path. */
static json_t *load_object(const char *what, const char *path, nox_error *err) {
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        FILE *f = fopen(path, "rb");
        if (!f) nox_error_set(err, NOX_ERR_IO, "cannot open %s %s: %s", what, path, strerror(errno));
        else nox_error_set(err, NOX_ERR_INVALID, "%s %s:%d:%d: %s", what, path, je.line, je.column, je.text);
        if (f) fclose(f);
    } else if (!json_is_object(j)) {
        json_decref(j);
        j = NULL;
        nox_error_set(err, NOX_ERR_INVALID, "%s %s: expected a JSON object", what, path);
    }
    return j;
}

static nox_status get_uint(json_t *o, const char *name, unsigned min, unsigned max, unsigned *out, nox_error *err) {
    json_t *m = json_object_get(o, name);
    if (!m) return nox_error_set(err, NOX_ERR_INVALID, "%s is missing", name);
    if (!json_is_integer(m) || json_integer_value(m) < (json_int_t)min || json_integer_value(m) > (json_int_t)max)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: expected an integer in [%u, %u]", name, min, max);
    *out = (unsigned)json_integer_value(m);
    return NOX_OK;
}

static nox_status hex_value(json_t *m, const char *name, uint8_t *out, size_t n, nox_error *err) {
    if (!m) return nox_error_set(err, NOX_ERR_INVALID, "%s is missing", name);
    if (!json_is_string(m))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: expected a string, 0x + %zu hex digits", name, 2 * n);
    if (nox_hex_decode_exact(json_string_value(m), json_string_length(m), out, n, err))
        return nox_error_prefix(err, "%s: ", name);
    return NOX_OK;
}

/* A compressed point on the curve. */
static nox_status point_value(json_t *m, const char *name, uint8_t out[PT], nox_ec_pubkey *pub, nox_error *err) {
    nox_ec_pubkey tmp;
    if (hex_value(m, name, out, PT, err)) return err ? err->code : NOX_ERR_INVALID;
    if (nox_ec_pubkey_parse_compressed(pub ? pub : &tmp, out, PT, err)) return nox_error_prefix(err, "%s: ", name);
    return NOX_OK;
}

static char *dump(json_t *o, size_t *len) {
    size_t size = o ? json_dumpb(o, NULL, 0, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : 0;
    char *text = size ? malloc(size + 1) : NULL;
    if (!text) return NULL;
    if (json_dumpb(o, text, size, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != size) {
        free(text);
        return NULL;
    }
    text[size] = '\n';
    *len = size + 1;
    return text;
}

static json_t *hex_string(const uint8_t *bytes, size_t len) {
    char text[2 * CT_SIZE + 3];
    return json_string(nox_hex_encode(bytes, len, text));
}

/* ---- the old set ---------------------------------------------------------------------------------------------- */

static int cmp_unsigned(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* The old set must have exactly t distinct indices of the old group. */
static nox_status check_old_set(const nox_th_group *g, const unsigned *set, size_t k, nox_error *err) {
    if (k != g->threshold)
        return nox_error_set(err, NOX_ERR_INVALID, "the old set has %zu indices; the old group is %u-of-%u, so it "
                             "needs exactly %u", k, g->threshold, g->nodes, g->threshold);
    for (size_t i = 0; i < k; i++)
        if (set[i] < 1 || set[i] > g->nodes)
            return nox_error_set(err, NOX_ERR_INVALID, "old set: %u is not a node of the old group (nodes 1..%u)",
                                 set[i], g->nodes);
    return NOX_OK;
}

static int in_set(const unsigned *set, size_t k, unsigned v) {
    for (size_t i = 0; i < k; i++)
        if (set[i] == v) return 1;
    return 0;
}

static void set_text(const unsigned *set, size_t k, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%u", i ? "," : "", set[i]);
}

/* ---- reshare-deal --------------------------------------------------------------------------------------------- */

typedef struct recipients {
    unsigned n;
    uint8_t key[MAXN][PT];
    nox_ec_pubkey pub[MAXN];
} recipients;

static nox_status load_recipients(const char *path, recipients *r, nox_error *err) {
    json_t *root = load_object("recipients file", path, err), *nodes = root ? json_object_get(root, "nodes") : NULL;
    if (!root) return err ? err->code : NOX_ERR_INVALID;
    nox_status st = NOX_OK;
    int seen[MAXN + 1] = {0};
    size_t n = json_array_size(nodes);
    if (!json_is_array(nodes) || n < 1 || n > MAXN)
        st = nox_error_set(err, NOX_ERR_INVALID, "nodes: expected an array of 1 to %u objects {\"index\", "
                           "\"transportKey\"}", MAXN);
    r->n = (unsigned)n;
    for (size_t p = 0; !st && p < n; p++) {
        json_t *e = json_array_get(nodes, p);
        char name[64];
        unsigned idx = 0;
        snprintf(name, sizeof name, "nodes[%zu].index", p);
        if (!json_is_object(e)) st = nox_error_set(err, NOX_ERR_INVALID, "nodes[%zu]: expected an object", p);
        else if (get_uint(e, "index", 1, MAXN, &idx, err)) st = nox_error_prefix(err, "nodes[%zu]: ", p);
        else if (idx > n)
            st = nox_error_set(err, NOX_ERR_INVALID, "%s is %u: with %zu nodes the indices are exactly 1..%zu", name,
                               idx, n, n);
        else if (seen[idx]) st = nox_error_set(err, NOX_ERR_INVALID, "%s: node %u is listed twice", name, idx);
        else {
            snprintf(name, sizeof name, "nodes[%zu].transportKey", p);
            st = point_value(json_object_get(e, "transportKey"), name, r->key[idx - 1], &r->pub[idx - 1], err);
            seen[idx] = 1;
        }
    }
    for (unsigned a = 0; !st && a < r->n; a++)
        for (unsigned b = 0; !st && b < a; b++)
            if (!memcmp(r->key[a], r->key[b], PT))
                st = nox_error_set(err, NOX_ERR_INVALID, "nodes %u and %u have the same transportKey", b + 1, a + 1);
    json_decref(root);
    return st ? nox_error_prefix(err, "recipients file %s: ", path) : NOX_OK;
}

int kms_cer_reshare_deal(int argc, char **argv, const char *usage) {
    static const char *const names[] = {"--group", "--share", "--old-set", "--threshold", "--recipients", "--out", NULL};
    const char *v[6] = {NULL}, *cmd = argv[0];
    int force = 0, rc = kms_cer_parse(argc, argv, usage, names, v, &force);
    if (rc >= 0) return rc;
    unsigned set[MAXN], new_t;
    size_t k;
    if ((rc = kms_cer_parse_set(cmd, usage, "--old-set", v[2], set, &k)) >= 0) return rc;
    if ((rc = kms_cer_uint(cmd, usage, "--threshold", v[3], 1, MAXN, &new_t)) >= 0) return rc;
    if ((rc = kms_cer_check_new(cmd, v[5], force)) >= 0) return rc;

    nox_error err = {0};
    nox_th_group old;
    static recipients r; /* ~3 KiB, public */
    if (nox_th_group_load(v[0], &old, &err)) return kms_cer_fail(cmd, "%s", err.message);
    if (check_old_set(&old, set, k, &err)) return kms_cer_usage(cmd, usage, "--old-set %s: %s", v[2], err.message);
    if (load_recipients(v[4], &r, &err)) return kms_cer_fail(cmd, "%s", err.message);
    if (new_t > r.n)
        return kms_cer_usage(cmd, usage, "--threshold %u exceeds the %u nodes of %s", new_t, r.n, v[4]);

    nox_ec_privkey share, subshares[MAXN];
    unsigned index = 0, dealer = 0;
    if (nox_ec_key_load(&share, v[1], &err)) return kms_cer_fail(cmd, "%s", err.message);
    if (nox_th_share_check(&old, &share, &index, &err)) {
        nox_ec_key_wipe(&share);
        return kms_cer_fail(cmd, "%s: %s", v[1], err.message);
    }
    if (!in_set(set, k, index)) {
        nox_ec_key_wipe(&share);
        return kms_cer_usage(cmd, usage, "--old-set %s does not include node %u, whose share %s is: only the nodes of "
                             "the old set deal", v[2], index, v[1]);
    }
    static uint8_t commitments[MAXN][PT];
    nox_status st = nox_th_reshare_deal(&old, &share, set, k, new_t, r.n, &dealer, commitments, subshares, &err);
    nox_ec_key_wipe(&share);
    if (st) return kms_cer_fail(cmd, "%s", err.message);

    qsort(set, k, sizeof set[0], cmp_unsigned);
    char fp[19];
    nox_th_group_fingerprint(&old, fp);
    json_t *jset = json_array(), *jcom = json_array(), *jsub = json_array();
    for (size_t i = 0; i < k; i++) json_array_append_new(jset, json_integer(set[i]));
    for (unsigned m = 0; m < new_t; m++) json_array_append_new(jcom, hex_string(commitments[m], PT));
    for (unsigned j = 0; !st && j < r.n; j++) {
        uint8_t ct[CT_SIZE], eph[NOX_ECIES_EPHEMERAL_SIZE], nonce[NOX_ECIES_NONCE_SIZE];
        st = nox_ecies_encrypt(&r.pub[j], subshares[j].d, NOX_TH_SCALAR_SIZE, ct, eph, nonce, &err);
        if (st) nox_error_prefix(&err, "encrypting the sub-share of node %u: ", j + 1);
        else
            json_array_append_new(jsub, json_pack("{s:I, s:o, s:o, s:o, s:o}", "index", (json_int_t)(j + 1),
                                                  "transportKey", hex_string(r.key[j], PT), "ephemeralPubKey",
                                                  hex_string(eph, sizeof eph), "nonce", hex_string(nonce, sizeof nonce),
                                                  "ciphertext", hex_string(ct, sizeof ct)));
    }
    for (unsigned j = 0; j < MAXN; j++) nox_ec_key_wipe(&subshares[j]);
    json_t *o = st ? NULL
                   : json_pack("{s:i, s:s, s:o, s:O, s:I, s:I, s:I, s:O, s:O}", "version", 1, "oldGroup", fp,
                               "publicKey", hex_string(old.public_key, PT), "oldSet", jset, "dealer",
                               (json_int_t)dealer, "threshold", (json_int_t)new_t, "nodes", (json_int_t)r.n,
                               "commitments", jcom, "subshares", jsub);
    json_decref(jset);
    json_decref(jcom);
    json_decref(jsub);
    if (st) return kms_cer_fail(cmd, "%s", err.message);
    size_t len = 0;
    char *text = dump(o, &len);
    json_decref(o);
    if (!text) return kms_cer_fail(cmd, "out of memory");
    st = kms_cer_write_public(v[5], text, len, force, &err);
    free(text);
    if (st) return kms_cer_fail(cmd, "%s", err.message);
    printf("dealer: %u\nold group fingerprint: %s\n", dealer, fp);
    kms_cer_print_hex("public key", old.public_key, PT);
    kms_cer_print_set("old set", set, k);
    printf("threshold: %u\nnodes: %u\ncontribution file: %s\n", new_t, r.n, v[5]);
    return 0;
}

/* ---- reshare-combine ------------------------------------------------------------------------------------------ */

typedef struct contribution {
    const char *path;
    uint8_t old_group[8], public_key[PT];
    unsigned old_set[MAXN];
    size_t k;
    unsigned dealer, t, n;
    uint8_t commitments[MAXN][PT];
    uint8_t recipients[MAXN][PT]; /* transportKey of node index-1 */
    unsigned mine;                /* the index whose transportKey is ours, 0 when none */
    uint8_t eph[NOX_ECIES_EPHEMERAL_SIZE], nonce[NOX_ECIES_NONCE_SIZE], ct[CT_SIZE];
} contribution;

/* Parses a contribution file (the form only); `me` is the transport public key to look for. */
static nox_status parse_contribution(json_t *o, const uint8_t me[PT], contribution *c, nox_error *err) {
    unsigned version = 0;
    if (get_uint(o, "version", 0, 1000000, &version, err)) return err->code;
    if (version != 1) return nox_error_set(err, NOX_ERR_INVALID, "version %u is not 1", version);
    if (get_uint(o, "dealer", 1, MAXN, &c->dealer, err) ||
        hex_value(json_object_get(o, "oldGroup"), "oldGroup", c->old_group, sizeof c->old_group, err) ||
        hex_value(json_object_get(o, "publicKey"), "publicKey", c->public_key, PT, err) ||
        get_uint(o, "threshold", 1, MAXN, &c->t, err) || get_uint(o, "nodes", 1, MAXN, &c->n, err))
        return err->code;
    if (c->t > c->n) return nox_error_set(err, NOX_ERR_INVALID, "threshold %u exceeds nodes %u", c->t, c->n);
    json_t *set = json_object_get(o, "oldSet"), *com = json_object_get(o, "commitments");
    json_t *sub = json_object_get(o, "subshares");
    c->k = json_array_size(set);
    if (!json_is_array(set) || c->k < 1 || c->k > MAXN)
        return nox_error_set(err, NOX_ERR_INVALID, "oldSet: expected an array of 1 to %u node indices", MAXN);
    for (size_t i = 0; i < c->k; i++) {
        char name[32];
        snprintf(name, sizeof name, "oldSet[%zu]", i);
        json_t *e = json_array_get(set, i);
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > MAXN)
            return nox_error_set(err, NOX_ERR_INVALID, "%s: expected an integer in [1, %u]", name, MAXN);
        c->old_set[i] = (unsigned)json_integer_value(e);
        if (in_set(c->old_set, i, c->old_set[i]))
            return nox_error_set(err, NOX_ERR_INVALID, "oldSet: node %u is listed twice", c->old_set[i]);
    }
    qsort(c->old_set, c->k, sizeof c->old_set[0], cmp_unsigned);
    if (!json_is_array(com) || json_array_size(com) != c->t)
        return nox_error_set(err, NOX_ERR_INVALID, "commitments: expected an array of %u points (the threshold)", c->t);
    for (unsigned m = 0; m < c->t; m++) {
        char name[32];
        snprintf(name, sizeof name, "commitments[%u]", m);
        if (point_value(json_array_get(com, m), name, c->commitments[m], NULL, err)) return err->code;
    }
    if (!json_is_array(sub) || json_array_size(sub) != c->n)
        return nox_error_set(err, NOX_ERR_INVALID, "subshares: expected an array of %u objects (the nodes)", c->n);
    int seen[MAXN + 1] = {0};
    c->mine = 0;
    for (unsigned p = 0; p < c->n; p++) {
        json_t *e = json_array_get(sub, p);
        unsigned idx = 0;
        uint8_t eph[NOX_ECIES_EPHEMERAL_SIZE], nonce[NOX_ECIES_NONCE_SIZE], ct[CT_SIZE];
        if (!json_is_object(e)) return nox_error_set(err, NOX_ERR_INVALID, "subshares[%u]: expected an object", p);
        if (get_uint(e, "index", 1, c->n, &idx, err)) return nox_error_prefix(err, "subshares[%u]: ", p);
        if (seen[idx]) return nox_error_set(err, NOX_ERR_INVALID, "subshares: node %u is listed twice", idx);
        seen[idx] = 1;
        if (point_value(json_object_get(e, "transportKey"), "transportKey", c->recipients[idx - 1], NULL, err) ||
            hex_value(json_object_get(e, "ephemeralPubKey"), "ephemeralPubKey", eph, sizeof eph, err) ||
            hex_value(json_object_get(e, "nonce"), "nonce", nonce, sizeof nonce, err) ||
            hex_value(json_object_get(e, "ciphertext"), "ciphertext", ct, sizeof ct, err))
            return nox_error_prefix(err, "subshares[%u] (node %u): ", p, idx);
        if (!memcmp(c->recipients[idx - 1], me, PT)) {
            if (c->mine) return nox_error_set(err, NOX_ERR_INVALID, "subshares: nodes %u and %u have the same "
                                              "transportKey", c->mine, idx);
            c->mine = idx;
            memcpy(c->eph, eph, sizeof eph);
            memcpy(c->nonce, nonce, sizeof nonce);
            memcpy(c->ct, ct, sizeof ct);
        }
    }
    return NOX_OK;
}

/*
 * The library names a bad contribution by its dealer ("the contribution of old node 3: …"): the message is
 * rewritten to name the file too, as the other refusals do ("contribution FILE (dealer 3): …").
 */
static void blame(const char *msg, const contribution *cs, size_t nc, char *out, size_t cap) {
    for (int f = 0; f < 2; f++)
        for (size_t i = 0; i < nc; i++) {
            char needle[32], prefix[64];
            snprintf(needle, sizeof needle, f ? "dealer %u" : "old node %u", cs[i].dealer);
            const char *hit = strstr(msg, needle);
            size_t nl = strlen(needle);
            if (!hit || (hit[nl] >= '0' && hit[nl] <= '9')) continue;
            snprintf(prefix, sizeof prefix, "the contribution of old node %u: ", cs[i].dealer);
            const char *rest = strncmp(msg, prefix, strlen(prefix)) ? msg : msg + strlen(prefix);
            snprintf(out, cap, "contribution %s (dealer %u): %s", cs[i].path, cs[i].dealer, rest);
            return;
        }
    snprintf(out, cap, "the contributions do not combine: %s", msg);
}

int kms_cer_reshare_combine(int argc, char **argv, const char *usage) {
    static const char *const names[] = {"--group", "--transport-key", "--contributions", "--out-share", "--out-group",
                                        NULL};
    const char *v[5] = {NULL}, *cmd = argv[0];
    int force = 0, rc = kms_cer_parse(argc, argv, usage, names, v, &force);
    if (rc >= 0) return rc;
    static char list[8192];
    static contribution cs[MAXN];
    size_t nc = 0;
    if (snprintf(list, sizeof list, "%s", v[2]) >= (int)sizeof list)
        return kms_cer_usage(cmd, usage, "--contributions: too long");
    for (char *p = list, *comma;; p = comma + 1) {
        comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (!*p) return kms_cer_usage(cmd, usage, "--contributions: expected files separated by commas, got '%s'", v[2]);
        if (nc == MAXN) return kms_cer_usage(cmd, usage, "--contributions: more than %u files", MAXN);
        for (size_t i = 0; i < nc; i++)
            if (!strcmp(cs[i].path, p)) return kms_cer_usage(cmd, usage, "--contributions: %s given twice", p);
        cs[nc++].path = p;
        if (!comma) break;
    }
    if (!strcmp(v[3], v[4])) return kms_cer_usage(cmd, usage, "--out-share and --out-group are the same file");
    if ((rc = kms_cer_check_new(cmd, v[3], force)) >= 0 || (rc = kms_cer_check_new(cmd, v[4], force)) >= 0) return rc;

    nox_error err = {0};
    nox_th_group old;
    static nox_th_group fresh;
    nox_ec_privkey tkey, new_share;
    nox_ec_pubkey tpub;
    uint8_t me[PT], old_fp[8];
    char fp[19], new_fp[19], text[2 * PT + 3];
    if (nox_th_group_load(v[0], &old, &err)) return kms_cer_fail(cmd, "%s", err.message);
    nox_th_group_fingerprint(&old, fp);
    if (nox_hex_decode_exact(fp, strlen(fp), old_fp, sizeof old_fp, &err)) return kms_cer_fail(cmd, "%s", err.message);
    if (nox_ec_key_load(&tkey, v[1], &err)) return kms_cer_fail(cmd, "%s", err.message);
    if (nox_ec_pubkey_of(&tkey, &tpub, &err)) {
        nox_ec_key_wipe(&tkey);
        return kms_cer_fail(cmd, "%s", err.message);
    }
    nox_ec_pubkey_compressed(&tpub, me);

    /* the form of each file, then their agreement: same old group, old set, t', n', recipients, and P */
    nox_status st = NOX_OK;
    size_t bad = 0;
    for (size_t i = 0; !st && i < nc; i++) {
        contribution *c = &cs[i], *f = &cs[0];
        json_t *o = load_object("contribution file", c->path, &err);
        bad = i;
        if (!o) {
            nox_ec_key_wipe(&tkey);
            return kms_cer_fail(cmd, "%s", err.message);
        }
        c->dealer = 0;
        st = parse_contribution(o, me, c, &err);
        json_decref(o);
        if (st) break;
        char a[128], b[128];
        set_text(c->old_set, c->k, a, sizeof a);
        set_text(f->old_set, f->k, b, sizeof b);
        if (memcmp(c->old_group, old_fp, sizeof old_fp))
            st = nox_error_set(&err, NOX_ERR_INVALID, "it was made for another old group than --group %s (%s)", v[0],
                               fp);
        else if (memcmp(c->public_key, old.public_key, PT))
            st = nox_error_set(&err, NOX_ERR_INVALID, "its publicKey is not the old group's %s",
                               nox_hex_encode(old.public_key, PT, text));
        else if (i == 0 && check_old_set(&old, c->old_set, c->k, &err))
            st = err.code;
        else if (!in_set(c->old_set, c->k, c->dealer))
            st = nox_error_set(&err, NOX_ERR_INVALID, "its dealer is not in its old set %s", a);
        else if (c->k != f->k || memcmp(c->old_set, f->old_set, c->k * sizeof c->old_set[0]))
            st = nox_error_set(&err, NOX_ERR_INVALID, "its old set %s differs from the old set %s of %s", a, b, f->path);
        else if (c->t != f->t || c->n != f->n)
            st = nox_error_set(&err, NOX_ERR_INVALID, "it reshares to %u-of-%u, but %s to %u-of-%u", c->t, c->n,
                               f->path, f->t, f->n);
        else if (memcmp(c->recipients, f->recipients, sizeof c->recipients))
            st = nox_error_set(&err, NOX_ERR_INVALID, "its recipients' transport keys differ from those of %s",
                               f->path);
        else if (!c->mine)
            st = nox_error_set(&err, NOX_ERR_NOT_FOUND, "the public key %s of --transport-key %s is not among its "
                               "recipients", nox_hex_encode(me, PT, text), v[1]);
        for (size_t j = 0; !st && j < i; j++)
            if (cs[j].dealer == c->dealer)
                st = nox_error_set(&err, NOX_ERR_INVALID, "%s is also a contribution of dealer %u", cs[j].path,
                                   c->dealer);
    }
    if (st) {
        nox_ec_key_wipe(&tkey);
        if (cs[bad].dealer) return kms_cer_fail(cmd, "contribution %s (dealer %u): %s", cs[bad].path, cs[bad].dealer,
                                                err.message);
        return kms_cer_fail(cmd, "contribution %s: %s", cs[bad].path, err.message);
    }
    for (size_t s = 0; s < cs[0].k; s++) {
        int found = 0;
        for (size_t i = 0; i < nc; i++) found |= cs[i].dealer == cs[0].old_set[s];
        if (!found) {
            char a[128];
            set_text(cs[0].old_set, cs[0].k, a, sizeof a);
            nox_ec_key_wipe(&tkey);
            return kms_cer_fail(cmd, "no contribution from old node %u: the contributions must cover the old set %s",
                                cs[0].old_set[s], a);
        }
    }

    /* decrypt the sub-shares, and let the library check them against the commitments and combine */
    static nox_th_contribution tc[MAXN];
    unsigned j = cs[0].mine, new_t = cs[0].t, new_n = cs[0].n;
    int undecryptable = 0;
    for (size_t i = 0; !st && i < nc; i++) {
        uint8_t pt[NOX_TH_SCALAR_SIZE];
        tc[i].dealer = cs[i].dealer;
        memcpy(tc[i].commitments, cs[i].commitments, sizeof tc[i].commitments);
        st = nox_ecies_decrypt(&tkey, cs[i].eph, sizeof cs[i].eph, cs[i].nonce, cs[i].ct, sizeof cs[i].ct, pt, &err);
        if (!st) st = nox_ec_key_from_bytes(&tc[i].subshare, pt, &err);
        OPENSSL_cleanse(pt, sizeof pt);
        if (st) {
            nox_error_prefix(&err, "the sub-share for node %u does not decrypt with --transport-key: ", j);
            bad = i;
            undecryptable = 1;
        }
    }
    nox_ec_key_wipe(&tkey);
    if (!st) st = nox_th_reshare_combine(&old, cs[0].old_set, cs[0].k, tc, new_t, new_n, j, &new_share, &fresh, &err);
    for (size_t i = 0; i < nc; i++) nox_ec_key_wipe(&tc[i].subshare);
    if (st && undecryptable) {
        return kms_cer_fail(cmd, "contribution %s (dealer %u): %s", cs[bad].path, cs[bad].dealer, err.message);
    } else if (st) {
        char msg[NOX_ERROR_MAX + 4200];
        blame(err.message, cs, nc, msg, sizeof msg);
        return kms_cer_fail(cmd, "%s", msg);
    }

    /* self-check, then write */
    unsigned index = 0;
    st = nox_th_share_check(&fresh, &new_share, &index, &err);
    if (!st && index != j) st = nox_error_set(&err, NOX_ERR_INVALID, "the new share checks as node %u's, not %u's", index, j);
    if (!st && memcmp(fresh.public_key, old.public_key, PT))
        st = nox_error_set(&err, NOX_ERR_INVALID, "the new group's public key differs from the old one");
    int saved = 0;
    if (!st) saved = !(st = kms_cer_save_key(&new_share, v[3], force, &err));
    nox_ec_key_wipe(&new_share);
    if (!st) st = kms_cer_save_group(&fresh, v[4], force, &err);
    if (st) {
        if (saved) unlink(v[3]); /* a share without its group is of no use */
        return kms_cer_fail(cmd, "%s", err.message);
    }
    nox_th_group_fingerprint(&fresh, new_fp);
    printf("node index: %u\n", j);
    kms_cer_print_hex("public key", fresh.public_key, PT);
    printf("threshold: %u\nnodes: %u\ngroup fingerprint: %s\nold group fingerprint: %s\nshare file: %s\n"
           "group file: %s\n", new_t, new_n, new_fp, fp, v[3], v[4]);
    return 0;
}
