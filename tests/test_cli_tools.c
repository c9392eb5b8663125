/* End-to-end tests of the subcommands that use model and data files: eval,
 * predict, info, gradcheck and export, run through the built command
 * (build/softreg, or $SOFTREG_BIN, which may be "valgrind ... softreg") and
 * checked against the library's own answers. */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"
#include "cmdutil.h"

/* The MNIST model the tests share (the scratch directory is cmdutil.h's
 * dir). */
static char mnist_model[300], t10k[300];

/* Past a line's first CSV field (quoted or not), at the comma or newline
 * after it. */
static const char *skip_field(const char *line)
{
    if (line[0] == '"') {
        const char *q = line + 1;
        while (!(q[0] == '"' && q[1] != '"')) {
            assert_true(q[0] != '\0');
            q += q[0] == '"' ? 2 : 1;
        }
        return q + 1;
    }
    return line + strcspn(line, ",\n");
}

/* The comma-separated numbers of a line, after its first field when
 * `skip_first` is set; stops at the end of the line. */
static size_t parse_floats(const char *line, int skip_first, float *v,
                           size_t max)
{
    const char *p = skip_first ? skip_field(line) : line - 1;
    size_t count = 0;
    while ((p < line || *p == ',') && count < max) {
        char *end;
        v[count++] = strtof(p + 1, &end);
        assert_true(end != p + 1);
        p = end;
    }
    return count;
}

/* ---- Fixtures: a scratch directory and a small MNIST softmax model ------- */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/softreg-tools-%ld", (long)getpid());
    if (mkdir(dir, 0777) != 0)
        return -1;
    path_in_dir(mnist_model, sizeof mnist_model, "mnist.srm");
    snprintf(t10k, sizeof t10k, "%s/t10k-images-idx3-ubyte", test_mnist_dir());
    sr_dataset *train = NULL;
    sr_model *model = NULL;
    sr_error err;
    sr_train_params p = sr_train_params_default();
    p.epochs = 2;
    p.evaluate = 0;
    int ok = sr_dataset_load_mnist(test_mnist_dir(), "train", &train, &err) == SR_OK &&
             sr_dataset_truncate(train, 2000, &err) == SR_OK &&
             sr_train(train, NULL, &p, NULL, NULL, &model, &err) == SR_OK &&
             sr_model_save(model, mnist_model, &err) == SR_OK;
    if (!ok)
        fprintf(stderr, "setup: %s\n", err.message);
    sr_model_free(model);
    sr_dataset_free(train);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static sr_model *load_model(const char *path)
{
    sr_model *model = NULL;
    assert_sr_ok(sr_model_load(path, &model, &e_));
    return model;
}

static sr_dataset *load_t10k(void)
{
    sr_dataset *ds = NULL;
    assert_sr_ok(sr_dataset_load_mnist(test_mnist_dir(), "t10k", &ds, &e_));
    return ds;
}

/* Small tabular files: three classes with string names (one holding the
 * delimiter), two classes 0/1, and a regression target. */
static void write_tables(char *cls, char *bin, char *reg)
{
    path_in_dir(cls, 300, "cls.csv");
    path_in_dir(bin, 300, "bin.csv");
    path_in_dir(reg, 300, "reg.csv");
    FILE *f = fopen(cls, "w");
    assert_non_null(f);
    fprintf(f, "a,b,c,species\n");
    for (int i = 0; i < 30; i++) {
        static const char *names[] = {"setosa", "\"versi, color\"", "virginica"};
        int c = i % 3;
        fprintf(f, "%.3f,%.3f,%.3f,%s\n", c + 0.37 * ((i * 7) % 5 - 2),
                0.5 * ((i * 3) % 7 - 3), -c + 0.21 * ((i * 5) % 9 - 4), names[c]);
    }
    fclose(f);
    f = fopen(bin, "w");
    assert_non_null(f);
    for (int i = 0; i < 20; i++)
        fprintf(f, "%.3f,%.3f,%d\n", (i % 2) + 0.3 * ((i * 7) % 5 - 2),
                0.4 * ((i * 3) % 7 - 3), i % 2);
    fclose(f);
    f = fopen(reg, "w");
    assert_non_null(f);
    fprintf(f, "x1,x2,y\n");
    for (int i = 0; i < 20; i++) {
        double x1 = -1 + 0.1 * i, x2 = 0.05 * ((i * 7) % 20) - 0.5;
        fprintf(f, "%.4f,%.4f,%.4f\n", x1, x2, 3 * x1 - 2 * x2 + 1 + 0.01 * (i % 3));
    }
    fclose(f);
}

/* Trains a small model on a CSV file through the API and saves it. */
static void train_csv(const char *csv, sr_model_kind kind, size_t hidden,
                      unsigned poly, const char *path)
{
    sr_tabular_options opt = sr_tabular_options_default();
    opt.task = kind == SR_MODEL_LINEAR ? SR_TASK_REGRESSION : SR_TASK_CLASSIFICATION;
    sr_dataset *ds = NULL;
    sr_model *model = NULL;
    assert_sr_ok(sr_dataset_load_csv(csv, &opt, &ds, &e_));
    sr_train_params p = sr_train_params_default();
    p.model = kind;
    p.hidden = hidden;
    p.bias = 1;
    p.poly = poly;
    p.epochs = 30;
    p.lr = kind == SR_MODEL_LINEAR ? 0.05 : 0.3;
    p.batch = 10;
    p.evaluate = 0;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &model, &e_));
    assert_sr_ok(sr_model_save(model, path, &e_));
    sr_model_free(model);
    sr_dataset_free(ds);
}

