/*
 * The key ceremonies of nox-kms (docs/PROTOCOL-EXTENSIONS.md §11), over nox/threshold.h:
 *
 *   split       shares an existing key file t-of-n (a single-key deployment migrates without re-encrypting)
 *   deal        the same for a fresh random key
 *   share-info  checks a share file against a group file
 *   reshare-deal, reshare-combine (ceremony_reshare.c): proactive resharing t-of-n → t'-of-n', d never assembled
 *
 * Secrets (the key, the shares, sub-shares, transport keys) go only into 0600 files (nox_ec_key_save) and are
 * wiped after use; only public values are printed. No output file is replaced without --force. Exit status: 0,
 * 1 the ceremony failed (the reason on stderr), 2 a usage error.
 *
 * This file also holds the helpers the reshare ceremonies share (option parsing, output files; declared in
 * ceremony_internal.h).
 */
#include "ceremony.h"
#include "ceremony_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/threshold.h"

#define U_SPLIT "nox-kms split --key FILE --threshold T --nodes N --out-dir DIR [--force]\n"
#define U_DEAL "nox-kms deal --threshold T --nodes N --out-dir DIR [--force]\n"
#define U_INFO "nox-kms share-info --group FILE --share FILE\n"
#define U_RDEAL                                                                                                        \
    "nox-kms reshare-deal --group FILE --share FILE --old-set I,J,... --threshold T --recipients FILE --out FILE "    \
    "[--force]\n"
#define U_RCOMBINE                                                                                                     \
    "nox-kms reshare-combine --group FILE --transport-key FILE --contributions FILE,FILE,... --out-share FILE "      \
    "--out-group FILE [--force]\n"

const char kms_ceremony_usage[] = "       " U_SPLIT "       " U_DEAL "       " U_INFO "       " U_RDEAL
                                  "       " U_RCOMBINE;

/* ---- helpers shared with ceremony_reshare.c ------------------------------------------------------------------- */


int kms_cer_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nox-kms %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int kms_cer_usage(const char *cmd, const char *usage, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nox-kms %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: %s", usage);
    va_end(ap);
    return 2;
}

/*
 * argv[0] is the ceremony; names[] (NULL-terminated) its options, each required and taking a value, stored in
 * values[]; --force sets *force when force is not NULL. Returns -1 to go on, else the exit code (0 after --help).
 */
int kms_cer_parse(int argc, char **argv, const char *usage, const char *const *names, const char **values,
                  int *force) {
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: %s", usage);
            return 0;
        }
        if (force && !strcmp(a, "--force")) {
            *force = 1;
            continue;
        }
        size_t o = 0;
        while (names[o] && strcmp(a, names[o])) o++;
        if (!names[o]) {
            if (strncmp(a, "--", 2)) return kms_cer_usage(cmd, usage, "unexpected argument '%s'", a);
            return kms_cer_usage(cmd, usage, "unknown option %s", a);
        }
        if (i + 1 >= argc) return kms_cer_usage(cmd, usage, "%s needs a value", a);
        if (values[o]) return kms_cer_usage(cmd, usage, "%s given twice", a);
        if (!argv[i + 1][0]) return kms_cer_usage(cmd, usage, "%s: empty value", a);
        values[o] = argv[++i];
    }
    for (size_t o = 0; names[o]; o++)
        if (!values[o]) return kms_cer_usage(cmd, usage, "%s is required", names[o]);
    return -1;
}

static int parse_decimal(const char *text, unsigned max, unsigned *out) {
    unsigned long v = 0;
    if (!*text) return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > max) return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int kms_cer_uint(const char *cmd, const char *usage, const char *opt, const char *text, unsigned min, unsigned max,
                 unsigned *out) {
    if (parse_decimal(text, max, out) || *out < min)
        return kms_cer_usage(cmd, usage, "%s: expected a decimal integer in [%u, %u], got '%s'", opt, min, max, text);
    return -1;
}

