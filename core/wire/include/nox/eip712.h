/*
 * nox/eip712.h — EIP-712 typed-data hashing and signing for the six
 * authorisations of spec §4.4 and the extensions of docs/PROTOCOL-EXTENSIONS.md:
 *
 *   digest = keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message))
 *   hashStruct(m) = keccak256(typeHash ‖ enc(field 1) ‖ … ‖ enc(field n))
 *
 * with each field encoded as one 32-byte word: uint256 big-endian, address
 * left-padded with zeros, bytes32 as is, string as keccak256 of its UTF-8
 * bytes, string[] as keccak256 of the concatenated element hashes.
 *
 * Strings are NUL-terminated and hashed over their strlen() bytes: every
 * protocol string is `0x` hex text, so a caller that took a string from JSON
 * must refuse one with an embedded NUL before hashing it.
 *
 * Nothing here allocates or keeps state; every function may be called from
 * any thread. The only secret is the signing key, which stays inside ec.h.
 */
#ifndef NOX_EIP712_H
#define NOX_EIP712_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NOX_EIP712_HASH_SIZE 32

/* ---- the primary types (spec §4.4), fields in declaration order ----------- */

#define NOX_EIP712_TYPE_HANDLE_PROOF "HandleProof(bytes32 handle,address owner,address app,uint256 createdAt)"
#define NOX_EIP712_TYPE_DATA_ACCESS_AUTHORIZATION                                                       \
    "DataAccessAuthorization(address userAddress,string encryptionPubKey,uint256 notBefore,uint256 " \
    "expiresAt)"
#define NOX_EIP712_TYPE_OPERAND_ACCESS_AUTHORIZATION                                                    \
    "OperandAccessAuthorization(uint256 chainId,uint256 blockNumber,address caller,string transactionHash," \
    "string[] operands,string rsaPublicKey)"
#define NOX_EIP712_TYPE_RESULT_PUBLISHING_AUTHORIZATION \
    "ResultPublishingAuthorization(uint256 chainId,uint256 blockNumber,address caller,string transactionHash)"
#define NOX_EIP712_TYPE_DELEGATE_AUTHORIZATION "DelegateAuthorization(string ephemeralPubKey,string targetPubKey)"
#define NOX_EIP712_TYPE_PUBLIC_KEY_PROOF "PublicKeyProof(string publicKey)"
/* docs/PROTOCOL-EXTENSIONS.md §4: several delegations to one target key in one KMS request */
#define NOX_EIP712_TYPE_DELEGATE_BATCH_AUTHORIZATION \
    "DelegateBatchAuthorization(string[] ephemeralPubKeys,string targetPubKey)"
/* docs/PROTOCOL-EXTENSIONS.md §11: a threshold node's partials for several keys, sealed to one target key */
#define NOX_EIP712_TYPE_PARTIAL_DELEGATION_AUTHORIZATION \
    "PartialDelegationAuthorization(string[] ephemeralPubKeys,string targetPubKey)"
/*
 * docs/PROTOCOL-EXTENSIONS.md §7: the Runner's authorizations bound to their content and to a validity
 * window, signed in the domain nox_eip712_domain_runner_gateway_v2 (which names the Gateway).
 */
#define NOX_EIP712_TYPE_OPERAND_ACCESS_AUTHORIZATION_V2                                                 \
    "OperandAccessAuthorizationV2(uint256 chainId,uint256 blockNumber,address caller,string transactionHash," \
    "string[] operands,string rsaPublicKey,uint256 notBefore,uint256 expiresAt)"
#define NOX_EIP712_TYPE_RESULT_PUBLISHING_AUTHORIZATION_V2                                                  \
    "ResultPublishingAuthorizationV2(uint256 chainId,uint256 blockNumber,address caller,string transactionHash," \
    "uint256 resultCount,bytes32 resultsDigest,uint256 notBefore,uint256 expiresAt)"
#define NOX_EIP712_TYPE_FAILURE_RECORDING_AUTHORIZATION                                                   \
    "FailureRecordingAuthorization(uint256 chainId,uint256 blockNumber,address caller,string transactionHash," \
    "uint256 recordCount,bytes32 recordsDigest,uint256 notBefore,uint256 expiresAt)"

