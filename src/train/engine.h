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

#include <pthread.h>

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

/* The fast paths (engine.c): softmax regression and the network without
 * biases, k <= 16, on sparse uint8 data, plain SGD, and the evaluation of
 * those models. They keep padded, 64-byte aligned copies of the
 * parameters and run fused kernels (kernels.h):
 *   softmax: one thread per minibatch (its work is too small to split:
 *     see engine.c), every thread for the evaluation;
 *   network: hidden units split across threads (each core keeps its
 *     slice of W1 in its own cache) for X W1 and the updates of W1 and
 *     W2, rows split for the output layer; W1's gradient runs over the
 *     batch's columns (a transpose built once per epoch, or once per run
 *     when the order does not change).
 * Splits depend on the thread count; the order of every sum does not. */
typedef struct sr_engine_fast {
    int kind;            /* 0 (none), SR_FAST_SOFTMAX or SR_FAST_NN */
    size_t ld;           /* padded row width: 16, or SR_PAD16(d) */
    size_t nslices;      /* the network's hidden-unit slices: one per thread */
    float *P;            /* theta (n, 16), or W1 (n, ld), W2^T (16, ld) and
                          * W2 (ld, 16) */
    void *P_raw;
    float *G;            /* (max_rows, 16) output gradients */
    void *G_raw;
    float *H, *G1;       /* (max_rows, ld) hidden layer and its gradient */
    void *H_raw, *G1_raw;
    double *loss;        /* (max_rows) */
    float *acc;          /* (n, 16) softmax gradient, zero between uses */
    void *acc_raw;
    float *gsum;         /* (n, 16) softmax full gradient (L-BFGS, GD) */
    void *gsum_raw;
    float *h;            /* per thread: SR_NN_EVAL_BLOCK rows of ld floats */
    void *h_raw;
    /* The network's batch transposes: entries, then per batch its
     * non-empty columns. */
    uint16_t *csc_row;
    uint8_t *csc_val;
    size_t csc_cap;
    uint16_t *csc_col;
    uint32_t *csc_end;
    size_t csc_ccap;
    size_t *csc_boff, *csc_coff, *csc_ncols; /* per batch */
    size_t csc_bcap;
    uint32_t *csc_count; /* per thread: n + 1 counters */
    const void *csc_ds;  /* what the transposes describe, when valid */
    size_t csc_m, csc_batch;
    int csc_in_order;
} sr_engine_fast;

enum { SR_FAST_SOFTMAX = 1, SR_FAST_NN = 2 };

/* A barrier for the threads of one parallel region that spins only
 * briefly before sleeping: OpenMP's own barrier may spin for milliseconds,
 * which costs a whole time slice at each of the network's 1200 barriers
 * per epoch whenever another program holds a core. */
typedef struct sr_barrier {
    unsigned count;      /* arrived in this round (atomic) */
    unsigned round;      /* rounds completed (atomic) */
    unsigned threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
} sr_barrier;

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
    size_t *batch_rows;  /* per thread: max_rows row indices */
    sr_engine_fast fast;
    sr_barrier bar;
    /* Threads that pay off: nthreads until the first fast epoch has timed
     * a few minibatches; 1 when the threads mostly waited for each other
     * (a machine that shows more CPUs than it gives, or a busy one). The
     * bits never depend on it. */
    size_t threads_now;
    int team_probed;
    uint64_t *waited_ns; /* per thread (8 apart: one cache line each) */
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

/* The same from row `start` of the epoch (a multiple of batch: where an
 * interrupted epoch stopped) to its end, or until *interrupt (may be
 * NULL) is non-zero after a minibatch: *end (may be NULL) receives the row
 * after the last minibatch done, ds->m when the epoch is complete.
 * `*loss_sum` covers the rows done. */
sr_status sr_engine_sgd_epoch_from(sr_engine *e, sr_model *model,
                                   const sr_dataset *ds, const size_t *order,
                                   size_t batch, const sr_step *step,
                                   size_t epoch, size_t start,
                                   const volatile int *interrupt, size_t *end,
                                   double *loss_sum, sr_error *err);

/* Whether SGD on ds with minibatches of at most max_rows rows and this
 * step takes a fast path (softmax regression or the network on listed
 * pixels, plain steps). */
int sr_engine_fast_path(const sr_model *model, const sr_dataset *ds,
                        size_t max_rows, const sr_step *step);

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
