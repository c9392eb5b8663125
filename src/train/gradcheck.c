/* "Check your answer numerically" (the course): the engine's analytic
 * gradient against central differences of an objective computed here
 * independently, plainly, in double precision. */
#include <math.h>
#include <string.h>

#include "../models/feature_map.h"
#include "train.h"

#ifdef SR_FAULT_INJECTION
/* Tests only (tests/test_oom.c): added to the engine's gradient of the
 * first parameter, so that a test can see the check catch a wrong one. */
double sr_fault_gradient_error;
#endif

/* The objective (mean loss + l2/2 ||W||^2) at parameters w, in double. */
static double objective_double(const sr_model *model, const double *w,
                               const sr_dataset *ds, double l2, double *h,
                               double *z)
{
    size_t k = model->k, d = model->d;
    double total = 0.0;
    for (size_t r = 0; r < ds->m; r++) {
        sr_row x = sr_dataset_row(ds, r);
        const sr_param_block *first = &model->blocks[0];
        const double *W = w + first->offset;
        size_t width = model->kind == SR_MODEL_NN ? d : k;
        double *out = model->kind == SR_MODEL_NN ? h : z;
        for (size_t c = 0; c < width; c++)
            out[c] = 0.0;
        for (size_t e = 0; e < x.nnz; e++) {
            double v = sr_row_val(&x, e);
            const double *row = W + sr_row_col(&x, e) * width;
            for (size_t c = 0; c < width; c++)
                out[c] += v * row[c];
        }
        const sr_param_block *b1 = sr_model_block(model, model->kind == SR_MODEL_NN ? "b1" : "b");
        if (b1)
            for (size_t c = 0; c < width; c++)
                out[c] += w[b1->offset + c];
        if (model->kind == SR_MODEL_NN) {
            const double *W2 = w + sr_model_block(model, "W2")->offset;
            const sr_param_block *b2 = sr_model_block(model, "b2");
            for (size_t c = 0; c < k; c++)
                z[c] = b2 ? w[b2->offset + c] : 0.0;
            for (size_t a = 0; a < d; a++) {
                double ha = h[a] > 0 ? h[a] : 0.0;
                for (size_t c = 0; c < k; c++)
                    z[c] += ha * W2[a * k + c];
            }
        }
        if (model->kind == SR_MODEL_LINEAR) {
            for (size_t c = 0; c < k; c++) {
                double e = z[c] - ds->targets[r * k + c];
                total += 0.5 * e * e;
            }
        } else if (model->kind == SR_MODEL_LOGISTIC) {
            double y = ds->y[r];
            total += (z[0] > 0 ? z[0] : 0.0) - y * z[0] + log1p(exp(-fabs(z[0])));
        } else {
            double mx = z[0], s = 0.0;
            for (size_t c = 1; c < k; c++)
                mx = z[c] > mx ? z[c] : mx;
            for (size_t c = 0; c < k; c++)
                s += exp(z[c] - mx);
            total += log(s) + mx - z[ds->y[r]];
        }
    }
    double f = total / (double)ds->m;
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        if (!blk->decayed)
            continue;
        for (size_t i = 0; i < blk->rows * blk->cols; i++)
            f += 0.5 * l2 * w[blk->offset + i] * w[blk->offset + i];
    }
    return f;
}

/* Entries below this share of the block's largest gradient are compared
 * in absolute terms (sr_model_gradcheck). */
#define GRADCHECK_FLOOR 1e-3

/* Near an optimum every entry of the gradient is a sum of per-example
 * terms that cancel, and a float32 sum keeps about eps sqrt(m) of the
 * terms' size: for the classifiers of the linear family the term of
 * theta[j][c] is x_j (p_c - y_c), at most |x_j|, and of b[c] at most 1.
 * Entries are then compared against a floor of this share of that size
 * times sqrt(m) (1e-4 relative error stays the verdict's bar). */
#define GRADCHECK_TERM_FLOOR 1e-3

/* The mean |x_j| of every feature over the rows of ds (n of them), for the
 * classifiers' term sizes; NULL for other models. */
