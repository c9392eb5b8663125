/* softreg <subcommand> [options] */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: softreg <command> [options]\n"
            "\n"
            "Softmax regression and a two-layer ReLU network, as taught in CMU\n"
            "10-714 (Deep Learning Systems), in C.\n"
            "\n"
            "commands:\n"
            "  train     train a model on MNIST and print the course's table\n"
            "  help [C]  show this help, or the help of command C\n"
            "  version   print the version\n"
            "\n"
            "`softreg train` with no options is the course's train_softmax(epochs=10,\n"
            "lr=0.2, batch=100) on data/mnist (fetch it with scripts/fetch-mnist).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "train"))
        return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("softreg %s\n", sr_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2 && !strcmp(argv[2], "train"))
            help_train();
        else
            usage(stdout);
        return 0;
    }
    fprintf(stderr, "softreg: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
