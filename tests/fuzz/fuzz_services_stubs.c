/* tests/fuzz: wrapped crypto/network calls under the services' handlers (see fuzz_services_stubs.h). */
#include "fuzz_services_stubs.h"

#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "nox/eip712.h"
#include "nox/kms_client.h"
#include "nox/rpc.h"

uint8_t fuzz_trusted_signer[NOX_ADDRESS_SIZE];

nox_status __real_nox_eip712_recover(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                                     const uint8_t *sig, size_t sig_len, uint8_t address[NOX_ADDRESS_SIZE],
                                     nox_error *err);
nox_status __wrap_nox_eip712_recover(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                                     const uint8_t *sig, size_t sig_len, uint8_t address[NOX_ADDRESS_SIZE],
                                     nox_error *err);
nox_status __wrap_nox_eip712_recover(const nox_eip712_domain *domain, const uint8_t struct_hash[NOX_EIP712_HASH_SIZE],
                                     const uint8_t *sig, size_t sig_len, uint8_t address[NOX_ADDRESS_SIZE],
                                     nox_error *err) {
    if (sig_len == NOX_EC_SIGNATURE_SIZE && sig[0] == 0) {
        memcpy(address, fuzz_trusted_signer, NOX_ADDRESS_SIZE);
        return NOX_OK;
    }
    return __real_nox_eip712_recover(domain, struct_hash, sig, sig_len, address, err);
}

/* A delegation answer: 256 bytes, or a refusal (400) for a target key shorter than 8 characters. */
static nox_status delegate_one(const char *eph, const char *target, uint8_t *out, size_t cap, size_t *out_len,
                               nox_kms_fault *fault, nox_error *err) {
    FUZZ_CHECK(eph != NULL && target != NULL && strlen(eph) == 2 + 2 * 33);
    if (strlen(target) < 8) {
        if (fault) {
            memset(fault, 0, sizeof *fault);
            fault->http_status = 400;
            snprintf(fault->message, sizeof fault->message, "targetPubKey: not an RSA key");
        }
        return nox_error_set(err, NOX_ERR_REMOTE, "the KMS answered 400");
    }
    FUZZ_CHECK(cap >= 256);
    memset(out, 0x42, 256);
    *out_len = 256;
    return NOX_OK;
}

nox_status __wrap_nox_kms_delegate(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                   const char *ephemeral_pub_key, const char *target_pub_key, uint8_t *out, size_t cap,
                                   size_t *out_len, nox_kms_fault *fault, nox_error *err);
nox_status __wrap_nox_kms_delegate(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                   const char *ephemeral_pub_key, const char *target_pub_key, uint8_t *out, size_t cap,
                                   size_t *out_len, nox_kms_fault *fault, nox_error *err) {
    (void)c;
    (void)chain_id;
    (void)gateway_key;
    return delegate_one(ephemeral_pub_key, target_pub_key, out, cap, out_len, fault, err);
}

nox_status __wrap_nox_kms_delegate_batch(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                         nox_kms_delegation *items, size_t n, unsigned parallelism, nox_error *err);
nox_status __wrap_nox_kms_delegate_batch(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                         nox_kms_delegation *items, size_t n, unsigned parallelism, nox_error *err) {
    (void)c;
    (void)chain_id;
    (void)gateway_key;
    (void)parallelism;
    nox_status first = NOX_OK;
    for (size_t i = 0; i < n; i++) {
        memset(&items[i].fault, 0, sizeof items[i].fault);
        items[i].status = delegate_one(items[i].ephemeral_pub_key, items[i].target_pub_key, items[i].out,
                                       items[i].cap, &items[i].out_len, &items[i].fault, &items[i].error);
        if (items[i].status && !first) {
            first = items[i].status;
            nox_error_set(err, first, "%s", items[i].error.message);
        }
    }
    return first;
}

/* isViewer: yes when the user address (bytes 48..67 of the call data) starts with an even byte; 0xff: no answer. */
nox_status __wrap_nox_rpc_eth_call(nox_rpc *c, const uint8_t to[NOX_ADDRESS_SIZE], const uint8_t *data, size_t len,
                                   const char *block, uint8_t **out, size_t *out_len, nox_rpc_fault *fault,
                                   nox_error *err);
nox_status __wrap_nox_rpc_eth_call(nox_rpc *c, const uint8_t to[NOX_ADDRESS_SIZE], const uint8_t *data, size_t len,
                                   const char *block, uint8_t **out, size_t *out_len, nox_rpc_fault *fault,
                                   nox_error *err) {
    (void)c;
    (void)to;
    (void)block;
    (void)fault;
    FUZZ_CHECK(len == 68);
    if (data[48] == 0xff) return nox_error_set(err, NOX_ERR_IO, "connection refused");
    *out = calloc(1, 32);
    if (!*out) abort();
    (*out)[31] = (uint8_t)(data[48] % 2 == 0);
    *out_len = 32;
    return NOX_OK;
}

time_t __wrap_time(time_t *t);
time_t __wrap_time(time_t *t) {
    if (t) *t = FUZZ_NOW;
    return FUZZ_NOW;
}
