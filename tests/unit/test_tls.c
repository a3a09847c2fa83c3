/*
 * TLS settings (nox/tls.h): the checks of certificate, key and CA files at start, their YAML form
 * (nox_cfg_get_tls_server / nox_cfg_get_tls_client) and a service's listener (nox_service_load_listener:
 * secure by default outside 127.0.0.0/8). Certificates come from scripts/pki.sh, as a devnet's do;
 * expired and not-yet-valid ones are made here with the OpenSSL C API.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nox/config.h"
#include "nox/config_net.h"
#include "nox/service.h"
#include "nox/tls.h"
#include "test_util.h"

static char dir[] = "/tmp/nox-test-tls-XXXXXX";

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

/* The repository's root, from this file's path (".../tests/unit/test_tls.c"). */
static void repo_root(char *out, size_t cap) {
    const char *f = __FILE__, *at = strstr(f, "tests/unit/test_tls.c");
    if (!at) snprintf(out, cap, ".");
    else if (at == f) snprintf(out, cap, ".");
    else snprintf(out, cap, "%.*s", (int)(at - f - 1), f);
}

/* scripts/pki.sh <dir>/<sub> args...; exits the program when it fails (every test needs it). */
static void pki(const char *sub, const char *args) {
    char root[1024], cmd[3000];
    repo_root(root, sizeof root);
    snprintf(cmd, sizeof cmd, "'%s/scripts/pki.sh' '%s/%s' %s", root, dir, sub, args);
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(2);
    }
}


/* Copies src to dst with mode. */
static void copy_file(const char *src, const char *dst, mode_t mode) {
    char buf[8192];
    FILE *f = fopen(src, "rb");
    CU_ASSERT_FATAL(f != NULL);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    nox_test_write_file(dst, buf, mode);
}

/* Set-up (before CUnit runs): exits the program when `cond` is false. */
#define REQUIRE(cond)                                                                \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: set-up failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(2);                                                                 \
        }                                                                            \
    } while (0)

/*
 * A self-signed EC P-256 certificate valid from now + from_s to now + to_s (seconds), at <dir>/<name>.pem,
 * and its key at <dir>/<name>.key (0600).
 */
