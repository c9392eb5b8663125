/* sr_dataset: creation, accessors and the few whole-set operations. */
#include <math.h>
#include <string.h>

#include <zlib.h>

#include "../dist/dist.h"
#include "dataset.h"

#ifdef _OPENMP
#include <omp.h>
#endif

sr_dataset *sr_dataset_new(sr_error *err)
{
    sr_dataset *ds = sr_alloc_zeroed(1, sizeof *ds);
    if (!ds)
        sr_fail(err, SR_ERR_NOMEM, "out of memory allocating a data set");
    else
        ds->label_col = SIZE_MAX;
    return ds;
}

sr_status sr_dataset_set_labels_file(sr_dataset *ds, const char *path,
                                     sr_error *err)
{
    sr_dealloc(ds->labels_file);
    size_t len = strlen(path) + 1;
    if (!(ds->labels_file = sr_alloc(len)))
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", path);
    memcpy(ds->labels_file, path, len);
    return SR_OK;
}

void sr_dataset_free(sr_dataset *ds)
{
    if (!ds)
        return;
    sr_dealloc(ds->class_counts);
    if (ds->shares) {
        sr_dealloc(ds->col);
        sr_dealloc(ds->col16);
        sr_dealloc(ds);
        return;
    }
    if (ds->x_map) {
        sr_unmap(ds->x_map, ds->x_map_len);
    } else if (!(ds->borrows & SR_BORROWS_FEATURES)) {
        sr_dealloc(ds->x_u8);
        sr_dealloc(ds->x_f32);
    }
    if (!(ds->borrows & SR_BORROWS_FEATURES)) {
        sr_dealloc(ds->row_ptr);
        sr_dealloc(ds->col);
        sr_dealloc(ds->val);
    }
    sr_dealloc(ds->col16);
    sr_dealloc(ds->val8);
    if (!(ds->borrows & SR_BORROWS_LABELS)) {
        sr_dealloc(ds->y);
        sr_dealloc(ds->targets);
    }
    sr_dealloc(ds->labels_file);
    sr_free_strings(ds->class_names, ds->k);
    sr_free_strings(ds->feature_names, ds->n);
    sr_dealloc(ds->label_name);
    sr_dealloc(ds);
}

size_t sr_dataset_rows(const sr_dataset *ds) { return ds ? ds->m : 0; }
size_t sr_dataset_features(const sr_dataset *ds) { return ds ? ds->n : 0; }
size_t sr_dataset_classes(const sr_dataset *ds) { return ds ? ds->k : 0; }

int sr_dataset_image_shape(const sr_dataset *ds, size_t *rows, size_t *cols)
{
    if (!ds || !ds->rows || !ds->cols || ds->rows * ds->cols != ds->n)
        return 0;
    *rows = ds->rows;
    *cols = ds->cols;
    return 1;
}

size_t sr_dataset_class_count(const sr_dataset *ds, size_t cls)
{
    if (!ds || !ds->y)
        return 0;
    if (ds->sharded)
        return ds->class_counts && cls < ds->k ? ds->class_counts[cls] : 0;
    size_t count = 0;
    for (size_t i = 0; i < ds->m; i++)
        count += (size_t)ds->y[i] == cls;
    return count;
}

