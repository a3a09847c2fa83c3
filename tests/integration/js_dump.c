/*
 * js_dump — a small JetStream client for the integration tests (Python has
 * no NATS client here).
 *
 *   js_dump URL STREAM            every message of STREAM, one JSON line each:
 *                                 {"seq":N,"subject":"…","msgId":"…","deadReason":"…"|null,"data":"…",
 *                                  "headers":{"Name":"value" (or ["v1","v2"] when repeated),…}}
 *   js_dump --info URL STREAM     the stream's configuration and message count, one JSON line:
 *                                 {"name","subjects":[…],"storage":"file"|"memory","retention":…,
 *                                  "maxAgeSeconds":N,"duplicatesSeconds":N,"messages":N}
 *   js_dump --create URL STREAM SUBJECT file|memory MAX_AGE_S DUPLICATES_S
 *                                 creates a stream (to test how the Ingestor meets a wrong one)
 *   js_dump --delete URL STREAM   deletes a stream
 *
 * NATS credentials: the file NOX_NATS_CREDENTIALS names, when set; TLS: NOX_CA_FILE verifies the server (nox/nkey.h).
 * Exit status: 0 ok, 3 no such stream, 1 any other failure (reason on stderr), 2 bad usage.
 */
#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_util.h"

#define NS 1000000000LL

static int fail(const char *what, natsStatus s, jsErrCode jerr) {
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        fprintf(stderr, "js_dump: %s: no such stream\n", what);
        return 3;
    }
    fprintf(stderr, "js_dump: %s: %s (JetStream error %d)\n", what, natsStatus_GetText(s), (int)jerr);
    return 1;
}

static void print_json(json_t *o) {
    char *text = json_dumps(o, JSON_COMPACT);
    if (text) puts(text);
    free(text);
    json_decref(o);
}

/* Every header of m: {"Name": "value"}, or {"Name": ["v1", "v2"]} for a header that appears more than once. */
static json_t *headers_of(natsMsg *m) {
    json_t *out = json_object();
    const char **keys = NULL;
    int n = 0;
    if (natsMsgHeader_Keys(m, &keys, &n) != NATS_OK) return out;
    for (int i = 0; i < n; i++) {
        const char **values = NULL;
        int count = 0;
        if (natsMsgHeader_Values(m, keys[i], &values, &count) != NATS_OK) continue;
        json_t *v = count == 1 ? json_string(values[0]) : json_array();
        for (int k = 0; count > 1 && k < count; k++) json_array_append_new(v, json_string(values[k]));
        json_object_set_new(out, keys[i], v ? v : json_null());
        free((void *)values);
    }
    free((void *)keys);
    return out;
}

static int dump(jsCtx *js, const char *stream) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
    if (s != NATS_OK) return fail(stream, s, jerr);
    uint64_t first = si->State.FirstSeq, last = si->State.LastSeq, n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    for (uint64_t seq = first; n && seq <= last; seq++) {
        natsMsg *m = NULL;
        s = js_GetMsg(&m, js, stream, seq, NULL, &jerr);
        if (s == NATS_NOT_FOUND) continue; /* deleted */
        if (s != NATS_OK) return fail(stream, s, jerr);
        const char *id = NULL, *reason = NULL;
        natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
        natsMsgHeader_Get(m, "Nox-Dead-Reason", &reason);
        json_t *o = json_pack("{s:I, s:s, s:o, s:o, s:s%, s:o}", "seq", (json_int_t)seq, "subject",
                              natsMsg_GetSubject(m), "msgId", id ? json_string(id) : json_null(), "deadReason",
                              reason ? json_string(reason) : json_null(), "data", natsMsg_GetData(m),
                              (size_t)natsMsg_GetDataLength(m), "headers", headers_of(m));
        natsMsg_Destroy(m);
        if (!o) {
            fprintf(stderr, "js_dump: message %llu is not printable as JSON\n", (unsigned long long)seq);
            return 1;
        }
        print_json(o);
    }
    return 0;
}

static int info(jsCtx *js, const char *stream) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
    if (s != NATS_OK) return fail(stream, s, jerr);
    json_t *subjects = json_array();
    for (int i = 0; i < si->Config->SubjectsLen; i++) json_array_append_new(subjects, json_string(si->Config->Subjects[i]));
    jsRetentionPolicy r = si->Config->Retention;
    print_json(json_pack("{s:s, s:o, s:s, s:s, s:I, s:I, s:I}", "name", si->Config->Name, "subjects", subjects,
                         "storage", si->Config->Storage == js_FileStorage ? "file" : "memory", "retention",
                         r == js_LimitsPolicy ? "limits" : r == js_InterestPolicy ? "interest" : "workqueue",
                         "maxAgeSeconds", (json_int_t)(si->Config->MaxAge / NS), "duplicatesSeconds",
                         (json_int_t)(si->Config->Duplicates / NS), "messages", (json_int_t)si->State.Msgs));
    jsStreamInfo_Destroy(si);
    return 0;
}

static int create(jsCtx *js, char **argv) {
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subjects[1] = {argv[1]};
    sc.Name = argv[0];
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = strcmp(argv[2], "memory") ? js_FileStorage : js_MemoryStorage;
    sc.MaxAge = atoll(argv[3]) * NS;
    sc.Duplicates = atoll(argv[4]) * NS;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddStream(&si, js, &sc, NULL, &jerr);
    if (s != NATS_OK) return fail(argv[0], s, jerr);
    jsStreamInfo_Destroy(si);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = "dump";
    if (argc > 1 && !strncmp(argv[1], "--", 2)) {
        mode = argv[1] + 2;
        argv++;
        argc--;
    }
    int want = !strcmp(mode, "create") ? 7 : 3;
    if (argc != want || (strcmp(mode, "dump") && strcmp(mode, "info") && strcmp(mode, "create") && strcmp(mode, "delete"))) {
        fprintf(stderr, "usage: js_dump [--info|--delete] URL STREAM | --create URL STREAM SUBJECT file|memory "
                        "MAX_AGE_S DUPLICATES_S\n");
        return 2;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    nox_error cerr = {0};
    natsStatus s;
    int rc;
    if (nox_nats_connect_from_env(argv[1], "js_dump", &nc, &js, &cerr)) {
        fprintf(stderr, "js_dump: %s\n", cerr.message);
        rc = 1;
    } else if (!strcmp(mode, "dump")) {
        rc = dump(js, argv[2]);
    } else if (!strcmp(mode, "info")) {
        rc = info(js, argv[2]);
    } else if (!strcmp(mode, "create")) {
        rc = create(js, argv + 2);
    } else {
        jsErrCode jerr = 0;
        s = js_DeleteStream(js, argv[2], NULL, &jerr);
        rc = s == NATS_OK ? 0 : fail(argv[2], s, jerr);
    }
    fflush(stdout);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nox_nats_shutdown(2000);
    return rc;
}
