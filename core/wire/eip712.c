/* EIP-712 hashStruct, domain separators, digests and signatures (spec §4.4). */
#include "nox/eip712.h"

#include <stdio.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/keccak.h"

/* ---- encoding: every member is one 32-byte word -------------------------- */

/* A struct hash under construction: keccak256(typeHash ‖ word ‖ word ‖ …). */
typedef struct encoder {
    nox_keccak256_ctx ctx;
} encoder;

static void enc_begin(encoder *e, const char *type_string) {
    uint8_t th[NOX_EIP712_HASH_SIZE];
    nox_eip712_typehash(type_string, th);
    nox_keccak256_init(&e->ctx);
    nox_keccak256_update(&e->ctx, th, sizeof th);
}

static void enc_word(encoder *e, const uint8_t word[32]) { nox_keccak256_update(&e->ctx, word, 32); }

/* uint256 holding a 64-bit value: big-endian in the last 8 bytes. */
static void enc_uint(encoder *e, uint64_t v) {
    uint8_t w[32] = {0};
    for (int i = 0; i < 8; i++) w[31 - i] = (uint8_t)(v >> (8 * i));
    enc_word(e, w);
}

/* address: 12 zero bytes, then the 20 bytes. */
static void enc_address(encoder *e, const uint8_t a[NOX_ADDRESS_SIZE]) {
    uint8_t w[32] = {0};
    memcpy(w + 32 - NOX_ADDRESS_SIZE, a, NOX_ADDRESS_SIZE);
    enc_word(e, w);
}

static void enc_string(encoder *e, const char *s) {
    uint8_t h[NOX_EIP712_HASH_SIZE];
    nox_eip712_hash_string(s, h);
    enc_word(e, h);
}

static void enc_end(encoder *e, uint8_t out[NOX_EIP712_HASH_SIZE]) { nox_keccak256_final(&e->ctx, out); }

void nox_eip712_typehash(const char *type_string, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    nox_keccak256(type_string, strlen(type_string), out);
}

void nox_eip712_hash_string(const char *s, uint8_t out[NOX_EIP712_HASH_SIZE]) { nox_keccak256(s, strlen(s), out); }

void nox_eip712_hash_string_array(const char *const *items, size_t n, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    nox_keccak256_ctx ctx;
    nox_keccak256_init(&ctx);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[NOX_EIP712_HASH_SIZE];
        nox_eip712_hash_string(items[i], h);
        nox_keccak256_update(&ctx, h, sizeof h);
    }
    nox_keccak256_final(&ctx, out);
}

/* ---- domains ------------------------------------------------------------- */

char *nox_eip712_domain_type(const nox_eip712_domain *d, char out[NOX_EIP712_DOMAIN_TYPE_MAX]) {
    /* Field order is fixed by EIP-712, whatever subset is present. */
    const char *fields[5];
    size_t n = 0;
    if (d->name) fields[n++] = "string name";
    if (d->version) fields[n++] = "string version";
    if (d->has_chain_id) fields[n++] = "uint256 chainId";
    if (d->has_verifying_contract) fields[n++] = "address verifyingContract";
    if (d->has_salt) fields[n++] = "bytes32 salt";
    size_t len = (size_t)snprintf(out, NOX_EIP712_DOMAIN_TYPE_MAX, "EIP712Domain(");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, NOX_EIP712_DOMAIN_TYPE_MAX - len, "%s%s", i ? "," : "", fields[i]);
    snprintf(out + len, NOX_EIP712_DOMAIN_TYPE_MAX - len, ")");
    return out;
}

void nox_eip712_domain_typehash(const nox_eip712_domain *domain, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    char type[NOX_EIP712_DOMAIN_TYPE_MAX];
    nox_eip712_typehash(nox_eip712_domain_type(domain, type), out);
}

void nox_eip712_domain_separator(const nox_eip712_domain *d, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    char type[NOX_EIP712_DOMAIN_TYPE_MAX];
    encoder e;
    enc_begin(&e, nox_eip712_domain_type(d, type));
    if (d->name) enc_string(&e, d->name);
    if (d->version) enc_string(&e, d->version);
    if (d->has_chain_id) enc_uint(&e, d->chain_id);
    if (d->has_verifying_contract) enc_address(&e, d->verifying_contract);
    if (d->has_salt) enc_word(&e, d->salt);
    enc_end(&e, out);
}