static void make_cert(const char *name, long from_s, long to_s) {
    char cert_path[512], key_path[512], file[128];
    snprintf(file, sizeof file, "%s.pem", name);
    path_of(cert_path, sizeof cert_path, file);
    snprintf(file, sizeof file, "%s.key", name);
    path_of(key_path, sizeof key_path, file);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    REQUIRE(key != NULL);
    X509 *x = X509_new();
    REQUIRE(x != NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, key);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    REQUIRE(f != NULL);
    REQUIRE(PEM_write_X509(f, x) == 1);
    fclose(f);
    unlink(key_path);
    int fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    REQUIRE(fd >= 0);
    f = fdopen(fd, "w");
    REQUIRE(f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void server_files(nox_tls_server *t, const char *cert, const char *key, const char *ca) {
    memset(t, 0, sizeof *t);
    if (cert) path_of(t->cert_file, sizeof t->cert_file, cert);
    if (key) path_of(t->key_file, sizeof t->key_file, key);
    if (ca) path_of(t->client_ca_file, sizeof t->client_ca_file, ca);
}

static void client_files(nox_tls_client *t, const char *ca, const char *cert, const char *key) {
    memset(t, 0, sizeof *t);
    if (ca) path_of(t->ca_file, sizeof t->ca_file, ca);
    if (cert) path_of(t->cert_file, sizeof t->cert_file, cert);
    if (key) path_of(t->key_file, sizeof t->key_file, key);
}

/* Expects nox_tls_check_server to refuse with `code` and a message holding every needle (NULL-terminated). */
static void expect_server_refused(const nox_tls_server *t, const char *where, nox_status code,
                                  const char *const *needles) {
    nox_error err = {0};
    nox_status st = nox_tls_check_server(t, where, &err);
    if (st != code) fprintf(stderr, "\n  expected %s, got %s: %s\n", nox_status_name(code), nox_status_name(st), err.message);
    CU_ASSERT_EQUAL(st, code);
    for (size_t i = 0; needles[i]; i++) ASSERT_CONTAINS(err.message, needles[i]);
}

static void expect_client_refused(const nox_tls_client *t, const char *where, const char *const *needles) {
    nox_error err = {0};
    nox_status st = nox_tls_check_client(t, where, &err);
    if (st == NOX_OK) fprintf(stderr, "\n  expected a refusal, got OK\n");
    CU_ASSERT_NOT_EQUAL(st, NOX_OK);
    for (size_t i = 0; needles[i]; i++) ASSERT_CONTAINS(err.message, needles[i]);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Fills 64 KiB of the stack below the caller with non-zero bytes, so that a local variable read before it is
 * written holds garbage (not a lucky 0) in the next call from the same frame. */
__attribute__((noinline)) static void dirty_stack(void) {
    volatile unsigned char junk[65536];
    memset((unsigned char *)junk, 0xA5, sizeof junk);
    __asm__ volatile("" : : "r"(junk) : "memory");
}

/* Runs nox_tls_check_server (or, when client, nox_tls_check_client with t->client_ca_file as ca_file) in a
 * child over a dirtied stack: a crash there is a test failure, not the end of the program. Returns the
 * status, or -1 when the child died; the message goes to msg. */
static int check_isolated(const nox_tls_server *t, int client, char *msg, size_t cap) {
    int p[2];
    msg[0] = '\0';
    if (pipe(p) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        static nox_error err;
        static nox_tls_client c;
        snprintf(c.ca_file, sizeof c.ca_file, "%s", t->client_ca_file);
        dirty_stack();
        nox_status st = client ? nox_tls_check_client(&c, "kms_tls", &err) : nox_tls_check_server(t, "tls", &err);
        ssize_t w = write(p[1], err.message, strlen(err.message));
        (void)w;
        _exit((int)st);
    }
    close(p[1]);
    ssize_t n = pid > 0 ? read(p[0], msg, cap - 1) : -1;
    msg[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws)) return -1;
    return WEXITSTATUS(ws);
}

/* ---- nox_tls_check_server ---------------------------------------------------------------- */

static void test_check_server_good(void) {
    nox_tls_server t;
    nox_error err = {0};
    server_files(&t, NULL, NULL, NULL); /* plaintext: nothing to check */
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_OK);
    CU_ASSERT_FALSE(nox_tls_server_enabled(&t));
    server_files(&t, "a/srv.pem", "a/srv.key", NULL);
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_OK);
    CU_ASSERT_TRUE(nox_tls_server_enabled(&t));
    server_files(&t, "a/srv.pem", "a/srv.key", "a/ca.pem"); /* mutual TLS */
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_OK);
    server_files(&t, "a/srv.pem", "a/srv.key", "both-cas.pem"); /* a bundle of two CAs */
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_OK);
    server_files(&t, "fresh.pem", "fresh.key", NULL); /* made like the expired ones below, but valid now */
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_OK);
    /* a client certificate as a server's (the check is of files, not of purposes) */
    server_files(&t, "a/cli.pem", "a/cli.key", NULL);
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_OK);
}

static void test_check_server_pairs(void) {
    nox_tls_server t;
    server_files(&t, "a/srv.pem", NULL, NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.cert_file and tls.key_file go together"));
    server_files(&t, NULL, "a/srv.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.cert_file and tls.key_file go together"));
    server_files(&t, NULL, "a/srv.key", "a/ca.pem");
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("go together"));
    /* a key that belongs to another certificate (another CA's server, and the CA's own key) */
    server_files(&t, "a/srv.pem", "b/srv.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID,
                          NEEDLES("tls.key_file", "b/srv.key", "does not match the certificate in tls.cert_file",
                                  "a/srv.pem"));
    server_files(&t, "a/srv.pem", "a/ca.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("does not match"));
    /* `where` names the fields */
    server_files(&t, "a/srv.pem", NULL, NULL);
    expect_server_refused(&t, "gateway.tls", NOX_ERR_INVALID,
                          NEEDLES("gateway.tls.cert_file and gateway.tls.key_file go together"));
}

