/*
 * EIP-712 (spec §4.4): the known typehashes and domain separator of the spec,
 * domain subsets, string/string[] encoding, struct hashes and a digest against
 * values computed independently with cast (`cast keccak`, `cast abi-encode`,
 * `cast wallet sign`), sign/recover for each of the six primary types, and
 * that a signature binds its type, fields, domain and chain id; the same for
 * the bound Runner authorizations of docs/PROTOCOL-EXTENSIONS.md §7 (their
 * typehashes, the version-2 domain that names the Gateway, struct hashes and a
 * signature by private key 1, every field, and no use under another domain).
 */
#include <stdio.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "test_util.h"

/* The NoxCompute contract of spec §4.4's known domain separator. */
#define NOX_COMPUTE_HEX "0xd464B198f06756a1d00be223634b85E0a731c229"
#define SPEC_CHAIN 421614

static void typehash_of(const char *type, char out[67]) {
    uint8_t h[32];
    nox_eip712_typehash(type, h);
    nox_hex_encode(h, 32, out);
}

static void test_spec_typehashes(void) {
    char h[67];
    /* the five primary types the spec lists, computed from our type strings */
    typehash_of(NOX_EIP712_TYPE_HANDLE_PROOF, h);
    CU_ASSERT_STRING_EQUAL(h, "0x2597adb2c310b2d50ad6e27bef4fe33de1a27945ba8d078d20d7c41d47010a0a");
    typehash_of(NOX_EIP712_TYPE_DATA_ACCESS_AUTHORIZATION, h);
    CU_ASSERT_STRING_EQUAL(h, "0xb14229521cfd23250cd5d6e201aa22e59ed53d69cbb57af69e50a599f8c8e94c");
    typehash_of(NOX_EIP712_TYPE_OPERAND_ACCESS_AUTHORIZATION, h);
    CU_ASSERT_STRING_EQUAL(h, "0x2f61ed17ef4074765bddf03e9bfe6cb85a4ff8ee80f5572854742440511e0978");
    typehash_of(NOX_EIP712_TYPE_RESULT_PUBLISHING_AUTHORIZATION, h);
    CU_ASSERT_STRING_EQUAL(h, "0x077f59bb50ff4e8bba9f3171a38433aec57bd7dee9c10b4ecee3f76112ec924e");
    typehash_of(NOX_EIP712_TYPE_DELEGATE_AUTHORIZATION, h);
    CU_ASSERT_STRING_EQUAL(h, "0x49a1e1eaf70b3d754bba9bf8763124010c67c1e2352abd3901fe6e3eb3bc40e4");
    /* not in the spec's list: cast keccak "PublicKeyProof(string publicKey)" */
    typehash_of(NOX_EIP712_TYPE_PUBLIC_KEY_PROOF, h);
    CU_ASSERT_STRING_EQUAL(h, "0x503c2f55db543f0148eb23de4e8eae3226b0bb18281d414bb95e538a9429ce72");

    /* the two domain typehashes, as the domain constructors build them */
    uint8_t contract[20], th[32];
    nox_test_from_hex(NOX_COMPUTE_HEX, contract, 20);
    nox_eip712_domain d = nox_eip712_domain_input_proof(SPEC_CHAIN, contract);
    nox_eip712_domain_typehash(&d, th);
    ASSERT_HASH(th, "0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");
    d = nox_eip712_domain_runner_gateway(SPEC_CHAIN);
    nox_eip712_domain_typehash(&d, th);
    ASSERT_HASH(th, "0xc2f8787176b8ac6bf7215b4adcc1e069bf4ab82d9ab1df05a57a91d425935b6e");
}

static void test_spec_domain_separator(void) {
    uint8_t contract[20], ds[32];
    nox_test_from_hex(NOX_COMPUTE_HEX, contract, 20);
    nox_eip712_domain d = nox_eip712_domain_input_proof(SPEC_CHAIN, contract);
    nox_eip712_domain_separator(&d, ds);
    ASSERT_HASH(ds, "0x2428cee05bbd6ddaa18855af9de4a382fac760ddc2e9e1def5b4e2016d1d3aa7");
    /* the same domain written out field by field */
    nox_eip712_domain manual = {.name = "NoxCompute", .version = "1", .has_chain_id = true, .chain_id = SPEC_CHAIN,
                                .has_verifying_contract = true};
    memcpy(manual.verifying_contract, contract, 20);
    nox_eip712_domain_separator(&manual, ds);
    ASSERT_HASH(ds, "0x2428cee05bbd6ddaa18855af9de4a382fac760ddc2e9e1def5b4e2016d1d3aa7");
    /* another chain id or contract is another separator */
    uint8_t other[32];
    manual.chain_id = 31337;
    nox_eip712_domain_separator(&manual, other);
    CU_ASSERT_NOT_EQUAL(memcmp(other, ds, 32), 0);
    manual.chain_id = SPEC_CHAIN;
    manual.verifying_contract[19] ^= 1;
    nox_eip712_domain_separator(&manual, other);
    CU_ASSERT_NOT_EQUAL(memcmp(other, ds, 32), 0);
}

