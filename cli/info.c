/* softreg info: what a data file or a model file holds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools.h"

static const char info_usage[] = "softreg info FILE [options]";

void help_info(void)
{
    printf(
        "usage: %s\n"
        "\n"
        "Describes FILE. A model file (it starts with the bytes \\x89SRM) is\n"
        "loaded and checked (magic, version, sizes, CRC-32), and info prints its\n"
        "kind, features, classes and their names, outputs, hidden units, bias,\n"
        "feature map (polynomial degree, standardisation) and every parameter\n"
        "block with its shape, Euclidean norm, smallest and largest value.\n"
        "\n"
        "Any other file is read as data, and info prints its format, examples,\n"
        "features, storage (dense or sparse), the share of non-zero values, the\n"
        "range of the values, and the classes with their names and counts (or\n"
        "the number of regression targets with --regression).\n"
        "\n"
        "  --regression         read the labels as real-valued targets, as\n"
        "                       training --model linear does (default: classes)\n"
        "  --json               one JSON object: for a model, kind, features,\n"
        "                       classes (or targets), class_names, feature_names,\n"
        "                       label, outputs, hidden, bias, poly, standardized,\n"
        "                       parameters; for data, examples, features, sparse,\n"
        "                       nonzeros, min, max, feature_names, classes,\n"
        "                       class_names and class_counts (or targets)\n"
        "\n", info_usage);
    tool_help_data();
    printf(
        "\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: 0 success, 1 the file could not be read, 2 bad usage.\n");
}

enum { OPT_REGRESSION = OPT_TOOL_FIRST, OPT_JSON };

static const struct option info_options[] = {
    TOOL_DATA_LONG_OPTIONS,
    {"regression", no_argument, 0, OPT_REGRESSION},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static const char *kind_description(sr_model_kind kind)
{
    switch (kind) {
    case SR_MODEL_SOFTMAX: return "softmax regression, logits = X theta (+ b)";
    case SR_MODEL_NN: return "two-layer network, logits = ReLU(X W1 (+ b1)) W2 (+ b2)";
    case SR_MODEL_LINEAR: return "linear regression, y = X theta (+ b)";
    case SR_MODEL_LOGISTIC: return "logistic regression, P(y = 1) = sigmoid(X theta (+ b))";
    }
    return "unknown";
}

static void describe_model(const char *path, const sr_model *model)
{
    sr_model_kind kind = sr_model_kind_of(model);
    size_t n = sr_model_features(model), k = sr_model_classes(model);
    unsigned poly = sr_model_poly(model);
    printf("%s: softreg model file\n", path);
    printf("kind:         %s (%s)\n", sr_model_kind_name(kind),
           kind_description(kind));
    printf("features:     %zu\n", n);
    if (kind == SR_MODEL_LINEAR) {
        printf("targets:      %zu\n", k);
    } else {
        printf("classes:      %zu", k);
        if (sr_model_class_name(model, 0)) {
            printf(", named:");
            for (size_t c = 0; c < k; c++) {
                printf(" ");
                tool_csv_field(stdout, sr_model_class_name(model, c));
            }
            printf("\n");
        } else {
            printf(", numbered 0..%zu\n", k - 1);
        }
    }
    if (sr_model_feature_name(model, 0) || sr_model_label_name(model)) {
        /* the training file's header, as predict and eval match it */
        printf("columns:     ");
        for (size_t j = 0; sr_model_feature_name(model, 0) && j < n && j < 8;
             j++) {
            printf(j ? ", " : " ");
            tool_csv_field(stdout, sr_model_feature_name(model, j));
        }
        if (n > 8 && sr_model_feature_name(model, 0))
            printf(", ... (%zu)", n);
        if (sr_model_label_name(model)) {
            printf("; label: ");
            tool_csv_field(stdout, sr_model_label_name(model));
            if (sr_model_label_column(model) != SIZE_MAX)
                printf(" (column %zu)", sr_model_label_column(model));
        }
        printf("\n");
    }
    if (sr_model_train_options(model))
        printf("trained with: %s\n", sr_model_train_options(model));
    uint32_t crc;
    if (sr_model_data_crc(model, &crc))
        printf("trained on:   data of CRC-32 %08lx\n", (unsigned long)crc);
    printf("outputs:      %zu\n", sr_model_outputs(model));
    if (kind == SR_MODEL_NN)
        printf("hidden units: %zu\n", sr_model_hidden(model));
    printf("bias:         %s\n", sr_model_has_bias(model) ? "yes" : "no");
    if (poly > 1)
        printf("feature map:  polynomial of degree %u (x, %sx^%u of every "
               "feature: %zu inputs)\n", poly, poly > 2 ? "x^2, ..., " : "",
               poly, n * poly);
    else
        printf("feature map:  none (polynomial degree 1)\n");
    printf("standardised: %s\n", sr_model_is_standardized(model)
                                     ? "yes (by the training set's mean and deviation)"
                                     : "no");
    size_t blocks = sr_model_param_count(model), total = 0;
    for (size_t b = 0; b < blocks; b++) {
        size_t rows, cols;
        sr_model_param(model, b, NULL, &rows, &cols);
        total += rows * cols;
    }
    printf("parameters:   %zu in %zu block%s\n", total, blocks, blocks == 1 ? "" : "s");
    printf("  %-6s %15s %14s %14s %14s\n", "block", "shape", "norm", "min", "max");
    for (size_t b = 0; b < blocks; b++) {
        const char *name;
        size_t rows, cols;
        const float *w = sr_model_param(model, b, &name, &rows, &cols);
        double sq = 0.0, lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < rows * cols; i++) {
            double v = w[i];
            sq += v * v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        char shape[48];
        snprintf(shape, sizeof shape, "%zu x %zu", rows, cols);
        printf("  %-6s %15s %14.6g %14.6g %14.6g\n", name, shape, sqrt(sq), lo, hi);
    }
}

