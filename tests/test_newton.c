/* Trust-region Newton-CG (src/optim/newton.c): minimisers against
 * independent references (a direct solve, L-BFGS), preconditioned and not,
 * the stops and errors, and the same bits for any thread count. The test
 * functions are written in plain double C. */
#include "testutil.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "optim/optim.h"

/* A small deterministic generator for the test data: uniform in [-1, 1). */
static double uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* Solves the (k, k) system A x = r in place by Gaussian elimination with
 * partial pivoting; A and r are overwritten, x is left in r. */
static void gauss_solve(double *A, double *r, int k)
{
    for (int c = 0; c < k; c++) {
        int p = c;
        for (int i = c + 1; i < k; i++)
            if (fabs(A[i * k + c]) > fabs(A[p * k + c]))
                p = i;
        for (int j = 0; j < k; j++) {
            double t = A[c * k + j];
            A[c * k + j] = A[p * k + j];
            A[p * k + j] = t;
        }
        double t = r[c];
        r[c] = r[p];
        r[p] = t;
        assert_true(fabs(A[c * k + c]) > 1e-12);
        for (int i = c + 1; i < k; i++) {
            double f = A[i * k + c] / A[c * k + c];
            for (int j = c; j < k; j++)
                A[i * k + j] -= f * A[c * k + j];
            r[i] -= f * r[c];
        }
    }
    for (int c = k - 1; c >= 0; c--) {
        for (int j = c + 1; j < k; j++)
            r[c] -= A[c * k + j] * r[j];
        r[c] /= A[c * k + c];
    }
}

/* ---- A strictly convex quadratic: f = 1/2 w'Aw - b'w ------------------- */

/* A = B'B / QN + 0.1 I with B uniform and its columns scaled from 1 to 4:
 * symmetric positive definite, eigenvalues from 0.1 to 9.9; the minimiser
 * has norm 13.6, four times the first trust region's radius. */
#define QN 30
typedef struct quad {
    double A[QN * QN], b[QN];
    double wstar[QN], fstar; /* A wstar = b, solved in double */
} quad;

static void quad_init(quad *q)
{
    uint64_t state = 12345;
    double B[QN * QN];
    for (int i = 0; i < QN * QN; i++)
        B[i] = uniform(&state) * (1.0 + 3.0 * (i % QN) / (QN - 1));
    for (int i = 0; i < QN; i++)
        for (int j = 0; j < QN; j++) {
            double a = 0;
            for (int k = 0; k < QN; k++)
                a += B[k * QN + i] * B[k * QN + j];
            q->A[i * QN + j] = a / QN + (i == j ? 0.1 : 0.0);
        }
    for (int i = 0; i < QN; i++)
        q->b[i] = uniform(&state);
    double A[QN * QN];
    memcpy(A, q->A, sizeof A);
    memcpy(q->wstar, q->b, sizeof q->b);
    gauss_solve(A, q->wstar, QN);
    q->fstar = 0;
    for (int i = 0; i < QN; i++)
        q->fstar -= 0.5 * q->b[i] * q->wstar[i];
}

static double quad_fgrad(void *ctx, const float *w, float *g)
{
    const quad *q = ctx;
    double f = 0;
    for (int i = 0; i < QN; i++) {
        double Aw = 0;
        for (int j = 0; j < QN; j++)
            Aw += q->A[i * QN + j] * w[j];
        f += 0.5 * w[i] * Aw - q->b[i] * w[i];
        g[i] = (float)(Aw - q->b[i]);
    }
    return f;
}

static void quad_hess_vec(void *ctx, const float *v, float *hv)
{
    const quad *q = ctx;
    for (int i = 0; i < QN; i++) {
        double s = 0;
        for (int j = 0; j < QN; j++)
            s += q->A[i * QN + j] * v[j];
        hv[i] = (float)s;
    }
}

static void quad_hess_diag(void *ctx, float *diag)
{
    const quad *q = ctx;
    for (int i = 0; i < QN; i++)
        diag[i] = (float)q->A[i * QN + i];
}

static sr_newton_problem quad_problem(quad *q, int preconditioned)
{
    sr_newton_problem p = {QN, quad_fgrad, quad_hess_vec,
                           preconditioned ? quad_hess_diag : NULL, q};
    return p;
}

