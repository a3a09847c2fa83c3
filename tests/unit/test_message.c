/*
 * The queue's TransactionMessage (nox/message.h, spec §6): strict parsing
 * with the JSON path in every error, round trips of every protocol
 * operation, case handling, unknown keys, the size and event limits, the
 * NATS message id, and cheap fuzzing (every prefix, single-byte mutations).
 *
 * The JSON texts below are written out from spec §6's field table, not from
 * operations.c, so the round trips also check that table against the spec.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/handle.h"
#include "nox/keccak.h"
#include "nox/message.h"
#include "nox/operations.h"
#include "test_util.h"

/* ---- building blocks of the JSON texts ---------------------------------- */

/* x repeated: R2(x) = x x, ... */
#define R2(x) x x
#define R4(x) R2(x) R2(x)
#define R8(x) R4(x) R4(x)
#define R16(x) R8(x) R8(x)
#define R20(x) R16(x) R4(x)
#define R32(x) R16(x) R16(x)
/* 26 prehandle bytes, each the two hex digits xx. */
#define PRE(xx) R16(xx) R8(xx) R2(xx)

#define CHAIN "00007a69" /* 31337, big-endian */
#define T_BOOL "00"
#define T_UINT256 "23"
/* A handle with every field given; HANDLE is a valid one of chain 31337, version 0. */
#define HANDLE_X(pre, chain, type, version) "0x" PRE(pre) chain type version
#define HANDLE(pre, type) HANDLE_X(pre, CHAIN, type, "00")

#define HA HANDLE("a1", T_UINT256)
#define HB HANDLE("b2", T_UINT256)
#define HC HANDLE("c3", T_UINT256)
#define HD HANDLE("d4", T_UINT256)
#define HE HANDLE("e5", T_UINT256)
#define HP HANDLE("f6", T_UINT256)
#define HS HANDLE("5a", T_BOOL) /* success / comparison results / select condition */
#define HS2 HANDLE("5b", T_BOOL)

#define CALLER "0x" R20("11")  /* the transaction's sender */
#define ECALLER "0x" R20("22") /* the contract calling NoxCompute */
#define TXH "0x" R32("ab")
#define WORD42 "0x" R16("00") R8("00") R4("00") "000000" "2a" /* uint256 42 as an on-chain word */

#define Q(x) "\"" x "\""
#define F(key, value) ",\"" key "\":\"" value "\""
#define EV(idx, type, fields) "{\"logIndex\":" idx ",\"caller\":\"" ECALLER "\",\"type\":\"" type "\"" fields "}"
#define MSG(events)                                                                                \
    "{\"chainId\":31337,\"caller\":\"" CALLER "\",\"blockNumber\":123,\"transactionHash\":\"" TXH  \
    "\",\"events\":[" events "]}"

#define P2E(value, tee, h) F("value", value) ",\"teeType\":" tee F("handle", h)
#define BIN(a, b, r) F("leftHandOperand", a) F("rightHandOperand", b) F("result", r)
#define SAFE(a, b, s, r) F("leftHandOperand", a) F("rightHandOperand", b) F("success", s) F("result", r)
#define SELECT(c, t, f, r) F("condition", c) F("ifTrue", t) F("ifFalse", f) F("result", r)
#define TRANSFER(from, to, amount, s, nfrom, nto)                                                  \
    F("balanceFrom", from) F("balanceTo", to) F("amount", amount) F("success", s)                  \
    F("newBalanceFrom", nfrom) F("newBalanceTo", nto)
#define MINT(to, amount, supply, s, nto, nsupply)                                                  \
    F("balanceTo", to) F("amount", amount) F("totalSupply", supply) F("success", s)                \
    F("newBalanceTo", nto) F("newTotalSupply", nsupply)
#define BURN(from, amount, supply, s, nfrom, nsupply)                                              \
    F("balanceFrom", from) F("amount", amount) F("totalSupply", supply) F("success", s)            \
    F("newBalanceFrom", nfrom) F("newTotalSupply", nsupply)

/*
 * A transaction of four events, each later one consuming the previous one's
 * result: HP = encrypt(42); HC = HP + HA; (HS, HD) = safe_add(HC, HP);
 * HE = select(HS, HC, HD). Canonical: exactly what serialisation writes.
 */
#define MULTI                                                                                      \
    MSG(EV("3", "plaintext_to_encrypted", P2E(WORD42, "35", HP)) ","                               \
        EV("5", "add", BIN(HP, HA, HC)) ","                                                        \
        EV("7", "safe_add", SAFE(HC, HP, HS, HD)) ","                                              \
        EV("8", "select", SELECT(HS, HC, HD, HE)))

/* ---- helpers -------------------------------------------------------------- */

static nox_status parse_text(const char *text, nox_message *m, nox_error *err) {
    return nox_message_parse(text, strlen(text), m, err);
}

/* The handle of a text constant (which the test trusts to be well-formed). */
static nox_handle handle_of(const char *text) {
    nox_handle h;
    memset(&h, 0xee, sizeof h);
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_handle_parse(&h, text, strlen(text), &err), NOX_OK);
    return h;
}

static int handle_is(const nox_handle *h, const char *text) {
    nox_handle want = handle_of(text);
    return memcmp(h->bytes, want.bytes, NOX_HANDLE_SIZE) == 0;
}

/* Serialises m, or returns NULL after a failed assertion. */
static char *to_json(const nox_message *m) {
    char *json = NULL;
    nox_error err = {0};
    nox_status st = nox_message_to_json(m, &json, &err);
    if (st) fprintf(stderr, "\n  serialisation failed: %s\n", err.message);
    CU_ASSERT_EQUAL(st, NOX_OK);
    return json;
}

/*
 * The round-trip property: text parses; it serialises to `canonical`; that
 * parses back into an equal message. Returns 1 when all held.
 */
