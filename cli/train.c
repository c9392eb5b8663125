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
#include <unistd.h>

#include "cli.h"
#include "data.h"
#include "progress.h"
#include "report.h"
#include "tools.h"

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
        "  --features N         the model's width: LIBSVM entries beyond it are\n"
        "                       left out (and counted); a CSV file must have N\n"
        "                       feature columns (default: from the file)\n"
        "  --val-split F        hold out a fraction F of the training set, a\n"
        "                       random part stratified by class (from --seed),\n"
        "                       and report its loss and error\n"
        "  --val-split-tail     hold out the last rows instead\n"
        "  --cv K               K-fold cross-validation (LIBLINEAR's -v): folds\n"
        "                       stratified by class, drawn from --seed; each\n"
        "                       fold's figures, then their mean and standard\n"
        "                       deviation; no model is kept\n"
        "\n"
        "model:\n"
        "  --model M            softmax (default), nn (logits = ReLU(X W1) W2),\n"
        "                       logistic (binary, labels 0/1 or two classes) or\n"
        "                       linear (least squares; the label column holds\n"
        "                       real-valued targets)\n"
        "  --hidden D           hidden units of the network (default 100)\n"
        "  --bias, --no-bias    add biases, or not (default: not on IDX images,\n"
        "                       as in the course; on tabular files, yes)\n"
        "  --classes K          number of classes (default: from the data)\n"
        "  --class-weight W     none (default) or balanced: each example's\n"
        "                       training loss weighs m / (k m_c) for its class c,\n"
        "                       as scikit-learn's class_weight=\"balanced\"; the\n"
        "                       figures reported are not weighted\n"
        "  --poly D             add the powers x^2 .. x^D of every feature\n"
        "  --standardize, --no-standardize  scale features by the training mean\n"
        "                       and deviation (sparse data: by the deviation\n"
        "                       only), or not (default: on dense tabular files\n"
        "                       only; --standardise is the same)\n"
        "  --init zeros|numpy   initial parameters: zeros (linear family), or\n"
        "                       np.random.seed(S); randn(rows, cols) / sqrt(cols)\n"
        "                       per weight block, as the course does (network)\n"
        "  --seed S             seed for --init numpy, --shuffle, --val-split\n"
        "  --warm-start MODEL   continue training a saved model (same kind and\n"
        "                       sizes; its classes and feature map are kept)\n"
        "\n");
    printf(
        "optimisation (objective: mean loss + L2/2 ||W||^2, biases not decayed):\n"
        "  --optimizer O        sgd (minibatch; the default on IDX images, or when\n"
        "                       --epochs, --lr, --batch, --momentum or --shuffle\n"
        "                       is given), gd (full batch),\n"
        "                       lbfgs (full batch, liblbfgs), newton (full batch,\n"
        "                       truncated Newton with a trust region; not for\n"
        "                       the network) or exact (linear regression: least\n"
        "                       squares by SVD, ridge with --l2); on tabular\n"
        "                       files the default is lbfgs (exact for linear)\n"
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
        "  --l2 L               weight decay lambda (default 0; see --C)\n"
        "  --C C                inverse regularisation as in LIBLINEAR and\n"
        "                       scikit-learn: L2 = 1 / (C m) for m training\n"
        "                       examples (default on tabular files with a\n"
        "                       full-batch optimiser: C = 1)\n"
        "  --momentum M         SGD momentum in [0, 1) (default 0)\n"
        "  --shuffle            reorder the examples every epoch (from --seed)\n"
        "  --max-iter N         L-BFGS or Newton iterations (default 100; 1000\n"
        "                       when softreg chooses lbfgs for a tabular file)\n"
        "  --lbfgs-memory M     L-BFGS corrections kept, 1 to 100 (default: as\n"
        "                       many as fit in 256 MB, at least 3)\n"
        "  --tol T              Newton: stop when the gradient's norm falls\n"
        "                       below T times its first value (default 1e-3)\n"
        "  --early-stop P       stop after P epochs without a better validation\n"
        "                       loss and keep the best parameters\n"
        "  --threads N          threads (default: all cores); results are\n"
        "                       identical for any count\n"
        "\n");
    printf(
        "output:\n"
        "  --checkpoint FILE    write the full training state to FILE after every\n"
        "                       epoch (sgd, gd), atomically; on SIGINT or SIGTERM\n"
        "                       training stops after the current minibatch, writes\n"
        "                       it and exits with status 130 or 143\n"
        "  --resume FILE        continue from a checkpoint (same data and options):\n"
        "                       the result equals an uninterrupted run bit for bit\n"
        "  -o, --out FILE       save the model (a .srm file, written atomically);\n"
        "                       its directory is made and checked before\n"
        "                       training; on SIGINT or SIGTERM the model of the\n"
        "                       last finished epoch is saved\n"
        "  --save-weights DIR   write the parameters as .npy files (theta.npy, or\n"
        "                       W1.npy and W2.npy, and biases; mean.npy and\n"
        "                       inv_std.npy when standardised) to DIR\n"
        "  --report FILE        write a report page: one self-contained HTML file\n"
        "                       of the learning curves, the weights as pictures\n"
        "                       (image data), the mean image of each class, the\n"
        "                       confusion matrix, the most confidently wrong\n"
        "                       examples, or for regression predicted against\n"
        "                       true, the residuals and the fitted curve; of the\n"
        "                       test set (the training set without one)\n"
        "  --svg-dir DIR        the report's figures as separate SVG files in DIR\n"
        "  --quiet              no data summary on stderr (and no progress bar,\n"
        "                       which shows on a terminal when an epoch, or\n"
        "                       parsing a CSV or LIBSVM file, takes more than\n"
        "                       a second)\n"
        "  --verbose            (MPI) every process says which rows it holds\n"
        "                       and how many bytes it read\n"
        "  --json               one JSON object per epoch instead of the table\n"
        "  -h, --help           this help\n");
}

