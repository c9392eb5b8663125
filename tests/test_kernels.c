/* The SIMD kernels against the plain reference, over awkward shapes, for
 * every instruction set this machine can run; the sparse listing of pixels
 * at load; thread-count invariance of training; and the course's numbers
 * for every kernel table.
 *
 * Tolerances: a sum is compared to 1e-6 of the sum of its terms' absolute
 * values (plus 1e-6 of the value it updates): orders of operations differ
 * (fused multiply-adds, partial sums), so bits may too. The AVX2 and
 * AVX-512 versions of the fused kernels do the same operations in the same
 * order, lane by lane, and must agree bit for bit; so must every thread
 * count. */
#include "testutil.h"

#include "kernels/kernels.h"
#include "train/engine.h"

static const char *const ARCHES[] = {"ref", "avx2", "avx512"};
#define NARCH (sizeof ARCHES / sizeof *ARCHES)

/* ---- Random data ---- */

static uint32_t seed_state = 12345;

static uint32_t next_u32(void)
{
    seed_state ^= seed_state << 13;
    seed_state ^= seed_state >> 17;
    seed_state ^= seed_state << 5;
    return seed_state;
}

static float frand(void) /* [-1, 1) */
{
    return (float)(next_u32() >> 8) / 8388608.0f - 1.0f;
}

/* A pixel: zero 60% of the time, like MNIST's (a bit denser). */
static uint8_t pixel(void)
{
    return next_u32() % 10 < 6 ? 0 : (uint8_t)(1 + next_u32() % 255);
}

/* m images of n pixels: row 0 all zero, row 1 all non-zero (when m > 1),
 * the rest random. */
static uint8_t *make_pixels(size_t m, size_t n)
{
    uint8_t *px = malloc(m * n + 1);
    assert_non_null(px);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            px[i * n + j] = i == 0 ? 0 : i == 1 ? (uint8_t)(1 + next_u32() % 255)
                                                : pixel();
    return px;
}

static sr_dataset *make_u8(size_t m, size_t n, size_t k)
{
    sr_error err;
    sr_dataset *ds = sr_dataset_new(&err);
    assert_non_null(ds);
    uint8_t *px = make_pixels(m, n);
    assert_int_equal(sr_dataset_set_pixels(ds, px, m, n, &err), SR_OK);
    free(px);
    ds->m = m;
    ds->n = n;
    ds->k = k;
    ds->y = malloc(m * sizeof *ds->y);
    assert_non_null(ds->y);
    for (size_t i = 0; i < m; i++)
        ds->y[i] = (int32_t)(next_u32() % k);
    return ds;
}

static float *frand_array(size_t count, float scale)
{
    float *a = malloc((count ? count : 1) * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < count; i++)
        a[i] = scale * frand();
    return a;
}

/* 64-byte aligned copy of count floats (count rounded up to 16) */
static float *aligned_copy(const float *src, size_t count)
{
    size_t padded = (count + 15) / 16 * 16;
    float *p = aligned_alloc(64, (padded ? padded : 16) * sizeof *p);
    assert_non_null(p);
    memset(p, 0, (padded ? padded : 16) * sizeof *p);
    memcpy(p, src, count * sizeof *p);
    return p;
}

/* |a - b| <= 1e-6 (mag + |b|) + tiny, element by element. */
static void assert_near(const float *a, const float *b, const double *mag,
                        size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++) {
        double tol = 1e-6 * ((mag ? mag[i] : 0.0) + fabs((double)b[i])) + 1e-30;
        if (!(fabs((double)a[i] - (double)b[i]) <= tol)) {
            print_error("%s[%zu] = %.9g, reference %.9g (tolerance %g)\n", what,
                        i, (double)a[i], (double)b[i], tol);
            fail();
        }
    }
}

static void assert_same_bits(const float *a, const float *b, size_t count,
                             const char *what)
{
    if (memcmp(a, b, count * sizeof *a)) {
        for (size_t i = 0; i < count; i++)
            if (memcmp(a + i, b + i, sizeof *a)) {
                print_error("%s[%zu]: %.9g vs %.9g\n", what, i, (double)a[i],
                            (double)b[i]);
                break;
            }
        fail();
    }
}

/* The tables to compare with the reference: those the machine runs. */
static size_t simd_tables(const sr_kernel_table **out)
{
    size_t count = 0;
    for (size_t a = 1; a < NARCH; a++) {
        const sr_kernel_table *K = sr_kernels_named(ARCHES[a]);
        if (K)
            out[count++] = K;
    }
    return count;
}

/* The full-batch gradient (L-BFGS, gd) of softmax regression on sparse
 * pixels, for every table, against the same sum in double written out
 * here: 600 rows are two whole blocks of 256 and a partial one. */
