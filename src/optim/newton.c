/* Trust-region Newton-CG (truncated Newton), after Lin, Weng & Keerthi
 * (2008), "Trust region Newton method for large-scale logistic
 * regression", with the trust region and radius rules of Lin & More's TRON
 * (1999), the quadratic-model CG stopping rule of Nash & Sofer (1990) and
 * an optional diagonal preconditioner (Hsia, Chiang & Lin 2018). Written
 * from the mathematics; the contract is in optim.h.
 *
 * Letters: n parameters; w the point, g its gradient, H the Hessian there,
 * M the diagonal metric (the identity without hess_diag), s the step,
 * r = -g - H s the residual of the Newton system H s = -g, d the CG
 * direction, Hd = H d, z = M^-1 r the preconditioned residual (never
 * stored: computed element by element where it is used), delta the trust
 * region's radius in the M-norm ||s||_M = sqrt(s'Ms).
 *
 * All n-vectors are float32; every reduction over n runs through reduce(),
 * in fixed blocks whose double sums are added in block order, so the bits
 * do not depend on the thread count. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "../core/internal.h"
#include "optim.h"

#ifdef _OPENMP
/* `parallel` is a local of the function using it. */
#define OMP_BLOCKS _Pragma("omp parallel for schedule(static) if (parallel)")
#else
#define OMP_BLOCKS
#endif

#define BLOCK 4096 /* elements per reduction block */
#define GROUP 256  /* blocks whose sums are held at once, on the stack */
#define NSUM 4     /* sums one pass can return */

/* Trust region (TRON's values): a step is accepted when the actual
 * decrease is more than ETA0 of the predicted one; ETA1 and ETA2 separate
 * poor, fair and good agreement; SIGMA1..3 bound the radius updates. */
#define ETA0 1e-4
#define ETA1 0.25
#define ETA2 0.75
#define SIGMA1 0.25
#define SIGMA2 0.5
#define SIGMA3 4.0
/* CG stops after step j once j (q_{j-1} - q_j) <= CG_TOL |q_j| (Nash &
 * Sofer's value). */
#define CG_TOL 0.5
/* M = (1 - MIX) max(diag H, 0) + MIX mean(max(diag H, 0)). */
#define MIX 0.01

/* What one pass over the vectors does; each reads and writes only what its
 * comment names, element by element, and returns up to NSUM sums. */
typedef enum pass {
    PASS_CG_START,  /* s = 0, r = -g, d = z; sums r'z */
    PASS_CURVATURE, /* sums d'Hd, s'Ms, s'Md, d'Md */
    PASS_STEP,      /* s += a d, r -= a Hd; sums r'z */
    PASS_DIRECTION, /* d = z + a d */
    PASS_MODEL,     /* sums s'g, s'r, s'Ms */
    PASS_TRIAL,     /* t = w + s in float32; sums the elements t != w */
    PASS_GRADIENT,  /* sums g'g, |g|'|w| */
    PASS_DUAL_NORM, /* sums g'M^-1 g */
    PASS_DIAG,      /* M = max(M, 0); sums M, the non-finite entries */
    PASS_MIX,       /* M = (1 - MIX) M + a */
    PASS_IDENTITY,  /* M = 1 */
} pass;

typedef struct vecs {
    const float *g, *w; /* a gradient and its point (the current ones, or
                           the trial's) */
    float *s, *r, *d, *Hd, *t;
    float *M;           /* NULL: the identity */
    double a;           /* the scalar of STEP, DIRECTION and MIX */
} vecs;

