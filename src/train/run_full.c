/* The full-batch optimisers on the run's objective: gradient descent,
 * L-BFGS, Newton's method, and linear regression's exact solution. */
#include <math.h>
#include <string.h>

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

/* Linear regression solved exactly: least squares by SVD, ridge with l2.
 * The objective's mean form (1/2 mean + l2/2 ||W||^2) is the sum form with
 * l2' = m l2. */
sr_status sr_run_exact(run *R, sr_error *err)
{
    sr_model *model = R->model;
    const sr_dataset *ds = R->train;
    size_t m = ds->m, n = ds->n;
    double t0 = sr_run_seconds();
    float *X = sr_alloc_array(m, n * sizeof(float));
    if (!X)
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for the %zu x %zu design matrix", m, n);
    sr_status st = sr_dataset_copy_features(ds, 0, m, X, err);
    const sr_param_block *b = sr_model_block(model, "b");
    if (st == SR_OK)
        st = sr_lstsq_solve(X, m, n, ds->targets, model->k,
                            R->p->l2 * (double)m, model->params,
                            b ? model->params + b->offset : NULL, err);
    sr_dealloc(X);
    sr_engine_params_changed(&R->e);
    if (st == SR_OK) {
        sr_run_end_epoch(R, 0, sr_run_seconds() - t0);
        sr_run_outcome(R, 1, 1, "solved exactly: least squares by SVD");
    }
    return st;
}
