/*
 * nox/queue_signature.h — signed queue messages (docs/PROTOCOL-EXTENSIONS.md §8).
 *
 * Every message the Ingestor publishes (TransactionMessages, failure notices, dead letters) and every
 * dead letter a Runner publishes carries, in two NATS headers, a secp256k1 signature by its publisher's
 * wallet and the wallet's address:
 *
 *   Nox-Signature: 0x<r(32) ‖ s(32) ‖ v(1)>     130 hex digits, low s, v = 27 + recovery id
 *   Nox-Signer:    0x<address>                   40 hex digits
 *
 * The signature covers the digest
 *
 *   keccak256( keccak256("nox-queue-message")     32 bytes: what the signature is for
 *            ‖ uint256(version)                   32 bytes: 1
 *            ‖ uint256(chainId)                   32 bytes: nox_queue_chain_id(body)
 *            ‖ keccak256(stream)                  32 bytes: the JetStream stream that stores the message
 *            ‖ keccak256(subject)                 32 bytes: the subject it is published to
 *            ‖ keccak256(reason)                  32 bytes: its Nox-Dead-Reason header value, "" when none
 *            ‖ keccak256(body) )                  32 bytes: the exact bytes published
 *
 * (integers big-endian, text as its bytes): a fixed 224-byte preimage, every variable field hashed, so
 * no two different messages share a preimage. Nothing here allocates except nox_queue_chain_id (a JSON
 * parse); every function may be called from any thread. The only secret, the signing key, stays in ec.h.
 */
#ifndef NOX_QUEUE_SIGNATURE_H
#define NOX_QUEUE_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the signed structure this code makes and accepts. */
#define NOX_QUEUE_SIG_VERSION 1
/** The text whose keccak256 opens every preimage. */
#define NOX_QUEUE_SIG_TAG "nox-queue-message"
/** The preimage's size: seven 32-byte words. */
#define NOX_QUEUE_SIG_PREIMAGE_SIZE 224

/** The headers (case as written; nats.c looks header names up case-sensitively). */
#define NOX_QUEUE_HEADER_SIGNATURE "Nox-Signature"
#define NOX_QUEUE_HEADER_SIGNER "Nox-Signer"
#define NOX_QUEUE_HEADER_REASON "Nox-Dead-Reason"

/** Lengths of the two header values: `0x` + 130 and `0x` + 40 hex digits (add 1 for the NUL). */
#define NOX_QUEUE_SIGNATURE_TEXT_LEN (2 + 2 * NOX_EC_SIGNATURE_SIZE)
#define NOX_QUEUE_SIGNER_TEXT_LEN (2 + 2 * NOX_ADDRESS_SIZE)

/** What a signature covers: one published message. */
typedef struct nox_queue_message {
    uint32_t version;   /**< NOX_QUEUE_SIG_VERSION */
    uint64_t chain_id;  /**< nox_queue_chain_id(body, body_len) */
    const char *stream; /**< the stream that stores it (JetStream metadata on delivery) */
    const char *subject;
    const char *reason; /**< the Nox-Dead-Reason header's value; NULL when the message has none (hashed as "") */
    const void *body;   /**< may be NULL when body_len is 0 */
    size_t body_len;
} nox_queue_message;

/**
 * The chain id a message is signed under: the top-level `chainId` member of the body when the body is
 * a JSON object (parsed as nox_message_parse parses it: jansson, duplicate keys refused) whose `chainId`
 * is an integer in 1..2^32-1; otherwise 0 (no chain). Every TransactionMessage, failure notice and
 * dead letter carries it, so publisher and consumer derive the same value from the bytes alone.
 */
uint32_t nox_queue_chain_id(const void *body, size_t len);

/**
 * A message to sign or verify: version NOX_QUEUE_SIG_VERSION, chain id nox_queue_chain_id(body), and
 * the given fields (pointers kept, not copied).
 */
nox_queue_message nox_queue_message_of(const char *stream, const char *subject, const char *reason,
                                       const void *body, size_t body_len);

/** Writes the preimage described at the top of this file (NOX_QUEUE_SIG_PREIMAGE_SIZE bytes) into out. */
void nox_queue_preimage(const nox_queue_message *m, uint8_t out[NOX_QUEUE_SIG_PREIMAGE_SIZE]);

