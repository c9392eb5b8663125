/* Least squares and ridge regression in closed form through LAPACK, in
 * double: the rows in blocks, each block reduced to its triangular factor
 * by a QR factorisation (dgeqrf, dormqr), the factors folded in block
 * order, then the small triangular system solved by SVD (dgelsd). Never
 * the normal equations: the QR factors keep X's singular values, where
 * X^T X squares its condition number. Letters: m examples, n features, t
 * targets. */
#include <dlfcn.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/internal.h"
#include "optim.h"

/* LAPACK's Fortran interface (LP64: INTEGER is int), column-major. */
typedef void dgelsd_fn(const int *m, const int *n, const int *nrhs,
                       double *a, const int *lda, double *b, const int *ldb,
                       double *s, const double *rcond, int *rank,
                       double *work, const int *lwork, int *iwork, int *info);
typedef void dgeqrf_fn(const int *m, const int *n, double *a, const int *lda,
                       double *tau, double *work, const int *lwork,
                       int *info);
typedef void dormqr_fn(const char *side, const char *trans, const int *m,
                       const int *n, const int *k, const double *a,
                       const int *lda, const double *tau, double *c,
                       const int *ldc, double *work, const int *lwork,
                       int *info, size_t side_len, size_t trans_len);

/* LAPACK is opened on first use, not linked: where it is OpenBLAS, its
 * constructor starts a thread per core that spins in sched_yield for a
 * while, taking a core from training that never solves least squares
 * (15% of the course's softmax run on a 2-core machine). */
static const char *const LAPACK_NAMES[] = {"liblapack.so.3", "liblapack.so"};
static pthread_once_t lapack_once = PTHREAD_ONCE_INIT;
static dgelsd_fn *dgelsd_ptr;
static dgeqrf_fn *dgeqrf_ptr;
static dormqr_fn *dormqr_ptr;
static char lapack_error[256];

/* POSIX guarantees the conversion of dlsym's pointer; ISO C has no cast
 * for it. */
static int find(void *lib, const char *name, void *fn, size_t size)
{
    void *sym = dlsym(lib, name);
    if (sym)
        memcpy(fn, &sym, size);
    return sym != NULL;
}

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
        if (find(lib, "dgelsd_", &dgelsd_ptr, sizeof dgelsd_ptr) &&
            find(lib, "dgeqrf_", &dgeqrf_ptr, sizeof dgeqrf_ptr) &&
            find(lib, "dormqr_", &dormqr_ptr, sizeof dormqr_ptr))
            return;
        dgelsd_ptr = NULL;
        snprintf(lapack_error, sizeof lapack_error,
                 "%s lacks dgelsd_, dgeqrf_ or dormqr_", LAPACK_NAMES[i]);
        dlclose(lib);
    }
}

static sr_status lapack_ready(sr_error *err)
{
    pthread_once(&lapack_once, lapack_open);
    if (!dgelsd_ptr)
        return sr_fail(err, SR_ERR_IO,
                       "lstsq: cannot load LAPACK for the exact solver (%s); "
                       "apt-get install liblapack3", lapack_error);
    return SR_OK;
}

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

sr_status sr_qr_init(sr_qr *q, size_t n, size_t t, sr_error *err)
{
    size_t nn, nt;
    memset(q, 0, sizeof *q);
    if (n == 0 || t == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lstsq: empty problem (n = %zu features, t = %zu "
                       "targets)", n, t);
    if (sr_mul_overflows(n, n, &nn) || sr_mul_overflows(n, t, &nt) ||
        !fits_int(n) || !fits_int(t) || nn > SIZE_MAX / sizeof(double) / 2)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "lstsq: %zu features and %zu targets exceed LAPACK's "
                       "int sizes or memory", n, t);
    /* A factor, a block's stack and LAPACK's copy: about three n x n
     * arrays of doubles, which wide sparse data cannot afford. */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double need = 3.0 * (double)nn * sizeof(double);
    if (pages > 0 && page > 0 && need > (double)pages * (double)page)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "lstsq: the exact solver's %zu x %zu factor needs "
                       "about %.3g GB, more than this machine's memory; "
                       "--optimizer lbfgs or newton need memory in "
                       "proportion to the features", n, n, need / 1e9);
    q->n = n;
    q->t = t;
    if (!(q->R = sr_alloc_zeroed(nn, sizeof *q->R)) ||
        !(q->c = sr_alloc_zeroed(nt, sizeof *q->c))) {
        sr_qr_free(q);
        return sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory for a %zu x "
                       "%zu triangular factor", n, n);
    }
    return SR_OK;
}

