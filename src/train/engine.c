/* The training engine (engine.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../dist/dist.h"
#include "engine.h"

/* ---- The data as the kernels see it ---- */

static sr_xview view_of(const sr_dataset *ds)
{
    sr_xview X;
    memset(&X, 0, sizeof X);
    X.n = ds->n;
    switch (ds->layout) {
    case SR_FEATURES_U8_SPARSE:
        X.fmt = SR_X_U8S;
        X.ptr = ds->row_ptr;
        X.col16 = ds->col16;
        X.u8 = ds->val8;
        break;
    case SR_FEATURES_CSR:
        X.fmt = SR_X_CSR;
        X.ptr = ds->row_ptr;
        X.col32 = ds->col;
        X.f32 = ds->val;
        break;
    case SR_FEATURES_F32:
        X.fmt = SR_X_F32;
        X.f32 = ds->x_f32;
        break;
    case SR_FEATURES_U8:
        X.fmt = SR_X_U8;
        X.u8 = ds->x_u8;
        break;
    }
    return X;
}

/* 64-byte aligned, zeroed: the buffers the kernels read a vector at a time
 * (sr_alloc's blocks are 16-byte aligned). The pointer to free is stored
 * just before the block. */
static void *alloc64(size_t count, size_t size)
{
    size_t bytes;
    if (sr_mul_overflows(count ? count : 1, size ? size : 1, &bytes) ||
        bytes > SIZE_MAX - 128)
        return NULL;
    unsigned char *p = sr_alloc_zeroed(bytes + 128, 1);
    if (!p)
        return NULL;
    unsigned char *a = p + 64 + (64 - (uintptr_t)(p + 64) % 64) % 64;
    memcpy(a - sizeof p, &p, sizeof p);
    return a;
}

static void free64(void *a)
{
    if (!a)
        return;
    unsigned char *p;
    memcpy(&p, (unsigned char *)a - sizeof p, sizeof p);
    sr_dealloc(p);
}

void sr_engine_params_changed(sr_engine *e) { e->current = 0; }

void sr_engine_release(sr_engine *e)
{
    sr_params_free(&e->P);
    sr_params_free(&e->V);
    sr_params_free(&e->Gr);
    sr_dealloc(e->velocity);
    free64(e->probs);
    free64(e->kept);
    free64(e->ws.Z);
    free64(e->ws.H);
    free64(e->ws.G1);
    sr_dealloc(e->ws.loss);
    free64(e->ws.scratch);
    free64(e->Xd);
    free64(e->acc);
    free64(e->Xe);
    sr_dealloc(e->yb);
    sr_dealloc(e->tb);
    sr_dealloc(e->eval_loss);
    sr_dealloc(e->eval_err);
    sr_dealloc(e->done);
    free64(e->parts);
    sr_dealloc(e->part_loss);
    sr_dealloc(e->dist_loss);
    sr_dealloc(e->dist_wrong);
    sr_transposes_release(&e->T);
    sr_team_destroy(&e->team);
    memset(e, 0, sizeof *e);
}

sr_status sr_engine_init(sr_engine *e, const sr_model *model,
                         size_t max_rows, size_t max_eval_rows,
                         size_t nthreads, int momentum, sr_error *err)
{
    memset(e, 0, sizeof *e);
    e->model = model;
    e->ops = sr_model_ops_of(model->kind);
    e->K = sr_kernels();
    e->nthreads = nthreads ? nthreads : 1;
    e->max_rows = max_rows ? max_rows : 1;
    size_t T = e->nthreads, R = e->max_rows, n = model->n;
    sr_ws *ws = &e->ws;
    ws->model = model;
    ws->ops = e->ops;
    ws->K = e->K;
    ws->max_rows = R;
    ws->nthreads = T;
    e->ops->layout(ws);
    size_t ldk = ws->ldk, ldd = ws->ldd ? ws->ldd : 1;
    size_t tcols = model->kind == SR_MODEL_LINEAR ? model->k : 1;
    int ok = sr_team_init(&e->team, T);
    ok = ok && sr_params_alloc(ws, &e->P, err) == SR_OK;
    if (ok && momentum) {
        ok = sr_params_alloc(ws, &e->V, err) == SR_OK;
        e->velocity = sr_alloc_zeroed(model->nparams, sizeof *e->velocity);
        ok = ok && e->velocity;
    }
    e->eval_max_chunks = max_eval_rows / SR_EVAL_CHUNK + 1;
    ok = ok && (ws->Z = alloc64(R, ldk * sizeof(float))) &&
         (ws->loss = sr_alloc_array(R, sizeof(double))) &&
         (ws->scratch = alloc64(T, ws->scratch_size * sizeof(float))) &&
         (e->yb = sr_alloc_array(T, R * sizeof *e->yb)) &&
         (e->tb = sr_alloc_array(T, R * tcols * sizeof *e->tb)) &&
         (e->eval_loss = sr_alloc_array(e->eval_max_chunks, sizeof(double))) &&
         (e->eval_err = sr_alloc_array(e->eval_max_chunks, sizeof(size_t)));
    if (ok && ws->ldd)
        ok = (ws->H = alloc64(R, ldd * sizeof(float))) &&
             (ws->G1 = alloc64(R, ldd * sizeof(float)));
    if (!ok) {
        sr_engine_release(e);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for the training buffers (%zu rows of "
                       "%zu features)", max_rows, n);
    }
    return SR_OK;
}