/** Writes keccak256(preimage) — the digest that is signed — into out. */
void nox_queue_digest(const nox_queue_message *m, uint8_t out[32]);

/**
 * Signs m with key: signature receives the Nox-Signature value (`0x` + 130 lowercase hex digits, low s,
 * v 27/28) and signer, when not NULL, the Nox-Signer value (`0x` + 40 lowercase hex digits). m->version
 * must be NOX_QUEUE_SIG_VERSION and m->stream, m->subject not NULL (else NOX_ERR_INVALID).
 */
nox_status nox_queue_sign(const nox_ec_privkey *key, const nox_queue_message *m,
                          char signature[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], char signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1],
                          nox_error *err);

/** Why a message is refused (also the suffix of the Runner's nox_runner_rejected_messages_<name>_total). */
typedef enum nox_queue_verdict {
    NOX_QUEUE_OK = 0,
    NOX_QUEUE_UNSIGNED,       /**< no Nox-Signature header */
    NOX_QUEUE_MALFORMED,      /**< a header that is not of the form above, v not in {0,1,27,28}, r/s out of range,
                                   high s, no Nox-Signer, version not 1 */
    NOX_QUEUE_UNKNOWN_SIGNER, /**< Nox-Signer is not a trusted address */
    NOX_QUEUE_MISMATCH,       /**< the signature does not recover to Nox-Signer over this message: its body,
                                   subject, stream, reason or chain differ from what was signed */
    NOX_QUEUE_VERDICTS
} nox_queue_verdict;

/** "ok", "unsigned", "malformed", "unknown_signer", "mismatch". */
extern const char *const nox_queue_verdict_names[NOX_QUEUE_VERDICTS];

/** The two headers, parsed and checked (nox_queue_check_headers). */
typedef struct nox_queue_auth {
    uint8_t signature[NOX_EC_SIGNATURE_SIZE];
    uint8_t signer[NOX_ADDRESS_SIZE];
} nox_queue_auth;

/**
 * Step 1, the headers alone (nothing of the message is read): signature NULL → NOX_QUEUE_UNSIGNED; a
 * value that is not `0x` + 130 hex digits (either case) or breaks nox_ec_signature_check, or signer NULL
 * or not `0x` + 40 hex digits → NOX_QUEUE_MALFORMED; a signer not among the n_trusted addresses at
 * `trusted` (20 bytes each, back to back) → NOX_QUEUE_UNKNOWN_SIGNER. NOX_QUEUE_OK fills *out. why (may
 * be NULL) receives the reason, which names the header and the rule, never a value other than the
 * signer's address.
 */
nox_queue_verdict nox_queue_check_headers(const char *signature, const char *signer,
                                          const uint8_t *trusted, size_t n_trusted,
                                          nox_queue_auth *out, nox_error *why);

/**
 * Step 2: NOX_QUEUE_OK when a->signature over nox_queue_digest(m) recovers to a->signer;
 * NOX_QUEUE_MALFORMED when m->version is not NOX_QUEUE_SIG_VERSION or the signature recovers no key;
 * else NOX_QUEUE_MISMATCH.
 */
nox_queue_verdict nox_queue_check_message(const nox_queue_auth *a, const nox_queue_message *m, nox_error *why);

/**
 * Both steps in order — the headers, then nox_queue_message_of(stream, subject, reason, body) (the only
 * parse of the body), then the signature — as a consumer must run them before it acts on a message.
 * signer_out (may be NULL) receives the verified signer on NOX_QUEUE_OK.
 */
nox_queue_verdict nox_queue_verify(const char *signature, const char *signer,
                                   const uint8_t *trusted, size_t n_trusted, const char *stream,
                                   const char *subject, const char *reason, const void *body, size_t body_len,
                                   uint8_t signer_out[NOX_ADDRESS_SIZE], nox_error *why);

/**
 * A header value from any text: printable ASCII only (other bytes become '?', so no CR/LF can end the
 * header), leading and trailing spaces removed (a NATS header parser may drop them, and the reason is
 * signed as sent), at most cap - 1 characters. Returns out. Publishers pass Nox-Dead-Reason through it
 * and sign what it returns.
 */
char *nox_queue_header_text(const char *in, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* NOX_QUEUE_SIGNATURE_H */
