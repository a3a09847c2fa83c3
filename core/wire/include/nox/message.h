/*
 * nox/message.h — the queue's TransactionMessage (spec §6): one message per
 * on-chain transaction, carrying that transaction's NoxCompute events in
 * logIndex order. Parsing is strict (every field checked, every problem
 * reported with its JSON path, e.g. `events[2].rightHandOperand: expected
 * 0x + 64 hex digits, got 63`); unknown keys are ignored as the spec says.
 *
 * A message that fails nox_message_parse can never succeed and is meant to
 * be dead-lettered with the error message as its reason. Error messages
 * describe hex fields by length and position without quoting them, and quote
 * at most a short excerpt of the input (an unknown `type`, the token where
 * the JSON broke) sanitised to printable ASCII, so they are safe to put in a
 * NATS header.
 */
#ifndef NOX_MESSAGE_H
#define NOX_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h" /* NOX_ADDRESS_SIZE */
#include "nox/error.h"
#include "nox/handle.h"
#include "nox/operations.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Largest accepted input, in bytes (1 MiB). A message holds at most
 * NOX_MESSAGE_MAX_EVENTS events of at most ~600 compact bytes each (a
 * transfer, mint or burn: ~600 KiB in all), so this leaves room for
 * whitespace and unknown keys while bounding what one message can cost.
 */
#define NOX_MESSAGE_MAX_SIZE (1024u * 1024u)

/**
 * Most events in one message. One transaction emitting more than 1024
 * NoxCompute operations is far beyond what a block's gas limit allows.
 */
#define NOX_MESSAGE_MAX_EVENTS 1024u

/**
 * Largest blockNumber / logIndex: JSON integers are limited to 2^63-1 by the
 * JSON library (jansson's json_int_t), so larger uint64 values can be neither
 * read nor written.
 */
#define NOX_MESSAGE_MAX_INTEGER ((uint64_t)INT64_MAX)

/** Size of an on-chain word and of a transaction hash. */
#define NOX_WORD_SIZE 32

/** Characters of a NATS message id (`0x` + 64 hex digits), without the NUL. */
#define NOX_MESSAGE_ID_LEN 66

/** Most inputs and most outputs of one event (of a generic event; the protocol's operations have at most 3). */
#define NOX_MESSAGE_MAX_ARITY 8

/** Longest generic event `type` name, in characters ([a-z][a-z0-9_]{0,62}), without the NUL. */
#define NOX_MESSAGE_MAX_NAME 63

/**
 * One NoxCompute event: one operation of the transaction.
 *
 * A *protocol* event (spec §6) has `op` set to an entry of the table of
 * nox/operations.h; its handles sit in the order of op->inputs / op->outputs
 * and operator_id, name, n_inputs and n_outputs are not used (zero).
 *
 * A *generic* event (docs/PROTOCOL-EXTENSIONS.md: NoxCompute's
 * `Compute(address indexed caller, uint16 operatorId, bytes32[] inputs,
 * bytes32[] outputs)`) has `op` NULL and carries `operator_id` (>=
 * NOX_FIRST_EXTENSION_ID), the `type` name in `name`, and
 * 1..NOX_MESSAGE_MAX_ARITY inputs and outputs. Use the nox_message_event_*
 * accessors below to read either kind alike.
 */
typedef struct nox_message_event {
    uint64_t log_index;                /**< `logIndex`: position of the log in its block */
    uint8_t caller[NOX_ADDRESS_SIZE];  /**< `caller` of the event (the address that called NoxCompute) */
    const nox_operation *op;           /**< `type` of a protocol event: an entry of nox/operations.h; NULL: generic */
    uint16_t operator_id;              /**< generic only: `operatorId`, 64..65535 */
    char name[NOX_MESSAGE_MAX_NAME + 1]; /**< generic only: `type`, [a-z][a-z0-9_]{0,62}, not a protocol name */
    uint8_t n_inputs, n_outputs;       /**< generic only: 1..NOX_MESSAGE_MAX_ARITY each */
    /** Input handles (protocol: in the order of op->inputs; generic: `inputs`); unused entries zero. */
    nox_handle inputs[NOX_MESSAGE_MAX_ARITY];
    /** Output handles (protocol: in the order of op->outputs; generic: `outputs`); unused entries zero. */
    nox_handle outputs[NOX_MESSAGE_MAX_ARITY];
    /** plaintext_to_encrypted only (zero otherwise): the `value` word, the value right-aligned. */
    uint8_t value[NOX_WORD_SIZE];
    /** plaintext_to_encrypted only (0 otherwise): `teeType`, equal to the type byte of the `handle` output. */
    uint8_t tee_type;
} nox_message_event;

