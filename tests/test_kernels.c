/* Every entry of the kernel table (kernels/kernels.h) against its
 * contract, against the reference and across instruction sets, for every
 * table this machine runs, on random data over awkward shapes.
 *
 * Letters: B rows, n features, k classes (or a width), ld = SR_PAD16(k).
 *
 * Each output meets three checks:
 *  - The contract, written out here in plain C in the order of summation
 *    kernels.h states, with a multiply then an add for the reference and
 *    with fmaf for the SIMD tables: each table must give these bits
 *    exactly. A changed order of summation, a lane mask, a slice bound or
 *    a write outside the slice shows here (the whole output array is
 *    compared, the parts the kernel must leave alone included).
 *  - Each SIMD table against the reference, to rounding. For a sum of N
 *    products (plus a bias) whose terms' absolute values add up to S:
 *        |simd - ref| <= (N + 2) eps S,   eps = FLT_EPSILON = 2^-23.
 *    Why: either sum, fused or not, is within gamma_N S of the exact one
 *    (gamma_N = N u / (1 - N u), u = eps / 2: one rounding per product and
 *    one per addition), so the two are within 2 gamma_N S ~ N eps S of
 *    each other, and the bias's addition rounds once more in each. A rule
 *    moving w by such a sum adds its own few roundings: (N + 4) eps M, M
 *    the rule's terms' absolute values with |a| counted as S.
 *    The softmax's exponential is a polynomial in the SIMD tables and
 *    expf in the reference; both sum the same positive terms in the same
 *    order, so the bound is relative to the outputs themselves, with
 *    L = ceil(k / 16) additions in each lane's chain: a probability p
 *    within (8 + L) eps (p + 1{label}) + 4 FLT_MIN, a row's loss (the log
 *    of the sum) within (8 + L) eps + 4 DBL_EPSILON |loss|. Why: the two
 *    exponentials differ by at most 3 eps of themselves, the two sums add
 *    one rounding each per addition (L + 4 of them, with the tree), the
 *    division one more; below exp(-87.3) the SIMD exponential stops near
 *    FLT_MIN where expf reaches 0.
 *  - The AVX2 table against the AVX-512 one, bit for bit.
 * Outputs of one table are also checked against each other where the
 * contract makes them equal (gradient and probabilities, the evaluation's
 * sum and the rows' losses, a scatter then a sweep and the transposed
 * step).
 *
 * Shapes: k in {1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 1000}, n in {1, 7,
 * 65535, 65536, 70000}, B in {1, 7, 16, 100}, each value against small
 * values of the others (not every combination, to keep the file fast;
 * the largest cases run one variant each, in turn). k = 1 runs twice:
 * padded to ld = 16 on every table, and with ld = 1 on the reference
 * alone (the engine's one-column layout, which the SIMD kernels, working
 * on whole 16-float groups, never see). U8S data only up to n = 65536
 * (its column indices are uint16). */
#include "testutil.h"

#include <float.h>
#include <malloc.h>

#include "kernels/kernels.h"

#define EPS ((double)FLT_EPSILON)

/* ---- What failed, for the messages ---- */

static char ctx[256];

static void set_ctx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
}

static void assert_same_bits(const float *a, const float *b, size_t count,
                             const char *what)
{
    if (!count || !memcmp(a, b, count * sizeof *a))
        return;
    for (size_t i = 0; i < count; i++)
        if (memcmp(a + i, b + i, sizeof *a)) {
            print_error("%s: %s[%zu] = %.9g, expected %.9g (same bits)\n",
                        ctx, what, i, (double)a[i], (double)b[i]);
            break;
        }
    fail();
}

static void assert_same_doubles(const double *a, const double *b,
                                size_t count, const char *what)
{
    if (!count || !memcmp(a, b, count * sizeof *a))
        return;
    for (size_t i = 0; i < count; i++)
        if (memcmp(a + i, b + i, sizeof *a)) {
            print_error("%s: %s[%zu] = %.17g, expected %.17g (same bits)\n",
                        ctx, what, i, a[i], b[i]);
            break;
        }
    fail();
}

/* |a - b| <= tol, element by element (equal values pass, infinities
 * included). */
static void assert_near(const float *a, const float *b, const double *tol,
                        size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        if (!(a[i] == b[i] ||
              fabs((double)a[i] - (double)b[i]) <= tol[i])) {
            print_error("%s: %s[%zu] = %.9g, reference %.9g (tolerance %g)\n",
                        ctx, what, i, (double)a[i], (double)b[i], tol[i]);
            fail();
        }
}

/* ---- Random data ---- */

static uint32_t seed_state = 12345;

static uint32_t next_u32(void)
{
    seed_state ^= seed_state << 13;
    seed_state ^= seed_state >> 17;
    seed_state ^= seed_state << 5;
    return seed_state;
}

static size_t below(size_t n) /* [0, n) */
{
    return n ? (size_t)next_u32() % n : 0;
}

static float frand(void) /* [-1, 1) */
{
    return (float)(next_u32() >> 8) / 8388608.0f - 1.0f;
}

/* 64-byte aligned, the size rounded up to a whole line; xalloc zeroed. */
static size_t line_size(size_t bytes)
{
    return bytes ? (bytes + 63) / 64 * 64 : 64;
}

static void *raw_alloc(size_t bytes)
{
    void *p = aligned_alloc(64, line_size(bytes));
    assert_non_null(p);
    return p;
}

static void *xalloc(size_t bytes)
{
    void *p = raw_alloc(bytes);
    memset(p, 0, line_size(bytes));
    return p;
}

/* Random floats in [-1, 1): drawn once into a pool, then each array a
 * window of it from a random place (generating millions of floats for
 * every case of the largest shapes would cost more than the tests). */
#define POOL (1u << 21)
static float *pool;

static float *frand_new(size_t count)
{
    if (!pool) {
        pool = raw_alloc(POOL * sizeof *pool);
        for (size_t i = 0; i < POOL; i++)
            pool[i] = frand();
    }
    float *a = raw_alloc(count * sizeof *a);
    for (size_t done = 0, at = below(POOL); done < count; at = 0) {
        size_t take = count - done < POOL - at ? count - done : POOL - at;
        memcpy(a + done, pool + at, take * sizeof *a);
        done += take;
    }
    return a;
}

static float *fdup(const float *src, size_t count)
{
    float *a = raw_alloc(count * sizeof *a);
    memcpy(a, src, count * sizeof *a);
    return a;
}

static double *tol_new(size_t count)
{
    return xalloc(count * sizeof(double));
}

/* ---- The tables ---- */

typedef struct tables {
    const sr_kernel_table *t[3]; /* t[0] the reference, then the SIMD ones */
    size_t n;
    int avx2, avx512; /* their indices in t, or -1 */
} tables;

/* The reference and, when `simd`, every SIMD table this machine runs. */
static tables get_tables(int simd)
{
    tables T = {{&sr_kernels_ref, NULL, NULL}, 1, -1, -1};
    if (!simd)
        return T;
    const sr_kernel_table *a = sr_kernels_named("avx2");
    const sr_kernel_table *b = sr_kernels_named("avx512");
    if (a) {
        T.avx2 = (int)T.n;
        T.t[T.n++] = a;
    }
    if (b) {
        T.avx512 = (int)T.n;
        T.t[T.n++] = b;
    }
    return T;
}

/* out[s], table s's output of `count` floats: the reference's the
 * contract's unfused bits, each SIMD table's its fused bits and within tol
 * of the reference's, AVX2's AVX-512's. */
static void check(const tables *T, float *const *out, const float *want_ref,
                  const float *want_fused, const double *tol, size_t count,
                  const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "ref %s", what);
    assert_same_bits(out[0], want_ref, count, name);
    for (size_t s = 1; s < T->n; s++) {
        snprintf(name, sizeof name, "%s %s", T->t[s]->name, what);
        assert_same_bits(out[s], want_fused, count, name);
        assert_near(out[s], out[0], tol, count, name);
    }
    if (T->avx2 >= 0 && T->avx512 >= 0) {
        snprintf(name, sizeof name, "avx2 vs avx512 %s", what);
        assert_same_bits(out[T->avx2], out[T->avx512], count, name);
    }
}

static void free_outs(float **out, size_t n)
{
    for (size_t s = 0; s < n; s++)
        free(out[s]);
}

/* ---- The contract's arithmetic ---- */

/* c + a b: fused (the SIMD tables) or a product then an addition (the
 * reference; this file is built with -ffp-contract=off). */
static float madd(int fused, float a, float b, float c)
{
    return fused ? fmaf(a, b, c) : c + a * b;
}

/* The rules of kernels.h, one lane. */
static void rule_formula(const sr_rule *r, float *w, float *v, float a)
{
    switch (r->kind) {
    case SR_RULE_SGD:
        *w = *w - r->scale * a;
        break;
    case SR_RULE_DECAY:
        *w = *w - (r->scale * a + r->decay * *w);
        break;
    case SR_RULE_MOMENTUM:
        *v = r->mu * *v + (r->invB * a + r->l2 * *w);
        *w = *w - r->lr * *v;
        break;
    case SR_RULE_ADD:
        *w = *w + a;
        break;
    }
}

/* The tolerances of w and v after the rule moved them by a sum of N
 * terms of absolute sum S (the header's bound). */
static void rule_tol(const sr_rule *r, float w, float v, size_t N, double S,
                     double *tw, double *tv)
{
    double aw = fabs((double)w), mw = aw, mv = 0.0;
    switch (r->kind) {
    case SR_RULE_SGD:
        mw = aw + r->scale * S;
        break;
    case SR_RULE_DECAY:
        mw = aw + r->scale * S + r->decay * aw;
        break;
    case SR_RULE_MOMENTUM:
        mv = r->mu * fabs((double)v) + r->invB * S + r->l2 * aw;
        mw = aw + r->lr * mv;
        break;
    case SR_RULE_ADD:
        mw = aw + S;
        break;
    }
    *tw = (double)(N + 4) * EPS * mw;
    if (tv)
        *tv = (double)(N + 4) * EPS * mv;
}

