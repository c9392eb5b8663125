/* A small probe of the machine's peak single-precision arithmetic: FMAs on
 * independent registers (no memory traffic), AVX-512 and AVX2, one thread
 * and all threads, plus the clock estimated from a chain of dependent
 * integer adds (one per cycle). Prints one line per measurement, "key
 * value", for bench/run.sh:
 *   ghz        estimated clock of one busy core (from imul latency 3)
 *   avx512_1   GFLOP/s of one thread (2 flops per lane per FMA)
 *   avx512_T   GFLOP/s of all threads together
 *   avx2_1, avx2_T likewise with 8-lane FMAs
 * Built with `-O2 -fopenmp`; the SIMD loops carry their own target
 * attributes and run only when the CPU has the instructions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PROBE_X86 1
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifdef PROBE_X86
/* 12 independent chains hide the FMA latency (4 cycles) on both ports. */
__attribute__((target("avx512f,fma"), noinline)) static float
fma512(long iters)
{
    __m512 a[12], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], x, y);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"), noinline)) static float fma256(long iters)
{
    __m256 a[12], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], x, y);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm256_add_ps(s, a[i]);
    float f[8];
    _mm256_storeu_ps(f, s);
    return f[0] + f[7];
}

/* A chain of dependent 64-bit multiplications: three cycles each on
 * current x86 cores (adds are not used: recent cores fold chains of
 * immediate adds when renaming). */
__attribute__((noinline)) static uint64_t chain(long iters)
{
    uint64_t x = 3;
    for (long i = 0; i < iters; i++)
        __asm__ volatile("imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                         "imul %0, %0"
                         : "+r"(x));
    return x;
}

#endif

static volatile float sink;

#ifdef PROBE_X86
/* Best of `reps` timings of fn(iters) on every thread of a team of
 * `threads`, as GFLOP/s of the whole team (lanes * 2 flops * 12 FMAs per
 * iteration). */
static double measure(float (*fn)(long), int lanes, int threads, long iters,
                      int reps)
{
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
#pragma omp parallel num_threads(threads)
        sink = fn(iters);
        double dt = now() - t0;
        double g = (double)threads * (double)iters * 12.0 * lanes * 2.0 / dt * 1e-9;
        best = g > best ? g : best;
    }
    return best;
}

#endif

int main(void)
{
    int T = 1;
#ifdef _OPENMP
    T = omp_get_num_procs();
#endif
#ifdef PROBE_X86
    __builtin_cpu_init();
    long it = 20000000;
    double best = 0.0;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        sink = (float)chain(it);
        double ghz = 12.0 * (double)it / (now() - t0) * 1e-9;
        best = ghz > best ? ghz : best;
    }
    printf("ghz %.2f\n", best);
    printf("threads %d\n", T);
    if (__builtin_cpu_supports("avx512f")) {
        printf("avx512_1 %.1f\n", measure(fma512, 16, 1, 4000000, 5));
        printf("avx512_T %.1f\n", measure(fma512, 16, T, 4000000, 5));
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        printf("avx2_1 %.1f\n", measure(fma256, 8, 1, 4000000, 5));
        printf("avx2_T %.1f\n", measure(fma256, 8, T, 4000000, 5));
    }
#else
    printf("threads %d\n", T);
#endif
    return 0;
}
