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

/* All parameters live in one flat vector so that optimisers (SGD, L-BFGS)
 * and checkpoints treat every model alike; blocks name its slices. */
struct sr_model {
    sr_model_kind kind;
    size_t n, k, d;
    float *params;
    size_t nparams;
    sr_param_block blocks[SR_MAX_BLOCKS];
    size_t nblocks;
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

sr_status sr_model_create(sr_model_kind kind, size_t n, size_t k, size_t d,
                          sr_model **out, sr_error *err);

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
