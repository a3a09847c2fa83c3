/* noxctl encrypt — POST {gateway}/v0/secrets (spec §7.1): a new input handle and its proof. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/types.h"
#include "nox/value.h"
#include "noxctl.h"

#define PROOF_SIZE 137 /* owner(20) ‖ app(20) ‖ createdAt(32) ‖ signature(65) */

static const char USAGE[] =
    "usage: noxctl encrypt --type TYPE --value VALUE --owner ADDR --app ADDR [--chain-id N] [--gateway URL] "
    "[--json]\n"
    "  VALUE: decimal (a leading - for intN), 0x hex (the raw bits), true/false for bool, 0x + 40 hex for "
    "address\n";

nox_status noxctl_encrypt_bytes(const char *gateway, uint8_t type, const uint8_t *plain, size_t len,
                                const uint8_t owner[NOX_ADDRESS_SIZE], const uint8_t app[NOX_ADDRESS_SIZE],
                                bool has_chain, uint64_t chain_id, nox_handle *handle, char proof[275],
                                nox_error *err) {
    char owner_hex[2 * NOX_ADDRESS_SIZE + 3], app_hex[2 * NOX_ADDRESS_SIZE + 3], chain[40] = "", url[2048];
    /* Built by hand, not through jansson, so that the one copy of the plaintext's hex can be wiped:
     * every field is hex or a type name, nothing needs escaping. */
    if (has_chain) snprintf(chain, sizeof chain, ",\"chainId\":%llu", (unsigned long long)chain_id);
    size_t cap = 2 * len + 256 + sizeof chain;
    char *text = malloc(cap);
    if (!text) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    size_t n = (size_t)snprintf(text, cap, "{\"value\":\"0x");
    for (size_t i = 0; i < len; i++, n += 2) snprintf(text + n, cap - n, "%02x", plain[i]);
    snprintf(text + n, cap - n, "\",\"solidityType\":\"%s\",\"owner\":\"%s\",\"applicationContract\":\"%s\"%s}",
             nox_type_name(type), nox_hex_encode(owner, NOX_ADDRESS_SIZE, owner_hex),
             nox_hex_encode(app, NOX_ADDRESS_SIZE, app_hex), chain);
    long status;
    json_t *reply = NULL;
    nox_status s = noxctl_url(url, sizeof url, gateway, "/v0/secrets", err);
    if (!s) s = noxctl_http("POST", url, NULL, text, &status, &reply, err);
    OPENSSL_cleanse(text, cap);
    free(text);
    if (s) return nox_error_prefix(err, "POST /v0/secrets: ");
    char why[512];
    if (status != 200) {
        s = nox_error_set(err, NOX_ERR_REMOTE, "the Gateway refused to encrypt: %s",
                          noxctl_gateway_error(status, reply, why, sizeof why));
        goto out;
    }
    const char *h = json_string_value(json_object_get(reply, "handle"));
    const char *p = json_string_value(json_object_get(reply, "proof"));
    uint8_t proof_bytes[PROOF_SIZE];
    if (!h || !p) {
        s = nox_error_set(err, NOX_ERR_INVALID, "POST /v0/secrets: the answer has no handle or proof");
    } else if (noxctl_parse_handle("the Gateway's handle", h, handle, err) ||
               nox_hex_decode_exact(p, strlen(p), proof_bytes, sizeof proof_bytes, err)) {
        s = nox_error_prefix(err, "POST /v0/secrets: ");
    } else if (nox_handle_type(handle) != type || (has_chain && nox_handle_chain_id(handle) != chain_id)) {
        s = nox_error_set(err, NOX_ERR_INVALID,
                          "POST /v0/secrets: the Gateway's handle is of type code %u on chain %u, not what was asked",
                          nox_handle_type(handle), nox_handle_chain_id(handle));
    } else {
        nox_hex_encode(proof_bytes, sizeof proof_bytes, proof);
    }
out:
    json_decref(reply);
    return s;
}

/* Parses VALUE as `type` into its plaintext encoding (exactly nox_type_size bytes). */
static nox_status encode_value(uint8_t type, const char *text, uint8_t *buf, size_t cap, size_t *len, nox_error *err) {
    if (!nox_type_is_fixed(type))
        return nox_error_set(err, NOX_ERR_TYPE, "--type %s: the Gateway encrypts fixed-size types only",
                             nox_type_name(type));
    nox_value v;
    nox_status s = nox_value_parse(&v, type, text, err);
    if (!s) s = nox_value_to_bytes(&v, buf, cap, len, err);
    nox_value_wipe(&v);
    if (s) return nox_error_prefix(err, "--value: ");
    return NOX_OK;
}

int noxctl_encrypt(int argc, char **argv) {
    noxctl_ctx ctx = {0};
    const char *type_name = NULL, *value = NULL, *owner_text = NULL, *app_text = NULL, *gateway;
    noxctl_opt opts[] = {{"--type", &type_name, NULL},
                         {"--value", &value, NULL},
                         {"--owner", &owner_text, NULL},
                         {"--app", &app_text, NULL},
                         {NULL, NULL, NULL}};
    size_t n_pos;
    int rc = noxctl_parse(&ctx, argc - 1, argv + 1, opts, NULL, 0, &n_pos, USAGE);
    if (rc) return rc;
    if (!type_name || !value || !owner_text || !app_text)
        return noxctl_usage(USAGE, "encrypt needs --type, --value, --owner and --app");
    nox_error err = {0};
    uint8_t type, owner[NOX_ADDRESS_SIZE], app[NOX_ADDRESS_SIZE], plain[256];
    size_t len = 0;
    uint64_t chain = 0;
    bool has_chain = false;
    nox_handle h;
    char proof[2 * PROOF_SIZE + 3], htext[NOX_HANDLE_TEXT_LEN + 1];
    if (nox_type_from_name(type_name, &type, &err)) {
        nox_error_prefix(&err, "--type: ");
        goto fail;
    }
    if (encode_value(type, value, plain, sizeof plain, &len, &err) ||
        noxctl_parse_address("--owner", owner_text, owner, &err) ||
        noxctl_parse_address("--app", app_text, app, &err) || noxctl_chain_id(&ctx, &has_chain, &chain, &err) ||
        noxctl_require(&ctx, NOXCTL_GATEWAY, &gateway, &err) ||
        noxctl_encrypt_bytes(gateway, type, plain, len, owner, app, has_chain, chain, &h, proof, &err))
        goto fail;
    OPENSSL_cleanse(plain, sizeof plain);
    nox_handle_format(&h, htext);
    if (ctx.json) {
        noxctl_print_json(json_pack("{s:s, s:s, s:s, s:I}", "handle", htext, "proof", proof, "type", type_name,
                                    "chainId", (json_int_t)nox_handle_chain_id(&h)));
    } else {
        printf("handle: %s\nproof: %s\n", htext, proof);
    }
    noxctl_ctx_free(&ctx);
    return 0;
fail:
    OPENSSL_cleanse(plain, sizeof plain);
    noxctl_ctx_free(&ctx);
    return noxctl_fail("%s", err.message);
}