/* The working parameters from the model's (and the velocities). */
static void load_params(sr_engine *e)
{
    if (e->current)
        return;
    e->ops->load(&e->ws, e->model->params, &e->P);
    if (e->velocity)
        e->ops->load(&e->ws, e->velocity, &e->V);
    e->current = 1;
}

static void store_params(sr_engine *e, sr_model *model)
{
    e->ops->store(&e->ws, &e->P, model->params);
    if (e->velocity)
        e->ops->store(&e->ws, &e->V, e->velocity);
}

/* ---- Dense rows as floats ---- */

/* Whether the kernels can read rows [first, first + B) in place. */
static int rows_in_place(const sr_xview *X, const size_t *rows)
{
    return X->fmt == SR_X_F32 && !rows;
}

/* Rows [i0, i1) of a block into out (rows of n floats): pixels converted,
 * floats copied. */
static void rows_to_float(const sr_kernel_table *K, const sr_xview *X,
                          const size_t *rows, size_t first, size_t i0,
                          size_t i1, float *out)
{
    size_t n = X->n;
    for (size_t i = i0; i < i1; i++) {
        size_t r = rows ? rows[i] : first + i;
        if (X->fmt == SR_X_U8)
            K->pixels_to_float(out + i * n, X->u8 + r * n, n);
        else
            memcpy(out + i * n, X->f32 + r * n, n * sizeof *out);
    }
}

/* ---- The step's strategy on sparse data ----
 * With few features, a minibatch's step scatters its rows into an
 * accumulator of all n rows of weights, then sweeps every row: no
 * transpose to build, and a sweep that costs no more than the scatter.
 * With many features (text), sweeping all n rows would cost far more than
 * the minibatch itself: the rows are transposed (in parallel, once per
 * epoch, or once per run when the order stays) so that the step visits
 * only the features present, lane by lane the same chain of multiply-adds
 * as the scatter. */

static int use_accumulator(const sr_engine *e, const sr_dataset *ds,
                           size_t batch)
{
    if (!e->ops->scatter_ok)
        return 0;
    /* a shard decides as every rank's rows together (the same sums) */
    uint64_t all[2] = {ds->m ? ds->row_ptr[ds->m] : 0, ds->m};
    if (ds->sharded)
        sr_dist_reduce_u64(all, 2, 0);
    size_t m = (size_t)all[1];
    size_t per_batch = m ? (size_t)all[0] / m * batch : 0;
    size_t ld = e->ws.ld[e->ws.xblock], bytes;
    return ds->n <= per_batch && !sr_mul_overflows(ds->n, ld * 4, &bytes) &&
           bytes <= ((size_t)64 << 20);
}

static sr_status need_accumulator(sr_engine *e, sr_error *err)
{
    if (e->acc)
        return SR_OK;
    size_t ld = e->ws.ld[e->ws.xblock];
    if (!(e->acc = alloc64(e->model->n, ld * sizeof(float))))
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for the step's %zu x %zu accumulator",
                       e->model->n, ld);
    return SR_OK;
}

/* Stored values in rows [first, first + B) of the order. */
static size_t entries_of(const sr_dataset *ds, const size_t *order,
                         size_t first, size_t B)
{
    if (ds->layout != SR_FEATURES_U8_SPARSE && ds->layout != SR_FEATURES_CSR)
        return B * ds->n;
    if (!order)
        return ds->row_ptr[first + B] - ds->row_ptr[first];
    size_t cnt = 0;
    for (size_t i = 0; i < B; i++)
        cnt += ds->row_ptr[order[first + i] + 1] - ds->row_ptr[order[first + i]];
    return cnt;
}

/* Thread t's description of rows [first, first + B) of the order: their
 * labels and targets gathered when out of order, their transpose. */
static void describe(sr_engine *e, const sr_dataset *ds, const sr_xview *X,
                     const size_t *order, size_t first, size_t B, size_t t,
                     sr_batch *bt)
{
    memset(bt, 0, sizeof *bt);
    bt->X = X;
    bt->B = B;
    bt->first = first;
    bt->rows = order ? order + first : NULL;
    if (ds->y) {
        if (order) {
            int32_t *y = e->yb + t * e->max_rows;
            for (size_t i = 0; i < B; i++)
                y[i] = ds->y[order[first + i]];
            bt->y = y;
        } else {
            bt->y = ds->y + first;
        }
    }
    if (ds->targets) {
        size_t tc = ds->t;
        bt->ldt = tc;
        if (order) {
            float *tt = e->tb + t * e->max_rows * tc;
            for (size_t i = 0; i < B; i++)
                memcpy(tt + i * tc, ds->targets + order[first + i] * tc,
                       tc * sizeof *tt);
            bt->t = tt;
        } else {
            bt->t = ds->targets + first * tc;
        }
    }
    if (!sr_xview_sparse(X)) {
        bt->ldx = X->n;
        bt->Xd = rows_in_place(X, bt->rows) ? X->f32 + first * X->n : e->Xd;
    }
}

/* Whether sparse passes over ds in blocks of `batch` scatter (else they
 * read transposes); what they need, allocated. */
static sr_status prepare_sparse(sr_engine *e, const sr_dataset *ds,
                                const size_t *order, size_t batch,
                                int *scatter, sr_error *err)
{
    *scatter = use_accumulator(e, ds, batch);
    if (!*scatter)
        return sr_transposes_build(&e->T, ds, order, batch, e->nthreads,
                                   e->team.threads_now, err);
    return need_accumulator(e, err);
}

