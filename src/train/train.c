/* Training: the model's set-up from the data and the parameters, then the
 * chosen optimiser (run_sgd.c, run_full.c), with evaluation after every
 * epoch (report.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng_init.h"
#include "../dist/dist.h"
#include "../models/feature_map.h"
#include "../optim/optim.h"
#include "compact.h"
#include "run.h"

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
    if ((unsigned)p->class_weight > SR_CLASS_WEIGHT_BALANCED)
        return sr_fail(err, SR_ERR_INVALID_ARG, "class-weight: unknown %d",
                       (int)p->class_weight);
    if (p->class_weight && p->model == SR_MODEL_LINEAR)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "class-weight: linear regression has no classes");
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

/* The training file's column names into the model (a warm start's own
 * when it has them). */
static sr_status copy_columns(sr_model *m, char *const *features,
                              const char *label, size_t label_col,
                              sr_error *err)
{
    sr_status st = sr_copy_strings(features, m->n_raw, &m->feature_names, err);
    if (st != SR_OK)
        return st;
    if (label) {
        size_t len = strlen(label) + 1;
        if (!(m->label_name = sr_alloc(len)))
            return sr_fail(err, SR_ERR_NOMEM, "out of memory for a name");
        memcpy(m->label_name, label, len);
        m->label_col = label_col;
    }
    return SR_OK;
}

/* The options that shape the result, as text kept in the model file. */
static sr_status note_options(sr_model *m, const sr_train_params *p,
                              sr_error *err)
{
    static const char *const optimizers[] = {"sgd", "gd", "lbfgs", "exact",
                                             "newton"};
    char text[512];
    int len = snprintf(
        text, sizeof text,
        "model=%s hidden=%zu bias=%d standardize=%d poly=%u optimizer=%s "
        "epochs=%zu lr=%.9g batch=%zu l2=%.9g momentum=%.9g shuffle=%d "
        "seed=%lu max_iter=%zu val_split=%.9g early_stop=%zu class_weight=%s "
        "warm_start=%d", sr_model_kind_name(p->model),
        p->model == SR_MODEL_NN ? p->hidden : 0, m->bias, m->mean != NULL,
        m->poly, optimizers[p->optimizer], p->epochs, p->lr, p->batch, p->l2,
        p->momentum, p->shuffle != 0, (unsigned long)p->seed, p->max_iter,
        p->val_split, p->early_stop,
        p->class_weight ? "balanced" : "none", p->warm_start != NULL);
    if (len < 0 || (size_t)len >= sizeof text)
        return SR_OK;
    if (!(m->train_options = sr_alloc((size_t)len + 1)))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    memcpy(m->train_options, text, (size_t)len + 1);
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
        if (st == SR_OK)
            st = warm->feature_names || warm->label_name
                     ? copy_columns(m, warm->feature_names, warm->label_name,
                                    warm->label_col, err)
                     : copy_columns(m, train->feature_names, train->label_name,
                                    train->label_col, err);
    } else {
        if (p->standardize)
            st = sr_feature_map_fit(m, train, err);
        if (st == SR_OK)
            st = copy_class_names(m, train, err);
        if (st == SR_OK)
            st = copy_columns(m, train->feature_names, train->label_name,
                              train->label_col, err);
        sr_init init = p->init;
        if (init == SR_INIT_DEFAULT)
            init = p->model == SR_MODEL_NN ? SR_INIT_NUMPY : SR_INIT_ZEROS;
        if (init == SR_INIT_NUMPY)
            init_numpy(m, p->seed);
    }
    if (st == SR_OK)
        st = note_options(m, p, err);
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
/* The validation rows of a stratified split: each class's share
 * count_c f rounded down, then one more for the classes of the largest
 * remainders (ties to the lower class) until they add up to nv; within a
 * class, rows drawn by the seeded generator. is_val[r] marks them. */
