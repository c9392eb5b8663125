/* Training: the model's set-up from the data and the parameters, then the
 * chosen optimiser (minibatch SGD, full-batch GD, L-BFGS or the exact
 * least-squares solution), with evaluation after every epoch. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/rng_init.h"
#include "../io/checkpoint.h"
#include "../models/feature_map.h"
#include "../optim/optim.h"
#include "compact.h"
#include "train.h"

sr_train_params sr_train_params_default(void)
{
    sr_train_params p;
    memset(&p, 0, sizeof p);
    p.model = SR_MODEL_SOFTMAX;
    p.hidden = 100;
    p.epochs = 10;
    p.lr = 0.2;
    p.batch = 100;
    p.init = SR_INIT_DEFAULT;
    p.evaluate = 1;
    p.optimizer = SR_OPTIMIZER_SGD;
    p.max_iter = 100;
    p.poly = 1;
    return p;
}

sr_status sr_train_params_check(const sr_train_params *p, sr_error *err)
{
    if (!p)
        return sr_fail(err, SR_ERR_INVALID_ARG, "training parameters are NULL");
    if ((unsigned)p->model > SR_MODEL_LOGISTIC)
        return sr_fail(err, SR_ERR_INVALID_ARG, "model: unknown kind %d",
                       (int)p->model);
    if (p->model == SR_MODEL_NN && p->hidden == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "hidden: the network needs at least 1 hidden unit");
    if (p->epochs == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "epochs: must be at least 1");
    if (!(p->lr > 0.0) || !isfinite(p->lr))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lr: the learning rate must be a positive number, not %g",
                       p->lr);
    if (p->batch == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "batch: must be at least 1");
    if ((unsigned)p->init > SR_INIT_NUMPY)
        return sr_fail(err, SR_ERR_INVALID_ARG, "init: unknown scheme %d",
                       (int)p->init);
    if (p->threads > 4096)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "threads: %zu is more than the 4096 supported",
                       p->threads);
    if (!(p->l2 >= 0.0) || !isfinite(p->l2))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "l2: the weight decay must be >= 0, not %g", p->l2);
    if ((unsigned)p->optimizer > SR_OPTIMIZER_NEWTON)
        return sr_fail(err, SR_ERR_INVALID_ARG, "optimizer: unknown %d",
                       (int)p->optimizer);
    if (p->optimizer == SR_OPTIMIZER_EXACT && p->model != SR_MODEL_LINEAR)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "optimizer: the exact solution exists for linear "
                       "regression only, not for %s", sr_model_kind_name(p->model));
    if (!(p->momentum >= 0.0 && p->momentum < 1.0))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "momentum: must be in [0, 1), not %g", p->momentum);
    if ((p->optimizer == SR_OPTIMIZER_LBFGS ||
         p->optimizer == SR_OPTIMIZER_NEWTON) && p->max_iter == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "max-iter: must be at least 1");
    if (p->optimizer == SR_OPTIMIZER_NEWTON && p->model == SR_MODEL_NN)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "optimizer: Newton's method needs a convex loss; the "
                       "network's is not (use lbfgs or sgd)");
    if (p->lbfgs_memory > SR_LBFGS_MAX_CORRECTIONS)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lbfgs-memory: at most %d corrections, not %zu",
                       SR_LBFGS_MAX_CORRECTIONS, p->lbfgs_memory);
    if (!(p->tol >= 0.0 && p->tol < 1.0))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "tol: must be in [0, 1), not %g", p->tol);
    if (!(p->val_split >= 0.0 && p->val_split < 1.0))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "val-split: must be a fraction in [0, 1), not %g",
                       p->val_split);
    if (p->early_stop && p->val_split == 0.0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "early-stop: needs a validation split (val-split)");
    if ((p->checkpoint_path || p->resume_path) &&
        p->optimizer != SR_OPTIMIZER_SGD && p->optimizer != SR_OPTIMIZER_GD)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "checkpoint: checkpoints are written for sgd and gd, "
                       "not for lbfgs, newton or exact");
    if (p->poly == 0 || p->poly > 64)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "poly: the degree must be from 1 to 64, not %u", p->poly);
    return SR_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* np.random.seed(seed); each weight block W (rows, cols) in order gets
 * np.random.randn(rows, cols).astype(np.float32) / np.sqrt(cols). */
static void init_numpy(sr_model *model, uint32_t seed)
{
    sr_rng rng;
    sr_rng_seed(&rng, seed);
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        if (blk->input == SR_INPUT_ONE)
            continue; /* biases start at zero */
        sr_rng_fill_randn_scaled(&rng, model->params + blk->offset,
                                 blk->rows * blk->cols, blk->cols);
    }
}

/* Outputs of the model for these data: k classes, 1 for logistic, the
 * targets for linear regression. Refuses data of the wrong kind. */
