/* NumPy .npy files: a strict reader for tabular data (versions 1.0, 2.0
 * and 3.0; 1-D and 2-D arrays in C order; float, signed and unsigned
 * integer dtypes of either byte order). Parsing works on memory buffers
 * (for tests and the fuzzer); reading a file streams its payload into
 * place, so that a data set's features take their own size in memory and
 * no more. The writer for exported parameters is src/io/npy_write.h. */
#ifndef SR_DATA_NPY_H
#define SR_DATA_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

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

/* What a file's header announces. A 1-D array of n elements has ndim 1
 * and shape {n, 1}. */
typedef struct sr_npy_header {
    sr_npy_dtype dtype;
    size_t item_size;
    int little_endian; /* the file's byte order */
    size_t ndim;       /* 1 or 2 */
    size_t shape[2];
    size_t count;      /* shape[0] * shape[1] */
    size_t bytes;      /* count * item_size: the payload's size */
    size_t data_start; /* file offset of the payload */
} sr_npy_header;

/* A parsed array. `data` holds count * item_size bytes in the host's byte
 * order (converted from the file's), owned by the struct: release it with
 * sr_npy_array_free. Arrays with no elements (shape (0,) or (0, 3)) are
 * valid. */
typedef struct sr_npy_array {
    sr_npy_dtype dtype;
    size_t item_size;
    size_t ndim;     /* 1 or 2 */
    size_t shape[2];
    size_t count;    /* shape[0] * shape[1] */
    void *data;
} sr_npy_array;

/* Parses the preamble and header dict of a .npy file whose first `len`
 * bytes are buf: all of the header, or the whole file when it ends
 * sooner (then a header going beyond it is reported with the file's
 * size). Checks the magic, version, dict, dtype, order, rank and that
 * the shape's size fits; not the payload. `name` appears in every
 * message; on failure `*out` is untouched. */
sr_status sr_npy_parse_header(const uint8_t *buf, size_t len, const char *name,
                              sr_npy_header *out, sr_error *err);

/* Parses a whole .npy file held in memory. `name` (e.g. the path) appears in
 * every message. On failure `*out` is untouched. */
sr_status sr_npy_parse(const uint8_t *buf, size_t len, const char *name,
                       sr_npy_array *out, sr_error *err);

/* Reads `path` (gzip-compressed files are accepted too): the payload goes
 * straight into out->data. */
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
/* The same for a part of an array whose first element is element `first`
 * of the whole (which the messages name). */
sr_status sr_npy_to_f32_from(const sr_npy_array *arr, size_t first,
                             const char *name, float *out, sr_error *err);

/* Converts every element to int64 into out[0 .. arr->count), for labels.
 * Refuses floats that are not whole numbers (or not finite) and values
 * outside the int64 range, naming the first offending element. On failure
 * `out` is untouched. */
sr_status sr_npy_to_i64(const sr_npy_array *arr, const char *name,
                        int64_t *out, sr_error *err);

/* ---- A file read in two steps: its header, then its payload ----------- */

typedef struct sr_npy_file {
    sr_source src;
    sr_npy_header h;
} sr_npy_file;

/* Opens `path` and reads its header into f->h; the payload's size is
 * checked against the file where it can be before anything is allocated
 * for it. On failure nothing is held. */
sr_status sr_npy_open(const char *path, sr_npy_file *f, sr_error *err);

/* A float32 payload mapped from the file instead of read (x_f32 of a
 * data set that owns the mapping). */
typedef struct sr_npy_map {
    void *base;  /* what to give sr_unmap, or NULL: not mapped */
    size_t len;
    float *data; /* the payload, f->h.count floats */
} sr_npy_map;

/* Maps the payload of an uncompressed regular file holding float32 in
 * the host's byte order, right after sr_npy_open, checking that every
 * value is finite (an error names the first that is not). Anything else
 * (gzip, a pipe, another dtype or byte order, a mapping the system
 * refuses) leaves map->base NULL and SR_OK: read the payload with
 * sr_npy_read_f32. The file must not shrink while mapped. */
sr_status sr_npy_map_f32(sr_npy_file *f, sr_npy_map *map, sr_error *err);

/* Reads the payload as float32 into out[0 .. f->h.count): a float32 array
 * straight into out (bytes swapped there if the file's order is not the
 * host's), other dtypes a chunk at a time through a small buffer,
 * converted as sr_npy_to_f32 does. With `finite` set, NaN and infinities
 * are refused, naming the first. Then checks that nothing follows. */
sr_status sr_npy_read_f32(sr_npy_file *f, float *out, int finite,
                          sr_error *err);

/* Every one of out[0 .. count) finite; else an error naming the first
 * that is not as element first + i of the array h describes. */
sr_status sr_npy_check_finite(const float *out, size_t count, size_t first,
                              const sr_npy_header *h, const char *name,
                              sr_error *err);

/* Releases the file; accepts a zeroed or failed one. */
void sr_npy_close(sr_npy_file *f);

#endif