static void block(pass op, const vecs *v, size_t lo, size_t hi,
                  double sum[NSUM])
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const float *g = v->g, *w = v->w, *Hd = v->Hd;
    float *s = v->s, *r = v->r, *d = v->d, *t = v->t, *M = v->M;
    double a = v->a;
    switch (op) {
    case PASS_CG_START:
        for (size_t i = lo; i < hi; i++) {
            float ri = -g[i], zi = M ? ri / M[i] : ri;
            s[i] = 0.0f;
            r[i] = ri;
            d[i] = zi;
            s0 += (double)ri * zi;
        }
        break;
    case PASS_CURVATURE:
        for (size_t i = lo; i < hi; i++) {
            double mi = M ? M[i] : 1.0;
            s0 += (double)d[i] * Hd[i];
            s1 += mi * s[i] * s[i];
            s2 += mi * s[i] * d[i];
            s3 += mi * d[i] * d[i];
        }
        break;
    case PASS_STEP:
        for (size_t i = lo; i < hi; i++) {
            s[i] = (float)(s[i] + a * d[i]);
            float ri = (float)(r[i] - a * Hd[i]);
            r[i] = ri;
            s0 += (double)ri * (M ? ri / M[i] : ri);
        }
        break;
    case PASS_DIRECTION:
        for (size_t i = lo; i < hi; i++)
            d[i] = (float)((M ? r[i] / M[i] : r[i]) + a * d[i]);
        break;
    case PASS_MODEL:
        for (size_t i = lo; i < hi; i++) {
            s0 += (double)s[i] * g[i];
            s1 += (double)s[i] * r[i];
            s2 += (M ? M[i] : 1.0) * s[i] * s[i];
        }
        break;
    case PASS_TRIAL:
        for (size_t i = lo; i < hi; i++) {
            t[i] = w[i] + s[i];
            s0 += t[i] != w[i];
        }
        break;
    case PASS_GRADIENT:
        for (size_t i = lo; i < hi; i++) {
            s0 += (double)g[i] * g[i];
            s1 += fabs((double)g[i] * w[i]);
        }
        break;
    case PASS_DUAL_NORM:
        for (size_t i = lo; i < hi; i++)
            s0 += (double)g[i] * (M ? g[i] / M[i] : g[i]);
        break;
    case PASS_DIAG:
        for (size_t i = lo; i < hi; i++) {
            if (!isfinite(M[i]))
                s1 += 1;
            else if (M[i] < 0.0f)
                M[i] = 0.0f;
            s0 += M[i];
        }
        break;
    case PASS_MIX:
        for (size_t i = lo; i < hi; i++)
            M[i] = (float)((1.0 - MIX) * M[i] + a);
        break;
    case PASS_IDENTITY:
        for (size_t i = lo; i < hi; i++)
            M[i] = 1.0f;
        break;
    }
    sum[0] = s0;
    sum[1] = s1;
    sum[2] = s2;
    sum[3] = s3;
}

/* Runs `op` over [0, n) in blocks of BLOCK, the blocks in parallel, and
 * adds their sums into total[] in block order. */
static void reduce(pass op, const vecs *v, size_t n, double total[NSUM])
{
    size_t nblocks = (n + BLOCK - 1) / BLOCK;
    for (int k = 0; k < NSUM; k++)
        total[k] = 0;
    for (size_t first = 0; first < nblocks; first += GROUP) {
        size_t count = nblocks - first < GROUP ? nblocks - first : GROUP;
        double part[GROUP][NSUM];
        int parallel = count > 1;
        (void)parallel;
        OMP_BLOCKS
        for (size_t b = 0; b < count; b++) {
            size_t lo = (first + b) * BLOCK;
            size_t hi = n - lo < BLOCK ? n : lo + BLOCK;
            block(op, v, lo, hi, part[b]);
        }
        for (size_t b = 0; b < count; b++)
            for (int k = 0; k < NSUM; k++)
                total[k] += part[b][k];
    }
}

/* The tau >= 0 with ||s + tau d||_M = delta, from sMs = s'Ms, sMd, dMd
 * (written to avoid cancellation). */
static double to_boundary(double sMs, double sMd, double dMd, double delta)
{
    double room = delta * delta - sMs;
    if (room < 0)
        room = 0;
    double root = sqrt(sMd * sMd + dMd * room);
    if (sMd >= 0)
        return root + sMd > 0 ? room / (root + sMd) : 0;
    return (root - sMd) / dMd;
}

/* Approximately minimises q(s) = g's + 1/2 s'Hs over ||s||_M <= delta from
 * s = 0 by preconditioned CG; leaves s, r = -g - Hs (by recurrence) and d,
 * Hd used. Returns the number of hess_vec calls; *bad is set when H d was
 * not finite (s is then the last good iterate). */
