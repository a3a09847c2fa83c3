/* The protocol's operations, spec §5 (ids, semantics) and §6 (field names). */
#include "nox/operations.h"

#include <string.h>

#define BIN(NAME, ID) {NAME, ID, 2, 1, {"leftHandOperand", "rightHandOperand"}, {"result"}}
#define SAFE(NAME, ID) {NAME, ID, 2, 2, {"leftHandOperand", "rightHandOperand"}, {"success", "result"}}

static const nox_operation operations[] = {
    {"plaintext_to_encrypted", 0, 0, 1, {0}, {"handle"}},
    BIN("add", 1), BIN("sub", 2), BIN("mul", 3), BIN("div", 4),
    SAFE("safe_add", 5), SAFE("safe_sub", 6), SAFE("safe_mul", 7), SAFE("safe_div", 8),
    {"select", 9, 3, 1, {"condition", "ifTrue", "ifFalse"}, {"result"}},
    BIN("eq", 10), BIN("ne", 11), BIN("lt", 12), BIN("le", 13), BIN("gt", 14), BIN("ge", 15),
    {"transfer", 16, 3, 3, {"balanceFrom", "balanceTo", "amount"}, {"success", "newBalanceFrom", "newBalanceTo"}},
    {"mint", 17, 3, 3, {"balanceTo", "amount", "totalSupply"}, {"success", "newBalanceTo", "newTotalSupply"}},
    {"burn", 18, 3, 3, {"balanceFrom", "amount", "totalSupply"}, {"success", "newBalanceFrom", "newTotalSupply"}},
};

enum { N_OPERATIONS = sizeof operations / sizeof operations[0] };

const nox_operation *nox_operation_by_name(const char *name) {
    for (size_t i = 0; i < N_OPERATIONS; i++)
        if (!strcmp(operations[i].name, name)) return &operations[i];
    return NULL;
}

const nox_operation *nox_operation_by_id(unsigned id) { return id < N_OPERATIONS ? &operations[id] : NULL; }

size_t nox_operation_count(void) { return N_OPERATIONS; }