/** Writes keccak256(type_string) — the typeHash of a type string such as NOX_EIP712_TYPE_HANDLE_PROOF — into out. */
void nox_eip712_typehash(const char *type_string, uint8_t out[NOX_EIP712_HASH_SIZE]);

/* ---- domains ------------------------------------------------------------- */

/**
 * An EIP712Domain with any subset of its five fields. A field is present when
 * its pointer is non-NULL (name, version) or its has_ flag is set; only the
 * present fields enter the type string `EIP712Domain(...)` and the encoding,
 * always in the order name, version, chainId, verifyingContract, salt.
 * Zero-initialise and fill in, or use one of the protocol constructors below.
 */
typedef struct nox_eip712_domain {
    const char *name;    /**< string name, or NULL when absent */
    const char *version; /**< string version, or NULL when absent */
    bool has_chain_id;
    uint64_t chain_id; /**< uint256 chainId (every protocol chain id fits in 64 bits) */
    bool has_verifying_contract;
    uint8_t verifying_contract[NOX_ADDRESS_SIZE]; /**< address verifyingContract */
    bool has_salt;
    uint8_t salt[32]; /**< bytes32 salt */
} nox_eip712_domain;

/** Longest domain type string (all five fields), including the NUL. */
#define NOX_EIP712_DOMAIN_TYPE_MAX 128

/**
 * Writes the domain's type string, e.g. "EIP712Domain(string name,string
 * version,uint256 chainId)", NUL-terminated, into out (NOX_EIP712_DOMAIN_TYPE_MAX
 * bytes). The empty domain gives "EIP712Domain()". Returns out.
 */
char *nox_eip712_domain_type(const nox_eip712_domain *domain, char out[NOX_EIP712_DOMAIN_TYPE_MAX]);

/** Writes keccak256 of the domain's type string (see nox_eip712_domain_type) into out. */
void nox_eip712_domain_typehash(const nox_eip712_domain *domain, uint8_t out[NOX_EIP712_HASH_SIZE]);

/** Writes the domain separator, hashStruct(domain), into out. */
void nox_eip712_domain_separator(const nox_eip712_domain *domain, uint8_t out[NOX_EIP712_HASH_SIZE]);

/* The protocol's domains (spec §4.4). The names point to static strings. */

/** Input proofs (HandleProof): {"NoxCompute", "1", chain_id, verifyingContract = the NoxCompute contract}. */
nox_eip712_domain nox_eip712_domain_input_proof(uint64_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE]);

/** User decryption (DataAccessAuthorization): {"Handle Gateway", "1", chain_id, verifyingContract = NoxCompute}. */
nox_eip712_domain nox_eip712_domain_user_decryption(uint64_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE]);

/** Runner → Gateway (Operand access, Result publishing): {"Handle Gateway", "1", chain_id}, no contract. */
nox_eip712_domain nox_eip712_domain_runner_gateway(uint64_t chain_id);

/**
 * Runner → Gateway, the bound authorizations of docs/PROTOCOL-EXTENSIONS.md §7 (OperandAccessAuthorizationV2,
 * ResultPublishingAuthorizationV2, FailureRecordingAuthorization): {"Handle Gateway", "2", chain_id,
 * verifyingContract = gateway}, gateway being the Gateway's wallet address, so that a signature made for
 * one Gateway is worth nothing at another that trusts the same Runner.
 */
nox_eip712_domain nox_eip712_domain_runner_gateway_v2(uint64_t chain_id, const uint8_t gateway[NOX_ADDRESS_SIZE]);

/** Gateway → KMS (DelegateAuthorization): {"ProtocolDelegate", "1", chain_id}. */
nox_eip712_domain nox_eip712_domain_kms_delegate(uint64_t chain_id);

/** KMS public key proof (PublicKeyProof): {"ProtocolPublicKey", "1", chain_id}. */
nox_eip712_domain nox_eip712_domain_kms_public_key(uint64_t chain_id);

