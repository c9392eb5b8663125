/* Loading any supported file: format detection, .npy pairs, and the
 * accessors and row subsets the rest of the library uses. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "npy.h"
#include "idx.h"
#include "tabular.h"

const char *sr_format_name(sr_format format)
{
    switch (format) {
    case SR_FORMAT_AUTO: return "auto";
    case SR_FORMAT_CSV: return "csv";
    case SR_FORMAT_LIBSVM: return "libsvm";
    case SR_FORMAT_NPY: return "npy";
    case SR_FORMAT_IDX: return "idx";
    }
    return "unknown";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* A text line that looks like "label idx:val ...". */
static int looks_like_libsvm(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len && (p[i] == '#' || p[i] == '\n' || p[i] == '\r')) {
        while (i < len && p[i] != '\n')
            i++;
        i++;
    }
    size_t end = i;
    while (end < len && p[end] != '\n')
        end++;
    int colons = 0, commas = 0;
    for (size_t j = i; j < end; j++) {
        colons += p[j] == ':';
        commas += p[j] == ',';
    }
    return colons > 0 && commas == 0;
}

/* The bytes that decide a file's format: the first 64 KiB (after gzip). */
#define DETECT_BYTES 65536

sr_format sr_format_detect(const char *path, sr_error *err)
{
    /* Only the first bytes are read, not the whole file: loading reads it
     * next, and a large file should not pass through memory twice. */
    uint8_t *buf = sr_alloc(DETECT_BYTES);
    if (!buf) {
        sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", path ? path : "?");
        return SR_FORMAT_AUTO;
    }
    sr_source src;
    size_t len = 0;
    sr_status st = sr_source_open(path, &src, err);
    if (st == SR_OK) {
        st = sr_source_read(&src, buf, DETECT_BYTES, &len, err);
        sr_source_close(&src);
    }
    if (st != SR_OK) {
        sr_dealloc(buf);
        return SR_FORMAT_AUTO;
    }
    sr_format f = SR_FORMAT_AUTO;
    if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0)
        f = SR_FORMAT_NPY;
    else if (len >= 4 && buf[0] == 0 && buf[1] == 0 && buf[2] == 8 &&
             (buf[3] == 1 || buf[3] == 3))
        f = SR_FORMAT_IDX;
    else if (ends_with(path, ".csv") || ends_with(path, ".csv.gz"))
        f = SR_FORMAT_CSV;
    else if (looks_like_libsvm(buf, len))
        f = SR_FORMAT_LIBSVM;
    else
        f = SR_FORMAT_CSV;
    sr_dealloc(buf);
    return f;
}

sr_status sr_dataset_load(const char *path, const char *labels_path,
                          sr_format format, const sr_tabular_options *opt,
                          sr_dataset **out, sr_error *err)
{
    if (!path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_dataset_load: NULL argument");
    if (format == SR_FORMAT_AUTO) {
        format = sr_format_detect(path, err);
        if (format == SR_FORMAT_AUTO)
            return err ? err->code : SR_ERR_IO;
    }
    sr_tabular_options defaults = sr_tabular_options_default();
    if (!opt)
        opt = &defaults;
    switch (format) {
    case SR_FORMAT_CSV:
        return sr_dataset_load_csv(path, opt, out, err);
    case SR_FORMAT_LIBSVM:
        return sr_dataset_load_libsvm(path, opt, out, err);
    case SR_FORMAT_NPY:
        if (!labels_path && opt->task == SR_TASK_UNLABELLED)
            return sr_dataset_load_npy(path, NULL, opt->task, out, err);
        if (!labels_path)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "%s: a .npy file holds only features; name the "
                           "labels with --labels FILE", path);
        return sr_dataset_load_npy(path, labels_path, opt->task, out, err);
    case SR_FORMAT_IDX:
        if (!labels_path)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "%s: IDX images need their label file (--labels FILE)",
                           path);
        return sr_dataset_load_idx(path, labels_path, out, err);
    default:
        return sr_fail(err, SR_ERR_INVALID_ARG, "%s: unknown format %d", path,
                       (int)format);
    }
}

