/*
 * nox/events.h — NoxCompute's events (spec §9) and how they become queue
 * messages (spec §6).
 *
 * Every operation of nox/operations.h has one event. Its first parameter is
 * `address indexed caller` (topic 1); every later parameter is non-indexed
 * and ABI-encoded in the log data as one 32-byte word, in the order of the
 * operation's message fields: inputs, then outputs
 * (`Add(address indexed caller, bytes32 leftHandOperand, bytes32
 * rightHandOperand, bytes32 result)`). PlaintextToEncrypted carries `bytes32
 * value, uint8 teeType, bytes32 handle`, teeType right-aligned in its word.
 * topic0 is keccak256 of the canonical signature, computed at first use.
 *
 * Decoding is strict: exactly two topics, a caller topic whose upper 12
 * bytes are zero, data of exactly 32 bytes per parameter, a teeType word
 * below 256. What decodes is then checked as a whole message
 * (nox_message_validate: handles of the message's chain, teeType, ...).
 *
 * All functions are thread-safe (the topic table is computed once under
 * pthread_once and read-only afterwards).
 */
#ifndef NOX_EVENTS_H
#define NOX_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"
#include "nox/message.h"
#include "nox/operations.h"
#include "nox/rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most non-indexed parameters of one event (transfer, mint, burn: 3 inputs + 3 outputs). */
#define NOX_EVENT_MAX_PARAMS 6

/** One NoxCompute event. */
typedef struct nox_event_def {
    const nox_operation *op;   /**< the operation it reports */
    const char *name;          /**< event name, e.g. "SafeAdd" */
    const char *signature;     /**< canonical signature hashed into topic0, e.g. "Add(address,bytes32,bytes32,bytes32)" */
    size_t n_params;           /**< non-indexed parameters (after `address indexed caller`) */
    /** Their names in data order: the op's input field names, then its output field names (PlaintextToEncrypted: value, teeType, handle). */
    const char *params[NOX_EVENT_MAX_PARAMS];
    uint8_t topic0[32];        /**< keccak256(signature) */
} nox_event_def;

/**
 * Number of events: one per protocol operation (nox_operation_count()), then
 * the generic `Compute(address indexed caller, uint16 operatorId, bytes32[]
 * inputs, bytes32[] outputs)` of plugin operators (docs/PROTOCOL-EXTENSIONS.md).
 */
size_t nox_event_count(void);

/**
 * The i-th event (0..nox_event_count()-1), or NULL: i < nox_operation_count()
 * is the event of operation id i; the last one is Compute (op NULL).
 */
const nox_event_def *nox_event_at(size_t i);

/** The generic Compute event (op NULL; params operatorId, inputs, outputs). */
const nox_event_def *nox_event_compute(void);

/**
 * The `type` a generic event gets when no operator table names its id:
 * "operator_<id>" (e.g. "operator_1000"). Returns out.
 */
char *nox_event_default_name(unsigned operator_id, char out[NOX_MESSAGE_MAX_NAME + 1]);

/** The event that reports `op` (a protocol operation), or NULL. */
const nox_event_def *nox_event_for_operation(const nox_operation *op);

/** The event whose topic0 is `topic0`, or NULL when it is none of NoxCompute's operation events. */
const nox_event_def *nox_event_by_topic(const uint8_t topic0[32]);

/**
 * Decodes one log into *out (overwritten; fields the event does not carry
 * are zero): operation from topic0, caller from topic 1, log_index, input
 * and output handles, and for PlaintextToEncrypted value and tee_type.
 * A Compute log becomes a generic event (op NULL) named
 * nox_event_default_name(operatorId); its data must be the canonical ABI
 * encoding of (uint16, bytes32[], bytes32[]) with 1..8 entries per array
 * and an operatorId >= 64, else NOX_ERR_INVALID.
 * Returns NOX_OK; NOX_ERR_NOT_FOUND when topic0 is not an operation event;
 * NOX_ERR_INVALID for a wrong topic count, a caller topic that is not a
 * left-padded address, data of the wrong length, or a teeType word above
 * 255. The message starts with "log <logIndex> (<EventName>): " and quotes
 * no data.
 */
nox_status nox_event_decode(const nox_rpc_log *log, nox_message_event *out, nox_error *err);

/** The logs of one transaction and the message built from them. */
typedef struct nox_event_tx {
    uint64_t block_number;
    uint8_t block_hash[32];
    uint8_t tx_hash[32];
    const nox_rpc_log **logs;  /**< its n_logs logs in logIndex order (pointers into the array given to nox_events_group) */
    size_t n_logs;
    /**
     * NOX_OK: `msg` holds the transaction's message, validated with
     * nox_message_validate. Otherwise the transaction cannot become a
     * message (a log that does not decode, or a message the validation
     * refuses), `msg` is empty and `error` says why.
     */
    nox_status status;
    nox_message msg;
    nox_error error;
} nox_event_tx;

/**
 * Groups logs (an eth_getLogs answer, in any order) per transaction: the
 * transactions in chain order (block, then first logIndex), each one's logs
 * in logIndex order, and builds each transaction's message: chainId =
 * chain_id, blockNumber, transactionHash, the events in logIndex order and,
 * as top-level `caller`, the caller of its first event (spec §6 does not
 * define the field further; the events keep their own callers).
 *
 * Logs whose topic0 is not an operation event (other events of the same
 * contract) belong to no message and are skipped. A log that does not
 * decode does not fail the call: its transaction gets that error in
 * `status`/`error` (to be dead-lettered whole, never published in part).
 *
 * The call itself fails with NOX_ERR_INVALID when the answer is
 * inconsistent, which says nothing about the transactions and is worth
 * asking again: a log of another address than nox_compute, a log flagged
 * removed, one block number with two block hashes, one transaction in two
 * blocks, or two logs at the same (block, logIndex). NOX_ERR_NOMEM when out
 * of memory. On success *txs receives *n_txs transactions (NULL/0 when there
 * are none) to release with nox_event_txs_free; the logs must outlive them.
 */
nox_status nox_events_group(const nox_rpc_log *logs, size_t n, uint32_t chain_id,
                            const uint8_t nox_compute[NOX_ADDRESS_SIZE], nox_event_tx **txs, size_t *n_txs,
                            nox_error *err);

/** Frees what nox_events_group returned (NULL is fine). */
void nox_event_txs_free(nox_event_tx *txs, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* NOX_EVENTS_H */
