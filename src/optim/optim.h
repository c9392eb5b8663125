/* Full-batch optimisers: L-BFGS over liblbfgs and least squares over LAPACK.
 * Not part of the public API. Letters: m examples, n features (or, for
 * L-BFGS, parameters), t targets. Matrices are row-major float32. */
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
 * Solved in double by LAPACK's SVD-based dgelsd (never the normal
 * equations): with a bias, X and Y are centred by their column means and
 * b = mean(Y) - mean(X) W; with l2 > 0 the system is augmented to
 * [X; sqrt(l2) I] W = [Y; 0]. Singular values below 1e-12 times the largest
 * are treated as zero, so a rank-deficient X (duplicate or constant columns,
 * m < n) gives the minimum-norm W.
 *
 * Errors, W and b untouched: SR_ERR_INVALID_ARG (NULL X, Y or W, m, n or t
 * zero, l2 negative or not finite, a non-finite entry of X or Y),
 * SR_ERR_TOO_BIG (sizes beyond LAPACK's int or size_t), SR_ERR_NOMEM,
 * SR_ERR_DIVERGED (the SVD did not converge, or the solution does not fit in
 * float32). Memory: about 8 (m + n) n + 8 max(m + n, n) t bytes plus
 * LAPACK's workspace. */
sr_status sr_lstsq_solve(const float *X, size_t m, size_t n, const float *Y,
                         size_t t, double l2, float *W, float *b,
                         sr_error *err);

#endif
