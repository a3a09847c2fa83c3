/*
 * Unit tests of the YAML configuration layer (nox/config.h).
 *
 * Documents are parsed from memory under the fake name "test.yaml", so every
 * message has a deterministic "test.yaml:LINE:COL:" prefix (1-based). The
 * prefix is what an operator sees first; these tests pin it to the right
 * spot for each kind of mistake.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nox/config.h"
#include "test_util.h"

#define NAME "test.yaml"

/* Parses text; on failure prints the message and returns NULL. */
static nox_cfg_doc *parse(const char *text) {
    nox_cfg_doc *doc = NULL;
    nox_error err = {0};
    if (nox_cfg_parse(NAME, text, strlen(text), &doc, &err) != NOX_OK) {
        printf("\n  unexpected parse error: %s\n", err.message);
        return NULL;
    }
    return doc;
}

/* Parses text expecting failure; returns the status and leaves the message in err. */
static nox_status parse_error(const char *text, nox_error *err) {
    nox_cfg_doc *doc = (nox_cfg_doc *)&doc; /* must be reset to NULL on failure */
    nox_status st = nox_cfg_parse(NAME, text, strlen(text), &doc, err);
    if (st == NOX_OK) {
        printf("\n  parsed although it should not have: %.60s\n", text);
        nox_cfg_free(doc);
    } else {
        CU_ASSERT_PTR_NULL(doc);
    }
    return st;
}

