/* Plain-C reference kernels: always built, the fallback on every machine and
 * the oracle the SIMD versions are tested against. */
#include <math.h>
#include <string.h>

#include "kernels.h"

static void ref_row_matmul(float *out, const sr_row *x, const float *W,
                           size_t k)
{
    memset(out, 0, k * sizeof *out);
    for (size_t p = 0; p < x->nnz; p++) {
        float v = sr_row_val(x, p);
        if (v == 0.0f)
            continue;
        const float *w = W + sr_row_col(x, p) * k;
        for (size_t c = 0; c < k; c++)
            out[c] += v * w[c];
    }
}

static void ref_row_outer_add(float *acc, size_t lda, size_t j0,
                              const sr_row *x, size_t p0, size_t p1,
                              const float *g, size_t k)
{
    for (size_t p = p0; p < p1; p++) {
        float v = sr_row_val(x, p);
        if (v == 0.0f)
            continue;
        float *a = acc + (sr_row_col(x, p) - j0) * lda;
        for (size_t c = 0; c < k; c++)
            a[c] += v * g[c];
    }
}

static void ref_axpy(float *y, float a, const float *x, size_t len)
{
    for (size_t i = 0; i < len; i++)
        y[i] += a * x[i];
}

static double ref_softmax_xent(float *z, int32_t y, size_t k)
{
    float mx = z[0];
    for (size_t c = 1; c < k; c++)
        mx = z[c] > mx ? z[c] : mx;
    float zy = y >= 0 ? z[y] - mx : 0.0f;
    float sum = 0.0f;
    for (size_t c = 0; c < k; c++) {
        z[c] = expf(z[c] - mx);
        sum += z[c];
    }
    for (size_t c = 0; c < k; c++)
        z[c] /= sum;
    if (y < 0)
        return 0.0;
    z[y] -= 1.0f;
    /* loss = log(sum_j exp(z_j - max)) - (z_y - max) */
    return log((double)sum) - (double)zy;
}

/* ---- Fused kernels of the engine's fast paths (see kernels.h) ---- */

/* Row r of a sparse uint8 data set: its entries' columns and values. */
static size_t u8_row(const sr_dataset *ds, size_t r, const uint16_t **col,
                     const uint8_t **val)
{
    size_t p0 = ds->row_ptr[r];
    *col = ds->col16 + p0;
    *val = ds->val8 + p0;
    return ds->row_ptr[r + 1] - p0;
}

/* Loss of logits z (k) for label y, and whether the first largest logit is
 * not y's; z is left alone. */
static double loss_err(const float *z, int32_t y, size_t k, int *wrong)
{
    size_t arg = 0;
    for (size_t c = 1; c < k; c++)
        if (z[c] > z[arg])
            arg = c;
    *wrong = arg != (size_t)y;
    float tmp[16];
    memcpy(tmp, z, k * sizeof *tmp);
    return ref_softmax_xent(tmp, y, k);
}

/* z (16) = x theta over the row's entries in order; theta (n, 16). */
static void sm_logits(float *z, const uint16_t *col, const uint8_t *val,
                      size_t nnz, const float *theta, size_t k)
{
    memset(z, 0, 16 * sizeof *z);
    for (size_t p = 0; p < nnz; p++) {
        float v = sr_pixel_scale[val[p]];
        const float *w = theta + (size_t)col[p] * 16;
        for (size_t c = 0; c < k; c++)
            z[c] += v * w[c];
    }
}

static void ref_sm_rows_grad(float *G, double *loss, const sr_dataset *ds,
                             const size_t *rows, size_t B, const float *theta,
                             size_t k)
{
    for (size_t i = 0; i < B; i++) {
        const uint16_t *col;
        const uint8_t *val;
        size_t nnz = u8_row(ds, rows[i], &col, &val);
        float *g = G + 16 * i;
        sm_logits(g, col, val, nnz, theta, k);
        loss[i] = ref_softmax_xent(g, ds->y[rows[i]], k);
    }
}

static void ref_sm_step(float *theta, float *acc, size_t j0, size_t j1,
                        const sr_dataset *ds, const size_t *rows, size_t B,
                        const float *G, float scale, const uint16_t *cuts,
                        size_t S, size_t s)
{
    for (size_t i = 0; i < B; i++) {
        const uint16_t *col;
        const uint8_t *val;
        size_t r = rows[i], nnz = u8_row(ds, r, &col, &val);
        size_t p0 = s ? cuts[r * (S - 1) + s - 1] : 0;
        size_t p1 = s + 1 < S ? cuts[r * (S - 1) + s] : nnz;
        const float *g = G + 16 * i;
        for (size_t p = p0; p < p1; p++) {
            float v = sr_pixel_scale[val[p]];
            float *a = acc + (col[p] - j0) * 16;
            for (size_t c = 0; c < 16; c++)
                a[c] += v * g[c];
        }
    }
    for (size_t j = j0; j < j1; j++) {
        float *w = theta + j * 16, *a = acc + (j - j0) * 16;
        for (size_t c = 0; c < 16; c++) {
            w[c] -= scale * a[c];
            a[c] = 0.0f;
        }
    }
}

static double ref_sm_eval(size_t *wrong, const sr_dataset *ds, size_t r0,
                          size_t r1, const float *theta, size_t k)
{
    double sum = 0.0;
    size_t bad = 0;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *col;
        const uint8_t *val;
        size_t nnz = u8_row(ds, r, &col, &val);
        float z[16];
        int w;
        sm_logits(z, col, val, nnz, theta, k);
        sum += loss_err(z, ds->y[r], k, &w);
        bad += (size_t)w;
    }
    *wrong += bad;
    return sum;
}

