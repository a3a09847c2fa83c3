/*
 * tests/fuzz: the Gateway's store (services/gateway/store.h) for the fuzz
 * targets: no database; every call checks what the handlers pass it.
 * gw_store_read finds every handle except those whose first byte is 0xee;
 * gw_store_status reports by the first byte (even: stored, 0x01: failed, else pending);
 * gw_store_failed finds every handle whose second byte is 0x01 (a missing operand with a record).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nox/handle.h"
#include "store.h"

static void check_handle(const nox_handle *h) {
    nox_error err = {0};
    FUZZ_CHECK(nox_handle_validate(h, NULL, 0, &err) == NOX_OK);
}

nox_status gw_store_insert_input(gw_store *st, const gw_row *row, nox_error *err) {
    (void)st;
    (void)err;
    check_handle(&row->handle);
    FUZZ_CHECK(row->is_input == 1);
    FUZZ_CHECK(row->ciphertext && row->ciphertext_len >= 16 && row->ciphertext_len <= GW_CIPHERTEXT_MAX);
    FUZZ_CHECK(row->chain_id == nox_handle_chain_id(&row->handle) && row->type_code == nox_handle_type(&row->handle));
    return NOX_OK;
}

nox_status gw_store_read(gw_store *st, const nox_handle *handles, size_t n, gw_row *rows, size_t *missing,
                         size_t *n_missing, nox_error *err) {
    (void)st;
    *n_missing = 0;
    for (size_t i = 0; i < n; i++) {
        check_handle(&handles[i]);
        memset(&rows[i], 0, sizeof rows[i]);
        if (handles[i].bytes[0] == 0xee) {
            missing[(*n_missing)++] = i;
            continue;
        }
        rows[i].handle = handles[i];
        rows[i].ciphertext_len = 48;
        rows[i].ciphertext = malloc(48);
        if (!rows[i].ciphertext) abort();
        memset(rows[i].ciphertext, 0x5a, 48);
        rows[i].public_key[0] = 2;
    }
    if (*n_missing) return nox_error_set(err, NOX_ERR_NOT_FOUND, "handle not found");
    return NOX_OK;
}

void gw_rows_free(gw_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(rows[i].ciphertext);
        rows[i].ciphertext = NULL;
    }
}

nox_status gw_store_publish(gw_store *st, const gw_row *rows, size_t n, gw_publish_counts *counts, nox_error *err) {
    (void)st;
    (void)err;
    FUZZ_CHECK(n >= 1);
    memset(counts, 0, sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        check_handle(&rows[i].handle);
        FUZZ_CHECK(rows[i].is_input == 0);
        FUZZ_CHECK(rows[i].ciphertext && rows[i].ciphertext_len >= 16 && rows[i].ciphertext_len <= GW_CIPHERTEXT_MAX);
        counts->created++;
    }
    return NOX_OK;
}

nox_status gw_store_record_failures(gw_store *st, const gw_failure *failures, size_t n,
                                    const uint8_t tx_hash[GW_TXHASH_SIZE], nox_error *err) {
    (void)st;
    (void)err;
    (void)tx_hash;
    FUZZ_CHECK(n >= 1);
    for (size_t i = 0; i < n; i++) {
        check_handle(&failures[i].handle);
        size_t len = strlen(failures[i].reason);
        FUZZ_CHECK(len >= 1 && len <= GW_REASON_MAX);
    }
    return NOX_OK;
}

nox_status gw_store_status(gw_store *st, const nox_handle *h, gw_status_info *out, nox_error *err) {
    (void)st;
    (void)err;
    check_handle(h);
    memset(out, 0, sizeof *out);
    out->stored = h->bytes[0] % 2 == 0;
    out->failed = h->bytes[0] == 1;
    if (out->failed) strcpy(out->reason, "operand missing");
    return NOX_OK;
}

nox_status gw_store_failed(gw_store *st, const nox_handle *handles, size_t n, gw_failed_handle *out, size_t *n_out,
                           nox_error *err) {
    (void)st, (void)err;
    *n_out = 0;
    for (size_t i = 0; i < n; i++) {
        check_handle(&handles[i]);
        if (handles[i].bytes[1] == 1) {
            out[*n_out].index = i;
            strcpy(out[(*n_out)++].reason, "operand missing");
        }
    }
    return NOX_OK;
}
