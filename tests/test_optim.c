/* Least squares over LAPACK and L-BFGS over liblbfgs. */
#include "testutil.h"

#include "optim/optim.h"

/* ---- Least squares ------------------------------------------------------ */

/* AI VIETNAM's Level/Salary table: salary = 5.095238 level + 7.666667. */
static void test_lstsq_level_salary(void **state)
{
    (void)state;
    const float X[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    const float Y[8] = {8, 15, 18, 22, 26, 30, 38, 47};
    float w = 0, b = 0;
    assert_sr_ok(sr_lstsq_solve(X, 8, 1, Y, 1, 0.0, &w, &b, NULL));
    assert_close(w, 5.095238, 1e-5);
    assert_close(b, 7.666667, 1e-5);
}

/* Ten points of sin(2 pi x), x = i/9, fitted by a degree-9 polynomial:
 * features x^1..x^9 (float32) and a bias. The reference is
 * np.linalg.lstsq (float64) on the same float32 features and targets. */
#define POLY_M 10
#define POLY_N 9
static const double poly_coef[POLY_N + 1] = {
    6.2773403249076445e+00,  1.5897322333352903e-01, -4.3126029890084460e+01,
    1.1047221656156994e+01,  3.9516097617403545e+01,  1.0313598260655081e+02,
    -2.3956748329484600e+02, 1.5757372233603274e+02, -3.5015824579454758e+01,
    -2.4820034057784628e-14, /* bias */
};
/* The numpy fit at the midpoints (i + 1/2)/9, i = 0..8. */
static const double poly_mid[POLY_M - 1] = {
    3.4196586954421626e-01,  8.6603279667428901e-01,  9.8480609150303244e-01,
    6.4278814209601021e-01,  -2.8439952864944829e-08, -6.4278707637972254e-01,
    -9.8480532762798534e-01, -8.6603324607149545e-01, -3.4197572105860274e-01,
};

static void poly_features(double x, float *row)
{
    for (int p = 1; p <= POLY_N; p++)
        row[p - 1] = (float)pow(x, p);
}

static double poly_eval(const float *row, const float *W, float b)
{
    double s = b;
    for (int j = 0; j < POLY_N; j++)
        s += (double)row[j] * W[j];
    return s;
}

static void test_lstsq_polynomial_degree9(void **state)
{
    (void)state;
    const double pi = 3.14159265358979323846;
    float X[POLY_M * POLY_N], Y[POLY_M], W[POLY_N], b;
    for (int i = 0; i < POLY_M; i++) {
        double x = i / 9.0;
        poly_features(x, &X[i * POLY_N]);
        Y[i] = (float)sin(2 * pi * x);
    }
    assert_sr_ok(sr_lstsq_solve(X, POLY_M, POLY_N, Y, 1, 0.0, W, &b, NULL));
    for (int j = 0; j < POLY_N; j++)
        assert_close(W[j], poly_coef[j], 1e-5 * fabs(poly_coef[j]) + 1e-5);
    assert_close(b, poly_coef[POLY_N], 1e-6);
    /* Ten points, ten unknowns: the fit interpolates. The residual left is
     * the rounding of W to float32 (numpy's coefficients rounded the same
     * way leave 8.6e-6 at x = 1). */
    double rss = 0;
    for (int i = 0; i < POLY_M; i++) {
        double r = poly_eval(&X[i * POLY_N], W, b) - Y[i];
        rss += r * r;
        assert_close(r, 0.0, 3e-5);
    }
    assert_true(rss < 1e-9);
    float row[POLY_N];
    for (int i = 0; i < POLY_M - 1; i++) {
        poly_features((i + 0.5) / 9.0, row);
        assert_close(poly_eval(row, W, b), poly_mid[i], 3e-5);
    }
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

#define RM 7
#define RN 3
#define RT 2
static const float ridge_X[RM * RN] = {
    0.5f, -1.0f, 2.0f,  1.5f, 0.25f, -0.5f, -2.0f, 1.0f,  0.75f, 0.0f, 3.0f,
    1.0f, 2.5f, -1.5f, -1.0f, -0.5f, 0.5f,  2.25f, 1.25f, 2.0f,  -1.75f,
};
static const float ridge_Y[RM * RT] = {
    1.0f, -2.0f, 0.5f, 3.0f,  -1.5f, 0.25f, 4.0f, 1.0f,
    2.0f, -0.5f, 0.0f, 1.75f, -3.0f, 2.5f,
};

/* W = (Xc^T Xc + l2 I)^-1 Xc^T Yc, b = mean(Y) - mean(X) W in double, Xc and
 * Yc centred when `bias`, else X and Y themselves and b = 0. */
static void ridge_reference(double l2, int bias, double *W, double *b)
{
    double xm[RN] = {0}, ym[RT] = {0};
    for (int i = 0; bias && i < RM; i++) {
        for (int j = 0; j < RN; j++)
            xm[j] += ridge_X[i * RN + j] / (double)RM;
        for (int c = 0; c < RT; c++)
            ym[c] += ridge_Y[i * RT + c] / (double)RM;
    }
    for (int c = 0; c < RT; c++) {
        double A[RN * RN] = {0}, r[RN] = {0};
        for (int i = 0; i < RM; i++)
            for (int j = 0; j < RN; j++) {
                double xij = ridge_X[i * RN + j] - xm[j];
                r[j] += xij * (ridge_Y[i * RT + c] - ym[c]);
                for (int l = 0; l < RN; l++)
                    A[j * RN + l] += xij * (ridge_X[i * RN + l] - xm[l]);
            }
        for (int j = 0; j < RN; j++)
            A[j * RN + j] += l2;
        gauss_solve(A, r, RN);
        b[c] = ym[c];
        for (int j = 0; j < RN; j++) {
            W[j * RT + c] = r[j];
            b[c] -= xm[j] * r[j];
        }
    }
}

static void test_lstsq_ridge_closed_form(void **state)
{
    (void)state;
    const double l2s[3] = {0.0, 0.7, 25.0};
    for (int k = 0; k < 3; k++) {
        for (int bias = 0; bias <= 1; bias++) {
            double Wref[RN * RT], bref[RT];
            float W[RN * RT], b[RT];
            ridge_reference(l2s[k], bias, Wref, bref);
            assert_sr_ok(sr_lstsq_solve(ridge_X, RM, RN, ridge_Y, RT, l2s[k],
                                        W, bias ? b : NULL, NULL));
            for (int i = 0; i < RN * RT; i++)
                assert_close(W[i], Wref[i], 1e-6 * fabs(Wref[i]) + 1e-6);
            for (int c = 0; bias && c < RT; c++)
                assert_close(b[c], bref[c], 1e-6 * fabs(bref[c]) + 1e-6);
        }
    }
}

/* A very large l2 leaves W ~ 0 and, with a bias, b ~ mean(Y). */
static void test_lstsq_ridge_large_decay(void **state)
{
    (void)state;
    float W[RN * RT], b[RT];
    assert_sr_ok(sr_lstsq_solve(ridge_X, RM, RN, ridge_Y, RT, 1e12, W, b,
                                NULL));
    for (int i = 0; i < RN * RT; i++)
        assert_close(W[i], 0.0, 1e-9);
    for (int c = 0; c < RT; c++) {
        double mean = 0;
        for (int i = 0; i < RM; i++)
            mean += ridge_Y[i * RT + c] / (double)RM;
        assert_close(b[c], mean, 1e-6);
    }
}

/* Duplicate columns a, a and c with y = a + 2c: every w1 + w2 = 1 fits, and
 * the minimum-norm answer splits it evenly. */
static void test_lstsq_rank_deficient_min_norm(void **state)
{
    (void)state;
    const float a[5] = {1, 2, -1, 0.5f, 3}, c[5] = {0, 1, 1, -2, 0.25f};
    float X[5 * 3], Y[5], W[3] = {0};
    for (int i = 0; i < 5; i++) {
        X[i * 3 + 0] = a[i];
        X[i * 3 + 1] = a[i];
        X[i * 3 + 2] = c[i];
        Y[i] = a[i] + 2 * c[i];
    }
    assert_sr_ok(sr_lstsq_solve(X, 5, 3, Y, 1, 0.0, W, NULL, NULL));
    assert_close(W[0], 0.5, 1e-6);
    assert_close(W[1], 0.5, 1e-6);
    assert_close(W[2], 2.0, 1e-6);

    /* A constant column is absorbed by the bias and gets weight 0. */
    float X2[5 * 2], W2[2], b2;
    for (int i = 0; i < 5; i++) {
        X2[i * 2 + 0] = a[i];
        X2[i * 2 + 1] = 4.0f;
        Y[i] = 3 * a[i] - 1;
    }
    assert_sr_ok(sr_lstsq_solve(X2, 5, 2, Y, 1, 0.0, W2, &b2, NULL));
    assert_close(W2[0], 3.0, 1e-6);
    assert_close(W2[1], 0.0, 1e-6);
    assert_close(b2, -1.0, 1e-6);

    /* Fewer examples than features: finite, interpolating, minimum norm
     * (W = X^T (X X^T)^-1 y; here X's rows are orthogonal). */
    const float X3[2 * 4] = {1, 1, 0, 0, 0, 0, 2, 0};
    const float Y3[2] = {2, 4};
    float W3[4];
    assert_sr_ok(sr_lstsq_solve(X3, 2, 4, Y3, 1, 0.0, W3, NULL, NULL));
    assert_close(W3[0], 1.0, 1e-6);
    assert_close(W3[1], 1.0, 1e-6);
    assert_close(W3[2], 2.0, 1e-6);
    assert_close(W3[3], 0.0, 1e-6);

    /* All-zero X: W = 0, b = mean(Y). */
    const float Z[3 * 2] = {0};
    const float YZ[3] = {1, 2, 6};
    float WZ[2], bZ;
    assert_sr_ok(sr_lstsq_solve(Z, 3, 2, YZ, 1, 0.0, WZ, &bZ, NULL));
    assert_close(WZ[0], 0.0, 0.0);
    assert_close(WZ[1], 0.0, 0.0);
    assert_close(bZ, 3.0, 1e-6);
}

static void test_lstsq_errors(void **state)
{
    (void)state;
    const float X[4] = {1, 2, 3, 4}, Y[2] = {1, 2};
    float W[2] = {42, 42}, b = 42;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_lstsq_solve(X, 0, 2, Y, 1, 0.0, W, &b, &err),
                     SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "empty"));
    assert_int_equal(sr_lstsq_solve(X, 2, 0, Y, 1, 0.0, W, &b, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_lstsq_solve(X, 2, 2, Y, 0, 0.0, W, &b, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_lstsq_solve(NULL, 2, 2, Y, 1, 0.0, W, &b, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_lstsq_solve(X, 2, 2, Y, 1, -1.0, W, &b, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_lstsq_solve(X, 2, 2, Y, 1, NAN, W, &b, &err),
                     SR_ERR_INVALID_ARG);
    const float Xn[4] = {1, 2, NAN, 4};
    assert_int_equal(sr_lstsq_solve(Xn, 2, 2, Y, 1, 0.0, W, &b, &err),
                     SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "X[1][0]"));
    assert_int_equal(sr_lstsq_solve(X, SIZE_MAX / 2, 4, Y, 1, 0.0, W, &b,
                                    &err),
                     SR_ERR_TOO_BIG);
    /* more features than LAPACK's int counts */
    assert_int_equal(sr_lstsq_solve(X, 1, (size_t)1 << 31, Y, 1, 0.0, W, &b,
                                    &err),
                     SR_ERR_TOO_BIG);
    /* Outputs untouched on failure. */
    assert_true(W[0] == 42 && W[1] == 42 && b == 42);
}

/* ---- L-BFGS ------------------------------------------------------------- */

/* f(x) = 1/2 sum_i a_i (x_i - c_i)^2 + 3, minimum 3 at c. */
#define QN 40
static double quadratic(void *ctx, const float *x, float *grad, size_t n)
{
    (void)ctx;
    double f = 3.0;
    for (size_t i = 0; i < n; i++) {
        double a = 1.0 + (double)(i % 7), c = 0.25 * (double)i - 2.0;
        double d = x[i] - c;
        f += 0.5 * a * d * d;
        grad[i] = (float)(a * d);
    }
    return f;
}

static void test_lbfgs_quadratic(void **state)
{
    (void)state;
    float x[QN] = {0};
    sr_lbfgs_result r = {0, 0, -1};
    assert_sr_ok(sr_lbfgs_minimize(x, QN, quadratic, NULL, 100, 0, NULL, NULL,
                                   &r, NULL));
    for (size_t i = 0; i < QN; i++)
        assert_close(x[i], 0.25 * (double)i - 2.0, 1e-4);
    assert_close(r.fx, 3.0, 1e-7);
    assert_true(r.iterations >= 1 && r.iterations < 100);
    assert_int_equal(r.converged, 1);
}

/* Rosenbrock, f = (1 - x)^2 + 100 (y - x^2)^2, evaluated in float32 as the
 * library's models are. */
static double rosenbrock(void *ctx, const float *x, float *grad, size_t n)
{
    int *calls = ctx;
    (void)n;
    if (calls)
        (*calls)++;
    float a = 1.0f - x[0], b = x[1] - x[0] * x[0];
    grad[0] = -2.0f * a - 400.0f * x[0] * b;
    grad[1] = 200.0f * b;
    return (double)(a * a + 100.0f * b * b);
}

typedef struct progress_log {
    size_t calls, stop_at, last_iteration;
    double last_fx;
} progress_log;

static int log_progress(void *user, size_t iteration, const float *x,
                        double fx, double gnorm)
{
    progress_log *log = user;
    (void)x;
    (void)gnorm;
    log->calls++;
    assert_int_equal(iteration, log->calls);
    log->last_iteration = iteration;
    log->last_fx = fx;
    return log->stop_at && iteration >= log->stop_at;
}

static void test_lbfgs_rosenbrock(void **state)
{
    (void)state;
    float x[2] = {-1.2f, 1.0f};
    progress_log log = {0, 0, 0, 0};
    sr_lbfgs_result r;
    assert_sr_ok(sr_lbfgs_minimize(x, 2, rosenbrock, NULL, 1000, 0,
                                   log_progress, &log, &r, NULL));
    assert_close(x[0], 1.0, 1e-3);
    assert_close(x[1], 1.0, 1e-3);
    assert_true(r.fx < 1e-6);
    assert_int_equal(r.iterations, log.calls);
    assert_close(r.fx, log.last_fx, 0.0);
    /* fx is f at the point returned. */
    float g[2];
    assert_close(rosenbrock(NULL, x, g, 2), r.fx, 0.0);
}

static void test_lbfgs_progress_stops(void **state)
{
    (void)state;
    float x[2] = {-1.2f, 1.0f};
    progress_log log = {0, 3, 0, 0};
    sr_lbfgs_result r;
    assert_sr_ok(sr_lbfgs_minimize(x, 2, rosenbrock, NULL, 1000, 0,
                                   log_progress, &log, &r, NULL));
    assert_int_equal(log.calls, 3);
    assert_int_equal(r.iterations, 3);
    assert_int_equal(r.converged, 0);
    assert_close(r.fx, log.last_fx, 0.0);
    float g[2];
    assert_close(rosenbrock(NULL, x, g, 2), r.fx, 0.0);
    assert_true(r.fx < 24.2); /* f(-1.2, 1) = 24.2 */
}

static void test_lbfgs_max_iter(void **state)
{
    (void)state;
    float x[2] = {-1.2f, 1.0f};
    progress_log log = {0, 0, 0, 0};
    sr_lbfgs_result r;
    assert_sr_ok(sr_lbfgs_minimize(x, 2, rosenbrock, NULL, 5, 0, log_progress,
                                   &log, &r, NULL));
    assert_int_equal(log.calls, 5);
    assert_int_equal(r.iterations, 5);
    assert_int_equal(r.converged, 0);
    assert_true(fabs(x[0] - 1.0) > 1e-2);

    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_lbfgs_minimize(x, 2, rosenbrock, NULL, 0, 0, NULL,
                                       NULL, &r, &err),
                     SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "max_iter"));
}

static double nan_objective(void *ctx, const float *x, float *grad, size_t n)
{
    int *calls = ctx;
    (*calls)++;
    for (size_t i = 0; i < n; i++)
        grad[i] = x[i];
    return NAN;
}

static void test_lbfgs_nan_at_start(void **state)
{
    (void)state;
    float x[3] = {1, 2, 3};
    int calls = 0;
    sr_error err = {SR_OK, ""};
    sr_lbfgs_result r = {7, 7, 7};
    assert_int_equal(sr_lbfgs_minimize(x, 3, nan_objective, &calls, 100, 0,
                                       NULL, NULL, &r, &err),
                     SR_ERR_DIVERGED);
    assert_int_equal(calls, 1);
    assert_non_null(strstr(err.message, "not finite"));
    assert_true(x[0] == 1 && x[1] == 2 && x[2] == 3);
    assert_int_equal(r.iterations, 7);
}

/* f = sum x_i for x_0 > -10; below, -inf with a flat gradient, which the
 * line search accepts as a decrease. */
static double unbounded(void *ctx, const float *x, float *grad, size_t n)
{
    (void)ctx;
    if (x[0] <= -10.0f) {
        memset(grad, 0, n * sizeof *grad);
        return -INFINITY;
    }
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        f += x[i];
        grad[i] = 1.0f;
    }
    return f;
}

