/*
 * eip712_driver — computes with our keccak / EIP-712 / ECDSA code for
 * tests/cross/eip712.sh, which compares the output with cast's.
 *
 *   eip712_driver keccak-hex 0x<hex>          keccak256 of the bytes
 *   eip712_driver keccak-text TEXT            keccak256 of the UTF-8 bytes
 *   eip712_driver address KEY                 the address of private key KEY (0x + 64 hex)
 *   eip712_driver sign KEY DOMAIN... TYPE FIELD...
 *                                             the 65-byte EIP-712 signature
 *
 * DOMAIN is any of --name S, --version S, --chain-id N, --contract 0xADDR,
 * --salt 0xBYTES32 (present fields only), or --protocol KIND with --chain-id
 * (and --contract for input-proof and user-decryption) to use the protocol's
 * domain constructor KIND: input-proof, user-decryption, runner-gateway,
 * kms-delegate, kms-public-key.
 *
 * TYPE FIELD... (uint256 fields are decimal and must fit in 64 bits):
 *   HandleProof HANDLE OWNER APP CREATED_AT
 *   DataAccessAuthorization USER_ADDRESS ENCRYPTION_PUB_KEY NOT_BEFORE EXPIRES_AT
 *   OperandAccessAuthorization CHAIN_ID BLOCK CALLER TX_HASH RSA_PUBLIC_KEY [OPERAND...]
 *   ResultPublishingAuthorization CHAIN_ID BLOCK CALLER TX_HASH
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

int main(int argc, char **argv) {
    if (argc < 3) die("%s", "usage: keccak-hex 0xHEX | keccak-text TEXT | address KEY | sign KEY DOMAIN... TYPE FIELD...");
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
