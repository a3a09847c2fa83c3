/*
 * noxctl decrypt — user decryption (spec §7.2): an in-memory RSA-2048 key, a
 * DataAccessAuthorization signed with the wallet key, GET
 * {gateway}/v0/secrets/{handle}, delegation unwrap and AES-GCM, the value as text.
 * The plaintext lives in memory only, is wiped after printing, and never
 * enters a message.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nox/base64.h"
#include "nox/delegation.h"
#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/delegation_json.h"
#include "nox/rsa.h"
#include "nox/types.h"
#include "nox/value.h"
#include "noxctl.h"

#define NOT_BEFORE_SLACK 60 /* seconds before now: tolerate a Gateway clock a little behind */
#define VALIDITY 600        /* seconds after now */
#define MAX_CIPHERTEXT (1u << 20)

static const char USAGE[] =
    "usage: noxctl decrypt HANDLE --key WALLET_KEY_FILE [--gateway URL] [--compute ADDR] [--json]\n";

void noxctl_wipe_text(char *text) {
    if (!text) return;
    OPENSSL_cleanse(text, strlen(text));
    free(text);
}

/* The Authorization header value: "EIP712 " + base64 of {"payload": …, "signature": …}. */
static nox_status authorization(const nox_ec_privkey *key, const uint8_t compute[NOX_ADDRESS_SIZE], uint32_t chain,
                                const char *spki_hex, const uint8_t user[NOX_ADDRESS_SIZE], char **out,
                                nox_error *err) {
    *out = NULL;
    uint64_t now = (uint64_t)time(NULL), not_before = now - NOT_BEFORE_SLACK, expires_at = now + VALIDITY;
    uint8_t struct_hash[32], sig[NOX_EC_SIGNATURE_SIZE];
    nox_eip712_hash_data_access_authorization(user, spki_hex, not_before, expires_at, struct_hash);
    nox_eip712_domain domain = nox_eip712_domain_user_decryption(chain, compute);
    nox_status s = nox_eip712_sign(key, &domain, struct_hash, sig, err);
    if (s) return s;
    char user_hex[2 * NOX_ADDRESS_SIZE + 3], sig_hex[2 * NOX_EC_SIGNATURE_SIZE + 3];
    json_t *o = json_pack("{s:{s:s, s:s, s:I, s:I}, s:s}", "payload", "userAddress",
                          nox_hex_encode(user, NOX_ADDRESS_SIZE, user_hex), "encryptionPubKey", spki_hex, "notBefore",
                          (json_int_t)not_before, "expiresAt", (json_int_t)expires_at, "signature",
                          nox_hex_encode(sig, sizeof sig, sig_hex));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    size_t n = text ? strlen(text) : 0;
    char *header = text ? malloc(sizeof "EIP712 " + NOX_BASE64_ENCODED_SIZE(n)) : NULL;
    if (header) {
        memcpy(header, "EIP712 ", 7);
        nox_base64_encode((const uint8_t *)text, n, header + 7);
    }
    free(text);
    if (!header) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    *out = header;
    return NOX_OK;
}

