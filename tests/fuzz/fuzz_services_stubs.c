/* tests/fuzz: wrapped crypto/network calls under the services' handlers (see fuzz_services_stubs.h). */
#include "fuzz_services_stubs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "nox/eip712.h"
#include "nox/kms_group.h"
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

/*
 * The KMS group (nox/kms_group.h): t = 2 envelopes of canned bytes (nodes 1 and 3), or a refusal (400) for a
 * target key shorter than 8 characters. The group itself: 2-of-3 with the generator-free zero group (only its
 * threshold and verification keys are read by the Gateway).
 */
static nox_th_group fuzz_group = {.threshold = 2, .nodes = 3};

const nox_th_group *__wrap_nox_kms_group_group(const nox_kms_group_client *c);
const nox_th_group *__wrap_nox_kms_group_group(const nox_kms_group_client *c) {
    (void)c;
    return &fuzz_group;
}

nox_status __wrap_nox_kms_group_partials(nox_kms_group_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                         const char *const *eph, size_t m, const char *target, uint64_t exclude,
                                         nox_kms_group_answer *out, nox_kms_fault *fault, nox_error *err);
nox_status __wrap_nox_kms_group_partials(nox_kms_group_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                         const char *const *eph, size_t m, const char *target, uint64_t exclude,
                                         nox_kms_group_answer *out, nox_kms_fault *fault, nox_error *err) {
    (void)c;
    (void)chain_id;
    (void)gateway_key;
    (void)exclude;
    memset(out, 0, sizeof *out);
    FUZZ_CHECK(m >= 1 && m <= NOX_DELEGATION_MAX_ITEMS && target != NULL);
    for (size_t i = 0; i < m; i++) FUZZ_CHECK(eph[i] != NULL && strlen(eph[i]) == 2 + 2 * 33);
    if (strlen(target) < 8) {
        memset(fault, 0, sizeof *fault);
        fault->http_status = 400;
        snprintf(fault->message, sizeof fault->message, "targetPubKey: not an RSA key");
        return nox_error_set(err, NOX_ERR_REMOTE, "KMS node 1 refused the request");
    }
    for (unsigned k = 0; k < 2; k++) {
        nox_sealed_partials *s = &out->sealed[out->n++];
        s->node = 1 + 2 * k;
        s->wrapped_key_len = 256;
        s->ciphertext_len = NOX_DELEGATION_SEALED_SIZE(m);
        s->wrapped_key = malloc(s->wrapped_key_len);
        s->ciphertext = malloc(s->ciphertext_len);
        FUZZ_CHECK(s->wrapped_key && s->ciphertext);
        memset(s->wrapped_key, 0x42, s->wrapped_key_len);
        memset(s->ciphertext, 0x43, s->ciphertext_len);
    }
    return NOX_OK;
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
