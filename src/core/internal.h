/* Helpers shared by every part of the library; not part of the public API. */
#ifndef SR_CORE_INTERNAL_H
#define SR_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "softreg.h"

#if defined(__GNUC__)
#define SR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SR_PRINTF(fmt, args)
#endif

/* Fills `err` (if not NULL) with `code` and a formatted message; returns
 * `code`, so callers write `return sr_fail(err, SR_ERR_IO, "...", ...)`. */
sr_status sr_fail(sr_error *err, sr_status code, const char *fmt, ...)
    SR_PRINTF(3, 4);

/* a * b, or 0 when the product overflows size_t (callers treat 0 from
 * non-zero factors as overflow). */
int sr_mul_overflows(size_t a, size_t b, size_t *product);

/* Allocation goes through these so that tests can make the N-th call fail.
 * sr_alloc_array checks count * size for overflow. Both may return NULL. */
void *sr_alloc(size_t bytes);
void *sr_alloc_array(size_t count, size_t size);
void *sr_alloc_zeroed(size_t count, size_t size);
void sr_dealloc(void *p);
/* A big block about to be written in full (a file's bytes, the listed
 * pixels): asks Linux to back its aligned 2 MB stretches with huge pages,
 * one page fault each instead of 512. A hint; elsewhere nothing. */
void sr_hint_huge_pages(void *p, size_t bytes);

/* Reads a whole file into memory; a file starting with the gzip magic bytes
 * is decompressed. `*data` is owned by the caller (sr_dealloc). */
sr_status sr_read_file(const char *path, uint8_t **data, size_t *len,
                       sr_error *err);

/* A whole file to read, without a copy where possible: a regular file that
 * is not gzip is mapped (its pages are the page cache's: nothing copied,
 * no fresh pages to zero, which for MNIST's 47 MB of images was a third of
 * the loading time); anything else is read as by sr_read_file. */
typedef struct sr_file_view {
    const uint8_t *data;
    size_t len;
    void *mapped;    /* the mapping, or NULL */
    uint8_t *owned;  /* or the buffer read, or NULL */
} sr_file_view;

sr_status sr_view_file(const char *path, sr_file_view *view, sr_error *err);
/* len bytes at offset `at` of the open file fd (named path in messages)
 * into dst; a file shorter than at + len is SR_ERR_IO. For readers that
 * read a part of a file (sharded loading). */
sr_status sr_read_at(int fd, const char *path, void *dst, size_t len,
                     uint64_t at, sr_error *err);
/* Unmaps a mapping (a view's, taken over by its new owner); NULL is
 * nothing. */
void sr_unmap(void *base, size_t len);
/* Releases either kind; a zeroed view is released as nothing. */
void sr_view_release(sr_file_view *view);

/* Inflates the whole gzip stream in[0..len) (one or more members) into a new
 * buffer `*out` owned by the caller (sr_dealloc). A stream that is cut off or
 * corrupt is SR_ERR_FORMAT; `name` (NULL = "(buffer)") appears in messages.
 * sr_read_file uses it; tests and fuzzers call it on memory. */
sr_status sr_gunzip_buffer(const uint8_t *in, size_t len, const char *name,
                           uint8_t **out, size_t *out_len, sr_error *err);

/* Writes `len` bytes to `path` atomically: a temporary file beside it,
 * flushed to disk, then renamed over `path`. On failure `path` is untouched
 * and the temporary file is removed. */
sr_status sr_write_file_atomic(const char *path, const void *data, size_t len,
                               sr_error *err);

/* The exact float32 value of pixel v, (float)v / 255.0f, as NumPy computes
 * X.astype(np.float32) / 255.0. */
extern const float sr_pixel_scale[256];

#endif
