/*
 * js_publish — publishes test messages to JetStream (Python has no NATS client here).
 *
 *   js_publish URL FILE   FILE: one JSON object per line {"subject", "id", "data"}; each is
 *                         published with header Nats-Msg-Id = id and waits for the stream's ack.
 * Exit 0 when every message was acked.
 */
#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: js_publish URL FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, NULL);
    int rc = s == NATS_OK ? 0 : 1;
    if (rc) fprintf(stderr, "js_publish: %s: %s\n", argv[1], natsStatus_GetText(s));
    static char line[4 << 20];
    while (!rc && fgets(line, sizeof line, f)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        const char *subject = json_string_value(json_object_get(o, "subject"));
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *data = json_string_value(json_object_get(o, "data"));
        if (!subject || !id || !data) {
            fprintf(stderr, "js_publish: bad line\n");
            json_decref(o);
            rc = 1;
            break;
        }
        natsMsg *m = NULL;
        jsPubAck *pa = NULL;
        jsErrCode je = 0;
        s = natsMsg_Create(&m, subject, NULL, data, (int)strlen(data));
        if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
        if (s == NATS_OK) s = js_PublishMsg(&pa, js, m, NULL, &je);
        if (s != NATS_OK) {
            fprintf(stderr, "js_publish: %s: %s (JetStream error %d)\n", subject, natsStatus_GetText(s), (int)je);
            rc = 1;
        }
        jsPubAck_Destroy(pa);
        natsMsg_Destroy(m);
        json_decref(o);
    }
    fclose(f);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_CloseAndWait(2000);
    return rc;
}