/* Turns plaintext of the handle's type into text (malloc'd). */
static nox_status format_plain(uint8_t type, const uint8_t *plain, size_t len, char **text, nox_error *err) {
    *text = NULL;
    if (type == NOX_TYPE_STRING) {
        if (!(*text = malloc(len + 1))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        memcpy(*text, plain, len);
        (*text)[len] = 0;
        if (strlen(*text) != len) {
            noxctl_wipe_text(*text);
            *text = NULL;
            return nox_error_set(err, NOX_ERR_INVALID, "the decrypted string holds a NUL byte");
        }
        return NOX_OK;
    }
    if (type == NOX_TYPE_BYTES) {
        if (!(*text = malloc(2 * len + 3))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        nox_hex_encode(plain, len, *text);
        return NOX_OK;
    }
    nox_value v;
    nox_status s = nox_value_from_bytes(&v, type, plain, len, err);
    if (!s && !(*text = malloc(NOX_VALUE_TEXT_MAX))) s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    if (!s) s = nox_value_format(&v, *text, NOX_VALUE_TEXT_MAX, err);
    nox_value_wipe(&v);
    if (s) {
        if (*text) OPENSSL_cleanse(*text, NOX_VALUE_TEXT_MAX);
        free(*text);
        *text = NULL;
        return nox_error_prefix(err, "the decrypted value: ");
    }
    return NOX_OK;
}

nox_status noxctl_decrypt_text(const char *gateway, const uint8_t compute[NOX_ADDRESS_SIZE],
                               const nox_ec_privkey *key, const nox_handle *h, char **text, nox_error *err) {
    *text = NULL;
    uint8_t user[NOX_ADDRESS_SIZE];
    char user_hex[2 * NOX_ADDRESS_SIZE + 3], htext[NOX_HANDLE_TEXT_LEN + 1], url[2048], why[512];
    nox_rsa_key *rsa = NULL;
    char *spki_hex = NULL, *auth = NULL;
    json_t *reply = NULL;
    uint8_t *plain = NULL;
    nox_opened_partials opened = {0};
    long status = 0;
    nox_status s = nox_ec_key_address(key, user, err);
    if (s) return s;
    nox_hex_encode(user, sizeof user, user_hex);
    nox_handle_format(h, htext);
    if ((s = nox_rsa_generate(2048, &rsa, err))) goto out;
    size_t spki_cap = 2 * nox_rsa_spki_size(rsa) + 3;
    if (!(spki_hex = malloc(spki_cap))) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((s = nox_rsa_spki_hex(rsa, spki_hex, spki_cap, err))) goto out;
    if ((s = authorization(key, compute, nox_handle_chain_id(h), spki_hex, user, &auth, err))) goto out;
    uint8_t type = nox_handle_type(h);
    size_t want = nox_type_size(type), plain_len = 0;
    if (!(plain = malloc(MAX_CIPHERTEXT))) {
        s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* a KMS node found lying is named, and the Gateway asked once more without it */
    for (uint64_t exclude = 0, attempt = 0;; attempt++) {
        char path[NOX_HANDLE_TEXT_LEN + 16 + 16 + 3 * NOX_TH_MAX_NODES];
        size_t at = (size_t)snprintf(path, sizeof path, "/v0/secrets/%s", htext);
        const char *sep = "?excludeNodes=";
        for (unsigned i = 1; i <= NOX_TH_MAX_NODES; i++)
            if (exclude & ((uint64_t)1 << (i - 1))) {
                at += (size_t)snprintf(path + at, sizeof path - at, "%s%u", sep, i);
                sep = ",";
            }
        if ((s = noxctl_url(url, sizeof url, gateway, path, err))) goto out;
        if ((s = noxctl_http("GET", url, auth, NULL, &status, &reply, err))) {
            nox_error_prefix(err, "GET /v0/secrets: ");
            goto out;
        }
        switch (status) {
        case 200:
            break;
        case 403:
            s = nox_error_set(err, NOX_ERR_REMOTE, "%s is not a viewer of %s", user_hex, htext);
            goto out;
        case 404:
            s = nox_error_set(err, NOX_ERR_NOT_FOUND, "%s is not computed yet — retry (noxctl wait %s)", htext, htext);
            goto out;
        case 401:
            s = nox_error_set(err, NOX_ERR_REMOTE, "the Gateway refused the authorization: %s",
                              noxctl_gateway_error(status, reply, why, sizeof why));
            goto out;
        default:
            s = nox_error_set(err, NOX_ERR_REMOTE, "GET /v0/secrets/%s: %s", htext,
                              noxctl_gateway_error(status, reply, why, sizeof why));
            goto out;
        }
        const char *answered = json_string_value(json_object_get(reply, "handle"));
        if (!answered || strcasecmp(answered, htext)) {
            s = nox_error_set(err, NOX_ERR_INVALID, "the Gateway answered for another handle");
            goto out;
        }
        /* the KMS nodes' partials, sealed to our key (docs/PROTOCOL-EXTENSIONS.md §11): t of them give the value */
        uint64_t unopened = 0, bad = exclude;
        if ((s = nox_delegations_open(rsa, NULL, reply, nox_handle_chain_id(h), &opened, &unopened, err))) {
            nox_error_prefix(err, "the Gateway's answer: ");
            goto out;
        }
        s = nox_delegations_decrypt_value(&opened, reply, plain, MAX_CIPHERTEXT, &plain_len, &bad, err);
        for (unsigned i = 1; i <= NOX_TH_MAX_NODES; i++)
            if ((bad & ~exclude) & ((uint64_t)1 << (i - 1)))
                fprintf(stderr, "noxctl: warning: KMS node %u sent a partial whose DLEQ proof fails: %s\n", i,
                        s ? "asking the Gateway again without it" : "decrypted without it");
        nox_opened_partials_wipe(&opened);
        if (s == NOX_ERR_REMOTE && bad != exclude && attempt == 0) {
            exclude = bad;
            json_decref(reply);
            reply = NULL;
            continue;
        }
        break;
    }
    if (s) {
        nox_error_prefix(err, "decrypting %s: ", htext);
        goto out;
    }
    if (want && plain_len != want) {
        s = nox_error_set(err, NOX_ERR_INVALID, "the Gateway's answer holds %zu bytes for a %s", plain_len,
                          nox_type_name(type));
        goto out;
    }
    s = format_plain(type, plain, plain_len, text, err);
out:
    if (plain) OPENSSL_cleanse(plain, MAX_CIPHERTEXT);
    free(plain);
    nox_opened_partials_wipe(&opened);
    free(auth);
    free(spki_hex);
    json_decref(reply);
    nox_rsa_free(rsa);
    return s;
}

int noxctl_decrypt(int argc, char **argv) {
    noxctl_ctx ctx = {0};
    const char *key_file = NULL, *pos[1], *gateway;
    noxctl_opt opts[] = {{"--key", &key_file, NULL}, {NULL, NULL, NULL}};
    size_t n_pos;
    int rc = noxctl_parse(&ctx, argc - 1, argv + 1, opts, pos, 1, &n_pos, USAGE);
    if (rc) return rc;
    if (n_pos != 1 || !key_file) return noxctl_usage(USAGE, "decrypt needs a HANDLE and --key");
    nox_error err = {0};
    nox_handle h;
    nox_ec_privkey key;
    uint8_t compute[NOX_ADDRESS_SIZE];
    char *text = NULL, htext[NOX_HANDLE_TEXT_LEN + 1];
    if (noxctl_parse_handle("HANDLE", pos[0], &h, &err)) goto fail;
    if (nox_ec_key_load(&key, key_file, &err)) {
        nox_error_prefix(&err, "--key: ");
        goto fail;
    }
    if (!noxctl_require(&ctx, NOXCTL_GATEWAY, &gateway, &err) &&
        !noxctl_require_address(&ctx, NOXCTL_COMPUTE, compute, &err))
        noxctl_decrypt_text(gateway, compute, &key, &h, &text, &err);
    nox_ec_key_wipe(&key);
    if (!text) goto fail;
    if (ctx.json) {
        const char *type = nox_type_name(nox_handle_type(&h));
        noxctl_print_json_value(json_pack("{s:s, s:s}", "handle", nox_handle_format(&h, htext), "type",
                                          type ? type : "reserved"),
                                text);
    } else {
        puts(text);
    }
    fflush(stdout);
    noxctl_wipe_text(text);
    noxctl_ctx_free(&ctx);
    return 0;
fail:
    noxctl_ctx_free(&ctx);
    return noxctl_fail("%s", err.message);
}
