/* The numeric core. Letters follow the course: B rows in a minibatch,
 * n features, k classes (or d hidden units when a product feeds the hidden
 * layer). Matrices are row-major float32; a parameter matrix W (n, ld) has
 * its rows padded to ld floats, a multiple of 16 (one 64-byte line), whose
 * padding lanes are zero and stay zero.
 *
 * The kernels see data through views of their own (sr_xview, sr_csc), never
 * through a data set. The innermost loops live in a table of function
 * pointers: a plain-C reference (kernels/ref.c, always built, the fallback
 * and the tests' oracle) and versions for AVX2 and AVX-512 (kernels/x86/,
 * one body written once for both), chosen once at run time from the CPU,
 * or forced with SOFTREG_ARCH=ref|avx2|avx512.
 *
 * Every sum runs in an order fixed by the data, stated with each kernel:
 * splitting the work across threads (by rows, columns or lanes) never
 * changes a bit, and the AVX2 and AVX-512 kernels agree bit for bit. The
 * reference multiplies and adds where they fuse, so it agrees with them to
 * rounding. */
#ifndef SR_KERNELS_H
#define SR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"

/* ---- Data as the kernels see it ---- */

typedef enum sr_xfmt {
    SR_X_U8S = 0, /* sparse pixels: col16 and u8, value sr_pixel_scale[v] */
    SR_X_CSR = 1, /* sparse floats: col32 and f32 */
    SR_X_F32 = 2, /* dense floats (m, n) in f32 */
    SR_X_U8 = 3   /* dense pixels (m, n) in u8, value sr_pixel_scale[v] */
} sr_xfmt;

/* The features of a set of rows. Sparse rows list their stored entries in
 * increasing column order: row r's are [ptr[r], ptr[r + 1]). */
typedef struct sr_xview {
    sr_xfmt fmt;
    size_t n;
    const size_t *ptr;
    const uint16_t *col16;
    const uint32_t *col32;
    const uint8_t *u8;
    const float *f32;
} sr_xview;

static inline int sr_xview_sparse(const sr_xview *X)
{
    return X->fmt == SR_X_U8S || X->fmt == SR_X_CSR;
}

/* A block of rows of sparse data transposed (its rows as columns): ncols
 * non-empty columns; column q is feature col[q], its entries e in
 * [end[q - 1], end[q]) (end[-1] = 0) are (row[e], value) with rows (0-based
 * within the block) increasing; the value is sr_pixel_scale[u8[e]] or
 * f32[e]. Columns may come in any order. */
typedef struct sr_csc {
    size_t ncols;
    const uint32_t *col;
    const uint32_t *end;
    const uint16_t *row;
    const uint8_t *u8;   /* or NULL */
    const float *f32;    /* or NULL */
} sr_csc;

/* How a parameter row w moves, given a, its gradient summed over a
 * minibatch of B rows (the rules of optim/sgd.c, applied lane by lane,
 * every operation rounded to float32 in this order):
 *   SR_RULE_SGD:      w = w - scale a                  (scale = lr / B)
 *   SR_RULE_DECAY:    w = w - (scale a + decay w)      (decay = lr l2)
 *   SR_RULE_MOMENTUM: v = mu v + (invB a + l2 w); w = w - lr v
 *   SR_RULE_ADD:      w = w + a                        (full gradients)
 * The velocity v lives in V, at the same place as w in W. */
typedef enum sr_rule_kind {
    SR_RULE_SGD = 0,
    SR_RULE_DECAY = 1,
    SR_RULE_MOMENTUM = 2,
    SR_RULE_ADD = 3
} sr_rule_kind;

typedef struct sr_rule {
    sr_rule_kind kind;
    float scale, decay;
    float mu, lr, invB, l2;
    float *V;
} sr_rule;

/* ---- The table ---- */