void sr_dataset_value_range(const sr_dataset *ds, float *lo, float *hi)
{
    float a = INFINITY, b = -INFINITY;
    if (ds && ds->sharded) {
        /* every rank's, agreed when the shards were */
        *lo = ds->range[0];
        *hi = ds->range[1];
        return;
    }
    if (ds) {
        switch (ds->layout) {
        case SR_FEATURES_F32: {
            /* Split across threads and vectorised: min and max are exact,
             * so neither changes the result. */
            const float *x = ds->x_f32;
            long long count = (long long)(ds->m * ds->n);
#pragma omp parallel for simd reduction(min : a) reduction(max : b)
            for (long long i = 0; i < count; i++) {
                a = x[i] < a ? x[i] : a;
                b = x[i] > b ? x[i] : b;
            }
            break;
        }
        case SR_FEATURES_U8_SPARSE: {
            size_t nnz = ds->row_ptr[ds->m];
            uint8_t mx = 0;
            for (size_t i = 0; i < nnz && mx < 255; i++)
                mx = ds->val8[i] > mx ? ds->val8[i] : mx;
            if (ds->m != 0 && ds->n != 0) {
                a = nnz < ds->m * ds->n ? 0.0f : sr_pixel_scale[mx];
                for (size_t i = 0; i < nnz && a > sr_pixel_scale[1]; i++)
                    a = sr_pixel_scale[ds->val8[i]] < a ? sr_pixel_scale[ds->val8[i]] : a;
                b = sr_pixel_scale[mx];
            }
            break;
        }
        case SR_FEATURES_CSR: {
            size_t nnz = ds->row_ptr[ds->m];
            for (size_t i = 0; i < nnz; i++) {
                a = ds->val[i] < a ? ds->val[i] : a;
                b = ds->val[i] > b ? ds->val[i] : b;
            }
            /* Entries not stored are zeros. */
            if (nnz < ds->m * ds->n) {
                a = a < 0 ? a : 0;
                b = b > 0 ? b : 0;
            }
            break;
        }
        case SR_FEATURES_U8: {
            uint8_t mn = 255, mx = 0;
            /* Images reach both ends soon: stop there. */
            for (size_t i = 0; i < ds->m * ds->n && (mn > 0 || mx < 255); i++) {
                uint8_t v = ds->x_u8[i];
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            if (ds->m != 0 && ds->n != 0) {
                a = sr_pixel_scale[mn];
                b = sr_pixel_scale[mx];
            }
            break;
        }
        }
    }
    if (lo)
        *lo = a;
    if (hi)
        *hi = b;
}

size_t sr_dataset_nonzeros(const sr_dataset *ds)
{
    if (!ds)
        return 0;
    size_t count = 0;
    switch (ds->layout) {
    case SR_FEATURES_F32:
        for (size_t i = 0; i < ds->m * ds->n; i++)
            count += ds->x_f32[i] != 0.0f;
        break;
    case SR_FEATURES_U8_SPARSE:
        /* Pixel lists hold the non-zero pixels only. */
        count = ds->row_ptr[ds->m] - ds->row_ptr[0];
        break;
    case SR_FEATURES_CSR:
        /* Stored values are non-zero as the readers make them; a mapped
         * or hand-made set may hold zeros, so each is looked at. Entries
         * not stored are zeros. */
        for (size_t p = ds->row_ptr[0]; p < ds->row_ptr[ds->m]; p++)
            count += ds->val[p] != 0.0f;
        break;
    case SR_FEATURES_U8:
        for (size_t i = 0; i < ds->m * ds->n; i++)
            count += ds->x_u8[i] != 0;
        break;
    }
    return count;
}

sr_status sr_dataset_truncate(sr_dataset *ds, size_t rows, sr_error *err)
{
    if (!ds)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_dataset_truncate: NULL data set");
    if (rows == 0 || rows > ds->m)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "limit %zu is out of range: the data set has %zu examples",
                       rows, ds->m);
    /* Storage is kept; only the visible count shrinks. */
    ds->m = rows;
    return SR_OK;
}

sr_status sr_dataset_copy_features(const sr_dataset *ds, size_t first,
                                   size_t count, float *out, sr_error *err)
{
    if (!ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_copy_features: NULL argument");
    if (first > ds->m || count > ds->m - first)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "rows %zu..%zu are outside the data set's %zu rows",
                       first, first + count, ds->m);
    size_t n = ds->n;
    for (size_t i = 0; i < count; i++) {
        float *row = out + i * n;
        size_t r = first + i;
        switch (ds->layout) {
        case SR_FEATURES_F32:
            memcpy(row, ds->x_f32 + r * n, n * sizeof *row);
            break;
        case SR_FEATURES_CSR:
            memset(row, 0, n * sizeof *row);
            for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++)
                row[ds->col[p]] = ds->val[p];
            break;
        case SR_FEATURES_U8_SPARSE:
            memset(row, 0, n * sizeof *row);
            for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++)
                row[ds->col16[p]] = sr_pixel_scale[ds->val8[p]];
            break;
        case SR_FEATURES_U8:
            for (size_t j = 0; j < n; j++)
                row[j] = sr_pixel_scale[ds->x_u8[r * n + j]];
            break;
        }
    }
    return SR_OK;
}

size_t sr_dataset_row_nnz(const sr_dataset *ds, size_t r)
{
    if (ds->layout == SR_FEATURES_CSR || ds->layout == SR_FEATURES_U8_SPARSE)
        return ds->row_ptr[r + 1] - ds->row_ptr[r];
    return ds->n;
}

/* x[0 .. 8) as a number whose byte b (from the least significant) is
 * x[b], on any byte order. */
