/* Choosing the kernel table once, from the CPU or SOFTREG_ARCH. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) && defined(SR_HAVE_X86_KERNELS)
extern const sr_kernel_table sr_kernels_avx2;
extern const sr_kernel_table sr_kernels_avx512;
#endif

const sr_kernel_table *sr_kernels_named(const char *name)
{
    if (!strcmp(name, "ref"))
        return &sr_kernels_ref;
#if defined(__x86_64__) && defined(SR_HAVE_X86_KERNELS)
    __builtin_cpu_init();
    if (!strcmp(name, "avx2") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return &sr_kernels_avx2;
    if (!strcmp(name, "avx512") && __builtin_cpu_supports("avx512f"))
        return &sr_kernels_avx512;
#endif
    return NULL;
}

static const sr_kernel_table *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *forced = getenv("SOFTREG_ARCH");
    if (forced && *forced) {
        chosen = sr_kernels_named(forced);
        /* An unknown or unsupported name falls back to the reference: a
         * forced choice must never run instructions the CPU lacks. */
        if (!chosen)
            chosen = &sr_kernels_ref;
        return;
    }
    const char *best[] = {"avx512", "avx2"};
    for (size_t i = 0; i < sizeof best / sizeof *best; i++)
        if ((chosen = sr_kernels_named(best[i])) != NULL)
            return;
    chosen = &sr_kernels_ref;
}

const sr_kernel_table *sr_kernels(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
