#include <math.h>
#include <string.h>

#include "engine.h"

#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() omp_get_thread_num()
#else
#define THREAD_ID() 0
#endif

/* Gradient rows per chunk: the chunk's gradient (rows x cols floats) should
 * stay in the core's L2 cache, and there should be a few chunks per thread
 * to share the work evenly. Chunking never changes the order of any sum. */
static size_t chunk_rows(size_t rows, size_t cols, size_t nthreads)
{
    size_t by_cache = 32768 / cols;
    size_t by_threads = (rows + nthreads - 1) / nthreads;
    size_t ch = by_cache < by_threads ? by_cache : by_threads;
    if (ch < 16)
        ch = 16;
    return ch < rows ? ch : rows;
}

void sr_engine_release(sr_engine *e)
{
    if (e->scratch)
        for (size_t t = 0; t < e->nthreads; t++) {
            sr_dealloc(e->scratch[t].h);
            sr_dealloc(e->scratch[t].W2T);
        }
    sr_dealloc(e->scratch);
    sr_dealloc(e->Z);
    sr_dealloc(e->H);
    sr_dealloc(e->G1);
    sr_dealloc(e->row_loss);
    sr_dealloc(e->acc);
    sr_dealloc(e->tmp);
    sr_dealloc(e->chunks);
    sr_dealloc(e->velocity);
    sr_dealloc(e->eval_loss);
    sr_dealloc(e->eval_err);
    memset(e, 0, sizeof *e);
}

sr_status sr_engine_init(sr_engine *e, const sr_model *model,
                         size_t max_rows, size_t max_eval_rows,
                         size_t nthreads, int momentum, sr_error *err)
{
    memset(e, 0, sizeof *e);
    e->model = model;
    e->K = sr_kernels();
    e->nthreads = nthreads ? nthreads : 1;
    e->max_rows = max_rows ? max_rows : 1;
    size_t k = model->k, d = model->d ? model->d : 1, T = e->nthreads;

    size_t nchunks = 0;
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        size_t ch = chunk_rows(blk->rows, blk->cols, T);
        nchunks += (blk->rows + ch - 1) / ch;
    }
    e->chunks = sr_alloc_array(nchunks, sizeof *e->chunks);
    if (e->chunks) {
        for (size_t b = 0; b < model->nblocks; b++) {
            const sr_param_block *blk = &model->blocks[b];
            size_t ch = chunk_rows(blk->rows, blk->cols, T);
            for (size_t j0 = 0; j0 < blk->rows; j0 += ch) {
                size_t j1 = j0 + ch < blk->rows ? j0 + ch : blk->rows;
                e->chunks[e->nchunks++] = (sr_chunk){b, j0, j1};
                size_t need = (j1 - j0) * SR_ACC_STRIDE(blk->cols);
                if (need > e->acc_size)
                    e->acc_size = need;
            }
        }
    }
    e->Z = sr_alloc_array(e->max_rows, k * sizeof(float));
    e->H = sr_alloc_array(e->max_rows, d * sizeof(float));
    e->G1 = sr_alloc_array(e->max_rows, d * sizeof(float));
    e->row_loss = sr_alloc_array(e->max_rows, sizeof(double));
    e->acc = sr_alloc_array(T, e->acc_size * sizeof(float));
    e->tmp = sr_alloc_array(T, 2 * k * sizeof(float));
    e->scratch = sr_alloc_zeroed(T, sizeof *e->scratch);
    e->eval_max_chunks = max_eval_rows / SR_EVAL_CHUNK + 1;
    e->eval_loss = sr_alloc_array(e->eval_max_chunks, sizeof(double));
    e->eval_err = sr_alloc_array(e->eval_max_chunks, sizeof(size_t));
    if (momentum)
        e->velocity = sr_alloc_zeroed(model->nparams, sizeof(float));
    int ok = e->chunks && e->Z && e->H && e->G1 && e->row_loss && e->acc &&
             e->tmp && e->scratch && e->eval_loss && e->eval_err &&
             (!momentum || e->velocity);
    for (size_t t = 0; ok && t < T; t++) {
        e->scratch[t].h = sr_alloc_array(d, sizeof(float));
        e->scratch[t].W2T = sr_alloc_array(d, k * sizeof(float));
        ok = e->scratch[t].h && e->scratch[t].W2T;
    }
    if (!ok) {
        sr_engine_release(e);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for the training buffers (%zu rows)",
                       max_rows);
    }
    return SR_OK;
}