static uint64_t load_le64(const uint8_t *x)
{
    uint64_t w;
    memcpy(&w, x, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* 0x01 in each non-zero byte of w: its low 7 bits carried into bit 7, or
 * bit 7 itself set. */
static uint64_t nonzero_bytes(uint64_t w)
{
    const uint64_t lo7 = 0x7F7F7F7F7F7F7F7FULL;
    return ((((w & lo7) + lo7) | w) & ~lo7) >> 7;
}

/* The non-zero pixels of one image x (n) listed from col/val[0], in
 * column order. An all-zero 8-byte word (MNIST's borders) is skipped
 * whole; in the others each byte goes to the slot given by how many
 * non-zero bytes precede it (prefix sums of the word's bytes by one
 * multiplication), so no byte waits for the one before. A zero byte
 * writes the slot the next non-zero one takes, so the listing may write
 * one entry past the row's count; returns the count. */
static size_t list_row(const uint8_t *x, size_t n, uint16_t *col,
                       uint8_t *val)
{
    size_t q = 0, j = 0;
    for (; j + 8 <= n; j += 8) {
        uint64_t w = load_le64(x + j);
        if (!w)
            continue;
        /* byte b of `before`: non-zero bytes among bytes 0 .. b-1 */
        uint64_t upto = nonzero_bytes(w) * 0x0101010101010101ULL;
        uint64_t before = upto << 8;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
        for (unsigned b = 0; b < 8; b++) {
            size_t at = q + ((before >> (8 * b)) & 0xFF);
            col[at] = (uint16_t)(j + b);
            val[at] = (uint8_t)(w >> (8 * b));
        }
        q += upto >> 56;
    }
    for (; j < n; j++) {
        col[q] = (uint16_t)j;
        val[q] = x[j];
        q += x[j] != 0;
    }
    return q;
}

static size_t count_row(const uint8_t *x, size_t n)
{
    size_t count = 0, j = 0;
    for (; j + 8 <= n; j += 8) {
        uint64_t w = load_le64(x + j);
        count += (size_t)((nonzero_bytes(w) * 0x0101010101010101ULL) >> 56);
    }
    for (; j < n; j++)
        count += x[j] != 0;
    return count;
}

/* The non-zero pixels of one image x (n) as float CSR entries from
 * col/val[0], in column order, each value sr_pixel_scale[v]; all-zero
 * 8-byte words are skipped whole. Returns the count. */
static size_t list_row_wide(const uint8_t *x, size_t n, uint32_t *col,
                            float *val)
{
    size_t q = 0, j = 0;
    for (; j + 8 <= n; j += 8) {
        if (!load_le64(x + j))
            continue;
        for (size_t b = j; b < j + 8; b++)
            if (x[b]) {
                col[q] = (uint32_t)b;
                val[q++] = sr_pixel_scale[x[b]];
            }
    }
    for (; j < n; j++)
        if (x[j]) {
            col[q] = (uint32_t)j;
            val[q++] = sr_pixel_scale[x[j]];
        }
    return q;
}

/* Images of more than 65536 pixels: their columns do not fit the pixel
 * lists' 16 bits, so their non-zero pixels become float CSR (32-bit
 * columns, values exactly sr_pixel_scale[v]), the layout LIBSVM data
 * have and every part of the library reads. */
static sr_status set_wide_pixels(sr_dataset *ds, const uint8_t *pixels,
                                 size_t m, size_t n, sr_error *err)
{
    if (n - 1 > UINT32_MAX)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "images of %zu pixels are too large: columns are "
                       "32-bit, so at most %llu pixels an image", n,
                       (unsigned long long)UINT32_MAX + 1);
    size_t *ptr = sr_alloc_array(m + 1, sizeof *ptr);
    if (!ptr)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory indexing %zu images", m);
    long long mm = (long long)m;
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < mm; i++)
        ptr[i + 1] = count_row(pixels + (size_t)i * n, n);
    ptr[0] = 0;
    for (size_t i = 0; i < m; i++)
        ptr[i + 1] += ptr[i];
    size_t nnz = ptr[m];
    uint32_t *col = sr_alloc_array(nnz, sizeof *col);
    float *val = sr_alloc_array(nnz, sizeof *val);
    if (!col || !val) {
        sr_dealloc(ptr);
        sr_dealloc(col);
        sr_dealloc(val);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory listing the %zu non-zero pixels", nnz);
    }
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < mm; i++)
        list_row_wide(pixels + (size_t)i * n, n, col + ptr[i], val + ptr[i]);
    ds->row_ptr = ptr;
    ds->col = col;
    ds->val = val;
    ds->layout = SR_FEATURES_CSR;
    return SR_OK;
}

/* Pixels kept as they are, one byte each: dense images, in the view's
 * mapping when there is one. */
