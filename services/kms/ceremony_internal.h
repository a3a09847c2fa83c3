/* The helpers ceremony.c and ceremony_reshare.c share (option parsing, output files, printing). */
#ifndef NOX_KMS_CEREMONY_INTERNAL_H
#define NOX_KMS_CEREMONY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"
#include "nox/threshold.h"

/* ceremony.c */
int kms_cer_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kms_cer_usage(const char *cmd, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int kms_cer_parse(int argc, char **argv, const char *usage, const char *const *names, const char **values,
                  int *force);
int kms_cer_uint(const char *cmd, const char *usage, const char *opt, const char *text, unsigned min, unsigned max,
                 unsigned *out);
int kms_cer_parse_set(const char *cmd, const char *usage, const char *opt, const char *text, unsigned *set,
                      size_t *k);
int kms_cer_check_new(const char *cmd, const char *path, int force);
nox_status kms_cer_save_key(const nox_ec_privkey *key, const char *path, int force, nox_error *err);
nox_status kms_cer_write_public(const char *path, const char *text, size_t len, int force, nox_error *err);
nox_status kms_cer_save_group(const nox_th_group *g, const char *path, int force, nox_error *err);
void kms_cer_print_hex(const char *label, const uint8_t *bytes, size_t len);
void kms_cer_print_set(const char *label, const unsigned *set, size_t k);

/* ceremony_reshare.c */
int kms_cer_reshare_deal(int argc, char **argv, const char *usage);
int kms_cer_reshare_combine(int argc, char **argv, const char *usage);

#endif
