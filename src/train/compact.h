/* Training on the features the training set uses. Sparse data with many
 * features (text) often name only a part of them in the training rows:
 * the weights of the others never receive a gradient, start at zero and
 * stay there (weight decay keeps a zero zero), so a model of the features
 * present trains the very same weights in a fraction of the memory, and
 * its rows of weights sit together in the caches. The model returned has
 * every feature, the absent ones' weights zero. */
#ifndef SR_TRAIN_COMPACT_H
#define SR_TRAIN_COMPACT_H

#include "../models/model.h"

typedef struct sr_compaction {
    uint32_t *map;   /* (n_raw) a feature's index among those kept, or
                      * UINT32_MAX */
    size_t n_raw, n; /* features before and after */
} sr_compaction;

/* Whether training `model` (its weights all zero) on `train` gains from
 * keeping only the features present: sparse data, an affine model, at
 * most half the features used. c->map is NULL when not. */
sr_status sr_compaction_plan(const sr_model *model, const sr_dataset *train,
                             int zero_start, sr_compaction *c, sr_error *err);

/* The same for any use of a model on sparse data (evaluation,
 * prediction): the features `ds` names, when at most half of them. */
sr_status sr_compaction_of_data(const sr_dataset *ds, sr_compaction *c,
                                sr_error *err);

/* A data set of the kept features only. */
sr_status sr_compaction_data(const sr_compaction *c, const sr_dataset *ds,
                             sr_dataset **out, sr_error *err);

/* A model like `full`, of the kept features, zero. */
sr_status sr_compaction_model(const sr_compaction *c, const sr_model *full,
                              sr_model **out, sr_error *err);

/* A copy of `full` (no feature map) holding the kept features' rows of
 * its first block (theta, W1) and its other blocks. */
sr_status sr_compaction_model_copy(const sr_compaction *c,
                                   const sr_model *full, sr_model **out,
                                   sr_error *err);

/* full's parameters (zeroed) from the compact model's: the kept
 * features' rows, the other blocks as they are. */
void sr_compaction_expand(const sr_compaction *c, const sr_model *compact,
                          sr_model *full);

void sr_compaction_release(sr_compaction *c);

#endif