/* 1 when s starts with prefix (printing both when not). */
static int starts_with(const char *s, const char *prefix) {
    if (strncmp(s, prefix, strlen(prefix)) == 0) return 1;
    printf("\n  message '%s' does not start with '%s'\n", s, prefix);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing errors with positions                                             */
/* ------------------------------------------------------------------------ */

static void test_syntax_errors(void) {
    nox_error err = {0};
    /* an unclosed flow list: found at the end of input (line 2, column 1) */
    CU_ASSERT_EQUAL(parse_error("a: [1, 2\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(err.code, NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":2:1: YAML syntax error: "));
    /* a stray indented key: the ':' at line 2, column 3 */
    CU_ASSERT_EQUAL(parse_error("a: 1\n b: 2\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":2:3: YAML syntax error: "));
    /* a tab used for indentation */
    CU_ASSERT_EQUAL(parse_error("a:\n\t- 1\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":2:1: YAML syntax error: "));
    /* an unterminated quoted scalar */
    CU_ASSERT_EQUAL(parse_error("a: 1\nb: 'x\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":3:1: YAML syntax error: "));
    /* a mapping key that is not a scalar, at the key */
    CU_ASSERT_EQUAL(parse_error("? [a]\n: 1\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:3: "));
}

/* Duplicate keys are errors at the second occurrence, naming the first line. */
static void test_duplicate_keys(void) {
    nox_error err = {0};
    CU_ASSERT_EQUAL(parse_error("a: 1\nb: 2\na: 3\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":3:1: duplicate key 'a' (first at line 1)");
    /* nested block mapping */
    CU_ASSERT_EQUAL(parse_error("outer:\n  x: 1\n  y: 2\n  x: 3\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":4:3: duplicate key 'x' (first at line 2)");
    /* flow mapping on one line: column of the second key */
    CU_ASSERT_EQUAL(parse_error("{a: 1, a: 2}\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:8: duplicate key 'a'"));
    /* the same key in two different mappings is fine */
    nox_cfg_doc *doc = parse("p: {x: 1}\nq: {x: 2}\n");
    CU_ASSERT_PTR_NOT_NULL(doc);
    nox_cfg_free(doc);
}

/* A file holds exactly one document. */
static void test_second_document(void) {
    nox_error err = {0};
    CU_ASSERT_EQUAL(parse_error("a: 1\n---\nb: 2\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":3:1: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "one YAML document"));
    /* an explicit first-document marker alone is fine */
    nox_cfg_doc *doc = parse("---\na: 1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(nox_cfg_kind_of(nox_cfg_root(doc)), NOX_CFG_MAP);
    nox_cfg_free(doc);
}

/* ------------------------------------------------------------------------ */
/* Nodes and accessors                                                       */
/* ------------------------------------------------------------------------ */

static void test_empty_document(void) {
    static const char *const empty[] = {"", "# only a comment\n", "\n\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        nox_cfg_doc *doc = parse(empty[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        const nox_cfg_node *root = nox_cfg_root(doc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(root);
        CU_ASSERT_EQUAL(nox_cfg_kind_of(root), NOX_CFG_NULL);
        CU_ASSERT_EQUAL(nox_cfg_size(root), 0);
        CU_ASSERT_PTR_NULL(nox_cfg_str(root));
        CU_ASSERT_PTR_NULL(nox_cfg_get(root, "a"));
        nox_cfg_free(doc);
    }
}

/* ~, null (and its capitalisations) and an empty plain scalar are null; quoted ones are text. */
static void test_null_scalars(void) {
    nox_cfg_doc *doc = parse("a: ~\nb: null\nc:\nd: ''\ne: \"null\"\nf: Null\ng: NULL\nh: nul\ni: '~'\n"
                             "l:\n  - ~\n  -\n  - x\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const nox_cfg_node *r = nox_cfg_root(doc);
    static const char *const nulls[] = {"a", "b", "c", "f", "g"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        const nox_cfg_node *n = nox_cfg_get(r, nulls[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        CU_ASSERT_EQUAL(nox_cfg_kind_of(n), NOX_CFG_NULL);
        CU_ASSERT_PTR_NULL(nox_cfg_str(n));
    }
    CU_ASSERT_EQUAL(nox_cfg_kind_of(nox_cfg_get(r, "d")), NOX_CFG_SCALAR);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "d")), "");
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "e")), "null");
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "h")), "nul");
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "i")), "~");
    const nox_cfg_node *l = nox_cfg_get(r, "l");
    CU_ASSERT_EQUAL_FATAL(nox_cfg_size(l), 3);
    CU_ASSERT_EQUAL(nox_cfg_kind_of(nox_cfg_at(l, 0)), NOX_CFG_NULL);
    CU_ASSERT_EQUAL(nox_cfg_kind_of(nox_cfg_at(l, 1)), NOX_CFG_NULL);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_at(l, 2)), "x");
    nox_cfg_free(doc);
}

static void test_accessors_and_positions(void) {
    nox_cfg_doc *doc = parse("name: nox\n"
                             "\n"
                             "list:\n"
                             "  - 1\n"
                             "  - two\n"
                             "map: {x: 1, y: [a, b]}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(nox_cfg_file(doc), NAME);
    const nox_cfg_node *r = nox_cfg_root(doc);
    CU_ASSERT_EQUAL(nox_cfg_kind_of(r), NOX_CFG_MAP);
    CU_ASSERT_EQUAL(nox_cfg_line(r), 1);
    CU_ASSERT_EQUAL(nox_cfg_column(r), 1);
    CU_ASSERT_EQUAL_FATAL(nox_cfg_size(r), 3);

    /* keys in document order, with their positions */
    static const char *const keys[] = {"name", "list", "map"};
    static const unsigned key_lines[] = {1, 3, 6};
    for (size_t i = 0; i < 3; i++) {
        const nox_cfg_node *k = nox_cfg_key_at(r, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_EQUAL(nox_cfg_kind_of(k), NOX_CFG_SCALAR);
        CU_ASSERT_STRING_EQUAL(nox_cfg_str(k), keys[i]);
        CU_ASSERT_EQUAL(nox_cfg_line(k), key_lines[i]);
        CU_ASSERT_EQUAL(nox_cfg_column(k), 1);
        CU_ASSERT_PTR_EQUAL(nox_cfg_at(r, i), nox_cfg_get(r, keys[i])); /* at(i) is the value of key i */
    }

    const nox_cfg_node *name = nox_cfg_get(r, "name");
    CU_ASSERT_EQUAL(nox_cfg_kind_of(name), NOX_CFG_SCALAR);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(name), "nox");
    CU_ASSERT_EQUAL(nox_cfg_line(name), 1);
    CU_ASSERT_EQUAL(nox_cfg_column(name), 7);
    CU_ASSERT_EQUAL(nox_cfg_size(name), 0);

    const nox_cfg_node *list = nox_cfg_get(r, "list");
    CU_ASSERT_EQUAL(nox_cfg_kind_of(list), NOX_CFG_LIST);
    CU_ASSERT_EQUAL(nox_cfg_line(list), 4);
    CU_ASSERT_EQUAL(nox_cfg_column(list), 3);
    CU_ASSERT_EQUAL_FATAL(nox_cfg_size(list), 2);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_at(list, 0)), "1"); /* scalars stay text */
    CU_ASSERT_EQUAL(nox_cfg_line(nox_cfg_at(list, 1)), 5);
    CU_ASSERT_EQUAL(nox_cfg_column(nox_cfg_at(list, 1)), 5);
    CU_ASSERT_PTR_NULL(nox_cfg_at(list, 2));     /* out of range */
    CU_ASSERT_PTR_NULL(nox_cfg_key_at(list, 0)); /* lists have no keys */
    CU_ASSERT_PTR_NULL(nox_cfg_get(list, "0"));  /* nor lookups */
    CU_ASSERT_PTR_NULL(nox_cfg_str(list));

    const nox_cfg_node *map = nox_cfg_get(r, "map");
    CU_ASSERT_EQUAL(nox_cfg_kind_of(map), NOX_CFG_MAP);
    CU_ASSERT_EQUAL(nox_cfg_line(map), 6);
    CU_ASSERT_EQUAL(nox_cfg_column(map), 6);
    const nox_cfg_node *y = nox_cfg_get(map, "y");
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(nox_cfg_column(y), 16);
    CU_ASSERT_EQUAL(nox_cfg_column(nox_cfg_at(y, 1)), 20);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_at(y, 1)), "b");
    CU_ASSERT_PTR_NULL(nox_cfg_get(map, "z"));
    CU_ASSERT_PTR_NULL(nox_cfg_key_at(map, 2));
    CU_ASSERT_PTR_NULL(nox_cfg_get(name, "x")); /* a scalar is not a mapping */

    CU_ASSERT_STRING_EQUAL(nox_cfg_kind_name(NOX_CFG_MAP), "a mapping");
    CU_ASSERT_STRING_EQUAL(nox_cfg_kind_name(NOX_CFG_LIST), "a list");
    CU_ASSERT_STRING_EQUAL(nox_cfg_kind_name(NOX_CFG_SCALAR), "a scalar");
    CU_ASSERT_STRING_EQUAL(nox_cfg_kind_name(NOX_CFG_NULL), "null");
    nox_cfg_free(doc);
    nox_cfg_free(NULL); /* allowed */
}

