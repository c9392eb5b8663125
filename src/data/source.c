/* Reading a file in pieces, raw or through zlib's inflate. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "source.h"

/* Compressed bytes read from the file at a time. */
#define SOURCE_IN (1u << 16)

struct sr_inflate {
    z_stream zs;
    size_t in_total; /* compressed bytes read from the file */
    int in_eof;      /* the file has no more */
    int member_end;  /* inflate ended a gzip member; another may follow */
    uint8_t in[SOURCE_IN];
};

/* Reads until `want` bytes or the end of the file. */
static sr_status read_fd(const sr_source *s, uint8_t *dst, size_t want,
                         size_t *got, sr_error *err)
{
    size_t n = 0;
    while (n < want) {
        size_t ask = want - n < (1u << 30) ? want - n : (1u << 30);
        ssize_t r = read(s->fd, dst + n, ask);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return sr_fail(err, SR_ERR_IO, "%s: read error: %s", s->path,
                           strerror(errno));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return SR_OK;
}

sr_status sr_source_open(const char *path, sr_source *src, sr_error *err)
{
    if (!path || !src)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_source_open: NULL argument");
    sr_source s;
    memset(&s, 0, sizeof s);
    s.path = path;
    s.fd = open(path, O_RDONLY);
    if (s.fd < 0)
        return sr_fail(err, SR_ERR_IO, "%s: cannot open: %s", path,
                       strerror(errno));
    struct stat sb;
    sr_status st = SR_OK;
    if (fstat(s.fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            st = sr_fail(err, SR_ERR_IO, "%s: is a directory, not a file",
                         path);
            goto fail;
        }
        if (S_ISREG(sb.st_mode) && sb.st_size >= 0) {
            s.regular = 1;
            s.size = (uint64_t)sb.st_size;
        }
    }
    if ((st = read_fd(&s, s.head, 2, &s.head_len, err)) != SR_OK)
        goto fail;
    if (s.head_len == 2 && s.head[0] == 0x1f && s.head[1] == 0x8b) {
        if (!(s.z = sr_alloc(sizeof *s.z))) {
            st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        memset(&s.z->zs, 0, sizeof s.z->zs);
        if (inflateInit2(&s.z->zs, 16 + MAX_WBITS) != Z_OK) {
            st = sr_fail(err, SR_ERR_NOMEM, "%s: cannot start zlib", path);
            goto fail;
        }
        memcpy(s.z->in, s.head, 2);
        s.z->zs.next_in = s.z->in;
        s.z->zs.avail_in = 2;
        s.z->in_total = 2;
        s.z->in_eof = 0;
        s.z->member_end = 0;
        s.head_len = 0;
    }
    *src = s;
    return SR_OK;
fail:
    sr_dealloc(s.z);
    close(s.fd);
    return st;
}

/* Inflates into out[0 .. want) as far as the stream goes. A stream ends
 * where the file ends after a whole member; anything else after a member
 * must be another member (as `cat a.gz b.gz` makes). */
static sr_status inflate_into(sr_source *s, uint8_t *out, size_t want,
                              size_t *got, sr_error *err)
{
    struct sr_inflate *z = s->z;
    size_t n = 0;
    while (n < want) {
        if (z->zs.avail_in == 0 && !z->in_eof) {
            size_t g = 0;
            sr_status st = read_fd(s, z->in, SOURCE_IN, &g, err);
            if (st != SR_OK)
                return st;
            z->in_eof = g < SOURCE_IN;
            z->zs.next_in = z->in;
            z->zs.avail_in = (uInt)g;
            z->in_total += g;
            continue;
        }
        if (z->member_end) {
            if (z->zs.avail_in == 0)
                break; /* the end of the file: the end of the data */
            if (inflateReset(&z->zs) != Z_OK)
                return sr_fail(err, SR_ERR_FORMAT, "%s: bad gzip data",
                               s->path);
            z->member_end = 0;
        }
        size_t room = want - n;
        z->zs.next_out = out + n;
        z->zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        uInt before = z->zs.avail_out;
        int rc = inflate(&z->zs, Z_NO_FLUSH);
        n += before - z->zs.avail_out;
        if (rc == Z_STREAM_END) {
            z->member_end = 1;
        } else if (rc == Z_BUF_ERROR) {
            /* No progress: the input ran out inside a member. */
            if (z->zs.avail_in == 0 && z->in_eof)
                return sr_fail(err, SR_ERR_FORMAT,
                               "%s: gzip stream is cut off after %zu "
                               "compressed bytes", s->path, z->in_total);
        } else if (rc != Z_OK) {
            return sr_fail(err, SR_ERR_FORMAT,
                           "%s: corrupt gzip data at compressed byte %zu: %s",
                           s->path, z->in_total - z->zs.avail_in,
                           z->zs.msg ? z->zs.msg : "inflate failed");
        }
    }
    *got = n;
    return SR_OK;
}

sr_status sr_source_read(sr_source *src, void *dst, size_t want, size_t *got,
                         sr_error *err)
{
    uint8_t *out = dst;
    size_t n = 0, more = 0;
    while (n < want && src->head_pos < src->head_len)
        out[n++] = src->head[src->head_pos++];
    sr_status st = src->z ? inflate_into(src, out + n, want - n, &more, err)
                          : read_fd(src, out + n, want - n, &more, err);
    if (st != SR_OK)
        return st;
    n += more;
    src->offset += n;
    *got = n;
    return SR_OK;
}

sr_status sr_source_skip_rest(sr_source *src, size_t *rest, sr_error *err)
{
    uint8_t buf[1 << 14];
    size_t total = 0, got = 0;
    do {
        sr_status st = sr_source_read(src, buf, sizeof buf, &got, err);
        if (st != SR_OK)
            return st;
        total += got;
    } while (got == sizeof buf);
    *rest = total;
    return SR_OK;
}

size_t sr_source_bound(const sr_source *src)
{
    if (!src->regular)
        return SIZE_MAX;
    uint64_t total = src->size;
    if (src->z) {
        /* Deflate writes at least 2 bits for 258 bytes, and the gzip
         * framing comes on top: 1032 times the stored size is a bound. */
        if (total > UINT64_MAX / 1032)
            return SIZE_MAX;
        total *= 1032;
    }
    if (total > SIZE_MAX)
        return SIZE_MAX;
    return total > src->offset ? (size_t)total - src->offset : 0;
}

void sr_source_close(sr_source *src)
{
    if (!src || !src->path)
        return;
    if (src->z) {
        inflateEnd(&src->z->zs);
        sr_dealloc(src->z);
    }
    close(src->fd);
    memset(src, 0, sizeof *src);
}