enum {
    OPT_MODEL = 256, OPT_HIDDEN, OPT_CLASSES, OPT_INIT, OPT_SEED, OPT_EPOCHS,
    OPT_LR, OPT_BATCH, OPT_LIMIT, OPT_THREADS, OPT_DATA, OPT_TRAIN_IMAGES,
    OPT_TRAIN_LABELS, OPT_TEST_IMAGES, OPT_TEST_LABELS, OPT_SAVE, OPT_QUIET,
    OPT_JSON, OPT_TEST, OPT_LABELS, OPT_FORMAT, OPT_LABEL_COL, OPT_HEADER,
    OPT_NO_HEADER, OPT_DELIMITER, OPT_BIAS, OPT_POLY, OPT_STANDARDIZE, OPT_L2,
    OPT_OPTIMIZER, OPT_MOMENTUM, OPT_SHUFFLE, OPT_MAX_ITER, OPT_VAL_SPLIT,
    OPT_EARLY_STOP, OPT_OUT, OPT_WARM_START, OPT_CHECKPOINT, OPT_RESUME,
    OPT_LBFGS_MEMORY, OPT_TOL, OPT_NO_BIAS, OPT_NO_STANDARDIZE, OPT_C,
    OPT_FEATURES, OPT_VAL_SPLIT_TAIL, OPT_CV, OPT_CLASS_WEIGHT, OPT_VERBOSE,
    OPT_REPORT, OPT_SVG_DIR,
    OPT_COUNT
};

typedef struct train_opts {
    sr_train_params params;
    cli_data data;
    const char *file, *labels, *test_file, *test_labels;
    const char *data_dir;
    const char *train_images, *train_labels, *test_images;
    const char *save_dir, *out, *warm_start, *checkpoint, *resume;
    const char *report, *svg_dir; /* --report, --svg-dir */
    size_t limit, features, cv;
    int quiet, json, verbose;
    /* Options the user gave, which the defaults for tabular files leave
     * alone; C = 0 when --C is not given. */
    int given_bias, given_standardize, given_optimizer, given_l2;
    int given_max_iter, given_sgd;
    double C;
    unsigned char given[OPT_COUNT]; /* every option given, by its code */
} train_opts;


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
    {"verbose", no_argument, 0, OPT_VERBOSE},
    {"json", no_argument, 0, OPT_JSON},
    {"test", required_argument, 0, OPT_TEST},
    {"labels", required_argument, 0, OPT_LABELS},
    {"format", required_argument, 0, OPT_FORMAT},
    {"label-col", required_argument, 0, OPT_LABEL_COL},
    {"header", no_argument, 0, OPT_HEADER},
    {"no-header", no_argument, 0, OPT_NO_HEADER},
    {"delimiter", required_argument, 0, OPT_DELIMITER},
    {"bias", no_argument, 0, OPT_BIAS},
    {"no-bias", no_argument, 0, OPT_NO_BIAS},
    {"poly", required_argument, 0, OPT_POLY},
    {"standardize", no_argument, 0, OPT_STANDARDIZE},
    {"standardise", no_argument, 0, OPT_STANDARDIZE},
    {"no-standardize", no_argument, 0, OPT_NO_STANDARDIZE},
    {"no-standardise", no_argument, 0, OPT_NO_STANDARDIZE},
    {"C", required_argument, 0, OPT_C},
    {"features", required_argument, 0, OPT_FEATURES},
    {"val-split-tail", no_argument, 0, OPT_VAL_SPLIT_TAIL},
    {"cv", required_argument, 0, OPT_CV},
    {"class-weight", required_argument, 0, OPT_CLASS_WEIGHT},
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
    {"report", required_argument, 0, OPT_REPORT},
    {"svg-dir", required_argument, 0, OPT_SVG_DIR},
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
    static const char *const class_weights[] = {"none", "balanced"};
    memset(o, 0, sizeof *o);
    o->params = sr_train_params_default();
    o->data = cli_data_default();
    o->data_dir = "data/mnist";
    int c, v;
    size_t z;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", long_options, NULL)) != -1) {
        sr_train_params *p = &o->params;
        if (c >= OPT_MODEL && c < OPT_COUNT)
            o->given[c] = 1;
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
            o->given_sgd = 1;
            break;
        case OPT_LR:
            if (!cli_parse_double("lr", optarg, 0.0, &p->lr))
                return 0;
            o->given_sgd = 1;
            break;
        case OPT_BATCH:
            if (!cli_parse_size("batch", optarg, 1, SIZE_MAX, &p->batch))
                return 0;
            o->given_sgd = 1;
            break;
        case OPT_LIMIT:
            if (!cli_parse_size("limit", optarg, 1, SIZE_MAX, &o->limit))
                return 0;
            break;
        case OPT_FEATURES:
            if (!cli_parse_size("features", optarg, 1, INT32_MAX, &o->features))
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
            o->given_max_iter = 1;
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
            o->given_l2 = 1;
            break;
        case OPT_C:
            if (!cli_parse_double("C", optarg, 0.0, &o->C))
                return 0;
            break;
        case OPT_MOMENTUM:
            if (!parse_range("momentum", optarg, 0.0, 1.0, &p->momentum))
                return 0;
            o->given_sgd = 1;
            break;
        case OPT_VAL_SPLIT:
            if (!parse_range("val-split", optarg, 0.0, 1.0, &p->val_split))
                return 0;
            break;
        case OPT_OPTIMIZER:
            if (!parse_choice("optimizer", optarg, optimizers, 5, &v))
                return 0;
            p->optimizer = (sr_optimizer)v;
            o->given_optimizer = 1;
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
        case OPT_BIAS:
        case OPT_NO_BIAS:
            p->bias = c == OPT_BIAS;
            o->given_bias = 1;
            break;
        case OPT_STANDARDIZE:
        case OPT_NO_STANDARDIZE:
            p->standardize = c == OPT_STANDARDIZE;
            o->given_standardize = 1;
            break;
        case OPT_SHUFFLE:
            p->shuffle = 1;
            o->given_sgd = 1;
            break;
        case OPT_VAL_SPLIT_TAIL: p->val_tail = 1; break;
        case OPT_CV:
            if (!cli_parse_size("cv", optarg, 2, 1000, &o->cv))
                return 0;
            break;
        case OPT_CLASS_WEIGHT:
            if (!parse_choice("class-weight", optarg, class_weights, 2, &v))
                return 0;
            p->class_weight = (sr_class_weight)v;
            break;
        case OPT_DATA: o->data_dir = optarg; break;
        case OPT_TRAIN_IMAGES: o->train_images = optarg; break;
        case OPT_TRAIN_LABELS: o->train_labels = optarg; break;
        case OPT_TEST_IMAGES: o->test_images = optarg; break;
        case OPT_TEST_LABELS: o->test_labels = optarg; break;
        case OPT_TEST: o->test_file = optarg; break;
        case OPT_LABELS: o->labels = optarg; break;
        case OPT_SAVE: o->save_dir = optarg; break;
        case OPT_OUT:
        case 'o': o->out = optarg; break;
        case OPT_WARM_START: o->warm_start = optarg; break;
        case OPT_CHECKPOINT: p->checkpoint_path = optarg; break;
        case OPT_RESUME: p->resume_path = optarg; break;
        case OPT_REPORT: o->report = optarg; break;
        case OPT_SVG_DIR: o->svg_dir = optarg; break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_VERBOSE: o->verbose = 1; break;
        case OPT_JSON: o->json = 1; break;
        case 'h': return -1;
        default:
            tool_bad_option(c, argv, "train", long_options);
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
    if (o->cv && (o->out || o->save_dir || o->params.checkpoint_path ||
                  o->report || o->svg_dir ||
                  o->params.resume_path || o->test_file ||
                  o->params.val_split > 0.0)) {
        fprintf(stderr, "softreg: --cv trains one model per fold and keeps "
                        "none: it does not go with --out, --save-weights, "
                        "--checkpoint, --resume, --test, --val-split, "
                        "--report or --svg-dir\n");
        return 0;
    }
    if (o->C > 0.0 && o->given_l2) {
        fprintf(stderr, "softreg: --C and --l2 both set the L2 penalty "
                        "(L2 = 1 / (C m)); give one\n");
        return 0;
    }
    return 1;
}

