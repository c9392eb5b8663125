/* The MPI layer (dist.h). Without SR_MPI: one rank, nothing exchanged. */
#include <stdio.h>
#include <string.h>

#include "../core/internal.h"
#include "dist.h"

#ifdef SR_MPI
#include <mpi.h>
#endif

/* ---- The rank's share and the fold's arithmetic (both builds) ---- */

static void add_parts(float *sum, size_t len, const float *parts,
                      size_t stride, const double *dparts, size_t nparts,
                      double *dsum)
{
    for (size_t p = 0; p < nparts; p++) {
        const float *a = parts + p * stride;
        for (size_t i = 0; i < len; i++)
            sum[i] = sum[i] + a[i];
        *dsum += dparts[p];
    }
}

/* Rank r of N's share: [count r / N, count (r + 1) / N), without
 * overflow. */
static void share_of(size_t count, size_t r, size_t N, size_t *first,
                     size_t *last)
{
    *first = count / N * r + count % N * r / N;
    *last = count / N * (r + 1) + count % N * (r + 1) / N;
}

void sr_dist_share(size_t count, size_t *first, size_t *last)
{
    share_of(count, (size_t)sr_dist_rank(), (size_t)sr_dist_size(), first,
             last);
}

#ifndef SR_MPI

void sr_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
}

void sr_dist_finalize(void) {}
int sr_dist_rank(void) { return 0; }
int sr_dist_size(void) { return 1; }
int sr_dist_active(void) { return 0; }
int sr_dist_local_ranks(void) { return 1; }

void sr_dist_abort(int status, const char *message)
{
    (void)status;
    (void)message;
}

sr_status sr_dist_fold(float *sum, size_t len, const float *parts,
                       size_t stride, const double *dparts, size_t nparts,
                       double *dsum, sr_error *err)
{
    (void)err;
    add_parts(sum, len, parts, stride, dparts, nparts, dsum);
    return SR_OK;
}

sr_status sr_dist_gather(double *loss, uint64_t *wrong, size_t count,
                         size_t first, size_t last, sr_error *err)
{
    (void)loss;
    (void)wrong;
    (void)count;
    (void)first;
    (void)last;
    (void)err;
    return SR_OK;
}

uint64_t sr_dist_exscan(uint64_t v)
{
    (void)v;
    return 0;
}

void sr_dist_chain_take(const sr_dist_piece *pieces, size_t count)
{
    (void)pieces;
    (void)count;
}

void sr_dist_chain_give(const sr_dist_piece *pieces, size_t count)
{
    (void)pieces;
    (void)count;
}

void sr_dist_reduce_u64(uint64_t *buf, size_t count, int max)
{
    (void)buf;
    (void)count;
    (void)max;
}

void sr_dist_allgather_u64(const uint64_t *mine, size_t count, uint64_t *all)
{
    if (count)
        memcpy(all, mine, count * sizeof *all);
}

sr_status sr_dist_allgather_bytes(const void *mine, size_t len, uint8_t **all,
                                  uint64_t *lens, sr_error *err)
{
    uint8_t *a = sr_alloc(len ? len : 1);
    if (!a)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu bytes", len);
    if (len)
        memcpy(a, mine, len);
    *all = a;
    lens[0] = len;
    return SR_OK;
}

sr_status sr_dist_exchange(const void *out, const uint64_t *send, void *in,
                           const uint64_t *recv, size_t size, sr_error *err)
{
    (void)recv;
    (void)err;
    if (send[0])
        memcpy(in, out, (size_t)send[0] * size);
    return SR_OK;
}

sr_status sr_dist_bcast(void *buf, size_t bytes, sr_error *err)
{
    (void)buf;
    (void)bytes;
    (void)err;
    return SR_OK;
}

#else

/* MPI counts are ints: long buffers go in pieces of this many items. */
#define PIECE ((size_t)1 << 28)

/* The ranks sharing this machine, counted once when MPI starts (the one
 * piece of state of the layer; MPI's own is global too). */
static int local_ranks = 1;

static int started(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

void sr_dist_init(int *argc, char ***argv)
{
    if (started())
        return;
    int provided;
    /* Only the main thread calls MPI (the engine's threads never do). */
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    /* A failed call stops every rank (the default on MPI_COMM_WORLD; said
     * here because a hang is the alternative). */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0,
                            MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local_ranks);
        MPI_Comm_free(&node);
    }
}

