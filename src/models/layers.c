/* The affine layer on the data, Y = X W + b, forward and backward, for
 * every format of the data: what softmax, logistic and linear regression
 * are made of, and the network's first layer. */
#include <string.h>

#include "ops.h"

size_t sr_padded_width(size_t cols) { return cols == 1 ? 1 : SR_PAD16(cols); }

void sr_weigh_rows(const sr_ws *ws, float *Z, size_t ld, size_t cols,
                   double *loss, const int32_t *y, size_t i0, size_t i1)
{
    if (!ws->class_weight || !y)
        return;
    for (size_t i = i0; i < i1; i++) {
        float w = ws->class_weight[y[i]];
        float *z = Z + i * ld;
        for (size_t c = 0; c < cols; c++)
            z[c] = z[c] * w;
        if (loss)
            loss[i] = loss[i] * (double)w;
    }
}

/* Every block and W2T in one allocation, each 64-byte aligned. */
static size_t params_floats(const sr_ws *ws, size_t *at)
{
    size_t total = 0;
    for (size_t b = 0; b < ws->model->nblocks; b++) {
        at[b] = total;
        total += SR_PAD16(ws->rows[b] * ws->ld[b]);
    }
    at[SR_MAX_BLOCKS] = total;
    return total + ws->w2t_floats;
}

sr_status sr_params_alloc(const sr_ws *ws, sr_params *P, sr_error *err)
{
    size_t at[SR_MAX_BLOCKS + 1], total = params_floats(ws, at), bytes;
    memset(P, 0, sizeof *P);
    if (sr_mul_overflows(total, sizeof(float), &bytes) ||
        bytes > SIZE_MAX - 64 || !(P->raw = sr_alloc_zeroed(bytes + 64, 1)))
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for %zu working parameters", total);
    float *base = (float *)((char *)P->raw +
                            (64 - (uintptr_t)P->raw % 64) % 64);
    for (size_t b = 0; b < ws->model->nblocks; b++)
        P->W[b] = base + at[b];
    if (ws->w2t_floats)
        P->W2T = base + at[SR_MAX_BLOCKS];
    return SR_OK;
}

void sr_params_free(sr_params *P)
{
    sr_dealloc(P->raw);
    memset(P, 0, sizeof *P);
}

size_t sr_params_floats(const sr_ws *ws)
{
    size_t at[SR_MAX_BLOCKS + 1];
    return params_floats(ws, at);
}

void sr_params_zero(const sr_ws *ws, sr_params *P)
{
    memset(P->W[0], 0, sr_params_floats(ws) * sizeof(float));
}

const sr_kernel_table *sr_ws_kernels(const sr_ws *ws, size_t ld)
{
    return ld % 16 ? &sr_kernels_ref : ws->K;
}

void sr_split(size_t B, size_t t, size_t nt, size_t *i0, size_t *i1)
{
    *i0 = B * t / nt;
    *i1 = B * (t + 1) / nt;
}

sr_rule sr_rule_no_decay(const sr_rule *rule)
{
    sr_rule r = *rule;
    if (r.kind == SR_RULE_DECAY)
        r.kind = SR_RULE_SGD;
    r.decay = 0.0f;
    r.l2 = 0.0f;
    return r;
}

/* The lanes of rows ld wide that the dense kernels compute: the model's
 * k columns rounded up to 8. The padding beyond stays zero in W, and the
 * heads read only the first k lanes of Y, so a last half group of
 * padding (lanes 104 to 111 of 100 classes) costs no arithmetic. */
static size_t live_lanes(const sr_ws *ws, size_t ld)
{
    size_t live = (ws->model->k + 7) / 8 * 8;
    return ld % 16 || live > ld ? ld : live;
}

void sr_layer_forward(const sr_ws *ws, float *Y, const sr_batch *b, size_t i0,
                      size_t i1, const float *W, const float *bias,
                      size_t ld, int relu)
{
    if (i1 <= i0)
        return;
    const sr_kernel_table *K = sr_ws_kernels(ws, ld);
    const sr_xview *X = b->X;
    float *y = Y + i0 * ld;
    if (!sr_xview_sparse(X)) {
        K->dense_fwd(y, ld, b->Xd + i0 * b->ldx, b->ldx, i1 - i0, X->n, W, ld,
                     bias, 0, live_lanes(ws, ld), relu);
        return;
    }
    const size_t *rows = b->rows ? b->rows + i0 : NULL;
    size_t first = b->first + i0;
    if (ld == 16 && !relu)
        K->sparse_fwd16(y, X, rows, first, i1 - i0, W, bias);
    else
        K->sparse_fwd(y, ld, X, rows, first, i1 - i0, W, ld, bias, 0, ld,
                      relu);
}

/* Lanes [c0, c1) of rows ld wide for thread t of nt: whole 16-lane
 * groups, or the one lane of an unpadded row to thread 0. */
static void lane_share(size_t ld, size_t t, size_t nt, size_t *c0,
                       size_t *c1)
{
    size_t g0, g1;
    sr_split(ld > 1 ? ld / 16 : 1, t, nt, &g0, &g1);
    *c0 = ld > 1 ? g0 * 16 : 0;
    *c1 = ld > 1 ? g1 * 16 : (t == 0 ? 1 : 0);
}