static sr_status model_outputs(const sr_train_params *p, const sr_dataset *ds,
                               size_t *k, sr_error *err)
{
    if (p->model == SR_MODEL_LINEAR) {
        if (!ds->targets)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "linear regression needs real-valued targets; load "
                           "the data for regression (--model linear reads the "
                           "label column as numbers)");
        *k = ds->t;
        return SR_OK;
    }
    if (!ds->y)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s needs class labels", sr_model_kind_name(p->model));
    size_t classes = p->classes ? p->classes : ds->k;
    if (classes < 2)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "the training set has a single class: a classifier "
                       "needs at least two");
    if (p->model == SR_MODEL_LOGISTIC) {
        if (classes != 2)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "logistic regression is binary but the data have "
                           "%zu classes; use --model softmax", classes);
        *k = 1;
        return SR_OK;
    }
    *k = classes;
    return SR_OK;
}

static sr_status copy_class_names(sr_model *model, const sr_dataset *ds,
                                  sr_error *err)
{
    size_t count = sr_model_class_count(model);
    if (!ds->class_names || count == 0 || ds->k != count)
        return SR_OK;
    model->class_names = sr_alloc_zeroed(count, sizeof *model->class_names);
    if (!model->class_names)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for class names");
    for (size_t c = 0; c < count; c++) {
        size_t len = strlen(ds->class_names[c]) + 1;
        if (!(model->class_names[c] = sr_alloc(len)))
            return sr_fail(err, SR_ERR_NOMEM, "out of memory for class names");
        memcpy(model->class_names[c], ds->class_names[c], len);
    }
    return SR_OK;
}

/* A new model ready to train: from the warm-start model (same kind and
 * sizes, its feature map and classes kept) or fresh. */
static sr_status make_model(const sr_train_params *p, const sr_dataset *train,
                            size_t k, sr_model **out, sr_error *err)
{
    const sr_model *warm = p->warm_start;
    if (warm) {
        if (warm->kind != p->model || warm->n_raw != train->n || warm->k != k ||
            (p->model == SR_MODEL_NN && warm->d != p->hidden))
            return sr_fail(err, SR_ERR_MISMATCH,
                           "the warm-start model (%s, %zu features, %zu outputs, "
                           "%zu hidden) does not match this training (%s, %zu "
                           "features, %zu outputs, %zu hidden)",
                           sr_model_kind_name(warm->kind), warm->n_raw, warm->k,
                           warm->d, sr_model_kind_name(p->model), train->n, k,
                           p->model == SR_MODEL_NN ? p->hidden : 0);
    }
    unsigned poly = warm ? warm->poly : p->poly;
    sr_model_spec spec = {p->model, train->n * poly, k,
                          p->model == SR_MODEL_NN ? p->hidden : 0,
                          warm ? warm->bias : p->bias};
    sr_model *m = NULL;
    sr_status st = sr_model_create(&spec, &m, err);
    if (st != SR_OK)
        return st;
    m->n_raw = train->n;
    m->poly = poly;
    if (warm) {
        memcpy(m->params, warm->params, m->nparams * sizeof *m->params);
        if (warm->mean) {
            m->mean = sr_alloc_array(m->n, sizeof *m->mean);
            m->inv_std = sr_alloc_array(m->n, sizeof *m->inv_std);
            if (!m->mean || !m->inv_std) {
                st = sr_fail(err, SR_ERR_NOMEM, "out of memory");
                goto fail;
            }
            memcpy(m->mean, warm->mean, m->n * sizeof *m->mean);
            memcpy(m->inv_std, warm->inv_std, m->n * sizeof *m->inv_std);
        }
        if (warm->class_names) {
            sr_dataset names = {0};
            names.k = sr_model_class_count(warm);
            names.class_names = warm->class_names;
            st = copy_class_names(m, &names, err);
        }
    } else {
        if (p->standardize)
            st = sr_feature_map_fit(m, train, err);
        if (st == SR_OK)
            st = copy_class_names(m, train, err);
        sr_init init = p->init;
        if (init == SR_INIT_DEFAULT)
            init = p->model == SR_MODEL_NN ? SR_INIT_NUMPY : SR_INIT_ZEROS;
        if (init == SR_INIT_NUMPY)
            init_numpy(m, p->seed);
    }
    if (st != SR_OK)
        goto fail;
    *out = m;
    return SR_OK;
fail:
    sr_model_free(m);
    return st;
}

/* The training and validation rows: the last fraction f held out, or a
 * seeded random fraction with shuffling. Both lists end sorted. */
