/*
 * The chain side of the token commands over nox/rpc.h: chain id check,
 * sending a signed legacy transaction and waiting for its receipt, logs,
 * eth_call of one word, and naming the contracts' custom errors in reverts (abi.c, whose table is
 * generated from the compiled contracts).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "nox/clock.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/tx.h"
#include "noxctl.h"

#define RECEIPT_TIMEOUT_MS 60000
#define RECEIPT_POLL_MS 100

void noxctl_selector(const char *signature, uint8_t out[4]) {
    uint8_t h[32];
    nox_keccak256(signature, strlen(signature), h);
    memcpy(out, h, 4);
}

nox_status noxctl_rpc_open(const char *url, uint64_t want_chain, nox_rpc **rpc, uint64_t *chain_id, nox_error *err) {
    nox_rpc_options o;
    nox_rpc_options_default(&o);
    o.url = url;
    nox_tls_client tls = {0};
    if (noxctl_ca_file()) snprintf(tls.ca_file, sizeof tls.ca_file, "%s", noxctl_ca_file());
    o.tls = &tls;
    nox_status s = nox_rpc_new(&o, rpc, err);
    if (s) return s;
    if ((s = nox_rpc_chain_id(*rpc, chain_id, err))) goto fail;
    if (want_chain && *chain_id != want_chain) {
        s = nox_error_set(err, NOX_ERR_INVALID, "wrong chain: the node at %s is chain %" PRIu64 ", not %" PRIu64
                          " (--chain-id / NOX_CHAIN_ID)",
                          nox_rpc_display_url(*rpc), *chain_id, want_chain);
        goto fail;
    }
    return NOX_OK;
fail:
    nox_rpc_free(*rpc);
    *rpc = NULL;
    return s;
}

/* A JSON-RPC call whose result must be a quantity. */
static nox_status call_quantity(nox_rpc *rpc, const char *method, json_t *params, uint64_t *out, nox_rpc_fault *fault,
                                nox_error *err) {
    json_t *result = NULL;
    nox_status s = nox_rpc_call(rpc, method, params, &result, fault, err);
    if (s) return s;
    const char *q = json_string_value(result);
    s = q ? nox_rpc_parse_quantity(q, out, err)
          : nox_error_set(err, NOX_ERR_INVALID, "%s: the result is not a quantity", method);
    json_decref(result);
    if (s) nox_error_prefix(err, "%s: ", method);
    return s;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Polls eth_getTransactionReceipt until the receipt is there; *receipt is a new reference. */
static nox_status wait_receipt(nox_rpc *rpc, const char *hash_hex, json_t **receipt, nox_error *err) {
    uint64_t deadline = nox_clock_ms() + RECEIPT_TIMEOUT_MS;
    for (;;) {
        json_t *r = NULL;
        nox_status s = nox_rpc_call(rpc, "eth_getTransactionReceipt", json_pack("[s]", hash_hex), &r, NULL, err);
        if (s) return nox_error_prefix(err, "waiting for %s: ", hash_hex);
        if (json_is_object(r)) {
            *receipt = r;
            return NOX_OK;
        }
        json_decref(r);
        if (nox_clock_ms() >= deadline)
            return nox_error_set(err, NOX_ERR_IO, "transaction %s not mined after %d s", hash_hex,
                                 RECEIPT_TIMEOUT_MS / 1000);
        sleep_ms(RECEIPT_POLL_MS);
    }
}

nox_status noxctl_send_tx(nox_rpc *rpc, uint64_t chain_id, const nox_ec_privkey *key, const uint8_t to[NOX_ADDRESS_SIZE],
                          const uint8_t *data, size_t len, noxctl_receipt *out, nox_error *err) {
    memset(out, 0, sizeof *out);
    uint8_t from[NOX_ADDRESS_SIZE];
    char from_hex[43], to_hex[43], hash_hex[67];
    char *data_hex = malloc(2 * len + 3), *raw_hex = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_t *receipt = NULL, *result = NULL;
    nox_rpc_fault fault;
    uint64_t nonce, gas_price, gas;
    nox_status s;
    if (!data_hex) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    nox_hex_encode(data, len, data_hex);
    if ((s = nox_ec_key_address(key, from, err))) goto out;
    nox_hex_encode(from, sizeof from, from_hex);
    nox_hex_encode(to, NOX_ADDRESS_SIZE, to_hex);
    if ((s = call_quantity(rpc, "eth_getTransactionCount", json_pack("[s,s]", from_hex, "pending"), &nonce, NULL,
                           err)) ||
        (s = call_quantity(rpc, "eth_gasPrice", json_array(), &gas_price, NULL, err)))
        goto out;
    memset(&fault, 0, sizeof fault);
    s = call_quantity(rpc, "eth_estimateGas", json_pack("[{s:s, s:s, s:s}]", "from", from_hex, "to", to_hex, "data",
                                                        data_hex),
                      &gas, &fault, err);
    if (s == NOX_ERR_REMOTE) {
        char why[512];
        noxctl_describe_revert(fault.data, why, sizeof why);
        s = nox_error_set(err, NOX_ERR_REMOTE, "the transaction would revert: %s (%s)", why, fault.message);
        goto out;
    }
    if (s) goto out;
    if (gas > UINT64_MAX / 6) {
        s = nox_error_set(err, NOX_ERR_INVALID, "eth_estimateGas: %" PRIu64 " is not a gas amount", gas);
        goto out;
    }
    nox_tx tx = {.nonce = nonce, .gas_price = gas_price, .gas_limit = gas * 6 / 5, .has_to = true, .data = data,
                 .data_len = len, .chain_id = chain_id};
    memcpy(tx.to, to, NOX_ADDRESS_SIZE);
    if ((s = nox_tx_sign_legacy(&tx, key, &raw, &raw_len, out->tx_hash, err))) goto out;
    if (!(raw_hex = malloc(2 * raw_len + 3))) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto out;
    }
    nox_hex_encode(raw, raw_len, raw_hex);
    nox_hex_encode(out->tx_hash, 32, hash_hex);
    uint64_t sent = nox_clock_ms();
    if ((s = nox_rpc_call(rpc, "eth_sendRawTransaction", json_pack("[s]", raw_hex), &result, NULL, err))) {
        nox_error_prefix(err, "eth_sendRawTransaction: ");
        goto out;
    }
    const char *node_hash = json_string_value(result);
    if (!node_hash || strcasecmp(node_hash, hash_hex)) {
        s = nox_error_set(err, NOX_ERR_INVALID, "eth_sendRawTransaction: the node reports another hash than %s",
                          hash_hex);
        goto out;
    }
    if ((s = wait_receipt(rpc, hash_hex, &receipt, err))) goto out;
    out->inclusion_ms = nox_clock_ms() - sent;
    const char *status = json_string_value(json_object_get(receipt, "status"));
    const char *block = json_string_value(json_object_get(receipt, "blockNumber"));
    if (!status || !block || nox_rpc_parse_quantity(block, &out->block_number, err)) {
        s = nox_error_set(err, NOX_ERR_INVALID, "the receipt of %s has no status or block number", hash_hex);
        goto out;
    }
    if (strcmp(status, "0x1")) {
        char why[512];
        if (noxctl_revert_reason(rpc, hash_hex, block, NULL, why, sizeof why, err))
            snprintf(why, sizeof why, "reason unknown (%.400s)", err->message);
        s = nox_error_set(err, NOX_ERR_REMOTE, "transaction %s reverted in block %" PRIu64 ": %s", hash_hex,
                          out->block_number, why);
        goto out;
    }
    out->logs = json_incref(json_object_get(receipt, "logs"));
    if (!json_is_array(out->logs)) s = nox_error_set(err, NOX_ERR_INVALID, "the receipt of %s has no logs", hash_hex);
out:
    if (s) {
        json_decref(out->logs);
        out->logs = NULL;
    }
    json_decref(result);
    json_decref(receipt);
    free(raw);
    free(raw_hex);
    free(data_hex);
    return s;
}

