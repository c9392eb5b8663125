/* The transposes of sparse minibatches: for each minibatch (or full-pass
 * block) of a data set in a given order, its columns in the order its
 * rows first name them, each column's entries in row order (kernels.h's
 * sr_csc), so that a step sums each present feature's gradient over the
 * minibatch and touches only those features' weights. */
#ifndef SR_TRAIN_TRANSPOSES_H
#define SR_TRAIN_TRANSPOSES_H

#include "../data/dataset.h"
#include "../kernels/kernels.h"

/* The transposes (kernels.h's sr_csc) of every minibatch of an epoch, or
 * of every block of a full pass, built together (in parallel over
 * batches) and kept while the rows' order stays. */
typedef struct sr_transposes {
    const void *ds;      /* what they describe, when valid */
    size_t m, batch;
    int in_order;
    size_t nb;           /* batches */
    size_t *eoff;        /* (nb + 1) each batch's first entry */
    size_t *coff;        /* (nb + 1) each batch's first column */
    size_t *ncols;       /* (nb) each batch's columns */
    uint32_t *col, *end;
    uint16_t *row;
    uint8_t *u8;
    float *f32;
    size_t ecap, ccap, bcap, vcap;
    /* per thread, while building: for feature j, mark[2j] is its slot in
     * the batch being built and mark[2j + 1] the batch that slot belongs
     * to (side by side: one cache line read per entry); next holds the
     * columns' next free entries */
    uint32_t *mark, *next;
    uint32_t *stamp_now;
    size_t n;
} sr_transposes;

/* The transposes of ds's batches of `batch` rows in this order (NULL: the
 * data's), built by `threads_now` threads in parallel over batches, with
 * scratch for `nthreads`; kept, and not rebuilt, when the order and the
 * batches are those already built. */
sr_status sr_transposes_build(sr_transposes *T, const sr_dataset *ds,
                              const size_t *order, size_t batch,
                              size_t nthreads, size_t threads_now,
                              sr_error *err);
/* Batch b's transpose, pointing into T. */
sr_csc sr_transposes_batch(const sr_transposes *T, size_t b);
void sr_transposes_release(sr_transposes *T);

#endif