static void test_softmax_full_gradient(void **state)
{
    (void)state;
    const size_t m = 600, n = 785, k = 10;
    sr_dataset *ds = make_u8(m, n, k);
    sr_error err;
    sr_model_spec spec = {SR_MODEL_SOFTMAX, n, k, 0, 0};
    sr_model *model;
    assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
    for (size_t i = 0; i < n * k; i++)
        model->params[i] = 0.05f * frand();
    double *want = calloc(n * k, sizeof *want), loss_want = 0.0;
    double *x = malloc(n * sizeof *x), z[16];
    assert_true(want && x);
    for (size_t r = 0; r < m; r++) {
        sr_row row = sr_dataset_row(ds, r);
        memset(x, 0, n * sizeof *x);
        for (size_t p = 0; p < row.nnz; p++)
            x[sr_row_col(&row, p)] = sr_pixel_scale[row.val8[p]];
        double mx = -INFINITY, sum = 0.0;
        for (size_t c = 0; c < k; c++) {
            z[c] = 0.0;
            for (size_t j = 0; j < n; j++)
                z[c] += x[j] * model->params[j * k + c];
            mx = z[c] > mx ? z[c] : mx;
        }
        for (size_t c = 0; c < k; c++)
            sum += exp(z[c] - mx);
        loss_want += log(sum) + mx - z[ds->y[r]];
        for (size_t c = 0; c < k; c++) {
            double g = exp(z[c] - mx) / sum - (c == (size_t)ds->y[r]);
            for (size_t j = 0; j < n; j++)
                want[j * k + c] += x[j] * g;
        }
    }
    float *grad = malloc(n * k * sizeof *grad);
    assert_non_null(grad);
    for (size_t a = 0; a < NARCH; a++) {
        const sr_kernel_table *K = sr_kernels_named(ARCHES[a]);
        if (!K)
            continue;
        sr_engine e;
        assert_int_equal(sr_engine_init(&e, model, SR_EVAL_CHUNK, m, 1, 0,
                                        &err), SR_OK);
        e.K = K;
        double loss = sr_engine_full_gradient(&e, ds, grad);
        sr_engine_release(&e);
        assert_close(loss, loss_want, 1e-5 * loss_want);
        for (size_t i = 0; i < n * k; i++)
            if (!(fabs(grad[i] - want[i]) <= 1e-4 + 1e-5 * fabs(want[i]))) {
                print_error("%s: grad[%zu] = %.9g, expected %.9g\n",
                            ARCHES[a], i, (double)grad[i], want[i]);
                fail();
            }
    }
    free(grad);
    free(x);
    free(want);
    sr_model_free(model);
    sr_dataset_free(ds);
}

/* ---- The sparse listing at load ---- */

static void test_set_pixels_lists_every_nonzero(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 7, 8, 9, 15, 16, 17, 64, 784, 785};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        size_t n = ns[a], m = 203;
        uint8_t *px = make_pixels(m, n);
        sr_error err;
        sr_dataset *ds = sr_dataset_new(&err);
        assert_int_equal(sr_dataset_set_pixels(ds, px, m, n, &err), SR_OK);
        assert_int_equal(ds->layout, SR_FEATURES_U8_SPARSE);
        size_t q = 0;
        assert_int_equal(ds->row_ptr[0], 0);
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) {
                if (!px[i * n + j])
                    continue;
                assert_true(q < ds->row_ptr[i + 1]);
                assert_int_equal(ds->col16[q], j);
                assert_int_equal(ds->val8[q], px[i * n + j]);
                q++;
            }
            assert_int_equal(ds->row_ptr[i + 1], q);
        }
        sr_dataset_free(ds);
        free(px);
    }
}

/* ---- The per-row kernels ---- */

enum { FMT_DENSE, FMT_CSR, FMT_U8 };

/* A row of n features in one of the three formats, from pixels px. */
typedef struct test_row {
    sr_row x;
    float dense[800];
    uint32_t col32[800];
    float valf[800];
    uint16_t col16[800];
    uint8_t val8[800];
} test_row;

static void build_row(test_row *t, const uint8_t *px, size_t n, int fmt)
{
    memset(&t->x, 0, sizeof t->x);
    size_t q = 0;
    for (size_t j = 0; j < n; j++) {
        t->dense[j] = sr_pixel_scale[px[j]] * (j % 3 ? 1.0f : -1.0f);
        if (px[j]) {
            t->col32[q] = (uint32_t)j;
            t->valf[q] = t->dense[j];
            t->col16[q] = (uint16_t)j;
            t->val8[q] = px[j];
            q++;
        }
    }
    if (fmt == FMT_DENSE) {
        t->x.nnz = n;
        t->x.valf = t->dense;
    } else if (fmt == FMT_CSR) {
        t->x.nnz = q;
        t->x.col32 = t->col32;
        t->x.valf = t->valf;
    } else {
        t->x.nnz = q;
        t->x.col16 = t->col16;
        t->x.val8 = t->val8;
    }
}

