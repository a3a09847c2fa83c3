/*
 * eip712_driver — computes with our keccak / EIP-712 / ECDSA code for
 * tests/cross/eip712.sh, which compares the output with cast's.
 *
 *   eip712_driver keccak-hex 0x<hex>          keccak256 of the bytes
 *   eip712_driver keccak-text TEXT            keccak256 of the UTF-8 bytes
 *   eip712_driver address KEY                 the address of private key KEY (0x + 64 hex)
 *   eip712_driver sign KEY DOMAIN... TYPE FIELD...
 *                                             the 65-byte EIP-712 signature
 *   eip712_driver results-digest [HANDLE TAG PUBKEY NONCE CIPHERTEXT]...
 *   eip712_driver failures-digest [HANDLE REASON]...
 *                                             the content digest of docs/PROTOCOL-EXTENSIONS.md §7
 *
 * DOMAIN is any of --name S, --version S, --chain-id N, --contract 0xADDR,
 * --salt 0xBYTES32 (present fields only), or --protocol KIND with --chain-id
 * (and --contract for input-proof and user-decryption) to use the protocol's
 * domain constructor KIND: input-proof, user-decryption, runner-gateway,
 * runner-gateway-v2 (--contract: the Gateway's address), kms-delegate,
 * kms-public-key.
 *
 * TYPE FIELD... (uint256 fields are decimal and must fit in 64 bits):
 *   HandleProof HANDLE OWNER APP CREATED_AT
 *   DataAccessAuthorization USER_ADDRESS ENCRYPTION_PUB_KEY NOT_BEFORE EXPIRES_AT
 *   OperandAccessAuthorization CHAIN_ID BLOCK CALLER TX_HASH RSA_PUBLIC_KEY [OPERAND...]
 *   ResultPublishingAuthorization CHAIN_ID BLOCK CALLER TX_HASH
 *   OperandAccessAuthorizationV2 CHAIN_ID BLOCK CALLER TX_HASH RSA_PUBLIC_KEY NOT_BEFORE EXPIRES_AT [OPERAND...]
 *   ResultPublishingAuthorizationV2 CHAIN_ID BLOCK CALLER TX_HASH RESULT_COUNT RESULTS_DIGEST NOT_BEFORE EXPIRES_AT
 *   FailureRecordingAuthorization CHAIN_ID BLOCK CALLER TX_HASH RECORD_COUNT RECORDS_DIGEST NOT_BEFORE EXPIRES_AT
 *   DelegateAuthorization EPHEMERAL_PUB_KEY TARGET_PUB_KEY
 *   PublicKeyProof PUBLIC_KEY
 *
 * Prints one 0x line; on a usage or input error prints the reason to stderr
 * and exits 2.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/runner_auth.h"

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "eip712_driver: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void hex_exact(const char *text, uint8_t *out, size_t len, const char *what) {
    nox_error err = {0};
    if (nox_hex_decode_exact(text, strlen(text), out, len, &err) != NOX_OK) die("%s: %s", what, err.message);
}

static uint64_t u64(const char *text) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || errno || text[0] == '-') die("not a decimal uint64: %s", text);
    return (uint64_t)v;
}

static void print_hex(const uint8_t *b, size_t len) {
    char *s = malloc(2 * len + 3);
    if (!s) die("%s", "out of memory");
    puts(nox_hex_encode(b, len, s));
    free(s);
}

static nox_ec_privkey key_of(const char *hex) {
    uint8_t b[32];
    nox_ec_privkey k;
    nox_error err = {0};
    hex_exact(hex, b, sizeof b, "private key");
    if (nox_ec_key_from_bytes(&k, b, &err) != NOX_OK) die("%s", err.message);
    return k;
}

/* Parses the domain options from argv[*i]; leaves *i at the type name. */
static nox_eip712_domain parse_domain(int argc, char **argv, int *i) {
    nox_eip712_domain d = {0};
    const char *protocol = NULL;
    for (; *i + 1 < argc && strncmp(argv[*i], "--", 2) == 0; *i += 2) {
        const char *opt = argv[*i], *val = argv[*i + 1];
        if (!strcmp(opt, "--name")) d.name = val;
        else if (!strcmp(opt, "--version")) d.version = val;
        else if (!strcmp(opt, "--chain-id")) d.has_chain_id = true, d.chain_id = u64(val);
        else if (!strcmp(opt, "--contract"))
            d.has_verifying_contract = true, hex_exact(val, d.verifying_contract, NOX_ADDRESS_SIZE, "contract");
        else if (!strcmp(opt, "--salt")) d.has_salt = true, hex_exact(val, d.salt, 32, "salt");
        else if (!strcmp(opt, "--protocol")) protocol = val;
        else die("unknown option %s", opt);
    }
    if (!protocol) return d;
    if (!d.has_chain_id) die("%s needs --chain-id", protocol);
    if (!strcmp(protocol, "runner-gateway-v2")) {
        if (!d.has_verifying_contract) die("%s needs --contract", protocol);
        return nox_eip712_domain_runner_gateway_v2(d.chain_id, d.verifying_contract);
    }
    if (!strcmp(protocol, "input-proof") || !strcmp(protocol, "user-decryption")) {
        if (!d.has_verifying_contract) die("%s needs --contract", protocol);
        return protocol[0] == 'i' ? nox_eip712_domain_input_proof(d.chain_id, d.verifying_contract)
                                  : nox_eip712_domain_user_decryption(d.chain_id, d.verifying_contract);
    }
    if (!strcmp(protocol, "runner-gateway")) return nox_eip712_domain_runner_gateway(d.chain_id);
    if (!strcmp(protocol, "kms-delegate")) return nox_eip712_domain_kms_delegate(d.chain_id);
    if (!strcmp(protocol, "kms-public-key")) return nox_eip712_domain_kms_public_key(d.chain_id);
    die("unknown protocol domain %s", protocol);
}