/* ---- eval ------------------------------------------------------------------ */

static void test_eval_mnist_agrees_with_library(void **state)
{
    (void)state;
    sr_model *model = load_model(mnist_model);
    sr_dataset *ds = load_t10k();
    double loss, error;
    assert_sr_ok(sr_model_evaluate(model, ds, &loss, &error, &e_));
    size_t counts[100];
    assert_sr_ok(sr_model_confusion(model, ds, counts, &e_));

    /* The labels file beside the images is found by itself. */
    expect_run(0, "eval %s %s", mnist_model, t10k);
    double got_loss, got_error;
    const char *at = strstr(out, "loss: ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "loss: %lf", &got_loss), 1);
    at = strstr(out, "error rate: ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "error rate: %lf", &got_error), 1);
    assert_close(got_loss, loss, 5e-7);
    assert_close(got_error, error, 5e-7);
    assert_contains(out, "10000 examples");
    /* The confusion matrix: a header of class labels, then one row per
     * true class. */
    at = strstr(out, "true\\pred");
    assert_non_null(at);
    at = strchr(at, '\n') + 1;
    for (size_t t = 0; t < 10; t++) {
        char *end;
        assert_int_equal(strtoul(at, &end, 10), t);
        at = end;
        for (size_t p = 0; p < 10; p++) {
            assert_int_equal(strtoul(at, &end, 10), counts[t * 10 + p]);
            at = end;
        }
        assert_int_equal(*at, '\n');
        at++;
    }

    expect_run(0, "eval %s %s --labels %s/t10k-labels-idx1-ubyte --json",
               mnist_model, t10k, test_mnist_dir());
    at = strstr(out, "\"loss\": ");
    assert_non_null(at);
    assert_close(strtod(at + 8, NULL), loss, 1e-8 * loss);
    /* the keys of train --json, without the set's prefix */
    at = strstr(out, "\"err\": ");
    assert_non_null(at);
    assert_close(strtod(at + 7, NULL), error, 1e-9);
    assert_contains(out, "\"confusion\": [[");
    sr_dataset_free(ds);
    sr_model_free(model);
}

static void test_eval_tabular_models(void **state)
{
    (void)state;
    char cls[300], bin[300], reg[300], m_cls[300], m_bin[300], m_reg[300];
    write_tables(cls, bin, reg);
    path_in_dir(m_cls, sizeof m_cls, "cls.srm");
    path_in_dir(m_bin, sizeof m_bin, "bin.srm");
    path_in_dir(m_reg, sizeof m_reg, "reg.srm");
    train_csv(cls, SR_MODEL_SOFTMAX, 0, 1, m_cls);
    train_csv(bin, SR_MODEL_LOGISTIC, 0, 1, m_bin);
    train_csv(reg, SR_MODEL_LINEAR, 0, 1, m_reg);

    /* Class names label the confusion matrix. */
    expect_run(0, "eval %s %s", m_cls, cls);
    assert_contains(out, "versi, color");
    assert_contains(out, "setosa");
    assert_contains(out, "confusion matrix");
    expect_run(0, "eval %s %s", m_bin, bin);
    assert_contains(out, "true\\pred");

    /* Linear regression: loss and RMSE, agreeing with the library. */
    sr_model *model = load_model(m_reg);
    sr_tabular_options opt = sr_tabular_options_default();
    opt.task = SR_TASK_REGRESSION;
    sr_dataset *ds = NULL;
    assert_sr_ok(sr_dataset_load_csv(reg, &opt, &ds, &e_));
    double loss, rmse;
    assert_sr_ok(sr_model_evaluate(model, ds, &loss, &rmse, &e_));
    expect_run(0, "eval %s %s --json", m_reg, reg);
    const char *at = strstr(out, "\"rmse\": ");
    assert_non_null(at);
    assert_close(strtod(at + 8, NULL), rmse, 1e-8 * rmse + 1e-12);
    assert_null(strstr(out, "confusion"));
    sr_dataset_free(ds);
    sr_model_free(model);
}

static void test_eval_wrong_width(void **state)
{
    (void)state;
    char csv[300], svm[300];
    path_in_dir(csv, sizeof csv, "three.csv");
    write_text(csv, "0.1,0.2,0.3,7\n0.4,0.5,0.6,2\n");
    expect_run(1, "eval %s %s", mnist_model, csv);
    assert_contains(errs, "3 feature");
    assert_contains(errs, "784");
    assert_int_equal(out[0], '\0');
    /* LIBSVM declares no width: an entry beyond the model's features has
     * no weight, and is left out and counted, as LIBLINEAR does. */
    path_in_dir(svm, sizeof svm, "wide.svm");
    write_text(svm, "3 1:0.5 300:0.25\n4 2:1 785:0.5 790:1\n");
    expect_run(0, "eval %s %s", mnist_model, svm);
    assert_contains(errs, "2 entries of features beyond the model's 784 were "
                          "left out");
    expect_run(1, "predict %s %s", mnist_model, csv);
    assert_contains(errs, "784");
}

static void test_corrupted_model(void **state)
{
    (void)state;
    size_t len;
    char *bytes = read_all(mnist_model, &len);
    char bad[300];
    path_in_dir(bad, sizeof bad, "bad.srm");
    bytes[len / 2] ^= 0x10;
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    expect_run(1, "eval %s %s", bad, t10k);
    assert_contains(errs, "checksum");
    assert_contains(errs, "softreg: ");
    expect_run(1, "predict %s %s", bad, t10k);
    assert_contains(errs, "checksum");
    expect_run(1, "info %s", bad);
    assert_contains(errs, "checksum");
    expect_run(1, "export %s --npy %s/never", bad, dir);
    assert_contains(errs, "checksum");
    char never[300];
    path_in_dir(never, sizeof never, "never");
    assert_int_not_equal(access(never, F_OK), 0);
    /* Not a model at all. */
    expect_run(1, "eval %s %s", t10k, t10k);
    assert_contains(errs, "not a softreg model file");
}

/* ---- predict --------------------------------------------------------------- */

static void test_predict_classes_proba_scores(void **state)
{
    (void)state;
    sr_model *model = load_model(mnist_model);
    sr_dataset *ds = load_t10k();
    size_t m = sr_dataset_rows(ds), k = 10;
    int32_t *cls = malloc(m * sizeof *cls);
    float *proba = malloc(m * k * sizeof *proba), *z = malloc(m * k * sizeof *z);
    assert_non_null(cls);
    assert_non_null(proba);
    assert_non_null(z);
    assert_sr_ok(sr_model_predict(model, ds, cls, &e_));
    assert_sr_ok(sr_model_predict_proba(model, ds, proba, &e_));
    assert_sr_ok(sr_model_logits(model, ds, z, &e_));

    char path[300];
    path_in_dir(path, sizeof path, "pred.csv");
    static const char *modes[] = {"", "--proba", "--scores"};
    for (int mode = 0; mode < 3; mode++) {
        expect_run(0, "predict %s %s %s --out %s", mnist_model, t10k,
                   modes[mode], path);
        assert_int_equal(out[0], '\0'); /* all of it went to the file */
        char *text = read_all(path, NULL);
        const char *line = text;
        assert_true(strncmp(line, "class", 5) == 0);
        if (mode == 1)
            assert_true(strncmp(line, "class,p_0,p_1,", 14) == 0);
        if (mode == 2)
            assert_true(strncmp(line, "class,score_0,score_1,", 22) == 0);
        line = strchr(line, '\n') + 1;
        size_t rows = 0;
        while (*line) {
            assert_true(rows < m);
            char *end;
            assert_int_equal(strtol(line, &end, 10), cls[rows]);
            float v[10];
            size_t count = parse_floats(line, 1, v, 10);
            if (mode == 0) {
                assert_int_equal(count, 0);
            } else {
                assert_int_equal(count, k);
                double sum = 0;
                for (size_t c = 0; c < k; c++) {
                    /* "%.9g" reads back as the very same float. */
                    float want = mode == 1 ? proba[rows * k + c] : z[rows * k + c];
                    assert_true(memcmp(&v[c], &want, sizeof want) == 0);
                    sum += v[c];
                }
                if (mode == 1)
                    assert_close(sum, 1.0, 1e-5);
            }
            line = strchr(line, '\n') + 1;
            rows++;
        }
        assert_int_equal(rows, m);
        free(text);
    }
    free(cls);
    free(proba);
    free(z);
    sr_dataset_free(ds);
    sr_model_free(model);
}

static void test_predict_tabular(void **state)
{
    (void)state;
    char cls[300], bin[300], reg[300], m_cls[300], m_bin[300], m_reg[300];
    write_tables(cls, bin, reg);
    path_in_dir(m_cls, sizeof m_cls, "cls.srm");
    path_in_dir(m_bin, sizeof m_bin, "bin.srm");
    path_in_dir(m_reg, sizeof m_reg, "reg.srm");
    train_csv(cls, SR_MODEL_SOFTMAX, 0, 1, m_cls);
    train_csv(bin, SR_MODEL_LOGISTIC, 0, 1, m_bin);
    train_csv(reg, SR_MODEL_LINEAR, 0, 1, m_reg);

    /* Class names as the file wrote them, quoted when they need it. */
    expect_run(0, "predict %s %s --proba", m_cls, cls);
    assert_true(strncmp(out, "class,p_setosa,\"p_versi, color\",p_virginica\n", 44) == 0);
    assert_contains(out, "\n\"versi, color\",");
    /* Logistic: P(y = 1) alone, and its logit. */
    expect_run(0, "predict %s %s --proba --scores", m_bin, bin);
    assert_true(strncmp(out, "class,p_1,score\n", 16) == 0);
    const char *line = strchr(out, '\n') + 1;
    float v[4];
    assert_int_equal(parse_floats(line, 1, v, 4), 2);
    assert_close(v[0], 1.0 / (1.0 + exp(-(double)v[1])), 1e-6);
    assert_int_equal(line[0] - '0', v[1] >= 0);
    /* Linear: the predicted values. */
    expect_run(0, "predict %s %s", m_reg, reg);
    assert_true(strncmp(out, "y\n", 2) == 0);
    expect_run(2, "predict %s %s --proba", m_reg, reg);
    assert_contains(errs, "linear regression");
}

/* Whether `dir` holds a file whose name starts with `prefix`. */
static int has_file_starting(const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        found |= strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

static void test_predict_out_never_partial(void **state)
{
    (void)state;
    char target[300], bad[300];
    path_in_dir(target, sizeof target, "keep.csv");
    path_in_dir(bad, sizeof bad, "bad.csv");
    write_text(target, "the old predictions\n");
    /* A data file that goes wrong on its third line. */
    char text[8192];
    size_t len = 0;
    for (int r = 0; r < 3; r++) {
        for (int j = 0; j < 784; j++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s,",
                                    r == 2 && j == 500 ? "oops" : "0");
        len += (size_t)snprintf(text + len, sizeof text - len, "%d\n", r);
    }
    write_text(bad, text);
    expect_run(1, "predict %s %s --out %s", mnist_model, bad, target);
    assert_contains(errs, "oops");
    char *kept = read_all(target, NULL);
    assert_string_equal(kept, "the old predictions\n");
    free(kept);
    assert_false(has_file_starting("keep.csv.tmp."));
    /* A directory that does not exist: nothing written anywhere. */
    expect_run(1, "predict %s %s --out %s/no/such/dir/p.csv", mnist_model,
               t10k, dir);
    assert_contains(errs, "no/such/dir");
    /* And a good run replaces the file completely. */
    expect_run(0, "predict %s %s --out %s", mnist_model, t10k, target);
    size_t lines = 0;
    char *got = read_all(target, &len);
    for (size_t i = 0; i < len; i++)
        lines += got[i] == '\n';
    free(got);
    assert_int_equal(lines, 10001);
    assert_false(has_file_starting("keep.csv.tmp."));
}

/* ---- info ------------------------------------------------------------------- */

/* A line "  <name> <rows> x <cols> ..." of the parameter table in out[]. */
static void assert_block_shape(const char *name, size_t rows, size_t cols)
{
    char key[64];
    snprintf(key, sizeof key, "\n  %s ", name);
    const char *at = strstr(out, key);
    assert_non_null(at);
    size_t r, c;
    assert_int_equal(sscanf(at + strlen(key), "%zu x %zu", &r, &c), 2);
    assert_int_equal(r, rows);
    assert_int_equal(c, cols);
}

static void test_info_model(void **state)
{
    (void)state;
    sr_model *model = load_model(mnist_model);
    size_t rows, cols;
    const float *w = sr_model_param(model, 0, NULL, &rows, &cols);
    double sq = 0;
    for (size_t i = 0; i < rows * cols; i++)
        sq += (double)w[i] * w[i];
    sr_model_free(model);
    expect_run(0, "info %s", mnist_model);
    assert_contains(out, "softreg model file");
    assert_contains(out, "kind:         softmax");
    assert_contains(out, "features:     784");
    assert_contains(out, "classes:      10");
    assert_contains(out, "bias:         no");
    assert_contains(out, "standardised: no");
    const char *at = strstr(out, "\n  theta");
    assert_non_null(at);
    double norm;
    assert_int_equal(sscanf(at, " theta %zu x %zu %lf", &rows, &cols, &norm), 3);
    assert_int_equal(rows, 784);
    assert_int_equal(cols, 10);
    assert_close(norm, sqrt(sq), 1e-5 * sqrt(sq));

    char cls[300], bin[300], reg[300], m_nn[300];
    write_tables(cls, bin, reg);
    path_in_dir(m_nn, sizeof m_nn, "nn.srm");
    train_csv(cls, SR_MODEL_NN, 6, 2, m_nn);
    expect_run(0, "info %s", m_nn);
    assert_contains(out, "kind:         nn");
    assert_contains(out, "hidden units: 6");
    assert_contains(out, "polynomial of degree 2");
    assert_contains(out, "setosa \"versi, color\" virginica");
    assert_block_shape("W1", 6, 6);
    assert_block_shape("b2", 1, 3);
}

/* An .npy file of the given dtype and shape ("(4, 2)"). */
static void write_npy(const char *path, const char *descr, const char *shape,
                      const void *data, size_t bytes)
{
    char head[256];
    int len = snprintf(head, sizeof head,
                       "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                       descr, shape);
    size_t total = 10 + (size_t)len + 1;
    size_t pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint16_t hl = (uint16_t)(len + 1 + pad);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(head, 1, (size_t)len, f);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, bytes, f);
    fclose(f);
}

static void test_info_data_formats(void **state)
{
    (void)state;
    char csv[300], svm[300], x[300], y[300], reg[300];
    path_in_dir(csv, sizeof csv, "tiny.csv");
    write_text(csv, "h,w,animal\n1,2,cat\n3,0,dog\n5,6,cat\n");
    expect_run(0, "info %s", csv);
    assert_contains(out, "format:       csv");
    assert_contains(out, "examples:     3");
    assert_contains(out, "features:     2");
    assert_contains(out, "storage:      dense");
    assert_contains(out, "non-zeros:    5 of 6");
    assert_contains(out, "values:       0 .. 6");
    assert_contains(out, "classes:      2");
    assert_contains(out, "cat");
    assert_true(strstr(out, "cat                2") || strstr(out, "cat    "));

    path_in_dir(svm, sizeof svm, "tiny.svm");
    write_text(svm, "+1 1:0.5 4:2\n-1 2:1\n+1 3:-1.5 # comment\n");
    expect_run(0, "info %s", svm);
    assert_contains(out, "format:       libsvm");
    assert_contains(out, "examples:     3");
    assert_contains(out, "features:     4");
    assert_contains(out, "storage:      sparse");
    assert_contains(out, "non-zeros:    4 of 12");
    assert_contains(out, "values:       -1.5 .. 2");
    const char *at = strstr(out, "-1");
    assert_non_null(at);

    path_in_dir(x, sizeof x, "x.npy");
    path_in_dir(y, sizeof y, "y.npy");
    const float X[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    const int64_t Y[4] = {3, 1, 3, 3};
    write_npy(x, "<f4", "(4, 2)", X, sizeof X);
    write_npy(y, "<i8", "(4,)", Y, sizeof Y);
    expect_run(0, "info %s --labels %s", x, y);
    assert_contains(out, "format:       npy");
    assert_contains(out, "examples:     4");
    assert_contains(out, "features:     2");
    assert_contains(out, "values:       0 .. 7");
    assert_contains(out, "classes:      2");
    expect_run(1, "info %s", x);
    assert_contains(errs, "--labels");

    path_in_dir(reg, sizeof reg, "reg.csv");
    write_text(reg, "x;y\n1;2.5\n2;4.75\n");
    expect_run(0, "info %s --regression --delimiter ';'", reg);
    assert_contains(out, "targets:      1 per example");
    assert_null(strstr(out, "classes"));

    expect_run(0, "info %s", t10k);
    assert_contains(out, "format:       idx");
    assert_contains(out, "examples:     10000");
    assert_contains(out, "features:     784");
    assert_contains(out, "classes:      10");
    assert_contains(out, "values:       0 .. 1");

    char empty[300];
    path_in_dir(empty, sizeof empty, "empty.csv");
    write_text(empty, "");
    expect_run(1, "info %s", empty);
    assert_contains(errs, empty);
    expect_run(1, "info %s/does-not-exist", dir);
}

/* info on wide sparse data costs what the stored values cost: 200 rows of
 * 2,000,000 features (400 million cells) and 3 rows of 2^31 - 1 features
 * (6.4 billion) are described at once, with the right counts. */
static void test_info_wide_sparse(void **state)
{
    (void)state;
    char svm[300], huge[300];
    path_in_dir(svm, sizeof svm, "wide.svm");
    FILE *f = fopen(svm, "wb");
    assert_non_null(f);
    /* Row i: features i+1 (value 1), 1000000+i (value -0.5) and, on even
     * rows, 2000000 (value 2); row 1 adds an explicit zero, dropped. */
    size_t nz = 0;
    for (size_t i = 0; i < 200; i++) {
        fprintf(f, "%d %zu:1 %zu:-0.5", i % 3 == 0 ? 1 : -1, i + 1,
                1000000 + i);
        nz += 2;
        if (i == 1)
            fprintf(f, " 1999999:0");
        if (i % 2 == 0) {
            fprintf(f, " 2000000:2");
            nz++;
        }
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
    expect_run(0, "info %s", svm);
    assert_contains(out, "format:       libsvm");
    assert_contains(out, "examples:     200");
    assert_contains(out, "features:     2000000");
    assert_contains(out, "storage:      sparse (CSR)");
    char want[96];
    snprintf(want, sizeof want, "non-zeros:    %zu of 400000000 (0.00%%)", nz);
    assert_int_equal(nz, 500);
    assert_contains(out, want);
    assert_contains(out, "values:       -0.5 .. 2");
    assert_contains(out, "classes:      2");

    path_in_dir(huge, sizeof huge, "widest.svm");
    write_text(huge, "1 1:3 2147483647:1\n0 5:-1\n1\n");
    expect_run(0, "info %s", huge);
    assert_contains(out, "features:     2147483647");
    assert_contains(out, "non-zeros:    3 of 6442450941 (0.00%)");
    assert_contains(out, "values:       -1 .. 3");
    remove(svm);
    remove(huge);
}

/* ---- gradcheck --------------------------------------------------------------- */

/* Every block's error in the table under "block", each below 1e-4. */
static void assert_gradcheck_ok(size_t blocks)
{
    assert_contains(out, "verdict: ok");
    const char *at = strstr(out, "max rel. error\n");
    assert_non_null(at);
    at = strchr(at, '\n') + 1;
    for (size_t b = 0; b < blocks; b++) {
        char name[32];
        size_t rows, cols, checked;
        double e;
        assert_int_equal(sscanf(at, "%31s %zu x %zu %zu %lf", name, &rows,
                                &cols, &checked, &e), 5);
        assert_true(checked > 0);
        assert_true(e < 1e-4);
        at = strchr(at, '\n') + 1;
    }
    assert_true(strncmp(at, "verdict", 7) == 0);
}

static void test_gradcheck_every_kind(void **state)
{
    (void)state;
    char cls[300], bin[300], reg[300];
    write_tables(cls, bin, reg);
    expect_run(0, "gradcheck %s", cls);
    assert_gradcheck_ok(1);
    expect_run(0, "gradcheck %s --model softmax --bias --l2 0.01 --rows 30", cls);
    assert_gradcheck_ok(2);
    expect_run(0, "gradcheck %s --model nn --hidden 7 --bias", cls);
    assert_gradcheck_ok(4);
    assert_true(strstr(out, "\nW1 ") && strstr(out, " 3 x 7 "));
    expect_run(0, "gradcheck %s --model logistic --bias --per-block 3", bin);
    assert_gradcheck_ok(2);
    expect_run(0, "gradcheck %s --model linear --bias --poly 3 --standardize", reg);
    assert_gradcheck_ok(2);
    expect_run(0, "gradcheck %s --model linear --init zeros --seed 4", reg);
    assert_gradcheck_ok(1);
    /* A saved model on the data it was trained for. */
    expect_run(0, "gradcheck --model-file %s %s --rows 3", mnist_model, t10k);
    assert_gradcheck_ok(1);
    assert_contains(out, mnist_model);
    /* Options that build a model do not go with --model-file. */
    expect_run(2, "gradcheck --model-file %s %s --hidden 3", mnist_model, t10k);
    assert_contains(errs, "--hidden");
    expect_run(1, "gradcheck %s --model logistic", cls);
    assert_contains(errs, "3 classes");
}

/* ---- export ------------------------------------------------------------------ */

static void test_export_npy(void **state)
{
    (void)state;
    char npy[300], theta[400];
    path_in_dir(npy, sizeof npy, "weights");
    expect_run(0, "export %s --npy %s", mnist_model, npy);
    snprintf(theta, sizeof theta, "%s/theta.npy", npy);
    size_t len;
    char *bytes = read_all(theta, &len);
    assert_true(len > 10 && memcmp(bytes, "\x93NUMPY", 6) == 0);
    size_t header = 10 + (size_t)(uint8_t)bytes[8] + 256u * (uint8_t)bytes[9];
    assert_contains(bytes + 10, "'shape': (784, 10)");
    assert_int_equal(len, header + 7840 * 4);
    sr_model *model = load_model(mnist_model);
    const float *w = sr_model_param(model, 0, NULL, NULL, NULL);
    assert_true(memcmp(bytes + header, w, 7840 * 4) == 0); /* little-endian host */
    sr_model_free(model);
    free(bytes);
    /* Again into the existing directory. */
    expect_run(0, "export %s --npy %s", mnist_model, npy);
    /* A file in the way of the directory. */
    expect_run(1, "export %s --npy %s", mnist_model, theta);
    assert_contains(errs, "not a directory");
}

/* Compiles `src` with the header into `exe`; returns the compiler's status. */
static int compile(const char *src, const char *exe, const char *flags)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cc -std=c11 -Wall -Wextra -Wpedantic -Werror %s -I%s -o %s %s 2>&1",
             flags, dir, exe, src);
    return system(cmd);
}

/* The header's predictions on a CSV file's rows equal softreg predict's:
 * the classes exactly, the scores within float rounding. */
static void check_header(const char *model, const char *csv, size_t n,
                         size_t k, int classes, int header_line)
{
    char h[300], src[300], exe[300], xs[300];
    path_in_dir(h, sizeof h, "tm.h");
    expect_run(0, "export %s --header %s --name tm", model, h);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cc -std=c11 -Wall -Wextra -Wpedantic -Werror "
                              "-fsyntax-only -x c %s", h);
    assert_int_equal(system(cmd), 0);

    path_in_dir(src, sizeof src, "driver.c");
    path_in_dir(exe, sizeof exe, "driver");
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fprintf(f, "#include <stdio.h>\n#include <string.h>\n#include \"tm.h\"\n"
               "int main(void)\n{\n"
               "    float x[TM_FEATURES], z[TM_OUTPUTS];\n"
               "    for (;;) {\n"
               "        for (size_t j = 0; j < TM_FEATURES; j++)\n"
               "            if (scanf(\" %%f ,\", &x[j]) != 1)\n"
               "                return 0;\n"
               "        scanf(\"%%*[^\\n]\");\n"
               "        tm_scores(x, z);\n");
    if (classes)
        fprintf(f, "        const char *name = tm_class_names[tm_predict(x)];\n"
                   "        if (strchr(name, ','))\n"
                   "            printf(\"\\\"%%s\\\"\", name);\n"
                   "        else\n"
                   "            printf(\"%%s\", name);\n");
    else
        fprintf(f, "        tm_predict(x, z);\n");
    fprintf(f, "        for (size_t c = 0; c < TM_OUTPUTS; c++)\n"
               "            printf(\"%%s%%.9g\", c || %d ? \",\" : \"\", z[c]);\n", classes);
    fprintf(f, "        printf(\"\\n\");\n"
               "    }\n}\n");
    fclose(f);
    assert_int_equal(compile(src, exe, ""), 0);

    /* The features without the header line and labels, one row a line. */
    path_in_dir(xs, sizeof xs, "features.txt");
    char *text = read_all(csv, NULL);
    const char *line = text;
    if (header_line)
        line = strchr(line, '\n') + 1;
    f = fopen(xs, "w");
    assert_non_null(f);
    size_t rows = 0;
    for (; *line; line = strchr(line, '\n') + 1, rows++) {
        const char *p = line;
        for (size_t j = 0; j < n; j++) {
            char *end;
            fprintf(f, "%.9g,", (double)strtof(p, &end));
            p = end + 1;
        }
        fprintf(f, "0\n");
    }
    fclose(f);
    free(text);

    expect_run(0, "predict %s %s%s", model, csv, classes ? " --scores" : "");
    static char want[1 << 16];
    memcpy(want, out, sizeof want);
    want[sizeof want - 1] = '\0';
    snprintf(cmd, sizeof cmd, "%s < %s", exe, xs);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);

    const char *a = strchr(want, '\n') + 1, *b = out;
    for (size_t r = 0; r < rows; r++) {
        float va[16], vb[16];
        if (classes) {
            size_t la = (size_t)(skip_field(a) - a);
            assert_true(la == (size_t)(skip_field(b) - b) && !strncmp(a, b, la));
        }
        assert_int_equal(parse_floats(a, classes, va, 16), k);
        assert_int_equal(parse_floats(b, classes, vb, 16), k);
        for (size_t c = 0; c < k; c++)
            assert_close(vb[c], va[c], 1e-5 * (1.0 + fabs(va[c])));
        a = strchr(a, '\n') + 1;
        b = strchr(b, '\n') + 1;
    }
    assert_int_equal(*a, '\0');
    assert_int_equal(*b, '\0');
}

static void test_export_header(void **state)
{
    (void)state;
    char cls[300], bin[300], reg[300], m[4][300];
    write_tables(cls, bin, reg);
    path_in_dir(m[0], sizeof m[0], "h_softmax.srm");
    path_in_dir(m[1], sizeof m[1], "h_nn.srm");
    path_in_dir(m[2], sizeof m[2], "h_logistic.srm");
    path_in_dir(m[3], sizeof m[3], "h_linear.srm");
    train_csv(cls, SR_MODEL_SOFTMAX, 0, 1, m[0]);
    train_csv(cls, SR_MODEL_NN, 5, 1, m[1]);
    train_csv(bin, SR_MODEL_LOGISTIC, 0, 1, m[2]);
    train_csv(reg, SR_MODEL_LINEAR, 0, 2, m[3]);
    check_header(m[0], cls, 3, 3, 1, 1);
    check_header(m[1], cls, 3, 3, 1, 1);
    check_header(m[2], bin, 2, 1, 1, 0);
    check_header(m[3], reg, 2, 1, 0, 1);

    /* The MNIST model: a header that compiles, named after its file. */
    char h[300];
    path_in_dir(h, sizeof h, "mnist-weights.h");
    expect_run(0, "export %s --header %s", mnist_model, h);
    char *text = read_all(h, NULL);
    assert_contains(text, "static const float mnist_weights_theta[784][10] = {");
    assert_contains(text, "#define MNIST_WEIGHTS_FEATURES 784");
    assert_contains(text, "static inline int mnist_weights_predict(const float *x)");
    free(text);
    assert_false(has_file_starting("mnist-weights.h.tmp."));

    /* Standardised models (the tabular defaults), one with the polynomial
     * map too: the header applies both, as predict does. */
    const struct {
        const char *file;
        sr_model_kind kind;
        unsigned poly;
        size_t n, k;
        int classes;
    } scaled[] = {{cls, SR_MODEL_SOFTMAX, 1, 3, 3, 1},
                  {reg, SR_MODEL_LINEAR, 2, 2, 1, 0}};
    for (size_t i = 0; i < 2; i++) {
        char std[300];
        path_in_dir(std, sizeof std, "std.srm");
        sr_tabular_options opt = sr_tabular_options_default();
        if (!scaled[i].classes)
            opt.task = SR_TASK_REGRESSION;
        sr_dataset *ds = NULL;
        sr_model *model = NULL;
        assert_sr_ok(sr_dataset_load_csv(scaled[i].file, &opt, &ds, &e_));
        sr_train_params p = sr_train_params_default();
        p.model = scaled[i].kind;
        p.standardize = 1;
        p.poly = scaled[i].poly;
        p.bias = 1;
        p.epochs = 3;
        p.lr = 0.05;
        p.evaluate = 0;
        assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &model, &e_));
        assert_non_null(sr_model_mean(model));
        assert_sr_ok(sr_model_save(model, std, &e_));
        sr_model_free(model);
        sr_dataset_free(ds);
        check_header(std, scaled[i].file, scaled[i].n, scaled[i].k,
                     scaled[i].classes, 1);
    }
}

