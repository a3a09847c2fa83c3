/*
 * nox/operations.h — the protocol's own operations (spec §5, §6): message
 * `type` name, operator id, and the message field names of their inputs and
 * outputs in order. Operator ids 0..63 are reserved for the protocol; a
 * plugin operator with one of these names must use exactly this id and arity,
 * and any other operator must use an id >= NOX_FIRST_EXTENSION_ID.
 */
#ifndef NOX_OPERATIONS_H
#define NOX_OPERATIONS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Smallest operator id available to extension operators. */
#define NOX_FIRST_EXTENSION_ID 64

/** One protocol operation. */
typedef struct nox_operation {
    const char *name;          /**< message `type` */
    uint16_t id;               /**< operator id */
    uint8_t n_inputs, n_outputs;
    const char *inputs[3];     /**< message field names of the inputs */
    const char *outputs[3];    /**< message field names of the outputs */
} nox_operation;

/** The protocol operation called `name`, or NULL. */
const nox_operation *nox_operation_by_name(const char *name);

/** The protocol operation with id `id`, or NULL. */
const nox_operation *nox_operation_by_id(unsigned id);

/** Number of protocol operations (they are ids 0..count-1). */
size_t nox_operation_count(void);

#ifdef __cplusplus
}
#endif

#endif /* NOX_OPERATIONS_H */