static void test_check_server_key_mode(void) {
    char loose[512], key[512], content[8192];
    path_of(key, sizeof key, "a/srv.key");
    path_of(loose, sizeof loose, "loose-srv.key");
    copy_file(key, loose, 0644);
    FILE *f = fopen(key, "r");
    CU_ASSERT_FATAL(f != NULL);
    size_t n = fread(content, 1, sizeof content - 1, f);
    fclose(f);
    content[n] = '\0';
    /* the key's second line (base64 of the key itself) */
    char *line = strchr(content, '\n');
    CU_ASSERT_FATAL(line != NULL);
    line++;
    char *end = strchr(line, '\n');
    CU_ASSERT_FATAL(end != NULL && end - line > 20);
    *end = '\0';
    char chunk[17];
    snprintf(chunk, sizeof chunk, "%s", line + 4);

    nox_tls_server t;
    nox_error err = {0};
    server_files(&t, "a/srv.pem", "loose-srv.key", NULL);
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "tls.key_file");
    ASSERT_CONTAINS(err.message, "has mode 0644");
    ASSERT_CONTAINS(err.message, "chmod 600");
    ASSERT_CONTAINS(err.message, loose);
    CU_ASSERT_PTR_NULL(strstr(err.message, chunk));
    CU_ASSERT_PTR_NULL(strstr(err.message, "PRIVATE KEY"));
    /* 0640 (group) as well; 0400 is fine */
    chmod(loose, 0640);
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "chmod 600");
    chmod(loose, 0400);
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_OK);
    /* a key that does not match, or is not a key: its content is not quoted either */
    server_files(&t, "b/srv.pem", "a/srv.key", NULL);
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(strstr(err.message, chunk));
    /* a missing key file */
    server_files(&t, "a/srv.pem", "absent.key", NULL);
    CU_ASSERT_EQUAL(nox_tls_check_server(&t, "tls", &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "tls.key_file");
    ASSERT_CONTAINS(err.message, "absent.key");
}

static void test_check_server_not_pem(void) {
    char junk[512], junk_key[512];
    path_of(junk, sizeof junk, "junk.pem");
    nox_test_write_file(junk, "this is not a certificate\n", 0644);
    path_of(junk_key, sizeof junk_key, "junk.key");
    nox_test_write_file(junk_key, "this is not a key either\n", 0600);
    nox_tls_server t;
    server_files(&t, "junk.pem", "a/srv.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.cert_file", "junk.pem", "no PEM certificate"));
    server_files(&t, "a/srv.key", "a/srv.key", NULL); /* a key where the certificate belongs */
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.cert_file", "no PEM certificate"));
    server_files(&t, "a/srv.pem", "junk.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.key_file", "junk.key", "not a PEM private key"));
    char certkey[512]; /* a certificate where the key belongs (0600, so that the parse is what fails) */
    path_of(certkey, sizeof certkey, "cert-as-key.key");
    char src[512];
    path_of(src, sizeof src, "a/srv.pem");
    copy_file(src, certkey, 0600);
    server_files(&t, "a/srv.pem", "cert-as-key.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.key_file", "not a PEM private key"));
    server_files(&t, "absent.pem", "a/srv.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_IO, NEEDLES("tls.cert_file", "cannot open", "absent.pem"));
}

static void test_check_server_dates(void) {
    nox_tls_server t;
    /* expired yesterday */
    server_files(&t, "expired.pem", "expired.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.cert_file", "expired.pem", "has expired"));
    /* valid from tomorrow */
    server_files(&t, "future.pem", "future.key", NULL);
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.cert_file", "future.pem", "not valid yet"));
    /* an expired CA for client certificates */
    server_files(&t, "a/srv.pem", "a/srv.key", "expired.pem");
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.client_ca_file", "has expired"));
}

