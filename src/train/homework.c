/* The homework's functions on caller-owned float arrays. They wrap the
 * arrays in a data set view and run the same kernels as training. */
#include <math.h>
#include <string.h>

#include "train.h"

/* A data set that borrows X and labels; never passed to sr_dataset_free. */
static sr_status borrow(sr_dataset *view, const float *X, const uint8_t *y,
                        size_t m, size_t n, size_t k, int32_t **labels,
                        sr_error *err)
{
    memset(view, 0, sizeof *view);
    view->m = m;
    view->n = n;
    view->k = k;
    view->layout = SR_FEATURES_F32;
    view->x_f32 = (float *)X;
    int32_t *lab = sr_alloc_array(m, sizeof *lab);
    if (!lab)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory copying %zu labels", m);
    for (size_t i = 0; i < m; i++) {
        if (y[i] >= k) {
            sr_dealloc(lab);
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "y[%zu] = %u is not below the %zu classes", i,
                           (unsigned)y[i], k);
        }
        lab[i] = y[i];
    }
    view->y = lab;
    *labels = lab;
    return SR_OK;
}

static sr_status check_sizes(const void *X, const void *y, const void *w,
                             size_t m, size_t n, size_t k, size_t batch,
                             float lr, sr_error *err)
{
    size_t mn, nk;
    if (!X || !y || !w)
        return sr_fail(err, SR_ERR_INVALID_ARG, "NULL array argument");
    if (m == 0 || n == 0 || k == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sizes must be positive (m %zu, n %zu, k %zu)", m, n, k);
    if (batch == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "batch: must be at least 1");
    if (!(lr > 0.0f) || !isfinite(lr))
        return sr_fail(err, SR_ERR_INVALID_ARG, "lr: must be positive, not %g",
                       (double)lr);
    if (sr_mul_overflows(m, n, &mn) || sr_mul_overflows(n, k, &nk))
        return sr_fail(err, SR_ERR_TOO_BIG, "sizes overflow");
    return SR_OK;
}

static sr_status run_epoch(sr_model *model, const float *X, const uint8_t *y,
                           size_t m, size_t batch, float lr, sr_error *err)
{
    sr_dataset view;
    int32_t *labels = NULL;
    sr_engine e;
    sr_status st = borrow(&view, X, y, m, model->n, model->k, &labels, err);
    if (st != SR_OK)
        return st;
    size_t B = batch < m ? batch : m;
    double loss;
    sr_step step = {lr, 0.0, 0.0};
    st = sr_engine_init(&e, model, B, 0, 1, 0, err);
    if (st == SR_OK)
        st = sr_engine_sgd_epoch(&e, model, &view, NULL, B, &step, 0, &loss, err);
    sr_engine_release(&e);
    sr_dealloc(labels);
    return st;
}

sr_status sr_softmax_regression_epoch(const float *X, const uint8_t *y,
                                      float *theta, size_t m, size_t n,
                                      size_t k, float lr, size_t batch,
                                      sr_error *err)
{
    sr_status st = check_sizes(X, y, theta, m, n, k, batch, lr, err);
    if (st != SR_OK)
        return st;
    sr_model *model;
    sr_model_spec spec = {SR_MODEL_SOFTMAX, n, k, 0, 0};
    if ((st = sr_model_create(&spec, &model, err)) != SR_OK)
        return st;
    memcpy(model->params, theta, model->nparams * sizeof(float));
    st = run_epoch(model, X, y, m, batch, lr, err);
    if (st == SR_OK)
        memcpy(theta, model->params, model->nparams * sizeof(float));
    sr_model_free(model);
    return st;
}

sr_status sr_nn_epoch(const float *X, const uint8_t *y, float *W1, float *W2,
                      size_t m, size_t n, size_t d, size_t k, float lr,
                      size_t batch, sr_error *err)
{
    sr_status st = check_sizes(X, y, W1, m, n, k, batch, lr, err);
    if (st != SR_OK)
        return st;
    if (!W2 || d == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "W2 must not be NULL and d must be positive");
    sr_model *model;
    sr_model_spec spec = {SR_MODEL_NN, n, k, d, 0};
    if ((st = sr_model_create(&spec, &model, err)) != SR_OK)
        return st;
    float *p1 = model->params + model->blocks[0].offset;
    float *p2 = model->params + model->blocks[1].offset;
    memcpy(p1, W1, n * d * sizeof(float));
    memcpy(p2, W2, d * k * sizeof(float));
    st = run_epoch(model, X, y, m, batch, lr, err);
    if (st == SR_OK) {
        memcpy(W1, p1, n * d * sizeof(float));
        memcpy(W2, p2, d * k * sizeof(float));
    }
    sr_model_free(model);
    return st;
}

sr_status sr_loss_err(const float *Z, const uint8_t *y, size_t m, size_t k,
                      double *loss, double *error_rate, sr_error *err)
{
    if (!Z || !y || !loss || !error_rate)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_loss_err: NULL argument");
    if (m == 0 || k == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sizes must be positive (m %zu, k %zu)", m, k);
    double total = 0.0;
    size_t wrong = 0;
    for (size_t i = 0; i < m; i++) {
        if (y[i] >= k)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "y[%zu] = %u is not below the %zu classes", i,
                           (unsigned)y[i], k);
        const float *z = Z + i * k;
        size_t arg = 0;
        for (size_t c = 1; c < k; c++)
            if (z[c] > z[arg])
                arg = c;
        double mx = z[arg], sum = 0.0;
        for (size_t c = 0; c < k; c++)
            sum += exp((double)z[c] - mx);
        total += log(sum) - ((double)z[y[i]] - mx);
        wrong += arg != y[i];
    }
    *loss = total / (double)m;
    *error_rate = (double)wrong / (double)m;
    return SR_OK;
}

sr_status sr_softmax_loss(const float *Z, const uint8_t *y, size_t m, size_t k,
                          double *loss, sr_error *err)
{
    double e;
    if (!loss)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_softmax_loss: NULL argument");
    return sr_loss_err(Z, y, m, k, loss, &e, err);
}
