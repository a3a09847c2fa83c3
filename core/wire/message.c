/*
 * The queue's TransactionMessage (spec §6) over jansson: strict parsing,
 * validation, compact serialisation, and the NATS message id.
 *
 * Parsing has two stages. decode_* turn the JSON tree into a nox_message and
 * check only its shape: the field is present, has the right JSON type, an
 * integer is in range, hex has the right prefix, length and digits. Then
 * nox_message_validate checks the values (handles, teeType, logIndex order);
 * serialisation runs the same check, so what it writes always parses back.
 *
 * Every error names the JSON path of the field ("events[2].result: ...").
 * Hex fields are described by length and digit position, never quoted; the
 * only input quoted is an unknown `type` name or the token jansson stopped
 * at, cut short and sanitised to printable ASCII: messages become the
 * dead-letter reason, a NATS header, where a raw newline from the input
 * would be an injection and a long quote only noise.
 */
#include "nox/json_kind.h"
#include "nox/message.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/types.h"

/* Room for the longest path: "events[1023]." + the longest field name (14). */
#define PATH_CAP 64

/* The operator id of plaintext_to_encrypted (spec §5): the one event with `value` and `teeType`. */
#define PLAINTEXT_TO_ENCRYPTED_ID 0

/* Longest excerpts quoted in messages: of an unknown `type` name, of jansson's error text. */
#define NAME_EXCERPT 32
#define JSON_ERROR_EXCERPT 120

/* ---- error helpers ----------------------------------------------------- */

static nox_status field_error(nox_error *err, nox_status code, const char *base, const char *key, const char *fmt,
                              ...) __attribute__((format(printf, 5, 6)));