static void test_domain_subsets(void) {
    char type[NOX_EIP712_DOMAIN_TYPE_MAX];
    uint8_t h[32];

    /* name + version + chainId: the spec's second domain typehash */
    nox_eip712_domain nvc = {.name = "Handle Gateway", .version = "1", .has_chain_id = true, .chain_id = 1};
    CU_ASSERT_STRING_EQUAL(nox_eip712_domain_type(&nvc, type), "EIP712Domain(string name,string version,uint256 chainId)");
    nox_eip712_domain_typehash(&nvc, h);
    ASSERT_HASH(h, "0xc2f8787176b8ac6bf7215b4adcc1e069bf4ab82d9ab1df05a57a91d425935b6e");

    /* empty: typehash = cast keccak "EIP712Domain()", separator = keccak(typehash) alone */
    nox_eip712_domain empty = {0};
    CU_ASSERT_STRING_EQUAL(nox_eip712_domain_type(&empty, type), "EIP712Domain()");
    nox_eip712_domain_typehash(&empty, h);
    ASSERT_HASH(h, "0x20bcc3f8105eea47d067386e42e60246e89393cd61c512edd1e87688890fb914");
    nox_eip712_domain_separator(&empty, h);
    ASSERT_HASH(h, "0x6192106f129ce05c9075d319c1fa6ea9b3ae37cbd0c1ef92e2be7137bb07baa1");

    /* salt only: keccak(abi.encode(keccak("EIP712Domain(bytes32 salt)"), 0xabab..ab)) */
    nox_eip712_domain salt = {.has_salt = true};
    memset(salt.salt, 0xab, 32);
    CU_ASSERT_STRING_EQUAL(nox_eip712_domain_type(&salt, type), "EIP712Domain(bytes32 salt)");
    nox_eip712_domain_typehash(&salt, h);
    ASSERT_HASH(h, "0xed46087c30783a9d27be533e9e6a1f834cec6daf2cfb016c9ab60d791039f983");
    nox_eip712_domain_separator(&salt, h);
    ASSERT_HASH(h, "0x78bbe1ecde41bdd18f98dab7390ffde37ddcc2e651fb2ce682ad7f2b0d7e7930");

    /* all five, chainId = 2^64 - 1 (the largest the C API takes):
       keccak(abi.encode(typehash, keccak("Nox"), keccak("2"), 2^64-1, contract, 0xabab..ab)) */
    nox_eip712_domain all = {.name = "Nox", .version = "2", .has_chain_id = true, .chain_id = UINT64_MAX,
                             .has_verifying_contract = true, .has_salt = true};
    nox_test_from_hex(NOX_COMPUTE_HEX, all.verifying_contract, 20);
    memset(all.salt, 0xab, 32);
    CU_ASSERT_STRING_EQUAL(
        nox_eip712_domain_type(&all, type),
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)");
    CU_ASSERT(strlen(type) < NOX_EIP712_DOMAIN_TYPE_MAX);
    nox_eip712_domain_typehash(&all, h);
    ASSERT_HASH(h, "0xd87cd6ef79d4e2b95e15ce8abf732db51ec771f1ca2edccf22a46c729ac56472");
    nox_eip712_domain_separator(&all, h);
    ASSERT_HASH(h, "0x5622f68a066f40d8f5e35aad940d84fdc17b605520abf8929a4cc10f2c86e35a");

    /* an empty name is present (and hashed as keccak("")), unlike an absent one */
    nox_eip712_domain empty_name = {.name = ""};
    CU_ASSERT_STRING_EQUAL(nox_eip712_domain_type(&empty_name, type), "EIP712Domain(string name)");
}

