/* Loading data files for the command's subcommands. */
#ifndef SR_CLI_DATA_H
#define SR_CLI_DATA_H

#include "softreg.h"

/* How to read a data file: the format and, for CSV, the label column, the
 * header and the delimiter. */
typedef struct cli_data {
    sr_format format;
    const char *label_col;
    sr_csv_header header;
    char delimiter;
    sr_progress_callback progress; /* of CSV and LIBSVM loads, or NULL */
    void *progress_user;
} cli_data;

cli_data cli_data_default(void);

/* A data path as given, or for "-" a temporary copy of standard input
 * (readers look at a file more than once: its format, then its rows).
 * Returns NULL after the message; cli_data_path_done removes the copy. */
typedef struct cli_path {
    char tmp[64];
} cli_path;
const char *cli_data_path(const char *path, cli_path *p);
void cli_data_path_done(cli_path *p);

/* Option values; on failure print "softreg: --opt: ..." and return 0. */
int cli_parse_format(const char *text, sr_format *out);
int cli_parse_delimiter(const char *text, char *out);

/* What a file must agree with: the classes (names, in order) and the
 * number of features of a training set or a model; zero/NULL = free. */
typedef struct cli_reference {
    const char *const *classes;
    size_t k;
    size_t features;
} cli_reference;

/* Loads `path` (with `labels` beside an .npy or IDX file); with a
 * `shard_unit` (not 0), this process's share of the rows in units of that
 * many (sr_dataset_load_shard). On failure prints the error (with a hint
 * where one helps) and returns 0. */
int cli_load_file(const char *path, const char *labels, const cli_data *d,
                  sr_task task, const cli_reference *ref, size_t shard_unit,
                  sr_dataset **out);

/* The class names of a data set or a model as a reference for another
 * file; *names must be freed with free(). Returns 0 when out of memory. */
int cli_reference_from_dataset(const sr_dataset *ds, cli_reference *ref,
                               const char ***names);
int cli_reference_from_model(const sr_model *model, cli_reference *ref,
                             const char ***names);

#endif
