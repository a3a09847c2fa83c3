/*
 * The Runner's first step on every delivered message: is it signed by a trusted Ingestor, over exactly
 * what was delivered (docs/PROTOCOL-EXTENSIONS.md §8)? Nothing else is done with a message before this
 * answers NOX_QUEUE_OK: no operand is fetched, the Gateway is not contacted, no failure is recorded.
 *
 * Order, cheapest first, so that an unsigned or foreign message costs no more than a few header reads:
 *   1. the headers, each at most once (a repeated header is ambiguous: which one did the signer mean?);
 *   2. Nox-Signature's form (hex, v, r and s, low s) and Nox-Signer among ingestor_addresses — no byte of
 *      the body read yet;
 *   3. the body's size (at most NOX_MESSAGE_MAX_SIZE, as the pipeline accepts) and its chain id (one JSON
 *      parse, no I/O: nox_queue_chain_id);
 *   4. the signature over the stream that stored it (JetStream's metadata, not our configuration: a copy
 *      planted in another stream the consumer reads would not match), its subject, its Nox-Dead-Reason
 *      and its body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/message.h"
#include "runner.h"

/* The header `name` of m: *value NULL when absent; 1 when it appears more than once (refused). */
static int header_once(natsMsg *m, const char *name, const char **value) {
    const char **values = NULL;
    int count = 0;
    *value = NULL;
    if (natsMsgHeader_Values(m, name, &values, &count) != NATS_OK) return 0; /* absent (or no headers at all) */
    if (count == 1) *value = values[0];
    free((void *)values);
    return count > 1;
}

nox_queue_verdict run_authenticate(const run_state *st, natsMsg *m, char *why, size_t cap) {
    static const char *const names[] = {NOX_QUEUE_HEADER_SIGNATURE, NOX_QUEUE_HEADER_SIGNER, NOX_QUEUE_HEADER_REASON};
    const char *values[3];
    for (size_t i = 0; i < 3; i++)
        if (header_once(m, names[i], &values[i])) {
            snprintf(why, cap, "header %s appears more than once", names[i]);
            return NOX_QUEUE_MALFORMED;
        }
    nox_error e = {0};
    nox_queue_auth a;
    nox_queue_verdict v = nox_queue_check_headers(values[0], values[1], st->cfg.ingestors[0], st->cfg.n_ingestors,
                                                  &a, &e);
    if (v != NOX_QUEUE_OK) {
        snprintf(why, cap, "%s", e.message);
        return v;
    }
    int len = natsMsg_GetDataLength(m);
    if (len < 0 || (size_t)len > NOX_MESSAGE_MAX_SIZE) {
        snprintf(why, cap, "a body of %d bytes, more than any queue message (%u)", len, NOX_MESSAGE_MAX_SIZE);
        return NOX_QUEUE_MALFORMED;
    }
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) != NATS_OK || !meta || !meta->Stream) {
        if (meta) jsMsgMetaData_Destroy(meta);
        snprintf(why, cap, "no JetStream metadata: the stream that stored the message is unknown");
        return NOX_QUEUE_MALFORMED;
    }
    nox_queue_message q = nox_queue_message_of(meta->Stream, natsMsg_GetSubject(m), values[2], natsMsg_GetData(m),
                                               (size_t)len);
    v = nox_queue_check_message(&a, &q, &e);
    jsMsgMetaData_Destroy(meta);
    if (v != NOX_QUEUE_OK) snprintf(why, cap, "%s", e.message);
    return v;
}