typedef struct sr_kernel_table {
    const char *name;

    /* Y[i][c0 .. c1) = (x W + b)[c0 .. c1), ReLU'd when `relu`, for the
     * rows x of X given by rows[i] (or first + i when rows is NULL), i < B.
     * X is sparse (U8S or CSR); W is (n, ldw), b (ldw) or NULL; Y has row
     * stride ldy; c0 and c1 are multiples of 16. Each output is one sum over
     * the row's entries in column order, from zero, a fused multiply-add per
     * entry, then + b. Overwrites Y's slice. */
    void (*sparse_fwd)(float *Y, size_t ldy, const sr_xview *X,
                       const size_t *rows, size_t first, size_t B,
                       const float *W, size_t ldw, const float *b, size_t c0,
                       size_t c1, int relu);
    /* The same for ldw = ldy = 16, c0 = 0, c1 = 16, no ReLU, each output as
     * four partial sums taking turns (entry p goes to sum p mod 4), added
     * as (s0 + s1) + (s2 + s3), then + b: the course's logits, where one
     * chain of fused multiply-adds would wait on itself. */
    void (*sparse_fwd16)(float *Y, const sr_xview *X, const size_t *rows,
                         size_t first, size_t B, const float *W,
                         const float *b);
    /* Y[i][c0 .. c1) = (X[i] W + b)[c0 .. c1), ReLU'd when `relu`, for
     * i < B: X (B, ldx) dense floats of n features; c0 a multiple of 16,
     * c1 of 8 (a slice may end in half a 16-lane group). Each output is one
     * sum over j = 0 .. n-1 in order, from zero, a fused multiply-add per
     * term, then + b. */
    void (*dense_fwd)(float *Y, size_t ldy, const float *X, size_t ldx,
                      size_t B, size_t n, const float *W, size_t ldw,
                      const float *b, size_t c0, size_t c1, int relu);

    /* For the transpose's columns q in [q0, q1): a = the sum over the
     * column's entries e, rows in order, of value_e G[row_e][c0 .. c1),
     * from zero, one fused multiply-add per entry; then the rule moves
     * W[col_q][c0 .. c1) by a. G has row stride ldg. */
    void (*sparse_step)(float *W, size_t ldw, const sr_csc *T, size_t q0,
                        size_t q1, const float *G, size_t ldg, size_t c0,
                        size_t c1, const sr_rule *rule);
    /* acc[col][c0 .. c1) += value G[i][c0 .. c1) for every stored entry
     * (col, value) of the sparse rows rows[i] (or first + i), i < B, rows in
     * order, each row's entries in column order: one fused multiply-add per
     * entry, so that each of acc's rows holds, lane by lane, the same chain
     * as sparse_step's sum. acc has rows of lda floats. */
    void (*sparse_scatter)(float *acc, size_t lda, const sr_xview *X,
                           const size_t *rows, size_t first, size_t B,
                           const float *G, size_t ldg, size_t c0, size_t c1);
    /* Rows j in [j0, j1) of W move by the rule by a = acc[j][c0 .. c1),
     * which then becomes zero. */
    void (*apply_rows)(float *W, size_t ldw, float *acc, size_t j0, size_t j1,
                       size_t c0, size_t c1, const sr_rule *rule);
    /* For rows j in [j0, j1) of W: a = sum over i < B in order of
     * X[i][j] G[i][c0 .. c1), from zero, one fused multiply-add per term;
     * then the rule moves W[j][c0 .. c1) by a. c0 and c1 as dense_fwd's. */
    void (*dense_step)(float *W, size_t ldw, const float *X, size_t ldx,
                       size_t B, size_t j0, size_t j1, const float *G,
                       size_t ldg, size_t c0, size_t c1, const sr_rule *rule);

    /* Softmax with cross-entropy of rows i < B of Z (row stride ldz, k
     * classes in the first lanes): Z[i] becomes softmax(z) - e_y (lanes >=
     * k zero; with y NULL, just the probabilities) and loss[i] (may be NULL
     * when y is) = log sum exp (z - max) - (z_y - max). The row maximum is
     * subtracted first, so no finite logit overflows exp; the sum of the
     * exponentials runs, lane l of 16, over the classes c = l mod 16 in
     * order, then as a tree over the lanes (l + 8, then + 4, + 2, + 1). */
    void (*softmax_grad)(float *Z, size_t ldz, const int32_t *y, size_t B,
                         size_t k, double *loss);
    /* The same loss without the gradient: returns the sum of the rows'
     * losses in row order and adds to *wrong the rows whose first largest
     * logit is not the label's. Z is left alone. */
    double (*softmax_eval)(const float *Z, size_t ldz, const int32_t *y,
                           size_t B, size_t k, size_t *wrong);

    /* The network's logits, rows i in [i0, i1): Z[i] = H[i] W2 + b over the
     * first d hidden units, W2 (d, ldz) row-major, as four partial sums
     * taking turns (unit a goes to sum a mod 4 while four remain, the rest
     * to the first), each term a product then an addition, added as
     * (s0 + s1) + (s2 + s3), then + b (may be NULL). */
    void (*nn_logits)(float *Z, size_t ldz, const float *H, size_t ldh,
                      size_t d, const float *W2, const float *b, size_t i0,
                      size_t i1);
    /* Hidden slice [c0, c1) after the output, for i < B: G1[i][c] =
     * 1{H[i][c] > 0} (G2[i] W2^T)[c], a fused multiply-add per class c < k
     * in order, from zero, with W2T (k rows of ldh); then Wout (laid out as
     * W2T) [:, c0 .. c1) moves by a = G2^T H (a sum over i in order,
     * fused), by the rule; then, when W2 is not NULL, its rows [c0, c1)
     * (ldh rows of ldg, row-major) become Wout's, transposed. G1 and H have
     * row stride ldh, G2 ldg. Wout may be W2T: each slice reads only its
     * own lanes of W2T before it moves them. */
    void (*nn_backward)(float *G1, const float *H, size_t ldh,
                        const float *G2, size_t ldg, size_t B,
                        const float *W2T, float *Wout, float *W2, size_t k,
                        size_t c0, size_t c1, const sr_rule *rule);

    /* out[j] = sr_pixel_scale[in[j]] for j < len, exactly. */
    void (*pixels_to_float)(float *out, const uint8_t *in, size_t len);
} sr_kernel_table;

/* Padded width of a row of d floats: a multiple of 16 (one 64-byte line). */
#define SR_PAD16(d) (((d) + 15) / 16 * 16)

/* The table in use: the best the CPU supports, unless SOFTREG_ARCH names
 * another. Thread-safe; chosen once. */
const sr_kernel_table *sr_kernels(void);
/* A table by name ("ref", "avx2", "avx512"), or NULL when this machine or
 * build cannot run it. For tests and benchmarks. */
const sr_kernel_table *sr_kernels_named(const char *name);

extern const sr_kernel_table sr_kernels_ref;

/* A rule applied to one row of `len` lanes in plain C: the reference's
 * form, and the form every table uses for the few rows (biases) outside
 * the kernels. */
void sr_rule_apply_row(const sr_rule *rule, float *w, float *v,
                       const float *a, size_t len);

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

#endif
