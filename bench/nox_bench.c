/*
 * nox-bench — benchmark harness. Modes:
 *   eval   ns/op through the engine (type check + plugin call), per (operator, type)
 * Later modes (pipeline, e2e) hang off the same dispatcher.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: nox-bench MODE [options]\n"
            "modes:\n"
            "  eval [--config FILE] [--op NAME] [--type T] [--seconds S] [--csv FILE]\n"
            "       ns/op of every (operator, type) pair through the engine\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "eval")) return bench_eval_main(argc - 1, argv + 1);
    fprintf(stderr, "nox-bench: unknown mode '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
