/* A training run's state, shared by the files that drive it: train.c
 * (set-up), run_sgd.c (minibatch SGD, checkpoints), run_full.c (the
 * full-batch optimisers), report.c (the figures after every epoch) and
 * overlap.c (the evaluation beside SGD). */
#ifndef SR_TRAIN_RUN_H
#define SR_TRAIN_RUN_H

#include "../io/checkpoint.h"
#include "train.h"

typedef struct run {
    const sr_train_params *p;
    sr_model *model;
    sr_engine e;
    const sr_dataset *train, *val, *test; /* the model's features */
    sr_epoch_callback callback;
    void *user;
    float *best;        /* early stopping: the best parameters so far */
    double best_loss;
    size_t since_best;
    int stop;
    sr_checkpoint *resume; /* the state to continue from, or NULL */
    struct overlap *overlap; /* SGD beside the evaluation, or NULL */
    double loss_scale;  /* an untrained model's loss (at least 1) */
    int diverged;       /* the training loss passed 1000 loss_scale */
    double diverged_loss;
    size_t diverged_epoch;
    size_t reported;    /* epochs reported */
    float *epoch_params; /* keep_on_interrupt: the last finished epoch's */
    size_t finished;    /* epochs (or iterations) finished */
    int interrupted;    /* a full-batch optimiser stopped on interrupt */
    uint32_t data_crc;  /* sr_dataset_crc of train, once asked for */
    int data_crc_known;
    size_t best_epoch;  /* early stopping: the epoch of `best` */
    sr_train_outcome out;
    size_t progress_epoch; /* the SGD epoch sr_train_params.progress hears of */
    double progress_t0;    /* and when it began */
} run;

double sr_run_seconds(void);

/* ---- report.c ---- */
/* An epoch's figures on every set the run has, with engine e. */
void sr_run_evaluate_sets(sr_engine *e, const run *R, sr_epoch_stats *s);
/* The callback and early stopping, once an epoch's figures are known. */
void sr_run_report(run *R, sr_epoch_stats s);
/* After every epoch: evaluation, the callback, early stopping. */
void sr_run_end_epoch(run *R, size_t epoch, double seconds);
/* Why the run stopped, for sr_train_params.outcome. */
void sr_run_outcome(run *R, int converged, size_t iterations,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- run_sgd.c ---- */
/* Writes the state after `next_row` rows of epoch `epoch` (0 = the epoch's
 * start); `order` is that epoch's order when it is shuffled and under way. */
sr_status sr_run_save_checkpoint(run *R, size_t epoch, size_t next_row,
                                 const sr_rng *rng, size_t *order,
                                 sr_error *err);
/* Checks that a checkpoint belongs to this run and takes its state. */
sr_status sr_run_restore(run *R, sr_rng *rng, sr_error *err);
sr_status sr_run_interrupted(run *R, size_t epoch, size_t row, sr_error *err);
sr_status sr_run_sgd(run *R, sr_error *err);

/* ---- run_full.c ---- */
sr_status sr_run_gd(run *R, sr_error *err);
sr_status sr_run_lbfgs(run *R, sr_error *err);
sr_status sr_run_newton(run *R, sr_error *err);
sr_status sr_run_exact(run *R, sr_error *err);

/* ---- overlap.c: SGD beside the evaluation ---- */
int sr_overlap_wanted(const sr_train_params *p, size_t threads);
sr_status sr_overlap_init(run *R, size_t eval_rows, sr_error *err);
/* Reports the epoch under evaluation, if any, when it is done; 1 when
 * there was one. */
int sr_overlap_finish(run *R);
/* After an epoch's SGD with `later` epochs to come (`full`: all of it,
 * from its first row): 1 when its evaluation goes beside the next
 * epoch's SGD. */
int sr_overlap_decide(run *R, int full, size_t later, double seconds);
void sr_overlap_measured(run *R, int full, double seconds);
size_t sr_overlap_all_threads(run *R);
/* Starts evaluating the model as it is after `epoch`. */
void sr_overlap_start(run *R, size_t epoch, double seconds);
/* The parameters the overlap evaluates (those of the epoch before). */
const float *sr_overlap_params(const run *R);
void sr_overlap_release(run *R);

#endif
