/* End-to-end tests of the softreg command: the course's default run, and bad
 * input giving a clear message and a non-zero exit status. */
#include "testutil.h"

/* The row's figures, each within 1 in its last (5th) decimal of the course's. */
static void assert_row_close(const char *line, const double expect[4])
{
    size_t epoch;
    double v[4];
    assert_int_equal(sscanf(line, "| %zu | %lf | %lf | %lf | %lf |", &epoch,
                            &v[0], &v[1], &v[2], &v[3]), 5);
    for (int i = 0; i < 4; i++)
        assert_close(v[i], expect[i], 1.01e-5);
}

static void test_default_run_matches_course(void **state)
{
    (void)state;
    static char out[1 << 16], errs[1 << 16];
    char args[512];
    snprintf(args, sizeof args, "train --data %s", test_mnist_dir());
    assert_int_equal(test_run_softreg(args, out, sizeof out, errs, sizeof errs), 0);
    assert_non_null(strstr(out, "| Epoch | Train Loss | Train Err | Test Loss | Test Err |\n"));
    const char *row0 = strstr(out, "|     0 |");
    const char *row9 = strstr(out, "|     9 |");
    assert_non_null(row0);
    assert_non_null(row9);
    const double first[4] = {0.35134, 0.10182, 0.33588, 0.09400};
    const double last[4] = {0.27887, 0.07847, 0.28442, 0.07970};
    assert_row_close(row0, first);
    assert_row_close(row9, last);
    /* The data summary goes to stderr, not into the table. */
    assert_non_null(strstr(errs, "60000 examples"));
    assert_null(strstr(out, "examples"));
}

static void expect_failure(const char *args, int status, const char *phrase)
{
    static char out[1 << 16], errs[1 << 16];
    int st = test_run_softreg(args, out, sizeof out, errs, sizeof errs);
    if (st != status || !strstr(errs, phrase)) {
        print_error("softreg %s: status %d (expected %d), stderr:\n%s\n"
                    "expected to contain: %s\n", args, st, status, errs, phrase);
        fail();
    }
}

static void test_bad_options(void **state)
{
    (void)state;
    expect_failure("train --batch 0", 2, "--batch");
    expect_failure("train --lr -1", 2, "--lr");
    expect_failure("train --lr nan", 2, "--lr");
    expect_failure("train --epochs abc", 2, "--epochs");
    expect_failure("train --model svm", 2, "--model");
    expect_failure("train --hidden 0 --model nn", 2, "--hidden");
    expect_failure("train --no-such-option", 2, "no-such-option");
    expect_failure("frobnicate", 2, "unknown command");
    expect_failure("train --data /nonexistent-dir", 1, "fetch-mnist");
}

static void test_bad_data_file(void **state)
{
    (void)state;
    char imgs[256], labs[256], args[1024];
    /* A label file holding an image file's magic number. */
    const uint8_t bad[8] = {0, 0, 8, 3, 0, 0, 0, 1};
    test_write_tmp(labs, "-labels", bad, sizeof bad);
    snprintf(imgs, sizeof imgs, "%s/train-images-idx3-ubyte", test_mnist_dir());
    snprintf(args, sizeof args, "train --train-images %s --train-labels %s",
             imgs, labs);
    expect_failure(args, 1, labs);
    remove(labs);
    /* Truncated images. */
    const uint8_t cut[20] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28};
    test_write_tmp(imgs, "-images", cut, sizeof cut);
    snprintf(labs, sizeof labs, "%s/train-labels-idx1-ubyte", test_mnist_dir());
    snprintf(args, sizeof args, "train --train-images %s --train-labels %s",
             imgs, labs);
    expect_failure(args, 1, "truncated");
    remove(imgs);
}

