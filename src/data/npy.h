/* NumPy .npy files: a strict reader for tabular data (versions 1.0, 2.0
 * and 3.0; 1-D and 2-D arrays in C order; float, signed and unsigned
 * integer dtypes of either byte order). The writer for exported
 * parameters is src/io/npy_write.h. */
#ifndef SR_DATA_NPY_H
#define SR_DATA_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"

/* New values go at the end. */
typedef enum sr_npy_dtype {
    SR_NPY_F4 = 0, /* float32 */
    SR_NPY_F8 = 1, /* float64 */
    SR_NPY_U1 = 2, /* uint8 */
    SR_NPY_I1 = 3, /* int8 */
    SR_NPY_U2 = 4, /* uint16 */
    SR_NPY_I2 = 5, /* int16 */
    SR_NPY_U4 = 6, /* uint32 */
    SR_NPY_I4 = 7, /* int32 */
    SR_NPY_U8 = 8, /* uint64 */
    SR_NPY_I8 = 9  /* int64 */
} sr_npy_dtype;

/* A parsed array. `data` holds count * item_size bytes in the host's byte
 * order (converted from the file's), owned by the struct: release it with
 * sr_npy_array_free. A 1-D array of n elements has ndim 1 and shape {n, 1}.
 * Arrays with no elements (shape (0,) or (0, 3)) are valid. */
typedef struct sr_npy_array {
    sr_npy_dtype dtype;
    size_t item_size;
    size_t ndim;     /* 1 or 2 */
    size_t shape[2];
    size_t count;    /* shape[0] * shape[1] */
    void *data;
} sr_npy_array;

/* Parses a whole .npy file held in memory. `name` (e.g. the path) appears in
 * every message. On failure `*out` is untouched. */
sr_status sr_npy_parse(const uint8_t *buf, size_t len, const char *name,
                       sr_npy_array *out, sr_error *err);

/* Reads and parses `path` (gzip-compressed files are accepted too). */
sr_status sr_npy_read(const char *path, sr_npy_array *out, sr_error *err);

/* Frees the data and zeroes the struct; accepts NULL and a zeroed struct. */
void sr_npy_array_free(sr_npy_array *arr);

/* "float32", "int64", ... */
const char *sr_npy_dtype_name(sr_npy_dtype dtype);

/* Converts every element to float32 into out[0 .. arr->count), as NumPy's
 * astype(np.float32) does (integers round to nearest). Refuses a finite
 * float64 beyond the float32 range. `name` appears in messages; on failure
 * `out` is untouched. */
sr_status sr_npy_to_f32(const sr_npy_array *arr, const char *name, float *out,
                        sr_error *err);

/* Converts every element to int64 into out[0 .. arr->count), for labels.
 * Refuses floats that are not whole numbers (or not finite) and values
 * outside the int64 range, naming the first offending element. On failure
 * `out` is untouched. */
sr_status sr_npy_to_i64(const sr_npy_array *arr, const char *name,
                        int64_t *out, sr_error *err);

#endif