/* ---- usage and help ---------------------------------------------------------- */

static void test_usage_errors(void **state)
{
    (void)state;
    expect_run(2, "eval");
    assert_contains(errs, "usage: softreg eval");
    expect_run(2, "eval %s", mnist_model);
    expect_run(2, "eval %s %s extra", mnist_model, t10k);
    assert_contains(errs, "extra");
    expect_run(2, "predict %s %s --no-such", mnist_model, t10k);
    assert_contains(errs, "--no-such");
    expect_run(2, "predict %s %s --out", mnist_model, t10k);
    assert_contains(errs, "--out needs a value");
    expect_run(2, "eval %s %s --format xls", mnist_model, t10k);
    assert_contains(errs, "--format");
    expect_run(2, "info");
    expect_run(2, "gradcheck x.csv --rows 0");
    assert_contains(errs, "--rows");
    expect_run(2, "gradcheck x.csv --l2 -1");
    assert_contains(errs, "--l2");
    expect_run(2, "gradcheck x.csv --model svm");
    assert_contains(errs, "--model");
    expect_run(2, "export %s", mnist_model);
    assert_contains(errs, "--npy");
    expect_run(2, "export %s --header x.h --name 'not an identifier'", mnist_model);
    assert_contains(errs, "--name");
    expect_run(2, "help frobnicate");
}