static void test_protocol_domains(void) {
    char type[NOX_EIP712_DOMAIN_TYPE_MAX];
    uint8_t contract[20];
    nox_test_from_hex(NOX_COMPUTE_HEX, contract, 20);

    nox_eip712_domain d = nox_eip712_domain_user_decryption(SPEC_CHAIN, contract);
    CU_ASSERT_STRING_EQUAL(d.name, "Handle Gateway");
    CU_ASSERT_STRING_EQUAL(d.version, "1");
    CU_ASSERT_EQUAL(d.chain_id, SPEC_CHAIN);
    CU_ASSERT_EQUAL(memcmp(d.verifying_contract, contract, 20), 0);
    CU_ASSERT_STRING_EQUAL(nox_eip712_domain_type(&d, type),
                           "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    static const struct {
        nox_eip712_domain (*make)(uint64_t);
        const char *name;
    } chain_only[] = {{nox_eip712_domain_runner_gateway, "Handle Gateway"},
                      {nox_eip712_domain_kms_delegate, "ProtocolDelegate"},
                      {nox_eip712_domain_kms_public_key, "ProtocolPublicKey"}};
    for (size_t i = 0; i < sizeof chain_only / sizeof chain_only[0]; i++) {
        d = chain_only[i].make(7);
        CU_ASSERT_STRING_EQUAL(d.name, chain_only[i].name);
        CU_ASSERT_STRING_EQUAL(d.version, "1");
        CU_ASSERT_EQUAL(d.chain_id, 7);
        CU_ASSERT_STRING_EQUAL(nox_eip712_domain_type(&d, type),
                               "EIP712Domain(string name,string version,uint256 chainId)");
    }
}