/* 1 when the `0x` hex text equals bytes[0..len). */
static int hex_is(const char *text, const uint8_t *bytes, size_t len) {
    uint8_t buf[32];
    return text && len <= sizeof buf && !nox_hex_decode_exact(text, strlen(text), buf, len, NULL) &&
           !memcmp(buf, bytes, len);
}

nox_status noxctl_log_word(const json_t *logs, const uint8_t address[NOX_ADDRESS_SIZE], const char *event_signature,
                           const uint8_t (*topics)[32], size_t n_topics, size_t word, uint8_t out[32],
                           nox_error *err) {
    uint8_t topic0[32];
    nox_keccak256(event_signature, strlen(event_signature), topic0);
    size_t i;
    json_t *log;
    json_array_foreach(logs, i, log) {
        json_t *t = json_object_get(log, "topics");
        if (!hex_is(json_string_value(json_object_get(log, "address")), address, NOX_ADDRESS_SIZE) ||
            json_array_size(t) != n_topics + 1 || !hex_is(json_string_value(json_array_get(t, 0)), topic0, 32))
            continue;
        int match = 1;
        for (size_t k = 0; k < n_topics && match; k++)
            match = hex_is(json_string_value(json_array_get(t, k + 1)), topics[k], 32);
        if (!match) continue;
        const char *data = json_string_value(json_object_get(log, "data"));
        size_t dlen = data ? strlen(data) : 0;
        char piece[67] = "0x";
        if (!data || dlen < 2 + 64 * (word + 1))
            return nox_error_set(err, NOX_ERR_INVALID, "the %s log's data is too short", event_signature);
        memcpy(piece + 2, data + 2 + 64 * word, 64);
        piece[66] = 0;
        if (nox_hex_decode_exact(piece, 66, out, 32, err)) return nox_error_prefix(err, "the %s log: ", event_signature);
        return NOX_OK;
    }
    return nox_error_set(err, NOX_ERR_NOT_FOUND, "the transaction emitted no %s", event_signature);
}

