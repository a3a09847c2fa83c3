/*
 * NoxCompute's events (nox/events.h, spec §9) and their grouping into queue
 * messages (spec §6): the two topics the spec gives, the table against the
 * operation table, decoding every event type from hand-built logs, every
 * malformed shape, and grouping across transactions and blocks (order,
 * caller, dead-letter status, inconsistent node answers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/events.h"
#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/message.h"
#include "nox/operations.h"
#include "nox/types.h"
#include "test_util.h"

#define CHAIN 31337u

static const uint8_t COMPUTE[NOX_ADDRESS_SIZE] = {0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0,
                                                  0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x01};

static void hex32(const char *text, uint8_t out[32]) {
    CU_ASSERT_EQUAL_FATAL(nox_hex_decode_exact(text, strlen(text), out, 32, NULL), NOX_OK);
}

/* A valid handle of chain CHAIN: prehandle bytes all `tag`, of type `type`. */
static nox_handle handle(uint8_t tag, uint8_t type) {
    uint8_t pre[NOX_PREHANDLE_SIZE];
    memset(pre, tag, sizeof pre);
    nox_handle h;
    nox_handle_make(&h, pre, CHAIN, type);
    return h;
}

/* A log of `ev` emitted by caller byte `who` (address 0x<who x 20>), with the given data words. */
static nox_rpc_log make_log(const nox_event_def *ev, uint8_t who, const uint8_t (*words)[32], size_t n_words,
                            uint64_t block, uint64_t log_index, uint8_t tx) {
    nox_rpc_log l;
    memset(&l, 0, sizeof l);
    l.block_number = block;
    memset(l.block_hash, (int)(0xb0 + (block & 0xf)), 32);
    memset(l.tx_hash, tx, 32);
    l.log_index = log_index;
    memcpy(l.address, COMPUTE, NOX_ADDRESS_SIZE);
    l.n_topics = 2;
    memcpy(l.topics[0], ev->topic0, 32);
    memset(l.topics[1] + 12, who, 20);
    l.data_len = 32 * n_words;
    l.data = n_words ? malloc(l.data_len) : NULL;
    if (n_words) memcpy(l.data, words, l.data_len);
    return l;
}

/* The data words of a well-formed event of operation `op`: handles tagged base+i, bool-typed where the spec says. */
static size_t words_for(const nox_operation *op, uint8_t base, uint8_t words[6][32]) {
    if (op->id == 0) { /* value 42, teeType uint64, handle of uint64 */
        memset(words, 0, 3 * 32);
        words[0][31] = 42;
        words[1][31] = NOX_TYPE_UINT64;
        nox_handle h = handle(base, NOX_TYPE_UINT64);
        memcpy(words[2], h.bytes, 32);
        return 3;
    }
    size_t n = 0;
    for (size_t i = 0; i < op->n_inputs; i++, n++) {
        int is_bool = !strcmp(op->inputs[i], "condition");
        nox_handle h = handle((uint8_t)(base + n), is_bool ? NOX_TYPE_BOOL : NOX_TYPE_UINT256);
        memcpy(words[n], h.bytes, 32);
    }
    for (size_t i = 0; i < op->n_outputs; i++, n++) {
        int is_bool = !strcmp(op->outputs[i], "success") || (op->id >= 10 && op->id <= 15);
        nox_handle h = handle((uint8_t)(base + n), is_bool ? NOX_TYPE_BOOL : NOX_TYPE_UINT256);
        memcpy(words[n], h.bytes, 32);
    }
    return n;
}

static void free_logs(nox_rpc_log *logs, size_t n) {
    for (size_t i = 0; i < n; i++) free(logs[i].data);
}

/* ---- the table ----------------------------------------------------------------------- */