int sr_dist_local_ranks(void) { return started() ? local_ranks : 1; }

void sr_dist_finalize(void)
{
    if (started())
        MPI_Finalize();
}

int sr_dist_rank(void)
{
    int r = 0;
    if (started())
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int sr_dist_size(void)
{
    int n = 1;
    if (started())
        MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

int sr_dist_active(void) { return started(); }

void sr_dist_abort(int status, const char *message)
{
    if (!started() || sr_dist_size() <= 1)
        return;
    fprintf(stderr, "softreg: rank %d of %d: %s; stopping every rank\n",
            sr_dist_rank(), sr_dist_size(), message);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
}

sr_status sr_dist_bcast(void *buf, size_t bytes, sr_error *err)
{
    (void)err;
    for (size_t i = 0; i < bytes; i += PIECE)
        MPI_Bcast((char *)buf + i, (int)(bytes - i < PIECE ? bytes - i : PIECE),
                  MPI_BYTE, 0, MPI_COMM_WORLD);
    return SR_OK;
}

/* The chain goes in segments of this many floats: rank r adds segment s
 * and passes it on while rank r - 1 works on segment s + 1, so that the
 * chain costs about one vector's transfer plus N - 1 segments', not N - 1
 * vectors'. Each float's additions stay those of the whole vector. */
#define SEGMENT ((size_t)1 << 16)

sr_status sr_dist_fold(float *sum, size_t len, const float *parts,
                       size_t stride, const double *dparts, size_t nparts,
                       double *dsum, sr_error *err)
{
    (void)err;
    int r = sr_dist_rank(), N = sr_dist_size();
    double ignored = 0.0;
    for (size_t i = 0; i < len; i += SEGMENT) {
        size_t n = len - i < SEGMENT ? len - i : SEGMENT;
        if (r > 0)
            MPI_Recv(sum + i, (int)n, MPI_FLOAT, r - 1, 1, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        /* (the doubles go along the chain after the floats) */
        add_parts(sum + i, n, parts + i, stride, dparts, nparts, &ignored);
        if (r + 1 < N)
            MPI_Send(sum + i, (int)n, MPI_FLOAT, r + 1, 1, MPI_COMM_WORLD);
    }
    /* the doubles along the same chain */
    if (r > 0)
        MPI_Recv(dsum, 1, MPI_DOUBLE, r - 1, 2, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    for (size_t p = 0; p < nparts; p++)
        *dsum += dparts[p];
    if (r + 1 < N)
        MPI_Send(dsum, 1, MPI_DOUBLE, r + 1, 2, MPI_COMM_WORLD);
    /* the last rank holds the whole fold */
    for (size_t i = 0; i < len; i += PIECE)
        MPI_Bcast(sum + i, (int)(len - i < PIECE ? len - i : PIECE), MPI_FLOAT,
                  N - 1, MPI_COMM_WORLD);
    MPI_Bcast(dsum, 1, MPI_DOUBLE, N - 1, MPI_COMM_WORLD);
    return SR_OK;
}

sr_status sr_dist_gather(double *loss, uint64_t *wrong, size_t count,
                         size_t first, size_t last, sr_error *err)
{
    int N = sr_dist_size();
    if (count > (size_t)1 << 30)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "%zu evaluation chunks are more than MPI gathers at "
                       "once", count);
    int *counts = sr_alloc_array((size_t)N, 2 * sizeof(int));
    if (!counts)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %d ranks", N);
    int *displs = counts + N;
    int mine = (int)(last - first);
    MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    for (int q = 0, at = 0; q < N; at += counts[q++])
        displs[q] = at;
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, loss, counts, displs,
                   MPI_DOUBLE, MPI_COMM_WORLD);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, wrong, counts, displs,
                   MPI_UINT64_T, MPI_COMM_WORLD);
    sr_dealloc(counts);
    return SR_OK;
}

uint64_t sr_dist_exscan(uint64_t v)
{
    uint64_t before = 0;
    MPI_Exscan(&v, &before, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    /* (MPI leaves rank 0's result undefined) */
    return sr_dist_rank() == 0 ? 0 : before;
}

void sr_dist_chain_take(const sr_dist_piece *pieces, size_t count)
{
    int r = sr_dist_rank();
    for (size_t p = 0; r > 0 && p < count; p++)
        for (size_t i = 0; i < pieces[p].bytes; i += PIECE) {
            size_t n = pieces[p].bytes - i;
            MPI_Recv((char *)pieces[p].at + i, (int)(n < PIECE ? n : PIECE),
                     MPI_BYTE, r - 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
}

/* Every piece goes on before any is broadcast: a rank still waiting for
 * its second piece must not find its sender already in the broadcast. */
void sr_dist_chain_give(const sr_dist_piece *pieces, size_t count)
{
    int r = sr_dist_rank(), N = sr_dist_size();
    for (size_t p = 0; r + 1 < N && p < count; p++)
        for (size_t i = 0; i < pieces[p].bytes; i += PIECE) {
            size_t n = pieces[p].bytes - i;
            MPI_Send((char *)pieces[p].at + i, (int)(n < PIECE ? n : PIECE),
                     MPI_BYTE, r + 1, 3, MPI_COMM_WORLD);
        }
    for (size_t p = 0; p < count; p++)
        for (size_t i = 0; i < pieces[p].bytes; i += PIECE) {
            size_t n = pieces[p].bytes - i;
            MPI_Bcast((char *)pieces[p].at + i, (int)(n < PIECE ? n : PIECE),
                      MPI_BYTE, N - 1, MPI_COMM_WORLD);
        }
}

void sr_dist_reduce_u64(uint64_t *buf, size_t count, int max)
{
    for (size_t i = 0; i < count; i += PIECE)
        MPI_Allreduce(MPI_IN_PLACE, buf + i,
                      (int)(count - i < PIECE ? count - i : PIECE),
                      MPI_UINT64_T, max ? MPI_MAX : MPI_SUM, MPI_COMM_WORLD);
}

void sr_dist_allgather_u64(const uint64_t *mine, size_t count, uint64_t *all)
{
    MPI_Allgather(mine, (int)count, MPI_UINT64_T, all, (int)count,
                  MPI_UINT64_T, MPI_COMM_WORLD);
}

/* Byte counts and displacements of items for MPI (ints): *fit 0 when
 * they do not fit. */
static int *byte_counts(const uint64_t *items, size_t size, int N)
{
    int *c = sr_alloc_array((size_t)N, 2 * sizeof *c);
    if (!c)
        return NULL;
    uint64_t at = 0;
    for (int q = 0; q < N; q++) {
        uint64_t b = items[q] * size;
        if (b > INT32_MAX || at > INT32_MAX) {
            sr_dealloc(c);
            return NULL;
        }
        c[q] = (int)b;
        c[N + q] = (int)at;
        at += b;
    }
    return c;
}

sr_status sr_dist_allgather_bytes(const void *mine, size_t len, uint8_t **all,
                                  uint64_t *lens, sr_error *err)
{
    int N = sr_dist_size();
    uint64_t l = len;
    sr_dist_allgather_u64(&l, 1, lens);
    uint64_t total = 0;
    for (int q = 0; q < N; q++)
        total += lens[q];
    int *c = byte_counts(lens, 1, N);
    uint8_t *a = c ? sr_alloc(total ? (size_t)total : 1) : NULL;
    if (!a) {
        sr_dealloc(c);
        return sr_fail(err, SR_ERR_TOO_BIG, "%llu bytes to gather are more "
                       "than MPI sends at once, or than memory holds",
                       (unsigned long long)total);
    }
    MPI_Allgatherv(mine, (int)len, MPI_BYTE, a, c, c + N, MPI_BYTE,
                   MPI_COMM_WORLD);
    sr_dealloc(c);
    *all = a;
    return SR_OK;
}

sr_status sr_dist_exchange(const void *out, const uint64_t *send, void *in,
                           const uint64_t *recv, size_t size, sr_error *err)
{
    int N = sr_dist_size();
    int *s = byte_counts(send, size, N), *r = byte_counts(recv, size, N);
    if (!s || !r) {
        sr_dealloc(s);
        sr_dealloc(r);
        return sr_fail(err, SR_ERR_TOO_BIG, "rows to move between processes "
                       "are more than MPI sends at once (2 GB)");
    }
    MPI_Alltoallv(out, s, s + N, MPI_BYTE, in, r, r + N, MPI_BYTE,
                  MPI_COMM_WORLD);
    sr_dealloc(s);
    sr_dealloc(r);
    return SR_OK;
}

#endif
