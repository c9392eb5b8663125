/* The transposes of sparse minibatches (transposes.h). */
#include <string.h>

#include "team.h"
#include "transposes.h"


void sr_transposes_release(sr_transposes *T)
{
    sr_dealloc(T->eoff);
    sr_dealloc(T->coff);
    sr_dealloc(T->ncols);
    sr_dealloc(T->col);
    sr_dealloc(T->end);
    sr_dealloc(T->row);
    sr_dealloc(T->u8);
    sr_dealloc(T->f32);
    sr_dealloc(T->mark);
    sr_dealloc(T->next);
    sr_dealloc(T->stamp_now);
    memset(T, 0, sizeof *T);
}

/* Room for the transposes of ds's batches in this order. */
static sr_status reserve(sr_transposes *T, const sr_dataset *ds,
                         const size_t *order, size_t batch, size_t nt,
                         sr_error *err)
{
    size_t m = ds->m, n = ds->n, nb = (m + batch - 1) / batch;
    if (nb + 1 > T->bcap) {
        sr_dealloc(T->eoff);
        sr_dealloc(T->coff);
        sr_dealloc(T->ncols);
        T->eoff = sr_alloc_array(nb + 1, sizeof *T->eoff);
        T->coff = sr_alloc_array(nb + 1, sizeof *T->coff);
        T->ncols = sr_alloc_array(nb + 1, sizeof *T->ncols);
        T->bcap = T->eoff && T->coff && T->ncols ? nb + 1 : 0;
        if (!T->bcap)
            goto nomem;
    }
    /* Each batch's entries and columns start after the previous batch's;
     * a batch has at most min(n, its entries) columns. */
    size_t nnz = 0, ncol = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t first = b * batch, B = m - first < batch ? m - first : batch;
        size_t cnt = 0;
        if (!order)
            cnt = ds->row_ptr[first + B] - ds->row_ptr[first];
        else
            for (size_t i = 0; i < B; i++)
                cnt += ds->row_ptr[order[first + i] + 1] -
                       ds->row_ptr[order[first + i]];
        T->eoff[b] = nnz;
        T->coff[b] = ncol;
        nnz += cnt;
        ncol += cnt < n ? cnt : n;
    }
    T->eoff[nb] = nnz;
    T->coff[nb] = ncol;
    T->nb = nb;
    int u8 = ds->layout == SR_FEATURES_U8_SPARSE;
    /* (at least one of each: a shard may hold no rows) */
    size_t ecap = nnz ? nnz : 1, ccap = ncol ? ncol : 1;
    if (ecap > T->ecap || (u8 ? !T->u8 : !T->f32)) {
        sr_dealloc(T->row);
        sr_dealloc(T->u8);
        sr_dealloc(T->f32);
        T->u8 = NULL;
        T->f32 = NULL;
        T->row = sr_alloc_array(ecap, sizeof *T->row);
        if (u8)
            T->u8 = sr_alloc_array(ecap, sizeof *T->u8);
        else
            T->f32 = sr_alloc_array(ecap, sizeof *T->f32);
        T->ecap = T->row && (T->u8 || T->f32) ? ecap : 0;
        if (!T->ecap)
            goto nomem;
    }
    if (ccap > T->ccap) {
        sr_dealloc(T->col);
        sr_dealloc(T->end);
        T->col = sr_alloc_array(ccap, sizeof *T->col);
        T->end = sr_alloc_array(ccap, sizeof *T->end);
        T->ccap = T->col && T->end ? ccap : 0;
        if (!T->ccap)
            goto nomem;
    }
    if (n > T->n || !T->mark) {
        sr_dealloc(T->mark);
        sr_dealloc(T->next);
        sr_dealloc(T->stamp_now);
        T->mark = sr_alloc_zeroed(nt, 2 * n * sizeof *T->mark);
        T->next = sr_alloc_array(nt, n * sizeof *T->next);
        T->stamp_now = sr_alloc_zeroed(nt, 16 * sizeof *T->stamp_now);
        T->n = T->mark && T->next && T->stamp_now ? n : 0;
        if (!T->n)
            goto nomem;
    }
    return SR_OK;
nomem:
    T->ds = NULL;
    return sr_fail(err, SR_ERR_NOMEM,
                   "out of memory for the transposes of %zu minibatches", nb);
}

#define MARK_AHEAD 16 /* entries */

/* Batch b's transpose, by thread t: its columns in the order the rows
 * first name them, each column's entries in row order. */
