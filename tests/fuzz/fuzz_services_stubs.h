/*
 * tests/fuzz: the I/O under the services' handlers, replaced for fuzzing
 * (linked with -Wl,--wrap=..., see CMakeLists.txt):
 *   nox_eip712_recover  a signature whose first byte is 0x00 recovers to
 *                       fuzz_trusted_signer (the fuzzer cannot forge ECDSA; this
 *                       lets it past authentication); any other goes to the real one
 *   nox_kms_group_partials, nox_kms_group_group, nox_rpc_eth_call, time: canned answers
 * and (defined in fuzz_gateway_stubs.c) the Gateway's store, gw_store_*.
 */
#ifndef NOX_FUZZ_SERVICES_STUBS_H
#define NOX_FUZZ_SERVICES_STUBS_H

#include <stdint.h>

#include "nox/ec.h"

/** The address a signature starting with 0x00 recovers to. */
extern uint8_t fuzz_trusted_signer[NOX_ADDRESS_SIZE];

/** What the wrapped time() returns. */
#define FUZZ_NOW 1700000000

#endif
