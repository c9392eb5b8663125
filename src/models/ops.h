/* What a model does for the training engine: its ops table.
 *
 * The engine (train/engine.c) owns the loop over minibatches, the threads,
 * the data's views and the batches' transposes; a model owns its
 * parameters' working layout and the arithmetic of one pass over a block
 * of rows. A pass is a few phases; the engine runs each phase on every
 * thread of its team (thread t of nt doing its share: rows, columns or
 * features, as the phase splits them) with a barrier after each that has
 * work, so that a model never touches a thread itself. Every sum a phase computes runs in
 * an order fixed by the data (kernels.h), never by the split.
 *
 * Letters: B rows in a block, n features, k outputs, d hidden units; ldk
 * and ldd their padded widths (kernels.h). */
#ifndef SR_MODELS_OPS_H
#define SR_MODELS_OPS_H

#include "model.h"

/* Rows of the data a pass covers, as the kernels need them. */
typedef struct sr_batch {
    const sr_xview *X;
    const size_t *rows;  /* B row indices into X, or NULL: first .. first+B */
    size_t first, B;
    /* Dense data: the rows as floats (B, ldx), converted or gathered by the
     * engine when they are pixels or out of order, else pointing into the
     * data. */
    const float *Xd;
    size_t ldx;
    /* Sparse data: the rows transposed; or, where the engine keeps one
     * instead (few features: models/ops.h's scatter_ok), a zeroed
     * accumulator of the X block's rows (n, ld) for the step to scatter
     * into and sweep. */
    const sr_csc *T;
    float *acc;
    const int32_t *y;    /* (B) class labels, or NULL */
    const float *t;      /* (B, ldt) regression targets, or NULL */
    size_t ldt;
} sr_batch;

/* The working copy of a model's parameters: block b of the model (its
 * rows by cols) is W[b], rows padded to ld[b] floats (kernels.h), 64-byte
 * aligned, padding zero. The network also keeps W2 transposed, W2T (k rows
 * of ldd). */
typedef struct sr_params {
    float *W[SR_MAX_BLOCKS];
    float *W2T;
    void *raw;
} sr_params;

typedef enum sr_pass_mode {
    SR_PASS_SGD = 0,   /* forward, loss gradient, `out` (the parameters
                        * themselves) moved by the rule */
    SR_PASS_GRAD = 1,  /* forward, loss gradient added into `out` (a
                        * gradient); with `probs`, the rows' outputs'
                        * probabilities kept there for SR_PASS_HV */
    SR_PASS_HV = 2     /* Hessian-vector product: `in` is the vector v;
                        * the curvature at the kept probabilities times
                        * X v, added into `out` */
} sr_pass_mode;

typedef struct sr_pass {
    sr_pass_mode mode;
    const sr_batch *b;
    const sr_params *in;   /* the parameters the forward reads */
    sr_params *out;        /* what the rule moves */
    sr_rule rule;          /* SGD's step, or SR_RULE_ADD */
    const sr_params *vel;  /* the velocities, with momentum */
    float *probs;          /* (B, ldk) of this block, or NULL */
} sr_pass;

/* The engine's workspace for one model: allocated once per run. */
typedef struct sr_ws {
    const sr_model *model;
    const struct sr_model_ops *ops;
    const sr_kernel_table *K;
    size_t max_rows;     /* rows of a pass at most */
    size_t nthreads;
    size_t ldk, ldd;     /* padded outputs and hidden units */
    size_t rows[SR_MAX_BLOCKS], ld[SR_MAX_BLOCKS];
    size_t xblock;       /* the block whose input is the data (theta, W1) */
    size_t w2t_floats;   /* the network's W2T, or 0 */
    float *Z;            /* (max_rows, ldk): outputs, then their gradients */
    float *H, *G1;       /* (max_rows, ldd): hidden layer and its gradient */
    double *loss;        /* (max_rows) */
    float *scratch;      /* per thread: the evaluation's rows */
    size_t scratch_size; /* floats per thread */
    /* The training loss's weight of each class (k, 2 for logistic), or
     * NULL: a row's loss and gradient (or curvature) are scaled by its
     * label's weight. */
    const float *class_weight;
} sr_ws;

/* Rows [i0, i1) of Z (row stride ld, `cols` outputs) and their losses
 * scaled by their labels' weights, when ws has them. */
void sr_weigh_rows(const sr_ws *ws, float *Z, size_t ld, size_t cols,
                   double *loss, const int32_t *y, size_t i0, size_t i1);

/* Rows an evaluation hands a model at once. */
#define SR_EVAL_BLOCK 64