static const char *const RULE_NAMES[] = {"sgd", "decay", "momentum", "add"};

static sr_rule make_rule(sr_rule_kind kind, size_t B, float *V)
{
    sr_rule r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.lr = 0.2f;
    r.scale = r.lr / (float)B;
    r.decay = r.lr * 0.01f;
    r.mu = 0.9f;
    r.invB = 1.0f / (float)B;
    r.l2 = 0.01f;
    r.V = kind == SR_RULE_MOMENTUM ? V : NULL;
    return r;
}

/* ---- Shapes ---- */

static const size_t KS[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 1000};
static const size_t NS[] = {1, 7, 65535, 65536, 70000};
static const size_t BS[] = {1, 7, 16, 100};
#define COUNT(a) (sizeof(a) / sizeof *(a))

typedef struct shape {
    size_t k, n, B;
} shape;

/* Every k with few features and rows (and with one feature); every n
 * with a few rows (of 3 classes when n is large: W has n rows); every B
 * with a narrow row and a wide one over enough features that the sparse
 * forward works in several chunks; and a very wide row. */
static size_t make_shapes(shape *out)
{
    size_t c = 0;
    for (size_t a = 0; a < COUNT(KS); a++) {
        out[c++] = (shape){KS[a], 7, 7};
        out[c++] = (shape){KS[a], 1, 16};
    }
    for (size_t a = 0; a < COUNT(NS); a++)
        out[c++] = (shape){NS[a] > 64 ? 3 : 17, NS[a], 7};
    for (size_t a = 0; a < COUNT(BS); a++) {
        out[c++] = (shape){16, 7, BS[a]};
        out[c++] = (shape){100, 1000, BS[a]};
    }
    out[c++] = (shape){1000, 300, 16};
    return c;
}
#define MAX_SHAPES 64

/* Whether a case's parameters (n rows of ld) are large enough that it
 * runs one variant (rule, strides...) of four, each in turn, not all:
 * the large cases' turns still go through every variant. */
#define BIG(n, ld) ((n) * (ld) > (1u << 18))

/* The row widths to test k at: ld = 16 on every table and, for k = 1,
 * ld = 1 on the reference alone. */
static size_t widths(size_t k, size_t *ld, int *simd)
{
    ld[0] = SR_PAD16(k);
    simd[0] = 1;
    if (k != 1)
        return 1;
    ld[1] = 1;
    simd[1] = 0;
    return 2;
}

/* A slice [c0, c1) of a row of ld floats: the whole row when `whole` or
 * ld < 32, else a random run of 16-float groups that is not all of it. */
static void pick_slice(size_t ld, int whole, size_t *c0, size_t *c1)
{
    if (whole || ld < 32) {
        *c0 = 0;
        *c1 = ld;
        return;
    }
    size_t groups = ld / 16, g0, g1;
    do {
        g0 = below(groups);
        g1 = g0 + 1 + below(groups - g0);
    } while (g0 == 0 && g1 == groups);
    *c0 = g0 * 16;
    *c1 = g1 * 16;
}

/* A slice [c0, c1) for the dense kernels, which take any multiple of 8
 * for c1 (the layers end a slice at the model's last live lanes, k
 * rounded up to 8): by v mod 3, the whole row, the live lanes, or a run
 * from a random 16-float group to a random multiple of 8. */
static void pick_dense_slice(size_t ld, size_t k, unsigned v, size_t *c0,
                             size_t *c1)
{
    *c0 = 0;
    *c1 = ld;
    if (ld < 16 || v % 3 == 0)
        return;
    if (v % 3 == 1) {
        *c1 = (k + 7) / 8 * 8;
        return;
    }
    *c0 = below(ld / 16) * 16;
    *c1 = *c0 + 8 * (1 + below((ld - *c0) / 8));
}

/* ---- Sparse rows ---- */

typedef struct sparse {
    size_t m, n;
    size_t *ptr;
    uint32_t *col32;
    uint16_t *col16; /* when n <= 65536 */
    uint8_t *u8;
    float *f32;
} sparse;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* m rows of n features, the same entries in both formats: row 0 empty,
 * row 1 as full as the others may be (columns 0 and n - 1 included), the
 * rest of random length; a few dozen entries a row when n is large. */
static void sparse_make(sparse *s, size_t m, size_t n)
{
    size_t cap = n <= 64 ? n : n <= 2000 ? n / 5 : 40;
    s->m = m;
    s->n = n;
    s->ptr = xalloc((m + 1) * sizeof *s->ptr);
    s->col32 = xalloc((m * cap + 1) * sizeof *s->col32);
    s->col16 = n <= 65536 ? xalloc((m * cap + 1) * sizeof *s->col16) : NULL;
    s->u8 = xalloc(m * cap + 1);
    s->f32 = xalloc((m * cap + 1) * sizeof *s->f32);
    size_t q = 0;
    for (size_t r = 0; r < m; r++) {
        s->ptr[r] = q;
        size_t want = r == 0 ? 0 : r == 1 ? cap : below(cap + 1);
        uint32_t *col = s->col32 + q;
        size_t got = 0;
        if (want * 4 >= n) {
            /* selection sampling: exactly `want` columns, in order */
            for (size_t j = 0; j < n && got < want; j++)
                if (below(n - j) < want - got)
                    col[got++] = (uint32_t)j;
        } else {
            for (size_t e = 0; e < want; e++)
                col[e] = (uint32_t)below(n);
            if (r == 1 && want >= 2) {
                col[0] = 0;
                col[1] = (uint32_t)(n - 1);
            }
            qsort(col, want, sizeof *col, cmp_u32);
            for (size_t e = 0; e < want; e++)
                if (!got || col[e] != col[got - 1])
                    col[got++] = col[e];
        }
        for (size_t e = 0; e < got; e++) {
            if (s->col16)
                s->col16[q + e] = (uint16_t)col[e];
            s->u8[q + e] = (uint8_t)(1 + below(255));
            s->f32[q + e] = frand();
        }
        q += got;
    }
    s->ptr[m] = q;
}

static void sparse_free(sparse *s)
{
    free(s->ptr), free(s->col32), free(s->col16), free(s->u8), free(s->f32);
}

/* The view of one format; the other format's arrays stay NULL, so that a
 * kernel reading the wrong ones crashes. */
static sr_xview view_of(const sparse *s, sr_xfmt fmt)
{
    sr_xview X;
    memset(&X, 0, sizeof X);
    X.fmt = fmt;
    X.n = s->n;
    X.ptr = s->ptr;
    if (fmt == SR_X_U8S) {
        X.col16 = s->col16;
        X.u8 = s->u8;
    } else {
        X.col32 = s->col32;
        X.f32 = s->f32;
    }
    return X;
}

static float val_at(const sr_xview *X, size_t p)
{
    return X->fmt == SR_X_U8S ? sr_pixel_scale[X->u8[p]] : X->f32[p];
}

static size_t col_at(const sr_xview *X, size_t p)
{
    return X->fmt == SR_X_U8S ? X->col16[p] : X->col32[p];
}

/* A batch of B rows of s: given by a list (rows 1 and 0 first, then
 * random rows, repeats allowed) or by `first` = 1. */
typedef struct batch {
    size_t *list;
    const size_t *rows;
    size_t first, B;
} batch;

static batch batch_make(const sparse *s, size_t B, int listed)
{
    batch b;
    b.B = B;
    b.first = 1;
    b.list = xalloc(B * sizeof *b.list);
    for (size_t i = 0; i < B; i++)
        b.list[i] = i < 2 ? 1 - i : below(s->m);
    b.rows = listed ? b.list : NULL;
    return b;
}

static size_t batch_row(const batch *b, size_t i)
{
    return b->rows ? b->rows[i] : b->first + i;
}

static const char *const FMT_NAMES[] = {"u8s", "csr"};

/* The formats s can be viewed in. */
static size_t formats(const sparse *s, sr_xfmt *f)
{
    size_t c = 0;
    if (s->col16)
        f[c++] = SR_X_U8S;
    f[c++] = SR_X_CSR;
    return c;
}

/* ---- sparse_fwd ---- */

static void sparse_fwd_case(const sparse *s, sr_xfmt fmt, size_t k, size_t ld,
                            int simd, unsigned v, size_t B)
{
    const sr_xview X = view_of(s, fmt);
    int bias = v & 1, relu = (v >> 1) & 1, listed = (v >> 2) & 1;
    size_t ldw = ld + (v == 5 ? 16 : 0), ldy = ld + (v & 2 ? 16 : 0);
    size_t c0, c1;
    pick_slice(ld, v == 0, &c0, &c1);
    if (ld == 1)
        ldw = ldy = 1;
    set_ctx("sparse_fwd k %zu ld %zu n %zu B %zu %s bias %d relu %d %s "
            "slice [%zu, %zu) ldw %zu ldy %zu",
            k, ld, s->n, B, FMT_NAMES[fmt], bias, relu,
            listed ? "rows" : "first", c0, c1, ldw, ldy);
    tables T = get_tables(simd);
    batch bt = batch_make(s, B, listed);
    float *W = frand_new(s->n * ldw), *b = frand_new(ldw);
    float *Y0 = frand_new(B * ldy);
    float *want[2] = {fdup(Y0, B * ldy), fdup(Y0, B * ldy)};
    double *tol = tol_new(B * ldy);
    for (size_t i = 0; i < B; i++) {
        size_t r = batch_row(&bt, i);
        for (size_t c = c0; c < c1; c++) {
            float y[2] = {0.0f, 0.0f};
            double S = bias ? fabs((double)b[c]) : 0.0;
            for (size_t p = s->ptr[r]; p < s->ptr[r + 1]; p++) {
                float x = val_at(&X, p), w = W[col_at(&X, p) * ldw + c];
                for (int f = 0; f < 2; f++)
                    y[f] = madd(f, x, w, y[f]);
                S += fabs((double)x * w);
            }
            for (int f = 0; f < 2; f++) {
                float z = bias ? y[f] + b[c] : y[f];
                want[f][i * ldy + c] = relu ? (z > 0.0f ? z : 0.0f) : z;
            }
            tol[i * ldy + c] =
                (double)(s->ptr[r + 1] - s->ptr[r] + 2) * EPS * S;
        }
    }
    float *out[3] = {NULL};
    for (size_t t = 0; t < T.n; t++) {
        out[t] = fdup(Y0, B * ldy);
        T.t[t]->sparse_fwd(out[t], ldy, &X, bt.rows, bt.first, B, W, ldw,
                           bias ? b : NULL, c0, c1, relu);
    }
    check(&T, out, want[0], want[1], tol, B * ldy, "Y");
    free_outs(out, T.n);
    free(W), free(b), free(Y0), free(want[0]), free(want[1]), free(tol);
    free(bt.list);
}