/* Sets "<path>: <message>", the path being `key` inside the object at `base` ("" is the root). */
static nox_status field_error(nox_error *err, nox_status code, const char *base, const char *key, const char *fmt,
                              ...) {
    char msg[NOX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nox_error_set(err, code, "%s%s%s: %s", base, *base && *key ? "." : "", key, msg);
}

/*
 * Copies at most `max` bytes of s[0..len) into out (capacity max + 4), bytes
 * outside printable ASCII replaced by '?', "..." appended when cut. Returns out.
 */
static const char *sanitise(const char *s, size_t len, size_t max, char *out) {
    size_t n = len < max ? len : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (len > n) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/*
 * A failure of json_loadb: jansson's line, column and reason. jansson 2.14
 * flags few allocation failures as json_error_out_of_memory: a value it
 * could not allocate leaves the error record as initialised (no position, no
 * text), and a failure inside its lexer reads as a syntax error, which we
 * cannot tell apart.
 */
static nox_status json_failure(const json_error_t *j, nox_error *err) {
    if (json_error_code(j) == json_error_out_of_memory || (j->line < 0 && j->text[0] == '\0'))
        return nox_error_set(err, NOX_ERR_NOMEM, "message: out of memory while parsing JSON");
    char text[JSON_ERROR_EXCERPT + 4];
    sanitise(j->text, strnlen(j->text, sizeof j->text - 1), JSON_ERROR_EXCERPT, text); /* last byte: the code */
    return nox_error_set(err, NOX_ERR_INVALID, "invalid JSON at line %d, column %d: %s", j->line, j->column, text);
}

/* ---- decoding: one function per field kind ------------------------------ */

/* The member `key` of obj, or "<path>: missing". */
static nox_status member(const json_t *obj, const char *base, const char *key, json_t **v, nox_error *err) {
    *v = json_object_get(obj, key);
    if (!*v) return field_error(err, NOX_ERR_INVALID, base, key, "missing");
    return NOX_OK;
}

/*
 * An integer in min..max. A real such as 1.0 is refused: the spec's numbers
 * are integers, and a producer writing reals has a bug worth seeing.
 * Integers beyond 2^63-1 never get here: jansson rejects them as "too big".
 */
static nox_status decode_uint(const json_t *obj, const char *base, const char *key, uint64_t min, uint64_t max,
                              uint64_t *out, nox_error *err) {
    json_t *v;
    nox_status st = member(obj, base, key, &v, err);
    if (st) return st;
    if (!json_is_integer(v))
        return field_error(err, NOX_ERR_INVALID, base, key, "expected an integer, got %s", nox_json_kind(v));
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
        return field_error(err, NOX_ERR_INVALID, base, key, "%lld is out of range %" PRIu64 "..%" PRIu64,
                           (long long)i, min, max);
    *out = (uint64_t)i;
    return NOX_OK;
}

/* `0x` + exactly 2*n hex digits (any case) into out[0..n). The message gives lengths, never the digits. */
static nox_status decode_hex(const json_t *obj, const char *base, const char *key, uint8_t *out, size_t n,
                             nox_error *err) {
    json_t *v;
    nox_status st = member(obj, base, key, &v, err);
    if (st) return st;
    if (!json_is_string(v))
        return field_error(err, NOX_ERR_INVALID, base, key, "expected a string of 0x + %zu hex digits, got %s",
                           2 * n, nox_json_kind(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return field_error(err, NOX_ERR_INVALID, base, key, "expected 0x + %zu hex digits, got no 0x prefix", 2 * n);
    if (len - 2 != 2 * n)
        return field_error(err, NOX_ERR_INVALID, base, key, "expected 0x + %zu hex digits, got %zu", 2 * n, len - 2);
    st = nox_hex_decode_exact(s, len, out, n, err); /* only bad digits are left: "invalid hex digit at position N" */
    if (st) nox_error_prefix(err, "%s%s%s: ", base, *base ? "." : "", key);
    return st;
}

static nox_status decode_address(const json_t *obj, const char *base, const char *key, uint8_t out[NOX_ADDRESS_SIZE],
                                 nox_error *err) {
    return decode_hex(obj, base, key, out, NOX_ADDRESS_SIZE, err);
}

/* A 32-byte word: transactionHash, the plaintext_to_encrypted value. */
static nox_status decode_word(const json_t *obj, const char *base, const char *key, uint8_t out[NOX_WORD_SIZE],
                              nox_error *err) {
    return decode_hex(obj, base, key, out, NOX_WORD_SIZE, err);
}

/* A handle's syntax only; its fields are checked by validate_handle, which needs the chain id. */
static nox_status decode_handle(const json_t *obj, const char *base, const char *key, nox_handle *h,
                                nox_error *err) {
    return decode_hex(obj, base, key, h->bytes, NOX_HANDLE_SIZE, err);
}

/* ---- generic events ----------------------------------------------------------- */

static int name_char_ok(char c, int first) {
    return (c >= 'a' && c <= 'z') || (!first && ((c >= '0' && c <= '9') || c == '_'));
}

int nox_message_valid_generic_name(const char *name) {
    if (!name || !name[0]) return 0;
    for (size_t n = 0; name[n]; n++)
        if (n >= NOX_MESSAGE_MAX_NAME || !name_char_ok(name[n], n == 0)) return 0;
    return nox_operation_by_name(name) == NULL;
}

const char *nox_message_event_type(const nox_message_event *e) { return e->op ? e->op->name : e->name; }
unsigned nox_message_event_operator_id(const nox_message_event *e) { return e->op ? e->op->id : e->operator_id; }
unsigned nox_message_event_n_inputs(const nox_message_event *e) { return e->op ? e->op->n_inputs : e->n_inputs; }
unsigned nox_message_event_n_outputs(const nox_message_event *e) { return e->op ? e->op->n_outputs : e->n_outputs; }

/* One element `at` of a handle array inside `base`: a string of 0x + 64 hex digits. */
static nox_status decode_handle_element(const json_t *h, const char *base, const char *at, nox_handle *out,
                                        nox_error *err) {
    if (!json_is_string(h))
        return field_error(err, NOX_ERR_INVALID, base, at, "expected a string of 0x + 64 hex digits, got %s",
                           nox_json_kind(h));
    const char *s = json_string_value(h);
    size_t len = json_string_length(h);
    if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return field_error(err, NOX_ERR_INVALID, base, at, "expected 0x + 64 hex digits, got no 0x prefix");
    if (len - 2 != 2 * NOX_HANDLE_SIZE)
        return field_error(err, NOX_ERR_INVALID, base, at, "expected 0x + 64 hex digits, got %zu", len - 2);
    nox_status st = nox_hex_decode_exact(s, len, out->bytes, NOX_HANDLE_SIZE, err);
    if (st) nox_error_prefix(err, "%s.%s: ", base, at);
    return st;
}

/* `inputs` / `outputs` of a generic event: 1..NOX_MESSAGE_MAX_ARITY handle strings. */
static nox_status decode_handle_array(const json_t *obj, const char *base, const char *key, nox_handle *out,
                                      uint8_t *n_out, nox_error *err) {
    json_t *v;
    nox_status st = member(obj, base, key, &v, err);
    if (st) return st;
    if (!json_is_array(v))
        return field_error(err, NOX_ERR_INVALID, base, key, "expected an array of handles, got %s", nox_json_kind(v));
    size_t n = json_array_size(v);
    if (n == 0 || n > NOX_MESSAGE_MAX_ARITY)
        return field_error(err, NOX_ERR_INVALID, base, key, "%zu handles, expected 1..%u", n, NOX_MESSAGE_MAX_ARITY);
    for (size_t k = 0; k < n; k++) {
        char at[PATH_CAP];
        snprintf(at, sizeof at, "%s[%zu]", key, k);
        if ((st = decode_handle_element(json_array_get(v, k), base, at, &out[k], err))) return st;
    }
    *n_out = (uint8_t)n;
    return NOX_OK;
}

/* A generic event after its `type` (a name that is not a protocol operation's, on an event with operatorId). */
static nox_status decode_generic(const json_t *ev, const char *base, const json_t *type, nox_message_event *e,
                                 nox_error *err) {
    const char *name = json_string_value(type);
    size_t len = json_string_length(type);
    if (len > NOX_MESSAGE_MAX_NAME || !nox_message_valid_generic_name(name)) {
        char excerpt[NAME_EXCERPT + 4];
        return field_error(err, NOX_ERR_INVALID, base, "type",
                           "'%s' is not a valid operator name ([a-z][a-z0-9_]{0,62})",
                           sanitise(name, len, NAME_EXCERPT, excerpt));
    }
    memcpy(e->name, name, len + 1);
    uint64_t id;
    nox_status st;
    if ((st = decode_uint(ev, base, "operatorId", NOX_FIRST_EXTENSION_ID, UINT16_MAX, &id, err))) return st;
    e->operator_id = (uint16_t)id;
    if ((st = decode_handle_array(ev, base, "inputs", e->inputs, &e->n_inputs, err)) ||
        (st = decode_handle_array(ev, base, "outputs", e->outputs, &e->n_outputs, err)))
        return st;
    return NOX_OK;
}

/*
 * `type`: the name of a protocol operation (*op set), or — on an event that
 * has `operatorId` — a generic event's name (*op NULL, *generic its JSON string).
 */
static nox_status decode_operation(const json_t *obj, const char *base, const nox_operation **op, json_t **generic,
                                   nox_error *err) {
    json_t *v;
    *generic = NULL;
    nox_status st = member(obj, base, "type", &v, err);
    if (st) return st;
    if (!json_is_string(v))
        return field_error(err, NOX_ERR_INVALID, base, "type", "expected a string, got %s", nox_json_kind(v));
    /* Without JSON_ALLOW_NUL, jansson refuses \u0000, so the name has no NUL inside and strcmp sees all of it. */
    *op = nox_operation_by_name(json_string_value(v));
    if (!*op && json_object_get(obj, "operatorId")) {
        *generic = v;
        return NOX_OK;
    }
    if (!*op) {
        char name[NAME_EXCERPT + 4];
        return field_error(err, NOX_ERR_NOT_FOUND, base, "type", "unknown operation '%s'",
                           sanitise(json_string_value(v), json_string_length(v), NAME_EXCERPT, name));
    }
    return NOX_OK;
}

/* events[i]: common fields, then the fields of its type in the order of the operation table. */
static nox_status decode_event(const json_t *ev, size_t i, nox_message_event *e, nox_error *err) {
    char base[PATH_CAP];
    snprintf(base, sizeof base, "events[%zu]", i);
    if (!json_is_object(ev))
        return field_error(err, NOX_ERR_INVALID, base, "", "expected an object, got %s", nox_json_kind(ev));
    nox_status st;
    json_t *generic = NULL;
    if ((st = decode_uint(ev, base, "logIndex", 0, NOX_MESSAGE_MAX_INTEGER, &e->log_index, err)) ||
        (st = decode_address(ev, base, "caller", e->caller, err)) ||
        (st = decode_operation(ev, base, &e->op, &generic, err)))
        return st;
    if (generic) return decode_generic(ev, base, generic, e, err);
    if (e->op->id == PLAINTEXT_TO_ENCRYPTED_ID) {
        uint64_t tee_type;
        if ((st = decode_word(ev, base, "value", e->value, err)) ||
            (st = decode_uint(ev, base, "teeType", 0, UINT8_MAX, &tee_type, err)))
            return st;
        e->tee_type = (uint8_t)tee_type;
    }
    for (unsigned k = 0; k < e->op->n_inputs; k++)
        if ((st = decode_handle(ev, base, e->op->inputs[k], &e->inputs[k], err))) return st;
    for (unsigned k = 0; k < e->op->n_outputs; k++)
        if ((st = decode_handle(ev, base, e->op->outputs[k], &e->outputs[k], err))) return st;
    return NOX_OK;
}

/* `events`: a non-empty array of at most NOX_MESSAGE_MAX_EVENTS events, stored in m. */
static nox_status decode_events(const json_t *root, nox_message *m, nox_error *err) {
    json_t *v;
    nox_status st = member(root, "", "events", &v, err);
    if (st) return st;
    if (!json_is_array(v))
        return field_error(err, NOX_ERR_INVALID, "", "events", "expected an array, got %s", nox_json_kind(v));
    size_t n = json_array_size(v);
    if (n == 0 && !json_object_get(root, "failed"))
        return field_error(err, NOX_ERR_INVALID, "", "events", "empty; a message carries at least one event");
    if (n == 0) return NOX_OK;
    if (n > NOX_MESSAGE_MAX_EVENTS)
        return field_error(err, NOX_ERR_INVALID, "", "events", "%zu events, more than the maximum of %u", n,
                           NOX_MESSAGE_MAX_EVENTS);
    m->events = calloc(n, sizeof *m->events); /* zeroed: unused handles, value and teeType stay 0 */
    if (!m->events) return nox_error_set(err, NOX_ERR_NOMEM, "events: out of memory for %zu events", n);
    m->n_events = n;
    for (size_t i = 0; i < n; i++)
        if ((st = decode_event(json_array_get(v, i), i, &m->events[i], err))) return st;
    return NOX_OK;
}

/* 1 when s[0..len) is printable ASCII (a failure reason becomes a NATS header and a record). */
static int printable(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) return 0;
    return 1;
}

/*
 * `failed` (docs/PROTOCOL-EXTENSIONS.md §5), when present: {"reason": text, "outputs": [handles]}.
 * Distinctness and the handles' values are checked by validation.
 */
static nox_status decode_failed(const json_t *root, nox_message *m, nox_error *err) {
    json_t *f = json_object_get(root, "failed"), *reason, *outs;
    if (!f) return NOX_OK;
    if (!json_is_object(f))
        return field_error(err, NOX_ERR_INVALID, "", "failed", "expected an object, got %s", nox_json_kind(f));
    nox_status st = member(f, "failed", "reason", &reason, err);
    if (st) return st;
    if (!json_is_string(reason))
        return field_error(err, NOX_ERR_INVALID, "failed", "reason", "expected a string, got %s", nox_json_kind(reason));
    size_t len = json_string_length(reason);
    if (len == 0 || len > NOX_MESSAGE_MAX_REASON || !printable(json_string_value(reason), len))
        return field_error(err, NOX_ERR_INVALID, "failed", "reason", "expected 1..%u printable ASCII characters",
                           NOX_MESSAGE_MAX_REASON);
    memcpy(m->failure_reason, json_string_value(reason), len + 1);
    if ((st = member(f, "failed", "outputs", &outs, err))) return st;
    if (!json_is_array(outs))
        return field_error(err, NOX_ERR_INVALID, "failed", "outputs", "expected an array of handles, got %s",
                           nox_json_kind(outs));
    size_t n = json_array_size(outs);
    if (n == 0 || n > NOX_MESSAGE_MAX_FAILED)
        return field_error(err, NOX_ERR_INVALID, "failed", "outputs", "%zu handles, expected 1..%u", n,
                           NOX_MESSAGE_MAX_FAILED);
    m->failed = calloc(n, sizeof *m->failed);
    if (!m->failed) return nox_error_set(err, NOX_ERR_NOMEM, "failed.outputs: out of memory for %zu handles", n);
    m->n_failed = n;
    for (size_t k = 0; k < n; k++) {
        char at[PATH_CAP];
        snprintf(at, sizeof at, "outputs[%zu]", k);
        if ((st = decode_handle_element(json_array_get(outs, k), "failed", at, &m->failed[k], err))) return st;
    }
    return NOX_OK;
}

static nox_status decode_message(const json_t *root, nox_message *m, nox_error *err) {
    if (!json_is_object(root))
        return nox_error_set(err, NOX_ERR_INVALID, "message: expected a JSON object, got %s", nox_json_kind(root));
    uint64_t chain_id;
    nox_status st;
    if ((st = decode_uint(root, "", "chainId", 1, UINT32_MAX, &chain_id, err))) return st;
    m->chain_id = (uint32_t)chain_id;
    if ((st = decode_address(root, "", "caller", m->caller, err)) ||
        (st = decode_uint(root, "", "blockNumber", 0, NOX_MESSAGE_MAX_INTEGER, &m->block_number, err)) ||
        (st = decode_word(root, "", "transactionHash", m->tx_hash, err)))
        return st;
    if ((st = decode_events(root, m, err))) return st;
    return decode_failed(root, m, err);
}

nox_status nox_message_parse(const char *json, size_t len, nox_message *out, nox_error *err) {
    memset(out, 0, sizeof *out);
    if (!json) return nox_error_set(err, NOX_ERR_INVALID, "message: no input (NULL buffer)");
    /* Checked before jansson builds a tree: the tree costs several times the input. */
    if (len > NOX_MESSAGE_MAX_SIZE)
        return nox_error_set(err, NOX_ERR_INVALID, "message: %zu bytes, more than the maximum of %u", len,
                             NOX_MESSAGE_MAX_SIZE);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return json_failure(&jerr, err);
    nox_status st = decode_message(root, out, err);
    json_decref(root);
    if (!st) st = nox_message_validate(out, err);
    if (st) nox_message_free(out);
    return st;
}

/* ---- validation --------------------------------------------------------- */

/*
 * A handle of events[i]: not zero, version 0, a known type code, and of the
 * message's own chain (the only chain passed to nox_handle_validate).
 */
static nox_status validate_handle(const nox_handle *h, uint32_t chain_id, const char *base, const char *key,
                                  nox_error *err) {
    nox_status st = nox_handle_validate(h, &chain_id, 1, err);
    if (!st) return NOX_OK;
    nox_error_prefix(err, "%s.%s: ", base, key);
    /* "chain id N is not configured" alone would not say which chain was expected. */
    if (err && nox_handle_validate(h, NULL, 0, NULL) == NOX_OK) {
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof err->message - used, " (the message's chainId is %" PRIu32 ")",
                 chain_id);
    }
    return st;
}

/*
 * plaintext_to_encrypted: teeType must be a type whose value fits the 32-byte
 * `value` word (fixed size, at most 32 bytes), and the type of the handle the
 * value is encrypted under.
 */
static nox_status validate_tee_type(const nox_message_event *e, const char *base, nox_error *err) {
    unsigned t = e->tee_type;
    const char *name = nox_type_name(t);
    if (!nox_type_is_fixed(t) || nox_type_size(t) > NOX_WORD_SIZE)
        return field_error(err, NOX_ERR_TYPE, base, "teeType",
                           "%u (%s) is not a fixed-size type of at most 32 bytes, so the value word cannot hold it",
                           t, name ? name : "a reserved code");
    unsigned ht = nox_handle_type(&e->outputs[0]);
    if (t != ht) {
        const char *hname = nox_type_name(ht);
        return field_error(err, NOX_ERR_TYPE, base, "teeType", "%u (%s) differs from the type byte %u (%s) of %s.%s",
                           t, name, ht, hname ? hname : "reserved", base, e->op->outputs[0]);
    }
    return NOX_OK;
}

static nox_status validate_event(const nox_message *m, size_t i, nox_error *err) {
    const nox_message_event *e = &m->events[i];
    char base[PATH_CAP];
    snprintf(base, sizeof base, "events[%zu]", i);
    /* Pointer identity: a look-alike struct could carry field names the table does not have. */
    if (e->op && nox_operation_by_id(e->op->id) != e->op)
        return field_error(err, NOX_ERR_INVALID, base, "type", "not an operation of the protocol table");
    if (!e->op) {
        if (!memchr(e->name, '\0', sizeof e->name) || !nox_message_valid_generic_name(e->name))
            return field_error(err, NOX_ERR_INVALID, base, "type",
                               "not a valid generic operator name ([a-z][a-z0-9_]{0,62}, not a protocol name)");
        if (e->operator_id < NOX_FIRST_EXTENSION_ID)
            return field_error(err, NOX_ERR_INVALID, base, "operatorId", "%u is out of range %u..%u", e->operator_id,
                               NOX_FIRST_EXTENSION_ID, UINT16_MAX);
        if (e->n_inputs < 1 || e->n_inputs > NOX_MESSAGE_MAX_ARITY)
            return field_error(err, NOX_ERR_INVALID, base, "inputs", "%u handles, expected 1..%u", e->n_inputs,
                               NOX_MESSAGE_MAX_ARITY);
        if (e->n_outputs < 1 || e->n_outputs > NOX_MESSAGE_MAX_ARITY)
            return field_error(err, NOX_ERR_INVALID, base, "outputs", "%u handles, expected 1..%u", e->n_outputs,
                               NOX_MESSAGE_MAX_ARITY);
    }
    if (e->log_index > NOX_MESSAGE_MAX_INTEGER)
        return field_error(err, NOX_ERR_INVALID, base, "logIndex", "%" PRIu64 " is out of range 0..%" PRIu64,
                           e->log_index, NOX_MESSAGE_MAX_INTEGER);
    /* Spec §6: events are processed in logIndex order; a later one may consume an earlier one's result. */
    if (i > 0 && e->log_index <= m->events[i - 1].log_index)
        return field_error(err, NOX_ERR_INVALID, base, "logIndex",
                           "%" PRIu64 " is not greater than events[%zu].logIndex %" PRIu64
                           " (events must be in strictly increasing logIndex order)",
                           e->log_index, i - 1, m->events[i - 1].log_index);
    nox_status st;
    char key[PATH_CAP];
    for (unsigned k = 0; k < nox_message_event_n_inputs(e); k++) {
        if (!e->op) snprintf(key, sizeof key, "inputs[%u]", k);
        if ((st = validate_handle(&e->inputs[k], m->chain_id, base, e->op ? e->op->inputs[k] : key, err))) return st;
    }
    for (unsigned k = 0; k < nox_message_event_n_outputs(e); k++) {
        if (!e->op) snprintf(key, sizeof key, "outputs[%u]", k);
        if ((st = validate_handle(&e->outputs[k], m->chain_id, base, e->op ? e->op->outputs[k] : key, err)))
            return st;
    }
    if (e->op && e->op->id == PLAINTEXT_TO_ENCRYPTED_ID) return validate_tee_type(e, base, err);
    return NOX_OK;
}

static int by_handle(const void *a, const void *b) { return memcmp(a, b, NOX_HANDLE_SIZE); }

/* The failed list: 0..NOX_MESSAGE_MAX_FAILED valid handles of the chain, distinct, with a reason. */
static nox_status validate_failed(const nox_message *m, nox_error *err) {
    if (m->n_failed == 0) return NOX_OK;
    if (!m->failed || m->n_failed > NOX_MESSAGE_MAX_FAILED)
        return nox_error_set(err, NOX_ERR_INVALID, "failed.outputs: %zu handles, expected 1..%u", m->n_failed,
                             NOX_MESSAGE_MAX_FAILED);
    size_t len = strnlen(m->failure_reason, sizeof m->failure_reason);
    if (len == 0 || len > NOX_MESSAGE_MAX_REASON || !printable(m->failure_reason, len))
        return nox_error_set(err, NOX_ERR_INVALID, "failed.reason: expected 1..%u printable ASCII characters",
                             NOX_MESSAGE_MAX_REASON);
    char key[PATH_CAP];
    for (size_t k = 0; k < m->n_failed; k++) {
        snprintf(key, sizeof key, "outputs[%zu]", k);
        nox_status st = validate_handle(&m->failed[k], m->chain_id, "failed", key, err);
        if (st) return st;
    }
    nox_handle *sorted = malloc(m->n_failed * sizeof *sorted);
    if (!sorted) return nox_error_set(err, NOX_ERR_NOMEM, "failed.outputs: out of memory");
    memcpy(sorted, m->failed, m->n_failed * sizeof *sorted);
    qsort(sorted, m->n_failed, sizeof *sorted, by_handle);
    int dup = 0;
    for (size_t k = 1; k < m->n_failed && !dup; k++) dup = !memcmp(sorted[k - 1].bytes, sorted[k].bytes, NOX_HANDLE_SIZE);
    free(sorted);
    if (dup) return nox_error_set(err, NOX_ERR_INVALID, "failed.outputs: a handle is listed twice");
    return NOX_OK;
}

nox_status nox_message_validate(const nox_message *m, nox_error *err) {
    if (!m) return nox_error_set(err, NOX_ERR_INVALID, "message: NULL");
    if (m->chain_id == 0)
        return nox_error_set(err, NOX_ERR_INVALID, "chainId: 0 is out of range 1..%" PRIu32, UINT32_MAX);
    if (m->block_number > NOX_MESSAGE_MAX_INTEGER)
        return nox_error_set(err, NOX_ERR_INVALID, "blockNumber: %" PRIu64 " is out of range 0..%" PRIu64,
                             m->block_number, NOX_MESSAGE_MAX_INTEGER);
    if ((m->n_events == 0 || !m->events) && m->n_failed == 0)
        return nox_error_set(err, NOX_ERR_INVALID, "events: empty; a message carries at least one event");
    if (m->n_events > NOX_MESSAGE_MAX_EVENTS)
        return nox_error_set(err, NOX_ERR_INVALID, "events: %zu events, more than the maximum of %u", m->n_events,
                             NOX_MESSAGE_MAX_EVENTS);
    for (size_t i = 0; m->events && i < m->n_events; i++) {
        nox_status st = validate_event(m, i, err);
        if (st) return st;
    }
    return validate_failed(m, err);
}

/* ---- serialisation ------------------------------------------------------ */

/* A lowercase `0x` hex JSON string, or NULL when out of memory. */
static json_t *hex_json(const uint8_t *bytes, size_t n) {
    char text[2 * NOX_WORD_SIZE + 3];
    return json_string(nox_hex_encode(bytes, n, text));
}

/*
 * Keys in the spec's order (jansson keeps insertion order). json_object_set_new
 * takes a NULL value as a failure, so allocation failures collect in `bad`.
 */
static json_t *event_json(const nox_message_event *e) {
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = json_object_set_new(o, "logIndex", json_integer((json_int_t)e->log_index));
    bad |= json_object_set_new(o, "caller", hex_json(e->caller, NOX_ADDRESS_SIZE));
    bad |= json_object_set_new(o, "type", json_string(nox_message_event_type(e)));
    if (!e->op) { /* generic: operatorId, inputs, outputs */
        json_t *ins = json_array(), *outs = json_array();
        bad |= json_object_set_new(o, "operatorId", json_integer(e->operator_id));
        bad |= json_object_set_new(o, "inputs", ins);
        bad |= json_object_set_new(o, "outputs", outs);
        for (unsigned k = 0; !bad && k < e->n_inputs; k++)
            bad |= json_array_append_new(ins, hex_json(e->inputs[k].bytes, NOX_HANDLE_SIZE));
        for (unsigned k = 0; !bad && k < e->n_outputs; k++)
            bad |= json_array_append_new(outs, hex_json(e->outputs[k].bytes, NOX_HANDLE_SIZE));
        if (bad) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    if (e->op->id == PLAINTEXT_TO_ENCRYPTED_ID) {
        bad |= json_object_set_new(o, "value", hex_json(e->value, NOX_WORD_SIZE));
        bad |= json_object_set_new(o, "teeType", json_integer(e->tee_type));
    }
    for (unsigned k = 0; k < e->op->n_inputs; k++)
        bad |= json_object_set_new(o, e->op->inputs[k], hex_json(e->inputs[k].bytes, NOX_HANDLE_SIZE));
    for (unsigned k = 0; k < e->op->n_outputs; k++)
        bad |= json_object_set_new(o, e->op->outputs[k], hex_json(e->outputs[k].bytes, NOX_HANDLE_SIZE));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *message_json(const nox_message *m) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_t *events = json_array();
    int bad = json_object_set_new(o, "chainId", json_integer(m->chain_id));
    bad |= json_object_set_new(o, "caller", hex_json(m->caller, NOX_ADDRESS_SIZE));
    bad |= json_object_set_new(o, "blockNumber", json_integer((json_int_t)m->block_number));
    bad |= json_object_set_new(o, "transactionHash", hex_json(m->tx_hash, NOX_WORD_SIZE));
    bad |= json_object_set_new(o, "events", events); /* o owns `events` now; we keep appending to it */
    for (size_t i = 0; !bad && i < m->n_events; i++)
        bad |= json_array_append_new(events, event_json(&m->events[i]));
    if (!bad && m->n_failed) {
        json_t *outs = json_array();
        bad |= json_object_set_new(o, "failed", json_pack("{s:s, s:o}", "reason", m->failure_reason, "outputs", outs));
        for (size_t k = 0; !bad && k < m->n_failed; k++)
            bad |= json_array_append_new(outs, hex_json(m->failed[k].bytes, NOX_HANDLE_SIZE));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

nox_status nox_message_to_json(const nox_message *m, char **json, nox_error *err) {
    *json = NULL;
    nox_status st = nox_message_validate(m, err);
    if (st) return st;
    json_t *root = message_json(m);
    /*
     * json_dumpb into our own malloc'd buffer, not json_dumps: its result
     * comes from jansson's allocator, which a program may replace
     * (json_set_alloc_funcs), and the caller is told to use free().
     */
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t size = root ? json_dumpb(root, NULL, 0, flags) : 0;
    char *text = size ? malloc(size + 1) : NULL;
    if (text && json_dumpb(root, text, size, flags) == size) {
        text[size] = '\0';
        *json = text;
    } else {
        free(text);
    }
    json_decref(root);
    if (!*json) return nox_error_set(err, NOX_ERR_NOMEM, "message: out of memory while serialising");
    return NOX_OK;
}

/* ---- the rest ----------------------------------------------------------- */

void nox_message_free(nox_message *m) {
    if (!m) return;
    free(m->events);
    free(m->failed);
    memset(m, 0, sizeof *m);
}

static int handles_equal(const nox_handle *a, const nox_handle *b, unsigned n) {
    for (unsigned k = 0; k < n; k++)
        if (memcmp(a[k].bytes, b[k].bytes, NOX_HANDLE_SIZE)) return 0;
    return 1;
}

static int events_equal(const nox_message_event *a, const nox_message_event *b) {
    if (a->log_index != b->log_index || memcmp(a->caller, b->caller, NOX_ADDRESS_SIZE) || a->op != b->op) return 0;
    if (!a->op && (a->operator_id != b->operator_id || strncmp(a->name, b->name, sizeof a->name) ||
                   a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs ||
                   a->n_inputs > NOX_MESSAGE_MAX_ARITY || a->n_outputs > NOX_MESSAGE_MAX_ARITY))
        return 0;
    if (!handles_equal(a->inputs, b->inputs, nox_message_event_n_inputs(a)) ||
        !handles_equal(a->outputs, b->outputs, nox_message_event_n_outputs(a)))
        return 0;
    if (!a->op) return 1;
    if (a->op->id == PLAINTEXT_TO_ENCRYPTED_ID)
        return a->tee_type == b->tee_type && !memcmp(a->value, b->value, NOX_WORD_SIZE);
    return 1;
}

int nox_message_equal(const nox_message *a, const nox_message *b) {
    if (!a || !b) return a == b;
    if (a->chain_id != b->chain_id || memcmp(a->caller, b->caller, NOX_ADDRESS_SIZE) ||
        a->block_number != b->block_number || memcmp(a->tx_hash, b->tx_hash, NOX_WORD_SIZE) ||
        a->n_events != b->n_events || a->n_failed != b->n_failed)
        return 0;
    for (size_t i = 0; i < a->n_events; i++)
        if (!events_equal(&a->events[i], &b->events[i])) return 0;
    if (a->n_failed && (strncmp(a->failure_reason, b->failure_reason, sizeof a->failure_reason) ||
                        !handles_equal(a->failed, b->failed, (unsigned)a->n_failed)))
        return 0;
    return 1;
}

char *nox_message_id(uint32_t chain_id, const uint8_t tx_hash[NOX_WORD_SIZE], char out[NOX_MESSAGE_ID_LEN + 1]) {
    char hash_hex[2 * NOX_WORD_SIZE + 3];
    char text[sizeof "4294967295:" + sizeof hash_hex];
    int n = snprintf(text, sizeof text, "%" PRIu32 ":%s", chain_id, nox_hex_encode(tx_hash, NOX_WORD_SIZE, hash_hex));
    uint8_t digest[NOX_KECCAK256_SIZE];
    nox_keccak256(text, (size_t)n, digest);
    return nox_hex_encode(digest, NOX_KECCAK256_SIZE, out);
}
