#include <math.h>
#include <string.h>
#include <time.h>

#include "engine.h"

#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() omp_get_thread_num()
#else
#define THREAD_ID() 0
#endif

/* Gradient rows per chunk: the chunk's gradient (rows x cols floats) should
 * stay in the core's L2 cache, and there should be a few chunks per thread
 * to share the work evenly. Chunking never changes the order of any sum. */
static size_t chunk_rows(size_t rows, size_t cols, size_t nthreads)
{
    size_t by_cache = 32768 / cols;
    size_t by_threads = (rows + nthreads - 1) / nthreads;
    size_t ch = by_cache < by_threads ? by_cache : by_threads;
    if (ch < 16)
        ch = 16;
    return ch < rows ? ch : rows;
}

/* ---- The barrier (engine.h) ---- */

static int barrier_init(sr_barrier *b)
{
    memset(b, 0, sizeof *b);
    if (pthread_mutex_init(&b->mu, NULL))
        return 0;
    if (pthread_cond_init(&b->cv, NULL)) {
        pthread_mutex_destroy(&b->mu);
        return 0;
    }
    b->ready = 1;
    return 1;
}

static void barrier_destroy(sr_barrier *b)
{
    if (!b->ready)
        return;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    b->ready = 0;
}

/* Waits for all b->threads threads. Everything a thread wrote before it
 * arrived is visible to every thread after it leaves. */