static void test_sparse_fwd(void **state)
{
    (void)state;
    shape sh[MAX_SHAPES];
    size_t nsh = make_shapes(sh);
    for (size_t a = 0; a < nsh; a++) {
        sparse s;
        sparse_make(&s, sh[a].B + 3, sh[a].n);
        size_t ld[2];
        int simd[2];
        size_t nw = widths(sh[a].k, ld, simd);
        sr_xfmt f[2];
        size_t nf = formats(&s, f);
        for (size_t w = 0; w < nw; w++)
            for (size_t q = 0; q < nf; q++)
                for (unsigned v = 0; v < 8; v++)
                    sparse_fwd_case(&s, f[q], sh[a].k, ld[w], simd[w], v,
                                    sh[a].B);
        sparse_free(&s);
    }
}

/* ---- sparse_fwd16 ---- */

static void test_sparse_fwd16(void **state)
{
    (void)state;
    shape sh[MAX_SHAPES];
    size_t nsh = make_shapes(sh);
    tables T = get_tables(1);
    for (size_t a = 0; a < nsh; a++) {
        if (sh[a].k > 16)
            continue;
        size_t k = sh[a].k, B = sh[a].B, n = sh[a].n;
        sparse s;
        sparse_make(&s, B + 3, n);
        sr_xfmt f[2];
        size_t nf = formats(&s, f);
        for (size_t q = 0; q < nf; q++)
            for (unsigned v = 0; v < 4; v++) {
                int bias = v & 1, listed = (v >> 1) & 1;
                set_ctx("sparse_fwd16 k %zu n %zu B %zu %s bias %d %s", k, n,
                        B, FMT_NAMES[f[q]], bias, listed ? "rows" : "first");
                const sr_xview X = view_of(&s, f[q]);
                batch bt = batch_make(&s, B, listed);
                /* the course's layout: lanes >= k of W zero */
                float *W = frand_new(n * 16), *b = frand_new(16);
                for (size_t j = 0; j < n; j++)
                    for (size_t c = k; c < 16; c++)
                        W[j * 16 + c] = 0.0f;
                float *want[2] = {frand_new(B * 16), NULL};
                want[1] = fdup(want[0], B * 16);
                double *tol = tol_new(B * 16);
                for (size_t i = 0; i < B; i++) {
                    size_t r = batch_row(&bt, i);
                    size_t p0 = s.ptr[r], nnz = s.ptr[r + 1] - p0;
                    for (size_t c = 0; c < 16; c++) {
                        float part[2][4] = {{0}};
                        double S = bias ? fabs((double)b[c]) : 0.0;
                        for (size_t e = 0; e < nnz; e++) {
                            float x = val_at(&X, p0 + e);
                            float w = W[col_at(&X, p0 + e) * 16 + c];
                            for (int g = 0; g < 2; g++)
                                part[g][e % 4] = madd(g, x, w, part[g][e % 4]);
                            S += fabs((double)x * w);
                        }
                        for (int g = 0; g < 2; g++) {
                            float z = (part[g][0] + part[g][1]) +
                                      (part[g][2] + part[g][3]);
                            want[g][i * 16 + c] = bias ? z + b[c] : z;
                        }
                        tol[i * 16 + c] = (double)(nnz + 2) * EPS * S;
                    }
                }
                float *out[3] = {NULL};
                for (size_t t = 0; t < T.n; t++) {
                    out[t] = fdup(want[0], B * 16);
                    for (size_t i = 0; i < B * 16; i++)
                        out[t][i] = 7.0f; /* all overwritten */
                    T.t[t]->sparse_fwd16(out[t], &X, bt.rows, bt.first, B, W,
                                         bias ? b : NULL);
                }
                check(&T, out, want[0], want[1], tol, B * 16, "Y");
                free_outs(out, T.n);
                free(W), free(b), free(want[0]), free(want[1]), free(tol);
                free(bt.list);
            }
        sparse_free(&s);
    }
}

/* ---- dense_fwd ---- */

static void dense_fwd_case(size_t k, size_t ld, int simd, size_t n, size_t B,
                           unsigned v)
{
    int bias = v & 1, relu = (v >> 1) & 1;
    size_t ldx = n + (v & 1 ? 5 : 0), ldw = ld + (v == 2 ? 16 : 0);
    size_t ldy = ld + (v & 1 ? 16 : 0), c0, c1;
    pick_dense_slice(ld, k, v, &c0, &c1);
    if (ld == 1)
        ldw = ldy = 1;
    set_ctx("dense_fwd k %zu ld %zu n %zu B %zu bias %d relu %d slice "
            "[%zu, %zu) ldx %zu ldw %zu ldy %zu",
            k, ld, n, B, bias, relu, c0, c1, ldx, ldw, ldy);
    tables T = get_tables(simd);
    float *X = frand_new(B * ldx), *W = frand_new(n * ldw);
    float *b = frand_new(ldw), *Y0 = frand_new(B * ldy);
    float *want[2] = {fdup(Y0, B * ldy), fdup(Y0, B * ldy)};
    double *tol = tol_new(B * ldy);
    for (size_t i = 0; i < B; i++)
        for (size_t c = c0; c < c1; c++) {
            float y[2] = {0.0f, 0.0f};
            double S = bias ? fabs((double)b[c]) : 0.0;
            for (size_t j = 0; j < n; j++) {
                float x = X[i * ldx + j], w = W[j * ldw + c];
                y[0] = madd(0, x, w, y[0]);
                y[1] = madd(1, x, w, y[1]);
                S += fabs((double)x * w);
            }
            for (int f = 0; f < 2; f++) {
                float z = bias ? y[f] + b[c] : y[f];
                want[f][i * ldy + c] = relu ? (z > 0.0f ? z : 0.0f) : z;
            }
            tol[i * ldy + c] = (double)(n + 2) * EPS * S;
        }
    float *out[3] = {NULL};
    for (size_t t = 0; t < T.n; t++) {
        out[t] = fdup(Y0, B * ldy);
        T.t[t]->dense_fwd(out[t], ldy, X, ldx, B, n, W, ldw, bias ? b : NULL,
                          c0, c1, relu);
    }
    check(&T, out, want[0], want[1], tol, B * ldy, "Y");
    free_outs(out, T.n);
    free(X), free(W), free(b), free(Y0), free(want[0]), free(want[1]);
    free(tol);
}

static void test_dense_fwd(void **state)
{
    (void)state;
    shape sh[MAX_SHAPES];
    size_t nsh = make_shapes(sh);
    for (size_t a = 0; a < nsh; a++) {
        size_t ld[2];
        int simd[2];
        size_t nw = widths(sh[a].k, ld, simd);
        /* the largest products: two variants (none and both of bias and
         * ReLU) rather than four */
        int big = sh[a].n * sh[a].B * ld[0] > (1u << 21);
        for (size_t w = 0; w < nw; w++)
            for (unsigned v = 0; v < 4; v += big ? 3 : 1)
                dense_fwd_case(sh[a].k, ld[w], simd[w], sh[a].n, sh[a].B, v);
    }
}

/* ---- The transpose of a batch ---- */

typedef struct csc {
    sr_csc T;
    uint32_t *col, *end;
    uint16_t *row;
    uint8_t *u8;
    float *f32;
} csc;

/* The batch's rows as columns, as kernels.h's sr_csc: the features present
 * in a shuffled order, each column's rows (batch positions) increasing,
 * values as u8 (from U8S) or f32 (from CSR). */
static void csc_make(csc *c, const sparse *s, const sr_xview *X,
                     const batch *b)
{
    size_t n = s->n, total = 0, ncols = 0;
    uint32_t *cnt = xalloc(n * sizeof *cnt), *at = xalloc(n * sizeof *at);
    for (size_t i = 0; i < b->B; i++) {
        size_t r = batch_row(b, i);
        for (size_t p = s->ptr[r]; p < s->ptr[r + 1]; p++, total++)
            if (!cnt[col_at(X, p)]++)
                ncols++;
    }
    c->col = xalloc((ncols + 1) * sizeof *c->col);
    c->end = xalloc((ncols + 1) * sizeof *c->end);
    c->row = xalloc((total + 1) * sizeof *c->row);
    c->u8 = X->fmt == SR_X_U8S ? xalloc(total + 1) : NULL;
    c->f32 = X->fmt == SR_X_CSR ? xalloc((total + 1) * sizeof *c->f32) : NULL;
    size_t q = 0;
    for (size_t j = 0; j < n; j++)
        if (cnt[j])
            c->col[q++] = (uint32_t)j;
    for (size_t a = ncols; a > 1; a--) { /* any order of columns */
        size_t z = below(a);
        uint32_t t = c->col[a - 1];
        c->col[a - 1] = c->col[z];
        c->col[z] = t;
    }
    uint32_t e = 0;
    for (q = 0; q < ncols; q++) {
        at[c->col[q]] = e;
        e += cnt[c->col[q]];
        c->end[q] = e;
    }
    for (size_t i = 0; i < b->B; i++) {
        size_t r = batch_row(b, i);
        for (size_t p = s->ptr[r]; p < s->ptr[r + 1]; p++) {
            uint32_t x = at[col_at(X, p)]++;
            c->row[x] = (uint16_t)i;
            if (c->u8)
                c->u8[x] = X->u8[p];
            else
                c->f32[x] = X->f32[p];
        }
    }
    c->T.ncols = ncols;
    c->T.col = c->col;
    c->T.end = c->end;
    c->T.row = c->row;
    c->T.u8 = c->u8;
    c->T.f32 = c->f32;
    free(cnt), free(at);
}

