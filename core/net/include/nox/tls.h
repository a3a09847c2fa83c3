/*
 * nox/tls.h — the TLS settings of our servers and clients, and the checks of
 * their files at start.
 *
 * The TLS itself is libmicrohttpd's (servers, over GnuTLS), libcurl's (HTTP
 * clients) and nats.c's (NATS); certificates come from the `openssl` command
 * line (scripts/pki.sh). What is here only names the files and checks them
 * before anything listens or connects, so that a wrong file stops start-up
 * with a clear message: a certificate that does not parse, has expired or is
 * not yet valid; a key that does not parse, does not match its certificate or
 * that group or others may read (as for wallet keys); a CA file without a
 * certificate. Messages name the file, never a key's content.
 */
#ifndef NOX_TLS_H
#define NOX_TLS_H

#include <stddef.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NOX_TLS_PATH_MAX 1024

/** A server's TLS (YAML `tls: {cert_file, key_file, client_ca_file}`); all "" = plaintext. */
typedef struct nox_tls_server {
    char cert_file[NOX_TLS_PATH_MAX];      /**< PEM: the server's certificate, then any intermediates */
    char key_file[NOX_TLS_PATH_MAX];       /**< PEM private key, mode 0600 */
    char client_ca_file[NOX_TLS_PATH_MAX]; /**< PEM CA(s): "" = no client certificates; else mutual TLS */
} nox_tls_server;

/** A client's TLS towards one upstream (YAML `<upstream>_tls: {ca_file, cert_file, key_file}`). */
typedef struct nox_tls_client {
    char ca_file[NOX_TLS_PATH_MAX];   /**< PEM CA(s) that verify the server; "" = the system's trust store */
    char cert_file[NOX_TLS_PATH_MAX]; /**< PEM client certificate for mutual TLS; "" = none */
    char key_file[NOX_TLS_PATH_MAX];  /**< its PEM private key, mode 0600; set exactly when cert_file is */
} nox_tls_client;

/** 1 when the server has TLS (a certificate and key). */
int nox_tls_server_enabled(const nox_tls_server *t);

/**
 * Checks a server's files (when set): cert_file parses as PEM X.509 and is
 * valid now, key_file is a private key of mode 0600 matching it, cert_file and
 * key_file are set together, client_ca_file (needs cert_file) holds at least
 * one certificate. NOX_ERR_INVALID / NOX_ERR_IO with the file and the reason;
 * messages name the fields "<where>.cert_file" and so on (where: "tls").
 */
nox_status nox_tls_check_server(const nox_tls_server *t, const char *where, nox_error *err);

/** The same for a client: ca_file holds a certificate, cert_file and key_file (set together) match. */
nox_status nox_tls_check_client(const nox_tls_client *t, const char *where, nox_error *err);

/**
 * SHA-256 of the SubjectPublicKeyInfo (DER) of one DER certificate: what an attestation binds a
 * client certificate by (its key, not its dates or serial, so a renewed certificate on the same key
 * keeps its attestation). NOX_ERR_INVALID when der is not exactly one certificate.
 */
nox_status nox_tls_cert_key_sha256_der(const unsigned char *der, size_t len, unsigned char out[32], nox_error *err);
/** The same for the first certificate of a PEM file (checked valid now, as nox_tls_check_client does). */
nox_status nox_tls_cert_key_sha256_file(const char *path, unsigned char out[32], nox_error *err);

/**
 * Reads a PEM file for libmicrohttpd (which takes them in memory) into a new
 * NUL-terminated buffer (*out, free with nox_tls_pem_free). `secret`: a key,
 * read with the 0600 check and wiped when freed.
 */
nox_status nox_tls_read_pem(const char *path, int secret, char **out, nox_error *err);

/** Wipes (when secret) and frees a buffer of nox_tls_read_pem. */
void nox_tls_pem_free(char *pem, int secret);

#ifdef __cplusplus
}
#endif

#endif