/* Whether FILE is a tabular file (CSV, LIBSVM, .npy) rather than IDX
 * images, which keep the course's defaults. */
static int is_tabular(const train_opts *o)
{
    if (!o->file)
        return 0;
    sr_format f = o->data.format;
    if (f == SR_FORMAT_AUTO) {
        sr_error err;
        f = sr_format_detect(o->file, &err);
    }
    return f != SR_FORMAT_IDX;
}

/* The defaults a practitioner expects of a tabular file, for what the
 * options left open: an intercept, standardised dense features, and a
 * full-batch optimiser run to convergence with scikit-learn's penalty
 * (C = 1: L2 = 1 / (C m)); linear regression by exact least squares.
 * SGD's options imply SGD, without the penalty, as the course runs it.
 * Writes the defaults it chose to `chosen` (empty when none). */
static void tabular_defaults(train_opts *o, const sr_dataset *train,
                             char *chosen, size_t size)
{
    sr_train_params *p = &o->params;
    size_t used = 0;
    chosen[0] = '\0';
#define CHOSE(...)                                                            \
    do {                                                                      \
        int w_ = snprintf(chosen + used, size - used, __VA_ARGS__);           \
        if (w_ > 0 && (size_t)w_ < size - used)                               \
            used += (size_t)w_;                                               \
    } while (0)
    if (!o->given_bias && !p->warm_start) {
        p->bias = 1;
        CHOSE(" --bias");
    }
    if (!o->given_standardize && !p->warm_start &&
        !sr_dataset_is_sparse(train)) {
        p->standardize = 1;
        CHOSE(" --standardize");
    }
    if (!o->given_optimizer && !o->given_sgd && p->model != SR_MODEL_NN) {
        p->optimizer = p->model == SR_MODEL_LINEAR ? SR_OPTIMIZER_EXACT
                                                   : SR_OPTIMIZER_LBFGS;
        CHOSE(" --optimizer %s",
              p->model == SR_MODEL_LINEAR ? "exact" : "lbfgs");
        if (p->optimizer == SR_OPTIMIZER_LBFGS && !o->given_max_iter) {
            p->max_iter = 1000;
            CHOSE(" --max-iter 1000");
        }
    }
    int full_batch = p->optimizer == SR_OPTIMIZER_LBFGS ||
                     p->optimizer == SR_OPTIMIZER_NEWTON ||
                     p->optimizer == SR_OPTIMIZER_GD;
    if (!o->given_l2 && o->C == 0.0 && full_batch &&
        p->model != SR_MODEL_LINEAR && p->model != SR_MODEL_NN) {
        o->C = 1.0;
        CHOSE(" --C 1");
    }
#undef CHOSE
}


/* Options that the chosen model or optimiser does not use: each named in
 * a warning, so that a run is not taken for what it is not. */
