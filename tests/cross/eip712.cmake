# EIP-712 (spec §4.4) and keccak256 against cast: byte-identical RFC 6979
# signatures for each of the six primary types, cast verifying ours, and
# `cast keccak` against ours.
nox_cross_driver(eip712_driver)
add_test(NAME cross_eip712
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/eip712.sh ${NOX_CAST} $<TARGET_FILE:eip712_driver>)
set_tests_properties(cross_eip712 PROPERTIES LABELS cross TIMEOUT 300)
