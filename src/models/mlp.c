/* The course's two-layer network: h = ReLU(x W1 + b1), logits z = h W2 +
 * b2, softmax with cross-entropy. Its backward pass:
 *   G2 = softmax(z) - e_y                          (from the loss)
 *   G1 = 1{h > 0} o (G2 W2^T)                      (from h = ReLU(...))
 *   W2 moves by H^T G2, W1 by X^T G1, b2 by sum G2, b1 by sum G1.
 * Working layout: W1 (n, ldd), b1 (1, ldd), W2 (ldd, ldk) row-major for
 * the logits and also transposed, W2T (k rows of ldd), for G2 W2^T and its
 * step; b2 (1, ldk). A pass splits the hidden units across threads (each
 * core keeps its slice of W1 in its own cache) for X W1 and the backward
 * step, and the rows for the logits. */
#include <string.h>

#include "ops.h"

enum { W1 = 0 };

/* Blocks by name: b1 and b2 exist with biases only. */
static size_t block_w2(const sr_model *m) { return m->bias ? 2 : 1; }

static void layout(sr_ws *ws)
{
    const sr_model *m = ws->model;
    ws->ldk = SR_PAD16(m->k);
    ws->ldd = SR_PAD16(m->d);
    ws->xblock = W1;
    ws->rows[W1] = m->n;
    ws->ld[W1] = ws->ldd;
    size_t w2 = block_w2(m);
    if (m->bias) {
        ws->rows[1] = 1;
        ws->ld[1] = ws->ldd;
        ws->rows[3] = 1;
        ws->ld[3] = ws->ldk;
    }
    ws->rows[w2] = ws->ldd;
    ws->ld[w2] = ws->ldk;
    ws->w2t_floats = ws->ldk * ws->ldd;
    ws->scratch_size = SR_EVAL_BLOCK * (ws->ldd + ws->ldk);
}

static void load(const sr_ws *ws, const float *params, sr_params *P)
{
    const sr_model *m = ws->model;
    size_t d = m->d, k = m->k, ldd = ws->ldd, ldk = ws->ldk;
    for (size_t b = 0; b < m->nblocks; b++) {
        const sr_param_block *blk = &m->blocks[b];
        const float *src = params + blk->offset;
        for (size_t j = 0; j < blk->rows; j++)
            memcpy(P->W[b] + j * ws->ld[b], src + j * blk->cols,
                   blk->cols * sizeof(float));
    }
    const float *W2 = params + m->blocks[block_w2(m)].offset;
    for (size_t a = 0; a < d; a++)
        for (size_t c = 0; c < k; c++)
            P->W2T[c * ldd + a] = W2[a * k + c];
    (void)ldk;
}

/* W2 from W2T, which the kernels keep current for parameters and
 * velocities alike. */
static void store(const sr_ws *ws, const sr_params *P, float *params)
{
    const sr_model *m = ws->model;
    size_t d = m->d, k = m->k, ldd = ws->ldd, w2 = block_w2(m);
    for (size_t b = 0; b < m->nblocks; b++) {
        if (b == w2)
            continue;
        const sr_param_block *blk = &m->blocks[b];
        float *dst = params + blk->offset;
        for (size_t j = 0; j < blk->rows; j++)
            memcpy(dst + j * blk->cols, P->W[b] + j * ws->ld[b],
                   blk->cols * sizeof(float));
    }
    float *W2 = params + m->blocks[w2].offset;
    for (size_t a = 0; a < d; a++)
        for (size_t c = 0; c < k; c++)
            W2[a * k + c] = P->W2T[c * ldd + a];
}

/* Hidden units [c0, c1) of slice s of S: whole 16-float groups, spread
 * evenly. */
static void hidden_slice(size_t ldd, size_t s, size_t S, size_t *c0,
                         size_t *c1)
{
    size_t g = ldd / 16;
    *c0 = g * s / S * 16;
    *c1 = g * (s + 1) / S * 16;
}

/* H[:, c0 .. c1) = ReLU(X W1 + b1) for b's rows. */
static void hidden(const sr_ws *ws, float *H, const sr_batch *b,
                   const sr_params *P, size_t c0, size_t c1)
{
    const sr_model *m = ws->model;
    const float *b1 = m->bias ? P->W[1] : NULL;
    size_t ldd = ws->ldd;
    if (sr_xview_sparse(b->X))
        ws->K->sparse_fwd(H, ldd, b->X, b->rows, b->first, b->B, P->W[W1],
                          ldd, b1, c0, c1, 1);
    else
        ws->K->dense_fwd(H, ldd, b->Xd, b->ldx, b->B, b->X->n, P->W[W1], ldd,
                         b1, c0, c1, 1);
}

