/*
 * tests/fuzz: helpers shared by the libFuzzer targets.
 *
 * FUZZ_CHECK(cond): an invariant of the code under test; a violation aborts,
 * which libFuzzer reports as a crash (with the input saved).
 */
#ifndef NOX_FUZZ_UTIL_H
#define NOX_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);       \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of data[0..size) (abort when out of memory). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/*
 * Writes data[0..size) into a memory file (memfd, created once and reused) and
 * returns its path "/proc/self/fd/N", for loaders that take a path.
 */
const char *fuzz_memfile(const uint8_t *data, size_t size);

/* Opens every *.so of dir once with RTLD_NODELETE: libFuzzer keeps pointers into each instrumented
 * module it has seen, so a plugin must never be unmapped. Aborts when one cannot be opened. */
void fuzz_pin_plugins(const char *dir);

/* A byte reader over the fuzz input; reads past the end give zeros. */
typedef struct fuzz_reader {
    const uint8_t *p;
    size_t n;
} fuzz_reader;

uint8_t fuzz_u8(fuzz_reader *r);
uint16_t fuzz_u16(fuzz_reader *r);
/* Copies up to n bytes (the rest zero); returns how many were real input. */
size_t fuzz_bytes(fuzz_reader *r, void *out, size_t n);

/* Splits text at the first occurrence of sep: *first = text[0..k), returns the rest (NULL when absent). */
const char *fuzz_split(const char *text, const char *sep, char **first);

#endif
