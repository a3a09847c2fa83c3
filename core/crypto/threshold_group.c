/* The public group of a threshold key (nox/threshold.h): its checks, its JSON file and its fingerprint. */
#include "nox/json_kind.h"
#include "nox/threshold.h"

#include "ec_internal.h"
#include "threshold_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <secp256k1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nox/hex.h"
#include "nox/keccak.h"

/* A group file is a few KiB; anything much larger is not one. */
#define GROUP_FILE_MAX (64 * 1024)

/* ---- checks ----------------------------------------------------------------------------------------------- */

/* 1 when `p` is a compressed point on the curve. */
static int point_ok(const secp256k1_context *c, const uint8_t p[NOX_TH_POINT_SIZE]) {
    secp256k1_pubkey pub;
    return (p[0] == 0x02 || p[0] == 0x03) && secp256k1_ec_pubkey_parse(c, &pub, p, NOX_TH_POINT_SIZE);
}

static nox_status check_points(const secp256k1_context *c, const nox_th_group *g, nox_error *err) {
    if (!point_ok(c, g->public_key))
        return nox_error_set(err, NOX_ERR_INVALID, "publicKey: not a compressed secp256k1 point");
    for (unsigned k = 0; k < g->threshold; k++)
        if (!point_ok(c, g->commitments[k]))
            return nox_error_set(err, NOX_ERR_INVALID, "commitments[%u]: not a compressed secp256k1 point", k);
    for (unsigned i = 0; i < g->nodes; i++)
        if (!point_ok(c, g->verification_keys[i]))
            return nox_error_set(err, NOX_ERR_INVALID, "verificationKeys[%u]: not a compressed secp256k1 point", i);
    return NOX_OK;
}

nox_status nox_th_group_check(const nox_th_group *g, nox_error *err) {
    const secp256k1_context *c = nox_ec_context(err);
    if (!c) return NOX_ERR_NOMEM;
    if (g->nodes < 1 || g->nodes > NOX_TH_MAX_NODES)
        return nox_error_set(err, NOX_ERR_INVALID, "nodes is %u; a group has 1..%d", g->nodes, NOX_TH_MAX_NODES);
    if (g->threshold < 1 || g->threshold > g->nodes)
        return nox_error_set(err, NOX_ERR_INVALID, "threshold is %u; it must be in 1..%u (the nodes)", g->threshold,
                             g->nodes);
    nox_status st = check_points(c, g, err);
    if (st) return st;
    if (memcmp(g->commitments[0], g->public_key, NOX_TH_POINT_SIZE))
        return nox_error_set(err, NOX_ERR_INVALID, "commitments[0] is not publicKey");
    for (unsigned i = 1; i <= g->nodes; i++) {
        uint8_t want[NOX_TH_POINT_SIZE];
        if (!nox_th_feldman_eval(g->commitments, g->threshold, i, want) ||
            memcmp(want, g->verification_keys[i - 1], NOX_TH_POINT_SIZE))
            return nox_error_set(err, NOX_ERR_INVALID,
                                 "verificationKeys[%u] (node %u) is not on the commitments' polynomial", i - 1, i);
    }
    return NOX_OK;
}

nox_status nox_th_group_single(const uint8_t public_key[NOX_TH_POINT_SIZE], nox_th_group *g, nox_error *err) {
    const secp256k1_context *c = nox_ec_context(err);
    if (!c) return NOX_ERR_NOMEM;
    if (!point_ok(c, public_key))
        return nox_error_set(err, NOX_ERR_INVALID, "public key: not a compressed secp256k1 point");
    memset(g, 0, sizeof *g);
    g->threshold = g->nodes = 1;
    memcpy(g->public_key, public_key, NOX_TH_POINT_SIZE);
    memcpy(g->commitments[0], public_key, NOX_TH_POINT_SIZE);
    memcpy(g->verification_keys[0], public_key, NOX_TH_POINT_SIZE);
    return NOX_OK;
}

void nox_th_group_fingerprint(const nox_th_group *g, char out[19]) {
    nox_keccak256_ctx k;
    uint8_t be[8], digest[NOX_KECCAK256_SIZE];
    unsigned t = g->threshold <= NOX_TH_MAX_NODES ? g->threshold : NOX_TH_MAX_NODES;
    unsigned n = g->nodes <= NOX_TH_MAX_NODES ? g->nodes : NOX_TH_MAX_NODES;
    for (int i = 0; i < 4; i++) { /* t and n as 4-byte big-endian numbers */
        be[i] = (uint8_t)(g->threshold >> (24 - 8 * i));
        be[4 + i] = (uint8_t)(g->nodes >> (24 - 8 * i));
    }
    nox_keccak256_init(&k);
    nox_keccak256_update(&k, be, sizeof be);
    nox_keccak256_update(&k, g->commitments, (size_t)t * NOX_TH_POINT_SIZE);
    nox_keccak256_update(&k, g->verification_keys, (size_t)n * NOX_TH_POINT_SIZE);
    nox_keccak256_final(&k, digest);
    nox_hex_encode(digest, 8, out);
}