/* The directory of the file name, for resolving relative paths. */
static void test_dir(void) {
    static const struct {
        const char *name, *dir;
    } cases[] = {{"dir/sub/x.yaml", "dir/sub"}, {"x.yaml", "."}, {"/x.yaml", "/"}, {"/etc/nox/a.yaml", "/etc/nox"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nox_cfg_doc *doc = NULL;
        nox_error err = {0};
        CU_ASSERT_EQUAL_FATAL(nox_cfg_parse(cases[i].name, "a: 1\n", 5, &doc, &err), NOX_OK);
        CU_ASSERT_STRING_EQUAL(nox_cfg_dir(doc), cases[i].dir);
        CU_ASSERT_STRING_EQUAL(nox_cfg_file(doc), cases[i].name);
        nox_cfg_free(doc);
    }
}

/* ------------------------------------------------------------------------ */
/* Checked getters                                                           */
/* ------------------------------------------------------------------------ */

static void test_error_format(void) {
    nox_cfg_doc *doc = parse("a:\n  b: 1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const nox_cfg_node *b = nox_cfg_get(nox_cfg_get(nox_cfg_root(doc), "a"), "b");
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_cfg_error(doc, b, "a.b", &err, NOX_ERR_CONFIG, "bad %s", "thing"), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:6: a.b: bad thing");
    CU_ASSERT_EQUAL(nox_cfg_error(doc, b, NULL, &err, NOX_ERR_INVALID, "plain"), NOX_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:6: plain");
    CU_ASSERT_EQUAL(err.code, NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_cfg_error(doc, b, "", &err, NOX_ERR_CONFIG, "empty where"), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:6: empty where");
    nox_cfg_free(doc);
}

static void test_expect(void) {
    nox_cfg_doc *doc = parse("- 1\n- 2\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    nox_error err = {0};
    const nox_cfg_node *r = nox_cfg_root(doc);
    CU_ASSERT_EQUAL(nox_cfg_expect(doc, r, NOX_CFG_LIST, "root", &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_cfg_expect(doc, r, NOX_CFG_MAP, "root", &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":1:1: root: expected a mapping, got a list");
    CU_ASSERT_EQUAL(nox_cfg_expect(doc, nox_cfg_at(r, 1), NOX_CFG_LIST, NULL, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:3: expected a list, got a scalar");
    nox_cfg_free(doc);
}

static void test_check_keys(void) {
    nox_cfg_doc *doc = parse("plugins:\n  - name: a\n    path: x\n    pth: y\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    nox_error err = {0};
    const char *const allowed[] = {"name", "path", "options", NULL};
    const nox_cfg_node *p = nox_cfg_at(nox_cfg_get(nox_cfg_root(doc), "plugins"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(nox_cfg_check_keys(doc, p, allowed, "plugins[0]", &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message,
                           NAME ":4:5: plugins[0]: unknown key 'pth' (allowed: name, path, options)");
    const char *const root_allowed[] = {"plugins", NULL};
    CU_ASSERT_EQUAL(nox_cfg_check_keys(doc, nox_cfg_root(doc), root_allowed, "", &err), NOX_OK);
    const char *const none[] = {NULL};
    CU_ASSERT_EQUAL(nox_cfg_check_keys(doc, nox_cfg_root(doc), none, NULL, &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:1: unknown key 'plugins'"));
    nox_cfg_free(doc);
}

static void test_get_str(void) {
    nox_cfg_doc *doc = parse("server:\n  host: example\n  list: [1]\n  nothing:\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    nox_error err = {0};
    const nox_cfg_node *s = nox_cfg_get(nox_cfg_root(doc), "server");
    const char *out = "unchanged";
    CU_ASSERT_EQUAL(nox_cfg_get_str(doc, s, "host", 1, "server", &out, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(out, "example");
    /* missing and required: the error is at the mapping */
    CU_ASSERT_EQUAL(nox_cfg_get_str(doc, s, "port", 1, "server", &out, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:3: server: missing required key 'port'");
    /* missing and optional: NULL */
    out = "unchanged";
    CU_ASSERT_EQUAL(nox_cfg_get_str(doc, s, "port", 0, "server", &out, &err), NOX_OK);
    CU_ASSERT_PTR_NULL(out);
    /* not a scalar: the error is at the value and names the full path */
    CU_ASSERT_EQUAL(nox_cfg_get_str(doc, s, "list", 0, "server", &out, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":3:9: server.list: expected a scalar, got a list");
    CU_ASSERT_EQUAL(nox_cfg_get_str(doc, s, "nothing", 1, "server", &out, &err), NOX_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "got null"));
    /* top level (no `where`): the path is just the key */
    CU_ASSERT_EQUAL(nox_cfg_get_str(doc, nox_cfg_root(doc), "server", 1, "", &out, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:3: server: expected a scalar, got a mapping");
    nox_cfg_free(doc);
}

static void test_get_uint(void) {
    nox_cfg_doc *doc = parse("port: 8080\n"
                             "big: 70000\n"
                             "word: abc\n"
                             "neg: -1\n"
                             "zero: 0\n"
                             "max: 18446744073709551615\n"
                             "over: 18446744073709551616\n"
                             "hex: 0x10\n"
                             "plus: '+5'\n"
                             "frac: 1.5\n"
                             "trail: '5 '\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const nox_cfg_node *r = nox_cfg_root(doc);
    nox_error err = {0};
    uint64_t v = 0;
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "port", 1, 1, 65535, "", &v, &err), NOX_OK);
    CU_ASSERT_EQUAL(v, 8080);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "max", 1, 0, UINT64_MAX, "", &v, &err), NOX_OK);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "zero", 1, 0, 10, "", &v, &err), NOX_OK);
    CU_ASSERT_EQUAL(v, 0);

    /* out of range: at the value, with the allowed range */
    v = 42;
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "big", 1, 1, 65535, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:6: big: expected an integer in [1, 65535]");
    CU_ASSERT_EQUAL(v, 42); /* untouched on error */
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "zero", 1, 1, 10, "", &v, &err), NOX_ERR_CONFIG); /* below min */
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":5:7: zero: "));
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "over", 1, 0, UINT64_MAX, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":7:7: over: "));
    /* not a number, negative, and other non-decimal spellings */
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "word", 1, 0, 100, "cfg", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":3:7: cfg.word: expected an integer in [0, 100]");
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "neg", 1, 0, UINT64_MAX, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":4:6: neg: "));
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "hex", 1, 0, 100, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "plus", 1, 0, 100, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "frac", 1, 0, 100, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "trail", 1, 0, 100, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(v, 42);
    /* absent: optional keeps the default, required is an error at the mapping */
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "absent", 0, 0, 100, "", &v, &err), NOX_OK);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "absent", 1, 0, 100, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":1:1: missing required key 'absent'");
    nox_cfg_free(doc);
}

/*
 * An "unsigned decimal integer" has no sign and no blanks, wherever they are:
 * "5 " and "-1" are rejected above, so " 5" and " -1" (quoted scalars keep
 * their spaces) must be too. " -1" must never become 2^64 - 1.
 */
static void test_get_uint_leading_blanks(void) {
    nox_cfg_doc *doc = parse("a: ' -1'\nb: ' 5'\nc: \"\\t7\"\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const nox_cfg_node *r = nox_cfg_root(doc);
    nox_error err = {0};
    uint64_t v = 42;
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "a", 1, 0, UINT64_MAX, "", &v, &err), NOX_ERR_CONFIG);
    if (v != 42) printf("\n  ' -1' was read as %llu\n", (unsigned long long)v);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "b", 1, 0, 100, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(nox_cfg_get_uint(doc, r, "c", 1, 0, 100, "", &v, &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(v, 42);
    nox_cfg_free(doc);
}

static void test_get_bool(void) {
    nox_cfg_doc *doc = parse("on: true\noff: false\nyes: yes\ncap: True\none: 1\nquoted: 'true'\nlist: []\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const nox_cfg_node *r = nox_cfg_root(doc);
    nox_error err = {0};
    int b = 7;
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "on", 1, "", &b, &err), NOX_OK);
    CU_ASSERT_EQUAL(b, 1);
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "off", 1, "", &b, &err), NOX_OK);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "quoted", 1, "", &b, &err), NOX_OK);
    CU_ASSERT_EQUAL(b, 1);
    b = 7;
    /* only true/false: no YAML 1.1 yes/no, no capitals, no 1/0 */
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "yes", 1, "", &b, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":3:6: yes: expected true or false");
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "cap", 1, "x", &b, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":4:6: x.cap: expected true or false");
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "one", 1, "", &b, &err), NOX_ERR_CONFIG);
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "list", 1, "", &b, &err), NOX_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "expected a scalar, got a list"));
    CU_ASSERT_EQUAL(b, 7);
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "absent", 0, "", &b, &err), NOX_OK);
    CU_ASSERT_EQUAL(b, 7);
    CU_ASSERT_EQUAL(nox_cfg_get_bool(doc, r, "absent", 1, "", &b, &err), NOX_ERR_CONFIG);
    nox_cfg_free(doc);
}