/* Converges to the direct solve's minimiser with and without the
 * preconditioner. The truncated CG (the quadratic-model rule) and the
 * first radius make this a dozen or so iterations, not one. */
static void test_newton_quadratic(void **state)
{
    (void)state;
    quad q;
    quad_init(&q);
    for (int pre = 0; pre <= 1; pre++) {
        sr_newton_problem p = quad_problem(&q, pre);
        float w[QN] = {0};
        sr_newton_result r;
        memset(&r, 0, sizeof r);
        assert_sr_ok(sr_newton_minimize(w, &p, 100, 1e-5, NULL, NULL, &r,
                                        NULL));
        assert_int_equal(r.converged, 1);
        assert_string_equal(r.reason, "gradient small enough");
        assert_true(r.iterations >= 1 && r.iterations <= 20);
        assert_true(r.cg_steps >= r.iterations);
        assert_true(r.gnorm <= 1e-5 * r.gnorm0);
        for (int i = 0; i < QN; i++)
            assert_close(w[i], q.wstar[i], 1e-4 * (1 + fabs(q.wstar[i])));
        assert_close(r.fx, q.fstar, 1e-8 * fabs(q.fstar));
        float g[QN];
        assert_close(quad_fgrad(&q, w, g), r.fx, 0.0);
    }
}

/* Asked for more than float32 parameters can give, it stops at the
 * rounding limit without an error, near the minimiser, and soon. */
static void test_newton_no_progress(void **state)
{
    (void)state;
    quad q;
    quad_init(&q);
    sr_newton_problem p = quad_problem(&q, 0);
    float w[QN] = {0};
    sr_newton_result r;
    assert_sr_ok(sr_newton_minimize(w, &p, 1000, 1e-30, NULL, NULL, &r, NULL));
    assert_int_equal(r.converged, 0);
    assert_string_equal(r.reason, "no progress possible");
    assert_true(r.iterations < 50);
    assert_true(r.evaluations < 100);
    assert_true(r.gnorm < 1e-5 * r.gnorm0);
    for (int i = 0; i < QN; i++)
        assert_close(w[i], q.wstar[i], 1e-4 * (1 + fabs(q.wstar[i])));
}

/* ---- L2-regularised logistic regression ------------------------------- */

/* f(w) = 1/m sum_i log(1 + exp(-y_i x_i'w)) + lambda/2 ||w||^2, X (LM, LN)
 * with columns of very different scales (so a diagonal preconditioner has
 * something to do), y in {-1, +1} from a noisy linear rule. */
#define LM 80
#define LN 6
#define LAMBDA 0.01
static const double col_scale[LN] = {1.0, 20.0, 0.05, 3.0, 0.5, 1.0};

typedef struct logit {
    double X[LM * LN], y[LM];
    double D[LM]; /* sigma (1 - sigma) at the last fgrad's w */
    size_t fgrad_calls;
} logit;

static void logit_init(logit *L)
{
    uint64_t state = 777;
    const double wtrue[LN] = {1.5, -0.1, 20.0, 0.4, -2.0, 0.3};
    memset(L, 0, sizeof *L);
    for (int i = 0; i < LM; i++) {
        double z = 0;
        for (int j = 0; j < LN; j++) {
            double x = uniform(&state) * col_scale[j];
            if (j == LN - 1)
                x = 1.0; /* an intercept column */
            L->X[i * LN + j] = x;
            z += wtrue[j] * x;
        }
        L->y[i] = z + 1.5 * uniform(&state) > 0 ? 1.0 : -1.0;
    }
}