static double *term_sizes(const sr_model *model, const sr_dataset *ds,
                          sr_error *err, sr_status *st)
{
    *st = SR_OK;
    if (model->d || (model->kind != SR_MODEL_SOFTMAX &&
                     model->kind != SR_MODEL_LOGISTIC))
        return NULL;
    double *size = sr_alloc_zeroed(ds->n, sizeof *size);
    float *row = sr_alloc_array(ds->n, sizeof *row);
    if (!size || !row) {
        *st = sr_fail(err, SR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t r = 0; r < ds->m; r++) {
        if ((*st = sr_dataset_copy_features(ds, r, 1, row, err)) != SR_OK)
            goto fail;
        for (size_t j = 0; j < ds->n; j++)
            size[j] += fabs((double)row[j]) / (double)ds->m;
    }
    sr_dealloc(row);
    return size;
fail:
    sr_dealloc(size);
    sr_dealloc(row);
    return NULL;
}

sr_status sr_model_gradcheck(const sr_model *model, const sr_dataset *ds,
                             size_t rows, double l2, size_t per_block,
                             double *max_rel_err, sr_error *err)
{
    if (!model || !ds || !max_rel_err || rows == 0 || per_block == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_model_gradcheck: NULL argument or zero count");
    if (!(l2 >= 0.0))
        return sr_fail(err, SR_ERR_INVALID_ARG, "l2 must be >= 0");
    if (rows > ds->m)
        rows = ds->m;
    sr_dataset *mapped = NULL, *head = NULL;
    size_t *idx = NULL;
    double *w = NULL, *h = NULL, *z = NULL, *terms = NULL;
    float *grad = NULL;
    sr_engine e;
    memset(&e, 0, sizeof e);
    sr_status st = sr_feature_map_apply(model, ds, &mapped, err);
    if (st != SR_OK)
        return st;
    const sr_dataset *view = mapped ? mapped : ds;
    if (!(idx = sr_alloc_array(rows, sizeof *idx))) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < rows; i++)
        idx[i] = i;
    if ((st = sr_dataset_subset(view, idx, rows, &head, err)) != SR_OK)
        goto done;
    if (model->kind == SR_MODEL_LINEAR) {
        if (!head->targets || head->t != model->k) {
            st = sr_fail(err, SR_ERR_MISMATCH,
                         "the data have %zu targets, the model %zu",
                         head->targets ? head->t : 0, model->k);
            goto done;
        }
    } else if ((st = sr_check_labels(head, sr_model_class_count(model),
                                     "gradcheck", err)) != SR_OK) {
        goto done;
    }
    size_t np = model->nparams;
    w = sr_alloc_array(np, sizeof *w);
    h = sr_alloc_array(model->d + 1, sizeof *h);
    z = sr_alloc_array(model->k, sizeof *z);
    grad = sr_alloc_array(np, sizeof *grad);
    if (!w || !h || !z || !grad) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = sr_engine_init(&e, model, rows < SR_EVAL_CHUNK ? rows : SR_EVAL_CHUNK,
                             rows, 1, 0, err)) != SR_OK)
        goto done;
    /* Analytic: the engine's gradient of the summed loss, made a mean, plus
     * l2 w on the weights. */
    double total;
    if ((st = sr_engine_full_gradient(&e, head, NULL, grad, &total, 0, err)) != SR_OK)
        goto done;
#ifdef SR_FAULT_INJECTION
    grad[0] += (float)(sr_fault_gradient_error * (double)rows);
#endif
    for (size_t i = 0; i < np; i++)
        w[i] = model->params[i];
    terms = term_sizes(model, head, err, &st);
    if (st != SR_OK)
        goto done;
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        size_t size = blk->rows * blk->cols, count = per_block < size ? per_block : size;
        double *an = sr_alloc_array(count, 2 * sizeof *an);
        if (!an) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory");
            goto done;
        }
        double largest = 0.0;
        for (size_t s = 0; s < count; s++) {
            size_t i = blk->offset + s * size / count;
            double analytic = (double)grad[i] / (double)rows +
                              (blk->decayed ? l2 * w[i] : 0.0);
            double step = 1e-6 * (fabs(w[i]) > 1.0 ? fabs(w[i]) : 1.0);
            double keep = w[i];
            w[i] = keep + step;
            double up = objective_double(model, w, head, l2, h, z);
            w[i] = keep - step;
            double down = objective_double(model, w, head, l2, h, z);
            w[i] = keep;
            double numeric = (up - down) / (2.0 * step);
            an[2 * s] = analytic;
            an[2 * s + 1] = numeric;
            if (fabs(numeric) > largest)
                largest = fabs(numeric);
        }
        /* The analytic gradient is float32: an entry far smaller than the
         * block's largest carries that largest's rounding (p - 1 with p
         * near 1 cancels), so its error is measured against a floor of
         * GRADCHECK_FLOOR times the largest rather than its own size. */
        double floor = GRADCHECK_FLOOR * largest, worst = 0.0;
        for (size_t s = 0; s < count; s++) {
            double a = an[2 * s], n = an[2 * s + 1];
            double scale = fabs(a) + fabs(n);
            if (scale < floor)
                scale = floor;
            if (terms) {
                size_t at = s * size / count;
                double term = blk->decayed ? terms[at / blk->cols] : 1.0;
                double term_floor = GRADCHECK_TERM_FLOOR * term *
                                    sqrt((double)rows);
                if (scale < term_floor)
                    scale = term_floor;
            }
            double rel = scale > 1e-12 ? fabs(a - n) / scale : 0.0;
            worst = rel > worst ? rel : worst;
        }
        sr_dealloc(an);
        max_rel_err[b] = worst;
    }
done:
    sr_engine_release(&e);
    sr_dealloc(terms);
    sr_dealloc(idx);
    sr_dealloc(w);
    sr_dealloc(h);
    sr_dealloc(z);
    sr_dealloc(grad);
    sr_dataset_free(head);
    sr_dataset_free(mapped);
    return st;
}
