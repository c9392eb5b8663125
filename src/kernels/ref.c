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

const sr_kernel_table sr_kernels_ref = {
    "ref", ref_row_matmul, ref_row_outer_add, ref_axpy, ref_softmax_xent,
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