static void test_check_server_client_ca(void) {
    nox_tls_server t;
    /* mutual TLS without TLS */
    server_files(&t, NULL, NULL, "a/ca.pem");
    expect_server_refused(&t, "tls", NOX_ERR_INVALID,
                          NEEDLES("tls.client_ca_file needs tls.cert_file and tls.key_file", "mutual TLS is TLS first"));
    CU_ASSERT_FALSE(nox_tls_server_enabled(&t));
    /* a CA file without a certificate: junk, or a key */
    server_files(&t, "a/srv.pem", "a/srv.key", "junk.pem");
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.client_ca_file", "junk.pem", "no PEM certificate"));
    server_files(&t, "a/srv.pem", "a/srv.key", "a/ca.key");
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.client_ca_file", "no PEM certificate"));
    char empty[512];
    path_of(empty, sizeof empty, "empty.pem");
    nox_test_write_file(empty, "", 0644);
    server_files(&t, "a/srv.pem", "a/srv.key", "empty.pem");
    expect_server_refused(&t, "tls", NOX_ERR_INVALID, NEEDLES("tls.client_ca_file", "no PEM certificate"));
}

/* A client_ca_file / ca_file that cannot be read: refused with the field and the file, without crashing.
 * Run in a child over a dirtied stack: a pointer freed before it is set would crash it. */
static void test_check_ca_missing(void) {
    nox_tls_server t;
    char msg[NOX_ERROR_MAX];
    server_files(&t, "a/srv.pem", "a/srv.key", "absent-ca.pem");
    int st = check_isolated(&t, 0, msg, sizeof msg);
    if (st != NOX_ERR_IO) fprintf(stderr, "\n  check of a missing client_ca_file: status %d (-1: crashed), \"%s\"\n", st, msg);
    CU_ASSERT_EQUAL(st, NOX_ERR_IO);
    ASSERT_CONTAINS(msg, "tls.client_ca_file");
    ASSERT_CONTAINS(msg, "absent-ca.pem");
    st = check_isolated(&t, 1, msg, sizeof msg);
    if (st != NOX_ERR_IO) fprintf(stderr, "\n  check of a missing ca_file: status %d (-1: crashed), \"%s\"\n", st, msg);
    CU_ASSERT_EQUAL(st, NOX_ERR_IO);
    ASSERT_CONTAINS(msg, "kms_tls.ca_file");
    ASSERT_CONTAINS(msg, "absent-ca.pem");
    /* a directory: fopen works, reading does not */
    server_files(&t, "a/srv.pem", "a/srv.key", "a");
    st = check_isolated(&t, 0, msg, sizeof msg);
    if (st != NOX_ERR_INVALID) fprintf(stderr, "\n  check of a directory as client_ca_file: status %d, \"%s\"\n", st, msg);
    CU_ASSERT_EQUAL(st, NOX_ERR_INVALID);
    ASSERT_CONTAINS(msg, "tls.client_ca_file");
}

/* ---- nox_tls_check_client ---------------------------------------------------------------- */

static void test_check_client(void) {
    nox_tls_client t;
    nox_error err = {0};
    client_files(&t, NULL, NULL, NULL); /* the system's trust store, no client certificate */
    CU_ASSERT_EQUAL(nox_tls_check_client(&t, "kms_tls", &err), NOX_OK);
    client_files(&t, "a/ca.pem", NULL, NULL);
    CU_ASSERT_EQUAL(nox_tls_check_client(&t, "kms_tls", &err), NOX_OK);
    client_files(&t, NULL, "a/cli.pem", "a/cli.key");
    CU_ASSERT_EQUAL(nox_tls_check_client(&t, "kms_tls", &err), NOX_OK);
    client_files(&t, "a/ca.pem", "a/cli.pem", "a/cli.key");
    CU_ASSERT_EQUAL(nox_tls_check_client(&t, "kms_tls", &err), NOX_OK);

    client_files(&t, "a/ca.pem", "a/cli.pem", NULL);
    expect_client_refused(&t, "kms_tls", NEEDLES("kms_tls.cert_file and kms_tls.key_file go together"));
    client_files(&t, "a/ca.pem", NULL, "a/cli.key");
    expect_client_refused(&t, "kms_tls", NEEDLES("go together"));
    client_files(&t, "a/ca.pem", "a/cli.pem", "b/cli.key");
    expect_client_refused(&t, "kms_tls", NEEDLES("kms_tls.key_file", "does not match", "kms_tls.cert_file"));
    client_files(&t, "junk.pem", NULL, NULL);
    expect_client_refused(&t, "kms_tls", NEEDLES("kms_tls.ca_file", "no PEM certificate"));
    client_files(&t, "expired.pem", NULL, NULL);
    expect_client_refused(&t, "kms_tls", NEEDLES("kms_tls.ca_file", "has expired"));
    client_files(&t, NULL, "a/cli.pem", "loose.key");
    chmod(t.key_file, 0644);
    expect_client_refused(&t, "kms_tls", NEEDLES("kms_tls.key_file", "chmod 600"));
    chmod(t.key_file, 0400);
}

