/*
 * nox/plugin.h — the Nox operator plugin ABI.
 *
 * This is the ABI an operator plugin is built against (with, optionally, the
 * header-only constant-time integers of nox/ctint.h). A plugin is a
 * shared object that exports exactly one symbol, `nox_plugin` (declare it with
 * NOX_PLUGIN_DEFINE). The host reads that structure *before* running any
 * plugin code, refuses the plugin when its ABI version or any struct size
 * differs from the host's, and only then calls its `init` function with a
 * table of host functions through which the plugin registers its operators.
 *
 * An operator describes itself completely (name, id, arity, accepted types,
 * output types, flags). The engine checks arity and types before it calls the
 * operator's `eval`, so `eval` only ever sees well-typed, canonical values.
 *
 * Rules for `eval` (see docs/plugins.md, "Writing an operator plugin"):
 *   - a pure function of its inputs: no I/O, no global mutable state,
 *     callable from many threads at once;
 *   - it must produce an output for *every* well-typed input: a result that
 *     depends on whether a value is "bad" would leak that value (the protocol
 *     never reverts on a value, spec §5);
 *   - no allocation on the hot path for fixed-width types;
 *   - outputs must be canonical (bits above the type width zero; bool 0 or 1).
 *
 * Versioning: any change to a structure in this file or to the meaning of a
 * field increments NOX_PLUGIN_ABI_VERSION.
 */
#ifndef NOX_PLUGIN_H
#define NOX_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version of this header. A plugin built against another version is refused at load. */
#define NOX_PLUGIN_ABI_VERSION 1u

/** First word of `nox_plugin`: lets the host tell a Nox plugin from any other .so. ("NOXP") */
#define NOX_PLUGIN_MAGIC 0x4e4f5850u

/* ------------------------------------------------------------------------ */
/* Types (spec §3): one table shared by contracts, Gateway, Runner and SDK.  */
/* ------------------------------------------------------------------------ */

/** Type codes, as carried in byte 30 of a handle. */
enum nox_type_code {
    NOX_TYPE_BOOL = 0,     /**< 1 byte, 0x00 or 0x01 */
    NOX_TYPE_ADDRESS = 1,  /**< 20 raw bytes */
    NOX_TYPE_BYTES = 2,    /**< dynamic bytes; not representable in nox_value */
    NOX_TYPE_STRING = 3,   /**< dynamic UTF-8; not representable in nox_value */
    NOX_TYPE_UINT8 = 4,    /**< uintN: code 3 + N/8, N = 8..256 */
    NOX_TYPE_UINT16 = 5,
    NOX_TYPE_UINT32 = 7,
    NOX_TYPE_UINT64 = 11,
    NOX_TYPE_UINT128 = 19,
    NOX_TYPE_UINT256 = 35,
    NOX_TYPE_INT8 = 36,    /**< intN: code 35 + N/8, N = 8..256 */
    NOX_TYPE_INT16 = 37,
    NOX_TYPE_INT32 = 39,
    NOX_TYPE_INT64 = 43,
    NOX_TYPE_INT128 = 51,
    NOX_TYPE_INT256 = 67,
    NOX_TYPE_BYTES1 = 68,  /**< bytesN: code 67 + N, N = 1..32 */
    NOX_TYPE_BYTES32 = 99,
    NOX_TYPE_UINT512 = 100,  /**< extension: wide unsigned */
    NOX_TYPE_UINT1024 = 101,
    NOX_TYPE_UINT2048 = 102,
    NOX_TYPE_INT512 = 103,   /**< extension: wide signed */
    NOX_TYPE_INT1024 = 104,
    NOX_TYPE_INT2048 = 105,
    NOX_TYPE_LAST = 105      /**< codes above are reserved and rejected */
};

/** Bits in the widest value type (uint2048). */
#define NOX_VALUE_MAX_BITS 2048
/** 64-bit limbs in a nox_value. */
#define NOX_VALUE_LIMBS (NOX_VALUE_MAX_BITS / 64)

/**
 * A plaintext value. The engine owns and fills the `type` of every input and
 * output before calling `eval`; the plugin writes the output limbs.
 *
 * `limb` holds the value's bit pattern (two's complement for signed types),
 * least significant limb first, in host integer order. Canonical form: every
 * bit at or above the type's width is zero (so int8 -1 is limb[0] == 0xff),
 * bool is 0 or 1, address and bytesN hold their bytes as a big-endian number
 * right-aligned (the on-chain word). Only the first nox_type_limbs(type) limbs
 * are meaningful; the engine does not read the rest.
 */
typedef struct nox_value {
    uint8_t type;          /**< enum nox_type_code */
    uint8_t reserved_[7];  /**< zero */
    uint64_t limb[NOX_VALUE_LIMBS];
} nox_value;

