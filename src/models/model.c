/* sr_model: creation, accessors, and the per-row forward and backward that
 * every kind shares. */
#include <math.h>
#include <string.h>

#include "model.h"

static int add_block(sr_model *m, const char *name, size_t rows, size_t cols,
                     sr_block_input input, int feeds_hidden)
{
    size_t size;
    if (sr_mul_overflows(rows, cols, &size) || m->nparams > SIZE_MAX - size)
        return 0;
    m->blocks[m->nblocks++] = (sr_param_block){
        name, m->nparams, rows, cols, input, feeds_hidden, input != SR_INPUT_ONE};
    m->nparams += size;
    return 1;
}

sr_status sr_model_create(const sr_model_spec *spec, sr_model **out,
                          sr_error *err)
{
    sr_model_kind kind = spec->kind;
    size_t n = spec->n, k = spec->k, d = spec->d;
    if (n == 0 || k == 0 || (kind == SR_MODEL_NN && d == 0))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "model sizes must be positive (features %zu, outputs "
                       "%zu, hidden %zu)", n, k, d);
    sr_model *m = sr_alloc_zeroed(1, sizeof *m);
    if (!m)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory allocating a model");
    m->kind = kind;
    m->n = m->n_raw = n;
    m->k = k;
    m->poly = 1;
    m->bias = spec->bias != 0;
    int ok;
    switch (kind) {
    case SR_MODEL_SOFTMAX:
    case SR_MODEL_LINEAR:
    case SR_MODEL_LOGISTIC:
        ok = add_block(m, "theta", n, k, SR_INPUT_X, 0) &&
             (!m->bias || add_block(m, "b", 1, k, SR_INPUT_ONE, 0));
        break;
    case SR_MODEL_NN:
        m->d = d;
        ok = add_block(m, "W1", n, d, SR_INPUT_X, 1) &&
             (!m->bias || add_block(m, "b1", 1, d, SR_INPUT_ONE, 1)) &&
             add_block(m, "W2", d, k, SR_INPUT_HIDDEN, 0) &&
             (!m->bias || add_block(m, "b2", 1, k, SR_INPUT_ONE, 0));
        break;
    default:
        sr_dealloc(m);
        return sr_fail(err, SR_ERR_INVALID_ARG, "unknown model kind %d",
                       (int)kind);
    }
    if (!ok) {
        sr_dealloc(m);
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "model with %zu features, %zu outputs and %zu hidden "
                       "units is too big", n, k, d);
    }
    m->params = sr_alloc_zeroed(m->nparams, sizeof *m->params);
    if (!m->params) {
        size_t count = m->nparams;
        sr_dealloc(m);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory allocating %zu parameters", count);
    }
    *out = m;
    return SR_OK;
}

void sr_model_free(sr_model *model)
{
    if (!model)
        return;
    sr_dealloc(model->params);
    sr_dealloc(model->mean);
    sr_dealloc(model->inv_std);
    if (model->class_names) {
        for (size_t c = 0; c < sr_model_class_count(model); c++)
            sr_dealloc(model->class_names[c]);
        sr_dealloc(model->class_names);
    }
    sr_dealloc(model);
}

sr_model_kind sr_model_kind_of(const sr_model *model) { return model->kind; }
size_t sr_model_features(const sr_model *model) { return model ? model->n_raw : 0; }
size_t sr_model_classes(const sr_model *model)
{
    if (model && model->kind == SR_MODEL_LINEAR)
        return model->k;
    return sr_model_class_count(model);
}
size_t sr_model_hidden(const sr_model *model) { return model ? model->d : 0; }
size_t sr_model_param_count(const sr_model *model)
{
    return model ? model->nblocks : 0;
}

const float *sr_model_param(const sr_model *model, size_t index,
                            const char **name, size_t *rows, size_t *cols)
{
    if (!model || index >= model->nblocks)
        return NULL;
    const sr_param_block *blk = &model->blocks[index];
    if (name)
        *name = blk->name;
    if (rows)
        *rows = blk->rows;
    if (cols)
        *cols = blk->cols;
    return model->params + blk->offset;
}

const sr_param_block *sr_model_block(const sr_model *model, const char *name)
{
    for (size_t b = 0; b < model->nblocks; b++)
        if (!strcmp(model->blocks[b].name, name))
            return &model->blocks[b];
    return NULL;
}

void sr_model_prepare(const sr_model *model, sr_row_scratch *scratch)
{
    if (model->kind != SR_MODEL_NN)
        return;
    size_t d = model->d, k = model->k;
    const float *W2 = model->params + sr_model_block(model, "W2")->offset;
    for (size_t a = 0; a < d; a++)
        for (size_t c = 0; c < k; c++)
            scratch->W2T[c * d + a] = W2[a * k + c];
}

static void add_bias(const sr_model *model, const char *name, float *out,
                     size_t len)
{
    const sr_param_block *b = sr_model_block(model, name);
    if (!b)
        return;
    const float *bias = model->params + b->offset;
    for (size_t c = 0; c < len; c++)
        out[c] += bias[c];
}