static void test_known_topics(void) {
    uint8_t want[32];
    hex32("0x1c2e021f86083d2d6daf74c4a1016ac3e4b55e0f4328137bfb5091a1e05add49", want);
    const nox_event_def *pte = nox_event_at(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pte);
    CU_ASSERT_STRING_EQUAL(pte->signature, "PlaintextToEncrypted(address,bytes32,uint8,bytes32)");
    CU_ASSERT_EQUAL(memcmp(pte->topic0, want, 32), 0);
    CU_ASSERT_PTR_EQUAL(nox_event_by_topic(want), pte);

    hex32("0x39e9fe4ef5775b41f10d058c793455cec69e7f83b0f806228a43907cc9791839", want);
    const nox_event_def *add = nox_event_for_operation(nox_operation_by_name("add"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(add);
    CU_ASSERT_STRING_EQUAL(add->signature, "Add(address,bytes32,bytes32,bytes32)");
    CU_ASSERT_EQUAL(memcmp(add->topic0, want, 32), 0);
    CU_ASSERT_PTR_EQUAL(nox_event_by_topic(want), add);

    want[0] ^= 1;
    CU_ASSERT_PTR_NULL(nox_event_by_topic(want));
    CU_ASSERT_PTR_NULL(nox_event_at(nox_event_count()));
    CU_ASSERT_PTR_NULL(nox_event_for_operation(NULL));
    nox_operation copy = *nox_operation_by_id(1); /* not an entry of the table */
    CU_ASSERT_PTR_NULL(nox_event_for_operation(&copy));
}

/* "safe_add" -> "SafeAdd" */
static void pascal(const char *snake, char *out) {
    int up = 1;
    for (; *snake; snake++) {
        if (*snake == '_') {
            up = 1;
            continue;
        }
        *out++ = up ? (char)(*snake - 'a' + 'A') : *snake;
        up = 0;
    }
    *out = '\0';
}

static void test_table_matches_operations(void) {
    CU_ASSERT_EQUAL(nox_event_count(), nox_operation_count() + 1); /* + Compute */
    CU_ASSERT_EQUAL(nox_event_count(), 20);
    for (size_t i = 0; i < nox_operation_count(); i++) {
        const nox_event_def *ev = nox_event_at(i);
        const nox_operation *op = nox_operation_by_id((unsigned)i);
        CU_ASSERT_PTR_EQUAL(ev->op, op);
        CU_ASSERT_PTR_EQUAL(nox_event_for_operation(op), ev);
        char name[64], sig[256];
        pascal(op->name, name);
        CU_ASSERT_STRING_EQUAL(ev->name, name);
        /* field order = the message's: inputs then outputs (plaintext_to_encrypted: value, teeType, handle) */
        const char *want[6];
        size_t n = 0;
        if (i == 0) {
            want[n++] = "value";
            want[n++] = "teeType";
        }
        for (size_t k = 0; k < op->n_inputs; k++) want[n++] = op->inputs[k];
        for (size_t k = 0; k < op->n_outputs; k++) want[n++] = op->outputs[k];
        CU_ASSERT_EQUAL_FATAL(ev->n_params, n);
        for (size_t k = 0; k < n; k++) CU_ASSERT_STRING_EQUAL(ev->params[k], want[k]);
        /* the signature: every parameter bytes32 except teeType */
        int len = snprintf(sig, sizeof sig, "%s(address", name);
        for (size_t k = 0; k < n; k++)
            len += snprintf(sig + len, sizeof sig - (size_t)len, ",%s", strcmp(want[k], "teeType") ? "bytes32" : "uint8");
        snprintf(sig + len, sizeof sig - (size_t)len, ")");
        CU_ASSERT_STRING_EQUAL(ev->signature, sig);
        uint8_t t[32];
        nox_keccak256(sig, strlen(sig), t);
        CU_ASSERT_EQUAL(memcmp(ev->topic0, t, 32), 0);
        for (size_t j = 0; j < i; j++) CU_ASSERT_NOT_EQUAL(memcmp(nox_event_at(j)->topic0, ev->topic0, 32), 0);
    }
}

/* ---- one log ----------------------------------------------------------------------------- */

static void test_decode_every_event(void) {
    for (size_t i = 0; i < nox_operation_count(); i++) {
        const nox_event_def *ev = nox_event_at(i);
        uint8_t words[6][32];
        size_t n = words_for(ev->op, 0x40, words);
        nox_rpc_log l = make_log(ev, 0x22, (const uint8_t(*)[32])words, n, 7, 3 + i, 0xab);
        nox_message_event e;
        nox_error err = {0};
        CU_ASSERT_EQUAL(nox_event_decode(&l, &e, &err), NOX_OK);
        CU_ASSERT_PTR_EQUAL(e.op, ev->op);
        CU_ASSERT_EQUAL(e.log_index, 3 + i);
        uint8_t who[20];
        memset(who, 0x22, sizeof who);
        CU_ASSERT_EQUAL(memcmp(e.caller, who, 20), 0);
        if (i == 0) {
            CU_ASSERT_EQUAL(e.value[31], 42);
            CU_ASSERT_EQUAL(e.tee_type, NOX_TYPE_UINT64);
            CU_ASSERT_EQUAL(memcmp(e.outputs[0].bytes, words[2], 32), 0);
            CU_ASSERT(nox_handle_is_zero(&e.inputs[0]));
        } else {
            size_t w = 0;
            for (size_t k = 0; k < ev->op->n_inputs; k++, w++) CU_ASSERT_EQUAL(memcmp(e.inputs[k].bytes, words[w], 32), 0);
            for (size_t k = 0; k < ev->op->n_outputs; k++, w++)
                CU_ASSERT_EQUAL(memcmp(e.outputs[k].bytes, words[w], 32), 0);
            for (size_t k = ev->op->n_inputs; k < 3; k++) CU_ASSERT(nox_handle_is_zero(&e.inputs[k]));
            for (size_t k = ev->op->n_outputs; k < 3; k++) CU_ASSERT(nox_handle_is_zero(&e.outputs[k]));
            CU_ASSERT_EQUAL(e.tee_type, 0);
        }
        free(l.data);
    }
}

static void expect_decode_error(nox_rpc_log *l, nox_status want, const char *frag) {
    nox_message_event e;
    nox_error err = {0};
    nox_status st = nox_event_decode(l, &e, &err);
    CU_ASSERT_EQUAL(st, want);
    ASSERT_CONTAINS(err.message, frag);
    CU_ASSERT_PTR_NULL(e.op); /* nothing half-decoded */
}

static void test_decode_malformed(void) {
    const nox_event_def *add = nox_event_for_operation(nox_operation_by_name("add"));
    const nox_event_def *transfer = nox_event_for_operation(nox_operation_by_name("transfer"));
    uint8_t words[7][32];
    memset(words, 0x11, sizeof words);

    /* data one word short, one word long, one byte short, one byte long, empty */
    nox_rpc_log l = make_log(add, 0x22, (const uint8_t(*)[32])words, 2, 1, 5, 1);
    expect_decode_error(&l, NOX_ERR_INVALID, "log 5 (Add): data is 64 bytes, expected 96");
    free(l.data);
    l = make_log(add, 0x22, (const uint8_t(*)[32])words, 4, 1, 5, 1);
    expect_decode_error(&l, NOX_ERR_INVALID, "data is 128 bytes, expected 96");
    l.data_len = 95;
    expect_decode_error(&l, NOX_ERR_INVALID, "data is 95 bytes");
    l.data_len = 97;
    expect_decode_error(&l, NOX_ERR_INVALID, "data is 97 bytes");
    l.data_len = 0;
    expect_decode_error(&l, NOX_ERR_INVALID, "data is 0 bytes");
    free(l.data);
    l = make_log(transfer, 0x22, (const uint8_t(*)[32])words, 7, 1, 9, 1);
    expect_decode_error(&l, NOX_ERR_INVALID, "log 9 (Transfer): data is 224 bytes, expected 192 (6 32-byte words)");
    free(l.data);

    /* topics: caller not indexed (1 topic), an extra indexed topic (3), none */
    l = make_log(add, 0x22, (const uint8_t(*)[32])words, 3, 1, 5, 1);
    l.n_topics = 1;
    expect_decode_error(&l, NOX_ERR_INVALID, "1 topics, expected 2");
    l.n_topics = 3;
    expect_decode_error(&l, NOX_ERR_INVALID, "3 topics, expected 2");
    l.n_topics = 0;
    expect_decode_error(&l, NOX_ERR_NOT_FOUND, "no topic");
    l.n_topics = 2;
    /* a caller topic that is not a left-padded address */
    l.topics[1][0] = 1;
    expect_decode_error(&l, NOX_ERR_INVALID, "the caller topic is not an address");
    l.topics[1][0] = 0;
    l.topics[1][11] = 1;
    expect_decode_error(&l, NOX_ERR_INVALID, "the caller topic is not an address");
    l.topics[1][11] = 0;
    /* an unknown topic0 */
    l.topics[0][5] ^= 0xff;
    expect_decode_error(&l, NOX_ERR_NOT_FOUND, "is not a NoxCompute operation event");
    l.topics[0][5] ^= 0xff;
    nox_message_event e;
    CU_ASSERT_EQUAL(nox_event_decode(&l, &e, NULL), NOX_OK); /* restored: decodes */
    free(l.data);

    /* teeType: a uint8, right-aligned in its word */
    const nox_event_def *pte = nox_event_at(0);
    uint8_t pw[6][32];
    words_for(pte->op, 0x40, pw);
    pw[1][30] = 1; /* 256 + type */
    l = make_log(pte, 0x22, (const uint8_t(*)[32])pw, 3, 1, 2, 1);
    expect_decode_error(&l, NOX_ERR_INVALID, "log 2 (PlaintextToEncrypted): teeType is not a uint8");
    free(l.data);
    pw[1][30] = 0;
    pw[1][0] = 0x80;
    l = make_log(pte, 0x22, (const uint8_t(*)[32])pw, 3, 1, 2, 1);
    expect_decode_error(&l, NOX_ERR_INVALID, "teeType is not a uint8");
    free(l.data);
    pw[1][0] = 0;
    l = make_log(pte, 0x22, (const uint8_t(*)[32])pw, 2, 1, 2, 1);
    expect_decode_error(&l, NOX_ERR_INVALID, "data is 64 bytes, expected 96");
    free(l.data);
}

/* ---- grouping ------------------------------------------------------------------------------ */

/*
 * Three transactions over two blocks, given to the grouper shuffled:
 *   block 10: tx 0xa1: mint (log 0, caller 0x22), transfer (log 1, caller 0x33)
 *             tx 0xa2: add (log 2)
 *   block 11: tx 0xa3: plaintext_to_encrypted (log 0), then add (log 4) with an unrelated event at log 2
 */
static void test_group_orders_and_builds(void) {
    const nox_event_def *mint = nox_event_for_operation(nox_operation_by_name("mint"));
    const nox_event_def *transfer = nox_event_for_operation(nox_operation_by_name("transfer"));
    const nox_event_def *add = nox_event_for_operation(nox_operation_by_name("add"));
    const nox_event_def *pte = nox_event_at(0);
    uint8_t w[6][32];
    nox_rpc_log logs[7];
    words_for(add->op, 0x70, w);
    logs[0] = make_log(add, 0x44, (const uint8_t(*)[32])w, 3, 11, 4, 0xa3);
    words_for(transfer->op, 0x20, w);
    logs[1] = make_log(transfer, 0x33, (const uint8_t(*)[32])w, 6, 10, 1, 0xa1);
    words_for(add->op, 0x30, w);
    logs[2] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 10, 2, 0xa2);
    words_for(mint->op, 0x10, w);
    logs[3] = make_log(mint, 0x22, (const uint8_t(*)[32])w, 6, 10, 0, 0xa1);
    words_for(pte->op, 0x60, w);
    logs[4] = make_log(pte, 0x44, (const uint8_t(*)[32])w, 3, 11, 0, 0xa3);
    /* another event of the contract (not an operation): skipped */
    logs[5] = make_log(add, 0x44, (const uint8_t(*)[32])w, 1, 11, 2, 0xa3);
    memset(logs[5].topics[0], 0xee, 32);
    logs[5].n_topics = 3;
    logs[6] = make_log(add, 0x44, (const uint8_t(*)[32])w, 0, 11, 3, 0xa3);
    logs[6].n_topics = 0; /* an anonymous log: skipped too */

    nox_event_tx *txs;
    size_t n;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_events_group(logs, 7, CHAIN, COMPUTE, &txs, &n, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    const uint8_t want_tx[3] = {0xa1, 0xa2, 0xa3};
    const uint64_t want_block[3] = {10, 10, 11};
    const size_t want_events[3] = {2, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        nox_event_tx *tx = &txs[i];
        CU_ASSERT_EQUAL(tx->status, NOX_OK);
        CU_ASSERT_EQUAL(tx->tx_hash[0], want_tx[i]);
        CU_ASSERT_EQUAL(tx->block_number, want_block[i]);
        CU_ASSERT_EQUAL(tx->n_logs, want_events[i]);
        CU_ASSERT_EQUAL(tx->msg.chain_id, CHAIN);
        CU_ASSERT_EQUAL(tx->msg.block_number, want_block[i]);
        CU_ASSERT_EQUAL(memcmp(tx->msg.tx_hash, tx->tx_hash, 32), 0);
        CU_ASSERT_EQUAL_FATAL(tx->msg.n_events, want_events[i]);
        /* the top-level caller is the caller of the first event */
        CU_ASSERT_EQUAL(memcmp(tx->msg.caller, tx->msg.events[0].caller, 20), 0);
        for (size_t k = 1; k < tx->msg.n_events; k++)
            CU_ASSERT(tx->msg.events[k - 1].log_index < tx->msg.events[k].log_index);
        /* it serialises and parses back */
        char *json = NULL;
        CU_ASSERT_EQUAL(nox_message_to_json(&tx->msg, &json, &err), NOX_OK);
        nox_message back;
        CU_ASSERT_EQUAL(nox_message_parse(json, strlen(json), &back, &err), NOX_OK);
        CU_ASSERT(nox_message_equal(&back, &tx->msg));
        nox_message_free(&back);
        free(json);
    }
    CU_ASSERT_PTR_EQUAL(txs[0].msg.events[0].op, mint->op);
    CU_ASSERT_PTR_EQUAL(txs[0].msg.events[1].op, transfer->op);
    CU_ASSERT_EQUAL(txs[0].msg.caller[0], 0x22);
    CU_ASSERT_EQUAL(txs[0].msg.events[1].caller[0], 0x33); /* events keep their own caller */
    CU_ASSERT_PTR_EQUAL(txs[2].msg.events[0].op, pte->op);
    CU_ASSERT_PTR_EQUAL(txs[2].msg.events[1].op, add->op);
    CU_ASSERT_EQUAL(txs[2].msg.events[1].log_index, 4);
    CU_ASSERT_EQUAL(txs[2].logs[1], &logs[0]);
    CU_ASSERT_EQUAL(txs[2].msg.events[0].value[31], 42);
    nox_event_txs_free(txs, n);

    /* nothing in, nothing out */
    CU_ASSERT_EQUAL(nox_events_group(NULL, 0, CHAIN, COMPUTE, &txs, &n, &err), NOX_OK);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NULL(txs);
    CU_ASSERT_EQUAL(nox_events_group(&logs[5], 2, CHAIN, COMPUTE, &txs, &n, &err), NOX_OK); /* only non-operations */
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NULL(txs);
    free_logs(logs, 7);
}

/* A transaction with one bad log is refused whole; its neighbours are not affected. */
static void test_group_bad_transaction(void) {
    const nox_event_def *add = nox_event_for_operation(nox_operation_by_name("add"));
    uint8_t w[6][32];
    nox_rpc_log logs[5];
    words_for(add->op, 0x10, w);
    logs[0] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 5, 0, 0xa1);
    logs[1] = make_log(add, 0x22, (const uint8_t(*)[32])w, 2, 5, 1, 0xa2); /* short data */
    logs[2] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 5, 2, 0xa2);
    /* a handle of another chain: decodes, but the message does not validate */
    nox_handle other;
    uint8_t pre[NOX_PREHANDLE_SIZE] = {1};
    nox_handle_make(&other, pre, 5, NOX_TYPE_UINT256);
    memcpy(w[2], other.bytes, 32);
    logs[3] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 5, 3, 0xa3);
    memset(w[2], 0, 32); /* a zero result handle */
    logs[4] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 6, 0, 0xa4);

    nox_event_tx *txs;
    size_t n;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_events_group(logs, 5, CHAIN, COMPUTE, &txs, &n, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_EQUAL(txs[0].status, NOX_OK);
    CU_ASSERT_EQUAL(txs[1].status, NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(txs[1].n_logs, 2); /* both logs stay with it, for the dead letter */
    CU_ASSERT_EQUAL(txs[1].msg.n_events, 0);
    CU_ASSERT_PTR_NULL(txs[1].msg.events);
    ASSERT_CONTAINS(txs[1].error.message, "log 1 (Add): data is 64 bytes, expected 96");
    CU_ASSERT_EQUAL(txs[2].status, NOX_ERR_INVALID);
    ASSERT_CONTAINS(txs[2].error.message, "events[0].result");
    ASSERT_CONTAINS(txs[2].error.message, "chainId is 31337");
    CU_ASSERT_EQUAL(txs[3].status, NOX_ERR_INVALID);
    ASSERT_CONTAINS(txs[3].error.message, "events[0].result");
    CU_ASSERT_EQUAL(txs[0].error.message[0], '\0');
    nox_event_txs_free(txs, n);
    free_logs(logs, 5);
}

static void expect_group_error(nox_rpc_log *logs, size_t n, const char *frag) {
    nox_event_tx *txs = (nox_event_tx *)1;
    size_t count = 99;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_events_group(logs, n, CHAIN, COMPUTE, &txs, &count, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, frag);
    CU_ASSERT_PTR_NULL(txs);
    CU_ASSERT_EQUAL(count, 0);
}

/* What a node must never answer: the call fails (the range is asked again), no transaction is blamed. */
static void test_group_inconsistent_answers(void) {
    const nox_event_def *add = nox_event_for_operation(nox_operation_by_name("add"));
    uint8_t w[6][32];
    words_for(add->op, 0x10, w);
    nox_rpc_log logs[3];
    logs[0] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 5, 0, 0xa1);
    logs[1] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 5, 1, 0xa2);
    logs[2] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 6, 0, 0xa3);

    logs[1].address[0] ^= 1;
    expect_group_error(logs, 3, "for a filter on 0xc0c0");
    logs[1].address[0] ^= 1;
    logs[2].removed = 1;
    expect_group_error(logs, 3, "as removed");
    logs[2].removed = 0;
    logs[1].block_hash[3] ^= 1;
    expect_group_error(logs, 3, "block 5 with two hashes");
    logs[1].block_hash[3] ^= 1;
    logs[1].log_index = 0;
    expect_group_error(logs, 3, "log 0 of block 5 twice");
    logs[1].log_index = 1;
    memset(logs[2].tx_hash, 0xa1, 32); /* tx 0xa1 in blocks 5 and 6 */
    expect_group_error(logs, 3, "in blocks 5 and 6");
    memset(logs[2].tx_hash, 0xa3, 32);
    memset(logs[1].tx_hash, 0xa3, 32); /* 0xa3's logs in two blocks, again */
    expect_group_error(logs, 3, "0xa3a3");
    memset(logs[1].tx_hash, 0xa2, 32);

    nox_event_tx *txs;
    size_t n;
    CU_ASSERT_EQUAL(nox_events_group(logs, 3, CHAIN, COMPUTE, &txs, &n, NULL), NOX_OK); /* restored */
    CU_ASSERT_EQUAL(n, 3);
    nox_event_txs_free(txs, n);
    free_logs(logs, 3);
}