sr_status sr_qr_init_pair(sr_qr *q, sr_qr *part, size_t n, size_t t,
                          sr_error *err)
{
    sr_status st = sr_qr_init(q, n, t, err);
    if (st == SR_OK && (st = sr_qr_init(part, n, t, err)) != SR_OK)
        sr_qr_free(q);
    return st;
}

void sr_qr_free(sr_qr *q)
{
    sr_dealloc(q->R);
    sr_dealloc(q->c);
    q->R = q->c = NULL;
}

/* q's factor and the rows below it in S (ld rows in all: q's n, then
 * `below`; column-major, n columns), with their right-hand sides in T (ld
 * rows, t columns): q becomes the R of [q.R; below] = Q R and the first n
 * rows of Q^T [q.c; their sides]. S and T are overwritten. */
static sr_status qr_stack(sr_qr *q, double *S, double *T, size_t below,
                          sr_error *err)
{
    sr_status st = lapack_ready(err);
    if (st != SR_OK)
        return st;
    size_t n = q->n, t = q->t, ld = n + below;
    if (!fits_int(ld))
        return sr_fail(err, SR_ERR_TOO_BIG, "lstsq: a block of %zu rows "
                       "exceeds LAPACK's int sizes", below);
    for (size_t j = 0; j < n; j++)
        memcpy(S + j * ld, q->R + j * n, n * sizeof *S);
    for (size_t c = 0; c < t; c++)
        memcpy(T + c * ld, q->c + c * n, n * sizeof *T);
    int im = (int)ld, in = (int)n, it = (int)t, info = 0, lwork = -1;
    double w1 = 0.0, w2 = 0.0;
    double *tau = sr_alloc_array(n, sizeof *tau), *work = NULL;
    if (!tau)
        return sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory");
    /* workspace queries, then the factorisation and Q^T applied */
    dgeqrf_ptr(&im, &in, S, &im, tau, &w1, &lwork, &info);
    if (info == 0)
        dormqr_ptr("L", "T", &im, &it, &in, S, &im, tau, T, &im, &w2, &lwork,
                   &info, 1, 1);
    double need = w1 > w2 ? w1 : w2;
    if (info != 0 || !(need >= 1.0) || need > (double)INT_MAX) {
        st = sr_fail(err, SR_ERR_TOO_BIG, "lstsq: LAPACK's QR refused a %zu "
                     "x %zu block (info %d)", ld, n, info);
        goto done;
    }
    lwork = (int)need;
    if (!(work = sr_alloc_array((size_t)lwork, sizeof *work))) {
        st = sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory for LAPACK's "
                     "workspace (%d doubles)", lwork);
        goto done;
    }
    dgeqrf_ptr(&im, &in, S, &im, tau, work, &lwork, &info);
    if (info == 0)
        dormqr_ptr("L", "T", &im, &it, &in, S, &im, tau, T, &im, work,
                   &lwork, &info, 1, 1);
    if (info != 0) {
        st = sr_fail(err, SR_ERR_INVALID_ARG, "lstsq: LAPACK's QR rejected "
                     "argument %d", -info);
        goto done;
    }
    /* R is the upper triangle; below it dgeqrf keeps its reflectors */
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++)
            q->R[i + j * n] = i <= j ? S[i + j * ld] : 0.0;
    for (size_t c = 0; c < t; c++)
        memcpy(q->c + c * n, T + c * ld, n * sizeof *T);
done:
    sr_dealloc(work);
    sr_dealloc(tau);
    return st;
}

/* Room for a stack of q's n rows and `below` more: S (n columns) and T
 * (t columns), zeroed. */
