/* The progress bar within an epoch: examples done, examples per second and
 * the time left, redrawn at most ten times a second on one line of stderr
 * ("\r" then the line, ESC [K clearing what a longer one left). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(progress_bar *bar, int quiet)
{
    bar->enabled = !quiet && isatty(STDERR_FILENO);
    bar->after = 1.0;
    const char *env = getenv("SOFTREG_PROGRESS_AFTER");
    if (env && *env) {
        char *end;
        errno = 0;
        double v = strtod(env, &end);
        if (!errno && !*end && v >= 0 && isfinite(v))
            bar->after = v;
    }
    bar->last_draw = -1;
    bar->epoch = 0;
    bar->shown = 0;
    bar->load_t0 = now();
}

#define BAR_WIDTH 30

void progress_update(const sr_progress *p, void *user)
{
    progress_bar *bar = user;
    double seconds = p->seconds;
    if (p->kind == SR_PROGRESS_LOAD) {
        /* a load keeps no clock: from its first call, at byte 0 */
        if (p->done == 0)
            bar->load_t0 = now();
        seconds = now() - bar->load_t0;
    }
    if (!bar->enabled || seconds < bar->after || !p->total)
        return;
    if (p->epoch == bar->epoch && bar->shown && seconds - bar->last_draw < 0.1)
        return;
    bar->epoch = p->epoch;
    bar->last_draw = seconds;
    double rate = seconds > 0 ? (double)p->done / seconds : 0;
    size_t filled = (size_t)((double)BAR_WIDTH * (double)p->done / (double)p->total);
    char line[BAR_WIDTH + 1];
    for (size_t i = 0; i < BAR_WIDTH; i++)
        line[i] = i < filled ? '#' : '.';
    line[BAR_WIDTH] = '\0';
    if (p->kind == SR_PROGRESS_LOAD)
        fprintf(stderr, "\rloading [%s] %.1f/%.1f MB, %.1f MB/s", line,
                (double)p->done / 1e6, (double)p->total / 1e6, rate / 1e6);
    else
        fprintf(stderr, "\repoch %zu [%s] %zu/%zu examples, %.0f examples/s",
                p->epoch, line, p->done, p->total, rate);
    if (rate > 0)
        fprintf(stderr, ", %.0f s left", (double)(p->total - p->done) / rate);
    fputs("\033[K", stderr);
    fflush(stderr);
    bar->shown = 1;
}

void progress_clear(progress_bar *bar)
{
    if (!bar->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    bar->shown = 0;
}
