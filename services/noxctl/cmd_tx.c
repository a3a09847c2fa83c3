/*
 * noxctl tx TXHASH [--json] — what a transaction did in Nox: every event NoxCompute emitted in it (the
 * events of its ABI, generated at build time: abi.h), each with its caller, its inputs and its output
 * handles with their types and their status at the Gateway; a reverted transaction with its decoded
 * revert reason (the call re-run with eth_call at the transaction's block).
 * Exit status: 0 the transaction succeeded, 1 it reverted or could not be looked up, 2 bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "nox/engine.h"
#include "nox/hex.h"
#include "nox/types.h"
#include "noxctl.h"

static const char USAGE[] =
    "usage: noxctl tx TXHASH [--json]\n"
    "  common: [--rpc URL] [--compute ADDR] [--gateway URL] [--chain-id N] [--cacert FILE] [--env FILE]\n"
    "  [--operators FILE]  the operators.yaml the Runners load (else NOX_OPERATORS_CONFIG, which the devnet's\n"
    "                      env file sets): names the operator of each Compute event\n";

typedef struct tx_cmd {
    noxctl_ctx ctx;
    char hash[67];
    const char *gateway; /* NULL: no output status looked up */
    uint8_t compute[NOX_ADDRESS_SIZE];
    nox_rpc *rpc;
    bool gateway_down;   /* the Gateway could not be reached once: not asked again */
    nox_engine *names;   /* the operators file's engine, for Compute's operator names; NULL without one */
    char names_error[NOX_ERROR_MAX + 32];
    char gateway_error[NOX_ERROR_MAX];
    nox_error err;
} tx_cmd;

/* The name of operator `id` in the operators file, or NULL. */
static const char *operator_name(const tx_cmd *c, unsigned id) {
    for (size_t i = 0; c->names && i < nox_engine_op_count(c->names); i++)
        if (nox_op_id(nox_engine_op_at(c->names, i)) == id) return nox_op_name(nox_engine_op_at(c->names, i));
    return NULL;
}

/* Loads the operators file when one is configured; a file that does not load leaves a note, not a failure. */
static void load_names(tx_cmd *c) {
    const char *path = NULL;
    nox_error err = {0};
    if (noxctl_lookup(&c->ctx, NOXCTL_OPERATORS, &path, &err) || !path) return;
    if (!(c->names = nox_engine_new())) return;
    if (nox_engine_load_config(c->names, path, &err)) {
        snprintf(c->names_error, sizeof c->names_error, "operator names unknown: %s", err.message);
        nox_engine_free(c->names);
        c->names = NULL;
    }
}

/* "uint64", or "reserved(200)" for a type code the protocol does not define. */
static const char *handle_type(const uint8_t h[32], char buf[24]) {
    const char *name = nox_type_name(h[30]);
    if (name) return name;
    snprintf(buf, 24, "reserved(%u)", h[30]);
    return buf;
}

/* Adds output handle h named `name` to outputs, with its status at the Gateway when there is one. */
static void add_output(tx_cmd *c, json_t *outputs, const char *name, const uint8_t h[32]) {
    char htext[67], tbuf[24], url[2048], path[128], reason[512] = "";
    nox_hex_encode(h, 32, htext);
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "handle", htext, "type", handle_type(h, tbuf));
    if (!o) return;
    if (!c->gateway) {
        json_object_set_new(o, "status", json_null());
    } else if (c->gateway_down) { /* said once, in the note */
        json_object_set_new(o, "status", json_string("unknown"));
    } else {
        const char *state = NULL;
        nox_error err = {0};
        snprintf(path, sizeof path, "/v0/handles/%s/status", htext);
        nox_status s = noxctl_url(url, sizeof url, c->gateway, path, &err);
        if (!s) s = noxctl_handle_status(url, htext, &state, reason, sizeof reason, &err);
        if (s) {
            if (s == NOX_ERR_IO || s == NOX_ERR_INVALID) {
                c->gateway_down = true;
                snprintf(c->gateway_error, sizeof c->gateway_error, "%s", err.message);
            }
            json_object_set_new(o, "status", json_string("unknown"));
            json_object_set_new(o, "reason", json_string(err.message));
        } else {
            json_object_set_new(o, "status", json_string(state));
            if (!strcmp(state, "failed")) json_object_set_new(o, "reason", json_string(reason));
        }
    }
    json_array_append_new(outputs, o);
}

