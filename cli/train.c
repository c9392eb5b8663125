/* softreg train: the course's training runs and their table. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

void help_train(void)
{
    printf(
        "usage: softreg train [options]\n"
        "\n"
        "Trains on MNIST-style IDX data and prints, after every epoch, the loss\n"
        "and error on the whole training set and on the test set, in the layout\n"
        "of CMU 10-714 homework 0. With no options it is the course's\n"
        "train_softmax(epochs=10, lr=0.2, batch=100).\n"
        "\n"
        "model:\n"
        "  --model softmax|nn   softmax regression (default) or the two-layer\n"
        "                       network logits = ReLU(X W1) W2\n"
        "  --hidden D           hidden units of the network (default 100)\n"
        "  --classes K          number of classes (default: 1 + largest label)\n"
        "  --init zeros|numpy   initial parameters: zeros (softmax default), or\n"
        "                       np.random.seed(S); randn(rows, cols) / sqrt(cols)\n"
        "                       per block, as the course does (network default)\n"
        "  --seed S             seed for --init numpy (default 0)\n"
        "\n"
        "optimisation (minibatch SGD in the data's order):\n"
        "  --epochs E           passes over the training set (default 10)\n"
        "  --lr A               learning rate (default 0.2)\n"
        "  --batch B            minibatch size (default 100); the last, partial\n"
        "                       minibatch is used with its own size\n"
        "  --limit N            train on the first N training examples only\n"
        "  --threads N          threads for evaluation (default: all cores);\n"
        "                       results are identical for any count\n"
        "\n"
        "data (each file raw or gzip-compressed):\n"
        "  --data DIR           directory with train-images-idx3-ubyte,\n"
        "                       train-labels-idx1-ubyte, t10k-images-idx3-ubyte,\n"
        "                       t10k-labels-idx1-ubyte (default data/mnist)\n"
        "  --train-images F --train-labels F --test-images F --test-labels F\n"
        "                       explicit files instead of --data\n"
        "\n"
        "output:\n"
        "  --save-weights DIR   write theta.npy (or W1.npy and W2.npy) to DIR\n"
        "  --quiet              no data summary on stderr\n"
        "  --json               one JSON object per epoch instead of the table\n"
        "  -h, --help           this help\n");
}

typedef struct train_opts {
    sr_train_params params;
    const char *data_dir;
    const char *train_images, *train_labels, *test_images, *test_labels;
    const char *save_dir;
    size_t limit;
    int quiet, json;
} train_opts;

enum {
    OPT_MODEL = 256, OPT_HIDDEN, OPT_CLASSES, OPT_INIT, OPT_SEED, OPT_EPOCHS,
    OPT_LR, OPT_BATCH, OPT_LIMIT, OPT_THREADS, OPT_DATA, OPT_TRAIN_IMAGES,
    OPT_TRAIN_LABELS, OPT_TEST_IMAGES, OPT_TEST_LABELS, OPT_SAVE, OPT_QUIET,
    OPT_JSON
};

static const struct option long_options[] = {
    {"model", required_argument, 0, OPT_MODEL},
    {"hidden", required_argument, 0, OPT_HIDDEN},
    {"classes", required_argument, 0, OPT_CLASSES},
    {"init", required_argument, 0, OPT_INIT},
    {"seed", required_argument, 0, OPT_SEED},
    {"epochs", required_argument, 0, OPT_EPOCHS},
    {"lr", required_argument, 0, OPT_LR},
    {"batch", required_argument, 0, OPT_BATCH},
    {"limit", required_argument, 0, OPT_LIMIT},
    {"threads", required_argument, 0, OPT_THREADS},
    {"data", required_argument, 0, OPT_DATA},
    {"train-images", required_argument, 0, OPT_TRAIN_IMAGES},
    {"train-labels", required_argument, 0, OPT_TRAIN_LABELS},
    {"test-images", required_argument, 0, OPT_TEST_IMAGES},
    {"test-labels", required_argument, 0, OPT_TEST_LABELS},
    {"save-weights", required_argument, 0, OPT_SAVE},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* Returns 1 on success, 0 after printing an error, -1 for --help. */
