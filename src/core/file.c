/* Whole-file reading (with transparent gzip) and atomic writing. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) beside POSIX */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "internal.h"

/* Reads the whole file. A regular file is read with read(2) into one
 * buffer of its size, whose pages are first marked for huge pages (Linux):
 * MNIST's 47 MB then costs two dozen page faults instead of 11,000, and
 * no copy through stdio. A file that grows while being read, a pipe or
 * another stream grows the buffer as it goes. */
static sr_status read_raw(const char *path, uint8_t **data, size_t *len,
                          sr_error *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return sr_fail(err, SR_ERR_IO, "%s: cannot open: %s", path,
                       strerror(errno));
    struct stat sb;
    size_t cap = 1 << 16;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return sr_fail(err, SR_ERR_IO, "%s: is a directory, not a file", path);
    }
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (uintmax_t)sb.st_size < SIZE_MAX)
        cap = (size_t)sb.st_size + 1; /* +1 to see the end in one read */
    uint8_t *buf = sr_alloc(cap);
    size_t size = 0;
    sr_status st = SR_OK;
    if (!buf) {
        st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory reading the file",
                     path);
        goto done;
    }
    sr_hint_huge_pages(buf, cap);
    for (;;) {
        if (size == cap) {
            size_t ncap = cap * 2;
            uint8_t *nb = ncap > cap ? sr_alloc(ncap) : NULL;
            if (!nb) {
                st = sr_fail(err, SR_ERR_NOMEM,
                             "%s: out of memory reading the file", path);
                goto done;
            }
            memcpy(nb, buf, size);
            sr_dealloc(buf);
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - size;
        ssize_t got = read(fd, buf + size, want < (1u << 30) ? want : (1u << 30));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            st = sr_fail(err, SR_ERR_IO, "%s: read error: %s", path,
                         strerror(errno));
            break;
        }
        if (got == 0)
            break;
        size += (size_t)got;
    }
done:
    close(fd);
    if (st != SR_OK) {
        sr_dealloc(buf);
        return st;
    }
    *data = buf;
    *len = size;
    return SR_OK;
}

/* Inflates a complete gzip stream (possibly several members); a stream that
 * ends early is an error, never a silently shorter file. */
sr_status sr_gunzip_buffer(const uint8_t *in, size_t in_len, const char *path,
                           uint8_t **data, size_t *len, sr_error *err)
{
    if ((!in && in_len) || !data || !len)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_gunzip_buffer: NULL argument");
    if (!path)
        path = "(buffer)";
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return sr_fail(err, SR_ERR_NOMEM, "%s: cannot start zlib", path);
    size_t cap = in_len * 4 + 1024, size = 0;
    uint8_t *out = sr_alloc(cap);
    sr_status st = SR_OK;
    if (!out) {
        st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory decompressing",
                     path);
        goto done;
    }
    size_t pos = 0;
    for (;;) {
        if (size == cap) {
            size_t ncap = cap * 2;
            uint8_t *nb = ncap > cap ? sr_alloc(ncap) : NULL;
            if (!nb) {
                st = sr_fail(err, SR_ERR_NOMEM,
                             "%s: out of memory decompressing", path);
                goto done;
            }
            memcpy(nb, out, size);
            sr_dealloc(out);
            out = nb;
            cap = ncap;
        }
        size_t avail_in = in_len - pos;
        zs.next_in = (Bytef *)(in + pos);
        zs.avail_in = avail_in > UINT32_MAX ? UINT32_MAX : (uInt)avail_in;
        size_t room = cap - size;
        zs.next_out = out + size;
        zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        uInt before_in = zs.avail_in, before_out = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        pos += before_in - zs.avail_in;
        size += before_out - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (pos == in_len)
                break;
            /* Another gzip member follows (as `cat a.gz b.gz` makes). */
            if (inflateReset(&zs) != Z_OK) {
                st = sr_fail(err, SR_ERR_FORMAT, "%s: bad gzip data", path);
                goto done;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && pos == in_len && zs.avail_out > 0) {
            st = sr_fail(err, SR_ERR_FORMAT,
                         "%s: gzip stream is cut off after %zu compressed "
                         "bytes", path, in_len);
            goto done;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st = sr_fail(err, SR_ERR_FORMAT,
                         "%s: corrupt gzip data at compressed byte %zu: %s",
                         path, pos, zs.msg ? zs.msg : "inflate failed");
            goto done;
        }
    }
