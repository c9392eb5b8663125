/* The training loop: epochs of minibatch SGD, evaluation after each. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "../core/rng_init.h"
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
    p.seed = 0;
    p.classes = 0;
    p.threads = 0;
    p.evaluate = 1;
    return p;
}

sr_status sr_train_params_check(const sr_train_params *p, sr_error *err)
{
    if (!p)
        return sr_fail(err, SR_ERR_INVALID_ARG, "training parameters are NULL");
    if (p->model != SR_MODEL_SOFTMAX && p->model != SR_MODEL_NN)
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
    if (p->init != SR_INIT_DEFAULT && p->init != SR_INIT_ZEROS &&
        p->init != SR_INIT_NUMPY)
        return sr_fail(err, SR_ERR_INVALID_ARG, "init: unknown scheme %d",
                       (int)p->init);
    if (p->threads > 4096)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "threads: %zu is more than the 4096 supported",
                       p->threads);
    return SR_OK;
}

/* np.random.seed(seed); each block W (rows, cols) in order gets
 * np.random.randn(rows, cols).astype(np.float32) / np.sqrt(cols). */
static void init_numpy(sr_model *model, uint32_t seed)
{
    sr_rng rng;
    sr_rng_seed(&rng, seed);
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        if (blk->rows == 1 && blk->name[0] == 'b')
            continue; /* biases start at zero */
        sr_rng_fill_randn_scaled(&rng, model->params + blk->offset,
                                 blk->rows * blk->cols, blk->cols);
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sr_status check_data(const sr_dataset *train, const sr_dataset *test,
                            size_t k, sr_error *err)
{
    if (train->m == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the training set is empty");
    sr_status st = sr_check_labels(train, k, "training", err);
    if (st != SR_OK)
        return st;
    if (!test)
        return SR_OK;
    if (test->n != train->n)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "the test set has %zu features but the training set "
                       "has %zu", test->n, train->n);
    return sr_check_labels(test, k, "test", err);
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
    size_t k = params->classes ? params->classes : train->k;
    st = check_data(train, test, k, err);
    if (st != SR_OK)
        return st;

    sr_model *model = NULL;
    sr_engine e;
    memset(&e, 0, sizeof e);
    size_t d = params->model == SR_MODEL_NN ? params->hidden : 0;
    sr_model_spec spec = {params->model, train->n, k, d, 0};
    st = sr_model_create(&spec, &model, err);
    if (st != SR_OK)
        goto fail;
    sr_init init = params->init;
    if (init == SR_INIT_DEFAULT)
        init = params->model == SR_MODEL_NN ? SR_INIT_NUMPY : SR_INIT_ZEROS;
    if (init == SR_INIT_NUMPY)
        init_numpy(model, params->seed);

    size_t batch = params->batch < train->m ? params->batch : train->m;
    size_t eval_rows = train->m;
    if (test && test->m > eval_rows)
        eval_rows = test->m;
    st = sr_engine_init(&e, model, batch, eval_rows,
                        sr_thread_count(params->threads), 0, err);
    if (st != SR_OK)
        goto fail;
    sr_step step = {params->lr, 0.0, 0.0};

    for (size_t epoch = 0; epoch < params->epochs; epoch++) {
        double t0 = now_seconds(), loss_sum;
        st = sr_engine_sgd_epoch(&e, model, train, NULL, batch, &step, epoch,
                                 &loss_sum, err);
        if (st != SR_OK)
            goto fail;
        sr_epoch_stats stats = {epoch, NAN, NAN, NAN, NAN, now_seconds() - t0};
        if (params->evaluate) {
            sr_engine_evaluate(&e, train, &stats.train_loss, &stats.train_err);
            if (test)
                sr_engine_evaluate(&e, test, &stats.test_loss, &stats.test_err);
        }
        if (callback && callback(&stats, user))
            break;
    }
    sr_engine_release(&e);
    *out = model;
    return SR_OK;
fail:
    sr_engine_release(&e);
    sr_model_free(model);
    return st;
}
