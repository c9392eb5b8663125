/* softreg export: a model's parameters as .npy files or as a C header. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools.h"

static const char export_usage[] =
    "softreg export MODEL --npy DIR | --header FILE.h [--name PREFIX]";

void help_export(void)
{
    printf(
        "usage: %s\n"
        "\n"
        "Writes the parameters of the model file MODEL for use elsewhere. At\n"
        "least one of --npy and --header; both may be given.\n"
        "\n"
        "  --npy DIR            one NumPy file per parameter block, DIR/<name>.npy\n"
        "                       (theta.npy [b.npy], or W1.npy [b1.npy] W2.npy\n"
        "                       [b2.npy]), float32 in C order, readable by\n"
        "                       numpy.load; DIR is created if missing\n"
        "  --header FILE.h      a self-contained C header: the sizes as macros\n"
        "                       (PREFIX_FEATURES, _POLY, _INPUTS, _OUTPUTS,\n"
        "                       _CLASSES, _HIDDEN), the parameters as static const\n"
        "                       float arrays (PREFIX_theta[n][k], PREFIX_b[k], ...;\n"
        "                       9 significant digits, exact in float32), the class\n"
        "                       names as PREFIX_class_names, and static inline\n"
        "                       functions PREFIX_scores(x, out) (the raw scores)\n"
        "                       and PREFIX_predict(x) (the class: argmax of the\n"
        "                       scores, or score >= 0 for logistic regression;\n"
        "                       for linear regression PREFIX_predict(x, y) writes\n"
        "                       the predicted values). The polynomial feature map\n"
        "                       and the standardisation (PREFIX_mean and\n"
        "                       PREFIX_inv_std, when the model has it) are\n"
        "                       applied inside PREFIX_scores, as predict does.\n"
        "  --name PREFIX        the C identifier prefixed to every name in the\n"
        "                       header (default: the header's file name without\n"
        "                       its extension, made an identifier)\n"
        "  -h, --help           this help\n"
        "\n"
        "Every file is written to a temporary file beside it, synced and renamed:\n"
        "none is ever partly written.\n"
        "\n"
        "Exit status: 0 success, 1 a file could not be read or written, 2 bad\n"
        "usage or a model the header cannot express.\n", export_usage);
}

enum { OPT_NPY = OPT_TOOL_FIRST, OPT_HEADER, OPT_NAME };

static const struct option export_options[] = {
    {"npy", required_argument, 0, OPT_NPY},
    {"header", required_argument, 0, OPT_HEADER},
    {"name", required_argument, 0, OPT_NAME},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static int is_identifier(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* The default prefix: the header's base name without its extension, with
 * every character that cannot be in an identifier made '_'. */
static char *prefix_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *p = malloc(len + 2);
    if (!p)
        return NULL;
    size_t q = 0;
    if (len == 0 || isdigit((unsigned char)base[0]))
        p[q++] = 'm';
    for (size_t i = 0; i < len; i++)
        p[q++] = isalnum((unsigned char)base[i]) ? base[i] : '_';
    p[q] = '\0';
    return p;
}

/* A float32 as a C literal that reads back as the same value. */
static void put_float(FILE *f, float v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.9g", (double)v);
    size_t len = strlen(buf);
    if (!strpbrk(buf, ".e"))
        snprintf(buf + len, sizeof buf - len, ".0");
    fprintf(f, "%sf", buf);
}

static void put_c_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?') /* '?': no trigraphs */
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(f, "\\%03o", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A bias block (b, b1, b2) is written as a vector, a weight as a matrix. */
static int is_bias(const char *name) { return name[0] == 'b'; }

/* A 1-D array of the model's inputs (PREFIX_INPUTS floats). */
static void put_vector(FILE *f, const char *prefix, const char *name,
                       const char *M, const float *v, size_t count)
{
    fprintf(f, "static const float %s_%s[%s_INPUTS] = {", prefix, name, M);
    for (size_t j = 0; j < count; j++) {
        fputs(j % 6 ? ", " : (j ? ",\n    " : "\n    "), f);
        put_float(f, v[j]);
    }
    fprintf(f, "\n};\n\n");
}

static void put_block(FILE *f, const char *prefix, const char *name,
                      const float *w, size_t rows, size_t cols)
{
    if (is_bias(name) && rows == 1) {
        fprintf(f, "static const float %s_%s[%zu] = {", prefix, name, cols);
        for (size_t j = 0; j < cols; j++) {
            fputs(j % 6 ? ", " : (j ? ",\n    " : "\n    "), f);
            put_float(f, w[j]);
        }
        fprintf(f, "\n};\n\n");
        return;
    }
    fprintf(f, "static const float %s_%s[%zu][%zu] = {\n", prefix, name, rows,
            cols);
    for (size_t i = 0; i < rows; i++) {
        fputs("    {", f);
        for (size_t j = 0; j < cols; j++) {
            if (j)
                fputs(j % 6 ? ", " : ",\n     ", f);
            put_float(f, w[i * cols + j]);
        }
        fputs(i + 1 < rows ? "},\n" : "}\n", f);
    }
    fprintf(f, "};\n\n");
}

/* The model file's name in a comment: nothing that could end it. */
static void put_comment_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(isalnum((unsigned char)*s) || strchr("._-/+ ", *s) ? *s : '?', f);
}