static int round_trips(const char *text, const char *canonical) {
    nox_message m, again;
    nox_error err = {0};
    nox_status st = parse_text(text, &m, &err);
    if (st) fprintf(stderr, "\n  unexpected parse error: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(st, NOX_OK);
    char *json = to_json(&m);
    int ok = json != NULL;
    if (json) {
        if (strcmp(json, canonical)) fprintf(stderr, "\n  serialised: %s\n  canonical:  %s\n", json, canonical);
        ok &= !strcmp(json, canonical);
        ok &= parse_text(json, &again, &err) == NOX_OK && nox_message_equal(&m, &again);
        nox_message_free(&again);
    }
    free(json);
    nox_message_free(&m);
    return ok;
}

/* ---- round trips ---------------------------------------------------------- */

/* One message per protocol operation, with its handles in field order (spec §6). */
typedef struct {
    const char *name;
    unsigned id; /* spec §5 */
    const char *json;
    const char *inputs[3], *outputs[3];
} op_row;

static const op_row op_rows[] = {
    {"plaintext_to_encrypted", 0, MSG(EV("0", "plaintext_to_encrypted", P2E(WORD42, "35", HA))), {0}, {HA}},
    {"add", 1, MSG(EV("0", "add", BIN(HA, HB, HC))), {HA, HB}, {HC}},
    {"sub", 2, MSG(EV("0", "sub", BIN(HB, HA, HC))), {HB, HA}, {HC}},
    {"mul", 3, MSG(EV("0", "mul", BIN(HA, HC, HB))), {HA, HC}, {HB}},
    {"div", 4, MSG(EV("0", "div", BIN(HC, HA, HB))), {HC, HA}, {HB}},
    {"safe_add", 5, MSG(EV("0", "safe_add", SAFE(HA, HB, HS, HC))), {HA, HB}, {HS, HC}},
    {"safe_sub", 6, MSG(EV("0", "safe_sub", SAFE(HB, HA, HS, HC))), {HB, HA}, {HS, HC}},
    {"safe_mul", 7, MSG(EV("0", "safe_mul", SAFE(HA, HC, HS, HB))), {HA, HC}, {HS, HB}},
    {"safe_div", 8, MSG(EV("0", "safe_div", SAFE(HC, HA, HS, HB))), {HC, HA}, {HS, HB}},
    {"select", 9, MSG(EV("0", "select", SELECT(HS, HA, HB, HC))), {HS, HA, HB}, {HC}},
    {"eq", 10, MSG(EV("0", "eq", BIN(HA, HB, HS))), {HA, HB}, {HS}},
    {"ne", 11, MSG(EV("0", "ne", BIN(HB, HA, HS))), {HB, HA}, {HS}},
    {"lt", 12, MSG(EV("0", "lt", BIN(HA, HC, HS))), {HA, HC}, {HS}},
    {"le", 13, MSG(EV("0", "le", BIN(HC, HA, HS))), {HC, HA}, {HS}},
    {"gt", 14, MSG(EV("0", "gt", BIN(HB, HC, HS))), {HB, HC}, {HS}},
    {"ge", 15, MSG(EV("0", "ge", BIN(HC, HB, HS))), {HC, HB}, {HS}},
    {"transfer", 16, MSG(EV("0", "transfer", TRANSFER(HA, HB, HC, HS, HD, HE))), {HA, HB, HC}, {HS, HD, HE}},
    {"mint", 17, MSG(EV("0", "mint", MINT(HA, HB, HC, HS, HD, HE))), {HA, HB, HC}, {HS, HD, HE}},
    {"burn", 18, MSG(EV("0", "burn", BURN(HA, HB, HC, HS, HD, HE))), {HA, HB, HC}, {HS, HD, HE}},
};
enum { N_OP_ROWS = sizeof op_rows / sizeof op_rows[0] };

/* The decoded event of a one-event message carries the operation and the handles in field order. */
static void check_op_row(const op_row *r) {
    nox_message m;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(r->json, &m, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(m.n_events, 1);
    const nox_message_event *e = &m.events[0];
    CU_ASSERT_PTR_EQUAL(e->op, nox_operation_by_name(r->name));
    CU_ASSERT_STRING_EQUAL(e->op->name, r->name);
    CU_ASSERT_EQUAL(e->op->id, r->id);
    for (unsigned k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL(k < e->op->n_inputs, r->inputs[k] != NULL);
        CU_ASSERT_EQUAL(k < e->op->n_outputs, r->outputs[k] != NULL);
        if (r->inputs[k]) CU_ASSERT(handle_is(&e->inputs[k], r->inputs[k]));
        if (r->outputs[k]) CU_ASSERT(handle_is(&e->outputs[k], r->outputs[k]));
    }
    if (r->id == 0) {
        CU_ASSERT_EQUAL(e->tee_type, 35);
        CU_ASSERT_EQUAL(e->value[31], 42);
        CU_ASSERT_EQUAL(e->value[0], 0);
    }
    nox_message_free(&m);
    if (!round_trips(r->json, r->json)) fprintf(stderr, "\n  round trip of %s failed\n", r->name);
}

static void test_round_trip_every_operation(void) {
    /* The table covers every protocol operation exactly once. */
    CU_ASSERT_EQUAL_FATAL(nox_operation_count(), N_OP_ROWS);
    for (unsigned id = 0; id < N_OP_ROWS; id++) {
        CU_ASSERT_EQUAL(op_rows[id].id, id);
        CU_ASSERT_PTR_EQUAL(nox_operation_by_id(id), nox_operation_by_name(op_rows[id].name));
    }
    for (size_t i = 0; i < N_OP_ROWS; i++) check_op_row(&op_rows[i]);
}

/* A later event consumes an earlier one's result; the header fields decode to concrete values. */
static void test_multi_event(void) {
    nox_message m;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(MULTI, &m, &err), NOX_OK);
    CU_ASSERT_EQUAL(m.chain_id, 31337);
    CU_ASSERT_EQUAL(m.block_number, 123);
    CU_ASSERT(m.caller[0] == 0x11 && m.caller[19] == 0x11);
    CU_ASSERT(m.tx_hash[0] == 0xab && m.tx_hash[31] == 0xab);
    CU_ASSERT_EQUAL_FATAL(m.n_events, 4);
    const nox_message_event *e = m.events;
    CU_ASSERT(e[0].log_index == 3 && e[1].log_index == 5 && e[2].log_index == 7 && e[3].log_index == 8);
    CU_ASSERT_STRING_EQUAL(e[0].op->name, "plaintext_to_encrypted");
    CU_ASSERT_STRING_EQUAL(e[3].op->name, "select");
    CU_ASSERT(e[1].caller[0] == 0x22);
    /* the chain of results */
    CU_ASSERT(handle_is(&e[0].outputs[0], HP));
    CU_ASSERT_EQUAL(memcmp(&e[1].inputs[0], &e[0].outputs[0], NOX_HANDLE_SIZE), 0);
    CU_ASSERT_EQUAL(memcmp(&e[2].inputs[0], &e[1].outputs[0], NOX_HANDLE_SIZE), 0);
    CU_ASSERT_EQUAL(memcmp(&e[2].inputs[1], &e[0].outputs[0], NOX_HANDLE_SIZE), 0);
    CU_ASSERT_EQUAL(memcmp(&e[3].inputs[0], &e[2].outputs[0], NOX_HANDLE_SIZE), 0); /* success */
    CU_ASSERT_EQUAL(memcmp(&e[3].inputs[2], &e[2].outputs[1], NOX_HANDLE_SIZE), 0); /* result */
    CU_ASSERT(handle_is(&e[3].outputs[0], HE));
    CU_ASSERT_EQUAL(nox_message_validate(&m, &err), NOX_OK);
    nox_message_free(&m);
    CU_ASSERT(round_trips(MULTI, MULTI));
}

/* Hex digits of any case on input, lowercase on output (spec notation). */
static void test_uppercase_hex(void) {
    char *upper = strdup(MULTI);
    CU_ASSERT_PTR_NOT_NULL_FATAL(upper);
    /* upper-case the digits of every "0x..." string, leaving the prefix and the keys alone */
    for (char *p = strstr(upper, "\"0x"); p; p = strstr(p, "\"0x"))
        for (p += 3; *p != '"'; p++)
            if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
    CU_ASSERT_PTR_NOT_NULL(strstr(upper, "ABABAB"));
    CU_ASSERT_PTR_NULL(strstr(upper, "abab"));
    CU_ASSERT(round_trips(upper, MULTI));
    free(upper);
}

/* Unknown keys are ignored (spec §6), at the top and in events, including another type's fields. */
static void test_unknown_keys_ignored(void) {
    const char *text =
        "{ \"version\": 2, \"events\": [ {\"result\": \"" HC "\", \"extra\": {\"a\": [1, 2.5, null, \"x\"]},\n"
        "  \"type\": \"add\", \"value\": \"not hex at all\", \"teeType\": \"?\", \"logIndex\": 0,\n"
        "  \"rightHandOperand\": \"" HB "\", \"leftHandOperand\": \"" HA "\", \"caller\": \"" ECALLER "\"} ],\n"
        "  \"transactionHash\": \"" TXH "\", \"blockNumber\": 123, \"caller\": \"" CALLER "\",\n"
        "  \"chainId\": 31337, \"chainid\": \"ignored too: keys are case-sensitive\" }\n";
    CU_ASSERT(round_trips(text, MSG(EV("0", "add", BIN(HA, HB, HC)))));
}

/* The largest integers the codec carries survive a round trip, as exact decimal. */
static void test_extreme_values(void) {
    uint8_t pre[NOX_PREHANDLE_SIZE];
    memset(pre, 0x42, sizeof pre);
    nox_message_event ev = {.log_index = NOX_MESSAGE_MAX_INTEGER, .op = nox_operation_by_name("add")};
    nox_handle_make(&ev.inputs[0], pre, UINT32_MAX, 35);
    nox_handle_make(&ev.inputs[1], pre, UINT32_MAX, 35);
    nox_handle_make(&ev.outputs[0], pre, UINT32_MAX, 35);
    nox_message m = {.chain_id = UINT32_MAX, .block_number = NOX_MESSAGE_MAX_INTEGER, .n_events = 1, .events = &ev};
    char *json = to_json(&m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    ASSERT_CONTAINS(json, "{\"chainId\":4294967295,");
    ASSERT_CONTAINS(json, "\"blockNumber\":9223372036854775807,");
    ASSERT_CONTAINS(json, "{\"logIndex\":9223372036854775807,");
    nox_message back;
    nox_error err = {0};
    CU_ASSERT_EQUAL(parse_text(json, &back, &err), NOX_OK);
    CU_ASSERT(nox_message_equal(&m, &back));
    nox_message_free(&back);
    free(json);
}

/* The input is json[0..len): a buffer without a NUL is fine (ASan catches a read past it). */
static void test_not_nul_terminated(void) {
    size_t len = strlen(MULTI);
    char *buf = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    memcpy(buf, MULTI, len);
    nox_message m;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_message_parse(buf, len, &m, &err), NOX_OK);
    CU_ASSERT_EQUAL(m.n_events, 4);
    nox_message_free(&m);
    /* and only len bytes are read: the same buffer cut short is a truncated message */
    CU_ASSERT_EQUAL(nox_message_parse(buf, len - 1, &m, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "invalid JSON");
    free(buf);
}

/* ---- malformed messages ------------------------------------------------- */

#define ROOT (-1)
#define RAW (-2)

/*
 * A malformed message: MULTI with one member of the root (event ROOT) or of
 * events[event] replaced by the JSON text `value` (deleted when value is
 * NULL); or, for event RAW, the whole input `value`.
 */
typedef struct {
    int event;
    const char *key;
    const char *value;
    nox_status status;
    const char *needle; /* must occur in the message: the field path and the reason */
} bad_case;

#define HANDLE63 Q("0x" PRE("a1") CHAIN T_UINT256 "0")

static const bad_case bad_cases[] = {
    /* not JSON, not an object, duplicate keys */
    {RAW, NULL, "", NOX_ERR_INVALID, "invalid JSON at line 1, column 0:"},
    {RAW, NULL, "not json", NOX_ERR_INVALID, "invalid JSON at line 1, column 3: '[' or '{' expected"},
    {RAW, NULL, "{\"chainId\":}", NOX_ERR_INVALID, "invalid JSON at line 1, column 12: unexpected token"},
    {RAW, NULL, "{\"chainId\":1}\n x", NOX_ERR_INVALID, "invalid JSON at line 2, column 2: end of file expected"},
    {RAW, NULL, "[]", NOX_ERR_INVALID, "message: expected a JSON object, got an array"},
    {RAW, NULL, "{\"chainId\":31337,\"chainId\":31337}", NOX_ERR_INVALID, "duplicate object key"},
    {RAW, NULL, "{\"chainId\":18446744073709551616}", NOX_ERR_INVALID, "too big integer"},
    {RAW, NULL, "{\"chainId\":31337,\"caller\":\"0x\\u0000\"}", NOX_ERR_INVALID, "invalid JSON at line 1"},
    /* chainId */
    {ROOT, "chainId", NULL, NOX_ERR_INVALID, "chainId: missing"},
    {ROOT, "chainId", "\"31337\"", NOX_ERR_INVALID, "chainId: expected an integer, got a string"},
    {ROOT, "chainId", "31337.0", NOX_ERR_INVALID, "chainId: expected an integer, got a real number"},
    {ROOT, "chainId", "0", NOX_ERR_INVALID, "chainId: 0 is out of range 1..4294967295"},
    {ROOT, "chainId", "4294967296", NOX_ERR_INVALID, "chainId: 4294967296 is out of range 1..4294967295"},
    {ROOT, "chainId", "-1", NOX_ERR_INVALID, "chainId: -1 is out of range"},
    /* handles of chain 31337 in a message of chain 1: the first handle checked is events[0].handle */
    {ROOT, "chainId", "1", NOX_ERR_INVALID,
     "events[0].handle: bad handle: chain id 31337 (bytes 26..29) is not configured (the message's chainId is 1)"},
    /* caller, blockNumber, transactionHash */
    {ROOT, "caller", NULL, NOX_ERR_INVALID, "caller: missing"},
    {ROOT, "caller", "null", NOX_ERR_INVALID, "caller: expected a string of 0x + 40 hex digits, got null"},
    {ROOT, "caller", Q("0x" R16("11") R2("11") "111"), NOX_ERR_INVALID, "caller: expected 0x + 40 hex digits, got 39"},
    {ROOT, "caller", Q("0x" R20("11") "1"), NOX_ERR_INVALID, "caller: expected 0x + 40 hex digits, got 41"},
    {ROOT, "caller", Q(R20("11")), NOX_ERR_INVALID, "caller: expected 0x + 40 hex digits, got no 0x prefix"},
    {ROOT, "caller", Q("0x11g1" R16("11") R2("11")), NOX_ERR_INVALID, "caller: invalid hex digit at position 5"},
    {ROOT, "blockNumber", "-5", NOX_ERR_INVALID, "blockNumber: -5 is out of range 0..9223372036854775807"},
    {ROOT, "blockNumber", "true", NOX_ERR_INVALID, "blockNumber: expected an integer, got a boolean"},
    {ROOT, "blockNumber", "1e3", NOX_ERR_INVALID, "blockNumber: expected an integer, got a real number"},
    {ROOT, "transactionHash", Q("0x" R16("ab") R8("ab") R4("ab") "ababab"), NOX_ERR_INVALID,
     "transactionHash: expected 0x + 64 hex digits, got 62"},
    {ROOT, "transactionHash", "42", NOX_ERR_INVALID,
     "transactionHash: expected a string of 0x + 64 hex digits, got an integer"},
    /* events */
    {ROOT, "events", NULL, NOX_ERR_INVALID, "events: missing"},
    {ROOT, "events", "{}", NOX_ERR_INVALID, "events: expected an array, got an object"},
    {ROOT, "events", "[]", NOX_ERR_INVALID, "events: empty"},
    {ROOT, "events", "[\"add\"]", NOX_ERR_INVALID, "events[0]: expected an object, got a string"},
    /* logIndex: present, an integer, in range, strictly increasing */
    {1, "logIndex", NULL, NOX_ERR_INVALID, "events[1].logIndex: missing"},
    {1, "logIndex", "5.5", NOX_ERR_INVALID, "events[1].logIndex: expected an integer, got a real number"},
    {1, "logIndex", "-1", NOX_ERR_INVALID, "events[1].logIndex: -1 is out of range"},
    {1, "logIndex", "3", NOX_ERR_INVALID, "events[1].logIndex: 3 is not greater than events[0].logIndex 3"},
    {2, "logIndex", "4", NOX_ERR_INVALID, "events[2].logIndex: 4 is not greater than events[1].logIndex 5"},
    /* event caller and type */
    {1, "caller", Q("0x" R16("22") R2("22") "22"), NOX_ERR_INVALID,
     "events[1].caller: expected 0x + 40 hex digits, got 38"},
    {1, "type", NULL, NOX_ERR_INVALID, "events[1].type: missing"},
    {1, "type", "1", NOX_ERR_INVALID, "events[1].type: expected a string, got an integer"},
    {1, "type", "\"frobnicate\"", NOX_ERR_NOT_FOUND, "events[1].type: unknown operation 'frobnicate'"},
    {1, "type", "\"ADD\"", NOX_ERR_NOT_FOUND, "events[1].type: unknown operation 'ADD'"},
    /* the fields of the type: an add relabelled safe_add lacks `success` */
    {1, "result", NULL, NOX_ERR_INVALID, "events[1].result: missing"},
    {1, "type", "\"safe_add\"", NOX_ERR_INVALID, "events[1].success: missing"},
    /* handles: syntax */
    {2, "rightHandOperand", HANDLE63, NOX_ERR_INVALID,
     "events[2].rightHandOperand: expected 0x + 64 hex digits, got 63"},
    {1, "leftHandOperand", Q("0x" PRE("zz") CHAIN T_UINT256 "00"), NOX_ERR_INVALID,
     "events[1].leftHandOperand: invalid hex digit at position 3"},
    {1, "leftHandOperand", "[]", NOX_ERR_INVALID,
     "events[1].leftHandOperand: expected a string of 0x + 64 hex digits, got an array"},
    /* handles: fields (spec §2) */
    {1, "leftHandOperand", Q("0x" R32("00")), NOX_ERR_INVALID, "events[1].leftHandOperand: bad handle: bytes32(0)"},
    {1, "leftHandOperand", Q(HANDLE_X("a1", CHAIN, T_UINT256, "01")), NOX_ERR_INVALID,
     "events[1].leftHandOperand: bad handle: version 1"},
    {1, "result", Q(HANDLE_X("c3", CHAIN, "ff", "00")), NOX_ERR_TYPE,
     "events[1].result: bad handle: type code 255 (byte 30) is reserved"},
    {1, "result", Q(HANDLE_X("c3", CHAIN, "6a", "00")), NOX_ERR_TYPE, "events[1].result: bad handle: type code 106"},
    {1, "rightHandOperand", Q(HANDLE_X("b2", "00000001", T_UINT256, "00")), NOX_ERR_INVALID,
     "events[1].rightHandOperand: bad handle: chain id 1 (bytes 26..29) is not configured "
     "(the message's chainId is 31337)"},
    {3, "ifFalse", Q("0x" R32("00")), NOX_ERR_INVALID, "events[3].ifFalse: bad handle: bytes32(0)"},
    /* plaintext_to_encrypted: value, teeType, handle */
    {0, "value", NULL, NOX_ERR_INVALID, "events[0].value: missing"},
    {0, "value", Q("0x" R16("00") R8("00") R4("00") "00002a"), NOX_ERR_INVALID,
     "events[0].value: expected 0x + 64 hex digits, got 62"},
    {0, "teeType", NULL, NOX_ERR_INVALID, "events[0].teeType: missing"},
    {0, "teeType", "\"35\"", NOX_ERR_INVALID, "events[0].teeType: expected an integer, got a string"},
    {0, "teeType", "256", NOX_ERR_INVALID, "events[0].teeType: 256 is out of range 0..255"},
    {0, "teeType", "2", NOX_ERR_TYPE, "events[0].teeType: 2 (bytes) is not a fixed-size type of at most 32 bytes"},
    {0, "teeType", "3", NOX_ERR_TYPE, "events[0].teeType: 3 (string) is not a fixed-size type"},
    {0, "teeType", "100", NOX_ERR_TYPE, "events[0].teeType: 100 (uint512) is not a fixed-size type of at most 32"},
    {0, "teeType", "106", NOX_ERR_TYPE, "events[0].teeType: 106 (a reserved code) is not a fixed-size type"},
    {0, "teeType", "4", NOX_ERR_TYPE,
     "events[0].teeType: 4 (uint8) differs from the type byte 35 (uint256) of events[0].handle"},
    {0, "handle", NULL, NOX_ERR_INVALID, "events[0].handle: missing"},
    {0, "handle", Q("0x" R32("00")), NOX_ERR_INVALID, "events[0].handle: bad handle: bytes32(0)"},
};
enum { N_BAD_CASES = sizeof bad_cases / sizeof bad_cases[0] };

/* The input of a case, as a malloc'd string. */
static char *bad_case_text(const bad_case *c) {
    if (c->event == RAW) return strdup(c->value);
    json_error_t jerr;
    json_t *root = json_loads(MULTI, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *target = c->event == ROOT ? root : json_array_get(json_object_get(root, "events"), (size_t)c->event);
    CU_ASSERT_PTR_NOT_NULL_FATAL(target);
    if (c->value) {
        json_t *v = json_loads(c->value, JSON_DECODE_ANY, &jerr);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v); /* a broken table entry */
        CU_ASSERT_EQUAL(json_object_set_new(target, c->key, v), 0);
    } else {
        CU_ASSERT_EQUAL(json_object_del(target, c->key), 0); /* the key existed */
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

static void test_malformed_messages(void) {
    CU_ASSERT(N_BAD_CASES >= 30);
    for (size_t i = 0; i < N_BAD_CASES; i++) {
        const bad_case *c = &bad_cases[i];
        char *text = bad_case_text(c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        nox_message m;
        memset(&m, 0x5a, sizeof m); /* parse must overwrite this, success or not */
        nox_error err = {0};
        nox_status st = parse_text(text, &m, &err);
        if (st != c->status)
            fprintf(stderr, "\n  case %zu: status %s, expected %s (%s)\n", i, nox_status_name(st),
                    nox_status_name(c->status), err.message);
        CU_ASSERT_EQUAL(st, c->status);
        CU_ASSERT_EQUAL(err.code, c->status);
        ASSERT_CONTAINS(err.message, c->needle);
        /* a failed parse leaves nothing to free */
        CU_ASSERT_EQUAL(m.n_events, 0);
        CU_ASSERT_PTR_NULL(m.events);
        /* the status does not depend on whether an error record is passed */
        CU_ASSERT_EQUAL(parse_text(text, &m, NULL), c->status);
        free(text);
    }
}

/* An unknown `type` is quoted short and sanitised: the reason goes into a NATS header. */
static void test_error_messages_are_safe(void) {
    nox_message m;
    nox_error err = {0};
    const char *ctl = MSG(EV("0", "a\\nb\\u001b[31m", BIN(HA, HB, HC)));
    CU_ASSERT_EQUAL(parse_text(ctl, &m, &err), NOX_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.message, "events[0].type: unknown operation 'a?b?[31m'");
    CU_ASSERT_PTR_NULL(strchr(err.message, '\n'));
    CU_ASSERT_PTR_NULL(strchr(err.message, '\x1b'));

    /* a 1000-character name is cut to 32 characters + "..." */
    char name[1001];
    memset(name, 'x', 1000);
    name[1000] = '\0';
    size_t cap = strlen(MULTI) + 2000;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    snprintf(text, cap, MSG(EV("0", "%s", BIN(HA, HB, HC))), name);
    CU_ASSERT_EQUAL(parse_text(text, &m, &err), NOX_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.message, "unknown operation '" R32("x") "...'");
    CU_ASSERT(strlen(err.message) < 100);

    /* jansson's own message quotes the input too: a raw newline in a string must not get through */
    const char *nl = "{\"chainId\":31337,\"caller\":\"0x\n\"}";
    CU_ASSERT_EQUAL(parse_text(nl, &m, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "invalid JSON at line 1, column");
    CU_ASSERT_PTR_NULL(strchr(err.message, '\n'));

    /* a bad handle is described by position and length, never by its digits */
    const char *bad = MSG(EV("0", "add", BIN(HA, HB, "0x" PRE("c3") CHAIN "ff" "00")));
    CU_ASSERT_EQUAL(parse_text(bad, &m, &err), NOX_ERR_TYPE);
    CU_ASSERT_PTR_NULL(strstr(err.message, "c3c3"));
    free(text);
}

/* ---- limits --------------------------------------------------------------- */

/* One add event, a printf format taking its logIndex. */
#define NTH_EVENT EV("%zu", "add", BIN(HA, HB, HC))

/* A message of n add events with logIndex 0..n-1 (malloc'd). */
static char *message_of_n_events(size_t n) {
    size_t cap = 512 + n * (sizeof NTH_EVENT + 24), len = 0;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    len += (size_t)snprintf(text, cap, "{\"chainId\":31337,\"caller\":\"" CALLER "\",\"blockNumber\":1,"
                                       "\"transactionHash\":\"" TXH "\",\"events\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) text[len++] = ',';
        len += (size_t)snprintf(text + len, cap - len, NTH_EVENT, i);
    }
    snprintf(text + len, cap - len, "]}");
    return text;
}

static void test_event_limit(void) {
    nox_message m;
    nox_error err = {0};
    char *text = message_of_n_events(NOX_MESSAGE_MAX_EVENTS);
    CU_ASSERT_EQUAL(parse_text(text, &m, &err), NOX_OK);
    CU_ASSERT_EQUAL(m.n_events, 1024);
    CU_ASSERT_EQUAL(m.events[1023].log_index, 1023);
    nox_message_free(&m);
    free(text);

    text = message_of_n_events(NOX_MESSAGE_MAX_EVENTS + 1);
    CU_ASSERT_EQUAL(parse_text(text, &m, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "events: 1025 events, more than the maximum of 1024");
    free(text);
}

/* MULTI padded with trailing spaces (valid JSON whitespace) to `size` bytes. */
static char *padded(size_t size) {
    char *text = malloc(size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memset(text, ' ', size);
    memcpy(text, MULTI, strlen(MULTI));
    return text;
}

static void test_size_limit(void) {
    nox_message m;
    nox_error err = {0};
    char *text = padded(NOX_MESSAGE_MAX_SIZE);
    CU_ASSERT_EQUAL(nox_message_parse(text, NOX_MESSAGE_MAX_SIZE, &m, &err), NOX_OK); /* exactly 1 MiB */
    CU_ASSERT_EQUAL(m.n_events, 4);
    nox_message_free(&m);
    free(text);

    text = padded(NOX_MESSAGE_MAX_SIZE + 1);
    CU_ASSERT_EQUAL(nox_message_parse(text, NOX_MESSAGE_MAX_SIZE + 1, &m, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "message: 1048577 bytes, more than the maximum of 1048576");
    free(text);

    text = padded(2u << 20); /* 2 MiB */
    CU_ASSERT_EQUAL(nox_message_parse(text, 2u << 20, &m, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "message: 2097152 bytes, more than the maximum of 1048576");
    CU_ASSERT_PTR_NULL(m.events);
    free(text);

    CU_ASSERT_EQUAL(nox_message_parse(NULL, 0, &m, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "message: no input");
}

/* MULTI with an unknown key holding `depth` nested arrays (malloc'd). */
static char *nested(size_t depth) {
    size_t len = strlen(MULTI), cap = len + 2 * depth + 16;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memcpy(text, MULTI, len - 1); /* without the final '}' */
    size_t n = len - 1;
    memcpy(text + n, ",\"x\":", 5);
    n += 5;
    memset(text + n, '[', depth);
    memset(text + n + depth, ']', depth);
    n += 2 * depth;
    memcpy(text + n, "}", 2);
    return text;
}

/* Deep nesting in an ignored key: fine within jansson's depth limit, rejected (not a stack overflow) beyond. */
static void test_deep_nesting(void) {
    nox_message m;
    nox_error err = {0};
    char *text = nested(1000);
    CU_ASSERT_EQUAL(parse_text(text, &m, &err), NOX_OK);
    CU_ASSERT_EQUAL(m.n_events, 4);
    nox_message_free(&m);
    free(text);
    text = nested(200000);
    CU_ASSERT_EQUAL(parse_text(text, &m, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "invalid JSON at line 1, column ");
    ASSERT_CONTAINS(err.message, "depth");
    free(text);
}

/* ---- fuzz ------------------------------------------------------------------ */

/* Every proper prefix of a valid message is rejected cleanly (ASan/LSan watch for crashes and leaks). */
static void test_every_prefix_rejected(void) {
    size_t len = strlen(MULTI), rejected = 0;
    for (size_t n = 0; n < len; n++) {
        nox_message m;
        nox_error err = {0};
        nox_status st = nox_message_parse(MULTI, n, &m, &err);
        /* a prefix lacks at least the closing brace, so it is never a whole JSON value */
        if (st == NOX_ERR_INVALID && !strncmp(err.message, "invalid JSON at line 1, column ", 31) &&
            m.events == NULL && m.n_events == 0)
            rejected++;
        else
            fprintf(stderr, "\n  prefix of %zu bytes: %s %s\n", n, nox_status_name(st), err.message);
    }
    CU_ASSERT_EQUAL(rejected, len);
}

/*
 * Every byte replaced by each of a few troublesome characters: whatever is
 * accepted must still round-trip. A mutated hex digit of the sender (say)
 * is a valid message; a mutated brace is not: both outcomes must occur.
 */
static void test_single_byte_mutations(void) {
    static const char subs[] = {'0', 'f', 'F', 'x', '"', '{', '}', '[', ']', ',', ':', '\\', ' ',
                                '\0', '\n', '-', '.', '9', (char)0xc3, (char)0xff};
    size_t len = strlen(MULTI), accepted = 0, rejected = 0, broken = 0;
    char *buf = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t s = 0; s < sizeof subs; s++) {
            memcpy(buf, MULTI, len);
            if (buf[pos] == subs[s]) continue;
            buf[pos] = subs[s];
            nox_message m, again = {0};
            nox_error err = {0};
            if (nox_message_parse(buf, len, &m, &err)) {
                rejected++;
                broken += err.message[0] == '\0'; /* every rejection says why */
                continue;
            }
            accepted++;
            char *json = NULL;
            if (nox_message_to_json(&m, &json, &err) || nox_message_parse(json, strlen(json), &again, &err) ||
                !nox_message_equal(&m, &again))
                broken++;
            nox_message_free(&again);
            nox_message_free(&m);
            free(json);
        }
    }
    free(buf);
    CU_ASSERT(accepted > 0);
    CU_ASSERT(rejected > 0);
    CU_ASSERT_EQUAL(broken, 0);
}

/* ---- serialisation checks the struct ------------------------------------- */

/* A valid one-event message in caller-provided storage, for the tests to break. */
static void make_valid(nox_message *m, nox_message_event *ev) {
    nox_error err = {0};
    nox_message parsed;
    CU_ASSERT_EQUAL_FATAL(parse_text(MSG(EV("0", "plaintext_to_encrypted", P2E(WORD42, "35", HA))), &parsed, &err),
                          NOX_OK);
    *ev = parsed.events[0];
    *m = parsed;
    m->events = ev;
    nox_message_free(&parsed);
}

static void expect_unserialisable(const nox_message *m, nox_status status, const char *needle) {
    char *json = (char *)"untouched";
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_message_to_json(m, &json, &err), status);
    CU_ASSERT_PTR_NULL(json);
    ASSERT_CONTAINS(err.message, needle);
}

static void test_serialise_validates(void) {
    nox_message m;
    nox_message_event ev;
    make_valid(&m, &ev);
    char *json = to_json(&m);
    CU_ASSERT_STRING_EQUAL(json, MSG(EV("0", "plaintext_to_encrypted", P2E(WORD42, "35", HA))));
    free(json);

    make_valid(&m, &ev);
    m.chain_id = 0;
    expect_unserialisable(&m, NOX_ERR_INVALID, "chainId: 0 is out of range");
    make_valid(&m, &ev);
    m.block_number = (uint64_t)INT64_MAX + 1;
    expect_unserialisable(&m, NOX_ERR_INVALID, "blockNumber: 9223372036854775808 is out of range");
    make_valid(&m, &ev);
    m.n_events = 0;
    expect_unserialisable(&m, NOX_ERR_INVALID, "events: empty");
    make_valid(&m, &ev);
    ev.op = NULL;
    expect_unserialisable(&m, NOX_ERR_INVALID, "events[0].type: not a valid generic operator name");
    /* a copy of a table entry is not the table's: its field names could be anything */
    nox_operation copy = *nox_operation_by_name("plaintext_to_encrypted");
    make_valid(&m, &ev);
    ev.op = &copy;
    expect_unserialisable(&m, NOX_ERR_INVALID, "events[0].type: not an operation");
    make_valid(&m, &ev);
    ev.tee_type = 11; /* uint64, but the handle is uint256 */
    expect_unserialisable(&m, NOX_ERR_TYPE, "events[0].teeType: 11 (uint64) differs from the type byte 35");
    make_valid(&m, &ev);
    ev.outputs[0].bytes[31] = 1;
    expect_unserialisable(&m, NOX_ERR_INVALID, "events[0].handle: bad handle: version 1");
    expect_unserialisable(NULL, NOX_ERR_INVALID, "message: NULL");
}

static void test_equal_and_free(void) {
    nox_message a, b;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(MULTI, &a, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(parse_text(MULTI, &b, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_message_equal(&a, &b), 1);
    b.events[3].outputs[0].bytes[0] ^= 1;
    CU_ASSERT_EQUAL(nox_message_equal(&a, &b), 0);
    b.events[3].outputs[0].bytes[0] ^= 1;
    b.events[0].value[31] = 43;
    CU_ASSERT_EQUAL(nox_message_equal(&a, &b), 0);
    b.events[0].value[31] = 42;
    b.events[2].log_index = 6;
    CU_ASSERT_EQUAL(nox_message_equal(&a, &b), 0);
    nox_message_free(&a);
    CU_ASSERT_PTR_NULL(a.events);
    CU_ASSERT_EQUAL(a.n_events, 0);
    nox_message_free(&a); /* twice is harmless */
    nox_message_free(NULL);
    nox_message_free(&b);
}

/* ---- allocation failures ---------------------------------------------------- */

/* jansson's allocator, failing every allocation after the first `alloc_budget`. */
static size_t alloc_budget, alloc_count;

static void *failing_malloc(size_t n) {
    if (alloc_count++ >= alloc_budget) return NULL;
    return malloc(n);
}

/*
 * Every jansson allocation made to fail in turn: parse and serialisation
 * fail cleanly (LeakSanitizer checks for leaks) or succeed with the right
 * result. Serialisation reports NOX_ERR_NOMEM. Parsing reports NOX_ERR_NOMEM
 * where jansson lets us know; an allocation failure inside jansson's lexer
 * reads as a syntax error ("invalid JSON ..."), but never as a field error
 * that would blame a good message's content.
 */
static void test_allocation_failures(void) {
    nox_message parsed;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(MULTI, &parsed, &err), NOX_OK);
    size_t parse_nomem = 0, parse_syntax = 0, parse_other = 0, dump_nomem = 0, dump_other = 0;
    int parse_ok = 0, dump_ok = 0;
    for (alloc_budget = 0; alloc_budget < 10000 && !(parse_ok && dump_ok); alloc_budget++) {
        json_set_alloc_funcs(failing_malloc, free);
        nox_message m;
        char *json = NULL;
        alloc_count = 0;
        nox_status st = parse_ok ? NOX_OK : parse_text(MULTI, &m, &err);
        if (!parse_ok && st == NOX_OK) {
            parse_ok = nox_message_equal(&m, &parsed);
            nox_message_free(&m);
        } else if (st == NOX_ERR_NOMEM) {
            parse_nomem++;
        } else if (st == NOX_ERR_INVALID && !strncmp(err.message, "invalid JSON at line 1, column ", 31)) {
            parse_syntax++;
        } else if (st) {
            fprintf(stderr, "\n  parse with %zu allocations: %s\n", alloc_budget, err.message);
            parse_other++;
        }
        alloc_count = 0;
        st = dump_ok ? NOX_OK : nox_message_to_json(&parsed, &json, &err);
        json_set_alloc_funcs(malloc, free);
        if (!dump_ok && st == NOX_OK) dump_ok = json && !strcmp(json, MULTI);
        else if (st == NOX_ERR_NOMEM) dump_nomem += json == NULL;
        else if (st) dump_other++;
        free(json);
    }
    json_set_alloc_funcs(malloc, free);
    nox_message_free(&parsed);
    CU_ASSERT(parse_ok && dump_ok);
    CU_ASSERT(parse_nomem > parse_syntax); /* most failures are recognised */
    CU_ASSERT(dump_nomem > 0);
    CU_ASSERT_EQUAL(parse_other, 0);
    CU_ASSERT_EQUAL(dump_other, 0);
}

/* ---- NATS message id ------------------------------------------------------- */

static void test_message_id(void) {
    uint8_t tx[32];
    memset(tx, 0xab, sizeof tx);
    char id[NOX_MESSAGE_ID_LEN + 1];
    /* the known answer of spec §6 */
    CU_ASSERT_PTR_EQUAL(nox_message_id(421614, tx, id), id);
    CU_ASSERT_STRING_EQUAL(id, "0x17b2b7642dccae30083fc9b112a79495ed8c29be846222fabd5b4ac58a8952d7");
    /* the formula, restated on a literal string: keccak256("31337:0x" + lowercase hash) */
    const char *preimage = "31337:" TXH;
    uint8_t digest[32];
    char want[NOX_MESSAGE_ID_LEN + 1];
    nox_keccak256(preimage, strlen(preimage), digest);
    snprintf(want, sizeof want, "0x");
    for (int i = 0; i < 32; i++) snprintf(want + 2 + 2 * i, 3, "%02x", digest[i]);
    CU_ASSERT_STRING_EQUAL(nox_message_id(31337, tx, id), want);
    CU_ASSERT_STRING_NOT_EQUAL(want, "0x17b2b7642dccae30083fc9b112a79495ed8c29be846222fabd5b4ac58a8952d7");
    /* the id of a parsed message, from its own fields */
    nox_message m;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(MULTI, &m, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_message_id(m.chain_id, m.tx_hash, id), want);
    nox_message_free(&m);
}

/* ---- generic events (docs/PROTOCOL-EXTENSIONS.md) ------------------------------------------ */

#define GEN(id, ins, outs) ",\"operatorId\":" id ",\"inputs\":[" ins "],\"outputs\":[" outs "]"
#define QH(h) "\"" h "\""

static void test_generic_round_trip(void) {
    /* canonical form: logIndex, caller, type, operatorId, inputs, outputs */
    const char *one = MSG(EV("0", "min", GEN("64", QH(HA) "," QH(HB), QH(HC))));
    nox_message m;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(one, &m, &err), NOX_OK);
    CU_ASSERT_PTR_NULL(m.events[0].op);
    CU_ASSERT_STRING_EQUAL(m.events[0].name, "min");
    CU_ASSERT_STRING_EQUAL(nox_message_event_type(&m.events[0]), "min");
    CU_ASSERT_EQUAL(nox_message_event_operator_id(&m.events[0]), 64);
    CU_ASSERT_EQUAL(nox_message_event_n_inputs(&m.events[0]), 2);
    CU_ASSERT_EQUAL(nox_message_event_n_outputs(&m.events[0]), 1);
    CU_ASSERT(handle_is(&m.events[0].inputs[1], HB));
    CU_ASSERT(handle_is(&m.events[0].outputs[0], HC));
    char *json = to_json(&m);
    CU_ASSERT_STRING_EQUAL(json, one);
    nox_message back;
    CU_ASSERT_EQUAL(parse_text(json, &back, &err), NOX_OK);
    CU_ASSERT(nox_message_equal(&m, &back));
    free(json);
    nox_message_free(&back);
    nox_message_free(&m);
    /* mixed with protocol events, 8 inputs and 8 outputs, the largest id, a 63-character name */
    const char *mixed = MSG(EV("1", "add", F("leftHandOperand", HA) F("rightHandOperand", HB) F("result", HD))
                            "," EV("2", "operator_65535",
                                   GEN("65535", R8(QH(HD) ",") QH(HA), R4(QH(HE) ",") R2(QH(HP) ",") QH(HS) "," QH(HS2)))
                            "," EV("3", "a23456789012345678901234567890123456789012345678901234567890123",
                                   GEN("1000", QH(HE), QH(HP))));
    CU_ASSERT_EQUAL(parse_text(mixed, &m, &err), NOX_ERR_INVALID); /* 9 inputs */
    ASSERT_CONTAINS(err.message, "events[1].inputs: 9 handles, expected 1..8");
    const char *mixed8 = MSG(EV("1", "add", F("leftHandOperand", HA) F("rightHandOperand", HB) F("result", HD))
                             "," EV("2", "operator_65535",
                                    GEN("65535", R4(QH(HD) ",") R2(QH(HD) ",") QH(HD) "," QH(HA),
                                        R4(QH(HE) ",") R2(QH(HP) ",") QH(HS) "," QH(HS2)))
                             "," EV("3", "a23456789012345678901234567890123456789012345678901234567890123",
                                    GEN("1000", QH(HE), QH(HP))));
    CU_ASSERT_EQUAL_FATAL(parse_text(mixed8, &m, &err), NOX_OK);
    CU_ASSERT_PTR_NOT_NULL(m.events[0].op);
    CU_ASSERT_EQUAL(m.events[1].n_inputs, 8);
    CU_ASSERT_EQUAL(m.events[1].n_outputs, 8);
    json = to_json(&m);
    CU_ASSERT_STRING_EQUAL(json, mixed8);
    CU_ASSERT_EQUAL(parse_text(json, &back, &err), NOX_OK);
    CU_ASSERT(nox_message_equal(&m, &back));
    back.events[1].operator_id = 65534;
    CU_ASSERT(!nox_message_equal(&m, &back));
    back.events[1].operator_id = 65535;
    back.events[1].name[0] = 'b';
    CU_ASSERT(!nox_message_equal(&m, &back));
    free(json);
    nox_message_free(&back);
    nox_message_free(&m);
}

static void expect_generic_error(const char *text, nox_status want, const char *needle) {
    nox_message m;
    nox_error err = {0};
    CU_ASSERT_EQUAL(parse_text(text, &m, &err), want);
    ASSERT_CONTAINS(err.message, needle);
    CU_ASSERT_PTR_NULL(m.events);
}

static void test_generic_malformed(void) {
    const char *ok_in = QH(HA), *ok_out = QH(HB);
    (void)ok_in;
    (void)ok_out;
    /* type */
    expect_generic_error(MSG(EV("0", "Min", GEN("64", QH(HA), QH(HB)))), NOX_ERR_INVALID,
                         "events[0].type: 'Min' is not a valid operator name");
    expect_generic_error(MSG(EV("0", "9min", GEN("64", QH(HA), QH(HB)))), NOX_ERR_INVALID, "events[0].type:");
    expect_generic_error(MSG(EV("0", "", GEN("64", QH(HA), QH(HB)))), NOX_ERR_INVALID, "events[0].type:");
    expect_generic_error(MSG(EV("0", "mi-n", GEN("64", QH(HA), QH(HB)))), NOX_ERR_INVALID, "events[0].type:");
    expect_generic_error(MSG(EV("0", "a234567890123456789012345678901234567890123456789012345678901234",
                                GEN("64", QH(HA), QH(HB)))),
                         NOX_ERR_INVALID, "events[0].type:");
    expect_generic_error(MSG(EV("0", "pow", F("x", HA))), NOX_ERR_NOT_FOUND, "events[0].type: unknown operation 'pow'");
    /* a protocol name with operatorId is a protocol event: its own fields are required */
    expect_generic_error(MSG(EV("0", "add", GEN("64", QH(HA), QH(HB)))), NOX_ERR_INVALID,
                         "events[0].leftHandOperand: missing");
    /* operatorId */
    expect_generic_error(MSG(EV("0", "min", GEN("63", QH(HA), QH(HB)))), NOX_ERR_INVALID,
                         "events[0].operatorId: 63 is out of range 64..65535");
    expect_generic_error(MSG(EV("0", "min", GEN("65536", QH(HA), QH(HB)))), NOX_ERR_INVALID,
                         "events[0].operatorId: 65536 is out of range");
    expect_generic_error(MSG(EV("0", "min", GEN("\"64\"", QH(HA), QH(HB)))), NOX_ERR_INVALID,
                         "events[0].operatorId: expected an integer, got a string");
    expect_generic_error(MSG(EV("0", "min", GEN("64.0", QH(HA), QH(HB)))), NOX_ERR_INVALID,
                         "events[0].operatorId: expected an integer");
    /* inputs / outputs */
    expect_generic_error(MSG(EV("0", "min", ",\"operatorId\":64,\"outputs\":[" QH(HB) "]")), NOX_ERR_INVALID,
                         "events[0].inputs: missing");
    expect_generic_error(MSG(EV("0", "min", ",\"operatorId\":64,\"inputs\":[" QH(HB) "]")), NOX_ERR_INVALID,
                         "events[0].outputs: missing");
    expect_generic_error(MSG(EV("0", "min", ",\"operatorId\":64,\"inputs\":" QH(HA) ",\"outputs\":[" QH(HB) "]")),
                         NOX_ERR_INVALID, "events[0].inputs: expected an array of handles, got a string");
    expect_generic_error(MSG(EV("0", "min", GEN("64", "", QH(HB)))), NOX_ERR_INVALID,
                         "events[0].inputs: 0 handles, expected 1..8");
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HA), ""))), NOX_ERR_INVALID,
                         "events[0].outputs: 0 handles, expected 1..8");
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HA), R8(QH(HB) ",") QH(HC)))), NOX_ERR_INVALID,
                         "events[0].outputs: 9 handles, expected 1..8");
    expect_generic_error(MSG(EV("0", "min", GEN("64", "1", QH(HB)))), NOX_ERR_INVALID,
                         "events[0].inputs[0]: expected a string of 0x + 64 hex digits, got an integer");
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HA) ",\"0x12\"", QH(HB)))), NOX_ERR_INVALID,
                         "events[0].inputs[1]: expected 0x + 64 hex digits, got 2");
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HA), "\"" R32("ab") "\""))), NOX_ERR_INVALID,
                         "events[0].outputs[0]: expected 0x + 64 hex digits, got no 0x prefix");
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HA), "\"0x" R16("zz") R16("00") "\""))), NOX_ERR_INVALID,
                         "events[0].outputs[0]: invalid hex digit");
    /* the same handle checks as protocol events */
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HA), "\"0x" R32("00") "\""))), NOX_ERR_INVALID,
                         "events[0].outputs[0]:");
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HANDLE_X("a1", "00000001", T_UINT256, "00")), QH(HB)))),
                         NOX_ERR_INVALID, "events[0].inputs[0]:");
    expect_generic_error(MSG(EV("0", "min", GEN("64", QH(HANDLE_X("a1", CHAIN, T_UINT256, "01")), QH(HB)))),
                         NOX_ERR_INVALID, "events[0].inputs[0]:");
    /* validation of a built struct */
    nox_message m;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(MSG(EV("0", "min", GEN("64", QH(HA), QH(HB)))), &m, &err), NOX_OK);
    char *json = NULL;
    m.events[0].operator_id = 3;
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "events[0].operatorId: 3 is out of range");
    m.events[0].operator_id = 64;
    m.events[0].n_outputs = 9;
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "events[0].outputs: 9 handles");
    m.events[0].n_outputs = 1;
    m.events[0].n_inputs = 0;
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "events[0].inputs: 0 handles");
    m.events[0].n_inputs = 1;
    strcpy(m.events[0].name, "select");
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "events[0].type: not a valid generic operator name");
    memset(m.events[0].name, 'a', sizeof m.events[0].name); /* no NUL */
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(json);
    nox_message_free(&m);
    CU_ASSERT(nox_message_valid_generic_name("min"));
    CU_ASSERT(nox_message_valid_generic_name("operator_1000"));
    CU_ASSERT(!nox_message_valid_generic_name("add"));
    CU_ASSERT(!nox_message_valid_generic_name("_x"));
    CU_ASSERT(!nox_message_valid_generic_name(NULL));
}

