/* The layout of sr_model and what each model kind provides to training. */
#ifndef SR_MODELS_MODEL_H
#define SR_MODELS_MODEL_H

#include "../kernels/kernels.h"

#define SR_MAX_BLOCKS 4

/* A named (rows, cols) slice of the flat parameter vector. */
typedef struct sr_param_block {
    const char *name;
    size_t offset, rows, cols;
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

    /* Names of the k classes as the training file wrote them, or NULL when
     * classes are 0..k-1. */
    char **class_names;
};

/* Scratch memory for one thread working on up to `rows` rows at a time,
 * allocated once per training run: no allocation inside an epoch. */
typedef struct sr_workspace {
    size_t rows;
    float *logits; /* (rows, k) */
    float *hidden; /* (rows, d) for the network */
    float *dhidden;/* (rows, d) for the network */
    float *grad;   /* nparams */
} sr_workspace;

/* A model with zero parameters, identity feature map (n_raw = n) and no
 * class names. */
sr_status sr_model_create(const sr_model_spec *spec, sr_model **out,
                          sr_error *err);

sr_status sr_workspace_init(sr_workspace *ws, const sr_model *model,
                            size_t rows, sr_error *err);
void sr_workspace_release(sr_workspace *ws);

/* logits (B, k) of a batch. */
void sr_model_forward(const sr_model *model, const sr_batch *b,
                      sr_workspace *ws, float *logits);

/* ws->grad = gradient of the summed (not averaged) loss of the batch with
 * respect to model->params, overwritten; returns the summed loss. */
double sr_model_batch_grad(const sr_model *model, const sr_batch *b,
                           sr_workspace *ws);

/* Per kind: softmax.c and mlp.c. */
void sr_softmax_forward(const sr_model *model, const sr_batch *b,
                        sr_workspace *ws, float *logits);
double sr_softmax_batch_grad(const sr_model *model, const sr_batch *b,
                             sr_workspace *ws);
void sr_mlp_forward(const sr_model *model, const sr_batch *b,
                    sr_workspace *ws, float *logits);
double sr_mlp_batch_grad(const sr_model *model, const sr_batch *b,
                         sr_workspace *ws);

#endif
