/*
 * noxctl token mint | transfer | balance — the demo ConfidentialToken
 * (contracts/src/ConfidentialToken.sol) through signed legacy transactions.
 */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/types.h"
#include "noxctl.h"

#define PROOF_SIZE 137

static const char USAGE[] =
    "usage: noxctl token mint --to ADDR --amount N --key OWNER_KEY_FILE\n"
    "       noxctl token transfer --to ADDR --amount N --key KEY_FILE\n"
    "       noxctl token balance ADDR [--key KEY_FILE]\n"
    "  common: [--rpc URL] [--token ADDR] [--gateway URL] [--compute ADDR] [--chain-id N] [--env FILE] [--json]\n";

#define MINTED "Minted(address,uint64,bytes32)"
#define TRANSFERRED "ConfidentialTransfer(address,address,bytes32,bytes32)"

/* What one token command needs. */
typedef struct token_cmd {
    noxctl_ctx ctx;
    const char *to_text, *amount_text, *key_file, *pos[1];
    size_t n_pos;
    nox_rpc *rpc;
    uint64_t chain_id;
    uint8_t token[NOX_ADDRESS_SIZE];
    nox_ec_privkey key;
    bool have_key;
    nox_error err;
} token_cmd;

static void word_address(uint8_t word[32], const uint8_t addr[NOX_ADDRESS_SIZE]) {
    memset(word, 0, 12);
    memcpy(word + 12, addr, NOX_ADDRESS_SIZE);
}