/* ---- failure notices (docs/PROTOCOL-EXTENSIONS.md §5) ------------------------------------------- */

#define MSG_FAILED(events, failed)                                                                 \
    "{\"chainId\":31337,\"caller\":\"" CALLER "\",\"blockNumber\":123,\"transactionHash\":\"" TXH  \
    "\",\"events\":[" events "],\"failed\":" failed "}"
#define FAILED(reason, outs) "{\"reason\":\"" reason "\",\"outputs\":[" outs "]}"

static void test_failed_round_trip(void) {
    const char *notice = MSG_FAILED("", FAILED("refused by NATS: payload too large", QH(HA) "," QH(HS)));
    nox_message m, back;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(parse_text(notice, &m, &err), NOX_OK);
    CU_ASSERT_EQUAL(m.n_events, 0);
    CU_ASSERT_PTR_NULL(m.events);
    CU_ASSERT_EQUAL_FATAL(m.n_failed, 2);
    CU_ASSERT_STRING_EQUAL(m.failure_reason, "refused by NATS: payload too large");
    nox_handle ha = handle_of(HA), hs = handle_of(HS);
    CU_ASSERT(!memcmp(m.failed[0].bytes, ha.bytes, NOX_HANDLE_SIZE));
    CU_ASSERT(!memcmp(m.failed[1].bytes, hs.bytes, NOX_HANDLE_SIZE));
    char *json = NULL;
    CU_ASSERT_EQUAL_FATAL(nox_message_to_json(&m, &json, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(json, notice); /* canonical: events, then failed {reason, outputs} */
    CU_ASSERT_EQUAL_FATAL(parse_text(json, &back, &err), NOX_OK);
    CU_ASSERT(nox_message_equal(&m, &back));
    back.failure_reason[0] = 'R';
    CU_ASSERT(!nox_message_equal(&m, &back));
    nox_message_free(&back);
    free(json);
    nox_message_free(&m);
    CU_ASSERT_PTR_NULL(m.failed);
    CU_ASSERT_EQUAL(m.n_failed, 0);

    /* events and failed handles together; no failed key: an ordinary message */
    const char *both = MSG_FAILED(EV("3", "add", F("leftHandOperand", HA) F("rightHandOperand", HB) F("result", HC)),
                                  FAILED("log 4 (Compute): data cut short", QH(HD)));
    CU_ASSERT_EQUAL_FATAL(parse_text(both, &m, &err), NOX_OK);
    CU_ASSERT_EQUAL(m.n_events, 1);
    CU_ASSERT_EQUAL(m.n_failed, 1);
    CU_ASSERT_EQUAL_FATAL(nox_message_to_json(&m, &json, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(json, both);
    free(json);
    nox_message_free(&m);
}

static void test_failed_malformed(void) {
    expect_generic_error(MSG(""), NOX_ERR_INVALID, "events: empty; a message carries at least one event");
    expect_generic_error(MSG_FAILED("", "[]"), NOX_ERR_INVALID, "failed: expected an object, got an array");
    expect_generic_error(MSG_FAILED("", "{\"outputs\":[" QH(HA) "]}"), NOX_ERR_INVALID, "failed.reason: missing");
    expect_generic_error(MSG_FAILED("", "{\"reason\":\"x\"}"), NOX_ERR_INVALID, "failed.outputs: missing");
    expect_generic_error(MSG_FAILED("", "{\"reason\":7,\"outputs\":[" QH(HA) "]}"), NOX_ERR_INVALID,
                         "failed.reason: expected a string, got an integer");
    expect_generic_error(MSG_FAILED("", FAILED("", QH(HA))), NOX_ERR_INVALID,
                         "failed.reason: expected 1..256 printable ASCII characters");
    expect_generic_error(MSG_FAILED("", FAILED("line\\nbreak", QH(HA))), NOX_ERR_INVALID,
                         "failed.reason: expected 1..256 printable ASCII");
    expect_generic_error(MSG_FAILED("", FAILED(R16(R16("x")) "x", QH(HA))), NOX_ERR_INVALID,
                         "failed.reason: expected 1..256"); /* 257 characters */
    expect_generic_error(MSG_FAILED("", FAILED("x", "")), NOX_ERR_INVALID, "failed.outputs: 0 handles, expected 1..4096");
    expect_generic_error(MSG_FAILED("", "{\"reason\":\"x\",\"outputs\":" QH(HA) "}"), NOX_ERR_INVALID,
                         "failed.outputs: expected an array of handles, got a string");
    expect_generic_error(MSG_FAILED("", FAILED("x", QH(HA) ",1")), NOX_ERR_INVALID,
                         "failed.outputs[1]: expected a string of 0x + 64 hex digits, got an integer");
    expect_generic_error(MSG_FAILED("", FAILED("x", "\"0x12\"")), NOX_ERR_INVALID,
                         "failed.outputs[0]: expected 0x + 64 hex digits, got 2");
    expect_generic_error(MSG_FAILED("", FAILED("x", QH(HA) "," QH(HANDLE_X("a1", "00000001", T_UINT256, "00")))),
                         NOX_ERR_INVALID, "failed.outputs[1]:");
    expect_generic_error(MSG_FAILED("", FAILED("x", QH(HA) "," QH(HB) "," QH(HA))), NOX_ERR_INVALID,
                         "failed.outputs: a handle is listed twice");
    /* 4096 accepted, 4097 refused */
    for (size_t n = NOX_MESSAGE_MAX_FAILED; n <= NOX_MESSAGE_MAX_FAILED + 1; n++) {
        size_t cap = 256 + n * 70;
        char *text = malloc(cap), *p = text;
        p += sprintf(p, "{\"chainId\":31337,\"caller\":\"%s\",\"blockNumber\":1,\"transactionHash\":\"%s\","
                     "\"events\":[],\"failed\":{\"reason\":\"r\",\"outputs\":[", CALLER, TXH);
        for (size_t k = 0; k < n; k++)
            p += sprintf(p, "%s\"0x%052zx%s\"", k ? "," : "", k + 1, CHAIN T_UINT256 "00");
        strcpy(p, "]}}");
        nox_message m;
        nox_error err = {0};
        nox_status want = n <= NOX_MESSAGE_MAX_FAILED ? NOX_OK : NOX_ERR_INVALID;
        CU_ASSERT_EQUAL(parse_text(text, &m, &err), want);
        if (want == NOX_OK) {
            CU_ASSERT_EQUAL(m.n_failed, NOX_MESSAGE_MAX_FAILED);
        } else {
            ASSERT_CONTAINS(err.message, "failed.outputs: 4097 handles, expected 1..4096");
        }
        nox_message_free(&m);
        free(text);
    }
    /* validation of a built struct */
    nox_message m = {.chain_id = 31337};
    nox_handle h[2] = {handle_of(HA), handle_of(HB)};
    nox_error err = {0};
    char *json = NULL;
    m.failed = h;
    m.n_failed = 2;
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "failed.reason: expected 1..256");
    memset(m.failure_reason, 'a', sizeof m.failure_reason); /* no NUL */
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    strcpy(m.failure_reason, "ok");
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_OK);
    free(json);
    m.n_failed = 0;
    CU_ASSERT_EQUAL(nox_message_to_json(&m, &json, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "events: empty");
    CU_ASSERT_PTR_NULL(json);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"round trip of every protocol operation", test_round_trip_every_operation},
        {"multi-event message: later events consume earlier results", test_multi_event},
        {"uppercase hex accepted, emitted lowercase", test_uppercase_hex},
        {"unknown keys ignored", test_unknown_keys_ignored},
        {"extreme integers round-trip", test_extreme_values},
        {"input need not be NUL-terminated", test_not_nul_terminated},
        {"malformed messages: status and field path", test_malformed_messages},
        {"error messages are short and sanitised", test_error_messages_are_safe},
        {"event limit", test_event_limit},
        {"size limit (1 MiB accepted, 2 MiB rejected)", test_size_limit},
        {"deep nesting", test_deep_nesting},
        {"every prefix rejected", test_every_prefix_rejected},
        {"single-byte mutations", test_single_byte_mutations},
        {"serialisation validates the struct", test_serialise_validates},
        {"equal and free", test_equal_and_free},
        {"allocation failures", test_allocation_failures},
        {"NATS message id", test_message_id},
        {"generic events: round trips, mixed with protocol events", test_generic_round_trip},
        {"generic events: every malformed field", test_generic_malformed},
        {"failure notices: round trips, with and without events", test_failed_round_trip},
        {"failure notices: every malformed field, the 4096 limit", test_failed_malformed},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("message", tests);
}
