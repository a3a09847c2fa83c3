/*
 * nox-bench queue-sig: the cost of signed queue messages (nox/queue_signature.h) per message, for the
 * Ingestor (nox_queue_sign: the body's chain id, the digest, one ECDSA signature) and for the Runner
 * (nox_queue_verify: the headers, the body's chain id, the digest, one public-key recovery), on a
 * one-event TransactionMessage and on the largest one NoxCompute lets through (256 generic events of 8
 * inputs and 8 outputs, docs/PROTOCOL-EXTENSIONS.md §6), with the part of each that is the JSON parse
 * (nox_queue_chain_id) and the part that is keccak256 (nox_queue_digest). One thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "nox/ec.h"
#include "nox/queue_signature.h"

static void usage(void) {
    fprintf(stderr, "usage: nox-bench queue-sig [--seconds S] [--csv FILE|-]\n"
                    "  --seconds S   time per measurement (default 0.5)\n");
}

/* A TransactionMessage of n generic events with 8 inputs and 8 outputs each (n = 0: one add event). */
static char *message(size_t n) {
    size_t cap = 4096 + n * 1400, used = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    const char *h = "0x" "abababababababababababababababababababababababababababab00007a692300";
    used += (size_t)snprintf(s + used, cap - used, "{\"chainId\":31337,\"caller\":\"0x%040d\",\"blockNumber\":123,"
                             "\"transactionHash\":\"0x%064d\",\"events\":[", 1, 2);
    if (n == 0)
        used += (size_t)snprintf(s + used, cap - used, "{\"logIndex\":0,\"caller\":\"0x%040d\",\"type\":\"add\","
                                 "\"leftHandOperand\":\"%s\",\"rightHandOperand\":\"%s\",\"result\":\"%s\"}", 3, h, h, h);
    for (size_t i = 0; i < n; i++) {
        used += (size_t)snprintf(s + used, cap - used, "%s{\"logIndex\":%zu,\"caller\":\"0x%040d\",\"type\":"
                                 "\"operator_%zu\",\"operatorId\":%zu,\"inputs\":[", i ? "," : "", i, 3, 64 + i, 64 + i);
        for (int k = 0; k < 8; k++) used += (size_t)snprintf(s + used, cap - used, "%s\"%s\"", k ? "," : "", h);
        used += (size_t)snprintf(s + used, cap - used, "],\"outputs\":[");
        for (int k = 0; k < 8; k++) used += (size_t)snprintf(s + used, cap - used, "%s\"%s\"", k ? "," : "", h);
        used += (size_t)snprintf(s + used, cap - used, "]}");
    }
    snprintf(s + used, cap - used, "]}");
    return s;
}

typedef enum { W_SIGN, W_VERIFY, W_CHAIN, W_DIGEST } work;

/* Microseconds per call of `w` on body, over about `seconds`. */
static double measure(work w, const nox_ec_privkey *key, const uint8_t *trusted, const char *body, double seconds) {
    size_t len = strlen(body);
    const char *subject = "nox_ingestor.0x0000000000000000000000000000000000000000000000000000000000000002";
    nox_queue_message m = nox_queue_message_of("nox_ingestor", subject, NULL, body, len);
    char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
    nox_error err = {0};
    if (nox_queue_sign(key, &m, sig, signer, &err)) return -1;
    volatile uint64_t sink = 0;
    size_t calls = 0;
    double t0 = bench_now_s(), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 8; i++, calls++) {
            uint8_t d[32];
            switch (w) {
            case W_SIGN: { /* what the Ingestor does per publish (its address is derived once, at start) */
                nox_queue_message q = nox_queue_message_of("nox_ingestor", subject, NULL, body, len);
                if (nox_queue_sign(key, &q, sig, NULL, &err)) return -1;
                sink += (uint8_t)sig[2];
                break;
            }
            case W_VERIFY: /* what the Runner does per delivery */
                if (nox_queue_verify(sig, signer, trusted, 1, "nox_ingestor", subject, NULL, body, len, NULL, &err))
                    return -1;
                break;
            case W_CHAIN: sink += nox_queue_chain_id(body, len); break;
            case W_DIGEST:
                nox_queue_digest(&m, d);
                sink += d[0];
                break;
            }
        }
        t = bench_now_s();
    }
    (void)sink;
    return (t - t0) / (double)calls * 1e6;
}

int bench_queue_sig_main(int argc, char **argv) {
    double seconds = 0.5;
    const char *csv_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            if (bench_parse_double("--seconds", argv[++i], 0.01, 60, &seconds)) return 2;
        } else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
            csv_path = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    nox_ec_privkey key;
    uint8_t addr[NOX_ADDRESS_SIZE];
    nox_error err = {0};
    if (nox_ec_key_generate(&key, &err) || nox_ec_key_address(&key, addr, &err)) {
        fprintf(stderr, "nox-bench: %s\n", err.message);
        return 1;
    }
    FILE *csv = csv_path ? bench_csv_open(csv_path) : NULL;
    if (csv_path && !csv) return 1;
    FILE *o = bench_table_stream(csv);
    if (csv) fprintf(csv, "message,bytes,sign_us,verify_us,chain_id_parse_us,digest_us\n");
    fprintf(o, "%-34s %9s %10s %10s %16s %10s\n", "message", "bytes", "sign us", "verify us", "of which JSON us",
            "keccak us");
    static const struct {
        const char *name;
        size_t events;
    } cases[] = {{"1 event (add)", 0}, {"16 generic events (8 in, 8 out)", 16}, {"256 generic events (the most)", 256}};
    int rc = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0] && !rc; c++) {
        char *body = message(cases[c].events);
        if (!body) {
            rc = 1;
            break;
        }
        double sign = measure(W_SIGN, &key, addr, body, seconds), verify = measure(W_VERIFY, &key, addr, body, seconds),
               chain = measure(W_CHAIN, &key, addr, body, seconds), digest = measure(W_DIGEST, &key, addr, body, seconds);
        if (sign < 0 || verify < 0 || chain < 0 || digest < 0 || nox_queue_chain_id(body, strlen(body)) != 31337) {
            fprintf(stderr, "nox-bench: queue-sig: %s did not sign or verify\n", cases[c].name);
            rc = 1;
        } else {
            fprintf(o, "%-34s %9zu %10.1f %10.1f %16.1f %10.1f\n", cases[c].name, strlen(body), sign, verify, chain,
                    digest);
            if (csv)
                fprintf(csv, "%s,%zu,%.2f,%.2f,%.2f,%.2f\n", cases[c].name, strlen(body), sign, verify, chain, digest);
        }
        free(body);
    }
    nox_ec_key_wipe(&key);
    if (csv) bench_csv_close(csv);
    return rc;
}
