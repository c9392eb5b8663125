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

/* ---- The fused kernels (fused.inc) on 16-float vectors ---- */
#define VL 16
typedef __m512 vf;
#define FN(name) avx512_##name
#define MAX_NR 24
#define HIDDEN_CASES                                                          \
    HT(1) HT(2) HT(3) HT(4) HT(5) HT(6) HT(7) HT(8) HT(9) HT(10) HT(11)     \
    HT(12) HT(13) HT(14) HT(15) HT(16) HT(17) HT(18) HT(19) HT(20) HT(21)  \
    HT(22) HT(23) HT(24)

static inline vf v_zero(void) { return _mm512_setzero_ps(); }
static inline vf v_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void v_store(float *p, vf a) { _mm512_storeu_ps(p, a); }
static inline vf v_set1(float a) { return _mm512_set1_ps(a); }
static inline vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf v_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
/* vmaxps returns its second operand when either is NaN or both are
 * zeros: a > 0 ? a : 0 exactly. */
static inline vf v_relu(vf a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
static inline vf v_keep_pos(vf h, vf g)
{
    return _mm512_maskz_mov_ps(
        _mm512_cmp_ps_mask(h, _mm512_setzero_ps(), _CMP_GT_OQ), g);
}
static inline vf v_exp_nonpositive(vf a) { return exp_nonpositive(a); }
typedef __mmask16 vm;
static inline vm v_cmpeq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vm v_cmpneq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
static inline vf v_blend(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, a, b); }
static inline unsigned v_mask_bits(vm m) { return m; }
static inline vf v_labels(const int32_t *y)
{
    return _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)y));
}

/* 16 x 16 transpose in registers: r[i] (row i) to r[c] (column c). */
static SR_ALWAYS_INLINE void transpose16(__m512 *r)
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xDD);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
    }
}

static SR_ALWAYS_INLINE void v_transpose_in(const float *Z, vf *z)
{
    for (int i = 0; i < 16; i++)
        z[i] = _mm512_load_ps(Z + 16 * i);
    transpose16(z);
}

static SR_ALWAYS_INLINE void v_transpose_out(vf *z, float *Z)
{
    transpose16(z);
    for (int i = 0; i < 16; i++)
        _mm512_store_ps(Z + 16 * i, z[i]);
}

/* log x for x > 0 in double: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its series
 * to s^23 (truncation below 1e-18 relative). Non-finite x gives NaN or
 * infinity, as log does. */
static inline __m512d log_pd(__m512d x)
{
    __m512d m = _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    __m512d e = _mm512_getexp_pd(x);
    __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.4142135623730951),
                                      _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
    e = _mm512_mask_add_pd(e, big, e, _mm512_set1_pd(1.0));
    __m512d one = _mm512_set1_pd(1.0);
    __m512d sv = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
    __m512d s2 = _mm512_mul_pd(sv, sv);
    __m512d p = _mm512_set1_pd(1.0 / 23.0);
    static const double inv_odd[] = {1.0 / 21.0, 1.0 / 19.0, 1.0 / 17.0,
                                     1.0 / 15.0, 1.0 / 13.0, 1.0 / 11.0,
                                     1.0 / 9.0,  1.0 / 7.0,  1.0 / 5.0,
                                     1.0 / 3.0,  1.0};
    for (int i = 0; i < 11; i++)
        p = _mm512_fmadd_pd(p, s2, _mm512_set1_pd(inv_odd[i]));
    __m512d lm = _mm512_mul_pd(_mm512_add_pd(sv, sv), p);
    /* e ln 2 with ln 2 in two parts, the low one added to the small term */
    __m512d r = _mm512_fmadd_pd(e, _mm512_set1_pd(1.9082149292705877e-10), lm);
    r = _mm512_fmadd_pd(e, _mm512_set1_pd(6.9314718036912382e-01), r);
    /* log(+inf) = +inf, log(NaN) = NaN */
    __mmask8 bad = _mm512_cmp_pd_mask(x, _mm512_set1_pd(INFINITY), _CMP_NLT_UQ);
    return _mm512_mask_mov_pd(r, bad, _mm512_add_pd(x, x));
}

static SR_ALWAYS_INLINE void v_log_loss(double *loss, vf sum, vf d, size_t rows)
{
    double out[16] __attribute__((aligned(64)));
    __m512d slo = _mm512_cvtps_pd(_mm512_castps512_ps256(sum));
    __m512d shi = _mm512_cvtps_pd(
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sum), 1)));
    __m512d dlo = _mm512_cvtps_pd(_mm512_castps512_ps256(d));
    __m512d dhi = _mm512_cvtps_pd(
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
    _mm512_store_pd(out, _mm512_sub_pd(log_pd(slo), dlo));
    _mm512_store_pd(out + 8, _mm512_sub_pd(log_pd(shi), dhi));
    memcpy(loss, out, rows * sizeof *loss);
}

#include "fused.inc"

const sr_kernel_table sr_kernels_avx512 = {
    "avx512", avx512_row_matmul, avx512_row_outer_add, avx512_axpy,
    avx512_softmax_xent,
    avx512_sm_rows_grad, avx512_sm_step, avx512_sm_eval,
    avx512_nn_hidden, avx512_nn_output, avx512_nn_backward,
    avx512_nn_w1_step, avx512_nn_eval,
};

#endif