/* The forward pass, written for this model's kind. P is the prefix, M its
 * upper-case form (the macros). */
static void put_functions(FILE *f, const char *P, const char *M,
                          const sr_model *model)
{
    sr_model_kind kind = sr_model_kind_of(model);
    int bias = sr_model_has_bias(model), nn = kind == SR_MODEL_NN;
    const char *W = nn ? "W1" : "theta", *B = nn ? "b1" : "b";
    const char *H = nn ? "HIDDEN" : "OUTPUTS", *acc = nn ? "h" : "z";
    fprintf(f,
            "/* The raw scores of the raw features x[%s_FEATURES] into\n"
            " * out[%s_OUTPUTS]: %s. Sums are taken in double. */\n"
            "static inline void %s_scores(const float *x, float *out)\n"
            "{\n",
            M, M,
            kind == SR_MODEL_SOFTMAX ? "the logits x theta (+ b)"
            : kind == SR_MODEL_NN   ? "the logits ReLU(x W1 (+ b1)) W2 (+ b2)"
            : kind == SR_MODEL_LINEAR ? "the predictions x theta (+ b)"
                                      : "the logit of P(y = 1), x theta (+ b)",
            P);
    if (nn)
        fprintf(f, "    double h[%s_HIDDEN];\n", M);
    fprintf(f, "    double z[%s_OUTPUTS];\n", M);
    fprintf(f, "    for (size_t c = 0; c < %s_%s; c++)\n", M, H);
    if (bias)
        fprintf(f, "        %s[c] = %s_%s[c];\n", acc, P, B);
    else
        fprintf(f, "        %s[c] = 0.0;\n", acc);
    fprintf(f,
            "    for (size_t j = 0; j < %s_FEATURES; j++) {\n"
            "        /* The feature map: x_j, x_j^2, ..., x_j^POLY, each power\n"
            "         * taken in double and rounded once to float; power p + 1\n"
            "         * of feature j is input p * FEATURES + j. */\n"
            "        double v = x[j], power = v;\n"
            "        for (size_t p = 0; p < %s_POLY; p++, power *= v) {\n"
            "            size_t i = p * %s_FEATURES + j;\n"
            "            double xp = (float)power;\n",
            M, M, M);
    if (sr_model_mean(model))
        fprintf(f,
                "            float centred = (float)xp - %s_mean[i];\n"
                "            xp = centred * %s_inv_std[i];\n",
                P, P);
    else
        fprintf(f,
                "            if (xp == 0.0)\n"
                "                continue;\n");
    fprintf(f,
            "            const float *row = %s_%s[i];\n"
            "            for (size_t c = 0; c < %s_%s; c++)\n"
            "                %s[c] += xp * row[c];\n"
            "        }\n"
            "    }\n",
            P, W, M, H, acc);
    if (nn) {
        fprintf(f, "    for (size_t c = 0; c < %s_OUTPUTS; c++)\n", M);
        if (bias)
            fprintf(f, "        z[c] = %s_b2[c];\n", P);
        else
            fprintf(f, "        z[c] = 0.0;\n");
        fprintf(f,
                "    for (size_t a = 0; a < %s_HIDDEN; a++) {\n"
                "        double ha = (float)h[a]; /* ReLU(x W1 + b1) in float */\n"
                "        if (ha <= 0.0)\n"
                "            continue;\n"
                "        for (size_t c = 0; c < %s_OUTPUTS; c++)\n"
                "            z[c] += ha * %s_W2[a][c];\n"
                "    }\n",
                M, M, P);
    }
    fprintf(f,
            "    for (size_t c = 0; c < %s_OUTPUTS; c++)\n"
            "        out[c] = (float)z[c];\n"
            "}\n\n",
            M);
    if (kind == SR_MODEL_LINEAR) {
        fprintf(f,
                "/* The predicted values y[%s_OUTPUTS] of the raw features x. */\n"
                "static inline void %s_predict(const float *x, float *y)\n"
                "{\n"
                "    %s_scores(x, y);\n"
                "}\n\n",
                M, P, P);
    } else if (kind == SR_MODEL_LOGISTIC) {
        fprintf(f,
                "/* The predicted class of the raw features x: 1 when\n"
                " * P(y = 1) >= 1/2, else 0 (an index into %s_class_names). */\n"
                "static inline int %s_predict(const float *x)\n"
                "{\n"
                "    float z[%s_OUTPUTS];\n"
                "    %s_scores(x, z);\n"
                "    return z[0] >= 0.0f;\n"
                "}\n\n",
                P, P, M, P);
    } else {
        fprintf(f,
                "/* The predicted class of the raw features x: the largest\n"
                " * score, the first of equal ones (an index into\n"
                " * %s_class_names). */\n"
                "static inline int %s_predict(const float *x)\n"
                "{\n"
                "    float z[%s_OUTPUTS];\n"
                "    %s_scores(x, z);\n"
                "    size_t best = 0;\n"
                "    for (size_t c = 1; c < %s_OUTPUTS; c++)\n"
                "        if (z[c] > z[best])\n"
                "            best = c;\n"
                "    return (int)best;\n"
                "}\n\n",
                P, P, M, P, M);
    }
}