done:
    inflateEnd(&zs);
    if (st != SR_OK) {
        sr_dealloc(out);
        return st;
    }
    *data = out;
    *len = size;
    return SR_OK;
}

sr_status sr_read_file(const char *path, uint8_t **data, size_t *len,
                       sr_error *err)
{
    if (!path || !data || !len)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_read_file: NULL argument");
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    sr_status st = read_raw(path, &raw, &raw_len, err);
    if (st != SR_OK)
        return st;
    if (raw_len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        st = sr_gunzip_buffer(raw, raw_len, path, data, len, err);
        sr_dealloc(raw);
        return st;
    }
    *data = raw;
    *len = raw_len;
    return SR_OK;
}

sr_status sr_view_file(const char *path, sr_file_view *view, sr_error *err)
{
    if (!path || !view)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_view_file: NULL argument");
    memset(view, 0, sizeof *view);
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size > 2 && (uintmax_t)sb.st_size < SIZE_MAX) {
        size_t len = (size_t)sb.st_size;
        void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
                         0);
        if (map != MAP_FAILED) {
            const uint8_t *b = map;
            if (b[0] != 0x1f || b[1] != 0x8b) {
                close(fd);
                view->data = b;
                view->len = len;
                view->mapped = map;
                return SR_OK;
            }
            munmap(map, len);
        }
    }
    if (fd >= 0)
        close(fd);
    /* gzip, a pipe, an empty file, a failed mapping: read it (and report
     * what cannot be read by its path, as the reading does). */
    sr_status st = sr_read_file(path, &view->owned, &view->len, err);
    view->data = view->owned;
    return st;
}

void sr_unmap(void *base, size_t len)
{
    if (base)
        munmap(base, len);
}

void sr_view_release(sr_file_view *view)
{
    if (!view)
        return;
    if (view->mapped)
        munmap(view->mapped, view->len);
    sr_dealloc(view->owned);
    memset(view, 0, sizeof *view);
}

sr_status sr_write_file_atomic(const char *path, const void *data, size_t len,
                               sr_error *err)
{
    size_t plen = strlen(path);
    char *tmp = sr_alloc(plen + 16);
    if (!tmp)
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        sr_status st = sr_fail(err, SR_ERR_IO, "%s: cannot create: %s", path,
                               strerror(errno));
        sr_dealloc(tmp);
        return st;
    }
    /* mkstemp makes the file 0600; a model or weights file is for sharing. */
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    int ok = f != NULL;
    if (ok && len && fwrite(data, 1, len, f) != len)
        ok = 0;
    if (ok && fflush(f) != 0)
        ok = 0;
    if (ok && fsync(fileno(f)) != 0)
        ok = 0;
    int saved = errno;
    if (f) {
        if (fclose(f) != 0)
            ok = 0;
    } else {
        close(fd);
    }
    if (ok && rename(tmp, path) != 0) {
        saved = errno;
        ok = 0;
    }
    if (!ok) {
        unlink(tmp);
        sr_dealloc(tmp);
        return sr_fail(err, SR_ERR_IO, "%s: cannot write: %s", path,
                       strerror(saved));
    }
    sr_dealloc(tmp);
    return SR_OK;
}

sr_status sr_read_at(int fd, const char *path, void *dst, size_t len,
                     uint64_t at, sr_error *err)
{
    for (size_t done = 0; done < len;) {
        ssize_t got = pread(fd, (char *)dst + done, len - done,
                            (off_t)(at + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return sr_fail(err, SR_ERR_IO, "%s: cannot read %zu bytes at "
                           "offset %llu: %s", path, len - done,
                           (unsigned long long)(at + done),
                           got < 0 ? strerror(errno) : "the file is shorter");
        done += (size_t)got;
    }
    return SR_OK;
}
