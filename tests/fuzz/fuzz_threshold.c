/*
 * The threshold KMS's public inputs (docs/PROTOCOL-EXTENSIONS.md §11), as a requester or a node reads them:
 *   - a group file: nox_th_group_from_json (every node, the Gateway, the ceremonies read one);
 *   - a Gateway's answer: nox_delegations_open (threshold, delegations) and nox_delegations_decrypt_value
 *     (a value object) against envelopes opened from a real 2-of-3 group made at start.
 * Input: JSON text, tried as each; in a value, "@0".."@2" as publicKey, ciphertext or iv stands for that of
 * the values sealed at start (so mutations reach the combination, the tag and the proofs). Invariants: a group that parses survives a round trip to the same
 * fingerprint; a value that decrypts is one of the values sealed at start, with its own plaintext; no leak.
 */
#include <string.h>

#include "fuzz_util.h"
#include "nox/delegation_json.h"
#include "nox/ecies.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/rsa.h"

enum { N_VALUES = 3 };
static nox_rsa_key *requester;
static nox_opened_partials opened;
static uint8_t plain[N_VALUES];
static char k_hex[N_VALUES][2 * 33 + 3], ct_hex[N_VALUES][2 * 17 + 3], iv_hex[N_VALUES][2 * 12 + 3];

/* A 2-of-3 group, N_VALUES values encrypted to it, and the envelopes of nodes 1 and 2 opened. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nox_log_init("fuzz", NOX_LOG_ERROR);
    nox_error err = {0};
    nox_th_group g;
    nox_ec_privkey shares[3];
    nox_ec_pubkey pub;
    uint8_t eph[N_VALUES][33], ct[17], nonce[12];
    FUZZ_CHECK(nox_th_deal(NULL, 2, 3, &g, shares, &err) == NOX_OK);
    FUZZ_CHECK(nox_ec_pubkey_parse_compressed(&pub, g.public_key, 33, &err) == NOX_OK);
    FUZZ_CHECK(nox_rsa_generate(2048, &requester, &err) == NOX_OK);
    for (int i = 0; i < N_VALUES; i++) {
        plain[i] = (uint8_t)(0x30 + i);
        FUZZ_CHECK(nox_ecies_encrypt(&pub, &plain[i], 1, ct, eph[i], nonce, &err) == NOX_OK);
        nox_hex_encode(eph[i], 33, k_hex[i]);
        nox_hex_encode(ct, sizeof ct, ct_hex[i]);
        nox_hex_encode(nonce, sizeof nonce, iv_hex[i]);
    }
    opened.t = 2;
    for (unsigned node = 1; node <= 2; node++) {
        nox_sealed_partials s;
        FUZZ_CHECK(nox_delegation_seal_partials(&shares[node - 1], node, 31337, (const uint8_t(*)[33])eph, N_VALUES,
                                                requester, NULL, &s, &err) == NOX_OK);
        FUZZ_CHECK(nox_delegation_open_partials(requester, NULL, &s, 31337, &opened.sets[opened.k], &err) == NOX_OK);
        memcpy(opened.sets[opened.k++].verification_key, g.verification_keys[node - 1], 33);
        nox_sealed_partials_free(&s);
    }
    for (int i = 0; i < 3; i++) nox_ec_key_wipe(&shares[i]);
    return 0;
}

/* "@i" in member `name` of a value: the real hex of value i (real(i)). */
static void substitute(json_t *doc, const char *name, const char *(*real)(int)) {
    const char *v = json_string_value(json_object_get(doc, name));
    if (v && v[0] == '@' && v[1] >= '0' && v[1] < '0' + N_VALUES && !v[2])
        json_object_set_new(doc, name, json_string(real(v[1] - '0')));
}

static const char *k_of(int i) { return k_hex[i]; }
static const char *ct_of(int i) { return ct_hex[i]; }
static const char *iv_of(int i) { return iv_hex[i]; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nox_error err = {0};
    nox_th_group g, again;
    if (nox_th_group_from_json((const char *)data, size, &g, &err) == NOX_OK) {
        char *text = nox_th_group_to_json(&g), fp1[19], fp2[19];
        FUZZ_CHECK(text != NULL);
        FUZZ_CHECK(nox_th_group_from_json(text, strlen(text), &again, &err) == NOX_OK);
        nox_th_group_fingerprint(&g, fp1);
        nox_th_group_fingerprint(&again, fp2);
        FUZZ_CHECK(strcmp(fp1, fp2) == 0);
        free(text);
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, 0, &jerr);
    if (!doc) return 0;
    if (json_is_object(doc)) {
        substitute(doc, "publicKey", k_of);
        substitute(doc, "ciphertext", ct_of);
        substitute(doc, "iv", iv_of);
    }
    nox_opened_partials o;
    uint64_t unopened = 0, bad = 0;
    if (nox_delegations_open(requester, NULL, doc, 31337, &o, &unopened, &err) == NOX_OK) nox_opened_partials_wipe(&o);
    uint8_t out[64];
    size_t len = 0;
    if (nox_delegations_decrypt_value(&opened, doc, out, sizeof out, &len, &bad, &err) == NOX_OK) {
        json_t *item = json_object_get(doc, "item");
        FUZZ_CHECK(len == 1 && json_is_integer(item) && json_integer_value(item) < N_VALUES &&
                   out[0] == plain[json_integer_value(item)]);
    }
    json_decref(doc);
    return 0;
}