/** Width in bits of a fixed-size type; 0 for dynamic, reserved or unknown codes. */
static inline unsigned nox_type_bits(unsigned code) {
    if (code == NOX_TYPE_BOOL) return 1;
    if (code == NOX_TYPE_ADDRESS) return 160;
    if (code >= NOX_TYPE_UINT8 && code <= NOX_TYPE_UINT256) return (code - 3) * 8;
    if (code >= NOX_TYPE_INT8 && code <= NOX_TYPE_INT256) return (code - 35) * 8;
    if (code >= NOX_TYPE_BYTES1 && code <= NOX_TYPE_BYTES32) return (code - 67) * 8;
    if (code >= NOX_TYPE_UINT512 && code <= NOX_TYPE_UINT2048) return 512u << (code - NOX_TYPE_UINT512);
    if (code >= NOX_TYPE_INT512 && code <= NOX_TYPE_INT2048) return 512u << (code - NOX_TYPE_INT512);
    return 0;
}

/** Number of meaningful 64-bit limbs of a fixed-size type (0 when it has none). */
static inline unsigned nox_type_limbs(unsigned code) { return (nox_type_bits(code) + 63) / 64; }

/** 1 for int8..int256 and int512..int2048, else 0. */
static inline int nox_type_is_signed(unsigned code) {
    return (code >= NOX_TYPE_INT8 && code <= NOX_TYPE_INT256) ||
           (code >= NOX_TYPE_INT512 && code <= NOX_TYPE_INT2048);
}

/** 1 for the integer types (uint/int 8..256 and the wide extension types), else 0. */
static inline int nox_type_is_integer(unsigned code) {
    return (code >= NOX_TYPE_UINT8 && code <= NOX_TYPE_INT256) ||
           (code >= NOX_TYPE_UINT512 && code <= NOX_TYPE_INT2048);
}

/** 1 for the wide extension types (512..2048 bits), else 0. */
static inline int nox_type_is_wide(unsigned code) {
    return code >= NOX_TYPE_UINT512 && code <= NOX_TYPE_INT2048;
}

/* ------------------------------------------------------------------------ */
/* Type sets and operator signatures                                         */
/* ------------------------------------------------------------------------ */

/** A set of type codes: bit `c` of the 256-bit map is set when code `c` is a member. */
typedef struct nox_typeset {
    uint64_t bits[4];
} nox_typeset;

/** 1 when `code` is in `set`. */
static inline int nox_typeset_has(const nox_typeset *set, unsigned code) {
    return code < 256 && (int)((set->bits[code >> 6] >> (code & 63)) & 1u);
}

/** Adds `code` (< 256) to `set`. */
static inline void nox_typeset_add(nox_typeset *set, unsigned code) {
    if (code < 256) set->bits[code >> 6] |= (uint64_t)1 << (code & 63);
}

/** Adds every code in [first, last] to `set`. */
static inline void nox_typeset_add_range(nox_typeset *set, unsigned first, unsigned last) {
    for (unsigned c = first; c <= last && c < 256; c++) nox_typeset_add(set, c);
}

/** Most inputs and outputs an operator may have. */
#define NOX_MAX_ARITY 8
/** Most type variables an operator signature may use. */
#define NOX_MAX_TYPEVARS 4

/**
 * A slot (one input or output) of a signature is either a concrete type code
 * (0..255) or a type variable: NOX_SLOT_VAR(k) stands for "the type bound to
 * variable k", which must lie in the operator's `typevars[k]` set. All slots
 * naming the same variable must have the same type. A variable that appears
 * only among the outputs is bound by the caller's declared output type (the
 * result handle's type byte), e.g. for a cast.
 */
#define NOX_SLOT_VAR(k) ((uint16_t)(0x100u + (k)))
/** 1 when a slot is a type variable. */
#define NOX_SLOT_IS_VAR(s) ((s) >= 0x100u)
/** The variable index of a type-variable slot. */
#define NOX_SLOT_VAR_INDEX(s) ((unsigned)(s) - 0x100u)

/** Operator flags. */
enum nox_operator_flags {
    /** eval runs in time independent of the input values (no secret-dependent
     *  branch or memory index). Set only where the constant-time test passes. */
    NOX_OP_CONSTANT_TIME = 1u << 0,
};

/**
 * Evaluates an operator.
 *
 * @param in    n_inputs values, types already checked against the signature.
 * @param out   n_outputs values whose `type` the engine has set; write the limbs
 *              of the first nox_type_limbs(out[i].type) limbs. Not aliased with in.
 * @param data  the operator's `data` pointer, as registered.
 * @return 0. Any other value is a plugin bug: the engine reports it as an
 *         internal error of the plugin (never as a property of the values).
 */
typedef int (*nox_eval_fn)(const nox_value *in, nox_value *out, const void *data);

/**
 * An operator description, registered through nox_host.register_operator.
 * The host copies everything it needs (including the strings), so the
 * descriptor may live on the plugin's stack.
 */
