/* AVX-512F kernels. This file alone is compiled with -mavx512f -mfma; it is
 * called only when the CPU has AVX-512F (see dispatch.c). Columns beyond a
 * multiple of 16 are handled with masks, so any k or d works unpadded. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../kernels.h"

#if defined(__AVX512F__)

static inline __mmask16 tail_mask(size_t lanes)
{
    return lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
}

/* Columns [c0, c0 + width) of out = x @ W, in NR registers held across the
 * whole row: each W row slice is read once per entry. */
#define DEFINE_ROW_MATMUL_BLOCK(NR)                                           \
    static SR_ALWAYS_INLINE void row_matmul_block##NR(                        \
        float *out, const sr_row *x, const float *W, size_t k, size_t c0,     \
        size_t width, int fmt)                                                \
    {                                                                         \
        __m512 acc[NR];                                                       \
        __mmask16 mask[NR];                                                   \
        for (int r = 0; r < NR; r++) {                                        \
            acc[r] = _mm512_setzero_ps();                                     \
            size_t lo = 16 * (size_t)r;                                       \
            mask[r] = tail_mask(width > lo ? width - lo : 0);                 \
        }                                                                     \
        for (size_t p = 0; p < x->nnz; p++) {                                 \
            const float *w = W + sr_col_at(x, p, fmt) * k + c0;               \
            __m512 v = _mm512_set1_ps(sr_val_at(x, p, fmt));                  \
            for (int r = 0; r < NR; r++)                                      \
                acc[r] = _mm512_fmadd_ps(                                     \
                    v, _mm512_maskz_loadu_ps(mask[r], w + 16 * r), acc[r]);   \
        }                                                                     \
        for (int r = 0; r < NR; r++)                                          \
            _mm512_mask_storeu_ps(out + c0 + 16 * r, mask[r], acc[r]);        \
    }
DEFINE_ROW_MATMUL_BLOCK(4)
DEFINE_ROW_MATMUL_BLOCK(8)

/* Up to 16 columns: one register would make every FMA wait for the one
 * before (4 cycles of latency), so four accumulators take turns and are
 * added at the end. */
static SR_ALWAYS_INLINE void row_matmul_narrow(float *out, const sr_row *x,
                                               const float *W, size_t k,
                                               size_t c0, size_t width,
                                               int fmt)
{
    __mmask16 m = tail_mask(width);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t nnz = x->nnz, p = 0;
    W += c0;
#define TERM(q) _mm512_mul_ps(_mm512_set1_ps(sr_val_at(x, q, fmt)),              \
                              _mm512_maskz_loadu_ps(m, W + sr_col_at(x, q, fmt) * k))
    for (; p + 4 <= nnz; p += 4) {
        a0 = _mm512_add_ps(a0, TERM(p));
        a1 = _mm512_add_ps(a1, TERM(p + 1));
        a2 = _mm512_add_ps(a2, TERM(p + 2));
        a3 = _mm512_add_ps(a3, TERM(p + 3));
    }
    for (; p < nnz; p++)
        a0 = _mm512_add_ps(a0, TERM(p));
#undef TERM
    _mm512_mask_storeu_ps(out + c0, m,
                          _mm512_add_ps(_mm512_add_ps(a0, a1),
                                        _mm512_add_ps(a2, a3)));
}

static SR_ALWAYS_INLINE void row_matmul_fmt(float *out, const sr_row *x,
                                            const float *W, size_t k, int fmt)
{
    for (size_t c0 = 0; c0 < k;) {
        size_t width = k - c0 < 128 ? k - c0 : 128;
        if (width <= 16)
            row_matmul_narrow(out, x, W, k, c0, width, fmt);
        else if (width <= 32) {
            row_matmul_narrow(out, x, W, k, c0, 16, fmt);
            row_matmul_narrow(out, x, W, k, c0 + 16, width - 16, fmt);
        } else if (width <= 64)
            row_matmul_block4(out, x, W, k, c0, width, fmt);
        else
            row_matmul_block8(out, x, W, k, c0, width, fmt);
        c0 += width;
    }
}

