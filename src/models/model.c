/* sr_model: creation, accessors, and dispatch to the model kinds. */
#include <string.h>

#include "model.h"

static int add_block(sr_model *m, const char *name, size_t rows, size_t cols)
{
    size_t size;
    if (sr_mul_overflows(rows, cols, &size) || m->nparams > SIZE_MAX - size)
        return 0;
    m->blocks[m->nblocks++] = (sr_param_block){name, m->nparams, rows, cols};
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
        ok = add_block(m, "theta", n, k) && (!m->bias || add_block(m, "b", 1, k));
        break;
    case SR_MODEL_NN:
        m->d = d;
        ok = add_block(m, "W1", n, d) && (!m->bias || add_block(m, "b1", 1, d)) &&
             add_block(m, "W2", d, k) && (!m->bias || add_block(m, "b2", 1, k));
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
        sr_dealloc(m);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory allocating %zu parameters", m->nparams);
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
        for (size_t c = 0; c < model->k; c++)
            sr_dealloc(model->class_names[c]);
        sr_dealloc(model->class_names);
    }
    sr_dealloc(model);
}

sr_model_kind sr_model_kind_of(const sr_model *model) { return model->kind; }
size_t sr_model_features(const sr_model *model) { return model ? model->n : 0; }
size_t sr_model_classes(const sr_model *model) { return model ? model->k : 0; }
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

sr_status sr_workspace_init(sr_workspace *ws, const sr_model *model,
                            size_t rows, sr_error *err)
{
    memset(ws, 0, sizeof *ws);
    ws->rows = rows;
    size_t d = model->d ? model->d : 1;
    ws->logits = sr_alloc_array(rows, model->k * sizeof(float));
    ws->hidden = sr_alloc_array(rows, d * sizeof(float));
    ws->dhidden = sr_alloc_array(rows, d * sizeof(float));
    ws->grad = sr_alloc_array(model->nparams, sizeof(float));
    if (!ws->logits || !ws->hidden || !ws->dhidden || !ws->grad) {
        sr_workspace_release(ws);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory allocating the workspace for %zu rows",
                       rows);
    }
    return SR_OK;
}

void sr_workspace_release(sr_workspace *ws)
{
    sr_dealloc(ws->logits);
    sr_dealloc(ws->hidden);
    sr_dealloc(ws->dhidden);
    sr_dealloc(ws->grad);
    memset(ws, 0, sizeof *ws);
}

void sr_model_forward(const sr_model *model, const sr_batch *b,
                      sr_workspace *ws, float *logits)
{
    if (model->kind == SR_MODEL_NN)
        sr_mlp_forward(model, b, ws, logits);
    else
        sr_softmax_forward(model, b, ws, logits);
}

double sr_model_batch_grad(const sr_model *model, const sr_batch *b,
                           sr_workspace *ws)
{
    if (model->kind == SR_MODEL_NN)
        return sr_mlp_batch_grad(model, b, ws);
    return sr_softmax_batch_grad(model, b, ws);
}
