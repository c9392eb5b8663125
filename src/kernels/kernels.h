/* The numeric core. Letters follow the course: B rows in a minibatch,
 * n features, k classes (or d hidden units when a product feeds the hidden
 * layer). Matrices are row-major float32. Every function overwrites its
 * output; none allocates. */
#ifndef SR_KERNELS_H
#define SR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../data/dataset.h"

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

/* out (B, k) = X_b (B, n) @ W (n, k). Zero features are skipped: MNIST's
 * pixels are ~81% zeros. */
void sr_x_matmul(float *out, const sr_batch *b, const float *W, size_t k);

/* dW (n, k) = X_b^T (n, B) @ G (B, k), summed over the batch rows in order. */
void sr_xt_matmul(float *dW, const sr_batch *b, const float *G, size_t k);

/* C (m, p) = A (m, q) @ Bm (q, p). */
void sr_matmul(float *C, const float *A, const float *Bm, size_t m, size_t q,
               size_t p);
/* C (m, p) = A (m, q) @ Bm^T, Bm being (p, q). */
void sr_matmul_nt(float *C, const float *A, const float *Bm, size_t m,
                  size_t q, size_t p);
/* C (q, p) = A^T @ Bm, A being (m, q) and Bm (m, p), summed over m in order. */
void sr_matmul_tn(float *C, const float *A, const float *Bm, size_t m,
                  size_t q, size_t p);

/* Softmax with cross-entropy, fused: Z (B, k) holds logits on entry and
 * softmax(Z) - I_y on return (the gradient of the loss w.r.t. the logits).
 * Returns the summed loss of the rows, in double. Subtracting the row
 * maximum keeps exp() from overflowing for any finite logits. */
double sr_softmax_xent_grad(float *Z, const int32_t *y, size_t B, size_t k);

/* Summed loss and number of errors (argmax != y, first maximum wins) of
 * logits Z (B, k), leaving Z unchanged. */
double sr_softmax_xent_err(const float *Z, const int32_t *y, size_t B,
                           size_t k, size_t *errors);

/* H = max(H, 0) in place. */
void sr_relu(float *H, size_t count);
/* G = G where H > 0, else 0: the backward of ReLU, in place on G. */
void sr_drelu(float *G, const float *H, size_t count);

/* params -= scale * grad. */
void sr_axpy_update(float *params, const float *grad, float scale,
                    size_t count);

#endif
