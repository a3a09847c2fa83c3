# ECIES (spec §4.1), RSA-OAEP with SPKI keys and decryption delegation (spec §4.2)
# against Python's `cryptography` (Debian python3-cryptography, in both directions).
nox_cross_driver(ecies_rsa_driver)
add_test(NAME cross_ecies_rsa
         COMMAND ${NOX_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/ecies_rsa.py $<TARGET_FILE:ecies_rsa_driver>)
set_tests_properties(cross_ecies_rsa PROPERTIES LABELS cross TIMEOUT 300)
