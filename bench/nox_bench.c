/*
 * nox-bench — benchmark harness. Modes:
 *   eval      ns/op through the engine (type check + plugin call), per (operator, type)
 *   pipeline  the Runner's per-message work in process (crypto + eval), against its crypto floor
 *   e2e       messages through a running devnet: throughput and publish-to-stored latency
 *   queue-sig signing (Ingestor) and verifying (Runner) one queue message
 * See bench/README.md.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: nox-bench MODE [options]   (MODE --help for its options)\n"
            "modes:\n"
            "  eval [--config FILE] [--op NAME] [--type T] [--seconds S] [--threads N] [--csv FILE|-] [--plot DIR]\n"
            "       ns/op of every (operator, type) pair through the engine\n"
            "  pipeline [--config FILE] [--op NAME] [--type T] [--seconds S] [--threads N]\n"
            "           [--threshold LIST | --legacy] [--batch B] [--csv FILE|-] [--plot DIR]\n"
            "       the Runner's per-message work without the network, and the crypto floor\n"
            "  e2e --devnet [--env FILE] [--messages N] [--mix op[/type][:weight],...] [--rate R] [--csv FILE|-]\n"
            "      [--plot DIR]\n"
            "       TransactionMessages through a running devnet: results stored per second, latency p50/p90/p99\n"
            "  queue-sig [--seconds S] [--csv FILE|-]\n"
            "       signing (Ingestor) and verifying (Runner) one queue message, small and largest\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "eval")) return bench_eval_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "pipeline")) return bench_pipeline_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "e2e")) return bench_e2e_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "queue-sig")) return bench_queue_sig_main(argc - 1, argv + 1);
    fprintf(stderr, "nox-bench: unknown mode '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
