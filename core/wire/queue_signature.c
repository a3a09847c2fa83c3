/* Signed queue messages (nox/queue_signature.h, docs/PROTOCOL-EXTENSIONS.md §8): keccak256 from keccak.c,
 * ECDSA sign/recover from ec.c (libsecp256k1). */
#include "nox/queue_signature.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/keccak.h"

const char *const nox_queue_verdict_names[NOX_QUEUE_VERDICTS] = {
    [NOX_QUEUE_OK] = "ok",
    [NOX_QUEUE_UNSIGNED] = "unsigned",
    [NOX_QUEUE_MALFORMED] = "malformed",
    [NOX_QUEUE_UNKNOWN_SIGNER] = "unknown_signer",
    [NOX_QUEUE_MISMATCH] = "mismatch",
};

uint32_t nox_queue_chain_id(const void *body, size_t len) {
    if (!body || len == 0) return 0;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *c = json_is_object(root) ? json_object_get(root, "chainId") : NULL;
    uint32_t id = 0;
    if (json_is_integer(c)) {
        json_int_t v = json_integer_value(c);
        if (v >= 1 && v <= (json_int_t)UINT32_MAX) id = (uint32_t)v;
    }
    json_decref(root);
    return id;
}

nox_queue_message nox_queue_message_of(const char *stream, const char *subject, const char *reason,
                                       const void *body, size_t body_len) {
    nox_queue_message m = {.version = NOX_QUEUE_SIG_VERSION, .chain_id = nox_queue_chain_id(body, body_len),
                           .stream = stream, .subject = subject, .reason = reason, .body = body,
                           .body_len = body_len};
    return m;
}

/* A uint256 word: v right-aligned, big-endian. */
static void word(uint64_t v, uint8_t out[32]) {
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++) out[31 - i] = (uint8_t)(v >> (8 * i));
}

static void hash_text(const char *s, uint8_t out[32]) { nox_keccak256(s ? s : "", s ? strlen(s) : 0, out); }

void nox_queue_preimage(const nox_queue_message *m, uint8_t out[NOX_QUEUE_SIG_PREIMAGE_SIZE]) {
    nox_keccak256(NOX_QUEUE_SIG_TAG, sizeof NOX_QUEUE_SIG_TAG - 1, out);
    word(m->version, out + 32);
    word(m->chain_id, out + 64);
    hash_text(m->stream, out + 96);
    hash_text(m->subject, out + 128);
    hash_text(m->reason, out + 160);
    nox_keccak256(m->body_len ? m->body : NULL, m->body_len, out + 192);
}

void nox_queue_digest(const nox_queue_message *m, uint8_t out[32]) {
    uint8_t pre[NOX_QUEUE_SIG_PREIMAGE_SIZE];
    nox_queue_preimage(m, pre);
    nox_keccak256(pre, sizeof pre, out);
}

nox_status nox_queue_sign(const nox_ec_privkey *key, const nox_queue_message *m,
                          char signature[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], char signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1],
                          nox_error *err) {
    if (m->version != NOX_QUEUE_SIG_VERSION)
        return nox_error_set(err, NOX_ERR_INVALID, "queue signature version %u; this code signs version %d only",
                             (unsigned)m->version, NOX_QUEUE_SIG_VERSION);
    if (!m->stream || !m->subject)
        return nox_error_set(err, NOX_ERR_INVALID, "a signed queue message names its stream and subject");
    uint8_t digest[32], sig[NOX_EC_SIGNATURE_SIZE];
    nox_queue_digest(m, digest);
    nox_status st = nox_ec_sign(key, digest, sig, err);
    if (!st && signer) {
        uint8_t addr[NOX_ADDRESS_SIZE];
        st = nox_ec_key_address(key, addr, err);
        if (!st) nox_hex_encode(addr, sizeof addr, signer);
    }
    if (!st) nox_hex_encode(sig, sizeof sig, signature);
    return st;
}

/* Records why in *why (when given: status NOX_ERR_AUTH) and returns verdict v. */
__attribute__((format(printf, 3, 4))) static nox_queue_verdict refuse(nox_queue_verdict v, nox_error *why,
                                                                      const char *fmt, ...) {
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->message, sizeof why->message, fmt, ap);
        va_end(ap);
        why->code = NOX_ERR_AUTH;
    }
    return v;
}