/** The event's `type`: op->name, or the generic name. */
const char *nox_message_event_type(const nox_message_event *e);
/** The event's operator id: op->id, or operator_id. */
unsigned nox_message_event_operator_id(const nox_message_event *e);
/** Number of input handles: op->n_inputs, or n_inputs. */
unsigned nox_message_event_n_inputs(const nox_message_event *e);
/** Number of output handles: op->n_outputs, or n_outputs. */
unsigned nox_message_event_n_outputs(const nox_message_event *e);

/**
 * 1 when `name` is a valid generic event type name: [a-z][a-z0-9_]{0,62}
 * (the engine's rule for operator names) and not the name of a protocol
 * operation.
 */
int nox_message_valid_generic_name(const char *name);

/**
 * Most output handles a message's `failed` list may carry (docs/PROTOCOL-EXTENSIONS.md §5): every output
 * of a transaction at NoxCompute's per-transaction budget (256 events of at most 8 outputs: 2048) twice over,
 * and still ~280 KiB of JSON, well under NOX_MESSAGE_MAX_SIZE.
 */
#define NOX_MESSAGE_MAX_FAILED 4096u

/** Longest `failed.reason`, in bytes (printable ASCII): it becomes each handle's failure record. */
#define NOX_MESSAGE_MAX_REASON 256u

/**
 * A TransactionMessage. Owns `events` and `failed`; release with nox_message_free.
 *
 * A message carries events to compute, or — docs/PROTOCOL-EXTENSIONS.md §5, a failure notice — output
 * handles of the transaction that the Ingestor knows can never be computed (its message was refused for
 * good by NATS, or some of its logs could not be decoded), with one reason: the Runner records a failure
 * for each, so that no handle of an accepted transaction stays pending forever. At least one of the two
 * lists is non-empty.
 */
typedef struct nox_message {
    uint32_t chain_id;                     /**< `chainId`, 1..2^32-1 (handles carry a uint32 chain id) */
    uint8_t caller[NOX_ADDRESS_SIZE];      /**< top-level `caller` (spec §6 gives only its form) */
    uint64_t block_number;                 /**< `blockNumber`, at most NOX_MESSAGE_MAX_INTEGER */
    uint8_t tx_hash[NOX_WORD_SIZE];        /**< `transactionHash` */
    size_t n_events;                       /**< 0..NOX_MESSAGE_MAX_EVENTS (0 only with a failed list) */
    nox_message_event *events;             /**< in strictly increasing log_index order */
    size_t n_failed;                       /**< `failed.outputs`: 0..NOX_MESSAGE_MAX_FAILED handles */
    nox_handle *failed;                    /**< valid handles of chain_id, distinct */
    char failure_reason[NOX_MESSAGE_MAX_REASON + 1]; /**< `failed.reason` (n_failed > 0): printable ASCII, non-empty (a failure record holds 256) */
} nox_message;

