/* Full-batch optimisers: L-BFGS over liblbfgs, trust-region Newton-CG and
 * least squares over LAPACK. Not part of the public API. Letters: m
 * examples, n features (or, for L-BFGS and Newton, parameters), t targets.
 * Matrices are row-major float32. */
#ifndef SR_OPTIM_H
#define SR_OPTIM_H

#include <stddef.h>

#include "softreg.h"

/* ---- L-BFGS ------------------------------------------------------------- */

/* Returns f(x) and writes its gradient into grad (both length n). */
typedef double (*sr_objective_fn)(void *ctx, const float *x, float *grad,
                                  size_t n);

/* Called after each iteration (iteration counts from 1) with the accepted
 * point x, the objective and the gradient's Euclidean norm there; return
 * non-zero to stop. */
typedef int (*sr_iteration_fn)(void *user, size_t iteration,
                               const float *x, double fx, double gnorm);

typedef struct sr_lbfgs_result {
    size_t iterations; /* completed iterations (accepted line searches) */
    double fx;         /* f at the point written to x */
    int converged;     /* 1: ||g|| <= 1e-5 max(1, ||x||); 0: stopped early */
    const char *reason; /* why it stopped, a static phrase */
} sr_lbfgs_result;

/* The largest number of corrections sr_lbfgs_minimize accepts. */
#define SR_LBFGS_MAX_CORRECTIONS 100

/* Minimises f from x by L-BFGS (More-Thuente line search); liblbfgs works on
 * a double copy, f always sees float32 points.
 *
 * `corrections` is the number of (s, y) pairs kept, liblbfgs's m, from 1 to
 * SR_LBFGS_MAX_CORRECTIONS; 0 chooses 100 (as minFunc, which the softmax
 * tutorial used) when the history then stays under 256 MB, else as many as
 * fit in 256 MB but at least 3. More corrections take fewer iterations on
 * ill-conditioned problems; memory grows with them:
 *     (2 m + 6) n doubles + 3 n floats, about 16 (m + 3.75) n bytes:
 * liblbfgs (1.10, no OWL-QN, no delta test) allocates 2 m history vectors
 * and 5 work vectors of n doubles, our wrapper the double copy of x and
 * three float vectors (the point f sees, its gradient, the last accepted
 * point). For n = 27 M: 4.2 GB at m = 6, 2.9 GB at 0 (m = 3 there),
 * 2.1 GB at m = 1.
 *
 * Returns SR_OK, x holding the last accepted point and *result (may be NULL)
 * filled, when the gradient test is met (converged = 1) and also, with
 * converged = 0, when max_iter iterations are done, when `progress` (may be
 * NULL) returns non-zero, or when a line search fails after at least one
 * iteration succeeded (a float32 objective reaches its rounding limit; the
 * point is still the best one found).
 * Errors, x untouched: SR_ERR_INVALID_ARG (NULL f or x, n == 0, max_iter == 0,
 * corrections above SR_LBFGS_MAX_CORRECTIONS, or no iteration succeeded:
 * usually a gradient that does not match f), SR_ERR_TOO_BIG (n > INT_MAX),
 * SR_ERR_NOMEM, SR_ERR_DIVERGED (f or its gradient is not finite at the
 * start, f is -inf or NaN at an accepted point, or no iteration succeeded
 * and f was not finite somewhere on the way).
 * max_iter larger than INT_MAX means INT_MAX. */
sr_status sr_lbfgs_minimize(float *x, size_t n, sr_objective_fn f, void *ctx,
                            size_t max_iter, size_t corrections,
                            sr_iteration_fn progress, void *user,
                            sr_lbfgs_result *result, sr_error *err);

/* ---- Trust-region Newton-CG ------------------------------------------- */

/* A twice-differentiable f for sr_newton_minimize. The optimiser calls
 * fgrad at each trial point; hess_vec and hess_diag then refer to that
 * point, and after a rejected trial fgrad is called again at the current
 * point (its outputs are not used) so that they refer to it once more.
 * f and the gradient come from one call because the models compute both
 * in one pass over the data: an accepted step costs one pass, a rejected
 * one two. */