static sr_status npy_classes(const sr_npy_array *arr, const char *path,
                             sr_dataset *ds, sr_error *err);

/* This process's rows [first, last) of an .npy array opened as f, read by
 * offset into a new array (host byte order); NULL data when the file
 * cannot be read in part (gzip, a stream, the other byte order). */
static sr_status npy_part(sr_npy_file *f, size_t first, size_t last,
                          sr_npy_array *part, uint64_t *bytes, sr_error *err)
{
    const sr_npy_header *h = &f->h;
    memset(part, 0, sizeof *part);
    uint16_t probe = 1;
    int host_little = *(const uint8_t *)&probe == 1;
    if (!f->src.regular || f->src.z ||
        (h->item_size > 1 && h->little_endian != host_little))
        return SR_OK;
    size_t row = h->shape[1] * h->item_size, len = (last - first) * row;
    void *data = sr_alloc(len ? len : 1);
    if (!data)
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu rows",
                       f->src.path, last - first);
    sr_status st = sr_read_at(f->src.fd, f->src.path, data, len,
                              h->data_start + (uint64_t)first * row, err);
    if (st != SR_OK) {
        sr_dealloc(data);
        return st;
    }
    *bytes += h->data_start + len;
    part->dtype = h->dtype;
    part->item_size = h->item_size;
    part->ndim = h->ndim;
    part->shape[0] = last - first;
    part->shape[1] = h->shape[1];
    part->count = (last - first) * h->shape[1];
    part->data = data;
    return SR_OK;
}

/* sr_dataset_load_npy for this process's rows, read by offset from both
 * files (SR_TEXT_WHOLE: a file that cannot be read in part). */
static sr_status load_npy_shard(const char *x_path, const char *y_path,
                                sr_task task, size_t unit, sr_dataset **out,
                                sr_error *err)
{
    sr_npy_file X, Y;
    sr_npy_array xs, ys;
    memset(&X, 0, sizeof X);
    memset(&Y, 0, sizeof Y);
    memset(&xs, 0, sizeof xs);
    memset(&ys, 0, sizeof ys);
    sr_dataset *ds = NULL;
    uint64_t bytes = 0;
    size_t first = 0, last = 0;
    int labelled = y_path && task != SR_TASK_UNLABELLED;
    sr_status st = sr_npy_open(x_path, &X, err);
    if (st == SR_OK && labelled)
        st = sr_npy_open(y_path, &Y, err);
    if (st != SR_OK)
        goto done;
    /* the checks of the whole files are sr_dataset_load_npy's */
    if (X.h.ndim != 2 || !X.h.shape[0] || !X.h.shape[1] ||
        (labelled && (Y.h.shape[0] != X.h.shape[0] ||
                      (task == SR_TASK_CLASSIFICATION && Y.h.ndim != 1 &&
                       Y.h.shape[1] != 1)))) {
        st = SR_TEXT_WHOLE;
        goto done;
    }
    sr_shard_rows(X.h.shape[0], unit, &first, &last);
    if ((st = npy_part(&X, first, last, &xs, &bytes, err)) != SR_OK ||
        (labelled &&
         (st = npy_part(&Y, first, last, &ys, &bytes, err)) != SR_OK))
        goto done;
    if (!xs.data || (labelled && !ys.data)) {
        st = SR_TEXT_WHOLE;
        goto done;
    }
    /* other types than float32 converted as sr_dataset_load_npy does, the
     * messages naming elements of the whole file */
    if (X.h.dtype != SR_NPY_F4) {
        float *x = sr_alloc_array(xs.count ? xs.count : 1, sizeof *x);
        if (!x) {
            st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", x_path);
            goto done;
        }
        if ((st = sr_npy_to_f32_from(&xs, first * X.h.shape[1], x_path, x,
                                     err)) != SR_OK) {
            sr_dealloc(x);
            goto done;
        }
        sr_dealloc(xs.data);
        xs.data = x;
        xs.dtype = SR_NPY_F4;
        xs.item_size = sizeof *x;
    }
    if ((st = sr_npy_check_finite(xs.data, xs.count, first * X.h.shape[1],
                                  &X.h, x_path, err)) != SR_OK)
        goto done;
    if (!(ds = sr_dataset_new(err))) {
        st = SR_ERR_NOMEM;
        goto done;
    }
    ds->m = last - first;
    ds->n = X.h.shape[1];
    ds->layout = SR_FEATURES_F32;
    ds->x_f32 = xs.data;
    xs.data = NULL;
    if (task == SR_TASK_REGRESSION) {
        ds->t = Y.h.ndim == 2 ? Y.h.shape[1] : 1;
        if (!(ds->targets = sr_alloc_array(ys.count ? ys.count : 1,
                                           sizeof(float))))
            st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", y_path);
        else
            st = sr_npy_to_f32_from(&ys, first * ds->t, y_path, ds->targets,
                                    err);
    } else if (labelled) {
        st = npy_classes(&ys, y_path, ds, err);
        if (st == SR_OK)
            st = sr_labels_agree(ds, y_path, err);
    }
    if (st == SR_OK && ds->y)
        st = sr_dataset_set_labels_file(ds, y_path, err);
    if (st != SR_OK)
        goto done;
    ds->bytes_read = bytes;
    if ((st = sr_dataset_agree_shard(ds, first, err)) != SR_OK)
        goto done;
    *out = ds;
    ds = NULL;
done:
    sr_dataset_free(ds);
    sr_npy_close(&X);
    sr_npy_close(&Y);
    sr_npy_array_free(&xs);
    sr_npy_array_free(&ys);
    return st;
}

