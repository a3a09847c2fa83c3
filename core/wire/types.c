/* The type table of spec §3: names <-> codes, plaintext sizes. */
#include "nox/types.h"

#include <string.h>

/* Index = type code. Generated once from the rules of spec §3; checked by test_types. */
static const char *const type_names[NOX_TYPE_LAST + 1] = {
    "bool", "address", "bytes", "string", "uint8", "uint16", "uint24", "uint32", "uint40",
    "uint48", "uint56", "uint64", "uint72", "uint80", "uint88", "uint96", "uint104", "uint112",
    "uint120", "uint128", "uint136", "uint144", "uint152", "uint160", "uint168", "uint176",
    "uint184", "uint192", "uint200", "uint208", "uint216", "uint224", "uint232", "uint240",
    "uint248", "uint256", "int8", "int16", "int24", "int32", "int40", "int48", "int56", "int64",
    "int72", "int80", "int88", "int96", "int104", "int112", "int120", "int128", "int136", "int144",
    "int152", "int160", "int168", "int176", "int184", "int192", "int200", "int208", "int216",
    "int224", "int232", "int240", "int248", "int256", "bytes1", "bytes2", "bytes3", "bytes4",
    "bytes5", "bytes6", "bytes7", "bytes8", "bytes9", "bytes10", "bytes11", "bytes12", "bytes13",
    "bytes14", "bytes15", "bytes16", "bytes17", "bytes18", "bytes19", "bytes20", "bytes21",
    "bytes22", "bytes23", "bytes24", "bytes25", "bytes26", "bytes27", "bytes28", "bytes29",
    "bytes30", "bytes31", "bytes32", "uint512", "uint1024", "uint2048", "int512", "int1024",
    "int2048",
};

const char *nox_type_name(unsigned code) {
    return code <= NOX_TYPE_LAST ? type_names[code] : NULL;
}

nox_status nox_type_from_name(const char *name, uint8_t *code, nox_error *err) {
    for (unsigned c = 0; c <= NOX_TYPE_LAST; c++) {
        if (strcmp(type_names[c], name) == 0) {
            *code = (uint8_t)c;
            return NOX_OK;
        }
    }
    return nox_error_set(err, NOX_ERR_TYPE,
                         "unknown type '%.64s' (expected bool, address, uint8..uint256, int8..int256 "
                         "in steps of 8, bytes1..bytes32, bytes, string, uint512/1024/2048 or "
                         "int512/1024/2048)",
                         name);
}

int nox_type_is_known(unsigned code) { return code <= NOX_TYPE_LAST; }

int nox_type_is_fixed(unsigned code) { return nox_type_bits(code) != 0; }

size_t nox_type_size(unsigned code) {
    unsigned bits = nox_type_bits(code);
    return code == NOX_TYPE_BOOL ? 1 : bits / 8;
}

nox_status nox_type_check_code(unsigned code, nox_error *err) {
    if (code > NOX_TYPE_LAST)
        return nox_error_set(err, NOX_ERR_TYPE, "type code %u is reserved (known codes are 0..%u)", code,
                             (unsigned)NOX_TYPE_LAST);
    return NOX_OK;
}