static void test_row_kernels_match_reference(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 7, 15, 16, 17, 784, 785};
    static const size_t ks[] = {1, 2, 3, 10, 16, 17, 100, 129};
    const sr_kernel_table *tables[NARCH];
    size_t ntab = simd_tables(tables);
    const sr_kernel_table *R = &sr_kernels_ref;
    static test_row t;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
            for (int fmt = 0; fmt < 3; fmt++) {
                size_t n = ns[a], k = ks[b], lda = SR_ACC_STRIDE(k);
                uint8_t *px = make_pixels(2, n);
                build_row(&t, px + (n > 1 ? n : 0), n, fmt);
                free(px);
                const sr_row *x = &t.x;
                float *W = frand_array(n * k, 1.0f), *g = frand_array(k, 1.0f);
                float *out_r = malloc(k * sizeof *out_r), *out_s = malloc(k * sizeof *out_s);
                double *mag = calloc(n * lda + k, sizeof *mag);
                /* out = x W */
                for (size_t p = 0; p < x->nnz; p++)
                    for (size_t c = 0; c < k; c++)
                        mag[c] += fabs((double)sr_row_val(x, p) *
                                       W[sr_row_col(x, p) * k + c]);
                R->row_matmul(out_r, x, W, k);
                for (size_t s = 0; s < ntab; s++) {
                    tables[s]->row_matmul(out_s, x, W, k);
                    assert_near(out_s, out_r, mag, k, "row_matmul");
                }
                /* acc[j - j0] += x_j g over a chunk of columns [j0, j1) */
                size_t j0 = n / 3, j1 = n - n / 4;
                size_t p0 = sr_row_lower_bound(x, j0), p1 = sr_row_lower_bound(x, j1);
                float *acc0 = frand_array((j1 - j0 + 1) * lda, 1.0f);
                float *acc_r = malloc((j1 - j0 + 1) * lda * sizeof *acc_r);
                float *acc_s = malloc((j1 - j0 + 1) * lda * sizeof *acc_s);
                memset(mag, 0, (n * lda + k) * sizeof *mag);
                for (size_t p = p0; p < p1; p++)
                    for (size_t c = 0; c < k; c++)
                        mag[(sr_row_col(x, p) - j0) * lda + c] +=
                            fabs((double)sr_row_val(x, p) * g[c]);
                memcpy(acc_r, acc0, (j1 - j0 + 1) * lda * sizeof *acc_r);
                R->row_outer_add(acc_r, lda, j0, x, p0, p1, g, k);
                for (size_t s = 0; s < ntab; s++) {
                    memcpy(acc_s, acc0, (j1 - j0 + 1) * lda * sizeof *acc_s);
                    tables[s]->row_outer_add(acc_s, lda, j0, x, p0, p1, g, k);
                    for (size_t j = 0; j < j1 - j0; j++)
                        assert_near(acc_s + j * lda, acc_r + j * lda,
                                    mag + j * lda, k, "row_outer_add");
                }
                /* y += a x */
                float *y0 = frand_array(n, 1.0f);
                float *y_r = malloc(n * sizeof *y_r), *y_s = malloc(n * sizeof *y_s);
                memcpy(y_r, y0, n * sizeof *y_r);
                R->axpy(y_r, 0.37f, t.dense, n);
                for (size_t i = 0; i < n; i++)
                    mag[i] = fabs(0.37 * t.dense[i]);
                for (size_t s = 0; s < ntab; s++) {
                    memcpy(y_s, y0, n * sizeof *y_s);
                    tables[s]->axpy(y_s, 0.37f, t.dense, n);
                    assert_near(y_s, y_r, mag, n, "axpy");
                }
                free(W), free(g), free(out_r), free(out_s), free(mag);
                free(acc0), free(acc_r), free(acc_s), free(y0), free(y_r), free(y_s);
            }
}

static void test_softmax_xent_matches_reference(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 2, 3, 10, 15, 16, 17, 40};
    const sr_kernel_table *tables[NARCH];
    size_t ntab = simd_tables(tables);
    for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
        for (int rep = 0; rep < 20; rep++) {
            size_t k = ks[b];
            float z0[64], zr[64], zs[64];
            for (size_t c = 0; c < k; c++)
                z0[c] = 30.0f * frand();
            int32_t y = rep % 3 == 2 ? -1 : (int32_t)(next_u32() % k);
            memcpy(zr, z0, sizeof zr);
            double lr = sr_kernels_ref.softmax_xent(zr, y, k);
            for (size_t s = 0; s < ntab; s++) {
                memcpy(zs, z0, sizeof zs);
                double ls = tables[s]->softmax_xent(zs, y, k);
                assert_close(ls, lr, 1e-6 * (1.0 + fabs(lr)));
                double one[64];
                for (size_t c = 0; c < k; c++)
                    one[c] = 1.0;
                assert_near(zs, zr, one, k, "softmax_xent");
            }
        }
}

/* ---- The fused kernels ---- */

/* The batch's transpose, as the engine builds it. */
typedef struct test_csc {
    sr_batch_csc X;
    uint16_t col[800], *row;
    uint32_t end[800];
    uint8_t *val;
} test_csc;

static void build_csc(test_csc *t, const sr_dataset *ds, const size_t *rows,
                      size_t B)
{
    size_t n = ds->n, total = 0;
    uint32_t cnt[800] = {0};
    for (size_t i = 0; i < B; i++)
        for (size_t p = ds->row_ptr[rows[i]]; p < ds->row_ptr[rows[i] + 1]; p++) {
            cnt[ds->col16[p]]++;
            total++;
        }
    t->row = malloc((total + 1) * sizeof *t->row);
    t->val = malloc(total + 1);
    size_t q = 0;
    uint32_t at = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t c = cnt[j];
        cnt[j] = at;
        if (c) {
            at += c;
            t->col[q] = (uint16_t)j;
            t->end[q++] = at;
        }
    }
    for (size_t i = 0; i < B; i++)
        for (size_t p = ds->row_ptr[rows[i]]; p < ds->row_ptr[rows[i] + 1]; p++) {
            uint32_t e = cnt[ds->col16[p]]++;
            t->row[e] = (uint16_t)i;
            t->val[e] = ds->val8[p];
        }
    t->X = (sr_batch_csc){q, t->col, t->end, t->row, t->val};
}

/* The most rows of a batch in these cases. */
#define FUSED_MAX_B 128

/* One table's outputs of every fused kernel on the same inputs. */
typedef struct fused_out {
    float *G, *theta, *H, *G2, *G1, *W2T, *W2, *W1;
    double loss_sm[FUSED_MAX_B], loss_nn[FUSED_MAX_B], eval_sm, eval_nn;
    size_t wrong_sm, wrong_nn;
} fused_out;

/* Every kernel gets the same inputs on every table, so that each output
 * is compared on its own: the parameters, and fixed gradients and hidden
 * layers (G for the softmax step, H and G2 for the network's backward,
 * G1 for W1's step). */
typedef struct fused_case {
    const sr_dataset *ds;
    size_t n, k, d, ld, B;
    size_t rows[FUSED_MAX_B];
    float *theta0, *W10, *W2T0, *W20;
    float *G_in, *H_in, *G2_in, *G1_in;
    uint16_t *cuts;
    size_t S, bounds[4];
    test_csc csc;
} fused_case;