static void csc_free(csc *c)
{
    free(c->col), free(c->end), free(c->row), free(c->u8), free(c->f32);
}

/* The batch's gradient sums X^T G on lanes [c0, c1), both ways (f = 0
 * unfused, 1 fused), into acc[f] (n rows of lda, starting from their
 * contents): each row of acc in batch order, as sparse_scatter and
 * sparse_step sum. cnt[j] gets the terms of row j, mag[j lda + c] the
 * sum of their absolute values. */
static void grad_sums(float *const *acc, size_t lda, const sparse *s,
                      const sr_xview *X, const batch *b, const float *G,
                      size_t ldg, size_t c0, size_t c1, size_t *cnt,
                      double *mag)
{
    for (size_t i = 0; i < b->B; i++) {
        size_t r = batch_row(b, i);
        for (size_t p = s->ptr[r]; p < s->ptr[r + 1]; p++) {
            size_t j = col_at(X, p);
            float x = val_at(X, p);
            cnt[j]++;
            for (size_t c = c0; c < c1; c++) {
                float g = G[i * ldg + c];
                for (int f = 0; f < 2; f++)
                    acc[f][j * lda + c] = madd(f, x, g, acc[f][j * lda + c]);
                mag[j * lda + c] += fabs((double)x * g);
            }
        }
    }
}

/* The step's expected W and V (f = 0, 1) from their starting values:
 * rows j with `all` or cnt[j] > 0 moved on lanes [c0, c1) by a =
 * acc[f][j], and the tolerances of W and V. */
static void step_expect(float *const *W, float *const *V, size_t ldw,
                        size_t n, float *const *acc, const size_t *cnt,
                        const double *mag, size_t c0, size_t c1,
                        const sr_rule *rule, int all, double *tw, double *tv)
{
    for (size_t j = 0; j < n; j++) {
        if (!all && !cnt[j])
            continue;
        for (size_t c = c0; c < c1; c++) {
            size_t o = j * ldw + c;
            rule_tol(rule, W[0][o], V[0][o], cnt[j], mag[o], &tw[o], &tv[o]);
            for (int f = 0; f < 2; f++)
                rule_formula(rule, &W[f][o], &V[f][o], acc[f][o]);
        }
    }
}

/* ---- sparse_step ---- */

/* The columns [0, ncols) in three consecutive ranges (some may be
 * empty). */
static void three_ranges(size_t total, size_t *cut)
{
    cut[0] = 0;
    cut[1] = below(total + 1);
    cut[2] = cut[1] + below(total - cut[1] + 1);
    cut[3] = total;
}

static void test_sparse_step(void **state)
{
    (void)state;
    shape sh[MAX_SHAPES];
    size_t nsh = make_shapes(sh);
    unsigned turn = 0;
    for (size_t a = 0; a < nsh; a++) {
        size_t k = sh[a].k, n = sh[a].n, B = sh[a].B;
        sparse s;
        sparse_make(&s, B + 3, n);
        size_t ldv[2];
        int simd[2];
        size_t nw = widths(k, ldv, simd);
        sr_xfmt f[2];
        size_t nf = formats(&s, f);
        for (size_t w = 0; w < nw; w++)
            for (size_t q = 0; q < nf; q++) {
                unsigned pick = BIG(n, ldv[w]) ? turn++ % 4 : 4;
                for (unsigned kind = 0; kind < 4; kind++) {
                    if (pick < 4 && kind != pick)
                        continue;
                    size_t ld = ldv[w], ldw = ld, c0, c1;
                    size_t ldg = ld == 1 ? 1 : ld + 16 * (kind & 1);
                    int listed = (kind + q) & 1;
                    pick_slice(ld, kind == 0, &c0, &c1);
                    const sr_xview X = view_of(&s, f[q]);
                    batch bt = batch_make(&s, B, listed);
                    csc cs;
                    csc_make(&cs, &s, &X, &bt);
                    size_t cut[4];
                    three_ranges(cs.T.ncols, cut);
                    set_ctx("sparse_step k %zu ld %zu n %zu B %zu %s %s %s "
                            "lanes [%zu, %zu) columns %zu | %zu | %zu",
                            k, ld, n, B, FMT_NAMES[f[q]], RULE_NAMES[kind],
                            listed ? "rows" : "first", c0, c1, cut[1],
                            cut[2], cut[3]);
                    tables T = get_tables(simd[w]);
                    size_t nW = n * ldw;
                    float *W0 = frand_new(nW), *V0 = frand_new(nW);
                    float *G = frand_new(B * ldg);
                    float *acc[2] = {xalloc(nW * sizeof(float)),
                                     xalloc(nW * sizeof(float))};
                    float *We[2] = {fdup(W0, nW), fdup(W0, nW)};
                    float *Ve[2] = {fdup(V0, nW), fdup(V0, nW)};
                    size_t *cnt = xalloc(n * sizeof *cnt);
                    double *mag = tol_new(nW), *tw = tol_new(nW),
                           *tv = tol_new(nW);
                    grad_sums(acc, ldw, &s, &X, &bt, G, ldg, c0, c1, cnt, mag);
                    sr_rule rule0 = make_rule((sr_rule_kind)kind, B, NULL);
                    step_expect(We, Ve, ldw, n, acc, cnt, mag, c0, c1, &rule0,
                                0, tw, tv);
                    float *outW[3] = {NULL}, *outV[3] = {NULL};
                    for (size_t t = 0; t < T.n; t++) {
                        outW[t] = fdup(W0, nW);
                        outV[t] = fdup(V0, nW);
                        sr_rule rule = make_rule((sr_rule_kind)kind, B,
                                                 outV[t]);
                        for (int r = 0; r < 3; r++)
                            T.t[t]->sparse_step(outW[t], ldw, &cs.T, cut[r],
                                                cut[r + 1], G, ldg, c0, c1,
                                                &rule);
                    }
                    check(&T, outW, We[0], We[1], tw, nW, "W");
                    check(&T, outV, Ve[0], Ve[1], tv, nW, "V");
                    free_outs(outW, T.n);
                    free_outs(outV, T.n);
                    free(W0), free(V0), free(G), free(acc[0]), free(acc[1]);
                    free(We[0]), free(We[1]), free(Ve[0]), free(Ve[1]);
                    free(cnt), free(mag), free(tw), free(tv);
                    csc_free(&cs);
                    free(bt.list);
                }
            }
        sparse_free(&s);
    }
}

/* ---- sparse_scatter and apply_rows ---- */

/* The scatter alone, into an accumulator holding values already (it adds)
 * with rows of lda >= ld floats. */
static void scatter_case(const sparse *s, sr_xfmt fmt, size_t k, size_t ld,
                         int simd, unsigned v, size_t B)
{
    const sr_xview X = view_of(s, fmt);
    int listed = v & 1;
    size_t n = s->n, lda = ld == 1 ? 1 : ld + 16 * ((v >> 1) & 1);
    size_t ldg = ld == 1 ? 1 : ld + 16 * (v & 1), c0, c1;
    pick_slice(ld, v == 0, &c0, &c1);
    set_ctx("sparse_scatter k %zu ld %zu n %zu B %zu %s %s lanes [%zu, %zu) "
            "lda %zu ldg %zu",
            k, ld, n, B, FMT_NAMES[fmt], listed ? "rows" : "first", c0, c1,
            lda, ldg);
    tables T = get_tables(simd);
    batch bt = batch_make(s, B, listed);
    float *G = frand_new(B * ldg), *acc0 = frand_new(n * lda);
    float *want[2] = {fdup(acc0, n * lda), fdup(acc0, n * lda)};
    size_t *cnt = xalloc(n * sizeof *cnt);
    double *tol = tol_new(n * lda);
    for (size_t i = 0; i < n * lda; i++)
        tol[i] = fabs((double)acc0[i]);
    grad_sums(want, lda, s, &X, &bt, G, ldg, c0, c1, cnt, tol);
    for (size_t j = 0; j < n; j++) /* the terms and the value added to */
        for (size_t c = 0; c < lda; c++)
            tol[j * lda + c] *= (double)(cnt[j] + 3) * EPS;
    float *out[3] = {NULL};
    for (size_t t = 0; t < T.n; t++) {
        out[t] = fdup(acc0, n * lda);
        T.t[t]->sparse_scatter(out[t], lda, &X, bt.rows, bt.first, B, G, ldg,
                               c0, c1);
    }
    check(&T, out, want[0], want[1], tol, n * lda, "acc");
    free_outs(out, T.n);
    free(G), free(acc0), free(want[0]), free(want[1]), free(cnt), free(tol);
    free(bt.list);
}

static void test_sparse_scatter(void **state)
{
    (void)state;
    shape sh[MAX_SHAPES];
    size_t nsh = make_shapes(sh);
    unsigned turn = 0;
    for (size_t a = 0; a < nsh; a++) {
        sparse s;
        sparse_make(&s, sh[a].B + 3, sh[a].n);
        size_t ld[2];
        int simd[2];
        size_t nw = widths(sh[a].k, ld, simd);
        sr_xfmt f[2];
        size_t nf = formats(&s, f);
        for (size_t w = 0; w < nw; w++)
            for (size_t q = 0; q < nf; q++) {
                unsigned pick = BIG(sh[a].n, ld[w]) ? turn++ % 4 : 4;
                for (unsigned v = 0; v < 4; v++)
                    if (pick == 4 || v == pick)
                        scatter_case(&s, f[q], sh[a].k, ld[w], simd[w], v,
                                     sh[a].B);
            }
        sparse_free(&s);
    }
}

/* apply_rows alone, on an accumulator of random values: rows [j0, j1)
 * (a part of them) move by the rule on lanes [c0, c1), exactly as the
 * formulas (no sum: every table the same bits), and their lanes of acc
 * become zero; the rest of W, V and acc stays. */
