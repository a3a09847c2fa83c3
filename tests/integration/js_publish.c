/*
 * js_publish — publishes test messages to JetStream (Python has no NATS client here).
 *
 *   js_publish [--key FILE] URL FILE
 *
 * FILE: one JSON object per line {"subject", "id", "data"}; each is published with header
 * Nats-Msg-Id = id and waits for the stream's ack. Optional members of a line:
 *   "stream"      the stream expected to store it (default: the subject's first token); the publish names
 *                 it (a message stored elsewhere is an error) and the signature covers it
 *   "deadReason"  a Nox-Dead-Reason header (signed)
 *   "key"         sign this line with this key file instead of --key's
 *   "sign"        false: publish this line unsigned, even with --key
 *   "signAs"      {"stream", "subject", "reason", "chainId", "version"}: sign over these values instead of the
 *                 real ones (what an attacker holding the key, or a buggy signer, would do)
 *   "headers"     {"Name": "value", …} set last, over any signature header (e.g. a captured Nox-Signature)
 *   "addHeaders"  {"Name": "value", …} added last, next to any header of that name (a repeated header)
 * With a key (--key or "key"), a line is signed as the Ingestor signs (nox/queue_signature.h: Nox-Signature
 * and Nox-Signer over stream, subject, reason, body, and the body's chain id). Key files are read with
 * nox_ec_key_load (mode 0600 or stricter) and wiped after use.
 * NATS credentials: the file NOX_NATS_CREDENTIALS names, when set; TLS: NOX_CA_FILE verifies the server (nox/nkey.h; the tests pass the identity
 * they play: the Ingestor's, a Runner's, an attacker's).
 * Exit 0 when every message was acked.
 */
#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/queue_signature.h"
#include "nats_util.h"

/* Signs line o's message into m's headers; 0 on success, 1 with a message. */
static int sign_line(json_t *o, natsMsg *m, const char *key_file, const char *stream, const char *subject,
                     const char *reason, const char *data) {
    nox_ec_privkey key;
    nox_error err = {0};
    if (nox_ec_key_load(&key, key_file, &err)) {
        fprintf(stderr, "js_publish: %s\n", err.message);
        return 1;
    }
    nox_queue_message q = nox_queue_message_of(stream, subject, reason, data, strlen(data));
    json_t *as = json_object_get(o, "signAs");
    if (json_is_object(as)) {
        const char *v;
        if ((v = json_string_value(json_object_get(as, "stream")))) q.stream = v;
        if ((v = json_string_value(json_object_get(as, "subject")))) q.subject = v;
        if ((v = json_string_value(json_object_get(as, "reason")))) q.reason = v;
        if (json_is_integer(json_object_get(as, "chainId")))
            q.chain_id = (uint64_t)json_integer_value(json_object_get(as, "chainId"));
    }
    char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
    nox_status st = nox_queue_sign(&key, &q, sig, signer, &err);
    if (!st && json_is_object(as) && json_is_integer(json_object_get(as, "version"))) {
        /* another version: nox_queue_sign refuses to make one, so sign its digest directly */
        q.version = (uint32_t)json_integer_value(json_object_get(as, "version"));
        uint8_t digest[32], raw[NOX_EC_SIGNATURE_SIZE];
        nox_queue_digest(&q, digest);
        st = nox_ec_sign(&key, digest, raw, &err);
        if (!st) nox_hex_encode(raw, sizeof raw, sig);
    }
    nox_ec_key_wipe(&key);
    if (st) {
        fprintf(stderr, "js_publish: signing: %s\n", err.message);
        return 1;
    }
    natsStatus s = natsMsgHeader_Set(m, NOX_QUEUE_HEADER_SIGNATURE, sig);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, NOX_QUEUE_HEADER_SIGNER, signer);
    return s != NATS_OK;
}

int main(int argc, char **argv) {
    const char *key_file = NULL;
    if (argc == 5 && !strcmp(argv[1], "--key")) {
        key_file = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: js_publish [--key FILE] URL FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    nox_error cerr = {0};
    natsStatus s = NATS_OK;
    int rc = nox_nats_connect_from_env(argv[1], "js_publish", &nc, &js, &cerr) ? 1 : 0;
    if (rc) fprintf(stderr, "js_publish: %s\n", cerr.message);
    static char line[4 << 20];
    while (!rc && fgets(line, sizeof line, f)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        const char *subject = json_string_value(json_object_get(o, "subject"));
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *data = json_string_value(json_object_get(o, "data"));
        const char *reason = json_string_value(json_object_get(o, "deadReason"));
        const char *line_key = json_string_value(json_object_get(o, "key"));
        const char *key = line_key ? line_key : key_file;
        if (json_is_false(json_object_get(o, "sign"))) key = NULL;
        json_t *headers = json_object_get(o, "headers"), *added = json_object_get(o, "addHeaders");
        if (!subject || !id || !data || (headers && !json_is_object(headers)) || (added && !json_is_object(added))) {
            fprintf(stderr, "js_publish: bad line\n");
            json_decref(o);
            rc = 1;
            break;
        }
        char stream[128];
        const char *given = json_string_value(json_object_get(o, "stream"));
        snprintf(stream, sizeof stream, "%.*s", given ? (int)strlen(given) : (int)strcspn(subject, "."),
                 given ? given : subject);
        natsMsg *m = NULL;
        jsPubAck *pa = NULL;
        jsErrCode je = 0;
        s = natsMsg_Create(&m, subject, NULL, data, (int)strlen(data));
        if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
        if (s == NATS_OK && reason) s = natsMsgHeader_Set(m, NOX_QUEUE_HEADER_REASON, reason);
        if (s == NATS_OK && key && sign_line(o, m, key, stream, subject, reason, data)) {
            rc = 1;
        } else {
            const char *name;
            json_t *value;
            json_object_foreach(headers, name, value) {
                if (s == NATS_OK && json_is_string(value)) s = natsMsgHeader_Set(m, name, json_string_value(value));
            }
            json_object_foreach(added, name, value) {
                if (s == NATS_OK && json_is_string(value)) s = natsMsgHeader_Add(m, name, json_string_value(value));
            }
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.ExpectStream = stream;
            if (s == NATS_OK) s = js_PublishMsg(&pa, js, m, &po, &je);
            if (s != NATS_OK) {
                fprintf(stderr, "js_publish: %s: %s (JetStream error %d)\n", subject, natsStatus_GetText(s), (int)je);
                rc = 1;
            }
        }
        jsPubAck_Destroy(pa);
        natsMsg_Destroy(m);
        json_decref(o);
    }
    fclose(f);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nox_nats_shutdown(2000);
    return rc;
}
