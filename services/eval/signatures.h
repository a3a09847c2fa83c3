/*
 * nox-eval's machine-readable modes over the engine's operator descriptors:
 *
 *   --signatures    every loaded operator's implementations as JSON — what
 *                   contracts/register_operators.py registers in NoxCompute;
 *   --check-types   answers, line by line, whether nox_op_resolve accepts a
 *                   call's input and output types — the oracle of the
 *                   contract-vs-engine conformance test (tests/contracts).
 */
#ifndef NOX_EVAL_SIGNATURES_H
#define NOX_EVAL_SIGNATURES_H

#include <stdio.h>

#include "nox/engine.h"

/**
 * Prints every operator of `engine` (sorted by id) as one JSON document:
 *
 *   {"operators": [
 *    {"id": 64, "name": "min", "nInputs": 2, "nOutputs": 1, "implementations": [
 *      {"plugin": "minmax", "inputs": [256, 256], "outputs": [256],
 *       "typeSets": ["0x<64 hex>", "0x<64 hex>", "0x<64 hex>", "0x<64 hex>"]}]},
 *    ...]}
 *
 * Slots are the descriptor's (nox/plugin.h): a type code 0..255, or
 * 256 + k for type variable k. typeSets[k] is variable k's nox_typeset as a
 * 256-bit number (bit c set when code c is a member), zero for a variable no
 * slot of the implementation uses. Implementations are in the engine's order
 * (the order nox_op_resolve tries them). Returns 0, or 1 on a write error.
 */
int eval_print_signatures(const nox_engine *engine, FILE *out);

/**
 * Reads lines "ID IN,IN,... -> OUT,OUT,..." from `in` and answers each with one
 * line on `out`: "ok OUT,OUT,..." (the resolved output type codes) when
 * nox_op_resolve accepts the types, "refused: REASON" when it does not, and
 * "error: REASON" for a line that does not parse. Types are decimal codes
 * 0..255 or names (uint64); an output may be "?" (NOX_TYPE_INFER: let the
 * engine infer it). A declared output code 106..255 is refused before
 * resolving, as the Runner refuses a result handle with a reserved type code
 * when it parses the message (255 would otherwise read as "infer"). An empty
 * input or output list is written "-". Returns 0, or 1 when a line was an
 * error.
 */
int eval_check_types(const nox_engine *engine, FILE *in, FILE *out);

#endif /* NOX_EVAL_SIGNATURES_H */
