/* NATS user nkeys (nox/nkey.h) and the credentials files the services read (nox/secret_file.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nox/config.h"
#include "nox/config_net.h"
#include "nox/nkey.h"
#include "test_util.h"

/* The user nkey of the NATS documentation (nats-server's authorization examples, nkeys' tests). */
#define DOC_SEED "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
#define DOC_PUBLIC "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"
/* The same 32 bytes as an account and as an operator seed (encoded by Python's base64 and binascii.crc_hqx). */
#define ACCOUNT_SEED "SAACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCTIMI"
#define OPERATOR_SEED "SOACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCRECA"

static char dir[] = "/tmp/nox-test-nkey-XXXXXX";


static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static void test_known_answer(void) {
    char pub[NOX_NKEY_PUBLIC_LEN + 1];
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_nkey_public_of_seed(DOC_SEED, strlen(DOC_SEED), pub, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(pub, DOC_PUBLIC);
    CU_ASSERT_TRUE(nox_nkey_public_valid(DOC_PUBLIC));
}

static void expect_bad_seed(const char *seed, const char *needle) {
    char pub[NOX_NKEY_PUBLIC_LEN + 1];
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_nkey_public_of_seed(seed, strlen(seed), pub, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, needle);
    CU_ASSERT_PTR_NULL(strstr(err.message, "SUACSSL3")); /* never quoted */
}

static void test_bad_seeds(void) {
    char s[80];
    expect_bad_seed("", "not an nkey seed");
    expect_bad_seed("SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3V", "not an nkey seed");   /* short */
    expect_bad_seed(DOC_SEED "A", "not an nkey seed");                                            /* long */
    snprintf(s, sizeof s, "%s", DOC_SEED);
    s[10] = '1'; /* not in the base32 alphabet */
    expect_bad_seed(s, "not an nkey seed");
    s[10] = 'b'; /* lower case is not NATS's alphabet either */
    expect_bad_seed(s, "not an nkey seed");
    snprintf(s, sizeof s, "%s", DOC_SEED);
    s[20] = s[20] == 'A' ? 'B' : 'A'; /* one character changed */
    expect_bad_seed(s, "checksum mismatch");
    expect_bad_seed(ACCOUNT_SEED, "another kind of nkey");
    expect_bad_seed(OPERATOR_SEED, "another kind of nkey");
    expect_bad_seed(DOC_PUBLIC "AA", "checksum"); /* a public key (padded to the length) is not a seed */
}

static void test_public_valid(void) {
    char p[80];
    CU_ASSERT_FALSE(nox_nkey_public_valid(NULL));
    CU_ASSERT_FALSE(nox_nkey_public_valid(""));
    CU_ASSERT_FALSE(nox_nkey_public_valid(DOC_SEED));
    snprintf(p, sizeof p, "%s", DOC_PUBLIC);
    p[30] = p[30] == 'A' ? 'B' : 'A';
    CU_ASSERT_FALSE(nox_nkey_public_valid(p));
}

static void test_generate(void) {
    char seed[NOX_NKEY_SEED_LEN + 1], pub[NOX_NKEY_PUBLIC_LEN + 1], pub2[NOX_NKEY_PUBLIC_LEN + 1];
    char seed_b[NOX_NKEY_SEED_LEN + 1], pub_b[NOX_NKEY_PUBLIC_LEN + 1];
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_nkey_generate(seed, pub, &err), NOX_OK);
    CU_ASSERT_EQUAL(strlen(seed), NOX_NKEY_SEED_LEN);
    CU_ASSERT_EQUAL(strncmp(seed, "SU", 2), 0);
    CU_ASSERT_EQUAL(pub[0], 'U');
    CU_ASSERT_TRUE(nox_nkey_public_valid(pub));
    CU_ASSERT_EQUAL(nox_nkey_public_of_seed(seed, strlen(seed), pub2, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(pub, pub2);
    CU_ASSERT_EQUAL(nox_nkey_generate(seed_b, pub_b, &err), NOX_OK);
    CU_ASSERT_STRING_NOT_EQUAL(seed, seed_b);
    CU_ASSERT_STRING_NOT_EQUAL(pub, pub_b);
}

static void test_files(void) {
    char path[512], pub[NOX_NKEY_PUBLIC_LEN + 1], pub2[NOX_NKEY_PUBLIC_LEN + 1];
    nox_error err = {0};
    struct stat sb;
    /* created 0600, never overwritten, read back */
    path_of(path, sizeof path, "new.nk");
    CU_ASSERT_EQUAL_FATAL(nox_nkey_file_create(path, pub, &err), NOX_OK);
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub2, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(pub, pub2);
    CU_ASSERT_EQUAL(nox_nkey_file_create(path, pub2, &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "refusing to overwrite");
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub2, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(pub, pub2); /* the refused create changed nothing */

    /* the forms nats.c reads: a bare seed (CRLF too), the seed block of a .creds file */
    path_of(path, sizeof path, "doc.nk");
    nox_test_write_file(path, "  " DOC_SEED "\r\n", 0600);
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(pub, DOC_PUBLIC);
    nox_test_write_file(path,
               "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.sig\n------END NATS USER JWT------\n\n"
               "-----BEGIN USER NKEY SEED-----\n" DOC_SEED "\n------END USER NKEY SEED------\n",
               0600);
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(pub, DOC_PUBLIC);

    /* refusals name the file and the fix, never the content */
    nox_test_write_file(path, DOC_SEED "\n", 0644);
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "has mode 0644");
    ASSERT_CONTAINS(err.message, "chmod 600");
    nox_test_write_file(path, "# no seed here\nUDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\n", 0600);
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "no user nkey seed");
    nox_test_write_file(path, ACCOUNT_SEED "\n", 0600);
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_ERR_INVALID); /* "SA": no line starts SU */
    nox_test_write_file(path, "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VZ\n", 0600); /* padding bit set */
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, path);
    ASSERT_CONTAINS(err.message, "not an nkey seed");
    nox_test_write_file(path, "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VA\n", 0600);
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "checksum mismatch");
    CU_ASSERT_PTR_NULL(strstr(err.message, "SUACSSL3"));
    path_of(path, sizeof path, "missing.nk");
    CU_ASSERT_EQUAL(nox_nkey_file_public(path, pub, &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "cannot open NATS credentials file");
    CU_ASSERT_EQUAL(nox_nkey_file_public(dir, pub, &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "not a regular file");
}

/* nox_cfg_get_nats_credentials: a wrong file stops a configuration with the value's position. */
static void test_config_key(void) {
    char cfg[512], good[512], loose[512], out[1024], text[1400];
    nox_error err = {0};
    path_of(good, sizeof good, "good.nk");
    nox_test_write_file(good, DOC_SEED "\n", 0600);
    path_of(loose, sizeof loose, "loose.nk");
    nox_test_write_file(loose, DOC_SEED "\n", 0640);
    path_of(cfg, sizeof cfg, "svc.yaml");
    const char *cases[][2] = {{"good.nk", NULL},
                              {"loose.nk", ":2:21: nats.credentials_file: NATS credentials file"},
                              {"absent.nk", ":2:21: nats.credentials_file: cannot open"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "nats:\n  credentials_file: %s\n", cases[i][0]);
        nox_test_write_file(cfg, text, 0600);
        nox_cfg_doc *doc = NULL;
        CU_ASSERT_EQUAL_FATAL(nox_cfg_load(cfg, &doc, &err), NOX_OK);
        const nox_cfg_node *n = nox_cfg_get(nox_cfg_root(doc), "nats");
        nox_status st = nox_cfg_get_nats_credentials(doc, n, "credentials_file", "nats", out, sizeof out, &err);
        if (!cases[i][1]) {
            CU_ASSERT_EQUAL(st, NOX_OK);
            CU_ASSERT_STRING_EQUAL(out, good); /* relative to the file */
        } else {
            CU_ASSERT_EQUAL(st, NOX_ERR_CONFIG);
            ASSERT_CONTAINS(err.message, cases[i][1]);
        }
        nox_cfg_free(doc);
    }
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    CU_TestInfo tests[] = {
        {"known answer: the NATS documentation's user nkey", test_known_answer},
        {"malformed, damaged and foreign seeds are refused", test_bad_seeds},
        {"public key validation", test_public_valid},
        {"generated keys round-trip", test_generate},
        {"credentials files: 0600, no overwrite, nats.c's forms, refusals", test_files},
        {"nox_cfg_get_nats_credentials: errors at the value's position", test_config_key},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("nkey", tests);
    nox_test_rmtree(dir);
    return rc;
}