/* name, version "1" and a chain id: the part every protocol domain shares. */
static nox_eip712_domain protocol_domain(const char *name, uint64_t chain_id) {
    nox_eip712_domain d = {.name = name, .version = "1", .has_chain_id = true, .chain_id = chain_id};
    return d;
}

nox_eip712_domain nox_eip712_domain_input_proof(uint64_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE]) {
    nox_eip712_domain d = protocol_domain("NoxCompute", chain_id);
    d.has_verifying_contract = true;
    memcpy(d.verifying_contract, nox_compute, NOX_ADDRESS_SIZE);
    return d;
}

nox_eip712_domain nox_eip712_domain_user_decryption(uint64_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE]) {
    nox_eip712_domain d = protocol_domain("Handle Gateway", chain_id);
    d.has_verifying_contract = true;
    memcpy(d.verifying_contract, nox_compute, NOX_ADDRESS_SIZE);
    return d;
}

nox_eip712_domain nox_eip712_domain_runner_gateway(uint64_t chain_id) {
    return protocol_domain("Handle Gateway", chain_id);
}

nox_eip712_domain nox_eip712_domain_runner_gateway_v2(uint64_t chain_id, const uint8_t gateway[NOX_ADDRESS_SIZE]) {
    nox_eip712_domain d = protocol_domain("Handle Gateway", chain_id);
    d.version = "2";
    d.has_verifying_contract = true;
    memcpy(d.verifying_contract, gateway, NOX_ADDRESS_SIZE);
    return d;
}

nox_eip712_domain nox_eip712_domain_kms_delegate(uint64_t chain_id) {
    return protocol_domain("ProtocolDelegate", chain_id);
}

nox_eip712_domain nox_eip712_domain_kms_public_key(uint64_t chain_id) {
    return protocol_domain("ProtocolPublicKey", chain_id);
}

void nox_eip712_digest(const uint8_t domain_separator[NOX_EIP712_HASH_SIZE],
                       const uint8_t struct_hash[NOX_EIP712_HASH_SIZE], uint8_t out[NOX_EIP712_HASH_SIZE]) {
    static const uint8_t prefix[2] = {0x19, 0x01};
    nox_keccak256_ctx ctx;
    nox_keccak256_init(&ctx);
    nox_keccak256_update(&ctx, prefix, sizeof prefix);
    nox_keccak256_update(&ctx, domain_separator, NOX_EIP712_HASH_SIZE);
    nox_keccak256_update(&ctx, struct_hash, NOX_EIP712_HASH_SIZE);
    nox_keccak256_final(&ctx, out);
}

/* ---- the six primary types ------------------------------------------------ */

void nox_eip712_hash_handle_proof(const uint8_t handle[32], const uint8_t owner[NOX_ADDRESS_SIZE],
                                  const uint8_t app[NOX_ADDRESS_SIZE], uint64_t created_at,
                                  uint8_t out[NOX_EIP712_HASH_SIZE]) {
    encoder e;
    enc_begin(&e, NOX_EIP712_TYPE_HANDLE_PROOF);
    enc_word(&e, handle);
    enc_address(&e, owner);
    enc_address(&e, app);
    enc_uint(&e, created_at);
    enc_end(&e, out);
}

void nox_eip712_hash_data_access_authorization(const uint8_t user_address[NOX_ADDRESS_SIZE],
                                               const char *encryption_pub_key, uint64_t not_before,
                                               uint64_t expires_at, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    encoder e;
    enc_begin(&e, NOX_EIP712_TYPE_DATA_ACCESS_AUTHORIZATION);
    enc_address(&e, user_address);
    enc_string(&e, encryption_pub_key);
    enc_uint(&e, not_before);
    enc_uint(&e, expires_at);
    enc_end(&e, out);
}

