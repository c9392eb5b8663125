/* The training engine: passes of a model over a data set's rows, shared by
 * SGD, the full-batch optimisers (gradients, Hessian-vector products),
 * evaluation and prediction. It owns the threads, the data's views, the
 * minibatches' transposes (sparse data) or their rows as floats (dense
 * data), and the working copy of the parameters; it runs a model through
 * its ops table (models/ops.h) and never names a model.
 *
 * Every sum runs in an order fixed by the data, never by the threads, so
 * any thread count gives the same bits. Buffers are allocated once per
 * run (the transposes of a shuffled epoch are rebuilt in place). */
#ifndef SR_TRAIN_ENGINE_H
#define SR_TRAIN_ENGINE_H

#include "../models/ops.h"
#include "../optim/sgd.h"
#include "team.h"
#include "transposes.h"


typedef struct sr_engine {
    const sr_model *model;
    const sr_model_ops *ops;
    const sr_kernel_table *K;
    size_t nthreads;
    size_t max_rows;     /* rows per minibatch (and per gradient block) */
    sr_ws ws;
    sr_params P;         /* the working parameters */
    sr_params V;         /* their velocities (momentum), or nothing */
    sr_params Gr;        /* a gradient being summed, allocated on use */
    /* Wide data (fewer rows than half the features): a full pass runs its
     * forward phase over every row first, keeping the head's rows here
     * (m, ldk), then sums into P itself, which the forward no longer
     * needs, so that no second copy of the parameters (Gr) is held. */
    float *kept;
    size_t kept_rows;
    float *velocity;     /* (nparams) the velocities in the model's layout,
                          * for checkpoints; NULL without momentum */
    float *probs;        /* (m, ldk) the last gradient's probabilities */
    size_t probs_rows;
    int current;         /* P holds model->params */
    /* a minibatch */
    float *Xd;           /* (max_rows, n) its rows as floats, dense data */
    float *acc;          /* (n, ld) the step's accumulator, sparse data with
                          * few features, or NULL */
    float *Xe;           /* per thread: SR_EVAL_BLOCK rows as floats */
    int32_t *yb;         /* per thread: max_rows labels */
    float *tb;           /* per thread: max_rows rows of targets */
    /* evaluation: per-chunk sums added in chunk order */
    double *eval_loss;
    size_t *eval_err;
    size_t eval_max_chunks;
    sr_transposes T;
    /* Distributed (dist/dist.h): this rank's full-pass blocks' sums, each
     * in Gr's layout (part_floats), and their losses; every chunk's
     * evaluation sums of a data set, gathered from the ranks. */
    float *parts;
    double *part_loss;
    size_t parts_cap, part_floats;
    double *dist_loss;
    uint64_t *dist_wrong;
    size_t dist_chunks;
    /* sparse data, rows updated lazily (optim/sgd.h): the steps taken, and
     * per feature the steps its row has taken */
    uint64_t steps;
    uint64_t *done;
    sr_team team;
    /* Called by thread 0 (the caller's) before every SGD minibatch with
     * the rows of the epoch done, when set (the run's progress). */
    void (*progress)(void *user, size_t done);
    void *progress_user;
} sr_engine;

sr_status sr_engine_init(sr_engine *e, const sr_model *model,
                         size_t max_rows, size_t max_eval_rows,
                         size_t nthreads, int momentum, sr_error *err);
void sr_engine_release(sr_engine *e);

/* The model's parameters changed outside the engine (an optimiser's step,
 * a restored checkpoint): the working copy is reloaded before its next
 * use. */
void sr_engine_params_changed(sr_engine *e);

/* The lazy updates' counters of an interrupted run (from a checkpoint):
 * `steps` taken and done (n) per feature; done NULL means every row is
 * current. */
sr_status sr_engine_set_lazy(sr_engine *e, uint64_t steps,
                             const uint64_t *done, size_t n, sr_error *err);

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
 * `*loss_sum` covers the rows done.
 *
 * A shard over several processes (ds->sharded, whole minibatches on each:
 * data/dataset.h's units): every rank calls it, the ranks run their
 * minibatches in turn with the model passed from rank to rank, `start`
 * and `*end` count every rank's rows, and an interrupt stops the ranks
 * only before an epoch's first minibatch. */
sr_status sr_engine_sgd_epoch_from(sr_engine *e, sr_model *model,
                                   const sr_dataset *ds, const size_t *order,
                                   size_t batch, const sr_step *step,
                                   size_t epoch, size_t start,
                                   const volatile int *interrupt, size_t *end,
                                   double *loss_sum, sr_error *err);

/* Whether SGD on ds with minibatches of `batch` rows runs each minibatch
 * on one thread (too little work to split): a spare thread can then
 * evaluate beside it. */
int sr_engine_sgd_serial(const sr_engine *e, const sr_dataset *ds,
                         size_t batch);

/* What full passes over ds need (transposes, buffers), allocated ahead so
 * that the passes cannot fail. */
sr_status sr_engine_prepare_full(sr_engine *e, const sr_dataset *ds,
                                 int keep_probs, sr_error *err);

/* grad (nparams) = the gradient of the summed loss over all rows of ds at
 * the parameters `at` (the model's when NULL), no weight decay; *loss the
 * summed loss. With keep_probs, the rows' probabilities are kept for
 * sr_engine_hess_vec. */
sr_status sr_engine_full_gradient(sr_engine *e, const sr_dataset *ds,
                                  const float *at, float *grad, double *loss,
                                  int keep_probs, sr_error *err);

/* hv (nparams) = the summed loss's Hessian at the parameters of the last
 * sr_engine_full_gradient (with keep_probs) on the same ds, times v. */
sr_status sr_engine_hess_vec(sr_engine *e, const sr_dataset *ds,
                             const float *v, float *hv, sr_error *err);

/* What evaluating ds needs (rows of pixels as floats), allocated ahead. */
sr_status sr_engine_prepare_eval(sr_engine *e, const sr_dataset *ds,
                                 sr_error *err);

/* Mean loss and error rate of the model over ds (NaN when the buffers of
 * sr_engine_prepare_eval cannot be had). */
void sr_engine_evaluate(sr_engine *e, const sr_dataset *ds, double *loss,
                        double *error_rate);

/* The model's outputs of every row of ds into out (m, k), after
 * sr_engine_prepare_eval. */
void sr_engine_scores(sr_engine *e, const sr_dataset *ds, float *out);

/* Rows evaluated per task: small enough for the outputs to stay in cache,
 * fixed so that loss sums are added in the same order for any thread count. */
#define SR_EVAL_CHUNK 256

#endif
