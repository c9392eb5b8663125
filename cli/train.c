/* softreg train: the course's training runs and their table, and the whole
 * family of models on any supported data file. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "data.h"

void help_train(void)
{
    printf(
        "usage: softreg train [FILE] [options]\n"
        "\n"
        "Trains a model and prints, after every epoch, the loss and error on\n"
        "the whole training set and on the test set, in the layout of CMU\n"
        "10-714 homework 0. With no options it is the course's\n"
        "train_softmax(epochs=10, lr=0.2, batch=100) on MNIST.\n"
        "\n"
        "data:\n"
        "  FILE                 a training file: CSV, LIBSVM, .npy (with --labels)\n"
        "                       or IDX (with --labels); recognised by content\n"
        "  --test FILE          the evaluation set, read like FILE\n"
        "  --labels F           labels beside an .npy or IDX FILE\n"
        "  --test-labels F      labels beside an .npy or IDX --test file\n"
        "  --format F           csv, libsvm, npy, idx or auto (default)\n"
        "  --label-col C        CSV: label column by name or 0-based index\n"
        "                       (default: the last column)\n"
        "  --header, --no-header  CSV: the first line names the columns, or\n"
        "                       not (default: detected)\n"
        "  --delimiter D        CSV: , ; tab or space (default: detected)\n"
        "  --data DIR           MNIST's layout, used when FILE is not given:\n"
        "                       train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
        "                       t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,\n"
        "                       each raw or gzip-compressed (default data/mnist)\n"
        "  --train-images F --train-labels F --test-images F --test-labels F\n"
        "                       explicit IDX files instead of --data\n"
        "  --limit N            train on the first N training examples only\n"
        "  --val-split F        hold out the last fraction F of the training set\n"
        "                       (a seeded random fraction with --shuffle) and\n"
        "                       report its loss and error\n"
        "\n"
        "model:\n"
        "  --model M            softmax (default), nn (logits = ReLU(X W1) W2),\n"
        "                       logistic (binary, labels 0/1 or two classes) or\n"
        "                       linear (least squares; the label column holds\n"
        "                       real-valued targets)\n"
        "  --hidden D           hidden units of the network (default 100)\n"
        "  --bias               add biases (off by default, as in the course)\n"
        "  --classes K          number of classes (default: from the data)\n"
        "  --poly D             add the powers x^2 .. x^D of every feature\n"
        "  --standardize        scale features by the training mean and deviation\n"
        "                       (sparse data: by the deviation only)\n"
        "  --init zeros|numpy   initial parameters: zeros (linear family), or\n"
        "                       np.random.seed(S); randn(rows, cols) / sqrt(cols)\n"
        "                       per weight block, as the course does (network)\n"
        "  --seed S             seed for --init numpy, --shuffle, --val-split\n"
        "  --warm-start MODEL   continue training a saved model (same kind and\n"
        "                       sizes; its classes and feature map are kept)\n"
        "\n");
    printf(
        "optimisation (objective: mean loss + L2/2 ||W||^2, biases not decayed):\n"
        "  --optimizer O        sgd (minibatch, default), gd (full batch),\n"
        "                       lbfgs (full batch, liblbfgs), newton (full batch,\n"
        "                       truncated Newton with a trust region; not for\n"
        "                       the network) or exact (linear regression: least\n"
        "                       squares by SVD, ridge with --l2)\n"
        "                       memory beyond the data and the model's P\n"
        "                       parameters: sgd about 2 P (3 P with momentum),\n"
        "                       gd 3 P, newton 8 P, lbfgs (2 M + 6) P doubles\n"
        "                       for M corrections (gd, newton and lbfgs one P\n"
        "                       less on data of fewer examples than half the\n"
        "                       features); exact copies the data dense\n"
        "  --epochs E           SGD passes or GD steps (default 10)\n"
        "  --lr A               learning rate (default 0.2)\n"
        "  --batch B            minibatch size (default 100); the last, partial\n"
        "                       minibatch is used with its own size\n"
        "  --l2 L               weight decay lambda (default 0)\n"
        "  --momentum M         SGD momentum in [0, 1) (default 0)\n"
        "  --shuffle            reorder the examples every epoch (from --seed)\n"
        "  --max-iter N         L-BFGS or Newton iterations (default 100)\n"
        "  --lbfgs-memory M     L-BFGS corrections kept, 1 to 100 (default: as\n"
        "                       many as fit in 256 MB, at least 3)\n"
        "  --tol T              Newton: stop when the gradient's norm falls\n"
        "                       below T times its first value (default 1e-3)\n"
        "  --early-stop P       stop after P epochs without a better validation\n"
        "                       loss and keep the best parameters\n"
        "  --threads N          threads (default: all cores); results are\n"
        "                       identical for any count\n"
        "\n"
        "output:\n"
        "  --checkpoint FILE    write the full training state to FILE after every\n"
        "                       epoch (sgd, gd), atomically; on SIGINT or SIGTERM\n"
        "                       training stops after the current minibatch, writes\n"
        "                       it and exits with status 130 or 143\n"
        "  --resume FILE        continue from a checkpoint (same data and options):\n"
        "                       the result equals an uninterrupted run bit for bit\n"
        "  --out FILE           save the model (a .srm file, written atomically)\n"
        "  --save-weights DIR   write the parameters as .npy files (theta.npy, or\n"
        "                       W1.npy and W2.npy, and biases) to DIR\n"
        "  --quiet              no data summary on stderr\n"
        "  --json               one JSON object per epoch instead of the table\n"
        "  -h, --help           this help\n");
}

typedef struct train_opts {
    sr_train_params params;
    cli_data data;
    const char *file, *labels, *test_file, *test_labels;
    const char *data_dir;
    const char *train_images, *train_labels, *test_images;
    const char *save_dir, *out, *warm_start, *checkpoint, *resume;
    size_t limit;
    int quiet, json;
} train_opts;

enum {
    OPT_MODEL = 256, OPT_HIDDEN, OPT_CLASSES, OPT_INIT, OPT_SEED, OPT_EPOCHS,
    OPT_LR, OPT_BATCH, OPT_LIMIT, OPT_THREADS, OPT_DATA, OPT_TRAIN_IMAGES,
    OPT_TRAIN_LABELS, OPT_TEST_IMAGES, OPT_TEST_LABELS, OPT_SAVE, OPT_QUIET,
    OPT_JSON, OPT_TEST, OPT_LABELS, OPT_FORMAT, OPT_LABEL_COL, OPT_HEADER,
    OPT_NO_HEADER, OPT_DELIMITER, OPT_BIAS, OPT_POLY, OPT_STANDARDIZE, OPT_L2,
    OPT_OPTIMIZER, OPT_MOMENTUM, OPT_SHUFFLE, OPT_MAX_ITER, OPT_VAL_SPLIT,
    OPT_EARLY_STOP, OPT_OUT, OPT_WARM_START, OPT_CHECKPOINT, OPT_RESUME,
    OPT_LBFGS_MEMORY, OPT_TOL
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
    {"test", required_argument, 0, OPT_TEST},
    {"labels", required_argument, 0, OPT_LABELS},
    {"format", required_argument, 0, OPT_FORMAT},
    {"label-col", required_argument, 0, OPT_LABEL_COL},
    {"header", no_argument, 0, OPT_HEADER},
    {"no-header", no_argument, 0, OPT_NO_HEADER},
    {"delimiter", required_argument, 0, OPT_DELIMITER},
    {"bias", no_argument, 0, OPT_BIAS},
    {"poly", required_argument, 0, OPT_POLY},
    {"standardize", no_argument, 0, OPT_STANDARDIZE},
    {"l2", required_argument, 0, OPT_L2},
    {"optimizer", required_argument, 0, OPT_OPTIMIZER},
    {"momentum", required_argument, 0, OPT_MOMENTUM},
    {"shuffle", no_argument, 0, OPT_SHUFFLE},
    {"max-iter", required_argument, 0, OPT_MAX_ITER},
    {"lbfgs-memory", required_argument, 0, OPT_LBFGS_MEMORY},
    {"tol", required_argument, 0, OPT_TOL},
    {"val-split", required_argument, 0, OPT_VAL_SPLIT},
    {"early-stop", required_argument, 0, OPT_EARLY_STOP},
    {"out", required_argument, 0, OPT_OUT},
    {"warm-start", required_argument, 0, OPT_WARM_START},
    {"checkpoint", required_argument, 0, OPT_CHECKPOINT},
    {"resume", required_argument, 0, OPT_RESUME},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static int parse_choice(const char *opt, const char *text,
                        const char *const *names, size_t count, int *out)
{
    for (size_t i = 0; i < count; i++)
        if (names[i] && !strcmp(text, names[i])) {
            *out = (int)i;
            return 1;
        }
    fprintf(stderr, "softreg: --%s: unknown value \"%s\"; expected", opt, text);
    for (size_t i = 0; i < count; i++)
        if (names[i])
            fprintf(stderr, " %s", names[i]);
    fprintf(stderr, "\n");
    return 0;
}

/* A fraction in [0, 1) or a number >= 0, with the option's name on error. */
static int parse_range(const char *opt, const char *text, double lo,
                       double hi_exclusive, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < lo ||
        !(v < hi_exclusive)) {
        fprintf(stderr, "softreg: --%s: expected a number in [%g, %g), got \"%s\"\n",
                opt, lo, hi_exclusive, text);
        return 0;
    }
    *out = v;
    return 1;
}

