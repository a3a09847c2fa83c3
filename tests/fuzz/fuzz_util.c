/* tests/fuzz: helpers shared by the libFuzzer targets (see fuzz_util.h). */
#include "fuzz_util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

char *fuzz_strndup(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

const char *fuzz_memfile(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("nox-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
        perror("memfd write");
        abort();
    }
    return path;
}

uint8_t fuzz_u8(fuzz_reader *r) {
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

uint16_t fuzz_u16(fuzz_reader *r) {
    uint16_t hi = fuzz_u8(r);
    return (uint16_t)(hi << 8 | fuzz_u8(r));
}

size_t fuzz_bytes(fuzz_reader *r, void *out, size_t n) {
    size_t k = n < r->n ? n : r->n;
    if (k) memcpy(out, r->p, k);
    if (n > k) memset((uint8_t *)out + k, 0, n - k);
    r->p += k;
    r->n -= k;
    return k;
}

const char *fuzz_split(const char *text, const char *sep, char **first) {
    const char *at = strstr(text, sep);
    size_t k = at ? (size_t)(at - text) : strlen(text);
    *first = fuzz_strndup((const uint8_t *)text, k);
    return at ? at + strlen(sep) : NULL;
}

/*
 * libFuzzer keeps pointers to the coverage counters of every instrumented
 * module it has seen, so a plugin must never be unmapped: each one is opened
 * here once with RTLD_NODELETE (the engine's dlopen/dlclose then only count
 * references to the same object).
 */
void fuzz_pin_plugins(const char *dir) {
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL);
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".so")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!dlopen(path, RTLD_NOW | RTLD_NODELETE)) {
            fprintf(stderr, "fuzz_pin_plugins: %s\n", dlerror());
            abort();
        }
    }
    closedir(d);
}
