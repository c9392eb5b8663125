/* The threads of one parallel region of the engine: a barrier that spins
 * only briefly before sleeping, and the measure of whether the team pays.
 * Each thread of an OpenMP region keeps an sr_member; the sr_team is
 * shared. Nothing here changes a bit of any result: the work's sums never
 * depend on how it is split. */
#ifndef SR_TRAIN_TEAM_H
#define SR_TRAIN_TEAM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sr_team {
    /* the barrier (OpenMP's own may spin for milliseconds, which costs a
     * whole time slice at each of a pass's barriers whenever another
     * program holds a core) */
    unsigned count, round, threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
    /* Threads that pay off: the region's count until the first region has
     * timed a few minibatches; 1 when the threads mostly waited for each
     * other (a machine that shows more CPUs than it gives, or a busy one). */
    size_t threads_now;
    int probed;
    size_t solo_from;   /* the batch from which thread 0 works alone */
    uint64_t *waited_ns; /* per thread, two windows, one cache line each */
    size_t nthreads;
} sr_team;

typedef struct sr_member {
    size_t t, nt;        /* this thread; threads working now */
    size_t nt0;          /* threads in the region */
    int probing;
    size_t window_at;    /* batch at which the next window starts */
    size_t windows;      /* windows started */
    int always_waited;   /* thread 0: every window judged mostly waited */
    uint64_t t0;
    uint64_t *waited;    /* this thread's counter in a window */
} sr_member;

/* 0 when out of resources. */
int sr_team_init(sr_team *tm, size_t nthreads);
void sr_team_destroy(sr_team *tm);

/* Every thread of a region, first: the region works on batches from
 * `first_batch`. */
void sr_member_start(sr_team *tm, sr_member *me, size_t first_batch);
/* The barrier: everything a thread wrote before it is visible to every
 * thread after it. */
void sr_member_wait(sr_team *tm, sr_member *me);
/* Every thread at the start of batch b, before its barriers. */
void sr_member_probe(sr_team *tm, sr_member *me, size_t b);
/* Every thread after batch b's work and barriers: 0 when it leaves the
 * loop (threads other than 0 once thread 0 works alone). */
int sr_member_continue(sr_team *tm, sr_member *me, size_t b);
/* After the loop: threads that left early sleep here until thread 0 is
 * done, rather than spin in OpenMP's barrier beside it. */
void sr_member_end(sr_team *tm, sr_member *me);

uint64_t sr_now_ns(void);

/* The calling thread's number in its OpenMP team (0 without OpenMP). */
size_t sr_thread_id(void);

#endif
