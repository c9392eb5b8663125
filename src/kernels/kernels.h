/* The numeric core. Letters follow the course: B rows in a minibatch,
 * n features, k classes (or d hidden units when a product feeds the hidden
 * layer). Matrices are row-major float32.
 *
 * The innermost loops live in a table of function pointers: a plain-C
 * reference (kernels/ref.c, always built, the fallback and the tests'
 * oracle) and versions for AVX2 and AVX-512 (kernels/x86/), chosen once at
 * run time from the CPU, or forced with SOFTREG_ARCH=ref|avx2|avx512. The
 * rest of the library calls only the table and the helpers below. */
#ifndef SR_KERNELS_H
#define SR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../data/dataset.h"

/* One example's features as a list of (column, value) entries in
 * increasing column order. Exactly one representation is set:
 * col16/val8 (MNIST's sparse pixels, value sr_pixel_scale[v]),
 * col32/valf (LIBSVM rows), or valf alone (a dense row: column = index). */
typedef struct sr_row {
    size_t nnz;
    const uint16_t *col16;
    const uint8_t *val8;
    const uint32_t *col32;
    const float *valf;
} sr_row;

typedef struct sr_kernel_table {
    const char *name;
    /* out (k) = x (1, n) @ W (n, k), over the row's stored entries in
     * order. Overwrites out. */
    void (*row_matmul)(float *out, const sr_row *x, const float *W, size_t k);
    /* acc[(j - j0) * lda + c] += x_j * g[c] for the row's entries p in
     * [p0, p1) and c < k: the row's share of X^T G for one chunk of
     * columns. lda >= k is acc's row stride; SR_ACC_STRIDE(k) keeps rows in
     * separate 64-byte lines, so that a masked store to one row never
     * blocks the next row's load (store forwarding fails on overlap). */
    void (*row_outer_add)(float *acc, size_t lda, size_t j0, const sr_row *x,
                          size_t p0, size_t p1, const float *g, size_t k);
    /* y (len) += a * x (len). */
    void (*axpy)(float *y, float a, const float *x, size_t len);
    /* Softmax with cross-entropy of one row of logits z (k), fused: z
     * becomes softmax(z) - e_y (the gradient w.r.t. the logits; y < 0
     * leaves the probabilities). Returns the loss log(sum exp z) - z_y
     * (0 when y < 0). The row maximum is subtracted first, so no finite
     * logit overflows exp. */
    double (*softmax_xent)(float *z, int32_t y, size_t k);
} sr_kernel_table;

/* Row stride of gradient accumulators: k rounded up to 16 floats. */
#define SR_ACC_STRIDE(k) (((k) + 15) / 16 * 16)

/* The table in use: the best the CPU supports, unless SOFTREG_ARCH names
 * another. Thread-safe; chosen once. */
const sr_kernel_table *sr_kernels(void);
/* A table by name ("ref", "avx2", "avx512"), or NULL when this machine or
 * build cannot run it. For tests and benchmarks. */
const sr_kernel_table *sr_kernels_named(const char *name);

extern const sr_kernel_table sr_kernels_ref;

/* Row r of a data set as an sr_row. */
static inline sr_row sr_dataset_row(const sr_dataset *ds, size_t r)
{
    sr_row x = {0, NULL, NULL, NULL, NULL};
    switch (ds->layout) {
    case SR_FEATURES_U8_SPARSE:
        x.nnz = ds->row_ptr[r + 1] - ds->row_ptr[r];
        x.col16 = ds->col16 + ds->row_ptr[r];
        x.val8 = ds->val8 + ds->row_ptr[r];
        break;
    case SR_FEATURES_CSR:
        x.nnz = ds->row_ptr[r + 1] - ds->row_ptr[r];
        x.col32 = ds->col + ds->row_ptr[r];
        x.valf = ds->val + ds->row_ptr[r];
        break;
    case SR_FEATURES_F32:
        x.nnz = ds->n;
        x.valf = ds->x_f32 + r * ds->n;
        break;
    case SR_FEATURES_U8:
        /* Dense uint8 only remains for n > 65536 (see sparsify); such data
         * sets are converted to float CSR before training. */
        break;
    }
    return x;
}

static inline size_t sr_row_col(const sr_row *x, size_t p)
{
    return x->col16 ? x->col16[p] : x->col32 ? x->col32[p] : p;
}

static inline float sr_row_val(const sr_row *x, size_t p)
{
    return x->val8 ? sr_pixel_scale[x->val8[p]] : x->valf[p];
}

/* For SIMD kernels: the row's format as a number, so that a kernel written
 * once as an always-inline function with a constant `fmt` argument is
 * compiled into one branch-free loop per format. */
enum { SR_ROW_U8 = 0, SR_ROW_CSR = 1, SR_ROW_DENSE = 2 };

static inline int sr_row_format(const sr_row *x)
{
    return x->col16 ? SR_ROW_U8 : x->col32 ? SR_ROW_CSR : SR_ROW_DENSE;
}

#if defined(__GNUC__)
#define SR_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SR_ALWAYS_INLINE inline
#endif

static SR_ALWAYS_INLINE size_t sr_col_at(const sr_row *x, size_t p, int fmt)
{
    return fmt == SR_ROW_U8 ? x->col16[p] : fmt == SR_ROW_CSR ? x->col32[p] : p;
}

static SR_ALWAYS_INLINE float sr_val_at(const sr_row *x, size_t p, int fmt)
{
    return fmt == SR_ROW_U8 ? sr_pixel_scale[x->val8[p]] : x->valf[p];
}

/* The first entry p of the row with column >= j (binary search). */
size_t sr_row_lower_bound(const sr_row *x, size_t j);

/* A minibatch: `count` rows of `ds`, taken either in order from `first`, or
 * as order[first .. first+count) when `order` is not NULL (shuffled epochs). */
typedef struct sr_batch {
    const sr_dataset *ds;
    size_t first;
    size_t count;
    const size_t *order;
} sr_batch;

static inline size_t sr_batch_row(const sr_batch *b, size_t i)
{
    return b->order ? b->order[b->first + i] : b->first + i;
}

#endif
