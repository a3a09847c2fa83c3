/*
 * Shared by the CUnit test programs: a main() runner and engine set-up
 * against the plugins of this build tree (NOX_PLUGIN_DIR, set by CMake).
 */
#ifndef NOX_TEST_UTIL_H
#define NOX_TEST_UTIL_H

#include <CUnit/Basic.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/engine.h"
#include "nox/hex.h"

#ifndef NOX_PLUGIN_DIR
#error "NOX_PLUGIN_DIR must be defined by the build"
#endif

/** Asserts that `needle` occurs in `haystack`, printing both when it does not. */
#define ASSERT_CONTAINS(haystack, needle)                                                          \
    do {                                                                                           \
        if (!strstr((haystack), (needle)))                                                         \
            fprintf(stderr, "\n  expected \"%s\" in: %s\n", (needle), (haystack));                 \
        CU_ASSERT_PTR_NOT_NULL(strstr((haystack), (needle)));                                      \
    } while (0)

/** Writes `text` to `path` (replacing it) with exactly `mode` (fchmod: the umask does not apply). */
static inline void nox_test_write_file(const char *path, const char *text, mode_t mode) {
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

/** Decodes a test constant of exactly len bytes from 0x hex; exits 2 naming it when it is not. */
static inline void nox_test_from_hex(const char *hex, uint8_t *out, size_t len) {
    nox_error err = {0};
    if (nox_hex_decode_exact(hex, strlen(hex), out, len, &err) != NOX_OK) {
        fprintf(stderr, "bad test constant %s: %s\n", hex, err.message);
        exit(2);
    }
}

/** Asserts that a 32-byte hash is the given 0x hex. */
#define ASSERT_HASH(h, want)                  \
    do {                                      \
        char hex_[67];                        \
        nox_hex_encode((h), 32, hex_);        \
        CU_ASSERT_STRING_EQUAL(hex_, (want)); \
    } while (0)

/** Removes a test's temporary directory tree (best effort, with a warning). */
static inline void nox_test_rmtree(const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

/** The built-in plugin families, as built in NOX_PLUGIN_DIR. */
static const char *const nox_test_plugins[] = {"arithmetic", "safe", "comparison", "select", "token", "wide"};

/** An engine with every built-in plugin loaded; aborts the test program on failure. */
static inline nox_engine *nox_test_engine(void) {
    nox_engine *e = nox_engine_new();
    nox_error err = {0};
    for (size_t i = 0; e && i < sizeof nox_test_plugins / sizeof nox_test_plugins[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.so", NOX_PLUGIN_DIR, nox_test_plugins[i]);
        if (nox_engine_load_plugin(e, path, &err)) {
            fprintf(stderr, "cannot load %s: %s\n", path, err.message);
            exit(2);
        }
    }
    if (!e) exit(2);
    return e;
}

/** The extension families (operator ids >= 64), as built in NOX_PLUGIN_DIR. */
static const char *const nox_test_ext_plugins[] = {"minmax", "bitwise", "shift", "cast"};

/** nox_test_engine() plus the extension families; aborts the test program on failure. */
static inline nox_engine *nox_test_engine_ext(void) {
    nox_engine *e = nox_test_engine();
    nox_error err = {0};
    for (size_t i = 0; i < sizeof nox_test_ext_plugins / sizeof nox_test_ext_plugins[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.so", NOX_PLUGIN_DIR, nox_test_ext_plugins[i]);
        if (nox_engine_load_plugin(e, path, &err)) {
            fprintf(stderr, "cannot load %s: %s\n", path, err.message);
            exit(2);
        }
    }
    return e;
}

/** The operator `name` of `e`; aborts the test program when it is not loaded. */
static inline const nox_op *nox_test_op(const nox_engine *e, const char *name) {
    const nox_op *op = nox_engine_find(e, name);
    if (!op) {
        fprintf(stderr, "operator %s is not loaded\n", name);
        exit(2);
    }
    return op;
}

/** Runs one suite of tests (a CU_TestInfo array ending in CU_TEST_INFO_NULL); returns the exit status. */
static inline int nox_test_main(const char *suite, CU_TestInfo *tests) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_SuiteInfo suites[] = {{suite, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed || run == 0 ? 1 : 0;
}

#endif
