/* The full-batch optimisers on the run's objective: gradient descent,
 * L-BFGS, Newton's method, and linear regression's exact solution. */
#include <math.h>
#include <string.h>

#include "../dist/dist.h"
#include "../optim/optim.h"
#include "run.h"

/* The objective and its gradient at the model's parameters: the mean loss
 * plus l2/2 ||W||^2 over the weights (not the biases). */
static double objective(run *R, const float *at, float *grad, int keep_probs)
{
    sr_model *model = R->model;
    double m = (double)sr_dataset_rows_all(R->train), f;
    sr_error err;
    if (sr_engine_full_gradient(&R->e, R->train, at, grad, &f, keep_probs,
                                &err) != SR_OK)
        return NAN;
    if (!at)
        at = model->params;
    f /= m;
    for (size_t i = 0; i < model->nparams; i++)
        grad[i] = (float)((double)grad[i] / m);
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        if (!blk->decayed || R->p->l2 == 0.0)
            continue;
        const float *w = at + blk->offset;
        float *g = grad + blk->offset;
        for (size_t i = 0; i < blk->rows * blk->cols; i++) {
            f += 0.5 * R->p->l2 * (double)w[i] * (double)w[i];
            g[i] += (float)(R->p->l2 * (double)w[i]);
        }
    }
    return f;
}

sr_status sr_run_gd(run *R, sr_error *err)
{
    sr_model *model = R->model;
    sr_status st = sr_engine_prepare_full(&R->e, R->train, 0, err);
    if (st != SR_OK)
        return st;
    float *grad = sr_alloc_array(model->nparams, sizeof *grad);
    if (!grad)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for the gradient");
    float lr = (float)R->p->lr;
    size_t epoch = 0;
    sr_rng rng;
    sr_rng_seed(&rng, R->p->seed);
    if (R->resume) {
        if ((st = sr_run_restore(R, &rng, err)) != SR_OK) {
            sr_dealloc(grad);
            return st;
        }
        epoch = R->resume->epoch;
    }
    for (; epoch < R->p->epochs && !R->stop; epoch++) {
        double t0 = sr_run_seconds();
        if (R->p->interrupt && *R->p->interrupt) {
            st = sr_run_interrupted(R, epoch, 0, err);
            break;
        }
        double f = objective(R, NULL, grad, 0);
        if (!isfinite(f)) {
            st = sr_fail(err, SR_ERR_DIVERGED,
                         "gradient descent diverged at step %zu: the objective "
                         "is %g; try a smaller learning rate than %g",
                         epoch, f, R->p->lr);
            break;
        }
        for (size_t i = 0; i < model->nparams; i++)
            model->params[i] -= lr * grad[i];
        sr_engine_params_changed(&R->e);
        R->finished = epoch + 1;
        if (R->epoch_params)
            memcpy(R->epoch_params, model->params,
                   model->nparams * sizeof(float));
        sr_run_end_epoch(R, epoch, sr_run_seconds() - t0);
        if (R->p->checkpoint_path &&
            (st = sr_run_save_checkpoint(R, epoch + 1, 0, &rng, NULL, err)) != SR_OK)
            break;
    }
    sr_dealloc(grad);
    return st;
}

static double lbfgs_objective(void *ctx, const float *x, float *grad, size_t n)
{
    run *R = ctx;
    if (x != R->model->params)
        memcpy(R->model->params, x, n * sizeof *x);
    sr_engine_params_changed(&R->e);
    return objective(R, NULL, grad, 0);
}

typedef struct lbfgs_progress {
    run *R;
    double t0;
} lbfgs_progress;

static int lbfgs_iteration(void *user, size_t iteration, const float *x,
                           double fx, double gnorm)
{
    (void)fx;
    (void)gnorm;
    lbfgs_progress *lp = user;
    run *R = lp->R;
    /* Evaluate at the accepted point, not the line search's last trial. */
    if (x != R->model->params)
        memcpy(R->model->params, x, R->model->nparams * sizeof(float));
    sr_engine_params_changed(&R->e);
    sr_run_end_epoch(R, iteration - 1, sr_run_seconds() - lp->t0);
    lp->t0 = sr_run_seconds();
    /* The model's parameters are this iteration's: an interrupt keeps
     * them (train.c). */
    R->finished = iteration;
    if (R->p->interrupt && *R->p->interrupt) {
        R->interrupted = 1;
        R->stop = 1;
    }
    return R->stop;
}

sr_status sr_run_lbfgs(run *R, sr_error *err)
{
    sr_model *model = R->model;
    sr_status prep = sr_engine_prepare_full(&R->e, R->train, 0, err);
    if (prep != SR_OK)
        return prep;
    float *x = sr_alloc_array(model->nparams, sizeof *x);
    if (!x)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for L-BFGS");
    memcpy(x, model->params, model->nparams * sizeof *x);
    lbfgs_progress lp = {R, sr_run_seconds()};
    sr_lbfgs_result res;
    sr_status st = sr_lbfgs_minimize(x, model->nparams, lbfgs_objective, R,
                                     R->p->max_iter, R->p->lbfgs_memory,
                                     lbfgs_iteration, &lp, &res, err);
    if (st == SR_OK) {
        memcpy(model->params, x, model->nparams * sizeof *x);
        sr_run_outcome(R, res.converged, res.iterations,
                       "L-BFGS, %zu iterations: %s", res.iterations,
                       res.reason);
    }
    sr_dealloc(x);
    return st;
}

