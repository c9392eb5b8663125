/* sr_model: creation and accessors. */
#include <string.h>

#include "ops.h"

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
    m->label_col = SIZE_MAX;
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
    if (model->feature_names) {
        for (size_t j = 0; j < model->n_raw; j++)
            sr_dealloc(model->feature_names[j]);
        sr_dealloc(model->feature_names);
    }
    sr_dealloc(model->label_name);
    sr_dealloc(model->train_options);
    sr_dealloc(model);
}

sr_model_kind sr_model_kind_of(const sr_model *model) { return model->kind; }
size_t sr_model_features(const sr_model *model) { return model ? model->n_raw : 0; }

const char *sr_model_feature_name(const sr_model *model, size_t j)
{
    return model && model->feature_names && j < model->n_raw
               ? model->feature_names[j]
               : NULL;
}

const char *sr_model_label_name(const sr_model *model)
{
    return model ? model->label_name : NULL;
}

const char *sr_model_train_options(const sr_model *model)
{
    return model ? model->train_options : NULL;
}

int sr_model_data_crc(const sr_model *model, uint32_t *crc)
{
    if (!model || !model->has_data_crc)
        return 0;
    *crc = model->data_crc;
    return 1;
}

void sr_model_set_data_crc(sr_model *model, const sr_dataset *train)
{
    if (!model || !train)
        return;
    model->data_crc = sr_dataset_crc(train);
    model->has_data_crc = 1;
}

const float *sr_model_mean(const sr_model *model)
{
    return model ? model->mean : NULL;
}

const float *sr_model_inv_std(const sr_model *model)
{
    return model ? model->inv_std : NULL;
}

size_t sr_model_label_column(const sr_model *model)
{
    return model ? model->label_col : SIZE_MAX;
}
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

const sr_model_ops *sr_model_ops_of(sr_model_kind kind)
{
    switch (kind) {
    case SR_MODEL_SOFTMAX: return &sr_softmax_ops;
    case SR_MODEL_LOGISTIC: return &sr_logistic_ops;
    case SR_MODEL_LINEAR: return &sr_linear_ops;
    case SR_MODEL_NN: return &sr_mlp_ops;
    }
    return NULL;
}
