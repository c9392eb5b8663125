/* The layer between the library and MPI (DESIGN.md: src/dist/): the
 * reductions that keep every process count's bits those of one process.
 * A build without MPI (no SR_MPI) has one rank and nothing to exchange;
 * the MPI build takes the same path for one rank as for many.
 *
 * The rule: work is cut into blocks whose boundaries the data fixes (never
 * the number of processes or threads); rank r takes a contiguous range of
 * them (sr_dist_share); each block's sum is computed from zero, and the
 * sums are folded in block order, ((0 + s_0) + s_1) + ..., the very
 * additions one process makes. No floating-point MPI_Allreduce: its order
 * is the library's. */
#ifndef SR_DIST_DIST_H
#define SR_DIST_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "softreg.h"

/* Whether full passes go through the blocks' sums of this layer (the MPI
 * build, MPI started, any number of ranks); 0 in a build without MPI,
 * where the engine folds each block into its sum as it goes (the same
 * additions). */
int sr_dist_active(void);

/* The processes of this job on this machine (1 without MPI): the
 * default thread count divides the cores among them. */
int sr_dist_local_ranks(void);

/* Rank r's share [*first, *last) of `count` blocks: contiguous, in rank
 * order, sizes differing by at most one; possibly empty. */
void sr_dist_share(size_t count, size_t *first, size_t *last);

/* The fold of every rank's blocks' sums in block order, on every rank:
 * sum (len floats) = ((0 + p_0) + p_1) + ... over the blocks of rank 0,
 * then rank 1's, ...: this rank's `nparts` sums are parts[i * stride ..],
 * its blocks' doubles dparts[i]; *dsum receives the doubles' fold.
 * Rank 0 starts from the sum and *dsum it passes in (its own blocks
 * already folded, from zero); the other ranks' are overwritten. The
 * ranks pass the running sum along a chain (rank
 * r - 1 to r), then the last broadcasts it: the additions are one
 * process's, whatever the count. */
sr_status sr_dist_fold(float *sum, size_t len, const float *parts,
                       size_t stride, const double *dparts, size_t nparts,
                       double *dsum, sr_error *err);

/* Every rank's values of its items, gathered on every rank: of `count`
 * items, loss[first .. last) and wrong[first .. last) are this rank's, the
 * rest filled in. The ranks' ranges follow each other in rank order and
 * cover [0, count). */
sr_status sr_dist_gather(double *loss, uint64_t *wrong, size_t count,
                         size_t first, size_t last, sr_error *err);

/* Integer collectives (exact, so any order gives the same result): the
 * sum of v over the ranks before this one; buf[0 .. count) summed (or,
 * with max, the largest) over the ranks, on every rank; every rank's
 * mine[0 .. count) into all[r * count ..] on every rank. */
uint64_t sr_dist_exscan(uint64_t v);

/* A state continued rank after rank: a running sum over rows that one
 * process adds in row order, or SGD's parameters passed on from the
 * minibatches of the ranks before. sr_dist_chain_take waits for the ranks
 * before this one and overwrites the pieces with their state (rank 0's
 * stay as they are); the rank works on it; sr_dist_chain_give passes it
 * on and leaves the last rank's, the whole chain's, in every rank's
 * pieces. Every rank passes the same pieces, in the same order. */
typedef struct sr_dist_piece {
    void *at;
    size_t bytes;
} sr_dist_piece;

void sr_dist_chain_take(const sr_dist_piece *pieces, size_t count);
void sr_dist_chain_give(const sr_dist_piece *pieces, size_t count);
void sr_dist_reduce_u64(uint64_t *buf, size_t count, int max);
void sr_dist_allgather_u64(const uint64_t *mine, size_t count,
                           uint64_t *all);

/* Every rank's `len` bytes, one after the other in rank order, into a new
 * *all (sr_dealloc) on every rank; lens[r] is rank r's length. */
sr_status sr_dist_allgather_bytes(const void *mine, size_t len, uint8_t **all,
                                  uint64_t *lens, sr_error *err);

/* Items of `size` bytes from this rank to every rank: send[q] of them
 * to rank q (in rank order from `out`), recv[q] from rank q (into `in`,
 * in rank order). */
sr_status sr_dist_exchange(const void *out, const uint64_t *send, void *in,
                           const uint64_t *recv, size_t size, sr_error *err);

/* buf (bytes) from rank 0 to every rank. */
sr_status sr_dist_bcast(void *buf, size_t bytes, sr_error *err);

#endif
