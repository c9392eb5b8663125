/* softreg predict: one CSV line per example, from a saved model. */
#include <stdlib.h>
#include <string.h>

#include "tools.h"

static const char predict_usage[] =
    "softreg predict MODEL DATA [--proba | --scores] [--out FILE] [options]";

void help_predict(void)
{
    printf(
        "usage: %s\n"
        "\n"
        "Predicts every example of DATA with the model file MODEL and writes one\n"
        "CSV line per example, after a header line naming the columns:\n"
        "\n"
        "  class                the predicted class's name as the training file\n"
        "                       wrote it (its number when the model has no\n"
        "                       names); for linear regression the predicted\n"
        "                       value, column y (y_0, y_1, ... for several\n"
        "                       targets)\n"
        "  --proba              then the probabilities p_<class>: k values that\n"
        "                       sum to 1 (softmax, nn), or P(y = 1) alone\n"
        "                       (logistic regression)\n"
        "  --scores             then the raw scores score_<class>: the logits\n"
        "                       (softmax, nn) or the logit of P(y = 1)\n"
        "                       (logistic); both options may be given\n"
        "\n"
        "Numbers are printed with 9 significant digits, so that they read back\n"
        "as the same float32 values. DATA's labels are not used: a file of the\n"
        "model's features alone is read as such; a file with one more column\n"
        "has its label column (the last, or --label-col) left out. DATA may be\n"
        "- for standard input.\n"
        "\n", predict_usage);
    tool_help_data();
    printf(
        "\n"
        "output:\n"
        "  --out FILE           write FILE instead of stdout: written to a\n"
        "                       temporary file beside it, synced and renamed,\n"
        "                       so FILE is never partly written and an existing\n"
        "                       FILE is replaced only by a complete new one\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: 0 success, 1 a file could not be read or written or does\n"
        "not match the model, 2 bad usage.\n");
}

enum { OPT_PROBA = OPT_TOOL_FIRST, OPT_SCORES, OPT_OUT };

