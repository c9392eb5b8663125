/* softreg eval: a saved model's loss, error rate and confusion matrix on a
 * labelled data file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools.h"

static const char eval_usage[] = "softreg eval MODEL DATA [options]";

void help_eval(void)
{
    printf(
        "usage: %s\n"
        "\n"
        "Evaluates the model file MODEL (written by softreg train --out) on the\n"
        "labelled data file DATA and prints the mean loss and the error rate;\n"
        "for linear regression the loss is 1/2 (y - t)^2 averaged over examples\n"
        "and the error is the root mean squared error, followed by the mean\n"
        "absolute error and R^2. For classifiers it also\n"
        "prints the confusion matrix: one row per true class, one column per\n"
        "predicted class, labelled with the class names the model keeps, then\n"
        "each class's precision, recall and F1 (a ratio of no cases is 0) and\n"
        "their macro average. DATA may be - for standard input.\n"
        "\n"
        "DATA is read with the model as reference: its labels must be among the\n"
        "model's classes (numbered as the model numbers them), and its number of\n"
        "features must be the model's (for LIBSVM, no index beyond them). For\n"
        "linear regression the label column is read as real-valued targets.\n"
        "\n", eval_usage);
    tool_help_data();
    printf(
        "\n"
        "output:\n"
        "  --json               one JSON object: examples, loss, err (or rmse,\n"
        "                       mae and r2: train --json's keys without their\n"
        "                       set's prefix),\n"
        "                       classes, confusion (an array of rows),\n"
        "                       precision, recall, f1 (per class) and\n"
        "                       macro_precision, macro_recall, macro_f1\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: 0 success, 1 a file could not be read or does not match\n"
        "the model, 2 bad usage.\n");
}

enum { OPT_JSON = OPT_TOOL_FIRST };

static const struct option eval_options[] = {
    TOOL_DATA_LONG_OPTIONS,
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static size_t digits(size_t v)
{
    size_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static void print_confusion_text(const sr_model *model, const size_t *counts,
                                 size_t k)
{
    char buf[24];
    static const char corner[] = "true\\pred";
    size_t label_w = sizeof corner - 1, cell_w = 1;
    for (size_t c = 0; c < k; c++) {
        size_t len = strlen(tool_class_label(model, c, buf, sizeof buf));
        label_w = len > label_w ? len : label_w;
        cell_w = len > cell_w ? len : cell_w;
    }
    for (size_t i = 0; i < k * k; i++)
        cell_w = digits(counts[i]) > cell_w ? digits(counts[i]) : cell_w;
    printf("confusion matrix (rows: true class, columns: predicted class):\n");
    printf("%-*s", (int)label_w, corner);
    for (size_t c = 0; c < k; c++)
        printf(" %*s", (int)cell_w, tool_class_label(model, c, buf, sizeof buf));
    printf("\n");
    for (size_t t = 0; t < k; t++) {
        printf("%*s", (int)label_w, tool_class_label(model, t, buf, sizeof buf));
        for (size_t p = 0; p < k; p++)
            printf(" %*zu", (int)cell_w, counts[t * k + p]);
        printf("\n");
    }
}

/* Class c's precision, recall and F1 from the confusion counts (rows
 * true, columns predicted); a ratio of no cases is 0, as scikit-learn's
 * zero_division default reports it. */
static void class_scores(const size_t *counts, size_t k, size_t c,
                         double *precision, double *recall, double *f1)
{
    size_t predicted = 0, actual = 0, hit = counts[c * k + c];
    for (size_t i = 0; i < k; i++) {
        predicted += counts[i * k + c];
        actual += counts[c * k + i];
    }
    *precision = predicted ? (double)hit / (double)predicted : 0.0;
    *recall = actual ? (double)hit / (double)actual : 0.0;
    *f1 = *precision + *recall > 0.0
              ? 2.0 * *precision * *recall / (*precision + *recall)
              : 0.0;
}