/* Decodes a `0x` hex JSON string into a malloc'd buffer. */
static nox_status hex_field(const json_t *v, const char *what, uint8_t **out, size_t *len, nox_error *err) {
    const char *text = json_string_value(v);
    size_t n = text ? strlen(text) : 0;
    *out = NULL;
    *len = 0;
    if (!text) return nox_error_set(err, NOX_ERR_INVALID, "%s is missing", what);
    if (n > 2 && !(*out = malloc(n / 2))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    if (nox_hex_decode(text, n, *out, n / 2, len, err)) {
        free(*out);
        *out = NULL;
        return nox_error_prefix(err, "%s: ", what);
    }
    return NOX_OK;
}

/*
 * One of NoxCompute's logs as an event object: {name, operatorId?, operator?, caller, inputs, outputs, log};
 * NULL when out of memory. A log that does not decode keeps its name and gets an "error".
 */
static json_t *decode_log(tx_cmd *c, const json_t *log) {
    json_t *ev = json_object(), *inputs = json_object(), *outputs = json_array();
    const json_t *topics = json_object_get(log, "topics");
    uint8_t t[NOX_RPC_MAX_TOPICS][32], *data = NULL;
    size_t n_topics = json_array_size(topics), len = 0;
    uint64_t index = 0;
    nox_error err = {0};
    nox_status s = NOX_OK;
    const char *li = json_string_value(json_object_get(log, "logIndex"));
    if (!ev || !inputs || !outputs) {
        json_decref(ev);
        json_decref(inputs);
        json_decref(outputs);
        return NULL;
    }
    if (li && !nox_rpc_parse_quantity(li, &index, NULL)) json_object_set_new(ev, "log", json_integer((json_int_t)index));
    if (n_topics < 1 || n_topics > NOX_RPC_MAX_TOPICS)
        s = nox_error_set(&err, NOX_ERR_INVALID, "a log with %zu topics", n_topics);
    for (size_t i = 0; !s && i < n_topics; i++) {
        const char *ts = json_string_value(json_array_get(topics, i));
        s = nox_hex_decode_exact(ts ? ts : "", ts ? strlen(ts) : 0, t[i], 32, &err);
    }
    if (!s) s = hex_field(json_object_get(log, "data"), "the log's data", &data, &len, &err);
    const noxctl_abi_entry *e = s ? NULL : noxctl_abi_event(t[0]);
    if (!s && !e) {
        char topic0[67];
        json_object_set_new(ev, "name", json_string("unknown"));
        json_object_set_new(ev, "topic0", json_string(nox_hex_encode(t[0], 32, topic0)));
        s = nox_error_set(&err, NOX_ERR_NOT_FOUND, "no event of NoxCompute's ABI has this topic0");
    }
    if (e) {
        json_object_set_new(ev, "name", json_string(e->name));
        size_t indexed = 0, head = 0;
        for (size_t i = 0; i < e->n_params; i++) indexed += e->params[i].indexed;
        if (indexed + 1 != n_topics)
            s = nox_error_set(&err, NOX_ERR_INVALID, "%zu topics, not the %zu of %s", n_topics, indexed + 1,
                              e->signature);
        for (size_t i = 0, k = 1; !s && i < e->n_params; i++) {
            const noxctl_abi_param *p = &e->params[i];
            noxctl_text text = {0};
            json_t *v = NULL;
            /* an indexed dynamic value is only its keccak256 in the topic */
            bool hashed = strchr(p->type, '[') || !strcmp(p->type, "bytes") || !strcmp(p->type, "string");
            if (p->indexed) s = noxctl_abi_value(hashed ? "bytes32" : p->type, t[k++], 32, 0, &text, &v, &err);
            else {
                s = noxctl_abi_value(p->type, data, len, head, &text, &v, &err);
                head += noxctl_abi_head_size(p->type);
            }
            noxctl_text_free(&text);
            if (s) {
                nox_error_prefix(&err, "%s: %s (%s): ", e->signature, p->name, p->type);
                break;
            }
            bool is_handle = !strcmp(p->type, "bytes32"), is_handles = !strcmp(p->type, "bytes32[]");
            if (!strcmp(p->name, "caller") && !strcmp(p->type, "address")) {
                json_object_set_new(ev, "caller", v);
            } else if (!strcmp(p->name, "operatorId") && json_is_integer(v)) {
                const char *name = operator_name(c, (unsigned)json_integer_value(v));
                json_object_set_new(ev, "operatorId", v);
                if (name) json_object_set_new(ev, "operator", json_string(name));
            } else if (p->output && (is_handle || is_handles)) {
                uint8_t h[32];
                char name[96];
                for (size_t j = 0; j < (is_handle ? 1 : json_array_size(v)); j++) {
                    const char *hv = json_string_value(is_handle ? v : json_array_get(v, j));
                    if (is_handles) snprintf(name, sizeof name, "%s[%zu]", p->name, j);
                    if (hv && !nox_hex_decode_exact(hv, strlen(hv), h, 32, NULL))
                        add_output(c, outputs, is_handle ? p->name : name, h);
                }
                json_decref(v);
            } else if (is_handles) { /* Compute's inputs: inputs[0], inputs[1], ... */
                char name[96];
                for (size_t j = 0; j < json_array_size(v); j++) {
                    snprintf(name, sizeof name, "%s[%zu]", p->name, j);
                    json_object_set(inputs, name, json_array_get(v, j));
                }
                json_decref(v);
            } else {
                json_object_set_new(inputs, p->name, v);
            }
        }
    }
    json_object_set_new(ev, "inputs", inputs);
    json_object_set_new(ev, "outputs", outputs);
    if (s) json_object_set_new(ev, "error", json_string(err.message));
    free(data);
    return ev;
}

/* A JSON value as text: strings as they are, numbers in decimal, arrays and objects compact. */
static void print_value(const json_t *v) {
    if (json_is_string(v)) fputs(json_string_value(v), stdout);
    else if (json_is_integer(v)) printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_boolean(v)) fputs(json_is_true(v) ? "true" : "false", stdout);
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(s ? s : "?", stdout);
        free(s);
    }
}

