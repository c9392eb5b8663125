/* softreg gradcheck: "check your answer numerically" (the course), as a
 * tool: the analytic gradient against central differences. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools.h"

static const char gradcheck_usage[] =
    "softreg gradcheck DATA [--model K] [options]\n"
    "       softreg gradcheck --model-file MODEL DATA [options]";

/* A relative error below this is a correct gradient in float32. */
#define GRADCHECK_TOLERANCE 1e-4

void help_gradcheck(void)
{
    printf(
        "usage: %s\n"
        "\n"
        "Compares the analytic gradient of the objective (mean loss over the\n"
        "first --rows examples of DATA, plus l2/2 ||W||^2 over the weights) with\n"
        "central differences computed in double precision, for --per-block\n"
        "parameters spread evenly over every parameter block, and prints the\n"
        "largest relative error |a - n| / max(|a| + |n|, 0.001 g) of each block,\n"
        "where g is the block's largest numerical gradient (the analytic one is\n"
        "float32: an entry a thousand times smaller than g carries g's rounding);\n"
        "for softmax and logistic regression the denominator is also at least\n"
        "0.001 sqrt(m) times the size of the entry's per-example terms (the mean\n"
        "|x_j| for theta, 1 for b): near an optimum, as for a trained model, the\n"
        "gradient is a float32 sum of terms that cancel.\n"
        "The verdict is \"ok\" when every error is below 1e-4, else \"suspicious\".\n"
        "\n"
        "The model checked is the one in --model-file, or a new one: parameters\n"
        "from --init (numpy by default, so that they are not zero), then one\n"
        "full-batch gradient step with learning rate --lr on the same examples,\n"
        "so that the biases are not zero either.\n"
        "\n"
        "model (without --model-file):\n"
        "  --model K            softmax (default), nn, linear or logistic\n"
        "  --hidden D           hidden units of the network (default 100)\n"
        "  --bias               add biases (b; b1 and b2 for the network)\n"
        "  --poly D             feature map x, x^2, ..., x^D (default 1: none)\n"
        "  --standardize        scale the features by their mean and deviation\n"
        "  --init zeros|numpy   initial parameters (default numpy:\n"
        "                       np.random.seed(S); randn(rows, cols) / sqrt(cols))\n"
        "  --seed S             seed for --init numpy (default 0)\n"
        "  --lr A               learning rate of the one step (default 0.1)\n"
        "  --model-file MODEL   check this saved model instead; DATA is read with\n"
        "                       it as reference (its classes and features)\n"
        "\n"
        "check:\n"
        "  --rows N             examples used, the first N of DATA (default 5)\n"
        "  --per-block N        parameters checked per block (default 20)\n"
        "  --l2 L               weight decay lambda >= 0 in the objective\n"
        "                       (default 0)\n"
        "\n", gradcheck_usage);
    tool_help_data();
    printf(
        "\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: 0 the gradient is ok, 1 suspicious or a file could not be\n"
        "read, 2 bad usage.\n");
}

enum {
    OPT_MODEL = OPT_TOOL_FIRST, OPT_HIDDEN, OPT_BIAS, OPT_POLY, OPT_STANDARDIZE,
    OPT_INIT, OPT_SEED, OPT_LR, OPT_MODEL_FILE, OPT_ROWS, OPT_PER_BLOCK, OPT_L2
};