static void barrier_wait(sr_barrier *b)
{
    if (b->threads <= 1)
        return;
    unsigned round = __atomic_load_n(&b->round, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == b->threads) {
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        pthread_mutex_lock(&b->mu);
        __atomic_store_n(&b->round, round + 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        return;
    }
    /* Spin for a few microseconds: a partner that is running arrives
     * within that when the work is split evenly. */
    for (int i = 0; i < 2000; i++) {
        if (__atomic_load_n(&b->round, __ATOMIC_ACQUIRE) != round)
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    pthread_mutex_lock(&b->mu);
    while (__atomic_load_n(&b->round, __ATOMIC_ACQUIRE) == round)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* barrier_wait, adding the time waited to *waited when it is not NULL. */
static void barrier_wait_timed(sr_barrier *b, uint64_t *waited)
{
    if (!waited || b->threads <= 1) {
        barrier_wait(b);
        return;
    }
    uint64_t t0 = now_ns();
    barrier_wait(b);
    __atomic_add_fetch(waited, now_ns() - t0, __ATOMIC_RELAXED);
}

/* The team's size, set by its first thread before any waits. */
#define BARRIER_START(b, nt)                                                  \
    do {                                                                      \
        _Pragma("omp single")                                                 \
        (b)->threads = (unsigned)(nt);                                        \
    } while (0)

/* What one epoch covers and how it ended: it starts at row `start`
 * (a multiple of the batch); after a minibatch, when *interrupt is set,
 * it stops. Thread 0 alone reads *interrupt, and publishes the batch at
 * which it saw it before a barrier: every thread stops after the same
 * batch. */
typedef struct epoch_run {
    size_t start;
    const volatile int *interrupt;
    size_t stop_batch;   /* SIZE_MAX until an interrupt is seen (atomic) */
    size_t solo_from;    /* the batch from which thread 0 works alone */
    size_t end;          /* out: the row after the last batch done */
    double total;        /* out: the sum of the rows' losses */
    size_t bad_batch;    /* out: the batch whose loss was not finite */
    double bad_loss;
} epoch_run;

/* Thread 0, before a barrier of batch b: notes an interrupt. */
static void note_interrupt(epoch_run *run, size_t t, size_t b)
{
    if (t == 0 && run->interrupt && *run->interrupt &&
        __atomic_load_n(&run->stop_batch, __ATOMIC_RELAXED) == SIZE_MAX)
        __atomic_store_n(&run->stop_batch, b, __ATOMIC_RELAXED);
}

/* Every thread, after that barrier and batch b's work: stop here? */
static int stop_after(epoch_run *run, size_t b)
{
    return __atomic_load_n(&run->stop_batch, __ATOMIC_RELAXED) <= b;
}

static int thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* ---- Whether the team pays off ----
 * The first fast epoch times two windows of TEAM_PROBE minibatches, after
 * TEAM_WARM_UP minibatches (cold caches, a thread still waking): when in
 * both the threads waited at barriers for more than team_wait_share of
 * their time, they were not running side by side (a virtual machine whose
 * CPUs share one physical core, or another program holding a core), and
 * thread 0 carries on alone from the next minibatch, for the rest of the
 * run. One window and a share of 30% gave up the second thread too
 * eagerly on a busy shared machine: the network went on alone in most
 * runs, where keeping both threads was 1.5x faster. As the sums never
 * depend on how the work is split, neither do the bits. */
#define TEAM_WARM_UP 4
#define TEAM_PROBE 16
#define TEAM_WINDOWS 2

/* The share of the nt threads' time spent waiting above which one thread
 * would have done the work as fast: alone, it would take about the
 * threads' busy time, nt wall - waited, so the team pays while waited is
 * below (nt - 1) wall, a share of (nt - 1) / nt. */
static double team_wait_share(size_t nt)
{
    return (double)(nt - 1) / (double)nt;
}

typedef struct team {
    size_t t, nt;        /* this thread; threads working now */
    size_t nt0;          /* threads in the region */
    int probing;
    size_t window_at;    /* batch at which the next window starts */
    size_t windows;      /* windows started */
    int always_waited;   /* thread 0: every window judged mostly waited */
    uint64_t t0;
    uint64_t *waited;    /* this thread's counter, in a window */
} team;

/* Thread t's counter for window w: windows take turns between two sets,
 * so that a thread starting window w + 1 does not clear a count of window
 * w that thread 0 has yet to read. */
static uint64_t *waited_counter(sr_engine *e, size_t t, size_t w)
{
    return e->waited_ns + 8 * (2 * t + w % 2);
}

static void team_start(sr_engine *e, team *tm, const epoch_run *run,
                       size_t batch)
{
    tm->t = (size_t)THREAD_ID();
    tm->nt = tm->nt0 = (size_t)thread_count();
    tm->probing = tm->nt > 1 && !e->team_probed;
    tm->window_at = run->start / batch + TEAM_WARM_UP;
    tm->windows = 0;
    tm->always_waited = 1;
    tm->t0 = 0;
    tm->waited = NULL;
    BARRIER_START(&e->bar, tm->nt);
}

static void team_wait(sr_engine *e, team *tm)
{
    if (tm->nt > 1)
        barrier_wait_timed(&e->bar, tm->waited);
}

/* Every thread at the start of batch b (before its barriers): where a
 * window ends, thread 0 judges it, and after the last one decides. */
static void team_probe(sr_engine *e, team *tm, epoch_run *run, size_t b)
{
    if (!tm->probing || b != tm->window_at)
        return;
    if (tm->windows > 0 && tm->t == 0) {
        double wall = (double)(now_ns() - tm->t0) * (double)tm->nt;
        double waited = 0.0;
        for (size_t i = 0; i < tm->nt; i++)
            waited += (double)__atomic_load_n(
                waited_counter(e, i, tm->windows - 1), __ATOMIC_RELAXED);
        if (!(wall > 0.0 && waited > team_wait_share(tm->nt) * wall))
            tm->always_waited = 0;
    }
    if (tm->windows == TEAM_WINDOWS) {
        if (tm->t == 0) {
            e->team_probed = 1;
            e->threads_now = tm->always_waited ? 1 : tm->nt;
            if (tm->always_waited)
                __atomic_store_n(&run->solo_from, b + 1, __ATOMIC_RELAXED);
        }
        tm->probing = 0;
        tm->waited = NULL;
        return;
    }
    tm->waited = waited_counter(e, tm->t, tm->windows);
    __atomic_store_n(tm->waited, 0, __ATOMIC_RELAXED);
    tm->t0 = now_ns();
    tm->windows++;
    tm->window_at = b + TEAM_PROBE;
}

/* Every thread after batch b's work and barriers: 0 when it leaves the
 * loop (threads other than 0 once thread 0 works alone). */
static int team_continue(sr_engine *e, team *tm, const epoch_run *run,
                         size_t b)
{
    if (tm->nt > 1 && __atomic_load_n(&run->solo_from, __ATOMIC_RELAXED) <= b + 1) {
        /* everyone's updates of batch b are done before thread 0 goes on */
        barrier_wait(&e->bar);
        tm->nt = 1;
        return tm->t == 0;
    }
    return 1;
}

/* After the loop: threads that left early sleep here until thread 0 is
 * done, rather than spin in OpenMP's barrier beside it. */
static void team_end(sr_engine *e, team *tm)
{
    if (tm->nt0 > 1)
        barrier_wait(&e->bar);
}

/* ---- The fast paths' buffers ---- */

/* `bytes` zeroed bytes aligned to 64 (a cache line); *raw is what to free. */
static void *alloc64(size_t count, size_t size, void **raw)
{
    size_t bytes;
    *raw = NULL;
    if (sr_mul_overflows(count ? count : 1, size, &bytes) ||
        bytes > SIZE_MAX - 64)
        return NULL;
    unsigned char *p = sr_alloc_zeroed(bytes + 64, 1);
    if (!p)
        return NULL;
    *raw = p;
    return p + (64 - (uintptr_t)p % 64) % 64;
}

static void fast_release(sr_engine_fast *f)
{
    sr_dealloc(f->P_raw);
    sr_dealloc(f->G_raw);
    sr_dealloc(f->H_raw);
    sr_dealloc(f->G1_raw);
    sr_dealloc(f->loss);
    sr_dealloc(f->acc_raw);
    sr_dealloc(f->gsum_raw);
    sr_dealloc(f->h_raw);
    sr_dealloc(f->csc_row);
    sr_dealloc(f->csc_val);
    sr_dealloc(f->csc_col);
    sr_dealloc(f->csc_end);
    sr_dealloc(f->csc_boff);
    sr_dealloc(f->csc_coff);
    sr_dealloc(f->csc_ncols);
    sr_dealloc(f->csc_count);
    memset(f, 0, sizeof *f);
}

/* Which fast path the model can take, if any: classes fit one 16-float
 * row, and a row's entry counts (n) and a batch's rows fit 16 bits. */
static int fast_kind_of(const sr_model *m, size_t max_rows)
{
    if (m->k == 0 || m->k > 16 || m->bias || m->n == 0 || m->n > 65535 ||
        max_rows > 65536)
        return 0;
    if (m->kind == SR_MODEL_SOFTMAX && m->nblocks == 1 &&
        m->blocks[0].input == SR_INPUT_X)
        return SR_FAST_SOFTMAX;
    if (m->kind == SR_MODEL_NN && m->nblocks == 2 && m->d > 0 &&
        m->blocks[0].input == SR_INPUT_X &&
        m->blocks[1].input == SR_INPUT_HIDDEN)
        return SR_FAST_NN;
    return 0;
}

/* Buffers of the fast path; 0 when out of memory. */
static int fast_init(sr_engine *e, const sr_model *m)
{
    sr_engine_fast *f = &e->fast;
    memset(f, 0, sizeof *f);
    int kind = fast_kind_of(m, e->max_rows);
    if (!kind)
        return 1;
    size_t T = e->nthreads, R = e->max_rows, n = m->n;
    f->nslices = T;
    f->loss = sr_alloc_array(R, sizeof *f->loss);
    f->G = alloc64(R, 16 * sizeof *f->G, &f->G_raw);
    if (!f->loss || !f->G)
        return 0;
    if (kind == SR_FAST_SOFTMAX) {
        f->ld = 16;
        f->P = alloc64(n, 16 * sizeof(float), &f->P_raw);
        f->acc = alloc64(n, 16 * sizeof(float), &f->acc_raw);
        f->gsum = alloc64(n, 16 * sizeof(float), &f->gsum_raw);
        if (!f->P || !f->acc || !f->gsum)
            return 0;
    } else {
        size_t ld = SR_PAD16(m->d);
        f->ld = ld;
        /* W1 (n, ld), W2^T (16, ld), W2 (ld, 16) */
        size_t rows_p = n + 32;
        if (rows_p < n)
            return 0;
        f->P = alloc64(rows_p, ld * sizeof(float), &f->P_raw);
        f->H = alloc64(R, ld * sizeof(float), &f->H_raw);
        f->G1 = alloc64(R, ld * sizeof(float), &f->G1_raw);
        f->h = alloc64(T * SR_NN_EVAL_BLOCK, ld * sizeof(float), &f->h_raw);
        f->csc_count = sr_alloc_array(T, (n + 1) * sizeof *f->csc_count);
        if (!f->P || !f->H || !f->G1 || !f->h || !f->csc_count)
            return 0;
    }
    f->kind = kind;
    return 1;
}

/* The data set is listed pixels with labels, as wide as the model. */
static int fast_data(const sr_model *model, const sr_dataset *ds)
{
    return ds->layout == SR_FEATURES_U8_SPARSE && ds->y &&
           ds->n == model->n && ds->col16 && ds->val8;
}

/* The fast SGD epochs know only the plain step. */
static int fast_step(const sr_step *step)
{
    return step->l2 == 0.0 && step->momentum == 0.0;
}

int sr_engine_fast_path(const sr_model *model, const sr_dataset *ds,
                        size_t max_rows, const sr_step *step)
{
    return fast_kind_of(model, max_rows) && fast_data(model, ds) &&
           fast_step(step);
}

/* The fast path applies to this data set. */
static int fast_ok(const sr_engine *e, const sr_dataset *ds)
{
    return e->fast.kind && fast_data(e->model, ds);
}

/* Model parameters to the padded copies, and back. */
static void fast_load(sr_engine_fast *f, const sr_model *m)
{
    size_t n = m->n, k = m->k, ld = f->ld;
    const float *src = m->params + m->blocks[0].offset;
    if (f->kind == SR_FAST_SOFTMAX) {
        for (size_t j = 0; j < n; j++) {
            memcpy(f->P + j * 16, src + j * k, k * sizeof(float));
            memset(f->P + j * 16 + k, 0, (16 - k) * sizeof(float));
        }
        return;
    }
    size_t d = m->d;
    for (size_t j = 0; j < n; j++) {
        memcpy(f->P + j * ld, src + j * d, d * sizeof(float));
        memset(f->P + j * ld + d, 0, (ld - d) * sizeof(float));
    }
    float *W2T = f->P + n * ld, *W2p = W2T + 16 * ld;
    const float *W2 = m->params + m->blocks[1].offset;
    memset(W2T, 0, 32 * ld * sizeof(float));
    for (size_t a = 0; a < d; a++)
        for (size_t c = 0; c < k; c++)
            W2T[c * ld + a] = W2p[a * 16 + c] = W2[a * k + c];
}

static void fast_store(const sr_engine_fast *f, sr_model *m)
{
    size_t n = m->n, k = m->k, ld = f->ld;
    float *dst = m->params + m->blocks[0].offset;
    if (f->kind == SR_FAST_SOFTMAX) {
        for (size_t j = 0; j < n; j++)
            memcpy(dst + j * k, f->P + j * 16, k * sizeof(float));
        return;
    }
    size_t d = m->d;
    for (size_t j = 0; j < n; j++)
        memcpy(dst + j * d, f->P + j * ld, d * sizeof(float));
    const float *W2T = f->P + n * ld;
    float *W2 = m->params + m->blocks[1].offset;
    for (size_t a = 0; a < d; a++)
        for (size_t c = 0; c < k; c++)
            W2[a * k + c] = W2T[c * ld + a];
}

void sr_engine_release(sr_engine *e)
{
    if (e->scratch)
        for (size_t t = 0; t < e->nthreads; t++) {
            sr_dealloc(e->scratch[t].h);
            sr_dealloc(e->scratch[t].W2T);
        }
    sr_dealloc(e->scratch);
    sr_dealloc(e->Z);
    sr_dealloc(e->H);
    sr_dealloc(e->G1);
    sr_dealloc(e->row_loss);
    sr_dealloc(e->acc);
    sr_dealloc(e->tmp);
    sr_dealloc(e->chunks);
    sr_dealloc(e->velocity);
    sr_dealloc(e->eval_loss);
    sr_dealloc(e->eval_err);
    sr_dealloc(e->batch_rows);
    sr_dealloc(e->waited_ns);
    fast_release(&e->fast);
    barrier_destroy(&e->bar);
    memset(e, 0, sizeof *e);
}

sr_status sr_engine_init(sr_engine *e, const sr_model *model,
                         size_t max_rows, size_t max_eval_rows,
                         size_t nthreads, int momentum, sr_error *err)
{
    memset(e, 0, sizeof *e);
    e->model = model;
    e->K = sr_kernels();
    e->nthreads = nthreads ? nthreads : 1;
    e->max_rows = max_rows ? max_rows : 1;
    size_t k = model->k, d = model->d ? model->d : 1, T = e->nthreads;

    size_t nchunks = 0;
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        size_t ch = chunk_rows(blk->rows, blk->cols, T);
        nchunks += (blk->rows + ch - 1) / ch;
    }
    e->chunks = sr_alloc_array(nchunks, sizeof *e->chunks);
    if (e->chunks) {
        for (size_t b = 0; b < model->nblocks; b++) {
            const sr_param_block *blk = &model->blocks[b];
            size_t ch = chunk_rows(blk->rows, blk->cols, T);
            for (size_t j0 = 0; j0 < blk->rows; j0 += ch) {
                size_t j1 = j0 + ch < blk->rows ? j0 + ch : blk->rows;
                e->chunks[e->nchunks++] = (sr_chunk){b, j0, j1};
                size_t need = (j1 - j0) * SR_ACC_STRIDE(blk->cols);
                if (need > e->acc_size)
                    e->acc_size = need;
            }
        }
    }
    e->Z = sr_alloc_array(e->max_rows, k * sizeof(float));
    e->H = sr_alloc_array(e->max_rows, d * sizeof(float));
    e->G1 = sr_alloc_array(e->max_rows, d * sizeof(float));
    e->row_loss = sr_alloc_array(e->max_rows, sizeof(double));
    e->acc = sr_alloc_array(T, e->acc_size * sizeof(float));
    e->tmp = sr_alloc_array(T, 2 * k * sizeof(float));
    e->scratch = sr_alloc_zeroed(T, sizeof *e->scratch);
    e->eval_max_chunks = max_eval_rows / SR_EVAL_CHUNK + 1;
    e->eval_loss = sr_alloc_array(e->eval_max_chunks, sizeof(double));
    e->eval_err = sr_alloc_array(e->eval_max_chunks, sizeof(size_t));
    if (momentum)
        e->velocity = sr_alloc_zeroed(model->nparams, sizeof(float));
    e->batch_rows = sr_alloc_array(T, e->max_rows * sizeof *e->batch_rows);
    e->threads_now = T;
    e->waited_ns = sr_alloc_zeroed(T, 16 * sizeof *e->waited_ns);
    int ok = e->chunks && e->Z && e->H && e->G1 && e->row_loss && e->acc &&
             e->tmp && e->scratch && e->eval_loss && e->eval_err &&
             e->batch_rows && e->waited_ns && (!momentum || e->velocity) &&
             fast_init(e, model) && barrier_init(&e->bar);
    for (size_t t = 0; ok && t < T; t++) {
        e->scratch[t].h = sr_alloc_array(d, sizeof(float));
        e->scratch[t].W2T = sr_alloc_array(d, k * sizeof(float));
        ok = e->scratch[t].h && e->scratch[t].W2T;
    }
    if (!ok) {
        sr_engine_release(e);
        return sr_fail(err, SR_ERR_NOMEM,
                       "out of memory for the training buffers (%zu rows)",
                       max_rows);
    }
    return SR_OK;
}

/* Phase 1 for row i of the batch: outputs and their gradients. */
static void rows_phase(sr_engine *e, const sr_model *model,
                       const sr_dataset *ds, const size_t *rows, size_t B,
                       const sr_row_scratch *sc)
{
    size_t k = model->k, d = model->d;
    long long nb = (long long)B;
#pragma omp for schedule(static)
    for (long long i = 0; i < nb; i++) {
        sr_row x = sr_dataset_row(ds, rows[i]);
        float *z = e->Z + (size_t)i * k;
        float *h = e->H + (size_t)i * d;
        sr_model_row_forward(model, e->K, &x, z, h);
        e->row_loss[i] = sr_model_row_backward(model, e->K, ds, rows[i], z, h,
                                               e->G1 + (size_t)i * d, sc);
    }
}

/* Phase 2 for one chunk: its gradient summed over the batch's rows in
 * order, into acc. */
static void chunk_gradient(sr_engine *e, const sr_model *model,
                           const sr_dataset *ds, const size_t *rows, size_t B,
                           const sr_chunk *ch, float *acc)
{
    const sr_param_block *blk = &model->blocks[ch->block];
    size_t cols = blk->cols, d = model->d, lda = SR_ACC_STRIDE(cols);
    const float *G = blk->feeds_hidden ? e->G1 : e->Z;
    memset(acc, 0, (ch->j1 - ch->j0) * lda * sizeof *acc);
    for (size_t i = 0; i < B; i++) {
        const float *g = G + i * cols;
        if (blk->input == SR_INPUT_ONE) {
            e->K->axpy(acc, 1.0f, g, cols);
        } else if (blk->input == SR_INPUT_HIDDEN) {
            sr_row h = {d, NULL, NULL, NULL, e->H + i * d};
            e->K->row_outer_add(acc, lda, ch->j0, &h, ch->j0, ch->j1, g, cols);
        } else {
            sr_row x = sr_dataset_row(ds, rows[i]);
            size_t p0 = sr_row_lower_bound(&x, ch->j0);
            size_t p1 = sr_row_lower_bound(&x, ch->j1);
            e->K->row_outer_add(acc, lda, ch->j0, &x, p0, p1, g, cols);
        }
    }
}

static void apply_step(sr_engine *e, sr_model *model, const sr_chunk *ch,
                       const float *acc, size_t B, const sr_step *step)
{
    const sr_param_block *blk = &model->blocks[ch->block];
    size_t cols = blk->cols, lda = SR_ACC_STRIDE(cols);
    float l2 = blk->decayed ? (float)step->l2 : 0.0f;
    /* As the course computes it: lr / B in double, applied in float32. */
    float scale = (float)(step->lr / (double)B);
    float decay = (float)(step->lr * step->l2);
    float mu = (float)step->momentum, lr = (float)step->lr;
    float invB = (float)(1.0 / (double)B);
    for (size_t j = ch->j0; j < ch->j1; j++) {
        size_t off = blk->offset + j * cols;
        float *w = model->params + off;
        const float *a = acc + (j - ch->j0) * lda;
        if (e->velocity) {
            float *v = e->velocity + off;
            for (size_t c = 0; c < cols; c++) {
                v[c] = mu * v[c] + (a[c] * invB + l2 * w[c]);
                w[c] -= lr * v[c];
            }
        } else if (l2 > 0.0f) {
            for (size_t c = 0; c < cols; c++)
                w[c] -= scale * a[c] + decay * w[c];
        } else {
            for (size_t c = 0; c < cols; c++)
                w[c] -= scale * a[c];
        }
    }
}

/* The batch's row indices, into rows[0 .. B). */
static void batch_rows(size_t *rows, const size_t *order, size_t first,
                       size_t B)
{
    for (size_t i = 0; i < B; i++)
        rows[i] = order ? order[first + i] : first + i;
}

/* ---- Fast path: softmax regression ---- */

/* Rows [i0, i1) of B for thread t of nt. */
static void split(size_t B, size_t t, size_t nt, size_t *i0, size_t *i1)
{
    *i0 = B * t / nt;
    *i1 = B * (t + 1) / nt;
}

/* One thread runs softmax regression's minibatches: a minibatch is about
 * 30 microseconds of work, and splitting it across cores (rows for the
 * logits, features for the step) moved theta's and G's rows between the
 * cores' caches at every minibatch, which cost more than it saved (an
 * epoch took 32 ms on two cores, 18 ms on one). The evaluation, whose
 * rows are independent, uses every thread it is given; sr_train gives
 * the second core to the evaluation of the epoch before (train.c). */
static sr_status fast_softmax_epoch(sr_engine *e, sr_model *model,
                                    const sr_dataset *ds, const size_t *order,
                                    size_t batch, const sr_step *step,
                                    epoch_run *run)
{
    sr_engine_fast *f = &e->fast;
    const sr_kernel_table *K = e->K;
    size_t m = ds->m, k = model->k, n = model->n;
    size_t *rows = e->batch_rows;
    fast_load(f, model);
    for (size_t first = run->start; first < m; first += batch) {
        size_t B = m - first < batch ? m - first : batch, b = first / batch;
        batch_rows(rows, order, first, B);
        note_interrupt(run, 0, b);
        K->sm_rows_grad(f->G, f->loss, ds, rows, B, f->P, k);
        double loss = 0.0;
        for (size_t i = 0; i < B; i++)
            loss += f->loss[i];
        if (!isfinite(loss)) {
            run->bad_batch = b;
            run->bad_loss = loss;
            break;
        }
        float scale = (float)(step->lr / (double)B);
        K->sm_step(f->P, f->acc, 0, n, ds, rows, B, f->G, scale, NULL, 1, 0);
        run->total += loss;
        run->end = first + B;
        if (stop_after(run, b))
            break;
    }
    fast_store(f, model);
    return SR_OK;
}

/* ---- Fast path: the network ---- */

/* Hidden units [c0, c1) of slice s of S: whole 16-float groups, spread
 * evenly. */
static void hidden_slice(size_t ld, size_t s, size_t S, size_t *c0,
                         size_t *c1)
{
    size_t g = ld / 16;
    *c0 = g * s / S * 16;
    *c1 = g * (s + 1) / S * 16;
}

/* The transposes of every minibatch of the epoch (see sr_batch_csc). */
static sr_status build_csc(sr_engine *e, const sr_dataset *ds,
                           const size_t *order, size_t batch, sr_error *err)
{
    sr_engine_fast *f = &e->fast;
    size_t m = ds->m, n = ds->n, nb = (m + batch - 1) / batch;
    if (!order && f->csc_in_order && f->csc_ds == (const void *)ds &&
        f->csc_m == m && f->csc_batch == batch)
        return SR_OK;
    f->csc_ds = NULL;
    if (nb + 1 > f->csc_bcap) {
        sr_dealloc(f->csc_boff);
        sr_dealloc(f->csc_coff);
        sr_dealloc(f->csc_ncols);
        f->csc_boff = sr_alloc_array(nb + 1, sizeof *f->csc_boff);
        f->csc_coff = sr_alloc_array(nb + 1, sizeof *f->csc_coff);
        f->csc_ncols = sr_alloc_array(nb + 1, sizeof *f->csc_ncols);
        f->csc_bcap = nb + 1;
        if (!f->csc_boff || !f->csc_coff || !f->csc_ncols) {
            f->csc_bcap = 0;
            return sr_fail(err, SR_ERR_NOMEM,
                           "out of memory for %zu minibatches", nb);
        }
    }
    /* Entries and column lists of each batch start after the previous
     * batch's; a batch has at most min(n, its entries) columns. */
    size_t nnz = 0, ncol = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t first = b * batch, B = m - first < batch ? m - first : batch;
        size_t cnt = 0;
        if (!order)
            cnt = ds->row_ptr[first + B] - ds->row_ptr[first];
        else
            for (size_t i = 0; i < B; i++)
                cnt += ds->row_ptr[order[first + i] + 1] -
                       ds->row_ptr[order[first + i]];
        f->csc_boff[b] = nnz;
        f->csc_coff[b] = ncol;
        nnz += cnt;
        ncol += cnt < n ? cnt : n;
    }
    f->csc_boff[nb] = nnz;
    f->csc_coff[nb] = ncol;
    if (nnz > f->csc_cap) {
        sr_dealloc(f->csc_row);
        sr_dealloc(f->csc_val);
        f->csc_row = sr_alloc_array(nnz, sizeof *f->csc_row);
        f->csc_val = sr_alloc_array(nnz, sizeof *f->csc_val);
        f->csc_cap = nnz;
        if (!f->csc_row || !f->csc_val) {
            f->csc_cap = 0;
            return sr_fail(err, SR_ERR_NOMEM,
                           "out of memory for the minibatches' columns");
        }
    }
    if (ncol > f->csc_ccap) {
        sr_dealloc(f->csc_col);
        sr_dealloc(f->csc_end);
        f->csc_col = sr_alloc_array(ncol, sizeof *f->csc_col);
        f->csc_end = sr_alloc_array(ncol, sizeof *f->csc_end);
        f->csc_ccap = ncol;
        if (!f->csc_col || !f->csc_end) {
            f->csc_ccap = 0;
            return sr_fail(err, SR_ERR_NOMEM,
                           "out of memory for the minibatches' columns");
        }
    }
    long long nbl = (long long)nb;
#pragma omp parallel for schedule(dynamic, 4) num_threads((int)e->threads_now)
    for (long long bl = 0; bl < nbl; bl++) {
        size_t b = (size_t)bl, first = b * batch;
        size_t B = m - first < batch ? m - first : batch;
        uint32_t *cnt = f->csc_count + (size_t)THREAD_ID() * (n + 1);
        memset(cnt, 0, (n + 1) * sizeof *cnt);
        for (size_t i = 0; i < B; i++) {
            size_t r = order ? order[first + i] : first + i;
            for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++)
                cnt[ds->col16[p]]++;
        }
        /* Columns in order; cnt becomes each column's next free entry. */
        uint16_t *col = f->csc_col + f->csc_coff[b];
        uint32_t *end = f->csc_end + f->csc_coff[b];
        size_t q = 0;
        uint32_t at = 0;
        for (size_t j = 0; j < n; j++) {
            uint32_t c = cnt[j];
            cnt[j] = at;
            if (c) {
                at += c;
                col[q] = (uint16_t)j;
                end[q++] = at;
            }
        }
        f->csc_ncols[b] = q;
        uint16_t *erow = f->csc_row + f->csc_boff[b];
        uint8_t *eval = f->csc_val + f->csc_boff[b];
        for (size_t i = 0; i < B; i++) {
            size_t r = order ? order[first + i] : first + i;
            for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++) {
                uint32_t at2 = cnt[ds->col16[p]]++;
                erow[at2] = (uint16_t)i;
                eval[at2] = ds->val8[p];
            }
        }
    }
    f->csc_ds = ds;
    f->csc_m = m;
    f->csc_batch = batch;
    f->csc_in_order = order == NULL;
    return SR_OK;
}

