/* MT19937 and the legacy generators of numpy.random.RandomState, reproduced
 * draw for draw so that the course's initialisations and permutations come
 * out with the same bits. */
#include <math.h>

#include "rng_init.h"

#define MT_N 624
#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu

/* np.random.seed(s) for an integer s in [0, 2**32): the reference
 * init_genrand. Seeding also forgets a cached Gaussian, as NumPy does. */
void sr_rng_seed(sr_rng *rng, uint32_t seed)
{
    uint32_t s = seed;
    for (int i = 0; i < MT_N; i++) {
        rng->key[i] = s;
        s = 1812433253u * (s ^ (s >> 30)) + (uint32_t)i + 1u;
    }
    rng->pos = MT_N;
    rng->has_gauss = 0;
    rng->gauss = 0.0;
}

static uint32_t mt_twist(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t y = (a & MT_UPPER) | (b & MT_LOWER);
    return c ^ (y >> 1) ^ ((0u - (y & 1u)) & MT_MATRIX_A);
}

static void mt_reload(sr_rng *rng)
{
    uint32_t *k = rng->key;
    int i = 0;
    for (; i < MT_N - MT_M; i++)
        k[i] = mt_twist(k[i], k[i + 1], k[i + MT_M]);
    for (; i < MT_N - 1; i++)
        k[i] = mt_twist(k[i], k[i + 1], k[i + MT_M - MT_N]);
    k[MT_N - 1] = mt_twist(k[MT_N - 1], k[0], k[MT_M - 1]);
    rng->pos = 0;
}

uint32_t sr_rng_u32(sr_rng *rng)
{
    if (rng->pos >= MT_N)
        mt_reload(rng);
    uint32_t y = rng->key[rng->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* a * 2^26 + b < 2^53 is exact, so fusing it into an FMA cannot change it. */
double sr_rng_uniform(sr_rng *rng)
{
    uint32_t a = sr_rng_u32(rng) >> 5, b = sr_rng_u32(rng) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

/* NumPy's legacy polar method: it returns f * x2 and keeps f * x1 for the
 * next call. The expression order below is NumPy's; changing it changes the
 * last bits. The squares are separate statements because clang, unlike gcc
 * with -std=c11, fuses a*a + b*b into an FMA when the target has one. */
double sr_rng_randn(sr_rng *rng)
{
    if (rng->has_gauss) {
        double g = rng->gauss;
        rng->has_gauss = 0;
        rng->gauss = 0.0;
        return g;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * sr_rng_uniform(rng) - 1.0;
        x2 = 2.0 * sr_rng_uniform(rng) - 1.0;
        double xx1 = x1 * x1;
        double xx2 = x2 * x2;
        r2 = xx1 + xx2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    rng->gauss = f * x1;
    rng->has_gauss = 1;
    return f * x2;
}

/* A 64-bit draw is the first 32-bit output in the high half, as NumPy's
 * MT19937 next_uint64 gives it. */
static uint64_t rng_u64(sr_rng *rng)
{
    uint64_t hi = sr_rng_u32(rng);
    uint64_t lo = sr_rng_u32(rng);
    return hi << 32 | lo;
}

uint64_t sr_rng_interval(sr_rng *rng, uint64_t max)
{
    if (max == 0)
        return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t v;
    if (max <= 0xffffffffu) {
        do
            v = sr_rng_u32(rng) & mask;
        while (v > max);
    } else {
        do
            v = rng_u64(rng) & mask;
        while (v > max);
    }
    return v;
}

void sr_rng_permutation(sr_rng *rng, size_t *perm, size_t count)
{
    for (size_t i = 0; i < count; i++)
        perm[i] = i;
    for (size_t i = count; i-- > 1;) {
        size_t j = (size_t)sr_rng_interval(rng, (uint64_t)i);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

void sr_rng_fill_randn_scaled(sr_rng *rng, float *out, size_t count,
                              size_t fan)
{
    const float scale = (float)sqrt((double)fan);
    for (size_t i = 0; i < count; i++)
        out[i] = (float)sr_rng_randn(rng) / scale;
}