static void test_help(void **state)
{
    (void)state;
    static char out[1 << 16], errs[1 << 16];
    assert_int_equal(test_run_softreg("help train", out, sizeof out, errs, sizeof errs), 0);
    const char *opts[] = {"--model", "--hidden", "--epochs", "--lr", "--batch",
                          "--init", "--seed", "--limit", "--threads", "--data",
                          "--save-weights", "--quiet", "--train-images"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        assert_non_null(strstr(out, opts[i]));
    assert_int_equal(test_run_softreg("help", out, sizeof out, errs, sizeof errs), 0);
    assert_non_null(strstr(out, "train"));
}

/* Fashion-MNIST's larger logits overflow the course's unshifted softmax;
 * ours subtracts the row maximum, so both models train without NaN. */
static void test_fashion_mnist_finite(void **state)
{
    (void)state;
    if (access("data/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0) {
        print_message("data/fashion-mnist is missing (apt-get install "
                      "dataset-fashion-mnist; make test fetches it)\n");
        skip();
    }
    static char out[1 << 16], errs[1 << 16];
    const char *runs[] = {
        "train --data data/fashion-mnist --epochs 3 --quiet",
        "train --data data/fashion-mnist --model nn --hidden 64 --epochs 2 --quiet"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(test_run_softreg(runs[i], out, sizeof out, errs, sizeof errs), 0);
        assert_null(strstr(out, "nan"));
        assert_null(strstr(out, "inf"));
        const char *last = strstr(out, i == 0 ? "|     2 |" : "|     1 |");
        assert_non_null(last);
        size_t epoch;
        double v[4];
        assert_int_equal(sscanf(last, "| %zu | %lf | %lf | %lf | %lf |", &epoch,
                                &v[0], &v[1], &v[2], &v[3]), 5);
        assert_true(v[3] < 0.25); /* a test error well below chance (0.9) */
    }
}

/* New data without labels: train on a labelled CSV, predict an unlabelled
 * one, class names as the training file wrote them. */
static void test_predict_unlabelled(void **state)
{
    (void)state;
    static char out[1 << 16], errs[1 << 16];
    char train[256], fresh[256], model[300], args[1024];
    const char *t = "a,b,kind\n0,0,small\n0.2,0.1,small\n5,5,big\n4.8,5.1,big\n";
    const char *f = "0.1,0.05\n5.2,4.9\n";
    test_write_tmp(train, ".csv", t, strlen(t));
    test_write_tmp(fresh, ".csv", f, strlen(f));
    snprintf(model, sizeof model, "%s.srm", train);
    snprintf(args, sizeof args, "train %s --bias --epochs 50 --lr 0.5 --quiet --out %s",
             train, model);
    assert_int_equal(test_run_softreg(args, out, sizeof out, errs, sizeof errs), 0);
    snprintf(args, sizeof args, "predict %s %s --no-labels", model, fresh);
    assert_int_equal(test_run_softreg(args, out, sizeof out, errs, sizeof errs), 0);
    assert_string_equal(out, "class\nsmall\nbig\n");
    /* Without --no-labels too: a file of the model's features alone has
     * no label column */
    snprintf(args, sizeof args, "predict %s %s", model, fresh);
    assert_int_equal(test_run_softreg(args, out, sizeof out, errs, sizeof errs), 0);
    assert_string_equal(out, "class\nsmall\nbig\n");
    /* one column: neither the model's features nor those and a label */
    const char *narrow = "0.1\n5.2\n";
    char thin[256];
    test_write_tmp(thin, ".csv", narrow, strlen(narrow));
    snprintf(args, sizeof args, "predict %s %s", model, thin);
    assert_int_equal(test_run_softreg(args, out, sizeof out, errs, sizeof errs), 1);
    assert_non_null(strstr(errs, "0 feature"));
    assert_non_null(strstr(errs, "2"));
    remove(thin);
    remove(train);
    remove(fresh);
    remove(model);
}

/* examples/polyfit shows CSC413's picture: training error falls with the
 * degree; validation error is best in the middle and worst at degree 9. */
static void test_polyfit_example(void **state)
{
    (void)state;
    FILE *p = popen(test_build_path("examples/polyfit"), "r");
    assert_non_null(p);
    char line[256];
    unsigned degree[4];
    double train[4], val[4];
    int rows = 0;
    while (fgets(line, sizeof line, p) && rows < 4)
        if (sscanf(line, "| %u | %lf | %lf |", &degree[rows], &train[rows],
                   &val[rows]) == 3)
            rows++;
    assert_int_equal(pclose(p), 0);
    assert_int_equal(rows, 4);
    for (int i = 1; i < 4; i++)
        assert_true(train[i] < train[i - 1]);
    assert_true(val[2] < val[0] && val[2] < val[1]);
    assert_true(val[3] > val[2] * 3);
    assert_true(train[3] < 0.15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_run_matches_course),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_bad_data_file),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_polyfit_example),
        cmocka_unit_test(test_predict_unlabelled),
        cmocka_unit_test(test_fashion_mnist_finite),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL) ? 1 : 0;
}