static const struct option gradcheck_options[] = {
    TOOL_DATA_LONG_OPTIONS,
    {"model", required_argument, 0, OPT_MODEL},
    {"hidden", required_argument, 0, OPT_HIDDEN},
    {"bias", no_argument, 0, OPT_BIAS},
    {"poly", required_argument, 0, OPT_POLY},
    {"standardize", no_argument, 0, OPT_STANDARDIZE},
    {"init", required_argument, 0, OPT_INIT},
    {"seed", required_argument, 0, OPT_SEED},
    {"lr", required_argument, 0, OPT_LR},
    {"model-file", required_argument, 0, OPT_MODEL_FILE},
    {"rows", required_argument, 0, OPT_ROWS},
    {"per-block", required_argument, 0, OPT_PER_BLOCK},
    {"l2", required_argument, 0, OPT_L2},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

typedef struct gradcheck_opts {
    sr_train_params params;
    tool_data td;
    const char *model_file;
    const char *build_option; /* an option that builds a model, if given */
    size_t rows, per_block;
} gradcheck_opts;

static int parse_kind(const char *text, sr_model_kind *out)
{
    static const sr_model_kind all[] = {SR_MODEL_SOFTMAX, SR_MODEL_NN,
                                        SR_MODEL_LINEAR, SR_MODEL_LOGISTIC};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (!strcmp(text, sr_model_kind_name(all[i]))) {
            *out = all[i];
            return 1;
        }
    fprintf(stderr, "softreg: --model: expected softmax, nn, linear or "
                    "logistic, got \"%s\"\n", text);
    return 0;
}

static int parse_l2(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v) || v < 0.0) {
        fprintf(stderr, "softreg: --l2: expected a number >= 0, got \"%s\"\n",
                text);
        return 0;
    }
    *out = v;
    return 1;
}

/* Returns 1 on success, 0 after printing an error, -1 for --help. */
static int parse_args(int argc, char **argv, gradcheck_opts *o)
{
    memset(o, 0, sizeof *o);
    o->td = tool_data_default();
    o->params = sr_train_params_default();
    o->params.init = SR_INIT_NUMPY;
    o->params.epochs = 1;
    o->params.lr = 0.1;
    o->params.evaluate = 0;
    o->rows = 5;
    o->per_block = 20;
    int c, index;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", gradcheck_options, &index)) != -1) {
        int r = tool_data_option(c, optarg, &o->td);
        if (r == 0)
            return 0;
        if (r == 1)
            continue;
        sr_train_params *p = &o->params;
        if (c >= OPT_MODEL && c <= OPT_LR)
            o->build_option = gradcheck_options[index].name;
        switch (c) {
        case OPT_MODEL:
            if (!parse_kind(optarg, &p->model))
                return 0;
            break;
        case OPT_HIDDEN:
            if (!cli_parse_size("hidden", optarg, 1, 1u << 20, &p->hidden))
                return 0;
            break;
        case OPT_BIAS: p->bias = 1; break;
        case OPT_POLY: {
            size_t d;
            if (!cli_parse_size("poly", optarg, 1, 64, &d))
                return 0;
            p->poly = (unsigned)d;
            break;
        }
        case OPT_STANDARDIZE: p->standardize = 1; break;
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
        case OPT_LR:
            if (!cli_parse_double("lr", optarg, 0.0, &p->lr))
                return 0;
            break;
        case OPT_MODEL_FILE: o->model_file = optarg; break;
        case OPT_ROWS:
            if (!cli_parse_size("rows", optarg, 1, SIZE_MAX, &o->rows))
                return 0;
            break;
        case OPT_PER_BLOCK:
            if (!cli_parse_size("per-block", optarg, 1, SIZE_MAX, &o->per_block))
                return 0;
            break;
        case OPT_L2:
            if (!parse_l2(optarg, &p->l2))
                return 0;
            break;
        case 'h': return -1;
        default: tool_bad_option(c, argv, "gradcheck", gradcheck_options); return 0;
        }
    }
    if (o->model_file && o->build_option) {
        fprintf(stderr, "softreg: --%s builds a new model; it does not apply "
                        "with --model-file\n", o->build_option);
        return 0;
    }
    return tool_operands(argc, argv, 1, gradcheck_usage);
}

/* A new model on the first rows of ds: --init, then one gradient step. */
static int build_model(const gradcheck_opts *o, const sr_dataset *ds,
                       sr_model **out)
{
    sr_train_params p = o->params;
    p.batch = sr_dataset_rows(ds);
    if (p.model != SR_MODEL_LINEAR)
        p.classes = sr_dataset_classes(ds); /* the file's, not just these rows' */
    sr_error err;
    if (sr_train_params_check(&p, &err) != SR_OK ||
        sr_train(ds, NULL, &p, NULL, NULL, out, &err) != SR_OK) {
        cli_error(&err, NULL);
        return 0;
    }
    return 1;
}