/* ---- JSON --------------------------------------------------------------------------------------------------- */

/* The integer member `key` of obj, in min..max. */
static nox_status get_uint(const json_t *obj, const char *key, unsigned min, unsigned max, unsigned *out,
                           nox_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (!v) return nox_error_set(err, NOX_ERR_INVALID, "%s: missing", key);
    if (!json_is_integer(v))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: expected an integer, got %s", key, nox_json_kind(v));
    json_int_t i = json_integer_value(v);
    if (i < (json_int_t)min || i > (json_int_t)max)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: %lld is out of range %u..%u", key, (long long)i, min, max);
    *out = (unsigned)i;
    return NOX_OK;
}

/* A point "0x" + 66 hex digits, compressed and on the curve; `name` is the member's path for the message. */
static nox_status get_point(const secp256k1_context *c, const json_t *v, const char *name,
                            uint8_t out[NOX_TH_POINT_SIZE], nox_error *err) {
    if (!v) return nox_error_set(err, NOX_ERR_INVALID, "%s: missing", name);
    if (!json_is_string(v))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: expected a string of 0x + %d hex digits, got %s", name,
                             2 * NOX_TH_POINT_SIZE, nox_json_kind(v));
    nox_status st = nox_hex_decode_exact(json_string_value(v), json_string_length(v), out, NOX_TH_POINT_SIZE, err);
    if (st) return nox_error_prefix(err, "%s: ", name);
    if (!point_ok(c, out)) return nox_error_set(err, NOX_ERR_INVALID, "%s: not a compressed secp256k1 point", name);
    return NOX_OK;
}

/* The array member `key` of exactly `count` points (`what` says where the count comes from). */
static nox_status get_points(const secp256k1_context *c, const json_t *obj, const char *key, unsigned count,
                             const char *what, uint8_t (*out)[NOX_TH_POINT_SIZE], nox_error *err) {
    const json_t *a = json_object_get(obj, key);
    if (!a) return nox_error_set(err, NOX_ERR_INVALID, "%s: missing", key);
    if (!json_is_array(a))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: expected an array, got %s", key, nox_json_kind(a));
    if (json_array_size(a) != count)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: %zu entries; expected %u (%s)", key, json_array_size(a), count,
                             what);
    for (unsigned i = 0; i < count; i++) {
        char name[40];
        snprintf(name, sizeof name, "%s[%u]", key, i);
        nox_status st = get_point(c, json_array_get(a, i), name, out[i], err);
        if (st) return st;
    }
    return NOX_OK;
}

static const char *const MEMBERS[] = {"version", "threshold", "nodes", "publicKey", "commitments", "verificationKeys"};

/* Refuses a member the format does not have (a typo would otherwise pass silently). */
static nox_status check_members(const json_t *root, nox_error *err) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)root, key, v) {
        size_t i = 0;
        while (i < sizeof MEMBERS / sizeof MEMBERS[0] && strcmp(key, MEMBERS[i])) i++;
        if (i == sizeof MEMBERS / sizeof MEMBERS[0])
            return nox_error_set(err, NOX_ERR_INVALID, "unknown member \"%.64s\"", key);
    }
    return NOX_OK;
}

static nox_status group_from(const secp256k1_context *c, const json_t *root, nox_th_group *g, nox_error *err) {
    unsigned version = 0;
    if (!json_is_object(root))
        return nox_error_set(err, NOX_ERR_INVALID, "expected a JSON object, got %s", nox_json_kind(root));
    nox_status st = check_members(root, err);
    if (!st) st = get_uint(root, "version", 1, 1, &version, err);
    if (!st) st = get_uint(root, "nodes", 1, NOX_TH_MAX_NODES, &g->nodes, err);
    if (!st) st = get_uint(root, "threshold", 1, NOX_TH_MAX_NODES, &g->threshold, err);
    if (!st && g->threshold > g->nodes)
        st = nox_error_set(err, NOX_ERR_INVALID, "threshold: %u is more than the %u nodes", g->threshold, g->nodes);
    if (!st) st = get_point(c, json_object_get(root, "publicKey"), "publicKey", g->public_key, err);
    if (!st) st = get_points(c, root, "commitments", g->threshold, "the threshold", g->commitments, err);
    if (!st) st = get_points(c, root, "verificationKeys", g->nodes, "the nodes", g->verification_keys, err);
    return st;
}

nox_status nox_th_group_from_json(const char *text, size_t len, nox_th_group *g, nox_error *err) {
    const secp256k1_context *c = nox_ec_context(err);
    if (!c) return NOX_ERR_NOMEM;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return nox_error_set(err, NOX_ERR_INVALID, "invalid JSON at line %d, column %d: %.120s", jerr.line,
                                    jerr.column, jerr.text);
    nox_th_group tmp;
    memset(&tmp, 0, sizeof tmp);
    nox_status st = group_from(c, root, &tmp, err);
    json_decref(root);
    if (!st) st = nox_th_group_check(&tmp, err);
    if (!st) *g = tmp;
    return st;
}