static sr_status stratified_rows(const sr_train_params *p,
                                 const sr_dataset *ds, size_t nv,
                                 unsigned char *is_val, sr_error *err)
{
    size_t m = ds->m, k = ds->k ? ds->k : 1;
    size_t *count = sr_alloc_zeroed(k, sizeof *count);
    size_t *want = sr_alloc_zeroed(k, sizeof *want);
    size_t *start = sr_alloc_zeroed(k + 1, sizeof *start);
    size_t *rows = sr_alloc_array(m, sizeof *rows);
    sr_status st = SR_OK;
    if (!count || !want || !start || !rows) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory splitting the data");
        goto done;
    }
    for (size_t r = 0; r < m; r++)
        count[ds->y ? (size_t)ds->y[r] : 0]++;
    size_t given = 0;
    for (size_t c = 0; c < k; c++) {
        want[c] = (size_t)((double)count[c] * p->val_split);
        given += want[c];
    }
    while (given < nv) {
        size_t best = k;
        double best_rem = -1.0;
        for (size_t c = 0; c < k; c++) {
            double rem = (double)count[c] * p->val_split - (double)want[c];
            if (want[c] < count[c] && rem > best_rem) {
                best_rem = rem;
                best = c;
            }
        }
        if (best == k)
            break;
        want[best]++;
        given++;
    }
    /* each class's rows together, in the data's order */
    for (size_t c = 0; c < k; c++)
        start[c + 1] = start[c] + count[c];
    memset(count, 0, k * sizeof *count);
    for (size_t r = 0; r < m; r++) {
        size_t c = ds->y ? (size_t)ds->y[r] : 0;
        rows[start[c] + count[c]++] = r;
    }
    sr_rng rng;
    sr_rng_seed(&rng, p->seed);
    for (size_t c = 0; c < k; c++) {
        /* a partial Fisher-Yates shuffle draws want[c] of them */
        size_t *part = rows + start[c], n = count[c];
        for (size_t i = 0; i < want[c]; i++) {
            size_t j = i + (size_t)(sr_rng_uniform(&rng) * (double)(n - i));
            if (j >= n)
                j = n - 1;
            size_t t = part[i];
            part[i] = part[j];
            part[j] = t;
            is_val[part[i]] = 1;
        }
    }
done:
    sr_dealloc(count);
    sr_dealloc(want);
    sr_dealloc(start);
    sr_dealloc(rows);
    return st;
}

/* The rows of the training and validation parts, each in the data's
 * order: the last nv rows with val_tail, else a stratified random part. */
static sr_status split_rows(const sr_train_params *p, const sr_dataset *ds,
                            size_t **train, size_t *m_train, size_t **val,
                            size_t *m_val, sr_error *err)
{
    size_t m = ds->m, nv = (size_t)((double)m * p->val_split);
    if (nv == 0 || nv >= m)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "val-split %g of %zu examples leaves no %s examples",
                       p->val_split, m, nv == 0 ? "validation" : "training");
    size_t *order = sr_alloc_array(m, sizeof *order);
    if (!order)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory splitting the data");
    if (p->val_tail) {
        for (size_t r = 0; r < m; r++)
            order[r] = r;
    } else {
        unsigned char *is_val = sr_alloc_zeroed(m, 1);
        sr_status st = is_val ? stratified_rows(p, ds, nv, is_val, err)
                              : sr_fail(err, SR_ERR_NOMEM,
                                        "out of memory splitting the data");
        if (st != SR_OK) {
            sr_dealloc(is_val);
            sr_dealloc(order);
            return st;
        }
        size_t a = 0, b = m - nv;
        for (size_t r = 0; r < m; r++)
            order[is_val[r] ? b++ : a++] = r;
        sr_dealloc(is_val);
    }
    *train = order;
    *m_train = m - nv;
    *val = order + (m - nv);
    *m_val = nv;
    return SR_OK;
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

/* An untrained model's training loss, the scale that divergence is
 * judged against (at least 1): log k for the classifiers (the loss of
 * uniform probabilities), half the targets' mean square for regression
 * (the loss of zero predictions). */
