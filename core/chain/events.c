/*
 * NoxCompute's events (spec §9): the table, decoding one log, grouping logs
 * per transaction into queue messages (spec §6).
 */
#include "nox/events.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/keccak.h"

/* The operator id of plaintext_to_encrypted (spec §5): the one event with value and teeType. */
#define PLAINTEXT_TO_ENCRYPTED_ID 0

#define WORD 32

/* Index i is operator id i; op and topic0 are filled at first use. */
#define BIN(N) {NULL, N, N "(address,bytes32,bytes32,bytes32)", 3, {"leftHandOperand", "rightHandOperand", "result"}, {0}}
#define SAFE(N)                                                                                                     \
    {NULL, N, N "(address,bytes32,bytes32,bytes32,bytes32)", 4,                                                     \
     {"leftHandOperand", "rightHandOperand", "success", "result"}, {0}}
#define TOKEN6 "(address,bytes32,bytes32,bytes32,bytes32,bytes32,bytes32)"

static nox_event_def events[] = {
    {NULL, "PlaintextToEncrypted", "PlaintextToEncrypted(address,bytes32,uint8,bytes32)", 3,
     {"value", "teeType", "handle"}, {0}},
    BIN("Add"), BIN("Sub"), BIN("Mul"), BIN("Div"),
    SAFE("SafeAdd"), SAFE("SafeSub"), SAFE("SafeMul"), SAFE("SafeDiv"),
    {NULL, "Select", "Select(address,bytes32,bytes32,bytes32,bytes32)", 4,
     {"condition", "ifTrue", "ifFalse", "result"}, {0}},
    BIN("Eq"), BIN("Ne"), BIN("Lt"), BIN("Le"), BIN("Gt"), BIN("Ge"),
    {NULL, "Transfer", "Transfer" TOKEN6, 6,
     {"balanceFrom", "balanceTo", "amount", "success", "newBalanceFrom", "newBalanceTo"}, {0}},
    {NULL, "Mint", "Mint" TOKEN6, 6, {"balanceTo", "amount", "totalSupply", "success", "newBalanceTo", "newTotalSupply"},
     {0}},
    {NULL, "Burn", "Burn" TOKEN6, 6,
     {"balanceFrom", "amount", "totalSupply", "success", "newBalanceFrom", "newTotalSupply"}, {0}},
    /* The generic event of plugin operators (docs/PROTOCOL-EXTENSIONS.md); op stays NULL. */
    {NULL, "Compute", "Compute(address,uint16,bytes32[],bytes32[])", 3, {"operatorId", "inputs", "outputs"}, {0}},
};

enum { N_EVENTS = sizeof events / sizeof events[0], COMPUTE_INDEX = N_EVENTS - 1 };

static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void) {
    for (size_t i = 0; i < N_EVENTS; i++) {
        events[i].op = i == COMPUTE_INDEX ? NULL : nox_operation_by_id((unsigned)i);
        nox_keccak256(events[i].signature, strlen(events[i].signature), events[i].topic0);
    }
}

static void ensure_table(void) { pthread_once(&table_once, table_init); }

size_t nox_event_count(void) { return N_EVENTS; }

const nox_event_def *nox_event_at(size_t i) {
    ensure_table();
    return i < N_EVENTS ? &events[i] : NULL;
}

const nox_event_def *nox_event_compute(void) { return nox_event_at(COMPUTE_INDEX); }

const nox_event_def *nox_event_for_operation(const nox_operation *op) {
    return op && nox_operation_by_id(op->id) == op ? nox_event_at(op->id) : NULL;
}

const nox_event_def *nox_event_by_topic(const uint8_t topic0[32]) {
    ensure_table();
    for (size_t i = 0; i < N_EVENTS; i++)
        if (!memcmp(events[i].topic0, topic0, 32)) return &events[i];
    return NULL;
}

/* ---- one log ------------------------------------------------------------------- */

char *nox_event_default_name(unsigned operator_id, char out[NOX_MESSAGE_MAX_NAME + 1]) {
    snprintf(out, NOX_MESSAGE_MAX_NAME + 1, "operator_%u", operator_id);
    return out;
}

/* A word read as an unsigned number: 1 and *out = its value when it is at most `max`, else 0. */
static int small_word(const uint8_t *w, uint64_t max, uint64_t *out) {
    for (size_t i = 0; i < WORD - 8; i++)
        if (w[i]) return 0;
    uint64_t v = 0;
    for (size_t i = WORD - 8; i < WORD; i++) v = v << 8 | w[i];
    if (v > max) return 0;
    *out = v;
    return 1;
}

