#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../dist/dist.h"
#include "run.h"

/* SGD beside the evaluation. A second core may do more evaluating the
 * epoch just finished than helping with the next: minibatches can be too
 * small to split well (engine.c then runs each on one thread), while the
 * evaluation's rows are independent. Then SGD runs on all threads but
 * one, and one thread evaluates a copy of the parameters of the epoch
 * before, printed in order once the next epoch is done. Whether that pays
 * when SGD does split depends on the machine, so the run measures it,
 * without an epoch spent on the measurement alone: epoch 0 (which also
 * builds the minibatches' transposes and probes the team) trains and
 * evaluates on every thread, the evaluation timed; epoch 1's SGD, on
 * every thread, is timed, and its evaluation goes beside epoch 2, trained
 * on one thread fewer. The overlap goes on from there when epoch 2 with
 * the evaluation beside it beats epoch 1's SGD plus epoch 0's evaluation
 * (measured only when epoch 3 or a later one is to come). SGD that runs
 * on one thread anyway starts with the overlap. The figures are those of
 * the same parameters either way, so the table and the model never
 * change by a bit. SOFTREG_OVERLAP=on|off skips the measurement (for
 * tests and benchmarks). */
enum {
    OVERLAP_WARM_UP,
    OVERLAP_MEASURE_ALL,
    OVERLAP_MEASURE_FEWER,
    OVERLAP_ON,
    OVERLAP_OFF
};

typedef struct overlap {
    sr_model snap;       /* the model, with its own copy of the parameters */
    sr_engine e;         /* one thread, for the evaluation only */
    sr_epoch_stats s;
    pthread_t thread;
    int pending, running;
    const run *R;
    int phase;           /* OVERLAP_* */
    size_t threads_all;  /* the SGD engine's threads without the overlap */
    size_t threads_probed; /* the SGD engine's threads after epoch 0 */
    double sgd_all;      /* epoch 1's SGD on every thread, seconds */
    double eval_all;     /* epoch 0's evaluation on every thread */
} overlap;

/* SOFTREG_OVERLAP: "on" or "off" forces the overlap's choice; anything
 * else leaves it to the measurement. */
static int overlap_forced(const char *mode)
{
    const char *env = getenv("SOFTREG_OVERLAP");
    return env && !strcmp(env, mode);
}

static void *overlap_main(void *arg)
{
    overlap *o = arg;
    sr_run_evaluate_sets(&o->e, o->R, &o->s);
    return NULL;
}

/* Worth it: SGD, evaluated every epoch, nothing that
 * decides after an epoch whether the next one runs (validation), and a
 * spare thread. */
int sr_overlap_wanted(const sr_train_params *p, size_t threads)
{
    /* distributed evaluations call MPI, which only the main thread may */
    if (overlap_forced("off") || sr_dist_active())
        return 0;
    return threads >= 2 && p->optimizer == SR_OPTIMIZER_SGD && p->evaluate &&
           p->val_split == 0.0;
}

sr_status sr_overlap_init(run *R, size_t eval_rows, sr_error *err)
{
    overlap *o = sr_alloc_zeroed(1, sizeof *o);
    if (!o)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for the evaluation");
    o->R = R;
    o->threads_all = R->e.team.threads_now;
    /* SGD whose minibatches are too small to split runs on one thread
     * whatever the team (engine.c): a spare thread evaluating beside it
     * costs nothing. */
    int free_beside = sr_engine_sgd_serial(&R->e, R->train, R->p->batch);
    o->phase = overlap_forced("on") || free_beside ? OVERLAP_ON
                                                   : OVERLAP_WARM_UP;
    if (o->phase == OVERLAP_ON)
        R->e.team.threads_now = o->threads_all - 1;
    o->snap = *R->model; /* shares the read-only parts, not the parameters */
    o->snap.params = sr_alloc_array(R->model->nparams, sizeof(float));
    sr_status st = o->snap.params ? SR_OK
                                  : sr_fail(err, SR_ERR_NOMEM,
                                            "out of memory for the evaluation");
    if (st == SR_OK &&
        (st = sr_engine_init(&o->e, &o->snap, 1, eval_rows, 1, 0, err)) != SR_OK) {
        sr_dealloc(o->snap.params);
    }
    if (st != SR_OK) {
        sr_dealloc(o);
        return st;
    }
    R->overlap = o;
    /* the overlap's engine evaluates the same sets */
    return sr_engine_prepare_eval(&o->e, R->train, err);
}

