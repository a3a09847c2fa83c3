/*
 * budget_sizes — measures what NoxCompute's per-transaction budget (MAX_EVENTS_PER_TRANSACTION)
 * has to fit, with core's own serialiser, and checks the derivation of docs/PROTOCOL-EXTENSIONS.md
 * §7 (test contracts_budget_derivation):
 *
 *   - the largest event: a Compute with 8 inputs and 8 outputs, a 63-character `type`, the
 *     largest logIndex and operatorId, in a TransactionMessage (nox_message_to_json);
 *   - a whole TransactionMessage of BUDGET such events (what the Ingestor publishes to NATS);
 *   - the same event as a raw log in a dead letter: {"logIndex", "address", "topics", "data"},
 *     the shape services/ingestor/dead_letter.c writes, data = the Compute event's ABI encoding.
 *
 * usage: budget_sizes BUDGET   prints the sizes; exits 1 when BUDGET events do not fit with the
 * required margins (the message: NATS's default max_payload / 2 and NOX_MESSAGE_MAX_SIZE; the
 * raw logs: max_payload / 2; BUDGET <= NOX_MESSAGE_MAX_EVENTS).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/message.h"

#define NATS_DEFAULT_MAX_PAYLOAD (1024u * 1024u)
#define ARITY NOX_MESSAGE_MAX_ARITY

static void fill(uint8_t *p, size_t n, uint8_t v) { memset(p, v, n); }

/* The largest generic event at log index `index` (every handle a valid one of chain 4294967295). */
static void largest_event(nox_message_event *e, uint64_t index) {
    memset(e, 0, sizeof *e);
    e->log_index = index;
    fill(e->caller, sizeof e->caller, 0xab);
    e->op = NULL;
    e->operator_id = 65535;
    memset(e->name, 'z', NOX_MESSAGE_MAX_NAME);
    e->name[NOX_MESSAGE_MAX_NAME] = '\0';
    e->n_inputs = e->n_outputs = ARITY;
    for (unsigned i = 0; i < ARITY; i++) {
        nox_handle *hs[2] = {&e->inputs[i], &e->outputs[i]};
        for (int k = 0; k < 2; k++) {
            fill(hs[k]->bytes, 26, 0xcd);
            fill(hs[k]->bytes + 26, 4, 0xff); /* chain id 2^32 - 1 */
            hs[k]->bytes[30] = 35;            /* uint256 */
            hs[k]->bytes[31] = 0;
        }
    }
}

/* Size of a message of `n` largest events (block number and log indexes at their largest). */
static size_t message_size(size_t n) {
    nox_message m;
    memset(&m, 0, sizeof m);
    m.chain_id = 0xffffffffu;
    fill(m.caller, sizeof m.caller, 0xab);
    m.block_number = NOX_MESSAGE_MAX_INTEGER;
    fill(m.tx_hash, sizeof m.tx_hash, 0xef);
    m.n_events = n;
    m.events = calloc(n, sizeof *m.events);
    if (!m.events) return 0;
    for (size_t i = 0; i < n; i++) largest_event(&m.events[i], NOX_MESSAGE_MAX_INTEGER - n + i);
    char *json = NULL;
    nox_error err = {0};
    size_t size = nox_message_to_json(&m, &json, &err) ? 0 : strlen(json);
    if (!size) fprintf(stderr, "budget_sizes: nox_message_to_json: %s\n", err.message);
    free(json);
    free(m.events);
    return size;
}

/* The Compute event as a raw log in a dead letter: data = abi.encode(uint16, bytes32[8], bytes32[8]). */
static size_t raw_log_size(void) {
    size_t words = 3 + 1 + ARITY + 1 + ARITY;
    char data[2 + 2 * 32 * (3 + 2 + 2 * ARITY) + 1];
    memcpy(data, "0x", 2);
    memset(data + 2, 'c', 2 * 32 * words);
    data[2 + 2 * 32 * words] = '\0';
    char topic[67] = "0x";
    memset(topic + 2, 'd', 64);
    topic[66] = '\0';
    json_t *o = json_pack("{s:I, s:s, s:[s, s], s:s}", "logIndex", (json_int_t)NOX_MESSAGE_MAX_INTEGER, "address",
                          "0xabababababababababababababababababababab", "topics", topic, topic, "data", data);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    size_t size = text ? strlen(text) : 0;
    free(text);
    json_decref(o);
    return size;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: budget_sizes BUDGET\n");
        return 2;
    }
    char *end;
    size_t budget = strtoul(argv[1], &end, 10);
    if (*end || budget == 0 || budget > NOX_MESSAGE_MAX_EVENTS * 4) {
        fprintf(stderr, "budget_sizes: BUDGET must be a number of events, got '%s'\n", argv[1]);
        return 2;
    }
    size_t one = message_size(1), per_event = message_size(2) - one, all = message_size(budget);
    size_t log = raw_log_size();
    if (!one || !all || !log) return 1;
    printf("largest event in a TransactionMessage: %zu bytes\n", per_event);
    printf("TransactionMessage of %zu largest events: %zu bytes (NOX_MESSAGE_MAX_SIZE %u, NATS max_payload %u: "
           "margin %.2fx)\n",
           budget, all, NOX_MESSAGE_MAX_SIZE, NATS_DEFAULT_MAX_PAYLOAD, (double)NATS_DEFAULT_MAX_PAYLOAD / (double)all);
    printf("largest event as a raw log in a dead letter: %zu bytes; %zu of them: %zu bytes (margin %.2fx)\n", log,
           budget, budget * (log + 1), (double)NATS_DEFAULT_MAX_PAYLOAD / (double)(budget * (log + 1)));
    printf("events: %zu of NOX_MESSAGE_MAX_EVENTS %u\n", budget, NOX_MESSAGE_MAX_EVENTS);
    int ok = 2 * all <= NATS_DEFAULT_MAX_PAYLOAD && all <= NOX_MESSAGE_MAX_SIZE &&
             2 * budget * (log + 1) <= NATS_DEFAULT_MAX_PAYLOAD && budget <= NOX_MESSAGE_MAX_EVENTS;
    printf("%s\n", ok ? "fits with a 2x margin" : "DOES NOT FIT with a 2x margin");
    return ok ? 0 : 1;
}
