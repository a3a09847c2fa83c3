/*
 * The key ceremonies of nox-kms (docs/PROTOCOL-EXTENSIONS.md §11): split, deal,
 * reshare-deal, reshare-combine, share-info. They write secrets only into 0600 files
 * and print only public values.
 */
#ifndef NOX_KMS_CEREMONY_H
#define NOX_KMS_CEREMONY_H

/** 1 when argv[0] of a subcommand line names a ceremony. */
int kms_is_ceremony(const char *name);

/** Runs the ceremony argv[0] with its options; returns the process exit code (0, 1 failure, 2 usage). */
int kms_ceremony_main(int argc, char **argv);

/** The ceremonies' usage lines, for nox-kms --help. */
extern const char kms_ceremony_usage[];

#endif
