/*
 * nox/config_net.h — the configuration blocks every networked service shares
 * (NATS servers and credentials, TLS server and client maps), read through
 * nox/config.h so their errors carry file:line:col.
 */
#ifndef NOX_CONFIG_NET_H
#define NOX_CONFIG_NET_H

#include <stddef.h>

#include "nox/config.h"
#include "nox/error.h"
#include "nox/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * An optional TLS server map under `key` ({cert_file, key_file, client_ca_file}; paths relative to the
 * file) into *out (all "" when absent), its files checked now (nox_tls_check_server). NOX_ERR_CONFIG at
 * the map's position naming the field and what is wrong.
 */
nox_status nox_cfg_get_tls_server(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key,
                                  nox_tls_server *out, nox_error *err);

/** The same for a client's TLS towards an upstream ({ca_file, cert_file, key_file}; nox_tls_check_client). */
nox_status nox_cfg_get_tls_client(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key,
                                  nox_tls_client *out, nox_error *err);

/**
 * The NATS servers of a `nats` map: `url` (one URL) or `urls` (a list, for failover: a service starts when
 * any of them answers and moves to another when its server goes), not both; each nats:// or tls://. Written
 * to out[cap] comma-separated, as nats.c takes them. Neither: dflt (NULL = required). NOX_ERR_CONFIG with
 * file:line:col.
 */
nox_status nox_cfg_get_nats_urls(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *where, const char *dflt,
                                 char *out, size_t cap, nox_error *err);

/**
 * A required file path under `key` (as nox_cfg_get_path) naming NATS credentials:
 * the file is read and checked now (nox/nkey.h: a regular file of mode 0600
 * holding a NATS user nkey seed), so that a wrong one stops start-up with the
 * value's position and what is wrong, before any key is created or connection made.
 */
nox_status nox_cfg_get_nats_credentials(const nox_cfg_doc *doc, const nox_cfg_node *map, const char *key,
                                        const char *where, char *out, size_t cap, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_CONFIG_NET_H */
