/* The feature map a model applies to raw inputs: polynomial powers
 * (CSC413's polynomial regression) and standardisation. */
#ifndef SR_MODELS_FEATURE_MAP_H
#define SR_MODELS_FEATURE_MAP_H

#include "model.h"

/* Sets model->mean and inv_std from the training set's features after the
 * polynomial map: (x_j - mean_j) * inv_std_j. Dense data are centred and
 * scaled; sparse data (LIBSVM, MNIST's pixel lists) only scaled, mean 0,
 * so that zeros stay zero and the data stay sparse. A constant feature gets
 * inv_std 1. */
sr_status sr_feature_map_fit(sr_model *model, const sr_dataset *raw,
                             sr_error *err);

/* *out = the model's features of `raw` as a new data set (float CSR for
 * sparse input, dense float otherwise), or NULL when the map is the
 * identity and `raw` can be used as it is. Checks raw's width. */
sr_status sr_feature_map_apply(const sr_model *model, const sr_dataset *raw,
                               sr_dataset **out, sr_error *err);

#endif