/* Grouping a large, reversed answer: each transaction's logs in order, transactions in chain order. */
static void test_group_many(void) {
    const nox_event_def *add = nox_event_for_operation(nox_operation_by_name("add"));
    enum { BLOCKS = 20, TXS_PER_BLOCK = 5, LOGS_PER_TX = 4, N = BLOCKS * TXS_PER_BLOCK * LOGS_PER_TX };
    nox_rpc_log *logs = calloc(N, sizeof *logs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(logs);
    uint8_t w[6][32];
    words_for(add->op, 0x10, w);
    size_t k = N;
    for (uint64_t b = 0; b < BLOCKS; b++)
        for (unsigned t = 0; t < TXS_PER_BLOCK; t++)
            for (unsigned l = 0; l < LOGS_PER_TX; l++) {
                nox_rpc_log *lg = &logs[--k];
                *lg = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 100 + b, t * LOGS_PER_TX + l, 0);
                lg->tx_hash[0] = (uint8_t)b;
                lg->tx_hash[1] = (uint8_t)t;
            }
    nox_event_tx *txs;
    size_t n;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_events_group(logs, N, CHAIN, COMPUTE, &txs, &n, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(n, BLOCKS * TXS_PER_BLOCK);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(txs[i].block_number, 100 + i / TXS_PER_BLOCK);
        CU_ASSERT_EQUAL(txs[i].tx_hash[1], i % TXS_PER_BLOCK);
        CU_ASSERT_EQUAL(txs[i].msg.n_events, LOGS_PER_TX);
        for (size_t e = 0; e < txs[i].msg.n_events; e++)
            CU_ASSERT_EQUAL(txs[i].msg.events[e].log_index, (i % TXS_PER_BLOCK) * LOGS_PER_TX + e);
    }
    nox_event_txs_free(txs, n);
    free_logs(logs, N);
    free(logs);
}

