# Signed queue messages (docs/PROTOCOL-EXTENSIONS.md §8) against cast: the digest rebuilt with `cast keccak`,
# byte-identical RFC 6979 signatures, cast verifying ours, on random keys, fields and bodies.
nox_cross_driver(queue_sig_driver)
add_test(NAME cross_queue_signature
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/queue_signature.sh ${NOX_CAST} $<TARGET_FILE:queue_sig_driver>
                 $<TARGET_FILE:noxctl>)
set_tests_properties(cross_queue_signature PROPERTIES LABELS cross TIMEOUT 300)
