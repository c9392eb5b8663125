/* Minibatch SGD's step: how the parameters move after a minibatch, and
 * how rows of weights that sparse data left untouched catch up on the
 * steps they missed. */
#ifndef SR_OPTIM_SGD_H
#define SR_OPTIM_SGD_H

#include <stdint.h>

#include "../kernels/kernels.h"

/* The step of every minibatch of B rows with summed gradient g: with
 * momentum mu, v = mu v + (g / B + l2 w); w -= lr v; without, w -= (lr /
 * B) g + lr l2 w, which for l2 = 0 is the course's theta -= lr/B X^T (Z -
 * I_y). Biases are not decayed. */
typedef struct sr_step {
    double lr, l2, momentum;
} sr_step;

/* The kernels' rule for a minibatch of B rows (kernels.h): the learning
 * rate over B computed in double and applied in float32, as the course's
 * NumPy code does. */
sr_rule sr_sgd_rule(const sr_step *step, size_t B);

/* Whether rows without gradient still move (weight decay or momentum):
 * then on sparse data the rows a minibatch does not touch are updated
 * lazily, when a later minibatch touches them or at the end of the epoch
 * (sr_sgd_catch_up), instead of at every step. */
int sr_sgd_moves_idle_rows(const sr_step *step);

/* A row w (and its velocity v, with momentum; may be NULL otherwise) of
 * `len` lanes that missed `steps` steps without gradient takes them at
 * once, in closed form, in double: with weight decay alone each step is
 * w = (1 - lr l2) w, so w becomes (1 - lr l2)^steps w; with momentum a
 * step is the linear map [w; v] -> [(1 - lr l2) w - lr mu v; l2 w + mu v],
 * applied as its power. The same as the eager steps in exact arithmetic;
 * in float32 each lane differs from them by a few units of its last
 * place. */
void sr_sgd_catch_up(const sr_step *step, uint64_t steps, float *w, float *v,
                     size_t len);

#endif