static double sigmoid(double z)
{
    return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

/* f and its gradient in double at a double point; D for the Hessian. */
static double logit_eval(logit *L, const double *w, double *g)
{
    double f = 0;
    for (int j = 0; j < LN; j++) {
        f += 0.5 * LAMBDA * w[j] * w[j];
        g[j] = LAMBDA * w[j];
    }
    for (int i = 0; i < LM; i++) {
        const double *x = &L->X[i * LN];
        double z = 0;
        for (int j = 0; j < LN; j++)
            z += x[j] * w[j];
        double yz = L->y[i] * z;
        /* log(1 + exp(-yz)), stable for either sign */
        f += (yz > 0 ? log1p(exp(-yz)) : -yz + log1p(exp(yz))) / LM;
        double sig = sigmoid(yz);
        for (int j = 0; j < LN; j++)
            g[j] -= (1.0 - sig) * L->y[i] * x[j] / LM;
        L->D[i] = sig * (1.0 - sig);
    }
    return f;
}

static double logit_fgrad(void *ctx, const float *w, float *g)
{
    logit *L = ctx;
    double wd[LN], gd[LN];
    for (int j = 0; j < LN; j++)
        wd[j] = w[j];
    double f = logit_eval(L, wd, gd);
    for (int j = 0; j < LN; j++)
        g[j] = (float)gd[j];
    L->fgrad_calls++;
    return f;
}

/* H v = 1/m X' D X v + lambda v, in double. */
static void logit_hess_vec_d(const logit *L, const double *v, double *hv)
{
    for (int j = 0; j < LN; j++)
        hv[j] = LAMBDA * v[j];
    for (int i = 0; i < LM; i++) {
        const double *x = &L->X[i * LN];
        double xv = 0;
        for (int j = 0; j < LN; j++)
            xv += x[j] * v[j];
        for (int j = 0; j < LN; j++)
            hv[j] += L->D[i] * xv * x[j] / LM;
    }
}

static void logit_hess_vec(void *ctx, const float *v, float *hv)
{
    double vd[LN], hd[LN];
    for (int j = 0; j < LN; j++)
        vd[j] = v[j];
    logit_hess_vec_d(ctx, vd, hd);
    for (int j = 0; j < LN; j++)
        hv[j] = (float)hd[j];
}

static void logit_hess_diag(void *ctx, float *diag)
{
    const logit *L = ctx;
    for (int j = 0; j < LN; j++) {
        double s = LAMBDA;
        for (int i = 0; i < LM; i++)
            s += L->D[i] * L->X[i * LN + j] * L->X[i * LN + j] / LM;
        diag[j] = (float)s;
    }
}

static double logit_objective(void *ctx, const float *x, float *grad,
                              size_t n)
{
    (void)n;
    return logit_fgrad(ctx, x, grad);
}

static sr_newton_problem logit_problem(logit *L, int preconditioned)
{
    sr_newton_problem p = {LN, logit_fgrad, logit_hess_vec,
                           preconditioned ? logit_hess_diag : NULL, L};
    return p;
}

/* The Hessian-vector product the test supplies agrees with central
 * differences of its gradient, at two points and along three directions. */
static void test_newton_logistic_hess_vec(void **state)
{
    (void)state;
    static logit L;
    logit_init(&L);
    const double points[2][LN] = {{0, 0, 0, 0, 0, 0},
                                  {0.7, -0.05, 4.0, 0.2, -1.0, 0.1}};
    uint64_t st = 99;
    for (int k = 0; k < 2; k++) {
        for (int dir = 0; dir < 3; dir++) {
            double v[LN], g[LN], hv[LN], wp[LN], wm[LN], gp[LN], gm[LN];
            for (int j = 0; j < LN; j++)
                v[j] = uniform(&st) / col_scale[j];
            logit_eval(&L, points[k], g);
            logit_hess_vec_d(&L, v, hv);
            const double h = 1e-5;
            for (int j = 0; j < LN; j++) {
                wp[j] = points[k][j] + h * v[j];
                wm[j] = points[k][j] - h * v[j];
            }
            logit_eval(&L, wp, gp);
            logit_eval(&L, wm, gm);
            for (int j = 0; j < LN; j++) {
                double fd = (gp[j] - gm[j]) / (2 * h);
                assert_close(hv[j], fd, 1e-6 * (1 + fabs(fd)));
            }
        }
    }
}

/* Newton's minimiser, with and without the preconditioner, agrees with
 * L-BFGS's and has a small gradient in double. */
static void test_newton_logistic_vs_lbfgs(void **state)
{
    (void)state;
    static logit L;
    logit_init(&L);

    float wl[LN] = {0};
    sr_lbfgs_result lr;
    assert_sr_ok(sr_lbfgs_minimize(wl, LN, logit_objective, &L, 1000, 0, NULL,
                                   NULL, &lr, NULL));
    assert_int_equal(lr.converged, 1);

    float wn[2][LN];
    sr_newton_result r[2];
    for (int pre = 0; pre <= 1; pre++) {
        sr_newton_problem p = logit_problem(&L, pre);
        memset(wn[pre], 0, sizeof wn[pre]);
        L.fgrad_calls = 0;
        assert_sr_ok(sr_newton_minimize(wn[pre], &p, 100, 1e-6, NULL, NULL,
                                        &r[pre], NULL));
        assert_int_equal(r[pre].converged, 1);
        assert_true(r[pre].iterations <= 30);
        assert_int_equal(r[pre].evaluations, L.fgrad_calls);
        assert_true(r[pre].fx <= lr.fx + 1e-9);
        for (int j = 0; j < LN; j++) {
            double scale = 1e-4 * (1 + fabs((double)wl[j]));
            assert_close(wn[pre][j], wl[j], scale);
        }
        double wd[LN], gd[LN], gg = 0;
        for (int j = 0; j < LN; j++)
            wd[j] = wn[pre][j];
        logit_eval(&L, wd, gd);
        for (int j = 0; j < LN; j++)
            gg += gd[j] * gd[j];
        assert_true(sqrt(gg) <= 1e-6 * r[pre].gnorm0 + 1e-7);
    }
    /* Same minimiser with and without the preconditioner. */
    for (int j = 0; j < LN; j++)
        assert_close(wn[0][j], wn[1][j], 1e-5 * (1 + fabs((double)wn[0][j])));
}

typedef struct progress_log {
    size_t calls, stop_at;
    double last_fx, last_gnorm;
    float last_w[LN];
} progress_log;

static int log_progress(void *user, size_t iteration, const float *x,
                        double fx, double gnorm)
{
    progress_log *log = user;
    log->calls++;
    assert_int_equal(iteration, log->calls);
    log->last_fx = fx;
    log->last_gnorm = gnorm;
    memcpy(log->last_w, x, sizeof log->last_w);
    return log->stop_at && iteration >= log->stop_at;
}

static void test_newton_stops(void **state)
{
    (void)state;
    static logit L;
    logit_init(&L);
    sr_newton_problem p = logit_problem(&L, 1);

    /* One iteration: not converged, and says why. */
    float w[LN] = {0};
    progress_log log = {0};
    sr_newton_result r;
    assert_sr_ok(sr_newton_minimize(w, &p, 1, 1e-6, log_progress, &log, &r,
                                    NULL));
    assert_int_equal(r.iterations, 1);
    assert_int_equal(log.calls, 1);
    assert_int_equal(r.converged, 0);
    assert_string_equal(r.reason, "iteration limit");
    assert_true(r.fx < log1p(1.0)); /* f(0) = log 2 */
    assert_true(r.gnorm > 1e-6 * r.gnorm0);
    assert_close(r.fx, log.last_fx, 0.0);
    assert_memory_equal(w, log.last_w, sizeof w);

    /* The callback stops it after its second call. */
    memset(w, 0, sizeof w);
    progress_log stop = {0};
    stop.stop_at = 2;
    assert_sr_ok(sr_newton_minimize(w, &p, 100, 1e-6, log_progress, &stop,
                                    &r, NULL));
    assert_int_equal(stop.calls, 2);
    assert_int_equal(r.iterations, 2);
    assert_int_equal(r.converged, 0);
    assert_string_equal(r.reason, "stopped by callback");
    assert_close(r.fx, stop.last_fx, 0.0);
    assert_close(r.gnorm, stop.last_gnorm, 0.0);
    assert_memory_equal(w, stop.last_w, sizeof w);
    float g[LN];
    assert_close(logit_fgrad(&L, w, g), r.fx, 0.0);
}

/* ---- Errors ------------------------------------------------------------ */

static double nan_fgrad(void *ctx, const float *w, float *g)
{
    int *calls = ctx;
    (*calls)++;
    g[0] = w[0];
    g[1] = w[1];
    return NAN;
}

static double inf_gradient(void *ctx, const float *w, float *g)
{
    (void)ctx;
    g[0] = w[0];
    g[1] = INFINITY;
    return 1.0;
}

static void no_hess_vec(void *ctx, const float *v, float *hv)
{
    (void)ctx;
    hv[0] = v[0];
    hv[1] = v[1];
}

static void test_newton_nonfinite_start(void **state)
{
    (void)state;
    int calls = 0;
    sr_newton_problem p = {2, nan_fgrad, no_hess_vec, NULL, &calls};
    float w[2] = {1, 2};
    sr_newton_result r;
    memset(&r, 0x5a, sizeof r);
    sr_newton_result before = r;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_newton_minimize(w, &p, 10, 1e-6, NULL, NULL, &r, &err),
                     SR_ERR_DIVERGED);
    assert_int_equal(calls, 1);
    assert_non_null(strstr(err.message, "not finite"));
    assert_true(w[0] == 1 && w[1] == 2);
    assert_memory_equal(&r, &before, sizeof r);

    p.fgrad = inf_gradient;
    assert_int_equal(sr_newton_minimize(w, &p, 10, 1e-6, NULL, NULL, &r, &err),
                     SR_ERR_DIVERGED);
    assert_true(w[0] == 1 && w[1] == 2);
}