/* A sequence of passes over the blocks of rows of ds (SGD's minibatches,
 * or a full gradient's blocks), run by every thread of a team or by one. */
typedef struct loop {
    sr_engine *e;
    const sr_dataset *ds;
    const sr_xview *X;
    const size_t *order;
    size_t batch, start;
    size_t last;             /* the row after the loop's last (0: m) */
    /* Distributed: block b's sum goes to its own zeroed part of `parts`
     * (part_floats each, from block b0), its loss to part_loss[b - b0],
     * rather than into `out` */
    float *parts;
    double *part_loss;
    size_t b0;
    sr_pass_mode mode;
    const sr_step *step;     /* SGD */
    const sr_params *in;
    sr_params *out;
    const sr_params *vel;
    int lazy;                /* SGD rows caught up lazily */
    /* The phases run, [ph0, ph1) (ph1 0: to the last); a two-phase pass's
     * halves keep or take the head's rows in `kept`. */
    unsigned ph0, ph1;
    float *kept;
    int scatter;             /* sparse: the step scatters (no transposes) */
    float *probs;            /* (m, ldk) probabilities to keep or use */
    uint64_t steps0;         /* SGD steps before the loop */
    const volatile int *interrupt;
    /* results, written by thread 0 */
    size_t stop_batch;       /* SIZE_MAX until an interrupt is seen (atomic) */
    size_t end;
    double total;
    size_t bad_batch;
    double bad_loss;
} loop;

/* The rows of the X block (theta, W1) that batch b names take the SGD steps
 * they missed (optim/sgd.h); this thread's share of its columns. */
static void catch_up_cols(loop *L, const sr_csc *T, uint64_t now, size_t t,
                          size_t nt)
{
    sr_engine *e = L->e;
    size_t xb = e->ws.xblock, ld = e->ws.ld[xb], q0, q1;
    float *W = e->P.W[xb], *V = L->vel ? L->vel->W[xb] : NULL;
    sr_split(T->ncols, t, nt, &q0, &q1);
    for (size_t q = q0; q < q1; q++) {
        size_t j = T->col[q];
        sr_sgd_catch_up(L->step, now - e->done[j], W + j * ld,
                        V ? V + j * ld : NULL, ld);
        e->done[j] = now + 1;
    }
}

/* Every row of the X block takes the steps it missed, up to `now`. */
static void catch_up_all(sr_engine *e, const sr_step *step, uint64_t now)
{
    size_t xb = e->ws.xblock, ld = e->ws.ld[xb];
    float *W = e->P.W[xb], *V = e->velocity ? e->V.W[xb] : NULL;
    long long rows = (long long)e->ws.rows[xb];
#pragma omp parallel for schedule(static) num_threads((int)e->team.threads_now)
    for (long long jj = 0; jj < rows; jj++) {
        size_t j = (size_t)jj;
        sr_sgd_catch_up(step, now - e->done[j], W + j * ld,
                        V ? V + j * ld : NULL, ld);
        e->done[j] = now;
    }
}

/* The view of `out` (Gr) whose blocks lie at the same places in `base`. */
static void part_of(const sr_params *out, float *base, sr_params *part)
{
    memset(part, 0, sizeof *part);
    for (size_t i = 0; i < SR_MAX_BLOCKS; i++)
        if (out->W[i])
            part->W[i] = base + (out->W[i] - out->W[0]);
    if (out->W2T)
        part->W2T = base + (out->W2T - out->W[0]);
}

