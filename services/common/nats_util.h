/* NATS (nats.c) helpers shared by nox-ingestor and nox-runner. */
#ifndef NOX_NATS_UTIL_H
#define NOX_NATS_UTIL_H

#include <nats/nats.h>
#include <stddef.h>

/*
 * Creates *out with the services' connection settings: url, client_name,
 * connect timeout 3000 ms, reconnect forever (max reconnect -1) every 500 ms,
 * a ping every 5000 ms and at most 2 unanswered (a dead server is noticed
 * quickly). On failure *out is NULL and the status says why (see nox_nats_why).
 */
natsStatus nox_nats_options(natsOptions **out, const char *url, const char *client_name);

/* "text (JetStream error N)" for the last nats.c failure (s when nats.c has no text), in out; returns out. */
const char *nox_nats_why(natsStatus s, jsErrCode jerr, char *out, size_t cap);

#endif
