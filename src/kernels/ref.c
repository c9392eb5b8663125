/* Plain-C reference kernels: always built, the fallback on every machine and
 * the oracle the SIMD versions are tested against. Each follows its
 * contract in kernels.h with a multiply and an add where the SIMD kernels
 * fuse them. */
#include <math.h>
#include <string.h>

#include "kernels.h"

void sr_rule_apply_row(const sr_rule *rule, float *w, float *v,
                       const float *a, size_t len)
{
    switch (rule->kind) {
    case SR_RULE_SGD:
        for (size_t c = 0; c < len; c++)
            w[c] = w[c] - rule->scale * a[c];
        break;
    case SR_RULE_DECAY:
        for (size_t c = 0; c < len; c++)
            w[c] = w[c] - (rule->scale * a[c] + rule->decay * w[c]);
        break;
    case SR_RULE_MOMENTUM:
        for (size_t c = 0; c < len; c++) {
            v[c] = rule->mu * v[c] + (rule->invB * a[c] + rule->l2 * w[c]);
            w[c] = w[c] - rule->lr * v[c];
        }
        break;
    case SR_RULE_ADD:
        for (size_t c = 0; c < len; c++)
            w[c] = w[c] + a[c];
        break;
    }
}

/* Row r of sparse data: its entries' count, and their columns and values
 * through col()/val(). */
static size_t row_entries(const sr_xview *X, size_t r, size_t *p0)
{
    *p0 = X->ptr[r];
    return X->ptr[r + 1] - X->ptr[r];
}

static size_t col_at(const sr_xview *X, size_t p)
{
    return X->fmt == SR_X_U8S ? X->col16[p] : X->col32[p];
}

static float val_at(const sr_xview *X, size_t p)
{
    return X->fmt == SR_X_U8S ? sr_pixel_scale[X->u8[p]] : X->f32[p];
}

static void finish(float *y, const float *b, size_t c0, size_t c1, int relu)
{
    for (size_t c = c0; c < c1; c++) {
        float z = b ? y[c] + b[c] : y[c];
        y[c] = relu ? (z > 0.0f ? z : 0.0f) : z;
    }
}

static void ref_sparse_fwd(float *Y, size_t ldy, const sr_xview *X,
                           const size_t *rows, size_t first, size_t B,
                           const float *W, size_t ldw, const float *b,
                           size_t c0, size_t c1, int relu)
{
    for (size_t i = 0; i < B; i++) {
        size_t p0, nnz = row_entries(X, rows ? rows[i] : first + i, &p0);
        float *y = Y + i * ldy;
        for (size_t c = c0; c < c1; c++)
            y[c] = 0.0f;
        for (size_t p = p0; p < p0 + nnz; p++) {
            float v = val_at(X, p);
            const float *w = W + col_at(X, p) * ldw;
            for (size_t c = c0; c < c1; c++)
                y[c] = y[c] + v * w[c];
        }
        finish(y, b, c0, c1, relu);
    }
}

static void ref_sparse_fwd16(float *Y, const sr_xview *X, const size_t *rows,
                             size_t first, size_t B, const float *W,
                             const float *b)
{
    for (size_t i = 0; i < B; i++) {
        size_t p0, nnz = row_entries(X, rows ? rows[i] : first + i, &p0);
        float s[4][16];
        memset(s, 0, sizeof s);
        for (size_t q = 0; q < nnz; q++) {
            float v = val_at(X, p0 + q);
            const float *w = W + col_at(X, p0 + q) * 16;
            for (size_t c = 0; c < 16; c++)
                s[q % 4][c] = s[q % 4][c] + v * w[c];
        }
        float *y = Y + i * 16;
        for (size_t c = 0; c < 16; c++)
            y[c] = (s[0][c] + s[1][c]) + (s[2][c] + s[3][c]);
        finish(y, b, 0, 16, 0);
    }
}

static void ref_dense_fwd(float *Y, size_t ldy, const float *X, size_t ldx,
                          size_t B, size_t n, const float *W, size_t ldw,
                          const float *b, size_t c0, size_t c1, int relu)
{
    for (size_t i = 0; i < B; i++) {
        const float *x = X + i * ldx;
        float *y = Y + i * ldy;
        for (size_t c = c0; c < c1; c++)
            y[c] = 0.0f;
        for (size_t j = 0; j < n; j++) {
            const float *w = W + j * ldw;
            for (size_t c = c0; c < c1; c++)
                y[c] = y[c] + x[j] * w[c];
        }
        finish(y, b, c0, c1, relu);
    }
}