static void test_newton_bad_arguments(void **state)
{
    (void)state;
    quad q;
    quad_init(&q);
    sr_newton_problem p = quad_problem(&q, 0);
    float w[QN] = {0};
    w[0] = 42;
    sr_error err = {SR_OK, ""};
    struct {
        const char *what;
        size_t max_iter;
        double eps;
    } cases[] = {{"max_iter", 0, 1e-6},  {"eps", 10, 0.0},
                 {"eps", 10, -1e-6},     {"eps", 10, NAN},
                 {"eps", 10, INFINITY}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        assert_int_equal(sr_newton_minimize(w, &p, cases[k].max_iter,
                                            cases[k].eps, NULL, NULL, NULL,
                                            &err),
                         SR_ERR_INVALID_ARG);
        assert_non_null(strstr(err.message, cases[k].what));
    }
    assert_int_equal(sr_newton_minimize(NULL, &p, 10, 1e-6, NULL, NULL, NULL,
                                        &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_newton_minimize(w, NULL, 10, 1e-6, NULL, NULL, NULL,
                                        &err),
                     SR_ERR_INVALID_ARG);
    sr_newton_problem bad = p;
    bad.fgrad = NULL;
    assert_int_equal(sr_newton_minimize(w, &bad, 10, 1e-6, NULL, NULL, NULL,
                                        &err),
                     SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "fgrad"));
    bad = p;
    bad.hess_vec = NULL;
    assert_int_equal(sr_newton_minimize(w, &bad, 10, 1e-6, NULL, NULL, NULL,
                                        &err),
                     SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "hess_vec"));
    bad = p;
    bad.n = 0;
    assert_int_equal(sr_newton_minimize(w, &bad, 10, 1e-6, NULL, NULL, NULL,
                                        &err),
                     SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "n = 0"));
    assert_true(w[0] == 42 && w[1] == 0);
}

