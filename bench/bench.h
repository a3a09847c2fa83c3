/* nox-bench modes. Each returns a process exit status. */
#ifndef NOX_BENCH_H
#define NOX_BENCH_H

/** `nox-bench eval ...` (argv[0] is "eval"). */
int bench_eval_main(int argc, char **argv);

#endif