/* ---- the generic Compute event (docs/PROTOCOL-EXTENSIONS.md) -------------------------------------- */

static void put_word(uint8_t *w, uint64_t v) {
    memset(w, 0, 32);
    for (int i = 0; i < 8; i++) w[31 - i] = (uint8_t)(v >> (8 * i));
}

/* A canonical Compute log: abi.encode(uint16 id, bytes32[n_in] inputs, bytes32[n_out] outputs). */
static nox_rpc_log compute_log(uint64_t id, size_t n_in, size_t n_out, uint64_t log_index, uint8_t tx) {
    uint8_t w[3 + 1 + 9 + 1 + 9][32];
    size_t n = 0;
    put_word(w[n++], id);
    put_word(w[n++], 96);
    put_word(w[n++], 96 + 32 * (1 + n_in));
    put_word(w[n++], n_in);
    for (size_t i = 0; i < n_in; i++, n++) {
        nox_handle h = handle((uint8_t)(0x40 + i), NOX_TYPE_UINT64);
        memcpy(w[n], h.bytes, 32);
    }
    put_word(w[n++], n_out);
    for (size_t i = 0; i < n_out; i++, n++) {
        nox_handle h = handle((uint8_t)(0x60 + i), NOX_TYPE_UINT64);
        memcpy(w[n], h.bytes, 32);
    }
    return make_log(nox_event_compute(), 0x22, (const uint8_t(*)[32])w, n, 9, log_index, tx);
}

