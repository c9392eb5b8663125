/* The layout of sr_dataset, shared by the readers, the kernels and training. */
#ifndef SR_DATA_DATASET_H
#define SR_DATA_DATASET_H

#include "../core/internal.h"

typedef enum sr_feature_layout {
    SR_FEATURES_U8 = 0,  /* dense uint8 pixels, value = sr_pixel_scale[v] */
    SR_FEATURES_F32 = 1, /* dense float32 */
    SR_FEATURES_CSR = 2  /* sparse rows: row_ptr, col, val (float32) */
} sr_feature_layout;

/* Labels: class indices for classification; real targets for regression. */
struct sr_dataset {
    size_t m;            /* examples */
    size_t n;            /* features */
    size_t k;            /* classes: 1 + largest label (0 if no labels) */
    sr_feature_layout layout;

    uint8_t *x_u8;       /* (m, n) when layout == SR_FEATURES_U8 */
    float *x_f32;        /* (m, n) when layout == SR_FEATURES_F32 */
    size_t *row_ptr;     /* m + 1 entries when layout == SR_FEATURES_CSR */
    uint32_t *col;       /* column of each stored value, ascending per row */
    float *val;

    int32_t *y;          /* (m) class indices in [0, k), or NULL */
    float *targets;      /* (m, t) regression targets, or NULL */
    size_t t;            /* number of regression targets */

    char **class_names;  /* k names, or NULL when classes are 0..k-1 */
    size_t rows, cols;   /* image shape for IDX data, 0 otherwise */
};

/* An empty data set with every pointer NULL. */
sr_dataset *sr_dataset_new(sr_error *err);

#endif