static void run_loop(loop *L, sr_member *me)
{
    sr_engine *e = L->e;
    const sr_dataset *ds = L->ds;
    const sr_model_ops *ops = e->ops;
    sr_ws *ws = &e->ws;
    size_t m = L->last ? L->last : ds->m, batch = L->batch,
           b0 = L->start / batch;
    int dense_copy = !sr_xview_sparse(L->X) && !rows_in_place(L->X, L->order);
    for (size_t first = L->start; first < m; first += batch) {
        size_t B = m - first < batch ? m - first : batch, b = first / batch;
        if (me->t == 0 && L->interrupt && *L->interrupt &&
            __atomic_load_n(&L->stop_batch, __ATOMIC_RELAXED) == SIZE_MAX)
            __atomic_store_n(&L->stop_batch, b, __ATOMIC_RELAXED);
        if (me->t == 0 && L->mode == SR_PASS_SGD && e->progress)
            e->progress(e->progress_user, first);
        if (L->mode == SR_PASS_SGD)
            sr_member_probe(&e->team, me, b);
        sr_batch bt;
        sr_csc csc;
        describe(e, ds, L->X, L->order, first, B, me->t, &bt);
        if (sr_xview_sparse(L->X) && !L->scatter) {
            csc = sr_transposes_batch(&e->T, b);
            bt.T = &csc;
        }
        bt.acc = L->scatter ? e->acc : NULL;
        if (dense_copy) {
            size_t i0, i1;
            sr_split(B, me->t, me->nt, &i0, &i1);
            rows_to_float(e->K, L->X, bt.rows, first, i0, i1, e->Xd);
            sr_member_wait(&e->team, me);
        }
        uint64_t now = L->steps0 + (b - b0);
        if (L->lazy) {
            catch_up_cols(L, &csc, now, me->t, me->nt);
            sr_member_wait(&e->team, me);
        }
        sr_pass p;
        memset(&p, 0, sizeof p);
        p.mode = L->mode;
        p.b = &bt;
        p.in = L->in;
        p.out = L->out;
        p.vel = L->vel;
        sr_params part;
        if (L->parts) {
            part_of(L->out,
                    L->parts + (b - L->b0) * SR_PAD16(e->part_floats), &part);
            p.out = &part;
        }
        if (L->mode == SR_PASS_SGD) {
            p.rule = sr_sgd_rule(L->step, B);
        } else {
            p.rule.kind = SR_RULE_ADD;
            p.probs = L->probs ? L->probs + first * ws->ldk : NULL;
        }
        double loss = 0.0;
        int bad = 0;
        unsigned ph1 = L->ph1 ? L->ph1 : ops->nphases;
        size_t i0, i1, ldk = ws->ldk;
        sr_split(B, me->t, me->nt, &i0, &i1);
        if (L->kept && L->ph0 > 0) {
            memcpy(ws->Z + i0 * ldk, L->kept + (first + i0) * ldk,
                   (i1 - i0) * ldk * sizeof(float));
            sr_member_wait(&e->team, me);
        }
        for (unsigned ph = L->ph0; ph < ph1; ph++) {
            if (ops->phase(ws, &p, ph, me->t, me->nt))
                sr_member_wait(&e->team, me);
            if (ph != ops->loss_phase || L->mode == SR_PASS_HV)
                continue;
            /* Every thread adds the losses in the same order and so takes
             * the same decision. */
            for (size_t i = 0; i < B; i++)
                loss += ws->loss[i];
            if (!isfinite(loss) && L->mode == SR_PASS_SGD) {
                bad = 1;
                break;
            }
        }
        if (bad) {
            if (me->t == 0) {
                L->bad_batch = b;
                L->bad_loss = loss;
            }
            break;
        }
        if (L->kept && L->ph0 == 0) {
            /* every thread has summed the losses before the next block's
             * forward phase writes them again */
            memcpy(L->kept + (first + i0) * ldk, ws->Z + i0 * ldk,
                   (i1 - i0) * ldk * sizeof(float));
            sr_member_wait(&e->team, me);
        }
        if (me->t == 0) {
            if (L->part_loss)
                L->part_loss[b - L->b0] = loss;
            else
                L->total += loss;
            L->end = first + B;
        }
        if (__atomic_load_n(&L->stop_batch, __ATOMIC_RELAXED) <= b ||
            !sr_member_continue(&e->team, me, b))
            break;
    }
}

/* Runs the loop on the team, or on this thread alone when splitting its
 * passes does not pay. */
static void run(loop *L, int split)
{
    sr_engine *e = L->e;
    size_t nt = split ? e->team.threads_now : 1;
    if (nt <= 1) {
        sr_member me;
        memset(&me, 0, sizeof me);
        me.nt = me.nt0 = 1;
        run_loop(L, &me);
        return;
    }
#pragma omp parallel num_threads((int)nt)
    {
        sr_member me;
        sr_member_start(&e->team, &me, L->start / L->batch);
        run_loop(L, &me);
        sr_member_end(&e->team, &me);
    }
}

/* Whether a pass splits across the team: the model's judgement, unless
 * SOFTREG_SPLIT says "always" or "never" (for tests: every split must give
 * the bits of one thread). */
static int split_pays(const sr_engine *e, const sr_dataset *ds,
                      const size_t *order, size_t first, size_t B)
{
    const char *forced = getenv("SOFTREG_SPLIT");
    if (forced && !strcmp(forced, "always"))
        return 1;
    if (forced && !strcmp(forced, "never"))
        return 0;
    return e->ops->split_pays(&e->ws, B, entries_of(ds, order, first, B));
}

int sr_engine_sgd_serial(const sr_engine *e, const sr_dataset *ds,
                         size_t batch)
{
    size_t B = batch < ds->m ? batch : ds->m;
    return e->nthreads <= 1 || !split_pays(e, ds, NULL, 0, B);
}

/* Room for dense rows converted or gathered. */
static sr_status need_rows_as_float(sr_engine *e, const sr_xview *X,
                                    const size_t *order, sr_error *err)
{
    if (sr_xview_sparse(X) || rows_in_place(X, order) || e->Xd)
        return SR_OK;
    if (!(e->Xd = alloc64(e->max_rows, X->n * sizeof(float))))
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for %zu rows of %zu features as floats",
                       e->max_rows, X->n);
    return SR_OK;
}

sr_status sr_engine_set_lazy(sr_engine *e, uint64_t steps,
                             const uint64_t *done, size_t n, sr_error *err)
{
    size_t rows = e->ws.rows[e->ws.xblock];
    if (done && n != rows)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "lazy counters for %zu features, the model has %zu", n,
                       rows);
    if (done && !e->done &&
        !(e->done = sr_alloc_zeroed(rows, sizeof *e->done)))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for the lazy updates");
    e->steps = steps;
    if (e->done) {
        for (size_t j = 0; j < rows; j++)
            e->done[j] = done ? done[j] : steps;
    }
    return SR_OK;
}

