/* Binary logistic regression: one output z = x theta + b, P(y = 1) =
 * sigmoid(z), the loss -y log s(z) - (1 - y) log(1 - s(z)), whose gradient
 * w.r.t. z is s(z) - y (fused as the course fuses softmax). */
#include <math.h>

#include "affine.h"

/* The loss for label y in {0, 1} as max(z, 0) - y z + log(1 + exp(-|z|)),
 * which no z overflows. */
static double logistic_loss(float z, int32_t y)
{
    double zd = z;
    return (zd > 0 ? zd : 0.0) - (y ? zd : 0.0) + log1p(exp(-fabs(zd)));
}

static float sigmoid(float z)
{
    /* exp of a non-positive number only: no overflow for any z. */
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

static void logistic_grad(const sr_kernel_table *K, float *Z, size_t ld,
                          size_t k, const sr_batch *b, size_t i0, size_t i1,
                          double *loss, float *probs)
{
    (void)K;
    (void)k;
    for (size_t i = i0; i < i1; i++) {
        float z = Z[i * ld], s = sigmoid(z);
        loss[i] = logistic_loss(z, b->y[i]);
        Z[i * ld] = s - (float)b->y[i];
        if (probs)
            probs[i * ld] = s;
    }
}

static double logistic_eval(const sr_kernel_table *K, const float *Z,
                            size_t ld, size_t k, const sr_batch *b, size_t B,
                            size_t *wrong)
{
    (void)K;
    (void)k;
    double total = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < B; i++) {
        float z = Z[i * ld];
        total += logistic_loss(z, b->y[i]);
        bad += (z >= 0.0f) != (b->y[i] != 0);
    }
    *wrong += bad;
    return total;
}

/* The loss's second derivative w.r.t. z: s (1 - s). */
static void logistic_curv(float *U, const float *P, size_t ld, size_t k,
                          size_t i0, size_t i1)
{
    (void)k;
    for (size_t i = i0; i < i1; i++) {
        float s = P[i * ld];
        U[i * ld] = U[i * ld] * (s * (1.0f - s));
    }
}

static const sr_head head = {logistic_grad, logistic_eval, logistic_curv};

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

const sr_model_ops sr_logistic_ops =
    SR_AFFINE_OPS(SR_MODEL_LOGISTIC, phase, eval);
