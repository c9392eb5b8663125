/* The report page (softreg train --report, softreg report) and its
 * figures as SVG files (--svg-dir). Only softreg.h is used. */
#ifndef SR_CLI_REPORT_H
#define SR_CLI_REPORT_H

#include <stddef.h>

#include "softreg.h"

/* Epoch rows as the training callback receives them. */
typedef struct report_history {
    sr_epoch_stats *rows;
    size_t count, cap;
} report_history;

/* Appends a row; returns 0 when out of memory. */
int report_history_add(report_history *h, const sr_epoch_stats *s);
void report_history_free(report_history *h);

typedef struct report_input {
    const sr_model *model;
    const sr_dataset *train; /* may be NULL (softreg report) */
    const char *train_name;
    const sr_dataset *eval;  /* the set the pictures describe */
    const char *eval_name;
    const report_history *history; /* may be NULL or empty */
    size_t kept_epoch;       /* early stopping's epoch, or SIZE_MAX */
    const char *stop_reason; /* may be NULL */
    const char *command;     /* the command line, may be NULL */
    double seconds;          /* training time, < 0 when unknown */
} report_input;

/* Writes the page to html_path (atomically) when it is not NULL, and each
 * figure as "<svg_dir>/<name>.svg" when svg_dir is not NULL. Prints what
 * went wrong and returns 0 on failure. */
int report_write(const report_input *in, const char *html_path,
                 const char *svg_dir);

/* Checks before any work that the page's and the figures' places can be
 * written (the directory of html_path exists; svg_dir is made); prints the
 * error naming the option and returns 0 if not. */
int report_check_outputs(const char *html_path, const char *svg_dir);

#endif