/* The struct hash of TYPE FIELD... in argv[i..argc). */
static void struct_hash(int argc, char **argv, int i, uint8_t out[32]) {
    if (i >= argc) die("%s", "missing the type name");
    const char *type = argv[i++];
    int n = argc - i;
    char **f = argv + i;
    uint8_t a1[20], a2[20], b32[32];
#define NEED(k)                                                     \
    if (n != (k)) die("%s: wrong number of fields", type)
    if (!strcmp(type, "HandleProof")) {
        NEED(4);
        hex_exact(f[0], b32, 32, "handle");
        hex_exact(f[1], a1, 20, "owner");
        hex_exact(f[2], a2, 20, "app");
        nox_eip712_hash_handle_proof(b32, a1, a2, u64(f[3]), out);
    } else if (!strcmp(type, "DataAccessAuthorization")) {
        NEED(4);
        hex_exact(f[0], a1, 20, "userAddress");
        nox_eip712_hash_data_access_authorization(a1, f[1], u64(f[2]), u64(f[3]), out);
    } else if (!strcmp(type, "OperandAccessAuthorization")) {
        if (n < 5) die("%s: wrong number of fields", type);
        hex_exact(f[2], a1, 20, "caller");
        nox_eip712_hash_operand_access_authorization(u64(f[0]), u64(f[1]), a1, f[3], (const char *const *)(f + 5),
                                                     (size_t)(n - 5), f[4], out);
    } else if (!strcmp(type, "ResultPublishingAuthorization")) {
        NEED(4);
        hex_exact(f[2], a1, 20, "caller");
        nox_eip712_hash_result_publishing_authorization(u64(f[0]), u64(f[1]), a1, f[3], out);
    } else if (!strcmp(type, "OperandAccessAuthorizationV2")) {
        if (n < 7) die("%s: wrong number of fields", type);
        hex_exact(f[2], a1, 20, "caller");
        nox_eip712_runner_scope s = {.chain_id = u64(f[0]), .block_number = u64(f[1]), .transaction_hash = f[3],
                                     .not_before = u64(f[5]), .expires_at = u64(f[6])};
        memcpy(s.caller, a1, 20);
        nox_eip712_hash_operand_access_authorization_v2(&s, (const char *const *)(f + 7), (size_t)(n - 7), f[4], out);
    } else if (!strcmp(type, "ResultPublishingAuthorizationV2") || !strcmp(type, "FailureRecordingAuthorization")) {
        NEED(8);
        hex_exact(f[2], a1, 20, "caller");
        hex_exact(f[5], b32, 32, "digest");
        nox_eip712_runner_scope s = {.chain_id = u64(f[0]), .block_number = u64(f[1]), .transaction_hash = f[3],
                                     .not_before = u64(f[6]), .expires_at = u64(f[7])};
        memcpy(s.caller, a1, 20);
        if (type[0] == 'R') nox_eip712_hash_result_publishing_authorization_v2(&s, u64(f[4]), b32, out);
        else nox_eip712_hash_failure_recording_authorization(&s, u64(f[4]), b32, out);
    } else if (!strcmp(type, "DelegateAuthorization")) {
        NEED(2);
        nox_eip712_hash_delegate_authorization(f[0], f[1], out);
    } else if (!strcmp(type, "DelegateBatchAuthorization")) { /* TARGET EPHEMERAL... */
        if (n < 1) die("%s: wrong number of fields", type);
        nox_eip712_hash_delegate_batch_authorization((const char *const *)(f + 1), (size_t)(n - 1), f[0], out);
    } else if (!strcmp(type, "PublicKeyProof")) {
        NEED(1);
        nox_eip712_hash_public_key_proof(f[0], out);
    } else {
        die("unknown type %s", type);
    }
#undef NEED
}