/* acc rows += v * g for columns [c0, c0 + width), g held in registers. */
#define DEFINE_OUTER_BLOCK(NR)                                                \
    static SR_ALWAYS_INLINE void outer_block##NR(                             \
        float *acc, size_t lda, size_t j0, const sr_row *x, size_t p0,        \
        size_t p1, const float *g, size_t c0, size_t width, int fmt)          \
    {                                                                         \
        __m512 gv[NR];                                                        \
        __mmask16 mask[NR];                                                   \
        for (int r = 0; r < NR; r++) {                                        \
            size_t lo = 16 * (size_t)r;                                       \
            mask[r] = tail_mask(width > lo ? width - lo : 0);                 \
            gv[r] = _mm512_maskz_loadu_ps(mask[r], g + c0 + 16 * r);          \
        }                                                                     \
        for (size_t p = p0; p < p1; p++) {                                    \
            float *a = acc + (sr_col_at(x, p, fmt) - j0) * lda + c0;          \
            __m512 v = _mm512_set1_ps(sr_val_at(x, p, fmt));                  \
            for (int r = 0; r < NR; r++) {                                    \
                __m512 cur = _mm512_maskz_loadu_ps(mask[r], a + 16 * r);      \
                _mm512_mask_storeu_ps(a + 16 * r, mask[r],                    \
                                      _mm512_fmadd_ps(v, gv[r], cur));        \
            }                                                                 \
        }                                                                     \
    }
DEFINE_OUTER_BLOCK(1)
DEFINE_OUTER_BLOCK(2)
DEFINE_OUTER_BLOCK(4)
DEFINE_OUTER_BLOCK(8)

static SR_ALWAYS_INLINE void row_outer_add_fmt(float *acc, size_t lda,
                                              size_t j0, const sr_row *x,
                                              size_t p0, size_t p1,
                                              const float *g, size_t k, int fmt)
{
    for (size_t c0 = 0; c0 < k;) {
        size_t width = k - c0 < 128 ? k - c0 : 128;
        if (width <= 16)
            outer_block1(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        else if (width <= 32)
            outer_block2(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        else if (width <= 64)
            outer_block4(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        else
            outer_block8(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        c0 += width;
    }
}

static void avx512_axpy(float *y, float a, const float *x, size_t len)
{
    __m512 va = _mm512_set1_ps(a);
    size_t i = 0;
    for (; i + 16 <= len; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i),
                                                _mm512_loadu_ps(y + i)));
    if (i < len) {
        __mmask16 m = tail_mask(len - i);
        _mm512_mask_storeu_ps(
            y + i, m,
            _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i),
                            _mm512_maskz_loadu_ps(m, y + i)));
    }
}

/* exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2/2, exp(r) by its Taylor
 * polynomial to degree 7 (truncation error < 6e-9, below float's half-ulp),
 * then scaled by 2^n. Below -87.3 the result underflows towards 0, which is
 * what softmax needs. */
static inline __m512 exp_nonpositive(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    __m512 n = _mm512_roundscale_ps(
        _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static double avx512_softmax_xent(float *z, int32_t y, size_t k)
{
    if (k > 16)
        return sr_kernels_ref.softmax_xent(z, y, k);
    __mmask16 m = tail_mask(k);
    __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, z);
    float mx = _mm512_reduce_max_ps(v);
    float zy = y >= 0 ? z[y] - mx : 0.0f;
    __m512 e = _mm512_maskz_mov_ps(
        m, exp_nonpositive(_mm512_sub_ps(v, _mm512_set1_ps(mx))));
    float sum = _mm512_reduce_add_ps(e);
    e = _mm512_div_ps(e, _mm512_set1_ps(sum));
    _mm512_mask_storeu_ps(z, m, e);
    if (y < 0)
        return 0.0;
    z[y] -= 1.0f;
    return log((double)sum) - (double)zy;
}

static void avx512_row_matmul(float *out, const sr_row *x, const float *W,
                             size_t k)
{
    switch (sr_row_format(x)) {
    case SR_ROW_U8: row_matmul_fmt(out, x, W, k, SR_ROW_U8); break;
    case SR_ROW_CSR: row_matmul_fmt(out, x, W, k, SR_ROW_CSR); break;
    default: row_matmul_fmt(out, x, W, k, SR_ROW_DENSE); break;
    }
}

static void avx512_row_outer_add(float *acc, size_t lda, size_t j0,
                                const sr_row *x, size_t p0, size_t p1,
                                const float *g, size_t k)
{
    switch (sr_row_format(x)) {
    case SR_ROW_U8: row_outer_add_fmt(acc, lda, j0, x, p0, p1, g, k, SR_ROW_U8); break;
    case SR_ROW_CSR: row_outer_add_fmt(acc, lda, j0, x, p0, p1, g, k, SR_ROW_CSR); break;
    default: row_outer_add_fmt(acc, lda, j0, x, p0, p1, g, k, SR_ROW_DENSE); break;
    }
}

const sr_kernel_table sr_kernels_avx512 = {
    "avx512", avx512_row_matmul, avx512_row_outer_add, avx512_axpy,
    avx512_softmax_xent,
};

#endif
