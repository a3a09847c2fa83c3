/*
 * nox_engine_load_config (core/engine/operators_config.c, engine.c,
 * plugin_loader.c) on a fuzzed operators.yaml: plugin lists, operator
 * enable lists, options, duplicates and overlaps — with real plugins.
 * The file is written into a temporary directory holding links to this
 * build's plugins (arithmetic.so, ...), so that relative paths find them.
 * Inputs with '/' are skipped: a path out of that directory would dlopen
 * arbitrary system libraries.
 * Invariants: the engine stays empty on error (documented); a loaded engine
 * has consistent lookups; no leak.
 */
#include <dirent.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "nox/engine.h"

static char dir[] = "/tmp/nox-fuzz-plugins-XXXXXX";
static char file[sizeof dir + 32];

static void cleanup(void) {
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            char p[sizeof dir + 300];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_pin_plugins(NOX_PLUGIN_DIR);
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    atexit(cleanup);
    DIR *d = opendir(NOX_PLUGIN_DIR);
    FUZZ_CHECK(d != NULL);
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".so")) continue;
        char from[4096], to[sizeof dir + 300];
        snprintf(from, sizeof from, "%s/%s", NOX_PLUGIN_DIR, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        FUZZ_CHECK(symlink(from, to) == 0);
    }
    closedir(d);
    snprintf(file, sizeof file, "%s/operators.yaml", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (memchr(data, '/', size) || size > 8192) return 0;
    FILE *f = fopen(file, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
    nox_engine *e = nox_engine_new();
    FUZZ_CHECK(e != NULL);
    nox_error err = {0};
    nox_status st = nox_engine_load_config(e, file, &err);
    if (st) {
        FUZZ_CHECK(nox_engine_op_count(e) == 0 && err.message[0]);
    } else {
        for (size_t i = 0; i < nox_engine_op_count(e); i++) {
            const nox_op *op = nox_engine_op_at(e, i);
            FUZZ_CHECK(nox_engine_find(e, nox_op_name(op)) == op);
            FUZZ_CHECK(nox_engine_find_id(e, nox_op_id(op)) == op);
            FUZZ_CHECK(nox_op_impl_count(op) >= 1);
            if (i) FUZZ_CHECK(nox_op_id(nox_engine_op_at(e, i - 1)) < nox_op_id(op));
        }
    }
    nox_engine_free(e);
    return 0;
}
