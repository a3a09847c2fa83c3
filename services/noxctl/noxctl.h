/* noxctl subcommands. Each takes its own argv (argv[0] is the subcommand) and returns an exit status. */
#ifndef NOXCTL_H
#define NOXCTL_H

int noxctl_keccak(int argc, char **argv);
int noxctl_handle(int argc, char **argv);
int noxctl_key(int argc, char **argv);

/** Prints "noxctl: <message>" on stderr and returns 1. */
int noxctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
