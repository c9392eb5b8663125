/* Shared by the subcommands that use a model or describe a file: eval,
 * predict, info, gradcheck, export. Only softreg.h and the command's own
 * helpers are used. */
#ifndef SR_CLI_TOOLS_H
#define SR_CLI_TOOLS_H

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "data.h"

/* ---- Data options: --labels --format --label-col --header --no-header
 * --delimiter, the same for every subcommand that reads a data file. */

enum {
    OPT_DATA_LABELS = 1000,
    OPT_DATA_FORMAT,
    OPT_DATA_LABEL_COL,
    OPT_DATA_HEADER,
    OPT_DATA_NO_HEADER,
    OPT_DATA_DELIMITER,
    OPT_DATA_NO_LABELS,
    OPT_TOOL_FIRST /* subcommands number their own options from here */
};

#define TOOL_DATA_LONG_OPTIONS                                                \
    {"labels", required_argument, 0, OPT_DATA_LABELS},                        \
    {"format", required_argument, 0, OPT_DATA_FORMAT},                        \
    {"label-col", required_argument, 0, OPT_DATA_LABEL_COL},                  \
    {"header", no_argument, 0, OPT_DATA_HEADER},                              \
    {"no-header", no_argument, 0, OPT_DATA_NO_HEADER},                        \
    {"delimiter", required_argument, 0, OPT_DATA_DELIMITER},                  \
    {"no-labels", no_argument, 0, OPT_DATA_NO_LABELS}

typedef struct tool_data {
    cli_data d;
    const char *labels; /* --labels: y beside an .npy X, or IDX labels */
    int unlabelled;     /* --no-labels: every CSV column is a feature */
} tool_data;

tool_data tool_data_default(void);

/* Handles option `c` if it is a data option: returns 1 when handled, 0 after
 * printing a bad value, -1 when `c` is not a data option. */
int tool_data_option(int c, const char *arg, tool_data *td);

/* Prints the data options' help (the same paragraph for every subcommand). */
void tool_help_data(void);

/* The getopt_long error cases (':' and '?', with ':' first in the short
 * options): prints the message, with the nearest of `options` when an
 * unknown one looks like a misspelling of it. */
void tool_bad_option(int c, char **argv, const char *cmd,
                     const struct option *options);

/* Checks that exactly `want` operands remain; prints a usage error if not. */
int tool_operands(int argc, char **argv, int want, const char *usage);

/* ---- Files ---------------------------------------------------------- */

/* 1 if the file starts with the model file's magic bytes "\x89SRM". */
int tool_is_model_file(const char *path);

/* Loads a model file; on failure prints the error (and a hint) and
 * returns 0. */
int tool_load_model(const char *path, sr_model **out);

/* Loads a data file without a reference. */
int tool_load_data(const char *path, const tool_data *td, sr_task task,
                   sr_dataset **out);

/* Loads a data file for `model`: regression targets for linear regression,
 * classes numbered as the model numbers them when `classes` is set (a
 * model without class names has classes "0".."k-1"), and the model's
 * number of features (a file of another width is refused with both
 * numbers). Prints the error and returns 0 on failure. */
int tool_load_for_model(const char *path, const tool_data *td,
                        const char *model_path, const sr_model *model,
                        int classes, sr_dataset **out);

/* An output file written atomically: to "<path>.tmp.XXXXXX" in the same
 * directory, flushed, synced and renamed over `path` by tool_out_commit. An
 * existing file is replaced only by a complete new one, and never partly;
 * a symbolic link to a file stays a link (the file it names is replaced).
 * A path that exists and is not a regular file (/dev/stdout, a pipe) is
 * written directly. Initialise with TOOL_OUT_INIT. */
typedef struct tool_out {
    FILE *f;
    const char *path; /* as the user wrote it, for messages */
    char *target;     /* the file renamed over, or NULL when written directly */
    char *tmp;
} tool_out;

#define TOOL_OUT_INIT {NULL, NULL, NULL, NULL}

int tool_out_open(tool_out *o, const char *path);
/* Finishes the file; on failure prints the error, removes the temporary
 * file and returns 0. */
int tool_out_commit(tool_out *o);
/* Abandons the output: the temporary file is removed, `path` untouched. */
void tool_out_abort(tool_out *o);

/* The directory of `path` is created (with its parents) when missing and
 * must be writable, so that an output option (`opt`, for the message)
 * fails before the work, not after. Returns 0 after the message. */
int tool_check_output(const char *opt, const char *path);

/* Flushes stdout; on a write error (a full disk, a closed pipe) prints it
 * and returns 0. */
int tool_stdout_done(void);

/* ---- Printing --------------------------------------------------------- */

/* A CSV field, quoted when it holds a delimiter, quote, line break or
 * surrounding blanks. */
void tool_csv_field(FILE *f, const char *s);
/* A JSON string with its quotes. */
void tool_json_string(FILE *f, const char *s);
/* The name of class c of a model: its name, or its number. */
const char *tool_class_label(const sr_model *model, size_t c, char *buf,
                             size_t size);

#endif