static void test_apply_rows(void **state)
{
    (void)state;
    for (size_t a = 0; a < COUNT(KS); a++) {
        size_t ld[2];
        int simd[2];
        size_t nw = widths(KS[a], ld, simd);
        for (size_t w = 0; w < nw; w++)
            for (unsigned kind = 0; kind < 4; kind++) {
                size_t n = 37, nW = n * ld[w], j0 = below(n), c0, c1;
                size_t j1 = j0 + 1 + below(n - j0);
                pick_slice(ld[w], kind == 1, &c0, &c1);
                set_ctx("apply_rows k %zu ld %zu %s rows [%zu, %zu) lanes "
                        "[%zu, %zu)",
                        KS[a], ld[w], RULE_NAMES[kind], j0, j1, c0, c1);
                tables T = get_tables(simd[w]);
                float *W0 = frand_new(nW), *V0 = frand_new(nW);
                float *A0 = frand_new(nW);
                float *We = fdup(W0, nW), *Ve = fdup(V0, nW),
                      *Ae = fdup(A0, nW);
                sr_rule r0 = make_rule((sr_rule_kind)kind, 100, NULL);
                for (size_t j = j0; j < j1; j++)
                    for (size_t c = c0; c < c1; c++) {
                        size_t o = j * ld[w] + c;
                        rule_formula(&r0, &We[o], &Ve[o], Ae[o]);
                        Ae[o] = 0.0f;
                    }
                double *zero = tol_new(nW);
                float *oW[3] = {NULL}, *oV[3] = {NULL}, *oA[3] = {NULL};
                for (size_t t = 0; t < T.n; t++) {
                    oW[t] = fdup(W0, nW);
                    oV[t] = fdup(V0, nW);
                    oA[t] = fdup(A0, nW);
                    sr_rule r = make_rule((sr_rule_kind)kind, 100, oV[t]);
                    T.t[t]->apply_rows(oW[t], ld[w], oA[t], j0, j1, c0, c1,
                                       &r);
                }
                check(&T, oW, We, We, zero, nW, "W");
                check(&T, oV, Ve, Ve, zero, nW, "V");
                check(&T, oA, Ae, Ae, zero, nW, "acc");
                free_outs(oW, T.n), free_outs(oV, T.n), free_outs(oA, T.n);
                free(W0), free(V0), free(A0), free(We), free(Ve), free(Ae);
                free(zero);
            }
    }
}

/* sparse_scatter into a zero accumulator then apply_rows over every row
 * (in three ranges): on the batch's features the very bits of
 * sparse_step on the same batch and table (the engine takes either path
 * by the data's shape); every other row moved by the rule with a = 0
 * (nothing for SGD and ADD, the decay or momentum for the others: the
 * sweep has no lag); the accumulator zero again. */
static void test_scatter_apply_is_step(void **state)
{
    (void)state;
    shape sh[MAX_SHAPES];
    size_t nsh = make_shapes(sh);
    unsigned turn = 0;
    for (size_t a = 0; a < nsh; a++) {
        size_t k = sh[a].k, n = sh[a].n, B = sh[a].B;
        sparse s;
        sparse_make(&s, B + 3, n);
        size_t ldv[2];
        int simd[2];
        size_t nw = widths(k, ldv, simd);
        sr_xfmt f[2];
        size_t nf = formats(&s, f);
        for (size_t w = 0; w < nw; w++)
            for (size_t q = 0; q < nf; q++) {
                unsigned pick = BIG(n, ldv[w]) ? turn++ % 4 : 4;
                for (unsigned kind = 0; kind < 4; kind++) {
                    if (pick < 4 && kind != pick)
                        continue;
                    size_t ld = ldv[w], nW = n * ld, c0, c1;
                    int listed = (kind >> 1) & 1;
                    pick_slice(ld, kind == 2, &c0, &c1);
                    const sr_xview X = view_of(&s, f[q]);
                    batch bt = batch_make(&s, B, listed);
                    csc cs;
                    csc_make(&cs, &s, &X, &bt);
                    size_t jr[4];
                    three_ranges(n, jr);
                    set_ctx("scatter + apply_rows = sparse_step k %zu ld %zu "
                            "n %zu B %zu %s %s %s lanes [%zu, %zu) rows %zu | "
                            "%zu | %zu",
                            k, ld, n, B, FMT_NAMES[f[q]], RULE_NAMES[kind],
                            listed ? "rows" : "first", c0, c1, jr[1], jr[2],
                            jr[3]);
                    tables T = get_tables(simd[w]);
                    float *W0 = frand_new(nW), *V0 = frand_new(nW);
                    float *G = frand_new(B * ld);
                    float *acc[2] = {xalloc(nW * sizeof(float)),
                                     xalloc(nW * sizeof(float))};
                    float *We[2] = {fdup(W0, nW), fdup(W0, nW)};
                    float *Ve[2] = {fdup(V0, nW), fdup(V0, nW)};
                    size_t *cnt = xalloc(n * sizeof *cnt);
                    double *mag = tol_new(nW), *tw = tol_new(nW),
                           *tv = tol_new(nW);
                    grad_sums(acc, ld, &s, &X, &bt, G, ld, c0, c1, cnt, mag);
                    sr_rule rule0 = make_rule((sr_rule_kind)kind, B, NULL);
                    step_expect(We, Ve, ld, n, acc, cnt, mag, c0, c1, &rule0,
                                1, tw, tv);
                    float *zeros = xalloc(nW * sizeof(float));
                    float *oW[3] = {NULL}, *oV[3] = {NULL};
                    for (size_t t = 0; t < T.n; t++) {
                        oW[t] = fdup(W0, nW);
                        oV[t] = fdup(V0, nW);
                        float *A = xalloc(nW * sizeof(float));
                        sr_rule r = make_rule((sr_rule_kind)kind, B, oV[t]);
                        T.t[t]->sparse_scatter(A, ld, &X, bt.rows, bt.first, B,
                                               G, ld, c0, c1);
                        for (int p = 0; p < 3; p++)
                            T.t[t]->apply_rows(oW[t], ld, A, jr[p], jr[p + 1],
                                               c0, c1, &r);
                        char what[64];
                        snprintf(what, sizeof what, "%s acc after",
                                 T.t[t]->name);
                        assert_same_bits(A, zeros, nW, what);
                        free(A);
                        /* the step on the transpose, same table */
                        float *sW = fdup(W0, nW), *sV = fdup(V0, nW);
                        r.V = kind == SR_RULE_MOMENTUM ? sV : NULL;
                        T.t[t]->sparse_step(sW, ld, &cs.T, 0, cs.T.ncols, G,
                                            ld, c0, c1, &r);
                        snprintf(what, sizeof what, "%s W vs sparse_step",
                                 T.t[t]->name);
                        for (size_t j = 0; j < n; j++)
                            if (cnt[j] || kind == SR_RULE_SGD ||
                                kind == SR_RULE_ADD)
                                assert_same_bits(oW[t] + j * ld, sW + j * ld,
                                                 ld, what);
                        snprintf(what, sizeof what, "%s V vs sparse_step",
                                 T.t[t]->name);
                        for (size_t j = 0; j < n; j++)
                            if (cnt[j])
                                assert_same_bits(oV[t] + j * ld, sV + j * ld,
                                                 ld, what);
                        free(sW), free(sV);
                    }
                    check(&T, oW, We[0], We[1], tw, nW, "W");
                    check(&T, oV, Ve[0], Ve[1], tv, nW, "V");
                    free_outs(oW, T.n), free_outs(oV, T.n);
                    free(W0), free(V0), free(G), free(acc[0]), free(acc[1]);
                    free(We[0]), free(We[1]), free(Ve[0]), free(Ve[1]);
                    free(cnt), free(mag), free(tw), free(tv), free(zeros);
                    csc_free(&cs);
                    free(bt.list);
                }
            }
        sparse_free(&s);
    }
}

/* ---- dense_step ---- */

static void dense_step_case(size_t k, size_t ld, int simd, size_t n, size_t B,
                            unsigned kind)
{
    size_t ldx = n + 3 * (kind & 1), ldg = ld == 1 ? 1 : ld + 16 * (kind >> 1);
    size_t nW = n * ld, c0, c1, jr[4];
    pick_dense_slice(ld, k, kind, &c0, &c1);
    three_ranges(n, jr);
    set_ctx("dense_step k %zu ld %zu n %zu B %zu %s lanes [%zu, %zu) rows "
            "%zu | %zu | %zu ldx %zu ldg %zu",
            k, ld, n, B, RULE_NAMES[kind], c0, c1, jr[1], jr[2], jr[3], ldx,
            ldg);
    tables T = get_tables(simd);
    float *X = frand_new(B * ldx), *G = frand_new(B * ldg);
    float *W0 = frand_new(nW), *V0 = frand_new(nW);
    float *We[2] = {fdup(W0, nW), fdup(W0, nW)};
    float *Ve[2] = {fdup(V0, nW), fdup(V0, nW)};
    double *tw = tol_new(nW), *tv = tol_new(nW);
    sr_rule rule0 = make_rule((sr_rule_kind)kind, B, NULL);
    /* the middle range is left out in one case of four: rows outside
     * [j0, j1) stay */
    int skip_mid = kind == 2;
    for (size_t j = 0; j < n; j++) {
        if (skip_mid && j >= jr[1] && j < jr[2])
            continue;
        for (size_t c = c0; c < c1; c++) {
            float a[2] = {0.0f, 0.0f};
            double S = 0.0;
            for (size_t i = 0; i < B; i++) {
                float x = X[i * ldx + j], g = G[i * ldg + c];
                a[0] = madd(0, x, g, a[0]);
                a[1] = madd(1, x, g, a[1]);
                S += fabs((double)x * g);
            }
            size_t o = j * ld + c;
            rule_tol(&rule0, W0[o], V0[o], B, S, &tw[o], &tv[o]);
            for (int f = 0; f < 2; f++)
                rule_formula(&rule0, &We[f][o], &Ve[f][o], a[f]);
        }
    }
    float *oW[3] = {NULL}, *oV[3] = {NULL};
    for (size_t t = 0; t < T.n; t++) {
        oW[t] = fdup(W0, nW);
        oV[t] = fdup(V0, nW);
        sr_rule r = make_rule((sr_rule_kind)kind, B, oV[t]);
        for (int p = 0; p < 3; p++)
            if (!(skip_mid && p == 1))
                T.t[t]->dense_step(oW[t], ld, X, ldx, B, jr[p], jr[p + 1], G,
                                   ldg, c0, c1, &r);
    }
    check(&T, oW, We[0], We[1], tw, nW, "W");
    check(&T, oV, Ve[0], Ve[1], tv, nW, "V");
    free_outs(oW, T.n), free_outs(oV, T.n);
    free(X), free(G), free(W0), free(V0), free(We[0]), free(We[1]);
    free(Ve[0]), free(Ve[1]), free(tw), free(tv);
}

