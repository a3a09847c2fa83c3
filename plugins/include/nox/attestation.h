/*
 * nox/attestation.h — the ABI of attestation plugins: where a deployment plugs in
 * TEE quotes (Intel TDX) without Nox linking any vendor library.
 *
 * Two roles, each a shared object named in YAML and loaded with dlopen:
 *
 *   - a quote PROVIDER, loaded by the Runner (runner.yaml `attestation.provider`): it
 *     asks the TEE for a quote over 64 bytes of report data (on TDX: a TDREPORT with
 *     REPORTDATA = report_data, turned into a quote by the quoting enclave);
 *   - a quote VERIFIER, loaded by the Gateway (gateway.yaml `attestation.verifier`): it
 *     checks a quote's signature chain to the vendor's root with current collateral and
 *     the TCB status, and reports the measurements and the report data it vouches for.
 *
 * The policy stays in Nox, not in the plugin: the Gateway compares the measurements with
 * gateway.yaml's `attestation.measurements` and the report data with what it computes
 * itself for the Runner's wallet and the client certificate of the connection
 * (docs/PROTOCOL-EXTENSIONS.md §12, docs/operators.md §14).
 *
 * A plugin exports one or both of
 *     const nox_attestation_provider *nox_attestation_provider_v1(void);
 *     const nox_attestation_verifier *nox_attestation_verifier_v1(void);
 * Every function may be called from several threads at once (the plugin locks what it
 * shares). Strings written to `err` / `reason` must be printable and hold no secret: they
 * reach logs and HTTP answers. Self-contained: only <stddef.h> and <stdint.h>.
 */
#ifndef NOX_ATTESTATION_H
#define NOX_ATTESTATION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bumped on any incompatible change of the structures below. */
#define NOX_ATTESTATION_ABI_VERSION 1u

/** TDX sizes: REPORTDATA, and MRTD / RTMR0..3 (SHA-384 values). */
#define NOX_ATTESTATION_REPORT_DATA_SIZE 64u
#define NOX_ATTESTATION_MEASUREMENT_SIZE 48u
#define NOX_ATTESTATION_RTMRS 4u
/** Largest quote a Gateway accepts (a TDX v4 quote with its certification data is about 5 KiB). */
#define NOX_ATTESTATION_MAX_QUOTE 16384u

/** What a verifier says about one quote. */
typedef struct nox_attestation_verdict {
    int ok;            /**< 1: the signature chain, the collateral and the TCB status are good; else 0 and reason */
    uint8_t report_data[NOX_ATTESTATION_REPORT_DATA_SIZE];        /**< as signed in the quote */
    uint8_t mrtd[NOX_ATTESTATION_MEASUREMENT_SIZE];               /**< the TD's initial measurement */
    uint8_t rtmr[NOX_ATTESTATION_RTMRS][NOX_ATTESTATION_MEASUREMENT_SIZE]; /**< runtime measurement registers */
    uint64_t valid_until; /**< Unix seconds after which the quote must be presented again (collateral expiry) */
    char reason[256];     /**< why not ok, printable */
} nox_attestation_verdict;

/** Loaded by the Runner. */
typedef struct nox_attestation_provider {
    uint32_t abi_version; /**< NOX_ATTESTATION_ABI_VERSION */
    const char *name;     /**< shown in logs, e.g. "tdx-dcap" */
    /** Once at start with runner.yaml's `attestation.config` text ("" when absent). 0 = ready. */
    int (*init)(const char *config, void **state, char *err, size_t err_cap);
    /** A quote over report_data into out[cap], its length in *len. 0 = done. */
    int (*quote)(void *state, const uint8_t report_data[NOX_ATTESTATION_REPORT_DATA_SIZE], uint8_t *out,
                 size_t cap, size_t *len, char *err, size_t err_cap);
    void (*fini)(void *state);
} nox_attestation_provider;

/** Loaded by the Gateway. */
typedef struct nox_attestation_verifier {
    uint32_t abi_version; /**< NOX_ATTESTATION_ABI_VERSION */
    const char *name;
    /** Once at start with gateway.yaml's `attestation.config` text ("" when absent). 0 = ready. */
    int (*init)(const char *config, void **state, char *err, size_t err_cap);
    /** Verifies quote[len] at Unix time `now`; fills *out (out->ok = 0 with a reason when refused). 0 = a verdict
     *  was reached (either way); nonzero = the verifier could not decide (e.g. collateral unreachable): 503. */
    int (*verify)(void *state, const uint8_t *quote, size_t len, uint64_t now, nox_attestation_verdict *out);
    void (*fini)(void *state);
} nox_attestation_verifier;

typedef const nox_attestation_provider *(*nox_attestation_provider_fn)(void);
typedef const nox_attestation_verifier *(*nox_attestation_verifier_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* NOX_ATTESTATION_H */
