/* AVX2 + FMA kernels. This file alone is compiled with -mavx2 -mfma; it is
 * called only when the CPU has both (see dispatch.c). Columns beyond a
 * multiple of 8 are handled with masked loads and stores. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../kernels.h"

#if defined(__AVX2__) && defined(__FMA__)

/* All-ones in the first `lanes` 32-bit lanes. */
static inline __m256i tail_mask(size_t lanes)
{
    static const int32_t ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};
    size_t l = lanes > 8 ? 8 : lanes;
    return _mm256_loadu_si256((const __m256i *)(ones_then_zeros + 8 - l));
}

#define DEFINE_ROW_MATMUL_BLOCK(NR)                                           \
    static SR_ALWAYS_INLINE void row_matmul_block##NR(                        \
        float *out, const sr_row *x, const float *W, size_t k, size_t c0,     \
        size_t width, int fmt)                                                \
    {                                                                         \
        __m256 acc[NR];                                                       \
        __m256i mask[NR];                                                     \
        for (int r = 0; r < NR; r++) {                                        \
            acc[r] = _mm256_setzero_ps();                                     \
            size_t lo = 8 * (size_t)r;                                        \
            mask[r] = tail_mask(width > lo ? width - lo : 0);                 \
        }                                                                     \
        for (size_t p = 0; p < x->nnz; p++) {                                 \
            const float *w = W + sr_col_at(x, p, fmt) * k + c0;               \
            __m256 v = _mm256_set1_ps(sr_val_at(x, p, fmt));                  \
            for (int r = 0; r < NR; r++)                                      \
                acc[r] = _mm256_fmadd_ps(                                     \
                    v, _mm256_maskload_ps(w + 8 * r, mask[r]), acc[r]);       \
        }                                                                     \
        for (int r = 0; r < NR; r++)                                          \
            _mm256_maskstore_ps(out + c0 + 8 * r, mask[r], acc[r]);           \
    }
DEFINE_ROW_MATMUL_BLOCK(4)
DEFINE_ROW_MATMUL_BLOCK(8)

/* Up to 8 columns: four accumulators take turns so that the FMAs do not
 * wait for each other (see avx512.c). */
static SR_ALWAYS_INLINE void row_matmul_narrow(float *out, const sr_row *x,
                                               const float *W, size_t k,
                                               size_t c0, size_t width,
                                               int fmt)
{
    __m256i m = tail_mask(width);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t nnz = x->nnz, p = 0;
    W += c0;
#define TERM(q) _mm256_mul_ps(_mm256_set1_ps(sr_val_at(x, q, fmt)),              \
                              _mm256_maskload_ps(W + sr_col_at(x, q, fmt) * k, m))
    for (; p + 4 <= nnz; p += 4) {
        a0 = _mm256_add_ps(a0, TERM(p));
        a1 = _mm256_add_ps(a1, TERM(p + 1));
        a2 = _mm256_add_ps(a2, TERM(p + 2));
        a3 = _mm256_add_ps(a3, TERM(p + 3));
    }
    for (; p < nnz; p++)
        a0 = _mm256_add_ps(a0, TERM(p));
