/*
 * nox/secret_file.h — the files that hold one secret each (wallet keys, NATS nkey seeds).
 *
 * A secret file is a regular file of mode 0600 (no group or other access) holding
 * one short text line. It is written atomically, never overwritten, and read into
 * a caller buffer that the caller wipes (OPENSSL_cleanse). Messages name the path
 * and what is wrong, never the content.
 */
#ifndef NOX_SECRET_FILE_H
#define NOX_SECRET_FILE_H

#include <stddef.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Creates `path` holding `text` (len bytes), mode 0600, durably and atomically:
 * the name appears with the complete content or not at all. Refuses to replace
 * an existing file (NOX_ERR_IO, "refusing to overwrite an existing key").
 */
nox_status nox_secret_file_write(const char *path, const char *text, size_t len, nox_error *err);

/**
 * Reads `path` into buf (NUL-terminated, at most cap - 1 bytes) with leading
 * and trailing white space removed; *len is the trimmed length. Refuses what
 * is not a regular file, a file that group or others may access (the message
 * gives the mode and the chmod that fixes it), and a file longer than cap - 1
 * bytes. On failure buf holds nothing of the file. `what` names the file in
 * messages ("key file", "NATS credentials file").
 */
nox_status nox_secret_file_read(const char *path, const char *what, char *buf, size_t cap, size_t *len,
                                nox_error *err);

#ifdef __cplusplus
}
#endif

#endif
