/* One-secret files: atomic 0600 creation and checked reads (nox/secret_file.h). */
#include "nox/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

nox_status nox_secret_file_write(const char *path, const char *text, size_t len, nox_error *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return nox_error_set(err, NOX_ERR_INVALID, "key file path too long");
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) return nox_error_set(err, NOX_ERR_IO, "cannot create a key file next to %s: %s", path, strerror(errno));
    nox_status st = NOX_OK;
    if (fchmod(fd, 0600) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        st = nox_error_set(err, NOX_ERR_IO, "cannot write key file %s: %s", path, strerror(errno));
    if (close(fd) != 0 && !st) st = nox_error_set(err, NOX_ERR_IO, "cannot write key file %s: %s", path, strerror(errno));
    /* link() publishes the complete file under its name atomically, and fails if the name exists. */
    if (!st && link(tmp, path) != 0)
        st = nox_error_set(err, NOX_ERR_IO, "cannot create key file %s: %s%s", path, strerror(errno),
                           errno == EEXIST ? " (refusing to overwrite an existing key)" : "");
    unlink(tmp);
    if (!st) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        int dfd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) { /* make the new name durable */
            fsync(dfd);
            close(dfd);
        }
    }
    return st;
}

static int space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

nox_status nox_secret_file_read(const char *path, const char *what, char *buf, size_t cap, size_t *len,
                                nox_error *err) {
    *len = 0;
    if (cap) buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nox_error_set(err, NOX_ERR_IO, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return nox_error_set(err, NOX_ERR_IO, "%s %s is not a regular file", what, path);
    }
    if (sb.st_mode & 077) {
        close(fd);
        return nox_error_set(err, NOX_ERR_IO,
                             "%s %s has mode %04o: a secret must not be accessible to group or others (chmod 600 %s)",
                             what, path, (unsigned)(sb.st_mode & 07777), path);
    }
    size_t n = 0;
    ssize_t r = 0;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0) n += (size_t)r;
    int read_errno = errno;
    close(fd);
    nox_status st = NOX_OK;
    if (r < 0) st = nox_error_set(err, NOX_ERR_IO, "cannot read %s %s: %s", what, path, strerror(read_errno));
    else if (n >= cap) st = nox_error_set(err, NOX_ERR_INVALID, "%s %s: longer than %zu bytes", what, path, cap - 1);
    if (st) {
        OPENSSL_cleanse(buf, cap);
        return st;
    }
    size_t s = 0, e = n;
    while (s < e && space(buf[s])) s++;
    while (e > s && space(buf[e - 1])) e--;
    memmove(buf, buf + s, e - s);
    OPENSSL_cleanse(buf + (e - s), cap - (e - s));
    *len = e - s;
    return NOX_OK;
}