/* ---- The trust region -------------------------------------------------- */

/* f = sum_i sqrt(1 + (w_i - c_i)^2): convex, but Newton's full step from
 * |w_i - c_i| > 1 lands at -(w_i - c_i)^3, further away, so the region must
 * reject and shrink. The test also checks that hess_vec always works at
 * the current point (the start or the last accepted one), never at a
 * rejected trial: the last fgrad point must be that point. */
#define HN 5
typedef struct huber {
    float last[HN];    /* the point of the last fgrad call */
    float current[HN]; /* the start, then each accepted point */
    size_t calls, misplaced;
} huber;

static double huber_c(int i)
{
    return 0.5 * i - 1.0;
}

static double huber_fgrad(void *ctx, const float *w, float *g)
{
    huber *h = ctx;
    double f = 0;
    for (int i = 0; i < HN; i++) {
        double u = w[i] - huber_c(i);
        f += sqrt(1 + u * u);
        g[i] = (float)(u / sqrt(1 + u * u));
    }
    memcpy(h->last, w, sizeof h->last);
    return f;
}

static void huber_hess_vec(void *ctx, const float *v, float *hv)
{
    huber *h = ctx;
    h->calls++;
    if (memcmp(h->last, h->current, sizeof h->last) != 0)
        h->misplaced++;
    for (int i = 0; i < HN; i++) {
        double u = h->last[i] - huber_c(i);
        hv[i] = (float)(v[i] / pow(1 + u * u, 1.5));
    }
}

static int huber_accepted(void *user, size_t iteration, const float *x,
                          double fx, double gnorm)
{
    huber *h = user;
    (void)iteration;
    (void)fx;
    (void)gnorm;
    memcpy(h->current, x, sizeof h->current);
    return 0;
}