nox_queue_verdict nox_queue_check_headers(const char *signature, const char *signer,
                                          const uint8_t *trusted, size_t n_trusted,
                                          nox_queue_auth *out, nox_error *why) {
    nox_error e = {0};
    if (!signature)
        return refuse(NOX_QUEUE_UNSIGNED, why, "no %s header (the message is not signed)", NOX_QUEUE_HEADER_SIGNATURE);
    if (nox_hex_decode_exact(signature, strlen(signature), out->signature, sizeof out->signature, &e) ||
        nox_ec_signature_check(out->signature, sizeof out->signature, &e))
        return refuse(NOX_QUEUE_MALFORMED, why, "%s: %s", NOX_QUEUE_HEADER_SIGNATURE, e.message);
    if (!signer)
        return refuse(NOX_QUEUE_MALFORMED, why, "a %s header but no %s header", NOX_QUEUE_HEADER_SIGNATURE,
                      NOX_QUEUE_HEADER_SIGNER);
    if (nox_hex_decode_exact(signer, strlen(signer), out->signer, sizeof out->signer, &e))
        return refuse(NOX_QUEUE_MALFORMED, why, "%s: %s", NOX_QUEUE_HEADER_SIGNER, e.message);
    for (size_t i = 0; i < n_trusted; i++)
        if (!memcmp(trusted + i * NOX_ADDRESS_SIZE, out->signer, NOX_ADDRESS_SIZE)) return NOX_QUEUE_OK;
    char addr[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
    return refuse(NOX_QUEUE_UNKNOWN_SIGNER, why, "signed by %s, which is not a trusted address",
                  nox_hex_encode(out->signer, sizeof out->signer, addr));
}

nox_queue_verdict nox_queue_check_message(const nox_queue_auth *a, const nox_queue_message *m, nox_error *why) {
    if (m->version != NOX_QUEUE_SIG_VERSION)
        return refuse(NOX_QUEUE_MALFORMED, why, "queue signature version %u is not supported (%d is)",
                      (unsigned)m->version, NOX_QUEUE_SIG_VERSION);
    uint8_t digest[32], recovered[NOX_ADDRESS_SIZE];
    nox_error e = {0};
    nox_queue_digest(m, digest);
    if (nox_ec_recover(digest, a->signature, sizeof a->signature, recovered, &e))
        return refuse(NOX_QUEUE_MALFORMED, why, "%s: %s", NOX_QUEUE_HEADER_SIGNATURE, e.message);
    if (memcmp(recovered, a->signer, NOX_ADDRESS_SIZE)) {
        char addr[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
        return refuse(NOX_QUEUE_MISMATCH, why, "the signature is not %s's over this message: its body, subject, "
                      "stream, dead-letter reason or chain id differ from what was signed",
                      nox_hex_encode(a->signer, sizeof a->signer, addr));
    }
    return NOX_QUEUE_OK;
}

nox_queue_verdict nox_queue_verify(const char *signature, const char *signer,
                                   const uint8_t *trusted, size_t n_trusted, const char *stream,
                                   const char *subject, const char *reason, const void *body, size_t body_len,
                                   uint8_t signer_out[NOX_ADDRESS_SIZE], nox_error *why) {
    nox_queue_auth a;
    nox_queue_verdict v = nox_queue_check_headers(signature, signer, trusted, n_trusted, &a, why);
    if (v != NOX_QUEUE_OK) return v;
    nox_queue_message m = nox_queue_message_of(stream, subject, reason, body, body_len);
    v = nox_queue_check_message(&a, &m, why);
    if (v == NOX_QUEUE_OK && signer_out) memcpy(signer_out, a.signer, NOX_ADDRESS_SIZE);
    return v;
}

char *nox_queue_header_text(const char *in, char *out, size_t cap) {
    if (cap == 0) return out;
    size_t start = 0, n = in ? strlen(in) : 0;
    while (start < n && in[start] == ' ') start++;
    while (n > start && in[n - 1] == ' ') n--;
    size_t k = 0;
    for (size_t i = start; i < n && k + 1 < cap; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    while (k > 0 && out[k - 1] == ' ') k--; /* cut short right after a space */
    out[k] = '\0';
    return out;
}