static void test_lbfgs_unbounded_diverges(void **state)
{
    (void)state;
    float x[2] = {0, 0};
    sr_error err = {SR_OK, ""};
    sr_status st = sr_lbfgs_minimize(x, 2, unbounded, NULL, 100, 0, NULL, NULL,
                                     NULL, &err);
    assert_int_equal(st, SR_ERR_DIVERGED);
    assert_true(x[0] == 0 && x[1] == 0);
}

/* The gradient's sign is wrong: no step decreases f along -grad's
 * opposite, so the first line search fails and x is left alone. */
static double wrong_gradient(void *ctx, const float *x, float *grad, size_t n)
{
    (void)ctx;
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        f += 0.5 * (double)x[i] * x[i];
        grad[i] = -x[i];
    }
    return f;
}

static void test_lbfgs_wrong_gradient(void **state)
{
    (void)state;
    float x[2] = {1, -2};
    sr_error err = {SR_OK, ""};
    sr_status st = sr_lbfgs_minimize(x, 2, wrong_gradient, NULL, 100, 0, NULL,
                                     NULL, NULL, &err);
    assert_int_equal(st, SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "gradient"));
    assert_true(x[0] == 1 && x[1] == -2);
}

/* f = 1/2 (x - 10)^2 but NaN beyond x = 3. The first iteration moves to
 * x = 1; the next line search meets the NaN and fails, which ends the run
 * normally at the last accepted point. */