static void test_string_and_array_encoding(void) {
    uint8_t h[32], h2[32], want[32];
    /* string: keccak of its bytes, UTF-8 included */
    nox_eip712_hash_string("", h);
    ASSERT_HASH(h, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    nox_eip712_hash_string("abc", h);
    ASSERT_HASH(h, "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");

    /* empty array: keccak256 of the empty input */
    nox_eip712_hash_string_array(NULL, 0, h);
    ASSERT_HASH(h, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

    /* one element: keccak(keccak(a)) — not keccak(a) */
    const char *one[] = {"abc"};
    nox_eip712_hash_string_array(one, 1, h);
    uint8_t inner[32];
    nox_keccak256("abc", 3, inner);
    nox_keccak256(inner, 32, want);
    CU_ASSERT_EQUAL(memcmp(h, want, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(h, inner, 32), 0);

    /* two handle strings (values from cast: keccak(keccak(o1) ‖ keccak(o2))); order matters */
    const char *ab[] = {"0x1111111111111111111111111111111111111111111111111111111111111111",
                        "0x2222222222222222222222222222222222222222222222222222222222222222"};
    const char *ba[] = {ab[1], ab[0]};
    nox_eip712_hash_string_array(ab, 2, h);
    ASSERT_HASH(h, "0x590d87e160f9cad123f49f8f9673fdb375fe690e1e654a2fbcbc9dda93d7f822");
    nox_eip712_hash_string_array(ba, 2, h2);
    ASSERT_HASH(h2, "0x043c4891b240e2893106b8770c631e5a33563af08efff0a9e30d3e9cea2f3a40");

    /* element boundaries count: ["ab"] != ["a", "b"] */
    const char *joined[] = {"ab"}, *split[] = {"a", "b"};
    nox_eip712_hash_string_array(joined, 1, h);
    nox_eip712_hash_string_array(split, 2, h2);
    CU_ASSERT_NOT_EQUAL(memcmp(h, h2, 32), 0);
}

/* Values shared by the struct-hash tests. */
#define TX_HASH "0xabababababababababababababababababababababababababababababababab"
static const char *const OPERANDS[] = {"0x1111111111111111111111111111111111111111111111111111111111111111",
                                       "0x2222222222222222222222222222222222222222222222222222222222222222"};

static void sample_handle(uint8_t h[32]) {
    for (int i = 0; i < 32; i++) h[i] = (uint8_t)(i + 1); /* 0x0102…20 */
}

static void test_struct_hash_known_answers(void) {
    /* computed with cast: keccak(abi.encode(typehash, handle, owner, app, createdAt)) */
    uint8_t handle[32], owner[20], app[20], h[32], zero[20] = {0};
    sample_handle(handle);
    nox_test_from_hex("0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", owner, 20);
    nox_test_from_hex(NOX_COMPUTE_HEX, app, 20);
    nox_eip712_hash_handle_proof(handle, owner, app, 1700000000, h);
    ASSERT_HASH(h, "0x80fc953a973b28b0ba9c1007ca9cb0c34a5051aa02b2b5f4eeaf1790ace2f016");

    /* keccak(abi.encode(typehash, 421614, 123456789, address(0), keccak(tx), keccak(ops), keccak("0x30820122"))) */
    nox_eip712_hash_operand_access_authorization(SPEC_CHAIN, 123456789, zero, TX_HASH, OPERANDS, 2, "0x30820122", h);
    ASSERT_HASH(h, "0xe60856b13437fac8e46abbc9631428bd018b5839902cdc0652d26885eba4d756");

    /* the digest of that HandleProof under the spec's NoxCompute domain: keccak(0x1901 ‖ ds ‖ hash) */
    uint8_t ds[32], digest[32];
    nox_eip712_domain d = nox_eip712_domain_input_proof(SPEC_CHAIN, app);
    nox_eip712_domain_separator(&d, ds);
    nox_eip712_hash_handle_proof(handle, owner, app, 1700000000, h);
    nox_eip712_digest(ds, h, digest);
    ASSERT_HASH(digest, "0xb9928d7ef048ed4b8cf09479eb5559e17713231ccebc26b269c44513db02c31b");

    /* and the signature by private key 1: what `cast wallet sign --data` gives for the same typed data */
    uint8_t one_bytes[32] = {0}, sig[65];
    one_bytes[31] = 1;
    nox_ec_privkey one;
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_from_bytes(&one, one_bytes, NULL), NOX_OK);
    CU_ASSERT_EQUAL(nox_eip712_sign(&one, &d, h, sig, NULL), NOX_OK);
    char sig_hex[140];
    CU_ASSERT_STRING_EQUAL(nox_hex_encode(sig, 65, sig_hex),
                           "0xd2830f3cc9ceeafa6d2299be95cf216afeea64903fecb27d27203d0565b6c11b1ba51b49957013513a831a5c7"
                           "ba5a5b817f0252de5019d32d0d73642e41bf4591b");
}

/* ---- one message of each type, with its protocol domain ------------------- */

enum { N_TYPES = 6 };
static const char *const TYPE_NAMES[N_TYPES] = {"HandleProof",
                                                "DataAccessAuthorization",
                                                "OperandAccessAuthorization",
                                                "ResultPublishingAuthorization",
                                                "DelegateAuthorization",
                                                "PublicKeyProof"};

/* The struct hash and domain of sample message `t` on `chain`. */
static void sample(int t, uint64_t chain, uint8_t hash[32], nox_eip712_domain *domain) {
    uint8_t handle[32], a1[20], a2[20];
    sample_handle(handle);
    memset(a1, 0x11, 20);
    nox_test_from_hex(NOX_COMPUTE_HEX, a2, 20);
    switch (t) {
    case 0:
        nox_eip712_hash_handle_proof(handle, a1, a2, 1700000000, hash);
        *domain = nox_eip712_domain_input_proof(chain, a2);
        break;
    case 1:
        nox_eip712_hash_data_access_authorization(a1, "0x30820122", 1700000000, 1700003600, hash);
        *domain = nox_eip712_domain_user_decryption(chain, a2);
        break;
    case 2:
        nox_eip712_hash_operand_access_authorization(chain, 99, a1, TX_HASH, OPERANDS, 2, "0x30820122", hash);
        *domain = nox_eip712_domain_runner_gateway(chain);
        break;
    case 3:
        nox_eip712_hash_result_publishing_authorization(chain, 99, a1, TX_HASH, hash);
        *domain = nox_eip712_domain_runner_gateway(chain);
        break;
    case 4:
        nox_eip712_hash_delegate_authorization(OPERANDS[0], "0x30820122", hash);
        *domain = nox_eip712_domain_kms_delegate(chain);
        break;
    default:
        nox_eip712_hash_public_key_proof(OPERANDS[0], hash);
        *domain = nox_eip712_domain_kms_public_key(chain);
        break;
    }
}

static nox_ec_privkey test_key(uint8_t *address) {
    uint8_t b[32];
    nox_test_from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", b, 32);
    nox_ec_privkey k;
    if (nox_ec_key_from_bytes(&k, b, NULL) != NOX_OK || nox_ec_key_address(&k, address, NULL) != NOX_OK) exit(2);
    return k;
}

static void test_sign_recover_each_type(void) {
    uint8_t signer[20], hash[32], sig[65], got[20];
    nox_ec_privkey key = test_key(signer);
    nox_error err = {0};
    for (int t = 0; t < N_TYPES; t++) {
        nox_eip712_domain d;
        sample(t, SPEC_CHAIN, hash, &d);
        CU_ASSERT_EQUAL(nox_eip712_sign(&key, &d, hash, sig, &err), NOX_OK);
        CU_ASSERT(sig[64] == 27 || sig[64] == 28);
        memset(got, 0, sizeof got);
        if (nox_eip712_recover(&d, hash, sig, 65, got, &err) != NOX_OK || memcmp(got, signer, 20) != 0) {
            fprintf(stderr, "\n%s: recover failed (%s)\n", TYPE_NAMES[t], err.message);
            CU_FAIL("sign -> recover round trip");
        }
        CU_ASSERT_EQUAL(nox_eip712_verify(&d, hash, sig, 65, signer, &err), NOX_OK);
        /* the signature is over keccak(0x1901 ‖ ds ‖ hash): nox_ec_recover on that digest agrees */
        uint8_t ds[32], digest[32];
        nox_eip712_domain_separator(&d, ds);
        nox_eip712_digest(ds, hash, digest);
        CU_ASSERT_EQUAL(nox_ec_recover(digest, sig, 65, got, NULL), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(got, signer, 20), 0);
    }
    nox_ec_key_wipe(&key);
}

static void test_signature_binds_type_domain_chain(void) {
    uint8_t signer[20], hash[N_TYPES][32], sig[N_TYPES][65];
    nox_eip712_domain dom[N_TYPES];
    nox_ec_privkey key = test_key(signer);
    nox_error err = {0};
    for (int t = 0; t < N_TYPES; t++) {
        sample(t, SPEC_CHAIN, hash[t], &dom[t]);
        CU_ASSERT_EQUAL_FATAL(nox_eip712_sign(&key, &dom[t], hash[t], sig[t], NULL), NOX_OK);
    }
    int accepted = 0;
    for (int t = 0; t < N_TYPES; t++) {
        /* as another type: another struct hash, under either domain */
        for (int u = 0; u < N_TYPES; u++) {
            if (u == t) continue;
            accepted += nox_eip712_verify(&dom[t], hash[u], sig[t], 65, signer, &err) == NOX_OK;
            accepted += nox_eip712_verify(&dom[u], hash[u], sig[t], 65, signer, &err) == NOX_OK;
            /* the same message under another protocol domain (types 2 and 3 share one) */
            uint8_t ds_t[32], ds_u[32];
            nox_eip712_domain_separator(&dom[t], ds_t);
            nox_eip712_domain_separator(&dom[u], ds_u);
            if (memcmp(ds_t, ds_u, 32) != 0)
                accepted += nox_eip712_verify(&dom[u], hash[t], sig[t], 65, signer, &err) == NOX_OK;
        }
        /* another chain id in the domain (and, for the Runner types, in the message too) */
        uint8_t h2[32];
        nox_eip712_domain d2;
        sample(t, 31337, h2, &d2);
        accepted += nox_eip712_verify(&d2, hash[t], sig[t], 65, signer, &err) == NOX_OK;
        accepted += nox_eip712_verify(&d2, h2, sig[t], 65, signer, &err) == NOX_OK;
    }
    CU_ASSERT_EQUAL(accepted, 0);
    /* a mismatch names both addresses */
    CU_ASSERT_EQUAL(nox_eip712_verify(&dom[0], hash[1], sig[0], 65, signer, &err), NOX_ERR_INVALID);
    char a[43];
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, nox_hex_encode(signer, 20, a)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not by the expected signer"));
    /* a malformed signature is refused by the ec.h rules (here: length) */
    CU_ASSERT_EQUAL(nox_eip712_verify(&dom[0], hash[0], sig[0], 64, signer, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "65 bytes"));
    nox_ec_key_wipe(&key);
}

/* Every field enters its struct hash: changing any one changes the hash. */
static void test_every_field_counts(void) {
    uint8_t handle[32], a[20], b[20], base[32], h[32];
    sample_handle(handle);
    memset(a, 0x11, 20);
    memset(b, 0x22, 20);
    int same = 0;
#define CHANGED(call)                               \
    do {                                            \
        call;                                       \
        same += memcmp(h, base, 32) == 0;           \
    } while (0)

    nox_eip712_hash_handle_proof(handle, a, b, 5, base);
    uint8_t handle2[32];
    memcpy(handle2, handle, 32);
    handle2[31] ^= 1;
    CHANGED(nox_eip712_hash_handle_proof(handle2, a, b, 5, h));
    CHANGED(nox_eip712_hash_handle_proof(handle, b, b, 5, h));
    CHANGED(nox_eip712_hash_handle_proof(handle, a, a, 5, h));
    CHANGED(nox_eip712_hash_handle_proof(handle, b, a, 5, h)); /* owner and app swapped */
    CHANGED(nox_eip712_hash_handle_proof(handle, a, b, 6, h));

    nox_eip712_hash_data_access_authorization(a, "k", 1, 2, base);
    CHANGED(nox_eip712_hash_data_access_authorization(b, "k", 1, 2, h));
    CHANGED(nox_eip712_hash_data_access_authorization(a, "K", 1, 2, h));
    CHANGED(nox_eip712_hash_data_access_authorization(a, "k", 0, 2, h));
    CHANGED(nox_eip712_hash_data_access_authorization(a, "k", 2, 1, h)); /* swapped bounds */

    const char *ops1[] = {"x"}, *ops3[] = {"x", "y", "z"};
    nox_eip712_hash_operand_access_authorization(1, 2, a, "t", ops3, 3, "r", base);
    CHANGED(nox_eip712_hash_operand_access_authorization(3, 2, a, "t", ops3, 3, "r", h));
    CHANGED(nox_eip712_hash_operand_access_authorization(1, 3, a, "t", ops3, 3, "r", h));
    CHANGED(nox_eip712_hash_operand_access_authorization(1, 2, b, "t", ops3, 3, "r", h));
    CHANGED(nox_eip712_hash_operand_access_authorization(1, 2, a, "u", ops3, 3, "r", h));
    CHANGED(nox_eip712_hash_operand_access_authorization(1, 2, a, "t", ops3, 2, "r", h));
    CHANGED(nox_eip712_hash_operand_access_authorization(1, 2, a, "t", ops1, 1, "r", h));
    CHANGED(nox_eip712_hash_operand_access_authorization(1, 2, a, "t", ops3, 3, "s", h));
    CHANGED(nox_eip712_hash_operand_access_authorization(2, 1, a, "t", ops3, 3, "r", h));

    nox_eip712_hash_result_publishing_authorization(1, 2, a, "t", base);
    CHANGED(nox_eip712_hash_result_publishing_authorization(3, 2, a, "t", h));
    CHANGED(nox_eip712_hash_result_publishing_authorization(1, 3, a, "t", h));
    CHANGED(nox_eip712_hash_result_publishing_authorization(1, 2, b, "t", h));
    CHANGED(nox_eip712_hash_result_publishing_authorization(1, 2, a, "u", h));
    /* same fields as the start of an OperandAccessAuthorization, another type */
    CHANGED(nox_eip712_hash_operand_access_authorization(1, 2, a, "t", NULL, 0, "", h));

    nox_eip712_hash_delegate_authorization("e", "t", base);
    CHANGED(nox_eip712_hash_delegate_authorization("f", "t", h));
    CHANGED(nox_eip712_hash_delegate_authorization("e", "u", h));
    CHANGED(nox_eip712_hash_delegate_authorization("t", "e", h));

    nox_eip712_hash_public_key_proof("p", base);
    CHANGED(nox_eip712_hash_public_key_proof("q", h));
    CHANGED(nox_eip712_hash_public_key_proof("", h));
#undef CHANGED
    CU_ASSERT_EQUAL(same, 0);
}

/* ---- the bound Runner authorizations (docs/PROTOCOL-EXTENSIONS.md §7) ---------------------- */

/* anvil's second account: a Gateway wallet address for the domain */
#define GATEWAY_HEX "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
/* values computed with cast: the content digests of tests/unit/test_runner_auth.c's two results and two records */
#define RESULTS_DIGEST "0x92a7d5af32a875cf64960d8d2ba267029182e9383fb34816d015d5c8ba7a9064"
#define RECORDS_DIGEST "0xc8fabf95b11c75e8838499f596505d2d60ab93cd6d01fcf738f5eb2ef5c83f14"

static nox_eip712_runner_scope sample_scope(uint64_t block, const char *caller_hex, uint64_t nb, uint64_t ex) {
    nox_eip712_runner_scope s = {.chain_id = SPEC_CHAIN, .block_number = block, .transaction_hash = TX_HASH,
                                 .not_before = nb, .expires_at = ex};
    nox_test_from_hex(caller_hex, s.caller, 20);
    return s;
}

static void test_bound_typehashes_and_domain(void) {
    char h[67];
    /* cast keccak "<the type string>" */
    typehash_of(NOX_EIP712_TYPE_OPERAND_ACCESS_AUTHORIZATION_V2, h);
    CU_ASSERT_STRING_EQUAL(h, "0x95a19f484e87587a479325ce4a44c6a0e34950cb108be27c54d9bdfaec2c588d");
    typehash_of(NOX_EIP712_TYPE_RESULT_PUBLISHING_AUTHORIZATION_V2, h);
    CU_ASSERT_STRING_EQUAL(h, "0xaf809750dedb07bb1e869818f8bb672da77fd68214c85d49dc6c17982950e7f2");
    typehash_of(NOX_EIP712_TYPE_FAILURE_RECORDING_AUTHORIZATION, h);
    CU_ASSERT_STRING_EQUAL(h, "0x51610a7163bc7c6ec9ac906437f655805c3f14bce2de7d6968ab78b2a04944d8");
    CU_ASSERT_STRING_EQUAL(NOX_EIP712_TYPE_RESULT_PUBLISHING_AUTHORIZATION_V2,
                           "ResultPublishingAuthorizationV2(uint256 chainId,uint256 blockNumber,address caller,"
                           "string transactionHash,uint256 resultCount,bytes32 resultsDigest,uint256 notBefore,"
                           "uint256 expiresAt)");

    /* {"Handle Gateway", "2", 421614, the Gateway's wallet}: keccak(abi.encode(8b73…, keccak(name),
       keccak("2"), 421614, gateway)) */
    uint8_t gw[20], ds[32], legacy[32];
    char type[NOX_EIP712_DOMAIN_TYPE_MAX];
    nox_test_from_hex(GATEWAY_HEX, gw, 20);
    nox_eip712_domain d = nox_eip712_domain_runner_gateway_v2(SPEC_CHAIN, gw);
    CU_ASSERT_STRING_EQUAL(d.name, "Handle Gateway");
    CU_ASSERT_STRING_EQUAL(d.version, "2");
    CU_ASSERT_EQUAL(memcmp(d.verifying_contract, gw, 20), 0);
    CU_ASSERT_STRING_EQUAL(nox_eip712_domain_type(&d, type),
                           "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    nox_eip712_domain_separator(&d, ds);
    ASSERT_HASH(ds, "0x32be7eba4b697ed3b5faf7cc3794e90785f6ecb32f65908bf139918416e762e7");
    d = nox_eip712_domain_runner_gateway(SPEC_CHAIN);
    nox_eip712_domain_separator(&d, legacy);
    CU_ASSERT_NOT_EQUAL(memcmp(ds, legacy, 32), 0);
}

static void test_bound_struct_hashes(void) {
    uint8_t h[32], digest[32];
    /* keccak(abi.encode(typehash, 421614, 123456789, address(0), keccak(tx), keccak(ops), keccak("0x30820122"),
       1700000000, 1700000065)) */
    nox_eip712_runner_scope s = sample_scope(123456789, "0x0000000000000000000000000000000000000000", 1700000000,
                                             1700000065);
    nox_eip712_hash_operand_access_authorization_v2(&s, OPERANDS, 2, "0x30820122", h);
    ASSERT_HASH(h, "0xc028fda6944de3237856faf6722d9abfde5201e6feed089c04919fee54426893");
    /* ... (typehash, 421614, 123456789, 0x7e5f…, keccak(tx), 2, RESULTS_DIGEST, 1700000000, 1700000065) */
    s = sample_scope(123456789, "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", 1700000000, 1700000065);
    nox_test_from_hex(RESULTS_DIGEST, digest, 32);
    nox_eip712_hash_result_publishing_authorization_v2(&s, 2, digest, h);
    ASSERT_HASH(h, "0xaab775574773aab43a6c15d4b1692e78d8d9c273ac9ec978d89ad71d88b1045d");

    /* what `cast wallet sign --data` gives with private key 1 for that message in the version-2 domain */
    uint8_t gw[20], one_bytes[32] = {0}, sig[65], got[20];
    one_bytes[31] = 1;
    nox_test_from_hex(GATEWAY_HEX, gw, 20);
    nox_eip712_domain d = nox_eip712_domain_runner_gateway_v2(SPEC_CHAIN, gw);
    nox_ec_privkey one;
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_from_bytes(&one, one_bytes, NULL), NOX_OK);
    CU_ASSERT_EQUAL(nox_eip712_sign(&one, &d, h, sig, NULL), NOX_OK);
    char sig_hex[140];
    CU_ASSERT_STRING_EQUAL(nox_hex_encode(sig, 65, sig_hex),
                           "0x96340c6c892ddfb60c4985b13591bd71fbd8588e00c6483d3eb3feed0e9851a53b05235fdf3b461da729d1b1"
                           "18331093265b09b91b4b41cf1a4bba9605870cb31c");
    /* it recovers to key 1's address there, to another one under the spec 4.4 domain or another Gateway */
    CU_ASSERT_EQUAL(nox_eip712_recover(&d, h, sig, 65, got, NULL), NOX_OK);
    char a[43];
    CU_ASSERT_STRING_EQUAL(nox_hex_encode(got, 20, a), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
    nox_eip712_domain legacy = nox_eip712_domain_runner_gateway(SPEC_CHAIN), other = d;
    other.verifying_contract[0] ^= 1;
    CU_ASSERT_EQUAL(nox_eip712_verify(&legacy, h, sig, 65, got, NULL), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_eip712_verify(&other, h, sig, 65, got, NULL), NOX_ERR_INVALID);
    nox_ec_key_wipe(&one);

    /* FailureRecordingAuthorization: (typehash, 421614, 99, 0x7e5f…, keccak(tx), 2, RECORDS_DIGEST, 1700000000,
       1700000300) */
    s = sample_scope(99, "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", 1700000000, 1700000300);
    nox_test_from_hex(RECORDS_DIGEST, digest, 32);
    nox_eip712_hash_failure_recording_authorization(&s, 2, digest, h);
    ASSERT_HASH(h, "0x24a0f7789db2e46ca761534b8c8c88aac53ef0709310319b174fb56bfd9f54f9");
}

/* Every member of the bound types enters the hash; results and failure records never share a hash. */
static void test_bound_every_field_counts(void) {
    uint8_t base[32], h[32], dg[32], dg2[32];
    memset(dg, 0x5c, 32);
    memcpy(dg2, dg, 32);
    dg2[31] ^= 1;
    const char *ops1[] = {"x"}, *ops2[] = {"x", "y"}, *ops2r[] = {"y", "x"};
    int same = 0;
    nox_eip712_runner_scope b = sample_scope(2, "0x1111111111111111111111111111111111111111", 10, 70), s;
#define CHANGED(field_change, call)                 \
    do {                                            \
        s = b;                                      \
        field_change;                               \
        call;                                       \
        same += memcmp(h, base, 32) == 0;           \
    } while (0)
#define EACH_SCOPE_FIELD(call)                                                                   \
    CHANGED(s.chain_id = 3, call);                                                               \
    CHANGED(s.block_number = 3, call);                                                           \
    CHANGED(s.caller[19] ^= 1, call);                                                            \
    CHANGED(s.transaction_hash = "u", call);                                                     \
    CHANGED(s.not_before = 11, call);                                                            \
    CHANGED(s.expires_at = 71, call);                                                            \
    CHANGED((s.not_before = 70, s.expires_at = 10), call) /* bounds swapped */

    s = b;
    nox_eip712_hash_operand_access_authorization_v2(&s, ops2, 2, "r", base);
    EACH_SCOPE_FIELD(nox_eip712_hash_operand_access_authorization_v2(&s, ops2, 2, "r", h));
    CHANGED((void)0, nox_eip712_hash_operand_access_authorization_v2(&s, ops1, 1, "r", h));
    CHANGED((void)0, nox_eip712_hash_operand_access_authorization_v2(&s, ops2r, 2, "r", h));
    CHANGED((void)0, nox_eip712_hash_operand_access_authorization_v2(&s, ops2, 2, "q", h));
    /* the spec 4.4 type over the same members is another hash */
    CHANGED((void)0, nox_eip712_hash_operand_access_authorization(s.chain_id, s.block_number, s.caller,
                                                                  s.transaction_hash, ops2, 2, "r", h));

    s = b;
    nox_eip712_hash_result_publishing_authorization_v2(&s, 2, dg, base);
    EACH_SCOPE_FIELD(nox_eip712_hash_result_publishing_authorization_v2(&s, 2, dg, h));
    CHANGED((void)0, nox_eip712_hash_result_publishing_authorization_v2(&s, 3, dg, h));
    CHANGED((void)0, nox_eip712_hash_result_publishing_authorization_v2(&s, 2, dg2, h));
    CHANGED((void)0, nox_eip712_hash_failure_recording_authorization(&s, 2, dg, h)); /* same members, other type */
    CHANGED((void)0, nox_eip712_hash_result_publishing_authorization(s.chain_id, s.block_number, s.caller,
                                                                     s.transaction_hash, h));

    s = b;
    nox_eip712_hash_failure_recording_authorization(&s, 2, dg, base);
    EACH_SCOPE_FIELD(nox_eip712_hash_failure_recording_authorization(&s, 2, dg, h));
    CHANGED((void)0, nox_eip712_hash_failure_recording_authorization(&s, 1, dg, h));
    CHANGED((void)0, nox_eip712_hash_failure_recording_authorization(&s, 2, dg2, h));
#undef EACH_SCOPE_FIELD
#undef CHANGED
    CU_ASSERT_EQUAL(same, 0);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"typehashes of spec §4.4", test_spec_typehashes},
        {"NoxCompute domain separator of spec §4.4", test_spec_domain_separator},
        {"domain subsets: type strings, typehashes, separators", test_domain_subsets},
        {"the protocol's domain constructors", test_protocol_domains},
        {"string and string[] encoding", test_string_and_array_encoding},
        {"struct hashes, digest and signature known answers", test_struct_hash_known_answers},
        {"sign -> recover for each of the six types", test_sign_recover_each_type},
        {"a signature binds its type, domain and chain id", test_signature_binds_type_domain_chain},
        {"every field enters its struct hash", test_every_field_counts},
        {"bound Runner types: typehashes and the version-2 domain naming the Gateway", test_bound_typehashes_and_domain},
        {"bound Runner types: struct hashes and a signature known answers", test_bound_struct_hashes},
        {"bound Runner types: every member enters the hash", test_bound_every_field_counts},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("eip712", tests);
}
