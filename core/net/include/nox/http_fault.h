/*
 * nox/http_fault.h — a refusal of a JSON HTTP peer (the KMS, the Gateway): its
 * HTTP status and error body {"error", "message"} (spec §7), cut to fit and
 * made printable. nox_kms_fault and nox_gateway_fault are this struct.
 */
#ifndef NOX_HTTP_FAULT_H
#define NOX_HTTP_FAULT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nox_http_fault {
    long http_status;  /**< e.g. 400, 401 */
    char code[64];     /**< the body's `error`, e.g. "unauthorized"; "" when the body lacks one */
    char message[256]; /**< the body's `message`; "" when absent */
} nox_http_fault;

#ifdef __cplusplus
}
#endif

#endif /* NOX_HTTP_FAULT_H */