void nox_eip712_hash_operand_access_authorization(uint64_t chain_id, uint64_t block_number,
                                                  const uint8_t caller[NOX_ADDRESS_SIZE],
                                                  const char *transaction_hash, const char *const *operands,
                                                  size_t n_operands, const char *rsa_public_key,
                                                  uint8_t out[NOX_EIP712_HASH_SIZE]) {
    uint8_t ops[NOX_EIP712_HASH_SIZE];
    nox_eip712_hash_string_array(operands, n_operands, ops);
    encoder e;
    enc_begin(&e, NOX_EIP712_TYPE_OPERAND_ACCESS_AUTHORIZATION);
    enc_uint(&e, chain_id);
    enc_uint(&e, block_number);
    enc_address(&e, caller);
    enc_string(&e, transaction_hash);
    enc_word(&e, ops);
    enc_string(&e, rsa_public_key);
    enc_end(&e, out);
}

void nox_eip712_hash_result_publishing_authorization(uint64_t chain_id, uint64_t block_number,
                                                     const uint8_t caller[NOX_ADDRESS_SIZE],
                                                     const char *transaction_hash, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    encoder e;
    enc_begin(&e, NOX_EIP712_TYPE_RESULT_PUBLISHING_AUTHORIZATION);
    enc_uint(&e, chain_id);
    enc_uint(&e, block_number);
    enc_address(&e, caller);
    enc_string(&e, transaction_hash);
    enc_end(&e, out);
}

/* chainId, blockNumber, caller, transactionHash: the head every Runner authorization starts with. */
static void enc_runner_head(encoder *e, const nox_eip712_runner_scope *s) {
    enc_uint(e, s->chain_id);
    enc_uint(e, s->block_number);
    enc_address(e, s->caller);
    enc_string(e, s->transaction_hash);
}

void nox_eip712_hash_operand_access_authorization_v2(const nox_eip712_runner_scope *scope,
                                                     const char *const *operands, size_t n_operands,
                                                     const char *rsa_public_key, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    uint8_t ops[NOX_EIP712_HASH_SIZE];
    nox_eip712_hash_string_array(operands, n_operands, ops);
    encoder e;
    enc_begin(&e, NOX_EIP712_TYPE_OPERAND_ACCESS_AUTHORIZATION_V2);
    enc_runner_head(&e, scope);
    enc_word(&e, ops);
    enc_string(&e, rsa_public_key);
    enc_uint(&e, scope->not_before);
    enc_uint(&e, scope->expires_at);
    enc_end(&e, out);
}

/* The two content-bound types: head, count, digest, window. */
static void hash_content_bound(const char *type, const nox_eip712_runner_scope *scope, uint64_t count,
                               const uint8_t digest[NOX_EIP712_HASH_SIZE], uint8_t out[NOX_EIP712_HASH_SIZE]) {
    encoder e;
    enc_begin(&e, type);
    enc_runner_head(&e, scope);
    enc_uint(&e, count);
    enc_word(&e, digest);
    enc_uint(&e, scope->not_before);
    enc_uint(&e, scope->expires_at);
    enc_end(&e, out);
}

void nox_eip712_hash_result_publishing_authorization_v2(const nox_eip712_runner_scope *scope, uint64_t result_count,
                                                        const uint8_t results_digest[NOX_EIP712_HASH_SIZE],
                                                        uint8_t out[NOX_EIP712_HASH_SIZE]) {
    hash_content_bound(NOX_EIP712_TYPE_RESULT_PUBLISHING_AUTHORIZATION_V2, scope, result_count, results_digest, out);
}

void nox_eip712_hash_failure_recording_authorization(const nox_eip712_runner_scope *scope, uint64_t record_count,
                                                     const uint8_t records_digest[NOX_EIP712_HASH_SIZE],
                                                     uint8_t out[NOX_EIP712_HASH_SIZE]) {
    hash_content_bound(NOX_EIP712_TYPE_FAILURE_RECORDING_AUTHORIZATION, scope, record_count, records_digest, out);
}

