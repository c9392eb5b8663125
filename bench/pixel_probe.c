/* What one stored pixel costs, at least, in softmax regression: the two
 * memory operations an epoch of SGD does for each of MNIST's stored
 * pixels, timed alone over the training set's real pixel lists, with
 * nothing else in the loops (no softmax, no minibatches). For bench/run.py,
 * one JSON object on stdout:
 *   logits_ns  the logits' term: a 64-byte weight row (the pixel's row of
 *              theta) loaded and multiply-added into the row's sums (four
 *              chains, as the kernels keep)
 *   step_ns    the step's term: a 64-byte gradient row read, multiply-added
 *              and written back (G[pixel] += x g)
 *   store_ns   the step's write alone (G[pixel] = x g, no read)
 * each in nanoseconds per stored pixel, the best of 7 passes; "entries"
 * is the number of stored pixels. An SGD epoch does one logits term and
 * one step term per stored pixel, so (logits_ns + step_ns) * entries is a
 * floor for its time on one core. Needs AVX-512 (the kernels' widest
 * path); elsewhere prints {"entries": N} alone.
 * usage: pixel_probe [DIR]   (default data/mnist) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "data/dataset.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PROBE_X86 1
#endif

#define PASSES 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifdef PROBE_X86
typedef enum { LOGITS, STEP, STORE } term;

/* One pass of `t` over every row's stored pixels; rows 64 bytes apart in
 * `rows` (n + 1 of them, 64-byte aligned). Returns a value that depends
 * on the work, so that none of it can be left out. */
__attribute__((target("avx512f,fma"), noinline)) static float
pass(term t, const sr_dataset *ds, float *rows)
{
    __m512 sink = _mm512_setzero_ps();
    for (size_t r = 0; r < ds->m; r++) {
        const uint16_t *col = ds->col16 + ds->row_ptr[r];
        const uint8_t *val = ds->val8 + ds->row_ptr[r];
        size_t nnz = ds->row_ptr[r + 1] - ds->row_ptr[r];
        /* the gradient row of the step: any values will do */
        __m512 g = _mm512_set1_ps(1e-6f * (float)(r % 7));
        if (t == LOGITS) {
            __m512 a0 = sink, a1 = _mm512_setzero_ps(), a2 = a1, a3 = a1;
#define TERM(acc, q)                                                          \
    acc = _mm512_fmadd_ps(_mm512_set1_ps(sr_pixel_scale[val[q]]),             \
                          _mm512_load_ps(rows + (size_t)col[q] * 16), acc)
            size_t p = 0;
            for (; p + 4 <= nnz; p += 4) {
                TERM(a0, p);
                TERM(a1, p + 1);
                TERM(a2, p + 2);
                TERM(a3, p + 3);
            }
            for (; p < nnz; p++)
                TERM(a0, p);
#undef TERM
            sink = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
        } else if (t == STEP) {
            for (size_t p = 0; p < nnz; p++) {
                float *w = rows + (size_t)col[p] * 16;
                _mm512_store_ps(w, _mm512_fmadd_ps(
                                       _mm512_set1_ps(sr_pixel_scale[val[p]]),
                                       g, _mm512_load_ps(w)));
            }
        } else {
            for (size_t p = 0; p < nnz; p++)
                _mm512_store_ps(rows + (size_t)col[p] * 16,
                                _mm512_mul_ps(
                                    _mm512_set1_ps(sr_pixel_scale[val[p]]), g));
        }
    }
    return _mm512_reduce_add_ps(sink) + rows[16];
}

/* The best of PASSES passes, in nanoseconds per stored pixel. */
static double best_ns(term t, const sr_dataset *ds, float *rows,
                      size_t entries, float *keep)
{
    double best = 1e30;
    for (int i = 0; i < PASSES; i++) {
        double t0 = now();
        *keep += pass(t, ds, rows);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    return best * 1e9 / (double)entries;
}
#endif

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    sr_error err;
    sr_dataset *ds;
    if (sr_dataset_load_mnist(dir, "train", &ds, &err)) {
        fprintf(stderr, "pixel_probe: %s\n", err.message);
        return 1;
    }
    if (ds->layout != SR_FEATURES_U8_SPARSE) {
        fprintf(stderr, "pixel_probe: %s: not listed pixels\n", dir);
        return 1;
    }
    size_t entries = ds->row_ptr[ds->m];
#ifdef PROBE_X86
    if (__builtin_cpu_supports("avx512f")) {
        float *rows = aligned_alloc(64, (ds->n + 1) * 64);
        if (!rows)
            return 1;
        memset(rows, 0, (ds->n + 1) * 64);
        float keep = 0.0f;
        double logits = best_ns(LOGITS, ds, rows, entries, &keep);
        double step = best_ns(STEP, ds, rows, entries, &keep);
        double store = best_ns(STORE, ds, rows, entries, &keep);
        printf("{\"entries\": %zu, \"logits_ns\": %.4f, \"step_ns\": %.4f, "
               "\"store_ns\": %.4f, \"keep\": %g}\n",
               entries, logits, step, store, (double)keep);
        free(rows);
        sr_dataset_free(ds);
        return 0;
    }
#endif
    printf("{\"entries\": %zu}\n", entries);
    sr_dataset_free(ds);
    return 0;
}
