/* Every allocation of the library passes through here. Built with
 * -DSR_FAULT_INJECTION (tests only), the N-th allocation can be made to fail,
 * so that tests walk every error path; the normal build has no such state. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) beside POSIX */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#ifdef SR_FAULT_INJECTION
#include <stdatomic.h>
/* Allocation number at which to fail (1-based), 0 = never. */
atomic_long sr_fault_fail_at;
atomic_long sr_fault_count;
/* Blocks handed out by sr_alloc and not yet given back to sr_dealloc, so
 * that tests can see a leak on an error path without a leak checker. */
atomic_long sr_fault_live;
static int should_fail(void)
{
    long at = atomic_load(&sr_fault_fail_at);
    return at > 0 && atomic_fetch_add(&sr_fault_count, 1) + 1 == at;
}
static void count_live(void *p, long delta)
{
    if (p)
        atomic_fetch_add(&sr_fault_live, delta);
}
#else
static int should_fail(void) { return 0; }
static void count_live(void *p, long delta) { (void)p; (void)delta; }
#endif

void *sr_alloc(size_t bytes)
{
    if (should_fail())
        return NULL;
    void *p = malloc(bytes ? bytes : 1);
    count_live(p, 1);
    return p;
}

void *sr_alloc_array(size_t count, size_t size)
{
    size_t bytes;
    if (sr_mul_overflows(count, size, &bytes))
        return NULL;
    return sr_alloc(bytes);
}

/* calloc: a big block comes from fresh pages the kernel has zeroed, so
 * pages never written (a model's weights of absent features) cost
 * nothing. */
void *sr_alloc_zeroed(size_t count, size_t size)
{
    size_t bytes;
    if (sr_mul_overflows(count, size, &bytes) || should_fail())
        return NULL;
    void *p = calloc(bytes ? bytes : 1, 1);
    count_live(p, 1);
    return p;
}

void sr_dealloc(void *p)
{
    count_live(p, -1);
    free(p);
}

void sr_hint_huge_pages(void *p, size_t bytes)
{
#if defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (p && hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* a hint only */
#else
    (void)p;
    (void)bytes;
#endif
}
