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

struct sr_batch_csc;

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

    /* ---- Fused kernels of the engine's fast paths (train/engine.c) ----
     * Rows are sparse uint8 (SR_FEATURES_U8_SPARSE), named by index:
     * rows[i] for i < B. Parameters are the engine's padded copies: theta
     * (n, 16) for softmax regression with k <= 16, W1 (n, ld) and W2^T
     * (16, ld) for the network, ld = SR_PAD16(d); every padding lane is 0
     * and stays 0. Outputs of width k are written as 16 floats (lanes >= k
     * zero). The network also keeps W2 (ld, 16) row-major. Column slices
     * [c0, c1) are multiples of 16. Every sum runs in an order fixed by
     * the data (rows in order, each row's entries in column order), so
     * that splitting the work never changes a bit; the AVX2 and AVX-512
     * versions also agree bit for bit (x86/fused.inc), the reference to
     * rounding (it multiplies and adds where they fuse). */

    /* Softmax regression, forward and loss gradient of B rows: G[i] (16) =
     * softmax(x_i theta) - e_y, loss[i] = log sum exp (x_i theta) - the
     * label's logit. */
    void (*sm_rows_grad)(float *G, double *loss, const sr_dataset *ds,
                         const size_t *rows, size_t B, const float *theta,
                         size_t k);
    /* theta rows [j0, j1) -= scale * sum_i x_i^T G[i] (the product, then
     * the subtraction, as NumPy does), the sum over the batch's rows in
     * order, each row contributing its entries of slice s of S: entries
     * [cut(s - 1), cut(s)) with cut(-1) = 0, cut(S - 1) = the row's
     * count and cut(s) = cuts[r (S - 1) + s] otherwise (their columns are
     * in [j0, j1)). acc (j1 - j0, 16) is zero on entry and on return. */
    void (*sm_step)(float *theta, float *acc, size_t j0, size_t j1,
                    const sr_dataset *ds, const size_t *rows, size_t B,
                    const float *G, float scale, const uint16_t *cuts,
                    size_t S, size_t s);
    /* Evaluation of rows [r0, r1): returns the sum of their losses (in row
     * order) and adds to *wrong the rows whose first largest logit is not
     * the label's. */
    double (*sm_eval)(size_t *wrong, const sr_dataset *ds, size_t r0,
                      size_t r1, const float *theta, size_t k);

    /* The network. H[i][c0 .. c1) = ReLU(x_i W1)[c0 .. c1) for i < B; H
     * has row stride ld. */
    void (*nn_hidden)(float *H, const sr_dataset *ds, const size_t *rows,
                      size_t B, const float *W1, size_t ld, size_t c0,
                      size_t c1);
    /* For i in [i0, i1): z = H[i] W2 over the first d hidden units, with
     * W2 (ld, 16) row-major, as four partial sums taking turns (unit a
     * goes to sum a mod 4 while four remain, the rest to the first), each
     * term a product then an addition, added as (s0 + s1) + (s2 + s3);
     * then G2[i] (16) = softmax(z) - e_y with y = ds->y[rows[i]], and
     * loss[i] its loss. */
    void (*nn_output)(float *G2, double *loss, const float *H, size_t ld,
                      size_t d, const float *W2, size_t k,
                      const sr_dataset *ds, const size_t *rows, size_t i0,
                      size_t i1);
    /* Hidden slice [c0, c1) after the output: G1[i][c] = 1{H[i][c] > 0}
     * (G2[i] W2^T)[c] for i < B, then W2^T[:, c0 .. c1) -= scale *
     * (G2^T H)[:, c0 .. c1) (sum over i in order), and the rows [c0, c1)
     * of the row-major copy W2 (ld, 16) follow. */
    void (*nn_backward)(float *G1, const float *H, size_t ld, const float *G2,
                        size_t B, float *W2T, float *W2, size_t k, size_t c0,
                        size_t c1, float scale);
    /* W1[j][c0 .. c1) -= scale * sum_i x_ij G1[i][c0 .. c1) for every
     * column j listed in the batch's transpose X (rows in order). */
    void (*nn_w1_step)(float *W1, size_t ld, const struct sr_batch_csc *X,
                       const float *G1, size_t c0, size_t c1, float scale);
    /* Evaluation of rows [r0, r1) as sm_eval; h is scratch of
     * SR_NN_EVAL_BLOCK rows of ld floats. */
    double (*nn_eval)(size_t *wrong, const sr_dataset *ds, size_t r0,
                      size_t r1, const float *W1, size_t ld, size_t d,
                      const float *W2, size_t k, float *h);
} sr_kernel_table;

/* A minibatch's features transposed (its rows as columns): ncols
 * non-empty columns col[c], whose entries (batch row, pixel value) are
 * row[e], val[e] for e in [end[c - 1], end[c]) (end[-1] = 0), rows in
 * increasing order. */
typedef struct sr_batch_csc {
    size_t ncols;
    const uint16_t *col;
    const uint32_t *end;
    const uint16_t *row;
    const uint8_t *val;
} sr_batch_csc;

/* Rows whose hidden layer nn_eval computes together, so that each slice
 * of W1 it reads serves all of them. */
#define SR_NN_EVAL_BLOCK 64

/* Padded width of a row of d floats: a multiple of 16 (one 64-byte line). */
#define SR_PAD16(d) (((d) + 15) / 16 * 16)

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

/* Fully unrolls the next loop (of a constant trip count), so that arrays
 * of vector accumulators live in registers, not on the stack. */
#if defined(__clang__)
#define SR_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define SR_UNROLL _Pragma("GCC unroll 32")
#else
#define SR_UNROLL
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