typedef struct sr_newton_problem {
    size_t n; /* parameters */
    /* Returns f(w) and writes its gradient into g (n). */
    double (*fgrad)(void *ctx, const float *w, float *g);
    /* hv (n) = H v, H the Hessian at the w of the last fgrad call. */
    void (*hess_vec)(void *ctx, const float *v, float *hv);
    /* Optional (NULL: no preconditioner): H's diagonal at that w into
     * diag (n), for the diagonal preconditioner. */
    void (*hess_diag)(void *ctx, float *diag);
    void *ctx;
} sr_newton_problem;

typedef struct sr_newton_result {
    size_t iterations;  /* accepted Newton steps */
    size_t cg_steps;    /* conjugate-gradient steps (hess_vec calls) in all */
    size_t evaluations; /* fgrad calls, the first and the restoring ones too */
    double fx;          /* f at the returned point */
    double gnorm;       /* ||gradient|| there */
    double gnorm0;      /* ||gradient|| at the start */
    int converged;      /* gnorm <= eps gnorm0 */
    /* Why it stopped: "gradient small enough", "iteration limit",
     * "stopped by callback", "no progress possible" (no step the trust
     * region allows changes f in float32), "Hessian-vector product not
     * finite". A static string. */
    const char *reason;
} sr_newton_result;

/* Minimises f from w by trust-region Newton with conjugate gradients
 * (Lin, Weng & Keerthi 2008, the method of LIBLINEAR's -s 0; with
 * hess_diag, preconditioned as in Hsia, Chiang & Lin 2018):
 *   - each iteration approximately minimises the model
 *     q(s) = g's + 1/2 s'Hs over ||s||_M <= delta by CG, stopping by the
 *     quadratic-model rule of Nash & Sofer (after CG step j,
 *     j (q_{j-1} - q_j) <= 0.5 |q_j|), at the boundary, or on non-positive
 *     curvature (then at the boundary along the direction);
 *   - the step is accepted when f decreased by more than 1e-4 of the
 *     model's prediction; delta follows the ratio test of Lin & More's TRON
 *     (start ||g0||_{M^-1}, at most the first step's length);
 *   - M, the metric and preconditioner, is the identity, or with hess_diag
 *     0.99 diag(H) + 0.01 mean(diag H) I (negative entries read as 0; the
 *     identity where the diagonal is not finite or all 0), recomputed at
 *     each accepted point. The small multiple of the mean keeps M positive
 *     where a column has no curvature, and scales with f as the diagonal
 *     does (a fixed identity term would not, for objectives that are means).
 *
 * Stops, returning SR_OK with w the best point found and *result (may be
 * NULL) filled, when ||g|| <= eps ||g0|| (converged = 1), after max_iter
 * accepted steps, when `progress` (may be NULL; called after each accepted
 * step) returns non-zero, when no progress is possible (a rejected step
 * whose predicted decrease is below the float32 rounding of f and w, that
 * left f unchanged, or that w + s rounds to w) or hess_vec returned a
 * non-finite product at the start of a step. converged is 1 exactly when
 * the reason is "gradient small enough" (the test comes first).
 * Errors, w and *result untouched: SR_ERR_INVALID_ARG (NULL w, p, fgrad or
 * hess_vec, n == 0, max_iter == 0, eps not positive and finite),
 * SR_ERR_NOMEM, SR_ERR_DIVERGED (f or its gradient not finite at the
 * start). A trial point where f or the gradient is not finite is rejected.
 *
 * Memory: 5 n-vectors of float plus w, 6 with hess_diag.
 * Deterministic: reductions over n run in blocks of 4096 elements, each
 * summed in order in double, the block sums added in block order; blocks
 * and element-wise updates run on OpenMP threads, and the result has the
 * same bits for any thread count (given callbacks that do). */