static double untrained_loss(const sr_train_params *p, const sr_dataset *ds,
                             size_t k)
{
    double scale = 0.0;
    if (p->model != SR_MODEL_LINEAR) {
        scale = log(p->model == SR_MODEL_LOGISTIC || k < 2 ? 2.0 : (double)k);
    } else if (ds->targets && sr_dataset_rows_all(ds)) {
        /* a shard continues the sum of the ranks before it */
        sr_dist_piece sum = {&scale, sizeof scale};
        if (ds->sharded)
            sr_dist_chain_take(&sum, 1);
        for (size_t i = 0; i < ds->m * ds->t; i++)
            scale += 0.5 * (double)ds->targets[i] * (double)ds->targets[i];
        if (ds->sharded)
            sr_dist_chain_give(&sum, 1);
        scale /= (double)sr_dataset_rows_all(ds);
    }
    return scale > 1.0 ? scale : 1.0;
}

/* The outcome of a run whose optimiser has no convergence test of its
 * own, and of early stopping, which overrides the optimiser's. */
static void describe_outcome(run *R)
{
    const sr_train_params *p = R->p;
    if (R->best && R->best_loss < INFINITY && R->since_best >= p->early_stop) {
        sr_run_outcome(R, 0, R->reported,
                       "early stopping: no better validation loss in the %zu "
                       "epochs after epoch %zu, whose parameters are kept",
                       p->early_stop, R->best_epoch);
        R->out.kept_epoch = R->best_epoch;
    } else if (p->optimizer == SR_OPTIMIZER_SGD ||
               p->optimizer == SR_OPTIMIZER_GD) {
        const char *what = p->optimizer == SR_OPTIMIZER_SGD ? "SGD" :
                           "gradient descent";
        if (R->stop)
            sr_run_outcome(R, 0, R->reported,
                           "%s stopped by the epoch callback after %zu "
                           "epochs", what, R->reported);
        else
            sr_run_outcome(R, 0, p->epochs,
                           "%s ran the %zu %s asked for (it has no "
                           "convergence test; --epochs sets them)", what,
                           p->epochs,
                           p->optimizer == SR_OPTIMIZER_SGD ? "epochs"
                                                            : "steps");
    }
    if (R->best && R->best_loss < INFINITY &&
        !(R->since_best >= p->early_stop)) {
        R->out.kept_epoch = R->best_epoch;
        size_t used = strlen(R->out.reason);
        snprintf(R->out.reason + used, sizeof R->out.reason - used,
                 "; the parameters of epoch %zu, of the best validation "
                 "loss, are kept", R->best_epoch);
    }
    if (p->outcome)
        *p->outcome = R->out;
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
    if (sr_dataset_rows_all(train) == 0)
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
    R.out.kept_epoch = SIZE_MAX;
    R.loss_scale = untrained_loss(params, train, k);
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
    int keep; /* the run ends with a model, *out */
    float *class_weight = NULL;

    if (params->val_split > 0.0) {
        size_t *val_rows = NULL, m_fit = 0, m_val = 0;
        st = split_rows(params, train, &rows, &m_fit, &val_rows, &m_val, err);
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
    if (params->keep_on_interrupt &&
        (params->optimizer == SR_OPTIMIZER_SGD ||
         params->optimizer == SR_OPTIMIZER_GD) &&
        !(R.epoch_params = sr_alloc_array(R.model->nparams, sizeof(float)))) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory for the kept epoch");
        goto done;
    }
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
    /* A shard's CRC takes every rank: known before rank 0 alone asks */
    if (R.train->sharded && (params->checkpoint_path || params->resume_path)) {
        R.data_crc = sr_dataset_crc(R.train);
        R.data_crc_known = 1;
    }

    /* (a shard's batches are those of all its ranks' rows) */
    size_t m_all = sr_dataset_rows_all(R.train);
    size_t batch = params->batch < m_all ? params->batch : m_all;
    /* Full passes go in blocks: on sparse data big ones, whose transposes
     * name each feature once for many rows. */
    if (params->optimizer != SR_OPTIMIZER_SGD)
        batch = sr_dataset_is_sparse(R.train) ? 4096 : SR_EVAL_CHUNK;
    size_t eval_rows = R.train->m;
    if (R.test && R.test->m > eval_rows)
        eval_rows = R.test->m;
    size_t threads = sr_thread_count(params->threads);
    int use_overlap = sr_overlap_wanted(params, threads);
    st = sr_engine_init(&R.e, R.model, batch, eval_rows, threads,
                        params->momentum > 0.0, err);
    if (st == SR_OK && params->class_weight) {
        /* balanced: m / (k m_c) over the rows training sees */
        size_t classes = sr_model_class_count(R.model);
        if (!(class_weight = sr_alloc_array(classes, sizeof *class_weight))) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory for class weights");
        } else {
            for (size_t c = 0; c < classes; c++) {
                size_t count = sr_dataset_class_count(R.train, c);
                class_weight[c] = count ? (float)((double)sr_dataset_rows_all(R.train) /
                                                  ((double)classes *
                                                   (double)count))
                                        : 0.0f;
            }
            R.e.ws.class_weight = class_weight;
        }
    }
    if (st == SR_OK && use_overlap)
        st = sr_overlap_init(&R, eval_rows, err);
    /* every set evaluates its rows through the same buffers */
    if (st == SR_OK)
        st = sr_engine_prepare_eval(&R.e, R.train, err);
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
    case SR_OPTIMIZER_SGD: st = sr_run_sgd(&R, err); break;
    case SR_OPTIMIZER_GD: st = sr_run_gd(&R, err); break;
    case SR_OPTIMIZER_LBFGS: st = sr_run_lbfgs(&R, err); break;
    case SR_OPTIMIZER_EXACT: st = sr_run_exact(&R, err); break;
    case SR_OPTIMIZER_NEWTON: st = sr_run_newton(&R, err); break;
    }
    if (st == SR_OK && R.interrupted)
        st = sr_fail(err, SR_ERR_INTERRUPTED, "interrupted after iteration %zu",
                     R.finished);
    if (st == SR_OK && R.diverged)
        st = sr_fail(err, SR_ERR_DIVERGED,
                     "training diverged: the training loss after epoch %zu "
                     "is %g, over %g times an untrained model's (%g)",
                     R.diverged_epoch, R.diverged_loss, 1000.0,
                     R.loss_scale);
    if (st == SR_OK)
        describe_outcome(&R);
    if (st == SR_OK && R.best && R.best_loss < INFINITY)
        memcpy(R.model->params, R.best, R.model->nparams * sizeof *R.best);