static sr_status split_rows(const sr_train_params *p, size_t m, size_t **train,
                            size_t *m_train, size_t **val, size_t *m_val,
                            sr_error *err)
{
    size_t nv = (size_t)((double)m * p->val_split);
    if (nv == 0 || nv >= m)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "val-split %g of %zu examples leaves no %s examples",
                       p->val_split, m, nv == 0 ? "validation" : "training");
    size_t *order = sr_alloc_array(m, sizeof *order);
    if (!order)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory splitting the data");
    if (p->shuffle) {
        sr_rng rng;
        sr_rng_seed(&rng, p->seed);
        sr_rng_permutation(&rng, order, m);
        /* Sorted lists keep the data's order within each part. */
        unsigned char *is_val = sr_alloc_zeroed(m, 1);
        if (!is_val) {
            sr_dealloc(order);
            return sr_fail(err, SR_ERR_NOMEM, "out of memory splitting the data");
        }
        for (size_t i = m - nv; i < m; i++)
            is_val[order[i]] = 1;
        size_t a = 0, b = m - nv;
        for (size_t r = 0; r < m; r++)
            order[is_val[r] ? b++ : a++] = r;
        sr_dealloc(is_val);
    } else {
        for (size_t r = 0; r < m; r++)
            order[r] = r;
    }
    *train = order;
    *m_train = m - nv;
    *val = order + (m - nv);
    *m_val = nv;
    return SR_OK;
}

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
} run;

static sr_checkpoint_config config_of(const run *R)
{
    const sr_train_params *p = R->p;
    sr_checkpoint_config c = {(uint32_t)p->model, (uint32_t)p->optimizer,
                              (uint32_t)(p->shuffle != 0), p->seed,
                              R->train->m, R->train->n, p->batch, p->lr, p->l2,
                              p->momentum};
    return c;
}

/* Writes the state after `next_row` rows of epoch `epoch` (0 = the epoch's
 * start); `order` is that epoch's order when it is shuffled and under way. */
static sr_status save_checkpoint(run *R, size_t epoch, size_t next_row,
                                 const sr_rng *rng, size_t *order,
                                 sr_error *err)
{
    sr_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.config = config_of(R);
    ck.epoch = epoch;
    ck.next_row = next_row;
    ck.rng = *rng;
    ck.order = next_row ? order : NULL;
    ck.norder = R->train->m;
    ck.velocity = R->e.velocity;
    ck.best_loss = R->best ? R->best_loss : 0.0;
    ck.since_best = R->since_best;
    ck.best = R->best;
    ck.lazy_steps = R->e.steps;
    ck.lazy_done = R->e.done;
    ck.nlazy = R->e.done ? R->model->n : 0;
    ck.model = R->model;
    return sr_checkpoint_save(&ck, R->p->checkpoint_path, err);
}

/* Checks that a checkpoint belongs to this run and takes its state. */
static sr_status restore(run *R, sr_rng *rng, sr_error *err)
{
    const sr_checkpoint *ck = R->resume;
    sr_checkpoint_config want = config_of(R);
    const sr_checkpoint_config *c = &ck->config;
    if (c->kind != want.kind || c->optimizer != want.optimizer ||
        c->shuffle != want.shuffle || c->seed != want.seed || c->m != want.m ||
        c->n != want.n || c->batch != want.batch || c->lr != want.lr ||
        c->l2 != want.l2 || c->momentum != want.momentum)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "%s was written by another training run (model, data "
                       "size, optimizer, lr, batch, l2, momentum, seed and "
                       "shuffling must be the same to resume)",
                       R->p->resume_path);
    sr_model *m = ck->model;
    if (m->nparams != R->model->nparams || m->k != R->model->k ||
        m->d != R->model->d || m->bias != R->model->bias)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "%s holds a model of another shape", R->p->resume_path);
    memcpy(R->model->params, m->params, m->nparams * sizeof *m->params);
    if (ck->velocity && R->e.velocity)
        memcpy(R->e.velocity, ck->velocity, m->nparams * sizeof(float));
    sr_status st = sr_engine_set_lazy(&R->e, ck->lazy_steps, ck->lazy_done,
                                      ck->nlazy, err);
    if (st != SR_OK)
        return st;
    sr_engine_params_changed(&R->e);
    if (ck->best && R->best) {
        memcpy(R->best, ck->best, m->nparams * sizeof(float));
        R->best_loss = ck->best_loss;
        R->since_best = ck->since_best;
    }
    *rng = ck->rng;
    return SR_OK;
}