static sr_status set_dense_pixels(sr_dataset *ds, const uint8_t *pixels,
                                  size_t m, size_t n, sr_file_view *view,
                                  int borrow, sr_error *err)
{
    if (borrow) {
        ds->x_u8 = (uint8_t *)pixels;
        ds->borrows |= SR_BORROWS_FEATURES;
        ds->layout = SR_FEATURES_U8;
        return SR_OK;
    }
    if (view && view->mapped) {
        ds->x_u8 = (uint8_t *)pixels;
        ds->x_map = view->mapped;
        ds->x_map_len = view->len;
        view->mapped = NULL;
        ds->layout = SR_FEATURES_U8;
        return SR_OK;
    }
    uint8_t *copy = sr_alloc_array(m, n);
    if (!copy)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu x %zu pixels",
                       m, n);
    sr_hint_huge_pages(copy, m * n);
    memcpy(copy, pixels, m * n);
    ds->x_u8 = copy;
    ds->layout = SR_FEATURES_U8;
    return SR_OK;
}

/* Images whose pixels are at least this share non-zero stay dense: a list
 * entry takes three bytes (or eight, wide) against one, and the products
 * over dense rows run as register-blocked matrix products, while a listed
 * pixel costs a gathered row of weights. */
#define DENSE_SHARE 0.5

static sr_status set_pixels(sr_dataset *ds, const uint8_t *pixels, size_t m,
                            size_t n, sr_file_view *view, int borrow,
                            int shard, sr_error *err)
{
    size_t *ptr = sr_alloc_array(m + 1, sizeof *ptr);
    if (!ptr)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory indexing %zu images", m);
    /* Two passes over the rows, each split across threads (every thread
     * takes the same contiguous range in both): count every row's non-zero
     * pixels, then (after a prefix sum) list them. */
    long long mm = (long long)m;
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < mm; i++)
        ptr[i + 1] = count_row(pixels + (size_t)i * n, n);
    ptr[0] = 0;
    for (size_t i = 0; i < m; i++)
        ptr[i + 1] += ptr[i];
    size_t nnz = ptr[m];
    /* a shard takes the layout every process's rows together ask for */
    uint64_t all[2] = {nnz, m};
    if (shard)
        sr_dist_reduce_u64(all, 2, 0);
    if ((double)all[0] >= DENSE_SHARE * (double)all[1] * (double)n && all[1] &&
        n) {
        sr_dealloc(ptr);
        return set_dense_pixels(ds, pixels, m, n, view, borrow, err);
    }
    if (n > 65536) {
        sr_dealloc(ptr);
        return set_wide_pixels(ds, pixels, m, n, err);
    }
    /* One spare entry: a row's listing may write one past its count. */
    uint16_t *col = sr_alloc_array(nnz + 1, sizeof *col);
    uint8_t *val = sr_alloc(nnz + 1);
    if (!col || !val) {
        sr_dealloc(ptr);
        sr_dealloc(col);
        sr_dealloc(val);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory listing the %zu non-zero pixels", nnz);
    }
    sr_hint_huge_pages(col, (nnz + 1) * sizeof *col);
    sr_hint_huge_pages(val, nnz + 1);
#pragma omp parallel
    {
        size_t t = 0, nt = 1;
#ifdef _OPENMP
        t = (size_t)omp_get_thread_num();
        nt = (size_t)omp_get_num_threads();
#endif
        size_t i0 = m * t / nt, i1 = m * (t + 1) / nt;
        /* Rows in order, each straight into place: a row may write one
         * entry past its end, onto the first entry of the next row that
         * has any, which then writes it again. That row must come later
         * in this thread's range: the rows after which the range holds no
         * more entries (usually just its last) are listed into scratch on
         * the stack (n is at most 65536 here: big rows go byte by byte). */
        uint16_t scol[2048];
        uint8_t sval[2048];
        for (size_t i = i0; i < i1; i++) {
            const uint8_t *x = pixels + i * n;
            if (ptr[i + 1] < ptr[i1]) {
                list_row(x, n, col + ptr[i], val + ptr[i]);
            } else if (n < 2048) {
                size_t q = list_row(x, n, scol, sval);
                memcpy(col + ptr[i], scol, q * sizeof *scol);
                memcpy(val + ptr[i], sval, q);
            } else {
                size_t q = ptr[i];
                for (size_t j = 0; j < n; j++)
                    if (x[j]) {
                        col[q] = (uint16_t)j;
                        val[q++] = x[j];
                    }
            }
        }
    }
    ds->row_ptr = ptr;
    ds->col16 = col;
    ds->val8 = val;
    ds->layout = SR_FEATURES_U8_SPARSE;
    return SR_OK;
}