static void run_fused(const sr_kernel_table *K, const fused_case *fc,
                      fused_out *o)
{
    size_t n = fc->n, k = fc->k, ld = fc->ld, B = fc->B, d = fc->d;
    float scale = 0.2f / (float)B;
    /* softmax regression */
    o->G = aligned_alloc(64, FUSED_MAX_B * 16 * sizeof(float));
    K->sm_rows_grad(o->G, o->loss_sm, fc->ds, fc->rows, B, fc->theta0, k);
    o->theta = aligned_copy(fc->theta0, n * 16);
    float *acc = aligned_alloc(64, (n + 1) * 16 * sizeof(float));
    memset(acc, 0, (n + 1) * 16 * sizeof(float));
    for (size_t s = 0; s < fc->S; s++)
        K->sm_step(o->theta, acc + fc->bounds[s] * 16, fc->bounds[s],
                   fc->bounds[s + 1], fc->ds, fc->rows, B, fc->G_in, scale,
                   fc->cuts, fc->S, s);
    for (size_t i = 0; i < n * 16; i++)
        assert_true(acc[i] == 0.0f); /* left zero */
    free(acc);
    o->wrong_sm = 0;
    o->eval_sm = K->sm_eval(&o->wrong_sm, fc->ds, 1, fc->ds->m, fc->theta0, k);
    /* the network: hidden layer in two slices, output, backward, steps */
    o->H = aligned_alloc(64, B * ld * sizeof(float));
    size_t half = ld / 32 * 16;
    if (half)
        K->nn_hidden(o->H, fc->ds, fc->rows, B, fc->W10, ld, 0, half);
    K->nn_hidden(o->H, fc->ds, fc->rows, B, fc->W10, ld, half, ld);
    o->G2 = aligned_alloc(64, FUSED_MAX_B * 16 * sizeof(float));
    K->nn_output(o->G2, o->loss_nn, fc->H_in, ld, d, fc->W20, k, fc->ds,
                 fc->rows, 0, B / 2);
    K->nn_output(o->G2, o->loss_nn, fc->H_in, ld, d, fc->W20, k, fc->ds,
                 fc->rows, B / 2, B);
    o->G1 = aligned_alloc(64, B * ld * sizeof(float));
    o->W2T = aligned_copy(fc->W2T0, 16 * ld);
    o->W2 = aligned_copy(fc->W20, ld * 16);
    o->W1 = aligned_copy(fc->W10, n * ld);
    if (half) {
        K->nn_backward(o->G1, fc->H_in, ld, fc->G2_in, B, o->W2T, o->W2, k, 0,
                       half, scale);
        K->nn_w1_step(o->W1, ld, &fc->csc.X, fc->G1_in, 0, half, scale);
    }
    K->nn_backward(o->G1, fc->H_in, ld, fc->G2_in, B, o->W2T, o->W2, k, half,
                   ld, scale);
    K->nn_w1_step(o->W1, ld, &fc->csc.X, fc->G1_in, half, ld, scale);
    float *h = aligned_alloc(64, SR_NN_EVAL_BLOCK * ld * sizeof(float));
    o->wrong_nn = 0;
    o->eval_nn = K->nn_eval(&o->wrong_nn, fc->ds, 1, fc->ds->m, fc->W10, ld, d,
                            fc->W20, k, h);
    free(h);
}

static void free_out(fused_out *o)
{
    free(o->G), free(o->theta), free(o->H), free(o->G2), free(o->G1);
    free(o->W2T), free(o->W2), free(o->W1);
}

/* Absolute sums of the terms behind each output, in double, from the
 * reference's intermediate values. */