done:
    /* An interrupted run that may keep its model: the last finished
     * epoch's parameters (full-batch optimisers hold their last
     * iteration's already). */
    keep = st == SR_OK;
    if (st == SR_ERR_INTERRUPTED && params->keep_on_interrupt &&
        R.finished > 0 && R.model) {
        keep = 1;
        if (R.epoch_params)
            memcpy(R.model->params, R.epoch_params,
                   R.model->nparams * sizeof(float));
        R.out.iterations = R.finished;
        if (params->outcome)
            *params->outcome = R.out;
    }
    sr_dealloc(R.epoch_params);
    sr_dealloc(class_weight);
    sr_overlap_release(&R);
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
    if (keep && full) {
        if (!(full->params = sr_alloc_zeroed(full->nparams, sizeof(float)))) {
            st = sr_fail(err, SR_ERR_NOMEM,
                         "out of memory for the model's %zu parameters",
                         full->nparams);
            keep = 0;
        } else {
            sr_compaction_expand(&comp, R.model, full);
            sr_model_free(R.model);
            R.model = full;
            full = NULL;
        }
    }
    sr_model_free(full);
    sr_compaction_release(&comp);
    if (!keep) {
        sr_model_free(R.model);
        return st;
    }
    *out = R.model;
    return st;
}
