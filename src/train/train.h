/* Training internals shared by the loop, the homework functions and tests. */
#ifndef SR_TRAIN_TRAIN_H
#define SR_TRAIN_TRAIN_H

#include "../models/model.h"

/* Rows evaluated per task: small enough for the logits to stay in cache,
 * fixed so that loss sums are added in the same order for any thread count. */
#define SR_EVAL_CHUNK 256

typedef struct sr_evaluator {
    size_t nthreads;
    sr_workspace *ws;     /* one per thread, SR_EVAL_CHUNK rows each */
    double *chunk_loss;   /* per-chunk sums, added in chunk order */
    size_t *chunk_err;
    size_t max_chunks;
} sr_evaluator;

sr_status sr_evaluator_init(sr_evaluator *ev, const sr_model *model,
                            size_t max_rows, size_t nthreads, sr_error *err);
void sr_evaluator_release(sr_evaluator *ev);
/* Mean loss and error rate of the model on the first ds->m rows. */
void sr_evaluator_run(sr_evaluator *ev, const sr_model *model,
                      const sr_dataset *ds, double *loss, double *error_rate);

/* One epoch of minibatch SGD in the given order (NULL = the data's order),
 * theta -= lr/B * grad for each minibatch of B rows, the last one partial.
 * Stops with SR_ERR_DIVERGED, naming epoch and minibatch, when a batch loss
 * is not finite. `*loss_sum` receives the sum of the batch losses. */
sr_status sr_sgd_epoch(sr_model *model, const sr_dataset *ds,
                       const size_t *order, size_t batch, double lr,
                       sr_workspace *ws, size_t epoch, double *loss_sum,
                       sr_error *err);

/* Checks that every label of `ds` is below k. */
sr_status sr_check_labels(const sr_dataset *ds, size_t k, const char *what,
                          sr_error *err);

/* The thread count to use for a request of `threads` (0 = all cores). */
size_t sr_thread_count(size_t threads);

#endif