static double nan_wall(void *ctx, const float *x, float *grad, size_t n)
{
    (void)ctx;
    (void)n;
    grad[0] = x[0] - 10.0f;
    if (x[0] > 3.0f)
        return NAN;
    return 0.5 * (double)(x[0] - 10.0f) * (x[0] - 10.0f);
}

static void test_lbfgs_nan_wall(void **state)
{
    (void)state;
    float x[1] = {0};
    sr_lbfgs_result r = {0, 0, -1};
    assert_sr_ok(
        sr_lbfgs_minimize(x, 1, nan_wall, NULL, 100, 0, NULL, NULL, &r, NULL));
    assert_true(x[0] > 0.0f && x[0] <= 3.0f);
    assert_true(r.iterations >= 1);
    assert_int_equal(r.converged, 0);
    float g;
    assert_close(nan_wall(NULL, x, &g, 1), r.fx, 0.0);
    assert_true(r.fx < 50.0); /* f(0) = 50 */
}

static void test_lbfgs_already_minimal(void **state)
{
    (void)state;
    float x[QN];
    for (size_t i = 0; i < QN; i++)
        x[i] = 0.25f * (float)i - 2.0f;
    sr_lbfgs_result r;
    assert_sr_ok(sr_lbfgs_minimize(x, QN, quadratic, NULL, 10, 0, NULL, NULL,
                                   &r, NULL));
    assert_int_equal(r.iterations, 0);
    assert_int_equal(r.converged, 1);
    assert_close(r.fx, 3.0, 0.0);
}

