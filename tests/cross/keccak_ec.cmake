add_test(NAME cross_keccak_ec
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/keccak_ec.sh $<TARGET_FILE:noxctl> ${NOX_CAST})
set_tests_properties(cross_keccak_ec PROPERTIES LABELS cross TIMEOUT 300)
