/* Plain-C reference kernels: always built, the fallback on every machine and
 * the oracle the faster versions are tested against. */
#include <math.h>
#include <string.h>

#include "kernels.h"

/* One row of X times W, accumulated into out (k). */
static void row_times(float *out, const sr_dataset *ds, size_t r,
                      const float *W, size_t k)
{
    size_t n = ds->n;
    memset(out, 0, k * sizeof *out);
    switch (ds->layout) {
    case SR_FEATURES_U8: {
        const uint8_t *x = ds->x_u8 + r * n;
        for (size_t j = 0; j < n; j++) {
            if (!x[j])
                continue;
            float v = sr_pixel_scale[x[j]];
            const float *w = W + j * k;
            for (size_t c = 0; c < k; c++)
                out[c] += v * w[c];
        }
        break;
    }
    case SR_FEATURES_F32: {
        const float *x = ds->x_f32 + r * n;
        for (size_t j = 0; j < n; j++) {
            if (x[j] == 0.0f)
                continue;
            const float *w = W + j * k;
            for (size_t c = 0; c < k; c++)
                out[c] += x[j] * w[c];
        }
        break;
    }
    case SR_FEATURES_CSR:
        for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++) {
            float v = ds->val[p];
            const float *w = W + (size_t)ds->col[p] * k;
            for (size_t c = 0; c < k; c++)
                out[c] += v * w[c];
        }
        break;
    }
}

void sr_x_matmul(float *out, const sr_batch *b, const float *W, size_t k)
{
    for (size_t i = 0; i < b->count; i++)
        row_times(out + i * k, b->ds, sr_batch_row(b, i), W, k);
}

/* dW[j, :] += x_rj * g for every non-zero feature j of row r. */
static void row_outer_add(float *dW, const sr_dataset *ds, size_t r,
                          const float *g, size_t k)
{
    size_t n = ds->n;
    switch (ds->layout) {
    case SR_FEATURES_U8: {
        const uint8_t *x = ds->x_u8 + r * n;
        for (size_t j = 0; j < n; j++) {
            if (!x[j])
                continue;
            float v = sr_pixel_scale[x[j]];
            float *d = dW + j * k;
            for (size_t c = 0; c < k; c++)
                d[c] += v * g[c];
        }
        break;
    }
    case SR_FEATURES_F32: {
        const float *x = ds->x_f32 + r * n;
        for (size_t j = 0; j < n; j++) {
            if (x[j] == 0.0f)
                continue;
            float *d = dW + j * k;
            for (size_t c = 0; c < k; c++)
                d[c] += x[j] * g[c];
        }
        break;
    }
    case SR_FEATURES_CSR:
        for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++) {
            float v = ds->val[p];
            float *d = dW + (size_t)ds->col[p] * k;
            for (size_t c = 0; c < k; c++)
                d[c] += v * g[c];
        }
        break;
    }
}

void sr_xt_matmul(float *dW, const sr_batch *b, const float *G, size_t k)
{
    memset(dW, 0, b->ds->n * k * sizeof *dW);
    for (size_t i = 0; i < b->count; i++)
        row_outer_add(dW, b->ds, sr_batch_row(b, i), G + i * k, k);
}

void sr_matmul(float *C, const float *A, const float *Bm, size_t m, size_t q,
               size_t p)
{
    for (size_t i = 0; i < m; i++) {
        float *c = C + i * p;
        memset(c, 0, p * sizeof *c);
        for (size_t j = 0; j < q; j++) {
            float a = A[i * q + j];
            const float *bj = Bm + j * p;
            for (size_t l = 0; l < p; l++)
                c[l] += a * bj[l];
        }
    }
}

void sr_matmul_nt(float *C, const float *A, const float *Bm, size_t m,
                  size_t q, size_t p)
{
    for (size_t i = 0; i < m; i++)
        for (size_t l = 0; l < p; l++) {
            float s = 0.0f;
            for (size_t j = 0; j < q; j++)
                s += A[i * q + j] * Bm[l * q + j];
            C[i * p + l] = s;
        }
}

void sr_matmul_tn(float *C, const float *A, const float *Bm, size_t m,
                  size_t q, size_t p)
{
    memset(C, 0, q * p * sizeof *C);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < q; j++) {
            float a = A[i * q + j];
            if (a == 0.0f)
                continue;
            float *c = C + j * p;
            const float *bi = Bm + i * p;
            for (size_t l = 0; l < p; l++)
                c[l] += a * bi[l];
        }
}

double sr_softmax_xent_grad(float *Z, const int32_t *y, size_t B, size_t k)
{
    double loss = 0.0;
    for (size_t i = 0; i < B; i++) {
        float *z = Z + i * k;
        float mx = z[0];
        for (size_t c = 1; c < k; c++)
            mx = z[c] > mx ? z[c] : mx;
        float sum = 0.0f;
        float zy = z[y[i]] - mx;
        for (size_t c = 0; c < k; c++) {
            z[c] = expf(z[c] - mx);
            sum += z[c];
        }
        /* loss_i = log(sum_j exp(z_j - max)) - (z_y - max) */
        loss += log((double)sum) - (double)zy;
        for (size_t c = 0; c < k; c++)
            z[c] /= sum;
        z[y[i]] -= 1.0f;
    }
    return loss;
}

double sr_softmax_xent_err(const float *Z, const int32_t *y, size_t B,
                           size_t k, size_t *errors)
{
    double loss = 0.0;
    size_t wrong = 0;
    for (size_t i = 0; i < B; i++) {
        const float *z = Z + i * k;
        size_t arg = 0;
        for (size_t c = 1; c < k; c++)
            if (z[c] > z[arg])
                arg = c;
        double mx = z[arg], sum = 0.0;
        for (size_t c = 0; c < k; c++)
            sum += exp((double)z[c] - mx);
        loss += log(sum) - ((double)z[y[i]] - mx);
        wrong += arg != (size_t)y[i];
    }
    *errors = wrong;
    return loss;
}

void sr_relu(float *H, size_t count)
{
    for (size_t i = 0; i < count; i++)
        H[i] = H[i] > 0.0f ? H[i] : 0.0f;
}

void sr_drelu(float *G, const float *H, size_t count)
{
    for (size_t i = 0; i < count; i++)
        G[i] = H[i] > 0.0f ? G[i] : 0.0f;
}

void sr_axpy_update(float *params, const float *grad, float scale,
                    size_t count)
{
    for (size_t i = 0; i < count; i++)
        params[i] -= scale * grad[i];
}