static void compare_fused(const fused_case *fc, const fused_out *r,
                          const fused_out *s)
{
    size_t n = fc->n, k = fc->k, ld = fc->ld, B = fc->B, d = fc->d;
    const sr_dataset *ds = fc->ds;
    double scale = 0.2 / (double)B;
    size_t most = (n + 16) * ld + FUSED_MAX_B * ld + 2 * FUSED_MAX_B * 16;
    double *mag = calloc(most, sizeof *mag);
    double one[FUSED_MAX_B * 16];
    for (size_t i = 0; i < FUSED_MAX_B * 16; i++)
        one[i] = 1.0;
    /* G and G2: probabilities minus one-hot labels, and the losses, from
     * logits whose error is relative to the sum of their terms */
    double zsm[FUSED_MAX_B], znn[FUSED_MAX_B];
    for (size_t i = 0; i < B; i++) {
        zsm[i] = znn[i] = 0.0;
        for (size_t c = 0; c < k; c++) {
            double t = 0.0, u = 0.0;
            for (size_t p = ds->row_ptr[fc->rows[i]]; p < ds->row_ptr[fc->rows[i] + 1]; p++)
                t += fabs(sr_pixel_scale[ds->val8[p]] * fc->theta0[ds->col16[p] * 16 + c]);
            for (size_t a = 0; a < d; a++)
                u += fabs(fc->H_in[i * ld + a] * fc->W20[a * 16 + c]);
            zsm[i] = t > zsm[i] ? t : zsm[i];
            znn[i] = u > znn[i] ? u : znn[i];
        }
        for (size_t c = 0; c < 16; c++) {
            mag[i * 16 + c] = 1.0 + zsm[i];
            mag[FUSED_MAX_B * 16 + i * 16 + c] = 1.0 + znn[i];
        }
    }
    (void)one;
    assert_near(s->G, r->G, mag, B * 16, "sm_rows_grad G");
    assert_near(s->G2, r->G2, mag + FUSED_MAX_B * 16, B * 16, "nn_output G2");
    for (size_t i = 0; i < B; i++) {
        assert_close(s->loss_sm[i], r->loss_sm[i],
                     1e-6 * (1.0 + fabs(r->loss_sm[i]) + 2.0 * zsm[i]));
        assert_close(s->loss_nn[i], r->loss_nn[i],
                     1e-6 * (1.0 + fabs(r->loss_nn[i]) + 2.0 * znn[i]));
        for (size_t c = k; c < 16; c++) {
            assert_true(s->G[16 * i + c] == 0.0f);
            assert_true(s->G2[16 * i + c] == 0.0f);
        }
    }
    /* theta -= scale X^T G */
    memset(mag, 0, n * 16 * sizeof *mag);
    for (size_t i = 0; i < B; i++)
        for (size_t p = ds->row_ptr[fc->rows[i]]; p < ds->row_ptr[fc->rows[i] + 1]; p++)
            for (size_t c = 0; c < 16; c++)
                mag[ds->col16[p] * 16 + c] +=
                    scale * fabs(sr_pixel_scale[ds->val8[p]] * fc->G_in[16 * i + c]);
    assert_near(s->theta, r->theta, mag, n * 16, "sm_step theta");
    /* evaluation: loss sums; wrong counts equal unless a near tie flips */
    assert_close(s->eval_sm, r->eval_sm, 1e-6 * (1.0 + fabs(r->eval_sm)));
    assert_close(s->eval_nn, r->eval_nn, 1e-6 * (1.0 + fabs(r->eval_nn)));
    assert_true(s->wrong_sm <= r->wrong_sm + 1 && r->wrong_sm <= s->wrong_sm + 1);
    assert_true(s->wrong_nn <= r->wrong_nn + 1 && r->wrong_nn <= s->wrong_nn + 1);
    /* H = ReLU(X W1) */
    memset(mag, 0, B * ld * sizeof *mag);
    for (size_t i = 0; i < B; i++)
        for (size_t p = ds->row_ptr[fc->rows[i]]; p < ds->row_ptr[fc->rows[i] + 1]; p++)
            for (size_t a = 0; a < ld; a++)
                mag[i * ld + a] += fabs(sr_pixel_scale[ds->val8[p]] *
                                        fc->W10[ds->col16[p] * ld + a]);
    assert_near(s->H, r->H, mag, B * ld, "nn_hidden H");
    /* G1 = 1{H > 0} o G2 W2^T */
    memset(mag, 0, B * ld * sizeof *mag);
    for (size_t i = 0; i < B; i++)
        for (size_t a = 0; a < ld; a++)
            for (size_t c = 0; c < k; c++)
                mag[i * ld + a] += fabs(fc->G2_in[16 * i + c] * fc->W2T0[c * ld + a]);
    assert_near(s->G1, r->G1, mag, B * ld, "nn_backward G1");
    /* W2^T -= scale G2^T H; its row-major copy follows */
    memset(mag, 0, 16 * ld * sizeof *mag);
    for (size_t c = 0; c < 16; c++)
        for (size_t a = 0; a < ld; a++)
            for (size_t i = 0; i < B; i++)
                mag[c * ld + a] +=
                    scale * fabs(fc->G2_in[16 * i + c] * fc->H_in[i * ld + a]);
    assert_near(s->W2T, r->W2T, mag, 16 * ld, "nn_backward W2T");
    for (size_t a = 0; a < d; a++)
        for (size_t c = 0; c < k; c++)
            assert_true(s->W2[a * 16 + c] == s->W2T[c * ld + a]);
    /* W1 -= scale X^T G1 */
    memset(mag, 0, n * ld * sizeof *mag);
    for (size_t i = 0; i < B; i++)
        for (size_t p = ds->row_ptr[fc->rows[i]]; p < ds->row_ptr[fc->rows[i] + 1]; p++)
            for (size_t a = 0; a < ld; a++)
                mag[ds->col16[p] * ld + a] +=
                    scale * fabs(sr_pixel_scale[ds->val8[p]] * fc->G1_in[i * ld + a]);
    assert_near(s->W1, r->W1, mag, n * ld, "nn_w1_step W1");
    free(mag);
}