/**
 * Parses a TransactionMessage from json[0..len) (need not be NUL-terminated)
 * into *out, which is overwritten (not freed) first. On success the caller
 * owns out->events and must call nox_message_free. On failure *out is left
 * zeroed (nox_message_free on it is harmless) and err says what is wrong:
 *   NOX_ERR_INVALID   not JSON (with jansson's line and column), not an
 *                     object, a duplicate key, more than NOX_MESSAGE_MAX_SIZE
 *                     bytes, a missing field, a wrong JSON type, a number out
 *                     of range (or a real such as 1.0 where an integer is
 *                     expected), bad hex or a wrong hex length, an empty or
 *                     too long `events` (empty is allowed only beside a
 *                     `failed` object), logIndex not strictly increasing, a
 *                     zero handle, a handle of version != 0 or of another
 *                     chain than `chainId`; a `failed` object that is not
 *                     {"reason": 1..256 printable ASCII characters,
 *                     "outputs": 1..NOX_MESSAGE_MAX_FAILED distinct handles};
 *   NOX_ERR_TYPE      a handle with a reserved type code, or a `teeType` that
 *                     is not a fixed-size type of at most 32 bytes or differs
 *                     from the type byte of its `handle`;
 *   NOX_ERR_NOT_FOUND an event `type` that is not a protocol operation, on an
 *                     event without `operatorId` (with `operatorId` it is a
 *                     generic event: its name must match [a-z][a-z0-9_]{0,62},
 *                     operatorId be 64..65535, `inputs` and `outputs` arrays of
 *                     1..8 handles, else NOX_ERR_INVALID);
 *   NOX_ERR_NOMEM     out of memory (jansson reports an allocation failure
 *                     inside its lexer as a syntax error, so some come back
 *                     as NOX_ERR_INVALID "invalid JSON ...").
 * Every message starts with the JSON path of the offending field
 * ("chainId: ...", "events[2].result: ...") or "message: " / "invalid JSON".
 */
nox_status nox_message_parse(const char *json, size_t len, nox_message *out, nox_error *err);

/**
 * Checks the rules of nox_message_parse that concern values rather than JSON
 * syntax: chain id and integer ranges, 0..NOX_MESSAGE_MAX_EVENTS events in
 * strictly increasing logIndex order, each event's operation taken from the
 * protocol table, every handle valid for m->chain_id, and teeType; the
 * failed list (0..NOX_MESSAGE_MAX_FAILED distinct valid handles, a reason
 * when not empty); and that the message carries an event or a failed handle. Parse
 * calls it; it is public so that a producer (the Ingestor) can check a
 * message it built. Same statuses and messages as nox_message_parse.
 */
nox_status nox_message_validate(const nox_message *m, nox_error *err);

/**
 * Serialises m as compact JSON (spec §6): camelCase keys in the spec's
 * order, lowercase `0x` hex, events in order, inputs then outputs in the
 * order of the operation table (plaintext_to_encrypted: value, teeType,
 * handle), then `failed` when the message has failed handles. m is validated
 * first (nox_message_validate), so that
 * nox_message_parse(nox_message_to_json(m)) always gives back m.
 * On success *json receives a NUL-terminated string to release with free().
 * On failure *json is NULL and the status is that of the validation, or
 * NOX_ERR_NOMEM.
 */
nox_status nox_message_to_json(const nox_message *m, char **json, nox_error *err);

/** Releases m->events and zeroes *m. m may be NULL; calling it twice is harmless. */
void nox_message_free(nox_message *m);

/**
 * 1 when a and b hold the same message (every field of the struct; of the
 * handle arrays, only the event's n_inputs / n_outputs entries; for protocol
 * events the generic-only fields are ignored), else 0.
 */
int nox_message_equal(const nox_message *a, const nox_message *b);

/**
 * Writes the NATS `Nats-Msg-Id` header value of spec §6 + NUL into out:
 * `0x` + lowercase hex of keccak256 of the UTF-8 string "<chainId>:<txHash>",
 * chainId in decimal and txHash as `0x` + 64 lowercase hex digits.
 * JetStream drops a second message with the same id inside its duplicate
 * window, which is what makes re-publishing a transaction harmless.
 * Returns out.
 */
char *nox_message_id(uint32_t chain_id, const uint8_t tx_hash[NOX_WORD_SIZE], char out[NOX_MESSAGE_ID_LEN + 1]);

#ifdef __cplusplus
}
#endif

#endif /* NOX_MESSAGE_H */