static sr_status stack_alloc(const sr_qr *q, size_t below, double **S,
                             double **T, sr_error *err)
{
    size_t ld = q->n + below, ss, ts;
    *S = *T = NULL;
    if (below > SIZE_MAX - q->n || sr_mul_overflows(ld, q->n, &ss) ||
        sr_mul_overflows(ld, q->t, &ts) || ss > SIZE_MAX / sizeof(double))
        return sr_fail(err, SR_ERR_TOO_BIG, "lstsq: a %zu x %zu block is "
                       "too big", ld, q->n);
    *S = sr_alloc_zeroed(ss, sizeof **S);
    *T = sr_alloc_zeroed(ts, sizeof **T);
    if (!*S || !*T) {
        sr_dealloc(*S);
        sr_dealloc(*T);
        return sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory for a %zu x "
                       "%zu block", ld, q->n);
    }
    return SR_OK;
}

sr_status sr_qr_add_rows(sr_qr *q, const float *X, const float *Y,
                         size_t rows, const double *xmean,
                         const double *ymean, sr_error *err)
{
    size_t n = q->n, t = q->t, ld = n + rows;
    for (size_t i = 0; i < rows * n; i++)
        if (!isfinite(X[i]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "lstsq: X[%zu][%zu] is not finite", i / n, i % n);
    for (size_t i = 0; i < rows * t; i++)
        if (!isfinite(Y[i]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "lstsq: Y[%zu][%zu] is not finite", i / t, i % t);
    double *S, *T;
    sr_status st = stack_alloc(q, rows, &S, &T, err);
    if (st != SR_OK)
        return st;
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < n; j++)
            S[n + i + j * ld] =
                (double)X[i * n + j] - (xmean ? xmean[j] : 0.0);
        for (size_t c = 0; c < t; c++)
            T[n + i + c * ld] =
                (double)Y[i * t + c] - (ymean ? ymean[c] : 0.0);
    }
    st = qr_stack(q, S, T, rows, err);
    sr_dealloc(S);
    sr_dealloc(T);
    return st;
}

sr_status sr_qr_fold(sr_qr *q, const sr_qr *part, sr_error *err)
{
    size_t n = q->n, t = q->t, ld = 2 * n;
    double *S, *T;
    sr_status st = stack_alloc(q, n, &S, &T, err);
    if (st != SR_OK)
        return st;
    for (size_t j = 0; j < n; j++)
        memcpy(S + n + j * ld, part->R + j * n, n * sizeof *S);
    for (size_t c = 0; c < t; c++)
        memcpy(T + n + c * ld, part->c + c * n, n * sizeof *T);
    st = qr_stack(q, S, T, n, err);
    sr_dealloc(S);
    sr_dealloc(T);
    return st;
}

/* Singular values below RCOND * s_max count as zero: the minimum-norm
 * solution for rank-deficient X, robust to the rounding that leaves an
 * exactly dependent column with a singular value of ~1e-16 s_max. R has
 * X's singular values. */
#define RCOND 1e-12

/* The minimum-norm least-squares solution of A X = B by LAPACK's dgelsd:
 * A (rows, n) and B (ldb, t) column-major, overwritten; the solution in
 * B's first n rows. */