static void test_compute_table(void) {
    const nox_event_def *c = nox_event_compute();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NULL(c->op);
    CU_ASSERT_PTR_EQUAL(nox_event_at(nox_event_count() - 1), c);
    CU_ASSERT_STRING_EQUAL(c->signature, "Compute(address,uint16,bytes32[],bytes32[])");
    uint8_t t[32];
    nox_keccak256(c->signature, strlen(c->signature), t);
    CU_ASSERT_EQUAL(memcmp(c->topic0, t, 32), 0);
    CU_ASSERT_PTR_EQUAL(nox_event_by_topic(t), c);
    char name[NOX_MESSAGE_MAX_NAME + 1];
    CU_ASSERT_STRING_EQUAL(nox_event_default_name(1000, name), "operator_1000");
}

static void test_compute_decode(void) {
    size_t shapes[][2] = {{1, 1}, {2, 1}, {3, 3}, {8, 8}, {1, 8}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        nox_rpc_log l = compute_log(1000 + s, shapes[s][0], shapes[s][1], 4, 0xc1);
        nox_message_event e;
        nox_error err = {0};
        CU_ASSERT_EQUAL(nox_event_decode(&l, &e, &err), NOX_OK);
        CU_ASSERT_PTR_NULL(e.op);
        CU_ASSERT_EQUAL(e.operator_id, 1000 + s);
        CU_ASSERT_EQUAL(e.log_index, 4);
        CU_ASSERT_EQUAL(e.n_inputs, shapes[s][0]);
        CU_ASSERT_EQUAL(e.n_outputs, shapes[s][1]);
        char want[32];
        snprintf(want, sizeof want, "operator_%zu", 1000 + s);
        CU_ASSERT_STRING_EQUAL(e.name, want);
        for (size_t i = 0; i < shapes[s][0]; i++) {
            nox_handle h = handle((uint8_t)(0x40 + i), NOX_TYPE_UINT64);
            CU_ASSERT_EQUAL(memcmp(e.inputs[i].bytes, h.bytes, 32), 0);
        }
        for (size_t i = 0; i < shapes[s][1]; i++) {
            nox_handle h = handle((uint8_t)(0x60 + i), NOX_TYPE_UINT64);
            CU_ASSERT_EQUAL(memcmp(e.outputs[i].bytes, h.bytes, 32), 0);
        }
        free(l.data);
    }
    nox_rpc_log l = compute_log(65535, 1, 1, 0, 0xc1);
    nox_message_event e;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_event_decode(&l, &e, &err), NOX_OK);
    CU_ASSERT_EQUAL(e.operator_id, 65535);
    free(l.data);
}