/* The content digest of the items in argv[i..argc): results (5 fields each) or failure records (2). */
static void content_digest(int argc, char **argv, int i, int results, uint8_t out[32]) {
    int per = results ? 5 : 2;
    if ((argc - i) % per) die("%s-digest: %d fields per item", results ? "results" : "failures", per);
    nox_content_digest d;
    nox_content_digest_init(&d);
    for (; i < argc; i += per) {
        uint8_t handle[32], tag[32], pk[33], nonce[12], ct[4096];
        size_t ct_len = 0;
        nox_error err = {0};
        hex_exact(argv[i], handle, 32, "handle");
        if (!results) {
            nox_content_digest_add_failure(&d, handle, argv[i + 1], strlen(argv[i + 1]));
            continue;
        }
        hex_exact(argv[i + 1], tag, 32, "handleValueTag");
        hex_exact(argv[i + 2], pk, 33, "publicKey");
        hex_exact(argv[i + 3], nonce, 12, "nonce");
        if (nox_hex_decode(argv[i + 4], strlen(argv[i + 4]), ct, sizeof ct, &ct_len, &err) != NOX_OK)
            die("ciphertext: %s", err.message);
        nox_content_digest_add_result(&d, handle, tag, pk, nonce, ct, ct_len);
    }
    nox_content_digest_final(&d, out);
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "results-digest") || !strcmp(argv[1], "failures-digest"))) {
        uint8_t d[32];
        content_digest(argc, argv, 2, argv[1][0] == 'r', d);
        print_hex(d, 32);
        return 0;
    }
    if (argc < 3)
        die("%s", "usage: keccak-hex 0xHEX | keccak-text TEXT | address KEY | sign KEY DOMAIN... TYPE FIELD... | "
                  "results-digest [HANDLE TAG PUBKEY NONCE CIPHERTEXT]... | failures-digest [HANDLE REASON]...");
    const char *cmd = argv[1];
    uint8_t h[32];
    nox_error err = {0};
    if (!strcmp(cmd, "keccak-hex")) {
        size_t cap = strlen(argv[2]) / 2 + 1, len = 0;
        uint8_t *buf = malloc(cap);
        if (!buf) die("%s", "out of memory");
        if (nox_hex_decode(argv[2], strlen(argv[2]), buf, cap, &len, &err) != NOX_OK) die("%s", err.message);
        nox_keccak256(buf, len, h);
        free(buf);
        print_hex(h, 32);
    } else if (!strcmp(cmd, "keccak-text")) {
        nox_keccak256(argv[2], strlen(argv[2]), h);
        print_hex(h, 32);
    } else if (!strcmp(cmd, "address")) {
        nox_ec_privkey k = key_of(argv[2]);
        uint8_t a[20];
        if (nox_ec_key_address(&k, a, &err) != NOX_OK) die("%s", err.message);
        nox_ec_key_wipe(&k);
        print_hex(a, 20);
    } else if (!strcmp(cmd, "sign")) {
        nox_ec_privkey k = key_of(argv[2]);
        int i = 3;
        nox_eip712_domain d = parse_domain(argc, argv, &i);
        uint8_t sig[65];
        struct_hash(argc, argv, i, h);
        if (nox_eip712_sign(&k, &d, h, sig, &err) != NOX_OK) die("%s", err.message);
        nox_ec_key_wipe(&k);
        print_hex(sig, 65);
    } else {
        die("unknown command %s", cmd);
    }
    return 0;
}
