/* Least squares and ridge regression in closed form through LAPACK's dgelsd
 * (SVD by divide and conquer), in double. Letters: m examples, n features,
 * t targets; M = m (+ n with ridge) rows of the system actually solved. */
#include <dlfcn.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../core/internal.h"
#include "optim.h"

/* LAPACK's Fortran interface (LP64: INTEGER is int). A and B are
 * column-major; B (ldb, nrhs) holds the right-hand sides on entry and the
 * solutions in its first n rows on exit. */
typedef void dgelsd_fn(const int *m, const int *n, const int *nrhs,
                       double *a, const int *lda, double *b, const int *ldb,
                       double *s, const double *rcond, int *rank,
                       double *work, const int *lwork, int *iwork, int *info);

/* LAPACK is opened on first use, not linked: where it is OpenBLAS, its
 * constructor starts a thread per core that spins in sched_yield for a
 * while, taking a core from training that never solves least squares
 * (15% of the course's softmax run on a 2-core machine). */
static const char *const LAPACK_NAMES[] = {"liblapack.so.3", "liblapack.so"};
static pthread_once_t lapack_once = PTHREAD_ONCE_INIT;
static dgelsd_fn *dgelsd_ptr;
static char lapack_error[256];

static void lapack_open(void)
{
    for (size_t i = 0; i < sizeof LAPACK_NAMES / sizeof *LAPACK_NAMES; i++) {
        void *lib = dlopen(LAPACK_NAMES[i], RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            const char *why = dlerror();
            if (i == 0)
                snprintf(lapack_error, sizeof lapack_error, "%s",
                         why ? why : LAPACK_NAMES[i]);
            continue;
        }
        void *sym = dlsym(lib, "dgelsd_");
        if (sym) {
            /* POSIX guarantees this conversion; ISO C has no cast for it. */
            memcpy(&dgelsd_ptr, &sym, sizeof dgelsd_ptr);
            return;
        }
        snprintf(lapack_error, sizeof lapack_error, "%s has no dgelsd_",
                 LAPACK_NAMES[i]);
        dlclose(lib);
    }
}

static dgelsd_fn *lapack_dgelsd(sr_error *err)
{
    pthread_once(&lapack_once, lapack_open);
    if (!dgelsd_ptr)
        sr_fail(err, SR_ERR_IO,
                "lstsq: cannot load LAPACK for the exact solver (%s); "
                "apt-get install liblapack3", lapack_error);
    return dgelsd_ptr;
}

/* Singular values below RCOND * s_max count as zero: the minimum-norm
 * solution for rank-deficient X, robust to the rounding that leaves an
 * exactly dependent column with a singular value of ~1e-16 s_max. */
#define RCOND 1e-12

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

