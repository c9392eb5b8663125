/* softreg <subcommand> [options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*help)(void);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, help_train,
     "train a model and print the loss and error after every epoch"},
    {"eval", cmd_eval, help_eval,
     "a model's loss, error rate and confusion matrix on a data file"},
    {"predict", cmd_predict, help_predict,
     "one CSV line per example: class, probabilities or scores"},
    {"info", cmd_info, help_info, "describe a data file or a model file"},
    {"gradcheck", cmd_gradcheck, help_gradcheck,
     "compare the analytic gradient with central differences"},
    {"export", cmd_export, help_export,
     "write a model's parameters as .npy files or a C header"},
    {"report", cmd_report, help_report,
     "a self-contained HTML page of a model's pictures on a data file"},
};

#define COMMAND_COUNT (sizeof commands / sizeof *commands)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: softreg <command> [options]\n"
            "\n"
            "Softmax regression and its family (linear and logistic regression, a\n"
            "two-layer ReLU network), as taught in CMU 10-714 (Deep Learning\n"
            "Systems), in C.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "  %-10s %s\n"
            "  %-10s %s\n"
            "\n"
            "`softreg help C` or `softreg C --help` explains every option of C;\n"
            "`man softreg` says it all on one page. Results go to stdout, errors\n"
            "to stderr; the exit status is 0 on success, 1 on failure, 2 on bad\n"
            "usage.\n"
            "\n"
            "`softreg train` with no options is the course's train_softmax(epochs=10,\n"
            "lr=0.2, batch=100) on data/mnist (fetch it with scripts/fetch-mnist).\n",
            "help [C]", "show this help, or the help of command C", "version",
            "print the version");
}

static const command *find(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(name, commands[i].name))
            return &commands[i];
    return NULL;
}

/* OpenMP's threads, once a parallel region ends, spin for milliseconds
 * waiting for the next one (libgomp's default), taking a core from the
 * thread that goes on alone, or from another program, on a shared
 * machine: training ran up to twice as long so. Sleeping at once is the
 * "passive" policy, which libgomp reads from the environment when it is
 * loaded, before main: so the command sets it and starts itself again,
 * once, unless the user chose a policy. */
static void passive_openmp(char **argv)
{
#if defined(_OPENMP) && defined(__linux__)
    if (getenv("OMP_WAIT_POLICY"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 0) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* no /proc: go on with the default policy */
#else
    (void)argv;
#endif
}

int main(int argc, char **argv)
{
    passive_openmp(argv);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    const command *c = find(cmd);
    if (c) {
        /* Under mpirun (a build with MPI=1), every process runs the
         * command; one that fails stops them all, never leaving the
         * others waiting for it. */
        sr_dist_init(&argc, &argv);
        /* rank 0 alone prints results */
        if (sr_dist_rank() > 0 && !freopen("/dev/null", "w", stdout))
            sr_dist_abort(1, "cannot redirect its output to /dev/null");
        int status = c->run(argc - 1, argv + 1);
        if (status != 0) {
            char why[64];
            snprintf(why, sizeof why, "the command failed (status %d)",
                     status);
            sr_dist_abort(status, why);
        }
        sr_dist_finalize();
        return status;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("softreg %s\n", sr_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2) {
            if (!strcmp(argv[2], "help") || !strcmp(argv[2], "version")) {
                usage(stdout);
                return 0;
            }
            if (!(c = find(argv[2]))) {
                fprintf(stderr, "softreg: help: unknown command \"%s\"\n", argv[2]);
                usage(stderr);
                return EXIT_USAGE;
            }
            c->help();
        } else {
            usage(stdout);
        }
        return 0;
    }
    fprintf(stderr, "softreg: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