static void put_header(FILE *f, const char *model_path, const char *P,
                       const sr_model *model)
{
    size_t len = strlen(P);
    char *M = malloc(len + 1);
    if (!M) {
        fputs("#error out of memory writing this header\n", f);
        return;
    }
    for (size_t i = 0; i <= len; i++)
        M[i] = (char)toupper((unsigned char)P[i]);
    sr_model_kind kind = sr_model_kind_of(model);
    size_t n = sr_model_features(model), k = sr_model_outputs(model);
    size_t classes = kind == SR_MODEL_LINEAR ? 0 : sr_model_classes(model);
    unsigned poly = sr_model_poly(model);
    fprintf(f, "/* Generated by softreg %s (softreg export --header) from ",
            sr_version());
    put_comment_text(f, model_path);
    fprintf(f, ":\n * %s, %zu features", sr_model_kind_name(kind), n);
    if (kind == SR_MODEL_LINEAR)
        fprintf(f, ", %zu target%s", k, k == 1 ? "" : "s");
    else
        fprintf(f, ", %zu classes", classes);
    if (kind == SR_MODEL_NN)
        fprintf(f, ", %zu hidden units", sr_model_hidden(model));
    fprintf(f, ", %s", sr_model_has_bias(model) ? "with biases" : "no biases");
    if (poly > 1)
        fprintf(f, ", polynomial features of degree %u", poly);
    fprintf(f, ".\n *\n"
               " * Self-contained: include it in one or more C files; everything\n"
               " * is static. %s_predict(x%s) and %s_scores(x, out) take the raw\n"
               " * features x[%s_FEATURES]. */\n",
            P, kind == SR_MODEL_LINEAR ? ", y" : "", P, M);
    fprintf(f, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n", M, M);
    fprintf(f, "#define %s_FEATURES %zu /* raw input features */\n", M, n);
    fprintf(f, "#define %s_POLY %u /* feature map x, x^2, ..., x^POLY */\n", M, poly);
    fprintf(f, "#define %s_INPUTS %zu /* FEATURES * POLY: rows of %s */\n", M,
            n * poly, kind == SR_MODEL_NN ? "W1" : "theta");
    fprintf(f, "#define %s_OUTPUTS %zu /* scores per example */\n", M, k);
    fprintf(f, "#define %s_CLASSES %zu /* 0 for linear regression */\n", M, classes);
    fprintf(f, "#define %s_HIDDEN %zu /* 0 without a hidden layer */\n\n", M,
            sr_model_hidden(model));
    if (classes) {
        fprintf(f, "static const char *const %s_class_names[%s_CLASSES] = {", P, M);
        char buf[24];
        for (size_t c = 0; c < classes; c++) {
            fputs(c % 8 ? ", " : (c ? ",\n    " : "\n    "), f);
            put_c_string(f, tool_class_label(model, c, buf, sizeof buf));
        }
        fprintf(f, "\n};\n\n");
    }
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        const char *name;
        size_t rows, cols;
        const float *w = sr_model_param(model, b, &name, &rows, &cols);
        put_block(f, P, name, w, rows, cols);
    }
    if (sr_model_mean(model)) {
        fprintf(f, "/* The standardisation: input i becomes (x_i - mean[i]) *\n"
                   " * inv_std[i], each operation in float. */\n");
        put_vector(f, P, "mean", M, sr_model_mean(model), n * poly);
        put_vector(f, P, "inv_std", M, sr_model_inv_std(model), n * poly);
    }
    put_functions(f, P, M, model);
    fprintf(f, "#endif /* %s_H */\n", M);
    free(M);
}