sr_status sr_engine_sgd_epoch_from(sr_engine *e, sr_model *model,
                                   const sr_dataset *ds, const size_t *order,
                                   size_t batch, const sr_step *step,
                                   size_t epoch, size_t start,
                                   const volatile int *interrupt, size_t *end,
                                   double *loss_sum, sr_error *err)
{
    if (model != e->model || ds->n != model->n)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_engine_sgd_epoch: a model or data set the engine "
                       "was not made for");
    if (batch > e->max_rows)
        batch = e->max_rows;
    if (batch == 0)
        batch = 1;
    e->ws.K = e->K;
    sr_xview X = view_of(ds);
    int sparse = sr_xview_sparse(&X), scatter = 0;
    sr_status st = SR_OK;
    if (sparse)
        st = prepare_sparse(e, ds, order, batch, &scatter, err);
    if (st == SR_OK)
        st = need_rows_as_float(e, &X, order, err);
    /* The scatter's sweep moves every row at every step: no lag. */
    int lazy = sparse && !scatter && sr_sgd_moves_idle_rows(step);
    if (st == SR_OK && lazy && !e->done &&
        !(e->done = sr_alloc_zeroed(e->ws.rows[e->ws.xblock],
                                    sizeof *e->done)))
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory for the lazy updates");
    if (st != SR_OK)
        return st;
    load_params(e);
    /* A shard (several processes, SGD in the data's order): each rank
     * holds whole minibatches (cli/train.c's units), and the epoch runs
     * them in turn, rank after rank, the state passed along the chain
     * (dist.h): each minibatch is one process's, as its gradient's chain
     * over its rows must be for the course's bits, and the model goes to
     * the data, never the data to the model. `start` and `*end` count
     * every rank's rows. */
    int chain = ds->sharded && sr_dist_active();
    size_t row0 = chain ? ds->row0 : 0, M = sr_dataset_rows_all(ds);
    size_t first = start > row0 ? start - row0 : 0;
    if (first > ds->m)
        first = ds->m;
    struct {
        double total, bad_loss;
        uint64_t end, bad_batch;
    } state = {0.0, 0.0, start, UINT64_MAX};
    size_t floats = sr_params_floats(&e->ws);
    sr_dist_piece pieces[4] = {{&state, sizeof state},
                               {e->P.W[0], floats * sizeof(float)}};
    size_t npieces = 2;
    if (e->velocity)
        pieces[npieces++] = (sr_dist_piece){e->V.W[0], floats * sizeof(float)};
    if (lazy)
        pieces[npieces++] = (sr_dist_piece){
            e->done, e->ws.rows[e->ws.xblock] * sizeof *e->done};
    if (chain) {
        /* Agreed by every rank before the chain: whether a shard starts
         * inside a minibatch (units that are not whole minibatches: the
         * minibatches would not be one process's), and an interrupt seen
         * by any rank, which stops every rank here, between epochs,
         * where all agree. */
        uint64_t flags[2] = {ds->m > 0 && row0 % batch != 0,
                             interrupt && *interrupt};
        sr_dist_reduce_u64(flags, 2, 1);
        if (flags[0])
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "minibatch SGD over shared rows needs whole "
                           "minibatches on every process: load the shards "
                           "in units of lcm(batch, 256) rows (batch %zu)",
                           batch);
        uint64_t stop = flags[1];
        if (stop) {
            if (end)
                *end = start;
            *loss_sum = 0.0;
            return SR_OK;
        }
        sr_dist_chain_take(pieces, npieces);
    }
    loop L;
    memset(&L, 0, sizeof L);
    L.e = e;
    L.ds = ds;
    L.X = &X;
    L.order = order;
    L.batch = batch;
    L.start = first;
    L.mode = SR_PASS_SGD;
    L.step = step;
    L.in = &e->P;
    L.out = &e->P;
    L.vel = e->velocity ? &e->V : NULL;
    L.lazy = lazy;
    L.scatter = scatter;
    /* the steps of every minibatch before this rank's first */
    L.steps0 = e->steps + (row0 + first - start) / batch;
    /* (a chain stops between epochs only: every rank must pass it on) */
    L.interrupt = chain ? NULL : interrupt;
    L.stop_batch = SIZE_MAX;
    L.total = state.total;
    L.end = first;
    L.bad_batch = SIZE_MAX;
    size_t B0 = ds->m - first < batch ? ds->m - first : batch;
    if (first < ds->m && state.bad_batch == UINT64_MAX) {
        run(&L, split_pays(e, ds, order, first, B0));
        state.total = L.total;
        state.end = row0 + L.end;
        if (L.bad_batch != SIZE_MAX) {
            state.bad_batch = row0 / batch + L.bad_batch;
            state.bad_loss = L.bad_loss;
        }
    }
    if (chain)
        sr_dist_chain_give(pieces, npieces);
    if (state.end > start)
        e->steps += (state.end - start + batch - 1) / batch;
    /* A complete epoch ends with every row current; an interrupted one
     * keeps its lagging rows and their counters for the checkpoint, so
     * that the resumed run takes the very steps of an uninterrupted one. */
    if (lazy && state.end == M)
        catch_up_all(e, step, e->steps);
    store_params(e, model);
    if (state.bad_batch != UINT64_MAX)
        return sr_fail(err, SR_ERR_DIVERGED,
                       "training diverged in epoch %zu, minibatch %llu: the "
                       "loss is %g; try a smaller learning rate than %g",
                       epoch, (unsigned long long)state.bad_batch,
                       state.bad_loss, step->lr);
    if (end)
        *end = (size_t)state.end;
    *loss_sum = state.total;
    return SR_OK;
}

