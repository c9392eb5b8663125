/* Loss and error of a model over a whole data set, in fixed chunks. */
#include <stdlib.h>

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

sr_status sr_evaluator_init(sr_evaluator *ev, const sr_model *model,
                            size_t max_rows, size_t nthreads, sr_error *err)
{
    ev->nthreads = nthreads ? nthreads : 1;
    ev->max_chunks = max_rows / SR_EVAL_CHUNK + 1;
    ev->ws = sr_alloc_zeroed(ev->nthreads, sizeof *ev->ws);
    ev->chunk_loss = sr_alloc_array(ev->max_chunks, sizeof *ev->chunk_loss);
    ev->chunk_err = sr_alloc_array(ev->max_chunks, sizeof *ev->chunk_err);
    if (!ev->ws || !ev->chunk_loss || !ev->chunk_err) {
        sr_evaluator_release(ev);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for evaluation");
    }
    for (size_t t = 0; t < ev->nthreads; t++) {
        sr_status st = sr_workspace_init(&ev->ws[t], model, SR_EVAL_CHUNK, err);
        if (st != SR_OK) {
            sr_evaluator_release(ev);
            return st;
        }
    }
    return SR_OK;
}

void sr_evaluator_release(sr_evaluator *ev)
{
    if (ev->ws)
        for (size_t t = 0; t < ev->nthreads; t++)
            sr_workspace_release(&ev->ws[t]);
    sr_dealloc(ev->ws);
    sr_dealloc(ev->chunk_loss);
    sr_dealloc(ev->chunk_err);
    ev->ws = NULL;
    ev->chunk_loss = NULL;
    ev->chunk_err = NULL;
}

void sr_evaluator_run(sr_evaluator *ev, const sr_model *model,
                      const sr_dataset *ds, double *loss, double *error_rate)
{
    size_t m = ds->m, k = model->k;
    size_t nchunks = (m + SR_EVAL_CHUNK - 1) / SR_EVAL_CHUNK;
    long long nc = (long long)nchunks;
#pragma omp parallel for schedule(static) num_threads((int)ev->nthreads)
    for (long long c = 0; c < nc; c++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        sr_workspace *ws = &ev->ws[t];
        size_t first = (size_t)c * SR_EVAL_CHUNK;
        size_t rows = m - first < SR_EVAL_CHUNK ? m - first : SR_EVAL_CHUNK;
        sr_batch b = {ds, first, rows, NULL};
        sr_model_forward(model, &b, ws, ws->logits);
        ev->chunk_loss[c] = sr_softmax_xent_err(ws->logits, ds->y + first,
                                                rows, k, &ev->chunk_err[c]);
    }
    double total = 0.0;
    size_t wrong = 0;
    for (size_t c = 0; c < nchunks; c++) {
        total += ev->chunk_loss[c];
        wrong += ev->chunk_err[c];
    }
    *loss = m ? total / (double)m : 0.0;
    *error_rate = m ? (double)wrong / (double)m : 0.0;
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

sr_status sr_model_evaluate(const sr_model *model, const sr_dataset *ds,
                            double *loss, double *error_rate, sr_error *err)
{
    if (!model || !ds || !loss || !error_rate)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_evaluate: NULL argument");
    if (ds->n != model->n)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "the data set has %zu features but the model expects %zu",
                       ds->n, model->n);
    sr_status st = sr_check_labels(ds, model->k, "evaluation", err);
    if (st != SR_OK)
        return st;
    sr_evaluator ev;
    st = sr_evaluator_init(&ev, model, ds->m, sr_thread_count(0), err);
    if (st != SR_OK)
        return st;
    sr_evaluator_run(&ev, model, ds, loss, error_rate);
    sr_evaluator_release(&ev);
    return SR_OK;
}

sr_status sr_model_logits(const sr_model *model, const sr_dataset *ds,
                          float *out, sr_error *err)
{
    if (!model || !ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_logits: NULL argument");
    if (ds->n != model->n)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "the data set has %zu features but the model expects %zu",
                       ds->n, model->n);
    sr_workspace ws;
    sr_status st = sr_workspace_init(&ws, model, SR_EVAL_CHUNK, err);
    if (st != SR_OK)
        return st;
    for (size_t first = 0; first < ds->m; first += SR_EVAL_CHUNK) {
        size_t rows = ds->m - first < SR_EVAL_CHUNK ? ds->m - first : SR_EVAL_CHUNK;
        sr_batch b = {ds, first, rows, NULL};
        sr_model_forward(model, &b, &ws, out + first * model->k);
    }
    sr_workspace_release(&ws);
    return SR_OK;
}