static void warn_ignored(const train_opts *o)
{
    static const struct {
        int opt;
        const char *name, *used_by;
        unsigned optimizers; /* bit o: used by optimizer o */
    } uses[] = {
        {OPT_EPOCHS, "--epochs", "sgd and gd", 1u << SR_OPTIMIZER_SGD | 1u << SR_OPTIMIZER_GD},
        {OPT_LR, "--lr", "sgd and gd", 1u << SR_OPTIMIZER_SGD | 1u << SR_OPTIMIZER_GD},
        {OPT_BATCH, "--batch", "sgd", 1u << SR_OPTIMIZER_SGD},
        {OPT_MOMENTUM, "--momentum", "sgd", 1u << SR_OPTIMIZER_SGD},
        {OPT_SHUFFLE, "--shuffle", "sgd", 1u << SR_OPTIMIZER_SGD},
        {OPT_CHECKPOINT, "--checkpoint", "sgd and gd", 1u << SR_OPTIMIZER_SGD | 1u << SR_OPTIMIZER_GD},
        {OPT_RESUME, "--resume", "sgd and gd", 1u << SR_OPTIMIZER_SGD | 1u << SR_OPTIMIZER_GD},
        {OPT_MAX_ITER, "--max-iter", "lbfgs and newton", 1u << SR_OPTIMIZER_LBFGS | 1u << SR_OPTIMIZER_NEWTON},
        {OPT_LBFGS_MEMORY, "--lbfgs-memory", "lbfgs", 1u << SR_OPTIMIZER_LBFGS},
        {OPT_TOL, "--tol", "newton", 1u << SR_OPTIMIZER_NEWTON},
    };
    static const char *const names[] = {"sgd", "gd", "lbfgs", "exact",
                                        "newton"};
    const sr_train_params *p = &o->params;
    for (size_t i = 0; i < sizeof uses / sizeof *uses; i++)
        if (o->given[uses[i].opt] && !(uses[i].optimizers >> p->optimizer & 1))
            fprintf(stderr, "softreg: warning: %s is ignored by --optimizer "
                            "%s (it is for %s)\n", uses[i].name,
                    names[p->optimizer], uses[i].used_by);
    if (o->given[OPT_HIDDEN] && p->model != SR_MODEL_NN)
        fprintf(stderr, "softreg: warning: --hidden is ignored by --model %s "
                        "(it is for nn)\n", sr_model_kind_name(p->model));
    if (p->warm_start && (o->given[OPT_POLY] || o->given[OPT_BIAS] ||
                          o->given[OPT_NO_BIAS] || o->given[OPT_STANDARDIZE] ||
                          o->given[OPT_NO_STANDARDIZE] ||
                          o->given[OPT_HIDDEN]))
        fprintf(stderr, "softreg: warning: --warm-start keeps the model's "
                        "biases, feature map, standardisation and sizes; "
                        "--poly, --bias, --standardize and --hidden are "
                        "ignored\n");
}

/* Classes numbered by label value with no training example (a label file
 * whose one label is 200 makes 201 classes): refused, unless --classes
 * asks for them. Returns 0 after the message. */
static int check_empty_classes(const train_opts *o, const sr_dataset *train)
{
    if (o->params.model == SR_MODEL_LINEAR || o->params.classes ||
        sr_dataset_targets(train))
        return 1;
    size_t k = sr_dataset_classes(train), empty = 0;
    char list[128] = "";
    size_t used = 0;
    for (size_t c = 0; c < k; c++) {
        if (sr_dataset_class_count(train, c))
            continue;
        /* the first eight, then "..." */
        if (empty < 8 || c + 1 == k) {
            int w = snprintf(list + used, sizeof list - used, "%s%s%zu",
                             empty ? ", " : "",
                             empty >= 8 ? "..., " : "", c);
            if (w > 0 && (size_t)w < sizeof list - used)
                used += (size_t)w;
        }
        empty++;
    }
    if (!empty)
        return 1;
    fprintf(stderr, "softreg: %zu of the training set's %zu classes have no "
                    "example: %s (labels number the classes from 0 to the "
                    "largest); give --classes %zu to train with them "
                    "anyway\n", empty, k, list, k);
    return 0;
}

/* The folds of K-fold cross-validation: each class's rows (all rows for
 * regression) in a seeded random order dealt to the folds in turn, so
 * that every fold holds each class's share. fold[r] in [0, K). */
static int assign_folds(const sr_dataset *ds, size_t K, uint32_t seed,
                        size_t *fold)
{
    size_t m = sr_dataset_rows(ds), k = sr_dataset_classes(ds);
    size_t *order = malloc((m ? m : 1) * sizeof *order);
    size_t *dealt = calloc(k ? k : 1, sizeof *dealt);
    int32_t *y = k ? malloc((m ? m : 1) * sizeof *y) : NULL;
    sr_error err;
    int ok = order && dealt && (!k || y) &&
             (!k || sr_dataset_copy_labels(ds, 0, m, y, &err) == SR_OK);
    if (ok) {
        sr_rng rng;
        sr_rng_seed(&rng, seed);
        sr_rng_permutation(&rng, order, m);
        /* a running count per class, each class starting where the last
         * one's deal ended, so that small classes do not all fill fold 0 */
        size_t start = 0;
        for (size_t c = 0; c < k; c++) {
            dealt[c] = start;
            start += sr_dataset_class_count(ds, c);
        }
        for (size_t i = 0; i < m; i++) {
            size_t c = k ? (size_t)y[order[i]] : 0;
            fold[order[i]] = (k ? dealt[c]++ : i) % K;
        }
    } else {
        fprintf(stderr, "softreg: out of memory for the folds\n");
    }
    free(order);
    free(dealt);
    free(y);
    return ok;
}