/* "1,3,4": distinct indices in 1..NOX_TH_MAX_NODES, in the order given. */
int kms_cer_parse_set(const char *cmd, const char *usage, const char *opt, const char *text, unsigned *set,
                      size_t *k) {
    *k = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[16];
        unsigned v;
        if (len == 0 || len >= sizeof item)
            return kms_cer_usage(cmd, usage, "%s: expected node indices separated by commas (1,2,...), got '%s'",
                                 opt, text);
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_decimal(item, NOX_TH_MAX_NODES, &v) || v == 0)
            return kms_cer_usage(cmd, usage, "%s: '%s' is not a node index (1 to %u)", opt, item, NOX_TH_MAX_NODES);
        for (size_t i = 0; i < *k; i++)
            if (set[i] == v) return kms_cer_usage(cmd, usage, "%s: node %u given twice", opt, v);
        if (*k == NOX_TH_MAX_NODES)
            return kms_cer_usage(cmd, usage, "%s: more than %u indices", opt, NOX_TH_MAX_NODES);
        set[(*k)++] = v;
        if (!comma) return -1;
        p = comma + 1;
    }
}

int kms_cer_check_new(const char *cmd, const char *path, int force) {
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!force) return kms_cer_fail(cmd, "%s already exists: refusing to overwrite it (--force replaces it)", path);
        if (S_ISDIR(sb.st_mode)) return kms_cer_fail(cmd, "%s is a directory", path);
    } else if (errno != ENOENT) {
        return kms_cer_fail(cmd, "cannot check %s: %s", path, strerror(errno));
    }
    return -1;
}