sr_status sr_dataset_copy_labels(const sr_dataset *ds, size_t first,
                                 size_t count, int32_t *out, sr_error *err)
{
    if (!ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_copy_labels: NULL argument");
    if (!ds->y)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the data set has no class labels");
    if (first > ds->m || count > ds->m - first)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "rows %zu..%zu are outside the data set's %zu rows",
                       first, first + count, ds->m);
    memcpy(out, ds->y + first, count * sizeof *out);
    return SR_OK;
}

sr_status sr_dataset_copy_pixels(const sr_dataset *ds, size_t first,
                                 size_t count, uint8_t *out, sr_error *err)
{
    if (!ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_copy_pixels: NULL argument");
    if (ds->layout != SR_FEATURES_U8 && ds->layout != SR_FEATURES_U8_SPARSE)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "the data set's features are not uint8 pixels");
    if (first > ds->m || count > ds->m - first)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "rows %zu..%zu are outside the data set's %zu rows",
                       first, first + count, ds->m);
    size_t n = ds->n;
    if (ds->layout == SR_FEATURES_U8) {
        memcpy(out, ds->x_u8 + first * n, count * n);
        return SR_OK;
    }
    memset(out, 0, count * n);
    for (size_t i = 0; i < count; i++) {
        size_t r = first + i;
        for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++)
            out[i * n + ds->col16[p]] = ds->val8[p];
    }
    return SR_OK;
}

sr_status sr_dataset_copy_targets(const sr_dataset *ds, size_t first,
                                  size_t count, float *out, sr_error *err)
{
    if (!ds || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_copy_targets: NULL argument");
    if (!ds->targets)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "the data set has no regression targets");
    if (first > ds->m || count > ds->m - first)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "rows %zu..%zu are outside the data set's %zu rows",
                       first, first + count, ds->m);
    memcpy(out, ds->targets + first * ds->t, count * ds->t * sizeof *out);
    return SR_OK;
}

/* zlib's crc32 takes a uInt length; larger arrays go in pieces. */
static uLong crc_more(uLong crc, const void *p, size_t len)
{
    const unsigned char *b = p;
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, b, chunk);
        b += chunk;
        len -= chunk;
    }
    return crc;
}

/* The CRC-32 of ds's sections in turn (sizes, features, labels,
 * targets): each section's CRC and length, computed from zero, go to
 * part[2 i], part[2 i + 1]. A shard's row offsets are shifted by the
 * stored values of the processes before it (`base`), and only the first
 * process gives the sizes and the row offsets' leading 0, so that the
 * sections of every process, one after the other, are the whole set's. */
#define CRC_SECTIONS 6
static void crc_sections(const sr_dataset *ds, uint64_t base, int first,
                         uint64_t *part)
{
    size_t m = ds->m, n = ds->n;
    const void *p[CRC_SECTIONS] = {NULL};
    size_t len[CRC_SECTIONS] = {0};
    uint64_t sizes[3] = {sr_dataset_rows_all(ds), ds->n, ds->t};
    if (first) {
        p[0] = sizes;
        len[0] = sizeof sizes;
    }
    switch (ds->layout) {
    case SR_FEATURES_F32:
        p[2] = ds->x_f32;
        len[2] = m * n * sizeof(float);
        break;
    case SR_FEATURES_U8:
        p[2] = ds->x_u8;
        len[2] = m * n;
        break;
    case SR_FEATURES_CSR:
        p[2] = ds->col;
        len[2] = ds->row_ptr[m] * sizeof *ds->col;
        p[3] = ds->val;
        len[3] = ds->row_ptr[m] * sizeof *ds->val;
        break;
    case SR_FEATURES_U8_SPARSE:
        p[2] = ds->col16;
        len[2] = ds->row_ptr[m] * sizeof *ds->col16;
        p[3] = ds->val8;
        len[3] = ds->row_ptr[m];
        break;
    }
    if (ds->y) {
        p[4] = ds->y;
        len[4] = m * sizeof *ds->y;
    }
    if (ds->targets) {
        p[5] = ds->targets;
        len[5] = m * ds->t * sizeof *ds->targets;
    }
    for (size_t i = 0; i < CRC_SECTIONS; i++) {
        part[2 * i] = crc_more(crc32(0L, Z_NULL, 0), p[i], len[i]);
        part[2 * i + 1] = len[i];
    }
    /* the row offsets (sparse layouts), shifted, a piece at a time */
    if (ds->layout == SR_FEATURES_CSR || ds->layout == SR_FEATURES_U8_SPARSE) {
        uLong crc = crc32(0L, Z_NULL, 0);
        size_t buf[512];
        for (size_t i = first ? 0 : 1; i <= m;) {
            size_t q = 0;
            for (; q < 512 && i <= m; q++, i++)
                buf[q] = ds->row_ptr[i] + (size_t)base;
            crc = crc_more(crc, buf, q * sizeof *buf);
        }
        part[2] = crc;
        part[3] = (uint64_t)(m + (first ? 1 : 0)) * sizeof(size_t);
    }
}

