/* NATS (nats.c) helpers shared by nox-ingestor, nox-runner and nox-bench (nats_util.h). */
#include "nats_util.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/log.h"
#include "nox/http_body.h" /* nox_url_redact */

/* What the server refused after the fact (a publish or subscribe outside the permissions, a slow consumer). */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure) {
    (void)sub;
    (void)closure;
    const char *text = NULL;
    natsConnection_GetLastError(nc, &text);
    nox_log(NOX_LOG_ERROR, "NATS: %s", text && *text ? text : natsStatus_GetText(s));
}

nox_status nox_nats_options(natsOptions **out, const char *url, const char *client_name, const char *credentials_file,
                            const nox_tls_client *tls, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err) {
    char key[NOX_NKEY_PUBLIC_LEN + 1] = "", inbox[NOX_NKEY_PUBLIC_LEN + 16], w[256];
    natsOptions *o = NULL;
    *out = NULL;
    if (pub) pub[0] = '\0';
    if (credentials_file && *credentials_file && nox_nkey_file_public(credentials_file, key, err))
        return nox_error_prefix(err, "nats.credentials_file: ");
    natsStatus s = natsOptions_Create(&o);
    /* "u1,u2,...": nats.c 3.4 takes a list only through SetServers (SetURL keeps the text as one URL) */
    char list[4096];
    const char *servers[16];
    int n = 0;
    snprintf(list, sizeof list, "%s", url);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        if (*t) servers[n++] = t;
    }
    if (s == NATS_OK) s = n > 1 ? natsOptions_SetServers(o, servers, n) : natsOptions_SetURL(o, url);
    if (s == NATS_OK) s = natsOptions_SetName(o, client_name);
    if (s == NATS_OK) s = natsOptions_SetTimeout(o, 3000);      /* connect */
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);   /* forever */
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 500);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(o, 5000); /* notice a dead server quickly */
    if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(o, 2);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, on_async_error, NULL);
    if (s == NATS_OK && tls && (tls->ca_file[0] || tls->cert_file[0])) {
        s = natsOptions_SetSecure(o, true); /* verifies the server's certificate and host name */
        if (s == NATS_OK && tls->ca_file[0]) s = natsOptions_LoadCATrustedCertificates(o, tls->ca_file);
        if (s == NATS_OK && tls->cert_file[0]) s = natsOptions_LoadCertificatesChain(o, tls->cert_file, tls->key_file);
    }
    if (s == NATS_OK && key[0]) {
        snprintf(inbox, sizeof inbox, "_INBOX.%s", key);
        s = natsOptions_SetNKeyFromSeed(o, key, credentials_file);
        if (s == NATS_OK) s = natsOptions_SetCustomInboxPrefix(o, inbox);
    }
    if (s != NATS_OK) {
        natsOptions_Destroy(o);
        return nox_error_set(err, s == NATS_NO_MEMORY ? NOX_ERR_NOMEM : NOX_ERR_CONFIG, "NATS options for %s: %s", url,
                             nox_nats_why(s, 0, w, sizeof w));
    }
    if (pub) snprintf(pub, NOX_NKEY_PUBLIC_LEN + 1, "%s", key);
    *out = o;
    return NOX_OK;
}

void nox_nats_shutdown(int64_t timeout_ms) {
    nats_CloseAndWait(timeout_ms);
    OPENSSL_cleanup(); /* idempotent; OpenSSL's own exit handler then does nothing */
}

int nox_nats_stream_ready(jsCtx *js, const char *stream, int64_t timeout_ms, char *why, size_t cap) {
    jsOptions jo;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    char w[256];
    natsStatus s = jsOptions_Init(&jo);
    jo.Wait = timeout_ms;
    if (s == NATS_OK) s = js_GetStreamInfo(&si, js, stream, &jo, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) return 1;
    if (s != NATS_OK) {
        snprintf(why, cap, "stream %s does not answer: %s", stream, nox_nats_why(s, jerr, w, sizeof w));
        return 0;
    }
    int leader = !si->Cluster || (si->Cluster->Leader && si->Cluster->Leader[0]);
    if (!leader) snprintf(why, cap, "stream %s has no leader (its servers are electing one)", stream);
    jsStreamInfo_Destroy(si);
    return leader;
}

natsStatus nox_nats_connect(natsConnection **nc, natsOptions *o, int attempts) {
    natsStatus s = NATS_ERR;
    for (int i = 0; i < attempts; i++) {
        *nc = NULL;
        s = natsConnection_Connect(nc, o);
        if (s != NATS_CONNECTION_AUTH_FAILED && s != NATS_NO_SERVER) break;
        if (i + 1 < attempts) nats_Sleep(100);
    }
    return s;
}

nox_status nox_nats_connect_from_env(const char *url, const char *name, natsConnection **nc, jsCtx **js,
                                     nox_error *err) {
    natsOptions *o = NULL;
    nox_tls_client tls = {0};
    const char *ca = getenv("NOX_CA_FILE");
    char w[256];
    *nc = NULL;
    *js = NULL;
    snprintf(tls.ca_file, sizeof tls.ca_file, "%s", ca ? ca : "");
    nox_status st = nox_nats_options(&o, url, name, getenv("NOX_NATS_CREDENTIALS"), &tls, NULL, err);
    if (st) return st;
    natsStatus s = nox_nats_connect(nc, o, 5);
    natsOptions_Destroy(o);
    if (s == NATS_OK) s = natsConnection_JetStream(js, *nc, NULL);
    if (s == NATS_OK) return NOX_OK;
    return nox_error_set(err, NOX_ERR_IO, "%s: %s", url, nox_nats_why(s, 0, w, sizeof w));
}

const char *nox_nats_display(const char *urls, char *out, size_t cap) {
    char first[1024];
    size_t n = strcspn(urls, ",");
    snprintf(first, sizeof first, "%.*s", (int)(n < sizeof first ? n : sizeof first - 1), urls);
    size_t more = 0;
    for (const char *p = urls; (p = strchr(p, ',')); p++) more++;
    char shown[1024];
    nox_url_redact(first, shown, sizeof shown);
    if (more) snprintf(out, cap, "%s (+%zu more)", shown, more);
    else snprintf(out, cap, "%s", shown);
    return out;
}

const char *nox_nats_why(natsStatus s, jsErrCode jerr, char *out, size_t cap) {
    natsStatus last;
    const char *text = nats_GetLastError(&last);
    if (!text || !*text) text = natsStatus_GetText(s);
    if (jerr) snprintf(out, cap, "%s (JetStream error %d)", text, (int)jerr);
    else snprintf(out, cap, "%s", text);
    return out;
}
