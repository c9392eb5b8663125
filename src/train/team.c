/* The engine's thread team (team.h). */
#include <string.h>
#include <time.h>

#include "../core/internal.h"
#include "team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

uint64_t sr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sr_team_init(sr_team *tm, size_t nthreads)
{
    memset(tm, 0, sizeof *tm);
    tm->nthreads = tm->threads_now = nthreads ? nthreads : 1;
    tm->solo_from = SIZE_MAX;
    tm->waited_ns = sr_alloc_zeroed(tm->nthreads, 16 * sizeof *tm->waited_ns);
    if (!tm->waited_ns)
        return 0;
    if (pthread_mutex_init(&tm->mu, NULL)) {
        sr_dealloc(tm->waited_ns);
        return 0;
    }
    if (pthread_cond_init(&tm->cv, NULL)) {
        pthread_mutex_destroy(&tm->mu);
        sr_dealloc(tm->waited_ns);
        return 0;
    }
    tm->ready = 1;
    return 1;
}

void sr_team_destroy(sr_team *tm)
{
    if (tm->ready) {
        pthread_cond_destroy(&tm->cv);
        pthread_mutex_destroy(&tm->mu);
    }
    sr_dealloc(tm->waited_ns);
    memset(tm, 0, sizeof *tm);
}

static void barrier_wait(sr_team *b)
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

/* ---- Whether the team pays off ----
 * The first region times two windows of PROBE_BATCHES minibatches, after
 * WARM_UP minibatches (cold caches, a thread still waking): when in both
 * the threads waited at barriers for more than wait_share of their time,
 * they were not running side by side, and thread 0 carries on alone from
 * the next minibatch, for the rest of the run. One window, or a lower
 * share, gives up the second thread too eagerly on a busy shared machine,
 * where keeping it is faster. */
#define WARM_UP 4
#define PROBE_BATCHES 16
#define WINDOWS 2

/* The share of the nt threads' time spent waiting above which one thread
 * would have done the work as fast: alone, it would take about the
 * threads' busy time, nt wall - waited, so the team pays while waited is
 * below (nt - 1) wall, a share of (nt - 1) / nt. */
static double wait_share(size_t nt) { return (double)(nt - 1) / (double)nt; }

/* Thread t's counter for window w: windows take turns between two sets,
 * so that a thread starting window w + 1 does not clear a count of window
 * w that thread 0 has yet to read. */
static uint64_t *waited_counter(sr_team *tm, size_t t, size_t w)
{
    return tm->waited_ns + 8 * (2 * t + w % 2);
}

void sr_member_start(sr_team *tm, sr_member *me, size_t first_batch)
{
#ifdef _OPENMP
    me->t = (size_t)omp_get_thread_num();
    me->nt = me->nt0 = (size_t)omp_get_num_threads();
#else
    me->t = 0;
    me->nt = me->nt0 = 1;
#endif
    me->probing = me->nt > 1 && !tm->probed;
    me->window_at = first_batch + WARM_UP;
    me->windows = 0;
    me->always_waited = 1;
    me->t0 = 0;
    me->waited = NULL;
#pragma omp single
    {
        tm->threads = (unsigned)me->nt;
        tm->solo_from = SIZE_MAX;
    }
}

void sr_member_wait(sr_team *tm, sr_member *me)
{
    if (me->nt <= 1)
        return;
    if (!me->waited) {
        barrier_wait(tm);
        return;
    }
    uint64_t t0 = sr_now_ns();
    barrier_wait(tm);
    __atomic_add_fetch(me->waited, sr_now_ns() - t0, __ATOMIC_RELAXED);
}

void sr_member_probe(sr_team *tm, sr_member *me, size_t b)
{
    if (!me->probing || b != me->window_at)
        return;
    if (me->windows > 0 && me->t == 0) {
        double wall = (double)(sr_now_ns() - me->t0) * (double)me->nt;
        double waited = 0.0;
        for (size_t i = 0; i < me->nt; i++)
            waited += (double)__atomic_load_n(
                waited_counter(tm, i, me->windows - 1), __ATOMIC_RELAXED);
        if (!(wall > 0.0 && waited > wait_share(me->nt) * wall))
            me->always_waited = 0;
    }
    if (me->windows == WINDOWS) {
        if (me->t == 0) {
            tm->probed = 1;
            tm->threads_now = me->always_waited ? 1 : me->nt;
            if (me->always_waited)
                __atomic_store_n(&tm->solo_from, b + 1, __ATOMIC_RELAXED);
        }
        me->probing = 0;
        me->waited = NULL;
        return;
    }
    me->waited = waited_counter(tm, me->t, me->windows);
    __atomic_store_n(me->waited, 0, __ATOMIC_RELAXED);
    me->t0 = sr_now_ns();
    me->windows++;
    me->window_at = b + PROBE_BATCHES;
}

int sr_member_continue(sr_team *tm, sr_member *me, size_t b)
{
    if (me->nt > 1 &&
        __atomic_load_n(&tm->solo_from, __ATOMIC_RELAXED) <= b + 1) {
        /* everyone's updates of batch b are done before thread 0 goes on */
        barrier_wait(tm);
        me->nt = 1;
        return me->t == 0;
    }
    return 1;
}

void sr_member_end(sr_team *tm, sr_member *me)
{
    if (me->nt0 > 1)
        barrier_wait(tm);
}

size_t sr_thread_id(void)
{
#ifdef _OPENMP
    return (size_t)omp_get_thread_num();
#else
    return 0;
#endif
}