/* Newton's method (optim/newton.c) on the objective: its Hessian is the
 * mean loss's, from the engine at the kept probabilities, plus l2 on the
 * weights. */
/* At a trial point w, which may be the model's parameters themselves
 * (the accepted point) or one of Newton's vectors: the model's
 * parameters stay the accepted point, for the epoch's evaluation. */
static double newton_fgrad(void *ctx, const float *w, float *g)
{
    run *R = ctx;
    return objective(R, w, g, 1);
}

static void newton_hess_vec(void *ctx, const float *v, float *hv)
{
    run *R = ctx;
    sr_model *model = R->model;
    sr_error err;
    if (sr_engine_hess_vec(&R->e, R->train, v, hv, &err) != SR_OK) {
        /* not reached: the gradient prepared every buffer; Newton stops
         * on a product that is not finite */
        for (size_t i = 0; i < model->nparams; i++)
            hv[i] = NAN;
        return;
    }
    float inv_m = (float)(1.0 / (double)sr_dataset_rows_all(R->train)), l2 = (float)R->p->l2;
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        float decay = blk->decayed ? l2 : 0.0f;
        for (size_t i = blk->offset; i < blk->offset + blk->rows * blk->cols; i++)
            hv[i] = hv[i] * inv_m + decay * v[i];
    }
}

sr_status sr_run_newton(run *R, sr_error *err)
{
    sr_model *model = R->model;
    sr_status st = sr_engine_prepare_full(&R->e, R->train, 1, err);
    if (st != SR_OK)
        return st;
    /* Newton works on the model's parameters in place (one vector of the
     * model's size less): on failure the run's model is dropped anyway. */
    sr_newton_problem prob = {model->nparams, newton_fgrad, newton_hess_vec,
                              NULL, R};
    lbfgs_progress lp = {R, sr_run_seconds()};
    sr_newton_result res;
    st = sr_newton_minimize(model->params, &prob, R->p->max_iter,
                            R->p->tol > 0.0 ? R->p->tol : 1e-3,
                            lbfgs_iteration, &lp, &res, err);
    sr_engine_params_changed(&R->e);
    if (st == SR_OK)
        sr_run_outcome(R, res.converged, res.iterations,
                       "Newton's method, %zu iterations: %s (gradient norm "
                       "%.3g, from %.3g)%s", res.iterations, res.reason,
                       res.gnorm, res.gnorm0,
                       res.converged ? ""
                                     : "; the model may be underfit");
    return st;
}

/* Wide data (fewer rows than features): every row's features and
 * targets, gathered from the processes in rank order (fewer floats than
 * the blocks' n x n factor would be), solved at once (sr_lstsq_solve's
 * direct path). */
static sr_status exact_wide(run *R, double l2, float *W, float *b,
                            sr_error *err)
{
    const sr_dataset *ds = R->train;
    size_t m = ds->m, n = ds->n, t = R->model->k, M = sr_dataset_rows_all(ds);
    float *X = sr_alloc_array(m ? m : 1, n * sizeof(float));
    uint8_t *allX = NULL, *allY = NULL;
    uint64_t *lens = sr_alloc_array((size_t)sr_dist_size(), sizeof *lens);
    sr_status st = SR_OK;
    if (!X || !lens) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory for the %zu x %zu "
                     "design matrix", m, n);
        goto done;
    }
    if ((st = sr_dataset_copy_features(ds, 0, m, X, err)) != SR_OK)
        goto done;
    const float *Xs = X, *Ys = ds->targets;
    if (ds->sharded) {
        if ((st = sr_dist_allgather_bytes(X, m * n * sizeof(float), &allX,
                                          lens, err)) != SR_OK ||
            (st = sr_dist_allgather_bytes(ds->targets, m * t * sizeof(float),
                                          &allY, lens, err)) != SR_OK)
            goto done;
        Xs = (const float *)(void *)allX;
        Ys = (const float *)(void *)allY;
    }
    st = sr_lstsq_solve(Xs, M, n, Ys, t, l2, W, b, err);
done:
    sr_dealloc(allY);
    sr_dealloc(allX);
    sr_dealloc(lens);
    sr_dealloc(X);
    return st;
}

/* Tall data: in blocks of rows, so that the design matrix is never held
 * whole. A shard: the column sums continue rank after rank, in row
 * order; each rank reduces its blocks to their factors (in parallel), and
 * the factors are folded in block order along the chain: the arithmetic
 * of one process (sr_lstsq_solve's). */
