/* The layout of sr_model and what each model kind provides to training. */
#ifndef SR_MODELS_MODEL_H
#define SR_MODELS_MODEL_H

#include "../data/dataset.h"
#include "../kernels/kernels.h"

#define SR_MAX_BLOCKS 4

/* Where the input of a parameter block comes from: the data's features
 * (theta, W1), the network's hidden layer (W2), or a constant 1 (biases). */
typedef enum sr_block_input {
    SR_INPUT_X = 0,
    SR_INPUT_HIDDEN = 1,
    SR_INPUT_ONE = 2
} sr_block_input;

/* A named (rows, cols) slice of the flat parameter vector. Its gradient is
 * input^T @ (gradient w.r.t. the layer's output): the output gradient is
 * the logits' (width k) or the hidden layer's (width d). */
typedef struct sr_param_block {
    const char *name;
    size_t offset, rows, cols;
    sr_block_input input;
    int feeds_hidden; /* 1: its output is the hidden layer, else the logits */
    int decayed;      /* weight decay applies (not to biases) */
} sr_param_block;

/* What a model is, before it has parameters. */
typedef struct sr_model_spec {
    sr_model_kind kind;
    size_t n;  /* features the parameters see (after the feature map) */
    size_t k;  /* outputs: classes (softmax, nn), 1 (logistic), targets (linear) */
    size_t d;  /* hidden units (nn only) */
    int bias;  /* add biases b (or b1 and b2) */
} sr_model_spec;

/* All parameters live in one flat vector so that optimisers (SGD, L-BFGS)
 * and checkpoints treat every model alike; blocks name its slices:
 * theta (n, k) [b (1, k)] for the linear family, W1 (n, d) [b1 (1, d)]
 * W2 (d, k) [b2 (1, k)] for the network. */
struct sr_model {
    sr_model_kind kind;
    size_t n, k, d;
    int bias;
    float *params;
    size_t nparams;
    sr_param_block blocks[SR_MAX_BLOCKS];
    size_t nblocks;

    /* The feature map from raw inputs (n_raw features) to the n features
     * the parameters see: with poly = D >= 2, x becomes
     * [x, x^2, ..., x^D] (all features' squares after all features, and so
     * on), n = n_raw * D; then, when mean is not NULL, each feature j
     * becomes (x_j - mean[j]) * inv_std[j]. */
    size_t n_raw;
    unsigned poly;   /* 1 = identity */
    float *mean;     /* (n) or NULL */
    float *inv_std;  /* (n) or NULL */

    /* Names of the classes as the training file wrote them (k of them; 2
     * for logistic regression, whose single output is P(class 1)), or NULL
     * when classes are 0..k-1 or the model is a regression. */
    char **class_names;

    /* The training file's column names, when it had a header: its n_raw
     * features' and its label column's, with the label column's position
     * among all the file's columns (SIZE_MAX when unknown). Files of new
     * data are matched to the features by these names. */
    char **feature_names;
    char *label_name;
    size_t label_col;

    /* How it was trained: the options as text (sr_train's, every one
     * that shapes the result) and a CRC-32 of the training data, or NULL
     * and has_data_crc 0 when unknown (an older file). */
    char *train_options;
    uint32_t data_crc;
    int has_data_crc;
};

/* Number of class names a model of this kind carries: k, 2 for logistic,
 * 0 for linear regression. */
size_t sr_model_class_count(const sr_model *model);

/* A model with zero parameters, identity feature map (n_raw = n) and no
 * class names. */
sr_status sr_model_create(const sr_model_spec *spec, sr_model **out,
                          sr_error *err);

/* The parameter block by name, or NULL. */
const sr_param_block *sr_model_block(const sr_model *model, const char *name);

#endif