static sr_status interrupted(run *R, size_t epoch, size_t row, sr_error *err)
{
    if (R->p->checkpoint_path)
        return sr_fail(err, SR_ERR_INTERRUPTED,
                       "interrupted in epoch %zu after %zu examples; the "
                       "training state is in %s (continue with --resume %s)",
                       epoch, row, R->p->checkpoint_path,
                       R->p->checkpoint_path);
    return sr_fail(err, SR_ERR_INTERRUPTED,
                   "interrupted in epoch %zu after %zu examples", epoch, row);
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
static void evaluate_sets(sr_engine *e, const run *R, sr_epoch_stats *s)
{
    evaluate(e, R, R->train, &s->train_loss, &s->train_err);
    if (R->test)
        evaluate(e, R, R->test, &s->test_loss, &s->test_err);
    if (R->val)
        evaluate(e, R, R->val, &s->val_loss, &s->val_err);
}

/* The callback and early stopping, once an epoch's figures are known. */
static void report_epoch(run *R, sr_epoch_stats s)
{
    if (R->callback && R->callback(&s, R->user))
        R->stop = 1;
    if (R->best) {
        if (s.val_loss < R->best_loss) {
            R->best_loss = s.val_loss;
            R->since_best = 0;
            memcpy(R->best, R->model->params, R->model->nparams * sizeof(float));
        } else if (++R->since_best >= R->p->early_stop) {
            R->stop = 1;
        }
    }
}

/* After every epoch: evaluation, the callback, early stopping. */
static void end_epoch(run *R, size_t epoch, double seconds)
{
    sr_epoch_stats s = {epoch, NAN, NAN, NAN, NAN, seconds, NAN, NAN};
    if (R->p->evaluate || R->val)
        evaluate_sets(&R->e, R, &s);
    report_epoch(R, s);
}

/* ---- SGD beside the evaluation ----
 * On the fast paths a second core may do more evaluating the epoch just
 * finished than helping with the next: minibatches can be too small to
 * split well (softmax regression: not at all), while the evaluation's
 * rows are independent. Then SGD runs on all threads but one, and one
 * thread evaluates a copy of the parameters of the epoch before, printed
 * in order once the next epoch is done. Whether that pays depends on the
 * machine (the network's minibatches split 1.3x on two cores of one
 * machine, 1.8x on another), so the run measures it; softmax regression,
 * whose SGD takes one thread anyway, starts with it. Epoch 0 (which
 * also builds the minibatches' transposes and probes the team) trains on
 * every thread and evaluates after, as does epoch 1, which is timed;
 * epoch 2 trains on one thread fewer, and the overlap goes on from there
 * when its epoch, the longer of the smaller team's SGD and one thread's
 * evaluation, beats epoch 1's SGD plus evaluation. The figures are those
 * of the same parameters either way, so the table and the model never
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
    double sgd_all, eval_all; /* epoch 1: seconds on every thread */
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
    evaluate_sets(&o->e, o->R, &o->s);
    return NULL;
}

/* Worth it: SGD on a fast path, evaluated every epoch, nothing that
 * decides after an epoch whether the next one runs (validation), and a
 * spare thread. */
static int overlap_wanted(const sr_train_params *p, size_t threads)
{
    if (overlap_forced("off"))
        return 0;
    return threads >= 2 && p->optimizer == SR_OPTIMIZER_SGD && p->evaluate &&
           p->val_split == 0.0;
}

static sr_status overlap_init(run *R, size_t eval_rows, sr_error *err)
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
    return SR_OK;
}

/* Reports the epoch under evaluation, if any, when it is done; 1 when
 * there was one. */
static int overlap_finish(run *R)
{
    overlap *o = R->overlap;
    if (!o || !o->pending)
        return 0;
    if (o->running)
        pthread_join(o->thread, NULL);
    o->pending = o->running = 0;
    report_epoch(R, o->s);
    return 1;
}

/* After an epoch's SGD (`full`: all of it, from its first row): 1 when
 * its evaluation goes beside the next epoch's SGD. */