static void test_fused_kernels_match_reference(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 7, 15, 16, 17, 784, 785};
    static const size_t ks[] = {1, 2, 10, 16};
    static const size_t ds_[] = {1, 3, 100, 129};
    /* 100: the hidden layer's rows in two blocks (HID_ROWS) */
    static const size_t Bs[] = {1, 7, 17, 40, 100};
    const sr_kernel_table *tables[NARCH];
    size_t ntab = simd_tables(tables);
    const sr_kernel_table *avx2 = sr_kernels_named("avx2");
    const sr_kernel_table *avx512 = sr_kernels_named("avx512");
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
            for (size_t c = 0; c < sizeof ds_ / sizeof *ds_; c++) {
                fused_case fc;
                memset(&fc, 0, sizeof fc);
                fc.n = ns[a];
                fc.k = ks[b];
                fc.d = ds_[c];
                fc.ld = SR_PAD16(fc.d);
                fc.B = Bs[(a + b + c) % 5];
                sr_dataset *ds = make_u8(70, fc.n, fc.k); /* > 1 eval block */
                fc.ds = ds;
                /* rows out of order, with repeats, the empty and full rows */
                for (size_t i = 0; i < fc.B; i++)
                    fc.rows[i] = (i * 7 + 3) % ds->m;
                fc.rows[0] = 0;
                if (fc.B > 2)
                    fc.rows[2] = 1;
                size_t n = fc.n, k = fc.k, ld = fc.ld;
                float *t0 = frand_array(n * 16, 1.0f);
                for (size_t j = 0; j < n; j++)
                    for (size_t cc = k; cc < 16; cc++)
                        t0[j * 16 + cc] = 0.0f;
                fc.theta0 = aligned_copy(t0, n * 16);
                free(t0);
                float *w1 = frand_array(n * ld, 0.5f), *w2 = frand_array(16 * ld, 0.5f);
                for (size_t j = 0; j < n; j++)
                    for (size_t aa = fc.d; aa < ld; aa++)
                        w1[j * ld + aa] = 0.0f;
                for (size_t cc = 0; cc < 16; cc++)
                    for (size_t aa = 0; aa < ld; aa++)
                        if (cc >= k || aa >= fc.d)
                            w2[cc * ld + aa] = 0.0f;
                fc.W10 = aligned_copy(w1, n * ld);
                fc.W2T0 = aligned_copy(w2, 16 * ld);
                float *w2r = calloc(ld * 16, sizeof *w2r);
                for (size_t cc = 0; cc < 16; cc++)
                    for (size_t aa = 0; aa < ld; aa++)
                        w2r[aa * 16 + cc] = w2[cc * ld + aa];
                fc.W20 = aligned_copy(w2r, ld * 16);
                free(w1), free(w2), free(w2r);
                /* fixed gradients and hidden layer, zero in their padding */
                fc.G_in = aligned_alloc(64, FUSED_MAX_B * 16 * sizeof(float));
                fc.G2_in = aligned_alloc(64, FUSED_MAX_B * 16 * sizeof(float));
                fc.H_in = aligned_alloc(64, FUSED_MAX_B * ld * sizeof(float));
                fc.G1_in = aligned_alloc(64, FUSED_MAX_B * ld * sizeof(float));
                for (size_t i = 0; i < FUSED_MAX_B; i++) {
                    for (size_t cc = 0; cc < 16; cc++) {
                        fc.G_in[i * 16 + cc] = cc < k ? frand() : 0.0f;
                        fc.G2_in[i * 16 + cc] = cc < k ? frand() : 0.0f;
                    }
                    for (size_t aa = 0; aa < ld; aa++) {
                        float h = frand();
                        fc.H_in[i * ld + aa] = aa < fc.d && h > 0.0f ? h : 0.0f;
                        fc.G1_in[i * ld + aa] =
                            fc.H_in[i * ld + aa] > 0.0f ? frand() : 0.0f;
                    }
                }
                /* three feature slices, as three threads would take */
                fc.S = 3;
                fc.bounds[0] = 0;
                fc.bounds[1] = n / 3;
                fc.bounds[2] = n - n / 4;
                fc.bounds[3] = n;
                fc.cuts = malloc(ds->m * 2 * sizeof *fc.cuts);
                for (size_t r = 0; r < ds->m; r++)
                    for (size_t s = 1; s < 3; s++) {
                        sr_row x = sr_dataset_row(ds, r);
                        fc.cuts[r * 2 + s - 1] =
                            (uint16_t)sr_row_lower_bound(&x, fc.bounds[s]);
                    }
                build_csc(&fc.csc, ds, fc.rows, fc.B);
                fused_out ref, simd[NARCH];
                run_fused(&sr_kernels_ref, &fc, &ref);
                for (size_t s = 0; s < ntab; s++) {
                    run_fused(tables[s], &fc, &simd[s]);
                    compare_fused(&fc, &ref, &simd[s]);
                }
                if (avx2 && avx512) {
                    /* the same operations in the same order: same bits */
                    fused_out *x2 = &simd[0], *x5 = &simd[1];
                    assert_same_bits(x2->G, x5->G, fc.B * 16, "G");
                    assert_same_bits(x2->theta, x5->theta, n * 16, "theta");
                    assert_same_bits(x2->H, x5->H, fc.B * ld, "H");
                    assert_same_bits(x2->G2, x5->G2, fc.B * 16, "G2");
                    assert_same_bits(x2->G1, x5->G1, fc.B * ld, "G1");
                    assert_same_bits(x2->W2T, x5->W2T, 16 * ld, "W2T");
                    assert_same_bits(x2->W1, x5->W1, n * ld, "W1");
                    assert_int_equal(x2->wrong_sm, x5->wrong_sm);
                    assert_int_equal(x2->wrong_nn, x5->wrong_nn);
                }
                free_out(&ref);
                for (size_t s = 0; s < ntab; s++)
                    free_out(&simd[s]);
                free(fc.theta0), free(fc.W10), free(fc.W2T0), free(fc.W20);
                free(fc.G_in), free(fc.G2_in), free(fc.H_in), free(fc.G1_in);
                free(fc.cuts), free(fc.csc.row), free(fc.csc.val);
                sr_dataset_free(ds);
            }
}

/* ---- Training: thread counts and kernel tables ---- */

static sr_dataset *load_split(const char *split)
{
    sr_error err;
    sr_dataset *ds = NULL;
    if (sr_dataset_load_mnist(test_mnist_dir(), split, &ds, &err)) {
        print_error("%s\n", err.message);
        fail();
    }
    return ds;
}

/* The parameters after training with `threads` threads. */
static float *train_params(const sr_dataset *train, sr_train_params p,
                           size_t threads, size_t *count)
{
    sr_error err;
    sr_model *model = NULL;
    p.threads = threads;
    if (sr_train(train, NULL, &p, NULL, NULL, &model, &err)) {
        print_error("%s\n", err.message);
        fail();
    }
    size_t total = 0;
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        size_t rows, cols;
        sr_model_param(model, b, NULL, &rows, &cols);
        total += rows * cols;
    }
    float *out = malloc(total * sizeof *out), *at = out;
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        size_t rows, cols;
        const float *w = sr_model_param(model, b, NULL, &rows, &cols);
        memcpy(at, w, rows * cols * sizeof *at);
        at += rows * cols;
    }
    sr_model_free(model);
    *count = total;
    return out;
}