static size_t conjugate_gradient(const sr_newton_problem *p, vecs *v,
                                 double delta, int *bad)
{
    size_t n = p->n, steps = 0, max_steps = n < 10 ? 10 : n;
    double sum[NSUM];
    reduce(PASS_CG_START, v, n, sum);
    double rz = sum[0], q = 0;
    *bad = 0;
    while (rz > 0 && steps < max_steps) {
        p->hess_vec(p->ctx, v->d, v->Hd);
        steps++;
        reduce(PASS_CURVATURE, v, n, sum);
        double dHd = sum[0], sMs = sum[1], sMd = sum[2], dMd = sum[3];
        if (!isfinite(dHd) || !(dMd > 0)) {
            *bad = !isfinite(dHd);
            break;
        }
        double alpha = rz / dHd;
        if (dHd <= 0 ||
            sMs + 2 * alpha * sMd + alpha * alpha * dMd >= delta * delta) {
            /* Outside the region, or no positive curvature along d: the
             * model decreases up to the boundary, which ends the step. */
            v->a = to_boundary(sMs, sMd, dMd, delta);
            reduce(PASS_STEP, v, n, sum);
            break;
        }
        v->a = alpha;
        reduce(PASS_STEP, v, n, sum);
        double rz_next = sum[0];
        /* q falls by alpha r'z / 2 along d (the CG identities). */
        double q_next = q - 0.5 * alpha * rz;
        if ((double)steps * (q - q_next) <= CG_TOL * -q_next)
            break;
        q = q_next;
        v->a = rz_next / rz;
        reduce(PASS_DIRECTION, v, n, sum);
        rz = rz_next;
    }
    return steps;
}

/* Reads H's diagonal into M through hess_diag and turns it into the
 * metric: (1 - MIX) max(diag, 0) + MIX mean, or the identity where the
 * diagonal is not finite or all 0. */
static void set_metric(const sr_newton_problem *p, vecs *v)
{
    double sum[NSUM];
    p->hess_diag(p->ctx, v->M);
    reduce(PASS_DIAG, v, p->n, sum);
    double mean = sum[0] / (double)p->n;
    if (sum[1] > 0 || !(mean > 0) || !isfinite(mean)) {
        reduce(PASS_IDENTITY, v, p->n, sum);
        return;
    }
    v->a = MIX * mean;
    reduce(PASS_MIX, v, p->n, sum);
}