/* --cv K: one model per fold, trained on the other folds and evaluated on
 * its own; prints each fold's figures and their mean and standard
 * deviation. Returns the exit status. */
static int cross_validate(train_opts *o, const sr_dataset *train)
{
    size_t m = sr_dataset_rows(train), K = o->cv;
    if (K > m) {
        fprintf(stderr, "softreg: --cv %zu: the training set has only %zu "
                        "examples\n", K, m);
        return EXIT_USAGE;
    }
    size_t *fold = malloc(m * sizeof *fold), *rows = malloc(m * sizeof *rows);
    double (*fig)[4] = calloc(K, sizeof *fig);
    int status = 1, regression = o->params.model == SR_MODEL_LINEAR;
    if (!fold || !rows || !fig || !assign_folds(train, K, o->params.seed, fold))
        goto done;
    const char *e = regression ? "RMSE" : "Err";
    if (!o->json)
        printf("| Fold | Train Loss | Train %s |   Val Loss |   Val %s |\n", e,
               e);
    for (size_t f = 0; f < K; f++) {
        /* the training folds' rows first, the held-out fold's after, each
         * in the data's order */
        size_t a = 0;
        for (size_t r = 0; r < m; r++)
            if (fold[r] != f)
                rows[a++] = r;
        for (size_t r = 0, b = a; r < m; r++)
            if (fold[r] == f)
                rows[b++] = r;
        sr_dataset *fit = NULL, *held = NULL;
        sr_model *model = NULL;
        sr_error err;
        sr_train_params p = o->params;
        if (o->C > 0.0)
            p.l2 = 1.0 / (o->C * (double)a);
        p.evaluate = 0;
        int ok = sr_dataset_select_rows(train, rows, a, &fit, &err) == SR_OK &&
                 sr_dataset_select_rows(train, rows + a, m - a, &held, &err) ==
                     SR_OK &&
                 sr_train(fit, NULL, &p, NULL, NULL, &model, &err) == SR_OK &&
                 sr_model_evaluate(model, fit, &fig[f][0], &fig[f][1], &err) ==
                     SR_OK &&
                 sr_model_evaluate(model, held, &fig[f][2], &fig[f][3], &err) ==
                     SR_OK;
        sr_model_free(model);
        sr_dataset_free(fit);
        sr_dataset_free(held);
        if (!ok) {
            fprintf(stderr, "softreg: --cv fold %zu: %s\n", f, err.message);
            goto done;
        }
        if (o->json)
            printf("{\"fold\": %zu, \"train_loss\": %.8g, \"train_%s\": "
                   "%.8g, \"val_loss\": %.8g, \"val_%s\": %.8g}\n", f,
                   fig[f][0], regression ? "rmse" : "err", fig[f][1], fig[f][2],
                   regression ? "rmse" : "err", fig[f][3]);
        else
            printf("| %4zu |    %.5f |   %.5f |    %.5f |  %.5f |\n", f,
                   fig[f][0], fig[f][1], fig[f][2], fig[f][3]);
        fflush(stdout);
    }
    double mean[4] = {0}, sd[4] = {0};
    for (int c = 0; c < 4; c++) {
        for (size_t f = 0; f < K; f++)
            mean[c] += fig[f][c] / (double)K;
        for (size_t f = 0; f < K; f++)
            sd[c] += (fig[f][c] - mean[c]) * (fig[f][c] - mean[c]);
        sd[c] = sqrt(sd[c] / (double)(K - 1));
    }
    if (o->json)
        printf("{\"folds\": %zu, \"val_loss\": %.8g, \"val_loss_sd\": %.8g, "
               "\"val_%s\": %.8g, \"val_%s_sd\": %.8g}\n", K, mean[2], sd[2],
               regression ? "rmse" : "err", mean[3],
               regression ? "rmse" : "err", sd[3]);
    else
        printf("%zu-fold cross-validation: validation loss %.5f +- %.5f, "
               "%s %.5f +- %.5f (mean +- standard deviation over the "
               "folds)\n", K, mean[2], sd[2], regression ? "RMSE" : "error",
               mean[3], sd[3]);
    status = 0;
done:
    free(fold);
    free(rows);
    free(fig);
    return status;
}

/* --C as the L2 penalty of the examples training sees (the validation
 * split's are held out). */
static void apply_C(train_opts *o, const sr_dataset *train)
{
    if (o->C == 0.0)
        return;
    size_t m;
    sr_dataset_shard(train, NULL, &m, NULL);
    m -= (size_t)((double)m * o->params.val_split);
    o->params.l2 = 1.0 / (o->C * (double)(m ? m : 1));
}

/* The optimiser a run will use, once the tabular defaults are applied. */
static sr_optimizer run_optimizer(const train_opts *o)
{
    sr_optimizer opt = o->params.optimizer;
    if (is_tabular(o) && !o->given_optimizer && !o->given_sgd &&
        o->params.model != SR_MODEL_NN)
        opt = o->params.model == SR_MODEL_LINEAR ? SR_OPTIMIZER_EXACT
                                                 : SR_OPTIMIZER_LBFGS;
    return opt;
}

/* The rows of a training shard's units (0: the processes do not share the
 * rows). Every process holds its share of the rows, without validation
 * rows or cross-validation (which pick rows from all), for the
 * full-batch optimisers (gradient descent, L-BFGS, Newton, exact least
 * squares: the library's units, whole blocks of their passes) and for
 * minibatch SGD in the data's order (a shuffled epoch's minibatches draw
 * rows from every share): whole minibatches that are also whole 256-row
 * evaluation chunks, lcm(batch, 256) rows, so that each minibatch's
 * gradient is one process's, and so is each chunk's sum. */