/* The directory part of path ("." when none), into dir (capacity cap). */
static nox_status dir_of(const char *path, char *dir, size_t cap, nox_error *err) {
    if (snprintf(dir, cap, "%s", path) >= (int)cap) return nox_error_set(err, NOX_ERR_INVALID, "%s: path too long", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, cap, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    return NOX_OK;
}

static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/*
 * Writes a key file (0600, atomic). Without force, nox_ec_key_save itself refuses an existing file; with force,
 * the key is saved in a private temporary directory next to path and renamed over it.
 */
nox_status kms_cer_save_key(const nox_ec_privkey *key, const char *path, int force, nox_error *err) {
    struct stat sb;
    if (!force || (lstat(path, &sb) != 0 && errno == ENOENT)) return nox_ec_key_save(key, path, err);
    char dir[4096], tmpdir[4200], tmp[4300];
    nox_status st = dir_of(path, dir, sizeof dir, err);
    if (st) return st;
    snprintf(tmpdir, sizeof tmpdir, "%s/.nox-kms.XXXXXX", dir);
    if (!mkdtemp(tmpdir)) return nox_error_set(err, NOX_ERR_IO, "cannot create a directory in %s: %s", dir, strerror(errno));
    snprintf(tmp, sizeof tmp, "%s/key", tmpdir);
    st = nox_ec_key_save(key, tmp, err);
    if (!st && rename(tmp, path) != 0)
        st = nox_error_set(err, NOX_ERR_IO, "cannot replace %s: %s", path, strerror(errno));
    unlink(tmp);
    rmdir(tmpdir);
    if (!st) sync_dir(dir);
    return st;
}

/* Writes a public file (0644, atomic): replaces an existing file only with force. */
nox_status kms_cer_write_public(const char *path, const char *text, size_t len, int force, nox_error *err) {
    char dir[4096], tmp[4200];
    nox_status st = dir_of(path, dir, sizeof dir, err);
    if (st) return st;
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return nox_error_set(err, NOX_ERR_IO, "cannot create a file next to %s: %s", path, strerror(errno));
    if (fchmod(fd, 0644) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        st = nox_error_set(err, NOX_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && !st) st = nox_error_set(err, NOX_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (!st && (force ? rename(tmp, path) : link(tmp, path)) != 0)
        st = nox_error_set(err, NOX_ERR_IO, "cannot create %s: %s%s", path, strerror(errno),
                           errno == EEXIST ? " (refusing to overwrite it without --force)" : "");
    unlink(tmp);
    if (!st) sync_dir(dir);
    return st;
}

nox_status kms_cer_save_group(const nox_th_group *g, const char *path, int force, nox_error *err) {
    char *text = nox_th_group_to_json(g);
    if (!text) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    nox_status st = kms_cer_write_public(path, text, strlen(text), force, err);
    free(text);
    return st;
}

void kms_cer_print_hex(const char *label, const uint8_t *bytes, size_t len) {
    char text[2 * 64 + 3];
    if (len > 64) return;
    printf("%s: %s\n", label, nox_hex_encode(bytes, len, text));
}

void kms_cer_print_set(const char *label, const unsigned *set, size_t k) {
    printf("%s: ", label);
    for (size_t i = 0; i < k; i++) printf("%s%u", i ? "," : "", set[i]);
    putchar('\n');
}

static void print_group(const nox_th_group *g) {
    char fp[19];
    nox_th_group_fingerprint(g, fp);
    kms_cer_print_hex("public key", g->public_key, NOX_TH_POINT_SIZE);
    printf("threshold: %u\nnodes: %u\ngroup fingerprint: %s\n", g->threshold, g->nodes, fp);
}

/* ---- split, deal ---------------------------------------------------------------------------------------------- */

static int deal_main(int argc, char **argv, int split) {
    static const char *const names[] = {"--key", "--threshold", "--nodes", "--out-dir", NULL};
    const char *const usage = split ? U_SPLIT : U_DEAL, *cmd = argv[0];
    const char *v[4] = {NULL};
    int force = 0, rc = kms_cer_parse(argc, argv, usage, split ? names : names + 1, split ? v : v + 1, &force);
    if (rc >= 0) return rc;
    const char *key_path = v[0], *out_dir = v[3];
    unsigned t, n;
    if ((rc = kms_cer_uint(cmd, usage, "--nodes", v[2], 1, NOX_TH_MAX_NODES, &n)) >= 0) return rc;
    if ((rc = kms_cer_uint(cmd, usage, "--threshold", v[1], 1, NOX_TH_MAX_NODES, &t)) >= 0) return rc;
    if (t > n) return kms_cer_usage(cmd, usage, "--threshold %u exceeds --nodes %u", t, n);

    struct stat sb;
    int make_dir = stat(out_dir, &sb) != 0;
    if (make_dir && errno != ENOENT) return kms_cer_fail(cmd, "cannot use --out-dir %s: %s", out_dir, strerror(errno));
    if (!make_dir && !S_ISDIR(sb.st_mode)) return kms_cer_fail(cmd, "--out-dir %s is not a directory", out_dir);
    char paths[NOX_TH_MAX_NODES + 1][4096];
    for (unsigned i = 0; i <= n; i++) {
        int len = i < n ? snprintf(paths[i], sizeof paths[i], "%s/share-%u.key", out_dir, i + 1)
                        : snprintf(paths[i], sizeof paths[i], "%s/group.json", out_dir);
        if (len >= (int)sizeof paths[i]) return kms_cer_fail(cmd, "--out-dir %s: path too long", out_dir);
        if ((rc = kms_cer_check_new(cmd, paths[i], force)) >= 0) return rc;
    }

    nox_error err = {0};
    nox_ec_privkey key = {{0}}, shares[NOX_TH_MAX_NODES];
    nox_th_group g;
    uint8_t pub[NOX_TH_POINT_SIZE] = {0};
    if (split) {
        nox_ec_pubkey p;
        if (nox_ec_key_load(&key, key_path, &err)) return kms_cer_fail(cmd, "%s", err.message);
        if (nox_ec_pubkey_of(&key, &p, &err)) {
            nox_ec_key_wipe(&key);
            return kms_cer_fail(cmd, "%s", err.message);
        }
        nox_ec_pubkey_compressed(&p, pub);
    }
    nox_status st = nox_th_deal(split ? &key : NULL, t, n, &g, shares, &err);
    if (split) nox_ec_key_wipe(&key);
    if (!st && split && memcmp(g.public_key, pub, sizeof pub) != 0)
        st = nox_error_set(&err, NOX_ERR_INVALID, "the group's public key differs from the public key of %s", key_path);
    for (unsigned i = 0; !st && i < n; i++) { /* self-check before anything is written */
        unsigned index = 0;
        st = nox_th_share_check(&g, &shares[i], &index, &err);
        if (!st && index != i + 1)
            st = nox_error_set(&err, NOX_ERR_INVALID, "share %u checks as node %u's", i + 1, index);
    }
    if (!st && make_dir && mkdir(out_dir, 0700) != 0) /* made only now: a refused ceremony leaves nothing behind */
        st = nox_error_set(&err, NOX_ERR_IO, "cannot create --out-dir %s: %s", out_dir, strerror(errno));
    unsigned written = 0;
    while (!st && written < n && !(st = kms_cer_save_key(&shares[written], paths[written], force, &err))) written++;
    for (unsigned i = 0; i < n; i++) nox_ec_key_wipe(&shares[i]);
    if (!st) st = kms_cer_save_group(&g, paths[n], force, &err);
    if (st) {
        for (unsigned i = 0; i < written; i++) unlink(paths[i]); /* no partial set of shares is left behind */
        return kms_cer_fail(cmd, "%s", err.message);
    }
    print_group(&g);
    for (unsigned i = 0; i < n; i++) printf("share %u: %s\n", i + 1, paths[i]);
    printf("group file: %s\n", paths[n]);
    return 0;
}

/* ---- share-info ----------------------------------------------------------------------------------------------- */

static int share_info(int argc, char **argv) {
    static const char *const names[] = {"--group", "--share", NULL};
    const char *v[2] = {NULL}, *cmd = argv[0];
    int rc = kms_cer_parse(argc, argv, U_INFO, names, v, NULL);
    if (rc >= 0) return rc;
    nox_error err = {0};
    nox_th_group g;
    nox_ec_privkey share;
    unsigned index = 0;
    if (nox_th_group_load(v[0], &g, &err)) return kms_cer_fail(cmd, "%s", err.message);
    if (nox_ec_key_load(&share, v[1], &err)) return kms_cer_fail(cmd, "%s", err.message);
    nox_status st = nox_th_share_check(&g, &share, &index, &err);
    nox_ec_key_wipe(&share);
    if (st) return kms_cer_fail(cmd, "%s: %s", v[1], err.message);
    printf("node index: %u\n", index);
    kms_cer_print_hex("verification key", g.verification_keys[index - 1], NOX_TH_POINT_SIZE);
    print_group(&g);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------------------------- */

int kms_is_ceremony(const char *name) {
    return !strcmp(name, "split") || !strcmp(name, "deal") || !strcmp(name, "share-info") ||
           !strcmp(name, "reshare-deal") || !strcmp(name, "reshare-combine");
}

int kms_ceremony_main(int argc, char **argv) {
    if (!strcmp(argv[0], "split")) return deal_main(argc, argv, 1);
    if (!strcmp(argv[0], "deal")) return deal_main(argc, argv, 0);
    if (!strcmp(argv[0], "share-info")) return share_info(argc, argv);
    if (!strcmp(argv[0], "reshare-deal")) return kms_cer_reshare_deal(argc, argv, U_RDEAL);
    if (!strcmp(argv[0], "reshare-combine")) return kms_cer_reshare_combine(argc, argv, U_RCOMBINE);
    fprintf(stderr, "nox-kms: unknown ceremony %s\nusage:\n%s", argv[0], kms_ceremony_usage);
    return 2;
}
