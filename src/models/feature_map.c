#include <math.h>
#include <string.h>

#include "../dist/dist.h"
#include "feature_map.h"

static int is_sparse(const sr_dataset *ds)
{
    return ds->layout == SR_FEATURES_CSR || ds->layout == SR_FEATURES_U8_SPARSE;
}

/* x^p computed in double, then rounded once to float. */
static float power(float x, unsigned p)
{
    double v = x, r = x;
    for (unsigned i = 1; i < p; i++)
        r *= v;
    return (float)r;
}

/* The polynomial map of raw (and standardisation when `scale` and the model
 * has it), as a new data set. */
static sr_status map_features(const sr_model *model, const sr_dataset *raw,
                              int scale, sr_dataset **out, sr_error *err)
{
    size_t m = raw->m, n0 = raw->n, D = model->poly, n = n0 * D;
    const float *mean = scale ? model->mean : NULL;
    const float *inv_std = scale ? model->inv_std : NULL;
    sr_dataset *ds = sr_dataset_new(err);
    if (!ds)
        return SR_ERR_NOMEM;
    ds->m = m;
    ds->n = n;
    ds->k = raw->k;
    ds->t = raw->t;
    sr_status st = sr_dataset_copy_shard(ds, raw, err);
    if (st != SR_OK)
        goto fail;
    if (raw->y) {
        if (!(ds->y = sr_alloc_array(m, sizeof *ds->y)))
            goto nomem;
        memcpy(ds->y, raw->y, m * sizeof *ds->y);
        if (raw->labels_file &&
            sr_dataset_set_labels_file(ds, raw->labels_file, NULL) != SR_OK)
            goto nomem;
    }
    if (raw->targets) {
        if (!(ds->targets = sr_alloc_array(m, raw->t * sizeof(float))))
            goto nomem;
        memcpy(ds->targets, raw->targets, m * raw->t * sizeof(float));
    }
    /* Sparse input stays sparse unless the model centres its features (it
     * was fitted on dense data): then zeros stop being zeros. */
    int centred = 0;
    for (size_t j = 0; mean && j < n && !centred; j++)
        centred = mean[j] != 0.0f;
    if (is_sparse(raw) && !centred) {
        size_t nnz = raw->row_ptr[m], total;
        if (sr_mul_overflows(nnz, D, &total)) {
            st = sr_fail(err, SR_ERR_TOO_BIG, "the polynomial features overflow");
            goto fail;
        }
        ds->layout = SR_FEATURES_CSR;
        ds->row_ptr = sr_alloc_array(m + 1, sizeof *ds->row_ptr);
        ds->col = sr_alloc_array(total, sizeof *ds->col);
        ds->val = sr_alloc_array(total, sizeof *ds->val);
        if (!ds->row_ptr || !ds->col || !ds->val)
            goto nomem;
        size_t q = 0;
        for (size_t r = 0; r < m; r++) {
            sr_row x = sr_dataset_row(raw, r);
            ds->row_ptr[r] = q;
            for (unsigned p = 1; p <= D; p++)
                for (size_t e = 0; e < x.nnz; e++) {
                    size_t j = sr_row_col(&x, e) + (p - 1) * n0;
                    float v = power(sr_row_val(&x, e), p);
                    ds->col[q] = (uint32_t)j;
                    ds->val[q++] = inv_std ? v * inv_std[j] : v;
                }
        }
        ds->row_ptr[m] = q;
    } else {
        ds->layout = SR_FEATURES_F32;
        if (!(ds->x_f32 = sr_alloc_array(m, n * sizeof(float))))
            goto nomem;
        for (size_t r = 0; r < m; r++) {
            float *row = ds->x_f32 + r * n;
            if ((st = sr_dataset_copy_features(raw, r, 1, row, err)) != SR_OK)
                goto fail;
            for (unsigned p = D; p >= 2; p--)
                for (size_t j = 0; j < n0; j++)
                    row[(p - 1) * n0 + j] = power(row[j], p);
            if (inv_std)
                for (size_t j = 0; j < n; j++)
                    row[j] = (row[j] - mean[j]) * inv_std[j];
        }
    }
    *out = ds;
    return SR_OK;
nomem:
    st = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu mapped features", n);
fail:
    sr_dataset_free(ds);
    return st;
}

sr_status sr_feature_map_apply(const sr_model *model, const sr_dataset *raw,
                               sr_dataset **out, sr_error *err)
{
    if (raw->n != model->n_raw)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "the data set has %zu features but the model expects %zu",
                       raw->n, model->n_raw);
    if (model->poly <= 1 && !model->mean) {
        *out = NULL;
        return SR_OK;
    }
    return map_features(model, raw, 1, out, err);
}

sr_status sr_feature_map_fit(sr_model *model, const sr_dataset *raw,
                             sr_error *err)
{
    sr_dataset *mapped = NULL;
    const sr_dataset *ds = raw;
    sr_status st = SR_OK;
    if (model->poly > 1) {
        if ((st = map_features(model, raw, 0, &mapped, err)) != SR_OK)
            return st;
        ds = mapped;
    }
    size_t n = ds->n, m = ds->m;
    double *sum = sr_alloc_zeroed(n, sizeof *sum);
    double *sq = sr_alloc_zeroed(n, sizeof *sq);
    float *mean = sr_alloc_array(n, sizeof *mean);
    float *inv = sr_alloc_array(n, sizeof *inv);
    if (!sum || !sq || !mean || !inv) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory standardising %zu features", n);
        goto done;
    }
    /* A shard continues the sums of the ranks before it: the additions
     * of one process. */
    sr_dist_piece sums[2] = {{sum, n * sizeof *sum}, {sq, n * sizeof *sq}};
    if (ds->sharded)
        sr_dist_chain_take(sums, 2);
    for (size_t r = 0; r < m; r++) {
        sr_row x = sr_dataset_row(ds, r);
        for (size_t e = 0; e < x.nnz; e++) {
            double v = sr_row_val(&x, e);
            sum[sr_row_col(&x, e)] += v;
            sq[sr_row_col(&x, e)] += v * v;
        }
    }
    if (ds->sharded) {
        sr_dist_chain_give(sums, 2);
        m = sr_dataset_rows_all(ds);
    }
    int centre = !is_sparse(ds);
    for (size_t j = 0; j < n; j++) {
        double mu = sum[j] / (double)m, var = sq[j] / (double)m - mu * mu;
        double sd = var > 0 ? sqrt(var) : 0.0;
        mean[j] = centre ? (float)mu : 0.0f;
        /* A constant feature carries no information: leave its scale. */
        inv[j] = sd > 1e-12 ? (float)(1.0 / sd) : 1.0f;
    }
    sr_dealloc(model->mean);
    sr_dealloc(model->inv_std);
    model->mean = mean;
    model->inv_std = inv;
    mean = inv = NULL;
done:
    sr_dealloc(sum);
    sr_dealloc(sq);
    sr_dealloc(mean);
    sr_dealloc(inv);
    sr_dataset_free(mapped);
    return st;
}