static void test_thread_counts_give_same_bits(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train");
    sr_error err;
    assert_int_equal(sr_dataset_truncate(train, 3000, &err), SR_OK);
    struct {
        sr_model_kind kind;
        size_t hidden, batch, epochs;
        int shuffle, bias;
    } cases[] = {
        {SR_MODEL_SOFTMAX, 0, 128, 2, 0, 0}, /* 3000 = 23 * 128 + 56 */
        {SR_MODEL_SOFTMAX, 0, 1, 1, 0, 0},
        {SR_MODEL_SOFTMAX, 0, 5000, 2, 0, 0}, /* batch > m */
        {SR_MODEL_SOFTMAX, 0, 100, 2, 1, 0},
        {SR_MODEL_NN, 100, 128, 2, 0, 0},
        {SR_MODEL_NN, 3, 77, 1, 1, 0},
        {SR_MODEL_NN, 129, 100, 1, 0, 0},
        {SR_MODEL_NN, 20, 100, 1, 0, 1}, /* biases: the general path */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sr_train_params p = sr_train_params_default();
        p.model = cases[c].kind;
        p.hidden = cases[c].hidden ? cases[c].hidden : 100;
        p.batch = cases[c].batch;
        p.epochs = cases[c].epochs;
        p.shuffle = cases[c].shuffle;
        p.bias = cases[c].bias;
        p.evaluate = 0;
        size_t n1, n2, n3;
        float *w1 = train_params(train, p, 1, &n1);
        float *w2 = train_params(train, p, 2, &n2);
        float *w3 = train_params(train, p, 3, &n3);
        assert_int_equal(n1, n2);
        assert_int_equal(n1, n3);
        assert_same_bits(w2, w1, n1, "2 threads");
        assert_same_bits(w3, w1, n1, "3 threads");
        free(w1), free(w2), free(w3);
    }
    sr_dataset_free(train);
}

/* With two or more threads, the fast paths may evaluate each epoch on one
 * thread beside the next epoch's SGD (train.c), forced or after measuring
 * both ways: the same rows, in order, with the same figures and
 * parameters as one thread; a callback that stops at an epoch ends with
 * that epoch's parameters. */
typedef struct epoch_log {
    size_t count, stop_at;
    sr_epoch_stats s[8];
} epoch_log;

static int log_epoch(const sr_epoch_stats *s, void *user)
{
    epoch_log *log = user;
    if (log->count < 8)
        log->s[log->count] = *s;
    log->count++;
    return s->epoch == log->stop_at;
}

static void test_overlapped_evaluation(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train"), *test = load_split("t10k");
    sr_error err;
    assert_int_equal(sr_dataset_truncate(train, 3000, &err), SR_OK);
    assert_int_equal(sr_dataset_truncate(test, 1000, &err), SR_OK);
    sr_model_kind kinds[2] = {SR_MODEL_SOFTMAX, SR_MODEL_NN};
    /* on: the overlap from epoch 0; auto: it measures, then either; off:
     * none. Each must give the same bits. */
    const char *modes[3] = {"on", "auto", "off"};
    for (size_t mc = 0; mc < 3; mc++)
    for (size_t kc = 0; kc < 2; kc++)
        for (size_t stop_at = 1; stop_at <= 4; stop_at += 3) {
            setenv("SOFTREG_OVERLAP", modes[mc], 1);
            float *first = NULL;
            epoch_log first_log;
            for (size_t threads = 1; threads <= 3; threads++) {
                sr_train_params p = sr_train_params_default();
                p.model = kinds[kc];
                p.hidden = 40;
                p.epochs = 4;
                p.threads = threads;
                epoch_log log = {0, stop_at, {{0}}};
                sr_model *model = NULL;
                assert_int_equal(sr_train(train, test, &p, log_epoch, &log,
                                          &model, &err), SR_OK);
                /* stop_at 4: never; every epoch reported, in order */
                assert_int_equal(log.count, stop_at < 4 ? stop_at + 1 : 4);
                for (size_t e = 0; e < log.count; e++) {
                    assert_int_equal(log.s[e].epoch, e);
                    assert_true(isfinite(log.s[e].train_loss) &&
                                isfinite(log.s[e].test_err));
                }
                size_t np = model->nparams;
                if (!first) {
                    first = malloc(np * sizeof *first);
                    memcpy(first, model->params, np * sizeof *first);
                    first_log = log;
                } else {
                    assert_same_bits(model->params, first, np, "parameters");
                    for (size_t e = 0; e < log.count; e++) {
                        assert_true(log.s[e].train_loss ==
                                    first_log.s[e].train_loss);
                        assert_true(log.s[e].train_err ==
                                    first_log.s[e].train_err);
                        assert_true(log.s[e].test_loss ==
                                    first_log.s[e].test_loss);
                        assert_true(log.s[e].test_err ==
                                    first_log.s[e].test_err);
                    }
                }
                sr_model_free(model);
            }
            /* Stopped after epoch 1: the parameters of a 2-epoch run. */
            if (stop_at == 1) {
                sr_train_params p = sr_train_params_default();
                p.model = kinds[kc];
                p.hidden = 40;
                p.epochs = 2;
                p.threads = 1;
                p.evaluate = 0;
                sr_model *model = NULL;
                assert_int_equal(sr_train(train, NULL, &p, NULL, NULL, &model,
                                          &err), SR_OK);
                assert_same_bits(model->params, first, model->nparams,
                                 "stopped run");
                sr_model_free(model);
            }
            free(first);
        }
    unsetenv("SOFTREG_OVERLAP");
    sr_dataset_free(train);
    sr_dataset_free(test);
}

/* Every kernel table, through the engine: the same bits for 1, 2 and 3
 * threads, and the course's table for softmax regression. */
