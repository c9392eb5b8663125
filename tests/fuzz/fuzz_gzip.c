/* libFuzzer target: sr_gunzip_buffer, the gzip path of sr_read_file. On
 * success the output is compressed again (as one gzip member) and must
 * inflate back to the same bytes. The input as a file, read through
 * sr_source (the streaming reader of .npy files) in pieces of varying
 * sizes, must give the same status and bytes (a file without the gzip
 * magic: its own bytes). */
#include "fuzz.h"

#include <unistd.h>
#include <zlib.h>

#include "core/internal.h"
#include "data/source.h"

#define NAME "fuzz.gz"
#define MAX_ROUND_TRIP (1u << 20)

/* out[0..len) as one gzip member, in a malloc'd buffer. */
static uint8_t *gzip_bytes(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    FUZZ_CHECK(deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8,
                            Z_DEFAULT_STRATEGY) == Z_OK);
    uLong cap = deflateBound(&zs, (uLong)len) + 64;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    *out_len = (size_t)zs.total_out;
    deflateEnd(&zs);
    return out;
}

/* Reads the input back from a file through sr_source; `st`, out[0 ..
 * out_len) are sr_gunzip_buffer's answer. */
static void check_source(const uint8_t *data, size_t size, sr_status st,
                         const uint8_t *out, size_t out_len)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz-gzip-%ld.gz", (long)getpid());
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    int gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (!gzip) {
        st = SR_OK;
        out = data;
        out_len = size;
    }
    sr_source src;
    sr_error err;
    memset(&err, 0, sizeof err);
    FUZZ_CHECK(sr_source_open(path, &src, &err) == SR_OK);
    uint8_t piece[8192];
    size_t at = 0, want = 1, got = 0;
    sr_status st2;
    do {
        want = want * 7 % 8191 + 1;
        st2 = sr_source_read(&src, piece, want, &got, &err);
        if (st2 != SR_OK)
            break;
        FUZZ_CHECK(got <= want);
        if (st == SR_OK)
            FUZZ_CHECK(at + got <= out_len &&
                       (got == 0 || memcmp(piece, out + at, got) == 0));
        at += got;
    } while (got == want);
    sr_source_close(&src);
    FUZZ_CHECK(st2 == st);
    if (st2 == SR_OK)
        FUZZ_CHECK(at == out_len);
    else
        fuzz_check_error(st2, &err, path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st = sr_gunzip_buffer(data, size, NAME, &out, &out_len, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(out == NULL && out_len == 0);
        check_source(data, size, st, NULL, 0);
        return 0;
    }
    FUZZ_CHECK(out != NULL);
    check_source(data, size, st, out, out_len);
    if (out_len <= MAX_ROUND_TRIP) {
        size_t z_len = 0, back_len = 0;
        uint8_t *z = gzip_bytes(out, out_len, &z_len);
        uint8_t *back = NULL;
        FUZZ_CHECK(sr_gunzip_buffer(z, z_len, NAME, &back, &back_len, &err) ==
                   SR_OK);
        FUZZ_CHECK(back_len == out_len);
        FUZZ_CHECK(out_len == 0 || memcmp(back, out, out_len) == 0);
        sr_dealloc(back);
        free(z);
    }
    sr_dealloc(out);
    return 0;
}
