/* L-BFGS over liblbfgs. liblbfgs iterates on a double copy of the
 * parameters; the objective sees them rounded to float32, as everywhere else
 * in the library, and its float32 gradient is widened back to double. */
#include <lbfgs.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../core/internal.h"
#include "optim.h"

typedef struct lbfgs_run {
    sr_objective_fn f;
    void *ctx;
    sr_iteration_fn progress;
    void *user;
    size_t n;
    float *xf;          /* (n) the point f is evaluated at */
    float *gf;          /* (n) f's gradient there */
    float *best;        /* (n) the last accepted point */
    double best_fx;     /* f(best) */
    size_t iterations;  /* accepted iterations */
    size_t evaluations;
    double start_fx;    /* f(x0) */
    int start_bad;      /* f or its gradient not finite at x0 */
    int saw_nonfinite;  /* f not finite at some trial point */
    int diverged;       /* an accepted point has f = -inf or NaN */
    int stopped;        /* the caller's progress callback asked to stop */
} lbfgs_run;

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x,
                                lbfgsfloatval_t *g, const int n,
                                const lbfgsfloatval_t step)
{
    lbfgs_run *run = instance;
    (void)n;
    (void)step;
    for (size_t i = 0; i < run->n; i++)
        run->xf[i] = (float)x[i];
    double fx = run->f(run->ctx, run->xf, run->gf, run->n);
    int finite = isfinite(fx);
    for (size_t i = 0; i < run->n; i++)
        g[i] = run->gf[i];
    if (!finite)
        run->saw_nonfinite = 1;
    if (run->evaluations++ == 0) {
        run->start_fx = fx;
        run->best_fx = fx;
        for (size_t i = 0; finite && i < run->n; i++)
            finite = isfinite(g[i]);
        /* A zero gradient makes liblbfgs stop at once with
         * LBFGS_ALREADY_MINIMIZED instead of line-searching on NaN. */
        if (!finite) {
            run->start_bad = 1;
            memset(g, 0, run->n * sizeof *g);
        }
    }
    return fx;
}

static int progress(void *instance, const lbfgsfloatval_t *x,
                    const lbfgsfloatval_t *g, const lbfgsfloatval_t fx,
                    const lbfgsfloatval_t xnorm, const lbfgsfloatval_t gnorm,
                    const lbfgsfloatval_t step, int n, int k, int ls)
{
    lbfgs_run *run = instance;
    (void)g;
    (void)xnorm;
    (void)step;
    (void)n;
    (void)ls;
    /* The line search only accepts a sufficient decrease, so a non-finite
     * value here is -inf (unbounded below) or a NaN let through. */
    if (!isfinite(fx)) {
        run->diverged = 1;
        return 1;
    }
    for (size_t i = 0; i < run->n; i++)
        run->best[i] = (float)x[i];
    run->best_fx = fx;
    run->iterations = (size_t)k;
    if (run->progress && run->progress(run->user, (size_t)k, run->best, fx, gnorm)) {
        run->stopped = 1;
        return 1;
    }
    return 0;
}

static const char *lbfgs_reason(int code)
{
    switch (code) {
    case LBFGSERR_LOGICERROR: return "logic error";
    case LBFGSERR_OUTOFMEMORY: return "out of memory";
    case LBFGSERR_CANCELED: return "canceled";
    case LBFGSERR_OUTOFINTERVAL:
        return "the line-search step went out of the interval of uncertainty";
    case LBFGSERR_INCORRECT_TMINMAX:
        return "the interval of uncertainty of the line search became too "
               "small";
    case LBFGSERR_ROUNDING_ERROR:
        return "rounding errors prevent further progress: no step satisfies "
               "the sufficient decrease and curvature conditions";
    case LBFGSERR_MINIMUMSTEP: return "the line-search step became too small";
    case LBFGSERR_MAXIMUMSTEP: return "the line-search step became too large";
    case LBFGSERR_MAXIMUMLINESEARCH:
        return "the line search reached its maximum number of evaluations";
    case LBFGSERR_MAXIMUMITERATION:
        return "the maximum number of iterations was reached";
    case LBFGSERR_WIDTHTOOSMALL:
        return "the relative width of the interval of uncertainty is too "
               "small";
    case LBFGSERR_INVALIDPARAMETERS:
        return "the line search got a negative step";
    case LBFGSERR_INCREASEGRADIENT:
        return "the search direction is not a descent direction";
    default: break;
    }
    if (code >= LBFGSERR_INVALID_N && code <= LBFGSERR_INVALID_ORTHANTWISE_END)
        return "invalid parameter";
    return "unknown error";
}

/* The corrections for `corrections` = 0: minFunc's 100 unless the history,
 * 2 m n doubles, would pass 256 MB; then as many as fit, at least 3. */
static int default_corrections(size_t n)
{
    size_t cap = ((size_t)256 << 20) / (16 * n);
    if (cap > SR_LBFGS_MAX_CORRECTIONS)
        return SR_LBFGS_MAX_CORRECTIONS;
    return cap < 3 ? 3 : (int)cap;
}