/* Returns 1 on success, 0 after printing an error, -1 for --help. */
static int parse_args(int argc, char **argv, train_opts *o)
{
    static const char *const models[] = {"softmax", "nn", "linear", "logistic"};
    static const char *const inits[] = {NULL, "zeros", "numpy"};
    static const char *const optimizers[] = {"sgd", "gd", "lbfgs", "exact",
                                             "newton"};
    memset(o, 0, sizeof *o);
    o->params = sr_train_params_default();
    o->data = cli_data_default();
    o->data_dir = "data/mnist";
    int c, v;
    size_t z;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        sr_train_params *p = &o->params;
        switch (c) {
        case OPT_MODEL:
            if (!parse_choice("model", optarg, models, 4, &v))
                return 0;
            p->model = (sr_model_kind)v;
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
            if (!parse_choice("init", optarg, inits, 3, &v))
                return 0;
            p->init = (sr_init)v;
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
        case OPT_POLY:
            if (!cli_parse_size("poly", optarg, 1, 64, &z))
                return 0;
            p->poly = (unsigned)z;
            break;
        case OPT_MAX_ITER:
            if (!cli_parse_size("max-iter", optarg, 1, 1000000, &p->max_iter))
                return 0;
            break;
        case OPT_LBFGS_MEMORY:
            if (!cli_parse_size("lbfgs-memory", optarg, 1, 100,
                                &p->lbfgs_memory))
                return 0;
            break;
        case OPT_TOL:
            if (!parse_range("tol", optarg, 0.0, 1.0, &p->tol))
                return 0;
            break;
        case OPT_EARLY_STOP:
            if (!cli_parse_size("early-stop", optarg, 1, 1000000, &p->early_stop))
                return 0;
            break;
        case OPT_L2:
            if (!parse_range("l2", optarg, 0.0, INFINITY, &p->l2))
                return 0;
            break;
        case OPT_MOMENTUM:
            if (!parse_range("momentum", optarg, 0.0, 1.0, &p->momentum))
                return 0;
            break;
        case OPT_VAL_SPLIT:
            if (!parse_range("val-split", optarg, 0.0, 1.0, &p->val_split))
                return 0;
            break;
        case OPT_OPTIMIZER:
            if (!parse_choice("optimizer", optarg, optimizers, 5, &v))
                return 0;
            p->optimizer = (sr_optimizer)v;
            break;
        case OPT_FORMAT:
            if (!cli_parse_format(optarg, &o->data.format))
                return 0;
            break;
        case OPT_DELIMITER:
            if (!cli_parse_delimiter(optarg, &o->data.delimiter))
                return 0;
            break;
        case OPT_LABEL_COL: o->data.label_col = optarg; break;
        case OPT_HEADER: o->data.header = SR_CSV_HEADER_YES; break;
        case OPT_NO_HEADER: o->data.header = SR_CSV_HEADER_NO; break;
        case OPT_BIAS: p->bias = 1; break;
        case OPT_STANDARDIZE: p->standardize = 1; break;
        case OPT_SHUFFLE: p->shuffle = 1; break;
        case OPT_DATA: o->data_dir = optarg; break;
        case OPT_TRAIN_IMAGES: o->train_images = optarg; break;
        case OPT_TRAIN_LABELS: o->train_labels = optarg; break;
        case OPT_TEST_IMAGES: o->test_images = optarg; break;
        case OPT_TEST_LABELS: o->test_labels = optarg; break;
        case OPT_TEST: o->test_file = optarg; break;
        case OPT_LABELS: o->labels = optarg; break;
        case OPT_SAVE: o->save_dir = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_WARM_START: o->warm_start = optarg; break;
        case OPT_CHECKPOINT: p->checkpoint_path = optarg; break;
        case OPT_RESUME: p->resume_path = optarg; break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_JSON: o->json = 1; break;
        case 'h': return -1;
        default:
            if (optopt)
                fprintf(stderr, "softreg: %s needs a value (see softreg help train)\n",
                        argv[optind - 1]);
            else
                fprintf(stderr, "softreg: unknown option \"%s\" (see softreg help train)\n",
                        argv[optind - 1]);
            return 0;
        }
    }
    if (optind < argc)
        o->file = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "softreg: unexpected argument \"%s\"\n", argv[optind]);
        return 0;
    }
    if (!o->file && (!!o->train_images != !!o->train_labels ||
                     !!o->test_images != !!o->test_labels)) {
        fprintf(stderr, "softreg: --train-images and --train-labels (and "
                        "--test-images and --test-labels) go together\n");
        return 0;
    }
    if (o->file && (o->train_images || o->test_images)) {
        fprintf(stderr, "softreg: give either a data FILE or --train-images, "
                        "not both\n");
        return 0;
    }
    return 1;
}

