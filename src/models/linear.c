/* Linear regression: outputs z = x theta + b for k targets t, the loss
 * 1/2 sum_c (z_c - t_c)^2 (squared error), whose gradient w.r.t. z is
 * z - t. */
#include "affine.h"

static void linear_grad(const sr_kernel_table *K, float *Z, size_t ld,
                        size_t k, const sr_batch *b, size_t i0, size_t i1,
                        double *loss, float *probs)
{
    (void)K;
    (void)probs;
    for (size_t i = i0; i < i1; i++) {
        float *z = Z + i * ld;
        const float *t = b->t + i * b->ldt;
        double l = 0.0;
        for (size_t c = 0; c < k; c++) {
            z[c] -= t[c];
            l += 0.5 * (double)z[c] * (double)z[c];
        }
        loss[i] = l;
    }
}

static double linear_eval(const sr_kernel_table *K, const float *Z, size_t ld,
                          size_t k, const sr_batch *b, size_t B,
                          size_t *wrong)
{
    (void)K;
    (void)wrong; /* the error of regression is derived from the loss (RMSE) */
    double total = 0.0;
    for (size_t i = 0; i < B; i++)
        for (size_t c = 0; c < k; c++) {
            double e = (double)Z[i * ld + c] - (double)b->t[i * b->ldt + c];
            total += 0.5 * e * e;
        }
    return total;
}

/* The squared error's Hessian w.r.t. z is the identity: u stays. */
static void linear_curv(float *U, const float *P, size_t ld, size_t k,
                        size_t i0, size_t i1)
{
    (void)U;
    (void)P;
    (void)ld;
    (void)k;
    (void)i0;
    (void)i1;
}

static const sr_head head = {linear_grad, linear_eval, linear_curv};

static int phase(sr_ws *ws, const sr_pass *p, unsigned ph, size_t t,
                 size_t nt)
{
    return sr_affine_phase(&head, ws, p, ph, t, nt);
}

static double eval(sr_ws *ws, const sr_params *P, const sr_batch *b, size_t t,
                   size_t *wrong, float *scores)
{
    return sr_affine_eval(&head, ws, P, b, t, wrong, scores);
}

const sr_model_ops sr_linear_ops = SR_AFFINE_OPS(SR_MODEL_LINEAR, phase, eval);