static void test_help(void **state)
{
    (void)state;
    static const struct {
        const char *cmd;
        const char *opts[12];
    } helps[] = {
        {"eval", {"--labels", "--format", "--label-col", "--header",
                  "--no-header", "--delimiter", "--json", "--help"}},
        {"predict", {"--proba", "--scores", "--out", "--labels", "--format",
                     "--label-col", "--delimiter", "--help"}},
        {"info", {"--regression", "--labels", "--format", "--label-col",
                  "--header", "--delimiter", "--help"}},
        {"gradcheck", {"--model", "--hidden", "--bias", "--l2", "--rows",
                       "--per-block", "--seed", "--init", "--model-file",
                       "--lr", "--poly", "--standardize"}},
        {"export", {"--npy", "--header", "--name", "--help"}},
    };
    for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
        expect_run(0, "help %s", helps[i].cmd);
        for (size_t j = 0; j < 12 && helps[i].opts[j]; j++)
            assert_contains(out, helps[i].opts[j]);
        expect_run(0, "%s --help", helps[i].cmd);
        assert_contains(out, "usage: softreg");
    }
    expect_run(0, "help");
    static const char *cmds[] = {"train", "eval", "predict", "info",
                                 "gradcheck", "export", "help", "version"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        assert_contains(out, cmds[i]);
}