void nox_eip712_hash_delegate_authorization(const char *ephemeral_pub_key, const char *target_pub_key,
                                            uint8_t out[NOX_EIP712_HASH_SIZE]) {
    encoder e;
    enc_begin(&e, NOX_EIP712_TYPE_DELEGATE_AUTHORIZATION);
    enc_string(&e, ephemeral_pub_key);
    enc_string(&e, target_pub_key);
    enc_end(&e, out);
}

/* A struct of (string[] ephemeralPubKeys, string targetPubKey) of the type `type`. */
static void hash_keys_to_target(const char *type, const char *const *ephemeral_pub_keys, size_t n,
                                const char *target_pub_key, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    uint8_t keys[NOX_EIP712_HASH_SIZE];
    nox_eip712_hash_string_array(ephemeral_pub_keys, n, keys);
    encoder e;
    enc_begin(&e, type);
    enc_word(&e, keys);
    enc_string(&e, target_pub_key);
    enc_end(&e, out);
}

void nox_eip712_hash_delegate_batch_authorization(const char *const *ephemeral_pub_keys, size_t n,
                                                  const char *target_pub_key, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    hash_keys_to_target(NOX_EIP712_TYPE_DELEGATE_BATCH_AUTHORIZATION, ephemeral_pub_keys, n, target_pub_key, out);
}

void nox_eip712_hash_partial_delegation_authorization(const char *const *ephemeral_pub_keys, size_t n,
                                                      const char *target_pub_key, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    hash_keys_to_target(NOX_EIP712_TYPE_PARTIAL_DELEGATION_AUTHORIZATION, ephemeral_pub_keys, n, target_pub_key, out);
}

void nox_eip712_hash_public_key_proof(const char *public_key, uint8_t out[NOX_EIP712_HASH_SIZE]) {
    encoder e;
    enc_begin(&e, NOX_EIP712_TYPE_PUBLIC_KEY_PROOF);
    enc_string(&e, public_key);
    enc_end(&e, out);
}

/* ---- signatures ------------------------------------------------------------ */

static void digest_of(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                      uint8_t out[NOX_EIP712_HASH_SIZE]) {
    uint8_t ds[NOX_EIP712_HASH_SIZE];
    nox_eip712_domain_separator(domain, ds);
    nox_eip712_digest(ds, struct_hash, out);
}

nox_status nox_eip712_sign(const nox_ec_privkey *key, const nox_eip712_domain *domain,
                           const uint8_t struct_hash[NOX_EIP712_HASH_SIZE], uint8_t sig[NOX_EC_SIGNATURE_SIZE],
                           nox_error *err) {
    uint8_t digest[NOX_EIP712_HASH_SIZE];
    digest_of(domain, struct_hash, digest);
    return nox_ec_sign(key, digest, sig, err);
}

nox_status nox_eip712_recover(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                              const uint8_t *sig, size_t sig_len, uint8_t address[NOX_ADDRESS_SIZE],
                              nox_error *err) {
    uint8_t digest[NOX_EIP712_HASH_SIZE];
    digest_of(domain, struct_hash, digest);
    return nox_ec_recover(digest, sig, sig_len, address, err);
}

nox_status nox_eip712_verify(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                             const uint8_t *sig, size_t sig_len, const uint8_t expected_signer[NOX_ADDRESS_SIZE],
                             nox_error *err) {
    uint8_t got[NOX_ADDRESS_SIZE];
    nox_status st = nox_eip712_recover(domain, struct_hash, sig, sig_len, got, err);
    if (st) return st;
    if (memcmp(got, expected_signer, NOX_ADDRESS_SIZE) != 0) {
        char want_hex[2 * NOX_ADDRESS_SIZE + 3], got_hex[2 * NOX_ADDRESS_SIZE + 3];
        return nox_error_set(err, NOX_ERR_INVALID,
                             "EIP-712 signature is by %s, not by the expected signer %s (or over another message, "
                             "domain or chain id)",
                             nox_hex_encode(got, NOX_ADDRESS_SIZE, got_hex),
                             nox_hex_encode(expected_signer, NOX_ADDRESS_SIZE, want_hex));
    }
    return NOX_OK;
}