sr_status sr_engine_sgd_epoch(sr_engine *e, sr_model *model,
                              const sr_dataset *ds, const size_t *order,
                              size_t batch, const sr_step *step, size_t epoch,
                              double *loss_sum, sr_error *err)
{
    return sr_engine_sgd_epoch_from(e, model, ds, order, batch, step, epoch, 0,
                                    NULL, NULL, loss_sum, err);
}

/* ---- Full passes: gradients and Hessian-vector products ---- */

/* Whether full passes over ds keep the head's rows rather than a second
 * copy of the parameters: models whose sums need only the head's rows
 * (sums_from_head), on data of fewer rows than half the parameters' rows.
 * The sums run over the same blocks in the same order either way. */
static int two_phase(const sr_engine *e, const sr_dataset *ds)
{
    /* SOFTREG_TWO_PHASE=never: for tests (both ways give the same bits) */
    const char *forced = getenv("SOFTREG_TWO_PHASE");
    if ((forced && !strcmp(forced, "never")) || sr_dist_active())
        return 0;
    return e->ops->sums_from_head && 2 * ds->m < e->ws.rows[e->ws.xblock];
}

/* *buf, holding *rows rows of the outputs' padded width, grown to m. */
static sr_status rows_of_outputs(const sr_engine *e, float **buf,
                                 size_t *rows, size_t m, const char *what,
                                 sr_error *err)
{
    if (*rows >= m)
        return SR_OK;
    free64(*buf);
    *rows = 0;
    if (!(*buf = alloc64(m, e->ws.ldk * sizeof(float))))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu rows of %s",
                       m, what);
    *rows = m;
    return SR_OK;
}

/* This rank's share of a full pass's blocks over ds: of all of them when
 * every rank holds every row; a shard's own (whole blocks, in rank order:
 * its rows start at a multiple of the block size). */
static void my_blocks(const sr_engine *e, const sr_dataset *ds, size_t *b0,
                      size_t *b1)
{
    size_t count = (ds->m + e->max_rows - 1) / e->max_rows;
    if (ds->sharded) {
        *b0 = 0;
        *b1 = count;
        return;
    }
    sr_dist_share(count, b0, b1);
}

/* Room for this rank's blocks' sums (distributed full passes); rank 0
 * needs none: it adds its blocks into Gr as one process does. */
static sr_status need_parts(sr_engine *e, const sr_dataset *ds, sr_error *err)
{
    size_t b0, b1, floats = sr_params_floats(&e->ws);
    my_blocks(e, ds, &b0, &b1);
    size_t count = b1 - b0 ? b1 - b0 : 1;
    e->part_floats = floats;
    if (sr_dist_rank() == 0 || (e->parts && e->parts_cap >= count))
        return SR_OK;
    free64(e->parts);
    sr_dealloc(e->part_loss);
    e->part_loss = NULL;
    e->parts_cap = 0;
    /* each part 64-byte aligned, as Gr's blocks */
    if (!(e->parts = alloc64(count, SR_PAD16(floats) * sizeof(float))) ||
        !(e->part_loss = sr_alloc_array(count, sizeof(double))))
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for the sums of %zu blocks of %zu "
                       "parameters", count, floats);
    e->parts_cap = count;
    return SR_OK;
}

sr_status sr_engine_prepare_full(sr_engine *e, const sr_dataset *ds,
                                 int keep_probs, sr_error *err)
{
    if (ds->n != e->model->n)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "a data set of %zu features for a model of %zu",
                       ds->n, e->model->n);
    sr_xview X = view_of(ds);
    sr_status st = SR_OK;
    int scatter;
    if (sr_xview_sparse(&X))
        st = prepare_sparse(e, ds, NULL, e->max_rows, &scatter, err);
    if (st == SR_OK)
        st = need_rows_as_float(e, &X, NULL, err);
    if (st == SR_OK && two_phase(e, ds))
        st = rows_of_outputs(e, &e->kept, &e->kept_rows, ds->m, "outputs",
                             err);
    else if (st == SR_OK && !e->Gr.raw)
        st = sr_params_alloc(&e->ws, &e->Gr, err);
    if (st == SR_OK && keep_probs)
        st = rows_of_outputs(e, &e->probs, &e->probs_rows, ds->m,
                             "probabilities", err);
    if (st == SR_OK && sr_dist_active())
        st = need_parts(e, ds, err);
    return st;
}

/* A pass over all of ds's rows, in blocks of max_rows, from the working
 * parameters P: the sum goes to *sum, Gr or (two_phase) P itself. */
