/* Softmax regression: z = x theta + b, the loss log sum_c exp z_c - z_y
 * (cross-entropy of the softmax), whose gradient w.r.t. z is softmax(z) -
 * e_y (the course's Z - I_y). */
#include <string.h>

#include "affine.h"

static void softmax_grad(const sr_kernel_table *K, float *Z, size_t ld,
                         size_t k, const sr_batch *b, size_t i0, size_t i1,
                         double *loss, float *probs)
{
    K->softmax_grad(Z + i0 * ld, ld, b->y + i0, i1 - i0, k, loss + i0);
    if (!probs)
        return;
    /* p = (p - e_y) + e_y: the probabilities to the gradient's rounding,
     * which is all a Hessian-vector product needs. */
    for (size_t i = i0; i < i1; i++) {
        memcpy(probs + i * ld, Z + i * ld, ld * sizeof *probs);
        probs[i * ld + (size_t)b->y[i]] += 1.0f;
    }
}

static double softmax_eval_rows(const sr_kernel_table *K, const float *Z,
                                size_t ld, size_t k, const sr_batch *b,
                                size_t B, size_t *wrong)
{
    return K->softmax_eval(Z, ld, b->y, B, k, wrong);
}

/* The Hessian of the loss w.r.t. z is diag(p) - p p^T: u becomes
 * p o (u - p.u), the dot product summed over the classes in order. */
static void softmax_curv(float *U, const float *P, size_t ld, size_t k,
                         size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        float *u = U + i * ld;
        const float *p = P + i * ld;
        double s = 0.0;
        for (size_t c = 0; c < k; c++)
            s += (double)p[c] * (double)u[c];
        float sf = (float)s;
        for (size_t c = 0; c < k; c++)
            u[c] = p[c] * (u[c] - sf);
    }
}

static const sr_head head = {softmax_grad, softmax_eval_rows, softmax_curv};

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

const sr_model_ops sr_softmax_ops = SR_AFFINE_OPS(SR_MODEL_SOFTMAX, phase, eval);
