/* Evaluating a trained model on a data set. */
#include "train.h"

#ifdef _OPENMP
#include <omp.h>
#endif

size_t sr_thread_count(size_t threads)
{
#ifdef _OPENMP
    if (threads == 0)
        return (size_t)omp_get_num_procs();
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
        if (ds->y[i] < 0 || (size_t)ds->y[i] >= k)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "the %s set's example %zu has label %d, outside the "
                           "%zu classes 0..%zu", what, i, (int)ds->y[i], k,
                           k - 1);
    return SR_OK;
}

static sr_status check_shape(const sr_model *model, const sr_dataset *ds,
                             sr_error *err)
{
    if (ds->n != model->n)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "the data set has %zu features but the model expects %zu",
                       ds->n, model->n);
    return SR_OK;
}

sr_status sr_model_evaluate(const sr_model *model, const sr_dataset *ds,
                            double *loss, double *error_rate, sr_error *err)
{
    if (!model || !ds || !loss || !error_rate)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_evaluate: NULL argument");
    sr_status st = check_shape(model, ds, err);
    if (st == SR_OK)
        st = sr_check_labels(ds, model->k, "evaluation", err);
    if (st != SR_OK)
        return st;
    sr_engine e;
    st = sr_engine_init(&e, model, 1, ds->m, sr_thread_count(0), 0, err);
    if (st != SR_OK)
        return st;
    sr_engine_evaluate(&e, ds, loss, error_rate);
    sr_engine_release(&e);
    return SR_OK;
}

sr_status sr_model_logits(const sr_model *model, const sr_dataset *ds,
                          float *out, sr_error *err)
{
    if (!model || !ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_logits: NULL argument");
    sr_status st = check_shape(model, ds, err);
    if (st != SR_OK)
        return st;
    float *h = sr_alloc_array(model->d ? model->d : 1, sizeof *h);
    if (!h)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    const sr_kernel_table *K = sr_kernels();
    for (size_t r = 0; r < ds->m; r++) {
        sr_row x = sr_dataset_row(ds, r);
        sr_model_row_forward(model, K, &x, out + r * model->k, h);
    }
    sr_dealloc(h);
    return SR_OK;
}