#undef TERM
    _mm256_maskstore_ps(out + c0, m,
                        _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

static SR_ALWAYS_INLINE void row_matmul_fmt(float *out, const sr_row *x,
                                            const float *W, size_t k, int fmt)
{
    for (size_t c0 = 0; c0 < k;) {
        size_t width = k - c0 < 64 ? k - c0 : 64;
        if (width <= 8)
            row_matmul_narrow(out, x, W, k, c0, width, fmt);
        else if (width <= 16) {
            row_matmul_narrow(out, x, W, k, c0, 8, fmt);
            row_matmul_narrow(out, x, W, k, c0 + 8, width - 8, fmt);
        } else if (width <= 32)
            row_matmul_block4(out, x, W, k, c0, width, fmt);
        else
            row_matmul_block8(out, x, W, k, c0, width, fmt);
        c0 += width;
    }
}

#define DEFINE_OUTER_BLOCK(NR)                                                \
    static SR_ALWAYS_INLINE void outer_block##NR(                             \
        float *acc, size_t lda, size_t j0, const sr_row *x, size_t p0,        \
        size_t p1, const float *g, size_t c0, size_t width, int fmt)          \
    {                                                                         \
        __m256 gv[NR];                                                        \
        __m256i mask[NR];                                                     \
        for (int r = 0; r < NR; r++) {                                        \
            size_t lo = 8 * (size_t)r;                                        \
            mask[r] = tail_mask(width > lo ? width - lo : 0);                 \
            gv[r] = _mm256_maskload_ps(g + c0 + 8 * r, mask[r]);              \
        }                                                                     \
        for (size_t p = p0; p < p1; p++) {                                    \
            float *a = acc + (sr_col_at(x, p, fmt) - j0) * lda + c0;          \
            __m256 v = _mm256_set1_ps(sr_val_at(x, p, fmt));                  \
            for (int r = 0; r < NR; r++) {                                    \
                __m256 cur = _mm256_maskload_ps(a + 8 * r, mask[r]);          \
                _mm256_maskstore_ps(a + 8 * r, mask[r],                       \
                                    _mm256_fmadd_ps(v, gv[r], cur));          \
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
        size_t width = k - c0 < 64 ? k - c0 : 64;
        if (width <= 8)
            outer_block1(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        else if (width <= 16)
            outer_block2(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        else if (width <= 32)
            outer_block4(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        else
            outer_block8(acc, lda, j0, x, p0, p1, g, c0, width, fmt);
        c0 += width;
    }
}

static void avx2_axpy(float *y, float a, const float *x, size_t len)
{
    __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i),
                                                _mm256_loadu_ps(y + i)));
    if (i < len) {
        __m256i m = tail_mask(len - i);
        _mm256_maskstore_ps(y + i, m,
                            _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m),
                                            _mm256_maskload_ps(y + i, m)));
    }
}

/* exp(x) for x <= 0, as in avx512.c: x = n ln2 + r, Taylor to degree 7,
 * times 2^n built in the exponent bits. x is clamped at -87.3 so that 2^n
 * stays a normal number. */
