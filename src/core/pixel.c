#include "internal.h"

/* Each entry is the constant expression (float)v / 255.0f, which the compiler
 * evaluates with IEEE float division: the same bits as NumPy's
 * X.astype(np.float32) / 255.0. */
#define P(v) ((float)(v) / 255.0f)
#define P4(v) P(v), P(v + 1), P(v + 2), P(v + 3)
#define P16(v) P4(v), P4(v + 4), P4(v + 8), P4(v + 12)
#define P64(v) P16(v), P16(v + 16), P16(v + 32), P16(v + 48)

const float sr_pixel_scale[256] = {P64(0), P64(64), P64(128), P64(192)};
