/* libFuzzer target: sr_gunzip_buffer, the gzip path of sr_read_file. On
 * success the output is compressed again (as one gzip member) and must
 * inflate back to the same bytes. */
#include "fuzz.h"

#include <zlib.h>

#include "core/internal.h"

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
        return 0;
    }
    FUZZ_CHECK(out != NULL);
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