/* The rule on W's row at `off`, lanes [c0, c1), by a (c1 - c0). */
static void rule_at(const sr_rule *rule, float *W, size_t off, size_t c0,
                    size_t c1, const float *a)
{
    float *v = rule->V ? rule->V + off + c0 : NULL;
    sr_rule_apply_row(rule, W + off + c0, v, a, c1 - c0);
}

static void ref_sparse_step(float *W, size_t ldw, const sr_csc *T, size_t q0,
                            size_t q1, const float *G, size_t ldg, size_t c0,
                            size_t c1, const sr_rule *rule)
{
    float a[1024];
    for (size_t q = q0; q < q1; q++) {
        size_t e0 = q ? T->end[q - 1] : 0, e1 = T->end[q];
        for (size_t t0 = c0; t0 < c1; t0 += 1024) {
            size_t t1 = c1 - t0 < 1024 ? c1 : t0 + 1024;
            memset(a, 0, (t1 - t0) * sizeof *a);
            for (size_t e = e0; e < e1; e++) {
                float v = T->u8 ? sr_pixel_scale[T->u8[e]] : T->f32[e];
                const float *g = G + (size_t)T->row[e] * ldg + t0;
                for (size_t c = 0; c < t1 - t0; c++)
                    a[c] = a[c] + v * g[c];
            }
            rule_at(rule, W, (size_t)T->col[q] * ldw, t0, t1, a);
        }
    }
}

static void ref_sparse_scatter(float *acc, size_t lda, const sr_xview *X,
                               const size_t *rows, size_t first, size_t B,
                               const float *G, size_t ldg, size_t c0,
                               size_t c1)
{
    for (size_t i = 0; i < B; i++) {
        size_t p0, nnz = row_entries(X, rows ? rows[i] : first + i, &p0);
        const float *g = G + i * ldg;
        for (size_t p = p0; p < p0 + nnz; p++) {
            float v = val_at(X, p);
            float *a = acc + col_at(X, p) * lda;
            for (size_t c = c0; c < c1; c++)
                a[c] = a[c] + v * g[c];
        }
    }
}

static void ref_apply_rows(float *W, size_t ldw, float *acc, size_t j0,
                           size_t j1, size_t c0, size_t c1,
                           const sr_rule *rule)
{
    for (size_t j = j0; j < j1; j++) {
        float *a = acc + j * ldw + c0;
        rule_at(rule, W, j * ldw, c0, c1, a);
        memset(a, 0, (c1 - c0) * sizeof *a);
    }
}

static void ref_dense_step(float *W, size_t ldw, const float *X, size_t ldx,
                           size_t B, size_t j0, size_t j1, const float *G,
                           size_t ldg, size_t c0, size_t c1,
                           const sr_rule *rule)
{
    float a[1024];
    for (size_t j = j0; j < j1; j++) {
        for (size_t t0 = c0; t0 < c1; t0 += 1024) {
            size_t t1 = c1 - t0 < 1024 ? c1 : t0 + 1024;
            memset(a, 0, (t1 - t0) * sizeof *a);
            for (size_t i = 0; i < B; i++) {
                float x = X[i * ldx + j];
                const float *g = G + i * ldg + t0;
                for (size_t c = 0; c < t1 - t0; c++)
                    a[c] = a[c] + x * g[c];
            }
            rule_at(rule, W, j * ldw, t0, t1, a);
        }
    }
}

/* The exponentials' sum of z[0 .. k) - mx in the contract's order: lane
 * l of 16 over the classes c = l mod 16, then the tree over the lanes. */
static float sum_exp(const float *z, size_t k, float mx, float *e)
{
    float lane[16] = {0};
    for (size_t c = 0; c < k; c++) {
        e[c] = expf(z[c] - mx);
        lane[c % 16] = lane[c % 16] + e[c];
    }
    for (size_t w = 8; w >= 1; w /= 2)
        for (size_t l = 0; l < w; l++)
            lane[l] = lane[l] + lane[l + w];
    return lane[0];
}

static float row_max(const float *z, size_t k, size_t *arg)
{
    size_t a = 0;
    for (size_t c = 1; c < k; c++)
        if (z[c] > z[a])
            a = c;
    *arg = a;
    return z[a];
}