/* Every parameter of the model, over its blocks. */
static size_t parameters(const sr_model *model)
{
    size_t total = 0;
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        size_t rows, cols;
        sr_model_param(model, b, NULL, &rows, &cols);
        total += rows * cols;
    }
    return total;
}

/* A JSON array of n strings name(i), or null when name(0) is NULL. */
static void json_names(const char *key, size_t n, const void *obj,
                       const char *(*name)(const void *, size_t))
{
    printf(", \"%s\": ", key);
    if (!n || !name(obj, 0)) {
        printf("null");
        return;
    }
    printf("[");
    for (size_t i = 0; i < n; i++) {
        printf(i ? ", " : "");
        tool_json_string(stdout, name(obj, i));
    }
    printf("]");
}

static const char *model_class(const void *m, size_t c)
{
    return sr_model_class_name(m, c);
}

static const char *model_feature(const void *m, size_t j)
{
    return sr_model_feature_name(m, j);
}

static const char *data_class(const void *ds, size_t c)
{
    return sr_dataset_class_name(ds, c);
}

static const char *data_feature(const void *ds, size_t j)
{
    return sr_dataset_feature_name(ds, j);
}

/* The model's description as one JSON object (the keys of describe_model). */
static void model_json(const char *path, const sr_model *model)
{
    sr_model_kind kind = sr_model_kind_of(model);
    int linear = kind == SR_MODEL_LINEAR;
    size_t n = sr_model_features(model), k = sr_model_classes(model);
    printf("{\"file\": ");
    tool_json_string(stdout, path);
    printf(", \"type\": \"model\", \"kind\": \"%s\", \"features\": %zu, "
           "\"%s\": %zu", sr_model_kind_name(kind), n,
           linear ? "targets" : "classes", k);
    json_names("class_names", linear ? 0 : k, model, model_class);
    json_names("feature_names", n, model, model_feature);
    printf(", \"label\": ");
    if (sr_model_label_name(model))
        tool_json_string(stdout, sr_model_label_name(model));
    else
        printf("null");
    printf(", \"train_options\": ");
    if (sr_model_train_options(model))
        tool_json_string(stdout, sr_model_train_options(model));
    else
        printf("null");
    uint32_t crc;
    if (sr_model_data_crc(model, &crc))
        printf(", \"data_crc\": \"%08lx\"", (unsigned long)crc);
    else
        printf(", \"data_crc\": null");
    printf(", \"outputs\": %zu, \"hidden\": %zu, \"bias\": %s, "
           "\"poly\": %u, \"standardized\": %s, \"parameters\": %zu}\n",
           sr_model_outputs(model), sr_model_hidden(model),
           sr_model_has_bias(model) ? "true" : "false", sr_model_poly(model),
           sr_model_is_standardized(model) ? "true" : "false",
           parameters(model));
}

