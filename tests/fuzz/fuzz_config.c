/*
 * The YAML configuration layer (core/base/config.c): nox_cfg_parse (in memory)
 * and nox_cfg_load (the file path every loader uses), then every accessor on
 * every node of the document, as the loaders do.
 * Invariants: errors carry a message; accessors on any node never crash; a
 * scalar's text is NUL-terminated; sizes and kinds agree.
 */
#include "fuzz_util.h"
#include "nox/config.h"
#include "nox/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("NOX_FUZZ_VAR", "127.0.0.1:8080", 1);
    setenv("NOX_FUZZ_EMPTY", "", 1);
    setenv("NOX_FUZZ_ADDR", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 1);
    return 0;
}

static void walk(const nox_cfg_doc *doc, const nox_cfg_node *node, unsigned depth) {
    nox_error err = {0};
    nox_cfg_kind kind = nox_cfg_kind_of(node);
    FUZZ_CHECK(nox_cfg_kind_name(kind) != NULL);
    (void)nox_cfg_line(node);
    (void)nox_cfg_column(node);
    const char *s = nox_cfg_str(node);
    FUZZ_CHECK((kind == NOX_CFG_SCALAR) == (s != NULL));
    if (s) (void)strlen(s);
    uint8_t addr[20];
    (void)nox_cfg_address(doc, node, "fuzz", "an address", addr, &err);
    (void)nox_cfg_expect(doc, node, NOX_CFG_MAP, "fuzz", &err);
    size_t n = nox_cfg_size(node);
    if (kind == NOX_CFG_SCALAR || kind == NOX_CFG_NULL) FUZZ_CHECK(n == 0);
    if (depth > 64) return;
    static const char *const allowed[] = {"listen", "chains", "nats", NULL};
    if (kind == NOX_CFG_MAP) (void)nox_cfg_check_keys(doc, node, allowed, "fuzz", &err);
    for (size_t i = 0; i < n; i++) {
        const nox_cfg_node *child = nox_cfg_at(node, i);
        FUZZ_CHECK(child != NULL);
        if (kind == NOX_CFG_MAP) {
            const nox_cfg_node *key = nox_cfg_key_at(node, i);
            FUZZ_CHECK(key != NULL);
            const char *k = nox_cfg_str(key);
            if (k) {
                FUZZ_CHECK(nox_cfg_get(node, k) != NULL);
                const char *str;
                uint64_t u = 7;
                int b = 0, level = 0;
                char text[64], path[256];
                (void)nox_cfg_get_str(doc, node, k, 1, "fuzz", &str, &err);
                (void)nox_cfg_get_uint(doc, node, k, 1, 1, UINT32_MAX, "fuzz", &u, &err);
                (void)nox_cfg_get_text(doc, node, k, 1, NULL, "fuzz", text, sizeof text, &err);
                (void)nox_cfg_get_path(doc, node, k, 1, "fuzz", path, sizeof path, &err);
                (void)nox_cfg_get_bool(doc, node, k, 1, "fuzz", &b, &err);
                (void)nox_cfg_get_address(doc, node, k, "fuzz", "an address", addr, &err);
                if (!strcmp(k, "log_level")) (void)nox_cfg_get_log_level(doc, node, &level, &err);
            }
            walk(doc, key, depth + 1);
        }
        walk(doc, child, depth + 1);
    }
    FUZZ_CHECK(nox_cfg_at(node, n) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nox_cfg_doc *doc = NULL;
    nox_error err = {0};
    nox_status st = nox_cfg_parse("fuzz/config.yaml", (const char *)data, size, &doc, &err);
    if (st) {
        FUZZ_CHECK(doc == NULL && err.message[0] != '\0');
    } else {
        FUZZ_CHECK(nox_cfg_file(doc) != NULL && nox_cfg_dir(doc) != NULL);
        walk(doc, nox_cfg_root(doc), 0);
        nox_cfg_free(doc);
    }
    /* The same text through the file path (what the services' loaders call). */
    if (size <= 4096) {
        doc = NULL;
        nox_status st2 = nox_cfg_load(fuzz_memfile(data, size), &doc, &err);
        FUZZ_CHECK((st2 == NOX_OK) == (st == NOX_OK));
        nox_cfg_free(doc);
    }
    return 0;
}