/* The number of corrections reaches liblbfgs: on the quadratic (seven
 * distinct curvatures) 1 and 20 corrections both find the minimum, 20 in
 * fewer iterations, as a longer history models more of the curvature; out
 * of range is refused with x untouched. */
static void test_lbfgs_corrections(void **state)
{
    (void)state;
    const size_t ms[2] = {1, 20};
    size_t iterations[2];
    for (int k = 0; k < 2; k++) {
        float x[QN] = {0};
        sr_lbfgs_result r = {0, 0, -1};
        assert_sr_ok(sr_lbfgs_minimize(x, QN, quadratic, NULL, 1000, ms[k],
                                       NULL, NULL, &r, NULL));
        for (size_t i = 0; i < QN; i++)
            assert_close(x[i], 0.25 * (double)i - 2.0, 1e-4);
        assert_close(r.fx, 3.0, 1e-7);
        assert_int_equal(r.converged, 1);
        iterations[k] = r.iterations;
    }
    if (!(iterations[1] < iterations[0])) {
        print_error("iterations: %zu with 1 correction, %zu with 20\n",
                    iterations[0], iterations[1]);
        fail();
    }

    float x[2] = {-1.2f, 1.0f};
    sr_error err = {SR_OK, ""};
    const size_t bad[2] = {SR_LBFGS_MAX_CORRECTIONS + 1, SIZE_MAX};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(sr_lbfgs_minimize(x, 2, rosenbrock, NULL, 100,
                                           bad[k], NULL, NULL, NULL, &err),
                         SR_ERR_INVALID_ARG);
        assert_non_null(strstr(err.message, "corrections"));
        assert_true(x[0] == -1.2f && x[1] == 1.0f);
    }
    /* The largest allowed is accepted. */
    assert_sr_ok(sr_lbfgs_minimize(x, 2, rosenbrock, NULL, 1000,
                                   SR_LBFGS_MAX_CORRECTIONS, NULL, NULL, NULL,
                                   NULL));
    assert_close(x[0], 1.0, 1e-3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lstsq_level_salary),
        cmocka_unit_test(test_lstsq_polynomial_degree9),
        cmocka_unit_test(test_lstsq_ridge_closed_form),
        cmocka_unit_test(test_lstsq_ridge_large_decay),
        cmocka_unit_test(test_lstsq_rank_deficient_min_norm),
        cmocka_unit_test(test_lstsq_errors),
        cmocka_unit_test(test_lbfgs_quadratic),
        cmocka_unit_test(test_lbfgs_rosenbrock),
        cmocka_unit_test(test_lbfgs_progress_stops),
        cmocka_unit_test(test_lbfgs_max_iter),
        cmocka_unit_test(test_lbfgs_nan_at_start),
        cmocka_unit_test(test_lbfgs_unbounded_diverges),
        cmocka_unit_test(test_lbfgs_wrong_gradient),
        cmocka_unit_test(test_lbfgs_nan_wall),
        cmocka_unit_test(test_lbfgs_already_minimal),
        cmocka_unit_test(test_lbfgs_corrections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