static int load_data(const train_opts *o, sr_dataset **train, sr_dataset **test)
{
    sr_error err;
    if (o->file) {
        sr_task task = o->params.model == SR_MODEL_LINEAR ? SR_TASK_REGRESSION
                                                          : SR_TASK_CLASSIFICATION;
        if (!cli_load_file(o->file, o->labels, &o->data, task, NULL, train))
            return 0;
        if (o->test_file) {
            cli_reference ref;
            const char **names;
            if (!cli_reference_from_dataset(*train, &ref, &names)) {
                fprintf(stderr, "softreg: out of memory\n");
                return 0;
            }
            int ok = cli_load_file(o->test_file, o->test_labels, &o->data, task,
                                   &ref, test);
            free(names);
            if (!ok)
                return 0;
        }
    } else {
        const char *hint = "scripts/fetch-mnist fetches MNIST into data/mnist "
                           "(--fashion: Fashion-MNIST into data/fashion-mnist)";
        if (o->train_images) {
            hint = NULL;
            if (sr_dataset_load_idx(o->train_images, o->train_labels, train, &err) ||
                (o->test_images &&
                 sr_dataset_load_idx(o->test_images, o->test_labels, test, &err)))
                goto fail_hint;
        } else if (sr_dataset_load_mnist(o->data_dir, "train", train, &err) ||
                   sr_dataset_load_mnist(o->data_dir, "t10k", test, &err)) {
            goto fail_hint;
        }
        goto loaded;
    fail_hint:
        cli_error(&err, hint);
        return 0;
    }
loaded:
    if (o->limit && sr_dataset_truncate(*train, o->limit, &err)) {
        fprintf(stderr, "softreg: --limit: %s\n", err.message);
        return 0;
    }
    return 1;
}