static sr_status fast_nn_epoch(sr_engine *e, sr_model *model,
                               const sr_dataset *ds, const size_t *order,
                               size_t batch, const sr_step *step,
                               epoch_run *run, sr_error *err)
{
    sr_engine_fast *f = &e->fast;
    const sr_kernel_table *K = e->K;
    size_t m = ds->m, k = model->k, S = f->nslices, ld = f->ld;
    sr_status st = build_csc(e, ds, order, batch, err);
    if (st != SR_OK)
        return st;
    fast_load(f, model);
    float *W1 = f->P, *W2T = f->P + model->n * ld, *W2 = W2T + 16 * ld;
    size_t d = model->d;
#pragma omp parallel num_threads((int)e->threads_now)
    {
        team tm;
        team_start(e, &tm, run, batch);
        size_t t = tm.t;
        size_t *rows = e->batch_rows + t * e->max_rows;
        for (size_t first = run->start; first < m; first += batch) {
            size_t B = m - first < batch ? m - first : batch, i0, i1, c0, c1;
            size_t b = first / batch, nt = tm.nt;
            batch_rows(rows, order, first, B);
            note_interrupt(run, t, b);
            team_probe(e, &tm, run, b);
            sr_batch_csc X = {f->csc_ncols[b], f->csc_col + f->csc_coff[b],
                              f->csc_end + f->csc_coff[b],
                              f->csc_row + f->csc_boff[b],
                              f->csc_val + f->csc_boff[b]};
            /* Hidden units split: H = ReLU(X W1), each thread its slice
             * of W1, which stays in its core's cache. */
            for (size_t sl = t; sl < S; sl += nt) {
                hidden_slice(ld, sl, S, &c0, &c1);
                if (c1 > c0)
                    K->nn_hidden(f->H, ds, rows, B, W1, ld, c0, c1);
            }
            team_wait(e, &tm);
            /* Rows split: the logits, softmax and their gradient G2. */
            split(B, t, nt, &i0, &i1);
            if (i1 > i0)
                K->nn_output(f->G, f->loss, f->H, ld, d, W2, k, ds, rows, i0,
                             i1);
            team_wait(e, &tm);
            double loss = 0.0;
            for (size_t i = 0; i < B; i++)
                loss += f->loss[i];
            if (!isfinite(loss)) {
                if (t == 0) {
                    run->bad_batch = b;
                    run->bad_loss = loss;
                }
                break;
            }
            /* Hidden units split again: G1, the step of W2 and of W1. */
            float scale = (float)(step->lr / (double)B);
            for (size_t sl = t; sl < S; sl += nt) {
                hidden_slice(ld, sl, S, &c0, &c1);
                if (c1 > c0) {
                    K->nn_backward(f->G1, f->H, ld, f->G, B, W2T, W2, k, c0,
                                   c1, scale);
                    K->nn_w1_step(W1, ld, &X, f->G1, c0, c1, scale);
                }
            }
            if (t == 0) {
                run->total += loss;
                run->end = first + B;
            }
            if (stop_after(run, b) || !team_continue(e, &tm, run, b))
                break;
        }
        team_end(e, &tm);
    }
    fast_store(f, model);
    return SR_OK;
}