static size_t shard_unit(const train_opts *o)
{
    /* A report page describes every row, and rank 0 alone draws it. */
    if (sr_dist_size() <= 1 || o->cv || o->params.val_split > 0.0 ||
        o->report || o->svg_dir)
        return 0;
    sr_optimizer opt = run_optimizer(o);
    if (opt != SR_OPTIMIZER_SGD)
        return opt == SR_OPTIMIZER_GD || opt == SR_OPTIMIZER_LBFGS ||
                       opt == SR_OPTIMIZER_NEWTON || opt == SR_OPTIMIZER_EXACT
                   ? SR_SHARD_UNIT
                   : 0;
    if (o->params.shuffle)
        return 0;
    size_t a = o->params.batch, b = 256;
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    size_t B = o->params.batch;
    /* (absurdly large units: the rows are not shared) */
    if (!a || B / a > ((size_t)1 << 40) / 256)
        return 0;
    return B / a * 256;
}

/* A set of every row made this process's share (readers that cannot read
 * a part, and --limit). */
static int keep_shard(sr_dataset *ds, size_t unit)
{
    sr_error err;
    if (sr_dataset_keep_shard(ds, unit, &err) == SR_OK)
        return 1;
    cli_error(&err, NULL);
    return 0;
}

static int load_data(const train_opts *o, sr_dataset **train, sr_dataset **test)
{
    sr_error err;
    size_t unit = shard_unit(o);
    /* --limit counts the rows of the whole file: read whole, then shared;
     * a test set is only evaluated, in whole blocks of the default unit */
    size_t unit_train = o->limit ? 0 : unit;
    size_t unit_test = unit ? SR_SHARD_UNIT : 0;
    if (o->file) {
        sr_task task = o->params.model == SR_MODEL_LINEAR ? SR_TASK_REGRESSION
                                                          : SR_TASK_CLASSIFICATION;
        cli_reference width = {NULL, 0, o->features};
        if (!cli_load_file(o->file, o->labels, &o->data, task,
                           o->features ? &width : NULL, unit_train, train))
            return 0;
        if (o->test_file) {
            cli_reference ref;
            const char **names;
            if (!cli_reference_from_dataset(*train, &ref, &names)) {
                fprintf(stderr, "softreg: out of memory\n");
                return 0;
            }
            int ok = cli_load_file(o->test_file, o->test_labels, &o->data, task,
                                   &ref, unit_test, test);
            free(names);
            if (!ok)
                return 0;
        }
    } else {
        const char *hint = "scripts/fetch-mnist fetches MNIST into data/mnist "
                           "(--fashion: Fashion-MNIST into data/fashion-mnist)";
        if (o->train_images) {
            hint = NULL;
            if ((unit_train
                     ? sr_dataset_load_idx_shard(o->train_images,
                                                 o->train_labels, unit_train,
                                                 train, &err)
                     : sr_dataset_load_idx(o->train_images, o->train_labels,
                                           train, &err)) ||
                (o->test_images &&
                 (unit_test ? sr_dataset_load_idx_shard(o->test_images,
                                                        o->test_labels,
                                                        unit_test, test, &err)
                            : sr_dataset_load_idx(o->test_images,
                                                  o->test_labels, test,
                                                  &err))))
                goto fail_hint;
        } else if ((unit_train
                        ? sr_dataset_load_mnist_shard(o->data_dir, "train",
                                                      unit_train, train, &err)
                        : sr_dataset_load_mnist(o->data_dir, "train", train,
                                                &err)) ||
                   (unit_test ? sr_dataset_load_mnist_shard(o->data_dir, "t10k",
                                                            unit_test, test,
                                                            &err)
                              : sr_dataset_load_mnist(o->data_dir, "t10k", test,
                                                      &err))) {
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
    if (unit && !sr_dataset_shard(*train, NULL, NULL, NULL) &&
        !keep_shard(*train, unit))
        return 0;
    if (unit && *test && !sr_dataset_shard(*test, NULL, NULL, NULL) &&
        !keep_shard(*test, unit_test))
        return 0;
    return 1;
}

/* --verbose, more than one process: each says which rows it holds. */
static void describe_shard(const char *what, const sr_dataset *ds)
{
    size_t first, total, m = sr_dataset_rows(ds);
    uint64_t bytes;
    if (!sr_dataset_shard(ds, &first, &total, &bytes))
        return;
    /* one write a line: the ranks' lines interleave whole */
    char line[256], read[64] = "every row read, its share kept";
    if (bytes)
        snprintf(read, sizeof read, "%llu bytes read",
                 (unsigned long long)bytes);
    snprintf(line, sizeof line, "rank %d: rows %zu..%zu of %zu (%zu rows), "
             "%s (%s)\n", sr_dist_rank(), first, first + m, total, m, read,
             what);
    fputs(line, stderr);
    fflush(stderr);
}

static void describe(const char *what, const sr_dataset *ds)
{
    float lo, hi;
    size_t rows;
    sr_dataset_value_range(ds, &lo, &hi);
    sr_dataset_shard(ds, NULL, &rows, NULL);
    size_t k = sr_dataset_classes(ds), t = sr_dataset_targets(ds);
    fprintf(stderr, "%s: %zu examples, %zu features%s, ", what, rows,
            sr_dataset_features(ds),
            sr_dataset_is_sparse(ds) ? " (sparse)" : "");
    if (t)
        fprintf(stderr, "%zu regression target%s, ", t, t == 1 ? "" : "s");
    else
        fprintf(stderr, "%zu classes, ", k);
    fprintf(stderr, "values %g..%g\n", (double)lo, (double)hi);
    size_t ignored = sr_dataset_ignored_entries(ds);
    if (ignored)
        fprintf(stderr, "  %zu %s of features beyond the first %zu left out "
                        "(no weight)\n", ignored,
                ignored == 1 ? "entry" : "entries", sr_dataset_features(ds));
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

/* More than one process: how they share the rows. */
static void describe_processes(const sr_train_params *p, const sr_dataset *ds)
{
    int N = sr_dist_size();
    if (N <= 1)
        return;
    size_t m, first;
    if (sr_dataset_shard(ds, &first, &m, NULL)) {
        fprintf(stderr, "processes: %d (MPI); each reads, holds and "
                        "computes on its share of the %zu rows, in whole "
                        "%s (rank 0: %zu rows; --verbose: every rank's)%s\n",
                N, m,
                p->optimizer == SR_OPTIMIZER_SGD ? "minibatches"
                                                 : "blocks of 4096",
                sr_dataset_rows(ds),
                p->optimizer == SR_OPTIMIZER_SGD
                    ? "; SGD's minibatches run in turn, the model passed "
                      "from rank to rank"
                    : "");
        return;
    }
    fprintf(stderr, "processes: %d (MPI); each holds all %zu rows and ", N,
            m);
    if (p->optimizer == SR_OPTIMIZER_SGD)
        fprintf(stderr, "trains on all of them (SGD drawing rows from every "
                        "share, shuffled or with validation rows, is not "
                        "distributed); the evaluation is shared: about %zu "
                        "rows each\n", (m + (size_t)N - 1) / (size_t)N);
    else if (p->optimizer == SR_OPTIMIZER_EXACT)
        fprintf(stderr, "solves on all of them (with validation rows); the "
                        "evaluation is shared: about %zu rows each\n",
                (m + (size_t)N - 1) / (size_t)N);
    else
        fprintf(stderr, "computes on its share of every full pass's fixed "
                        "blocks: about %zu rows each\n",
                (m + (size_t)N - 1) / (size_t)N);
}

typedef struct report {
    int json, has_test, has_val, regression;
    int header_done; /* the header waits for the first row: a run refused
                      * before training prints no table at all */
    report_history *history; /* rows kept for --report, or NULL */
    int history_lost;        /* out of memory for them */
    progress_bar *bar;       /* the row replaces it */
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
    progress_clear(r->bar);
    if (r->history && !report_history_add(r->history, s))
        r->history_lost = 1;
    if (!r->json && !r->header_done) {
        print_header(r);
        r->header_done = 1;
    }
    if (r->json) {
        /* regression's error is the RMSE, named so in every command */
        const char *err = r->regression ? "rmse" : "err";
        printf("{\"epoch\": %zu, \"train_loss\": %.8g, \"train_%s\": %.8g",
               s->epoch, s->train_loss, err, s->train_err);
        if (r->has_val)
            printf(", \"val_loss\": %.8g, \"val_%s\": %.8g", s->val_loss,
                   err, s->val_err);
        if (r->has_test)
            printf(", \"test_loss\": %.8g, \"test_%s\": %.8g", s->test_loss,
                   err, s->test_err);
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

static void describe_run(const sr_train_params *p, double C)
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
    if (p->l2 > 0 && C > 0)
        fprintf(stderr, ", l2 %g (C %g)", p->l2, C);
    else if (p->l2 > 0)
        fprintf(stderr, ", l2 %g", p->l2);
    if (p->momentum > 0)
        fprintf(stderr, ", momentum %g", p->momentum);
    if (p->class_weight == SR_CLASS_WEIGHT_BALANCED)
        fprintf(stderr, ", classes weighted to balance");
    fprintf(stderr, "\n");
    if (p->val_split > 0)
        fprintf(stderr, "validation: %g%% of the training set held out, %s\n",
                100.0 * p->val_split,
                p->val_tail ? "its last rows"
                            : "a random part stratified by class (--seed)");
}

/* --report and --svg-dir, of the test set when there is one. */
static int write_report(const train_opts *o, int argc, char **argv,
                        const sr_dataset *train, const sr_dataset *test,
                        const sr_model *model, const report *r,
                        const sr_train_outcome *outcome, double seconds)
{
    char command[2048] = "softreg", train_name[1100], test_name[1100];
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(command);
        snprintf(command + len, sizeof command - len, " %s", argv[i]);
    }
    if (o->file)
        snprintf(train_name, sizeof train_name, "%s", o->file);
    else
        snprintf(train_name, sizeof train_name, "%s",
                 o->train_images ? o->train_images : o->data_dir);
    if (o->test_file || o->test_images)
        snprintf(test_name, sizeof test_name, "test set %s",
                 o->test_file ? o->test_file : o->test_images);
    else
        snprintf(test_name, sizeof test_name, "test set %s/t10k",
                 o->data_dir);
    if (r->history_lost)
        fprintf(stderr, "softreg: out of memory for the epoch table: the "
                        "report has no learning curves\n");
    report_input in = {model, train, train_name, test ? test : train,
                       test ? test_name : "training set",
                       r->history_lost ? NULL : r->history,
                       outcome->kept_epoch, outcome->reason, command, seconds};
    return report_write(&in, o->report, o->svg_dir);
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
    report_history history = {NULL, 0, 0};
    progress_bar bar;
    int status = 1;
    /* More than one process (MPI): rank 0 alone reports and writes files
     * (main.c sends the other ranks' stdout to /dev/null). */
    int rank0 = sr_dist_rank() == 0;
    if (!rank0)
        o.quiet = 1;
    double t0 = now_seconds(), t_train = 0;
    cli_path stdin_copy[2];
    const char *given_file = o.file, *given_test = o.test_file;
    if (o.file && o.test_file && !strcmp(o.file, "-") &&
        !strcmp(o.test_file, "-")) {
        fprintf(stderr, "softreg: standard input (-) can be the training or "
                        "the test file, not both\n");
        return EXIT_USAGE;
    }
    o.file = cli_data_path(given_file, &stdin_copy[0]);
    o.test_file = cli_data_path(given_test, &stdin_copy[1]);
    if ((given_file && !o.file) || (given_test && !o.test_file))
        goto done;
    if (!rank0) {
        o.out = NULL;
        o.save_dir = NULL;
    }
    if ((o.out && !tool_check_output("--out", o.out)) ||
        (o.params.checkpoint_path &&
         !tool_check_output("--checkpoint", o.params.checkpoint_path)) ||
        (rank0 && !report_check_outputs(o.report, o.svg_dir)))
        goto done;
    if (o.warm_start) {
        if (sr_model_load(o.warm_start, &warm, &err)) {
            cli_error(&err, NULL);
            goto done;
        }
        o.params.warm_start = warm;
    }
    progress_init(&bar, o.quiet || o.json);
    if (bar.enabled) {
        o.params.progress = progress_update;
        o.params.progress_user = &bar;
        o.data.progress = progress_update;
        o.data.progress_user = &bar;
    }
    int loaded = load_data(&o, &train, &test);
    progress_clear(&bar);
    if (!loaded)
        goto done;
    if (o.verbose) {
        describe_shard("training set", train);
        if (test)
            describe_shard("test set", test);
    }
    if (!check_empty_classes(&o, train))
        goto done;
    char chosen[256] = "";
    if (is_tabular(&o))
        tabular_defaults(&o, train, chosen, sizeof chosen);
    apply_C(&o, train);
    warn_ignored(&o);
    if (o.cv) {
        if (!o.quiet) {
            describe("training set", train);
            describe_run(&o.params, o.C);
            if (chosen[0])
                fprintf(stderr, "defaults for a tabular file:%s\n", chosen);
            fprintf(stderr, "cross-validation: %zu folds, stratified by "
                            "class, from --seed %u%s\n", o.cv,
                    (unsigned)o.params.seed,
                    o.C > 0.0 ? "; l2 = 1 / (C m) of each fold's training "
                                "rows" : "");
        }
        status = cross_validate(&o, train);
        goto done;
    }
    if (sr_train_params_check(&o.params, &err)) {
        fprintf(stderr, "softreg: --%s\n", err.message);
        status = EXIT_USAGE;
        goto done;
    }
    if (!o.quiet) {
        describe("training set", train);
        if (test)
            describe("test set", test);
        describe_run(&o.params, o.C);
        describe_processes(&o.params, train);
        if (chosen[0])
            fprintf(stderr, "defaults for a tabular file:%s (options change "
                            "them: --no-bias, --no-standardize, --optimizer, "
                            "--C or --l2)\n", chosen);
    }

    report r = {o.json, test != NULL, o.params.val_split > 0.0,
                o.params.model == SR_MODEL_LINEAR, 0,
                o.report || o.svg_dir ? &history : NULL, 0, &bar};

    catch_stop_signals();
    o.params.interrupt = &stop_signal;
    sr_train_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    o.params.outcome = &outcome;
    o.params.keep_on_interrupt = o.out != NULL;
    t_train = now_seconds();
    int trained = sr_train(train, test, &o.params, print_epoch, &r, &model,
                           &err) == SR_OK;
    progress_clear(&bar); /* a run that stopped within an epoch */
    if (!trained) {
        if (err.code == SR_ERR_INTERRUPTED) {
            fprintf(stderr, "softreg: %s\n", err.message);
            status = 128 + stop_signal;
            sr_error save_err;
            if (model)
                sr_model_set_data_crc(model, train);
            if (model && sr_model_save(model, o.out, &save_err) == SR_OK)
                fprintf(stderr, "softreg: the model of the last finished "
                                "epoch (%zu in the table) is saved to %s\n",
                        outcome.iterations - 1, o.out);
            else if (model)
                cli_error(&save_err, NULL);
            else if (o.out)
                fprintf(stderr, "softreg: no epoch had finished: no model "
                                "was written to %s\n", o.out);
            goto done;
        }
        cli_error(&err, err.code == SR_ERR_DIVERGED
                            ? (o.params.standardize
                                   ? "try a smaller --lr; no model was written"
                                   : "try a smaller --lr, or --standardize "
                                     "when the features' scales differ; no "
                                     "model was written")
                            : NULL);
        goto done;
    }
    t_train = now_seconds() - t_train;
    /* (a shard's CRC takes every process) */
    if (o.out || sr_dataset_shard(train, NULL, NULL, NULL))
        sr_model_set_data_crc(model, train);
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
    if (rank0 && (o.report || o.svg_dir) &&
        !write_report(&o, argc, argv, train, test, model, &r, &outcome,
                      t_train))
        goto done;
    if (!o.quiet) {
        if (outcome.reason[0])
            fprintf(stderr, "training ended: %s\n", outcome.reason);
        if (o.report)
            fprintf(stderr, "report written to %s\n", o.report);
        if (o.out)
            fprintf(stderr, "model saved to %s\n", o.out);
        else if (!o.save_dir)
            fprintf(stderr, "the model was not kept (--out FILE keeps it)\n");
        fprintf(stderr, "done in %.2f s\n", now_seconds() - t0);
    }
    status = 0;
done:
    cli_data_path_done(&stdin_copy[0]);
    cli_data_path_done(&stdin_copy[1]);
    report_history_free(&history);
    sr_model_free(model);
    sr_model_free(warm);
    sr_dataset_free(test);
    sr_dataset_free(train);
    return status;
}
