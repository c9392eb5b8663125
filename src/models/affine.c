/* The ops the affine models share (affine.h): theta (n, k) and b (1, k)
 * padded to rows of ld floats; a pass is a forward phase over the rows
 * (outputs and the head's gradient, rows split across threads) and a
 * backward phase (the step, columns or features split). */
#include <string.h>

#include "affine.h"

void sr_affine_layout(sr_ws *ws)
{
    const sr_model *m = ws->model;
    size_t ld = sr_padded_width(m->k);
    ws->ldk = ld;
    ws->ldd = 0;
    ws->xblock = 0;
    ws->w2t_floats = 0;
    for (size_t b = 0; b < m->nblocks; b++) {
        ws->rows[b] = m->blocks[b].rows;
        ws->ld[b] = ld;
    }
    ws->scratch_size = SR_EVAL_BLOCK * ld;
}

/* Rows of k floats copied between the model's layout and the padded one,
 * on nthreads threads when there are many. The first load into a large
 * working copy faults its fresh pages in, which goes faster split. */
#define COPY_SPLIT (1u << 16)

static void copy_rows(float *dst, size_t ldd, const float *src, size_t lds,
                      size_t rows, size_t k, size_t nthreads)
{
    long long nr = (long long)rows;
    (void)nthreads; /* read by OpenMP's pragma alone */
#pragma omp parallel for schedule(static) \
    num_threads(rows * k >= COPY_SPLIT ? (int)nthreads : 1)
    for (long long j = 0; j < nr; j++)
        memcpy(dst + (size_t)j * ldd, src + (size_t)j * lds, k * sizeof(float));
}

void sr_affine_load(const sr_ws *ws, const float *params, sr_params *P)
{
    const sr_model *m = ws->model;
    for (size_t b = 0; b < m->nblocks; b++)
        copy_rows(P->W[b], ws->ldk, params + m->blocks[b].offset, m->k,
                  m->blocks[b].rows, m->k, ws->nthreads);
}

/* On one thread: a new model's pages were read while still untouched, so
 * the first store into each copies the kernel's shared zero page, and with
 * a second thread running every such copy interrupts it to flush its TLB:
 * split, the store is slower than alone. */
void sr_affine_store(const sr_ws *ws, const sr_params *P, float *params)
{
    const sr_model *m = ws->model;
    for (size_t b = 0; b < m->nblocks; b++)
        copy_rows(params + m->blocks[b].offset, m->k, P->W[b], ws->ldk,
                  m->blocks[b].rows, m->k, 1);
}

static const float *bias_of(const sr_ws *ws, const sr_params *P)
{
    return ws->model->bias ? P->W[1] : NULL;
}

/* Phase 0 the outputs, 1 the head's gradient (or curvature) row by row,
 * 2 the sums. Dense rows over many lanes split the lanes in phases 0 and
 * 2, so that each thread reads and moves only its own columns of W; else
 * a thread's rows take their outputs and their head in phase 0 alone. */
int sr_affine_phase(const sr_head *head, sr_ws *ws, const sr_pass *p,
                    unsigned phase, size_t t, size_t nt)
{
    const sr_batch *b = p->b;
    size_t ld = ws->ldk, k = ws->model->k;
    int lanes = sr_layer_lanes_split(ws, b, ld, nt);
    if (phase == 2) {
        float *Vw = p->vel ? p->vel->W[0] : NULL;
        float *Vb = p->vel && ws->model->bias ? p->vel->W[1] : NULL;
        sr_layer_backward(ws, p, p->out->W[0],
                          ws->model->bias ? p->out->W[1] : NULL, Vw, Vb,
                          ws->Z, ld, t, nt);
        return 1;
    }
    size_t i0, i1;
    sr_split(b->B, t, nt, &i0, &i1);
    if (phase == 0 && lanes) {
        sr_layer_forward_lanes(ws, ws->Z, b, t, nt, p->in->W[0],
                               bias_of(ws, p->in), ld);
        return 1;
    }
    if (phase == 0 && i1 > i0)
        sr_layer_forward(ws, ws->Z, b, i0, i1, p->in->W[0],
                         bias_of(ws, p->in), ld, 0);
    /* The head runs in phase 0 when the rows split, in phase 1 when the
     * lanes do; the other of the two has nothing left to do. */
    if ((phase == 0) == lanes)
        return lanes;
    if (i1 > i0) {
        if (p->mode == SR_PASS_HV)
            head->curv(ws->Z, p->probs, ld, k, i0, i1);
        else
            head->grad(sr_ws_kernels(ws, ld), ws->Z, ld, k, b, i0, i1,
                       ws->loss, p->probs);
        sr_weigh_rows(ws, ws->Z, ld, k,
                      p->mode == SR_PASS_HV ? NULL : ws->loss, b->y, i0, i1);
    }
    return 1;
}

/* Splitting a pass pays when its arithmetic is well above what moving the
 * batch's rows between two cores' caches costs. */
#define SPLIT_WORK (1u << 20)

int sr_affine_split_pays(const sr_ws *ws, size_t B, size_t entries)
{
    (void)B;
    return entries * ws->ldk >= SPLIT_WORK;
}

double sr_affine_eval(const sr_head *head, sr_ws *ws, const sr_params *P,
                      const sr_batch *b, size_t t, size_t *wrong,
                      float *scores)
{
    size_t ld = ws->ldk, k = ws->model->k;
    float *Z = ws->scratch + t * ws->scratch_size;
    sr_layer_forward(ws, Z, b, 0, b->B, P->W[0], bias_of(ws, P), ld, 0);
    if (scores) {
        for (size_t i = 0; i < b->B; i++)
            memcpy(scores + i * k, Z + i * ld, k * sizeof *scores);
        return 0.0;
    }
    return head->eval(sr_ws_kernels(ws, ld), Z, ld, k, b, b->B, wrong);
}