static int overlap_decide(run *R, int full, double sgd_seconds)
{
    overlap *o = R->overlap;
    if (!o)
        return 0;
    switch (o->phase) {
    case OVERLAP_WARM_UP:
        return 0;
    case OVERLAP_MEASURE_ALL:
        o->sgd_all = sgd_seconds;
        o->threads_probed = R->e.team.threads_now;
        return 0;
    case OVERLAP_MEASURE_FEWER: {
        /* One thread's evaluation, from every thread's: rows split
         * evenly, so at most nthreads times as long. */
        double eval_one = o->eval_all * (double)R->e.nthreads;
        double beside = sgd_seconds > eval_one ? sgd_seconds : eval_one;
        int on = full && beside < o->sgd_all + o->eval_all;
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

/* After an evaluation on every thread, `seconds` long: after epoch 1's,
 * the next epoch's SGD runs on one thread fewer, to be timed. */
static void overlap_measured(run *R, int full, double seconds)
{
    overlap *o = R->overlap;
    if (!o || !full)
        return;
    if (o->phase == OVERLAP_WARM_UP) {
        o->phase = OVERLAP_MEASURE_ALL;
        return;
    }
    if (o->phase != OVERLAP_MEASURE_ALL)
        return;
    o->eval_all = seconds;
    o->phase = OVERLAP_MEASURE_FEWER;
    if (R->e.team.threads_now > o->threads_all - 1)
        R->e.team.threads_now = o->threads_all - 1;
}

/* Before an evaluation on this thread while the overlap is on (the last
 * epoch's): SGD's team gave one thread to the overlap, which has nothing
 * to do now, so the evaluation takes every thread. Returns the team's
 * size, to restore after. */
static size_t overlap_all_threads(run *R)
{
    size_t sgd_threads = R->e.team.threads_now;
    if (R->overlap && R->overlap->phase == OVERLAP_ON)
        R->e.team.threads_now = R->overlap->threads_all;
    return sgd_threads;
}

/* Starts evaluating the model as it is after `epoch`. */
static void overlap_start(run *R, size_t epoch, double seconds)
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

static void overlap_release(run *R)
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

static sr_status train_sgd(run *R, sr_error *err)
{
    const sr_train_params *p = R->p;
    size_t m = R->train->m;
    size_t batch = p->batch < m ? p->batch : m;
    size_t *order = NULL;
    sr_rng rng;
    sr_rng_seed(&rng, p->seed);
    if (p->shuffle && !(order = sr_alloc_array(m, sizeof *order)))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for the shuffled order");
    sr_step step = {p->lr, p->l2, p->momentum};
    sr_status st = SR_OK;
    size_t epoch = 0, start = 0;
    if (R->resume) {
        if ((st = restore(R, &rng, err)) != SR_OK)
            goto done;
        epoch = R->resume->epoch;
        start = R->resume->next_row;
        if (start && order && R->resume->order)
            memcpy(order, R->resume->order, m * sizeof *order);
    }
    for (; epoch < p->epochs && !R->stop; epoch++, start = 0) {
        double t0 = now_seconds(), loss;
        size_t end = m;
        /* Mid-epoch resumes keep the epoch's order, already drawn. */
        if (order && start == 0)
            sr_rng_permutation(&rng, order, m);
        st = sr_engine_sgd_epoch_from(&R->e, R->model, R->train, order, batch,
                                      &step, epoch, start, p->interrupt, &end,
                                      &loss, err);
        double sgd_seconds = now_seconds() - t0;
        /* The epoch before is reported first, whatever happened since. */
        if (overlap_finish(R) && st == SR_OK && R->stop) {
            /* The callback stopped at the epoch before: its parameters,
             * as a run without the overlap would end (its checkpoint is
             * already the last written). */
            memcpy(R->model->params, R->overlap->snap.params,
                   R->model->nparams * sizeof(float));
            break;
        }
        if (st != SR_OK)
            break;
        if (end < m) {
            if (p->checkpoint_path &&
                (st = save_checkpoint(R, epoch, end, &rng, order, err)) != SR_OK)
                break;
            st = interrupted(R, epoch, end, err);
            break;
        }
        int full = start == 0;
        /* The last epoch's evaluation has no SGD to go beside: it runs
         * here, on every thread. */
        if (overlap_decide(R, full, sgd_seconds) && epoch + 1 < p->epochs) {
            overlap_start(R, epoch, now_seconds() - t0);
        } else {
            double t1 = now_seconds();
            size_t sgd_threads = overlap_all_threads(R);
            end_epoch(R, epoch, t1 - t0);
            R->e.team.threads_now = sgd_threads;
            overlap_measured(R, full, now_seconds() - t1);
        }
        if (p->checkpoint_path &&
            (st = save_checkpoint(R, epoch + 1, 0, &rng, order, err)) != SR_OK)
            break;
    }
    overlap_finish(R);
done:
    sr_dealloc(order);
    return st;
}

/* The objective and its gradient at the model's parameters: the mean loss
 * plus l2/2 ||W||^2 over the weights (not the biases). */
static double objective(run *R, const float *at, float *grad, int keep_probs)
{
    sr_model *model = R->model;
    double m = (double)R->train->m, f;
    sr_error err;
    if (sr_engine_full_gradient(&R->e, R->train, at, grad, &f, keep_probs,
                                &err) != SR_OK)
        return NAN;
    if (!at)
        at = model->params;
    f /= m;
    for (size_t i = 0; i < model->nparams; i++)
        grad[i] = (float)((double)grad[i] / m);
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        if (!blk->decayed || R->p->l2 == 0.0)
            continue;
        const float *w = at + blk->offset;
        float *g = grad + blk->offset;
        for (size_t i = 0; i < blk->rows * blk->cols; i++) {
            f += 0.5 * R->p->l2 * (double)w[i] * (double)w[i];
            g[i] += (float)(R->p->l2 * (double)w[i]);
        }
    }
    return f;
}

static sr_status train_gd(run *R, sr_error *err)
{
    sr_model *model = R->model;
    sr_status st = sr_engine_prepare_full(&R->e, R->train, 0, err);
    if (st != SR_OK)
        return st;
    float *grad = sr_alloc_array(model->nparams, sizeof *grad);
    if (!grad)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for the gradient");
    float lr = (float)R->p->lr;
    size_t epoch = 0;
    sr_rng rng;
    sr_rng_seed(&rng, R->p->seed);
    if (R->resume) {
        if ((st = restore(R, &rng, err)) != SR_OK) {
            sr_dealloc(grad);
            return st;
        }
        epoch = R->resume->epoch;
    }
    for (; epoch < R->p->epochs && !R->stop; epoch++) {
        double t0 = now_seconds();
        if (R->p->interrupt && *R->p->interrupt) {
            st = interrupted(R, epoch, 0, err);
            break;
        }
        double f = objective(R, NULL, grad, 0);
        if (!isfinite(f)) {
            st = sr_fail(err, SR_ERR_DIVERGED,
                         "gradient descent diverged at step %zu: the objective "
                         "is %g; try a smaller learning rate than %g",
                         epoch, f, R->p->lr);
            break;
        }
        for (size_t i = 0; i < model->nparams; i++)
            model->params[i] -= lr * grad[i];
        sr_engine_params_changed(&R->e);
        end_epoch(R, epoch, now_seconds() - t0);
        if (R->p->checkpoint_path &&
            (st = save_checkpoint(R, epoch + 1, 0, &rng, NULL, err)) != SR_OK)
            break;
    }
    sr_dealloc(grad);
    return st;
}

static double lbfgs_objective(void *ctx, const float *x, float *grad, size_t n)
{
    run *R = ctx;
    if (x != R->model->params)
        memcpy(R->model->params, x, n * sizeof *x);
    sr_engine_params_changed(&R->e);
    return objective(R, NULL, grad, 0);
}

typedef struct lbfgs_progress {
    run *R;
    double t0;
} lbfgs_progress;

static int lbfgs_iteration(void *user, size_t iteration, const float *x,
                           double fx, double gnorm)
{
    (void)fx;
    (void)gnorm;
    lbfgs_progress *lp = user;
    run *R = lp->R;
    /* Evaluate at the accepted point, not the line search's last trial. */
    if (x != R->model->params)
        memcpy(R->model->params, x, R->model->nparams * sizeof(float));
    sr_engine_params_changed(&R->e);
    end_epoch(R, iteration - 1, now_seconds() - lp->t0);
    lp->t0 = now_seconds();
    return R->stop;
}

static sr_status train_lbfgs(run *R, sr_error *err)
{
    sr_model *model = R->model;
    sr_status prep = sr_engine_prepare_full(&R->e, R->train, 0, err);
    if (prep != SR_OK)
        return prep;
    float *x = sr_alloc_array(model->nparams, sizeof *x);
    if (!x)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for L-BFGS");
    memcpy(x, model->params, model->nparams * sizeof *x);
    lbfgs_progress lp = {R, now_seconds()};
    sr_lbfgs_result res;
    sr_status st = sr_lbfgs_minimize(x, model->nparams, lbfgs_objective, R,
                                     R->p->max_iter, R->p->lbfgs_memory,
                                     lbfgs_iteration, &lp, &res, err);
    if (st == SR_OK)
        memcpy(model->params, x, model->nparams * sizeof *x);
    sr_dealloc(x);
    return st;
}

/* Newton's method (optim/newton.c) on the objective: its Hessian is the
 * mean loss's, from the engine at the kept probabilities, plus l2 on the
 * weights. */
/* At a trial point w, which may be the model's parameters themselves
 * (the accepted point) or one of Newton's vectors: the model's
 * parameters stay the accepted point, for the epoch's evaluation. */
static double newton_fgrad(void *ctx, const float *w, float *g)
{
    run *R = ctx;
    return objective(R, w, g, 1);
}

static void newton_hess_vec(void *ctx, const float *v, float *hv)
{
    run *R = ctx;
    sr_model *model = R->model;
    sr_error err;
    if (sr_engine_hess_vec(&R->e, R->train, v, hv, &err) != SR_OK) {
        /* not reached: the gradient prepared every buffer; Newton stops
         * on a product that is not finite */
        for (size_t i = 0; i < model->nparams; i++)
            hv[i] = NAN;
        return;
    }
    float inv_m = (float)(1.0 / (double)R->train->m), l2 = (float)R->p->l2;
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        float decay = blk->decayed ? l2 : 0.0f;
        for (size_t i = blk->offset; i < blk->offset + blk->rows * blk->cols; i++)
            hv[i] = hv[i] * inv_m + decay * v[i];
    }
}

static sr_status train_newton(run *R, sr_error *err)
{
    sr_model *model = R->model;
    sr_status st = sr_engine_prepare_full(&R->e, R->train, 1, err);
    if (st != SR_OK)
        return st;
    /* Newton works on the model's parameters in place (one vector of the
     * model's size less): on failure the run's model is dropped anyway. */
    sr_newton_problem prob = {model->nparams, newton_fgrad, newton_hess_vec,
                              NULL, R};
    lbfgs_progress lp = {R, now_seconds()};
    sr_newton_result res;
    st = sr_newton_minimize(model->params, &prob, R->p->max_iter,
                            R->p->tol > 0.0 ? R->p->tol : 1e-3,
                            lbfgs_iteration, &lp, &res, err);
    sr_engine_params_changed(&R->e);
    return st;
}

/* Linear regression solved exactly: least squares by SVD, ridge with l2.
 * The objective's mean form (1/2 mean + l2/2 ||W||^2) is the sum form with
 * l2' = m l2. */
static sr_status train_exact(run *R, sr_error *err)
{
    sr_model *model = R->model;
    const sr_dataset *ds = R->train;
    size_t m = ds->m, n = ds->n;
    double t0 = now_seconds();
    float *X = sr_alloc_array(m, n * sizeof(float));
    if (!X)
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for the %zu x %zu design matrix", m, n);
    sr_status st = sr_dataset_copy_features(ds, 0, m, X, err);
    const sr_param_block *b = sr_model_block(model, "b");
    if (st == SR_OK)
        st = sr_lstsq_solve(X, m, n, ds->targets, model->k,
                            R->p->l2 * (double)m, model->params,
                            b ? model->params + b->offset : NULL, err);
    sr_dealloc(X);
    sr_engine_params_changed(&R->e);
    if (st == SR_OK)
        end_epoch(R, 0, now_seconds() - t0);
    return st;
}

static sr_status check_test(const sr_dataset *train, const sr_dataset *test,
                            const sr_train_params *p, size_t k, sr_error *err)
{
    if (test->n != train->n)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "the test set has %zu features but the training set "
                       "has %zu", test->n, train->n);
    if (p->model == SR_MODEL_LINEAR) {
        if (!test->targets || test->t != k)
            return sr_fail(err, SR_ERR_MISMATCH,
                           "the test set has %zu targets but the training set "
                           "has %zu", test->targets ? test->t : 0, k);
        return SR_OK;
    }
    return sr_check_labels(test, p->model == SR_MODEL_LOGISTIC ? 2 : k, "test",
                           err);
}