static void describe(const char *what, const sr_dataset *ds)
{
    float lo, hi;
    sr_dataset_value_range(ds, &lo, &hi);
    size_t k = sr_dataset_classes(ds), t = sr_dataset_targets(ds);
    fprintf(stderr, "%s: %zu examples, %zu features%s, ", what,
            sr_dataset_rows(ds), sr_dataset_features(ds),
            sr_dataset_is_sparse(ds) ? " (sparse)" : "");
    if (t)
        fprintf(stderr, "%zu regression target%s, ", t, t == 1 ? "" : "s");
    else
        fprintf(stderr, "%zu classes, ", k);
    fprintf(stderr, "values %g..%g\n", (double)lo, (double)hi);
    if (!t && k) {
        fprintf(stderr, "  per class:");
        for (size_t c = 0; c < k && c < 64; c++) {
            const char *name = sr_dataset_class_name(ds, c);
            if (name)
                fprintf(stderr, " %s:%zu", name, sr_dataset_class_count(ds, c));
            else
                fprintf(stderr, " %zu:%zu", c, sr_dataset_class_count(ds, c));
        }
        fprintf(stderr, k > 64 ? " ...\n" : "\n");
    }
}

typedef struct report {
    int json, has_test, has_val, regression;
    int header_done; /* the header waits for the first row: a run refused
                      * before training prints no table at all */
} report;

static void print_header(const report *r)
{
    /* The course's header, word for word; regression reports the RMSE. */
    const char *err = r->regression ? "RMSE" : "Err";
    printf("| Epoch | Train Loss | Train %s |", err);
    if (r->has_val)
        printf("   Val Loss |   Val %s |", err);
    printf(" Test Loss | Test %s |\n", err);
}