/* The data file's description as one JSON object. */
static void data_json(const char *path, sr_task task, const sr_dataset *ds)
{
    size_t m = sr_dataset_rows(ds), n = sr_dataset_features(ds);
    float lo, hi;
    sr_dataset_value_range(ds, &lo, &hi);
    printf("{\"file\": ");
    tool_json_string(stdout, path);
    printf(", \"type\": \"data\", \"examples\": %zu, \"features\": %zu, "
           "\"sparse\": %s, \"nonzeros\": %zu, \"min\": %.9g, "
           "\"max\": %.9g", m, n,
           sr_dataset_is_sparse(ds) ? "true" : "false",
           sr_dataset_nonzeros(ds), (double)lo, (double)hi);
    json_names("feature_names", n, ds, data_feature);
    if (task == SR_TASK_REGRESSION) {
        printf(", \"targets\": %zu}\n", sr_dataset_targets(ds));
        return;
    }
    size_t k = sr_dataset_classes(ds);
    printf(", \"classes\": %zu", k);
    json_names("class_names", k, ds, data_class);
    printf(", \"class_counts\": [");
    for (size_t c = 0; c < k; c++)
        printf(c ? ", %zu" : "%zu", sr_dataset_class_count(ds, c));
    printf("]}\n");
}

static void describe_data(const char *path, const tool_data *td,
                          sr_task task, const sr_dataset *ds)
{
    size_t m = sr_dataset_rows(ds), n = sr_dataset_features(ds);
    sr_format format = td->d.format;
    sr_error err;
    if (format == SR_FORMAT_AUTO)
        format = sr_format_detect(path, &err);
    printf("%s: data file\n", path);
    printf("format:       %s\n", sr_format_name(format));
    printf("examples:     %zu\n", m);
    printf("features:     %zu\n", n);
    printf("storage:      %s\n", sr_dataset_is_sparse(ds) ? "sparse (CSR)" : "dense");
    /* Counted over the stored values: sparse data are never walked
     * feature by feature. */
    size_t nz = sr_dataset_nonzeros(ds);
    double cells = (double)m * (double)n;
    printf("non-zeros:    %zu of %.0f (%.2f%%)\n", nz, cells,
           cells > 0 ? 100.0 * (double)nz / cells : 0.0);
    float lo, hi;
    sr_dataset_value_range(ds, &lo, &hi);
    printf("values:       %.9g .. %.9g\n", (double)lo, (double)hi);
    if (task == SR_TASK_REGRESSION) {
        printf("targets:      %zu per example\n", sr_dataset_targets(ds));
        return;
    }
    size_t k = sr_dataset_classes(ds);
    printf("classes:      %zu%s\n", k,
           sr_dataset_class_name(ds, 0) ? ", named as the file writes them"
                                        : ", numbered 0..k-1 by the file");
    size_t name_w = 4;
    for (size_t c = 0; c < k; c++) {
        const char *name = sr_dataset_class_name(ds, c);
        size_t len = name ? strlen(name) : 1;
        name_w = len > name_w ? len : name_w;
    }
    printf("  %5s  %-*s %10s %8s\n", "class", (int)name_w, "name", "count", "share");
    for (size_t c = 0; c < k; c++) {
        const char *name = sr_dataset_class_name(ds, c);
        char buf[24];
        if (!name) {
            snprintf(buf, sizeof buf, "%zu", c);
            name = buf;
        }
        size_t count = sr_dataset_class_count(ds, c);
        printf("  %5zu  %-*s %10zu %7.2f%%\n", c, (int)name_w, name, count,
               m ? 100.0 * (double)count / (double)m : 0.0);
    }
}

int cmd_info(int argc, char **argv)
{
    tool_data td = tool_data_default();
    sr_task task = SR_TASK_CLASSIFICATION;
    int c, json = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", info_options, NULL)) != -1) {
        int r = tool_data_option(c, optarg, &td);
        if (r == 0)
            return EXIT_USAGE;
        if (r == 1)
            continue;
        switch (c) {
        case OPT_REGRESSION: task = SR_TASK_REGRESSION; break;
        case OPT_JSON: json = 1; break;
        case 'h': help_info(); return 0;
        default: tool_bad_option(c, argv, "info", info_options); return EXIT_USAGE;
        }
    }
    if (!tool_operands(argc, argv, 1, info_usage))
        return EXIT_USAGE;
    const char *path = argv[optind];
    int status = 1;
    if (tool_is_model_file(path)) {
        sr_model *model = NULL;
        if (tool_load_model(path, &model)) {
            if (json)
                model_json(path, model);
            else
                describe_model(path, model);
            status = 0;
        }
        sr_model_free(model);
    } else {
        sr_dataset *ds = NULL;
        if (tool_load_data(path, &td, task, &ds)) {
            if (json)
                data_json(path, task, ds);
            else
                describe_data(path, &td, task, ds);
            status = 0;
        }
        sr_dataset_free(ds);
    }
    if (status == 0 && !tool_stdout_done())
        status = 1;
    return status;
}
