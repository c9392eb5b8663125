/* The minibatch engine shared by SGD, full-batch gradients and evaluation.
 *
 * A minibatch is processed in two parallel phases:
 *   1. rows: each row's forward pass and the gradient of its loss w.r.t.
 *      the outputs (and, for the network, the hidden layer);
 *   2. parameter chunks: each chunk of parameter rows sums its gradient
 *      over the batch's rows in order, then is updated (SGD) or added to a
 *      full gradient.
 * Every sum runs in an order fixed by the data, never by the threads, so
 * any thread count gives the same bits. Buffers are allocated once per run. */
#ifndef SR_TRAIN_ENGINE_H
#define SR_TRAIN_ENGINE_H

#include "../models/model.h"

/* A chunk of one parameter block's rows [j0, j1). */
typedef struct sr_chunk {
    size_t block, j0, j1;
} sr_chunk;

/* How SGD moves the parameters after a minibatch of B rows with summed
 * gradient g: with momentum mu, v = mu v + (g / B + l2 w); w -= lr v;
 * without, w -= (lr / B) g + lr l2 w, which for l2 = 0 is the course's
 * theta -= lr/B * X^T (Z - I_y). */
typedef struct sr_step {
    double lr, l2, momentum;
} sr_step;

typedef struct sr_engine {
    const sr_model *model;
    const sr_kernel_table *K;
    size_t nthreads;
    size_t max_rows;   /* rows per minibatch at most */
    float *Z;          /* (max_rows, k) outputs, then their gradients */
    float *H;          /* (max_rows, d) hidden layer (network) */
    float *G1;         /* (max_rows, d) its gradient (network) */
    double *row_loss;  /* (max_rows) */
    float *acc;        /* per thread: one chunk's gradient */
    size_t acc_size;   /* floats per thread */
    float *tmp;        /* per thread: k floats */
    sr_row_scratch *scratch; /* per thread */
    sr_chunk *chunks;
    size_t nchunks;
    float *velocity;   /* (nparams) for momentum, or NULL */
    /* Evaluation: per-chunk sums added in chunk order. */
    double *eval_loss;
    size_t *eval_err;
    size_t eval_max_chunks;
} sr_engine;

sr_status sr_engine_init(sr_engine *e, const sr_model *model,
                         size_t max_rows, size_t max_eval_rows,
                         size_t nthreads, int momentum, sr_error *err);
void sr_engine_release(sr_engine *e);

/* One epoch of minibatch SGD over ds (rows in `order`, or in the data's
 * order when NULL); stops with SR_ERR_DIVERGED naming the epoch and the
 * minibatch when a loss is not finite. `*loss_sum` is the sum of the rows'
 * losses. */
sr_status sr_engine_sgd_epoch(sr_engine *e, sr_model *model,
                              const sr_dataset *ds, const size_t *order,
                              size_t batch, const sr_step *step, size_t epoch,
                              double *loss_sum, sr_error *err);

/* grad (nparams) = gradient of the summed loss over all rows of ds (no
 * weight decay); returns the summed loss. */
double sr_engine_full_gradient(sr_engine *e, const sr_dataset *ds,
                               float *grad);

/* Mean loss and error rate of the model over ds. */
void sr_engine_evaluate(sr_engine *e, const sr_dataset *ds, double *loss,
                        double *error_rate);

/* Rows evaluated per task: small enough for the outputs to stay in cache,
 * fixed so that loss sums are added in the same order for any thread count. */
#define SR_EVAL_CHUNK 256

#endif
