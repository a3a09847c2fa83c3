/* NATS (nats.c) helpers shared by nox-ingestor, nox-runner and nox-bench. */
#ifndef NOX_NATS_UTIL_H
#define NOX_NATS_UTIL_H

#include <nats/nats.h>
#include <stddef.h>

#include "nox/error.h"
#include "nox/nkey.h"
#include "nox/tls.h"

/*
 * Creates *out with the services' connection settings: url, client_name,
 * connect timeout 3000 ms, reconnect forever (max reconnect -1) every 500 ms,
 * a ping every 5000 ms and at most 2 unanswered (a dead server is noticed
 * quickly), and a handler that logs at ERROR what the server refuses
 * asynchronously (a permissions violation names the subject).
 *
 * credentials_file (NULL or "" for none) is a NATS credentials file holding a
 * user nkey seed (nox/nkey.h, made by `noxctl nats-key new`): it is checked here
 * (mode 0600, a valid user seed), and nats.c signs each connect's nonce with it.
 * The connection's inboxes are then _INBOX.<public key>.…, so that the server's
 * permissions can give each identity its own replies and no one else's. *pub
 * (may be NULL) receives the public key, or "" without credentials.
 * tls (NULL or all "" for none): TLS to the servers, verified against tls->ca_file (else the system's
 * trust store), with tls->cert_file / key_file as the client certificate when set; a tls:// URL asks
 * for TLS too.
 * On failure *out is NULL and err says why.
 */
nox_status nox_nats_options(natsOptions **out, const char *url, const char *client_name, const char *credentials_file,
                            const nox_tls_client *tls, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err);

/*
 * Closes the NATS library (nats_CloseAndWait, at most timeout_ms) and then OpenSSL, before the process exits.
 * Call once, last, instead of nats_Close / nats_CloseAndWait. Why: Debian's nats.c 3.4 frees OpenSSL's list
 * of compression methods in its own exit handler without telling OpenSSL, whose exit handler then frees it
 * again — a crash at exit (double free) in every process that used TLS to NATS (fixed upstream in 3.11).
 * Once OpenSSL has cleaned up, that list is empty and nats.c's free does nothing.
 */
void nox_nats_shutdown(int64_t timeout_ms);

/*
 * Whether `stream` can take messages now, for /health: 1 when JetStream answers within timeout_ms that it
 * has a leader (a single server is its own), or that the stream does not exist yet (someone creates it
 * later); 0 with the reason in why when JetStream does not answer (a cluster without quorum) or the
 * stream has no leader (a replicated stream while its servers elect one).
 */
int nox_nats_stream_ready(jsCtx *js, const char *stream, int64_t timeout_ms, char *why, size_t cap);

/*
 * natsConnection_Connect, tried up to `attempts` times when the server refused the login. Why: Debian's
 * nats.c 3.4 drops the nonce signature from CONNECT when its first byte is 0 (fixed upstream in 3.8), so
 * about 1 login in 256 is refused although the credentials are right; another try signs another nonce.
 */
natsStatus nox_nats_connect(natsConnection **nc, natsOptions *o, int attempts);

/*
 * A test tool's JetStream connection to url (one or several comma-separated) as client `name`, with the
 * credentials file NOX_NATS_CREDENTIALS and the CA NOX_CA_FILE of the environment (each when set), a refused
 * login retried (nox_nats_connect). *nc and *js on NOX_OK; the reason in err otherwise.
 */
nox_status nox_nats_connect_from_env(const char *url, const char *name, natsConnection **nc, jsCtx **js,
                                     nox_error *err);

/* urls (one, or several comma-separated) for a log line: the first without user info, "(+N more)". */
const char *nox_nats_display(const char *urls, char *out, size_t cap);

/* "text (JetStream error N)" for the last nats.c failure (s when nats.c has no text), in out; returns out. */
const char *nox_nats_why(natsStatus s, jsErrCode jerr, char *out, size_t cap);

#endif
