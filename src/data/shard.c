/* Rows shared across processes (dataset.h: sharded data sets). A reader
 * that can read a part (IDX by offset) loads this process's rows only and
 * calls sr_dataset_agree_shard; the others load every row and keep their
 * share (sr_dataset_keep_shard). What the processes must agree on is
 * agreed here with the integer collectives of src/dist, exact in any
 * order: the total, the classes and their counts. */
#include <string.h>

#include "../dist/dist.h"
#include "dataset.h"

/* The unit where rank r's rows start, of u units of U rows over m rows
 * and N ranks: the unit boundary nearest r m / N, so that the rows (not
 * the units: the last may be short) are shared as evenly as whole units
 * allow; rank 0, which reports, holds rows whenever there are any. */
static size_t start_unit(size_t r, size_t N, size_t m, size_t U, size_t u)
{
    if (r == 0)
        return 0;
    if (r >= N)
        return u;
    /* r m / N without overflow, then rounded to the nearest unit */
    size_t at = m / N * r + m % N * r / N;
    size_t k = at / U + (at % U >= (U + 1) / 2);
    if (k < 1)
        k = 1;
    return k < u ? k : u;
}

void sr_shard_rows(size_t m, size_t unit, size_t *first, size_t *last)
{
    size_t U = unit ? unit : SR_SHARD_UNIT;
    size_t u = (m + U - 1) / U;
    size_t r = (size_t)sr_dist_rank(), N = (size_t)sr_dist_size();
    size_t u0 = start_unit(r, N, m, U, u), u1 = start_unit(r + 1, N, m, U, u);
    *first = u0 < u ? u0 * U : m;
    *last = u1 < u ? u1 * U : m;
}

/* A float's bits as an unsigned integer of the same order, and back. */
static uint32_t order_key(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b >> 31 ? ~b : b | 0x80000000u;
}

static float key_value(uint32_t k)
{
    uint32_t b = k >> 31 ? k & 0x7fffffffu : ~k;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

sr_status sr_dataset_agree_shard(sr_dataset *ds, size_t row0, sr_error *err)
{
    uint64_t total = ds->m;
    sr_dist_reduce_u64(&total, 1, 0);
    /* k: 1 + the largest label of any process (IDX numbers its classes) */
    uint64_t k = ds->k;
    sr_dist_reduce_u64(&k, 1, 1);
    size_t *counts = NULL;
    if (ds->y) {
        uint64_t *c = sr_alloc_zeroed(k ? k : 1, sizeof *c);
        counts = sr_alloc_array(k ? k : 1, sizeof *counts);
        if (!c || !counts) {
            sr_dealloc(c);
            sr_dealloc(counts);
            return sr_fail(err, SR_ERR_NOMEM, "out of memory counting %llu "
                           "classes", (unsigned long long)k);
        }
        for (size_t i = 0; i < ds->m; i++)
            c[ds->y[i]]++;
        sr_dist_reduce_u64(c, k, 0);
        for (size_t j = 0; j < k; j++)
            counts[j] = (size_t)c[j];
        sr_dealloc(c);
    }
    if (ds->class_names && k != ds->k) {
        sr_dealloc(counts);
        return sr_fail(err, SR_ERR_MISMATCH,
                       "the processes' shards name %zu and %llu classes",
                       ds->k, (unsigned long long)k);
    }
    /* the value range: floats as integers of the same order */
    float lo, hi;
    sr_dataset_value_range(ds, &lo, &hi);
    uint64_t keys[2] = {~(uint64_t)order_key(lo), order_key(hi)};
    sr_dist_reduce_u64(keys, 2, 1);
    ds->range[0] = key_value((uint32_t)~keys[0]);
    ds->range[1] = key_value((uint32_t)keys[1]);
    sr_dealloc(ds->class_counts);
    ds->class_counts = counts;
    ds->k = (size_t)k;
    ds->row0 = row0;
    ds->m_all = (size_t)total;
    ds->sharded = 1;
    return SR_OK;
}

sr_status sr_dataset_keep_shard(sr_dataset *ds, size_t unit, sr_error *err)
{
    size_t first, last;
    sr_shard_rows(ds->m, unit, &first, &last);
    size_t *rows = sr_alloc_array(last - first ? last - first : 1,
                                  sizeof *rows);
    if (!rows)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu rows",
                       last - first);
    for (size_t i = first; i < last; i++)
        rows[i - first] = i;
    sr_dataset *part = NULL;
    sr_status st = sr_dataset_subset(ds, rows, last - first, &part, err);
    sr_dealloc(rows);
    if (st != SR_OK)
        return st;
    /* part takes ds's place; ds's arrays go with the shell */
    char *labels_file = ds->labels_file;
    size_t ignored = ds->ignored;
    ds->labels_file = NULL;
    sr_dataset keep = *ds;
    *ds = *part;
    *part = keep;
    sr_dataset_free(part);
    ds->labels_file = labels_file;
    ds->ignored = ignored; /* (counted over the whole file) */
    return sr_dataset_agree_shard(ds, first, err);
}

sr_status sr_dataset_copy_shard(sr_dataset *to, const sr_dataset *from,
                                sr_error *err)
{
    if (!from->sharded)
        return SR_OK;
    if (from->class_counts) {
        size_t k = from->k ? from->k : 1;
        if (!(to->class_counts = sr_alloc_array(k, sizeof(size_t))))
            return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu class "
                           "counts", k);
        memcpy(to->class_counts, from->class_counts, k * sizeof(size_t));
    }
    to->sharded = 1;
    to->row0 = from->row0;
    to->m_all = from->m_all;
    to->bytes_read = from->bytes_read;
    to->range[0] = from->range[0];
    to->range[1] = from->range[1];
    return SR_OK;
}

int sr_dataset_shard(const sr_dataset *ds, size_t *first, size_t *total,
                     uint64_t *bytes_read)
{
    if (first)
        *first = ds && ds->sharded ? ds->row0 : 0;
    if (total)
        *total = ds ? sr_dataset_rows_all(ds) : 0;
    if (bytes_read)
        *bytes_read = ds ? ds->bytes_read : 0;
    return ds && ds->sharded;
}