/* ---- digest and field helpers ------------------------------------------- */

/** Writes keccak256(0x19 0x01 ‖ domain_separator ‖ struct_hash), the 32 bytes that are signed, into out. */
void nox_eip712_digest(const uint8_t domain_separator[NOX_EIP712_HASH_SIZE],
                       const uint8_t struct_hash[NOX_EIP712_HASH_SIZE], uint8_t out[NOX_EIP712_HASH_SIZE]);

/** Writes the encoding of a `string` member, keccak256 of its strlen(s) bytes, into out. */
void nox_eip712_hash_string(const char *s, uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * Writes the encoding of a `string[]` member into out: keccak256 of the
 * concatenated keccak256 of each of items[0..n) in order. n = 0 gives
 * keccak256 of the empty input (items may then be NULL).
 */
void nox_eip712_hash_string_array(const char *const *items, size_t n, uint8_t out[NOX_EIP712_HASH_SIZE]);

/* ---- struct hashes of the six primary types ------------------------------ */
/* Each writes hashStruct(message) into out. Pointers must be non-NULL (string[]: see above). */

/** HandleProof(bytes32 handle, address owner, address app, uint256 createdAt) — the Gateway's input proof. */
void nox_eip712_hash_handle_proof(const uint8_t handle[32], const uint8_t owner[NOX_ADDRESS_SIZE],
                                  const uint8_t app[NOX_ADDRESS_SIZE], uint64_t created_at,
                                  uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * DataAccessAuthorization(address userAddress, string encryptionPubKey, uint256 notBefore, uint256 expiresAt)
 * — a user's decryption request; encryption_pub_key is the `0x` SPKI hex exactly as sent.
 */
void nox_eip712_hash_data_access_authorization(const uint8_t user_address[NOX_ADDRESS_SIZE],
                                               const char *encryption_pub_key, uint64_t not_before,
                                               uint64_t expires_at, uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * OperandAccessAuthorization(uint256 chainId, uint256 blockNumber, address caller, string transactionHash,
 * string[] operands, string rsaPublicKey) — a Runner reading operands; operands[0..n_operands) are the
 * handle strings in request order (order matters).
 */
void nox_eip712_hash_operand_access_authorization(uint64_t chain_id, uint64_t block_number,
                                                  const uint8_t caller[NOX_ADDRESS_SIZE],
                                                  const char *transaction_hash, const char *const *operands,
                                                  size_t n_operands, const char *rsa_public_key,
                                                  uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * ResultPublishingAuthorization(uint256 chainId, uint256 blockNumber, address caller, string transactionHash)
 * — a Runner storing results.
 */
void nox_eip712_hash_result_publishing_authorization(uint64_t chain_id, uint64_t block_number,
                                                     const uint8_t caller[NOX_ADDRESS_SIZE],
                                                     const char *transaction_hash, uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * What the three bound Runner authorizations (docs/PROTOCOL-EXTENSIONS.md §7) share: the transaction
 * they are made for and their validity window (seconds since the epoch; valid while
 * notBefore <= now < expiresAt, see nox/runner_auth.h for the Gateway's rules).
 */
typedef struct nox_eip712_runner_scope {
    uint64_t chain_id, block_number;
    uint8_t caller[NOX_ADDRESS_SIZE];
    const char *transaction_hash; /**< the string as sent (`0x` + 64 hex digits) */
    uint64_t not_before, expires_at;
} nox_eip712_runner_scope;

/**
 * OperandAccessAuthorizationV2(uint256 chainId, uint256 blockNumber, address caller, string transactionHash,
 * string[] operands, string rsaPublicKey, uint256 notBefore, uint256 expiresAt) — spec §4.4's
 * OperandAccessAuthorization with a validity window.
 */
void nox_eip712_hash_operand_access_authorization_v2(const nox_eip712_runner_scope *scope,
                                                     const char *const *operands, size_t n_operands,
                                                     const char *rsa_public_key, uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * ResultPublishingAuthorizationV2(uint256 chainId, uint256 blockNumber, address caller, string transactionHash,
 * uint256 resultCount, bytes32 resultsDigest, uint256 notBefore, uint256 expiresAt) — a Runner storing
 * exactly the result set whose nox_content_digest (nox/runner_auth.h) is results_digest.
 */
void nox_eip712_hash_result_publishing_authorization_v2(const nox_eip712_runner_scope *scope, uint64_t result_count,
                                                        const uint8_t results_digest[NOX_EIP712_HASH_SIZE],
                                                        uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * FailureRecordingAuthorization(uint256 chainId, uint256 blockNumber, address caller, string transactionHash,
 * uint256 recordCount, bytes32 recordsDigest, uint256 notBefore, uint256 expiresAt) — a Runner recording
 * exactly the failure records whose nox_content_digest is records_digest.
 */
void nox_eip712_hash_failure_recording_authorization(const nox_eip712_runner_scope *scope, uint64_t record_count,
                                                     const uint8_t records_digest[NOX_EIP712_HASH_SIZE],
                                                     uint8_t out[NOX_EIP712_HASH_SIZE]);

/** DelegateAuthorization(string ephemeralPubKey, string targetPubKey) — the Gateway asking the KMS to delegate. */
void nox_eip712_hash_delegate_authorization(const char *ephemeral_pub_key, const char *target_pub_key,
                                            uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * DelegateBatchAuthorization(string[] ephemeralPubKeys, string targetPubKey) — the Gateway asking the
 * KMS for n delegations to one key in one request (docs/PROTOCOL-EXTENSIONS.md §4; domain as
 * DelegateAuthorization).
 */
void nox_eip712_hash_delegate_batch_authorization(const char *const *ephemeral_pub_keys, size_t n,
                                                  const char *target_pub_key, uint8_t out[NOX_EIP712_HASH_SIZE]);

/**
 * PartialDelegationAuthorization(string[] ephemeralPubKeys,string targetPubKey) — the Gateway asking a
 * threshold KMS node for its partials (docs/PROTOCOL-EXTENSIONS.md §11; domain as DelegateAuthorization).
 * One signature serves every node of the group.
 */
void nox_eip712_hash_partial_delegation_authorization(const char *const *ephemeral_pub_keys, size_t n,
                                                      const char *target_pub_key, uint8_t out[NOX_EIP712_HASH_SIZE]);

/** PublicKeyProof(string publicKey) — the KMS vouching for its public key. */
void nox_eip712_hash_public_key_proof(const char *public_key, uint8_t out[NOX_EIP712_HASH_SIZE]);

/* ---- signatures ------------------------------------------------------------ */

/**
 * Signs the EIP-712 digest of (domain, struct_hash) with key: sig = r ‖ s ‖ v,
 * low s, v = 27/28, deterministic (RFC 6979), as nox_ec_sign. Returns NOX_OK
 * or nox_ec_sign's error.
 */
nox_status nox_eip712_sign(const nox_ec_privkey *key, const nox_eip712_domain *domain,
                           const uint8_t struct_hash[NOX_EIP712_HASH_SIZE], uint8_t sig[NOX_EC_SIGNATURE_SIZE],
                           nox_error *err);

/**
 * Recovers into address the signer of sig[0..sig_len) over the EIP-712 digest
 * of (domain, struct_hash). Returns NOX_OK, or NOX_ERR_INVALID for a
 * signature nox_ec_recover refuses (length, v, r/s range, high s). A
 * signature over another message recovers to some other address: compare the
 * result with the expected signer, or use nox_eip712_verify.
 */
nox_status nox_eip712_recover(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                              const uint8_t *sig, size_t sig_len, uint8_t address[NOX_ADDRESS_SIZE],
                              nox_error *err);

/**
 * Checks that sig[0..sig_len) over (domain, struct_hash) was made by
 * expected_signer. Returns NOX_OK, or NOX_ERR_INVALID for a refused signature
 * or another signer (the message names both addresses, which are public).
 */
nox_status nox_eip712_verify(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                             const uint8_t *sig, size_t sig_len, const uint8_t expected_signer[NOX_ADDRESS_SIZE],
                             nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_EIP712_H */
