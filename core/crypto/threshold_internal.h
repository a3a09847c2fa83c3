/*
 * threshold_internal.h — test hooks of threshold.c: the deal and the partial
 * with caller-given randomness, so that known-answer tests are deterministic.
 * The public functions (nox/threshold.h) call these with fresh random values.
 * Not for production callers: a reused nonce r reveals the share.
 */
#ifndef NOX_THRESHOLD_INTERNAL_H
#define NOX_THRESHOLD_INTERNAL_H

#include "nox/threshold.h"

/**
 * nox_th_deal of `secret` with the polynomial coefficients a_1 … a_{t-1}
 * (coefficients[0..t-1), each in [1, n-1]; NULL when t = 1). NOX_ERR_INVALID
 * for a coefficient out of range or a share that comes out zero (the random
 * deal draws again instead).
 */
nox_status nox_th_deal_with(const nox_ec_privkey *secret, const uint8_t (*coefficients)[NOX_TH_SCALAR_SIZE], unsigned t,
                            unsigned n, nox_th_group *g, nox_ec_privkey *shares, nox_error *err);

/**
 * nox_th_partials with the nonce r (a valid scalar). NOX_ERR_INVALID when c or
 * z comes out zero (the random one draws another r instead).
 */
nox_status nox_th_partials_with(const nox_ec_privkey *share, const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m,
                                const nox_ec_privkey *r, uint8_t (*pairs)[NOX_TH_PAIR_SIZE],
                                uint8_t proof[NOX_TH_PROOF_SIZE], nox_error *err);

/** The Feldman evaluation Σ_k i^k·C_k of commitments[0..t) at node i (public), compressed; 0 when it fails. */
int nox_th_feldman_eval(const uint8_t (*commitments)[NOX_TH_POINT_SIZE], unsigned t, unsigned i,
                        uint8_t out[NOX_TH_POINT_SIZE]);

#endif
