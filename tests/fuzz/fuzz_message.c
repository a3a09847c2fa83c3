/*
 * nox_message_parse (core/wire/message.c): the queue's TransactionMessage.
 * Invariants: a parsed message (events, a failure notice's failed outputs, or both) validates,
 * serialises, and parses back equal;
 * an error has a status and a non-empty message of printable ASCII (it goes
 * into a NATS header as the dead-letter reason).
 */
#include "fuzz_util.h"
#include "nox/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nox_message m, again;
    nox_error err = {0};
    nox_status st = nox_message_parse((const char *)data, size, &m, &err);
    if (st) {
        FUZZ_CHECK(m.events == NULL && m.n_events == 0 && m.failed == NULL && m.n_failed == 0);
        FUZZ_CHECK(err.message[0] != '\0');
        for (const char *p = err.message; *p; p++) FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
        nox_message_free(&m);
        return 0;
    }
    FUZZ_CHECK(m.n_events + m.n_failed >= 1 && m.n_events <= NOX_MESSAGE_MAX_EVENTS);
    FUZZ_CHECK(m.n_failed <= NOX_MESSAGE_MAX_FAILED && (m.n_failed == 0 || m.failure_reason[0] != '\0'));
    FUZZ_CHECK(nox_message_validate(&m, &err) == NOX_OK);
    for (size_t i = 0; i < m.n_events; i++) {
        const nox_message_event *e = &m.events[i];
        FUZZ_CHECK(nox_message_event_type(e) != NULL);
        FUZZ_CHECK(nox_message_event_n_inputs(e) <= NOX_MESSAGE_MAX_ARITY);
        FUZZ_CHECK(nox_message_event_n_outputs(e) <= NOX_MESSAGE_MAX_ARITY);
        (void)nox_message_event_operator_id(e);
    }
    char *json = NULL;
    FUZZ_CHECK(nox_message_to_json(&m, &json, &err) == NOX_OK);
    FUZZ_CHECK(nox_message_parse(json, strlen(json), &again, &err) == NOX_OK);
    FUZZ_CHECK(nox_message_equal(&m, &again));
    char id[NOX_MESSAGE_ID_LEN + 1];
    nox_message_id(m.chain_id, m.tx_hash, id);
    FUZZ_CHECK(strlen(id) == NOX_MESSAGE_ID_LEN);
    free(json);
    nox_message_free(&again);
    nox_message_free(&m);
    nox_message_free(&m); /* documented harmless */
    return 0;
}
