/* Writing NumPy .npy files, for exported parameters (the reader is
 * src/data/npy.h). */
#ifndef SR_IO_NPY_WRITE_H
#define SR_IO_NPY_WRITE_H

#include <stddef.h>

#include "../core/internal.h"

/* Writes a C-order little-endian float32 array as NPY 1.0, byte for byte as
 * numpy.save writes it: shape (rows, cols), or (rows,) when cols is 0. The
 * file is written atomically. */
sr_status sr_npy_write_f32(const char *path, const float *data, size_t rows,
                           size_t cols, sr_error *err);

#endif