/*
 * Compute(address indexed caller, uint16 operatorId, bytes32[] inputs, bytes32[] outputs): data must be
 * the canonical ABI encoding the Solidity compiler emits — the head (operatorId, offset of inputs = 0x60,
 * offset of outputs = 0x60 + 32 * (1 + n_inputs)), then each array as its length and its words, nothing
 * after. Anything else (another offset, a length of 0 or above NOX_MESSAGE_MAX_ARITY, data too short or
 * too long, an operatorId word above 65535 or below 64) is NOX_ERR_INVALID.
 */
static nox_status decode_compute(const nox_rpc_log *log, const nox_event_def *ev, nox_message_event *out,
                                 nox_error *err) {
    const uint8_t *d = log->data;
    size_t len = log->data_len;
    uint64_t id = 0, off_in = 0, off_out = 0, n_in = 0, n_out = 0;
    char why[160];
    if (len < 3 * WORD) {
        snprintf(why, sizeof why, "data is %zu bytes, shorter than the 96-byte head", len);
    } else if (!small_word(d, UINT16_MAX, &id)) {
        snprintf(why, sizeof why, "operatorId is not a uint16 (its word has non-zero upper bytes)");
    } else if (id < NOX_FIRST_EXTENSION_ID) {
        snprintf(why, sizeof why, "operatorId %" PRIu64 " is below %d (ids 0..63 have their own events)", id,
                 NOX_FIRST_EXTENSION_ID);
    } else if (!small_word(d + WORD, len, &off_in) || off_in != 3 * WORD) {
        snprintf(why, sizeof why, "the offset of inputs is not 96 (a non-canonical or corrupt ABI encoding)");
    } else if (len < off_in + WORD || !small_word(d + off_in, NOX_MESSAGE_MAX_ARITY, &n_in) || n_in == 0) {
        snprintf(why, sizeof why, "inputs must hold 1..%u handles (a bad length word, or data cut short)",
                 NOX_MESSAGE_MAX_ARITY);
    } else if (!small_word(d + 2 * WORD, len, &off_out) || off_out != off_in + WORD * (1 + n_in)) {
        snprintf(why, sizeof why, "the offset of outputs is not %" PRIu64 " (a non-canonical or corrupt ABI encoding)",
                 off_in + WORD * (1 + n_in));
    } else if (len < off_out + WORD || !small_word(d + off_out, NOX_MESSAGE_MAX_ARITY, &n_out) || n_out == 0) {
        snprintf(why, sizeof why, "outputs must hold 1..%u handles (a bad length word, or data cut short)",
                 NOX_MESSAGE_MAX_ARITY);
    } else if (len != off_out + WORD * (1 + n_out)) {
        snprintf(why, sizeof why, "data is %zu bytes, expected %" PRIu64 " for %" PRIu64 " input(s) and %" PRIu64
                 " output(s)", len, off_out + WORD * (1 + n_out), n_in, n_out);
    } else {
        why[0] = '\0';
    }
    if (why[0]) {
        memset(out, 0, sizeof *out);
        return nox_error_set(err, NOX_ERR_INVALID, "log %" PRIu64 " (%s): %s", log->log_index, ev->name, why);
    }
    out->operator_id = (uint16_t)id;
    out->n_inputs = (uint8_t)n_in;
    out->n_outputs = (uint8_t)n_out;
    nox_event_default_name(out->operator_id, out->name);
    for (size_t i = 0; i < n_in; i++) memcpy(out->inputs[i].bytes, d + off_in + WORD * (1 + i), WORD);
    for (size_t i = 0; i < n_out; i++) memcpy(out->outputs[i].bytes, d + off_out + WORD * (1 + i), WORD);
    return NOX_OK;
}