static void print_scores_text(const sr_model *model, const size_t *counts,
                              size_t k)
{
    char buf[24];
    size_t w = strlen("macro average");
    for (size_t c = 0; c < k; c++) {
        size_t len = strlen(tool_class_label(model, c, buf, sizeof buf));
        w = len > w ? len : w;
    }
    printf("%-*s precision    recall        f1   support\n", (int)w, "class");
    double sum[3] = {0, 0, 0};
    for (size_t c = 0; c < k; c++) {
        double p, r, f;
        class_scores(counts, k, c, &p, &r, &f);
        size_t support = 0;
        for (size_t i = 0; i < k; i++)
            support += counts[c * k + i];
        printf("%-*s %9.4f %9.4f %9.4f %9zu\n", (int)w,
               tool_class_label(model, c, buf, sizeof buf), p, r, f, support);
        sum[0] += p, sum[1] += r, sum[2] += f;
    }
    printf("%-*s %9.4f %9.4f %9.4f\n", (int)w, "macro average",
           sum[0] / (double)k, sum[1] / (double)k, sum[2] / (double)k);
}

/* Regression's other figures: the mean absolute error over every
 * target, and R^2 = 1 - (sum of squared residuals) / (sum of squares
 * about each target's mean), over all targets together (scikit-learn's
 * r2_score for one target). */
typedef struct regression_fit {
    int ok;
    double mae, r2;
} regression_fit;

static int regression_scores(const sr_model *model, const sr_dataset *ds,
                             regression_fit *fit)
{
    size_t m = sr_dataset_rows(ds), t = sr_model_outputs(model);
    float *z = malloc((m ? m : 1) * t * sizeof *z);
    float *y = malloc((m ? m : 1) * t * sizeof *y);
    double *mean = calloc(t, sizeof *mean);
    sr_error err;
    int ok = 0;
    if (!z || !y || !mean) {
        fprintf(stderr, "softreg: out of memory for %zu predictions\n", m);
        goto done;
    }
    if (sr_model_logits(model, ds, z, &err) != SR_OK ||
        sr_dataset_copy_targets(ds, 0, m, y, &err) != SR_OK) {
        cli_error(&err, NULL);
        goto done;
    }
    for (size_t i = 0; i < m * t; i++)
        mean[i % t] += (double)y[i] / (double)m;
    double abs = 0.0, res = 0.0, tot = 0.0;
    for (size_t i = 0; i < m * t; i++) {
        double d = (double)z[i] - (double)y[i], c = (double)y[i] - mean[i % t];
        abs += fabs(d);
        res += d * d;
        tot += c * c;
    }
    fit->mae = m ? abs / (double)(m * t) : 0.0;
    fit->r2 = tot > 0.0 ? 1.0 - res / tot : 0.0;
    fit->ok = 1;
    ok = 1;
done:
    free(z);
    free(y);
    free(mean);
    return ok;
}

static void print_json(const sr_model *model, size_t m, double loss,
                       double error, const size_t *counts, size_t k,
                       const regression_fit *fit)
{
    printf("{\"examples\": %zu, \"loss\": %.9g, ", m, loss);
    if (!counts) {
        printf("\"rmse\": %.9g, \"mae\": %.9g, \"r2\": %.9g}\n", error,
               fit->mae, fit->r2);
        return;
    }
    printf("\"err\": %.9g, \"classes\": [", error);
    char buf[24];
    for (size_t c = 0; c < k; c++) {
        printf(c ? ", " : "");
        tool_json_string(stdout, tool_class_label(model, c, buf, sizeof buf));
    }
    printf("], \"confusion\": [");
    for (size_t t = 0; t < k; t++) {
        printf(t ? ", [" : "[");
        for (size_t p = 0; p < k; p++)
            printf(p ? ", %zu" : "%zu", counts[t * k + p]);
        printf("]");
    }
    printf("]");
    static const char *const keys[3] = {"precision", "recall", "f1"};
    double macro[3] = {0, 0, 0};
    for (int s = 0; s < 3; s++) {
        printf(", \"%s\": [", keys[s]);
        for (size_t c = 0; c < k; c++) {
            double v[3];
            class_scores(counts, k, c, &v[0], &v[1], &v[2]);
            printf(c ? ", %.9g" : "%.9g", v[s]);
            macro[s] += v[s] / (double)k;
        }
        printf("]");
    }
    for (int s = 0; s < 3; s++)
        printf(", \"macro_%s\": %.9g", keys[s], macro[s]);
    printf("}\n");
}

