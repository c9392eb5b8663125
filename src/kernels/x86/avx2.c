/* AVX2 + FMA kernels (x86/body.inc on 8-float vectors). This file alone is
 * compiled with -mavx2 -mfma; it is called only when the CPU has both (see
 * dispatch.c). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../kernels.h"

#if defined(__AVX2__) && defined(__FMA__)

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

#define VL 8
typedef __m256 vf;
#define FN(name) avx2_##name
#define TABLE sr_kernels_avx2
#define TABLE_NAME "avx2"
#define MAX_NR 12
#define HIDDEN_CASES                                                          \
    HT(1) HT(2) HT(3) HT(4) HT(5) HT(6) HT(7) HT(8) HT(9) HT(10) HT(11)     \
    HT(12)
#define QUARTER_CASES HT(1) HT(2) HT(3)
#define DF_NR4_MR 2
#define DF_NR2_MR 4
#define DF_NR1_MR 8

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
static inline vf v_iota(void) { return _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7); }
static inline vf v_exp_nonpositive(vf a) { return exp_nonpositive(a); }
/* A vector is already 8 lanes: no slice ends in a half vector here, and
 * the half-vector names are the vector's own. */
typedef vf vh;
#define vh_zero v_zero
#define vh_load v_load
#define vh_store v_store
#define vh_set1 v_set1
#define vh_of(a) (a)
#define vh_fma v_fma
#define vh_add v_add
#define vh_sub v_sub
#define vh_mul v_mul
#define vh_relu v_relu
typedef __m256 vm;
static inline vm v_cmpeq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline vm v_cmpneq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
static inline vm v_cmplt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vf v_blend(vm m, vf a, vf b) { return _mm256_blendv_ps(a, b, m); }
static inline unsigned v_mask_bits(vm m) { return (unsigned)_mm256_movemask_ps(m); }
static inline vf v_labels(const int32_t *y)
{
    return _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)y));
}

/* The tree of kernels.h over a row's 16 lanes, held as lanes 0-7 and
 * 8-15: l + 8 (the two vectors), then + 4, + 2, + 1 within one. */
static inline float v_hsum16(const vf *s) { return hsum8(_mm256_add_ps(s[0], s[1])); }

static inline float v_hmax16(const vf *s) { return hmax8(_mm256_max_ps(s[0], s[1])); }

/* 8 pixels to their values (float)v / 255.0f, as in avx512.c. */
static inline vf v_pixels(const uint8_t *p)
{
    vf x = _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
    vf r = _mm256_set1_ps(1.0f / 255.0f);
    vf q = _mm256_mul_ps(x, r);
    vf rem = _mm256_fnmadd_ps(q, _mm256_set1_ps(255.0f), x);
    return _mm256_fmadd_ps(rem, r, q);
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

/* Doubles, for the losses: 4 lanes. */
typedef __m256d vd;
typedef __m256d vdm;
#define VD 4
static inline vd vd_set1(double a) { return _mm256_set1_pd(a); }
static inline vd vd_add(vd a, vd b) { return _mm256_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm256_div_pd(a, b); }
static inline vd vd_fma(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
static inline vdm vd_cmpgt(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
static inline vdm vd_not_finite(vd a)
{
    return _mm256_cmp_pd(a, _mm256_set1_pd(INFINITY), _CMP_NLT_UQ);
}
static inline vd vd_blend(vdm m, vd a, vd b) { return _mm256_blendv_pd(a, b, m); }
/* x = 2^e m, m in [1, 2), for positive normal x, from its bits: what
 * AVX-512's getmant and getexp give. The exponent field becomes a double
 * exactly through 2^52 + field - 2^52. */
static inline void vd_split(vd x, vd *m, vd *e)
{
    __m256i bits = _mm256_castpd_si256(x);
    __m256i field = _mm256_srli_epi64(bits, 52);
    vd big = _mm256_castsi256_pd(
        _mm256_or_si256(field, _mm256_set1_epi64x(0x4330000000000000LL)));
    *e = _mm256_sub_pd(big, _mm256_set1_pd(4503599627370496.0 + 1023.0));
    *m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)),
        _mm256_set1_epi64x(0x3FF0000000000000LL)));
}
static inline vd vd_of(vf a, int h)
{
    return _mm256_cvtps_pd(h ? _mm256_extractf128_ps(a, 1)
                             : _mm256_castps256_ps128(a));
}
static inline void vd_store(double *p, vd a) { _mm256_storeu_pd(p, a); }

#include "body.inc"

#endif