uint32_t sr_dataset_crc(const sr_dataset *ds)
{
    uint64_t mine[2 * CRC_SECTIONS];
    int sharded = ds->sharded;
    size_t N = sharded ? (size_t)sr_dist_size() : 1;
    uint64_t nnz = ds->row_ptr && ds->layout != SR_FEATURES_F32 &&
                           ds->layout != SR_FEATURES_U8
                       ? ds->row_ptr[ds->m]
                       : 0;
    uint64_t base = sharded ? sr_dist_exscan(nnz) : 0;
    crc_sections(ds, base, !sharded || sr_dist_rank() == 0, mine);
    uint64_t *all = sharded ? sr_alloc_array(N, sizeof mine) : mine;
    /* (no memory for N x 96 bytes: a CRC that matches nothing) */
    if (!all)
        return 0;
    if (sharded)
        sr_dist_allgather_u64(mine, 2 * CRC_SECTIONS, all);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t i = 0; i < CRC_SECTIONS; i++)
        for (size_t r = 0; r < N; r++) {
            const uint64_t *q = all + r * 2 * CRC_SECTIONS + 2 * i;
            crc = crc32_combine(crc, (uLong)q[0], (z_off_t)q[1]);
        }
    if (sharded)
        sr_dealloc(all);
    return (uint32_t)crc;
}

static char *dup_string(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = sr_alloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

/* Copies class names (k of them), or sets *out NULL when there are none. */
sr_status sr_copy_strings(char *const *names, size_t count, char ***out,
                          sr_error *err)
{
    *out = NULL;
    if (!names)
        return SR_OK;
    char **copy = sr_alloc_zeroed(count ? count : 1, sizeof *copy);
    if (!copy)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu names",
                       count);
    for (size_t c = 0; c < count; c++)
        if (!(copy[c] = dup_string(names[c]))) {
            sr_free_strings(copy, c);
            return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu names",
                           count);
        }
    *out = copy;
    return SR_OK;
}

void sr_free_strings(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t c = 0; c < count; c++)
        sr_dealloc(names[c]);
    sr_dealloc(names);
}

/* The header's names of ds, copied into s (a subset or selection of ds's
 * rows: the same columns). */
static sr_status copy_header(const sr_dataset *ds, sr_dataset *s,
                             sr_error *err)
{
    s->label_col = ds->label_col;
    if (ds->label_name && !(s->label_name = dup_string(ds->label_name)))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for a column name");
    return sr_copy_strings(ds->feature_names, ds->n, &s->feature_names, err);
}

sr_status sr_dataset_set_pixels(sr_dataset *ds, const uint8_t *pixels,
                                size_t m, size_t n, sr_error *err)
{
    return set_pixels(ds, pixels, m, n, NULL, 0, 0, err);
}

sr_status sr_dataset_lend_pixels(sr_dataset *ds, const uint8_t *pixels,
                                 size_t m, size_t n, sr_error *err)
{
    return set_pixels(ds, pixels, m, n, NULL, 1, 0, err);
}

sr_status sr_dataset_set_pixels_from(sr_dataset *ds, sr_file_view *view,
                                     size_t offset, size_t m, size_t n,
                                     sr_error *err)
{
    return set_pixels(ds, view->data + offset, m, n, view, 0, 0, err);
}

sr_status sr_dataset_set_pixels_shard(sr_dataset *ds, const uint8_t *pixels,
                                      size_t m, size_t n, sr_error *err)
{
    return set_pixels(ds, pixels, m, n, NULL, 0, 1, err);
}