static sr_status svd_solve(size_t rows, size_t n, size_t t, double *A,
                           double *B, size_t ldb, sr_error *err)
{
    sr_status st = lapack_ready(err);
    if (st != SR_OK)
        return st;
    size_t minmn = rows < n ? rows : n;
    double *S = sr_alloc_array(minmn ? minmn : 1, sizeof *S), *work = NULL;
    int *iwork = NULL;
    if (!S)
        return sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory");
    int im = (int)rows, in = (int)n, it = (int)t, ildb = (int)ldb, rank = 0,
        info = 0, lwork = -1, iwsize = 0;
    double rcond = RCOND, wsize = 0.0;
    /* Workspace query: the optimal lwork in work[0], the needed liwork in
     * iwork[0]. */
    dgelsd_ptr(&im, &in, &it, A, &im, B, &ildb, S, &rcond, &rank, &wsize,
               &lwork, &iwsize, &info);
    if (info != 0 || !(wsize >= 1.0) || wsize > (double)INT_MAX ||
        iwsize < 1) {
        st = sr_fail(err, SR_ERR_TOO_BIG,
                     "lstsq: LAPACK dgelsd refused a %zu x %zu system (info "
                     "%d, workspace %g doubles)", rows, n, info, wsize);
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
    dgelsd_ptr(&im, &in, &it, A, &im, B, &ildb, S, &rcond, &rank, work,
               &lwork, iwork, &info);
    if (info < 0)
        st = sr_fail(err, SR_ERR_INVALID_ARG,
                     "lstsq: LAPACK dgelsd rejected argument %d", -info);
    else if (info > 0)
        st = sr_fail(err, SR_ERR_DIVERGED,
                     "lstsq: the SVD in LAPACK dgelsd did not converge (%d "
                     "off-diagonal elements of a bidiagonal form stayed "
                     "non-zero)", info);
done:
    sr_dealloc(iwork);
    sr_dealloc(work);
    sr_dealloc(S);
    return st;
}

/* W and b from the solution in B's first n rows (column-major, ldb):
 * b = ymean - xmean W. Everything is checked to fit in float32 before any
 * output is written. */
static sr_status write_solution(const double *B, size_t ldb, size_t n,
                                size_t t, const double *xmean,
                                const double *ymean, float *W, float *b,
                                sr_error *err)
{
    double *bias = sr_alloc_array(t, sizeof *bias);
    if (!bias)
        return sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory");
    sr_status st = SR_OK;
    for (size_t c = 0; c < t && st == SR_OK; c++) {
        bias[c] = ymean ? ymean[c] : 0.0;
        for (size_t j = 0; j < n && st == SR_OK; j++) {
            double w = B[j + c * ldb];
            if (!isfinite(w) || fabs(w) > FLT_MAX)
                st = sr_fail(err, SR_ERR_DIVERGED,
                             "lstsq: W[%zu][%zu] = %g does not fit in float32",
                             j, c, w);
            bias[c] -= (xmean ? xmean[j] : 0.0) * w;
        }
        if (st == SR_OK && b && (!isfinite(bias[c]) || fabs(bias[c]) > FLT_MAX))
            st = sr_fail(err, SR_ERR_DIVERGED,
                         "lstsq: b[%zu] = %g does not fit in float32", c,
                         bias[c]);
    }
    if (st == SR_OK) {
        for (size_t j = 0; j < n; j++)
            for (size_t c = 0; c < t; c++)
                W[j * t + c] = (float)B[j + c * ldb];
        for (size_t c = 0; b && c < t; c++)
            b[c] = (float)bias[c];
    }
    sr_dealloc(bias);
    return st;
}

sr_status sr_qr_solve(const sr_qr *q, double l2, const double *xmean,
                      const double *ymean, float *W, float *b, sr_error *err)
{
    if (!(l2 >= 0.0) || !isfinite(l2))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "lstsq: l2 = %g must be finite and >= 0", l2);
    size_t n = q->n, t = q->t;
    sr_qr last;
    sr_status st = sr_qr_init(&last, n, t, err);
    if (st != SR_OK)
        return st;
    memcpy(last.R, q->R, n * n * sizeof *last.R);
    memcpy(last.c, q->c, n * t * sizeof *last.c);
    /* ridge: sqrt(l2) I below R, zeros below c, folded in last */
    if (l2 > 0.0) {
        sr_qr ridge;
        if ((st = sr_qr_init(&ridge, n, t, err)) != SR_OK)
            goto done;
        for (size_t j = 0; j < n; j++)
            ridge.R[j + j * n] = sqrt(l2);
        st = sr_qr_fold(&last, &ridge, err);
        sr_qr_free(&ridge);
    }
    /* R W = c (dgelsd overwrites last's copies) */
    if (st == SR_OK)
        st = svd_solve(n, n, t, last.R, last.c, n, err);
    if (st == SR_OK)
        st = write_solution(last.c, n, n, t, xmean, ymean, W, b, err);
done:
    sr_qr_free(&last);
    return st;
}