/* docs/softreg.1 names every option that `softreg help C` names, for every
 * command C (roff writes "--opt" as "\\-\\-opt"). */
static void test_man_page_covers_help(void **state)
{
    (void)state;
    char *man = read_all("docs/softreg.1", NULL);
    static const char *cmds[] = {"train", "eval", "predict", "info",
                                 "gradcheck", "export", "report"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char section[32];
        snprintf(section, sizeof section, ".SS %s", cmds[i]);
        assert_contains(man, section);
        expect_run(0, "help %s", cmds[i]);
        for (const char *p = strstr(out, "--"); p; p = strstr(p, "--")) {
            size_t len = 2;
            while (p[len] == '-' || (p[len] >= 'a' && p[len] <= 'z') ||
                   (p[len] >= '0' && p[len] <= '9'))
                len++;
            char roff[96] = "\\-\\-";
            size_t q = 4;
            for (size_t j = 2; j < len && q + 3 < sizeof roff; j++) {
                if (p[j] == '-')
                    roff[q++] = '\\';
                roff[q++] = p[j];
            }
            roff[q] = '\0';
            if (len > 2 && !strstr(man, roff)) {
                print_error("softreg help %s names %.*s, docs/softreg.1 does "
                            "not (%s)\n", cmds[i], (int)len, p, roff);
                fail();
            }
            p += len;
        }
    }
    free(man);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_mnist_agrees_with_library),
        cmocka_unit_test(test_eval_tabular_models),
        cmocka_unit_test(test_eval_wrong_width),
        cmocka_unit_test(test_corrupted_model),
        cmocka_unit_test(test_predict_classes_proba_scores),
        cmocka_unit_test(test_predict_tabular),
        cmocka_unit_test(test_predict_out_never_partial),
        cmocka_unit_test(test_info_model),
        cmocka_unit_test(test_info_data_formats),
        cmocka_unit_test(test_info_wide_sparse),
        cmocka_unit_test(test_gradcheck_every_kind),
        cmocka_unit_test(test_export_npy),
        cmocka_unit_test(test_export_header),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_man_page_covers_help),
    };
    return cmocka_run_group_tests_name("cli_tools", tests, setup, teardown) ? 1 : 0;
}