typedef struct sr_model_ops {
    sr_model_kind kind;
    /* Fills the working layout of ws->model: rows, ld, ldk, ldd, xblock,
     * w2t_floats, and scratch_size (floats per thread, for the
     * evaluation). */
    void (*layout)(sr_ws *ws);
    /* The model's parameters (and, when V is not NULL, velocities laid out
     * as the parameters) to the working layout P, and back. */
    void (*load)(const sr_ws *ws, const float *params, sr_params *P);
    void (*store)(const sr_ws *ws, const sr_params *P, float *params);
    /* A pass over a block of rows: phases 0 .. nphases - 1 in turn, each on
     * every thread. After phase loss_phase the rows' losses are in
     * ws->loss (SR_PASS_SGD and SR_PASS_GRAD). A phase returns 1 when the
     * threads must wait for each other before the next, 0 when it had
     * nothing to do for this block (the same answer on every thread). */
    unsigned nphases, loss_phase;
    int (*phase)(sr_ws *ws, const sr_pass *p, unsigned phase, size_t t,
                 size_t nt);
    /* Whether splitting a pass of B rows holding `entries` stored values
     * across threads pays; one thread runs it otherwise. */
    int (*split_pays)(const sr_ws *ws, size_t B, size_t entries);
    /* Evaluation of b's rows (B <= SR_EVAL_BLOCK) on one thread t: returns
     * their losses' sum in row order, adds the wrongly classified rows to
     * *wrong; with `scores`, the rows' outputs (B, k) go there instead and
     * nothing is returned. */
    double (*eval)(sr_ws *ws, const sr_params *P, const sr_batch *b,
                   size_t t, size_t *wrong, float *scores);
    /* Whether SR_PASS_HV is defined (a convex loss). */
    int has_hv;
    /* Whether its step on sparse data can scatter into an accumulator
     * (sr_batch) instead of reading a transpose. */
    int scatter_ok;
    /* Whether the phases after loss_phase read nothing the earlier ones
     * made but ws->Z (the head's rows): a full pass can then run its first
     * phases over every row before the rest (engine.c's two-phase pass). */
    int sums_from_head;
} sr_model_ops;

/* The ops of a model kind. */
const sr_model_ops *sr_model_ops_of(sr_model_kind kind);

extern const sr_model_ops sr_softmax_ops;
extern const sr_model_ops sr_logistic_ops;
extern const sr_model_ops sr_linear_ops;
extern const sr_model_ops sr_mlp_ops;

/* ---- Shared by the models (models/layers.c) ---- */

/* The padded width of c columns: 1 for one, else SR_PAD16(c). */
size_t sr_padded_width(size_t cols);

/* Working parameters of ws's layout, zeroed; sr_params_free releases
 * them (a zeroed sr_params is released as nothing). */
sr_status sr_params_alloc(const sr_ws *ws, sr_params *P, sr_error *err);
void sr_params_free(sr_params *P);
void sr_params_zero(const sr_ws *ws, sr_params *P);
/* The floats of one allocation of ws's working parameters, from P->W[0]
 * (the blocks and W2T, padding included). */
size_t sr_params_floats(const sr_ws *ws);
/* Whether a pass over dense rows splits W's lanes across the nt threads
 * (forward and step) rather than the rows and the features. */
int sr_layer_lanes_split(const sr_ws *ws, const sr_batch *b, size_t ld,
                         size_t nt);
/* Dense rows: Y's lanes of thread t of nt = X W + b (the layer's forward
 * when the lanes split). */
void sr_layer_forward_lanes(const sr_ws *ws, float *Y, const sr_batch *b,
                            size_t t, size_t nt, const float *W,
                            const float *bias, size_t ld);

/* The kernels for rows of ld floats: ws->K when ld is a multiple of 16,
 * else the reference (one column: no vector to fill). */
const sr_kernel_table *sr_ws_kernels(const sr_ws *ws, size_t ld);

/* Rows [i0, i1) of thread t of nt, of B. */
void sr_split(size_t B, size_t t, size_t nt, size_t *i0, size_t *i1);

/* Y[i0 .. i1) = b's rows times W (n, ld) + bias, ReLU'd when relu: the
 * affine layer on the data, any format. Y has row stride ld. */
void sr_layer_forward(const sr_ws *ws, float *Y, const sr_batch *b, size_t i0,
                      size_t i1, const float *W, const float *bias,
                      size_t ld, int relu);

/* The affine layer's backward share of thread t of nt: W (n, ld) moves by
 * the rule by X^T G over b's rows (columns of the transpose, or features,
 * split across threads); thread 0 also moves the bias (may be NULL) by the
 * sum of G's rows, in row order, without weight decay. */
void sr_layer_backward(const sr_ws *ws, const sr_pass *p, float *W,
                       float *bias, float *Vw, float *Vb, const float *G,
                       size_t ld, size_t t, size_t nt);

/* The rule without weight decay (for biases). */
sr_rule sr_rule_no_decay(const sr_rule *rule);

#endif