nox_status noxctl_call_word(nox_rpc *rpc, const uint8_t to[NOX_ADDRESS_SIZE], const uint8_t *data, size_t len,
                            const char *block, uint8_t out[32], nox_error *err) {
    uint8_t *ret = NULL;
    size_t ret_len = 0;
    nox_rpc_fault fault;
    nox_status s = nox_rpc_eth_call(rpc, to, data, len, block, &ret, &ret_len, &fault, err);
    if (s == NOX_ERR_REMOTE) {
        char why[512];
        noxctl_describe_revert(fault.data, why, sizeof why);
        return nox_error_set(err, NOX_ERR_REMOTE, "eth_call reverted: %s", why);
    }
    if (s) return s;
    if (ret_len != 32) s = nox_error_set(err, NOX_ERR_INVALID, "eth_call returned %zu bytes, not one word (is the "
                                         "address a ConfidentialToken?)", ret_len);
    else memcpy(out, ret, 32);
    free(ret);
    return s;
}

nox_status noxctl_revert_reason(nox_rpc *rpc, const char *hash_hex, const char *block, char **data_hex, char *why,
                                size_t cap, nox_error *err) {
    json_t *tx = NULL, *result = NULL, *call = NULL;
    nox_rpc_fault fault;
    if (data_hex) *data_hex = NULL;
    nox_status s = nox_rpc_call(rpc, "eth_getTransactionByHash", json_pack("[s]", hash_hex), &tx, NULL, err);
    if (s) return nox_error_prefix(err, "eth_getTransactionByHash: ");
    if (!json_is_object(tx)) {
        json_decref(tx);
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "eth_getTransactionByHash: the node has no transaction %s",
                             hash_hex);
    }
    if (!(call = json_object())) {
        json_decref(tx);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    /* the call as the transaction made it; a contract creation (no "to") runs its init code */
    static const char *const fields[][2] = {{"from", "from"}, {"to", "to"}, {"input", "data"}, {"value", "value"},
                                            {"gas", "gas"}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(tx, fields[i][0]);
        if (json_is_string(v)) json_object_set(call, fields[i][1], v);
    }
    json_decref(tx);
    memset(&fault, 0, sizeof fault);
    s = nox_rpc_call(rpc, "eth_call", json_pack("[O, s]", call, block), &result, &fault, err);
    json_decref(result);
    json_decref(call);
    if (s == NOX_ERR_REMOTE) {
        if (fault.data[0] && strcmp(fault.data, "0x")) {
            noxctl_describe_revert(fault.data, why, cap);
            if (data_hex && !(*data_hex = strdup(fault.data))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        } else {
            snprintf(why, cap, "no revert data (the node says: %s)", fault.message);
        }
        return NOX_OK;
    }
    if (s) return nox_error_prefix(err, "re-running the transaction: ");
    snprintf(why, cap, "reason unknown: the call does not revert when re-run at block %s", block);
    return NOX_OK;
}