static void test_dense_step(void **state)
{
    (void)state;
    shape sh[MAX_SHAPES];
    size_t nsh = make_shapes(sh);
    for (size_t a = 0; a < nsh; a++) {
        size_t ld[2];
        int simd[2];
        size_t nw = widths(sh[a].k, ld, simd);
        /* the largest products: one rule each, in turn */
        int big = sh[a].n * sh[a].B * ld[0] > (1u << 21);
        for (size_t w = 0; w < nw; w++)
            for (unsigned kind = 0; kind < 4; kind++)
                if (!big || kind == a % 4)
                    dense_step_case(sh[a].k, ld[w], simd[w], sh[a].n, sh[a].B,
                                    kind);
    }
}

/* ---- Softmax ---- */

/* B rows of k logits (row stride ldz, lanes >= k garbage that must be
 * ignored: large, so that reading them would change the maximum) and
 * labels: rows of several kinds by i mod 6: random; tied maxima (the
 * label the first or the second of them); every logit equal; very large
 * and very negative logits (+-1e30, -1e38); a maximum far above the rest
 * (their exponentials underflow); large random. */
static void softmax_data(float *Z, size_t ldz, int32_t *y, size_t B, size_t k)
{
    for (size_t i = 0; i < B; i++) {
        float *z = Z + i * ldz;
        for (size_t c = 0; c < ldz; c++)
            z[c] = c < k ? 4.0f * frand() : 1e20f + (float)c;
        y[i] = (int32_t)below(k);
        switch (i % 6) {
        case 1:
            if (k >= 2) {
                size_t a = below(k - 1), b = a + 1 + below(k - a - 1);
                z[a] = z[b] = 9.0f;
                y[i] = (int32_t)(next_u32() & 1 ? a : b);
            }
            break;
        case 2:
            for (size_t c = 0; c < k; c++)
                z[c] = -2.5f;
            break;
        case 3:
            for (size_t c = 0; c < k; c++)
                z[c] = c % 3 == 0 ? 1e30f : c % 3 == 1 ? -1e30f : -1e38f;
            break;
        case 4:
            z[below(k)] = 200.0f;
            break;
        case 5:
            for (size_t c = 0; c < k; c++)
                z[c] = 60.0f * frand();
            break;
        default:
            break;
        }
    }
}

/* The first largest logit's class: the contract's prediction. */
static size_t first_argmax(const float *z, size_t k)
{
    size_t a = 0;
    for (size_t c = 1; c < k; c++)
        if (z[c] > z[a])
            a = c;
    return a;
}

/* One table on Z (left alone): the gradient rows G with labels and their
 * losses, the probabilities P (y NULL), the evaluation's sum and wrong
 * count; checked here against each other, exactly: G is P but for the
 * label's lane, P - 1; lanes >= k zero; the sum is the losses' in row
 * order; the wrong count is the contract's. */
typedef struct sm_out {
    float *G, *P;
    double *loss, total;
} sm_out;

static void softmax_run(const sr_kernel_table *K, const float *Z, size_t ldz,
                        const int32_t *y, size_t B, size_t k, float *buf,
                        sm_out *o)
{
    size_t count = B * ldz;
    char what[96];
    o->G = fdup(Z, count);
    o->P = fdup(Z, count);
    o->loss = xalloc((B + 1) * sizeof *o->loss);
    /* in place in `buf` (aligned or not, as the caller placed it) */
    memcpy(buf, Z, count * sizeof *buf);
    K->softmax_grad(buf, ldz, y, B, k, o->loss);
    memcpy(o->G, buf, count * sizeof *buf);
    memcpy(buf, Z, count * sizeof *buf);
    K->softmax_grad(buf, ldz, NULL, B, k, NULL);
    memcpy(o->P, buf, count * sizeof *buf);
    memcpy(buf, Z, count * sizeof *buf);
    size_t wrong = 5, want_wrong = 5;
    o->total = K->softmax_eval(buf, ldz, y, B, k, &wrong);
    snprintf(what, sizeof what, "%s softmax_eval's Z", K->name);
    assert_same_bits(buf, Z, count, what);
    double sum = 0.0;
    for (size_t i = 0; i < B; i++) {
        sum += o->loss[i];
        want_wrong += first_argmax(Z + i * ldz, k) != (size_t)y[i];
        for (size_t c = 0; c < ldz; c++) {
            float p = o->P[i * ldz + c], g = o->G[i * ldz + c];
            float want = c >= k ? 0.0f : c == (size_t)y[i] ? p - 1.0f : p;
            if (c >= k && memcmp(&p, &want, sizeof p)) {
                print_error("%s: %s P[%zu][%zu] = %g beyond k\n", ctx,
                            K->name, i, c, (double)p);
                fail();
            }
            if (memcmp(&g, &want, sizeof g)) {
                print_error("%s: %s G[%zu][%zu] = %.9g, P %.9g, label %d\n",
                            ctx, K->name, i, c, (double)g, (double)p, y[i]);
                fail();
            }
        }
    }
    if (wrong != want_wrong) {
        print_error("%s: %s wrong %zu, expected %zu\n", ctx, K->name, wrong,
                    want_wrong);
        fail();
    }
    snprintf(what, sizeof what, "%s eval total vs losses", K->name);
    assert_same_doubles(&o->total, &sum, 1, what);
}

static void softmax_case(size_t k, size_t ldz, int simd, size_t B)
{
    set_ctx("softmax k %zu ldz %zu B %zu", k, ldz, B);
    tables T = get_tables(simd);
    size_t count = B * ldz;
    float *Z = xalloc(count * sizeof *Z);
    int32_t *y = xalloc(B * sizeof *y);
    softmax_data(Z, ldz, y, B, k);
    /* staging: aligned, and 1 and 4 floats off a 64-byte line */
    float *stage = xalloc((count + 16) * sizeof *stage);
    sm_out o[3];
    for (size_t t = 0; t < T.n; t++) {
        softmax_run(T.t[t], Z, ldz, y, B, k, stage, &o[t]);
        for (size_t off = 1; off <= 4 && ldz == 16; off += 3) {
            sm_out u;
            set_ctx("softmax k %zu ldz %zu B %zu, Z at +%zu floats", k, ldz,
                    B, off);
            softmax_run(T.t[t], Z, ldz, y, B, k, stage + off, &u);
            assert_same_bits(u.G, o[t].G, count, "G unaligned vs aligned");
            assert_same_bits(u.P, o[t].P, count, "P unaligned vs aligned");
            assert_same_doubles(u.loss, o[t].loss, B, "loss unaligned");
            free(u.G), free(u.P), free(u.loss);
            set_ctx("softmax k %zu ldz %zu B %zu", k, ldz, B);
        }
    }
    /* against the reference, to rounding */
    double *tol = tol_new(count), rel = (double)(8 + (k + 15) / 16) * EPS;
    for (size_t s = 1; s < T.n; s++) {
        for (size_t i = 0; i < B; i++)
            for (size_t c = 0; c < ldz; c++)
                tol[i * ldz + c] = rel * (fabs((double)o[0].P[i * ldz + c]) +
                                          (c == (size_t)y[i])) +
                                   4.0 * FLT_MIN;
        char what[64];
        snprintf(what, sizeof what, "%s G", T.t[s]->name);
        assert_near(o[s].G, o[0].G, tol, count, what);
        snprintf(what, sizeof what, "%s P", T.t[s]->name);
        assert_near(o[s].P, o[0].P, tol, count, what);
        double total_tol = 0.0;
        for (size_t i = 0; i < B; i++) {
            double l = o[s].loss[i], r = o[0].loss[i];
            double lt = rel + 4.0 * DBL_EPSILON * fabs(r);
            total_tol += lt + 2.0 * DBL_EPSILON * fabs(r);
            if (!(l == r || fabs(l - r) <= lt)) {
                print_error("%s: %s loss[%zu] = %.17g, reference %.17g\n", ctx,
                            T.t[s]->name, i, l, r);
                fail();
            }
        }
        if (!(fabs(o[s].total - o[0].total) <= total_tol)) {
            print_error("%s: %s eval total %.17g, reference %.17g\n", ctx,
                        T.t[s]->name, o[s].total, o[0].total);
            fail();
        }
    }
    if (T.avx2 >= 0 && T.avx512 >= 0) {
        const sm_out *a = &o[T.avx2], *b = &o[T.avx512];
        assert_same_bits(a->G, b->G, count, "avx2 vs avx512 G");
        assert_same_bits(a->P, b->P, count, "avx2 vs avx512 P");
        assert_same_doubles(a->loss, b->loss, B, "avx2 vs avx512 loss");
        assert_same_doubles(&a->total, &b->total, 1, "avx2 vs avx512 total");
    }
    for (size_t t = 0; t < T.n; t++)
        free(o[t].G), free(o[t].P), free(o[t].loss);
    free(Z), free(y), free(stage), free(tol);
}

/* k <= 16 classes through both ways of each table: rows of 16 (the
 * 16-wide path, rows in the lanes) and the same rows stretched to 32
 * floats (the general path, classes in the lanes). The contract fixes
 * every operation's order, and the exponential is the table's own: the
 * same bits, which catches a changed order of summation that the
 * tolerance against the reference would let through. */
