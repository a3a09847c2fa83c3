/*
 * noxctl's view of the contracts' ABI: the tables gen_abi.py generates at build time from the compiled
 * contracts (every custom error, NoxCompute's events), and a strict decoder of
 * ABI-encoded values for revert data and event logs (abi.c).
 */
#ifndef NOXCTL_ABI_H
#define NOXCTL_ABI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"

/** One parameter of an error or an event: its name, its canonical type, and for events its flags. */
typedef struct noxctl_abi_param {
    const char *name;
    const char *type;       /* a type gen_abi.py lets through: elementary, elementary[] or [k], bytes, string */
    unsigned char indexed;  /* an event's topic */
    unsigned char output;   /* an event's output: the same-named function returns a value of this name */
} noxctl_abi_param;

/** An error or an event: "UnknownOperator", "UnknownOperator(uint16)", its parameters. */
typedef struct noxctl_abi_entry {
    const char *name;
    const char *signature;
    size_t n_params;
    const noxctl_abi_param *params;
} noxctl_abi_entry;


/* generated (noxctl_abi_tables.c) */
extern const noxctl_abi_entry noxctl_abi_errors[];  /* every contract's custom errors, deduplicated */
extern const size_t noxctl_abi_n_errors;
extern const noxctl_abi_entry noxctl_abi_events[];  /* NoxCompute's events */
extern const size_t noxctl_abi_n_events;
/** The event of NoxCompute whose topic0 is `topic0`, or NULL. */
const noxctl_abi_entry *noxctl_abi_event(const uint8_t topic0[32]);

/** A growable text; on allocation failure `oom` is set and later additions are dropped. */
typedef struct noxctl_text {
    char *p;
    size_t len, cap;
    bool oom;
} noxctl_text;

void noxctl_text_add(noxctl_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** The text so far ("" when empty or out of memory). */
const char *noxctl_text_str(const noxctl_text *t);
void noxctl_text_free(noxctl_text *t);

/** Bytes a value of `type` takes in the head of a tuple: 32, or 32 * k for a static array T[k]. */
size_t noxctl_abi_head_size(const char *type);

/**
 * Decodes one value of `type` whose head is args[head..]; the offsets of dynamic values count from args[0]
 * (the start of the tuple). Strict: short data, out-of-range offsets and lengths, and non-zero padding are
 * NOX_ERR_INVALID saying which. Appends the value's text to *text (addresses and bytes as lower-case 0x hex,
 * integers in decimal, bool as true/false, strings quoted with control characters escaped, arrays as
 * "[a, b]") and, when json is not NULL, sets *json to a new JSON value (integers below 2^53 as numbers,
 * others as decimal strings).
 */
nox_status noxctl_abi_value(const char *type, const uint8_t *args, size_t len, size_t head, noxctl_text *text,
                            json_t **json, nox_error *err);

/**
 * Decodes revert data: a custom error of the contracts, Solidity's Error(string) or Panic(uint256) (with
 * the meaning of its code). On NOX_OK *text gets "Name(arg, ...)" and, when json is not NULL, *json an object
 * {selector, error, signature, args: [{name, type, value}]} (Panic also "meaning"). NOX_ERR_NOT_FOUND for
 * a selector none of them has (text: "unknown error 0x12345678 (N bytes of arguments)"); NOX_ERR_INVALID
 * for data shorter than a selector or arguments that do not decode (err says where).
 */
nox_status noxctl_abi_decode_error(const uint8_t *data, size_t len, noxctl_text *text, json_t **json,
                                   nox_error *err);

/**
 * A readable form of revert data given as `0x` hex (a JSON-RPC error's data) for messages: the decoded
 * error, "unknown error 0x…", "malformed revert data (...)" or "no revert data".
 */
void noxctl_describe_revert(const char *data_hex, char *out, size_t cap);

#endif
