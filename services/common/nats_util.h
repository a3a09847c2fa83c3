/* NATS (nats.c) helpers shared by nox-ingestor, nox-runner and nox-bench. */
#ifndef NOX_NATS_UTIL_H
#define NOX_NATS_UTIL_H

#include <nats/nats.h>
#include <stddef.h>

#include "nox/error.h"
#include "nox/nkey.h"

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
 * On failure *out is NULL and err says why.
 */
nox_status nox_nats_options(natsOptions **out, const char *url, const char *client_name, const char *credentials_file,
                            char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err);

/* "text (JetStream error N)" for the last nats.c failure (s when nats.c has no text), in out; returns out. */
const char *nox_nats_why(natsStatus s, jsErrCode jerr, char *out, size_t cap);

#endif
