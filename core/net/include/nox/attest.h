/*
 * nox/attest.h — the host side of attestation plugins (the ABI is nox/attestation.h):
 * loading a quote provider (Runner) or verifier (Gateway), and the report data that binds
 * a quote to a Runner's wallet and to the key of its TLS client certificate.
 *
 * The binding (docs/PROTOCOL-EXTENSIONS.md §12):
 *     report_data = SHA-512("nox/attestation/runner/v1" || wallet (20 bytes) || SHA-256(client certificate SPKI))
 * A quote over it proves that a TD with the quoted measurements holds both the wallet the Runner signs
 * with and the TLS key of the connection it is presented on: a quote replayed by anyone else, over
 * another connection or for another wallet, does not match what the Gateway computes.
 */
#ifndef NOX_ATTEST_H
#define NOX_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "nox/attestation.h"
#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The domain tag hashed first into the report data. */
#define NOX_ATTEST_DOMAIN "nox/attestation/runner/v1"

/** report_data for a Runner's wallet address and the SHA-256 of its client certificate's public key. */
void nox_attest_report_data(const uint8_t wallet[20], const uint8_t cert_key[32],
                            uint8_t out[NOX_ATTESTATION_REPORT_DATA_SIZE]);

typedef struct nox_attest_provider nox_attest_provider;
typedef struct nox_attest_verifier nox_attest_verifier;

/**
 * dlopen(path), the ABI check (symbol, abi_version, every function set) before any plugin code but
 * the symbol itself runs, then init(config). NOX_ERR_PLUGIN / NOX_ERR_ABI naming the file.
 */
nox_status nox_attest_provider_load(const char *path, const char *config, nox_attest_provider **out, nox_error *err);
/** A new quote over report_data (*quote malloc'd, at most NOX_ATTESTATION_MAX_QUOTE bytes). */
nox_status nox_attest_quote(nox_attest_provider *p, const uint8_t report_data[NOX_ATTESTATION_REPORT_DATA_SIZE],
                            uint8_t **quote, size_t *len, nox_error *err);
const char *nox_attest_provider_name(const nox_attest_provider *p);
void nox_attest_provider_free(nox_attest_provider *p);

nox_status nox_attest_verifier_load(const char *path, const char *config, nox_attest_verifier **out, nox_error *err);
/**
 * The plugin's verdict on quote[len] at Unix time now (*out; out->reason made printable). NOX_OK when it
 * reached one, ok or not; NOX_ERR_REMOTE when it could not decide (its reason in err).
 */
nox_status nox_attest_verify(nox_attest_verifier *v, const uint8_t *quote, size_t len, uint64_t now,
                             nox_attestation_verdict *out, nox_error *err);
const char *nox_attest_verifier_name(const nox_attest_verifier *v);
void nox_attest_verifier_free(nox_attest_verifier *v);

#ifdef __cplusplus
}
#endif

#endif /* NOX_ATTEST_H */