/* Sparse data using few of their features: R trains a model of the
 * features present (compact.h) on copies of its sets restricted to them;
 * *full keeps the model to return, its parameters freed until the end. */
static sr_status compact(run *R, sr_compaction *c, sr_model **full,
                         sr_dataset **copies, sr_error *err)
{
    const sr_train_params *p = R->p;
    sr_init init = p->init;
    if (init == SR_INIT_DEFAULT)
        init = p->model == SR_MODEL_NN ? SR_INIT_NUMPY : SR_INIT_ZEROS;
    int zero_start = !p->warm_start && init == SR_INIT_ZEROS;
    sr_status st = sr_compaction_plan(R->model, R->train, zero_start, c, err);
    if (st != SR_OK || !c->map)
        return st;
    const sr_dataset **sets[3] = {&R->train, &R->val, &R->test};
    for (size_t i = 0; i < 3; i++) {
        if (!*sets[i])
            continue;
        if ((st = sr_compaction_data(c, *sets[i], &copies[i], err)) != SR_OK)
            return st;
        *sets[i] = copies[i];
    }
    sr_model *small = NULL;
    if ((st = sr_compaction_model(c, R->model, &small, err)) != SR_OK)
        return st;
    *full = R->model;
    R->model = small;
    sr_dealloc((*full)->params);
    (*full)->params = NULL;
    return SR_OK;
}