static int parse_args(int argc, char **argv, train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->params = sr_train_params_default();
    o->data_dir = "data/mnist";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        sr_train_params *p = &o->params;
        switch (c) {
        case OPT_MODEL:
            if (!strcmp(optarg, "softmax"))
                p->model = SR_MODEL_SOFTMAX;
            else if (!strcmp(optarg, "nn"))
                p->model = SR_MODEL_NN;
            else {
                fprintf(stderr, "softreg: --model: expected softmax or nn, got \"%s\"\n",
                        optarg);
                return 0;
            }
            break;
        case OPT_HIDDEN:
            if (!cli_parse_size("hidden", optarg, 1, 1u << 20, &p->hidden))
                return 0;
            break;
        case OPT_CLASSES:
            if (!cli_parse_size("classes", optarg, 2, 1u << 20, &p->classes))
                return 0;
            break;
        case OPT_INIT:
            if (!strcmp(optarg, "numpy"))
                p->init = SR_INIT_NUMPY;
            else if (!strcmp(optarg, "zeros"))
                p->init = SR_INIT_ZEROS;
            else {
                fprintf(stderr, "softreg: --init: expected zeros or numpy, got \"%s\"\n",
                        optarg);
                return 0;
            }
            break;
        case OPT_SEED:
            if (!cli_parse_u32("seed", optarg, &p->seed))
                return 0;
            break;
        case OPT_EPOCHS:
            if (!cli_parse_size("epochs", optarg, 1, 1000000, &p->epochs))
                return 0;
            break;
        case OPT_LR:
            if (!cli_parse_double("lr", optarg, 0.0, &p->lr))
                return 0;
            break;
        case OPT_BATCH:
            if (!cli_parse_size("batch", optarg, 1, SIZE_MAX, &p->batch))
                return 0;
            break;
        case OPT_LIMIT:
            if (!cli_parse_size("limit", optarg, 1, SIZE_MAX, &o->limit))
                return 0;
            break;
        case OPT_THREADS:
            if (!cli_parse_size("threads", optarg, 1, 4096, &p->threads))
                return 0;
            break;
        case OPT_DATA: o->data_dir = optarg; break;
        case OPT_TRAIN_IMAGES: o->train_images = optarg; break;
        case OPT_TRAIN_LABELS: o->train_labels = optarg; break;
        case OPT_TEST_IMAGES: o->test_images = optarg; break;
        case OPT_TEST_LABELS: o->test_labels = optarg; break;
        case OPT_SAVE: o->save_dir = optarg; break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_JSON: o->json = 1; break;
        case 'h': return -1;
        case ':':
            fprintf(stderr, "softreg: %s needs a value\n", argv[optind - 1]);
            return 0;
        default:
            fprintf(stderr, "softreg: unknown option \"%s\" (see softreg help train)\n",
                    argv[optind - 1]);
            return 0;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "softreg: unexpected argument \"%s\"\n", argv[optind]);
        return 0;
    }
    if (!!o->train_images != !!o->train_labels ||
        !!o->test_images != !!o->test_labels) {
        fprintf(stderr, "softreg: --train-images and --train-labels (and "
                        "--test-images and --test-labels) go together\n");
        return 0;
    }
    return 1;
}

static int load_data(const train_opts *o, sr_dataset **train, sr_dataset **test)
{
    sr_error err;
    const char *hint = "scripts/fetch-mnist fetches MNIST into data/mnist";
    if (o->train_images) {
        if (sr_dataset_load_idx(o->train_images, o->train_labels, train, &err))
            goto fail;
        if (o->test_images &&
            sr_dataset_load_idx(o->test_images, o->test_labels, test, &err))
            goto fail;
    } else {
        if (sr_dataset_load_mnist(o->data_dir, "train", train, &err) ||
            sr_dataset_load_mnist(o->data_dir, "t10k", test, &err))
            goto fail;
    }
    if (o->limit && sr_dataset_truncate(*train, o->limit, &err)) {
        hint = NULL;
        goto fail;
    }
    return 1;
fail:
    cli_error(&err, o->train_images ? NULL : hint);
    return 0;
}