sr_status sr_lstsq_solve(const float *X, size_t m, size_t n, const float *Y,
                         size_t t, double l2, float *W, float *b,
                         sr_error *err)
{
    if (!X || !Y || !W)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lstsq: X, Y and W must not be NULL");
    if (m == 0 || n == 0 || t == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lstsq: empty problem (m = %zu examples, n = %zu "
                       "features, t = %zu targets)", m, n, t);
    if (!(l2 >= 0.0) || !isfinite(l2))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lstsq: l2 = %g must be finite and >= 0", l2);

    size_t rows = m, xsize, ysize, asize, bsize, ldb;
    if (l2 > 0.0 && n > SIZE_MAX - m)
        return sr_fail(err, SR_ERR_TOO_BIG, "lstsq: m + n overflows");
    if (l2 > 0.0)
        rows = m + n;
    ldb = rows > n ? rows : n;
    if (sr_mul_overflows(m, n, &xsize) || sr_mul_overflows(m, t, &ysize) ||
        sr_mul_overflows(rows, n, &asize) || sr_mul_overflows(ldb, t, &bsize) ||
        !fits_int(rows) || !fits_int(n) || !fits_int(t) || !fits_int(ldb) ||
        asize > SIZE_MAX / sizeof(double) || bsize > SIZE_MAX / sizeof(double))
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "lstsq: %zu x %zu problem with %zu targets exceeds "
                       "LAPACK's int sizes or memory", rows, n, t);

    for (size_t i = 0; i < xsize; i++)
        if (!isfinite(X[i]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "lstsq: X[%zu][%zu] is not finite", i / n, i % n);
    for (size_t i = 0; i < ysize; i++)
        if (!isfinite(Y[i]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "lstsq: Y[%zu][%zu] is not finite", i / t, i % t);

    sr_status st = SR_OK;
    double *A = NULL, *B = NULL, *S = NULL, *work = NULL;
    double *xmean = NULL, *ymean = NULL;
    int *iwork = NULL;
    size_t minmn = rows < n ? rows : n;

    A = sr_alloc_zeroed(asize, sizeof *A);
    B = sr_alloc_zeroed(bsize, sizeof *B);
    S = sr_alloc_array(minmn, sizeof *S);
    xmean = sr_alloc_zeroed(n, sizeof *xmean);
    ymean = sr_alloc_zeroed(t, sizeof *ymean);
    if (!A || !B || !S || !xmean || !ymean) {
        st = sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory for a %zu x %zu "
                     "system", rows, n);
        goto done;
    }

    /* With a bias, minimising over b first gives b = ymean - xmean W, and
     * what remains for W is the same problem on centred data; the ridge
     * rows below then decay W alone. */
    if (b) {
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++)
                xmean[j] += X[i * n + j];
            for (size_t c = 0; c < t; c++)
                ymean[c] += Y[i * t + c];
        }
        for (size_t j = 0; j < n; j++)
            xmean[j] /= (double)m;
        for (size_t c = 0; c < t; c++)
            ymean[c] /= (double)m;
    }
    /* A (rows, n) column-major: the centred X, then sqrt(l2) I. */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            A[i + j * rows] = (double)X[i * n + j] - xmean[j];
    for (size_t j = 0; l2 > 0.0 && j < n; j++)
        A[(m + j) + j * rows] = sqrt(l2);
    /* B (ldb, t) column-major: the centred Y, then zeros. */
    for (size_t i = 0; i < m; i++)
        for (size_t c = 0; c < t; c++)
            B[i + c * ldb] = (double)Y[i * t + c] - ymean[c];

    dgelsd_fn *dgelsd_ = lapack_dgelsd(err);
    if (!dgelsd_) {
        st = SR_ERR_IO;
        goto done;
    }
    int im = (int)rows, in = (int)n, it = (int)t, ilda = (int)rows,
        ildb = (int)ldb, rank = 0, info = 0, lwork = -1, iwsize = 0;
    double rcond = RCOND, wsize = 0.0;
    /* Workspace query: the optimal lwork in work[0], the needed liwork in
     * iwork[0]. */
    dgelsd_(&im, &in, &it, A, &ilda, B, &ildb, S, &rcond, &rank, &wsize,
            &lwork, &iwsize, &info);
    if (info != 0) {
        st = sr_fail(err, SR_ERR_INVALID_ARG,
                     "lstsq: LAPACK dgelsd rejected argument %d in its "
                     "workspace query", -info);
        goto done;
    }
    if (!(wsize >= 1.0) || wsize > (double)INT_MAX || iwsize < 1) {
        st = sr_fail(err, SR_ERR_TOO_BIG,
                     "lstsq: LAPACK dgelsd needs a workspace of %g doubles, "
                     "beyond its int sizes", wsize);
        goto done;
    }
    lwork = (int)wsize;
    work = sr_alloc_array((size_t)lwork, sizeof *work);
    iwork = sr_alloc_array((size_t)iwsize, sizeof *iwork);
    if (!work || !iwork) {
        st = sr_fail(err, SR_ERR_NOMEM,
                     "lstsq: out of memory for LAPACK's workspace (%d doubles)",
                     lwork);
        goto done;
    }
    dgelsd_(&im, &in, &it, A, &ilda, B, &ildb, S, &rcond, &rank, work, &lwork,
            iwork, &info);
    if (info < 0) {
        st = sr_fail(err, SR_ERR_INVALID_ARG,
                     "lstsq: LAPACK dgelsd rejected argument %d", -info);
        goto done;
    }
    if (info > 0) {
        st = sr_fail(err, SR_ERR_DIVERGED,
                     "lstsq: the SVD in LAPACK dgelsd did not converge (%d "
                     "off-diagonal elements of a bidiagonal form stayed "
                     "non-zero)", info);
        goto done;
    }

    /* The solution is B's first n rows; b = ymean - xmean W. Check that
     * everything fits in float32 before writing any output. */
    for (size_t c = 0; c < t; c++) {
        double bias = ymean[c];
        for (size_t j = 0; j < n; j++) {
            double w = B[j + c * ldb];
            if (!isfinite(w) || fabs(w) > FLT_MAX) {
                st = sr_fail(err, SR_ERR_DIVERGED,
                             "lstsq: W[%zu][%zu] = %g does not fit in float32",
                             j, c, w);
                goto done;
            }
            bias -= xmean[j] * w;
        }
        if (b && (!isfinite(bias) || fabs(bias) > FLT_MAX)) {
            st = sr_fail(err, SR_ERR_DIVERGED,
                         "lstsq: b[%zu] = %g does not fit in float32", c, bias);
            goto done;
        }
        ymean[c] = bias;
    }
    for (size_t j = 0; j < n; j++)
        for (size_t c = 0; c < t; c++)
            W[j * t + c] = (float)B[j + c * ldb];
    if (b)
        for (size_t c = 0; c < t; c++)
            b[c] = (float)ymean[c];

done:
    sr_dealloc(iwork);
    sr_dealloc(work);
    sr_dealloc(ymean);
    sr_dealloc(xmean);
    sr_dealloc(S);
    sr_dealloc(B);
    sr_dealloc(A);
    return st;
}