char *nox_th_group_to_json(const nox_th_group *g) {
    if (g->threshold < 1 || g->threshold > NOX_TH_MAX_NODES || g->nodes < 1 || g->nodes > NOX_TH_MAX_NODES) return NULL;
    /* every point: "0x" + 66 digits, quotes, a comma and a space */
    size_t cap = 256 + (1 + (size_t)g->threshold + g->nodes) * (2 * NOX_TH_POINT_SIZE + 8);
    char *out = malloc(cap), hex[2 * NOX_TH_POINT_SIZE + 3];
    if (!out) return NULL;
    size_t len = (size_t)snprintf(out, cap, "{\n  \"version\": 1,\n  \"threshold\": %u,\n  \"nodes\": %u,\n", g->threshold,
                                  g->nodes);
    len += (size_t)snprintf(out + len, cap - len, "  \"publicKey\": \"%s\",\n",
                            nox_hex_encode(g->public_key, NOX_TH_POINT_SIZE, hex));
    const char *names[2] = {"commitments", "verificationKeys"};
    const uint8_t(*arrays[2])[NOX_TH_POINT_SIZE] = {g->commitments, g->verification_keys};
    unsigned counts[2] = {g->threshold, g->nodes};
    for (int a = 0; a < 2; a++) {
        len += (size_t)snprintf(out + len, cap - len, "  \"%s\": [", names[a]);
        for (unsigned i = 0; i < counts[a]; i++)
            len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", i ? ", " : "",
                                    nox_hex_encode(arrays[a][i], NOX_TH_POINT_SIZE, hex));
        len += (size_t)snprintf(out + len, cap - len, "]%s\n", a == 0 ? "," : "");
    }
    snprintf(out + len, cap - len, "}\n");
    return out;
}

/* ---- the group file ------------------------------------------------------------------------------------------ */

/* Reads at most GROUP_FILE_MAX bytes of a regular file into a malloc'd, NUL-terminated buffer. */
static nox_status read_bounded(const char *path, char **text, size_t *len, nox_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nox_error_set(err, NOX_ERR_IO, "group file %s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    char *buf = NULL;
    nox_status st = NOX_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        st = nox_error_set(err, NOX_ERR_IO, "group file %s: not a regular file", path);
    else if (!(buf = malloc(GROUP_FILE_MAX + 1)))
        st = nox_error_set(err, NOX_ERR_NOMEM, "group file %s: out of memory", path);
    size_t n = 0;
    ssize_t r = 1;
    while (!st && n <= GROUP_FILE_MAX && (r = read(fd, buf + n, GROUP_FILE_MAX + 1 - n)) > 0) n += (size_t)r;
    if (!st && r < 0) st = nox_error_set(err, NOX_ERR_IO, "group file %s: cannot read: %s", path, strerror(errno));
    else if (!st && n > GROUP_FILE_MAX)
        st = nox_error_set(err, NOX_ERR_INVALID, "group file %s: longer than %d bytes", path, GROUP_FILE_MAX);
    close(fd);
    if (st) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return NOX_OK;
}

nox_status nox_th_group_load(const char *path, nox_th_group *g, nox_error *err) {
    char *text = NULL;
    size_t len = 0;
    nox_status st = read_bounded(path, &text, &len, err);
    if (st) return st;
    st = nox_th_group_from_json(text, len, g, err);
    if (st) nox_error_prefix(err, "group file %s: ", path);
    free(text);
    return st;
}

/* Makes a rename in the directory of `path` durable (best effort). */
static void sync_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int dfd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

nox_status nox_th_group_save(const nox_th_group *g, const char *path, nox_error *err) {
    nox_status st = nox_th_group_check(g, err); /* never write a group that would not load */
    if (st) return nox_error_prefix(err, "group file %s: ", path);
    char *text = nox_th_group_to_json(g), tmp[4096];
    if (!text) return nox_error_set(err, NOX_ERR_NOMEM, "group file %s: out of memory", path);
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
        free(text);
        return nox_error_set(err, NOX_ERR_INVALID, "group file %s: path too long", path);
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(text);
        return nox_error_set(err, NOX_ERR_IO, "group file %s: cannot create a file next to it: %s", path,
                             strerror(errno));
    }
    size_t len = strlen(text);
    if (fchmod(fd, 0644) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        st = nox_error_set(err, NOX_ERR_IO, "group file %s: cannot write: %s", path, strerror(errno));
    if (close(fd) != 0 && !st) st = nox_error_set(err, NOX_ERR_IO, "group file %s: cannot write: %s", path, strerror(errno));
    if (!st && rename(tmp, path) != 0) /* atomic: readers see the old file or the new one, whole */
        st = nox_error_set(err, NOX_ERR_IO, "group file %s: cannot replace: %s", path, strerror(errno));
    if (st) unlink(tmp);
    else sync_dir(path);
    free(text);
    return st;
}
