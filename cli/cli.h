/* Shared by the command's subcommands. The command uses only softreg.h. */
#ifndef SR_CLI_H
#define SR_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "softreg.h"

/* Exit statuses: 0 success, 1 failure while working, 2 bad usage. */
enum { EXIT_USAGE = 2 };

/* Parse option values; on failure print "softreg: --opt: ..." and return 0. */
int cli_parse_size(const char *opt, const char *text, size_t min, size_t max,
                   size_t *out);
int cli_parse_double(const char *opt, const char *text, double min_exclusive,
                     double *out);
int cli_parse_u32(const char *opt, const char *text, uint32_t *out);

/* Prints "softreg: <message>" and, if hint is not NULL, "hint: <hint>". */
void cli_error(const sr_error *err, const char *hint);

int cmd_train(int argc, char **argv);
void help_train(void);

/* Using and inspecting model and data files (cli/eval.c, predict.c, info.c,
 * gradcheck.c, export.c). */
int cmd_eval(int argc, char **argv);
void help_eval(void);
int cmd_predict(int argc, char **argv);
void help_predict(void);
int cmd_info(int argc, char **argv);
void help_info(void);
int cmd_gradcheck(int argc, char **argv);
void help_gradcheck(void);
int cmd_export(int argc, char **argv);
void help_export(void);
/* The report page of a model on a data file (cli/report.c). */
int cmd_report(int argc, char **argv);
void help_report(void);

#endif