static void test_newton_trust_region(void **state)
{
    (void)state;
    huber h = {{0}, {0}, 0, 0};
    float w[HN];
    for (int i = 0; i < HN; i++)
        w[i] = 10.0f + (float)i;
    memcpy(h.current, w, sizeof w);
    sr_newton_problem p = {HN, huber_fgrad, huber_hess_vec, NULL, &h};
    sr_newton_result r;
    assert_sr_ok(sr_newton_minimize(w, &p, 200, 1e-6, huber_accepted, &h, &r,
                                    NULL));
    assert_int_equal(r.converged, 1);
    for (int i = 0; i < HN; i++)
        assert_close(w[i], huber_c(i), 1e-5);
    assert_close(r.fx, HN, 1e-9);
    /* Some trials were rejected: fgrad ran more than once per step. */
    assert_true(r.evaluations > r.iterations + 1);
    assert_int_equal(h.calls, r.cg_steps);
    assert_int_equal(h.misplaced, 0);
}

/* f = 1/2 (w - 10)^2, but NaN beyond w = 3: the trials past the wall are
 * rejected, and the run ends without an error at the best point below it. */
static double nan_wall(void *ctx, const float *w, float *g)
{
    (void)ctx;
    g[0] = w[0] - 10.0f;
    if (w[0] > 3.0f)
        return NAN;
    return 0.5 * (double)(w[0] - 10.0f) * (w[0] - 10.0f);
}

static void unit_hess_vec(void *ctx, const float *v, float *hv)
{
    (void)ctx;
    hv[0] = v[0];
}

static void test_newton_nan_wall(void **state)
{
    (void)state;
    sr_newton_problem p = {1, nan_wall, unit_hess_vec, NULL, NULL};
    float w[1] = {0};
    sr_newton_result r;
    assert_sr_ok(sr_newton_minimize(w, &p, 100, 1e-6, NULL, NULL, &r, NULL));
    assert_int_equal(r.converged, 0);
    assert_string_equal(r.reason, "no progress possible");
    assert_true(w[0] > 2.9f && w[0] <= 3.0f);
    float g;
    assert_close(nan_wall(NULL, w, &g), r.fx, 0.0);
    assert_true(r.evaluations < 200);
}

/* A Hessian-vector product that is not finite ends the run at the start,
 * without an error, the point unchanged. */
static void nan_hess_vec(void *ctx, const float *v, float *hv)
{
    (void)ctx;
    hv[0] = v[0] * NAN;
}

static void test_newton_nan_hessian(void **state)
{
    (void)state;
    sr_newton_problem p = {1, nan_wall, nan_hess_vec, NULL, NULL};
    float w[1] = {0};
    sr_newton_result r;
    assert_sr_ok(sr_newton_minimize(w, &p, 100, 1e-6, NULL, NULL, &r, NULL));
    assert_string_equal(r.reason, "Hessian-vector product not finite");
    assert_int_equal(r.iterations, 0);
    assert_int_equal(r.converged, 0);
    assert_true(w[0] == 0.0f);
}

/* A start at the minimum: no step, converged. */
static void test_newton_already_minimal(void **state)
{
    (void)state;
    huber h = {{0}, {0}, 0, 0};
    float w[HN];
    for (int i = 0; i < HN; i++)
        w[i] = (float)huber_c(i);
    sr_newton_problem p = {HN, huber_fgrad, huber_hess_vec, NULL, &h};
    sr_newton_result r;
    assert_sr_ok(sr_newton_minimize(w, &p, 10, 1e-6, NULL, NULL, &r, NULL));
    assert_int_equal(r.iterations, 0);
    assert_int_equal(r.cg_steps, 0);
    assert_int_equal(r.evaluations, 1);
    assert_int_equal(r.converged, 1);
    assert_string_equal(r.reason, "gradient small enough");
    assert_close(r.gnorm0, 0.0, 0.0);
    assert_close(r.fx, HN, 0.0);
}

/* ---- Determinism ------------------------------------------------------- */

/* Large enough for several reduction blocks (4096 elements) and a partial
 * one: f = sum_i [a_i/2 (w_i - c_i)^2 + log cosh(w_i - c_i)]
 *          + kappa/2 sum_i (w_{i+1} - w_i)^2. */