sr_status sr_dataset_load_shard(const char *path, const char *labels_path,
                                sr_format format,
                                const sr_tabular_options *opt, size_t unit,
                                sr_dataset **out, sr_error *err)
{
    if (!path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_load_shard: NULL argument");
    if (format == SR_FORMAT_AUTO) {
        format = sr_format_detect(path, err);
        if (format == SR_FORMAT_AUTO)
            return err ? err->code : SR_ERR_IO;
    }
    sr_status st;
    if (format == SR_FORMAT_IDX && labels_path)
        return sr_dataset_load_idx_shard(path, labels_path, unit, out, err);
    if (format == SR_FORMAT_CSV || format == SR_FORMAT_LIBSVM) {
        st = sr_text_load_shard(path, format == SR_FORMAT_CSV, opt, unit, out,
                                err);
        if (st != SR_TEXT_WHOLE)
            return st;
    }
    if (format == SR_FORMAT_NPY && (labels_path || (opt && opt->task ==
                                                      SR_TASK_UNLABELLED))) {
        st = load_npy_shard(path, labels_path, opt ? opt->task
                                                   : SR_TASK_CLASSIFICATION,
                            unit, out, err);
        if (st != SR_TEXT_WHOLE)
            return st;
    }
    /* the others: every row read, this process's share kept */
    sr_dataset *ds = NULL;
    if ((st = sr_dataset_load(path, labels_path, format, opt, &ds, err)) !=
        SR_OK)
        return st;
    if ((st = sr_dataset_keep_shard(ds, unit, err)) != SR_OK) {
        sr_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SR_OK;
}

/* Integer labels become classes through the same mapping as CSV's, so the
 * order of classes follows one documented rule everywhere. */
static sr_status npy_classes(const sr_npy_array *arr, const char *path,
                             sr_dataset *ds, sr_error *err)
{
    int64_t *raw = sr_alloc_array(arr->count, sizeof *raw);
    int32_t *y = sr_alloc_array(arr->count, sizeof *y);
    sr_labels L;
    int labels_ready = 0;
    sr_status st = SR_OK;
    if (!raw || !y) {
        st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for labels", path);
        goto done;
    }
    if ((st = sr_npy_to_i64(arr, path, raw, err)) != SR_OK)
        goto done;
    if ((st = sr_labels_init(&L, path, NULL, 0, err)) != SR_OK)
        goto done;
    labels_ready = 1;
    for (size_t i = 0; i < arr->count; i++) {
        char text[32];
        snprintf(text, sizeof text, "%" PRId64, raw[i]);
        if ((st = sr_labels_add(&L, text, i + 1, &y[i], err)) != SR_OK)
            goto done;
    }
    st = sr_labels_finish(&L, y, arr->count, &ds->class_names, &ds->k, err);
    if (st == SR_OK) {
        ds->y = y;
        y = NULL;
    }
done:
    if (labels_ready)
        sr_labels_free(&L);
    sr_dealloc(raw);
    sr_dealloc(y);
    return st;
}

sr_status sr_dataset_load_npy(const char *x_path, const char *y_path,
                              sr_task task, sr_dataset **out, sr_error *err)
{
    if (!x_path || (!y_path && task != SR_TASK_UNLABELLED) || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_load_npy: NULL argument");
    sr_npy_file X;
    sr_npy_array Y;
    memset(&X, 0, sizeof X);
    memset(&Y, 0, sizeof Y);
    sr_dataset *ds = NULL;
    /* X's header first, then the labels, then X's payload straight into
     * the data set's array: memory holds the features once, and a bad
     * shape or label file is found before they are read. */
    sr_status st = sr_npy_open(x_path, &X, err);
    if (st != SR_OK)
        goto fail;
    if (X.h.ndim != 2 || X.h.shape[0] == 0 || X.h.shape[1] == 0) {
        st = sr_fail(err, SR_ERR_FORMAT,
                     "%s: features must be a non-empty 2-D array (examples, "
                     "features)", x_path);
        goto fail;
    }
    if (y_path && task != SR_TASK_UNLABELLED &&
        (st = sr_npy_read(y_path, &Y, err)) != SR_OK)
        goto fail;
    if (Y.data && Y.shape[0] != X.h.shape[0]) {
        st = sr_fail(err, SR_ERR_MISMATCH,
                     "%s holds %zu examples but %s holds %zu labels", x_path,
                     X.h.shape[0], y_path, Y.shape[0]);
        goto fail;
    }
    if (!(ds = sr_dataset_new(err))) {
        st = SR_ERR_NOMEM;
        goto fail;
    }
    ds->m = X.h.shape[0];
    ds->n = X.h.shape[1];
    ds->layout = SR_FEATURES_F32;
    sr_npy_map map;
    if ((st = sr_npy_map_f32(&X, &map, err)) != SR_OK)
        goto fail;
    if (map.base) {
        ds->x_f32 = map.data;
        ds->x_map = map.base;
        ds->x_map_len = map.len;
    } else if (!(ds->x_f32 = sr_alloc_array(X.h.count, sizeof(float)))) {
        st = sr_fail(err, SR_ERR_NOMEM,
                     "%s: out of memory for %zu x %zu features", x_path,
                     ds->m, ds->n);
        goto fail;
    }
    if (!ds->x_map && (st = sr_npy_read_f32(&X, ds->x_f32, 1, err)) != SR_OK)
        goto fail;
    sr_npy_close(&X);
    if (task == SR_TASK_UNLABELLED) {
        /* features only */
    } else if (task == SR_TASK_REGRESSION) {
        ds->t = Y.ndim == 2 ? Y.shape[1] : 1;
        if (!(ds->targets = sr_alloc_array(Y.count, sizeof(float)))) {
            st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", y_path);
            goto fail;
        }
        if ((st = sr_npy_to_f32(&Y, y_path, ds->targets, err)) != SR_OK)
            goto fail;
    } else {
        if (Y.ndim != 1 && Y.shape[1] != 1) {
            st = sr_fail(err, SR_ERR_FORMAT,
                         "%s: class labels must be a 1-D array, not (%zu, %zu)",
                         y_path, Y.shape[0], Y.shape[1]);
            goto fail;
        }
        if ((st = npy_classes(&Y, y_path, ds, err)) != SR_OK)
            goto fail;
    }
    sr_npy_array_free(&Y);
    if (y_path && ds->y &&
        (st = sr_dataset_set_labels_file(ds, y_path, err)) != SR_OK)
        goto fail;
    *out = ds;
    return SR_OK;
fail:
    sr_npy_close(&X);
    sr_npy_array_free(&Y);
    sr_dataset_free(ds);
    return st;
}

size_t sr_dataset_targets(const sr_dataset *ds) { return ds ? ds->t : 0; }

const char *sr_dataset_class_name(const sr_dataset *ds, size_t c)
{
    if (!ds || !ds->class_names || c >= ds->k)
        return NULL;
    return ds->class_names[c];
}

int sr_dataset_is_sparse(const sr_dataset *ds)
{
    return ds && (ds->layout == SR_FEATURES_CSR ||
                  ds->layout == SR_FEATURES_U8_SPARSE);
}

size_t sr_dataset_ignored_entries(const sr_dataset *ds)
{
    return ds ? ds->ignored : 0;
}

const char *sr_dataset_feature_name(const sr_dataset *ds, size_t j)
{
    return ds && ds->feature_names && j < ds->n ? ds->feature_names[j] : NULL;
}

const char *sr_dataset_label_name(const sr_dataset *ds)
{
    return ds ? ds->label_name : NULL;
}

sr_status sr_dataset_select_rows(const sr_dataset *ds, const size_t *rows,
                                 size_t count, sr_dataset **out,
                                 sr_error *err)
{
    if (!ds || !out || (count && !rows))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_select_rows: NULL argument");
    for (size_t i = 0; i < count; i++)
        if (rows[i] >= ds->m)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "sr_dataset_select_rows: row %zu of %zu", rows[i],
                           ds->m);
    return sr_dataset_subset(ds, rows, count, out, err);
}

sr_status sr_dataset_from_arrays(const float *X, size_t m, size_t n,
                                 const int32_t *y, const float *targets,
                                 size_t t, sr_dataset **out, sr_error *err)
{
    size_t mn, mt;
    if (!X || !out || (!y && !targets))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_from_arrays: NULL features or no labels");
    if (m == 0 || n == 0 || (targets && t == 0))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_from_arrays: sizes must be positive (m %zu, "
                       "n %zu, t %zu)", m, n, t);
    if (sr_mul_overflows(m, n, &mn) || sr_mul_overflows(m, t, &mt))
        return sr_fail(err, SR_ERR_TOO_BIG, "sr_dataset_from_arrays: sizes overflow");
    for (size_t i = 0; i < mn; i++)
        if (!(X[i] - X[i] == 0.0f))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "X[%zu][%zu] is not finite", i / n, i % n);
    int32_t k = 0;
    for (size_t i = 0; y && i < m; i++) {
        if (y[i] < 0)
            return sr_fail(err, SR_ERR_INVALID_ARG, "y[%zu] = %d is negative",
                           i, (int)y[i]);
        k = y[i] + 1 > k ? y[i] + 1 : k;
    }
    sr_dataset *ds = sr_dataset_new(err);
    if (!ds)
        return SR_ERR_NOMEM;
    ds->m = m;
    ds->n = n;
    ds->layout = SR_FEATURES_F32;
    ds->x_f32 = sr_alloc_array(mn, sizeof(float));
    if (y) {
        ds->y = sr_alloc_array(m, sizeof *ds->y);
        ds->k = (size_t)k;
    } else {
        ds->targets = sr_alloc_array(mt, sizeof(float));
        ds->t = t;
    }
    if (!ds->x_f32 || (y && !ds->y) || (!y && !ds->targets)) {
        sr_dataset_free(ds);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory copying %zu examples", m);
    }
    memcpy(ds->x_f32, X, mn * sizeof(float));
    if (y)
        memcpy(ds->y, y, m * sizeof *y);
    else
        memcpy(ds->targets, targets, mt * sizeof(float));
    *out = ds;
    return SR_OK;
}