static void transpose_batch(sr_transposes *T, const sr_dataset *ds,
                            const size_t *order, size_t batch, size_t b,
                            size_t t)
{
    size_t m = ds->m, n = ds->n, first = b * batch;
    size_t B = m - first < batch ? m - first : batch;
    uint32_t *mark = T->mark + 2 * t * n, *next = T->next + t * n;
    uint32_t *now = T->stamp_now + 16 * t;
    if (++*now == 0) { /* the stamps wrapped round: start afresh */
        memset(mark, 0, 2 * n * sizeof *mark);
        *now = 1;
    }
    uint32_t sv = *now;
    int u8 = ds->layout == SR_FEATURES_U8_SPARSE;
    uint32_t *col = T->col + T->coff[b], *end = T->end + T->coff[b];
    size_t ncols = 0;
    for (size_t i = 0; i < B; i++) {
        size_t r = order ? order[first + i] : first + i;
        size_t p1 = ds->row_ptr[r + 1];
        for (size_t p = ds->row_ptr[r]; p < p1; p++) {
            size_t j = u8 ? ds->col16[p] : ds->col[p];
            /* A wide vocabulary's marks miss the caches: ask for a later
             * entry's while this one's is compared. */
            if (p + MARK_AHEAD < p1)
                __builtin_prefetch(mark + 2 * (u8 ? ds->col16[p + MARK_AHEAD]
                                                  : ds->col[p + MARK_AHEAD]));
            if (mark[2 * j + 1] != sv) {
                mark[2 * j + 1] = sv;
                mark[2 * j] = (uint32_t)ncols;
                col[ncols] = (uint32_t)j;
                next[ncols++] = 0;
            }
            next[mark[2 * j]]++;
        }
    }
    /* next: counts, then each column's next free entry */
    uint32_t at = 0;
    for (size_t q = 0; q < ncols; q++) {
        uint32_t c = next[q];
        next[q] = at;
        at += c;
        end[q] = at;
    }
    uint16_t *row = T->row + T->eoff[b];
    uint8_t *v8 = u8 ? T->u8 + T->eoff[b] : NULL;
    float *vf = u8 ? NULL : T->f32 + T->eoff[b];
    for (size_t i = 0; i < B; i++) {
        size_t r = order ? order[first + i] : first + i;
        size_t p1 = ds->row_ptr[r + 1];
        for (size_t p = ds->row_ptr[r]; p < p1; p++) {
            size_t j = u8 ? ds->col16[p] : ds->col[p];
            if (p + MARK_AHEAD < p1)
                __builtin_prefetch(mark + 2 * (u8 ? ds->col16[p + MARK_AHEAD]
                                                  : ds->col[p + MARK_AHEAD]));
            uint32_t e2 = next[mark[2 * j]]++;
            row[e2] = (uint16_t)i;
            if (u8)
                v8[e2] = ds->val8[p];
            else
                vf[e2] = ds->val[p];
        }
    }
    T->ncols[b] = ncols;
}

/* The transposes of ds's batches in this order (kept when the order and
 * the batches are those already built). */
sr_status sr_transposes_build(sr_transposes *T, const sr_dataset *ds,
                              const size_t *order, size_t batch,
                              size_t nthreads, size_t threads_now,
                              sr_error *err)
{
    if (!order && T->ds == (const void *)ds && T->in_order && T->m == ds->m &&
        T->batch == batch)
        return SR_OK;
    if (batch > 65536)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "batch: at most 65536 rows a minibatch on sparse data, "
                       "not %zu", batch);
    T->ds = NULL;
    sr_status st = reserve(T, ds, order, batch, nthreads, err);
    if (st != SR_OK)
        return st;
    long long nb = (long long)T->nb;
    (void)threads_now; /* read by OpenMP's pragma alone */
#pragma omp parallel for schedule(dynamic, 4) num_threads((int)threads_now)
    for (long long b = 0; b < nb; b++)
        transpose_batch(T, ds, order, batch, (size_t)b, sr_thread_id());
    /* The builders' scratch (three words a feature a thread) goes until
     * the next build. */
    sr_dealloc(T->mark);
    sr_dealloc(T->next);
    sr_dealloc(T->stamp_now);
    T->mark = T->next = T->stamp_now = NULL;
    T->ds = ds;
    T->m = ds->m;
    T->batch = batch;
    T->in_order = order == NULL;
    return SR_OK;
}

sr_csc sr_transposes_batch(const sr_transposes *T, size_t b)
{
    sr_csc c = {T->ncols[b], T->col + T->coff[b], T->end + T->coff[b],
                T->row + T->eoff[b], T->u8 ? T->u8 + T->eoff[b] : NULL,
                T->f32 ? T->f32 + T->eoff[b] : NULL};
    return c;
}