static void test_compute_malformed(void) {
    struct {
        const char *frag;
        nox_rpc_log l;
    } cases[16];
    size_t n = 0;
    nox_rpc_log l;
    /* operatorId */
    cases[n++] = (__typeof__(cases[0])){"operatorId 63 is below 64", compute_log(63, 1, 1, 0, 1)};
    l = compute_log(64, 1, 1, 0, 1);
    l.data[0] = 1;
    cases[n++] = (__typeof__(cases[0])){"operatorId is not a uint16", l};
    l = compute_log(65536, 1, 1, 0, 1);
    cases[n++] = (__typeof__(cases[0])){"operatorId is not a uint16", l};
    /* offsets */
    l = compute_log(64, 1, 1, 0, 1);
    l.data[63] = 0x40;
    cases[n++] = (__typeof__(cases[0])){"the offset of inputs is not 96", l};
    l = compute_log(64, 1, 1, 0, 1);
    l.data[32] = 0xff; /* a huge offset */
    cases[n++] = (__typeof__(cases[0])){"the offset of inputs is not 96", l};
    l = compute_log(64, 2, 1, 0, 1);
    l.data[95] = 0xa0;
    cases[n++] = (__typeof__(cases[0])){"the offset of outputs is not 192", l};
    /* lengths */
    l = compute_log(64, 1, 1, 0, 1);
    l.data[96 + 31] = 0;
    cases[n++] = (__typeof__(cases[0])){"inputs must hold 1..8 handles", l};
    cases[n++] = (__typeof__(cases[0])){"inputs must hold 1..8 handles", compute_log(64, 9, 1, 0, 1)};
    cases[n++] = (__typeof__(cases[0])){"outputs must hold 1..8 handles", compute_log(64, 1, 9, 0, 1)};
    l = compute_log(64, 1, 1, 0, 1);
    l.data[96] = 0x80; /* a length word with high bytes */
    cases[n++] = (__typeof__(cases[0])){"inputs must hold 1..8 handles", l};
    l = compute_log(64, 1, 2, 0, 1);
    l.data[160 + 31] = 3; /* says 3 outputs, carries 2 */
    cases[n++] = (__typeof__(cases[0])){"data is 256 bytes, expected 288", l};
    l = compute_log(64, 1, 1, 0, 1);
    l.data_len -= 32; /* cut short */
    cases[n++] = (__typeof__(cases[0])){"data is 192 bytes, expected 224", l};
    l = compute_log(64, 1, 1, 0, 1);
    l.data_len = 64;
    cases[n++] = (__typeof__(cases[0])){"shorter than the 96-byte head", l};
    l = compute_log(64, 1, 1, 0, 1);
    l.data = realloc(l.data, l.data_len + 32);
    memset(l.data + l.data_len, 0, 32);
    l.data_len += 32; /* a trailing word */
    cases[n++] = (__typeof__(cases[0])){"data is 256 bytes, expected 224", l};
    l = compute_log(64, 1, 1, 0, 1);
    l.n_topics = 1;
    cases[n++] = (__typeof__(cases[0])){"1 topics, expected 2", l};
    for (size_t i = 0; i < n; i++) {
        nox_message_event e;
        nox_error err = {0};
        CU_ASSERT_EQUAL(nox_event_decode(&cases[i].l, &e, &err), NOX_ERR_INVALID);
        ASSERT_CONTAINS(err.message, cases[i].frag);
        ASSERT_CONTAINS(err.message, "(Compute)");
        CU_ASSERT_EQUAL(e.n_inputs, 0);
        free(cases[i].l.data);
    }
}