static void ref_softmax_grad(float *Z, size_t ldz, const int32_t *y, size_t B,
                             size_t k, double *loss)
{
    for (size_t i = 0; i < B; i++) {
        float *z = Z + i * ldz;
        size_t arg;
        float mx = row_max(z, k, &arg);
        float zy = y ? z[y[i]] - mx : 0.0f;
        float sum = sum_exp(z, k, mx, z);
        for (size_t c = 0; c < k; c++)
            z[c] = z[c] / sum;
        for (size_t c = k; c < ldz; c++)
            z[c] = 0.0f;
        if (y) {
            z[y[i]] = z[y[i]] - 1.0f;
            loss[i] = log((double)sum) - (double)zy;
        }
    }
}

static double ref_softmax_eval(const float *Z, size_t ldz, const int32_t *y,
                               size_t B, size_t k, size_t *wrong)
{
    float e[1024];
    double total = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < B; i++) {
        const float *z = Z + i * ldz;
        size_t arg;
        float mx = row_max(z, k, &arg);
        float lane[16] = {0};
        /* sum_exp in pieces of e's size */
        for (size_t c0 = 0; c0 < k; c0 += 1024) {
            size_t c1 = k - c0 < 1024 ? k : c0 + 1024;
            for (size_t c = c0; c < c1; c++) {
                e[c - c0] = expf(z[c] - mx);
                lane[c % 16] = lane[c % 16] + e[c - c0];
            }
        }
        for (size_t w = 8; w >= 1; w /= 2)
            for (size_t l = 0; l < w; l++)
                lane[l] = lane[l] + lane[l + w];
        total += log((double)lane[0]) - (double)(z[y[i]] - mx);
        bad += arg != (size_t)y[i];
    }
    *wrong += bad;
    return total;
}

static void ref_nn_logits(float *Z, size_t ldz, const float *H, size_t ldh,
                          size_t d, const float *W2, const float *b, size_t i0,
                          size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        const float *h = H + i * ldh;
        float *z = Z + i * ldz;
        for (size_t c = 0; c < ldz; c++) {
            float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            size_t a = 0;
            for (; a + 4 <= d; a += 4)
                for (size_t q = 0; q < 4; q++)
                    s[q] = s[q] + h[a + q] * W2[(a + q) * ldz + c];
            for (; a < d; a++)
                s[0] = s[0] + h[a] * W2[a * ldz + c];
            z[c] = (s[0] + s[1]) + (s[2] + s[3]);
            if (b)
                z[c] = z[c] + b[c];
        }
    }
}

static void ref_nn_backward(float *G1, const float *H, size_t ldh,
                            const float *G2, size_t ldg, size_t B,
                            const float *W2T, float *Wout, float *W2,
                            size_t k, size_t c0, size_t c1,
                            const sr_rule *rule)
{
    /* G1 = 1{H > 0} o (G2 W2^T), from the forward H = ReLU(X W1 + b1) */
    for (size_t i = 0; i < B; i++) {
        const float *h = H + i * ldh, *g2 = G2 + i * ldg;
        float *g1 = G1 + i * ldh;
        for (size_t a = c0; a < c1; a++) {
            float s = 0.0f;
            for (size_t c = 0; c < k; c++)
                s = s + g2[c] * W2T[c * ldh + a];
            g1[a] = h[a] > 0.0f ? s : 0.0f;
        }
    }
    /* W2 moves by H^T G2, kept as W2^T by G2^T H */
    float a[1024];
    for (size_t c = 0; c < k; c++) {
        for (size_t t0 = c0; t0 < c1; t0 += 1024) {
            size_t t1 = c1 - t0 < 1024 ? c1 : t0 + 1024;
            memset(a, 0, (t1 - t0) * sizeof *a);
            for (size_t i = 0; i < B; i++)
                for (size_t u = t0; u < t1; u++)
                    a[u - t0] = a[u - t0] + G2[i * ldg + c] * H[i * ldh + u];
            rule_at(rule, Wout, c * ldh, t0, t1, a);
        }
    }
    for (size_t u = c0; W2 && u < c1; u++)
        for (size_t c = 0; c < k; c++)
            W2[u * ldg + c] = Wout[c * ldh + u];
}

static void ref_pixels_to_float(float *out, const uint8_t *in, size_t len)
{
    for (size_t j = 0; j < len; j++)
        out[j] = sr_pixel_scale[in[j]];
}

const sr_kernel_table sr_kernels_ref = {
    "ref",
    ref_sparse_fwd,
    ref_sparse_fwd16,
    ref_dense_fwd,
    ref_sparse_step,
    ref_sparse_scatter,
    ref_apply_rows,
    ref_dense_step,
    ref_softmax_grad,
    ref_softmax_eval,
    ref_nn_logits,
    ref_nn_backward,
    ref_pixels_to_float,
};