int cmd_eval(int argc, char **argv)
{
    tool_data td = tool_data_default();
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", eval_options, NULL)) != -1) {
        int r = tool_data_option(c, optarg, &td);
        if (r == 0)
            return EXIT_USAGE;
        if (r == 1)
            continue;
        switch (c) {
        case OPT_JSON: json = 1; break;
        case 'h': help_eval(); return 0;
        default: tool_bad_option(c, argv, "eval", eval_options); return EXIT_USAGE;
        }
    }
    if (!tool_operands(argc, argv, 2, eval_usage))
        return EXIT_USAGE;
    const char *model_path = argv[optind], *data_path = argv[optind + 1];

    sr_model *model = NULL;
    sr_dataset *ds = NULL;
    size_t *counts = NULL;
    int status = 1;
    sr_error err;
    cli_path stdin_copy;
    const char *read_path = cli_data_path(data_path, &stdin_copy);
    if (!read_path || !tool_load_model(model_path, &model) ||
        !tool_load_for_model(read_path, &td, model_path, model, 1, &ds))
        goto done;
    double loss, error;
    if (sr_model_evaluate(model, ds, &loss, &error, &err) != SR_OK) {
        cli_error(&err, NULL);
        goto done;
    }
    int linear = sr_model_kind_of(model) == SR_MODEL_LINEAR;
    size_t k = linear ? 0 : sr_model_classes(model), m = sr_dataset_rows(ds);
    regression_fit fit = {0, 0.0, 0.0};
    if (linear && !regression_scores(model, ds, &fit))
        goto done;
    if (!linear) {
        if (!(counts = calloc(k * k, sizeof *counts))) {
            fprintf(stderr, "softreg: out of memory for a %zu x %zu confusion "
                            "matrix\n", k, k);
            goto done;
        }
        if (sr_model_confusion(model, ds, counts, &err) != SR_OK) {
            cli_error(&err, NULL);
            goto done;
        }
    }
    if (json) {
        print_json(model, m, loss, error, counts, k, &fit);
    } else {
        printf("model: %s, %zu features, %zu %s\n",
               sr_model_kind_name(sr_model_kind_of(model)),
               sr_model_features(model), sr_model_classes(model),
               !linear ? "classes" : sr_model_classes(model) == 1 ? "target" : "targets");
        printf("data: %s, %zu examples\n", data_path, m);
        printf("loss: %.6f\n", loss);
        if (linear) {
            printf("rmse: %.6f\n", error);
            if (fit.ok)
                printf("mae: %.6f\nr2: %.6f\n", fit.mae, fit.r2);
        } else {
            size_t wrong = 0;
            for (size_t t = 0; t < k; t++)
                for (size_t p = 0; p < k; p++)
                    wrong += t != p ? counts[t * k + p] : 0;
            printf("error rate: %.6f (%zu of %zu wrong)\n", error, wrong, m);
            printf("accuracy: %.6f\n", 1.0 - error);
            print_confusion_text(model, counts, k);
            print_scores_text(model, counts, k);
        }
    }
    if (tool_stdout_done())
        status = 0;
done:
    cli_data_path_done(&stdin_copy);
    free(counts);
    sr_dataset_free(ds);
    sr_model_free(model);
    return status;
}