/* ------------------------------------------------------------------------ */
/* ${ENV} expansion                                                          */
/* ------------------------------------------------------------------------ */

static void test_env_expansion(void) {
    CU_ASSERT_EQUAL_FATAL(setenv("NOX_TEST_CFG_VAR", "hello", 1), 0);
    CU_ASSERT_EQUAL_FATAL(setenv("NOX_TEST_CFG_EMPTY", "", 1), 0);
    CU_ASSERT_EQUAL_FATAL(setenv("NOX_TEST_CFG_NESTED", "${NOX_TEST_CFG_UNSET}", 1), 0);
    unsetenv("NOX_TEST_CFG_UNSET");
    nox_cfg_doc *doc = parse("a: ${NOX_TEST_CFG_VAR}\n"
                             "b: pre-${NOX_TEST_CFG_VAR}-post\n"
                             "c: ${NOX_TEST_CFG_VAR}${NOX_TEST_CFG_VAR}\n"
                             "d: \"${NOX_TEST_CFG_VAR}\"\n"
                             "e: ${NOX_TEST_CFG_EMPTY}\n"
                             "f: $NOX_TEST_CFG_VAR and $ and {x}\n"
                             "g: ${NOX_TEST_CFG_NESTED}\n"
                             "${NOX_TEST_CFG_VAR}: key\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const nox_cfg_node *r = nox_cfg_root(doc);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "a")), "hello");
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "b")), "pre-hello-post");
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "c")), "hellohello");
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "d")), "hello"); /* quoted scalars too */
    /* an empty variable gives an empty scalar, not null */
    CU_ASSERT_EQUAL(nox_cfg_kind_of(nox_cfg_get(r, "e")), NOX_CFG_SCALAR);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "e")), "");
    /* only ${NAME} is special */
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "f")), "$NOX_TEST_CFG_VAR and $ and {x}");
    /* one pass: a variable's value is not expanded again */
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(r, "g")), "${NOX_TEST_CFG_UNSET}");
    /* keys are not expanded */
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_key_at(r, 7)), "${NOX_TEST_CFG_VAR}");
    nox_cfg_free(doc);

    /* a long value, expanded many times (the buffer must grow) */
    char big[2001];
    memset(big, 'v', 2000);
    big[2000] = '\0';
    CU_ASSERT_EQUAL_FATAL(setenv("NOX_TEST_CFG_BIG", big, 1), 0);
    doc = parse("a: ${NOX_TEST_CFG_BIG}-${NOX_TEST_CFG_BIG}-${NOX_TEST_CFG_BIG}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *s = nox_cfg_str(nox_cfg_get(nox_cfg_root(doc), "a"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(strlen(s), 3 * 2000 + 2);
    CU_ASSERT_EQUAL(s[2000], '-');
    CU_ASSERT_EQUAL(s[6001], 'v');
    nox_cfg_free(doc);
    unsetenv("NOX_TEST_CFG_BIG");
}