static void print_text(const tx_cmd *c, const json_t *o) {
    const json_t *events = json_object_get(o, "events"), *ev;
    const char *revert = json_string_value(json_object_get(json_object_get(o, "revert"), "reason"));
    size_t i;
    printf("tx: %s\nblock: %" JSON_INTEGER_FORMAT "\nstatus: %s\n", c->hash,
           json_integer_value(json_object_get(o, "block")), json_string_value(json_object_get(o, "status")));
    if (json_is_string(json_object_get(o, "from")))
        printf("from: %s\n", json_string_value(json_object_get(o, "from")));
    if (json_is_string(json_object_get(o, "to"))) printf("to: %s\n", json_string_value(json_object_get(o, "to")));
    if (revert) printf("revert: %s\n", revert);
    printf("NoxCompute %s events: %zu\n", json_string_value(json_object_get(o, "noxCompute")), json_array_size(events));
    json_array_foreach(events, i, ev) {
        const json_t *op = json_object_get(ev, "operatorId"), *log = json_object_get(ev, "log");
        printf("\nevent %zu: %s", i + 1, json_string_value(json_object_get(ev, "name")));
        if (json_is_integer(op)) {
            const char *name = json_string_value(json_object_get(ev, "operator"));
            printf(" operator %" JSON_INTEGER_FORMAT " (%s)", json_integer_value(op), name ? name : "name unknown");
        }
        if (json_is_integer(log)) printf(" (log index %" JSON_INTEGER_FORMAT ")", json_integer_value(log));
        putchar('\n');
        if (json_object_get(ev, "topic0")) printf("  topic0: %s\n", json_string_value(json_object_get(ev, "topic0")));
        if (json_object_get(ev, "caller")) printf("  caller: %s\n", json_string_value(json_object_get(ev, "caller")));
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)json_object_get(ev, "inputs"), key, v) {
            printf("  input %s: ", key);
            print_value(v);
            putchar('\n');
        }
        size_t j;
        json_array_foreach(json_object_get(ev, "outputs"), j, v) {
            const char *st = json_string_value(json_object_get(v, "status"));
            const char *reason = json_string_value(json_object_get(v, "reason"));
            printf("  output %s: %s (%s)", json_string_value(json_object_get(v, "name")),
                   json_string_value(json_object_get(v, "handle")), json_string_value(json_object_get(v, "type")));
            if (st) printf(" %s%s%s", st, reason ? ": " : "", reason ? reason : "");
            putchar('\n');
        }
        if (json_object_get(ev, "error")) printf("  error: %s\n", json_string_value(json_object_get(ev, "error")));
    }
    const json_t *other = json_object_get(o, "otherLogs");
    if (json_integer_value(other)) printf("\n(%" JSON_INTEGER_FORMAT " log(s) of other contracts not shown)\n",
                                          json_integer_value(other));
    if (json_object_get(o, "note")) printf("\nnote: %s\n", json_string_value(json_object_get(o, "note")));
    if (json_object_get(o, "operatorsNote"))
        printf("note: %s\n", json_string_value(json_object_get(o, "operatorsNote")));
}