static sr_status exact_tall(run *R, double l2, float *W, float *b,
                            sr_error *err)
{
    const sr_dataset *ds = R->train;
    size_t m = ds->m, n = ds->n, t = R->model->k, M = sr_dataset_rows_all(ds);
    size_t nb = (m + SR_LSTSQ_BLOCK - 1) / SR_LSTSQ_BLOCK;
    int chain = ds->sharded, keep = chain && sr_dist_rank() > 0;
    sr_qr q, part;
    sr_status st = sr_qr_init_pair(&q, &part, n, t, err);
    if (st != SR_OK)
        return st;
    size_t rows_max = m < SR_LSTSQ_BLOCK ? m : SR_LSTSQ_BLOCK;
    float *X = sr_alloc_array(rows_max ? rows_max : 1, n * sizeof(float));
    double *xmean = sr_alloc_zeroed(n, sizeof *xmean);
    double *ymean = sr_alloc_zeroed(t, sizeof *ymean);
    /* the blocks' factors of a rank after the first, until the chain
     * reaches it */
    double *kept = keep ? sr_alloc_array(nb ? nb : 1,
                                         (n * n + n * t) * sizeof(double))
                        : NULL;
    if (!X || !xmean || !ymean || (keep && !kept)) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu rows of the "
                     "%zu x %zu design matrix", rows_max, m, n);
        goto done;
    }
    if (b) {
        sr_dist_piece sums[2] = {{xmean, n * sizeof *xmean},
                                 {ymean, t * sizeof *ymean}};
        if (chain)
            sr_dist_chain_take(sums, 2);
        for (size_t r0 = 0; r0 < m && st == SR_OK; r0 += SR_LSTSQ_BLOCK) {
            size_t rows = m - r0 < SR_LSTSQ_BLOCK ? m - r0 : SR_LSTSQ_BLOCK;
            st = sr_dataset_copy_features(ds, r0, rows, X, err);
            if (st == SR_OK)
                sr_lstsq_means(X, ds->targets + r0 * t, rows, n, t, xmean,
                               ymean);
        }
        if (chain)
            sr_dist_chain_give(sums, 2);
        for (size_t j = 0; j < n; j++)
            xmean[j] /= (double)M;
        for (size_t c = 0; c < t; c++)
            ymean[c] /= (double)M;
    }
    for (size_t k = 0; k < nb && st == SR_OK; k++) {
        size_t r0 = k * SR_LSTSQ_BLOCK;
        size_t rows = m - r0 < SR_LSTSQ_BLOCK ? m - r0 : SR_LSTSQ_BLOCK;
        memset(part.R, 0, n * n * sizeof *part.R);
        memset(part.c, 0, n * t * sizeof *part.c);
        st = sr_dataset_copy_features(ds, r0, rows, X, err);
        if (st == SR_OK)
            st = sr_qr_add_rows(&part, X, ds->targets + r0 * t, rows,
                                b ? xmean : NULL, b ? ymean : NULL, err);
        if (st != SR_OK)
            break;
        if (!keep) {
            st = sr_qr_fold(&q, &part, err);
            continue;
        }
        double *at = kept + k * (n * n + n * t);
        memcpy(at, part.R, n * n * sizeof *at);
        memcpy(at + n * n, part.c, n * t * sizeof *at);
    }
    if (chain && st == SR_OK) {
        sr_dist_piece factor[2] = {{q.R, n * n * sizeof *q.R},
                                   {q.c, n * t * sizeof *q.c}};
        sr_dist_chain_take(factor, 2);
        for (size_t k = 0; keep && k < nb && st == SR_OK; k++) {
            double *at = kept + k * (n * n + n * t);
            memcpy(part.R, at, n * n * sizeof *at);
            memcpy(part.c, at + n * n, n * t * sizeof *at);
            st = sr_qr_fold(&q, &part, err);
        }
        sr_dist_chain_give(factor, 2);
    }
    if (st == SR_OK)
        st = sr_qr_solve(&q, l2, b ? xmean : NULL, b ? ymean : NULL, W, b,
                         err);
done:
    sr_dealloc(kept);
    sr_dealloc(ymean);
    sr_dealloc(xmean);
    sr_dealloc(X);
    sr_qr_free(&part);
    sr_qr_free(&q);
    return st;
}

/* Linear regression solved exactly (optim.h's sr_lstsq_solve), on one
 * process or many with the same bits. The objective's mean form (1/2
 * mean + l2/2 ||W||^2) is the sum form with l2' = m l2. */
sr_status sr_run_exact(run *R, sr_error *err)
{
    sr_model *model = R->model;
    size_t M = sr_dataset_rows_all(R->train);
    const sr_param_block *b = sr_model_block(model, "b");
    float *bias = b ? model->params + b->offset : NULL;
    double t0 = sr_run_seconds(), l2 = R->p->l2 * (double)M;
    sr_status st = M < R->train->n
                       ? exact_wide(R, l2, model->params, bias, err)
                       : exact_tall(R, l2, model->params, bias, err);
    sr_engine_params_changed(&R->e);
    if (st == SR_OK) {
        sr_run_end_epoch(R, 0, sr_run_seconds() - t0);
        sr_run_outcome(R, 1, 1, M < R->train->n
                                    ? "solved exactly: least squares by SVD"
                                    : "solved exactly: least squares by QR "
                                      "and SVD");
    }
    return st;
}
