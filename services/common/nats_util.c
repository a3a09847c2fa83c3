/* NATS (nats.c) helpers shared by nox-ingestor and nox-runner (nats_util.h). */
#include "nats_util.h"

#include <stdio.h>

natsStatus nox_nats_options(natsOptions **out, const char *url, const char *client_name) {
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) s = natsOptions_SetURL(o, url);
    if (s == NATS_OK) s = natsOptions_SetName(o, client_name);
    if (s == NATS_OK) s = natsOptions_SetTimeout(o, 3000);      /* connect */
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);   /* forever */
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 500);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(o, 5000); /* notice a dead server quickly */
    if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(o, 2);
    if (s != NATS_OK) {
        natsOptions_Destroy(o);
        o = NULL;
    }
    *out = o;
    return s;
}

const char *nox_nats_why(natsStatus s, jsErrCode jerr, char *out, size_t cap) {
    natsStatus last;
    const char *text = nats_GetLastError(&last);
    if (!text || !*text) text = natsStatus_GetText(s);
    if (jerr) snprintf(out, cap, "%s (JetStream error %d)", text, (int)jerr);
    else snprintf(out, cap, "%s", text);
    return out;
}