static inline __m256 exp_nonpositive(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    __m256 n = _mm256_round_ps(
        _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

static double avx2_softmax_xent(float *z, int32_t y, size_t k)
{
    if (k > 16)
        return sr_kernels_ref.softmax_xent(z, y, k);
    __m256i m0 = tail_mask(k), m1 = tail_mask(k > 8 ? k - 8 : 0);
    __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 v0 = _mm256_blendv_ps(ninf, _mm256_maskload_ps(z, m0), _mm256_castsi256_ps(m0));
    __m256 v1 = _mm256_blendv_ps(ninf, _mm256_maskload_ps(z + 8, m1), _mm256_castsi256_ps(m1));
    float mx = hmax8(_mm256_max_ps(v0, v1));
    float zy = y >= 0 ? z[y] - mx : 0.0f;
    __m256 vm = _mm256_set1_ps(mx);
    __m256 e0 = _mm256_and_ps(exp_nonpositive(_mm256_sub_ps(v0, vm)), _mm256_castsi256_ps(m0));
    __m256 e1 = _mm256_and_ps(exp_nonpositive(_mm256_sub_ps(v1, vm)), _mm256_castsi256_ps(m1));
    float sum = hsum8(_mm256_add_ps(e0, e1));
    __m256 vs = _mm256_set1_ps(sum);
    _mm256_maskstore_ps(z, m0, _mm256_div_ps(e0, vs));
    _mm256_maskstore_ps(z + 8, m1, _mm256_div_ps(e1, vs));
    if (y < 0)
        return 0.0;
    z[y] -= 1.0f;
    return log((double)sum) - (double)zy;
}

static void avx2_row_matmul(float *out, const sr_row *x, const float *W,
                             size_t k)
{
    switch (sr_row_format(x)) {
    case SR_ROW_U8: row_matmul_fmt(out, x, W, k, SR_ROW_U8); break;
    case SR_ROW_CSR: row_matmul_fmt(out, x, W, k, SR_ROW_CSR); break;
    default: row_matmul_fmt(out, x, W, k, SR_ROW_DENSE); break;
    }
}

static void avx2_row_outer_add(float *acc, size_t lda, size_t j0,
                                const sr_row *x, size_t p0, size_t p1,
                                const float *g, size_t k)
{
    switch (sr_row_format(x)) {
    case SR_ROW_U8: row_outer_add_fmt(acc, lda, j0, x, p0, p1, g, k, SR_ROW_U8); break;
    case SR_ROW_CSR: row_outer_add_fmt(acc, lda, j0, x, p0, p1, g, k, SR_ROW_CSR); break;
    default: row_outer_add_fmt(acc, lda, j0, x, p0, p1, g, k, SR_ROW_DENSE); break;
    }
}

/* ---- The fused kernels (fused.inc) on 8-float vectors ---- */
#define VL 8
typedef __m256 vf;
#define FN(name) avx2_##name
#define MAX_NR 12
#define HIDDEN_CASES                                                          \
    HT(1) HT(2) HT(3) HT(4) HT(5) HT(6) HT(7) HT(8) HT(9) HT(10) HT(11)     \
    HT(12)

static inline vf v_zero(void) { return _mm256_setzero_ps(); }
static inline vf v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void v_store(float *p, vf a) { _mm256_storeu_ps(p, a); }
static inline vf v_set1(float a) { return _mm256_set1_ps(a); }
static inline vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf v_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
/* vmaxps returns its second operand when either is NaN or both are
 * zeros: a > 0 ? a : 0 exactly. */
static inline vf v_relu(vf a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
static inline vf v_keep_pos(vf h, vf g)
{
    return _mm256_and_ps(_mm256_cmp_ps(h, _mm256_setzero_ps(), _CMP_GT_OQ), g);
}
static inline vf v_exp_nonpositive(vf a) { return exp_nonpositive(a); }
typedef __m256 vm;
static inline vm v_cmpeq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline vm v_cmpneq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
static inline vf v_blend(vm m, vf a, vf b) { return _mm256_blendv_ps(a, b, m); }
static inline unsigned v_mask_bits(vm m) { return (unsigned)_mm256_movemask_ps(m); }
static inline vf v_labels(const int32_t *y)
{
    return _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)y));
}

/* 8 x 8 transpose in registers: r[i] (row i) to r[c] (column c). */
static SR_ALWAYS_INLINE void transpose8(__m256 *r)
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
    }
}

/* 8 rows of 16 floats to 16 columns of 8 lanes, and back. */
static SR_ALWAYS_INLINE void v_transpose_in(const float *Z, vf *z)
{
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 8; i++)
            z[8 * h + i] = _mm256_load_ps(Z + 16 * i + 8 * h);
        transpose8(z + 8 * h);
    }
}

static SR_ALWAYS_INLINE void v_transpose_out(vf *z, float *Z)
{
    for (int h = 0; h < 2; h++) {
        transpose8(z + 8 * h);
        for (int i = 0; i < 8; i++)
            _mm256_store_ps(Z + 16 * i + 8 * h, z[8 * h + i]);
    }
}

static SR_ALWAYS_INLINE void v_log_loss(double *loss, vf sum, vf d, size_t rows)
{
    float s[8], dd[8];
    _mm256_storeu_ps(s, sum);
    _mm256_storeu_ps(dd, d);
    for (size_t q = 0; q < rows; q++)
        loss[q] = log((double)s[q]) - (double)dd[q];
}

#include "fused.inc"

const sr_kernel_table sr_kernels_avx2 = {
    "avx2", avx2_row_matmul, avx2_row_outer_add, avx2_axpy, avx2_softmax_xent,
    avx2_sm_rows_grad, avx2_sm_step, avx2_sm_eval,
    avx2_nn_hidden, avx2_nn_output, avx2_nn_backward, avx2_nn_w1_step,
    avx2_nn_eval,
};

#endif