/* h[c0 .. c1) = ReLU(x W1)[c0 .. c1) over the row's entries in order. */
static void nn_hidden_row(float *h, const uint16_t *col, const uint8_t *val,
                          size_t nnz, const float *W1, size_t ld, size_t c0,
                          size_t c1)
{
    for (size_t c = c0; c < c1; c++)
        h[c] = 0.0f;
    for (size_t p = 0; p < nnz; p++) {
        float v = sr_pixel_scale[val[p]];
        const float *w = W1 + (size_t)col[p] * ld;
        for (size_t c = c0; c < c1; c++)
            h[c] += v * w[c];
    }
    for (size_t c = c0; c < c1; c++)
        h[c] = h[c] > 0.0f ? h[c] : 0.0f;
}

static void ref_nn_hidden(float *H, const sr_dataset *ds, const size_t *rows,
                          size_t B, const float *W1, size_t ld, size_t c0,
                          size_t c1)
{
    for (size_t i = 0; i < B; i++) {
        const uint16_t *col;
        const uint8_t *val;
        size_t nnz = u8_row(ds, rows[i], &col, &val);
        nn_hidden_row(H + i * ld, col, val, nnz, W1, ld, c0, c1);
    }
}

/* z (16) = h W2 over the first d units, W2 (ld, 16), as kernels.h says. */
static void nn_logits(float *z, const float *h, const float *W2, size_t d,
                      size_t k)
{
    float s[4][16];
    memset(s, 0, sizeof s);
    size_t a = 0;
    for (; a + 4 <= d; a += 4)
        for (size_t q = 0; q < 4; q++)
            for (size_t c = 0; c < k; c++)
                s[q][c] = s[q][c] + h[a + q] * W2[(a + q) * 16 + c];
    for (; a < d; a++)
        for (size_t c = 0; c < k; c++)
            s[0][c] = s[0][c] + h[a] * W2[a * 16 + c];
    memset(z, 0, 16 * sizeof *z);
    for (size_t c = 0; c < k; c++)
        z[c] = (s[0][c] + s[1][c]) + (s[2][c] + s[3][c]);
}

static void ref_nn_output(float *G2, double *loss, const float *H, size_t ld,
                          size_t d, const float *W2, size_t k,
                          const sr_dataset *ds, const size_t *rows, size_t i0,
                          size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        float *g = G2 + 16 * i;
        nn_logits(g, H + i * ld, W2, d, k);
        loss[i] = ref_softmax_xent(g, ds->y[rows[i]], k);
    }
}

static void ref_nn_backward(float *G1, const float *H, size_t ld,
                            const float *G2, size_t B, float *W2T, float *W2,
                            size_t k, size_t c0, size_t c1, float scale)
{
    /* G1 = 1{H > 0} o (G2 W2^T), from the forward H = ReLU(X W1) */
    for (size_t i = 0; i < B; i++) {
        const float *h = H + i * ld, *g2 = G2 + 16 * i;
        float *g1 = G1 + i * ld;
        for (size_t a = c0; a < c1; a++) {
            float s = 0.0f;
            for (size_t c = 0; c < k; c++)
                s += g2[c] * W2T[c * ld + a];
            g1[a] = h[a] > 0.0f ? s : 0.0f;
        }
    }
    /* W2 -= scale * H^T G2, as W2^T -= scale * G2^T H */
    for (size_t c = 0; c < k; c++) {
        for (size_t a = c0; a < c1; a++) {
            float s = 0.0f;
            for (size_t i = 0; i < B; i++)
                s += G2[16 * i + c] * H[i * ld + a];
            W2T[c * ld + a] -= scale * s;
        }
    }
    for (size_t a = c0; a < c1; a++)
        for (size_t c = 0; c < k; c++)
            W2[a * 16 + c] = W2T[c * ld + a];
}

static void ref_nn_w1_step(float *W1, size_t ld, const sr_batch_csc *X,
                           const float *G1, size_t c0, size_t c1, float scale)
{
    for (size_t q = 0; q < X->ncols; q++) {
        size_t e0 = q ? X->end[q - 1] : 0, e1 = X->end[q];
        float *w = W1 + (size_t)X->col[q] * ld;
        for (size_t c = c0; c < c1; c++) {
            float s = 0.0f;
            for (size_t e = e0; e < e1; e++)
                s += sr_pixel_scale[X->val[e]] * G1[(size_t)X->row[e] * ld + c];
            w[c] -= scale * s;
        }
    }
}

static double ref_nn_eval(size_t *wrong, const sr_dataset *ds, size_t r0,
                          size_t r1, const float *W1, size_t ld, size_t d,
                          const float *W2, size_t k, float *h)
{
    double sum = 0.0;
    size_t bad = 0;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *col;
        const uint8_t *val;
        size_t nnz = u8_row(ds, r, &col, &val);
        float z[16];
        int w;
        nn_hidden_row(h, col, val, nnz, W1, ld, 0, ld);
        nn_logits(z, h, W2, d, k);
        sum += loss_err(z, ds->y[r], k, &w);
        bad += (size_t)w;
    }
    *wrong += bad;
    return sum;
}

const sr_kernel_table sr_kernels_ref = {
    "ref", ref_row_matmul, ref_row_outer_add, ref_axpy, ref_softmax_xent,
    ref_sm_rows_grad, ref_sm_step, ref_sm_eval,
    ref_nn_hidden, ref_nn_output, ref_nn_backward, ref_nn_w1_step,
    ref_nn_eval,
};

size_t sr_row_lower_bound(const sr_row *x, size_t j)
{
    if (!x->col16 && !x->col32)
        return j < x->nnz ? j : x->nnz;
    size_t lo = 0, hi = x->nnz;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sr_row_col(x, mid) < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