/* 1 when the `0x` hex text is the address a. */
static bool is_address(const char *text, const uint8_t a[NOX_ADDRESS_SIZE]) {
    uint8_t b[NOX_ADDRESS_SIZE];
    return text && !nox_hex_decode_exact(text, strlen(text), b, sizeof b, NULL) && !memcmp(a, b, sizeof b);
}

static int run(tx_cmd *c) {
    const char *url;
    bool have_chain;
    uint64_t want = 0, chain_id, block = 0;
    nox_status s;
    if ((s = noxctl_require(&c->ctx, NOXCTL_RPC, &url, &c->err)) ||
        (s = noxctl_require_address(&c->ctx, NOXCTL_COMPUTE, c->compute, &c->err)) ||
        (s = noxctl_lookup(&c->ctx, NOXCTL_GATEWAY, &c->gateway, &c->err)) ||
        (s = noxctl_chain_id(&c->ctx, &have_chain, &want, &c->err)) ||
        (s = noxctl_rpc_open(url, have_chain ? want : 0, &c->rpc, &chain_id, &c->err)))
        return noxctl_fail("%s", c->err.message);
    json_t *receipt = NULL, *pending = NULL;
    if ((s = nox_rpc_call(c->rpc, "eth_getTransactionReceipt", json_pack("[s]", c->hash), &receipt, NULL, &c->err)))
        return noxctl_fail("eth_getTransactionReceipt: %s", c->err.message);
    if (!json_is_object(receipt)) {
        json_decref(receipt);
        s = nox_rpc_call(c->rpc, "eth_getTransactionByHash", json_pack("[s]", c->hash), &pending, NULL, &c->err);
        bool known = !s && json_is_object(pending);
        json_decref(pending);
        if (s) return noxctl_fail("eth_getTransactionByHash: %s", c->err.message);
        if (known) return noxctl_fail("transaction %s is pending: it is in no block yet", c->hash);
        return noxctl_fail("unknown transaction %s: the node at %s has no transaction of that hash", c->hash,
                           nox_rpc_display_url(c->rpc));
    }
    const char *status = json_string_value(json_object_get(receipt, "status"));
    const char *block_hex = json_string_value(json_object_get(receipt, "blockNumber"));
    const json_t *logs = json_object_get(receipt, "logs");
    if (!status || !block_hex || nox_rpc_parse_quantity(block_hex, &block, NULL) || !json_is_array(logs)) {
        json_decref(receipt);
        return noxctl_fail("the receipt of %s has no status, block number or logs", c->hash);
    }
    bool ok = !strcmp(status, "0x1");
    json_t *from = json_object_get(receipt, "from"), *to = json_object_get(receipt, "to");
    json_t *o = json_pack("{s:s, s:I, s:s, s:O, s:O, s:[]}", "tx", c->hash, "block", (json_int_t)block, "status",
                          ok ? "success" : "reverted", "from", from ? from : json_null(), "to", to ? to : json_null(),
                          "events");
    if (!o) {
        json_decref(receipt);
        return noxctl_fail("out of memory");
    }
    char why[1024] = "";
    if (!ok) {
        char *data_hex = NULL;
        if (noxctl_revert_reason(c->rpc, c->hash, block_hex, &data_hex, why, sizeof why, &c->err))
            snprintf(why, sizeof why, "reason unknown (%s)", c->err.message);
        json_object_set_new(o, "revert", json_pack("{s:s, s:s?}", "reason", why, "data", data_hex));
        free(data_hex);
    }
    json_t *events = json_object_get(o, "events"), *log;
    size_t i, other = 0;
    json_array_foreach(logs, i, log) {
        if (!is_address(json_string_value(json_object_get(log, "address")), c->compute)) {
            other++;
            continue;
        }
        json_t *ev = decode_log(c, log);
        if (ev) json_array_append_new(events, ev);
    }
    char compute_hex[43];
    json_object_set_new(o, "noxCompute", json_string(nox_hex_encode(c->compute, NOX_ADDRESS_SIZE, compute_hex)));
    json_object_set_new(o, "otherLogs", json_integer((json_int_t)other));
    if (c->names_error[0]) json_object_set_new(o, "operatorsNote", json_string(c->names_error));
    if (!c->gateway)
        json_object_set_new(o, "note", json_string("no Gateway configured (--gateway URL, NOX_GATEWAY_URL): the "
                                                   "outputs' status was not looked up"));
    else if (c->gateway_down) {
        char note[NOX_ERROR_MAX + 64];
        snprintf(note, sizeof note, "the Gateway could not be asked for the outputs' status: %s", c->gateway_error);
        json_object_set_new(o, "note", json_string(note));
    }
    if (c->ctx.json) {
        json_incref(o);
        noxctl_print_json(o);
    } else {
        print_text(c, o);
    }
    fflush(stdout);
    json_decref(o);
    json_decref(receipt);
    return ok ? 0 : noxctl_fail("transaction %s reverted in block %" PRIu64 ": %s", c->hash, block, why);
}

int noxctl_tx(int argc, char **argv) {
    tx_cmd c;
    memset(&c, 0, sizeof c);
    const char *pos[1];
    size_t n_pos;
    int rc = noxctl_parse(&c.ctx, argc - 1, argv + 1, NULL, pos, 1, &n_pos, USAGE);
    if (rc) return rc;
    uint8_t hash[32];
    nox_error err = {0};
    if (n_pos != 1) rc = noxctl_usage(USAGE, "tx needs a TXHASH");
    else if (nox_hex_decode_exact(pos[0], strlen(pos[0]), hash, sizeof hash, &err))
        rc = noxctl_usage(USAGE, "TXHASH: a transaction hash is 0x + 64 hex digits: %s", err.message);
    else {
        nox_hex_encode(hash, sizeof hash, c.hash);
        load_names(&c);
        rc = run(&c);
    }
    nox_engine_free(c.names);
    nox_rpc_free(c.rpc);
    noxctl_ctx_free(&c.ctx);
    return rc;
}