static sr_status full_pass(sr_engine *e, const sr_dataset *ds,
                           sr_pass_mode mode, float *probs, double *loss,
                           const sr_params **sum, sr_error *err)
{
    sr_status st = sr_engine_prepare_full(e, ds, probs != NULL, err);
    if (st != SR_OK)
        return st;
    e->ws.K = e->K;
    sr_xview X = view_of(ds);
    size_t batch = e->max_rows;
    int scatter = sr_xview_sparse(&X) && use_accumulator(e, ds, batch);
    int two = two_phase(e, ds);
    loop L;
    memset(&L, 0, sizeof L);
    L.e = e;
    L.ds = ds;
    L.X = &X;
    L.batch = batch;
    L.mode = mode;
    L.in = &e->P;
    L.probs = probs;
    L.scatter = scatter;
    L.stop_batch = SIZE_MAX;
    L.bad_batch = SIZE_MAX;
    size_t B0 = ds->m < batch ? ds->m : batch;
    int split = split_pays(e, ds, NULL, 0, B0);
    if (two) {
        L.ph1 = e->ops->loss_phase + 1;
        L.kept = e->kept;
        run(&L, split);
        if (loss)
            *loss = L.total;
        sr_params_zero(&e->ws, &e->P);
        e->current = 0;
        L.ph0 = e->ops->loss_phase + 1;
        L.ph1 = 0;
        L.out = &e->P;
        L.total = 0.0;
        run(&L, split);
        *sum = &e->P;
        return SR_OK;
    }
    L.out = &e->Gr;
    *sum = &e->Gr;
    sr_params_zero(&e->ws, &e->Gr);
    if (!sr_dist_active()) {
        run(&L, split);
        if (loss)
            *loss = L.total;
        return SR_OK;
    }
    /* Distributed: this rank's share of the blocks. Rank 0 adds its own
     * into Gr as above; every other rank sums each of its blocks from zero
     * apart, to be added in block order once the running sum of the ranks
     * before it arrives: the additions of one process. */
    size_t b0, b1, stride = SR_PAD16(e->part_floats);
    my_blocks(e, ds, &b0, &b1);
    size_t nparts = sr_dist_rank() == 0 ? 0 : b1 - b0;
    if (nparts) {
        memset(e->parts, 0, nparts * stride * sizeof(float));
        L.parts = e->parts;
        L.part_loss = e->part_loss;
        L.b0 = b0;
    }
    L.start = b0 * batch;
    L.last = b1 * batch < ds->m ? b1 * batch : ds->m;
    if (b1 > b0)
        run(&L, split);
    double total = L.total;
    st = sr_dist_fold(e->Gr.W[0], e->part_floats, e->parts, stride,
                      e->part_loss, nparts, &total, err);
    if (loss)
        *loss = total;
    return st;
}

sr_status sr_engine_full_gradient(sr_engine *e, const sr_dataset *ds,
                                  const float *at, float *grad, double *loss,
                                  int keep_probs, sr_error *err)
{
    sr_status st = sr_engine_prepare_full(e, ds, keep_probs, err);
    if (st != SR_OK)
        return st;
    if (at) {
        e->ops->load(&e->ws, at, &e->P);
        e->current = 0; /* P is not the model's parameters */
    } else {
        e->current = 0;
        load_params(e);
    }
    const sr_params *sum = NULL;
    st = full_pass(e, ds, SR_PASS_GRAD, keep_probs ? e->probs : NULL, loss,
                   &sum, err);
    if (st == SR_OK)
        e->ops->store(&e->ws, sum, grad);
    return st;
}

sr_status sr_engine_hess_vec(sr_engine *e, const sr_dataset *ds,
                             const float *v, float *hv, sr_error *err)
{
    if (!e->ops->has_hv)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "the %s model has no Hessian-vector product (its loss "
                       "is not convex)", sr_model_kind_name(e->model->kind));
    if ((!e->probs && ds->m) || e->probs_rows < ds->m)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_engine_hess_vec: no gradient with probabilities "
                       "kept on these data");
    /* The product needs the kept probabilities, not the parameters: v
     * takes the working parameters' place. */
    e->ops->load(&e->ws, v, &e->P);
    e->current = 0;
    const sr_params *sum = NULL;
    sr_status st = full_pass(e, ds, SR_PASS_HV, e->probs, NULL, &sum, err);
    if (st == SR_OK)
        e->ops->store(&e->ws, sum, hv);
    return st;
}

/* ---- Evaluation and prediction ---- */

/* Rows [first, first + B) (B <= SR_EVAL_BLOCK) as a batch for thread t. */
static void eval_batch(sr_engine *e, const sr_dataset *ds, const sr_xview *X,
                       size_t first, size_t B, size_t t, sr_batch *bt)
{
    memset(bt, 0, sizeof *bt);
    bt->X = X;
    bt->first = first;
    bt->B = B;
    bt->y = ds->y ? ds->y + first : NULL;
    if (ds->targets) {
        bt->t = ds->targets + first * ds->t;
        bt->ldt = ds->t;
    }
    if (!sr_xview_sparse(X)) {
        bt->ldx = X->n;
        if (rows_in_place(X, NULL)) {
            bt->Xd = X->f32 + first * X->n;
        } else {
            float *xe = e->Xe + t * SR_EVAL_BLOCK * X->n;
            rows_to_float(e->K, X, NULL, first, 0, B, xe);
            bt->Xd = xe;
        }
    }
}

/* Chunks of SR_EVAL_CHUNK rows taken in turn by whichever thread is free
 * (a core busy with another program does not hold the others back); each
 * chunk in blocks of SR_EVAL_BLOCK. With `scores`, the outputs; else the
 * chunks' losses and errors into e->eval_loss and eval_err. */