sr_status sr_engine_sgd_epoch_from(sr_engine *e, sr_model *model,
                                   const sr_dataset *ds, const size_t *order,
                                   size_t batch, const sr_step *step,
                                   size_t epoch, size_t start,
                                   const volatile int *interrupt, size_t *end,
                                   double *loss_sum, sr_error *err)
{
    size_t m = ds->m;
    if (batch > e->max_rows)
        batch = e->max_rows;
    if (batch == 0)
        batch = 1;
    size_t *all_rows = e->batch_rows;
    epoch_run run = {start, interrupt, SIZE_MAX, SIZE_MAX, start, 0.0,
                     SIZE_MAX, 0.0};
    long long nchunks = (long long)e->nchunks;
    if (fast_ok(e, ds) && fast_step(step) && model == e->model) {
        sr_status st = e->fast.kind == SR_FAST_SOFTMAX
                           ? fast_softmax_epoch(e, model, ds, order, batch,
                                                step, &run)
                           : fast_nn_epoch(e, model, ds, order, batch, step,
                                           &run, err);
        if (st != SR_OK)
            return st;
        goto done;
    }
#pragma omp parallel num_threads((int)e->nthreads)
    {
        int t = THREAD_ID();
        sr_row_scratch *sc = &e->scratch[t];
        float *acc = e->acc + (size_t)t * e->acc_size;
        size_t *rows = all_rows + (size_t)t * e->max_rows;
        for (size_t first = start; first < m; first += batch) {
            size_t B = m - first < batch ? m - first : batch;
            size_t b = first / batch;
            batch_rows(rows, order, first, B);
            sr_model_prepare(model, sc);
            note_interrupt(&run, (size_t)t, b);
            rows_phase(e, model, ds, rows, B, sc);
            /* Every thread adds the losses in the same order and so takes
             * the same decision, with no extra barrier. */
            double loss = 0.0;
            for (size_t i = 0; i < B; i++)
                loss += e->row_loss[i];
            if (!isfinite(loss)) {
                if (t == 0) {
                    run.bad_batch = b;
                    run.bad_loss = loss;
                }
                break;
            }
#pragma omp for schedule(static)
            for (long long c = 0; c < nchunks; c++) {
                chunk_gradient(e, model, ds, rows, B, &e->chunks[c], acc);
                apply_step(e, model, &e->chunks[c], acc, B, step);
            }
            if (t == 0) {
                run.total += loss;
                run.end = first + B;
            }
            if (stop_after(&run, b))
                break;
        }
    }
done:
    if (run.bad_batch != SIZE_MAX)
        return sr_fail(err, SR_ERR_DIVERGED,
                       "training diverged in epoch %zu, minibatch %zu: the "
                       "loss is %g; try a smaller learning rate than %g",
                       epoch, run.bad_batch, run.bad_loss, step->lr);
    if (end)
        *end = run.end;
    *loss_sum = run.total;
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

/* Softmax regression's full-batch gradient on the fast path: SGD's
 * kernels with a zeroed (n, 16) sum standing in for theta and a step of
 * scale -1, so that the sum gathers sum_i x_i^T G[i], block after block
 * of rows in order (-1 * a is exact: sum + a, as the sum itself). One
 * thread: as for SGD, the blocks are too small to share. */
static double fast_softmax_full_gradient(sr_engine *e, const sr_dataset *ds,
                                         float *grad)
{
    sr_engine_fast *f = &e->fast;
    const sr_model *model = e->model;
    const sr_kernel_table *K = e->K;
    size_t m = ds->m, n = model->n, k = model->k;
    size_t batch = e->max_rows < SR_EVAL_CHUNK ? e->max_rows : SR_EVAL_CHUNK;
    size_t *rows = e->batch_rows;
    fast_load(f, model);
    memset(f->gsum, 0, n * 16 * sizeof *f->gsum);
    double total = 0.0;
    for (size_t first = 0; first < m; first += batch) {
        size_t B = m - first < batch ? m - first : batch;
        batch_rows(rows, NULL, first, B);
        K->sm_rows_grad(f->G, f->loss, ds, rows, B, f->P, k);
        for (size_t i = 0; i < B; i++)
            total += f->loss[i];
        K->sm_step(f->gsum, f->acc, 0, n, ds, rows, B, f->G, -1.0f, NULL, 1,
                   0);
    }
    float *g = grad + model->blocks[0].offset;
    for (size_t j = 0; j < n; j++)
        memcpy(g + j * k, f->gsum + j * 16, k * sizeof *g);
    return total;
}

double sr_engine_full_gradient(sr_engine *e, const sr_dataset *ds,
                               float *grad)
{
    if (e->fast.kind == SR_FAST_SOFTMAX && fast_ok(e, ds))
        return fast_softmax_full_gradient(e, ds, grad);

    const sr_model *model = e->model;
    size_t m = ds->m, batch = e->max_rows;
    size_t rows[SR_EVAL_CHUNK];
    if (batch > SR_EVAL_CHUNK)
        batch = SR_EVAL_CHUNK;
    memset(grad, 0, model->nparams * sizeof *grad);
    double total = 0.0;
    long long nchunks = (long long)e->nchunks;
#pragma omp parallel num_threads((int)e->nthreads)
    {
        int t = THREAD_ID();
        sr_row_scratch *sc = &e->scratch[t];
        float *acc = e->acc + (size_t)t * e->acc_size;
        sr_model_prepare(model, sc);
        for (size_t first = 0; first < m; first += batch) {
            size_t B = m - first < batch ? m - first : batch;
#pragma omp single
            batch_rows(rows, NULL, first, B);
            rows_phase(e, model, ds, rows, B, sc);
#pragma omp for schedule(static)
            for (long long c = 0; c < nchunks; c++) {
                const sr_chunk *ch = &e->chunks[c];
                const sr_param_block *blk = &model->blocks[ch->block];
                size_t cols = blk->cols, lda = SR_ACC_STRIDE(cols);
                chunk_gradient(e, model, ds, rows, B, ch, acc);
                for (size_t j = ch->j0; j < ch->j1; j++) {
                    float *g = grad + blk->offset + j * cols;
                    const float *a = acc + (j - ch->j0) * lda;
                    for (size_t col = 0; col < cols; col++)
                        g[col] += a[col];
                }
            }
            if (t == 0)
                for (size_t i = 0; i < B; i++)
                    total += e->row_loss[i];
        }
    }
    return total;
}

void sr_engine_evaluate(sr_engine *e, const sr_dataset *ds, double *loss,
                        double *error_rate)
{
    const sr_model *model = e->model;
    size_t m = ds->m, k = model->k;
    size_t nchunks = (m + SR_EVAL_CHUNK - 1) / SR_EVAL_CHUNK;
    long long nc = (long long)nchunks;
    if (fast_ok(e, ds) && nchunks <= e->eval_max_chunks) {
        sr_engine_fast *f = &e->fast;
        const sr_kernel_table *K = e->K;
        size_t ld = f->ld;
        fast_load(f, model);
        /* Chunks taken in turn by whichever thread is free: a core busy
         * with another program does not hold the others back. Each
         * chunk's sums, and their sum in chunk order, do not depend on
         * which thread ran it. */
#pragma omp parallel for schedule(dynamic, 1) num_threads((int)e->threads_now)
        for (long long c = 0; c < nc; c++) {
            size_t first = (size_t)c * SR_EVAL_CHUNK;
            size_t last = first + SR_EVAL_CHUNK < m ? first + SR_EVAL_CHUNK : m;
            size_t wrong = 0;
            if (f->kind == SR_FAST_SOFTMAX)
                e->eval_loss[c] = K->sm_eval(&wrong, ds, first, last, f->P, k);
            else
                e->eval_loss[c] = K->nn_eval(
                    &wrong, ds, first, last, f->P, ld, model->d,
                    f->P + (model->n + 16) * ld, k,
                    f->h + (size_t)THREAD_ID() * SR_NN_EVAL_BLOCK * ld);
            e->eval_err[c] = wrong;
        }
        goto sum;
    }
#pragma omp parallel for schedule(static) num_threads((int)e->nthreads)
    for (long long c = 0; c < nc; c++) {
        int t = THREAD_ID();
        float *z = e->tmp + (size_t)t * 2 * k, *tmp = z + k;
        float *h = e->scratch[t].h;
        size_t first = (size_t)c * SR_EVAL_CHUNK;
        size_t last = first + SR_EVAL_CHUNK < m ? first + SR_EVAL_CHUNK : m;
        double sum = 0.0;
        size_t wrong = 0;
        for (size_t r = first; r < last; r++) {
            sr_row x = sr_dataset_row(ds, r);
            int w;
            sr_model_row_forward(model, e->K, &x, z, h);
            sum += sr_model_row_loss_err(model, e->K, ds, r, z, tmp, &w);
            wrong += (size_t)w;
        }
        e->eval_loss[c] = sum;
        e->eval_err[c] = wrong;
    }
sum:;
    double total = 0.0;
    size_t wrong = 0;
    for (size_t c = 0; c < nchunks; c++) {
        total += e->eval_loss[c];
        wrong += e->eval_err[c];
    }
    *loss = m ? total / (double)m : 0.0;
    *error_rate = m ? (double)wrong / (double)m : 0.0;
}