sr_status sr_dataset_select_features(const sr_dataset *ds, const size_t *cols,
                                     size_t n, sr_dataset **out,
                                     sr_error *err)
{
    if (!ds || !out || (n && !cols))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_select_features: NULL argument");
    if (ds->layout != SR_FEATURES_F32)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_select_features: dense float data only");
    for (size_t j = 0; j < n; j++)
        if (cols[j] >= ds->n)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "sr_dataset_select_features: column %zu of %zu",
                           cols[j], ds->n);
    size_t m = ds->m;
    sr_dataset *s = sr_dataset_new(err);
    if (!s)
        return SR_ERR_NOMEM;
    sr_status st = SR_OK;
    s->m = m;
    s->n = n;
    s->k = ds->k;
    s->t = ds->t;
    s->layout = SR_FEATURES_F32;
    if (!(s->x_f32 = sr_alloc_array(m ? m : 1, (n ? n : 1) * sizeof(float))))
        goto nomem;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            s->x_f32[i * n + j] = ds->x_f32[i * ds->n + cols[j]];
    if (ds->y) {
        if (!(s->y = sr_alloc_array(m ? m : 1, sizeof *s->y)))
            goto nomem;
        memcpy(s->y, ds->y, m * sizeof *s->y);
    }
    if (ds->targets) {
        if (!(s->targets = sr_alloc_array(m ? m : 1, ds->t * sizeof(float))))
            goto nomem;
        memcpy(s->targets, ds->targets, m * ds->t * sizeof(float));
    }
    if ((st = sr_copy_strings(ds->class_names, ds->k, &s->class_names,
                              err)) != SR_OK)
        goto fail;
    s->label_col = ds->label_col;
    if (ds->label_name && !(s->label_name = dup_string(ds->label_name)))
        goto nomem;
    if (ds->feature_names) {
        if (!(s->feature_names = sr_alloc_zeroed(n ? n : 1, sizeof(char *))))
            goto nomem;
        for (size_t j = 0; j < n; j++)
            if (!(s->feature_names[j] = dup_string(ds->feature_names[cols[j]])))
                goto nomem;
    }
    *out = s;
    return SR_OK;
nomem:
    st = sr_fail(err, SR_ERR_NOMEM, "out of memory selecting %zu columns", n);
fail:
    sr_dataset_free(s);
    return st;
}

sr_status sr_dataset_subset(const sr_dataset *ds, const size_t *rows,
                            size_t count, sr_dataset **out, sr_error *err)
{
    sr_dataset *s = sr_dataset_new(err);
    if (!s)
        return SR_ERR_NOMEM;
    s->m = count;
    s->n = ds->n;
    s->k = ds->k;
    s->t = ds->t;
    s->layout = ds->layout;
    s->rows = ds->rows;
    s->cols = ds->cols;
    size_t n = ds->n, nnz = 0;
    int sparse = ds->layout == SR_FEATURES_CSR || ds->layout == SR_FEATURES_U8_SPARSE;
    sr_status st = SR_OK;
    if (sparse) {
        for (size_t i = 0; i < count; i++)
            nnz += ds->row_ptr[rows[i] + 1] - ds->row_ptr[rows[i]];
        if (!(s->row_ptr = sr_alloc_array(count + 1, sizeof *s->row_ptr)))
            goto nomem;
    }
    switch (ds->layout) {
    case SR_FEATURES_F32:
        if (!(s->x_f32 = sr_alloc_array(count, n * sizeof(float))))
            goto nomem;
        for (size_t i = 0; i < count; i++)
            memcpy(s->x_f32 + i * n, ds->x_f32 + rows[i] * n, n * sizeof(float));
        break;
    case SR_FEATURES_CSR:
    case SR_FEATURES_U8_SPARSE: {
        int u8 = ds->layout == SR_FEATURES_U8_SPARSE;
        if (u8 ? !(s->col16 = sr_alloc_array(nnz, sizeof *s->col16)) ||
                     !(s->val8 = sr_alloc(nnz))
               : !(s->col = sr_alloc_array(nnz, sizeof *s->col)) ||
                     !(s->val = sr_alloc_array(nnz, sizeof *s->val)))
            goto nomem;
        size_t p = 0;
        for (size_t i = 0; i < count; i++) {
            size_t a = ds->row_ptr[rows[i]], len = ds->row_ptr[rows[i] + 1] - a;
            s->row_ptr[i] = p;
            if (u8) {
                memcpy(s->col16 + p, ds->col16 + a, len * sizeof *s->col16);
                memcpy(s->val8 + p, ds->val8 + a, len);
            } else {
                memcpy(s->col + p, ds->col + a, len * sizeof *s->col);
                memcpy(s->val + p, ds->val + a, len * sizeof *s->val);
            }
            p += len;
        }
        s->row_ptr[count] = p;
        break;
    }
    case SR_FEATURES_U8:
        if (!(s->x_u8 = sr_alloc_array(count, n)))
            goto nomem;
        for (size_t i = 0; i < count; i++)
            memcpy(s->x_u8 + i * n, ds->x_u8 + rows[i] * n, n);
        break;
    }
    if (ds->y) {
        if (!(s->y = sr_alloc_array(count, sizeof *s->y)))
            goto nomem;
        for (size_t i = 0; i < count; i++)
            s->y[i] = ds->y[rows[i]];
    }
    if (ds->targets) {
        if (!(s->targets = sr_alloc_array(count, ds->t * sizeof(float))))
            goto nomem;
        for (size_t i = 0; i < count; i++)
            memcpy(s->targets + i * ds->t, ds->targets + rows[i] * ds->t,
                   ds->t * sizeof(float));
    }
    if ((st = sr_copy_strings(ds->class_names, ds->k, &s->class_names,
                              err)) != SR_OK ||
        (st = copy_header(ds, s, err)) != SR_OK)
        goto fail;
    *out = s;
    return SR_OK;
nomem:
    st = sr_fail(err, SR_ERR_NOMEM, "out of memory copying %zu examples", count);
fail:
    sr_dataset_free(s);
    return st;
}