/* The live lanes [c0, c1) of dense rows for thread t of nt: runs of
 * 8-lane halves as even as possible, each starting on a 16-lane group
 * (so that only the last thread's slice may end in a half). */
static void dense_lane_share(size_t live, size_t t, size_t nt, size_t *c0,
                             size_t *c1)
{
    size_t h0, h1;
    sr_split(live / 8, t, nt, &h0, &h1);
    *c0 = h0 / 2 * 16;
    *c1 = t + 1 == nt ? live : h1 / 2 * 16;
}

/* Lanes split when every thread gets at least this many 8-lane halves of
 * live lanes (so that an odd half costs at most a few per cent): each
 * thread then reads and moves its own columns of W at every minibatch,
 * where rows and features split would pass all of W between the cores'
 * caches. */
#define LANES_SPLIT_HALVES 6

int sr_layer_lanes_split(const sr_ws *ws, const sr_batch *b, size_t ld,
                         size_t nt)
{
    return nt > 1 && !sr_xview_sparse(b->X) &&
           live_lanes(ws, ld) / 8 >= LANES_SPLIT_HALVES * nt;
}

void sr_layer_forward_lanes(const sr_ws *ws, float *Y, const sr_batch *b,
                            size_t t, size_t nt, const float *W,
                            const float *bias, size_t ld)
{
    size_t c0, c1;
    dense_lane_share(live_lanes(ws, ld), t, nt, &c0, &c1);
    if (c1 > c0)
        sr_ws_kernels(ws, ld)->dense_fwd(Y, ld, b->Xd, b->ldx, b->B, b->X->n,
                                         W, ld, bias, c0, c1, 0);
}

/* The transpose's columns [q0, q1) of thread t of nt: as many entries
 * each, whole columns. */
static void column_share(const sr_csc *T, size_t t, size_t nt, size_t *q0,
                         size_t *q1)
{
    size_t total = T->ncols ? T->end[T->ncols - 1] : 0;
    size_t at[2] = {total * t / nt, total * (t + 1) / nt};
    size_t q[2];
    for (int s = 0; s < 2; s++) {
        /* the first column ending beyond at[s] */
        size_t lo = 0, hi = T->ncols;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (T->end[mid] <= at[s])
                lo = mid + 1;
            else
                hi = mid;
        }
        q[s] = lo;
    }
    *q0 = t == 0 ? 0 : q[0];
    *q1 = t + 1 == nt ? T->ncols : q[1];
}

void sr_layer_backward(const sr_ws *ws, const sr_pass *p, float *W,
                       float *bias, float *Vw, float *Vb, const float *G,
                       size_t ld, size_t t, size_t nt)
{
    const sr_batch *b = p->b;
    const sr_kernel_table *K = sr_ws_kernels(ws, ld);
    sr_rule rule = p->rule;
    rule.V = Vw;
    if (sr_xview_sparse(b->X) && (b->acc || !b->T)) {
        /* Scattered into the accumulator, lanes split: then every row
         * swept. A gradient too: its block's sum from zero, then added,
         * as every other path sums a block (and a process its share of
         * the blocks, dist/dist.h). */
        size_t c0, c1;
        lane_share(ld, t, nt, &c0, &c1);
        if (c1 > c0) {
            K->sparse_scatter(b->acc, ld, b->X, b->rows, b->first, b->B, G, ld,
                              c0, c1);
            K->apply_rows(W, ld, b->acc, 0, b->X->n, c0, c1, &rule);
        }
    } else if (sr_xview_sparse(b->X)) {
        size_t q0, q1;
        column_share(b->T, t, nt, &q0, &q1);
        if (q1 > q0)
            K->sparse_step(W, ld, b->T, q0, q1, G, ld, 0, ld, &rule);
    } else if (sr_layer_lanes_split(ws, b, ld, nt)) {
        size_t c0, c1;
        dense_lane_share(live_lanes(ws, ld), t, nt, &c0, &c1);
        if (c1 > c0)
            K->dense_step(W, ld, b->Xd, b->ldx, b->B, 0, b->X->n, G, ld, c0,
                          c1, &rule);
    } else {
        size_t j0, j1;
        sr_split(b->X->n, t, nt, &j0, &j1);
        if (j1 > j0)
            K->dense_step(W, ld, b->Xd, b->ldx, b->B, j0, j1, G, ld, 0,
                          live_lanes(ws, ld), &rule);
    }
    if (!bias)
        return;
    /* The bias's gradient: the sum of G's rows, in row order, lane by
     * lane; each thread takes its own lanes (those of its columns of W
     * when the lanes split). */
    size_t c0, c1;
    if (sr_layer_lanes_split(ws, b, ld, nt))
        dense_lane_share(live_lanes(ws, ld), t, nt, &c0, &c1);
    else
        lane_share(ld, t, nt, &c0, &c1);
    float a[1024];
    sr_rule rb = sr_rule_no_decay(&p->rule);
    for (size_t a0 = c0; a0 < c1; a0 += 1024) {
        size_t len = c1 - a0 < 1024 ? c1 - a0 : 1024;
        memset(a, 0, len * sizeof *a);
        for (size_t i = 0; i < b->B; i++) {
            const float *g = G + i * ld + a0;
            for (size_t c = 0; c < len; c++)
                a[c] = a[c] + g[c];
        }
        sr_rule_apply_row(&rb, bias + a0, Vb ? Vb + a0 : NULL, a, len);
    }
}