sr_status sr_newton_minimize(float *w, const sr_newton_problem *p,
                             size_t max_iter, double eps,
                             sr_iteration_fn progress, void *user,
                             sr_newton_result *result, sr_error *err);

/* ---- Least squares ------------------------------------------------------ */

/* X is (m, n), Y is (m, t), W is (n, t), b is (t).
 *
 * W and b minimise the SUM form
 *     1/2 ||X W + 1 b^T - Y||_F^2 + l2/2 ||W||_F^2
 * (b is not decayed; b NULL = no bias, the model is X W). A training
 * objective written as a mean over examples,
 *     1/2 mean_i ||x_i W + b - y_i||^2 + lambda/2 ||W||^2,
 * has the same minimiser with l2 = m * lambda.
 *
 * Solved in double (never the normal equations): with a bias, X and Y
 * are centred by their column means and b = mean(Y) - mean(X) W. Wide
 * data (m < n): one SVD (LAPACK's dgelsd) of [X; sqrt(l2) I] W = [Y; 0].
 * Tall data: the rows go in blocks of SR_LSTSQ_BLOCK, each reduced from zero to the
 * triangular factor R of its QR factorisation (with Q^T Y), the blocks'
 * factors folded in block order (the R of [R; R_b]); with l2 > 0 the rows
 * sqrt(l2) I are folded in last; then R W = Q^T Y is solved by LAPACK's
 * SVD-based dgelsd. Singular values below 1e-12 times the largest are
 * treated as zero, so a rank-deficient X (duplicate or constant columns,
 * m < n) gives the minimum-norm W.
 *
 * Errors, W and b untouched: SR_ERR_INVALID_ARG (NULL X, Y or W, m, n or t
 * zero, l2 negative or not finite, a non-finite entry of X or Y),
 * SR_ERR_TOO_BIG (sizes beyond LAPACK's int or size_t), SR_ERR_NOMEM,
 * SR_ERR_DIVERGED (the SVD did not converge, or the solution does not fit in
 * float32). Memory: tall, about 8 (SR_LSTSQ_BLOCK + 4 n) (n + t) bytes
 * plus LAPACK's workspace, whatever m; wide, 8 (m + n) (n + t). */
sr_status sr_lstsq_solve(const float *X, size_t m, size_t n, const float *Y,
                         size_t t, double l2, float *W, float *b,
                         sr_error *err);

/* The same in parts, for rows that arrive in blocks (train/run_full.c,
 * across processes: dist/dist.h). A factor R (n x n, upper triangular,
 * column-major) with Q^T Y's first n rows c (n x t, column-major); zero
 * after sr_qr_init. */
#define SR_LSTSQ_BLOCK ((size_t)4096)

typedef struct sr_qr {
    size_t n, t;
    double *R, *c;
} sr_qr;

sr_status sr_qr_init(sr_qr *q, size_t n, size_t t, sr_error *err);
/* A running factor and a block's, both zero; on failure neither is held. */
sr_status sr_qr_init_pair(sr_qr *q, sr_qr *part, size_t n, size_t t,
                          sr_error *err);
void sr_qr_free(sr_qr *q);
/* q becomes the factor of q's rows and `rows` more: X (rows, n) and Y
 * (rows, t) minus their means (NULL: none), checked finite. */
sr_status sr_qr_add_rows(sr_qr *q, const float *X, const float *Y,
                         size_t rows, const double *xmean,
                         const double *ymean, sr_error *err);
/* q becomes the factor of q's rows and then part's. */
sr_status sr_qr_fold(sr_qr *q, const sr_qr *part, sr_error *err);
/* W (n, t) and b (t, or NULL) from the factor of every row, as
 * sr_lstsq_solve's. */
sr_status sr_qr_solve(const sr_qr *q, double l2, const double *xmean,
                      const double *ymean, float *W, float *b, sr_error *err);
/* xsum += the column sums of X (rows, n), ysum of Y (rows, t), in row
 * order. */
void sr_lstsq_means(const float *X, const float *Y, size_t rows, size_t n,
                    size_t t, double *xsum, double *ysum);

#endif