/* Phase 1 for row i of the batch: outputs and their gradients. */
static void rows_phase(sr_engine *e, const sr_model *model,
                       const sr_dataset *ds, const size_t *rows, size_t B,
                       const sr_row_scratch *sc)
{
    size_t k = model->k, d = model->d;
    long long nb = (long long)B;
#pragma omp for schedule(static)
    for (long long i = 0; i < nb; i++) {
        sr_row x = sr_dataset_row(ds, rows[i]);
        float *z = e->Z + (size_t)i * k;
        float *h = e->H + (size_t)i * d;
        sr_model_row_forward(model, e->K, &x, z, h);
        e->row_loss[i] = sr_model_row_backward(model, e->K, ds, rows[i], z, h,
                                               e->G1 + (size_t)i * d, sc);
    }
}

/* Phase 2 for one chunk: its gradient summed over the batch's rows in
 * order, into acc. */
static void chunk_gradient(sr_engine *e, const sr_model *model,
                           const sr_dataset *ds, const size_t *rows, size_t B,
                           const sr_chunk *ch, float *acc)
{
    const sr_param_block *blk = &model->blocks[ch->block];
    size_t cols = blk->cols, d = model->d, lda = SR_ACC_STRIDE(cols);
    const float *G = blk->feeds_hidden ? e->G1 : e->Z;
    memset(acc, 0, (ch->j1 - ch->j0) * lda * sizeof *acc);
    for (size_t i = 0; i < B; i++) {
        const float *g = G + i * cols;
        if (blk->input == SR_INPUT_ONE) {
            e->K->axpy(acc, 1.0f, g, cols);
        } else if (blk->input == SR_INPUT_HIDDEN) {
            sr_row h = {d, NULL, NULL, NULL, e->H + i * d};
            e->K->row_outer_add(acc, lda, ch->j0, &h, ch->j0, ch->j1, g, cols);
        } else {
            sr_row x = sr_dataset_row(ds, rows[i]);
            size_t p0 = sr_row_lower_bound(&x, ch->j0);
            size_t p1 = sr_row_lower_bound(&x, ch->j1);
            e->K->row_outer_add(acc, lda, ch->j0, &x, p0, p1, g, cols);
        }
    }
}

static void apply_step(sr_engine *e, sr_model *model, const sr_chunk *ch,
                       const float *acc, size_t B, const sr_step *step)
{
    const sr_param_block *blk = &model->blocks[ch->block];
    size_t cols = blk->cols, lda = SR_ACC_STRIDE(cols);
    float l2 = blk->decayed ? (float)step->l2 : 0.0f;
    /* As the course computes it: lr / B in double, applied in float32. */
    float scale = (float)(step->lr / (double)B);
    float decay = (float)(step->lr * step->l2);
    float mu = (float)step->momentum, lr = (float)step->lr;
    float invB = (float)(1.0 / (double)B);
    for (size_t j = ch->j0; j < ch->j1; j++) {
        size_t off = blk->offset + j * cols;
        float *w = model->params + off;
        const float *a = acc + (j - ch->j0) * lda;
        if (e->velocity) {
            float *v = e->velocity + off;
            for (size_t c = 0; c < cols; c++) {
                v[c] = mu * v[c] + (a[c] * invB + l2 * w[c]);
                w[c] -= lr * v[c];
            }
        } else if (l2 > 0.0f) {
            for (size_t c = 0; c < cols; c++)
                w[c] -= scale * a[c] + decay * w[c];
        } else {
            for (size_t c = 0; c < cols; c++)
                w[c] -= scale * a[c];
        }
    }
}

/* The batch's row indices, into rows[0 .. B). */
static void batch_rows(size_t *rows, const size_t *order, size_t first,
                       size_t B)
{
    for (size_t i = 0; i < B; i++)
        rows[i] = order ? order[first + i] : first + i;
}

