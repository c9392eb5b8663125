/* The figures after every epoch: evaluation of every set, the callback,
 * early stopping. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "run.h"

double sr_run_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Mean loss and error of one set; regression reports the RMSE, which is
 * sqrt(2 loss / targets) for the loss 1/2 sum (z - t)^2. */
static void evaluate(sr_engine *e, const run *R, const sr_dataset *ds,
                     double *loss, double *error)
{
    sr_engine_evaluate(e, ds, loss, error);
    if (R->model->kind == SR_MODEL_LINEAR)
        *error = sqrt(2.0 * *loss / (double)R->model->k);
}

/* An epoch's figures on every set the run has, with engine e. */
void sr_run_evaluate_sets(sr_engine *e, const run *R, sr_epoch_stats *s)
{
    evaluate(e, R, R->train, &s->train_loss, &s->train_err);
    if (R->test)
        evaluate(e, R, R->test, &s->test_loss, &s->test_err);
    if (R->val)
        evaluate(e, R, R->val, &s->val_loss, &s->val_err);
}

/* A training loss this many times an untrained model's is divergence: a
 * step too large for the data's scale, whose loss only grows from there
 * (the course's runs stay below 1 / 100 of it). */
#define DIVERGED_FACTOR 1000.0

/* The callback, the divergence test and early stopping, once an epoch's
 * figures are known. */
void sr_run_report(run *R, sr_epoch_stats s)
{
    if (R->callback && R->callback(&s, R->user))
        R->stop = 1;
    R->reported++;
    if ((R->p->evaluate || R->val) &&
        !(s.train_loss <= DIVERGED_FACTOR * R->loss_scale)) {
        R->diverged = 1;
        R->diverged_loss = s.train_loss;
        R->diverged_epoch = s.epoch;
        R->stop = 1;
        return;
    }
    if (R->best) {
        if (s.val_loss < R->best_loss) {
            R->best_loss = s.val_loss;
            R->best_epoch = s.epoch;
            R->since_best = 0;
            memcpy(R->best, R->model->params, R->model->nparams * sizeof(float));
        } else if (++R->since_best >= R->p->early_stop) {
            R->stop = 1;
        }
    }
}

void sr_run_outcome(run *R, int converged, size_t iterations,
                    const char *fmt, ...)
{
    R->out.converged = converged;
    R->out.iterations = iterations;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(R->out.reason, sizeof R->out.reason, fmt, ap);
    va_end(ap);
}

/* After every epoch: evaluation, the callback, early stopping. */
void sr_run_end_epoch(run *R, size_t epoch, double seconds)
{
    sr_epoch_stats s = {epoch, NAN, NAN, NAN, NAN, seconds, NAN, NAN};
    if (R->p->evaluate || R->val)
        sr_run_evaluate_sets(&R->e, R, &s);
    sr_run_report(R, s);
}
