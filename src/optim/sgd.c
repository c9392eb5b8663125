/* Minibatch SGD's step (sgd.h). */
#include <math.h>

#include "sgd.h"

sr_rule sr_sgd_rule(const sr_step *step, size_t B)
{
    sr_rule r = {SR_RULE_SGD, 0, 0, 0, 0, 0, 0, NULL};
    r.scale = (float)(step->lr / (double)B);
    if (step->momentum > 0.0) {
        r.kind = SR_RULE_MOMENTUM;
        r.mu = (float)step->momentum;
        r.lr = (float)step->lr;
        r.invB = (float)(1.0 / (double)B);
        r.l2 = (float)step->l2;
    } else if (step->l2 > 0.0) {
        r.kind = SR_RULE_DECAY;
        r.decay = (float)(step->lr * step->l2);
    }
    return r;
}

int sr_sgd_moves_idle_rows(const sr_step *step)
{
    return step->l2 > 0.0 || step->momentum > 0.0;
}

/* The 2 x 2 matrix of the momentum step, to the power `steps`, by
 * repeated squaring. */
static void momentum_power(const sr_step *step, uint64_t steps, double *m)
{
    double lr = step->lr, l2 = step->l2, mu = step->momentum;
    double a[4] = {1.0 - lr * l2, -lr * mu, l2, mu};
    double r[4] = {1.0, 0.0, 0.0, 1.0};
    while (steps) {
        if (steps & 1) {
            double t[4] = {r[0] * a[0] + r[1] * a[2], r[0] * a[1] + r[1] * a[3],
                           r[2] * a[0] + r[3] * a[2], r[2] * a[1] + r[3] * a[3]};
            for (int i = 0; i < 4; i++)
                r[i] = t[i];
        }
        double t[4] = {a[0] * a[0] + a[1] * a[2], a[0] * a[1] + a[1] * a[3],
                       a[2] * a[0] + a[3] * a[2], a[2] * a[1] + a[3] * a[3]};
        for (int i = 0; i < 4; i++)
            a[i] = t[i];
        steps >>= 1;
    }
    for (int i = 0; i < 4; i++)
        m[i] = r[i];
}

void sr_sgd_catch_up(const sr_step *step, uint64_t steps, float *w, float *v,
                     size_t len)
{
    if (steps == 0)
        return;
    if (step->momentum > 0.0) {
        double m[4];
        momentum_power(step, steps, m);
        for (size_t c = 0; c < len; c++) {
            double wc = w[c], vc = v[c];
            w[c] = (float)(m[0] * wc + m[1] * vc);
            v[c] = (float)(m[2] * wc + m[3] * vc);
        }
        return;
    }
    double f = pow(1.0 - step->lr * step->l2, (double)steps);
    for (size_t c = 0; c < len; c++)
        w[c] = (float)(f * (double)w[c]);
}