#define DN (3 * 4096 + 123)
#define KAPPA 2.0
typedef struct chain {
    double a[DN], c[DN];
    double h[DN]; /* a_i + sech^2(w_i - c_i) at the last fgrad's w */
} chain;

static void chain_init(chain *ch)
{
    uint64_t state = 4242;
    for (size_t i = 0; i < DN; i++) {
        ch->a[i] = 0.05 + 0.5 * (1 + uniform(&state));
        ch->c[i] = 3.0 * uniform(&state);
    }
}

static double chain_fgrad(void *ctx, const float *w, float *g)
{
    chain *ch = ctx;
    double f = 0;
    for (size_t i = 0; i < DN; i++) {
        double u = w[i] - ch->c[i], t = tanh(u);
        double lc = fabs(u) + log1p(exp(-2 * fabs(u))) - log(2.0);
        f += 0.5 * ch->a[i] * u * u + lc;
        double gi = ch->a[i] * u + t;
        if (i > 0)
            gi += KAPPA * ((double)w[i] - w[i - 1]);
        if (i + 1 < DN) {
            double e = (double)w[i + 1] - w[i];
            f += 0.5 * KAPPA * e * e;
            gi -= KAPPA * e;
        }
        g[i] = (float)gi;
        ch->h[i] = ch->a[i] + 1 - t * t;
    }
    return f;
}

static void chain_hess_vec(void *ctx, const float *v, float *hv)
{
    const chain *ch = ctx;
    for (size_t i = 0; i < DN; i++) {
        double s = ch->h[i] * v[i];
        if (i > 0)
            s += KAPPA * ((double)v[i] - v[i - 1]);
        if (i + 1 < DN)
            s -= KAPPA * ((double)v[i + 1] - v[i]);
        hv[i] = (float)s;
    }
}

static void chain_hess_diag(void *ctx, float *diag)
{
    const chain *ch = ctx;
    for (size_t i = 0; i < DN; i++)
        diag[i] = (float)(ch->h[i] + KAPPA * ((i > 0) + (i + 1 < DN)));
}

static void test_newton_same_bits_any_threads(void **state)
{
    (void)state;
#ifdef _OPENMP
    int saved = omp_get_max_threads();
#endif
    chain *ch = malloc(sizeof *ch);
    float *w = malloc(2 * DN * sizeof *w);
    assert_non_null(ch);
    assert_non_null(w);
    chain_init(ch);
    for (int pre = 0; pre <= 1; pre++) {
        sr_newton_problem p = {DN, chain_fgrad, chain_hess_vec,
                               pre ? chain_hess_diag : NULL, ch};
        sr_newton_result r[2];
        for (int t = 0; t < 2; t++) {
#ifdef _OPENMP
            omp_set_num_threads(t + 1);
#endif
            memset(&w[t * DN], 0, DN * sizeof *w);
            assert_sr_ok(sr_newton_minimize(&w[t * DN], &p, 100, 1e-5, NULL,
                                            NULL, &r[t], NULL));
            assert_int_equal(r[t].converged, 1);
        }
        assert_memory_equal(&w[0], &w[DN], DN * sizeof *w);
        assert_memory_equal(&r[0].fx, &r[1].fx, sizeof r[0].fx);
        assert_memory_equal(&r[0].gnorm, &r[1].gnorm, sizeof r[0].gnorm);
        assert_int_equal(r[0].iterations, r[1].iterations);
        assert_int_equal(r[0].cg_steps, r[1].cg_steps);
        assert_int_equal(r[0].evaluations, r[1].evaluations);
    }
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    free(w);
    free(ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newton_quadratic),
        cmocka_unit_test(test_newton_no_progress),
        cmocka_unit_test(test_newton_logistic_hess_vec),
        cmocka_unit_test(test_newton_logistic_vs_lbfgs),
        cmocka_unit_test(test_newton_stops),
        cmocka_unit_test(test_newton_nonfinite_start),
        cmocka_unit_test(test_newton_bad_arguments),
        cmocka_unit_test(test_newton_trust_region),
        cmocka_unit_test(test_newton_nan_wall),
        cmocka_unit_test(test_newton_nan_hessian),
        cmocka_unit_test(test_newton_already_minimal),
        cmocka_unit_test(test_newton_same_bits_any_threads),
    };
    return cmocka_run_group_tests_name("newton", tests, NULL, NULL) ? 1 : 0;
}
