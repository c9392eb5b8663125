/* AVX-512F kernels (x86/body.inc on 16-float vectors). This file alone is
 * compiled with -mavx512f -mfma; it is called only when the CPU has
 * AVX-512F (see dispatch.c). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../kernels.h"

#if defined(__AVX512F__)

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

#define VL 16
typedef __m512 vf;
#define FN(name) avx512_##name
#define TABLE sr_kernels_avx512
#define TABLE_NAME "avx512"
#define MAX_NR 24
#define HIDDEN_CASES                                                          \
    HT(1) HT(2) HT(3) HT(4) HT(5) HT(6) HT(7) HT(8) HT(9) HT(10) HT(11)     \
    HT(12) HT(13) HT(14) HT(15) HT(16) HT(17) HT(18) HT(19) HT(20) HT(21)  \
    HT(22) HT(23) HT(24)
#define QUARTER_CASES HT(1) HT(2) HT(3) HT(4) HT(5) HT(6)
#define DF_NR4_MR 6
#define DF_NR2_MR 12
#define DF_NR1_MR 12

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
static inline vf v_iota(void)
{
    return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                          15);
}
static inline vf v_exp_nonpositive(vf a) { return exp_nonpositive(a); }
/* Half vectors (8 lanes, ymm): the last 8 live lanes of a slice whose
 * width is an odd multiple of 8 (kernels.h), at half a vector's cost. */
typedef __m256 vh;
static inline vh vh_zero(void) { return _mm256_setzero_ps(); }
static inline vh vh_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vh_store(float *p, vh a) { _mm256_storeu_ps(p, a); }
static inline vh vh_set1(float a) { return _mm256_set1_ps(a); }
static inline vh vh_of(vf a) { return _mm512_castps512_ps256(a); }
static inline vh vh_fma(vh a, vh b, vh c) { return _mm256_fmadd_ps(a, b, c); }
static inline vh vh_add(vh a, vh b) { return _mm256_add_ps(a, b); }
static inline vh vh_sub(vh a, vh b) { return _mm256_sub_ps(a, b); }
static inline vh vh_mul(vh a, vh b) { return _mm256_mul_ps(a, b); }
static inline vh vh_relu(vh a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
typedef __mmask16 vm;
static inline vm v_cmpeq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vm v_cmpneq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
static inline vm v_cmplt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vf v_blend(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, a, b); }
static inline unsigned v_mask_bits(vm m) { return m; }
static inline vf v_labels(const int32_t *y)
{
    return _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)y));
}

/* The tree of kernels.h over a row's 16 lanes: l + 8, then + 4, + 2, + 1. */
static inline float v_hsum16(const vf *s)
{
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(s[0]),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(
                                 _mm512_castps_pd(s[0]), 1)));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_shuffle_ps(b, b, 1));
    return _mm_cvtss_f32(b);
}

static inline float v_hmax16(const vf *s) { return _mm512_reduce_max_ps(s[0]); }

/* 16 pixels to their values (float)v / 255.0f: the quotient q = x / 255
 * estimated as x (1 / 255), then corrected once by its remainder,
 * x - 255 q, which the fused multiply-add computes exactly: the result is
 * the correctly rounded quotient for every byte (tested on all 256). */
static inline vf v_pixels(const uint8_t *p)
{
    vf x = _mm512_cvtepi32_ps(
        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
    vf r = _mm512_set1_ps(1.0f / 255.0f);
    vf q = _mm512_mul_ps(x, r);
    vf rem = _mm512_fnmadd_ps(q, _mm512_set1_ps(255.0f), x);
    return _mm512_fmadd_ps(rem, r, q);
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

/* Each row's loss through the C library's log, as avx2.c does: a vector
 * logarithm of our own differs from it in the last bit for some sums, and
 * the two tables must agree bit for bit (kernels.h). */
/* Doubles, for the losses: 8 lanes. */
typedef __m512d vd;
typedef __mmask8 vdm;
#define VD 8
static inline vd vd_set1(double a) { return _mm512_set1_pd(a); }
static inline vd vd_add(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd vd_fma(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
static inline vdm vd_cmpgt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
static inline vdm vd_not_finite(vd a)
{
    return _mm512_cmp_pd_mask(a, _mm512_set1_pd(INFINITY), _CMP_NLT_UQ);
}
static inline vd vd_blend(vdm m, vd a, vd b) { return _mm512_mask_blend_pd(m, a, b); }
/* x = 2^e m, m in [1, 2), for positive normal x */
static inline void vd_split(vd x, vd *m, vd *e)
{
    *m = _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    *e = _mm512_getexp_pd(x);
}
/* The lanes [8 h, 8 h + 8) of a float vector as doubles. */
static inline vd vd_of(vf a, int h)
{
    return _mm512_cvtps_pd(h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(
                                   _mm512_castps_pd(a), 1))
                             : _mm512_castps512_ps256(a));
}
static inline void vd_store(double *p, vd a) { _mm512_storeu_pd(p, a); }

#include "body.inc"

#endif
