/*
 * NoxCompute log decoding and grouping (core/chain/events.c): nox_event_decode
 * on each log, then nox_events_group on all of them, as the Ingestor does with
 * an eth_getLogs answer.
 *
 * Input (binary), repeated per log (at most 64):
 *   u8 event    index into nox_event_at() (mod count+1; count+1 = a raw topic0 of 32 input bytes)
 *   u8 flags    bits 0-2 topic count (5..7 -> 2), bit 3 removed, bit 4 another contract address,
 *               bit 5 a raw caller topic (32 input bytes), bit 6 data words built as valid handles
 *   u8 block, u8 tx, u8 logIndex, u8 caller
 *   u16 length  of the data (at most 2048); then the data: raw bytes, or with bit 6
 *               length/32 words each from 2 bytes (prehandle fill, type code): a handle of chain 31337
 * Invariants: the documented statuses only; every message built validates and
 * survives nox_message_to_json -> nox_message_parse unchanged; no leak.
 */
#include "fuzz_util.h"
#include "nox/events.h"
#include "nox/handle.h"

#define CHAIN 31337u
#define MAX_LOGS 64

static const uint8_t COMPUTE[NOX_ADDRESS_SIZE] = {0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0,
                                                  0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x01};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reader r = {data, size};
    nox_rpc_log logs[MAX_LOGS];
    size_t n = 0, count = nox_event_count();
    while (r.n && n < MAX_LOGS) {
        nox_rpc_log *l = &logs[n++];
        memset(l, 0, sizeof *l);
        size_t ev = fuzz_u8(&r) % (count + 1);
        uint8_t flags = fuzz_u8(&r);
        l->block_number = fuzz_u8(&r);
        memset(l->block_hash, (int)(0xb0 ^ l->block_number), 32);
        memset(l->tx_hash, fuzz_u8(&r), 32);
        l->log_index = fuzz_u8(&r);
        uint8_t caller = fuzz_u8(&r);
        memcpy(l->address, COMPUTE, NOX_ADDRESS_SIZE);
        if (flags & 0x10) l->address[0] ^= 1;
        l->removed = (flags >> 3) & 1;
        l->n_topics = flags & 7;
        if (l->n_topics > NOX_RPC_MAX_TOPICS) l->n_topics = 2;
        if (ev < count) memcpy(l->topics[0], nox_event_at(ev)->topic0, 32);
        else fuzz_bytes(&r, l->topics[0], 32);
        if (flags & 0x20) fuzz_bytes(&r, l->topics[1], 32);
        else memset(l->topics[1] + 12, caller, 20);
        for (size_t t = 2; t < NOX_RPC_MAX_TOPICS; t++) memset(l->topics[t], (int)t, 32);
        size_t len = fuzz_u16(&r) % 2049;
        l->data_len = len;
        l->data = len ? malloc(len) : NULL;
        if (len && !l->data) abort();
        if ((flags & 0x40) && len) {
            memset(l->data, 0, len);
            for (size_t w = 0; w + 32 <= len; w += 32) {
                uint8_t pre[NOX_PREHANDLE_SIZE];
                memset(pre, fuzz_u8(&r), sizeof pre);
                nox_handle h;
                nox_handle_make(&h, pre, CHAIN, fuzz_u8(&r));
                memcpy(l->data + w, h.bytes, 32);
            }
        } else if (len) {
            fuzz_bytes(&r, l->data, len);
        }
    }

    for (size_t i = 0; i < n; i++) {
        nox_message_event e;
        nox_error err = {0};
        nox_status st = nox_event_decode(&logs[i], &e, &err);
        FUZZ_CHECK(st == NOX_OK || st == NOX_ERR_NOT_FOUND || st == NOX_ERR_INVALID);
        if (st == NOX_OK) {
            FUZZ_CHECK(e.log_index == logs[i].log_index);
            FUZZ_CHECK(nox_message_event_n_inputs(&e) <= NOX_MESSAGE_MAX_ARITY);
            FUZZ_CHECK(nox_message_event_n_outputs(&e) >= 1 && nox_message_event_n_outputs(&e) <= NOX_MESSAGE_MAX_ARITY);
            if (!e.op) FUZZ_CHECK(e.operator_id >= 64 && e.n_inputs >= 1 && nox_message_valid_generic_name(e.name));
        } else {
            FUZZ_CHECK(err.message[0] != '\0');
        }
    }

    nox_event_tx *txs = NULL;
    size_t n_txs = 0;
    nox_error err = {0};
    nox_status st = nox_events_group(logs, n, CHAIN, COMPUTE, &txs, &n_txs, &err);
    FUZZ_CHECK(st == NOX_OK || st == NOX_ERR_INVALID);
    if (st == NOX_OK) {
        for (size_t i = 0; i < n_txs; i++) {
            nox_event_tx *tx = &txs[i];
            FUZZ_CHECK(tx->n_logs >= 1);
            for (size_t k = 1; k < tx->n_logs; k++) FUZZ_CHECK(tx->logs[k - 1]->log_index < tx->logs[k]->log_index);
            if (tx->status != NOX_OK) {
                FUZZ_CHECK(tx->msg.n_events == 0 && tx->error.message[0]);
                continue;
            }
            FUZZ_CHECK(tx->msg.chain_id == CHAIN && tx->msg.n_events >= 1);
            FUZZ_CHECK(nox_message_validate(&tx->msg, &err) == NOX_OK);
            char *json = NULL;
            nox_message back;
            FUZZ_CHECK(nox_message_to_json(&tx->msg, &json, &err) == NOX_OK);
            FUZZ_CHECK(nox_message_parse(json, strlen(json), &back, &err) == NOX_OK);
            FUZZ_CHECK(nox_message_equal(&tx->msg, &back));
            nox_message_free(&back);
            free(json);
        }
        nox_event_txs_free(txs, n_txs);
    } else {
        FUZZ_CHECK(txs == NULL && err.message[0]);
    }
    for (size_t i = 0; i < n; i++) free(logs[i].data);
    return 0;
}
