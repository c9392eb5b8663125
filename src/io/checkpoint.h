/* Checkpoints: the full state of a training run, so that a run resumed
 * from one ends with the same bits as a run never interrupted. Written
 * atomically (temporary file, fsync, rename); guarded by a CRC-32. */
#ifndef SR_IO_CHECKPOINT_H
#define SR_IO_CHECKPOINT_H

#include "../models/model.h"

/* What must match for a run to be resumed from a checkpoint. */
typedef struct sr_checkpoint_config {
    uint32_t kind, optimizer, shuffle, seed;
    uint64_t m, n, batch;
    double lr, l2, momentum;
    /* version 3: the class weights' rule and a CRC-32 of the training
     * data (sr_dataset_crc); a version 2 file has_data 0 */
    uint32_t class_weight, data_crc, has_data;
} sr_checkpoint_config;

typedef struct sr_checkpoint {
    sr_checkpoint_config config;
    uint64_t epoch;      /* the epoch in progress (or the next one) */
    uint64_t next_row;   /* position in that epoch's order; 0 = its start */
    sr_rng rng;          /* the shuffling generator */
    size_t *order;       /* that epoch's order when shuffled mid-epoch, or NULL */
    size_t norder;
    float *velocity;     /* SGD momentum (nparams) or NULL */
    double best_loss;    /* early stopping */
    uint64_t since_best;
    float *best;         /* best parameters so far (nparams) or NULL */
    /* SGD on sparse data with weight decay or momentum, interrupted in an
     * epoch: the steps taken, and per feature the steps its row of
     * weights has taken (optim/sgd.h), or NULL */
    uint64_t lazy_steps;
    uint64_t *lazy_done;
    size_t nlazy;
    sr_model *model;
} sr_checkpoint;

/* Writes the checkpoint to `path` atomically. */
sr_status sr_checkpoint_save(const sr_checkpoint *ck, const char *path,
                             sr_error *err);
/* Reads one; the caller frees it with sr_checkpoint_release. */
sr_status sr_checkpoint_load(const char *path, sr_checkpoint *ck,
                             sr_error *err);
sr_status sr_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                              sr_checkpoint *ck, sr_error *err);
void sr_checkpoint_release(sr_checkpoint *ck);

#endif
