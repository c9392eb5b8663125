/* Writing .npy files: a C-order little-endian float32 array as NPY 1.0,
 * byte for byte as numpy.save writes it (the format: src/data/npy.c). */
#include <stdio.h>
#include <string.h>

#include "npy_write.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
/* numpy.save leaves room after the dict for the first dimension to grow to
 * this many digits, so that appending rows can rewrite the header in place. */
#define NPY_GROWTH_DIGITS 21

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Copies `count` items of `size` bytes, reversing the bytes of each. */
static void copy_swapped(uint8_t *dst, const uint8_t *src, size_t count,
                         size_t size)
{
    for (size_t i = 0; i < count; i++, dst += size, src += size)
        for (size_t b = 0; b < size; b++)
            dst[b] = src[size - 1 - b];
}

sr_status sr_npy_write_f32(const char *path, const float *data, size_t rows,
                           size_t cols, sr_error *err)
{
    if (!path)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_npy_write_f32: NULL path");
    size_t count = rows;
    if (cols && sr_mul_overflows(rows, cols, &count))
        return sr_fail(err, SR_ERR_TOO_BIG, "%s: shape (%zu, %zu) is too "
                       "large", path, rows, cols);
    if (!data && count)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_npy_write_f32: NULL argument");

    char dict[160];
    int n = cols ? snprintf(dict, sizeof dict,
                            "{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (%zu, %zu), }", rows, cols)
                 : snprintf(dict, sizeof dict,
                            "{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (%zu,), }", rows);
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%zu", rows);
    if (n < 0 || nd < 0 || (size_t)n >= sizeof dict)
        return sr_fail(err, SR_ERR_INVALID_ARG, "%s: cannot format the .npy "
                       "header", path);
    size_t dict_len = (size_t)n;
    if (nd < NPY_GROWTH_DIGITS)
        dict_len += (size_t)(NPY_GROWTH_DIGITS - nd);
    /* numpy.save pads with 1 to 64 spaces (never 0) before the newline. */
    size_t prefix = NPY_MAGIC_LEN + 2 + 2;
    size_t unpadded = prefix + dict_len + 1;
    size_t header_len = dict_len + 1 + (NPY_ALIGN - unpadded % NPY_ALIGN);

    size_t data_bytes, total;
    if (sr_mul_overflows(count, sizeof(float), &data_bytes) ||
        prefix + header_len > SIZE_MAX - data_bytes)
        return sr_fail(err, SR_ERR_TOO_BIG, "%s: array too large", path);
    total = prefix + header_len + data_bytes;
    uint8_t *buf = sr_alloc(total);
    if (!buf)
        return sr_fail(err, SR_ERR_NOMEM,
                       "%s: out of memory for %zu bytes of .npy output", path,
                       total);
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (uint8_t)(header_len & 0xff);
    buf[9] = (uint8_t)(header_len >> 8);
    memset(buf + prefix, ' ', header_len - 1);
    memcpy(buf + prefix, dict, (size_t)n);
    buf[prefix + header_len - 1] = '\n';
    if (data_bytes && host_is_little_endian())
        memcpy(buf + prefix + header_len, data, data_bytes);
    else if (data_bytes)
        copy_swapped(buf + prefix + header_len, (const uint8_t *)data, count,
                     sizeof(float));
    sr_status st = sr_write_file_atomic(path, buf, total, err);
    sr_dealloc(buf);
    return st;
}
