# The t-of-n threshold key (nox/threshold.h: Shamir/Feldman shares, Lagrange,
# DLEQ partials, combination, resharing) against an independent pure-Python
# secp256k1 (checked against python3-cryptography), in both directions.
nox_cross_driver(threshold_driver)
add_test(NAME cross_threshold
         COMMAND ${NOX_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/threshold.py $<TARGET_FILE:threshold_driver>)
set_tests_properties(cross_threshold PROPERTIES LABELS cross TIMEOUT 300)