void sr_model_row_forward(const sr_model *model, const sr_kernel_table *K,
                          const sr_row *x, float *z, float *h)
{
    size_t k = model->k;
    if (model->kind != SR_MODEL_NN) {
        /* z = x theta + b */
        K->row_matmul(z, x, model->params, k);
        add_bias(model, "b", z, k);
        return;
    }
    size_t d = model->d;
    const float *W1 = model->params + model->blocks[0].offset;
    const float *W2 = model->params + sr_model_block(model, "W2")->offset;
    /* h = ReLU(x W1 + b1) is (d); z = h W2 + b2 is (k) */
    K->row_matmul(h, x, W1, d);
    add_bias(model, "b1", h, d);
    for (size_t a = 0; a < d; a++)
        h[a] = h[a] > 0.0f ? h[a] : 0.0f;
    sr_row hrow = {d, NULL, NULL, NULL, h};
    K->row_matmul(z, &hrow, W2, k);
    add_bias(model, "b2", z, k);
}

/* Loss of the logistic model for one example with label y in {0, 1} and
 * logit z: -y log s(z) - (1 - y) log(1 - s(z)) = max(z, 0) - y z +
 * log(1 + exp(-|z|)), which no z overflows. */
static double logistic_loss(float z, int32_t y)
{
    double zd = z;
    return (zd > 0 ? zd : 0.0) - (y ? zd : 0.0) + log1p(exp(-fabs(zd)));
}

static float sigmoid(float z)
{
    /* exp of a non-positive number only: no overflow for any z. */
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

double sr_model_row_backward(const sr_model *model, const sr_kernel_table *K,
                             const sr_dataset *ds, size_t r, float *z,
                             const float *h, float *g1,
                             const sr_row_scratch *scratch)
{
    size_t k = model->k;
    double loss;
    switch (model->kind) {
    case SR_MODEL_LOGISTIC: {
        /* d loss / d z = sigmoid(z) - y, fused as the course fuses softmax */
        int32_t y = ds->y[r];
        loss = logistic_loss(z[0], y);
        z[0] = sigmoid(z[0]) - (float)y;
        return loss;
    }
    case SR_MODEL_LINEAR: {
        /* loss = 1/2 sum_c (z_c - t_c)^2;  d loss / d z = z - t */
        const float *t = ds->targets + r * k;
        loss = 0.0;
        for (size_t c = 0; c < k; c++) {
            z[c] -= t[c];
            loss += 0.5 * (double)z[c] * (double)z[c];
        }
        return loss;
    }
    default:
        loss = K->softmax_xent(z, ds->y[r], k);
        break;
    }
    if (model->kind == SR_MODEL_NN) {
        /* G1 = 1{h > 0} o (G2 W2^T), from the forward h = ReLU(x W1 + b1) */
        size_t d = model->d;
        sr_row g2 = {k, NULL, NULL, NULL, z};
        K->row_matmul(g1, &g2, scratch->W2T, d);
        for (size_t a = 0; a < d; a++)
            g1[a] = h[a] > 0.0f ? g1[a] : 0.0f;
    }
    return loss;
}

double sr_model_row_loss_err(const sr_model *model, const sr_kernel_table *K,
                             const sr_dataset *ds, size_t r, const float *z,
                             float *tmp, int *wrong)
{
    size_t k = model->k;
    if (model->kind == SR_MODEL_LOGISTIC) {
        int32_t y = ds->y[r];
        *wrong = (z[0] >= 0.0f) != (y != 0);
        return logistic_loss(z[0], y);
    }
    if (model->kind == SR_MODEL_LINEAR) {
        /* The error of regression is derived from this loss (RMSE). */
        const float *t = ds->targets + r * k;
        double loss = 0.0;
        for (size_t c = 0; c < k; c++) {
            double e = (double)z[c] - (double)t[c];
            loss += 0.5 * e * e;
        }
        *wrong = 0;
        return loss;
    }
    size_t arg = 0;
    for (size_t c = 1; c < k; c++)
        if (z[c] > z[arg])
            arg = c;
    int32_t y = ds->y[r];
    *wrong = arg != (size_t)y;
    memcpy(tmp, z, k * sizeof *tmp);
    return K->softmax_xent(tmp, y, k);
}

const char *sr_model_kind_name(sr_model_kind kind)
{
    switch (kind) {
    case SR_MODEL_SOFTMAX: return "softmax";
    case SR_MODEL_NN: return "nn";
    case SR_MODEL_LINEAR: return "linear";
    case SR_MODEL_LOGISTIC: return "logistic";
    }
    return "unknown";
}

size_t sr_model_outputs(const sr_model *model) { return model ? model->k : 0; }
int sr_model_has_bias(const sr_model *model) { return model && model->bias; }
unsigned sr_model_poly(const sr_model *model) { return model ? model->poly : 0; }
int sr_model_is_standardized(const sr_model *model)
{
    return model && model->mean != NULL;
}

size_t sr_model_class_count(const sr_model *model)
{
    if (!model || model->kind == SR_MODEL_LINEAR)
        return 0;
    return model->kind == SR_MODEL_LOGISTIC ? 2 : model->k;
}

const char *sr_model_class_name(const sr_model *model, size_t c)
{
    if (!model || !model->class_names || c >= sr_model_class_count(model))
        return NULL;
    return model->class_names[c];
}