sr_status sr_lbfgs_minimize(float *x, size_t n, sr_objective_fn f, void *ctx,
                            size_t max_iter, size_t corrections,
                            sr_iteration_fn progress_fn, void *user,
                            sr_lbfgs_result *result, sr_error *err)
{
    if (!x || !f)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lbfgs: x and f must not be NULL");
    if (n == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "lbfgs: no parameters (n = 0)");
    if (max_iter == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lbfgs: max_iter must be at least 1");
    if (corrections > SR_LBFGS_MAX_CORRECTIONS)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lbfgs: corrections is %zu; it must be 1 to %d (0: "
                       "the default)", corrections, SR_LBFGS_MAX_CORRECTIONS);
    if (n > (size_t)INT_MAX)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "lbfgs: %zu parameters exceed liblbfgs's int size", n);

    sr_status st = SR_OK;
    lbfgs_run run = {0};
    lbfgsfloatval_t *xd = sr_alloc_array(n, sizeof *xd);
    run.xf = sr_alloc_array(n, sizeof *run.xf);
    run.gf = sr_alloc_array(n, sizeof *run.gf);
    run.best = sr_alloc_array(n, sizeof *run.best);
    if (!xd || !run.xf || !run.gf || !run.best) {
        st = sr_fail(err, SR_ERR_NOMEM,
                     "lbfgs: out of memory for %zu parameters", n);
        goto done;
    }
    run.f = f;
    run.ctx = ctx;
    run.progress = progress_fn;
    run.user = user;
    run.n = n;
    for (size_t i = 0; i < n; i++)
        xd[i] = x[i];
    memcpy(run.best, x, n * sizeof *x);

    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.max_iterations = max_iter > (size_t)INT_MAX ? INT_MAX : (int)max_iter;
    /* More corrections than liblbfgs's 6 converge faster on softmax
     * regression; the caller trades that against memory. */
    param.m = corrections ? (int)corrections : default_corrections(n);

    /* liblbfgs's final fx may belong to a rejected trial point; the
     * progress callback keeps the last accepted one. */
    int ret = lbfgs((int)n, xd, NULL, evaluate, progress, &run, &param);

    int converged = 0;
    const char *reason = "";
    if (run.start_bad) {
        st = sr_fail(err, SR_ERR_DIVERGED,
                     "lbfgs: the objective or its gradient is not finite at "
                     "the starting point (f = %g)", run.start_fx);
        goto done;
    }
    if (run.diverged) {
        st = sr_fail(err, SR_ERR_DIVERGED,
                     "lbfgs: the objective became -inf or NaN after %zu "
                     "iterations", run.iterations);
        goto done;
    }
    if (run.stopped) {
        converged = 0;
        reason = "stopped by its caller";
    } else if (ret == LBFGS_SUCCESS || ret == LBFGS_STOP) {
        converged = 1;
        reason = "converged: the gradient's norm fell below 1e-5 max(1, "
                 "||W||)";
    } else if (ret == LBFGS_ALREADY_MINIMIZED) {
        converged = 1;
        reason = "converged: the starting point is already a minimum";
    } else if (ret == LBFGSERR_MAXIMUMITERATION) {
        converged = 0;
        reason = "the iteration limit (--max-iter) was reached before "
                 "convergence: the model may be underfit";
    } else if (ret == LBFGSERR_OUTOFMEMORY) {
        st = sr_fail(err, SR_ERR_NOMEM,
                     "lbfgs: liblbfgs ran out of memory for %zu parameters", n);
        goto done;
    } else if (ret >= LBFGSERR_OUTOFINTERVAL && ret < 0 && run.iterations > 0 &&
               isfinite(run.best_fx)) {
        /* A line search failed after some progress: with a float32
         * objective this is the usual end, at the last accepted point. */
        converged = 0;
        reason = "no step along the search direction lowers the float32 "
                 "objective any further (at or near the minimum)";
    } else if (ret >= LBFGSERR_OUTOFINTERVAL && ret < 0) {
        st = sr_fail(err, run.saw_nonfinite ? SR_ERR_DIVERGED
                                            : SR_ERR_INVALID_ARG,
                     "lbfgs: no iteration succeeded: %s (liblbfgs code %d)%s",
                     lbfgs_reason(ret), ret,
                     run.saw_nonfinite
                         ? "; the objective was not finite at a trial point"
                         : "; check that the gradient matches the objective");
        goto done;
    } else {
        st = sr_fail(err, SR_ERR_INVALID_ARG, "lbfgs: liblbfgs failed: %s "
                     "(code %d)", lbfgs_reason(ret), ret);
        goto done;
    }

    memcpy(x, run.best, n * sizeof *x);
    if (result) {
        result->iterations = run.iterations;
        result->fx = run.best_fx;
        result->converged = converged;
        result->reason = reason;
    }

done:
    sr_dealloc(run.best);
    sr_dealloc(run.gf);
    sr_dealloc(run.xf);
    sr_dealloc(xd);
    return st;
}