/* Reports the epoch under evaluation, if any, when it is done; 1 when
 * there was one. */
int sr_overlap_finish(run *R)
{
    overlap *o = R->overlap;
    if (!o || !o->pending)
        return 0;
    if (o->running)
        pthread_join(o->thread, NULL);
    o->pending = o->running = 0;
    sr_run_report(R, o->s);
    return 1;
}

/* After an epoch's SGD followed by `later` more (at least one; `full`:
 * all of it, from its first row), `seconds` after it started, the
 * evaluation beside it finished: 1 when its own evaluation goes beside
 * the next epoch's SGD. The measuring epoch is only worth it when an
 * epoch after it can use what it finds. */
int sr_overlap_decide(run *R, int full, size_t later, double seconds)
{
    overlap *o = R->overlap;
    if (!o)
        return 0;
    switch (o->phase) {
    case OVERLAP_MEASURE_ALL:
        if (!full)
            return 0;
        if (later < 2) {
            o->phase = OVERLAP_OFF;
            return 0;
        }
        o->sgd_all = seconds;
        o->threads_probed = R->e.team.threads_now;
        if (R->e.team.threads_now > o->threads_all - 1)
            R->e.team.threads_now = o->threads_all - 1;
        o->phase = OVERLAP_MEASURE_FEWER;
        return 1;
    case OVERLAP_MEASURE_FEWER: {
        int on = full && seconds < o->sgd_all + o->eval_all;
        o->phase = on ? OVERLAP_ON : OVERLAP_OFF;
        if (!on)
            R->e.team.threads_now = o->threads_probed;
        return on;
    }
    case OVERLAP_ON:
        return 1;
    default:
        return 0;
    }
}

/* After an evaluation on every thread, `seconds` long: epoch 0's is the
 * one the overlap is measured against. */
void sr_overlap_measured(run *R, int full, double seconds)
{
    overlap *o = R->overlap;
    if (!o || !full || o->phase != OVERLAP_WARM_UP)
        return;
    o->eval_all = seconds;
    o->phase = OVERLAP_MEASURE_ALL;
}

/* Before an evaluation on this thread while SGD's team has given one
 * thread to the overlap (the last epoch's): the overlap has nothing to do
 * now, so the evaluation takes every thread. Returns the team's size, to
 * restore after. */
size_t sr_overlap_all_threads(run *R)
{
    size_t sgd_threads = R->e.team.threads_now;
    if (R->overlap && (R->overlap->phase == OVERLAP_ON ||
                       R->overlap->phase == OVERLAP_MEASURE_FEWER))
        R->e.team.threads_now = R->overlap->threads_all;
    return sgd_threads;
}

/* Starts evaluating the model as it is after `epoch`. */
void sr_overlap_start(run *R, size_t epoch, double seconds)
{
    overlap *o = R->overlap;
    memcpy(o->snap.params, R->model->params,
           R->model->nparams * sizeof(float));
    sr_engine_params_changed(&o->e);
    o->s = (sr_epoch_stats){epoch, NAN, NAN, NAN, NAN, seconds, NAN, NAN};
    o->pending = 1;
    o->running = pthread_create(&o->thread, NULL, overlap_main, o) == 0;
    if (!o->running) /* no thread to be had: evaluate here */
        overlap_main(o);
}

void sr_overlap_release(run *R)
{
    overlap *o = R->overlap;
    if (!o)
        return;
    if (o->running)
        pthread_join(o->thread, NULL);
    sr_engine_release(&o->e);
    sr_dealloc(o->snap.params);
    sr_dealloc(o);
    R->overlap = NULL;
}

const float *sr_overlap_params(const run *R) { return R->overlap->snap.params; }