sr_status sr_newton_minimize(float *w, const sr_newton_problem *p,
                             size_t max_iter, double eps,
                             sr_iteration_fn progress, void *user,
                             sr_newton_result *result, sr_error *err)
{
    if (!w || !p || !p->fgrad || !p->hess_vec)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "newton: w, p, p->fgrad and p->hess_vec must not be "
                       "NULL");
    if (p->n == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "newton: no parameters (n = 0)");
    if (max_iter == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "newton: max_iter must be at least 1");
    if (!(eps > 0) || !isfinite(eps))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "newton: eps is %g; it must be positive and finite",
                       eps);

    size_t n = p->n;
    sr_status st = SR_OK;
    sr_newton_result res = {0};
    double sum[NSUM];
    float *g = sr_alloc_array(n, sizeof *g);
    float *s = sr_alloc_array(n, sizeof *s);
    float *r = sr_alloc_array(n, sizeof *r);
    float *d = sr_alloc_array(n, sizeof *d);
    float *Hd = sr_alloc_array(n, sizeof *Hd);
    float *M = p->hess_diag ? sr_alloc_array(n, sizeof *M) : NULL;
    if (!g || !s || !r || !d || !Hd || (p->hess_diag && !M)) {
        st = sr_fail(err, SR_ERR_NOMEM,
                     "newton: out of memory for %zu parameters", n);
        goto done;
    }

    vecs v = {.g = g, .w = w, .Hd = Hd, .s = s, .r = r, .d = d, .M = M};
    double f = p->fgrad(p->ctx, w, g);
    res.evaluations = 1;
    reduce(PASS_GRADIENT, &v, n, sum);
    if (!isfinite(f) || !isfinite(sum[0])) {
        st = sr_fail(err, SR_ERR_DIVERGED,
                     "newton: the objective or its gradient is not finite at "
                     "the starting point (f = %g)", f);
        goto done;
    }
    double gnorm = sqrt(sum[0]), gw = sum[1];
    double gtol = eps * gnorm;
    res.gnorm0 = gnorm;
    if (M)
        set_metric(p, &v);
    reduce(PASS_DUAL_NORM, &v, n, sum);
    double delta = sqrt(sum[0]); /* ||g||_{M^-1}; at most the first step */
    int first = 1;

    res.reason = "gradient small enough";
    while (gnorm > gtol) {
        if (res.iterations == max_iter) {
            res.reason = "iteration limit";
            break;
        }
        int bad;
        res.cg_steps += conjugate_gradient(p, &v, delta, &bad);
        reduce(PASS_MODEL, &v, n, sum);
        double sg = sum[0], prered = -0.5 * (sum[0] - sum[1]);
        double snorm = sqrt(sum[2]);
        if (first && snorm < delta)
            delta = snorm;
        first = 0;

        /* The trial point goes into r, its gradient into d. */
        v.t = r;
        reduce(PASS_TRIAL, &v, n, sum);
        if (sum[0] == 0) {
            res.reason = bad ? "Hessian-vector product not finite"
                             : "no progress possible";
            break;
        }
        double fnew = p->fgrad(p->ctx, r, d);
        res.evaluations++;
        v.g = d;
        v.w = r;
        reduce(PASS_GRADIENT, &v, n, sum);
        v.g = g;
        v.w = w;
        double actred = f - fnew;
        int finite = isfinite(fnew) && isfinite(sum[0]);

        /* The radius: alpha minimises the quadratic through f, g's and
         * fnew along s (SIGMA3 where that has no minimum). */
        double curv = fnew - f - sg;
        double alpha = curv <= 0 ? SIGMA3 : fmax(SIGMA1, -0.5 * sg / curv);
        if (!finite || !(prered > 0))
            delta = SIGMA1 * fmin(delta, snorm);
        else if (actred < ETA0 * prered)
            delta = fmin(fmax(alpha, SIGMA1) * snorm, SIGMA2 * delta);
        else if (actred < ETA1 * prered)
            delta = fmax(SIGMA1 * delta, fmin(alpha * snorm, SIGMA2 * delta));
        else if (actred < ETA2 * prered)
            delta = fmax(SIGMA1 * delta, fmin(alpha * snorm, SIGMA3 * delta));
        else
            delta = fmax(delta, fmin(alpha * snorm, SIGMA3 * delta));

        if (finite && prered > 0 && actred > ETA0 * prered) {
            memcpy(w, r, n * sizeof *w);
            float *swap = g;
            g = d;
            d = swap;
            v.g = g;
            v.d = d;
            f = fnew;
            gnorm = sqrt(sum[0]);
            gw = sum[1];
            res.iterations++;
            if (M)
                set_metric(p, &v);
            if (progress &&
                progress(user, res.iterations, w, f, gnorm) && gnorm > gtol) {
                res.reason = "stopped by callback";
                break;
            }
            continue;
        }

        /* Rejected. When the model promised less than float32 rounding
         * of f and of w can change f, or f did not change at all, a
         * smaller region cannot do better. */
        if (fnew == f || prered <= FLT_EPSILON * (fabs(f) + gw) ||
            !(delta > 0)) {
            res.reason = "no progress possible";
            break;
        }
        p->fgrad(p->ctx, w, d); /* H at w again for hess_vec */
        res.evaluations++;
    }

    if (result) {
        res.fx = f;
        res.gnorm = gnorm;
        res.converged = gnorm <= gtol;
        *result = res;
    }

done:
    sr_dealloc(M);
    sr_dealloc(Hd);
    sr_dealloc(d);
    sr_dealloc(r);
    sr_dealloc(s);
    sr_dealloc(g);
    return st;
}