static int print_epoch(const sr_epoch_stats *s, void *user)
{
    report *r = user;
    if (!r->json && !r->header_done) {
        print_header(r);
        r->header_done = 1;
    }
    if (r->json) {
        printf("{\"epoch\": %zu, \"train_loss\": %.8g, \"train_err\": %.8g",
               s->epoch, s->train_loss, s->train_err);
        if (r->has_val)
            printf(", \"val_loss\": %.8g, \"val_err\": %.8g", s->val_loss,
                   s->val_err);
        if (r->has_test)
            printf(", \"test_loss\": %.8g, \"test_err\": %.8g", s->test_loss,
                   s->test_err);
        printf(", \"seconds\": %.6f}\n", s->seconds);
    } else {
        printf("|  %4zu |    %.5f |   %.5f |", s->epoch, s->train_loss,
               s->train_err);
        if (r->has_val)
            printf("    %.5f |   %.5f |", s->val_loss, s->val_err);
        if (r->has_test)
            printf("   %.5f |  %.5f |\n", s->test_loss, s->test_err);
        else
            printf("         - |        - |\n");
    }
    fflush(stdout);
    return 0;
}

/* The signal that asked training to stop (SIGINT, SIGTERM), or 0. */
static volatile int stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void describe_run(const sr_train_params *p)
{
    static const char *const opt_names[] = {"SGD", "gradient descent",
                                            "L-BFGS", "exact least squares",
                                            "Newton's method"};
    if (p->model == SR_MODEL_NN)
        fprintf(stderr, "model: network ReLU(X W1) W2, %zu hidden units", p->hidden);
    else
        fprintf(stderr, "model: %s regression", sr_model_kind_name(p->model));
    fprintf(stderr, "%s", p->bias ? ", with biases" : "");
    if (p->poly > 1)
        fprintf(stderr, ", polynomial features of degree %u", p->poly);
    fprintf(stderr, "%s\n", p->standardize ? ", standardised" : "");
    fprintf(stderr, "training: %s", opt_names[p->optimizer]);
    if (p->optimizer == SR_OPTIMIZER_SGD)
        fprintf(stderr, ", %zu epochs, lr %g, batch %zu%s", p->epochs, p->lr,
                p->batch, p->shuffle ? ", shuffled" : "");
    else if (p->optimizer == SR_OPTIMIZER_GD)
        fprintf(stderr, ", %zu steps, lr %g", p->epochs, p->lr);
    else if (p->optimizer == SR_OPTIMIZER_LBFGS ||
             p->optimizer == SR_OPTIMIZER_NEWTON)
        fprintf(stderr, ", at most %zu iterations", p->max_iter);
    if (p->l2 > 0)
        fprintf(stderr, ", l2 %g", p->l2);
    if (p->momentum > 0)
        fprintf(stderr, ", momentum %g", p->momentum);
    fprintf(stderr, "\n");
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
        fprintf(stderr, "softreg: --%s\n", err.message);
        return EXIT_USAGE;
    }

    sr_dataset *train = NULL, *test = NULL;
    sr_model *model = NULL, *warm = NULL;
    int status = 1;
    double t0 = now_seconds();
    if (o.warm_start) {
        if (sr_model_load(o.warm_start, &warm, &err)) {
            cli_error(&err, NULL);
            goto done;
        }
        o.params.warm_start = warm;
    }
    if (!load_data(&o, &train, &test))
        goto done;
    if (!o.quiet) {
        describe("training set", train);
        if (test)
            describe("test set", test);
        describe_run(&o.params);
    }

    report r = {o.json, test != NULL, o.params.val_split > 0.0,
                o.params.model == SR_MODEL_LINEAR, 0};
    catch_stop_signals();
    o.params.interrupt = &stop_signal;
    if (sr_train(train, test, &o.params, print_epoch, &r, &model, &err)) {
        if (err.code == SR_ERR_INTERRUPTED) {
            fprintf(stderr, "softreg: %s\n", err.message);
            status = 128 + stop_signal;
            goto done;
        }
        cli_error(&err, err.code == SR_ERR_DIVERGED
                            ? "lower --lr; the last printed epoch was finite"
                            : NULL);
        goto done;
    }
    if (o.out && sr_model_save(model, o.out, &err)) {
        cli_error(&err, NULL);
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
    if (!o.quiet) {
        if (o.out)
            fprintf(stderr, "model saved to %s\n", o.out);
        fprintf(stderr, "done in %.2f s\n", now_seconds() - t0);
    }
    status = 0;
done:
    sr_model_free(model);
    sr_model_free(warm);
    sr_dataset_free(test);
    sr_dataset_free(train);
    return status;
}