/* ---- YAML: nox_cfg_get_tls_server / nox_cfg_get_tls_client -------------------------------- */

/* Writes <dir>/<name> with text and loads it; fatal when it does not parse. */
static nox_cfg_doc *load_yaml(const char *name, const char *text) {
    char path[512];
    nox_error err = {0};
    path_of(path, sizeof path, name);
    nox_test_write_file(path, text, 0644);
    nox_cfg_doc *doc = NULL;
    nox_status st = nox_cfg_load(path, &doc, &err);
    if (st) fprintf(stderr, "\n  %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(st, NOX_OK);
    return doc;
}

static void test_cfg_tls_server(void) {
    char want[1024], prefix[600];
    nox_error err = {0};
    nox_tls_server t;
    /* relative paths are the YAML file's directory's (not the working directory's) */
    nox_cfg_doc *doc = load_yaml("svc.yaml", "name: x\ntls:\n  cert_file: a/srv.pem\n  key_file: a/srv.key\n"
                                             "  client_ca_file: a/ca.pem\n");
    memset(&t, 'x', sizeof t);
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_OK);
    path_of(want, sizeof want, "a/srv.pem");
    CU_ASSERT_STRING_EQUAL(t.cert_file, want);
    path_of(want, sizeof want, "a/srv.key");
    CU_ASSERT_STRING_EQUAL(t.key_file, want);
    path_of(want, sizeof want, "a/ca.pem");
    CU_ASSERT_STRING_EQUAL(t.client_ca_file, want);
    nox_cfg_free(doc);

    /* absolute paths are kept; absent: all "" */
    char text[2048];
    snprintf(text, sizeof text, "tls: {cert_file: %s/a/srv.pem, key_file: %s/a/srv.key}\n", dir, dir);
    doc = load_yaml("abs.yaml", text);
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_OK);
    path_of(want, sizeof want, "a/srv.pem");
    CU_ASSERT_STRING_EQUAL(t.cert_file, want);
    CU_ASSERT_STRING_EQUAL(t.client_ca_file, "");
    memset(&t, 'x', sizeof t);
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "other_tls", &t, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(t.cert_file, "");
    CU_ASSERT_STRING_EQUAL(t.key_file, "");
    CU_ASSERT_STRING_EQUAL(t.client_ca_file, "");
    nox_cfg_free(doc);

    /* an unknown key, at its position */
    doc = load_yaml("unknown.yaml", "tls:\n  cert_file: a/srv.pem\n  key_file: a/srv.key\n  ca_file: a/ca.pem\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_ERR_CONFIG);
    path_of(prefix, sizeof prefix, "unknown.yaml:4:3: tls: unknown key 'ca_file'");
    ASSERT_CONTAINS(err.message, prefix);
    ASSERT_CONTAINS(err.message, "cert_file, key_file, client_ca_file");
    nox_cfg_free(doc);

    /* a bad file: at the tls map, naming the field */
    doc = load_yaml("bad.yaml", "listen: 127.0.0.1:0\ntls:\n  cert_file: a/srv.pem\n  key_file: b/srv.key\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_ERR_CONFIG);
    path_of(prefix, sizeof prefix, "bad.yaml:3:3: tls.key_file");
    ASSERT_CONTAINS(err.message, prefix);
    ASSERT_CONTAINS(err.message, "does not match");
    nox_cfg_free(doc);
    doc = load_yaml("bad2.yaml", "tls: {cert_file: a/srv.pem, key_file: loose-srv.key}\n");
    char loose[512];
    path_of(loose, sizeof loose, "loose-srv.key");
    path_of(want, sizeof want, "a/srv.key");
    copy_file(want, loose, 0644);
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_ERR_CONFIG);
    path_of(prefix, sizeof prefix, "bad2.yaml:1:6: tls.key_file");
    ASSERT_CONTAINS(err.message, prefix);
    ASSERT_CONTAINS(err.message, "chmod 600");
    chmod(loose, 0400);
    nox_cfg_free(doc);
    doc = load_yaml("bad3.yaml", "x: 1\ntls:\n  client_ca_file: a/ca.pem\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_ERR_CONFIG);
    path_of(prefix, sizeof prefix, "bad3.yaml:3:3: tls.client_ca_file needs");
    ASSERT_CONTAINS(err.message, prefix);
    nox_cfg_free(doc);
    /* not a mapping; an empty path */
    doc = load_yaml("scalar.yaml", "tls: a/srv.pem\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_ERR_CONFIG);
    ASSERT_CONTAINS(err.message, "scalar.yaml:1:6: tls: expected a mapping");
    nox_cfg_free(doc);
    doc = load_yaml("emptypath.yaml", "tls:\n  cert_file: ''\n  key_file: a/srv.key\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_server(doc, nox_cfg_root(doc), "tls", &t, &err), NOX_ERR_CONFIG);
    ASSERT_CONTAINS(err.message, "emptypath.yaml:2:14: tls.cert_file: expected a file path");
    nox_cfg_free(doc);
}

static void test_cfg_tls_client(void) {
    char want[1024], prefix[600];
    nox_error err = {0};
    nox_tls_client t;
    nox_cfg_doc *doc = load_yaml("client.yaml", "kms:\n  url: https://127.0.0.1:1\nkms_tls:\n  ca_file: a/ca.pem\n"
                                                "  cert_file: a/cli.pem\n  key_file: a/cli.key\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_client(doc, nox_cfg_root(doc), "kms_tls", &t, &err), NOX_OK);
    path_of(want, sizeof want, "a/ca.pem");
    CU_ASSERT_STRING_EQUAL(t.ca_file, want);
    path_of(want, sizeof want, "a/cli.pem");
    CU_ASSERT_STRING_EQUAL(t.cert_file, want);
    path_of(want, sizeof want, "a/cli.key");
    CU_ASSERT_STRING_EQUAL(t.key_file, want);
    memset(&t, 'x', sizeof t);
    CU_ASSERT_EQUAL(nox_cfg_get_tls_client(doc, nox_cfg_root(doc), "gateway_tls", &t, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(t.ca_file, "");
    CU_ASSERT_STRING_EQUAL(t.cert_file, "");
    CU_ASSERT_STRING_EQUAL(t.key_file, "");
    nox_cfg_free(doc);

    doc = load_yaml("client-unknown.yaml", "kms_tls:\n  ca_file: a/ca.pem\n  client_ca_file: a/ca.pem\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_client(doc, nox_cfg_root(doc), "kms_tls", &t, &err), NOX_ERR_CONFIG);
    path_of(prefix, sizeof prefix, "client-unknown.yaml:3:3: kms_tls: unknown key 'client_ca_file'");
    ASSERT_CONTAINS(err.message, prefix);
    nox_cfg_free(doc);

    doc = load_yaml("client-bad.yaml", "a: 1\nb: 2\nkms_tls:\n    ca_file: junk.pem\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_client(doc, nox_cfg_root(doc), "kms_tls", &t, &err), NOX_ERR_CONFIG);
    path_of(prefix, sizeof prefix, "client-bad.yaml:4:5: kms_tls.ca_file");
    ASSERT_CONTAINS(err.message, prefix);
    ASSERT_CONTAINS(err.message, "no PEM certificate");
    nox_cfg_free(doc);

    doc = load_yaml("client-half.yaml", "kms_tls:\n  cert_file: a/cli.pem\n");
    CU_ASSERT_EQUAL(nox_cfg_get_tls_client(doc, nox_cfg_root(doc), "kms_tls", &t, &err), NOX_ERR_CONFIG);
    path_of(prefix, sizeof prefix, "client-half.yaml:2:3: kms_tls.cert_file and kms_tls.key_file go together");
    ASSERT_CONTAINS(err.message, prefix);
    nox_cfg_free(doc);
}

/* ---- nox_service_load_listener ------------------------------------------------------------ */

/* Loads `text` as <dir>/listen.yaml and runs nox_service_load_listener (err gets any error). */
static nox_status listener(const char *text, const char *dflt, char listen[64], nox_tls_server *tls, nox_error *err) {
    nox_cfg_doc *doc = load_yaml("listen.yaml", text);
    memset(listen, 0, 64);
    memset(tls, 'x', sizeof *tls);
    nox_status st = nox_service_load_listener(doc, nox_cfg_root(doc), dflt, listen, 64, tls, err);
    nox_cfg_free(doc);
    return st;
}

static void expect_not_loopback(const char *text, const char *dflt, const char *pos, const char *addr) {
    char listen[64], want[700];
    nox_tls_server tls;
    nox_error err = {0};
    CU_ASSERT_EQUAL(listener(text, dflt, listen, &tls, &err), NOX_ERR_CONFIG);
    snprintf(want, sizeof want, "%s/listen.yaml:%s: listen: %s is not a loopback address", dir, pos, addr);
    ASSERT_CONTAINS(err.message, want);
    ASSERT_CONTAINS(err.message, "allow_plaintext: true");
}

static void test_listener(void) {
    char listen[64];
    nox_tls_server tls;
    nox_error err = {0};
    /* loopback: the whole of 127.0.0.0/8, no tls needed */
    CU_ASSERT_EQUAL(listener("listen: 127.0.0.1:0\n", NULL, listen, &tls, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(listen, "127.0.0.1:0");
    CU_ASSERT_FALSE(nox_tls_server_enabled(&tls));
    CU_ASSERT_STRING_EQUAL(tls.cert_file, "");
    CU_ASSERT_STRING_EQUAL(tls.client_ca_file, "");
    CU_ASSERT_EQUAL(listener("listen: 127.5.6.7:0\n", NULL, listen, &tls, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(listen, "127.5.6.7:0");
    CU_ASSERT_EQUAL(listener("listen: 127.255.255.254:9\n", NULL, listen, &tls, &err), NOX_OK);
    /* elsewhere: refused at the listen value's line:col */
    expect_not_loopback("listen: 0.0.0.0:8080\n", NULL, "1:9", "0.0.0.0:8080");
    expect_not_loopback("name: x\nlisten: 10.1.2.3:80\n", NULL, "2:9", "10.1.2.3:80");
    expect_not_loopback("name: x\nlisten:    128.0.0.1:80\n", NULL, "2:12", "128.0.0.1:80");
    expect_not_loopback("listen: 126.255.255.255:80\n", NULL, "1:9", "126.255.255.255:80");
    expect_not_loopback("listen: 0.0.0.0:8080\nallow_plaintext: false\n", NULL, "1:9", "0.0.0.0:8080");
    expect_not_loopback("listen: 0.0.0.0:8080\ntls: {}\n", NULL, "1:9", "0.0.0.0:8080"); /* an empty tls is none */
    /* knowingly plaintext */
    CU_ASSERT_EQUAL(listener("listen: 0.0.0.0:8080\nallow_plaintext: true\n", NULL, listen, &tls, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(listen, "0.0.0.0:8080");
    CU_ASSERT_EQUAL(listener("allow_plaintext: true\nlisten: 10.1.2.3:80\n", NULL, listen, &tls, &err), NOX_OK);
    CU_ASSERT_EQUAL(listener("listen: 0.0.0.0:8080\nallow_plaintext: maybe\n", NULL, listen, &tls, &err),
                    NOX_ERR_CONFIG);
    ASSERT_CONTAINS(err.message, "allow_plaintext");
    /* with tls: accepted, the files resolved and checked */
    CU_ASSERT_EQUAL(listener("listen: 0.0.0.0:8443\ntls:\n  cert_file: a/srv.pem\n  key_file: a/srv.key\n", NULL,
                             listen, &tls, &err),
                    NOX_OK);
    CU_ASSERT_STRING_EQUAL(listen, "0.0.0.0:8443");
    CU_ASSERT_TRUE(nox_tls_server_enabled(&tls));
    char want[1024];
    path_of(want, sizeof want, "a/srv.key");
    CU_ASSERT_STRING_EQUAL(tls.key_file, want);
    CU_ASSERT_STRING_EQUAL(tls.client_ca_file, "");
    /* a wrong tls is refused even on loopback, at the tls map */
    CU_ASSERT_EQUAL(listener("listen: 127.0.0.1:0\ntls:\n  cert_file: a/srv.pem\n  key_file: b/srv.key\n", NULL,
                             listen, &tls, &err),
                    NOX_ERR_CONFIG);
    snprintf(want, sizeof want, "%s/listen.yaml:3:3: tls.key_file", dir);
    ASSERT_CONTAINS(err.message, want);
    ASSERT_CONTAINS(err.message, "does not match");
    /* absent listen: the default, itself checked */
    CU_ASSERT_EQUAL(listener("name: x\n", "127.0.0.1:8081", listen, &tls, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(listen, "127.0.0.1:8081");
    CU_ASSERT_EQUAL(listener("name: x\n", "0.0.0.0:8081", listen, &tls, &err), NOX_ERR_CONFIG);
    ASSERT_CONTAINS(err.message, "0.0.0.0:8081 is not a loopback address");
    CU_ASSERT_EQUAL(listener("name: x\nallow_plaintext: true\n", "0.0.0.0:8081", listen, &tls, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(listen, "0.0.0.0:8081");
    /* absent without a default */
    CU_ASSERT_EQUAL(listener("name: x\n", NULL, listen, &tls, &err), NOX_ERR_CONFIG);
    ASSERT_CONTAINS(err.message, "missing required key 'listen'");
    ASSERT_CONTAINS(err.message, "listen.yaml:1:1:");
    CU_ASSERT_EQUAL(listener("listen: ''\n", "127.0.0.1:1", listen, &tls, &err), NOX_ERR_CONFIG);
    ASSERT_CONTAINS(err.message, "must not be empty");
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    /* CA a: a server and a client; CA b: the same, for keys and certificates of another authority */
    pki("a", "server srv");
    pki("a", "client cli");
    pki("b", "server srv");
    pki("b", "client cli");
    make_cert("expired", -2 * 86400L, -86400L);
    make_cert("future", 86400L, 2 * 86400L);
    make_cert("fresh", -60L, 86400L);
    char a[512], b[512], both[512], cmd[4096];
    path_of(a, sizeof a, "a/ca.pem");
    path_of(b, sizeof b, "b/ca.pem");
    path_of(both, sizeof both, "both-cas.pem");
    snprintf(cmd, sizeof cmd, "cat '%s' '%s' > '%s'", a, b, both);
    if (system(cmd) != 0) return 2;
    /* the files the tests share: junk, and a loose copy of a key (its mode set by each test) */
    char junk[512], loose[512], key[512];
    path_of(junk, sizeof junk, "junk.pem");
    path_of(loose, sizeof loose, "loose.key");
    path_of(key, sizeof key, "a/cli.key");
    snprintf(cmd, sizeof cmd, "echo 'this is not a certificate' > '%s' && cp '%s' '%s' && chmod 400 '%s'", junk,
             key, loose, loose);
    if (system(cmd) != 0) return 2;
    CU_TestInfo tests[] = {
        {"check_server: valid pairs, with a client CA, bundles", test_check_server_good},
        {"check_server: cert and key go together, and match", test_check_server_pairs},
        {"check_server: key mode 0600, content never quoted", test_check_server_key_mode},
        {"check_server: files that are not PEM", test_check_server_not_pem},
        {"check_server: expired and not-yet-valid certificates", test_check_server_dates},
        {"check_server: client_ca_file needs TLS and a certificate", test_check_server_client_ca},
        {"check_server/client: an unreadable CA file is refused, no crash", test_check_ca_missing},
        {"check_client: ca, cert and key", test_check_client},
        {"nox_cfg_get_tls_server: paths, unknown keys, positions", test_cfg_tls_server},
        {"nox_cfg_get_tls_client: paths, unknown keys, positions", test_cfg_tls_client},
        {"nox_service_load_listener: loopback, tls, allow_plaintext, defaults", test_listener},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("tls", tests);
    nox_test_rmtree(dir);
    return rc;
}