static void word_u64(uint8_t word[32], uint64_t v) {
    memset(word, 0, 24);
    for (int i = 0; i < 8; i++) word[24 + i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Connects to the node and reads the token address. */
static nox_status open_chain(token_cmd *c) {
    const char *url;
    bool have_chain;
    uint64_t want = 0;
    nox_status s;
    if ((s = noxctl_require(&c->ctx, NOXCTL_RPC, &url, &c->err)) ||
        (s = noxctl_require_address(&c->ctx, NOXCTL_TOKEN, c->token, &c->err)) ||
        (s = noxctl_chain_id(&c->ctx, &have_chain, &want, &c->err)))
        return s;
    return noxctl_rpc_open(url, have_chain ? want : 0, &c->rpc, &c->chain_id, &c->err);
}

static nox_status load_key(token_cmd *c) {
    if (nox_ec_key_load(&c->key, c->key_file, &c->err)) return nox_error_prefix(&c->err, "--key: ");
    c->have_key = true;
    return NOX_OK;
}

/* balanceOf(account) at `block` (a tag or NULL): the balance handle, possibly bytes32(0). */
static nox_status balance_of(token_cmd *c, const uint8_t account[NOX_ADDRESS_SIZE], const char *block,
                             nox_handle *h) {
    uint8_t data[36];
    noxctl_selector("balanceOf(address)", data);
    word_address(data + 4, account);
    nox_status s = noxctl_call_word(c->rpc, c->token, data, sizeof data, block, h->bytes, &c->err);
    if (s) nox_error_prefix(&c->err, "balanceOf: ");
    return s;
}

/* Prints the common part of a transaction's result; adds it to o (JSON mode). */
static void print_tx(const token_cmd *c, const noxctl_receipt *r, json_t *o) {
    char hash[67];
    nox_hex_encode(r->tx_hash, 32, hash);
    if (c->ctx.json) {
        json_object_set_new(o, "txHash", json_string(hash));
        json_object_set_new(o, "blockNumber", json_integer((json_int_t)r->block_number));
        json_object_set_new(o, "inclusionMs", json_integer((json_int_t)r->inclusion_ms));
    } else {
        printf("tx: %s\nblock: %" PRIu64 "\ninclusion: %" PRIu64 " ms\n", hash, r->block_number, r->inclusion_ms);
    }
}

/* Reads the new balance handles of accounts after block and prints them (or adds them to o's "balances"). */
static nox_status print_balances(token_cmd *c, const noxctl_receipt *r, const uint8_t (*accounts)[NOX_ADDRESS_SIZE],
                                 size_t n, json_t *o) {
    char tag[24], addr[43], htext[NOX_HANDLE_TEXT_LEN + 1];
    snprintf(tag, sizeof tag, "0x%" PRIx64, r->block_number);
    json_t *balances = json_object();
    if (!balances) return nox_error_set(&c->err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        nox_handle h;
        nox_status s = balance_of(c, accounts[i], tag, &h);
        if (s) {
            json_decref(balances);
            return s;
        }
        nox_hex_encode(accounts[i], NOX_ADDRESS_SIZE, addr);
        nox_handle_format(&h, htext);
        if (c->ctx.json) json_object_set_new(balances, addr, json_string(htext));
        else printf("balance of %s: %s\n", addr, htext);
    }
    if (c->ctx.json) json_object_set_new(o, "balances", balances);
    else json_decref(balances);
    return NOX_OK;
}

static void print_handle(const token_cmd *c, const char *name, const uint8_t h[32], json_t *o) {
    char text[NOX_HANDLE_TEXT_LEN + 1];
    nox_hex_encode(h, 32, text);
    if (c->ctx.json) json_object_set_new(o, name, json_string(text));
    else printf("%s: %s\n", name, text);
}

static nox_status parse_to_amount(token_cmd *c, uint8_t to[NOX_ADDRESS_SIZE], uint64_t *amount) {
    nox_status s = noxctl_parse_address("--to", c->to_text, to, &c->err);
    if (!s) s = noxctl_parse_u64("--amount", c->amount_text, 0, UINT64_MAX, amount, &c->err);
    return s;
}

static nox_status mint(token_cmd *c) {
    uint8_t to[NOX_ADDRESS_SIZE], data[68], success[32];
    uint64_t amount;
    noxctl_receipt r = {0};
    nox_status s;
    if ((s = parse_to_amount(c, to, &amount)) || (s = load_key(c)) || (s = open_chain(c))) return s;
    noxctl_selector("mint(address,uint64)", data);
    word_address(data + 4, to);
    word_u64(data + 36, amount);
    if ((s = noxctl_send_tx(c->rpc, c->chain_id, &c->key, c->token, data, sizeof data, &r, &c->err))) {
        nox_error_prefix(&c->err, "mint: ");
        return s;
    }
    uint8_t topic[1][32];
    word_address(topic[0], to);
    json_t *o = c->ctx.json ? json_object() : NULL;
    print_tx(c, &r, o);
    s = noxctl_log_word(r.logs, c->token, MINTED, (const uint8_t(*)[32])topic, 1, 1, success, &c->err);
    if (!s) {
        print_handle(c, "success", success, o);
        s = print_balances(c, &r, (const uint8_t(*)[NOX_ADDRESS_SIZE])&to, 1, o);
    }
    if (!s && o) noxctl_print_json(o);
    else json_decref(o);
    json_decref(r.logs);
    return s;
}

static nox_status transfer(token_cmd *c) {
    uint8_t to[NOX_ADDRESS_SIZE], from[NOX_ADDRESS_SIZE], plain[8], success[32];
    uint64_t amount;
    const char *gateway;
    nox_handle amount_handle;
    char proof_hex[2 * PROOF_SIZE + 3];
    uint8_t data[4 + 32 * 4 + 160] = {0}; /* selector, to, handle, offset, length, proof padded to 5 words */
    noxctl_receipt r = {0};
    nox_status s;
    if ((s = parse_to_amount(c, to, &amount)) || (s = load_key(c)) ||
        (s = nox_ec_key_address(&c->key, from, &c->err)) ||
        (s = noxctl_require(&c->ctx, NOXCTL_GATEWAY, &gateway, &c->err)) || (s = open_chain(c)))
        return s;
    for (int i = 0; i < 8; i++) plain[i] = (uint8_t)(amount >> (56 - 8 * i));
    s = noxctl_encrypt_bytes(gateway, NOX_TYPE_UINT64, plain, sizeof plain, from, c->token, true, c->chain_id,
                             &amount_handle, proof_hex, &c->err);
    OPENSSL_cleanse(plain, sizeof plain);
    OPENSSL_cleanse(&amount, sizeof amount);
    if (s) return nox_error_prefix(&c->err, "encrypting the amount: ");
    noxctl_selector("transfer(address,bytes32,bytes)", data);
    word_address(data + 4, to);
    memcpy(data + 36, amount_handle.bytes, 32);
    word_u64(data + 68, 0x60);
    word_u64(data + 100, PROOF_SIZE);
    if ((s = nox_hex_decode_exact(proof_hex, strlen(proof_hex), data + 132, PROOF_SIZE, &c->err))) return s;
    if ((s = noxctl_send_tx(c->rpc, c->chain_id, &c->key, c->token, data, sizeof data, &r, &c->err))) {
        nox_error_prefix(&c->err, "transfer: ");
        return s;
    }
    uint8_t topics[2][32], parties[2][NOX_ADDRESS_SIZE];
    word_address(topics[0], from);
    word_address(topics[1], to);
    memcpy(parties[0], from, NOX_ADDRESS_SIZE);
    memcpy(parties[1], to, NOX_ADDRESS_SIZE);
    json_t *o = c->ctx.json ? json_object() : NULL;
    print_tx(c, &r, o);
    print_handle(c, "amount", amount_handle.bytes, o);
    s = noxctl_log_word(r.logs, c->token, TRANSFERRED, (const uint8_t(*)[32])topics, 2, 1, success, &c->err);
    if (!s) {
        print_handle(c, "success", success, o);
        s = print_balances(c, &r, (const uint8_t(*)[NOX_ADDRESS_SIZE])parties, 2, o);
    }
    if (!s && o) noxctl_print_json(o);
    else json_decref(o);
    json_decref(r.logs);
    return s;
}

static nox_status balance(token_cmd *c) {
    uint8_t account[NOX_ADDRESS_SIZE], compute[NOX_ADDRESS_SIZE];
    const char *gateway = NULL;
    nox_handle h;
    char *value = NULL, addr[43], htext[NOX_HANDLE_TEXT_LEN + 1];
    nox_status s;
    if ((s = noxctl_parse_address("ADDR", c->pos[0], account, &c->err))) return s;
    if (c->key_file && ((s = load_key(c)) || (s = noxctl_require(&c->ctx, NOXCTL_GATEWAY, &gateway, &c->err)) ||
                        (s = noxctl_require_address(&c->ctx, NOXCTL_COMPUTE, compute, &c->err))))
        return s;
    if ((s = open_chain(c)) || (s = balance_of(c, account, NULL, &h))) return s;
    bool none = nox_handle_is_zero(&h);
    if (!none && c->key_file && (s = noxctl_decrypt_text(gateway, compute, &c->key, &h, &value, &c->err))) return s;
    nox_hex_encode(account, sizeof account, addr);
    nox_handle_format(&h, htext);
    if (c->ctx.json) {
        json_t *o = json_pack("{s:s, s:s}", "address", addr, "handle", none ? "" : htext);
        if (o && none) json_object_set_new(o, "handle", json_null());
        noxctl_print_json_value(o, value);
    } else if (none) {
        printf("%s: no balance yet\n", addr);
    } else {
        printf("handle: %s\n", htext);
        if (value) printf("value: %s\n", value);
    }
    fflush(stdout);
    noxctl_wipe_text(value);
    return NOX_OK;
}

int noxctl_token(int argc, char **argv) {
    if (argc < 2) {
        fputs(USAGE, stderr);
        return 2;
    }
    const char *sub = argv[1];
    token_cmd c;
    memset(&c, 0, sizeof c);
    noxctl_opt opts[] = {{"--to", &c.to_text, NULL},
                         {"--amount", &c.amount_text, NULL},
                         {"--key", &c.key_file, NULL},
                         {NULL, NULL, NULL}};
    bool is_balance = !strcmp(sub, "balance");
    if (!is_balance && strcmp(sub, "mint") && strcmp(sub, "transfer"))
        return noxctl_usage(USAGE, "unknown token command '%s'", sub);
    int rc = noxctl_parse(&c.ctx, argc - 2, argv + 2, opts, c.pos, is_balance ? 1 : 0, &c.n_pos, USAGE);
    if (rc) return rc;
    if (is_balance && (c.n_pos != 1 || c.to_text || c.amount_text)) {
        noxctl_ctx_free(&c.ctx);
        return noxctl_usage(USAGE, "token balance takes an ADDR and an optional --key");
    }
    if (!is_balance && (!c.to_text || !c.amount_text || !c.key_file)) {
        noxctl_ctx_free(&c.ctx);
        return noxctl_usage(USAGE, "token %s needs --to, --amount and --key", sub);
    }
    nox_status s = is_balance ? balance(&c) : !strcmp(sub, "mint") ? mint(&c) : transfer(&c);
    if (c.have_key) nox_ec_key_wipe(&c.key);
    nox_rpc_free(c.rpc);
    noxctl_ctx_free(&c.ctx);
    return s ? noxctl_fail("%s", c.err.message) : 0;
}
