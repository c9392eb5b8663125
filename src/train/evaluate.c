/* Evaluating a trained model on a data set. */
#include <math.h>
#include <string.h>

#include "../dist/dist.h"
#include "../models/feature_map.h"
#include "compact.h"
#include "train.h"

#ifdef _OPENMP
#include <omp.h>
#endif

size_t sr_thread_count(size_t threads)
{
#ifdef _OPENMP
    /* all cores by default, shared among the job's processes on this
     * machine (MPI) */
    if (threads == 0) {
        size_t procs = (size_t)omp_get_num_procs();
        size_t local = (size_t)sr_dist_local_ranks();
        return procs / local ? procs / local : 1;
    }
    return threads;
#else
    (void)threads;
    return 1;
#endif
}

sr_status sr_check_labels(const sr_dataset *ds, size_t k, const char *what,
                          sr_error *err)
{
    if (!ds->y)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the %s set has no class labels",
                       what);
    for (size_t i = 0; i < ds->m; i++)
        if (ds->y[i] < 0 || (size_t)ds->y[i] >= k) {
            if (ds->labels_file)
                return sr_fail(err, SR_ERR_INVALID_ARG,
                               "%s: example %zu (counting from 0) has label "
                               "%d, outside the %s set's %zu classes 0..%zu",
                               ds->labels_file, i, (int)ds->y[i], what, k,
                               k - 1);
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "the %s set's example %zu has label %d, outside the "
                           "%zu classes 0..%zu", what, i, (int)ds->y[i], k,
                           k - 1);
        }
    return SR_OK;
}

/* What the engine scores: the model's features of `raw` (its feature map
 * applied) and the model; on sparse data naming few of the model's
 * features, both restricted to those (compact.h), so that scoring costs the
 * data's stored values, not the model's every row. */
typedef struct scoring {
    const sr_dataset *ds;
    const sr_model *model;
    sr_dataset *mapped, *compacted; /* owned, or NULL */
    sr_model *small;                /* owned, or NULL */
} scoring;

static void scoring_release(scoring *s)
{
    sr_dataset_free(s->mapped);
    sr_dataset_free(s->compacted);
    sr_model_free(s->small);
}

static sr_status model_view(const sr_model *model, const sr_dataset *raw,
                            scoring *s, sr_error *err)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    sr_status st = sr_feature_map_apply(model, raw, &s->mapped, err);
    if (st != SR_OK)
        return st;
    s->ds = s->mapped ? s->mapped : raw;
    sr_compaction c;
    if ((st = sr_compaction_of_data(s->ds, &c, err)) != SR_OK || !c.map)
        return st;
    if ((st = sr_compaction_data(&c, s->ds, &s->compacted, err)) == SR_OK &&
        (st = sr_compaction_model_copy(&c, model, &s->small, err)) == SR_OK) {
        s->ds = s->compacted;
        s->model = s->small;
    }
    sr_compaction_release(&c);
    return st;
}

static sr_status check_labels_for(const sr_model *model, const sr_dataset *ds,
                                  sr_error *err)
{
    if (model->kind == SR_MODEL_LINEAR) {
        if (!ds->targets || ds->t != model->k)
            return sr_fail(err, SR_ERR_MISMATCH,
                           "the data set has %zu targets but the model "
                           "predicts %zu", ds->targets ? ds->t : 0, model->k);
        return SR_OK;
    }
    if (ds->y && ds->class_names && model->class_names) {
        size_t k = sr_model_class_count(model);
        if (ds->k > k)
            return sr_fail(err, SR_ERR_MISMATCH,
                           "the data set has %zu classes but the model knows %zu",
                           ds->k, k);
    }
    return sr_check_labels(ds, sr_model_class_count(model), "evaluation", err);
}

sr_status sr_model_evaluate(const sr_model *model, const sr_dataset *ds,
                            double *loss, double *error_rate, sr_error *err)
{
    if (!model || !ds || !loss || !error_rate)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_evaluate: NULL argument");
    scoring s;
    sr_status st = model_view(model, ds, &s, err);
    if (st == SR_OK)
        st = check_labels_for(model, s.ds, err);
    sr_engine e;
    if (st == SR_OK &&
        (st = sr_engine_init(&e, s.model, 1, s.ds->m, sr_thread_count(0), 0,
                             err)) == SR_OK) {
        if ((st = sr_engine_prepare_eval(&e, s.ds, err)) == SR_OK)
            sr_engine_evaluate(&e, s.ds, loss, error_rate);
        if (model->kind == SR_MODEL_LINEAR)
            *error_rate = sqrt(2.0 * *loss / (double)model->k);
        sr_engine_release(&e);
    }
    scoring_release(&s);
    return st;
}