sr_status sr_train(const sr_dataset *train, const sr_dataset *test,
                   const sr_train_params *params, sr_epoch_callback callback,
                   void *user, sr_model **out, sr_error *err)
{
    if (!train || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_train: NULL argument");
    sr_status st = sr_train_params_check(params, err);
    if (st != SR_OK)
        return st;
    if (train->m == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the training set is empty");
    size_t k = 0;
    if ((st = model_outputs(params, train, &k, err)) != SR_OK)
        return st;
    if (params->model != SR_MODEL_LINEAR &&
        (st = sr_check_labels(train, params->model == SR_MODEL_LOGISTIC ? 2 : k,
                              "training", err)) != SR_OK)
        return st;
    if (test && (st = check_test(train, test, params, k, err)) != SR_OK)
        return st;

    run R;
    memset(&R, 0, sizeof R);
    R.p = params;
    sr_checkpoint resume;
    memset(&resume, 0, sizeof resume);
    if (params->resume_path) {
        if ((st = sr_checkpoint_load(params->resume_path, &resume, err)) != SR_OK)
            return st;
        R.resume = &resume;
    }
    R.callback = callback;
    R.user = user;
    sr_dataset *fit_raw = NULL, *val_raw = NULL;
    sr_dataset *fit_mapped = NULL, *val_mapped = NULL, *test_mapped = NULL;
    size_t *rows = NULL;
    const sr_dataset *fit = train;
    sr_compaction comp;
    memset(&comp, 0, sizeof comp);
    sr_model *full = NULL;
    sr_dataset *compacted[3] = {NULL, NULL, NULL};

    if (params->val_split > 0.0) {
        size_t *val_rows = NULL, m_fit = 0, m_val = 0;
        st = split_rows(params, train->m, &rows, &m_fit, &val_rows, &m_val, err);
        if (st == SR_OK)
            st = sr_dataset_subset(train, rows, m_fit, &fit_raw, err);
        if (st == SR_OK)
            st = sr_dataset_subset(train, val_rows, m_val, &val_raw, err);
        if (st != SR_OK)
            goto done;
        fit = fit_raw;
    }
    if ((st = make_model(params, fit, k, &R.model, err)) != SR_OK)
        goto done;
    if ((st = sr_feature_map_apply(R.model, fit, &fit_mapped, err)) != SR_OK ||
        (val_raw && (st = sr_feature_map_apply(R.model, val_raw, &val_mapped,
                                               err)) != SR_OK) ||
        (test && (st = sr_feature_map_apply(R.model, test, &test_mapped,
                                            err)) != SR_OK))
        goto done;
    R.train = fit_mapped ? fit_mapped : fit;
    R.val = val_mapped ? val_mapped : val_raw;
    R.test = test ? (test_mapped ? test_mapped : test) : NULL;
    if ((st = compact(&R, &comp, &full, compacted, err)) != SR_OK)
        goto done;

    size_t batch = params->batch < R.train->m ? params->batch : R.train->m;
    /* Full passes go in blocks: on sparse data big ones, whose transposes
     * name each feature once for many rows. */
    if (params->optimizer != SR_OPTIMIZER_SGD)
        batch = sr_dataset_is_sparse(R.train) ? 4096 : SR_EVAL_CHUNK;
    size_t eval_rows = R.train->m;
    if (R.test && R.test->m > eval_rows)
        eval_rows = R.test->m;
    size_t threads = sr_thread_count(params->threads);
    int use_overlap = overlap_wanted(params, threads);
    st = sr_engine_init(&R.e, R.model, batch, eval_rows, threads,
                        params->momentum > 0.0, err);
    if (st == SR_OK && use_overlap)
        st = overlap_init(&R, eval_rows, err);
    /* every set evaluates its rows through the same buffers */
    if (st == SR_OK)
        st = sr_engine_prepare_eval(&R.e, R.train, err);
    if (st == SR_OK && R.overlap)
        st = sr_engine_prepare_eval(&R.overlap->e, R.train, err);
    if (st != SR_OK)
        goto done;
    if (params->early_stop) {
        R.best = sr_alloc_array(R.model->nparams, sizeof *R.best);
        if (!R.best) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory for early stopping");
            goto done;
        }
        memcpy(R.best, R.model->params, R.model->nparams * sizeof *R.best);
        R.best_loss = INFINITY;
    }
    switch (params->optimizer) {
    case SR_OPTIMIZER_SGD: st = train_sgd(&R, err); break;
    case SR_OPTIMIZER_GD: st = train_gd(&R, err); break;
    case SR_OPTIMIZER_LBFGS: st = train_lbfgs(&R, err); break;
    case SR_OPTIMIZER_EXACT: st = train_exact(&R, err); break;
    case SR_OPTIMIZER_NEWTON: st = train_newton(&R, err); break;
    }
    if (st == SR_OK && R.best && R.best_loss < INFINITY)
        memcpy(R.model->params, R.best, R.model->nparams * sizeof *R.best);
done:
    overlap_release(&R);
    sr_checkpoint_release(&resume);
    sr_engine_release(&R.e);
    sr_dealloc(R.best);
    sr_dealloc(rows);
    sr_dataset_free(fit_raw);
    sr_dataset_free(val_raw);
    sr_dataset_free(fit_mapped);
    sr_dataset_free(val_mapped);
    sr_dataset_free(test_mapped);
    for (size_t i = 0; i < 3; i++)
        sr_dataset_free(compacted[i]);
    /* The model of every feature, once the training buffers are gone. */
    if (st == SR_OK && full) {
        if (!(full->params = sr_alloc_zeroed(full->nparams, sizeof(float)))) {
            st = sr_fail(err, SR_ERR_NOMEM,
                         "out of memory for the model's %zu parameters",
                         full->nparams);
        } else {
            sr_compaction_expand(&comp, R.model, full);
            sr_model_free(R.model);
            R.model = full;
            full = NULL;
        }
    }
    sr_model_free(full);
    sr_compaction_release(&comp);
    if (st != SR_OK) {
        sr_model_free(R.model);
        return st;
    }
    *out = R.model;
    return SR_OK;
}