sr_status sr_engine_sgd_epoch(sr_engine *e, sr_model *model,
                              const sr_dataset *ds, const size_t *order,
                              size_t batch, const sr_step *step, size_t epoch,
                              double *loss_sum, sr_error *err)
{
    size_t m = ds->m;
    if (batch > e->max_rows)
        batch = e->max_rows;
    /* Every thread lists the batch's rows itself: no barrier for it. */
    size_t *all_rows = sr_alloc_array(e->nthreads * batch, sizeof *all_rows);
    if (!all_rows)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for a minibatch");
    double total = 0.0, bad_loss = 0.0;
    size_t bad_batch = SIZE_MAX;
    long long nchunks = (long long)e->nchunks;
#pragma omp parallel num_threads((int)e->nthreads)
    {
        int t = THREAD_ID();
        sr_row_scratch *sc = &e->scratch[t];
        float *acc = e->acc + (size_t)t * e->acc_size;
        size_t *rows = all_rows + (size_t)t * batch;
        for (size_t first = 0; first < m; first += batch) {
            size_t B = m - first < batch ? m - first : batch;
            batch_rows(rows, order, first, B);
            sr_model_prepare(model, sc);
            rows_phase(e, model, ds, rows, B, sc);
            /* Every thread adds the losses in the same order and so takes
             * the same decision, with no extra barrier. */
            double loss = 0.0;
            for (size_t i = 0; i < B; i++)
                loss += e->row_loss[i];
            if (!isfinite(loss)) {
                if (t == 0) {
                    bad_batch = first / batch;
                    bad_loss = loss;
                }
                break;
            }
#pragma omp for schedule(static)
            for (long long c = 0; c < nchunks; c++) {
                chunk_gradient(e, model, ds, rows, B, &e->chunks[c], acc);
                apply_step(e, model, &e->chunks[c], acc, B, step);
            }
            if (t == 0)
                total += loss;
        }
    }
    sr_dealloc(all_rows);
    if (bad_batch != SIZE_MAX)
        return sr_fail(err, SR_ERR_DIVERGED,
                       "training diverged in epoch %zu, minibatch %zu: the "
                       "loss is %g; try a smaller learning rate than %g",
                       epoch, bad_batch, bad_loss, step->lr);
    *loss_sum = total;
    return SR_OK;
}

double sr_engine_full_gradient(sr_engine *e, const sr_dataset *ds,
                               float *grad)
{
    const sr_model *model = e->model;
    size_t m = ds->m, batch = e->max_rows;
    size_t rows[SR_EVAL_CHUNK];
    if (batch > SR_EVAL_CHUNK)
        batch = SR_EVAL_CHUNK;
    memset(grad, 0, model->nparams * sizeof *grad);
    double total = 0.0;
    long long nchunks = (long long)e->nchunks;
#pragma omp parallel num_threads((int)e->nthreads)
    {
        int t = THREAD_ID();
        sr_row_scratch *sc = &e->scratch[t];
        float *acc = e->acc + (size_t)t * e->acc_size;
        sr_model_prepare(model, sc);
        for (size_t first = 0; first < m; first += batch) {
            size_t B = m - first < batch ? m - first : batch;
#pragma omp single
            batch_rows(rows, NULL, first, B);
            rows_phase(e, model, ds, rows, B, sc);
#pragma omp for schedule(static)
            for (long long c = 0; c < nchunks; c++) {
                const sr_chunk *ch = &e->chunks[c];
                const sr_param_block *blk = &model->blocks[ch->block];
                size_t cols = blk->cols, lda = SR_ACC_STRIDE(cols);
                chunk_gradient(e, model, ds, rows, B, ch, acc);
                for (size_t j = ch->j0; j < ch->j1; j++) {
                    float *g = grad + blk->offset + j * cols;
                    const float *a = acc + (j - ch->j0) * lda;
                    for (size_t col = 0; col < cols; col++)
                        g[col] += a[col];
                }
            }
            if (t == 0)
                for (size_t i = 0; i < B; i++)
                    total += e->row_loss[i];
        }
    }
    return total;
}

void sr_engine_evaluate(sr_engine *e, const sr_dataset *ds, double *loss,
                        double *error_rate)
{
    const sr_model *model = e->model;
    size_t m = ds->m, k = model->k;
    size_t nchunks = (m + SR_EVAL_CHUNK - 1) / SR_EVAL_CHUNK;
    long long nc = (long long)nchunks;
#pragma omp parallel for schedule(static) num_threads((int)e->nthreads)
    for (long long c = 0; c < nc; c++) {
        int t = THREAD_ID();
        float *z = e->tmp + (size_t)t * 2 * k, *tmp = z + k;
        float *h = e->scratch[t].h;
        size_t first = (size_t)c * SR_EVAL_CHUNK;
        size_t last = first + SR_EVAL_CHUNK < m ? first + SR_EVAL_CHUNK : m;
        double sum = 0.0;
        size_t wrong = 0;
        for (size_t r = first; r < last; r++) {
            sr_row x = sr_dataset_row(ds, r);
            int w;
            sr_model_row_forward(model, e->K, &x, z, h);
            sum += sr_model_row_loss_err(model, e->K, ds, r, z, tmp, &w);
            wrong += (size_t)w;
        }
        e->eval_loss[c] = sum;
        e->eval_err[c] = wrong;
    }
    double total = 0.0;
    size_t wrong = 0;
    for (size_t c = 0; c < nchunks; c++) {
        total += e->eval_loss[c];
        wrong += e->eval_err[c];
    }
    *loss = m ? total / (double)m : 0.0;
    *error_rate = m ? (double)wrong / (double)m : 0.0;
}