nox_status nox_event_decode(const nox_rpc_log *log, nox_message_event *out, nox_error *err) {
    memset(out, 0, sizeof *out);
    if (log->n_topics == 0)
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "log %" PRIu64 ": an anonymous log (no topic) is not a NoxCompute "
                             "operation event", log->log_index);
    const nox_event_def *ev = nox_event_by_topic(log->topics[0]);
    if (!ev) {
        char t[67];
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "log %" PRIu64 ": topic0 %s is not a NoxCompute operation event",
                             log->log_index, nox_hex_encode(log->topics[0], 32, t));
    }
    if (log->n_topics != 2)
        return nox_error_set(err, NOX_ERR_INVALID, "log %" PRIu64 " (%s): %zu topics, expected 2 (topic0 and the "
                             "indexed caller)", log->log_index, ev->name, log->n_topics);
    static const uint8_t zero[WORD] = {0};
    if (memcmp(log->topics[1], zero, WORD - NOX_ADDRESS_SIZE))
        return nox_error_set(err, NOX_ERR_INVALID, "log %" PRIu64 " (%s): the caller topic is not an address (its "
                             "first 12 bytes are not zero)", log->log_index, ev->name);
    if (!ev->op) {
        out->log_index = log->log_index;
        memcpy(out->caller, log->topics[1] + WORD - NOX_ADDRESS_SIZE, NOX_ADDRESS_SIZE);
        return decode_compute(log, ev, out, err);
    }
    if (log->data_len != ev->n_params * WORD)
        return nox_error_set(err, NOX_ERR_INVALID, "log %" PRIu64 " (%s): data is %zu bytes, expected %zu (%zu "
                             "32-byte words)", log->log_index, ev->name, log->data_len, ev->n_params * WORD,
                             ev->n_params);
    out->log_index = log->log_index;
    memcpy(out->caller, log->topics[1] + WORD - NOX_ADDRESS_SIZE, NOX_ADDRESS_SIZE);
    out->op = ev->op;
    const uint8_t *w = log->data;
    if (ev->op->id == PLAINTEXT_TO_ENCRYPTED_ID) {
        /* value, teeType (uint8, right-aligned), handle */
        if (memcmp(w + WORD, zero, WORD - 1)) {
            memset(out, 0, sizeof *out);
            return nox_error_set(err, NOX_ERR_INVALID, "log %" PRIu64 " (%s): teeType is not a uint8 (its word has "
                                 "non-zero upper bytes)", log->log_index, ev->name);
        }
        memcpy(out->value, w, WORD);
        out->tee_type = w[2 * WORD - 1];
        memcpy(out->outputs[0].bytes, w + 2 * WORD, WORD);
        return NOX_OK;
    }
    for (size_t i = 0; i < ev->op->n_inputs; i++, w += WORD) memcpy(out->inputs[i].bytes, w, WORD);
    for (size_t i = 0; i < ev->op->n_outputs; i++, w += WORD) memcpy(out->outputs[i].bytes, w, WORD);
    return NOX_OK;
}

/* ---- grouping ---------------------------------------------------------------------- */

static int by_position(const void *a, const void *b) {
    const nox_rpc_log *x = *(const nox_rpc_log *const *)a, *y = *(const nox_rpc_log *const *)b;
    if (x->block_number != y->block_number) return x->block_number < y->block_number ? -1 : 1;
    return x->log_index < y->log_index ? -1 : x->log_index > y->log_index;
}

static int by_tx_hash(const void *a, const void *b) {
    return memcmp(((const nox_event_tx *)a)->tx_hash, ((const nox_event_tx *)b)->tx_hash, 32);
}

/* Checks what the node's answer promises; the first inconsistency is NOX_ERR_INVALID. */
static nox_status check_answer(const nox_rpc_log **sorted, size_t n, const uint8_t nox_compute[NOX_ADDRESS_SIZE],
                               nox_error *err) {
    char a[67], b[67];
    for (size_t i = 0; i < n; i++) {
        const nox_rpc_log *l = sorted[i];
        if (memcmp(l->address, nox_compute, NOX_ADDRESS_SIZE))
            return nox_error_set(err, NOX_ERR_INVALID, "the node returned a log of %s (block %" PRIu64 ", log %" PRIu64
                                 ") for a filter on %s", nox_hex_encode(l->address, NOX_ADDRESS_SIZE, a),
                                 l->block_number, l->log_index, nox_hex_encode(nox_compute, NOX_ADDRESS_SIZE, b));
        if (l->removed)
            return nox_error_set(err, NOX_ERR_INVALID, "the node flagged log %" PRIu64 " of block %" PRIu64 " as "
                                 "removed: the range is being reorganised", l->log_index, l->block_number);
        if (i == 0 || sorted[i - 1]->block_number != l->block_number) continue;
        if (memcmp(sorted[i - 1]->block_hash, l->block_hash, 32))
            return nox_error_set(err, NOX_ERR_INVALID, "the node returned block %" PRIu64 " with two hashes (%s and "
                                 "%s): the range is being reorganised", l->block_number,
                                 nox_hex_encode(sorted[i - 1]->block_hash, 32, a), nox_hex_encode(l->block_hash, 32, b));
        if (sorted[i - 1]->log_index == l->log_index)
            return nox_error_set(err, NOX_ERR_INVALID, "the node returned log %" PRIu64 " of block %" PRIu64 " twice",
                                 l->log_index, l->block_number);
    }
    return NOX_OK;
}

/* Decodes a transaction's logs and validates the message; failures stay in tx->status / tx->error. */
static nox_status build_message(nox_event_tx *tx, uint32_t chain_id) {
    nox_message *m = &tx->msg;
    m->events = calloc(tx->n_logs, sizeof *m->events);
    if (!m->events) return NOX_ERR_NOMEM;
    m->n_events = tx->n_logs;
    m->chain_id = chain_id;
    m->block_number = tx->block_number;
    memcpy(m->tx_hash, tx->tx_hash, 32);
    nox_status st = NOX_OK;
    for (size_t i = 0; !st && i < tx->n_logs; i++) st = nox_event_decode(tx->logs[i], &m->events[i], &tx->error);
    if (!st) {
        memcpy(m->caller, m->events[0].caller, NOX_ADDRESS_SIZE);
        st = nox_message_validate(m, &tx->error);
    }
    if (st == NOX_ERR_NOMEM) return NOX_ERR_NOMEM;
    tx->status = st;
    if (st) nox_message_free(m);
    else nox_error_clear(&tx->error);
    return NOX_OK;
}