/* Whether every parameter can be written as a C float literal. */
static int all_finite(const sr_model *model)
{
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        size_t rows, cols;
        const float *w = sr_model_param(model, b, NULL, &rows, &cols);
        for (size_t i = 0; i < rows * cols; i++)
            if (!isfinite(w[i]))
                return 0;
    }
    return 1;
}

static int write_npy(const char *dir, const sr_model *model)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "softreg: --npy: cannot create %s: %s\n", dir,
                strerror(errno));
        return 0;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "softreg: --npy: %s exists and is not a directory\n", dir);
        return 0;
    }
    sr_error err;
    if (sr_model_save_npy(model, dir, &err) != SR_OK) {
        cli_error(&err, NULL);
        return 0;
    }
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        const char *name;
        size_t rows, cols;
        sr_model_param(model, b, &name, &rows, &cols);
        printf("wrote %s/%s.npy (%zu x %zu)\n", dir, name, rows, cols);
    }
    if (sr_model_poly(model) > 1)
        fprintf(stderr, "softreg: note: the model's inputs are the polynomial "
                        "features x, x^2, ..., x^%u (%zu rows, power p of "
                        "feature j at row (p - 1) * %zu + j)\n",
                sr_model_poly(model),
                sr_model_features(model) * sr_model_poly(model),
                sr_model_features(model));
    if (sr_model_is_standardized(model))
        printf("wrote %s/mean.npy and %s/inv_std.npy (1 x %zu): input i of "
               "theta or W1 is (x_i - mean[i]) * inv_std[i]\n", dir, dir,
               sr_model_features(model) * sr_model_poly(model));
    return 1;
}

int cmd_export(int argc, char **argv)
{
    const char *npy_dir = NULL, *header = NULL, *name = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", export_options, NULL)) != -1) {
        switch (c) {
        case OPT_NPY: npy_dir = optarg; break;
        case OPT_HEADER: header = optarg; break;
        case OPT_NAME:
            if (!is_identifier(optarg)) {
                fprintf(stderr, "softreg: --name: expected a C identifier "
                                "(letters, digits and _), got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            name = optarg;
            break;
        case 'h': help_export(); return 0;
        default: tool_bad_option(c, argv, "export", export_options); return EXIT_USAGE;
        }
    }
    if (!tool_operands(argc, argv, 1, export_usage))
        return EXIT_USAGE;
    if (!npy_dir && !header) {
        fprintf(stderr, "softreg: export needs --npy DIR or --header FILE.h\n"
                        "usage: %s\n", export_usage);
        return EXIT_USAGE;
    }
    if ((npy_dir && !npy_dir[0]) || (header && !header[0])) {
        fprintf(stderr, "softreg: --%s: expected a %s name\n",
                npy_dir && !npy_dir[0] ? "npy" : "header",
                npy_dir && !npy_dir[0] ? "directory" : "file");
        return EXIT_USAGE;
    }
    if (name && !header) {
        fprintf(stderr, "softreg: --name goes with --header\n");
        return EXIT_USAGE;
    }
    const char *model_path = argv[optind];
    sr_model *model = NULL;
    char *prefix = NULL;
    tool_out out = TOOL_OUT_INIT;
    int status = 1;
    if (!tool_load_model(model_path, &model))
        goto done;
    /* Everything is checked before anything is written. */
    if (header) {
        if (!all_finite(model)) {
            fprintf(stderr, "softreg: --header: %s holds a parameter that is "
                            "NaN or infinite\n", model_path);
            goto done;
        }
        if (!name && !(name = prefix = prefix_from_path(header))) {
            fprintf(stderr, "softreg: out of memory\n");
            goto done;
        }
    }
    if (npy_dir && !write_npy(npy_dir, model))
        goto done;
    if (header) {
        if (!tool_out_open(&out, header))
            goto done;
        put_header(out.f, model_path, name, model);
        if (!tool_out_commit(&out))
            goto done;
        printf("wrote %s (prefix %s)\n", header, name);
    }
    if (tool_stdout_done())
        status = 0;
done:
    tool_out_abort(&out);
    free(prefix);
    sr_model_free(model);
    return status;
}