static void test_every_table_trains_as_the_course(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train"), *test = load_split("t10k");
    for (size_t a = 0; a < NARCH; a++) {
        const sr_kernel_table *K = sr_kernels_named(ARCHES[a]);
        if (!K)
            continue;
        float *first = NULL;
        for (size_t threads = 1; threads <= 3; threads++) {
            sr_error err;
            sr_model_spec spec = {SR_MODEL_SOFTMAX, train->n, 10, 0, 0};
            sr_model *model;
            assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
            sr_engine e;
            assert_int_equal(sr_engine_init(&e, model, 100, train->m, threads,
                                            0, &err), SR_OK);
            e.K = K;
            e.team_probed = 1; /* every thread throughout, even here */
            sr_step step = {0.2, 0.0, 0.0};
            size_t epochs = threads == 1 ? 10 : 2;
            double loss, tl = 0, te = 0, vl = 0, ve = 0;
            for (size_t ep = 0; ep < epochs; ep++)
                assert_int_equal(sr_engine_sgd_epoch(&e, model, train, NULL,
                                                     100, &step, ep, &loss,
                                                     &err), SR_OK);
            if (threads == 1) {
                sr_engine_evaluate(&e, train, &tl, &te);
                sr_engine_evaluate(&e, test, &vl, &ve);
                assert_close(tl, 0.27887, 1e-5);
                assert_close(te, 0.07847, 1e-5);
                assert_close(vl, 0.28442, 1e-5);
                assert_close(ve, 0.07970, 1e-5);
                /* two more runs of two epochs to compare threads with */
                sr_engine_release(&e);
                sr_model_free(model);
                assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
                assert_int_equal(sr_engine_init(&e, model, 100, train->m, 1, 0,
                                                &err), SR_OK);
                e.K = K;
                for (size_t ep = 0; ep < 2; ep++)
                    assert_int_equal(sr_engine_sgd_epoch(&e, model, train, NULL,
                                                         100, &step, ep, &loss,
                                                         &err), SR_OK);
            }
            if (!first) {
                first = malloc(model->nparams * sizeof *first);
                memcpy(first, model->params, model->nparams * sizeof *first);
            } else {
                assert_same_bits(model->params, first, model->nparams,
                                 ARCHES[a]);
            }
            sr_engine_release(&e);
            sr_model_free(model);
        }
        free(first);
    }
    sr_dataset_free(train);
    sr_dataset_free(test);
}

/* An epoch interrupted after a minibatch, then resumed where it stopped,
 * ends with the bits of an epoch never interrupted: for both fast paths
 * and the general one (biases), with 1 and 2 threads. */
static void test_interrupted_epoch_resumes(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train");
    sr_error err;
    assert_int_equal(sr_dataset_truncate(train, 2000, &err), SR_OK);
    struct {
        sr_model_kind kind;
        size_t hidden;
        int bias;
    } cases[] = {{SR_MODEL_SOFTMAX, 0, 0}, {SR_MODEL_NN, 50, 0},
                 {SR_MODEL_NN, 20, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (size_t threads = 1; threads <= 2; threads++) {
            float *whole = NULL;
            for (int interrupted = 0; interrupted < 2; interrupted++) {
                sr_model_spec spec = {cases[c].kind, train->n, 10,
                                      cases[c].hidden, cases[c].bias};
                sr_model *model;
                assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
                seed_state = 777;
                for (size_t i = 0; i < model->nparams; i++)
                    model->params[i] = 0.01f * frand();
                sr_engine e;
                assert_int_equal(sr_engine_init(&e, model, 128, train->m,
                                                 threads, 0, &err), SR_OK);
                e.team_probed = threads == 2 && interrupted; /* both ways */
                sr_step step = {0.2, 0.0, 0.0};
                double loss, part;
                size_t end = 0;
                static volatile int stop = 1;
                if (!interrupted) {
                    assert_int_equal(sr_engine_sgd_epoch_from(
                                         &e, model, train, NULL, 128, &step, 0,
                                         0, NULL, &end, &loss, &err), SR_OK);
                    assert_int_equal(end, train->m);
                } else {
                    assert_int_equal(sr_engine_sgd_epoch_from(
                                         &e, model, train, NULL, 128, &step, 0,
                                         0, &stop, &end, &part, &err), SR_OK);
                    assert_int_equal(end, 128);
                    assert_int_equal(sr_engine_sgd_epoch_from(
                                         &e, model, train, NULL, 128, &step, 0,
                                         end, NULL, &end, &loss, &err), SR_OK);
                    assert_int_equal(end, train->m);
                }
                if (!whole) {
                    whole = malloc(model->nparams * sizeof *whole);
                    memcpy(whole, model->params, model->nparams * sizeof *whole);
                } else {
                    assert_same_bits(model->params, whole, model->nparams,
                                     "resumed");
                }
                sr_engine_release(&e);
                sr_model_free(model);
            }
            free(whole);
        }
    sr_dataset_free(train);
}

/* SOFTREG_ARCH picks the table of the command: the course's first row. */
static void test_softreg_arch_variable(void **state)
{
    (void)state;
    const char *bin = test_softreg_bin();
    for (size_t a = 0; a < NARCH; a++) {
        if (!sr_kernels_named(ARCHES[a]))
            continue;
        char cmd[1024], out[4096];
        snprintf(cmd, sizeof cmd,
                 "SOFTREG_ARCH=%s %s train --epochs 1 --quiet --data %s",
                 ARCHES[a], bin, test_mnist_dir());
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        size_t got = fread(out, 1, sizeof out - 1, p);
        out[got] = '\0';
        assert_int_equal(pclose(p), 0);
        assert_non_null(strstr(
            out, "|     0 |    0.35134 |   0.10182 |   0.33588 |  0.09400 |"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_pixels_lists_every_nonzero),
        cmocka_unit_test(test_row_kernels_match_reference),
        cmocka_unit_test(test_softmax_xent_matches_reference),
        cmocka_unit_test(test_fused_kernels_match_reference),
        cmocka_unit_test(test_softmax_full_gradient),
        cmocka_unit_test(test_thread_counts_give_same_bits),
        cmocka_unit_test(test_overlapped_evaluation),
        cmocka_unit_test(test_every_table_trains_as_the_course),
        cmocka_unit_test(test_interrupted_epoch_resumes),
        cmocka_unit_test(test_softreg_arch_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