int cmd_gradcheck(int argc, char **argv)
{
    gradcheck_opts o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed < 0) {
        help_gradcheck();
        return 0;
    }
    if (!parsed)
        return EXIT_USAGE;
    const char *data_path = argv[optind];

    sr_model *model = NULL;
    sr_dataset *ds = NULL;
    double *errors = NULL;
    int status = 1;
    sr_error err;
    if (o.model_file) {
        if (!tool_load_model(o.model_file, &model) ||
            !tool_load_for_model(data_path, &o.td, o.model_file, model, 1, &ds))
            goto done;
    } else if (!tool_load_data(data_path, &o.td,
                               o.params.model == SR_MODEL_LINEAR
                                   ? SR_TASK_REGRESSION
                                   : SR_TASK_CLASSIFICATION,
                               &ds)) {
        goto done;
    }
    size_t rows = o.rows < sr_dataset_rows(ds) ? o.rows : sr_dataset_rows(ds);
    if (sr_dataset_truncate(ds, rows, &err) != SR_OK) {
        cli_error(&err, NULL);
        goto done;
    }
    if (!model && !build_model(&o, ds, &model))
        goto done;
    size_t blocks = sr_model_param_count(model);
    if (!(errors = calloc(blocks, sizeof *errors))) {
        fprintf(stderr, "softreg: out of memory\n");
        goto done;
    }
    double l2 = o.params.l2;
    if (sr_model_gradcheck(model, ds, rows, l2, o.per_block, errors, &err) != SR_OK) {
        cli_error(&err, NULL);
        goto done;
    }
    sr_model_kind kind = sr_model_kind_of(model);
    printf("model: %s, %zu features, %zu %s", sr_model_kind_name(kind),
           sr_model_features(model), sr_model_classes(model),
           kind != SR_MODEL_LINEAR ? "classes" : sr_model_classes(model) == 1 ? "target" : "targets");
    if (kind == SR_MODEL_NN)
        printf(", %zu hidden units", sr_model_hidden(model));
    printf(", bias %s", sr_model_has_bias(model) ? "yes" : "no");
    if (sr_model_poly(model) > 1)
        printf(", poly %u", sr_model_poly(model));
    if (sr_model_is_standardized(model))
        printf(", standardised");
    printf("\n");
    if (o.model_file)
        printf("parameters: from %s\n", o.model_file);
    else
        printf("parameters: --init %s --seed %lu, then one step with lr %g\n",
               o.params.init == SR_INIT_ZEROS ? "zeros" : "numpy",
               (unsigned long)o.params.seed, o.params.lr);
    printf("objective: mean loss over the first %zu examples of %s, l2 %g\n",
           rows, data_path, l2);
    printf("%-8s %15s %8s %16s\n", "block", "shape", "checked", "max rel. error");
    double worst = 0.0;
    for (size_t b = 0; b < blocks; b++) {
        const char *name;
        size_t r, c;
        sr_model_param(model, b, &name, &r, &c);
        char shape[48];
        snprintf(shape, sizeof shape, "%zu x %zu", r, c);
        size_t checked = o.per_block < r * c ? o.per_block : r * c;
        printf("%-8s %15s %8zu %16.3e\n", name, shape, checked, errors[b]);
        if (isnan(errors[b]) || errors[b] > worst)
            worst = errors[b]; /* a NaN stays: it is never ok */
    }
    int ok = worst < GRADCHECK_TOLERANCE;
    if (ok)
        printf("verdict: ok (every error is below %g)\n", GRADCHECK_TOLERANCE);
    else
        printf("verdict: suspicious (largest error %.3e, not below %g)\n", worst,
               GRADCHECK_TOLERANCE);
    if (tool_stdout_done() && ok)
        status = 0;
done:
    free(errors);
    sr_dataset_free(ds);
    sr_model_free(model);
    return status;
}