static const struct option predict_options[] = {
    TOOL_DATA_LONG_OPTIONS,
    {"proba", no_argument, 0, OPT_PROBA},
    {"scores", no_argument, 0, OPT_SCORES},
    {"out", required_argument, 0, OPT_OUT},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* "<prefix><class label>" as one CSV field. */
static void column(FILE *f, const char *prefix, const sr_model *model, size_t c)
{
    char buf[24];
    const char *label = tool_class_label(model, c, buf, sizeof buf);
    size_t len = strlen(prefix) + strlen(label) + 1;
    char *name = malloc(len);
    if (!name) {
        tool_csv_field(f, prefix); /* out of memory: a shorter header */
        return;
    }
    snprintf(name, len, "%s%s", prefix, label);
    tool_csv_field(f, name);
    free(name);
}

static void print_header(FILE *f, const sr_model *model, int proba, int scores)
{
    size_t k = sr_model_outputs(model);
    sr_model_kind kind = sr_model_kind_of(model);
    if (kind == SR_MODEL_LINEAR) {
        if (k == 1)
            fputs("y", f);
        for (size_t c = 0; k > 1 && c < k; c++)
            fprintf(f, c ? ",y_%zu" : "y_%zu", c);
        fputc('\n', f);
        return;
    }
    fputs("class", f);
    size_t first = kind == SR_MODEL_LOGISTIC ? 1 : 0; /* P(class 1) only */
    for (size_t c = 0; proba && c < k; c++) {
        fputc(',', f);
        column(f, "p_", model, first + c);
    }
    for (size_t c = 0; scores && c < k; c++) {
        fputc(',', f);
        if (kind == SR_MODEL_LOGISTIC)
            fputs("score", f);
        else
            column(f, "score_", model, c);
    }
    fputc('\n', f);
}

int cmd_predict(int argc, char **argv)
{
    tool_data td = tool_data_default();
    int proba = 0, scores = 0, c;
    const char *out_path = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", predict_options, NULL)) != -1) {
        int r = tool_data_option(c, optarg, &td);
        if (r == 0)
            return EXIT_USAGE;
        if (r == 1)
            continue;
        switch (c) {
        case OPT_PROBA: proba = 1; break;
        case OPT_SCORES: scores = 1; break;
        case OPT_OUT:
            if (optarg[0] == '\0') {
                fprintf(stderr, "softreg: --out: expected a file name\n");
                return EXIT_USAGE;
            }
            out_path = optarg;
            break;
        case 'h': help_predict(); return 0;
        default: tool_bad_option(c, argv, "predict", predict_options); return EXIT_USAGE;
        }
    }
    if (!tool_operands(argc, argv, 2, predict_usage))
        return EXIT_USAGE;
    const char *model_path = argv[optind], *data_path = argv[optind + 1];

    sr_model *model = NULL;
    sr_dataset *ds = NULL;
    int32_t *cls = NULL;
    float *prob = NULL, *z = NULL;
    tool_out out = TOOL_OUT_INIT;
    int status = 1;
    sr_error err;
    cli_path stdin_copy;
    const char *read_path = cli_data_path(data_path, &stdin_copy);
    if (!read_path || !tool_load_model(model_path, &model))
        goto done;
    sr_model_kind kind = sr_model_kind_of(model);
    if (kind == SR_MODEL_LINEAR && (proba || scores)) {
        fprintf(stderr, "softreg: %s: linear regression predicts values, which "
                        "are its scores; it has no %s\n", model_path,
                proba ? "probabilities (--proba)" : "other scores (--scores)");
        status = EXIT_USAGE;
        goto done;
    }
    if (!tool_load_for_model(read_path, &td, model_path, model, 0, &ds))
        goto done;
    size_t m = sr_dataset_rows(ds), k = sr_model_outputs(model);
    /* Everything is computed before the output is opened: an error never
     * leaves a partial file behind. */
    z = malloc((m ? m : 1) * k * sizeof *z);
    if (kind != SR_MODEL_LINEAR) {
        cls = malloc((m ? m : 1) * sizeof *cls);
        if (proba)
            prob = malloc((m ? m : 1) * k * sizeof *prob);
    }
    if (!z || (kind != SR_MODEL_LINEAR && !cls) || (proba && !prob)) {
        fprintf(stderr, "softreg: out of memory for %zu predictions\n", m);
        goto done;
    }
    if (sr_model_logits(model, ds, z, &err) != SR_OK ||
        (cls && sr_model_predict(model, ds, cls, &err) != SR_OK) ||
        (prob && sr_model_predict_proba(model, ds, prob, &err) != SR_OK)) {
        cli_error(&err, NULL);
        goto done;
    }
    if (out_path && !tool_out_open(&out, out_path))
        goto done;
    FILE *f = out_path ? out.f : stdout;
    print_header(f, model, proba, scores);
    char buf[24];
    for (size_t r = 0; r < m; r++) {
        const float *zr = z + r * k;
        if (kind == SR_MODEL_LINEAR) {
            for (size_t j = 0; j < k; j++)
                fprintf(f, j ? ",%.9g" : "%.9g", (double)zr[j]);
            fputc('\n', f);
            continue;
        }
        tool_csv_field(f, tool_class_label(model, (size_t)cls[r], buf, sizeof buf));
        for (size_t j = 0; prob && j < k; j++)
            fprintf(f, ",%.9g", (double)prob[r * k + j]);
        for (size_t j = 0; scores && j < k; j++)
            fprintf(f, ",%.9g", (double)zr[j]);
        fputc('\n', f);
    }
    if (out_path ? tool_out_commit(&out) : tool_stdout_done())
        status = 0;
done:
    cli_data_path_done(&stdin_copy);
    tool_out_abort(&out);
    free(prob);
    free(cls);
    free(z);
    sr_dataset_free(ds);
    sr_model_free(model);
    return status;
}