static void eval_chunks(sr_engine *e, const sr_dataset *ds, float *scores)
{
    sr_xview X = view_of(ds);
    size_t m = ds->m, k = e->model->k;
    long long nc = (long long)((m + SR_EVAL_CHUNK - 1) / SR_EVAL_CHUNK);
#pragma omp parallel for schedule(dynamic, 1) num_threads((int)e->team.threads_now)
    for (long long c = 0; c < nc; c++) {
        size_t t = sr_thread_id();
        size_t first = (size_t)c * SR_EVAL_CHUNK;
        size_t last = first + SR_EVAL_CHUNK < m ? first + SR_EVAL_CHUNK : m;
        double sum = 0.0;
        size_t wrong = 0;
        for (size_t r = first; r < last; r += SR_EVAL_BLOCK) {
            size_t B = last - r < SR_EVAL_BLOCK ? last - r : SR_EVAL_BLOCK;
            sr_batch bt;
            eval_batch(e, ds, &X, r, B, t, &bt);
            sum += e->ops->eval(&e->ws, &e->P, &bt, t, &wrong,
                                scores ? scores + r * k : NULL);
        }
        if (!scores) {
            e->eval_loss[c] = sum;
            e->eval_err[c] = wrong;
        }
    }
}

sr_status sr_engine_prepare_eval(sr_engine *e, const sr_dataset *ds,
                                 sr_error *err)
{
    if (ds->layout != SR_FEATURES_U8 || e->Xe)
        return SR_OK;
    if (!(e->Xe = alloc64(e->nthreads, SR_EVAL_BLOCK * ds->n * sizeof(float))))
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for %zu rows of %zu pixels as floats",
                       e->nthreads * SR_EVAL_BLOCK, ds->n);
    return SR_OK;
}

/* Room for every chunk's sums of ds (distributed evaluation). */
static int need_dist_chunks(sr_engine *e, size_t nchunks)
{
    if (e->dist_loss && e->dist_chunks >= nchunks)
        return 1;
    sr_dealloc(e->dist_loss);
    sr_dealloc(e->dist_wrong);
    e->dist_chunks = 0;
    e->dist_loss = sr_alloc_array(nchunks ? nchunks : 1, sizeof(double));
    e->dist_wrong = sr_alloc_array(nchunks ? nchunks : 1, sizeof(uint64_t));
    if (!e->dist_loss || !e->dist_wrong)
        return 0;
    e->dist_chunks = nchunks;
    return 1;
}

void sr_engine_evaluate(sr_engine *e, const sr_dataset *ds, double *loss,
                        double *error_rate)
{
    size_t m = ds->m, M = sr_dataset_rows_all(ds);
    size_t nchunks = (M + SR_EVAL_CHUNK - 1) / SR_EVAL_CHUNK;
    /* Distributed, this rank evaluates its share of the chunks (a shard's
     * own: chunk `base` is its row 0), and every rank adds every chunk's
     * sums in chunk order. */
    int dist = sr_dist_active();
    size_t first = 0, last = nchunks, base = 0;
    if (dist && ds->sharded) {
        first = base = ds->row0 / SR_EVAL_CHUNK;
        last = first + (m + SR_EVAL_CHUNK - 1) / SR_EVAL_CHUNK;
    } else if (dist) {
        sr_dist_share(nchunks, &first, &last);
    }
    if (sr_engine_prepare_eval(e, ds, NULL) != SR_OK ||
        (dist && !need_dist_chunks(e, nchunks))) {
        *loss = *error_rate = NAN;
        return;
    }
    e->ws.K = e->K;
    load_params(e);
    double total = 0.0;
    size_t wrong = 0;
    /* The chunk sums are added in chunk order; the arrays hold
     * eval_max_chunks at a time. */
    for (size_t c0 = first; c0 < last; c0 += e->eval_max_chunks) {
        size_t c1 = last - c0 < e->eval_max_chunks ? last
                                                   : c0 + e->eval_max_chunks;
        sr_dataset part = *ds;
        size_t r0 = (c0 - base) * SR_EVAL_CHUNK;
        size_t r1 = (c1 - base) * SR_EVAL_CHUNK < m ? (c1 - base) * SR_EVAL_CHUNK
                                                    : m;
        /* a view of rows [r0, r1): the same arrays, shifted */
        part.m = r1 - r0;
        if (r0) {
            if (ds->y)
                part.y = ds->y + r0;
            if (ds->targets)
                part.targets = ds->targets + r0 * ds->t;
            if (ds->row_ptr)
                part.row_ptr = ds->row_ptr + r0;
            if (ds->x_f32)
                part.x_f32 = ds->x_f32 + r0 * ds->n;
            if (ds->x_u8)
                part.x_u8 = ds->x_u8 + r0 * ds->n;
        }
        eval_chunks(e, &part, NULL);
        for (size_t c = 0; c < c1 - c0; c++) {
            if (dist) {
                e->dist_loss[c0 + c] = e->eval_loss[c];
                e->dist_wrong[c0 + c] = e->eval_err[c];
                continue;
            }
            total += e->eval_loss[c];
            wrong += e->eval_err[c];
        }
    }
    if (dist) {
        if (sr_dist_gather(e->dist_loss, e->dist_wrong, nchunks, first,
                           last, NULL) != SR_OK) {
            *loss = *error_rate = NAN;
            return;
        }
        for (size_t c = 0; c < nchunks; c++) {
            total += e->dist_loss[c];
            wrong += (size_t)e->dist_wrong[c];
        }
    }
    *loss = M ? total / (double)M : 0.0;
    *error_rate = M ? (double)wrong / (double)M : 0.0;
}

void sr_engine_scores(sr_engine *e, const sr_dataset *ds, float *out)
{
    e->ws.K = e->K;
    /* (sr_engine_prepare_eval is the caller's: the scores have no NaN to
     * say it failed) */
    load_params(e);
    eval_chunks(e, ds, out);
}