static void describe(const char *what, const sr_dataset *ds)
{
    float lo, hi;
    sr_dataset_value_range(ds, &lo, &hi);
    size_t k = sr_dataset_classes(ds);
    fprintf(stderr, "%s: %zu examples, %zu features, %zu classes, values %g..%g\n",
            what, sr_dataset_rows(ds), sr_dataset_features(ds), k, (double)lo,
            (double)hi);
    fprintf(stderr, "  per class:");
    for (size_t c = 0; c < k; c++)
        fprintf(stderr, " %zu:%zu", c, sr_dataset_class_count(ds, c));
    fprintf(stderr, "\n");
}

typedef struct report {
    int json, has_test;
} report;

static int print_epoch(const sr_epoch_stats *s, void *user)
{
    const report *r = user;
    if (r->json) {
        printf("{\"epoch\": %zu, \"train_loss\": %.8f, \"train_err\": %.8f",
               s->epoch, s->train_loss, s->train_err);
        if (r->has_test)
            printf(", \"test_loss\": %.8f, \"test_err\": %.8f", s->test_loss,
                   s->test_err);
        printf(", \"seconds\": %.6f}\n", s->seconds);
    } else if (r->has_test) {
        printf("|  %4zu |    %.5f |   %.5f |   %.5f |  %.5f |\n", s->epoch,
               s->train_loss, s->train_err, s->test_loss, s->test_err);
    } else {
        printf("|  %4zu |    %.5f |   %.5f |         - |        - |\n", s->epoch,
               s->train_loss, s->train_err);
    }
    fflush(stdout);
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_train(int argc, char **argv)
{
    train_opts o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed < 0) {
        help_train();
        return 0;
    }
    if (!parsed)
        return EXIT_USAGE;
    sr_error err;
    if (sr_train_params_check(&o.params, &err)) {
        cli_error(&err, NULL);
        return EXIT_USAGE;
    }

    sr_dataset *train = NULL, *test = NULL;
    sr_model *model = NULL;
    int status = 1;
    double t0 = now_seconds();
    if (!load_data(&o, &train, &test))
        goto done;
    if (!o.quiet) {
        describe("training set", train);
        if (test)
            describe("test set", test);
        const sr_train_params *p = &o.params;
        if (p->model == SR_MODEL_NN)
            fprintf(stderr, "model: network ReLU(X W1) W2, %zu hidden units\n",
                    p->hidden);
        else
            fprintf(stderr, "model: softmax regression\n");
        fprintf(stderr, "training: %zu epochs, lr %g, batch %zu\n", p->epochs,
                p->lr, p->batch);
    }

    report r = {o.json, test != NULL};
    if (!o.json)
        printf("| Epoch | Train Loss | Train Err | Test Loss | Test Err |\n");
    if (sr_train(train, test, &o.params, print_epoch, &r, &model, &err)) {
        cli_error(&err, err.code == SR_ERR_DIVERGED
                            ? "lower --lr; the last printed epoch was finite"
                            : NULL);
        goto done;
    }
    if (o.save_dir) {
        if (mkdir(o.save_dir, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "softreg: --save-weights: cannot create %s: %s\n",
                    o.save_dir, strerror(errno));
            goto done;
        }
        if (sr_model_save_npy(model, o.save_dir, &err)) {
            cli_error(&err, NULL);
            goto done;
        }
    }
    if (!o.quiet)
        fprintf(stderr, "done in %.2f s\n", now_seconds() - t0);
    status = 0;
done:
    sr_model_free(model);
    sr_dataset_free(test);
    sr_dataset_free(train);
    return status;
}