/* Wide data (fewer rows than features): one SVD of the centred rows
 * themselves, [X; sqrt(l2) I] W = [Y; 0], in O(m^2 n) time and m n
 * doubles, where the blocks' n x n factors would cost O(n^3) and n^2. */
static sr_status lstsq_direct(const float *X, size_t m, size_t n,
                              const float *Y, size_t t, double l2, float *W,
                              float *b, sr_error *err)
{
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
    double *A = sr_alloc_zeroed(asize, sizeof *A);
    double *B = sr_alloc_zeroed(bsize, sizeof *B);
    double *xmean = sr_alloc_zeroed(n, sizeof *xmean);
    double *ymean = sr_alloc_zeroed(t, sizeof *ymean);
    if (!A || !B || !xmean || !ymean) {
        st = sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory for a %zu x %zu "
                     "system", rows, n);
        goto done;
    }
    /* With a bias, minimising over b first gives b = ymean - xmean W, and
     * what remains for W is the same problem on centred data; the ridge
     * rows below then decay W alone. */
    if (b) {
        sr_lstsq_means(X, Y, m, n, t, xmean, ymean);
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
    st = svd_solve(rows, n, t, A, B, ldb, err);
    if (st == SR_OK)
        st = write_solution(B, ldb, n, t, b ? xmean : NULL, b ? ymean : NULL,
                            W, b, err);
done:
    sr_dealloc(ymean);
    sr_dealloc(xmean);
    sr_dealloc(B);
    sr_dealloc(A);
    return st;
}

void sr_lstsq_means(const float *X, const float *Y, size_t rows, size_t n,
                    size_t t, double *xsum, double *ysum)
{
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < n; j++)
            xsum[j] += X[i * n + j];
        for (size_t c = 0; c < t; c++)
            ysum[c] += Y[i * t + c];
    }
}

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
    size_t xsize, ysize;
    if (sr_mul_overflows(m, n, &xsize) || sr_mul_overflows(m, t, &ysize) ||
        xsize > SIZE_MAX / sizeof(float) || ysize > SIZE_MAX / sizeof(float))
        return sr_fail(err, SR_ERR_TOO_BIG, "lstsq: a %zu x %zu problem with "
                       "%zu targets exceeds memory", m, n, t);
    if (m < n)
        return lstsq_direct(X, m, n, Y, t, l2, W, b, err);
    sr_qr q, part;
    sr_status st = sr_qr_init_pair(&q, &part, n, t, err);
    if (st != SR_OK)
        return st;
    double *xmean = sr_alloc_zeroed(n, sizeof *xmean);
    double *ymean = sr_alloc_zeroed(t, sizeof *ymean);
    if (!xmean || !ymean) {
        st = sr_fail(err, SR_ERR_NOMEM, "lstsq: out of memory");
        goto done;
    }
    /* With a bias, minimising over b first gives b = ymean - xmean W, and
     * what remains for W is the same problem on centred data; the ridge
     * rows then decay W alone. */
    if (b) {
        sr_lstsq_means(X, Y, m, n, t, xmean, ymean);
        for (size_t j = 0; j < n; j++)
            xmean[j] /= (double)m;
        for (size_t c = 0; c < t; c++)
            ymean[c] /= (double)m;
    }
    /* each block's factor from zero, folded in block order */
    for (size_t r0 = 0; r0 < m && st == SR_OK; r0 += SR_LSTSQ_BLOCK) {
        size_t rows = m - r0 < SR_LSTSQ_BLOCK ? m - r0 : SR_LSTSQ_BLOCK;
        memset(part.R, 0, n * n * sizeof *part.R);
        memset(part.c, 0, n * t * sizeof *part.c);
        st = sr_qr_add_rows(&part, X + r0 * n, Y + r0 * t, rows,
                            b ? xmean : NULL, b ? ymean : NULL, err);
        if (st == SR_OK)
            st = sr_qr_fold(&q, &part, err);
    }
    if (st == SR_OK)
        st = sr_qr_solve(&q, l2, b ? xmean : NULL, b ? ymean : NULL, W, b,
                         err);
done:
    sr_dealloc(xmean);
    sr_dealloc(ymean);
    sr_qr_free(&part);
    sr_qr_free(&q);
    return st;
}