typedef struct nox_operator {
    uint32_t struct_size;   /**< sizeof(nox_operator) as the plugin saw it */
    const char *name;       /**< the message `type`: [a-z][a-z0-9_]{0,62} */
    uint16_t id;            /**< operator id: the protocol's id (spec §5) for its
                                 operations, >= 64 for anything else */
    uint8_t n_inputs;       /**< 0..NOX_MAX_ARITY */
    uint8_t n_outputs;      /**< 1..NOX_MAX_ARITY */
    uint16_t inputs[NOX_MAX_ARITY];   /**< slot of each input (type code or NOX_SLOT_VAR) */
    uint16_t outputs[NOX_MAX_ARITY];  /**< slot of each output */
    const char *input_names[NOX_MAX_ARITY];  /**< message field names; NULL: the protocol's (spec §6)
                                                  for its operations, else "input i" */
    const char *output_names[NOX_MAX_ARITY]; /**< likewise for outputs */
    nox_typeset typevars[NOX_MAX_TYPEVARS];  /**< domain of each type variable used */
    uint32_t flags;         /**< enum nox_operator_flags */
    nox_eval_fn eval;       /**< the implementation; never NULL */
    const void *data;       /**< passed to eval unchanged (e.g. which op of a family) */
    const char *summary;    /**< one line for `nox-eval --list`; may be NULL */
} nox_operator;

/* ------------------------------------------------------------------------ */
/* Host interface                                                            */
/* ------------------------------------------------------------------------ */

/** Opaque host-side state of the plugin being loaded. */
typedef struct nox_plugin_ctx nox_plugin_ctx;

/** Log levels for nox_host.log. */
enum nox_log_level { NOX_LOG_ERROR = 0, NOX_LOG_WARN = 1, NOX_LOG_INFO = 2, NOX_LOG_DEBUG = 3 };

/** The functions the host offers a plugin during `init`. */
typedef struct nox_host {
    uint32_t abi_version;   /**< NOX_PLUGIN_ABI_VERSION of the host */
    uint32_t struct_size;   /**< sizeof(nox_host) of the host */

    /**
     * Registers one operator. Returns 0, or -1 when the descriptor is invalid
     * (the reason is recorded by the host and reported with the load error);
     * the plugin should then return non-zero from init.
     */
    int (*register_operator)(nox_plugin_ctx *ctx, const nox_operator *op);

    /**
     * The per-plugin option `key` from the YAML `options:` map, or NULL when
     * absent. The string stays valid until the plugin is unloaded.
     */
    const char *(*option)(nox_plugin_ctx *ctx, const char *key);

    /** Logs one line on behalf of the plugin (printf-style; no plaintexts!). */
    void (*log)(nox_plugin_ctx *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /** Records why init is failing (printf-style); shown in the load error. */
    void (*fail)(nox_plugin_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
} nox_host;

/**
 * Initialises the plugin: read options, register operators.
 * @return 0 on success; non-zero refuses the plugin (call host->fail first).
 */
typedef int (*nox_plugin_init_fn)(const nox_host *host, nox_plugin_ctx *ctx);

/**
 * The single exported symbol of a plugin. `magic` and `abi_version` come
 * first and never move, so any host can read them from any plugin.
 */
typedef struct nox_plugin_info {
    uint32_t magic;              /**< NOX_PLUGIN_MAGIC */
    uint32_t abi_version;        /**< NOX_PLUGIN_ABI_VERSION the plugin was built with */
    uint32_t info_size;          /**< sizeof(nox_plugin_info) */
    uint32_t value_size;         /**< sizeof(nox_value) */
    uint32_t operator_size;      /**< sizeof(nox_operator) */
    uint32_t host_size;          /**< sizeof(nox_host) */
    const char *name;            /**< plugin name, e.g. "arithmetic" */
    const char *version;         /**< plugin version string, e.g. "1.0.0" */
    nox_plugin_init_fn init;     /**< called once after the ABI check */
} nox_plugin_info;

/** Name of the exported symbol the host looks up. */
#define NOX_PLUGIN_SYMBOL "nox_plugin"

#if defined(__GNUC__)
#define NOX_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define NOX_PLUGIN_EXPORT
#endif

/**
 * Defines the plugin's exported symbol. Use once per shared object:
 *     NOX_PLUGIN_DEFINE("arithmetic", "1.0.0", arithmetic_init)
 */
#define NOX_PLUGIN_DEFINE(NAME, VERSION, INIT_FN)                                     \
    NOX_PLUGIN_EXPORT const nox_plugin_info nox_plugin = {                           \
        NOX_PLUGIN_MAGIC, NOX_PLUGIN_ABI_VERSION, sizeof(nox_plugin_info),           \
        sizeof(nox_value), sizeof(nox_operator), sizeof(nox_host), (NAME), (VERSION), \
        (INIT_FN)}

#ifdef __cplusplus
}
#endif

#endif /* NOX_PLUGIN_H */