static int phase(sr_ws *ws, const sr_pass *p, unsigned ph, size_t t,
                 size_t nt)
{
    const sr_model *m = ws->model;
    const sr_batch *b = p->b;
    const sr_kernel_table *K = ws->K;
    size_t ldd = ws->ldd, ldk = ws->ldk, w2 = block_w2(m), c0, c1;
    hidden_slice(ldd, t, nt, &c0, &c1);
    if (ph == 0) {
        if (c1 > c0)
            hidden(ws, ws->H, b, p->in, c0, c1);
        return 1;
    }
    if (ph == 1) {
        size_t i0, i1;
        sr_split(b->B, t, nt, &i0, &i1);
        if (i1 <= i0)
            return 1;
        K->nn_logits(ws->Z, ldk, ws->H, ldd, m->d, p->in->W[w2],
                     m->bias ? p->in->W[3] : NULL, i0, i1);
        K->softmax_grad(ws->Z + i0 * ldk, ldk, b->y + i0, i1 - i0, m->k,
                        ws->loss + i0);
        sr_weigh_rows(ws, ws->Z, ldk, m->k, ws->loss, b->y, i0, i1);
        return 1;
    }
    /* The backward pass over this thread's hidden units. */
    sr_rule rule = p->rule;
    rule.V = p->vel ? p->vel->W2T : NULL;
    if (c1 > c0) {
        float *W2 = p->mode == SR_PASS_SGD ? p->out->W[w2] : NULL;
        K->nn_backward(ws->G1, ws->H, ldd, ws->Z, ldk, b->B, p->in->W2T,
                       p->out->W2T, W2, m->k, c0, c1, &rule);
        rule.V = p->vel ? p->vel->W[W1] : NULL;
        if (sr_xview_sparse(b->X))
            K->sparse_step(p->out->W[W1], ldd, b->T, 0, b->T->ncols, ws->G1,
                           ldd, c0, c1, &rule);
        else
            K->dense_step(p->out->W[W1], ldd, b->Xd, b->ldx, b->B, 0,
                          b->X->n, ws->G1, ldd, c0, c1, &rule);
    }
    if (!m->bias)
        return 1;
    /* Biases: sums over the rows in order, without weight decay; b1 by
     * slices, b2 by thread 0. */
    sr_rule rb = sr_rule_no_decay(&p->rule);
    float a[1024];
    for (size_t s0 = c0; s0 < c1; s0 += 1024) {
        size_t s1 = c1 - s0 < 1024 ? c1 : s0 + 1024;
        memset(a, 0, (s1 - s0) * sizeof *a);
        for (size_t i = 0; i < b->B; i++)
            for (size_t c = s0; c < s1; c++)
                a[c - s0] = a[c - s0] + ws->G1[i * ldd + c];
        sr_rule_apply_row(&rb, p->out->W[1] + s0,
                          p->vel ? p->vel->W[1] + s0 : NULL, a, s1 - s0);
    }
    if (t != 0)
        return 1;
    for (size_t s0 = 0; s0 < ldk; s0 += 1024) {
        size_t s1 = ldk - s0 < 1024 ? ldk : s0 + 1024;
        memset(a, 0, (s1 - s0) * sizeof *a);
        for (size_t i = 0; i < b->B; i++)
            for (size_t c = s0; c < s1; c++)
                a[c - s0] = a[c - s0] + ws->Z[i * ldk + c];
        sr_rule_apply_row(&rb, p->out->W[3] + s0,
                          p->vel ? p->vel->W[3] + s0 : NULL, a, s1 - s0);
    }
    return 1;
}

/* The hidden layer's work dominates: splitting pays unless it is tiny. */
static int split_pays(const sr_ws *ws, size_t B, size_t entries)
{
    (void)entries;
    return B * ws->ldd >= 1024;
}

static double eval(sr_ws *ws, const sr_params *P, const sr_batch *b, size_t t,
                   size_t *wrong, float *scores)
{
    const sr_model *m = ws->model;
    size_t ldd = ws->ldd, ldk = ws->ldk;
    float *H = ws->scratch + t * ws->scratch_size;
    float *Z = H + SR_EVAL_BLOCK * ldd;
    hidden(ws, H, b, P, 0, ldd);
    ws->K->nn_logits(Z, ldk, H, ldd, m->d, P->W[block_w2(m)],
                     m->bias ? P->W[3] : NULL, 0, b->B);
    if (scores) {
        for (size_t i = 0; i < b->B; i++)
            memcpy(scores + i * m->k, Z + i * ldk, m->k * sizeof *scores);
        return 0.0;
    }
    return ws->K->softmax_eval(Z, ldk, b->y, b->B, m->k, wrong);
}

const sr_model_ops sr_mlp_ops = {SR_MODEL_NN, layout, load,  store, 3, 1,
                                 phase,       split_pays, eval, 0, 0, 0};

