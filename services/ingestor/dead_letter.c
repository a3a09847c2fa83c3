/*
 * What the Ingestor publishes for a transaction it cannot queue as it is
 * (docs/PROTOCOL-EXTENSIONS.md §5):
 *
 *   - a dead letter on nox_dead.<txHash>, for an operator: the transaction,
 *     its block, the reason and its first ING_DEAD_LETTER_MAX_LOGS raw logs
 *     (each one's data cut at ING_DEAD_LETTER_MAX_DATA bytes) with counts,
 *     so that it always fits a NATS message whatever the transaction holds;
 *   - failure notices on the work stream, for the Runners: the output
 *     handles of the transaction that the Ingestor knows of, with the reason,
 *     so that each gets a failure record instead of staying pending forever.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingestor.h"
#include "nox/events.h"
#include "nox/hex.h"

/* A raw log as JSON: logIndex, address, topics, data (cut at ING_DEAD_LETTER_MAX_DATA bytes, dataLength then). */
static json_t *log_json(const nox_rpc_log *l) {
    char h[67], a[2 * NOX_ADDRESS_SIZE + 3];
    json_t *topics = json_array();
    for (size_t t = 0; topics && t < l->n_topics; t++)
        if (json_array_append_new(topics, json_string(nox_hex_encode(l->topics[t], 32, h)))) {
            json_decref(topics);
            topics = NULL;
        }
    size_t shown = l->data_len < ING_DEAD_LETTER_MAX_DATA ? l->data_len : ING_DEAD_LETTER_MAX_DATA;
    char *data = malloc(2 * shown + 3);
    json_t *o = NULL;
    if (topics && data) /* "o" steals topics, also when the pack fails */
        o = json_pack("{s:I, s:s, s:o, s:s}", "logIndex", (json_int_t)l->log_index, "address",
                      nox_hex_encode(l->address, NOX_ADDRESS_SIZE, a), "topics", topics, "data",
                      nox_hex_encode(l->data, shown, data));
    else
        json_decref(topics);
    free(data);
    if (o && shown < l->data_len && json_object_set_new(o, "dataLength", json_integer((json_int_t)l->data_len))) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

char *ing_dead_letter_body(uint32_t chain_id, const nox_event_tx *tx, const char *reason) {
    char h[67], bh[67];
    size_t n = tx->n_logs < ING_DEAD_LETTER_MAX_LOGS ? tx->n_logs : ING_DEAD_LETTER_MAX_LOGS;
    json_t *logs = json_array();
    for (size_t i = 0; logs && i < n; i++)
        if (json_array_append_new(logs, log_json(tx->logs[i]))) {
            json_decref(logs);
            logs = NULL;
        }
    json_t *body = logs ? json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:o}", "chainId", (json_int_t)chain_id,
                                    "blockNumber", (json_int_t)tx->block_number, "blockHash",
                                    nox_hex_encode(tx->block_hash, 32, bh), "transactionHash",
                                    nox_hex_encode(tx->tx_hash, 32, h), "reason", reason, "logCount",
                                    (json_int_t)tx->n_logs, "logsOmitted", (json_int_t)(tx->n_logs - n), "logs", logs)
                        : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    return text;
}

static int by_handle(const void *a, const void *b) { return memcmp(a, b, NOX_HANDLE_SIZE); }

size_t ing_known_outputs(const nox_event_tx *tx, uint32_t chain_id, nox_handle **out) {
    size_t cap = 0;
    if (tx->status == NOX_OK) {
        for (size_t i = 0; i < tx->msg.n_events; i++) cap += nox_message_event_n_outputs(&tx->msg.events[i]);
    } else {
        cap = tx->n_logs * NOX_MESSAGE_MAX_ARITY;
    }
    nox_handle *hs = calloc(cap ? cap : 1, sizeof *hs);
    *out = hs;
    if (!hs) return 0;
    size_t n = 0;
    for (size_t i = 0; i < (tx->status == NOX_OK ? tx->msg.n_events : tx->n_logs); i++) {
        nox_message_event decoded;
        const nox_message_event *e = &decoded;
        if (tx->status == NOX_OK) e = &tx->msg.events[i];
        else if (nox_event_decode(tx->logs[i], &decoded, NULL)) continue; /* its outputs are unknown */
        for (unsigned k = 0; k < nox_message_event_n_outputs(e) && n < cap; k++)
            if (nox_handle_validate(&e->outputs[k], &chain_id, 1, NULL) == NOX_OK) hs[n++] = e->outputs[k];
    }
    qsort(hs, n, sizeof *hs, by_handle);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!kept || memcmp(hs[kept - 1].bytes, hs[i].bytes, NOX_HANDLE_SIZE)) hs[kept++] = hs[i];
    return kept;
}

nox_status ing_failure_notice(uint32_t chain_id, const nox_event_tx *tx, const char *reason, const nox_handle *outs,
                              size_t n, char **json, nox_error *err) {
    nox_message m;
    memset(&m, 0, sizeof m);
    m.chain_id = chain_id;
    m.block_number = tx->block_number;
    memcpy(m.tx_hash, tx->tx_hash, 32);
    /* the caller of the transaction's first event that decodes (the Runner's authorization names it) */
    for (size_t i = 0; i < tx->n_logs; i++) {
        nox_message_event e;
        if (nox_event_decode(tx->logs[i], &e, NULL) == NOX_OK) {
            memcpy(m.caller, e.caller, NOX_ADDRESS_SIZE);
            break;
        }
    }
    /* the reason as a record can hold it: printable ASCII, at most NOX_MESSAGE_MAX_REASON bytes */
    size_t len = 0;
    for (; reason[len] && len < NOX_MESSAGE_MAX_REASON; len++)
        m.failure_reason[len] = reason[len] >= 0x20 && reason[len] < 0x7f ? reason[len] : '?';
    m.failure_reason[len] = '\0';
    m.failed = (nox_handle *)outs; /* read only: nox_message_to_json does not free */
    m.n_failed = n;
    return nox_message_to_json(&m, json, err);
}
