/*
 * The state file: the last block whose transactions are all published, as
 *     {"chainId":31337,"noxCompute":"0x…","blockNumber":123,"blockHash":"0x…"}
 * The chain and contract are stored too, so that a state file copied from
 * another deployment is refused instead of silently skipping blocks.
 * Written atomically (temporary file, fsync, rename, fsync of the directory):
 * after a crash the file is the old checkpoint or the new one, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingestor.h"
#include "nox/hex.h"

/* Largest state file read: it holds four short fields. */
#define STATE_MAX 4096

static nox_status corrupt(const char *path, nox_error *err, const char *what) {
    return nox_error_set(err, NOX_ERR_CONFIG,
                         "state file %s is not a checkpoint (%s); fix it, or delete it to start again from "
                         "start_block (already published transactions are then published again: JetStream drops "
                         "those inside its 10-minute duplicate window)", path, what);
}

nox_status ing_checkpoint_load(const char *path, uint32_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE],
                               ing_checkpoint *cp, nox_error *err) {
    memset(cp, 0, sizeof *cp);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return NOX_OK;
        return nox_error_set(err, NOX_ERR_IO, "cannot read state file %s: %s", path, strerror(errno));
    }
    char buf[STATE_MAX + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) return nox_error_set(err, NOX_ERR_IO, "cannot read state file %s", path);
    if (n > STATE_MAX) return corrupt(path, err, "larger than 4096 bytes");
    json_error_t jerr;
    json_t *o = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return corrupt(path, err, "not a JSON object");
    }
    json_t *chain = json_object_get(o, "chainId"), *addr = json_object_get(o, "noxCompute");
    json_t *number = json_object_get(o, "blockNumber"), *hash = json_object_get(o, "blockHash");
    uint8_t a[NOX_ADDRESS_SIZE];
    nox_status st = NOX_OK;
    if (!json_is_integer(chain) || !json_is_string(addr) || !json_is_integer(number) || !json_is_string(hash) ||
        json_integer_value(number) < 0)
        st = corrupt(path, err, "chainId, noxCompute, blockNumber or blockHash missing or of the wrong type");
    else if (nox_hex_decode_exact(json_string_value(addr), json_string_length(addr), a, sizeof a, NULL) ||
             nox_hex_decode_exact(json_string_value(hash), json_string_length(hash), cp->block_hash, 32, NULL))
        st = corrupt(path, err, "noxCompute or blockHash is not 0x hex of the right length");
    else if (json_integer_value(chain) != (json_int_t)chain_id || memcmp(a, nox_compute, sizeof a)) {
        char want[2 * NOX_ADDRESS_SIZE + 3];
        st = nox_error_set(err, NOX_ERR_CONFIG,
                           "state file %s belongs to chain %" JSON_INTEGER_FORMAT " and NoxCompute %s, but the "
                           "configuration says chain %" PRIu32 " and %s; point state_file at this deployment's "
                           "file (or a new path to start from start_block)", path, json_integer_value(chain),
                           json_string_value(addr), chain_id, nox_hex_encode(nox_compute, NOX_ADDRESS_SIZE, want));
    }
    if (!st) {
        cp->present = 1;
        cp->block_number = (uint64_t)json_integer_value(number);
    } else {
        memset(cp, 0, sizeof *cp);
    }
    json_decref(o);
    return st;
}

nox_status ing_checkpoint_save(const char *path, uint32_t chain_id, const uint8_t nox_compute[NOX_ADDRESS_SIZE],
                               const ing_checkpoint *cp, nox_error *err) {
    char addr[2 * NOX_ADDRESS_SIZE + 3], hash[67], text[512], tmp[4200];
    int len = snprintf(text, sizeof text,
                       "{\"chainId\":%" PRIu32 ",\"noxCompute\":\"%s\",\"blockNumber\":%" PRIu64 ",\"blockHash\":\"%s\"}\n",
                       chain_id, nox_hex_encode(nox_compute, NOX_ADDRESS_SIZE, addr), cp->block_number,
                       nox_hex_encode(cp->block_hash, 32, hash));
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return nox_error_set(err, NOX_ERR_IO, "state file path %s is too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return nox_error_set(err, NOX_ERR_IO, "cannot write state file %s: %s", tmp, strerror(errno));
    ssize_t w = write(fd, text, (size_t)len);
    int saved = errno;
    if (w != len || fsync(fd) != 0) {
        if (w == len) saved = errno;
        close(fd);
        unlink(tmp);
        return nox_error_set(err, NOX_ERR_IO, "cannot write state file %s: %s", tmp,
                             w >= 0 && w != len ? "short write (disk full?)" : strerror(saved));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        return nox_error_set(err, NOX_ERR_IO, "cannot replace state file %s: %s", path, strerror(saved));
    }
    /* the rename itself must reach the disk: fsync the directory */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        int r = fsync(dfd);
        saved = errno;
        close(dfd);
        if (r != 0) return nox_error_set(err, NOX_ERR_IO, "cannot sync the directory of %s: %s", path, strerror(saved));
    }
    return NOX_OK;
}

nox_status ing_checkpoint_prepare(const char *path, nox_error *err) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *d = dirname(dir);
    /* mkdir -p, one component at a time */
    for (char *p = d + 1; ; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(d, 0755) != 0 && errno != EEXIST)
            return nox_error_set(err, NOX_ERR_IO, "cannot create directory %s for the state file: %s", d,
                                 strerror(errno));
        *p = c;
        if (!c) break;
    }
    char probe[4300];
    snprintf(probe, sizeof probe, "%s.probe", path);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return nox_error_set(err, NOX_ERR_IO, "cannot write next to the state file %s: %s", path, strerror(errno));
    close(fd);
    unlink(probe);
    return NOX_OK;
}