/* Every entry kept: only the columns change, the rest is ds's (the
 * training set's values are the largest part of a text run's data). */
static sr_status remap_shared(const sr_dataset *ds, const uint32_t *map,
                              size_t n_new, sr_dataset **out, sr_error *err)
{
    int u8 = ds->layout == SR_FEATURES_U8_SPARSE;
    size_t nnz = ds->row_ptr[ds->m];
    sr_dataset *s = sr_dataset_new(err);
    if (!s)
        return SR_ERR_NOMEM;
    *s = *ds;
    s->shares = ds->shares ? ds->shares : ds;
    s->n = n_new;
    s->col = NULL;
    s->col16 = NULL;
    if (u8 ? !(s->col16 = sr_alloc_array(nnz ? nnz : 1, sizeof *s->col16))
           : !(s->col = sr_alloc_array(nnz ? nnz : 1, sizeof *s->col))) {
        sr_dataset_free(s);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu columns", nnz);
    }
    /* entries before row_ptr[0] (a view's) are never read */
    for (size_t p = ds->row_ptr[0]; p < nnz; p++) {
        if (u8)
            s->col16[p] = (uint16_t)map[ds->col16[p]];
        else
            s->col[p] = map[ds->col[p]];
    }
    *out = s;
    return SR_OK;
}

static sr_status remap_columns(const sr_dataset *ds, const uint32_t *map,
                               size_t n_new, sr_dataset **out, sr_error *err)
{
    int u8 = ds->layout == SR_FEATURES_U8_SPARSE;
    if (!u8 && ds->layout != SR_FEATURES_CSR)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "only sparse data sets have columns to remap");
    size_t first = ds->row_ptr[0], nnz = ds->row_ptr[ds->m] - first;
    size_t dropped = 0;
    for (size_t p = first; p < first + nnz; p++)
        dropped += map[u8 ? ds->col16[p] : ds->col[p]] == UINT32_MAX;
    if (dropped == 0)
        return remap_shared(ds, map, n_new, out, err);
    size_t *rows = sr_alloc_array(ds->m ? ds->m : 1, sizeof *rows);
    if (!rows)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory copying %zu examples",
                       ds->m);
    for (size_t i = 0; i < ds->m; i++)
        rows[i] = i;
    sr_dataset *s = NULL;
    sr_status st = sr_dataset_subset(ds, rows, ds->m, &s, err);
    sr_dealloc(rows);
    if (st != SR_OK)
        return st;
    /* In place: entries only ever move down. Mapped columns keep their
     * order, so each row's columns stay increasing. */
    size_t q = 0;
    for (size_t i = 0; i < s->m; i++) {
        size_t p0 = s->row_ptr[i], p1 = s->row_ptr[i + 1];
        s->row_ptr[i] = q;
        for (size_t p = p0; p < p1; p++) {
            uint32_t j = map[u8 ? s->col16[p] : s->col[p]];
            if (j == UINT32_MAX)
                continue;
            if (u8) {
                s->col16[q] = (uint16_t)j;
                s->val8[q] = s->val8[p];
            } else {
                s->col[q] = j;
                s->val[q] = s->val[p];
            }
            q++;
        }
    }
    s->row_ptr[s->m] = q;
    s->n = n_new;
    *out = s;
    return SR_OK;
}

sr_status sr_dataset_remap_columns(const sr_dataset *ds, const uint32_t *map,
                                   size_t n_new, sr_dataset **out,
                                   sr_error *err)
{
    sr_dataset *s = NULL;
    sr_status st = remap_columns(ds, map, n_new, &s, err);
    if (st == SR_OK && (st = sr_dataset_copy_shard(s, ds, err)) != SR_OK) {
        sr_dataset_free(s);
        return st;
    }
    if (st == SR_OK)
        *out = s;
    return st;
}