static void test_env_errors(void) {
    unsetenv("NOX_TEST_CFG_UNSET");
    CU_ASSERT_EQUAL_FATAL(setenv("NOX_TEST_CFG_VAR", "hello", 1), 0);
    nox_error err = {0};
    /* unset: at the scalar, naming the variable */
    CU_ASSERT_EQUAL(parse_error("a: 1\nb: x ${NOX_TEST_CFG_UNSET} y\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:4: environment variable NOX_TEST_CFG_UNSET is not set");
    CU_ASSERT_EQUAL(parse_error("list:\n  - ok\n  - ${NOX_TEST_CFG_UNSET}\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":3:5: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "NOX_TEST_CFG_UNSET"));
    /* unterminated ${ */
    CU_ASSERT_EQUAL(parse_error("a: ${NOX_TEST_CFG_VAR\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:4: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "unterminated"));
    CU_ASSERT_EQUAL(parse_error("a: ok ${\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:4: "));
    /* not a variable name */
    static const char *const bad[] = {"a: ${}\n", "a: ${1X}\n", "a: ${A B}\n", "a: ${A-B}\n", "a: ${$}\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(parse_error(bad[i], &err), NOX_ERR_CONFIG);
        CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:4: "));
    }
}

/* Found by tests/fuzz (fuzz_config, fuzz_kms_config): a "\0" escape used to cut a value short silently,
 * so `listen: "127.0.0.1:9000\0garbage"` loaded as 127.0.0.1:9000. Keys and values with a NUL are refused. */
static void test_nul_in_scalar(void) {
    nox_error err = {0};
    CU_ASSERT_EQUAL(parse_error("listen: \"127.0.0.1:9000\\0garbage\"\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":1:9: a value must not contain a NUL character (\\0)");
    CU_ASSERT_EQUAL(parse_error("a: 1\nb: [ok, \"\\0\"]\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":2:9: "));
    CU_ASSERT_EQUAL(parse_error("\"chains\\0\": 1\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":1:1: a key must not contain a NUL character (\\0)");
    /* the same text without the escape, and other escapes, still load */
    nox_cfg_doc *doc = parse("listen: \"127.0.0.1:9000\\x41\"\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(nox_cfg_root(doc), "listen")), "127.0.0.1:9000A");
    nox_cfg_free(doc);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

static void test_load(void) {
    nox_cfg_doc *doc = (nox_cfg_doc *)&doc;
    nox_error err = {0};
    const char *missing = "/nonexistent-nox-dir/missing.yaml";
    CU_ASSERT_EQUAL(nox_cfg_load(missing, &doc, &err), NOX_ERR_NOT_FOUND);
    CU_ASSERT_PTR_NULL(doc);
    CU_ASSERT_EQUAL(err.code, NOX_ERR_NOT_FOUND);
    CU_ASSERT_TRUE(starts_with(err.message, missing));

    /* a real file: messages carry its path, dir is its directory */
    char path[] = "/tmp/nox-test-config-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char *text = "a: 1\nb: [1,\n";
    CU_ASSERT_EQUAL_FATAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    CU_ASSERT_EQUAL(nox_cfg_load(path, &doc, &err), NOX_ERR_CONFIG);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s:3:1: YAML syntax error", path);
    CU_ASSERT_TRUE(starts_with(err.message, prefix));

    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("a: 1\nb: two\n", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(nox_cfg_load(path, &doc, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_cfg_file(doc), path);
    CU_ASSERT_STRING_EQUAL(nox_cfg_dir(doc), "/tmp");
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(nox_cfg_root(doc), "b")), "two");
    nox_cfg_free(doc);
    unlink(path);
}

/* ------------------------------------------------------------------------ */
/* Hostile documents: rejected with an error, never a crash or a hang        */
/* ------------------------------------------------------------------------ */

/* n nested flow lists "[[[...]]]". */
static char *nested_lists(size_t n) {
    char *s = malloc(2 * n + 2);
    if (!s) return NULL;
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\n';
    s[2 * n + 1] = '\0';
    return s;
}

static void test_deep_nesting(void) {
    nox_error err = {0};
    /* moderate nesting is fine */
    char *s = nested_lists(20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    nox_cfg_doc *doc = parse(s);
    CU_ASSERT_PTR_NOT_NULL(doc);
    nox_cfg_free(doc);
    free(s);

    /* 200 and 10000 levels: a configuration error on line 1 */
    static const size_t depths[] = {200, 10000};
    for (size_t i = 0; i < 2; i++) {
        s = nested_lists(depths[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(parse_error(s, &err), NOX_ERR_CONFIG);
        CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "nesting"));
        free(s);
    }

    /* 200 nested block mappings */
    size_t cap = 200 * 200 + 16, len = 0;
    s = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int d = 0; d < 200; d++) {
        memset(s + len, ' ', (size_t)d);
        len += (size_t)d;
        memcpy(s + len, "k:\n", 3);
        len += 3;
    }
    s[len] = '\0';
    CU_ASSERT_EQUAL(parse_error(s, &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "nesting"));
    free(s);
}

/* "Billion laughs": nine levels of nine aliases would expand to 9^9 nodes. */
static void test_alias_bomb(void) {
    const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                       "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                       "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    nox_error err = {0};
    CU_ASSERT_EQUAL(parse_error(bomb, &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "alias"));

    /* a self-referencing alias (a cycle) is rejected too */
    CU_ASSERT_EQUAL(parse_error("a: &x [1, *x]\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:"));
    /* an undefined alias is a syntax error */
    CU_ASSERT_EQUAL(parse_error("a: *nothing\n", &err), NOX_ERR_CONFIG);
    CU_ASSERT_TRUE(starts_with(err.message, NAME ":1:4: YAML syntax error"));

    /* small, legitimate aliases still work */
    nox_cfg_doc *doc = parse("base: &b {x: 1}\nuse: *b\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(nox_cfg_str(nox_cfg_get(nox_cfg_get(nox_cfg_root(doc), "use"), "x")), "1");
    nox_cfg_free(doc);
}

/* nox_cfg_get_text and nox_cfg_get_address: the shared readers of the service configs. */
static void test_text_and_address(void) {
    nox_cfg_doc *doc = parse("name: hello\nempty: \"\"\nlong: abcdefghij\n"
                             "nats:\n  url: x\n"
                             "good: \"0x00000000000000000000000000000000000000aA\"\nbad: 0x1234\nlist: [1]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const nox_cfg_node *root = nox_cfg_root(doc);
    nox_error err = {0};
    char out[8];
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, root, "name", 1, NULL, "", out, sizeof out, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(out, "hello");
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, root, "absent", 0, "dflt", "", out, sizeof out, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(out, "dflt");
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, root, "absent", 0, NULL, "", out, sizeof out, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, root, "absent", 1, NULL, "", out, sizeof out, &err), NOX_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "missing required key 'absent'"));
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, root, "empty", 1, NULL, "", out, sizeof out, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":2:8: empty: must not be empty");
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, root, "long", 1, NULL, "", out, sizeof out, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":3:7: long: longer than 7 characters");
    /* a nested key is named with its path */
    const nox_cfg_node *nats = nox_cfg_get(root, "nats");
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, nats, "url", 1, NULL, "nats", out, 2, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_cfg_get_text(doc, nats, "url", 1, NULL, "nats", out, 1, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":5:8: nats.url: longer than 0 characters");

    uint8_t addr[20];
    CU_ASSERT_EQUAL(nox_cfg_get_address(doc, root, "good", "", "an address", addr, &err), NOX_OK);
    CU_ASSERT_EQUAL(addr[19], 0xaa);
    CU_ASSERT_EQUAL(nox_cfg_get_address(doc, root, "bad", "", "the KMS address", addr, &err), NOX_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, NAME ":7:6: bad: expected the KMS address (0x + 40 hex digits): "));
    CU_ASSERT_EQUAL(nox_cfg_get_address(doc, root, "list", "", "an address", addr, &err), NOX_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.message, NAME ":8:7: list: expected an address (0x + 40 hex digits)");
    CU_ASSERT_EQUAL(nox_cfg_get_address(doc, root, "absent", "", "an address", addr, &err), NOX_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "missing required key 'absent'"));
    nox_cfg_free(doc);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"syntax errors", test_syntax_errors},
        {"duplicate keys", test_duplicate_keys},
        {"second document", test_second_document},
        {"empty document", test_empty_document},
        {"null scalars", test_null_scalars},
        {"accessors and positions", test_accessors_and_positions},
        {"dir", test_dir},
        {"cfg_error format", test_error_format},
        {"expect", test_expect},
        {"check_keys", test_check_keys},
        {"get_str", test_get_str},
        {"get_uint", test_get_uint},
        {"get_uint rejects leading blanks", test_get_uint_leading_blanks},
        {"get_bool", test_get_bool},
        {"env expansion", test_env_expansion},
        {"env errors", test_env_errors},
        {"NUL in a key or value", test_nul_in_scalar},
        {"load", test_load},
        {"deep nesting", test_deep_nesting},
        {"alias bomb", test_alias_bomb},
        {"text and address readers", test_text_and_address},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("config", tests);
}
