/* A PNG encoder of one job: 8-bit RGB, one IDAT chunk compressed by zlib,
 * each scanline with filter 0. The report's pictures are small (28 x 28
 * weight images), where this is a few hundred bytes, a sixth of the same
 * picture as SVG rectangles. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "png.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A chunk at p: length, type, data (already at p + 8), CRC of type and
 * data. Returns the chunk's size. */
static size_t chunk(uint8_t *p, const char *type, size_t len)
{
    put32(p, (uint32_t)len);
    memcpy(p + 4, type, 4);
    uLong crc = crc32(0L, p + 4, (uInt)(len + 4));
    put32(p + 8 + len, (uint32_t)crc);
    return len + 12;
}

int png_encode_rgb(const uint8_t *rgb, size_t w, size_t h, uint8_t **out,
                   size_t *len)
{
    if (!w || !h || w > 1u << 16 || h > 1u << 16)
        return 0;
    size_t stride = 3 * w + 1, raw_len = stride * h;
    uint8_t *raw = malloc(raw_len);
    uLong bound = compressBound((uLong)raw_len);
    uint8_t *png = malloc(8 + 25 + 12 + bound + 12);
    if (!raw || !png)
        goto fail;
    for (size_t r = 0; r < h; r++) {
        raw[r * stride] = 0; /* filter: none */
        memcpy(raw + r * stride + 1, rgb + r * 3 * w, 3 * w);
    }
    static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(png, magic, 8);
    size_t at = 8;
    uint8_t *ihdr = png + at + 8;
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* filter method */
    ihdr[12] = 0; /* no interlace */
    at += chunk(png + at, "IHDR", 13);
    uLongf zlen = bound;
    if (compress2(png + at + 8, &zlen, raw, (uLong)raw_len, 9) != Z_OK)
        goto fail;
    at += chunk(png + at, "IDAT", zlen);
    at += chunk(png + at, "IEND", 0);
    free(raw);
    *out = png;
    *len = at;
    return 1;
fail:
    free(raw);
    free(png);
    return 0;
}

static void base64(FILE *f, const uint8_t *p, size_t len)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char q[4] = {digits[v >> 18], digits[(v >> 12) & 63],
                     i + 1 < len ? digits[(v >> 6) & 63] : '=',
                     i + 2 < len ? digits[v & 63] : '='};
        fwrite(q, 1, 4, f);
    }
}

int png_write_data_uri(FILE *f, const uint8_t *rgb, size_t w, size_t h)
{
    uint8_t *png;
    size_t len;
    if (!png_encode_rgb(rgb, w, h, &png, &len))
        return 0;
    fputs("data:image/png;base64,", f);
    base64(f, png, len);
    free(png);
    return 1;
}