static void softmax_paths_agree(size_t k, size_t B)
{
    set_ctx("softmax paths k %zu B %zu: ldz 16 vs 32", k, B);
    tables T = get_tables(1);
    float *Z16 = xalloc(B * 16 * sizeof *Z16);
    float *Z32 = xalloc(B * 32 * sizeof *Z32);
    int32_t *y = xalloc(B * sizeof *y);
    softmax_data(Z16, 16, y, B, k);
    for (size_t i = 0; i < B; i++)
        for (size_t c = 0; c < 32; c++)
            Z32[i * 32 + c] = c < 16 ? Z16[i * 16 + c] : 1e20f;
    float *b16 = xalloc(B * 16 * sizeof *b16);
    float *b32 = xalloc(B * 32 * sizeof *b32);
    for (size_t t = 0; t < T.n; t++) {
        sm_out o16, o32;
        softmax_run(T.t[t], Z16, 16, y, B, k, b16, &o16);
        softmax_run(T.t[t], Z32, 32, y, B, k, b32, &o32);
        char what[64];
        for (size_t i = 0; i < B; i++) {
            snprintf(what, sizeof what, "%s G row %zu", T.t[t]->name, i);
            assert_same_bits(o32.G + i * 32, o16.G + i * 16, 16, what);
            snprintf(what, sizeof what, "%s P row %zu", T.t[t]->name, i);
            assert_same_bits(o32.P + i * 32, o16.P + i * 16, 16, what);
        }
        snprintf(what, sizeof what, "%s loss", T.t[t]->name);
        assert_same_doubles(o32.loss, o16.loss, B, what);
        free(o16.G), free(o16.P), free(o16.loss);
        free(o32.G), free(o32.P), free(o32.loss);
    }
    free(Z16), free(Z32), free(y), free(b16), free(b32);
}

static void test_softmax(void **state)
{
    (void)state;
    static const size_t bs[] = {1, 7, 16, 23, 100};
    for (size_t a = 0; a < COUNT(KS); a++)
        for (size_t b = 0; b < COUNT(bs); b++) {
            size_t k = KS[a];
            softmax_case(k, SR_PAD16(k), 1, bs[b]);
            if (k == 1)
                softmax_case(1, 1, 0, bs[b]);
            if (k <= 16)
                softmax_paths_agree(k, bs[b]);
        }
    /* rows longer than the classes need: lanes past SR_PAD16(k) too */
    for (size_t a = 0; a < COUNT(KS); a++)
        softmax_case(KS[a], SR_PAD16(KS[a]) + 16, 1, 7);
}

/* ---- The network ---- */

static void nn_logits_case(size_t d, size_t k, size_t B, unsigned v)
{
    size_t ldh = SR_PAD16(d), ldz = SR_PAD16(k);
    int bias = v & 1;
    size_t i0 = v & 2 ? below(B) : 0, i1 = v & 2 ? i0 + below(B - i0 + 1) : B;
    set_ctx("nn_logits d %zu k %zu B %zu bias %d rows [%zu, %zu)", d, k, B,
            bias, i0, i1);
    tables T = get_tables(1);
    /* H after a ReLU: half zero; lanes >= d garbage */
    float *H = frand_new(B * ldh), *W2 = frand_new(d * ldz);
    float *b = frand_new(ldz), *Z0 = frand_new(B * ldz);
    for (size_t i = 0; i < B; i++)
        for (size_t u = 0; u < d; u++)
            H[i * ldh + u] = H[i * ldh + u] > 0.0f ? H[i * ldh + u] : 0.0f;
    float *want = fdup(Z0, B * ldz);
    double *tol = tol_new(B * ldz);
    for (size_t i = i0; i < i1; i++)
        for (size_t c = 0; c < ldz; c++) {
            float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            size_t u = 0;
            for (; u + 4 <= d; u += 4)
                for (size_t q = 0; q < 4; q++)
                    s[q] = s[q] + H[i * ldh + u + q] * W2[(u + q) * ldz + c];
            for (; u < d; u++)
                s[0] = s[0] + H[i * ldh + u] * W2[u * ldz + c];
            float z = (s[0] + s[1]) + (s[2] + s[3]);
            want[i * ldz + c] = bias ? z + b[c] : z;
        }
    float *out[3] = {NULL};
    for (size_t t = 0; t < T.n; t++) {
        out[t] = fdup(Z0, B * ldz);
        T.t[t]->nn_logits(out[t], ldz, H, ldh, d, W2, bias ? b : NULL, i0,
                          i1);
    }
    /* every table multiplies then adds here: the same bits everywhere */
    check(&T, out, want, want, tol, B * ldz, "Z");
    free_outs(out, T.n);
    free(H), free(W2), free(b), free(Z0), free(want), free(tol);
}

/* nn_backward over hidden slices called in turn, on W2T's own array
 * (in place) or on a separate Wout, with or without the row-major copy
 * W2; rules by `kind`. */
static void nn_backward_case(size_t d, size_t k, size_t B, unsigned kind,
                             int in_place, int copy)
{
    size_t ldh = SR_PAD16(d), ldg = SR_PAD16(k), nT = k * ldh;
    /* slices: two covering the row, or one inside it */
    size_t sl[3], ns;
    if (ldh >= 48 && (kind & 1)) {
        pick_slice(ldh, 0, &sl[0], &sl[1]);
        ns = 1;
    } else {
        sl[0] = 0;
        sl[1] = 16 * below(ldh / 16 + 1);
        sl[2] = ldh;
        ns = 2;
    }
    set_ctx("nn_backward d %zu k %zu B %zu %s %s W2 %s slices [%zu, %zu)%s",
            d, k, B, RULE_NAMES[kind], in_place ? "in place" : "Wout apart",
            copy ? "copied" : "NULL", sl[0], sl[1],
            ns == 2 ? " and on" : "");
    tables T = get_tables(1);
    float *H = frand_new(B * ldh), *G2 = frand_new(B * ldg);
    for (size_t i = 0; i < B * ldh; i++)
        H[i] = H[i] > 0.0f ? H[i] : 0.0f; /* after a ReLU: half zero */
    float *W2T = frand_new(nT), *Wout0 = frand_new(nT);
    float *V0 = frand_new(nT), *G10 = frand_new(B * ldh);
    float *W20 = frand_new(ldh * ldg);
    const float *Win0 = in_place ? W2T : Wout0;
    float *G1e[2] = {fdup(G10, B * ldh), fdup(G10, B * ldh)};
    float *We[2] = {fdup(Win0, nT), fdup(Win0, nT)};
    float *Ve[2] = {fdup(V0, nT), fdup(V0, nT)};
    float *W2e[2] = {fdup(W20, ldh * ldg), fdup(W20, ldh * ldg)};
    double *tg = tol_new(B * ldh), *tw = tol_new(nT), *tv = tol_new(nT),
           *t2 = tol_new(ldh * ldg);
    sr_rule rule0 = make_rule((sr_rule_kind)kind, B, NULL);
    for (size_t p = 0; p < ns; p++)
        for (size_t u = sl[p]; u < sl[p + 1]; u++) {
            for (size_t i = 0; i < B; i++) {
                float s[2] = {0.0f, 0.0f};
                double S = 0.0;
                for (size_t c = 0; c < k; c++) {
                    float g = G2[i * ldg + c], w = W2T[c * ldh + u];
                    s[0] = madd(0, g, w, s[0]);
                    s[1] = madd(1, g, w, s[1]);
                    S += fabs((double)g * w);
                }
                for (int f = 0; f < 2; f++)
                    G1e[f][i * ldh + u] = H[i * ldh + u] > 0.0f ? s[f] : 0.0f;
                tg[i * ldh + u] = (double)(k + 2) * EPS * S;
            }
            for (size_t c = 0; c < k; c++) {
                float a[2] = {0.0f, 0.0f};
                double S = 0.0;
                for (size_t i = 0; i < B; i++) {
                    float g = G2[i * ldg + c], h = H[i * ldh + u];
                    a[0] = madd(0, g, h, a[0]);
                    a[1] = madd(1, g, h, a[1]);
                    S += fabs((double)g * h);
                }
                size_t o = c * ldh + u;
                rule_tol(&rule0, We[0][o], Ve[0][o], B, S, &tw[o], &tv[o]);
                for (int f = 0; f < 2; f++) {
                    rule_formula(&rule0, &We[f][o], &Ve[f][o], a[f]);
                    if (copy)
                        W2e[f][u * ldg + c] = We[f][o];
                }
                t2[u * ldg + c] = tw[o];
            }
        }
    float *oG1[3] = {NULL}, *oW[3] = {NULL}, *oV[3] = {NULL}, *oW2[3] = {NULL};
    for (size_t t = 0; t < T.n; t++) {
        oG1[t] = fdup(G10, B * ldh);
        oW[t] = fdup(Win0, nT);
        oV[t] = fdup(V0, nT);
        oW2[t] = fdup(W20, ldh * ldg);
        /* in place: W2T is Wout itself; else a fresh copy of W2T, read */
        float *w2t = in_place ? oW[t] : fdup(W2T, nT);
        sr_rule r = make_rule((sr_rule_kind)kind, B, oV[t]);
        for (size_t p = 0; p < ns; p++)
            T.t[t]->nn_backward(oG1[t], H, ldh, G2, ldg, B, w2t, oW[t],
                                copy ? oW2[t] : NULL, k, sl[p], sl[p + 1],
                                &r);
        if (!in_place) {
            char what[64];
            snprintf(what, sizeof what, "%s W2T (read only)", T.t[t]->name);
            assert_same_bits(w2t, W2T, nT, what);
            free(w2t);
        }
    }
    check(&T, oG1, G1e[0], G1e[1], tg, B * ldh, "G1");
    check(&T, oW, We[0], We[1], tw, nT, "Wout");
    check(&T, oV, Ve[0], Ve[1], tv, nT, "V");
    check(&T, oW2, W2e[0], W2e[1], t2, ldh * ldg, "W2");
    free_outs(oG1, T.n), free_outs(oW, T.n), free_outs(oV, T.n);
    free_outs(oW2, T.n);
    free(H), free(G2), free(W2T), free(Wout0), free(V0), free(G10), free(W20);
    for (int f = 0; f < 2; f++)
        free(G1e[f]), free(We[f]), free(Ve[f]), free(W2e[f]);
    free(tg), free(tw), free(tv), free(t2);
}