static void test_compute_group(void) {
    const nox_event_def *add = nox_event_for_operation(nox_operation_by_name("add"));
    uint8_t w[6][32];
    words_for(add->op, 0x10, w);
    nox_rpc_log logs[4];
    logs[0] = make_log(add, 0x22, (const uint8_t(*)[32])w, 3, 9, 0, 0xd1);
    logs[1] = compute_log(1000, 2, 2, 1, 0xd1); /* mixed with a protocol event in one transaction */
    logs[2] = compute_log(1000, 9, 1, 2, 0xd2); /* more than 8 inputs: the transaction is dead-lettered */
    logs[3] = compute_log(64, 1, 1, 3, 0xd3);
    memset(logs[3].data + 6 * 32, 0, 32); /* a zero output handle: decodes, fails validation */
    nox_event_tx *txs;
    size_t n;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_events_group(logs, 4, CHAIN, COMPUTE, &txs, &n, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(txs[0].status, NOX_OK);
    CU_ASSERT_EQUAL_FATAL(txs[0].msg.n_events, 2);
    CU_ASSERT_PTR_NOT_NULL(txs[0].msg.events[0].op);
    CU_ASSERT_PTR_NULL(txs[0].msg.events[1].op);
    CU_ASSERT_STRING_EQUAL(txs[0].msg.events[1].name, "operator_1000");
    char *json = NULL;
    CU_ASSERT_EQUAL(nox_message_to_json(&txs[0].msg, &json, &err), NOX_OK);
    ASSERT_CONTAINS(json, "\"type\":\"operator_1000\",\"operatorId\":1000,\"inputs\":[\"0x");
    free(json);
    CU_ASSERT_EQUAL(txs[1].status, NOX_ERR_INVALID);
    ASSERT_CONTAINS(txs[1].error.message, "log 2 (Compute): inputs must hold 1..8 handles");
    CU_ASSERT_EQUAL(txs[2].status, NOX_ERR_INVALID);
    ASSERT_CONTAINS(txs[2].error.message, "events[0].outputs[0]");
    nox_event_txs_free(txs, n);
    free_logs(logs, 4);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"the two topics of spec §9", test_known_topics},
        {"one event per operation, fields in message order", test_table_matches_operations},
        {"decoding every event type", test_decode_every_event},
        {"malformed logs: lengths, topics, caller, teeType", test_decode_malformed},
        {"grouping: order across transactions and blocks, caller, skipped events", test_group_orders_and_builds},
        {"grouping: a bad transaction is refused whole", test_group_bad_transaction},
        {"grouping: inconsistent node answers", test_group_inconsistent_answers},
        {"grouping: 400 logs in reverse order", test_group_many},
        {"Compute: table entry and default name", test_compute_table},
        {"Compute: decoding 1..8 inputs and outputs", test_compute_decode},
        {"Compute: malformed logs (offsets, lengths, more than 8 entries, id)", test_compute_malformed},
        {"Compute: grouped with protocol events; bad ones dead-letter the transaction", test_compute_group},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("events", tests);
}
