/* Data sets over the caller's arrays (sr_dataset_view_*): bindings such
 * as the Python package hand their arrays to training without a copy. The
 * checks are the readers' (finite features, labels in range, a well-formed
 * sparse structure) so that a view is as trustworthy as a loaded file. */
#include <string.h>

#include "dataset.h"

static int is_finite(float v) { return v - v == 0.0f; }

/* Labels and targets, borrowed; k = 1 + the largest label. */
static sr_status lend_labels(sr_dataset *ds, size_t m, const int32_t *y,
                             const float *targets, size_t t, sr_error *err)
{
    if (y && targets)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "a data set has class labels or targets, not both");
    if (y) {
        int32_t top = -1;
        for (size_t i = 0; i < m; i++) {
            if (y[i] < 0)
                return sr_fail(err, SR_ERR_INVALID_ARG,
                               "label y[%zu] = %ld is negative", i, (long)y[i]);
            top = y[i] > top ? y[i] : top;
        }
        ds->y = (int32_t *)y;
        ds->k = (size_t)top + 1;
    } else if (targets) {
        size_t mt;
        if (t == 0)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "targets given with t = 0 per example");
        if (sr_mul_overflows(m, t, &mt))
            return sr_fail(err, SR_ERR_TOO_BIG, "%zu x %zu targets overflow", m, t);
        for (size_t i = 0; i < mt; i++)
            if (!is_finite(targets[i]))
                return sr_fail(err, SR_ERR_INVALID_ARG,
                               "target [%zu][%zu] is not finite", i / t, i % t);
        ds->targets = (float *)targets;
        ds->t = t;
    }
    ds->borrows |= SR_BORROWS_LABELS;
    return SR_OK;
}

static sr_status new_view(size_t m, size_t n, const int32_t *y,
                          const float *targets, size_t t, sr_dataset **ds,
                          sr_error *err)
{
    if (m == 0 || n == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "a data set needs rows and features (m %zu, n %zu)", m, n);
    if (n > UINT32_MAX)
        return sr_fail(err, SR_ERR_TOO_BIG, "%zu features: at most %lu",
                       n, (unsigned long)UINT32_MAX);
    if (!(*ds = sr_dataset_new(err)))
        return SR_ERR_NOMEM;
    (*ds)->m = m;
    (*ds)->n = n;
    sr_status st = lend_labels(*ds, m, y, targets, t, err);
    if (st != SR_OK) {
        sr_dataset_free(*ds);
        *ds = NULL;
    }
    return st;
}

sr_status sr_dataset_view_dense(const float *X, size_t m, size_t n,
                                const int32_t *y, const float *targets,
                                size_t t, sr_dataset **out, sr_error *err)
{
    size_t mn;
    if (!X || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_dataset_view_dense: NULL argument");
    if (sr_mul_overflows(m, n, &mn))
        return sr_fail(err, SR_ERR_TOO_BIG, "%zu x %zu features overflow", m, n);
    for (size_t i = 0; i < mn; i++)
        if (!is_finite(X[i]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "feature X[%zu][%zu] is not finite", i / n, i % n);
    sr_dataset *ds;
    sr_status st = new_view(m, n, y, targets, t, &ds, err);
    if (st != SR_OK)
        return st;
    ds->layout = SR_FEATURES_F32;
    ds->x_f32 = (float *)X;
    ds->borrows |= SR_BORROWS_FEATURES;
    *out = ds;
    return SR_OK;
}

sr_status sr_dataset_view_pixels(const uint8_t *X, size_t m, size_t n,
                                 const int32_t *y, const float *targets,
                                 size_t t, sr_dataset **out, sr_error *err)
{
    size_t mn;
    if (!X || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_dataset_view_pixels: NULL argument");
    if (sr_mul_overflows(m, n, &mn))
        return sr_fail(err, SR_ERR_TOO_BIG, "%zu x %zu pixels overflow", m, n);
    sr_dataset *ds;
    sr_status st = new_view(m, n, y, targets, t, &ds, err);
    if (st == SR_OK && (st = sr_dataset_lend_pixels(ds, X, m, n, err)) != SR_OK)
        sr_dataset_free(ds);
    if (st == SR_OK)
        *out = ds;
    return st;
}

sr_status sr_dataset_view_csr(const size_t *row_ptr, const uint32_t *col,
                              const float *val, size_t m, size_t n,
                              const int32_t *y, const float *targets, size_t t,
                              sr_dataset **out, sr_error *err)
{
    if (!row_ptr || !out || (row_ptr[m] && (!col || !val)))
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_dataset_view_csr: NULL argument");
    if (row_ptr[0] != 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sparse rows: the first row pointer is %zu, not 0", row_ptr[0]);
    for (size_t i = 0; i < m; i++) {
        if (row_ptr[i + 1] < row_ptr[i])
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "sparse rows: row %zu ends (%zu) before it starts (%zu)",
                           i, row_ptr[i + 1], row_ptr[i]);
        for (size_t p = row_ptr[i]; p < row_ptr[i + 1]; p++) {
            if (col[p] >= n)
                return sr_fail(err, SR_ERR_INVALID_ARG,
                               "sparse rows: row %zu has column %lu of %zu",
                               i, (unsigned long)col[p], n);
            if (p > row_ptr[i] && col[p] <= col[p - 1])
                return sr_fail(err, SR_ERR_INVALID_ARG,
                               "sparse rows: row %zu's columns are not strictly "
                               "increasing (%lu after %lu)", i,
                               (unsigned long)col[p], (unsigned long)col[p - 1]);
            if (!is_finite(val[p]))
                return sr_fail(err, SR_ERR_INVALID_ARG,
                               "sparse rows: row %zu, column %lu is not finite",
                               i, (unsigned long)col[p]);
        }
    }
    sr_dataset *ds;
    sr_status st = new_view(m, n, y, targets, t, &ds, err);
    if (st != SR_OK)
        return st;
    ds->layout = SR_FEATURES_CSR;
    ds->row_ptr = (size_t *)row_ptr;
    ds->col = (uint32_t *)col;
    ds->val = (float *)val;
    ds->borrows |= SR_BORROWS_FEATURES;
    *out = ds;
    return SR_OK;
}

sr_status sr_dataset_set_class_names(sr_dataset *ds, const char *const *names,
                                     size_t k, sr_error *err)
{
    if (!ds || !names || k == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_set_class_names: NULL argument or no class");
    for (size_t c = 0; c < k; c++)
        if (!names[c])
            return sr_fail(err, SR_ERR_INVALID_ARG, "class %zu has no name", c);
    if (ds->k > k)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%zu class names for labels up to %zu", k, ds->k - 1);
    char **copy;
    sr_status st = sr_copy_strings((char *const *)names, k, &copy, err);
    if (st != SR_OK)
        return st;
    sr_free_strings(ds->class_names, ds->k);
    ds->class_names = copy;
    ds->k = k;
    return SR_OK;
}

sr_status sr_dataset_set_feature_names(sr_dataset *ds,
                                       const char *const *names, size_t n,
                                       sr_error *err)
{
    if (!ds || !names)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_set_feature_names: NULL argument");
    if (n != ds->n)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%zu feature names for %zu features", n, ds->n);
    for (size_t j = 0; j < n; j++)
        if (!names[j])
            return sr_fail(err, SR_ERR_INVALID_ARG, "feature %zu has no name", j);
    char **copy;
    sr_status st = sr_copy_strings((char *const *)names, n, &copy, err);
    if (st != SR_OK)
        return st;
    sr_free_strings(ds->feature_names, ds->n);
    ds->feature_names = copy;
    return SR_OK;
}
