/* The affine models: outputs z = x theta + b followed by a loss, their
 * "head" (softmax with cross-entropy, the logistic loss, squared error).
 * affine.c implements their ops once; each model's file supplies its head
 * and its ops table. */
#ifndef SR_MODELS_AFFINE_H
#define SR_MODELS_AFFINE_H

#include "ops.h"

typedef struct sr_head {
    /* Rows [i0, i1) of Z (rows of ld floats, k outputs) become the loss's
     * gradient w.r.t. z, and loss[i] each row's loss; with probs (rows of
     * ld, the block's row i at probs + i ld), the outputs' probabilities,
     * which curv needs. Labels and targets come from b (its rows i). */
    void (*grad)(const sr_kernel_table *K, float *Z, size_t ld, size_t k,
                 const sr_batch *b, size_t i0, size_t i1, double *loss,
                 float *probs);
    /* The sum of the losses of b's rows i < B in row order; adds the
     * wrongly classified rows to *wrong. */
    double (*eval)(const sr_kernel_table *K, const float *Z, size_t ld,
                   size_t k, const sr_batch *b, size_t B, size_t *wrong);
    /* Rows [i0, i1) of U become the loss's curvature (its Hessian w.r.t.
     * z) at the kept probabilities P times U. */
    void (*curv)(float *U, const float *P, size_t ld, size_t k, size_t i0,
                 size_t i1);
} sr_head;

void sr_affine_layout(sr_ws *ws);
void sr_affine_load(const sr_ws *ws, const float *params, sr_params *P);
void sr_affine_store(const sr_ws *ws, const sr_params *P, float *params);
int sr_affine_phase(const sr_head *head, sr_ws *ws, const sr_pass *p,
                    unsigned phase, size_t t, size_t nt);
int sr_affine_split_pays(const sr_ws *ws, size_t B, size_t entries);
double sr_affine_eval(const sr_head *head, sr_ws *ws, const sr_params *P,
                      const sr_batch *b, size_t t, size_t *wrong,
                      float *scores);

/* The ops table of an affine model whose file defines static phase and
 * eval functions passing its head. */
#define SR_AFFINE_OPS(kind_, phase_, eval_)                                   \
    {kind_, sr_affine_layout, sr_affine_load, sr_affine_store, 3, 1, phase_, \
     sr_affine_split_pays, eval_, 1, 1, 1}

#endif