nox_status nox_events_group(const nox_rpc_log *logs, size_t n, uint32_t chain_id,
                            const uint8_t nox_compute[NOX_ADDRESS_SIZE], nox_event_tx **txs, size_t *n_txs,
                            nox_error *err) {
    *txs = NULL;
    *n_txs = 0;
    ensure_table();
    const nox_rpc_log **sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (n && !sorted) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory grouping %zu logs", n);
    for (size_t i = 0; i < n; i++) sorted[i] = &logs[i];
    if (n) qsort(sorted, n, sizeof *sorted, by_position);
    nox_status st = check_answer(sorted, n, nox_compute, err);
    /* Keep only operation events (the filter asks for nothing else; a node ignoring it may send more). */
    size_t kept = 0;
    for (size_t i = 0; !st && i < n; i++)
        if (sorted[i]->n_topics > 0 && nox_event_by_topic(sorted[i]->topics[0])) sorted[kept++] = sorted[i];
    /* Consecutive logs with one hash form a transaction (a transaction's logs are contiguous in its block). */
    nox_event_tx *out = NULL;
    size_t count = 0;
    if (!st && kept) {
        out = calloc(kept, sizeof *out);
        if (!out) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory grouping %zu logs", kept);
    }
    for (size_t i = 0; !st && i < kept; i++) {
        const nox_rpc_log *l = sorted[i];
        if (count && !memcmp(out[count - 1].tx_hash, l->tx_hash, 32) && out[count - 1].block_number == l->block_number) {
            out[count - 1].n_logs++;
            continue;
        }
        nox_event_tx *tx = &out[count++];
        tx->block_number = l->block_number;
        memcpy(tx->block_hash, l->block_hash, 32);
        memcpy(tx->tx_hash, l->tx_hash, 32);
        tx->logs = &sorted[i]; /* re-pointed to its own array below */
        tx->n_logs = 1;
    }
    /* One hash in two groups: the transaction is in two blocks, or its logs are not contiguous. */
    if (!st && count > 1) {
        nox_event_tx *copy = malloc(count * sizeof *copy);
        if (!copy) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory grouping %zu logs", kept);
        if (copy) {
            memcpy(copy, out, count * sizeof *copy);
            qsort(copy, count, sizeof *copy, by_tx_hash);
            for (size_t i = 1; !st && i < count; i++)
                if (!memcmp(copy[i - 1].tx_hash, copy[i].tx_hash, 32)) {
                    char h[67];
                    st = nox_error_set(err, NOX_ERR_INVALID, "the node returned logs of transaction %s in blocks %"
                                       PRIu64 " and %" PRIu64 " or not contiguously",
                                       nox_hex_encode(copy[i].tx_hash, 32, h),
                                       copy[i - 1].block_number < copy[i].block_number ? copy[i - 1].block_number
                                                                                       : copy[i].block_number,
                                       copy[i - 1].block_number < copy[i].block_number ? copy[i].block_number
                                                                                       : copy[i - 1].block_number);
                }
            free(copy);
        }
    }
    /* Each transaction gets its own array of log pointers, so the sorted scratch array can go. */
    for (size_t i = 0; !st && i < count; i++) {
        const nox_rpc_log **own = malloc(out[i].n_logs * sizeof *own);
        if (!own) {
            for (size_t j = 0; j < i; j++) free((void *)out[j].logs);
            st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory grouping %zu logs", kept);
            break;
        }
        memcpy(own, out[i].logs, out[i].n_logs * sizeof *own);
        out[i].logs = own;
    }
    free(sorted);
    if (st) { /* no transaction owns anything yet (or any more) */
        free(out);
        return st;
    }
    for (size_t i = 0; i < count; i++)
        if (build_message(&out[i], chain_id)) {
            nox_event_txs_free(out, count);
            return nox_error_set(err, NOX_ERR_NOMEM, "out of memory decoding %zu logs", kept);
        }
    *txs = count ? out : NULL;
    *n_txs = count;
    if (!count) free(out);
    return NOX_OK;
}

void nox_event_txs_free(nox_event_tx *txs, size_t n) {
    if (!txs) return;
    for (size_t i = 0; i < n; i++) {
        nox_message_free(&txs[i].msg);
        free((void *)txs[i].logs);
    }
    free(txs);
}
