/* IDX (MNIST) parsing on memory buffers, so that tests and fuzzers can feed
 * bytes directly. The file loaders in idx.c are built on these. */
#ifndef SR_DATA_IDX_H
#define SR_DATA_IDX_H

#include "dataset.h"

/* Big-endian magic numbers: 0x00 0x00, type 0x08 (unsigned byte), rank. */
#define SR_IDX_MAGIC_LABELS 0x00000801u /* 1-D ubyte: count */
#define SR_IDX_MAGIC_IMAGES 0x00000803u /* 3-D ubyte: count, rows, cols */

#define SR_IDX_LABELS_HEADER 8  /* bytes before the first label */
#define SR_IDX_IMAGES_HEADER 16 /* bytes before the first pixel */

/* Checks a whole IDX images file held in buf[0..len): magic, non-zero
 * dimensions, no overflow, and exactly header + count*rows*cols bytes.
 * Allocates nothing; the pixels are buf + SR_IDX_IMAGES_HEADER. `name` is
 * the path used in messages. */
sr_status sr_idx_check_images(const uint8_t *buf, size_t len, const char *name,
                              size_t *count, size_t *rows, size_t *cols,
                              sr_error *err);

/* Checks a whole IDX labels file: magic, count > 0, and exactly header +
 * count bytes. The labels are buf + SR_IDX_LABELS_HEADER. */
sr_status sr_idx_check_labels(const uint8_t *buf, size_t len, const char *name,
                              size_t *count, sr_error *err);

/* sr_idx_check_images, then copies the pixels into a new (count, rows*cols)
 * array owned by the caller (sr_dealloc). Outputs untouched on failure. */
sr_status sr_idx_parse_images(const uint8_t *buf, size_t len, const char *name,
                              uint8_t **pixels, size_t *count, size_t *rows,
                              size_t *cols, sr_error *err);

/* sr_idx_check_labels, then widens the labels into a new int32 array owned
 * by the caller; `*classes` is 1 + the largest label. Outputs untouched on
 * failure. */
sr_status sr_idx_parse_labels(const uint8_t *buf, size_t len, const char *name,
                              int32_t **labels, size_t *count, size_t *classes,
                              sr_error *err);

#endif