static void test_nn_logits(void **state)
{
    (void)state;
    static const size_t ks[] = {2, 10, 17, 33};
    for (size_t a = 0; a < COUNT(KS); a++)
        for (unsigned v = 0; v < 4; v++)
            nn_logits_case(KS[a], ks[v], 7 + 9 * (v & 1), v);
    for (size_t a = 0; a < COUNT(BS); a++)
        for (unsigned v = 0; v < 4; v++)
            nn_logits_case(100, 10, BS[a], v);
    nn_logits_case(1000, 100, 16, 3);
}

static void test_nn_backward(void **state)
{
    (void)state;
    static const size_t ks[] = {2, 3, 10, 17};
    for (size_t a = 0; a < COUNT(KS); a++)
        for (unsigned kind = 0; kind < 4; kind++)
            for (int in_place = 0; in_place < 2; in_place++)
                nn_backward_case(KS[a], ks[kind], 7, kind, in_place,
                                 (kind + in_place) & 1);
    for (size_t a = 0; a < COUNT(BS); a++)
        for (unsigned kind = 0; kind < 4; kind += 2)
            for (int copy = 0; copy < 2; copy++)
                nn_backward_case(100, 10, BS[a], kind, 1, copy);
    nn_backward_case(1000, 33, 16, SR_RULE_MOMENTUM, 1, 1);
    nn_backward_case(33, 100, 16, SR_RULE_SGD, 1, 1);
}

/* ---- Empty ranges ---- */

/* Every kernel over an empty slice of lanes, range of rows or columns, or
 * batch touches nothing (a split of few groups across more threads gives
 * empty slices). */
static void test_empty_ranges(void **state)
{
    (void)state;
    const size_t k = 33, ld = 48, n = 7, B = 7;
    sparse s;
    sparse_make(&s, B + 3, n);
    const sr_xview X = view_of(&s, SR_X_U8S);
    batch bt = batch_make(&s, B, 1);
    csc cs;
    csc_make(&cs, &s, &X, &bt);
    float *W0 = frand_new(n * ld), *V0 = frand_new(n * ld);
    float *G = frand_new(B * ld), *Xd = frand_new(B * n);
    float *Y0 = frand_new(B * ld), *A0 = frand_new(n * ld);
    float *W = fdup(W0, n * ld), *V = fdup(V0, n * ld), *Y = fdup(Y0, B * ld);
    float *A = fdup(A0, n * ld);
    int32_t y[7] = {0, 1, 2, 3, 4, 5, 6};
    tables T = get_tables(1);
    for (size_t t = 0; t < T.n; t++) {
        const sr_kernel_table *K = T.t[t];
        set_ctx("empty ranges, %s", K->name);
        sr_rule r = make_rule(SR_RULE_MOMENTUM, B, V);
        K->sparse_fwd(Y, ld, &X, bt.rows, 0, B, W, ld, W, 16, 16, 1);
        K->sparse_fwd(Y, ld, &X, bt.rows, 0, 0, W, ld, W, 0, ld, 1);
        K->sparse_fwd16(Y, &X, bt.rows, 0, 0, W, NULL);
        K->dense_fwd(Y, ld, Xd, n, B, n, W, ld, W, 32, 32, 0);
        K->dense_fwd(Y, ld, Xd, n, 0, n, W, ld, W, 0, ld, 0);
        K->sparse_step(W, ld, &cs.T, 1, 1, G, ld, 0, ld, &r);
        K->sparse_step(W, ld, &cs.T, 0, cs.T.ncols, G, ld, 16, 16, &r);
        K->sparse_scatter(A, ld, &X, bt.rows, 0, B, G, ld, 32, 32);
        K->sparse_scatter(A, ld, &X, bt.rows, 0, 0, G, ld, 0, ld);
        K->apply_rows(W, ld, A, 3, 3, 0, ld, &r);
        K->apply_rows(W, ld, A, 0, n, 16, 16, &r);
        K->dense_step(W, ld, Xd, n, B, 2, 2, G, ld, 0, ld, &r);
        K->dense_step(W, ld, Xd, n, B, 0, n, G, ld, 48, 48, &r);
        K->softmax_grad(Y, ld, y, 0, k, NULL);
        size_t wrong = 3;
        double total = K->softmax_eval(Y, ld, y, 0, k, &wrong);
        assert_true(total == 0.0 && wrong == 3);
        K->nn_logits(Y, ld, A, ld, 5, W, NULL, 4, 4);
        /* hidden slice [16, 16) of d = 48 units, k = 7 classes */
        K->nn_backward(Y, A, ld, G, ld, B, W, W, NULL, n, 16, 16, &r);
        K->pixels_to_float(Y, s.u8, 0);
        assert_same_bits(W, W0, n * ld, "W");
        assert_same_bits(V, V0, n * ld, "V");
        assert_same_bits(Y, Y0, B * ld, "Y");
        assert_same_bits(A, A0, n * ld, "acc");
    }
    free(W0), free(V0), free(G), free(Xd), free(Y0), free(A0);
    free(W), free(V), free(Y), free(A);
    csc_free(&cs);
    free(bt.list);
    sparse_free(&s);
}

/* ---- pixels_to_float ---- */

/* Exactly sr_pixel_scale[v] for every byte, at every offset of a line and
 * every length up to 40 (the vector loop and its tail), nothing written
 * past the end; and sr_pixel_scale[v] is (float)v / 255.0f. */
static void test_pixels_to_float(void **state)
{
    (void)state;
    for (int v = 0; v < 256; v++) {
        float want = (float)v / 255.0f;
        assert_true(!memcmp(&sr_pixel_scale[v], &want, sizeof want));
    }
    uint8_t in[256 + 64 + 41];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 167 + 13); /* every byte in every lane */
    float out[64 + 41 + 16];
    tables T = get_tables(1);
    for (size_t t = 0; t < T.n; t++) {
        set_ctx("pixels_to_float %s", T.t[t]->name);
        for (size_t start = 0; start < 256 + 64; start++)
            for (size_t len = 0; len <= 40; len++) {
                size_t o = start % 64; /* the output's offset, too */
                for (size_t j = 0; j < sizeof out / sizeof *out; j++)
                    out[j] = -1.0f;
                T.t[t]->pixels_to_float(out + o, in + start, len);
                for (size_t j = 0; j < sizeof out / sizeof *out; j++) {
                    float want = j >= o && j < o + len
                                     ? sr_pixel_scale[in[start + j - o]]
                                     : -1.0f;
                    if (memcmp(&out[j], &want, sizeof want)) {
                        print_error("%s: at %zu, length %zu: out[%zu] = %.9g, "
                                    "expected %.9g\n",
                                    ctx, start, len, j, (double)out[j],
                                    (double)want);
                        fail();
                    }
                }
            }
        /* all 256 values in one call */
        uint8_t all[256];
        float got[256];
        for (int v = 0; v < 256; v++)
            all[v] = (uint8_t)v;
        T.t[t]->pixels_to_float(got, all, 256);
        assert_true(!memcmp(got, sr_pixel_scale, sizeof got));
    }
}

/* ---- sr_rule_apply_row ---- */

/* The four rules against the formulas of kernels.h written out here, every
 * operation rounded to float in order; over lengths 0 .. 40 (nothing
 * beyond `len` touched). */
static void test_rule_apply_row(void **state)
{
    (void)state;
    float w0[48], v0[48], a[48];
    for (size_t i = 0; i < 48; i++) {
        w0[i] = 3.0f * frand();
        v0[i] = frand();
        a[i] = 10.0f * frand();
    }
    for (unsigned kind = 0; kind < 4; kind++)
        for (size_t len = 0; len <= 40; len++) {
            set_ctx("sr_rule_apply_row %s len %zu", RULE_NAMES[kind], len);
            sr_rule r = make_rule((sr_rule_kind)kind, 7, NULL);
            float w[48], v[48], ww[48], wv[48];
            memcpy(w, w0, sizeof w);
            memcpy(v, v0, sizeof v);
            memcpy(ww, w0, sizeof ww);
            memcpy(wv, v0, sizeof wv);
            sr_rule_apply_row(&r, w, v, a, len);
            for (size_t c = 0; c < len; c++) {
                float x = ww[c];
                switch (kind) {
                case SR_RULE_SGD:
                    ww[c] = x - r.scale * a[c];
                    break;
                case SR_RULE_DECAY:
                    ww[c] = x - (r.scale * a[c] + r.decay * x);
                    break;
                case SR_RULE_MOMENTUM:
                    wv[c] = r.mu * wv[c] + (r.invB * a[c] + r.l2 * x);
                    ww[c] = x - r.lr * wv[c];
                    break;
                default:
                    ww[c] = x + a[c];
                    break;
                }
            }
            assert_same_bits(w, ww, 48, "w");
            assert_same_bits(v, wv, 48, "v");
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_apply_row),
        cmocka_unit_test(test_pixels_to_float),
        cmocka_unit_test(test_sparse_fwd),
        cmocka_unit_test(test_sparse_fwd16),
        cmocka_unit_test(test_dense_fwd),
        cmocka_unit_test(test_sparse_step),
        cmocka_unit_test(test_sparse_scatter),
        cmocka_unit_test(test_apply_rows),
        cmocka_unit_test(test_scatter_apply_is_step),
        cmocka_unit_test(test_dense_step),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_nn_logits),
        cmocka_unit_test(test_nn_backward),
        cmocka_unit_test(test_empty_ranges),
    };
    /* Keep freed blocks for the next case rather than unmapping them: the
     * large arrays (n = 70000 rows of W) would otherwise fault in anew
     * each time, which costs more than the tests. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    /* CMOCKA_TEST_FILTER=test_softmax runs one test (a glob) */
    const char *only = getenv("CMOCKA_TEST_FILTER");
    if (only && *only)
        cmocka_set_test_filter(only);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(pool);
    return failed;
}
