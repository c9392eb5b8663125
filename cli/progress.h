/* The progress bar of long work on stderr: shown only when stderr is a
 * terminal, never with --quiet or --json, and only once an epoch has run
 * for a while; the epoch's table row replaces it. */
#ifndef SR_CLI_PROGRESS_H
#define SR_CLI_PROGRESS_H

#include "softreg.h"

typedef struct progress_bar {
    int enabled;      /* stderr is a terminal and the output is not for scripts */
    double after;     /* seconds into an epoch before the bar shows */
    double last_draw; /* when it was last drawn (seconds into the epoch) */
    size_t epoch;     /* of the last drawing */
    int shown;        /* a bar is on stderr's line */
    double load_t0;   /* when the load being shown began (monotonic) */
} progress_bar;

/* `quiet` (--quiet or --json) disables the bar. The delay is 1 s, or
 * $SOFTREG_PROGRESS_AFTER seconds. */
void progress_init(progress_bar *bar, int quiet);

/* The progress callback of training and loads (user = the bar). */
void progress_update(const sr_progress *p, void *user);

/* Removes the bar from its line, before the table row is printed. */
void progress_clear(progress_bar *bar);

#endif