sr_status sr_model_logits(const sr_model *model, const sr_dataset *ds,
                          float *out, sr_error *err)
{
    if (!model || !ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_logits: NULL argument");
    scoring s;
    sr_status st = model_view(model, ds, &s, err);
    sr_engine e;
    if (st == SR_OK &&
        (st = sr_engine_init(&e, s.model, 1, s.ds->m, sr_thread_count(0), 0,
                             err)) == SR_OK) {
        if ((st = sr_engine_prepare_eval(&e, s.ds, err)) == SR_OK)
            sr_engine_scores(&e, s.ds, out);
        sr_engine_release(&e);
    }
    scoring_release(&s);
    return st;
}

static sr_status need_classifier(const sr_model *model, const char *what,
                                 sr_error *err)
{
    if (model->kind == SR_MODEL_LINEAR)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: linear regression predicts values, not classes",
                       what);
    return SR_OK;
}

/* Logits of every row into a new array (m, k). */
static sr_status all_logits(const sr_model *model, const sr_dataset *ds,
                            float **out, sr_error *err)
{
    float *z = sr_alloc_array(ds->m, model->k * sizeof(float));
    if (!z)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu scores", ds->m);
    sr_status st = sr_model_logits(model, ds, z, err);
    if (st != SR_OK) {
        sr_dealloc(z);
        return st;
    }
    *out = z;
    return SR_OK;
}

sr_status sr_model_predict(const sr_model *model, const sr_dataset *ds,
                           int32_t *out, sr_error *err)
{
    if (!model || !ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_predict: NULL argument");
    float *z;
    sr_status st = need_classifier(model, "predict", err);
    if (st == SR_OK)
        st = all_logits(model, ds, &z, err);
    if (st != SR_OK)
        return st;
    size_t k = model->k;
    for (size_t r = 0; r < ds->m; r++) {
        const float *zr = z + r * k;
        size_t arg = 0;
        if (model->kind == SR_MODEL_LOGISTIC)
            arg = zr[0] >= 0.0f;
        else
            for (size_t c = 1; c < k; c++)
                if (zr[c] > zr[arg])
                    arg = c;
        out[r] = (int32_t)arg;
    }
    sr_dealloc(z);
    return SR_OK;
}

sr_status sr_model_predict_proba(const sr_model *model, const sr_dataset *ds,
                                 float *out, sr_error *err)
{
    if (!model || !ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_model_predict_proba: NULL argument");
    float *z;
    sr_status st = need_classifier(model, "predict_proba", err);
    if (st == SR_OK)
        st = all_logits(model, ds, &z, err);
    if (st != SR_OK)
        return st;
    size_t k = model->k;
    const sr_kernel_table *K = sr_kernels();
    for (size_t r = 0; r < ds->m; r++) {
        float *zr = z + r * k;
        if (model->kind == SR_MODEL_LOGISTIC) {
            double e = exp(-fabs((double)zr[0]));
            out[r] = (float)(zr[0] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e));
        }
    }
    /* The kernels' softmax, on rows padded to whole vectors. */
    if (model->kind != SR_MODEL_LOGISTIC) {
        size_t ld = SR_PAD16(k);
        float *row = sr_alloc_array(ld, sizeof *row);
        if (!row) {
            sr_dealloc(z);
            return sr_fail(err, SR_ERR_NOMEM, "out of memory");
        }
        for (size_t r = 0; r < ds->m; r++) {
            memset(row, 0, ld * sizeof *row);
            memcpy(row, z + r * k, k * sizeof *row);
            K->softmax_grad(row, ld, NULL, 1, k, NULL);
            memcpy(out + r * k, row, k * sizeof *row);
        }
        sr_dealloc(row);
    }
    sr_dealloc(z);
    return SR_OK;
}

sr_status sr_model_confusion(const sr_model *model, const sr_dataset *ds,
                             size_t *counts, sr_error *err)
{
    if (!model || !ds || !counts)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_confusion: NULL argument");
    size_t k = sr_model_class_count(model);
    sr_status st = need_classifier(model, "confusion", err);
    if (st == SR_OK)
        st = sr_check_labels(ds, k, "evaluation", err);
    int32_t *pred = st == SR_OK ? sr_alloc_array(ds->m, sizeof *pred) : NULL;
    if (st == SR_OK && !pred)
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory");
    if (st == SR_OK)
        st = sr_model_predict(model, ds, pred, err);
    if (st == SR_OK) {
        memset(counts, 0, k * k * sizeof *counts);
        for (size_t r = 0; r < ds->m; r++)
            counts[(size_t)ds->y[r] * k + (size_t)pred[r]]++;
    }
    sr_dealloc(pred);
    return st;
}
