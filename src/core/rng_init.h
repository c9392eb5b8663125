/* Random initialisation of parameters, as the course does it with NumPy. */
#ifndef SR_CORE_RNG_INIT_H
#define SR_CORE_RNG_INIT_H

#include <stddef.h>

#include "softreg.h"

/* out[i] = (float)randn / (float)sqrt(fan) for i in [0, count): the bits of
 * np.random.randn(rows, cols).astype(np.float32) / np.sqrt(fan) when count is
 * rows * cols (NumPy divides the float32 array in float32). fan must be > 0. */
void sr_rng_fill_randn_scaled(sr_rng *rng, float *out, size_t count,
                              size_t fan);

#endif
